// ClientSession: see the header for the contract. Layout of the state:
//  - outbound QoS 1/2 publishes live in a slot pool (slots_, reused through free_slots_),
//    reached by packet id through a lazily allocated 65536-entry index; no allocation per
//    message beyond the message's own strings once the pool has grown;
//  - inbound QoS 1/2 state is one byte per packet id (also lazy);
//  - output bytes are appended to one string that the shell takes whole (batched writes).
#include <mqtth/client/ClientSession.hpp>

#include <algorithm>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>

namespace mqtth::client {

std::string_view to_string(CommandError e) {
  switch (e) {
    case CommandError::none: return "none";
    case CommandError::not_connected: return "not_connected";
    case CommandError::no_packet_id_free: return "no_packet_id_free";
    case CommandError::invalid_argument: return "invalid_argument";
    case CommandError::encode_failed: return "encode_failed";
  }
  return "unknown";
}

std::string_view to_string(SessionState s) {
  switch (s) {
    case SessionState::disconnected: return "disconnected";
    case SessionState::connecting: return "connecting";
    case SessionState::connected: return "connected";
    case SessionState::closing: return "closing";
  }
  return "unknown";
}

namespace {

constexpr std::uint32_t kNoSlot = 0xFFFF'FFFF;
constexpr std::size_t kIdSpace = 65536;

// Inbound per-packet-id state (one byte each).
enum class Inbound : std::uint8_t {
  none = 0,
  qos1_unacked,        // PUBACK withheld on purpose: still in the broker's window
  qos2_received,       // PUBREC sent (or withheld): waiting for PUBREL, duplicates not delivered
  qos2_released,       // PUBREL answered with PUBCOMP: a DUP=1 PUBLISH now is a re-send after PUBREL
  qos2_comp_withheld,  // PUBREL received, PUBCOMP withheld on purpose: still in the window
};

enum class Stage : std::uint8_t { free, queued, sent, released };

struct Outbound {
  mqtt::Packet packet;  // always holds an mqtt::Publish; kept as a Packet so encode() needs no copy
  std::uint64_t message_id = 0;
  std::uint64_t seq = 0;        // original send order, for resending [MQTT-4.6.0-1]
  std::uint32_t next_same_id = kNoSlot;  // chain when a misbehaviour put several on one id
  std::uint16_t topic_alias = 0;         // explicit alias asked for by the publisher
  Stage stage = Stage::free;
  bool pubrel_sent = false;
  mqtt::Publish& publish() { return std::get<mqtt::Publish>(packet); }
};

struct PendingAck {  // SUBSCRIBE / UNSUBSCRIBE waiting for SUBACK / UNSUBACK
  std::uint16_t packet_id = 0;
  std::uint32_t count = 0;
  bool subscribe = true;
};

mqtt::Properties own_properties(const mqtt::PropertiesView& view) {
  mqtt::Properties out;
  for (const auto& p : view) {
    out.push_back(mqtt::Property{p.id, p.number, std::string(p.key), std::string(p.value)});
  }
  return out;
}

std::optional<mqtt::PacketType> type_of_first_byte(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return std::nullopt;
  const unsigned t = data[0] >> 4;
  if (t < 1 || t > 15) return std::nullopt;
  return static_cast<mqtt::PacketType>(t);
}

}  // namespace

struct ClientSession::Impl {
  SessionConfig config;
  Misbehaviour misbehave;
  ConnectOptions options;
  SessionState state = SessionState::disconnected;
  mqtt::Version version = mqtt::Version::v5;

  // --- output
  std::string out;
  std::vector<Event> events;
  bool close_requested = false;
  bool closed_by_client = false;
  std::string_view close_cause;

  // --- per connection
  mqtt::Framer framer;
  bool input_dead = false;    // the stream cannot be read any more (framing error / fatal violation)
  bool connack_seen = false;
  bool session_present = false;
  std::optional<std::uint8_t> disconnect_reason;
  std::uint64_t bytes_in = 0;
  TimeMs last_sent = 0;
  std::optional<TimeMs> ping_sent_at;
  std::uint16_t keep_alive = 0;
  std::uint16_t broker_receive_maximum = 65535;
  std::uint16_t broker_topic_alias_maximum = 0;
  std::uint32_t broker_maximum_packet_size = mqtt::kMaxPacketSize;
  std::optional<std::string> assigned_client_id;
  std::vector<std::string> inbound_aliases;          // alias -> topic, this connection [MQTT-3.3.2-7]
  std::vector<std::string> outbound_aliases;         // alias -> topic we mapped on this connection
  std::unordered_map<std::string, std::uint16_t> auto_aliases;  // topic -> alias (auto_topic_alias)
  std::uint16_t next_auto_alias = 1;

  // --- session (survives connections)
  std::vector<Outbound> slots;
  std::vector<std::uint32_t> free_slots;
  std::vector<std::uint32_t> slot_of_id;   // head of the chain for an id, kNoSlot if none (lazy)
  std::deque<std::uint32_t> queue;         // slots waiting to be sent (FIFO)
  std::size_t outbound_count = 0;          // non-free slots
  std::size_t outbound_in_flight = 0;      // slots sent or released
  std::vector<PendingAck> pending_acks;
  std::vector<Inbound> inbound;            // per packet id (lazy)
  struct RecentQos2 {
    std::uint32_t hash = 0;
    std::uint16_t id = 0;
    bool used = false;
  };
  static constexpr std::size_t kReceivedRing = 4096;
  std::vector<RecentQos2> received_ring;   // lazy
  std::size_t received_ring_pos = 0;
  std::size_t inbound_in_flight = 0;
  std::uint16_t next_id = 1;
  std::uint16_t last_assigned_id = 0;
  std::uint64_t next_message_id = 1;
  std::uint64_t next_seq = 1;
  std::uint64_t violation_count = 0;

  explicit Impl(SessionConfig c) : config(c) {}

  // ------------------------------------------------------------------ helpers
  bool v5() const { return version == mqtt::Version::v5; }
  // 3.1 differs from 3.1.1 only in CONNECT; every other packet is encoded and decoded as 3.1.1.
  mqtt::Version wire_version() const { return version == mqtt::Version::v3_1 ? mqtt::Version::v3_1_1 : version; }
  std::string_view sid(std::string_view id_v5, std::string_view id_v311) const { return v5() ? id_v5 : id_v311; }
  bool has_connection() const { return state != SessionState::disconnected; }

  static bool take_count(std::uint32_t& counter) {
    if (counter == 0) return false;
    if (counter != kAlways) --counter;
    return true;
  }

  void emit(Event e) { events.push_back(std::move(e)); }

