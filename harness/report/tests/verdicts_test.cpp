// Statement verdicts and coverage (Verdicts.hpp, docs/reports.md "Statement verdicts and
// coverage"): a small fixed run whose every verdict and count was worked out by hand below,
// then the same run through the JSON, JUnit and HTML writers.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "mqtth/report/Report.hpp"
#include "mqtth/report/Verdicts.hpp"
#include "sample.hpp"

using namespace mqtth::report;
using mqtth::report::sample::count;

namespace {

ScenarioResult scenario(std::string name, std::string protocol, Status status, std::vector<std::string> spec) {
  ScenarioResult s;
  s.name = std::move(name);
  s.file = "f.yaml";
  s.protocol = std::move(protocol);
  s.status = status;
  s.spec = std::move(spec);
  return s;
}

ScenarioResult failed(std::string name, std::vector<std::string> spec, std::string statement, int step,
                      bool known = false) {
  ScenarioResult s = scenario(std::move(name), "3.1.1", Status::failed, std::move(spec));
  Failure f;
  f.step = step;
  f.message = "step " + std::to_string(step) + ": broke " + statement;
  f.statement = std::move(statement);
  s.failure = f;
  if (known) s.known_deviation = KnownDeviation{f.statement, "documented quirk", "broker-x"};
  return s;
}

ScenarioResult skipped(std::string name, std::vector<std::string> spec, std::string reason) {
  ScenarioResult s = scenario(std::move(name), "3.1.1", Status::skipped, std::move(spec));
  s.skip_reason = std::move(reason);
  return s;
}

// The run. Hand-worked verdicts for 3.1.1 (all ids below are broker-observable in 3.1.1
// except 4.6.0-1, a client obligation):
//   3.3.1-3  held         A passed citing it (B, which failed on another statement, cites it too)
//   4.3.2-1  violated     F's failure names it (F is a known deviation, the only one naming it),
//                         although A passed citing it: violated wins
//   4.6.0-6  not_checked  only B cites it, and B failed on something else
//   3.2.2-2  violated     B's failure names it (no scenario cites it)
//   1.5.3-1  skipped      C and K cite it and were skipped: both reasons, each once (J repeats C's)
//   1.5.3-2  not_checked  D (error) and E (skipped) cite it: not only skipped scenarios
//   4.8.0-1  violated     G and H name it; H is a known deviation, G is not: the evidence is G's
// -> held 1, violated 3, skipped 1, not_checked 101 - 5 = 96, covered 4.
// 5.0: I passed citing 3.3.1-3 (held) and 9.9.9-9 (no such statement) -> held 1, not_checked 199.
std::vector<ScenarioResult> run() {
  std::vector<ScenarioResult> r;
  r.push_back(scenario("A", "3.1.1", Status::passed, {"MQTT-3.3.1-3", "MQTT-4.6.0-1", "MQTT-4.3.2-1"}));
  r.push_back(failed("B", {"MQTT-4.6.0-6", "MQTT-3.3.1-3"}, "MQTT-3.2.2-2", 4));
  r.push_back(skipped("C", {"MQTT-1.5.3-1"}, "requires retain"));
  r.push_back(scenario("D", "3.1.1", Status::error, {"MQTT-1.5.3-2"}));
  r.push_back(skipped("E", {"MQTT-1.5.3-2"}, "requires wills"));
  r.push_back(failed("F", {}, "MQTT-4.3.2-1", 2, /*known=*/true));
  r.push_back(failed("G", {}, "MQTT-4.8.0-1", 3));
  r.push_back(failed("H", {}, "MQTT-4.8.0-1", 5, /*known=*/true));
  r.push_back(scenario("I", "5", Status::passed, {"MQTT-3.3.1-3", "MQTT-9.9.9-9"}));
  r.push_back(skipped("J", {"MQTT-1.5.3-1"}, "requires retain"));
  r.push_back(skipped("K", {"MQTT-1.5.3-1"}, "requires mqtt31"));
  return r;
}

const StatementRow& row(const Coverage& c, std::string_view id) {
  auto it = std::find_if(c.rows.begin(), c.rows.end(), [&](const StatementRow& r) { return r.statement->id == id; });
  if (it == c.rows.end()) throw std::runtime_error("no row " + std::string(id));
  return *it;
}


}  // namespace

