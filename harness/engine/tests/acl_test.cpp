// Access control (acl.cpp): BrokerConfig::acl refusing subscriptions and publications,
// its deny lists winning over allow lists, and the ACL applied to wills.
#include "broker_test_util.hpp"

namespace {

// Connects as user "alice" with password "pw" (5.0), with an optional will.
ConnectionId connect_as_alice(Net& net, std::string client_id, std::optional<mqtt::Will> will = std::nullopt) {
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, std::move(client_id));
  c.username = "alice";
  c.password = "pw";
  c.will = std::move(will);
  net.send(id, c);
  EXPECT_EQ(net.take_one<mqtt::Connack>(id).reason_code, 0);
  return id;
}

}  // namespace

TEST_P(BothVersions, subscription_refused_by_the_acl_gets_0x80_or_0x87_MQTT_3_9_3_2) {
  BrokerConfig config;
  config.acl.push_back(acl_rule("*", "*", {"#"}, {"open/#"}));
  Net net(config);
  auto a = net.connect(GetParam(), "a");
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {{"open/+/x", {}}, {"closed/x", {}}, {"#", {}}};
  net.send(a, s);
  std::uint8_t refused = GetParam() == Version::v5 ? 0x87 : 0x80;
  EXPECT_EQ(net.take_one<mqtt::Suback>(a).reason_codes, (std::vector<std::uint8_t>{0x00, refused, refused}));
}

TEST(BrokerAcl, publish_refused_by_the_acl_gets_puback_0x87_and_is_not_delivered) {
  BrokerConfig config;
  config.acl.push_back(acl_rule("*", "*", {"ok/#"}, {"#"}));
  Net net(config);
  auto sub = net.subscriber(Version::v5, "sub", "#", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("secret", "x", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x87);
  net.send(pub, make_publish("ok/1", "y", 1, 2));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x00);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"y"}));
}

TEST(BrokerAcl, rules_apply_by_client_id_and_username_pattern) {
  BrokerConfig config;
  config.users = {{"alice", "pw"}};
  config.acl.push_back(acl_rule("sensor-*", "*", {"sensors/#"}, {}));
  config.acl.push_back(acl_rule("*", "alice", {"#"}, {"#"}));
  Net net(config);
  auto sensor = net.connect(Version::v5, "sensor-1");
  net.send(sensor, make_publish("sensors/t", "1", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(sensor).reason_code, 0x10);
  net.send(sensor, make_publish("other", "1", 1, 2));
  EXPECT_EQ(net.take_one<mqtt::Puback>(sensor).reason_code, 0x87);
  auto id = connect_as_alice(net, "admin");
  net.send(id, make_publish("other", "1", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(id).reason_code, 0x10);
}

TEST(BrokerAcl, v311_unauthorised_publish_is_acknowledged_and_dropped_MQTT_3_3_5_2_v311) {
  BrokerConfig config;
  config.acl.push_back(acl_rule("*", "*", {"ok/#"}, {"#"}));
  Net net(config);
  auto sub = net.subscriber(Version::v3_1_1, "sub", "#", 1);
  auto pub = net.connect(Version::v3_1_1, "pub");
  net.send(pub, make_publish("secret", "x", 1, 3));
  EXPECT_EQ(net.peers[pub].bytes, hex_to_bytes("40 02 00 03"));
  EXPECT_TRUE(net.take(sub).empty());
}

// --- deny lists: a deny filter of an applicable rule wins over every allow filter -------

namespace {

// Everything is allowed, except what `deny_publish` / `deny_subscribe` deny.
BrokerConfig allow_all_but(std::vector<std::string> deny_publish, std::vector<std::string> deny_subscribe) {
  BrokerConfig config;
  config.acl.push_back(acl_rule("*", "*", {"#"}, {"#"}, std::move(deny_publish), std::move(deny_subscribe)));
  return config;
}

}  // namespace

TEST_P(BothVersions, deny_subscribe_wins_over_allow_0x80_or_0x87_MQTT_3_9_3_2) {
  Net net(allow_all_but({}, {"test/nosubscribe"}));
  auto a = net.connect(GetParam(), "a");
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {{"test/nosubscribe", {}}, {"test/other", {}}};
  s.subscriptions[0].options.qos = 2;
  net.send(a, s);
  // 3.1.1 3.9.3: 0x80 Failure; 5.0 3.9.3: 0x87 Not authorized.
  std::uint8_t refused = GetParam() == Version::v5 ? 0x87 : 0x80;
  EXPECT_EQ(net.take_one<mqtt::Suback>(a).reason_codes, (std::vector<std::uint8_t>{refused, 0x00}));
}

TEST_P(BothVersions, deny_subscribe_on_a_wildcard_filter_refuses_what_it_covers_and_filters_what_overlaps) {
  Net net(allow_all_but({}, {"secret/#"}));
  auto a = net.connect(GetParam(), "a");
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {{"secret/a", {}}, {"secret/+/b", {}}, {"secret", {}}, {"#", {}}};
  net.send(a, s);
  std::uint8_t refused = GetParam() == Version::v5 ? 0x87 : 0x80;
  // "secret/#" also matches "secret" itself (4.7.1.2), so all three are covered.
  EXPECT_EQ(net.take_one<mqtt::Suback>(a).reason_codes, (std::vector<std::uint8_t>{refused, refused, refused, 0x00}));
  // "#" overlaps the denied topics: granted, but never delivers one of them.
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("secret/x", "hidden", 1, 1));
  net.send(pub, make_publish("secret", "hidden too", 1, 2));
  net.send(pub, make_publish("open/x", "visible", 1, 3));
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(a)), (std::vector<std::string>{"visible"}));
}

