// Faults, misbehaviour and exploration (docs/faults.md): fault and misbehave steps, each
// client's FaultProxy and its pcap files, and the cut of a cut-point exploration run with
// the reconnect ("heal") after it.
#include "Execution.hpp"

#include <QDir>
#include <QFile>
#include <QHostAddress>
#include <QTimer>

#include "ExecutionText.hpp"
#include "mqtth/fault/FaultProxy.hpp"
#include "FaultFromScenario.hpp"

namespace mqtth::runner {

using scenario::StepKind;
namespace ev = client::event;

namespace {

// Exploration: the cut client reconnects this long after the cut closed its link (the
// broker sees the RST first, so it does not have to take over a live session), at most
// kMaxHeals times per run (a broker that keeps closing the link cannot loop us).
constexpr int kHealDelayMs = 20;
constexpr int kMaxHeals = 5;

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

void Execution::doFault(Client& c, const scenario::FaultStep& s) {
  auto* proxy = proxyFor(c);
  if (!proxy) {
    if (!finished_) error("fault step: client " + c.name + " has no fault proxy");
    return;
  }
  // Effective at once: rules count packets from now on (docs/faults.md), on the connection
  // the step names: a planned cut must not follow the client to its next connection and
  // cut it again with its counts restarted.
  const auto rule = fault::rule_from_step(s);
  switch (s.connections) {
    case scenario::FaultConnections::all: proxy->addFault(rule); break;
    case scenario::FaultConnections::next: proxy->addFaultToNext(rule); break;
    case scenario::FaultConnections::current: {
      const bool open = (c.conn && c.conn->isSocketOpen()) || (c.raw && c.raw->isOpen());
      if (!open || proxy->addFaultTo(proxy->newestConnection(), rule) == 0) proxy->addFaultToNext(rule);
      break;
    }
  }
  completeStep();
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

// ---------------------------------------------------------------------------------------
// Fault proxies

std::string Execution::targetHost(Client& c) {
  if (proxyFor(c)) return "127.0.0.1";
  return brokerHost();
}

quint16 Execution::targetPort(Client& c) {
  if (auto* proxy = proxyFor(c)) return proxy->port();
  return brokerPort();
}

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
  }
  return proxy;
}

// ---------------------------------------------------------------------------------------
// Cut-point exploration

void Execution::onProxyPacket(Client& c, const fault::PacketRecord& r) {
  if (context_.record_clients.count(c.name)) recorded_.push_back({c.name, r.direction, r.type});
  if (!context_.cut || context_.cut->client != c.name || cut_rule_id_ != 0) return;
  if (r.direction != context_.cut->direction || r.type != context_.cut->type) return;
  if (++cut_seen_ < context_.cut->nth) return;
  // Installed while the packet is being handled, before the proxy matches its rules
  // against it: "cut after the 1st <type> from now" fires on this very packet. The cut is
  // one-shot: it belongs to this connection and goes with it, so the client's next
  // connection (after healing) is not cut again.
  fault::FaultRule rule;
  rule.kind = fault::Kind::cut;
  rule.direction = r.direction;
  rule.packet = r.type;
  rule.nth = 1;
  cut_rule_id_ = c.proxy->addFaultTo(r.connection, rule);
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

void Execution::onHealed(Client& c, const ev::ConnackReceived& e) {
  c.healing = false;
  if (e.reason_code < 0x80 && !e.session_present && !c.granted.empty()) {
    // The broker has no session (clean session, or it lost it): the client
    // subscribes again, as client libraries do after reconnecting. With a
    // session that should have survived, the ledger already charged the loss.
    client::SubscribeRequest req;
    std::vector<scenario::SubscriptionSpec> subs;
    for (const auto& [filter, sub] : c.granted) {
      req.subscriptions.push_back(wireSubscription(sub));
      subs.push_back(sub);
    }
    c.granted.clear();
    auto r = c.conn->subscribe(std::move(req));
    if (r.ok()) c.pending_subscribes[r.packet_id] = {subs};
  }
  const std::size_t index = step_index_;
  Client* cp = &c;
  QTimer::singleShot(0, this, [this, cp, index] {
    if (finished_ || step_index_ != index || index >= scenario_.steps.size()) return;
    const auto& step = scenario_.steps[index];
    if (step_client(step.action) != cp->name) return;
    // A step deferred while the link was down starts now; a SUBSCRIBE/UNSUBSCRIBE whose
    // answer the cut swallowed is sent again (the broker replaces an identical
    // subscription, MQTT-3.8.4-3).
    if (deferred_step_ || step.kind() == StepKind::subscribe || step.kind() == StepKind::unsubscribe) {
      deferred_step_ = false;
      step_timer_->stop();
      check_ = nullptr;
      on_deadline_ = nullptr;
      beginStep(step);
    }
  });
}

}  // namespace mqtth::runner
