// Timers: the connect timeout, keep-alive (1.5 times the interval), will delay and
// session expiry. next_deadline() says when advance() has something to do.
#include "BrokerEngineImpl.hpp"

namespace mqtth::engine {

using namespace detail;

namespace {

// When a connection's timer fires: no CONNECT within connect_timeout_ms, or no packet
// within one and a half times the Keep Alive [MQTT-3.1.2-22]; nullopt: Keep Alive 0.
std::optional<Clock> connection_deadline(const Connection& conn, const BrokerConfig& config) {
  if (conn.state == Connection::State::awaiting_connect) return add_ms(conn.opened_at, config.connect_timeout_ms);
  if (conn.keep_alive_seconds) {
    const std::uint64_t per_mille = config.deviate.on(Deviation::keep_alive_doubled, conn.version) ? 2000 : 1500;
    return add_ms(conn.last_rx, std::uint64_t{conn.keep_alive_seconds} * per_mille);
  }
  return std::nullopt;
}

}  // namespace

std::optional<Clock> BrokerEngine::Impl::next_deadline() const {
  if (!deadline_stale) return cached_deadline;
  cached_deadline = compute_next_deadline();
  deadline_stale = false;
  return cached_deadline;
}

std::optional<Clock> BrokerEngine::Impl::compute_next_deadline() const {
  std::optional<Clock> next;
  auto consider = [&](Clock t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [id, conn] : connections)
    if (auto due = connection_deadline(*conn, config)) consider(*due);
  for (const auto& [id, s] : sessions) {
    if (s->will_at) consider(*s->will_at);
    if (s->expires_at) consider(*s->expires_at);
  }
  return next;
}

void BrokerEngine::Impl::advance(Clock now) {
  deadline_stale = true;
  std::vector<ConnectionId> due_connect, due_keep_alive;
  for (const auto& [id, conn] : connections) {
    auto due = connection_deadline(*conn, config);
    if (!due || *due > now) continue;
    if (conn->state == Connection::State::awaiting_connect) {
      due_connect.push_back(id);
    } else {
      due_keep_alive.push_back(id);
    }
  }
  for (ConnectionId id : due_connect) {
    log(id, "closing: no CONNECT within connect_timeout_ms");
    close_connection(id, now, false);
  }
  for (ConnectionId id : due_keep_alive) {
    auto it = connections.find(id);
    if (it == connections.end()) continue;
    Connection& conn = *it->second;
    log(id, "closing: keep-alive timeout [MQTT-3.1.2-22]");
    if (is_v5(conn.version)) send_disconnect(conn, reason::keep_alive_timeout, "keep alive timeout");
    close_connection(id, now, true);
  }
  std::vector<std::string> wills, expired_sessions;
  for (const auto& [id, s] : sessions) {
    if (s->will_at && *s->will_at <= now) wills.push_back(id);
    if (s->expires_at && *s->expires_at <= now) expired_sessions.push_back(id);
  }
  for (const auto& id : wills)
    if (auto it = sessions.find(id); it != sessions.end()) publish_will(*it->second, now);
  for (const auto& id : expired_sessions) {
    auto it = sessions.find(id);
    if (it != sessions.end() && !it->second->connection) end_session(id, now);
  }
}

}  // namespace mqtth::engine