TEST(BrokerAcl, deny_subscribe_keeps_retained_messages_on_denied_topics_from_an_overlapping_subscription) {
  Net net(allow_all_but({}, {"secret/#"}));
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("secret/x", "hidden", 0, 0, true));
  net.send(pub, make_publish("open/x", "visible", 0, 0, true));
  auto a = net.connect(Version::v5, "a");
  net.send(a, make_subscribe(1, "#", 0));
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(a)), (std::vector<std::string>{"visible"}));
}

TEST(BrokerAcl, deny_publish_wins_over_allow_5_0_puback_and_pubrec_0x87) {
  Net net(allow_all_but({"locked/#"}, {}));
  auto sub = net.subscriber(Version::v5, "sub", "#", 2);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("locked/a", "x", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x87);
  net.send(pub, make_publish("locked/a", "x", 2, 2));
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).reason_code, 0x87);
  // After a PUBREC of 0x80 or more the id is free again [MQTT-4.3.3-9]: no PUBREL state.
  net.send(pub, mqtt::Pubrel{2, 0, {}});
  EXPECT_EQ(net.take_one<mqtt::Pubcomp>(pub).reason_code, 0x92);
  net.send(pub, make_publish("open/a", "y", 1, 3));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x00);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"y"}));
}

TEST(BrokerAcl, v311_denied_publish_is_acknowledged_by_the_qos_rules_and_dropped_MQTT_3_3_5_2_v311) {
  Net net(allow_all_but({"locked/#"}, {}));
  auto sub = net.subscriber(Version::v3_1_1, "sub", "#", 2);
  auto pub = net.connect(Version::v3_1_1, "pub");
  net.send(pub, make_publish("locked/a", "x", 1, 1));
  EXPECT_EQ(net.peers[pub].bytes, hex_to_bytes("40 02 00 01"));  // PUBACK
  net.take(pub);
  net.send(pub, make_publish("locked/a", "x", 2, 2));
  EXPECT_EQ(net.peers[pub].bytes, hex_to_bytes("50 02 00 02"));  // PUBREC
  net.take(pub);
  net.send(pub, mqtt::Pubrel{2, 0, {}});
  EXPECT_EQ(net.peers[pub].bytes, hex_to_bytes("70 02 00 02"));  // PUBCOMP: the flow completes
  EXPECT_FALSE(net.closed(pub));
  EXPECT_TRUE(net.take(sub).empty());
}

TEST(BrokerAcl, deny_applies_only_through_rules_that_apply_to_the_client) {
  BrokerConfig config;
  config.users = {{"alice", "pw"}};
  config.acl.push_back(acl_rule("*", "*", {"#"}, {"#"}));
  config.acl.push_back(acl_rule("*", "alice", {}, {}, {"alarm/#"}));
  Net net(config);
  auto anonymous = net.connect(Version::v5, "anon");
  net.send(anonymous, make_publish("alarm/1", "x", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(anonymous).reason_code, 0x10);
  auto id = connect_as_alice(net, "alice-1");
  net.send(id, make_publish("alarm/1", "x", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(id).reason_code, 0x87);
}

TEST(BrokerAcl, shared_subscription_member_denied_the_topic_is_passed_over) {
  BrokerConfig config;
  config.acl.push_back(acl_rule("*", "*", {"#"}, {"#"}));
  config.acl.push_back(acl_rule("restricted", "*", {}, {}, {}, {"jobs/secret"}));
  Net net(config);
  auto restricted = net.subscriber(Version::v5, "restricted", "$share/g/jobs/+", 0);
  auto other = net.subscriber(Version::v5, "other", "$share/g/jobs/+", 0);
  auto pub = net.connect(Version::v5, "pub");
  for (int i = 0; i < 4; ++i) net.send(pub, make_publish("jobs/secret", "s" + std::to_string(i)));
  EXPECT_TRUE(net.take(restricted).empty());
  EXPECT_EQ(net.take_all<mqtt::Publish>(other).size(), 4u);
}

TEST(BrokerAcl, will_is_published_under_the_acl_of_its_user_name_MQTT_3_1_2_8) {
  BrokerConfig config;
  config.users = {{"alice", "pw"}};
  config.acl.push_back(acl_rule("*", "*", {}, {"#"}));
  config.acl.push_back(acl_rule("*", "alice", {"alice/#"}, {}, {"alice/private"}));
  Net net(config);
  auto watcher = net.subscriber(Version::v5, "watch", "alice/#", 0);
  net.lose(connect_as_alice(net, "a1", mqtt::Will{"alice/status", "gone", 0, false, {}}));  // allowed for alice only
  net.lose(connect_as_alice(net, "a2", mqtt::Will{"alice/private", "gone", 0, false, {}}));  // denied for alice
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(watcher)), (std::vector<std::string>{"gone"}));
}
