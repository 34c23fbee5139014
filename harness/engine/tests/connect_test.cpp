// CONNECT and CONNACK (connect.cpp): protocol levels, client identifiers, authentication,
// session takeover, resumption and expiry, keep-alive, connect timeout, what CONNACK
// announces, refusals.
#include "broker_test_util.hpp"

TEST(BrokerConnect, v311_connack_for_clean_session_is_20_02_00_00_MQTT_3_2_2_1_v311) {
  Net net;
  auto id = net.open(Version::v3_1_1);
  // 3.1.1 CONNECT, client id "a", clean session, keep alive 0 (3.1 figure 3.6).
  net.send_raw(id, hex_to_bytes("10 0d 00 04 4d 51 54 54 04 02 00 00 00 01 61"));
  EXPECT_EQ(net.peers[id].bytes, hex_to_bytes("20 02 00 00"));
  EXPECT_FALSE(net.closed(id));
}

TEST(BrokerConnect, v31_connect_is_accepted_MQTT_3_1_2_1_v311) {
  Net net;
  bool present = true;
  net.connect(Version::v3_1, "old-client", true, {}, 0, std::nullopt, &present);
  EXPECT_FALSE(present);
  EXPECT_EQ(net.engine.session("old-client")->version, Version::v3_1);
}

TEST_P(BothVersions, first_packet_other_than_connect_closes_without_answer_MQTT_3_1_0_1) {
  Net net;
  auto id = net.open(GetParam());
  net.send(id, mqtt::Pingreq{});
  EXPECT_TRUE(net.closed(id));
  EXPECT_TRUE(net.take(id).empty());
}

TEST(BrokerConnect, second_connect_is_a_protocol_error_0x82_MQTT_3_1_0_2) {
  Net net;
  auto id = net.connect(Version::v5, "c1");
  net.send(id, make_connect(Version::v5, "c1"));
  auto d = net.take_one<mqtt::Disconnect>(id);  // no second CONNACK [MQTT-3.2.0-2]
  EXPECT_EQ(d.reason_code, 0x82);
  // Net::collect() fails any test in which bytes follow a close [MQTT-3.14.4-1].
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, v311_second_connect_closes_the_connection_MQTT_3_1_0_2_v311) {
  Net net;
  auto id = net.connect(Version::v3_1_1, "c1");
  net.send(id, make_connect(Version::v3_1_1, "c1"));
  EXPECT_TRUE(net.closed(id));
  EXPECT_TRUE(net.take(id).empty());
}

TEST(BrokerConnect, empty_client_id_gets_an_assigned_client_identifier_MQTT_3_1_3_6_MQTT_3_2_2_16) {
  Net net;
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, ""));
  auto ack = net.take_one<mqtt::Connack>(id);
  EXPECT_EQ(ack.reason_code, 0);  // [MQTT-3.1.4-5]
  auto assigned = ack.properties.find(PropertyId::assigned_client_identifier);
  ASSERT_TRUE(assigned.has_value());
  EXPECT_FALSE(assigned->value.empty());
  EXPECT_TRUE(net.engine.session(assigned->value).has_value());  // handled under that id [MQTT-3.1.3-7]
}

TEST(BrokerConnect, v311_empty_client_id_with_clean_session_0_is_refused_0x02_MQTT_3_1_3_8_v311) {
  Net net;
  auto id = net.open(Version::v3_1_1);
  net.send(id, make_connect(Version::v3_1_1, "", false));
  auto ack = net.take_one<mqtt::Connack>(id);
  EXPECT_EQ(ack.reason_code, 0x02);  // identifier rejected (3.1.1: MQTT-3.1.3-9)
  EXPECT_FALSE(ack.session_present);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, v311_empty_client_id_with_clean_session_is_accepted_MQTT_3_1_3_6_v311) {
  Net net;
  auto id = net.open(Version::v3_1_1);
  net.send(id, make_connect(Version::v3_1_1, "", true));
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, 0);
}

