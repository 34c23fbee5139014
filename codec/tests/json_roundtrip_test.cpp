// JSON -> bytes: encode_json against bytes laid out by hand from the spec, the lossless
// round trip bytes -> JSON text -> bytes over every packet type and both versions
// (including the non-canonical 5.0 forms), and the errors of packet_from_json, which must
// name the offending key.
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

std::string encoded_hex(std::string_view json, Version version) {
  auto result = mqtt::encode_json(Json::parse(json), version);
  EXPECT_TRUE(result.ok()) << json << ": " << (result.error ? result.error->path + " " + result.error->message : "");
  return mqtt::to_hex(result.value);
}

std::string compact(std::string_view hex) { return mqtt::to_hex(bytes_of(hex)); }

// JSON -> bytes, expected bytes from the spec's layouts -----------------------------------

TEST(JsonEncode, v311_publish_qos1_3_3) {
  EXPECT_EQ(encoded_hex(R"({"type":"PUBLISH","qos":1,"topic":"a/b","packet_id":10,"payload_hex":"6869"})",
                        Version::v3_1_1),
            compact("32 09 0003 612f62 000a 6869"));
}

TEST(JsonEncode, text_payload_is_accepted_as_an_alternative_to_payload_hex) {
  EXPECT_EQ(encoded_hex(R"({"type":"PUBLISH","topic":"t","payload":"x"})", Version::v3_1_1),
            compact("30 04 0001 74 78"));
}

TEST(JsonEncode, v5_properties_are_encoded_in_key_order_2_2_2) {
  EXPECT_EQ(encoded_hex(R"({"type":"PUBLISH","retain":true,"topic":"t",
      "properties":{"message_expiry_interval":60,"content_type":"json",
                    "user_property":[["k","v"]],"correlation_data":"abcd"},"payload_hex":"78"})",
                        Version::v5),
            compact("31 1d 0001 74 18 02 0000003c 03 0004 6a736f6e 26 0001 6b 0001 76 09 0002 abcd 78"));
}

TEST(JsonEncode, property_order_interleaves_repeated_properties) {
  EXPECT_EQ(encoded_hex(R"({"type":"PUBLISH","topic":"t",
      "properties":{"user_property":[["a","1"],["b","2"]],"content_type":"t"},
      "property_order":["user_property","content_type","user_property"]})",
                        Version::v5),
            compact("30 16 0001 74 12 26 0001 61 0001 31 03 0001 74 26 0001 62 0001 32"));
}

TEST(JsonEncode, v311_connect_with_will_and_credentials_3_1) {
  EXPECT_EQ(encoded_hex(R"({"type":"CONNECT","protocol_version":4,"clean_start":true,"keep_alive":60,
      "client_id":"c1","will":{"topic":"w","payload_hex":"627965","qos":1,"retain":true},
      "username":"u","password_hex":"70"})",
                        Version::v5),  // the CONNECT's protocol_version wins
            compact("10 1c 0004 4d515454 04 ee 003c 0002 6331 0001 77 0003 627965 0001 75 0001 70"));
}

TEST(JsonEncode, v5_puback_canonical_short_form_3_4_2_1) {
  EXPECT_EQ(encoded_hex(R"({"type":"PUBACK","packet_id":1})", Version::v5), compact("40 02 0001"));
  EXPECT_EQ(encoded_hex(R"({"type":"PUBACK","packet_id":1,"reason_code":0})", Version::v5), compact("40 02 0001"));
}

TEST(JsonEncode, remaining_length_selects_the_long_forms_3_4_2_1) {
  EXPECT_EQ(encoded_hex(R"({"type":"PUBACK","packet_id":1,"reason_code":0,"remaining_length":3})", Version::v5),
            compact("40 03 0001 00"));
  EXPECT_EQ(encoded_hex(R"({"type":"PUBCOMP","packet_id":1,"remaining_length":4})", Version::v5),
            compact("70 04 0001 00 00"));
  EXPECT_EQ(encoded_hex(R"({"type":"DISCONNECT","remaining_length":2})", Version::v5), compact("e0 02 00 00"));
}

