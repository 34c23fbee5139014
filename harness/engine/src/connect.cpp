// A client's session from CONNECT to its end: the connection is opened, CONNECT is
// checked (client identifier, authentication, will, limits) and answered with CONNACK,
// an existing session is taken over or resumed (or discarded by Clean Start), the will is
// stored; DISCONNECT, a lost connection or a refused CONNECT drop the connection, start
// the will delay and session expiry timers, and end the session.
#include "BrokerEngineImpl.hpp"

namespace mqtth::engine {

using namespace detail;

ConnectionId BrokerEngine::Impl::open(Clock now) {
  deadline_stale = true;
  ConnectionId id = next_connection_id++;
  ++stats.connections_opened;
  if (connections.size() >= config.max_connections) {
    ++stats.connections_refused;
    log(id, "refused: max_connections reached");
    emit_close(id);
    return id;
  }
  connections.emplace(id, std::make_unique<Connection>(id, now, config.maximum_packet_size));
  return id;
}

bool BrokerEngine::Impl::on_connect(Connection& conn, const mqtt::ConnectView& c, Clock now) {
  deadline_stale = true;  // the connect timeout becomes a keep-alive timer (maybe earlier)
  const Version version = c.protocol_version;
  const bool v5 = is_v5(version);
  conn.version = version;
  // 3.1.1 CONNACK return codes (3.2.2.3) and their 5.0 counterparts.
  auto refuse = [&](std::uint8_t v3_code, std::uint8_t v5_code, std::string_view why) {
    refuse_connect(conn, version, v5 ? v5_code : v3_code, why, now);
    return false;
  };

  if (v5) {
    // The client's Maximum Packet Size binds every packet sent to it, a refusing CONNACK
    // too: its Reason String is left out if it does not fit [MQTT-3.1.2-24, MQTT-3.2.2-19].
    // 0 is a protocol error (refused below), not a limit.
    if (auto mps = c.properties.find(PropertyId::maximum_packet_size); mps && mps->number != 0)
      conn.client_maximum_packet_size = mps->number;
    if (c.properties.find(PropertyId::authentication_method))
      return refuse(0x05, reason::bad_authentication_method,
                    "no authentication method is supported [MQTT-4.12.0-1]");
    if (auto rm = c.properties.find(PropertyId::receive_maximum); rm && rm->number == 0)
      return refuse(0x02, reason::protocol_error, "Receive Maximum 0 is a protocol error");
    if (auto mps = c.properties.find(PropertyId::maximum_packet_size); mps && mps->number == 0)
      return refuse(0x02, reason::protocol_error, "Maximum Packet Size 0 is a protocol error");
  }

  // Client identifier (3.1.3.1).
  std::string client_id(c.client_id);
  bool assigned = false;
  if (client_id.empty()) {
    if (version == Version::v3_1) return refuse(0x02, 0x02, "3.1 requires a client identifier");
    if (!v5 && !c.clean_start)
      return refuse(0x02, 0x02, "empty client identifier needs clean session [MQTT-3.1.3-8]");
    client_id = deviates(Deviation::empty_client_id_shared, version) ? "mqtth-0" : assign_client_id();  // [MQTT-3.1.3-6]
    assigned = true;
  } else if (version == Version::v3_1 && client_id.size() > 23) {
    return refuse(0x02, 0x02, "3.1 client identifiers are at most 23 bytes");
  }

  // Authentication (3.1.4-2).
  if (c.username) {
    if (!config.users.empty()) {
      auto user = config.users.find(std::string(*c.username));
      if (user == config.users.end() || !c.password || user->second != *c.password)
        return refuse(0x04, reason::bad_user_name_or_password, "bad user name or password");
    }
  } else if (!config.allow_anonymous) {
    return refuse(0x05, reason::not_authorized, "anonymous connections are not allowed");
  }

  if (c.will && v5) {
    if (c.will->qos > config.maximum_qos)
      return refuse(0x05, reason::qos_not_supported, "will QoS above Maximum QoS [MQTT-3.2.2-12]");
    if (c.will->retain && !config.retain_available)
      return refuse(0x05, reason::retain_not_supported, "will retain without retain support [MQTT-3.2.2-13]");
  }

  if (sessions.size() >= config.max_sessions && sessions.find(client_id) == sessions.end())
    return refuse(0x03, reason::quota_exceeded, "max_sessions reached");

  // Connection parameters.
  conn.username = c.username ? std::optional<std::string>(std::string(*c.username)) : std::nullopt;
  std::uint32_t expiry = 0;
  bool expiry_capped = false;
  if (v5) {
    if (auto p = c.properties.find(PropertyId::session_expiry_interval)) expiry = p->number;
    if (auto p = c.properties.find(PropertyId::receive_maximum)) conn.client_receive_maximum = static_cast<std::uint16_t>(p->number);
    if (auto p = c.properties.find(PropertyId::request_problem_information)) conn.request_problem_information = p->number != 0;
    // Outbound aliases only up to the client's own maximum; none when it is absent or 0
    // [MQTT-3.1.2-26, -27].
    if (auto p = c.properties.find(PropertyId::topic_alias_maximum))
      conn.outbound_alias_maximum = static_cast<std::uint16_t>(
          std::min<std::uint32_t>(p->number, config.outbound_topic_alias_maximum));
    if (conn.outbound_alias_maximum == 0 && deviates(Deviation::outbound_alias_without_client_maximum, version))
      conn.outbound_alias_maximum = config.outbound_topic_alias_maximum;
    if (conn.outbound_alias_maximum > 0 && deviates(Deviation::outbound_alias_above_client_maximum, version))
      conn.outbound_alias_maximum = config.outbound_topic_alias_maximum;
  } else {
    expiry = c.clean_start ? 0 : kNeverExpires;  // 3.1.1 persistent sessions
  }
  conn.connect_expiry_was_zero = expiry == 0;
  if (expiry > config.max_session_expiry) {
    expiry = config.max_session_expiry;
    expiry_capped = true;
  }
  // Keep Alive (3.1.2.10): the client's, unless a 5.0 CONNACK announces another one as
  // Server Keep Alive, which the client must then use [MQTT-3.2.2-21] and the server
  // enforces; without one the client's value applies [MQTT-3.2.2-22].
  conn.keep_alive_seconds = c.keep_alive;
  std::optional<std::uint16_t> server_keep_alive;
  if (v5) {
    server_keep_alive = config.server_keep_alive;
    const std::uint16_t wanted = server_keep_alive.value_or(c.keep_alive);
    if (config.max_keep_alive && (wanted == 0 || wanted > *config.max_keep_alive))
      server_keep_alive = config.max_keep_alive;  // 0 asks for none: longer than any maximum
    if (server_keep_alive) conn.keep_alive_seconds = *server_keep_alive;
  }

  // Session takeover [MQTT-3.1.4-3] (3.1.1: MQTT-3.1.4-2) and clean start
  // [MQTT-3.1.2-4..6]. The old connection's will, by the old connection's version:
  //  - 3.1.1: published, as on any close not preceded by DISCONNECT (3.1.1: MQTT-3.1.2-8).
  //  - 5.0: published when the session ends (the new CONNECT has Clean Start 1, or the
  //    old session had expiry 0) [MQTT-3.1.2-8]; not published when the new connection
  //    resumes the session, since it was opened before any Will Delay could elapse
  //    [MQTT-3.1.3-9] (3.1.4: "published as described in 3.1.2.5"; mosquitto 2.0 agrees).
  if (auto it = sessions.find(client_id); it != sessions.end() && it->second->connection) {
    Connection& old = *it->second->connection;
    if (logger) log(old.id, "session taken over by connection " + std::to_string(conn.id));
    if (is_v5(old.version)) send_disconnect(old, reason::session_taken_over, "");
    const bool session_resumes = !c.clean_start && it->second->expiry_interval != 0;
    const bool publish_old_will = !is_v5(old.version) || !session_resumes;
    close_connection(old.id, now, publish_old_will);
  }
  bool session_present = false;
  bool discarded_session = false;
  bool kept_despite_clean_start = false;
  auto it = sessions.find(client_id);
  if (it != sessions.end() && !c.clean_start && deviates(Deviation::persistent_session_not_resumed, version)) {
    end_session(client_id, now);  // Deviation: Clean Start 0 handled as 1, silently
    it = sessions.end();
  }
  if (it != sessions.end() && c.clean_start) {
    discarded_session = true;
    if (deviates(Deviation::clean_start_keeps_session, version)) {
      kept_despite_clean_start = true;
    } else {
      end_session(client_id, now);
      it = sessions.end();
    }
  }
  Session* session;
  if (it == sessions.end()) {
    auto fresh = std::make_unique<Session>();
    fresh->client_id = client_id;
    session = fresh.get();
    sessions.emplace(client_id, std::move(fresh));
  } else {
    session = it->second.get();
    session_present = !kept_despite_clean_start;
    if (!deviates(Deviation::will_delay_not_cancelled, version)) {
      session->will.reset();  // reconnected before the will delay passed [MQTT-3.1.3-9]
      session->will_at.reset();
    }
  }
  session->connection = &conn;
  session->version = version;
  session->username = conn.username;
  session->denied_topics = denied_topics(client_id, conn.username);
  session->expiry_interval = expiry;
  session->expires_at.reset();
  conn.session = session;
  conn.state = Connection::State::connected;

  if (c.will) {
    auto message = std::make_shared<Message>();
    message->topic = std::string(c.will->topic);
    message->payload = std::string(c.will->payload);
    message->qos = std::min(c.will->qos, config.maximum_qos);
    message->retain = c.will->retain && config.retain_available;
    if (deviates(Deviation::will_retain_dropped, version)) message->retain = false;  // breaks 3.1.2-15 (3.1.1: -17)
    if (deviates(Deviation::will_retained_anyway, version)) message->retain = config.retain_available;
    message->origin_client_id = client_id;
    message->origin_version = version;
    message->seq = next_message_seq++;
    Will will;
    if (v5) {
      message->properties = forward_properties(c.will->properties, version);
      if (auto p = c.will->properties.find(PropertyId::message_expiry_interval)) will.expiry_seconds = p->number;
      if (auto p = c.will->properties.find(PropertyId::will_delay_interval)) will.delay_seconds = p->number;
    }
    will.message = std::move(message);
    session->will = std::move(will);
  }

  // CONNACK [MQTT-3.2.2-2, -3].
  mqtt::ConnackView ack;
  ack.session_present = version == Version::v3_1 ? false : session_present;
  if (discarded_session && deviates(Deviation::session_present_on_clean_start, version)) ack.session_present = true;
  if (session_present && deviates(Deviation::session_present_lost, version)) ack.session_present = false;
  if (!session_present && !c.clean_start && deviates(Deviation::session_present_on_new_session, version))
    ack.session_present = true;
  ack.reason_code = 0;
  if (v5) {  // raw properties, in this order
    std::string& raw = scratch_packet_properties;
    raw.clear();
    auto put_number = [&raw](PropertyId id, std::uint32_t v) { mqtt::append_property(raw, {.id = id, .number = v}); };
    if (expiry_capped) put_number(PropertyId::session_expiry_interval, expiry);
    if (config.receive_maximum != 65535) put_number(PropertyId::receive_maximum, config.receive_maximum);
    if (config.maximum_qos < 2) put_number(PropertyId::maximum_qos, config.maximum_qos);
    if (!config.retain_available) put_number(PropertyId::retain_available, 0);
    if (config.maximum_packet_size < mqtt::kMaxPacketSize)
      put_number(PropertyId::maximum_packet_size, config.maximum_packet_size);
    if (assigned && !deviates(Deviation::assigned_client_id_not_sent, version))  // [MQTT-3.2.2-16]
      mqtt::append_property(raw, {.id = PropertyId::assigned_client_identifier, .value = client_id});
    if (config.max_topic_alias > 0) put_number(PropertyId::topic_alias_maximum, config.max_topic_alias);
    if (!config.wildcard_subscription_available) put_number(PropertyId::wildcard_subscription_available, 0);
    if (!config.subscription_identifiers_available) put_number(PropertyId::subscription_identifier_available, 0);
    if (!config.shared_subscription_available) put_number(PropertyId::shared_subscription_available, 0);
    if (server_keep_alive) put_number(PropertyId::server_keep_alive, *server_keep_alive);
    const auto requested = c.properties.find(PropertyId::request_response_information);
    if (((requested && requested->number == 1) || deviates(Deviation::response_information_unrequested, version)) &&
        !config.response_information_prefix.empty())  // [MQTT-3.1.2-28]
      mqtt::append_property(raw, {.id = PropertyId::response_information,
                                  .value = config.response_information_prefix + client_id});
    ack.properties = mqtt::PropertiesView(raw);
  }
  emit(conn, mqtt::PacketView(ack));
  if (deviates(Deviation::connack_sent_twice, version)) emit(conn, mqtt::PacketView(ack));
  if (logger) log(conn.id, "connected: " + client_id + " (" + std::string(mqtt::to_string(version)) + ")");
  pump(*session, now);  // resend in-flight messages, then queued ones [MQTT-4.4.0-1]
  return true;
}

std::string BrokerEngine::Impl::assign_client_id() {
  while (true) {
    std::string id = "mqtth-" + std::to_string(next_assigned_id++);
    if (sessions.find(id) == sessions.end()) return id;
  }
}

// Refuses a CONNECT: CONNACK with the code, then close [MQTT-3.2.2-7].
void BrokerEngine::Impl::refuse_connect(Connection& conn, Version version, std::uint8_t code, std::string_view why,
                                        Clock now, bool level_unknown) {
  if (logger) log(conn.id, "CONNECT refused: " + std::string(why));
  conn.version = version;
  mqtt::ConnackView ack;
  ack.session_present = deviates(Deviation::refused_connack_session_present, version);  // [MQTT-3.2.2-6]
  ack.reason_code = code;
  emit_with_reason_string(conn, ack, is_v5(version) ? why : std::string_view());
  if (level_unknown ? config.deviate.any(Deviation::refused_connect_kept_open)
                    : deviates(Deviation::refused_connect_kept_open, version))
    return;  // breaks 3.2.2-7 (3.1.1: -5)
  close_connection(conn.id, now, false);
}

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::ConnectView&, Clock now) {
  if (deviates(Deviation::second_connect_ignored, conn.version)) return true;
  close_for_violation(conn, reason::protocol_error, "second CONNECT", "MQTT-3.1.0-2", now);
  return false;
}

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::DisconnectView& d, Clock now) {
  Session* s = conn.session;
  if (is_v5(conn.version)) {
    if (auto p = d.properties.find(PropertyId::session_expiry_interval)) {
      if (conn.connect_expiry_was_zero && p->number != 0) {
        close_for_violation(conn, reason::protocol_error, "session expiry set on DISCONNECT after 0 in CONNECT",
                            "MQTT-3.14.2-2", now);
        return false;
      }
      if (s) s->expiry_interval = std::min(p->number, config.max_session_expiry);
    }
  }
  // Only reason 0x00 discards the will [MQTT-3.14.4-3, MQTT-3.1.2-10]; 0x04 (and any
  // error code a client reports) leaves it to be published (3.1.2.5). 3.1.1: every
  // DISCONNECT discards it (3.1.1: MQTT-3.14.4-3).
  bool publish_will = is_v5(conn.version) && d.reason_code != reason::normal_disconnection;
  if (deviates(Deviation::will_published_after_disconnect, conn.version)) publish_will = true;
  log(conn.id, "DISCONNECT received");
  close_connection(conn.id, now, publish_will);
  return false;
}

