// BrokerConfig::behaviour: where the specification lets a server choose, each choice the
// engine can take, tested with the default and with the other value. The engine's own
// default is checked beside the alternative, so a test fails if either stops holding.
#include "broker_test_util.hpp"

#include "random_sessions.hpp"

namespace {

BrokerConfig with(void (*change)(BrokerBehaviour&)) {
  BrokerConfig config;
  config.track_deliveries = true;  // every Net step then proves QoS 2 exactly-once
  change(config.behaviour);
  return config;
}

std::optional<std::string> reason_string(const mqtt::Properties& properties) {
  if (auto p = properties.find(PropertyId::reason_string)) return std::string(p->value);
  return std::nullopt;
}

}  // namespace

// --- qos2_forward_on: 4.3.3 Figure 4.3, Method B (publish) or Method A (pubrel) ---------

TEST_P(BothVersions, qos2_is_forwarded_when_the_publish_arrives_by_default_4_3_3_method_b) {
  Net net(with([](BrokerBehaviour&) {}));
  auto sub = net.subscriber(GetParam(), "sub", "q", 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("q", "m", 2, 7));
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).packet_id, 7);
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 1u);  // before PUBREL
  net.send(pub, mqtt::Pubrel{7, 0, {}});
  EXPECT_TRUE(net.take(sub).empty());
}

TEST_P(BothVersions, qos2_forward_on_pubrel_holds_the_message_until_pubrel_4_3_3_method_a_MQTT_4_3_3_10) {
  Net net(with([](BrokerBehaviour& b) { b.qos2_forward_on = Qos2ForwardOn::pubrel; }));
  auto sub = net.subscriber(GetParam(), "sub", "q", 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("q", "m", 2, 7));
  auto rec = net.take_one<mqtt::Pubrec>(pub);
  EXPECT_EQ(rec.packet_id, 7);  // [MQTT-4.3.3-8]
  EXPECT_EQ(rec.reason_code, 0);  // who subscribes by PUBREL is not known: never 0x10 here
  EXPECT_TRUE(net.take(sub).empty());
  EXPECT_EQ(net.engine.session("pub")->inbound_qos2_pending, 1u);
  auto repeat = make_publish("q", "m", 2, 7);
  repeat.dup = true;
  net.send(pub, repeat);
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).packet_id, 7);  // [MQTT-4.3.3-10]
  net.send(pub, mqtt::Pubrel{7, 0, {}});
  EXPECT_EQ(net.take_one<mqtt::Pubcomp>(pub).reason_code, 0);  // [MQTT-4.3.3-11]
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"m"}));  // once
  net.send(pub, mqtt::Pubrel{7, 0, {}});  // a repeated PUBREL forwards nothing again
  net.take(pub);
  EXPECT_TRUE(net.take(sub).empty());
}

TEST_P(BothVersions, qos2_forward_on_pubrel_keeps_the_message_in_the_session_across_reconnection) {
  Net net(with([](BrokerBehaviour& b) { b.qos2_forward_on = Qos2ForwardOn::pubrel; }));
  auto sub = net.subscriber(GetParam(), "sub", "q", 2);
  auto p = session_expiry(GetParam(), 60);
  auto pub = net.connect(GetParam(), "pub", false, p);
  net.send(pub, make_publish("q", "kept", 2, 9));
  net.lose(pub);
  pub = net.connect(GetParam(), "pub", false, p);
  EXPECT_EQ(net.engine.session("pub")->inbound_qos2_pending, 1u);
  EXPECT_TRUE(net.take(sub).empty());
  net.send(pub, mqtt::Pubrel{9, 0, {}});
  EXPECT_EQ(net.take_one<mqtt::Pubcomp>(pub).reason_code, 0);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), (std::vector<std::string>{"kept"}));
}

