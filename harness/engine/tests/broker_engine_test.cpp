// BrokerEngine unit tests: simulated clients speak to the engine through the codec, with
// simulated time. Each test is named after the behaviour and the normative statement it
// checks (5.0 ids unless the name says v311; the same id means different things in 3.1.1
// and 5.0). Expected values come from the spec text, not from the engine.
#include <gtest/gtest.h>

#include <malloc.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "mqtth/engine/BrokerEngine.hpp"

using namespace mqtth::engine;
using mqtt::PropertyId;
using mqtt::Version;

namespace {

std::string hex_to_bytes(std::string_view hex) {
  std::string out;
  int high = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else continue;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<char>(high * 16 + v));
      high = -1;
    }
  }
  return out;
}

mqtt::Connect make_connect(Version v, std::string client_id, bool clean = true, std::uint16_t keep_alive = 0) {
  mqtt::Connect c;
  c.protocol_name = v == Version::v3_1 ? "MQIsdp" : "MQTT";
  c.protocol_version = v;
  c.clean_start = clean;
  c.keep_alive = keep_alive;
  c.client_id = std::move(client_id);
  return c;
}

mqtt::Publish make_publish(std::string topic, std::string payload, std::uint8_t qos = 0, std::uint16_t id = 0,
                           bool retain = false) {
  mqtt::Publish p;
  p.topic = std::move(topic);
  p.payload = std::move(payload);
  p.qos = qos;
  p.packet_id = qos ? id : 0;
  p.retain = retain;
  return p;
}

mqtt::Subscribe make_subscribe(std::uint16_t id, std::string filter, std::uint8_t qos, std::uint8_t retain_handling = 0) {
  mqtt::Subscribe s;
  s.packet_id = id;
  mqtt::Subscription sub;
  sub.filter = std::move(filter);
  sub.options.qos = qos;
  sub.options.retain_handling = retain_handling;
  s.subscriptions.push_back(sub);
  return s;
}

// Plays any number of clients against one engine.
class Net {
 public:
  explicit Net(BrokerConfig config = {}) : engine(std::move(config)) {}

  struct Peer {
    Version version = Version::v5;
    std::string bytes;  // received, not yet taken
    bool closed = false;
  };

  BrokerEngine engine;
  std::uint64_t now = 1'000'000;
  std::map<ConnectionId, Peer> peers;

  ConnectionId open(Version v) {
    ConnectionId id = engine.open(now);
    peers[id].version = v;
    collect();
    return id;
  }
  void send(ConnectionId id, const mqtt::Packet& packet) {
    auto encoded = mqtt::encode_to_string(packet, peers[id].version);
    ASSERT_TRUE(encoded.ok()) << mqtt::to_string(encoded.error.code);
    send_raw(id, encoded.value);
  }
  void send_raw(ConnectionId id, const std::string& bytes) {
    engine.receive(id, bytes, now);
    collect();
  }
  void lose(ConnectionId id) {
    engine.closed(id, now);
    peers[id].closed = true;
    collect();
  }
  void advance(std::uint64_t ms) {
    now += ms;
    engine.advance(now);
    collect();
  }
  void collect() {
    for (auto& out : engine.take_output()) {
      Peer& peer = peers[out.connection];
      // Nothing is sent after the engine closed a connection [MQTT-3.14.4-1].
      EXPECT_FALSE(peer.closed && !out.bytes.empty()) << "bytes for connection " << out.connection << " after close";
      peer.bytes += out.bytes;
      if (out.close) peer.closed = true;
    }
    auto broken = engine.check_invariants();
    EXPECT_FALSE(broken.has_value()) << *broken;
  }
  bool closed(ConnectionId id) { return peers[id].closed; }

  // Every whole packet received so far (decoded with the codec), removed from the buffer.
  std::vector<mqtt::Packet> take(ConnectionId id) {
    Peer& peer = peers[id];
    std::vector<mqtt::Packet> packets;
    std::string_view rest = peer.bytes;
    while (!rest.empty()) {
      auto frame = mqtt::peek_frame(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size()));
      EXPECT_EQ(frame.status, mqtt::FrameInfo::Status::complete) << "partial or bad packet from the engine";
      if (frame.status != mqtt::FrameInfo::Status::complete) break;
      mqtt::DecodeOptions options;
      options.version = peer.version == Version::v3_1 ? Version::v3_1_1 : peer.version;
      auto decoded = mqtt::decode(rest.substr(0, frame.size), options);
      EXPECT_TRUE(decoded.ok()) << "engine sent an invalid packet: " << decoded.error.message << " "
                                << decoded.error.spec;
      if (!decoded.ok()) break;
      packets.push_back(mqtt::to_owned(decoded.value));
      rest.remove_prefix(frame.size);
    }
    peer.bytes.clear();
    return packets;
  }
  template <class P>
  std::vector<P> take_all(ConnectionId id) {
    std::vector<P> out;
    for (auto& p : take(id))
      if (auto* x = std::get_if<P>(&p)) out.push_back(*x);
    return out;
  }
  template <class P>
  P take_one(ConnectionId id) {
    auto packets = take(id);
    EXPECT_EQ(packets.size(), 1u);
    if (packets.size() != 1 || !std::holds_alternative<P>(packets[0])) {
      ADD_FAILURE() << "expected exactly one " << mqtt::to_string(P::type);
      return P{};
    }
    return std::get<P>(packets[0]);
  }

  // The first packet received, removed from the buffer; later ones stay for take().
  template <class P>
  P take_first(ConnectionId id) {
    Peer& peer = peers[id];
    auto frame = mqtt::peek_frame(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(peer.bytes.data()), peer.bytes.size()));
    if (frame.status != mqtt::FrameInfo::Status::complete) {
      ADD_FAILURE() << "no whole packet received";
      return P{};
    }
    std::string rest = peer.bytes.substr(frame.size);
    peer.bytes.resize(frame.size);
    auto packets = take(id);
    peer.bytes = rest;
    if (packets.size() != 1 || !std::holds_alternative<P>(packets[0])) {
      ADD_FAILURE() << "expected " << mqtt::to_string(P::type) << " first";
      return P{};
    }
    return std::get<P>(packets[0]);
  }

  // Opens, CONNECTs, and checks the CONNACK is a success.
  ConnectionId connect(Version v, std::string client_id, bool clean = true, mqtt::Properties props = {},
                       std::uint16_t keep_alive = 0, std::optional<mqtt::Will> will = std::nullopt,
                       bool* session_present = nullptr) {
    ConnectionId id = open(v);
    auto c = make_connect(v, std::move(client_id), clean, keep_alive);
    c.properties = std::move(props);
    c.will = std::move(will);
    send(id, c);
    auto ack = take_first<mqtt::Connack>(id);
    EXPECT_EQ(ack.reason_code, 0);
    if (session_present) *session_present = ack.session_present;
    return id;
  }
  void subscribe(ConnectionId id, std::string filter, std::uint8_t qos, std::uint16_t packet_id = 1) {
    send(id, make_subscribe(packet_id, std::move(filter), qos));
    auto ack = take_all<mqtt::Suback>(id);
    ASSERT_EQ(ack.size(), 1u);
    ASSERT_EQ(ack[0].reason_codes.size(), 1u);
    ASSERT_LT(ack[0].reason_codes[0], 0x80);
  }
};

mqtt::Properties props(std::initializer_list<std::pair<PropertyId, std::uint32_t>> numbers) {
  mqtt::Properties p;
  for (auto [id, v] : numbers) p.add_number(id, v);
  return p;
}

std::vector<std::string> payloads(const std::vector<mqtt::Publish>& publishes) {
  std::vector<std::string> out;
  for (auto& p : publishes) out.push_back(p.payload);
  return out;
}

class BothVersions : public ::testing::TestWithParam<Version> {};
INSTANTIATE_TEST_SUITE_P(Engine, BothVersions, ::testing::Values(Version::v3_1_1, Version::v5),
                         [](const auto& param_info) { return param_info.param == Version::v5 ? "v5" : "v311"; });

}  // namespace

// ======================================================================================
// CONNECT / CONNACK

TEST(BrokerConnect, v311_connack_for_clean_session_is_20_02_00_00_MQTT_3_2_2_1_v311) {
  Net net;
  auto id = net.open(Version::v3_1_1);
  // 3.1.1 CONNECT, client id "a", clean session, keep alive 0 (3.1 figure 3.6).
  net.send_raw(id, hex_to_bytes("10 0d 00 04 4d 51 54 54 04 02 00 00 00 01 61"));
  EXPECT_EQ(net.peers[id].bytes, hex_to_bytes("20 02 00 00"));
  EXPECT_FALSE(net.closed(id));
}

TEST(BrokerConnect, v31_connect_is_accepted_MQTT_3_1_2_1_v311) {
  Net net;
  bool present = true;
  net.connect(Version::v3_1, "old-client", true, {}, 0, std::nullopt, &present);
  EXPECT_FALSE(present);
  EXPECT_EQ(net.engine.session("old-client")->version, Version::v3_1);
}

TEST_P(BothVersions, first_packet_other_than_connect_closes_without_answer_MQTT_3_1_0_1) {
  Net net;
  auto id = net.open(GetParam());
  net.send(id, mqtt::Pingreq{});
  EXPECT_TRUE(net.closed(id));
  EXPECT_TRUE(net.take(id).empty());
}

TEST(BrokerConnect, second_connect_is_a_protocol_error_0x82_MQTT_3_1_0_2) {
  Net net;
  auto id = net.connect(Version::v5, "c1");
  net.send(id, make_connect(Version::v5, "c1"));
  auto d = net.take_one<mqtt::Disconnect>(id);  // no second CONNACK [MQTT-3.2.0-2]
  EXPECT_EQ(d.reason_code, 0x82);
  // Net::collect() fails any test in which bytes follow a close [MQTT-3.14.4-1].
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, v311_second_connect_closes_the_connection_MQTT_3_1_0_2_v311) {
  Net net;
  auto id = net.connect(Version::v3_1_1, "c1");
  net.send(id, make_connect(Version::v3_1_1, "c1"));
  EXPECT_TRUE(net.closed(id));
  EXPECT_TRUE(net.take(id).empty());
}

TEST(BrokerConnect, empty_client_id_gets_an_assigned_client_identifier_MQTT_3_1_3_6_MQTT_3_2_2_16) {
  Net net;
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, ""));
  auto ack = net.take_one<mqtt::Connack>(id);
  EXPECT_EQ(ack.reason_code, 0);  // [MQTT-3.1.4-5]
  auto assigned = ack.properties.find(PropertyId::assigned_client_identifier);
  ASSERT_TRUE(assigned.has_value());
  EXPECT_FALSE(assigned->value.empty());
  EXPECT_TRUE(net.engine.session(assigned->value).has_value());  // handled under that id [MQTT-3.1.3-7]
}

TEST(BrokerConnect, v311_empty_client_id_with_clean_session_0_is_refused_0x02_MQTT_3_1_3_8_v311) {
  Net net;
  auto id = net.open(Version::v3_1_1);
  net.send(id, make_connect(Version::v3_1_1, "", false));
  auto ack = net.take_one<mqtt::Connack>(id);
  EXPECT_EQ(ack.reason_code, 0x02);  // identifier rejected (3.1.1: MQTT-3.1.3-9)
  EXPECT_FALSE(ack.session_present);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, v311_empty_client_id_with_clean_session_is_accepted_MQTT_3_1_3_6_v311) {
  Net net;
  auto id = net.open(Version::v3_1_1);
  net.send(id, make_connect(Version::v3_1_1, "", true));
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, 0);
}

TEST(BrokerConnect, unsupported_protocol_level_gets_connack_0x01_and_close_MQTT_3_1_2_2_v311) {
  Net net;
  auto id = net.open(Version::v3_1_1);
  // CONNECT with protocol level 6.
  net.send_raw(id, hex_to_bytes("10 0d 00 04 4d 51 54 54 06 02 00 00 00 01 61"));
  // A level the broker does not know: refused and closed (also [MQTT-3.1.2-2] in 5.0,
  // where the CONNACK is optional).
  EXPECT_EQ(net.peers[id].bytes, hex_to_bytes("20 02 00 01"));
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, session_takeover_sends_disconnect_0x8e_to_the_old_connection_MQTT_3_1_4_3) {
  Net net;
  auto first = net.connect(Version::v5, "dup");
  auto second = net.connect(Version::v5, "dup");  // same ClientID, same session [MQTT-3.1.3-2]
  auto d = net.take_one<mqtt::Disconnect>(first);
  EXPECT_EQ(d.reason_code, 0x8E);
  EXPECT_TRUE(net.closed(first));
  EXPECT_FALSE(net.closed(second));
  EXPECT_EQ(net.engine.session("dup")->connection, second);
}

TEST(BrokerConnect, v311_session_takeover_closes_the_old_connection_MQTT_3_1_4_2_v311) {
  Net net;
  auto first = net.connect(Version::v3_1_1, "dup");
  auto second = net.connect(Version::v3_1_1, "dup");
  EXPECT_TRUE(net.closed(first));
  EXPECT_TRUE(net.take(first).empty());
  EXPECT_FALSE(net.closed(second));
}

TEST_P(BothVersions, resumed_session_has_session_present_1_MQTT_3_2_2_3) {
  Net net;
  mqtt::Properties p = GetParam() == Version::v5 ? props({{PropertyId::session_expiry_interval, 100}}) : mqtt::Properties{};
  bool present = true;
  auto id = net.connect(GetParam(), "keep", false, p, 0, std::nullopt, &present);
  EXPECT_FALSE(present);  // no session existed [MQTT-3.1.2-6]
  net.subscribe(id, "t/#", 1);
  net.lose(id);
  ASSERT_TRUE(net.engine.session("keep").has_value());  // [MQTT-3.1.2-23]
  net.connect(GetParam(), "keep", false, p, 0, std::nullopt, &present);
  EXPECT_TRUE(present);  // [MQTT-3.1.2-5]
  EXPECT_EQ(net.engine.session("keep")->subscriptions, 1u);
}

