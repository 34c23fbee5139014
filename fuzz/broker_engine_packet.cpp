// One client's byte stream into the sans-I/O broker (harness/engine BrokerEngine), after
// one accepted CONNECT: the counterpart of mosquitto's broker read/handle fuzz target
// (fuzzing/broker: a client context in a fuzzer-chosen state and protocol, then one packet
// into handle__packet), for comparing exec/s like with like. The event-script target
// (broker_engine.cpp) drives several connections, time and closes; this one only feeds
// bytes, so each input is cheap and the fuzzer mutates packets directly.
//
// Input: data[0] chooses the connection's state before the stream:
//   bits 0-1: 0 = no CONNECT yet (the stream's first packet must be one), 1 = a 3.1.1
//             CONNECT was accepted, 2 = 5.0, 3 = 3.1;
//   bit 2:    the 5.0 CONNECT carries Receive Maximum 2, Maximum Packet Size 96 and Topic
//             Alias Maximum 2 (outbound aliases, packets dropped as too large);
//   bit 3:    the CONNECT carries a QoS 1 will on "w" (published if the stream breaks
//             the connection).
// data[1..]: the client's bytes, in one receive().
// Each of the 16 states is prepared once (engine constructed, connection opened, setup
// CONNECT received and its CONNACK checked) and every input starts from a clone() of it:
// the same state as replaying the CONNECT per input (BrokerClone unit tests), without
// its cost or its coverage edges on every execution.
// After the stream: every byte the engine wrote frames and decodes in the connection's
// version as a packet a server may send, within the client's Maximum Packet Size; the
// engine's invariants (windows, queues, links, no QoS 2 message delivered twice) and the
// configured limits hold.
#include "broker_engine_checks.hpp"

#include <array>
#include <optional>
#include <string>

namespace {
using mqtth::engine::BrokerEngine;
using mqtth::fuzz::fail;

constexpr std::uint64_t kNow = 1000;

struct Setup {
  BrokerEngine engine{mqtth::fuzz::broker_fuzz_config()};  // connection opened, CONNECT accepted
  mqtth::engine::ConnectionId id = 0;
  std::optional<mqtt::Version> version;
  std::optional<std::uint32_t> client_max_packet;
};

Setup make_setup(unsigned selector) {
  Setup s;
  s.id = s.engine.open(kNow);
  const unsigned level = selector & 3;
  if (level == 0) return s;
  mqtt::Connect c;
  c.protocol_version = level == 1 ? mqtt::Version::v3_1_1 : level == 2 ? mqtt::Version::v5 : mqtt::Version::v3_1;
  c.protocol_name = c.protocol_version == mqtt::Version::v3_1 ? "MQIsdp" : "MQTT";
  c.client_id = "p";
  c.clean_start = true;
  if (c.protocol_version == mqtt::Version::v5 && (selector & 4)) {
    c.properties.add_number(mqtt::PropertyId::receive_maximum, 2);
    c.properties.add_number(mqtt::PropertyId::maximum_packet_size, 96);
    c.properties.add_number(mqtt::PropertyId::topic_alias_maximum, 2);
    s.client_max_packet = 96;
  }
  if (selector & 8) {
    mqtt::Will w;
    w.topic = "w";
    w.payload = "gone";
    w.qos = 1;
    c.will = std::move(w);
  }
  auto bytes = mqtt::encode_to_string(c, c.protocol_version);
  if (!bytes.ok()) fail("setup CONNECT does not encode");
  s.version = c.protocol_version;
  s.engine.receive(s.id, bytes.value, kNow);
  const auto accepted = s.engine.take_output();
  // CONNACK with return code / reason code 0 (its 4th byte: the body is short).
  if (accepted.size() != 1 || accepted[0].close || accepted[0].bytes.size() < 4 || accepted[0].bytes[0] != 0x20 ||
      accepted[0].bytes[3] != 0)
    fail("the setup CONNECT was not accepted");
  mqtth::fuzz::for_each_output_packet(accepted[0].bytes, [&](mqtt::Bytes packet) {
    mqtth::fuzz::check_server_packet(packet, s.version, s.client_max_packet);
  });
  mqtth::fuzz::check_engine_limits(s.engine);
  // The framer still holds the CONNECT it consumed until its next feed; an empty receive
  // drops those bytes (nothing else happens), so clones do not copy them.
  s.engine.receive(s.id, mqtt::Bytes(), kNow);
  return s;
}

const std::array<Setup, 16>& setups() {
  static const std::array<Setup, 16> all = [] {
    std::array<Setup, 16> a;
    for (unsigned i = 0; i < a.size(); ++i) a[i] = make_setup(i);
    return a;
  }();
  return all;
}

// Without a setup CONNECT the stream's first packet tells the version (and 5.0 limits).
void learn_from_stream(mqtt::Bytes stream, std::optional<mqtt::Version>& version,
                       std::optional<std::uint32_t>& client_max_packet) {
  const auto frame = mqtt::peek_frame(stream, mqtt::kMaxPacketSize);
  if (frame.status != mqtt::FrameInfo::Status::complete) return;
  const auto d = mqtt::decode(stream.first(frame.size), {.version = mqtt::Version::v5});
  const auto* c = d.ok() ? std::get_if<mqtt::ConnectView>(&d.value) : nullptr;
  if (!c) return;
  version = c->protocol_version;
  for (const auto& p : c->properties)
    if (p.id == mqtt::PropertyId::maximum_packet_size) client_max_packet = p.number;
}

void drain(BrokerEngine& engine, mqtth::engine::ConnectionId id, std::optional<mqtt::Version> version,
           std::optional<std::uint32_t> client_max_packet) {
  for (const auto& out : engine.take_output()) {
    if (out.connection != id) fail("engine wrote to a connection that was never opened");
    mqtth::fuzz::for_each_output_packet(out.bytes, [&](mqtt::Bytes packet) {
      version = mqtth::fuzz::check_server_packet(packet, version, client_max_packet).version;
    });
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const Setup& setup = setups()[data[0] & 15];
  const mqtt::Bytes stream(data + 1, size - 1);
  std::optional<mqtt::Version> version = setup.version;
  std::optional<std::uint32_t> client_max_packet = setup.client_max_packet;
  if (!version) learn_from_stream(stream, version, client_max_packet);

  BrokerEngine engine = setup.engine.clone();
  engine.receive(setup.id, stream, kNow);
  drain(engine, setup.id, version, client_max_packet);
  mqtth::fuzz::check_engine_limits(engine);
  return 0;
}
