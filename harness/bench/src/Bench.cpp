#include <mqtth/bench/Bench.hpp>

#include <mqtth/bench/OpenLoopSchedule.hpp>
#include <mqtth/client/ClientConnection.hpp>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QSocketNotifier>
#include <QThread>
#include <QTimer>

#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/timerfd.h>
#endif

#include <algorithm>
#include <charconv>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace mqtth::bench {
namespace {

using client::ClientConnection;
namespace ev = client::event;

std::uint64_t steady_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

constexpr std::size_t kStampSize = 16;  // hex digits of the intended send time

void write_stamp(std::string& out, std::uint64_t ns) {
  char digits[kStampSize];
  const auto end = std::to_chars(digits, digits + kStampSize, ns, 16).ptr;  // lowercase, unpadded
  const auto used = static_cast<std::size_t>(end - digits);
  out.append(kStampSize - used, '0');
  out.append(digits, used);
}

std::optional<std::uint64_t> read_stamp(std::string_view s) {
  if (s.size() < kStampSize) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + kStampSize, v, 16);
  if (ec != std::errc() || end != s.data() + kStampSize) return std::nullopt;
  return v;
}

double cpu_seconds(const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; }

// Calls `fire` on the Qt event loop at an absolute steady-clock time, to within the
// kernel's wakeup latency (tens of µs) instead of QTimer's whole milliseconds: a Linux
// timerfd on CLOCK_MONOTONIC (the clock std::chrono::steady_clock reads) armed with
// TFD_TIMER_ABSTIME, watched by a QSocketNotifier. The open-loop sender used a 1 ms
// PreciseTimer tick, whose lateness (p50 ~1.1 ms at 1,000 msg/s) swamped the broker latency
// it was meant to measure. The thread sleeps in poll() until the timer fires (armed a
// little early by WakeupLead, then a spin of a few µs at most up to the intended time).
// Elsewhere (or if timerfd_create fails) a PreciseTimer at whole milliseconds is the fallback.
class AbsoluteWakeup {
 public:
  explicit AbsoluteWakeup(std::function<void()> fire) : fire_(std::move(fire)) {
#ifdef __linux__
    fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd_ >= 0) {
      notifier_ = std::make_unique<QSocketNotifier>(fd_, QSocketNotifier::Read);
      QObject::connect(notifier_.get(), &QSocketNotifier::activated, [this] {
        std::uint64_t expirations = 0;
        if (::read(fd_, &expirations, sizeof expirations) != sizeof expirations) return;  // spurious
        plan_.expired(expirations);
        fire_();
      });
      return;
    }
#endif
    fallback_.setSingleShot(true);
    fallback_.setTimerType(Qt::PreciseTimer);
    QObject::connect(&fallback_, &QTimer::timeout, [this] {
      plan_.expired(1);
      fire_();
    });
  }
  ~AbsoluteWakeup() {
    notifier_.reset();
    if (fd_ >= 0) ::close(fd_);
  }
  AbsoluteWakeup(const AbsoluteWakeup&) = delete;
  AbsoluteWakeup& operator=(const AbsoluteWakeup&) = delete;

  bool precise() const { return fd_ >= 0; }

  const PeriodicTimerPlan& plan() const { return plan_; }

  // Expire at at_ns, then every period_ns (0: once). A time already past fires on the next
  // loop turn. The whole-ms fallback is always one-shot.
  void arm(std::uint64_t at_ns, std::uint64_t period_ns) {
#ifdef __linux__
    if (fd_ >= 0) {
      itimerspec spec{};
      at_ns = std::max<std::uint64_t>(at_ns, 1);  // all zero would disarm
      spec.it_value.tv_sec = time_t(at_ns / 1000000000u);
      spec.it_value.tv_nsec = long(at_ns % 1000000000u);
      spec.it_interval.tv_sec = time_t(period_ns / 1000000000u);
      spec.it_interval.tv_nsec = long(period_ns % 1000000000u);
      ::timerfd_settime(fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
      plan_.armed(at_ns, period_ns);
      return;
    }
#endif
    const std::uint64_t now = steady_ns();
    fallback_.start(int(at_ns > now ? (at_ns - now) / 1000000u : 0));
    plan_.armed(at_ns, 0);
  }

  void disarm() {
    plan_.disarmed();
#ifdef __linux__
    if (fd_ >= 0) {
      itimerspec spec{};
      ::timerfd_settime(fd_, 0, &spec, nullptr);
      return;
    }
#endif
    fallback_.stop();
  }

 private:
  std::function<void()> fire_;
  PeriodicTimerPlan plan_;
  int fd_ = -1;
  std::unique_ptr<QSocketNotifier> notifier_;
  QTimer fallback_;
};

