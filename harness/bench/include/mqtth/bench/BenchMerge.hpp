// Bench workers and `mqtt-harness bench merge` (docs/scale-out.md "Bench workers").
//
// A worker (`bench --hdr-log FILE`) writes its latency histogram as an HdrHistogram
// interval log (HdrLog.hpp) whose `#[mqtth-bench: {...}]` comment carries its shard, its
// send/receive counts and its ledger totals. The merge adds the histograms (exact merged
// percentiles: bucket counts are added, percentiles are never averaged), the counts and the
// ledgers, warns when the workers' start times disagree by more than a bound, and reports
// a worker whose log is missing, empty or has no mqtth-bench record.
#pragma once

#include <mqtth/bench/Bench.hpp>
#include <mqtth/bench/HdrLog.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mqtth::bench {

struct WorkerShard {
  unsigned index = 1;  // K, 1-based
  unsigned count = 1;  // N
};

// The worker's log: one interval (the measured phase, from `start_time_s`, seconds since
// the epoch, for receive_seconds) holding the whole latency histogram, and the record.
IntervalLog worker_log(const BenchResult& result, double start_time_s, const std::optional<WorkerShard>& shard);

struct WorkerFile {
  std::string file;
  std::optional<std::string> text;  // nullopt: it could not be read
};

struct MergeSettings {
  unsigned expected_workers = 0;  // 0: as many as the shards' N (or the files given)
  double skew_bound_s = 1.0;      // start times further apart: a clock-skew warning
};

struct BenchMerge {
  nlohmann::ordered_json json;  // the merged report (docs/scale-out.md)
  Histogram latency;            // all workers' samples
  IntervalLog log;              // the merged histogram as one interval log
  bool dead_worker = false;
  bool violated = false;
};

BenchMerge merge_workers(const std::vector<WorkerFile>& files, const MergeSettings& settings);

}  // namespace mqtth::bench
