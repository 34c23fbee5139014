// BrokerEngine::Impl, private to harness/engine: the engine's state and the declaration
// of its handlers. Each concern is defined in its own file, so a reader finds "what
// happens on SUBSCRIBE" in one place:
//
//   BrokerEngine.cpp  the public BrokerEngine methods (forward to Impl), introspection
//   wire.cpp          bytes in: framing, decode errors, dispatch per packet type, protocol
//                     violations; packets out: encoding into the output
//   connect.cpp       CONNECT (authentication, session takeover and resumption, wills),
//                     CONNACK, DISCONNECT, connection and session ends
//   publish.cpp       PUBLISH from a client (inbound topic aliases, QoS 1/2 flows) and
//                     the acknowledgements of what the broker sent
//   deliver.cpp       routing a message to subscribed sessions, queues, the in-flight
//                     window, outbound PUBLISH with topic aliases, misbehave modes
//   subscribe.cpp     SUBSCRIBE / UNSUBSCRIBE, shared subscriptions, the filter index
//   retain.cpp        the retained-message store and its delivery on SUBSCRIBE
//   acl.cpp           access control: who may publish or subscribe to what
//   time.cpp          timers: connect timeout, keep-alive, will delay, session expiry
//   clone.cpp         BrokerEngine::clone, a deep copy for fuzz targets
//   invariants.cpp    BrokerEngine::check_invariants
//
// Spec ids in comments are MQTT 5.0 ids unless marked "3.1.1:".
#pragma once

#include "mqtth/engine/BrokerEngine.hpp"

#include "TopicTree.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace mqtth::engine::detail {

using mqtt::PacketType;
using mqtt::PropertyId;
using mqtt::Version;
namespace reason = mqtt::reason;
using Clock = std::uint64_t;

inline constexpr std::uint32_t kNeverExpires = 0xFFFFFFFF;

inline Clock add_ms(Clock now, std::uint64_t ms) {
  return ms > std::numeric_limits<Clock>::max() - now ? std::numeric_limits<Clock>::max() : now + ms;
}
inline Clock add_seconds(Clock now, std::uint32_t seconds) { return add_ms(now, std::uint64_t{seconds} * 1000); }

inline bool is_v5(Version v) { return v == Version::v5; }

// The packet id a deviation switch answers with instead of `id`: the next one, never 0.
inline std::uint16_t wrong_packet_id(std::uint16_t id) { return static_cast<std::uint16_t>(id == 65535 ? 1 : id + 1); }

// Application-message properties the Server forwards unchanged (publish.cpp).
std::string forwarded_properties(const mqtt::PropertiesView& props);

// --- state ------------------------------------------------------------------------------

// One application message as received, shared (immutable) by every delivery of it.
struct Message {
  std::string topic;
  std::string payload;
  std::string properties;  // raw 5.0 properties forwarded unchanged (see forwarded_properties)
  std::optional<Clock> expires_at;
  std::string origin_client_id;  // for No Local [MQTT-3.8.3-3]
  Version origin_version = Version::v3_1_1;  // the publisher's (deviation switches)
  std::uint64_t seq = 0;         // engine-wide number, for the QoS 2 delivery invariant
  std::uint8_t qos = 0;
  bool retain = false;
};
using MessagePtr = std::shared_ptr<const Message>;

// Its Message Expiry Interval has passed: it is no longer delivered [MQTT-3.3.2-5].
inline bool expired(const Message& m, Clock now) { return m.expires_at && *m.expires_at <= now; }

enum class Origin : std::uint8_t { live, shared, retained, misbehave_copy };

// One message on its way to one session.
struct Delivery {
  MessagePtr message;
  std::vector<std::uint32_t> subscription_ids;  // empty: none (no allocation)
  std::uint8_t qos = 0;
  bool retain = false;
  Origin origin = Origin::live;
  // With copy_per_subscription: which copy of the message this is for its session (0, 1,
  // ...), so the QoS 2 delivery invariant tells copies apart from duplicates.
  std::uint32_t copy = 0;
};

inline bool expired(const Delivery& d, Clock now) { return expired(*d.message, now); }


struct Inflight {
  Delivery delivery;
  std::uint16_t packet_id = 0;
  bool released = false;  // QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP
  bool sent = false;      // sent on the current connection (false: resend on resumption)
};

struct Subscription {
  mqtt::SubscriptionOptions options;
  std::uint32_t identifier = 0;  // 0: none
};

struct Will {
  std::shared_ptr<Message> message;  // completed (expiry) when published
  std::uint32_t delay_seconds = 0;
  std::optional<std::uint32_t> expiry_seconds;  // Message Expiry Interval, from publication
};

