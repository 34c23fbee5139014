#include "Execution.hpp"

#include <QDir>
#include <QFile>
#include <QHostAddress>
#include <QHostInfo>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "BrokerServer.hpp"
#include "mqtth/fault/FaultProxy.hpp"
#include "mqtth/fault/FromScenario.hpp"
#include "mqtth/runner/Runner.hpp"

namespace mqtth::runner {

using scenario::StepKind;
namespace ev = client::event;

namespace {

constexpr std::size_t kRingSize = 10;
// After the deliveries an expect_delivery waits for have all arrived, a short quiet period
// catches copies still in flight (a duplicate sent right behind the original).
constexpr std::int64_t kDeliverySettleMs = 50;
// Exploration: the cut client reconnects this long after the cut closed its link (the
// broker sees the RST first, so it does not have to take over a live session), at most
// kMaxHeals times per run (a broker that keeps closing the link cannot loop us).
constexpr int kHealDelayMs = 20;
constexpr int kMaxHeals = 5;

std::string hex_byte(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", v & 0xFFu);
  return buf;
}

std::string ms_text(std::int64_t ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string codes_text(const std::vector<std::uint8_t>& codes) {
  std::string s = "[";
  for (std::size_t i = 0; i < codes.size(); ++i) s += (i ? ", " : "") + hex_byte(codes[i]);
  return s + "]";
}

std::string type_name(mqtt::PacketType t) { return std::string(mqtt::to_string(t)); }

// Packets a client receives as answers to its own requests; expect_no_packet without a
// `type` ignores them (they are not "a packet the broker sent on its own").
bool is_response(mqtt::PacketType t) {
  using T = mqtt::PacketType;
  return t == T::connack || t == T::suback || t == T::unsuback || t == T::puback ||
         t == T::pubrec || t == T::pubrel || t == T::pubcomp || t == T::pingresp;
}

std::string step_client(const scenario::StepAction& action) {
  return std::visit(
      [](const auto& s) -> std::string {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, scenario::SleepStep>) return "";
        else if constexpr (std::is_same_v<S, scenario::ExpectDeliveryStep>) return s.subscriber;
        else return s.client;
      },
      action);
}

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

report::PacketRecord make_record(const std::string& client, report::Direction dir, double at,
                                 const std::string& type, mqtt::Json decoded, std::string_view raw) {
  report::PacketRecord r;
  r.client = client;
  r.direction = dir;
  r.time_ms = at;
  r.type = type;
  r.decoded = std::move(decoded);
  constexpr std::size_t kHexLimit = 512;  // bytes shown in traces
  r.hex = mqtt::to_hex(raw.substr(0, kHexLimit));
  return r;
}

ledger::Guarantee to_ledger(scenario::Guarantee g) {
  switch (g) {
    case scenario::Guarantee::at_most_once: return ledger::Guarantee::at_most_once;
    case scenario::Guarantee::at_least_once: return ledger::Guarantee::at_least_once;
    case scenario::Guarantee::exactly_once: return ledger::Guarantee::exactly_once;
  }
  return ledger::Guarantee::at_least_once;
}

// Statement ids ("MQTT-x.y.z-n") mentioned in a text.
std::vector<std::string> spec_ids_in(const std::string& text) {
  std::vector<std::string> ids;
  std::size_t pos = 0;
  while ((pos = text.find("MQTT-", pos)) != std::string::npos) {
    std::size_t end = pos + 5;
    while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.' || text[end] == '-'))
      ++end;
    while (end > pos + 5 && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
    if (end > pos + 5) ids.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return ids;
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

// ---------------------------------------------------------------------------------------

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

void Execution::runNextStep() {
  if (finished_) return;
  if (step_index_ >= scenario_.steps.size()) {
    finish(report::Status::passed);
    return;
  }
  previous_step_started_ms_ = step_started_ms_;
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

std::string Execution::lastPacketsText() const {
  std::string text;
  for (const auto& c : clients_) {
    if (c->ring.empty()) continue;
    text += "  last packets of " + c->name + ":\n";
    for (const auto& r : c->ring) {
      text += "    " + std::string(r.direction == report::Direction::to_broker ? "-> " : "<- ");
      text += r.decoded.is_null() ? (r.type + " " + r.hex) : r.decoded.dump();
      text += "\n";
    }
  }
  return text;
}

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

// ---------------------------------------------------------------------------------------
// Clients

client::ConnectOptions Execution::connectOptions(const Client& c, const scenario::ConnectOverrides& o,
                                                 std::string* problem) {
  const auto& spec = *c.spec;
  client::ConnectOptions opts;
  opts.version = c.version;
  opts.client_id = context_.prefix.client_id(spec.client_id);
  opts.clean_start = o.clean_start.value_or(spec.clean_start);
  opts.keep_alive = o.keep_alive.value_or(spec.keep_alive);
  opts.username = spec.username;
  opts.password = spec.password;
  opts.session_expiry_interval = o.session_expiry ? o.session_expiry : spec.session_expiry;
  opts.receive_maximum = spec.receive_maximum;
  opts.topic_alias_maximum = spec.topic_alias_maximum;
  opts.maximum_packet_size = spec.maximum_packet_size;
  if (c.version == mqtt::Version::v5) {
    auto props = properties_from_json(spec.properties, problem);
    if (!props) return opts;
    opts.properties = std::move(*props);
  }
  if (spec.will) {
    mqtt::Will will;
    will.topic = context_.prefix.topic(spec.will->topic);
    will.payload = spec.will->payload;
    will.qos = spec.will->qos;
    will.retain = spec.will->retain;
    if (c.version == mqtt::Version::v5) {
      auto props = properties_from_json(spec.will->properties, problem);
      if (!props) return opts;
      will.properties = std::move(*props);
      if (spec.will->delay) will.properties.add_number(mqtt::PropertyId::will_delay_interval, *spec.will->delay);
    }
    opts.will = std::move(will);
  }
  return opts;
}

void Execution::ensureConnection(Client& c) {
  if (c.conn) return;
  client::SessionConfig config;
  config.trace_packets = true;
  // A fault that holds or drops this client's packets (blackhole, delay, throttle,
  // reorder) makes a late PINGRESP the link's doing, not the broker's [MQTT-3.12.4-1]:
  // only the scenario timeout judges it then.
  for (const auto& step : scenario_.steps) {
    const auto* f = std::get_if<scenario::FaultStep>(&step.action);
    if (f && f->client == c.name && f->kind != scenario::FaultKind::cut && f->kind != scenario::FaultKind::segment &&
        f->kind != scenario::FaultKind::corrupt && f->kind != scenario::FaultKind::duplicate)
      config.pingresp_timeout_ms = scenario_.timeout.count();
  }
  c.conn = new client::ClientConnection(this, config);
  Client* cp = &c;
  connect(c.conn, &client::ClientConnection::sessionEvent, this,
          [this, cp](const client::Event& event) { onClientEvent(*cp, event); });
  connect(c.conn, &client::ClientConnection::transportError, this, [this, cp](const QString& message) {
    cp->transport_errors.push_back(message.toStdString());
    evaluateSoon();
  });
}

void Execution::recordSent(Client& c, const ev::PacketSent& e, std::string_view no_packet) {
  if (e.packet)
    recordPacket(c, report::Direction::to_broker, type_name(mqtt::packet_type(*e.packet)), mqtt::to_json(*e.packet, c.version), e.raw);
  else
    recordPacket(c, report::Direction::to_broker, std::string(no_packet), Json(), e.raw);
}

void Execution::recordPacket(Client& c, report::Direction direction, const std::string& type, Json decoded,
                             std::string_view raw) {
  auto record = make_record(c.name, direction, elapsedMs(), type, std::move(decoded), raw);
  c.ring.push_back(record);
  while (c.ring.size() > kRingSize) c.ring.pop_front();
  if (result_.packets.size() < trace_limit_) result_.packets.push_back(std::move(record));
}

Execution::Json Execution::matchJson(const Json& wire, const mqtt::Packet& packet) const {
  Json j = wire;
  if (auto* p = std::get_if<mqtt::Publish>(&packet)) {
    if (j.contains("topic") && j["topic"].is_string()) j["topic"] = context_.prefix.strip_topic(p->topic);
    if (auto parsed = ledger::parse_payload(std::string_view(p->payload)); parsed && parsed->id.run == ledger_.run_id())
      j["payload_hex"] = mqtt::to_hex(parsed->user_payload);
    if (j.contains("properties") && j["properties"].contains("user_property")) {
      auto& list = j["properties"]["user_property"];
      Json kept = Json::array();
      for (const auto& kv : list)
        if (!(kv.is_array() && kv.size() == 2 && kv[0] == std::string(ledger::kUserPropertyName))) kept.push_back(kv);
      if (kept.empty()) j["properties"].erase("user_property");
      else list = kept;
    }
  }
  return j;
}

void Execution::onPacketReceived(Client& c, const mqtt::Packet& packet, mqtt::Version version, std::string_view raw) {
  // The one conversion to decode JSON of this packet: the trace keeps it as it came, the
  // expect_* steps match a copy without this run's prefix and ledger identity.
  Json wire = mqtt::to_json(packet, version);
  Received r;
  r.type = mqtt::packet_type(packet);
  r.match = matchJson(wire, packet);
  r.id = identity(packet);
  r.at_ms = elapsedMs();
  recordPacket(c, report::Direction::from_broker, type_name(r.type), std::move(wire), raw);
  c.received.push_back(std::move(r));
}

std::optional<ledger::MessageId> Execution::identity(const mqtt::Packet& packet) const {
  const auto* p = std::get_if<mqtt::Publish>(&packet);
  if (!p) return std::nullopt;
  auto parsed = ledger::parse_payload(std::string_view(p->payload));
  if (!parsed || parsed->id.run != ledger_.run_id()) return std::nullopt;
  return parsed->id;
}

void Execution::onClientEvent(Client& c, const client::Event& event) {
  if (finished_) return;
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, ev::PacketReceived>) {
          onPacketReceived(c, e.packet, c.version, e.raw);
        } else if constexpr (std::is_same_v<E, ev::PacketSent>) {
          // Bytes a send_raw wrote on the session's link that are no packet: MALFORMED when
          // their first byte names a packet type, else RAW.
          recordSent(c, e, e.type ? "MALFORMED" : "RAW");
          if (const auto* pub = e.packet ? std::get_if<mqtt::Publish>(&*e.packet) : nullptr; pub && pub->qos > 0) {
            // A QoS 1/2 PUBLISH this client already wrote once, again with DUP=1 (the
            // session re-sends after reconnecting, MQTT-4.4.0-1): the broker may forward
            // a QoS 1 message twice, which the ledger then excuses (docs/reports.md).
            if (auto id = identity(*e.packet)) {
              const auto key = std::make_pair(id->stream, id->seq);
              if (!c.published.insert(key).second && pub->dup) ledger_.resent(id->stream, id->seq);
            }
          }
        } else if constexpr (std::is_same_v<E, ev::ConnackReceived>) {
          c.connacks.push_back(e);
          if (e.reason_code < 0x80 && !e.session_present && c.session_may_be_absent) {
            ledger_.end_session(c.ledger_id);
            if (!c.healing) c.granted.clear();
          }
          if (c.healing) {
            c.healing = false;
            if (e.reason_code < 0x80 && !e.session_present && !c.granted.empty()) {
              // The broker has no session (clean session, or it lost it): the client
              // subscribes again, as client libraries do after reconnecting. With a
              // session that should have survived, the ledger already charged the loss.
              client::SubscribeRequest req;
              std::vector<scenario::SubscriptionSpec> subs;
              for (const auto& [filter, sub] : c.granted) {
                mqtt::Subscription w;
                w.filter = context_.prefix.filter(filter);
                w.options.qos = sub.qos;
                w.options.no_local = sub.no_local;
                w.options.retain_as_published = sub.retain_as_published;
                w.options.retain_handling = sub.retain_handling;
                req.subscriptions.push_back(std::move(w));
                subs.push_back(sub);
              }
              c.granted.clear();
              auto r = c.conn->subscribe(std::move(req));
              if (r.ok()) c.pending_subscribes[r.packet_id] = {subs};
            }
            // A SUBSCRIBE/UNSUBSCRIBE whose answer the cut swallowed is sent again (the
            // broker replaces an identical subscription, MQTT-3.8.4-3).
            const std::size_t index = step_index_;
            Client* cp = &c;
            QTimer::singleShot(0, this, [this, cp, index] {
              if (finished_ || step_index_ != index || index >= scenario_.steps.size()) return;
              const auto& step = scenario_.steps[index];
              if (step_client(step.action) != cp->name) return;
              // A step deferred while the link was down starts now; a SUBSCRIBE/UNSUBSCRIBE
              // whose answer the cut swallowed is sent again.
              if (deferred_step_ || step.kind() == StepKind::subscribe || step.kind() == StepKind::unsubscribe) {
                deferred_step_ = false;
                step_timer_->stop();
                check_ = nullptr;
                on_deadline_ = nullptr;
                beginStep(step);
              }
            });
          }
        } else if constexpr (std::is_same_v<E, ev::SubackReceived>) {
          c.subacks[e.packet_id] = e.reason_codes;
          auto it = c.pending_subscribes.find(e.packet_id);
          if (it != c.pending_subscribes.end()) {
            for (std::size_t i = 0; i < it->second.subscriptions.size() && i < e.reason_codes.size(); ++i) {
              const auto& sub = it->second.subscriptions[i];
              if (e.reason_codes[i] < 0x80) {
                ledger_.subscribe(c.ledger_id, sub.filter, e.reason_codes[i], sub.no_local);
                c.granted[sub.filter] = sub;
              }
            }
            c.pending_subscribes.erase(it);
          }
        } else if constexpr (std::is_same_v<E, ev::UnsubackReceived>) {
          c.unsubacks[e.packet_id] = e.reason_codes;
          auto it = c.pending_unsubscribes.find(e.packet_id);
          if (it != c.pending_unsubscribes.end()) {
            for (const auto& f : it->second) {
              ledger_.unsubscribe(c.ledger_id, f);
              c.granted.erase(f);
            }
            c.pending_unsubscribes.erase(it);
          }
        } else if constexpr (std::is_same_v<E, ev::MessageDelivered>) {
          ledger::DeliveryInfo info{e.qos, e.dup, e.retain};
          ledger_.delivered(c.ledger_id, std::string_view(e.payload), info);
        } else if constexpr (std::is_same_v<E, ev::PublishAccepted>) {
          // QoS 2: the broker owns the message from its PUBREC on (ledger rule, docs/reports.md).
          auto it = c.in_flight.find(e.message_id);
          if (it != c.in_flight.end() && !c.transient_session) ledger_.accepted(it->second);
        } else if constexpr (std::is_same_v<E, ev::PublishCompleted>) {
          auto it = c.in_flight.find(e.message_id);
          if (it != c.in_flight.end()) {
            if (e.reason_code < 0x80) ledger_.accepted(it->second);
            c.in_flight.erase(it);
          }
          c.awaited.erase(e.message_id);
        } else if constexpr (std::is_same_v<E, ev::PublishAbandoned>) {
          c.in_flight.erase(e.message_id);
          c.awaited.erase(e.message_id);
        } else if constexpr (std::is_same_v<E, ev::ConnectionClosed>) {
          c.closes.push_back({e.by_client, e.disconnect_reason, std::string(e.cause)});
          if (cutRun() && cut_fired_ && !e.by_client && c.name == context_.cut->client) onCutLinkClosed(c);
        } else if constexpr (std::is_same_v<E, ev::BrokerViolation>) {
          if (!e.fatal && c.raw_on_session) return;  // e.g. a PUBCOMP answering a raw PUBREL
          std::string where = e.packet_type ? " in " + type_name(*e.packet_type) : std::string();
          std::string spec = e.spec.empty() ? std::string() : std::string(e.spec);
          fail("broker violation" + (spec.empty() ? std::string() : " [" + spec + "]") + where + " received by " + c.name +
                   " (stream offset " + std::to_string(e.stream_offset) + ", byte " + std::to_string(e.offset_in_packet) +
                   " of the packet): " + e.message,
               "a broker that keeps to " + (spec.empty() ? std::string("the spec") : spec), e.message,
               spec.empty() ? std::vector<std::string>{} : std::vector<std::string>{spec});
        }
      },
      event);
  evaluateSoon();
}

// Raw mode -------------------------------------------------------------------------------

void Execution::openRaw(Client& c) {
  if (!c.raw) {
    c.raw = new client::RawConnection(c.version, this);
    Client* cp = &c;
    connect(c.raw, &client::RawConnection::connected, this, [this] { evaluateSoon(); });
    connect(c.raw, &client::RawConnection::packetSent, this,
            [this, cp](const ev::PacketSent& e) { recordSent(*cp, e, "RAW"); });
    connect(c.raw, &client::RawConnection::packetReceived, this,
            [this, cp](const client::RawPacket& p) { onRawPacket(*cp, p); });
    connect(c.raw, &client::RawConnection::framingError, this, [this, cp](const mqtt::Error& e) {
      if (finished_) return;
      std::string spec(e.spec);
      fail("broker violation" + (spec.empty() ? std::string() : " [" + spec + "]") + ": " + cp->name +
               " received bytes that cannot be framed at stream offset " + std::to_string(e.offset) + ": " +
               std::string(e.message),
           "", "", spec.empty() ? std::vector<std::string>{} : std::vector<std::string>{spec});
    });
    connect(c.raw, &client::RawConnection::closed, this, [this, cp](const ev::ConnectionClosed& e) {
      cp->closes.push_back({e.by_client, e.disconnect_reason, std::string(e.cause)});
      evaluateSoon();
    });
    connect(c.raw, &client::RawConnection::transportError, this, [this, cp](const QString& message) {
      cp->transport_errors.push_back(message.toStdString());
      evaluateSoon();
    });
  }
  const std::string host = targetHost(c);
  const quint16 port = targetPort(c);
  if (finished_) return;
  c.raw->connectToHost(QString::fromStdString(host), port);
}

void Execution::onRawPacket(Client& c, const client::RawPacket& p) {
  if (finished_) return;
  if (!p.packet) {
    recordPacket(c, report::Direction::from_broker, "MALFORMED", Json(), p.raw);
    std::string spec(p.error.spec);
    fail("broker violation" + (spec.empty() ? std::string() : " [" + spec + "]") + ": " + c.name +
             " received a malformed packet at stream offset " + std::to_string(p.stream_offset) + " (byte " +
             std::to_string(p.error.offset) + "): " + std::string(p.error.message),
         "", mqtt::to_hex(p.raw), spec.empty() ? std::vector<std::string>{} : std::vector<std::string>{spec});
    return;
  }
  onPacketReceived(c, *p.packet, p.version, p.raw);
  evaluateSoon();
}

void Execution::dropRaw(Client& c) {
  if (!c.raw) return;
  c.raw->disconnect(this);
  c.raw->abort();
  c.raw->deleteLater();
  c.raw = nullptr;
}

// ---------------------------------------------------------------------------------------
// Steps

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
      doConnect(*c, s.overrides, s.expect, s.within, false);
      break;
    }
    case StepKind::reconnect: {
      const auto& s = std::get<scenario::ReconnectStep>(step.action);
      if (c->conn && c->conn->isSocketOpen()) c->conn->abort();
      if (c->raw) c->raw->abort();
      Client* cp = c;
      const auto overrides = s.overrides;
      const auto expect = s.expect;
      const auto within = s.within;
      const std::size_t index = step_index_;
      if (s.after.count() <= 0) {
        doConnect(*c, overrides, expect, within, true);
      } else {
        // Waiting `after` is the step's purpose (e.g. let a will delay run), not a sleep
        // standing in for an event.
        wait([] { return std::optional<bool>(); }, std::nullopt, nullptr);
        QTimer::singleShot(static_cast<int>(s.after.count()), this, [this, cp, overrides, expect, within, index] {
          if (finished_ || step_index_ != index) return;
          step_timer_->stop();
          doConnect(*cp, overrides, expect, within, true);
        });
      }
      break;
    }
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
    case StepKind::sleep: {
      const auto d = std::get<scenario::SleepStep>(step.action).duration;
      if (d.count() > remainingMs()) {
        fail("sleep of " + ms_text(d.count()) + " does not fit in the scenario timeout of " +
             ms_text(scenario_.timeout.count()));
        return;
      }
      wait([] { return std::optional<bool>(); }, d, [this] { completeStep(); });
      break;
    }
    case StepKind::fault: doFault(*c, std::get<scenario::FaultStep>(step.action)); break;
    case StepKind::misbehave: doMisbehave(*c, std::get<scenario::MisbehaveStep>(step.action)); break;
  }
}

