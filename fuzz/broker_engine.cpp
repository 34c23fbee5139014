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
#include "broker_engine_checks.hpp"

#include <mqtth/engine/BrokerEngine.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Speed (docs/fuzzing.md "broker_engine"): the harness state lives across inputs and is
// cleared per input, keeping its buffers; the bookkeeping below is flat vectors searched
// linearly (a few dozen entries per input) instead of string maps and sets; the engine's
// output is checked in place; only the client packets the bookkeeping needs are decoded.
// The engine itself is constructed fresh for every input and destroyed at its end: every
// allocation of an input is freed before it returns, as libFuzzer's leak detection
// expects (more mallocs than frees makes it run the input again, then LeakSanitizer).
namespace {
using mqtth::engine::BrokerConfig;
using mqtth::engine::BrokerEngine;
using mqtth::engine::ConnectionId;
using mqtth::fuzz::fail;

constexpr std::size_t kSlots = 4;
constexpr int kMaxEvents = 96;
constexpr int kNoSession = -1;

const std::array<const char*, 4> kClientIds = {"a", "b", "c", ""};
const std::array<const char*, 5> kTopics = {"t/1", "t/2", "t/3", "u", "$SYS/x"};
const std::array<const char*, 9> kFilters = {"t/1", "t/2", "t/3", "u", "t/+", "#", "t/#",
                                             "$share/g/t/1", "+/+"};

struct Slot {
  ConnectionId id = 0;
  std::optional<mqtt::Version> version;            // from the CONNECT this connection sent
  std::optional<std::uint32_t> client_max_packet;  // 5.0 CONNECT Maximum Packet Size
  int session = kNoSession;  // index into State::session_keys (client id, or "#<id>" when assigned)
  std::string inbound;       // bytes we sent that do not make a whole packet yet
  bool inbound_broken = false;  // what we sent stopped framing: nothing more to learn
  std::array<std::uint16_t, 16> ids_from_engine{};  // packet ids to acknowledge
  std::size_t id_count = 0;
  bool connect_seen = false;
};

// A message's identity is its payload (every PUBLISH the harness builds has a distinct
// one); the bookkeeping keys it by a 64-bit hash. A collision can only make two payloads
// count as one published twice, which takes them out of the QoS 2 check: it can hide a
// duplicate, never report a false one.
struct PayloadRecord {
  std::uint64_t hash = 0;
  int published = 0;
  bool retained = false;
};

struct State {
  std::optional<BrokerEngine> engine;
  std::array<Slot, kSlots> slots;
  std::uint64_t now = 1000;
  std::uint32_t payload_counter = 0;
  std::vector<PayloadRecord> payloads;     // every payload published (incl. wills)
  std::vector<std::string> session_keys;   // interned; index = Slot::session
  std::vector<bool> overlapping;           // per session key: ever held a wildcard/shared filter
  std::vector<std::pair<int, std::uint64_t>> qos2_delivered;  // (session, payload hash)
  std::vector<std::uint8_t> encoded;       // build_packet's bytes

