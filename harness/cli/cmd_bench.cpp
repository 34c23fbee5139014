// `mqtt-harness bench`: load and latency with the QoS ledger proving nothing was lost
// (harness/bench, docs/bench.md).
//
// Without --broker it starts `mqtt-harness broker --listen 127.0.0.1:0` as a child process
// (its own process, so the kernel can give broker and harness separate cores) and stops it
// at the end; --in-process runs the embedded BrokerServer on the harness's own event loop.
// Exit status: 0 every stream's verdict held, 1 a verdict violated / messages unacknowledged
// / connection lost, 2 bad arguments or no broker.
#include "args.hpp"
#include "commands.hpp"

#include "mqtth/net/BrokerServer.hpp"

#include <mqtth/bench/Bench.hpp>
#include <mqtth/bench/BenchMerge.hpp>
#include <mqtth/common/Duration.hpp>
#include <mqtth/common/BrokerAddress.hpp>
#include <mqtth/tls/Tls.hpp>
#include <mqtth/process/BrokerProcess.hpp>

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QElapsedTimer>
#include <QProcess>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <sstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h>

namespace {

using mqtth::cli::ArgReader;

constexpr const char* kUsage =
    "usage: mqtt-harness bench [--broker URL [TLS options] | --in-process] [--publishers N] [--subscribers N]\n"
    "                          [--topics N] [--qos 0|1|2] [--payload BYTES]\n"
    "                          [--rate MSG/S | --messages N] [--duration D] [--window N]\n"
    "                          [--protocol 3.1.1|5] [--json FILE] [--html FILE] [--quiet]\n"
    "                          [--hdr-log FILE] [--shard K/N|auto] [--start-at TIME]\n"
    "       mqtt-harness bench merge LOG... [--workers N] [--skew-bound D] [--json FILE] [--hdr-log FILE]\n"
    "\n"
    "Publishes load, measures throughput and publish-to-delivery latency, and checks with the\n"
    "QoS ledger that no QoS 1/2 message was lost, duplicated (QoS 2) or reordered.\n"
    "\n"
    "  --broker URL        broker to load: HOST:PORT, mqtt://HOST:PORT or mqtts://HOST:PORT (TLS, with\n"
    "                      --cafile, --cert/--key, --tls-server-name, --insecure as for `run`, docs/tls.md);\n"
    "                      default: start `mqtt-harness broker` as a child process\n"
    "  --in-process        run the embedded broker in this process instead (shares one core)\n"
    "  --publishers N      publishing clients (default 1)\n"
    "  --subscribers N     subscribing clients (default 1)\n"
    "  --topics N          topics (default: one per publisher); publisher p uses topic p mod N;\n"
    "                      subscriber s takes the topics t with t mod subscribers = s\n"
    "                      (or topic s mod N when there are fewer topics than subscribers)\n"
    "  --qos Q             0, 1 or 2 (default 0)\n"
    "  --payload BYTES     user payload after the ledger identity prefix (min 16, default 16)\n"
    "  --rate R            open loop: R messages/s in total at fixed intended times; latency\n"
    "                      from the intended time (no coordinated omission). Needs --duration\n"
    "                      (default 10s)\n"
    "  --messages N        closed loop: N messages in total, each publisher keeping at most\n"
    "                      --window (default 100) undelivered messages (default mode, N=100000)\n"
    "  --duration D        open loop length; in closed loop an optional time cap. D: 250ms,\n"
    "                      1.5s, 10s, 2m, 1h; no unit means seconds\n"
    "  --drain D           after the last send, wait up to D of silence (default 5s)\n"
    "  --max-in-flight N   QoS 1/2 window on the wire (default: broker's Receive Maximum / 20)\n"
    "  --protocol V        3.1.1 or 5 (default 5)\n"
    "  --json FILE         all figures as JSON\n"
    "  --html FILE         report with throughput and latency plots (inline SVG)\n"
    "  --quiet             no progress lines on stderr\n"
    "  --hdr-log FILE      the latency histogram as an HdrHistogram interval log, with this\n"
    "                      worker's counts and ledger totals (for `bench merge`, docs/scale-out.md)\n"
    "  --shard K/N|auto    this worker is K of N (recorded in the log); auto: K from\n"
    "                      JOB_COMPLETION_INDEX (0-based) and N from MQTTH_SHARD_COUNT, or\n"
    "                      CI_NODE_INDEX (1-based) and CI_NODE_TOTAL\n"
    "  --start-at TIME     wait until TIME (seconds since the epoch, or 2026-12-08T04:00:00Z) to start\n"
    "\n"
    "`bench merge` adds the workers' histograms (exact merged percentiles), counts and ledgers\n"
    "and prints the merged figures as JSON; a worker whose log is missing or cut short is a dead\n"
    "worker (exit 1), start times further apart than --skew-bound (default 1s) a warning.\n"
    "\n"
    "Exit status: 0 all ledger verdicts held, 1 a verdict violated or the run failed,\n"
    "2 bad arguments or no broker.\n";

std::optional<double> parse_number(const std::string& s, double min, double max) {
  try {
    std::size_t used = 0;
    const double v = std::stod(s, &used);
    if (used != s.size() || !(v >= min && v <= max)) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

// CPU seconds (user + system) of a live process, from /proc/<pid>/stat fields 14 and 15.
std::optional<double> process_cpu_seconds(qint64 pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
}

// --shard K/N or auto (the index variables of Kubernetes Indexed Jobs and GitLab parallel).
std::optional<mqtth::bench::WorkerShard> parse_worker_shard(const std::string& text, std::string& error) {
  auto env = [](const char* name) -> std::optional<long> {
    const char* v = std::getenv(name);
    if (!v || !*v) return std::nullopt;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    return *end ? std::nullopt : std::optional<long>(n);
  };
  long k = 0, n = 0;
  if (text == "auto") {
    if (auto i = env("JOB_COMPLETION_INDEX"), c = env("MQTTH_SHARD_COUNT"); i && c) {
      k = *i + 1;
      n = *c;
    } else if (auto i2 = env("CI_NODE_INDEX"), c2 = env("CI_NODE_TOTAL"); i2 && c2) {
      k = *i2;
      n = *c2;
    } else {
      error = "--shard auto: set JOB_COMPLETION_INDEX and MQTTH_SHARD_COUNT, or CI_NODE_INDEX and CI_NODE_TOTAL";
      return std::nullopt;
    }
  } else {
    const auto slash = text.find('/');
    char* end = nullptr;
    k = slash == std::string::npos ? 0 : std::strtol(text.substr(0, slash).c_str(), &end, 10);
    n = slash == std::string::npos ? 0 : std::strtol(text.c_str() + slash + 1, &end, 10);
  }
  if (k < 1 || n < 1 || k > n || n > 100000) {
    error = "--shard: expected K/N with 1 <= K <= N (or auto), got '" + text + "' (K " + std::to_string(k) + ", N " + std::to_string(n) + ")";
    return std::nullopt;
  }
  return mqtth::bench::WorkerShard{static_cast<unsigned>(k), static_cast<unsigned>(n)};
}

// --start-at: seconds since the epoch, or YYYY-MM-DDTHH:MM:SSZ (UTC).
std::optional<double> parse_start_at(const std::string& text) {
  if (auto n = parse_number(text, 0, 1e11)) return n;
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) return std::nullopt;
  return static_cast<double>(timegm(&tm));
}

double wall_clock_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int bench_merge_command(int argc, char** argv) {
  ArgReader args(argc, argv, "bench merge", kUsage);
  std::vector<std::string> files;
  std::optional<std::string> json_path, log_path;
  mqtth::bench::MergeSettings settings;
  while (const auto next = args.next()) {
    const std::string_view arg = *next;
    if (arg == "--help" || arg == "-h") return args.help();
    if (!arg.starts_with("-")) {
      files.emplace_back(arg);
      continue;
    }
    if (arg != "--json" && arg != "--hdr-log" && arg != "--workers" && arg != "--skew-bound")
      return args.bad("unknown option '" + std::string(arg) + "'");
    const auto v = args.value();
    if (!v) return 2;
    if (arg == "--json") json_path = std::string(*v);
    else if (arg == "--hdr-log") log_path = std::string(*v);
    else if (arg == "--workers") {
      const auto n = parse_number(std::string(*v), 1, 100000);
      if (!n || *n != std::floor(*n)) return args.bad("--workers: expected 1..100000");
      settings.expected_workers = static_cast<unsigned>(*n);
    } else {
      const auto d = mqtth::common::parse_duration(*v, std::chrono::hours(24));
      if (!d.value) return args.bad("--skew-bound: " + d.error);
      settings.skew_bound_s = static_cast<double>(d.value->count()) / 1000;
    }
  }
  if (files.empty()) return args.bad("no worker log given");
  std::vector<mqtth::bench::WorkerFile> inputs;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::optional<std::string> text;
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    inputs.push_back({f, text});
  }
  auto merged = mqtth::bench::merge_workers(inputs, settings);
  std::printf("%s\n", merged.json.dump(2).c_str());
  for (const auto& d : merged.json["dead_workers"]) std::fprintf(stderr, "dead worker: %s\n", d.get<std::string>().c_str());
  for (const auto& w : merged.json["warnings"]) std::fprintf(stderr, "warning: %s\n", w.get<std::string>().c_str());
  if (merged.violated) std::fprintf(stderr, "ledger: %s stream(s) violated across the workers\n", merged.json["ledger"]["violated"].dump().c_str());
  int write_errors = 0;
  if (json_path) {
    std::ofstream out(*json_path);
    out << merged.json.dump(2) << "\n";
    if (!out) ++write_errors, std::fprintf(stderr, "mqtt-harness bench merge: cannot write %s\n", json_path->c_str());
  }
  if (log_path) {
    std::ofstream out(*log_path);
    out << mqtth::bench::write_interval_log(merged.log);
    if (!out) ++write_errors, std::fprintf(stderr, "mqtt-harness bench merge: cannot write %s\n", log_path->c_str());
  }
  if (write_errors) return 2;
  return merged.dead_worker || merged.violated ? 1 : 0;
}

int run_bench_command(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "merge") return bench_merge_command(argc - 1, argv + 1);
  mqtth::bench::BenchOptions o;
  std::optional<std::string> broker, json_path, html_path, hdr_log_path;
  std::optional<mqtth::bench::WorkerShard> shard;
  std::optional<double> start_at;
  bool in_process = false;
  bool messages_given = false;
  mqtth::tls::ClientOptions tls_options;

