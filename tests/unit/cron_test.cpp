// Cron next-fire times against a table checked by hand (calendar in hand: 2026-11-23 is a
// Monday; 2028 is a leap year; Paris moves to summer time on 2027-03-28 at 02:00 and back
// on 2027-10-31 at 03:00; New York on 2027-03-14 and 2027-11-07).
#include <doctest/doctest.h>

#include "drill/cron.h"

using namespace rb;

namespace {
std::string next(const std::string& expr, const std::string& from, const std::string& tz = "UTC") {
  std::string why;
  size_t off = 0;
  auto c = drill::parse_cron(expr, &why, &off);
  REQUIRE_MESSAGE(c, why);
  auto t = drill::next_fire(*c, *parse_time(from), tz);
  return t ? rfc3339_ms(*t) : "never";
}
}  // namespace

TEST_CASE("CronTest.HandCheckedTable") {
  // every 15 minutes
  CHECK(next("*/15 * * * *", "2026-11-23T10:07:00Z") == "2026-11-23T10:15:00.000Z");
  CHECK(next("*/15 * * * *", "2026-11-23T10:45:00Z") == "2026-11-23T11:00:00.000Z");
  // days 1-7 of the month at 09:00
  CHECK(next("0 9 1-7 * *", "2026-11-23T10:00:00Z") == "2026-12-01T09:00:00.000Z");
  // weekdays: Friday evening -> Monday
  CHECK(next("30 8 * * MON-FRI", "2026-11-27T09:00:00Z") == "2026-11-30T08:30:00.000Z");
  // the OR rule: days 1-7 OR Mondays. From Tue 2026-11-24: next Monday 11-30 comes first.
  CHECK(next("0 9 1-7 * MON", "2026-11-24T00:00:00Z") == "2026-11-30T09:00:00.000Z");
  // ... and from Mon 11-30 10:00: Tuesday 12-01 is day 1.
  CHECK(next("0 9 1-7 * MON", "2026-11-30T10:00:00Z") == "2026-12-01T09:00:00.000Z");
  // a '*' day-of-week keeps AND semantics: only days 1-7
  CHECK(next("0 9 1-7 * *", "2026-11-30T10:00:00Z") == "2026-12-01T09:00:00.000Z");
  // month ends: the 31st skips 30-day months
  CHECK(next("0 0 31 * *", "2026-11-01T00:00:00Z") == "2026-12-31T00:00:00.000Z");
  CHECK(next("0 0 31 * *", "2027-01-31T00:00:01Z") == "2027-03-31T00:00:00.000Z");
  // leap days: the next 29 February after 2026 is in 2028
  CHECK(next("0 12 29 FEB *", "2026-11-23T00:00:00Z") == "2028-02-29T12:00:00.000Z");
  // names and lists
  CHECK(next("0 6 * JAN,JUL SUN", "2026-11-23T00:00:00Z") == "2027-01-03T06:00:00.000Z");
  CHECK(next("5 4 * * 7", "2026-11-23T00:00:00Z") == "2026-11-29T04:05:00.000Z");  // 7 = Sunday
  CHECK(next("@monthly", "2026-11-23T00:00:00Z") == "2026-12-01T00:00:00.000Z");
  // Paris, a normal day: 10:00 CET = 09:00 UTC
  CHECK(next("0 10 3 * *", "2026-11-23T00:00:00Z", "Europe/Paris") == "2026-12-03T09:00:00.000Z");
  // spring forward: 02:30 does not exist on 2027-03-28 in Paris: skipped
  CHECK(next("30 2 * * *", "2027-03-27T12:00:00Z", "Europe/Paris") == "2027-03-29T00:30:00.000Z");
  // fall back: 02:30 exists twice on 2027-10-31 in Paris: the first one only
  CHECK(next("30 2 * * *", "2027-10-30T12:00:00Z", "Europe/Paris") == "2027-10-31T00:30:00.000Z");
  CHECK(next("30 2 * * *", "2027-10-31T00:30:00Z", "Europe/Paris") == "2027-11-01T01:30:00.000Z");
  // New York: 09:00 EST = 14:00 UTC, 09:00 EDT = 13:00 UTC
  CHECK(next("0 9 * * *", "2027-03-13T15:00:00Z", "America/New_York") == "2027-03-14T13:00:00.000Z");
  CHECK(next("0 9 * * *", "2027-11-06T14:00:00Z", "America/New_York") == "2027-11-07T14:00:00.000Z");
  // impossible: 30 February
  CHECK(next("0 0 30 2 *", "2026-11-23T00:00:00Z") == "never");
}

TEST_CASE("CronTest.ErrorsPointInsideTheExpression") {
  std::string why;
  size_t off = 0;
  CHECK_FALSE(drill::parse_cron("0 9 * *", &why, &off));
  CHECK(why.find("5 fields") != std::string::npos);
  CHECK_FALSE(drill::parse_cron("0 25 * * *", &why, &off));
  CHECK(off == 2);
  CHECK(why == "hour 25 is out of range 0-23");
  CHECK_FALSE(drill::parse_cron("0 9 * * FUNDAY", &why, &off));
  CHECK(off == 8);
  CHECK_FALSE(drill::parse_cron("*/0 * * * *", &why, &off));
  CHECK_FALSE(drill::parse_cron("0 9 5-1 * *", &why, &off));
}

TEST_CASE("CronTest.OnCalendarTranslation") {
  std::string why;
  size_t off = 0;
  auto c = drill::parse_cron("0 9 1-7 * MON", &why, &off);
  REQUIRE(c);
  auto cal = drill::to_oncalendar(*c, "Europe/Paris");
  REQUIRE(cal.size() == 2);  // the OR rule: a union of two expressions
  CHECK(cal[0] == "*-*-01,02,03,04,05,06,07 09:00:00 Europe/Paris");
  CHECK(cal[1] == "Mon *-*-* 09:00:00 Europe/Paris");
  auto d = drill::parse_cron("*/15 8-18 * * MON-FRI", &why, &off);
  REQUIRE(d);
  CHECK(drill::to_oncalendar(*d, "UTC")[0] ==
        "Mon,Tue,Wed,Thu,Fri *-*-* 08,09,10,11,12,13,14,15,16,17,18:00,15,30,45:00");
}
