// PUBLISH from a client: inbound topic aliases, the checks (topic, Maximum QoS, retain,
// Receive Maximum, ACL, `$` topics), routing and retaining the message (QoS 2: on PUBLISH
// or on PUBREL, behaviour.qos2_forward_on), and the QoS 1/2 answers (4.3.2, 4.3.3); then
// the acknowledgements clients send for what the broker delivered (PUBACK, PUBREC,
// PUBREL, PUBCOMP).
#include "BrokerEngineImpl.hpp"

namespace mqtth::engine {

using namespace detail;

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::PublishView& p, Clock now) {
  ++stats.publishes_received;
  Session& session = *conn.session;
  const bool v5 = is_v5(conn.version);
  std::string_view topic = p.topic;
  if (v5) {
    if (auto alias = p.properties.find(PropertyId::topic_alias)) {
      if (alias->number == 0) {
        close_for_violation(conn, reason::topic_alias_invalid, "topic alias 0", "MQTT-3.3.2-8", now);
        return false;
      }
      if (alias->number > config.max_topic_alias) {
        close_for_violation(conn, reason::topic_alias_invalid, "topic alias above the Topic Alias Maximum in CONNACK",
                            "MQTT-3.3.2-9", now);
        return false;
      }
      std::size_t index = alias->number - 1;
      if (topic.empty()) {
        if (index >= conn.topic_aliases.size() || conn.topic_aliases[index].empty()) {
          close_for_violation(conn, reason::protocol_error, "topic alias has no mapping", "", now);
          return false;
        }
        topic = conn.topic_aliases[index];
      } else {
        if (index >= conn.topic_aliases.size()) conn.topic_aliases.resize(index + 1);
        conn.topic_aliases[index] = std::string(topic);
        topic = conn.topic_aliases[index];
      }
    }
  }
  if (v5 && config.behaviour.strict_clients && p.properties.find(PropertyId::subscription_identifier)) {
    close_for_violation(conn, reason::protocol_error, "a client PUBLISH carries a Subscription Identifier", "MQTT-3.3.4-6",
                        now);
    return false;
  }
  if (topic.empty()) {
    close_for_violation(conn, v5 ? reason::protocol_error : reason::topic_name_invalid, "empty topic name",
                        "MQTT-4.7.3-1", now);
    return false;
  }
  if (p.qos > config.maximum_qos) {
    close_for_violation(conn, reason::qos_not_supported, "QoS above Maximum QoS", "MQTT-3.2.2-11", now);
    return false;
  }
  if (p.retain && !config.retain_available) {
    close_for_violation(conn, reason::retain_not_supported, "retain not available", "MQTT-3.2.2-14", now);
    return false;
  }
  // The PUBREC answers with the PUBLISH's packet id (3.1.1: MQTT-2.3.1-6; 5.0: MQTT-2.2.1-5).
  const std::uint16_t pubrec_id =
      deviates(Deviation::pubrec_wrong_packet_id, conn.version) ? wrong_packet_id(p.packet_id) : p.packet_id;
  if (p.qos == 2) {
    const bool repeat = session.inbound_qos2.count(p.packet_id) != 0;
    if (repeat && !deviates(Deviation::qos2_repeat_forwarded, conn.version)) {
      // A repeat before PUBREL: acknowledge again, do not deliver twice [MQTT-4.3.3-10].
      send_ack<mqtt::Pubrec>(conn, pubrec_id, 0);
      return true;
    }
    if (!repeat && session.inbound_qos2.size() >= config.receive_maximum) {
      close_for_violation(conn, reason::receive_maximum_exceeded, "more QoS 2 PUBLISH than Receive Maximum",
                          "MQTT-3.3.4-7", now);
      return false;
    }
  }
  if (!publish_allowed(session.client_id, conn.username, topic))
    return refuse_publish(conn, p, refusal(reason::not_authorized), "PUBLISH to " + std::string(topic) + " not authorized", now);
  // 4.7.2: the server SHOULD keep clients from exchanging messages on `$` topics.
  if (topic.starts_with('$') && config.behaviour.dollar_topic_publish == DollarTopicPublish::refuse)
    return refuse_publish(conn, p, refusal(reason::topic_name_invalid), "PUBLISH to the $ topic " + std::string(topic), now);

  auto message = std::make_shared<Message>();
  message->topic = std::string(topic);
  message->payload = std::string(p.payload);
  message->qos = p.qos;
  message->retain = p.retain;
  message->origin_client_id = session.client_id;
  message->origin_version = conn.version;
  message->seq = next_message_seq++;
  if (v5) {
    message->properties = forward_properties(p.properties, conn.version);
    if (auto e = p.properties.find(PropertyId::message_expiry_interval)) message->expires_at = add_seconds(now, e->number);
  }
  // [MQTT-3.3.4-1], [MQTT-4.3.2-4], [MQTT-4.3.3-8]
  if (p.qos == 2 && config.behaviour.qos2_forward_on == Qos2ForwardOn::pubrel) {
    // 4.3.3 "Method A": own the message now, forward it when PUBREL arrives. Who will
    // be subscribed then is not known yet, so no 0x10; a full retained store is.
    if (p.retain && !retained_would_keep(*message, now)) {
      send_ack<mqtt::Pubrec>(conn, pubrec_id, refusal(reason::quota_exceeded));
      return true;
    }
    session.inbound_qos2.emplace(p.packet_id, std::move(message));
    send_ack<mqtt::Pubrec>(conn, pubrec_id, 0);
    return true;
  }
  std::uint8_t code = accept_message(message, now);
  if (p.qos == 1 && !deviates(Deviation::puback_not_sent, conn.version)) {  // [MQTT-3.3.4-1]
    // The PUBACK answers with the PUBLISH's packet id (3.1.1: MQTT-4.3.2-2; 5.0: MQTT-4.3.2-4).
    const bool wrong_id = deviates(Deviation::puback_wrong_packet_id, conn.version);
    send_ack<mqtt::Puback>(conn, wrong_id ? wrong_packet_id(p.packet_id) : p.packet_id, code);
  }
  if (p.qos == 2) {
    send_ack<mqtt::Pubrec>(conn, pubrec_id, code);
    if (code < 0x80) session.inbound_qos2.emplace(p.packet_id, nullptr);  // "Method B": forwarded already
  }
  return true;
}