TEST(BrokerConnect, unsupported_protocol_level_gets_connack_0x01_and_close_MQTT_3_1_2_2_v311) {
  Net net;
  auto id = net.open(Version::v3_1_1);
  // CONNECT with protocol level 6.
  net.send_raw(id, hex_to_bytes("10 0d 00 04 4d 51 54 54 06 02 00 00 00 01 61"));
  // A level the broker does not know: refused and closed (also [MQTT-3.1.2-2] in 5.0,
  // where the CONNACK is optional).
  EXPECT_EQ(net.peers[id].bytes, hex_to_bytes("20 02 00 01"));
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, session_takeover_sends_disconnect_0x8e_to_the_old_connection_MQTT_3_1_4_3) {
  Net net;
  auto first = net.connect(Version::v5, "dup");
  auto second = net.connect(Version::v5, "dup");  // same ClientID, same session [MQTT-3.1.3-2]
  auto d = net.take_one<mqtt::Disconnect>(first);
  EXPECT_EQ(d.reason_code, 0x8E);
  EXPECT_TRUE(net.closed(first));
  EXPECT_FALSE(net.closed(second));
  EXPECT_EQ(net.engine.session("dup")->connection, second);
}

TEST(BrokerConnect, v311_session_takeover_closes_the_old_connection_MQTT_3_1_4_2_v311) {
  Net net;
  auto first = net.connect(Version::v3_1_1, "dup");
  auto second = net.connect(Version::v3_1_1, "dup");
  EXPECT_TRUE(net.closed(first));
  EXPECT_TRUE(net.take(first).empty());
  EXPECT_FALSE(net.closed(second));
}

TEST_P(BothVersions, resumed_session_has_session_present_1_MQTT_3_2_2_3) {
  Net net;
  mqtt::Properties p = session_expiry(GetParam(), 100);
  bool present = true;
  auto id = net.connect(GetParam(), "keep", false, p, 0, std::nullopt, &present);
  EXPECT_FALSE(present);  // no session existed [MQTT-3.1.2-6]
  net.subscribe(id, "t/#", 1);
  net.lose(id);
  ASSERT_TRUE(net.engine.session("keep").has_value());  // [MQTT-3.1.2-23]
  net.connect(GetParam(), "keep", false, p, 0, std::nullopt, &present);
  EXPECT_TRUE(present);  // [MQTT-3.1.2-5]
  EXPECT_EQ(net.engine.session("keep")->subscriptions, 1u);
}

TEST_P(BothVersions, clean_start_discards_the_existing_session_MQTT_3_1_2_4) {
  Net net;
  mqtt::Properties p = session_expiry(GetParam(), 100);
  auto id = net.connect(GetParam(), "c", false, p);
  net.subscribe(id, "t/#", 1);
  net.lose(id);
  bool present = true;
  net.connect(GetParam(), "c", true, p, 0, std::nullopt, &present);
  EXPECT_FALSE(present);  // [MQTT-3.2.2-2] [MQTT-3.1.4-4]
  EXPECT_EQ(net.engine.session("c")->subscriptions, 0u);
}