TEST(JsonEncode, reason_name_alone_sets_the_reason_code) {
  const auto hex = encoded_hex(R"({"type":"DISCONNECT","reason":"session_taken_over"})", Version::v5);
  const std::string wire = bytes_of(hex);
  mqtt::DecodeOptions options;
  auto decoded = mqtt::decode(span_of(wire), options);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<mqtt::DisconnectView>(decoded.value).reason_code, 0x8E);
}

TEST(JsonEncode, v5_subscribe_options_byte_3_8_3_1) {
  EXPECT_EQ(encoded_hex(R"({"type":"SUBSCRIBE","packet_id":2,"properties":{"subscription_identifier":[5]},
      "subscriptions":[{"filter":"a/#","qos":1,"no_local":true,"retain_as_published":true,"retain_handling":2},
                       {"filter":"b"}]})",
                        Version::v5),
            compact("82 0f 0002 02 0b 05 0003 612f23 2d 0001 62 00"));
}

// Round trip: bytes -> JSON text -> bytes ------------------------------------------------

struct Vector {
  const char* name;
  Version version;
  const char* hex;
};

const Vector kVectors[] = {
    {"connect_v311_full", Version::v3_1_1, "10 1c 0004 4d515454 04 ee 003c 0002 6331 0001 77 0003 627965 0001 75 0001 70"},
    {"connect_v311_minimal", Version::v3_1_1, "10 0c 0004 4d515454 04 02 0000 0000"},
    {"connect_v31_mqisdp", Version::v3_1_1, "10 10 0006 4d5149736470 03 02 003c 0002 6331"},
    {"connect_v5_props_will", Version::v5, "10 21 0004 4d515454 05 06 001e 08 11 00000e10 21 000a 0001 78 05 18 00000005 0001 77 0000"},
    {"connect_v5_password_without_username", Version::v5, "10 12 0004 4d515454 05 42 0000 00 0000 0003 736563"},
    {"connack_v311", Version::v3_1_1, "20 02 01 00"},
    {"connack_v5_props", Version::v5, "20 0b 00 00 08 22 000a 12 0002 6964"},
    {"publish_v311_qos0", Version::v3_1_1, "30 04 0001 74 78"},
    {"publish_v311_qos2_dup", Version::v3_1_1, "3c 07 0001 74 1234 6869"},
    {"publish_v5_props", Version::v5, "31 1d 0001 74 18 02 0000003c 03 0004 6a736f6e 26 0001 6b 0001 76 09 0002 abcd 78"},
    {"publish_v5_interleaved_user_props", Version::v5, "30 16 0001 74 12 26 0001 61 0001 31 03 0001 74 26 0001 62 0001 32"},
    {"publish_v5_two_subscription_ids", Version::v5, "30 09 0001 74 04 0b 01 0b 02 78"},
    {"publish_v5_topic_alias_empty_topic", Version::v5, "30 07 0000 03 23 0001 78"},
    {"publish_v5_utf8_topic", Version::v5, "30 08 0005 c3a9e282ac 00"},
    {"puback_v311", Version::v3_1_1, "40 02 0007"},
    {"puback_v5_short", Version::v5, "40 02 0001"},
    {"puback_v5_rc0_long", Version::v5, "40 03 0001 00"},
    {"puback_v5_rc0_proplen", Version::v5, "40 04 0001 00 00"},
    {"puback_v5_rc_only", Version::v5, "40 03 0001 10"},
    {"puback_v5_rc_proplen0", Version::v5, "40 04 0001 10 00"},
    {"puback_v5_reason_string", Version::v5, "40 08 0001 10 04 1f 0001 78"},
    {"pubrec_v5", Version::v5, "50 02 0001"},
    {"pubrel_v5_not_found", Version::v5, "62 03 0001 92"},
    {"pubrel_v311", Version::v3_1_1, "62 02 0001"},
    {"pubcomp_v5_long", Version::v5, "70 04 0001 00 00"},
    {"subscribe_v311", Version::v3_1_1, "82 08 0002 0003 612f23 01"},
    {"subscribe_v5", Version::v5, "82 0f 0002 02 0b 05 0003 612f23 2d 0001 62 00"},
    {"suback_v311", Version::v3_1_1, "90 04 0002 01 80"},
    {"suback_v5", Version::v5, "90 05 0002 00 01 80"},
    {"unsubscribe_v311", Version::v3_1_1, "a2 05 0003 0001 74"},
    {"unsubscribe_v5", Version::v5, "a2 0a 0003 00 0001 74 0002 612f"},
    {"unsuback_v311", Version::v3_1_1, "b0 02 0003"},
    {"unsuback_v5", Version::v5, "b0 04 0003 00 11"},
    {"pingreq", Version::v5, "c0 00"},
    {"pingresp", Version::v3_1_1, "d0 00"},
    {"disconnect_v311", Version::v3_1_1, "e0 00"},
    {"disconnect_v5_short", Version::v5, "e0 00"},
    {"disconnect_v5_rc0", Version::v5, "e0 01 00"},
    {"disconnect_v5_rc0_proplen", Version::v5, "e0 02 00 00"},
    {"disconnect_v5_rc", Version::v5, "e0 01 8e"},
    {"disconnect_v5_session_expiry", Version::v5, "e0 07 00 05 11 00000000"},
    {"auth_v5_short", Version::v5, "f0 00"},
    {"auth_v5", Version::v5, "f0 0e 18 0c 15 0005 534352414d 16 0001 ff"},
};

