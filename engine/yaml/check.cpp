#include "yaml/check.h"

#include <fmt/format.h>

#include "base/text.h"

namespace rb::yaml {

void check_keys(const Node& map, const std::vector<std::string>& allowed, std::string_view where,
                Diagnostics& d) {
  if (!map.is_map()) return;
  for (auto& [k, v] : map.entries) {
    bool ok = false;
    for (auto& a : allowed) ok = ok || a == k.scalar;
    if (!ok)
      d.error(k.pos, fmt::format("unknown key '{}' {}{}", k.scalar, where, did_you_mean_suffix(k.scalar, allowed)));
  }
}

std::optional<std::string> want_string(const Node& n, std::string_view what, Diagnostics& d) {
  if (n.is_scalar()) return n.scalar;
  d.error(n.pos, fmt::format("{} must be a string, not {}", what, n.kind_name()));
  return std::nullopt;
}

std::optional<bool> want_bool(const Node& n, std::string_view what, Diagnostics& d) {
  bool v;
  if (plain_is_bool(n, &v)) return v;
  d.error(n.pos, fmt::format("{} must be true or false", what));
  return std::nullopt;
}

std::optional<long long> want_int(const Node& n, std::string_view what, Diagnostics& d, long long min,
                                  long long max) {
  long long v;
  if (!yaml::plain_is_int(n, &v)) {
    d.error(n.pos, fmt::format("{} must be a whole number, not '{}'", what, ellipsize(n.scalar, 40)));
    return std::nullopt;
  }
  if (v < min) {
    d.error(n.pos, fmt::format("{} must be at least {}, not {}", what, min, v));
    return std::nullopt;
  }
  if (v > max) {
    d.error(n.pos, fmt::format("{} must be at most {}, not {}", what, max, v));
    return std::nullopt;
  }
  return v;
}

std::optional<double> want_number(const Node& n, std::string_view what, Diagnostics& d, double min) {
  double v;
  if (!yaml::plain_is_number(n, &v)) {
    d.error(n.pos, fmt::format("{} must be a number, not '{}'", what, ellipsize(n.scalar, 40)));
    return std::nullopt;
  }
  if (v < min) {
    d.error(n.pos, fmt::format("{} must be at least {}, not {}", what, min, n.scalar));
    return std::nullopt;
  }
  return v;
}

std::optional<Millis> want_duration(const Node& n, std::string_view what, Diagnostics& d) {
  if (!n.is_scalar()) {
    d.error(n.pos, fmt::format("{} must be a duration such as 30s or 5m, not {}", what, n.kind_name()));
    return std::nullopt;
  }
  std::string why;
  auto v = parse_duration(n.scalar, &why);
  if (!v) d.error(text_pos(n), fmt::format("{}: {}", what, why));
  return v;
}

bool want_duration_param(const Node& n, std::string_view what, Diagnostics& d) {
  if (n.is_scalar() && n.scalar.find("${{") != std::string::npos) return true;
  return want_duration(n, what, d).has_value();
}

bool want_map(const Node& n, std::string_view what, Diagnostics& d) {
  if (n.is_map()) return true;
  d.error(n.pos, fmt::format("{} must be a map, not {}", what, n.kind_name()));
  return false;
}

bool want_seq(const Node& n, std::string_view what, Diagnostics& d) {
  if (n.is_seq()) return true;
  d.error(n.pos, fmt::format("{} must be a list, not {}", what, n.kind_name()));
  return false;
}

SourcePos text_pos(const Node& n) {
  // yaml-cpp marks a quoted scalar at its opening quote; block scalars (| >) at the
  // indicator. Only single-line quoted text is shifted by one.
  SourcePos p = n.pos;
  if ((n.style == '\'' || n.style == '"') && p.known()) p.col += 1;
  return p;
}

SourcePos interp_pos(const Node& n, size_t nth, int shift) {
  if (nth >= n.interps.size()) return text_pos(n);
  SourcePos p = n.interps[nth];
  p.col += shift;
  return p;
}

}  // namespace rb::yaml
