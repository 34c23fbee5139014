// `mqtt-harness fuzz`: the live-broker fuzzer (harness/netfuzz, docs/netfuzz.md).
//
//   mqtt-harness fuzz --broker HOST:PORT [--spawn -- CMD ARGS...] [--duration 10m]
//                     [--seed N] [--protocol 3.1.1|5] [--out DIR] [-j N]
#include "commands.hpp"

#include "NetFuzz.hpp"

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace {

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

int usage_error(const std::string& message) {
  std::fprintf(stderr, "mqtt-harness fuzz: %s\n(see mqtt-harness fuzz --help)\n", message.c_str());
  return 2;
}

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
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string_view> {
      if (i + 1 >= argc) return std::nullopt;
      (void)name;
      return std::string_view(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") { std::fputs(kUsage, stdout); return 0; }
    if (arg == "--spawn") {
      if (i + 1 < argc && std::string_view(argv[i + 1]) == "--") ++i;
      for (++i; i < argc; ++i) opt.spawn.emplace_back(argv[i]);
      if (opt.spawn.empty()) return usage_error("--spawn needs a command after '--'");
      break;
    }
    if (arg == "--quiet") { opt.progress = false; continue; }
    const auto v = value(arg);
    if (!v) return usage_error(std::string(arg) + " needs a value");
    if (arg == "--broker") {
      const auto colon = v->rfind(':');
      const auto port = colon == std::string_view::npos ? std::nullopt : parse_number(v->substr(colon + 1));
      if (!port || *port == 0 || *port > 65535) return usage_error("--broker must be HOST:PORT with a port 1..65535, got '" + std::string(*v) + "'");
      opt.host = std::string(v->substr(0, colon));
      opt.port = static_cast<std::uint16_t>(*port);
      have_broker = true;
    } else if (arg == "--duration" || arg == "--case-timeout" || arg == "--probe-timeout") {
      const auto d = parse_duration(*v);
      if (!d || *d <= 0) return usage_error(std::string(arg) + " must be a duration like 500ms, 10s, 10m, got '" + std::string(*v) + "'");
      if (arg == "--duration") opt.duration_s = *d;
      else if (arg == "--case-timeout") opt.case_timeout_ms = static_cast<int>(*d * 1000);
      else opt.probe_timeout_ms = static_cast<int>(*d * 1000);
    } else if (arg == "--seed" || arg == "--max-cases" || arg == "-j" || arg == "--fresh-probe-every") {
      const auto n = parse_number(*v);
      if (!n) return usage_error(std::string(arg) + " must be a non-negative integer, got '" + std::string(*v) + "'");
      if (arg == "--seed") opt.seed = *n;
      else if (arg == "--max-cases") opt.max_cases = *n;
      else if (arg == "-j") {
        if (*n < 1 || *n > 64) return usage_error("-j must be 1..64, got '" + std::string(*v) + "'");
        opt.jobs = static_cast<int>(*n);
      } else {
        if (*n < 1 || *n > 1000000) return usage_error("--fresh-probe-every must be 1..1000000, got '" + std::string(*v) + "'");
        opt.fresh_probe_every = static_cast<int>(*n);
      }
    } else if (arg == "--protocol") {
      const auto ver = mqtt::parse_version(*v);
      if (!ver || *ver == mqtt::Version::v3_1) return usage_error("--protocol must be 3.1.1 or 5, got '" + std::string(*v) + "'");
      opt.version = *ver;
    } else if (arg == "--out") {
      opt.out_dir = std::string(*v);
    } else {
      return usage_error("unknown option '" + std::string(arg) + "'");
    }
  }
  if (!have_broker) return usage_error("--broker HOST:PORT is required");
  return mqtth::netfuzz::run_fuzz(opt);
}

const bool registered = mqtth::cli::register_command(
    {"fuzz", "fuzz a live broker with generated/mutated packet sequences", run_fuzz_command});

}  // namespace