TEST(BrokerConnect, session_state_is_discarded_when_the_expiry_interval_passes_MQTT_4_1_0_2) {
  Net net;
  auto id = net.connect(Version::v5, "exp", false, props({{PropertyId::session_expiry_interval, 10}}));
  net.lose(id);
  ASSERT_TRUE(net.engine.next_deadline().has_value());
  EXPECT_EQ(*net.engine.next_deadline(), net.now + 10'000);
  net.advance(9'999);
  EXPECT_TRUE(net.engine.session("exp").has_value());
  net.advance(1);
  EXPECT_FALSE(net.engine.session("exp").has_value());
}

TEST(BrokerConnect, session_expiry_0_ends_the_session_at_disconnect_MQTT_3_1_2_23) {
  Net net;
  auto id = net.connect(Version::v5, "gone", false);
  EXPECT_TRUE(net.engine.session("gone").has_value());  // kept while connected [MQTT-4.1.0-1]
  net.lose(id);
  EXPECT_FALSE(net.engine.session("gone").has_value());
}

TEST_P(BothVersions, keep_alive_closes_after_one_and_a_half_times_without_packets_MQTT_3_1_2_22) {
  Net net;
  auto id = net.connect(GetParam(), "ka", true, {}, 10);
  net.advance(14'999);
  EXPECT_FALSE(net.closed(id));
  net.send(id, mqtt::Pingreq{});
  EXPECT_EQ(net.take(id).size(), 1u);  // PINGRESP [MQTT-3.12.4-1]
  net.advance(14'999);  // timer restarted by the PINGREQ
  EXPECT_FALSE(net.closed(id));
  net.advance(1);
  EXPECT_TRUE(net.closed(id));
  if (GetParam() == Version::v5) {
    EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x8D);
  }
}

TEST(BrokerConnect, server_keep_alive_is_announced_and_applied_3_2_2_3_14) {
  BrokerConfig config;
  config.server_keep_alive = 2;
  Net net(config);
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, "ska", true, 100));
  auto ack = net.take_one<mqtt::Connack>(id);
  ASSERT_TRUE(ack.properties.find(PropertyId::server_keep_alive).has_value());
  EXPECT_EQ(ack.properties.find(PropertyId::server_keep_alive)->number, 2u);
  net.advance(3'000);
  EXPECT_TRUE(net.closed(id));
}

// Server Keep Alive of a CONNACK, or nullopt when it carries none.
static std::optional<std::uint32_t> server_keep_alive_of(const mqtt::Connack& ack) {
  auto p = ack.properties.find(PropertyId::server_keep_alive);
  return p ? std::optional<std::uint32_t>(p->number) : std::nullopt;
}

TEST(BrokerConnect, max_keep_alive_answers_a_longer_or_zero_keep_alive_with_server_keep_alive_MQTT_3_2_2_21) {
  BrokerConfig config;
  config.max_keep_alive = 60;
  Net net(config);
  for (std::uint16_t asked : {std::uint16_t{120}, std::uint16_t{0}}) {
    auto id = net.open(Version::v5);
    net.send(id, make_connect(Version::v5, "k" + std::to_string(asked), true, asked));
    EXPECT_EQ(server_keep_alive_of(net.take_one<mqtt::Connack>(id)), 60u) << "asked " << asked;
    // The client must now use 60 s [MQTT-3.2.2-21]; the broker holds it to that.
    net.advance(89'999);
    EXPECT_FALSE(net.closed(id)) << "asked " << asked;
    net.advance(1);
    EXPECT_TRUE(net.closed(id)) << "asked " << asked;
    EXPECT_EQ(net.take_one<mqtt::Disconnect>(id).reason_code, 0x8D);
  }
}

TEST(BrokerConnect, max_keep_alive_leaves_a_shorter_keep_alive_unannounced_MQTT_3_2_2_22) {
  BrokerConfig config;
  config.max_keep_alive = 60;
  Net net(config);
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, "k", true, 60));
  EXPECT_EQ(server_keep_alive_of(net.take_one<mqtt::Connack>(id)), std::nullopt);
  net.advance(89'999);
  EXPECT_FALSE(net.closed(id));
  net.advance(1);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, max_keep_alive_caps_server_keep_alive_too) {
  BrokerConfig config;
  config.server_keep_alive = 100;
  config.max_keep_alive = 60;
  Net net(config);
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, "k", true, 10));
  EXPECT_EQ(server_keep_alive_of(net.take_one<mqtt::Connack>(id)), 60u);
}

