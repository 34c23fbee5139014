// Topic aliases both ways (3.3.2.3.4): the client's aliases resolved by publish.cpp, the
// broker's own chosen by deliver.cpp.
#include <map>
#include <random>
#include <set>

#include "broker_test_util.hpp"

TEST(BrokerPublish, topic_alias_maps_later_publishes_with_empty_topic_MQTT_3_3_2_12) {
  Net net;
  auto sub = net.subscriber(Version::v5, "sub", "alias/t", 0);
  auto pub = net.connect(Version::v5, "pub");
  auto first = make_publish("alias/t", "1");
  first.properties.add_number(PropertyId::topic_alias, 1);
  net.send(pub, first);
  auto second = make_publish("", "2");
  second.properties.add_number(PropertyId::topic_alias, 1);
  net.send(pub, second);
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].topic, "alias/t");
  // The engine never sends topic aliases (the client announced none) [MQTT-3.1.2-27].
  EXPECT_FALSE(got[1].properties.find(PropertyId::topic_alias).has_value());
}

TEST(BrokerPublish, topic_alias_0_is_disconnect_0x94_MQTT_3_3_2_8) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  auto p = make_publish("a", "1");
  p.properties.add_number(PropertyId::topic_alias, 0);
  net.send(pub, p);
  auto packets = net.take(pub);
  ASSERT_EQ(packets.size(), 1u);
  // The codec may reject alias 0 itself (as a protocol error) or leave it to the engine
  // (0x94); either way the connection ends with a DISCONNECT.
  auto* d = std::get_if<mqtt::Disconnect>(&packets[0]);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->reason_code == 0x94 || d->reason_code == 0x82) << int(d->reason_code);
  EXPECT_TRUE(net.closed(pub));
}

TEST(BrokerPublish, topic_alias_above_the_maximum_is_disconnect_0x94_MQTT_3_3_2_12) {
  BrokerConfig config;
  config.max_topic_alias = 2;
  Net net(config);
  auto pub = net.connect(Version::v5, "pub");
  auto p = make_publish("a", "1");
  p.properties.add_number(PropertyId::topic_alias, 3);
  net.send(pub, p);
  const auto d = net.take_one<mqtt::Disconnect>(pub);
  EXPECT_EQ(d.reason_code, 0x94);
  // The client broke "aliases stay within the CONNACK maximum", not "alias 0 is never sent".
  const auto why = d.properties.find(PropertyId::reason_string);
  ASSERT_TRUE(why);
  EXPECT_NE(std::string(why->value).find("MQTT-3.3.2-9"), std::string::npos) << why->value;
}

TEST(BrokerPublish, unknown_topic_alias_with_empty_topic_is_protocol_error_3_3_2_3_4) {
  Net net;
  auto pub = net.connect(Version::v5, "pub");
  auto p = make_publish("", "1");
  p.properties.add_number(PropertyId::topic_alias, 1);
  net.send(pub, p);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x82);
}

TEST(BrokerPublish, topic_aliases_do_not_survive_the_connection_MQTT_3_3_2_7) {
  Net net;
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 60}});
  auto pub = net.connect(Version::v5, "pub", false, p);
  auto first = make_publish("alias/t", "1");
  first.properties.add_number(PropertyId::topic_alias, 1);
  net.send(pub, first);
  net.lose(pub);
  pub = net.connect(Version::v5, "pub", false, p);
  auto second = make_publish("", "2");
  second.properties.add_number(PropertyId::topic_alias, 1);
  net.send(pub, second);
  EXPECT_EQ(net.take_one<mqtt::Disconnect>(pub).reason_code, 0x82);
}

// --- outbound topic aliases (3.3.2.3.4) ---------------------------------------------------

