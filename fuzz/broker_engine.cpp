// A fuzzer-chosen sequence of events into the sans-I/O broker (harness/engine BrokerEngine):
// connections open, send bytes (raw fuzzer bytes, or well-formed packets built with the
// codec from fuzzer-chosen fields so the fuzzer reaches sessions, subscriptions and QoS
// flows quickly), close, and time advances. After every event:
//  - the engine's own check_invariants() (in-flight windows, queue lengths, links, QoS 2
//    deliveries with track_deliveries) holds;
//  - windows, queues, sessions and connections stay within the (small) configured limits;
//  - every byte the engine writes frames and decodes with the codec in the connection's
//    protocol version (learnt from the CONNECT the connection sent), is a packet a server
//    may send, and (5.0) fits the client's Maximum Packet Size [MQTT-3.1.2-24];
//  - no QoS 2 message reaches a session twice as a new message (DUP=0) [MQTT-4.3.3-*]:
//    checked from outside for payloads that were published exactly once, not retained, to
//    a session that never held a wildcard or shared subscription (overlapping
//    subscriptions may legally get copies, 3.3.5; retained messages are re-sent on
//    subscribe, 3.8.4).
#include "fuzz_common.hpp"

#include <mqtth/engine/BrokerEngine.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {
using mqtth::engine::BrokerConfig;
using mqtth::engine::BrokerEngine;
using mqtth::engine::ConnectionId;
using mqtth::fuzz::fail;

constexpr std::size_t kSlots = 4;
constexpr int kMaxEvents = 96;

