// ClientSession unit tests: simulated broker bytes (written by hand from the spec's packet
// layouts, not produced by the code under test) and simulated time.
#include <mqtth/client/ClientSession.hpp>

#include "session_harness.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <string>
#include <vector>

using namespace mqtth::client;
using namespace mqtth::client::testing;

// ---------------------------------------------------------------------------------------
// CONNECT / CONNACK

TEST(ClientSessionConnect, connect_311_writes_exact_connect_bytes_and_connack_connects) {
  Harness h;
  ConnectOptions o = h.options();
  o.keep_alive = 60;
  h.session.connect(o, 0);
  // 3.1.2: "MQTT", level 4, flags 0x02 (clean session), keep alive 60, client id "c1".
  EXPECT_EQ(to_hex(h.output()), "10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 63 31");
  EXPECT_EQ(h.session.state(), SessionState::connecting);
  h.feed(hex("20 02 00 00"));
  EXPECT_EQ(h.session.state(), SessionState::connected);
  const auto connacks = h.take<event::ConnackReceived>();
  ASSERT_EQ(connacks.size(), 1u);
  EXPECT_FALSE(connacks[0].session_present);
  EXPECT_EQ(connacks[0].reason_code, 0);
  EXPECT_TRUE(h.violations().empty());
}

TEST(ClientSessionConnect, connect_31_uses_protocol_name_MQIsdp_level_3) {
  Harness h(mqtt::Version::v3_1);
  h.session.connect(h.options(), 0);
  const std::string out = h.output();
  ASSERT_GE(out.size(), 11u);
  // Variable header of a 3.1 CONNECT: 00 06 "MQIsdp" 03.
  EXPECT_EQ(to_hex(out.substr(2, 9)), "00 06 4d 51 49 73 64 70 03");
}

TEST(ClientSessionConnect, connect_5_sends_the_requested_properties) {
  Harness h(mqtt::Version::v5);
  ConnectOptions o = h.options(false);
  o.session_expiry_interval = 60;
  o.receive_maximum = 10;
  o.topic_alias_maximum = 4;
  o.maximum_packet_size = 1000;
  h.session.connect(o, 0);
  const auto sent = h.sent();
  ASSERT_EQ(sent.size(), 1u);
  const auto& c = std::get<mqtt::Connect>(sent[0]);
  EXPECT_FALSE(c.clean_start);
  EXPECT_EQ(c.properties.find(mqtt::PropertyId::session_expiry_interval)->number, 60u);
  EXPECT_EQ(c.properties.find(mqtt::PropertyId::receive_maximum)->number, 10u);
  EXPECT_EQ(c.properties.find(mqtt::PropertyId::topic_alias_maximum)->number, 4u);
  EXPECT_EQ(c.properties.find(mqtt::PropertyId::maximum_packet_size)->number, 1000u);
}

TEST(ClientSessionConnect, refused_connack_waits_for_the_broker_to_close) {
  Harness h;
  h.connect(h.options());
  h.feed(hex("20 02 00 05"));  // 3.1.1 return code 5: not authorized
  EXPECT_EQ(h.session.state(), SessionState::closing);
  EXPECT_FALSE(h.session.close_requested());
  h.session.transport_closed(1);
  h.collect();
  const auto closed = h.take<event::ConnectionClosed>();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_FALSE(closed[0].by_client);
}

TEST(ClientSessionViolations, second_connack_on_one_connection_is_a_violation_MQTT_3_2_0_2) {
  Harness h(mqtt::Version::v5);
  h.connected();
  h.feed(h.connack());
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.2.0-2");
  EXPECT_TRUE(v[0].fatal);
  EXPECT_TRUE(h.session.close_requested());
  // 5.0 tells the broker why: DISCONNECT 0x82 (Protocol Error).
  const auto sent = h.sent();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(std::get<mqtt::Disconnect>(sent.back()).reason_code, mqtt::reason::protocol_error);
}

TEST(ClientSessionViolations, packet_before_connack_is_a_violation_MQTT_3_2_0_1) {
  Harness h;
  h.connect(h.options());
  h.feed(hex("30 05 00 01 74 68 69"));  // QoS 0 PUBLISH "t" "hi"
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.2.0-1");
}

TEST(ClientSessionViolations, session_present_on_clean_session_is_a_violation_MQTT_3_2_2_1) {
  Harness h;
  h.connect(h.options(true));
  h.feed(hex("20 02 01 00"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.2.2-1");
}

// ---------------------------------------------------------------------------------------
// Outbound QoS 1 / 2

TEST(ClientSessionPublish, qos0_publish_bytes_have_no_packet_id_MQTT_2_3_1_5) {
  Harness h;
  h.connected();
  const auto r = h.publish("t", "hi", 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.packet_id, 0);
  EXPECT_EQ(to_hex(h.output()), "30 05 00 01 74 68 69");
}

TEST(ClientSessionPublish, qos1_publish_completes_on_puback_MQTT_4_3_2_1) {
  Harness h;
  h.connected();
  const auto r = h.publish("t", "hi", 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.packet_id, 1);
  EXPECT_EQ(to_hex(h.output()), "32 07 00 01 74 00 01 68 69");
  EXPECT_EQ(h.session.outbound_in_flight(), 1u);
  h.feed(hex("40 02 00 01"));
  const auto done = h.take<event::PublishCompleted>();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].packet_id, 1);
  EXPECT_EQ(done[0].message_id, r.message_id);
  EXPECT_EQ(done[0].ack, mqtt::PacketType::puback);
  EXPECT_EQ(h.session.outbound_in_flight(), 0u);
  EXPECT_FALSE(h.session.packet_id_in_use(1));
}

