// `mqtt-harness fuzz`: the live-broker fuzzer (harness/netfuzz, docs/netfuzz.md).
//
//   mqtt-harness fuzz --broker HOST:PORT [--spawn -- CMD ARGS...] [--duration 10m]
//                     [--seed N] [--protocol 3.1.1|5] [--out DIR] [-j N]
#include "args.hpp"
#include "commands.hpp"

#include "mqtth/netfuzz/NetFuzz.hpp"
#include "mqtth/runner/Options.hpp"
#include "mqtth/runner/Runner.hpp"
#include "mqtth/scenario/Loader.hpp"

#include <mqtth/common/Duration.hpp>
#include <mqtth/common/BrokerAddress.hpp>

#include <QCoreApplication>
#include <QLoggingCategory>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace {

using mqtth::cli::ArgReader;

constexpr const char* kUsage =
    "usage: mqtt-harness fuzz --broker HOST:PORT [--spawn -- CMD ARGS...] [--duration 10m]\n"
    "                         [--seed N] [--protocol 3.1.1|5] [--out DIR] [-j N]\n"
    "                         [--max-cases N] [--case-timeout 500ms] [--probe-timeout 2s]\n"
    "                         [--fresh-probe-every N] [--replays N] [--stateful] [--suppressions FILE]\n"
    "                         [--stall-threshold 2s|off] [--rss-growth-limit MIB|off] [--rss-window N] [--quiet]\n"
    "                         [--shard K/N]\n"
    "       mqtt-harness fuzz merge DIR... [--out DIR]\n"
    "\n"
    "Sends generated and mutated MQTT packet sequences to a live broker, one TCP connection\n"
    "per case, and reports crashes, hangs and spec violations (docs/netfuzz.md).\n"
    "\n"
    "  --broker HOST:PORT   the broker to fuzz (IPv6 as [::1]:PORT; localhost is 127.0.0.1)\n"
    "  --spawn -- CMD...    start the broker with this command (it must listen on --broker; every\n"
    "                       {port} in it becomes that port); its exit or a sanitizer report is a\n"
    "                       crash finding, and it is restarted\n"
    "  --duration D         how long to fuzz (default 60s). D: 250ms, 1.5s, 10s, 2m, 1h;\n"
    "                       no unit means seconds\n"
    "  --seed N             case generation seed (default 1): same seed, same cases\n"
    "  --protocol V         3.1.1 or 5 (default 5)\n"
    "  --out DIR            findings: finding-N-KIND.yaml scenarios, findings.json, findings.html\n"
    "                       (default netfuzz-out)\n"
    "  -j N                 N parallel workers (1..64, default 1); worker w runs cases w, w+N, w+2N...\n"
    "  --shard K/N          this process is shard K of N with the same --seed and -j: its workers are\n"
    "                       the global workers (K-1)*j..K*j-1 of N*j, so the shards run disjoint cases\n"
    "                       (docs/scale-out.md); `fuzz merge` combines their --out folders\n"
    "  --max-cases N        stop after N cases\n"
    "  --case-timeout D     wait for the broker to close a case's half-closed connection (default 500ms)\n"
    "  --probe-timeout D    liveness probe limit; longer (twice, fresh connection) is a hang (default 2s)\n"
    "  --fresh-probe-every N  cases between fresh-connection probes per worker (default 256)\n"
    "  --replays N          with --spawn: run each reproducer N times (default 1, 0: never) with\n"
    "                       `run --spawn` before writing the findings, which record `replays N of M`\n"
    "  --stateful           every case holds 2-4 connections (subscriber, publisher, takeover,\n"
    "                       session resume, refused CONNECT) driving subscription, will, session\n"
    "                       and QoS-flow state; reproducers are multi-client scenarios\n"
    "  --suppressions FILE  with --spawn: sanitizer reports to count, not report (TYPE:PATTERN lines;\n"
    "                       the sanitizers' own suppression files too, also handed to the broker's\n"
    "                       runtime via ASAN/LSAN/UBSAN_OPTIONS; docs/netfuzz.md \"Suppressions\")\n"
    "  --stall-threshold D  a bystander client publishes QoS 1 to itself and pings every 100 ms while the\n"
    "                       cases run: a round trip over D is a `stall` finding, a message acknowledged\n"
    "                       but not delivered (or delivered twice) `qos1_lost` (`qos1_duplicate`);\n"
    "                       default 2s, off: no bystander\n"
    "  --rss-growth-limit M with --spawn: the broker's RSS growing by more than M MiB over a window of\n"
    "                       --rss-window cases (default 2000) is an `rss_growth` finding (default 64, off)\n"
    "  --quiet              no progress lines on stderr\n"
    "\n"
    "`fuzz merge DIR... [--out DIR]` keeps one finding per signature from the --out folders of many\n"
    "runs (shards), copies its reproducer and writes findings.json and findings.html (default --out\n"
    "netfuzz-merged); exit 1 when a crash/hang finding remains, 0 when none, 2 on bad input.\n"
    "\n"
    "Prints a summary JSON line on stdout (also in findings.json and findings.html). Exit status:\n"
    "0 no crash/hang finding (spec findings and suppressed reports are in findings.json), 1 crash/hang\n"
    "findings not suppressed, "
    "2 bad arguments or broker unreachable.\n";

