// QoS ledger: records every message the harness publishes and every delivery a
// subscriber receives, and proves or refutes the delivery guarantee of each stream.
//
// Pure C++20: no Qt, no I/O, no clock. Recording is O(1) amortised per message and does
// no string allocation on the hot path (names are interned into small integer ids once;
// per-message state is one byte in a vector indexed by sequence number).
//
// Vocabulary (docs/reports.md has the full rules):
//   client     a harness client, by name ("pub", "sub"); publishers and subscribers are clients.
//   stream     what one publisher publishes to one topic at one QoS. A stream numbers its
//              messages 0, 1, 2, ... (the sequence); MQTT orders messages per publisher,
//              topic and QoS (3.1.1 MQTT-4.6.0-6, 5.0 MQTT-4.6.0-5), so order is checked
//              per stream.
//   pair       (stream, subscriber): the unit the ledger gives a verdict for. Its report row
//              is {publisher, subscriber, topic, qos, guarantee, sent, delivered, lost,
//              duplicated, reordered, verdict} (docs/reports.md, `deliveries[]`).
//
// Message identity. Every message the harness publishes carries
//   payload prefix  "mqtth:<run>:<publisher>:<stream>:<seq>;" then the user payload, and
//   (MQTT 5 only)   user property  mqtth-id = "<run>:<publisher>:<stream>:<seq>"
// with all four numbers unsigned decimal without leading zeros (run < 2^32, publisher and
// stream < 2^32, seq < 2^64). The payload prefix is the authority: it survives brokers
// that drop user properties, and 3.1.1 has none. A delivery whose payload does not parse,
// or parses with another run id, is "foreign" and counted per subscriber, never a crash.
//
// Thread-safety: none; one Ledger per scenario run, used from one thread.
// Errors: functions taking a ClientId or StreamId that did not come from this ledger throw
// std::out_of_range (a caller bug); nothing a broker sends can make a call throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mqtt {
enum class Version : std::uint8_t;  // codec/include/mqtt/codec.hpp
}  // namespace mqtt

namespace mqtth::ledger {

using ClientId = std::uint32_t;
using StreamId = std::uint32_t;
using Sequence = std::uint64_t;

// ---------------------------------------------------------------------------------------
// Message identity encoding

struct MessageId {
  std::uint32_t run = 0;
  ClientId publisher = 0;
  StreamId stream = 0;
  Sequence seq = 0;
  friend bool operator==(const MessageId&, const MessageId&) = default;
};

inline constexpr std::string_view kPayloadMagic = "mqtth:";
inline constexpr std::string_view kUserPropertyName = "mqtth-id";
// "mqtth:" + 10 + ":" + 10 + ":" + 10 + ":" + 20 + ";"
inline constexpr std::size_t kMaxPrefixSize = 6 + 10 + 1 + 10 + 1 + 10 + 1 + 20 + 1;
inline constexpr std::size_t kMaxPropertyValueSize = kMaxPrefixSize - 7;

// Writes "mqtth:<run>:<publisher>:<stream>:<seq>;" into `out` and returns the number of
// bytes written (never more than kMaxPrefixSize). No allocation.
std::size_t encode_prefix(const MessageId& id, std::span<char, kMaxPrefixSize> out) noexcept;
// Prefix followed by the user payload, as one owning string (convenience; allocates).
std::string make_payload(const MessageId& id, std::string_view user_payload);
// Writes "<run>:<publisher>:<stream>:<seq>" (the mqtth-id user property value).
std::size_t encode_property_value(const MessageId& id,
                                  std::span<char, kMaxPropertyValueSize> out) noexcept;
std::string make_property_value(const MessageId& id);

struct ParsedPayload {
  MessageId id;
  std::string_view user_payload;  // view into the input, after the ';'
};
// Parses a payload that starts with the prefix. Returns nullopt (never throws) when the
// magic is missing, a number is empty, has a leading zero, overflows its type, or the
// terminator ';' is missing. No allocation.
std::optional<ParsedPayload> parse_payload(std::string_view payload) noexcept;
std::optional<ParsedPayload> parse_payload(std::span<const std::uint8_t> payload) noexcept;
// Parses the mqtth-id user property value (the whole value must match).
std::optional<MessageId> parse_property_value(std::string_view value) noexcept;

// ---------------------------------------------------------------------------------------
// Guarantees and verdicts

enum class Guarantee : std::uint8_t { at_most_once = 0, at_least_once = 1, exactly_once = 2 };
std::string_view to_string(Guarantee);                    // "at_most_once" ... "exactly_once"
std::optional<Guarantee> parse_guarantee(std::string_view);
// QoS 0 -> at_most_once, 1 -> at_least_once, 2 -> exactly_once (values above 2 clamp to 2).
Guarantee guarantee_for_qos(std::uint8_t qos) noexcept;

enum class Verdict : std::uint8_t { held, violated };
std::string_view to_string(Verdict);  // "held", "violated"

// What a check (the scenario's expect_delivery step) demands of a pair.
struct Expectation {
  // When set, the pair is judged by this guarantee, and a pair whose effective QoS gives
  // a different guarantee is violated ("guarantee mismatch"): the scenario author stated
  // what the broker should grant. When unset, the effective QoS decides.
  std::optional<Guarantee> guarantee;
  // Reordered messages are always counted; they make the verdict "violated" only when
  // `ordered` is true.
  bool ordered = false;
};

// One report row (docs/reports.md, `deliveries[]`) plus diagnostic extras.
struct StreamResult {
  std::string publisher;
  std::string subscriber;
  std::string topic;
  std::uint8_t qos = 0;            // effective QoS: min(publish QoS, granted QoS)
  std::uint8_t publish_qos = 0;
  std::uint8_t granted_qos = 0;    // highest granted QoS among matching subscriptions
  Guarantee guarantee = Guarantee::at_most_once;  // the guarantee the pair was judged by
  bool ordered = false;            // whether order was required