  void reset(const BrokerConfig& config) {
    engine.emplace(config);
    for (auto& s : slots) s = Slot{};
    now = 1000;
    payload_counter = 0;
    payloads.clear();
    session_keys.clear();
    overlapping.clear();
    qos2_delivered.clear();
  }
};

std::uint64_t payload_hash(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return h ^ bytes.size();
}

PayloadRecord* find_payload(State& st, std::uint64_t hash) {
  for (auto& r : st.payloads)
    if (r.hash == hash) return &r;
  return nullptr;
}

void record_publication(State& st, std::string_view payload, bool retain) {
  const std::uint64_t hash = payload_hash(payload);
  PayloadRecord* r = find_payload(st, hash);
  if (!r) r = &st.payloads.emplace_back(PayloadRecord{hash, 0, false});
  ++r->published;
  r->retained = r->retained || retain;
}

int intern_session(State& st, std::string_view key) {
  for (std::size_t i = 0; i < st.session_keys.size(); ++i)
    if (st.session_keys[i] == key) return static_cast<int>(i);
  st.session_keys.emplace_back(key);
  st.overlapping.push_back(false);
  return static_cast<int>(st.session_keys.size() - 1);
}

void reset_slot(Slot& s) { s = Slot{}; }

// Learns what a connection told the broker from one whole packet we sent it. Only CONNECT,
// PUBLISH and SUBSCRIBE matter here; the others are not decoded.
void observe_packet(State& st, Slot& s, mqtt::Bytes packet) {
  const auto type = static_cast<mqtt::PacketType>(packet[0] >> 4);
  if (type != mqtt::PacketType::connect && type != mqtt::PacketType::publish && type != mqtt::PacketType::subscribe)
    return;
  const auto version = s.version.value_or(mqtt::Version::v5);
  const auto d = mqtt::decode(packet, {.version = version});
  if (!d.ok()) return;
  if (const auto* c = std::get_if<mqtt::ConnectView>(&d.value)) {
    if (s.connect_seen) return;  // a second CONNECT is a protocol error, ignored here
    s.connect_seen = true;
    s.version = c->protocol_version;
    if (c->client_id.empty()) {
      char key[24];
      const int n = std::snprintf(key, sizeof key, "#%llu", static_cast<unsigned long long>(s.id));
      s.session = intern_session(st, std::string_view(key, static_cast<std::size_t>(n)));
    } else {
      s.session = intern_session(st, c->client_id);
    }
    for (const auto& p : c->properties)
      if (p.id == mqtt::PropertyId::maximum_packet_size) s.client_max_packet = p.number;
    if (c->will) record_publication(st, c->will->payload, c->will->retain);
  } else if (const auto* p = std::get_if<mqtt::PublishView>(&d.value)) {
    record_publication(st, p->payload, p->retain);
  } else if (const auto* sub = std::get_if<mqtt::SubscribeView>(&d.value)) {
    if (s.session == kNoSession) return;
    for (const auto& f : sub->subscriptions)
      if (f.filter.find_first_of("+#") != std::string_view::npos || f.filter.starts_with("$share/"))
        st.overlapping[static_cast<std::size_t>(s.session)] = true;
  }
}

// Frames the bytes we send a connection (any chunking) and observes each whole packet.
void observe_inbound(State& st, Slot& s, mqtt::Bytes bytes) {
  if (s.inbound_broken) return;
  mqtt::Bytes rest = bytes;
  if (!s.inbound.empty()) {
    s.inbound.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    rest = mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(s.inbound.data()), s.inbound.size());
  }
  for (;;) {
    const auto frame = mqtt::peek_frame(rest, mqtt::kMaxPacketSize);
    if (frame.status == mqtt::FrameInfo::Status::error) {
      s.inbound_broken = true;
      s.inbound.clear();
      return;
    }
    if (frame.status != mqtt::FrameInfo::Status::complete) break;
    observe_packet(st, s, rest.first(frame.size));
    rest = rest.subspan(frame.size);
  }
  // Keep the incomplete tail (it may point into s.inbound itself: copy before assigning).
  std::string tail(reinterpret_cast<const char*>(rest.data()), rest.size());
  s.inbound.swap(tail);
}

Slot* find_slot(State& st, ConnectionId id) {
  for (auto& s : st.slots)
    if (s.id == id && id != 0) return &s;
  return nullptr;
}

