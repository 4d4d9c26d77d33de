#include "base/text.h"

#include <algorithm>
#include <fmt/format.h>

namespace rb {

size_t edit_distance(std::string_view a, std::string_view b, size_t cap) {
  if (a.size() > b.size()) std::swap(a, b);
  if (b.size() - a.size() > cap) return cap + 1;
  std::vector<size_t> prev(a.size() + 1), cur(a.size() + 1);
  for (size_t i = 0; i <= a.size(); ++i) prev[i] = i;
  for (size_t j = 1; j <= b.size(); ++j) {
    cur[0] = j;
    size_t row_min = cur[0];
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t sub = prev[i - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[i] = std::min({prev[i] + 1, cur[i - 1] + 1, sub});
      row_min = std::min(row_min, cur[i]);
    }
    if (row_min > cap) return cap + 1;
    std::swap(prev, cur);
  }
  return prev[a.size()];
}

std::optional<std::string> did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  size_t limit = word.size() <= 3 ? 1 : (word.size() <= 6 ? 2 : 3);
  std::optional<std::string> best;
  size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c, limit);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& candidates) {
  auto m = did_you_mean(word, candidates);
  return m ? fmt::format(" (did you mean '{}'?)", *m) : std::string();
}

std::optional<SourcePos> find_bad_utf8(std::string_view s, std::string* why) {
  int line = 1, col = 1;
  size_t i = 0;
  auto bad = [&](const char* msg) {
    if (why) *why = msg;
    return SourcePos{line, col};
  };
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return bad("NUL byte in file (runbooks are UTF-8 text)");
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) { n = 1; cp = c; }
    else if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
    else return bad("invalid UTF-8 byte");
    if (i + n > s.size()) return bad("truncated UTF-8 sequence");
    for (size_t k = 1; k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return bad("invalid UTF-8 sequence");
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
      return bad("overlong UTF-8 sequence");
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return bad("invalid UTF-8 code point");
    if (c == '\n') { ++line; col = 1; }
    else ++col;
    i += n;
  }
  return std::nullopt;
}

std::string valid_utf8(std::string s) {
  if (!find_bad_utf8(s, nullptr)) return s;  // the common case (it also stops at NUL, kept below)
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; ok && k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
               (cp >= 0xD800 && cp <= 0xDFFF)))
      ok = false;
    if (ok) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) {
      if (start < s.size()) out.emplace_back(s.substr(start));
      break;
    }
    out.emplace_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  out += "'";
  return out;
}

std::string ellipsize(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "…";
}

std::string markup_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c < 0x20 && c != '\n' && c != '\t') out += ' ';
        else out += static_cast<char>(c);
    }
  }
  return out;
}

namespace {

// Decodes one UTF-8 code point at s[i]; returns its length (0: invalid byte).
size_t utf8_at(std::string_view s, size_t i, char32_t* cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  char32_t v = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) {
    unsigned char b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    v = (v << 6) | (b & 0x3f);
  }
  *cp = v;
  return n;
}

// Terminal columns of a code point: 0 for combining marks and joiners, 2 for wide and
// emoji-like ones (symbols from U+2300 on count as 2: over-counting only cuts a line a
// little early, under-counting would make it wrap).
int cp_width(char32_t c) {
  if ((c >= 0x300 && c <= 0x36f) || (c >= 0x1ab0 && c <= 0x1aff) || (c >= 0x20d0 && c <= 0x20ff) ||
      (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0xfe20 && c <= 0xfe2f) || c == 0x200b || c == 0x200c || c == 0x200d)
    return 0;
  if (c >= 0x2500 && c <= 0x25ff) return 1;  // box drawing, blocks, geometric shapes
  if (c >= 0x1100 && c <= 0x115f) return 2;
  if (c >= 0x2300) return 2;
  return 1;
}

}  // namespace

std::string terminal_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    size_t n = utf8_at(s, i, &cp);
    if (n == 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    if (cp == '\t') out += "  ";
    else if (cp < 0x20) out += std::string("^") + static_cast<char>(cp + 0x40);
    else if (cp == 0x7f) out += "^?";
    else if (cp >= 0x80 && cp <= 0x9f) out += fmt::format("<U+{:04X}>", static_cast<unsigned>(cp));
    else out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

int display_width(std::string_view s) {
  int w = 0;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    size_t n = utf8_at(s, i, &cp);
    if (n == 0) {
      ++w;
      ++i;
      continue;
    }
    w += cp_width(cp);
    i += n;
  }
  return w;
}

std::string fit_width(std::string_view s, int cols) {
  if (display_width(s) <= cols) return std::string(s);
  std::string out;
  int w = 0;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    size_t n = utf8_at(s, i, &cp);
    if (n == 0) n = 1;
    int cw = n == 1 && static_cast<unsigned char>(s[i]) >= 0x80 ? 1 : cp_width(cp);
    if (w + cw > cols - 1) break;
    out.append(s.substr(i, n));
    w += cw;
    i += n;
  }
  return out + "…";
}

std::vector<std::string> wrap_width(std::string_view s, int cols) {
  std::vector<std::string> out;
  for (auto& para : split_lines(s)) {
    std::string line;
    int w = 0;
    size_t i = 0;
    while (i < para.size()) {
      size_t sp = para.find(' ', i);
      std::string word(para.substr(i, sp == std::string::npos ? std::string::npos : sp - i));
      i = sp == std::string::npos ? para.size() : sp + 1;
      int ww = display_width(word);
      if (w > 0 && w + 1 + ww > cols) {
        out.push_back(line);
        line.clear();
        w = 0;
      }
      while (ww > cols) {  // a word longer than the line: cut it
        std::string head = fit_width(word, cols);
        head.resize(head.size() - std::string("…").size());
        out.push_back(head);
        word.erase(0, head.size());
        ww = display_width(word);
        if (head.empty()) break;
      }
      line += (w > 0 ? " " : "") + word;
      w += (w > 0 ? 1 : 0) + ww;
    }
    out.push_back(line);
  }
  return out;
}

namespace {
bool in_class(std::string_view cls, char c) {
  for (size_t i = 0; i < cls.size(); ++i) {
    if (i + 2 < cls.size() && cls[i + 1] == '-') {
      if (c >= cls[i] && c <= cls[i + 2]) return true;
      i += 2;
    } else if (cls[i] == c) {
      return true;
    }
  }
  return false;
}
}  // namespace

bool is_token(std::string_view s, std::string_view first, std::string_view rest) {
  if (s.empty() || !in_class(first, s[0])) return false;
  for (size_t i = 1; i < s.size(); ++i)
    if (!in_class(rest, s[i])) return false;
  return true;
}

}  // namespace rb
