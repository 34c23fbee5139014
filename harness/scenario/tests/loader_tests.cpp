// Scenario loader tests: exact model for good files, exact errors (file:line:column and
// message) for every file in bad/, robustness against hostile input, and the suite in
// scenarios/ loading cleanly, citing real statement ids and matching schema.json.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "mqtt/hex.hpp"
#include "mqtth/report/Spec.hpp"
#include "mqtth/scenario/Loader.hpp"

using namespace mqtth::scenario;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const fs::path kTestDir = MQTTH_SCENARIO_TEST_DIR;
const fs::path kSuiteDir = MQTTH_SCENARIOS_DIR;

std::string errors_text(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

template <class T>
const T& action(const Scenario& s, std::size_t i) {
  EXPECT_LT(i, s.steps.size());
  return std::get<T>(s.steps.at(i).action);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Good files

TEST(ScenarioLoader, full_example_loads_into_the_exact_model_for_each_matrix_version) {
  auto file = kTestDir / "good/full.yaml";
  auto r = load_file(file);
  ASSERT_TRUE(r.ok()) << errors_text(r);
  ASSERT_EQ(r.scenarios.size(), 2u);
  const Scenario& v311 = r.scenarios[0];
  const Scenario& v5 = r.scenarios[1];

  EXPECT_EQ(v311.name, "Full format example 3 [3.1.1]");
  EXPECT_EQ(v5.name, "Full format example 3 [5]");
  EXPECT_EQ(v311.protocol, Version::v3_1_1);
  EXPECT_EQ(v5.protocol, Version::v5);
  EXPECT_TRUE(v5.from_matrix);
  EXPECT_EQ(v311.file, file.string());
  EXPECT_EQ(v311.where.line, 2);
  EXPECT_EQ(v311.description, "checks the loader");
  EXPECT_EQ(v311.spec, (std::vector<std::string>{"MQTT-3.3.1-1"}));
  EXPECT_EQ(v5.spec, (std::vector<std::string>{"MQTT-3.3.1-1", "MQTT-3.3.4-1"}));
  EXPECT_EQ(v5.timeout, 2500ms);
  EXPECT_EQ(v5.requires_features, (std::vector<Feature>{Feature::qos1, Feature::retain}));

  // Clients: declaration order; 5.0-only settings dropped in the 3.1.1 run.
  ASSERT_EQ(v5.clients.size(), 3u);
  const ClientSpec& sub5 = v5.clients[0];
  EXPECT_EQ(sub5.name, "sub");
  EXPECT_EQ(sub5.client_id, "sub-5");
  EXPECT_FALSE(sub5.clean_start);
  EXPECT_EQ(sub5.session_expiry, 60u);
  EXPECT_EQ(sub5.keep_alive, 5);
  EXPECT_EQ(v311.clients[0].client_id, "sub-3.1.1");
  EXPECT_EQ(v311.clients[0].session_expiry, std::nullopt);
  const ClientSpec& pub5 = v5.clients[1];
  EXPECT_EQ(pub5.client_id, "pub");  // defaults to the name
  EXPECT_EQ(pub5.username, "u");
  EXPECT_EQ(pub5.password, "p");
  ASSERT_TRUE(pub5.will);
  EXPECT_EQ(pub5.will->topic, "will/3");
  EXPECT_EQ(pub5.will->payload, "bye");
  EXPECT_EQ(pub5.will->qos, 1);
  EXPECT_TRUE(pub5.will->retain);
  EXPECT_EQ(pub5.will->delay, 2u);
  ASSERT_TRUE(v311.clients[1].will);
  EXPECT_EQ(v311.clients[1].will->delay, std::nullopt);
  EXPECT_EQ(v5.clients[2].name, "raw");
  EXPECT_EQ(v5.clients[2].client_id, "raw");

  // Steps: repeat unrolled (3 publishes), `only: 5` publish present only in 5.0.
  ASSERT_EQ(v5.steps.size(), 16u);
  ASSERT_EQ(v311.steps.size(), 15u);
  EXPECT_EQ(action<ConnectStep>(v5, 0).client, "sub");
  EXPECT_EQ(v5.steps[0].where.line, 19);
  EXPECT_EQ(v5.steps[0].where.column, 5);
  const auto& c1 = action<ConnectStep>(v5, 1);
  EXPECT_EQ(c1.client, "pub");
  EXPECT_EQ(c1.overrides.clean_start, true);
  ASSERT_TRUE(c1.expect);
  EXPECT_EQ(c1.expect->reason_code, 0);
  EXPECT_EQ(c1.expect->session_present, false);

  const auto& sub = action<SubscribeStep>(v5, 2);
  ASSERT_EQ(sub.subscriptions.size(), 2u);
  EXPECT_EQ(sub.subscriptions[0].filter, "t/x/#");
  EXPECT_EQ(sub.subscriptions[0].qos, 1);
  EXPECT_EQ(sub.subscriptions[1].filter, "other");
  EXPECT_EQ(sub.subscriptions[1].qos, 2);
  EXPECT_TRUE(sub.wait);

  for (int k = 1; k <= 3; ++k) {
    const Step& step = v5.steps[static_cast<std::size_t>(2 + k)];
    const auto& p = std::get<PublishStep>(step.action);
    EXPECT_EQ(p.topic, "t/x/" + std::to_string(k));
    EXPECT_EQ(p.payload, "m" + std::to_string(k) + "-{seq}-pub");  // {seq} left for the runner
    EXPECT_EQ(p.count, 2u);
    EXPECT_EQ(p.qos, 1);
    EXPECT_EQ(step.where.line, 26);
    EXPECT_EQ(step.repeat_path, (std::vector<std::string>{"k=" + std::to_string(k)}));
  }
  const auto& p5 = action<PublishStep>(v5, 6);
  EXPECT_EQ(p5.payload, std::string("\x00\xff", 2));
  EXPECT_FALSE(p5.payload_is_template);
  EXPECT_EQ(p5.properties, Json::parse(R"({"user_property": [["a", "b"]], "correlation_data": "0a0b"})"));

  const auto& ep = action<ExpectPacketStep>(v5, 7);
  EXPECT_EQ(ep.client, "sub");
  EXPECT_EQ(ep.type, PacketType::publish);
  EXPECT_EQ(ep.within, 1000ms);
  EXPECT_EQ(ep.match, Json::parse(R"({"topic": "t/x/1", "qos": 1, "payload_hex": "6d312d312d707562"})"));
  EXPECT_EQ(action<ExpectPacketStep>(v311, 6).type, PacketType::publish);

  const auto& enp = action<ExpectNoPacketStep>(v5, 8);
  EXPECT_EQ(enp.type, PacketType::pubrel);
  EXPECT_EQ(enp.duration, 100ms);

  const auto& ed = action<ExpectDeliveryStep>(v5, 9);
  EXPECT_EQ(ed.subscriber, "sub");
  EXPECT_EQ(ed.publisher, "pub");
  EXPECT_EQ(ed.guarantee, Guarantee::at_least_once);
  EXPECT_TRUE(ed.ordered);
  EXPECT_EQ(ed.count, 6u);
  EXPECT_EQ(ed.within, 2000ms);

  EXPECT_EQ(action<SendRawStep>(v5, 10).bytes, (std::vector<std::uint8_t>{0xc0, 0x00}));
  EXPECT_EQ(action<ExpectDisconnectStep>(v5, 11).reason_code, 0x81);
  const auto& mb = action<MisbehaveStep>(v5, 12);
  EXPECT_EQ(mb.withhold, (std::vector<PacketType>{PacketType::puback}));
  EXPECT_EQ(mb.skip_pubrel, true);
  EXPECT_EQ(mb.reuse_packet_id, std::nullopt);
  EXPECT_EQ(action<SleepStep>(v5, 13).duration, 10ms);
  const auto& rc = action<ReconnectStep>(v5, 14);
  EXPECT_EQ(rc.after, 100ms);
  ASSERT_TRUE(rc.expect);
  EXPECT_EQ(rc.expect->session_present, true);
  EXPECT_EQ(rc.expect->reason_code, std::nullopt);
  // A step's `spec:`: one id for both versions, or one per version; "" where none is given.
  EXPECT_EQ(v5.steps[7].spec, "MQTT-3.3.4-1");
  EXPECT_EQ(v311.steps[6].spec, "MQTT-3.3.4-1");
  EXPECT_EQ(v5.steps[14].spec, "MQTT-3.2.2-3");
  EXPECT_EQ(v311.steps[13].spec, "MQTT-3.2.2-2");
  EXPECT_EQ(v5.steps[0].spec, "");
  EXPECT_TRUE(ep.match.find("spec") == ep.match.end()) << "spec is not a field to match";
  EXPECT_TRUE(action<DisconnectStep>(v5, 15).abrupt);
  EXPECT_EQ(v5.steps[15].kind(), StepKind::disconnect);
}

// Durations are the project's one grammar (mqtth/common/Duration.hpp): a bare number is
// seconds, m and min are minutes, a YAML number works as well as a string.
TEST(ScenarioLoader, role_server_loads_its_steps_with_the_version_in_commands) {
  auto r = load_string(R"(name: n
protocols: [3.1.1, 5]
role: server
clients: {client: {}}
steps:
  - client_command: {command: "connect protocol={protocol} clean=0"}
  - accept_connection: client
  - expect_packet: {client: client, type: CONNECT, clean_start: false}
  - send_packet: {client: client, packet: {type: CONNACK, session_present: true, reason_code: 0}}
  - expect_client_event: {event: connected}
  - send_ack: {client: client, type: PUBACK}
  - expect_client_received: {topic: t/a, qos: 1, payload: hi, count: 2, within: 3s}
)", "mem.yaml");
  ASSERT_TRUE(r.ok()) << errors_text(r);
  ASSERT_EQ(r.scenarios.size(), 2u);
  const Scenario& s = r.scenarios[1];
  EXPECT_EQ(r.scenarios[0].role, Role::server);
  EXPECT_EQ(s.role, Role::server);
  EXPECT_EQ(action<ClientCommandStep>(r.scenarios[0], 0).command, "connect protocol=3.1.1 clean=0");
  EXPECT_EQ(action<ClientCommandStep>(s, 0).command, "connect protocol=5 clean=0");
  EXPECT_EQ(action<AcceptConnectionStep>(s, 1).client, "client");
  EXPECT_EQ(action<AcceptConnectionStep>(s, 1).within, std::nullopt);
  // CONNACK 5.0: 20 03 01 00 00 (Session Present, Success, no properties).
  EXPECT_EQ(action<SendRawStep>(s, 3).bytes, (std::vector<std::uint8_t>{0x20, 0x03, 0x01, 0x00, 0x00}));
  EXPECT_EQ(action<ExpectClientEventStep>(s, 4).event, "connected");
  EXPECT_EQ(action<SendAckStep>(s, 5).type, PacketType::puback);
  EXPECT_EQ(action<SendAckStep>(s, 5).reason_code, std::nullopt);
  const auto& e = action<ExpectClientReceivedStep>(s, 6);
  EXPECT_EQ(e.topic, "t/a");
  EXPECT_EQ(e.qos, std::optional<std::uint8_t>(1));
  EXPECT_EQ(e.payload, std::optional<std::string>("hi"));
  EXPECT_EQ(e.count, 2u);
  EXPECT_EQ(e.within, 3s);
  // A scenario without `role:` is a broker scenario.
  auto plain = load_string("name: p\nprotocol: 5\nsteps:\n  - sleep: 1s\n", "p.yaml");
  ASSERT_TRUE(plain.ok()) << errors_text(plain);
  EXPECT_EQ(plain.scenarios[0].role, Role::client);
}

TEST(ScenarioLoader, durations_take_the_common_grammar) {
  auto r = load_string(R"(name: n
protocol: 5
timeout: 30
clients: {a: {}}
steps:
  - sleep: 0.25
  - sleep: "1.5"
  - sleep: 2min
  - sleep: 1h
)", "mem.yaml");
  ASSERT_TRUE(r.ok()) << errors_text(r);
  const Scenario& s = r.scenarios.at(0);
  EXPECT_EQ(s.timeout, 30s);
  EXPECT_EQ(action<SleepStep>(s, 0).duration, 250ms);
  EXPECT_EQ(action<SleepStep>(s, 1).duration, 1500ms);
  EXPECT_EQ(action<SleepStep>(s, 2).duration, 2min);
  EXPECT_EQ(action<SleepStep>(s, 3).duration, 1h);
}

TEST(ScenarioLoader, shorthand_steps_and_defaults) {
  auto r = load_string(R"(name: n
protocol: 3.1.1
clients: {a: {}}
steps:
  - connect: a
  - expect_disconnect: a
  - disconnect: a
  - sleep: 2m
)", "mem.yaml");
  ASSERT_TRUE(r.ok()) << errors_text(r);
  ASSERT_EQ(r.scenarios.size(), 1u);
  const Scenario& s = r.scenarios[0];
  EXPECT_EQ(s.name, "n");  // no version suffix without a matrix
  EXPECT_FALSE(s.from_matrix);
  EXPECT_EQ(s.timeout, 10s);
  const auto& c = action<ConnectStep>(s, 0);
  EXPECT_EQ(c.expect, std::nullopt);
  EXPECT_EQ(c.within, std::nullopt);
  EXPECT_EQ(action<ExpectDisconnectStep>(s, 1).reason_code, std::nullopt);
  EXPECT_FALSE(action<DisconnectStep>(s, 2).abrupt);
  EXPECT_EQ(action<SleepStep>(s, 3).duration, 120s);
  EXPECT_EQ(s.clients[0].keep_alive, 60);  // a typical Keep Alive unless the scenario sets one
  EXPECT_TRUE(s.clients[0].clean_start);
}

TEST(ScenarioLoader, fault_steps_parse_fully_when_enabled) {
  const char* text = R"(name: f
protocol: 5
clients: {sub: {}}
steps:
  - connect: sub
  - fault: {client: sub, cut: {direction: to_broker, after: PUBREC, nth: 3}}
  - fault: {client: sub, delay: {by: 50ms, jitter: 10ms, for: 2s}}
  - fault: {client: sub, corrupt: {packet: publish, nth: 2, offset: 5, xor: 0xff}}
)";
  LoadOptions opt;
  opt.allow_faults = true;
  auto r = load_string(text, "f.yaml", opt);
  ASSERT_TRUE(r.ok()) << errors_text(r);
  const Scenario& s = r.scenarios[0];
  const auto& cut = action<FaultStep>(s, 1);
  EXPECT_EQ(cut.kind, FaultKind::cut);
  EXPECT_EQ(cut.direction, Direction::to_broker);
  EXPECT_EQ(cut.after, PacketType::pubrec);
  EXPECT_EQ(cut.nth, 3u);
  const auto& delay = action<FaultStep>(s, 2);
  EXPECT_EQ(delay.kind, FaultKind::delay);
  EXPECT_EQ(delay.direction, Direction::both);
  EXPECT_EQ(delay.delay, 50ms);
  EXPECT_EQ(delay.jitter, 10ms);
  EXPECT_EQ(delay.duration, 2000ms);
  const auto& corrupt = action<FaultStep>(s, 3);
  EXPECT_EQ(corrupt.after, PacketType::publish);
  EXPECT_EQ(corrupt.offset, 5u);
  EXPECT_EQ(corrupt.xor_mask, 0xff);

  // With the option off the same file is rejected, once per fault step, at the step.
  LoadOptions no_faults;
  no_faults.allow_faults = false;
  auto rejected = load_string(text, "f.yaml", no_faults);
  ASSERT_EQ(rejected.errors.size(), 3u) << errors_text(rejected);
  EXPECT_EQ(rejected.errors[0].line, 6);
  EXPECT_EQ(rejected.errors[0].message, "fault steps are turned off for this load (LoadOptions::allow_faults)");
}

TEST(ScenarioLoader, a_file_over_the_size_limit_is_refused_before_parsing) {
  LoadOptions small;
  small.max_file_bytes = 64;
  const std::string fits = "name: n\nprotocol: 5\nclients: {a: {}}\nsteps:\n  - connect: a\n";
  ASSERT_LE(fits.size(), small.max_file_bytes);
  EXPECT_TRUE(load_string(fits, "f.yaml", small).ok());
  const std::string big = fits + "# " + std::string(100, 'x') + "\n";
  auto r = load_string(big, "big.yaml", small);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_NE(r.errors[0].to_string().find("big.yaml: the file is " + std::to_string(big.size()) + " bytes"), std::string::npos)
      << r.errors[0].to_string();
  EXPECT_NE(r.errors[0].message.find("at most 64"), std::string::npos) << r.errors[0].message;

  const auto path = std::filesystem::temp_directory_path() / ("big_scenario" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << big;
  r = load_file(path, small);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find(std::to_string(big.size()) + " bytes"), std::string::npos) << r.errors[0].message;
  std::filesystem::remove(path);
  EXPECT_EQ(LoadOptions{}.max_file_bytes, 1u << 20);
}

TEST(ScenarioLoader, alternatives_the_spec_allows_load_into_the_model) {
  auto r = load_string(R"(name: alternatives
protocol: 5
clients: {sub: {}, pub: {}, raw: {}}
steps:
  - connect: sub
  - connect: pub
  - subscribe: {client: sub, filters: [a, b], qos: 2, expect: {reason_codes: [{at_most_qos: 2}, 0x80]}}
  - expect_packet: {client: sub, type: PUBLISH, topic: a, qos: effective}
  - expect_suback: {client: sub, reason_codes: [0, {at_most_qos: 1}]}
  - any_of:
      within: 2s
      branches:
        - steps:
            - expect_packet: {client: sub, type: PUBLISH, topic: "$x"}
        - steps:
            - expect_disconnect: pub
            - expect_no_packet: {client: pub, type: DISCONNECT, for: 0ms}
              only: 5
          skip: the broker closed instead
  - fault: {client: sub, cut: {after: PUBREC}}
  - fault: {client: sub, delay: {by: 5ms}, connections: next}
  - fault: {client: sub, segment: {size: 1}, connections: all}
)", "alt.yaml");
  ASSERT_TRUE(r.ok()) << errors_text(r);
  const Scenario& s = r.scenarios[0];
  EXPECT_EQ(action<SubscribeStep>(s, 2).expect_reason_codes,
            (std::vector<SubackCode>{{2, true}, {0x80, false}}));
  const auto& ep = action<ExpectPacketStep>(s, 3);
  EXPECT_TRUE(ep.qos_effective);
  EXPECT_EQ(ep.match, Json::parse(R"({"topic": "a"})"));  // no number for qos
  EXPECT_EQ(action<ExpectSubackStep>(s, 4).reason_codes, (std::vector<SubackCode>{{0, false}, {1, true}}));
  const auto& any = action<AnyOfStep>(s, 5);
  EXPECT_EQ(s.steps[5].kind(), StepKind::any_of);
  EXPECT_EQ(any.within, 2000ms);
  ASSERT_EQ(any.branches.size(), 2u);
  ASSERT_EQ(any.branches[0].steps.size(), 1u);
  EXPECT_EQ(any.branches[0].steps[0].kind(), StepKind::expect_packet);
  EXPECT_EQ(any.branches[0].steps[0].where.line, 14);
  EXPECT_TRUE(any.branches[0].skip.empty());
  EXPECT_EQ(any.branches[0].where.line, 13);
  ASSERT_EQ(any.branches[1].steps.size(), 2u);
  EXPECT_EQ(std::get<ExpectDisconnectStep>(any.branches[1].steps[0].action).client, "pub");
  EXPECT_EQ(std::get<ExpectNoPacketStep>(any.branches[1].steps[1].action).duration, 0ms);
  EXPECT_EQ(any.branches[1].skip, "the broker closed instead");
  EXPECT_EQ(action<FaultStep>(s, 6).connections, FaultConnections::current);
  EXPECT_EQ(action<FaultStep>(s, 7).connections, FaultConnections::next);
  EXPECT_EQ(action<FaultStep>(s, 8).connections, FaultConnections::all);
}

TEST(ScenarioLoader, explore_scalar_means_every_client_and_mapping_names_clients_and_bound) {
  const char* scalar = R"(name: e
protocol: 5
clients: {sub: {}, pub: {}}
explore: cut_points
steps:
  - connect: sub
)";
  auto a = load_string(scalar, "e.yaml");
  ASSERT_TRUE(a.ok()) << errors_text(a);
  ASSERT_TRUE(a.scenarios[0].explore.has_value());
  EXPECT_TRUE(a.scenarios[0].explore->clients.empty());
  EXPECT_EQ(a.scenarios[0].explore->max_runs, 0u);
  const char* mapping = R"(name: e
protocol: 5
clients: {sub: {}, pub: {}}
explore: {mode: cut_points, clients: [pub], max_runs: 7}
steps:
  - connect: sub
)";
  auto b = load_string(mapping, "e.yaml");
  ASSERT_TRUE(b.ok()) << errors_text(b);
  EXPECT_EQ(b.scenarios[0].explore->clients, std::vector<std::string>{"pub"});
  EXPECT_EQ(b.scenarios[0].explore->max_runs, 7u);
  auto c = load_string(std::string(scalar).replace(std::string(scalar).find("cut_points"), 10, "everything"), "e.yaml");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].message, "explore: unknown mode 'everything'; expected cut_points");
}

