// `mqtt-harness run PATH... [options]`: runs scenario files (docs/runner.md; exit status:
// docs/architecture.md "Contracts").
//
// Exit status: 0 every scenario passed (skipped scenarios and known deviations do not
// count against it), 1 a scenario failed, 2 a scenario, profile or argument could not be
// used (messages name file:line:col and what is wrong).
#include <QCoreApplication>
#include <QLoggingCategory>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.hpp"
#include "mqtth/report/Report.hpp"
#include "mqtth/runner/Options.hpp"
#include "mqtth/runner/Prefix.hpp"
#include "mqtth/runner/Profile.hpp"
#include "mqtth/runner/Runner.hpp"
#include "mqtth/runner/Selection.hpp"
#include "mqtth/scenario/Loader.hpp"

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

void print_progress(const report::ScenarioResult& r, const std::optional<runner::KnownDeviation>& dev) {
  std::string status(report::to_string(r.status));
  if (dev) status = "failed (known deviation)";
  std::fprintf(stderr, "%-8s [%s] %8s  %s  (%s)\n", status.c_str(), r.protocol.c_str(),
               seconds_text(r.duration_ms).c_str(), r.name.c_str(), r.file.c_str());
  if (r.status == report::Status::skipped && !r.skip_reason.empty())
    std::fprintf(stderr, "         skipped: %s\n", r.skip_reason.c_str());
  if (r.failure && (r.status == report::Status::failed || r.status == report::Status::error)) {
    std::fprintf(stderr, "         %s\n", r.failure->message.c_str());
    if (dev)
      std::fprintf(stderr, "         known deviation %s (%s): %s\n", dev->statement.c_str(), dev->scenario.c_str(),
                   dev->reason.c_str());
    if (!r.failure->last_packets.empty() && !dev) {
      std::string client;
      for (const auto& p : r.failure->last_packets) {
        if (p.client != client) {
          client = p.client;
          std::fprintf(stderr, "         last packets of %s:\n", client.c_str());
        }
        std::string text = p.decoded.is_null() ? p.type + " " + p.hex : p.decoded.dump();
        if (text.size() > 300) text = text.substr(0, 300) + "...";
        std::fprintf(stderr, "           %s %s\n", p.direction == report::Direction::to_broker ? "->" : "<-", text.c_str());
      }
    }
  }
  std::fflush(stderr);
}

