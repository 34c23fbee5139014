// Byte-level minimisation keeps packets well-framed: remove_bytes re-encodes the fixed
// header's Remaining Length (2.2.3; Variable Byte Integer 1.5.5) after a cut in the body.
#include "mqtth/netfuzz/NetFuzz.hpp"

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

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

// --- structural_removals: one part dropped, the packet re-encoded by the codec ---------

using mqtth::netfuzz::structural_removals;

std::string encoded(const mqtt::Packet& packet, mqtt::Version version) {
  auto out = mqtt::encode_to_string(packet, version);
  EXPECT_TRUE(out.ok());
  return out.value;
}

template <class View>
View decoded_as(const std::string& packet, mqtt::Version version) {
  const auto d = mqtt::decode(packet, {.version = version});
  EXPECT_TRUE(d.ok()) << "candidate does not decode";
  const auto* v = d.ok() ? std::get_if<View>(&d.value) : nullptr;
  EXPECT_TRUE(v) << "candidate decodes as another packet type";
  return v ? *v : View{};
}

TEST(StructuralRemovals, SubscribeLosesOneFilterAtATimeLastFirst) {
  mqtt::Subscribe sub;
  sub.packet_id = 7;
  for (const char* f : {"a/#", "b/+", "c"}) sub.subscriptions.push_back({.filter = f, .options = {.qos = 1}});
  const auto packet = encoded(sub, mqtt::Version::v3_1_1);
  const auto candidates = structural_removals(packet, mqtt::Version::v3_1_1);
  ASSERT_EQ(candidates.size(), 3u);
  const std::vector<std::vector<std::string>> expected = {{"a/#", "b/+"}, {"a/#", "c"}, {"b/+", "c"}};
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto got = decoded_as<mqtt::SubscribeView>(candidates[i], mqtt::Version::v3_1_1);
    EXPECT_EQ(got.packet_id, 7);
    std::vector<std::string> filters;
    for (const auto& s : got.subscriptions) filters.emplace_back(s.filter);
    EXPECT_EQ(filters, expected[i]) << "candidate " << i;
    EXPECT_LT(candidates[i].size(), packet.size());
  }
}

TEST(StructuralRemovals, PublishLosesItsPayloadOrOneProperty) {
  mqtt::Publish pub;
  pub.qos = 1;
  pub.packet_id = 3;
  pub.topic = "t";
  pub.payload = "hello";
  pub.properties.add_number(mqtt::PropertyId::message_expiry_interval, 60).add_user("k", "v");
  const auto packet = encoded(pub, mqtt::Version::v5);
  const auto candidates = structural_removals(packet, mqtt::Version::v5);
  ASSERT_EQ(candidates.size(), 3u);
  const auto no_payload = decoded_as<mqtt::PublishView>(candidates[0], mqtt::Version::v5);
  EXPECT_EQ(no_payload.payload, "");
  EXPECT_TRUE(no_payload.properties.find(mqtt::PropertyId::user_property));
  const auto no_user = decoded_as<mqtt::PublishView>(candidates[1], mqtt::Version::v5);
  EXPECT_FALSE(no_user.properties.find(mqtt::PropertyId::user_property));
  EXPECT_TRUE(no_user.properties.find(mqtt::PropertyId::message_expiry_interval));
  EXPECT_EQ(no_user.payload, "hello");
  const auto no_expiry = decoded_as<mqtt::PublishView>(candidates[2], mqtt::Version::v5);
  EXPECT_FALSE(no_expiry.properties.find(mqtt::PropertyId::message_expiry_interval));
  EXPECT_EQ(no_expiry.properties.find(mqtt::PropertyId::user_property)->value, "v");
  EXPECT_EQ(no_expiry.topic, "t");
  EXPECT_EQ(no_expiry.packet_id, 3);
}

