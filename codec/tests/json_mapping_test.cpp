// The decode JSON mapping (docs/decode-json.md; docs/architecture.md "Decode JSON").
// Every input below is assembled by hand from the packet layouts of the MQTT 3.1.1 and 5.0
// specifications (section cited per test); the expected JSON is written from the same
// layouts, not from the code's output.
#include <gtest/gtest.h>

#include "mqtt/json.hpp"

namespace {

using mqtt::Json;
using mqtt::Version;

std::string bytes_of(std::string_view hex) {
  auto bytes = mqtt::parse_hex(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or("");
}

mqtt::Bytes span_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Decodes one packet (must succeed) and returns its JSON.
Json decoded(std::string_view hex, Version version) {
  static std::string keep;  // the JSON is copied out, but keep the bytes alive during to_json
  keep = bytes_of(hex);
  mqtt::DecodeOptions options;
  options.version = version;
  auto result = mqtt::decode(span_of(keep), options);
  EXPECT_TRUE(result.ok()) << hex << ": " << result.error.message << " " << result.error.spec;
  if (!result.ok()) return Json();
  return mqtt::to_json(result.value, version, span_of(keep));
}

Json parse(std::string_view text) { return Json::parse(text); }

// PUBLISH (3.3) -------------------------------------------------------------------------

TEST(JsonPublish, v311_qos1_has_packet_id_and_hex_payload_3_3_2) {
  // 0x32: PUBLISH, QoS 1; topic "a/b"; packet id 10; payload "hi".
  EXPECT_EQ(decoded("32 09 0003 612f62 000a 6869", Version::v3_1_1),
            parse(R"({"type":"PUBLISH","dup":false,"qos":1,"retain":false,"topic":"a/b",
                      "packet_id":10,"payload_hex":"6869"})"));
}

TEST(JsonPublish, qos0_has_no_packet_id_key_3_3_2_2) {
  // 0x31: PUBLISH, QoS 0, RETAIN; topic "t"; payload "x".
  const Json j = decoded("31 04 0001 74 78", Version::v3_1_1);
  EXPECT_FALSE(j.contains("packet_id"));
  EXPECT_EQ(j.at("retain"), true);
  EXPECT_EQ(j.at("payload_hex"), "78");
}

TEST(JsonPublish, v5_properties_are_keyed_by_name_in_wire_order_2_2_2_2) {
  // Retained QoS 0 PUBLISH "t" with message_expiry_interval 60 (0x02, four byte),
  // content_type "json" (0x03), user_property k=v (0x26), correlation_data ab cd (0x09).
  const Json j = decoded(
      "31 1d 0001 74 18"
      " 02 0000003c"
      " 03 0004 6a736f6e"
      " 26 0001 6b 0001 76"
      " 09 0002 abcd"
      " 78",
      Version::v5);
  EXPECT_EQ(j, parse(R"({"type":"PUBLISH","dup":false,"qos":0,"retain":true,"topic":"t",
      "properties":{"message_expiry_interval":60,"content_type":"json",
                    "user_property":[["k","v"]],"correlation_data":"abcd"},
      "payload_hex":"78"})"));
  // Key order is wire order.
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.at("properties").items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"message_expiry_interval", "content_type", "user_property",
                                            "correlation_data"}));
}

TEST(JsonPublish, interleaved_user_properties_record_the_wire_order_3_3_2_3_7) {
  // user_property a=1, content_type "t", user_property b=2: the order of user properties
  // relative to other properties is part of the wire bytes.
  const Json j = decoded("30 16 0001 74 12 26 0001 61 0001 31 03 0001 74 26 0001 62 0001 32", Version::v5);
  EXPECT_EQ(j.at("properties"), parse(R"({"user_property":[["a","1"],["b","2"]],"content_type":"t"})"));
  EXPECT_EQ(j.at("property_order"), parse(R"(["user_property","content_type","user_property"])"));
}

TEST(JsonPublish, grouped_user_properties_have_no_property_order) {
  const Json j = decoded("30 16 0001 74 12 26 0001 61 0001 31 26 0001 62 0001 32 03 0001 74", Version::v5);
  EXPECT_FALSE(j.contains("property_order"));
}

// CONNECT (3.1) -------------------------------------------------------------------------

TEST(JsonConnect, v311_with_will_username_password_3_1_2) {
  // Flags 0xEE: username, password, will retain, will QoS 1, will, clean session.
  EXPECT_EQ(decoded("10 1c 0004 4d515454 04 ee 003c 0002 6331 0001 77 0003 627965 0001 75 0001 70",
                    Version::v3_1_1),
            parse(R"({"type":"CONNECT","protocol_name":"MQTT","protocol_version":4,"clean_start":true,
                      "keep_alive":60,"client_id":"c1",
                      "will":{"topic":"w","payload_hex":"627965","qos":1,"retain":true},
                      "username":"u","password_hex":"70"})"));
}