TEST(BrokerBehaviour, qos2_forward_on_pubrel_retains_at_pubrel_and_drops_a_message_expired_by_then_MQTT_4_3_3_13) {
  Net net(with([](BrokerBehaviour& b) { b.qos2_forward_on = Qos2ForwardOn::pubrel; }));
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("r", "retained", 2, 1, true));
  net.take(pub);
  auto early = net.subscriber(Version::v5, "early", "r", 2);
  EXPECT_TRUE(net.take(early).empty());  // not retained before PUBREL
  net.send(pub, mqtt::Pubrel{1, 0, {}});
  net.take(pub);
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(early)), (std::vector<std::string>{"retained"}));
  EXPECT_EQ(net.engine.retained_count(), 1u);

  auto short_lived = make_publish("r", "expired", 2, 2);
  short_lived.properties.add_number(PropertyId::message_expiry_interval, 1);
  net.send(pub, short_lived);
  net.take(pub);
  net.advance(2'000);
  net.send(pub, mqtt::Pubrel{2, 0, {}});
  EXPECT_EQ(net.take_one<mqtt::Pubcomp>(pub).reason_code, 0);  // completed all the same
  EXPECT_TRUE(net.take(early).empty());
}

// --- grant_qos_at_most: 3.8.4 / 3.9.3, the server may grant less than requested -------

TEST_P(BothVersions, requested_qos_is_granted_in_full_by_default_MQTT_3_8_4_8) {
  Net net(with([](BrokerBehaviour&) {}));
  auto sub = net.connect(GetParam(), "sub");
  net.send(sub, make_subscribe(1, "g", 2));
  EXPECT_EQ(net.take_one<mqtt::Suback>(sub).reason_codes, (std::vector<std::uint8_t>{2}));
}

TEST_P(BothVersions, grant_qos_at_most_grants_less_and_delivers_at_the_granted_qos_MQTT_3_8_4_8) {
  Net net(with([](BrokerBehaviour& b) { b.grant_qos_at_most = 1; }));
  auto sub = net.connect(GetParam(), "sub");
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions = {{"g/2", {}}, {"g/0", {}}};
  s.subscriptions[0].options.qos = 2;
  net.send(sub, s);
  EXPECT_EQ(net.take_one<mqtt::Suback>(sub).reason_codes, (std::vector<std::uint8_t>{1, 0}));
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("g/2", "m", 2, 1));
  auto got = net.take_one<mqtt::Publish>(sub);
  EXPECT_EQ(got.qos, 1);  // min(published 2, granted 1)
  // The broker's own Maximum QoS is unchanged: a QoS 2 PUBLISH is still accepted.
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).packet_id, 1);
}

// --- overlapping_subscriptions: 5.0 3.3.4 / 3.1.1 3.3.5 ---------------------------------

TEST_P(BothVersions, overlapping_subscriptions_give_one_copy_at_the_highest_qos_by_default_MQTT_3_3_4_2) {
  Net net(with([](BrokerBehaviour&) {}));
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "o/+", 0, 1);
  net.subscribe(sub, "o/#", 2, 2);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("o/x", "m", 2, 1));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 2);
}

TEST_P(BothVersions, copy_per_subscription_sends_one_copy_per_matching_subscription_at_its_qos_MQTT_3_3_4_2) {
  Net net(with([](BrokerBehaviour& b) { b.overlapping_subscriptions = OverlappingDelivery::copy_per_subscription; }));
  auto sub = net.connect(GetParam(), "sub");
  net.subscribe(sub, "o/+", 0, 1);
  net.subscribe(sub, "o/#", 2, 2);
  net.subscribe(sub, "other/#", 2, 3);
  auto pub = net.connect(GetParam(), "pub");
  net.send(pub, make_publish("o/x", "m", 2, 1));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 2u);
  std::vector<std::uint8_t> qos{got[0].qos, got[1].qos};
  std::sort(qos.begin(), qos.end());
  // One of them at the highest QoS of the matching subscriptions, as MQTT-3.3.4-2 requires.
  EXPECT_EQ(qos, (std::vector<std::uint8_t>{0, 2}));
}

