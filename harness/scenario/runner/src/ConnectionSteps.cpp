// Connection steps: connect, reconnect, disconnect, expect_connack, expect_disconnect; the
// client's CONNECT options and what a CONNACK or a closed connection changes.
#include "Execution.hpp"

#include <QTimer>

#include "ExecutionText.hpp"
#include "mqtth/runner/Probing.hpp"
#include "mqtth/runner/Runner.hpp"

namespace mqtth::runner {

namespace ev = client::event;

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
  c.conn->setTls(context_.tls);
  c.conn->connectToBroker(QString::fromStdString(host), port, opts);
  c.ever_connected = true;
}

void Execution::doConnect(Client& c, const scenario::ConnectOverrides& overrides,
                          const std::optional<scenario::ConnackExpectation>& expect,
                          std::optional<scenario::Duration> within) {
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
  c.healing = false;
  startConnection(c, overrides, opts);
  if (finished_) return;
  Client* cp = &c;
  const std::string target = brokerHost() + ":" + std::to_string(brokerPort());
  const std::string client_id = opts.client_id;
  wait(
      [this, cp, connacks_before, closes_before, errors_before, expect, target, client_id]() -> std::optional<bool> {
        if (cp->connacks.size() > connacks_before) {
          const auto code = cp->connacks[connacks_before].reason_code;
          if (code != 0 && (!expect || expect->reason_code.value_or(0) == 0)) {
            onUnaskedRefusal(*cp, client_id, code);
            return std::nullopt;
          }
          Check check = Check::expectation;
          auto problem = connackProblem(*cp, cp->connacks[connacks_before], expect, &check);
          if (!problem.empty()) {
            fail(problem, expect ? "CONNACK as in `expect`" : "a successful CONNACK", receivedSummary(*cp, mqtt::PacketType::connack),
                 check);
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
               cp->transport_errors.back(), Check::unreachable);
          return std::nullopt;
        }
        if (cp->closes.size() > closes_before) {
          const auto& cl = cp->closes[closes_before];
          fail("the connection closed before a CONNACK arrived (" + cl.cause +
                   (cl.disconnect_reason ? ", DISCONNECT " + hex_byte(*cl.disconnect_reason) : std::string()) + ")",
               "CONNACK", "connection closed", expect ? Check::expectation : Check::connect_not_accepted);
          return std::nullopt;
        }
        return std::nullopt;
      },
      within, [this, within, expect] {
        fail("no CONNACK within " + ms_text(within ? within->count() : scenario_.timeout.count()), "CONNACK", "nothing",
             expect ? Check::expectation : Check::connect_not_accepted);
      });
}

void Execution::doReconnect(Client& c, const scenario::ReconnectStep& s) {
  if (c.conn && c.conn->isSocketOpen()) c.conn->abort();
  if (c.raw) c.raw->abort();
  if (s.after.count() <= 0) {
    doConnect(c, s.overrides, s.expect, s.within);
    return;
  }
  // Waiting `after` is the step's purpose (e.g. let a will delay run), not a sleep
  // standing in for an event.
  Client* cp = &c;
  const auto overrides = s.overrides;
  const auto expect = s.expect;
  const auto within = s.within;
  const std::size_t index = step_index_;
  wait([] { return std::optional<bool>(); }, std::nullopt, nullptr);
  QTimer::singleShot(static_cast<int>(s.after.count()), this, [this, cp, overrides, expect, within, index] {
    if (finished_ || step_index_ != index) return;
    step_timer_->stop();
    doConnect(*cp, overrides, expect, within);
  });
}

void Execution::doDisconnect(Client& c, const scenario::DisconnectStep& s) {
  if (s.half_close) {
    halfCloseRaw(c);
    return;
  }
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
  auto props = stepProperties(c, s.properties);
  if (!props) return;
  const std::size_t closes_before = c.closes.size();
  c.conn->disconnectFromBroker(s.reason_code.value_or(mqtt::reason::normal_disconnection), std::move(*props));
  Client* cp = &c;
  wait([cp, closes_before]() -> std::optional<bool> {
         if (cp->closes.size() > closes_before || !cp->conn->isSocketOpen()) {
           cp->closes_consumed = cp->closes.size();  // our own close is not a broker disconnect
           return true;
         }
         return std::nullopt;
       },
       std::nullopt, [this] { fail("the connection did not close after DISCONNECT", {}, {}, Check::harness); });
}

