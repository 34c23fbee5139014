// What an Execution knows about one scenario client (internal to mqtth_runner): its
// connections, what it received, what it waits for, and its share of the QoS ledger.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <mqtt/codec.hpp>
#include <mqtt/json.hpp>

#include "mqtth/client/ClientConnection.hpp"
#include "mqtth/client/RawConnection.hpp"
#include "mqtth/ledger/Ledger.hpp"
#include "mqtth/report/Report.hpp"
#include "mqtth/scenario/Scenario.hpp"

namespace mqtth::fault {
class FaultProxy;
}

namespace mqtth::runner {

// A packet from the broker, as the expect_* steps see it.
struct ReceivedPacket {
  mqtt::PacketType type{};
  mqtt::Json match;  // decode JSON normalised for matching (prefix and ledger identity removed)
  double at_ms = 0;
  // consumed: matched by an expect_* step, never matched again.
  bool consumed = false;
  // answered: the packet a connect/subscribe/unsubscribe waited for, or a delivery an
  // expect_delivery counted. Still matchable by expect_* steps, but not "unexpected" for
  // expect_no_packet.
  bool answered = false;
  std::optional<ledger::MessageId> id;  // PUBLISH carrying this run's ledger identity
};

// The end of one of the client's connections (session or raw).
struct ClosedConnection {
  bool by_client = false;
  std::optional<std::uint8_t> disconnect_reason;
  std::string cause;
};

struct PendingSubscribe {
  std::vector<scenario::SubscriptionSpec> subscriptions;  // unprefixed
};

struct ClientState {
  const scenario::ClientSpec* spec = nullptr;
  std::string name;
  mqtt::Version version = mqtt::Version::v5;
  client::ClientConnection* conn = nullptr;
  ledger::ClientId ledger_id = 0;
  bool ever_connected = false;
  // Whether the session the broker reports absent in CONNACK was one it may drop: the
  // client asked for a clean start, or (5.0) the previous connection's session expiry
  // was 0. Only then are messages owed to this subscriber waived; otherwise a broker that
  // loses a persistent session is charged with the loss.
  bool session_may_be_absent = true;
  std::optional<std::uint32_t> previous_session_expiry;
  // The broker resumed the session (Session Present 1) at this time (ms since the scenario
  // started) and still owed re-sends of flows left unfinished [MQTT-4.4.0-1]; unset once
  // judged (Execution::checkResumedFlows) or when that connection ends.
  std::optional<double> resumed_at_ms;
  // send_raw wrote on the session's connection: a broker that does not close afterwards is
  // judged by the close-after-violation rule. (The session itself knows the answers to the
  // packets written raw, ClientSession::send_raw, so its findings stay findings.)
  bool raw_on_session = false;
  // Raw mode: send_raw on a client without a connection opens a bare TCP link that
  // never sends CONNECT.
  client::RawConnection* raw = nullptr;

  std::vector<ReceivedPacket> received;
  std::deque<report::PacketRecord> ring;  // last packets both ways, for failure messages
  std::vector<ClosedConnection> closes;
  std::size_t closes_consumed = 0;
  std::vector<client::event::ConnackReceived> connacks;
  std::map<std::uint16_t, std::vector<std::uint8_t>> subacks;    // packet id -> codes (latest)
  std::map<std::uint16_t, std::vector<std::uint8_t>> unsubacks;
  std::map<std::uint16_t, PendingSubscribe> pending_subscribes;
  std::map<std::uint16_t, std::vector<std::string>> pending_unsubscribes;
  std::map<std::uint64_t, ledger::MessageId> in_flight;  // session message id -> ledger id
  std::set<std::uint64_t> awaited;                       // of the current publish step
  std::vector<std::string> transport_errors;
  // Fault injection: the client's own proxy (created on first use when proxied).
  fault::FaultProxy* proxy = nullptr;
  scenario::ConnectOverrides last_overrides;  // of the last connect/reconnect (for healing)
  bool healing = false;                       // exploration: reconnecting after the cut
  // The session ends with the connection (3.1.1 clean session; 5.0 session expiry 0):
  // a QoS 2 publish then counts as sent at PUBCOMP, not PUBREC (its state dies with
  // the session until then, 4.1).
  bool transient_session = true;
  std::map<std::string, scenario::SubscriptionSpec> granted;  // unprefixed filter -> as subscribed
  std::set<std::pair<ledger::StreamId, ledger::Sequence>> published;  // DUP re-sends -> Ledger::resent
};

// A step's `packet_id` for the packets the client sends while this object lives (the
// session's fixed_packet_id misbehaviour); then the session chooses its ids again as
// before. The connection must outlive this object (teardown only deleteLater()s it).
class FixedPacketId {
 public:
  FixedPacketId(client::ClientConnection& conn, std::optional<std::uint16_t> id)
      : misbehaviour_(conn.misbehaviour()), saved_(misbehaviour_.fixed_packet_id) {
    if (id) misbehaviour_.fixed_packet_id = *id;
  }
  ~FixedPacketId() { misbehaviour_.fixed_packet_id = saved_; }
  FixedPacketId(const FixedPacketId&) = delete;
  FixedPacketId& operator=(const FixedPacketId&) = delete;

 private:
  client::Misbehaviour& misbehaviour_;
  std::optional<std::uint16_t> saved_;
};

}  // namespace mqtth::runner
