// The broker config loader: every key is read into BrokerConfig, and every mistake names
// FILE:LINE and the key (docs/architecture.md "Conventions": bad input gets a clear error).
#include "mqtth/net/BrokerConfigFile.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using mqtth::engine::Misbehave;
using mqtth::net::parse_broker_config;

namespace {

mqtth::net::BrokerConfigResult parse(const std::string& yaml, const std::string& base = ".") {
  return parse_broker_config(yaml, "b.yaml", base);
}

// Expects an error at `line` about `key`; returns the message for further checks.
std::string expect_error(const std::string& yaml, int line, const std::string& key) {
  const auto r = parse(yaml);
  EXPECT_FALSE(r.ok()) << yaml;
  if (r.ok()) return {};
  EXPECT_EQ(r.error->file, "b.yaml");
  EXPECT_EQ(r.error->line, line) << r.error->to_string();
  EXPECT_EQ(r.error->key, key) << r.error->to_string();
  return r.error->to_string();
}

}  // namespace

TEST(BrokerConfigFile, empty_file_gives_the_engine_defaults) {
  const auto r = parse("");
  ASSERT_TRUE(r.ok()) << r.error->to_string();
  const mqtth::engine::BrokerConfig defaults;
  EXPECT_EQ(r.config.max_connections, defaults.max_connections);
  EXPECT_EQ(r.config.maximum_packet_size, defaults.maximum_packet_size);
  EXPECT_EQ(r.config.allow_anonymous, defaults.allow_anonymous);
  EXPECT_EQ(r.config.misbehave, Misbehave::none);
}

