// The broker `run --spawn` starts, watches and stops (docs/runner.md "The runner owns the
// broker"): its output is drained as it comes (a broker whose pipe is full blocks on its
// logging) and scanned with the one sanitizer-report matcher; what went wrong is judged
// into a report::BrokerFailure that the runner pins on the scenario that was running.
// Private to the runner; needs a QCoreApplication (a QSocketNotifier reads the output).
#pragma once

#include <mqtth/process/BrokerProcess.hpp>

#include <QSocketNotifier>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mqtth/report/Report.hpp"
#include "mqtth/runner/Options.hpp"

namespace mqtth::runner {

class SpawnedBroker {
 public:
  SpawnedBroker(std::vector<std::string> command, Endpoint at, std::chrono::milliseconds stop_grace);
  ~SpawnedBroker();

  // Starts it and waits (at most 15 s) until it accepts a TCP connection; why not, otherwise
  // (its exit and last output lines).
  std::optional<std::string> start();
  // Started, and not known to have exited.
  bool running();
  int starts() const { return process_.starts(); }

  // After a scenario, with `answered`: whether it answered the liveness check (a CONNECT
  // on a fresh connection). An exit (now or within a second of a failed check) is
  // `crashed`; no answer from a live process is `stalled`; a report in its output since
  // the last look while it runs is `sanitizer`. nullopt: nothing wrong.
  std::optional<report::BrokerFailure> after_scenario(bool answered);

  // Stops it (SIGTERM, then SIGKILL after the grace) and judges the stop: a LeakSanitizer
  // report is `leaked`, another report or an exit other than "exit 0" / "signal SIGTERM"
  // is `crashed` (so is having exited before the stop), outliving the grace is
  // `stalled`. nullopt: a clean stop, or nothing was running.
  std::optional<report::BrokerFailure> stop();

 private:
  void watch_output();
  void drain();
  report::BrokerFailure failure(std::string kind);

  process::BrokerProcess process_;
  Endpoint at_;
  std::chrono::milliseconds stop_grace_;
  std::unique_ptr<QSocketNotifier> notifier_;
  std::string unscanned_;  // output since the last judgement (bounded)
};

}  // namespace mqtth::runner
