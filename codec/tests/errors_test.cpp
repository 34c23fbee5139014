// One test per error path of decode(): each asserts the Errc, the byte offset (from the
// packet's first byte) and the normative statement id, and is named after the statement.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace mqtt::test {
namespace {

constexpr Version v3 = Version::v3_1_1;
constexpr Version v5 = Version::v5;

std::string H(std::string_view hex) { return from_hex(hex); }
// UTF-8 string / binary data: two-byte length, then the bytes.
std::string S(std::string_view s) {
  std::string out;
  out.push_back(static_cast<char>(s.size() >> 8));
  out.push_back(static_cast<char>(s.size() & 0xFF));
  out.append(s);
  return out;
}
// Fixed header (first byte + minimal remaining length) + body.
std::string pkt(std::uint8_t first, const std::string& body) {
  std::string out(1, static_cast<char>(first));
  std::uint8_t len[4];
  const std::size_t n = encode_varint(static_cast<std::uint32_t>(body.size()), len);
  out.append(reinterpret_cast<const char*>(len), n);
  return out + body;
}
// A 5.0 property block with its length prefix (blocks < 128 bytes).
std::string props(const std::string& raw) { return std::string(1, static_cast<char>(raw.size())) + raw; }

void expect_error(const std::string& packet, Version v, Errc code, std::uint32_t offset, std::string_view spec,
                  std::uint32_t max = kMaxPacketSize) {
  GuardedBuffer g(packet);
  auto r = decode(g.bytes(), DecodeOptions{v, max});
  EXPECT_EQ(to_string(r.error.code), to_string(code)) << r.error.message;
  EXPECT_EQ(r.error.offset, offset) << r.error.message;
  EXPECT_EQ(r.error.spec, spec) << r.error.message;
  EXPECT_FALSE(r.error.message.empty());
}

void expect_ok(const std::string& packet, Version v) {
  GuardedBuffer g(packet);
  auto r = decode(g.bytes(), DecodeOptions{v});
  EXPECT_TRUE(r.ok()) << to_string(r.error.code) << " at " << r.error.offset << " " << r.error.spec << ": "
                      << r.error.message;
}

const std::string kConnectHead311 = S("MQTT") + H("04");
const std::string kConnectHead5 = S("MQTT") + H("05");

// ---------------------------------------------------------------------------------------
// Fixed header
TEST(FixedHeader, packet_type_0_is_malformed) { expect_error(H("00 00"), v3, Errc::malformed_packet, 0, ""); }

TEST(FixedHeader, reserved_flags_of_connack_are_malformed_MQTT_2_2_2_1) {
  expect_error(H("21 02 00 00"), v3, Errc::malformed_packet, 0, "MQTT-2.2.2-1");
}
TEST(FixedHeader, reserved_flags_of_puback_are_malformed_MQTT_2_1_3_1) {
  expect_error(H("41 02 00 01"), v5, Errc::malformed_packet, 0, "MQTT-2.1.3-1");
}
TEST(FixedHeader, reserved_flags_of_pingreq_are_malformed_MQTT_2_1_3_1) {
  expect_error(H("c8 00"), v5, Errc::malformed_packet, 0, "MQTT-2.1.3-1");
}
TEST(FixedHeader, pubrel_flags_other_than_0010_are_malformed_MQTT_3_6_1_1) {
  expect_error(H("60 02 00 01"), v3, Errc::malformed_packet, 0, "MQTT-3.6.1-1");
  expect_error(H("63 02 00 01"), v5, Errc::malformed_packet, 0, "MQTT-3.6.1-1");
}
TEST(FixedHeader, subscribe_flags_other_than_0010_are_malformed_MQTT_3_8_1_1) {
  expect_error(pkt(0x80, H("00 01") + S("a") + H("00")), v3, Errc::malformed_packet, 0, "MQTT-3.8.1-1");
}
TEST(FixedHeader, unsubscribe_flags_other_than_0010_are_malformed_MQTT_3_10_1_1) {
  expect_error(pkt(0xA0, H("00 01") + S("a")), v3, Errc::malformed_packet, 0, "MQTT-3.10.1-1");
}
TEST(FixedHeader, disconnect_flags_not_0_are_malformed_MQTT_3_14_1_1) {
  expect_error(H("e1 00"), v3, Errc::malformed_packet, 0, "MQTT-3.14.1-1");
  expect_error(H("e2 00"), v5, Errc::malformed_packet, 0, "MQTT-3.14.1-1");
}
TEST(FixedHeader, auth_flags_not_0_are_malformed_MQTT_3_15_1_1) {
  expect_error(H("f1 00"), v5, Errc::malformed_packet, 0, "MQTT-3.15.1-1");
}
TEST(FixedHeader, auth_before_mqtt5_is_a_reserved_type_and_malformed) {
  expect_error(H("f0 00"), v3, Errc::malformed_packet, 0, "");
}
TEST(FixedHeader, publish_qos3_is_malformed_MQTT_3_3_1_4) {
  expect_error(pkt(0x36, S("a") + H("00 01")), v3, Errc::malformed_packet, 0, "MQTT-3.3.1-4");
  expect_error(pkt(0x36, S("a") + H("00 01 00")), v5, Errc::malformed_packet, 0, "MQTT-3.3.1-4");
}
TEST(FixedHeader, publish_dup_on_qos0_is_malformed_MQTT_3_3_1_2) {
  expect_error(pkt(0x38, S("a")), v3, Errc::malformed_packet, 0, "MQTT-3.3.1-2");
}
TEST(FixedHeader, remaining_length_of_five_bytes_is_malformed_MQTT_1_5_5_1) {
  expect_error(H("30 ff ff ff ff 01"), v5, Errc::malformed_packet, 4, "MQTT-1.5.5-1");
}
TEST(FixedHeader, non_minimal_remaining_length_is_malformed_MQTT_1_5_5_1) {
  expect_error(H("c0 80 00"), v5, Errc::malformed_packet, 2, "MQTT-1.5.5-1");
}
TEST(FixedHeader, non_minimal_remaining_length_is_malformed_in_311_without_statement_id) {
  expect_error(H("c0 80 00"), v3, Errc::malformed_packet, 2, "");
}
TEST(FixedHeader, remaining_length_beyond_the_bytes_present_is_malformed) {
  expect_error(H("30 05 00 01 74"), v3, Errc::malformed_packet, 5, "");
}
TEST(FixedHeader, bytes_after_the_remaining_length_are_malformed) {
  expect_error(H("c0 00 00"), v3, Errc::malformed_packet, 2, "");
}
TEST(FixedHeader, pingreq_with_a_body_is_malformed) { expect_error(H("c0 01 00"), v3, Errc::malformed_packet, 2, ""); }
TEST(FixedHeader, pingresp_with_a_body_is_malformed) { expect_error(H("d0 01 00"), v5, Errc::malformed_packet, 2, ""); }
TEST(FixedHeader, disconnect_with_a_body_is_malformed_in_311) {
  expect_error(H("e0 01 00"), v3, Errc::malformed_packet, 2, "");
}
TEST(FixedHeader, puback_with_remaining_length_3_is_malformed_in_311) {
  expect_error(H("40 03 00 01 00"), v3, Errc::malformed_packet, 4, "");
}
TEST(FixedHeader, unsuback_with_reason_codes_is_malformed_in_311) {
  expect_error(H("b0 03 00 01 00"), v3, Errc::malformed_packet, 4, "");
}
TEST(FixedHeader, connack_311_with_remaining_length_3_is_malformed) {
  expect_error(H("20 03 00 00 00"), v3, Errc::malformed_packet, 4, "");
}
TEST(FixedHeader, packet_larger_than_maximum_is_rejected_from_the_fixed_header) {
  // Only the fixed header is present: the size is refused before any body byte is needed.
  expect_error(H("30 ff ff ff 7f"), v5, Errc::packet_too_large, 1, "", 1000);
  expect_error(pkt(0x30, S("a") + H("00") + std::string(20, 'x')), v5, Errc::packet_too_large, 1, "", 20);
}
TEST(FixedHeader, packet_exactly_at_the_maximum_is_accepted) {
  const std::string p = pkt(0x30, S("a") + H("00") + std::string(20, 'x'));
  GuardedBuffer g(p);
  EXPECT_TRUE(decode(g.bytes(), DecodeOptions{v5, static_cast<std::uint32_t>(p.size())}).ok());
}
TEST(FixedHeader, empty_and_one_byte_inputs_are_malformed) {
  expect_error("", v5, Errc::malformed_packet, 0, "");
  expect_error(H("30"), v5, Errc::malformed_packet, 1, "");
}

// ---------------------------------------------------------------------------------------
// UTF-8 strings
TEST(Utf8, ill_formed_topic_is_malformed_MQTT_1_5_3_1) {
  expect_error(pkt(0x30, S("a\xC0\xAF")), v3, Errc::malformed_packet, 5, "MQTT-1.5.3-1");
}
TEST(Utf8, surrogate_in_topic_is_malformed_MQTT_1_5_4_1) {
  expect_error(pkt(0x30, S("ab\xED\xA0\x80") + H("00")), v5, Errc::malformed_packet, 6, "MQTT-1.5.4-1");
}
TEST(Utf8, code_point_above_10FFFF_is_malformed_MQTT_1_5_4_1) {
  expect_error(pkt(0x30, S("\xF4\x90\x80\x80") + H("00")), v5, Errc::malformed_packet, 4, "MQTT-1.5.4-1");
}
TEST(Utf8, truncated_sequence_at_string_end_is_malformed_MQTT_1_5_3_1) {
  // The next byte (packet id) must not complete the sequence: strings are checked alone.
  expect_error(pkt(0x32, S("a\xE2\x82") + H("AC 01")), v3, Errc::malformed_packet, 5, "MQTT-1.5.3-1");
}
TEST(Utf8, null_character_in_topic_is_malformed_MQTT_1_5_3_2) {
  expect_error(pkt(0x30, S(std::string("a\0b", 3))), v3, Errc::malformed_packet, 5, "MQTT-1.5.3-2");
}
TEST(Utf8, null_character_in_client_id_is_malformed_MQTT_1_5_4_2) {
  expect_error(pkt(0x10, kConnectHead5 + H("02 00 3c 00") + S(std::string("c\0", 2))), v5, Errc::malformed_packet, 16,
               "MQTT-1.5.4-2");
}
TEST(Utf8, ill_formed_user_property_is_malformed_MQTT_1_5_7_1) {
  const std::string prop = H("26") + S("k") + S("\xFF");
  expect_error(pkt(0x30, S("t") + props(prop)), v5, Errc::malformed_packet, 12, "MQTT-1.5.7-1");
}
TEST(Utf8, ill_formed_user_name_is_malformed_MQTT_1_5_3_1) {
  expect_error(pkt(0x10, kConnectHead311 + H("82 00 3c") + S("c") + S("\xC3")), v3, Errc::malformed_packet, 17,
               "MQTT-1.5.3-1");
}
TEST(Utf8, byte_order_mark_is_kept_not_stripped_MQTT_1_5_4_3) {
  const std::string p = pkt(0x30, S("\xEF\xBB\xBF" "a") + H("00"));
  auto r = decode(p, DecodeOptions{v5});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<PublishView>(r.value).topic, "\xEF\xBB\xBF" "a");
}
TEST(Utf8, multibyte_topic_is_accepted) {
  expect_ok(pkt(0x30, S("caf\xC3\xA9/\xE2\x82\xAC/\xF0\x9F\x98\x80")), v3);
}

