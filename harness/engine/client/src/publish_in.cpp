// The broker's PUBLISH: topic alias resolution, delivery (QoS 2 once per packet id until
// PUBREL), PUBACK / PUBREC, PUBREL answered with PUBCOMP, and the checks on the broker:
// Receive Maximum, packet id reuse, re-sends without DUP or after PUBREL, PUBREL for an id
// that carried nothing, and the flows a resumed session owes [MQTT-4.4.0-1].
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
      // (Topic Alias 0 never gets here: the codec refuses it [MQTT-3.3.2-8].)
      if (alias > our_max) {
        report(our_max == 0 ? Finding::topic_alias_not_allowed : Finding::topic_alias_above_maximum,
               "broker used Topic Alias " + std::to_string(alias) + " (client's Topic Alias Maximum is " +
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
        report(Finding::topic_alias_unmapped,
               "broker sent PUBLISH with an empty topic and Topic Alias " + std::to_string(alias) +
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
  resend_arrived(id);
  // The ordinary path (a new id) builds no text and looks nothing up.
  const auto content = [&] { return content_hash(topic, p.payload, p.qos); };
  // Is this the message the id carried last (a re-send) or another one? Unknown when the
  // ring has forgotten the id; then the DUP flag is taken at its word.
  enum class Same { yes, no, unknown };
  const auto same_as_last = [&] {
    const auto last = st == Inbound::none ? std::nullopt : last_received(id);
    return !last ? Same::unknown : (*last == content() ? Same::yes : Same::no);
  };
  const auto qos_text = [&] { return "QoS " + std::to_string(p.qos) + " PUBLISH on packet id " + std::to_string(id); };
  const auto window_check = [&] {
    const std::size_t window = v5() ? options.receive_maximum.value_or(65535) : 65535;
    if (v5() && inbound_in_flight >= window) {
      report(Finding::receive_maximum_exceeded,
             "broker sent a " + qos_text() + " beyond the client's Receive Maximum " + std::to_string(window) + " (" +
                 std::to_string(inbound_in_flight) + " unacknowledged)",
             mqtt::PacketType::publish, start, now);
    }
  };
  // On an id still in flight: the same message again must carry DUP 1 [MQTT-3.3.1-1]; another
  // message must not use the id [3.1.1 MQTT-2.3.1-4 / 5.0 MQTT-2.2.1-4].
  const auto check_in_flight = [&] {
    const Same same = same_as_last();
    if (same == Same::yes) {
      if (!p.dup) {
        report(Finding::redelivery_without_dup,
               "broker sent the " + qos_text() + " again (same topic, payload and QoS, the id still in flight) with DUP 0",
               mqtt::PacketType::publish, start, now);
      }
    } else if (same == Same::no || !p.dup) {
      report(Finding::packet_id_in_use,
             "broker sent a new message (" + qos_text() + ", DUP " + (p.dup ? "1" : "0") +
                 ") while that id still carries an unfinished one",
             mqtt::PacketType::publish, start, now);
    }
  };
  // QoS 2: once the sender sent PUBREL it must not send the PUBLISH again. The client takes
  // it as a new message (after PUBCOMP it must: 3.1.1 MQTT-4.3.3-2 / 5.0 MQTT-4.3.3-12), so it
  // is delivered a second time: that duplicate is marked as this violation's consequence.
  std::string_view consequence;
  const auto after_pubrel = [&] {
    report(Finding::publish_after_pubrel,
           "broker sent the " + qos_text() + " again (same topic, payload and QoS, DUP " + (p.dup ? "1" : "0") +
               ") after it had sent PUBREL for it: the message is delivered a second time",
           mqtt::PacketType::publish, start, now);
    consequence = statement(Finding::publish_after_pubrel, version);
  };

  if (p.qos == 1) {
    if (st == Inbound::none || st == Inbound::qos2_released) {
      window_check();
    } else {
      check_in_flight();
    }
    deliver(p, topic, now);  // at least once: a re-send is delivered again, `dup` tells
    if (take_count(misbehave.withhold_puback)) {
      set_inbound(id, Inbound::qos1_unacked);
      remember_received(id, content());
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
      // Until PUBREL: PUBREC again, no second delivery [3.1.1 MQTT-4.3.3-2 / 5.0 MQTT-4.3.3-10].
      deliver_it = false;
      check_in_flight();
      break;
    case Inbound::qos2_released:
      // After PUBCOMP the id is free; the same message on it is the broker re-sending after
      // its PUBREL. Matching the content (not just the id) tells it from a new message.
      if (same_as_last() == Same::yes) after_pubrel();
      window_check();
      break;
    case Inbound::qos2_comp_withheld:
      if (const Same same = same_as_last(); same == Same::yes || (same == Same::unknown && p.dup)) {
        after_pubrel();
      } else {
        check_in_flight();
      }
      break;
    case Inbound::qos1_unacked:
      check_in_flight();
      break;
    case Inbound::none:
      window_check();
      break;
  }
  if (deliver_it) {
    deliver(p, topic, now, consequence);
    remember_received(id, content());
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

void ClientSession::Impl::deliver(const mqtt::PublishView& p, std::string_view topic, TimeMs now,
                                  std::string_view consequence_of) {
  event::MessageDelivered e;
  e.topic.assign(topic);
  e.payload.assign(p.payload);
  e.qos = p.qos;
  e.retain = p.retain;
  e.dup = p.dup;
  e.packet_id = p.packet_id;
  if (!p.properties.empty()) e.properties = own_properties(p.properties);
  e.consequence_of = consequence_of;
  e.at = now;
  emit(std::move(e));
}

void ClientSession::Impl::on_packet(const mqtt::PubrelView& p, std::uint64_t start, TimeMs now) {
  before_connack_check(mqtt::PacketType::pubrel, start, now);
  const Inbound st = inbound_of(p.packet_id);
  resend_arrived(p.packet_id);
  std::uint8_t reason = mqtt::reason::success;
  if (st == Inbound::qos2_received || st == Inbound::qos2_comp_withheld) {
    if (take_count(misbehave.withhold_pubcomp)) {
      set_inbound(p.packet_id, Inbound::qos2_comp_withheld);
      return;
    }
  } else if (st != Inbound::qos2_released) {
    // A PUBREL re-sent for a message whose PUBCOMP the broker never saw finds the id
    // released (that state survives connections). Otherwise the id carried no QoS 2
    // PUBLISH: the sender's PUBREL must repeat the PUBLISH's id [3.1.1 MQTT-4.3.3-1 /
    // 5.0 MQTT-4.3.3-4] -- unless it answers a raw PUBREC, or the session did not see its
    // whole life (a resumed session begun by another client). 5.0 answers 0x92 either way.
    if (!take_raw_answered(mqtt::PacketType::pubrel, p.packet_id) && (history_known || st == Inbound::qos1_unacked)) {
      report(Finding::pubrel_unknown_id,
             "broker sent PUBREL for packet id " + std::to_string(p.packet_id) +
                 (st == Inbound::qos1_unacked ? ", which carries a QoS 1 PUBLISH" : ", which carried no QoS 2 PUBLISH"),
             mqtt::PacketType::pubrel, start, now);
    }
    if (v5()) reason = mqtt::reason::packet_identifier_not_found;
  }
  set_inbound(p.packet_id, Inbound::qos2_released);
  mqtt::Pubcomp comp;
  comp.packet_id = p.packet_id;
  comp.reason_code = reason;
  write(mqtt::Packet(std::move(comp)), now);
}

// Session Present 1: every inbound flow left unfinished must be resumed by the broker with
// the PUBLISH or the PUBREL [MQTT-4.4.0-1]. A released id (PUBCOMP sent) owes nothing: the
// broker re-sends PUBREL only if the PUBCOMP was lost.
void ClientSession::Impl::note_resumed_flows() {
  owed_resends.clear();
  if (inbound.empty() || inbound_in_flight == 0) return;
  for (std::size_t id = 0; id < inbound.size(); ++id) {
    const Inbound st = inbound[id];
    if (st == Inbound::qos1_unacked || st == Inbound::qos2_received || st == Inbound::qos2_comp_withheld) {
      owed_resends.push_back(static_cast<std::uint16_t>(id));
    }
  }
}

void ClientSession::Impl::resend_arrived(std::uint16_t id) {
  if (!owed_resends.empty()) std::erase(owed_resends, id);
}

std::size_t ClientSession::report_resends_missing(TimeMs now) { return impl_->report_resends_missing(now); }
std::size_t ClientSession::resends_owed() const noexcept { return impl_->owed_resends.size(); }

std::size_t ClientSession::Impl::report_resends_missing(TimeMs now) {
  std::size_t reported = 0;
  for (const std::uint16_t id : owed_resends) {
    std::string what;
    switch (inbound_of(id)) {
      case Inbound::qos1_unacked: what = "its QoS 1 PUBLISH had no PUBACK: the PUBLISH"; break;
      case Inbound::qos2_received:
        what = "its QoS 2 PUBLISH had a PUBREC but no PUBREL yet: the PUBLISH or the PUBREL";
        break;
      case Inbound::qos2_comp_withheld: what = "its PUBREL had no PUBCOMP: the PUBREL"; break;
      default: continue;  // finished some other way since
    }
    report(Finding::resend_missing,
           "broker resumed the session (Session Present 1) without re-sending anything for packet id " +
               std::to_string(id) + "; " + what + " was owed again",
           std::nullopt, bytes_in, now);
    ++reported;
  }
  owed_resends.clear();
  return reported;
}

}  // namespace mqtth::client
