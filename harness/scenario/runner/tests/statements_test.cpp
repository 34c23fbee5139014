// Which statement a failure names (Statements.hpp): the order of the rules, the checks
// table against docs/spec and docs/reports.md, and the suite lint (every check of every
// scenario in scenarios/ names a statement).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "mqtth/report/Spec.hpp"
#include "mqtth/runner/Statements.hpp"
#include "mqtth/scenario/Loader.hpp"

using namespace mqtth;
using namespace mqtth::runner;

namespace {

scenario::Scenario make(mqtt::Version v, std::vector<std::string> spec) {
  scenario::Scenario s;
  s.name = "s";
  s.file = "s.yaml";
  s.protocol = v;
  s.spec = std::move(spec);
  return s;
}

scenario::Step step(std::string spec = {}) {
  scenario::Step st;
  st.action = scenario::ExpectPacketStep{"c", mqtt::PacketType::publish, {}, false, std::nullopt};
  st.spec = std::move(spec);
  return st;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

TEST(FailureStatement, a_check_that_is_no_spec_violation_names_none_whatever_the_step_says) {
  const auto s = make(mqtt::Version::v5, {"MQTT-3.3.1-4"});
  const auto st = step("MQTT-3.3.1-9");
  const Citation c = cite(Check::unreachable, s, &st);
  EXPECT_EQ(c.statement, "");
  EXPECT_EQ(c.no_statement, "the broker could not be reached (no TCP connection)");
  EXPECT_EQ(cite(Check::harness_timeout, s, nullptr).statement, "");
  EXPECT_FALSE(cite(Check::connect_not_accepted, s, &st).no_statement.empty());
}

TEST(FailureStatement, step_spec_then_check_default_then_the_scenarios_only_id) {
  const auto one = make(mqtt::Version::v3_1_1, {"MQTT-3.3.1-4"});
  const auto two = make(mqtt::Version::v3_1_1, {"MQTT-3.3.1-4", "MQTT-3.3.1-5"});
  const auto with = step("MQTT-3.3.1-9");
  const auto without = step();
  // 2. the step's spec wins over the check's default and the scenario's id.
  EXPECT_EQ(cite(Check::suback_missing, two, &with).statement, "MQTT-3.3.1-9");
  EXPECT_EQ(cite(Check::expectation, one, &with).statement, "MQTT-3.3.1-9");
  // 3. the check's default, per version (the same rule has different ids in 3.1.1 and 5.0).
  EXPECT_EQ(cite(Check::suback_count, two, &without).statement, "MQTT-3.8.4-5");
  EXPECT_EQ(cite(Check::suback_count, make(mqtt::Version::v5, {}), &without).statement, "MQTT-3.8.4-6");
  EXPECT_EQ(cite(Check::close_after_violation, one, &without).statement, "MQTT-4.8.0-1");
  EXPECT_EQ(cite(Check::close_after_violation, make(mqtt::Version::v5, {}), &without).statement, "MQTT-4.13.1-1");
  EXPECT_EQ(cite(Check::session_present_resumed, one, &without).statement, "MQTT-3.2.2-2");
  EXPECT_EQ(cite(Check::session_present_resumed, make(mqtt::Version::v5, {}), nullptr).statement, "MQTT-3.2.2-3");
  // 4. the scenario's spec: when it holds exactly one id.
  EXPECT_EQ(cite(Check::expectation, one, &without).statement, "MQTT-3.3.1-4");
  EXPECT_EQ(cite(Check::expectation, one, nullptr).statement, "MQTT-3.3.1-4");
  // 5. none, saying why.
  const Citation none = cite(Check::expectation, two, &without);
  EXPECT_EQ(none.statement, "");
  EXPECT_TRUE(none.no_statement.starts_with("no statement: ")) << none.no_statement;
}

TEST(FailureStatement, a_findings_own_id_counts_only_when_it_is_a_statement_of_the_version) {
  const auto v311 = make(mqtt::Version::v3_1_1, {});
  const auto v5 = make(mqtt::Version::v5, {});
  ASSERT_TRUE(cite_finding("MQTT-4.8.0-1", {"MQTT-3.3.1-4", "MQTT-9.9.9-9"}, v311));
  EXPECT_EQ(cite_finding("MQTT-4.8.0-1", {"MQTT-3.3.1-4", "MQTT-9.9.9-9"}, v311)->see_also,
            std::vector<std::string>{"MQTT-3.3.1-4"});
  EXPECT_FALSE(cite_finding("MQTT-4.8.0-1", {}, v5)) << "5.0 has no 4.8.0-1 (it is 4.13.1-1)";
  EXPECT_FALSE(cite_finding("", {}, v5));
}

TEST(FailureStatement, every_default_is_a_broker_observable_statement_of_its_version) {
  for (const CheckInfo& c : checks()) {
    EXPECT_EQ(&check_info(c.check), &c);
    if (!c.spec_violation) {
      EXPECT_FALSE(c.no_statement.empty()) << c.name << ": says why there is no statement";
      EXPECT_TRUE(c.statement_311.empty() && c.statement_5.empty()) << c.name;
      continue;
    }
    for (auto [version, id] : {std::pair{report::SpecVersion::v3_1_1, c.statement_311},
                               std::pair{report::SpecVersion::v5, c.statement_5}}) {
      if (id.empty()) continue;
      const report::Statement* st = report::find_statement(version, id);
      ASSERT_NE(st, nullptr) << c.name << ": " << id << " is not a statement of " << report::to_string(version);
      EXPECT_TRUE(st->broker_observable()) << c.name << ": " << id;
    }
  }
}

// docs/reports.md has the same table: one row per check, `name` | 3.1.1 | 5.0 | ...
TEST(FailureStatement, docs_reports_table_lists_every_check_with_its_statements) {
  const std::string doc = read(std::string(MQTTH_DOCS_DIR) + "/reports.md");
  ASSERT_FALSE(doc.empty());
  for (const CheckInfo& c : checks()) {
    const std::regex row("\\| `" + std::string(c.name) + "` \\|([^|]*)\\|([^|]*)\\|");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(doc, m, row)) << "docs/reports.md has no row for `" << c.name << "`";
    auto cell = [](std::string text) {
      text.erase(0, text.find_first_not_of(' '));
      text.erase(text.find_last_not_of(' ') + 1);
      return text;
    };
    const std::string want311 = c.statement_311.empty() ? "—" : std::string(c.statement_311);
    const std::string want5 = c.statement_5.empty() ? "—" : std::string(c.statement_5);
    EXPECT_EQ(cell(m[1]), want311) << c.name;
    EXPECT_EQ(cell(m[2]), want5) << c.name;
  }
}

// The lint: a failure of any check of any scenario in the suite names one statement. A step
// listed here needs a `spec:` (or its scenario one id).
TEST(FailureStatement, every_check_of_the_suite_names_a_statement) {
  std::vector<std::string> missing;
  std::size_t scenarios = 0;
  for (const auto& file : scenario::find_scenario_files(MQTTH_SCENARIOS_DIR)) {
    const auto loaded = scenario::load_file(file);
    ASSERT_TRUE(loaded.ok()) << file;
    for (const auto& s : loaded.scenarios) {
      ++scenarios;
      for (auto& m : steps_without_statement(s)) missing.push_back(std::move(m));
    }
  }
  EXPECT_GT(scenarios, 100u);
  std::string list;
  for (const auto& m : missing) list += "  " + m + "\n";
  EXPECT_TRUE(missing.empty()) << missing.size() << " step(s) would fail naming no statement:\n" << list;
}

TEST(FailureStatement, the_lint_finds_a_step_that_names_nothing) {
  auto s = make(mqtt::Version::v5, {"MQTT-3.3.1-4", "MQTT-3.3.1-5"});
  s.steps.push_back(step());
  s.steps.back().where.line = 7;
  s.steps.push_back(step("MQTT-3.3.1-9"));
  EXPECT_EQ(steps_without_statement(s), std::vector<std::string>{"s.yaml:7: expect_packet [s]"});
  s.spec = {"MQTT-3.3.1-4"};
  EXPECT_TRUE(steps_without_statement(s).empty());
}