class JsonRoundTrip : public ::testing::TestWithParam<Vector> {};

TEST_P(JsonRoundTrip, decode_then_encode_reproduces_the_bytes) {
  const Vector& v = GetParam();
  const std::string wire = bytes_of(v.hex);
  mqtt::DecodeOptions options;
  options.version = v.version;
  auto decoded = mqtt::decode(span_of(wire), options);
  ASSERT_TRUE(decoded.ok()) << decoded.error.message << " " << decoded.error.spec << " @" << decoded.error.offset;
  // Through text, as `decode | encode` does.
  const std::string text = mqtt::to_json(decoded.value, v.version, span_of(wire)).dump();
  auto again = mqtt::encode_json(Json::parse(text), v.version);
  ASSERT_TRUE(again.ok()) << text << ": " << again.error->path << " " << again.error->message;
  EXPECT_EQ(mqtt::to_hex(again.value), mqtt::to_hex(wire)) << text;
}

TEST_P(JsonRoundTrip, packet_from_json_equals_the_decoded_packet) {
  const Vector& v = GetParam();
  const std::string wire = bytes_of(v.hex);
  mqtt::DecodeOptions options;
  options.version = v.version;
  auto decoded = mqtt::decode(span_of(wire), options);
  ASSERT_TRUE(decoded.ok());
  auto built = mqtt::packet_from_json(mqtt::to_json(decoded.value, v.version), v.version);
  ASSERT_TRUE(built.ok()) << built.error->path << " " << built.error->message;
  EXPECT_EQ(built.value, mqtt::to_owned(decoded.value));
}

INSTANTIATE_TEST_SUITE_P(Vectors, JsonRoundTrip, ::testing::ValuesIn(kVectors),
                         [](const auto& row) { return std::string(row.param.name); });

// Every packet the codec accepts round-trips, not only the hand-made ones: mutate the
// vectors (fixed seed) and check each mutant that decodes.
TEST(JsonRoundTripMutants, every_accepted_mutant_of_the_vectors_round_trips_exactly) {
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state] {  // xorshift64*
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1Dull;
  };
  std::size_t accepted = 0;
  for (const Vector& v : kVectors) {
    const std::string original = bytes_of(v.hex);
    for (int i = 0; i < 800; ++i) {
      std::string wire = original;
      const int mutations = 1 + static_cast<int>(next() % 2);
      for (int m = 0; m < mutations; ++m) {
        const std::size_t at = 2 + next() % (wire.size() > 2 ? wire.size() - 2 : 1);  // keep the fixed header
        if (at >= wire.size()) continue;
        if (next() % 2)
          wire[at] = static_cast<char>(wire[at] ^ (1 << (next() % 8)));
        else
          wire[at] = static_cast<char>(next() & 0xFF);
      }
      for (const Version version : {v.version, Version::v3_1_1, Version::v5}) {
        mqtt::DecodeOptions options;
        options.version = version;
        auto decoded = mqtt::decode(span_of(wire), options);
        if (!decoded.ok()) continue;
        ++accepted;
        const std::string text = mqtt::to_json(decoded.value, version, span_of(wire)).dump();
        auto again = mqtt::encode_json(Json::parse(text), version);
        ASSERT_TRUE(again.ok()) << mqtt::to_hex(wire) << " " << text << ": " << again.error->path << " "
                                << again.error->message;
        ASSERT_EQ(mqtt::to_hex(again.value), mqtt::to_hex(wire)) << text;
      }
    }
  }
  EXPECT_GT(accepted, 10000u) << "only " << accepted << " mutants decoded";  // not vacuous
}

