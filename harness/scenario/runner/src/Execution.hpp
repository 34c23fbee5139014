// One scenario's state machine on the runner's event loop (internal to mqtth_runner).
//
// Steps run one after another. A step starts (sends what it sends) and installs a
// `check` that is re-evaluated after every client event, plus a deadline timer; nothing
// sleeps. The scenario ends at the first failure, at the scenario timeout, or after the
// last step; then every connection is aborted and the embedded broker (if any) closed.
//
// Root cause first (docs/reports.md "Root cause"): a deviation the broker commits while a
// step waits for something else (a non-fatal violation the client session reports, a
// session the broker lost) is noted, and the scenario goes on. The scenario then fails on
// that first deviation, with its statement; whatever went wrong after it (a later check,
// a later deviation) is listed as its consequence, not as the failure.
//
// One class, one file per family of steps (each step kind's do<Kind>() and the client
// events that family feeds on):
//   Execution.cpp             the step loop, deadlines, sleep, failures, broker violations, teardown
//   ExecutionPackets.cpp      packets both ways: traces, match JSON, the raw link of send_raw
//   ConnectionSteps.cpp       connect, reconnect, disconnect, expect_connack, expect_disconnect
//   SubscribeSteps.cpp        subscribe, unsubscribe (SUBACK/UNSUBACK into the ledger)
//   PublishDeliverySteps.cpp  publish, send_raw, expect_delivery; feeding the QoS ledger
//   ExpectPacketSteps.cpp     expect_packet, expect_no_packet, expect_suback; any_of over expectations
//   FaultSteps.cpp            fault, misbehave; fault proxies, pcap files, cut-point exploration
// Per-client state: ClientState.hpp; shared message text: ExecutionText.hpp; which statement a
// failure names: Statements.cpp (mqtth/runner/Statements.hpp).
#pragma once

#include <QElapsedTimer>
#include <QObject>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <mqtt/codec.hpp>
#include <mqtt/json.hpp>

#include "ClientState.hpp"
#include <mqtth/tls/Tls.hpp>

#include "mqtth/engine/BrokerConfig.hpp"
#include "mqtth/fault/FaultRule.hpp"
#include "mqtth/ledger/Ledger.hpp"
#include "mqtth/report/Report.hpp"
#include "mqtth/runner/Options.hpp"
#include "mqtth/runner/Prefix.hpp"
#include "mqtth/runner/Statements.hpp"
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

// How long after its CONNACK a broker that resumed a session (Session Present 1) has to
// re-send the flows it left unfinished before the harness calls them missing
// [MQTT-4.4.0-1]. The spec sets no deadline; brokers re-send right after the CONNACK.
inline constexpr std::int64_t kResendChanceMs = 1000;

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
  std::shared_ptr<const tls::Client> tls;  // TLS to `broker` (run --broker mqtts://); nullptr: plain
  const engine::BrokerConfig* embedded = nullptr;  // its config; nullptr: the defaults
  Prefix prefix;                   // identity without --broker
  std::uint32_t ledger_run = 1;
  // Route every client through its own FaultProxy (also done when the scenario has a
  // `fault:` step). Off otherwise: direct connections keep the suite fast.
  bool proxied = false;
  std::string pcap_dir;            // non-empty: one pcap per proxied connection (run --pcap)
  std::string pcap_stem;           // file name stem: sanitised scenario name and protocol
  std::set<std::string> record_clients;  // exploration baseline: record these links
  std::optional<CutPlan> cut;      // exploration cut run
  // A received topic carried the prefix only after the broker rewrote it (Prefix.hpp); the
  // runner reports that once per run. Unset: not reported.
  std::function<void(const TopicRewrite&)> on_topic_rewrite;
};

// An expectation step asks a probe what it finds among its client's packets and closes,
// without taking anything.
struct ExpectProbe {
  enum class State { waiting, holds, refuted } state = State::waiting;
  std::optional<std::size_t> packet;  // holds (and refuted CONNACK/SUBACK): index in received
  std::optional<std::size_t> close;   // holds (expect_disconnect): index in closes
  std::string why;                    // refuted: what arrived instead
};
// What an any_of alternative has found so far, so that its next step does not find it again.
struct ExpectClaims {
  std::set<std::pair<const ClientState*, std::size_t>> packets, closes;
};

class Execution : public QObject {
  Q_OBJECT

 public:
  Execution(const scenario::Scenario& scenario, ExecContext context, QObject* parent = nullptr);
  ~Execution() override;

  void start();
  bool done() const { return finished_; }
  report::ScenarioResult& result() { return result_; }
  // The failure's primary statement ({} when it names none, or the run passed).
  const std::vector<std::string>& failure_spec() const { return failure_spec_; }
  // Exploration: the baseline's packets of the recorded clients, in arrival order.
  const std::vector<RecordedPacket>& recorded() const { return recorded_; }
  bool cutFired() const { return cut_fired_; }