  void violation(std::string_view spec, std::string message, std::optional<mqtt::PacketType> type,
                 std::uint64_t stream_offset, TimeMs now, bool fatal = false,
                 mqtt::Errc code = mqtt::Errc::protocol_error, std::uint32_t offset_in_packet = 0) {
    ++violation_count;
    event::BrokerViolation v;
    v.spec = spec;
    v.message = std::move(message);
    v.packet_type = type;
    v.stream_offset = stream_offset;
    v.offset_in_packet = offset_in_packet;
    v.code = code;
    v.fatal = fatal;
    v.at = now;
    emit(std::move(v));
  }

  // The broker's bytes are unusable (malformed / protocol error, 4.13): 5.0 tells it why with
  // DISCONNECT, then the connection is closed [MQTT-4.13.1-1 binds the Server; the Client side
  // is the same rule in 4.13.1 text].
  void abandon_connection(std::uint8_t reason_code, TimeMs now) {
    input_dead = true;
    if (v5() && state != SessionState::closing) {
      mqtt::Disconnect d;
      d.reason_code = reason_code;
      write(mqtt::Packet(std::move(d)), now);
    }
    request_close("broker violation");
  }

  void request_close(std::string_view cause) {
    if (!close_requested) {
      close_requested = true;
      closed_by_client = true;
      close_cause = cause;
    }
    state = SessionState::closing;
  }

  // Appends the encoded packet to the output. False when the codec cannot encode it.
  bool write(const mqtt::Packet& packet, TimeMs now) {
    const mqtt::Version v = std::holds_alternative<mqtt::Connect>(packet) ? version : wire_version();
    const auto size = mqtt::encoded_size(packet, v);
    if (!size.ok()) return false;
    const std::size_t old = out.size();
    out.resize(old + size.value);
    const auto written = mqtt::encode(packet, v,
        mqtt::MutableBytes(reinterpret_cast<std::uint8_t*>(out.data()) + old, size.value));
    if (!written.ok()) {
      out.resize(old);
      return false;
    }
    out.resize(old + written.value);
    note_sent(old, now);
    return true;
  }

  void note_sent(std::size_t from, TimeMs now) {
    last_sent = now;
    if (config.trace_packets) {
      event::PacketSent e;
      e.type = type_of_first_byte(reinterpret_cast<const std::uint8_t*>(out.data()) + from, out.size() - from);
      e.raw.assign(out.data() + from, out.size() - from);
      e.at = now;
      emit(std::move(e));
    }
  }

  // ------------------------------------------------------------------ packet ids
  void ensure_id_index() {
    if (slot_of_id.empty()) slot_of_id.assign(kIdSpace, kNoSlot);
  }
  void ensure_inbound() {
    if (inbound.empty()) inbound.assign(kIdSpace, Inbound::none);
  }

  bool id_in_use(std::uint16_t id) const {
    if (!slot_of_id.empty() && slot_of_id[id] != kNoSlot) return true;
    return std::any_of(pending_acks.begin(), pending_acks.end(),
                       [id](const PendingAck& p) { return p.packet_id == id; });
  }

  // Non-zero and not in use [MQTT-2.2.1-3 / MQTT-2.3.1-2], unless a misbehaviour says otherwise.
  std::optional<std::uint16_t> allocate_id() {
    if (misbehave.fixed_packet_id) return last_assigned_id = *misbehave.fixed_packet_id;
    if (misbehave.reuse_in_flight_packet_id && last_assigned_id != 0 && id_in_use(last_assigned_id)) {
      return last_assigned_id;
    }
    if (outbound_count + pending_acks.size() >= 65535) return std::nullopt;
    for (std::uint32_t tries = 0; tries < 65535; ++tries) {
      const std::uint16_t id = next_id;
      next_id = next_id == 65535 ? 1 : static_cast<std::uint16_t>(next_id + 1);
      if (!id_in_use(id)) return last_assigned_id = id;
    }
    return std::nullopt;
  }

  // ------------------------------------------------------------------ outbound store
  std::uint32_t new_slot() {
    if (!free_slots.empty()) {
      const std::uint32_t s = free_slots.back();
      free_slots.pop_back();
      return s;
    }
    slots.emplace_back();
    slots.back().packet = mqtt::Publish{};
    return static_cast<std::uint32_t>(slots.size() - 1);
  }

  void link_id(std::uint32_t slot) {
    ensure_id_index();
    const std::uint16_t id = slots[slot].publish().packet_id;
    slots[slot].next_same_id = kNoSlot;
    std::uint32_t* link = &slot_of_id[id];
    while (*link != kNoSlot) link = &slots[*link].next_same_id;
    *link = slot;
  }

  void unlink_id(std::uint32_t slot) {
    const std::uint16_t id = slots[slot].publish().packet_id;
    std::uint32_t* link = &slot_of_id[id];
    while (*link != kNoSlot && *link != slot) link = &slots[*link].next_same_id;
    if (*link == slot) *link = slots[slot].next_same_id;
    slots[slot].next_same_id = kNoSlot;
  }

  void free_slot(std::uint32_t slot) {
    Outbound& o = slots[slot];
    if (o.stage == Stage::sent || o.stage == Stage::released) --outbound_in_flight;
    unlink_id(slot);
    o.stage = Stage::free;
    o.pubrel_sent = false;
    auto& p = o.publish();
    p.payload = std::string();  // release the payload now; the slot's other strings are reused
    --outbound_count;
    free_slots.push_back(slot);
  }

  // The oldest outbound slot on this id in the given stages, or kNoSlot.
  std::uint32_t find_slot(std::uint16_t id, Stage a, Stage b = Stage::free) const {
    if (slot_of_id.empty()) return kNoSlot;
    for (std::uint32_t s = slot_of_id[id]; s != kNoSlot; s = slots[s].next_same_id) {
      if (slots[s].stage == a || (b != Stage::free && slots[s].stage == b)) return s;
    }
    return kNoSlot;
  }

  std::uint32_t any_slot(std::uint16_t id) const {
    return slot_of_id.empty() ? kNoSlot : slot_of_id[id];
  }