// ---------------------------------------------------------------------------------------
// Topic names and filters
TEST(Topic, publish_topic_with_plus_is_topic_name_invalid_MQTT_3_3_2_2) {
  expect_error(pkt(0x30, S("a/+")), v3, Errc::topic_name_invalid, 6, "MQTT-3.3.2-2");
}
TEST(Topic, publish_topic_with_hash_is_topic_name_invalid_MQTT_3_3_2_2) {
  expect_error(pkt(0x30, S("a/#") + H("00")), v5, Errc::topic_name_invalid, 6, "MQTT-3.3.2-2");
}
TEST(Topic, empty_publish_topic_is_topic_name_invalid_MQTT_4_7_3_1) {
  expect_error(pkt(0x30, S("") + "x"), v3, Errc::topic_name_invalid, 2, "MQTT-4.7.3-1");
}
TEST(Topic, empty_publish_topic_without_topic_alias_is_a_protocol_error_in_5) {
  expect_error(pkt(0x30, S("") + H("00")), v5, Errc::protocol_error, 2, "");
}
TEST(Topic, will_topic_with_wildcard_is_topic_name_invalid_MQTT_4_7_1_1) {
  expect_error(pkt(0x10, kConnectHead311 + H("06 00 3c") + S("c") + S("w/#") + S("m")), v3, Errc::topic_name_invalid,
               19, "MQTT-4.7.1-1");
}
TEST(Topic, will_topic_with_wildcard_is_topic_name_invalid_MQTT_4_7_0_1) {
  expect_error(pkt(0x10, kConnectHead5 + H("06 00 3c 00") + S("c") + H("00") + S("w/+") + S("m")), v5,
               Errc::topic_name_invalid, 21, "MQTT-4.7.0-1");
}
TEST(Topic, filter_with_hash_not_last_is_topic_filter_invalid_MQTT_4_7_1_2) {
  expect_error(pkt(0x82, H("00 01") + S("a/#/b") + H("00")), v3, Errc::topic_filter_invalid, 8, "MQTT-4.7.1-2");
}
TEST(Topic, filter_with_hash_not_alone_in_level_is_topic_filter_invalid_MQTT_4_7_1_1) {
  expect_error(pkt(0x82, H("00 01 00") + S("a/b#") + H("00")), v5, Errc::topic_filter_invalid, 10, "MQTT-4.7.1-1");
}
TEST(Topic, filter_with_plus_not_alone_in_level_is_topic_filter_invalid_MQTT_4_7_1_3) {
  expect_error(pkt(0x82, H("00 01") + S("a+/b") + H("00")), v3, Errc::topic_filter_invalid, 7, "MQTT-4.7.1-3");
}
TEST(Topic, filter_with_plus_not_alone_in_level_is_topic_filter_invalid_MQTT_4_7_1_2) {
  expect_error(pkt(0xA2, H("00 01 00") + S("+x")), v5, Errc::topic_filter_invalid, 7, "MQTT-4.7.1-2");
}
TEST(Topic, empty_filter_is_topic_filter_invalid_MQTT_4_7_3_1) {
  expect_error(pkt(0x82, H("00 01") + S("") + H("00")), v3, Errc::topic_filter_invalid, 4, "MQTT-4.7.3-1");
}
TEST(Topic, shared_subscription_with_empty_share_name_is_invalid_MQTT_4_8_2_1) {
  expect_error(pkt(0x82, H("00 01 00") + S("$share//a") + H("00")), v5, Errc::topic_filter_invalid, 14, "MQTT-4.8.2-1");
}
TEST(Topic, shared_subscription_with_wildcard_in_share_name_is_invalid_MQTT_4_8_2_2) {
  expect_error(pkt(0x82, H("00 01 00") + S("$share/g+/a") + H("00")), v5, Errc::topic_filter_invalid, 15, "MQTT-4.8.2-2");
}
TEST(Topic, shared_subscription_without_filter_is_invalid_MQTT_4_8_2_2) {
  expect_error(pkt(0x82, H("00 01 00") + S("$share/g") + H("00")), v5, Errc::topic_filter_invalid, 15, "MQTT-4.8.2-2");
}
TEST(Topic, share_prefix_is_an_ordinary_filter_in_311) { expect_ok(pkt(0x82, H("00 01") + S("$share/g") + H("00")), v3); }
TEST(Topic, no_local_on_shared_subscription_is_a_protocol_error_MQTT_3_8_3_4) {
  expect_error(pkt(0x82, H("00 01 00") + S("$share/g/a") + H("04")), v5, Errc::protocol_error, 17, "MQTT-3.8.3-4");
}