 signals:
  void finished();

 private:
  using Json = mqtt::Json;
  using Client = ClientState;

  // --- step machinery, failures, teardown (Execution.cpp) --------------------------------
  void runNextStep();
  void beginStep(const scenario::Step& step);
  // One handler per step kind (std::visit over StepAction in beginStep(): a kind without
  // its handler does not compile).
  void runStep(Client* c, const scenario::ConnectStep& s);
  void runStep(Client* c, const scenario::ReconnectStep& s);
  void runStep(Client* c, const scenario::DisconnectStep& s);
  void runStep(Client* c, const scenario::SubscribeStep& s);
  void runStep(Client* c, const scenario::UnsubscribeStep& s);
  void runStep(Client* c, const scenario::PublishStep& s);
  void runStep(Client* c, const scenario::SendRawStep& s);
  void runStep(Client* c, const scenario::ExpectPacketStep& s);
  void runStep(Client* c, const scenario::ExpectNoPacketStep& s);
  void runStep(Client* c, const scenario::ExpectDeliveryStep& s);
  void runStep(Client* c, const scenario::ExpectDisconnectStep& s);
  void runStep(Client* c, const scenario::ExpectConnackStep& s);
  void runStep(Client* c, const scenario::ExpectSubackStep& s);
  void runStep(Client* c, const scenario::SleepStep& s);
  void runStep(Client* c, const scenario::FaultStep& s);
  void runStep(Client* c, const scenario::MisbehaveStep& s);
  void runStep(Client* c, const scenario::AnyOfStep& s);
  // The steps of role: server (ServerExecution.hpp) mean nothing here: a scenario error.
  void runStep(Client* c, const scenario::AcceptConnectionStep& s);
  void runStep(Client* c, const scenario::ClientCommandStep& s);
  void runStep(Client* c, const scenario::ExpectClientReceivedStep& s);
  void runStep(Client* c, const scenario::SendAckStep& s);
  void runStep(Client* c, const scenario::ExpectClientEventStep& s);
  // check: nullopt pending, true done (failures call fail() themselves and return nullopt).
  void wait(std::function<std::optional<bool>()> check, std::optional<scenario::Duration> within,
            std::function<void()> on_deadline);
  void completeStep();
  void evaluateSoon();
  void evaluate();
  void onStepDeadline();
  void onScenarioTimeout();
  void doSleep(const scenario::SleepStep& s);
  // The step fails: `check` says what failed, which picks the statement it names
  // (Statements.hpp). The scenario ends, naming its first deviation.
  void fail(std::string message, std::string expected = {}, std::string actual = {},
            Check check = Check::expectation);
  void fail(std::string message, std::string expected, std::string actual, Citation citation);
  // A deviation that does not stop the scenario: it becomes the failure if nothing fails
  // first, and the root cause of whatever fails later.
  void noteDeviation(std::string message, std::string expected, std::string actual, Citation citation);
  // A failure or deviation at the current step: its report, and the one line it is as a
  // consequence ("<step summary>: <message>").
  struct Deviation {
    report::Failure failure;
    std::string brief;
  };
  Deviation makeDeviation(const std::string& message, std::string expected, std::string actual, Citation citation);
  // Fails the scenario on its first noted deviation (then the later ones and `last` are its
  // consequences), or on `last` when none was noted.
  void failWith(std::optional<Deviation> last);
  const scenario::Step* currentStep() const;
  // The last packets of every client, merged in time order.
  std::vector<report::PacketRecord> lastPackets() const;
  // Session Present against the session the broker should hold (docs/reports.md "Root
  // cause"): a session lost is noted as a deviation.
  void checkSessionPresent(Client& c, const client::event::ConnackReceived& e);
  void noteSessionClosed(Client& c);
  // A resumed session's re-sends [MQTT-4.4.0-1] (docs/reports.md "Root cause first"): the
  // spec sets no deadline, so the broker has had its chance when a step ends at least
  // kResendChanceMs after its CONNACK, or when `chance_over` (an expect_delivery window
  // ended; the scenario's last step passed and the rest of that time is waited out, or
  // does not fit). A flow still not resumed then is a deviation.
  void checkResumedFlows(Client& c, bool chance_over);
  // When the last pending resumed session is judged (nullopt: none pending).
  std::optional<double> resumedFlowsDueMs() const;
  void error(std::string message);
  // The scenario cannot run on this broker (e.g. a CONNECT refused as the spec allows):
  // status skipped with `reason`.
  void skip(std::string reason);
  void finish(report::Status status);
  void teardown();
  double elapsedMs() const;
  std::int64_t remainingMs() const;
  Client* client(const std::string& name);
  // A step's `properties` (decode-JSON shape) as the client's version sends them: none in
  // 3.1.1. When they cannot be built the run ends in error() and nullopt comes back.
  std::optional<mqtt::Properties> stepProperties(const Client& c, const Json& json);
  std::string brokerHost() const;
  quint16 brokerPort() const;
  void onEvent(Client& c, const client::event::BrokerViolation& e);
  // A finding's own statement when it is one of the scenario's version, else none and why.
  Citation citeViolation(std::string_view spec, std::vector<std::string> see_also) const;