std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return std::stoull(std::string(text));
}

// `times` runs of one reproducer as `mqtt-harness run --spawn --restart per-scenario
// --prefix none FILE` would run it; a run that exits 1 reproduced the finding.
mqtth::netfuzz::ReplayResult replay_reproducer(const mqtth::netfuzz::FuzzOptions& opt, const std::string& file,
                                               int times) {
  namespace runner = mqtth::runner;
  mqtth::netfuzz::ReplayResult result;
  auto loaded = mqtth::scenario::load_file(file);
  if (!loaded.ok()) {
    result.loads = false;
    result.error = loaded.errors.empty() ? "does not load" : loaded.errors.front().to_string();
    return result;
  }
  for (int k = 0; k < times; ++k) {
    runner::RunSettings settings;
    settings.broker = runner::Endpoint{opt.host, opt.port};
    settings.spawn = opt.spawn;
    settings.restart = runner::RestartPolicy::per_scenario;
    settings.suppressions_file = opt.suppressions_file;
    settings.prefix_template = "none";
    settings.seed = opt.seed + static_cast<std::uint64_t>(k);
    settings.run_id = runner::make_run_id(settings.seed);
    runner::Runner r(settings);
    // A replay that could not run (the broker did not start, the probe found no broker)
    // says why: it is neither a reproduction nor a clean run.
    if (const auto why = r.probe(loaded.scenarios)) {
      result.error = "the replay could not run: " + *why;
      return result;
    }
    const auto outcomes = r.run(loaded.scenarios);
    ++result.runs;
    const int status = runner::exit_status(outcomes, false, r.findings(), r.broker_failure().has_value());
    if (status == 1) ++result.failed;
    if (status == 2) {
      for (const auto& o : outcomes)
        if (o.result.status == mqtth::report::Status::error && o.result.failure) result.error = o.result.failure->message;
      if (result.error.empty()) result.error = "the replay ended in an error (exit status 2)";
      return result;
    }
  }
  return result;
}

int merge_command(int argc, char** argv) {
  ArgReader args(argc, argv, "fuzz merge", kUsage);
  std::vector<std::string> dirs;
  std::string out = "netfuzz-merged";
  while (const auto next = args.next()) {
    if (*next == "--help" || *next == "-h") return args.help();
    if (*next == "--out") {
      const auto v = args.value();
      if (!v) return 2;
      out = std::string(*v);
    } else if (next->starts_with("-")) {
      return args.bad("unknown option '" + std::string(*next) + "'");
    } else {
      dirs.emplace_back(*next);
    }
  }
  if (dirs.empty()) return args.bad("no findings folder given");
  std::string error;
  std::vector<std::string> warnings;
  const int status = mqtth::netfuzz::merge_findings(dirs, out, &error, &warnings);
  if (status == 2) {
    std::fprintf(stderr, "mqtt-harness fuzz merge: %s\n", error.c_str());
    return 2;
  }
  std::fprintf(stderr, "mqtt-harness fuzz merge: %zu folder(s) -> %s/findings.json, %s/findings.html\n", dirs.size(),
               out.c_str(), out.c_str());
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  return status;
}

