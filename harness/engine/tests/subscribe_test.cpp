// SUBSCRIBE and UNSUBSCRIBE (subscribe.cpp, routing in deliver.cpp): wildcards and
// $-topics, overlapping subscriptions, SUBACK/UNSUBACK codes, No Local, shared
// subscriptions, features and limits that refuse a filter.
#include "broker_test_util.hpp"

TEST_P(BothVersions, wildcards_match_and_leading_wildcards_skip_dollar_topics_MQTT_4_7_2_1) {
  Net net;
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "#", 0, 1);
  net.subscribe(sub, "+/x", 0, 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("$SYS/x", "hidden"));
  net.send(pub, make_publish("a/x", "seen"));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);  // one copy despite two matching filters
  EXPECT_EQ(got[0].payload, "seen");
  EXPECT_EQ(got[0].topic, "a/x");  // the name matches the filters [MQTT-3.3.2-3]
}

TEST(BrokerSubscribe, dollar_topic_is_matched_by_an_explicit_filter_MQTT_4_7_2_1) {
  Net net;
  auto sub = net.subscriber(Version::v5, "sub", "$SYS/#", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("$SYS/x", "sys"));
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 1u);
}

TEST(BrokerSubscribe, overlapping_subscriptions_give_one_copy_at_max_qos_with_all_ids_MQTT_3_3_4_2_MQTT_3_3_4_3) {
  Net net;
  auto sub = net.connect(Version::v5, "sub");
  net.send(sub, make_subscribe_with_id(1, "o/+", 0, 11));
  net.send(sub, make_subscribe_with_id(2, "o/#", 2, 22));
  net.take(sub);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("o/x", "m", 2, 1));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 2);
  std::vector<std::uint32_t> ids = subscription_ids(got[0]);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::uint32_t>{11, 22}));  // [MQTT-3.3.4-4]
}

TEST_P(BothVersions, unsubscribe_stops_delivery_and_is_acknowledged_MQTT_3_10_4_2_MQTT_3_10_4_4) {
  Net net;
  auto sub = net.subscriber(GetParam(), "sub", "u/+", 0);
  mqtt::Unsubscribe u;
  u.packet_id = 42;
  u.filters = {"u/#", "u/+"};  // the first does not exist: exact comparison [MQTT-3.10.4-1]
  net.send(sub, u);
  auto ack = net.take_one<mqtt::Unsuback>(sub);
  EXPECT_EQ(ack.packet_id, 42);  // [MQTT-3.10.4-5] [MQTT-2.2.1-6]
  // One UNSUBACK for both filters, codes in filter order [MQTT-3.10.4-6] [MQTT-3.11.3-1]
  if (GetParam() == Version::v5) {
    EXPECT_EQ(ack.reason_codes, (std::vector<std::uint8_t>{0x11, 0x00}));
  }
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("u/1", "x"));
  EXPECT_TRUE(net.take(sub).empty());
}

TEST_P(BothVersions, resubscribing_replaces_the_subscription_MQTT_3_8_4_3) {
  Net net;
  auto sub = net.subscriber(GetParam(), "sub", "r", 0);
  net.subscribe(sub, "r", 1);
  EXPECT_EQ(net.engine.session("sub")->subscriptions, 1u);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("r", "x", 1, 1));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 1);
}

TEST(BrokerSubscribe, suback_has_one_code_per_filter_in_order_MQTT_3_9_3_1) {
  BrokerConfig config;
  config.maximum_qos = 1;
  Net net(config);
  auto sub = net.connect(Version::v5, "sub");
  mqtt::Subscribe s;
  s.packet_id = 9;
  for (std::uint8_t q : {std::uint8_t{2}, std::uint8_t{0}, std::uint8_t{1}}) s.subscriptions.push_back(mqtt::Subscription{"f/" + std::to_string(q), {q, false, false, 0}});
  net.send(sub, s);
  auto ack = net.take_one<mqtt::Suback>(sub);
  EXPECT_EQ(ack.packet_id, 9);  // [MQTT-3.8.4-2] [MQTT-2.2.1-6]
  // One SUBACK, one code per filter, each the granted QoS (capped at 1)
  // [MQTT-3.8.4-5] [MQTT-3.8.4-6] [MQTT-3.8.4-7]
  EXPECT_EQ(ack.reason_codes, (std::vector<std::uint8_t>{1, 0, 1}));
}

