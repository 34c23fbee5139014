// BrokerEngine: the embedded reference broker's sans-I/O protocol engine. The public
// methods only forward to BrokerEngine::Impl (BrokerEngineImpl.hpp lists the file of
// each concern); introspection turns sessions into SessionInfo.
#include "BrokerEngineImpl.hpp"

#include <utility>

namespace mqtth::engine {

using namespace detail;

std::string_view to_string(Misbehave m) {
  switch (m) {
    case Misbehave::none: return "none";
    case Misbehave::drop_qos1: return "drop_qos1";
    case Misbehave::dup_qos2: return "dup_qos2";
    case Misbehave::reorder: return "reorder";
    case Misbehave::drop_qos0: return "drop_qos0";
  }
  return "none";
}

std::optional<Misbehave> parse_misbehave(std::string_view s) {
  for (auto m : {Misbehave::none, Misbehave::drop_qos1, Misbehave::dup_qos2, Misbehave::reorder,
                 Misbehave::drop_qos0})
    if (to_string(m) == s) return m;
  return std::nullopt;
}

SessionInfo BrokerEngine::Impl::info(const Session& s) const {
  SessionInfo i;
  i.client_id = s.client_id;
  i.connected = s.connection != nullptr;
  if (s.connection) i.connection = s.connection->id;
  i.version = s.version;
  i.session_expiry_interval = s.expiry_interval;
  i.subscriptions = s.subscriptions.size();
  i.inflight_out = s.inflight.size();
  i.queued = s.queue.size();
  i.inbound_qos2_pending = s.inbound_qos2.size();
  i.will_pending = s.will_at.has_value();
  return i;
}

BrokerEngine::BrokerEngine(BrokerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
BrokerEngine::BrokerEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BrokerEngine BrokerEngine::clone() const { return BrokerEngine(impl_->clone()); }
BrokerEngine::~BrokerEngine() = default;
BrokerEngine::BrokerEngine(BrokerEngine&&) noexcept = default;
BrokerEngine& BrokerEngine::operator=(BrokerEngine&&) noexcept = default;

ConnectionId BrokerEngine::open(std::uint64_t now_ms) { return impl_->open(now_ms); }
void BrokerEngine::receive(ConnectionId id, mqtt::Bytes data, std::uint64_t now_ms) { impl_->receive(id, data, now_ms); }
void BrokerEngine::closed(ConnectionId id, std::uint64_t now_ms) {
  if (impl_->connections.count(id)) impl_->log(id, "connection lost");
  impl_->drop_connection(id, now_ms, true);
}
void BrokerEngine::advance(std::uint64_t now_ms) { impl_->advance(now_ms); }
std::optional<std::uint64_t> BrokerEngine::next_deadline() const { return impl_->next_deadline(); }
std::vector<Output> BrokerEngine::take_output() { return std::exchange(impl_->output, {}); }
bool BrokerEngine::has_output() const { return !impl_->output.empty(); }
void BrokerEngine::set_logger(std::function<void(ConnectionId, std::string_view)> logger) {
  impl_->logger = std::move(logger);
}
const BrokerConfig& BrokerEngine::config() const { return impl_->config; }
std::size_t BrokerEngine::connection_count() const { return impl_->connections.size(); }
std::size_t BrokerEngine::session_count() const { return impl_->sessions.size(); }
std::size_t BrokerEngine::retained_count() const { return impl_->retained.size(); }
std::optional<SessionInfo> BrokerEngine::session(std::string_view client_id) const {
  auto it = impl_->sessions.find(client_id);
  if (it == impl_->sessions.end()) return std::nullopt;
  return impl_->info(*it->second);
}
std::vector<SessionInfo> BrokerEngine::sessions() const {
  std::vector<SessionInfo> out;
  out.reserve(impl_->sessions.size());  // the fuzz target asks after every event
  for (const auto& [id, s] : impl_->sessions) out.push_back(impl_->info(*s));
  return out;
}
void BrokerEngine::sessions(std::vector<SessionInfo>& out) const {
  out.clear();
  for (const auto& [id, s] : impl_->sessions) out.push_back(impl_->info(*s));
}
const EngineStats& BrokerEngine::stats() const { return impl_->stats; }
std::optional<std::string> BrokerEngine::check_invariants() const { return impl_->check_invariants(); }

}  // namespace mqtth::engine