  std::uint64_t attempted = 0;     // PUBLISH written by the publisher while subscribed
  std::uint64_t sent = 0;          // of those, broker took responsibility (the obligation)
  std::uint64_t delivered = 0;     // distinct messages of the stream received (first copies)
  std::uint64_t lost = 0;          // sent, obligated, never received
  std::uint64_t duplicated = 0;    // extra copies of an already received message
  std::uint64_t duplicated_excused = 0;  // of those, copies of QoS 1 publishes the publisher re-sent
  std::uint64_t reordered = 0;     // first copies that arrived after a later message
  std::uint64_t late_redelivered = 0;  // first copies with DUP=1 after a later message (legal)
  std::uint64_t qos_mismatch = 0;  // deliveries whose QoS != effective QoS (MQTT-3.8.4-6 / 5.0 MQTT-3.8.4-8)
  std::uint64_t unexpected = 0;    // received but not obligated (e.g. published before subscribing)
  std::uint64_t waived = 0;        // obligations released by end_session (session discarded)

  // Of `duplicated` / `lost`: copies and losses that are the consequence of a deviation
  // reported where it happened (`cause`): a PUBLISH the broker re-sent after its PUBREL
  // (DeliveryInfo::consequence_of), a session the broker lost (Ledger::session_lost).
  std::uint64_t duplicated_consequence = 0;
  std::uint64_t lost_consequence = 0;
  std::string cause;               // statement of that deviation (the first one), or empty

  Verdict verdict = Verdict::held;
  // Empty when held; otherwise what was violated. With the ledger's protocol version known,
  // the text names exactly one statement, `statement`: the cause when there are
  // consequences, else the first of lost, duplicated, reordered, delivered at the wrong QoS
  // that has one. The other problems of the row are in the text without their ids, which
  // are in `see_also`. (Duplicates at most once and a guarantee mismatch have none.)
  std::string reason;
  std::string statement;
  std::vector<std::string> see_also;
};

// Per-subscriber deliveries that could not be attributed to a stream.
struct ForeignCounts {
  std::string subscriber;
  std::uint64_t unparsable = 0;  // payload without a valid mqtth prefix
  std::uint64_t other_run = 0;   // valid prefix, different run id (e.g. retained from an earlier run)
  std::uint64_t unknown = 0;     // this run, but a stream or sequence never published
};

struct DeliveryInfo {
  DeliveryInfo() = default;
  DeliveryInfo(std::uint8_t qos_received, bool dup_flag, bool retain_flag, std::string_view consequence = {})
      : qos(qos_received), dup(dup_flag), retain(retain_flag), consequence_of(consequence) {}

  std::uint8_t qos = 0;   // QoS of the PUBLISH as received by the subscriber
  bool dup = false;       // its DUP flag (MQTT-3.3.1-3: set only on broker retransmission)
  bool retain = false;    // its RETAIN flag
  // Set when this copy is itself the subject of a deviation already reported (the client
  // session's MessageDelivered::consequence_of: a QoS 2 PUBLISH re-sent after PUBREL): its
  // statement. A duplicate it makes is that deviation's consequence, not a new one.
  std::string_view consequence_of;
};

// ---------------------------------------------------------------------------------------
// The ledger

class Ledger {
public:
  // `version`: the run's protocol version, which picks the statement ids verdicts cite (the
  // same id names different statements in 3.1.1 and 5.0). Without it a verdict names the
  // statement of both versions ("3.1.1 MQTT-4.3.3-2 / 5.0 MQTT-4.3.3-10").
  explicit Ledger(std::uint32_t run_id = 1, std::optional<mqtt::Version> version = std::nullopt);
  ~Ledger();
  Ledger(Ledger&&) noexcept;
  Ledger& operator=(Ledger&&) noexcept;
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  std::uint32_t run_id() const noexcept;

