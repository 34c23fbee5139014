// Publish and delivery steps: publish, send_raw, expect_delivery; and the QoS ledger fed
// from what the clients publish and receive (docs/reports.md).
#include "Execution.hpp"

#include <QByteArray>
#include <QTimer>

#include <algorithm>

#include "ExecutionText.hpp"

namespace mqtth::runner {

namespace ev = client::event;

namespace {

// After the deliveries an expect_delivery waits for have all arrived, a short quiet period
// catches copies still in flight (a duplicate sent right behind the original).
constexpr std::int64_t kDeliverySettleMs = 50;

ledger::Guarantee to_ledger(scenario::Guarantee g) {
  switch (g) {
    case scenario::Guarantee::at_most_once: return ledger::Guarantee::at_most_once;
    case scenario::Guarantee::at_least_once: return ledger::Guarantee::at_least_once;
    case scenario::Guarantee::exactly_once: return ledger::Guarantee::exactly_once;
  }
  return ledger::Guarantee::at_least_once;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// publish, send_raw

void Execution::doPublish(Client& c, const scenario::PublishStep& s) {
  if (!c.conn) {
    fail("client " + c.name + " is not connected (add a connect step before publish)", {}, {}, Check::scenario_problem);
    return;
  }
  const auto base = stepProperties(c, s.properties);
  if (!base) return;
  c.awaited.clear();
  {
    const FixedPacketId fixed(*c.conn, s.packet_id);
    for (std::uint32_t seq = 1; seq <= s.count && !finished_; ++seq) {
      const std::string topic = scenario::expand_seq(s.topic, seq);
      const std::string user_payload = s.payload_is_template ? scenario::expand_seq(s.payload, seq) : s.payload;
      // An empty retained payload deletes the retained message (3.3.1.3): it must stay
      // empty, so it carries no ledger identity and is not counted as a message.
      const bool untracked = s.retain && user_payload.empty();
      mqtt::Properties props = *base;
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
          fail("cannot send PUBLISH: " + std::string(client::to_string(r.error)), {}, {}, Check::harness);
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
        fail("cannot send PUBLISH " + std::to_string(seq) + " of " + std::to_string(s.count) + ": " +
                 std::string(client::to_string(r.error)),
             {}, {}, Check::harness);
        return;
      }
      if (s.qos == 0) {
        if (id) ledger_.accepted(*id);
      } else {
        if (id) c.in_flight[r.message_id] = *id;
        if (s.wait) c.awaited.insert(r.message_id);
      }
    }
  }
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
              s.qos == 1 ? "PUBACK" : "PUBREC and PUBCOMP", receivedSummary(*cp, std::nullopt), Check::ack_missing);
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
          fail("cannot connect to the broker at " + target + ": " + cp->transport_errors.back(), {}, {},
               Check::unreachable);
          return std::nullopt;
        }
        if (!cp->raw->isOpen() && cp->raw->pendingBytes() == 0) return true;
        return std::nullopt;
      },
      std::nullopt, [this, target] { fail("no TCP connection to " + target, {}, {}, Check::unreachable); });
}

// ---------------------------------------------------------------------------------------
// The ledger

void Execution::notePublishSent(Client& c, const mqtt::Publish& pub, const ledger::MessageId& id) {
  if (pub.qos == 0) return;
  // A QoS 1/2 PUBLISH this client already wrote once, again with DUP=1 (the session
  // re-sends after reconnecting, MQTT-4.4.0-1): the broker may forward a QoS 1 message
  // twice, which the ledger then excuses (docs/reports.md).
  const auto key = std::make_pair(id.stream, id.seq);
  if (!c.published.insert(key).second && pub.dup) ledger_.resent(id.stream, id.seq);
}

void Execution::onEvent(Client& c, const ev::MessageDelivered& e) {
  // A copy the session already reported as a violation (a QoS 2 PUBLISH re-sent after
  // PUBREL) carries that violation's statement: its duplicate is a consequence, not new.
  ledger::DeliveryInfo info{e.qos, e.dup, e.retain, e.consequence_of};
  ledger_.delivered(c.ledger_id, std::string_view(e.payload), info);
}

void Execution::onEvent(Client& c, const ev::PublishAccepted& e) {
  // QoS 2: the broker owns the message from its PUBREC on (ledger rule, docs/reports.md).
  auto it = c.in_flight.find(e.message_id);
  if (it != c.in_flight.end() && !c.transient_session) ledger_.accepted(it->second);
}

void Execution::onEvent(Client& c, const ev::PublishCompleted& e) {
  auto it = c.in_flight.find(e.message_id);
  if (it != c.in_flight.end()) {
    if (e.reason_code < 0x80) ledger_.accepted(it->second);
    c.in_flight.erase(it);
  }
  c.awaited.erase(e.message_id);
}

void Execution::onEvent(Client& c, const ev::PublishAbandoned& e) {
  c.in_flight.erase(e.message_id);
  c.awaited.erase(e.message_id);
}

// ---------------------------------------------------------------------------------------
// expect_delivery

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
    // A resumed session that did not re-send what it owed is the root cause of what this
    // check finds missing: noted first (MQTT-4.4.0-1).
    for (auto& c : clients_) checkResumedFlows(*c, timed_out);
    if (finished_) return;
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
    std::string statement;  // the first violated row's (the ledger knows the scenario's version)
    std::vector<std::string> see_also;
    std::uint64_t delivered = 0;
    for (const auto& r : rs) {
      delivered += r.delivered;
      if (r.verdict == ledger::Verdict::violated) {
        problems += (problems.empty() ? "" : "; ") + r.topic + " qos" + std::to_string(r.publish_qos) + ": sent " +
                    std::to_string(r.sent) + ", delivered " + std::to_string(r.delivered) + ", lost " + std::to_string(r.lost) +
                    ", duplicated " + std::to_string(r.duplicated) + ", reordered " + std::to_string(r.reordered) +
                    (r.reason.empty() ? "" : " — " + r.reason);
        if (statement.empty()) {
          statement = r.statement;
          see_also = r.see_also;
        }
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
      // The ledger's statement; a verdict that names none (a guarantee mismatch, a QoS 0
      // duplicate) falls back to the step's check like any other expectation.
      auto citation = cite_finding(statement, std::move(see_also), scenario_);
      fail(what + " violated: " + problems, what, problems, citation ? *citation : cite(Check::expectation, scenario_, currentStep()));
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
           "all publishes acknowledged", "still in flight", Check::ack_missing);
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

}  // namespace mqtth::runner