  // ------------------------------------------------------------------ topic aliases (outbound)
  // Decides the alias for one send on this connection and encodes with topic omitted when the
  // broker already knows the mapping. `publish` is restored before returning.
  bool write_publish(mqtt::Packet& packet, std::uint16_t explicit_alias, TimeMs now) {
    auto& p = std::get<mqtt::Publish>(packet);
    std::uint16_t alias = explicit_alias;
    if (v5() && alias == 0 && config.auto_topic_alias && broker_topic_alias_maximum > 0) {
      auto it = auto_aliases.find(p.topic);
      if (it != auto_aliases.end()) {
        alias = it->second;
      } else if (next_auto_alias <= broker_topic_alias_maximum) {
        alias = next_auto_alias++;
        auto_aliases.emplace(p.topic, alias);
      }
    }
    if (!v5() || alias == 0) return write(packet, now);

    p.properties.erase(mqtt::PropertyId::topic_alias);
    p.properties.add_number(mqtt::PropertyId::topic_alias, alias);
    if (outbound_aliases.size() <= alias) outbound_aliases.resize(std::size_t(alias) + 1);
    const bool known = outbound_aliases[alias] == p.topic && !p.topic.empty();
    bool ok;
    if (known) {
      std::string topic;
      topic.swap(p.topic);
      ok = write(packet, now);
      topic.swap(p.topic);
    } else {
      outbound_aliases[alias] = p.topic;
      ok = write(packet, now);
    }
    p.properties.erase(mqtt::PropertyId::topic_alias);
    return ok;
  }

  std::size_t send_window() const {
    if (v5()) {
      return config.max_in_flight == 0 ? broker_receive_maximum : std::min(config.max_in_flight, broker_receive_maximum);
    }
    return config.max_in_flight == 0 ? 20 : config.max_in_flight;
  }

  // Sends queued QoS 1/2 publishes while the broker's window has room [MQTT-3.3.4-7].
  void pump(TimeMs now) {
    if (state != SessionState::connected) return;
    while (!queue.empty()) {
      if (!misbehave.ignore_receive_maximum && outbound_in_flight >= send_window()) break;
      const std::uint32_t s = queue.front();
      queue.pop_front();
      Outbound& o = slots[s];
      if (o.stage != Stage::queued) continue;
      o.publish().dup = false;
      o.stage = Stage::sent;
      ++outbound_in_flight;
      write_publish(o.packet, o.topic_alias, now);
    }
  }

  // ------------------------------------------------------------------ session state
  void abandon_outbound(std::string_view why, TimeMs now) {
    for (std::uint32_t s = 0; s < slots.size(); ++s) {
      Outbound& o = slots[s];
      if (o.stage == Stage::sent || o.stage == Stage::released) {
        event::PublishAbandoned e;
        e.packet_id = o.publish().packet_id;
        e.message_id = o.message_id;
        e.why = why;
        e.at = now;
        emit(std::move(e));
        free_slot(s);
      }
    }
  }

  void clear_inbound() {
    if (!inbound.empty()) std::fill(inbound.begin(), inbound.end(), Inbound::none);
    if (!received_ring.empty()) std::fill(received_ring.begin(), received_ring.end(), RecentQos2{});
    inbound_in_flight = 0;
  }

  void clear_session(TimeMs now) {
    abandon_outbound("session state discarded (clean start)", now);
    clear_inbound();
    pending_acks.clear();
  }

  void set_inbound(std::uint16_t id, Inbound to) {
    ensure_inbound();
    const auto counts = [](Inbound s) { return s == Inbound::qos1_unacked || s == Inbound::qos2_received || s == Inbound::qos2_comp_withheld; };
    const Inbound from = inbound[id];
    if (counts(from) && !counts(to)) --inbound_in_flight;
    if (!counts(from) && counts(to)) ++inbound_in_flight;
    inbound[id] = to;
  }
  Inbound inbound_of(std::uint16_t id) const { return inbound.empty() ? Inbound::none : inbound[id]; }

  // ------------------------------------------------------------------ connection lifecycle
  void reset_connection() {
    framer = mqtt::Framer(mqtt::kMaxPacketSize);
    input_dead = false;
    connack_seen = false;
    disconnect_reason.reset();
    bytes_in = 0;
    ping_sent_at.reset();
    close_requested = false;
    closed_by_client = false;
    close_cause = {};
    broker_receive_maximum = 65535;
    broker_topic_alias_maximum = 0;
    broker_maximum_packet_size = mqtt::kMaxPacketSize;
    inbound_aliases.clear();
    outbound_aliases.clear();
    auto_aliases.clear();
    next_auto_alias = 1;
    pending_acks.clear();  // SUBSCRIBE/UNSUBSCRIBE are not re-sent on a new connection
    out.clear();
  }

  void transport_closed(TimeMs now, std::string_view client_cause = {}) {
    if (state == SessionState::disconnected) return;
    if (!client_cause.empty() && !closed_by_client) {
      closed_by_client = true;
      close_cause = client_cause;
    }
    event::ConnectionClosed e;
    e.by_client = closed_by_client;
    e.disconnect_reason = disconnect_reason;
    if (closed_by_client) {
      e.cause = close_cause;
    } else if (disconnect_reason) {
      e.cause = "broker sent DISCONNECT";
    } else {
      e.cause = "broker closed the connection";
    }
    e.at = now;
    emit(std::move(e));
    state = SessionState::disconnected;
    reset_connection();
  }

  void connect(const ConnectOptions& opts, TimeMs now) {
    if (state != SessionState::disconnected) transport_closed(now, "client opened a new connection");
    options = opts;
    version = opts.version;
    reset_connection();
    keep_alive = opts.keep_alive;
    last_sent = now;
    if (v5() && opts.maximum_packet_size) framer.set_maximum_packet_size(*opts.maximum_packet_size);
    if (opts.clean_start) clear_session(now);

    mqtt::Connect c;
    c.protocol_name = opts.protocol_name ? *opts.protocol_name
                                         : std::string(version == mqtt::Version::v3_1 ? "MQIsdp" : "MQTT");
    c.protocol_version = version;
    c.clean_start = opts.clean_start;
    c.keep_alive = opts.keep_alive;
    c.client_id = opts.client_id;
    c.will = opts.will;
    c.username = opts.username;
    c.password = opts.password;
    if (v5()) {
      using mqtt::PropertyId;
      if (opts.session_expiry_interval) c.properties.add_number(PropertyId::session_expiry_interval, *opts.session_expiry_interval);
      if (opts.receive_maximum) c.properties.add_number(PropertyId::receive_maximum, *opts.receive_maximum);
      if (opts.topic_alias_maximum) c.properties.add_number(PropertyId::topic_alias_maximum, *opts.topic_alias_maximum);
      if (opts.maximum_packet_size) c.properties.add_number(PropertyId::maximum_packet_size, *opts.maximum_packet_size);
      for (const auto& p : opts.properties) c.properties.push_back(p);
    }
    state = SessionState::connecting;
    write(mqtt::Packet(std::move(c)), now);
  }

