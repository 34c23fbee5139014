// ClientObligations: what a client under test is held to in role: server scenarios, each
// breach with its client-side statement (docs/spec/*.tsv).
#include <gtest/gtest.h>

#include "ClientObligations.hpp"

using mqtth::runner::ClientObligations;
using mqtth::runner::ObligationBreach;
using mqtt::Version;

namespace {

mqtt::PacketView connect(bool clean, std::uint16_t keep_alive, Version v) {
  mqtt::ConnectView c;
  c.protocol_name = "MQTT";
  c.protocol_version = v;
  c.clean_start = clean;
  c.keep_alive = keep_alive;
  c.client_id = "c";
  return c;
}
mqtt::PacketView connack(bool session_present, std::string_view properties = {}) {
  mqtt::ConnackView c;
  c.session_present = session_present;
  c.properties = mqtt::PropertiesView(properties);
  return c;
}
mqtt::PacketView publish(std::uint8_t qos, std::uint16_t id, bool dup = false, std::string_view properties = {}) {
  mqtt::PublishView p;
  p.qos = qos;
  p.packet_id = id;
  p.dup = dup;
  p.topic = "t/a";
  p.payload = "hello";
  p.properties = mqtt::PropertiesView(properties);
  return p;
}
template <class Ack>
mqtt::PacketView ack(std::uint16_t id) {
  Ack a;
  a.packet_id = id;
  return a;
}

std::string statements(const std::vector<ObligationBreach>& breaches) {
  std::string out;
  for (const auto& b : breaches) out += (out.empty() ? "" : " ") + b.statement;
  return out;
}

// A client connected on a fresh connection with a successful CONNACK.
ClientObligations connected(Version v, bool clean = false, std::uint16_t keep_alive = 0, std::string_view connack_props = {}) {
  ClientObligations o(v);
  o.connection_opened();
  EXPECT_TRUE(o.client_sent(connect(clean, keep_alive, v), 0).empty());
  o.server_sent(connack(false, connack_props), 0);
  return o;
}

}  // namespace

TEST(ClientObligations, FirstPacketNotConnectIsMQTT_3_1_0_1) {
  ClientObligations o(Version::v3_1_1);
  o.connection_opened();
  EXPECT_EQ(statements(o.client_sent(publish(0, 0), 0)), "MQTT-3.1.0-1");
}

TEST(ClientObligations, PublishInsteadOfPubrelAfterPubrecIsMQTT_4_3_3_1_and_5_0s_4_3_3_4) {
  for (auto [v, id] : {std::pair{Version::v3_1_1, "MQTT-4.3.3-1"}, std::pair{Version::v5, "MQTT-4.3.3-4"}}) {
    auto o = connected(v);
    EXPECT_TRUE(o.client_sent(publish(2, 5), 1).empty());
    o.server_sent(ack<mqtt::PubrecView>(5), 2);
    EXPECT_EQ(statements(o.client_sent(publish(2, 5, true), 3)), id);
  }
}

TEST(ClientObligations, PubrelAfterPubrecThenANewMessageOnTheFreedIdIsFine) {
  auto o = connected(Version::v5);
  EXPECT_TRUE(o.client_sent(publish(2, 5), 1).empty());
  o.server_sent(ack<mqtt::PubrecView>(5), 2);
  EXPECT_TRUE(o.client_sent(ack<mqtt::PubrelView>(5), 3).empty());
  o.server_sent(ack<mqtt::PubcompView>(5), 4);
  EXPECT_TRUE(o.client_sent(publish(1, 5), 5).empty());
}

TEST(ClientObligations, ResendOnANewConnectionWithoutDupIsMQTT_3_3_1_1) {
  auto o = connected(Version::v3_1_1);
  EXPECT_TRUE(o.client_sent(publish(1, 7), 1).empty());
  o.connection_closed();
  o.connection_opened();
  EXPECT_TRUE(o.client_sent(connect(false, 0, Version::v3_1_1), 2).empty());
  o.server_sent(connack(true), 3);
  EXPECT_EQ(statements(o.client_sent(publish(1, 7, false), 4)), "MQTT-3.3.1-1");
}

TEST(ClientObligations, ResendWithDupIsFine) {
  auto o = connected(Version::v3_1_1);
  EXPECT_TRUE(o.client_sent(publish(1, 7), 1).empty());
  o.connection_opened();
  EXPECT_TRUE(o.client_sent(connect(false, 0, Version::v3_1_1), 2).empty());
  o.server_sent(connack(true), 3);
  EXPECT_TRUE(o.client_sent(publish(1, 7, true), 4).empty());
}

TEST(ClientObligations, SessionPresent0LetsTheClientStartAfresh) {
  auto o = connected(Version::v5);
  EXPECT_TRUE(o.client_sent(publish(2, 5), 1).empty());
  o.server_sent(ack<mqtt::PubrecView>(5), 2);
  o.connection_opened();
  EXPECT_TRUE(o.client_sent(connect(false, 0, Version::v5), 3).empty());
  o.server_sent(connack(false), 4);
  EXPECT_TRUE(o.client_sent(publish(2, 5), 5).empty());
}

