// BrokerEngine: the embedded reference broker's sans-I/O protocol engine.
//
// Layout of this file:
//   1. small helpers (time, property bytes, ACL patterns)
//   2. the state: Message (immutable, shared by all its deliveries), Delivery, Inflight,
//      Session (survives connections), Connection (one transport connection)
//   3. BrokerEngine::Impl: input handlers per packet type, routing, output, timers
//   4. the public BrokerEngine methods, which only forward to Impl
//
// Spec ids in comments are MQTT 5.0 ids unless marked "3.1.1:".
#include "mqtth/engine/BrokerEngine.hpp"

#include "TopicTree.hpp"

#include <algorithm>
#include <charconv>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <unordered_set>
#include <utility>

namespace mqtth::engine {

std::string_view to_string(Misbehave m) {
  switch (m) {
    case Misbehave::none: return "none";
    case Misbehave::drop_qos1: return "drop_qos1";
    case Misbehave::dup_qos2: return "dup_qos2";
    case Misbehave::reorder: return "reorder";
    case Misbehave::drop_qos0: return "drop_qos0";
  }
  return "none";
}

std::optional<Misbehave> parse_misbehave(std::string_view s) {
  for (auto m : {Misbehave::none, Misbehave::drop_qos1, Misbehave::dup_qos2, Misbehave::reorder,
                 Misbehave::drop_qos0})
    if (to_string(m) == s) return m;
  return std::nullopt;
}

namespace {

using mqtt::PacketType;
using mqtt::PropertyId;
using mqtt::Version;
namespace reason = mqtt::reason;
using Clock = std::uint64_t;

constexpr std::uint32_t kNeverExpires = 0xFFFFFFFF;

Clock add_ms(Clock now, std::uint64_t ms) {
  return ms > std::numeric_limits<Clock>::max() - now ? std::numeric_limits<Clock>::max() : now + ms;
}
Clock add_seconds(Clock now, std::uint32_t seconds) { return add_ms(now, std::uint64_t{seconds} * 1000); }

bool is_v5(Version v) { return v == Version::v5; }

// Application-message properties the Server forwards unchanged [MQTT-3.3.2-4, -15, -16,
// -17, -18, -20], in wire order. Message Expiry is kept apart (it is rewritten on
// delivery, MQTT-3.3.2-6); Topic Alias and Subscription Identifier are per connection.
std::string forwarded_properties(const mqtt::PropertiesView& props) {
  std::string raw;
  for (const auto& p : props) {
    switch (p.id) {
      case PropertyId::payload_format_indicator:
      case PropertyId::content_type:
      case PropertyId::response_topic:
      case PropertyId::correlation_data:
      case PropertyId::user_property:
        mqtt::append_property(raw, p);
        break;
      default:
        break;
    }
  }
  return raw;
}

// '*' matches any run of characters.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string_view> split_levels(std::string_view s) {
  std::vector<std::string_view> levels;
  std::size_t start = 0;
  while (true) {
    auto slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      levels.push_back(s.substr(start));
      return levels;
    }
    levels.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

// Does every topic that `requested` can match also match `allowed`?
bool filter_covers(std::string_view allowed, std::string_view requested) {
  if (!requested.empty() && requested[0] == '$' && !allowed.empty() && (allowed[0] == '+' || allowed[0] == '#'))
    return false;  // 4.7.2: leading wildcards never reach $-topics
  auto a = split_levels(allowed);
  auto r = split_levels(requested);
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "#") return true;
    if (i >= r.size()) return false;
    if (r[i] == "#") return false;
    if (a[i] == "+") continue;
    if (r[i] == "+" || a[i] != r[i]) return false;
  }
  return a.size() == r.size();
}

bool has_wildcard(std::string_view filter) { return filter.find_first_of("+#") != std::string_view::npos; }

// --- state ------------------------------------------------------------------------------

// One application message as received, shared (immutable) by every delivery of it.
struct Message {
  std::string topic;
  std::string payload;
  std::string properties;  // raw 5.0 properties forwarded unchanged (see forwarded_properties)
  std::optional<Clock> expires_at;
  std::string origin_client_id;  // for No Local [MQTT-3.8.3-3]
  std::uint64_t seq = 0;         // engine-wide number, for the QoS 2 delivery invariant
  std::uint8_t qos = 0;
  bool retain = false;
};
using MessagePtr = std::shared_ptr<const Message>;

enum class Origin : std::uint8_t { live, shared, retained, misbehave_copy };

// One message on its way to one session.
struct Delivery {
  MessagePtr message;
  std::vector<std::uint32_t> subscription_ids;  // empty: none (no allocation)
  std::uint8_t qos = 0;
  bool retain = false;
  Origin origin = Origin::live;
};

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
  std::set<std::uint16_t> inbound_qos2;  // PUBREC sent, waiting for PUBREL (4.3.3 method B)
  std::uint16_t next_packet_id = 1;
  std::optional<Will> will;  // stored will (connected) or pending will (offline, delayed)
  std::optional<Clock> will_at;
  std::optional<Delivery> held;                   // misbehave reorder
  std::unordered_set<std::uint64_t> delivered_qos2;  // track_deliveries
  // Routing scratch: the index of this session in the current route's target list.
  std::uint64_t route_stamp = 0;
  std::size_t route_index = 0;
};

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

}  // namespace

