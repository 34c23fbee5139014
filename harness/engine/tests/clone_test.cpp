// clone() (clone.cpp): a deep, independent copy (the packet fuzz target starts every
// input from a clone of an engine prepared once).
#include "random_sessions.hpp"

TEST(BrokerClone, clone_answers_every_later_event_exactly_as_the_original) {
  for (std::uint32_t seed = 1; seed <= 30; ++seed) {
    BrokerEngine original(small_limits());
    RandomEvents events(seed);
    for (int i = 0; i < 150; ++i) events.step({&original});
    BrokerEngine copy = original.clone();
    for (int i = 0; i < 250; ++i) {
      auto seen = events.step({&original, &copy});
      ASSERT_EQ(seen[0], seen[1]) << "seed " << seed << " step " << i;
      ASSERT_EQ(seen[0].find("BROKEN"), std::string::npos) << seen[0];
    }
  }
}

TEST(BrokerClone, clone_and_original_do_not_see_each_others_events) {
  // Four engines brought to the same state; then the clone and the original each get their
  // own event stream, and must answer exactly like an untouched engine given that stream.
  for (std::uint32_t seed = 1; seed <= 30; ++seed) {
    BrokerEngine original(small_limits()), like_original(small_limits()), like_copy(small_limits());
    RandomEvents setup(seed);
    for (int i = 0; i < 150; ++i) setup.step({&original, &like_original, &like_copy});
    BrokerEngine copy = original.clone();
    // Both streams go on from the setup's open connections, clock and packet ids, with
    // different random choices.
    RandomEvents to_original = setup, to_copy = setup;
    to_copy.reseed(1000 + seed);
    to_original.reseed(2000 + seed);
    for (int i = 0; i < 250; ++i) {
      auto a = to_copy.step({&copy, &like_copy});
      ASSERT_EQ(a[0], a[1]) << "clone, seed " << seed << " step " << i;
      auto b = to_original.step({&original, &like_original});
      ASSERT_EQ(b[0], b[1]) << "original, seed " << seed << " step " << i;
    }
  }
}

TEST(BrokerClone, will_published_by_the_clone_keeps_its_own_expiry_MQTT_3_3_2_6) {
  // The stored will is completed at publication (its Message Expiry counts from then): a
  // clone publishing it must not change the original's, and the other way round.
  Net original;
  ConnectionId b = original.connect(Version::v5, "b", true, props({{PropertyId::session_expiry_interval, 600}}));
  original.subscribe(b, "w/#", 1);
  original.lose(b);
  mqtt::Will will;
  will.topic = "w/a";
  will.payload = "gone";
  will.qos = 1;
  will.properties.add_number(PropertyId::message_expiry_interval, 30);
  ConnectionId a = original.connect(Version::v5, "a", true, {}, 0, will);

  Net copy;
  copy.engine = original.engine.clone();
  copy.peers = original.peers;
  copy.now = original.now;

  copy.lose(a);              // the clone publishes the will now: expires 30 s from now
  original.now += 20'000;
  original.lose(a);          // the original 20 s later: expires 30 s from then
  copy.now += 25'000;
  original.now += 5'000;     // both clocks at clone time + 25 s
  auto expiry_after_reconnect = [](Net& net) -> std::uint32_t {
    ConnectionId id = net.connect(Version::v5, "b", false, props({{PropertyId::session_expiry_interval, 600}}));
    auto publishes = net.take_all<mqtt::Publish>(id);
    if (publishes.size() != 1) {
      ADD_FAILURE() << publishes.size() << " PUBLISHes, expected the will";
      return 0;
    }
    EXPECT_EQ(publishes[0].payload, "gone");
    auto e = publishes[0].properties.find(PropertyId::message_expiry_interval);
    return e ? e->number : 0;
  };
  EXPECT_EQ(expiry_after_reconnect(copy), 5u);       // 30 - 25 s waited [MQTT-3.3.2-6]
  EXPECT_EQ(expiry_after_reconnect(original), 25u);  // 30 - 5 s waited
}