TEST(ClientObligations, PubrelOfADiscardedSessionIsMQTT_3_2_2_5_in_5_0_only) {
  for (auto [v, id] : {std::pair{Version::v3_1_1, ""}, std::pair{Version::v5, "MQTT-3.2.2-5"}}) {
    auto o = connected(v);
    EXPECT_TRUE(o.client_sent(publish(2, 5), 1).empty());
    o.server_sent(ack<mqtt::PubrecView>(5), 2);
    EXPECT_TRUE(o.client_sent(ack<mqtt::PubrelView>(5), 3).empty());
    o.connection_opened();
    EXPECT_TRUE(o.client_sent(connect(false, 0, v), 4).empty());
    o.server_sent(connack(false), 5);
    const auto breaches = o.client_sent(ack<mqtt::PubrelView>(5), 6);
    ASSERT_EQ(breaches.size(), 1u);
    EXPECT_EQ(breaches.front().statement, id);
  }
}

TEST(ClientObligations, PubrelResentOnAResumedSessionIsFine) {
  auto o = connected(Version::v5);
  EXPECT_TRUE(o.client_sent(publish(2, 5), 1).empty());
  o.server_sent(ack<mqtt::PubrecView>(5), 2);
  o.connection_opened();
  EXPECT_TRUE(o.client_sent(connect(false, 0, Version::v5), 3).empty());
  o.server_sent(connack(true), 4);
  EXPECT_TRUE(o.client_sent(ack<mqtt::PubrelView>(5), 5).empty());
}

TEST(ClientObligations, PubrelWithAnIdTheHarnessNeverPubrecdIsMQTT_2_3_1_6_and_5_0s_2_2_1_5) {
  for (auto [v, id] : {std::pair{Version::v3_1_1, "MQTT-2.3.1-6"}, std::pair{Version::v5, "MQTT-2.2.1-5"}}) {
    auto o = connected(v);
    EXPECT_TRUE(o.client_sent(publish(2, 5), 1).empty());
    o.server_sent(ack<mqtt::PubrecView>(5), 2);
    EXPECT_EQ(statements(o.client_sent(ack<mqtt::PubrelView>(6), 3)), id);
  }
}

TEST(ClientObligations, KeepAliveJudgedAtOneAndAHalfTimesIt_MQTT_3_1_2_23) {
  auto o = connected(Version::v3_1_1, true, 2);
  ASSERT_TRUE(o.keep_alive_due_ms());
  EXPECT_DOUBLE_EQ(*o.keep_alive_due_ms(), 3000);
  EXPECT_FALSE(o.idle_check(2999));
  ASSERT_TRUE(o.idle_check(3000));
  EXPECT_EQ(o.idle_check(3000)->statement, "MQTT-3.1.2-23");
  EXPECT_TRUE(o.client_sent(mqtt::PingreqView{}, 2500).empty());
  EXPECT_FALSE(o.idle_check(5000));
  o.connection_closed();
  EXPECT_FALSE(o.keep_alive_due_ms());
}

TEST(ClientObligations, ServerKeepAliveReplacesTheClientsOwn_MQTT_3_2_2_21) {
  std::string props;
  ASSERT_TRUE(mqtt::append_property(props, {mqtt::PropertyId::server_keep_alive, 1, {}, {}}));
  auto o = connected(Version::v5, true, 60, props);
  ASSERT_TRUE(o.keep_alive_due_ms());
  EXPECT_DOUBLE_EQ(*o.keep_alive_due_ms(), 1500);
  EXPECT_EQ(o.idle_check(1500)->statement, "MQTT-3.2.2-21");
  auto own = connected(Version::v5, true, 1);
  EXPECT_EQ(own.idle_check(1500)->statement, "MQTT-3.1.2-20");
}

TEST(ClientObligations, SubscriptionIdentifierInAClientPublishIsMQTT_3_3_4_6) {
  std::string props;
  ASSERT_TRUE(mqtt::append_property(props, {mqtt::PropertyId::subscription_identifier, 3, {}, {}}));
  auto o = connected(Version::v5);
  EXPECT_EQ(statements(o.client_sent(publish(0, 0, false, props), 1)), "MQTT-3.3.4-6");
}

TEST(ClientObligations, InFlightBeyondTheServersReceiveMaximumIsMQTT_3_3_4_7) {
  std::string props;
  ASSERT_TRUE(mqtt::append_property(props, {mqtt::PropertyId::receive_maximum, 1, {}, {}}));
  auto o = connected(Version::v5, true, 0, props);
  EXPECT_TRUE(o.client_sent(publish(1, 1), 1).empty());
  EXPECT_EQ(statements(o.client_sent(publish(1, 2), 2)), "MQTT-3.3.4-7");
  o.server_sent(ack<mqtt::PubackView>(1), 3);
}

TEST(ClientObligations, ServerOnlyPacketsAndPacketsAfterDisconnect) {
  auto o = connected(Version::v3_1_1);
  auto b = o.client_sent(mqtt::PingrespView{}, 1);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].statement, "");
  EXPECT_TRUE(o.client_sent(mqtt::DisconnectView{}, 2).empty());
  EXPECT_EQ(statements(o.client_sent(mqtt::PingreqView{}, 3)), "MQTT-3.14.4-2");
}

TEST(ClientObligations, NothingButDisconnectOnARefusedConnection) {
  ClientObligations o(Version::v5);
  o.connection_opened();
  EXPECT_TRUE(o.client_sent(connect(true, 0, Version::v5), 0).empty());
  mqtt::ConnackView refused;
  refused.reason_code = 0x87;
  o.server_sent(refused, 1);
  const auto b = o.client_sent(publish(1, 1), 2);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(b[0].message.find("refused"), std::string::npos);
  o.connection_opened();
  EXPECT_TRUE(o.client_sent(connect(true, 0, Version::v5), 3).empty());
}