// The way `mqtt-harness fuzz` ends a connection (docs/netfuzz.md): FIN after the last
// byte, so the broker reads everything and sees end-of-stream; its close ends the step. A
// broker that keeps the half-closed link open is not a failure here (the fuzzer counts it
// as a case timeout): after 2 s the link is reset and the scenario goes on.
void Execution::halfCloseRaw(Client& c) {
  if (c.conn && c.conn->isSocketOpen()) {
    fail("disconnect half_close: client " + c.name + " has a session connection; half_close ends a send_raw link", {}, {},
         Check::harness);
    return;
  }
  if (!c.raw || !c.raw->isOpen()) {
    completeStep();  // the broker closed it already
    return;
  }
  const std::size_t closes_before = c.closes.size();
  c.raw->halfClose();
  Client* cp = &c;
  wait([cp, closes_before]() -> std::optional<bool> {
         if (cp->closes.size() > closes_before || !cp->raw || !cp->raw->isOpen()) {
           cp->closes_consumed = cp->closes.size();  // asked for by the half-close: no broker disconnect
           return true;
         }
         return std::nullopt;
       },
       scenario::Duration(2000), [this, cp] {
         dropRaw(*cp);
         completeStep();
       });
}

void Execution::onUnaskedRefusal(Client& c, const std::string& client_id, std::uint8_t code) {
  // The first deviation is the refusal itself: the scenario ends here, as one root cause,
  // with no later step failing for want of the connection (docs/runner.md "A refused
  // CONNECT").
  const auto verdict = judge_connect_refusal(c.version, code, client_id);
  const std::string message = "broker refused CONNECT of client " + c.name + " (client id '" + client_id +
                              "'): CONNACK " + connack_code_text(c.version, code) +
                              (verdict.statement.empty() ? "" : " [" + verdict.statement + "]") + ": " + verdict.reason;
  if (verdict.status == report::Status::failed)
    fail(message, "a successful CONNACK", "CONNACK " + connack_code_text(c.version, code), Citation{verdict.statement, {}, {}});
  else if (verdict.status == report::Status::skipped)
    skip(message);
  else
    error(message);
}