std::string Execution::connackProblem(const Client& c, const ev::ConnackReceived& connack,
                                      const std::optional<scenario::ConnackExpectation>& expect) const {
  const auto name = [&](std::uint8_t code) {
    auto n = mqtt::reason_code_name(code, mqtt::PacketType::connack, c.version);
    return hex_byte(code) + (n.empty() ? "" : " (" + std::string(n) + ")");
  };
  if (!expect) {
    if (connack.reason_code != 0) return "CONNACK refused the connection: " + name(connack.reason_code) + ", expected success";
    return "";
  }
  if (expect->reason_code && *expect->reason_code != connack.reason_code)
    return "CONNACK reason code " + name(connack.reason_code) + ", expected " + name(*expect->reason_code);
  if (expect->session_present && *expect->session_present != connack.session_present)
    return std::string("CONNACK session_present ") + (connack.session_present ? "true" : "false") + ", expected " +
           (*expect->session_present ? "true" : "false");
  if (expect->properties.is_object() && !expect->properties.empty()) {
    mqtt::Connack packet;
    packet.session_present = connack.session_present;
    packet.reason_code = connack.reason_code;
    packet.properties = connack.properties;
    Json actual = mqtt::to_json(mqtt::Packet(packet), c.version);
    Json props = actual.contains("properties") ? actual["properties"] : Json::object();
    std::string why;
    if (!json_subset_match(expect->properties, props, &why, "/properties"))
      return "CONNACK properties do not match: " + why + " (CONNACK: " + actual.dump() + ")";
  }
  return "";
}