TEST(ClientSessionPublish, qos2_publish_sends_pubrel_on_pubrec_and_completes_on_pubcomp_MQTT_4_3_3_1) {
  Harness h;
  h.connected();
  h.publish("t", "hi", 2);
  EXPECT_EQ(to_hex(h.output()), "34 07 00 01 74 00 01 68 69");
  h.feed(hex("50 02 00 01"));
  EXPECT_EQ(to_hex(h.output()), "62 02 00 01");  // PUBREL: flags 0010 [MQTT-3.6.1-1]
  EXPECT_TRUE(h.take<event::PublishCompleted>().empty());
  h.feed(hex("70 02 00 01"));
  const auto done = h.take<event::PublishCompleted>();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].ack, mqtt::PacketType::pubcomp);
  EXPECT_EQ(done[0].qos, 2);
}

TEST(ClientSessionPublish, pubrec_with_failure_code_completes_without_pubrel_MQTT_4_4_0_2) {
  Harness h(mqtt::Version::v5);
  h.connected();
  h.publish("t", "hi", 2);
  h.output();
  h.feed(hex("50 03 00 01 87"));  // PUBREC 0x87 not authorized
  EXPECT_EQ(h.output(), "");
  const auto done = h.take<event::PublishCompleted>();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].ack, mqtt::PacketType::pubrec);
  EXPECT_EQ(done[0].reason_code, 0x87);
}

TEST(ClientSessionPublish, qos0_publish_needs_a_connection) {
  Harness h;
  EXPECT_EQ(h.publish("t", "x", 0).error, CommandError::not_connected);
  EXPECT_EQ(h.publish("t", "x", 3).error, CommandError::invalid_argument);
}

TEST(ClientSessionPublish, qos1_publish_while_disconnected_is_sent_after_connack) {
  Harness h;
  const auto r = h.publish("t", "hi", 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(h.session.outbound_queued(), 1u);
  h.connect(h.options(false));
  EXPECT_EQ(h.session.outbound_queued(), 1u);  // not before CONNACK
  h.feed(h.connack(false));
  EXPECT_EQ(to_hex(h.output()), "32 07 00 01 74 00 01 68 69");  // DUP 0: first transmission
  EXPECT_TRUE(h.take<event::PublishAbandoned>().empty());
}

// ---------------------------------------------------------------------------------------
// Packet ids

TEST(ClientSessionPacketIds, ids_are_nonzero_sequential_and_not_reused_while_in_flight_MQTT_2_3_1_2) {
  Harness h;
  h.connected();
  EXPECT_EQ(h.publish("t", "a", 1).packet_id, 1);
  SubscribeRequest sub;
  sub.subscriptions.push_back(mqtt::Subscription{"t/#", {}});
  EXPECT_EQ(h.session.subscribe(sub, 0).packet_id, 2);
  EXPECT_EQ(h.publish("t", "b", 2).packet_id, 3);
  EXPECT_TRUE(h.session.packet_id_in_use(1));
  EXPECT_TRUE(h.session.packet_id_in_use(2));
  h.feed(hex("40 02 00 01"));
  EXPECT_FALSE(h.session.packet_id_in_use(1));
}

TEST(ClientSessionPacketIds, ids_wrap_after_65535_skipping_ids_in_flight_and_run_out) {
  SessionConfig config;
  config.max_in_flight = 65535;  // all of them on the wire, so any may be acknowledged
  Harness h(mqtt::Version::v3_1_1, config);
  h.connected();
  for (int i = 1; i <= 65535; ++i) {
    const auto r = h.publish("t", "", 1);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.packet_id, i);
  }
  h.output();
  EXPECT_EQ(h.publish("t", "", 1).error, CommandError::no_packet_id_free);
  h.feed(hex("40 02 00 05"));
  h.feed(hex("40 02 ff ff"));
  // Wrapped to 1: 1..4 are in flight, 5 is free again.
  EXPECT_EQ(h.publish("t", "", 1).packet_id, 5);
  EXPECT_EQ(h.publish("t", "", 1).packet_id, 65535);
  EXPECT_EQ(h.publish("t", "", 1).error, CommandError::no_packet_id_free);
}

// ---------------------------------------------------------------------------------------
// Session resumption

TEST(ClientSessionResume, unacked_publish_resent_with_dup_and_pubrel_resent_in_order_MQTT_4_4_0_1) {
  Harness h;
  h.connected(false);
  h.publish("t", "a", 1);  // id 1: no PUBACK
  h.publish("t", "b", 2);  // id 2: PUBREC'd, no PUBCOMP
  h.publish("t", "c", 2);  // id 3: no PUBREC
  h.output();
  h.feed(hex("50 02 00 02"));
  EXPECT_EQ(to_hex(h.output()), "62 02 00 02");
  h.session.transport_closed(10);
  h.connect(h.options(false));
  h.feed(h.connack(true));
  const auto sent = h.sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(as_publish(sent[0]).packet_id, 1);
  EXPECT_TRUE(as_publish(sent[0]).dup);  // [MQTT-3.3.1-1]
  EXPECT_EQ(as_publish(sent[0]).payload, "a");
  EXPECT_EQ(std::get<mqtt::Pubrel>(sent[1]).packet_id, 2);
  EXPECT_EQ(as_publish(sent[2]).packet_id, 3);
  EXPECT_TRUE(as_publish(sent[2]).dup);
  // The flows then finish normally.
  h.feed(hex("40 02 00 01 70 02 00 02 50 02 00 03"));
  EXPECT_EQ(to_hex(h.output()), "62 02 00 03");
  h.feed(hex("70 02 00 03"));
  EXPECT_EQ(h.take<event::PublishCompleted>().size(), 3u);
  EXPECT_TRUE(h.violations().empty());
}

TEST(ClientSessionResume, session_present_0_abandons_what_was_in_flight) {
  Harness h;
  h.connected(false);
  const auto r = h.publish("t", "a", 1);
  h.output();
  h.session.transport_closed(10);
  h.connect(h.options(false));
  h.feed(h.connack(false));
  EXPECT_EQ(h.output(), "");
  const auto abandoned = h.take<event::PublishAbandoned>();
  ASSERT_EQ(abandoned.size(), 1u);
  EXPECT_EQ(abandoned[0].message_id, r.message_id);
  EXPECT_FALSE(h.session.packet_id_in_use(1));
}

