// The bystander oracles of the live fuzzer (docs/netfuzz.md "Broker oracles"): one
// well-behaved client that keeps using the broker while the fuzz traffic runs. Each cycle
// it publishes a QoS 1 message to its own subscription and sends a PINGREQ; it judges the
// round trip (a stall), the delivery (a QoS 1 message acknowledged but never delivered, or
// delivered twice). Used by `fuzz` and by `run --spawn --bystander`.
#pragma once

#include <mqtt/codec.hpp>
#include "mqtth/process/TcpConnect.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mqtth::process {

struct BystanderEvent {
  std::string kind;    // "stall", "qos1_lost", "qos1_duplicate"
  std::string detail;
};

class Bystander {
 public:
  // `stall_ms`: a cycle slower than this is a stall; `give_up_ms`: no answer by then is left
  // to the liveness oracle (a hang), and the bystander reconnects.
  Bystander(const TcpAddress& broker, mqtt::Version version, std::string client_id, int stall_ms,
            int give_up_ms);
  ~Bystander() { disconnect(); }
  Bystander(const Bystander&) = delete;
  Bystander& operator=(const Bystander&) = delete;

  // One cycle: (re)connect and subscribe when needed, PUBLISH QoS 1 (payload: its sequence
  // number) to the own topic, wait for its PUBACK and its delivery (acknowledged), then
  // PINGREQ / PINGRESP. A finding, or nullopt (also when the broker did not answer at all).
  std::optional<BystanderEvent> cycle();
  // The broker was restarted: a new connection and stream next cycle.
  void disconnect();
  double last_round_trip_ms() const { return last_ms_; }
  // False once the broker failed to deliver the very first message of the run: one that
  // routes nothing (a stub) is not judged for loss; stalls still are.
  bool delivery_checked() const { return delivery_checked_; }
  std::uint64_t cycles() const { return cycles_; }

 private:
  bool connect();
  // Waits up to `wait_ms` for bytes, and returns the complete packets read so far (the
  // rest stays in in_); `ended` when the broker closed or nothing came.
  std::vector<std::string> read_packets(int wait_ms, bool& ended);

  TcpAddress broker_;
  mqtt::Version version_;
  std::string client_id_;
  std::string topic_;
  int stall_ms_;
  int give_up_ms_;
  int fd_ = -1;
  std::string in_;               // bytes read, not yet framed
  std::uint32_t next_seq_ = 1;
  std::uint16_t next_id_ = 1;
  std::set<std::uint32_t> delivered_;  // sequence numbers delivered on this connection
  double last_ms_ = 0;
  bool delivered_once_ = false;  // some message of the run was delivered
  bool delivery_checked_ = true;
  std::uint64_t cycles_ = 0;
};

}  // namespace mqtth::process