// The JSON report plus the runner's extras: `known_deviation` on a failed scenario the
// profile excuses, and `summary.known_deviations`.
report::Json json_report(const report::RunReport& rep, const std::vector<std::optional<runner::KnownDeviation>>& devs,
                         const std::string& profile_name) {
  auto j = report::to_json(rep);
  int count = 0;
  if (j.contains("scenarios") && j["scenarios"].is_array()) {
    for (std::size_t i = 0; i < j["scenarios"].size() && i < devs.size(); ++i) {
      if (!devs[i]) continue;
      ++count;
      j["scenarios"][i]["known_deviation"] = {{"statement", devs[i]->statement},
                                              {"reason", devs[i]->reason},
                                              {"profile", profile_name}};
    }
  }
  if (j.contains("summary")) j["summary"]["known_deviations"] = count;
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
  const auto& opt = parsed.options;
  if (opt.pcap_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*opt.pcap_dir, ec);
    if (ec || !std::filesystem::is_directory(*opt.pcap_dir)) {
      std::fprintf(stderr, "mqtt-harness run: --pcap: cannot create the folder '%s': %s\n", opt.pcap_dir->c_str(),
                   ec ? ec.message().c_str() : "not a folder");
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

  const std::uint64_t seed = opt.seed.value_or(
      static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) & 0xFFFFFFFFull);

  // Units in file order; a file that does not load is one unit with status error.
  struct Unit {
    std::optional<scenario::Scenario> scenario;
    std::vector<scenario::LoadError> errors;
    std::string file;
  };
  std::vector<Unit> units;
  for (const auto& f : found.files) {
    auto loaded = scenario::load_file(f.path);
    if (!loaded.ok()) {
      units.push_back({std::nullopt, loaded.errors, f.path});
      continue;
    }
    for (auto& s : loaded.scenarios) {
      if (opt.protocol && std::string(mqtt::to_string(s.protocol)) != *opt.protocol) continue;
      if (!runner::selected_by_filters(opt.filters, s.name, s.file)) continue;
      units.push_back({std::move(s), {}, f.path});
    }
  }
  std::vector<Unit> selected;
  for (std::size_t i = 0; i < units.size(); ++i)
    if (!opt.shard || runner::in_shard(*opt.shard, i)) selected.push_back(std::move(units[i]));

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
  settings.profile = profile;
  settings.seed = seed;
  settings.jobs = opt.jobs;
  settings.prefix = runner::make_run_prefix(seed);
  if (opt.pcap_dir) settings.pcap_dir = *opt.pcap_dir;
  settings.explore_all = opt.explore.has_value();
  if (opt.explore_max_runs) settings.explore_max_runs = *opt.explore_max_runs;
  if (!opt.quiet)
    settings.on_progress = [](const std::string& line) {
      std::fprintf(stderr, "         %s\n", line.c_str());
      std::fflush(stderr);
    };
  if (!opt.quiet)
    settings.on_finished = [](const report::ScenarioResult& r, const std::optional<runner::KnownDeviation>& d) {
      print_progress(r, d);
    };

  const std::string broker = opt.broker ? common::format_host_port(opt.broker->host, opt.broker->port) : "embedded";
  std::fprintf(stderr, "mqtt-harness run: %zu scenario(s), broker %s%s, seed %llu, -j %u\n", scenarios.size(),
               broker.c_str(),
               opt.broker ? (", prefix " + settings.prefix).c_str() : "", static_cast<unsigned long long>(seed), opt.jobs);
  const auto started = std::chrono::steady_clock::now();
  const std::string started_at = iso_now();
  runner::Runner runner(settings);
  auto outcomes = runner.run(scenarios);
  for (const auto& p : runner.probes())
    if (p.error) std::fprintf(stderr, "warning: %s; using defaults and the profile for MQTT %s\n", p.error->c_str(), p.protocol.c_str());
  const double total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();

  report::RunReport rep;
  std::vector<std::optional<runner::KnownDeviation>> devs;
  for (auto& r : error_results) {
    rep.scenarios.push_back(std::move(r));
    devs.emplace_back();
  }
  int known = 0;
  for (auto& o : outcomes) {
    if (o.known_deviation) ++known;
    rep.scenarios.push_back(o.result);
    devs.push_back(o.known_deviation);
  }
  report::recount(rep);
  rep.summary.duration_ms = total_ms;
  rep.broker = broker;
  rep.started_at = started_at;
  rep.seed = seed;
  rep.harness_version = "0.1.0";

  std::fprintf(stderr, "%d passed, %d failed, %d skipped, %d errors\n", rep.summary.passed, rep.summary.failed,
               rep.summary.skipped, rep.summary.errors);
  if (known > 0)
    std::fprintf(stderr, "(%d of the failures are known deviations of profile %s)\n", known,
                 profile.name.empty() ? profile.file.c_str() : profile.name.c_str());
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
  // JUnit and HTML have no field for known deviations: the failure message says it.
  report::RunReport marked = rep;
  for (std::size_t i = 0; i < marked.scenarios.size(); ++i)
    if (devs[i] && marked.scenarios[i].failure)
      marked.scenarios[i].failure->message = "KNOWN DEVIATION " + devs[i]->statement + " (" + devs[i]->reason + "): " +
                                             marked.scenarios[i].failure->message;
  if (opt.json_file) write(opt.json_file, report::dump_json(json_report(rep, devs, profile.name)) + "\n");  // never throws on invalid UTF-8
  if (opt.junit_file) write(opt.junit_file, report::to_junit_xml(marked));
  if (opt.html_file) write(opt.html_file, report::to_html(marked));

  const int status = runner::exit_status(outcomes, load_errors);
  if (write_errors > 0) return 2;
  return status;
}

const bool registered = mqtth::cli::register_command(
    {"run", "run scenario files against the embedded broker or --broker HOST:PORT", &run_command});

}  // namespace
