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

TEST(Identity, mutated_prefixes_never_crash_and_parse_only_in_canonical_form) {
  // Seeded mutation of valid payloads: whatever parses must re-encode to exactly the bytes
  // it was parsed from (one spelling per identity), everything else is rejected.
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  Ledger ledger(5);
  const ClientId sub = ledger.client("sub");
  ledger.subscribe(sub, "#", 1);
  const StreamId stream = ledger.stream(ledger.client("pub"), "t", 1);
  for (int i = 0; i < 4; ++i) ledger.accepted(ledger.attempt(stream));
  int parsed_count = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string payload = make_payload(MessageId{static_cast<std::uint32_t>(next() % 7), static_cast<ClientId>(next() % 3),
                                                 static_cast<StreamId>(next() % 3), next() % 6},
                                       "u");
    const int mutations = static_cast<int>(next() % 3);
    for (int m = 0; m < mutations; ++m) {
      const std::size_t at = next() % payload.size();
      switch (next() % 3) {
        case 0: payload[at] = static_cast<char>(next() & 0xFF); break;
        case 1: payload.erase(at, 1); break;
        default: payload.insert(at, 1, "0123456789:;m"[next() % 13]); break;
      }
      if (payload.empty()) break;
    }
    auto parsed = parse_payload(std::string_view(payload));
    if (parsed) {
      ++parsed_count;
      const std::size_t prefix_len = payload.size() - parsed->user_payload.size();
      char buf[kMaxPrefixSize];
      const std::size_t n = encode_prefix(parsed->id, std::span<char, kMaxPrefixSize>(buf, kMaxPrefixSize));
      ASSERT_EQ(std::string_view(buf, n), std::string_view(payload).substr(0, prefix_len)) << payload;
    }
    ledger.delivered(sub, std::string_view(payload), DeliveryInfo{1, false, false});
  }
  EXPECT_GT(parsed_count, 1000);  // the unmutated third and harmless mutations still parse
  EXPECT_EQ(ledger.total_deliveries(), 20000u);
  auto rows = ledger.results();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_LE(rows[0].delivered, 4u);
}
