// Hand-written scanners for durations, titles, ids and objectives (see scan.h).
#include "import/scan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

namespace rb::import {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }
bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool alnum(char c) { return digit(c) || alpha(c); }

// Decodes the code point at s[i] (the input is valid UTF-8, checked by the caller);
// *len receives its byte length.
unsigned code_point(std::string_view s, size_t i, size_t* len) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  if (i + n > s.size()) n = 1;
  unsigned cp = n == 1 ? b : n == 2 ? (b & 0x1Fu) : n == 3 ? (b & 0x0Fu) : (b & 0x07u);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
  *len = n;
  return cp;
}

// Emoji, pictographs, box drawing, arrows, Latin-1 signs, private use (the Apple logo that
// starts a Mac-Roman-mangled emoji), ASCII punctuation.
bool symbol(unsigned cp) {
  if (cp < 0x80) return cp > 0x20 && !alnum(static_cast<char>(cp));
  return (cp >= 0xA0 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp < 0x3000) ||
         (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xFE00 && cp <= 0xFE0F) || cp >= 0x1F000;
}

// Removes markdown leftovers and leading symbol-only words ("🔴 ", "## ", "**").
std::string strip_decoration(std::string_view raw) {
  std::string s;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '`') continue;
    if ((raw[i] == '*' || raw[i] == '_') && i + 1 < raw.size() && raw[i + 1] == raw[i]) {
      ++i;
      continue;
    }
    s += raw[i] == '\n' || raw[i] == '\t' ? ' ' : raw[i];
  }
  size_t p = 0;
  for (;;) {
    while (p < s.size() && s[p] == ' ') ++p;
    size_t e = s.find(' ', p);
    if (e == std::string::npos) break;  // never strip the last word
    // A word with no ASCII letter or digit and some symbol in it: an emoji, also one
    // mangled through another encoding ("üî¥" is 🔴 read as Mac Roman).
    bool ascii_alnum = false, any_symbol = false;
    for (size_t i = p, n = 0; i < e; i += n) {
      unsigned cp = code_point(s, i, &n);
      ascii_alnum = ascii_alnum || (cp < 0x80 && alnum(static_cast<char>(cp)));
      any_symbol = any_symbol || symbol(cp);
    }
    if (ascii_alnum || !any_symbol) break;
    p = e;
  }
  s.erase(0, p);
  while (!s.empty() && (s.back() == ' ' || s.back() == ':')) s.pop_back();
  return s;
}

const char* const kAcronyms[] = {"API", "SQL", "DB", "DNS", "CDN", "RTO", "RPO", "PITR", "CLI", "URL", "TLS", "SSL",
                                 "AWS", "GCP", "GCS", "DR", "UI", "ID", "IP", "2FA", "GDPR", "HTTP", "HTTPS", "SSH",
                                 "VPN", "CPU", "RAM", "AI", "S3", "DLQ", "JWT", "CI", "CD", "K8S", "SLA", "SEV"};

std::string sentence_case(const std::string& s) {
  bool has_lower = false;
  int upper = 0;
  for (char c : s) {
    has_lower = has_lower || (c >= 'a' && c <= 'z');
    upper += c >= 'A' && c <= 'Z';
  }
  if (has_lower || upper < 2) return s;
  std::string out;
  size_t p = 0;
  while (p < s.size()) {
    size_t e = p;
    while (e < s.size() && alnum(s[e])) ++e;
    if (e == p) {
      out += s[p++];
      continue;
    }
    std::string word(s.substr(p, e - p));
    bool keep = false;
    for (const char* a : kAcronyms) keep = keep || word == a;
    out += keep ? word : lower(word);
    p = e;
  }
  for (auto& c : out)
    if (alpha(c)) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      break;
    }
  return out;
}

