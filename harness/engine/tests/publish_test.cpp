// PUBLISH both ways (publish.cpp, deliver.cpp): QoS 0/1/2 flows and their
// acknowledgements, the in-flight window and Receive Maximum, resending on resumption,
// offline queues, ordering, packet size limits, message expiry, forwarded properties.
#include "broker_test_util.hpp"

TEST_P(BothVersions, qos0_is_delivered_with_dup_0_and_no_packet_id_MQTT_4_3_1_1) {
  Net net;
  auto sub = net.subscriber(GetParam(), "sub", "a/b", 0);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("a/b", "hello"));
  EXPECT_TRUE(net.take(pub).empty());  // QoS 0: no answer [MQTT-3.3.4-1]
  auto got = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(got.topic, "a/b");
  EXPECT_EQ(got.payload, "hello");
  EXPECT_EQ(got.qos, 0);
  EXPECT_FALSE(got.dup);
}

TEST(BrokerPublish, v311_qos0_delivery_bytes_are_exact_MQTT_3_3_1_v311) {
  Net net;
  auto sub = net.subscriber(Version::v3_1_1, "sub", "a/b", 0);
  auto pub = net.connect(Version::v3_1_1, "pub");
  net.send(pub, make_publish("a/b", "hi"));
  // 30 | remaining 7 | topic length 3 "a/b" | "hi"
  EXPECT_EQ(net.peers[sub].bytes, hex_to_bytes("30 07 00 03 61 2f 62 68 69"));
}

TEST_P(BothVersions, qos1_is_acknowledged_with_the_publish_packet_id_MQTT_4_3_2_4) {
  Net net;
  auto sub = net.subscriber(GetParam(), "sub", "q/1", 1);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("q/1", "m", 1, 77));
  auto ack = net.take_one<mqtt::Puback>(pub);
  EXPECT_EQ(ack.packet_id, 77);  // [MQTT-2.2.1-5]
  EXPECT_EQ(ack.reason_code, 0);
  auto got = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(got.qos, 1);
  EXPECT_NE(got.packet_id, 0);  // [MQTT-2.2.1-4] [MQTT-4.3.2-1]
  EXPECT_FALSE(got.dup);        // [MQTT-4.3.2-2]
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 1u);  // until PUBACK [MQTT-4.3.2-3]
  net.send(sub, mqtt::Puback{got.packet_id, 0, {}});
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 0u);
}

TEST_P(BothVersions, qos2_repeat_before_pubrel_is_not_delivered_twice_MQTT_4_3_3_10) {
  BrokerConfig config;
  config.track_deliveries = true;
  Net net(config);
  auto sub = net.subscriber(GetParam(), "sub", "q/2", 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("q/2", "once", 2, 5));
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).packet_id, 5);  // [MQTT-4.3.3-8]
  auto dup = make_publish("q/2", "once", 2, 5);
  dup.dup = true;
  net.send(pub, dup);
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).packet_id, 5);
  net.send(pub, mqtt::Pubrel{5, 0, {}});
  EXPECT_EQ(net.take_one<mqtt::Pubcomp>(pub).packet_id, 5);  // [MQTT-4.3.3-11]
  auto delivered = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_FALSE(delivered[0].dup);  // the incoming DUP is not forwarded [MQTT-3.3.1-3]
  // After PUBCOMP the same id is a new message [MQTT-4.3.3-12].
  net.send(pub, make_publish("q/2", "twice", 2, 5));
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 1u);
}

TEST_P(BothVersions, qos2_outbound_flow_pubrec_gets_pubrel_then_pubcomp_completes_MQTT_4_3_3_4) {
  Net net;
  auto sub = net.subscriber(GetParam(), "sub", "q/2", 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("q/2", "x", 2, 1));
  auto got = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(got.qos, 2);
  EXPECT_NE(got.packet_id, 0);  // [MQTT-4.3.3-1]
  EXPECT_FALSE(got.dup);        // [MQTT-4.3.3-2]
  net.advance(60'000);
  EXPECT_TRUE(net.take(sub).empty());  // no resend on a live connection [MQTT-4.4.0-1]
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 1u);  // until PUBREC [MQTT-4.3.3-3]
  net.send(sub, mqtt::Pubrec{got.packet_id, 0, {}});
  EXPECT_EQ(net.take_one<mqtt::Pubrel>(sub).packet_id, got.packet_id);
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 1u);  // until PUBCOMP [MQTT-4.3.3-5]
  net.send(sub, mqtt::Pubcomp{got.packet_id, 0, {}});
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 0u);
}