// ---------------------------------------------------------------------------------------
// Packet identifiers
TEST(PacketId, qos1_publish_with_packet_id_0_is_a_protocol_error_MQTT_2_3_1_1) {
  expect_error(pkt(0x32, S("a") + H("00 00")), v3, Errc::protocol_error, 5, "MQTT-2.3.1-1");
}
TEST(PacketId, qos2_publish_with_packet_id_0_is_a_protocol_error_MQTT_2_2_1_3) {
  expect_error(pkt(0x34, S("a") + H("00 00 00")), v5, Errc::protocol_error, 5, "MQTT-2.2.1-3");
}
TEST(PacketId, subscribe_with_packet_id_0_is_a_protocol_error_MQTT_2_3_1_1) {
  expect_error(pkt(0x82, H("00 00") + S("a") + H("00")), v3, Errc::protocol_error, 2, "MQTT-2.3.1-1");
}
TEST(PacketId, unsubscribe_with_packet_id_0_is_a_protocol_error_MQTT_2_2_1_3) {
  expect_error(pkt(0xA2, H("00 00 00") + S("a")), v5, Errc::protocol_error, 2, "MQTT-2.2.1-3");
}
TEST(PacketId, puback_with_packet_id_0_is_a_protocol_error_MQTT_2_3_1_6) {
  expect_error(H("40 02 00 00"), v3, Errc::protocol_error, 2, "MQTT-2.3.1-6");
}
TEST(PacketId, pubcomp_with_packet_id_0_is_a_protocol_error_MQTT_2_2_1_5) {
  expect_error(H("70 02 00 00"), v5, Errc::protocol_error, 2, "MQTT-2.2.1-5");
}
TEST(PacketId, suback_with_packet_id_0_is_a_protocol_error_MQTT_2_2_1_6) {
  expect_error(H("90 04 00 00 00 00"), v5, Errc::protocol_error, 2, "MQTT-2.2.1-6");
}
TEST(PacketId, unsuback_with_packet_id_0_is_a_protocol_error_MQTT_2_3_1_7) {
  expect_error(H("b0 02 00 00"), v3, Errc::protocol_error, 2, "MQTT-2.3.1-7");
}
TEST(PacketId, qos0_publish_has_no_packet_id_MQTT_2_3_1_5) {
  // The two bytes after the topic are payload, not a packet identifier.
  const std::string packet = pkt(0x30, S("a") + H("00 00"));
  auto r = decode(packet, DecodeOptions{v3});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<PublishView>(r.value).packet_id, 0);
  EXPECT_EQ(std::get<PublishView>(r.value).payload.size(), 2u);
}

