// `mqtt-harness run PATH... [options]`: runs scenario files (docs/runner.md; exit status:
// docs/architecture.md "Contracts").
//
// Exit status: 0 every scenario passed (skipped scenarios and known deviations do not
// count against it), 1 a scenario failed, 2 a scenario, profile, argument or the broker
// could not be used (messages name file:line:col, or the address, and what is wrong).
#include <QCoreApplication>
#include <QLoggingCategory>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.hpp"
#include "mqtth/common/BrokerAddress.hpp"
#include "mqtth/process/TcpConnect.hpp"
#include "mqtth/report/Merge.hpp"
#include "mqtth/report/Report.hpp"
#include "mqtth/report/Verdicts.hpp"
#include "mqtth/runner/Options.hpp"
#include "mqtth/runner/Prefix.hpp"
#include "mqtth/runner/Profile.hpp"
#include "mqtth/runner/Runner.hpp"
#include "mqtth/runner/Selection.hpp"
#include "mqtth/scenario/Loader.hpp"
#include "mqtth/tls/Tls.hpp"

namespace {

using namespace mqtth;
using runner::ScenarioOutcome;

std::string seconds_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", ms / 1000.0);
  return buf;
}

std::string iso_now() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void print_progress(const ScenarioOutcome& o) {
  const auto& r = o.result;
  const auto& dev = o.known_deviation;
  std::string status(report::to_string(r.status));
  if (dev) status = "failed (known deviation)";
  std::fprintf(stderr, "%-8s [%s] %8s  %s  (%s)\n", status.c_str(), r.protocol.c_str(),
               seconds_text(r.duration_ms).c_str(), r.name.c_str(), r.file.c_str());
  if (r.status == report::Status::skipped && !r.skip_reason.empty())
    std::fprintf(stderr, "         skipped: %s\n", r.skip_reason.c_str());
  if (r.failure && (r.status == report::Status::failed || r.status == report::Status::error)) {
    if (dev) {
      // A known deviation: the message, its statement and the profile's reason; no packets.
      report::ScenarioResult brief = r;
      brief.failure->last_packets.clear();
      std::fputs(report::console_failure(brief, "         ").c_str(), stderr);
      std::fprintf(stderr, "         known deviation %s (%s): %s\n", dev->statement.c_str(), dev->scenario.c_str(),
                   dev->reason.c_str());
    } else {
      std::fputs(report::console_failure(r, "         ").c_str(), stderr);
      if (!o.client_ids.empty()) {
        // The names to look for in the broker's logs.
        std::string names;
        for (const auto& [client, id] : o.client_ids) names += (names.empty() ? "" : ", ") + client + "=" + id;
        std::fprintf(stderr, "         on the broker: topics under %s, client ids %s\n", o.topic_prefix.c_str(), names.c_str());
      }
    }
  }
  std::fflush(stderr);
}

// The JSON report plus the runner's extras (docs/runner.md): per scenario `known_deviation`
// and `names`; `summary.known_deviations`; the run's `findings` and `warnings`; with
// --spawn, `spawn` (the command, the restart policy, how often it was started); with
// --shard, `shard` (which slice of which suite, for `report merge`).
report::Json json_report(const report::RunReport& rep, const std::vector<const ScenarioOutcome*>& outcomes,
                         const std::string& profile_name, const std::vector<runner::RunFinding>& findings,
                         const std::vector<std::string>& warnings, const std::optional<report::Json>& spawn,
                         const std::optional<report::ShardInfo>& shard) {
  auto j = report::to_json(rep);
  if (j.contains("scenarios") && j["scenarios"].is_array()) {
    for (std::size_t i = 0; i < j["scenarios"].size() && i < outcomes.size(); ++i) {
      const auto* o = outcomes[i];
      if (!o) continue;
      if (!o->client_ids.empty()) {
        report::Json ids = report::Json::object();
        for (const auto& [client, id] : o->client_ids) ids[client] = id;
        j["scenarios"][i]["names"] = {{"topic_prefix", o->topic_prefix}, {"client_ids", ids}};
      }
    }
  }
  report::Json list = report::Json::array();
  for (const auto& f : findings) {
    report::Json item = {{"statement", f.statement}, {"message", f.message}, {"scenarios", f.scenarios},
                         {"first_scenario", f.first_scenario}, {"first_file", f.first_file}};
    if (f.known_deviation)
      item["known_deviation"] = {{"statement", f.known_deviation->statement}, {"reason", f.known_deviation->reason},
                                 {"profile", profile_name}};
    list.push_back(std::move(item));
  }
  j["findings"] = std::move(list);
  j["warnings"] = warnings;
  if (spawn) j["spawn"] = *spawn;
  if (shard) j["shard"] = report::to_json(*shard);
  return j;
}