struct Publisher {
  std::unique_ptr<ClientConnection> conn;
  ledger::ClientId id = 0;
  ledger::StreamId stream = 0;
  int topic = 0;
  std::string topic_name;
  std::uint64_t quota = 0;      // closed loop: messages to send
  std::uint64_t sent = 0;
  std::unordered_map<std::uint64_t, ledger::Sequence> in_flight;  // session message_id -> seq
  std::vector<int> subscribers;  // indices of subscribers of its topic
  bool done = false;
};

struct Subscriber {
  std::unique_ptr<ClientConnection> conn;
  ledger::ClientId id = 0;
  std::vector<int> topics;
  int subacks_pending = 0;
  // Highest sequence seen per publisher + 1 (per-stream order settles the ones before it).
  std::vector<std::uint64_t> settled;
};

class Runner {
 public:
  explicit Runner(const BenchOptions& o) : o_(o), ledger_(make_run_id()) {
    r_.options = o;
    r_.run_id = ledger_.run_id();
  }

  BenchResult run() {
    setup_clients();
    if (!connect_all()) return finish();
    if (!subscribe_all()) return finish();
    measure();
    return finish();
  }

 private:
  static std::uint32_t make_run_id() {
    return static_cast<std::uint32_t>(steady_ns() ^ (std::uint64_t(::getpid()) << 16)) | 1u;
  }

  client::SessionConfig session_config() const {
    client::SessionConfig c;
    c.trace_packets = false;
    c.max_in_flight = o_.max_in_flight;
    return c;
  }

  client::ConnectOptions connect_options(const std::string& name) const {
    client::ConnectOptions c;
    c.version = o_.version;
    c.client_id = "mqtth-bench-" + std::to_string(r_.run_id) + "-" + name;
    c.clean_start = true;
    c.keep_alive = 60;
    return c;
  }

  void error(std::string text) {
    const std::lock_guard lock(shared_);
    if (r_.errors.size() < 50) r_.errors.push_back(std::move(text));
  }

  void setup_clients() {
    const int topics = o_.topics > 0 ? o_.topics : std::max(1, o_.publishers);
    for (int s = 0; s < o_.subscribers; ++s) {
      Subscriber sub;
      sub.id = ledger_.client("sub" + std::to_string(s));
      if (topics >= o_.subscribers) {
        for (int t = 0; t < topics; ++t)
          if (t % o_.subscribers == s) sub.topics.push_back(t);
      } else {
        sub.topics.push_back(s % topics);
      }
      sub.settled.assign(std::size_t(o_.publishers), 0);
      sub.conn = std::make_unique<ClientConnection>(nullptr, session_config());
      subs_.push_back(std::move(sub));
    }
    const std::uint64_t per = o_.messages / std::uint64_t(std::max(1, o_.publishers));
    const std::uint64_t extra = o_.messages % std::uint64_t(std::max(1, o_.publishers));
    for (int p = 0; p < o_.publishers; ++p) {
      Publisher pub;
      pub.id = ledger_.client("pub" + std::to_string(p));
      pub.topic = p % topics;
      pub.topic_name = "mqtth-bench/" + std::to_string(r_.run_id) + "/" + std::to_string(pub.topic);
      pub.stream = ledger_.stream(pub.id, pub.topic_name, o_.qos);
      pub.quota = per + (std::uint64_t(p) < extra ? 1 : 0);
      for (int s = 0; s < o_.subscribers; ++s)
        if (std::find(subs_[s].topics.begin(), subs_[s].topics.end(), pub.topic) != subs_[s].topics.end())
          pub.subscribers.push_back(s);
      pub.conn = std::make_unique<ClientConnection>(nullptr, session_config());
      pubs_.push_back(std::move(pub));
    }
  }

