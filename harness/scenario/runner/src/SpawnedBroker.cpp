#include "SpawnedBroker.hpp"

#include "mqtth/runner/Runner.hpp"

#include <mqtth/process/Bystander.hpp>
#include <mqtth/process/SanitizerReport.hpp>
#include <mqtth/process/TcpConnect.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include <unistd.h>

namespace mqtth::runner {
namespace {

// A report is found in what the broker printed since the last judgement; a broker that
// logs every packet prints a lot per scenario, so only the last 4 MiB are kept.
constexpr std::size_t kUnscannedKept = std::size_t{4} << 20;
constexpr std::size_t kTailLines = 20;
constexpr int kExitAfterSilenceMs = 1000;

constexpr auto kBystanderInterval = std::chrono::milliseconds(100);

}  // namespace

// The bystander's cycles on a thread of their own. pause() returns once no cycle runs, so
// a cycle never straddles the broker's stop (it would see a stall or a lost message that
// the stop caused); resume() starts over on a new connection.
class SpawnedBroker::BystanderThread {
 public:
  BystanderThread(const process::TcpAddress& at, mqtt::Version version, std::string client_id, int stall_ms)
      : give_up_(4 * std::max(stall_ms, 1000)),
        bystander_(at, version, std::move(client_id), stall_ms, static_cast<int>(give_up_.count())),
        thread_([this] { loop(); }) {}
  ~BystanderThread() {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void pause() {
    std::lock_guard lock(mu_);  // held by a running cycle: returns after it
    paused_ = true;
  }
  // On a (re)started broker; what it saw of the previous one is dropped (a crash is judged
  // as a crash, not as the message it lost). Returns after its first cycle on this broker
  // (bounded by the give-up time), so that it watches from the first step of a scenario.
  void resume() {
    std::unique_lock lock(mu_);
    paused_ = false;
    reconnect_ = true;
    first_.reset();
    const auto before = cycles_;
    wake_.notify_all();
    cycled_.wait_for(lock, give_up_, [&] { return cycles_ > before; });
  }
  std::optional<process::BystanderEvent> take() {
    std::lock_guard lock(mu_);
    return std::exchange(first_, std::nullopt);
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    while (!quit_) {
      wake_.wait_for(lock, kBystanderInterval, [this] { return quit_; });
      if (quit_ || paused_) continue;
      if (std::exchange(reconnect_, false)) bystander_.disconnect();
      // The lock is held through the cycle: pause() waits for it.
      if (auto event = bystander_.cycle(); event && !first_) first_ = std::move(event);
      ++cycles_;
      cycled_.notify_all();
    }
  }

  std::chrono::milliseconds give_up_;
  process::Bystander bystander_;
  std::mutex mu_;
  std::condition_variable wake_, cycled_;
  std::uint64_t cycles_ = 0;
  bool quit_ = false, paused_ = true, reconnect_ = false;
  std::optional<process::BystanderEvent> first_;
  std::thread thread_;  // last: it starts once everything it uses is there
};

SpawnedBroker::SpawnedBroker(std::vector<std::string> command, Endpoint at, std::chrono::milliseconds stop_grace,
                             std::string suppressions_file, std::uint64_t rss_growth_limit_kib)
    : process_(std::move(command)), at_(std::move(at)), stop_grace_(stop_grace),
      suppressions_file_(std::move(suppressions_file)), rss_growth_limit_kib_(rss_growth_limit_kib) {}

SpawnedBroker::~SpawnedBroker() {
  bystander_.reset();
  notifier_.reset();
  process_.kill();
}

void SpawnedBroker::watch_with_bystander(mqtt::Version version, std::string client_id, int stall_ms) {
  const auto at = process::resolve_tcp(at_.host, at_.port);
  if (!at || stall_ms <= 0) return;
  bystander_ = std::make_unique<BystanderThread>(*at, version, std::move(client_id), stall_ms);
  if (running()) bystander_->resume();
}

std::optional<report::BrokerFailure> SpawnedBroker::judge_bystander() {
  const auto event = bystander_ ? bystander_->take() : std::nullopt;
  if (!event) return std::nullopt;
  report::BrokerFailure f;
  f.kind = event->kind;
  f.report = event->detail + "\n";
  f.output_tail = process::last_lines(process_.output(), kTailLines);
  return f;
}

std::optional<std::string> SpawnedBroker::start() {
  notifier_.reset();
  unscanned_.clear();
  if (!suppressions_file_.empty() && !suppressions_) {
    std::string error;
    suppressions_ = process::Suppressions::load(suppressions_file_, error);
    if (!suppressions_) return "--suppressions " + error;
    // The sanitizer-native entries, one file per runtime, for the broker's own runtime.
    const auto dir = std::filesystem::temp_directory_path() / ("mqtth-suppressions-" + std::to_string(::getpid()));
    process_.set_environment(suppressions_->runtime_environment(dir.string(), error));
    if (!error.empty()) return "--suppressions: " + error;
  }
  if (process_.start(at_.host, at_.port)) {
    watch_output();
    rss_baseline_kib_ = process_.resident_kib().value_or(0);
    if (bystander_) bystander_->resume();
    return std::nullopt;
  }
  if (process_.port_taken())
    return "the spawned broker was not started: " + common::format_host_port(at_.host, at_.port) +
           " already accepts connections (another process listens there, and would be tested in its place)";
  process_.stop(stop_grace_);
  std::string why = process_.exit_description().empty() ? "it did not accept a TCP connection within 15 s"
                                                         : "it ended (" + process_.exit_description() + ")";
  const auto tail = process::last_lines(process_.output(), kTailLines);
  return "the spawned broker did not start on " + common::format_host_port(at_.host, at_.port) + ": " + why +
         (tail.empty() ? std::string() : "; its last output:\n" + tail);
}

void SpawnedBroker::watch_output() {
  if (process_.output_fd() < 0) return;
  notifier_ = std::make_unique<QSocketNotifier>(process_.output_fd(), QSocketNotifier::Read);
  QObject::connect(notifier_.get(), &QSocketNotifier::activated, [this] {
    drain();
    // At end of file the pipe stays readable: stop watching it.
    if (process_.output_ended() && notifier_) notifier_->setEnabled(false);
  });
}

void SpawnedBroker::drain() {
  unscanned_ += process_.drain();
  if (unscanned_.size() > kUnscannedKept) unscanned_.erase(0, unscanned_.size() - kUnscannedKept);
}

bool SpawnedBroker::running() { return process_.starts() > 0 && process_.output_fd() >= 0 && !process_.exited(); }

std::optional<process::SanitizerReport> SpawnedBroker::unsuppressed_report() {
  for (auto& r : process::find_sanitizer_reports(unscanned_)) {
    if (suppressions_)
      if (const auto entry = suppressions_->match(r)) {
        ++suppressed_[*entry];
        continue;
      }
    return std::move(r);
  }
  return std::nullopt;
}

report::BrokerFailure SpawnedBroker::failure(std::string kind, const std::optional<process::SanitizerReport>& r) {
  report::BrokerFailure f;
  f.kind = std::move(kind);
  if (r) {
    f.sanitizer = r->kind;
    f.report = r->excerpt;
  }
  f.output_tail = process::last_lines(process_.output(), kTailLines);
  unscanned_.clear();
  return f;
}

std::optional<report::BrokerFailure> SpawnedBroker::after_scenario(bool answered) {
  // An exit is a crash even when only suppressed reports explain it: the scenario did not
  // run against a live broker to its end.
  if (process_.exited() || (!answered && process_.exited_within(kExitAfterSilenceMs))) {
    drain();
    auto f = failure("crashed", unsuppressed_report());
    f.exit = process_.exit_description();
    return f;
  }
  drain();
  auto report = unsuppressed_report();
  if (!answered) return failure("stalled", report);
  if (report) return failure("sanitizer", report);
  unscanned_.clear();
  if (auto seen = judge_bystander()) return seen;
  return judge_rss();
}

std::optional<report::BrokerFailure> SpawnedBroker::judge_rss() {
  const auto now = process_.resident_kib();
  if (!now || rss_growth_limit_kib_ == 0) return std::nullopt;
  const auto before = std::exchange(rss_baseline_kib_, *now);
  if (before == 0 || *now <= before + rss_growth_limit_kib_) return std::nullopt;
  report::BrokerFailure f;
  f.kind = "grew";
  f.report = "RSS grew from " + std::to_string(before / 1024) + " MiB to " + std::to_string(*now / 1024) +
             " MiB (limit " + std::to_string(rss_growth_limit_kib_ / 1024) + " MiB per scenario; VmRSS of /proc/" +
             "PID/status)\n";
  f.output_tail = process::last_lines(process_.output(), kTailLines);
  return f;
}

std::optional<report::BrokerFailure> SpawnedBroker::stop() {
  if (process_.starts() == 0 || process_.output_fd() < 0) return std::nullopt;
  if (bystander_) bystander_->pause();
  notifier_.reset();
  auto grew = judge_rss();  // before the stop: a stopped process has no RSS
  auto seen = judge_bystander();
  const auto how = process_.stop(stop_grace_);
  unscanned_ += how.output;
  drain();
  auto f = failure("", unsuppressed_report());
  f.exit = process_.exit_description();
  if (!how.was_running) f.kind = "crashed";
  else if (how.killed) f.kind = "stalled";
  else if (f.sanitizer == "LeakSanitizer") f.kind = "leaked";
  else if (!f.sanitizer.empty() || (f.exit != "exit 0" && f.exit != "signal SIGTERM")) f.kind = "crashed";
  else return seen ? seen : grew;
  return f;
}

std::string describe_broker_failure(const report::BrokerFailure& f, const std::string& when) {
  std::string out = "the spawned broker ";
  if (f.kind == "crashed") out += "crashed";
  else if (f.kind == "leaked") out += "leaked memory (LeakSanitizer)";
  else if (f.kind == "stalled") out += "stalled";
  else if (f.kind == "grew") out += "grew beyond the RSS limit";
  else if (f.kind == "stall") out += "kept a bystander client waiting beyond --stall-threshold";
  else if (f.kind == "qos1_lost") out += "lost a bystander client's QoS 1 message (4.3.2: a PUBACK takes ownership)";
  else if (f.kind == "qos1_duplicate") out += "delivered a bystander client's QoS 1 message twice on one connection";
  else out += "reported a bug (" + f.sanitizer + ")";
  if (!f.exit.empty()) out += " (" + f.exit + ")";
  out += " " + when;
  if (f.kind == "stalled" && f.exit == "signal SIGKILL") out += ": it did not exit after SIGTERM and was killed";
  else if (f.kind == "stalled") out += ": no CONNACK to a fresh connection's CONNECT";
  if (!f.report.empty()) {
    auto headline = f.report.substr(0, f.report.find('\n'));
    // "==1234==ERROR: ..." without the process id, which differs on every run.
    if (headline.rfind("==", 0) == 0)
      if (const auto end = headline.find("==", 2); end != std::string::npos) headline.erase(0, end + 2);
    out += ": " + headline;
  }
  return out;
}

}  // namespace mqtth::runner
