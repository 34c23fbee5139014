// Wills (connect.cpp): published when the connection is lost or the keep-alive expires,
// discarded by DISCONNECT 0x00, on session takeover, delayed, retained, with properties.
#include "broker_test_util.hpp"

namespace {

mqtt::Will make_will(std::string topic, std::string payload, bool retain = false) {
  return mqtt::Will{std::move(topic), std::move(payload), 0, retain, {}};
}

}  // namespace

TEST_P(BothVersions, will_is_published_when_the_connection_is_lost_MQTT_3_1_2_8) {
  Net net;
  auto watcher = net.subscriber(GetParam(), "watch", "will/#", 0);
  auto dying = net.connect(GetParam(), "dying", true, {}, 0, make_will("will/dying", "gone"));
  net.lose(dying);
  auto got = net.take_all<mqtt::Publish>(watcher);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "gone");
}

TEST_P(BothVersions, will_is_discarded_after_disconnect_MQTT_3_14_4_3) {
  Net net;
  auto watcher = net.subscriber(GetParam(), "watch", "will/#", 0);
  auto leaving = net.connect(GetParam(), "leaving", true, {}, 0, make_will("will/leaving", "gone"));
  net.send(leaving, mqtt::Disconnect{});
  EXPECT_TRUE(net.closed(leaving));
  net.lose(leaving);
  EXPECT_TRUE(net.take(watcher).empty());
}

TEST(BrokerWill, disconnect_with_0x04_publishes_the_will_3_14_2_1) {
  Net net;
  auto watcher = net.subscriber(Version::v5, "watch", "will/#", 0);
  auto leaving = net.connect(Version::v5, "leaving", true, {}, 0, make_will("will/leaving", "gone"));
  net.send(leaving, mqtt::Disconnect{0x04, {}});
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
}

