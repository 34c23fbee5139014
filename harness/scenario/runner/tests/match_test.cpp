#include <gtest/gtest.h>

#include "mqtth/runner/Runner.hpp"

using namespace mqtth::runner;
using Json = nlohmann::ordered_json;

TEST(SubsetMatch, objects_match_key_by_key) {
  Json actual = {{"type", "PUBLISH"}, {"qos", 1}, {"topic", "t/a"}, {"payload_hex", "6869"}};
  EXPECT_TRUE(json_subset_match(Json{{"topic", "t/a"}}, actual));
  EXPECT_TRUE(json_subset_match(Json::object(), actual));
  std::string why;
  EXPECT_FALSE(json_subset_match(Json{{"qos", 2}}, actual, &why));
  EXPECT_EQ(why, "/qos: expected 2, got 1");
  EXPECT_FALSE(json_subset_match(Json{{"retain", false}}, actual, &why));
  EXPECT_NE(why.find("missing key 'retain'"), std::string::npos);
}

TEST(SubsetMatch, lists_need_equal_length) {
  Json actual = {{"reason_codes", {0, 1}}};
  EXPECT_TRUE(json_subset_match(Json{{"reason_codes", {0, 1}}}, actual));
  EXPECT_FALSE(json_subset_match(Json{{"reason_codes", {0}}}, actual));
  EXPECT_FALSE(json_subset_match(Json{{"reason_codes", {1, 0}}}, actual));
}

TEST(SubsetMatch, hex_is_case_and_space_insensitive) {
  Json actual = {{"payload_hex", "abcd"}};
  EXPECT_TRUE(json_subset_match(Json{{"payload_hex", "AB CD"}}, actual));
  EXPECT_FALSE(json_subset_match(Json{{"topic", "AB"}}, Json{{"topic", "ab"}}));
}

TEST(SubsetMatch, nested_properties) {
  const Json kv = Json::array({Json::array({"k", "v"})});
  const Json kw = Json::array({Json::array({"k", "w"})});
  Json actual = {{"properties", {{"user_property", kv}, {"message_expiry_interval", 5}}}};
  EXPECT_TRUE(json_subset_match(Json{{"properties", {{"message_expiry_interval", 5}}}}, actual));
  std::string why;
  EXPECT_FALSE(json_subset_match(Json{{"properties", {{"user_property", kw}}}}, actual, &why));
  EXPECT_EQ(why, "/properties/user_property/0/1: expected \"w\", got \"v\"");
}

TEST(ExitStatus, errors_beat_failures_and_known_deviations_do_not_count) {
  ScenarioOutcome passed, failed, excused, errored;
  failed.result.status = mqtth::report::Status::failed;
  excused.result.status = mqtth::report::Status::failed;
  excused.known_deviation = KnownDeviation{"*", "*", "known", 1};
  errored.result.status = mqtth::report::Status::error;
  EXPECT_EQ(exit_status({passed}, false), 0);
  EXPECT_EQ(exit_status({passed, excused}, false), 0);
  EXPECT_EQ(exit_status({passed, failed}, false), 1);
  EXPECT_EQ(exit_status({failed, errored}, false), 2);
  EXPECT_EQ(exit_status({passed}, true), 2);
}

// run --spawn: the broker failing when the run stops it fails a run whose scenarios passed.
TEST(ExitStatus, a_spawned_brokers_failure_outside_any_scenario_fails_the_run) {
  ScenarioOutcome passed, errored;
  errored.result.status = mqtth::report::Status::error;
  EXPECT_EQ(exit_status({passed}, false, {}, false), 0);
  EXPECT_EQ(exit_status({passed}, false, {}, true), 1);
  EXPECT_EQ(exit_status({passed, errored}, false, {}, true), 2);
}

// `key: ~` asks for absence: MQTT-3.1.2-28 (no Response Information), MQTT-3.14.2-2 (no
// Session Expiry Interval in a server DISCONNECT) are checked this way.
TEST(SubsetMatch, null_asks_for_an_absent_field) {
  Json with = {{"type", "CONNACK"}, {"properties", {{"response_information", "r/"}, {"receive_maximum", 10}}}};
  Json without = {{"type", "CONNACK"}, {"properties", {{"receive_maximum", 10}}}};
  Json no_properties = {{"type", "CONNACK"}};
  const Json absent = {{"properties", {{"response_information", nullptr}}}};
  EXPECT_TRUE(json_subset_match(absent, without));
  EXPECT_TRUE(json_subset_match(absent, no_properties));
  std::string why;
  EXPECT_FALSE(json_subset_match(absent, with, &why));
  EXPECT_EQ(why, "/properties: expected 'response_information' to be absent, got \"r/\"");
  // Absence and a present value in one object: the missing object fails on the value.
  const Json mixed = {{"properties", {{"response_information", nullptr}, {"receive_maximum", 10}}}};
  EXPECT_TRUE(json_subset_match(mixed, without));
  EXPECT_FALSE(json_subset_match(mixed, no_properties, &why));
  EXPECT_NE(why.find("missing key 'properties'"), std::string::npos);
}
