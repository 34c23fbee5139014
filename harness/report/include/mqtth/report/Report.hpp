// Run-result model and its writers: JSON (docs/architecture.md "JSON report"), JUnit XML (the
// Jenkins junit-10.xsd shape, shipped as harness/report/junit-10.xsd) and one
// self-contained HTML page (inline CSS/JS, no network) with the spec coverage table.
//
// Pure C++20, no Qt. The runner fills a RunReport; the CLI calls the writers. All writers
// escape every string they embed (names, topics, payloads, messages may hold < & " ' and
// control characters). docs/reports.md documents every key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mqtth/ledger/Ledger.hpp"

namespace mqtth::report {

using Json = nlohmann::ordered_json;

enum class Status : std::uint8_t { passed, failed, skipped, error };
std::string_view to_string(Status);  // "passed" "failed" "skipped" "error"
std::optional<Status> parse_status(std::string_view);

enum class Direction : std::uint8_t { to_broker, from_broker };
std::string_view to_string(Direction);  // "to_broker" "from_broker"
std::optional<Direction> parse_direction(std::string_view);

// One packet seen by a harness client.
struct PacketRecord {
  std::string client;          // scenario client name
  Direction direction = Direction::to_broker;
  double time_ms = 0;          // since the scenario started
  std::string type;            // "CONNECT" ... "AUTH", or "MALFORMED" / "RAW"
  Json decoded;                // decode JSON (docs/decode-json.md), null when not decodable
  std::string hex;             // raw bytes, lowercase hex without spaces (may be truncated)
};

struct StepResult {
  int index = 0;               // 1-based position in `steps`
  int line = 0;                // line in the scenario file (0 = unknown)
  std::string kind;            // step kind: "connect", "publish", "expect_delivery", ...
  std::string summary;         // one-line human description
  double duration_ms = 0;
  Status status = Status::passed;  // skipped = not reached
  std::string message;         // failure/error text, empty otherwise
};

// Something that went wrong after a scenario's first deviation (docs/reports.md "Root
// cause"): a later check that failed, or a later deviation. It is listed under the failure,
// never reported as a failure of its own.
struct Consequence {
  int step = 0;                // 1-based step index (0 = not tied to a step)
  int line = 0;
  std::string message;
  std::string statement;       // what it would have cited on its own ("" = none)
};

// What went wrong with a broker process the runner started (`run --spawn`, docs/runner.md
// "The runner owns the broker"): it crashed, printed a sanitizer report, leaked (a
// LeakSanitizer report as it stopped) or stalled. Not a spec statement: the failure it is
// part of names none.
struct BrokerFailure {
  // "crashed": it exited while it should have run (detail in `exit`); "sanitizer": it
  // printed a sanitizer or assertion report and still runs; "leaked": a LeakSanitizer
  // report when it was stopped; "stalled": it answered no CONNECT within the liveness
  // check's limit, or did not exit within the grace after SIGTERM; "grew": its RSS grew
  // beyond run --rss-growth-limit during the scenario (`report` says by how much);
  // "stall", "qos1_lost", "qos1_duplicate": run --stall-threshold's bystander client saw it
  // (`report` says what).
  std::string kind;
  std::string exit;            // "signal SIGSEGV", "exit 1", "signal SIGKILL"; empty while it runs
  std::string sanitizer;       // the report's kind ("AddressSanitizer", "assertion", ...), if any
  std::string report;          // the report: header, first stack, SUMMARY line (bounded)
  std::string output_tail;     // the last lines the broker printed
};

// Why a scenario failed: its FIRST deviation, naming exactly one statement.
struct Failure {
  int step = 0;                // 1-based step index (0 = not tied to a step)
  int line = 0;                // scenario file line (0 = unknown)
  std::string message;
  std::string expected;        // optional detail
  std::string actual;          // optional detail
  // The one primary statement the broker broke ("MQTT-3.2.2-2"), an id of the scenario's
  // protocol version (docs/spec/*.tsv). Empty when the failure is not a spec violation or
  // names none: then `no_statement` says why ("the harness's own timeout", "scenario
  // error", "no statement: ...").
  std::string statement;
  std::string no_statement;
  std::vector<std::string> see_also;  // further statements broken by the same act
  std::vector<Consequence> consequences;  // what went wrong after it, in order
  // Set when the spawned broker crashed, leaked or stalled during (or right after) the
  // scenario: then that is the failure, and the scenario's own failure a consequence.
  std::optional<BrokerFailure> broker;
  // The last packets before the failure, all clients merged in time order (each names its
  // client).
  std::vector<PacketRecord> last_packets;
};

// A failure the broker profile lists as a known deviation (docs/runner.md): the scenario
// stays failed; the exit status ignores it.
struct KnownDeviation {
  std::string statement;       // the profile entry's statement (or "*")
  std::string reason;
  std::string profile;         // the profile's name
};

// One run of a fault-point exploration (`explore: cut_points`, docs/faults.md): the
// explored client's link was cut after the nth packet of `packet` travelling `direction`.
struct CutPoint {
  std::string client;          // the explored client (scenario name)
  std::string direction;       // "to_broker" or "to_client"
  std::string packet;          // "PUBREC" ...
  int nth = 0;                 // 1-based, counted over the whole baseline run
  bool fired = false;          // the cut happened (false: this run never reached that packet)
  std::string verdict;         // "held", "violated" or "incomplete" (docs/reports.md)
  std::uint64_t lost = 0;      // summed over the run's expect_delivery rows
  std::uint64_t duplicated = 0;
  double duration_ms = 0;
  std::string message;         // violated/incomplete: why; empty when held
  // Cut runs that did not hold keep what is needed to debug them: the primary statement of
  // the run's failure, its packet trace, and the pcap files it wrote (with --pcap). Empty
  // for runs that held.
  std::string statement;
  std::vector<PacketRecord> packets;
  std::vector<std::string> pcap;  // file paths
};

struct ScenarioResult {
  std::string name;
  std::string file;
  std::string protocol;        // "3.1.1" or "5"
  bool server_role = false;    // a `role: server` scenario: the harness played the broker for a client under test
  Status status = Status::passed;
  double duration_ms = 0;
  // Statement ids the scenario checks ("MQTT-4.3.3-1") under `protocol`: its `spec:` list
  // and its steps' `spec:` ids.
  std::vector<std::string> spec;
  std::string skip_reason;             // status == skipped
  std::optional<Failure> failure;      // status == failed or error
  std::optional<KnownDeviation> known_deviation;  // status == failed, excused by the profile
  std::vector<StepResult> steps;
  std::vector<PacketRecord> packets;   // full trace, all clients, in time order
  std::vector<ledger::StreamResult> deliveries;
  std::vector<ledger::ForeignCounts> foreign;  // only rows with a non-zero count are written
  std::vector<CutPoint> exploration;   // `explore: cut_points`: one row per cut run (JSON key only when non-empty)
};

struct Summary {
  int passed = 0, failed = 0, skipped = 0, errors = 0;
  double duration_ms = 0;
};

// The statements whose mutant the embedded broker's mutants run killed (`mqtt-harness
// mutants --json F`, docs/mutants.md), per version: `run --mutants-json F` reads it, and
// the coverage in the reports counts a held or violated statement as *proven* only when
// it is here; the others are "cited, not proven" (docs/reports.md).
struct MutantProof {
  std::string source;                     // the file it was read from
  std::vector<std::string> killed_v3_1_1;  // sorted statement ids
  std::vector<std::string> killed_v5;
  bool proven(bool v5, std::string_view id) const;
};
// Reads a `mutants --json` report; nullopt and `error` ("FILE: why") when it is not one.
std::optional<MutantProof> load_mutant_proof(const std::string& path, std::string* error);

struct RunReport {
  Summary summary;
  std::vector<ScenarioResult> scenarios;
  // Optional context, written when non-empty.
  std::string harness_version;
  std::string broker;          // "embedded" or "host:port"
  std::string started_at;      // ISO 8601 UTC
  std::optional<std::uint64_t> seed;
  // `run --spawn`: what went wrong with the broker that belongs to no scenario (its
  // LeakSanitizer report when the run stopped it at the end).
  std::optional<BrokerFailure> broker_failure;
  std::optional<MutantProof> mutant_proof;  // `run --mutants-json F`
};

// Counts passed/failed/skipped/errors from the scenarios (duration is left as is).
void recount(RunReport& report);

// A failure as one console block (the `run` progress output): the message with its
// statement, the consequences, and the last packets in time order, one line each with the
// client's name; long packet lines are cut at `width` characters (never inside a UTF-8
// sequence), saying how much was left out. Every line starts with `indent`.
std::string console_failure(const ScenarioResult&, std::string_view indent, std::size_t width = 200);
// "MQTT-3.2.2-2" or "no statement (<why>)": how a failure's statement is shown.
std::string statement_label(const Failure&);

// ---- JSON -----------------------------------------------------------------------------
Json to_json(const RunReport&);
Json to_json(const ScenarioResult&);
Json to_json(const ledger::StreamResult&);
// Serialises JSON without ever throwing: invalid UTF-8 in any string (a broker's bytes, a
// scenario name) becomes U+FFFD instead of nlohmann's type_error 316. Use this, not dump().
std::string dump_json(const Json&, int indent = 2);
// Reads a report written by to_json back (for `report` tooling and tests). On a missing or
// mistyped key returns nullopt and sets `error` to the JSON path, e.g. "scenarios[2].status".
std::optional<RunReport> from_json(const Json&, std::string* error = nullptr);

// ---- JUnit XML ------------------------------------------------------------------------
// <testsuites> with one <testsuite> per scenario file and one <testcase> per scenario x
// protocol: classname = "<file> / <protocol>", name = scenario name. failed -> <failure>,
// error -> <error>, skipped -> <skipped message=reason>. The step log goes to <system-out>.
// `suite_name` is the name attribute of <testsuites>.
std::string to_junit_xml(const RunReport&, std::string_view suite_name = "mqtt-harness");

// ---- HTML -----------------------------------------------------------------------------
// One self-contained page: summary, spec coverage per version, one collapsible section
// per scenario (steps with timings, failure, delivery table, packet trace).
std::string to_html(const RunReport&, std::string_view title = "mqtt-harness report");
// The page's inline CSS, for other self-contained pages that should look the same (the live
// fuzzer's findings.html, docs/netfuzz.md).
std::string_view html_style();

// ---- Escaping (exposed for tests) -----------------------------------------------------
// XML/HTML text and attribute escaping: & < > " ' and control characters other than
// tab/newline/carriage return (replaced by U+FFFD, XML 1.0 cannot carry them); invalid
// UTF-8 sequences are replaced by U+FFFD.
std::string escape_xml(std::string_view);
std::string escape_html(std::string_view);

// ---- Files ----------------------------------------------------------------------------
// Writes `content` to `path` (creating parent directories). Returns an empty string on
// success, otherwise a message naming the path and the reason.
std::string write_file(const std::string& path, std::string_view content);

}  // namespace mqtth::report