int run_fuzz_command(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "merge") return merge_command(argc - 1, argv + 1);
  mqtth::netfuzz::FuzzOptions opt;
  bool have_broker = false;
  ArgReader args(argc, argv, "fuzz", kUsage);
  while (const auto next = args.next()) {
    const std::string_view arg = *next;
    if (arg == "--help" || arg == "-h") return args.help();
    if (arg == "--spawn") {
      auto command = args.rest();
      if (!command.empty() && command.front() == "--") command.erase(command.begin());
      for (auto word : command) opt.spawn.emplace_back(word);
      if (opt.spawn.empty()) return args.bad("--spawn needs a command after '--'");
      break;
    }
    if (arg == "--quiet") { opt.progress = false; continue; }
    if (arg == "--stateful") { opt.stateful = true; continue; }
    static constexpr std::string_view kValueOptions[] = {"--broker", "--duration", "--case-timeout", "--probe-timeout",
                                                         "--seed", "--max-cases", "-j", "--fresh-probe-every", "--replays",
                                                         "--protocol", "--out", "--suppressions",
                                                         "--stall-threshold", "--rss-growth-limit", "--rss-window", "--shard"};
    if (std::find(std::begin(kValueOptions), std::end(kValueOptions), arg) == std::end(kValueOptions))
      return args.bad("unknown option '" + std::string(arg) + "'");
    const auto v = args.value();
    if (!v) return 2;  // value() has said what is missing
    if (arg == "--broker") {
      const auto broker = mqtth::common::parse_broker_address(*v);
      if (!broker.value) return args.bad("--broker: " + broker.error);
      // The fuzzer's workers write raw bytes on POSIX sockets, not through Qt's TLS.
      if (broker.value->transport != mqtth::common::Transport::mqtt)
        return args.bad("--broker: the fuzzer speaks plain TCP only (mqtt://); mqtts:// is not built yet (docs/tls.md)");
      opt.host = broker.value->endpoint.host;
      opt.port = broker.value->endpoint.port;
      have_broker = true;
    } else if (arg == "--duration" || arg == "--case-timeout" || arg == "--probe-timeout") {
      // A run of up to 30 days; a single wait of up to an hour.
      const auto max = arg == "--duration" ? std::chrono::hours(720) : std::chrono::hours(1);
      const auto d = mqtth::common::parse_duration(*v, max);
      if (!d.value) return args.bad(std::string(arg) + ": " + d.error);
      if (d.value->count() == 0) return args.bad(std::string(arg) + " must be longer than 0");
      if (arg == "--duration") opt.duration_s = static_cast<double>(d.value->count()) / 1000;
      else if (arg == "--case-timeout") opt.case_timeout_ms = static_cast<int>(d.value->count());
      else opt.probe_timeout_ms = static_cast<int>(d.value->count());
    } else if (arg == "--replays") {
      const auto n = parse_number(*v);
      if (!n || *n > 100) return args.bad("--replays must be 0..100, got '" + std::string(*v) + "'");
      opt.replays = static_cast<int>(*n);
    } else if (arg == "--seed" || arg == "--max-cases" || arg == "-j" || arg == "--fresh-probe-every") {
      const auto n = parse_number(*v);
      if (!n) return args.bad(std::string(arg) + " must be a non-negative integer, got '" + std::string(*v) + "'");
      if (arg == "--seed") opt.seed = *n;
      else if (arg == "--max-cases") opt.max_cases = *n;
      else if (arg == "-j") {
        if (*n < 1 || *n > 64) return args.bad("-j must be 1..64, got '" + std::string(*v) + "'");
        opt.jobs = static_cast<int>(*n);
      } else {
        if (*n < 1 || *n > 1000000) return args.bad("--fresh-probe-every must be 1..1000000, got '" + std::string(*v) + "'");
        opt.fresh_probe_every = static_cast<int>(*n);
      }
    } else if (arg == "--protocol") {
      const auto ver = mqtt::parse_version(*v);
      if (!ver || *ver == mqtt::Version::v3_1) return args.bad("--protocol must be 3.1.1 or 5, got '" + std::string(*v) + "'");
      opt.version = *ver;
    } else if (arg == "--stall-threshold") {
      if (*v == "off") {
        opt.stall_threshold_ms = 0;
        continue;
      }
      const auto d = mqtth::common::parse_duration(*v, std::chrono::hours(1));
      if (!d.value || d.value->count() == 0) return args.bad("--stall-threshold: a duration above 0 or off, got '" + std::string(*v) + "'");
      opt.stall_threshold_ms = static_cast<int>(d.value->count());
    } else if (arg == "--rss-growth-limit" || arg == "--rss-window") {
      const auto n = *v == "off" && arg == "--rss-growth-limit" ? std::optional<std::uint64_t>(0) : parse_number(*v);
      if (!n || (arg == "--rss-window" && *n == 0))
        return args.bad(std::string(arg) + " must be a positive integer" + (arg == "--rss-growth-limit" ? " or off" : "") +
                        ", got '" + std::string(*v) + "'");
      if (arg == "--rss-window") opt.rss_window = *n;
      else opt.rss_growth_limit_kib = *n * 1024;
    } else if (arg == "--shard") {
      const auto shard = mqtth::runner::parse_shard(std::string(*v));
      if (!shard) return args.bad("--shard: expected K/N with 1 <= K <= N, got '" + std::string(*v) + "'");
      opt.shard_index = shard->index;
      opt.shard_count = shard->count;
    } else if (arg == "--suppressions") {
      opt.suppressions_file = std::string(*v);
    } else {  // --out
      opt.out_dir = std::string(*v);
    }
  }
  if (!have_broker) return args.bad("--broker HOST:PORT is required");
  // Reproducers are replayed by the scenario runner (Qt), on this thread once the workers
  // have stopped: each run starts the broker afresh and stops it after the scenario.
  int qargc = 1;
  char qname[] = "mqtt-harness";
  char* qargv[] = {qname, nullptr};
  std::optional<QCoreApplication> app;
  if (!opt.spawn.empty()) {
    app.emplace(qargc, qargv);
    if (qEnvironmentVariableIsEmpty("QT_LOGGING_RULES")) QLoggingCategory::setFilterRules("mqtth.*.debug=false");
    opt.replay = [&opt](const std::string& file, int times) { return replay_reproducer(opt, file, times); };
  }
  return mqtth::netfuzz::run_fuzz(opt);
}

const bool registered = mqtth::cli::register_command(
    {"fuzz", "fuzz a live broker with generated/mutated packet sequences", run_fuzz_command});

}  // namespace
