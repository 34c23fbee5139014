#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mqtth/runner/Prefix.hpp"

using namespace mqtth::runner;

namespace {

Prefix scenario17() { return make_prefix(kDefaultPrefixTemplate, "mh1a2b3c", "17"); }

// Client ids written in the suite's scenarios (scenarios/**/*.yaml `client_id:` and client
// names), and some that stress the mapping.
const std::vector<std::string> kIds = {
    "sub", "pub", "c", "watcher", "raw", "s1", "s2", "sub2", "takeover1", "refused-keeper", "raw-x2", "raw-q2",
    "x-sub-q2-p", "x-sub-q2-c", "x-pub-q1-p", "sei-alias-zero", "alias-reuser", "q2expiry-sub", "cut-sub-1",
    "AbcdefghijklmnopQRSTU09", "fresh-3.1.1", "fresh-5", "sub-1", "sub1", "Sub1", "sub_1", "a", "0",
    "abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz0123456780", "ümlaut", "with space"};

}  // namespace

TEST(Prefix, identity_when_inactive) {
  Prefix p;
  EXPECT_FALSE(p.active());
  EXPECT_EQ(p.client_id("sub-1"), "sub-1");
  EXPECT_EQ(p.topic("t/a"), "t/a");
  EXPECT_EQ(p.filter("#"), "#");
  EXPECT_EQ(p.strip_topic("t/a"), "t/a");
}

TEST(Prefix, default_template_puts_run_and_scenario_levels_before_topics) {
  const Prefix p = scenario17();
  EXPECT_EQ(p.topic_prefix(), "mh1a2b3c/17");
  EXPECT_EQ(p.topic("t/a"), "mh1a2b3c/17/t/a");
  EXPECT_EQ(p.topic("/leading"), "mh1a2b3c/17//leading");
  EXPECT_EQ(p.filter("#"), "mh1a2b3c/17/#");
  EXPECT_EQ(p.filter("+/x"), "mh1a2b3c/17/+/x");
  EXPECT_EQ(p.strip_topic("mh1a2b3c/17/t/a"), "t/a");
  EXPECT_EQ(p.strip_topic("mh1a2b3c/1/t/a"), "mh1a2b3c/1/t/a");  // another scenario's
  EXPECT_EQ(p.strip_topic("other/t/a"), "other/t/a");
}

TEST(Prefix, client_ids_keep_plain_ids_readable) {
  const Prefix p = scenario17();
  EXPECT_EQ(p.client_id("sub"), "mh1a2b3c17xsub");
  EXPECT_EQ(p.client_id("takeover1"), "mh1a2b3c17xtakeover1");
  EXPECT_EQ(p.client_id(""), "");  // the broker assigns one (3.1.3.3)
  // Other characters: the letters and digits, then a hash of the whole id.
  const auto hashed = p.client_id("sub-1");
  EXPECT_EQ(hashed.rfind("mh1a2b3c17xsub1", 0), 0u) << hashed;
  EXPECT_EQ(hashed.size(), std::string("mh1a2b3c17xsub1").size() + 6);
  EXPECT_EQ(p.client_id("sub-1"), hashed);  // deterministic
  EXPECT_NE(p.client_id("sub_1"), hashed);
}

TEST(Prefix, every_generated_id_is_1_to_23_lowercase_letters_and_digits_MQTT_3_1_3_5) {
  const std::regex id_ok("[a-z0-9]{1,23}");
  const std::regex level_ok("[a-z0-9]+");
  // Scenario numbers of a long run, and exploration cut runs (n + "c" + k).
  std::vector<std::string> numbers;
  for (int n = 1; n <= 300; ++n) numbers.push_back(std::to_string(n));
  for (const char* n : {"99999", "17c1", "17c60", "180c999", "99999c10000", "probe"}) numbers.emplace_back(n);
  for (const auto& n : numbers) {
    const Prefix p = make_prefix(kDefaultPrefixTemplate, make_run_id(7), n);
    for (const auto& id : kIds) {
      const auto wire = p.client_id(id);
      EXPECT_TRUE(std::regex_match(wire, id_ok)) << n << " " << id << " -> " << wire;
    }
    std::string topic = p.topic("t/a");
    ASSERT_EQ(topic.substr(topic.size() - 4), "/t/a");
    topic.resize(topic.size() - 4);
    std::stringstream levels(topic);
    for (std::string level; std::getline(levels, level, '/');)
      EXPECT_TRUE(std::regex_match(level, level_ok)) << topic;
  }
}

TEST(Prefix, no_two_scenarios_or_clients_of_a_run_share_a_client_id) {
  // "…1x" + "7sub" would equal "…17x" + "sub" without the 'x' after the number.
  std::map<std::string, std::string> owner;
  for (int n = 1; n <= 300; ++n)
    for (const std::string& cut : {std::string(), std::string("c1"), std::string("c12")})
      for (std::string id : kIds) {
        const auto wire = make_prefix(kDefaultPrefixTemplate, "mh1a2b3c", std::to_string(n) + cut).client_id(id);
        const auto who = std::to_string(n) + cut + "/" + id;
        auto [it, fresh] = owner.emplace(wire, who);
        EXPECT_TRUE(fresh) << wire << " is both " << it->second << " and " << who;
      }
  EXPECT_NE(make_prefix(kDefaultPrefixTemplate, "mh1a2b3c", "1").client_id("7sub"),
            make_prefix(kDefaultPrefixTemplate, "mh1a2b3c", "17").client_id("sub"));
}