TEST(BrokerPublish, pubrec_with_error_code_ends_the_flow_without_pubrel_MQTT_4_4_0_2) {
  Net net;
  auto sub = net.subscriber(Version::v5, "sub", "q/2", 2);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("q/2", "x", 2, 1));
  auto got = net.take_one<mqtt::Publish>(sub);
  net.send(sub, mqtt::Pubrec{got.packet_id, 0x80, {}});
  EXPECT_TRUE(net.take(sub).empty());
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 0u);
}

TEST_P(BothVersions, delivery_qos_is_the_lower_of_publish_and_granted_qos_MQTT_3_8_4_8) {
  Net net;
  auto sub = net.subscriber(GetParam(), "sub", "d/#", 1);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("d/x", "two", 2, 3));
  EXPECT_EQ(net.take_one<mqtt::Publish>(sub).qos, 1);
  net.send(pub, make_publish("d/x", "zero", 0));
  EXPECT_EQ(net.take_one<mqtt::Publish>(sub).qos, 0);
}

TEST(BrokerPublish, in_flight_stays_within_the_client_receive_maximum_MQTT_3_3_4_9) {
  Net net;
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::receive_maximum, 2}}));
  net.subscribe(sub, "r", 1);
  auto pub = net.connect(Version::v5, "pub");
  for (std::uint16_t i = 1; i <= 5; ++i) net.send(pub, make_publish("r", std::to_string(i), 1, i));
  auto first = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(first.size(), 2u);  // [MQTT-4.9.0-2]
  EXPECT_EQ(net.engine.session("sub")->queued, 3u);
  net.send(sub, mqtt::Pingreq{});  // other packets still answered [MQTT-3.3.4-10]
  EXPECT_EQ(net.take_all<mqtt::Pingresp>(sub).size(), 1u);  // [MQTT-4.9.0-3]
  net.send(sub, mqtt::Puback{first[0].packet_id, 0, {}});
  auto next = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].payload, "3");
}

TEST_P(BothVersions, unacknowledged_messages_are_resent_with_dup_on_session_resumption_MQTT_4_4_0_1) {
  Net net;
  mqtt::Properties p = session_expiry(GetParam(), 60);
  auto sub = net.connect(GetParam(), "sub", false, p);
  net.subscribe(sub, "t/#", 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("t/1", "q1", 1, 1));
  net.send(pub, make_publish("t/2", "q2", 2, 2));
  auto sent = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(sent.size(), 2u);
  net.send(sub, mqtt::Pubrec{sent[1].packet_id, 0, {}});  // QoS 2 now waits for PUBCOMP
  net.take(sub);
  net.lose(sub);
  sub = net.connect(GetParam(), "sub", false, p);
  auto again = net.take(sub);
  ASSERT_EQ(again.size(), 2u);
  auto& republished = std::get<mqtt::Publish>(again[0]);
  EXPECT_TRUE(republished.dup);  // [MQTT-3.3.1-1]
  EXPECT_EQ(republished.packet_id, sent[0].packet_id);
  EXPECT_EQ(republished.payload, "q1");
  EXPECT_EQ(std::get<mqtt::Pubrel>(again[1]).packet_id, sent[1].packet_id);  // PUBREL, not the PUBLISH [MQTT-4.3.3-6]
}

TEST_P(BothVersions, messages_for_an_offline_session_are_queued_up_to_the_limit) {
  BrokerConfig config;
  config.max_queued_messages = 3;
  Net net(config);
  mqtt::Properties p = session_expiry(GetParam(), 60);
  auto sub = net.connect(GetParam(), "sub", false, p);
  net.subscribe(sub, "off", 1);
  net.lose(sub);
  auto pub = net.connect(GetParam(), "pub");
  for (std::uint16_t i = 1; i <= 5; ++i) net.send(pub, make_publish("off", std::to_string(i), 1, i));
  net.send(pub, make_publish("off", "qos0-not-queued", 0));
  EXPECT_EQ(net.engine.session("sub")->queued, 3u);
  EXPECT_EQ(net.engine.stats().messages_dropped_queue_full, 2u);
  sub = net.connect(GetParam(), "sub", false, p);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"1", "2", "3"}));
}