TEST_P(BothVersions, clean_start_discards_the_existing_session_MQTT_3_1_2_4) {
  Net net;
  mqtt::Properties p = GetParam() == Version::v5 ? props({{PropertyId::session_expiry_interval, 100}}) : mqtt::Properties{};
  auto id = net.connect(GetParam(), "c", false, p);
  net.subscribe(id, "t/#", 1);
  net.lose(id);
  bool present = true;
  net.connect(GetParam(), "c", true, p, 0, std::nullopt, &present);
  EXPECT_FALSE(present);  // [MQTT-3.2.2-2] [MQTT-3.1.4-4]
  EXPECT_EQ(net.engine.session("c")->subscriptions, 0u);
}

TEST(BrokerConnect, session_state_is_discarded_when_the_expiry_interval_passes_MQTT_4_1_0_2) {
  Net net;
  auto id = net.connect(Version::v5, "exp", false, props({{PropertyId::session_expiry_interval, 10}}));
  net.lose(id);
  ASSERT_TRUE(net.engine.next_deadline().has_value());
  EXPECT_EQ(*net.engine.next_deadline(), net.now + 10'000);
  net.advance(9'999);
  EXPECT_TRUE(net.engine.session("exp").has_value());
  net.advance(1);
  EXPECT_FALSE(net.engine.session("exp").has_value());
}

TEST(BrokerConnect, session_expiry_0_ends_the_session_at_disconnect_MQTT_3_1_2_23) {
  Net net;
  auto id = net.connect(Version::v5, "gone", false);
  EXPECT_TRUE(net.engine.session("gone").has_value());  // kept while connected [MQTT-4.1.0-1]
  net.lose(id);
  EXPECT_FALSE(net.engine.session("gone").has_value());
}

TEST_P(BothVersions, keep_alive_closes_after_one_and_a_half_times_without_packets_MQTT_3_1_2_22) {
  Net net;
  auto id = net.connect(GetParam(), "ka", true, {}, 10);
  net.advance(14'999);
  EXPECT_FALSE(net.closed(id));
  net.send(id, mqtt::Pingreq{});
  EXPECT_EQ(net.take(id).size(), 1u);  // PINGRESP [MQTT-3.12.4-1]
  net.advance(14'999);  // timer restarted by the PINGREQ
  EXPECT_FALSE(net.closed(id));
  net.advance(1);
  EXPECT_TRUE(net.closed(id));
  if (GetParam() == Version::v5) {
    EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x8D);
  }
}

TEST(BrokerConnect, server_keep_alive_is_announced_and_applied_3_2_2_3_14) {
  BrokerConfig config;
  config.server_keep_alive = 2;
  Net net(config);
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, "ska", true, 100));
  auto ack = net.take_one<mqtt::Connack>(id);
  ASSERT_TRUE(ack.properties.find(PropertyId::server_keep_alive).has_value());
  EXPECT_EQ(ack.properties.find(PropertyId::server_keep_alive)->number, 2u);
  net.advance(3'000);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, pingreq_is_answered_with_pingresp_MQTT_3_12_4_1) {
  Net net;
  auto id = net.connect(Version::v3_1_1, "p");
  net.send(id, mqtt::Pingreq{});
  EXPECT_EQ(net.peers[id].bytes, hex_to_bytes("d0 00"));
}

TEST(BrokerConnect, connection_without_connect_is_closed_after_connect_timeout) {
  BrokerConfig config;
  config.connect_timeout_ms = 500;
  Net net(config);
  auto id = net.open(Version::v5);
  net.advance(499);
  EXPECT_FALSE(net.closed(id));
  net.advance(1);
  EXPECT_TRUE(net.closed(id));
  EXPECT_EQ(net.engine.connection_count(), 0u);
}

TEST(BrokerConnect, connections_above_max_connections_are_closed_at_once) {
  BrokerConfig config;
  config.max_connections = 2;
  Net net(config);
  auto a = net.open(Version::v5);
  auto b = net.open(Version::v5);
  auto c = net.open(Version::v5);
  EXPECT_FALSE(net.closed(a));
  EXPECT_FALSE(net.closed(b));
  EXPECT_TRUE(net.closed(c));
  EXPECT_EQ(net.engine.connection_count(), 2u);
  EXPECT_EQ(net.engine.stats().connections_refused, 1u);
}

TEST(BrokerConnect, wrong_password_is_refused_0x86_MQTT_3_1_4_2) {
  BrokerConfig config;
  config.users["alice"] = "secret";
  Net net(config);
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, "a");
  c.username = "alice";
  c.password = "wrong";
  net.send(id, c);
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, 0x86);
  EXPECT_TRUE(net.closed(id));
  auto ok = net.open(Version::v5);
  c.password = "secret";
  net.send(ok, c);
  EXPECT_EQ(net.take_one<mqtt::Connack>(ok).reason_code, 0x00);
}

TEST(BrokerConnect, v311_wrong_password_is_refused_0x04_MQTT_3_1_4_2_v311) {
  BrokerConfig config;
  config.users["alice"] = "secret";
  Net net(config);
  auto id = net.open(Version::v3_1_1);
  auto c = make_connect(Version::v3_1_1, "a");
  c.username = "alice";
  c.password = "nope";
  net.send(id, c);
  EXPECT_EQ(net.peers[id].bytes, hex_to_bytes("20 02 00 04"));
  EXPECT_TRUE(net.closed(id));
}

TEST_P(BothVersions, anonymous_connection_refused_when_not_allowed_MQTT_3_1_4_2) {
  BrokerConfig config;
  config.allow_anonymous = false;
  Net net(config);
  auto id = net.open(GetParam());
  net.send(id, make_connect(GetParam(), "anon"));
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, GetParam() == Version::v5 ? 0x87 : 0x05);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, authentication_method_is_refused_0x8c_MQTT_4_12_0_1) {
  Net net;
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, "auth");
  c.properties.add_string(PropertyId::authentication_method, "SCRAM-SHA-1");
  net.send(id, c);
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, 0x8C);
  EXPECT_TRUE(net.closed(id));
}

// Found by fuzz_broker_engine (fuzz/regressions/broker_engine/refused-connack-above-client-maximum-packet-size):
// the refusal was built before the CONNECT's Maximum Packet Size was taken into account.
TEST(BrokerConnect, refusing_connack_leaves_out_the_reason_string_above_the_client_maximum_packet_size_MQTT_3_2_2_19) {
  BrokerConfig config;
  config.max_sessions = 1;
  Net net(config);
  net.send(net.open(Version::v5), make_connect(Version::v5, "first"));
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, "second");
  c.properties.add_number(PropertyId::maximum_packet_size, 16);
  net.send(id, c);
  ASSERT_LE(net.peers[id].bytes.size(), 16u) << "CONNACK above the client's Maximum Packet Size [MQTT-3.1.2-24]";
  auto ack = net.take_one<mqtt::Connack>(id);
  EXPECT_EQ(ack.reason_code, 0x97);  // quota exceeded
  EXPECT_FALSE(ack.properties.find(PropertyId::reason_string).has_value());
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, connack_announces_limits_and_unavailable_features_3_2_2_3) {
  BrokerConfig config;
  config.receive_maximum = 7;
  config.maximum_qos = 1;
  config.retain_available = false;
  config.maximum_packet_size = 4096;
  config.max_topic_alias = 3;
  config.wildcard_subscription_available = false;
  config.shared_subscription_available = false;
  config.subscription_identifiers_available = false;
  Net net(config);
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, "x"));
  auto ack = net.take_one<mqtt::Connack>(id);
  auto number = [&](PropertyId pid) { return ack.properties.find(pid) ? ack.properties.find(pid)->number : 9999u; };
  EXPECT_EQ(number(PropertyId::receive_maximum), 7u);
  EXPECT_EQ(number(PropertyId::maximum_qos), 1u);  // [MQTT-3.2.2-9]
  EXPECT_EQ(number(PropertyId::retain_available), 0u);
  EXPECT_EQ(number(PropertyId::maximum_packet_size), 4096u);
  EXPECT_EQ(number(PropertyId::topic_alias_maximum), 3u);
  EXPECT_EQ(number(PropertyId::wildcard_subscription_available), 0u);
  EXPECT_EQ(number(PropertyId::shared_subscription_available), 0u);
  EXPECT_EQ(number(PropertyId::subscription_identifier_available), 0u);
}

TEST(BrokerConnect, response_information_only_when_requested_MQTT_3_1_2_28) {
  Net net;
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, "rr"));
  EXPECT_FALSE(net.take_one<mqtt::Connack>(id).properties.find(PropertyId::response_information).has_value());
  auto id2 = net.open(Version::v5);
  auto c = make_connect(Version::v5, "rr2");
  c.properties.add_number(PropertyId::request_response_information, 1);
  net.send(id2, c);
  // The default prefix "response/" (docs/broker.md) followed by the client identifier.
  const auto info = net.take_one<mqtt::Connack>(id2).properties.find(PropertyId::response_information);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->value, "response/rr2");
}

TEST(BrokerConnect, will_qos_above_maximum_qos_is_refused_0x9b_MQTT_3_2_2_12) {
  BrokerConfig config;
  config.maximum_qos = 1;
  Net net(config);
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, "w");
  c.will = mqtt::Will{"will/t", "bye", 2, false, {}};
  net.send(id, c);
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, 0x9B);
  EXPECT_TRUE(net.closed(id));
}

// ======================================================================================
// PUBLISH flows

TEST_P(BothVersions, qos0_is_delivered_with_dup_0_and_no_packet_id_MQTT_4_3_1_1) {
  Net net;
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "a/b", 0);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("a/b", "hello"));
  EXPECT_TRUE(net.take(pub).empty());  // QoS 0: no answer [MQTT-3.3.4-1]
  auto got = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(got.topic, "a/b");
  EXPECT_EQ(got.payload, "hello");
  EXPECT_EQ(got.qos, 0);
  EXPECT_FALSE(got.dup);
}

TEST(BrokerPublish, v311_qos0_delivery_bytes_are_exact_MQTT_3_3_1_v311) {
  Net net;
  auto sub = net.connect(Version::v3_1_1, "sub");
  net.subscribe(sub, "a/b", 0);
  auto pub = net.connect(Version::v3_1_1, "pub");
  net.send(pub, make_publish("a/b", "hi"));
  // 30 | remaining 7 | topic length 3 "a/b" | "hi"
  EXPECT_EQ(net.peers[sub].bytes, hex_to_bytes("30 07 00 03 61 2f 62 68 69"));
}

TEST_P(BothVersions, qos1_is_acknowledged_with_the_publish_packet_id_MQTT_4_3_2_4) {
  Net net;
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "q/1", 1);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("q/1", "m", 1, 77));
  auto ack = net.take_one<mqtt::Puback>(pub);
  EXPECT_EQ(ack.packet_id, 77);  // [MQTT-2.2.1-5]
  EXPECT_EQ(ack.reason_code, 0);
  auto got = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(got.qos, 1);
  EXPECT_NE(got.packet_id, 0);  // [MQTT-2.2.1-4] [MQTT-4.3.2-1]
  EXPECT_FALSE(got.dup);        // [MQTT-4.3.2-2]
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 1u);  // until PUBACK [MQTT-4.3.2-3]
  net.send(sub, mqtt::Puback{got.packet_id, 0, {}});
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 0u);
}

TEST_P(BothVersions, qos2_repeat_before_pubrel_is_not_delivered_twice_MQTT_4_3_3_10) {
  BrokerConfig config;
  config.track_deliveries = true;
  Net net(config);
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "q/2", 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("q/2", "once", 2, 5));
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).packet_id, 5);  // [MQTT-4.3.3-8]
  auto dup = make_publish("q/2", "once", 2, 5);
  dup.dup = true;
  net.send(pub, dup);
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).packet_id, 5);
  net.send(pub, mqtt::Pubrel{5, 0, {}});
  EXPECT_EQ(net.take_one<mqtt::Pubcomp>(pub).packet_id, 5);  // [MQTT-4.3.3-11]
  auto delivered = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_FALSE(delivered[0].dup);  // the incoming DUP is not forwarded [MQTT-3.3.1-3]
  // After PUBCOMP the same id is a new message [MQTT-4.3.3-12].
  net.send(pub, make_publish("q/2", "twice", 2, 5));
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 1u);
}

TEST_P(BothVersions, qos2_outbound_flow_pubrec_gets_pubrel_then_pubcomp_completes_MQTT_4_3_3_4) {
  Net net;
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "q/2", 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("q/2", "x", 2, 1));
  auto got = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(got.qos, 2);
  EXPECT_NE(got.packet_id, 0);  // [MQTT-4.3.3-1]
  EXPECT_FALSE(got.dup);        // [MQTT-4.3.3-2]
  net.advance(60'000);
  EXPECT_TRUE(net.take(sub).empty());  // no resend on a live connection [MQTT-4.4.0-1]
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 1u);  // until PUBREC [MQTT-4.3.3-3]
  net.send(sub, mqtt::Pubrec{got.packet_id, 0, {}});
  EXPECT_EQ(net.take_one<mqtt::Pubrel>(sub).packet_id, got.packet_id);
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 1u);  // until PUBCOMP [MQTT-4.3.3-5]
  net.send(sub, mqtt::Pubcomp{got.packet_id, 0, {}});
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 0u);
}

TEST(BrokerPublish, pubrec_with_error_code_ends_the_flow_without_pubrel_MQTT_4_4_0_2) {
  Net net;
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "q/2", 2);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("q/2", "x", 2, 1));
  auto got = net.take_one<mqtt::Publish>(sub);
  net.send(sub, mqtt::Pubrec{got.packet_id, 0x80, {}});
  EXPECT_TRUE(net.take(sub).empty());
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 0u);
}

