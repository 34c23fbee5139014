// ClientSession: the harness's MQTT client protocol machine (3.1, 3.1.1, 5.0), sans-I/O.
//
// Bytes from the broker, commands and a monotonic clock go in; bytes to write, events and
// the next deadline come out. No sockets, no Qt, no wall clock: the Qt shell
// (mqtth::client::ClientConnection) or a unit test drives it.
//
// The session outlives its transports: connect() starts a new network connection on the
// same session state (in-flight QoS 1/2 messages both ways, packet ids), so a reconnect
// with clean_start=false resumes the session [MQTT-4.4.0-1].
//
// The harness tests brokers, not itself: anything the broker sends that breaks the spec is
// reported as an event::BrokerViolation carrying the statement the broker broke (one per
// finding, Findings.hpp), never a crash or an exception. The Misbehaviour knobs and
// send_raw() make the client itself break rules on purpose.
//
// Threading: none. One session is driven from one thread.
#pragma once

#include <mqtt/codec.hpp>
#include <mqtth/client/Findings.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mqtth::client {

// Monotonic milliseconds, any epoch; only differences matter.
using TimeMs = std::int64_t;

// "For all of them" value of the Misbehaviour counters.
inline constexpr std::uint32_t kAlways = 0xFFFF'FFFF;

// ---------------------------------------------------------------------------------------
// Commands

struct ConnectOptions {
  mqtt::Version version = mqtt::Version::v5;
  std::string client_id;
  bool clean_start = true;           // "clean session" in 3.1/3.1.1
  std::uint16_t keep_alive = 60;     // seconds; 0 disables PINGREQ
  std::optional<mqtt::Will> will;
  std::optional<std::string> username;
  std::optional<std::string> password;
  // 5.0 CONNECT properties the session itself acts on; nullopt = not sent (spec default).
  std::optional<std::uint32_t> session_expiry_interval;
  std::optional<std::uint16_t> receive_maximum;      // inbound window the broker must keep
  std::optional<std::uint16_t> topic_alias_maximum;  // inbound aliases the broker may use
  std::optional<std::uint32_t> maximum_packet_size;  // larger packets from the broker are violations
  // Further CONNECT properties (user properties, authentication ...), encoded after the
  // ones above, as given.
  mqtt::Properties properties;
  // Overrides the protocol name ("MQTT", or "MQIsdp" for 3.1) to send a wrong one on purpose.
  std::optional<std::string> protocol_name;
};

struct SubscribeRequest {
  std::vector<mqtt::Subscription> subscriptions;
  std::optional<std::uint32_t> subscription_identifier;  // 5.0 (3.8.2.1.2)
  mqtt::Properties properties;                            // further properties (user properties)
};

struct UnsubscribeRequest {
  std::vector<std::string> filters;
  mqtt::Properties properties;  // 5.0 user properties
};

struct PublishRequest {
  std::string topic;
  std::string payload;
  std::uint8_t qos = 0;
  bool retain = false;
  mqtt::Properties properties;  // 5.0, sent as given (a topic_alias here is sent verbatim)
  // 5.0 outbound topic alias (3.3.2.3.4): 0 = none (or automatic, see SessionConfig). The
  // first PUBLISH with an alias carries topic + alias; later ones for the same topic carry
  // the alias and an empty topic.
  std::uint16_t topic_alias = 0;
};

enum class CommandError : std::uint8_t {
  none,
  not_connected,         // no network connection (connect() not called, or closed)
  no_packet_id_free,     // all 65535 ids are in flight
  invalid_argument,      // e.g. QoS > 2 given to publish()
  encode_failed,         // the codec could not produce bytes (string > 65535 bytes ...)
};
std::string_view to_string(CommandError);

struct CommandResult {
  std::uint16_t packet_id = 0;   // 0 for QoS 0 publishes
  std::uint64_t message_id = 0;  // publish(): session-unique sequence number, never reused
  CommandError error = CommandError::none;
  bool ok() const { return error == CommandError::none; }
};

// The packet type bytes announce in their first byte (as event::PacketSent::type reports
// it, also for bytes that are no valid packet); nullopt for no bytes or type 0.
inline std::optional<mqtt::PacketType> type_of_first_byte(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return std::nullopt;
  const unsigned t = data[0] >> 4;
  if (t < 1 || t > 15) return std::nullopt;
  return static_cast<mqtt::PacketType>(t);
}

