// `mqtt-harness fuzz`: the live-broker fuzzer (harness/netfuzz, docs/netfuzz.md).
//
//   mqtt-harness fuzz --broker HOST:PORT [--spawn -- CMD ARGS...] [--duration 10m]
//                     [--seed N] [--protocol 3.1.1|5] [--out DIR] [-j N]
#include "args.hpp"
#include "commands.hpp"

#include "NetFuzz.hpp"

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
    "                         [--fresh-probe-every N] [--quiet]\n"
    "\n"
    "Sends generated and mutated MQTT packet sequences to a live broker, one TCP connection\n"
    "per case, and reports crashes, hangs and spec violations (docs/netfuzz.md).\n"
    "\n"
    "  --broker HOST:PORT   the broker to fuzz (IPv4 address or localhost)\n"
    "  --spawn -- CMD...    start the broker with this command (it must listen on --broker);\n"
    "                       its exit or a sanitizer report is a crash finding, and it is restarted\n"
    "  --duration D         how long to fuzz (100ms, 10s, 10m, 1h; default 60s)\n"
    "  --seed N             case generation seed (default 1): same seed, same cases\n"
    "  --protocol V         3.1.1 or 5 (default 5)\n"
    "  --out DIR            findings: finding-N-KIND.yaml scenarios, findings.json, findings.html\n"
    "                       (default netfuzz-out)\n"
    "  -j N                 N parallel workers (1..64, default 1); worker w runs cases w, w+N, w+2N...\n"
    "  --max-cases N        stop after N cases\n"
    "  --case-timeout D     wait for the broker to close a case's half-closed connection (default 500ms)\n"
    "  --probe-timeout D    liveness probe limit; longer (twice, fresh connection) is a hang (default 2s)\n"
    "  --fresh-probe-every N  cases between fresh-connection probes per worker (default 256)\n"
    "  --quiet              no progress lines on stderr\n"
    "\n"
    "Prints a summary JSON line on stdout (also in findings.json and findings.html). Exit status:\n"
    "0 no crash/hang finding (spec findings are in findings.json), 1 crash/hang findings,\n"
    "2 bad arguments or broker unreachable.\n";

// "100ms", "10s", "1.5m", "1h" -> seconds.
std::optional<double> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) ++digits;
  if (digits == 0) return std::nullopt;
  double value = 0;
  try { value = std::stod(std::string(text.substr(0, digits))); } catch (...) { return std::nullopt; }
  const auto unit = text.substr(digits);
  if (unit == "ms") return value / 1000;
  if (unit == "s") return value;
  if (unit == "m") return value * 60;
  if (unit == "h") return value * 3600;
  return std::nullopt;
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return std::stoull(std::string(text));
}

int run_fuzz_command(int argc, char** argv) {
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
    static constexpr std::string_view kValueOptions[] = {"--broker", "--duration", "--case-timeout", "--probe-timeout",
                                                         "--seed", "--max-cases", "-j", "--fresh-probe-every",
                                                         "--protocol", "--out"};
    if (std::find(std::begin(kValueOptions), std::end(kValueOptions), arg) == std::end(kValueOptions))
      return args.bad("unknown option '" + std::string(arg) + "'");
    const auto v = args.value();
    if (!v) return 2;  // value() has said what is missing
    if (arg == "--broker") {
      const auto colon = v->rfind(':');
      const auto port = colon == std::string_view::npos ? std::nullopt : parse_number(v->substr(colon + 1));
      if (!port || *port == 0 || *port > 65535) return args.bad("--broker must be HOST:PORT with a port 1..65535, got '" + std::string(*v) + "'");
      opt.host = std::string(v->substr(0, colon));
      opt.port = static_cast<std::uint16_t>(*port);
      have_broker = true;
    } else if (arg == "--duration" || arg == "--case-timeout" || arg == "--probe-timeout") {
      const auto d = parse_duration(*v);
      if (!d || *d <= 0) return args.bad(std::string(arg) + " must be a duration like 500ms, 10s, 10m, got '" + std::string(*v) + "'");
      if (arg == "--duration") opt.duration_s = *d;
      else if (arg == "--case-timeout") opt.case_timeout_ms = static_cast<int>(*d * 1000);
      else opt.probe_timeout_ms = static_cast<int>(*d * 1000);
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
    } else {  // --out
      opt.out_dir = std::string(*v);
    }
  }
  if (!have_broker) return args.bad("--broker HOST:PORT is required");
  return mqtth::netfuzz::run_fuzz(opt);
}

const bool registered = mqtth::cli::register_command(
    {"fuzz", "fuzz a live broker with generated/mutated packet sequences", run_fuzz_command});

}  // namespace