struct Connection;

// The deque of a session's queued deliveries, created on the first push: most sessions
// never queue anything, and a std::deque allocates its map and first block when it is
// constructed (libstdc++), which was two allocations per CONNECT.
class DeliveryQueue {
 public:
  DeliveryQueue() = default;
  DeliveryQueue(const DeliveryQueue& other)  // deep (BrokerEngine::clone)
      : deque_(other.deque_ ? std::make_unique<std::deque<Delivery>>(*other.deque_) : nullptr) {}
  DeliveryQueue& operator=(const DeliveryQueue&) = delete;
  bool empty() const { return !deque_ || deque_->empty(); }
  std::size_t size() const { return deque_ ? deque_->size() : 0; }
  void push_back(Delivery d) { get().push_back(std::move(d)); }
  void push_front(Delivery d) { get().push_front(std::move(d)); }
  Delivery& front() { return deque_->front(); }
  void pop_front() { deque_->pop_front(); }

 private:
  std::deque<Delivery>& get() {
    if (!deque_) deque_ = std::make_unique<std::deque<Delivery>>();
    return *deque_;
  }
  std::unique_ptr<std::deque<Delivery>> deque_;
};

struct Session {
  std::string client_id;
  Connection* connection = nullptr;
  Version version = Version::v3_1_1;
  std::uint32_t expiry_interval = 0;  // seconds; kNeverExpires: never
  std::optional<Clock> expires_at;    // set while offline
  std::map<std::string, Subscription, std::less<>> subscriptions;
  std::vector<Inflight> inflight;  // in send order
  DeliveryQueue queue;
  // Inbound QoS 2 packet ids: PUBREC sent, waiting for PUBREL (4.3.3). The message is
  // kept only when it is forwarded on PUBREL (qos2_forward_on: pubrel, "Method A");
  // null when it was forwarded on PUBLISH ("Method B") or refused.
  std::map<std::uint16_t, MessagePtr> inbound_qos2;
  // The user name of the last connection (ACL for its will) and the ACL's deny_subscribe
  // filters that apply to it: messages on topics they match are never delivered here.
  std::optional<std::string> username;
  std::vector<std::string> denied_topics;
  std::uint16_t next_packet_id = 1;
  std::optional<Will> will;  // stored will (connected) or pending will (offline, delayed)
  std::optional<Clock> will_at;
  std::optional<Delivery> held;                   // misbehave reorder
  std::unordered_set<std::uint64_t> delivered_qos2;  // track_deliveries
  // Routing scratch: the index of this session in the current route's target list.
  std::uint64_t route_stamp = 0;
  std::size_t route_index = 0;
};

// Messages sent (or to resend) on the current connection, not yet acknowledged.
inline std::size_t sent_count(const Session& s) {
  return static_cast<std::size_t>(std::count_if(s.inflight.begin(), s.inflight.end(), [](const Inflight& e) { return e.sent; }));
}

// Topic aliases the broker assigned on one connection (3.3.2.3.4), least recently used
// re-mapped first. At most outbound_alias_maximum entries.
struct OutboundAliases {
  std::map<std::string, std::uint16_t, std::less<>> by_topic;
  std::vector<std::string> topics;      // index alias-1
  std::vector<std::uint64_t> last_used;  // index alias-1, a per-connection use counter
  std::uint64_t uses = 0;
};

// The outbound alias table of a connection, allocated on first use; copied deeply with
// its connection (BrokerEngine::clone).
struct OutboundAliasesPtr : std::unique_ptr<OutboundAliases> {
  OutboundAliasesPtr() = default;
  OutboundAliasesPtr(const OutboundAliasesPtr& other)
      : std::unique_ptr<OutboundAliases>(other ? std::make_unique<OutboundAliases>(*other) : nullptr) {}
  OutboundAliasesPtr& operator=(const OutboundAliasesPtr&) = delete;
};

struct Connection {
  explicit Connection(ConnectionId id_, Clock now, std::uint32_t max_packet)
      : id(id_), framer(max_packet), opened_at(now), last_rx(now) {}
  ConnectionId id;
  mqtt::Framer framer;
  enum class State : std::uint8_t { awaiting_connect, connected } state = State::awaiting_connect;
  Version version = Version::v3_1_1;
  Clock opened_at;
  Clock last_rx;
  std::uint32_t keep_alive_seconds = 0;  // effective, 0: none
  Session* session = nullptr;
  std::optional<std::string> username;
  std::uint16_t client_receive_maximum = 65535;
  std::uint32_t client_maximum_packet_size = mqtt::kMaxPacketSize;
  bool request_problem_information = true;
  bool connect_expiry_was_zero = true;
  std::vector<std::string> topic_aliases;  // inbound, index alias-1, grown on demand
  // Outbound aliases [MQTT-3.3.2-11]: min(client's Topic Alias Maximum, config); 0: none.
  std::uint16_t outbound_alias_maximum = 0;
  OutboundAliasesPtr outbound_aliases;  // allocated on first use
};


