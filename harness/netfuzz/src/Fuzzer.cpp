// The fuzz loop: run a case on one TCP connection, apply the oracles, minimise findings,
// write them as scenarios. Blocking POSIX sockets with poll() timeouts everywhere.
#include "NetFuzz.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mqtth::netfuzz {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i) out += ' ';
    const auto b = static_cast<std::uint8_t>(bytes[i]);
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { if (fd_ >= 0) ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int connect_tcp(const std::string& host, std::uint16_t port, int timeout_ms) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1) return -1;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Close with RST, not FIN + TIME_WAIT: tens of thousands of short connections would
  // otherwise exhaust the loopback port range.
  const linger lin{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (errno != EINPROGRESS) { ::close(fd); return -1; }
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, timeout_ms) != 1) { ::close(fd); return -1; }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) { ::close(fd); return -1; }
  return fd;
}

void send_all(int fd, std::string_view data, int timeout_ms) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) { data.remove_prefix(static_cast<std::size_t>(n)); continue; }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, timeout_ms) != 1) return;
      continue;
    }
    return;  // reset / closed: the broker stopped reading, which is an answer too
  }
}

struct Received {
  std::string bytes;
  bool closed = false;
  bool timed_out = false;
};

// Reads until the peer closes, `enough(bytes)` holds, or nothing arrives for `idle_ms`.
template <class Enough>
Received receive(int fd, int idle_ms, Enough enough) {
  Received r;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, idle_ms);
    if (ready == 0) { r.timed_out = true; return r; }
    if (ready < 0 && errno == EINTR) continue;
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      r.bytes.append(buf, static_cast<std::size_t>(n));
      if (enough(r.bytes)) return r;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    r.closed = true;
    return r;
  }
}

// Packets as the broker frames the byte stream we send (a wrong Remaining Length shifts
// every later packet boundary, so framing our own packets one by one would mislead).
struct StreamFrame {
  std::optional<mqtt::PacketType> type;  // when the frame decodes
  mqtt::Error error{};                   // the first rule it breaks, per the codec
};
std::vector<StreamFrame> frame_stream(const std::vector<std::string>& packets, mqtt::Version version) {
  std::vector<StreamFrame> out;
  mqtt::Framer framer;
  for (const auto& p : packets) framer.feed(p);
  for (;;) {
    auto f = framer.next();
    if (f.status == mqtt::FrameInfo::Status::need_more) break;
    if (f.status == mqtt::FrameInfo::Status::error) { out.push_back({std::nullopt, f.error}); break; }
    auto d = mqtt::decode(f.packet, {version});
    StreamFrame sf;
    if (d.ok()) sf.type = mqtt::packet_type(d.value); else sf.error = d.error;
    out.push_back(sf);
    if (!d.ok()) break;
  }
  return out;
}

std::string packet_type_name(std::string_view packet) {
  if (packet.empty()) return "EMPTY";
  const auto t = static_cast<std::uint8_t>(packet[0]) >> 4;
  if (t == 0 || t > 15) return "RESERVED";
  return std::string(mqtt::to_string(static_cast<mqtt::PacketType>(t)));
}

// What one run of a case looked like.
struct Outcome {
  std::string kind;    // "" (nothing found), crash, sanitizer, hang, spec_invalid_bytes, spec_accepted_malformed
  std::string detail;  // exit signal / codec error / rule
  std::string spec;
};

class BrokerProcess {
 public:
  explicit BrokerProcess(std::vector<std::string> argv) : argv_(std::move(argv)) {}
  ~BrokerProcess() { stop(); }
  bool managed() const { return !argv_.empty(); }