TEST(BrokerSubscribe, no_local_is_not_sent_back_to_the_publisher_MQTT_3_8_3_3) {
  Net net;
  auto both = net.connect(Version::v5, "both");
  auto s = make_subscribe(1, "nl", 0);
  s.subscriptions[0].options.no_local = true;
  net.send(both, s);
  net.take(both);
  auto other = net.subscriber(Version::v5, "other", "nl", 0);
  net.send(both, make_publish("nl", "x"));
  EXPECT_TRUE(net.take(both).empty());
  EXPECT_EQ(net.take_all<mqtt::Publish>(other).size(), 1u);
}

TEST(BrokerSubscribe, shared_subscription_delivers_round_robin_within_the_group_4_8_2) {
  Net net;
  auto a = net.subscriber(Version::v5, "a", "$share/g/s/#", 1);
  auto b = net.subscriber(Version::v5, "b", "$share/g/s/#", 1);
  auto pub = net.connect(Version::v5, "pub");
  for (std::uint16_t i = 1; i <= 4; ++i) net.send(pub, make_publish("s/x", std::to_string(i), 1, i));
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(a)), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(b)), (std::vector<std::string>{"2", "4"}));
}

TEST(BrokerSubscribe, no_local_on_a_shared_subscription_is_protocol_error_MQTT_3_8_3_4) {
  Net net;
  auto a = net.connect(Version::v5, "a");
  auto s = make_subscribe(1, "$share/g/x", 0);
  s.subscriptions[0].options.no_local = true;
  net.send(a, s);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(a).reason_code, 0x82);
}

TEST(BrokerSubscribe, unavailable_features_are_refused_per_filter_3_9_3) {
  BrokerConfig config;
  config.wildcard_subscription_available = false;
  config.shared_subscription_available = false;
  Net net(config);
  auto a = net.connect(Version::v5, "a");
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {{"w/#", {}}, {"$share/g/x", {}}, {"plain", {}}};
  net.send(a, s);
  EXPECT_EQ(net.take_one<mqtt::Suback>(a).reason_codes, (std::vector<std::uint8_t>{0xA2, 0x9E, 0x00}));
}

TEST(BrokerSubscribe, subscription_identifier_when_unsupported_is_disconnect_0xa1) {
  BrokerConfig config;
  config.subscription_identifiers_available = false;
  Net net(config);
  auto a = net.connect(Version::v5, "a");
  auto s = make_subscribe(1, "x", 0);
  s.properties.add_number(PropertyId::subscription_identifier, 5);
  net.send(a, s);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(a).reason_code, 0xA1);
}

TEST_P(BothVersions, subscriptions_above_the_limit_are_refused) {
  BrokerConfig config;
  config.max_subscriptions_per_client = 2;
  Net net(config);
  auto a = net.connect(GetParam(), "a");
  net.subscribe(a, "1", 0, 1);
  net.subscribe(a, "2", 0, 2);
  net.send(a, make_subscribe(3, "3", 0));
  EXPECT_EQ(net.take_one<mqtt::Suback>(a).reason_codes[0], GetParam() == Version::v5 ? 0x97 : 0x80);
  net.subscribe(a, "2", 1, 4);  // replacing is still allowed
  EXPECT_EQ(net.engine.session("a")->subscriptions, 2u);
}

TEST_P(BothVersions, unsubscribe_lets_in_flight_deliveries_complete_MQTT_3_10_4_3) {
  Net net;
  auto sub = net.subscriber(GetParam(), "sub", "u", 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("u", "x", 2, 1));
  auto got = net.take_one<mqtt::Publish>(sub);
  mqtt::Unsubscribe u;
  u.packet_id = 2;
  u.filters = {"u"};
  net.send(sub, u);
  net.take(sub);
  net.send(sub, mqtt::Pubrec{got.packet_id, 0, {}});
  EXPECT_EQ(net.take_one<mqtt::Pubrel>(sub).packet_id, got.packet_id);
  net.send(sub, mqtt::Pubcomp{got.packet_id, 0, {}});
  EXPECT_EQ(net.engine.session("sub")->inflight_out, 0u);
}

