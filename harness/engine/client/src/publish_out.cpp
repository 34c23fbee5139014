// Our PUBLISH: QoS 0 at once, QoS 1/2 into the in-flight store and out while the broker's
// Receive Maximum allows, with outbound topic aliases; the broker's PUBACK, PUBREC and
// PUBCOMP end the flows (or are reported as violations).
#include "ClientSessionImpl.hpp"

namespace mqtth::client {

using namespace detail;

CommandResult ClientSession::publish(PublishRequest request, TimeMs now) {
  Impl& s = *impl_;
  CommandResult r;
  if (request.qos > 2) return r.error = CommandError::invalid_argument, r;
  if (request.qos == 0) {
    if (!s.has_connection()) return r.error = CommandError::not_connected, r;
    mqtt::Packet packet{mqtt::Publish{}};
    auto& p = std::get<mqtt::Publish>(packet);
    p.qos = 0;
    p.retain = request.retain;
    p.topic = std::move(request.topic);
    p.payload = std::move(request.payload);
    if (s.v5()) p.properties = std::move(request.properties);
    r.message_id = s.next_message_id++;
    if (!s.write_publish(packet, request.topic_alias, now)) r.error = CommandError::encode_failed;
    return r;
  }
  const auto id = s.allocate_id();
  if (!id) return r.error = CommandError::no_packet_id_free, r;
  const std::uint32_t slot = s.new_slot();
  Outbound& o = s.slots[slot];
  auto& p = o.publish();
  p.dup = false;
  p.qos = request.qos;
  p.retain = request.retain;
  p.packet_id = *id;
  p.topic = std::move(request.topic);
  p.payload = std::move(request.payload);
  p.properties = s.v5() ? std::move(request.properties) : mqtt::Properties{};
  o.topic_alias = request.topic_alias;
  o.message_id = s.next_message_id++;
  o.seq = s.next_seq++;
  o.stage = Stage::queued;
  o.pubrel_sent = false;
  // Refuse what can never be encoded before it enters the store.
  if (!mqtt::encoded_size(o.packet, s.wire_version()).ok()) {
    p.payload = std::string();
    o.stage = Stage::free;
    s.free_slots.push_back(slot);
    --s.next_message_id;
    --s.next_seq;
    return r.error = CommandError::encode_failed, r;
  }
  s.link_id(slot);
  ++s.outbound_count;
  s.queue.push_back(slot);
  s.pump(now);
  r.packet_id = *id;
  r.message_id = o.message_id;
  return r;
}

// Decides the alias for one send on this connection and encodes with topic omitted when the
// broker already knows the mapping. `publish` is restored before returning.
bool ClientSession::Impl::write_publish(mqtt::Packet& packet, std::uint16_t explicit_alias, TimeMs now) {
  auto& p = std::get<mqtt::Publish>(packet);
  std::uint16_t alias = explicit_alias;
  if (v5() && alias == 0 && config.auto_topic_alias && broker_topic_alias_maximum > 0) {
    auto it = auto_aliases.find(p.topic);
    if (it != auto_aliases.end()) {
      alias = it->second;
    } else if (next_auto_alias <= broker_topic_alias_maximum) {
      alias = next_auto_alias++;
      auto_aliases.emplace(p.topic, alias);
    }
  }
  if (!v5() || alias == 0) return write(packet, now);

  p.properties.erase(mqtt::PropertyId::topic_alias);
  p.properties.add_number(mqtt::PropertyId::topic_alias, alias);
  if (outbound_aliases.size() <= alias) outbound_aliases.resize(std::size_t(alias) + 1);
  const bool known = outbound_aliases[alias] == p.topic && !p.topic.empty();
  bool ok;
  if (known) {
    std::string topic;
    topic.swap(p.topic);
    ok = write(packet, now);
    topic.swap(p.topic);
  } else {
    outbound_aliases[alias] = p.topic;
    ok = write(packet, now);
  }
  p.properties.erase(mqtt::PropertyId::topic_alias);
  return ok;
}

std::size_t ClientSession::Impl::send_window() const {
  if (v5()) {
    return config.max_in_flight == 0 ? broker_receive_maximum : std::min(config.max_in_flight, broker_receive_maximum);
  }
  return config.max_in_flight == 0 ? 20 : config.max_in_flight;
}

// Sends queued QoS 1/2 publishes while the broker's window has room [MQTT-3.3.4-7].
void ClientSession::Impl::pump(TimeMs now) {
  if (state != SessionState::connected) return;
  while (!queue.empty()) {
    if (!misbehave.ignore_receive_maximum && outbound_in_flight >= send_window()) break;
    const std::uint32_t s = queue.front();
    queue.pop_front();
    Outbound& o = slots[s];
    if (o.stage != Stage::queued) continue;
    o.publish().dup = false;
    o.stage = Stage::sent;
    ++outbound_in_flight;
    write_publish(o.packet, o.topic_alias, now);
  }
}

void ClientSession::Impl::completed(std::uint32_t slot, mqtt::PacketType ack, std::uint8_t reason_code, TimeMs now) {
  Outbound& o = slots[slot];
  event::PublishCompleted e;
  e.packet_id = o.publish().packet_id;
  e.message_id = o.message_id;
  e.qos = o.publish().qos;
  e.ack = ack;
  e.reason_code = reason_code;
  e.at = now;
  emit(std::move(e));
  free_slot(slot);
  pump(now);
}

// An acknowledgement that matches no PUBLISH of ours may answer a raw one: then the answer
// must be the one its QoS asks for [MQTT-3.3.4-1], and a PUBLISH the broker had to refuse
// (packet id 0) must get no answer at all [MQTT-4.8.0-1 / 5.0 MQTT-4.13.1-1].
bool ClientSession::Impl::answers_raw(mqtt::PacketType type, std::uint16_t id, std::uint64_t start, TimeMs now) {
  const auto raw = take_raw_answered(type, id);
  if (!raw) return false;
  const std::string what = std::string(mqtt::to_string(type)) + " for packet id " + std::to_string(id);
  if (raw->refusable) {
    answered_refusable(type, id, raw->type, raw->broke, start, now);
  } else if (raw->type == mqtt::PacketType::publish && (type == mqtt::PacketType::puback) != (raw->qos == 1)) {
    report(Finding::ack_wrong_for_qos, what + " answers a QoS " + std::to_string(raw->qos) + " PUBLISH", type, start,
           now);
  }
  return true;
}

void ClientSession::Impl::on_packet(const mqtt::PubackView& p, std::uint64_t start, TimeMs now) {
  before_connack_check(mqtt::PacketType::puback, start, now);
  const std::uint32_t s = find_slot(p.packet_id, Stage::sent, Stage::released);
  if (s == kNoSlot) {
    if (!answers_raw(mqtt::PacketType::puback, p.packet_id, start, now)) {
      report(Finding::ack_unknown_id,
             "PUBACK for packet id " + std::to_string(p.packet_id) + " that has no QoS 1 PUBLISH in flight",
             mqtt::PacketType::puback, start, now);
    }
    return;
  }
  if (slots[s].publish().qos != 1) {  // QoS 2 is answered with PUBREC (RabbitMQ 3.10 sends PUBACK)
    report(Finding::ack_wrong_for_qos, "PUBACK for packet id " + std::to_string(p.packet_id) + " of a QoS 2 PUBLISH",
           mqtt::PacketType::puback, start, now);
    return;
  }
  if (p.packet_id == 0) {
    answered_refusable(mqtt::PacketType::puback, 0, mqtt::PacketType::publish, sid("MQTT-2.2.1-3", "MQTT-2.3.1-1"),
                       start, now);
  }
  completed(s, mqtt::PacketType::puback, p.reason_code, now);
}

void ClientSession::Impl::on_packet(const mqtt::PubrecView& p, std::uint64_t start, TimeMs now) {
  before_connack_check(mqtt::PacketType::pubrec, start, now);
  std::uint32_t s = find_slot(p.packet_id, Stage::sent, Stage::released);
  if (s != kNoSlot && slots[s].publish().qos != 2) {
    report(Finding::ack_wrong_for_qos, "PUBREC for packet id " + std::to_string(p.packet_id) + " of a QoS 1 PUBLISH",
           mqtt::PacketType::pubrec, start, now);
    return;
  }
  if (s == kNoSlot) {
    if (answers_raw(mqtt::PacketType::pubrec, p.packet_id, start, now)) return;  // the raw flow's own business
    report(Finding::ack_unknown_id,
           "PUBREC for packet id " + std::to_string(p.packet_id) + " that has no QoS 2 PUBLISH in flight",
           mqtt::PacketType::pubrec, start, now);
    if (v5()) {  // 4.3.3: answer PUBREL 0x92 (Packet Identifier not found)
      mqtt::Pubrel rel;
      rel.packet_id = p.packet_id;
      rel.reason_code = mqtt::reason::packet_identifier_not_found;
      write(mqtt::Packet(std::move(rel)), now);
    }
    return;
  }
  if (p.packet_id == 0 && slots[s].stage == Stage::sent) {
    answered_refusable(mqtt::PacketType::pubrec, 0, mqtt::PacketType::publish, sid("MQTT-2.2.1-3", "MQTT-2.3.1-1"),
                       start, now);
  }
  if (p.reason_code >= 0x80) {  // refused: acknowledged, never retransmitted [MQTT-4.4.0-2]
    completed(s, mqtt::PacketType::pubrec, p.reason_code, now);
    return;
  }
  Outbound& o = slots[s];
  if (o.stage == Stage::sent) {  // the first PUBREC; a repeated one accepts nothing new
    event::PublishAccepted e;
    e.packet_id = p.packet_id;
    e.message_id = o.message_id;
    e.at = now;
    emit(std::move(e));
  }
  o.stage = Stage::released;
  if (take_count(misbehave.skip_pubrel)) return;
  mqtt::Pubrel rel;
  rel.packet_id = p.packet_id;
  write(mqtt::Packet(std::move(rel)), now);
  o.pubrel_sent = true;
}

void ClientSession::Impl::on_packet(const mqtt::PubcompView& p, std::uint64_t start, TimeMs now) {
  before_connack_check(mqtt::PacketType::pubcomp, start, now);
  const std::string what = "PUBCOMP for packet id " + std::to_string(p.packet_id);
  const std::uint32_t s = find_slot(p.packet_id, Stage::released);
  if (s != kNoSlot && slots[s].pubrel_sent) {
    completed(s, mqtt::PacketType::pubcomp, p.reason_code, now);
    return;
  }
  if (s == kNoSlot) {
    // A PUBCOMP where PUBREC or PUBACK was due is the wrong answer to the PUBLISH; one for an
    // id the client sent no PUBREL for breaks the receiver's half of the QoS 2 flow.
    if (const std::uint32_t sent = find_slot(p.packet_id, Stage::sent); sent != kNoSlot) {
      report(Finding::ack_wrong_for_qos,
             what + " answers a QoS " + std::to_string(slots[sent].publish().qos) + " PUBLISH" +
                 (slots[sent].publish().qos == 2 ? " before any PUBREC" : ""),
             mqtt::PacketType::pubcomp, start, now);
      return;
    }
    if (answers_raw(mqtt::PacketType::pubcomp, p.packet_id, start, now)) return;
  }
  report(Finding::pubcomp_without_pubrel,
         what + (s == kNoSlot ? ", which has no QoS 2 PUBLISH in flight" : ", whose PUBREL the client has not sent"),
         mqtt::PacketType::pubcomp, start, now);
}

}  // namespace mqtth::client
