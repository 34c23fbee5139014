// The deviation table and the pieces of `mqtt-harness mutants` that need no broker: which
// mutants exist, which scenarios cite a statement, the accepted survivors file, verdicts,
// score and exit status (docs/mutants.md).
#include "mqtth/mutants/Mutants.hpp"

#include <gtest/gtest.h>

#include "mqtth/fault/FaultRule.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "mqtth/report/Spec.hpp"
#include "mqtth/scenario/Loader.hpp"

using namespace mqtth;
using mqtt::Version;

namespace {

mutants::Mutant mutant(std::string_view statement, Version v) {
  for (const auto& m : mutants::all_mutants())
    if (m.row->statement == statement && m.version == v) return m;
  throw std::runtime_error("no mutant");
}

}  // namespace

namespace {
// A row (a deviation switch's or a wire mutant's) names a broker-observable statement of
// every version it applies to, so its mutant always breaks something a scenario can check.
template <class Row>
void expect_broker_observable_statement(const Row& row) {
  ASSERT_NE(row.versions & engine::kBothVersions, 0) << row.statement;
  for (auto [bit, version] : {std::pair{engine::kV311, report::SpecVersion::v3_1_1}, {engine::kV5, report::SpecVersion::v5}}) {
    if (!(row.versions & bit)) continue;
    const auto* statement = report::find_statement(version, row.statement);
    ASSERT_NE(statement, nullptr) << row.statement << " [" << report::to_string(version) << "]";
    EXPECT_TRUE(statement->broker_observable()) << row.statement;
  }
  EXPECT_FALSE(row.instead.empty()) << row.statement;
  EXPECT_FALSE(row.area.empty()) << row.statement;
}
}  // namespace

TEST(DeviationTable, every_row_names_a_broker_observable_statement_of_its_versions) {
  for (const auto& row : engine::deviation_table()) expect_broker_observable_statement(row);
}

TEST(DeviationTable, every_deviation_has_a_row_and_a_statement_one_row_per_version) {
  std::set<engine::Deviation> seen;
  std::set<std::pair<std::string_view, int>> ids;
  for (const auto& row : engine::deviation_table()) {
    seen.insert(row.deviation);
    for (int bit : {1, 2}) {
      if (row.versions & bit) {
        EXPECT_TRUE(ids.insert({row.statement, bit}).second) << row.statement << " twice";
      }
    }
  }
  EXPECT_EQ(seen.size(), engine::kDeviationCount);
}

TEST(DeviationTable, lookup_by_id_finds_each_version_row) {
  const auto rows = engine::deviations_for("MQTT-3.1.2-24");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(engine::deviations_for("MQTT-0.0.0-0").empty());
}

TEST(Mutants, one_per_row_and_version_with_only_that_version_deviating) {
  const auto all = mutants::all_mutants();
  std::size_t expected = 0;
  for (const auto& row : engine::deviation_table()) expected += row.versions == engine::kBothVersions ? 2 : 1;
  EXPECT_EQ(all.size(), expected);
  const auto m = mutant("MQTT-3.3.1-1", Version::v3_1_1);
  EXPECT_EQ(m.id(), "MQTT-3.3.1-1 [3.1.1]");
  const auto config = m.broker_config();
  EXPECT_TRUE(config.deviate.on(engine::Deviation::resend_without_dup, Version::v3_1_1));
  EXPECT_FALSE(config.deviate.on(engine::Deviation::resend_without_dup, Version::v5));
}

// A deviation shared by the rows of several statements is on only for the row enabled.
TEST(Mutants, a_per_statement_switch_is_on_for_its_own_statement_only) {
  const auto config = mutant("MQTT-3.6.1-1", Version::v5).broker_config();
  EXPECT_TRUE(config.deviate.on(engine::Deviation::bad_packet_kept_open, "MQTT-3.6.1-1", Version::v5));
  EXPECT_FALSE(config.deviate.on(engine::Deviation::bad_packet_kept_open, "MQTT-3.8.1-1", Version::v5));
  EXPECT_FALSE(config.deviate.on(engine::Deviation::bad_packet_kept_open, "MQTT-3.6.1-1", Version::v3_1_1));
}

