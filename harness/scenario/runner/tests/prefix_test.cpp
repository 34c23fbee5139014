#include <gtest/gtest.h>

#include "mqtth/runner/Prefix.hpp"

using namespace mqtth::runner;

TEST(Prefix, identity_when_inactive) {
  Prefix p;
  EXPECT_EQ(p.client_id("sub"), "sub");
  EXPECT_EQ(p.topic("t/a"), "t/a");
  EXPECT_EQ(p.filter("#"), "#");
}

TEST(Prefix, topics_and_filters_get_a_first_level) {
  Prefix p("mh1");
  EXPECT_EQ(p.client_id("sub-1"), "mh1-sub-1");
  EXPECT_EQ(p.client_id(""), "");  // the broker assigns one (3.1.3.3)
  EXPECT_EQ(p.topic("t/a"), "mh1/t/a");
  EXPECT_EQ(p.topic("/leading"), "mh1//leading");
  EXPECT_EQ(p.filter("#"), "mh1/#");
  EXPECT_EQ(p.filter("+/x"), "mh1/+/x");
  EXPECT_EQ(p.strip_topic("mh1/t/a"), "t/a");
  EXPECT_EQ(p.strip_topic("other/t/a"), "other/t/a");
  EXPECT_EQ(p.strip_client_id("mh1-sub"), "sub");
}

TEST(Prefix, dollar_topics_stay_unprefixed_4_7_2) {
  Prefix p("mh1");
  EXPECT_EQ(p.topic("$SYS/broker/uptime"), "$SYS/broker/uptime");
  EXPECT_EQ(p.filter("$SYS/#"), "$SYS/#");
}

TEST(Prefix, shared_subscription_prefix_goes_after_the_group_4_8_2) {
  Prefix p("mh1");
  EXPECT_EQ(p.filter("$share/g/t/#"), "$share/g/mh1/t/#");
  EXPECT_EQ(p.filter("$share/g/#"), "$share/g/mh1/#");
  EXPECT_EQ(p.filter("$share/broken"), "$share/broken");  // invalid: the broker must say so
}

TEST(Prefix, run_prefixes_are_short_and_differ) {
  auto a = make_run_prefix(1), b = make_run_prefix(2);
  EXPECT_EQ(a.size(), 8u);
  EXPECT_NE(a, b);
  // 3.1.1 servers need accept only 23-byte client ids (MQTT-3.1.3-5): the prefix of
  // scenario 999 plus "-" leaves 10 bytes for the scenario's own id.
  EXPECT_EQ(scenario_prefix(a, 999).size(), 12u);
  EXPECT_NE(scenario_prefix(a, 1), scenario_prefix(a, 2));
}