BrokerConfig fuzz_config() {
  BrokerConfig c;
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

const std::array<const char*, 4> kClientIds = {"a", "b", "c", ""};
const std::array<const char*, 5> kTopics = {"t/1", "t/2", "t/3", "u", "$SYS/x"};
const std::array<const char*, 9> kFilters = {"t/1", "t/2", "t/3", "u", "t/+", "#", "t/#",
                                             "$share/g/t/1", "+/+"};

struct Slot {
  ConnectionId id = 0;
  std::optional<mqtt::Version> version;         // from the CONNECT this connection sent
  std::optional<std::uint32_t> client_max_packet;  // 5.0 CONNECT Maximum Packet Size
  std::string session_key;                        // client id, or "#<id>" when assigned
  mqtt::Framer inbound{mqtt::kMaxPacketSize};     // what we sent, to learn version/ids
  mqtt::Framer outbound{mqtt::kMaxPacketSize};    // what the engine wrote
  std::vector<std::uint16_t> ids_from_engine;     // packet ids to acknowledge
  bool connect_seen = false;
};

struct State {
  BrokerEngine engine{fuzz_config()};
  std::array<Slot, kSlots> slots;
  std::uint64_t now = 1000;
  std::uint32_t payload_counter = 0;
  std::map<std::string, int> publications;  // payload -> times published (incl. wills)
  std::set<std::string> retained_payloads;
  std::set<std::string> overlapping_sessions;  // ever held a wildcard/shared filter
  std::set<std::pair<std::string, std::string>> qos2_delivered;  // (session, payload)
};

bool server_may_send(mqtt::PacketType t, mqtt::Version v) {
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

void reset_slot(Slot& s) { s = Slot{}; }

// Learns what a connection told the broker, from the bytes we sent it.
void observe_inbound(State& st, Slot& s, mqtt::Bytes bytes) {
  s.inbound.feed(bytes);
  for (;;) {
    const auto frame = s.inbound.next();
    if (frame.status != mqtt::FrameInfo::Status::complete) return;
    const auto version = s.version.value_or(mqtt::Version::v5);
    const auto d = mqtt::decode(frame.packet, {.version = version});
    if (!d.ok()) continue;
    if (const auto* c = std::get_if<mqtt::ConnectView>(&d.value)) {
      if (s.connect_seen) continue;  // a second CONNECT is a protocol error, ignored here
      s.connect_seen = true;
      s.version = c->protocol_version;
      s.session_key = c->client_id.empty() ? "#" + std::to_string(s.id) : std::string(c->client_id);
      for (const auto& p : c->properties)
        if (p.id == mqtt::PropertyId::maximum_packet_size) s.client_max_packet = p.number;
      if (c->will) {
        ++st.publications[std::string(c->will->payload)];
        if (c->will->retain) st.retained_payloads.insert(std::string(c->will->payload));
      }
    } else if (const auto* p = std::get_if<mqtt::PublishView>(&d.value)) {
      ++st.publications[std::string(p->payload)];
      if (p->retain) st.retained_payloads.insert(std::string(p->payload));
    } else if (const auto* sub = std::get_if<mqtt::SubscribeView>(&d.value)) {
      for (const auto& f : sub->subscriptions)
        if (f.filter.find_first_of("+#") != std::string_view::npos || f.filter.starts_with("$share/"))
          st.overlapping_sessions.insert(s.session_key);
    }
  }
}

Slot* find_slot(State& st, ConnectionId id) {
  for (auto& s : st.slots)
    if (s.id == id && id != 0) return &s;
  return nullptr;
}

void check_output_packet(State& st, Slot& s, mqtt::Bytes packet) {
  std::optional<mqtt::Version> version = s.version;
  mqtt::Result<mqtt::PacketView> d;
  if (version) {
    d = mqtt::decode(packet, {.version = *version});
  } else {
    // No CONNECT decoded yet (malformed, unsupported version ...): the engine answers in
    // whichever version it guessed; it must still be a packet of some version.
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
  volatile std::size_t sink = mqtth::fuzz::touch(d.value);
  (void)sink;
  const auto type = mqtt::packet_type(d.value);
  if (!server_may_send(type, *version)) fail("engine sent a packet type a server may not send");
  if (s.client_max_packet && *version == mqtt::Version::v5 && packet.size() > *s.client_max_packet)
    fail("engine sent a packet above the client's Maximum Packet Size [MQTT-3.1.2-24]");
  if (const auto* p = std::get_if<mqtt::PublishView>(&d.value)) {
    if (p->qos > 0 && s.ids_from_engine.size() < 16) s.ids_from_engine.push_back(p->packet_id);
    if (p->qos == 2 && !p->dup && !s.session_key.empty()) {
      const std::string payload(p->payload);
      const bool provable = st.publications[payload] == 1 && !st.retained_payloads.contains(payload) &&
                            !p->retain && !st.overlapping_sessions.contains(s.session_key);
      if (provable && !st.qos2_delivered.emplace(s.session_key, payload).second)
        fail("QoS 2 message delivered twice to one session as a new message [MQTT-4.3.3]");
    }
  } else if (const auto* rel = std::get_if<mqtt::PubrelView>(&d.value)) {
    if (s.ids_from_engine.size() < 16) s.ids_from_engine.push_back(rel->packet_id);
  }
}

void drain(State& st) {
  for (auto& out : st.engine.take_output()) {
    Slot* s = find_slot(st, out.connection);
    if (!s) {
      if (!out.bytes.empty()) fail("engine wrote to a connection that is not open");
      continue;
    }
    s->outbound.feed(out.bytes);
    for (;;) {
      const auto frame = s->outbound.next();
      if (frame.status == mqtt::FrameInfo::Status::error) fail("engine output does not frame");
      if (frame.status != mqtt::FrameInfo::Status::complete) break;
      check_output_packet(st, *s, frame.packet);
    }
    if (out.close) reset_slot(*s);
  }
}

void check_limits(const State& st) {
  if (auto broken = st.engine.check_invariants()) {
    std::fprintf(stderr, "engine invariant: %s\n", broken->c_str());
    fail("BrokerEngine::check_invariants");
  }
  const auto& cfg = st.engine.config();
  if (st.engine.connection_count() > cfg.max_connections) fail("more connections than max_connections");
  if (st.engine.session_count() > cfg.max_sessions) fail("more sessions than max_sessions");
  if (st.engine.retained_count() > cfg.max_retained_messages) fail("more retained than the limit");
  for (const auto& info : st.engine.sessions()) {
    if (info.inflight_out > cfg.max_inflight) fail("outbound in-flight above max_inflight");
    if (info.queued > cfg.max_queued_messages) fail("queue above max_queued_messages");
    if (info.inbound_qos2_pending > cfg.receive_maximum) fail("inbound QoS 2 above receive_maximum");
    if (info.subscriptions > cfg.max_subscriptions_per_client) fail("subscriptions above the limit");
  }
}

std::string pick(FuzzedDataProvider& fdp, const auto& list) {
  return list[fdp.ConsumeIntegralInRange<std::size_t>(0, list.size() - 1)];
}

mqtt::Packet build_packet(State& st, Slot& s, FuzzedDataProvider& fdp) {
  const auto version = s.version.value_or(mqtt::Version::v5);
  const bool v5 = version == mqtt::Version::v5;
  switch (fdp.ConsumeIntegralInRange<int>(0, 9)) {
    case 0: {
      mqtt::Connect c;
      const int v = fdp.ConsumeIntegralInRange<int>(0, 2);
      c.protocol_version = v == 0 ? mqtt::Version::v3_1 : v == 1 ? mqtt::Version::v3_1_1 : mqtt::Version::v5;
      c.protocol_name = c.protocol_version == mqtt::Version::v3_1 ? "MQIsdp" : "MQTT";
      c.client_id = pick(fdp, kClientIds);
      c.clean_start = fdp.ConsumeBool();
      c.keep_alive = fdp.ConsumeIntegralInRange<std::uint16_t>(0, 3);
      const bool c5 = c.protocol_version == mqtt::Version::v5;
      if (c5) {
        if (fdp.ConsumeBool())
          c.properties.add_number(mqtt::PropertyId::session_expiry_interval, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 100));
        if (fdp.ConsumeBool())
          c.properties.add_number(mqtt::PropertyId::receive_maximum, fdp.ConsumeIntegralInRange<std::uint32_t>(1, 5));
        if (fdp.ConsumeBool())
          c.properties.add_number(mqtt::PropertyId::maximum_packet_size, fdp.ConsumeIntegralInRange<std::uint32_t>(16, 300));
        if (fdp.ConsumeBool())
          c.properties.add_number(mqtt::PropertyId::topic_alias_maximum, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 3));
        if (fdp.ConsumeBool()) c.properties.add_number(mqtt::PropertyId::request_response_information, 1);
      }
      if (fdp.ConsumeBool()) {
        mqtt::Will w;
        w.topic = pick(fdp, kTopics);
        w.payload = "will" + std::to_string(++st.payload_counter);
        w.qos = fdp.ConsumeIntegralInRange<std::uint8_t>(0, 2);
        w.retain = fdp.ConsumeBool();
        if (c5 && fdp.ConsumeBool())
          w.properties.add_number(mqtt::PropertyId::will_delay_interval, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 5));
        c.will = std::move(w);
      }
      return c;
    }
    case 1: {
      mqtt::Subscribe sub;
      sub.packet_id = fdp.ConsumeIntegralInRange<std::uint16_t>(1, 8);
      const int n = fdp.ConsumeIntegralInRange<int>(1, 3);
      for (int i = 0; i < n; ++i) {
        mqtt::Subscription one;
        one.filter = pick(fdp, kFilters);
        one.options.qos = fdp.ConsumeIntegralInRange<std::uint8_t>(0, 2);
        if (v5) {
          one.options.no_local = fdp.ConsumeBool();
          one.options.retain_as_published = fdp.ConsumeBool();
          one.options.retain_handling = fdp.ConsumeIntegralInRange<std::uint8_t>(0, 2);
        }
        sub.subscriptions.push_back(std::move(one));
      }
      if (v5 && fdp.ConsumeBool())
        sub.properties.add_number(mqtt::PropertyId::subscription_identifier, fdp.ConsumeIntegralInRange<std::uint32_t>(1, 3));
      return sub;
    }
    case 2: {
      mqtt::Unsubscribe u;
      u.packet_id = fdp.ConsumeIntegralInRange<std::uint16_t>(1, 8);
      u.filters.push_back(pick(fdp, kFilters));
      return u;
    }
    case 3: case 4: {
      mqtt::Publish p;
      p.qos = fdp.ConsumeIntegralInRange<std::uint8_t>(0, 2);
      p.retain = fdp.ConsumeBool();
      p.dup = p.qos > 0 && fdp.ConsumeBool();
      p.topic = pick(fdp, kTopics);
      if (p.qos > 0) p.packet_id = fdp.ConsumeIntegralInRange<std::uint16_t>(1, 8);
      // Distinct payloads: the payload is the message's identity for the QoS 2 check.
      p.payload = "m" + std::to_string(++st.payload_counter);
      if (fdp.ConsumeBool()) p.payload.append(fdp.ConsumeIntegralInRange<std::size_t>(0, 1200), 'x');
      if (v5) {
        if (fdp.ConsumeBool()) {
          p.properties.add_number(mqtt::PropertyId::topic_alias, fdp.ConsumeIntegralInRange<std::uint32_t>(1, 5));
          if (fdp.ConsumeBool()) p.topic.clear();
        }
        if (fdp.ConsumeBool())
          p.properties.add_number(mqtt::PropertyId::message_expiry_interval, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 3));
      }
      return p;
    }
    case 5: {
      // Acknowledge something the engine sent (or a fuzzer-chosen id).
      std::uint16_t id = fdp.ConsumeIntegralInRange<std::uint16_t>(1, 8);
      if (!s.ids_from_engine.empty() && fdp.ConsumeBool())
        id = s.ids_from_engine[fdp.ConsumeIntegralInRange<std::size_t>(0, s.ids_from_engine.size() - 1)];
      const std::uint8_t rc = v5 && fdp.ConsumeBool() ? 0x80 : 0x00;
      switch (fdp.ConsumeIntegralInRange<int>(0, 3)) {
        case 0: return mqtt::Puback{.packet_id = id, .reason_code = rc};
        case 1: return mqtt::Pubrec{.packet_id = id, .reason_code = rc};
        case 2: return mqtt::Pubrel{.packet_id = id};
        default: return mqtt::Pubcomp{.packet_id = id};
      }
    }
    case 6:
      // Release a QoS 2 message we published (inbound flow).
      return mqtt::Pubrel{.packet_id = fdp.ConsumeIntegralInRange<std::uint16_t>(1, 8)};
    case 7: return mqtt::Pingreq{};
    case 8: {
      mqtt::Disconnect d;
      if (v5) {
        d.reason_code = fdp.ConsumeBool() ? 0x04 : 0x00;  // 0x04: with will message
        if (fdp.ConsumeBool())
          d.properties.add_number(mqtt::PropertyId::session_expiry_interval, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 10));
      }
      return d;
    }
    default: {
      mqtt::Auth a;
      a.reason_code = 0x18;
      return a;
    }
  }
}