TEST(StatementVerdicts, hand_worked_run_3_1_1) {
  const auto scenarios = run();
  const Coverage c = coverage(scenarios, SpecVersion::v3_1_1);
  EXPECT_EQ(c.total, 101u);
  EXPECT_EQ(c.held, 1u);
  EXPECT_EQ(c.violated, 3u);
  EXPECT_EQ(c.skipped, 1u);
  EXPECT_EQ(c.not_checked, 96u);
  EXPECT_EQ(c.covered, 4u);
  EXPECT_DOUBLE_EQ(c.percent, 400.0 / 101.0);
  EXPECT_TRUE(c.unknown_ids.empty());

  EXPECT_EQ(row(c, "MQTT-3.3.1-3").verdict, StatementVerdict::held);
  EXPECT_EQ(row(c, "MQTT-3.3.1-3").scenarios, (std::vector<std::string>{"A (f.yaml)", "B (f.yaml)"}));

  const StatementRow& v432 = row(c, "MQTT-4.3.2-1");
  EXPECT_EQ(v432.verdict, StatementVerdict::violated);
  ASSERT_TRUE(v432.evidence);
  EXPECT_EQ(v432.evidence->scenario, "F");
  EXPECT_EQ(v432.evidence->step, 2);
  ASSERT_TRUE(v432.known_deviation);
  EXPECT_EQ(v432.known_deviation->reason, "documented quirk");

  EXPECT_EQ(row(c, "MQTT-4.6.0-6").verdict, StatementVerdict::not_checked);

  const StatementRow& v322 = row(c, "MQTT-3.2.2-2");
  EXPECT_EQ(v322.verdict, StatementVerdict::violated);
  EXPECT_EQ(v322.evidence->scenario, "B");
  EXPECT_EQ(v322.evidence->message, "step 4: broke MQTT-3.2.2-2");
  EXPECT_FALSE(v322.known_deviation);

  const StatementRow& s1 = row(c, "MQTT-1.5.3-1");
  EXPECT_EQ(s1.verdict, StatementVerdict::skipped);
  EXPECT_EQ(s1.reason, "requires retain; requires mqtt31");

  EXPECT_EQ(row(c, "MQTT-1.5.3-2").verdict, StatementVerdict::not_checked);

  const StatementRow& v480 = row(c, "MQTT-4.8.0-1");
  EXPECT_EQ(v480.verdict, StatementVerdict::violated);
  EXPECT_EQ(v480.evidence->scenario, "G");
  EXPECT_FALSE(v480.known_deviation) << "G's failure is not excused, so the statement is plainly violated";

  // Client obligations have no verdict but still list their scenarios.
  EXPECT_FALSE(row(c, "MQTT-4.6.0-1").verdict);
  EXPECT_EQ(row(c, "MQTT-4.6.0-1").scenarios, std::vector<std::string>{"A (f.yaml)"});
}

TEST(StatementVerdicts, hand_worked_run_5) {
  const auto scenarios = run();
  const Coverage c = coverage(scenarios, SpecVersion::v5);
  EXPECT_EQ(c.total, 200u);
  EXPECT_EQ(c.held, 1u);
  EXPECT_EQ(c.violated + c.skipped, 0u);
  EXPECT_EQ(c.not_checked, 199u);
  EXPECT_EQ(c.covered, 1u);
  EXPECT_DOUBLE_EQ(c.percent, 0.5);
  EXPECT_EQ(c.unknown_ids, std::vector<std::string>{"MQTT-9.9.9-9"});
  EXPECT_EQ(row(c, "MQTT-3.3.1-3").scenarios, std::vector<std::string>{"I (f.yaml)"});
}