void Execution::doConnect(Client& c, const scenario::ConnectOverrides& overrides,
                          const std::optional<scenario::ConnackExpectation>& expect,
                          std::optional<scenario::Duration> within, bool reconnect) {
  std::string option_problem;
  auto opts = connectOptions(c, overrides, &option_problem);
  if (!option_problem.empty()) {
    error(option_problem);
    return;
  }
  dropRaw(c);
  ensureConnection(c);
  const std::size_t connacks_before = c.connacks.size();
  const std::size_t closes_before = c.closes.size();
  const std::size_t errors_before = c.transport_errors.size();
  (void)reconnect;
  c.healing = false;
  startConnection(c, overrides, opts);
  if (finished_) return;
  Client* cp = &c;
  const std::string target = brokerHost() + ":" + std::to_string(brokerPort());
  wait(
      [this, cp, connacks_before, closes_before, errors_before, expect, target]() -> std::optional<bool> {
        if (cp->connacks.size() > connacks_before) {
          auto problem = connackProblem(*cp, cp->connacks[connacks_before], expect);
          if (!problem.empty()) {
            fail(problem, expect ? "CONNACK as in `expect`" : "a successful CONNACK", receivedSummary(*cp, mqtt::PacketType::connack));
            return std::nullopt;
          }
          for (auto& r : cp->received)
            if (r.type == mqtt::PacketType::connack && !r.consumed && !r.answered) {
              r.answered = true;
              break;
            }
          return true;
        }
        if (cp->transport_errors.size() > errors_before && !cp->conn->isSocketOpen() && cp->closes.size() == closes_before) {
          fail("cannot connect to the broker at " + target + ": " + cp->transport_errors.back(), "a TCP connection",
               cp->transport_errors.back());
          return std::nullopt;
        }
        if (cp->closes.size() > closes_before) {
          const auto& cl = cp->closes[closes_before];
          fail("the connection closed before a CONNACK arrived (" + cl.cause +
                   (cl.disconnect_reason ? ", DISCONNECT " + hex_byte(*cl.disconnect_reason) : std::string()) + ")",
               "CONNACK", "connection closed");
          return std::nullopt;
        }
        return std::nullopt;
      },
      within, [this, within] {
        fail("no CONNACK within " + ms_text(within ? within->count() : scenario_.timeout.count()), "CONNACK", "nothing");
      });
}

