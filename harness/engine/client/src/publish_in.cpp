// The broker's PUBLISH: topic alias resolution, delivery (QoS 2 once per packet id until
// PUBREL), PUBACK / PUBREC, PUBREL answered with PUBCOMP, and the checks on the broker:
// Receive Maximum, packet id reuse, re-sends after PUBREL.
#include "ClientSessionImpl.hpp"

namespace mqtth::client {

using namespace detail;

void ClientSession::Impl::on_packet(const mqtt::PublishView& p, std::uint64_t start, TimeMs now) {
  before_connack_check(mqtt::PacketType::publish, start, now);
  // Topic alias resolution (3.3.2.3.4): aliases are per connection [MQTT-3.3.2-7].
  std::string_view topic = p.topic;
  if (v5()) {
    if (const auto alias_prop = p.properties.find(mqtt::PropertyId::topic_alias)) {
      const std::uint32_t alias = alias_prop->number;
      const std::uint16_t our_max = options.topic_alias_maximum.value_or(0);
      if (alias == 0 || alias > our_max) {
        const std::string_view spec = alias == 0 ? "MQTT-3.3.2-8" : (our_max == 0 ? "MQTT-3.1.2-27" : "MQTT-3.3.2-11");
        violation(spec, "broker used Topic Alias " + std::to_string(alias) + " (client's Topic Alias Maximum is " +
                            std::to_string(our_max) + ")",
                  mqtt::PacketType::publish, start, now, config.close_on_violation);
        if (config.close_on_violation) {
          abandon_connection(mqtt::reason::topic_alias_invalid, now);
          return;
        }
        if (topic.empty()) return;  // nothing to deliver to
      } else if (!topic.empty()) {
        if (inbound_aliases.size() <= alias) inbound_aliases.resize(std::size_t(alias) + 1);
        inbound_aliases[alias].assign(topic);
      } else if (alias < inbound_aliases.size() && !inbound_aliases[alias].empty()) {
        topic = inbound_aliases[alias];
      } else {
        violation("", "broker sent PUBLISH with an empty topic and Topic Alias " + std::to_string(alias) +
                          " that has no mapping on this connection (3.3.2.3.4: Protocol Error)",
                  mqtt::PacketType::publish, start, now, config.close_on_violation);
        if (config.close_on_violation) {
          abandon_connection(mqtt::reason::protocol_error, now);
          return;
        }
        acknowledge_unresolvable(p, now);
        return;
      }
    }
  }

  if (p.qos == 0) {
    deliver(p, topic, now);
    return;
  }
  const std::uint16_t id = p.packet_id;
  const Inbound st = inbound_of(id);
  const auto window_check = [&] {
    const std::size_t window = v5() ? options.receive_maximum.value_or(65535) : 65535;
    if (v5() && inbound_in_flight >= window) {
      violation("MQTT-3.3.4-9", "broker sent a QoS " + std::to_string(p.qos) + " PUBLISH beyond the client's Receive Maximum " +
                                    std::to_string(window) + " (" + std::to_string(inbound_in_flight) + " unacknowledged)",
                mqtt::PacketType::publish, start, now);
    }
  };
  const auto resent_after_pubrel = [&] {
    violation(sid("MQTT-4.3.3-6", "MQTT-4.3.3-1"),
              "broker re-sent QoS 2 PUBLISH (DUP=1) on packet id " + std::to_string(id) +
                  " after PUBREL: the message is delivered a second time",
              mqtt::PacketType::publish, start, now);
  };
  const auto id_reuse = [&] {
    violation(sid("MQTT-2.2.1-4", "MQTT-2.3.1-4"),
              "broker sent a new PUBLISH (DUP=0) on packet id " + std::to_string(id) + " while that id is still in flight",
              mqtt::PacketType::publish, start, now);
  };

  if (p.qos == 1) {
    if (st == Inbound::qos1_unacked) {
      if (!p.dup) id_reuse();
    } else {
      if (st == Inbound::qos2_received || st == Inbound::qos2_comp_withheld) id_reuse();
      window_check();
    }
    deliver(p, topic, now);
    if (take_count(misbehave.withhold_puback)) {
      set_inbound(id, Inbound::qos1_unacked);
    } else {
      set_inbound(id, Inbound::none);
      mqtt::Puback ack;
      ack.packet_id = id;
      write(mqtt::Packet(std::move(ack)), now);
    }
    return;
  }

  // QoS 2 (4.3.3, method B: the packet id is stored until PUBREL).
  bool deliver_it = true;
  switch (st) {
    case Inbound::qos2_received:
      if (p.dup) {
        deliver_it = false;  // legitimate re-send: PUBREC again, no second delivery [MQTT-4.3.3-10]
      } else {
        id_reuse();
        deliver_it = false;
      }
      break;
    case Inbound::qos2_released:
      // A DUP=1 copy of a message this id already carried and released: the broker re-sent
      // the PUBLISH after PUBREL. Matching the content (not just the id) keeps a long-ago
      // use of the id from being mistaken for this one.
      if (p.dup && recently_received(id, content_hash(topic, p.payload))) resent_after_pubrel();
      window_check();
      break;
    case Inbound::qos2_comp_withheld:
      if (p.dup) {
        resent_after_pubrel();
      } else {
        id_reuse();
      }
      break;
    case Inbound::qos1_unacked:
      id_reuse();
      break;
    case Inbound::none:
      window_check();
      break;
  }
  if (deliver_it) {
    deliver(p, topic, now);
    remember_received(id, content_hash(topic, p.payload));
  }
  set_inbound(id, Inbound::qos2_received);
  if (!take_count(misbehave.withhold_pubrec)) {
    mqtt::Pubrec rec;
    rec.packet_id = id;
    write(mqtt::Packet(std::move(rec)), now);
  }
}

// A PUBLISH we cannot deliver (unresolvable alias) is still acknowledged so the flow ends.
// 0x94 Topic Alias invalid is a DISCONNECT reason only; PUBACK/PUBREC allow 0x90 Topic Name
// invalid [MQTT-3.4.2-1, MQTT-3.5.2-1] (found by fuzz target client_session).
void ClientSession::Impl::acknowledge_unresolvable(const mqtt::PublishView& p, TimeMs now) {
  if (p.qos == 1) {
    mqtt::Puback ack;
    ack.packet_id = p.packet_id;
    ack.reason_code = mqtt::reason::topic_name_invalid;
    write(mqtt::Packet(std::move(ack)), now);
  } else if (p.qos == 2) {
    mqtt::Pubrec rec;
    rec.packet_id = p.packet_id;
    rec.reason_code = mqtt::reason::topic_name_invalid;
    write(mqtt::Packet(std::move(rec)), now);
  }
}

void ClientSession::Impl::deliver(const mqtt::PublishView& p, std::string_view topic, TimeMs now) {
  event::MessageDelivered e;
  e.topic.assign(topic);
  e.payload.assign(p.payload);
  e.qos = p.qos;
  e.retain = p.retain;
  e.dup = p.dup;
  e.packet_id = p.packet_id;
  if (!p.properties.empty()) e.properties = own_properties(p.properties);
  e.at = now;
  emit(std::move(e));
}

void ClientSession::Impl::on_packet(const mqtt::PubrelView& p, std::uint64_t start, TimeMs now) {
  before_connack_check(mqtt::PacketType::pubrel, start, now);
  const Inbound st = inbound_of(p.packet_id);
  std::uint8_t reason = mqtt::reason::success;
  if (st == Inbound::qos2_received || st == Inbound::qos2_comp_withheld) {
    if (take_count(misbehave.withhold_pubcomp)) {
      set_inbound(p.packet_id, Inbound::qos2_comp_withheld);
      return;
    }
  } else if (st != Inbound::qos2_released) {
    // Not necessarily a violation: after a reconnect the broker re-sends PUBREL for a
    // message whose PUBCOMP it never saw. 5.0 answers 0x92 when the id is unknown.
    if (v5()) reason = mqtt::reason::packet_identifier_not_found;
  }
  set_inbound(p.packet_id, Inbound::qos2_released);
  mqtt::Pubcomp comp;
  comp.packet_id = p.packet_id;
  comp.reason_code = reason;
  write(mqtt::Packet(std::move(comp)), now);
}

}  // namespace mqtth::client