// ---------------------------------------------------------------------------------------
// CONNECT
TEST(Connect, wrong_protocol_name_is_unsupported_protocol_version_MQTT_3_1_2_1) {
  expect_error(pkt(0x10, S("MQTX") + H("04 02 00 3c") + S("c")), v3, Errc::unsupported_protocol_version, 2,
               "MQTT-3.1.2-1");
}
TEST(Connect, unsupported_protocol_level_is_unsupported_protocol_version_MQTT_3_1_2_2) {
  expect_error(pkt(0x10, S("MQTT") + H("06 02 00 3c") + S("c")), v5, Errc::unsupported_protocol_version, 8,
               "MQTT-3.1.2-2");
}
TEST(Connect, mqisdp_with_level_4_is_unsupported_protocol_version_MQTT_3_1_2_2) {
  expect_error(pkt(0x10, S("MQIsdp") + H("04 02 00 3c") + S("c")), v3, Errc::unsupported_protocol_version, 10,
               "MQTT-3.1.2-2");
}
TEST(Connect, reserved_flag_set_is_malformed_MQTT_3_1_2_3) {
  expect_error(pkt(0x10, kConnectHead311 + H("03 00 3c") + S("c")), v3, Errc::malformed_packet, 9, "MQTT-3.1.2-3");
  expect_error(pkt(0x10, kConnectHead5 + H("03 00 3c 00") + S("c")), v5, Errc::malformed_packet, 9, "MQTT-3.1.2-3");
}
TEST(Connect, will_qos_3_is_malformed_MQTT_3_1_2_14) {
  expect_error(pkt(0x10, kConnectHead311 + H("1e 00 3c") + S("c") + S("w") + S("m")), v3, Errc::malformed_packet, 9,
               "MQTT-3.1.2-14");
}
TEST(Connect, will_qos_3_is_malformed_MQTT_3_1_2_12) {
  expect_error(pkt(0x10, kConnectHead5 + H("1e 00 3c 00") + S("c") + H("00") + S("w") + S("m")), v5,
               Errc::malformed_packet, 9, "MQTT-3.1.2-12");
}
TEST(Connect, will_qos_without_will_flag_is_a_protocol_error_MQTT_3_1_2_13) {
  expect_error(pkt(0x10, kConnectHead311 + H("0a 00 3c") + S("c")), v3, Errc::protocol_error, 9, "MQTT-3.1.2-13");
}
TEST(Connect, will_qos_without_will_flag_is_a_protocol_error_MQTT_3_1_2_11) {
  expect_error(pkt(0x10, kConnectHead5 + H("12 00 3c 00") + S("c")), v5, Errc::protocol_error, 9, "MQTT-3.1.2-11");
}
TEST(Connect, will_retain_without_will_flag_is_a_protocol_error_MQTT_3_1_2_15) {
  expect_error(pkt(0x10, kConnectHead311 + H("22 00 3c") + S("c")), v3, Errc::protocol_error, 9, "MQTT-3.1.2-15");
}
TEST(Connect, will_retain_without_will_flag_is_a_protocol_error_MQTT_3_1_2_13) {
  expect_error(pkt(0x10, kConnectHead5 + H("22 00 3c 00") + S("c")), v5, Errc::protocol_error, 9, "MQTT-3.1.2-13");
}
TEST(Connect, password_without_user_name_is_a_protocol_error_in_311_MQTT_3_1_2_22) {
  expect_error(pkt(0x10, kConnectHead311 + H("42 00 3c") + S("c") + S("pw")), v3, Errc::protocol_error, 9,
               "MQTT-3.1.2-22");
}
TEST(Connect, password_without_user_name_is_allowed_in_5) {
  expect_ok(pkt(0x10, kConnectHead5 + H("42 00 3c 00") + S("c") + S("pw")), v5);
}
TEST(Connect, empty_client_id_with_clean_session_0_is_rejected_MQTT_3_1_3_8) {
  expect_error(pkt(0x10, kConnectHead311 + H("00 00 3c") + S("")), v3, Errc::client_identifier_not_valid, 12,
               "MQTT-3.1.3-8");
}
TEST(Connect, empty_client_id_with_clean_session_1_is_accepted_MQTT_3_1_3_6) {
  expect_ok(pkt(0x10, kConnectHead311 + H("02 00 3c") + S("")), v3);
}
TEST(Connect, mqtt31_client_id_longer_than_23_bytes_is_not_valid) {
  expect_error(pkt(0x10, S("MQIsdp") + H("03 02 00 3c") + S(std::string(24, 'c'))), v3,
               Errc::client_identifier_not_valid, 14, "");
}
TEST(Connect, user_name_flag_without_user_name_is_malformed_MQTT_3_1_2_19) {
  expect_error(pkt(0x10, kConnectHead311 + H("82 00 3c") + S("c")), v3, Errc::malformed_packet, 15, "MQTT-3.1.2-19");
}
TEST(Connect, user_name_flag_without_user_name_is_malformed_MQTT_3_1_2_17) {
  expect_error(pkt(0x10, kConnectHead5 + H("82 00 3c 00") + S("c")), v5, Errc::malformed_packet, 16, "MQTT-3.1.2-17");
}
TEST(Connect, password_flag_without_password_is_malformed_MQTT_3_1_2_21) {
  expect_error(pkt(0x10, kConnectHead311 + H("c2 00 3c") + S("c") + S("u")), v3, Errc::malformed_packet, 18,
               "MQTT-3.1.2-21");
}
TEST(Connect, password_flag_without_password_is_malformed_MQTT_3_1_2_19) {
  expect_error(pkt(0x10, kConnectHead5 + H("42 00 3c 00") + S("c")), v5, Errc::malformed_packet, 16, "MQTT-3.1.2-19");
}
TEST(Connect, will_flag_without_will_topic_and_payload_is_malformed_MQTT_3_1_2_9) {
  expect_error(pkt(0x10, kConnectHead311 + H("06 00 3c") + S("c")), v3, Errc::malformed_packet, 15, "MQTT-3.1.2-9");
  expect_error(pkt(0x10, kConnectHead311 + H("06 00 3c") + S("c") + S("w")), v3, Errc::malformed_packet, 18,
               "MQTT-3.1.2-9");
}
TEST(Connect, missing_client_identifier_is_malformed_MQTT_3_1_3_3) {
  expect_error(pkt(0x10, kConnectHead311 + H("02 00 3c")), v3, Errc::malformed_packet, 12, "MQTT-3.1.3-3");
}
TEST(Connect, missing_property_length_is_malformed_MQTT_2_2_2_1) {
  expect_error(pkt(0x10, kConnectHead5 + H("02 00 3c")), v5, Errc::malformed_packet, 12, "MQTT-2.2.2-1");
}
TEST(FixedHeader, publish_without_topic_name_is_malformed_MQTT_3_3_2_1) {
  expect_error(H("30 01 00"), v3, Errc::malformed_packet, 3, "MQTT-3.3.2-1");
}
TEST(Connect, bytes_after_the_last_payload_field_are_malformed) {
  expect_error(pkt(0x10, kConnectHead311 + H("02 00 3c") + S("c") + "x"), v3, Errc::malformed_packet, 15, "");
}
TEST(Connect, will_payload_not_utf8_with_payload_format_indicator_1_is_payload_format_invalid) {
  expect_error(pkt(0x10, kConnectHead5 + H("06 00 3c 00") + S("c") + props(H("01 01")) + S("w") + S("\xFF")), v5,
               Errc::payload_format_invalid, 24, "");
}
TEST(Connect, will_only_property_in_connect_properties_is_a_protocol_error) {
  expect_error(pkt(0x10, kConnectHead5 + H("02 00 3c") + props(H("18 00 00 00 05")) + S("c")), v5,
               Errc::protocol_error, 13, "");
}
TEST(Connect, connect_only_property_in_will_properties_is_a_protocol_error) {
  expect_error(pkt(0x10, kConnectHead5 + H("06 00 3c 00") + S("c") + props(H("11 00 00 00 05")) + S("w") + S("m")), v5,
               Errc::protocol_error, 17, "");
}