TEST(StatementVerdicts, a_failed_scenario_covers_only_the_statement_it_violated) {
  // Before verdicts, coverage counted every id a failed scenario cited as checked.
  const std::vector<ScenarioResult> scenarios = {failed("B", {"MQTT-4.6.0-6", "MQTT-3.3.1-3"}, "MQTT-3.2.2-2", 4)};
  const Coverage c = coverage(scenarios, SpecVersion::v3_1_1);
  EXPECT_EQ(c.covered, 1u);
  EXPECT_EQ(row(c, "MQTT-3.3.1-3").verdict, StatementVerdict::not_checked);
}

TEST(StatementVerdicts, everything_held_is_one_hundred_percent) {
  std::vector<std::string> ids;
  for (const Statement& s : statements(SpecVersion::v5)) ids.emplace_back(s.id);
  const std::vector<ScenarioResult> scenarios = {scenario("all", "5.0", Status::passed, ids)};
  const Coverage c = coverage(scenarios, SpecVersion::v5);
  EXPECT_EQ(c.covered, 200u);
  EXPECT_EQ(c.held, 200u);
  EXPECT_DOUBLE_EQ(c.percent, 100.0);
  EXPECT_EQ(coverage(scenarios, SpecVersion::v3_1_1).covered, 0u);
}

TEST(StatementVerdicts, no_scenarios_is_zero_not_nan) {
  const Coverage c = coverage({}, SpecVersion::v3_1_1);
  EXPECT_EQ(c.covered, 0u);
  EXPECT_EQ(c.not_checked, 101u);
  EXPECT_EQ(c.percent, 0.0);
}

TEST(StatementVerdicts, run_versions_are_those_the_scenarios_used) {
  EXPECT_TRUE(run_versions({}).empty());
  const std::vector<ScenarioResult> only311 = {skipped("C", {}, "x"), scenario("D", "3.1.1", Status::error, {})};
  EXPECT_EQ(run_versions(only311), std::vector<SpecVersion>{SpecVersion::v3_1_1});
  const auto both = run();
  EXPECT_EQ(run_versions(both), (std::vector<SpecVersion>{SpecVersion::v3_1_1, SpecVersion::v5}));
}

TEST(StatementVerdicts, json_has_one_row_per_broker_observable_statement_of_the_run_versions) {
  RunReport r;
  r.scenarios = run();
  recount(r);
  const Json j = to_json(r);
  ASSERT_EQ(j.at("statements").size(), 101u + 200u);
  const Json& cov = j.at("coverage").at("3.1.1");
  EXPECT_EQ(cov.at("covered"), 4);
  EXPECT_EQ(cov.at("held"), 1);
  EXPECT_EQ(cov.at("violated"), 3);
  EXPECT_EQ(cov.at("skipped"), 1);
  EXPECT_EQ(cov.at("not_checked"), 96);
  EXPECT_EQ(cov.at("percent"), 4.0);  // 3.96 rounded to one decimal
  Json v322, s153, v432;
  for (const Json& s : j.at("statements")) {
    if (s.at("version") != "3.1.1") continue;
    if (s.at("id") == "MQTT-3.2.2-2") v322 = s;
    if (s.at("id") == "MQTT-1.5.3-1") s153 = s;
    if (s.at("id") == "MQTT-4.3.2-1") v432 = s;
  }
  EXPECT_EQ(v322.at("verdict"), "violated");
  EXPECT_EQ(v322.at("evidence"), (Json{{"scenario", "B"}, {"file", "f.yaml"}, {"step", 4},
                                       {"message", "step 4: broke MQTT-3.2.2-2"}}));
  EXPECT_EQ(v322.at("scenarios"), Json::array({"B (f.yaml)"}));
  EXPECT_EQ(s153.at("verdict"), "skipped");
  EXPECT_EQ(s153.at("reason"), "requires retain; requires mqtt31");
  EXPECT_FALSE(s153.contains("evidence"));
  EXPECT_EQ(v432.at("known_deviation").at("profile"), "broker-x");

  // A 3.1.1-only run has no 5.0 rows and no 5.0 coverage.
  RunReport only;
  only.scenarios = {scenario("A", "3.1.1", Status::passed, {"MQTT-3.3.1-3"})};
  const Json k = to_json(only);
  EXPECT_EQ(k.at("statements").size(), 101u);
  EXPECT_FALSE(k.at("coverage").contains("5"));
  for (const Json& s : k.at("statements")) EXPECT_EQ(s.at("version"), "3.1.1");
}