void Execution::doDisconnect(Client& c, const scenario::DisconnectStep& s) {
  if (c.raw && c.raw->isOpen()) {
    dropRaw(c);
    completeStep();
    return;
  }
  if (!c.conn || !c.conn->isSocketOpen()) {
    completeStep();  // nothing to close: the broker may already have closed it
    return;
  }
  if (s.abrupt) {
    c.conn->abort();
    completeStep();
    return;
  }
  std::string problem;
  mqtt::Properties props;
  if (c.version == mqtt::Version::v5) {
    auto p = properties_from_json(s.properties, &problem);
    if (!p) {
      error(problem);
      return;
    }
    props = std::move(*p);
  }
  const std::size_t closes_before = c.closes.size();
  c.conn->disconnectFromBroker(s.reason_code.value_or(mqtt::reason::normal_disconnection), std::move(props));
  Client* cp = &c;
  wait([cp, closes_before]() -> std::optional<bool> {
         if (cp->closes.size() > closes_before || !cp->conn->isSocketOpen()) {
           cp->closes_consumed = cp->closes.size();  // our own close is not a broker disconnect
           return true;
         }
         return std::nullopt;
       },
       std::nullopt, [this] { fail("the connection did not close after DISCONNECT"); });
}

void Execution::doSubscribe(Client& c, const scenario::SubscribeStep& s) {
  if (!c.conn) {
    fail("client " + c.name + " is not connected (add a connect step before subscribe)");
    return;
  }
  client::SubscribeRequest req;
  for (const auto& sub : s.subscriptions) {
    mqtt::Subscription w;
    w.filter = context_.prefix.filter(sub.filter);
    w.options.qos = sub.qos;
    w.options.no_local = sub.no_local;
    w.options.retain_as_published = sub.retain_as_published;
    w.options.retain_handling = sub.retain_handling;
    req.subscriptions.push_back(std::move(w));
  }
  req.subscription_identifier = s.subscription_identifier;
  if (c.version == mqtt::Version::v5) {
    std::string problem;
    auto p = properties_from_json(s.properties, &problem);
    if (!p) {
      error(problem);
      return;
    }
    req.properties = std::move(*p);
  }
  auto& mb = c.conn->misbehaviour();
  const auto saved = mb.fixed_packet_id;
  if (s.packet_id) mb.fixed_packet_id = *s.packet_id;
  auto r = c.conn->subscribe(std::move(req));
  mb.fixed_packet_id = saved;
  if (!r.ok()) {
    fail("cannot send SUBSCRIBE: " + std::string(client::to_string(r.error)));
    return;
  }
  c.subacks.erase(r.packet_id);
  c.pending_subscribes[r.packet_id] = {s.subscriptions};
  if (!s.wait) {
    completeStep();
    return;
  }
  Client* cp = &c;
  const auto pid = r.packet_id;
  const auto expect = s.expect_reason_codes;
  const auto count = s.subscriptions.size();
  wait(
      [this, cp, pid, expect, count]() -> std::optional<bool> {
        auto it = cp->subacks.find(pid);
        if (it == cp->subacks.end()) return std::nullopt;
        const auto& codes = it->second;
        if (expect) {
          if (codes != *expect) {
            fail("SUBACK reason codes " + codes_text(codes) + ", expected " + codes_text(*expect), codes_text(*expect), codes_text(codes));
            return std::nullopt;
          }
        } else {
          bool ok = codes.size() == count;
          for (auto code : codes) ok = ok && code <= 2;
          if (!ok) {
            fail("SUBACK reason codes " + codes_text(codes) + ", expected a granted QoS (0x00..0x02) for each of " +
                     std::to_string(count) + " filter(s)",
                 "granted QoS per filter", codes_text(codes));
            return std::nullopt;
          }
        }
        for (auto& rcv : cp->received)
          if (rcv.type == mqtt::PacketType::suback && !rcv.answered && rcv.match.value("packet_id", -1) == pid) {
            rcv.answered = true;
            break;
          }
        return true;
      },
      s.within, [this, cp, pid] {
        fail("no SUBACK for packet id " + std::to_string(pid), "SUBACK", receivedSummary(*cp, std::nullopt));
      });
}

