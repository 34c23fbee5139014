// Text rules and names: UTF-8 (1.5.3 / 1.5.4), topic names and filters (4.7), shared
// subscriptions (4.8.2), topic matching (4.7.1, 4.7.2), Variable Byte Integers (1.5.5),
// version / packet type / reason code names.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace mqtt::test {
namespace {

constexpr Version v3 = Version::v3_1_1;
constexpr Version v5 = Version::v5;

TEST(Utf8Rules, well_formed_strings_pass) {
  for (const char* s : {"", "a", "hello/world", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBB\xBF",
                        "\xED\x9F\xBF" /* U+D7FF */, "\xEE\x80\x80" /* U+E000 */, "\xF4\x8F\xBF\xBF" /* U+10FFFF */,
                        "abcdefghijklmnopqrstuvwxyz0123456789\xC3\xA9"})
    EXPECT_FALSE(validate_utf8(s, v5)) << s;
}

TEST(Utf8Rules, ill_formed_sequences_are_malformed_MQTT_1_5_3_1) {
  struct Case {
    std::string s;
    std::uint32_t offset;
  };
  const Case cases[] = {
      {"\x80", 0},                  // lone continuation byte
      {"ab\xC0\x80", 2},            // overlong U+0000
      {"\xC1\xBF", 0},              // overlong
      {"\xE0\x80\x80", 0},          // overlong 3-byte
      {"\xF0\x80\x80\x80", 0},      // overlong 4-byte
      {"\xED\xA0\x80", 0},          // U+D800 surrogate
      {"\xED\xBF\xBF", 0},          // U+DFFF surrogate
      {"\xF4\x90\x80\x80", 0},      // above U+10FFFF
      {"\xF5\x80\x80\x80", 0},      // invalid lead
      {"\xFF", 0},                  // invalid byte
      {"abcdefgh\xE2\x82", 8},      // truncated after the ASCII fast path
      {"\xC3" "a", 0},              // bad continuation
  };
  for (const auto& c : cases) {
    const Error e = validate_utf8(c.s, v3);
    EXPECT_EQ(e.code, Errc::malformed_packet) << to_hex(c.s);
    EXPECT_EQ(e.offset, c.offset) << to_hex(c.s);
    EXPECT_EQ(e.spec, "MQTT-1.5.3-1") << to_hex(c.s);
    EXPECT_EQ(validate_utf8(c.s, v5).spec, "MQTT-1.5.4-1");
  }
}

TEST(Utf8Rules, null_character_is_malformed_MQTT_1_5_3_2_and_MQTT_1_5_4_2) {
  const std::string s("abcdefghij\0", 11);
  EXPECT_EQ(validate_utf8(s, v3).spec, "MQTT-1.5.3-2");
  EXPECT_EQ(validate_utf8(s, v3).offset, 10u);
  EXPECT_EQ(validate_utf8(s, v5).spec, "MQTT-1.5.4-2");
}

TEST(TopicRules, topic_names) {
  EXPECT_FALSE(validate_topic_name("a/b", v3));
  EXPECT_FALSE(validate_topic_name("/", v3));
  EXPECT_FALSE(validate_topic_name("$SYS/x", v5));
  EXPECT_EQ(validate_topic_name("", v3).spec, "MQTT-4.7.3-1");
  EXPECT_EQ(validate_topic_name("a/+", v3).spec, "MQTT-4.7.1-1");
  EXPECT_EQ(validate_topic_name("a/+", v3).offset, 2u);
  EXPECT_EQ(validate_topic_name("#", v5).spec, "MQTT-4.7.0-1");
  EXPECT_EQ(validate_topic_name(std::string("a\0", 2), v5).spec, "MQTT-4.7.3-2");
  EXPECT_EQ(validate_topic_name("a\xFF", v5).code, Errc::topic_name_invalid);
}

TEST(TopicRules, topic_filters) {
  for (const char* f : {"#", "+", "a/#", "a/+/b", "+/+", "/+", "+/", "a//b", "$SYS/#", "sport/tennis/#"}) {
    EXPECT_FALSE(validate_topic_filter(f, v3)) << f;
    EXPECT_FALSE(validate_topic_filter(f, v5)) << f;
  }
  EXPECT_EQ(validate_topic_filter("a/#/b", v3).spec, "MQTT-4.7.1-2");
  EXPECT_EQ(validate_topic_filter("a#", v5).spec, "MQTT-4.7.1-1");
  EXPECT_EQ(validate_topic_filter("sport/tennis+", v3).spec, "MQTT-4.7.1-3");
  EXPECT_EQ(validate_topic_filter("sport/tennis+", v3).offset, 12u);
  EXPECT_EQ(validate_topic_filter("+a", v5).spec, "MQTT-4.7.1-2");
  EXPECT_EQ(validate_topic_filter("", v5).spec, "MQTT-4.7.3-1");
  EXPECT_EQ(validate_topic_filter(std::string("a\0", 2), v3).code, Errc::topic_filter_invalid);
}

TEST(TopicRules, shared_subscription_filters_MQTT_4_8_2_1_and_MQTT_4_8_2_2) {
  EXPECT_FALSE(validate_topic_filter("$share/g/a/+", v5));
  EXPECT_FALSE(validate_topic_filter("$share/g/#", v5));
  EXPECT_EQ(validate_topic_filter("$share//a", v5).spec, "MQTT-4.8.2-1");
  EXPECT_EQ(validate_topic_filter("$share/", v5).spec, "MQTT-4.8.2-1");
  EXPECT_EQ(validate_topic_filter("$share/g", v5).spec, "MQTT-4.8.2-2");
  EXPECT_EQ(validate_topic_filter("$share/g/", v5).spec, "MQTT-4.8.2-2");
  EXPECT_EQ(validate_topic_filter("$share/#/a", v5).spec, "MQTT-4.8.2-2");
  EXPECT_EQ(validate_topic_filter("$share/g/a#", v5).spec, "MQTT-4.7.1-1");
  EXPECT_EQ(validate_topic_filter("$share/g/a#", v5).offset, 10u);

  auto s = parse_shared_filter("$share/grp/a/b");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->group, "grp");
  EXPECT_EQ(s->filter, "a/b");
  EXPECT_FALSE(parse_shared_filter("a/b"));
  EXPECT_FALSE(parse_shared_filter("$share/grp"));
  EXPECT_FALSE(parse_shared_filter("$share//a"));
  EXPECT_FALSE(parse_shared_filter("$sharex/g/a"));
}

