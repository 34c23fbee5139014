// The fuzz loop: N workers each run cases on their own TCP connections, apply the oracles;
// crash/hang suspicions are confirmed and attributed with every worker paused; findings are
// minimised and written as scenarios. Blocking POSIX sockets with poll() timeouts everywhere.
#include "NetFuzz.hpp"
#include "FindingsHtml.hpp"

#include <mqtth/report/Report.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <deque>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <thread>

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

// Case connections (`for_case`) carry one write and a half-close, so Nagle never delays
// anything (no TCP_NODELAY), and only the broker's close matters: SO_RCVLOWAT keeps the
// kernel from waking the worker for each answer segment; end-of-stream wakes it anyway.
int connect_tcp(const std::string& host, std::uint16_t port, int timeout_ms, bool for_case = false) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1) return -1;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  if (for_case) {
    const int low_water = 1 << 16;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &low_water, sizeof low_water);
  } else {
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
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

void send_all(int fd, std::string_view data, int timeout_ms, int flags = 0) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | flags);
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
  bool poll_first = true;
  for (;;) {
    if (poll_first) {
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, idle_ms);
      if (ready == 0) { r.timed_out = true; return r; }
      if (ready < 0 && errno == EINTR) continue;
    }
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    // After data, read on at once: the end of the stream is usually there already (a case
    // socket is woken only at end-of-stream, see connect_tcp).
    poll_first = n <= 0;
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
std::string type_name_of(std::uint8_t first_byte) {
  const auto t = first_byte >> 4;
  if (t == 0 || t > 15) return "RESERVED";
  return std::string(mqtt::to_string(static_cast<mqtt::PacketType>(t)));
}
std::string packet_type_name(std::string_view packet) {
  return packet.empty() ? "EMPTY" : type_name_of(static_cast<std::uint8_t>(packet[0]));
}
std::string packet_type_name(mqtt::Bytes packet) { return packet.empty() ? "EMPTY" : type_name_of(packet[0]); }

struct StreamFrame {
  std::optional<mqtt::PacketType> type;  // when the frame decodes
  mqtt::Error error{};                   // the first rule it breaks, per the codec
  std::string type_name;                 // from its first byte, also when it does not decode
};
std::vector<StreamFrame> frame_stream(const std::vector<std::string>& packets, mqtt::Version version) {
  std::vector<StreamFrame> out;
  mqtt::Framer framer;
  std::string stream;
  for (const auto& p : packets) { framer.feed(p); stream += p; }
  std::size_t at = 0;
  for (;;) {
    auto f = framer.next();
    if (f.status == mqtt::FrameInfo::Status::need_more) break;
    const auto name = packet_type_name(std::string_view(stream).substr(std::min(at, stream.size())));
    if (f.status == mqtt::FrameInfo::Status::error) { out.push_back({std::nullopt, f.error, name}); break; }
    at += f.packet.size();
    auto d = mqtt::decode(f.packet, {version});
    StreamFrame sf;
    sf.type_name = name;
    if (d.ok()) sf.type = mqtt::packet_type(d.value); else sf.error = d.error;
    out.push_back(sf);
    if (!d.ok()) break;
  }
  return out;
}

// Triage of the spec oracle (docs/netfuzz.md, "Spec findings against mosquitto"): codec
// rejections whose breach the spec does not make the receiving Server's business. They
// are obligations of the sender only, or the receiver MAY check, so a Server that carries
// on conforms; and a Server must forward some of them unaltered. Counted, not reported.
std::optional<std::string> lenient_on_receipt(mqtt::Version version, const std::string& type, const mqtt::Error& e) {
  const auto spec = e.spec;
  const auto msg = e.message;
  if (e.code == mqtt::Errc::payload_format_invalid) return "payload vs Payload Format Indicator (receiver MAY check, 3.3.2.3.2)";
  if (type == "PUBLISH" && msg == "property value must be 0 or 1") return "Payload Format Indicator value other than 0/1 (no receiver rule)";
  if (type == "PUBLISH" && msg.find("subscription_identifier") != std::string_view::npos) return "Subscription Identifier in a Client PUBLISH (MQTT-3.3.4-6, sender obligation)";
  // Both versions: 3.1.1 has no statement on the minimal encoding at all, and its
  // MQTT-3.3.1-2 is the same sender rule as 5.0's (DUP is not a reserved flag in either).
  if (spec == "MQTT-1.5.5-1") return "non-minimal Variable Byte Integer (MQTT-1.5.5-1, sender obligation)";
  if (spec == "MQTT-3.3.1-2") return "DUP 1 on a QoS 0 PUBLISH (MQTT-3.3.1-2, sender obligation)";
  if (version != mqtt::Version::v5) return std::nullopt;
  if (spec == "MQTT-3.3.2-13" || spec == "MQTT-3.3.2-14") return "Response Topic content (MQTT-3.3.2-14, sender obligation)";
  if (spec == "MQTT-3.4.2-1" || spec == "MQTT-3.5.2-1" || spec == "MQTT-3.6.2-1" || spec == "MQTT-3.7.2-1")
    return "undefined reason code in a PUBACK/PUBREC/PUBREL/PUBCOMP (sender obligation)";
  if (spec == "MQTT-4.8.2-1" || spec == "MQTT-4.8.2-2") return "Shared Subscription filter syntax (MQTT-4.8.2-1/-2, client obligation; no receiver rule)";
  return std::nullopt;
}

