// The scenario runner: executes loaded scenarios against the embedded broker (a fresh
// in-process BrokerServer per scenario) or a broker given by host:port, on ONE Qt event
// loop with up to `jobs` scenario state machines at once. Nothing sleeps: every step
// reacts to client events and arms a deadline timer (docs/runner.md).
//
// Needs a QCoreApplication; run() spins its own QEventLoop until every scenario ended.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mqtth/report/Report.hpp"
#include "mqtth/runner/Options.hpp"
#include "mqtth/runner/Profile.hpp"
#include "mqtth/scenario/Scenario.hpp"

namespace mqtth::runner {

struct RunSettings {
  std::optional<Endpoint> broker;  // nullopt: embedded broker per scenario
  Profile profile;                 // features and known deviations
  std::uint64_t seed = 0;
  unsigned jobs = 1;
  std::string prefix;              // client id / topic prefix (only used with `broker`)
  std::string pcap_dir;            // non-empty: one pcap per client connection (run --pcap)
  bool explore_all = false;        // --explore cut_points: every scenario as if `explore: cut_points`
  unsigned explore_max_runs = 60;  // default bound on cut runs per scenario (`max_runs:` wins)
  // Exploration progress lines (stderr in the CLI); unset: silent.
  std::function<void(const std::string&)> on_progress;
  // Called on the event loop thread as each scenario ends (progress output).
  std::function<void(const report::ScenarioResult&, const std::optional<KnownDeviation>&)> on_finished;
};

// A scenario's result plus the runner's own verdict extras.
struct ScenarioOutcome {
  report::ScenarioResult result;
  // Set when the scenario failed and the profile lists the failure as a known deviation:
  // the status stays "failed", the exit status ignores it.
  std::optional<KnownDeviation> known_deviation;
  // The statement ids the failure itself names (violation / ledger reason), if any.
  std::vector<std::string> failure_spec;
};

struct Probe {
  std::string protocol;             // "3.1.1" or "5"
  Capabilities capabilities;        // after defaults, profile and CONNACK
  std::optional<std::string> error; // the probe connection failed (then defaults + profile)
  std::string summary;              // "maximum_qos=2 retain_available=1 ..." for the log
};

class Runner {
 public:
  explicit Runner(RunSettings settings);
  // Probes the broker for each protocol in `protocols` ("3.1.1", "5"), then runs every
  // scenario; results are in input order.
  std::vector<ScenarioOutcome> run(const std::vector<scenario::Scenario>& scenarios);
  const std::vector<Probe>& probes() const { return probes_; }

 private:
  RunSettings settings_;
  std::vector<Probe> probes_;
};

// Subset match used by expect_packet (scenario::ExpectPacketStep): every key of `expected`
// must be in `actual` with a matching value; lists match element by element and have equal
// length; numbers compare by value (0x81 == 129). On mismatch returns false and sets
// `why` to "/path: expected X, got Y".
bool json_subset_match(const nlohmann::ordered_json& expected, const nlohmann::ordered_json& actual,
                       std::string* why = nullptr, const std::string& path = "");

// Exit status of a run (docs/architecture.md "Exit status"): 2 if a scenario could not be
// used (status error), else 1 if a scenario failed without a known deviation, else 0.
int exit_status(const std::vector<ScenarioOutcome>& outcomes, bool had_load_errors);

}  // namespace mqtth::runner
