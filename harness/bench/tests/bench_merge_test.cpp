// bench merge: workers' interval logs add up to the histogram of all their samples.
#include <gtest/gtest.h>

#include <mqtth/bench/BenchMerge.hpp>

using namespace mqtth::bench;

namespace {

BenchResult worker(std::uint64_t first, std::uint64_t step, std::uint64_t n, bool lose = false) {
  BenchResult r;
  r.connected = true;
  r.sent = r.expected = n;
  r.received = lose ? n - 1 : n;
  r.receive_seconds = 2.0;
  for (std::uint64_t i = 0; i < n; ++i) r.latency.record(first + i * step);
  mqtth::ledger::StreamResult s;
  s.sent = n;
  s.delivered = r.received;
  s.lost = n - r.received;
  s.verdict = lose ? mqtth::ledger::Verdict::violated : mqtth::ledger::Verdict::held;
  r.streams.push_back(s);
  return r;
}

std::string log_text(const BenchResult& r, double start, unsigned k, unsigned n) {
  return write_interval_log(worker_log(r, start, WorkerShard{k, n}));
}

}  // namespace

TEST(BenchMerge, percentiles_are_those_of_all_samples_not_an_average) {
  // Two workers with very different latencies: averaging their p50s would give ~500 us.
  const auto a = worker(1'000, 10, 900), b = worker(1'000'000, 1'000, 100);
  Histogram all;
  all.add(a.latency);
  all.add(b.latency);
  const auto merged = merge_workers({{"a", log_text(a, 100.0, 1, 2)}, {"b", log_text(b, 100.2, 2, 2)}}, {});
  EXPECT_EQ(merged.latency.counts(), all.counts());
  EXPECT_EQ(merged.json["latency_ms"]["samples"], 1000);
  for (auto [key, q] : {std::pair<const char*, double>{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99_9", 99.9}})
    EXPECT_DOUBLE_EQ(merged.json["latency_ms"][key].get<double>(), static_cast<double>(all.percentile(q)) / 1e6) << key;
  EXPECT_DOUBLE_EQ(merged.json["latency_ms"]["max"].get<double>(), static_cast<double>(all.max()) / 1e6);
  EXPECT_EQ(merged.json["received"], 1000);
  EXPECT_DOUBLE_EQ(merged.json["received_per_s"].get<double>(), 500.0);  // 1000 over the longest 2 s
  EXPECT_FALSE(merged.dead_worker);
  EXPECT_FALSE(merged.violated);
  EXPECT_TRUE(merged.json["warnings"].empty());
}

TEST(BenchMerge, a_dead_worker_a_violated_ledger_and_skew_are_reported) {
  const auto ok = worker(1'000, 1, 10), lossy = worker(1'000, 1, 10, true);
  const auto merged = merge_workers(
      {{"w1", log_text(ok, 100.0, 1, 3)}, {"w2", log_text(lossy, 103.0, 2, 3)}, {"w3", std::nullopt}}, {});
  EXPECT_TRUE(merged.dead_worker);
  EXPECT_TRUE(merged.violated);
  EXPECT_EQ(merged.json["ledger"]["lost"], 1);
  EXPECT_EQ(merged.json["ledger"]["verdict"], "violated");
  const auto dead = merged.json["dead_workers"].dump();
  EXPECT_NE(dead.find("w3: cannot be read"), std::string::npos) << dead;
  EXPECT_NE(dead.find("shard 3/3: no log"), std::string::npos) << dead;
  EXPECT_DOUBLE_EQ(merged.json["start_skew_s"].get<double>(), 3.0);
  EXPECT_NE(merged.json["warnings"].dump().find("3.000 s apart"), std::string::npos);
}