double unit_ms(const std::string& w) {
  static const std::pair<const char*, double> units[] = {
      {"ms", 1},          {"s", 1e3},       {"sec", 1e3},      {"secs", 1e3},    {"second", 1e3},   {"seconds", 1e3},
      {"m", 6e4},         {"min", 6e4},     {"mins", 6e4},     {"minute", 6e4},  {"minutes", 6e4},  {"h", 3.6e6},
      {"hr", 3.6e6},      {"hrs", 3.6e6},   {"hour", 3.6e6},   {"hours", 3.6e6}, {"d", 8.64e7},     {"day", 8.64e7},
      {"days", 8.64e7},   {"w", 6.048e8},   {"week", 6.048e8}, {"weeks", 6.048e8}};
  for (auto& [name, ms] : units)
    if (w == name) return ms;
  return 0;
}

struct Reader {
  std::string_view s;
  size_t i = 0;
  void spaces() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  bool number(double* v) {
    size_t st = i;
    while (i < s.size() && digit(s[i])) ++i;
    if (i == st) return false;
    if (i + 1 < s.size() && s[i] == '.' && digit(s[i + 1])) {
      ++i;
      while (i < s.size() && digit(s[i])) ++i;
    }
    if (i - st > 9) return false;
    *v = std::stod(std::string(s.substr(st, i - st)));
    return true;
  }
  bool unit(double* ms) {
    size_t st = i;
    while (i < s.size() && alpha(s[i])) ++i;
    *ms = unit_ms(lower(s.substr(st, i - st)));
    if (*ms == 0 || (i < s.size() && digit(s[i]) && i - st > 1)) {
      i = st;
      return false;
    }
    return true;
  }
  bool dash() {
    if (i < s.size() && s[i] == '-') return ++i, true;
    if (s.substr(i, 3) == "\xE2\x80\x93" || s.substr(i, 3) == "\xE2\x80\x94") return i += 3, true;
    if (lower(s.substr(i, 3)) == "to ") return i += 3, true;
    return false;
  }
  // "N unit" or "N-M unit" or "N unit-M unit": the upper bound.
  bool amount(double* total, double* u) {
    double a = 0, b = 0, ub = 0;
    if (!number(&a)) return false;
    size_t after = i;
    spaces();
    if (unit(u)) {
      size_t s2 = i;
      spaces();
      if (dash()) {
        spaces();
        if (number(&b) && (spaces(), unit(&ub))) {
          *total = b * ub;
          *u = ub;
          return true;
        }
      }
      i = s2;
      *total = a * *u;
      return true;
    }
    i = after;
    spaces();
    if (!dash()) return false;
    spaces();
    if (!number(&b)) return false;
    spaces();
    if (!unit(u)) return false;
    *total = std::max(a, b) * *u;
    return true;
  }
};

}  // namespace

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has_word(std::string_view s, std::string_view word) {
  for (size_t p = s.find(word); p != std::string_view::npos; p = s.find(word, p + 1)) {
    bool left = p == 0 || !alnum(s[p - 1]);
    bool right = p + word.size() >= s.size() || !alnum(s[p + word.size()]);
    if (left && right) return true;
  }
  return false;
}

std::optional<Millis> read_duration(std::string_view s, size_t* used) {
  Reader r{s};
  for (;;) {
    r.spaces();
    if (r.i < s.size() && (s[r.i] == '~' || s[r.i] == '<' || s[r.i] == '>')) {
      ++r.i;
      continue;
    }
    if (lower(s.substr(r.i, 6)) == "about ") {
      r.i += 6;
      continue;
    }
    break;
  }
  double total = 0, u = 0;
  if (!r.amount(&total, &u)) return std::nullopt;
  size_t before = r.i;
  r.spaces();
  double c = 0, uc = 0;
  if (r.number(&c) && (r.spaces(), r.unit(&uc)) && uc < u) total += c * uc;
  else r.i = before;
  if (used) *used = r.i;
  if (total > 1e12) return std::nullopt;
  return Millis(static_cast<long long>(std::llround(total)));
}

