// MQTT 5 properties (2.2.2.2): table, placement, duplicates, values, iteration.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace mqtt::test {
namespace {

std::string H(std::string_view hex) { return from_hex(hex); }
std::string S(std::string_view s) {
  std::string out;
  out.push_back(static_cast<char>(s.size() >> 8));
  out.push_back(static_cast<char>(s.size() & 0xFF));
  out.append(s);
  return out;
}
std::string pkt(std::uint8_t first, const std::string& body) {
  std::string out(1, static_cast<char>(first));
  std::uint8_t len[4];
  const std::size_t n = encode_varint(static_cast<std::uint32_t>(body.size()), len);
  out.append(reinterpret_cast<const char*>(len), n);
  return out + body;
}
std::string props(const std::string& raw) { return std::string(1, static_cast<char>(raw.size())) + raw; }
// QoS 0 PUBLISH to "t" with these properties: the property block starts at offset 5,
// the first property identifier at offset 6.
std::string publish_with(const std::string& raw) { return pkt(0x30, S("t") + props(raw) + "x"); }
// PUBACK id 1 reason 0 with these properties: first identifier at offset 6.
std::string puback_with(const std::string& raw) { return pkt(0x40, H("00 01 00") + props(raw)); }

void expect_error(const std::string& packet, Errc code, std::uint32_t offset, std::string_view spec) {
  GuardedBuffer g(packet);
  auto r = decode(g.bytes(), DecodeOptions{Version::v5});
  EXPECT_EQ(to_string(r.error.code), to_string(code)) << r.error.message;
  EXPECT_EQ(r.error.offset, offset) << r.error.message;
  EXPECT_EQ(r.error.spec, spec) << r.error.message;
}
// The result points into `packet`: keep it alive while using the result.
Result<PacketView> ok(const std::string& packet) {
  auto r = decode(packet, DecodeOptions{Version::v5});
  EXPECT_TRUE(r.ok()) << to_string(r.error.code) << " at " << r.error.offset << ": " << r.error.message;
  return r;
}

// Table 2-4 of the 5.0 spec, re-typed here as an independent check.
struct Row {
  std::uint8_t id;
  const char* name;
  PropertyType type;
};
const Row kSpecTable[] = {
    {0x01, "payload_format_indicator", PropertyType::byte},
    {0x02, "message_expiry_interval", PropertyType::four_byte},
    {0x03, "content_type", PropertyType::utf8},
    {0x08, "response_topic", PropertyType::utf8},
    {0x09, "correlation_data", PropertyType::binary},
    {0x0B, "subscription_identifier", PropertyType::varint},
    {0x11, "session_expiry_interval", PropertyType::four_byte},
    {0x12, "assigned_client_identifier", PropertyType::utf8},
    {0x13, "server_keep_alive", PropertyType::two_byte},
    {0x15, "authentication_method", PropertyType::utf8},
    {0x16, "authentication_data", PropertyType::binary},
    {0x17, "request_problem_information", PropertyType::byte},
    {0x18, "will_delay_interval", PropertyType::four_byte},
    {0x19, "request_response_information", PropertyType::byte},
    {0x1A, "response_information", PropertyType::utf8},
    {0x1C, "server_reference", PropertyType::utf8},
    {0x1F, "reason_string", PropertyType::utf8},
    {0x21, "receive_maximum", PropertyType::two_byte},
    {0x22, "topic_alias_maximum", PropertyType::two_byte},
    {0x23, "topic_alias", PropertyType::two_byte},
    {0x24, "maximum_qos", PropertyType::byte},
    {0x25, "retain_available", PropertyType::byte},
    {0x26, "user_property", PropertyType::utf8_pair},
    {0x27, "maximum_packet_size", PropertyType::four_byte},
    {0x28, "wildcard_subscription_available", PropertyType::byte},
    {0x29, "subscription_identifier_available", PropertyType::byte},
    {0x2A, "shared_subscription_available", PropertyType::byte},
};

TEST(PropertyTable, every_spec_property_has_its_type_and_snake_case_name) {
  int known = 0;
  for (unsigned id = 0; id < 256; ++id)
    if (property_type(static_cast<std::uint8_t>(id))) ++known;
  EXPECT_EQ(known, 27);
  for (const auto& row : kSpecTable) {
    ASSERT_TRUE(property_type(row.id)) << row.name;
    EXPECT_EQ(*property_type(row.id), row.type) << row.name;
    EXPECT_EQ(property_name(static_cast<PropertyId>(row.id)), row.name);
    EXPECT_EQ(parse_property_name(row.name), static_cast<PropertyId>(row.id));
  }
  EXPECT_FALSE(parse_property_name("no_such_property"));
  EXPECT_FALSE(property_type(0x00));
  EXPECT_FALSE(property_type(0x2B));
}

TEST(PropertyTable, placement_follows_table_2_4) {
  using P = PacketType;
  using I = PropertyId;
  EXPECT_TRUE(property_allowed(I::payload_format_indicator, P::publish));
  EXPECT_TRUE(property_allowed(I::payload_format_indicator, P::connect, PropertyContext::will));
  EXPECT_FALSE(property_allowed(I::payload_format_indicator, P::connect));
  EXPECT_TRUE(property_allowed(I::will_delay_interval, P::connect, PropertyContext::will));
  EXPECT_FALSE(property_allowed(I::will_delay_interval, P::connect));
  EXPECT_TRUE(property_allowed(I::subscription_identifier, P::subscribe));
  EXPECT_FALSE(property_allowed(I::subscription_identifier, P::unsubscribe));
  EXPECT_TRUE(property_allowed(I::session_expiry_interval, P::disconnect));
  EXPECT_FALSE(property_allowed(I::session_expiry_interval, P::publish));
  EXPECT_TRUE(property_allowed(I::reason_string, P::auth));
  EXPECT_FALSE(property_allowed(I::reason_string, P::connect));
  EXPECT_FALSE(property_allowed(I::reason_string, P::publish));
  EXPECT_TRUE(property_allowed(I::server_reference, P::disconnect));
  EXPECT_TRUE(property_allowed(I::authentication_method, P::auth));
  EXPECT_FALSE(property_allowed(I::authentication_method, P::disconnect));
  EXPECT_TRUE(property_allowed(I::maximum_packet_size, P::connect));
  EXPECT_FALSE(property_allowed(I::topic_alias, P::connect));
  for (auto t : {P::connect, P::connack, P::publish, P::puback, P::pubrec, P::pubrel, P::pubcomp, P::subscribe,
                 P::suback, P::unsubscribe, P::unsuback, P::disconnect, P::auth})
    EXPECT_TRUE(property_allowed(I::user_property, t)) << to_string(t);
  EXPECT_FALSE(property_allowed(I::user_property, P::pingreq));
  EXPECT_TRUE(property_allowed(I::user_property, P::connect, PropertyContext::will));
}

// ---------------------------------------------------------------------------------------
TEST(PropertyErrors, unknown_property_identifier_is_malformed) {
  expect_error(publish_with(H("2b 00")), Errc::malformed_packet, 6, "");
}
TEST(PropertyErrors, property_length_beyond_remaining_length_is_malformed) {
  expect_error(pkt(0x30, S("t") + H("09 01 01")), Errc::malformed_packet, 5, "");
}
TEST(PropertyErrors, property_value_past_the_property_block_is_malformed) {
  // Block length 2 but message_expiry_interval needs 4 bytes; the payload must not be read as its value.
  expect_error(pkt(0x30, S("t") + H("02 02 00 00 00 00 3c")), Errc::malformed_packet, 8, "");
}
TEST(PropertyErrors, non_minimal_subscription_identifier_is_malformed_MQTT_1_5_5_1) {
  expect_error(publish_with(H("0b 81 00")), Errc::malformed_packet, 8, "MQTT-1.5.5-1");
}
TEST(PropertyErrors, property_not_allowed_in_publish_is_a_protocol_error) {
  expect_error(publish_with(H("11 00 00 00 0a")), Errc::protocol_error, 6, "");
}
TEST(PropertyErrors, reason_string_in_publish_is_a_protocol_error) {
  expect_error(publish_with(H("1f") + S("no")), Errc::protocol_error, 6, "");
}
TEST(PropertyErrors, duplicate_property_is_a_protocol_error) {
  expect_error(publish_with(H("02 00 00 00 01 02 00 00 00 02")), Errc::protocol_error, 11, "");
}
TEST(PropertyErrors, duplicate_reason_string_in_puback_is_a_protocol_error) {
  expect_error(puback_with(H("1f") + S("a") + H("1f") + S("b")), Errc::protocol_error, 10, "");
}
TEST(PropertyErrors, user_property_may_repeat_and_keeps_its_order) {
  const std::string packet = publish_with(H("26") + S("k") + S("1") + H("26") + S("k") + S("2"));
  auto r = ok(packet);
  const auto& p = std::get<PublishView>(r.value);
  std::vector<std::string> values;
  for (const auto& prop : p.properties) values.push_back(std::string(prop.key) + "=" + std::string(prop.value));
  EXPECT_EQ(values, (std::vector<std::string>{"k=1", "k=2"}));
}
TEST(PropertyErrors, subscription_identifier_may_repeat_in_publish) { ok(publish_with(H("0b 01 0b 02"))); }
TEST(PropertyErrors, subscription_identifier_twice_in_subscribe_is_a_protocol_error) {
  expect_error(pkt(0x82, H("00 01") + props(H("0b 01 0b 02")) + S("a") + H("00")), Errc::protocol_error, 7, "");
}
TEST(PropertyErrors, subscription_identifier_0_is_a_protocol_error) {
  expect_error(pkt(0x82, H("00 01") + props(H("0b 00")) + S("a") + H("00")), Errc::protocol_error, 6, "");
}
TEST(PropertyErrors, largest_subscription_identifier_268435455_is_accepted) {
  const std::string packet = pkt(0x82, H("00 01") + props(H("0b ff ff ff 7f")) + S("a") + H("00"));
  auto r = ok(packet);
  EXPECT_EQ(std::get<SubscribeView>(r.value).properties.find(PropertyId::subscription_identifier)->number, 268435455u);
}
TEST(PropertyErrors, topic_alias_0_is_a_protocol_error_MQTT_3_3_2_8) {
  expect_error(publish_with(H("23 00 00")), Errc::protocol_error, 7, "MQTT-3.3.2-8");
}
TEST(PropertyErrors, payload_format_indicator_2_is_a_protocol_error) {
  expect_error(publish_with(H("01 02")), Errc::protocol_error, 7, "");
}
TEST(PropertyErrors, request_problem_information_2_is_a_protocol_error) {
  expect_error(pkt(0x10, S("MQTT") + H("05 02 00 3c") + props(H("17 02")) + S("c")), Errc::protocol_error, 14, "");
}
TEST(PropertyErrors, receive_maximum_0_is_a_protocol_error) {
  expect_error(pkt(0x20, H("00 00") + props(H("21 00 00"))), Errc::protocol_error, 6, "");
}
TEST(PropertyErrors, maximum_packet_size_0_is_a_protocol_error) {
  expect_error(pkt(0x20, H("00 00") + props(H("27 00 00 00 00"))), Errc::protocol_error, 6, "");
}
TEST(PropertyErrors, maximum_qos_2_is_a_protocol_error) {
  expect_error(pkt(0x20, H("00 00") + props(H("24 02"))), Errc::protocol_error, 6, "");
}
TEST(PropertyErrors, response_topic_with_wildcard_is_a_protocol_error_MQTT_3_3_2_14) {
  expect_error(publish_with(H("08") + S("r/#")), Errc::protocol_error, 7, "MQTT-3.3.2-14");
}
TEST(PropertyErrors, content_type_not_utf8_is_malformed_MQTT_1_5_4_1) {
  expect_error(publish_with(H("03") + S("\xC0\x80")), Errc::malformed_packet, 9, "MQTT-1.5.4-1");
}
TEST(PropertyErrors, authentication_data_without_method_is_a_protocol_error) {
  expect_error(pkt(0xF0, H("18") + props(H("16") + S("d"))), Errc::protocol_error, 4, "");
}
TEST(PropertyErrors, ack_property_length_beyond_remaining_length_is_malformed) {
  expect_error(H("40 05 00 01 00 05 1f"), Errc::malformed_packet, 5, "");
}
TEST(PropertyErrors, bytes_after_ack_properties_are_malformed) {
  expect_error(H("40 05 00 01 00 00 00"), Errc::malformed_packet, 6, "");
}

// ---------------------------------------------------------------------------------------
TEST(PropertiesView, iterates_every_type_in_wire_order_and_finds_the_first) {
  const std::string raw = H("01 01") + H("02 00 00 01 00") + H("03") + S("ct") + H("09") + S("\x01\x02") +
                          H("0b 80 01") + H("23 00 07") + H("26") + S("k") + S("v");
  const std::string packet = publish_with(raw);
  auto r = ok(packet);
  const auto& p = std::get<PublishView>(r.value);
  std::vector<std::string> seen;
  for (const auto& prop : p.properties)
    seen.push_back(std::string(property_name(prop.id)) + ":" + std::to_string(prop.number) + ":" + text(prop.key) +
                   ":" + text(prop.value));
  EXPECT_EQ(seen, (std::vector<std::string>{"payload_format_indicator:1::", "message_expiry_interval:256::",
                                            "content_type:0::ct", "correlation_data:0::hex:0102",
                                            "subscription_identifier:128::", "topic_alias:7::",
                                            "user_property:0:k:v"}));
  EXPECT_EQ(p.properties.find(PropertyId::topic_alias)->number, 7u);
  EXPECT_FALSE(p.properties.find(PropertyId::response_topic));
}

TEST(PropertiesView, stops_at_garbage_instead_of_reading_past_it) {
  // A PropertiesView built from unvalidated bytes must still stay inside them.
  const std::string raw = H("26 00 05 6b");
  GuardedBuffer g(raw);
  PropertiesView view(std::string_view(reinterpret_cast<const char*>(g.bytes().data()), raw.size()));
  int n = 0;
  for (auto it = view.begin(); it != view.end(); ++it) ++n;
  EXPECT_EQ(n, 0);
}

TEST(Properties, owned_list_add_find_erase_and_encode) {
  Properties p;
  p.add_number(PropertyId::message_expiry_interval, 60).add_string(PropertyId::content_type, "json").add_user("a", "b");
  p.add_user("a", "c");
  EXPECT_EQ(p.size(), 4u);
  EXPECT_EQ(p.find(PropertyId::content_type)->value, "json");
  p.erase(PropertyId::user_property);
  EXPECT_EQ(p.size(), 2u);
  EXPECT_EQ(to_hex(p.encoded()), to_hex(H("02 00 00 00 3c 03") + S("json")));
}

}  // namespace
}  // namespace mqtt::test
