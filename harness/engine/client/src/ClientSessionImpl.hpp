// ClientSession::Impl, private to harness/engine/client: the session's state and the
// declaration of its handlers, each defined in the file of its concern:
//
//   ClientSession.cpp  the public ClientSession methods that only forward, outputs, state
//   output.cpp         what the session writes and reports: packets encoded into the
//                      output and traced (PacketSent), raw sends, violations, close requests
//   findings.cpp       the findings table (Findings.hpp): which statement each kind of
//                      broker violation cites, and report(), which every check calls
//   raw.cpp            what the session learns from send_raw() bytes: the packets the broker
//                      may answer, and whether they broke a rule the broker had to enforce
//   receive.cpp        bytes from the broker: framing, decoding, dispatch per packet type,
//                      packets only a client may send
//   connect.cpp        CONNECT, CONNACK and session resumption, DISCONNECT both ways,
//                      AUTH, the end of a connection, clean start
//   inflight.cpp       the in-flight store: packet ids, outbound slots, inbound per-id state
//   publish_out.cpp    our PUBLISH: QoS 1/2 flows, the broker's Receive Maximum, outbound
//                      topic aliases, PUBACK / PUBREC / PUBCOMP from the broker
//   publish_in.cpp     the broker's PUBLISH: topic aliases, QoS 1/2 answers, PUBREL,
//                      duplicate, re-send and window checks, flows owed after a resume
//   subscribe.cpp      SUBSCRIBE / UNSUBSCRIBE and their acknowledgements
//   time.cpp           keep-alive: PINGREQ when idle, a missing PINGRESP
//
// The output lives in one string that the shell takes whole (batched writes).
#pragma once

#include <mqtth/client/ClientSession.hpp>

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mqtth::client::detail {

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
  // The request broke on purpose a rule the broker must close the connection on (packet
  // id 0 [MQTT-2.3.1-1]), so it must not be answered; `broke` names the rule ("" if none).
  bool refusable = false;
  std::string_view broke;
};

// A packet written with send_raw() that the broker may answer (PUBLISH QoS 1/2, PUBREC,
// PUBREL, SUBSCRIBE, UNSUBSCRIBE, CONNECT), until it does or the connection ends.
struct RawSent {
  mqtt::PacketType type = mqtt::PacketType::publish;
  std::uint16_t packet_id = 0;
  std::uint8_t qos = 0;            // PUBLISH
  std::uint32_t count = 0;         // SUBSCRIBE / UNSUBSCRIBE: subscriptions / filters
  bool refusable = false;          // the codec calls it a protocol error: the broker must close
  std::string_view broke;          // the codec's statement for it ("" if it has none)
};

// The Properties of a decoded view, owned (for events).
mqtt::Properties own_properties(const mqtt::PropertiesView& view);

}  // namespace mqtth::client::detail

namespace mqtth::client {

// Layout of the state:
//  - outbound QoS 1/2 publishes live in a slot pool (slots, reused through free_slots),
//    reached by packet id through a lazily allocated 65536-entry index; no allocation per
//    message beyond the message's own strings once the pool has grown;
//  - inbound QoS 1/2 state is one byte per packet id (also lazy).
struct ClientSession::Impl {
  using Inbound = detail::Inbound;
  using Stage = detail::Stage;
  using Outbound = detail::Outbound;
  using PendingAck = detail::PendingAck;
  static constexpr std::uint32_t kNoSlot = detail::kNoSlot;

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
  std::vector<detail::RawSent> raw_sent;             // send_raw() packets not answered yet
  bool raw_unreadable = false;                       // send_raw() wrote bytes that are no whole packet
  std::vector<std::uint16_t> owed_resends;            // inbound flows the resumed session owes (4.4)
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
  // Whether the session saw its whole life: it began with a clean start, or the broker said
  // it had no session. Only then is a PUBREL for an id this session never received a QoS 2
  // PUBLISH on the broker's error, not the trace of an earlier client of the session.
  bool history_known = false;
  struct RecentReceipt {   // the content of a QoS 1/2 message still tracked by packet id
    std::uint32_t hash = 0;
    std::uint16_t id = 0;
    bool used = false;
  };
  static constexpr std::size_t kReceivedRing = 4096;
  std::vector<RecentReceipt> received_ring;   // lazy
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

