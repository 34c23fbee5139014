// Retained messages (retain.cpp): stored, replaced and cleared by retained PUBLISHes,
// sent on SUBSCRIBE per Retain Handling, the RETAIN flag on delivery, the bounded store.
#include "broker_test_util.hpp"

TEST_P(BothVersions, retained_message_is_sent_on_subscribe_with_retain_1_MQTT_3_3_1_5_MQTT_3_3_1_9) {
  Net net;
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("ret/a", "old", 0, 0, true));
  net.send(pub, make_publish("ret/a", "new", 1, 1, true));  // replaces [MQTT-3.3.1-5]
  net.send(pub, make_publish("ret/a", "not-retained", 0, 0, false));  // leaves it [MQTT-3.3.1-8]
  EXPECT_EQ(net.engine.retained_count(), 1u);
  auto sub = net.connect(GetParam(), "sub");
  net.send(sub, make_subscribe(1, "ret/#", 1));
  auto packets = net.take(sub);
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<mqtt::Suback>(packets[0]));
  auto& got = std::get<mqtt::Publish>(packets[1]);
  EXPECT_EQ(got.payload, "new");
  EXPECT_TRUE(got.retain);
  EXPECT_EQ(got.qos, 1);
}

TEST_P(BothVersions, retained_message_with_empty_payload_clears_and_is_not_stored_MQTT_3_3_1_6_MQTT_3_3_1_7) {
  Net net;
  auto sub0 = net.subscriber(GetParam(), "live", "c", 0);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("c", "v", 0, 0, true));
  net.send(pub, make_publish("c", "", 0, 0, true));
  EXPECT_EQ(net.engine.retained_count(), 0u);
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub0).size(), 2u);  // the empty one is delivered normally
  auto sub = net.subscriber(GetParam(), "sub", "c", 0);
  EXPECT_TRUE(net.take(sub).empty());
}

TEST(BrokerSubscribe, v311_forwarded_live_message_has_retain_0_MQTT_3_3_1_9_v311) {
  Net net;
  auto sub = net.subscriber(Version::v3_1_1, "sub", "l", 0);
  auto pub = net.connect(Version::v3_1_1, "pub");
  net.send(pub, make_publish("l", "x", 0, 0, true));
  EXPECT_FALSE(net.take_one<mqtt::Publish>(sub).retain);
}

TEST(BrokerSubscribe, retain_as_published_keeps_the_retain_flag_MQTT_3_3_1_12_MQTT_3_3_1_13) {
  Net net;
  auto plain = net.subscriber(Version::v5, "plain", "rap", 0);
  auto rap = net.connect(Version::v5, "rap");
  auto s = make_subscribe(1, "rap", 0);
  s.subscriptions[0].options.retain_as_published = true;
  net.send(rap, s);
  net.take(rap);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("rap", "x", 0, 0, true));
  EXPECT_FALSE(net.take_one<mqtt::Publish>(plain).retain);
  EXPECT_TRUE(net.take_one<mqtt::Publish>(rap).retain);
}

TEST(BrokerSubscribe, retain_handling_1_sends_retained_only_for_a_new_subscription_MQTT_3_3_1_10) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("rh", "x", 0, 0, true));
  auto sub = net.connect(Version::v5, "sub");
  net.send(sub, make_subscribe(1, "rh", 0, 1));
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 1u);
  net.send(sub, make_subscribe(2, "rh", 0, 1));
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 0u);
  net.send(sub, make_subscribe(3, "rh", 0, 0));  // Retain Handling 0 re-sends [MQTT-3.8.4-4]
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 1u);
}

TEST(BrokerSubscribe, retain_handling_2_sends_no_retained_messages_MQTT_3_3_1_11) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("rh", "x", 0, 0, true));
  auto sub = net.connect(Version::v5, "sub");
  net.send(sub, make_subscribe(1, "rh", 0, 2));
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 0u);
}

TEST(BrokerSubscribe, shared_subscription_gets_no_retained_messages_4_8_2) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("s/r", "x", 0, 0, true));
  auto a = net.subscriber(Version::v5, "a", "$share/g/s/#", 0);
  EXPECT_TRUE(net.take(a).empty());
}

TEST(BrokerSubscribe, retained_store_is_bounded_by_max_retained_messages) {
  BrokerConfig config;
  config.max_retained_messages = 2;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("r/1", "x", 1, 1, true));
  net.send(pub, make_publish("r/2", "x", 1, 2, true));
  net.send(pub, make_publish("r/3", "x", 1, 3, true));
  auto acks = net.take_all<mqtt::Puback>(pub);
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[2].reason_code, 0x97);
  EXPECT_EQ(net.engine.retained_count(), 2u);
  net.send(pub, make_publish("r/1", "y", 1, 4, true));  // replacing fits
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x10);
}

TEST(BrokerSubscribe, a_full_retained_store_makes_room_by_dropping_expired_messages_MQTT_3_3_2_5) {
  BrokerConfig config;
  config.max_retained_messages = 2;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  auto expiring = make_publish("r/1", "x", 1, 1, true);
  expiring.properties.add_number(PropertyId::message_expiry_interval, 1);
  net.send(pub, expiring);
  net.send(pub, make_publish("r/2", "x", 1, 2, true));
  net.send(pub, make_publish("r/3", "x", 1, 3, true));  // full, nothing expired yet: refused
  auto acks = net.take_all<mqtt::Puback>(pub);
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[2].reason_code, 0x97);
  net.advance(1'000);  // r/1 has expired; no SUBSCRIBE has swept it
  net.send(pub, make_publish("r/3", "x", 1, 4, true));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x10);  // kept (no subscriber)
  EXPECT_EQ(net.engine.retained_count(), 2u);
  auto sub = net.connect(Version::v5, "sub");
  net.send(sub, make_subscribe(1, "r/#", 1));
  std::vector<std::string> topics;
  for (const auto& p : net.take_all<mqtt::Publish>(sub)) topics.push_back(p.topic);
  std::sort(topics.begin(), topics.end());
  EXPECT_EQ(topics, (std::vector<std::string>{"r/2", "r/3"}));
}

TEST(BrokerSubscribe, v311_retained_messages_outlive_the_session_MQTT_3_1_2_7_v311) {
  Net net;
  auto pub = net.connect(Version::v3_1_1, "pub");
  net.send(pub, make_publish("keep", "x", 0, 0, true));
  net.send(pub, make_publish("keep", "y", 0, 0, true));  // replaces (3.1.1: MQTT-3.3.1-7)
  net.lose(pub);
  EXPECT_FALSE(net.engine.session("pub").has_value());
  EXPECT_EQ(net.engine.retained_count(), 1u);
  auto sub = net.connect(Version::v3_1_1, "sub");
  net.send(sub, make_subscribe(1, "keep", 0));
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"y"}));
}
