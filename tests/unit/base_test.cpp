#include <doctest/doctest.h>

#include "base/duration.h"
#include "base/masker.h"
#include "base/text.h"
#include "base/time.h"

using namespace rb;

TEST_CASE("DurationTest.ParsesTheContractForms") {
  CHECK(parse_duration("250ms")->count() == 250);
  CHECK(parse_duration("30s")->count() == 30'000);
  CHECK(parse_duration("5m")->count() == 300'000);
  CHECK(parse_duration("2h")->count() == 7'200'000);
  CHECK(parse_duration("1h30m")->count() == 5'400'000);
  CHECK(parse_duration("1m30s500ms")->count() == 90'500);
  std::string why;
  CHECK_FALSE(parse_duration("-5s", &why));
  CHECK(why == "negative duration '-5s'");
  CHECK_FALSE(parse_duration("30", &why));
  CHECK_FALSE(parse_duration("5x", &why));
  CHECK_FALSE(parse_duration("30m1h", &why));
  CHECK_FALSE(parse_duration("99999999999999h", &why));
  CHECK(format_duration(Millis(5'400'000)) == "1h30m");
  CHECK(format_duration(Millis(250)) == "250ms");
}

TEST_CASE("MaskerTest.SecretsAndUrlPasswordsNeverLeave") {
  Masker m;
  m.add("hunter2-canary");
  m.add("ab");  // too short to mask safely: ignored
  CHECK(m.mask("pw=hunter2-canary!") == "pw=***!");
  CHECK(m.mask("ab") == "ab");
  CHECK(m.mask("postgres://app:s3cret@db:5432/x") == "postgres://app:***@db:5432/x");
  CHECK(m.mask("host=db password=s3cret user=x") == "host=db password=*** user=x");
  Value v = {{"k", "hunter2-canary"}, {"list", {"a", "xhunter2-canaryx"}}};
  CHECK(m.mask_json(v).dump() == R"({"k":"***","list":["a","x***x"]})");
}

TEST_CASE("TextTest.DidYouMean") {
  CHECK(did_you_mean("timout", {"timeout", "title"}) == std::optional<std::string>("timeout"));
  CHECK_FALSE(did_you_mean("kubectl", {"timeout", "title"}));
  std::string why;
  CHECK_FALSE(find_bad_utf8("ok\n\xc3(", &why) == std::nullopt);
  CHECK(shell_quote("it's") == "'it'\\''s'");
}

TEST_CASE("TimeTest.Rfc3339RoundTrip") {
  auto t = parse_time("2026-11-23T03:12:00.250Z");
  REQUIRE(t);
  CHECK(rfc3339_ms(*t) == "2026-11-23T03:12:00.250Z");
  CHECK(rfc3339_ms(*parse_time("2026-11-23T04:12:00+01:00")) == "2026-11-23T03:12:00.000Z");
  CHECK_FALSE(parse_time("yesterday"));
  CHECK(clock_time(*t, "UTC") == "03:12:00");
  CHECK(clock_time(*t, "Europe/Paris") == "04:12:00");
}

TEST_CASE("TextTest.ValidUtf8ReplacesOnlyBadBytes") {
  CHECK(valid_utf8("plain é ✓") == "plain é ✓");
  CHECK(valid_utf8(std::string("a\0b", 3)) == std::string("a\0b", 3));
  CHECK(valid_utf8("\xff\xfe ok") == "\xEF\xBF\xBD\xEF\xBF\xBD ok");
  CHECK(valid_utf8("cut \xE2\x9C") == "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(valid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  CHECK_NOTHROW(Value(valid_utf8("\xff")).dump());
}
