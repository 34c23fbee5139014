// What a run did with each normative statement, per version: a verdict per broker-observable
// statement and the spec coverage that follows from the verdicts (docs/reports.md
// "Statement verdicts and coverage").
//
//   held         a scenario that passed under that version cites it (`spec:`, its own or a
//                step's);
//   violated     a failed scenario's failure names it as its primary statement (also when
//                the profile lists the failure as a known deviation: `known_deviation` says so);
//   skipped      every scenario of that version citing it was skipped (`reason`: why);
//   not_checked  otherwise: nothing cites it, or only scenarios that failed on something
//                else or could not be run.
// Violated wins over held. Coverage = held + violated, over the broker-observable statements
// of the version. Only the versions the run used have verdicts (run_versions()).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mqtth/report/Report.hpp"
#include "mqtth/report/Spec.hpp"

namespace mqtth::report {

enum class StatementVerdict : unsigned char { held, violated, skipped, not_checked };
std::string_view to_string(StatementVerdict);  // "held" "violated" "skipped" "not_checked"

// The failure that violated a statement.
struct Evidence {
  std::string scenario;        // name
  std::string file;
  int step = 0;                // 1-based, 0 = not tied to a step
  std::string message;
};

struct StatementRow {
  const Statement* statement = nullptr;
  // Broker-observable statements only; the others have scenarios but no verdict.
  std::optional<StatementVerdict> verdict;
  // "name (file)" of every scenario of this version that cites it or whose failure names it.
  std::vector<std::string> scenarios;
  std::optional<Evidence> evidence;  // violated: the failure (one not excused by the profile, if any)
  // violated, and every failure naming it is a known deviation: the first one.
  std::optional<KnownDeviation> known_deviation;
  std::string reason;                // skipped: the skip reasons, "; "-separated
  // With a mutants report: held or violated, and a mutant of it was killed. nullopt
  // without one, or when the verdict is skipped / not_checked.
  std::optional<bool> proven;
};

struct Coverage {
  SpecVersion version = SpecVersion::v3_1_1;
  std::size_t held = 0, violated = 0, skipped = 0, not_checked = 0;  // broker-observable rows
  std::size_t covered = 0;   // held + violated
  std::size_t total = 0;     // broker-observable statements (101 / 200)
  // With a mutants report only: covered statements with a killed mutant, and the others.
  bool has_proof = false;
  std::size_t proven = 0, cited_not_proven = 0;
  double percent = 0;        // 100 * covered / total
  std::vector<StatementRow> rows;            // every statement of the version, file order
  std::vector<std::string> unknown_ids;      // ids cited by scenarios but not in the list
};

// The verdict of every statement of `version` given the scenarios of a run (only those
// whose protocol is `version` count).
// With `proof`, covered statements are split into proven and cited, not proven.
Coverage coverage(std::span<const ScenarioResult> scenarios, SpecVersion version, const MutantProof* proof = nullptr);

// The client side (`run --client`, docs/clients.md): which client-observable statements
// (Statement::client_observable) the run's role: server scenarios that ran (any status but
// skipped) cite or name in a failure, over all client-observable statements of the version.
struct ClientCoverage {
  SpecVersion version = SpecVersion::v3_1_1;
  std::size_t cited = 0;
  std::size_t total = 0;                 // client-observable statements (69 / 131)
  double percent = 0;                    // 100 * cited / total
  std::vector<const Statement*> rows;    // every client-observable statement, file order
  std::vector<bool> cited_rows;          // per row
};
ClientCoverage client_coverage(std::span<const ScenarioResult> scenarios, SpecVersion version);
// The versions of the role: server scenarios that ran, 3.1.1 first (empty: no client run).
std::vector<SpecVersion> client_run_versions(std::span<const ScenarioResult> scenarios);

// The versions the run's scenarios used (any status), 3.1.1 first.
std::vector<SpecVersion> run_versions(std::span<const ScenarioResult> scenarios);

}  // namespace mqtth::report
