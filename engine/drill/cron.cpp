#include "drill/cron.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <fmt/format.h>
#include <mutex>

namespace rb::drill {

namespace {

struct Field {
  int lo, hi;
  const char* const* names;  // index = value
  int name_base;
};

const char* const kMonths[] = {"", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const char* const kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};

struct ParseError {
  size_t offset;
  std::string why;
};

// Parses one value (number or name) at s[i..].
int value(const std::string& s, size_t& i, const Field& f, size_t base, const char* what) {
  size_t start = i;
  if (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    int v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + (s[i] - '0');
      if (v > 1000) throw ParseError{base + start, fmt::format("{} value too large", what)};
      ++i;
    }
    if (v < f.lo || v > f.hi) throw ParseError{base + start, fmt::format("{} {} is out of range {}-{}", what, v, f.lo, f.hi)};
    return v;
  }
  if (f.names && i + 3 <= s.size()) {
    std::string n;
    for (size_t k = 0; k < 3; ++k) n += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i + k])));
    for (int v = f.lo; v <= f.hi; ++v) {
      if (n == f.names[v]) {
        i += 3;
        return v;
      }
    }
  }
  throw ParseError{base + start, fmt::format("expected a {} (a number{})", what, f.names ? " or a name" : "")};
}

template <size_t N>
void field(const std::string& s, size_t base, const Field& f, const char* what, std::bitset<N>& out, bool* star) {
  if (s.empty()) throw ParseError{base, fmt::format("missing {} field", what)};
  *star = s[0] == '*';
  size_t i = 0;
  while (true) {
    int lo, hi;
    size_t at = i;
    if (i < s.size() && s[i] == '*') {
      lo = f.lo;
      hi = f.hi;
      ++i;
    } else {
      lo = hi = value(s, i, f, base, what);
      if (i < s.size() && s[i] == '-') {
        ++i;
        hi = value(s, i, f, base, what);
        if (hi < lo) throw ParseError{base + at, fmt::format("{} range {}-{} runs backwards", what, lo, hi)};
      }
    }
    int step = 1;
    if (i < s.size() && s[i] == '/') {
      ++i;
      size_t st = i;
      if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) throw ParseError{base + st, "expected a step after '/'"};
      step = 0;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        step = step * 10 + (s[i] - '0');
        if (step > 1000) throw ParseError{base + st, "step too large"};
        ++i;
      }
      if (step == 0) throw ParseError{base + st, "step must be at least 1"};
      if (lo == hi && s[at] != '*') hi = f.hi;  // a/n: from a to the end
    }
    for (int v = lo; v <= hi; v += step) out.set(static_cast<size_t>(v));
    if (i == s.size()) return;
    if (s[i] != ',') throw ParseError{base + i, fmt::format("unexpected '{}' in {} field", s[i], what)};
    ++i;
  }
}