TEST(TopicMatching, examples_of_4_7_1) {
  // 4.7.1.2: "sport/tennis/player1/#" matches these.
  EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1"));
  EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
  EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
  // "sport/#" also matches the singular "sport".
  EXPECT_TRUE(topic_matches("sport/#", "sport"));
  EXPECT_TRUE(topic_matches("#", "a/b/c"));
  // 4.7.1.3: single level.
  EXPECT_TRUE(topic_matches("sport/tennis/+", "sport/tennis/player1"));
  EXPECT_TRUE(topic_matches("sport/tennis/+", "sport/tennis/player2"));
  EXPECT_FALSE(topic_matches("sport/tennis/+", "sport/tennis/player1/ranking"));
  EXPECT_FALSE(topic_matches("sport/+", "sport"));
  EXPECT_TRUE(topic_matches("sport/+", "sport/"));
  EXPECT_TRUE(topic_matches("+/+", "/finance"));
  EXPECT_TRUE(topic_matches("/+", "/finance"));
  EXPECT_FALSE(topic_matches("+", "/finance"));
  // Exact and case-sensitive, no normalisation (MQTT-4.7.3-4).
  EXPECT_TRUE(topic_matches("a/b", "a/b"));
  EXPECT_FALSE(topic_matches("a/b", "A/b"));
  EXPECT_FALSE(topic_matches("a/b", "a/b/"));
  EXPECT_FALSE(topic_matches("a/b/c", "a/b"));
}