TEST(StructuralRemovals, ConnectLosesCredentialsOrWillPartsInItsOwnVersion) {
  // A 3.1.1 CONNECT on a run whose connections default to 5.0: it is read and re-encoded
  // in the version it declares.
  mqtt::Connect c;
  c.protocol_name = "MQTT";
  c.protocol_version = mqtt::Version::v3_1_1;
  c.client_id = "id";
  c.username = "user";
  c.password = "pw";
  c.will = mqtt::Will{};
  c.will->topic = "w";
  c.will->payload = "bye";
  const auto packet = encoded(c, mqtt::Version::v3_1_1);
  const auto candidates = structural_removals(packet, mqtt::Version::v5);
  ASSERT_EQ(candidates.size(), 4u);
  const auto no_password = decoded_as<mqtt::ConnectView>(candidates[0], mqtt::Version::v3_1_1);
  EXPECT_EQ(no_password.protocol_version, mqtt::Version::v3_1_1);
  EXPECT_EQ(no_password.username, "user");
  EXPECT_FALSE(no_password.password);
  const auto no_credentials = decoded_as<mqtt::ConnectView>(candidates[1], mqtt::Version::v3_1_1);
  EXPECT_FALSE(no_credentials.username);
  EXPECT_FALSE(no_credentials.password);
  const auto no_will = decoded_as<mqtt::ConnectView>(candidates[2], mqtt::Version::v3_1_1);
  EXPECT_FALSE(no_will.will);
  EXPECT_EQ(no_will.client_id, "id");
  const auto empty_will = decoded_as<mqtt::ConnectView>(candidates[3], mqtt::Version::v3_1_1);
  ASSERT_TRUE(empty_will.will);
  EXPECT_EQ(empty_will.will->topic, "w");
  EXPECT_EQ(empty_will.will->payload, "");
}

TEST(StructuralRemovals, AFindingsPacketThatBreaksARuleOfMeaningShrinksToTheBrokenPart) {
  // The shape of a finding against mosquitto: a 5.0 SUBSCRIBE whose first subscription sets
  // No Local on a shared subscription [MQTT-3.8.3-4], followed by two valid ones.
  mqtt::Subscribe sub;
  sub.packet_id = 0x2930;
  sub.subscriptions.push_back({.filter = "$share/g/fz/t", .options = {.qos = 1, .no_local = true}});
  sub.subscriptions.push_back({.filter = "$share/g/fz/t", .options = {.qos = 2}});
  sub.subscriptions.push_back({.filter = "fz/#", .options = {.qos = 0}});
  const auto packet = encoded(sub, mqtt::Version::v5);
  ASSERT_EQ(mqtt::decode(packet, {.version = mqtt::Version::v5}).error.spec, "MQTT-3.8.3-4");
  const auto candidates = structural_removals(packet, mqtt::Version::v5);
  ASSERT_EQ(candidates.size(), 3u);
  // Without the third or the second subscription it still breaks the rule; without the
  // first it decodes cleanly (a minimiser would not keep that one).
  EXPECT_EQ(mqtt::decode(candidates[0], {.version = mqtt::Version::v5}).error.spec, "MQTT-3.8.3-4");
  EXPECT_EQ(mqtt::decode(candidates[1], {.version = mqtt::Version::v5}).error.spec, "MQTT-3.8.3-4");
  EXPECT_TRUE(mqtt::decode(candidates[2], {.version = mqtt::Version::v5}).ok());
  // Applied twice, as the minimiser does, only the broken subscription is left.
  const auto second = structural_removals(candidates[0], mqtt::Version::v5);
  ASSERT_EQ(second.size(), 2u);
  const auto d = mqtt::decode(second[0], {.version = mqtt::Version::v5});
  EXPECT_EQ(d.error.spec, "MQTT-3.8.3-4");
  const auto* left = std::get_if<mqtt::SubscribeView>(&d.value);
  ASSERT_TRUE(left);
  ASSERT_EQ(left->subscriptions.size(), 1u);
  EXPECT_TRUE(left->subscriptions[0].options.no_local);
}

TEST(StructuralRemovals, NothingForPacketsThatDoNotDecodeOrHaveNoParts) {
  EXPECT_TRUE(structural_removals(bytes({0x30, 0x09, 0x00, 0x03, 'a', '/', 'b', 'x'}), mqtt::Version::v3_1_1).empty());
  EXPECT_TRUE(structural_removals("", mqtt::Version::v5).empty());
  EXPECT_TRUE(structural_removals(bytes({0xC0, 0x00}), mqtt::Version::v5).empty());  // PINGREQ
  // One filter is all an UNSUBSCRIBE may not lose [MQTT-3.10.3-2]; a payload-less PUBLISH
  // has nothing to drop.
  mqtt::Unsubscribe unsub;
  unsub.packet_id = 1;
  unsub.filters = {"only"};
  EXPECT_TRUE(structural_removals(encoded(unsub, mqtt::Version::v3_1_1), mqtt::Version::v3_1_1).empty());
  mqtt::Publish bare;
  bare.topic = "t";
  EXPECT_TRUE(structural_removals(encoded(bare, mqtt::Version::v3_1_1), mqtt::Version::v3_1_1).empty());
}

}  // namespace
