// One scenario's state machine on the runner's event loop (internal to mqtth_runner).
//
// Steps run one after another. A step starts (sends what it sends) and installs a
// `check` that is re-evaluated after every client event, plus a deadline timer; nothing
// sleeps. The scenario ends at the first failure, at the scenario timeout, or after the
// last step; then every connection is aborted and the embedded broker (if any) closed.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <mqtt/codec.hpp>
#include <mqtt/json.hpp>

#include "mqtth/client/ClientConnection.hpp"
#include "mqtth/client/RawConnection.hpp"
#include "mqtth/fault/FaultRule.hpp"
#include "mqtth/ledger/Ledger.hpp"
#include "mqtth/report/Report.hpp"
#include "mqtth/runner/Options.hpp"
#include "mqtth/runner/Prefix.hpp"
#include "mqtth/scenario/Scenario.hpp"

class QTimer;

namespace mqtth::net {
class BrokerServer;
}
namespace mqtth::fault {
class FaultProxy;
struct PacketRecord;
}

namespace mqtth::runner {

// One cut of a fault-point exploration: the link of `client` is cut (RST, both sides)
// right after the nth packet of `type` travelling `direction`, counted over the whole run
// (all of the client's connections). The cut fires once.
struct CutPlan {
  std::string client;
  fault::Direction direction = fault::Direction::to_broker;
  mqtt::PacketType type = mqtt::PacketType::connect;
  std::uint32_t nth = 1;
};

// A packet of an explored client's link as the baseline run's proxy saw it.
struct RecordedPacket {
  std::string client;
  fault::Direction direction = fault::Direction::to_broker;
  mqtt::PacketType type = mqtt::PacketType::connect;
};

struct ExecContext {
  std::optional<Endpoint> broker;  // nullopt: start an embedded broker for this scenario
  Prefix prefix;                   // identity without --broker
  std::uint32_t ledger_run = 1;
  // Route every client through its own FaultProxy (also done when the scenario has a
  // `fault:` step). Off otherwise: direct connections keep the suite fast.
  bool proxied = false;
  std::string pcap_dir;            // non-empty: one pcap per proxied connection (run --pcap)
  std::string pcap_stem;           // file name stem: sanitised scenario name and protocol
  std::set<std::string> record_clients;  // exploration baseline: record these links
  std::optional<CutPlan> cut;      // exploration cut run
};

class Execution : public QObject {
  Q_OBJECT

 public:
  Execution(const scenario::Scenario& scenario, ExecContext context, QObject* parent = nullptr);
  ~Execution() override;

  void start();
  bool done() const { return finished_; }
  report::ScenarioResult& result() { return result_; }
  const std::vector<std::string>& failure_spec() const { return failure_spec_; }
  // Exploration: the baseline's packets of the recorded clients, in arrival order.
  const std::vector<RecordedPacket>& recorded() const { return recorded_; }
  bool cutFired() const { return cut_fired_; }

 signals:
  void finished();

 private:
  using Json = mqtt::Json;

  struct Received {
    mqtt::PacketType type{};
    Json match;      // decode JSON normalised for matching (prefix and ledger identity removed)
    double at_ms = 0;
    // consumed: matched by an expect_* step, never matched again.
    bool consumed = false;
    // answered: the packet a connect/subscribe/unsubscribe waited for, or a delivery an
    // expect_delivery counted. Still matchable by expect_* steps, but not "unexpected" for
    // expect_no_packet.
    bool answered = false;
    std::optional<ledger::MessageId> id;  // PUBLISH carrying this run's ledger identity
  };
  struct Closed {
    bool by_client = false;
    std::optional<std::uint8_t> disconnect_reason;
    std::string cause;
  };
  struct PendingSubscribe {
    std::vector<scenario::SubscriptionSpec> subscriptions;  // unprefixed
  };
  struct Client {
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
    // send_raw wrote on the session's connection: the session no longer knows everything
    // the broker answers to, so its non-fatal violations are not findings.
    bool raw_on_session = false;
    // Raw mode: send_raw on a client without a connection opens a bare TCP link that
    // never sends CONNECT.
    client::RawConnection* raw = nullptr;

    std::vector<Received> received;
    std::deque<report::PacketRecord> ring;  // last packets both ways, for failure messages
    std::vector<Closed> closes;
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

  // --- step machinery --------------------------------------------------------------------
  void runNextStep();
  void beginStep(const scenario::Step& step);
  // check: nullopt pending, true done (failures call fail() themselves and return nullopt).
  void wait(std::function<std::optional<bool>()> check, std::optional<scenario::Duration> within,
            std::function<void()> on_deadline);
  void completeStep();
  void evaluateSoon();
  void evaluate();
  void onStepDeadline();
  void onScenarioTimeout();
  void fail(std::string message, std::string expected = {}, std::string actual = {},
            std::vector<std::string> spec = {});
  void error(std::string message);
  void finish(report::Status status);
  void teardown();
  double elapsedMs() const;
  std::int64_t remainingMs() const;