void send(State& st, Slot& s, mqtt::Bytes bytes, FuzzedDataProvider& fdp) {
  observe_inbound(st, s, bytes);
  // Sometimes in two chunks: the engine must frame across reads.
  const std::size_t cut = bytes.size() > 1 && fdp.ConsumeBool()
                              ? fdp.ConsumeIntegralInRange<std::size_t>(1, bytes.size() - 1)
                              : bytes.size();
  const ConnectionId id = s.id;
  st.engine.receive(id, bytes.first(cut), st.now);
  if (cut < bytes.size()) {
    drain(st);
    st.engine.receive(id, bytes.subspan(cut), st.now);  // a no-op if the first half closed it
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  State st;
  for (int event = 0; event < kMaxEvents && fdp.remaining_bytes() > 0; ++event) {
    Slot& s = st.slots[fdp.ConsumeIntegralInRange<std::size_t>(0, kSlots - 1)];
    switch (fdp.ConsumeIntegralInRange<int>(0, 15)) {
      case 0:
        if (s.id == 0) {
          s.id = st.engine.open(st.now);
        } else {
          st.engine.closed(s.id, st.now);
          reset_slot(s);
        }
        break;
      case 1: {
        const int kind = fdp.ConsumeIntegralInRange<int>(0, 3);
        st.now += kind == 0 ? fdp.ConsumeIntegralInRange<std::uint64_t>(0, 100)
                  : kind == 1 ? fdp.ConsumeIntegralInRange<std::uint64_t>(0, 10'000)
                  : kind == 2 ? (st.engine.next_deadline().value_or(st.now) > st.now
                                     ? *st.engine.next_deadline() - st.now : 0)
                              : fdp.ConsumeIntegralInRange<std::uint64_t>(0, 200'000);
        st.engine.advance(st.now);
        break;
      }
      case 2: {
        if (s.id == 0) s.id = st.engine.open(st.now);
        const auto raw = fdp.ConsumeRandomLengthString(300);
        if (s.id != 0) send(st, s, mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()), fdp);
        break;
      }
      default: {
        if (s.id == 0) s.id = st.engine.open(st.now);
        const mqtt::Packet packet = build_packet(st, s, fdp);
        const auto version = std::holds_alternative<mqtt::Connect>(packet)
                                 ? std::get<mqtt::Connect>(packet).protocol_version
                                 : s.version.value_or(mqtt::Version::v5);
        const auto bytes = mqtt::encode_to_string(packet, version);
        if (bytes.ok() && s.id != 0)
          send(st, s, mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(bytes.value.data()), bytes.value.size()), fdp);
        break;
      }
    }
    drain(st);
    check_limits(st);
  }
  return 0;
}