TEST_P(BothVersions, delivery_qos_is_the_lower_of_publish_and_granted_qos_MQTT_3_8_4_8) {
  Net net;
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "d/#", 1);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("d/x", "two", 2, 3));
  EXPECT_EQ(net.take_one<mqtt::Publish>(sub).qos, 1);
  net.send(pub, make_publish("d/x", "zero", 0));
  EXPECT_EQ(net.take_one<mqtt::Publish>(sub).qos, 0);
}

TEST(BrokerPublish, in_flight_stays_within_the_client_receive_maximum_MQTT_3_3_4_9) {
  Net net;
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::receive_maximum, 2}}));
  net.subscribe(sub, "r", 1);
  auto pub = net.connect(Version::v5, "pub");
  for (std::uint16_t i = 1; i <= 5; ++i) net.send(pub, make_publish("r", std::to_string(i), 1, i));
  auto first = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(first.size(), 2u);  // [MQTT-4.9.0-2]
  EXPECT_EQ(net.engine.session("sub")->queued, 3u);
  net.send(sub, mqtt::Pingreq{});  // other packets still answered [MQTT-3.3.4-10]
  EXPECT_EQ(net.take_all<mqtt::Pingresp>(sub).size(), 1u);  // [MQTT-4.9.0-3]
  net.send(sub, mqtt::Puback{first[0].packet_id, 0, {}});
  auto next = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].payload, "3");
}

TEST_P(BothVersions, unacknowledged_messages_are_resent_with_dup_on_session_resumption_MQTT_4_4_0_1) {
  Net net;
  mqtt::Properties p = GetParam() == Version::v5 ? props({{PropertyId::session_expiry_interval, 60}}) : mqtt::Properties{};
  auto sub = net.connect(GetParam(), "sub", false, p);
  net.subscribe(sub, "t/#", 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("t/1", "q1", 1, 1));
  net.send(pub, make_publish("t/2", "q2", 2, 2));
  auto sent = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(sent.size(), 2u);
  net.send(sub, mqtt::Pubrec{sent[1].packet_id, 0, {}});  // QoS 2 now waits for PUBCOMP
  net.take(sub);
  net.lose(sub);
  sub = net.connect(GetParam(), "sub", false, p);
  auto again = net.take(sub);
  ASSERT_EQ(again.size(), 2u);
  auto& republished = std::get<mqtt::Publish>(again[0]);
  EXPECT_TRUE(republished.dup);  // [MQTT-3.3.1-1]
  EXPECT_EQ(republished.packet_id, sent[0].packet_id);
  EXPECT_EQ(republished.payload, "q1");
  EXPECT_EQ(std::get<mqtt::Pubrel>(again[1]).packet_id, sent[1].packet_id);  // PUBREL, not the PUBLISH [MQTT-4.3.3-6]
}

TEST_P(BothVersions, messages_for_an_offline_session_are_queued_up_to_the_limit) {
  BrokerConfig config;
  config.max_queued_messages = 3;
  Net net(config);
  mqtt::Properties p = GetParam() == Version::v5 ? props({{PropertyId::session_expiry_interval, 60}}) : mqtt::Properties{};
  auto sub = net.connect(GetParam(), "sub", false, p);
  net.subscribe(sub, "off", 1);
  net.lose(sub);
  auto pub = net.connect(GetParam(), "pub");
  for (std::uint16_t i = 1; i <= 5; ++i) net.send(pub, make_publish("off", std::to_string(i), 1, i));
  net.send(pub, make_publish("off", "qos0-not-queued", 0));
  EXPECT_EQ(net.engine.session("sub")->queued, 3u);
  EXPECT_EQ(net.engine.stats().messages_dropped_queue_full, 2u);
  sub = net.connect(GetParam(), "sub", false, p);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"1", "2", "3"}));
}

TEST_P(BothVersions, messages_on_a_topic_arrive_in_publish_order_MQTT_4_6_0_6) {
  BrokerConfig config;
  config.max_inflight = 3;
  Net net(config);
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "ord", 1);
  auto pub = net.connect(GetParam(), "pub");
  for (std::uint16_t i = 1; i <= 20; ++i) net.send(pub, make_publish("ord", std::to_string(i), 1, i));
  std::vector<std::string> got;
  for (int round = 0; round < 30 && got.size() < 20; ++round) {
    for (auto& p : net.take_all<mqtt::Publish>(sub)) {
      got.push_back(p.payload);
      net.send(sub, mqtt::Puback{p.packet_id, 0, {}});
    }
  }
  std::vector<std::string> expected;
  for (int i = 1; i <= 20; ++i) expected.push_back(std::to_string(i));
  EXPECT_EQ(got, expected);  // [MQTT-4.6.0-5]
}

TEST(BrokerPublish, more_qos2_publishes_than_receive_maximum_is_disconnect_0x93_MQTT_3_3_4_7) {
  BrokerConfig config;
  config.receive_maximum = 2;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("x", "1", 2, 1));
  net.send(pub, make_publish("x", "2", 2, 2));
  EXPECT_EQ(net.take_all<mqtt::Pubrec>(pub).size(), 2u);
  net.send(pub, make_publish("x", "3", 2, 3));
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x93);
  EXPECT_TRUE(net.closed(pub));
}

TEST(BrokerPublish, packet_above_maximum_packet_size_is_disconnect_0x95) {
  BrokerConfig config;
  config.maximum_packet_size = 64;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("big", std::string(100, 'x')));
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x95);
  EXPECT_TRUE(net.closed(pub));
}

TEST(BrokerPublish, message_above_client_maximum_packet_size_is_dropped_as_if_delivered_MQTT_3_1_2_25) {
  Net net;
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::maximum_packet_size, 40}}));
  net.subscribe(sub, "m", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("m", std::string(100, 'x'), 1, 1));
  net.send(pub, make_publish("m", "small", 1, 2));
  auto got = net.take_all<mqtt::Publish>(sub);  // never above 40 bytes [MQTT-3.1.2-24]
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "small");
  EXPECT_EQ(net.engine.stats().messages_dropped_too_large, 1u);
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 1u);
}

TEST(BrokerPublish, topic_alias_maps_later_publishes_with_empty_topic_MQTT_3_3_2_12) {
  Net net;
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "alias/t", 0);
  auto pub = net.connect(Version::v5, "pub");
  auto first = make_publish("alias/t", "1");
  first.properties.add_number(PropertyId::topic_alias, 1);
  net.send(pub, first);
  auto second = make_publish("", "2");
  second.properties.add_number(PropertyId::topic_alias, 1);
  net.send(pub, second);
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].topic, "alias/t");
  // The engine never sends topic aliases (the client announced none) [MQTT-3.1.2-27].
  EXPECT_FALSE(got[1].properties.find(PropertyId::topic_alias).has_value());
}

TEST(BrokerPublish, topic_alias_0_is_disconnect_0x94_MQTT_3_3_2_8) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  auto p = make_publish("a", "1");
  p.properties.add_number(PropertyId::topic_alias, 0);
  net.send(pub, p);
  auto packets = net.take(pub);
  ASSERT_EQ(packets.size(), 1u);
  // The codec may reject alias 0 itself (as a protocol error) or leave it to the engine
  // (0x94); either way the connection ends with a DISCONNECT.
  auto* d = std::get_if<mqtt::Disconnect>(&packets[0]);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->reason_code == 0x94 || d->reason_code == 0x82) << int(d->reason_code);
  EXPECT_TRUE(net.closed(pub));
}

TEST(BrokerPublish, topic_alias_above_the_maximum_is_disconnect_0x94_MQTT_3_3_2_12) {
  BrokerConfig config;
  config.max_topic_alias = 2;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  auto p = make_publish("a", "1");
  p.properties.add_number(PropertyId::topic_alias, 3);
  net.send(pub, p);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x94);
}

TEST(BrokerPublish, unknown_topic_alias_with_empty_topic_is_protocol_error_3_3_2_3_4) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  auto p = make_publish("", "1");
  p.properties.add_number(PropertyId::topic_alias, 1);
  net.send(pub, p);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x82);
}

TEST(BrokerPublish, topic_aliases_do_not_survive_the_connection_MQTT_3_3_2_7) {
  Net net;
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 60}});
  auto pub = net.connect(Version::v5, "pub", false, p);
  auto first = make_publish("alias/t", "1");
  first.properties.add_number(PropertyId::topic_alias, 1);
  net.send(pub, first);
  net.lose(pub);
  pub = net.connect(Version::v5, "pub", false, p);
  auto second = make_publish("", "2");
  second.properties.add_number(PropertyId::topic_alias, 1);
  net.send(pub, second);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x82);
}

// --- outbound topic aliases (3.3.2.3.4) ---------------------------------------------------

namespace {
// The receiving client's side of 3.3.2.3.4, written from the spec: a PUBLISH with a
// topic and an alias (re)defines the alias; an empty topic with an alias means the
// mapped topic. Returns the topic each PUBLISH stands for ("" when unresolvable) and
// records the aliases seen.
struct AliasResolver {
  std::map<std::uint32_t, std::string> mapping;
  std::vector<std::uint32_t> aliases_seen;
  std::string resolve(const mqtt::Publish& p) {
    auto alias = p.properties.find(PropertyId::topic_alias);
    if (!alias) return p.topic;
    aliases_seen.push_back(alias->number);
    if (!p.topic.empty()) {
      mapping[alias->number] = p.topic;
      return p.topic;
    }
    auto it = mapping.find(alias->number);
    return it == mapping.end() ? std::string() : it->second;
  }
};
}  // namespace

TEST(BrokerPublish, outbound_alias_sends_topic_and_alias_first_then_only_the_alias_MQTT_3_3_2_11) {
  Net net;
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::topic_alias_maximum, 5}}));
  net.subscribe(sub, "alias/#", 0);
  auto pub = net.connect(Version::v5, "pub");
  for (const char* payload : {"1", "2", "3"}) net.send(pub, make_publish("alias/t", payload));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].topic, "alias/t");
  auto first_alias = got[0].properties.find(PropertyId::topic_alias);
  ASSERT_TRUE(first_alias.has_value());
  EXPECT_GE(first_alias->number, 1u);  // never 0 [MQTT-3.3.2-8]
  EXPECT_LE(first_alias->number, 5u);
  for (std::size_t i = 1; i < got.size(); ++i) {
    EXPECT_EQ(got[i].topic, "") << i;  // the alias alone stands for the topic
    auto alias = got[i].properties.find(PropertyId::topic_alias);
    ASSERT_TRUE(alias.has_value());
    EXPECT_EQ(alias->number, first_alias->number);
    EXPECT_EQ(got[i].payload, std::to_string(i + 1));
  }
}

TEST(BrokerPublish, outbound_aliases_stay_within_the_client_maximum_and_always_resolve_MQTT_3_1_2_26) {
  // Client maximum 3, broker allows 10: at most 3 aliases [MQTT-3.3.2-11]. 60 seeded
  // random topics out of 7 force re-mapping; every PUBLISH must resolve to its topic.
  Net net;
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::topic_alias_maximum, 3}}));
  net.subscribe(sub, "r/#", 1);
  auto pub = net.connect(Version::v5, "pub");
  std::mt19937 rng(7);
  AliasResolver client;
  std::set<std::uint32_t> distinct;
  for (int i = 0; i < 60; ++i) {
    std::string topic = "r/" + std::to_string(rng() % 7);
    auto qos = static_cast<std::uint8_t>(i % 2);
    net.send(pub, make_publish(topic, std::to_string(i), qos, static_cast<std::uint16_t>(i + 1)));
    auto got = net.take_all<mqtt::Publish>(sub);
    ASSERT_EQ(got.size(), 1u) << i;
    EXPECT_EQ(client.resolve(got[0]), topic) << "publish " << i;
    EXPECT_EQ(got[0].payload, std::to_string(i));
    if (got[0].qos == 1) net.send(sub, mqtt::Puback{got[0].packet_id, 0, {}});
    net.take(pub);
  }
  ASSERT_EQ(client.aliases_seen.size(), 60u);  // every PUBLISH used an alias
  for (auto a : client.aliases_seen) {
    EXPECT_GE(a, 1u);
    EXPECT_LE(a, 3u);
    distinct.insert(a);
  }
  EXPECT_EQ(distinct.size(), 3u);
}

TEST(BrokerPublish, least_recently_used_outbound_alias_is_remapped_first_3_3_2_3_4) {
  Net net;
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::topic_alias_maximum, 2}}));
  net.subscribe(sub, "#", 0);
  auto pub = net.connect(Version::v5, "pub");
  for (const char* topic : {"a", "b", "a", "c"}) net.send(pub, make_publish(topic, topic));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 4u);
  auto alias_of = [&](std::size_t i) { return got[i].properties.find(PropertyId::topic_alias)->number; };
  // "b" was used longer ago than "a", so "c" takes b's alias and "a" keeps its own.
  EXPECT_EQ(got[3].topic, "c");
  EXPECT_EQ(alias_of(3), alias_of(1));
  EXPECT_NE(alias_of(3), alias_of(0));
  net.send(pub, make_publish("a", "again"));
  auto again = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(again.topic, "");
  EXPECT_EQ(again.properties.find(PropertyId::topic_alias)->number, alias_of(0));
}

TEST(BrokerPublish, no_outbound_alias_when_the_client_maximum_is_absent_or_0_MQTT_3_1_2_27) {
  Net net;
  auto zero = net.connect(Version::v5, "zero", true, props({{PropertyId::topic_alias_maximum, 0}}));
  auto absent = net.connect(Version::v5, "absent");
  auto v311 = net.connect(Version::v3_1_1, "v311");  // 3.1.1 has no properties at all
  for (auto id : {zero, absent, v311}) net.subscribe(id, "n/t", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("n/t", "1"));
  net.send(pub, make_publish("n/t", "2"));
  for (auto id : {zero, absent, v311}) {
    auto got = net.take_all<mqtt::Publish>(id);
    ASSERT_EQ(got.size(), 2u);
    for (auto& p : got) {
      EXPECT_EQ(p.topic, "n/t");
      EXPECT_FALSE(p.properties.find(PropertyId::topic_alias).has_value());
    }
  }
}

