// What ClientSession reports about a broker (event::BrokerViolation), one kind per rule, and
// the statement each kind cites: the normative statement whose text the broker broke, per
// protocol version (the same id names different statements in 3.1.1 and 5.0).
//
// Each finding has exactly one primary statement. Where another statement is broken by the
// same act, it is listed in `see_also`, never in the message. A few findings break no
// numbered statement (the spec says "Protocol Error" in prose, or has no rule at all); those
// name the section instead and cite nothing rather than a statement the broker met.
// Findings from the codec (bytes it cannot frame or decode) carry the codec's statement.
//
// docs/client.md ("What counts as a broker violation") shows this table with the reason for
// each choice; a unit test keeps the two equal and checks every id against docs/spec/*.tsv.
#pragma once

#include <mqtt/codec.hpp>

#include <cstdint>
#include <span>
#include <string_view>

namespace mqtth::client {

enum class Finding : std::uint8_t {
  // From the codec: the statement comes with the codec's error.
  framing_error,               // bytes the framer rejects (bad remaining length ...)
  invalid_packet,              // a packet the codec rejects (QoS 3, bad flags, bad UTF-8 ...)
  // The session's own checks.
  packet_too_large,            // larger than the client's Maximum Packet Size
  client_only_packet,          // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ (3.1.1: also DISCONNECT)
  packet_before_connack,
  second_connack,              // a CONNACK the client did not ask for
  connack_to_second_connect,   // the broker answered a second CONNECT instead of closing
  session_present_on_clean_start,  // (Session Present 1 with a refusal: the codec's, MQTT-3.2.2-4 / 5.0 -6)
  disconnect_before_connack,
  auth_without_method,
  topic_alias_not_allowed,     // the client's Topic Alias Maximum was 0 or absent
  topic_alias_above_maximum,
  topic_alias_unmapped,        // empty topic and an alias with no mapping on this connection
  receive_maximum_exceeded,
  packet_id_in_use,            // a new message on a packet id still in flight
  redelivery_without_dup,      // the same message again on an id in flight, DUP 0
  publish_after_pubrel,        // QoS 2: the PUBLISH again after the broker sent its PUBREL
  resend_missing,              // session resumed, an unfinished flow not resumed
  pubrel_unknown_id,           // PUBREL for a packet id that carried no QoS 2 PUBLISH
  ack_unknown_id,              // PUBACK / PUBREC for an id with no PUBLISH in flight
  ack_wrong_for_qos,           // PUBACK to QoS 2, PUBREC to QoS 1, PUBCOMP instead of PUBREC ...
  pubcomp_without_pubrel,      // PUBCOMP for an id the client sent no PUBREL for
  suback_unknown_id,
  suback_count,                // not one reason code per subscription
  unsuback_unknown_id,
  unsuback_count,
  answered_protocol_violation, // the broker answered a packet it had to refuse by closing
  pingresp_missing,
};

struct FindingInfo {
  Finding kind;
  std::string_view name;       // snake_case, as in docs/client.md
  bool from_codec = false;     // the statement is the codec's, not this table's
  // Per version: the primary statement ("" = none), further statements broken by the same
  // act ("" or one id), and the section named when there is no statement ("" = the finding
  // does not exist in that version).
  std::string_view statement_311, see_also_311, section_311;
  std::string_view statement_5, see_also_5, section_5;
};

std::span<const FindingInfo> findings();
const FindingInfo& info(Finding);
std::string_view to_string(Finding);
// The primary statement for `version` (3.1 uses 3.1.1's), "" when there is none.
std::string_view statement(Finding, mqtt::Version);
std::string_view see_also(Finding, mqtt::Version);

}  // namespace mqtth::client