  // ------------------------------------------------------------------ input
  void receive(mqtt::Bytes bytes, TimeMs now) {
    if (state == SessionState::disconnected || input_dead) return;
    bytes_in += bytes.size();
    framer.feed(bytes);
    while (!input_dead) {
      const auto frame = framer.next();
      if (frame.status == mqtt::FrameInfo::Status::need_more) break;
      if (frame.status == mqtt::FrameInfo::Status::error) {
        const bool too_large = frame.error.code == mqtt::Errc::packet_too_large;
        std::string_view spec = frame.error.spec;
        if (too_large && v5() && options.maximum_packet_size) spec = "MQTT-3.1.2-24";
        violation(spec, "cannot frame the broker's bytes: " + std::string(frame.error.message),
                  std::nullopt, frame.error.offset, now, true, frame.error.code);
        // The stream cannot be framed any more: whatever the configuration, stop reading.
        const std::uint8_t reason = too_large ? mqtt::reason::packet_too_large : mqtt::reason::malformed_packet;
        abandon_connection(reason, now);
        break;
      }
      const std::uint64_t start = framer.stream_offset() - frame.packet.size();
      handle_packet(frame.packet, start, now);
    }
  }

  void handle_packet(mqtt::Bytes raw, std::uint64_t start, TimeMs now) {
    mqtt::DecodeOptions decode_options;
    decode_options.version = wire_version();
    if (v5() && options.maximum_packet_size) decode_options.maximum_packet_size = *options.maximum_packet_size;
    const auto decoded = mqtt::decode(raw, decode_options);
    const auto type = type_of_first_byte(raw.data(), raw.size());
    if (!decoded.ok()) {
      const auto& err = decoded.error;
      violation(err.spec, "broker sent an invalid " + std::string(type ? mqtt::to_string(*type) : "packet") +
                              ": " + std::string(err.message),
                type, start, now, config.close_on_violation, err.code, err.offset);
      if (config.close_on_violation) {
        const auto code = static_cast<std::uint8_t>(err.code);
        abandon_connection(code >= 0x80 ? code : mqtt::reason::malformed_packet, now);
      }
      return;
    }
    if (config.trace_packets) {
      event::PacketReceived e;
      e.packet = mqtt::to_owned(decoded.value);
      e.raw.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
      e.at = now;
      emit(std::move(e));
    }
    std::visit([&](const auto& p) { on_packet(p, start, now); }, decoded.value);
  }

  // A packet only a client may send came from the broker.
  template <class P>
  void client_only_packet(const P&, std::uint64_t start, TimeMs now) {
    violation("", "broker sent " + std::string(mqtt::to_string(P::type)) + ", a packet only a client may send",
              P::type, start, now, config.close_on_violation);
    if (config.close_on_violation) abandon_connection(mqtt::reason::protocol_error, now);
  }

  void before_connack_check(mqtt::PacketType type, std::uint64_t start, TimeMs now) {
    if (!connack_seen && !(v5() && type == mqtt::PacketType::auth)) {
      violation("MQTT-3.2.0-1", "broker sent " + std::string(mqtt::to_string(type)) + " before CONNACK", type, start, now);
    }
  }

  void on_packet(const mqtt::ConnectView& p, std::uint64_t s, TimeMs now) { client_only_packet(p, s, now); }
  void on_packet(const mqtt::SubscribeView& p, std::uint64_t s, TimeMs now) { client_only_packet(p, s, now); }
  void on_packet(const mqtt::UnsubscribeView& p, std::uint64_t s, TimeMs now) { client_only_packet(p, s, now); }
  void on_packet(const mqtt::PingreqView& p, std::uint64_t s, TimeMs now) { client_only_packet(p, s, now); }

  void on_packet(const mqtt::ConnackView& p, std::uint64_t start, TimeMs now) {
    if (connack_seen) {
      violation(sid("MQTT-3.2.0-2", ""), "broker sent a second CONNACK on one connection",
                mqtt::PacketType::connack, start, now, config.close_on_violation);
      if (config.close_on_violation) abandon_connection(mqtt::reason::protocol_error, now);
      return;
    }
    connack_seen = true;
    session_present = p.session_present;
    if (p.session_present && p.reason_code != 0) {
      violation(sid("MQTT-3.2.2-6", "MQTT-3.2.2-4"), "CONNACK refuses the connection but has Session Present 1",
                mqtt::PacketType::connack, start, now);
    } else if (p.session_present && options.clean_start) {
      violation(sid("MQTT-3.2.2-2", "MQTT-3.2.2-1"), "CONNACK has Session Present 1 for a clean-start connection",
                mqtt::PacketType::connack, start, now);
    }
    if (v5()) {
      for (const auto& prop : p.properties) {
        switch (prop.id) {
          case mqtt::PropertyId::receive_maximum: broker_receive_maximum = static_cast<std::uint16_t>(prop.number); break;
          case mqtt::PropertyId::topic_alias_maximum: broker_topic_alias_maximum = static_cast<std::uint16_t>(prop.number); break;
          case mqtt::PropertyId::maximum_packet_size: broker_maximum_packet_size = prop.number; break;
          case mqtt::PropertyId::server_keep_alive: keep_alive = static_cast<std::uint16_t>(prop.number); break;  // [MQTT-3.2.2-21]
          case mqtt::PropertyId::assigned_client_identifier: assigned_client_id = std::string(prop.value); break;
          default: break;
        }
      }
      if (broker_receive_maximum == 0) broker_receive_maximum = 1;  // 0 is a protocol error the codec reports; keep sending one at a time
    }
    event::ConnackReceived e;
    e.session_present = p.session_present;
    e.reason_code = p.reason_code;
    e.properties = own_properties(p.properties);
    e.at = now;
    emit(std::move(e));

    if (p.reason_code != 0) {
      // Refused: the broker must close the connection [MQTT-3.2.2-5 / MQTT-3.2.2-7]; the
      // session waits for that rather than closing first, so the harness can observe it.
      state = SessionState::closing;
      return;
    }
    state = SessionState::connected;
    if (p.session_present) {
      resend_in_flight(now);
    } else {
      // No session on the broker: what was in flight there is gone (3.2.2.1.1).
      abandon_outbound("broker has no session (CONNACK session_present=0)", now);
      clear_inbound();
    }
    pump(now);
  }