// packet_from_json errors name the key ----------------------------------------------------

struct BadJson {
  const char* name;
  Version version;
  const char* json;
  const char* path;
};

const BadJson kBad[] = {
    {"not_an_object", Version::v5, R"([1,2])", ""},
    {"missing_type", Version::v5, R"({"topic":"t"})", "/type"},
    {"unknown_type", Version::v5, R"({"type":"PUBLISHX"})", "/type"},
    {"unknown_key", Version::v5, R"({"type":"PINGREQ","bogus":1})", "/bogus"},
    {"qos_out_of_range", Version::v5, R"({"type":"PUBLISH","topic":"t","qos":4})", "/qos"},
    {"qos_wrong_type", Version::v5, R"({"type":"PUBLISH","topic":"t","qos":"1"})", "/qos"},
    {"negative_packet_id", Version::v5, R"({"type":"PUBACK","packet_id":-1})", "/packet_id"},
    {"qos1_without_packet_id", Version::v5, R"({"type":"PUBLISH","topic":"t","qos":1})", "/packet_id"},
    {"qos0_with_packet_id", Version::v5, R"({"type":"PUBLISH","topic":"t","packet_id":1})", "/packet_id"},
    {"bad_payload_hex", Version::v5, R"({"type":"PUBLISH","topic":"t","payload_hex":"zz"})", "/payload_hex"},
    {"payload_and_payload_hex", Version::v5, R"({"type":"PUBLISH","topic":"t","payload":"a","payload_hex":"61"})", "/payload"},
    {"reason_code_in_v311_ack", Version::v3_1_1, R"({"type":"PUBACK","packet_id":1,"reason_code":0})", "/reason_code"},
    {"properties_in_v311", Version::v3_1_1, R"({"type":"PUBLISH","topic":"t","properties":{}})", "/properties"},
    {"unknown_property", Version::v5, R"({"type":"PUBLISH","topic":"t","properties":{"colour":1}})", "/properties/colour"},
    {"property_out_of_range", Version::v5, R"({"type":"PUBLISH","topic":"t","properties":{"topic_alias":65536}})", "/properties/topic_alias"},
    {"user_property_not_a_pair", Version::v5, R"({"type":"PUBLISH","topic":"t","properties":{"user_property":[["a"]]}})", "/properties/user_property/0"},
    {"binary_property_not_hex", Version::v5, R"({"type":"PUBLISH","topic":"t","properties":{"correlation_data":"xy"}})", "/properties/correlation_data"},
    {"property_order_unknown_name", Version::v5, R"({"type":"PUBLISH","topic":"t","properties":{"content_type":"a"},"property_order":["content_type","topic_alias"]})", "/property_order/1"},
    {"property_order_incomplete", Version::v5, R"({"type":"PUBLISH","topic":"t","properties":{"content_type":"a","topic_alias":1},"property_order":["content_type"]})", "/property_order"},
    {"subscription_qos_wrong_type", Version::v5, R"({"type":"SUBSCRIBE","packet_id":1,"subscriptions":[{"filter":"a"},{"filter":"b","qos":"1"}]})", "/subscriptions/1/qos"},
    {"subscription_without_filter", Version::v5, R"({"type":"SUBSCRIBE","packet_id":1,"subscriptions":[{"qos":1}]})", "/subscriptions/0/filter"},
    {"no_local_in_v311", Version::v3_1_1, R"({"type":"SUBSCRIBE","packet_id":1,"subscriptions":[{"filter":"a","no_local":true}]})", "/subscriptions/0/no_local"},
    {"subscribe_without_subscriptions", Version::v5, R"({"type":"SUBSCRIBE","packet_id":1})", "/subscriptions"},
    {"filters_not_strings", Version::v5, R"({"type":"UNSUBSCRIBE","packet_id":1,"filters":[1]})", "/filters/0"},
    {"reason_codes_out_of_range", Version::v5, R"({"type":"SUBACK","packet_id":1,"reason_codes":[0,256]})", "/reason_codes/1"},
    {"reasons_disagree", Version::v5, R"({"type":"SUBACK","packet_id":1,"reason_codes":[0],"reasons":["granted_qos2"]})", "/reasons/0"},
    {"reason_disagrees", Version::v5, R"({"type":"PUBACK","packet_id":1,"reason_code":16,"reason":"success"})", "/reason"},
    {"reason_unknown", Version::v5, R"({"type":"PUBACK","packet_id":1,"reason":"no_such_reason"})", "/reason"},
    {"will_topic_missing", Version::v5, R"({"type":"CONNECT","protocol_version":5,"will":{"payload_hex":""}})", "/will/topic"},
    {"will_unknown_key", Version::v5, R"({"type":"CONNECT","protocol_version":4,"will":{"topic":"w","delay":1}})", "/will/delay"},
    {"bad_protocol_version", Version::v5, R"({"type":"CONNECT","protocol_version":"6.0"})", "/protocol_version"},
    {"auth_in_v311", Version::v3_1_1, R"({"type":"AUTH"})", "/type"},
    {"clean_start_not_bool", Version::v5, R"({"type":"CONNECT","protocol_version":5,"clean_start":1})", "/clean_start"},
};

