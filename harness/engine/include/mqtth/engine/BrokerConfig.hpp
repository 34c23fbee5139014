// Configuration of the embedded reference broker's engine (harness/engine/BrokerEngine).
//
// Plain data, no Qt: the `mqtt-harness broker` config-file loader (harness/net) fills it,
// tests and fuzz targets build it in code. Every limit is explicit and enforced by the
// engine before it takes memory for the thing being limited (docs/architecture.md "Conventions").
// docs/broker.md lists every key with its meaning and default.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtth/engine/Deviations.hpp"

namespace mqtth::engine {

// Test-only broken behaviour, used by the harness's own tests to prove that the QoS
// ledger catches broken brokers. Deterministic: every `misbehave_every`-th candidate
// delivery (counted per engine, from 1) is affected.
enum class Misbehave : std::uint8_t {
  none,
  drop_qos1,  // a QoS 1 delivery is silently not sent (the publisher is still acknowledged)
  dup_qos2,   // a QoS 2 delivery is sent twice, as two new messages with fresh packet ids
  reorder,    // a delivery is held back and sent after the next delivery on the same topic
  drop_qos0,  // a QoS 0 delivery is silently not sent
};
std::string_view to_string(Misbehave);                        // "none", "drop_qos1", ...
std::optional<Misbehave> parse_misbehave(std::string_view);  // inverse of to_string

// One access-control rule. A rule applies to a connection when both patterns match
// (`*` matches any run of characters, so "*" matches everything, "sensor-*" a prefix).
// When `BrokerConfig::acl` is empty everything is allowed; otherwise a client may publish
// to a topic only if some applicable rule's `publish` filter matches it, and subscribe to
// a filter only if some applicable rule's `subscribe` filter covers every topic the
// requested filter can match (e.g. "a/#" covers "a/+/b"; "a/+" does not cover "a/#").
// A deny filter of any applicable rule wins over every allow filter: publishing to a
// topic it matches is refused; subscribing with a filter it covers is refused, and a
// subscription that only overlaps it (e.g. "#" with "secret/#" denied) is granted but
// never delivers a message on a denied topic, retained ones included.
struct AclRule {
  std::string client_id = "*";
  std::string username = "*";  // "*" also matches a connection without a user name
  std::vector<std::string> publish;    // topic filters this client may publish to
  std::vector<std::string> subscribe;  // topic filters this client may subscribe within
  std::vector<std::string> deny_publish;    // topics matching these may never be published to
  std::vector<std::string> deny_subscribe;  // topics matching these are never delivered
};

// Where the specification lets a server choose, the choice this broker takes. The
// defaults are the broker's own behaviour; every other value is equally legal, and
// exists so the harness can be shown to accept it (docs/broker.md "Behaviour choices").

// 4.3.3 (both versions), Figure 4.3: a QoS 2 receiver may initiate onward delivery when
// the PUBLISH arrives and keep only the packet id until PUBREL ("Method B"), or store the
// message and initiate onward delivery when PUBREL arrives ("Method A").
enum class Qos2ForwardOn : std::uint8_t { publish, pubrel };
// 5.0 3.3.4 / 3.1.1 3.3.5: overlapping subscriptions of one client get one copy at the
// highest QoS [MQTT-3.3.4-2] (3.1.1: MQTT-3.3.5-1), or the server MAY send one copy per
// matching subscription, each at that subscription's QoS (5.0 with that subscription's
// identifier [MQTT-3.3.4-5]).
enum class OverlappingDelivery : std::uint8_t { one_copy, copy_per_subscription };
// 4.7.2: the server SHOULD prevent clients from using topic names that start with '$'
// to exchange messages; `route` treats them like any topic (4.7.2-1 still keeps leading
// wildcards off them), `refuse` does not route or retain a client's PUBLISH to them.
enum class DollarTopicPublish : std::uint8_t { route, refuse };
// 3.1.1 MQTT-3.3.5-2: a PUBLISH the server refuses (ACL, `$` topic) MUST be acknowledged
// by the normal QoS rules or the network connection closed. 5.0 says no with a reason
// code in PUBACK/PUBREC instead.
enum class V311RefusedPublish : std::uint8_t { acknowledge, disconnect };

struct BrokerBehaviour {
  Qos2ForwardOn qos2_forward_on = Qos2ForwardOn::publish;
  // 3.8.4 / 3.9.3: the server may grant a lower maximum QoS than requested; deliveries
  // then go at min(published QoS, granted QoS) [MQTT-3.8.4-8] (3.1.1: MQTT-3.8.4-6).
  // Unlike features.maximum_qos it is not announced and does not limit PUBLISH.
  std::uint8_t grant_qos_at_most = 2;
  OverlappingDelivery overlapping_subscriptions = OverlappingDelivery::one_copy;
  DollarTopicPublish dollar_topic_publish = DollarTopicPublish::route;
  V311RefusedPublish v311_refused_publish = V311RefusedPublish::acknowledge;
  // 5.0 3.4.2.1 / 3.5.2.1: 0x10 No matching subscribers MAY replace 0x00 in PUBACK/PUBREC.
  bool no_matching_subscribers_code = true;
  // 5.0 3.9.3 / 3.4.2.1 / 3.5.2.1: a refused subscription or publication may be answered
  // with the specific failure code (0x87 Not authorized, 0x90, 0x97, 0x9E, 0xA2) or with
  // 0x80 Unspecified error, which the spec offers for a server that does not want to
  // reveal the reason; false always sends 0x80.
  bool specific_refusal_codes = true;
  // 5.0: a Reason String is optional on every packet (3.2.2.3.9, 3.14.2.2.3 ...); false
  // sends none.
  bool reason_strings = true;
  // 5.0 4.13.1: on a protocol error after CONNACK the server SHOULD send DISCONNECT with
  // the reason code before it closes (also keep-alive 0x8D and takeover 0x8E); false
  // closes without it.
  bool disconnect_before_close = true;
  // 3.1.1 3.1.2.4 / 5.0 4.1: "optionally, QoS 0 messages pending transmission" belong to
  // the session state: true queues QoS 0 messages for an offline session too.
  bool queue_qos0_offline = false;
  // A client obligation whose breach the spec gives the server no reaction for (5.0
  // MQTT-3.3.4-6: a client PUBLISH carries no Subscription Identifier): true ends the
  // connection with 0x82 Protocol Error, as a strict server may; false ignores the property.
  bool strict_clients = true;
};

struct BrokerConfig {
  // --- limits -------------------------------------------------------------------------
  // Open connections (including ones that have not sent CONNECT yet). A connection above
  // the limit is closed at once, before any per-connection state is allocated.
  std::uint32_t max_connections = 1000;
  // Largest packet the broker accepts (5.0: announced as Maximum Packet Size in CONNACK).
  // Larger packets are rejected from their fixed header: 5.0 DISCONNECT 0x95, 3.1.1 close.
  // Outbound, the client's own Maximum Packet Size (5.0 CONNECT) is always respected.
  std::uint32_t maximum_packet_size = 1024 * 1024;
  // 5.0 Receive Maximum announced to clients: QoS 2 PUBLISHes from one client that may
  // wait for PUBREL at once. One more is a protocol error (DISCONNECT 0x93). 3.1.1 clients
  // get the same limit, enforced by closing the connection.
  std::uint16_t receive_maximum = 100;
  // Outbound QoS 1/2 messages in flight per session; the effective window is the smaller
  // of this and the client's Receive Maximum (5.0).
  std::uint16_t max_inflight = 100;
  // QoS 1/2 messages queued per session beyond the in-flight window (online or offline).
  // When full, new messages for that session are dropped. QoS 0 messages are never
  // queued for an offline session.
  std::uint32_t max_queued_messages = 1000;
  // Sessions held at once (connected or not). A CONNECT that would create one more is
  // refused: 5.0 CONNACK 0x97 (quota exceeded), 3.1.1 CONNACK 0x03 (server unavailable).
  std::uint32_t max_sessions = 10000;
  std::uint32_t max_subscriptions_per_client = 100;
  std::uint32_t max_retained_messages = 10000;
  // 5.0 Topic Alias Maximum announced to clients (inbound aliases); 0 disables aliases.
  std::uint16_t max_topic_alias = 10;
  // 5.0 outbound topic aliases: to a client whose CONNECT announced Topic Alias Maximum
  // > 0, the broker sends a topic the first time with an alias, later with an empty topic
  // and only the alias. At most min(client's maximum, this) aliases per connection
  // [MQTT-3.1.2-26, MQTT-3.3.2-11]; when all are in use the least recently used one is
  // re-mapped to the new topic. 0 disables outbound aliases (as do a client maximum of 0
  // [MQTT-3.1.2-27] and 3.1/3.1.1, which have no aliases). Mappings last one connection
  // [MQTT-3.3.2-7].
  std::uint16_t outbound_topic_alias_maximum = 10;
  // 5.0 Server Keep Alive: when set, overrides the client's keep-alive and is announced
  // in CONNACK (3.2.2.3.14). 3.1.1 clients keep their own value.
  std::optional<std::uint16_t> server_keep_alive;
  // Longest Keep Alive a 5.0 client may use (mosquitto's max_keepalive): a client asking
  // for more, or for 0 (no keep alive), gets this value as Server Keep Alive in CONNACK
  // and is held to it [MQTT-3.2.2-21]. Applied after server_keep_alive. 3.1.1 cannot tell
  // a client another value (no property, and no CONNACK code means "keep alive"), and a
  // client held to a value it does not know would be cut off while keeping to its own:
  // 3.1 and 3.1.1 clients keep their own value (3.1.1 3.1.2.10 allows, never requires,
  // disconnecting an inactive client earlier).
  std::optional<std::uint16_t> max_keep_alive;
  // Cap on the session expiry interval in seconds (5.0 CONNECT/DISCONNECT property;
  // 3.1.1 persistent sessions are given this value). 0xFFFFFFFF means "never expires".
  std::uint32_t max_session_expiry = 0xFFFFFFFF;
  // Milliseconds a new connection may take to send its CONNECT before it is closed.
  std::uint32_t connect_timeout_ms = 10'000;