// ---------------------------------------------------------------------------------------
// Events, in the order they happened.
namespace event {

// Every packet the broker sent, decoded, with its raw bytes (only when
// SessionConfig::trace_packets; the load benchmark turns it off).
struct PacketReceived {
  mqtt::Packet packet;
  std::string raw;
  TimeMs at = 0;
};
// Every packet the session wrote, send_raw() bytes included. Only with trace_packets.
// `packet` is what was written: the packet the session encoded, or for send_raw() bytes
// the one packet they decode to (nullopt when they are not exactly one packet the codec
// accepts). `type` is read from the first byte (nullopt when that byte names no type), so
// it names bytes that did not decode too.
struct PacketSent {
  std::optional<mqtt::PacketType> type;
  std::optional<mqtt::Packet> packet;
  std::string raw;
  TimeMs at = 0;
};
struct ConnackReceived {
  bool session_present = false;
  std::uint8_t reason_code = 0;  // 3.1.1: the return code
  mqtt::Properties properties;
  TimeMs at = 0;
};
struct SubackReceived {
  std::uint16_t packet_id = 0;
  std::vector<std::uint8_t> reason_codes;
  mqtt::Properties properties;
  TimeMs at = 0;
};
struct UnsubackReceived {
  std::uint16_t packet_id = 0;
  std::vector<std::uint8_t> reason_codes;  // empty in 3.1/3.1.1
  mqtt::Properties properties;
  TimeMs at = 0;
};
// An application message the broker delivered: QoS 0 and 1 on PUBLISH, QoS 2 on the first
// PUBLISH of its packet id (duplicates before PUBREL are not delivered twice [MQTT-4.3.3-10]).
// A QoS 1 PUBLISH with DUP=1 is delivered again (at least once allows it); `dup` tells.
// `topic` is resolved from the topic alias when the broker used one.
// `consequence_of` is set on a copy the session has just reported as a BrokerViolation (a QoS 2
// PUBLISH re-sent after the broker's PUBREL, which the client must treat as a new message,
// 3.1.1 MQTT-4.3.3-2 / 5.0 MQTT-4.3.3-12): the statement of that violation, so a duplicate it makes downstream (the
// ledger's) is counted as its consequence, not as a new deviation.
struct MessageDelivered {
  std::string topic;
  std::string payload;
  std::uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;
  mqtt::Properties properties;
  std::string_view consequence_of;  // static storage; empty for an ordinary delivery
  TimeMs at = 0;
};
// Our QoS 1/2 publish ended: PUBACK (QoS 1), PUBCOMP (QoS 2), or PUBREC with a reason
// code >= 0x80 (QoS 2 refused, [MQTT-4.4.0-2]).
struct PublishCompleted {
  std::uint16_t packet_id = 0;
  std::uint64_t message_id = 0;
  std::uint8_t qos = 0;
  mqtt::PacketType ack = mqtt::PacketType::puback;
  std::uint8_t reason_code = 0;
  TimeMs at = 0;
};
// The broker took responsibility for our QoS 2 publish: its first PUBREC with a reason code
// below 0x80 [MQTT-4.3.3]. A QoS 1 publish is accepted and completed by the same PUBACK, so
// only PublishCompleted reports it. The ledger counts a message as sent from here, so a
// broker that loses it after PUBREC (e.g. the link cut before PUBCOMP) is caught.
struct PublishAccepted {
  std::uint16_t packet_id = 0;
  std::uint64_t message_id = 0;
  TimeMs at = 0;
};
// A QoS 1/2 publish the session gave up on: session state discarded by clean_start=1, or the
// broker answered session_present=0 to a resumption (the client then discards its session
// state, 3.2.2.1.1). The ledger counts such messages as not guaranteed.
struct PublishAbandoned {
  std::uint16_t packet_id = 0;
  std::uint64_t message_id = 0;
  std::string_view why;  // static text
  TimeMs at = 0;
};
struct DisconnectReceived {
  std::uint8_t reason_code = 0;
  mqtt::Properties properties;
  TimeMs at = 0;
};
// The network connection ended (reported once per connection, from transport_closed()).
struct ConnectionClosed {
  bool by_client = false;  // we sent DISCONNECT / asked to close first; false: the broker or the network
  std::optional<std::uint8_t> disconnect_reason;  // the broker's DISCONNECT reason code, if one came
  std::string_view cause;  // static text: "broker closed", "client disconnect", "keep-alive timeout" ...
  TimeMs at = 0;
};
// The broker broke the spec. `finding` says which rule (Findings.hpp); `spec` is the one
// statement the broker broke, for the connection's version ("MQTT-4.3.3-6"), empty only for
// the findings Findings.hpp lists without a numbered statement (and codec findings where the
// codec has none). Further statements broken by the same act are in `see_also`; the message
// names none. `fatal`: the session stopped reading this connection (the byte stream cannot
// be framed any more, or the rule demands closing) and asked to close.
struct BrokerViolation {
  Finding finding = Finding::invalid_packet;
  std::string_view spec;                  // static storage
  std::vector<std::string_view> see_also;  // static storage
  std::string message;
  std::optional<mqtt::PacketType> packet_type;
  std::uint64_t stream_offset = 0;   // of the offending packet's first byte in this connection's input
  std::uint32_t offset_in_packet = 0;
  mqtt::Errc code = mqtt::Errc::protocol_error;
  bool fatal = false;
  TimeMs at = 0;
};

}  // namespace event