std::optional<Millis> find_duration(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!digit(s[i]) || (i > 0 && (alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '+'))) continue;
    if (auto d = read_duration(s.substr(i))) return d;
    while (i + 1 < s.size() && digit(s[i + 1])) ++i;
  }
  return std::nullopt;
}

namespace {

bool conditional_text(const std::string& l) {
  for (const char* w : {"if needed", "if applicable", "if necessary", "if required", "optional", "if possible"})
    if (l.find(w) != std::string::npos) return true;
  return l.rfind("if ", 0) == 0;
}

// Takes "(...)" groups apart: durations and T+ milestones leave the title.
void parse_groups(std::string& s, Title& t) {
  size_t p = 0;
  while ((p = s.find('(', p)) != std::string::npos) {
    size_t e = s.find(')', p);
    if (e == std::string::npos) break;
    std::string g = s.substr(p + 1, e - p - 1);
    std::string lg = lower(g);
    size_t b = lg.find_first_not_of(' ');
    bool drop = false;
    if (b != std::string::npos && lg.compare(b, 2, "t+") == 0) {
      auto m = read_duration(std::string_view(g).substr(b + 2));
      if (!m && g.find_first_not_of(" 0", b + 2) == g.find_first_of(" -", b + 2)) m = Millis(0);
      if (m && !t.milestone) t.milestone = m;
      drop = m.has_value();
    } else if (conditional_text(lg.substr(b == std::string::npos ? 0 : b))) {
      t.conditional = true;
    } else if (auto d = find_duration(g)) {
      if (!t.budget) t.budget = d;
      drop = true;
    }
    if (drop) s.erase(p, e + 1 - p);
    else p = e + 1;
  }
  size_t tilde = s.find('~');
  if (tilde != std::string::npos) {
    size_t used = 0;
    if (auto d = read_duration(std::string_view(s).substr(tilde), &used)) {
      if (!t.budget) t.budget = d;
      s.erase(tilde, used);
    }
  }
}

}  // namespace

Title parse_title(std::string_view raw) {
  Title t;
  std::string s = strip_decoration(raw);
  std::string l = lower(s);
  size_t p = 0;
  if (l.rfind("step", 0) == 0 && l.size() > 4 && (l[4] == ' ' || digit(l[4]))) {
    size_t q = 4;
    while (q < l.size() && l[q] == ' ') ++q;
    if (q < l.size() && digit(l[q])) {
      t.step_word = true;
      p = q;
    }
  }
  if (p < s.size() && digit(s[p])) {
    size_t q = p;
    while (q < s.size() && digit(s[q])) ++q;
    bool numbered = t.step_word || (q < s.size() && (s[q] == '.' || s[q] == ')') && (q + 1 == s.size() || s[q + 1] == ' '));
    if (numbered && q - p < 6) {
      t.number = std::stoi(s.substr(p, q - p));
      while (q < s.size() && (s[q] == '.' || s[q] == ')' || s[q] == ':' || s[q] == '-' || s[q] == ' ')) ++q;
      s.erase(0, q);
    }
  }
  parse_groups(s, t);
  t.conditional = t.conditional || conditional_text(lower(s)) || lower(s).find(" if needed") != std::string::npos;
  while (!s.empty() && (s.back() == ' ' || s.back() == ':' || s.back() == '-')) s.pop_back();
  size_t b = s.find_first_not_of(' ');
  s.erase(0, b == std::string::npos ? s.size() : b);
  std::string squeezed;
  for (char c : s)
    if (!(c == ' ' && !squeezed.empty() && squeezed.back() == ' ')) squeezed += c;
  t.text = sentence_case(squeezed);
  return t;
}