// The broker closes the connection: what is queued for it is written first, then it is
// closed and forgotten (as drop_connection).
void BrokerEngine::Impl::close_connection(ConnectionId id, Clock now, bool abnormal) {
  emit_close(id);
  drop_connection(id, now, abnormal);
}

// Forgets the connection. `abnormal`: the will is published (3.1.2.5); false after a
// DISCONNECT that discarded it.
void BrokerEngine::Impl::drop_connection(ConnectionId id, Clock now, bool abnormal) {
  deadline_stale = true;  // will delay and session expiry timers start here
  auto it = connections.find(id);
  if (it == connections.end()) return;
  std::unique_ptr<Connection> conn = std::move(it->second);
  connections.erase(it);
  Session* session = conn->session;
  if (!session) return;
  session->connection = nullptr;
  conn->session = nullptr;
  if (!abnormal || deviates(Deviation::will_not_published, session->version)) session->will.reset();
  for (auto& entry : session->inflight) entry.sent = false;  // resent on resumption [MQTT-4.4.0-1]
  if (session->will) {
    std::uint32_t delay = std::min(session->will->delay_seconds, session->expiry_interval);
    if (delay == 0) {
      publish_will(*session, now);
    } else {
      session->will_at = add_seconds(now, delay);
    }
  }
  if (session->expiry_interval == 0) {
    end_session(session->client_id, now);
  } else if (session->expiry_interval != kNeverExpires) {
    session->expires_at = add_seconds(now, session->expiry_interval);
  }
}

