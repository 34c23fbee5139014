// The scenario runner: executes loaded scenarios against the embedded broker (a fresh
// in-process BrokerServer per scenario) or a broker given by host:port, on ONE Qt event
// loop with up to `jobs` scenario state machines at once. Nothing sleeps: every step
// reacts to client events and arms a deadline timer (docs/runner.md).
//
// Needs a QCoreApplication; run() spins its own QEventLoop until every scenario ended.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mqtth/engine/BrokerConfig.hpp"
#include "mqtth/report/Report.hpp"
#include "mqtth/runner/Options.hpp"
#include "mqtth/runner/Prefix.hpp"
#include "mqtth/runner/Probing.hpp"
#include "mqtth/runner/Profile.hpp"
#include "mqtth/scenario/Scenario.hpp"

#include <mqtth/tls/Tls.hpp>

namespace mqtth::runner {

struct ScenarioOutcome;
class SpawnedBroker;

struct RunSettings {
  std::optional<Endpoint> broker;  // nullopt: embedded broker per scenario
  // --broker mqtts://...: TLS on every connection to `broker` (docs/tls.md); nullptr: plain TCP.
  std::shared_ptr<const tls::Client> tls;
  engine::BrokerConfig embedded;   // the embedded broker's config (`mqtt-harness mutants` sets deviations)
  Profile profile;                 // features and known deviations
  std::uint64_t seed = 0;
  unsigned jobs = 1;
  // Names on a shared broker (only used with `broker`): the `--prefix` template ("none":
  // names as written) and the run id its {run} stands for (Prefix.hpp).
  std::string prefix_template{kDefaultPrefixTemplate};
  std::string run_id;
  std::string pcap_dir;            // non-empty: one pcap per client connection (run --pcap)
  bool explore_all = false;        // --explore cut_points: every scenario as if `explore: cut_points`
  unsigned explore_max_runs = 60;  // default bound on cut runs per scenario (`max_runs:` wins)
  // run --spawn: the broker's command (`{port}` becomes broker->port, which must be set),
  // when to restart it, and how long a stop waits after SIGTERM before SIGKILL.
  std::vector<std::string> spawn;
  RestartPolicy restart = RestartPolicy::on_crash;
  std::chrono::milliseconds stop_grace{10000};
  // run --client -- CMD...: the client under test, started per `role: server` scenario
  // (docs/clients.md). Set: only role: server scenarios run; unset: they are skipped.
  std::vector<std::string> client_command;
  // run --suppressions FILE with --spawn (process::Suppressions); "": none.
  std::string suppressions_file;
  // run --rss-growth-limit with --spawn: a scenario that grows the broker's RSS by more is
  // a `grew` failure (docs/runner.md); 0: off.
  std::uint64_t rss_growth_limit_kib = 64 * 1024;
  // run --stall-threshold with --spawn: a bystander client watches the broker while the
  // scenarios run (SpawnedBroker::watch_with_bystander); 0: off.
  int stall_threshold_ms = 0;
  // Exploration progress lines (stderr in the CLI); unset: silent.
  std::function<void(const std::string&)> on_progress;
  // Called on the event loop thread as each scenario ends (progress output).
  std::function<void(const ScenarioOutcome&)> on_finished;
};

// A scenario's result plus the runner's own verdict extras.
struct ScenarioOutcome {
  report::ScenarioResult result;
  // Set when the scenario failed and the profile lists the failure as a known deviation:
  // the status stays "failed", the exit status ignores it.
  std::optional<KnownDeviation> known_deviation;
  // The failure's primary statement (report::Failure::statement), if it names one.
  std::vector<std::string> failure_spec;
  // With a prefix: the names the scenario used on the broker, so a person can find its
  // clients and messages there ("sub" -> "mh1a2b3c17xsub"; topics under "mh1a2b3c/17/").
  std::string topic_prefix;
  std::vector<std::pair<std::string, std::string>> client_ids;  // client name -> client id sent
};

// A finding about the broker as a whole, reported once per run however many scenarios saw
// it (docs/runner.md "Run-level findings").
struct RunFinding {
  std::string statement;                  // "MQTT-4.7.3-4"
  std::string message;                    // one line, without the statement
  std::string first_scenario;             // name of the first scenario run that saw it
  std::string first_file;
  std::size_t scenarios = 0;              // scenario runs that saw it
  std::optional<KnownDeviation> known_deviation;  // the profile excuses it (matched as for that scenario)
};

struct Probe {
  std::string protocol;             // "3.1.1" or "5"
  Capabilities capabilities;        // after defaults, profile and CONNACK
  std::optional<ProbeAnswer> answer;  // nullopt: not probed (the profile's `protocols:` leaves it out)
  std::optional<std::string> skip_reason;  // this version's scenarios are skipped
  std::string summary;              // "maximum_qos=2 retain_available=1 ..." for the log
};

class Runner {
 public:
  explicit Runner(RunSettings settings);
  ~Runner();
  // Probes the broker once per protocol version the scenarios use (Probing.hpp): returns
  // the reason no scenario can run (then the caller exits 2), or nullopt. Each probe waits
  // at most 5 s, and probing stops at the first answer that rules the broker out.
  std::optional<std::string> probe(const std::vector<scenario::Scenario>& scenarios);
  // Runs every scenario (probing first if probe() was not called; a fatal probe then
  // runs nothing); results are in input order.
  std::vector<ScenarioOutcome> run(const std::vector<scenario::Scenario>& scenarios);
  const std::vector<Probe>& probes() const { return probes_; }
  // Warnings of the probe (e.g. a version the profile declares but the broker refused).
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Run-level findings (a broker rewriting this run's topics) after run().
  const std::vector<RunFinding>& findings() const { return findings_; }
  // run --spawn: what went wrong with the broker outside any scenario (when the run
  // stopped it at the end), and how often it was started.
  const std::optional<report::BrokerFailure>& broker_failure() const { return broker_failure_; }
  int broker_starts() const;
  // run --spawn --suppressions: suppression entry -> broker reports it matched.
  std::map<std::string, int> suppressed_reports() const;

 private:
  static constexpr std::size_t kProbeIndex = static_cast<std::size_t>(-1);
  // The names of scenario `index` (kProbeIndex: the probe connections), run `cut_run` of
  // its exploration (0: the scenario itself): the identity without --broker or with
  // `--prefix none`.
  Prefix prefixFor(std::size_t index, unsigned cut_run) const;
  // The client id of the runner's own connections (the probe, the spawned broker's liveness check).
  std::string probeClientId() const;

  RunSettings settings_;
  bool probed_ = false;
  std::optional<std::string> fatal_;
  std::vector<Probe> probes_;
  std::vector<std::string> warnings_;
  std::vector<RunFinding> findings_;
  std::unique_ptr<SpawnedBroker> spawned_;
  std::optional<report::BrokerFailure> broker_failure_;
};

// Subset match used by expect_packet (scenario::ExpectPacketStep): every key of `expected`
// must be in `actual` with a matching value; lists match element by element and have equal
// length; numbers compare by value (0x81 == 129). On mismatch returns false and sets
// `why` to "/path: expected X, got Y".
bool json_subset_match(const nlohmann::ordered_json& expected, const nlohmann::ordered_json& actual,
                       std::string* why = nullptr, const std::string& path = "");

// One line for a failure of the spawned broker: "the spawned broker crashed (signal
// SIGSEGV) <when>: ERROR: AddressSanitizer: ...".
std::string describe_broker_failure(const report::BrokerFailure& failure, const std::string& when);

// Exit status of a run (docs/runner.md, docs/architecture.md "Exit status"): 2 if a scenario could not be used (status error),
// else 1 if a scenario failed, or a run-level finding was made, without a known deviation,
// or the spawned broker failed outside any scenario (`broker_failed`), else 0.
int exit_status(const std::vector<ScenarioOutcome>& outcomes, bool had_load_errors,
                const std::vector<RunFinding>& findings = {}, bool broker_failed = false);

}  // namespace mqtth::runner
