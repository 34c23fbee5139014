// Shared by the BrokerEngine unit tests (one file per engine concern): simulated clients
// speak to the engine through the codec, with simulated time. Each test is named after
// the behaviour and the normative statement it checks (5.0 ids unless the name says
// v311; the same id means different things in 3.1.1 and 5.0). Expected values come from
// the spec text, not from the engine.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mqtth/engine/BrokerEngine.hpp"

namespace mqtth::engine::test {

using mqtt::PropertyId;
using mqtt::Version;

inline std::string hex_to_bytes(std::string_view hex) {
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

inline mqtt::Connect make_connect(Version v, std::string client_id, bool clean = true, std::uint16_t keep_alive = 0) {
  mqtt::Connect c;
  c.protocol_name = v == Version::v3_1 ? "MQIsdp" : "MQTT";
  c.protocol_version = v;
  c.clean_start = clean;
  c.keep_alive = keep_alive;
  c.client_id = std::move(client_id);
  return c;
}

inline mqtt::Publish make_publish(std::string topic, std::string payload, std::uint8_t qos = 0, std::uint16_t id = 0,
                                  bool retain = false) {
  mqtt::Publish p;
  p.topic = std::move(topic);
  p.payload = std::move(payload);
  p.qos = qos;
  p.packet_id = qos ? id : 0;
  p.retain = retain;
  return p;
}

inline mqtt::Subscribe make_subscribe(std::uint16_t id, std::string filter, std::uint8_t qos, std::uint8_t retain_handling = 0) {
  mqtt::Subscribe s;
  s.packet_id = id;
  mqtt::Subscription sub;
  sub.filter = std::move(filter);
  sub.options.qos = qos;
  sub.options.retain_handling = retain_handling;
  s.subscriptions.push_back(sub);
  return s;
}

// A 5.0 SUBSCRIBE of one filter carrying a Subscription Identifier.
inline mqtt::Subscribe make_subscribe_with_id(std::uint16_t packet_id, std::string filter, std::uint8_t qos,
                                              std::uint32_t subscription_id) {
  mqtt::Subscribe s = make_subscribe(packet_id, std::move(filter), qos);
  s.properties.add_number(PropertyId::subscription_identifier, subscription_id);
  return s;
}

// The Subscription Identifiers a PUBLISH carries, in order.
inline std::vector<std::uint32_t> subscription_ids(const mqtt::Publish& p) {
  std::vector<std::uint32_t> ids;
  for (const auto& prop : p.properties)
    if (prop.id == PropertyId::subscription_identifier) ids.push_back(prop.number);
  return ids;
}

// The bytes of `packet` in `version` (tests that send several packets in one read, or
// one packet in pieces, start from these).
inline std::string encoded(const mqtt::Packet& packet, Version version) {
  auto bytes = mqtt::encode_to_string(packet, version);
  EXPECT_TRUE(bytes.ok()) << mqtt::to_string(bytes.error.code);
  return bytes.value;
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
  void send(ConnectionId id, const mqtt::Packet& packet) { send_raw(id, encoded(packet, peers[id].version)); }
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

  // Connects `client_id` (clean start, no properties) and subscribes it to `filter`.
  ConnectionId subscriber(Version v, std::string client_id, std::string filter, std::uint8_t qos) {
    ConnectionId id = connect(v, std::move(client_id));
    subscribe(id, std::move(filter), qos);
    return id;
  }
};

// An ACL rule: patterns for client id and user name, then allow and deny filter lists.
inline AclRule acl_rule(std::string client_id, std::string username, std::vector<std::string> publish,
                        std::vector<std::string> subscribe, std::vector<std::string> deny_publish = {},
                        std::vector<std::string> deny_subscribe = {}) {
  AclRule rule;
  rule.client_id = std::move(client_id);
  rule.username = std::move(username);
  rule.publish = std::move(publish);
  rule.subscribe = std::move(subscribe);
  rule.deny_publish = std::move(deny_publish);
  rule.deny_subscribe = std::move(deny_subscribe);
  return rule;
}

inline mqtt::Properties props(std::initializer_list<std::pair<PropertyId, std::uint32_t>> numbers) {
  mqtt::Properties p;
  for (auto [id, v] : numbers) p.add_number(id, v);
  return p;
}

// CONNECT properties that keep the session after its connection for `seconds`: a 5.0
// Session Expiry Interval; 3.1.1 has none (there clean session 0 alone keeps it).
inline mqtt::Properties session_expiry(Version v, std::uint32_t seconds) {
  return v == Version::v5 ? props({{PropertyId::session_expiry_interval, seconds}}) : mqtt::Properties{};
}

inline std::vector<std::string> payloads(const std::vector<mqtt::Publish>& publishes) {
  std::vector<std::string> out;
  for (auto& p : publishes) out.push_back(p.payload);
  return out;
}

// TEST_P(BothVersions, ...) runs once with 3.1.1 and once with 5.0: the suite is
// instantiated once for all files, in broker_test_util.cpp.
class BothVersions : public ::testing::TestWithParam<Version> {};

}  // namespace mqtth::engine::test

// The tests' vocabulary (this header is included only by the engine's test files).
using namespace mqtth::engine;
using namespace mqtth::engine::test;
using mqtt::PropertyId;
using mqtt::Version;
