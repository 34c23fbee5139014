// The step loop, deadlines, failures and teardown of an Execution; the step kinds live in
// the files Execution.hpp lists.
#include "Execution.hpp"

#include <QHostAddress>
#include <QHostInfo>
#include <QTimer>

#include <algorithm>

#include "mqtth/net/BrokerServer.hpp"
#include "ExecutionText.hpp"
#include "mqtth/fault/FaultProxy.hpp"

namespace mqtth::runner {

using scenario::StepKind;
namespace ev = client::event;


std::optional<mqtt::Properties> properties_from_json(const mqtt::Json& json, std::string* error) {
  if (json.is_null() || (json.is_object() && json.empty())) return mqtt::Properties{};
  mqtt::Json packet = {{"type", "AUTH"}, {"reason_code", 0}, {"properties", json}};
  auto built = mqtt::packet_from_json(packet, mqtt::Version::v5);
  if (!built.ok()) {
    if (error) *error = "properties" + built.error->path.substr(std::string("/properties").size()) + ": " + built.error->message;
    return std::nullopt;
  }
  return std::get<mqtt::Auth>(built.value).properties;
}

std::optional<mqtt::Properties> Execution::stepProperties(const Client& c, const Json& json) {
  if (c.version != mqtt::Version::v5) return mqtt::Properties{};
  std::string problem;
  auto properties = properties_from_json(json, &problem);
  if (!properties) error(problem);
  return properties;
}

// ---------------------------------------------------------------------------------------
// Construction and start

Execution::Execution(const scenario::Scenario& scenario, ExecContext context, QObject* parent)
    : QObject(parent),
      scenario_(scenario),
      context_(std::move(context)),
      // The scenario's version picks the statement ids the ledger's verdicts name.
      ledger_(context_.ledger_run, scenario.protocol) {
  result_ = planned_result(scenario);
  step_timer_ = new QTimer(this);
  step_timer_->setSingleShot(true);
  connect(step_timer_, &QTimer::timeout, this, &Execution::onStepDeadline);
  scenario_timer_ = new QTimer(this);
  scenario_timer_->setSingleShot(true);
  connect(scenario_timer_, &QTimer::timeout, this, &Execution::onScenarioTimeout);
}

Execution::~Execution() { teardown(); }

double Execution::elapsedMs() const { return clock_.isValid() ? static_cast<double>(clock_.nsecsElapsed()) / 1e6 : 0.0; }

std::int64_t Execution::remainingMs() const {
  return std::max<std::int64_t>(0, scenario_.timeout.count() - static_cast<std::int64_t>(elapsedMs()));
}

std::string Execution::brokerHost() const {
  return context_.broker ? context_.broker->host : std::string("127.0.0.1");
}
quint16 Execution::brokerPort() const { return context_.broker ? context_.broker->port : embedded_port_; }

Execution::Client* Execution::client(const std::string& name) {
  for (auto& c : clients_)
    if (c->name == name) return c.get();
  return nullptr;
}

void Execution::start() {
  if (started_) return;
  started_ = true;
  clock_.start();
  if (!context_.broker) {
    broker_ = new net::BrokerServer(context_.embedded ? *context_.embedded : engine::BrokerConfig{}, this);
    if (!broker_->listen(QHostAddress::LocalHost, 0)) {
      error("cannot start the embedded broker: " + broker_->errorString().toStdString());
      return;
    }
    embedded_port_ = broker_->port();
  }
  needs_proxy_ = context_.proxied || !context_.pcap_dir.empty() || context_.cut || !context_.record_clients.empty();
  for (const auto& step : scenario_.steps) needs_proxy_ = needs_proxy_ || step.kind() == StepKind::fault;
  if (needs_proxy_ && context_.tls) {
    skip("fault injection, exploration and --pcap use the fault proxy, which speaks plain TCP only: "
         "not over mqtts:// yet (docs/tls.md)");
    return;
  }
  if (needs_proxy_) {
    // The proxy connects to an address, not a name: resolve --broker HOST once.
    upstream_host_ = brokerHost();
    if (QHostAddress(QString::fromStdString(upstream_host_)).isNull()) {
      const auto info = QHostInfo::fromName(QString::fromStdString(upstream_host_));
      if (info.addresses().isEmpty()) {
        error("cannot resolve the broker host '" + upstream_host_ + "' for the fault proxy: " +
              info.errorString().toStdString());
        return;
      }
      upstream_host_ = info.addresses().front().toString().toStdString();
    }
  }
  for (const auto& spec : scenario_.clients) {
    auto c = std::make_unique<Client>();
    c->spec = &spec;
    c->name = spec.name;
    c->version = spec.protocol.value_or(scenario_.protocol);
    c->ledger_id = ledger_.client(spec.name);
    clients_.push_back(std::move(c));
  }
  scenario_timer_->start(static_cast<int>(std::min<std::int64_t>(scenario_.timeout.count(), 24LL * 3600 * 1000)));
  QMetaObject::invokeMethod(this, &Execution::runNextStep, Qt::QueuedConnection);
}

// ---------------------------------------------------------------------------------------
// The step loop

void Execution::runNextStep() {
  if (finished_) return;
  if (step_index_ >= scenario_.steps.size()) {
    if (const auto due = resumedFlowsDueMs()) {
      const double now = elapsedMs();
      if (*due > now && *due - now < static_cast<double>(remainingMs())) {
        // A session resumed near the end still has its chance to re-send.
        QTimer::singleShot(static_cast<int>(*due - now) + 1, this, &Execution::runNextStep);
        return;
      }
      for (auto& c : clients_) checkResumedFlows(*c, true);
      if (finished_) return;
    }
    if (!noted_.empty()) {
      // Every step passed, but the broker deviated on the way: that is the failure.
      failWith(std::nullopt);
      return;
    }
    finish(report::Status::passed);
    return;
  }
  step_started_ms_ = elapsedMs();
  check_ = nullptr;
  on_deadline_ = nullptr;
  if (cutRun() && cut_fired_) {
    // A step of the cut client starts once its link is back (heal()).
    Client* sc = client(step_client(scenario_.steps[step_index_].action));
    if (sc && sc->healing) {
      deferred_step_ = true;
      return;
    }
  }
  beginStep(scenario_.steps[step_index_]);
}

void Execution::beginStep(const scenario::Step& step) {
  const std::string name = step_client(step.action);
  Client* c = nullptr;
  if (!name.empty()) {
    c = client(name);
    if (!c) {
      error("step uses client '" + name + "', which is not declared under `clients:`");
      return;
    }
  }
  // Every StepAction alternative (one per StepKind) must have its runStep() overload: a step
  // kind is its descriptor, its parse function and this handler.
  std::visit(
      [this, c](const auto& s) {
        static_assert(requires { this->runStep(c, s); }, "a step kind without its runStep() handler");
        runStep(c, s);
      },
      step.action);
}

void Execution::runStep(Client*, const scenario::AcceptConnectionStep&) { error("accept_connection is a step of role: server"); }
void Execution::runStep(Client*, const scenario::ClientCommandStep&) { error("client_command is a step of role: server"); }
void Execution::runStep(Client*, const scenario::ExpectClientReceivedStep&) {
  error("expect_client_received is a step of role: server");
}
void Execution::runStep(Client*, const scenario::ExpectClientEventStep&) { error("expect_client_event is a step of role: server"); }
void Execution::runStep(Client*, const scenario::SendAckStep&) { error("send_ack is a step of role: server"); }
void Execution::runStep(Client* c, const scenario::ConnectStep& s) { doConnect(*c, s.overrides, s.expect, s.within); }
void Execution::runStep(Client* c, const scenario::ReconnectStep& s) { doReconnect(*c, s); }
void Execution::runStep(Client* c, const scenario::DisconnectStep& s) {
  // A 5.0 DISCONNECT may set the session's expiry anew (3.14.2.2.2).
  if (c->version == mqtt::Version::v5 && s.properties.contains("session_expiry_interval") && !c->spec->client_id.empty()) {
    auto it = sessions_.find(c->spec->client_id);
    const auto& v = s.properties["session_expiry_interval"];
    if (it != sessions_.end() && it->second.owner == c) {
      if (v.is_number_unsigned()) it->second.expiry_s = v.get<std::uint32_t>();
      else it->second.uncertain = true;
      it->second.persistent = it->second.expiry_s.value_or(0) > 0;
    }
  }
  doDisconnect(*c, s);
}
void Execution::runStep(Client* c, const scenario::SubscribeStep& s) { doSubscribe(*c, s); }
void Execution::runStep(Client* c, const scenario::UnsubscribeStep& s) { doUnsubscribe(*c, s); }
void Execution::runStep(Client* c, const scenario::PublishStep& s) { doPublish(*c, s); }
void Execution::runStep(Client* c, const scenario::SendRawStep& s) { doSendRaw(*c, s); }
void Execution::runStep(Client* c, const scenario::ExpectPacketStep& s) { doExpectPacket(*c, s); }
void Execution::runStep(Client* c, const scenario::ExpectNoPacketStep& s) { doExpectNoPacket(*c, s); }
void Execution::runStep(Client*, const scenario::ExpectDeliveryStep& s) { doExpectDelivery(s); }
void Execution::runStep(Client* c, const scenario::ExpectDisconnectStep& s) { doExpectDisconnect(*c, s); }
void Execution::runStep(Client* c, const scenario::ExpectConnackStep& s) { doExpectConnack(*c, s); }
void Execution::runStep(Client* c, const scenario::ExpectSubackStep& s) { doExpectSuback(*c, s); }
void Execution::runStep(Client*, const scenario::SleepStep& s) { doSleep(s); }
void Execution::runStep(Client* c, const scenario::FaultStep& s) { doFault(*c, s); }
void Execution::runStep(Client* c, const scenario::MisbehaveStep& s) { doMisbehave(*c, s); }
void Execution::runStep(Client*, const scenario::AnyOfStep& s) { doAnyOf(s); }

void Execution::wait(std::function<std::optional<bool>()> check, std::optional<scenario::Duration> within,
                     std::function<void()> on_deadline) {
  check_ = std::move(check);
  on_deadline_ = std::move(on_deadline);
  const std::int64_t limit = within ? std::min<std::int64_t>(within->count(), remainingMs()) : remainingMs();
  step_timer_->start(static_cast<int>(std::max<std::int64_t>(0, limit)));
  evaluateSoon();
}

void Execution::completeStep() {
  if (finished_) return;
  step_timer_->stop();
  check_ = nullptr;
  on_deadline_ = nullptr;
  // Between steps, never while one waits: a step that waits for the re-send itself (and
  // fails without it) names its own statement.
  for (auto& c : clients_) checkResumedFlows(*c, false);
  if (finished_) return;
  auto& sr = result_.steps[step_index_];
  sr.status = report::Status::passed;
  sr.duration_ms = elapsedMs() - step_started_ms_;
  ++step_index_;
  // Queued, so a step never starts inside the signal handler of the previous one.
  QMetaObject::invokeMethod(this, &Execution::runNextStep, Qt::QueuedConnection);
}

void Execution::evaluateSoon() {
  if (evaluate_scheduled_ || finished_) return;
  evaluate_scheduled_ = true;
  QMetaObject::invokeMethod(this, &Execution::evaluate, Qt::QueuedConnection);
}

void Execution::evaluate() {
  evaluate_scheduled_ = false;
  if (finished_ || !check_) return;
  auto r = check_();
  if (finished_) return;
  if (r && *r) completeStep();
}

void Execution::onStepDeadline() {
  if (finished_) return;
  if (check_) {
    auto r = check_();  // last chance: the answer may have arrived in this very turn
    if (finished_) return;
    if (r && *r) {
      completeStep();
      return;
    }
  }
  in_deadline_ = true;
  if (on_deadline_) {
    auto handler = on_deadline_;
    handler();
  } else {
    fail("step timed out", {}, {}, Check::harness_timeout);
  }
  in_deadline_ = false;
}

void Execution::onScenarioTimeout() {
  if (finished_) return;
  scenario_timed_out_ = true;
  if (check_ || on_deadline_) {
    onStepDeadline();
    if (finished_) return;
  }
  fail("scenario timeout of " + ms_text(scenario_.timeout.count()) + " reached", {}, {}, Check::harness_timeout);
}

void Execution::doSleep(const scenario::SleepStep& s) {
  if (s.duration.count() > remainingMs()) {
    fail("sleep of " + ms_text(s.duration.count()) + " does not fit in the scenario timeout of " +
             ms_text(scenario_.timeout.count()),
         {}, {}, Check::scenario_problem);
    return;
  }
  wait([] { return std::optional<bool>(); }, s.duration, [this] { completeStep(); });
}

// ---------------------------------------------------------------------------------------
// Failures and the end of the run

const scenario::Step* Execution::currentStep() const {
  return step_index_ < scenario_.steps.size() ? &scenario_.steps[step_index_] : nullptr;
}

std::vector<report::PacketRecord> Execution::lastPackets() const {
  std::vector<report::PacketRecord> out;
  for (const auto& c : clients_) out.insert(out.end(), c->ring.begin(), c->ring.end());
  // Time order across clients, so a reader sees what happened in the order it happened.
  std::stable_sort(out.begin(), out.end(),
                   [](const report::PacketRecord& a, const report::PacketRecord& b) { return a.time_ms < b.time_ms; });
  return out;
}

Execution::Deviation Execution::makeDeviation(const std::string& message, std::string expected, std::string actual,
                                              Citation citation) {
  report::Failure f;
  const bool in_step = step_index_ < scenario_.steps.size();
  f.step = in_step ? static_cast<int>(step_index_ + 1) : 0;
  f.line = in_step ? scenario_.steps[step_index_].where.line : scenario_.where.line;
  f.message = in_step ? "step " + std::to_string(f.step) + " (" + result_.steps[step_index_].summary + ") at " +
                            scenario_.file + ":" + std::to_string(f.line) + ": " + message
                      : message;
  f.expected = std::move(expected);
  f.actual = std::move(actual);
  f.statement = std::move(citation.statement);
  f.see_also = std::move(citation.see_also);
  f.no_statement = std::move(citation.no_statement);
  f.last_packets = lastPackets();
  std::string brief = in_step ? result_.steps[step_index_].summary + ": " + message : message;
  return {std::move(f), std::move(brief)};
}

void Execution::fail(std::string message, std::string expected, std::string actual, Check check) {
  fail(std::move(message), std::move(expected), std::move(actual), cite(check, scenario_, currentStep()));
}

void Execution::fail(std::string message, std::string expected, std::string actual, Citation citation) {
  if (finished_) return;
  if (cutRun() && cut_fired_ && !scenario_timed_out_ && step_index_ < scenario_.steps.size() &&
      scenario_.steps[step_index_].kind() != StepKind::expect_delivery &&
      message.rfind("broker violation", 0) != 0) {
    // Exploration (docs/faults.md): after the cut, a step that fails because the link
    // went down does not decide the run; the expect_delivery verdicts do. A step of the
    // cut client that is waiting while its link is being healed keeps waiting (heal()
    // starts connect/subscribe/unsubscribe again); any other such failure is noted on the
    // step and the run goes on.
    const auto& step = scenario_.steps[step_index_];
    Client* sc = client(step_client(step.action));
    const bool link_down = sc && sc->name == context_.cut->client &&
                           (sc->healing || !(sc->conn && sc->conn->isSocketOpen()));
    if (link_down && !in_deadline_) return;
    result_.steps[step_index_].message = "after the cut, tolerated: " + message;
    completeStep();
    return;
  }
  if (step_index_ < scenario_.steps.size()) {
    auto& sr = result_.steps[step_index_];
    sr.status = report::Status::failed;
    sr.message = message;
    sr.duration_ms = elapsedMs() - step_started_ms_;
  }
  failWith(makeDeviation(message, std::move(expected), std::move(actual), std::move(citation)));
}

void Execution::noteDeviation(std::string message, std::string expected, std::string actual, Citation citation) {
  if (finished_) return;
  if (step_index_ < scenario_.steps.size()) {
    auto& sr = result_.steps[step_index_];
    sr.message += (sr.message.empty() ? "" : "; ") + ("deviation: " + message);
  }
  noted_.push_back(makeDeviation(message, std::move(expected), std::move(actual), std::move(citation)));
}

void Execution::failWith(std::optional<Deviation> last) {
  // The first deviation is the failure; what came after it is listed under it.
  if (last) noted_.push_back(std::move(*last));
  report::Failure f = std::move(noted_.front().failure);
  for (std::size_t i = 1; i < noted_.size(); ++i) {
    const report::Failure& x = noted_[i].failure;
    f.consequences.push_back(report::Consequence{x.step, x.line, noted_[i].brief, x.statement});
  }
  noted_.clear();
  failure_spec_.clear();
  if (!f.statement.empty()) failure_spec_.push_back(f.statement);
  result_.failure = std::move(f);
  finish(report::Status::failed);
}

void Execution::error(std::string message) {
  if (finished_) return;
  report::Failure f;
  const bool in_step = step_index_ < scenario_.steps.size() && started_;
  f.step = in_step ? static_cast<int>(step_index_ + 1) : 0;
  f.line = in_step ? scenario_.steps[step_index_].where.line : scenario_.where.line;
  f.message = scenario_.file + ":" + std::to_string(f.line) + ": " + message;
  f.no_statement = "the scenario could not be run (an error, not a spec violation)";
  if (in_step) {
    result_.steps[step_index_].status = report::Status::error;
    result_.steps[step_index_].message = message;
  }
  result_.failure = std::move(f);
  finish(report::Status::error);
}

void Execution::skip(std::string reason) {
  if (finished_) return;
  if (step_index_ < scenario_.steps.size() && started_) {
    result_.steps[step_index_].status = report::Status::skipped;
    result_.steps[step_index_].message = reason;
  }
  result_.skip_reason = std::move(reason);
  finish(report::Status::skipped);
}

Citation Execution::citeViolation(std::string_view spec, std::vector<std::string> see_also) const {
  if (auto c = cite_finding(spec, std::move(see_also), scenario_)) return *c;
  return {{}, {}, spec.empty() ? "the finding names no numbered statement"
                               : "the finding cites " + std::string(spec) + ", not a statement of MQTT " +
                                     std::string(mqtt::to_string(scenario_.protocol))};
}

void Execution::onEvent(Client& c, const ev::BrokerViolation& e) {
  // After malformed bytes written raw the session cannot tell an answer to them (which the
  // broker should not give: it must close, judged by expect_disconnect as MQTT-4.8.0-1 /
  // 5.0 MQTT-4.13.1-1) from an answer to nothing. Answers to readable raw packets it knows.
  if (!e.fatal && c.conn && c.conn->session().wrote_unreadable_raw()) return;
  std::string where = e.packet_type ? " in " + type_name(*e.packet_type) : std::string();
  std::string spec = e.spec.empty() ? std::string() : std::string(e.spec);
  std::string message = "broker violation" + (spec.empty() ? std::string() : " [" + spec + "]") + where +
                        " received by " + c.name + " (stream offset " + std::to_string(e.stream_offset) + ", byte " +
                        std::to_string(e.offset_in_packet) + " of the packet): " + e.message;
  std::string expected = "a broker that keeps to " + (spec.empty() ? std::string("the spec") : spec);
  // The session goes on after a non-fatal violation: note it and let the scenario run, so
  // what follows from it is seen as its consequence (the root cause is this one).
  if (e.fatal) fail(std::move(message), std::move(expected), e.message, citeViolation(spec, {}));
  else noteDeviation(std::move(message), std::move(expected), e.message, citeViolation(spec, {}));
}

// ---------------------------------------------------------------------------------------
// Session Present against the session the broker should hold

void Execution::checkSessionPresent(Client& c, const ev::ConnackReceived& e) {
  if (e.reason_code >= 0x80 || c.spec->client_id.empty()) return;  // refused, or an id the broker assigns
  const std::string& id = c.spec->client_id;
  const auto& o = c.last_overrides;
  const bool clean_start = o.clean_start.value_or(c.spec->clean_start);
  SessionRecord& rec = sessions_[id];
  // The session the broker should hold now, as this run created it (3.1.1: Clean Session 0;
  // 5.0: a Session Expiry Interval that has not run out since the connection closed).
  bool should_exist = !clean_start && rec.persistent && !rec.uncertain && rec.owner == &c;
  if (should_exist && c.version == mqtt::Version::v5 && rec.closed_at_ms) {
    const double expiry_ms = static_cast<double>(rec.expiry_s.value_or(0)) * 1000.0;
    should_exist = elapsedMs() - *rec.closed_at_ms < expiry_ms;
  }
  // The connect/reconnect step of this client, if that is what runs now (a reconnect after an
  // exploration cut happens during other steps): one that states session_present checks it
  // itself (connackProblem), and only its spec: may name what this check broke.
  const scenario::Step* connect_step = nullptr;
  const std::optional<scenario::ConnackExpectation>* expect = nullptr;
  if (const scenario::Step* step = currentStep(); step && step_client(step->action) == c.name) {
    if (const auto* s = std::get_if<scenario::ConnectStep>(&step->action)) expect = &s->expect;
    if (const auto* s = std::get_if<scenario::ReconnectStep>(&step->action)) expect = &s->expect;
    if (expect) connect_step = step;
  }
  const bool stated = expect && *expect && (*expect)->session_present.has_value();
  if (should_exist && !e.session_present && !stated) {
    Citation citation = cite(Check::session_present_resumed, scenario_, connect_step);
    // What the lost session owed (messages the subscriber had not received, re-sends of the
    // publisher) is this deviation's consequence in the ledger, not a loss of its own.
    ledger_.session_lost(c.ledger_id, citation.statement);
    noteDeviation("CONNACK Session Present 0 for client " + c.name +
                      ", but the broker should hold its session (Clean Start 0 after a session that persists)",
                  "Session Present 1", "Session Present 0", std::move(citation));
  }
  // The session from now on.
  rec.owner = &c;
  rec.uncertain = false;
  rec.closed_at_ms.reset();
  if (c.version == mqtt::Version::v5) {
    std::optional<std::uint32_t> expiry = c.previous_session_expiry;  // what this CONNECT asked for
    if (auto p = e.properties.find(mqtt::PropertyId::session_expiry_interval)) expiry = p->number;  // the broker's wins
    rec.expiry_s = expiry;
    rec.persistent = expiry.value_or(0) > 0;
  } else {
    rec.persistent = !clean_start;
  }
}

void Execution::checkResumedFlows(Client& c, bool chance_over) {
  if (finished_ || !c.resumed_at_ms || !c.conn) return;
  if (!chance_over && elapsedMs() - *c.resumed_at_ms < static_cast<double>(kResendChanceMs)) return;
  c.resumed_at_ms.reset();
  c.conn->reportResendsMissing();  // each one a BrokerViolation: noted (onEvent)
}

std::optional<double> Execution::resumedFlowsDueMs() const {
  std::optional<double> due;
  for (const auto& c : clients_)
    if (c->resumed_at_ms) due = std::max(due.value_or(0.0), *c->resumed_at_ms + static_cast<double>(kResendChanceMs));
  return due;
}

void Execution::noteSessionClosed(Client& c) {
  if (c.spec->client_id.empty()) return;
  auto it = sessions_.find(c.spec->client_id);
  if (it == sessions_.end() || it->second.owner != &c || it->second.closed_at_ms) return;
  it->second.closed_at_ms = elapsedMs();
}

void Execution::finish(report::Status status) {
  if (finished_) return;
  finished_ = true;
  result_.status = status;
  result_.duration_ms = elapsedMs();
  teardown();
  QMetaObject::invokeMethod(this, &Execution::finished, Qt::QueuedConnection);
}

void Execution::teardown() {
  if (step_timer_) step_timer_->stop();
  if (scenario_timer_) scenario_timer_->stop();
  check_ = nullptr;
  on_deadline_ = nullptr;
  for (auto& c : clients_) {
    if (c->conn) {
      c->conn->disconnect(this);
      c->conn->abort();
      c->conn->deleteLater();
      c->conn = nullptr;
    }
    dropRaw(*c);
  }
  for (auto& c : clients_) {
    if (!c->proxy) continue;
    // close() aborts the open proxied connections; their pcap files are closed and
    // renamed by the connectionClosed handler (proxyFor).
    c->proxy->close();
    c->proxy->disconnect(this);
    c->proxy->deleteLater();
    c->proxy = nullptr;
  }
  if (broker_) {
    broker_->close();
    broker_->deleteLater();
    broker_ = nullptr;
  }
}

}  // namespace mqtth::runner
