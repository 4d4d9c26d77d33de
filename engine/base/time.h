// Wall-clock helpers: RFC 3339 timestamps (UTC, milliseconds) and time-zone display.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace rb {

using WallTime = std::chrono::system_clock::time_point;

/// "2026-11-23T18:44:53.123Z"
std::string rfc3339_ms(WallTime t);

/// Parses RFC 3339 / ISO 8601 ("2026-11-23T18:44:53Z", "…+01:00", "…​.123Z", and
/// "2026-11-23 18:44" taken as UTC). nullopt when it is not a time.
std::optional<WallTime> parse_time(const std::string& s);

/// "HH:MM:SS" of `t` in time zone `tz` (an IANA name such as "Europe/Paris", or "UTC").
/// Unknown zones fall back to UTC and set *ok = false.
std::string clock_time(WallTime t, const std::string& tz, bool* ok = nullptr);
/// "YYYY-MM-DD" of `t` in `tz`.
std::string calendar_date(WallTime t, const std::string& tz);

/// Whether `tz` names a time zone this machine knows.
bool known_time_zone(const std::string& tz);

/// While it lives, the process's local time zone (TZ, for localtime_r and mktime) is
/// `tz` (empty: UTC); the previous one is restored after. TZ is process-wide, so these
/// scopes are serialized by one lock: every time-zone computation goes through one.
class TimeZoneScope {
 public:
  explicit TimeZoneScope(const std::string& tz);
  ~TimeZoneScope();
  TimeZoneScope(const TimeZoneScope&) = delete;
  TimeZoneScope& operator=(const TimeZoneScope&) = delete;

 private:
  bool had_ = false;
  std::string old_;
};

long long to_unix_ms(WallTime t);
WallTime from_unix_ms(long long ms);

}  // namespace rb