TEST(BrokerBehaviour, copy_per_subscription_carries_each_subscriptions_own_identifier_MQTT_3_3_4_5) {
  Net net(with([](BrokerBehaviour& b) { b.overlapping_subscriptions = OverlappingDelivery::copy_per_subscription; }));
  auto sub = net.connect(Version::v5, "sub");
  net.send(sub, make_subscribe_with_id(1, "o/+", 1, 11));
  net.send(sub, make_subscribe_with_id(2, "o/#", 2, 22));
  net.take(sub);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("o/x", "m", 2, 1));
  auto got = net.take_all<mqtt::Publish>(sub);
  ASSERT_EQ(got.size(), 2u);
  std::map<std::uint32_t, std::uint8_t> qos_by_id;
  for (const auto& p : got) {
    auto ids = subscription_ids(p);
    ASSERT_EQ(ids.size(), 1u);
    qos_by_id[ids[0]] = p.qos;
  }
  EXPECT_EQ(qos_by_id, (std::map<std::uint32_t, std::uint8_t>{{11, 1}, {22, 2}}));
  for (const auto& p : got)
    if (p.qos == 1) net.send(sub, mqtt::Puback{p.packet_id, 0, {}});
    else net.send(sub, mqtt::Pubrec{p.packet_id, 0, {}});
  EXPECT_EQ(net.take_all<mqtt::Pubrel>(sub).size(), 1u);
}

// --- dollar_topic_publish: 4.7.2, the server SHOULD keep clients off `$` topics ----------

TEST(BrokerBehaviour, dollar_topic_publish_is_routed_by_default_4_7_2) {
  Net net(with([](BrokerBehaviour&) {}));
  auto sub = net.subscriber(Version::v5, "sub", "$app/x", 1);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("$app/x", "m", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0);
  EXPECT_EQ(net.take_all<mqtt::Publish>(sub).size(), 1u);
}

TEST(BrokerBehaviour, dollar_topic_refuse_drops_a_publish_with_0x90_and_does_not_retain_it_4_7_2) {
  Net net(with([](BrokerBehaviour& b) { b.dollar_topic_publish = DollarTopicPublish::refuse; }));
  auto sub = net.subscriber(Version::v5, "sub", "$app/x", 2);
  auto pub = net.connect(Version::v5, "pub");
  net.send(pub, make_publish("$app/x", "m", 1, 1, true));
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x90);  // Topic Name invalid (3.4.2.1)
  net.send(pub, make_publish("$app/x", "m", 2, 2));
  EXPECT_EQ(net.take_one<mqtt::Pubrec>(pub).reason_code, 0x90);
  net.send(pub, make_publish("$app/x", "m"));
  EXPECT_TRUE(net.take(sub).empty());
  EXPECT_EQ(net.engine.retained_count(), 0u);
  net.send(pub, make_publish("app/x", "ordinary", 1, 3));  // other topics are unaffected
  EXPECT_EQ(net.take_one<mqtt::Puback>(pub).reason_code, 0x10);
}

TEST(BrokerBehaviour, dollar_topic_refuse_applies_to_a_will_too_4_7_2) {
  Net net(with([](BrokerBehaviour& b) { b.dollar_topic_publish = DollarTopicPublish::refuse; }));
  auto sub = net.subscriber(Version::v3_1_1, "sub", "$will", 0);
  auto dying = net.connect(Version::v3_1_1, "dying", true, {}, 0, mqtt::Will{"$will", "gone", 0, false, {}});
  net.lose(dying);
  EXPECT_TRUE(net.take(sub).empty());
}

// --- v311_refused_publish: 3.1.1 MQTT-3.3.5-2, acknowledge or close --------------------

TEST(BrokerBehaviour, v311_refused_publish_closes_the_connection_with_disconnect_MQTT_3_3_5_2_v311) {
  Net net(with([](BrokerBehaviour& b) {
    b.v311_refused_publish = V311RefusedPublish::disconnect;
    b.dollar_topic_publish = DollarTopicPublish::refuse;
  }));
  auto watcher = net.subscriber(Version::v3_1_1, "watch", "will", 0);
  auto pub = net.connect(Version::v3_1_1, "pub", true, {}, 0, mqtt::Will{"will", "gone", 0, false, {}});
  net.send(pub, make_publish("$app/x", "m", 1, 1));
  EXPECT_TRUE(net.closed(pub));
  EXPECT_TRUE(net.take(pub).empty());  // no PUBACK: the close is the answer
  // Closed by the server, not by DISCONNECT: the will goes out (3.1.1: MQTT-3.1.2-8).
  EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(watcher)), (std::vector<std::string>{"gone"}));
  // 5.0 clients are told with a reason code instead and stay connected.
  auto v5 = net.connect(Version::v5, "v5");
  net.send(v5, make_publish("$app/x", "m", 1, 1));
  EXPECT_EQ(net.take_one<mqtt::Puback>(v5).reason_code, 0x90);
  EXPECT_FALSE(net.closed(v5));
}