// Content of a PUBLISH the Server must pass on unaltered (MQTT-3.3.2-4 Payload Format
// Indicator, MQTT-3.3.2-15 Response Topic): bad bytes there came from the publisher.
bool forwarded_unaltered(const std::string& type, const mqtt::Error& e) {
  if (type != "PUBLISH") return false;
  return e.code == mqtt::Errc::payload_format_invalid || e.message == "property value must be 0 or 1" ||
         e.spec == "MQTT-3.3.2-13" || e.spec == "MQTT-3.3.2-14";
}

// What one run of a case looked like.
struct Outcome {
  std::string kind;    // "" (nothing found), crash, sanitizer, hang, spec_invalid_bytes, spec_accepted_malformed
  std::string detail;  // exit signal / codec error / rule
  std::string spec;
  std::string packet;  // spec kinds: type of the offending packet (ours or the broker's)
  std::string rule;    // spec kinds: spec id, else codec error code and message (no offsets)
  std::string lenient; // set instead of kind: a triaged non-finding (counted only)
  bool previous_case = false;  // a liveness failure that points at the worker's previous case
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

bool ends_with_pingresp(const std::string& b) {
  return b.size() >= 2 && b.compare(b.size() - 2, 2, std::string("\xD0\x00", 2)) == 0;
}

// A CONNECT (clean, keep alive 0 so the broker never drops it while a worker is paused).
std::string persistent_probe_connect(mqtt::Version version, const std::string& client_id) {
  mqtt::Connect c;
  c.protocol_name = "MQTT";
  c.protocol_version = version;
  c.client_id = client_id;
  c.keep_alive = 0;
  return mqtt::encode_to_string(mqtt::Packet(c), version).value;
}

// A finding's reproducer: earlier cases (connections) that must run first, then the case.
struct Finding {
  std::vector<Case> before;
  Case last;
};

// One case as it ran: kept in a short history so a crash or hang noticed later can be
// replayed on a fresh broker and attributed to the case that caused it.
struct Ran {
  std::uint64_t index = 0;
  std::uint64_t seq = 0;    // global start order
  std::uint64_t epoch = 0;  // broker incarnation it ran against
  Case c;
};

struct Worker {
  int id = 0;
  int probe_fd = -1;
  std::uint64_t probe_epoch = 0;
  std::uint64_t since_fresh = 0;
  bool owes_liveness = false;  // the last case's liveness proof is still to come (run(defer))
  ~Worker() { close_probe(); }
  void close_probe() {
    if (probe_fd >= 0) ::close(probe_fd);
    probe_fd = -1;
  }
};

class Fuzzer {
 public:
  explicit Fuzzer(const FuzzOptions& o) : opt_(o), broker_(o.spawn) {}

  // Liveness oracle, full form: a fresh connection's CONNECT + PINGREQ get CONNACK and
  // PINGRESP within `timeout_ms`. Proves the accept path too.
  // Each worker probes with its own client ids: two probes with one id would take over
  // each other's session (MQTT-3.1.4-3) and look like a hang.
  bool fresh_probe(int timeout_ms, int worker = -1) {
    ++fresh_probes_;
    const int fd = connect_tcp(opt_.host, opt_.port, timeout_ms);
    if (fd < 0) return false;
    Fd guard(fd);
    send_all(fd, probe_bytes(opt_.version, worker < 0 ? "nf-probe" : "nf-fresh-" + std::to_string(worker)), timeout_ms);
    auto r = receive(fd, timeout_ms, ends_with_pingresp);
    return !r.closed && !r.timed_out;
  }

  // Liveness oracle, fast form: PINGREQ on the worker's persistent connection (opened with
  // CONNECT + PINGREQ when missing or when the broker was restarted since).
  bool ping(Worker& w) {
    ++probe_pings_;
    const auto epoch = epoch_.load();
    if (w.probe_fd >= 0 && w.probe_epoch != epoch) w.close_probe();
    if (w.probe_fd < 0) {
      const int fd = connect_tcp(opt_.host, opt_.port, opt_.probe_timeout_ms);
      if (fd < 0) return false;
      send_all(fd, persistent_probe_connect(opt_.version, "nf-probe-" + std::to_string(w.id)) + std::string("\xC0\x00", 2),
               opt_.probe_timeout_ms);
      auto r = receive(fd, opt_.probe_timeout_ms, ends_with_pingresp);
      if (r.closed || r.timed_out) { ::close(fd); return false; }
      w.probe_fd = fd;
      w.probe_epoch = epoch;
      return true;
    }
    send_all(w.probe_fd, std::string("\xC0\x00", 2), opt_.probe_timeout_ms);
    auto r = receive(w.probe_fd, opt_.probe_timeout_ms, ends_with_pingresp);
    if (r.closed || r.timed_out) { w.close_probe(); return false; }
    return true;
  }

