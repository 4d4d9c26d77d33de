#include "base/time.h"

#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <mutex>
#include <regex>
#include <sys/stat.h>

namespace rb {

std::string rfc3339_ms(WallTime t) {
  long long ms = to_unix_ms(t);
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int frac = static_cast<int>(ms - static_cast<long long>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

long long to_unix_ms(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime from_unix_ms(long long ms) { return WallTime(std::chrono::milliseconds(ms)); }

std::optional<WallTime> parse_time(const std::string& s) {
  // The pattern is fixed; the subject comes from flags and files: longer than any time
  // is refused before std::regex (recursive in libstdc++) sees it.
  if (s.size() > 64) return std::nullopt;
  static const std::regex re(
      R"(^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}:?\d{2})?$)");
  std::smatch m;
  if (!std::regex_match(s, m, re)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = m[4].matched ? std::stoi(m[4]) : 0;
  tm.tm_min = m[5].matched ? std::stoi(m[5]) : 0;
  tm.tm_sec = m[6].matched ? std::stoi(m[6]) : 0;
  // The wall clock counts nanoseconds in 64 bits: 1678 to 2261.
  if (tm.tm_year < 1900 - 1900 || tm.tm_year > 2261 - 1900) return std::nullopt;
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  long long ms = 0;
  if (m[7].matched) {
    std::string f = m[7].str();
    f.resize(3, '0');
    ms = std::stoll(f.substr(0, 3));
  }
  std::time_t secs = timegm(&tm);
  long long offset_s = 0;
  if (m[8].matched) {
    std::string z = m[8].str();
    if (z != "Z" && z != "z") {
      int sign = z[0] == '-' ? -1 : 1;
      std::string digits;
      for (char c : z.substr(1))
        if (c != ':') digits += c;
      offset_s = sign * (std::stoll(digits.substr(0, 2)) * 3600 + std::stoll(digits.substr(2, 2)) * 60);
    }
  }
  return from_unix_ms((static_cast<long long>(secs) - offset_s) * 1000 + ms);
}

bool known_time_zone(const std::string& tz) {
  if (tz.empty() || tz == "UTC" || tz == "Z") return true;
  if (tz.find("..") != std::string::npos || tz.front() == '/') return false;
  struct stat st {};
  return ::stat(("/usr/share/zoneinfo/" + tz).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

namespace {
std::recursive_mutex tz_mutex;
}  // namespace

TimeZoneScope::TimeZoneScope(const std::string& tz) {
  tz_mutex.lock();
  const char* old = std::getenv("TZ");
  had_ = old != nullptr;
  if (had_) old_ = old;
  ::setenv("TZ", tz.empty() ? "UTC" : tz.c_str(), 1);
  ::tzset();
}

TimeZoneScope::~TimeZoneScope() {
  if (had_) ::setenv("TZ", old_.c_str(), 1);
  else ::unsetenv("TZ");
  ::tzset();
  tz_mutex.unlock();
}

namespace {

std::tm local_in(WallTime t, const std::string& tz, bool* ok) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  bool good = known_time_zone(tz);
  if (ok) *ok = good;
  if (!good || tz.empty() || tz == "UTC" || tz == "Z") {
    gmtime_r(&secs, &tm);
    return tm;
  }
  TimeZoneScope scope(tz);
  localtime_r(&secs, &tm);
  return tm;
}
}  // namespace

std::string clock_time(WallTime t, const std::string& tz, bool* ok) {
  std::tm tm = local_in(t, tz, ok);
  return fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string calendar_date(WallTime t, const std::string& tz) {
  std::tm tm = local_in(t, tz, nullptr);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

}  // namespace rb