TEST_P(BothVersions, messages_on_a_topic_arrive_in_publish_order_MQTT_4_6_0_6) {
  BrokerConfig config;
  config.max_inflight = 3;
  Net net(config);
  auto sub = net.subscriber(GetParam(), "sub", "ord", 1);
  auto pub = net.connect(GetParam(), "pub");
  for (std::uint16_t i = 1; i <= 20; ++i) net.send(pub, make_publish("ord", std::to_string(i), 1, i));
  std::vector<std::string> got;
  for (int round = 0; round < 30 && got.size() < 20; ++round) {
    for (auto& p : net.take_all<mqtt::Publish>(sub)) {
      got.push_back(p.payload);
      net.send(sub, mqtt::Puback{p.packet_id, 0, {}});
    }
  }
  std::vector<std::string> expected;
  for (int i = 1; i <= 20; ++i) expected.push_back(std::to_string(i));
  EXPECT_EQ(got, expected);  // [MQTT-4.6.0-5]
}

TEST(BrokerPublish, more_qos2_publishes_than_receive_maximum_is_disconnect_0x93_MQTT_3_3_4_7) {
  BrokerConfig config;
  config.receive_maximum = 2;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("x", "1", 2, 1));
  net.send(pub, make_publish("x", "2", 2, 2));
  EXPECT_EQ(net.take_all<mqtt::Pubrec>(pub).size(), 2u);
  net.send(pub, make_publish("x", "3", 2, 3));
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x93);
  EXPECT_TRUE(net.closed(pub));
}

TEST(BrokerPublish, packet_above_maximum_packet_size_is_disconnect_0x95) {
  BrokerConfig config;
  config.maximum_packet_size = 64;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("big", std::string(100, 'x')));
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x95);
  EXPECT_TRUE(net.closed(pub));
}

TEST(BrokerPublish, message_above_client_maximum_packet_size_is_dropped_as_if_delivered_MQTT_3_1_2_25) {
  Net net;
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::maximum_packet_size, 40}}));
  net.subscribe(sub, "m", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("m", std::string(100, 'x'), 1, 1));
  net.send(pub, make_publish("m", "small", 1, 2));
  auto got = net.take_all<mqtt::Publish>(sub);  // never above 40 bytes [MQTT-3.1.2-24]
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "small");
  EXPECT_EQ(net.engine.stats().messages_dropped_too_large, 1u);
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 1u);
}

TEST(BrokerPublish, message_expiry_is_decremented_by_the_time_waited_MQTT_3_3_2_6) {
  Net net;
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 600}});
  auto sub = net.connect(Version::v5, "sub", false, p);
  net.subscribe(sub, "e", 1);
  net.lose(sub);
  auto pub = net.connect(Version::v5, "pub");
  auto msg = make_publish("e", "soon", 1, 1);
  msg.properties.add_number(PropertyId::message_expiry_interval, 10);
  net.send(pub, msg);
  auto late = make_publish("e", "later", 1, 2);
  late.properties.add_number(PropertyId::message_expiry_interval, 100);
  net.send(pub, late);
  net.advance(30'000);
  sub = net.connect(Version::v5, "sub", false, p);
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);  // the first one expired in the queue [MQTT-3.3.2-5]
  EXPECT_EQ(got[0].payload, "later");
  auto expiry = got[0].properties.find(PropertyId::message_expiry_interval);
  ASSERT_TRUE(expiry.has_value());
  EXPECT_EQ(expiry->number, 70u);
}

TEST(BrokerPublish, application_properties_are_forwarded_unchanged_and_in_order_MQTT_3_3_2_17_MQTT_3_3_2_18) {
  Net net;
  auto sub = net.subscriber(Version::v5, "sub", "p", 0);
  auto pub = net.connect(Version::v5, "pub");
  auto msg = make_publish("p", "{}");
  msg.properties.add_number(PropertyId::payload_format_indicator, 1);  // [MQTT-3.3.2-4]
  msg.properties.add_string(PropertyId::content_type, "application/json");  // [MQTT-3.3.2-20]
  msg.properties.add_string(PropertyId::response_topic, "reply/here");     // [MQTT-3.3.2-15]
  msg.properties.add_string(PropertyId::correlation_data, std::string("\x00\x01\x02", 3));  // [MQTT-3.3.2-16]
  msg.properties.add_user("b", "2");
  msg.properties.add_user("a", "1");
  msg.properties.add_user("b", "3");
  net.send(pub, msg);
  auto got = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(got.properties, msg.properties);
}