TEST(ClientSessionResume, clean_start_discards_session_state) {
  Harness h;
  h.connected(false);
  h.publish("t", "a", 2);
  h.output();
  h.session.transport_closed(10);
  h.connect(h.options(true));
  EXPECT_EQ(h.take<event::PublishAbandoned>().size(), 1u);
  EXPECT_EQ(h.session.outbound_in_flight(), 0u);
}

TEST(ClientSessionResume, inbound_qos2_state_survives_reconnect_so_a_dup_is_not_delivered_twice_MQTT_4_3_3_2) {
  Harness h;
  h.connected(false);
  h.feed(hex("34 07 00 01 74 00 09 68 69"));  // QoS 2 id 9
  EXPECT_EQ(to_hex(h.output()), "50 02 00 09");
  h.session.transport_closed(5);
  h.connect(h.options(false));
  h.feed(h.connack(true));
  h.feed(hex("3c 07 00 01 74 00 09 68 69"));  // broker re-sends with DUP=1
  EXPECT_EQ(to_hex(h.output()), "50 02 00 09");
  EXPECT_EQ(h.take<event::MessageDelivered>().size(), 1u);
  EXPECT_TRUE(h.violations().empty());
}

// ---------------------------------------------------------------------------------------
// Inbound

TEST(ClientSessionInbound, qos1_publish_is_delivered_and_pubacked_MQTT_4_3_2_2) {
  Harness h;
  h.connected();
  h.feed(hex("32 07 00 01 74 00 07 68 69"));
  EXPECT_EQ(to_hex(h.output()), "40 02 00 07");
  const auto d = h.take<event::MessageDelivered>();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].topic, "t");
  EXPECT_EQ(d[0].payload, "hi");
  EXPECT_EQ(d[0].qos, 1);
  EXPECT_EQ(d[0].packet_id, 7);
  EXPECT_FALSE(d[0].dup);
}

TEST(ClientSessionInbound, retain_flag_is_reported) {
  Harness h;
  h.connected();
  h.feed(hex("31 05 00 01 74 68 69"));
  const auto d = h.take<event::MessageDelivered>();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].retain);
}

TEST(ClientSessionInbound, qos2_is_delivered_once_and_pubcomp_answers_pubrel_MQTT_4_3_3_2) {
  Harness h;
  h.connected();
  h.feed(hex("34 07 00 01 74 00 09 68 69"));
  EXPECT_EQ(to_hex(h.output()), "50 02 00 09");
  EXPECT_EQ(h.session.inbound_in_flight(), 1u);
  h.feed(hex("3c 07 00 01 74 00 09 68 69"));  // DUP re-send before PUBREL
  EXPECT_EQ(to_hex(h.output()), "50 02 00 09");
  EXPECT_EQ(h.take<event::MessageDelivered>().size(), 1u);
  h.feed(hex("62 02 00 09"));
  EXPECT_EQ(to_hex(h.output()), "70 02 00 09");
  EXPECT_EQ(h.session.inbound_in_flight(), 0u);
  EXPECT_TRUE(h.violations().empty());
}