TEST(BrokerConnect, v311_keep_alive_is_the_clients_own_under_max_keep_alive_MQTT_3_1_2_24_v311) {
  // 3.1.1 cannot tell the client another value: its own Keep Alive stays in force, 0 too.
  BrokerConfig config;
  config.max_keep_alive = 60;
  Net net(config);
  auto none = net.connect(Version::v3_1_1, "none", true, {}, 0);
  auto slow = net.connect(Version::v3_1_1, "slow", true, {}, 120);
  net.advance(179'999);
  EXPECT_FALSE(net.closed(none));
  EXPECT_FALSE(net.closed(slow));
  net.advance(1);
  EXPECT_TRUE(net.closed(slow));  // 1.5 x its own 120 s
  net.advance(3'600'000);
  EXPECT_FALSE(net.closed(none));
}

TEST(BrokerConnect, pingreq_is_answered_with_pingresp_MQTT_3_12_4_1) {
  Net net;
  auto id = net.connect(Version::v3_1_1, "p");
  net.send(id, mqtt::Pingreq{});
  EXPECT_EQ(net.peers[id].bytes, hex_to_bytes("d0 00"));
}

TEST(BrokerConnect, connection_without_connect_is_closed_after_connect_timeout) {
  BrokerConfig config;
  config.connect_timeout_ms = 500;
  Net net(config);
  auto id = net.open(Version::v5);
  net.advance(499);
  EXPECT_FALSE(net.closed(id));
  net.advance(1);
  EXPECT_TRUE(net.closed(id));
  EXPECT_EQ(net.engine.connection_count(), 0u);
}

TEST(BrokerConnect, connections_above_max_connections_are_closed_at_once) {
  BrokerConfig config;
  config.max_connections = 2;
  Net net(config);
  auto a = net.open(Version::v5);
  auto b = net.open(Version::v5);
  auto c = net.open(Version::v5);
  EXPECT_FALSE(net.closed(a));
  EXPECT_FALSE(net.closed(b));
  EXPECT_TRUE(net.closed(c));
  EXPECT_EQ(net.engine.connection_count(), 2u);
  EXPECT_EQ(net.engine.stats().connections_refused, 1u);
}

TEST(BrokerConnect, wrong_password_is_refused_0x86_MQTT_3_1_4_2) {
  BrokerConfig config;
  config.users["alice"] = "secret";
  Net net(config);
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, "a");
  c.username = "alice";
  c.password = "wrong";
  net.send(id, c);
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, 0x86);
  EXPECT_TRUE(net.closed(id));
  auto ok = net.open(Version::v5);
  c.password = "secret";
  net.send(ok, c);
  EXPECT_EQ(net.take_one<mqtt::Connack>(ok).reason_code, 0x00);
}

TEST(BrokerConnect, v311_wrong_password_is_refused_0x04_MQTT_3_1_4_2_v311) {
  BrokerConfig config;
  config.users["alice"] = "secret";
  Net net(config);
  auto id = net.open(Version::v3_1_1);
  auto c = make_connect(Version::v3_1_1, "a");
  c.username = "alice";
  c.password = "nope";
  net.send(id, c);
  EXPECT_EQ(net.peers[id].bytes, hex_to_bytes("20 02 00 04"));
  EXPECT_TRUE(net.closed(id));
}

TEST_P(BothVersions, anonymous_connection_refused_when_not_allowed_MQTT_3_1_4_2) {
  BrokerConfig config;
  config.allow_anonymous = false;
  Net net(config);
  auto id = net.open(GetParam());
  net.send(id, make_connect(GetParam(), "anon"));
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, GetParam() == Version::v5 ? 0x87 : 0x05);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, authentication_method_is_refused_0x8c_MQTT_4_12_0_1) {
  Net net;
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, "auth");
  c.properties.add_string(PropertyId::authentication_method, "SCRAM-SHA-1");
  net.send(id, c);
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, 0x8C);
  EXPECT_TRUE(net.closed(id));
}

