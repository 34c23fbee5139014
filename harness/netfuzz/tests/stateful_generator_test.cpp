// The stateful generator (generate_stateful_case, docs/netfuzz.md "Stateful cases"): a
// pure function of (seed, index, version); 2-4 connections; every packet type reached in
// every connection state, judged here from the bytes by the codec (not from what the
// generator says it did); refused CONNECTs carrying every optional part; size extremes.
#include "mqtth/netfuzz/NetFuzz.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using mqtth::netfuzz::Case;
using mqtth::netfuzz::generate_case;
using mqtth::netfuzz::generate_stateful_case;
using mqtt::Version;

constexpr std::uint64_t kCases = 6000;

class StatefulGenerator : public ::testing::TestWithParam<Version> {};

std::string version_name(const ::testing::TestParamInfo<Version>& info) {
  return info.param == Version::v5 ? "v5" : "v3_1_1";
}

std::optional<mqtt::Connect> as_connect(const std::string& bytes, Version v) {
  const auto d = mqtt::decode(bytes, {.version = v});
  if (!d.ok()) return std::nullopt;
  if (const auto* c = std::get_if<mqtt::ConnectView>(&d.value)) return std::get<mqtt::Connect>(mqtt::to_owned(*c));
  return std::nullopt;
}

TEST_P(StatefulGenerator, is_a_pure_function_of_seed_index_and_version) {
  for (std::uint64_t i = 0; i < 200; ++i) {
    const auto a = generate_stateful_case(7, i, GetParam());
    const auto b = generate_stateful_case(7, i, GetParam());
    ASSERT_EQ(a.packets, b.packets) << i;
    ASSERT_EQ(a.connection, b.connection) << i;
    ASSERT_EQ(a.mutations, b.mutations) << i;
    // generate_case(..., stateful) is the same case: a finding regenerates from its index.
    ASSERT_EQ(generate_case(7, i, GetParam(), true).packets, a.packets) << i;
  }
  std::size_t differ = 0;
  for (std::uint64_t i = 0; i < 50; ++i)
    differ += generate_stateful_case(7, i, GetParam()).packets != generate_stateful_case(8, i, GetParam()).packets;
  EXPECT_GT(differ, 45u);
}

TEST_P(StatefulGenerator, every_case_holds_two_to_four_connections) {
  for (std::uint64_t i = 0; i < kCases; ++i) {
    const auto c = generate_stateful_case(1, i, GetParam());
    ASSERT_TRUE(c.stateful());
    ASSERT_EQ(c.connection.size(), c.packets.size());
    const auto n = c.connections().size();
    ASSERT_GE(n, 2u) << i;
    ASSERT_LE(n, 4u) << i;
    // Ends with the sentinel PINGREQ, which the liveness oracle looks for.
    ASSERT_EQ(c.packets.back().substr(0, 1), std::string("\xC0", 1)) << i;
  }
}

// The state a connection is in when a packet goes on it, from the bytes sent so far:
// no CONNECT on it yet; connected on a new session; connected on a resumed session
// (clean start 0, its client id on an earlier connection that the case closed); taken
// over (a later connection sent a CONNECT with its client id).
enum State { before_connect, connected, resumed, taken_over, kStates };
constexpr std::array<const char*, kStates> kStateNames = {"before CONNECT", "connected", "resumed session", "taken over"};

TEST_P(StatefulGenerator, reaches_every_packet_type_in_every_connection_state) {
  const Version v = GetParam();
  std::set<std::pair<int, int>> seen;  // (packet type, state)
  for (std::uint64_t i = 0; i < kCases; ++i) {
    const auto c = generate_stateful_case(3, i, v);
    std::array<std::optional<std::string>, Case::kMaxConnections> client_id;  // of its CONNECT
    std::array<State, Case::kMaxConnections> state{};
    std::array<bool, Case::kMaxConnections> closed{};
    for (std::size_t p = 0; p < c.packets.size(); ++p) {
      const auto k = c.connection[p];
      const auto& bytes = c.packets[p];
      if (k == Case::kClock) continue;
      if (bytes.empty()) { closed[k] = true; continue; }
      const int type = static_cast<std::uint8_t>(bytes[0]) >> 4;
      seen.insert({type, state[k]});
      const auto connect = as_connect(bytes, v);
      if (!connect || client_id[k]) continue;
      client_id[k] = connect->client_id;
      state[k] = connected;
      for (std::uint8_t other = 0; other < Case::kMaxConnections; ++other) {
        // An empty id is no client's: the broker assigns one (3.1.3.1).
        if (other == k || connect->client_id.empty() || client_id[other] != connect->client_id) continue;
        if (closed[other] && !connect->clean_start) state[k] = resumed;
        if (!closed[other]) state[other] = taken_over;
      }
    }
  }
  for (int type = 0; type < 16; ++type)
    for (int s = 0; s < kStates; ++s)
      EXPECT_TRUE(seen.count({type, s})) << "packet type " << type << " never sent " << kStateNames[s];
}

