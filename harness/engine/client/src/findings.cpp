// The findings table (Findings.hpp) and how the session reports one: the statement of the
// connection's version as the event's `spec`, further ones as `see_also`.
#include "ClientSessionImpl.hpp"

#include <array>

namespace mqtth::client {

using namespace detail;

namespace {

using F = Finding;

// Why each statement is the one: docs/client.md, "What counts as a broker violation".
// Columns: kind, name, from_codec, 3.1.1 {statement, see also, section}, 5.0 {statement,
// see also, section}.
constexpr std::array kFindings{
    FindingInfo{F::framing_error, "framing_error", true, "", "", "", "", "", ""},
    FindingInfo{F::invalid_packet, "invalid_packet", true, "", "", "", "", "", ""},
    FindingInfo{F::packet_too_large, "packet_too_large", false, "", "", "", "MQTT-3.1.2-24", "", ""},
    FindingInfo{F::client_only_packet, "client_only_packet", false, "", "", "2.2.1", "", "", "2.1.2"},
    FindingInfo{F::packet_before_connack, "packet_before_connack", false, "MQTT-3.2.0-1", "", "", "MQTT-3.2.0-1", "", ""},
    FindingInfo{F::second_connack, "second_connack", false, "", "", "3.2", "MQTT-3.2.0-2", "", ""},
    FindingInfo{F::connack_to_second_connect, "connack_to_second_connect", false, "MQTT-3.1.0-2", "MQTT-4.8.0-1", "",
                "MQTT-3.1.0-2", "MQTT-3.2.0-2", ""},
    FindingInfo{F::session_present_on_clean_start, "session_present_on_clean_start", false, "MQTT-3.2.2-1", "", "",
                "MQTT-3.2.2-2", "", ""},
    FindingInfo{F::disconnect_before_connack, "disconnect_before_connack", false, "", "", "", "MQTT-3.14.0-1", "", ""},
    FindingInfo{F::auth_without_method, "auth_without_method", false, "", "", "", "MQTT-4.12.0-6", "", ""},
    FindingInfo{F::topic_alias_not_allowed, "topic_alias_not_allowed", false, "", "", "", "MQTT-3.1.2-27", "", ""},
    FindingInfo{F::topic_alias_above_maximum, "topic_alias_above_maximum", false, "", "", "", "MQTT-3.3.2-11",
                "MQTT-3.1.2-26", ""},
    FindingInfo{F::topic_alias_unmapped, "topic_alias_unmapped", false, "", "", "", "", "", "3.3.2.3.4"},
    FindingInfo{F::receive_maximum_exceeded, "receive_maximum_exceeded", false, "", "", "", "MQTT-3.3.4-9", "", ""},
    FindingInfo{F::packet_id_in_use, "packet_id_in_use", false, "MQTT-2.3.1-4", "", "", "MQTT-2.2.1-4", "", ""},
    FindingInfo{F::redelivery_without_dup, "redelivery_without_dup", false, "MQTT-3.3.1-1", "", "", "MQTT-3.3.1-1", "",
                ""},
    FindingInfo{F::publish_after_pubrel, "publish_after_pubrel", false, "MQTT-4.3.3-1", "", "", "MQTT-4.3.3-6", "", ""},
    FindingInfo{F::resend_missing, "resend_missing", false, "MQTT-4.4.0-1", "", "", "MQTT-4.4.0-1", "", ""},
    FindingInfo{F::pubrel_unknown_id, "pubrel_unknown_id", false, "MQTT-4.3.3-1", "MQTT-2.3.1-6", "", "MQTT-4.3.3-4",
                "MQTT-2.2.1-5", ""},
    FindingInfo{F::ack_unknown_id, "ack_unknown_id", false, "MQTT-2.3.1-6", "", "", "MQTT-2.2.1-5", "", ""},
    FindingInfo{F::ack_wrong_for_qos, "ack_wrong_for_qos", false, "MQTT-3.3.4-1", "", "", "MQTT-3.3.4-1", "", ""},
    FindingInfo{F::pubcomp_without_pubrel, "pubcomp_without_pubrel", false, "MQTT-4.3.3-2", "", "", "MQTT-4.3.3-11",
                "MQTT-2.2.1-5", ""},
    FindingInfo{F::suback_unknown_id, "suback_unknown_id", false, "MQTT-3.8.4-2", "MQTT-2.3.1-7", "", "MQTT-3.8.4-2",
                "MQTT-2.2.1-6", ""},
    FindingInfo{F::suback_count, "suback_count", false, "MQTT-3.8.4-5", "", "", "MQTT-3.8.4-6", "", ""},
    FindingInfo{F::unsuback_unknown_id, "unsuback_unknown_id", false, "MQTT-3.10.4-4", "MQTT-2.3.1-7", "",
                "MQTT-3.10.4-5", "MQTT-2.2.1-6", ""},
    FindingInfo{F::unsuback_count, "unsuback_count", false, "", "", "", "MQTT-3.11.3-2", "", ""},
    FindingInfo{F::answered_protocol_violation, "answered_protocol_violation", false, "MQTT-4.8.0-1", "", "",
                "MQTT-4.13.1-1", "", ""},
    FindingInfo{F::pingresp_missing, "pingresp_missing", false, "MQTT-3.12.4-1", "", "", "MQTT-3.12.4-1", "", ""},
};

constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < kFindings.size(); ++i) {
    if (static_cast<std::size_t>(kFindings[i].kind) != i) return false;
  }
  return true;
}
static_assert(table_in_enum_order(), "kFindings lists every Finding once, in enum order");
static_assert(kFindings.back().kind == F::pingresp_missing, "kFindings ends with the last Finding");

