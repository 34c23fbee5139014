// Byte-level minimisation keeps packets well-framed: remove_bytes re-encodes the fixed
// header's Remaining Length (2.2.3; Variable Byte Integer 1.5.5) after a cut in the body.
#include "NetFuzz.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using mqtth::netfuzz::remove_bytes;

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out += static_cast<char>(b);
  return out;
}

// A QoS 0 PUBLISH (3.1.1 layout): topic "a/b", payload "xyz". Remaining Length 8 =
// 2 (topic length) + 3 (topic) + 3 (payload).
const std::string kPublish = bytes({0x30, 0x08, 0x00, 0x03, 'a', '/', 'b', 'x', 'y', 'z'});

bool decodes(const std::string& packet, mqtt::Version version) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(packet.data());
  return mqtt::decode(mqtt::Bytes(p, packet.size()), {version}).ok();
}

TEST(RemoveBytes, CutInThePayloadLowersTheRemainingLengthSoThePacketStillDecodes) {
  ASSERT_TRUE(decodes(kPublish, mqtt::Version::v3_1_1));
  const auto cut = remove_bytes(kPublish, 8, 2);  // "yz"
  EXPECT_EQ(cut.raw, bytes({0x30, 0x08, 0x00, 0x03, 'a', '/', 'b', 'x'}));
  EXPECT_FALSE(decodes(cut.raw, mqtt::Version::v3_1_1));  // announces 8, carries 6
  ASSERT_TRUE(cut.refitted);
  EXPECT_EQ(*cut.refitted, bytes({0x30, 0x06, 0x00, 0x03, 'a', '/', 'b', 'x'}));
  EXPECT_TRUE(decodes(*cut.refitted, mqtt::Version::v3_1_1));
}

TEST(RemoveBytes, CutInTheFixedHeaderIsNotRefitted) {
  EXPECT_FALSE(remove_bytes(kPublish, 0, 1).refitted);  // first byte
  EXPECT_FALSE(remove_bytes(kPublish, 1, 1).refitted);  // the Remaining Length itself
  EXPECT_FALSE(remove_bytes(kPublish, 1, 4).refitted);  // starts inside it
  EXPECT_EQ(remove_bytes(kPublish, 1, 1).raw, bytes({0x30, 0x00, 0x03, 'a', '/', 'b', 'x', 'y', 'z'}));
}

TEST(RemoveBytes, LengthCrossing128ShrinksTheVariableByteIntegerToOneByte) {
  // SUBSCRIBE-shaped body of 128 bytes: Remaining Length 128 is 0x80 0x01 (1.5.5 example
  // table: 128 = two bytes), 127 is 0x7F.
  std::string packet = bytes({0x82, 0x80, 0x01});
  packet += std::string(128, 'q');
  const auto cut = remove_bytes(packet, 10, 1);
  ASSERT_TRUE(cut.refitted);
  EXPECT_EQ(cut.refitted->substr(0, 2), bytes({0x82, 0x7F}));
  EXPECT_EQ(cut.refitted->size(), 2u + 127u);
  EXPECT_EQ(cut.raw.size(), 3u + 127u);
}

TEST(RemoveBytes, DeliberatelyWrongLengthKeepsItsOffset) {
  // Announces 10 for 8 body bytes (a "remaining length off by +2" mutation): after cutting
  // 3 body bytes it announces 7 for 5, still 2 too many.
  auto wrong = kPublish;
  wrong[1] = 0x0A;
  const auto cut = remove_bytes(wrong, 7, 3);
  ASSERT_TRUE(cut.refitted);
  EXPECT_EQ(static_cast<int>((*cut.refitted)[1]), 7);
  EXPECT_EQ(cut.refitted->size() - 2, 5u);
}

TEST(RemoveBytes, NonMinimalOrOverlongLengthIsLeftToTheRawVariant) {
  // 0x88 0x00 is 8 in two bytes: non-minimal, rejected by the codec [MQTT-1.5.5-1].
  const auto non_minimal = bytes({0x30, 0x88, 0x00, 0x00, 0x03, 'a', '/', 'b', 'x', 'y', 'z'});
  EXPECT_FALSE(remove_bytes(non_minimal, 9, 1).refitted);
  EXPECT_FALSE(remove_bytes(bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00}), 6, 1).refitted);
  // Cutting more than the announced length cannot be refitted either.
  EXPECT_FALSE(remove_bytes(bytes({0xC0, 0x00, 0x01, 0x02}), 2, 2).refitted);
}

TEST(RemoveBytes, CutPastTheEndIsClamped) {
  const auto cut = remove_bytes(kPublish, 9, 5);
  EXPECT_EQ(cut.raw.size(), kPublish.size() - 1);
  ASSERT_TRUE(cut.refitted);
  EXPECT_TRUE(decodes(*cut.refitted, mqtt::Version::v3_1_1));
}

}  // namespace