// --- specific_refusal_codes: 5.0 3.9.3 / 3.4.2.1, 0x80 need not reveal the reason ------

TEST(BrokerBehaviour, specific_refusal_codes_off_refuses_with_0x80_unspecified_error) {
  for (bool specific : {true, false}) {
    BrokerConfig config;
    config.acl.push_back(acl_rule("*", "*", {"#"}, {"#"}, {"locked"}, {"secret"}));
    config.max_retained_messages = 0;
    config.behaviour.specific_refusal_codes = specific;
    Net net(config);
    auto c = net.connect(Version::v5, "c");
    net.send(c, make_subscribe(1, "secret", 1));
    EXPECT_EQ(net.take_one<mqtt::Suback>(c).reason_codes, (std::vector<std::uint8_t>{specific ? std::uint8_t{0x87} : std::uint8_t{0x80}}));
    net.send(c, make_publish("locked", "m", 1, 2));
    EXPECT_EQ(net.take_one<mqtt::Puback>(c).reason_code, specific ? 0x87 : 0x80);
    net.send(c, make_publish("full", "m", 2, 3, true));  // retained store full (3.3.1.3)
    EXPECT_EQ(net.take_one<mqtt::Pubrec>(c).reason_code, specific ? 0x97 : 0x80);
    // 3.1.1 has only 0x80 either way.
    auto old = net.connect(Version::v3_1_1, "old");
    net.send(old, make_subscribe(1, "secret", 1));
    EXPECT_EQ(net.take_one<mqtt::Suback>(old).reason_codes, (std::vector<std::uint8_t>{0x80}));
  }
}

// --- no_matching_subscribers_code: 5.0 3.4.2.1, 0x10 MAY replace 0x00 --------------------

TEST(BrokerBehaviour, no_matching_subscribers_code_off_acknowledges_with_0x00) {
  Net on(with([](BrokerBehaviour&) {}));
  auto pub = on.connect(Version::v5, "pub");
  on.send(pub, make_publish("nobody", "m", 1, 1));
  EXPECT_EQ(on.take_one<mqtt::Puback>(pub).reason_code, 0x10);
  Net off(with([](BrokerBehaviour& b) { b.no_matching_subscribers_code = false; }));
  pub = off.connect(Version::v5, "pub");
  off.send(pub, make_publish("nobody", "m", 1, 1));
  EXPECT_EQ(off.take_one<mqtt::Puback>(pub).reason_code, 0x00);
  off.send(pub, make_publish("nobody", "m", 2, 2));
  EXPECT_EQ(off.take_one<mqtt::Pubrec>(pub).reason_code, 0x00);
}

// --- reason_strings: 5.0, the Reason String property is optional -----------------------

TEST(BrokerBehaviour, reason_strings_off_leaves_them_out_of_connack_and_disconnect) {
  for (bool strings : {true, false}) {
    BrokerConfig config;
    config.allow_anonymous = false;
    config.behaviour.reason_strings = strings;
    Net net(config);
    auto id = net.open(Version::v5);
    net.send(id, make_connect(Version::v5, "anon"));
    auto ack = net.take_one<mqtt::Connack>(id);
    EXPECT_EQ(ack.reason_code, 0x87);
    EXPECT_EQ(reason_string(ack.properties).has_value(), strings);

    config.allow_anonymous = true;
    Net net2(config);
    auto c = net2.connect(Version::v5, "c");
    net2.send_raw(c, hex_to_bytes("f0 00"));  // AUTH without an authentication method: protocol error
    auto d = net2.take_one<mqtt::Disconnect>(c);
    EXPECT_GE(d.reason_code, 0x80);
    EXPECT_EQ(reason_string(d.properties).has_value(), strings);
  }
}

// --- disconnect_before_close: 5.0 4.13.1, DISCONNECT before closing is a SHOULD ----------