void Execution::doUnsubscribe(Client& c, const scenario::UnsubscribeStep& s) {
  if (!c.conn) {
    fail("client " + c.name + " is not connected (add a connect step before unsubscribe)");
    return;
  }
  client::UnsubscribeRequest req;
  for (const auto& f : s.filters) req.filters.push_back(context_.prefix.filter(f));
  if (c.version == mqtt::Version::v5) {
    std::string problem;
    auto p = properties_from_json(s.properties, &problem);
    if (!p) {
      error(problem);
      return;
    }
    req.properties = std::move(*p);
  }
  auto& mb = c.conn->misbehaviour();
  const auto saved = mb.fixed_packet_id;
  if (s.packet_id) mb.fixed_packet_id = *s.packet_id;
  auto r = c.conn->unsubscribe(std::move(req));
  mb.fixed_packet_id = saved;
  if (!r.ok()) {
    fail("cannot send UNSUBSCRIBE: " + std::string(client::to_string(r.error)));
    return;
  }
  c.unsubacks.erase(r.packet_id);
  c.pending_unsubscribes[r.packet_id] = s.filters;
  if (!s.wait) {
    completeStep();
    return;
  }
  Client* cp = &c;
  const auto pid = r.packet_id;
  const auto expect = s.expect_reason_codes;
  wait(
      [this, cp, pid, expect]() -> std::optional<bool> {
        auto it = cp->unsubacks.find(pid);
        if (it == cp->unsubacks.end()) return std::nullopt;
        if (expect && cp->version == mqtt::Version::v5 && it->second != *expect) {
          fail("UNSUBACK reason codes " + codes_text(it->second) + ", expected " + codes_text(*expect),
               codes_text(*expect), codes_text(it->second));
          return std::nullopt;
        }
        for (auto& rcv : cp->received)
          if (rcv.type == mqtt::PacketType::unsuback && !rcv.answered && rcv.match.value("packet_id", -1) == pid) {
            rcv.answered = true;
            break;
          }
        return true;
      },
      s.within, [this, cp, pid] {
        fail("no UNSUBACK for packet id " + std::to_string(pid), "UNSUBACK", receivedSummary(*cp, std::nullopt));
      });
}

void Execution::doPublish(Client& c, const scenario::PublishStep& s) {
  if (!c.conn) {
    fail("client " + c.name + " is not connected (add a connect step before publish)");
    return;
  }
  mqtt::Properties base;
  if (c.version == mqtt::Version::v5) {
    std::string problem;
    auto p = properties_from_json(s.properties, &problem);
    if (!p) {
      error(problem);
      return;
    }
    base = std::move(*p);
  }
  c.awaited.clear();
  auto& mb = c.conn->misbehaviour();
  const auto saved = mb.fixed_packet_id;
  if (s.packet_id) mb.fixed_packet_id = *s.packet_id;
  for (std::uint32_t seq = 1; seq <= s.count && !finished_; ++seq) {
    const std::string topic = scenario::expand_seq(s.topic, seq);
    const std::string user_payload = s.payload_is_template ? scenario::expand_seq(s.payload, seq) : s.payload;
    // An empty retained payload deletes the retained message (3.3.1.3): it must stay
    // empty, so it carries no ledger identity and is not counted as a message.
    const bool untracked = s.retain && user_payload.empty();
    mqtt::Properties props = base;
    std::string payload = user_payload;
    std::optional<ledger::MessageId> id;
    if (!untracked) {
      const std::string key = topic + '\x1f' + std::to_string(s.qos);
      auto it = streams_.find(key);
      if (it == streams_.end()) it = streams_.emplace(key, ledger_.stream(c.ledger_id, topic, s.qos)).first;
      id = ledger_.attempt(it->second);
      payload = ledger::make_payload(*id, user_payload);
    }
    if (s.dup) {
      // DUP on a first delivery is for tests of broker handling (3.3.1.1); the session has
      // no command for it, so the packet is built here and not tracked as in flight.
      mqtt::Publish p;
      p.dup = true;
      p.qos = s.qos;
      p.retain = s.retain;
      p.topic = context_.prefix.topic(topic);
      p.packet_id = s.qos ? s.packet_id.value_or(1) : 0;
      p.properties = props;
      p.payload = payload;
      auto r = c.conn->sendPacket(mqtt::Packet(std::move(p)));
      if (!r.ok()) {
        mb.fixed_packet_id = saved;
        fail("cannot send PUBLISH: " + std::string(client::to_string(r.error)));
        return;
      }
      if (id && s.qos == 0) ledger_.accepted(*id);
      continue;
    }
    client::PublishRequest req;
    req.topic = context_.prefix.topic(topic);
    req.payload = std::move(payload);
    req.qos = s.qos;
    req.retain = s.retain;
    req.properties = std::move(props);
    auto r = c.conn->publish(std::move(req));
    if (!r.ok()) {
      mb.fixed_packet_id = saved;
      fail("cannot send PUBLISH " + std::to_string(seq) + " of " + std::to_string(s.count) + ": " +
           std::string(client::to_string(r.error)));
      return;
    }
    if (s.qos == 0) {
      if (id) ledger_.accepted(*id);
    } else {
      if (id) c.in_flight[r.message_id] = *id;
      if (s.wait) c.awaited.insert(r.message_id);
    }
  }
  mb.fixed_packet_id = saved;
  if (finished_) return;
  if (c.awaited.empty()) {
    completeStep();
    return;
  }
  Client* cp = &c;
  wait([cp]() -> std::optional<bool> { return cp->awaited.empty() ? std::optional<bool>(true) : std::nullopt; },
       s.within, [this, cp, s] {
         fail(std::to_string(cp->awaited.size()) + " of " + std::to_string(s.count) + " QoS " + std::to_string(s.qos) +
                  " publish(es) were not acknowledged",
              s.qos == 1 ? "PUBACK" : "PUBREC and PUBCOMP", receivedSummary(*cp, std::nullopt));
       });
}

std::string Execution::prefixRaw(const std::string& bytes, mqtt::Version version) const {
  // With --broker, names inside raw packets get the prefix too, or a raw PUBLISH would
  // never reach the scenario's (prefixed) subscribers. Only whole packets the codec
  // accepts are rewritten, through the decode JSON (which keeps non-canonical encodings
  // exact); from the first byte that does not decode on, the bytes go out unchanged.
  if (!context_.prefix.active()) return bytes;
  std::string out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const auto rest = mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(bytes.data() + pos), bytes.size() - pos);
    const auto frame = mqtt::peek_frame(rest);
    if (frame.status != mqtt::FrameInfo::Status::complete || frame.size > rest.size()) break;
    const std::string wire = bytes.substr(pos, frame.size);
    mqtt::DecodeOptions opts;
    opts.version = version;
    auto decoded = mqtt::decode(std::string_view(wire), opts);
    if (!decoded.ok()) break;
    Json j = mqtt::to_json(decoded.value, version,
                           mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()));
    if (auto v = mqtt::connect_version(j)) version = *v;
    if (j.contains("topic") && j["topic"].is_string() && !j["topic"].get<std::string>().empty())
      j["topic"] = context_.prefix.topic(j["topic"].get<std::string>());
    if (j.contains("client_id") && j["client_id"].is_string())
      j["client_id"] = context_.prefix.client_id(j["client_id"].get<std::string>());
    if (j.contains("will") && j["will"].is_object() && j["will"].contains("topic"))
      j["will"]["topic"] = context_.prefix.topic(j["will"]["topic"].get<std::string>());
    if (j.contains("subscriptions") && j["subscriptions"].is_array())
      for (auto& sub : j["subscriptions"])
        if (sub.contains("filter")) sub["filter"] = context_.prefix.filter(sub["filter"].get<std::string>());
    if (j.contains("filters") && j["filters"].is_array())
      for (auto& f : j["filters"]) f = context_.prefix.filter(f.get<std::string>());
    // A recorded remaining_length no longer fits once names grew.
    if (j.contains("remaining_length")) break;
    auto encoded = mqtt::encode_json(j, version);
    if (!encoded.ok()) break;
    out += encoded.value;
    pos += frame.size;
  }
  out += bytes.substr(pos);
  return out;
}