TEST(BrokerPublish, outbound_aliases_off_in_the_config_sends_none_MQTT_3_3_2_11) {
  BrokerConfig config;
  config.outbound_topic_alias_maximum = 0;
  Net net(config);
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::topic_alias_maximum, 10}}));
  net.subscribe(sub, "o/t", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("o/t", "1"));
  net.send(pub, make_publish("o/t", "2"));
  for (auto& p : net.take_all<mqtt::Publish>(sub)) {
    EXPECT_EQ(p.topic, "o/t");
    EXPECT_FALSE(p.properties.find(PropertyId::topic_alias).has_value());
  }
}

TEST(BrokerPublish, outbound_aliases_start_afresh_on_a_new_connection_MQTT_3_3_2_7) {
  Net net;
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 60}, {PropertyId::topic_alias_maximum, 4}});
  auto sub = net.connect(Version::v5, "sub", false, p);
  net.subscribe(sub, "f/t", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("f/t", "1", 1, 1));
  auto first = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(first.topic, "f/t");
  net.lose(sub);  // PUBLISH unacknowledged: resent on the next connection [MQTT-4.4.0-1]
  net.send(pub, make_publish("f/t", "2", 1, 2));
  sub = net.connect(Version::v5, "sub", false, p);
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 2u);
  AliasResolver client;  // a new connection knows no aliases
  EXPECT_EQ(got[0].topic, "f/t");  // the resend must define its alias again
  EXPECT_TRUE(got[0].dup);
  EXPECT_EQ(client.resolve(got[0]), "f/t");
  EXPECT_EQ(client.resolve(got[1]), "f/t");
}

TEST(BrokerPublish, outbound_alias_is_not_remembered_for_a_publish_too_large_to_send_MQTT_3_1_2_25) {
  // A PUBLISH above the client's Maximum Packet Size is not sent, so the alias it would
  // have defined must not be used later as if the client knew it.
  Net net;
  auto sub = net.connect(Version::v5, "sub", true,
                         props({{PropertyId::topic_alias_maximum, 4}, {PropertyId::maximum_packet_size, 64}}));
  net.subscribe(sub, "big/t", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("big/t", std::string(100, 'x')));
  net.send(pub, make_publish("big/t", "small"));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);
  AliasResolver client;
  EXPECT_EQ(client.resolve(got[0]), "big/t");
  EXPECT_EQ(got[0].payload, "small");
}

TEST(BrokerPublish, message_expiry_is_decremented_by_the_time_waited_MQTT_3_3_2_6) {
  Net net;
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 600}});
  auto sub = net.connect(Version::v5, "sub", false, p);
  net.subscribe(sub, "e", 1);
  net.lose(sub);
  auto pub = net.connect(Version::v5, "pub");
  auto msg = make_publish("e", "soon", 1, 1);
  msg.properties.add_number(PropertyId::message_expiry_interval, 10);
  net.send(pub, msg);
  auto late = make_publish("e", "later", 1, 2);
  late.properties.add_number(PropertyId::message_expiry_interval, 100);
  net.send(pub, late);
  net.advance(30'000);
  sub = net.connect(Version::v5, "sub", false, p);
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);  // the first one expired in the queue [MQTT-3.3.2-5]
  EXPECT_EQ(got[0].payload, "later");
  auto expiry = got[0].properties.find(PropertyId::message_expiry_interval);
  ASSERT_TRUE(expiry.has_value());
  EXPECT_EQ(expiry->number, 70u);
}

TEST(BrokerPublish, application_properties_are_forwarded_unchanged_and_in_order_MQTT_3_3_2_17_MQTT_3_3_2_18) {
  Net net;
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "p", 0);
  auto pub = net.connect(Version::v5, "pub");
  auto msg = make_publish("p", "{}");
  msg.properties.add_number(PropertyId::payload_format_indicator, 1);  // [MQTT-3.3.2-4]
  msg.properties.add_string(PropertyId::content_type, "application/json");  // [MQTT-3.3.2-20]
  msg.properties.add_string(PropertyId::response_topic, "reply/here");     // [MQTT-3.3.2-15]
  msg.properties.add_string(PropertyId::correlation_data, std::string("\x00\x01\x02", 3));  // [MQTT-3.3.2-16]
  msg.properties.add_user("b", "2");
  msg.properties.add_user("a", "1");
  msg.properties.add_user("b", "3");
  net.send(pub, msg);
  auto got = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(got.properties, msg.properties);
}

TEST(BrokerPublish, v311_subscriber_gets_no_properties_from_a_v5_publisher) {
  Net net;
  auto sub = net.connect(Version::v3_1_1, "sub");
  net.subscribe(sub, "p", 0);
  auto pub = net.connect(Version::v5, "pub");
  auto msg = make_publish("p", "x");
  msg.properties.add_user("k", "v");
  net.send(pub, msg);
  EXPECT_EQ(net.peers[sub].bytes, hex_to_bytes("30 04 00 01 70 78"));
}

TEST(BrokerPublish, publish_qos_above_maximum_qos_is_disconnect_0x9b_MQTT_3_2_2_11) {
  BrokerConfig config;
  config.maximum_qos = 1;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("q", "x", 2, 1));
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x9B);
}

TEST(BrokerPublish, no_matching_subscribers_is_reported_0x10_in_puback) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("nobody", "x", 1, 9));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x10);
}

TEST(BrokerPublish, bytes_split_at_every_offset_give_the_same_result) {
  auto connect = mqtt::encode_to_string(mqtt::Packet(make_connect(Version::v5, "split")), Version::v5).value;
  auto sub = mqtt::encode_to_string(mqtt::Packet(make_subscribe(1, "s/#", 1)), Version::v5).value;
  auto pub = mqtt::encode_to_string(mqtt::Packet(make_publish("s/x", "payload", 1, 4)), Version::v5).value;
  std::string stream = connect + sub + pub;
  Net whole;
  auto w = whole.open(Version::v5);
  whole.send_raw(w, stream);
  std::string expected = whole.peers[w].bytes;
  ASSERT_FALSE(expected.empty());
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    Net net;
    auto id = net.open(Version::v5);
    net.send_raw(id, stream.substr(0, cut));
    net.send_raw(id, stream.substr(cut));
    EXPECT_EQ(net.peers[id].bytes, expected) << "split at " << cut;
  }
}

// ======================================================================================
// Subscriptions

TEST_P(BothVersions, wildcards_match_and_leading_wildcards_skip_dollar_topics_MQTT_4_7_2_1) {
  Net net;
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "#", 0, 1);
  net.subscribe(sub, "+/x", 0, 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("$SYS/x", "hidden"));
  net.send(pub, make_publish("a/x", "seen"));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);  // one copy despite two matching filters
  EXPECT_EQ(got[0].payload, "seen");
  EXPECT_EQ(got[0].topic, "a/x");  // the name matches the filters [MQTT-3.3.2-3]
}

TEST(BrokerSubscribe, dollar_topic_is_matched_by_an_explicit_filter_MQTT_4_7_2_1) {
  Net net;
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "$SYS/#", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("$SYS/x", "sys"));
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 1u);
}

TEST(BrokerSubscribe, overlapping_subscriptions_give_one_copy_at_max_qos_with_all_ids_MQTT_3_3_4_2_MQTT_3_3_4_3) {
  Net net;
  auto sub = net.connect(Version::v5, "sub");
  auto s1 = make_subscribe(1, "o/+", 0);
  s1.properties.add_number(PropertyId::subscription_identifier, 11);
  net.send(sub, s1);
  auto s2 = make_subscribe(2, "o/#", 2);
  s2.properties.add_number(PropertyId::subscription_identifier, 22);
  net.send(sub, s2);
  net.take(sub);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("o/x", "m", 2, 1));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 2);
  std::vector<std::uint32_t> ids;
  for (const auto& p : got[0].properties)
    if (p.id == PropertyId::subscription_identifier) ids.push_back(p.number);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::uint32_t>{11, 22}));  // [MQTT-3.3.4-4]
}

TEST_P(BothVersions, unsubscribe_stops_delivery_and_is_acknowledged_MQTT_3_10_4_2_MQTT_3_10_4_4) {
  Net net;
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "u/+", 0);
  mqtt::Unsubscribe u;
  u.packet_id = 42;
  u.filters = {"u/#", "u/+"};  // the first does not exist: exact comparison [MQTT-3.10.4-1]
  net.send(sub, u);
  auto ack = net.take_one<mqtt::Unsuback>(sub);
  EXPECT_EQ(ack.packet_id, 42);  // [MQTT-3.10.4-5] [MQTT-2.2.1-6]
  // One UNSUBACK for both filters, codes in filter order [MQTT-3.10.4-6] [MQTT-3.11.3-1]
  if (GetParam() == Version::v5) {
    EXPECT_EQ(ack.reason_codes, (std::vector<std::uint8_t>{0x11, 0x00}));
  }
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("u/1", "x"));
  EXPECT_TRUE(net.take(sub).empty());
}

TEST_P(BothVersions, resubscribing_replaces_the_subscription_MQTT_3_8_4_3) {
  Net net;
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "r", 0);
  net.subscribe(sub, "r", 1);
  EXPECT_EQ(net.engine.session("sub")->subscriptions, 1u);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("r", "x", 1, 1));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 1);
}

TEST(BrokerSubscribe, suback_has_one_code_per_filter_in_order_MQTT_3_9_3_1) {
  BrokerConfig config;
  config.maximum_qos = 1;
  Net net(config);
  auto sub = net.connect(Version::v5, "sub");
  mqtt::Subscribe s;
  s.packet_id = 9;
  for (std::uint8_t q : {std::uint8_t{2}, std::uint8_t{0}, std::uint8_t{1}}) s.subscriptions.push_back(mqtt::Subscription{"f/" + std::to_string(q), {q, false, false, 0}});
  net.send(sub, s);
  auto ack = net.take_one<mqtt::Suback>(sub);
  EXPECT_EQ(ack.packet_id, 9);  // [MQTT-3.8.4-2] [MQTT-2.2.1-6]
  // One SUBACK, one code per filter, each the granted QoS (capped at 1)
  // [MQTT-3.8.4-5] [MQTT-3.8.4-6] [MQTT-3.8.4-7]
  EXPECT_EQ(ack.reason_codes, (std::vector<std::uint8_t>{1, 0, 1}));
}

TEST_P(BothVersions, retained_message_is_sent_on_subscribe_with_retain_1_MQTT_3_3_1_5_MQTT_3_3_1_9) {
  Net net;
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("ret/a", "old", 0, 0, true));
  net.send(pub, make_publish("ret/a", "new", 1, 1, true));  // replaces [MQTT-3.3.1-5]
  net.send(pub, make_publish("ret/a", "not-retained", 0, 0, false));  // leaves it [MQTT-3.3.1-8]
  EXPECT_EQ(net.engine.retained_count(), 1u);
  auto sub = net.connect(GetParam(), "sub");
  net.send(sub, make_subscribe(1, "ret/#", 1));
  auto packets = net.take(sub);
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<mqtt::Suback>(packets[0]));
  auto& got = std::get<mqtt::Publish>(packets[1]);
  EXPECT_EQ(got.payload, "new");
  EXPECT_TRUE(got.retain);
  EXPECT_EQ(got.qos, 1);
}

TEST_P(BothVersions, retained_message_with_empty_payload_clears_and_is_not_stored_MQTT_3_3_1_6_MQTT_3_3_1_7) {
  Net net;
  auto sub0 = net.connect(GetParam(), "live");
  net.subscribe(sub0, "c", 0);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("c", "v", 0, 0, true));
  net.send(pub, make_publish("c", "", 0, 0, true));
  EXPECT_EQ(net.engine.retained_count(), 0u);
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub0).size(), 2u);  // the empty one is delivered normally
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "c", 0);
  EXPECT_TRUE(net.take(sub).empty());
}

TEST(BrokerSubscribe, v311_forwarded_live_message_has_retain_0_MQTT_3_3_1_9_v311) {
  Net net;
  auto sub = net.connect(Version::v3_1_1, "sub");
  net.subscribe(sub, "l", 0);
  auto pub = net.connect(Version::v3_1_1, "pub");
  net.send(pub, make_publish("l", "x", 0, 0, true));
  EXPECT_FALSE(net.take_one<mqtt::Publish>(sub).retain);
}

TEST(BrokerSubscribe, retain_as_published_keeps_the_retain_flag_MQTT_3_3_1_12_MQTT_3_3_1_13) {
  Net net;
  auto plain = net.connect(Version::v5, "plain");
  net.subscribe(plain, "rap", 0);
  auto rap = net.connect(Version::v5, "rap");
  auto s = make_subscribe(1, "rap", 0);
  s.subscriptions[0].options.retain_as_published = true;
  net.send(rap, s);
  net.take(rap);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("rap", "x", 0, 0, true));
  EXPECT_FALSE(net.take_one<mqtt::Publish>(plain).retain);
  EXPECT_TRUE(net.take_one<mqtt::Publish>(rap).retain);
}

TEST(BrokerSubscribe, retain_handling_1_sends_retained_only_for_a_new_subscription_MQTT_3_3_1_10) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("rh", "x", 0, 0, true));
  auto sub = net.connect(Version::v5, "sub");
  net.send(sub, make_subscribe(1, "rh", 0, 1));
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 1u);
  net.send(sub, make_subscribe(2, "rh", 0, 1));
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 0u);
  net.send(sub, make_subscribe(3, "rh", 0, 0));  // Retain Handling 0 re-sends [MQTT-3.8.4-4]
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 1u);
}

TEST(BrokerSubscribe, retain_handling_2_sends_no_retained_messages_MQTT_3_3_1_11) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("rh", "x", 0, 0, true));
  auto sub = net.connect(Version::v5, "sub");
  net.send(sub, make_subscribe(1, "rh", 0, 2));
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 0u);
}

