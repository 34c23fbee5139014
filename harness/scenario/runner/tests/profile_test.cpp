#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mqtth/runner/Profile.hpp"

using namespace mqtth::runner;

namespace {
std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}
}  // namespace

TEST(Profile, loads_features_per_version_and_deviations) {
  auto path = write_temp("prof_ok", R"(name: test-broker
features:
  retain_available: false
  wills: true
  "3.1.1":
    shared_subscription_available: true
known_deviations:
  - {scenario: "QoS*", statement: MQTT-4.3.3-1, reason: loses messages}
)");
  auto r = load_profile(path);
  ASSERT_TRUE(r.ok()) << *r.error;
  EXPECT_EQ(r.profile.name, "test-broker");
  Capabilities c311 = default_capabilities("3.1.1");
  apply_profile(r.profile, "3.1.1", c311);
  EXPECT_FALSE(c311.retain_available);
  EXPECT_TRUE(c311.shared_subscription_available);
  Capabilities c5 = default_capabilities("5");
  apply_profile(r.profile, "5", c5);
  EXPECT_FALSE(c5.retain_available);
  ASSERT_EQ(r.profile.known_deviations.size(), 1u);
  EXPECT_EQ(r.profile.known_deviations[0].line, 8);
  EXPECT_NE(find_known_deviation(r.profile, "QoS 2 exactly once", "f.yaml", {"MQTT-4.3.3-1"}), nullptr);
  EXPECT_EQ(find_known_deviation(r.profile, "QoS 2 exactly once", "f.yaml", {"MQTT-4.3.2-1"}), nullptr);
  EXPECT_EQ(find_known_deviation(r.profile, "Retain", "f.yaml", {"MQTT-4.3.3-1"}), nullptr);
  std::filesystem::remove(path);
}

TEST(Profile, errors_name_file_line_and_column) {
  auto path = write_temp("prof_bad", "name: x\nfeatures:\n  maximum_qos: 7\n");
  auto r = load_profile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->rfind(path + ":3:16: ", 0), 0u) << *r.error;
  std::filesystem::remove(path);

  path = write_temp("prof_bad2", "name: x\nknown_deviations:\n  - {scenario: a, reason: b}\n");
  r = load_profile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error->find(":3:"), std::string::npos) << *r.error;
  EXPECT_NE(r.error->find("statement"), std::string::npos) << *r.error;
  std::filesystem::remove(path);

  path = write_temp("prof_bad3", "name: x\nbogus: 1\n");
  r = load_profile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error->find(":2:1: unknown key `bogus`"), std::string::npos) << *r.error;
  std::filesystem::remove(path);
}

TEST(Profile, requirements_follow_capabilities) {
  Capabilities c = default_capabilities("5");
  EXPECT_TRUE(unmet_requirements({"qos2", "retain", "wills"}, c, false).empty());
  c.maximum_qos = 1;
  c.shared_subscription_available = false;
  auto unmet = unmet_requirements({"qos1", "qos2", "shared_subscriptions", "enhanced_auth", "topic_aliases"}, c, true);
  ASSERT_EQ(unmet.size(), 4u);
  EXPECT_NE(unmet[0].find("maximum_qos=1"), std::string::npos);
  EXPECT_NE(unmet[1].find("shared_subscription_available=false"), std::string::npos);
  EXPECT_NE(unmet[2].find("enhanced_auth"), std::string::npos);
  EXPECT_NE(unmet[3].find("topic_alias_maximum=0"), std::string::npos);
}

TEST(Profile, v311_defaults_have_no_v5_only_features) {
  auto c = default_capabilities("3.1.1");
  EXPECT_FALSE(unmet_requirements({"shared_subscriptions"}, c, true).empty());
  EXPECT_FALSE(unmet_requirements({"message_expiry"}, c, true).empty());
  EXPECT_TRUE(unmet_requirements({"wills", "qos2", "retain", "wildcard_subscriptions"}, c, true).empty());
}

TEST(Profile, an_unknown_key_anywhere_is_an_error_naming_file_and_line) {
  struct Case {
    const char* text;
    const char* where;  // ":line:col: "
    const char* what;
  };
  const Case cases[] = {
      {"name: x\nfeatures:\n  wills: true\n  shared_subscriptions: true\n", ":4:3: ", "unknown feature `shared_subscriptions`"},
      {"name: x\nfeatures:\n  \"3.1.1\":\n    retian_available: false\n", ":4:5: ", "unknown feature `retian_available`"},
      {"name: x\nfeatures:\n  embedded: true\n", ":3:3: ", "unknown feature `embedded`"},
      {"name: x\nknown_deviations:\n  - {scenario: a, statement: MQTT-1.5.3-1, reason: r, colour: blue}\n", ":3:55: ",
       "unknown key `colour` in a known deviation"},
      {"name: x\nprotocol: [5]\n", ":2:1: ", "unknown key `protocol`"},
  };
  for (const auto& c : cases) {
    auto path = write_temp("prof_unknown", c.text);
    auto r = load_profile(path);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error->rfind(path + c.where, 0), 0u) << *r.error;
    EXPECT_NE(r.error->find(c.what), std::string::npos) << *r.error;
    std::filesystem::remove(path);
  }
}