  bool start(const std::string& host, std::uint16_t port) {
    if (!managed()) return true;
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return false;
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(pipefd[1], 1);
      ::dup2(pipefd[1], 2);
      std::vector<char*> args;
      for (auto& a : argv_) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
      ::_exit(127);
    }
    ::close(pipefd[1]);
    out_ = pipefd[0];
    ::fcntl(out_, F_SETFL, O_NONBLOCK);
    output_.clear();
    ++starts_;
    const auto t0 = Clock::now();
    while (seconds_since(t0) < 15) {
      if (exited()) return false;
      const int fd = connect_tcp(host, port, 200);
      if (fd >= 0) { ::close(fd); return true; }
      ::usleep(20000);
    }
    return false;
  }

  // Non-blocking: has it exited? Records how.
  bool exited() {
    if (pid_ <= 0) return managed();
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_ = WIFSIGNALED(status) ? std::string("signal ") + sigabbrev(WTERMSIG(status))
                                  : "exit " + std::to_string(WEXITSTATUS(status));
      drain();
      return true;
    }
    return false;
  }
  // Waits up to `ms` for an exit (a crash may lag the connection reset a little).
  bool exited_within(int ms) {
    const auto t0 = Clock::now();
    while (seconds_since(t0) * 1000 < ms) {
      if (exited()) return true;
      ::usleep(5000);
    }
    return exited();
  }

  // New output since the last call; the sanitizer oracle scans it.
  std::string drain() {
    std::string fresh;
    if (out_ < 0) return fresh;
    char buf[4096];
    for (;;) {
      const auto n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      fresh.append(buf, static_cast<std::size_t>(n));
    }
    output_ += fresh;
    if (output_.size() > 65536) output_.erase(0, output_.size() - 65536);
    return fresh;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (out_ >= 0) { ::close(out_); out_ = -1; }
  }

  const std::string& exit_description() const { return exit_; }
  const std::string& output() const { return output_; }
  int starts() const { return starts_; }

 private:
  static std::string sigabbrev(int sig) {
    switch (sig) {
      case SIGABRT: return "SIGABRT";
      case SIGSEGV: return "SIGSEGV";
      case SIGBUS: return "SIGBUS";
      case SIGFPE: return "SIGFPE";
      case SIGILL: return "SIGILL";
      case SIGKILL: return "SIGKILL";
      case SIGTERM: return "SIGTERM";
      default: return std::to_string(sig);
    }
  }
  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int out_ = -1;
  std::string output_;
  std::string exit_;
  int starts_ = 0;
};

bool is_crash_kind(const std::string& kind) { return kind == "crash" || kind == "sanitizer" || kind == "hang"; }

class Fuzzer {
 public:
  explicit Fuzzer(const FuzzOptions& o) : opt_(o), broker_(o.spawn) {}

  // Liveness oracle: a fresh CONNECT + PINGREQ must get CONNACK and PINGRESP.
  bool probe() {
    const int fd = connect_tcp(opt_.host, opt_.port, opt_.probe_timeout_ms);
    if (fd < 0) return false;
    Fd guard(fd);
    send_all(fd, probe_bytes(opt_.version, "nf-probe"), opt_.probe_timeout_ms);
    auto r = receive(fd, opt_.probe_timeout_ms, [](const std::string& b) {
      return b.size() >= 2 && b.compare(b.size() - 2, 2, std::string("\xD0\x00", 2)) == 0;
    });
    return !r.closed && !r.timed_out;
  }

  // Runs a case and all oracles; restarts a spawned broker that died or hung.
  Outcome run(const Case& c) {
    Outcome out;
    mqtt::Version version = opt_.version;
    bool connect_decodes = false;
    {
      // The broker answers in the version the CONNECT asked for.
      const auto& first = c.packets.empty() ? std::string() : c.packets.front();
      auto d = mqtt::decode(first, {});
      if (d.ok() && std::holds_alternative<mqtt::ConnectView>(d.value)) {
        version = std::get<mqtt::ConnectView>(d.value).protocol_version;
        connect_decodes = true;
      }
    }
    const auto frames = frame_stream(c.packets, version);
    // Spec: the first rule the stream breaks, and how many PINGREQs precede it.
    std::optional<std::size_t> violation;
    std::string violation_spec, violation_detail;
    std::size_t pings_before = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const auto& f = frames[i];
      if (f.error) {
        violation = i;
        violation_spec = std::string(f.error.spec);
        violation_detail = std::string(mqtt::to_string(f.error.code)) + ": " + std::string(f.error.message);
        break;
      }
      if (i == 0 && f.type != mqtt::PacketType::connect) {
        violation = i; violation_spec = "MQTT-3.1.0-1"; violation_detail = "first packet is not CONNECT";
        break;
      }
      if (i > 0 && f.type == mqtt::PacketType::connect) {
        violation = i; violation_spec = "MQTT-3.1.0-2"; violation_detail = "second CONNECT";
        break;
      }
      if (f.type == mqtt::PacketType::pingreq) ++pings_before;
    }

