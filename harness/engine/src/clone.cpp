// BrokerEngine::clone: a deep copy, for fuzz targets that start every input from one
// prepared state.
#include "BrokerEngineImpl.hpp"

namespace mqtth::engine {

using namespace detail;

// A deep copy (BrokerEngine::clone). Connections and sessions are copied member by
// member, then every pointer between them (connection <-> session, filter members ->
// session and subscription, topic tree -> filter entry) is pointed at the copy's own
// objects. Messages are immutable once routed and are shared; a stored will is not
// (publish_will sets its expiry), so it is copied.
std::unique_ptr<BrokerEngine::Impl> BrokerEngine::Impl::clone() const {
  auto copy = std::make_unique<Impl>(config);
  Impl& c = *copy;
  // The fuzz target clones per input: what is usually empty is not even copied empty.
  c.stats = stats;
  if (!output.empty()) c.output = output;
  if (logger) c.logger = logger;
  c.next_connection_id = next_connection_id;
  c.next_message_seq = next_message_seq;
  c.next_assigned_id = next_assigned_id;
  c.route_stamp = route_stamp;
  c.misbehave_counter = misbehave_counter;
  c.qos2_duplicates = qos2_duplicates;
  c.cached_deadline = cached_deadline;
  c.deadline_stale = deadline_stale;
  if (!retained.empty()) c.retained = retained;
  for (const auto& [id, conn] : connections) c.connections.emplace_hint(c.connections.end(), id, std::make_unique<Connection>(*conn));
  for (const auto& [client_id, session] : sessions) {
    auto fresh = std::make_unique<Session>(*session);
    if (fresh->will) fresh->will->message = std::make_shared<Message>(*fresh->will->message);
    c.sessions.emplace_hint(c.sessions.end(), client_id, std::move(fresh));
  }
  // Links: the copied pointers still point into this engine; find the copies by key.
  for (auto& [id, conn] : c.connections)
    if (conn->session) conn->session = c.find_session(conn->session->client_id);
  for (auto& [client_id, session] : c.sessions)
    if (session->connection) {
      auto it = c.connections.find(session->connection->id);
      session->connection = it == c.connections.end() ? nullptr : it->second.get();
    }
  if (filters.empty()) return copy;
  std::vector<std::pair<const FilterEntry*, FilterEntry*>> entries;  // this -> copy, by address
  entries.reserve(filters.size());
  for (const auto& [key, entry] : filters) {
    FilterEntry& e = c.filters.emplace_hint(c.filters.end(), key, entry)->second;
    for (Member& m : e.members) {
      m.session = c.find_session(m.session->client_id);
      m.subscription = nullptr;
      if (!m.session) continue;
      if (auto sub = m.session->subscriptions.find(key); sub != m.session->subscriptions.end())
        m.subscription = &sub->second;
    }
    entries.emplace_back(&entry, &e);
  }
  std::sort(entries.begin(), entries.end());
  c.filter_tree = filter_tree.mapped_copy([&entries](const FilterEntry* e) {
    auto it = std::lower_bound(entries.begin(), entries.end(), std::pair<const FilterEntry*, FilterEntry*>(e, nullptr));
    return it != entries.end() && it->first == e ? it->second : nullptr;
  });
  return copy;
}

Session* BrokerEngine::Impl::find_session(std::string_view client_id) const {
  auto it = sessions.find(client_id);
  return it == sessions.end() ? nullptr : it->second.get();
}

}  // namespace mqtth::engine