TEST(Profile, protocols_declares_the_versions_a_broker_speaks) {
  auto path = write_temp("prof_protocols", "name: x\nprotocols: [3.1.1]\n");
  auto r = load_profile(path);
  ASSERT_TRUE(r.ok()) << *r.error;
  ASSERT_TRUE(r.profile.protocols);
  EXPECT_EQ(*r.profile.protocols, std::vector<std::string>{"3.1.1"});
  std::filesystem::remove(path);

  path = write_temp("prof_protocols5", "name: x\nprotocols: [3.1.1, \"5.0\"]\n");
  r = load_profile(path);
  ASSERT_TRUE(r.ok()) << *r.error;
  EXPECT_EQ(*r.profile.protocols, (std::vector<std::string>{"3.1.1", "5"}));
  std::filesystem::remove(path);

  for (const char* bad : {"name: x\nprotocols: [4]\n", "name: x\nprotocols: [3.1]\n", "name: x\nprotocols: 5\n",
                          "name: x\nprotocols: []\n"}) {
    path = write_temp("prof_protocols_bad", bad);
    r = load_profile(path);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error->find(path + ":2:"), std::string::npos) << *r.error;
    EXPECT_NE(r.error->find("protocols"), std::string::npos) << *r.error;
    std::filesystem::remove(path);
  }
}

TEST(Profile, a_deviation_matches_a_pasted_scenario_name_literally) {
  Profile p;
  p.known_deviations.push_back({"A client is disconnected [3.1.1]", "MQTT-3.1.2-24", "r", 3});
  p.known_deviations.push_back({"Takes the session over* [5]", "MQTT-3.1.4-3", "r", 4});
  EXPECT_NE(find_known_deviation(p, "A client is disconnected [3.1.1]", "k.yaml", {"MQTT-3.1.2-24"}), nullptr);
  EXPECT_EQ(find_known_deviation(p, "A client is disconnected [5]", "k.yaml", {"MQTT-3.1.2-24"}), nullptr);
  EXPECT_NE(find_known_deviation(p, "Takes the session over when asked [5]", "t.yaml", {"MQTT-3.1.4-3"}), nullptr);
  EXPECT_EQ(find_known_deviation(p, "Takes the session over when asked [3.1.1]", "t.yaml", {"MQTT-3.1.4-3"}), nullptr);
}

TEST(Profile, a_deviation_matches_only_the_statements_the_failure_cites) {
  Profile p;
  p.known_deviations.push_back({"*/retain/*.yaml", "MQTT-3.8.4-3", "r", 3});
  // The runner passes the failure's own ids, never the scenario's `spec:` list: a failure
  // with another cause (or none named) is not this deviation.
  EXPECT_NE(find_known_deviation(p, "n", "s/retain/a.yaml", {"MQTT-3.8.4-3"}), nullptr);
  EXPECT_EQ(find_known_deviation(p, "n", "s/retain/a.yaml", {"MQTT-3.3.1-6"}), nullptr);
  EXPECT_EQ(find_known_deviation(p, "n", "s/retain/a.yaml", {}), nullptr);
}

TEST(Profile, deviations_matching_no_scenario_are_listed) {
  Profile p;
  p.known_deviations.push_back({"*/retain/a.yaml", "MQTT-3.8.4-3", "r", 3});
  p.known_deviations.push_back({"*/retain/gone.yaml", "MQTT-3.8.4-3", "r", 4});
  p.known_deviations.push_back({"QoS 2 exactly once [5]", "MQTT-4.3.3-1", "r", 5});
  const std::vector<std::pair<std::string, std::string>> found = {{"Retained", "s/retain/a.yaml"},
                                                                  {"QoS 2 exactly once [3.1.1]", "s/q.yaml"}};
  const auto unmatched = deviations_matching_nothing(p, found);
  ASSERT_EQ(unmatched.size(), 2u);
  EXPECT_EQ(unmatched[0]->line, 4);
  EXPECT_EQ(unmatched[1]->line, 5);
}
