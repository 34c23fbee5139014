// Statement verdicts and spec coverage of a run (Verdicts.hpp, docs/reports.md).
#include "mqtth/report/Verdicts.hpp"

#include <algorithm>
#include <fstream>
#include <set>

namespace mqtth::report {

std::string_view to_string(StatementVerdict v) {
  switch (v) {
    case StatementVerdict::held: return "held";
    case StatementVerdict::violated: return "violated";
    case StatementVerdict::skipped: return "skipped";
    case StatementVerdict::not_checked: return "not_checked";
  }
  return "not_checked";
}

namespace {

bool ran_in_server_role(const ScenarioResult& s) { return s.server_role && s.status != Status::skipped; }

// The versions of the scenarios `keep` accepts, 3.1.1 first.
template <class Keep>
std::vector<SpecVersion> versions_where(std::span<const ScenarioResult> scenarios, Keep keep) {
  bool v311 = false, v5 = false;
  for (const ScenarioResult& s : scenarios) {
    if (!keep(s)) continue;
    const auto v = spec_version_for_protocol(s.protocol);
    v311 = v311 || v == SpecVersion::v3_1_1;
    v5 = v5 || v == SpecVersion::v5;
  }
  std::vector<SpecVersion> out;
  if (v311) out.push_back(SpecVersion::v3_1_1);
  if (v5) out.push_back(SpecVersion::v5);
  return out;
}

}  // namespace

std::vector<SpecVersion> run_versions(std::span<const ScenarioResult> scenarios) {
  return versions_where(scenarios, [](const ScenarioResult&) { return true; });
}

std::vector<SpecVersion> client_run_versions(std::span<const ScenarioResult> scenarios) {
  return versions_where(scenarios, ran_in_server_role);
}

namespace {

// What the scenarios of one version did with one statement, before the verdict.
struct Tally {
  bool passed = false;                 // a passing scenario cites it
  bool cited_by_unskipped = false;     // a scenario that was not skipped cites it
  std::vector<std::string> skip_reasons;
  std::vector<const ScenarioResult*> violations;  // failures whose primary statement it is
};

void add_unique(std::vector<std::string>& list, const std::string& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

}  // namespace

Coverage coverage(std::span<const ScenarioResult> scenarios, SpecVersion version, const MutantProof* proof) {
  const auto table = statements(version);
  Coverage c;
  c.version = version;
  c.rows.resize(table.size());
  std::vector<Tally> tally(table.size());
  for (std::size_t i = 0; i < table.size(); ++i) c.rows[i].statement = &table[i];
  auto index_of = [&](std::string_view id) -> std::optional<std::size_t> {
    const Statement* st = find_statement(version, id);
    if (!st) return std::nullopt;
    return static_cast<std::size_t>(st - table.data());
  };
  std::set<std::string> unknown;
  for (const ScenarioResult& s : scenarios) {
    if (spec_version_for_protocol(s.protocol) != version) continue;
    const std::string label = s.name + " (" + s.file + ")";
    for (const std::string& id : s.spec) {
      const auto i = index_of(id);
      if (!i) {
        unknown.insert(id);
        continue;
      }
      add_unique(c.rows[*i].scenarios, label);
      Tally& t = tally[*i];
      if (s.status == Status::passed) t.passed = true;
      if (s.status == Status::skipped) add_unique(t.skip_reasons, s.skip_reason);
      else t.cited_by_unskipped = true;
    }
    if (s.status == Status::failed && s.failure && !s.failure->statement.empty()) {
      const auto i = index_of(s.failure->statement);
      if (!i) {
        unknown.insert(s.failure->statement);
        continue;
      }
      add_unique(c.rows[*i].scenarios, label);
      tally[*i].violations.push_back(&s);
      tally[*i].cited_by_unskipped = true;
    }
  }
  for (std::size_t i = 0; i < table.size(); ++i) {
    StatementRow& row = c.rows[i];
    const Tally& t = tally[i];
    if (!row.statement->broker_observable()) continue;
    ++c.total;
    if (!t.violations.empty()) {
      row.verdict = StatementVerdict::violated;
      // The evidence is a failure the profile does not excuse, when there is one.
      const auto unexcused = std::find_if(t.violations.begin(), t.violations.end(),
                                          [](const ScenarioResult* s) { return !s->known_deviation; });
      const ScenarioResult& s = unexcused != t.violations.end() ? **unexcused : *t.violations.front();
      row.evidence = Evidence{s.name, s.file, s.failure->step, s.failure->message};
      if (unexcused == t.violations.end()) row.known_deviation = s.known_deviation;
      ++c.violated;
    } else if (t.passed) {
      row.verdict = StatementVerdict::held;
      ++c.held;
    } else if (!t.skip_reasons.empty() && !t.cited_by_unskipped) {
      row.verdict = StatementVerdict::skipped;
      for (const std::string& why : t.skip_reasons) row.reason += (row.reason.empty() ? "" : "; ") + why;
      ++c.skipped;
    } else {
      row.verdict = StatementVerdict::not_checked;
      ++c.not_checked;
    }
  }
  c.covered = c.held + c.violated;
  if (proof) {
    c.has_proof = true;
    for (StatementRow& row : c.rows) {
      if (row.verdict != StatementVerdict::held && row.verdict != StatementVerdict::violated) continue;
      row.proven = proof->proven(version == SpecVersion::v5, row.statement->id);
      ++(*row.proven ? c.proven : c.cited_not_proven);
    }
  }
  c.percent = c.total ? 100.0 * static_cast<double>(c.covered) / static_cast<double>(c.total) : 0.0;
  c.unknown_ids.assign(unknown.begin(), unknown.end());
  return c;
}

}  // namespace mqtth::report

namespace mqtth::report {

bool MutantProof::proven(bool v5, std::string_view id) const {
  const auto& killed = v5 ? killed_v5 : killed_v3_1_1;
  return std::binary_search(killed.begin(), killed.end(), id);
}

std::optional<MutantProof> load_mutant_proof(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot read the mutants report";
    return std::nullopt;
  }
  const Json j = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("mutants") || !j["mutants"].is_array()) {
    *error = path + ": not a `mqtt-harness mutants --json` report (no \"mutants\" list)";
    return std::nullopt;
  }
  MutantProof proof;
  proof.source = path;
  for (const Json& m : j["mutants"]) {
    if (!m.is_object() || !m.value("statement", Json()).is_string() || !m.value("protocol", Json()).is_string() ||
        !m.value("verdict", Json()).is_string()) {
      *error = path + ": a mutant without statement, protocol and verdict";
      return std::nullopt;
    }
    if (m["verdict"] != "killed") continue;
    (m["protocol"] == "5" ? proof.killed_v5 : proof.killed_v3_1_1).push_back(m["statement"].get<std::string>());
  }
  for (auto* list : {&proof.killed_v3_1_1, &proof.killed_v5}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  return proof;
}

ClientCoverage client_coverage(std::span<const ScenarioResult> scenarios, SpecVersion version) {
  ClientCoverage c;
  c.version = version;
  std::set<std::string_view> cited;
  for (const ScenarioResult& s : scenarios) {
    if (!ran_in_server_role(s) || spec_version_for_protocol(s.protocol) != version) continue;
    for (const std::string& id : s.spec)
      if (const Statement* st = find_statement(version, id)) cited.insert(st->id);
    if (s.failure && !s.failure->statement.empty())
      if (const Statement* st = find_statement(version, s.failure->statement)) cited.insert(st->id);
  }
  for (const Statement& st : statements(version)) {
    if (!st.client_observable()) continue;
    c.rows.push_back(&st);
    c.cited_rows.push_back(cited.contains(st.id));
    ++c.total;
    if (c.cited_rows.back()) ++c.cited;
  }
  c.percent = c.total ? 100.0 * static_cast<double>(c.cited) / static_cast<double>(c.total) : 0.0;
  return c;
}

}  // namespace mqtth::report