// ---------------------------------------------------------------------------------------
// CONNACK
TEST(Connack, reserved_acknowledge_flags_are_malformed_MQTT_3_2_2_1) {
  expect_error(H("20 03 02 00 00"), v5, Errc::malformed_packet, 2, "MQTT-3.2.2-1");
}
TEST(Connack, session_present_with_nonzero_return_code_is_a_protocol_error_MQTT_3_2_2_4) {
  expect_error(H("20 02 01 05"), v3, Errc::protocol_error, 2, "MQTT-3.2.2-4");
}
TEST(Connack, session_present_with_nonzero_reason_code_is_a_protocol_error_MQTT_3_2_2_6) {
  expect_error(H("20 03 01 80 00"), v5, Errc::protocol_error, 2, "MQTT-3.2.2-6");
}
TEST(Connack, undefined_reason_code_is_a_protocol_error_MQTT_3_2_2_8) {
  expect_error(H("20 03 00 04 00"), v5, Errc::protocol_error, 3, "MQTT-3.2.2-8");
}
TEST(Connack, return_code_above_5_is_a_protocol_error_in_311) { expect_error(H("20 02 00 06"), v3, Errc::protocol_error, 3, ""); }
TEST(Connack, missing_property_length_is_malformed_MQTT_2_2_2_1) {
  expect_error(H("20 02 00 00"), v5, Errc::malformed_packet, 4, "MQTT-2.2.2-1");
}

