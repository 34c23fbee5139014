// Deviation switches: the embedded broker breaking one MQTT statement on purpose, so the
// harness can show that the scenarios citing that statement notice (`mqtt-harness
// mutants`, docs/mutants.md). Test-only; off unless a config lists them under
// `testing: {deviate: [MQTT-x.y.z-n, ...]}`.
//
// ONE table lists them all: the statement id, the protocol versions it holds that id in,
// and what the broker does instead. The config-file parser, the docs and the mutants
// command read this table. Each Deviation is a small named branch at the engine check it
// weakens (grep for the enumerator). Statement ids differ between versions (MQTT-3.1.2-24
// is the 3.1.1 keep-alive rule and the 5.0 Maximum Packet Size rule), so one id may name
// two rows, one per version, each with its own deviation. A few deviations are one branch
// shared by many rows, each row naming the statement of one check (bad_packet_kept_open:
// the codec's check that names that statement); Deviations::on(d, statement, v) asks for
// the row, not just the branch.
#pragma once

#include <mqtt/codec.hpp>

#include <bitset>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace mqtth::engine {

enum class Deviation : std::uint8_t {
  session_present_on_clean_start,   // CONNACK
  session_present_lost,
  clean_start_keeps_session,        // sessions
  pubrec_wrong_packet_id,           // QoS 1/2 flows
  resend_without_dup,
  qos2_repeat_forwarded,
  pubrel_not_resent,
  receive_maximum_ignored,
  empty_retained_kept,              // retained messages
  empty_retained_stored,
  retained_not_sent_on_subscribe,
  live_forward_keeps_retain,
  wildcards_match_dollar_topics,    // routing and subscriptions
  overlap_lowest_qos,
  delivery_above_granted,
  no_local_ignored,
  suback_codes_reversed,
  unsubscribe_keeps_subscription,
  will_not_published,               // wills
  will_published_after_disconnect,
  keep_alive_doubled,               // keep alive
  qos3_publish_ignored,             // malformed packets
  subscribe_reserved_bits_ignored,
  malformed_ignored,
  outbound_alias_above_client_maximum,  // 5.0 properties
  topic_alias_zero_accepted,
  maximum_packet_size_ignored,
  message_expiry_ignored,
  suback_wrong_packet_id,           // acknowledgements (second batch)
  unsuback_wrong_packet_id,
  unsuback_only_when_removed,
  unsubscribe_matches_loosely,
  pingresp_not_sent,
  second_connect_ignored,           // CONNECT and CONNACK
  empty_client_id_shared,
  assigned_client_id_not_sent,
  response_information_unrequested,
  outbound_alias_without_client_maximum,
  subscription_ids_not_sent,        // forwarded PUBLISH
  user_properties_dropped,
  user_properties_reordered,
  response_topic_dropped,
  correlation_data_dropped,
  content_type_dropped,
  payload_format_dropped,
  retain_ignored,                   // retained messages
  non_retained_replaces_retained,
  retain_as_published_ignored,
  retain_handling_1_resends,
  retain_handling_2_sends,
  will_retain_dropped,              // wills
  will_retained_anyway,
  will_delay_not_cancelled,
  disconnect_with_session_expiry,   // server DISCONNECT
  bad_packet_kept_open,             // per statement: a codec check's close skipped
  puback_not_sent,                  // QoS 1/2 flows (second slice)
  puback_wrong_packet_id,
  pubcomp_not_sent,
  suback_not_sent,                  // subscriptions (second slice)
  suback_first_code_only,
  unsuback_codes_reversed,
  messages_reordered,               // routing
  one_subscriber_only,
  session_present_on_new_session,   // CONNECT / CONNACK / sessions (second slice)
  refused_connack_session_present,
  refused_connect_kept_open,
  persistent_session_not_resumed,
  offline_messages_dropped,
  connack_sent_twice,
  retained_on_subscribe_without_retain,  // retained (second slice)
  retained_qos0_not_stored,
  session_end_drops_retained,            // retained (third slice)
  last = session_end_drops_retained,
};
inline constexpr std::size_t kDeviationCount = static_cast<std::size_t>(Deviation::last) + 1;

// Which protocol versions a row applies to (3.1 connections count as 3.1.1).
enum DeviationVersions : std::uint8_t { kV311 = 1, kV5 = 2, kBothVersions = 3 };

struct DeviationInfo {
  std::string_view statement;  // "MQTT-3.3.1-1": the statement the broker breaks
  std::uint8_t versions;       // DeviationVersions: where the id names that statement
  Deviation deviation;
  std::string_view name;       // the enumerator's name
  std::string_view area;       // "CONNACK", "QoS 1/2", "retained", ...
  std::string_view instead;    // what the broker does instead, one sentence
};

// Every row, in the order of docs/mutants.md.
std::span<const DeviationInfo> deviation_table();
// The rows whose statement is `id` (none: an unknown id).
std::vector<const DeviationInfo*> deviations_for(std::string_view id);
bool applies_to(const DeviationInfo& row, mqtt::Version v);

// The switches a broker config turned on, per version.
class Deviations {
 public:
  // Turns on `row` for every version it applies to, or only for `only` when given.
  void enable(const DeviationInfo& row);
  void enable(const DeviationInfo& row, mqtt::Version only);
  bool on(Deviation d, mqtt::Version v) const {
    return (v == mqtt::Version::v5 ? v5_ : v311_).test(static_cast<std::size_t>(d));
  }
  // A deviation shared by rows of several statements: on for the row of `statement`.
  bool on(Deviation d, std::string_view statement, mqtt::Version v) const;
  bool any(Deviation d) const { return on(d, mqtt::Version::v3_1_1) || on(d, mqtt::Version::v5); }
  bool empty() const { return v311_.none() && v5_.none(); }

 private:
  std::bitset<kDeviationCount> v311_;
  std::bitset<kDeviationCount> v5_;
  std::vector<std::pair<const DeviationInfo*, mqtt::Version>> rows_;  // what enable() turned on
};

}  // namespace mqtth::engine