TEST(BrokerSubscribe, no_local_is_not_sent_back_to_the_publisher_MQTT_3_8_3_3) {
  Net net;
  auto both = net.connect(Version::v5, "both");
  auto s = make_subscribe(1, "nl", 0);
  s.subscriptions[0].options.no_local = true;
  net.send(both, s);
  net.take(both);
  auto other = net.connect(Version::v5, "other");
  net.subscribe(other, "nl", 0);
  net.send(both, make_publish("nl", "x"));
  EXPECT_TRUE(net.take(both).empty());
  EXPECT_EQ(net.take_all<mqtt::Publish>(other).size(), 1u);
}

TEST(BrokerSubscribe, shared_subscription_delivers_round_robin_within_the_group_4_8_2) {
  Net net;
  auto a = net.connect(Version::v5, "a");
  net.subscribe(a, "$share/g/s/#", 1);
  auto b = net.connect(Version::v5, "b");
  net.subscribe(b, "$share/g/s/#", 1);
  auto pub = net.connect(Version::v5, "pub");
  for (std::uint16_t i = 1; i <= 4; ++i) net.send(pub, make_publish("s/x", std::to_string(i), 1, i));
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(a)), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(b)), (std::vector<std::string>{"2", "4"}));
}

TEST(BrokerSubscribe, shared_subscription_gets_no_retained_messages_4_8_2) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("s/r", "x", 0, 0, true));
  auto a = net.connect(Version::v5, "a");
  net.subscribe(a, "$share/g/s/#", 0);
  EXPECT_TRUE(net.take(a).empty());
}

TEST(BrokerSubscribe, no_local_on_a_shared_subscription_is_protocol_error_MQTT_3_8_3_4) {
  Net net;
  auto a = net.connect(Version::v5, "a");
  auto s = make_subscribe(1, "$share/g/x", 0);
  s.subscriptions[0].options.no_local = true;
  net.send(a, s);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(a).reason_code, 0x82);
}

TEST(BrokerSubscribe, unavailable_features_are_refused_per_filter_3_9_3) {
  BrokerConfig config;
  config.wildcard_subscription_available = false;
  config.shared_subscription_available = false;
  Net net(config);
  auto a = net.connect(Version::v5, "a");
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {{"w/#", {}}, {"$share/g/x", {}}, {"plain", {}}};
  net.send(a, s);
  EXPECT_EQ(net.take_one<mqtt::Suback>(a).reason_codes, (std::vector<std::uint8_t>{0xA2, 0x9E, 0x00}));
}

TEST(BrokerSubscribe, subscription_identifier_when_unsupported_is_disconnect_0xa1) {
  BrokerConfig config;
  config.subscription_identifiers_available = false;
  Net net(config);
  auto a = net.connect(Version::v5, "a");
  auto s = make_subscribe(1, "x", 0);
  s.properties.add_number(PropertyId::subscription_identifier, 5);
  net.send(a, s);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(a).reason_code, 0xA1);
}

TEST_P(BothVersions, subscriptions_above_the_limit_are_refused) {
  BrokerConfig config;
  config.max_subscriptions_per_client = 2;
  Net net(config);
  auto a = net.connect(GetParam(), "a");
  net.subscribe(a, "1", 0, 1);
  net.subscribe(a, "2", 0, 2);
  net.send(a, make_subscribe(3, "3", 0));
  EXPECT_EQ(net.take_one<mqtt::Suback>(a).reason_codes[0], GetParam() == Version::v5 ? 0x97 : 0x80);
  net.subscribe(a, "2", 1, 4);  // replacing is still allowed
  EXPECT_EQ(net.engine.session("a")->subscriptions, 2u);
}

TEST(BrokerSubscribe, retained_store_is_bounded_by_max_retained_messages) {
  BrokerConfig config;
  config.max_retained_messages = 2;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("r/1", "x", 1, 1, true));
  net.send(pub, make_publish("r/2", "x", 1, 2, true));
  net.send(pub, make_publish("r/3", "x", 1, 3, true));
  auto acks = net.take_all<mqtt::Puback>(pub);
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[2].reason_code, 0x97);
  EXPECT_EQ(net.engine.retained_count(), 2u);
  net.send(pub, make_publish("r/1", "y", 1, 4, true));  // replacing fits
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x10);
}

TEST(BrokerSubscribe, a_full_retained_store_makes_room_by_dropping_expired_messages_MQTT_3_3_2_5) {
  BrokerConfig config;
  config.max_retained_messages = 2;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  auto expiring = make_publish("r/1", "x", 1, 1, true);
  expiring.properties.add_number(PropertyId::message_expiry_interval, 1);
  net.send(pub, expiring);
  net.send(pub, make_publish("r/2", "x", 1, 2, true));
  net.send(pub, make_publish("r/3", "x", 1, 3, true));  // full, nothing expired yet: refused
  auto acks = net.take_all<mqtt::Puback>(pub);
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[2].reason_code, 0x97);
  net.advance(1'000);  // r/1 has expired; no SUBSCRIBE has swept it
  net.send(pub, make_publish("r/3", "x", 1, 4, true));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x10);  // kept (no subscriber)
  EXPECT_EQ(net.engine.retained_count(), 2u);
  auto sub = net.connect(Version::v5, "sub");
  net.send(sub, make_subscribe(1, "r/#", 1));
  std::vector<std::string> topics;
  for (const auto& p : net.take_all<mqtt::Publish>(sub)) topics.push_back(p.topic);
  std::sort(topics.begin(), topics.end());
  EXPECT_EQ(topics, (std::vector<std::string>{"r/2", "r/3"}));
}

// ======================================================================================
// Access control

TEST_P(BothVersions, subscription_refused_by_the_acl_gets_0x80_or_0x87_MQTT_3_9_3_2) {
  BrokerConfig config;
  config.acl.push_back(AclRule{"*", "*", {"#"}, {"open/#"}});
  Net net(config);
  auto a = net.connect(GetParam(), "a");
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {{"open/+/x", {}}, {"closed/x", {}}, {"#", {}}};
  net.send(a, s);
  std::uint8_t refused = GetParam() == Version::v5 ? 0x87 : 0x80;
  EXPECT_EQ(net.take_one<mqtt::Suback>(a).reason_codes, (std::vector<std::uint8_t>{0x00, refused, refused}));
}

TEST(BrokerAcl, publish_refused_by_the_acl_gets_puback_0x87_and_is_not_delivered) {
  BrokerConfig config;
  config.acl.push_back(AclRule{"*", "*", {"ok/#"}, {"#"}});
  Net net(config);
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "#", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("secret", "x", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x87);
  net.send(pub, make_publish("ok/1", "y", 1, 2));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x00);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"y"}));
}

TEST(BrokerAcl, rules_apply_by_client_id_and_username_pattern) {
  BrokerConfig config;
  config.users = {{"alice", "pw"}};
  config.acl.push_back(AclRule{"sensor-*", "*", {"sensors/#"}, {}});
  config.acl.push_back(AclRule{"*", "alice", {"#"}, {"#"}});
  Net net(config);
  auto sensor = net.connect(Version::v5, "sensor-1");
  net.send(sensor, make_publish("sensors/t", "1", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(sensor).reason_code, 0x10);
  net.send(sensor, make_publish("other", "1", 1, 2));
  EXPECT_EQ(net.take_one<mqtt::Puback>(sensor).reason_code, 0x87);
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, "admin");
  c.username = "alice";
  c.password = "pw";
  net.send(id, c);
  net.take(id);
  net.send(id, make_publish("other", "1", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(id).reason_code, 0x10);
}

// ======================================================================================
// Wills

mqtt::Will make_will(std::string topic, std::string payload, bool retain = false) {
  return mqtt::Will{std::move(topic), std::move(payload), 0, retain, {}};
}

TEST_P(BothVersions, will_is_published_when_the_connection_is_lost_MQTT_3_1_2_8) {
  Net net;
  auto watcher = net.connect(GetParam(), "watch");
  net.subscribe(watcher, "will/#", 0);
  auto dying = net.connect(GetParam(), "dying", true, {}, 0, make_will("will/dying", "gone"));
  net.lose(dying);
  auto got = net.take_all<mqtt::Publish>(watcher);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "gone");
}

TEST_P(BothVersions, will_is_discarded_after_disconnect_MQTT_3_14_4_3) {
  Net net;
  auto watcher = net.connect(GetParam(), "watch");
  net.subscribe(watcher, "will/#", 0);
  auto leaving = net.connect(GetParam(), "leaving", true, {}, 0, make_will("will/leaving", "gone"));
  net.send(leaving, mqtt::Disconnect{});
  EXPECT_TRUE(net.closed(leaving));
  net.lose(leaving);
  EXPECT_TRUE(net.take(watcher).empty());
}

TEST(BrokerWill, disconnect_with_0x04_publishes_the_will_3_14_2_1) {
  Net net;
  auto watcher = net.connect(Version::v5, "watch");
  net.subscribe(watcher, "will/#", 0);
  auto leaving = net.connect(Version::v5, "leaving", true, {}, 0, make_will("will/leaving", "gone"));
  net.send(leaving, mqtt::Disconnect{0x04, {}});
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
}

TEST_P(BothVersions, will_is_published_on_keep_alive_timeout_MQTT_3_1_2_8) {
  Net net;
  auto watcher = net.connect(GetParam(), "watch");
  net.subscribe(watcher, "will/#", 0);
  net.connect(GetParam(), "silent", true, {}, 2, make_will("will/silent", "timeout"));
  net.advance(3'000);
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
}

// --- the old connection's will on takeover --------------------------------------------------

TEST(BrokerConnect, v311_takeover_publishes_the_old_connections_will_MQTT_3_1_2_8_v311) {
  // 3.1.1: the will goes out whenever the connection closes without DISCONNECT
  // (3.1.1: MQTT-3.1.2-8), and a takeover closes it (3.1.1: MQTT-3.1.4-2), whether or not
  // the session persists. (mosquitto 2.0 skips it when both connections keep the session.)
  for (bool clean : {true, false}) {
    Net net;
    auto watcher = net.connect(Version::v3_1_1, "watch");
    net.subscribe(watcher, "will/#", 0);
    auto first = net.connect(Version::v3_1_1, "dup", clean, {}, 0, make_will("will/dup", "gone"));
    net.connect(Version::v3_1_1, "dup", clean);
    EXPECT_TRUE(net.closed(first));
    auto got = net.take_all<mqtt::Publish>(watcher);
    ASSERT_EQ(got.size(), 1u) << "clean session " << clean;
    EXPECT_EQ(got[0].payload, "gone");
  }
}

TEST(BrokerConnect, takeover_resuming_the_session_does_not_publish_the_will_MQTT_3_1_3_9) {
  // 5.0: the new connection to the session exists before the old one is closed, so before
  // any Will Delay can elapse: the will is not sent [MQTT-3.1.3-9, MQTT-3.1.2-8].
  Net net;
  auto watcher = net.connect(Version::v5, "watch");
  net.subscribe(watcher, "will/#", 0);
  mqtt::Properties keep = props({{PropertyId::session_expiry_interval, 60}});
  auto first = net.connect(Version::v5, "dup", false, keep, 0, make_will("will/dup", "gone"));
  bool present = false;
  net.connect(Version::v5, "dup", false, keep, 0, std::nullopt, &present);
  EXPECT_TRUE(present);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(first).reason_code, 0x8E);  // [MQTT-3.1.4-3]
  net.advance(120'000);
  EXPECT_TRUE(net.take_all<mqtt::Publish>(watcher).empty());
}

TEST(BrokerConnect, takeover_that_ends_the_session_publishes_the_will_MQTT_3_1_2_8) {
  // 5.0: "the Will Message MUST be published after the Network Connection is
  // subsequently closed and ... the Session ends" [MQTT-3.1.2-8]: the new CONNECT has
  // Clean Start 1, or the old session had expiry 0 (it ends when its connection closes).
  struct Case {
    std::uint32_t old_expiry;
    bool new_clean_start;
  };
  for (Case c : {Case{60, true}, Case{0, false}, Case{0, true}}) {
    Net net;
    auto watcher = net.connect(Version::v5, "watch");
    net.subscribe(watcher, "will/#", 0);
    auto will = make_will("will/dup", "gone");
    will.properties.add_number(PropertyId::will_delay_interval, 30);  // the session end comes first
    auto first = net.connect(Version::v5, "dup", false, props({{PropertyId::session_expiry_interval, c.old_expiry}}),
                             0, will);
    net.connect(Version::v5, "dup", c.new_clean_start, props({{PropertyId::session_expiry_interval, 60}}));
    EXPECT_EQ(net.take_one<mqtt::Disconnect>(first).reason_code, 0x8E);
    auto got = net.take_all<mqtt::Publish>(watcher);
    ASSERT_EQ(got.size(), 1u) << "old expiry " << c.old_expiry << ", clean start " << c.new_clean_start;
    EXPECT_EQ(got[0].payload, "gone");
  }
}

TEST(BrokerWill, will_retain_1_publishes_a_retained_will_MQTT_3_1_2_15) {
  Net net;
  auto dying = net.connect(Version::v5, "dying", true, {}, 0, make_will("will/r", "gone", true));
  net.lose(dying);
  EXPECT_EQ(net.engine.retained_count(), 1u);
}

TEST(BrokerWill, will_delay_is_cancelled_by_reconnection_MQTT_3_1_3_9) {
  Net net;
  auto watcher = net.connect(Version::v5, "watch");
  net.subscribe(watcher, "will/#", 0);
  auto will = make_will("will/d", "late");
  will.properties.add_number(PropertyId::will_delay_interval, 5);
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 60}});
  auto dying = net.connect(Version::v5, "d", false, p, 0, will);
  net.lose(dying);
  EXPECT_TRUE(net.engine.session("d")->will_pending);
  net.advance(4'000);
  net.connect(Version::v5, "d", false, p);
  net.advance(10'000);
  EXPECT_TRUE(net.take(watcher).empty());
}

TEST(BrokerWill, delayed_will_is_published_after_the_delay_MQTT_3_1_2_8) {
  Net net;
  auto watcher = net.connect(Version::v5, "watch");
  net.subscribe(watcher, "will/#", 0);
  auto will = make_will("will/d", "late");
  will.properties.add_number(PropertyId::will_delay_interval, 5);
  auto dying = net.connect(Version::v5, "d", false, props({{PropertyId::session_expiry_interval, 60}}), 0, will);
  net.lose(dying);
  EXPECT_TRUE(net.engine.session("d")->will_pending);  // stored with the session [MQTT-3.1.2-7]
  net.advance(4'999);
  EXPECT_TRUE(net.take(watcher).empty());
  net.advance(1);
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
}

TEST(BrokerWill, delayed_will_goes_out_when_the_session_ends_first_MQTT_3_1_2_8) {
  Net net;
  auto watcher = net.connect(Version::v5, "watch");
  net.subscribe(watcher, "will/#", 0);
  auto will = make_will("will/d", "late");
  will.properties.add_number(PropertyId::will_delay_interval, 100);
  auto dying = net.connect(Version::v5, "d", false, props({{PropertyId::session_expiry_interval, 2}}), 0, will);
  net.lose(dying);
  net.advance(2'000);
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
  EXPECT_FALSE(net.engine.session("d").has_value());
}

// ======================================================================================
// Protocol violations

TEST(BrokerViolation, malformed_packet_gets_disconnect_0x81_then_close_MQTT_4_13_1_1) {
  Net net;
  auto id = net.connect(Version::v5, "m");
  net.send_raw(id, hex_to_bytes("33 02 00 01"));  // QoS 1 PUBLISH too short for its packet id
  auto packets = net.take(id);
  ASSERT_EQ(packets.size(), 1u);
  auto* d = std::get_if<mqtt::Disconnect>(&packets[0]);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason_code, 0x81);
  EXPECT_TRUE(net.closed(id));  // [MQTT-4.13.2-1]
  EXPECT_EQ(net.engine.connection_count(), 0u);
}

TEST(BrokerViolation, publish_qos3_is_malformed_MQTT_3_3_1_4) {
  Net net;
  auto id = net.connect(Version::v5, "m");
  net.send_raw(id, hex_to_bytes("36 05 00 01 61 00 01"));
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x81);
}

TEST(BrokerViolation, v311_malformed_packet_closes_without_answer_MQTT_4_8_0_1_v311) {
  Net net;
  auto id = net.connect(Version::v3_1_1, "m");
  net.send_raw(id, hex_to_bytes("36 05 00 01 61 00 01"));
  EXPECT_TRUE(net.closed(id));
  EXPECT_TRUE(net.take(id).empty());
}

TEST(BrokerViolation, malformed_v5_connect_gets_connack_with_the_error_MQTT_4_13_1_1) {
  Net net;
  auto id = net.open(Version::v5);
  // v5 CONNECT whose reserved flag bit 0 is set [MQTT-3.1.2-3].
  net.send_raw(id, hex_to_bytes("10 0e 00 04 4d 51 54 54 05 03 00 00 00 00 01 61"));
  auto ack = net.take_one<mqtt::Connack>(id);
  EXPECT_GE(ack.reason_code, 0x80);
  EXPECT_FALSE(ack.session_present);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerViolation, client_sending_a_server_packet_is_protocol_error_0x82_MQTT_4_13_1_1) {
  Net net;
  auto id = net.connect(Version::v5, "c");
  net.send(id, mqtt::Pingresp{});
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x82);
}