  // --- findings.cpp ---------------------------------------------------------------------
  // Reports a BrokerViolation of `kind`, citing the table's statement for this version;
  // `also` adds a statement to see_also (e.g. the rule a refused packet broke).
  void report(Finding kind, std::string message, std::optional<mqtt::PacketType> type, std::uint64_t stream_offset,
              TimeMs now, bool fatal = false, std::string_view also = {});
  // The broker answered `request`, which breaks `broke` on purpose, instead of closing.
  void answered_refusable(mqtt::PacketType answer, std::uint16_t packet_id, mqtt::PacketType request,
                          std::string_view broke, std::uint64_t start, TimeMs now);
  // The same with the statement given (the codec's, for codec findings).
  void report_with_spec(Finding kind, std::string_view spec, std::string message, std::optional<mqtt::PacketType> type,
                        std::uint64_t stream_offset, TimeMs now, bool fatal, mqtt::Errc code,
                        std::uint32_t offset_in_packet, std::string_view also = {});

  // --- raw.cpp --------------------------------------------------------------------------
  void note_raw(mqtt::Bytes bytes);
  // The raw packet `answer` (PUBACK for a PUBLISH ...) with this packet id answers, taken
  // off the record; nullopt when none.
  std::optional<detail::RawSent> take_raw_answered(mqtt::PacketType answer, std::uint16_t packet_id);
  bool raw_request_uses(std::uint16_t packet_id) const;
  bool raw_connect_sent() const;
  // Whether this connection has an outstanding request with packet id 0 that `answer`
  // would answer (our own misbehaving SUBSCRIBE / PUBLISH, or a raw one): then an answer
  // with id 0 echoes it instead of breaking the id rules.
  bool awaits_answer_with_id_zero(mqtt::PacketType answer) const;

  // --- output.cpp -----------------------------------------------------------------------
  void violation(std::string_view spec, std::string message, std::optional<mqtt::PacketType> type,
                 std::uint64_t stream_offset, TimeMs now, bool fatal = false,
                 mqtt::Errc code = mqtt::Errc::protocol_error, std::uint32_t offset_in_packet = 0);
  void abandon_connection(std::uint8_t reason_code, TimeMs now);
  void request_close(std::string_view cause);
  bool write(const mqtt::Packet& packet, TimeMs now);
  // `packet`: what out[from..] was encoded from; nullptr for send_raw() bytes, which are
  // decoded here once (only when traced) so that listeners get a packet either way.
  void note_sent(std::size_t from, TimeMs now, const mqtt::Packet* packet);

  // --- receive.cpp ----------------------------------------------------------------------
  void receive(mqtt::Bytes bytes, TimeMs now);
  void handle_packet(mqtt::Bytes raw, std::uint64_t start, TimeMs now);
  template <class P>
  void client_only_packet(const P&, std::uint64_t start, TimeMs now);
  void before_connack_check(mqtt::PacketType type, std::uint64_t start, TimeMs now);
  // One handler per packet type, each in the file of its concern.
  void on_packet(const mqtt::ConnectView& p, std::uint64_t s, TimeMs now);      // receive.cpp
  void on_packet(const mqtt::SubscribeView& p, std::uint64_t s, TimeMs now);    // receive.cpp
  void on_packet(const mqtt::UnsubscribeView& p, std::uint64_t s, TimeMs now);  // receive.cpp
  void on_packet(const mqtt::PingreqView& p, std::uint64_t s, TimeMs now);      // receive.cpp
  void on_packet(const mqtt::ConnackView& p, std::uint64_t start, TimeMs now);     // connect.cpp
  void on_packet(const mqtt::DisconnectView& p, std::uint64_t start, TimeMs now);  // connect.cpp
  void on_packet(const mqtt::AuthView&, std::uint64_t start, TimeMs now);          // connect.cpp
  void on_packet(const mqtt::PublishView& p, std::uint64_t start, TimeMs now);  // publish_in.cpp
  void on_packet(const mqtt::PubrelView& p, std::uint64_t start, TimeMs now);   // publish_in.cpp
  void on_packet(const mqtt::PubackView& p, std::uint64_t start, TimeMs now);   // publish_out.cpp
  void on_packet(const mqtt::PubrecView& p, std::uint64_t start, TimeMs now);   // publish_out.cpp
  void on_packet(const mqtt::PubcompView& p, std::uint64_t start, TimeMs now);  // publish_out.cpp
  void on_packet(const mqtt::SubackView& p, std::uint64_t start, TimeMs now);    // subscribe.cpp
  void on_packet(const mqtt::UnsubackView& p, std::uint64_t start, TimeMs now);  // subscribe.cpp
  void on_packet(const mqtt::PingrespView&, std::uint64_t start, TimeMs now);    // time.cpp

