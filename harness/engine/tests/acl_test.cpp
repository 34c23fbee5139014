// Access control (acl.cpp): BrokerConfig::acl refusing subscriptions and publications.
#include "broker_test_util.hpp"

TEST_P(BothVersions, subscription_refused_by_the_acl_gets_0x80_or_0x87_MQTT_3_9_3_2) {
  BrokerConfig config;
  config.acl.push_back(AclRule{"*", "*", {"#"}, {"open/#"}});
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
  config.acl.push_back(AclRule{"*", "*", {"ok/#"}, {"#"}});
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
  config.acl.push_back(AclRule{"sensor-*", "*", {"sensors/#"}, {}});
  config.acl.push_back(AclRule{"*", "alice", {"#"}, {"#"}});
  Net net(config);
  auto sensor = net.connect(Version::v5, "sensor-1");
  net.send(sensor, make_publish("sensors/t", "1", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(sensor).reason_code, 0x10);
  net.send(sensor, make_publish("other", "1", 1, 2));
  EXPECT_EQ(net.take_one<mqtt::Puback>(sensor).reason_code, 0x87);
  auto id = net.open(Version::v5);
  auto c = make_connect(Version::v5, "admin");
  c.username = "alice";
  c.password = "pw";
  net.send(id, c);
  net.take(id);
  net.send(id, make_publish("other", "1", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(id).reason_code, 0x10);
}

TEST(BrokerAcl, v311_unauthorised_publish_is_acknowledged_and_dropped_MQTT_3_3_5_2_v311) {
  BrokerConfig config;
  config.acl.push_back(AclRule{"*", "*", {"ok/#"}, {"#"}});
  Net net(config);
  auto sub = net.subscriber(Version::v3_1_1, "sub", "#", 1);
  auto pub = net.connect(Version::v3_1_1, "pub");
  net.send(pub, make_publish("secret", "x", 1, 3));
  EXPECT_EQ(net.peers[pub].bytes, hex_to_bytes("40 02 00 03"));
  EXPECT_TRUE(net.take(sub).empty());
}
