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

namespace {

std::string step_summary(const scenario::Step& step) {
  std::string text = std::string(scenario::step_kind_name(step.kind()));
  std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, scenario::SleepStep>) {
          text += " " + ms_text(s.duration.count());
        } else if constexpr (std::is_same_v<S, scenario::ExpectDeliveryStep>) {
          text += " " + s.publisher + " -> " + s.subscriber + " " +
                  std::string(scenario::guarantee_name(s.guarantee)) + (s.ordered ? " ordered" : "");
        } else if constexpr (std::is_same_v<S, scenario::PublishStep>) {
          text += " " + s.client + " " + s.topic + " qos" + std::to_string(s.qos) +
                  (s.count > 1 ? " x" + std::to_string(s.count) : "") + (s.retain ? " retain" : "");
        } else if constexpr (std::is_same_v<S, scenario::SubscribeStep>) {
          text += " " + s.client;
          for (const auto& sub : s.subscriptions) text += " " + sub.filter + " qos" + std::to_string(sub.qos);
        } else if constexpr (std::is_same_v<S, scenario::ExpectPacketStep>) {
          text += " " + s.client + " " + type_name(s.type);
        } else {
          text += " " + s.client;
        }
      },
      step.action);
  return text;
}

}  // namespace

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
    : QObject(parent), scenario_(scenario), context_(std::move(context)), ledger_(context_.ledger_run) {
  result_.name = scenario.name;
  result_.file = scenario.file;
  result_.protocol = std::string(mqtt::to_string(scenario.protocol));
  result_.spec = scenario.spec;
  for (std::size_t i = 0; i < scenario.steps.size(); ++i) {
    report::StepResult sr;
    sr.index = static_cast<int>(i + 1);
    sr.line = scenario.steps[i].where.line;
    sr.kind = std::string(scenario::step_kind_name(scenario.steps[i].kind()));
    sr.summary = step_summary(scenario.steps[i]);
    sr.status = report::Status::skipped;
    result_.steps.push_back(std::move(sr));
  }
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
    broker_ = new net::BrokerServer(engine::BrokerConfig{}, this);
    if (!broker_->listen(QHostAddress::LocalHost, 0)) {
      error("cannot start the embedded broker: " + broker_->errorString().toStdString());
      return;
    }
    embedded_port_ = broker_->port();
  }
  needs_proxy_ = context_.proxied || !context_.pcap_dir.empty() || context_.cut || !context_.record_clients.empty();
  for (const auto& step : scenario_.steps) needs_proxy_ = needs_proxy_ || step.kind() == StepKind::fault;
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
  switch (step.kind()) {
    case StepKind::connect: {
      const auto& s = std::get<scenario::ConnectStep>(step.action);
      doConnect(*c, s.overrides, s.expect, s.within);
      break;
    }
    case StepKind::reconnect: doReconnect(*c, std::get<scenario::ReconnectStep>(step.action)); break;
    case StepKind::disconnect: doDisconnect(*c, std::get<scenario::DisconnectStep>(step.action)); break;
    case StepKind::subscribe: doSubscribe(*c, std::get<scenario::SubscribeStep>(step.action)); break;
    case StepKind::unsubscribe: doUnsubscribe(*c, std::get<scenario::UnsubscribeStep>(step.action)); break;
    case StepKind::publish: doPublish(*c, std::get<scenario::PublishStep>(step.action)); break;
    case StepKind::send_raw: doSendRaw(*c, std::get<scenario::SendRawStep>(step.action)); break;
    case StepKind::expect_packet: doExpectPacket(*c, std::get<scenario::ExpectPacketStep>(step.action)); break;
    case StepKind::expect_no_packet: doExpectNoPacket(*c, std::get<scenario::ExpectNoPacketStep>(step.action)); break;
    case StepKind::expect_delivery: doExpectDelivery(std::get<scenario::ExpectDeliveryStep>(step.action)); break;
    case StepKind::expect_disconnect: doExpectDisconnect(*c, std::get<scenario::ExpectDisconnectStep>(step.action)); break;
    case StepKind::expect_connack: doExpectConnack(*c, std::get<scenario::ExpectConnackStep>(step.action)); break;
    case StepKind::expect_suback: doExpectSuback(*c, std::get<scenario::ExpectSubackStep>(step.action)); break;
    case StepKind::sleep: doSleep(std::get<scenario::SleepStep>(step.action)); break;
    case StepKind::fault: doFault(*c, std::get<scenario::FaultStep>(step.action)); break;
    case StepKind::misbehave: doMisbehave(*c, std::get<scenario::MisbehaveStep>(step.action)); break;
  }
}

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
    fail("step timed out");
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
  fail("scenario timeout of " + ms_text(scenario_.timeout.count()) + " reached");
}

void Execution::doSleep(const scenario::SleepStep& s) {
  if (s.duration.count() > remainingMs()) {
    fail("sleep of " + ms_text(s.duration.count()) + " does not fit in the scenario timeout of " +
         ms_text(scenario_.timeout.count()));
    return;
  }
  wait([] { return std::optional<bool>(); }, s.duration, [this] { completeStep(); });
}

// ---------------------------------------------------------------------------------------
// Failures and the end of the run

void Execution::fail(std::string message, std::string expected, std::string actual, std::vector<std::string> spec) {
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
  report::Failure f;
  const bool in_step = step_index_ < scenario_.steps.size();
  f.step = in_step ? static_cast<int>(step_index_ + 1) : 0;
  f.line = in_step ? scenario_.steps[step_index_].where.line : scenario_.where.line;
  std::string text = message;
  if (in_step) {
    text = "step " + std::to_string(f.step) + " (" + result_.steps[step_index_].summary + ") at " +
           scenario_.file + ":" + std::to_string(f.line) + ": " + message;
    result_.steps[step_index_].status = report::Status::failed;
    result_.steps[step_index_].message = message;
    result_.steps[step_index_].duration_ms = elapsedMs() - step_started_ms_;
  }
  f.message = text;
  f.expected = std::move(expected);
  f.actual = std::move(actual);
  for (const auto& c : clients_)
    for (const auto& r : c->ring) f.last_packets.push_back(r);
  failure_spec_ = spec.empty() ? spec_ids_in(message) : std::move(spec);
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
  if (in_step) {
    result_.steps[step_index_].status = report::Status::error;
    result_.steps[step_index_].message = message;
  }
  result_.failure = std::move(f);
  finish(report::Status::error);
}

void Execution::onEvent(Client& c, const ev::BrokerViolation& e) {
  if (!e.fatal && c.raw_on_session) return;  // e.g. a PUBCOMP answering a raw PUBREL
  std::string where = e.packet_type ? " in " + type_name(*e.packet_type) : std::string();
  std::string spec = e.spec.empty() ? std::string() : std::string(e.spec);
  fail("broker violation" + (spec.empty() ? std::string() : " [" + spec + "]") + where + " received by " + c.name +
           " (stream offset " + std::to_string(e.stream_offset) + ", byte " + std::to_string(e.offset_in_packet) +
           " of the packet): " + e.message,
       "a broker that keeps to " + (spec.empty() ? std::string("the spec") : spec), e.message,
       spec.empty() ? std::vector<std::string>{} : std::vector<std::string>{spec});
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
