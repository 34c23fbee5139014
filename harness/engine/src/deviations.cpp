// The table of deviation switches (Deviations.hpp). A row per statement id and version;
// the branch that makes each deviation is at the engine check it weakens.
#include "mqtth/engine/Deviations.hpp"

#include <array>

namespace mqtth::engine {

namespace {

#define MQTTH_DEVIATION(id, versions, dev, area, instead) \
  DeviationInfo { id, versions, Deviation::dev, #dev, area, instead }

constexpr std::array kTable = {
    MQTTH_DEVIATION("MQTT-3.2.2-1", kV311, session_present_on_clean_start, "CONNACK",
                    "CONNACK has Session Present 1 when Clean Session 1 discarded a stored session"),
    MQTTH_DEVIATION("MQTT-3.2.2-2", kV5, session_present_on_clean_start, "CONNACK",
                    "CONNACK has Session Present 1 when Clean Start 1 discarded a stored session"),
    MQTTH_DEVIATION("MQTT-3.2.2-2", kV311, session_present_lost, "CONNACK",
                    "CONNACK has Session Present 0 when a stored session is resumed"),
    MQTTH_DEVIATION("MQTT-3.2.2-3", kV5, session_present_lost, "CONNACK",
                    "CONNACK has Session Present 0 when a stored session is resumed"),
    MQTTH_DEVIATION("MQTT-3.1.2-6", kV311, clean_start_keeps_session, "sessions",
                    "Clean Session 1 keeps the stored session's subscriptions (Session Present still 0)"),
    MQTTH_DEVIATION("MQTT-3.1.2-4", kV5, clean_start_keeps_session, "sessions",
                    "Clean Start 1 keeps the stored session's subscriptions (Session Present still 0)"),
    MQTTH_DEVIATION("MQTT-2.3.1-6", kV311, pubrec_wrong_packet_id, "QoS 1/2",
                    "PUBREC carries the PUBLISH's packet id plus one"),
    MQTTH_DEVIATION("MQTT-2.2.1-5", kV5, pubrec_wrong_packet_id, "QoS 1/2",
                    "PUBREC carries the PUBLISH's packet id plus one"),
    MQTTH_DEVIATION("MQTT-3.3.1-1", kBothVersions, resend_without_dup, "QoS 1/2",
                    "a PUBLISH re-sent on session resumption has DUP 0"),
    MQTTH_DEVIATION("MQTT-4.3.3-2", kV311, qos2_repeat_forwarded, "QoS 1/2",
                    "a QoS 2 PUBLISH repeated before PUBREL is forwarded again"),
    MQTTH_DEVIATION("MQTT-4.3.3-10", kV5, qos2_repeat_forwarded, "QoS 1/2",
                    "a QoS 2 PUBLISH repeated before PUBREL is forwarded again"),
    MQTTH_DEVIATION("MQTT-4.4.0-1", kBothVersions, pubrel_not_resent, "QoS 1/2",
                    "on session resumption an unacknowledged PUBREL is not re-sent"),
    MQTTH_DEVIATION("MQTT-3.3.4-9", kV5, receive_maximum_ignored, "flow control",
                    "QoS 1/2 deliveries in flight are bounded by the broker's own window, not the client's Receive Maximum"),
    MQTTH_DEVIATION("MQTT-3.3.1-10", kV311, empty_retained_kept, "retained",
                    "a retained PUBLISH with an empty payload is forwarded but leaves the stored retained message"),
    MQTTH_DEVIATION("MQTT-3.3.1-6", kV5, empty_retained_kept, "retained",
                    "a retained PUBLISH with an empty payload is forwarded but leaves the stored retained message"),
    MQTTH_DEVIATION("MQTT-3.3.1-11", kV311, empty_retained_stored, "retained",
                    "a retained PUBLISH with an empty payload is stored as the topic's retained message"),
    MQTTH_DEVIATION("MQTT-3.3.1-7", kV5, empty_retained_stored, "retained",
                    "a retained PUBLISH with an empty payload is stored as the topic's retained message"),
    MQTTH_DEVIATION("MQTT-3.3.1-6", kV311, retained_not_sent_on_subscribe, "retained",
                    "a new subscription gets no retained message"),
    MQTTH_DEVIATION("MQTT-3.3.1-9", kV5, retained_not_sent_on_subscribe, "retained",
                    "a new subscription (Retain Handling 0) gets no retained message"),
    MQTTH_DEVIATION("MQTT-3.3.1-9", kV311, live_forward_keeps_retain, "retained",
                    "a retained PUBLISH forwarded to an existing subscription keeps RETAIN 1"),
    MQTTH_DEVIATION("MQTT-3.3.1-12", kV5, live_forward_keeps_retain, "retained",
                    "a retained PUBLISH forwarded to a Retain As Published 0 subscription keeps RETAIN 1"),
    MQTTH_DEVIATION("MQTT-4.7.2-1", kBothVersions, wildcards_match_dollar_topics, "subscriptions",
                    "filters starting with # or + also match topics starting with $"),
    MQTTH_DEVIATION("MQTT-3.3.5-1", kV311, overlap_lowest_qos, "subscriptions",
                    "overlapping subscriptions get one copy at the lowest of their QoS"),
    MQTTH_DEVIATION("MQTT-3.3.4-2", kV5, overlap_lowest_qos, "subscriptions",
                    "overlapping subscriptions get one copy at the lowest of their QoS"),
    MQTTH_DEVIATION("MQTT-3.8.4-6", kV311, delivery_above_granted, "subscriptions",
                    "messages are delivered at the published QoS, above the granted QoS"),
    MQTTH_DEVIATION("MQTT-3.8.4-8", kV5, delivery_above_granted, "subscriptions",
                    "messages are delivered at the published QoS, above the granted QoS"),
    MQTTH_DEVIATION("MQTT-3.8.3-3", kV5, no_local_ignored, "subscriptions",
                    "No Local is ignored: a client's own messages come back to it"),
    MQTTH_DEVIATION("MQTT-3.9.3-1", kBothVersions, suback_codes_reversed, "subscriptions",
                    "SUBACK lists its codes in reverse filter order"),
    MQTTH_DEVIATION("MQTT-3.10.4-2", kBothVersions, unsubscribe_keeps_subscription, "subscriptions",
                    "UNSUBSCRIBE is acknowledged but the subscription stays and keeps delivering"),
    MQTTH_DEVIATION("MQTT-3.1.2-8", kBothVersions, will_not_published, "wills",
                    "a will is not published when the connection ends without DISCONNECT"),
    MQTTH_DEVIATION("MQTT-3.14.4-3", kBothVersions, will_published_after_disconnect, "wills",
                    "a will is published even after a normal DISCONNECT"),
    MQTTH_DEVIATION("MQTT-3.1.2-24", kV311, keep_alive_doubled, "keep alive",
                    "a silent client is closed after 2 x Keep Alive instead of 1.5 x"),
    MQTTH_DEVIATION("MQTT-3.1.2-22", kV5, keep_alive_doubled, "keep alive",
                    "a silent client is closed after 2 x Keep Alive instead of 1.5 x"),
    MQTTH_DEVIATION("MQTT-3.3.1-4", kBothVersions, qos3_publish_ignored, "malformed packets",
                    "a PUBLISH with QoS 3 is dropped and the connection stays open"),
    MQTTH_DEVIATION("MQTT-3.8.3-4", kV311, subscribe_reserved_bits_ignored, "malformed packets",
                    "a SUBSCRIBE with reserved bits or QoS 3 in a requested QoS byte is dropped and the connection stays open"),
    MQTTH_DEVIATION("MQTT-3.8.3-5", kV5, subscribe_reserved_bits_ignored, "malformed packets",
                    "a SUBSCRIBE with reserved Subscription Options bits set is dropped and the connection stays open"),
    MQTTH_DEVIATION("MQTT-4.13.1-1", kV5, malformed_ignored, "malformed packets",
                    "every malformed packet after CONNACK is dropped and the connection stays open"),
    MQTTH_DEVIATION("MQTT-3.1.2-26", kV5, outbound_alias_above_client_maximum, "5.0 properties",
                    "outbound topic aliases go up to the broker's own maximum, above the client's Topic Alias Maximum"),
    MQTTH_DEVIATION("MQTT-3.3.2-8", kV5, topic_alias_zero_accepted, "5.0 properties",
                    "a PUBLISH with Topic Alias 0 is accepted as if it had no alias"),
    MQTTH_DEVIATION("MQTT-3.1.2-24", kV5, maximum_packet_size_ignored, "5.0 properties",
                    "a PUBLISH larger than the client's Maximum Packet Size is sent anyway"),
    MQTTH_DEVIATION("MQTT-3.3.2-5", kV5, message_expiry_ignored, "5.0 properties",
                    "a message whose Message Expiry Interval has passed is still delivered"),
    MQTTH_DEVIATION("MQTT-3.8.4-2", kBothVersions, suback_wrong_packet_id, "subscriptions",
                    "SUBACK carries the SUBSCRIBE's packet id plus one"),
    MQTTH_DEVIATION("MQTT-3.10.4-4", kV311, unsuback_wrong_packet_id, "subscriptions",
                    "UNSUBACK carries the UNSUBSCRIBE's packet id plus one"),
    MQTTH_DEVIATION("MQTT-3.10.4-5", kV5, unsuback_wrong_packet_id, "subscriptions",
                    "UNSUBACK carries the UNSUBSCRIBE's packet id plus one"),
    MQTTH_DEVIATION("MQTT-3.10.4-5", kV311, unsuback_only_when_removed, "subscriptions",
                    "an UNSUBSCRIBE that removes nothing gets no UNSUBACK"),
    MQTTH_DEVIATION("MQTT-3.10.4-4", kV5, unsuback_only_when_removed, "subscriptions",
                    "an UNSUBSCRIBE that removes nothing gets no UNSUBACK"),
    MQTTH_DEVIATION("MQTT-3.10.4-1", kBothVersions, unsubscribe_matches_loosely, "subscriptions",
                    "an UNSUBSCRIBE filter that equals no subscription removes one whose filter matches it as a topic"),
    MQTTH_DEVIATION("MQTT-3.12.4-1", kBothVersions, pingresp_not_sent, "keep alive",
                    "PINGREQ gets no PINGRESP"),
    MQTTH_DEVIATION("MQTT-3.1.0-2", kBothVersions, second_connect_ignored, "CONNECT",
                    "a second CONNECT on a connection is ignored, the connection stays open"),
    MQTTH_DEVIATION("MQTT-3.1.3-6", kBothVersions, empty_client_id_shared, "CONNECT",
                    "every CONNECT with an empty client id gets the same identifier, so the next one takes the session over"),
    MQTTH_DEVIATION("MQTT-3.2.2-16", kV5, assigned_client_id_not_sent, "CONNACK",
                    "CONNACK to an empty client id carries no Assigned Client Identifier"),
    MQTTH_DEVIATION("MQTT-3.1.2-28", kV5, response_information_unrequested, "CONNACK",
                    "CONNACK carries Response Information although the client did not request it"),
    MQTTH_DEVIATION("MQTT-3.1.2-27", kV5, outbound_alias_without_client_maximum, "5.0 properties",
                    "outbound topic aliases are used for a client whose Topic Alias Maximum is 0 or absent"),
    MQTTH_DEVIATION("MQTT-3.3.4-3", kV5, subscription_ids_not_sent, "5.0 properties",
                    "a forwarded PUBLISH carries no Subscription Identifier"),
    MQTTH_DEVIATION("MQTT-3.3.2-17", kV5, user_properties_dropped, "5.0 properties",
                    "User Properties are not forwarded"),
    MQTTH_DEVIATION("MQTT-3.3.2-18", kV5, user_properties_reordered, "5.0 properties",
                    "User Properties are forwarded in reverse order"),
    MQTTH_DEVIATION("MQTT-3.3.2-15", kV5, response_topic_dropped, "5.0 properties",
                    "the Response Topic is not forwarded"),
    MQTTH_DEVIATION("MQTT-3.3.2-16", kV5, correlation_data_dropped, "5.0 properties",
                    "the Correlation Data is not forwarded"),
    MQTTH_DEVIATION("MQTT-3.3.2-20", kV5, content_type_dropped, "5.0 properties",
                    "the Content Type is not forwarded"),
    MQTTH_DEVIATION("MQTT-3.3.2-4", kV5, payload_format_dropped, "5.0 properties",
                    "the Payload Format Indicator is not forwarded"),
    MQTTH_DEVIATION("MQTT-3.3.1-5", kBothVersions, retain_ignored, "retained",
                    "a PUBLISH with RETAIN 1 is forwarded but not stored"),
    MQTTH_DEVIATION("MQTT-3.3.1-12", kV311, non_retained_replaces_retained, "retained",
                    "a PUBLISH with RETAIN 0 replaces the topic's stored retained message"),
    MQTTH_DEVIATION("MQTT-3.3.1-8", kV5, non_retained_replaces_retained, "retained",
                    "a PUBLISH with RETAIN 0 replaces the topic's stored retained message"),
    MQTTH_DEVIATION("MQTT-3.3.1-13", kV5, retain_as_published_ignored, "retained",
                    "Retain As Published 1 is ignored: forwarded messages have RETAIN 0"),
    MQTTH_DEVIATION("MQTT-3.3.1-10", kV5, retain_handling_1_resends, "retained",
                    "Retain Handling 1 sends the retained messages on a repeated SUBSCRIBE too"),
    MQTTH_DEVIATION("MQTT-3.3.1-11", kV5, retain_handling_2_sends, "retained",
                    "Retain Handling 2 sends the retained messages like Retain Handling 0"),
    MQTTH_DEVIATION("MQTT-3.1.2-17", kV311, will_retain_dropped, "wills",
                    "a will with Will Retain 1 is published with RETAIN 0 and not stored"),
    MQTTH_DEVIATION("MQTT-3.1.2-15", kV5, will_retain_dropped, "wills",
                    "a will with Will Retain 1 is published with RETAIN 0 and not stored"),
    MQTTH_DEVIATION("MQTT-3.1.2-16", kV311, will_retained_anyway, "wills",
                    "a will with Will Retain 0 is published as a retained message"),
    MQTTH_DEVIATION("MQTT-3.1.2-14", kV5, will_retained_anyway, "wills",
                    "a will with Will Retain 0 is published as a retained message"),
    MQTTH_DEVIATION("MQTT-3.1.3-9", kV5, will_delay_not_cancelled, "wills",
                    "a reconnect before the Will Delay has passed does not cancel the pending will"),
    MQTTH_DEVIATION("MQTT-3.14.2-2", kV5, disconnect_with_session_expiry, "5.0 properties",
                    "a DISCONNECT the broker sends carries a Session Expiry Interval"),
};

#undef MQTTH_DEVIATION

std::uint64_t bit(Deviation d) { return std::uint64_t{1} << static_cast<unsigned>(d); }

}  // namespace

static_assert(kDeviationCount <= 64, "Deviations keeps one bit per deviation");

std::span<const DeviationInfo> deviation_table() { return kTable; }

std::vector<const DeviationInfo*> deviations_for(std::string_view id) {
  std::vector<const DeviationInfo*> rows;
  for (const auto& row : kTable)
    if (row.statement == id) rows.push_back(&row);
  return rows;
}

bool applies_to(const DeviationInfo& row, mqtt::Version v) {
  return (row.versions & (v == mqtt::Version::v5 ? kV5 : kV311)) != 0;
}

void Deviations::enable(const DeviationInfo& row) {
  if (row.versions & kV311) v311_ |= bit(row.deviation);
  if (row.versions & kV5) v5_ |= bit(row.deviation);
}

void Deviations::enable(const DeviationInfo& row, mqtt::Version only) {
  if (!applies_to(row, only)) return;
  (only == mqtt::Version::v5 ? v5_ : v311_) |= bit(row.deviation);
}

}  // namespace mqtth::engine