TEST(Prefix, dollar_topics_stay_unprefixed_4_7_2) {
  const Prefix p = scenario17();
  EXPECT_EQ(p.topic("$SYS/broker/uptime"), "$SYS/broker/uptime");
  EXPECT_EQ(p.filter("$SYS/#"), "$SYS/#");
}

TEST(Prefix, shared_subscription_prefix_goes_after_the_group_4_8_2) {
  const Prefix p = scenario17();
  EXPECT_EQ(p.filter("$share/g/t/#"), "$share/g/mh1a2b3c/17/t/#");
  EXPECT_EQ(p.filter("$share/g/#"), "$share/g/mh1a2b3c/17/#");
  EXPECT_EQ(p.filter("$share/broken"), "$share/broken");  // invalid: the broker must say so
}

TEST(Prefix, run_ids_are_short_and_differ) {
  const auto a = make_run_id(1), b = make_run_id(2);
  EXPECT_TRUE(std::regex_match(a, std::regex("mh[0-9a-f]{6}"))) << a;
  EXPECT_NE(a, b);
}

TEST(Prefix, templates_place_run_and_number_where_written) {
  const Prefix p = make_prefix("ci/{run}/{n}/", "mh1a2b3c", "4");
  EXPECT_EQ(p.topic("t"), "ci/mh1a2b3c/4/t");  // a trailing '/' is optional
  EXPECT_EQ(p.client_id("sub"), "cimh1a2b3c4xsub");
  const Prefix fixed = make_prefix("harness/{n}", "mh1a2b3c", "4");
  EXPECT_EQ(fixed.topic("t"), "harness/4/t");
  EXPECT_EQ(fixed.client_id("sub"), "harness4xsub");
}

TEST(Prefix, the_run_line_shows_where_the_number_goes) {
  EXPECT_EQ(describe_prefix(kDefaultPrefixTemplate, "mh1a2b3c"), "topics mh1a2b3c/<n>/..., client ids mh1a2b3c<n>x...");
  EXPECT_EQ(describe_prefix("CI/{n}/{run}", "mh1a2b3c"), "topics CI/<n>/mh1a2b3c/..., client ids ci<n>xmh1a2b3c...");
}

TEST(Prefix, bad_templates_are_refused_with_the_reason) {
  EXPECT_EQ(check_prefix_template("{run}/{n}"), std::nullopt);
  EXPECT_EQ(check_prefix_template("tenant-a/{n}"), std::nullopt);
  EXPECT_NE(check_prefix_template("{run}")->find("{n}"), std::string::npos);
  EXPECT_NE(check_prefix_template("a/+/{n}")->find("wildcard"), std::string::npos);
  EXPECT_NE(check_prefix_template("a/#{n}")->find("wildcard"), std::string::npos);
  EXPECT_NE(check_prefix_template("$sys/{n}")->find("'$'"), std::string::npos);
  EXPECT_NE(check_prefix_template("{run}/{n}/{user}")->find("placeholder"), std::string::npos);
}

TEST(Prefix, a_broker_mapping_dots_to_slashes_is_recognised_once_stripped_MQTT_4_7_3_4) {
  // RabbitMQ maps MQTT '/' to AMQP '.' and back: a prefix with '.' comes back with '/'.
  const Prefix dotted = make_prefix("{run}.{n}", "mh46a9df", "41");
  ASSERT_EQ(dotted.topic("q0/a"), "mh46a9df.41/q0/a");
  std::optional<TopicRewrite> seen;
  EXPECT_EQ(dotted.strip_topic("mh46a9df/41/q0/a", &seen), "q0/a");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->rule, "'.' -> '/'");
  EXPECT_EQ(seen->sent, "mh46a9df.41/");
  EXPECT_EQ(seen->received, "mh46a9df/41/");
  // As sent: no rewrite.
  seen.reset();
  EXPECT_EQ(dotted.strip_topic("mh46a9df.41/q0/a", &seen), "q0/a");
  EXPECT_FALSE(seen);
}

TEST(Prefix, other_recognisable_rewrites_and_what_is_not_one) {
  const Prefix p = scenario17();
  std::optional<TopicRewrite> seen;
  EXPECT_EQ(p.strip_topic("mh1a2b3c.17.t.a", &seen), "t.a");  // only the prefix is un-rewritten
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->rule, "'/' -> '.'");
  seen.reset();
  EXPECT_EQ(p.strip_topic("MH1A2B3C/17/T/A", &seen), "T/A");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->rule, "upper-cased");
  seen.reset();
  const Prefix mixed = make_prefix("CI/{n}", "mh1a2b3c", "3");
  EXPECT_EQ(mixed.strip_topic("ci/3/t", &seen), "t");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->rule, "lower-cased");
  seen.reset();
  EXPECT_EQ(p.strip_topic("mh1a2b3c/18/t/a", &seen), "mh1a2b3c/18/t/a");  // another scenario's topic
  EXPECT_EQ(p.strip_topic("elsewhere/t", &seen), "elsewhere/t");
  EXPECT_FALSE(seen);
}
