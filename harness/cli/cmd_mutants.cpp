// `mqtt-harness mutants [PATH...] [--only ID] [-j N] [--json F] [--html F] [--accepted F]`:
// for each mutant (the embedded broker with one deviation switch on, docs/mutants.md) runs
// the scenarios that cite its statement plus a small smoke set, and reports it killed /
// survived / accepted / not applicable. With --wire (implied by --broker / --spawn) the
// mutants are the fault proxy's wire mutants, in front of the embedded broker or any other.
//
// Exit status: 0 every applicable mutant killed (or an accepted survivor); 1 a mutant
// survived that scenarios/mutants-accepted.yaml does not list; 2 an argument, scenario or accepted
// file could not be used, a scenario fails on the un-mutated broker, or a run ended in error.
#include <QCoreApplication>
#include <QLoggingCategory>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "mqtth/common/HostPort.hpp"
#include "mqtth/fault/FaultProxy.hpp"
#include "mqtth/mutants/Mutants.hpp"
#include "mqtth/net/BrokerServer.hpp"
#include "mqtth/process/BrokerProcess.hpp"
#include "mqtth/process/TcpConnect.hpp"
#include "mqtth/runner/Profile.hpp"
#include "mqtth/report/Report.hpp"
#include "mqtth/report/Spec.hpp"
#include "mqtth/runner/Runner.hpp"
#include "mqtth/runner/Selection.hpp"
#include "mqtth/scenario/Loader.hpp"

namespace {

using namespace mqtth;
using mqtth::cli::ArgReader;

constexpr const char* kUsage =
    "usage: mqtt-harness mutants [PATH...] [--only ID]... [-j N] [--json F] [--html F]\n"
    "                            [--accepted F] [--smoke] [--quiet] [--list] [--list-missing]\n"
    "                            [--wire [--broker HOST:PORT | --spawn -- CMD...] [--profile F]]\n"
    "\n"
    "Runs, for each mutant of the embedded broker (one deviation switch on: a statement it\n"
    "breaks on purpose, docs/mutants.md), the scenarios under PATH (default scenarios) that\n"
    "cite its statement plus a smoke set, and reports killed (a scenario failed, with the\n"
    "statement it blamed), survived, accepted (a survivor listed with a reason) or not\n"
    "applicable (no scenario cites the statement).\n"
    "\n"
    "  --only ID      only the mutants of statement ID (MQTT-x.y.z-n); repeatable\n"
    "  --smoke        only a fixed subset, one deviation per area (CI-sized, under 2 minutes)\n"
    "  -j N           scenarios run at once per mutant (1..64, default 1)\n"
    "  --json F       the JSON report\n"
    "  --html F       the HTML report (a sortable table)\n"
    "  --accepted F   surviving mutants accepted with a reason (default: the first PATH's\n"
    "                 mutants-accepted.yaml, e.g. scenarios/mutants-accepted.yaml, when it exists)\n"
    "  --quiet        no progress lines on stderr\n"
    "  --list         print the table of deviation switches (Markdown) and exit\n"
    "  --list-missing print, per version, the broker-observable statements the scenarios\n"
    "                 under PATH cite that no mutant breaks, and exit\n"
    "  --wire         the wire mutants instead: fault-proxy rules in front of the broker\n"
    "                 (default the embedded broker; --list prints their table)\n"
    "  --broker HOST:PORT  (implies --wire) the broker behind the proxy, already running\n"
    "  --spawn -- CMD...   (implies --wire) start the broker with CMD ({port}: a free port)\n"
    "  --profile F    with --wire: the broker's profile (features, known deviations; a\n"
    "                 scenario that fails as a known deviation on the plain broker kills nothing)\n"
    "\n"
    "Exit status: 0 every applicable mutant killed or accepted, 1 a mutant survived that the\n"
    "accepted file does not list, 2 bad arguments or files, a scenario failing on the\n"
    "un-mutated broker, or a run that ended in error.\n";


struct Options {
  std::vector<std::string> paths;
  std::vector<std::string> only;
  unsigned jobs = 1;
  std::optional<std::string> json_file, html_file, accepted_file;
  bool quiet = false;
  bool list_missing = false;
  bool smoke = false;
  bool wire = false;
  bool list = false;
  std::optional<runner::Endpoint> broker;
  std::vector<std::string> spawn;
  std::optional<std::string> profile_file;
};

// Where the wire mutants' scenarios connect: a fault proxy in front of the broker under
// test, whose rules are one mutant's at a time.
struct WireBench {
  std::unique_ptr<net::BrokerServer> embedded;
  std::unique_ptr<process::BrokerProcess> spawned;
  std::unique_ptr<fault::FaultProxy> proxy;
  runner::Profile profile;
};

// "3.1.1: 35 of 98 cited broker-observable statements have a mutant"
std::string cited_line(const mutants::CitedWithoutMutant& c) {
  return (c.version == mqtt::Version::v5 ? std::string("5") : std::string("3.1.1")) + ": " +
         std::to_string(c.cited.size() - c.missing.size()) + " of " + std::to_string(c.cited.size()) +
         " cited broker-observable statements have a mutant";
}

std::string seconds(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000.0);
  return buf;
}

