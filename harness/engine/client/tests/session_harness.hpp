// Shared by the ClientSession tests: broker bytes from hex, the client's output decoded, and
// a Harness (a session plus the events seen so far) driven with simulated time.
#pragma once

#include <mqtth/client/ClientSession.hpp>
#include <mqtt/hex.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace mqtth::client::testing {

// "20 02 00 00" -> bytes (mqtt/hex.hpp); a typo in a test's hex fails the test.
inline std::string hex(std::string_view text) {
  auto bytes = mqtt::parse_hex(text);
  EXPECT_TRUE(bytes) << "not hex: " << text;
  return bytes.value_or("");
}

// Bytes -> "20 02 00 00", the way the tests write expected output.
inline std::string to_hex(std::string_view bytes) { return mqtt::to_hex(bytes, " "); }

// Decodes the client's output into owned packets (fails the test on undecodable output).
inline std::vector<mqtt::Packet> packets_of(const std::string& bytes, mqtt::Version version) {
  std::vector<mqtt::Packet> out;
  mqtt::Framer framer;
  framer.feed(bytes);
  for (;;) {
    const auto frame = framer.next();
    if (frame.status != mqtt::FrameInfo::Status::complete) {
      EXPECT_NE(frame.status, mqtt::FrameInfo::Status::error) << "client wrote unframeable bytes";
      break;
    }
    const auto d = mqtt::decode(frame.packet, mqtt::DecodeOptions{version == mqtt::Version::v3_1 ? mqtt::Version::v3_1_1 : version});
    EXPECT_TRUE(d.ok()) << "client wrote an undecodable packet: " << d.error.message;
    if (d.ok()) out.push_back(mqtt::to_owned(d.value));
  }
  return out;
}

template <class E>
std::vector<E> events_of(const std::vector<Event>& events) {
  std::vector<E> out;
  for (const auto& e : events) {
    if (const auto* p = std::get_if<E>(&e)) out.push_back(*p);
  }
  return out;
}

// A session plus the bookkeeping every test needs.
struct Harness {
  explicit Harness(mqtt::Version v = mqtt::Version::v3_1_1, SessionConfig config = {}) : session(config), version(v) {}

  ClientSession session;
  mqtt::Version version;
  TimeMs now = 0;
  std::vector<Event> events;  // everything seen so far

  ConnectOptions options(bool clean = true) const {
    ConnectOptions o;
    o.version = version;
    o.client_id = "c1";
    o.clean_start = clean;
    o.keep_alive = 0;
    return o;
  }
  void connect(ConnectOptions o) {
    session.connect(o, now);
    output();
  }
  // Connect and accept with a plain CONNACK.
  void connected(bool clean = true, bool session_present = false) {
    connect(options(clean));
    feed(connack(session_present));
    ASSERT_EQ(session.state(), SessionState::connected);
  }
  std::string connack(bool session_present = false, std::string_view v5_properties_hex = "") const {
    if (version == mqtt::Version::v5) {
      const std::string props = hex(v5_properties_hex);
      std::string p = hex("20");
      p.push_back(static_cast<char>(3 + props.size()));
      p.push_back(session_present ? 1 : 0);
      p.push_back(0);
      p.push_back(static_cast<char>(props.size()));
      return p + props;
    }
    return hex(session_present ? "20 02 01 00" : "20 02 00 00");
  }
  void feed(const std::string& bytes) {
    session.receive(bytes, now);
    collect();
  }
  std::string output() {
    std::string out = session.take_output();
    collect();
    return out;
  }
  std::vector<mqtt::Packet> sent() { return packets_of(output(), version); }
  void collect() {
    for (auto& e : session.take_events()) events.push_back(std::move(e));
  }
  template <class E>
  std::vector<E> take() {
    collect();
    auto out = events_of<E>(events);
    return out;
  }
  std::vector<event::BrokerViolation> violations() { return take<event::BrokerViolation>(); }
  void clear() {
    collect();
    events.clear();
  }
  CommandResult publish(std::string topic, std::string payload, std::uint8_t qos, std::uint16_t alias = 0) {
    PublishRequest r;
    r.topic = std::move(topic);
    r.payload = std::move(payload);
    r.qos = qos;
    r.topic_alias = alias;
    return session.publish(std::move(r), now);
  }
};

inline const mqtt::Publish& as_publish(const mqtt::Packet& p) { return std::get<mqtt::Publish>(p); }

}  // namespace mqtth::client::testing