// ---------------------------------------------------------------------------------------
// Acknowledgement reason codes (5.0)
TEST(Reason, undefined_puback_reason_code_is_a_protocol_error_MQTT_3_4_2_1) {
  expect_error(H("40 03 00 01 92"), v5, Errc::protocol_error, 4, "MQTT-3.4.2-1");
}
TEST(Reason, undefined_pubrec_reason_code_is_a_protocol_error_MQTT_3_5_2_1) {
  expect_error(H("50 03 00 01 11"), v5, Errc::protocol_error, 4, "MQTT-3.5.2-1");
}
TEST(Reason, undefined_pubrel_reason_code_is_a_protocol_error_MQTT_3_6_2_1) {
  expect_error(H("62 03 00 01 10"), v5, Errc::protocol_error, 4, "MQTT-3.6.2-1");
}
TEST(Reason, undefined_pubcomp_reason_code_is_a_protocol_error_MQTT_3_7_2_1) {
  expect_error(H("70 04 00 01 80 00"), v5, Errc::protocol_error, 4, "MQTT-3.7.2-1");
}
TEST(Reason, undefined_suback_reason_code_is_a_protocol_error_MQTT_3_9_3_2) {
  expect_error(H("90 05 00 01 00 00 10"), v5, Errc::protocol_error, 6, "MQTT-3.9.3-2");
}
TEST(Reason, suback_return_code_3_is_a_protocol_error_in_311_MQTT_3_9_3_2) {
  expect_error(H("90 04 00 01 01 03"), v3, Errc::protocol_error, 5, "MQTT-3.9.3-2");
}
TEST(Reason, undefined_unsuback_reason_code_is_a_protocol_error_MQTT_3_11_3_2) {
  expect_error(H("b0 04 00 01 00 02"), v5, Errc::protocol_error, 5, "MQTT-3.11.3-2");
}
TEST(Reason, undefined_disconnect_reason_code_is_a_protocol_error_MQTT_3_14_2_1) {
  expect_error(H("e0 01 01"), v5, Errc::protocol_error, 2, "MQTT-3.14.2-1");
}
TEST(Reason, undefined_auth_reason_code_is_a_protocol_error_MQTT_3_15_2_1) {
  expect_error(H("f0 02 01 00"), v5, Errc::protocol_error, 2, "MQTT-3.15.2-1");
}
TEST(Reason, suback_without_reason_codes_is_a_protocol_error_MQTT_3_9_3_2) {
  expect_error(H("90 03 00 01 00"), v5, Errc::protocol_error, 5, "MQTT-3.9.3-2");
}