  // Runs the event loop until `done()` or the timeout; returns done().
  // processEvents(flags, ms) does not block when nothing is pending (it busy-spun a whole
  // core, stealing CPU from a broker on the same core and inflating the harness CPU time);
  // the one-argument form sleeps until an event arrives, and the 50 ms timer bounds that.
  template <class Pred>
  bool wait_until(Pred done, int timeout_ms) {
    QElapsedTimer t;
    t.start();
    QTimer wake;
    wake.start(50);
    while (!done()) {
      if (t.elapsed() > timeout_ms) return false;
      QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    return true;
  }

  bool connect_all() {
    int connacks = 0, failures = 0;
    auto hook = [&](ClientConnection* c, const std::string& name) {
      QObject::connect(c, &ClientConnection::connackReceived, c, [&, name](const ev::ConnackReceived& e) {
        if (e.reason_code == 0) ++connacks;
        else { ++failures; error(name + ": CONNACK refused, reason " + std::to_string(e.reason_code)); }
      });
      QObject::connect(c, &ClientConnection::transportError, c, [&, name](const QString& m) {
        if (!measuring_) { ++failures; error(name + ": " + m.toStdString()); }
      });
      c->setTls(o_.tls);
      c->connectToBroker(QString::fromStdString(o_.host), o_.port, connect_options(name));
    };
    for (std::size_t s = 0; s < subs_.size(); ++s) hook(subs_[s].conn.get(), "sub" + std::to_string(s));
    for (std::size_t p = 0; p < pubs_.size(); ++p) hook(pubs_[p].conn.get(), "pub" + std::to_string(p));
    const int total = int(subs_.size() + pubs_.size());
    const bool ok = wait_until([&] { return connacks + failures >= total; }, 15000);
    for (auto& s : subs_) QObject::disconnect(s.conn.get(), nullptr, s.conn.get(), nullptr);
    for (auto& p : pubs_) QObject::disconnect(p.conn.get(), nullptr, p.conn.get(), nullptr);
    if (!ok) error("timed out connecting to " + o_.host + ":" + std::to_string(o_.port));
    r_.connected = ok && failures == 0;
    return r_.connected;
  }

  bool subscribe_all() {
    int pending = 0;
    for (auto& sub : subs_) {
      for (int t : sub.topics) {
        const std::string filter = "mqtth-bench/" + std::to_string(r_.run_id) + "/" + std::to_string(t);
        client::SubscribeRequest req;
        mqtt::Subscription s;
        s.filter = filter;
        s.options.qos = o_.qos;
        req.subscriptions.push_back(s);
        const auto res = sub.conn->subscribe(std::move(req));
        if (!res.ok()) {
          error("subscribe failed: " + std::string(client::to_string(res.error)));
          return false;
        }
        ++pending;
        Subscriber* sp = &sub;
        QObject::connect(sub.conn.get(), &ClientConnection::subackReceived, sub.conn.get(),
                         [this, sp, filter, id = res.packet_id, &pending](const ev::SubackReceived& e) {
                           if (e.packet_id != id) return;
                           --pending;
                           const std::uint8_t code = e.reason_codes.empty() ? 0x80 : e.reason_codes[0];
                           if (code >= 0x80) error("SUBACK refused " + filter);
                           else ledger_.subscribe(sp->id, filter, code);
                         });
      }
    }
    const bool ok = wait_until([&] { return pending == 0; }, 15000);
    for (auto& s : subs_) QObject::disconnect(s.conn.get(), nullptr, s.conn.get(), nullptr);
    if (!ok) error("timed out waiting for SUBACK");
    return ok && r_.errors.empty();
  }

  void hook_measurement() {
    for (std::size_t si = 0; si < subs_.size(); ++si) {
      auto* c = subs_[si].conn.get();
      QObject::connect(c, &ClientConnection::messageDelivered, c,
                       [this, si](const ev::MessageDelivered& e) { on_delivery(si, e); });
      hook_failures(c, "sub" + std::to_string(si));
    }
    for (std::size_t pi = 0; pi < pubs_.size(); ++pi) {
      auto* c = pubs_[pi].conn.get();
      QObject::connect(c, &ClientConnection::publishAccepted, c,
                       [this, pi](const ev::PublishAccepted& e) { on_accepted(pi, e); });
      QObject::connect(c, &ClientConnection::publishCompleted, c,
                       [this, pi](const ev::PublishCompleted& e) { on_completed(pi, e); });
      hook_failures(c, "pub" + std::to_string(pi));
    }
  }

  void hook_failures(ClientConnection* c, const std::string& name) {
    QObject::connect(c, &ClientConnection::brokerViolation, c, [this, name](const ev::BrokerViolation& e) {
      {
        const std::lock_guard lock(shared_);
        ++r_.violations;
      }
      error(name + ": broker violation " + std::string(e.spec) + ": " + e.message);
    });
    QObject::connect(c, &ClientConnection::closed, c, [this, name](const ev::ConnectionClosed& e) {
      if (!closing_) error(name + ": connection closed during the run (" + std::string(e.cause) + ")");
    });
    QObject::connect(c, &ClientConnection::publishAbandoned, c, [this, name](const ev::PublishAbandoned& e) {
      error(name + ": publish abandoned (" + std::string(e.why) + ")");
    });
  }

  void on_delivery(std::size_t si, const ev::MessageDelivered& e) {
    const std::uint64_t now = steady_ns();
    std::unique_lock lock(shared_);
    ++r_.received;
    ++interval_received_;
    last_delivery_ns_ = now;
    const auto id = ledger_.delivered(subs_[si].id, std::string_view(e.payload),
                                      ledger::DeliveryInfo{e.qos, e.dup, e.retain});
    if (!id) return;
    const auto parsed = ledger::parse_payload(std::string_view(e.payload));
    if (parsed) {
      if (const auto stamp = read_stamp(parsed->user_payload)) {
        const std::uint64_t lat = now > *stamp ? now - *stamp : 0;
        r_.latency.record(lat);
        interval_latency_.record(lat);
      }
    }
    // Publisher client ids are interned after the subscribers: map back by name order.
    const auto pi = publisher_index(id->publisher);
    if (pi < subs_[si].settled.size()) {
      auto& settled = subs_[si].settled[pi];
      settled = std::max<std::uint64_t>(settled, id->seq + 1);
      lock.unlock();
      if (closed_loop_) pump(pi);
    }
  }

  std::size_t publisher_index(ledger::ClientId id) const {
    // Subscribers were interned first (ids 0..S-1 in creation order), then publishers.
    const auto first = pubs_.empty() ? 0 : pubs_.front().id;
    return id >= first ? std::size_t(id - first) : SIZE_MAX;
  }

  // QoS 2: accepted at PUBREC (the ledger's rule), completed later at PUBCOMP.
  void on_accepted(std::size_t pi, const ev::PublishAccepted& e) {
    auto& pub = pubs_[pi];
    const auto it = pub.in_flight.find(e.message_id);
    if (it == pub.in_flight.end()) return;
    const std::lock_guard lock(shared_);
    ledger_.accepted(pub.stream, it->second);
  }

  void on_completed(std::size_t pi, const ev::PublishCompleted& e) {
    auto& pub = pubs_[pi];
    const auto it = pub.in_flight.find(e.message_id);
    if (it == pub.in_flight.end()) return;
    if (e.reason_code < 0x80) {
      const std::lock_guard lock(shared_);
      ledger_.accepted(pub.stream, it->second);
      ++r_.accepted;
    }
    pub.in_flight.erase(it);
  }

  std::uint64_t unsettled(const Publisher& pub, std::size_t pi) const {
    std::uint64_t worst = 0;
    for (int s : pub.subscribers) worst = std::max(worst, pub.sent - std::min(pub.sent, subs_[s].settled[pi]));
    return worst;
  }

  bool publish_one(std::size_t pi, std::uint64_t intended_ns) {
    auto& pub = pubs_[pi];
    const ledger::MessageId id = [&] {
      const std::lock_guard lock(shared_);
      return ledger_.attempt(pub.stream);
    }();
    std::array<char, ledger::kMaxPrefixSize> prefix{};
    const std::size_t n = ledger::encode_prefix(id, std::span<char, ledger::kMaxPrefixSize>(prefix));
    client::PublishRequest req;
    req.topic = pub.topic_name;
    req.qos = o_.qos;
    req.payload.reserve(n + std::max(o_.payload, kStampSize));
    req.payload.append(prefix.data(), n);
    write_stamp(req.payload, intended_ns);
    if (o_.payload > kStampSize) req.payload.append(o_.payload - kStampSize, 'x');
    const auto res = pub.conn->publish(std::move(req));
    if (!res.ok()) {
      error("pub" + std::to_string(pi) + ": publish failed: " + std::string(client::to_string(res.error)));
      pub.done = true;
      return false;
    }
    ++pub.sent;
    ++r_.sent;
    ++interval_sent_;
    r_.expected += pub.subscribers.size();
    last_send_ns_ = steady_ns();
    if (o_.qos == 0) {
      const std::lock_guard lock(shared_);
      ledger_.accepted(pub.stream, id.seq);
      ++r_.accepted;
    } else {
      pub.in_flight.emplace(res.message_id, id.seq);
    }
    return true;
  }

  bool time_up(std::uint64_t now) const {
    return o_.duration_s > 0 && double(now - start_ns_) >= o_.duration_s * 1e9;
  }

  void pump(std::size_t pi) {
    auto& pub = pubs_[pi];
    if (pub.done) return;
    const std::uint64_t now = steady_ns();
    if (time_up(now)) { pub.done = true; return; }
    while (pub.sent < pub.quota && unsettled(pub, pi) < o_.window) {
      if (!publish_one(pi, steady_ns())) return;
      if (pub.subscribers.empty() && pub.sent % o_.window == 0) break;  // no feedback: let the loop turn
    }
    if (pub.sent >= pub.quota) pub.done = true;
  }

  // A timer expiry woke the sender: learn its delay, spin the few µs left to the intended
  // time (WakeupLead arms early by the smallest recent delay, so usually there are none),
  // then send.
  void on_wakeup() {
    std::uint64_t now = steady_ns();
    lead_.observe(wakeup_->plan().last_expiry_ns(), now);
    if (const auto due = schedule_->next_due_ns(); due && *due > now && *due - now <= WakeupLead::kMaxLeadNs) {
      const std::uint64_t spin_from = now;
      while (now < *due) now = steady_ns();
      r_.sender_spin_s += double(now - spin_from) / 1e9;
    }
    send_due();
  }

  // Sends every message whose intended time has come, each stamped with that time (a late
  // wakeup or a stalled broker sends a backlog, still stamped with the intended times: no
  // coordinated omission), records how late the sender got to each one, hands the bytes
  // to the kernel at once and arms the wakeup for the next send.
  void send_due() {
    {
      // What this wakeup sends leaves in this loop turn, one write per publisher, without
      // a queued flush (an event-dispatcher wake-up) per message.
      std::vector<std::optional<ClientConnection::WriteBatch>> batches(pubs_.size());
      std::uint64_t now = steady_ns();
      while (const auto send = schedule_->pop_due(now)) {
        const auto pi = std::size_t(send->publisher);
        r_.sender_lateness.record(now - send->intended_ns);
        if (!pubs_[pi].done) {
          if (!batches[pi]) batches[pi].emplace(*pubs_[pi].conn);
          publish_one(pi, send->intended_ns);
        }
        now = steady_ns();
      }
    }
    if (const auto next = schedule_->next_due_ns()) {
      // The periodic timer is left alone while its next expiry is where this send wants it.
      const std::uint64_t wanted = lead_.arm_at(*next);
      if (!wakeup_->plan().keeps(wanted)) wakeup_->arm(wanted, timer_period_ns_);
    } else {
      for (auto& pub : pubs_) pub.done = true;
    }
  }

  void on_second() {
    const std::uint64_t now = steady_ns();
    const std::lock_guard lock(shared_);
    IntervalSample s;
    s.t_s = double(now - start_ns_) / 1e9;
    s.sent = interval_sent_;
    s.received = interval_received_;
    s.p50_ns = interval_latency_.percentile(50);
    s.p99_ns = interval_latency_.percentile(99);
    s.max_ns = interval_latency_.max();
    const double dt = s.t_s - (r_.intervals.empty() ? 0.0 : r_.intervals.back().t_s);
    r_.intervals.push_back(s);
    if (o_.progress) {
      std::fprintf(stderr, "bench: %5.1fs sent %9.0f/s received %9.0f/s p99 %8.3f ms (so far %8.3f ms)\n",
                   s.t_s, double(s.sent) / dt, double(s.received) / dt, double(s.p99_ns) / 1e6,
                   double(r_.latency.percentile(99)) / 1e6);
    }
    interval_sent_ = interval_received_ = 0;
    interval_latency_.reset();
  }

  bool all_sent() const {
    return std::all_of(pubs_.begin(), pubs_.end(), [](const Publisher& p) { return p.done; });
  }
  bool all_complete() const {
    return std::all_of(pubs_.begin(), pubs_.end(), [](const Publisher& p) {
      return p.conn->session().outbound_in_flight() == 0 && p.conn->session().outbound_queued() == 0;
    });
  }

  void measure() {
    hook_measurement();
    rusage before{};
    ::getrusage(RUSAGE_SELF, &before);
    measuring_ = true;
    closed_loop_ = o_.rate <= 0;
    if (!closed_loop_) start_receiver_thread();
    start_ns_ = steady_ns();
    last_delivery_ns_ = last_send_ns_ = start_ns_;

    QTimer second;
    QObject::connect(&second, &QTimer::timeout, [this] { on_second(); });
    second.start(1000);
    QTimer ticker;
    ticker.setTimerType(Qt::PreciseTimer);
    if (closed_loop_) {
      for (std::size_t pi = 0; pi < pubs_.size(); ++pi) pump(pi);
      // Publishers without subscribers, a window stalled by lost messages or the duration
      // cap need a nudge: re-pump every 10 ms, and after drain_s of silence settle the window.
      QObject::connect(&ticker, &QTimer::timeout, [this] {
        const std::uint64_t now = steady_ns();
        if (double(now - last_delivery_ns_) > o_.drain_s * 1e9 / 4) {
          for (auto& sub : subs_)
            for (std::size_t pi = 0; pi < pubs_.size(); ++pi) sub.settled[pi] = pubs_[pi].sent;
        }
        for (std::size_t pi = 0; pi < pubs_.size(); ++pi) pump(pi);
      });
      ticker.start(10);
    } else {
      schedule_.emplace(start_ns_, o_.rate, int(pubs_.size()), o_.duration_s);
      wakeup_ = std::make_unique<AbsoluteWakeup>([this] { on_wakeup(); });
      timer_period_ns_ = std::uint64_t(std::llround(1e9 / o_.rate));
      r_.sender_precise = wakeup_->precise();
      send_due();
    }

    // Sending phase, then drain: until everything expected arrived or no progress for drain_s.
    wait_until([&] { return all_sent(); }, INT32_MAX);
    ticker.stop();
    if (wakeup_) wakeup_->disarm();
    r_.send_seconds = double(last_send_ns_ - start_ns_) / 1e9;
    wait_until(
        [&] {
          std::unique_lock lock(shared_);
          const std::uint64_t quiet = steady_ns() - std::max(last_delivery_ns_, last_send_ns_);
          const bool all_received = r_.received >= r_.expected;
          lock.unlock();
          if (all_received && all_complete()) return true;
          return double(quiet) > o_.drain_s * 1e9;
        },
        INT32_MAX);
    join_receiver_thread();
    r_.receive_seconds = double(last_delivery_ns_ - start_ns_) / 1e9;
    if (!all_complete()) error("QoS 1/2 publishes still unacknowledged after the drain time");
    second.stop();
    on_second();
    rusage after{};
    ::getrusage(RUSAGE_SELF, &after);
    r_.cpu_user_s = cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime);
    r_.cpu_system_s = cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime);
  }

  // Open loop: from here to join_receiver_thread() the subscribers' connections live on a
  // thread of their own, so receiving and acknowledging deliveries never holds up a send
  // at its intended time, and the two halves of the load can use two CPUs (at 10,000 QoS
  // 2 messages/s one thread doing both was busy ~90 % of a core, most of it in the
  // kernel's loopback TCP, and sends came late). The subscribers only record: `shared_`
  // guards what both threads touch (ledger, counters, histograms, errors). Closed loop
  // stays on one thread: a delivery there triggers the next send.
  void start_receiver_thread() {
    if (subs_.empty()) return;
    for (auto& sub : subs_) sub.conn->moveToThread(&receiver_thread_);
    receiver_thread_.start();
  }

  // Brings the subscribers' connections back to this thread (moveToThread must be called
  // from the thread an object lives in) and stops the receiver thread.
  void join_receiver_thread() {
    if (!receiver_thread_.isRunning()) return;
    QThread* here = QThread::currentThread();
    for (auto& sub : subs_) {
      ClientConnection* c = sub.conn.get();
      QMetaObject::invokeMethod(c, [c, here] { c->moveToThread(here); }, Qt::BlockingQueuedConnection);
    }
    receiver_thread_.quit();
    receiver_thread_.wait();
    // Moving an object with running timers (the connection's keep-alive QTimer) posts it
    // a call that re-registers them in the new thread and frees their list: run it now,
    // not on a loop turn that may come after the connection is gone (LeakSanitizer saw
    // the list leak).
    QCoreApplication::sendPostedEvents(nullptr, QEvent::MetaCall);
  }

  BenchResult finish() {
    join_receiver_thread();
    closing_ = true;
    int open = 0;
    auto close = [&](ClientConnection* c) {
      if (c->isSocketOpen()) {
        ++open;
        QObject::connect(c, &ClientConnection::closed, c, [&open] { --open; });
        c->disconnectFromBroker();
      }
    };
    for (auto& s : subs_) close(s.conn.get());
    for (auto& p : pubs_) close(p.conn.get());
    wait_until([&] { return open <= 0; }, 3000);
    r_.streams = ledger_.results();
    r_.foreign = ledger_.foreign();
    return std::move(r_);
  }

  BenchOptions o_;
  ledger::Ledger ledger_;
  BenchResult r_;
  std::vector<Subscriber> subs_;
  std::vector<Publisher> pubs_;
  bool measuring_ = false, closed_loop_ = true;
  std::atomic<bool> closing_ = false;      // read by the receiver thread's handlers
  std::mutex shared_;                      // see start_receiver_thread()
  QThread receiver_thread_;                // open loop: the subscribers' event loop
  std::uint64_t start_ns_ = 0, last_delivery_ns_ = 0, last_send_ns_ = 0;
  std::uint64_t interval_sent_ = 0, interval_received_ = 0;
  Histogram interval_latency_;
  std::optional<OpenLoopSchedule> schedule_;   // open loop
  std::unique_ptr<AbsoluteWakeup> wakeup_;     // open loop
  WakeupLead lead_;                            // open loop
  std::uint64_t timer_period_ns_ = 0;          // open loop: 1 / rate, rounded
};

}  // namespace

bool BenchResult::all_held() const {
  return std::all_of(streams.begin(), streams.end(),
                     [](const ledger::StreamResult& s) { return s.verdict == ledger::Verdict::held; });
}

BenchResult run_bench(const BenchOptions& options) {
  Runner runner(options);
  return runner.run();
}

}  // namespace mqtth::bench