TEST(TopicMatching, leading_wildcards_do_not_match_dollar_topics_MQTT_4_7_2_1) {
  EXPECT_FALSE(topic_matches("#", "$SYS/broker/uptime"));
  EXPECT_FALSE(topic_matches("+/monitor/Clients", "$SYS/monitor/Clients"));
  EXPECT_TRUE(topic_matches("$SYS/#", "$SYS/monitor/Clients"));
  EXPECT_TRUE(topic_matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
}

TEST(TopicMatching, shared_subscription_matches_with_its_inner_filter) {
  EXPECT_TRUE(topic_matches("$share/g/a/+", "a/b"));
  EXPECT_FALSE(topic_matches("$share/g/a/+", "b/b"));
}

TEST(Varint, boundaries_of_1_5_5) {
  struct Case {
    std::uint32_t value;
    const char* hex;
  };
  // Table 1-1 of 5.0 (2.2.3 / table 2.4 of 3.1.1).
  const Case cases[] = {{0, "00"},           {127, "7f"},         {128, "8001"},        {16383, "ff7f"},
                        {16384, "808001"},   {2097151, "ffff7f"}, {2097152, "80808001"}, {268435455, "ffffff7f"}};
  for (const auto& c : cases) {
    std::uint8_t buf[4];
    const std::size_t n = encode_varint(c.value, buf);
    EXPECT_EQ(n, varint_size(c.value));
    EXPECT_EQ(to_hex(std::string_view(reinterpret_cast<const char*>(buf), n)), c.hex);
    const std::string bytes = from_hex(c.hex);
    auto r = decode_varint(mqtt::test::bytes(bytes));
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.value, c.value);
    EXPECT_EQ(r.consumed, n);
    // Every prefix needs more bytes.
    for (std::size_t k = 0; k < bytes.size(); ++k) {
      auto p = decode_varint(mqtt::test::bytes(std::string_view(bytes).substr(0, k)));
      EXPECT_EQ(p.consumed, 0);
      EXPECT_FALSE(p.error);
    }
  }
}

TEST(Varint, fifth_byte_and_non_minimal_forms_are_malformed_MQTT_1_5_5_1) {
  const std::string five = from_hex("ffffffff01");
  auto r = decode_varint(bytes(five));
  EXPECT_EQ(r.error.code, Errc::malformed_packet);
  EXPECT_EQ(r.error.spec, "MQTT-1.5.5-1");
  for (const char* hex : {"8000", "808000", "80808000", "ff00"}) {
    const std::string b = from_hex(hex);
    auto e = decode_varint(bytes(b));
    EXPECT_EQ(e.error.code, Errc::malformed_packet) << hex;
    EXPECT_EQ(e.error.spec, "MQTT-1.5.5-1") << hex;
  }
}

TEST(Names, versions_and_packet_types) {
  EXPECT_EQ(to_string(Version::v3_1), "3.1");
  EXPECT_EQ(to_string(Version::v3_1_1), "3.1.1");
  EXPECT_EQ(to_string(Version::v5), "5");
  EXPECT_EQ(parse_version("5.0"), Version::v5);
  EXPECT_EQ(parse_version("5"), Version::v5);
  EXPECT_EQ(parse_version("3.1.1"), Version::v3_1_1);
  EXPECT_EQ(parse_version("3.1"), Version::v3_1);
  EXPECT_FALSE(parse_version("4"));
  const char* names[] = {"CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE",
                         "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"};
  for (unsigned i = 0; i < 15; ++i) {
    EXPECT_EQ(to_string(static_cast<PacketType>(i + 1)), names[i]);
    EXPECT_EQ(parse_packet_type(names[i]), static_cast<PacketType>(i + 1));
  }
  EXPECT_FALSE(parse_packet_type("connect"));
  EXPECT_EQ(to_string(Errc::malformed_packet), "malformed_packet");
  EXPECT_EQ(to_string(Errc::payload_format_invalid), "payload_format_invalid");
  EXPECT_EQ(static_cast<int>(Errc::topic_filter_invalid), reason::topic_filter_invalid);
  EXPECT_EQ(static_cast<int>(Errc::packet_too_large), reason::packet_too_large);
}

