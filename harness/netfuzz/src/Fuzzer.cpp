// The fuzz loop: N workers each run cases on their own TCP connections, apply the oracles;
// crash/hang suspicions are confirmed and attributed with every worker paused; findings are
// minimised and written as scenarios. Blocking POSIX sockets with poll() timeouts everywhere.
#include "mqtth/netfuzz/NetFuzz.hpp"

#include "Findings.hpp"
#include "Oracles.hpp"

#include <mqtt/hex.hpp>
#include <mqtth/common/HostPort.hpp>
#include <mqtth/process/BlockingSocket.hpp>
#include <mqtth/process/BrokerProcess.hpp>
#include <mqtth/process/Bystander.hpp>
#include <mqtth/process/SanitizerReport.hpp>
#include <mqtth/process/Suppressions.hpp>
#include <mqtth/process/TcpConnect.hpp>
#include <mqtth/report/Report.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <thread>

#include <unistd.h>

namespace mqtth::netfuzz {
namespace {

using Clock = std::chrono::steady_clock;
using process::BrokerProcess;
using process::Bystander;
using process::Fd;
using process::Received;
using process::connect_case;
using process::connect_probe;
using process::receive;
using process::send_all;

constexpr std::size_t kOutputTailLines = 20;  // the broker's last words kept with a finding

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// PINGRESPs among the whole packets of `bytes` (what a broker sent on one connection).
std::size_t count_pingresps(const std::string& bytes) {
  mqtt::Framer framer;
  framer.feed(bytes);
  std::size_t n = 0;
  for (auto f = framer.next(); f.status == mqtt::FrameInfo::Status::complete; f = framer.next())
    if (!f.packet.empty() && (static_cast<std::uint8_t>(f.packet[0]) >> 4) == 13) ++n;
  return n;
}

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
    const int fd = connect_probe(address_, timeout_ms);
    if (fd < 0) return false;
    Fd guard(fd);
    send_all(fd, probe_bytes(opt_.version, worker < 0 ? "nf-probe" + shard_suffix() : "nf-fresh-" + std::to_string(global_worker(worker))), timeout_ms);
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
      const int fd = connect_probe(address_, opt_.probe_timeout_ms);
      if (fd < 0) return false;
      send_all(fd, persistent_probe_connect(opt_.version, "nf-probe-" + std::to_string(global_worker(w.id))) + std::string("\xC0\x00", 2),
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
    // What each connection sent and got; the liveness oracle looks at the main one (the
    // only one, or in a stateful case the one that carried the last packet).
    std::vector<Conversation> conversations;
    if (c.stateful()) conversations = exchange_stateful(c);
    else conversations.push_back(exchange(c.packets));
    const auto& main = conversations.back();
    const Received& got = main.got;
    const bool connected = main.connected;

    // Spawned broker: exit or sanitizer report.
    if (broker_.managed()) {
      std::lock_guard lock(broker_mu_);
      out = process_outcome(broker_.exited());
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

    // Spec, connection by connection.
    for (const auto& conversation : conversations) {
      std::size_t at = kNoPacket;
      if (judge(conversation.packets, conversation.got.bytes, out, &at)) {
        if (at < conversation.case_index.size()) out.close_owed_after = conversation.case_index[at];
        return out;
      }
    }
    return out;
  }

  // What one connection of a case sent and what came back.
  struct Conversation {
    std::vector<std::string> packets;
    std::vector<std::size_t> case_index;  // stateful: each packet's index in the case (kNoPacket: a turn's PINGREQ)
    Received got;
    bool connected = false;
  };

  // The one-connection case: all bytes at once, then a half-close.
  Conversation exchange(const std::vector<std::string>& packets) {
    Conversation conversation;
    conversation.packets = packets;
    Received& got = conversation.got;
    bool& connected = conversation.connected;
    // The case: all bytes at once, then a half-close. A broker that read everything sees
    // end-of-stream and closes, so the case ends at once instead of after a quiet period,
    // and everything it sent in answer arrives before that close.
    const int fd = connect_case(address_, opt_.probe_timeout_ms);
    if (fd >= 0) {
      connected = true;
      Fd guard(fd);
      std::string all;
      for (const auto& p : packets) all += p;
      // MSG_MORE holds the bytes until the shutdown, which then sends them with the FIN in
      // one segment: the broker reads the case and its end in one go.
      send_all(fd, all, opt_.case_timeout_ms, MSG_MORE);
      ::shutdown(fd, SHUT_WR);
      got = receive(fd, opt_.case_timeout_ms, [](const std::string&) { return false; });
      if (got.timed_out) ++case_timeouts_;
    }

    return conversation;
  }

  // A stateful case (docs/netfuzz.md "Stateful cases"): each connection is opened at its
  // first packet and half-closed where the case closes it (an empty packet), waiting for
  // the broker's close; where the next entry goes on another connection (or is a pause)
  // the turn ends with a PINGREQ whose PINGRESP is awaited, so the broker has processed the
  // turn first (its effects on the other connections, deliveries and takeovers, happen in
  // case order).
  // At the end every connection still open is half-closed and read to the broker's close.
  // A packet for a connection the broker has closed (a takeover, a refusal, a protocol
  // error) goes on a new TCP connection, as the runner's send_raw does on a closed link,
  // so the reproducer does what the run did. One conversation per TCP connection, the one
  // that carried the last packet last.
  std::vector<Conversation> exchange_stateful(const Case& c) {
    struct Link { Conversation conversation; int fd = -1; bool opened = false, done = false, closed_by_case = false; std::size_t pingreqs = 0; };
    std::array<Link, Case::kMaxConnections> links;
    std::vector<Conversation> finished;
    const std::string pingreq("\xC0\x00", 2);
    auto read_into = [&](Link& l, int timeout_ms, auto enough) {
      // ACK at once what the broker sent: a broker with Nagle on (mosquitto's default) holds
      // its next small answer (the PINGRESP awaited here) until the previous segment is
      // acknowledged, and a delayed ACK costs 40 ms per turn (seen: 35 cases/s against
      // mosquitto). Quick-ACK mode lasts only a while, so it is asked for at every wait.
      const int one = 1;
      ::setsockopt(l.fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
      auto r = receive(l.fd, timeout_ms, [&](const std::string& more) { return enough(l.conversation.got.bytes + more); });
      l.conversation.got.bytes += r.bytes;
      l.conversation.got.closed = r.closed;
      l.conversation.got.timed_out = r.timed_out;
      if (r.closed) l.done = true;
    };
    auto close_link = [&](Link& l) {
      l.closed_by_case = true;
      if (l.fd < 0) return;
      if (!l.done) {
        ::shutdown(l.fd, SHUT_WR);
        read_into(l, opt_.case_timeout_ms, [](const std::string&) { return false; });
        if (l.conversation.got.timed_out) ++case_timeouts_;
      }
      ::close(l.fd);
      l.fd = -1;
      l.done = true;
    };
    // Writes `p` (packet `index` of the case, kNoPacket: a turn's PINGREQ) on link `l`; a link
    // the broker closed is replaced by a new connection.
    auto send_on = [&](Link& l, const std::string& p, std::size_t index) {
      if (l.fd >= 0 && !l.done) read_into(l, 0, [](const std::string&) { return false; });  // closed meanwhile?
      if (l.opened && l.done && !l.closed_by_case) {
        if (l.fd >= 0) ::close(l.fd);
        finished.push_back(std::move(l.conversation));
        l = Link{};
      }
      l.conversation.packets.push_back(p);
      l.conversation.case_index.push_back(index);
      if (!l.opened) {
        l.opened = true;
        l.fd = connect_probe(address_, opt_.probe_timeout_ms);
        l.conversation.connected = l.fd >= 0;
      }
      if (l.fd < 0 || l.done) return false;  // not even connected
      send_all(l.fd, p, opt_.case_timeout_ms);
      if (p == pingreq) ++l.pingreqs;
      return true;
    };
    for (std::size_t i = 0; i < c.packets.size(); ++i) {
      if (c.connection[i] == Case::kClock) {
        std::this_thread::sleep_for(std::chrono::milliseconds(Case::pause_ms(c.packets[i])));
        continue;
      }
      auto& l = links[c.connection[i] % Case::kMaxConnections];
      const auto& p = c.packets[i];
      if (p.empty()) { close_link(l); continue; }
      if (!send_on(l, p, i)) continue;
      // The end of a turn: a PINGREQ (unless the turn ended with one) and its PINGRESP. It
      // belongs to the execution, not to the case, so minimisation cannot take it away
      // and the reproducer does the same (Reproducer.cpp).
      if (i + 1 < c.packets.size() && c.connection[i + 1] != c.connection[i]) {
        if (p != pingreq && !send_on(l, pingreq, kNoPacket)) continue;
        read_into(l, opt_.case_timeout_ms, [&](const std::string& bytes) { return count_pingresps(bytes) >= l.pingreqs; });
      }
    }
    for (auto& l : links) if (l.fd >= 0 && !l.done) ::shutdown(l.fd, SHUT_WR);
    for (auto& l : links) close_link(l);
    std::vector<Conversation> out = std::move(finished);
    const std::uint8_t main = [&] {
      for (std::size_t i = c.packets.size(); i-- > 0;)
        if (!c.packets[i].empty() && c.connection[i] != Case::kClock) return c.connection[i];
      const auto used = c.connections();
      return used.empty() ? std::uint8_t{0} : used.back();
    }();
    for (const auto k : c.connections())
      if (k != main) out.push_back(std::move(links[k % Case::kMaxConnections].conversation));
    out.push_back(std::move(links[main % Case::kMaxConnections].conversation));
    return out;
  }

  // The spec oracle on one connection: `packets` sent, `received` what came back. True
  // when it set a finding or a lenient reason in `out`.
  // `violating_packet`: for spec_accepted_malformed, the index in `packets` of the packet
  // that completes the first frame breaking a rule.
  bool judge(const std::vector<std::string>& packets, const std::string& received, Outcome& out,
             std::size_t* violating_packet = nullptr) {
    mqtt::Version version = opt_.version;
    bool connect_decodes = false;
    {
      // The broker answers in the version the CONNECT asked for.
      const auto& first = packets.empty() ? std::string() : packets.front();
      auto d = mqtt::decode(first, {});
      if (d.ok() && std::holds_alternative<mqtt::ConnectView>(d.value)) {
        version = std::get<mqtt::ConnectView>(d.value).protocol_version;
        connect_decodes = true;
      }
    }
    const auto frames = frame_stream(packets, version);
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

    // Spec: what the broker sent must decode.
    mqtt::Framer framer;
    framer.feed(received);
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
          return true;
        }
      }
      out.kind = "spec_invalid_bytes";
      out.packet = f.status == mqtt::FrameInfo::Status::complete ? packet_type_name(f.packet) : "FRAMING";
      out.rule = err.spec.empty() ? std::string(mqtt::to_string(err.code)) + ": " + std::string(err.message) : std::string(err.spec);
      out.spec = std::string(err.spec);
      out.detail = "broker sent bytes the codec rejects: " + std::string(mqtt::to_string(err.code)) + " at offset " +
                   std::to_string(err.offset) + ": " + std::string(err.message);
      return true;
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
      if (violating_packet) {
        const auto& f = frames[*violation];
        const std::size_t last_byte = f.offset + std::max<std::size_t>(f.size, 1) - 1;
        std::size_t end = 0;
        for (std::size_t k = 0; k < packets.size(); ++k)
          if ((end += packets[k].size()) > last_byte) {
            *violating_packet = k;
            break;
          }
      }
    }
    return !out.kind.empty() || !out.lenient.empty();
  }