TEST(ScenarioLoader, expand_seq_replaces_every_seq_token) {
  EXPECT_EQ(expand_seq("m-{seq}/{seq}", 12), "m-12/12");
  EXPECT_EQ(expand_seq("{se}{seq", 1), "{se}{seq");
  EXPECT_EQ(expand_seq("", 1), "");
}

TEST(ScenarioLoader, json_braces_in_payloads_are_literal) {
  auto r = load_string(R"(name: n
protocol: 5
clients: {a: {}}
steps:
  - connect: a
  - publish: {client: a, topic: t, payload: '{"a": 1, "b": {}}'}
)", "mem.yaml");
  ASSERT_TRUE(r.ok()) << errors_text(r);
  EXPECT_EQ(action<PublishStep>(r.scenarios[0], 1).payload, R"({"a": 1, "b": {}})");
}

// ---------------------------------------------------------------------------------------
// Bad files: each bad/*.yaml lists its expected errors as `# expect: LINE:COL: message`
// comments (message is matched exactly); the loader must give exactly those.

struct ExpectedError {
  int line, column;
  std::string message;
};

std::vector<ExpectedError> expected_errors(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::vector<ExpectedError> out;
  static const std::regex kExpect(R"(^# expect: (\d+):(\d+): (.*)$)");
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_match(line, m, kExpect)) out.push_back({std::stoi(m[1]), std::stoi(m[2]), m[3]});
  return out;
}