TEST_P(BothVersions, will_is_published_on_keep_alive_timeout_MQTT_3_1_2_8) {
  Net net;
  auto watcher = net.subscriber(GetParam(), "watch", "will/#", 0);
  net.connect(GetParam(), "silent", true, {}, 2, make_will("will/silent", "timeout"));
  net.advance(3'000);
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
}

// --- the old connection's will on takeover --------------------------------------------------

TEST(BrokerConnect, v311_takeover_publishes_the_old_connections_will_MQTT_3_1_2_8_v311) {
  // 3.1.1: the will goes out whenever the connection closes without DISCONNECT
  // (3.1.1: MQTT-3.1.2-8), and a takeover closes it (3.1.1: MQTT-3.1.4-2), whether or not
  // the session persists. (mosquitto 2.0 skips it when both connections keep the session.)
  for (bool clean : {true, false}) {
    Net net;
    auto watcher = net.subscriber(Version::v3_1_1, "watch", "will/#", 0);
    auto first = net.connect(Version::v3_1_1, "dup", clean, {}, 0, make_will("will/dup", "gone"));
    net.connect(Version::v3_1_1, "dup", clean);
    EXPECT_TRUE(net.closed(first));
    auto got = net.take_all<mqtt::Publish>(watcher);
    ASSERT_EQ(got.size(), 1u) << "clean session " << clean;
    EXPECT_EQ(got[0].payload, "gone");
  }
}

TEST(BrokerConnect, takeover_resuming_the_session_does_not_publish_the_will_MQTT_3_1_3_9) {
  // 5.0: the new connection to the session exists before the old one is closed, so before
  // any Will Delay can elapse: the will is not sent [MQTT-3.1.3-9, MQTT-3.1.2-8].
  Net net;
  auto watcher = net.subscriber(Version::v5, "watch", "will/#", 0);
  mqtt::Properties keep = props({{PropertyId::session_expiry_interval, 60}});
  auto first = net.connect(Version::v5, "dup", false, keep, 0, make_will("will/dup", "gone"));
  bool present = false;
  net.connect(Version::v5, "dup", false, keep, 0, std::nullopt, &present);
  EXPECT_TRUE(present);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(first).reason_code, 0x8E);  // [MQTT-3.1.4-3]
  net.advance(120'000);
  EXPECT_TRUE(net.take_all<mqtt::Publish>(watcher).empty());
}

TEST(BrokerConnect, takeover_that_ends_the_session_publishes_the_will_MQTT_3_1_2_8) {
  // 5.0: "the Will Message MUST be published after the Network Connection is
  // subsequently closed and ... the Session ends" [MQTT-3.1.2-8]: the new CONNECT has
  // Clean Start 1, or the old session had expiry 0 (it ends when its connection closes).
  struct Case {
    std::uint32_t old_expiry;
    bool new_clean_start;
  };
  for (Case c : {Case{60, true}, Case{0, false}, Case{0, true}}) {
    Net net;
    auto watcher = net.subscriber(Version::v5, "watch", "will/#", 0);
    auto will = make_will("will/dup", "gone");
    will.properties.add_number(PropertyId::will_delay_interval, 30);  // the session end comes first
    auto first = net.connect(Version::v5, "dup", false, props({{PropertyId::session_expiry_interval, c.old_expiry}}),
                             0, will);
    net.connect(Version::v5, "dup", c.new_clean_start, props({{PropertyId::session_expiry_interval, 60}}));
    EXPECT_EQ(net.take_one<mqtt::Disconnect>(first).reason_code, 0x8E);
    auto got = net.take_all<mqtt::Publish>(watcher);
    ASSERT_EQ(got.size(), 1u) << "old expiry " << c.old_expiry << ", clean start " << c.new_clean_start;
    EXPECT_EQ(got[0].payload, "gone");
  }
}

TEST(BrokerWill, will_retain_1_publishes_a_retained_will_MQTT_3_1_2_15) {
  Net net;
  auto dying = net.connect(Version::v5, "dying", true, {}, 0, make_will("will/r", "gone", true));
  net.lose(dying);
  EXPECT_EQ(net.engine.retained_count(), 1u);
}

TEST(BrokerWill, will_delay_is_cancelled_by_reconnection_MQTT_3_1_3_9) {
  Net net;
  auto watcher = net.subscriber(Version::v5, "watch", "will/#", 0);
  auto will = make_will("will/d", "late");
  will.properties.add_number(PropertyId::will_delay_interval, 5);
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 60}});
  auto dying = net.connect(Version::v5, "d", false, p, 0, will);
  net.lose(dying);
  EXPECT_TRUE(net.engine.session("d")->will_pending);
  net.advance(4'000);
  net.connect(Version::v5, "d", false, p);
  net.advance(10'000);
  EXPECT_TRUE(net.take(watcher).empty());
}

TEST(BrokerWill, delayed_will_is_published_after_the_delay_MQTT_3_1_2_8) {
  Net net;
  auto watcher = net.subscriber(Version::v5, "watch", "will/#", 0);
  auto will = make_will("will/d", "late");
  will.properties.add_number(PropertyId::will_delay_interval, 5);
  auto dying = net.connect(Version::v5, "d", false, props({{PropertyId::session_expiry_interval, 60}}), 0, will);
  net.lose(dying);
  EXPECT_TRUE(net.engine.session("d")->will_pending);  // stored with the session [MQTT-3.1.2-7]
  net.advance(4'999);
  EXPECT_TRUE(net.take(watcher).empty());
  net.advance(1);
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
}

TEST(BrokerWill, delayed_will_goes_out_when_the_session_ends_first_MQTT_3_1_2_8) {
  Net net;
  auto watcher = net.subscriber(Version::v5, "watch", "will/#", 0);
  auto will = make_will("will/d", "late");
  will.properties.add_number(PropertyId::will_delay_interval, 100);
  auto dying = net.connect(Version::v5, "d", false, props({{PropertyId::session_expiry_interval, 2}}), 0, will);
  net.lose(dying);
  net.advance(2'000);
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
  EXPECT_FALSE(net.engine.session("d").has_value());
}

TEST_P(BothVersions, will_retain_0_is_published_non_retained_and_no_will_without_will_flag_MQTT_3_1_2_14) {
  Net net;
  auto watcher = net.subscriber(GetParam(), "watch", "will/#", 0);
  auto plain = net.connect(GetParam(), "plain");
  net.lose(plain);  // no will flag: nothing is published
  EXPECT_TRUE(net.take(watcher).empty());
  auto dying = net.connect(GetParam(), "dying", true, {}, 0, make_will("will/x", "gone", false));
  net.lose(dying);
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
  EXPECT_EQ(net.engine.retained_count(), 0u);
}

TEST(BrokerWill, v311_will_retain_1_publishes_a_retained_will_MQTT_3_1_2_17_v311) {
  Net net;
  auto dying = net.connect(Version::v3_1_1, "dying", true, {}, 0, make_will("will/r", "gone", true));
  net.lose(dying);
  EXPECT_EQ(net.engine.retained_count(), 1u);
  auto sub = net.connect(Version::v3_1_1, "late");
  net.send(sub, make_subscribe(1, "will/#", 0));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].retain);
}

TEST(BrokerWill, will_properties_are_forwarded_with_user_property_order_MQTT_3_1_3_10) {
  Net net;
  auto watcher = net.subscriber(Version::v5, "watch", "will/#", 0);
  auto will = make_will("will/p", "gone");
  will.properties.add_string(PropertyId::content_type, "text/plain");
  will.properties.add_user("z", "1");
  will.properties.add_user("a", "2");
  auto dying = net.connect(Version::v5, "dying", true, {}, 0, will);
  net.lose(dying);
  auto got = net.take_one<mqtt::Publish>(watcher);
  EXPECT_EQ(got.properties, will.properties);
}

TEST(BrokerWill, disconnect_with_an_error_code_still_publishes_the_will_MQTT_3_1_2_8) {
  Net net;
  auto watcher = net.subscriber(Version::v5, "watch", "will/#", 0);
  auto leaving = net.connect(Version::v5, "leaving", true, {}, 0, make_will("will/x", "gone"));
  net.send(leaving, mqtt::Disconnect{0x80, {}});
  EXPECT_EQ(net.take_all<mqtt::Publish>(watcher).size(), 1u);
}