// Runs `scenarios` against a fresh embedded broker per scenario with `config`, or, with a
// bench, through its proxy with the mutant's rules (none: the plain broker). The probe
// runs before the rules go on: it asks what the broker offers, not whether it is mutated.
std::vector<runner::ScenarioOutcome> run_against(const engine::BrokerConfig& config, WireBench* bench,
                                                 const mutants::Mutant* wire_mutant,
                                                 const std::vector<scenario::Scenario>& scenarios, unsigned jobs,
                                                 std::optional<std::string>* fatal) {
  runner::RunSettings settings;
  settings.embedded = config;
  settings.seed = 1;
  settings.jobs = jobs;
  settings.run_id = runner::make_run_id(settings.seed);
  if (bench) {
    bench->proxy->clearFaults();
    settings.broker = runner::Endpoint{"127.0.0.1", bench->proxy->port()};
    settings.profile = bench->profile;
  }
  runner::Runner r(settings);
  if (auto f = r.probe(scenarios)) {
    *fatal = f;
    return {};
  }
  if (bench && wire_mutant)
    for (const auto& spec : wire_mutant->fault_specs()) bench->proxy->addFault(*fault::parse_fault_spec(spec).rule);
  auto outcomes = r.run(scenarios);
  if (bench) bench->proxy->clearFaults();
  return outcomes;
}

// Starts what the wire mutants run against; the error says why it could not.
std::optional<std::string> start_bench(const Options& opt, WireBench* bench) {
  QHostAddress host(QHostAddress::LocalHost);
  quint16 port = 0;
  if (opt.profile_file) {
    auto loaded = runner::load_profile(*opt.profile_file);
    if (!loaded.ok()) return *loaded.error;
    bench->profile = std::move(loaded.profile);
  }
  if (opt.broker) {
    if (opt.broker->host != "localhost" && !host.setAddress(QString::fromStdString(opt.broker->host)))
      return "--broker: the host must be an IP address or 'localhost'";
    port = opt.broker->port;
  } else if (!opt.spawn.empty()) {
    port = process::free_loopback_port();
    if (port == 0) return "--spawn: no free TCP port on 127.0.0.1";
    bench->spawned = std::make_unique<process::BrokerProcess>(opt.spawn);
    if (!bench->spawned->start("127.0.0.1", port))
      return "--spawn: the broker did not start (" + bench->spawned->exit_description() + "): " +
             bench->spawned->output();
  } else {
    bench->embedded = std::make_unique<net::BrokerServer>(engine::BrokerConfig{});
    if (!bench->embedded->listen(QHostAddress(QHostAddress::LocalHost), 0)) return "the embedded broker cannot listen";
    port = bench->embedded->port();
  }
  bench->proxy = std::make_unique<fault::FaultProxy>(host, port);
  if (!bench->proxy->listen()) return "the fault proxy cannot listen: " + bench->proxy->errorString().toStdString();
  return std::nullopt;
}