namespace {
// The receiving client's side of 3.3.2.3.4, written from the spec: a PUBLISH with a
// topic and an alias (re)defines the alias; an empty topic with an alias means the
// mapped topic. Returns the topic each PUBLISH stands for ("" when unresolvable) and
// records the aliases seen.
struct AliasResolver {
  std::map<std::uint32_t, std::string> mapping;
  std::vector<std::uint32_t> aliases_seen;
  std::string resolve(const mqtt::Publish& p) {
    auto alias = p.properties.find(PropertyId::topic_alias);
    if (!alias) return p.topic;
    aliases_seen.push_back(alias->number);
    if (!p.topic.empty()) {
      mapping[alias->number] = p.topic;
      return p.topic;
    }
    auto it = mapping.find(alias->number);
    return it == mapping.end() ? std::string() : it->second;
  }
};
}  // namespace

TEST(BrokerPublish, outbound_alias_sends_topic_and_alias_first_then_only_the_alias_MQTT_3_3_2_11) {
  Net net;
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::topic_alias_maximum, 5}}));
  net.subscribe(sub, "alias/#", 0);
  auto pub = net.connect(Version::v5, "pub");
  for (const char* payload : {"1", "2", "3"}) net.send(pub, make_publish("alias/t", payload));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].topic, "alias/t");
  auto first_alias = got[0].properties.find(PropertyId::topic_alias);
  ASSERT_TRUE(first_alias.has_value());
  EXPECT_GE(first_alias->number, 1u);  // never 0 [MQTT-3.3.2-8]
  EXPECT_LE(first_alias->number, 5u);
  for (std::size_t i = 1; i < got.size(); ++i) {
    EXPECT_EQ(got[i].topic, "") << i;  // the alias alone stands for the topic
    auto alias = got[i].properties.find(PropertyId::topic_alias);
    ASSERT_TRUE(alias.has_value());
    EXPECT_EQ(alias->number, first_alias->number);
    EXPECT_EQ(got[i].payload, std::to_string(i + 1));
  }
}

TEST(BrokerPublish, outbound_aliases_stay_within_the_client_maximum_and_always_resolve_MQTT_3_1_2_26) {
  // Client maximum 3, broker allows 10: at most 3 aliases [MQTT-3.3.2-11]. 60 seeded
  // random topics out of 7 force re-mapping; every PUBLISH must resolve to its topic.
  Net net;
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::topic_alias_maximum, 3}}));
  net.subscribe(sub, "r/#", 1);
  auto pub = net.connect(Version::v5, "pub");
  std::mt19937 rng(7);
  AliasResolver client;
  std::set<std::uint32_t> distinct;
  for (int i = 0; i < 60; ++i) {
    std::string topic = "r/" + std::to_string(rng() % 7);
    auto qos = static_cast<std::uint8_t>(i % 2);
    net.send(pub, make_publish(topic, std::to_string(i), qos, static_cast<std::uint16_t>(i + 1)));
    auto got = net.take_all<mqtt::Publish>(sub);
    ASSERT_EQ(got.size(), 1u) << i;
    EXPECT_EQ(client.resolve(got[0]), topic) << "publish " << i;
    EXPECT_EQ(got[0].payload, std::to_string(i));
    if (got[0].qos == 1) net.send(sub, mqtt::Puback{got[0].packet_id, 0, {}});
    net.take(pub);
  }
  ASSERT_EQ(client.aliases_seen.size(), 60u);  // every PUBLISH used an alias
  for (auto a : client.aliases_seen) {
    EXPECT_GE(a, 1u);
    EXPECT_LE(a, 3u);
    distinct.insert(a);
  }
  EXPECT_EQ(distinct.size(), 3u);
}

TEST(BrokerPublish, least_recently_used_outbound_alias_is_remapped_first_3_3_2_3_4) {
  Net net;
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::topic_alias_maximum, 2}}));
  net.subscribe(sub, "#", 0);
  auto pub = net.connect(Version::v5, "pub");
  for (const char* topic : {"a", "b", "a", "c"}) net.send(pub, make_publish(topic, topic));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 4u);
  auto alias_of = [&](std::size_t i) { return got[i].properties.find(PropertyId::topic_alias)->number; };
  // "b" was used longer ago than "a", so "c" takes b's alias and "a" keeps its own.
  EXPECT_EQ(got[3].topic, "c");
  EXPECT_EQ(alias_of(3), alias_of(1));
  EXPECT_NE(alias_of(3), alias_of(0));
  net.send(pub, make_publish("a", "again"));
  auto again = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(again.topic, "");
  EXPECT_EQ(again.properties.find(PropertyId::topic_alias)->number, alias_of(0));
}

