// Fault-point exploration of one scenario (`explore: cut_points`, docs/faults.md).
//
// Runs the scenario once with every explored client behind a recording FaultProxy (the
// baseline), derives the cut points from what the proxies saw -- after the k-th packet of
// each type, per direction, per explored client -- and then runs the scenario once per
// cut point (bounded by max_runs), one run after the other. Each cut run is an Execution
// with a CutPlan: the link is cut there once, the client reconnects, and the run's
// expect_delivery steps give the verdict (held / violated / incomplete). The combined
// result is the baseline's, plus one report::CutPoint row per run; it fails when a cut
// run did not hold.
#pragma once

#include <QObject>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "Execution.hpp"

namespace mqtth::runner {

class Explorer : public QObject {
  Q_OBJECT

 public:
  // context_for(k): the ExecContext of run k (0 = baseline), so that every run gets its
  // own identity (prefix, ledger run id) on a shared broker.
  Explorer(const scenario::Scenario& scenario, std::function<ExecContext(unsigned)> context_for,
           std::vector<std::string> clients, unsigned max_runs,
           std::function<void(const std::string&)> progress, QObject* parent = nullptr);

  void start();
  report::ScenarioResult& result() { return result_; }
  const std::vector<std::string>& failure_spec() const { return failure_spec_; }

 signals:
  void finished();

 private:
  void onBaselineFinished();
  void runNextCut();
  void onCutFinished();
  void conclude();

  const scenario::Scenario& scenario_;
  std::function<ExecContext(unsigned)> context_for_;
  std::vector<std::string> clients_;
  unsigned max_runs_;
  std::function<void(const std::string&)> progress_;

  Execution* current_ = nullptr;
  std::vector<CutPlan> plans_;
  std::size_t total_points_ = 0;
  std::size_t next_ = 0;
  report::ScenarioResult result_;
  std::vector<std::string> failure_spec_;
  std::optional<report::Failure> first_bad_;  // the failure of the first cut run that did not hold
  std::string cut_pcap_dir_, cut_pcap_stem_;  // where the current cut run writes its pcap files
  double cut_ms_ = 0;
};

// The cut points of a recorded exchange: one per packet, "after the k-th packet of this
// type in this direction of this client's link", in the order the packets passed.
std::vector<CutPlan> cut_points(const std::vector<RecordedPacket>& recorded);

}  // namespace mqtth::runner