TEST(BrokerViolation, auth_without_a_method_is_protocol_error_4_12) {
  Net net;
  auto id = net.connect(Version::v5, "c");
  net.send(id, mqtt::Auth{0x18, {}});
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x82);
}

TEST(BrokerViolation, session_expiry_on_disconnect_after_zero_is_protocol_error_3_14_2_2_2) {
  Net net;
  auto id = net.connect(Version::v5, "c");
  mqtt::Disconnect d;
  d.properties.add_number(PropertyId::session_expiry_interval, 30);
  net.send(id, d);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x82);
}

TEST(BrokerViolation, server_disconnect_never_carries_session_expiry_MQTT_3_14_2_2) {
  Net net;
  auto id = net.connect(Version::v5, "c", false, props({{PropertyId::session_expiry_interval, 30}}));
  net.send(id, mqtt::Pingresp{});
  auto d = net.take_one<mqtt::Disconnect>(id);
  EXPECT_FALSE(d.properties.find(PropertyId::session_expiry_interval).has_value());
}

// ======================================================================================
// Misbehave modes (test-only)

namespace {
std::vector<mqtt::Publish> publish_and_collect(Net& net, ConnectionId pub, ConnectionId sub, std::uint8_t qos, int count) {
  std::vector<mqtt::Publish> got;
  for (int i = 1; i <= count; ++i) {
    net.send(pub, make_publish("mb", std::to_string(i), qos, static_cast<std::uint16_t>(qos ? i : 0)));
    net.take(pub);
    for (auto& p : net.take_all<mqtt::Publish>(sub)) {
      got.push_back(p);
      if (p.qos == 1) net.send(sub, mqtt::Puback{p.packet_id, 0, {}});
      if (p.qos == 2) {
        net.send(sub, mqtt::Pubrec{p.packet_id, 0, {}});
        net.take(sub);
        net.send(sub, mqtt::Pubcomp{p.packet_id, 0, {}});
      }
    }
  }
  return got;
}
}  // namespace

TEST(BrokerMisbehave, drop_qos1_drops_every_nth_delivery_but_acks_the_publisher) {
  BrokerConfig config;
  config.misbehave = Misbehave::drop_qos1;
  config.misbehave_every = 10;
  Net net(config);
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "mb", 1);
  auto pub = net.connect(Version::v5, "pub");
  int acks = 0;
  std::vector<mqtt::Publish> got;
  for (int i = 1; i <= 20; ++i) {
    net.send(pub, make_publish("mb", std::to_string(i), 1, static_cast<std::uint16_t>(i)));
    acks += static_cast<int>(net.take_all<mqtt::Puback>(pub).size());
    for (auto& p : net.take_all<mqtt::Publish>(sub)) {
      got.push_back(p);
      net.send(sub, mqtt::Puback{p.packet_id, 0, {}});
    }
  }
  EXPECT_EQ(acks, 20);
  EXPECT_EQ(got.size(), 18u);
  for (auto& p : got) EXPECT_NE(p.payload, "10");
}

TEST(BrokerMisbehave, dup_qos2_sends_a_message_twice_with_fresh_packet_ids) {
  BrokerConfig config;
  config.misbehave = Misbehave::dup_qos2;
  config.misbehave_every = 3;
  config.track_deliveries = true;
  Net net(config);
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "mb", 2);
  auto pub = net.connect(Version::v5, "pub");
  auto got = publish_and_collect(net, pub, sub, 2, 3);
  ASSERT_EQ(payloads(got), (std::vector<std::string>{"1", "2", "3", "3"}));
  EXPECT_FALSE(got[3].dup);
}

TEST(BrokerMisbehave, reorder_swaps_consecutive_deliveries_on_a_topic) {
  BrokerConfig config;
  config.misbehave = Misbehave::reorder;
  config.misbehave_every = 2;
  Net net(config);
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "mb", 1);
  auto pub = net.connect(Version::v5, "pub");
  auto got = publish_and_collect(net, pub, sub, 1, 4);
  EXPECT_EQ(payloads(got), (std::vector<std::string>{"1", "3", "2", "4"}));
}

TEST(BrokerMisbehave, drop_qos0_drops_every_nth_qos0_delivery) {
  BrokerConfig config;
  config.misbehave = Misbehave::drop_qos0;
  config.misbehave_every = 2;
  Net net(config);
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "mb", 0);
  auto pub = net.connect(Version::v5, "pub");
  EXPECT_EQ(payloads(publish_and_collect(net, pub, sub, 0, 4)), (std::vector<std::string>{"1", "3"}));
}

TEST(BrokerMisbehave, none_mode_with_tracking_reports_no_qos2_duplicate_MQTT_4_3_3_10) {
  BrokerConfig config;
  config.track_deliveries = true;
  Net net(config);
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "mb", 2);
  auto pub = net.connect(Version::v5, "pub");
  EXPECT_EQ(publish_and_collect(net, pub, sub, 2, 30).size(), 30u);
  EXPECT_FALSE(net.engine.check_invariants().has_value());
}

// ======================================================================================
// Resources

TEST(BrokerResources, one_thousand_idle_connections_take_under_10_KiB_each) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "allocator statistics are not meaningful under AddressSanitizer";
#else
  Net net;
  std::vector<ConnectionId> ids;
  auto before = mallinfo2().uordblks;
  for (int i = 0; i < 1000; ++i) {
    auto id = net.engine.open(net.now);
    auto bytes = mqtt::encode_to_string(mqtt::Packet(make_connect(Version::v5, "idle-" + std::to_string(i))), Version::v5);
    net.engine.receive(id, bytes.value, net.now);
    ids.push_back(id);
  }
  net.engine.take_output();
  auto after = mallinfo2().uordblks;
  EXPECT_EQ(net.engine.connection_count(), 1000u);
  double per_connection = static_cast<double>(after - before) / 1000.0;
  EXPECT_LT(per_connection, 10 * 1024.0) << per_connection << " bytes per idle connection";
  RecordProperty("bytes_per_idle_connection", static_cast<int>(per_connection));
#endif
}

TEST(BrokerResources, one_message_to_many_subscribers_shares_one_payload_copy) {
  Net net;
  std::vector<ConnectionId> subs;
  for (int i = 0; i < 50; ++i) {
    subs.push_back(net.connect(Version::v5, "s" + std::to_string(i), false,
                               props({{PropertyId::session_expiry_interval, 60}})));
    net.subscribe(subs.back(), "fan", 1);
  }
  for (auto id : subs) net.lose(id);
  auto pub = net.connect(Version::v5, "pub");
  auto bytes = mqtt::encode_to_string(mqtt::Packet(make_publish("fan", std::string(100'000, 'p'), 1, 1)), Version::v5).value;
#if !defined(__SANITIZE_ADDRESS__)
  auto before = mallinfo2().uordblks;
#endif
  net.engine.receive(pub, bytes, net.now);
#if !defined(__SANITIZE_ADDRESS__)
  auto after = mallinfo2().uordblks;
  // 50 queued deliveries of a 100 kB payload: the framer's buffer and one shared copy,
  // far less than 50 copies.
  EXPECT_LT(after - before, 3 * 100'000u);
#endif
  net.collect();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(net.engine.session("s" + std::to_string(i))->queued, 1u);
}

// ======================================================================================
// More statements

TEST(BrokerConnect, data_after_a_refused_connect_is_ignored_MQTT_3_1_4_6) {
  BrokerConfig config;
  config.allow_anonymous = false;
  Net net(config);
  auto id = net.open(Version::v5);
  auto connect = mqtt::encode_to_string(mqtt::Packet(make_connect(Version::v5, "x")), Version::v5).value;
  auto publish = mqtt::encode_to_string(mqtt::Packet(make_publish("t", "x", 1, 1)), Version::v5).value;
  net.send_raw(id, connect + publish);  // both in one read
  auto packets = net.take(id);
  ASSERT_EQ(packets.size(), 1u);  // the refusing CONNACK only, no PUBACK
  EXPECT_EQ(std::get<mqtt::Connack>(packets[0]).reason_code, 0x87);
  net.send_raw(id, publish);
  EXPECT_TRUE(net.take(id).empty());
  EXPECT_EQ(net.engine.connection_count(), 0u);
}

TEST(BrokerConnect, v311_data_after_a_refused_connect_is_ignored_MQTT_3_1_4_5_v311) {
  BrokerConfig config;
  config.allow_anonymous = false;
  Net net(config);
  auto id = net.open(Version::v3_1_1);
  auto connect = mqtt::encode_to_string(mqtt::Packet(make_connect(Version::v3_1_1, "x")), Version::v3_1_1).value;
  auto publish = mqtt::encode_to_string(mqtt::Packet(make_publish("t", "x", 1, 1)), Version::v3_1_1).value;
  net.send_raw(id, connect + publish);
  EXPECT_EQ(net.peers[id].bytes, hex_to_bytes("20 02 00 05"));
}

TEST_P(BothVersions, client_ids_of_23_letters_and_digits_are_accepted_MQTT_3_1_3_5) {
  Net net;
  net.connect(GetParam(), "abcdefghijklmnopqrstuVW");
  net.connect(GetParam(), "0123456789");
  EXPECT_EQ(net.engine.session_count(), 2u);
}

TEST(BrokerConnect, v311_connack_is_the_first_packet_and_accepts_with_code_0_MQTT_3_2_0_1_v311) {
  Net net;
  auto pub = net.connect(Version::v3_1_1, "pub");
  auto id = net.open(Version::v3_1_1);
  auto c = mqtt::encode_to_string(mqtt::Packet(make_connect(Version::v3_1_1, "sub", false)), Version::v3_1_1).value;
  auto s = mqtt::encode_to_string(mqtt::Packet(make_subscribe(1, "t", 0)), Version::v3_1_1).value;
  net.send_raw(id, c + s);
  net.send(pub, make_publish("t", "x"));
  auto packets = net.take(id);
  ASSERT_EQ(packets.size(), 3u);
  ASSERT_TRUE(std::holds_alternative<mqtt::Connack>(packets[0]));
  EXPECT_EQ(std::get<mqtt::Connack>(packets[0]).reason_code, 0);  // 3.1.1: MQTT-3.1.4-4
  EXPECT_TRUE(std::holds_alternative<mqtt::Suback>(packets[1]));
}

TEST(BrokerConnect, without_server_keep_alive_the_client_keep_alive_applies_MQTT_3_2_2_22) {
  Net net;
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, "k", true, 4));
  EXPECT_FALSE(net.take_one<mqtt::Connack>(id).properties.find(PropertyId::server_keep_alive).has_value());
  net.advance(5'999);
  EXPECT_FALSE(net.closed(id));
  net.advance(1);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, maximum_qos_0_still_accepts_subscribe_at_qos_2_MQTT_3_2_2_10) {
  BrokerConfig config;
  config.maximum_qos = 0;
  Net net(config);
  auto id = net.connect(Version::v5, "q");
  net.send(id, make_subscribe(1, "t", 2));
  EXPECT_EQ(net.take_one<mqtt::Suback>(id).reason_codes, (std::vector<std::uint8_t>{0x00}));
}

TEST_P(BothVersions, unsubscribe_lets_in_flight_deliveries_complete_MQTT_3_10_4_3) {
  Net net;
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "u", 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("u", "x", 2, 1));
  auto got = net.take_one<mqtt::Publish>(sub);
  mqtt::Unsubscribe u;
  u.packet_id = 2;
  u.filters = {"u"};
  net.send(sub, u);
  net.take(sub);
  net.send(sub, mqtt::Pubrec{got.packet_id, 0, {}});
  EXPECT_EQ(net.take_one<mqtt::Pubrel>(sub).packet_id, got.packet_id);
  net.send(sub, mqtt::Pubcomp{got.packet_id, 0, {}});
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 0u);
}

TEST_P(BothVersions, topics_are_matched_without_normalisation_MQTT_4_7_3_4) {
  Net net;
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "a/b", 0);
  auto pub = net.connect(GetParam(), "pub");
  for (const char* topic : {"A/b", "a//b", "a/b/", "/a/b", "a/b "}) net.send(pub, make_publish(topic, "no"));
  net.send(pub, make_publish("a/b", "yes"));
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"yes"}));
}