  ArgReader args(argc, argv, "bench", kUsage);
  while (const auto next = args.next()) {
    const std::string_view arg = *next;
    auto text = [&]() -> std::optional<std::string> {  // nullopt: value() has said what is missing
      const auto v = args.value();
      return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
    };
    // A number in [min, max]; nullopt (after the message) when missing or out of range.
    auto number = [&](double min, double max, const char* expected) -> std::optional<double> {
      const auto v = args.value();
      if (!v) return std::nullopt;
      const auto n = parse_number(std::string(*v), min, max);
      if (!n) args.bad(std::string(arg) + ": expected " + expected);
      return n;
    };
    // A duration (mqtth/common/Duration.hpp: 10s, 1.5, 2m ...) above 0 and up to `max`, in
    // seconds; nullopt (after the message) when missing or not one.
    auto seconds = [&](std::chrono::milliseconds max) -> std::optional<double> {
      const auto v = args.value();
      if (!v) return std::nullopt;
      const auto d = mqtth::common::parse_duration(*v, max);
      if (!d.value || d.value->count() == 0) {
        args.bad(std::string(arg) + ": " + (d.value ? "must be longer than 0" : d.error));
        return std::nullopt;
      }
      return static_cast<double>(d.value->count()) / 1000;
    };
    std::optional<double> n;
    if (arg == "--help" || arg == "-h") return args.help();
    else if (arg == "--in-process") in_process = true;
    else if (arg == "--quiet") o.progress = false;
    else if (arg == "--broker") { if (!(broker = text())) return 2; }
    else if (mqtth::tls::is_client_option(arg)) {
      std::string v;
      if (mqtth::tls::client_option_takes_value(arg)) {
        const auto given = text();
        if (!given) return 2;
        v = *given;
      }
      if (auto problem = mqtth::tls::set_client_option(tls_options, arg, v); !problem.empty()) return args.bad(problem);
    }
    else if (arg == "--json") { if (!(json_path = text())) return 2; }
    else if (arg == "--html") { if (!(html_path = text())) return 2; }
    else if (arg == "--hdr-log") { if (!(hdr_log_path = text())) return 2; }
    else if (arg == "--shard") {
      const auto v = text();
      if (!v) return 2;
      std::string error;
      if (!(shard = parse_worker_shard(*v, error))) return args.bad(error);
    }
    else if (arg == "--start-at") {
      const auto v = text();
      if (!v) return 2;
      if (!(start_at = parse_start_at(*v))) return args.bad("--start-at: expected seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ, got '" + *v + "'");
    }
    else if (arg == "--protocol") {
      const auto v = args.value();
      if (!v) return 2;
      const auto version = mqtt::parse_version(*v);
      if (!version || *version == mqtt::Version::v3_1) return args.bad("--protocol: expected 3.1.1 or 5");
      o.version = *version;
    }
    else if (arg == "--publishers") { if (!(n = number(1, 10000, "1..10000"))) return 2; o.publishers = int(*n); }
    else if (arg == "--subscribers") { if (!(n = number(0, 10000, "0..10000"))) return 2; o.subscribers = int(*n); }
    else if (arg == "--topics") { if (!(n = number(1, 100000, "1..100000"))) return 2; o.topics = int(*n); }
    else if (arg == "--qos") {
      if (!(n = number(0, 2, "0, 1 or 2"))) return 2;
      if (*n != std::floor(*n)) return args.bad("--qos: expected 0, 1 or 2");
      o.qos = std::uint8_t(*n);
    }
    else if (arg == "--payload") { if (!(n = number(16, 256 * 1024 * 1024, "16..268435456 bytes"))) return 2; o.payload = std::size_t(*n); }
    else if (arg == "--rate") { if (!(n = number(0.001, 1e8, "a positive number of messages/s"))) return 2; o.rate = *n; }
    else if (arg == "--messages") { if (!(n = number(1, 1e12, "a positive count"))) return 2; o.messages = std::uint64_t(*n); messages_given = true; }
    else if (arg == "--duration") { if (!(n = seconds(std::chrono::seconds(1'000'000)))) return 2; o.duration_s = *n; }
    else if (arg == "--drain") { if (!(n = seconds(std::chrono::seconds(3600)))) return 2; o.drain_s = *n; }
    else if (arg == "--window") { if (!(n = number(1, 1e6, "1..1000000"))) return 2; o.window = std::uint32_t(*n); }
    else if (arg == "--max-in-flight") { if (!(n = number(1, 65535, "1..65535"))) return 2; o.max_in_flight = std::uint16_t(*n); }
    else return args.bad("unknown argument '" + std::string(arg) + "'");
  }
  if (o.rate > 0 && messages_given) return args.bad("--rate and --messages exclude each other");
  if (o.rate > 0 && o.duration_s <= 0) o.duration_s = 10;
  if (o.rate <= 0 && !messages_given) o.messages = 100000;
  if (broker && in_process) return args.bad("--broker and --in-process exclude each other");
  std::optional<mqtth::common::BrokerAddress> address;
  if (broker) {
    auto parsed = mqtth::common::parse_broker_address(*broker);
    if (!parsed.value) return args.bad("--broker: " + parsed.error);
    address = parsed.value;
  }
  const bool mqtts = address && address->transport == mqtth::common::Transport::mqtts;
  if (auto problem = mqtth::tls::check_client_options(tls_options, mqtts); !problem.empty()) return args.bad(problem);