  // --- authentication and authorisation -----------------------------------------------
  bool allow_anonymous = true;                   // connections without a user name
  std::map<std::string, std::string> users;      // user name -> password; empty = any
  std::vector<AclRule> acl;                      // empty = everything allowed

  // --- features (5.0: announced in CONNACK when not the default) ------------------------
  bool retain_available = true;
  bool wildcard_subscription_available = true;
  bool shared_subscription_available = true;
  bool subscription_identifiers_available = true;
  std::uint8_t maximum_qos = 2;  // 0, 1 or 2
  // Sent as Response Information (5.0) followed by the client id, when a client sets
  // Request Response Information = 1. Empty: never sent.
  std::string response_information_prefix = "response/";

  // --- choices the spec leaves to the server ------------------------------------------
  BrokerBehaviour behaviour;

  // --- test-only ------------------------------------------------------------------------
  Misbehave misbehave = Misbehave::none;
  std::uint32_t misbehave_every = 10;  // the n-th candidate delivery is affected (>= 1)
  // Keep, per session, the ids of QoS 2 messages delivered, so check_invariants() can
  // prove no QoS 2 message reached a session twice. Costs memory: for tests and fuzzing.
  bool track_deliveries = false;
  // Statements the broker breaks on purpose (`testing.deviate`, Deviations.hpp), so the
  // harness can show its scenarios notice (`mqtt-harness mutants`, docs/mutants.md).
  Deviations deviate;
};

}  // namespace mqtth::engine
