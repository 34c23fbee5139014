// Load and latency benchmark (`mqtt-harness bench`, docs/bench.md).
//
// N publishers and M subscribers (ClientConnection, packet tracing off) on one Qt event
// loop (open loop: the subscribers on a second thread while measuring). Every message carries the ledger identity prefix, then the time it was meant to be
// sent (steady clock, ns, 16 hex digits), then padding to the requested payload size. A
// subscriber records publish-to-delivery latency in a Histogram and hands the delivery to
// the QoS ledger, which gives every (stream, subscriber) pair its verdict at the end.
//
// Closed loop (--messages): each publisher keeps at most `window` messages that some
// subscriber of its topic has not yet seen (per-stream order lets a later delivery settle
// earlier ones: they are delivered or lost). Open loop (--rate): sends are scheduled at
// fixed intended times (OpenLoopSchedule) and latency is measured from the intended time,
// so a stalled broker shows up as latency instead of as fewer samples (no coordinated
// omission); the loop is woken at each intended time by a timerfd (tens of µs late, not ms).
#pragma once

#include <memory>
#include <mqtt/codec.hpp>
#include <mqtth/bench/Histogram.hpp>
#include <mqtth/ledger/Ledger.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mqtth::tls {
struct Client;  // mqtth/tls/Tls.hpp
}  // namespace mqtth::tls

namespace mqtth::bench {

struct BenchOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string broker_label;     // "embedded (child process)", "127.0.0.1:1883" ...
  std::shared_ptr<const tls::Client> tls;  // --broker mqtts://: TLS on every connection (docs/tls.md)
  int publishers = 1;
  int subscribers = 1;
  int topics = 0;               // 0: one per publisher
  std::uint8_t qos = 0;
  std::size_t payload = 16;     // user payload bytes after the identity prefix (>= 16)
  double rate = 0;              // total msgs/s over all publishers; 0 = closed loop
  std::uint64_t messages = 0;   // closed loop: total over all publishers
  double duration_s = 0;        // open loop: length; closed loop: optional cap
  mqtt::Version version = mqtt::Version::v5;
  std::uint32_t window = 100;   // closed loop: undelivered messages per publisher
  std::uint16_t max_in_flight = 0;  // QoS 1/2 window on the wire (0: session default)
  double drain_s = 5;           // after the last send, wait this long without progress
  bool progress = true;         // one line a second on stderr
};

struct IntervalSample {
  double t_s = 0;               // end of the interval, seconds since the start
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t p50_ns = 0;
  std::uint64_t p99_ns = 0;
  std::uint64_t max_ns = 0;
};

struct BenchResult {
  BenchOptions options;
  std::uint32_t run_id = 0;
  bool connected = false;
  std::vector<std::string> errors;    // connection failures, violations, timeouts
  std::uint64_t sent = 0;             // PUBLISH handed to the session
  std::uint64_t accepted = 0;         // broker took responsibility (QoS 0: written)
  std::uint64_t expected = 0;         // sent x subscribers of the topic
  std::uint64_t received = 0;         // deliveries (all copies)
  double send_seconds = 0;            // start -> last send
  double receive_seconds = 0;         // start -> last delivery
  Histogram latency;                  // ns, from intended send time to delivery
  // Open loop: how late the sender got to each send after its intended time (ns), i.e.
  // when it built the PUBLISH (the write to the socket follows at once). It is part of
  // `latency` already; reported so that a run shows whether its own sender was the noise.
  Histogram sender_lateness;
  bool sender_precise = false;        // open loop woken by a timerfd (else whole-ms QTimer)
  double sender_spin_s = 0;           // open loop: time spent spinning to the intended times
  std::vector<IntervalSample> intervals;
  double cpu_user_s = 0, cpu_system_s = 0;      // this process (getrusage), measured phase
  std::optional<double> broker_cpu_s;           // child broker, when the harness started it
  std::vector<ledger::StreamResult> streams;
  std::vector<ledger::ForeignCounts> foreign;
  std::uint64_t violations = 0;       // BrokerViolation events

  double sent_per_s() const { return send_seconds > 0 ? double(sent) / send_seconds : 0; }
  double received_per_s() const { return receive_seconds > 0 ? double(received) / receive_seconds : 0; }
  bool all_held() const;
  bool passed() const { return connected && errors.empty() && all_held(); }
};

// Runs the benchmark on the calling thread's Qt event loop (needs a QCoreApplication).
BenchResult run_bench(const BenchOptions& options);

nlohmann::ordered_json to_json(const BenchResult& result);
std::string to_html(const BenchResult& result);
// "p50 0.21 ms ..." summary for stdout.
std::string summary_text(const BenchResult& result);

}  // namespace mqtth::bench
