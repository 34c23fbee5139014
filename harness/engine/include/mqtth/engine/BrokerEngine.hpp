// The embedded reference broker's protocol engine: MQTT 3.1, 3.1.1 and 5.0.
//
// Sans-I/O: no sockets, no Qt, no threads, no wall clock. The shell (harness/net
// BrokerServer, the fuzz target, the unit tests) tells the engine what happened on each
// connection -- opened, bytes received (in any chunking), closed -- and what time it is
// (a monotonic millisecond count that never goes backwards), then drains the output:
// bytes to write to connections and connections to close. Timers (keep-alive, connect
// timeout, will delay, session expiry) are fired by calling advance() at or after
// next_deadline().
//
// Typical shell loop:
//   id = engine.open(now)                  on accept
//   engine.receive(id, bytes, now)         on readyRead
//   engine.closed(id, now)                 on disconnected / socket error
//   engine.advance(now)                    when the timer for next_deadline() fires
//   for (auto& out : engine.take_output()) after each of the above:
//     write out.bytes to out.connection; if out.close, close it after the write
//                                        (the engine already forgot it: no closed() needed,
//                                        a later closed() for it is a harmless no-op)
//
// Not thread-safe: one engine per thread. Never throws on the wire path; bad input gets
// the spec's answer (5.0: DISCONNECT/CONNACK with the reason code; 3.1.1: close).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/codec.hpp"
#include "mqtth/engine/BrokerConfig.hpp"

namespace mqtth::engine {

using ConnectionId = std::uint64_t;  // never 0; never reused by one engine

// What the shell must do after a call into the engine.
struct Output {
  ConnectionId connection = 0;
  std::string bytes;   // write these (may be empty)
  bool close = false;  // then close the connection
};

// Read-only view of a session, for tests, the fuzz target's invariants and logging.
struct SessionInfo {
  std::string client_id;
  bool connected = false;
  std::optional<ConnectionId> connection;
  mqtt::Version version = mqtt::Version::v3_1_1;
  std::uint32_t session_expiry_interval = 0;  // seconds; 0xFFFFFFFF: never
  std::size_t subscriptions = 0;
  std::size_t inflight_out = 0;        // QoS 1/2 sent (or to resend), not yet completed
  std::size_t queued = 0;              // waiting for the in-flight window / reconnection
  std::size_t inbound_qos2_pending = 0;  // PUBREC sent, PUBREL not yet received
  bool will_pending = false;           // 5.0 will waiting for its delay to pass
};

// Counters since construction, for logging, benchmarks and tests.
struct EngineStats {
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_refused = 0;  // over max_connections
  std::uint64_t publishes_received = 0;
  std::uint64_t publishes_sent = 0;
  std::uint64_t messages_dropped_queue_full = 0;
  std::uint64_t messages_dropped_too_large = 0;  // above the client's Maximum Packet Size
  std::uint64_t messages_expired = 0;
  std::uint64_t protocol_errors = 0;  // connections closed for a protocol violation
  std::uint64_t misbehaviours = 0;    // deliveries altered by a misbehave mode
};

class BrokerEngine {
 public:
  explicit BrokerEngine(BrokerConfig config = {});
  ~BrokerEngine();
  BrokerEngine(const BrokerEngine&) = delete;
  BrokerEngine& operator=(const BrokerEngine&) = delete;
  BrokerEngine(BrokerEngine&&) noexcept;
  BrokerEngine& operator=(BrokerEngine&&) noexcept;

  // A deep copy: the same configuration, connections (with their partly received
  // packets), sessions, subscriptions, in-flight and queued messages, retained messages,
  // pending output, counters and logger. From then on the two are independent: nothing
  // done to one shows in the other. (Application messages are immutable once received
  // and are shared between the two.) For fuzz targets that prepare a state once and
  // start every input from a copy of it.
  BrokerEngine clone() const;

  // A new transport connection was accepted. Above max_connections the connection is
  // refused: an Output{id, "", close=true} is queued and no state is kept for it.
  ConnectionId open(std::uint64_t now_ms);
  // Bytes read from the connection, in any chunking. Unknown/closed ids are ignored.
  void receive(ConnectionId, mqtt::Bytes data, std::uint64_t now_ms);
  void receive(ConnectionId id, std::string_view data, std::uint64_t now_ms) {
    receive(id, mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()), now_ms);
  }
  // The peer closed the connection or the socket failed. Treated as an abnormal loss
  // (the will is published) unless the client sent DISCONNECT first.
  void closed(ConnectionId, std::uint64_t now_ms);
  // Fires every timer due at or before now_ms.
  void advance(std::uint64_t now_ms);
  // The earliest time at which advance() has something to do; nullopt: no timer pending.
  // Cheap to call after every event (cached). It may be earlier than needed after packets
  // pushed a keep-alive timer back, never later: advance() then fires nothing and the
  // following next_deadline() is exact.
  std::optional<std::uint64_t> next_deadline() const;

  // Everything queued for the shell since the last call, in order. Consecutive writes to
  // one connection are merged into one Output.
  std::vector<Output> take_output();
  bool has_output() const;

  // Optional human-readable trace (one line per notable event: connect, refusal,
  // protocol error with spec id, takeover ...). Default: none.
  void set_logger(std::function<void(ConnectionId, std::string_view)> logger);

  // --- introspection ------------------------------------------------------------------
  const BrokerConfig& config() const;
  std::size_t connection_count() const;  // open connections, CONNECTed or not
  std::size_t session_count() const;
  std::size_t retained_count() const;
  std::optional<SessionInfo> session(std::string_view client_id) const;
  std::vector<SessionInfo> sessions() const;
  // The same, into `out` (cleared first), so a caller asking after every event (the fuzz
  // targets' limit checks) reuses one vector instead of allocating one per call.
  void sessions(std::vector<SessionInfo>& out) const;
  const EngineStats& stats() const;
  // Checks the engine's internal invariants: in-flight windows, queue lengths,
  // subscription and retained counts within their limits, connection <-> session links
  // consistent, and (with track_deliveries) no QoS 2 message delivered to a session twice
  // as a new message (except by misbehave dup_qos2). nullopt when all hold, otherwise a
  // description of the first one broken. For fuzz targets and tests.
  std::optional<std::string> check_invariants() const;

 private:
  struct Impl;
  explicit BrokerEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqtth::engine