// A route target: one session and what it gets.
struct Target {
  Session* session = nullptr;
  std::uint8_t qos = 0;
  bool retain_as_published = false;
  std::vector<std::uint32_t> subscription_ids;
  std::uint32_t copy = 0;  // copy_per_subscription: the n-th copy for this session
};

// One subscribed session of a filter. The Subscription lives in the session's map (a
// stable node) and is removed from here before it is erased there.
struct Member {
  Session* session = nullptr;
  const Subscription* subscription = nullptr;
};

// Everyone subscribed with one filter string (as subscribed, "$share/g/..." included).
struct FilterEntry {
  std::string match_filter;  // the filter without "$share/group/"
  bool shared = false;
  std::vector<Member> members;  // in subscription order
  std::size_t next = 0;         // shared: round-robin position
};

}  // namespace mqtth::engine::detail

namespace mqtth::engine {

struct BrokerEngine::Impl {
  using Clock = detail::Clock;
  using Connection = detail::Connection;
  using Session = detail::Session;
  using Delivery = detail::Delivery;
  using Inflight = detail::Inflight;
  using MessagePtr = detail::MessagePtr;
  using Subscription = detail::Subscription;
  using FilterEntry = detail::FilterEntry;
  using Target = detail::Target;
  using Version = detail::Version;

  explicit Impl(BrokerConfig c) : config(std::move(c)) {
    if (config.misbehave_every == 0) config.misbehave_every = 1;
    if (config.maximum_qos > 2) config.maximum_qos = 2;
    if (config.maximum_packet_size < 2) config.maximum_packet_size = 2;
    if (config.receive_maximum == 0) config.receive_maximum = 1;
    if (config.max_inflight == 0) config.max_inflight = 1;
    if (config.behaviour.grant_qos_at_most > 2) config.behaviour.grant_qos_at_most = 2;
  }

  BrokerConfig config;
  EngineStats stats;
  std::vector<Output> output;
  std::function<void(ConnectionId, std::string_view)> logger;
  ConnectionId next_connection_id = 1;
  std::map<ConnectionId, std::unique_ptr<Connection>> connections;
  std::map<std::string, std::unique_ptr<Session>, std::less<>> sessions;
  std::map<std::string, FilterEntry, std::less<>> filters;  // key: filter as subscribed
  detail::TopicTree<FilterEntry*> filter_tree;               // every entry of `filters`, by match_filter
  std::vector<FilterEntry*> scratch_matches;
  std::map<std::string, MessagePtr, std::less<>> retained;
  std::uint64_t next_message_seq = 1;
  std::uint64_t next_assigned_id = 1;
  std::uint64_t route_stamp = 0;
  std::uint64_t misbehave_counter = 0;
  std::uint64_t qos2_duplicates = 0;
  std::string scratch_properties;
  std::string scratch_packet_properties;  // CONNACK / DISCONNECT properties being built
  std::vector<std::uint8_t> scratch_reason_codes;  // SUBACK / UNSUBACK reason codes being built
  std::vector<Target> scratch_targets;
  // next_deadline() is asked after every event (BrokerServer re-arms its timer) but only
  // changes when connections or sessions come and go, connect or time passes: cached,
  // recomputed (a scan of all connections and sessions) only after such a change. A
  // packet received only moves its connection's keep-alive deadline later, so the cached
  // value stays a safe lower bound (advance() at it finds nothing due and the next
  // next_deadline() is exact again).
  mutable std::optional<Clock> cached_deadline;
  mutable bool deadline_stale = true;

  // A deviation switch (testing.deviate) is on for a connection or session of version `v`.
  bool deviates(Deviation d, Version v) const { return config.deviate.on(d, v); }

  void log(ConnectionId id, std::string_view text) {
    if (logger) logger(id, text);
  }