// --list-missing: the broker-observable statements a version's scenarios cite, and those
// no mutant of that version breaks.
TEST(Mutants, cited_without_mutant_names_cited_statements_no_row_of_the_version_breaks) {
  const char* text = R"(name: x
protocols: [3.1.1, 5]
spec: {"3.1.1": [MQTT-3.3.1-1, MQTT-3.3.2-3], "5": [MQTT-3.3.1-1, MQTT-3.8.3-3]}
clients: {c: {}}
steps:
  - connect: c
)";
  const auto loaded = scenario::load_string(text, "x.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  const auto v311 = mutants::cited_without_mutant(loaded.scenarios, Version::v3_1_1);
  EXPECT_EQ(v311.cited, (std::vector<std::string>{"MQTT-3.3.1-1", "MQTT-3.3.2-3"}));
  EXPECT_EQ(v311.missing, std::vector<std::string>{"MQTT-3.3.2-3"});
  // MQTT-3.8.3-3 (No Local) has a 5.0 row only.
  const auto v5 = mutants::cited_without_mutant(loaded.scenarios, Version::v5);
  EXPECT_EQ(v5.cited, (std::vector<std::string>{"MQTT-3.3.1-1", "MQTT-3.8.3-3"}));
  EXPECT_TRUE(v5.missing.empty());
}

TEST(Mutants, smoke_set_is_every_version_row_of_its_deviations) {
  const auto smoke = mutants::smoke_mutants();
  std::set<engine::Deviation> seen;
  for (const auto& m : smoke) seen.insert(m.row->deviation);
  EXPECT_EQ(seen.size(), mutants::smoke_deviations().size());  // each has a row
  std::size_t expected = 0;
  for (const auto& m : mutants::all_mutants())
    expected += std::count(mutants::smoke_deviations().begin(), mutants::smoke_deviations().end(), m.row->deviation);
  EXPECT_EQ(smoke.size(), expected);
  EXPECT_LT(smoke.size(), mutants::all_mutants().size() / 3);
}

TEST(Mutants, only_selects_by_statement_and_reports_unknown_ids) {
  std::vector<std::string> unknown;
  const auto picked = mutants::select_mutants({"MQTT-3.1.2-24", "MQTT-1.2.3-4"}, &unknown);
  ASSERT_EQ(picked.size(), 2u);
  EXPECT_EQ(picked[0].row->deviation, engine::Deviation::keep_alive_doubled);
  EXPECT_EQ(picked[1].row->deviation, engine::Deviation::maximum_packet_size_ignored);
  EXPECT_EQ(unknown, std::vector<std::string>{"MQTT-1.2.3-4"});
}

TEST(Mutants, a_scenario_cites_by_its_spec_or_a_step_spec_inside_any_of) {
  const char* text = R"(name: x
protocols: [3.1.1, 5]
spec: {"3.1.1": [MQTT-3.3.1-9], "5": [MQTT-3.3.1-12]}
clients: {c: {}}
steps:
  - connect: c
  - any_of:
      within: 1s
      branches:
        - steps:
            - expect_disconnect: {client: c, spec: {"3.1.1": MQTT-3.3.1-4, "5": MQTT-4.13.1-1}}
        - steps:
            - expect_connack: {client: c, reason_code: 0}
)";
  const auto loaded = scenario::load_string(text, "x.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  ASSERT_EQ(loaded.scenarios.size(), 2u);
  const auto& v311 = loaded.scenarios[0];
  const auto& v5 = loaded.scenarios[1];
  EXPECT_TRUE(mutants::cites(v311, "MQTT-3.3.1-9"));
  EXPECT_TRUE(mutants::cites(v311, "MQTT-3.3.1-4"));
  EXPECT_FALSE(mutants::cites(v311, "MQTT-4.13.1-1"));
  EXPECT_TRUE(mutants::cites(v5, "MQTT-4.13.1-1"));
  EXPECT_FALSE(mutants::cites(v5, "MQTT-3.3.1-9"));
  EXPECT_TRUE(mutants::runs_under(v311, Version::v3_1_1));
  EXPECT_FALSE(mutants::runs_under(v311, Version::v5));
}