  // What the spawned broker's output since the last look and its exit (`exited`) show:
  // the first sanitizer report that is neither suppressed nor a known recoverable one
  // (kind `sanitizer`, detail its signature), else a bare exit (`crash`), else nothing.
  // A known recoverable report (a UBSan `runtime error:` whose signature is already a
  // finding, the broker still up) and a suppressed one are only counted: no restart, no
  // replay. An exit explained only by suppressed reports is kSuppressedExit. broker_mu_ held.
  Outcome process_outcome(bool exited) {
    Outcome out;
    bool suppressed_any = false;
    for (auto& report : process::find_sanitizer_reports(broker_.drain())) {
      if (suppressions_) {
        if (const auto entry = suppressions_->match(report)) {
          std::lock_guard lock(findings_mu_);
          ++suppressed_[*entry];
          suppressed_any = true;
          continue;
        }
      }
      if (report.recoverable && !exited) {
        std::lock_guard lock(findings_mu_);
        if (known_.count(report.signature)) {
          ++known_reports_[report.signature];
          continue;
        }
      }
      if (!out.kind.empty()) continue;  // the first one is the finding; later ones are its consequences
      out.kind = "sanitizer";
      out.detail = report.signature;
      out.signature = report.signature;
      out.report = report.excerpt;
      out.recoverable = report.recoverable;
    }
    if (exited) {
      if (out.kind.empty()) out.kind = suppressed_any ? kSuppressedExit : "crash";
      if (out.detail.empty()) out.detail = broker_.exit_description();
      out.exit = broker_.exit_description();
    }
    if (!out.kind.empty()) out.output_tail = process::last_lines(broker_.output(), kOutputTailLines);
    return out;
  }