TEST(StatementVerdicts, junit_has_a_statements_suite_per_version) {
  RunReport r;
  r.scenarios = run();
  recount(r);
  const std::string xml = to_junit_xml(r);
  EXPECT_NE(xml.find("<testsuite name=\"statements MQTT 3.1.1\" tests=\"101\" failures=\"3\" errors=\"0\" "
                     "skipped=\"97\""),
            std::string::npos);
  EXPECT_NE(xml.find("<testsuite name=\"statements MQTT 5\" tests=\"200\" failures=\"0\" errors=\"0\" skipped=\"199\""),
            std::string::npos);
  EXPECT_EQ(count(xml, "classname=\"statements / 3.1.1\""), 101u);
  // The violated statement's testcase fails with the evidence; its type is the statement.
  EXPECT_NE(xml.find("<failure message=\"B: step 4: broke MQTT-3.2.2-2\" type=\"MQTT-3.2.2-2\">"), std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"KNOWN DEVIATION (documented quirk): F: step 2: broke MQTT-4.3.2-1\""),
            std::string::npos);
  EXPECT_NE(xml.find("<skipped message=\"skipped: requires retain; requires mqtt31\"/>"), std::string::npos);
  // Root counts: 11 scenarios + 301 statements; failures: 4 failed scenarios + 3 violated.
  EXPECT_NE(xml.find("<testsuites name=\"mqtt-harness\" tests=\"312\" failures=\"7\" errors=\"1\""), std::string::npos);
  // A scenario failure's type is its primary statement.
  EXPECT_NE(xml.find("type=\"MQTT-4.8.0-1\">"), std::string::npos);
}

TEST(StatementVerdicts, html_table_rows_carry_verdict_and_version_for_the_filter) {
  RunReport r;
  r.scenarios = run();
  recount(r);
  const std::string html = to_html(r);
  EXPECT_EQ(count(html, " data-verdict=\""), 301u);
  EXPECT_EQ(count(html, "data-verdict=\"violated\" data-version=\"3.1.1\""), 3u);
  EXPECT_EQ(count(html, "data-verdict=\"held\" data-version=\"5\""), 1u);
  EXPECT_EQ(count(html, "data-verdict=\"skipped\""), 1u);
  EXPECT_EQ(count(html, "data-verdict=\"not_checked\""), 96u + 199u);
  EXPECT_NE(html.find("<button data-st-verdict=\"violated\">violated</button>"), std::string::npos);
  EXPECT_NE(html.find("<button data-st-version=\"3.1.1\">3.1.1</button>"), std::string::npos);
  EXPECT_NE(html.find("id=\"st-3.1.1-MQTT-3.2.2-2\""), std::string::npos);
  // A 3.1.1-only run: no 5.0 rows and no version buttons.
  RunReport only;
  only.scenarios = {scenario("A", "3.1.1", Status::passed, {"MQTT-3.3.1-3"})};
  const std::string page = to_html(only);
  EXPECT_EQ(count(page, " data-verdict=\""), 101u);
  EXPECT_EQ(page.find("data-version=\"5\""), std::string::npos);
  EXPECT_EQ(page.find("data-st-version"), std::string::npos);
}

