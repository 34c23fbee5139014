// The one duration grammar (mqtth/common/Duration.hpp): every unit, decimals, the limits,
// and garbage, each error naming what is wrong.
#include "mqtth/common/Duration.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using mqtth::common::format_duration;
using mqtth::common::Milliseconds;
using mqtth::common::parse_duration;

namespace {

Milliseconds ok(std::string_view text, Milliseconds max = 24h) {
  const auto r = parse_duration(text, max);
  EXPECT_TRUE(r.value) << text << ": " << r.error;
  EXPECT_TRUE(r.error.empty()) << text;
  return r.value.value_or(Milliseconds(-1));
}

std::string error(std::string_view text, Milliseconds max = 24h) {
  const auto r = parse_duration(text, max);
  EXPECT_FALSE(r.value) << text << " parsed as " << r.value.value_or(0ms).count() << " ms";
  return r.error;
}

}  // namespace

TEST(Duration, every_unit) {
  EXPECT_EQ(ok("250ms"), 250ms);
  EXPECT_EQ(ok("10s"), 10s);
  EXPECT_EQ(ok("2m"), 2min);
  EXPECT_EQ(ok("2min"), 2min);
  EXPECT_EQ(ok("1h"), 1h);
}

TEST(Duration, a_bare_number_is_seconds) {
  EXPECT_EQ(ok("3"), 3s);
  EXPECT_EQ(ok("0"), 0ms);
  EXPECT_EQ(ok("0.25"), 250ms);
}

TEST(Duration, decimals_in_every_unit_round_to_whole_milliseconds) {
  EXPECT_EQ(ok("1.5s"), 1500ms);
  EXPECT_EQ(ok("1.5m"), 90s);
  EXPECT_EQ(ok("0.5h"), 30min);
  EXPECT_EQ(ok("2.5ms"), 3ms);  // half up
  EXPECT_EQ(ok("2.4ms"), 2ms);
  EXPECT_EQ(ok("0.0004s"), 0ms);
  EXPECT_EQ(ok("0.0005s"), 1ms);
  EXPECT_EQ(ok("1.123456789s"), 1123ms);  // nine decimals are the most
  EXPECT_EQ(ok("007s"), 7s);
}

TEST(Duration, the_maximum_is_inclusive_and_named_when_exceeded) {
  EXPECT_EQ(ok("24h"), 24h);
  EXPECT_EQ(ok("86400s"), 24h);
  EXPECT_EQ(ok("86400000ms"), 24h);
  EXPECT_EQ(error("86400001ms"), "'86400001ms' is more than 24h");
  EXPECT_EQ(error("24.000001h"), "'24.000001h' is more than 24h");  // 86,400,003.6 ms
  EXPECT_EQ(ok("24.0000001h"), 24h);  // 86,400,000.36 ms: the limit applies to the rounded value
  EXPECT_EQ(error("25h"), "'25h' is more than 24h");
  EXPECT_EQ(ok("10s", 10s), 10s);
  EXPECT_EQ(error("10.001s", 10s), "'10.001s' is more than 10s");
  EXPECT_EQ(error("1500ms", 1s), "'1500ms' is more than 1s");
  EXPECT_EQ(ok("720h", 720h), 720h);
}

TEST(Duration, numbers_too_long_for_any_clock_are_too_long_not_wrapped) {
  EXPECT_EQ(error("99999999999999999999999999h"), "'99999999999999999999999999h' is more than 24h");
  EXPECT_EQ(error("18446744073709551617ms"), "'18446744073709551617ms' is more than 24h");
  EXPECT_EQ(error("9223372036854775807", Milliseconds::max()), "'9223372036854775807' is more than " +
                                                                    format_duration(Milliseconds::max()));
}

TEST(Duration, garbage_is_refused_saying_what_is_wrong) {
  EXPECT_NE(error("").find("it is empty"), std::string::npos);
  for (const char* text : {"s", "ms", "-1s", "+1s", " 1s", ".5s", "soon", "x10s"})
    EXPECT_NE(error(text).find("it must start with a number"), std::string::npos) << text;
  for (const char* text : {"5 parsecs", "1 s", "10S", "1e3", "1,5s", "0x10s", "1.5.5s", "10sec", "1hour", "5s "}) {
    const auto e = error(text);
    EXPECT_EQ(e.rfind("'" + std::string(text) + "' is not a duration: unknown unit '", 0), 0u) << e;
    EXPECT_NE(e.find("(ms, s, m, min or h; no unit means seconds)"), std::string::npos) << e;
  }
  EXPECT_EQ(error("1.s"), "'1.s' is not a duration: a decimal point needs digits after it");
  EXPECT_EQ(error("1."), "'1.' is not a duration: a decimal point needs digits after it");
  EXPECT_EQ(error("1.1234567891s"), "'1.1234567891s' is not a duration: more than 9 decimals");
}

TEST(Duration, format_writes_the_largest_unit_that_divides_and_reads_back) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(10s), "10s");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(2min), "2m");
  EXPECT_EQ(format_duration(24h), "24h");
  for (auto d : {0ms, 1ms, 999ms, 1000ms, 61000ms, 3600000ms, 86399999ms})
    EXPECT_EQ(ok(format_duration(d)), d) << format_duration(d);
}
