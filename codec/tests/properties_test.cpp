// MQTT 5 properties (2.2.2.2): table, placement, duplicates, values, iteration.
#include <gtest/gtest.h>

#include <algorithm>

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

// The wire forms below are written out from 5.0 2.2.2.2 and 1.5 (identifier byte, then a
// byte, two-byte or four-byte big-endian integer, a Variable Byte Integer, or 16-bit
// length-prefixed strings).
TEST(AppendProperty, writes_each_type_as_the_spec_lays_it_out) {
  std::string raw;
  EXPECT_TRUE(append_property(raw, {.id = PropertyId::payload_format_indicator, .number = 1}));
  EXPECT_TRUE(append_property(raw, {.id = PropertyId::receive_maximum, .number = 0x1234}));
  EXPECT_TRUE(append_property(raw, {.id = PropertyId::session_expiry_interval, .number = 0x11223344}));
  EXPECT_TRUE(append_property(raw, {.id = PropertyId::subscription_identifier, .number = 321}));
  EXPECT_TRUE(append_property(raw, {.id = PropertyId::reason_string, .value = "ok"}));
  EXPECT_TRUE(append_property(raw, {.id = PropertyId::correlation_data, .value = std::string_view("\0\1", 2)}));
  EXPECT_TRUE(append_property(raw, {.id = PropertyId::user_property, .key = "k", .value = "vv"}));
  // S(): a 16-bit length, then the bytes.
  EXPECT_EQ(to_hex(raw), to_hex(H("01 01  21 12 34  11 11 22 33 44  0b c1 02  1f") + S("ok") +
                                H("09 00 02 00 01  26") + S("k") + S("vv")));
  // What it appends, PropertiesView reads back as the same properties.
  std::vector<PropertyId> ids;
  for (const auto& p : PropertiesView(raw)) ids.push_back(p.id);
  EXPECT_EQ(ids.size(), 7u);
  EXPECT_EQ(PropertiesView(raw).find(PropertyId::subscription_identifier)->number, 321u);
  EXPECT_EQ(PropertiesView(raw).find(PropertyId::user_property)->value, "vv");
}