TEST(BrokerPublish, v311_subscriber_gets_no_properties_from_a_v5_publisher) {
  Net net;
  auto sub = net.subscriber(Version::v3_1_1, "sub", "p", 0);
  auto pub = net.connect(Version::v5, "pub");
  auto msg = make_publish("p", "x");
  msg.properties.add_user("k", "v");
  net.send(pub, msg);
  EXPECT_EQ(net.peers[sub].bytes, hex_to_bytes("30 04 00 01 70 78"));
}

TEST(BrokerPublish, publish_qos_above_maximum_qos_is_disconnect_0x9b_MQTT_3_2_2_11) {
  BrokerConfig config;
  config.maximum_qos = 1;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("q", "x", 2, 1));
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x9B);
}

TEST(BrokerPublish, no_matching_subscribers_is_reported_0x10_in_puback) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("nobody", "x", 1, 9));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x10);
}

TEST(BrokerPublish, request_problem_information_0_gets_no_reason_string_on_acks_MQTT_3_1_2_29) {
  BrokerConfig config;
  config.acl.push_back(acl_rule("*", "*", {}, {}));
  Net net(config);
  auto pub = net.connect(Version::v5, "pub", true, props({{PropertyId::request_problem_information, 0}}));
  net.send(pub, make_publish("t", "x", 1, 1));
  net.send(pub, make_subscribe(2, "t", 0));
  for (auto& packet : net.take(pub)) {
    std::visit([](const auto& p) {
      if constexpr (requires { p.properties.find(PropertyId::reason_string); }) {
        EXPECT_FALSE(p.properties.find(PropertyId::reason_string).has_value());
        EXPECT_FALSE(p.properties.find(PropertyId::user_property).has_value());
      }
    }, packet);
  }
}

TEST(BrokerPublish, qos1_packet_id_reused_after_puback_is_a_new_message_MQTT_4_3_2_5) {
  Net net;
  auto sub = net.subscriber(Version::v5, "sub", "n", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("n", "first", 1, 8));
  auto again = make_publish("n", "second", 1, 8);
  again.dup = true;
  net.send(pub, again);
  EXPECT_EQ(net.take_all<mqtt::Puback>(pub).size(), 2u);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"first", "second"}));
}

TEST(BrokerPublish, qos2_packet_id_reused_after_an_error_pubrec_is_a_new_message_MQTT_4_3_3_9) {
  BrokerConfig config;
  config.acl.push_back(acl_rule("*", "*", {"ok/#"}, {"#"}));
  Net net(config);
  auto sub = net.subscriber(Version::v5, "sub", "#", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("secret", "no", 2, 4));
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).reason_code, 0x87);
  net.send(pub, make_publish("ok/x", "yes", 2, 4));
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).reason_code, 0x00);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"yes"}));
}

TEST(BrokerPublish, qos2_message_already_sent_is_not_expired_MQTT_4_3_3_7) {
  Net net;
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 600}});
  auto sub = net.connect(Version::v5, "sub", false, p);
  net.subscribe(sub, "x", 2);
  auto pub = net.connect(Version::v5, "pub");
  auto msg = make_publish("x", "short-lived", 2, 1);
  msg.properties.add_number(PropertyId::message_expiry_interval, 1);
  net.send(pub, msg);
  auto got = net.take_one<mqtt::Publish>(sub);
  net.lose(sub);
  net.advance(10'000);
  sub = net.connect(Version::v5, "sub", false, p);
  auto resent = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_TRUE(resent[0].dup);
  EXPECT_EQ(resent[0].packet_id, got.packet_id);
}

TEST(BrokerPublish, qos2_exchange_completes_after_the_message_expired_MQTT_4_3_3_13) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  auto msg = make_publish("x", "short-lived", 2, 6);
  msg.properties.add_number(PropertyId::message_expiry_interval, 1);
  net.send(pub, msg);
  net.take(pub);
  net.advance(5'000);
  net.send(pub, mqtt::Pubrel{6, 0, {}});
  auto comp = net.take_one<mqtt::Pubcomp>(pub);
  EXPECT_EQ(comp.packet_id, 6);
  EXPECT_EQ(comp.reason_code, 0);
}