  // No liveness proof: a spawned broker that exits within 500 ms crashed, else a hang.
  Outcome liveness_failure() {
    Outcome out;
    if (broker_.managed()) {
      std::lock_guard lock(broker_mu_);
      if (broker_.exited_within(500)) return process_outcome(true);
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
    // SIGTERM first (BrokerProcess::stop); a broker that hangs costs this grace per restart.
    broker_.stop(std::chrono::seconds(2));
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
      if (o.kind == kSuppressedExit) restart();
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
      // The same bug: a sanitizer report keeps its signature (another report is another bug).
      return o.kind == kind && o.signature == target.signature && at == seq.size() - 1;
    };
    // Whole connections of a stateful case (the last first), then single packets (and
    // closes: a connection then stays open to the end of the case), then connections
    // again: one that carried a packet the case needed may be left with packets it does not.
    auto drop_connections = [&] {
      const auto used = c.connections();
      for (auto k = used.rbegin(); c.stateful() && k != used.rend() && c.connections().size() > 1; ++k) {
        Case t = c.without_connection(*k);
        if (same(t)) c = std::move(t);
      }
    };
    drop_connections();
    for (std::size_t i = c.packets.size(); i-- > 0 && c.packets.size() > 1;) {
      Case t = c.without(i);
      if (same(t)) c = std::move(t);
    }
    drop_connections();
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

  // The broker's evidence of a crash/sanitizer finding as the reproducer's comments.
  static std::string evidence(const Outcome& o) {
    std::string out;
    if (!o.report.empty()) out += o.report;
    if (!o.exit.empty()) out += "exit: " + o.exit + "\n";
    if (!o.output_tail.empty()) out += "last output lines:\n" + o.output_tail;
    return out;
  }
  static void add_evidence(json& finding, const Outcome& o) {
    if (!o.signature.empty()) finding["report_signature"] = o.signature;
    if (!o.report.empty()) finding["report"] = o.report;
    if (!o.exit.empty()) finding["exit"] = o.exit;
    if (!o.output_tail.empty()) finding["output_tail"] = o.output_tail;
    if (o.recoverable) finding["recoverable"] = true;
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
    // Where the minimised stateful case broke the rule, so that its reproducer expects the
    // close there and fails on a broker that carries on (one run more).
    if (outcome.kind == "spec_accepted_malformed" && small.last.stateful()) {
      const auto o = run(w, small.last, false);
      if (o.kind == outcome.kind && o.packet == outcome.packet && o.rule == outcome.rule)
        small.close_owed_after = o.close_owed_after;
    }
    const auto last = spec_kind ? outcome.packet
                                : small.last.packets.empty() ? std::string("EMPTY") : packet_type_name(small.last.packets.back());
    // A sanitizer report groups by its own signature (kind, what happened, top frames):
    // one bug, one group, whatever packet the minimised case ends with.
    const auto sig = spec_kind ? pre_sig
                     : !outcome.signature.empty() ? outcome.kind + "|" + outcome.signature
                     : outcome.kind + "|" + last + "|" + (outcome.spec.empty() ? outcome.detail : outcome.spec);
    std::lock_guard lock(findings_mu_);
    if (auto it = pre_.find(pre_sig); it != pre_.end()) {  // another worker got there first
      ++groups_[it->second].count;
      return;
    }
    pre_[pre_sig] = sig;
    if (!outcome.signature.empty()) known_.insert(outcome.signature);
    auto& g = groups_[sig];
    if (g.count++ > 0) return;
    order_.push_back(sig);
    const auto file = write_reproducer(opt_.out_dir, order_.size(), outcome.kind, sig, opt_.version, small, evidence(outcome));
    json pk = json::array();
    for (const auto& p : small.last.packets) pk.push_back(mqtt::to_hex(p, " "));
    // "worker": the one that runs this case index (worker w runs w, w + jobs, ...), not `w`,
    // which may be another worker that only noticed the broker die.
    g.finding = json{{"id", order_.size()}, {"kind", outcome.kind},
                     {"class", is_crash_kind(outcome.kind) ? "crash" : "spec"},
                     {"signature", sig}, {"last_packet", last}, {"spec", outcome.spec},
                     {"detail", outcome.detail}, {"case_index", index}, {"worker", worker_of(index)},
                     {"cases_before", found.before.size()},
                     {"mutations", found.last.mutations}, {"original_packets", found.last.packets.size()},
                     {"packets_hex", pk}, {"scenario", file}};
    add_evidence(g.finding, outcome);
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
    const auto file = write_reproducer(opt_.out_dir, order_.size(), o.kind, sig, opt_.version, Finding{{}, c}, evidence(o));
    g.finding = json{{"id", order_.size()}, {"kind", o.kind}, {"class", "crash"}, {"signature", sig},
                     {"last_packet", c.packets.empty() ? "EMPTY" : packet_type_name(c.packets.back())},
                     {"spec", ""}, {"detail", o.detail}, {"case_index", index}, {"worker", worker_of(index)},
                     {"reproduced", false}, {"mutations", c.mutations}, {"scenario", file}};
    add_evidence(g.finding, o);
    if (opt_.progress) std::fprintf(stderr, "netfuzz: finding %zu: %s -> %s\n", order_.size(), sig.c_str(), file.c_str());
  }

  // The broker oracles' thread (docs/netfuzz.md "Broker oracles"): the bystander's cycles
  // and RSS windows, each under shared access, so it pauses while an attribution runs.
  // A finding names the cases that started since the bystander's last good cycle.
  void watch() {
    std::unique_ptr<Bystander> bystander;
    if (opt_.stall_threshold_ms > 0)
      bystander = std::make_unique<Bystander>(address_, opt_.version, "nf-bystander" + shard_suffix(), opt_.stall_threshold_ms,
                                              4 * std::max(opt_.probe_timeout_ms, opt_.stall_threshold_ms));
    std::uint64_t seen_epoch = epoch_.load(), good_seq = 0;
    std::uint64_t window_cases = 0, window_rss = 0;  // RSS window start (0: none yet)
    while (!stop_.load()) {
      ::usleep(static_cast<useconds_t>(opt_.bystander_interval_ms) * 1000);
      std::shared_lock world = enter();
      if (stop_.load()) break;
      if (epoch_.load() != seen_epoch) {  // a restarted broker: new connection, new RSS window
        seen_epoch = epoch_.load();
        if (bystander) bystander->disconnect();
        window_rss = 0;
      }
      std::uint64_t started = 0;
      { std::lock_guard lock(history_mu_); started = seq_; }
      if (bystander) {
        const auto event = bystander->cycle();
        bystander_cycles_ = bystander->cycles();
        if (bystander_delivery_checked_ && !bystander->delivery_checked()) {
          bystander_delivery_checked_ = false;
          std::fprintf(stderr, "netfuzz: the broker did not deliver the bystander's first QoS 1 message: "
                               "QoS 1 loss is not judged in this run (stalls still are)\n");
        }
        bystander_max_ms_ = std::max(bystander_max_ms_.load(), static_cast<std::uint64_t>(bystander->last_round_trip_ms()));
        if (event) record_oracle(event->kind, event->detail, good_seq);
        else good_seq = started;
      }
      if (broker_.managed() && opt_.rss_growth_limit_kib > 0) {
        std::optional<std::uint64_t> rss;
        { std::lock_guard lock(broker_mu_); rss = broker_.resident_kib(); }
        if (!rss) continue;
        if (rss_first_kib_ == 0) rss_first_kib_ = *rss;
        rss_last_kib_ = *rss;
        const auto done = cases_.load();
        if (window_rss == 0) {
          window_rss = *rss;
          window_cases = done;
        } else if (done - window_cases >= opt_.rss_window) {
          if (*rss > window_rss + opt_.rss_growth_limit_kib)
            record_oracle("rss_growth", "the broker's RSS grew from " + std::to_string(window_rss / 1024) + " to " +
                                            std::to_string(*rss / 1024) + " MiB over " + std::to_string(done - window_cases) +
                                            " cases (limit " + std::to_string(opt_.rss_growth_limit_kib / 1024) + " MiB per " +
                                            std::to_string(opt_.rss_window) + " cases)", 0, window_cases);
          window_rss = *rss;
          window_cases = done;
        }
      }
    }
  }

  // A broker-oracle finding (class `broker`): grouped by kind; the reproducer holds the
  // cases that started since `since_seq` (at most the last 16), or, for RSS, no scenario.
  void record_oracle(const std::string& kind, const std::string& detail, std::uint64_t since_seq,
                     std::optional<std::uint64_t> from_case = std::nullopt) {
    std::vector<Ran> cases;
    if (!from_case) {
      std::lock_guard lock(history_mu_);
      for (const auto& r : history_)
        if (r.seq >= since_seq) cases.push_back(r);
      std::sort(cases.begin(), cases.end(), [](const Ran& a, const Ran& b) { return a.seq < b.seq; });
      if (cases.size() > 16) cases.erase(cases.begin(), cases.end() - 16);
    }
    std::lock_guard lock(findings_mu_);
    const auto sig = kind;
    auto& g = groups_[sig];
    if (g.count++ > 0) return;
    order_.push_back(sig);
    json indices = json::array();
    for (const auto& r : cases) indices.push_back(r.index);
    std::string file;
    if (!cases.empty()) {
      Finding f;
      for (std::size_t i = 0; i + 1 < cases.size(); ++i) f.before.push_back(cases[i].c);
      f.last = cases.back().c;
      file = write_reproducer(opt_.out_dir, order_.size(), kind, sig, opt_.version, f,
                              detail + "\n(the cases that ran meanwhile; the bystander that saw it is not in this scenario)\n");
    }
    g.finding = json{{"id", order_.size()}, {"kind", kind}, {"class", "broker"}, {"signature", sig},
                     {"last_packet", ""}, {"spec", ""}, {"detail", detail},
                     {"case_index", cases.empty() ? json(from_case.value_or(0)) : json(cases.back().index)},
                     {"worker", cases.empty() ? json(0) : json(worker_of(cases.back().index))},
                     {"cases_running", indices}, {"scenario", file}};
    if (opt_.progress) std::fprintf(stderr, "netfuzz: finding %zu: %s: %s\n", order_.size(), kind.c_str(), detail.c_str());
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
    const std::uint64_t all_workers = total_workers();
    struct Previous { std::uint64_t index = 0, epoch = 0; Case c; } previous;
    // Global worker g of W (W = jobs, or jobs x N with --shard K/N) runs cases g, g+W,
    // g+2W, ...: a pure function of (seed, g, W), and each case regenerates from its index alone.
    for (std::uint64_t i = 0; !stop_.load(); ++i) {
      if (opt_.max_cases && cases_.fetch_add(1) >= opt_.max_cases) break;
      const std::uint64_t index = i * all_workers + global_worker(id);
      Case c = generate_case(opt_.seed, index, opt_.version, opt_.stateful);
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
      if (o.kind == kSuppressedExit) {
        // Nothing to report, but the broker is gone: restart it with every worker paused.
        std::lock_guard gate(gate_);
        std::unique_lock world(world_);
        if (epoch == epoch_.load()) restart();
      } else if (is_crash_kind(o.kind)) {
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
    const auto broker = common::format_host_port(opt_.host, opt_.port);
    const auto address = process::resolve_tcp(opt_.host, opt_.port);
    if (!address) {
      std::fprintf(stderr, "mqtt-harness fuzz: cannot resolve %s\n", opt_.host.c_str());
      return 2;
    }
    address_ = *address;
    if (!opt_.suppressions_file.empty()) {
      std::string error;
      suppressions_ = process::Suppressions::load(opt_.suppressions_file, error);
      if (!suppressions_) {
        std::fprintf(stderr, "mqtt-harness fuzz: --suppressions %s\n", error.c_str());
        return 2;
      }
      // The sanitizers' own entries also go to the broker's runtime, so it stays quiet.
      broker_.set_environment(suppressions_->runtime_environment((std::filesystem::path(opt_.out_dir) / "suppressions").string(), error));
      if (!error.empty()) {
        std::fprintf(stderr, "mqtt-harness fuzz: --suppressions: %s\n", error.c_str());
        return 2;
      }
    }
    if (broker_.managed() && !broker_.start(opt_.host, opt_.port)) {
      if (broker_.port_taken()) {
        std::fprintf(stderr, "mqtt-harness fuzz: %s already accepts connections: another process listens there, "
                     "and would be fuzzed in place of the spawned broker\n", broker.c_str());
        return 2;
      }
      std::fprintf(stderr, "mqtt-harness fuzz: spawned broker did not accept on %s within 15 s\n%s\n", broker.c_str(),
                   broker_.output().c_str());
      return 2;
    }
    if (!fresh_probe(opt_.probe_timeout_ms)) {
      std::fprintf(stderr, "mqtt-harness fuzz: broker at %s does not answer CONNECT+PINGREQ\n", broker.c_str());
      return 2;
    }
    const auto t0 = Clock::now();
    std::vector<std::thread> workers;
    for (int i = 0; i < opt_.jobs; ++i) workers.emplace_back([this, i] { work(i); });
    std::thread bystander;
    if (opt_.stall_threshold_ms > 0 || (broker_.managed() && opt_.rss_growth_limit_kib > 0))
      bystander = std::thread([this] { watch(); });
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
    stop_ = true;  // --max-cases: the workers are done, so is the bystander
    if (bystander.joinable()) bystander.join();
    const double elapsed = seconds_since(t0);
    const auto cases = std::min<std::uint64_t>(cases_.load(), opt_.max_cases ? opt_.max_cases : cases_.load());

    // Before the replays: they start the command again, maybe on the same port.
    const bool broker_up = broker_up_.load();
    broker_.stop();
    json findings = json::array();
    std::size_t crash_count = 0, spec_count = 0, replayed = 0;
    for (const auto& sig : order_) {
      auto f = groups_[sig].finding;
      f["count"] = groups_[sig].count;
      (f["class"] == "spec" ? spec_count : crash_count)++;
      // A broker-oracle finding's reproducer has no bystander to show it: not replayed.
      if (opt_.replay && broker_.managed() && opt_.replays > 0 && f["class"] != "broker") {
        if (opt_.progress) std::fprintf(stderr, "netfuzz: replaying %s\n", f.value("scenario", "").c_str());
        const auto r = opt_.replay((std::filesystem::path(opt_.out_dir) / f.value("scenario", "")).string(), opt_.replays);
        f["replay"] = json{{"loads", r.loads}, {"error", r.error}, {"runs", r.runs}, {"failed", r.failed}};
        ++replayed;
      }
      findings.push_back(f);
    }
    json summary{{"broker", broker},
                 {"protocol", std::string(mqtt::to_string(opt_.version))},
                 {"seed", opt_.seed}, {"jobs", opt_.jobs},
                 {"shard", json{{"index", opt_.shard_index}, {"count", opt_.shard_count}}},
                 {"cases", cases}, {"elapsed_s", elapsed},
                 {"cases_per_s", elapsed > 0 ? static_cast<double>(cases) / elapsed : 0.0},
                 {"minimisation_runs", reruns_.load()}, {"probe_false_alarms", false_alarms_.load()},
                 {"case_timeouts", case_timeouts_.load()},
                 {"sentinel_answered", sentinel_answered_.load()}, {"probe_pings", probe_pings_.load()},
                 {"fresh_probes", fresh_probes_.load()},
                 {"broker_starts", broker_.starts()}, {"broker_up", broker_up}, {"replayed", replayed},
                 {"stateful", opt_.stateful},
                 {"crash_findings", crash_count}, {"spec_findings", spec_count},
                 {"lenient", lenient_}, {"suppressed", suppressed_}, {"known_reports", known_reports_},
                 {"bystander", json{{"cycles", bystander_cycles_.load()}, {"max_round_trip_ms", bystander_max_ms_.load()},
                                    {"delivery_checked", bystander_delivery_checked_.load()}}},
                 {"rss_kib", json{{"first", rss_first_kib_.load()}, {"last", rss_last_kib_.load()}}},
                 {"findings", findings}};
    const auto out_dir = std::filesystem::path(opt_.out_dir);
    std::ofstream(out_dir / "findings.json") << summary.dump(2) << "\n";
    if (const auto error = report::write_file((out_dir / "findings.html").string(), findings_html(summary)); !error.empty())
      std::fprintf(stderr, "mqtt-harness fuzz: %s\n", error.c_str());
    json brief = summary;
    brief.erase("findings");
    brief["findings_json"] = (out_dir / "findings.json").string();
    brief["findings_html"] = (out_dir / "findings.html").string();
    std::printf("%s\n", brief.dump().c_str());
    return crash_count > 0 ? 1 : 0;
  }

 private:
  struct Group { json finding; std::size_t count = 0; };

  // --shard K/N: this process's workers are global workers (K-1)*jobs .. K*jobs-1 of N*jobs.
  std::uint64_t total_workers() const { return static_cast<std::uint64_t>(opt_.jobs) * opt_.shard_count; }
  std::uint64_t global_worker(int id) const {
    return static_cast<std::uint64_t>(opt_.shard_index - 1) * static_cast<std::uint64_t>(opt_.jobs) + static_cast<std::uint64_t>(id);
  }
  // The global worker that runs case `index` (not the one that noticed the broker die).
  std::uint64_t worker_of(std::uint64_t index) const { return index % total_workers(); }
  // Client ids of probes and the bystander differ between shards on one broker (a shared
  // id would be a session takeover, MQTT-3.1.4-2, that looks like a hang).
  std::string shard_suffix() const { return opt_.shard_count > 1 ? "-s" + std::to_string(opt_.shard_index) : ""; }

  FuzzOptions opt_;
  process::TcpAddress address_;     // opt_.host:opt_.port, resolved once by loop()
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
  std::optional<process::Suppressions> suppressions_;
  std::map<std::string, std::uint64_t> suppressed_;      // suppression entry -> reports it matched
  std::set<std::string> known_;                          // report signatures already findings
  std::map<std::string, std::uint64_t> known_reports_;   // recoverable repeats of them -> count
  std::atomic<std::uint64_t> bystander_cycles_{0};
  std::atomic<std::uint64_t> bystander_max_ms_{0};
  std::atomic<bool> bystander_delivery_checked_{true};
  std::atomic<std::uint64_t> rss_first_kib_{0};
  std::atomic<std::uint64_t> rss_last_kib_{0};
};

}  // namespace

int run_fuzz(const FuzzOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  Fuzzer f(options);
  return f.loop();
}

}  // namespace mqtth::netfuzz