using Event = std::variant<event::PacketReceived, event::PacketSent, event::ConnackReceived,
                           event::SubackReceived, event::UnsubackReceived,
                           event::MessageDelivered, event::PublishAccepted, event::PublishCompleted,
                           event::PublishAbandoned, event::DisconnectReceived,
                           event::ConnectionClosed, event::BrokerViolation>;

// ---------------------------------------------------------------------------------------
// Configuration

struct SessionConfig {
  bool trace_packets = true;      // emit PacketReceived / PacketSent (copies raw bytes)
  bool auto_topic_alias = false;  // 5.0: give each new topic an outbound alias while the broker's maximum allows
  // How long after a PINGREQ the PINGRESP may take before it counts as missing
  // [MQTT-3.12.4-1]; 0 = the keep-alive interval.
  TimeMs pingresp_timeout_ms = 0;
  // When the broker's bytes are malformed or a protocol error (4.13): 5.0 sends DISCONNECT
  // with the reason code, then the session asks to close. false: report and keep reading
  // where the stream still frames.
  bool close_on_violation = true;
  // Cap on our QoS 1/2 publishes in flight. 0 = automatic: the broker's Receive Maximum in
  // 5.0 [MQTT-3.3.4-7]; 20 in 3.1/3.1.1, which have no flow control on the wire but whose
  // brokers still cap it (mosquitto drops a 3.1.1 connection on the 21st unreleased QoS 2
  // PUBLISH, its max_inflight_messages; paho's default window is 20 too). Non-zero: this
  // value, and never above the broker's Receive Maximum in 5.0.
  std::uint16_t max_in_flight = 0;
};

// Rule-breaking on purpose. Counters mean "the next N", kAlways means "every one from now".
struct Misbehaviour {
  std::uint32_t withhold_puback = 0;   // inbound QoS 1: no PUBACK
  std::uint32_t withhold_pubrec = 0;   // inbound QoS 2: no PUBREC (message still delivered once)
  std::uint32_t withhold_pubcomp = 0;  // inbound QoS 2: no PUBCOMP for PUBREL
  std::uint32_t skip_pubrel = 0;       // outbound QoS 2: no PUBREL for PUBREC
  bool reuse_in_flight_packet_id = false;        // new packets take an id still in flight (if any)
  std::optional<std::uint16_t> fixed_packet_id;  // every new packet uses this id (0 allowed)
  bool suppress_pingreq = false;                 // keep-alive PINGREQs are not sent
  bool ignore_receive_maximum = false;           // send QoS 1/2 beyond the broker's window (and max_in_flight)
};

enum class SessionState : std::uint8_t {
  disconnected,  // no network connection
  connecting,    // CONNECT written, no CONNACK yet
  connected,     // CONNACK 0x00 received
  closing,       // DISCONNECT sent, fatal violation or keep-alive timeout (close_requested()), or a
                 // refused CONNACK (waiting for the broker to close, as it must)
};
std::string_view to_string(SessionState);

// ---------------------------------------------------------------------------------------

