// `mqtt-harness fuzz merge` (docs/scale-out.md "Merging fuzz shards"): the findings of many
// fuzz workers, one per signature.
#include "Findings.hpp"
#include "mqtth/report/Report.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace mqtth::netfuzz {
namespace {

// Adds the numbers of `from` into `into`, key by key (the lenient/suppressed/known_reports maps).
void add_counts(json& into, const json& from) {
  if (!from.is_object()) return;
  for (const auto& [key, value] : from.items())
    if (value.is_number_integer()) into[key] = into.value(key, 0ll) + value.get<long long>();
}

}  // namespace

int merge_findings(const std::vector<std::string>& dirs, const std::string& out_dir, std::string* error,
                   std::vector<std::string>* warnings_out) {
  namespace fs = std::filesystem;
  auto fail = [&](const std::string& message) {
    if (error) *error = message;
    return 2;
  };
  if (dirs.empty()) return fail("no findings folder given");
  std::vector<json> inputs;
  for (const auto& dir : dirs) {
    std::ifstream in(fs::path(dir) / "findings.json");
    if (!in) return fail(dir + ": no findings.json (not the --out folder of a `fuzz` run, or the run did not finish)");
    std::stringstream text;
    text << in.rdbuf();
    json j = json::parse(text.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("findings") || !j["findings"].is_array())
      return fail(dir + "/findings.json: not a findings summary");
    if (!inputs.empty() && j.value("protocol", "") != inputs.front().value("protocol", ""))
      return fail(dir + " fuzzed MQTT " + j.value("protocol", "") + ", " + dirs.front() + " MQTT " +
                  inputs.front().value("protocol", "") + ": findings of different protocols are not one campaign");
    inputs.push_back(std::move(j));
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return fail(out_dir + ": cannot create the folder: " + ec.message());

  const json& first = inputs.front();
  json warnings = json::array();
  // Shards of one --shard run: say which are missing or repeated (their cases were not run, or twice).
  std::map<std::pair<std::uint64_t, unsigned>, std::vector<unsigned>> shards;  // (seed, N) -> K...
  for (const json& in : inputs)
    if (in.contains("shard")) shards[{in.value("seed", 0ull), in["shard"].value("count", 1u)}].push_back(in["shard"].value("index", 1u));
  for (const auto& [key, given] : shards) {
    const auto& [seed, count] = key;
    if (count <= 1) continue;
    std::string missing, twice;
    for (unsigned k = 1; k <= count; ++k) {
      const auto n = std::count(given.begin(), given.end(), k);
      if (n == 0) missing += (missing.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(count);
      if (n > 1) twice += (twice.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(count);
    }
    if (!missing.empty())
      warnings.push_back("seed " + std::to_string(seed) + ": missing shard(s) " + missing + ": their cases are not in this merge");
    if (!twice.empty())
      warnings.push_back("seed " + std::to_string(seed) + ": shard(s) " + twice + " given more than once: their counts are added twice");
  }

  json merged{{"broker", first.value("broker", "")}, {"protocol", first.value("protocol", "")},
              {"seed", first.value("seed", 0ull)}, {"stateful", first.value("stateful", false)}};
  std::uint64_t cases = 0, jobs = 0, broker_starts = 0, replayed = 0, false_alarms = 0, minimisation_runs = 0;
  double elapsed = 0;
  bool broker_up = true;
  json lenient = json::object(), suppressed = json::object(), known = json::object();
  json sources = json::array();
  std::vector<std::string> order;       // signatures in first-seen order
  std::map<std::string, json> by_signature;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const json& in = inputs[i];
    cases += in.value("cases", 0ull);
    jobs += in.value("jobs", 0ull);
    broker_starts += in.value("broker_starts", 0ull);
    replayed += in.value("replayed", 0ull);
    false_alarms += in.value("probe_false_alarms", 0ull);
    minimisation_runs += in.value("minimisation_runs", 0ull);
    // Workers run side by side: the campaign took as long as the longest.
    elapsed = std::max(elapsed, in.value("elapsed_s", 0.0));
    broker_up = broker_up && in.value("broker_up", true);
    add_counts(lenient, in.value("lenient", json::object()));
    add_counts(suppressed, in.value("suppressed", json::object()));
    add_counts(known, in.value("known_reports", json::object()));
    json source{{"dir", dirs[i]}, {"cases", in.value("cases", 0ull)}, {"seed", in.value("seed", 0ull)},
                {"findings", in["findings"].size()}};
    if (in.contains("shard")) source["shard"] = in["shard"];
    sources.push_back(std::move(source));
    for (const json& f : in["findings"]) {
      const std::string sig = f.value("signature", "");
      json seen{{"dir", dirs[i]}, {"id", f.value("id", 0)}, {"case_index", f.value("case_index", 0ull)},
                {"count", f.value("count", 0)}, {"scenario", f.value("scenario", "")}};
      auto it = by_signature.find(sig);
      if (it != by_signature.end()) {
        it->second["count"] = it->second.value("count", 0) + f.value("count", 0);
        it->second["seen_in"].push_back(std::move(seen));
        continue;
      }
      json kept = f;
      kept["seen_in"] = json::array({std::move(seen)});
      kept["from"] = dirs[i];
      order.push_back(sig);
      by_signature.emplace(sig, std::move(kept));
    }
  }
  // The kept findings, renumbered, with the first shard's reproducer copied next to the page.
  json findings = json::array();
  std::size_t crash_count = 0, spec_count = 0;
  for (const auto& sig : order) {
    json f = by_signature[sig];
    const std::size_t id = findings.size() + 1;
    f["id"] = id;
    const std::string scenario = f.value("scenario", "");
    if (!scenario.empty()) {
      const std::string name = "finding-" + std::to_string(id) + "-" + f.value("kind", "finding") + ".yaml";
      fs::copy_file(fs::path(f.value("from", "")) / scenario, fs::path(out_dir) / name, fs::copy_options::overwrite_existing, ec);
      if (ec) return fail(f.value("from", "") + "/" + scenario + ": cannot be copied: " + ec.message());
      f["scenario"] = name;
    }
    (f.value("class", "") == "spec" ? spec_count : crash_count)++;
    findings.push_back(std::move(f));
  }
  merged["jobs"] = jobs;
  merged["cases"] = cases;
  merged["elapsed_s"] = elapsed;
  merged["cases_per_s"] = elapsed > 0 ? static_cast<double>(cases) / elapsed : 0.0;
  merged["minimisation_runs"] = minimisation_runs;
  merged["probe_false_alarms"] = false_alarms;
  merged["broker_starts"] = broker_starts;
  merged["broker_up"] = broker_up;
  merged["replayed"] = replayed;
  merged["crash_findings"] = crash_count;
  merged["spec_findings"] = spec_count;
  merged["lenient"] = lenient;
  merged["suppressed"] = suppressed;
  merged["known_reports"] = known;
  merged["merged_from"] = sources;
  merged["warnings"] = warnings;
  if (warnings_out)
    for (const auto& w : warnings) warnings_out->push_back(w.get<std::string>());
  merged["findings"] = findings;
  std::ofstream(fs::path(out_dir) / "findings.json") << merged.dump(2) << "\n";
  if (const auto err = report::write_file((fs::path(out_dir) / "findings.html").string(), findings_html(merged)); !err.empty())
    return fail(err);
  return crash_count > 0 ? 1 : 0;
}

}  // namespace mqtth::netfuzz
