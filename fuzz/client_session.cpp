// A hostile broker against the harness's sans-I/O client (harness/engine/client
// ClientSession): fuzzer bytes, or broker packets built with the codec from fuzzer-chosen
// fields (CONNACK with odd limits, PUBLISH with aliases and ids, acks for ids the client
// used or not), interleaved with session commands (connect, subscribe, publish,
// disconnect ...), time advances and transport closes. The session must never crash, hang
// or grow without bound, and must report a misbehaving broker:
//  - a complete frame from the broker that the codec rejects, while the session is still
//    reading that connection, yields a BrokerViolation event;
//  - everything the session writes decodes as a client packet of its version;
//  - events and output per step stay proportional to the step's input; in-flight counts
//    stay within what was commanded and the 65535 packet ids.
#include "fuzz_common.hpp"

#include <mqtth/client/ClientSession.hpp>
#include <mqtt/hex.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <string>
#include <vector>

namespace {
using namespace mqtth::client;
using mqtth::fuzz::fail;

constexpr int kMaxEvents = 96;
const std::array<const char*, 4> kTopics = {"t/1", "t/2", "", "a/b/c"};
const std::array<const char*, 4> kFilters = {"t/1", "t/+", "#", "$share/g/t"};

struct Harness {
  ClientSession session;
  TimeMs now = 0;
  std::uint64_t commanded_publishes = 0;     // QoS 1/2 publish() calls that succeeded
  mqtt::Framer broker_bytes{mqtt::kMaxPacketSize};  // our copy of the broker's stream
  mqtt::Framer client_bytes{mqtt::kMaxPacketSize};  // what the session wrote
  bool reading = false;  // the session is still expected to read this connection
  std::vector<std::uint16_t> client_ids;  // packet ids the session used (to ack)
  std::vector<Event> events;
  std::string output;
};

bool client_may_send(mqtt::PacketType t, mqtt::Version v) {
  using T = mqtt::PacketType;
  switch (t) {
    case T::connect: case T::publish: case T::puback: case T::pubrec: case T::pubrel:
    case T::pubcomp: case T::subscribe: case T::unsubscribe: case T::pingreq: case T::disconnect:
      return true;
    case T::auth:
      return v == mqtt::Version::v5;
    default:
      return false;
  }
}

// Drains output and events; returns the number of BrokerViolation events.
std::size_t collect(Harness& h, std::size_t input_bytes) {
  h.session.take_output(h.output);
  h.session.take_events(h.events);
  // Clean start may end every commanded publish with one PublishAbandoned event.
  if (h.events.size() > 16 + 2 * input_bytes + h.commanded_publishes) fail("more events than the input can explain");
  std::size_t violations = 0;
  for (const auto& e : h.events) {
    if (const auto* v = std::get_if<event::BrokerViolation>(&e)) {
      ++violations;
      if (v->message.empty()) fail("BrokerViolation without a message");
      if (v->fatal) h.reading = false;
    } else if (std::holds_alternative<event::DisconnectReceived>(e) ||
               std::holds_alternative<event::ConnectionClosed>(e)) {
      h.reading = false;
    }
  }
  h.client_bytes.feed(h.output);
  for (;;) {
    const auto frame = h.client_bytes.next();
    if (frame.status == mqtt::FrameInfo::Status::error) fail("session output does not frame");
    if (frame.status != mqtt::FrameInfo::Status::complete) break;
    const auto version = h.session.version();
    const auto d = mqtt::decode(frame.packet, {.version = version});
    if (!d.ok()) {
      std::fprintf(stderr, "session wrote an undecodable packet: %s at %u (%.*s)\n",
                   std::string(mqtt::to_string(d.error.code)).c_str(), d.error.offset,
                   static_cast<int>(d.error.message.size()), d.error.message.data());
      const auto bytes = mqtt::to_hex({reinterpret_cast<const char*>(frame.packet.data()), frame.packet.size()});
      std::fprintf(stderr, "%s (session version %s)\n", bytes.c_str(), std::string(mqtt::to_string(version)).c_str());
      fail("session output does not decode");
    }
    if (!client_may_send(mqtt::packet_type(d.value), version)) fail("session sent a server-only packet");
    std::visit([&](const auto& p) {
      if constexpr (requires { p.packet_id; })
        if (p.packet_id != 0 && h.client_ids.size() < 32) h.client_ids.push_back(p.packet_id);
    }, d.value);
  }
  if (h.session.outbound_in_flight() + h.session.outbound_queued() > h.commanded_publishes)
    fail("more outbound QoS 1/2 messages than were published");
  if (h.session.inbound_in_flight() > 65535) fail("inbound in-flight beyond the packet id space");
  return violations;
}

std::string pick(FuzzedDataProvider& fdp, const auto& list) {
  return list[fdp.ConsumeIntegralInRange<std::size_t>(0, list.size() - 1)];
}

mqtt::Packet broker_packet(Harness& h, FuzzedDataProvider& fdp) {
  const bool v5 = h.session.version() == mqtt::Version::v5;
  auto id = [&]() -> std::uint16_t {
    if (!h.client_ids.empty() && fdp.ConsumeBool())
      return h.client_ids[fdp.ConsumeIntegralInRange<std::size_t>(0, h.client_ids.size() - 1)];
    return fdp.ConsumeIntegralInRange<std::uint16_t>(0, 6);
  };
  switch (fdp.ConsumeIntegralInRange<int>(0, 9)) {
    case 0: {
      mqtt::Connack c;
      c.session_present = fdp.ConsumeBool();
      c.reason_code = fdp.ConsumeBool() ? 0 : fdp.ConsumeIntegral<std::uint8_t>();
      if (v5) {
        if (fdp.ConsumeBool()) c.properties.add_number(mqtt::PropertyId::receive_maximum, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 3));
        if (fdp.ConsumeBool()) c.properties.add_number(mqtt::PropertyId::topic_alias_maximum, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 3));
        if (fdp.ConsumeBool()) c.properties.add_number(mqtt::PropertyId::maximum_packet_size, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 64));
        if (fdp.ConsumeBool()) c.properties.add_number(mqtt::PropertyId::server_keep_alive, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 3));
        if (fdp.ConsumeBool()) c.properties.add_number(mqtt::PropertyId::maximum_qos, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 2));
        if (fdp.ConsumeBool()) c.properties.add_string(mqtt::PropertyId::assigned_client_identifier, "x");
      }
      return c;
    }
    case 1: case 2: {
      mqtt::Publish p;
      p.qos = fdp.ConsumeIntegralInRange<std::uint8_t>(0, 2);
      p.dup = fdp.ConsumeBool();
      p.retain = fdp.ConsumeBool();
      p.topic = pick(fdp, kTopics);
      p.packet_id = p.qos ? id() : 0;
      p.payload = fdp.ConsumeRandomLengthString(40);
      if (v5 && fdp.ConsumeBool()) p.properties.add_number(mqtt::PropertyId::topic_alias, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 4));
      if (v5 && fdp.ConsumeBool()) p.properties.add_number(mqtt::PropertyId::subscription_identifier, fdp.ConsumeIntegralInRange<std::uint32_t>(0, 2));
      return p;
    }
    case 3: return mqtt::Puback{.packet_id = id(), .reason_code = v5 && fdp.ConsumeBool() ? std::uint8_t{0x80} : std::uint8_t{0}};
    case 4: return mqtt::Pubrec{.packet_id = id(), .reason_code = v5 && fdp.ConsumeBool() ? std::uint8_t{0x80} : std::uint8_t{0}};
    case 5: return mqtt::Pubrel{.packet_id = id()};
    case 6: return mqtt::Pubcomp{.packet_id = id()};
    case 7: {
      mqtt::Suback s;
      s.packet_id = id();
      const int n = fdp.ConsumeIntegralInRange<int>(0, 3);
      for (int i = 0; i < n; ++i) s.reason_codes.push_back(fdp.ConsumeBool() ? 0x80 : fdp.ConsumeIntegralInRange<std::uint8_t>(0, 2));
      if (fdp.ConsumeBool()) {
        mqtt::Unsuback u;
        u.packet_id = s.packet_id;
        if (v5) u.reason_codes = s.reason_codes;
        return u;
      }
      return s;
    }
    case 8: return mqtt::Pingresp{};
    default: {
      mqtt::Disconnect d;
      d.reason_code = fdp.ConsumeIntegral<std::uint8_t>();
      return d;
    }
  }
}