void check_output_packet(State& st, Slot& s, mqtt::Bytes packet) {
  const auto checked = mqtth::fuzz::check_server_packet(packet, s.version, s.client_max_packet);
  if (const auto* p = std::get_if<mqtt::PublishView>(&checked.view)) {
    if (p->qos > 0 && s.id_count < s.ids_from_engine.size()) s.ids_from_engine[s.id_count++] = p->packet_id;
    if (p->qos == 2 && !p->dup && s.session != kNoSession) {
      const std::uint64_t hash = payload_hash(p->payload);
      const PayloadRecord* r = find_payload(st, hash);
      const bool provable = r && r->published == 1 && !r->retained && !p->retain &&
                            !st.overlapping[static_cast<std::size_t>(s.session)];
      if (provable) {
        for (const auto& [session, delivered] : st.qos2_delivered)
          if (session == s.session && delivered == hash)
            fail("QoS 2 message delivered twice to one session as a new message [MQTT-4.3.3]");
        st.qos2_delivered.emplace_back(s.session, hash);
      }
    }
  } else if (const auto* rel = std::get_if<mqtt::PubrelView>(&checked.view)) {
    if (s.id_count < s.ids_from_engine.size()) s.ids_from_engine[s.id_count++] = rel->packet_id;
  }
}

void drain(State& st) {
  for (const auto& out : st.engine->take_output()) {
    Slot* s = find_slot(st, out.connection);
    if (!s) {
      if (!out.bytes.empty()) fail("engine wrote to a connection that is not open");
      continue;
    }
    mqtth::fuzz::for_each_output_packet(out.bytes, [&](mqtt::Bytes packet) { check_output_packet(st, *s, packet); });
    if (out.close) reset_slot(*s);
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
      if (s.id_count > 0 && fdp.ConsumeBool())
        id = s.ids_from_engine[fdp.ConsumeIntegralInRange<std::size_t>(0, s.id_count - 1)];
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
  st.engine->receive(id, bytes.first(cut), st.now);
  if (cut < bytes.size()) {
    drain(st);
    st.engine->receive(id, bytes.subspan(cut), st.now);  // a no-op if the first half closed it
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const BrokerConfig config = mqtth::fuzz::broker_fuzz_config();
  static State st;
  st.reset(config);
  FuzzedDataProvider fdp(data, size);
  for (int event = 0; event < kMaxEvents && fdp.remaining_bytes() > 0; ++event) {
    Slot& s = st.slots[fdp.ConsumeIntegralInRange<std::size_t>(0, kSlots - 1)];
    switch (fdp.ConsumeIntegralInRange<int>(0, 15)) {
      case 0:
        if (s.id == 0) {
          s.id = st.engine->open(st.now);
        } else {
          st.engine->closed(s.id, st.now);
          reset_slot(s);
        }
        break;
      case 1: {
        const int kind = fdp.ConsumeIntegralInRange<int>(0, 3);
        st.now += kind == 0 ? fdp.ConsumeIntegralInRange<std::uint64_t>(0, 100)
                  : kind == 1 ? fdp.ConsumeIntegralInRange<std::uint64_t>(0, 10'000)
                  : kind == 2 ? (st.engine->next_deadline().value_or(st.now) > st.now
                                     ? *st.engine->next_deadline() - st.now : 0)
                              : fdp.ConsumeIntegralInRange<std::uint64_t>(0, 200'000);
        st.engine->advance(st.now);
        break;
      }
      case 2: {
        if (s.id == 0) s.id = st.engine->open(st.now);
        const auto raw = fdp.ConsumeRandomLengthString(300);
        if (s.id != 0) send(st, s, mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()), fdp);
        break;
      }
      default: {
        if (s.id == 0) s.id = st.engine->open(st.now);
        const mqtt::Packet packet = build_packet(st, s, fdp);
        const auto version = std::holds_alternative<mqtt::Connect>(packet)
                                 ? std::get<mqtt::Connect>(packet).protocol_version
                                 : s.version.value_or(mqtt::Version::v5);
        const auto size_needed = mqtt::encoded_size(packet, version);
        if (!size_needed.ok() || s.id == 0) break;
        st.encoded.resize(size_needed.value);
        const auto written = mqtt::encode(packet, version, mqtt::MutableBytes(st.encoded.data(), st.encoded.size()));
        if (written.ok()) send(st, s, mqtt::Bytes(st.encoded.data(), written.value), fdp);
        break;
      }
    }
    drain(st);
    mqtth::fuzz::check_engine_limits(*st.engine);
  }
  st.engine.reset();
  return 0;
}