TEST_P(BothVersions, will_retain_0_is_published_non_retained_and_no_will_without_will_flag_MQTT_3_1_2_14) {
  Net net;
  auto watcher = net.connect(GetParam(), "watch");
  net.subscribe(watcher, "will/#", 0);
  auto plain = net.connect(GetParam(), "plain");
  net.lose(plain);  // no will flag: nothing is published
  EXPECT_TRUE(net.take(watcher).empty());
  auto dying = net.connect(GetParam(), "dying", true, {}, 0, make_will("will/x", "gone", false));
  net.lose(dying);
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
  EXPECT_EQ(net.engine.retained_count(), 0u);
}

TEST(BrokerWill, v311_will_retain_1_publishes_a_retained_will_MQTT_3_1_2_17_v311) {
  Net net;
  auto dying = net.connect(Version::v3_1_1, "dying", true, {}, 0, make_will("will/r", "gone", true));
  net.lose(dying);
  EXPECT_EQ(net.engine.retained_count(), 1u);
  auto sub = net.connect(Version::v3_1_1, "late");
  net.send(sub, make_subscribe(1, "will/#", 0));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].retain);
}

TEST(BrokerWill, will_properties_are_forwarded_with_user_property_order_MQTT_3_1_3_10) {
  Net net;
  auto watcher = net.connect(Version::v5, "watch");
  net.subscribe(watcher, "will/#", 0);
  auto will = make_will("will/p", "gone");
  will.properties.add_string(PropertyId::content_type, "text/plain");
  will.properties.add_user("z", "1");
  will.properties.add_user("a", "2");
  auto dying = net.connect(Version::v5, "dying", true, {}, 0, will);
  net.lose(dying);
  auto got = net.take_one<mqtt::Publish>(watcher);
  EXPECT_EQ(got.properties, will.properties);
}

TEST(BrokerWill, disconnect_with_an_error_code_still_publishes_the_will_MQTT_3_1_2_8) {
  Net net;
  auto watcher = net.connect(Version::v5, "watch");
  net.subscribe(watcher, "will/#", 0);
  auto leaving = net.connect(Version::v5, "leaving", true, {}, 0, make_will("will/x", "gone"));
  net.send(leaving, mqtt::Disconnect{0x80, {}});
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
}

TEST(BrokerAcl, v311_unauthorised_publish_is_acknowledged_and_dropped_MQTT_3_3_5_2_v311) {
  BrokerConfig config;
  config.acl.push_back(AclRule{"*", "*", {"ok/#"}, {"#"}});
  Net net(config);
  auto sub = net.connect(Version::v3_1_1, "sub");
  net.subscribe(sub, "#", 1);
  auto pub = net.connect(Version::v3_1_1, "pub");
  net.send(pub, make_publish("secret", "x", 1, 3));
  EXPECT_EQ(net.peers[pub].bytes, hex_to_bytes("40 02 00 03"));
  EXPECT_TRUE(net.take(sub).empty());
}

TEST(BrokerSubscribe, v311_wildcard_filter_refused_when_wildcards_are_unavailable_MQTT_3_8_3_2_v311) {
  BrokerConfig config;
  config.wildcard_subscription_available = false;
  Net net(config);
  auto sub = net.connect(Version::v3_1_1, "sub");
  mqtt::Subscribe s;
  s.packet_id = 5;
  s.subscriptions = {{"a/+", {1, false, false, 0}}, {"a/b", {1, false, false, 0}}};
  net.send(sub, s);
  // 90 | remaining 4 | packet id 5 | 0x80 failure, QoS 1 granted
  // (3.1.1: MQTT-3.8.4-1) (3.1.1: MQTT-3.8.4-2) (3.1.1: MQTT-3.8.4-5)
  EXPECT_EQ(net.peers[sub].bytes, hex_to_bytes("90 04 00 05 80 01"));
}

TEST(BrokerSubscribe, v311_retained_messages_outlive_the_session_MQTT_3_1_2_7_v311) {
  Net net;
  auto pub = net.connect(Version::v3_1_1, "pub");
  net.send(pub, make_publish("keep", "x", 0, 0, true));
  net.send(pub, make_publish("keep", "y", 0, 0, true));  // replaces (3.1.1: MQTT-3.3.1-7)
  net.lose(pub);
  EXPECT_FALSE(net.engine.session("pub").has_value());
  EXPECT_EQ(net.engine.retained_count(), 1u);
  auto sub = net.connect(Version::v3_1_1, "sub");
  net.send(sub, make_subscribe(1, "keep", 0));
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"y"}));
}

TEST(BrokerPublish, request_problem_information_0_gets_no_reason_string_on_acks_MQTT_3_1_2_29) {
  BrokerConfig config;
  config.acl.push_back(AclRule{"*", "*", {}, {}});
  Net net(config);
  auto pub = net.connect(Version::v5, "pub", true, props({{PropertyId::request_problem_information, 0}}));
  net.send(pub, make_publish("t", "x", 1, 1));
  net.send(pub, make_subscribe(2, "t", 0));
  for (auto& packet : net.take(pub)) {
    std::visit([](const auto& p) {
      if constexpr (requires { p.properties.find(PropertyId::reason_string); }) {
        EXPECT_FALSE(p.properties.find(PropertyId::reason_string).has_value());
        EXPECT_FALSE(p.properties.find(PropertyId::user_property).has_value());
      }
    }, packet);
  }
}

TEST(BrokerPublish, disconnect_reason_string_is_left_out_when_it_would_exceed_the_client_maximum_MQTT_3_14_2_3) {
  Net net;
  auto id = net.connect(Version::v5, "small", true, props({{PropertyId::maximum_packet_size, 30}}));
  net.send(id, mqtt::Pingresp{});  // protocol error: DISCONNECT 0x82 with a long reason string
  auto d = net.take_one<mqtt::Disconnect>(id);
  EXPECT_EQ(d.reason_code, 0x82);
  EXPECT_FALSE(d.properties.find(PropertyId::reason_string).has_value());
}

TEST(BrokerPublish, qos1_packet_id_reused_after_puback_is_a_new_message_MQTT_4_3_2_5) {
  Net net;
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "n", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("n", "first", 1, 8));
  auto again = make_publish("n", "second", 1, 8);
  again.dup = true;
  net.send(pub, again);
  EXPECT_EQ(net.take_all<mqtt::Puback>(pub).size(), 2u);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"first", "second"}));
}

TEST(BrokerPublish, qos2_packet_id_reused_after_an_error_pubrec_is_a_new_message_MQTT_4_3_3_9) {
  BrokerConfig config;
  config.acl.push_back(AclRule{"*", "*", {"ok/#"}, {"#"}});
  Net net(config);
  auto sub = net.connect(Version::v5, "sub");
  net.subscribe(sub, "#", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("secret", "no", 2, 4));
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).reason_code, 0x87);
  net.send(pub, make_publish("ok/x", "yes", 2, 4));
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).reason_code, 0x00);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"yes"}));
}

TEST(BrokerPublish, qos2_message_already_sent_is_not_expired_MQTT_4_3_3_7) {
  Net net;
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 600}});
  auto sub = net.connect(Version::v5, "sub", false, p);
  net.subscribe(sub, "x", 2);
  auto pub = net.connect(Version::v5, "pub");
  auto msg = make_publish("x", "short-lived", 2, 1);
  msg.properties.add_number(PropertyId::message_expiry_interval, 1);
  net.send(pub, msg);
  auto got = net.take_one<mqtt::Publish>(sub);
  net.lose(sub);
  net.advance(10'000);
  sub = net.connect(Version::v5, "sub", false, p);
  auto resent = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_TRUE(resent[0].dup);
  EXPECT_EQ(resent[0].packet_id, got.packet_id);
}

TEST(BrokerPublish, qos2_exchange_completes_after_the_message_expired_MQTT_4_3_3_13) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  auto msg = make_publish("x", "short-lived", 2, 6);
  msg.properties.add_number(PropertyId::message_expiry_interval, 1);
  net.send(pub, msg);
  net.take(pub);
  net.advance(5'000);
  net.send(pub, mqtt::Pubrel{6, 0, {}});
  auto comp = net.take_one<mqtt::Pubcomp>(pub);
  EXPECT_EQ(comp.packet_id, 6);
  EXPECT_EQ(comp.reason_code, 0);
}

TEST(BrokerConnect, connack_is_the_first_packet_sent_MQTT_3_2_0_1) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  auto id = net.open(Version::v5);
  auto c = mqtt::encode_to_string(mqtt::Packet(make_connect(Version::v5, "sub")), Version::v5).value;
  auto s = mqtt::encode_to_string(mqtt::Packet(make_subscribe(1, "t", 0)), Version::v5).value;
  net.send_raw(id, c + s);
  net.send(pub, make_publish("t", "x"));
  auto packets = net.take(id);
  ASSERT_EQ(packets.size(), 3u);
  ASSERT_TRUE(std::holds_alternative<mqtt::Connack>(packets[0]));
  EXPECT_EQ(std::get<mqtt::Connack>(packets[0]).reason_code, 0);
}

TEST(BrokerConnect, v311_malformed_connect_is_closed_without_connack_MQTT_3_2_2_6_v311) {
  Net net;
  auto id = net.open(Version::v3_1_1);
  // 3.1.1 CONNECT with the reserved flag set (3.1.1: MQTT-3.1.2-3).
  net.send_raw(id, hex_to_bytes("10 0d 00 04 4d 51 54 54 04 03 00 00 00 01 61"));
  EXPECT_TRUE(net.closed(id));
  EXPECT_TRUE(net.peers[id].bytes.empty());
}

TEST(BrokerConnect, v311_session_is_kept_while_connected_MQTT_4_1_0_2_v311) {
  Net net;
  auto id = net.connect(Version::v3_1_1, "live", true);
  net.advance(3'600'000);
  EXPECT_TRUE(net.engine.session("live").has_value());
  net.lose(id);
  EXPECT_FALSE(net.engine.session("live").has_value());  // clean session ends with the connection
}

TEST(BrokerSubscribe, shared_qos2_delivery_is_completed_when_the_member_reconnects_MQTT_4_8_2_4) {
  Net net;
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 60}});
  auto a = net.connect(Version::v5, "a", false, p);
  net.subscribe(a, "$share/g/s", 2);
  auto b = net.connect(Version::v5, "b", false, p);
  net.subscribe(b, "$share/g/s", 2);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("s", "m", 2, 1));
  auto got = net.take_one<mqtt::Publish>(a);
  net.lose(a);
  a = net.connect(Version::v5, "a", false, p);
  auto resent = net.take_all<mqtt::Publish>(a);
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(resent[0].packet_id, got.packet_id);
  EXPECT_TRUE(net.take_all<mqtt::Publish>(b).empty());
}