TEST(BrokerConfigFile, every_key_is_read_into_the_config) {
  const auto r = parse(R"(
limits:
  max_connections: 7
  maximum_packet_size: 4096
  receive_maximum: 5
  max_inflight: 6
  max_queued_messages: 8
  max_subscriptions_per_client: 9
  max_retained_messages: 11
  topic_alias_maximum: 12
  server_keep_alive: 13
  max_keep_alive: 16
  max_session_expiry: 14
  connect_timeout_ms: 15
allow_anonymous: false
users:
  alice: "a secret"
  bob: hunter2
acl:
  - username: alice
    publish: ["a/#", b]
    subscribe: "a/#"
    deny:
      publish: a/private
      subscribe: ["a/secret/#", "+/hidden"]
  - client_id: "sensor-*"
    publish: [sensors/#]
features:
  retain_available: false
  wildcard_subscription_available: false
  shared_subscription_available: false
  subscription_identifiers_available: false
  maximum_qos: 1
  response_information_prefix: "resp/"
behaviour:
  qos2_forward_on: pubrel
  grant_qos_at_most: 1
  overlapping_subscriptions: copy_per_subscription
  dollar_topic_publish: refuse
  v311_refused_publish: disconnect
  specific_refusal_codes: false
  no_matching_subscribers_code: false
  reason_strings: false
  disconnect_before_close: false
  queue_qos0_offline: true
  strict_clients: false
testing:
  misbehave: dup-qos2
  misbehave_every: 3
  track_deliveries: true
)");
  ASSERT_TRUE(r.ok()) << r.error->to_string();
  const auto& c = r.config;
  EXPECT_EQ(c.max_connections, 7u);
  EXPECT_EQ(c.maximum_packet_size, 4096u);
  EXPECT_EQ(c.receive_maximum, 5u);
  EXPECT_EQ(c.max_inflight, 6u);
  EXPECT_EQ(c.max_queued_messages, 8u);
  EXPECT_EQ(c.max_subscriptions_per_client, 9u);
  EXPECT_EQ(c.max_retained_messages, 11u);
  EXPECT_EQ(c.max_topic_alias, 12u);
  ASSERT_TRUE(c.server_keep_alive.has_value());
  EXPECT_EQ(*c.server_keep_alive, 13u);
  ASSERT_TRUE(c.max_keep_alive.has_value());
  EXPECT_EQ(*c.max_keep_alive, 16u);
  EXPECT_EQ(c.max_session_expiry, 14u);
  EXPECT_EQ(c.connect_timeout_ms, 15u);
  EXPECT_FALSE(c.allow_anonymous);
  ASSERT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.users.at("alice"), "a secret");
  EXPECT_EQ(c.users.at("bob"), "hunter2");
  ASSERT_EQ(c.acl.size(), 2u);
  EXPECT_EQ(c.acl[0].username, "alice");
  EXPECT_EQ(c.acl[0].client_id, "*");
  EXPECT_EQ(c.acl[0].publish, (std::vector<std::string>{"a/#", "b"}));
  EXPECT_EQ(c.acl[0].subscribe, (std::vector<std::string>{"a/#"}));
  EXPECT_EQ(c.acl[0].deny_publish, (std::vector<std::string>{"a/private"}));
  EXPECT_EQ(c.acl[0].deny_subscribe, (std::vector<std::string>{"a/secret/#", "+/hidden"}));
  EXPECT_TRUE(c.acl[1].deny_publish.empty());
  EXPECT_EQ(c.acl[1].client_id, "sensor-*");
  EXPECT_EQ(c.acl[1].username, "*");
  EXPECT_TRUE(c.acl[1].subscribe.empty());
  EXPECT_FALSE(c.retain_available);
  EXPECT_FALSE(c.wildcard_subscription_available);
  EXPECT_FALSE(c.shared_subscription_available);
  EXPECT_FALSE(c.subscription_identifiers_available);
  EXPECT_EQ(c.maximum_qos, 1u);
  EXPECT_EQ(c.response_information_prefix, "resp/");
  using namespace mqtth::engine;
  EXPECT_EQ(c.behaviour.qos2_forward_on, Qos2ForwardOn::pubrel);
  EXPECT_EQ(c.behaviour.grant_qos_at_most, 1u);
  EXPECT_EQ(c.behaviour.overlapping_subscriptions, OverlappingDelivery::copy_per_subscription);
  EXPECT_EQ(c.behaviour.dollar_topic_publish, DollarTopicPublish::refuse);
  EXPECT_EQ(c.behaviour.v311_refused_publish, V311RefusedPublish::disconnect);
  EXPECT_FALSE(c.behaviour.specific_refusal_codes);
  EXPECT_FALSE(c.behaviour.no_matching_subscribers_code);
  EXPECT_FALSE(c.behaviour.reason_strings);
  EXPECT_FALSE(c.behaviour.disconnect_before_close);
  EXPECT_TRUE(c.behaviour.queue_qos0_offline);
  EXPECT_FALSE(c.behaviour.strict_clients);
  EXPECT_EQ(c.misbehave, Misbehave::dup_qos2);
  EXPECT_EQ(c.misbehave_every, 3u);
  EXPECT_TRUE(c.track_deliveries);
}

TEST(BrokerConfigFile, server_keep_alive_null_means_use_the_clients_value) {
  const auto r = parse("limits:\n  server_keep_alive: null\n");
  ASSERT_TRUE(r.ok()) << r.error->to_string();
  EXPECT_FALSE(r.config.server_keep_alive.has_value());
}

TEST(BrokerConfigFile, behaviour_defaults_are_the_engines) {
  const auto r = parse("behaviour: {}\n");
  ASSERT_TRUE(r.ok()) << r.error->to_string();
  const mqtth::engine::BrokerBehaviour defaults;
  EXPECT_EQ(r.config.behaviour.qos2_forward_on, defaults.qos2_forward_on);
  EXPECT_EQ(r.config.behaviour.grant_qos_at_most, 2u);
  EXPECT_EQ(r.config.behaviour.overlapping_subscriptions, defaults.overlapping_subscriptions);
  EXPECT_TRUE(r.config.behaviour.no_matching_subscribers_code);
  EXPECT_FALSE(r.config.behaviour.queue_qos0_offline);
  EXPECT_TRUE(r.config.behaviour.strict_clients);
}