class BadScenarioFile : public ::testing::TestWithParam<fs::path> {};

TEST_P(BadScenarioFile, gives_exactly_the_expected_file_line_errors) {
  const fs::path file = GetParam();
  auto expected = expected_errors(file);
  ASSERT_FALSE(expected.empty()) << file << " has no '# expect: LINE:COL: message' comment";
  auto r = load_file(file);
  EXPECT_TRUE(r.scenarios.empty());
  std::vector<std::string> got, want;
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.file, file.string());
    got.push_back(std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message);
  }
  for (const auto& e : expected) want.push_back(std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message);
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

std::vector<fs::path> bad_files() { return find_scenario_files(kTestDir / "bad"); }

INSTANTIATE_TEST_SUITE_P(Bad, BadScenarioFile, ::testing::ValuesIn(bad_files()),
                         [](const auto& param_info) {
                           std::string n = param_info.param.stem().string();
                           for (auto& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// ---------------------------------------------------------------------------------------
// Robustness: hostile input gives errors, not crashes, hangs or memory blow-ups.

TEST(ScenarioLoaderRobustness, hostile_inputs_give_errors) {
  std::vector<std::string> inputs = {
      "",
      "\t\x01\xff",
      std::string(100000, '['),
      std::string(5000, '{'),
      "a: &a [*a]",
      "name: x\nprotocol: 5\nsteps: [{repeat: {times: 100000, steps: [{repeat: {times: 100000, steps: [{sleep: 1ms}]}}]}}]",
      "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nname: x\nprotocol: 5\nsteps: [*g]",
      "name: x\nprotocol: 5\nclients: {a: }\nsteps: [{connect: a}, {publish: {client: a, topic: '{', payload: '{seq'}}]\n---\nx: 1",
      "name: [1]\nprotocol: {a: b}\nspec: 3\nsteps: {}",
      ",# y ",  // yaml-cpp 0.7 LoadAll() never returned on this (found by libFuzzer)
      ", a\n---\n,",
  };
  for (const auto& text : inputs) {
    auto r = load_string(text, "hostile.yaml");
    EXPECT_FALSE(r.ok()) << text.substr(0, 80);
    for (const auto& e : r.errors) EXPECT_FALSE(e.message.empty());
  }
}

// ---------------------------------------------------------------------------------------
// The suite

TEST(ScenarioSuite, find_scenario_files_is_recursive_and_sorted) {
  auto files = find_scenario_files(kTestDir);
  ASSERT_FALSE(files.empty());
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
  bool has_bad = false, has_good = false;
  for (const auto& f : files) {
    has_bad |= f.parent_path().filename() == "bad";
    has_good |= f.parent_path().filename() == "good";
    EXPECT_TRUE(f.extension() == ".yaml" || f.extension() == ".yml");
  }
  EXPECT_TRUE(has_bad && has_good);
  EXPECT_EQ(find_scenario_files(kTestDir / "good/full.yaml"), std::vector<fs::path>{kTestDir / "good/full.yaml"});
  EXPECT_TRUE(find_scenario_files(kTestDir / "does-not-exist").empty());
  // The mutants' accepted survivors live among the scenarios but are none.
  ASSERT_TRUE(fs::exists(kSuiteDir / kMutantsAcceptedFile));
  for (const auto& f : find_scenario_files(kSuiteDir)) EXPECT_NE(f.filename(), kMutantsAcceptedFile);
}

TEST(ScenarioSuite, every_scenario_file_loads_without_errors) {
  auto files = find_scenario_files(kSuiteDir);
  ASSERT_FALSE(files.empty()) << "no scenario files under " << kSuiteDir;
  std::set<std::string> names;
  for (const auto& f : files) {
    auto r = load_file(f);
    EXPECT_TRUE(r.ok()) << errors_text(r);
    for (const auto& s : r.scenarios) {
      EXPECT_TRUE(names.insert(s.name).second) << "duplicate scenario name: " << s.name << " in " << f;
      EXPECT_FALSE(s.spec.empty()) << s.name << " (" << f << ") checks no statement id";
    }
  }
}

// A send_packet step may carry the bytes an independent encoder made for it (scenarios/
// malformed/ from harness/scenario/tools/mqtt_packets.py) as `# <version> bytes ...: HEX`
// comment lines right above it; the codec must produce exactly those bytes.
TEST(ScenarioSuite, send_packet_steps_encode_to_the_independent_bytes_above_them) {
  static const std::regex kBytes(R"(^\s*# (3\.1\.1|5) bytes[^:]*: ([0-9a-f ]+)$)");
  int checked = 0;
  for (const auto& f : find_scenario_files(kSuiteDir)) {
    const auto r = load_file(f);
    std::ifstream in(f);
    std::string line;
    int number = 0;
    std::vector<std::pair<std::string, std::string>> pending;  // version, hex
    while (std::getline(in, line)) {
      ++number;
      std::smatch m;
      if (std::regex_match(line, m, kBytes)) {
        pending.emplace_back(m[1], m[2]);
        continue;
      }
      if (pending.empty()) continue;
      EXPECT_NE(line.find("- send_packet:"), std::string::npos) << f << ":" << number << ": bytes comments must precede a send_packet step";
      for (const auto& [version, hex] : pending) {
        const auto bytes = mqtt::parse_hex(hex);
        ASSERT_TRUE(bytes) << f << ":" << number << ": not hex: " << hex;
        const std::vector<std::uint8_t> want(bytes->begin(), bytes->end());
        const Step* step = nullptr;
        for (const auto& s : r.scenarios)
          if (s.protocol == mqtt::parse_version(version))
            for (const auto& st : s.steps)
              if (st.where.line == number) step = &st;
        ASSERT_NE(step, nullptr) << f << ":" << number << ": no step here in the " << version << " run";
        EXPECT_EQ(std::get<SendRawStep>(step->action).bytes, want) << f << ":" << number << " [" << version << "]";
        ++checked;
      }
      pending.clear();
    }
  }
  EXPECT_GE(checked, 26);  // scenarios/malformed has 26
}

// Against the statement lists of docs/spec/*.tsv, which the report library compiles in
// (the same table the reports' coverage counts against).
TEST(ScenarioSuite, every_cited_statement_id_exists_in_its_version) {
  using mqtth::report::SpecVersion;
  ASSERT_EQ(mqtth::report::statements(SpecVersion::v3_1_1).size(), 141u);
  ASSERT_EQ(mqtth::report::statements(SpecVersion::v5).size(), 251u);
  const auto files = find_scenario_files(kSuiteDir);
  ASSERT_FALSE(files.empty()) << "no scenario files under " << kSuiteDir;
  std::size_t cited = 0;
  for (const auto& f : files) {
    auto r = load_file(f);
    for (const auto& s : r.scenarios) {
      const bool v5 = s.protocol == Version::v5;
      for (const auto& id : s.spec) {
        ++cited;
        EXPECT_TRUE(mqtth::report::find_statement(v5 ? SpecVersion::v5 : SpecVersion::v3_1_1, id))
            << f << ": " << s.name << " cites " << id << ", which MQTT " << (v5 ? "5.0" : "3.1.1") << " does not have";
      }
    }
  }
  EXPECT_GT(cited, 0u);
}