std::string Execution::connackProblem(const Client& c, const ev::ConnackReceived& connack,
                                      const std::optional<scenario::ConnackExpectation>& expect, Check* check) const {
  const auto name = [&](std::uint8_t code) {
    auto n = mqtt::reason_code_name(code, mqtt::PacketType::connack, c.version);
    return hex_byte(code) + (n.empty() ? "" : " (" + std::string(n) + ")");
  };
  if (!expect) {
    if (connack.reason_code != 0) {
      if (check) *check = Check::connect_not_accepted;
      return "CONNACK refused the connection: " + name(connack.reason_code) + ", expected success";
    }
    return "";
  }
  if (expect->reason_code && *expect->reason_code != connack.reason_code)
    return "CONNACK reason code " + name(connack.reason_code) + ", expected " + name(*expect->reason_code);
  if (expect->session_present && *expect->session_present != connack.session_present) {
    if (check) {
      // Which Session Present rule: Clean Start 1 -> 0; resuming a stored session -> 1; else 0.
      const bool clean_start = c.last_overrides.clean_start.value_or(c.spec->clean_start);
      *check = clean_start ? Check::session_present_clean
               : *expect->session_present ? Check::session_present_resumed
                                          : Check::session_present_new;
    }
    return std::string("CONNACK session_present ") + (connack.session_present ? "true" : "false") + ", expected " +
           (*expect->session_present ? "true" : "false");
  }
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

ExpectProbe Execution::probe(const Client& c, const scenario::ExpectConnackStep& s, const ExpectClaims& claims) const {
  ExpectProbe p;
  for (std::size_t i = 0; i < c.received.size(); ++i) {
    const auto& r = c.received[i];
    if (r.consumed || r.type != mqtt::PacketType::connack || claims.packets.count({&c, i})) continue;
    // The next CONNACK is the one: it holds the expectation or refutes it.
    p.packet = i;
    ev::ConnackReceived ack;
    ack.session_present = r.match.value("session_present", false);
    ack.reason_code = static_cast<std::uint8_t>(r.match.value("reason_code", 0));
    p.why = connackProblem(c, ack, s.expect);
    if (p.why.empty() && !s.expect.properties.empty()) {
      Json props = r.match.contains("properties") ? r.match["properties"] : Json::object();
      std::string why;
      if (!json_subset_match(s.expect.properties, props, &why, "/properties")) p.why = "CONNACK properties: " + why;
    }
    p.state = p.why.empty() ? ExpectProbe::State::holds : ExpectProbe::State::refuted;
    return p;
  }
  return p;
}

void Execution::doExpectConnack(Client& c, const scenario::ExpectConnackStep& s) {
  Client* cp = &c;
  const auto* step = &s;
  wait(settleOnProbe(cp, step, [] { return std::string("CONNACK as expected"); }), s.within, [this, cp] { fail("no CONNACK arrived", "CONNACK", receivedSummary(*cp, std::nullopt)); });
}

ExpectProbe Execution::probe(const Client& c, const scenario::ExpectDisconnectStep& s, const ExpectClaims& claims) const {
  ExpectProbe p;
  for (std::size_t i = c.closes_consumed; i < c.closes.size(); ++i) {
    const auto& cl = c.closes[i];
    if (cl.by_client || claims.closes.count({&c, i})) continue;  // our own DISCONNECT/abort
    p.close = i;
    p.state = ExpectProbe::State::holds;
    // 3.1.1 servers never send DISCONNECT: closing is the whole answer.
    if (s.reason_code && c.version == mqtt::Version::v5) {
      if (!cl.disconnect_reason) {
        p.state = ExpectProbe::State::refuted;
        p.why = "the broker closed the connection without a DISCONNECT, expected DISCONNECT " + hex_byte(*s.reason_code) +
                " (" + cl.cause + ")";
      } else if (*cl.disconnect_reason != *s.reason_code) {
        p.state = ExpectProbe::State::refuted;
        p.why = "DISCONNECT reason code " + hex_byte(*cl.disconnect_reason) + ", expected " + hex_byte(*s.reason_code);
      }
    }
    return p;
  }
  return p;
}

void Execution::doExpectDisconnect(Client& c, const scenario::ExpectDisconnectStep& s) {
  Client* cp = &c;
  const auto* step = &s;
  // Refuted only when a reason code was expected (probe of ExpectDisconnectStep).
  wait(settleOnProbe(cp, step, [step] { return "DISCONNECT " + hex_byte(*step->reason_code) + " and close"; }), s.within, [this, cp, step] {
        const auto& e = *step;
        // After bytes the scenario wrote raw (a malformed packet, a protocol error), staying
        // open is the broker's failure to close (Statements.hpp close_after_violation).
        const bool wrote_raw = cp->raw_on_session || cp->raw;
        fail("the broker did not close the connection" + (e.within ? " within " + ms_text(e.within->count()) : std::string()),
             e.reason_code ? "DISCONNECT " + hex_byte(*e.reason_code) + " and close" : std::string("close"),
             "connection still open; " + receivedSummary(*cp, std::nullopt),
             wrote_raw ? Check::close_after_violation : Check::expectation);
      });
}

void Execution::onEvent(Client& c, const ev::ConnackReceived& e) {
  c.connacks.push_back(e);
  checkSessionPresent(c, e);
  if (e.reason_code < 0x80 && !e.session_present && c.session_may_be_absent) {
    ledger_.end_session(c.ledger_id);
    if (!c.healing) c.granted.clear();
  }
  c.resumed_at_ms.reset();
  if (e.reason_code < 0x80 && e.session_present && c.conn && c.conn->session().resends_owed() > 0)
    c.resumed_at_ms = elapsedMs();
  if (c.healing) onHealed(c, e);
}

void Execution::onEvent(Client& c, const ev::ConnectionClosed& e) {
  c.closes.push_back({e.by_client, e.disconnect_reason, std::string(e.cause)});
  // Not judged: the connection ended while a step still ran (the next one starts anew).
  c.resumed_at_ms.reset();
  noteSessionClosed(c);
  if (cutRun() && cut_fired_ && !e.by_client && c.name == context_.cut->client) onCutLinkClosed(c);
}

}  // namespace mqtth::runner
