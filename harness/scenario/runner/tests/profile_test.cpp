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