  // --- packets both ways (ExecutionPackets.cpp) ----------------------------------------
  // Every session event goes to the onEvent() overload of its family, then the step's
  // check is re-evaluated.
  void onClientEvent(Client& c, const client::Event& event);
  void onEvent(Client& c, const client::event::PacketReceived& e);
  void onEvent(Client& c, const client::event::PacketSent& e);
  void onEvent(Client&, const client::event::DisconnectReceived&) {}  // its reason comes with ConnectionClosed
  // A packet from the broker (on the session's link or a raw one): traced, and kept for
  // the expect_* steps.
  void onPacketReceived(Client& c, const mqtt::Packet& packet, mqtt::Version version, std::string_view raw);
  // `wire` (the packet's decode JSON) as expect_* steps match it: the --broker prefix
  // taken off the topic, this run's ledger identity off the payload and user properties.
  Json matchJson(const Json& wire, const mqtt::Packet& packet) const;
  std::optional<ledger::MessageId> identity(const mqtt::Packet& packet) const;
  // A packet the client wrote, into the trace; `no_packet` is the trace type of bytes that
  // are not one valid packet.
  void recordSent(Client& c, const client::event::PacketSent& e, std::string_view no_packet);
  void recordPacket(Client& c, report::Direction direction, const std::string& type, Json decoded,
                    std::string_view raw);
  // Raw mode: the client's RawConnection (created on first use) connects to its target.
  void openRaw(Client& c);
  void onRawPacket(Client& c, const client::RawPacket& packet);
  void halfCloseRaw(Client& c);
  void dropRaw(Client& c);  // closes and deletes the raw link, silently
  // The client's unconsumed packets (of `type`), for failure messages.
  std::string receivedSummary(const Client& c, std::optional<mqtt::PacketType> type) const;

  // --- expectations as probes (ExpectPacketSteps.cpp, ConnectionSteps.cpp) ---------------
  // A standalone expect_* step takes what its probe found (take()) and completes; any_of
  // weighs the probes of every alternative against the same packets and takes only the
  // winner's.
  ExpectProbe probe(const Client& c, const scenario::ExpectPacketStep& s, const ExpectClaims& claims) const;
  // refuted when an unwanted packet is there; waiting otherwise (the time is the caller's).
  ExpectProbe probe(const Client& c, const scenario::ExpectNoPacketStep& s, const ExpectClaims& claims) const;
  ExpectProbe probe(const Client& c, const scenario::ExpectSubackStep& s, const ExpectClaims& claims) const;
  ExpectProbe probe(const Client& c, const scenario::ExpectConnackStep& s, const ExpectClaims& claims) const;     // ConnectionSteps.cpp
  ExpectProbe probe(const Client& c, const scenario::ExpectDisconnectStep& s, const ExpectClaims& claims) const;  // ConnectionSteps.cpp
  // Consumes what a probe found (a close also consumes the broker's DISCONNECT before it).
  void take(Client& c, const ExpectProbe& p);
  // The wait() check of a standalone expect_* step that settles on its first finding: it
  // takes what the probe found and holds, or fails with `expected` (a text made only when
  // the step fails) against the refuting packet (or, for a close, the probe's reason).
  template <class Step, class ExpectedText>
  std::function<std::optional<bool>()> settleOnProbe(Client* cp, const Step* step, ExpectedText expected) {
    return [this, cp, step, expected]() -> std::optional<bool> {
      const auto p = probe(*cp, *step, {});
      if (p.state == ExpectProbe::State::waiting) return std::nullopt;
      take(*cp, p);
      if (p.state == ExpectProbe::State::holds) return true;
      fail(p.why, expected(), p.packet ? cp->received[*p.packet].match.dump() : p.why);
      return std::nullopt;
    };
  }
  void doAnyOf(const scenario::AnyOfStep& s);