TEST(AppendProperty, a_property_that_cannot_be_encoded_appends_nothing) {
  std::string raw = H("01 01");
  const std::string before = raw;
  EXPECT_FALSE(append_property(raw, {.id = static_cast<PropertyId>(0x00), .number = 1}));  // no such identifier
  EXPECT_FALSE(append_property(raw, {.id = PropertyId::subscription_identifier, .number = 268'435'456}));
  const std::string big(65'536, 'x');
  EXPECT_FALSE(append_property(raw, {.id = PropertyId::reason_string, .value = big}));
  EXPECT_FALSE(append_property(raw, {.id = PropertyId::user_property, .key = big, .value = "v"}));
  EXPECT_EQ(to_hex(raw), to_hex(before));
  // The largest of each still fits.
  EXPECT_TRUE(append_property(raw, {.id = PropertyId::subscription_identifier, .number = 268'435'455}));
  EXPECT_EQ(to_hex(raw.substr(2)), to_hex(H("0b ff ff ff 7f")));
  EXPECT_TRUE(append_property(raw, {.id = PropertyId::reason_string, .value = std::string_view(big).substr(1)}));
  EXPECT_EQ(raw.size(), 2u + 5u + 3u + 65'535u);
}

TEST(AppendProperty, appends_what_the_owned_list_encodes) {
  Properties owned;
  owned.add_number(PropertyId::topic_alias_maximum, 7).add_string(PropertyId::response_topic, "r/t").add_user("a", "b");
  owned.add_string(PropertyId::reason_string, std::string(70'000, 'y'));  // skipped by both
  std::string raw;
  for (const auto& p : owned) append_property(raw, {p.id, p.number, p.key, p.value});
  EXPECT_EQ(to_hex(raw), to_hex(owned.encoded()));
  EXPECT_EQ(to_hex(raw), to_hex(H("22 00 07  08") + S("r/t") + H("26") + S("a") + S("b")));
}

// ---------------------------------------------------------------------------------------
// PUBLISH property blocks go through a fast path first (decode.cpp,
// publish_properties_fast) that hands anything unusual to the general parser. These tests
// check that the pair behaves like the rules: every finding at its byte, for strings of
// every length the fast path reads in different ways (byte loop, halves, whole blocks).

struct StringProperty {
  const char* name;
  std::uint8_t id;
  bool pair_key;    // user_property: the bad byte goes into the key
  bool pair_value;  // user_property: the bad byte goes into the value
};
const StringProperty kStringProperties[] = {
    {"content_type", 0x03, false, false},
    {"response_topic", 0x08, false, false},
    {"user_property key", 0x26, true, false},
    {"user_property value", 0x26, false, true},
};

// `lead`: properties placed before the string one, to move it inside the block.
std::string string_property(const StringProperty& p, const std::string& s, const std::string& lead) {
  std::string raw = lead + std::string(1, static_cast<char>(p.id));
  if (p.pair_key) return raw + S(s) + S("v");
  if (p.pair_value) return raw + S("k") + S(s);
  return raw + S(s);
}

TEST(PublishPropertyStrings, every_bad_byte_is_found_at_every_position_MQTT_1_5_4_1_2_and_1_5_7_1_and_3_3_2_14) {
  const std::string ok_neighbours = std::string("\x01\x22\x24\x2A\x2C\x7F !$*,/azAZ09", 17);
  for (const std::string& lead : {std::string(), H("02 00 00 00 3c")}) {
    for (const auto& p : kStringProperties) {
      const bool pair = p.id == 0x26;
      // First byte of the string: block at 6, then lead, id, [key "k" for the value], length.
      const std::uint32_t first = 6 + static_cast<std::uint32_t>(lead.size()) + 1 + (p.pair_value ? 3 : 0) + 2;
      for (std::size_t len = 1; len <= 40; ++len) {
        for (std::size_t at = 0; at < len; ++at) {
          struct Case {
            char c;
            Errc code;
            std::string_view spec;
            std::uint32_t offset;
          };
          std::vector<Case> cases = {
              {'\0', Errc::malformed_packet, pair ? "MQTT-1.5.7-1" : "MQTT-1.5.4-2", first + std::uint32_t(at)},
              {'\x80', Errc::malformed_packet, pair ? "MQTT-1.5.7-1" : "MQTT-1.5.4-1", first + std::uint32_t(at)},
              {'\xFF', Errc::malformed_packet, pair ? "MQTT-1.5.7-1" : "MQTT-1.5.4-1", first + std::uint32_t(at)}};
          if (p.id == 0x08)  // a wildcard in response_topic: reported at the property's value
            for (char w : {'+', '#'}) cases.push_back({w, Errc::protocol_error, "MQTT-3.3.2-14", first - 2});
          for (const auto& c : cases) {
            std::string s(len, 'a');
            s[at] = c.c;
            GuardedBuffer g(publish_with(string_property(p, s, lead)));
            auto r = decode(g.bytes(), DecodeOptions{Version::v5});
            EXPECT_EQ(to_string(r.error.code), to_string(c.code)) << p.name << " " << len << " " << at << " " << int(c.c);
            EXPECT_EQ(r.error.offset, c.offset) << p.name << " " << len << " " << at << " " << int(c.c);
            EXPECT_EQ(r.error.spec, c.spec) << p.name << " " << len << " " << at << " " << int(c.c);
          }
          std::string s(len, 'a');
          s[at] = ok_neighbours[(len + at) % ok_neighbours.size()];
          const std::string packet = publish_with(string_property(p, s, lead));
          GuardedBuffer g(packet);
          auto r = decode(g.bytes(), DecodeOptions{Version::v5});
          ASSERT_TRUE(r.ok()) << p.name << " " << to_hex(s) << ": " << r.error.message;
          const auto found = std::get<PublishView>(r.value).properties.find(static_cast<PropertyId>(p.id));
          ASSERT_TRUE(found);
          EXPECT_EQ(p.pair_key ? found->key : found->value, s) << p.name;
        }
      }
    }
  }
}

TEST(PublishPropertyStrings, valid_multibyte_utf8_and_long_blocks_are_accepted) {
  // "é", "€" and U+1F600: well-formed UTF-8 the ASCII-only fast path leaves to the general parser.
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
  const std::string packet = publish_with(H("03") + S(text) + H("26") + S(text) + S("v"));
  auto r = ok(packet);
  const auto& p = std::get<PublishView>(r.value);
  EXPECT_EQ(p.properties.find(PropertyId::content_type)->value, text);
  EXPECT_EQ(p.properties.find(PropertyId::user_property)->key, text);
  // A property length of 2 bytes (block of 203 bytes): offsets after it move by one.
  const std::string long_text(200, 'c');
  const std::string raw = H("03") + S(long_text);
  const std::string long_packet = pkt(0x30, S("t") + H("cb 01") + raw + "x");
  auto r2 = ok(long_packet);
  EXPECT_EQ(std::get<PublishView>(r2.value).properties.find(PropertyId::content_type)->value, long_text);
  std::string bad = long_text;
  bad[199] = '\0';
  // Remaining length 209 takes two bytes too: the string starts at 3 + 3 (topic) + 2 + 1 (id) + 2 = 11.
  expect_error(pkt(0x30, S("t") + H("cb 01") + H("03") + S(bad) + "x"), Errc::malformed_packet, 11 + 199,
               "MQTT-1.5.4-2");
}

TEST(PublishPropertyBlock, a_block_cut_inside_any_property_is_malformed_and_on_a_boundary_is_not) {
  // message_expiry_interval (5 bytes), content_type (13), topic_alias (3), payload_format_indicator (2),
  // correlation_data (5), user_property (7), response_topic (6): with a shorter property length the
  // property that crosses the end of the block runs past it [2.2.2.2]; the rest is payload.
  const std::string raw = H("02 00 00 00 3c") + H("03") + S("text/plain") + H("23 00 05") + H("01 00") + H("09") +
                          S(std::string("\x00\xff", 2)) + H("26") + S("k") + S("v") + H("08") + S("r/1");
  const std::size_t boundaries[] = {0, 5, 18, 21, 23, 28, 35, 41};
  ASSERT_EQ(raw.size(), 41u);
  for (std::size_t cut = 0; cut <= raw.size(); ++cut) {
    const std::string packet = pkt(0x30, S("t") + std::string(1, static_cast<char>(cut)) + raw + "x");
    const bool on_boundary = std::find(std::begin(boundaries), std::end(boundaries), cut) != std::end(boundaries);
    if (on_boundary) {
      GuardedBuffer g(packet);
      auto r = decode(g.bytes(), DecodeOptions{Version::v5});
      EXPECT_TRUE(r.ok()) << cut << ": " << r.error.message;
    } else {
      expect_error(packet, Errc::malformed_packet, static_cast<std::uint32_t>(6 + cut), "");
    }
  }
}

TEST(PublishPropertyBlock, each_publish_property_twice_is_a_protocol_error_but_user_property_is_not) {
  const std::pair<const char*, std::string> once[] = {
      {"payload_format_indicator", H("01 00")},     {"message_expiry_interval", H("02 00 00 00 3c")},
      {"content_type", H("03") + S("a")},           {"response_topic", H("08") + S("r")},
      {"correlation_data", H("09") + S("\x01")},    {"topic_alias", H("23 00 01")},
  };
  for (const auto& [name, p] : once) {
    SCOPED_TRACE(name);
    // Second occurrence after a user property: reported at its identifier.
    const std::string user = H("26") + S("k") + S("v");
    expect_error(publish_with(p + user + p), Errc::protocol_error, static_cast<std::uint32_t>(6 + p.size() + user.size()), "");
  }
  ok(publish_with(H("26") + S("k") + S("1") + H("02 00 00 00 01") + H("26") + S("k") + S("2")));
}

TEST(PublishPropertyBlock, values_of_the_common_properties_as_decoded) {
  const std::string raw = H("01 01") + H("02 00 00 00 3c") + H("03") + S("text/plain") + H("08") + S("reply/to") +
                          H("09") + S(std::string("\x00\xff", 2)) + H("23 00 05") + H("26") + S("a") + S("1") +
                          H("26") + S("b") + S("2");
  // Empty topic: allowed because topic_alias is present (3.3.2.3.4).
  const std::string packet = pkt(0x30, S("") + props(raw) + "payload");
  auto r = ok(packet);
  const auto& p = std::get<PublishView>(r.value);
  EXPECT_EQ(p.topic, "");
  EXPECT_EQ(p.payload, "payload");
  std::vector<std::string> seen;
  for (const auto& prop : p.properties)
    seen.push_back(std::string(property_name(prop.id)) + ":" + std::to_string(prop.number) + ":" + text(prop.key) +
                   ":" + text(prop.value));
  EXPECT_EQ(seen, (std::vector<std::string>{"payload_format_indicator:1::", "message_expiry_interval:60::",
                                            "content_type:0::text/plain", "response_topic:0::reply/to",
                                            "correlation_data:0::hex:00ff", "topic_alias:5::", "user_property:0:a:1",
                                            "user_property:0:b:2"}));
  // payload_format_indicator 1 with a payload that is not UTF-8 (3.3.2.3.2).
  expect_error(pkt(0x30, S("t") + props(H("01 01") + H("02 00 00 00 3c")) + "\xC0\x80"), Errc::payload_format_invalid,
               13, "");
  // Empty topic without a topic_alias, the other properties present.
  expect_error(pkt(0x30, S("") + props(H("02 00 00 00 3c") + H("03") + S("a")) + "x"), Errc::protocol_error, 2, "");
}

// ---------------------------------------------------------------------------------------
// decode() first tries an accept-only fast path for a whole PUBLISH (decode.cpp,
// publish_fast); these check its edges against the rules of 3.3.1-3.3.3.

TEST(PublishFastPath, every_fixed_header_flag_combination_MQTT_3_3_1_2_and_3_3_1_4) {
  for (unsigned flags = 0; flags < 16; ++flags) {
    const unsigned qos = (flags >> 1) & 3;
    const std::string body = S("a/b") + (qos ? H("00 07") : std::string()) + "pay";
    const std::string packet = pkt(static_cast<std::uint8_t>(0x30 | flags), body);
    GuardedBuffer g(packet);
    auto r = decode(g.bytes(), DecodeOptions{Version::v3_1_1});
    SCOPED_TRACE(flags);
    if (qos == 3) {
      EXPECT_EQ(r.error.code, Errc::malformed_packet);
      EXPECT_EQ(r.error.spec, "MQTT-3.3.1-4");
    } else if ((flags & 8) && qos == 0) {
      EXPECT_EQ(r.error.code, Errc::malformed_packet);
      EXPECT_EQ(r.error.spec, "MQTT-3.3.1-2");
    } else {
      ASSERT_TRUE(r.ok()) << r.error.message;
      const auto& p = std::get<PublishView>(r.value);
      EXPECT_EQ(p.dup, (flags & 8) != 0);
      EXPECT_EQ(p.qos, qos);
      EXPECT_EQ(p.retain, (flags & 1) != 0);
      EXPECT_EQ(p.topic, "a/b");
      EXPECT_EQ(p.packet_id, qos ? 7 : 0);
      EXPECT_EQ(p.payload, "pay");
      EXPECT_TRUE(p.properties.empty());
    }
  }
}

TEST(PublishFastPath, topics_across_the_one_to_two_byte_remaining_length_boundary) {
  // Remaining length = 2 + n + 2 (packet id) + 3 (payload): one byte up to 127, two from 128 (2.2.3).
  for (std::size_t n = 110; n <= 135; ++n) {
    std::string topic(n, 't');
    topic[n / 2] = '/';
    for (Version v : {Version::v3_1, Version::v3_1_1, Version::v5}) {
      const std::string body = S(topic) + H("12 34") + (v == Version::v5 ? H("00") : std::string()) + "xyz";
      const std::string packet = pkt(0x32, body);
      ASSERT_EQ(packet.size(), 1 + (body.size() > 127 ? 2u : 1u) + body.size());
      GuardedBuffer g(packet);
      auto r = decode(g.bytes(), DecodeOptions{v});
      ASSERT_TRUE(r.ok()) << n << ": " << r.error.message;
      const auto& p = std::get<PublishView>(r.value);
      EXPECT_EQ(p.topic, topic);
      EXPECT_EQ(p.packet_id, 0x1234);
      EXPECT_EQ(p.payload, "xyz");
      // One byte less than the packet: rejected from the fixed header.
      auto small = decode(g.bytes(), DecodeOptions{v, static_cast<std::uint32_t>(packet.size() - 1)});
      EXPECT_EQ(small.error.code, Errc::packet_too_large);
      EXPECT_EQ(small.error.offset, 1u);
    }
  }
}

TEST(PublishFastPath, payload_format_indicator_1_accepts_well_formed_utf8_payloads_MQTT_3_3_2_3_2) {
  // "é€😀" as payload, and an empty payload (nothing to check).
  for (const std::string& payload : {std::string("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), std::string()}) {
    const std::string packet = pkt(0x30, S("t") + props(H("01 01")) + payload);
    auto r = ok(packet);
    EXPECT_EQ(std::get<PublishView>(r.value).payload, payload);
  }
  // A lone continuation byte is not: reported at its offset (0x99 payload_format_invalid).
  expect_error(pkt(0x30, S("t") + props(H("01 01")) + "ab\x80"), Errc::payload_format_invalid, 10, "");
  // The same bytes with payload_format_indicator 0 are just bytes.
  ok(pkt(0x30, S("t") + props(H("01 00")) + "ab\x80"));
}

}  // namespace
}  // namespace mqtt::test