TEST(JsonConnect, v5_with_properties_and_will_properties_3_1_2_11_and_3_1_3_2) {
  // session_expiry_interval 3600 (0x11), receive_maximum 10 (0x21); will_delay_interval 5 (0x18).
  EXPECT_EQ(decoded("10 21 0004 4d515454 05 06 001e 08 11 00000e10 21 000a 0001 78 05 18 00000005 0001 77 0000",
                    Version::v3_1_1),  // a CONNECT carries its own version
            parse(R"({"type":"CONNECT","protocol_name":"MQTT","protocol_version":5,"clean_start":true,
                      "keep_alive":30,"properties":{"session_expiry_interval":3600,"receive_maximum":10},
                      "client_id":"x",
                      "will":{"topic":"w","payload_hex":"","qos":0,"retain":false,
                              "properties":{"will_delay_interval":5}}})"));
}

// CONNACK (3.2) -------------------------------------------------------------------------

TEST(JsonConnack, v5_reason_code_with_name_3_2_2_2) {
  EXPECT_EQ(decoded("20 03 00 95 00", Version::v5),
            parse(R"({"type":"CONNACK","session_present":false,"reason_code":149,
                      "reason":"packet_too_large","properties":{}})"));
}

TEST(JsonConnack, v311_return_code_is_reason_code_without_properties_3_2_2_3) {
  const Json j = decoded("20 02 01 00", Version::v3_1_1);
  EXPECT_EQ(j.at("session_present"), true);
  EXPECT_EQ(j.at("reason_code"), 0);
  EXPECT_FALSE(j.contains("properties"));
}

// Acks (3.4 - 3.7) ----------------------------------------------------------------------

TEST(JsonAck, v311_puback_is_packet_id_only_3_4_2) {
  EXPECT_EQ(decoded("40 02 0007", Version::v3_1_1), parse(R"({"type":"PUBACK","packet_id":7})"));
}

TEST(JsonAck, v5_short_form_shows_reason_code_0_and_no_remaining_length_3_4_2_1) {
  EXPECT_EQ(decoded("40 02 0001", Version::v5),
            parse(R"({"type":"PUBACK","packet_id":1,"reason_code":0,"reason":"success","properties":{}})"));
  EXPECT_EQ(decoded("62 02 0001", Version::v5).at("type"), "PUBREL");
}

TEST(JsonAck, v5_long_forms_of_success_keep_their_remaining_length_3_4_2_1) {
  // Reason code 0x00 written out (remaining length 3), and with property length 0 (4).
  Json three = decoded("40 03 0001 00", Version::v5);
  EXPECT_EQ(three.at("reason_code"), 0);
  EXPECT_EQ(three.at("remaining_length"), 3);
  Json four = decoded("50 04 0001 00 00", Version::v5);
  EXPECT_EQ(four.at("type"), "PUBREC");
  EXPECT_EQ(four.at("remaining_length"), 4);
}

TEST(JsonAck, v5_reason_code_names_follow_the_packet_type_3_4_2_1) {
  EXPECT_EQ(decoded("40 03 0001 10", Version::v5).at("reason"), "no_matching_subscribers");
  EXPECT_EQ(decoded("70 03 0001 92", Version::v5).at("reason"), "packet_identifier_not_found");
}

// SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK (3.8 - 3.11) -------------------------------

TEST(JsonSubscribe, v5_subscription_options_and_subscription_identifier_3_8_3_1) {
  // Options 0x2d: QoS 1, No Local, Retain As Published, Retain Handling 2.
  EXPECT_EQ(decoded("82 0f 0002 02 0b 05 0003 612f23 2d 0001 62 00", Version::v5),
            parse(R"({"type":"SUBSCRIBE","packet_id":2,"properties":{"subscription_identifier":[5]},
                      "subscriptions":[
                        {"filter":"a/#","qos":1,"no_local":true,"retain_as_published":true,"retain_handling":2},
                        {"filter":"b","qos":0,"no_local":false,"retain_as_published":false,"retain_handling":0}]})"));
}