class JsonBad : public ::testing::TestWithParam<BadJson> {};

TEST_P(JsonBad, packet_from_json_names_the_offending_path) {
  const BadJson& b = GetParam();
  auto result = mqtt::packet_from_json(Json::parse(b.json), b.version);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->path, b.path) << result.error->message;
  EXPECT_FALSE(result.error->message.empty());
}

INSTANTIATE_TEST_SUITE_P(Cases, JsonBad, ::testing::ValuesIn(kBad),
                         [](const auto& row) { return std::string(row.param.name); });

struct BadRemainingLength {
  const char* name;
  const char* json;
};

const BadRemainingLength kBadRemainingLength[] = {
    {"out_of_range_for_ack", R"({"type":"PUBACK","packet_id":1,"remaining_length":5})"},
    {"omits_nonzero_reason_code", R"({"type":"PUBACK","packet_id":1,"reason_code":16,"remaining_length":2})"},
    {"with_properties", R"({"type":"PUBACK","packet_id":1,"properties":{"reason_string":"x"},"remaining_length":3})"},
    {"on_a_publish", R"({"type":"PUBLISH","topic":"t","remaining_length":9})"},
    {"not_a_number", R"({"type":"DISCONNECT","remaining_length":"1"})"},
};

class JsonBadRemainingLength : public ::testing::TestWithParam<BadRemainingLength> {};

TEST_P(JsonBadRemainingLength, encode_json_rejects_an_impossible_remaining_length) {
  auto result = mqtt::encode_json(Json::parse(GetParam().json), Version::v5);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->path, "/remaining_length") << result.error->message;
}

INSTANTIATE_TEST_SUITE_P(Cases, JsonBadRemainingLength, ::testing::ValuesIn(kBadRemainingLength),
                         [](const auto& row) { return std::string(row.param.name); });

TEST(JsonConnectVersion, connect_version_reads_the_protocol_level) {
  EXPECT_EQ(mqtt::connect_version(Json::parse(R"({"type":"CONNECT","protocol_version":4})")), Version::v3_1_1);
  EXPECT_EQ(mqtt::connect_version(Json::parse(R"({"type":"CONNECT","protocol_version":"5"})")), Version::v5);
  EXPECT_FALSE(mqtt::connect_version(Json::parse(R"({"type":"PUBLISH"})")).has_value());
}

}  // namespace