TEST(BrokerConfigFile, behaviour_choice_outside_its_names_lists_them) {
  const auto message = expect_error("behaviour:\n  qos2_forward_on: pubcomp\n", 2, "behaviour.qos2_forward_on");
  EXPECT_NE(message.find("expected publish or pubrel, got 'pubcomp'"), std::string::npos) << message;
  expect_error("behaviour:\n  grant_qos_at_most: 3\n", 2, "behaviour.grant_qos_at_most");
  expect_error("behaviour:\n  reason_strings: maybe\n", 2, "behaviour.reason_strings");
  expect_error("behaviour:\n  one_copy: true\n", 2, "behaviour.one_copy");
}

TEST(BrokerConfigFile, max_keep_alive_is_1_to_65535_or_null) {
  expect_error("limits:\n  max_keep_alive: 0\n", 2, "limits.max_keep_alive");
  expect_error("limits:\n  max_keep_alive: 65536\n", 2, "limits.max_keep_alive");
  EXPECT_FALSE(parse("limits:\n  max_keep_alive: null\n").config.max_keep_alive.has_value());
}

TEST(BrokerConfigFile, acl_deny_takes_publish_and_subscribe_only) {
  expect_error("acl:\n  - publish: \"#\"\n    deny:\n      read: x\n", 4, "acl[0].deny.read");
}

TEST(BrokerConfigFile, acl_filters_must_be_topic_filters) {
  const auto message = expect_error("acl:\n  - subscribe: [\"a/#/b\"]\n", 2, "acl[0].subscribe");
  EXPECT_NE(message.find("'a/#/b' is not a topic filter"), std::string::npos) << message;
  expect_error("acl:\n  - deny:\n      publish: \"a+\"\n", 3, "acl[0].deny.publish");
}

TEST(BrokerConfigFile, unknown_top_level_key_names_its_line) {
  const auto message = expect_error("allow_anonymous: true\n\nmax_conections: 3\n", 3, "max_conections");
  EXPECT_NE(message.find("unknown key"), std::string::npos) << message;
}

TEST(BrokerConfigFile, unknown_nested_key_names_its_line_and_dotted_path) {
  expect_error("limits:\n  max_connections: 3\n  max_inflite: 4\n", 3, "limits.max_inflite");
}

TEST(BrokerConfigFile, wrong_type_names_the_value_line) {
  const auto message = expect_error("limits:\n  max_inflight: lots\n", 2, "limits.max_inflight");
  EXPECT_NE(message.find("'lots'"), std::string::npos) << message;
  EXPECT_EQ(message.rfind("b.yaml:2: limits.max_inflight:", 0), 0u) << message;
}

TEST(BrokerConfigFile, quoted_number_is_a_string_not_an_integer) {
  expect_error("limits:\n  max_connections: \"10\"\n", 2, "limits.max_connections");
}

TEST(BrokerConfigFile, negative_and_out_of_range_integers_are_rejected) {
  expect_error("limits:\n  max_connections: -1\n", 2, "limits.max_connections");
  expect_error("limits:\n  receive_maximum: 65536\n", 2, "limits.receive_maximum");
  // Receive Maximum 0 is a protocol error (3.2.2.3.3), so it cannot be configured.
  expect_error("limits:\n  receive_maximum: 0\n", 2, "limits.receive_maximum");
  // Larger than any MQTT packet can be (2.2.3).
  expect_error("limits:\n  maximum_packet_size: 268435461\n", 2, "limits.maximum_packet_size");
  expect_error("features:\n  maximum_qos: 3\n", 2, "features.maximum_qos");
  // Topic Alias values are Two Byte Integers (3.3.2.3.4).
  expect_error("limits:\n  outbound_topic_alias_maximum: 65536\n", 2, "limits.outbound_topic_alias_maximum");
  expect_error("limits:\n  outbound_topic_alias_maximum: -1\n", 2, "limits.outbound_topic_alias_maximum");
}