  // --- wire.cpp: input ------------------------------------------------------------------
  void receive(ConnectionId id, mqtt::Bytes data, Clock now);
  void on_decode_error(Connection& conn, const mqtt::Error& error, mqtt::Bytes packet, Clock now);
  // Returns false when the connection was closed.
  bool on_packet(Connection& conn, mqtt::Bytes bytes, Clock now);
  // Closes a connection because of what the client did (5.0: DISCONNECT first).
  void close_for_violation(Connection& conn, std::uint8_t code, std::string_view why, std::string_view spec,
                           Clock now);
  void send_disconnect(Connection& conn, std::uint8_t code, std::string_view text);
  bool ignores_bad_packet(const Connection& conn, const mqtt::Error& error) const;

  // One handler per packet type a client sends, each in the file of its concern; each
  // returns false when it closed the connection.
  bool handle(Connection& conn, const mqtt::ConnectView&, Clock now);       // connect.cpp
  bool handle(Connection& conn, const mqtt::DisconnectView& d, Clock now);  // connect.cpp
  bool handle(Connection& conn, const mqtt::PublishView& p, Clock now);     // publish.cpp
  bool handle(Connection& conn, const mqtt::PubackView& a, Clock now);      // publish.cpp
  bool handle(Connection& conn, const mqtt::PubrecView& a, Clock now);      // publish.cpp
  bool handle(Connection& conn, const mqtt::PubrelView& a, Clock now);      // publish.cpp
  bool handle(Connection& conn, const mqtt::PubcompView& a, Clock now);     // publish.cpp
  bool handle(Connection& conn, const mqtt::SubscribeView& sub, Clock now);      // subscribe.cpp
  bool handle(Connection& conn, const mqtt::UnsubscribeView& unsub, Clock now);  // subscribe.cpp
  bool handle(Connection& conn, const mqtt::PingreqView&, Clock now);       // wire.cpp
  bool handle(Connection& conn, const mqtt::AuthView&, Clock now);          // wire.cpp

  // Server-to-client packets sent by a client.
  template <class P>
  bool handle(Connection& conn, const P&, Clock now) {
    std::string why = "a client may not send " + std::string(mqtt::to_string(P::type));
    close_for_violation(conn, mqtt::reason::protocol_error, why, "", now);
    return false;
  }

  // --- wire.cpp: output -----------------------------------------------------------------
  // Appends one encoded packet to the connection's pending bytes. Returns false when the
  // packet was not sent because it exceeds the client's Maximum Packet Size
  // [MQTT-3.1.2-24] (the caller then acts as if it was delivered, MQTT-3.1.2-25).
  bool emit(Connection& conn, const mqtt::PacketView& packet);

  // A view packet (CONNACK or DISCONNECT) whose only property is a Reason String, built
  // in scratch_packet_properties. Sent without the Reason String if that makes it fit
  // the client's Maximum Packet Size [MQTT-3.2.2-19, MQTT-3.14.2-3], and always without
  // it when behaviour.reason_strings is off (the property is optional).
  template <class View>
  bool emit_with_reason_string(Connection& conn, View packet, std::string_view reason_string) {
    if (!config.behaviour.reason_strings) reason_string = {};
    std::string& raw = scratch_packet_properties;
    raw.clear();
    if (!reason_string.empty()) mqtt::append_property(raw, {.id = mqtt::PropertyId::reason_string, .value = reason_string});
    packet.properties = mqtt::PropertiesView(raw);
    if (emit(conn, mqtt::PacketView(packet))) return true;
    if (raw.empty()) return false;  // nothing to leave out: it would not fit again
    packet.properties = {};
    return emit(conn, mqtt::PacketView(packet));
  }

  // A 5.0 refusal in SUBACK, PUBACK or PUBREC: the specific reason code, or 0x80
  // Unspecified error when behaviour.specific_refusal_codes is off.
  std::uint8_t refusal(std::uint8_t specific) const {
    return config.behaviour.specific_refusal_codes ? specific : mqtt::reason::unspecified_error;
  }

  // Built as a view: no owned packet, no conversion (the ack path runs per PUBLISH).
  template <class Ack>
  void send_ack(Connection& conn, std::uint16_t packet_id, std::uint8_t code) {
    mqtt::BasicAck<mqtt::ViewStorage, Ack::type> ack;
    ack.packet_id = packet_id;
    ack.reason_code = detail::is_v5(conn.version) ? code : 0;
    emit(conn, mqtt::PacketView(ack));
  }

  std::string& output_for(ConnectionId id) {
    if (output.empty() || output.back().connection != id || output.back().close) output.push_back(Output{id, {}, false});
    return output.back().bytes;
  }

  void emit_close(ConnectionId id) {
    output_for(id);
    output.back().close = true;
  }