TEST(BrokerBehaviour, disconnect_before_close_off_closes_without_disconnect_4_13_1) {
  for (bool send : {true, false}) {
    BrokerConfig config;
    config.behaviour.disconnect_before_close = send;
    Net net(config);
    auto bad = net.connect(Version::v5, "bad");
    net.send_raw(bad, hex_to_bytes("f0 00"));  // AUTH with no method: protocol error
    EXPECT_TRUE(net.closed(bad));
    EXPECT_EQ(net.take_all<mqtt::Disconnect>(bad).size(), send ? 1u : 0u);

    auto idle = net.connect(Version::v5, "idle", true, {}, 1);
    auto old = net.connect(Version::v5, "taken");
    net.connect(Version::v5, "taken");
    EXPECT_TRUE(net.closed(old));
    EXPECT_EQ(net.take_all<mqtt::Disconnect>(old).size(), send ? 1u : 0u);  // 0x8E
    net.advance(1'500);
    EXPECT_TRUE(net.closed(idle));
    EXPECT_EQ(net.take_all<mqtt::Disconnect>(idle).size(), send ? 1u : 0u);  // 0x8D
  }
}

// --- queue_qos0_offline: 3.1.1 3.1.2.4 / 5.0 4.1, QoS 0 in the session is optional -------

TEST_P(BothVersions, queue_qos0_offline_keeps_qos0_messages_for_an_offline_session) {
  for (bool queue : {false, true}) {
    BrokerConfig config;
    config.behaviour.queue_qos0_offline = queue;
    Net net(config);
    auto p = session_expiry(GetParam(), 60);
    auto sub = net.connect(GetParam(), "sub", false, p);
    net.subscribe(sub, "q", 1);
    net.lose(sub);
    auto pub = net.connect(GetParam(), "pub");
    net.send(pub, make_publish("q", "zero-1"));
    net.send(pub, make_publish("q", "one", 1, 1));
    net.send(pub, make_publish("q", "zero-2"));
    sub = net.connect(GetParam(), "sub", false, p);
    auto expected = queue ? std::vector<std::string>{"zero-1", "one", "zero-2"} : std::vector<std::string>{"one"};
    EXPECT_EQ(payloads(net.take_all<mqtt::Publish>(sub)), expected) << "queue_qos0_offline " << queue;
  }
}

// --- every alternative at once, under random sessions --------------------------------------

TEST(BrokerBehaviour, seeded_random_sessions_keep_invariants_with_every_alternative_behaviour) {
  BrokerConfig config = small_limits();
  config.behaviour.qos2_forward_on = Qos2ForwardOn::pubrel;
  config.behaviour.grant_qos_at_most = 1;
  config.behaviour.overlapping_subscriptions = OverlappingDelivery::copy_per_subscription;
  config.behaviour.dollar_topic_publish = DollarTopicPublish::refuse;
  config.behaviour.v311_refused_publish = V311RefusedPublish::disconnect;
  config.behaviour.no_matching_subscribers_code = false;
  config.behaviour.reason_strings = false;
  config.behaviour.disconnect_before_close = false;
  config.behaviour.queue_qos0_offline = true;
  config.max_keep_alive = 5;
  expect_random_sessions_keep_invariants(config, 30, 400);
}

// --- strict_clients: a client obligation with no server reaction in the spec ---------------

TEST(BrokerBehaviour, strict_clients_refuses_a_client_publish_with_a_subscription_identifier_MQTT_3_3_4_6) {
  for (const bool strict : {true, false}) {
    BrokerConfig config;
    config.behaviour.strict_clients = strict;
    Net net(config);
    auto sub = net.subscriber(Version::v5, "sub", "s/t", 0);
    auto pub = net.connect(Version::v5, "pub");
    auto p = make_publish("s/t", "x");
    p.properties.add_number(PropertyId::subscription_identifier, 7);
    net.send(pub, p);
    if (strict) {
      const auto d = net.take_one<mqtt::Disconnect>(pub);
      EXPECT_EQ(d.reason_code, 0x82);
      EXPECT_NE(reason_string(d.properties).value_or("").find("MQTT-3.3.4-6"), std::string::npos);
      EXPECT_TRUE(net.closed(pub));
      EXPECT_TRUE(net.take(sub).empty());
    } else {
      EXPECT_FALSE(net.closed(pub));
      // Routed; the subscriber's copy carries no identifier (its subscription has none).
      const auto got = net.take_one<mqtt::Publish>(sub);
      EXPECT_EQ(got.payload, "x");
      EXPECT_FALSE(got.properties.find(PropertyId::subscription_identifier));
    }
  }
}
