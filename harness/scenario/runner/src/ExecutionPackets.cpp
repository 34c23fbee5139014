// Packets both ways: every session event is dispatched here; packets go into the trace
// and (from the broker) into the client's received list as match JSON; the raw link of
// send_raw (RawConnection) is wired here.
#include "Execution.hpp"

#include <QString>

#include "ExecutionText.hpp"

namespace mqtth::runner {

namespace ev = client::event;

namespace {

constexpr std::size_t kRingSize = 10;

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

}  // namespace

void Execution::onClientEvent(Client& c, const client::Event& event) {
  if (finished_) return;
  std::visit([&](const auto& e) { onEvent(c, e); }, event);
  evaluateSoon();
}

void Execution::onEvent(Client& c, const ev::PacketReceived& e) { onPacketReceived(c, e.packet, c.version, e.raw); }

void Execution::onEvent(Client& c, const ev::PacketSent& e) {
  // Bytes a send_raw wrote on the session's link that are no packet: MALFORMED when
  // their first byte names a packet type, else RAW.
  recordSent(c, e, e.type ? "MALFORMED" : "RAW");
  if (const auto* pub = e.packet ? std::get_if<mqtt::Publish>(&*e.packet) : nullptr)
    if (auto id = identity(*e.packet)) notePublishSent(c, *pub, *id);
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
    if (j.contains("topic") && j["topic"].is_string()) {
      std::optional<TopicRewrite> rewrite;
      j["topic"] = context_.prefix.strip_topic(p->topic, &rewrite);
      if (rewrite && context_.on_topic_rewrite) context_.on_topic_rewrite(*rewrite);
    }
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
  ReceivedPacket r;
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

// ---------------------------------------------------------------------------------------
// Raw mode

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
           "", "", citeViolation(spec, {}));
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
  c.raw->setTls(context_.tls);
  c.raw->connectToHost(QString::fromStdString(host), port);
}

void Execution::onRawPacket(Client& c, const client::RawPacket& p) {
  if (finished_) return;
  if (!p.packet) {
    recordPacket(c, report::Direction::from_broker, "MALFORMED", Json(), p.raw);
    std::string spec(p.error.spec);
    // Awaiting the broker's close, a packet this version cannot read is first of all no
    // close: a broker that accepted what it had to refuse (a CONNECT of another protocol
    // level) answers in its own version. The close the step expects is what it broke.
    const scenario::Step* step = currentStep();
    if (spec.empty() && step && step_client(step->action) == c.name &&
        std::holds_alternative<scenario::ExpectDisconnectStep>(step->action)) {
      fail("the broker did not close the connection: " + c.name + " received a packet MQTT " +
               std::string(mqtt::to_string(c.version)) + " cannot read instead (stream offset " +
               std::to_string(p.stream_offset) + ", byte " + std::to_string(p.error.offset) +
               "): " + std::string(p.error.message),
           "close", mqtt::to_hex(p.raw), Check::close_after_violation);
      return;
    }
    fail("broker violation" + (spec.empty() ? std::string() : " [" + spec + "]") + ": " + c.name +
             " received a malformed packet at stream offset " + std::to_string(p.stream_offset) + " (byte " +
             std::to_string(p.error.offset) + "): " + std::string(p.error.message),
         "", mqtt::to_hex(p.raw), citeViolation(spec, {}));
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

}  // namespace mqtth::runner
