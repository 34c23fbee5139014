// A connection's life: CONNECT (with clean start discarding the session state), CONNACK
// and session resumption (resending what was in flight), AUTH, DISCONNECT from either
// side, and the end of the transport.
#include "ClientSessionImpl.hpp"

namespace mqtth::client {

using namespace detail;

void ClientSession::connect(const ConnectOptions& options, TimeMs now) { impl_->connect(options, now); }

void ClientSession::Impl::connect(const ConnectOptions& opts, TimeMs now) {
  if (state != SessionState::disconnected) transport_closed(now, "client opened a new connection");
  options = opts;
  version = opts.version;
  reset_connection();
  keep_alive = opts.keep_alive;
  last_sent = now;
  if (v5() && opts.maximum_packet_size) framer.set_maximum_packet_size(*opts.maximum_packet_size);
  if (opts.clean_start) {
    clear_session(now);
    history_known = true;
  }

  mqtt::Connect c;
  c.protocol_name = opts.protocol_name ? *opts.protocol_name
                                       : std::string(version == mqtt::Version::v3_1 ? "MQIsdp" : "MQTT");
  c.protocol_version = version;
  c.clean_start = opts.clean_start;
  c.keep_alive = opts.keep_alive;
  c.client_id = opts.client_id;
  c.will = opts.will;
  c.username = opts.username;
  c.password = opts.password;
  if (v5()) {
    using mqtt::PropertyId;
    if (opts.session_expiry_interval) c.properties.add_number(PropertyId::session_expiry_interval, *opts.session_expiry_interval);
    if (opts.receive_maximum) c.properties.add_number(PropertyId::receive_maximum, *opts.receive_maximum);
    if (opts.topic_alias_maximum) c.properties.add_number(PropertyId::topic_alias_maximum, *opts.topic_alias_maximum);
    if (opts.maximum_packet_size) c.properties.add_number(PropertyId::maximum_packet_size, *opts.maximum_packet_size);
    for (const auto& p : opts.properties) c.properties.push_back(p);
  }
  state = SessionState::connecting;
  write(mqtt::Packet(std::move(c)), now);
}

void ClientSession::Impl::on_packet(const mqtt::ConnackView& p, std::uint64_t start, TimeMs now) {
  if (connack_seen) {
    // A second CONNECT written raw is a protocol error the broker must close on
    // [MQTT-3.1.0-2]; a CONNACK to it shows it did not. Unasked, the CONNACK itself is the
    // fault (5.0 MQTT-3.2.0-2; 3.1.1 has no statement for it).
    if (take_raw_answered(mqtt::PacketType::connack, 0)) {
      report(Finding::connack_to_second_connect,
             "broker answered a second CONNECT on one connection with a CONNACK instead of closing the connection",
             mqtt::PacketType::connack, start, now, config.close_on_violation);
    } else {
      report(Finding::second_connack, "broker sent a second CONNACK on one connection", mqtt::PacketType::connack,
             start, now, config.close_on_violation);
    }
    if (config.close_on_violation) abandon_connection(mqtt::reason::protocol_error, now);
    return;
  }
  connack_seen = true;
  session_present = p.session_present;
  // (Session Present 1 in a refusal never gets here: the codec refuses that CONNACK.)
  if (p.session_present && options.clean_start) {
    report(Finding::session_present_on_clean_start, "CONNACK has Session Present 1 for a clean-start connection",
           mqtt::PacketType::connack, start, now);
  }
  if (v5()) {
    for (const auto& prop : p.properties) {
      switch (prop.id) {
        case mqtt::PropertyId::receive_maximum: broker_receive_maximum = static_cast<std::uint16_t>(prop.number); break;
        case mqtt::PropertyId::topic_alias_maximum: broker_topic_alias_maximum = static_cast<std::uint16_t>(prop.number); break;
        case mqtt::PropertyId::maximum_packet_size: broker_maximum_packet_size = prop.number; break;
        case mqtt::PropertyId::server_keep_alive: keep_alive = static_cast<std::uint16_t>(prop.number); break;  // [MQTT-3.2.2-21]
        case mqtt::PropertyId::assigned_client_identifier: assigned_client_id = std::string(prop.value); break;
        default: break;
      }
    }
    if (broker_receive_maximum == 0) broker_receive_maximum = 1;  // 0 is a protocol error the codec reports; keep sending one at a time
  }
  event::ConnackReceived e;
  e.session_present = p.session_present;
  e.reason_code = p.reason_code;
  e.properties = own_properties(p.properties);
  e.at = now;
  emit(std::move(e));

  if (p.reason_code != 0) {
    // Refused: the broker must close the connection [MQTT-3.2.2-5 / MQTT-3.2.2-7]; the
    // session waits for that rather than closing first, so the harness can observe it.
    state = SessionState::closing;
    return;
  }
  state = SessionState::connected;
  if (p.session_present) {
    note_resumed_flows();
    resend_in_flight(now);
  } else {
    // No session on the broker: what was in flight there is gone (3.2.2.1.1).
    abandon_outbound("broker has no session (CONNACK session_present=0)", now);
    clear_inbound();
    history_known = true;
  }
  pump(now);
}

// Resuming a session: unacknowledged PUBLISH with DUP=1 and PUBREL for PUBREC'd ones, in
// their original order [MQTT-4.4.0-1, MQTT-4.6.0-1, MQTT-3.3.1-1].
void ClientSession::Impl::resend_in_flight(TimeMs now) {
  std::vector<std::uint32_t> order;
  for (std::uint32_t s = 0; s < slots.size(); ++s) {
    if (slots[s].stage == Stage::sent || slots[s].stage == Stage::released) order.push_back(s);
  }
  std::sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) { return slots[a].seq < slots[b].seq; });
  for (const std::uint32_t s : order) {
    Outbound& o = slots[s];
    if (o.stage == Stage::sent) {
      o.publish().dup = true;
      write_publish(o.packet, o.topic_alias, now);
    } else {
      mqtt::Pubrel rel;
      rel.packet_id = o.publish().packet_id;
      write(mqtt::Packet(std::move(rel)), now);
      o.pubrel_sent = true;
    }
  }
}

