// Names and tables: versions, packet types, Errc, reason codes (MQTT 5.0 2.4 and the
// per-packet tables of chapter 3; 3.1.1 CONNACK return codes 3.2.2.3, SUBACK 3.9.3).
#include <array>

#include "internal.hpp"

namespace mqtt {

std::string_view to_string(Version v) {
  switch (v) {
    case Version::v3_1: return "3.1";
    case Version::v3_1_1: return "3.1.1";
    case Version::v5: return "5";
  }
  return "";
}

std::optional<Version> parse_version(std::string_view s) {
  if (s == "3.1") return Version::v3_1;
  if (s == "3.1.1") return Version::v3_1_1;
  if (s == "5" || s == "5.0") return Version::v5;
  return std::nullopt;
}

namespace {
constexpr std::array<std::string_view, 16> kPacketNames = {
    "", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
    "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"};
}

std::string_view to_string(PacketType t) {
  const auto i = static_cast<std::size_t>(t);
  return i < kPacketNames.size() ? kPacketNames[i] : std::string_view{};
}

std::optional<PacketType> parse_packet_type(std::string_view s) {
  for (std::size_t i = 1; i < kPacketNames.size(); ++i)
    if (kPacketNames[i] == s) return static_cast<PacketType>(i);
  return std::nullopt;
}

std::string_view to_string(Errc e) {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::malformed_packet: return "malformed_packet";
    case Errc::protocol_error: return "protocol_error";
    case Errc::unsupported_protocol_version: return "unsupported_protocol_version";
    case Errc::client_identifier_not_valid: return "client_identifier_not_valid";
    case Errc::topic_filter_invalid: return "topic_filter_invalid";
    case Errc::topic_name_invalid: return "topic_name_invalid";
    case Errc::packet_too_large: return "packet_too_large";
    case Errc::payload_format_invalid: return "payload_format_invalid";
    case Errc::buffer_too_small: return "buffer_too_small";
    case Errc::value_too_large: return "value_too_large";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------
// Reason codes
namespace {
std::string_view generic_reason_name(std::uint8_t c) {
  switch (c) {
    case 0x80: return "unspecified_error";
    case 0x81: return "malformed_packet";
    case 0x82: return "protocol_error";
    case 0x83: return "implementation_specific_error";
    case 0x84: return "unsupported_protocol_version";
    case 0x85: return "client_identifier_not_valid";
    case 0x86: return "bad_user_name_or_password";
    case 0x87: return "not_authorized";
    case 0x88: return "server_unavailable";
    case 0x89: return "server_busy";
    case 0x8A: return "banned";
    case 0x8B: return "server_shutting_down";
    case 0x8C: return "bad_authentication_method";
    case 0x8D: return "keep_alive_timeout";
    case 0x8E: return "session_taken_over";
    case 0x8F: return "topic_filter_invalid";
    case 0x90: return "topic_name_invalid";
    case 0x91: return "packet_identifier_in_use";
    case 0x92: return "packet_identifier_not_found";
    case 0x93: return "receive_maximum_exceeded";
    case 0x94: return "topic_alias_invalid";
    case 0x95: return "packet_too_large";
    case 0x96: return "message_rate_too_high";
    case 0x97: return "quota_exceeded";
    case 0x98: return "administrative_action";
    case 0x99: return "payload_format_invalid";
    case 0x9A: return "retain_not_supported";
    case 0x9B: return "qos_not_supported";
    case 0x9C: return "use_another_server";
    case 0x9D: return "server_moved";
    case 0x9E: return "shared_subscriptions_not_supported";
    case 0x9F: return "connection_rate_exceeded";
    case 0xA0: return "maximum_connect_time";
    case 0xA1: return "subscription_identifiers_not_supported";
    case 0xA2: return "wildcard_subscriptions_not_supported";
    default: return "";
  }
}

bool in(std::uint8_t c, std::initializer_list<std::uint8_t> list) {
  for (auto x : list)
    if (x == c) return true;
  return false;
}
}  // namespace

bool reason_code_allowed(std::uint8_t c, PacketType type) {
  switch (type) {
    case PacketType::connack:  // 3.2.2.2
      return in(c, {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C,
                    0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F});
    case PacketType::puback:  // 3.4.2.1
    case PacketType::pubrec:  // 3.5.2.1
      return in(c, {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99});
    case PacketType::pubrel:   // 3.6.2.1
    case PacketType::pubcomp:  // 3.7.2.1
      return in(c, {0x00, 0x92});
    case PacketType::suback:  // 3.9.3
      return in(c, {0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2});
    case PacketType::unsuback:  // 3.11.3
      return in(c, {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91});
    case PacketType::disconnect:  // 3.14.2.1
      return in(c, {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90,
                    0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F,
                    0xA0, 0xA1, 0xA2});
    case PacketType::auth:  // 3.15.2.1
      return in(c, {0x00, 0x18, 0x19});
    default:
      return false;
  }
}

std::string_view reason_code_name(std::uint8_t c, PacketType type, Version version) {
  if (version != Version::v5) {
    if (type == PacketType::connack) {  // 3.1.1 3.2.2.3, table 3.1
      switch (c) {
        case 0: return "connection_accepted";
        case 1: return "unacceptable_protocol_version";
        case 2: return "identifier_rejected";
        case 3: return "server_unavailable";
        case 4: return "bad_user_name_or_password";
        case 5: return "not_authorized";
        default: return "";
      }
    }
    if (type == PacketType::suback) {  // 3.1.1 3.9.3
      switch (c) {
        case 0: return "granted_qos0";
        case 1: return "granted_qos1";
        case 2: return "granted_qos2";
        case 0x80: return "failure";
        default: return "";
      }
    }
    return "";
  }
  if (!reason_code_allowed(c, type)) return "";
  switch (c) {
    case 0x00:
      if (type == PacketType::suback) return "granted_qos0";
      if (type == PacketType::disconnect) return "normal_disconnection";
      return "success";
    case 0x01: return "granted_qos1";
    case 0x02: return "granted_qos2";
    case 0x04: return "disconnect_with_will_message";
    case 0x10: return "no_matching_subscribers";
    case 0x11: return "no_subscription_existed";
    case 0x18: return "continue_authentication";
    case 0x19: return "re_authenticate";
    default: return generic_reason_name(c);
  }
}

}  // namespace mqtt