std::uint8_t BrokerEngine::Impl::accept_message(const MessagePtr& message, Clock now) {
  std::uint8_t code = 0;
  if (message->retain && !store_retained(message, now)) code = refusal(reason::quota_exceeded);
  if (!message->retain && deviates(Deviation::non_retained_replaces_retained, message->origin_version))
    if (auto it = retained.find(message->topic); it != retained.end()) it->second = message;
  std::size_t matched = route(message, now);
  if (code == 0 && matched == 0 && config.behaviour.no_matching_subscribers_code) code = reason::no_matching_subscribers;
  return code;
}

bool BrokerEngine::Impl::refuse_publish(Connection& conn, const mqtt::PublishView& p, std::uint8_t code,
                                        std::string_view why, Clock now) {
  if (!is_v5(conn.version) && config.behaviour.v311_refused_publish == V311RefusedPublish::disconnect) {
    if (logger) log(conn.id, "closing: " + std::string(why) + " [MQTT-3.3.5-2]");
    close_connection(conn.id, now, true);  // not a DISCONNECT: the will goes out (3.1.1: MQTT-3.1.2-8)
    return false;
  }
  if (logger) log(conn.id, std::string(why) + ": dropped");
  // 5.0 says why in PUBACK/PUBREC; 3.1.1 cannot say no, so it acknowledges and drops
  // (3.1.1: MQTT-3.3.5-2). QoS 0 gets no answer in either.
  if (!is_v5(conn.version)) code = 0;
  if (p.qos == 1) send_ack<mqtt::Puback>(conn, p.packet_id, code);
  if (p.qos == 2) {
    send_ack<mqtt::Pubrec>(conn, p.packet_id, code);
    if (code < 0x80) conn.session->inbound_qos2.emplace(p.packet_id, nullptr);  // the flow completes with PUBCOMP
  }
  return true;
}