TEST(JsonSubscribe, v311_subscription_has_filter_and_qos_only_3_8_3) {
  EXPECT_EQ(decoded("82 08 0002 0003 612f23 01", Version::v3_1_1),
            parse(R"({"type":"SUBSCRIBE","packet_id":2,"subscriptions":[{"filter":"a/#","qos":1}]})"));
}

TEST(JsonSuback, v5_reason_codes_with_names_3_9_3) {
  EXPECT_EQ(decoded("90 05 0002 00 01 80", Version::v5),
            parse(R"({"type":"SUBACK","packet_id":2,"properties":{},"reason_codes":[1,128],
                      "reasons":["granted_qos1","unspecified_error"]})"));
}

TEST(JsonSuback, v311_return_codes_3_9_3) {
  const Json j = decoded("90 04 0002 01 80", Version::v3_1_1);
  EXPECT_EQ(j.at("reason_codes"), parse("[1,128]"));
  EXPECT_FALSE(j.contains("properties"));
}

TEST(JsonUnsubscribe, v311_filters_3_10_3) {
  EXPECT_EQ(decoded("a2 05 0003 0001 74", Version::v3_1_1),
            parse(R"({"type":"UNSUBSCRIBE","packet_id":3,"filters":["t"]})"));
}

TEST(JsonUnsuback, v311_has_no_reason_codes_3_11_2) {
  EXPECT_EQ(decoded("b0 02 0003", Version::v3_1_1), parse(R"({"type":"UNSUBACK","packet_id":3})"));
}

TEST(JsonUnsuback, v5_reason_codes_3_11_3) {
  EXPECT_EQ(decoded("b0 04 0003 00 11", Version::v5),
            parse(R"({"type":"UNSUBACK","packet_id":3,"properties":{},"reason_codes":[17],
                      "reasons":["no_subscription_existed"]})"));
}

// PINGREQ, PINGRESP, DISCONNECT, AUTH (3.12 - 3.15) --------------------------------------

TEST(JsonOther, ping_is_type_only_3_12) {
  EXPECT_EQ(decoded("c0 00", Version::v5), parse(R"({"type":"PINGREQ"})"));
  EXPECT_EQ(decoded("d0 00", Version::v3_1_1), parse(R"({"type":"PINGRESP"})"));
}

TEST(JsonOther, v311_disconnect_is_type_only_3_14) {
  EXPECT_EQ(decoded("e0 00", Version::v3_1_1), parse(R"({"type":"DISCONNECT"})"));
}

TEST(JsonOther, v5_disconnect_short_and_long_forms_3_14_2_1) {
  EXPECT_EQ(decoded("e0 00", Version::v5),
            parse(R"({"type":"DISCONNECT","reason_code":0,"reason":"normal_disconnection","properties":{}})"));
  EXPECT_EQ(decoded("e0 01 00", Version::v5).at("remaining_length"), 1);
  EXPECT_EQ(decoded("e0 02 00 00", Version::v5).at("remaining_length"), 2);
  EXPECT_EQ(decoded("e0 01 8e", Version::v5).at("reason"), "session_taken_over");
}

TEST(JsonOther, v5_auth_binary_property_is_hex_3_15_2_2) {
  // Continue authentication (0x18), authentication_method "SCRAM", authentication_data ff.
  EXPECT_EQ(decoded("f0 0e 18 0c 15 0005 534352414d 16 0001 ff", Version::v5),
            parse(R"({"type":"AUTH","reason_code":24,"reason":"continue_authentication",
                      "properties":{"authentication_method":"SCRAM","authentication_data":"ff"}})"));
}

// Errors --------------------------------------------------------------------------------

TEST(JsonError, malformed_packet_reports_code_spec_and_offset_MQTT_3_3_1_4) {
  // QoS bits 11 in a PUBLISH.
  const std::string wire = bytes_of("36 05 0001 74 0001");
  mqtt::DecodeOptions options;
  options.version = Version::v5;
  const Json j = mqtt::decode_to_json(span_of(wire), options);
  EXPECT_EQ(j.at("code"), "malformed_packet");
  EXPECT_EQ(j.at("spec"), "MQTT-3.3.1-4");
  EXPECT_EQ(j.at("offset"), 0);
  EXPECT_TRUE(j.at("error").is_string());
}

TEST(JsonError, base_offset_is_added_to_the_packet_offset) {
  mqtt::Error e{mqtt::Errc::protocol_error, 3, "MQTT-3.3.2-2", "topic"};
  const Json j = mqtt::to_json(e, 100);
  EXPECT_EQ(j.at("offset"), 103);
  EXPECT_EQ(j.at("spec"), "MQTT-3.3.2-2");
  EXPECT_EQ(j.at("error"), "topic");
}

TEST(JsonError, missing_spec_is_null) {
  mqtt::Error e{mqtt::Errc::malformed_packet, 1, "", "bad"};
  EXPECT_TRUE(mqtt::to_json(e).at("spec").is_null());
}

}  // namespace