// `run --mutants-json F`: a held or violated statement is proven only where a mutant of it
// (of that version) was killed; the rest is "cited, not proven".
TEST(StatementVerdicts, with_a_mutants_report_covered_statements_split_into_proven_and_not) {
  const auto path = std::filesystem::temp_directory_path() / ("verdicts_mutants_" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << R"({"mutants": [
      {"statement": "MQTT-3.3.1-3", "protocol": "3.1.1", "verdict": "killed"},
      {"statement": "MQTT-3.3.1-4", "protocol": "3.1.1", "verdict": "survived"},
      {"statement": "MQTT-3.3.1-4", "protocol": "5", "verdict": "killed"}]})";
  std::string error;
  const auto proof = load_mutant_proof(path.string(), &error);
  ASSERT_TRUE(proof) << error;
  RunReport r;
  r.scenarios = {scenario("A", "3.1.1", Status::passed, {"MQTT-3.3.1-3", "MQTT-3.3.1-4"})};
  r.mutant_proof = *proof;
  const Coverage c = coverage(r.scenarios, SpecVersion::v3_1_1, &*r.mutant_proof);
  EXPECT_TRUE(c.has_proof);
  EXPECT_EQ(c.covered, 2u);
  EXPECT_EQ(c.proven, 1u);  // 3.3.1-4's only killed mutant is the 5.0 one
  EXPECT_EQ(c.cited_not_proven, 1u);
  const Json j = to_json(r);
  EXPECT_EQ(j.at("coverage").at("3.1.1").at("proven"), 1);
  EXPECT_EQ(j.at("coverage").at("3.1.1").at("cited_not_proven"), 1);
  EXPECT_EQ(j.at("mutants_report"), path.string());
  EXPECT_NE(to_html(r).find("cited, not proven"), std::string::npos);
  // Without a report nothing is said about proof.
  EXPECT_FALSE(coverage(r.scenarios, SpecVersion::v3_1_1).has_proof);
  RunReport plain;
  plain.scenarios = r.scenarios;
  EXPECT_FALSE(to_json(plain).at("coverage").at("3.1.1").contains("proven"));

  std::ofstream(path) << R"({"scenarios": []})";
  EXPECT_FALSE(load_mutant_proof(path.string(), &error));
  EXPECT_NE(error.find("mutants"), std::string::npos);
  std::filesystem::remove(path);
}

// run --client: the client-observable statements (actor client, both or receiver, testable;
// counts from docs/spec/*.tsv: 3.1.1 35 + 28 + 6 = 69, 5.0 49 + 70 + 12 = 131) that the
// role: server scenarios that ran cite or name in a failure; broker scenarios and skipped
// runs do not count, nor does a server-only statement.
TEST(ClientCoverage, counts_what_the_role_server_runs_cite_over_the_client_observable_statements) {
  ScenarioResult dup = scenario("resend", "3.1.1", Status::passed, {"MQTT-3.3.1-1", "MQTT-3.1.2-24"});
  dup.server_role = true;  // MQTT-3.1.2-24 (3.1.1) binds the server only: not counted
  ScenarioResult fail = failed("pubrel", {"MQTT-4.4.0-1"}, "MQTT-4.3.3-1", 3);
  fail.server_role = true;
  ScenarioResult skipped = scenario("skipped", "3.1.1", Status::skipped, {"MQTT-3.1.2-23"});
  skipped.server_role = true;
  const ScenarioResult broker = scenario("broker", "3.1.1", Status::passed, {"MQTT-2.3.1-1"});
  const std::vector<ScenarioResult> run{dup, fail, skipped, broker};
  EXPECT_EQ(client_run_versions(run), std::vector<SpecVersion>{SpecVersion::v3_1_1});
  const ClientCoverage c = client_coverage(run, SpecVersion::v3_1_1);
  EXPECT_EQ(c.total, 69u);
  EXPECT_EQ(c.cited, 3u);  // 3.3.1-1, 4.4.0-1, 4.3.3-1
  EXPECT_NEAR(c.percent, 300.0 / 69.0, 1e-9);
  std::vector<std::string> cited;
  for (std::size_t i = 0; i < c.rows.size(); ++i)
    if (c.cited_rows[i]) cited.emplace_back(c.rows[i]->id);
  EXPECT_EQ(cited, (std::vector<std::string>{"MQTT-3.3.1-1", "MQTT-4.3.3-1", "MQTT-4.4.0-1"}));
  EXPECT_EQ(client_coverage(run, SpecVersion::v5).total, 131u);
  EXPECT_EQ(client_coverage(run, SpecVersion::v5).cited, 0u);
  EXPECT_TRUE(client_run_versions(std::vector<ScenarioResult>{broker}).empty());
}
