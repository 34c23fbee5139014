// `mqtt-harness report merge`: the JSON reports of the shards of one `run --shard K/N`
// suite combined into one report (docs/scale-out.md "Merging the suite's shards").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "mqtth/report/Report.hpp"

namespace mqtth::report {

// What `run --shard K/N` writes as the JSON report's `shard` object, so that a merge can
// tell a missing shard, a duplicate one and a shard of another suite apart.
struct ShardInfo {
  unsigned index = 1;   // K, 1-based
  unsigned count = 1;   // N
  std::size_t total_units = 0;  // units of the whole suite, before slicing
  std::string suite;            // suite_fingerprint() of the whole suite's units
  // Per scenario of this report, in report order: its unit number in the whole suite.
  std::vector<std::size_t> units;
  std::size_t load_errors = 0;  // the report's first `load_errors` scenarios are files that did not load
};
Json to_json(const ShardInfo&);

// 16 hex digits (FNV-1a 64) of the unit ids in order: equal for two shards of the same
// scenario files, filters, protocol and harness, different otherwise (in practice).
std::string suite_fingerprint(const std::vector<std::string>& unit_ids);

struct ShardInput {
  std::string file;  // for the messages
  Json json;         // the shard's JSON report
};

struct MergeResult {
  RunReport report;  // for the JUnit and HTML writers
  Json json;         // the merged JSON report, with the runner's extras (names, findings, warnings)
};

// Combines the N shard reports of one suite. nullopt and `error` (one paragraph naming the
// files) when an input is not a shard report, the shards belong to different suites,
// counts or harness versions, a shard is there twice, or a shard is missing.
std::optional<MergeResult> merge_shard_reports(const std::vector<ShardInput>& inputs, std::string* error);

// The exit status `run` would have had for the merged report: 2 when a scenario is in
// error, 1 when one failed (other than a known deviation) or a run finding or a broker
// failure is not excused, 0 otherwise.
int merged_exit_status(const Json& merged);

}  // namespace mqtth::report