TEST(AcceptedSurvivors, parse_entries_with_and_without_protocol) {
  const auto list = mutants::parse_accepted(
      "accepted:\n"
      "  - {statement: MQTT-3.1.2-24, protocol: \"3.1.1\", reason: only a longer run sees it}\n"
      "  - statement: MQTT-3.3.1-1\n"
      "    reason: equivalent\n",
      "a.yaml");
  ASSERT_FALSE(list.error) << *list.error;
  ASSERT_EQ(list.entries.size(), 2u);
  EXPECT_NE(list.find(mutant("MQTT-3.1.2-24", Version::v3_1_1)), nullptr);
  EXPECT_EQ(list.find(mutant("MQTT-3.1.2-24", Version::v5)), nullptr);  // another statement in 5.0
  EXPECT_NE(list.find(mutant("MQTT-3.3.1-1", Version::v5)), nullptr);
  EXPECT_EQ(list.entries[1].line, 3);
}

TEST(AcceptedSurvivors, mistakes_name_file_and_line) {
  auto error_of = [](const std::string& yaml) {
    const auto list = mutants::parse_accepted(yaml, "a.yaml");
    return list.error.value_or("no error");
  };
  EXPECT_EQ(error_of("accepted:\n  - {statement: MQTT-3.3.1-1}\n").rfind("a.yaml:2: ", 0), 0u);
  EXPECT_NE(error_of("accepted:\n  - {statement: MQTT-3.3.1-1}\n").find("reason"), std::string::npos);
  EXPECT_NE(error_of("accepted:\n  - {statement: MQTT-9.9.9-9, reason: r}\n").find("MQTT-9.9.9-9"), std::string::npos);
  EXPECT_NE(error_of("accepted:\n  - {statement: MQTT-3.8.3-3, protocol: \"3.1.1\", reason: r}\n").find("under 3.1.1"),
            std::string::npos);
  EXPECT_EQ(error_of("accepted:\n\n  - {statment: MQTT-3.3.1-1, reason: r}\n").rfind("a.yaml:3: ", 0), 0u);
  EXPECT_EQ(error_of("survivors: []\n").rfind("a.yaml:1: ", 0), 0u);
  EXPECT_EQ(error_of("accepted: []\n"), "no error");
}

TEST(MutantVerdicts, killed_survived_accepted_not_applicable_and_the_exit_status) {
  mutants::AcceptedList accepted;
  accepted.entries.push_back({"MQTT-3.3.1-1", std::string("5"), "equivalent", 1});
  mutants::MutantResult killed;
  killed.mutant = mutant("MQTT-3.3.1-1", Version::v3_1_1);
  killed.scenarios = {"a"};
  killed.kills.push_back({"a", "a.yaml", "MQTT-3.3.1-1", false});
  mutants::MutantResult listed;
  listed.mutant = mutant("MQTT-3.3.1-1", Version::v5);
  listed.scenarios = {"a"};
  mutants::MutantResult survived;
  survived.mutant = mutant("MQTT-4.7.2-1", Version::v5);
  survived.scenarios = {"b"};
  mutants::MutantResult none;
  none.mutant = mutant("MQTT-4.7.2-1", Version::v3_1_1);
  EXPECT_EQ(mutants::decide(killed, accepted), mutants::Verdict::killed);
  EXPECT_EQ(mutants::decide(listed, accepted), mutants::Verdict::accepted);
  EXPECT_EQ(mutants::decide(survived, accepted), mutants::Verdict::survived);
  EXPECT_EQ(mutants::decide(none, accepted), mutants::Verdict::not_applicable);

  std::vector<mutants::MutantResult> results = {killed, listed, none};
  for (auto& r : results) r.verdict = mutants::decide(r, accepted);
  EXPECT_EQ(mutants::exit_status(results), 0);
  const auto s = mutants::score(results);
  EXPECT_EQ(s.killed, 1);
  EXPECT_EQ(s.accepted, 1);
  EXPECT_EQ(s.not_applicable, 1);
  EXPECT_DOUBLE_EQ(s.percent(), 50.0);
  survived.verdict = mutants::decide(survived, accepted);
  results.push_back(survived);
  EXPECT_EQ(mutants::exit_status(results), 1);
  EXPECT_EQ(mutants::score(results, Version::v5).survived, 1);
  const auto j = mutants::to_json(results, 1.0);
  EXPECT_EQ(j["mutants"].size(), 4u);
  EXPECT_EQ(j["mutants"][3]["verdict"], "survived");
  EXPECT_EQ(j["by_protocol"]["3.1.1"]["killed"], 1);
  EXPECT_NE(mutants::to_html(results, 1.0).find("MQTT-4.7.2-1"), std::string::npos);
}