  // --- steps -----------------------------------------------------------------------------
  void doConnect(Client& c, const scenario::ConnectOverrides& overrides,
                 const std::optional<scenario::ConnackExpectation>& expect,
                 std::optional<scenario::Duration> within, bool reconnect);
  void doDisconnect(Client& c, const scenario::DisconnectStep& s);
  void doSubscribe(Client& c, const scenario::SubscribeStep& s);
  void doUnsubscribe(Client& c, const scenario::UnsubscribeStep& s);
  void doPublish(Client& c, const scenario::PublishStep& s);
  void doSendRaw(Client& c, const scenario::SendRawStep& s);
  void doExpectPacket(Client& c, const scenario::ExpectPacketStep& s);
  void doExpectNoPacket(Client& c, const scenario::ExpectNoPacketStep& s);
  void doExpectDelivery(const scenario::ExpectDeliveryStep& s);
  void doExpectDisconnect(Client& c, const scenario::ExpectDisconnectStep& s);
  void doExpectConnack(Client& c, const scenario::ExpectConnackStep& s);
  void doExpectSuback(Client& c, const scenario::ExpectSubackStep& s);
  void doMisbehave(Client& c, const scenario::MisbehaveStep& s);
  void doFault(Client& c, const scenario::FaultStep& s);

  // --- clients ---------------------------------------------------------------------------
  Client* client(const std::string& name);
  client::ConnectOptions connectOptions(const Client& c, const scenario::ConnectOverrides& o,
                                        std::string* problem);
  void ensureConnection(Client& c);
  void onClientEvent(Client& c, const client::Event& event);
  void recordPacket(Client& c, report::Direction direction, const std::string& type, Json decoded,
                    std::string_view raw);
  // A packet the client wrote, into the trace; `no_packet` is the trace type of bytes that
  // are not one valid packet.
  void recordSent(Client& c, const client::event::PacketSent& e, std::string_view no_packet);
  // Raw mode: the client's RawConnection (created on first use) connects to its target.
  void openRaw(Client& c);
  void onRawPacket(Client& c, const client::RawPacket& packet);
  void dropRaw(Client& c);  // closes and deletes the raw link, silently
  // A packet from the broker (on the session's link or a raw one): traced, and kept for
  // the expect_* steps.
  void onPacketReceived(Client& c, const mqtt::Packet& packet, mqtt::Version version, std::string_view raw);
  // `wire` (the packet's decode JSON) as expect_* steps match it: the --broker prefix
  // taken off the topic, this run's ledger identity off the payload and user properties.
  Json matchJson(const Json& wire, const mqtt::Packet& packet) const;
  std::optional<ledger::MessageId> identity(const mqtt::Packet& packet) const;
  std::string prefixRaw(const std::string& bytes, mqtt::Version version) const;
  std::string connackProblem(const Client& c, const client::event::ConnackReceived& connack,
                             const std::optional<scenario::ConnackExpectation>& expect) const;
  std::string lastPacketsText() const;
  std::string receivedSummary(const Client& c, std::optional<mqtt::PacketType> type) const;
  std::string brokerHost() const;
  quint16 brokerPort() const;
  // Where the client's TCP connections go: its proxy when proxied, else the broker.
  std::string targetHost(Client& c);
  quint16 targetPort(Client& c);
  fault::FaultProxy* proxyFor(Client& c);
  void onProxyPacket(Client& c, const fault::PacketRecord& record);
  void startConnection(Client& c, const scenario::ConnectOverrides& overrides, const client::ConnectOptions& opts);
  bool cutRun() const { return context_.cut.has_value(); }
  void onCutLinkClosed(Client& c);
  void heal(Client& c);

  const scenario::Scenario& scenario_;
  ExecContext context_;
  report::ScenarioResult result_;
  std::vector<std::string> failure_spec_;
  ledger::Ledger ledger_;
  std::vector<std::unique_ptr<Client>> clients_;
  net::BrokerServer* broker_ = nullptr;
  quint16 embedded_port_ = 0;

  QElapsedTimer clock_;
  QTimer* step_timer_ = nullptr;
  QTimer* scenario_timer_ = nullptr;
  std::size_t step_index_ = 0;  // 0-based index of the current step
  double step_started_ms_ = 0;
  double previous_step_started_ms_ = 0;
  std::function<std::optional<bool>()> check_;
  std::function<void()> on_deadline_;
  bool evaluate_scheduled_ = false;
  bool finished_ = false;
  bool started_ = false;
  std::size_t trace_limit_ = 2000;
  std::map<std::string, ledger::StreamId> streams_;

  // Fault injection and exploration
  bool needs_proxy_ = false;
  std::string upstream_host_;      // the broker as an IP address for the proxies
  std::vector<RecordedPacket> recorded_;
  std::uint32_t cut_seen_ = 0;     // packets matching the cut plan so far
  int cut_rule_id_ = 0;
  bool cut_fired_ = false;
  bool in_deadline_ = false;       // fail() called from a step deadline
  bool scenario_timed_out_ = false;  // no tolerance any more: the run ends
  bool deferred_step_ = false;     // the current step waits for the cut client's heal
};

// Properties JSON (decode-JSON shape) -> owning properties; error text on failure.
std::optional<mqtt::Properties> properties_from_json(const mqtt::Json& json, std::string* error);

}  // namespace mqtth::runner