// ---------------------------------------------------------------------------------------
// SUBSCRIBE / UNSUBSCRIBE payloads
TEST(Subscribe, subscribe_without_filters_is_a_protocol_error_MQTT_3_8_3_3) {
  expect_error(H("82 02 00 01"), v3, Errc::protocol_error, 4, "MQTT-3.8.3-3");
}
TEST(Subscribe, subscribe_without_filters_is_a_protocol_error_MQTT_3_8_3_2) {
  expect_error(H("82 03 00 01 00"), v5, Errc::protocol_error, 5, "MQTT-3.8.3-2");
}
TEST(Subscribe, reserved_option_bits_are_malformed_in_311_MQTT_3_8_3_4) {
  expect_error(pkt(0x82, H("00 01") + S("a") + H("04")), v3, Errc::malformed_packet, 7, "MQTT-3.8.3-4");
}
TEST(Subscribe, requested_qos_3_is_malformed_in_311_MQTT_3_8_3_4) {
  expect_error(pkt(0x82, H("00 01") + S("a") + H("03")), v3, Errc::malformed_packet, 7, "MQTT-3.8.3-4");
}
TEST(Subscribe, reserved_option_bits_are_malformed_in_5_MQTT_3_8_3_5) {
  expect_error(pkt(0x82, H("00 01 00") + S("a") + H("40")), v5, Errc::malformed_packet, 8, "MQTT-3.8.3-5");
}
TEST(Subscribe, maximum_qos_3_is_a_protocol_error_in_5) {
  expect_error(pkt(0x82, H("00 01 00") + S("a") + H("03")), v5, Errc::protocol_error, 8, "");
}
TEST(Subscribe, retain_handling_3_is_a_protocol_error_in_5) {
  expect_error(pkt(0x82, H("00 01 00") + S("a") + H("30")), v5, Errc::protocol_error, 8, "");
}
TEST(Subscribe, filter_without_options_byte_is_malformed) {
  expect_error(pkt(0x82, H("00 01") + S("a")), v3, Errc::malformed_packet, 7, "");
}
TEST(Subscribe, unsubscribe_without_filters_is_a_protocol_error_MQTT_3_10_3_2) {
  expect_error(H("a2 02 00 01"), v3, Errc::protocol_error, 4, "MQTT-3.10.3-2");
  expect_error(H("a2 03 00 01 00"), v5, Errc::protocol_error, 5, "MQTT-3.10.3-2");
}

