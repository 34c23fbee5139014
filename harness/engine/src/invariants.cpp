// BrokerEngine::check_invariants: the engine's internal consistency, checked by the
// unit tests and fuzz targets after every event.
#include "BrokerEngineImpl.hpp"

namespace mqtth::engine {

using namespace detail;

std::optional<std::string> BrokerEngine::Impl::check_invariants() const {
  if (connections.size() > config.max_connections) return "more connections than max_connections";
  if (sessions.size() > config.max_sessions) return "more sessions than max_sessions";
  if (retained.size() > config.max_retained_messages) return "more retained messages than max_retained_messages";
  for (const auto& [id, conn] : connections) {
    if (conn->session && conn->session->connection != conn.get())
      return "connection " + std::to_string(id) + " points to a session that does not point back";
    if (conn->state == Connection::State::connected && !conn->session)
      return "connected connection " + std::to_string(id) + " without a session";
  }
  std::vector<std::uint16_t> ids;  // reused across sessions
  for (const auto& [client_id, s] : sessions) {
    // Runs after every fuzz event: the message is built only when something is broken.
    auto who = [name = std::string_view(client_id)] { return "session '" + std::string(name) + "': "; };
    if (s->connection) {
      auto it = connections.find(s->connection->id);
      if (it == connections.end() || it->second.get() != s->connection || s->connection->session != s.get())
        return who() + "connection link is inconsistent";
      if (sent_count(*s) > window(*s)) return who() + "more messages in flight than the receive maximum";
    }
    if (s->inflight.size() > config.max_inflight) return who() + "in-flight above max_inflight";
    if (s->queue.size() > config.max_queued_messages) return who() + "queue above max_queued_messages";
    if (s->subscriptions.size() > config.max_subscriptions_per_client) return who() + "too many subscriptions";
    if (s->inbound_qos2.size() > config.receive_maximum) return who() + "inbound QoS 2 above receive_maximum";
    ids.clear();
    for (const auto& e : s->inflight) {
      if (e.packet_id == 0) return who() + "in-flight packet id 0";
      if (e.delivery.qos == 0) return who() + "QoS 0 message in flight";
      ids.push_back(e.packet_id);
    }
    std::sort(ids.begin(), ids.end());
    if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) return who() + "in-flight packet id reused";
    for (const auto& [filter, sub] : s->subscriptions) {
      auto it = filters.find(filter);
      if (it == filters.end() ||
          std::find_if(it->second.members.begin(), it->second.members.end(),
                       [session = s.get(), stored = &sub](const Member& m) { return m.session == session && m.subscription == stored; }) ==
              it->second.members.end())
        return who() + "subscription '" + filter + "' missing from the index";
    }
  }
  if (qos2_duplicates > 0 && config.misbehave != Misbehave::dup_qos2)
    return "a QoS 2 message was delivered twice to one session";
  return std::nullopt;
}

}  // namespace mqtth::engine
