// Checks shared by the two BrokerEngine targets (broker_engine: event scripts,
// broker_engine_packet: one client's byte stream after one accepted CONNECT).
#pragma once

#include "fuzz_common.hpp"

#include <mqtth/engine/BrokerEngine.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace mqtth::fuzz {

// Small limits, so the fuzzer reaches every "full" branch with few events.
inline engine::BrokerConfig broker_fuzz_config() {
  engine::BrokerConfig c;
  c.max_connections = 6;
  c.maximum_packet_size = 1024;
  c.receive_maximum = 4;
  c.max_inflight = 4;
  c.max_queued_messages = 8;
  c.max_sessions = 6;
  c.max_subscriptions_per_client = 6;
  c.max_retained_messages = 8;
  c.max_topic_alias = 4;
  c.connect_timeout_ms = 5000;
  c.track_deliveries = true;
  return c;
}

// Packet types a server may send (3.1.1 2.2.1 table 2.1, 5.0 2.1.2 table 2-1).
inline bool server_may_send(mqtt::PacketType t, mqtt::Version v) {
  using T = mqtt::PacketType;
  switch (t) {
    case T::connack: case T::publish: case T::puback: case T::pubrec: case T::pubrel:
    case T::pubcomp: case T::suback: case T::unsuback: case T::pingresp:
      return true;
    case T::disconnect: case T::auth:
      return v == mqtt::Version::v5;
    default:
      return false;
  }
}

// One packet the engine wrote to a connection: it decodes in the connection's version
// (or, before a CONNECT was understood, in some version), is a packet a server may send,
// and (5.0) fits the client's Maximum Packet Size [MQTT-3.1.2-24]. Returns the decoded
// view (pointing into `packet`) and the version it decoded with.
struct CheckedPacket {
  mqtt::PacketView view;
  mqtt::Version version;
};
inline CheckedPacket check_server_packet(mqtt::Bytes packet, std::optional<mqtt::Version> version,
                                         std::optional<std::uint32_t> client_max_packet) {
  mqtt::Result<mqtt::PacketView> d;
  if (version) {
    d = mqtt::decode(packet, {.version = *version});
  } else {
    for (auto v : {mqtt::Version::v5, mqtt::Version::v3_1_1}) {
      d = mqtt::decode(packet, {.version = v});
      if (d.ok()) { version = v; break; }
    }
  }
  if (!d.ok()) {
    std::fprintf(stderr, "engine wrote an undecodable packet: %s at offset %u\n",
                 std::string(mqtt::to_string(d.error.code)).c_str(), d.error.offset);
    fail("engine output does not decode");
  }
  volatile std::size_t sink = touch(d.value);
  (void)sink;
  if (!server_may_send(mqtt::packet_type(d.value), *version)) fail("engine sent a packet type a server may not send");
  if (client_max_packet && *version == mqtt::Version::v5 && packet.size() > *client_max_packet)
    fail("engine sent a packet above the client's Maximum Packet Size [MQTT-3.1.2-24]");
  return {std::move(d.value), *version};  // moved: a SUBACK's reason codes are not copied
}

// Splits one Output's bytes into packets. The engine writes whole packets (emit() encodes
// each into the connection's pending bytes), so an Output that ends inside a packet, or
// does not frame, is a bug. Calls on_packet(Bytes) for each.
template <class F>
void for_each_output_packet(const std::string& bytes, F&& on_packet) {
  mqtt::Bytes rest(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  while (!rest.empty()) {
    const auto frame = mqtt::peek_frame(rest, mqtt::kMaxPacketSize);
    if (frame.status == mqtt::FrameInfo::Status::error) fail("engine output does not frame");
    if (frame.status != mqtt::FrameInfo::Status::complete) fail("engine output ends inside a packet");
    on_packet(rest.first(frame.size));
    rest = rest.subspan(frame.size);
  }
}

// The engine's own invariants (in-flight windows, queue lengths, links, QoS 2 deliveries
// with track_deliveries), then the configured limits checked from outside.
inline void check_engine_limits(const engine::BrokerEngine& e) {
  if (auto broken = e.check_invariants()) {
    std::fprintf(stderr, "engine invariant: %s\n", broken->c_str());
    fail("BrokerEngine::check_invariants");
  }
  const auto& cfg = e.config();
  if (e.connection_count() > cfg.max_connections) fail("more connections than max_connections");
  if (e.session_count() > cfg.max_sessions) fail("more sessions than max_sessions");
  if (e.retained_count() > cfg.max_retained_messages) fail("more retained than the limit");
  if (e.session_count() == 0) return;
  static std::vector<engine::SessionInfo> infos;  // reused: this runs after every event
  e.sessions(infos);
  for (const auto& info : infos) {
    if (info.inflight_out > cfg.max_inflight) fail("outbound in-flight above max_inflight");
    if (info.queued > cfg.max_queued_messages) fail("queue above max_queued_messages");
    if (info.inbound_qos2_pending > cfg.receive_maximum) fail("inbound QoS 2 above receive_maximum");
    if (info.subscriptions > cfg.max_subscriptions_per_client) fail("subscriptions above the limit");
  }
}

}  // namespace mqtth::fuzz
