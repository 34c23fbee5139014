// Merging the JSON reports of `run --shard K/N` (docs/scale-out.md "Merging the suite's shards").
#include "mqtth/report/Merge.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace mqtth::report {

Json to_json(const ShardInfo& s) {
  return Json{{"index", s.index},           {"count", s.count},   {"total_units", s.total_units},
              {"suite", s.suite},           {"units", s.units},   {"load_errors", s.load_errors}};
}

std::string suite_fingerprint(const std::vector<std::string>& unit_ids) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (const std::string& id : unit_ids) {
    for (unsigned char c : id) mix(c);
    mix(0);  // "ab","c" and "a","bc" differ
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

namespace {

std::optional<ShardInfo> read_shard(const Json& report, std::string& why) {
  if (!report.is_object() || !report.contains("shard")) {
    why = "not the JSON report of a `run --shard K/N` (it has no \"shard\" object)";
    return std::nullopt;
  }
  const Json& s = report["shard"];
  try {
    ShardInfo info;
    info.index = s.at("index").get<unsigned>();
    info.count = s.at("count").get<unsigned>();
    info.total_units = s.at("total_units").get<std::size_t>();
    info.suite = s.at("suite").get<std::string>();
    info.units = s.at("units").get<std::vector<std::size_t>>();
    info.load_errors = s.value("load_errors", std::size_t{0});
    if (info.count == 0 || info.index == 0 || info.index > info.count) {
      why = "shard " + std::to_string(info.index) + "/" + std::to_string(info.count) + " is not a valid K/N";
      return std::nullopt;
    }
    const std::size_t scenarios = report.contains("scenarios") && report["scenarios"].is_array() ? report["scenarios"].size() : 0;
    if (info.units.size() != scenarios) {
      why = "its shard.units lists " + std::to_string(info.units.size()) + " units for " + std::to_string(scenarios) +
            " scenarios";
      return std::nullopt;
    }
    return info;
  } catch (const Json::exception& e) {
    why = std::string("its \"shard\" object is malformed (") + e.what() + ")";
    return std::nullopt;
  }
}

std::string label(const ShardInfo& s) { return std::to_string(s.index) + "/" + std::to_string(s.count); }

}  // namespace

std::optional<MergeResult> merge_shard_reports(const std::vector<ShardInput>& inputs, std::string* error) {
  auto fail = [&](const std::string& message) -> std::optional<MergeResult> {
    if (error) *error = message;
    return std::nullopt;
  };
  if (inputs.empty()) return fail("no shard report given");

  struct Loaded {
    const ShardInput* input;
    ShardInfo shard;
    RunReport report;
  };
  std::vector<Loaded> loaded;
  for (const ShardInput& in : inputs) {
    std::string why;
    auto shard = read_shard(in.json, why);
    if (!shard) return fail(in.file + ": " + why);
    auto rep = from_json(in.json, &why);
    if (!rep) return fail(in.file + ": not a JSON report: " + why);
    loaded.push_back({&in, std::move(*shard), std::move(*rep)});
  }

  // Every shard must be a slice of the same suite, cut the same way, by the same harness.
  const Loaded& first = loaded.front();
  for (const Loaded& l : loaded) {
    auto differs = [&](const std::string& what, const std::string& mine, const std::string& theirs) {
      return fail(l.input->file + " is shard " + label(l.shard) + " of " + what + " " + mine + ", but " +
                  first.input->file + " is of " + what + " " + theirs + ": not shards of one run");
    };
    if (l.shard.count != first.shard.count)
      return differs("a run in", std::to_string(l.shard.count) + " shards", std::to_string(first.shard.count) + " shards");
    if (l.shard.suite != first.shard.suite || l.shard.total_units != first.shard.total_units)
      return differs("suite", l.shard.suite + " (" + std::to_string(l.shard.total_units) + " units)",
                     first.shard.suite + " (" + std::to_string(first.shard.total_units) + " units)");
    if (l.report.harness_version != first.report.harness_version)
      return differs("harness version", "'" + l.report.harness_version + "'", "'" + first.report.harness_version + "'");
  }
  std::map<unsigned, const Loaded*> by_index;
  for (const Loaded& l : loaded) {
    auto [it, fresh] = by_index.emplace(l.shard.index, &l);
    if (!fresh)
      return fail("shard " + label(l.shard) + " is given twice: " + it->second->input->file + " and " + l.input->file);
  }
  std::string missing;
  for (unsigned k = 1; k <= first.shard.count; ++k)
    if (!by_index.count(k)) missing += (missing.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(first.shard.count);
  if (!missing.empty())
    return fail("missing shard(s) " + missing + " (given: " + std::to_string(loaded.size()) + " of " +
                std::to_string(first.shard.count) + "); a merge of part of a suite would report partial coverage as if complete");

  // The scenarios in the order of an unsharded run: files that did not load first, then the
  // units in suite order.
  struct Entry {
    bool load_error;
    std::size_t unit;
    const ScenarioResult* result;
    const Json* raw;
  };
  std::vector<Entry> entries;
  std::set<std::size_t> seen_units;
  for (const auto& [index, l] : by_index) {
    for (std::size_t i = 0; i < l->report.scenarios.size(); ++i) {
      const std::size_t unit = l->shard.units[i];
      if (!seen_units.insert(unit).second)
        return fail(l->input->file + ": unit " + std::to_string(unit) + " is also in another shard: not shards of one run");
      entries.push_back({i < l->shard.load_errors, unit, &l->report.scenarios[i], &l->input->json["scenarios"][i]});
    }
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.load_error != b.load_error) return a.load_error;
    return a.unit < b.unit;
  });

  MergeResult out;
  RunReport& merged = out.report;
  merged.harness_version = first.report.harness_version;
  merged.broker = first.report.broker;
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) {
    if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
  };
  for (const auto& [index, l] : by_index) {
    const RunReport& r = l->report;
    // Shards run side by side: the merged run took as long as the slowest one.
    merged.summary.duration_ms = std::max(merged.summary.duration_ms, r.summary.duration_ms);
    if (!r.started_at.empty() && (merged.started_at.empty() || r.started_at < merged.started_at))
      merged.started_at = r.started_at;
    if (r.broker != merged.broker)
      warn("the shards ran against different brokers: " + merged.broker + " (" + first.input->file + "), " + r.broker +
           " (" + l->input->file + ")");
    if (!merged.broker_failure && r.broker_failure) merged.broker_failure = r.broker_failure;
    if (l->input->json.contains("warnings") && l->input->json["warnings"].is_array())
      for (const Json& w : l->input->json["warnings"])
        if (w.is_string()) warn(w.get<std::string>());
  }
  // One seed when every shard used it (the names of a rerun), none otherwise.
  if (std::all_of(by_index.begin(), by_index.end(), [&](const auto& e) { return e.second->report.seed == first.report.seed; }))
    merged.seed = first.report.seed;
  for (const Entry& e : entries) merged.scenarios.push_back(*e.result);
  recount(merged);

  Json j = to_json(merged);
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (entries[i].raw->contains("names")) j["scenarios"][i]["names"] = (*entries[i].raw)["names"];
  // Run findings (docs/runner.md): one per statement and message, counted over all shards.
  Json findings = Json::array();
  for (const auto& [index, l] : by_index) {
    if (!l->input->json.contains("findings") || !l->input->json["findings"].is_array()) continue;
    for (const Json& f : l->input->json["findings"]) {
      auto same = std::find_if(findings.begin(), findings.end(), [&](const Json& g) {
        return g.value("statement", "") == f.value("statement", "") && g.value("message", "") == f.value("message", "");
      });
      if (same == findings.end()) {
        findings.push_back(f);
      } else {
        (*same)["scenarios"] = same->value("scenarios", 0) + f.value("scenarios", 0);
      }
    }
  }
  j["findings"] = std::move(findings);
  j["warnings"] = warnings;
  Json files = Json::array();
  for (const auto& [index, l] : by_index) files.push_back(Json{{"shard", label(l->shard)}, {"file", l->input->file}});
  j["merged_from"] = Json{{"shards", first.shard.count},
                          {"suite", first.shard.suite},
                          {"total_units", first.shard.total_units},
                          {"files", std::move(files)}};
  out.json = std::move(j);
  return out;
}

int merged_exit_status(const Json& merged) {
  bool failed = merged.contains("broker_failure");
  for (const Json& f : merged.value("findings", Json::array()))
    if (!f.contains("known_deviation")) failed = true;
  for (const Json& s : merged.value("scenarios", Json::array())) {
    const std::string status = s.value("status", "");
    if (status == "error") return 2;
    if (status == "failed" && !s.contains("known_deviation")) failed = true;
  }
  return failed ? 1 : 0;
}

}  // namespace mqtth::report
