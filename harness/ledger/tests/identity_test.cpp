// Message identity encoding: payload prefix and mqtth-id user property (docs/reports.md).
#include <gtest/gtest.h>

#include <limits>

#include "mqtth/ledger/Ledger.hpp"

using namespace mqtth::ledger;

TEST(Identity, prefix_round_trips) {
  const MessageId id{7, 2, 3, 1234567890123ULL};
  const std::string payload = make_payload(id, "hello");
  EXPECT_EQ(payload, "mqtth:7:2:3:1234567890123;hello");
  auto parsed = parse_payload(std::string_view(payload));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, id);
  EXPECT_EQ(parsed->user_payload, "hello");
}

TEST(Identity, largest_values_fit_in_max_prefix) {
  const MessageId id{std::numeric_limits<std::uint32_t>::max(), std::numeric_limits<std::uint32_t>::max(),
                     std::numeric_limits<std::uint32_t>::max(), std::numeric_limits<std::uint64_t>::max()};
  char buf[kMaxPrefixSize];
  const std::size_t n = encode_prefix(id, std::span<char, kMaxPrefixSize>(buf, kMaxPrefixSize));
  EXPECT_EQ(n, kMaxPrefixSize);
  EXPECT_EQ(std::string_view(buf, n), "mqtth:4294967295:4294967295:4294967295:18446744073709551615;");
  auto parsed = parse_payload(std::string_view(buf, n));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, id);
  EXPECT_TRUE(parsed->user_payload.empty());
}

TEST(Identity, zero_values_and_binary_user_payload) {
  const std::string user("\0\xff;:", 4);
  const std::string payload = make_payload(MessageId{0, 0, 0, 0}, user);
  EXPECT_EQ(payload.substr(0, 14), "mqtth:0:0:0:0;");
  auto parsed = parse_payload(std::string_view(payload));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->user_payload, user);
}

TEST(Identity, byte_span_overload_parses_the_same) {
  const std::string payload = make_payload(MessageId{1, 2, 3, 4}, "p");
  auto parsed = parse_payload(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, (MessageId{1, 2, 3, 4}));
}

TEST(Identity, malformed_prefixes_are_rejected) {
  for (std::string_view bad : {
           "", "mqtth", "mqtth:", "mqtth:1:2:3:4", "mqtth:1:2:3;", "mqtth:1:2:3:;", "mqtth::2:3:4;",
           "MQTTH:1:2:3:4;", "xmqtth:1:2:3:4;", "mqtth:01:2:3:4;", "mqtth:1:2:3:04;",
           "mqtth:1:2:3:-4;", "mqtth:1:2:3:4 ;", "mqtth:+1:2:3:4;", "mqtth:1:2:3:4:5;",
           "mqtth:4294967296:0:0:0;",                  // run overflows 32 bits
           "mqtth:0:0:4294967296:0;",                  // stream overflows 32 bits
           "mqtth:0:0:0:18446744073709551616;",        // seq overflows 64 bits
           "mqtth:0:0:0:99999999999999999999999;"}) {
    EXPECT_FALSE(parse_payload(bad)) << bad;
  }
}

TEST(Identity, property_value_round_trips_and_rejects_trailing_bytes) {
  const MessageId id{9, 8, 7, 6};
  EXPECT_EQ(make_property_value(id), "9:8:7:6");
  EXPECT_EQ(parse_property_value("9:8:7:6"), id);
  EXPECT_FALSE(parse_property_value("9:8:7:6;"));
  EXPECT_FALSE(parse_property_value("9:8:7"));
  EXPECT_FALSE(parse_property_value(""));
  EXPECT_FALSE(parse_property_value("9:8:7:6x"));
  EXPECT_FALSE(parse_property_value(std::string(100, '1')));
}

TEST(Identity, guarantee_names) {
  EXPECT_EQ(to_string(Guarantee::at_most_once), "at_most_once");
  EXPECT_EQ(to_string(Guarantee::at_least_once), "at_least_once");
  EXPECT_EQ(to_string(Guarantee::exactly_once), "exactly_once");
  EXPECT_EQ(parse_guarantee("exactly_once"), Guarantee::exactly_once);
  EXPECT_FALSE(parse_guarantee("once"));
  EXPECT_EQ(guarantee_for_qos(0), Guarantee::at_most_once);
  EXPECT_EQ(guarantee_for_qos(1), Guarantee::at_least_once);
  EXPECT_EQ(guarantee_for_qos(2), Guarantee::exactly_once);
  EXPECT_EQ(to_string(Verdict::held), "held");
  EXPECT_EQ(to_string(Verdict::violated), "violated");
}
