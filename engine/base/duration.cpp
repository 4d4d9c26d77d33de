#include "base/duration.h"

#include <cctype>
#include <cstdint>
#include <fmt/format.h>

namespace rb {

std::optional<Millis> parse_duration(std::string_view s, std::string* why) {
  auto fail = [&](std::string msg) -> std::optional<Millis> {
    if (why) *why = std::move(msg);
    return std::nullopt;
  };
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.empty()) return fail("empty duration");
  if (s.front() == '-') return fail(fmt::format("negative duration '{}'", s));
  int64_t total = 0;
  size_t i = 0;
  bool any = false;
  int last_rank = 100;  // units must go from large to small: 1h30m, not 30m1h
  while (i < s.size()) {
    if (!std::isdigit(static_cast<unsigned char>(s[i])))
      return fail(fmt::format("'{}' is not a duration (use e.g. 250ms, 30s, 5m, 2h, 1h30m)", s));
    int64_t n = 0;
    size_t digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (++digits > 12) return fail(fmt::format("duration '{}' is too large", s));
      n = n * 10 + (s[i] - '0');
      ++i;
    }
    if (i == s.size())
      return fail(fmt::format("duration '{}' has no unit (use e.g. {}s or {}m)", s, n, n));
    int64_t mult;
    int rank;
    if (s.substr(i, 2) == "ms") { mult = 1; rank = 0; i += 2; }
    else if (s[i] == 's') { mult = 1000; rank = 1; i += 1; }
    else if (s[i] == 'm') { mult = 60'000; rank = 2; i += 1; }
    else if (s[i] == 'h') { mult = 3'600'000; rank = 3; i += 1; }
    else if (s[i] == 'd') { mult = 86'400'000; rank = 4; i += 1; }
    else return fail(fmt::format("unknown unit in duration '{}' (units: ms, s, m, h, d)", s));
    if (rank >= last_rank)
      return fail(fmt::format("duration '{}' repeats a unit or lists them out of order", s));
    last_rank = rank;
    total += n * mult;
    if (total > int64_t(365) * 86'400'000) return fail(fmt::format("duration '{}' is too large (over a year)", s));
    any = true;
  }
  if (!any) return fail(fmt::format("'{}' is not a duration", s));
  return Millis(total);
}

std::string format_duration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) { out = "-"; ms = -ms; }
  const struct { int64_t size; const char* unit; } units[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (auto& u : units) {
    if (ms >= u.size) {
      out += fmt::format("{}{}", ms / u.size, u.unit);
      ms %= u.size;
    }
  }
  return out;
}

std::string format_duration_short(Millis d) {
  int64_t ms = d.count();
  bool neg = ms < 0;
  if (neg) ms = -ms;
  std::string s;
  if (ms < 60'000) s = fmt::format("{:.1f}s", ms / 1000.0);
  else if (ms < 3'600'000) s = fmt::format("{}m{:02}s", ms / 60'000, (ms / 1000) % 60);
  else s = fmt::format("{}h{:02}m", ms / 3'600'000, (ms / 60'000) % 60);
  return neg ? "-" + s : s;
}

}  // namespace rb