TEST(ClientSessionViolations, qos2_dup_after_pubrel_is_a_violation_and_a_second_delivery_MQTT_4_3_3_1) {
  Harness h;
  h.connected();
  h.feed(hex("34 07 00 01 74 00 09 68 69 62 02 00 09"));
  h.output();
  h.feed(hex("3c 07 00 01 74 00 09 68 69"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-4.3.3-1");
  EXPECT_FALSE(v[0].fatal);
  EXPECT_EQ(h.take<event::MessageDelivered>().size(), 2u);
}

TEST(ClientSessionViolations, qos2_dup_on_a_released_id_with_other_content_is_not_flagged) {
  // A DUP=1 first copy of a different message on an id that finished earlier is legal: the
  // broker's first transmission may have been lost with a connection.
  Harness h;
  h.connected();
  h.feed(hex("34 07 00 01 74 00 09 68 69 62 02 00 09"));
  h.feed(hex("3c 07 00 01 74 00 09 6a 6a"));
  EXPECT_TRUE(h.violations().empty());
  EXPECT_EQ(h.take<event::MessageDelivered>().size(), 2u);
}

TEST(ClientSessionViolations, qos2_publish_dup_while_pubcomp_withheld_is_a_resend_after_pubrel) {
  Harness h;
  h.connected();
  h.session.misbehaviour().withhold_pubcomp = 1;
  h.feed(hex("34 07 00 01 74 00 09 68 69 62 02 00 09"));
  EXPECT_EQ(to_hex(h.output()), "50 02 00 09");
  h.feed(hex("3c 07 00 01 74 00 09 68 69"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-4.3.3-1");
}

TEST(ClientSessionViolations, qos2_dup_after_pubrel_in_v5_is_MQTT_4_3_3_6) {
  Harness h(mqtt::Version::v5);
  h.connected();
  h.feed(hex("34 08 00 01 74 00 09 00 68 69 62 02 00 09"));
  h.feed(hex("3c 08 00 01 74 00 09 00 68 69"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-4.3.3-6");
}

TEST(ClientSessionViolations, new_qos2_publish_on_an_id_awaiting_pubrel_is_id_reuse_MQTT_2_3_1_4) {
  Harness h;
  h.connected();
  h.feed(hex("34 07 00 01 74 00 09 68 69"));
  h.feed(hex("34 07 00 01 74 00 09 6a 6a"));  // DUP=0, same id, still in flight
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-2.3.1-4");
}

TEST(ClientSessionViolations, puback_for_unused_id_is_a_violation_MQTT_2_3_1_6) {
  Harness h;
  h.connected();
  h.feed(hex("40 02 00 2a"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-2.3.1-6");
  EXPECT_EQ(v[0].packet_type, mqtt::PacketType::puback);
  EXPECT_EQ(v[0].stream_offset, 4u);  // after the 4-byte CONNACK
  EXPECT_FALSE(v[0].fatal);
  EXPECT_EQ(h.session.state(), SessionState::connected);
}

TEST(ClientSessionViolations, puback_for_unused_id_in_v5_is_MQTT_2_2_1_5) {
  Harness h(mqtt::Version::v5);
  h.connected();
  h.feed(hex("40 02 00 2a"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-2.2.1-5");
}

TEST(ClientSessionViolations, pubcomp_before_pubrec_is_a_violation) {
  Harness h;
  h.connected();
  h.publish("t", "x", 2);
  h.feed(hex("70 02 00 01"));
  EXPECT_EQ(h.violations().size(), 1u);
  EXPECT_TRUE(h.take<event::PublishCompleted>().empty());
}

TEST(ClientSessionViolations, publish_with_qos3_is_malformed_MQTT_3_3_1_4) {
  Harness h;
  h.connected();
  h.feed(hex("36 07 00 01 74 00 01 68 69"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.3.1-4");
  EXPECT_EQ(v[0].code, mqtt::Errc::malformed_packet);
  EXPECT_TRUE(v[0].fatal);
  EXPECT_TRUE(h.session.close_requested());
  EXPECT_TRUE(h.take<event::MessageDelivered>().empty());
}

TEST(ClientSessionViolations, broker_sending_subscribe_is_a_violation) {
  Harness h;
  h.connected();
  h.feed(hex("82 06 00 01 00 01 74 00"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].packet_type, mqtt::PacketType::subscribe);
}

TEST(ClientSessionViolations, inbound_window_beyond_receive_maximum_is_MQTT_3_3_4_9) {
  Harness h(mqtt::Version::v5);
  ConnectOptions o = h.options();
  o.receive_maximum = 1;
  h.connect(o);
  h.feed(h.connack());
  h.feed(hex("34 08 00 01 74 00 01 00 61 61"));  // id 1, awaiting PUBREL: window full
  EXPECT_TRUE(h.violations().empty());
  h.feed(hex("34 08 00 01 74 00 02 00 62 62"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.3.4-9");
}

TEST(ClientSessionViolations, packet_above_clients_maximum_packet_size_is_MQTT_3_1_2_24) {
  Harness h(mqtt::Version::v5);
  ConnectOptions o = h.options();
  o.maximum_packet_size = 16;
  h.connect(o);
  h.feed(h.connack());
  h.feed(hex("30 20"));  // announces a 34-byte packet
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.1.2-24");
  EXPECT_TRUE(v[0].fatal);
}

TEST(ClientSessionViolations, suback_for_unknown_id_and_wrong_count_are_violations_MQTT_3_8_4_2) {
  Harness h;
  h.connected();
  SubscribeRequest sub;
  sub.subscriptions.push_back(mqtt::Subscription{"a", {1}});
  sub.subscriptions.push_back(mqtt::Subscription{"b", {2}});
  const auto r = h.session.subscribe(sub, 0);
  ASSERT_EQ(r.packet_id, 1);
  h.feed(hex("90 03 00 07 01"));  // unknown id 7
  h.feed(hex("90 03 00 01 01"));  // one code for two filters
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].spec, "MQTT-3.8.4-2");
  EXPECT_EQ(v[1].spec, "MQTT-3.8.4-5");
  EXPECT_EQ(h.take<event::SubackReceived>().size(), 2u);
}

TEST(ClientSessionSubscribe, suback_reports_granted_codes) {
  Harness h;
  h.connected();
  SubscribeRequest sub;
  sub.subscriptions.push_back(mqtt::Subscription{"a/+", {1}});
  h.session.subscribe(sub, 0);
  EXPECT_EQ(to_hex(h.output()), "82 08 00 01 00 03 61 2f 2b 01");
  h.feed(hex("90 03 00 01 01"));
  const auto s = h.take<event::SubackReceived>();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].reason_codes, std::vector<std::uint8_t>{1});
  UnsubscribeRequest unsub;
  unsub.filters.push_back("a/+");
  EXPECT_EQ(h.session.unsubscribe(unsub, 0).packet_id, 2);
  EXPECT_EQ(to_hex(h.output()), "a2 07 00 02 00 03 61 2f 2b");
  h.feed(hex("b0 02 00 02"));
  EXPECT_EQ(h.take<event::UnsubackReceived>().size(), 1u);
  EXPECT_TRUE(h.violations().empty());
}

TEST(ClientSessionSubscribe, subscription_identifier_is_sent_in_v5) {
  Harness h(mqtt::Version::v5);
  h.connected();
  SubscribeRequest sub;
  sub.subscriptions.push_back(mqtt::Subscription{"a", {0}});
  sub.subscription_identifier = 42;
  h.session.subscribe(sub, 0);
  const auto sent = h.sent();
  ASSERT_EQ(sent.size(), 1u);
  const auto& s = std::get<mqtt::Subscribe>(sent[0]);
  EXPECT_EQ(s.properties.find(mqtt::PropertyId::subscription_identifier)->number, 42u);
}

// ---------------------------------------------------------------------------------------
// Receive maximum (outbound)

TEST(ClientSessionReceiveMaximum, never_more_in_flight_than_brokers_receive_maximum_MQTT_3_3_4_7) {
  Harness h(mqtt::Version::v5);
  h.connect(h.options());
  h.feed(h.connack(false, "21 00 02"));  // Receive Maximum 2
  EXPECT_EQ(h.session.broker_receive_maximum(), 2);
  for (int i = 0; i < 5; ++i) h.publish("t", std::string(1, char('a' + i)), 1);
  auto sent = h.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(h.session.outbound_in_flight(), 2u);
  EXPECT_EQ(h.session.outbound_queued(), 3u);
  h.feed(hex("40 02 00 01"));
  sent = h.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(as_publish(sent[0]).packet_id, 3);
  EXPECT_EQ(as_publish(sent[0]).payload, "c");
  // Non-PUBLISH packets are not held back [MQTT-3.3.4-8].
  h.session.ping(h.now);
  EXPECT_EQ(to_hex(h.output()), "c0 00");
}

TEST(ClientSessionReceiveMaximum, v311_default_window_is_20_and_configurable) {
  Harness h;
  h.connected();
  for (int i = 0; i < 25; ++i) h.publish("t", "x", 2);
  EXPECT_EQ(h.sent().size(), 20u);
  EXPECT_EQ(h.session.outbound_queued(), 5u);

  SessionConfig config;
  config.max_in_flight = 3;
  Harness v5(mqtt::Version::v5, config);
  v5.connect(v5.options());
  v5.feed(v5.connack(false, "21 00 0a"));  // broker allows 10; our cap is 3
  for (int i = 0; i < 5; ++i) v5.publish("t", "x", 1);
  EXPECT_EQ(v5.sent().size(), 3u);
}

TEST(ClientSessionMisbehave, ignore_receive_maximum_exceeds_the_brokers_window) {
  Harness h(mqtt::Version::v5);
  h.connect(h.options());
  h.feed(h.connack(false, "21 00 02"));
  h.session.misbehaviour().ignore_receive_maximum = true;
  for (int i = 0; i < 5; ++i) h.publish("t", "x", 1);
  EXPECT_EQ(h.sent().size(), 5u);
}

// ---------------------------------------------------------------------------------------
// Topic aliases

TEST(ClientSessionTopicAlias, inbound_alias_is_resolved_to_its_topic) {
  Harness h(mqtt::Version::v5);
  ConnectOptions o = h.options();
  o.topic_alias_maximum = 5;
  h.connect(o);
  h.feed(h.connack());
  h.feed(hex("30 0a 00 03 61 2f 62 03 23 00 01 78"));  // "a/b" alias 1, payload "x"
  h.feed(hex("30 07 00 00 03 23 00 01 79"));           // "" alias 1, payload "y"
  const auto d = h.take<event::MessageDelivered>();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].topic, "a/b");
  EXPECT_EQ(d[1].topic, "a/b");
  EXPECT_EQ(d[1].payload, "y");
  EXPECT_TRUE(h.violations().empty());
}

TEST(ClientSessionTopicAlias, inbound_alias_above_maximum_is_MQTT_3_3_2_11) {
  Harness h(mqtt::Version::v5);
  ConnectOptions o = h.options();
  o.topic_alias_maximum = 5;
  h.connect(o);
  h.feed(h.connack());
  h.feed(hex("30 0a 00 03 61 2f 62 03 23 00 06 78"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.3.2-11");
}

TEST(ClientSessionTopicAlias, inbound_alias_when_client_allowed_none_is_MQTT_3_1_2_27) {
  Harness h(mqtt::Version::v5);
  h.connected();
  h.feed(hex("30 0a 00 03 61 2f 62 03 23 00 01 78"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.1.2-27");
}

TEST(ClientSessionTopicAlias, unmapped_inbound_alias_is_a_violation) {
  Harness h(mqtt::Version::v5, SessionConfig{.close_on_violation = false});
  ConnectOptions o = h.options();
  o.topic_alias_maximum = 5;
  h.connect(o);
  h.feed(h.connack());
  h.feed(hex("30 07 00 00 03 23 00 02 79"));
  EXPECT_EQ(h.violations().size(), 1u);
  EXPECT_TRUE(h.take<event::MessageDelivered>().empty());
}

TEST(ClientSessionTopicAlias, inbound_aliases_do_not_survive_the_connection_MQTT_3_3_2_7) {
  Harness h(mqtt::Version::v5, SessionConfig{.close_on_violation = false});
  ConnectOptions o = h.options(false);
  o.topic_alias_maximum = 5;
  h.connect(o);
  h.feed(h.connack());
  h.feed(hex("30 0a 00 03 61 2f 62 03 23 00 01 78"));
  h.session.transport_closed(1);
  h.connect(o);
  h.feed(h.connack(true));
  h.feed(hex("30 07 00 00 03 23 00 01 79"));
  EXPECT_EQ(h.violations().size(), 1u);
}

TEST(ClientSessionTopicAlias, outbound_alias_sends_topic_once_then_empty_topic) {
  Harness h(mqtt::Version::v5);
  h.connect(h.options());
  h.feed(h.connack(false, "22 00 03"));  // Topic Alias Maximum 3
  h.publish("a/b", "x", 0, 2);
  h.publish("a/b", "y", 0, 2);
  const auto sent = h.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(as_publish(sent[0]).topic, "a/b");
  EXPECT_EQ(as_publish(sent[0]).properties.find(mqtt::PropertyId::topic_alias)->number, 2u);
  EXPECT_EQ(as_publish(sent[1]).topic, "");
  EXPECT_EQ(as_publish(sent[1]).properties.find(mqtt::PropertyId::topic_alias)->number, 2u);
}

TEST(ClientSessionTopicAlias, auto_alias_stays_within_brokers_maximum_MQTT_3_2_2_17) {
  SessionConfig config;
  config.auto_topic_alias = true;
  Harness h(mqtt::Version::v5, config);
  h.connect(h.options());
  h.feed(h.connack(false, "22 00 01"));  // Topic Alias Maximum 1
  h.publish("a", "1", 0);
  h.publish("b", "2", 0);
  h.publish("a", "3", 0);
  const auto sent = h.sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(as_publish(sent[0]).properties.find(mqtt::PropertyId::topic_alias)->number, 1u);
  EXPECT_FALSE(as_publish(sent[1]).properties.find(mqtt::PropertyId::topic_alias).has_value());
  EXPECT_EQ(as_publish(sent[1]).topic, "b");
  EXPECT_EQ(as_publish(sent[2]).topic, "");
}

// ---------------------------------------------------------------------------------------
// Keep alive

TEST(ClientSessionKeepAlive, pingreq_after_keep_alive_idle_and_missing_pingresp_detected_MQTT_3_1_2_23) {
  Harness h;
  ConnectOptions o = h.options();
  o.keep_alive = 10;
  h.connect(o);
  h.feed(h.connack());
  ASSERT_TRUE(h.session.next_deadline().has_value());
  EXPECT_EQ(*h.session.next_deadline(), 10'000);
  h.session.advance(9'999);
  EXPECT_EQ(h.output(), "");
  // Sending something restarts the interval.
  h.now = 5'000;
  h.publish("t", "x", 0);
  h.output();
  EXPECT_EQ(*h.session.next_deadline(), 15'000);
  h.session.advance(14'999);
  EXPECT_EQ(h.output(), "");
  h.session.advance(15'000);
  EXPECT_EQ(to_hex(h.output()), "c0 00");
  // PINGRESP answers it; the next PINGREQ is due a keep-alive after the last send.
  h.now = 15'100;
  h.feed(hex("d0 00"));
  EXPECT_EQ(*h.session.next_deadline(), 25'000);
  h.session.advance(25'000);
  EXPECT_EQ(to_hex(h.output()), "c0 00");
  // No PINGRESP this time: reported when the keep-alive interval has passed.
  EXPECT_EQ(*h.session.next_deadline(), 35'000);
  h.session.advance(34'999);
  EXPECT_TRUE(h.violations().empty());
  h.session.advance(35'000);
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.12.4-1");
  EXPECT_TRUE(h.session.close_requested());
  h.session.transport_closed(35'001);
  const auto closed = h.take<event::ConnectionClosed>();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_TRUE(closed[0].by_client);
}

TEST(ClientSessionKeepAlive, server_keep_alive_replaces_the_clients_MQTT_3_2_2_21) {
  Harness h(mqtt::Version::v5);
  ConnectOptions o = h.options();
  o.keep_alive = 60;
  h.connect(o);
  h.feed(h.connack(false, "13 00 05"));  // Server Keep Alive 5 s
  EXPECT_EQ(h.session.keep_alive(), 5);
  EXPECT_EQ(*h.session.next_deadline(), 5'000);
}

TEST(ClientSessionKeepAlive, keep_alive_0_sets_no_deadline) {
  Harness h;
  h.connected();
  EXPECT_FALSE(h.session.next_deadline().has_value());
}

// ---------------------------------------------------------------------------------------
// Misbehaviour

TEST(ClientSessionMisbehave, withhold_puback_for_next_one) {
  Harness h;
  h.connected();
  h.session.misbehaviour().withhold_puback = 1;
  h.feed(hex("32 07 00 01 74 00 01 68 69"));
  EXPECT_EQ(h.output(), "");
  EXPECT_EQ(h.session.inbound_in_flight(), 1u);
  h.feed(hex("32 07 00 01 74 00 02 68 69"));
  EXPECT_EQ(to_hex(h.output()), "40 02 00 02");
  // The broker re-sends the first with DUP=1: delivered again (at least once), now acked.
  h.feed(hex("3a 07 00 01 74 00 01 68 69"));
  EXPECT_EQ(to_hex(h.output()), "40 02 00 01");
  EXPECT_EQ(h.take<event::MessageDelivered>().size(), 3u);
  EXPECT_TRUE(h.violations().empty());
}

TEST(ClientSessionMisbehave, withhold_all_pubrec_and_pubcomp) {
  Harness h;
  h.connected();
  h.session.misbehaviour().withhold_pubrec = kAlways;
  h.session.misbehaviour().withhold_pubcomp = kAlways;
  h.feed(hex("34 07 00 01 74 00 01 68 69 34 07 00 01 74 00 02 68 69"));
  EXPECT_EQ(h.output(), "");
  h.feed(hex("62 02 00 01"));
  EXPECT_EQ(h.output(), "");
  EXPECT_EQ(h.session.inbound_in_flight(), 2u);
}

TEST(ClientSessionMisbehave, skip_pubrel_leaves_the_message_in_flight) {
  Harness h;
  h.connected();
  h.session.misbehaviour().skip_pubrel = 1;
  h.publish("t", "x", 2);
  h.output();
  h.feed(hex("50 02 00 01"));
  EXPECT_EQ(h.output(), "");
  EXPECT_TRUE(h.session.packet_id_in_use(1));
}

TEST(ClientSessionMisbehave, fixed_and_reused_packet_ids) {
  Harness h;
  h.connected();
  h.session.misbehaviour().fixed_packet_id = 7;
  EXPECT_EQ(h.publish("t", "a", 1).packet_id, 7);
  EXPECT_EQ(h.publish("t", "b", 1).packet_id, 7);
  h.session.misbehaviour().fixed_packet_id.reset();
  h.session.misbehaviour().reuse_in_flight_packet_id = true;
  EXPECT_EQ(h.publish("t", "c", 1).packet_id, 7);
  const auto sent = h.sent();
  ASSERT_EQ(sent.size(), 3u);
  for (const auto& p : sent) EXPECT_EQ(as_publish(p).packet_id, 7);
  // Each PUBACK for 7 completes the oldest message on that id.
  h.feed(hex("40 02 00 07"));
  const auto done = h.take<event::PublishCompleted>();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].message_id, 1u);
}

TEST(ClientSessionMisbehave, suppress_pingreq_clears_the_deadline) {
  Harness h;
  ConnectOptions o = h.options();
  o.keep_alive = 1;
  h.connect(o);
  h.feed(h.connack());
  h.session.misbehaviour().suppress_pingreq = true;
  EXPECT_FALSE(h.session.next_deadline().has_value());
  h.session.advance(100'000);
  EXPECT_EQ(h.output(), "");
}

TEST(ClientSessionMisbehave, send_raw_writes_the_bytes_verbatim) {
  Harness h;
  h.connected();
  h.session.send_raw(hex("30 ff ff ff ff 7f"), 0);
  EXPECT_EQ(to_hex(h.output()), "30 ff ff ff ff 7f");
  const auto sent = h.take<event::PacketSent>();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().type, mqtt::PacketType::publish);
  // Remaining length 0xFFFFFFFF7F is no varint (MQTT-1.5.5-1): no packet, the bytes stay.
  EXPECT_FALSE(sent.back().packet.has_value());
  EXPECT_EQ(to_hex(sent.back().raw), "30 ff ff ff ff 7f");
}

TEST(ClientSessionTrace, packet_sent_carries_the_packet_the_session_encoded) {
  Harness h;
  h.connected();
  h.clear();
  ASSERT_TRUE(h.publish("t/a", "hi", 1).ok());
  const std::string wire = h.output();
  const auto sent = h.take<event::PacketSent>();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].raw, wire);
  ASSERT_TRUE(sent[0].packet.has_value());
  const auto& p = as_publish(*sent[0].packet);
  EXPECT_EQ(p.topic, "t/a");
  EXPECT_EQ(p.payload, "hi");
  EXPECT_EQ(p.qos, 1);
  EXPECT_EQ(p.packet_id, 1);
}

TEST(ClientSessionTrace, packet_sent_decodes_send_raw_bytes_once) {
  Harness h;
  h.connected();
  h.clear();
  h.session.send_raw(hex("62 02 00 09"), 0);  // PUBREL 9
  const auto sent = h.take<event::PacketSent>();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].packet.has_value());
  EXPECT_EQ(std::get<mqtt::Pubrel>(*sent[0].packet).packet_id, 9);
  // Two packets in one send_raw are not one packet.
  h.session.send_raw(hex("c0 00 c0 00"), 0);
  const auto both = h.take<event::PacketSent>();
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1].type, mqtt::PacketType::pingreq);
  EXPECT_FALSE(both[1].packet.has_value());
}

// ---------------------------------------------------------------------------------------
// Disconnect / close

TEST(ClientSessionClose, clean_disconnect_writes_disconnect_and_requests_close) {
  Harness h;
  h.connected();
  h.session.disconnect(0);
  EXPECT_EQ(to_hex(h.output()), "e0 00");
  EXPECT_TRUE(h.session.close_requested());
  h.session.transport_closed(1);
  const auto closed = h.take<event::ConnectionClosed>();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_TRUE(closed[0].by_client);
  EXPECT_EQ(h.session.state(), SessionState::disconnected);
}

TEST(ClientSessionClose, broker_disconnect_reason_is_reported_on_close) {
  Harness h(mqtt::Version::v5);
  h.connected();
  h.feed(hex("e0 01 8e"));  // DISCONNECT 0x8E session taken over
  const auto d = h.take<event::DisconnectReceived>();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].reason_code, 0x8e);
  h.session.transport_closed(1);
  const auto closed = h.take<event::ConnectionClosed>();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_FALSE(closed[0].by_client);
  EXPECT_EQ(closed[0].disconnect_reason, std::optional<std::uint8_t>(0x8e));
}

TEST(ClientSessionClose, transport_closed_twice_reports_once) {
  Harness h;
  h.connected();
  h.session.transport_closed(1);
  h.session.transport_closed(2);
  EXPECT_EQ(h.take<event::ConnectionClosed>().size(), 1u);
}

// ---------------------------------------------------------------------------------------
// Robustness: chunking, truncation, garbage

TEST(ClientSessionInput, every_split_point_gives_the_same_events) {
  const std::string stream = hex("20 02 00 00 32 07 00 01 74 00 07 68 69 34 07 00 01 74 00 09 68 69 62 02 00 09 d0 00");
  Harness whole;
  whole.connect(whole.options());
  whole.feed(stream);
  const std::string whole_out = whole.output();
  const auto whole_delivered = whole.take<event::MessageDelivered>();
  ASSERT_EQ(whole_delivered.size(), 2u);
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    Harness h;
    h.connect(h.options());
    h.feed(stream.substr(0, cut));
    h.feed(stream.substr(cut));
    EXPECT_EQ(h.output(), whole_out) << "split at " << cut;
    EXPECT_EQ(h.take<event::MessageDelivered>().size(), 2u) << "split at " << cut;
    EXPECT_TRUE(h.violations().empty()) << "split at " << cut;
  }
  // One byte at a time.
  Harness bytewise;
  bytewise.connect(bytewise.options());
  for (char c : stream) bytewise.feed(std::string(1, c));
  EXPECT_EQ(bytewise.output(), whole_out);
}

TEST(ClientSessionInput, truncated_packets_wait_for_more_and_never_crash) {
  const std::string stream = hex("20 02 00 00 32 07 00 01 74 00 07 68 69");
  for (std::size_t len = 0; len < stream.size(); ++len) {
    Harness h;
    h.connect(h.options());
    h.feed(stream.substr(0, len));
    EXPECT_TRUE(h.violations().empty()) << "prefix " << len;
    h.session.transport_closed(1);  // the broker closes mid-packet
    EXPECT_EQ(h.take<event::ConnectionClosed>().size(), 1u);
  }
}

TEST(ClientSessionInput, random_garbage_never_crashes_and_is_reported) {
  std::mt19937 rng(12345);
  for (mqtt::Version v : {mqtt::Version::v3_1_1, mqtt::Version::v5}) {
    for (int round = 0; round < 300; ++round) {
      Harness h(v);
      h.connect(h.options());
      if (round % 2) h.feed(h.connack());
      std::string junk(static_cast<std::size_t>(rng() % 64), '\0');
      for (auto& c : junk) c = static_cast<char>(rng());
      h.feed(junk);
      h.session.advance(1'000'000);
      h.publish("t", "x", 1);
      h.session.transport_closed(1'000'001);
      h.output();
      EXPECT_EQ(h.take<event::ConnectionClosed>().size(), 1u);
    }
  }
}

TEST(ClientSessionInput, framing_error_stops_reading_and_requests_close) {
  Harness h;
  h.connected();
  h.feed(hex("30 ff ff ff ff 7f"));  // a 5-byte remaining length is malformed
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].fatal);
  EXPECT_TRUE(h.session.close_requested());
  h.feed(hex("30 05 00 01 74 68 69"));  // nothing more is read
  EXPECT_TRUE(h.take<event::MessageDelivered>().empty());
}

TEST(ClientSessionTrace, packets_received_carry_raw_bytes) {
  Harness h;
  h.connected();
  h.feed(hex("30 05 00 01 74 68 69"));
  const auto r = h.take<event::PacketReceived>();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(to_hex(r[1].raw), "30 05 00 01 74 68 69");
  EXPECT_EQ(mqtt::packet_type(r[1].packet), mqtt::PacketType::publish);
}

TEST(ClientSessionTrace, trace_off_emits_no_packet_events) {
  Harness h(mqtt::Version::v3_1_1, SessionConfig{.trace_packets = false});
  h.connected();
  h.feed(hex("30 05 00 01 74 68 69"));
  EXPECT_TRUE(h.take<event::PacketReceived>().empty());
  EXPECT_TRUE(h.take<event::PacketSent>().empty());
  EXPECT_EQ(h.take<event::MessageDelivered>().size(), 1u);
}

// Random operation sequences: commands, well-formed broker packets with random ids and
// flags, bit flips, reconnects and time jumps. Whatever the broker does, the session never
// crashes, its own output always decodes, and its window and counters stay consistent.
TEST(ClientSessionInput, random_operation_sequences_keep_invariants) {
  std::mt19937 rng(4242);
  const auto pick = [&rng](std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); };
  const auto id_bytes = [&](std::string& p) {
    const std::uint32_t id = pick(4) == 0 ? pick(65536) : 1 + pick(8);
    p.push_back(static_cast<char>(id >> 8));
    p.push_back(static_cast<char>(id & 0xFF));
  };
  for (mqtt::Version v : {mqtt::Version::v3_1_1, mqtt::Version::v5}) {
    for (int round = 0; round < 200; ++round) {
      SessionConfig config;
      config.close_on_violation = pick(2) == 0;
      config.trace_packets = pick(2) == 0;
      Harness h(v, config);
      ConnectOptions o = h.options(pick(2) == 0);
      o.keep_alive = static_cast<std::uint16_t>(pick(3));
      if (v == mqtt::Version::v5) o.topic_alias_maximum = static_cast<std::uint16_t>(pick(3));
      h.connect(o);
      std::string out;
      for (int step = 0; step < 60; ++step) {
        switch (pick(10)) {
          case 0:
          case 1: h.publish("t/" + std::to_string(pick(3)), "p", static_cast<std::uint8_t>(pick(3)), static_cast<std::uint16_t>(pick(3))); break;
          case 2: {
            SubscribeRequest s;
            s.subscriptions.push_back(mqtt::Subscription{"t/#", {static_cast<std::uint8_t>(pick(3))}});
            h.session.subscribe(s, h.now);
            break;
          }
          case 3: {  // an ack from the broker
            static const char types[] = {0x40, 0x50, 0x62, 0x70, static_cast<char>(0x90), static_cast<char>(0xb0)};
            std::string p(1, types[pick(6)]);
            p.push_back(2);
            id_bytes(p);
            if (static_cast<unsigned char>(p[0]) == 0x90) { p[1] = 3; p.push_back(static_cast<char>(pick(3))); }
            h.feed(p);
            break;
          }
          case 4: {  // a PUBLISH from the broker
            const std::uint32_t qos = pick(3);
            std::string body = std::string("\x00\x03t/x", 5);
            if (qos) id_bytes(body);
            if (v == mqtt::Version::v5) body.push_back(0);
            body += "m" + std::to_string(pick(4));
            std::string p(1, static_cast<char>(0x30 | (qos << 1) | (qos && pick(2) ? 0x08 : 0)));
            p.push_back(static_cast<char>(body.size()));
            h.feed(p + body);
            break;
          }
          case 5: h.feed(pick(2) ? h.connack(pick(2) == 0) : hex("d0 00")); break;
          case 6: {  // a flipped bit in an otherwise valid packet
            std::string p = hex("32 07 00 01 74 00 07 68 69");
            p[pick(static_cast<std::uint32_t>(p.size()))] ^= static_cast<char>(1u << pick(8));
            h.feed(p);
            break;
          }
          case 7:
            h.now += pick(3000);
            h.session.advance(h.now);
            break;
          case 8:
            h.session.transport_closed(h.now);
            h.connect(h.options(pick(3) == 0));
            h.feed(h.connack(pick(2) == 0));
            break;
          case 9:
            if (pick(4) == 0) h.session.disconnect(h.now);
            break;
        }
        out += h.output();
        if (h.session.state() == SessionState::connected && !h.session.misbehaviour().ignore_receive_maximum) {
          const std::size_t window = v == mqtt::Version::v5 ? h.session.broker_receive_maximum() : 20;
          ASSERT_LE(h.session.outbound_in_flight(), window);
        }
        ASSERT_LE(h.session.inbound_in_flight(), 65535u);
      }
      // Everything the client wrote (it wrote no raw bytes here) must decode.
      const auto packets = packets_of(out, v);
      for (const auto& p : packets) {
        if (const auto* pub = std::get_if<mqtt::Publish>(&p)) {
          if (pub->qos > 0) {
            EXPECT_NE(pub->packet_id, 0);  // [MQTT-2.3.1-1]
          } else {
            EXPECT_FALSE(pub->dup);  // [MQTT-3.3.1-2]
          }
        }
      }
      h.session.transport_closed(h.now);
    }
  }
}

TEST(ClientSessionViolations, auth_packet_in_311_is_invalid_for_the_version) {
  Harness h;
  h.connected();
  h.feed(hex("f0 00"));  // AUTH exists only in 5.0 (2.1.2: type 15 is reserved in 3.1.1)
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].fatal);
  EXPECT_EQ(h.take<event::PacketReceived>().size(), 1u);  // only the CONNACK decoded
}

TEST(ClientSessionClose, v5_disconnect_carries_reason_code_and_send_packet_sends_anything) {
  Harness h(mqtt::Version::v5);
  h.connected();
  mqtt::Pingresp odd;  // a server-to-client packet, sent by the client on purpose
  EXPECT_TRUE(h.session.send_packet(mqtt::Packet(odd), 0).ok());
  EXPECT_EQ(to_hex(h.output()), "d0 00");
  h.session.disconnect(0, mqtt::reason::disconnect_with_will_message);
  const auto sent = h.sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::get<mqtt::Disconnect>(sent[0]).reason_code, mqtt::reason::disconnect_with_will_message);
  EXPECT_TRUE(h.session.close_requested());
}