void Execution::doSendRaw(Client& c, const scenario::SendRawStep& s) {
  const std::string bytes = prefixRaw(std::string(s.bytes.begin(), s.bytes.end()), c.version);
  if (c.conn && c.conn->isSocketOpen()) {
    c.raw_on_session = true;
    c.conn->sendRaw(QByteArray(bytes.data(), static_cast<qsizetype>(bytes.size())));
    c.conn->flush();
    completeStep();
    return;
  }
  if (!c.raw || !c.raw->isOpen()) openRaw(c);
  if (finished_) return;
  c.raw->write(bytes);  // traced as the broker will see it (packetSent)
  if (c.raw->isConnected()) {
    completeStep();
    return;
  }
  Client* cp = &c;
  const std::size_t errors_before = c.transport_errors.size();
  const std::string target = brokerHost() + ":" + std::to_string(brokerPort());
  wait(
      [this, cp, errors_before, target]() -> std::optional<bool> {
        if (cp->raw->isConnected() && cp->raw->pendingBytes() == 0) return true;
        if (cp->transport_errors.size() > errors_before && !cp->raw->isOpen()) {
          fail("cannot connect to the broker at " + target + ": " + cp->transport_errors.back());
          return std::nullopt;
        }
        if (!cp->raw->isOpen() && cp->raw->pendingBytes() == 0) return true;
        return std::nullopt;
      },
      std::nullopt, [this, target] { fail("no TCP connection to " + target); });
}

std::string Execution::receivedSummary(const Client& c, std::optional<mqtt::PacketType> type) const {
  std::string text;
  int n = 0;
  for (const auto& r : c.received) {
    if (r.consumed || (type && r.type != *type)) continue;
    if (n++ >= 5) {
      text += " ...";
      break;
    }
    text += (text.empty() ? "" : "; ") + r.match.dump();
  }
  if (text.empty()) text = type ? "no unconsumed " + type_name(*type) + " packet" : "no unconsumed packet";
  return text;
}

void Execution::doExpectPacket(Client& c, const scenario::ExpectPacketStep& s) {
  Client* cp = &c;
  Json expected = s.match;
  const auto type = s.type;
  wait(
      [cp, expected, type]() -> std::optional<bool> {
        for (auto& r : cp->received) {
          if (r.consumed || r.type != type) continue;
          if (json_subset_match(expected, r.match)) {
            r.consumed = true;
            return true;
          }
        }
        return std::nullopt;
      },
      s.within, [this, cp, expected, type, s] {
        std::string closest;
        for (const auto& r : cp->received) {
          if (r.consumed || r.type != type) continue;
          std::string why;
          json_subset_match(expected, r.match, &why);
          closest = r.match.dump() + " (" + why + ")";
        }
        Json want = expected;
        want["type"] = type_name(type);
        std::string wait_text = s.within ? " within " + ms_text(s.within->count()) : std::string();
        fail("no matching " + type_name(type) + wait_text + ": expected " + want.dump() + ", got " +
                 (closest.empty() ? receivedSummary(*cp, std::nullopt) : closest),
             want.dump(), closest.empty() ? receivedSummary(*cp, std::nullopt) : closest);
      });
}

void Execution::doExpectNoPacket(Client& c, const scenario::ExpectNoPacketStep& s) {
  Client* cp = &c;
  const auto type = s.type;
  if (s.duration.count() > remainingMs()) {
    fail("expect_no_packet for " + ms_text(s.duration.count()) + " does not fit in the scenario timeout of " +
         ms_text(scenario_.timeout.count()));
    return;
  }
  // Every packet not consumed by an expect step and not the awaited answer of the
  // client's own request counts, also one that arrived before this step began.
  wait(
      [this, cp, type, s]() -> std::optional<bool> {
        for (const auto& r : cp->received) {
          if (r.consumed || r.answered) continue;
          const bool counts = type ? r.type == *type : !is_response(r.type);
          if (counts) {
            fail("received " + r.match.dump() + " while expecting no " + (type ? type_name(*type) : std::string("packet")) +
                     " for " + ms_text(s.duration.count()),
                 "no packet", r.match.dump());
            return std::nullopt;
          }
        }
        return std::nullopt;
      },
      s.duration, [this] { completeStep(); });
}

void Execution::doExpectDelivery(const scenario::ExpectDeliveryStep& s) {
  Client* sub = client(s.subscriber);
  Client* pub = client(s.publisher);
  if (!sub || !pub) {
    error("expect_delivery names an undeclared client");
    return;
  }
  ledger::Expectation expectation;
  expectation.guarantee = to_ledger(s.guarantee);
  expectation.ordered = s.ordered;
  auto rows = [this, sub, pub, s, expectation] {
    auto all = ledger_.results(expectation, pub->ledger_id, sub->ledger_id);
    if (!s.topic) return all;
    std::vector<ledger::StreamResult> kept;
    for (auto& r : all)
      if (ledger::topic_matches(*s.topic, r.topic)) kept.push_back(std::move(r));
    return kept;
  };
  auto complete = [pub, rows, s]() {
    if (pub->conn && (pub->conn->session().outbound_in_flight() > 0 || pub->conn->session().outbound_queued() > 0))
      return false;
    auto rs = rows();
    std::uint64_t delivered = 0;
    for (const auto& r : rs) {
      if (r.lost > 0) return false;
      delivered += r.delivered;
    }
    if (s.count) return delivered >= *s.count;
    return !rs.empty();
  };
  auto verdict = [this, rows, s, sub, pub](bool timed_out) {
    auto rs = rows();
    // Replace earlier rows of the same pair: the latest check is the verdict.
    for (const auto& r : rs) {
      auto same = [&](const ledger::StreamResult& x) {
        return x.publisher == r.publisher && x.subscriber == r.subscriber && x.topic == r.topic && x.publish_qos == r.publish_qos;
      };
      result_.deliveries.erase(std::remove_if(result_.deliveries.begin(), result_.deliveries.end(), same), result_.deliveries.end());
      result_.deliveries.push_back(r);
    }
    std::string problems;
    std::vector<std::string> specs;
    std::uint64_t delivered = 0;
    for (const auto& r : rs) {
      delivered += r.delivered;
      if (r.verdict == ledger::Verdict::violated) {
        problems += (problems.empty() ? "" : "; ") + r.topic + " qos" + std::to_string(r.publish_qos) + ": sent " +
                    std::to_string(r.sent) + ", delivered " + std::to_string(r.delivered) + ", lost " + std::to_string(r.lost) +
                    ", duplicated " + std::to_string(r.duplicated) + ", reordered " + std::to_string(r.reordered) +
                    (r.reason.empty() ? "" : " — " + r.reason);
        for (auto& id : spec_ids_in(r.reason)) specs.push_back(id);
      }
    }
    for (auto& rcv : sub->received) {
      if (rcv.type != mqtt::PacketType::publish || !rcv.id || rcv.id->publisher != pub->ledger_id) continue;
      if (s.topic && !ledger::topic_matches(*s.topic, rcv.match.value("topic", std::string()))) continue;
      rcv.answered = true;
    }
    const std::string what = std::string(scenario::guarantee_name(s.guarantee)) + (s.ordered ? ", ordered" : "") +
                             " delivery from " + pub->name + " to " + sub->name + (s.topic ? " on " + *s.topic : "");
    if (!problems.empty()) {
      fail(what + " violated: " + problems, what, problems, specs);
      return;
    }
    if (s.count && delivered != *s.count) {
      fail(what + ": " + std::to_string(delivered) + " distinct message(s) delivered, expected " + std::to_string(*s.count),
           std::to_string(*s.count) + " messages", std::to_string(delivered) + " messages");
      return;
    }
    if (rs.empty() && !(s.count && *s.count == 0)) {
      fail(what + ": the ledger has no message from " + pub->name + " that " + sub->name +
               " was subscribed to (publish after the SUBACK, on a matching topic)",
           what, "nothing recorded");
      return;
    }
    if (timed_out && pub->conn &&
        (pub->conn->session().outbound_in_flight() > 0 || pub->conn->session().outbound_queued() > 0)) {
      fail(what + ": " + std::to_string(pub->conn->session().outbound_in_flight() + pub->conn->session().outbound_queued()) +
               " publish(es) of " + pub->name + " still unacknowledged by the broker",
           "all publishes acknowledged", "still in flight");
      return;
    }
    completeStep();
  };
  auto settled_at = std::make_shared<std::optional<double>>();
  wait(
      [this, complete, verdict, settled_at]() -> std::optional<bool> {
        if (!complete()) {
          settled_at->reset();
          return std::nullopt;
        }
        if (!*settled_at) {
          *settled_at = elapsedMs();
          QTimer::singleShot(static_cast<int>(kDeliverySettleMs), this, [this] { evaluateSoon(); });
          return std::nullopt;
        }
        if (elapsedMs() - **settled_at < static_cast<double>(kDeliverySettleMs)) return std::nullopt;
        verdict(false);
        return std::nullopt;  // verdict() completed or failed the step
      },
      s.within, [verdict] { verdict(true); });
}