// ---------------------------------------------------------------------------------------
// Two passes: a malformed field wins over an earlier protocol error.
TEST(TwoPasses, malformed_field_after_a_protocol_error_is_reported_as_malformed) {
  // Packet id 0 (protocol error, offset 5) then an unknown property id (malformed, offset 8).
  expect_error(pkt(0x32, S("a") + H("00 00") + props(H("7f 00"))), v5, Errc::malformed_packet, 8, "");
}
TEST(TwoPasses, first_protocol_error_in_wire_order_is_reported) {
  // Wildcard topic (offset 4) before packet id 0 (offset 5).
  expect_error(pkt(0x32, S("#") + H("00 00")), v3, Errc::topic_name_invalid, 4, "MQTT-3.3.2-2");
}

// ---------------------------------------------------------------------------------------
// Payload format indicator
TEST(PayloadFormat, payload_not_utf8_with_indicator_1_is_payload_format_invalid) {
  const std::string p = pkt(0x30, S("t") + props(H("01 01")) + "ok\xC3(");
  expect_error(p, v5, Errc::payload_format_invalid, 10, "");
}
TEST(PayloadFormat, payload_not_utf8_with_indicator_0_is_accepted) {
  expect_ok(pkt(0x30, S("t") + props(H("01 00")) + "\xFF\xFE"), v5);
}
TEST(PayloadFormat, payload_with_indicator_1_may_contain_U0000) {
  expect_ok(pkt(0x30, S("t") + props(H("01 01")) + std::string("a\0b", 3)), v5);
}

// ---------------------------------------------------------------------------------------
// parsed_completely(): a meaning error (pass 2) leaves the whole packet in `value`.

TEST(ParsedCompletely, a_meaning_error_leaves_the_whole_subscribe_in_value) {
  // Two subscriptions, the first with No Local on a shared subscription [MQTT-3.8.3-4].
  GuardedBuffer g(pkt(0x82, H("00 01 00") + S("$share/g/a") + H("04") + S("b/c") + H("01")));
  const auto r = decode(g.bytes(), DecodeOptions{v5});
  ASSERT_EQ(to_string(r.error.code), to_string(Errc::protocol_error));
  EXPECT_TRUE(parsed_completely(r.error));
  const auto* sub = std::get_if<SubscribeView>(&r.value);
  ASSERT_TRUE(sub);
  ASSERT_EQ(sub->subscriptions.size(), 2u);
  EXPECT_EQ(sub->subscriptions[0].filter, "$share/g/a");
  EXPECT_TRUE(sub->subscriptions[0].options.no_local);
  EXPECT_EQ(sub->subscriptions[1].filter, "b/c");
  EXPECT_EQ(sub->subscriptions[1].options.qos, 1);
}

TEST(ParsedCompletely, a_meaning_error_leaves_the_whole_publish_in_value) {
  // QoS 1 with Packet Identifier 0 [MQTT-2.2.1-3].
  GuardedBuffer g(pkt(0x32, S("t/u") + H("00 00") + "pay"));
  const auto r = decode(g.bytes(), DecodeOptions{v3});
  ASSERT_EQ(to_string(r.error.code), to_string(Errc::protocol_error));
  EXPECT_TRUE(parsed_completely(r.error));
  const auto* pub = std::get_if<PublishView>(&r.value);
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->topic, "t/u");
  EXPECT_EQ(pub->qos, 1);
  EXPECT_EQ(pub->payload, "pay");
}

TEST(ParsedCompletely, not_after_a_syntax_error_a_size_error_or_an_unknown_version) {
  auto error_of = [](const std::string& packet, Version v, std::uint32_t max = kMaxPacketSize) {
    GuardedBuffer g(packet);
    return decode(g.bytes(), DecodeOptions{v, max}).error;
  };
  const auto malformed = error_of(pkt(0x82, H("00 01") + S("a") + H("04")), v3);  // reserved option bits
  EXPECT_EQ(to_string(malformed.code), to_string(Errc::malformed_packet));
  EXPECT_FALSE(parsed_completely(malformed));
  const auto level_6 = error_of(pkt(0x10, S("MQTT") + H("06 02 00 3c") + S("id")), v5);
  EXPECT_EQ(to_string(level_6.code), to_string(Errc::unsupported_protocol_version));
  EXPECT_FALSE(parsed_completely(level_6));
  const auto too_large = error_of(pkt(0x30, S("t") + "payload"), v3, 5);
  EXPECT_EQ(to_string(too_large.code), to_string(Errc::packet_too_large));
  EXPECT_FALSE(parsed_completely(too_large));
  EXPECT_TRUE(parsed_completely(error_of(H("c0 00"), v3)));  // decoded: nothing went wrong
}

}  // namespace
}  // namespace mqtt::test