int mutants_command(int argc, char** argv) {
  Options opt;
  ArgReader args(argc, argv, "mutants", kUsage);
  while (const auto next = args.next()) {
    const std::string_view arg = *next;
    if (arg == "--help" || arg == "-h") return args.help();
    if (arg == "--list") {
      opt.list = true;
      continue;
    }
    if (arg == "--wire") {
      opt.wire = true;
      continue;
    }
    if (arg == "--spawn") {
      // Like `run --spawn`: the broker's command is every argument after `--`.
      const auto dashes = args.next();
      if (!dashes || *dashes != "--") return args.bad("--spawn needs the broker's command after '--' (the last arguments)");
      while (const auto word = args.next()) opt.spawn.emplace_back(*word);
      if (opt.spawn.empty()) return args.bad("--spawn needs the broker's command after '--'");
      opt.wire = true;
      continue;
    }
    if (arg == "--smoke") {
      opt.smoke = true;
      continue;
    }
    if (arg == "--list-missing") {
      opt.list_missing = true;
      continue;
    }
    if (arg == "--quiet" || arg == "-q") {
      opt.quiet = true;
      continue;
    }
    if (arg.substr(0, 1) != "-") {
      opt.paths.emplace_back(arg);
      continue;
    }
    if (arg != "--only" && arg != "-j" && arg != "--json" && arg != "--html" && arg != "--accepted" &&
        arg != "--broker" && arg != "--profile")
      return args.bad("unknown option '" + std::string(arg) + "'");
    const auto v = args.value();
    if (!v) return 2;
    if (arg == "--only") opt.only.emplace_back(*v);
    else if (arg == "--profile") opt.profile_file = std::string(*v);
    else if (arg == "--broker") {
      const auto parsed = common::parse_host_port(*v, common::PortZero::refused);
      if (!parsed.value) return args.bad("--broker: " + parsed.error);
      opt.broker = runner::Endpoint{parsed.value->host, parsed.value->port};
      opt.wire = true;
    }
    else if (arg == "--json") opt.json_file = std::string(*v);
    else if (arg == "--html") opt.html_file = std::string(*v);
    else if (arg == "--accepted") opt.accepted_file = std::string(*v);
    else {
      const std::string text(*v);
      if (text.empty() || text.size() > 2 || text.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(text) < 1 || std::stoul(text) > 64)
        return args.bad("-j: expected a number in 1..64, got '" + text + "'");
      opt.jobs = static_cast<unsigned>(std::stoul(text));
    }
  }
  if (opt.list) {
    std::fputs((opt.wire ? mutants::wire_table_markdown() : mutants::table_markdown()).c_str(), stdout);
    return 0;
  }
  if (opt.broker && !opt.spawn.empty()) return args.bad("--broker and --spawn exclude each other");
  if (opt.profile_file && !opt.wire) return args.bad("--profile goes with --wire, --broker or --spawn");
  if (opt.wire && opt.smoke) return args.bad("--smoke is the deviation switches' subset; --wire runs every wire mutant");
  if (opt.paths.empty()) opt.paths.emplace_back("scenarios");

  mutants::AcceptedList accepted;
  // The accepted survivors live beside the scenarios they were judged against.
  const auto default_accepted = (std::filesystem::path(opt.paths.front()) / runner::kMutantsAcceptedFile).string();
  if (opt.accepted_file || std::filesystem::exists(default_accepted)) {
    accepted = mutants::load_accepted(opt.accepted_file.value_or(default_accepted));
    if (accepted.error) {
      std::fprintf(stderr, "mqtt-harness mutants: %s\n", accepted.error->c_str());
      return 2;
    }
  }
  std::vector<std::string> unknown;
  if (opt.smoke && !opt.only.empty()) return args.bad("--smoke and --only exclude each other");
  const auto selected = opt.smoke  ? mutants::smoke_mutants()
                        : opt.wire ? mutants::select_wire_mutants(opt.only, &unknown)
                                   : mutants::select_mutants(opt.only, &unknown);
  for (const auto& id : unknown)
    std::fprintf(stderr, "mqtt-harness mutants: --only %s: no mutant breaks this statement (docs/mutants.md lists them)\n",
                 id.c_str());
  if (!unknown.empty()) return 2;

  const auto found = runner::collect_scenario_files(opt.paths);
  for (const auto& e : found.errors) std::fprintf(stderr, "mqtt-harness mutants: %s\n", e.c_str());
  if (!found.errors.empty()) return 2;
  std::vector<scenario::Scenario> all;
  bool load_errors = false;
  for (const auto& f : found.files) {
    auto loaded = scenario::load_file(f.path);
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    load_errors = load_errors || !loaded.ok();
    for (auto& s : loaded.scenarios) all.push_back(std::move(s));
  }
  if (load_errors) return 2;
  if (all.empty()) {
    std::fprintf(stderr, "mqtt-harness mutants: no scenario file (*.yaml, *.yml) under the given paths\n");
    return 2;
  }

  const std::vector<mutants::CitedWithoutMutant> cited_coverage = {
      mutants::cited_without_mutant(all, mqtt::Version::v3_1_1), mutants::cited_without_mutant(all, mqtt::Version::v5)};
  if (opt.list_missing) {
    for (const auto& c : cited_coverage) {
      std::printf("%s; without one:\n", cited_line(c).c_str());
      const auto sv = c.version == mqtt::Version::v5 ? report::SpecVersion::v5 : report::SpecVersion::v3_1_1;
      for (const auto& id : c.missing)
        std::printf("  %-15s %s\n", id.c_str(), std::string(report::find_statement(sv, id)->summary).c_str());
    }
    return 0;
  }

  // Per mutant, the indexes of its scenarios: the citing ones, then the smoke set.
  std::vector<std::vector<std::size_t>> plan(selected.size());
  std::set<std::size_t> union_of_plans;
  for (std::size_t m = 0; m < selected.size(); ++m) {
    const auto& mutant = selected[m];
    bool cited = false;
    for (std::size_t i = 0; i < all.size(); ++i)
      if (mutants::runs_under(all[i], mutant.version) && mutants::cites(all[i], mutant.statement())) {
        plan[m].push_back(i);
        cited = true;
      }
    if (!cited) continue;  // not applicable: nothing runs
    for (std::size_t i = 0; i < all.size(); ++i)
      if (mutants::runs_under(all[i], mutant.version) && mutants::is_smoke(all[i]) &&
          std::find(plan[m].begin(), plan[m].end(), i) == plan[m].end())
        plan[m].push_back(i);
    union_of_plans.insert(plan[m].begin(), plan[m].end());
  }

  int qargc = 1;
  char qname[] = "mqtt-harness";
  char* qargv[] = {qname, nullptr};
  QCoreApplication app(qargc, qargv);
  // Every mutant makes the client sessions log broker violations: the kills say it once each.
  if (qEnvironmentVariableIsEmpty("QT_LOGGING_RULES"))
    QLoggingCategory::setFilterRules("mqtth.*.debug=false\nmqtth.*.warning=false\nmqtth.proxy.info=false");

  WireBench bench_storage;
  WireBench* bench = nullptr;
  if (opt.wire) {
    if (auto err = start_bench(opt, &bench_storage)) {
      std::fprintf(stderr, "mqtt-harness mutants: %s\n", err->c_str());
      return 2;
    }
    bench = &bench_storage;
  }

  const auto started = std::chrono::steady_clock::now();
  auto elapsed_ms = [](std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
  };
  // A kill only means something if the same scenarios pass on the un-mutated broker.
  {
    std::vector<scenario::Scenario> baseline;
    for (auto i : union_of_plans) baseline.push_back(all[i]);
    if (!opt.quiet)
      std::fprintf(stderr, "mqtt-harness mutants: %zu mutant(s); baseline: %zu scenario run(s) on the un-mutated broker\n",
                   selected.size(), baseline.size());
    std::optional<std::string> fatal;
    const auto outcomes = run_against(engine::BrokerConfig{}, bench, nullptr, baseline, opt.jobs, &fatal);
    if (fatal) {
      std::fprintf(stderr, "mqtt-harness mutants: %s\n", fatal->c_str());
      return 2;
    }
    int failing = 0;
    std::set<std::string> known_failures;  // files failing as a profile's known deviation
    for (const auto& o : outcomes)
      if (o.result.status == report::Status::failed && o.known_deviation) {
        known_failures.insert(o.result.file);
      } else if (o.result.status == report::Status::failed || o.result.status == report::Status::error) {
        ++failing;
        std::fprintf(stderr, "baseline %s: %s (%s)\n", std::string(report::to_string(o.result.status)).c_str(),
                     o.result.name.c_str(), o.result.file.c_str());
        if (o.result.failure) std::fputs(report::console_failure(o.result, "         ").c_str(), stderr);
      }
    if (failing > 0) {
      std::fprintf(stderr, "mqtt-harness mutants: %d scenario run(s) fail on the un-mutated broker: no verdict\n", failing);
      return 2;
    }
    // A scenario that already fails on the plain broker, as its profile expects, kills nothing.
    if (!known_failures.empty()) {
      if (!opt.quiet) {
        std::fprintf(stderr, "mqtt-harness mutants: %zu scenario file(s) fail as known deviations of the profile: not run\n",
                     known_failures.size());
        for (const auto& f : known_failures) std::fprintf(stderr, "  %s\n", f.c_str());
      }
      for (auto& p : plan)
        p.erase(std::remove_if(p.begin(), p.end(), [&](std::size_t i) { return known_failures.count(all[i].file) > 0; }),
                p.end());
    }
  }

  std::vector<mutants::MutantResult> results;
  for (std::size_t m = 0; m < selected.size(); ++m) {
    mutants::MutantResult r;
    r.mutant = selected[m];
    const auto mutant_started = std::chrono::steady_clock::now();
    if (!plan[m].empty()) {
      std::vector<scenario::Scenario> subset;
      for (auto i : plan[m]) subset.push_back(all[i]);
      std::optional<std::string> fatal;
      const auto outcomes = run_against(r.mutant.broker_config(), bench, &r.mutant, subset, opt.jobs, &fatal);
      if (fatal) r.errors.push_back("probe: " + *fatal);
      for (std::size_t k = 0; k < outcomes.size(); ++k) {
        const auto& res = outcomes[k].result;
        r.scenarios.push_back(res.name);
        if (res.status == report::Status::failed)
          r.kills.push_back({res.name, res.file, res.failure ? res.failure->statement : std::string(),
                             mutants::is_smoke(subset[k]) && !mutants::cites(subset[k], r.mutant.statement())});
        else if (res.status == report::Status::error)
          r.errors.push_back(res.name + ": " + (res.failure ? res.failure->message : std::string("error")));
      }
      if (fatal && r.scenarios.empty()) r.scenarios.push_back("(probe)");
    }
    r.verdict = mutants::decide(r, accepted);
    if (r.verdict == mutants::Verdict::accepted) r.accepted_reason = accepted.find(r.mutant)->reason;
    r.duration_ms = elapsed_ms(mutant_started);
    if (!opt.quiet) {
      std::string detail;
      if (r.verdict == mutants::Verdict::killed) {
        const auto& k = r.kills.front();
        detail = " by " + k.scenario + " (" + (k.statement.empty() ? "no statement" : k.statement) + ")";
        if (r.kills.size() > 1) detail += " and " + std::to_string(r.kills.size() - 1) + " more";
      } else if (r.verdict == mutants::Verdict::survived || r.verdict == mutants::Verdict::accepted) {
        detail = ": " + std::to_string(r.scenarios.size()) + " scenario run(s) passed";
        if (r.verdict == mutants::Verdict::accepted) detail += "; accepted: " + r.accepted_reason;
      } else if (r.verdict == mutants::Verdict::not_applicable) {
        detail = ": no scenario cites it";
      } else {
        detail = ": " + r.errors.front();
      }
      std::fprintf(stderr, "[%zu/%zu] %-14s %-22s %s%s (%s)\n", m + 1, selected.size(),
                   std::string(mutants::to_string(r.verdict)).c_str(), r.mutant.id().c_str(),
                   std::string(r.mutant.name()).c_str(), detail.c_str(), seconds(r.duration_ms).c_str());
      std::fflush(stderr);
    }
    results.push_back(std::move(r));
  }
  const double total_ms = elapsed_ms(started);

  for (const auto& v : {std::optional<mqtt::Version>(mqtt::Version::v3_1_1), std::optional<mqtt::Version>(mqtt::Version::v5),
                        std::optional<mqtt::Version>()}) {
    const auto s = mutants::score(results, v);
    const char* name = !v ? "all" : *v == mqtt::Version::v5 ? "5" : "3.1.1";
    std::fprintf(stderr, "%-5s killed %d, survived %d, accepted %d, not applicable %d, errors %d: score %.1f %%\n", name,
                 s.killed, s.survived, s.accepted, s.not_applicable, s.errors, s.percent());
  }
  for (const auto& c : cited_coverage)
    std::fprintf(stderr, "%s (--list-missing names the others)\n", cited_line(c).c_str());
  std::fprintf(stderr, "finished in %s\n", seconds(total_ms).c_str());
  for (const auto& e : accepted.entries)
    for (const auto& r : results)
      if (e.matches(r.mutant) && r.verdict == mutants::Verdict::killed)
        std::fprintf(stderr, "warning: %s is listed as an accepted survivor but was killed\n", r.mutant.id().c_str());

  int write_errors = 0;
  auto write = [&](const std::optional<std::string>& path, const std::string& content) {
    if (!path) return;
    if (auto err = report::write_file(*path, content); !err.empty()) {
      std::fprintf(stderr, "mqtt-harness mutants: %s\n", err.c_str());
      ++write_errors;
    }
  };
  auto json = mutants::to_json(results, total_ms);
  for (const auto& c : cited_coverage) {
    auto& j = json["by_protocol"][c.version == mqtt::Version::v5 ? "5" : "3.1.1"];
    j["cited_statements"] = c.cited.size();
    j["cited_without_mutant"] = c.missing;
  }
  write(opt.json_file, report::dump_json(json) + "\n");
  write(opt.html_file, mutants::to_html(results, total_ms));
  if (write_errors > 0) return 2;
  return mutants::exit_status(results);
}

const bool registered = mqtth::cli::register_command(
    {"mutants", "prove the scenarios notice a broker breaking each statement they cite (docs/mutants.md)",
     &mutants_command});

}  // namespace