  // --- connection steps (ConnectionSteps.cpp) ------------------------------------------
  void doConnect(Client& c, const scenario::ConnectOverrides& overrides,
                 const std::optional<scenario::ConnackExpectation>& expect,
                 std::optional<scenario::Duration> within);
  void doReconnect(Client& c, const scenario::ReconnectStep& s);
  void doDisconnect(Client& c, const scenario::DisconnectStep& s);
  void doExpectConnack(Client& c, const scenario::ExpectConnackStep& s);
  void doExpectDisconnect(Client& c, const scenario::ExpectDisconnectStep& s);
  void onEvent(Client& c, const client::event::ConnackReceived& e);
  void onEvent(Client& c, const client::event::ConnectionClosed& e);
  client::ConnectOptions connectOptions(const Client& c, const scenario::ConnectOverrides& o,
                                        std::string* problem);
  void ensureConnection(Client& c);
  void startConnection(Client& c, const scenario::ConnectOverrides& overrides, const client::ConnectOptions& opts);
  // A refused CONNACK where the scenario expected success: failed, skipped or error by
  // judge_connect_refusal (Probing.hpp).
  void onUnaskedRefusal(Client& c, const std::string& client_id, std::uint8_t code);
  // `check` (if given): which check failed, for the statement the failure names.
  std::string connackProblem(const Client& c, const client::event::ConnackReceived& connack,
                             const std::optional<scenario::ConnackExpectation>& expect, Check* check = nullptr) const;

  // --- subscribe steps (SubscribeSteps.cpp) --------------------------------------------
  void doSubscribe(Client& c, const scenario::SubscribeStep& s);
  // A subscription as the client sends it (filter with the --broker prefix).
  mqtt::Subscription wireSubscription(const scenario::SubscriptionSpec& sub) const;
  void doUnsubscribe(Client& c, const scenario::UnsubscribeStep& s);
  void onEvent(Client& c, const client::event::SubackReceived& e);
  void onEvent(Client& c, const client::event::UnsubackReceived& e);

  // --- publish and delivery steps, the QoS ledger (PublishDeliverySteps.cpp) -----------
  void doPublish(Client& c, const scenario::PublishStep& s);
  void doSendRaw(Client& c, const scenario::SendRawStep& s);
  void doExpectDelivery(const scenario::ExpectDeliveryStep& s);
  void onEvent(Client& c, const client::event::MessageDelivered& e);
  void onEvent(Client& c, const client::event::PublishAccepted& e);
  void onEvent(Client& c, const client::event::PublishCompleted& e);
  void onEvent(Client& c, const client::event::PublishAbandoned& e);
  void notePublishSent(Client& c, const mqtt::Publish& publish, const ledger::MessageId& id);
  std::string prefixRaw(const std::string& bytes, mqtt::Version version) const;

  // --- packet expectations (ExpectPacketSteps.cpp) -------------------------------------
  void doExpectPacket(Client& c, const scenario::ExpectPacketStep& s);
  void doExpectNoPacket(Client& c, const scenario::ExpectNoPacketStep& s);
  void doExpectSuback(Client& c, const scenario::ExpectSubackStep& s);

  // --- faults, misbehaviour, exploration (FaultSteps.cpp) ------------------------------
  void doFault(Client& c, const scenario::FaultStep& s);
  void doMisbehave(Client& c, const scenario::MisbehaveStep& s);
  // Where the client's TCP connections go: its proxy when proxied, else the broker.
  std::string targetHost(Client& c);
  quint16 targetPort(Client& c);
  fault::FaultProxy* proxyFor(Client& c);
  void onProxyPacket(Client& c, const fault::PacketRecord& record);
  bool cutRun() const { return context_.cut.has_value(); }
  void onCutLinkClosed(Client& c);
  void heal(Client& c);
  // The cut client's CONNACK after healing: subscribe again when the session is gone, and
  // restart the step that waited for the link.
  void onHealed(Client& c, const client::event::ConnackReceived& e);

  const scenario::Scenario& scenario_;
  ExecContext context_;
  report::ScenarioResult result_;
  std::vector<std::string> failure_spec_;
  std::vector<Deviation> noted_;  // deviations that did not stop the scenario, in order
  // What the broker should hold per client id (Session Present checks): whether a session
  // persists after the connection, its expiry (5.0; nullopt: none), when the last
  // connection with it closed (nullopt: open), and who connected with it last.
  struct SessionRecord {
    bool persistent = false;
    std::optional<std::uint32_t> expiry_s;
    std::optional<double> closed_at_ms;
    const Client* owner = nullptr;
    bool uncertain = false;  // something the harness does not model changed it (e.g. a DISCONNECT's properties)
  };
  std::map<std::string, SessionRecord> sessions_;
  ledger::Ledger ledger_;
  std::vector<std::unique_ptr<Client>> clients_;
  net::BrokerServer* broker_ = nullptr;
  quint16 embedded_port_ = 0;

  QElapsedTimer clock_;
  QTimer* step_timer_ = nullptr;
  QTimer* scenario_timer_ = nullptr;
  std::size_t step_index_ = 0;  // 0-based index of the current step
  double step_started_ms_ = 0;
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
