// `mqtt-harness mutants` without its event loop (docs/mutants.md): which mutants exist
// (one per row of engine::deviation_table() and protocol version), which scenarios each
// one runs, the accepted survivors (scenarios/mutants-accepted.yaml), verdicts, the mutation score
// and the JSON / HTML reports. The command (harness/cli/cmd_mutants.cpp) runs the
// scenarios with runner::Runner against an embedded broker that has the deviation on.
#pragma once

#include <mqtt/codec.hpp>

#include <optional>
#include <span>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mqtth/engine/BrokerConfig.hpp"
#include "mqtth/engine/Deviations.hpp"
#include "mqtth/report/Report.hpp"
#include "mqtth/scenario/Scenario.hpp"

namespace mqtth::mutants {

// A wire-level mutant: fault-proxy rules (the `proxy --fault` SPECs of docs/faults.md, one
// per space-separated word) that make whatever broker sits behind the proxy break
// `statement` (docs/mutants.md "Wire-level mutants").
struct WireMutantInfo {
  std::string_view statement;  // the statement a broker behind the proxy breaks
  std::uint8_t versions;       // engine::DeviationVersions: where the id names that statement
  std::string_view name;
  std::string_view area;
  std::string_view instead;    // what the broker seems to do instead, one sentence
  std::string_view faults;     // the proxy's rules, space-separated SPECs
};
// Every wire mutant row, in the order of docs/mutants.md.
std::span<const WireMutantInfo> wire_table();

// One deviation row (or wire mutant row) under one protocol version: the broker breaks
// the row's statement for connections of that version only.
struct Mutant {
  const engine::DeviationInfo* row = nullptr;  // a deviation switch of the embedded broker, or
  const WireMutantInfo* wire = nullptr;        // rules of the fault proxy in front of any broker
  mqtt::Version version = mqtt::Version::v5;   // v3_1_1 or v5
  std::string protocol() const;                // "3.1.1" or "5"
  std::string id() const;                      // "MQTT-3.3.1-1 [5]"
  std::string_view statement() const { return row ? row->statement : wire->statement; }
  std::string_view name() const { return row ? row->name : wire->name; }
  std::string_view area() const { return row ? row->area : wire->area; }
  std::string_view instead() const { return row ? row->instead : wire->instead; }
  // The embedded broker's config: the defaults with this one deviation on (row only).
  engine::BrokerConfig broker_config() const;
  // The fault proxy's rules (wire only): the SPECs of wire->faults.
  std::vector<std::string> fault_specs() const;
};

// The deviation table as the Markdown table of docs/mutants.md (`mutants --list`); a test
// fails when the docs' copy differs.
std::string table_markdown();
// The wire mutant table as Markdown (`mutants --wire --list`).
std::string wire_table_markdown();

// Every mutant, in table order, 3.1.1 before 5 within a row.
std::vector<Mutant> all_mutants();
// Every wire mutant, likewise.
std::vector<Mutant> all_wire_mutants();
// `mutants --smoke`: a fixed CI-sized subset, one deviation per area of the suite (both
// versions where it has rows), chosen for short scenarios (no keep-alive or expiry waits).
const std::vector<engine::Deviation>& smoke_deviations();
std::vector<Mutant> smoke_mutants();
// The mutants whose statement is one of `ids` (all when empty); unknown ids are returned
// in `unknown`.
std::vector<Mutant> select_mutants(const std::vector<std::string>& ids, std::vector<std::string>* unknown);
std::vector<Mutant> select_wire_mutants(const std::vector<std::string>& ids, std::vector<std::string>* unknown);

// The scenario checks `statement`: it is in the scenario's `spec:` or a step's `spec:`
// (any_of alternatives included), for the scenario's version.
bool cites(const scenario::Scenario& s, std::string_view statement);
// Every statement the scenario cites (its `spec:` and its steps', any_of included).
std::set<std::string> cited_statements(const scenario::Scenario& s);
// The scenario runs under `version` (3.1 scenarios count as 3.1.1).
bool runs_under(const scenario::Scenario& s, mqtt::Version version);
// The broker-observable statements (docs/spec/*.tsv) that scenarios of `version` cite,
// and those of them that no mutant of that version breaks (neither a deviation switch nor
// a wire mutant): the part of the suite's coverage a mutation score says nothing about
// yet (`mutants --list-missing`).
struct CitedWithoutMutant {
  mqtt::Version version = mqtt::Version::v5;
  std::vector<std::string> cited;    // sorted
  std::vector<std::string> missing;  // sorted, a subset of cited
};
CitedWithoutMutant cited_without_mutant(const std::vector<scenario::Scenario>& scenarios, mqtt::Version version);

// Scenario files (paths relative to the scenario folder, matched as path suffixes) run
// for every applicable mutant besides the citing ones: a deviation that breaks ordinary
// traffic shows there too.
const std::vector<std::string_view>& smoke_files();
bool is_smoke(const scenario::Scenario& s);

// A surviving mutant accepted with its reason (scenarios/mutants-accepted.yaml).
struct Accepted {
  std::string statement;
  std::optional<std::string> protocol;  // nullopt: both versions
  std::string reason;
  int line = 0;
  bool matches(const Mutant& m) const;
};
struct AcceptedList {
  std::vector<Accepted> entries;
  std::optional<std::string> error;  // "FILE:LINE: what is wrong"
  const Accepted* find(const Mutant& m) const;
};
// Strict like the other loaders: unknown keys, a statement no mutant breaks, a missing
// reason or protocol other than 3.1.1 / 5 are errors naming FILE:LINE.
AcceptedList parse_accepted(std::string_view yaml, const std::string& file);
AcceptedList load_accepted(const std::string& path);

enum class Verdict { killed, survived, accepted, not_applicable, error };
std::string_view to_string(Verdict);

// A scenario that failed against the mutant, and the statement its failure named.
struct Kill {
  std::string scenario;
  std::string file;
  std::string statement;  // "" when the failure names none
  bool smoke = false;     // a smoke scenario, not one citing the statement
};

struct MutantResult {
  Mutant mutant;
  Verdict verdict = Verdict::not_applicable;
  std::vector<std::string> scenarios;  // the runs made (scenario names)
  std::vector<Kill> kills;
  std::vector<std::string> errors;     // runs that ended as errors (scenario: message)
  std::string accepted_reason;
  double duration_ms = 0;
};

// The verdict from the outcome of the runs: killed when a run failed; else error when a
// run ended in error; else accepted when listed, survived otherwise. No runs: not_applicable.
Verdict decide(const MutantResult& r, const AcceptedList& accepted);

struct Score {
  int killed = 0, survived = 0, accepted = 0, not_applicable = 0, errors = 0;
  // killed / (killed + survived + accepted): the share of applicable mutants the suite kills.
  double percent() const;
};
Score score(const std::vector<MutantResult>& results, std::optional<mqtt::Version> version = std::nullopt);

// 0 every applicable mutant killed or accepted; 1 a survivor not accepted; 2 an error.
int exit_status(const std::vector<MutantResult>& results);

report::Json to_json(const std::vector<MutantResult>& results, double duration_ms);
// One self-contained page: per-version scores and a table sortable by any column.
std::string to_html(const std::vector<MutantResult>& results, double duration_ms);

}  // namespace mqtth::mutants