void broker_sends(Harness& h, const std::string& bytes) {
  bool rejected_frame = false;
  const bool reading = h.reading && h.session.state() != SessionState::disconnected &&
                       h.session.state() != SessionState::closing;
  h.broker_bytes.feed(bytes);
  for (;;) {
    const auto frame = h.broker_bytes.next();
    if (frame.status == mqtt::FrameInfo::Status::error) { rejected_frame = true; break; }
    if (frame.status != mqtt::FrameInfo::Status::complete) break;
    if (!mqtt::decode(frame.packet, {.version = h.session.version()}).ok()) { rejected_frame = true; break; }
  }
  const auto violations_before = h.session.violations();
  h.session.receive(bytes, h.now);
  collect(h, bytes.size());
  if (reading && rejected_frame && h.session.violations() == violations_before)
    fail("a malformed packet from the broker was not reported as a BrokerViolation");
  if (rejected_frame) h.reading = false;  // our framer's copy of the stream is out of step now
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  SessionConfig config;
  config.close_on_violation = fdp.ConsumeBool();
  config.auto_topic_alias = fdp.ConsumeBool();
  config.max_in_flight = fdp.ConsumeIntegralInRange<std::uint16_t>(0, 4);
  Harness h;
  h.session = ClientSession(config);
  for (int step = 0; step < kMaxEvents && fdp.remaining_bytes() > 0; ++step) {
    std::size_t input = 0;
    switch (fdp.ConsumeIntegralInRange<int>(0, 13)) {
      case 0: {
        ConnectOptions o;
        const int v = fdp.ConsumeIntegralInRange<int>(0, 2);
        o.version = v == 0 ? mqtt::Version::v3_1 : v == 1 ? mqtt::Version::v3_1_1 : mqtt::Version::v5;
        o.clean_start = fdp.ConsumeBool();
        // An empty client id is only valid with clean start, and never in 3.1 (3.1.3.1):
        // the output check below would otherwise blame the session for our own choice.
        o.client_id = fdp.ConsumeBool() || !o.clean_start || v == 0 ? "c" : "";
        o.keep_alive = fdp.ConsumeIntegralInRange<std::uint16_t>(0, 3);
        if (o.version == mqtt::Version::v5) {
          if (fdp.ConsumeBool()) o.receive_maximum = fdp.ConsumeIntegralInRange<std::uint16_t>(1, 3);
          if (fdp.ConsumeBool()) o.topic_alias_maximum = fdp.ConsumeIntegralInRange<std::uint16_t>(0, 3);
          if (fdp.ConsumeBool()) o.maximum_packet_size = fdp.ConsumeIntegralInRange<std::uint32_t>(1, 64);
          if (fdp.ConsumeBool()) o.session_expiry_interval = fdp.ConsumeIntegralInRange<std::uint32_t>(0, 10);
        }
        h.session.connect(o, h.now);
        h.broker_bytes = mqtt::Framer(o.maximum_packet_size.value_or(mqtt::kMaxPacketSize));
        h.client_bytes = mqtt::Framer(mqtt::kMaxPacketSize);
        h.reading = true;
        break;
      }
      case 1: {
        SubscribeRequest r;
        r.subscriptions.push_back({.filter = pick(fdp, kFilters),
                                   .options = {.qos = fdp.ConsumeIntegralInRange<std::uint8_t>(0, 2)}});
        (void)h.session.subscribe(std::move(r), h.now);
        break;
      }
      case 2: {
        UnsubscribeRequest r;
        r.filters.push_back(pick(fdp, kFilters));
        (void)h.session.unsubscribe(std::move(r), h.now);
        break;
      }
      case 3: {
        PublishRequest r;
        r.topic = pick(fdp, kTopics);
        if (r.topic.empty()) r.topic = "t";
        r.qos = fdp.ConsumeIntegralInRange<std::uint8_t>(0, 2);
        r.payload = fdp.ConsumeRandomLengthString(32);
        const auto qos = r.qos;
        if (h.session.publish(std::move(r), h.now).ok() && qos > 0) ++h.commanded_publishes;
        break;
      }
      case 4: h.session.disconnect(h.now); break;
      case 5: h.session.ping(h.now); break;
      case 6: h.session.transport_closed(h.now, fdp.ConsumeBool() ? "client abort" : ""); break;
      case 7: {
        h.now += fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange<TimeMs>(0, 100)
                                   : fdp.ConsumeIntegralInRange<TimeMs>(0, 200'000);
        h.session.advance(h.now);
        break;
      }
      case 8: case 9: {
        const auto raw = fdp.ConsumeRandomLengthString(200);
        broker_sends(h, raw);
        continue;
      }
      default: {
        const auto bytes = mqtt::encode_to_string(broker_packet(h, fdp), h.session.version());
        if (bytes.ok()) {
          broker_sends(h, bytes.value);
          continue;
        }
        break;
      }
    }
    collect(h, input);
  }
  return 0;
}