// Application-message properties the Server forwards unchanged [MQTT-3.3.2-4, -15, -16,
// -17, -18, -20], in wire order. Message Expiry is kept apart (it is rewritten on
// delivery, MQTT-3.3.2-6); Topic Alias and Subscription Identifier are per connection.
std::string detail::forwarded_properties(const mqtt::PropertiesView& props) {
  std::string raw;
  for (const auto& p : props) {
    switch (p.id) {
      case PropertyId::payload_format_indicator:
      case PropertyId::content_type:
      case PropertyId::response_topic:
      case PropertyId::correlation_data:
      case PropertyId::user_property:
        mqtt::append_property(raw, p);
        break;
      default:
        break;
    }
  }
  return raw;
}

// forwarded_properties, through the deviation switches that drop or reorder some.
std::string BrokerEngine::Impl::forward_properties(const mqtt::PropertiesView& props, Version v) const {
  if (config.deviate.empty()) return forwarded_properties(props);
  auto dropped = [&](PropertyId id) {
    switch (id) {
      case PropertyId::user_property: return deviates(Deviation::user_properties_dropped, v);
      case PropertyId::response_topic: return deviates(Deviation::response_topic_dropped, v);
      case PropertyId::correlation_data: return deviates(Deviation::correlation_data_dropped, v);
      case PropertyId::content_type: return deviates(Deviation::content_type_dropped, v);
      case PropertyId::payload_format_indicator: return deviates(Deviation::payload_format_dropped, v);
      default: return false;
    }
  };
  std::string raw;
  std::vector<std::string> user_properties;  // each encoded on its own, for reordering
  for (const auto& p : mqtt::PropertiesView(forwarded_properties(props))) {
    if (dropped(p.id)) continue;
    if (p.id == PropertyId::user_property && deviates(Deviation::user_properties_reordered, v)) {
      user_properties.emplace_back();
      mqtt::append_property(user_properties.back(), p);
      continue;
    }
    mqtt::append_property(raw, p);
  }
  for (auto it = user_properties.rbegin(); it != user_properties.rend(); ++it) raw += *it;
  return raw;
}

void BrokerEngine::Impl::erase_inflight(Session& s, std::uint16_t id) {
  auto it = std::find_if(s.inflight.begin(), s.inflight.end(), [&](const Inflight& e) { return e.packet_id == id; });
  if (it != s.inflight.end()) s.inflight.erase(it);
}

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::PubackView& a, Clock now) {
  Session& s = *conn.session;
  if (auto* e = find_inflight(s, a.packet_id); e && e->delivery.qos == 1) {
    erase_inflight(s, a.packet_id);  // [MQTT-4.3.2-3]
    pump(s, now);
  }
  return true;
}

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::PubrecView& a, Clock now) {
  Session& s = *conn.session;
  auto* e = find_inflight(s, a.packet_id);
  if (!e || e->delivery.qos != 2) {
    if (is_v5(conn.version)) send_ack<mqtt::Pubrel>(conn, a.packet_id, reason::packet_identifier_not_found);
    return true;
  }
  if (a.reason_code >= 0x80) {  // refused: acknowledged, never retransmitted [MQTT-4.4.0-2]
    erase_inflight(s, a.packet_id);
    pump(s, now);
    return true;
  }
  e->released = true;  // never resend the PUBLISH from now on [MQTT-4.3.3-6]
  send_ack<mqtt::Pubrel>(conn, a.packet_id, 0);  // [MQTT-4.3.3-4]
  return true;
}

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::PubrelView& a, Clock now) {
  Session& s = *conn.session;
  auto it = s.inbound_qos2.find(a.packet_id);
  const bool known = it != s.inbound_qos2.end();
  MessagePtr held;
  if (known) {
    held = std::move(it->second);
    s.inbound_qos2.erase(it);
  }
  if (!deviates(Deviation::pubcomp_not_sent, conn.version))
    send_ack<mqtt::Pubcomp>(conn, a.packet_id, known ? 0 : reason::packet_identifier_not_found);  // [MQTT-4.3.3-11]
  if (held) {
    // "Method A": onward delivery starts now. A message that expired while it waited is
    // dropped; the exchange still completes [MQTT-4.3.3-13].
    if (expired(*held, now))
      ++stats.messages_expired;
    else
      accept_message(held, now);
  }
  return true;
}

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::PubcompView& a, Clock now) {
  Session& s = *conn.session;
  if (auto* e = find_inflight(s, a.packet_id); e && e->released) {
    erase_inflight(s, a.packet_id);
    pump(s, now);
  }
  return true;
}

}  // namespace mqtth::engine