// A refused CONNECT carries a will (with properties in 5.0), a user name and a password,
// for each reason: an unsupported protocol level (MQTT-3.1.2-2), an empty client id without
// clean start (3.1.1 MQTT-3.1.3-8), an unknown authentication method (5.0).
TEST_P(StatefulGenerator, refused_connects_carry_every_optional_part) {
  const Version v = GetParam();
  std::set<std::string> reasons;
  for (std::uint64_t i = 0; i < kCases; ++i) {
    for (const auto& bytes : generate_stateful_case(5, i, v).packets) {
      if (bytes.size() < 10 || (static_cast<std::uint8_t>(bytes[0]) >> 4) != 1) continue;
      const auto name = bytes.find("\x00\x04MQTT", 0, 6);
      if (name == std::string::npos || bytes.size() < name + 8) continue;
      const auto level = static_cast<std::uint8_t>(bytes[name + 6]);
      const auto flags = static_cast<std::uint8_t>(bytes[name + 7]);
      const bool every_part = (flags & 0xC4) == 0xC4;  // user name, password, will (3.1.2.3)
      if (!every_part) continue;
      const auto expected_level = v == Version::v5 ? 5 : 4;
      if (level != expected_level) { reasons.insert("protocol level"); continue; }
      // 3.1.1: the client id follows the keep alive; a codec may refuse to decode it empty
      // without clean session, so the bytes are read here.
      if (v != Version::v5 && bytes.size() >= name + 12 && bytes.compare(name + 10, 2, std::string("\x00\x00", 2)) == 0 &&
          !(flags & 0x02))
        reasons.insert("empty client id");
      const auto connect = as_connect(bytes, v);
      if (!connect) continue;
      if (v == Version::v5 && connect->will->properties.empty()) continue;
      if (connect->client_id.empty() && !connect->clean_start) reasons.insert("empty client id");
      for (const auto& p : connect->properties)
        if (p.id == mqtt::PropertyId::authentication_method) reasons.insert("authentication method");
    }
  }
  EXPECT_TRUE(reasons.count("protocol level"));
  EXPECT_TRUE(reasons.count("empty client id"));
  if (v == Version::v5) {
    EXPECT_TRUE(reasons.count("authentication method"));
  }
}

// Length-bearing fields at their upper extreme, 65535 bytes (a Two Byte Integer length,
// 1.5.4 / 1.5.6), found by decoding what was sent.
TEST_P(StatefulGenerator, pushes_length_bearing_fields_to_65535_bytes) {
  const Version v = GetParam();
  std::set<std::string> extreme;
  for (std::uint64_t i = 0; i < kCases; ++i) {
    for (const auto& bytes : generate_stateful_case(9, i, v).packets) {
      const auto d = mqtt::decode(bytes, {.version = v});
      if (!d.ok()) continue;
      const auto packet = mqtt::to_owned(d.value);
      if (const auto* c = std::get_if<mqtt::Connect>(&packet)) {
        if (c->client_id.size() == 65535) extreme.insert("client id");
        if (c->password && c->password->size() == 65535) extreme.insert("password");
        if (c->will && c->will->payload.size() == 65535) extreme.insert("will payload");
        if (c->will && c->will->topic.size() == 65535) extreme.insert("will topic");
      } else if (const auto* p = std::get_if<mqtt::Publish>(&packet)) {
        if (p->topic.size() == 65535) extreme.insert("topic name");
        if (p->payload.size() == 65535) extreme.insert("payload");
        for (const auto& prop : p->properties)
          if (prop.id == mqtt::PropertyId::user_property && prop.key.size() == 65535) extreme.insert("user property");
      } else if (const auto* s = std::get_if<mqtt::Subscribe>(&packet)) {
        for (const auto& sub : s->subscriptions)
          if (sub.filter.size() == 65535) extreme.insert("topic filter");
      }
    }
  }
  std::vector<std::string> expected = {"client id", "password", "will payload", "will topic", "topic name", "payload", "topic filter"};
  if (v == Version::v5) expected.push_back("user property");
  for (const auto& field : expected) EXPECT_TRUE(extreme.count(field)) << field << " never 65535 bytes";
}

// Now and then a case pauses, long enough for 1 s expiry intervals to run out, and no
// longer than a few seconds; the pause is read from its digits (minimisation may cut some).
TEST_P(StatefulGenerator, some_cases_pause_for_expiry) {
  std::size_t pauses = 0;
  for (std::uint64_t i = 0; i < kCases; ++i) {
    const auto c = generate_stateful_case(11, i, GetParam());
    for (std::size_t p = 0; p < c.packets.size(); ++p) {
      if (c.connection[p] != Case::kClock) continue;
      ++pauses;
      EXPECT_GE(Case::pause_ms(c.packets[p]), 1100) << c.packets[p];
      EXPECT_LE(Case::pause_ms(c.packets[p]), 2500) << c.packets[p];
    }
  }
  EXPECT_GT(pauses, kCases / 1000);
  EXPECT_LT(pauses, kCases / 100);
  EXPECT_EQ(Case::pause_ms("1500"), 1500);
  EXPECT_EQ(Case::pause_ms("15x0"), 15);
  EXPECT_EQ(Case::pause_ms(""), 0);
  EXPECT_EQ(Case::pause_ms("99999999"), 10000);
}

TEST(StatefulCase, dropping_a_connection_drops_its_packets_and_its_close) {
  Case c{{"a", "b", "", "c"}, {}, {0, 1, 0, 1}};
  const auto t = c.without_connection(0);
  EXPECT_EQ(t.packets, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(t.connection, (std::vector<std::uint8_t>{1, 1}));
  const auto u = c.without(1);
  EXPECT_EQ(u.packets, (std::vector<std::string>{"a", "", "c"}));
  EXPECT_EQ(u.connection, (std::vector<std::uint8_t>{0, 0, 1}));
  EXPECT_EQ(c.connections(), (std::vector<std::uint8_t>{0, 1}));
}

INSTANTIATE_TEST_SUITE_P(Versions, StatefulGenerator, ::testing::Values(Version::v5, Version::v3_1_1), version_name);

}  // namespace