TEST(Names, reason_codes_by_packet_type) {
  using P = PacketType;
  EXPECT_EQ(reason_code_name(0x00, P::suback), "granted_qos0");
  EXPECT_EQ(reason_code_name(0x00, P::disconnect), "normal_disconnection");
  EXPECT_EQ(reason_code_name(0x00, P::puback), "success");
  EXPECT_EQ(reason_code_name(0x10, P::puback), "no_matching_subscribers");
  EXPECT_EQ(reason_code_name(0x10, P::pubrel), "");
  EXPECT_EQ(reason_code_name(0x92, P::pubcomp), "packet_identifier_not_found");
  EXPECT_EQ(reason_code_name(0x11, P::unsuback), "no_subscription_existed");
  EXPECT_EQ(reason_code_name(0x18, P::auth), "continue_authentication");
  EXPECT_EQ(reason_code_name(0x19, P::auth), "re_authenticate");
  EXPECT_EQ(reason_code_name(0x04, P::disconnect), "disconnect_with_will_message");
  EXPECT_EQ(reason_code_name(0x8E, P::disconnect), "session_taken_over");
  EXPECT_EQ(reason_code_name(0x8E, P::connack), "");
  EXPECT_EQ(reason_code_name(0x84, P::connack), "unsupported_protocol_version");
  EXPECT_EQ(reason_code_name(0xA2, P::suback), "wildcard_subscriptions_not_supported");
  // 3.1.1 return codes.
  EXPECT_EQ(reason_code_name(0x02, P::connack, v3), "identifier_rejected");
  EXPECT_EQ(reason_code_name(0x05, P::connack, v3), "not_authorized");
  EXPECT_EQ(reason_code_name(0x06, P::connack, v3), "");
  EXPECT_EQ(reason_code_name(0x80, P::suback, v3), "failure");

  // Counts of the per-packet tables of chapter 3 (5.0).
  auto count = [](P t) {
    int n = 0;
    for (unsigned c = 0; c < 256; ++c) n += reason_code_allowed(static_cast<std::uint8_t>(c), t);
    return n;
  };
  EXPECT_EQ(count(P::connack), 22);
  EXPECT_EQ(count(P::puback), 9);
  EXPECT_EQ(count(P::pubrec), 9);
  EXPECT_EQ(count(P::pubrel), 2);
  EXPECT_EQ(count(P::pubcomp), 2);
  EXPECT_EQ(count(P::suback), 12);
  EXPECT_EQ(count(P::unsuback), 7);
  EXPECT_EQ(count(P::disconnect), 29);
  EXPECT_EQ(count(P::auth), 3);
  EXPECT_EQ(count(P::pingreq), 0);
}

}  // namespace
}  // namespace mqtt::test

namespace mqtt::test {
namespace {

// The word-at-a-time topic check must agree with a byte-by-byte reading of the rules at
// every length and position (whole words, overlapping tail word, short strings).
TEST(TopicFastPath, every_special_byte_is_found_at_every_position_and_neighbours_pass) {
  const std::string ok_neighbours = std::string("\x01\x22\x24\x2A\x2C\x7F !$*,/azAZ09", 17);
  for (std::size_t len = 1; len <= 40; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      struct Case {
        char c;
        Errc code;
        std::string_view spec;
      };
      const Case cases[] = {{'+', Errc::topic_name_invalid, "MQTT-3.3.2-2"},
                            {'#', Errc::topic_name_invalid, "MQTT-3.3.2-2"},
                            {'\0', Errc::malformed_packet, "MQTT-1.5.3-2"},
                            {'\x80', Errc::malformed_packet, "MQTT-1.5.3-1"},
                            {'\xFF', Errc::malformed_packet, "MQTT-1.5.3-1"}};
      for (const auto& c : cases) {
        std::string topic(len, 'a');
        topic[at] = c.c;
        std::string packet = std::string("\x30", 1) + static_cast<char>(2 + len) + static_cast<char>(0) +
                             static_cast<char>(len) + topic;
        GuardedBuffer g(packet);
        auto r = decode(g.bytes(), DecodeOptions{Version::v3_1_1});
        EXPECT_EQ(r.error.code, c.code) << len << " " << at << " " << int(c.c);
        EXPECT_EQ(r.error.offset, 4 + at) << len << " " << at << " " << int(c.c);
        EXPECT_EQ(r.error.spec, c.spec);
      }
      std::string topic(len, 'a');
      topic[at] = ok_neighbours[(len + at) % ok_neighbours.size()];
      std::string packet = std::string("\x30", 1) + static_cast<char>(2 + len) + static_cast<char>(0) +
                           static_cast<char>(len) + topic;
      GuardedBuffer g(packet);
      EXPECT_TRUE(decode(g.bytes(), DecodeOptions{Version::v3_1_1}).ok()) << to_hex(topic);
    }
  }
}

}  // namespace
}  // namespace mqtt::test