  // Resuming a session: unacknowledged PUBLISH with DUP=1 and PUBREL for PUBREC'd ones, in
  // their original order [MQTT-4.4.0-1, MQTT-4.6.0-1, MQTT-3.3.1-1].
  void resend_in_flight(TimeMs now) {
    std::vector<std::uint32_t> order;
    for (std::uint32_t s = 0; s < slots.size(); ++s) {
      if (slots[s].stage == Stage::sent || slots[s].stage == Stage::released) order.push_back(s);
    }
    std::sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) { return slots[a].seq < slots[b].seq; });
    for (const std::uint32_t s : order) {
      Outbound& o = slots[s];
      if (o.stage == Stage::sent) {
        o.publish().dup = true;
        write_publish(o.packet, o.topic_alias, now);
      } else {
        mqtt::Pubrel rel;
        rel.packet_id = o.publish().packet_id;
        write(mqtt::Packet(std::move(rel)), now);
        o.pubrel_sent = true;
      }
    }
  }

  void on_packet(const mqtt::PublishView& p, std::uint64_t start, TimeMs now) {
    before_connack_check(mqtt::PacketType::publish, start, now);
    // Topic alias resolution (3.3.2.3.4): aliases are per connection [MQTT-3.3.2-7].
    std::string_view topic = p.topic;
    if (v5()) {
      if (const auto alias_prop = p.properties.find(mqtt::PropertyId::topic_alias)) {
        const std::uint32_t alias = alias_prop->number;
        const std::uint16_t our_max = options.topic_alias_maximum.value_or(0);
        if (alias == 0 || alias > our_max) {
          const std::string_view spec = alias == 0 ? "MQTT-3.3.2-8" : (our_max == 0 ? "MQTT-3.1.2-27" : "MQTT-3.3.2-11");
          violation(spec, "broker used Topic Alias " + std::to_string(alias) + " (client's Topic Alias Maximum is " +
                              std::to_string(our_max) + ")",
                    mqtt::PacketType::publish, start, now, config.close_on_violation);
          if (config.close_on_violation) {
            abandon_connection(mqtt::reason::topic_alias_invalid, now);
            return;
          }
          if (topic.empty()) return;  // nothing to deliver to
        } else if (!topic.empty()) {
          if (inbound_aliases.size() <= alias) inbound_aliases.resize(std::size_t(alias) + 1);
          inbound_aliases[alias].assign(topic);
        } else if (alias < inbound_aliases.size() && !inbound_aliases[alias].empty()) {
          topic = inbound_aliases[alias];
        } else {
          violation("", "broker sent PUBLISH with an empty topic and Topic Alias " + std::to_string(alias) +
                            " that has no mapping on this connection (3.3.2.3.4: Protocol Error)",
                    mqtt::PacketType::publish, start, now, config.close_on_violation);
          if (config.close_on_violation) {
            abandon_connection(mqtt::reason::protocol_error, now);
            return;
          }
          acknowledge_unresolvable(p, now);
          return;
        }
      }
    }

    if (p.qos == 0) {
      deliver(p, topic, now);
      return;
    }
    const std::uint16_t id = p.packet_id;
    const Inbound st = inbound_of(id);
    const auto window_check = [&] {
      const std::size_t window = v5() ? options.receive_maximum.value_or(65535) : 65535;
      if (v5() && inbound_in_flight >= window) {
        violation("MQTT-3.3.4-9", "broker sent a QoS " + std::to_string(p.qos) + " PUBLISH beyond the client's Receive Maximum " +
                                      std::to_string(window) + " (" + std::to_string(inbound_in_flight) + " unacknowledged)",
                  mqtt::PacketType::publish, start, now);
      }
    };
    const auto resent_after_pubrel = [&] {
      violation(sid("MQTT-4.3.3-6", "MQTT-4.3.3-1"),
                "broker re-sent QoS 2 PUBLISH (DUP=1) on packet id " + std::to_string(id) +
                    " after PUBREL: the message is delivered a second time",
                mqtt::PacketType::publish, start, now);
    };
    const auto id_reuse = [&] {
      violation(sid("MQTT-2.2.1-4", "MQTT-2.3.1-4"),
                "broker sent a new PUBLISH (DUP=0) on packet id " + std::to_string(id) + " while that id is still in flight",
                mqtt::PacketType::publish, start, now);
    };

    if (p.qos == 1) {
      if (st == Inbound::qos1_unacked) {
        if (!p.dup) id_reuse();
      } else {
        if (st == Inbound::qos2_received || st == Inbound::qos2_comp_withheld) id_reuse();
        window_check();
      }
      deliver(p, topic, now);
      if (take_count(misbehave.withhold_puback)) {
        set_inbound(id, Inbound::qos1_unacked);
      } else {
        set_inbound(id, Inbound::none);
        mqtt::Puback ack;
        ack.packet_id = id;
        write(mqtt::Packet(std::move(ack)), now);
      }
      return;
    }

    // QoS 2 (4.3.3, method B: the packet id is stored until PUBREL).
    bool deliver_it = true;
    switch (st) {
      case Inbound::qos2_received:
        if (p.dup) {
          deliver_it = false;  // legitimate re-send: PUBREC again, no second delivery [MQTT-4.3.3-10]
        } else {
          id_reuse();
          deliver_it = false;
        }
        break;
      case Inbound::qos2_released:
        // A DUP=1 copy of a message this id already carried and released: the broker re-sent
        // the PUBLISH after PUBREL. Matching the content (not just the id) keeps a long-ago
        // use of the id from being mistaken for this one.
        if (p.dup && recently_received(id, content_hash(topic, p.payload))) resent_after_pubrel();
        window_check();
        break;
      case Inbound::qos2_comp_withheld:
        if (p.dup) {
          resent_after_pubrel();
        } else {
          id_reuse();
        }
        break;
      case Inbound::qos1_unacked:
        id_reuse();
        break;
      case Inbound::none:
        window_check();
        break;
    }
    if (deliver_it) {
      deliver(p, topic, now);
      remember_received(id, content_hash(topic, p.payload));
    }
    set_inbound(id, Inbound::qos2_received);
    if (!take_count(misbehave.withhold_pubrec)) {
      mqtt::Pubrec rec;
      rec.packet_id = id;
      write(mqtt::Packet(std::move(rec)), now);
    }
  }

  // Recent QoS 2 receipts (packet id + content hash), a fixed ring: enough to recognise a
  // re-send after PUBREL without per-message allocation.
  static std::uint32_t content_hash(std::string_view topic, std::string_view payload) {
    std::uint32_t h = 2166136261u;  // FNV-1a
    const auto mix = [&h](std::string_view s) {
      for (const char c : s) h = (h ^ static_cast<std::uint8_t>(c)) * 16777619u;
    };
    mix(topic);
    h = (h ^ 0xFFu) * 16777619u;
    mix(payload);
    return h;
  }
  void remember_received(std::uint16_t id, std::uint32_t hash) {
    if (received_ring.empty()) received_ring.assign(kReceivedRing, RecentQos2{});
    received_ring[received_ring_pos] = RecentQos2{hash, id, true};
    received_ring_pos = (received_ring_pos + 1) % kReceivedRing;
  }
  bool recently_received(std::uint16_t id, std::uint32_t hash) const {
    return std::any_of(received_ring.begin(), received_ring.end(),
                       [&](const RecentQos2& r) { return r.used && r.id == id && r.hash == hash; });
  }

  // A PUBLISH we cannot deliver (unresolvable alias) is still acknowledged so the flow ends.
  // 0x94 Topic Alias invalid is a DISCONNECT reason only; PUBACK/PUBREC allow 0x90 Topic Name
  // invalid [MQTT-3.4.2-1, MQTT-3.5.2-1] (found by fuzz target client_session).
  void acknowledge_unresolvable(const mqtt::PublishView& p, TimeMs now) {
    if (p.qos == 1) {
      mqtt::Puback ack;
      ack.packet_id = p.packet_id;
      ack.reason_code = mqtt::reason::topic_name_invalid;
      write(mqtt::Packet(std::move(ack)), now);
    } else if (p.qos == 2) {
      mqtt::Pubrec rec;
      rec.packet_id = p.packet_id;
      rec.reason_code = mqtt::reason::topic_name_invalid;
      write(mqtt::Packet(std::move(rec)), now);
    }
  }

  void deliver(const mqtt::PublishView& p, std::string_view topic, TimeMs now) {
    event::MessageDelivered e;
    e.topic.assign(topic);
    e.payload.assign(p.payload);
    e.qos = p.qos;
    e.retain = p.retain;
    e.dup = p.dup;
    e.packet_id = p.packet_id;
    if (!p.properties.empty()) e.properties = own_properties(p.properties);
    e.at = now;
    emit(std::move(e));
  }

  void completed(std::uint32_t slot, mqtt::PacketType ack, std::uint8_t reason_code, TimeMs now) {
    Outbound& o = slots[slot];
    event::PublishCompleted e;
    e.packet_id = o.publish().packet_id;
    e.message_id = o.message_id;
    e.qos = o.publish().qos;
    e.ack = ack;
    e.reason_code = reason_code;
    e.at = now;
    emit(std::move(e));
    free_slot(slot);
    pump(now);
  }

  void unknown_ack(mqtt::PacketType type, std::uint16_t id, std::string_view what, std::uint64_t start, TimeMs now) {
    violation(sid("MQTT-2.2.1-5", "MQTT-2.3.1-6"),
              std::string(mqtt::to_string(type)) + " for packet id " + std::to_string(id) + " " + std::string(what),
              type, start, now);
  }

  void on_packet(const mqtt::PubackView& p, std::uint64_t start, TimeMs now) {
    before_connack_check(mqtt::PacketType::puback, start, now);
    const std::uint32_t s = find_slot(p.packet_id, Stage::sent);
    if (s == kNoSlot || slots[s].publish().qos != 1) {
      unknown_ack(mqtt::PacketType::puback, p.packet_id,
                  s == kNoSlot ? "that has no QoS 1 PUBLISH in flight" : "of a QoS 2 PUBLISH", start, now);
      return;
    }
    completed(s, mqtt::PacketType::puback, p.reason_code, now);
  }

  void on_packet(const mqtt::PubrecView& p, std::uint64_t start, TimeMs now) {
    before_connack_check(mqtt::PacketType::pubrec, start, now);
    std::uint32_t s = find_slot(p.packet_id, Stage::sent, Stage::released);
    if (s != kNoSlot && slots[s].publish().qos != 2) s = kNoSlot;
    if (s == kNoSlot) {
      unknown_ack(mqtt::PacketType::pubrec, p.packet_id, "that has no QoS 2 PUBLISH in flight", start, now);
      if (v5()) {  // 4.3.3: answer PUBREL 0x92 (Packet Identifier not found)
        mqtt::Pubrel rel;
        rel.packet_id = p.packet_id;
        rel.reason_code = mqtt::reason::packet_identifier_not_found;
        write(mqtt::Packet(std::move(rel)), now);
      }
      return;
    }
    if (p.reason_code >= 0x80) {  // refused: acknowledged, never retransmitted [MQTT-4.4.0-2]
      completed(s, mqtt::PacketType::pubrec, p.reason_code, now);
      return;
    }
    Outbound& o = slots[s];
    if (o.stage == Stage::sent) {  // the first PUBREC; a repeated one accepts nothing new
      event::PublishAccepted e;
      e.packet_id = p.packet_id;
      e.message_id = o.message_id;
      e.at = now;
      emit(std::move(e));
    }
    o.stage = Stage::released;
    if (take_count(misbehave.skip_pubrel)) return;
    mqtt::Pubrel rel;
    rel.packet_id = p.packet_id;
    write(mqtt::Packet(std::move(rel)), now);
    o.pubrel_sent = true;
  }

  void on_packet(const mqtt::PubrelView& p, std::uint64_t start, TimeMs now) {
    before_connack_check(mqtt::PacketType::pubrel, start, now);
    const Inbound st = inbound_of(p.packet_id);
    std::uint8_t reason = mqtt::reason::success;
    if (st == Inbound::qos2_received || st == Inbound::qos2_comp_withheld) {
      if (take_count(misbehave.withhold_pubcomp)) {
        set_inbound(p.packet_id, Inbound::qos2_comp_withheld);
        return;
      }
    } else if (st != Inbound::qos2_released) {
      // Not necessarily a violation: after a reconnect the broker re-sends PUBREL for a
      // message whose PUBCOMP it never saw. 5.0 answers 0x92 when the id is unknown.
      if (v5()) reason = mqtt::reason::packet_identifier_not_found;
    }
    set_inbound(p.packet_id, Inbound::qos2_released);
    mqtt::Pubcomp comp;
    comp.packet_id = p.packet_id;
    comp.reason_code = reason;
    write(mqtt::Packet(std::move(comp)), now);
  }

  void on_packet(const mqtt::PubcompView& p, std::uint64_t start, TimeMs now) {
    before_connack_check(mqtt::PacketType::pubcomp, start, now);
    const std::uint32_t s = find_slot(p.packet_id, Stage::released);
    if (s == kNoSlot) {
      const bool before_pubrec = find_slot(p.packet_id, Stage::sent) != kNoSlot;
      unknown_ack(mqtt::PacketType::pubcomp, p.packet_id,
                  before_pubrec ? "before its PUBREC (no PUBREL sent)" : "that has no QoS 2 PUBLISH in flight", start, now);
      return;
    }
    completed(s, mqtt::PacketType::pubcomp, p.reason_code, now);
  }

  std::optional<PendingAck> take_pending(std::uint16_t id, bool subscribe) {
    for (auto it = pending_acks.begin(); it != pending_acks.end(); ++it) {
      if (it->packet_id == id && it->subscribe == subscribe) {
        PendingAck p = *it;
        pending_acks.erase(it);
        return p;
      }
    }
    return std::nullopt;
  }

  void on_packet(const mqtt::SubackView& p, std::uint64_t start, TimeMs now) {
    before_connack_check(mqtt::PacketType::suback, start, now);
    const auto pending = take_pending(p.packet_id, true);
    if (!pending) {
      violation("MQTT-3.8.4-2", "SUBACK for packet id " + std::to_string(p.packet_id) + " that has no SUBSCRIBE waiting",
                mqtt::PacketType::suback, start, now);
    } else if (pending->count != p.reason_codes.size()) {
      violation(sid("MQTT-3.8.4-6", "MQTT-3.8.4-5"),
                "SUBACK has " + std::to_string(p.reason_codes.size()) + " reason codes for " +
                    std::to_string(pending->count) + " subscriptions",
                mqtt::PacketType::suback, start, now);
    }
    event::SubackReceived e;
    e.packet_id = p.packet_id;
    e.reason_codes = p.reason_codes;
    e.properties = own_properties(p.properties);
    e.at = now;
    emit(std::move(e));
  }

  void on_packet(const mqtt::UnsubackView& p, std::uint64_t start, TimeMs now) {
    before_connack_check(mqtt::PacketType::unsuback, start, now);
    const auto pending = take_pending(p.packet_id, false);
    if (!pending) {
      violation(sid("MQTT-2.2.1-6", "MQTT-2.3.1-7"),
                "UNSUBACK for packet id " + std::to_string(p.packet_id) + " that has no UNSUBSCRIBE waiting",
                mqtt::PacketType::unsuback, start, now);
    } else if (v5() && pending->count != p.reason_codes.size()) {
      violation("MQTT-3.11.3-2",
                "UNSUBACK has " + std::to_string(p.reason_codes.size()) + " reason codes for " +
                    std::to_string(pending->count) + " filters",
                mqtt::PacketType::unsuback, start, now);
    }
    event::UnsubackReceived e;
    e.packet_id = p.packet_id;
    e.reason_codes = p.reason_codes;
    e.properties = own_properties(p.properties);
    e.at = now;
    emit(std::move(e));
  }

  void on_packet(const mqtt::PingrespView&, std::uint64_t start, TimeMs now) {
    before_connack_check(mqtt::PacketType::pingresp, start, now);
    ping_sent_at.reset();
  }

  void on_packet(const mqtt::DisconnectView& p, std::uint64_t start, TimeMs now) {
    if (!v5()) {
      violation("", "broker sent DISCONNECT, which only a client may send in MQTT 3.1.1",
                mqtt::PacketType::disconnect, start, now);
    } else if (!connack_seen) {
      violation("MQTT-3.14.0-1", "broker sent DISCONNECT before CONNACK", mqtt::PacketType::disconnect, start, now);
    }
    disconnect_reason = p.reason_code;
    event::DisconnectReceived e;
    e.reason_code = p.reason_code;
    e.properties = own_properties(p.properties);
    e.at = now;
    emit(std::move(e));
    // The broker closes the connection after DISCONNECT; nothing after it is read.
    input_dead = true;
  }

  void on_packet(const mqtt::AuthView&, std::uint64_t start, TimeMs now) {
    const bool has_method = std::any_of(options.properties.begin(), options.properties.end(), [](const mqtt::Property& p) {
      return p.id == mqtt::PropertyId::authentication_method;
    });
    if (!has_method) {
      violation("MQTT-4.12.0-6", "broker sent AUTH although CONNECT had no Authentication Method",
                mqtt::PacketType::auth, start, now);
    }
  }

  // ------------------------------------------------------------------ time
  // 0: no limit (keep-alive off and no explicit timeout).
  TimeMs pingresp_timeout() const {
    return config.pingresp_timeout_ms > 0 ? config.pingresp_timeout_ms : TimeMs(keep_alive) * 1000;
  }

  std::optional<TimeMs> next_deadline() const {
    if (state != SessionState::connected) return std::nullopt;
    std::optional<TimeMs> d;
    if (keep_alive > 0 && !misbehave.suppress_pingreq && !ping_sent_at) d = last_sent + TimeMs(keep_alive) * 1000;
    if (ping_sent_at && pingresp_timeout() > 0) {
      const TimeMs t = *ping_sent_at + pingresp_timeout();
      d = d ? std::min(*d, t) : t;
    }
    return d;
  }

  void send_pingreq(TimeMs now) {
    write(mqtt::Packet(mqtt::Pingreq{}), now);
    if (!ping_sent_at) ping_sent_at = now;
  }

  void advance(TimeMs now) {
    if (state != SessionState::connected) return;
    if (ping_sent_at && pingresp_timeout() > 0 && now >= *ping_sent_at + pingresp_timeout()) {
      violation("MQTT-3.12.4-1",
                "no PINGRESP within " + std::to_string(pingresp_timeout()) + " ms of PINGREQ",
                mqtt::PacketType::pingresp, bytes_in, now, true);
      input_dead = true;
      request_close("keep-alive timeout: no PINGRESP");
      return;
    }
    // [MQTT-3.1.2-23]: a packet at least every Keep Alive seconds; PINGREQ when idle.
    if (keep_alive > 0 && !misbehave.suppress_pingreq && !ping_sent_at &&
        now >= last_sent + TimeMs(keep_alive) * 1000) {
      send_pingreq(now);
    }
  }
};