  // Runs a case and the oracles. `fresh` forces a fresh-connection liveness probe.
  // A crash/hang outcome here is a suspicion; `confirm_and_attribute` decides.
  Outcome run(Worker& w, const Case& c, bool fresh, bool defer = false) {
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
    std::string violation_spec, violation_detail, violation_packet, violation_lenient;
    std::size_t pings_before = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const auto& f = frames[i];
      if (f.error) {
        violation = i;
        violation_spec = std::string(f.error.spec);
        violation_detail = std::string(mqtt::to_string(f.error.code)) + ": " + std::string(f.error.message);
        violation_packet = f.type_name;
        if (auto why = lenient_on_receipt(version, f.type_name, f.error)) violation_lenient = *why;
        break;
      }
      if (i == 0 && f.type != mqtt::PacketType::connect) {
        violation = i; violation_spec = "MQTT-3.1.0-1"; violation_detail = "first packet is not CONNECT";
        violation_packet = f.type_name;
        break;
      }
      if (i > 0 && f.type == mqtt::PacketType::connect) {
        violation = i; violation_spec = "MQTT-3.1.0-2"; violation_detail = "second CONNECT";
        violation_packet = f.type_name;
        break;
      }
      if (f.type == mqtt::PacketType::pingreq) ++pings_before;
    }

    // The case: all bytes at once, then a half-close. A broker that read everything sees
    // end-of-stream and closes, so the case ends at once instead of after a quiet period,
    // and everything it sent in answer arrives before that close.
    Received got;
    bool connected = false;
    const int fd = connect_tcp(opt_.host, opt_.port, opt_.probe_timeout_ms, true);
    if (fd >= 0) {
      connected = true;
      Fd guard(fd);
      std::string all;
      for (const auto& p : c.packets) all += p;
      // MSG_MORE holds the bytes until the shutdown, which then sends them with the FIN in
      // one segment: the broker reads the case and its end in one go.
      send_all(fd, all, opt_.case_timeout_ms, MSG_MORE);
      ::shutdown(fd, SHUT_WR);
      got = receive(fd, opt_.case_timeout_ms, [](const std::string&) { return false; });
      if (got.timed_out) ++case_timeouts_;
    }