// Found by fuzz_broker_engine (fuzz/regressions/broker_engine/refused-connack-above-client-maximum-packet-size):
// the refusal was built before the CONNECT's Maximum Packet Size was taken into account.
TEST(BrokerConnect, refusing_connack_leaves_out_the_reason_string_above_the_client_maximum_packet_size_MQTT_3_2_2_19) {
  BrokerConfig config;
  config.max_sessions = 1;
  Net net(config);
  net.send(net.open(Version::v5), make_connect(Version::v5, "first"));
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, "second");
  c.properties.add_number(PropertyId::maximum_packet_size, 16);
  net.send(id, c);
  ASSERT_LE(net.peers[id].bytes.size(), 16u) << "CONNACK above the client's Maximum Packet Size [MQTT-3.1.2-24]";
  auto ack = net.take_one<mqtt::Connack>(id);
  EXPECT_EQ(ack.reason_code, 0x97);  // quota exceeded
  EXPECT_FALSE(ack.properties.find(PropertyId::reason_string).has_value());
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, connack_announces_limits_and_unavailable_features_3_2_2_3) {
  BrokerConfig config;
  config.receive_maximum = 7;
  config.maximum_qos = 1;
  config.retain_available = false;
  config.maximum_packet_size = 4096;
  config.max_topic_alias = 3;
  config.wildcard_subscription_available = false;
  config.shared_subscription_available = false;
  config.subscription_identifiers_available = false;
  Net net(config);
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, "x"));
  auto ack = net.take_one<mqtt::Connack>(id);
  auto number = [&](PropertyId pid) { return ack.properties.find(pid) ? ack.properties.find(pid)->number : 9999u; };
  EXPECT_EQ(number(PropertyId::receive_maximum), 7u);
  EXPECT_EQ(number(PropertyId::maximum_qos), 1u);  // [MQTT-3.2.2-9]
  EXPECT_EQ(number(PropertyId::retain_available), 0u);
  EXPECT_EQ(number(PropertyId::maximum_packet_size), 4096u);
  EXPECT_EQ(number(PropertyId::topic_alias_maximum), 3u);
  EXPECT_EQ(number(PropertyId::wildcard_subscription_available), 0u);
  EXPECT_EQ(number(PropertyId::shared_subscription_available), 0u);
  EXPECT_EQ(number(PropertyId::subscription_identifier_available), 0u);
}

TEST(BrokerConnect, response_information_only_when_requested_MQTT_3_1_2_28) {
  Net net;
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, "rr"));
  EXPECT_FALSE(net.take_one<mqtt::Connack>(id).properties.find(PropertyId::response_information).has_value());
  auto id2 = net.open(Version::v5);
  auto c = make_connect(Version::v5, "rr2");
  c.properties.add_number(PropertyId::request_response_information, 1);
  net.send(id2, c);
  // The default prefix "response/" (docs/broker.md) followed by the client identifier.
  const auto info = net.take_one<mqtt::Connack>(id2).properties.find(PropertyId::response_information);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->value, "response/rr2");
}

TEST(BrokerConnect, will_qos_above_maximum_qos_is_refused_0x9b_MQTT_3_2_2_12) {
  BrokerConfig config;
  config.maximum_qos = 1;
  Net net(config);
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, "w");
  c.will = mqtt::Will{"will/t", "bye", 2, false, {}};
  net.send(id, c);
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, 0x9B);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, data_after_a_refused_connect_is_ignored_MQTT_3_1_4_6) {
  BrokerConfig config;
  config.allow_anonymous = false;
  Net net(config);
  auto id = net.open(Version::v5);
  auto connect = encoded(make_connect(Version::v5, "x"), Version::v5);
  auto publish = encoded(make_publish("t", "x", 1, 1), Version::v5);
  net.send_raw(id, connect + publish);  // both in one read
  auto packets = net.take(id);
  ASSERT_EQ(packets.size(), 1u);  // the refusing CONNACK only, no PUBACK
  EXPECT_EQ(std::get<mqtt::Connack>(packets[0]).reason_code, 0x87);
  net.send_raw(id, publish);
  EXPECT_TRUE(net.take(id).empty());
  EXPECT_EQ(net.engine.connection_count(), 0u);
}

TEST(BrokerConnect, v311_data_after_a_refused_connect_is_ignored_MQTT_3_1_4_5_v311) {
  BrokerConfig config;
  config.allow_anonymous = false;
  Net net(config);
  auto id = net.open(Version::v3_1_1);
  auto connect = encoded(make_connect(Version::v3_1_1, "x"), Version::v3_1_1);
  auto publish = encoded(make_publish("t", "x", 1, 1), Version::v3_1_1);
  net.send_raw(id, connect + publish);
  EXPECT_EQ(net.peers[id].bytes, hex_to_bytes("20 02 00 05"));
}

