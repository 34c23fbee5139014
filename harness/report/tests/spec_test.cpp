// Statement lists and coverage arithmetic. Expected counts come from docs/spec/README.md
// (141 and 251 statements, of which 101 and 200 are broker-observable).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "mqtth/report/Report.hpp"
#include "mqtth/report/Spec.hpp"

using namespace mqtth::report;

namespace {

std::size_t count_class(SpecVersion v, std::string_view cls) {
  auto s = statements(v);
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [&](const Statement& st) { return st.cls == cls; }));
}

ScenarioResult scenario(std::string name, std::string protocol, Status status, std::vector<std::string> spec) {
  ScenarioResult s;
  s.name = std::move(name);
  s.file = "f.yaml";
  s.protocol = std::move(protocol);
  s.status = status;
  s.spec = std::move(spec);
  return s;
}

}  // namespace

TEST(SpecData, counts_per_version_and_class) {
  EXPECT_EQ(statements(SpecVersion::v3_1_1).size(), 141u);
  EXPECT_EQ(statements(SpecVersion::v5).size(), 251u);
  EXPECT_EQ(count_class(SpecVersion::v3_1_1, "broker-observable"), 101u);
  EXPECT_EQ(count_class(SpecVersion::v3_1_1, "client-obligation"), 35u);
  EXPECT_EQ(count_class(SpecVersion::v3_1_1, "not-testable"), 5u);
  EXPECT_EQ(count_class(SpecVersion::v5, "broker-observable"), 200u);
  EXPECT_EQ(count_class(SpecVersion::v5, "client-obligation"), 49u);
  EXPECT_EQ(count_class(SpecVersion::v5, "not-testable"), 2u);
}

TEST(SpecData, ids_are_unique_and_every_row_is_complete) {
  for (SpecVersion v : {SpecVersion::v3_1_1, SpecVersion::v5}) {
    std::set<std::string_view> ids;
    for (const Statement& s : statements(v)) {
      EXPECT_TRUE(ids.insert(s.id).second) << s.id;
      EXPECT_TRUE(s.id.starts_with("MQTT-")) << s.id;
      EXPECT_FALSE(s.section.empty()) << s.id;
      EXPECT_TRUE(s.actor == "server" || s.actor == "client" || s.actor == "both" || s.actor == "receiver") << s.id;
      EXPECT_FALSE(s.summary.empty()) << s.id << " has no summary";
      EXPECT_EQ(s.summary.find('\t'), std::string_view::npos);
    }
  }
}

TEST(SpecData, same_id_different_versions) {
  // 3.1.1's 4.6.0-5 is the "Ordered Topic by default" rule (broker-observable), 4.6.0-1 a
  // client re-send rule; 5.0's 4.2.0-1 and 3.1.1's 7.0.0-1 are not testable.
  ASSERT_TRUE(find_statement(SpecVersion::v3_1_1, "MQTT-4.6.0-1"));
  EXPECT_EQ(find_statement(SpecVersion::v3_1_1, "MQTT-4.6.0-1")->cls, "client-obligation");
  EXPECT_EQ(find_statement(SpecVersion::v5, "MQTT-4.2.0-1")->cls, "not-testable");
  EXPECT_EQ(find_statement(SpecVersion::v3_1_1, "MQTT-4.2.0-1"), nullptr);
  EXPECT_EQ(find_statement(SpecVersion::v3_1_1, "MQTT-7.0.0-1")->cls, "not-testable");
  EXPECT_EQ(find_statement(SpecVersion::v5, "MQTT-7.0.0-1"), nullptr);
  EXPECT_EQ(find_statement(SpecVersion::v3_1_1, "MQTT-3.3.1-3")->section, "3.3.1.1");
  EXPECT_EQ(find_statement(SpecVersion::v5, "MQTT-3.3.4-9")->section, "3.3.4");
}

TEST(SpecCoverage, counts_only_broker_observable_statements_of_scenarios_that_ran) {
  const std::vector<ScenarioResult> scenarios = {
      // 3.1.1: 3.3.1-3 broker-observable, 4.6.0-1 client-obligation (not in the numerator).
      scenario("a", "3.1.1", Status::passed, {"MQTT-3.3.1-3", "MQTT-4.6.0-1"}),
      // A failed scenario still checked its statements; repeats count once.
      scenario("b", "3.1.1", Status::failed, {"MQTT-4.6.0-6", "MQTT-3.3.1-3"}),
      // Skipped / error scenarios check nothing.
      scenario("c", "3.1.1", Status::skipped, {"MQTT-1.5.3-1"}),
      scenario("d", "3.1.1", Status::error, {"MQTT-1.5.3-2"}),
      // 5.0 scenario: counts for 5.0 only; an id 5.0 does not have is reported.
      scenario("e", "5", Status::passed, {"MQTT-3.3.1-3", "MQTT-9.9.9-9"}),
  };
  const Coverage c311 = coverage(scenarios, SpecVersion::v3_1_1);
  EXPECT_EQ(c311.total, 101u);
  EXPECT_EQ(c311.covered, 2u);
  EXPECT_NEAR(c311.percent, 200.0 / 101.0, 1e-9);
  EXPECT_TRUE(c311.unknown_ids.empty());
  const Coverage c5 = coverage(scenarios, SpecVersion::v5);
  EXPECT_EQ(c5.total, 200u);
  EXPECT_EQ(c5.covered, 1u);
  EXPECT_DOUBLE_EQ(c5.percent, 0.5);
  EXPECT_EQ(c5.unknown_ids, std::vector<std::string>{"MQTT-9.9.9-9"});

  // Rows list the citing scenarios per statement.
  auto row = std::find_if(c311.rows.begin(), c311.rows.end(),
                          [](const StatementCoverage& r) { return r.statement->id == "MQTT-3.3.1-3"; });
  ASSERT_NE(row, c311.rows.end());
  EXPECT_EQ(row->scenarios, (std::vector<std::string>{"a (f.yaml)", "b (f.yaml)"}));
  EXPECT_EQ(c311.rows.size(), 141u);
}

TEST(SpecCoverage, everything_covered_is_one_hundred_percent) {
  std::vector<std::string> ids;
  for (const Statement& s : statements(SpecVersion::v5)) ids.emplace_back(s.id);
  const std::vector<ScenarioResult> scenarios = {scenario("all", "5.0", Status::passed, ids)};
  const Coverage c = coverage(scenarios, SpecVersion::v5);
  EXPECT_EQ(c.covered, 200u);
  EXPECT_DOUBLE_EQ(c.percent, 100.0);
  EXPECT_EQ(coverage(scenarios, SpecVersion::v3_1_1).covered, 0u);
}

TEST(SpecCoverage, no_scenarios_is_zero_not_nan) {
  const Coverage c = coverage({}, SpecVersion::v3_1_1);
  EXPECT_EQ(c.covered, 0u);
  EXPECT_EQ(c.percent, 0.0);
}

TEST(SpecVersionNames, protocol_strings) {
  EXPECT_EQ(spec_version_for_protocol("3.1.1"), SpecVersion::v3_1_1);
  EXPECT_EQ(spec_version_for_protocol("5"), SpecVersion::v5);
  EXPECT_EQ(spec_version_for_protocol("5.0"), SpecVersion::v5);
  EXPECT_EQ(spec_version_for_protocol("3.1"), std::nullopt);
}