std::tm local(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

// UTC instants whose local time is y-m-d h:mi:00 (0, 1 or 2 of them), earliest first.
std::vector<std::time_t> instants(int y, int m, int d, int h, int mi) {
  std::tm want{};
  want.tm_year = y - 1900;
  want.tm_mon = m - 1;
  want.tm_mday = d;
  want.tm_hour = h;
  want.tm_min = mi;
  std::time_t as_utc = timegm(&want);
  std::vector<std::time_t> out;
  for (long off : {local(as_utc - 86400).tm_gmtoff, local(as_utc + 86400).tm_gmtoff}) {
    std::time_t u = as_utc - off;
    std::tm l = local(u);
    if (l.tm_year == want.tm_year && l.tm_mon == want.tm_mon && l.tm_mday == d && l.tm_hour == h && l.tm_min == mi &&
        (out.empty() || out[0] != u))
      out.push_back(u);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string list(const auto& bits, int lo, int hi, int width) {
  bool all = true;
  for (int v = lo; v <= hi; ++v) all = all && bits.test(static_cast<size_t>(v));
  if (all) return "*";
  std::string out;
  for (int v = lo; v <= hi; ++v) {
    if (!bits.test(static_cast<size_t>(v))) continue;
    if (!out.empty()) out += ',';
    out += fmt::format("{:0{}}", v, width);
  }
  return out;
}

}  // namespace

bool Cron::day_matches(int month, int dom, int dow) const {
  if (!months.test(static_cast<size_t>(month))) return false;
  bool d1 = doms.test(static_cast<size_t>(dom)), d2 = dows.test(static_cast<size_t>(dow));
  if (dom_star || dow_star) return d1 && d2;
  return d1 || d2;  // both restricted: the OR rule
}

std::optional<Cron> parse_cron(const std::string& text, std::string* why, size_t* offset) {
  std::string t = text;
  static const std::pair<const char*, const char*> macros[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"},
                                                               {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
                                                               {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
                                                               {"@hourly", "0 * * * *"}};
  for (auto& [m, exp] : macros)
    if (t == m) t = exp;
  std::vector<std::pair<std::string, size_t>> parts;
  size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
    if (i >= t.size()) break;
    size_t st = i;
    while (i < t.size() && t[i] != ' ' && t[i] != '\t') ++i;
    parts.push_back({t.substr(st, i - st), t == text ? st : 0});
  }
  if (parts.size() != 5) {
    if (why) *why = fmt::format("a cron schedule has 5 fields (minute hour day-of-month month day-of-week), not {}", parts.size());
    if (offset) *offset = parts.size() > 5 ? parts[5].second : t.size();
    return std::nullopt;
  }
  Cron c;
  c.text = text;
  try {
    bool star;
    field(parts[0].first, parts[0].second, Field{0, 59, nullptr, 0}, "minute", c.minutes, &star);
    field(parts[1].first, parts[1].second, Field{0, 23, nullptr, 0}, "hour", c.hours, &star);
    field(parts[2].first, parts[2].second, Field{1, 31, nullptr, 0}, "day of month", c.doms, &c.dom_star);
    field(parts[3].first, parts[3].second, Field{1, 12, kMonths, 1}, "month", c.months, &star);
    std::bitset<8> dows8;
    field(parts[4].first, parts[4].second, Field{0, 7, kDays, 0}, "day of week", dows8, &c.dow_star);
    for (size_t d = 0; d < 7; ++d) c.dows.set(d, dows8.test(d) || (d == 0 && dows8.test(7)));
  } catch (const ParseError& e) {
    if (why) *why = e.why;
    if (offset) *offset = e.offset;
    return std::nullopt;
  }
  return c;
}

std::optional<WallTime> next_fire(const Cron& c, WallTime after, const std::string& tz) {
  TimeZoneScope scope(tz);
  std::time_t from = std::chrono::system_clock::to_time_t(after);
  std::tm day = local(from);
  day.tm_hour = day.tm_min = day.tm_sec = 0;
  for (int n = 0; n < 366 * 8 + 2; ++n) {
    std::tm d = day;
    d.tm_mday += n;
    d.tm_hour = 12;  // normalize the date without DST surprises
    std::time_t noon = timegm(&d);
    std::tm date{};
    gmtime_r(&noon, &date);
    int y = date.tm_year + 1900, m = date.tm_mon + 1, dom = date.tm_mday, dow = date.tm_wday;
    if (!c.day_matches(m, dom, dow)) continue;
    for (int h = 0; h < 24; ++h) {
      if (!c.hours.test(static_cast<size_t>(h))) continue;
      for (int mi = 0; mi < 60; ++mi) {
        if (!c.minutes.test(static_cast<size_t>(mi))) continue;
        auto at = instants(y, m, dom, h, mi);
        if (at.empty()) continue;  // a skipped local time (spring forward)
        if (at[0] > from) return std::chrono::system_clock::from_time_t(at[0]);
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> to_oncalendar(const Cron& c, const std::string& tz) {
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  std::string time = fmt::format("{}:{}:00", list(c.hours, 0, 23, 2), list(c.minutes, 0, 59, 2));
  std::string months = list(c.months, 1, 12, 2), doms = list(c.doms, 1, 31, 2);
  std::string dows;
  bool all_days = true;
  for (int d = 1; d <= 7; ++d) {  // Mon..Sun in systemd's order
    int v = d % 7;
    if (!c.dows.test(static_cast<size_t>(v))) {
      all_days = false;
      continue;
    }
    if (!dows.empty()) dows += ',';
    dows += days[v];
  }
  std::string zone = (tz.empty() || tz == "UTC") ? "" : " " + tz;
  auto make = [&](const std::string& dw, const std::string& dm) {
    return fmt::format("{}*-{}-{} {}{}", dw.empty() ? "" : dw + " ", months, dm, time, zone);
  };
  bool dom_r = !c.dom_star, dow_r = !c.dow_star && !all_days;
  if (dom_r && dow_r) return {make("", doms), make(dows, "*")};  // the OR rule: a union
  if (c.dom_star && c.dow_star) return {make(all_days ? "" : dows, doms)};
  return {make(all_days ? "" : dows, doms)};
}

}  // namespace rb::drill