// ---------------------------------------------------------------------------------------

ClientSession::ClientSession(SessionConfig config) : impl_(std::make_unique<Impl>(config)) {}
ClientSession::~ClientSession() = default;
ClientSession::ClientSession(ClientSession&&) noexcept = default;
ClientSession& ClientSession::operator=(ClientSession&&) noexcept = default;

void ClientSession::connect(const ConnectOptions& options, TimeMs now) { impl_->connect(options, now); }

void ClientSession::disconnect(TimeMs now, std::uint8_t reason_code, mqtt::Properties properties) {
  Impl& s = *impl_;
  if (!s.has_connection()) return;
  mqtt::Disconnect d;
  if (s.v5()) {
    d.reason_code = reason_code;
    d.properties = std::move(properties);
  }
  s.write(mqtt::Packet(std::move(d)), now);
  s.request_close("client sent DISCONNECT");
}

CommandResult ClientSession::subscribe(SubscribeRequest request, TimeMs now) {
  Impl& s = *impl_;
  CommandResult r;
  if (!s.has_connection()) return r.error = CommandError::not_connected, r;
  const auto id = s.allocate_id();
  if (!id) return r.error = CommandError::no_packet_id_free, r;
  mqtt::Subscribe sub;
  sub.packet_id = *id;
  if (s.v5()) {
    if (request.subscription_identifier) {
      sub.properties.add_number(mqtt::PropertyId::subscription_identifier, *request.subscription_identifier);
    }
    for (const auto& p : request.properties) sub.properties.push_back(p);
  }
  const auto count = static_cast<std::uint32_t>(request.subscriptions.size());
  sub.subscriptions = std::move(request.subscriptions);
  if (!s.write(mqtt::Packet(std::move(sub)), now)) return r.error = CommandError::encode_failed, r;
  s.pending_acks.push_back(PendingAck{*id, count, true});
  r.packet_id = *id;
  return r;
}

