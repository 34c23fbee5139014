#include "mqtth/runner/Options.hpp"

#include <mqtt/codec.hpp>
#include <mqtth/common/Duration.hpp>

#include <algorithm>
#include <charconv>

namespace mqtth::runner {
namespace {

bool parse_unsigned(const std::string& text, std::uint64_t& out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

std::string_view to_string(RestartPolicy p) {
  return p == RestartPolicy::per_scenario ? "per-scenario" : "on-crash";
}

std::optional<Shard> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  std::uint64_t k = 0, n = 0;
  if (!parse_unsigned(text.substr(0, slash), k) || !parse_unsigned(text.substr(slash + 1), n))
    return std::nullopt;
  if (n == 0 || k == 0 || k > n || n > 100000) return std::nullopt;
  return Shard{static_cast<unsigned>(k), static_cast<unsigned>(n)};
}

ParseResult parse_run_args(const std::vector<std::string>& args) {
  ParseResult result;
  RunOptions& o = result.options;
  auto fail = [&](std::string message) {
    result.error = std::move(message);
    return result;
  };
  bool spawn = false;
  bool client = false;
  std::optional<std::string> restart;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> inline_value;
    if (arg.rfind("--", 0) == 0) {
      const auto eq = arg.find('=');
      if (eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    } else if (arg.rfind("-j", 0) == 0 && arg.size() > 2) {
      inline_value = arg.substr(2);
      arg = "-j";
    }
    auto value = [&](std::string& out) -> bool {
      if (inline_value) {
        out = *inline_value;
        return true;
      }
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    if (arg == "-h" || arg == "--help") {
      o.help = true;
    } else if (arg == "-q" || arg == "--quiet") {
      o.quiet = true;
    } else if (arg == "--broker") {
      if (!value(v)) return fail("--broker needs a broker address (HOST:PORT, mqtt://HOST:PORT or mqtts://HOST:PORT)");
      auto address = common::parse_broker_address(v);
      if (!address.value) return fail("--broker: " + address.error);
      o.broker = address.value->endpoint;
      o.transport = address.value->transport;
    } else if (tls::is_client_option(arg)) {
      if (tls::client_option_takes_value(arg) && !value(v)) v.clear();
      if (auto problem = tls::set_client_option(o.tls, arg, v); !problem.empty()) return fail(problem);
    } else if (arg == "--protocol") {
      if (!value(v)) return fail("--protocol needs 3.1.1 or 5");
      const auto version = mqtt::parse_version(v);  // scenarios run 3.1.1 or 5 (3.1 only as a CONNECT)
      if (!version || *version == mqtt::Version::v3_1) return fail("--protocol: expected 3.1.1 or 5, got '" + v + "'");
      o.protocol = std::string(mqtt::to_string(*version));
    } else if (arg == "-j" || arg == "--jobs") {
      if (!value(v)) return fail("-j needs a number of parallel scenarios");
      std::uint64_t n = 0;
      if (!parse_unsigned(v, n) || n == 0 || n > 256) return fail("-j: expected 1..256, got '" + v + "'");
      o.jobs = static_cast<unsigned>(n);
    } else if (arg == "--junit" || arg == "--json" || arg == "--html" || arg == "--pcap" ||
               arg == "--profile" || arg == "--mutants-json") {
      if (!value(v) || v.empty()) return fail(arg + " needs a file name");
      if (arg == "--junit") o.junit_file = v;
      else if (arg == "--json") o.json_file = v;
      else if (arg == "--html") o.html_file = v;
      else if (arg == "--pcap") o.pcap_dir = v;
      else if (arg == "--mutants-json") o.mutants_json_file = v;
      else o.profile_file = v;
    } else if (arg == "--explore") {
      if (!value(v)) return fail("--explore needs a mode (cut_points)");
      if (v != "cut_points") return fail("--explore: expected cut_points, got '" + v + "'");
      o.explore = v;
    } else if (arg == "--explore-max-runs") {
      if (!value(v)) return fail("--explore-max-runs needs a number");
      std::uint64_t n = 0;
      if (!parse_unsigned(v, n) || n == 0 || n > 10000) return fail("--explore-max-runs: expected 1..10000, got '" + v + "'");
      o.explore_max_runs = static_cast<unsigned>(n);
    } else if (arg == "--seed") {
      if (!value(v)) return fail("--seed needs a number");
      std::uint64_t n = 0;
      if (!parse_unsigned(v, n)) return fail("--seed: expected an unsigned integer, got '" + v + "'");
      o.seed = n;
    } else if (arg == "--prefix") {
      if (!value(v) || v.empty()) return fail("--prefix needs a template such as '{run}/{n}', or none");
      if (v != "none")
        if (auto problem = check_prefix_template(v)) return fail("--prefix '" + v + "': " + *problem);
      o.prefix = v;
    } else if (arg == "--filter") {
      if (!value(v) || v.empty()) return fail("--filter needs a scenario name, path or glob");
      o.filters.push_back(v);
    } else if (arg == "--shard") {
      if (!value(v)) return fail("--shard needs K/N");
      auto shard = parse_shard(v);
      if (!shard) return fail("--shard: expected K/N with 1 <= K <= N, got '" + v + "'");
      o.shard = *shard;
    } else if (arg == "--spawn") {
      spawn = true;
    } else if (arg == "--client") {
      client = true;
    } else if (arg == "--restart") {
      if (!value(v)) return fail("--restart needs per-scenario or on-crash");
      if (v != "per-scenario" && v != "on-crash") return fail("--restart: expected per-scenario or on-crash, got '" + v + "'");
      restart = v;
    } else if (arg == "--rss-growth-limit") {
      if (!value(v)) return fail("--rss-growth-limit needs a number of MiB or off");
      std::uint64_t n = 0;
      if (v == "off") n = 0;
      else if (!parse_unsigned(v, n) || n == 0 || n > 1048576)
        return fail("--rss-growth-limit: expected 1..1048576 (MiB) or off, got '" + v + "'");
      o.rss_growth_limit_mib = n;
    } else if (arg == "--stall-threshold") {
      if (!value(v)) return fail("--stall-threshold needs a duration (e.g. 1s) or off");
      if (v == "off") {
        o.stall_threshold_ms = 0;
      } else {
        const auto d = common::parse_duration(v, std::chrono::hours(1));
        if (!d.value) return fail("--stall-threshold: " + d.error);
        if (d.value->count() == 0) return fail("--stall-threshold: a duration above 0 or off, got '" + v + "'");
        o.stall_threshold_ms = static_cast<int>(d.value->count());
      }
    } else if (arg == "--suppressions") {
      if (!value(v) || v.empty()) return fail("--suppressions needs a file name");
      o.suppressions_file = v;
    } else if (arg == "--") {
      // After --spawn (--client), `--` starts the broker's (client's) command; otherwise it
      // ends the options.
      for (++i; i < args.size(); ++i) (spawn ? o.spawn : client ? o.client : o.paths).push_back(args[i]);
    } else if (!arg.empty() && arg[0] == '-' && arg != "-") {
      return fail("unknown option '" + args[i] + "' (see mqtt-harness run --help)");
    } else {
      o.paths.push_back(arg);
    }
  }
  if (!o.help && o.paths.empty()) return fail("no scenario file or folder given (see mqtt-harness run --help)");
  if (client && o.client.empty()) return fail("--client needs the client's command after '--' (the last arguments)");
  if (auto problem = tls::check_client_options(o.tls, o.transport == common::Transport::mqtts); !problem.empty())
    return fail(problem);
  if (client && (spawn || o.broker))
    return fail("--client plays the broker for a client under test: it takes no --broker or --spawn");
  if (client) {
    const bool has_port = std::any_of(o.client.begin(), o.client.end(),
                                      [](const std::string& w) { return w.find("{port}") != std::string::npos; });
    if (!has_port) return fail("--client: the command must say where to connect with {port} (and {host}: 127.0.0.1)");
  }
  if (spawn && o.spawn.empty()) return fail("--spawn needs the broker's command after '--' (the last arguments)");
  if (restart && !spawn) return fail("--restart needs --spawn (it says when the runner restarts the broker it started)");
  if (o.rss_growth_limit_mib && !spawn)
    return fail("--rss-growth-limit needs --spawn (it is the RSS of the broker the runner started)");
  if (o.stall_threshold_ms && !spawn)
    return fail("--stall-threshold needs --spawn (the bystander watches the broker the runner started)");
  if (o.stall_threshold_ms && *o.stall_threshold_ms > 0 && o.transport == common::Transport::mqtts)
    return fail("--stall-threshold: the bystander speaks plain TCP only, not mqtts:// (docs/tls.md)");
  if (o.suppressions_file && !spawn)
    return fail("--suppressions needs --spawn (it says which reports of the broker the runner started are known)");
  if (restart) o.restart = *restart == "per-scenario" ? RestartPolicy::per_scenario : RestartPolicy::on_crash;
  if (spawn && o.jobs > 1)
    return fail("--spawn runs one scenario at a time (-j 1), so that what the broker does is the doing of one scenario");
  if (spawn && !o.broker) {
    const bool has_port = std::any_of(o.spawn.begin(), o.spawn.end(),
                                      [](const std::string& w) { return w.find("{port}") != std::string::npos; });
    if (!has_port)
      return fail("--spawn: the command must say where to listen with {port} (the runner picks a free 127.0.0.1 port), "
                  "or --broker HOST:PORT must say where it listens");
  }
  return result;
}

const char* run_usage() {
  return R"(usage: mqtt-harness run PATH... [options]

Runs scenario files (PATH: a .yaml file, or a folder searched recursively for *.yaml).

options:
  --broker URL        test this broker instead of a fresh embedded broker per scenario;
                      client ids and topics then get a per-run prefix (docs/runner.md).
                      URL: HOST:PORT or mqtt://HOST:PORT (TCP), mqtts://HOST:PORT (TLS)
  --cafile FILE       with mqtts://: PEM CA certificate(s) to trust (default: the system's)
  --cert FILE --key FILE
                      with mqtts://: client certificate and key (mutual TLS)
  --tls-server-name NAME
                      with mqtts://: the name the server certificate must carry (and SNI)
  --insecure          with mqtts://: do not verify the server certificate (in the report)
  --prefix TEMPLATE|none
                      the topic prefix with --broker: {run} the run id, {n} the
                      scenario's number (default {run}/{n}: mh1a2b3c/17/t/a, client id
                      mh1a2b3c17xsub); none: topics and client ids exactly as written
  --protocol 3.1.1|5  run only this protocol version of each scenario
  -j N                run N scenarios at once (default 1)
  --junit FILE        write a JUnit XML report
  --json FILE         write the JSON report (docs/reports.md, docs/runner.md)
  --html FILE         write a self-contained HTML report (parent folders are created)
  --mutants-json FILE the JSON of an `mqtt-harness mutants` run: the reports' coverage
                      then counts a statement as proven only where its mutant was
                      killed, and lists the others as cited, not proven
  --pcap DIR          write one pcap file per client connection into DIR, named
                      <n>-v<protocol>-<scenario>--<client>--conn<k>.pcap (tshark reads them
                      as MQTT); the clients then connect through a fault proxy
  --explore cut_points
                      fault-point exploration of every scenario (as if it had
                      `explore: cut_points`): record the exchange once, then re-run the
                      scenario once per packet boundary with the link cut there
  --explore-max-runs N  at most N cut runs per scenario (default 60; `max_runs:` in
                      the scenario wins)
  --seed N            seed for everything random (payloads, prefixes); printed when not given
  --filter PATTERN    run only scenarios whose name or file path is PATTERN, or else
                      matches it as a glob (* ? [...]; a trailing " [3.1.1]" or " [5]"
                      is literal); repeatable: any match selects
  --shard K/N         run only the K-th of N deterministic slices (1 <= K <= N)
  --profile FILE      broker profile (YAML): features the broker cannot announce and
                      known deviations (profiles/*.yaml)
  --spawn [--restart on-crash|per-scenario] -- CMD ARGS...
                      start the broker with this command (the last arguments), on a
                      free 127.0.0.1 port that replaces every {port} in it (or where
                      --broker says); its crashes, sanitizer and assertion reports,
                      LeakSanitizer reports at its stop (SIGTERM) and stalls fail the
                      scenario that was running. It is restarted after a crash
                      (on-crash, the default) or around every scenario (per-scenario:
                      leaks attributed exactly). Runs one scenario at a time
  --client -- CMD ARGS...
                      test an MQTT client instead of a broker: run only `role: server`
                      scenarios; for each, listen on a free 127.0.0.1 port, start CMD
                      ({host} and {port} in it replaced) and play the broker side
                      (docs/clients.md: the adapter protocol on its stdin and stdout)
  --rss-growth-limit MIB|off
                      with --spawn: a scenario during which the broker's RSS grows by more
                      than MIB fails (`grew`; default 64, off: not watched)
  --stall-threshold DURATION|off
                      with --spawn: a bystander client publishes QoS 1 to its own
                      subscription and pings every 100 ms while the scenarios run; a
                      round trip over DURATION fails the scenario (`stall`), so does a
                      message acknowledged but not delivered (`qos1_lost`) or delivered
                      twice on one connection (`qos1_duplicate`). Default off: it adds
                      a client and its traffic (topic nf-bystander/mqtthwatchRUNID)
  --suppressions FILE with --spawn: sanitizer reports that are known, not failures
                      (TYPE:PATTERN lines, or a sanitizer's own suppression file, which
                      also reaches the broker's runtime; docs/netfuzz.md "Suppressions")
  -q, --quiet         no per-scenario progress lines on stderr

exit status: 0 all passed (skipped and known deviations do not count), 1 a scenario
failed, 2 a scenario, profile or argument could not be used.
)";
}

}  // namespace mqtth::runner