TEST(BrokerConfigFile, booleans_are_true_or_false_only) {
  expect_error("allow_anonymous: 1\n", 1, "allow_anonymous");
  expect_error("features:\n  retain_available: \"true\"\n", 2, "features.retain_available");
}

TEST(BrokerConfigFile, section_that_is_not_a_mapping_is_rejected) {
  expect_error("limits: 5\n", 1, "limits");
  expect_error("acl:\n  username: a\n", 2, "acl");
}

TEST(BrokerConfigFile, unknown_key_in_an_acl_rule_names_rule_index) {
  expect_error("acl:\n  - username: a\n  - usernme: b\n", 3, "acl[1].usernme");
}

TEST(BrokerConfigFile, duplicate_key_is_an_error) {
  const auto message = expect_error("limits:\n  max_inflight: 1\n  max_inflight: 2\n", 3, "limits.max_inflight");
  EXPECT_NE(message.find("duplicate"), std::string::npos) << message;
}

TEST(BrokerConfigFile, unknown_misbehave_mode_is_an_error) {
  expect_error("testing:\n  misbehave: lose-everything\n", 2, "testing.misbehave");
}

TEST(BrokerConfigFile, invalid_yaml_names_its_line) {
  const auto r = parse("limits:\n  max_inflight: [1, 2\n");
  ASSERT_FALSE(r.ok());
  EXPECT_GT(r.error->line, 0);
  EXPECT_NE(r.error->message.find("YAML"), std::string::npos);
}

TEST(BrokerConfigFile, misbehave_modes_accept_hyphen_and_underscore_spellings) {
  using mqtth::net::parse_misbehave_mode;
  EXPECT_EQ(parse_misbehave_mode("drop-qos1"), Misbehave::drop_qos1);
  EXPECT_EQ(parse_misbehave_mode("drop_qos1"), Misbehave::drop_qos1);
  EXPECT_EQ(parse_misbehave_mode("dup-qos2"), Misbehave::dup_qos2);
  EXPECT_EQ(parse_misbehave_mode("reorder"), Misbehave::reorder);
  EXPECT_EQ(parse_misbehave_mode("drop-qos0"), Misbehave::drop_qos0);
  EXPECT_EQ(parse_misbehave_mode("none"), Misbehave::none);
  EXPECT_FALSE(parse_misbehave_mode("drop-qos3").has_value());
}

class BrokerConfigFileOnDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mqtth-config-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  std::filesystem::path dir_;
};

TEST_F(BrokerConfigFileOnDisk, users_file_is_read_relative_to_the_config_file) {
  write("users.txt", "# name:password\nalice:s3cret\n\nbob:with:colon\n");
  const auto path = write("broker.yaml", "allow_anonymous: false\nusers_file: users.txt\n");
  const auto r = mqtth::net::load_broker_config_file(path);
  ASSERT_TRUE(r.ok()) << r.error->to_string();
  EXPECT_EQ(r.config.users.at("alice"), "s3cret");
  EXPECT_EQ(r.config.users.at("bob"), "with:colon");  // the first ':' separates
}

TEST_F(BrokerConfigFileOnDisk, bad_users_file_line_names_that_file_and_line) {
  const auto users = write("users.txt", "alice:x\nnocolon\n");
  const auto path = write("broker.yaml", "users_file: users.txt\n");
  const auto r = mqtth::net::load_broker_config_file(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->file, users);
  EXPECT_EQ(r.error->line, 2);
}

TEST_F(BrokerConfigFileOnDisk, missing_config_file_is_an_error_naming_it) {
  const auto r = mqtth::net::load_broker_config_file((dir_ / "absent.yaml").string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error->to_string().find("absent.yaml"), std::string::npos);
}