void BrokerEngine::Impl::publish_will(Session& session, Clock now) {
  if (!session.will) return;
  std::shared_ptr<Message> message = std::move(session.will->message);
  if (session.will->expiry_seconds) message->expires_at = add_seconds(now, *session.will->expiry_seconds);
  session.will.reset();
  session.will_at.reset();
  // The will is the client's message: the ACL of its user name applies, and a `$` topic
  // is refused as a PUBLISH to it would be (4.7.2).
  if (!publish_allowed(session.client_id, session.username, message->topic)) return;
  if (message->topic.starts_with('$') && config.behaviour.dollar_topic_publish == DollarTopicPublish::refuse) return;
  if (logger) log(0, "publishing will of " + session.client_id);
  if (message->retain) store_retained(message, now);
  route(message, now);
}

// Ends a session: its pending will goes out (3.1.2.5), its state is discarded
// [MQTT-4.1.0-2].
void BrokerEngine::Impl::end_session(std::string_view client_id, Clock now) {
  deadline_stale = true;
  auto it = sessions.find(client_id);
  if (it == sessions.end()) return;
  Session& session = *it->second;
  if (session.will && !session.connection) publish_will(session, now);
  for (auto& [filter, sub] : session.subscriptions) unindex_subscription(filter, &session);
  if (session.connection) session.connection->session = nullptr;
  // Retained messages are not session state: ending a session keeps them [MQTT-3.1.2-7].
  if (deviates(Deviation::session_end_drops_retained, session.version))
    std::erase_if(retained, [&](const auto& entry) { return entry.second->origin_client_id == client_id; });
  sessions.erase(it);
}

}  // namespace mqtth::engine