  // Interns a client name; the same name always returns the same id.
  ClientId client(std::string_view name);
  const std::string& client_name(ClientId) const;

  // Subscription state, which decides which subscribers a publish obligates. Call in the
  // order the harness saw them: after the SUBACK (with the granted QoS; a failure code
  // >= 0x80 must not be recorded), after the UNSUBACK. A filter already held by the
  // subscriber is replaced (MQTT-3.8.4-3). `$share/...` filters are accepted but never
  // obligate (a shared group delivers each message to one member only).
  // no_local (MQTT 5, MQTT-3.8.3-3): the subscriber's own publishes are not obligated.
  void subscribe(ClientId subscriber, std::string_view filter, std::uint8_t granted_qos,
                 bool no_local = false);
  void unsubscribe(ClientId subscriber, std::string_view filter);
  // The subscriber's session ended (clean session/clean start, or session expiry): all its
  // subscriptions go, and messages it was owed but had not received are waived, not lost.
  void end_session(ClientId subscriber);
  // The broker lost this client's session: it answered Session Present 0 where the session
  // should have existed, a deviation the caller reports with `statement` (3.1.1
  // MQTT-3.2.2-2, 5.0 MQTT-3.2.2-3). What follows from it is its consequence, not a new
  // deviation: as a subscriber, the messages it was owed and had not received are lost
  // with the session (`lost_consequence`), and its subscriptions end; as a publisher, a
  // message it published before and re-sent (`resent`) that arrives twice was re-sent
  // legitimately (`duplicated_consequence`).
  void session_lost(ClientId client, std::string_view statement);

  // The QoS `subscriber` must receive message `id` at, by the subscriptions it holds now:
  // the lower of the message's publish QoS and the highest QoS granted to the
  // subscriber's subscriptions matching its topic (3.1.1 MQTT-3.8.4-6 and MQTT-3.3.5-1,
  // 5.0 MQTT-3.8.4-8 and MQTT-3.3.4-2); shared subscriptions count by their filter.
  // nullopt when `id` is not a message of this ledger or no subscription matches.
  std::optional<std::uint8_t> effective_qos(ClientId subscriber, const MessageId& id) const;

  // Interns a stream (publisher, topic, publish QoS). Cache the id per publish step.
  StreamId stream(ClientId publisher, std::string_view topic, std::uint8_t qos);

  // Hot path. Allocates the next sequence of the stream, records the message as attempted
  // and obligates the subscribers whose subscriptions match the topic at this moment.
  // Returns the identity to encode into the PUBLISH.
  MessageId attempt(StreamId stream);
  // The broker took responsibility for the message: QoS 0 when written, QoS 1 on PUBACK,
  // QoS 2 on PUBREC (reason code < 0x80 in MQTT 5). Only accepted messages can be "lost".
  // Unknown ids and repeats are ignored (returns false).
  bool accepted(StreamId stream, Sequence seq) noexcept;
  bool accepted(const MessageId& id) noexcept;
  // The publisher re-sent the PUBLISH (DUP=1, e.g. after reconnecting, MQTT-4.4.0-1). For a
  // QoS 1 publish the broker may then forward it twice (at least once on the publisher's
  // leg), so duplicates of such a message are counted but excused from the verdict.
  void resent(StreamId stream, Sequence seq) noexcept;

  // Hot path. A PUBLISH delivered to `subscriber`. The payload form parses the prefix and
  // counts foreign payloads; returns the parsed identity when it belongs to this run.
  std::optional<MessageId> delivered(ClientId subscriber, std::span<const std::uint8_t> payload,
                                     const DeliveryInfo& info);
  std::optional<MessageId> delivered(ClientId subscriber, std::string_view payload,
                                     const DeliveryInfo& info);
  // When the runner already parsed the identity (e.g. from the mqtth-id user property).
  void delivered(ClientId subscriber, const MessageId& id, const DeliveryInfo& info);

  // Results: one row per pair that was obligated or received anything, in creation order
  // (stream order, then subscriber order). `publisher`/`subscriber` filter by name when set.
  std::vector<StreamResult> results(const Expectation& expectation = {},
                                    std::optional<ClientId> publisher = std::nullopt,
                                    std::optional<ClientId> subscriber = std::nullopt) const;
  std::vector<ForeignCounts> foreign() const;

  // Totals for benchmarks and summaries.
  std::uint64_t total_attempted() const noexcept;
  std::uint64_t total_deliveries() const noexcept;

private:
  struct Impl;
  Impl* impl_;
};

// MQTT topic filter matching (4.7): '+' one level, '#' the rest (including the parent
// level), topics starting with '$' are not matched by a leading wildcard (MQTT-4.7.2-1).
bool topic_matches(std::string_view filter, std::string_view topic) noexcept;

}  // namespace mqtth::ledger