  // --- connect.cpp ----------------------------------------------------------------------
  void connect(const ConnectOptions& opts, TimeMs now);
  void reset_connection();
  void transport_closed(TimeMs now, std::string_view client_cause = {});
  void resend_in_flight(TimeMs now);
  void clear_session(TimeMs now);

  // --- inflight.cpp ---------------------------------------------------------------------
  void ensure_id_index() {
    if (slot_of_id.empty()) slot_of_id.assign(detail::kIdSpace, kNoSlot);
  }
  void ensure_inbound() {
    if (inbound.empty()) inbound.assign(detail::kIdSpace, Inbound::none);
  }
  bool id_in_use(std::uint16_t id) const;
  std::optional<std::uint16_t> allocate_id();
  std::uint32_t new_slot();
  void link_id(std::uint32_t slot);
  void unlink_id(std::uint32_t slot);
  void free_slot(std::uint32_t slot);
  std::uint32_t find_slot(std::uint16_t id, Stage a, Stage b = Stage::free) const;
  void abandon_outbound(std::string_view why, TimeMs now);
  void clear_inbound();
  void set_inbound(std::uint16_t id, Inbound to);
  Inbound inbound_of(std::uint16_t id) const { return inbound.empty() ? Inbound::none : inbound[id]; }
  // "The same message": topic, payload and QoS (the session knows no ledger format).
  static std::uint32_t content_hash(std::string_view topic, std::string_view payload, std::uint8_t qos);
  void remember_received(std::uint16_t id, std::uint32_t hash);
  // The content the broker last sent on this packet id, if the ring still holds it.
  std::optional<std::uint32_t> last_received(std::uint16_t id) const;

  // --- publish_out.cpp ------------------------------------------------------------------
  bool write_publish(mqtt::Packet& packet, std::uint16_t explicit_alias, TimeMs now);
  std::size_t send_window() const;
  void pump(TimeMs now);
  void completed(std::uint32_t slot, mqtt::PacketType ack, std::uint8_t reason_code, TimeMs now);
  // PUBACK / PUBREC / PUBCOMP that match no PUBLISH of ours: an answer to a raw packet (checked
  // against its QoS), or a violation. True when it answered a raw packet.
  bool answers_raw(mqtt::PacketType type, std::uint16_t id, std::uint64_t start, TimeMs now);

  // --- publish_in.cpp -------------------------------------------------------------------
  void acknowledge_unresolvable(const mqtt::PublishView& p, TimeMs now);
  void deliver(const mqtt::PublishView& p, std::string_view topic, TimeMs now, std::string_view consequence_of = {});
  void note_resumed_flows();
  void resend_arrived(std::uint16_t id);
  std::size_t report_resends_missing(TimeMs now);

  // --- subscribe.cpp --------------------------------------------------------------------
  std::optional<PendingAck> take_pending(std::uint16_t id, bool subscribe);
  // SUBACK / UNSUBACK: the request it answers (ours or raw), or a violation.
  std::optional<PendingAck> answered_request(std::uint16_t id, bool subscribe, std::uint64_t start, TimeMs now);

  // --- time.cpp -------------------------------------------------------------------------
  TimeMs pingresp_timeout() const;
  std::optional<TimeMs> next_deadline() const;
  void send_pingreq(TimeMs now);
  void advance(TimeMs now);
};

}  // namespace mqtth::client