TEST_F(BrokerConfigFileOnDisk, example_config_in_docs_loads) {
  const auto r = mqtth::net::load_broker_config_file(MQTTH_SOURCE_DIR "/docs/examples/broker.yaml");
  ASSERT_TRUE(r.ok()) << r.error->to_string();
  // It shows every key at its default, so it must load as the defaults.
  const mqtth::engine::BrokerBehaviour defaults;
  EXPECT_EQ(r.config.behaviour.qos2_forward_on, defaults.qos2_forward_on);
  EXPECT_EQ(r.config.behaviour.overlapping_subscriptions, defaults.overlapping_subscriptions);
  EXPECT_FALSE(r.config.max_keep_alive.has_value());
}

TEST_F(BrokerConfigFileOnDisk, paho_interop_config_in_docs_loads) {
  const auto r = mqtth::net::load_broker_config_file(MQTTH_SOURCE_DIR "/docs/examples/paho-interop.yaml");
  ASSERT_TRUE(r.ok()) << r.error->to_string();
  ASSERT_TRUE(r.config.max_keep_alive.has_value());
  EXPECT_EQ(*r.config.max_keep_alive, 60u);  // client_test5's test_server_keep_alive expects 60
}

// testing.deviate (docs/mutants.md): an id turns on every row of the deviation table
// that has it, each only for the version the id names that statement in.
TEST(BrokerConfigFile, deviate_turns_on_the_statement_for_the_versions_it_names) {
  using mqtth::engine::Deviation;
  using mqtt::Version;
  const auto r = parse("testing:\n  deviate: [MQTT-3.3.1-1, MQTT-3.1.2-24]\n");
  ASSERT_TRUE(r.ok()) << r.error->to_string();
  EXPECT_TRUE(r.config.deviate.on(Deviation::resend_without_dup, Version::v3_1_1));
  EXPECT_TRUE(r.config.deviate.on(Deviation::resend_without_dup, Version::v5));
  // MQTT-3.1.2-24: the 3.1.1 keep-alive rule, the 5.0 Maximum Packet Size rule.
  EXPECT_TRUE(r.config.deviate.on(Deviation::keep_alive_doubled, Version::v3_1_1));
  EXPECT_FALSE(r.config.deviate.on(Deviation::keep_alive_doubled, Version::v5));
  EXPECT_TRUE(r.config.deviate.on(Deviation::maximum_packet_size_ignored, Version::v5));
  EXPECT_FALSE(r.config.deviate.on(Deviation::maximum_packet_size_ignored, Version::v3_1_1));
  EXPECT_TRUE(r.config.deviate.on(Deviation::keep_alive_doubled, Version::v3_1));  // 3.1 counts as 3.1.1
  EXPECT_FALSE(r.config.deviate.on(Deviation::empty_retained_kept, Version::v5));
}

TEST(BrokerConfigFile, deviate_takes_one_id_without_brackets) {
  const auto r = parse("testing:\n  deviate: MQTT-4.7.2-1\n");
  ASSERT_TRUE(r.ok()) << r.error->to_string();
  EXPECT_TRUE(r.config.deviate.on(mqtth::engine::Deviation::wildcards_match_dollar_topics, mqtt::Version::v5));
}

TEST(BrokerConfigFile, no_deviation_by_default) {
  EXPECT_TRUE(parse("").config.deviate.empty());
}

TEST(BrokerConfigFile, deviate_with_an_id_no_switch_breaks_names_its_line) {
  const auto message = expect_error("testing:\n  deviate:\n    - MQTT-3.3.1-1\n    - MQTT-9.9.9-9\n", 4, "testing.deviate");
  EXPECT_NE(message.find("MQTT-9.9.9-9"), std::string::npos) << message;
  expect_error("testing:\n  deviate: {a: 1}\n", 2, "testing.deviate");
}
