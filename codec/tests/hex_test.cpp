// mqtt/hex.hpp: the project's one hex formatter and parser (expected strings written by
// hand, byte by byte).
#include <gtest/gtest.h>

#include "mqtt/hex.hpp"

namespace {

const std::string kBytes("\x00\xab\x10\xff", 4);

}  // namespace

TEST(Hex, to_hex_is_lowercase_two_digits_per_byte) {
  EXPECT_EQ(mqtt::to_hex(kBytes), "00ab10ff");
  EXPECT_EQ(mqtt::to_hex(""), "");
  EXPECT_EQ(mqtt::to_hex(std::string(1, '\x0f')), "0f");
}

TEST(Hex, to_hex_puts_the_separator_between_bytes_only) {
  EXPECT_EQ(mqtt::to_hex(kBytes, " "), "00 ab 10 ff");
  EXPECT_EQ(mqtt::to_hex(kBytes, ":"), "00:ab:10:ff");
  EXPECT_EQ(mqtt::to_hex(std::string(1, '\x30'), " "), "30");
  EXPECT_EQ(mqtt::to_hex("", " "), "");
}

TEST(Hex, parse_hex_accepts_either_case_and_separators_between_bytes) {
  EXPECT_EQ(mqtt::parse_hex("00abAB10ff"), std::string("\x00\xab\xab\x10\xff", 5));
  EXPECT_EQ(mqtt::parse_hex("00 AB\t10\nff"), kBytes);
  EXPECT_EQ(mqtt::parse_hex("  00  ab\r\n10 ff  "), kBytes);
  EXPECT_EQ(mqtt::parse_hex("00:ab:10:ff"), kBytes);  // Wireshark's "copy as hex"
  EXPECT_EQ(mqtt::parse_hex("00ab_10ff"), kBytes);
  EXPECT_EQ(mqtt::parse_hex("0004 4d515454"), std::string("\x00\x04MQTT", 6));
  EXPECT_EQ(mqtt::parse_hex(""), std::string());
  EXPECT_EQ(mqtt::parse_hex(" "), std::string());
}

TEST(Hex, parse_hex_refuses_odd_counts_split_bytes_and_non_hex) {
  for (const char* text : {"abc", "a", "a b", "30 0", "3 002", "0:0", "zz", "0x10", "30,02", "30-02", "g0", "éé"})
    EXPECT_FALSE(mqtt::parse_hex(text).has_value()) << text;
}

TEST(Hex, parse_hex_reads_back_every_byte_to_hex_writes) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(mqtt::parse_hex(mqtt::to_hex(all)), all);
  EXPECT_EQ(mqtt::parse_hex(mqtt::to_hex(all, " ")), all);
}

TEST(Hex, hex_byte_is_0x_and_two_upper_case_digits) {
  EXPECT_EQ(mqtt::hex_byte(0x00), "0x00");
  EXPECT_EQ(mqtt::hex_byte(0x81), "0x81");
  EXPECT_EQ(mqtt::hex_byte(0x9f), "0x9F");
  EXPECT_EQ(mqtt::hex_byte(0xff), "0xFF");
}
