#include "base/yaml_emit.h"

#include <fmt/format.h>

#include <string_view>

namespace rb {

namespace {

bool ascii_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool ascii_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// YAML 1.1 reads these as booleans or null when plain (yaml.v2, PyYAML).
bool special_word(std::string_view s) {
  std::string low;
  for (char c : s) low += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (const char* w : {"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
    if (low == w) return true;
  return false;
}

bool plain_ok(std::string_view s) {
  if (s.empty() || !(ascii_alpha(s[0]) || s[0] == '/')) return false;
  for (unsigned char c : s)
    if (!(ascii_alpha(c) || ascii_digit(c) || c == '_' || c == '.' || c == '/' || c == '-')) return false;
  return !special_word(s);
}

// Length of a UTF-8 sequence at s[i] that YAML may not carry raw (C1 controls, NEL,
// U+2028/2029 line separators, BOM, U+FFFE/FFFF); 0 when the bytes there are fine.
size_t unprintable_at(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (b(0) == 0xC2 && b(1) >= 0x80 && b(1) <= 0x9F) return 2;
  if (b(0) == 0xE2 && b(1) == 0x80 && (b(2) == 0xA8 || b(2) == 0xA9)) return 3;
  if (b(0) == 0xEF && ((b(1) == 0xBB && b(2) == 0xBF) || (b(1) == 0xBF && (b(2) == 0xBE || b(2) == 0xBF)))) return 3;
  return 0;
}

// The code point of the `len` bytes of UTF-8 at s[i].
unsigned code_point(std::string_view s, size_t i, size_t len) {
  auto u = [&](size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(s[i + k])); };
  return len == 2 ? ((u(0) & 0x1F) << 6) | (u(1) & 0x3F) : ((u(0) & 0x0F) << 12) | ((u(1) & 0x3F) << 6) | (u(2) & 0x3F);
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (size_t n = unprintable_at(s, i)) {
      out += fmt::format("\\u{:04X}", code_point(s, i, n));
      i += n;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02X}", c);
        else out += static_cast<char>(c);
    }
    ++i;
  }
  return out + "\"";
}

// A literal block carries the text as it is: only line feeds, tabs and printable text.
bool block_ok(std::string_view s) {
  if (s.find('\n') == std::string_view::npos || s.find_first_not_of('\n') == std::string_view::npos) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F || unprintable_at(s, i)) return false;
  }
  return true;
}

// `|` header and lines indented to `ind`; the parent mapping sits at ind - 2.
void block(std::string& out, std::string_view s, int ind) {
  size_t trailing = s.size() - s.find_last_not_of('\n') - 1;
  out += '|';
  if (s[0] == ' ' || s[0] == '\n' || s[0] == '\t') out += '2';
  out += trailing == 0 ? "-" : trailing == 1 ? "" : "+";
  out += '\n';
  for (size_t pos = 0; pos < s.size();) {
    size_t nl = s.find('\n', pos);
    std::string_view line = s.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty()) out.append(static_cast<size_t>(ind), ' ').append(line);
    out += '\n';
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
}

bool empty_container(const Value& v) { return (v.is_object() || v.is_array()) && v.empty(); }
const char* empty_text(const Value& v) { return v.is_object() ? "{}" : "[]"; }

void seq_items(std::string& out, const Value& s, int ind);
void map_entries(std::string& out, const Value& m, int ind, bool first_inline);

// What follows `key:` for a key at indentation `ind`.
void after_key(std::string& out, const Value& v, int ind) {
  if (empty_container(v)) {
    out += fmt::format(" {}\n", empty_text(v));
  } else if (v.is_object()) {
    out += '\n';
    map_entries(out, v, ind + 2, false);
  } else if (v.is_array()) {
    out += '\n';
    seq_items(out, v, ind + 2);
  } else if (v.is_string() && block_ok(v.get_ref<const std::string&>())) {
    out += ' ';
    block(out, v.get_ref<const std::string&>(), ind + 2);
  } else {
    out += ' ' + yaml_scalar(v) + '\n';
  }
}

void map_entries(std::string& out, const Value& m, int ind, bool first_inline) {
  bool first = true;
  for (auto& [k, v] : m.items()) {
    if (!(first && first_inline)) out.append(static_cast<size_t>(ind), ' ');
    first = false;
    out += (plain_ok(k) ? k : quote(k)) + ':';
    after_key(out, v, ind);
  }
}

void seq_items(std::string& out, const Value& s, int ind) {
  for (auto& item : s) {
    out.append(static_cast<size_t>(ind), ' ');
    out += '-';
    if (empty_container(item)) {
      out += fmt::format(" {}\n", empty_text(item));
    } else if (item.is_object()) {
      out += ' ';
      map_entries(out, item, ind + 2, true);
    } else if (item.is_array()) {
      out += '\n';
      seq_items(out, item, ind + 2);
    } else {
      out += ' ' + yaml_scalar(item) + '\n';
    }
  }
}

}  // namespace

std::string yaml_scalar(const Value& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return plain_ok(s) ? s : quote(s);
  }
  if (v.is_null()) return "null";
  if (v.is_object() || v.is_array()) return v.dump();
  return v.dump();  // numbers and booleans: JSON's form is YAML's
}

std::string to_yaml(const Value& v) {
  std::string out;
  if (empty_container(v)) return std::string(empty_text(v)) + "\n";
  if (v.is_object()) map_entries(out, v, 0, false);
  else if (v.is_array()) seq_items(out, v, 0);
  else out = yaml_scalar(v) + "\n";
  return out;
}

}  // namespace rb
