// Misbehave modes (deliver.cpp, test-only): the broker breaks delivery guarantees on
// purpose so the harness can prove its ledger catches it.
#include "broker_test_util.hpp"

namespace {
std::vector<mqtt::Publish> publish_and_collect(Net& net, ConnectionId pub, ConnectionId sub, std::uint8_t qos, int count) {
  std::vector<mqtt::Publish> got;
  for (int i = 1; i <= count; ++i) {
    net.send(pub, make_publish("mb", std::to_string(i), qos, static_cast<std::uint16_t>(qos ? i : 0)));
    net.take(pub);
    for (auto& p : net.take_all<mqtt::Publish>(sub)) {
      got.push_back(p);
      if (p.qos == 1) net.send(sub, mqtt::Puback{p.packet_id, 0, {}});
      if (p.qos == 2) {
        net.send(sub, mqtt::Pubrec{p.packet_id, 0, {}});
        net.take(sub);
        net.send(sub, mqtt::Pubcomp{p.packet_id, 0, {}});
      }
    }
  }
  return got;
}
}  // namespace

TEST(BrokerMisbehave, drop_qos1_drops_every_nth_delivery_but_acks_the_publisher) {
  BrokerConfig config;
  config.misbehave = Misbehave::drop_qos1;
  config.misbehave_every = 10;
  Net net(config);
  auto sub = net.subscriber(Version::v5, "sub", "mb", 1);
  auto pub = net.connect(Version::v5, "pub");
  int acks = 0;
  std::vector<mqtt::Publish> got;
  for (int i = 1; i <= 20; ++i) {
    net.send(pub, make_publish("mb", std::to_string(i), 1, static_cast<std::uint16_t>(i)));
    acks += static_cast<int>(net.take_all<mqtt::Puback>(pub).size());
    for (auto& p : net.take_all<mqtt::Publish>(sub)) {
      got.push_back(p);
      net.send(sub, mqtt::Puback{p.packet_id, 0, {}});
    }
  }
  EXPECT_EQ(acks, 20);
  EXPECT_EQ(got.size(), 18u);
  for (auto& p : got) EXPECT_NE(p.payload, "10");
}

TEST(BrokerMisbehave, dup_qos2_sends_a_message_twice_with_fresh_packet_ids) {
  BrokerConfig config;
  config.misbehave = Misbehave::dup_qos2;
  config.misbehave_every = 3;
  config.track_deliveries = true;
  Net net(config);
  auto sub = net.subscriber(Version::v5, "sub", "mb", 2);
  auto pub = net.connect(Version::v5, "pub");
  auto got = publish_and_collect(net, pub, sub, 2, 3);
  ASSERT_EQ(payloads(got), (std::vector<std::string>{"1", "2", "3", "3"}));
  EXPECT_FALSE(got[3].dup);
}

TEST(BrokerMisbehave, reorder_swaps_consecutive_deliveries_on_a_topic) {
  BrokerConfig config;
  config.misbehave = Misbehave::reorder;
  config.misbehave_every = 2;
  Net net(config);
  auto sub = net.subscriber(Version::v5, "sub", "mb", 1);
  auto pub = net.connect(Version::v5, "pub");
  auto got = publish_and_collect(net, pub, sub, 1, 4);
  EXPECT_EQ(payloads(got), (std::vector<std::string>{"1", "3", "2", "4"}));
}

TEST(BrokerMisbehave, drop_qos0_drops_every_nth_qos0_delivery) {
  BrokerConfig config;
  config.misbehave = Misbehave::drop_qos0;
  config.misbehave_every = 2;
  Net net(config);
  auto sub = net.subscriber(Version::v5, "sub", "mb", 0);
  auto pub = net.connect(Version::v5, "pub");
  EXPECT_EQ(payloads(publish_and_collect(net, pub, sub, 0, 4)), (std::vector<std::string>{"1", "3"}));
}

TEST(BrokerMisbehave, none_mode_with_tracking_reports_no_qos2_duplicate_MQTT_4_3_3_10) {
  BrokerConfig config;
  config.track_deliveries = true;
  Net net(config);
  auto sub = net.subscriber(Version::v5, "sub", "mb", 2);
  auto pub = net.connect(Version::v5, "pub");
  EXPECT_EQ(publish_and_collect(net, pub, sub, 2, 30).size(), 30u);
  EXPECT_FALSE(net.engine.check_invariants().has_value());
}
