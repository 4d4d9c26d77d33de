#include "base/masker.h"

#include <algorithm>
#include <vector>

namespace rb {

void Masker::add(std::string_view secret) {
  if (secret.size() < 3) return;
  for (auto& s : secrets_)
    if (s == secret) return;
  auto at = std::find_if(secrets_.begin(), secrets_.end(), [&](const std::string& s) { return s.size() < secret.size(); });
  secrets_.emplace(at, secret);
}

std::string mask_url_passwords(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t sch = text.find("://", i);
    if (sch == std::string_view::npos) break;
    size_t host_start = sch + 3;
    size_t end = host_start;
    while (end < text.size() && text[end] != '/' && text[end] != ' ' && text[end] != '\n' && text[end] != '"' &&
           text[end] != '\'' && text[end] != '?' && text[end] != '#')
      ++end;
    std::string_view authority = text.substr(host_start, end - host_start);
    size_t at = authority.rfind('@');
    size_t colon = authority.find(':');
    if (at != std::string_view::npos && colon != std::string_view::npos && colon < at) {
      out.append(text.substr(i, host_start + colon + 1 - i));
      out.append("***");
      out.append(text.substr(host_start + at, end - (host_start + at)));
    } else {
      out.append(text.substr(i, end - i));
    }
    i = end;
  }
  out.append(text.substr(std::min(i, text.size())));
  // libpq keyword form: password=xyz
  size_t p = 0;
  while ((p = out.find("password=", p)) != std::string::npos) {
    size_t v = p + 9;
    size_t e = v;
    if (e < out.size() && out[e] == '\'') {
      ++e;
      while (e < out.size() && out[e] != '\'') ++e;
      if (e < out.size()) ++e;
    } else {
      while (e < out.size() && out[e] != ' ' && out[e] != '&' && out[e] != '\n') ++e;
    }
    out.replace(v, e - v, "***");
    p = v + 3;
  }
  return out;
}

std::string Masker::mask(std::string_view text) const {
  std::string out(text);
  for (auto& s : secrets_) {
    size_t pos = 0;
    while ((pos = out.find(s, pos)) != std::string::npos) {
      out.replace(pos, s.size(), kMask);
      pos += kMask.size();
    }
  }
  if (out.find("://") != std::string::npos || out.find("password=") != std::string::npos)
    out = mask_url_passwords(out);
  return out;
}

bool Masker::needs_mask(std::string_view text) const {
  for (auto& s : secrets_)
    if (text.find(s) != std::string_view::npos) return true;
  return text.find("://") != std::string_view::npos || text.find("password=") != std::string_view::npos;
}

void Masker::mask_in_place(Value& v) const {
  switch (v.type()) {
    case Value::value_t::string: {
      auto& s = v.get_ref<std::string&>();
      if (needs_mask(s)) s = mask(s);
      return;
    }
    case Value::value_t::array:
      for (auto& e : v) mask_in_place(e);
      return;
    case Value::value_t::object: {
      bool keys = false;
      for (auto it = v.begin(); it != v.end(); ++it) {
        keys = keys || needs_mask(it.key());
        mask_in_place(it.value());
      }
      if (keys) v = mask_json(v);  // rare: a secret in a key
      return;
    }
    default: return;
  }
}

Value Masker::mask_json(const Value& v) const {
  switch (v.type()) {
    case Value::value_t::string: return mask(std::string_view(v.get_ref<const std::string&>()));
    case Value::value_t::array: {
      Value out = Value::array();
      for (auto& e : v) out.push_back(mask_json(e));
      return out;
    }
    case Value::value_t::object: {
      Value out = Value::object();
      for (auto it = v.begin(); it != v.end(); ++it) out[mask(std::string_view(it.key()))] = mask_json(it.value());
      return out;
    }
    default: return v;
  }
}

}  // namespace rb