TEST_P(BothVersions, client_ids_of_23_letters_and_digits_are_accepted_MQTT_3_1_3_5) {
  Net net;
  net.connect(GetParam(), "abcdefghijklmnopqrstuVW");
  net.connect(GetParam(), "0123456789");
  EXPECT_EQ(net.engine.session_count(), 2u);
}

TEST(BrokerConnect, v311_connack_is_the_first_packet_and_accepts_with_code_0_MQTT_3_2_0_1_v311) {
  Net net;
  auto pub = net.connect(Version::v3_1_1, "pub");
  auto id = net.open(Version::v3_1_1);
  auto c = encoded(make_connect(Version::v3_1_1, "sub", false), Version::v3_1_1);
  auto s = encoded(make_subscribe(1, "t", 0), Version::v3_1_1);
  net.send_raw(id, c + s);
  net.send(pub, make_publish("t", "x"));
  auto packets = net.take(id);
  ASSERT_EQ(packets.size(), 3u);
  ASSERT_TRUE(std::holds_alternative<mqtt::Connack>(packets[0]));
  EXPECT_EQ(std::get<mqtt::Connack>(packets[0]).reason_code, 0);  // 3.1.1: MQTT-3.1.4-4
  EXPECT_TRUE(std::holds_alternative<mqtt::Suback>(packets[1]));
}

TEST(BrokerConnect, without_server_keep_alive_the_client_keep_alive_applies_MQTT_3_2_2_22) {
  Net net;
  auto id = net.open(Version::v5);
  net.send(id, make_connect(Version::v5, "k", true, 4));
  EXPECT_FALSE(net.take_one<mqtt::Connack>(id).properties.find(PropertyId::server_keep_alive).has_value());
  net.advance(5'999);
  EXPECT_FALSE(net.closed(id));
  net.advance(1);
  EXPECT_TRUE(net.closed(id));
}

TEST(BrokerConnect, maximum_qos_0_still_accepts_subscribe_at_qos_2_MQTT_3_2_2_10) {
  BrokerConfig config;
  config.maximum_qos = 0;
  Net net(config);
  auto id = net.connect(Version::v5, "q");
  net.send(id, make_subscribe(1, "t", 2));
  EXPECT_EQ(net.take_one<mqtt::Suback>(id).reason_codes, (std::vector<std::uint8_t>{0x00}));
}

TEST(BrokerConnect, connack_is_the_first_packet_sent_MQTT_3_2_0_1) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  auto id = net.open(Version::v5);
  auto c = encoded(make_connect(Version::v5, "sub"), Version::v5);
  auto s = encoded(make_subscribe(1, "t", 0), Version::v5);
  net.send_raw(id, c + s);
  net.send(pub, make_publish("t", "x"));
  auto packets = net.take(id);
  ASSERT_EQ(packets.size(), 3u);
  ASSERT_TRUE(std::holds_alternative<mqtt::Connack>(packets[0]));
  EXPECT_EQ(std::get<mqtt::Connack>(packets[0]).reason_code, 0);
}

TEST(BrokerConnect, v311_malformed_connect_is_closed_without_connack_MQTT_3_2_2_6_v311) {
  Net net;
  auto id = net.open(Version::v3_1_1);
  // 3.1.1 CONNECT with the reserved flag set (3.1.1: MQTT-3.1.2-3).
  net.send_raw(id, hex_to_bytes("10 0d 00 04 4d 51 54 54 04 03 00 00 00 01 61"));
  EXPECT_TRUE(net.closed(id));
  EXPECT_TRUE(net.peers[id].bytes.empty());
}

TEST(BrokerConnect, v311_session_is_kept_while_connected_MQTT_4_1_0_2_v311) {
  Net net;
  auto id = net.connect(Version::v3_1_1, "live", true);
  net.advance(3'600'000);
  EXPECT_TRUE(net.engine.session("live").has_value());
  net.lose(id);
  EXPECT_FALSE(net.engine.session("live").has_value());  // clean session ends with the connection
}
