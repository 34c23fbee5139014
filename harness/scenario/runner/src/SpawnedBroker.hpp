// The broker `run --spawn` starts, watches and stops (docs/runner.md "The runner owns the
// broker"): its output is drained as it comes (a broker whose pipe is full blocks on its
// logging) and scanned with the one sanitizer-report matcher; what went wrong is judged
// into a report::BrokerFailure that the runner pins on the scenario that was running.
// Private to the runner; needs a QCoreApplication (a QSocketNotifier reads the output).
#pragma once

#include <mqtt/codec.hpp>
#include <mqtth/process/BrokerProcess.hpp>
#include <mqtth/process/Suppressions.hpp>

#include <QSocketNotifier>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mqtth/report/Report.hpp"
#include "mqtth/runner/Options.hpp"

namespace mqtth::runner {

class SpawnedBroker {
 public:
  // `suppressions_file`: run --suppressions ("" none): reports it matches are counted, not
  // judged, and its sanitizer-native entries reach the broker's runtime.
  // `rss_growth_limit_kib`: run --rss-growth-limit (0: off).
  SpawnedBroker(std::vector<std::string> command, Endpoint at, std::chrono::milliseconds stop_grace,
                std::string suppressions_file = {}, std::uint64_t rss_growth_limit_kib = 0);
  ~SpawnedBroker();

  // Starts it and waits (at most 15 s) until it accepts a TCP connection; why not, otherwise
  // (its exit and last output lines, or the suppressions file that does not load).
  std::optional<std::string> start();
  // Started, and not known to have exited.
  bool running();
  int starts() const { return process_.starts(); }
  // Suppression entry -> reports it matched so far.
  const std::map<std::string, int>& suppressed() const { return suppressed_; }

  // run --stall-threshold: from now on a bystander client (process::Bystander, MQTT
  // `version`, client id `client_id`) publishes QoS 1 to its own subscription and pings
  // every 100 ms on a thread of its own while the broker runs (paused while it is stopped
  // or restarted). A round trip over `stall_ms` is `stall`, a message acknowledged but
  // not delivered `qos1_lost`, one delivered twice on one connection `qos1_duplicate`:
  // after_scenario() and stop() judge what it saw since the last judgement.
  void watch_with_bystander(mqtt::Version version, std::string client_id, int stall_ms);

  // After a scenario, with `answered`: whether it answered the liveness check (a CONNECT
  // on a fresh connection). An exit (now or within a second of a failed check) is
  // `crashed`; no answer from a live process is `stalled`; a report in its output since
  // the last look while it runs is `sanitizer`; its RSS grown by more than the limit
  // since the previous scenario ended (or it started) is `grew`; the bystander's first
  // finding since the last look its kind. nullopt: nothing wrong.
  std::optional<report::BrokerFailure> after_scenario(bool answered);

  // Stops it (SIGTERM, then SIGKILL after the grace) and judges the stop: a LeakSanitizer
  // report is `leaked`, another report or an exit other than "exit 0" / "signal SIGTERM"
  // is `crashed` (so is having exited before the stop), outliving the grace is
  // `stalled`, the bystander's first finding since the last look its kind, RSS grown beyond
  // the limit since it started `grew`. nullopt: a clean stop, or nothing was running.
  std::optional<report::BrokerFailure> stop();

 private:
  void watch_output();
  void drain();
  // The first report in the output since the last judgement that no suppression matches
  // (the suppressed ones before it are counted).
  std::optional<process::SanitizerReport> unsuppressed_report();
  report::BrokerFailure failure(std::string kind, const std::optional<process::SanitizerReport>& report);

  process::BrokerProcess process_;
  Endpoint at_;
  std::chrono::milliseconds stop_grace_;
  std::unique_ptr<QSocketNotifier> notifier_;
  std::string unscanned_;  // output since the last judgement (bounded)
  std::string suppressions_file_;
  std::optional<process::Suppressions> suppressions_;
  std::map<std::string, int> suppressed_;
  std::uint64_t rss_growth_limit_kib_ = 0;
  std::uint64_t rss_baseline_kib_ = 0;  // at its start or the end of the previous scenario
  // `grew` when its RSS is more than the limit above the baseline; the baseline moves on.
  std::optional<report::BrokerFailure> judge_rss();
  // The bystander's first finding since the last call, as a failure (nullopt: none, or no bystander).
  std::optional<report::BrokerFailure> judge_bystander();

  class BystanderThread;
  std::unique_ptr<BystanderThread> bystander_;
};

}  // namespace mqtth::runner