TEST(BrokerSubscribe, shared_delivery_is_not_moved_to_another_member_when_the_session_ends_MQTT_4_8_2_5) {
  Net net;
  auto a = net.connect(Version::v5, "a", false, props({{PropertyId::session_expiry_interval, 1}}));
  net.subscribe(a, "$share/g/s", 1);
  auto b = net.connect(Version::v5, "b");
  net.subscribe(b, "$share/g/s", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("s", "m", 1, 1));
  EXPECT_EQ(net.take_all<mqtt::Publish>(a).size(), 1u);
  net.lose(a);
  net.advance(2'000);
  EXPECT_FALSE(net.engine.session("a").has_value());
  EXPECT_TRUE(net.take_all<mqtt::Publish>(b).empty());
}

TEST(BrokerSubscribe, shared_delivery_refused_with_an_error_ack_is_discarded_MQTT_4_8_2_6) {
  Net net;
  auto a = net.connect(Version::v5, "a");
  net.subscribe(a, "$share/g/s", 1);
  auto b = net.connect(Version::v5, "b");
  net.subscribe(b, "$share/g/s", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("s", "m", 1, 1));
  auto got = net.take_one<mqtt::Publish>(a);
  net.send(a, mqtt::Puback{got.packet_id, 0x80, {}});
  EXPECT_EQ(net.engine.session("a")->inflight_out, 0u);
  EXPECT_TRUE(net.take_all<mqtt::Publish>(b).empty());
  EXPECT_TRUE(net.take_all<mqtt::Publish>(a).empty());
}

// ======================================================================================
// Robustness: seeded random sessions (the libFuzzer target explores further)

namespace {

class RandomClient {
 public:
  explicit RandomClient(std::uint32_t seed) : rng_(seed) {}
  std::uint32_t next(std::uint32_t bound) { return bound ? static_cast<std::uint32_t>(rng_() % bound) : 0; }

  std::string topic() {
    static const char* topics[] = {"a", "a/b", "a/b/c", "$SYS/x", "t/1", "t/2", "x/y/z"};
    return topics[next(7)];
  }
  std::string filter() {
    static const char* filters[] = {"#", "a/#", "+/b", "a/+/c", "$SYS/#", "t/+", "$share/g/t/#", "$share/h/#", "x/y/z"};
    return filters[next(9)];
  }
  // A valid-looking packet for `version`, sometimes with bytes flipped or cut.
  std::string packet(Version version, std::uint16_t& packet_id) {
    mqtt::Packet p;
    switch (next(12)) {
      case 0: {
        auto c = make_connect(version, next(3) ? "r" + std::to_string(next(5)) : "", next(2) == 0, static_cast<std::uint16_t>(next(3)));
        if (next(3) == 0) c.will = mqtt::Will{topic(), "w", static_cast<std::uint8_t>(next(3)), next(2) == 0, {}};
        if (version == Version::v5 && next(2)) c.properties.add_number(PropertyId::session_expiry_interval, next(100));
        if (version == Version::v5 && next(3) == 0) c.properties.add_number(PropertyId::receive_maximum, 1 + next(3));
        if (version == Version::v5 && next(4) == 0) c.properties.add_number(PropertyId::maximum_packet_size, 20 + next(60));
        p = c;
        break;
      }
      case 1: case 2: case 3: {
        auto qos = static_cast<std::uint8_t>(next(3));
        auto pub = make_publish(topic(), std::string(next(40), 'p'), qos, qos ? ++packet_id : 0, next(4) == 0);
        if (version == Version::v5 && next(3) == 0) pub.properties.add_number(PropertyId::message_expiry_interval, next(5));
        if (version == Version::v5 && next(4) == 0) pub.properties.add_number(PropertyId::topic_alias, 1 + next(12));
        if (version == Version::v5 && next(5) == 0) pub.properties.add_user("k", "v");
        p = pub;
        break;
      }
      case 4: {
        auto s = make_subscribe(++packet_id, filter(), static_cast<std::uint8_t>(next(3)), static_cast<std::uint8_t>(next(3)));
        if (version == Version::v5) s.subscriptions[0].options.no_local = next(4) == 0;
        if (version == Version::v5 && next(3) == 0) s.properties.add_number(PropertyId::subscription_identifier, 1 + next(9));
        p = s;
        break;
      }
      case 5: {
        mqtt::Unsubscribe u;
        u.packet_id = ++packet_id;
        u.filters = {filter()};
        p = u;
        break;
      }
      case 6: p = mqtt::Puback{static_cast<std::uint16_t>(1 + next(8)), 0, {}}; break;
      case 7: p = mqtt::Pubrec{static_cast<std::uint16_t>(1 + next(8)), static_cast<std::uint8_t>(next(2) ? 0 : 0x80), {}}; break;
      case 8: p = mqtt::Pubrel{static_cast<std::uint16_t>(1 + next(8)), 0, {}}; break;
      case 9: p = mqtt::Pubcomp{static_cast<std::uint16_t>(1 + next(8)), 0, {}}; break;
      case 10: p = mqtt::Pingreq{}; break;
      default: p = mqtt::Disconnect{static_cast<std::uint8_t>(next(2) ? 0 : 4), {}}; break;
    }
    auto encoded = mqtt::encode_to_string(p, version);
    std::string bytes = encoded.ok() ? encoded.value : std::string();
    if (!bytes.empty() && next(10) == 0) bytes[next(static_cast<std::uint32_t>(bytes.size()))] ^= static_cast<char>(1 + next(255));
    if (!bytes.empty() && next(15) == 0) bytes.resize(next(static_cast<std::uint32_t>(bytes.size())));
    return bytes;
  }

 private:
  std::mt19937 rng_;
};

// Every output frames and decodes as a packet of 3.1.1 or 5.0 (which one the engine
// chose depends on the CONNECT it saw, possibly a mutated one).
void expect_valid_output(const std::string& bytes) {
  std::string_view rest = bytes;
  while (!rest.empty()) {
    auto frame = mqtt::peek_frame(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size()));
    ASSERT_EQ(frame.status, mqtt::FrameInfo::Status::complete);
    auto packet = rest.substr(0, frame.size);
    mqtt::DecodeOptions v5, v311;
    v311.version = Version::v3_1_1;
    bool ok = mqtt::decode(packet, v5).ok() || mqtt::decode(packet, v311).ok();
    ASSERT_TRUE(ok) << "engine output does not decode";
    rest.remove_prefix(frame.size);
  }
}

// Small limits, so random events reach every "full" branch (the robustness and clone tests).
BrokerConfig small_limits() {
  BrokerConfig config;
  config.max_connections = 4;
  config.max_sessions = 6;
  config.max_inflight = 3;
  config.max_queued_messages = 5;
  config.max_subscriptions_per_client = 3;
  config.max_retained_messages = 3;
  config.receive_maximum = 3;
  config.max_topic_alias = 4;
  config.maximum_packet_size = 200;
  config.track_deliveries = true;
  return config;
}

}  // namespace

TEST(BrokerRobustness, seeded_random_sessions_keep_invariants_and_emit_valid_packets) {
  for (std::uint32_t seed = 1; seed <= 60; ++seed) {
    BrokerEngine engine(small_limits());
    RandomClient rnd(seed);
    std::uint64_t now = 0;
    std::vector<std::pair<ConnectionId, Version>> open;
    std::uint16_t packet_id = 0;
    for (int step = 0; step < 400; ++step) {
      auto action = rnd.next(20);
      if (action == 0 || open.empty()) {
        open.emplace_back(engine.open(now), rnd.next(2) ? Version::v5 : Version::v3_1_1);
      } else if (action == 1) {
        auto i = rnd.next(static_cast<std::uint32_t>(open.size()));
        engine.closed(open[i].first, now);
        open.erase(open.begin() + i);
      } else if (action == 2) {
        now += rnd.next(20'000);
        engine.advance(now);
      } else {
        auto& [id, version] = open[rnd.next(static_cast<std::uint32_t>(open.size()))];
        std::string bytes = rnd.packet(version, packet_id);
        // Deliver in two chunks to exercise the framer.
        auto cut = rnd.next(static_cast<std::uint32_t>(bytes.size() + 1));
        engine.receive(id, std::string_view(bytes).substr(0, cut), now);
        engine.receive(id, std::string_view(bytes).substr(cut), now);
      }
      for (auto& out : engine.take_output()) {
        expect_valid_output(out.bytes);
        if (out.close)
          open.erase(std::remove_if(open.begin(), open.end(), [&](auto& c) { return c.first == out.connection; }), open.end());
      }
      auto broken = engine.check_invariants();
      ASSERT_FALSE(broken.has_value()) << "seed " << seed << " step " << step << ": " << *broken;
    }
  }
}

// ======================================================================================
// clone(): a deep, independent copy (the packet fuzz target starts every input from a
// clone of an engine prepared once)

namespace {

// Random events as in the robustness test, each applied alike to every engine given (all
// in the same state); returns, per engine, its output and a summary of its sessions.
class RandomEvents {
 public:
  explicit RandomEvents(std::uint32_t seed) : rnd_(seed) {}
  void reseed(std::uint32_t seed) { rnd_ = RandomClient(seed); }

  std::vector<std::string> step(std::initializer_list<BrokerEngine*> engines) {
    auto action = rnd_.next(20);
    if (action == 0 || open_.empty()) {
      auto version = rnd_.next(2) ? Version::v5 : Version::v3_1_1;
      ConnectionId id = 0;
      for (auto* e : engines) id = e->open(now_);
      open_.emplace_back(id, version);
    } else if (action == 1) {
      auto i = rnd_.next(static_cast<std::uint32_t>(open_.size()));
      for (auto* e : engines) e->closed(open_[i].first, now_);
      open_.erase(open_.begin() + i);
    } else if (action == 2) {
      now_ += rnd_.next(20'000);
      for (auto* e : engines) e->advance(now_);
    } else {
      auto& [id, version] = open_[rnd_.next(static_cast<std::uint32_t>(open_.size()))];
      std::string bytes = rnd_.packet(version, packet_id_);
      auto cut = rnd_.next(static_cast<std::uint32_t>(bytes.size() + 1));
      for (auto* e : engines) {
        e->receive(id, std::string_view(bytes).substr(0, cut), now_);
        e->receive(id, std::string_view(bytes).substr(cut), now_);
      }
    }
    std::vector<std::string> seen;
    bool first = true;
    for (auto* e : engines) {
      std::string s;
      for (auto& out : e->take_output()) {
        s += std::to_string(out.connection) + (out.close ? " close " : " ") + out.bytes + "\n";
        if (first && out.close)
          open_.erase(std::remove_if(open_.begin(), open_.end(), [&](auto& c) { return c.first == out.connection; }),
                      open_.end());
      }
      for (const auto& info : e->sessions())
        s += info.client_id + " " + std::to_string(info.connected) + " " + std::to_string(info.subscriptions) + " " +
             std::to_string(info.inflight_out) + " " + std::to_string(info.queued) + " " +
             std::to_string(info.inbound_qos2_pending) + " " + std::to_string(info.will_pending) + "\n";
      s += "retained " + std::to_string(e->retained_count()) + " deadline " +
           std::to_string(e->next_deadline().value_or(0)) + "\n";
      auto broken = e->check_invariants();
      if (broken) s += "BROKEN " + *broken;
      seen.push_back(std::move(s));
      first = false;
    }
    return seen;
  }

 private:
  RandomClient rnd_;
  std::uint64_t now_ = 0;
  std::uint16_t packet_id_ = 0;
  std::vector<std::pair<ConnectionId, Version>> open_;
};

}  // namespace

TEST(BrokerClone, clone_answers_every_later_event_exactly_as_the_original) {
  for (std::uint32_t seed = 1; seed <= 30; ++seed) {
    BrokerEngine original(small_limits());
    RandomEvents events(seed);
    for (int i = 0; i < 150; ++i) events.step({&original});
    BrokerEngine copy = original.clone();
    for (int i = 0; i < 250; ++i) {
      auto seen = events.step({&original, &copy});
      ASSERT_EQ(seen[0], seen[1]) << "seed " << seed << " step " << i;
      ASSERT_EQ(seen[0].find("BROKEN"), std::string::npos) << seen[0];
    }
  }
}

TEST(BrokerClone, clone_and_original_do_not_see_each_others_events) {
  // Four engines brought to the same state; then the clone and the original each get their
  // own event stream, and must answer exactly like an untouched engine given that stream.
  for (std::uint32_t seed = 1; seed <= 30; ++seed) {
    BrokerEngine original(small_limits()), like_original(small_limits()), like_copy(small_limits());
    RandomEvents setup(seed);
    for (int i = 0; i < 150; ++i) setup.step({&original, &like_original, &like_copy});
    BrokerEngine copy = original.clone();
    // Both streams go on from the setup's open connections, clock and packet ids, with
    // different random choices.
    RandomEvents to_original = setup, to_copy = setup;
    to_copy.reseed(1000 + seed);
    to_original.reseed(2000 + seed);
    for (int i = 0; i < 250; ++i) {
      auto a = to_copy.step({&copy, &like_copy});
      ASSERT_EQ(a[0], a[1]) << "clone, seed " << seed << " step " << i;
      auto b = to_original.step({&original, &like_original});
      ASSERT_EQ(b[0], b[1]) << "original, seed " << seed << " step " << i;
    }
  }
}

TEST(BrokerClone, will_published_by_the_clone_keeps_its_own_expiry_MQTT_3_3_2_6) {
  // The stored will is completed at publication (its Message Expiry counts from then): a
  // clone publishing it must not change the original's, and the other way round.
  Net original;
  ConnectionId b = original.connect(Version::v5, "b", true, props({{PropertyId::session_expiry_interval, 600}}));
  original.subscribe(b, "w/#", 1);
  original.lose(b);
  mqtt::Will will;
  will.topic = "w/a";
  will.payload = "gone";
  will.qos = 1;
  will.properties.add_number(PropertyId::message_expiry_interval, 30);
  ConnectionId a = original.connect(Version::v5, "a", true, {}, 0, will);

  Net copy;
  copy.engine = original.engine.clone();
  copy.peers = original.peers;
  copy.now = original.now;

  copy.lose(a);              // the clone publishes the will now: expires 30 s from now
  original.now += 20'000;
  original.lose(a);          // the original 20 s later: expires 30 s from then
  copy.now += 25'000;
  original.now += 5'000;     // both clocks at clone time + 25 s
  auto expiry_after_reconnect = [](Net& net) -> std::uint32_t {
    ConnectionId id = net.connect(Version::v5, "b", false, props({{PropertyId::session_expiry_interval, 600}}));
    auto publishes = net.take_all<mqtt::Publish>(id);
    if (publishes.size() != 1) {
      ADD_FAILURE() << publishes.size() << " PUBLISHes, expected the will";
      return 0;
    }
    EXPECT_EQ(publishes[0].payload, "gone");
    auto e = publishes[0].properties.find(PropertyId::message_expiry_interval);
    return e ? e->number : 0;
  };
  EXPECT_EQ(expiry_after_reconnect(copy), 5u);       // 30 - 25 s waited [MQTT-3.3.2-6]
  EXPECT_EQ(expiry_after_reconnect(original), 25u);  // 30 - 5 s waited
}