    Received got;
    const int fd = connect_tcp(opt_.host, opt_.port, opt_.probe_timeout_ms);
    if (fd >= 0) {
      Fd guard(fd);
      std::string all;
      for (const auto& p : c.packets) all += p;
      send_all(fd, all, opt_.case_timeout_ms);
      got = receive(fd, opt_.case_timeout_ms, [](const std::string& b) {
        return b.size() >= 2 && b.compare(b.size() - 2, 2, std::string("\xD0\x00", 2)) == 0;
      });
    }

    // Spawned broker: exit or sanitizer report.
    if (broker_.managed()) {
      const auto fresh = broker_.drain();
      if (fresh.find("ERROR: AddressSanitizer") != std::string::npos ||
          fresh.find("runtime error:") != std::string::npos) {
        out.kind = "sanitizer";
        const auto at = std::max(fresh.find("ERROR: AddressSanitizer"), std::min(fresh.find("runtime error:"), fresh.size()));
        out.detail = fresh.substr(at == std::string::npos ? 0 : at, 120);
        if (const auto nl = out.detail.find('\n'); nl != std::string::npos) out.detail.resize(nl);
      }
      if (broker_.exited() || (got.closed && got.bytes.empty() && broker_.exited_within(100))) {
        out.kind = out.kind.empty() ? "crash" : out.kind;
        if (out.detail.empty()) out.detail = broker_.exit_description();
        restart();
        return out;
      }
    }
    // Liveness.
    if (!probe()) {
      if (broker_.managed() && broker_.exited_within(500)) {
        out.kind = "crash";
        out.detail = broker_.exit_description();
      } else if (out.kind.empty()) {
        out.kind = "hang";
        out.detail = "no CONNACK+PINGRESP to a fresh connection within " + std::to_string(opt_.probe_timeout_ms) + " ms";
      }
      restart();
      return out;
    }
    if (!out.kind.empty()) return out;