    // Spawned broker: exit or sanitizer report.
    if (broker_.managed()) {
      std::lock_guard lock(broker_mu_);
      const auto fresh_out = broker_.drain();
      const auto asan = fresh_out.find("ERROR: AddressSanitizer");
      const auto ubsan = fresh_out.find("runtime error:");
      if (asan != std::string::npos || ubsan != std::string::npos) {
        out.kind = "sanitizer";
        out.detail = fresh_out.substr(std::min(asan, ubsan), 160);
        if (const auto nl = out.detail.find('\n'); nl != std::string::npos) out.detail.resize(nl);
      }
      if (broker_.exited()) {
        if (out.kind.empty()) out.kind = "crash";
        if (out.detail.empty()) out.detail = broker_.exit_description();
        return out;
      }
      if (!out.kind.empty()) return out;
    }
    // Liveness after the case (and after the worker's previous case, if that one still
    // owes its proof), first proof that applies:
    // - a PINGRESP to the case's own sentinel PINGREQ: alive after processing all of it;
    // - a fresh-connection probe (every --fresh-probe-every cases, or when the case could
    //   not even connect);
    // - in the fuzz loop (`defer`), the proof is left to the worker's next case: a CONNACK
    //   on that case's connection proves the broker alive after this one (a new connection
    //   was accepted and served since this one ended: what a fresh probe shows). A probe
    //   PINGREQ follows the last case. Not for a case the broker did not close in time;
    // - a PINGREQ on the worker's persistent probe connection, when the previous case
    //   still owes its proof and this case got no CONNACK to give it (covers both).
    // Effects of a case's close that show later are caught by a later case and attributed
    // by replay (confirm_and_attribute).
    const bool answered = ends_with_pingresp(got.bytes);
    if (answered) ++sentinel_answered_;
    const bool connack = connected && !got.bytes.empty() && (static_cast<std::uint8_t>(got.bytes[0]) >> 4) == 2;
    const bool owed_before = w.owes_liveness;
    w.owes_liveness = false;
    bool alive = true;
    if (fresh || !connected) alive = fresh_probe(opt_.probe_timeout_ms, w.id);
    else if (answered) alive = true;
    else if (defer && !got.timed_out && (connack || !owed_before)) w.owes_liveness = true;
    else alive = ping(w);
    if (!alive) {
      out = liveness_failure();
      // Not even a connection after a case that still owed its proof: that case is the
      // first suspect (replay decides either way).
      out.previous_case = owed_before && !connected;
      return out;
    }

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
        if (forwarded_unaltered(packet_type_name(f.packet), err)) {
          out.lenient = "forwarded unaltered: " + std::string(err.spec.empty() ? err.message : err.spec);
          return out;
        }
      }
      out.kind = "spec_invalid_bytes";
      out.packet = f.status == mqtt::FrameInfo::Status::complete ? packet_type_name(f.packet) : "FRAMING";
      out.rule = err.spec.empty() ? std::string(mqtt::to_string(err.code)) + ": " + std::string(err.message) : std::string(err.spec);
      out.spec = std::string(err.spec);
      out.detail = "broker sent bytes the codec rejects: " + std::string(mqtt::to_string(err.code)) + " at offset " +
                   std::to_string(err.offset) + ": " + std::string(err.message);
      return out;
    }
    // Spec: after a packet it must reject, the broker must close (3.1.1 4.8, 5.0 4.13):
    // a PINGRESP to a PINGREQ sent after it means it carried on.
    if (violation && pingresps > pings_before && !violation_lenient.empty()) {
      out.lenient = violation_lenient;
    } else if (violation && pingresps > pings_before) {
      out.kind = "spec_accepted_malformed";
      out.packet = violation_packet;
      out.rule = violation_spec.empty() ? violation_detail : violation_spec;
      out.spec = violation_spec;
      out.detail = "broker kept the connection after packet " + std::to_string(*violation) + " (" + violation_detail +
                   ") and answered a later PINGREQ";
    }
    return out;
  }

  // No liveness proof: a spawned broker that exits within 500 ms crashed, else a hang.
  Outcome liveness_failure() {
    Outcome out;
    if (broker_.managed()) {
      std::lock_guard lock(broker_mu_);
      if (broker_.exited_within(500)) {
        out.kind = "crash";
        out.detail = broker_.exit_description();
        return out;
      }
    }
    out.kind = "hang";
    out.detail = "no PINGRESP within " + std::to_string(opt_.probe_timeout_ms) + " ms";
    return out;
  }

  // Only with every worker paused (exclusive lock).
  void restart() {
    if (!broker_.managed()) {
      // Not ours to restart: wait for it to answer again (someone may restart it).
      const auto t0 = Clock::now();
      while (seconds_since(t0) < 5 && !fresh_probe(opt_.probe_timeout_ms)) ::usleep(100000);
      ++epoch_;
      return;
    }
    std::lock_guard lock(broker_mu_);
    broker_.stop();
    broker_up_ = broker_.start(opt_.host, opt_.port);
    ++epoch_;
  }

  // Replays `cases` in order on a fresh broker, each with a fresh-connection probe; the
  // outcome and position of the first crash/hang, if any. Exclusive lock held.
  std::pair<Outcome, std::size_t> replay(Worker& w, const std::vector<const Case*>& cases, bool fresh_start = true) {
    if (fresh_start && broker_.managed()) restart();
    for (std::size_t i = 0; i < cases.size(); ++i) {
      ++reruns_;
      auto o = run(w, *cases[i], true);
      if (is_crash_kind(o.kind)) {
        restart();
        return {o, i};
      }
    }
    return {Outcome{}, cases.size()};
  }

  // Greedy delta debugging of the last case: drop packets, then byte chunks, while it keeps
  // producing the same kind of finding (after `before`, each on a fresh broker for crash
  // kinds). Bounded in re-runs and by the end of the run.
  Case minimise(Worker& w, const std::vector<Case>& before, Case c, const Outcome& target) {
    const auto& kind = target.kind;
    int budget = kind == "hang" ? 6 : is_crash_kind(kind) ? 150 : 80;
    auto same = [&](const Case& candidate) {
      if (budget-- <= 0 || stop_.load()) return false;
      if (!is_crash_kind(kind)) {
        ++reruns_;
        const auto o = run(w, candidate, false);
        return o.kind == kind && o.packet == target.packet && o.rule == target.rule;
      }
      std::vector<const Case*> seq;
      for (const auto& b : before) seq.push_back(&b);
      seq.push_back(&candidate);
      // A lone case needs no fresh start: a broker that survived the last candidate is as
      // good as new for it (a crash restarts it anyway).
      auto [o, at] = replay(w, seq, !before.empty());
      return o.kind == kind && at == seq.size() - 1;
    };
    for (std::size_t i = c.packets.size(); i-- > 0 && c.packets.size() > 1;) {
      Case t = c;
      t.packets.erase(t.packets.begin() + static_cast<std::ptrdiff_t>(i));
      if (same(t)) c = std::move(t);
    }
    // Parts (structural_removals: a property, a subscription, a payload ... dropped and the
    // packet re-encoded), last packet first, until no removal keeps the finding. Packets
    // after a CONNECT are read in the version it declares, as the broker reads them.
    std::vector<mqtt::Version> versions;
    for (auto v = opt_.version; const auto& p : c.packets) {
      versions.push_back(v);
      const auto d = mqtt::decode(p, {.version = v});
      if (const auto* connect = d.ok() ? std::get_if<mqtt::ConnectView>(&d.value) : nullptr) v = connect->protocol_version;
    }
    for (std::size_t i = c.packets.size(); i-- > 0 && budget > 0;) {
      for (bool shrunk = true; shrunk && budget > 0;) {
        shrunk = false;
        for (auto& candidate : structural_removals(c.packets[i], versions[i])) {
          Case t = c;
          t.packets[i] = std::move(candidate);
          if (same(t)) {
            c = std::move(t);
            shrunk = true;
            break;
          }
          if (budget <= 0) break;
        }
      }
    }
    // Bytes: last packet first. The packet a finding is about is rarely the CONNECT, and a
    // CONNECT hardly shrinks (its fields carry their own lengths), so starting there would
    // spend the budget where it buys nothing.
    for (std::size_t i = c.packets.size(); i-- > 0;) {
      for (std::size_t chunk = std::max<std::size_t>(1, c.packets[i].size() / 2); chunk >= 1; chunk /= 2) {
        for (std::size_t at = 0; at + chunk <= c.packets[i].size();) {
          // With the Remaining Length fixed up first (stays well-framed), then as cut.
          auto cut = remove_bytes(c.packets[i], at, chunk);
          bool kept = false;
          for (auto* variant : {cut.refitted ? &*cut.refitted : nullptr, &cut.raw}) {
            if (!variant || variant->empty() || budget <= 0) continue;
            Case t = c;
            t.packets[i] = std::move(*variant);
            if (same(t)) { c = std::move(t); kept = true; break; }
          }
          if (!kept) at += chunk;
          if (budget <= 0) break;
        }
        if (chunk == 1 || budget <= 0) break;
      }
    }
    return c;
  }

  static void write_case(std::ostream& f, const std::string& client, const Case& c) {
    for (const auto& p : c.packets)
      f << "  - send_raw: {client: " << client << ", hex: \"" << to_hex(p) << "\"}  # " << packet_type_name(p) << "\n";
  }

  std::string write_scenario(std::size_t n, const std::string& kind, const std::string& signature, const Finding& fd) {
    const auto name = "finding-" + std::to_string(n) + "-" + kind + ".yaml";
    std::ofstream f(std::filesystem::path(opt_.out_dir) / name);
    f << "# Found by `mqtt-harness fuzz` (docs/netfuzz.md); reproduce with\n"
      << "#   mqtt-harness run --broker HOST:PORT " << name << "\n"
      << "# signature: " << signature << "\n";
    if (!fd.before.empty())
      f << "# The cases on clients before_1.. ran first (on their own they do not reproduce it).\n";
    f << "name: \"netfuzz finding " << n << " (" << kind << ")\"\n";
    f << "protocol: " << mqtt::to_string(opt_.version) << "\n";
    f << "timeout: 10s\n";
    f << "clients:\n";
    for (std::size_t i = 0; i < fd.before.size(); ++i) f << "  before_" << i + 1 << ": {}\n";
    f << "  raw: {}\n  probe: {}\n";
    f << "steps:\n";
    for (std::size_t i = 0; i < fd.before.size(); ++i) write_case(f, "before_" + std::to_string(i + 1), fd.before[i]);
    write_case(f, "raw", fd.last);
    if (kind == "spec_accepted_malformed")
      f << "  # A broker must close the connection after a malformed packet (5.0: DISCONNECT 0x81 first).\n"
        << "  - expect_disconnect: {client: raw, within: 2s}\n";
    f << "  # Liveness: a fresh connection still gets CONNACK and PINGRESP.\n"
      << "  - send_raw: {client: probe, hex: \"" << to_hex(probe_bytes(opt_.version, "nf-probe")) << "\"}\n"
      << "  - expect_connack: {client: probe, within: 5s}\n"
      << "  - expect_packet: {client: probe, type: PINGRESP, within: 5s}\n";
    return name;
  }

  // Groups a finding by signature; a new signature is minimised and written.
  void record(Worker& w, std::uint64_t index, const Outcome& outcome, const Finding& found) {
    // Spec findings group by what rule which packet broke (not where in the case);
    // crash kinds by how the broker died, after minimisation, with the last packet sent.
    const bool spec_kind = !is_crash_kind(outcome.kind);
    const auto pre_sig = spec_kind ? outcome.kind + "|" + outcome.packet + "|" + outcome.rule
                                   : outcome.kind + "|" + outcome.spec + "|" + outcome.detail;
    {
      std::lock_guard lock(findings_mu_);
      if (auto it = pre_.find(pre_sig); it != pre_.end()) {
        ++groups_[it->second].count;
        return;
      }
    }
    Finding small = found;
    small.last = minimise(w, found.before, found.last, outcome);
    const auto last = spec_kind ? outcome.packet
                                : small.last.packets.empty() ? std::string("EMPTY") : packet_type_name(small.last.packets.back());
    const auto sig = spec_kind ? pre_sig : outcome.kind + "|" + last + "|" + (outcome.spec.empty() ? outcome.detail : outcome.spec);
    std::lock_guard lock(findings_mu_);
    if (auto it = pre_.find(pre_sig); it != pre_.end()) {  // another worker got there first
      ++groups_[it->second].count;
      return;
    }
    pre_[pre_sig] = sig;
    auto& g = groups_[sig];
    if (g.count++ > 0) return;
    order_.push_back(sig);
    const auto file = write_scenario(order_.size(), outcome.kind, sig, small);
    json pk = json::array();
    for (const auto& p : small.last.packets) pk.push_back(to_hex(p));
    // "worker": the one that runs this case index (worker w runs w, w + jobs, ...), not `w`,
    // which may be another worker that only noticed the broker die.
    g.finding = json{{"id", order_.size()}, {"kind", outcome.kind},
                     {"class", is_crash_kind(outcome.kind) ? "crash" : "spec"},
                     {"signature", sig}, {"last_packet", last}, {"spec", outcome.spec},
                     {"detail", outcome.detail}, {"case_index", index}, {"worker", index % static_cast<std::uint64_t>(opt_.jobs)},
                     {"cases_before", found.before.size()},
                     {"mutations", found.last.mutations}, {"original_packets", found.last.packets.size()},
                     {"packets_hex", pk}, {"scenario", file}};
    if (opt_.progress) std::fprintf(stderr, "netfuzz: finding %zu: %s -> %s\n", order_.size(), sig.c_str(), file.c_str());
  }

  // A crash/hang suspicion from worker `w`'s case `index` (run against broker incarnation
  // `epoch`). Every other worker is paused. Sound: a hang must survive a second, fresh
  // probe with twice the timeout; every crash/hang is replayed on a fresh broker and
  // attributed to the case (with the fewest earlier cases) that reproduces it.
  void confirm_and_attribute(Worker& w, std::uint64_t index, const Case& c, const Outcome& suspicion,
                             std::uint64_t epoch) {
    std::lock_guard gate(gate_);  // no new case starts; the running ones finish
    std::unique_lock world(world_);
    {
      std::lock_guard lock(attributed_mu_);
      if (attributed_.count(index)) return;  // another worker's attribution already named it
    }
    if (epoch != epoch_.load()) {
      // The broker was restarted while this case ran: the suspicion may be that restart.
      auto [o, at] = replay(w, {&c});
      (void)at;
      if (is_crash_kind(o.kind)) record(w, index, o, Finding{{}, c});
      return;
    }
    if (suspicion.kind == "hang" && fresh_probe(2 * opt_.probe_timeout_ms, w.id)) {
      ++false_alarms_;  // slow, not hung (a loaded machine): no finding
      w.close_probe();
      return;
    }
    if (!broker_.managed()) {
      // Cannot replay on a fresh broker: report against the case that saw it.
      record_unreplayed(index, c, suspicion);
      restart();
      return;
    }
    // 1. The case alone on a fresh broker.
    auto [alone, at0] = replay(w, {&c});
    (void)at0;
    if (alone.kind == suspicion.kind || (is_crash_kind(alone.kind) && suspicion.kind != "hang")) {
      mark(index);
      record(w, index, alone, Finding{{}, c});
      return;
    }
    // 2. The recent cases of all workers in start order, up to this one.
    std::vector<Ran> window;
    {
      std::lock_guard lock(history_mu_);
      for (const auto& r : history_)
        if (r.epoch == epoch) window.push_back(r);
    }
    std::sort(window.begin(), window.end(), [](const Ran& a, const Ran& b) { return a.seq < b.seq; });
    std::vector<const Case*> seq;
    for (const auto& r : window) seq.push_back(&r.c);
    auto [o, at] = replay(w, seq);
    if (!is_crash_kind(o.kind)) {
      record_unreplayed(index, c, suspicion);
      return;
    }
    // The culprit is window[at]; drop earlier cases that are not needed (greedy).
    std::vector<Case> before;
    for (std::size_t i = 0; i < at; ++i) before.push_back(window[i].c);
    for (std::size_t i = before.size(); i-- > 0;) {
      auto trial = before;
      trial.erase(trial.begin() + static_cast<std::ptrdiff_t>(i));
      std::vector<const Case*> s;
      for (const auto& b : trial) s.push_back(&b);
      s.push_back(&window[at].c);
      auto [o2, at2] = replay(w, s);
      if (o2.kind == o.kind && at2 == s.size() - 1) before = std::move(trial);
    }
    mark(window[at].index);
    record(w, window[at].index, o, Finding{before, window[at].c});
  }

  // A crash/hang that did not reproduce on a fresh broker: still reported (a process exit
  // is never imaginary) with the case that saw it, marked as not reproduced.
  void record_unreplayed(std::uint64_t index, const Case& c, Outcome o) {
    o.detail += " (not reproduced by replaying the recent cases)";
    std::lock_guard lock(findings_mu_);
    const auto sig = o.kind + "|unreproduced|" + o.detail;
    auto& g = groups_[sig];
    if (g.count++ > 0) return;
    order_.push_back(sig);
    const auto file = write_scenario(order_.size(), o.kind, sig, Finding{{}, c});
    g.finding = json{{"id", order_.size()}, {"kind", o.kind}, {"class", "crash"}, {"signature", sig},
                     {"last_packet", c.packets.empty() ? "EMPTY" : packet_type_name(c.packets.back())},
                     {"spec", ""}, {"detail", o.detail}, {"case_index", index}, {"worker", index % static_cast<std::uint64_t>(opt_.jobs)},
                     {"reproduced", false}, {"mutations", c.mutations}, {"scenario", file}};
    if (opt_.progress) std::fprintf(stderr, "netfuzz: finding %zu: %s -> %s\n", order_.size(), sig.c_str(), file.c_str());
  }

  // Shared access for running a case. Through the gate, so that an attribution waiting
  // for exclusive access is not starved by workers that keep overlapping (glibc's rwlock
  // prefers readers).
  std::shared_lock<std::shared_mutex> enter() {
    std::lock_guard gate(gate_);
    return std::shared_lock(world_);
  }

  void mark(std::uint64_t index) {
    std::lock_guard lock(attributed_mu_);
    attributed_.insert(index);
  }

  void work(int id) {
    Worker w;
    w.id = id;
    const auto jobs = static_cast<std::uint64_t>(opt_.jobs);
    struct Previous { std::uint64_t index = 0, epoch = 0; Case c; } previous;
    // Worker `id` runs cases id, id+N, id+2N, ...: a pure function of (seed, worker, N),
    // and each case regenerates from its index alone.
    for (std::uint64_t i = 0; !stop_.load(); ++i) {
      if (opt_.max_cases && cases_.fetch_add(1) >= opt_.max_cases) break;
      const std::uint64_t index = i * jobs + static_cast<std::uint64_t>(id);
      Case c = generate_case(opt_.seed, index, opt_.version);
      Outcome o;
      std::uint64_t epoch = 0;
      {
        std::shared_lock world = enter();
        epoch = epoch_.load();
        const bool fresh = ++w.since_fresh >= static_cast<std::uint64_t>(opt_.fresh_probe_every);
        if (fresh) w.since_fresh = 0;
        {
          std::lock_guard lock(history_mu_);
          history_.push_back(Ran{index, seq_++, epoch, c});
          if (history_.size() > 16 * jobs) history_.pop_front();
        }
        o = run(w, c, fresh, true);
      }
      if (!opt_.max_cases) cases_.fetch_add(1);
      if (!o.lenient.empty()) {
        std::lock_guard lock(findings_mu_);
        ++lenient_[o.lenient];
      }
      if (is_crash_kind(o.kind)) {
        if (o.previous_case && i > 0) confirm_and_attribute(w, previous.index, previous.c, o, previous.epoch);
        else confirm_and_attribute(w, index, c, o, epoch);
      } else if (!o.kind.empty()) {
        std::shared_lock world = enter();
        record(w, index, o, Finding{{}, c});
      }
      if (w.owes_liveness) previous = Previous{index, epoch, std::move(c)};
    }
    // The last case's liveness proof, if a next case was to bring it.
    if (w.owes_liveness) {
      Outcome o;
      {
        std::shared_lock world = enter();
        w.owes_liveness = false;
        if (previous.epoch != epoch_.load() || ping(w)) return;
        o = liveness_failure();
      }
      confirm_and_attribute(w, previous.index, previous.c, o, previous.epoch);
    }
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
    if (!fresh_probe(opt_.probe_timeout_ms)) {
      std::fprintf(stderr, "mqtt-harness fuzz: broker at %s:%u does not answer CONNECT+PINGREQ\n", opt_.host.c_str(), opt_.port);
      return 2;
    }
    const auto t0 = Clock::now();
    std::vector<std::thread> workers;
    for (int i = 0; i < opt_.jobs; ++i) workers.emplace_back([this, i] { work(i); });
    std::uint64_t last_cases = 0;
    auto last_progress = t0;
    for (;;) {
      ::usleep(20000);
      const auto done = cases_.load();
      const bool out_of_cases = opt_.max_cases && done >= opt_.max_cases;
      if (seconds_since(t0) >= opt_.duration_s || out_of_cases) break;
      if (opt_.progress && seconds_since(last_progress) >= 1.0) {
        const double dt = seconds_since(last_progress);
        std::size_t nfind = 0;
        { std::lock_guard lock(findings_mu_); nfind = order_.size(); }
        std::fprintf(stderr, "netfuzz: %llu cases, %.0f cases/s, %zu findings, broker %s, %d workers\n",
                     static_cast<unsigned long long>(done), static_cast<double>(done - last_cases) / dt, nfind,
                     broker_up_.load() ? "up" : "down", opt_.jobs);
        last_progress = Clock::now();
        last_cases = done;
      }
    }
    // On --duration the workers stop now (minimisation in progress ends early); on
    // --max-cases they stop by themselves after their last case and its findings.
    if (!(opt_.max_cases && cases_.load() >= opt_.max_cases)) stop_ = true;
    for (auto& t : workers) t.join();
    const double elapsed = seconds_since(t0);
    const auto cases = std::min<std::uint64_t>(cases_.load(), opt_.max_cases ? opt_.max_cases : cases_.load());

    json findings = json::array();
    std::size_t crash_count = 0, spec_count = 0;
    for (const auto& sig : order_) {
      auto f = groups_[sig].finding;
      f["count"] = groups_[sig].count;
      (f["class"] == "crash" ? crash_count : spec_count)++;
      findings.push_back(f);
    }
    json summary{{"broker", opt_.host + ":" + std::to_string(opt_.port)},
                 {"protocol", std::string(mqtt::to_string(opt_.version))},
                 {"seed", opt_.seed}, {"jobs", opt_.jobs}, {"cases", cases}, {"elapsed_s", elapsed},
                 {"cases_per_s", elapsed > 0 ? static_cast<double>(cases) / elapsed : 0.0},
                 {"minimisation_runs", reruns_.load()}, {"probe_false_alarms", false_alarms_.load()},
                 {"case_timeouts", case_timeouts_.load()},
                 {"sentinel_answered", sentinel_answered_.load()}, {"probe_pings", probe_pings_.load()},
                 {"fresh_probes", fresh_probes_.load()},
                 {"broker_starts", broker_.starts()}, {"broker_up", broker_up_.load()},
                 {"crash_findings", crash_count}, {"spec_findings", spec_count},
                 {"lenient", lenient_}, {"findings", findings}};
    const auto out_dir = std::filesystem::path(opt_.out_dir);
    std::ofstream(out_dir / "findings.json") << summary.dump(2) << "\n";
    if (const auto error = report::write_file((out_dir / "findings.html").string(), findings_html(summary)); !error.empty())
      std::fprintf(stderr, "mqtt-harness fuzz: %s\n", error.c_str());
    json brief = summary;
    brief.erase("findings");
    brief["findings_json"] = (out_dir / "findings.json").string();
    brief["findings_html"] = (out_dir / "findings.html").string();
    std::printf("%s\n", brief.dump().c_str());
    broker_.stop();
    return crash_count > 0 ? 1 : 0;
  }

 private:
  struct Group { json finding; std::size_t count = 0; };

  FuzzOptions opt_;
  BrokerProcess broker_;
  std::mutex broker_mu_;            // BrokerProcess calls
  std::shared_mutex world_;         // shared: running a case; exclusive: attribution
  std::mutex gate_;                 // held by an attribution from before it asks for world_
  std::atomic<std::uint64_t> epoch_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> broker_up_{true};
  std::atomic<std::uint64_t> cases_{0};
  std::atomic<std::uint64_t> reruns_{0};
  std::atomic<std::uint64_t> false_alarms_{0};
  std::atomic<std::uint64_t> case_timeouts_{0};  // the broker kept a half-closed case open
  std::atomic<std::uint64_t> sentinel_answered_{0};  // liveness shown by the case itself
  std::atomic<std::uint64_t> probe_pings_{0};        // PINGREQs on a persistent probe connection
  std::atomic<std::uint64_t> fresh_probes_{0};       // CONNECT + PINGREQ on a new connection
  std::mutex history_mu_;
  std::deque<Ran> history_;
  std::uint64_t seq_ = 0;
  std::mutex attributed_mu_;
  std::set<std::uint64_t> attributed_;
  std::mutex findings_mu_;
  std::map<std::string, Group> groups_;     // final signature -> group
  std::map<std::string, std::string> pre_;  // pre-minimisation signature -> final signature
  std::vector<std::string> order_;
  std::map<std::string, std::uint64_t> lenient_;  // triaged non-findings: reason -> cases
};

}  // namespace

int run_fuzz(const FuzzOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  Fuzzer f(options);
  return f.loop();
}

}  // namespace mqtth::netfuzz