struct BrokerEngine::Impl {
  explicit Impl(BrokerConfig c) : config(std::move(c)) {
    if (config.misbehave_every == 0) config.misbehave_every = 1;
    if (config.maximum_qos > 2) config.maximum_qos = 2;
    if (config.maximum_packet_size < 2) config.maximum_packet_size = 2;
    if (config.receive_maximum == 0) config.receive_maximum = 1;
    if (config.max_inflight == 0) config.max_inflight = 1;
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

  void log(ConnectionId id, std::string_view text) {
    if (logger) logger(id, text);
  }

  // ------------------------------------------------------------------------------------
  // Output

  // Appends one encoded packet to the connection's pending bytes. Returns false when the
  // packet was not sent because it exceeds the client's Maximum Packet Size
  // [MQTT-3.1.2-24] (the caller then acts as if it was delivered, MQTT-3.1.2-25).
  bool emit(Connection& conn, const mqtt::PacketView& packet) {
    Version v = conn.version == Version::v3_1 ? Version::v3_1_1 : conn.version;
    auto size = mqtt::encoded_size(packet, v);
    if (!size.ok()) {
      log(conn.id, "internal: packet could not be encoded, not sent");
      return false;
    }
    if (is_v5(conn.version) && size.value > conn.client_maximum_packet_size) return false;
    std::string& bytes = output_for(conn.id);
    std::size_t start = bytes.size();
    bytes.resize(start + size.value);
    auto written = mqtt::encode(packet, v,
                                mqtt::MutableBytes(reinterpret_cast<std::uint8_t*>(bytes.data()) + start, size.value));
    if (!written.ok()) {
      bytes.resize(start);
      return false;
    }
    return true;
  }

  // A view packet (CONNACK or DISCONNECT) whose only property is a Reason String, built
  // in scratch_packet_properties. Sent without the Reason String if that makes it fit
  // the client's Maximum Packet Size [MQTT-3.2.2-19, MQTT-3.14.2-3].
  template <class View>
  bool emit_with_reason_string(Connection& conn, View packet, std::string_view reason_string) {
    std::string& raw = scratch_packet_properties;
    raw.clear();
    if (!reason_string.empty()) mqtt::append_property(raw, {.id = PropertyId::reason_string, .value = reason_string});
    packet.properties = mqtt::PropertiesView(raw);
    if (emit(conn, mqtt::PacketView(packet))) return true;
    if (raw.empty()) return false;  // nothing to leave out: it would not fit again
    packet.properties = {};
    return emit(conn, mqtt::PacketView(packet));
  }

  std::string& output_for(ConnectionId id) {
    if (output.empty() || output.back().connection != id || output.back().close) output.push_back(Output{id, {}, false});
    return output.back().bytes;
  }

  void emit_close(ConnectionId id) {
    output_for(id);
    output.back().close = true;
  }

  // ------------------------------------------------------------------------------------
  // Connection lifecycle

  ConnectionId open(Clock now) {
    deadline_stale = true;
    ConnectionId id = next_connection_id++;
    ++stats.connections_opened;
    if (connections.size() >= config.max_connections) {
      ++stats.connections_refused;
      log(id, "refused: max_connections reached");
      emit_close(id);
      return id;
    }
    connections.emplace(id, std::make_unique<Connection>(id, now, config.maximum_packet_size));
    return id;
  }

  // Forgets the connection. `abnormal`: the will is published (3.1.2.5); false after a
  // DISCONNECT that discarded it.
  void drop_connection(ConnectionId id, Clock now, bool abnormal) {
    deadline_stale = true;  // will delay and session expiry timers start here
    auto it = connections.find(id);
    if (it == connections.end()) return;
    std::unique_ptr<Connection> conn = std::move(it->second);
    connections.erase(it);
    Session* session = conn->session;
    if (!session) return;
    session->connection = nullptr;
    conn->session = nullptr;
    if (!abnormal) session->will.reset();
    for (auto& entry : session->inflight) entry.sent = false;  // resent on resumption [MQTT-4.4.0-1]
    if (session->will) {
      std::uint32_t delay = std::min(session->will->delay_seconds, session->expiry_interval);
      if (delay == 0) {
        publish_will(*session, now);
      } else {
        session->will_at = add_seconds(now, delay);
      }
    }
    if (session->expiry_interval == 0) {
      end_session(session->client_id, now);
    } else if (session->expiry_interval != kNeverExpires) {
      session->expires_at = add_seconds(now, session->expiry_interval);
    }
  }

  void publish_will(Session& session, Clock now) {
    if (!session.will) return;
    std::shared_ptr<Message> message = std::move(session.will->message);
    if (session.will->expiry_seconds) message->expires_at = add_seconds(now, *session.will->expiry_seconds);
    session.will.reset();
    session.will_at.reset();
    if (!publish_allowed(session.client_id, std::nullopt, message->topic)) return;
    if (logger) log(0, "publishing will of " + session.client_id);
    if (message->retain) store_retained(message, now);
    route(message, now);
  }

  // Ends a session: its pending will goes out (3.1.2.5), its state is discarded
  // [MQTT-4.1.0-2].
  void end_session(std::string_view client_id, Clock now) {
    deadline_stale = true;
    auto it = sessions.find(client_id);
    if (it == sessions.end()) return;
    Session& session = *it->second;
    if (session.will && !session.connection) publish_will(session, now);
    for (auto& [filter, sub] : session.subscriptions) unindex_subscription(filter, &session);
    if (session.connection) session.connection->session = nullptr;
    sessions.erase(it);
  }

  // Closes a connection because of what the client did. 5.0: DISCONNECT with the reason
  // code first, but only after a successful CONNACK [MQTT-3.14.0-1]; 3.1.1: just close
  // (3.1.1: MQTT-4.8.0-1).
  void close_for_violation(Connection& conn, std::uint8_t code, std::string_view why, std::string_view spec,
                           Clock now) {
    ++stats.protocol_errors;
    const bool disconnect = is_v5(conn.version) && conn.state == Connection::State::connected;
    std::string text;
    if (disconnect || logger) {  // the Reason String, or the log line; otherwise not built
      text.reserve(why.size() + spec.size() + 3);
      text.append(why);
      if (!spec.empty()) text.append(" [").append(spec).append("]");
    }
    if (logger) log(conn.id, "closing: " + text);
    if (disconnect) {
      if (!mqtt::reason_code_allowed(code, PacketType::disconnect)) code = reason::unspecified_error;
      send_disconnect(conn, code, text);
    }
    ConnectionId id = conn.id;
    emit_close(id);
    drop_connection(id, now, true);
  }

  void send_disconnect(Connection& conn, std::uint8_t code, std::string_view text) {
    mqtt::DisconnectView d;
    d.reason_code = code;
    emit_with_reason_string(conn, d, text);
  }

  // Refuses a CONNECT: CONNACK with the code, then close [MQTT-3.2.2-7].
  void refuse_connect(Connection& conn, Version version, std::uint8_t code, std::string_view why, Clock now) {
    if (logger) log(conn.id, "CONNECT refused: " + std::string(why));
    conn.version = version;
    mqtt::ConnackView ack;
    ack.session_present = false;  // [MQTT-3.2.2-6]
    ack.reason_code = code;
    emit_with_reason_string(conn, ack, is_v5(version) ? why : std::string_view());
    ConnectionId id = conn.id;
    emit_close(id);
    drop_connection(id, now, false);
  }

  // ------------------------------------------------------------------------------------
  // Input

  void receive(ConnectionId id, mqtt::Bytes data, Clock now) {
    auto it = connections.find(id);
    if (it == connections.end()) return;
    Connection* conn = it->second.get();
    conn->framer.feed(data);
    while (true) {
      auto frame = conn->framer.next();
      if (frame.status == mqtt::FrameInfo::Status::need_more) return;
      if (frame.status == mqtt::FrameInfo::Status::error) {
        on_decode_error(*conn, frame.error, frame.packet, now);
        return;
      }
      conn->last_rx = now;  // any packet resets the keep-alive timer (3.1.2.10)
      if (!on_packet(*conn, frame.packet, now)) return;  // connection closed
      it = connections.find(id);
      if (it == connections.end()) return;
      conn = it->second.get();
    }
  }

  // The protocol level byte of a CONNECT whose body could not be decoded, if it is there.
  static std::optional<std::uint8_t> peek_connect_level(mqtt::Bytes packet) {
    if (packet.empty() || (packet[0] >> 4) != 1) return std::nullopt;
    std::size_t i = 1;
    while (i < packet.size() && i < 5 && (packet[i] & 0x80)) ++i;
    ++i;  // past the last remaining-length byte
    if (i + 2 > packet.size()) return std::nullopt;
    std::size_t name_len = (std::size_t{packet[i]} << 8) | packet[i + 1];
    std::size_t level_at = i + 2 + name_len;
    if (level_at >= packet.size()) return std::nullopt;
    return packet[level_at];
  }

  void on_decode_error(Connection& conn, const mqtt::Error& error, mqtt::Bytes packet, Clock now) {
    // The description goes out as a 5.0 Reason String or into the log; it is only built
    // when one of them will use it (3.1.1 errors without a logger are the common case).
    auto describe = [&] {  // one allocation: appended in place, no temporaries
      const std::string_view code = mqtt::to_string(error.code);
      char offset[10];  // a uint32_t has at most 10 digits
      const auto end = std::to_chars(offset, offset + sizeof offset, error.offset).ptr;
      std::string why;
      why.reserve(code.size() + 11 + 10 + 2 + error.message.size() + 3 + error.spec.size() + 1);
      why.append(code).append(" at offset ").append(offset, end);
      if (!error.message.empty()) why.append(": ").append(error.message);
      return why;
    };
    std::string why;
    if (logger || (conn.state == Connection::State::awaiting_connect ? peek_connect_level(packet) == 5
                                                                      : is_v5(conn.version)))
      why = describe();
    if (conn.state == Connection::State::awaiting_connect) {
      // Before CONNACK: 5.0 answers with a CONNACK carrying the error (4.13.1), 3.1.1 can
      // only refuse an unacceptable protocol level (3.1.1: MQTT-3.1.2-2) and close.
      auto level = peek_connect_level(packet);
      ++stats.protocol_errors;
      if (error.code == mqtt::Errc::unsupported_protocol_version) {
        refuse_connect(conn, Version::v3_1_1, 0x01, why, now);  // 3.1.1 return code 0x01
        return;
      }
      if (error.code == mqtt::Errc::client_identifier_not_valid && level && *level < 5) {
        refuse_connect(conn, Version::v3_1_1, 0x02, why, now);  // 3.1.1: MQTT-3.1.3-8 / 3.2.2.3
        return;
      }
      if (level && *level == 5) {
        std::uint8_t code = static_cast<std::uint8_t>(error.code);
        if (!mqtt::reason_code_allowed(code, PacketType::connack)) code = reason::malformed_packet;
        if (!error.spec.empty()) why.append(" [").append(error.spec).append("]");
        refuse_connect(conn, Version::v5, code, why, now);
        return;
      }
      if (logger) log(conn.id, "closing before CONNECT: " + why);
      ConnectionId id = conn.id;
      emit_close(id);
      drop_connection(id, now, false);
      return;
    }
    std::uint8_t code = static_cast<std::uint8_t>(error.code);
    if (code < 0x80) code = reason::malformed_packet;
    close_for_violation(conn, code, why, error.spec, now);
  }

  // Returns false when the connection was closed.
  bool on_packet(Connection& conn, mqtt::Bytes bytes, Clock now) {
    mqtt::DecodeOptions options;
    options.version = conn.version == Version::v3_1 ? Version::v3_1_1 : conn.version;
    options.maximum_packet_size = config.maximum_packet_size;
    auto decoded = mqtt::decode(bytes, options);
    if (!decoded.ok()) {
      on_decode_error(conn, decoded.error, bytes, now);
      return false;
    }
    const mqtt::PacketView& packet = decoded.value;
    if (conn.state == Connection::State::awaiting_connect) {
      if (auto* connect = std::get_if<mqtt::ConnectView>(&packet)) return on_connect(conn, *connect, now);
      // The first packet must be CONNECT (3.1.1: MQTT-3.1.0-1; 5.0: 3.1).
      ++stats.protocol_errors;
      log(conn.id, "closing: first packet is not CONNECT [MQTT-3.1.0-1]");
      ConnectionId id = conn.id;
      emit_close(id);
      drop_connection(id, now, false);
      return false;
    }
    if (!conn.session) {  // cannot happen: a connected connection always has its session
      close_for_violation(conn, reason::unspecified_error, "internal: no session", "", now);
      return false;
    }
    return std::visit([&](const auto& p) { return handle(conn, p, now); }, packet);
  }

  // --- CONNECT ---------------------------------------------------------------------------

  bool handle(Connection& conn, const mqtt::ConnectView&, Clock now) {
    close_for_violation(conn, reason::protocol_error, "second CONNECT", "MQTT-3.1.0-2", now);
    return false;
  }

  std::string assign_client_id() {
    while (true) {
      std::string id = "mqtth-" + std::to_string(next_assigned_id++);
      if (sessions.find(id) == sessions.end()) return id;
    }
  }

  bool on_connect(Connection& conn, const mqtt::ConnectView& c, Clock now) {
    deadline_stale = true;  // the connect timeout becomes a keep-alive timer (maybe earlier)
    const Version version = c.protocol_version;
    const bool v5 = is_v5(version);
    conn.version = version;
    // 3.1.1 CONNACK return codes (3.2.2.3) and their 5.0 counterparts.
    auto refuse = [&](std::uint8_t v3_code, std::uint8_t v5_code, std::string_view why) {
      refuse_connect(conn, version, v5 ? v5_code : v3_code, why, now);
      return false;
    };

    if (v5) {
      // The client's Maximum Packet Size binds every packet sent to it, a refusing CONNACK
      // too: its Reason String is left out if it does not fit [MQTT-3.1.2-24, MQTT-3.2.2-19].
      // 0 is a protocol error (refused below), not a limit.
      if (auto mps = c.properties.find(PropertyId::maximum_packet_size); mps && mps->number != 0)
        conn.client_maximum_packet_size = mps->number;
      if (c.properties.find(PropertyId::authentication_method))
        return refuse(0x05, reason::bad_authentication_method,
                      "no authentication method is supported [MQTT-4.12.0-1]");
      if (auto rm = c.properties.find(PropertyId::receive_maximum); rm && rm->number == 0)
        return refuse(0x02, reason::protocol_error, "Receive Maximum 0 is a protocol error");
      if (auto mps = c.properties.find(PropertyId::maximum_packet_size); mps && mps->number == 0)
        return refuse(0x02, reason::protocol_error, "Maximum Packet Size 0 is a protocol error");
    }

    // Client identifier (3.1.3.1).
    std::string client_id(c.client_id);
    bool assigned = false;
    if (client_id.empty()) {
      if (version == Version::v3_1) return refuse(0x02, 0x02, "3.1 requires a client identifier");
      if (!v5 && !c.clean_start)
        return refuse(0x02, 0x02, "empty client identifier needs clean session [MQTT-3.1.3-8]");
      client_id = assign_client_id();  // [MQTT-3.1.3-6]
      assigned = true;
    } else if (version == Version::v3_1 && client_id.size() > 23) {
      return refuse(0x02, 0x02, "3.1 client identifiers are at most 23 bytes");
    }

    // Authentication (3.1.4-2).
    if (c.username) {
      if (!config.users.empty()) {
        auto user = config.users.find(std::string(*c.username));
        if (user == config.users.end() || !c.password || user->second != *c.password)
          return refuse(0x04, reason::bad_user_name_or_password, "bad user name or password");
      }
    } else if (!config.allow_anonymous) {
      return refuse(0x05, reason::not_authorized, "anonymous connections are not allowed");
    }

    if (c.will && v5) {
      if (c.will->qos > config.maximum_qos)
        return refuse(0x05, reason::qos_not_supported, "will QoS above Maximum QoS [MQTT-3.2.2-12]");
      if (c.will->retain && !config.retain_available)
        return refuse(0x05, reason::retain_not_supported, "will retain without retain support [MQTT-3.2.2-13]");
    }

    if (sessions.size() >= config.max_sessions && sessions.find(client_id) == sessions.end())
      return refuse(0x03, reason::quota_exceeded, "max_sessions reached");

    // Connection parameters.
    conn.username = c.username ? std::optional<std::string>(std::string(*c.username)) : std::nullopt;
    std::uint32_t expiry = 0;
    bool expiry_capped = false;
    if (v5) {
      if (auto p = c.properties.find(PropertyId::session_expiry_interval)) expiry = p->number;
      if (auto p = c.properties.find(PropertyId::receive_maximum)) conn.client_receive_maximum = static_cast<std::uint16_t>(p->number);
      if (auto p = c.properties.find(PropertyId::request_problem_information)) conn.request_problem_information = p->number != 0;
      // Outbound aliases only up to the client's own maximum; none when it is absent or 0
      // [MQTT-3.1.2-26, -27].
      if (auto p = c.properties.find(PropertyId::topic_alias_maximum))
        conn.outbound_alias_maximum = static_cast<std::uint16_t>(
            std::min<std::uint32_t>(p->number, config.outbound_topic_alias_maximum));
    } else {
      expiry = c.clean_start ? 0 : kNeverExpires;  // 3.1.1 persistent sessions
    }
    conn.connect_expiry_was_zero = expiry == 0;
    if (expiry > config.max_session_expiry) {
      expiry = config.max_session_expiry;
      expiry_capped = true;
    }
    conn.keep_alive_seconds = c.keep_alive;
    if (v5 && config.server_keep_alive) conn.keep_alive_seconds = *config.server_keep_alive;

    // Session takeover [MQTT-3.1.4-3] (3.1.1: MQTT-3.1.4-2) and clean start
    // [MQTT-3.1.2-4..6]. The old connection's will, by the old connection's version:
    //  - 3.1.1: published, as on any close not preceded by DISCONNECT (3.1.1: MQTT-3.1.2-8).
    //  - 5.0: published when the session ends (the new CONNECT has Clean Start 1, or the
    //    old session had expiry 0) [MQTT-3.1.2-8]; not published when the new connection
    //    resumes the session, since it was opened before any Will Delay could elapse
    //    [MQTT-3.1.3-9] (3.1.4: "published as described in 3.1.2.5"; mosquitto 2.0 agrees).
    if (auto it = sessions.find(client_id); it != sessions.end() && it->second->connection) {
      Connection& old = *it->second->connection;
      if (logger) log(old.id, "session taken over by connection " + std::to_string(conn.id));
      if (is_v5(old.version)) send_disconnect(old, reason::session_taken_over, "");
      const bool session_resumes = !c.clean_start && it->second->expiry_interval != 0;
      const bool publish_old_will = !is_v5(old.version) || !session_resumes;
      ConnectionId old_id = old.id;
      emit_close(old_id);
      drop_connection(old_id, now, publish_old_will);
    }
    bool session_present = false;
    auto it = sessions.find(client_id);
    if (it != sessions.end() && c.clean_start) {
      end_session(client_id, now);
      it = sessions.end();
    }
    Session* session;
    if (it == sessions.end()) {
      auto fresh = std::make_unique<Session>();
      fresh->client_id = client_id;
      session = fresh.get();
      sessions.emplace(client_id, std::move(fresh));
    } else {
      session = it->second.get();
      session_present = true;
      session->will.reset();  // reconnected before the will delay passed [MQTT-3.1.3-9]
      session->will_at.reset();
    }
    session->connection = &conn;
    session->version = version;
    session->expiry_interval = expiry;
    session->expires_at.reset();
    conn.session = session;
    conn.state = Connection::State::connected;

    if (c.will) {
      auto message = std::make_shared<Message>();
      message->topic = std::string(c.will->topic);
      message->payload = std::string(c.will->payload);
      message->qos = std::min(c.will->qos, config.maximum_qos);
      message->retain = c.will->retain && config.retain_available;
      message->origin_client_id = client_id;
      message->seq = next_message_seq++;
      Will will;
      if (v5) {
        message->properties = forwarded_properties(c.will->properties);
        if (auto p = c.will->properties.find(PropertyId::message_expiry_interval)) will.expiry_seconds = p->number;
        if (auto p = c.will->properties.find(PropertyId::will_delay_interval)) will.delay_seconds = p->number;
      }
      will.message = std::move(message);
      session->will = std::move(will);
    }

    // CONNACK [MQTT-3.2.2-2, -3].
    mqtt::ConnackView ack;
    ack.session_present = version == Version::v3_1 ? false : session_present;
    ack.reason_code = 0;
    if (v5) {  // raw properties, in this order
      std::string& raw = scratch_packet_properties;
      raw.clear();
      auto put_number = [&raw](PropertyId id, std::uint32_t v) { mqtt::append_property(raw, {.id = id, .number = v}); };
      if (expiry_capped) put_number(PropertyId::session_expiry_interval, expiry);
      if (config.receive_maximum != 65535) put_number(PropertyId::receive_maximum, config.receive_maximum);
      if (config.maximum_qos < 2) put_number(PropertyId::maximum_qos, config.maximum_qos);
      if (!config.retain_available) put_number(PropertyId::retain_available, 0);
      if (config.maximum_packet_size < mqtt::kMaxPacketSize)
        put_number(PropertyId::maximum_packet_size, config.maximum_packet_size);
      if (assigned)  // [MQTT-3.2.2-16]
        mqtt::append_property(raw, {.id = PropertyId::assigned_client_identifier, .value = client_id});
      if (config.max_topic_alias > 0) put_number(PropertyId::topic_alias_maximum, config.max_topic_alias);
      if (!config.wildcard_subscription_available) put_number(PropertyId::wildcard_subscription_available, 0);
      if (!config.subscription_identifiers_available) put_number(PropertyId::subscription_identifier_available, 0);
      if (!config.shared_subscription_available) put_number(PropertyId::shared_subscription_available, 0);
      if (config.server_keep_alive) put_number(PropertyId::server_keep_alive, *config.server_keep_alive);
      if (auto p = c.properties.find(PropertyId::request_response_information);
          p && p->number == 1 && !config.response_information_prefix.empty())  // [MQTT-3.1.2-28]
        mqtt::append_property(raw, {.id = PropertyId::response_information,
                                    .value = config.response_information_prefix + client_id});
      ack.properties = mqtt::PropertiesView(raw);
    }
    emit(conn, mqtt::PacketView(ack));
    if (logger) log(conn.id, "connected: " + client_id + " (" + std::string(mqtt::to_string(version)) + ")");
    pump(*session, now);  // resend in-flight messages, then queued ones [MQTT-4.4.0-1]
    return true;
  }

  // --- PUBLISH from a client -------------------------------------------------------------

  bool handle(Connection& conn, const mqtt::PublishView& p, Clock now) {
    ++stats.publishes_received;
    Session& session = *conn.session;
    const bool v5 = is_v5(conn.version);
    std::string_view topic = p.topic;
    if (v5) {
      if (auto alias = p.properties.find(PropertyId::topic_alias)) {
        if (alias->number == 0 || alias->number > config.max_topic_alias) {
          close_for_violation(conn, reason::topic_alias_invalid, "topic alias out of range", "MQTT-3.3.2-8", now);
          return false;
        }
        std::size_t index = alias->number - 1;
        if (topic.empty()) {
          if (index >= conn.topic_aliases.size() || conn.topic_aliases[index].empty()) {
            close_for_violation(conn, reason::protocol_error, "topic alias has no mapping", "", now);
            return false;
          }
          topic = conn.topic_aliases[index];
        } else {
          if (index >= conn.topic_aliases.size()) conn.topic_aliases.resize(index + 1);
          conn.topic_aliases[index] = std::string(topic);
          topic = conn.topic_aliases[index];
        }
      }
    }
    if (topic.empty()) {
      close_for_violation(conn, v5 ? reason::protocol_error : reason::topic_name_invalid, "empty topic name",
                          "MQTT-4.7.3-1", now);
      return false;
    }
    if (p.qos > config.maximum_qos) {
      close_for_violation(conn, reason::qos_not_supported, "QoS above Maximum QoS", "MQTT-3.2.2-11", now);
      return false;
    }
    if (p.retain && !config.retain_available) {
      close_for_violation(conn, reason::retain_not_supported, "retain not available", "MQTT-3.2.2-14", now);
      return false;
    }
    if (p.qos == 2) {
      if (session.inbound_qos2.count(p.packet_id)) {
        // A repeat before PUBREL: acknowledge again, do not deliver twice [MQTT-4.3.3-10].
        send_ack<mqtt::Pubrec>(conn, p.packet_id, 0);
        return true;
      }
      if (session.inbound_qos2.size() >= config.receive_maximum) {
        close_for_violation(conn, reason::receive_maximum_exceeded, "more QoS 2 PUBLISH than Receive Maximum",
                            "MQTT-3.3.4-7", now);
        return false;
      }
    }
    if (!publish_allowed(session.client_id, conn.username, topic)) {
      if (logger) log(conn.id, "PUBLISH to " + std::string(topic) + " not authorized");
      // 5.0: refuse with 0x87; 3.1.1 cannot say no, so acknowledge and drop (3.1.1: 3.3.5).
      std::uint8_t code = v5 ? reason::not_authorized : 0;
      if (p.qos == 1) send_ack<mqtt::Puback>(conn, p.packet_id, code);
      if (p.qos == 2) {
        send_ack<mqtt::Pubrec>(conn, p.packet_id, code);
        if (!v5) session.inbound_qos2.insert(p.packet_id);
      }
      return true;
    }

    auto message = std::make_shared<Message>();
    message->topic = std::string(topic);
    message->payload = std::string(p.payload);
    message->qos = p.qos;
    message->retain = p.retain;
    message->origin_client_id = session.client_id;
    message->seq = next_message_seq++;
    if (v5) {
      message->properties = forwarded_properties(p.properties);
      if (auto e = p.properties.find(PropertyId::message_expiry_interval)) message->expires_at = add_seconds(now, e->number);
    }
    std::uint8_t code = 0;
    if (p.retain && !store_retained(message, now)) code = reason::quota_exceeded;
    std::size_t matched = route(message, now);
    if (code == 0 && matched == 0 && v5) code = reason::no_matching_subscribers;
    // [MQTT-3.3.4-1], [MQTT-4.3.2-4], [MQTT-4.3.3-8]
    if (p.qos == 1) send_ack<mqtt::Puback>(conn, p.packet_id, code);
    if (p.qos == 2) {
      send_ack<mqtt::Pubrec>(conn, p.packet_id, code);
      if (code < 0x80) session.inbound_qos2.insert(p.packet_id);
    }
    return true;
  }

  // Built as a view: no owned packet, no conversion (the ack path runs per PUBLISH).
  template <class Ack>
  void send_ack(Connection& conn, std::uint16_t packet_id, std::uint8_t code) {
    mqtt::BasicAck<mqtt::ViewStorage, Ack::type> ack;
    ack.packet_id = packet_id;
    ack.reason_code = is_v5(conn.version) ? code : 0;
    emit(conn, mqtt::PacketView(ack));
  }

  // Stores or clears the topic's retained message [MQTT-3.3.1-5..7]. False when the
  // store is full (max_retained_messages) and the message was not kept. A full store
  // first drops what has expired [MQTT-3.3.2-5]: otherwise expired messages would hold
  // their places until a SUBSCRIBE happened to sweep them (deliver_retained).
  bool store_retained(const MessagePtr& message, Clock now) {
    if (!config.retain_available) return true;
    if (message->payload.empty()) {
      retained.erase(message->topic);
      return true;
    }
    auto it = retained.find(message->topic);
    if (it != retained.end()) {
      it->second = message;
      return true;
    }
    if (retained.size() >= config.max_retained_messages) {
      stats.messages_expired += std::erase_if(retained, [now](const auto& entry) {
        return entry.second->expires_at && *entry.second->expires_at <= now;
      });
      if (retained.size() >= config.max_retained_messages) return false;
    }
    retained.emplace(message->topic, message);
    return true;
  }

  // --- acknowledgements from a client -------------------------------------------------------

  Inflight* find_inflight(Session& s, std::uint16_t id) {
    for (auto& e : s.inflight)
      if (e.packet_id == id) return &e;
    return nullptr;
  }
  void erase_inflight(Session& s, std::uint16_t id) {
    auto it = std::find_if(s.inflight.begin(), s.inflight.end(), [&](const Inflight& e) { return e.packet_id == id; });
    if (it != s.inflight.end()) s.inflight.erase(it);
  }

  bool handle(Connection& conn, const mqtt::PubackView& a, Clock now) {
    Session& s = *conn.session;
    if (auto* e = find_inflight(s, a.packet_id); e && e->delivery.qos == 1) {
      erase_inflight(s, a.packet_id);  // [MQTT-4.3.2-3]
      pump(s, now);
    }
    return true;
  }

  bool handle(Connection& conn, const mqtt::PubrecView& a, Clock now) {
    Session& s = *conn.session;
    auto* e = find_inflight(s, a.packet_id);
    if (!e || e->delivery.qos != 2) {
      if (is_v5(conn.version)) send_ack<mqtt::Pubrel>(conn, a.packet_id, reason::packet_identifier_not_found);
      return true;
    }
    if (a.reason_code >= 0x80) {  // refused: acknowledged, never retransmitted [MQTT-4.4.0-2]
      erase_inflight(s, a.packet_id);
      pump(s, now);
      return true;
    }
    e->released = true;  // never resend the PUBLISH from now on [MQTT-4.3.3-6]
    send_ack<mqtt::Pubrel>(conn, a.packet_id, 0);  // [MQTT-4.3.3-4]
    return true;
  }

  bool handle(Connection& conn, const mqtt::PubrelView& a, Clock) {
    Session& s = *conn.session;
    bool known = s.inbound_qos2.erase(a.packet_id) > 0;
    send_ack<mqtt::Pubcomp>(conn, a.packet_id, known ? 0 : reason::packet_identifier_not_found);  // [MQTT-4.3.3-11]
    return true;
  }

  bool handle(Connection& conn, const mqtt::PubcompView& a, Clock now) {
    Session& s = *conn.session;
    if (auto* e = find_inflight(s, a.packet_id); e && e->released) {
      erase_inflight(s, a.packet_id);
      pump(s, now);
    }
    return true;
  }

  // --- SUBSCRIBE / UNSUBSCRIBE ---------------------------------------------------------------

  bool handle(Connection& conn, const mqtt::SubscribeView& sub, Clock now) {
    Session& s = *conn.session;
    const bool v5 = is_v5(conn.version);
    std::uint32_t identifier = 0;
    if (v5) {
      if (auto id = sub.properties.find(PropertyId::subscription_identifier)) {
        if (!config.subscription_identifiers_available) {
          close_for_violation(conn, reason::subscription_identifiers_not_supported,
                              "subscription identifiers are not supported", "", now);
          return false;
        }
        identifier = id->number;
        if (identifier == 0) {
          close_for_violation(conn, reason::protocol_error, "subscription identifier 0", "", now);
          return false;
        }
      }
    }
    // Built in place as the packet variant, a view: its reason codes are not copied to be
    // encoded, and go back to scratch_reason_codes afterwards.
    mqtt::PacketView packet(std::in_place_type<mqtt::SubackView>);
    auto& ack = std::get<mqtt::SubackView>(packet);
    ack.packet_id = sub.packet_id;  // [MQTT-3.8.4-2]
    ack.reason_codes = std::move(scratch_reason_codes);
    ack.reason_codes.clear();
    struct RetainedWork {
      std::string filter;
      std::uint8_t qos;
    };
    std::vector<RetainedWork> retained_work;
    for (const auto& entry : sub.subscriptions) {  // one reason code per filter, in order [MQTT-3.9.3-1]
      std::string_view filter = entry.filter;
      // Shared subscriptions are a 5.0 feature (4.8.2); like mosquitto 2.0, the broker also
      // honours "$share/group/filter" from 3.1/3.1.1 clients (3.1.1 gives "$" topics to the
      // server, 4.7.2), so one group can mix protocol versions.
      std::optional<mqtt::SharedFilter> shared = mqtt::parse_shared_filter(filter);
      std::string_view match_filter = shared ? shared->filter : filter;
      if (shared && entry.options.no_local) {
        close_for_violation(conn, reason::protocol_error, "No Local on a shared subscription", "MQTT-3.8.3-4", now);
        return false;
      }
      std::uint8_t code;
      bool is_new = s.subscriptions.find(filter) == s.subscriptions.end();
      if (shared && !config.shared_subscription_available) {
        code = v5 ? reason::shared_subscriptions_not_supported : 0x80;
      } else if (has_wildcard(match_filter) && !config.wildcard_subscription_available) {
        code = v5 ? reason::wildcard_subscriptions_not_supported : 0x80;
      } else if (!subscribe_allowed(s.client_id, conn.username, match_filter)) {
        code = v5 ? reason::not_authorized : 0x80;
      } else if (is_new && s.subscriptions.size() >= config.max_subscriptions_per_client) {
        code = v5 ? reason::quota_exceeded : 0x80;
      } else {
        std::uint8_t granted = std::min(entry.options.qos, config.maximum_qos);  // [MQTT-3.8.4-8]
        Subscription subscription;
        subscription.options = entry.options;
        subscription.options.qos = granted;
        if (!v5) subscription.options = mqtt::SubscriptionOptions{granted, false, false, 0};
        subscription.identifier = identifier;
        auto stored = s.subscriptions.find(filter);
        if (stored == s.subscriptions.end())
          stored = s.subscriptions.emplace(std::string(filter), subscription).first;
        else
          stored->second = subscription;  // replaces [MQTT-3.8.4-3]
        const std::string& key = stored->first;
        if (is_new) index_subscription(key, match_filter, shared.has_value(), &s, &stored->second);
        code = granted;
        // Retained messages: not for shared subscriptions (4.8.2); Retain Handling 0
        // always, 1 only for a new subscription, 2 never [MQTT-3.3.1-9..11]. With none
        // stored there is nothing to deliver (SUBSCRIBE stores none).
        std::uint8_t handling = subscription.options.retain_handling;
        if (!shared && !retained.empty() && (handling == 0 || (handling == 1 && is_new)))
          retained_work.push_back({key, granted});
      }
      ack.reason_codes.push_back(code);
    }
    emit(conn, packet);  // [MQTT-3.8.4-1]
    scratch_reason_codes = std::move(ack.reason_codes);
    for (const auto& work : retained_work) deliver_retained(s, work.filter, now);
    return true;
  }

  void deliver_retained(Session& s, const std::string& filter, Clock now) {
    auto sub = s.subscriptions.find(filter);
    if (sub == s.subscriptions.end()) return;
    for (auto it = retained.begin(); it != retained.end();) {
      const MessagePtr& message = it->second;
      if (message->expires_at && *message->expires_at <= now) {  // [MQTT-3.3.2-5]
        ++stats.messages_expired;
        it = retained.erase(it);
        continue;
      }
      if (mqtt::topic_matches(filter, message->topic)) {
        Delivery d;
        d.message = message;
        d.qos = std::min(message->qos, sub->second.options.qos);
        d.retain = true;  // a retained message sent on subscription keeps RETAIN 1 (3.3.1.3)
        d.origin = Origin::retained;
        if (sub->second.identifier) d.subscription_ids.push_back(sub->second.identifier);
        enqueue(s, std::move(d), now);
      }
      ++it;
    }
  }

  bool handle(Connection& conn, const mqtt::UnsubscribeView& unsub, Clock) {
    Session& s = *conn.session;
    mqtt::PacketView packet(std::in_place_type<mqtt::UnsubackView>);  // as SUBACK
    auto& ack = std::get<mqtt::UnsubackView>(packet);
    ack.packet_id = unsub.packet_id;  // [MQTT-3.10.4-5]
    ack.reason_codes = std::move(scratch_reason_codes);
    ack.reason_codes.clear();
    for (std::string_view filter : unsub.filters) {
      auto it = s.subscriptions.find(filter);  // exact comparison [MQTT-3.10.4-1]
      if (it == s.subscriptions.end()) {
        ack.reason_codes.push_back(reason::no_subscription_existed);
        continue;
      }
      unindex_subscription(it->first, &s);
      s.subscriptions.erase(it);
      ack.reason_codes.push_back(reason::success);
    }
    if (!is_v5(conn.version)) ack.reason_codes.clear();  // 3.1.1 UNSUBACK has no payload
    emit(conn, packet);  // [MQTT-3.10.4-4]
    scratch_reason_codes = std::move(ack.reason_codes);
    return true;
  }

  void index_subscription(const std::string& key, std::string_view match_filter, bool shared, Session* s,
                          const Subscription* subscription) {
    auto [it, inserted] = filters.try_emplace(key);
    if (inserted) {
      it->second.match_filter = std::string(match_filter);
      it->second.shared = shared;
      filter_tree.insert(it->second.match_filter, &it->second);
    }
    it->second.members.push_back(Member{s, subscription});
  }

  void unindex_subscription(std::string_view key, Session* s) {
    auto it = filters.find(key);
    if (it == filters.end()) return;
    auto& members = it->second.members;
    members.erase(std::remove_if(members.begin(), members.end(), [&](const Member& m) { return m.session == s; }),
                  members.end());
    if (members.empty()) {
      filter_tree.erase(it->second.match_filter, &it->second);
      filters.erase(it);
    }
  }

  // --- other packets ----------------------------------------------------------------------

  bool handle(Connection& conn, const mqtt::PingreqView&, Clock) {
    emit(conn, mqtt::PacketView(mqtt::PingrespView{}));  // [MQTT-3.12.4-1]
    return true;
  }

  bool handle(Connection& conn, const mqtt::DisconnectView& d, Clock now) {
    Session* s = conn.session;
    if (is_v5(conn.version)) {
      if (auto p = d.properties.find(PropertyId::session_expiry_interval)) {
        if (conn.connect_expiry_was_zero && p->number != 0) {
          close_for_violation(conn, reason::protocol_error, "session expiry set on DISCONNECT after 0 in CONNECT",
                              "MQTT-3.14.2-2", now);
          return false;
        }
        if (s) s->expiry_interval = std::min(p->number, config.max_session_expiry);
      }
    }
    // Only reason 0x00 discards the will [MQTT-3.14.4-3, MQTT-3.1.2-10]; 0x04 (and any
    // error code a client reports) leaves it to be published (3.1.2.5). 3.1.1: every
    // DISCONNECT discards it (3.1.1: MQTT-3.14.4-3).
    bool publish_will = is_v5(conn.version) && d.reason_code != reason::normal_disconnection;
    log(conn.id, "DISCONNECT received");
    ConnectionId id = conn.id;
    emit_close(id);
    drop_connection(id, now, publish_will);
    return false;
  }

  bool handle(Connection& conn, const mqtt::AuthView&, Clock now) {
    // No authentication method was accepted on this connection (CONNECT with one is
    // refused with 0x8C), so any AUTH is a protocol error (4.12).
    close_for_violation(conn, reason::protocol_error, "AUTH without an authentication method", "MQTT-4.12.0-6", now);
    return false;
  }

  // Server-to-client packets sent by a client.
  template <class P>
  bool handle(Connection& conn, const P&, Clock now) {
    std::string why = "a client may not send " + std::string(mqtt::to_string(P::type));
    close_for_violation(conn, reason::protocol_error, why, "", now);
    return false;
  }

  // ------------------------------------------------------------------------------------
  // Authorisation

  std::vector<const AclRule*> applicable_rules(std::string_view client_id, const std::optional<std::string>& user) {
    std::vector<const AclRule*> rules;
    for (const auto& rule : config.acl) {
      if (!glob_match(rule.client_id, client_id)) continue;
      if (user ? !glob_match(rule.username, *user) : rule.username != "*") continue;
      rules.push_back(&rule);
    }
    return rules;
  }
  bool publish_allowed(std::string_view client_id, const std::optional<std::string>& user, std::string_view topic) {
    if (config.acl.empty()) return true;
    for (const AclRule* rule : applicable_rules(client_id, user))
      for (const auto& filter : rule->publish)
        if (mqtt::topic_matches(filter, topic)) return true;
    return false;
  }
  bool subscribe_allowed(std::string_view client_id, const std::optional<std::string>& user, std::string_view filter) {
    if (config.acl.empty()) return true;
    for (const AclRule* rule : applicable_rules(client_id, user))
      for (const auto& allowed : rule->subscribe)
        if (filter_covers(allowed, filter)) return true;
    return false;
  }

  // ------------------------------------------------------------------------------------
  // Routing and delivery

  // Hands a received message to every session with a matching subscription
  // [MQTT-4.5.0-1]. Returns the number of sessions it went to.
  std::size_t route(const MessagePtr& message, Clock now) {
    ++route_stamp;
    auto& targets = scratch_targets;
    targets.clear();
    std::size_t count = 0;
    // Only the filters that match, from the topic tree [MQTT-4.7.2-1 applied there].
    std::vector<FilterEntry*> matches = std::move(scratch_matches);
    matches.clear();
    filter_tree.match(message->topic, [&](FilterEntry* e) { matches.push_back(e); });
    for (FilterEntry* matched : matches) {
      FilterEntry& entry = *matched;
      if (entry.members.empty()) continue;
      if (entry.shared) {
        // One member of the group gets it, round robin, preferring connected members.
        std::size_t n = entry.members.size();
        const Member* chosen_member = nullptr;
        for (std::size_t i = 0; i < n && !chosen_member; ++i) {
          const Member& candidate = entry.members[(entry.next + i) % n];
          if (candidate.session->connection) {
            chosen_member = &candidate;
            entry.next = (entry.next + i + 1) % n;
          }
        }
        if (!chosen_member) {
          chosen_member = &entry.members[entry.next % n];
          entry.next = (entry.next + 1) % n;
        }
        Session* chosen = chosen_member->session;
        const Subscription& sub = *chosen_member->subscription;
        Delivery d;
        d.message = message;
        d.qos = std::min(message->qos, sub.options.qos);  // [MQTT-4.8.2-3]
        d.retain = is_v5(chosen->version) && sub.options.retain_as_published && message->retain;
        d.origin = Origin::shared;
        if (sub.identifier) d.subscription_ids.push_back(sub.identifier);
        enqueue(*chosen, std::move(d), now, /*allow_misbehave=*/true);
        ++count;
        continue;
      }
      for (const Member& member : entry.members) {
        Session* s = member.session;
        const Subscription& sub = *member.subscription;
        if (sub.options.no_local && s->client_id == message->origin_client_id) continue;  // [MQTT-3.8.3-3]
        if (s->route_stamp != route_stamp) {
          s->route_stamp = route_stamp;
          s->route_index = targets.size();
          targets.push_back(Target{s, 0, false, {}});
        }
        Target& t = targets[s->route_index];
        // Overlapping subscriptions: one copy, highest QoS, every identifier [MQTT-3.3.4-2, -3].
        t.qos = std::max(t.qos, sub.options.qos);
        t.retain_as_published = t.retain_as_published || sub.options.retain_as_published;
        if (sub.identifier) t.subscription_ids.push_back(sub.identifier);
      }
    }
    for (auto& t : targets) {
      Delivery d;
      d.message = message;
      d.qos = std::min(message->qos, t.qos);  // [MQTT-3.8.4-8]
      // 3.1.1: RETAIN 0 on forwarded messages (3.1.1: MQTT-3.3.1-9); 5.0: per Retain As
      // Published [MQTT-3.3.1-12, -13].
      d.retain = is_v5(t.session->version) && t.retain_as_published && message->retain;
      d.subscription_ids = std::move(t.subscription_ids);
      enqueue(*t.session, std::move(d), now, /*allow_misbehave=*/true);
      ++count;
    }
    targets.clear();
    scratch_matches = std::move(matches);
    return count;
  }

  bool misbehave_now() { return ++misbehave_counter % config.misbehave_every == 0; }

  void enqueue(Session& s, Delivery d, Clock now, bool allow_misbehave = false) {
    if (allow_misbehave && config.misbehave != Misbehave::none) {
      switch (config.misbehave) {
        case Misbehave::drop_qos1:
          if (d.qos == 1 && misbehave_now()) {
            ++stats.misbehaviours;
            return;
          }
          break;
        case Misbehave::drop_qos0:
          if (d.qos == 0 && misbehave_now()) {
            ++stats.misbehaviours;
            return;
          }
          break;
        case Misbehave::dup_qos2:
          if (d.qos == 2 && misbehave_now()) {
            ++stats.misbehaviours;
            Delivery copy = d;
            copy.origin = Origin::misbehave_copy;
            enqueue(s, std::move(d), now);
            enqueue(s, std::move(copy), now);
            return;
          }
          break;
        case Misbehave::reorder:
          if (s.held && s.held->message->topic == d.message->topic) {
            Delivery held = std::move(*s.held);
            s.held.reset();
            enqueue(s, std::move(d), now);
            enqueue(s, std::move(held), now);
            return;
          }
          if (!s.held && misbehave_now()) {
            ++stats.misbehaviours;
            s.held = std::move(d);
            return;
          }
          break;
        case Misbehave::none:
          break;
      }
    }
    Connection* conn = s.connection;
    if (d.qos == 0) {
      if (conn) send_publish(*conn, s, d, 0, false, now);  // QoS 0 is never queued offline
      return;
    }
    if (conn && s.queue.empty() && sent_count(s) < window(s) && s.inflight.size() < config.max_inflight) {
      start_inflight(s, *conn, std::move(d), now);
      return;
    }
    if (s.queue.size() >= config.max_queued_messages) {
      ++stats.messages_dropped_queue_full;
      return;
    }
    s.queue.push_back(std::move(d));
  }

  std::size_t window(const Session& s) const {
    std::size_t w = config.max_inflight;
    if (s.connection && is_v5(s.connection->version)) w = std::min<std::size_t>(w, s.connection->client_receive_maximum);
    return w;  // [MQTT-3.3.4-9], [MQTT-4.9.0-1, -2]
  }
  static std::size_t sent_count(const Session& s) {
    return static_cast<std::size_t>(std::count_if(s.inflight.begin(), s.inflight.end(), [](const Inflight& e) { return e.sent; }));
  }

  std::optional<std::uint16_t> allocate_packet_id(Session& s) {
    for (std::uint32_t tries = 0; tries < 65535; ++tries) {
      std::uint16_t id = s.next_packet_id;
      s.next_packet_id = static_cast<std::uint16_t>(id == 65535 ? 1 : id + 1);
      if (!find_inflight(s, id)) return id;  // unused, non-zero [MQTT-2.2.1-4]
    }
    return std::nullopt;
  }

  static bool expired(const Delivery& d, Clock now) {
    return d.message->expires_at && *d.message->expires_at <= now;
  }

  void start_inflight(Session& s, Connection& conn, Delivery d, Clock now) {
    if (expired(d, now)) {  // [MQTT-3.3.2-5]
      ++stats.messages_expired;
      return;
    }
    auto id = allocate_packet_id(s);
    if (!id) {
      if (s.queue.size() < config.max_queued_messages) s.queue.push_front(std::move(d));
      return;
    }
    if (!send_publish(conn, s, d, *id, false, now)) return;  // too large: as if delivered [MQTT-3.1.2-25]
    s.inflight.push_back(Inflight{std::move(d), *id, false, true});
  }

  // Resends what is in flight, then moves queued messages into the window.
  void pump(Session& s, Clock now) {
    Connection* conn = s.connection;
    if (!conn) return;
    std::size_t w = window(s);
    std::size_t sent = sent_count(s);
    for (std::size_t i = 0; i < s.inflight.size() && sent < w;) {
      Inflight& e = s.inflight[i];
      if (e.sent) {
        ++i;
        continue;
      }
      e.sent = true;
      ++sent;
      if (e.released) {
        send_ack<mqtt::Pubrel>(*conn, e.packet_id, 0);  // [MQTT-4.4.0-1]
        ++i;
      } else if (!send_publish(*conn, s, e.delivery, e.packet_id, true, now)) {  // DUP 1 [MQTT-3.3.1-1]
        s.inflight.erase(s.inflight.begin() + static_cast<std::ptrdiff_t>(i));
        --sent;
      } else {
        ++i;
      }
    }
    while (!s.queue.empty() && sent_count(s) < w && s.inflight.size() < config.max_inflight && s.connection) {
      Delivery d = std::move(s.queue.front());
      s.queue.pop_front();
      start_inflight(s, *conn, std::move(d), now);
    }
  }

  struct AliasChoice {
    std::uint16_t alias = 0;  // 0: send the topic without an alias
    bool known = false;       // the client already maps this alias to this topic
  };

  // The alias for `topic` on this connection: the one already mapped to it, else the
  // next unused one, else the least recently used one (re-mapped, 3.3.2.3.4). Never above
  // the client's Topic Alias Maximum [MQTT-3.3.2-11], never 0 [MQTT-3.3.2-8].
  static AliasChoice choose_outbound_alias(Connection& conn, std::string_view topic) {
    if (!conn.outbound_aliases) conn.outbound_aliases.reset(new OutboundAliases());
    OutboundAliases& a = *conn.outbound_aliases;
    if (auto it = a.by_topic.find(topic); it != a.by_topic.end()) return {it->second, true};
    if (a.topics.size() < conn.outbound_alias_maximum) return {static_cast<std::uint16_t>(a.topics.size() + 1), false};
    auto oldest = std::min_element(a.last_used.begin(), a.last_used.end());
    return {static_cast<std::uint16_t>(oldest - a.last_used.begin() + 1), false};
  }

  static void commit_outbound_alias(Connection& conn, std::string_view topic, AliasChoice choice) {
    OutboundAliases& a = *conn.outbound_aliases;
    std::size_t index = choice.alias - 1u;
    if (!choice.known) {
      if (index == a.topics.size()) {
        a.topics.emplace_back(topic);
        a.last_used.push_back(0);
      } else {
        a.by_topic.erase(a.topics[index]);
        a.topics[index] = std::string(topic);
      }
      a.by_topic.emplace(a.topics[index], choice.alias);
    }
    a.last_used[index] = ++a.uses;
  }

  // Encodes one PUBLISH of a shared message for this connection, without copying topic
  // or payload. False when not sent (expired or above the client's Maximum Packet Size).
  bool send_publish(Connection& conn, Session& s, const Delivery& d, std::uint16_t packet_id, bool dup, Clock now) {
    const Message& m = *d.message;
    if (!dup && expired(d, now)) {
      ++stats.messages_expired;
      return false;
    }
    mqtt::PublishView p;
    p.dup = dup && d.qos > 0;  // [MQTT-3.3.1-2]
    p.qos = d.qos;
    p.retain = d.retain;
    p.topic = m.topic;
    p.packet_id = d.qos > 0 ? packet_id : 0;
    p.payload = m.payload;
    AliasChoice alias;
    if (is_v5(conn.version)) {
      if (conn.outbound_alias_maximum > 0) alias = choose_outbound_alias(conn, m.topic);
      if (alias.alias != 0 && alias.known) p.topic = {};  // the alias stands for the topic (3.3.2.3.4)
      if (!m.expires_at && d.subscription_ids.empty() && alias.alias == 0) {
        p.properties = mqtt::PropertiesView(m.properties);
      } else {
        std::string& raw = scratch_properties;
        raw.clear();
        if (m.expires_at) {  // what is left of the interval [MQTT-3.3.2-6]
          Clock left_ms = *m.expires_at > now ? *m.expires_at - now : 0;
          mqtt::append_property(raw, {.id = PropertyId::message_expiry_interval,
                                      .number = static_cast<std::uint32_t>(std::min<Clock>((left_ms + 999) / 1000, 0xFFFFFFFF))});
        }
        raw += m.properties;
        for (std::uint32_t id : d.subscription_ids) {  // [MQTT-3.3.4-3]
          mqtt::append_property(raw, {.id = PropertyId::subscription_identifier, .number = id});
        }
        if (alias.alias != 0) {
          mqtt::append_property(raw, {.id = PropertyId::topic_alias, .number = alias.alias});
        }
        p.properties = mqtt::PropertiesView(raw);
      }
    }
    if (!emit(conn, mqtt::PacketView(p))) {
      ++stats.messages_dropped_too_large;
      return false;
    }
    // Only a PUBLISH actually sent establishes or refreshes a mapping.
    if (alias.alias != 0) commit_outbound_alias(conn, m.topic, alias);
    ++stats.publishes_sent;
    if (d.qos == 2 && !dup && config.track_deliveries && d.origin == Origin::live) {
      if (!s.delivered_qos2.insert(m.seq).second) ++qos2_duplicates;
    }
    return true;
  }

  // ------------------------------------------------------------------------------------
  // Timers

  std::optional<Clock> next_deadline() const {
    if (!deadline_stale) return cached_deadline;
    cached_deadline = compute_next_deadline();
    deadline_stale = false;
    return cached_deadline;
  }

  std::optional<Clock> compute_next_deadline() const {
    std::optional<Clock> next;
    auto consider = [&](Clock t) {
      if (!next || t < *next) next = t;
    };
    for (const auto& [id, conn] : connections) {
      if (conn->state == Connection::State::awaiting_connect) {
        consider(add_ms(conn->opened_at, config.connect_timeout_ms));
      } else if (conn->keep_alive_seconds) {
        consider(add_ms(conn->last_rx, std::uint64_t{conn->keep_alive_seconds} * 1500));  // [MQTT-3.1.2-22]
      }
    }
    for (const auto& [id, s] : sessions) {
      if (s->will_at) consider(*s->will_at);
      if (s->expires_at) consider(*s->expires_at);
    }
    return next;
  }

  void advance(Clock now) {
    deadline_stale = true;
    std::vector<ConnectionId> due_connect, due_keep_alive;
    for (const auto& [id, conn] : connections) {
      if (conn->state == Connection::State::awaiting_connect) {
        if (add_ms(conn->opened_at, config.connect_timeout_ms) <= now) due_connect.push_back(id);
      } else if (conn->keep_alive_seconds &&
                 add_ms(conn->last_rx, std::uint64_t{conn->keep_alive_seconds} * 1500) <= now) {
        due_keep_alive.push_back(id);
      }
    }
    for (ConnectionId id : due_connect) {
      log(id, "closing: no CONNECT within connect_timeout_ms");
      emit_close(id);
      drop_connection(id, now, false);
    }
    for (ConnectionId id : due_keep_alive) {
      auto it = connections.find(id);
      if (it == connections.end()) continue;
      Connection& conn = *it->second;
      log(id, "closing: keep-alive timeout [MQTT-3.1.2-22]");
      if (is_v5(conn.version)) send_disconnect(conn, reason::keep_alive_timeout, "keep alive timeout");
      emit_close(id);
      drop_connection(id, now, true);
    }
    std::vector<std::string> wills, expired_sessions;
    for (const auto& [id, s] : sessions) {
      if (s->will_at && *s->will_at <= now) wills.push_back(id);
      if (s->expires_at && *s->expires_at <= now) expired_sessions.push_back(id);
    }
    for (const auto& id : wills)
      if (auto it = sessions.find(id); it != sessions.end()) publish_will(*it->second, now);
    for (const auto& id : expired_sessions) {
      auto it = sessions.find(id);
      if (it != sessions.end() && !it->second->connection) end_session(id, now);
    }
  }

  // ------------------------------------------------------------------------------------
  // Introspection

  SessionInfo info(const Session& s) const {
    SessionInfo i;
    i.client_id = s.client_id;
    i.connected = s.connection != nullptr;
    if (s.connection) i.connection = s.connection->id;
    i.version = s.version;
    i.session_expiry_interval = s.expiry_interval;
    i.subscriptions = s.subscriptions.size();
    i.inflight_out = s.inflight.size();
    i.queued = s.queue.size();
    i.inbound_qos2_pending = s.inbound_qos2.size();
    i.will_pending = s.will_at.has_value();
    return i;
  }

  // A deep copy (BrokerEngine::clone). Connections and sessions are copied member by
  // member, then every pointer between them (connection <-> session, filter members ->
  // session and subscription, topic tree -> filter entry) is pointed at the copy's own
  // objects. Messages are immutable once routed and are shared; a stored will is not
  // (publish_will sets its expiry), so it is copied.
  std::unique_ptr<Impl> clone() const {
    auto copy = std::make_unique<Impl>(config);
    Impl& c = *copy;
    // The fuzz target clones per input: what is usually empty is not even copied empty.
    c.stats = stats;
    if (!output.empty()) c.output = output;
    if (logger) c.logger = logger;
    c.next_connection_id = next_connection_id;
    c.next_message_seq = next_message_seq;
    c.next_assigned_id = next_assigned_id;
    c.route_stamp = route_stamp;
    c.misbehave_counter = misbehave_counter;
    c.qos2_duplicates = qos2_duplicates;
    c.cached_deadline = cached_deadline;
    c.deadline_stale = deadline_stale;
    if (!retained.empty()) c.retained = retained;
    for (const auto& [id, conn] : connections) c.connections.emplace_hint(c.connections.end(), id, std::make_unique<Connection>(*conn));
    for (const auto& [client_id, session] : sessions) {
      auto fresh = std::make_unique<Session>(*session);
      if (fresh->will) fresh->will->message = std::make_shared<Message>(*fresh->will->message);
      c.sessions.emplace_hint(c.sessions.end(), client_id, std::move(fresh));
    }
    // Links: the copied pointers still point into this engine; find the copies by key.
    for (auto& [id, conn] : c.connections)
      if (conn->session) conn->session = c.find_session(conn->session->client_id);
    for (auto& [client_id, session] : c.sessions)
      if (session->connection) {
        auto it = c.connections.find(session->connection->id);
        session->connection = it == c.connections.end() ? nullptr : it->second.get();
      }
    if (filters.empty()) return copy;
    std::vector<std::pair<const FilterEntry*, FilterEntry*>> entries;  // this -> copy, by address
    entries.reserve(filters.size());
    for (const auto& [key, entry] : filters) {
      FilterEntry& e = c.filters.emplace_hint(c.filters.end(), key, entry)->second;
      for (Member& m : e.members) {
        m.session = c.find_session(m.session->client_id);
        m.subscription = nullptr;
        if (!m.session) continue;
        if (auto sub = m.session->subscriptions.find(key); sub != m.session->subscriptions.end())
          m.subscription = &sub->second;
      }
      entries.emplace_back(&entry, &e);
    }
    std::sort(entries.begin(), entries.end());
    c.filter_tree = filter_tree.mapped_copy([&entries](const FilterEntry* e) {
      auto it = std::lower_bound(entries.begin(), entries.end(), std::pair<const FilterEntry*, FilterEntry*>(e, nullptr));
      return it != entries.end() && it->first == e ? it->second : nullptr;
    });
    return copy;
  }

  Session* find_session(std::string_view client_id) const {
    auto it = sessions.find(client_id);
    return it == sessions.end() ? nullptr : it->second.get();
  }

  std::optional<std::string> check_invariants() const {
    if (connections.size() > config.max_connections) return "more connections than max_connections";
    if (sessions.size() > config.max_sessions) return "more sessions than max_sessions";
    if (retained.size() > config.max_retained_messages) return "more retained messages than max_retained_messages";
    for (const auto& [id, conn] : connections) {
      if (conn->session && conn->session->connection != conn.get())
        return "connection " + std::to_string(id) + " points to a session that does not point back";
      if (conn->state == Connection::State::connected && !conn->session)
        return "connected connection " + std::to_string(id) + " without a session";
    }
    std::vector<std::uint16_t> ids;  // reused across sessions
    for (const auto& [client_id, s] : sessions) {
      // Runs after every fuzz event: the message is built only when something is broken.
      auto who = [name = std::string_view(client_id)] { return "session '" + std::string(name) + "': "; };
      if (s->connection) {
        auto it = connections.find(s->connection->id);
        if (it == connections.end() || it->second.get() != s->connection || s->connection->session != s.get())
          return who() + "connection link is inconsistent";
        if (sent_count(*s) > window(*s)) return who() + "more messages in flight than the receive maximum";
      }
      if (s->inflight.size() > config.max_inflight) return who() + "in-flight above max_inflight";
      if (s->queue.size() > config.max_queued_messages) return who() + "queue above max_queued_messages";
      if (s->subscriptions.size() > config.max_subscriptions_per_client) return who() + "too many subscriptions";
      if (s->inbound_qos2.size() > config.receive_maximum) return who() + "inbound QoS 2 above receive_maximum";
      ids.clear();
      for (const auto& e : s->inflight) {
        if (e.packet_id == 0) return who() + "in-flight packet id 0";
        if (e.delivery.qos == 0) return who() + "QoS 0 message in flight";
        ids.push_back(e.packet_id);
      }
      std::sort(ids.begin(), ids.end());
      if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) return who() + "in-flight packet id reused";
      for (const auto& [filter, sub] : s->subscriptions) {
        auto it = filters.find(filter);
        if (it == filters.end() ||
            std::find_if(it->second.members.begin(), it->second.members.end(),
                         [session = s.get(), stored = &sub](const Member& m) { return m.session == session && m.subscription == stored; }) ==
                it->second.members.end())
          return who() + "subscription '" + filter + "' missing from the index";
      }
    }
    if (qos2_duplicates > 0 && config.misbehave != Misbehave::dup_qos2)
      return "a QoS 2 message was delivered twice to one session";
    return std::nullopt;
  }
};