    // Spec: what the broker sent must decode.
    mqtt::Framer framer;
    framer.feed(got.bytes);
    std::size_t pingresps = 0;
    for (;;) {
      auto f = framer.next();
      if (f.status == mqtt::FrameInfo::Status::need_more) break;
      mqtt::Error err = f.error;
      if (f.status == mqtt::FrameInfo::Status::complete) {
        auto d = mqtt::decode(f.packet, {version});
        if (d.ok()) {
          if (mqtt::packet_type(d.value) == mqtt::PacketType::pingresp) ++pingresps;
          continue;
        }
        err = d.error;
        // A CONNACK to a CONNECT we cannot decode: its version is unknown (a 3.1.1-shaped
        // refusal of protocol level 0xF5 is correct), so it is no evidence.
        if (!connect_decodes && !f.packet.empty() && (f.packet[0] >> 4) == 2) continue;
      }
      out.kind = "spec_invalid_bytes";
      out.spec = std::string(err.spec);
      out.detail = "broker sent bytes the codec rejects: " + std::string(mqtt::to_string(err.code)) + " at offset " +
                   std::to_string(err.offset) + ": " + std::string(err.message);
      return out;
    }
    // Spec: after a packet it must reject, the broker must close (3.1.1 4.8, 5.0 4.13):
    // a PINGRESP to a PINGREQ sent after it means it carried on.
    if (violation && pingresps > pings_before) {
      out.kind = "spec_accepted_malformed";
      out.spec = violation_spec;
      out.detail = "broker kept the connection after packet " + std::to_string(*violation) + " (" + violation_detail +
                   ") and answered a later PINGREQ";
    }
    return out;
  }

  void restart() {
    if (!broker_.managed()) {
      // Not ours to restart: wait for it to answer again (someone may restart it).
      const auto t0 = Clock::now();
      while (seconds_since(t0) < 5 && !probe()) ::usleep(100000);
      return;
    }
    broker_.stop();
    broker_up_ = broker_.start(opt_.host, opt_.port);
  }

  // Greedy delta debugging: drop packets, then byte chunks, while the case keeps producing
  // the same kind of finding. Bounded in re-runs.
  Case minimise(Case c, const std::string& kind) {
    int budget = kind == "hang" ? 6 : is_crash_kind(kind) ? 150 : 40;
    auto same = [&](const Case& candidate) {
      if (budget-- <= 0) return false;
      ++reruns_;
      return run(candidate).kind == kind;
    };
    for (std::size_t i = c.packets.size(); i-- > 0 && c.packets.size() > 1;) {
      Case t = c;
      t.packets.erase(t.packets.begin() + static_cast<std::ptrdiff_t>(i));
      if (same(t)) c = std::move(t);
    }
    for (std::size_t i = 0; i < c.packets.size(); ++i) {
      for (std::size_t chunk = std::max<std::size_t>(1, c.packets[i].size() / 2); chunk >= 1; chunk /= 2) {
        for (std::size_t at = 0; at + chunk <= c.packets[i].size();) {
          Case t = c;
          t.packets[i].erase(at, chunk);
          if (!t.packets[i].empty() && same(t)) c = std::move(t); else at += chunk;
          if (budget <= 0) break;
        }
        if (chunk == 1 || budget <= 0) break;
      }
    }
    return c;
  }

  std::string write_scenario(std::size_t n, const std::string& kind, const std::string& signature, const Case& c) {
    const auto name = "finding-" + std::to_string(n) + "-" + kind + ".yaml";
    std::ofstream f(std::filesystem::path(opt_.out_dir) / name);
    f << "# Found by `mqtt-harness fuzz` (docs/netfuzz.md); reproduce with\n"
      << "#   mqtt-harness run --broker HOST:PORT " << name << "\n"
      << "# signature: " << signature << "\n";
    f << "name: \"netfuzz finding " << n << " (" << kind << ")\"\n";
    f << "protocol: " << mqtt::to_string(opt_.version) << "\n";
    f << "timeout: 10s\n";
    f << "clients:\n  raw: {}\n  probe: {}\n";
    f << "steps:\n";
    for (const auto& p : c.packets)
      f << "  - send_raw: {client: raw, hex: \"" << to_hex(p) << "\"}  # " << packet_type_name(p) << "\n";
    if (kind == "spec_accepted_malformed")
      f << "  # A broker must close the connection after a malformed packet (5.0: DISCONNECT 0x81 first).\n"
        << "  - expect_disconnect: {client: raw, within: 2s}\n";
    f << "  # Liveness: a fresh connection still gets CONNACK and PINGRESP.\n"
      << "  - send_raw: {client: probe, hex: \"" << to_hex(probe_bytes(opt_.version, "nf-probe")) << "\"}\n"
      << "  - expect_connack: {client: probe, within: 5s}\n"
      << "  - expect_packet: {client: probe, type: PINGRESP, within: 5s}\n";
    return name;
  }

  int loop() {
    std::error_code ec;
    std::filesystem::create_directories(opt_.out_dir, ec);
    if (ec) { std::fprintf(stderr, "mqtt-harness fuzz: cannot create %s: %s\n", opt_.out_dir.c_str(), ec.message().c_str()); return 2; }
    if (broker_.managed() && !broker_.start(opt_.host, opt_.port)) {
      std::fprintf(stderr, "mqtt-harness fuzz: spawned broker did not accept on %s:%u within 15 s\n%s\n",
                   opt_.host.c_str(), opt_.port, broker_.output().c_str());
      return 2;
    }
    if (!probe()) {
      std::fprintf(stderr, "mqtt-harness fuzz: broker at %s:%u does not answer CONNECT+PINGREQ\n", opt_.host.c_str(), opt_.port);
      return 2;
    }
    struct Group { json finding; std::size_t count = 0; };
    std::map<std::string, Group> groups;        // final signature -> group
    std::map<std::string, std::string> pre;     // pre-minimisation signature -> final signature
    std::vector<std::string> order;
    const auto t0 = Clock::now();
    auto last_progress = t0;
    std::uint64_t cases = 0, last_cases = 0;
    double fuzz_seconds = 0;  // excludes minimisation
    while (seconds_since(t0) < opt_.duration_s && (opt_.max_cases == 0 || cases < opt_.max_cases)) {
      const auto case_start = Clock::now();
      const Case c = generate_case(opt_.seed, cases, opt_.version);
      const auto outcome = run(c);
      fuzz_seconds += seconds_since(case_start);
      ++cases;
      if (!outcome.kind.empty()) {
        const auto pre_sig = outcome.kind + "|" + outcome.spec + "|" + outcome.detail;
        if (auto it = pre.find(pre_sig); it != pre.end()) {
          ++groups[it->second].count;
        } else {
          const Case small = minimise(c, outcome.kind);
          const auto last = small.packets.empty() ? std::string("EMPTY") : packet_type_name(small.packets.back());
          const auto sig = outcome.kind + "|" + last + "|" + (outcome.spec.empty() ? outcome.detail : outcome.spec);
          pre[pre_sig] = sig;
          auto& g = groups[sig];
          if (g.count++ == 0) {
            order.push_back(sig);
            const auto file = write_scenario(order.size(), outcome.kind, sig, small);
            json pk = json::array();
            for (const auto& p : small.packets) pk.push_back(to_hex(p));
            g.finding = json{{"id", order.size()}, {"kind", outcome.kind},
                             {"class", is_crash_kind(outcome.kind) ? "crash" : "spec"},
                             {"signature", sig}, {"last_packet", last}, {"spec", outcome.spec},
                             {"detail", outcome.detail}, {"case_index", cases - 1},
                             {"mutations", c.mutations}, {"original_packets", c.packets.size()},
                             {"packets_hex", pk}, {"scenario", file}};
            if (opt_.progress) std::fprintf(stderr, "netfuzz: finding %zu: %s -> %s\n", order.size(), sig.c_str(), file.c_str());
          }
        }
      }
      if (opt_.progress && seconds_since(last_progress) >= 1.0) {
        const double dt = seconds_since(last_progress);
        std::fprintf(stderr, "netfuzz: %llu cases, %.0f cases/s, %zu findings, broker %s\n",
                     static_cast<unsigned long long>(cases), static_cast<double>(cases - last_cases) / dt, order.size(),
                     broker_up_ ? "up" : "down");
        last_progress = Clock::now();
        last_cases = cases;
      }
    }
    json findings = json::array();
    std::size_t crash_count = 0, spec_count = 0;
    for (const auto& sig : order) {
      auto f = groups[sig].finding;
      f["count"] = groups[sig].count;
      (f["class"] == "crash" ? crash_count : spec_count)++;
      findings.push_back(f);
    }
    const double elapsed = seconds_since(t0);
    json summary{{"broker", opt_.host + ":" + std::to_string(opt_.port)},
                 {"protocol", std::string(mqtt::to_string(opt_.version))},
                 {"seed", opt_.seed}, {"cases", cases}, {"elapsed_s", elapsed},
                 {"cases_per_s", fuzz_seconds > 0 ? static_cast<double>(cases) / fuzz_seconds : 0.0},
                 {"minimisation_runs", reruns_}, {"broker_starts", broker_.starts()},
                 {"crash_findings", crash_count}, {"spec_findings", spec_count},
                 {"findings", findings}};
    std::ofstream(std::filesystem::path(opt_.out_dir) / "findings.json") << summary.dump(2) << "\n";
    json brief = summary;
    brief.erase("findings");
    brief["findings_json"] = (std::filesystem::path(opt_.out_dir) / "findings.json").string();
    std::printf("%s\n", brief.dump().c_str());
    broker_.stop();
    return crash_count > 0 ? 1 : 0;
  }

 private:
  FuzzOptions opt_;
  BrokerProcess broker_;
  bool broker_up_ = true;
  std::uint64_t reruns_ = 0;
};

}  // namespace

int run_fuzz(const FuzzOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  Fuzzer f(options);
  return f.loop();
}

}  // namespace mqtth::netfuzz