int run_command(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const auto parsed = runner::parse_run_args(args);
  if (parsed.options.help) {
    std::fputs(runner::run_usage(), stdout);
    return 0;
  }
  if (!parsed.ok()) {
    std::fprintf(stderr, "mqtt-harness run: %s\n", parsed.error->c_str());
    return 2;
  }
  auto opt = parsed.options;
  if (!opt.spawn.empty() && !opt.broker) {
    // Where the spawned broker listens: a free loopback port, which replaces `{port}`.
    const auto port = process::free_loopback_port();
    if (port == 0) {
      std::fprintf(stderr, "mqtt-harness run: --spawn: no free TCP port on 127.0.0.1\n");
      return 2;
    }
    opt.broker = runner::Endpoint{"127.0.0.1", port};
  }
  if (opt.pcap_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*opt.pcap_dir, ec);
    if (ec || !std::filesystem::is_directory(*opt.pcap_dir)) {
      std::fprintf(stderr, "mqtt-harness run: --pcap: cannot create the folder '%s': %s\n", opt.pcap_dir->c_str(),
                   ec ? ec.message().c_str() : "not a folder");
      return 2;
    }
  }

  std::optional<report::MutantProof> mutant_proof;
  if (opt.mutants_json_file) {
    std::string error;
    mutant_proof = report::load_mutant_proof(*opt.mutants_json_file, &error);
    if (!mutant_proof) {
      std::fprintf(stderr, "mqtt-harness run: --mutants-json %s\n", error.c_str());
      return 2;
    }
  }

  runner::Profile profile;
  if (opt.profile_file) {
    auto loaded = runner::load_profile(*opt.profile_file);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.error->c_str());
      return 2;
    }
    profile = std::move(loaded.profile);
  }

  const auto found = runner::collect_scenario_files(opt.paths);
  for (const auto& e : found.errors) std::fprintf(stderr, "mqtt-harness run: %s\n", e.c_str());
  if (!found.errors.empty()) return 2;
  std::string paths_text;
  for (const auto& p : opt.paths) paths_text += (paths_text.empty() ? "" : ", ") + p;
  if (found.files.empty()) {
    std::fprintf(stderr, "mqtt-harness run: no scenario file (*.yaml, *.yml) under %s\n", paths_text.c_str());
    return 2;
  }

  const std::uint64_t seed = opt.seed.value_or(
      static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) & 0xFFFFFFFFull);

  // Units in file order; a file that does not load is one unit with status error.
  struct Unit {
    std::optional<scenario::Scenario> scenario;
    std::vector<scenario::LoadError> errors;
    std::string file;
  };
  std::vector<Unit> units;
  // Every scenario found, before --protocol, --filter and --shard: what a profile's known
  // deviations are checked against (a filtered run would otherwise warn about them all).
  std::vector<std::pair<std::string, std::string>> all_found;
  for (const auto& f : found.files) {
    auto loaded = scenario::load_file(f.path);
    if (!loaded.ok()) {
      units.push_back({std::nullopt, loaded.errors, f.path});
      continue;
    }
    for (auto& s : loaded.scenarios) {
      all_found.emplace_back(s.name, s.file);
      if (opt.protocol && std::string(mqtt::to_string(s.protocol)) != *opt.protocol) continue;
      if (!runner::selected_by_filters(opt.filters, s.name, s.file)) continue;
      units.push_back({std::move(s), {}, f.path});
    }
  }
  if (units.empty()) {
    std::string why = opt.protocol ? " of MQTT " + *opt.protocol : "";
    for (std::size_t k = 0; k < opt.filters.size(); ++k) why += (k ? " or '" : " matching --filter '") + opt.filters[k] + "'";
    std::fprintf(stderr, "mqtt-harness run: no scenario%s among the %zu found under %s\n", why.c_str(), all_found.size(),
                 paths_text.c_str());
    return 2;
  }
  std::vector<std::string> warnings;  // for the JSON report, one per problem
  std::vector<std::string> warning_lines;  // for stderr
  const auto stale = runner::deviations_matching_nothing(profile, all_found);
  for (const auto* dev : stale)
    warnings.push_back(profile.file + ":" + std::to_string(dev->line) + ": known deviation `" + dev->scenario +
                       "` (" + dev->statement + ") matches no scenario under " + paths_text);
  if (stale.size() <= 3) {
    warning_lines = warnings;
  } else {  // a profile for a whole suite, run on part of it: one line, not a screenful
    std::string lines;
    for (const auto* dev : stale) lines += (lines.empty() ? "" : ", ") + std::to_string(dev->line);
    warning_lines.push_back(profile.file + ": " + std::to_string(stale.size()) + " known deviations (lines " + lines +
                            ") match no scenario under " + paths_text);
  }
  // With --shard, the report says which slice of which suite it holds, for `report merge`.
  std::optional<report::ShardInfo> shard_info;
  std::vector<std::size_t> error_units, scenario_units;  // suite unit numbers, in report order
  if (opt.shard) {
    std::vector<std::string> unit_ids;
    for (const auto& u : units)
      unit_ids.push_back(u.scenario ? u.file + "\t" + u.scenario->name + "\t" + std::string(mqtt::to_string(u.scenario->protocol))
                                    : u.file);
    shard_info = report::ShardInfo{opt.shard->index, opt.shard->count, units.size(), report::suite_fingerprint(unit_ids), {}, 0};
  }
  std::vector<Unit> selected;
  for (std::size_t i = 0; i < units.size(); ++i) {
    if (opt.shard && !runner::in_shard(*opt.shard, i)) continue;
    (units[i].scenario ? scenario_units : error_units).push_back(i);
    selected.push_back(std::move(units[i]));
  }
  if (shard_info) {
    shard_info->load_errors = error_units.size();
    shard_info->units = error_units;
    shard_info->units.insert(shard_info->units.end(), scenario_units.begin(), scenario_units.end());
  }

  bool load_errors = false;
  std::vector<report::ScenarioResult> error_results;
  std::vector<scenario::Scenario> scenarios;
  for (auto& u : selected) {
    if (u.scenario) {
      scenarios.push_back(std::move(*u.scenario));
      continue;
    }
    load_errors = true;
    report::ScenarioResult r;
    r.name = u.file;
    r.file = u.file;
    r.status = report::Status::error;
    report::Failure f;
    f.no_statement = "the scenario file does not load (an error, not a spec violation)";
    for (const auto& e : u.errors) {
      std::fprintf(stderr, "%s\n", e.to_string().c_str());
      if (f.line == 0) f.line = e.line;
      f.message += (f.message.empty() ? "" : "\n") + e.to_string();
    }
    r.failure = std::move(f);
    error_results.push_back(std::move(r));
  }

  int qargc = 1;
  char qname[] = "mqtt-harness";
  char* qargv[] = {qname, nullptr};
  QCoreApplication app(qargc, qargv);
  // The client and broker shells log every connection at debug level, the fault proxy
  // every rule at info level; progress lines are the run's stderr output. QT_LOGGING_RULES still turns them back on.
  if (qEnvironmentVariableIsEmpty("QT_LOGGING_RULES")) QLoggingCategory::setFilterRules("mqtth.*.debug=false\nmqtth.proxy.info=false");

  runner::RunSettings settings;
  settings.broker = opt.broker;
  if (opt.transport == common::Transport::mqtts) {
    std::string error;
    settings.tls = tls::make_client(opt.tls, error);
    if (!settings.tls) {
      std::fprintf(stderr, "mqtt-harness run: %s\n", error.c_str());
      return 2;
    }
  }
  settings.profile = profile;
  settings.seed = seed;
  settings.jobs = opt.jobs;
  settings.prefix_template = opt.prefix;
  settings.run_id = runner::make_run_id(seed);
  if (opt.pcap_dir) settings.pcap_dir = *opt.pcap_dir;
  settings.explore_all = opt.explore.has_value();
  if (opt.explore_max_runs) settings.explore_max_runs = *opt.explore_max_runs;
  settings.spawn = opt.spawn;
  settings.client_command = opt.client;
  settings.restart = opt.restart;
  if (opt.suppressions_file) settings.suppressions_file = *opt.suppressions_file;
  if (opt.rss_growth_limit_mib) settings.rss_growth_limit_kib = *opt.rss_growth_limit_mib * 1024;
  if (opt.stall_threshold_ms) settings.stall_threshold_ms = *opt.stall_threshold_ms;
  if (!opt.quiet)
    settings.on_progress = [](const std::string& line) {
      std::fprintf(stderr, "         %s\n", line.c_str());
      std::fflush(stderr);
    };
  if (!opt.quiet)
    settings.on_finished = [](const ScenarioOutcome& o) { print_progress(o); };

  std::string names;
  if (opt.broker) {
    if (opt.prefix == "none") {
      names = ", no prefix (topics and client ids as written)";
    } else {
      names = ", " + runner::describe_prefix(opt.prefix, settings.run_id);
    }
  }
  // The transport is part of the address in the report (docs/tls.md).
  std::string broker = opt.broker ? common::format_broker_address({opt.transport, *opt.broker}) : "embedded";
  if (settings.tls && opt.tls.insecure) broker += " (--insecure: the server certificate is not verified)";
  std::string command;
  for (const auto& word : opt.spawn) command += (command.empty() ? "" : " ") + word;
  if (!opt.client.empty()) {
    broker = "played by the harness for the client under test:";
    for (const auto& word : opt.client) broker += " " + word;
  }
  if (!opt.spawn.empty())
    broker += " (spawned: " + command + "; restart " + std::string(runner::to_string(opt.restart)) + ")";
  std::fprintf(stderr, "mqtt-harness run: %zu scenario(s), broker %s%s, seed %llu, -j %u\n", scenarios.size(),
               broker.c_str(),
               names.c_str(), static_cast<unsigned long long>(seed), opt.jobs);
  for (const auto& w : warning_lines) std::fprintf(stderr, "warning: %s\n", w.c_str());
  const auto started = std::chrono::steady_clock::now();
  const std::string started_at = iso_now();
  runner::Runner runner(settings);
  // Fail fast: no scenario starts against something that is no usable MQTT broker.
  if (auto fatal = runner.probe(scenarios)) {
    std::fprintf(stderr, "mqtt-harness run: %s\n", fatal->c_str());
    return 2;
  }
  for (const auto& w : runner.warnings()) {
    std::fprintf(stderr, "warning: %s\n", w.c_str());
    warnings.push_back(w);
  }
  for (const auto& p : runner.probes())
    if (p.skip_reason) std::fprintf(stderr, "MQTT %s scenarios are skipped: %s\n", p.protocol.c_str(), p.skip_reason->c_str());
  auto outcomes = runner.run(scenarios);
  const auto& findings = runner.findings();
  const double total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();

  report::RunReport rep;
  std::vector<const ScenarioOutcome*> extras;  // per report scenario; nullptr: a file that did not load
  for (auto& r : error_results) {
    rep.scenarios.push_back(std::move(r));
    extras.push_back(nullptr);
  }
  int known = 0;
  for (const auto& o : outcomes) {
    if (o.known_deviation) ++known;
    rep.scenarios.push_back(o.result);
    extras.push_back(&o);
  }
  report::recount(rep);
  rep.broker_failure = runner.broker_failure();
  rep.mutant_proof = std::move(mutant_proof);
  rep.summary.duration_ms = total_ms;
  rep.broker = broker;
  rep.started_at = started_at;
  rep.seed = seed;
  rep.harness_version = "0.1.0";

  std::fprintf(stderr, "%d passed, %d failed, %d skipped, %d errors\n", rep.summary.passed, rep.summary.failed,
               rep.summary.skipped, rep.summary.errors);
  for (report::SpecVersion v : report::client_run_versions(rep.scenarios)) {
    const auto c = report::client_coverage(rep.scenarios, v);
    std::fprintf(stderr, "client-side statements cited (MQTT %s): %zu of %zu client-observable (%.1f %%)\n",
                 std::string(report::to_string(v)).c_str(), c.cited, c.total, c.percent);
  }
  if (known > 0)
    std::fprintf(stderr, "(%d of the failures are known deviations of profile %s)\n", known,
                 profile.name.empty() ? profile.file.c_str() : profile.name.c_str());
  // Once per run, however many scenarios saw it.
  for (const auto& f : findings)
    std::fprintf(stderr, "%s [%s] %s (seen in %zu scenario run(s), first: %s)\n",
                 f.known_deviation ? "run finding (known deviation)" : "run finding", f.statement.c_str(),
                 f.message.c_str(), f.scenarios, f.first_scenario.c_str());
  if (!opt.spawn.empty()) {
    std::fprintf(stderr, "the spawned broker was started %d time(s)\n", runner.broker_starts());
    for (const auto& [entry, count] : runner.suppressed_reports())
      std::fprintf(stderr, "suppressed: %d broker report(s) matched '%s'\n", count, entry.c_str());
    if (const auto& b = runner.broker_failure()) {
      std::fprintf(stderr, "%s\n", runner::describe_broker_failure(*b, "when the run stopped it").c_str());
      if (!b->report.empty()) std::fprintf(stderr, "%s", b->report.c_str());
    }
  }
  std::fprintf(stderr, "finished in %s\n", seconds_text(total_ms).c_str());

  int write_errors = 0;
  auto write = [&](const std::optional<std::string>& path, const std::string& content) {
    if (!path) return;
    auto err = report::write_file(*path, content);
    if (!err.empty()) {
      std::fprintf(stderr, "mqtt-harness run: %s\n", err.c_str());
      ++write_errors;
    }
  };
  // Known deviations are in the report model (ScenarioResult::known_deviation): each writer shows them.
  if (opt.json_file) {  // dump_json never throws on invalid UTF-8
    std::optional<report::Json> spawn;
    if (!opt.spawn.empty())
      spawn = report::Json{{"command", opt.spawn}, {"restart", std::string(runner::to_string(opt.restart))},
                           {"starts", runner.broker_starts()}};
    if (spawn && opt.suppressions_file) (*spawn)["suppressed"] = runner.suppressed_reports();
    write(opt.json_file, report::dump_json(json_report(rep, extras, profile.name, findings, warnings, spawn, shard_info)) + "\n");
  }
  if (opt.junit_file) write(opt.junit_file, report::to_junit_xml(rep));
  if (opt.html_file) write(opt.html_file, report::to_html(rep));

  const int status = runner::exit_status(outcomes, load_errors, findings, runner.broker_failure().has_value());
  if (write_errors > 0) return 2;
  return status;
}

const bool registered = mqtth::cli::register_command(
    {"run", "run scenario files against the embedded broker or --broker URL", &run_command});

}  // namespace