// ---------------------------------------------------------------------------------------

BrokerEngine::BrokerEngine(BrokerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
BrokerEngine::BrokerEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BrokerEngine BrokerEngine::clone() const { return BrokerEngine(impl_->clone()); }
BrokerEngine::~BrokerEngine() = default;
BrokerEngine::BrokerEngine(BrokerEngine&&) noexcept = default;
BrokerEngine& BrokerEngine::operator=(BrokerEngine&&) noexcept = default;

ConnectionId BrokerEngine::open(std::uint64_t now_ms) { return impl_->open(now_ms); }
void BrokerEngine::receive(ConnectionId id, mqtt::Bytes data, std::uint64_t now_ms) { impl_->receive(id, data, now_ms); }
void BrokerEngine::closed(ConnectionId id, std::uint64_t now_ms) {
  if (impl_->connections.count(id)) impl_->log(id, "connection lost");
  impl_->drop_connection(id, now_ms, true);
}
void BrokerEngine::advance(std::uint64_t now_ms) { impl_->advance(now_ms); }
std::optional<std::uint64_t> BrokerEngine::next_deadline() const { return impl_->next_deadline(); }
std::vector<Output> BrokerEngine::take_output() { return std::exchange(impl_->output, {}); }
bool BrokerEngine::has_output() const { return !impl_->output.empty(); }
void BrokerEngine::set_logger(std::function<void(ConnectionId, std::string_view)> logger) {
  impl_->logger = std::move(logger);
}
const BrokerConfig& BrokerEngine::config() const { return impl_->config; }
std::size_t BrokerEngine::connection_count() const { return impl_->connections.size(); }
std::size_t BrokerEngine::session_count() const { return impl_->sessions.size(); }
std::size_t BrokerEngine::retained_count() const { return impl_->retained.size(); }
std::optional<SessionInfo> BrokerEngine::session(std::string_view client_id) const {
  auto it = impl_->sessions.find(client_id);
  if (it == impl_->sessions.end()) return std::nullopt;
  return impl_->info(*it->second);
}
std::vector<SessionInfo> BrokerEngine::sessions() const {
  std::vector<SessionInfo> out;
  out.reserve(impl_->sessions.size());  // the fuzz target asks after every event
  for (const auto& [id, s] : impl_->sessions) out.push_back(impl_->info(*s));
  return out;
}
void BrokerEngine::sessions(std::vector<SessionInfo>& out) const {
  out.clear();
  for (const auto& [id, s] : impl_->sessions) out.push_back(impl_->info(*s));
}
const EngineStats& BrokerEngine::stats() const { return impl_->stats; }
std::optional<std::string> BrokerEngine::check_invariants() const { return impl_->check_invariants(); }

}  // namespace mqtth::engine