void Execution::doExpectDisconnect(Client& c, const scenario::ExpectDisconnectStep& s) {
  Client* cp = &c;
  const auto expected = s.reason_code;
  wait(
      [this, cp, expected]() -> std::optional<bool> {
        while (cp->closes_consumed < cp->closes.size()) {
          const auto cl = cp->closes[cp->closes_consumed++];
          if (cl.by_client) continue;  // our own DISCONNECT/abort
          // The broker's DISCONNECT is part of this close: the step consumes it.
          for (auto& r : cp->received)
            if (r.type == mqtt::PacketType::disconnect) r.consumed = true;
          // 3.1.1 servers never send DISCONNECT: closing is the whole answer.
          if (expected && cp->version == mqtt::Version::v5) {
            if (!cl.disconnect_reason) {
              fail("the broker closed the connection without a DISCONNECT, expected DISCONNECT " + hex_byte(*expected),
                   "DISCONNECT " + hex_byte(*expected), "close without DISCONNECT (" + cl.cause + ")");
              return std::nullopt;
            }
            if (*cl.disconnect_reason != *expected) {
              fail("DISCONNECT reason code " + hex_byte(*cl.disconnect_reason) + ", expected " + hex_byte(*expected),
                   "DISCONNECT " + hex_byte(*expected), "DISCONNECT " + hex_byte(*cl.disconnect_reason));
              return std::nullopt;
            }
          }
          return true;
        }
        return std::nullopt;
      },
      s.within, [this, cp, expected, s] {
        fail("the broker did not close the connection" + (s.within ? " within " + ms_text(s.within->count()) : std::string()),
             expected ? "DISCONNECT " + hex_byte(*expected) + " and close" : std::string("close"),
             "connection still open; " + receivedSummary(*cp, std::nullopt));
      });
}

void Execution::doExpectConnack(Client& c, const scenario::ExpectConnackStep& s) {
  Client* cp = &c;
  const auto expect = s.expect;
  const std::size_t connacks_seen = c.connacks.size();
  wait(
      [this, cp, expect, connacks_seen]() -> std::optional<bool> {
        for (auto& r : cp->received) {
          if (r.consumed || r.type != mqtt::PacketType::connack) continue;
          r.consumed = true;
          ev::ConnackReceived ack;
          ack.session_present = r.match.value("session_present", false);
          ack.reason_code = static_cast<std::uint8_t>(r.match.value("reason_code", 0));
          auto problem = connackProblem(*cp, ack, expect);
          if (problem.empty() && !expect.properties.empty()) {
            Json props = r.match.contains("properties") ? r.match["properties"] : Json::object();
            std::string why;
            if (!json_subset_match(expect.properties, props, &why, "/properties")) problem = "CONNACK properties: " + why;
          }
          if (!problem.empty()) {
            fail(problem, "CONNACK as expected", r.match.dump());
            return std::nullopt;
          }
          return true;
        }
        (void)connacks_seen;
        return std::nullopt;
      },
      s.within, [this, cp] { fail("no CONNACK arrived", "CONNACK", receivedSummary(*cp, std::nullopt)); });
}

void Execution::doExpectSuback(Client& c, const scenario::ExpectSubackStep& s) {
  Client* cp = &c;
  const auto codes = s.reason_codes;
  wait(
      [this, cp, codes]() -> std::optional<bool> {
        for (auto& r : cp->received) {
          if (r.consumed || r.type != mqtt::PacketType::suback) continue;
          r.consumed = true;
          std::vector<std::uint8_t> got;
          if (r.match.contains("reason_codes"))
            for (const auto& v : r.match["reason_codes"]) got.push_back(static_cast<std::uint8_t>(v.get<int>()));
          if (got != codes) {
            fail("SUBACK reason codes " + codes_text(got) + ", expected " + codes_text(codes), codes_text(codes), codes_text(got));
            return std::nullopt;
          }
          return true;
        }
        return std::nullopt;
      },
      s.within, [this, cp] { fail("no SUBACK arrived", "SUBACK", receivedSummary(*cp, std::nullopt)); });
}

void Execution::doMisbehave(Client& c, const scenario::MisbehaveStep& s) {
  ensureConnection(c);
  auto& mb = c.conn->misbehaviour();
  using T = mqtt::PacketType;
  // `count`: the next N only; unset: every one from now (client::kAlways).
  const std::uint32_t n = s.count.value_or(client::kAlways);
  for (auto t : s.withhold) {
    if (t == T::puback) mb.withhold_puback = n;
    else if (t == T::pubrec) mb.withhold_pubrec = n;
    else if (t == T::pubcomp) mb.withhold_pubcomp = n;
    else if (t == T::pubrel) mb.skip_pubrel = n;
  }
  if (s.skip_pubrel) mb.skip_pubrel = *s.skip_pubrel ? n : 0;
  if (s.reuse_packet_id) mb.reuse_in_flight_packet_id = *s.reuse_packet_id;
  if (s.auto_ack) {
    const std::uint32_t v = *s.auto_ack ? 0 : client::kAlways;
    mb.withhold_puback = v;
    mb.withhold_pubrec = v;
    mb.withhold_pubcomp = v;
  }
  if (s.fixed_packet_id) mb.fixed_packet_id = *s.fixed_packet_id;
  if (s.suppress_pingreq) mb.suppress_pingreq = *s.suppress_pingreq;
  if (s.ignore_receive_maximum) mb.ignore_receive_maximum = *s.ignore_receive_maximum;
  completeStep();
}

}  // namespace mqtth::runner

