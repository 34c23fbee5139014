// Bench workers' logs and their merge (BenchMerge.hpp).
#include <mqtth/bench/BenchMerge.hpp>

#include <algorithm>
#include <cmath>
#include <map>

namespace mqtth::bench {
namespace {

using json = nlohmann::ordered_json;
constexpr std::string_view kRecordPrefix = "[mqtth-bench: ";

json ledger_totals(const BenchResult& r) {
  std::uint64_t lost = 0, duplicated = 0, reordered = 0, violated = 0;
  for (const auto& s : r.streams) {
    lost += s.lost;
    duplicated += s.duplicated;
    reordered += s.reordered;
    if (s.verdict == ledger::Verdict::violated) ++violated;
  }
  return json{{"streams", r.streams.size()}, {"violated", violated}, {"lost", lost}, {"duplicated", duplicated},
              {"reordered", reordered}};
}

std::uint64_t u64(const json& j, const char* key) { return j.contains(key) && j[key].is_number_unsigned() ? j[key].get<std::uint64_t>() : 0; }

}  // namespace

IntervalLog worker_log(const BenchResult& r, double start_time_s, const std::optional<WorkerShard>& shard) {
  IntervalLog log;
  log.start_time_s = start_time_s;
  json record{{"run_id", r.run_id},
              {"connected", r.connected},
              {"qos", r.options.qos},
              {"publishers", r.options.publishers},
              {"subscribers", r.options.subscribers},
              {"sent", r.sent},
              {"accepted", r.accepted},
              {"expected", r.expected},
              {"received", r.received},
              {"send_seconds", r.send_seconds},
              {"receive_seconds", r.receive_seconds},
              {"ledger", ledger_totals(r)},
              {"errors", r.errors}};
  if (shard) record["shard"] = json{{"index", shard->index}, {"count", shard->count}};
  log.comments.push_back(std::string(kRecordPrefix) + record.dump() + "]");
  log.intervals.push_back({0.0, r.receive_seconds, r.latency});
  return log;
}

BenchMerge merge_workers(const std::vector<WorkerFile>& files, const MergeSettings& settings) {
  BenchMerge out;
  json workers = json::array();
  json warnings = json::array();
  json dead = json::array();
  std::uint64_t sent = 0, accepted = 0, expected = 0, received = 0;
  std::uint64_t streams = 0, violated = 0, lost = 0, duplicated = 0, reordered = 0;
  double longest_s = 0;
  std::vector<double> starts;
  std::map<unsigned, std::vector<std::string>> shard_files;
  unsigned shard_count = 0;
  for (const WorkerFile& f : files) {
    json w{{"file", f.file}};
    auto died = [&](const std::string& why) {
      w["dead"] = why;
      dead.push_back(f.file + ": " + why);
      workers.push_back(w);
    };
    if (!f.text) {
      died("cannot be read (the worker did not write its log)");
      continue;
    }
    std::string error;
    auto log = read_interval_log(*f.text, &error);
    if (!log) {
      died("not an HdrHistogram interval log (" + error + ")");
      continue;
    }
    std::optional<json> record;
    for (const auto& c : log->comments)
      if (c.starts_with(kRecordPrefix) && c.ends_with("]")) {
        json j = json::parse(c.substr(kRecordPrefix.size(), c.size() - kRecordPrefix.size() - 1), nullptr, false);
        if (!j.is_discarded() && j.is_object()) record = std::move(j);
      }
    if (!record || log->intervals.empty()) {
      died(record ? "no interval (the worker stopped before its end)" : "no mqtth-bench record (not a bench worker's log, or cut short)");
      continue;
    }
    Histogram h;
    double length = 0;
    for (const auto& iv : log->intervals) {
      h.add(iv.histogram);
      length = std::max(length, iv.start_s + iv.length_s);
    }
    out.latency.add(h);
    // The record's seconds are exact; the log's interval length has 3 decimals.
    longest_s = std::max(longest_s, record->value("receive_seconds", length));
    starts.push_back(log->start_time_s);
    sent += u64(*record, "sent");
    accepted += u64(*record, "accepted");
    expected += u64(*record, "expected");
    received += u64(*record, "received");
    const json ledger = record->value("ledger", json::object());
    streams += u64(ledger, "streams");
    violated += u64(ledger, "violated");
    lost += u64(ledger, "lost");
    duplicated += u64(ledger, "duplicated");
    reordered += u64(ledger, "reordered");
    if (record->contains("shard")) {
      const unsigned k = (*record)["shard"].value("index", 0u), n = (*record)["shard"].value("count", 0u);
      shard_files[k].push_back(f.file);
      shard_count = std::max(shard_count, n);
      w["shard"] = std::to_string(k) + "/" + std::to_string(n);
    }
    if (!record->value("connected", true)) dead.push_back(f.file + ": its clients did not connect");
    for (const auto& e : record->value("errors", json::array())) warnings.push_back(f.file + ": " + e.get<std::string>());
    w["start_time_s"] = log->start_time_s;
    w["samples"] = h.count();
    w["sent"] = u64(*record, "sent");
    w["received"] = u64(*record, "received");
    w["ledger"] = ledger;
    workers.push_back(std::move(w));
  }
  // Shards that never wrote anything are dead workers too.
  const unsigned want = settings.expected_workers ? settings.expected_workers : shard_count;
  for (unsigned k = 1; k <= shard_count && k <= want; ++k)
    if (!shard_files.count(k)) dead.push_back("shard " + std::to_string(k) + "/" + std::to_string(shard_count) + ": no log");
  for (const auto& [k, list] : shard_files)
    if (list.size() > 1) warnings.push_back("shard " + std::to_string(k) + " is in " + std::to_string(list.size()) + " files: its samples count twice");
  const std::size_t alive = files.size() - static_cast<std::size_t>(std::count_if(workers.begin(), workers.end(), [](const json& w) { return w.contains("dead"); }));
  if (settings.expected_workers && alive < settings.expected_workers && shard_count == 0)
    dead.push_back(std::to_string(alive) + " of " + std::to_string(settings.expected_workers) + " workers wrote a log");
  double skew = 0;
  if (!starts.empty()) {
    const auto [lo, hi] = std::minmax_element(starts.begin(), starts.end());
    skew = *hi - *lo;
    if (skew > settings.skew_bound_s) {
      char text[200];
      std::snprintf(text, sizeof text,
                    "the workers' start times are %.3f s apart (bound %.3f s): their clocks disagree or --start-at was missed; "
                    "msgs/s and the merged latency mix periods", skew, settings.skew_bound_s);
      warnings.push_back(text);
    }
  }
  const Histogram& h = out.latency;
  auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  out.json = json{{"workers", workers},
                  {"workers_alive", alive},
                  {"dead_workers", dead},
                  {"start_skew_s", skew},
                  {"sent", sent},
                  {"accepted", accepted},
                  {"expected", expected},
                  {"received", received},
                  // Workers run side by side: the total rate is over the longest one.
                  {"received_per_s", longest_s > 0 ? static_cast<double>(received) / longest_s : 0.0},
                  {"seconds", longest_s},
                  {"latency_ms", json{{"samples", h.count()},
                                      {"p50", ms(h.percentile(50))},
                                      {"p90", ms(h.percentile(90))},
                                      {"p99", ms(h.percentile(99))},
                                      {"p99_9", ms(h.percentile(99.9))},
                                      {"max", ms(h.max())}}},
                  {"ledger", json{{"streams", streams}, {"violated", violated}, {"lost", lost}, {"duplicated", duplicated},
                                  {"reordered", reordered}, {"verdict", violated ? "violated" : "held"}}},
                  {"warnings", warnings}};
  out.dead_worker = !dead.empty();
  out.violated = violated > 0;
  out.log.start_time_s = starts.empty() ? 0 : *std::min_element(starts.begin(), starts.end());
  out.log.comments.push_back("[mqtth-bench merge of " + std::to_string(alive) + " worker logs]");
  out.log.intervals.push_back({0.0, longest_s, h});
  return out;
}

}  // namespace mqtth::bench