std::optional<std::string> scenario_name(std::string_view raw) {
  std::string s = strip_decoration(raw);
  if (lower(s).rfind("scenario", 0) != 0) return std::nullopt;
  size_t q = 8;
  while (q < s.size() && s[q] == ' ') ++q;
  size_t d = q;
  while (q < s.size() && digit(s[q])) ++q;
  if (q == d) return std::nullopt;
  while (q < s.size() && (s[q] == ':' || s[q] == '.' || s[q] == '-' || s[q] == ')' || s[q] == ' ')) ++q;
  if (s.compare(q, 3, "\xE2\x80\x93") == 0 || s.compare(q, 3, "\xE2\x80\x94") == 0) q += 3;
  while (q < s.size() && s[q] == ' ') ++q;
  std::string name = s.substr(q);
  return name.empty() ? s : name;
}

std::string clean_title(std::string_view raw) { return sentence_case(strip_decoration(raw)); }

std::string slug(std::string_view title, size_t max) {
  std::string out;
  for (char c : title) {
    if (alnum(c)) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (c == '\'' || c == '`') continue;  // "don't" → "dont"
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > max) {
    size_t cut = out.rfind('-', max);
    out.resize(cut == std::string::npos || cut == 0 ? max : cut);
    while (!out.empty() && out.back() == '-') out.pop_back();
  }
  return out.empty() ? "step" : out;
}

std::optional<Millis> objective_in(std::string_view text, std::string_view key) {
  std::string lt = lower(text);
  std::vector<size_t> hits;
  std::string_view long_form = key == "RTO" ? "recovery time objective" : "recovery point objective";
  for (size_t p = text.find(key); p != std::string_view::npos; p = text.find(key, p + 1))
    if ((p == 0 || !alnum(text[p - 1])) && (p + key.size() >= text.size() || !alnum(text[p + key.size()])))
      hits.push_back(p + key.size());
  for (size_t p = lt.find(long_form); p != std::string::npos; p = lt.find(long_form, p + 1)) hits.push_back(p + long_form.size());
  std::sort(hits.begin(), hits.end());
  for (size_t p : hits) {
    for (;;) {
      while (p < text.size() && (text[p] == ' ' || text[p] == ':' || text[p] == '*' || text[p] == ')' ||
                                 text[p] == '|' || text[p] == '=' || text[p] == '\t' || text[p] == '-' ||
                                 text[p] == '<' || text[p] == '~'))
        ++p;
      // An en or em dash ("RTO — 2 hours"), "≤".
      if (text.compare(p, 3, "\xE2\x80\x93") == 0 || text.compare(p, 3, "\xE2\x80\x94") == 0 ||
          text.compare(p, 3, "\xE2\x89\xA4") == 0) {
        p += 3;
        continue;
      }
      if (p < text.size() && text[p] == '(') {
        size_t e = text.find(')', p);
        if (e == std::string_view::npos) break;
        p = e + 1;
        continue;
      }
      bool skipped = false;
      for (std::string_view w : {"targets", "target", "is", "of", "under", "within", "less than", "up to", "max",
                                 "maximum", "at most"})
        if (lt.compare(p, w.size(), w) == 0 && (p + w.size() >= lt.size() || !alnum(lt[p + w.size()]))) {
          p += w.size();
          skipped = true;
          break;
        }
      if (!skipped) break;
    }
    if (p < text.size() && digit(text[p]))
      if (auto d = read_duration(text.substr(p))) return d;
    // "RPO: 0", "RPO: zero", "RPO: no data loss": nothing may be lost.
    bool zero = p < text.size() && text[p] == '0' && (p + 1 >= text.size() || !(alnum(text[p + 1]) || text[p + 1] == '.'));
    for (std::string_view w : {"zero", "no data loss"})
      zero = zero || (lt.compare(p, w.size(), w) == 0 && (p + w.size() >= lt.size() || !alnum(lt[p + w.size()])));
    if (zero && key == "RPO") return Millis(0);
  }
  return std::nullopt;
}

}  // namespace rb::import