// docs/mutants.md holds the table between two markers, as `mutants --list` prints it.
// Each wire mutant names a broker-observable statement of its versions, and its rules
// are SPECs the proxy takes.
TEST(WireMutants, every_row_names_a_broker_observable_statement_and_rules_that_parse) {
  ASSERT_FALSE(mutants::wire_table().empty());
  for (const auto& row : mutants::wire_table()) {
    expect_broker_observable_statement(row);
    const auto m = mutants::Mutant{nullptr, &row, row.versions & engine::kV5 ? Version::v5 : Version::v3_1_1};
    ASSERT_FALSE(m.fault_specs().empty()) << row.name;
    for (const auto& spec : m.fault_specs()) {
      const auto parsed = fault::parse_fault_spec(spec);
      EXPECT_TRUE(parsed.rule.has_value()) << row.name << ": " << parsed.error;
    }
  }
}

TEST(WireMutants, one_per_row_and_version_selected_by_statement) {
  std::size_t expected = 0;
  for (const auto& row : mutants::wire_table()) expected += row.versions == engine::kBothVersions ? 2 : 1;
  EXPECT_EQ(mutants::all_wire_mutants().size(), expected);
  std::vector<std::string> unknown;
  const auto picked = mutants::select_wire_mutants({"MQTT-3.3.1-1", "MQTT-9.9.9-9"}, &unknown);
  ASSERT_EQ(picked.size(), 2u);
  EXPECT_EQ(picked[0].name(), "dup_cleared");
  EXPECT_EQ(picked[0].version, Version::v3_1_1);
  EXPECT_EQ(picked[1].version, Version::v5);
  EXPECT_EQ(picked[0].row, nullptr);  // no deviation switch: the broker behind the proxy is plain
  EXPECT_EQ(unknown, std::vector<std::string>{"MQTT-9.9.9-9"});
}

// MQTT-3.9.3-2 (SUBACK codes) has a wire mutant and no deviation switch: it has a mutant.
TEST(WireMutants, a_statement_only_a_wire_mutant_breaks_is_not_missing) {
  ASSERT_TRUE(engine::deviations_for("MQTT-3.9.3-2").empty());
  const auto loaded = scenario::load_string(R"(name: x
protocols: [3.1.1]
spec: [MQTT-3.9.3-2, MQTT-3.3.2-3]
clients: {c: {}}
steps:
  - connect: c
)", "x.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  EXPECT_EQ(mutants::cited_without_mutant(loaded.scenarios, Version::v3_1_1).missing,
            std::vector<std::string>{"MQTT-3.3.2-3"});
}

namespace {
// The text of docs/mutants.md between a begin and an end marker: a table the code prints.
std::string docs_block(const std::string& begin, const std::string& end) {
  std::ifstream in(MQTTH_SOURCE_DIR "/docs/mutants.md");
  EXPECT_TRUE(in) << "docs/mutants.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const auto from = doc.find(begin);
  const auto to = doc.find(end);
  EXPECT_NE(from, std::string::npos) << begin;
  EXPECT_NE(to, std::string::npos) << end;
  if (from == std::string::npos || to == std::string::npos) return {};
  return doc.substr(from + begin.size(), to - from - begin.size());
}
}  // namespace

TEST(WireMutants, docs_hold_the_table_as_the_code_has_it) {
  EXPECT_EQ(docs_block("<!-- wire-table:begin (mqtt-harness mutants --wire --list) -->\n", "<!-- wire-table:end -->"),
            mutants::wire_table_markdown())
      << "regenerate it: build/default/harness/cli/mqtt-harness mutants --wire --list";
}

TEST(DeviationTable, docs_hold_the_table_as_the_code_has_it) {
  EXPECT_EQ(docs_block("<!-- deviation-table:begin (mqtt-harness mutants --list) -->\n", "<!-- deviation-table:end -->"),
            mutants::table_markdown())
      << "regenerate it: build/default/harness/cli/mqtt-harness mutants --list";
}