namespace mqtth::runner {

// ---------------------------------------------------------------------------------------
// Fault injection (docs/faults.md)

void Execution::startConnection(Client& c, const scenario::ConnectOverrides& overrides,
                                const client::ConnectOptions& opts) {
  ensureConnection(c);
  c.session_may_be_absent = opts.clean_start || !c.ever_connected ||
                            (c.version == mqtt::Version::v5 && c.previous_session_expiry.value_or(0) == 0);
  c.previous_session_expiry = opts.session_expiry_interval;
  c.last_overrides = overrides;
  c.transient_session = c.version == mqtt::Version::v5 ? opts.session_expiry_interval.value_or(0) == 0 : opts.clean_start;
  const std::string host = targetHost(c);
  const quint16 port = targetPort(c);
  if (finished_) return;
  c.conn->connectToBroker(QString::fromStdString(host), port, opts);
  c.ever_connected = true;
}

std::string Execution::targetHost(Client& c) {
  if (proxyFor(c)) return "127.0.0.1";
  return brokerHost();
}

quint16 Execution::targetPort(Client& c) {
  if (auto* proxy = proxyFor(c)) return proxy->port();
  return brokerPort();
}

namespace {
// File-name safe: letters, digits, '.', '_' and '-'; the rest becomes '_' (runs of it once).
std::string sanitise(const std::string& text, std::size_t limit = 80) {
  std::string out;
  for (unsigned char ch : text) {
    const bool ok = std::isalnum(ch) || ch == '.' || ch == '-' || ch == '_';
    if (ok) out += static_cast<char>(ch);
    else if (out.empty() || out.back() != '_') out += '_';
    if (out.size() >= limit) break;
  }
  while (!out.empty() && (out.back() == '_' || out.back() == '.')) out.pop_back();
  return out.empty() ? std::string("x") : out;
}
}  // namespace

fault::FaultProxy* Execution::proxyFor(Client& c) {
  if (!needs_proxy_) return nullptr;
  if (c.proxy) return c.proxy;
  if (finished_) return nullptr;
  auto* proxy = new fault::FaultProxy(QHostAddress(QString::fromStdString(upstream_host_)), brokerPort(), this);
  if (!proxy->listen()) {
    const std::string why = proxy->errorString().toStdString();
    delete proxy;
    error("cannot start the fault proxy of client " + c.name + ": " + why);
    return nullptr;
  }
  c.proxy = proxy;
  Client* cp = &c;
  if (!context_.pcap_dir.empty()) {
    // The proxy names files conn-<id>.pcap; each closed one is moved next to the others
    // as <stem>--<client>--conn<id>.pcap.
    const QString dir = QString::fromStdString(context_.pcap_dir);
    const QString stem = QString::fromStdString(context_.pcap_stem + "--" + sanitise(c.name, 40));
    const QString tmp = QDir(dir).filePath(QStringLiteral(".tmp-") + stem);
    QDir().mkpath(tmp);
    proxy->setPcapDirectory(tmp);
    connect(proxy, &fault::FaultProxy::connectionClosed, this, [dir, stem, tmp](int id) {
      const QString from = QDir(tmp).filePath(QStringLiteral("conn-%1.pcap").arg(id));
      const QString to = QDir(dir).filePath(QStringLiteral("%1--conn%2.pcap").arg(stem).arg(id));
      QFile::remove(to);
      QFile::rename(from, to);
      QDir().rmdir(tmp);  // only succeeds once empty
    });
  }
  const bool record = context_.record_clients.count(c.name) > 0;
  const bool cut = context_.cut && context_.cut->client == c.name;
  if (record || cut)
    connect(proxy, &fault::FaultProxy::packetReceived, this,
            [this, cp](const fault::PacketRecord& r) { onProxyPacket(*cp, r); });
  if (cut) {
    connect(proxy, &fault::FaultProxy::faultFired, this, [this](int, int id, const QString&) {
      if (id != 0 && id == cut_rule_id_) cut_fired_ = true;
    });
    // The cut is one-shot: later connections of the client (after healing) must not
    // inherit the rule (their counts would start again). Removed only once its
    // connection is gone: removing it earlier would cancel the pending cut.
    auto drop_rule = [this, proxy] {
      if (cut_fired_ && cut_rule_id_ != 0 && !proxy->faults().empty()) proxy->clearFaults();
    };
    connect(proxy, &fault::FaultProxy::connectionOpened, this, drop_rule);
    connect(proxy, &fault::FaultProxy::connectionClosed, this, drop_rule);
  }
  return proxy;
}

void Execution::onProxyPacket(Client& c, const fault::PacketRecord& r) {
  if (context_.record_clients.count(c.name)) recorded_.push_back({c.name, r.direction, r.type});
  if (!context_.cut || context_.cut->client != c.name || cut_rule_id_ != 0) return;
  if (r.direction != context_.cut->direction || r.type != context_.cut->type) return;
  if (++cut_seen_ < context_.cut->nth) return;
  // Installed while the packet is being handled, before the proxy matches its rules
  // against it: "cut after the 1st <type> from now" fires on this very packet.
  fault::FaultRule rule;
  rule.kind = fault::Kind::cut;
  rule.direction = r.direction;
  rule.packet = r.type;
  rule.nth = 1;
  cut_rule_id_ = c.proxy->addFault(rule);
}

void Execution::onCutLinkClosed(Client& c) {
  if (finished_ || c.healing) return;
  int closes_after_cut = 0;
  for (const auto& cl : c.closes) closes_after_cut += cl.by_client ? 0 : 1;
  if (closes_after_cut > kMaxHeals) return;
  c.healing = true;
  Client* cp = &c;
  QTimer::singleShot(kHealDelayMs, this, [this, cp] { heal(*cp); });
}

void Execution::heal(Client& c) {
  if (finished_ || !c.healing) return;
  // "Reconnect if disconnected": a connect/reconnect step of this client still waiting
  // is simply started again; otherwise the client reconnects with the options of its
  // last connect (the session re-sends what is in flight, 4.4) while the current step
  // keeps waiting.
  if (step_index_ < scenario_.steps.size() && check_) {
    const auto& step = scenario_.steps[step_index_];
    if ((step.kind() == StepKind::connect || step.kind() == StepKind::reconnect) && step_client(step.action) == c.name) {
      c.healing = false;
      step_timer_->stop();
      beginStep(step);
      return;
    }
  }
  if (c.conn && c.conn->isSocketOpen()) {
    c.healing = false;  // a reconnect step got there first
    return;
  }
  std::string problem;
  auto opts = connectOptions(c, c.last_overrides, &problem);
  if (!problem.empty()) {
    c.healing = false;
    return;
  }
  startConnection(c, c.last_overrides, opts);
}

void Execution::doFault(Client& c, const scenario::FaultStep& s) {
  auto* proxy = proxyFor(c);
  if (!proxy) {
    if (!finished_) error("fault step: client " + c.name + " has no fault proxy");
    return;
  }
  // Effective at once: rules count packets from now on (docs/faults.md).
  proxy->addFault(fault::rule_from_step(s));
  completeStep();
}

}  // namespace mqtth::runner