bool v311(mqtt::Version v) { return v != mqtt::Version::v5; }

}  // namespace

std::span<const FindingInfo> findings() { return kFindings; }
const FindingInfo& info(Finding f) { return kFindings[static_cast<std::size_t>(f)]; }
std::string_view to_string(Finding f) { return info(f).name; }
std::string_view statement(Finding f, mqtt::Version v) {
  return v311(v) ? info(f).statement_311 : info(f).statement_5;
}
std::string_view see_also(Finding f, mqtt::Version v) { return v311(v) ? info(f).see_also_311 : info(f).see_also_5; }

void ClientSession::Impl::report(Finding kind, std::string message, std::optional<mqtt::PacketType> type,
                                 std::uint64_t stream_offset, TimeMs now, bool fatal, std::string_view also) {
  report_with_spec(kind, statement(kind, version), std::move(message), type, stream_offset, now, fatal,
                   mqtt::Errc::protocol_error, 0, also);
}

void ClientSession::Impl::report_with_spec(Finding kind, std::string_view spec, std::string message,
                                           std::optional<mqtt::PacketType> type, std::uint64_t stream_offset,
                                           TimeMs now, bool fatal, mqtt::Errc code, std::uint32_t offset_in_packet,
                                           std::string_view also) {
  violation(spec, std::move(message), type, stream_offset, now, fatal, code, offset_in_packet);
  auto& v = std::get<event::BrokerViolation>(events.back());
  v.finding = kind;
  if (const auto table_also = see_also(kind, version); !table_also.empty()) v.see_also.push_back(table_also);
  if (!also.empty() && also != spec) v.see_also.push_back(also);
}

// A request that breaks a rule the broker must enforce (packet id 0, [MQTT-2.3.1-1]) is a
// protocol violation it must close the connection on [MQTT-4.8.0-1 / 5.0 MQTT-4.13.1-1]; its
// answer shows it went on instead. The client then closes, as it would on any violation.
void ClientSession::Impl::answered_refusable(mqtt::PacketType answer, std::uint16_t packet_id,
                                             mqtt::PacketType request, std::string_view broke, std::uint64_t start,
                                             TimeMs now) {
  report(Finding::answered_protocol_violation,
         "broker answered a " + std::string(mqtt::to_string(request)) +
             " it had to refuse by closing the connection, with " + std::string(mqtt::to_string(answer)) +
             " for packet id " + std::to_string(packet_id),
         answer, start, now, config.close_on_violation, broke);
  if (config.close_on_violation) abandon_connection(mqtt::reason::protocol_error, now);
}

}  // namespace mqtth::client
