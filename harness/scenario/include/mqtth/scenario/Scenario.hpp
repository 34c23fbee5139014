// The scenario model: what a scenario file (scenarios/README.md) says, after loading.
//
// Pure C++20 data, no Qt and no YAML: the loader (Loader.hpp) builds it and the runner
// (harness/scenario/runner/) executes it. Everything the loader can resolve is resolved:
// `vars` and `repeat` are expanded, `{var}`/`{i}`/`{client}` substituted, a `protocols`
// matrix is split into one Scenario per version, durations are milliseconds, hex is
// bytes. Only `{seq}` (the 1-based message number within one publish step's `count`) is
// left in publish topics/payloads for the runner to substitute (see expand_seq()).
//
// MQTT 5 property blocks and expect_packet matches are kept as JSON in the shape of the
// decode JSON (docs/decode-json.md, mqtt/json.hpp): keys are the properties' snake_case
// names, `user_property` is a list of [key, value], binary values are hex strings,
// `subscription_identifier` in a received packet is a list.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "mqtt/codec.hpp"

namespace mqtth::scenario {

using Json = nlohmann::ordered_json;
using Duration = std::chrono::milliseconds;
using mqtt::PacketType;
using mqtt::Version;

// Where something came from in the scenario file: 1-based line and column.
struct SourceLocation {
  int line = 0;
  int column = 0;
  bool operator==(const SourceLocation&) const = default;
};

// Optional broker features a scenario depends on (`requires:`). A runner skips a scenario
// whose requirement the broker under test lacks (e.g. by --profile). Closed list; the
// names are the YAML names (feature_name()).
enum class Feature : std::uint8_t {
  qos1,                      // broker grants/delivers QoS 1
  qos2,                      // broker grants/delivers QoS 2
  retain,                    // Retain Available (3.2.2.3.5)
  wildcard_subscriptions,    // Wildcard Subscription Available (3.2.2.3.12)
  shared_subscriptions,      // Shared Subscription Available (3.2.2.3.14)
  subscription_identifiers,  // Subscription Identifiers Available (3.2.2.3.13)
  topic_aliases,             // Topic Alias Maximum > 0 (3.2.2.3.8)
  wills,                     // Will Messages
  persistent_sessions,       // clean_start false / session expiry > 0 keeps state
  message_expiry,            // Message Expiry Interval is honoured (3.3.2.3.3)
  request_response,          // Response Information (3.1.2.11.6)
  enhanced_auth,             // AUTH / Authentication Method (4.12)
  mqtt31,                    // accepts protocol 3.1 ("MQIsdp")
};
std::string_view feature_name(Feature);
std::optional<Feature> parse_feature(std::string_view);
const std::vector<std::string_view>& feature_names();  // every accepted name, in enum order

// ---------------------------------------------------------------------------------------
// Clients

struct WillSpec {
  std::string topic;
  std::string payload;  // bytes (from `payload` text or `payload_hex`)
  std::uint8_t qos = 0;
  bool retain = false;
  std::optional<std::uint32_t> delay;  // seconds: Will Delay Interval (5.0 will property)
  Json properties = Json::object();    // other will properties (decode-JSON shape)
  bool operator==(const WillSpec&) const = default;
};

// A client as declared under `clients:`. Unset optionals mean "do not send the field /
// property"; the runner must not invent values other than the documented defaults.
struct ClientSpec {
  std::string name;                      // the key under `clients:`
  std::string client_id;                 // default: the name; "" is an empty Client Identifier
  bool clean_start = true;               // Clean Session in 3.1.1
  std::optional<std::uint32_t> session_expiry;  // seconds (5.0 Session Expiry Interval)
  // Seconds; 0 = off. 60 unless the scenario says otherwise: what clients typically send
  // (some brokers refuse Keep Alive 0), and long enough that no scenario sees a PINGREQ
  // unless it is about keep-alive (then it sets keep_alive itself).
  std::uint16_t keep_alive = 60;
  std::optional<std::string> username;
  std::optional<std::string> password;   // bytes
  std::optional<WillSpec> will;
  Json properties = Json::object();      // other CONNECT properties
  std::optional<std::uint16_t> receive_maximum;
  std::optional<std::uint16_t> topic_alias_maximum;
  std::optional<std::uint32_t> maximum_packet_size;
  std::optional<Version> protocol;       // overrides the scenario's version for this client
  SourceLocation where;
  bool operator==(const ClientSpec&) const = default;
};

// ---------------------------------------------------------------------------------------
// Steps. Every step names the client(s) it acts on by their `clients:` key.

// Expectations on the CONNACK of connect/reconnect/expect_connack. Unset = not checked,
// except that connect/reconnect without `expect` require a successful CONNACK.
struct ConnackExpectation {
  std::optional<std::uint8_t> reason_code;  // 3.1.1: the return code
  std::optional<bool> session_present;
  Json properties = Json::object();         // subset match against the CONNACK's properties
  bool operator==(const ConnackExpectation&) const = default;
};

// Per-connect overrides of the client's declaration (e.g. the second connect of a
// session test with clean_start: false).
struct ConnectOverrides {
  std::optional<bool> clean_start;
  std::optional<std::uint32_t> session_expiry;
  std::optional<std::uint16_t> keep_alive;
  bool operator==(const ConnectOverrides&) const = default;
};

// Open TCP, send CONNECT, wait for CONNACK (within the step's or scenario's timeout).
struct ConnectStep {
  std::string client;
  ConnectOverrides overrides;
  std::optional<ConnackExpectation> expect;  // unset: CONNACK must be success
  std::optional<Duration> within;
  bool operator==(const ConnectStep&) const = default;
};

// Drop the connection if open (abruptly, no DISCONNECT), wait `after`, connect again with
// the same client id. The client session resends its in-flight messages (4.4).
struct ReconnectStep {
  std::string client;
  Duration after{0};
  ConnectOverrides overrides;
  std::optional<ConnackExpectation> expect;
  std::optional<Duration> within;
  bool operator==(const ReconnectStep&) const = default;
};

struct DisconnectStep {
  std::string client;
  bool abrupt = false;                      // true: close TCP without DISCONNECT
  bool half_close = false;                  // true: a send_raw link's write side only; wait for the broker's close
  std::optional<std::uint8_t> reason_code;  // 5.0 DISCONNECT reason code (e.g. 0x04 with will)
  Json properties = Json::object();         // e.g. session_expiry_interval
  bool operator==(const DisconnectStep&) const = default;
};

// One SUBACK code a step expects: exactly `value`, or (`at_most_qos`) any granted QoS from 0
// to `value`, never a failure code. A broker may grant a lower QoS than requested (3.1.1
// 3.8.4 and 3.9.3; 5.0 3.8.4), so a scenario that is not about the grant accepts any.
struct SubackCode {
  std::uint8_t value = 0;
  bool at_most_qos = false;
  bool operator==(const SubackCode&) const = default;
};

struct SubscriptionSpec {
  std::string filter;
  std::uint8_t qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  std::uint8_t retain_handling = 0;
  bool operator==(const SubscriptionSpec&) const = default;
};

struct SubscribeStep {
  std::string client;
  std::vector<SubscriptionSpec> subscriptions;  // `filter` or `filters`, same options each
  std::optional<std::uint32_t> subscription_identifier;
  Json properties = Json::object();
  std::optional<std::uint16_t> packet_id;       // override the session's choice
  // `expect: {reason_codes: [...]}`: the SUBACK's codes, one per filter. Unset: each must
  // be a granted QoS (0x00..0x02); one below the requested QoS ends the run as skipped
  // (a legal grant under which the scenario's later checks cannot hold).
  std::optional<std::vector<SubackCode>> expect_reason_codes;
  bool wait = true;                             // false: do not wait for the SUBACK
  std::optional<Duration> within;
  bool operator==(const SubscribeStep&) const = default;
};

struct UnsubscribeStep {
  std::string client;
  std::vector<std::string> filters;
  Json properties = Json::object();
  std::optional<std::uint16_t> packet_id;
  std::optional<std::vector<std::uint8_t>> expect_reason_codes;  // 5.0 UNSUBACK
  bool wait = true;
  std::optional<Duration> within;
  bool operator==(const UnsubscribeStep&) const = default;
};

// Publish `count` messages. Topic and payload may contain `{seq}` (1..count), replaced by
// the runner (expand_seq). Every message is recorded in the QoS ledger.
struct PublishStep {
  std::string client;
  std::string topic;
  std::uint8_t qos = 0;
  bool retain = false;
  std::string payload;      // bytes; may contain {seq}. From `payload` or `payload_hex`.
  bool payload_is_template = true;  // false when from payload_hex (no {seq} expansion)
  std::uint32_t count = 1;
  Json properties = Json::object();
  bool dup = false;
  std::optional<std::uint16_t> packet_id;  // override: all `count` messages use it
  bool wait = true;  // QoS>0: wait for the handshake to complete before the next step
  std::optional<Duration> within;
  bool operator==(const PublishStep&) const = default;
};

// Open a TCP connection if the client has none (WITHOUT sending CONNECT), then write bytes:
// a send_raw step's hex, or the packets of a send_packet step as the loader encoded them.
struct SendRawStep {
  std::string client;
  std::vector<std::uint8_t> bytes;
  bool operator==(const SendRawStep&) const = default;
};

// Wait until the client receives a packet of `type` whose decode JSON contains `match`
// (subset match: objects key by key, lists element by element and of equal length,
// scalars equal). Packets consumed by an earlier expect_packet are not matched again.
struct ExpectPacketStep {
  std::string client;
  PacketType type{};
  Json match = Json::object();  // every key except client/type/within, decode-JSON shape
  // `qos: effective` (PUBLISH): instead of a number in `match`, the QoS the client must get
  // the message at: the lower of its publish QoS and the highest QoS granted to the
  // client's subscriptions matching its topic (3.1.1 MQTT-3.8.4-6, 5.0 MQTT-3.8.4-8).
  bool qos_effective = false;
  std::optional<Duration> within;
  bool operator==(const ExpectPacketStep&) const = default;
};

// For `for`, the client receives no packet (of `type` if set) it has not consumed yet.
struct ExpectNoPacketStep {
  std::string client;
  std::optional<PacketType> type;
  Duration duration{0};  // `for`
  bool operator==(const ExpectNoPacketStep&) const = default;
};

enum class Guarantee : std::uint8_t { at_most_once, at_least_once, exactly_once };
std::string_view guarantee_name(Guarantee);

// A ledger verdict: of the messages `publisher` published (on `topic` if set; a topic
// filter is allowed), what `subscriber` received holds `guarantee` (and per-topic order if
// `ordered`). `count` if set: exactly that many distinct messages must arrive.
struct ExpectDeliveryStep {
  std::string subscriber;
  std::string publisher;
  std::optional<std::string> topic;
  Guarantee guarantee = Guarantee::at_least_once;
  bool ordered = false;
  std::optional<std::uint32_t> count;
  std::optional<Duration> within;
  bool operator==(const ExpectDeliveryStep&) const = default;
};

// The broker closes the client's connection (5.0: after a DISCONNECT with `reason_code`
// if set; 3.1.1: the connection is closed).
struct ExpectDisconnectStep {
  std::string client;
  std::optional<std::uint8_t> reason_code;
  std::optional<Duration> within;
  bool operator==(const ExpectDisconnectStep&) const = default;
};

// Wait for the CONNACK of a CONNECT sent by send_raw (or check the last connect's).
struct ExpectConnackStep {
  std::string client;
  ConnackExpectation expect;
  std::optional<Duration> within;
  bool operator==(const ExpectConnackStep&) const = default;
};

struct ExpectSubackStep {
  std::string client;
  std::vector<SubackCode> reason_codes;
  std::optional<Duration> within;
  bool operator==(const ExpectSubackStep&) const = default;
};

struct SleepStep {
  Duration duration{0};
  bool operator==(const SleepStep&) const = default;
};

// Fault injection on one client's link (the FaultProxy, docs/faults.md). The loader
// accepts it unless LoadOptions::allow_faults is turned off.
enum class FaultKind : std::uint8_t { cut, delay, throttle, segment, corrupt, blackhole, duplicate, reorder };
std::string_view fault_kind_name(FaultKind);
enum class Direction : std::uint8_t { to_broker, to_client, both };
std::string_view direction_name(Direction);
// Which of the client's connections a fault applies to: the one it was armed on (or, with
// none open, the next one the client opens), only the next one, or every one from now on
// (each later connection counting its packets from its start).
enum class FaultConnections : std::uint8_t { current, next, all };
std::string_view fault_connections_name(FaultConnections);

struct FaultStep {
  std::string client;
  FaultKind kind{};
  Direction direction = Direction::both;
  // Trigger: after the nth packet of `after` (cut/blackhole/corrupt/duplicate use it).
  std::optional<PacketType> after;
  std::uint32_t nth = 1;
  std::optional<Duration> delay;           // delay: by; blackhole/cut: when (at)
  std::optional<Duration> jitter;          // delay
  std::optional<Duration> duration;        // blackhole/throttle/delay: for how long (`for`)
  std::optional<std::uint32_t> bytes_per_second;  // throttle
  std::optional<std::uint32_t> size;       // segment: bytes per TCP write
  std::optional<std::uint32_t> offset;     // corrupt: byte offset in the packet
  std::optional<std::uint8_t> xor_mask;    // corrupt: `xor`
  std::optional<std::uint32_t> window;     // reorder: packets held and shuffled
  FaultConnections connections = FaultConnections::current;  // `connections`
  bool operator==(const FaultStep&) const = default;
};

// Misbehaving client session knobs (stay in force until changed by another misbehave).
// They map onto mqtth::client::Misbehaviour (ClientSession.hpp).
struct MisbehaveStep {
  std::string client;
  std::vector<PacketType> withhold;   // do not send these acks: PUBACK, PUBREC, PUBCOMP (PUBREL = skip_pubrel)
  std::optional<bool> skip_pubrel;    // after PUBREC, do not send PUBREL
  std::optional<std::uint32_t> count; // withhold/skip_pubrel apply to the next `count` only; unset: every one
  std::optional<bool> reuse_packet_id;  // new packets take a packet id still in flight
  std::optional<bool> auto_ack;       // false: send no acks at all for received PUBLISH
  std::optional<std::uint16_t> fixed_packet_id;     // every new packet uses this id (0 allowed)
  std::optional<bool> suppress_pingreq;             // keep-alive PINGREQs are not sent
  std::optional<bool> ignore_receive_maximum;       // send QoS>0 beyond the broker's Receive Maximum
  bool operator==(const MisbehaveStep&) const = default;
};

// ---- role: server (docs/clients.md): the harness plays the broker for a client under test.

// Wait for the client under test to open a TCP connection to the harness's listener (its
// first, or the next one after a link was closed); the step's client names that link.
struct AcceptConnectionStep {
  std::string client;
  std::optional<Duration> within;
  bool operator==(const AcceptConnectionStep&) const = default;
};

// One line written to the stdin of the client under test's adapter (docs/clients.md
// "Adapter protocol"), e.g. "publish t/a 1 hello".
struct ClientCommandStep {
  std::string command;
  bool operator==(const ClientCommandStep&) const = default;
};

// Wait until the adapter has reported `count` messages (not counted by an earlier
// expect_client_received) as received by the client application: stdout lines
// `received TOPIC QOS PAYLOAD`. Unset fields are not checked.
struct ExpectClientReceivedStep {
  std::string topic;
  std::optional<std::uint8_t> qos;
  std::optional<std::string> payload;
  std::uint32_t count = 1;
  std::optional<Duration> within;
  bool operator==(const ExpectClientReceivedStep&) const = default;
};

// Acknowledge what the client under test sent, with its packet id: PUBACK or PUBREC the
// last PUBLISH an expect_packet took from it, PUBCOMP its last PUBREL, SUBACK its last
// SUBSCRIBE (one code per filter: `reason_code`, else the QoS each asked for).
struct SendAckStep {
  std::string client;
  PacketType type{};
  std::optional<std::uint8_t> reason_code;
  bool operator==(const SendAckStep&) const = default;
};

// Wait until the adapter has reported an event line (its first word: connected, refused,
// closed, ...) not taken by an earlier expect_client_event.
struct ExpectClientEventStep {
  std::string event;
  std::optional<Duration> within;
  bool operator==(const ExpectClientEventStep&) const = default;
};

struct Step;

// One alternative of an any_of step: expectation steps (expect_packet, expect_no_packet,
// expect_disconnect, expect_connack, expect_suback) that must hold one after the other.
struct AnyOfBranch {
  std::vector<Step> steps;
  // Non-empty: when this alternative is the one that holds, the run ends as skipped with
  // this reason: the broker made a legal choice under which the scenario's statements
  // cannot be checked (e.g. it refuses client PUBLISHes to `$` topics, 4.7.2).
  std::string skip;
  SourceLocation where;  // of the alternative's `- steps:` entry
  bool operator==(const AnyOfBranch& other) const;  // defined below Step
};

// Where the spec lets the broker choose, the legal outcomes as alternatives: the step
// passes when one of them holds (the first to hold wins; at the same moment, the first
// written), and fails when none holds within `within` or none can hold any more.
struct AnyOfStep {
  std::vector<AnyOfBranch> branches;
  std::optional<Duration> within;  // shared by every alternative
  bool operator==(const AnyOfStep&) const = default;
};

enum class StepKind : std::uint8_t {
  connect, reconnect, disconnect, subscribe, unsubscribe, publish, send_raw, expect_packet,
  expect_no_packet, expect_delivery, expect_disconnect, expect_connack, expect_suback, sleep,
  fault, misbehave, any_of, accept_connection, client_command, expect_client_received,
  send_ack, expect_client_event
};
// The YAML key of the kind's step descriptor (Format.hpp), e.g. "expect_packet".
std::string_view step_kind_name(StepKind);

using StepAction = std::variant<ConnectStep, ReconnectStep, DisconnectStep, SubscribeStep,
                                UnsubscribeStep, PublishStep, SendRawStep, ExpectPacketStep,
                                ExpectNoPacketStep, ExpectDeliveryStep, ExpectDisconnectStep,
                                ExpectConnackStep, ExpectSubackStep, SleepStep, FaultStep,
                                MisbehaveStep, AnyOfStep, AcceptConnectionStep, ClientCommandStep,
                                ExpectClientReceivedStep, SendAckStep, ExpectClientEventStep>;  // same order as StepKind

struct Step {
  StepAction action;
  SourceLocation where;           // the step's `- kind:` line in the file
  // `spec:` of the step: the statement a failure of this step names, for this scenario's
  // version (an id of docs/spec/*.tsv), or "" (then the runner's default for the check, or
  // the scenario's `spec:` when it holds exactly one id: docs/reports.md).
  std::string spec;
  std::vector<std::string> repeat_path;  // e.g. {"i=3"} when unrolled from a repeat
  StepKind kind() const { return static_cast<StepKind>(action.index()); }
  bool operator==(const Step&) const = default;
};

inline bool AnyOfBranch::operator==(const AnyOfBranch& other) const {
  return steps == other.steps && skip == other.skip && where == other.where;
}

// ---------------------------------------------------------------------------------------

// `explore: cut_points` (docs/faults.md "Fault-point exploration"): the runner records the
// packet exchange of the scenario once, then runs it again once per packet boundary of
// each explored client's link (cut after the k-th packet of a type, per direction) and
// judges the delivery guarantee of every run.
struct Exploration {
  std::vector<std::string> clients;  // `clients`: the links to cut; empty = every client
  std::uint32_t max_runs = 0;        // `max_runs`: bound on cut runs; 0 = the runner's default
  bool operator==(const Exploration&) const = default;
};

// Which side of the protocol the harness plays. `client` (the default): its clients drive a
// broker. `server`: it listens and scripts the broker side for a client under test, which
// `mqtt-harness run --client -- CMD` starts (docs/clients.md).
enum class Role : std::uint8_t { client, server };
std::string_view role_name(Role);

struct Scenario {
  std::string name;              // with " [3.1.1]" / " [5]" appended for a protocols matrix
  std::string file;              // path as given to the loader
  SourceLocation where;          // of `name:`
  std::vector<std::string> spec; // statement ids checked in THIS version
  Version protocol = Version::v5;
  bool from_matrix = false;      // came from `protocols: [...]`
  Duration timeout{10000};       // whole scenario; also the default `within` of waits
  std::vector<Feature> requires_features;  // `requires:`
  std::optional<Exploration> explore;      // `explore:`
  Role role = Role::client;                // `role:`
  std::string description;
  std::vector<ClientSpec> clients;  // declaration order
  std::vector<Step> steps;

  const ClientSpec* find_client(std::string_view client_name) const;
  bool operator==(const Scenario&) const = default;
};

// Replaces every `{seq}` in `text` by `seq` (the runner calls this per message).
std::string expand_seq(std::string_view text, std::uint32_t seq);

}  // namespace mqtth::scenario
