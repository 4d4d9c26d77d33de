// Five-field cron expressions (minute hour day-of-month month day-of-week): lists, ranges,
// steps, names (JAN-DEC, SUN-SAT, 7 = SUN), @hourly/@daily/@weekly/@monthly/@yearly, and
// the day-of-month/day-of-week OR rule (when both are restricted, a day matching either
// fires; a field starting with '*' is unrestricted, as in Vixie cron).
//
// Next fire times are computed in a named time zone with systemd's semantics at DST
// changes: a local time that does not exist (spring forward) is skipped, one that exists
// twice (fall back) fires once, at its first occurrence.
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"

namespace rb::drill {

struct Cron {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> doms;    ///< 1..31
  std::bitset<13> months;  ///< 1..12
  std::bitset<7> dows;     ///< 0..6, 0 = Sunday
  bool dom_star = false, dow_star = false;
  std::string text;

  /// Whether a local date (year, month 1-12, day 1-31, weekday 0-6) is a firing day.
  bool day_matches(int month, int dom, int dow) const;
};

/// Parses; on error returns nullopt with *why and *offset (byte offset in `text`).
std::optional<Cron> parse_cron(const std::string& text, std::string* why, size_t* offset);

/// The first firing time strictly after `after`, in time zone `tz` (IANA name or UTC).
/// nullopt if none within 8 years (e.g. 30 February).
std::optional<WallTime> next_fire(const Cron& c, WallTime after, const std::string& tz);

/// systemd OnCalendar= expressions equivalent to the cron expression (two when the OR rule
/// applies: the timer fires on their union), with the time zone appended unless UTC.
std::vector<std::string> to_oncalendar(const Cron& c, const std::string& tz);

}  // namespace rb::drill