TEST(BrokerPublish, no_outbound_alias_when_the_client_maximum_is_absent_or_0_MQTT_3_1_2_27) {
  Net net;
  auto zero = net.connect(Version::v5, "zero", true, props({{PropertyId::topic_alias_maximum, 0}}));
  auto absent = net.connect(Version::v5, "absent");
  auto v311 = net.connect(Version::v3_1_1, "v311");  // 3.1.1 has no properties at all
  for (auto id : {zero, absent, v311}) net.subscribe(id, "n/t", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("n/t", "1"));
  net.send(pub, make_publish("n/t", "2"));
  for (auto id : {zero, absent, v311}) {
    auto got = net.take_all<mqtt::Publish>(id);
    ASSERT_EQ(got.size(), 2u);
    for (auto& p : got) {
      EXPECT_EQ(p.topic, "n/t");
      EXPECT_FALSE(p.properties.find(PropertyId::topic_alias).has_value());
    }
  }
}

TEST(BrokerPublish, outbound_aliases_off_in_the_config_sends_none_MQTT_3_3_2_11) {
  BrokerConfig config;
  config.outbound_topic_alias_maximum = 0;
  Net net(config);
  auto sub = net.connect(Version::v5, "sub", true, props({{PropertyId::topic_alias_maximum, 10}}));
  net.subscribe(sub, "o/t", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("o/t", "1"));
  net.send(pub, make_publish("o/t", "2"));
  for (auto& p : net.take_all<mqtt::Publish>(sub)) {
    EXPECT_EQ(p.topic, "o/t");
    EXPECT_FALSE(p.properties.find(PropertyId::topic_alias).has_value());
  }
}

TEST(BrokerPublish, outbound_aliases_start_afresh_on_a_new_connection_MQTT_3_3_2_7) {
  Net net;
  mqtt::Properties p = props({{PropertyId::session_expiry_interval, 60}, {PropertyId::topic_alias_maximum, 4}});
  auto sub = net.connect(Version::v5, "sub", false, p);
  net.subscribe(sub, "f/t", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("f/t", "1", 1, 1));
  auto first = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(first.topic, "f/t");
  net.lose(sub);  // PUBLISH unacknowledged: resent on the next connection [MQTT-4.4.0-1]
  net.send(pub, make_publish("f/t", "2", 1, 2));
  sub = net.connect(Version::v5, "sub", false, p);
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 2u);
  AliasResolver client;  // a new connection knows no aliases
  EXPECT_EQ(got[0].topic, "f/t");  // the resend must define its alias again
  EXPECT_TRUE(got[0].dup);
  EXPECT_EQ(client.resolve(got[0]), "f/t");
  EXPECT_EQ(client.resolve(got[1]), "f/t");
}

TEST(BrokerPublish, outbound_alias_is_not_remembered_for_a_publish_too_large_to_send_MQTT_3_1_2_25) {
  // A PUBLISH above the client's Maximum Packet Size is not sent, so the alias it would
  // have defined must not be used later as if the client knew it.
  Net net;
  auto sub = net.connect(Version::v5, "sub", true,
                         props({{PropertyId::topic_alias_maximum, 4}, {PropertyId::maximum_packet_size, 64}}));
  net.subscribe(sub, "big/t", 0);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("big/t", std::string(100, 'x')));
  net.send(pub, make_publish("big/t", "small"));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);
  AliasResolver client;
  EXPECT_EQ(client.resolve(got[0]), "big/t");
  EXPECT_EQ(got[0].payload, "small");
}