TEST_P(BothVersions, topics_are_matched_without_normalisation_MQTT_4_7_3_4) {
  Net net;
  auto sub = net.subscriber(GetParam(), "sub", "a/b", 0);
  auto pub = net.connect(GetParam(), "pub");
  for (const char* topic : {"A/b", "a//b", "a/b/", "/a/b", "a/b "}) net.send(pub, make_publish(topic, "no"));
  net.send(pub, make_publish("a/b", "yes"));
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"yes"}));
}

TEST(BrokerSubscribe, v311_wildcard_filter_refused_when_wildcards_are_unavailable_MQTT_3_8_3_2_v311) {
  BrokerConfig config;
  config.wildcard_subscription_available = false;
  Net net(config);
  auto sub = net.connect(Version::v3_1_1, "sub");
  mqtt::Subscribe s;
  s.packet_id = 5;
  s.subscriptions = {{"a/+", {1, false, false, 0}}, {"a/b", {1, false, false, 0}}};
  net.send(sub, s);
  // 90 | remaining 4 | packet id 5 | 0x80 failure, QoS 1 granted
  // (3.1.1: MQTT-3.8.4-1) (3.1.1: MQTT-3.8.4-2) (3.1.1: MQTT-3.8.4-5)
  EXPECT_EQ(net.peers[sub].bytes, hex_to_bytes("90 04 00 05 80 01"));
}

TEST(BrokerSubscribe, shared_qos2_delivery_is_completed_when_the_member_reconnects_MQTT_4_8_2_4) {
  Net net;
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 60}});
  auto a = net.connect(Version::v5, "a", false, p);
  net.subscribe(a, "$share/g/s", 2);
  auto b = net.connect(Version::v5, "b", false, p);
  net.subscribe(b, "$share/g/s", 2);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("s", "m", 2, 1));
  auto got = net.take_one<mqtt::Publish>(a);
  net.lose(a);
  a = net.connect(Version::v5, "a", false, p);
  auto resent = net.take_all<mqtt::Publish>(a);
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(resent[0].packet_id, got.packet_id);
  EXPECT_TRUE(net.take_all<mqtt::Publish>(b).empty());
}

TEST(BrokerSubscribe, shared_delivery_is_not_moved_to_another_member_when_the_session_ends_MQTT_4_8_2_5) {
  Net net;
  auto a = net.connect(Version::v5, "a", false, props({{PropertyId::session_expiry_interval, 1}}));
  net.subscribe(a, "$share/g/s", 1);
  auto b = net.subscriber(Version::v5, "b", "$share/g/s", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("s", "m", 1, 1));
  EXPECT_EQ(net.take_all<mqtt::Publish>(a).size(), 1u);
  net.lose(a);
  net.advance(2'000);
  EXPECT_FALSE(net.engine.session("a").has_value());
  EXPECT_TRUE(net.take_all<mqtt::Publish>(b).empty());
}

TEST(BrokerSubscribe, shared_delivery_refused_with_an_error_ack_is_discarded_MQTT_4_8_2_6) {
  Net net;
  auto a = net.subscriber(Version::v5, "a", "$share/g/s", 1);
  auto b = net.subscriber(Version::v5, "b", "$share/g/s", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("s", "m", 1, 1));
  auto got = net.take_one<mqtt::Publish>(a);
  net.send(a, mqtt::Puback{got.packet_id, 0x80, {}});
  EXPECT_EQ(net.engine.session("a")->inflight_out, 0u);
  EXPECT_TRUE(net.take_all<mqtt::Publish>(b).empty());
  EXPECT_TRUE(net.take_all<mqtt::Publish>(a).empty());
}