class ClientSession {
 public:
  explicit ClientSession(SessionConfig config = {});
  ~ClientSession();
  ClientSession(ClientSession&&) noexcept;
  ClientSession& operator=(ClientSession&&) noexcept;
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // --- commands -------------------------------------------------------------------------
  // A new network connection is up: writes CONNECT. clean_start=true discards the session
  // state (outbound in-flight messages end as PublishAbandoned). Implies transport_closed()
  // if a previous connection was never reported closed.
  void connect(const ConnectOptions& options, TimeMs now);
  // Clean disconnect: writes DISCONNECT (3.1.1: no reason code) and asks to close.
  void disconnect(TimeMs now, std::uint8_t reason_code = mqtt::reason::normal_disconnection,
                  mqtt::Properties properties = {});
  // Errors: not_connected, no_packet_id_free, encode_failed.
  CommandResult subscribe(SubscribeRequest request, TimeMs now);
  CommandResult unsubscribe(UnsubscribeRequest request, TimeMs now);
  // QoS 1/2 publishes are stored in flight and sent when the broker's receive maximum
  // allows [MQTT-3.3.4-7]; while disconnected (or before CONNACK) they wait and go out
  // after the next CONNACK. QoS 0 needs a connection.
  // Errors: not_connected (QoS 0 only), no_packet_id_free, invalid_argument, encode_failed.
  CommandResult publish(PublishRequest request, TimeMs now);
  void ping(TimeMs now);
  // Writes these bytes as they are (anything, invalid on purpose allowed). No session state
  // changes, but the session notes the packet ids and types it can read in them, until the
  // connection ends, so that the broker's answers to them are not taken for answers to
  // nothing (a SUBACK echoing a raw SUBSCRIBE's id), and an answer to a packet the broker
  // had to refuse is reported as that [MQTT-4.8.0-1 / 5.0 MQTT-4.13.1-1].
  void send_raw(mqtt::Bytes bytes, TimeMs now);
  void send_raw(std::string_view bytes, TimeMs now);
  // Whether send_raw() wrote, on this connection, bytes that are no whole packet the codec
  // can read (malformed on purpose): the broker's answer to them, if any, cannot be told from
  // an answer to nothing, so a caller may not take such findings at face value.
  bool wrote_unreadable_raw() const noexcept;
  // Encodes `packet` with the connection's version and writes it. No state change (no
  // packet id bookkeeping). Errors: not_connected, encode_failed.
  CommandResult send_packet(const mqtt::Packet& packet, TimeMs now);

  // --- inputs ---------------------------------------------------------------------------
  // Bytes from the broker, in any chunking.
  void receive(mqtt::Bytes bytes, TimeMs now);
  void receive(std::string_view bytes, TimeMs now);
  // Time passes: keep-alive PINGREQ, missing PINGRESP.
  void advance(TimeMs now);
  // The broker has had time to resume this connection's session: every inbound QoS 1/2 flow
  // that was unfinished when it answered Session Present 1 (PUBACK withheld, PUBREC sent,
  // PUBCOMP withheld) and for which it has re-sent neither PUBLISH nor PUBREL since is a
  // BrokerViolation [MQTT-4.4.0-1], reported once. The session cannot know when "enough
  // time" has passed (the spec sets no deadline), so the caller decides; returns the count.
  std::size_t report_resends_missing(TimeMs now);
  // How many such flows the broker still owes on this connection (0 once reported).
  std::size_t resends_owed() const noexcept;
  // The network connection ended. Emits ConnectionClosed once. `client_cause` non-empty
  // (static text, e.g. "client abort") says the client closed it itself without the session
  // asking (abort, reconnect); otherwise the session's own close request, or the broker.
  void transport_closed(TimeMs now, std::string_view client_cause = {});

  // --- outputs --------------------------------------------------------------------------
  bool has_output() const;
  // Moves all pending output bytes into `into` (replacing its content; its capacity is
  // reused on the next call, so a shell can keep one buffer per connection).
  void take_output(std::string& into);
  std::string take_output();
  bool has_events() const;
  // Moves all pending events into `into` (replacing its content).
  void take_events(std::vector<Event>& into);
  std::vector<Event> take_events();
  // When advance() must be called next (keep-alive), or nullopt.
  std::optional<TimeMs> next_deadline() const;
  // The shell should close the network connection once the pending output is written.
  bool close_requested() const;

  // --- state ----------------------------------------------------------------------------
  SessionState state() const;
  mqtt::Version version() const;                 // of the current/last connection
  const ConnectOptions& connect_options() const;  // of the current/last connection
  bool session_present() const;                   // from the last CONNACK
  std::optional<std::string> assigned_client_id() const;  // 5.0 CONNACK property
  std::uint16_t keep_alive() const;               // effective (Server Keep Alive wins [MQTT-3.2.2-21])
  std::uint16_t broker_receive_maximum() const;   // 65535 when the broker sent none
  std::uint16_t broker_topic_alias_maximum() const;
  std::uint32_t broker_maximum_packet_size() const;
  std::size_t outbound_in_flight() const;  // QoS 1/2 publishes sent and not completed
  std::size_t outbound_queued() const;     // QoS 1/2 publishes waiting for a window slot or a connection
  std::size_t inbound_in_flight() const;   // QoS 1/2 from the broker not yet PUBACKed/PUBCOMPed
  bool packet_id_in_use(std::uint16_t id) const;
  std::uint64_t bytes_received() const;    // on this connection
  std::uint64_t violations() const;        // BrokerViolation events so far (all connections)

  SessionConfig& config();
  Misbehaviour& misbehaviour();
  // Forgets all session state (as clean_start would), without touching the connection.
  void clear_session(TimeMs now);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqtth::client
