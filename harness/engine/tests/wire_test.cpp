// Bytes in and packets out (wire.cpp): malformed packets and protocol errors answered
// per 4.13 (5.0) and 4.8 (3.1.1), packets a client may not send, any chunking of input,
// Reason Strings left out above the client's Maximum Packet Size.
#include "broker_test_util.hpp"

TEST(BrokerViolation, malformed_packet_gets_disconnect_0x81_then_close_MQTT_4_13_1_1) {
  Net net;
  auto id = net.connect(Version::v5, "m");
  net.send_raw(id, hex_to_bytes("33 02 00 01"));  // QoS 1 PUBLISH too short for its packet id
  auto packets = net.take(id);
  ASSERT_EQ(packets.size(), 1u);
  auto* d = std::get_if<mqtt::Disconnect>(&packets[0]);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason_code, 0x81);
  EXPECT_TRUE(net.closed(id));  // [MQTT-4.13.2-1]
  EXPECT_EQ(net.engine.connection_count(), 0u);
}

TEST(BrokerViolation, publish_qos3_is_malformed_MQTT_3_3_1_4) {
  Net net;
  auto id = net.connect(Version::v5, "m");
  net.send_raw(id, hex_to_bytes("36 05 00 01 61 00 01"));
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x81);
}

TEST(BrokerViolation, v311_malformed_packet_closes_without_answer_MQTT_4_8_0_1_v311) {
  Net net;
  auto id = net.connect(Version::v3_1_1, "m");
  net.send_raw(id, hex_to_bytes("36 05 00 01 61 00 01"));
  EXPECT_TRUE(net.closed(id));
  EXPECT_TRUE(net.take(id).empty());
}

TEST(BrokerViolation, malformed_v5_connect_gets_connack_with_the_error_MQTT_4_13_1_1) {
  Net net;
  auto id = net.open(Version::v5);
  // v5 CONNECT whose reserved flag bit 0 is set [MQTT-3.1.2-3].
  net.send_raw(id, hex_to_bytes("10 0e 00 04 4d 51 54 54 05 03 00 00 00 00 01 61"));
  auto ack = net.take_one<mqtt::Connack>(id);
  EXPECT_GE(ack.reason_code, 0x80);
  EXPECT_FALSE(ack.session_present);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerViolation, client_sending_a_server_packet_is_protocol_error_0x82_MQTT_4_13_1_1) {
  Net net;
  auto id = net.connect(Version::v5, "c");
  net.send(id, mqtt::Pingresp{});
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x82);
}

TEST(BrokerViolation, auth_without_a_method_is_protocol_error_4_12) {
  Net net;
  auto id = net.connect(Version::v5, "c");
  net.send(id, mqtt::Auth{0x18, {}});
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x82);
}

TEST(BrokerViolation, session_expiry_on_disconnect_after_zero_is_protocol_error_3_14_2_2_2) {
  Net net;
  auto id = net.connect(Version::v5, "c");
  mqtt::Disconnect d;
  d.properties.add_number(PropertyId::session_expiry_interval, 30);
  net.send(id, d);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x82);
}

TEST(BrokerViolation, server_disconnect_never_carries_session_expiry_MQTT_3_14_2_2) {
  Net net;
  auto id = net.connect(Version::v5, "c", false, props({{PropertyId::session_expiry_interval, 30}}));
  net.send(id, mqtt::Pingresp{});
  auto d = net.take_one<mqtt::Disconnect>(id);
  EXPECT_FALSE(d.properties.find(PropertyId::session_expiry_interval).has_value());
}

TEST(BrokerPublish, disconnect_reason_string_is_left_out_when_it_would_exceed_the_client_maximum_MQTT_3_14_2_3) {
  Net net;
  auto id = net.connect(Version::v5, "small", true, props({{PropertyId::maximum_packet_size, 30}}));
  net.send(id, mqtt::Pingresp{});  // protocol error: DISCONNECT 0x82 with a long reason string
  auto d = net.take_one<mqtt::Disconnect>(id);
  EXPECT_EQ(d.reason_code, 0x82);
  EXPECT_FALSE(d.properties.find(PropertyId::reason_string).has_value());
}

TEST(BrokerPublish, bytes_split_at_every_offset_give_the_same_result) {
  auto connect = encoded(make_connect(Version::v5, "split"), Version::v5);
  auto sub = encoded(make_subscribe(1, "s/#", 1), Version::v5);
  auto pub = encoded(make_publish("s/x", "payload", 1, 4), Version::v5);
  std::string stream = connect + sub + pub;
  Net whole;
  auto w = whole.open(Version::v5);
  whole.send_raw(w, stream);
  std::string expected = whole.peers[w].bytes;
  ASSERT_FALSE(expected.empty());
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    Net net;
    auto id = net.open(Version::v5);
    net.send_raw(id, stream.substr(0, cut));
    net.send_raw(id, stream.substr(cut));
    EXPECT_EQ(net.peers[id].bytes, expected) << "split at " << cut;
  }
}