void ClientSession::disconnect(TimeMs now, std::uint8_t reason_code, mqtt::Properties properties) {
  Impl& s = *impl_;
  if (!s.has_connection()) return;
  mqtt::Disconnect d;
  if (s.v5()) {
    d.reason_code = reason_code;
    d.properties = std::move(properties);
  }
  s.write(mqtt::Packet(std::move(d)), now);
  s.request_close("client sent DISCONNECT");
}

void ClientSession::Impl::on_packet(const mqtt::DisconnectView& p, std::uint64_t start, TimeMs now) {
  if (!v5()) {
    report(Finding::client_only_packet, "broker sent DISCONNECT, which only a client may send in MQTT 3.1.1",
           mqtt::PacketType::disconnect, start, now);
  } else if (!connack_seen) {
    report(Finding::disconnect_before_connack, "broker sent DISCONNECT before CONNACK", mqtt::PacketType::disconnect,
           start, now);
  }
  disconnect_reason = p.reason_code;
  event::DisconnectReceived e;
  e.reason_code = p.reason_code;
  e.properties = own_properties(p.properties);
  e.at = now;
  emit(std::move(e));
  // The broker closes the connection after DISCONNECT; nothing after it is read.
  input_dead = true;
}

void ClientSession::Impl::on_packet(const mqtt::AuthView&, std::uint64_t start, TimeMs now) {
  const bool has_method = std::any_of(options.properties.begin(), options.properties.end(), [](const mqtt::Property& p) {
    return p.id == mqtt::PropertyId::authentication_method;
  });
  if (!has_method) {
    report(Finding::auth_without_method, "broker sent AUTH although CONNECT had no Authentication Method",
           mqtt::PacketType::auth, start, now);
  }
}

void ClientSession::Impl::reset_connection() {
  framer = mqtt::Framer(mqtt::kMaxPacketSize);
  input_dead = false;
  connack_seen = false;
  disconnect_reason.reset();
  bytes_in = 0;
  ping_sent_at.reset();
  close_requested = false;
  closed_by_client = false;
  close_cause = {};
  broker_receive_maximum = 65535;
  broker_topic_alias_maximum = 0;
  broker_maximum_packet_size = mqtt::kMaxPacketSize;
  inbound_aliases.clear();
  outbound_aliases.clear();
  auto_aliases.clear();
  next_auto_alias = 1;
  pending_acks.clear();  // SUBSCRIBE/UNSUBSCRIBE are not re-sent on a new connection
  raw_sent.clear();      // answers come on the connection the packets went out on
  raw_unreadable = false;
  owed_resends.clear();  // recomputed at the next Session Present 1
  out.clear();
}

void ClientSession::Impl::transport_closed(TimeMs now, std::string_view client_cause) {
  if (state == SessionState::disconnected) return;
  if (!client_cause.empty() && !closed_by_client) {
    closed_by_client = true;
    close_cause = client_cause;
  }
  event::ConnectionClosed e;
  e.by_client = closed_by_client;
  e.disconnect_reason = disconnect_reason;
  if (closed_by_client) {
    e.cause = close_cause;
  } else if (disconnect_reason) {
    e.cause = "broker sent DISCONNECT";
  } else {
    e.cause = "broker closed the connection";
  }
  e.at = now;
  emit(std::move(e));
  state = SessionState::disconnected;
  reset_connection();
}

void ClientSession::Impl::clear_session(TimeMs now) {
  abandon_outbound("session state discarded (clean start)", now);
  clear_inbound();
  pending_acks.clear();
}

void ClientSession::clear_session(TimeMs now) { impl_->clear_session(now); }

}  // namespace mqtth::client