  // --- connect.cpp ----------------------------------------------------------------------
  ConnectionId open(Clock now);
  bool on_connect(Connection& conn, const mqtt::ConnectView& c, Clock now);
  std::string assign_client_id();
  // `level_unknown`: a protocol level the broker does not support, so a deviation switch of
  // either version applies to it.
  void refuse_connect(Connection& conn, Version version, std::uint8_t code, std::string_view why, Clock now,
                      bool level_unknown = false);
  void close_connection(ConnectionId id, Clock now, bool abnormal);
  void drop_connection(ConnectionId id, Clock now, bool abnormal);
  void publish_will(Session& session, Clock now);
  void end_session(std::string_view client_id, Clock now);

  // --- publish.cpp ----------------------------------------------------------------------
  static Inflight* find_inflight(Session& s, std::uint16_t id) {
    for (auto& e : s.inflight)
      if (e.packet_id == id) return &e;
    return nullptr;
  }
  void erase_inflight(Session& s, std::uint16_t id);
  // Answers a PUBLISH the broker will not forward (ACL, `$` topic): 5.0 PUBACK/PUBREC with
  // `code`; 3.1.1 per behaviour.v311_refused_publish. False when it closed the connection.
  bool refuse_publish(Connection& conn, const mqtt::PublishView& p, std::uint8_t code, std::string_view why,
                      Clock now);
  // Stores (retain) and routes a message a client published; the 5.0 PUBACK/PUBREC code.
  std::uint8_t accept_message(const MessagePtr& message, Clock now);
  std::string forward_properties(const mqtt::PropertiesView& props, Version v) const;

  // --- deliver.cpp ----------------------------------------------------------------------
  std::size_t route(const MessagePtr& message, Clock now);
  void enqueue(Session& s, Delivery d, Clock now, bool allow_misbehave = false);
  bool misbehave_now() { return ++misbehave_counter % config.misbehave_every == 0; }
  // The in-flight window of a session on its current connection.
  std::size_t window(const Session& s) const {
    std::size_t w = config.max_inflight;
    if (s.connection && detail::is_v5(s.connection->version) &&
        !deviates(Deviation::receive_maximum_ignored, s.connection->version))
      w = std::min<std::size_t>(w, s.connection->client_receive_maximum);
    return w;  // [MQTT-3.3.4-9], [MQTT-4.9.0-1, -2]
  }
  std::optional<std::uint16_t> allocate_packet_id(Session& s);
  void start_inflight(Session& s, Connection& conn, Delivery d, Clock now);
  void pump(Session& s, Clock now);
  bool send_publish(Connection& conn, Session& s, const Delivery& d, std::uint16_t packet_id, bool dup, Clock now);

  // --- subscribe.cpp --------------------------------------------------------------------
  void index_subscription(const std::string& key, std::string_view match_filter, bool shared, Session* s,
                          const Subscription* subscription);
  void unindex_subscription(std::string_view key, Session* s);

  // --- retain.cpp -----------------------------------------------------------------------
  bool store_retained(const MessagePtr& message, Clock now);
  // Whether store_retained would keep it (a clear, a stored topic, or room in the store).
  bool retained_would_keep(const detail::Message& message, Clock now);
  void deliver_retained(Session& s, const std::string& filter, Clock now);

  // --- acl.cpp --------------------------------------------------------------------------
  std::vector<const AclRule*> applicable_rules(std::string_view client_id, const std::optional<std::string>& user);
  bool publish_allowed(std::string_view client_id, const std::optional<std::string>& user, std::string_view topic);
  bool subscribe_allowed(std::string_view client_id, const std::optional<std::string>& user, std::string_view filter);
  // The deny_subscribe filters of the rules that apply (Session::denied_topics).
  std::vector<std::string> denied_topics(std::string_view client_id, const std::optional<std::string>& user);
  // Whether a message on `topic` may be delivered to the session (its denied_topics).
  static bool may_receive(const Session& s, std::string_view topic) {
    for (const auto& filter : s.denied_topics)
      if (mqtt::topic_matches(filter, topic)) return false;
    return true;
  }

  // --- time.cpp -------------------------------------------------------------------------
  std::optional<Clock> next_deadline() const;
  std::optional<Clock> compute_next_deadline() const;
  void advance(Clock now);

  // --- BrokerEngine.cpp, clone.cpp, invariants.cpp --------------------------------------
  SessionInfo info(const Session& s) const;
  std::unique_ptr<Impl> clone() const;
  Session* find_session(std::string_view client_id) const;
  std::optional<std::string> check_invariants() const;
};

}  // namespace mqtth::engine