CommandResult ClientSession::unsubscribe(UnsubscribeRequest request, TimeMs now) {
  Impl& s = *impl_;
  CommandResult r;
  if (!s.has_connection()) return r.error = CommandError::not_connected, r;
  const auto id = s.allocate_id();
  if (!id) return r.error = CommandError::no_packet_id_free, r;
  mqtt::Unsubscribe unsub;
  unsub.packet_id = *id;
  if (s.v5()) unsub.properties = std::move(request.properties);
  const auto count = static_cast<std::uint32_t>(request.filters.size());
  unsub.filters = std::move(request.filters);
  if (!s.write(mqtt::Packet(std::move(unsub)), now)) return r.error = CommandError::encode_failed, r;
  s.pending_acks.push_back(PendingAck{*id, count, false});
  r.packet_id = *id;
  return r;
}

CommandResult ClientSession::publish(PublishRequest request, TimeMs now) {
  Impl& s = *impl_;
  CommandResult r;
  if (request.qos > 2) return r.error = CommandError::invalid_argument, r;
  if (request.qos == 0) {
    if (!s.has_connection()) return r.error = CommandError::not_connected, r;
    mqtt::Packet packet{mqtt::Publish{}};
    auto& p = std::get<mqtt::Publish>(packet);
    p.qos = 0;
    p.retain = request.retain;
    p.topic = std::move(request.topic);
    p.payload = std::move(request.payload);
    if (s.v5()) p.properties = std::move(request.properties);
    r.message_id = s.next_message_id++;
    if (!s.write_publish(packet, request.topic_alias, now)) r.error = CommandError::encode_failed;
    return r;
  }
  const auto id = s.allocate_id();
  if (!id) return r.error = CommandError::no_packet_id_free, r;
  const std::uint32_t slot = s.new_slot();
  Outbound& o = s.slots[slot];
  auto& p = o.publish();
  p.dup = false;
  p.qos = request.qos;
  p.retain = request.retain;
  p.packet_id = *id;
  p.topic = std::move(request.topic);
  p.payload = std::move(request.payload);
  p.properties = s.v5() ? std::move(request.properties) : mqtt::Properties{};
  o.topic_alias = request.topic_alias;
  o.message_id = s.next_message_id++;
  o.seq = s.next_seq++;
  o.stage = Stage::queued;
  o.pubrel_sent = false;
  // Refuse what can never be encoded before it enters the store.
  if (!mqtt::encoded_size(o.packet, s.wire_version()).ok()) {
    p.payload = std::string();
    o.stage = Stage::free;
    s.free_slots.push_back(slot);
    --s.next_message_id;
    --s.next_seq;
    return r.error = CommandError::encode_failed, r;
  }
  s.link_id(slot);
  ++s.outbound_count;
  s.queue.push_back(slot);
  s.pump(now);
  r.packet_id = *id;
  r.message_id = o.message_id;
  return r;
}