  int qt_argc = 1;
  QCoreApplication app(qt_argc, argv);
  // The client shell logs every connection at debug level; the bench's stderr is its
  // progress lines (as in `run`). QT_LOGGING_RULES still turns them back on.
  if (qEnvironmentVariableIsEmpty("QT_LOGGING_RULES")) QLoggingCategory::setFilterRules("mqtth.*.debug=false");
  std::unique_ptr<mqtth::net::BrokerServer> embedded;
  std::unique_ptr<QProcess> child;

  if (address) {
    o.host = address->endpoint.host;
    o.port = address->endpoint.port;
    o.broker_label = mqtth::common::format_broker_address(*address);
    if (mqtts) {
      std::string error;
      o.tls = mqtth::tls::make_client(tls_options, error);
      if (!o.tls) return args.bad(error);
      if (tls_options.insecure) o.broker_label += " (--insecure: the server certificate is not verified)";
    }
  } else if (in_process) {
    embedded = std::make_unique<mqtth::net::BrokerServer>(mqtth::engine::BrokerConfig{});
    if (!embedded->listen(QHostAddress::LocalHost, 0))
      return args.bad("embedded broker cannot listen: " + embedded->errorString().toStdString());
    o.port = embedded->port();
    o.broker_label = "embedded (in-process)";
  } else {
    child = std::make_unique<QProcess>();
    child->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    child->start(QCoreApplication::applicationFilePath(), {"broker", "--listen", "127.0.0.1:0"});
    std::optional<mqtth::common::HostPort> listening;
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 10000 && !listening) {
      if (child->canReadLine() || child->waitForReadyRead(500)) {
        if (child->canReadLine()) listening = mqtth::process::parse_listening_line(child->readLine().toStdString());
      } else if (child->state() == QProcess::NotRunning) {
        break;
      }
    }
    if (!listening) return args.bad("the child broker did not start");
    o.host = listening->host;
    o.port = listening->port;
    o.broker_label = "embedded (child process)";
  }

  if (o.progress) {
    std::fprintf(stderr, "bench: %s at %s, %d -> %d, QoS %d, %zu-byte payload, %s\n", o.broker_label.c_str(),
                 mqtth::common::format_host_port(o.host, o.port).c_str(), o.publishers, o.subscribers, int(o.qos), o.payload,
                 o.rate > 0 ? ("open loop " + std::to_string(o.rate) + " msg/s for " +
                               std::to_string(o.duration_s) + " s").c_str()
                            : ("closed loop " + std::to_string(o.messages) + " messages").c_str());
  }
  if (start_at) {
    // Workers on many hosts start their load together (their clocks agreeing: NTP).
    const double wait = *start_at - wall_clock_s();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    else if (wait < -1 && o.progress) std::fprintf(stderr, "bench: --start-at was %.1f s ago: starting now\n", -wait);
  }
  const double started_at = wall_clock_s();
  auto result = mqtth::bench::run_bench(o);

  if (child) {
    result.broker_cpu_s = process_cpu_seconds(child->processId());
    child->terminate();
    if (!child->waitForFinished(5000)) {
      child->kill();
      child->waitForFinished(2000);
    }
  }

  std::fputs(mqtth::bench::summary_text(result).c_str(), stdout);
  if (json_path) {
    std::ofstream out(*json_path);
    out << mqtth::bench::to_json(result).dump(2) << "\n";
    if (!out) std::fprintf(stderr, "mqtt-harness bench: cannot write %s\n", json_path->c_str());
  }
  if (html_path) {
    std::ofstream out(*html_path);
    out << mqtth::bench::to_html(result);
    if (!out) std::fprintf(stderr, "mqtt-harness bench: cannot write %s\n", html_path->c_str());
  }
  if (hdr_log_path) {
    std::ofstream out(*hdr_log_path);
    out << mqtth::bench::write_interval_log(mqtth::bench::worker_log(result, started_at, shard));
    if (!out) std::fprintf(stderr, "mqtt-harness bench: cannot write %s\n", hdr_log_path->c_str());
  }
  if (!result.connected) return 2;
  return result.passed() ? 0 : 1;
}

const bool registered = mqtth::cli::register_command(
    {"bench", "load and latency benchmark with QoS ledger verdicts", &run_bench_command});

}  // namespace
