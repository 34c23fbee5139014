// Placeholder so the public header can land first; the implementation follows.
#include "mqtth/engine/BrokerEngine.hpp"

#include <utility>

namespace mqtth::engine {

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
  for (auto m : {Misbehave::none, Misbehave::drop_qos1, Misbehave::dup_qos2, Misbehave::reorder, Misbehave::drop_qos0})
    if (to_string(m) == s) return m;
  return std::nullopt;
}

struct BrokerEngine::Impl {
  BrokerConfig config;
  EngineStats stats;
  std::vector<Output> out;
  ConnectionId next_id = 1;
};

BrokerEngine::BrokerEngine(BrokerConfig config) : impl_(std::make_unique<Impl>()) { impl_->config = std::move(config); }
BrokerEngine::~BrokerEngine() = default;
BrokerEngine::BrokerEngine(BrokerEngine&&) noexcept = default;
BrokerEngine& BrokerEngine::operator=(BrokerEngine&&) noexcept = default;
ConnectionId BrokerEngine::open(std::uint64_t) { return impl_->next_id++; }
void BrokerEngine::receive(ConnectionId, mqtt::Bytes, std::uint64_t) {}
void BrokerEngine::closed(ConnectionId, std::uint64_t) {}
void BrokerEngine::advance(std::uint64_t) {}
std::optional<std::uint64_t> BrokerEngine::next_deadline() const { return std::nullopt; }
std::vector<Output> BrokerEngine::take_output() { return std::exchange(impl_->out, {}); }
bool BrokerEngine::has_output() const { return !impl_->out.empty(); }
void BrokerEngine::set_logger(std::function<void(ConnectionId, std::string_view)>) {}
const BrokerConfig& BrokerEngine::config() const { return impl_->config; }
std::size_t BrokerEngine::connection_count() const { return 0; }
std::size_t BrokerEngine::session_count() const { return 0; }
std::size_t BrokerEngine::retained_count() const { return 0; }
std::optional<SessionInfo> BrokerEngine::session(std::string_view) const { return std::nullopt; }
std::vector<SessionInfo> BrokerEngine::sessions() const { return {}; }
const EngineStats& BrokerEngine::stats() const { return impl_->stats; }
std::optional<std::string> BrokerEngine::check_invariants() const { return std::nullopt; }

}  // namespace mqtth::engine