void ClientSession::ping(TimeMs now) {
  if (!impl_->has_connection()) return;
  impl_->send_pingreq(now);
}

void ClientSession::send_raw(mqtt::Bytes bytes, TimeMs now) {
  Impl& s = *impl_;
  if (!s.has_connection()) return;
  const std::size_t old = s.out.size();
  s.out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  s.note_sent(old, now);
}

void ClientSession::send_raw(std::string_view bytes, TimeMs now) {
  send_raw(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), now);
}

CommandResult ClientSession::send_packet(const mqtt::Packet& packet, TimeMs now) {
  CommandResult r;
  if (!impl_->has_connection()) return r.error = CommandError::not_connected, r;
  if (!impl_->write(packet, now)) r.error = CommandError::encode_failed;
  return r;
}

void ClientSession::receive(mqtt::Bytes bytes, TimeMs now) { impl_->receive(bytes, now); }
void ClientSession::receive(std::string_view bytes, TimeMs now) {
  impl_->receive(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), now);
}
void ClientSession::advance(TimeMs now) { impl_->advance(now); }
void ClientSession::transport_closed(TimeMs now, std::string_view client_cause) {
  impl_->transport_closed(now, client_cause);
}

bool ClientSession::has_output() const { return !impl_->out.empty(); }
void ClientSession::take_output(std::string& into) {
  into.clear();
  into.swap(impl_->out);
}
std::string ClientSession::take_output() {
  std::string s;
  take_output(s);
  return s;
}
bool ClientSession::has_events() const { return !impl_->events.empty(); }
void ClientSession::take_events(std::vector<Event>& into) {
  into.clear();
  into.swap(impl_->events);
}
std::vector<Event> ClientSession::take_events() {
  std::vector<Event> v;
  take_events(v);
  return v;
}
std::optional<TimeMs> ClientSession::next_deadline() const { return impl_->next_deadline(); }
bool ClientSession::close_requested() const { return impl_->close_requested; }

SessionState ClientSession::state() const { return impl_->state; }
mqtt::Version ClientSession::version() const { return impl_->version; }
const ConnectOptions& ClientSession::connect_options() const { return impl_->options; }
bool ClientSession::session_present() const { return impl_->session_present; }
std::optional<std::string> ClientSession::assigned_client_id() const { return impl_->assigned_client_id; }
std::uint16_t ClientSession::keep_alive() const { return impl_->keep_alive; }
std::uint16_t ClientSession::broker_receive_maximum() const { return impl_->broker_receive_maximum; }
std::uint16_t ClientSession::broker_topic_alias_maximum() const { return impl_->broker_topic_alias_maximum; }
std::uint32_t ClientSession::broker_maximum_packet_size() const { return impl_->broker_maximum_packet_size; }
std::size_t ClientSession::outbound_in_flight() const { return impl_->outbound_in_flight; }
std::size_t ClientSession::outbound_queued() const { return impl_->outbound_count - impl_->outbound_in_flight; }
std::size_t ClientSession::inbound_in_flight() const { return impl_->inbound_in_flight; }
bool ClientSession::packet_id_in_use(std::uint16_t id) const { return impl_->id_in_use(id); }
std::uint64_t ClientSession::bytes_received() const { return impl_->bytes_in; }
std::uint64_t ClientSession::violations() const { return impl_->violation_count; }
SessionConfig& ClientSession::config() { return impl_->config; }
Misbehaviour& ClientSession::misbehaviour() { return impl_->misbehave; }
void ClientSession::clear_session(TimeMs now) { impl_->clear_session(now); }

}  // namespace mqtth::client
