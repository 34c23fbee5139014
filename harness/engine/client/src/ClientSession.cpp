// ClientSession: see the header for the contract, and ClientSessionImpl.hpp for the file
// of each concern. These are the public methods that only forward, outputs and state.
#include "ClientSessionImpl.hpp"

#include <utility>

namespace mqtth::client {

using namespace detail;

std::string_view to_string(CommandError e) {
  switch (e) {
    case CommandError::none: return "none";
    case CommandError::not_connected: return "not_connected";
    case CommandError::no_packet_id_free: return "no_packet_id_free";
    case CommandError::invalid_argument: return "invalid_argument";
    case CommandError::encode_failed: return "encode_failed";
  }
  return "unknown";
}

std::string_view to_string(SessionState s) {
  switch (s) {
    case SessionState::disconnected: return "disconnected";
    case SessionState::connecting: return "connecting";
    case SessionState::connected: return "connected";
    case SessionState::closing: return "closing";
  }
  return "unknown";
}


mqtt::Properties detail::own_properties(const mqtt::PropertiesView& view) {
  mqtt::Properties out;
  for (const auto& p : view) {
    out.push_back(mqtt::Property{p.id, p.number, std::string(p.key), std::string(p.value)});
  }
  return out;
}

ClientSession::ClientSession(SessionConfig config) : impl_(std::make_unique<Impl>(config)) {}
ClientSession::~ClientSession() = default;
ClientSession::ClientSession(ClientSession&&) noexcept = default;
ClientSession& ClientSession::operator=(ClientSession&&) noexcept = default;

void ClientSession::receive(mqtt::Bytes bytes, TimeMs now) { impl_->receive(bytes, now); }
void ClientSession::receive(std::string_view bytes, TimeMs now) {
  impl_->receive(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), now);
}
void ClientSession::advance(TimeMs now) { impl_->advance(now); }
void ClientSession::transport_closed(TimeMs now, std::string_view client_cause) {
  impl_->transport_closed(now, client_cause);
}

bool ClientSession::has_output() const { return !impl_->out.empty(); }
void ClientSession::take_output(std::string& into) {
  into.clear();
  into.swap(impl_->out);
}
std::string ClientSession::take_output() {
  std::string s;
  take_output(s);
  return s;
}
bool ClientSession::has_events() const { return !impl_->events.empty(); }
void ClientSession::take_events(std::vector<Event>& into) {
  into.clear();
  into.swap(impl_->events);
}
std::vector<Event> ClientSession::take_events() {
  std::vector<Event> v;
  take_events(v);
  return v;
}
std::optional<TimeMs> ClientSession::next_deadline() const { return impl_->next_deadline(); }
bool ClientSession::close_requested() const { return impl_->close_requested; }

SessionState ClientSession::state() const { return impl_->state; }
mqtt::Version ClientSession::version() const { return impl_->version; }
const ConnectOptions& ClientSession::connect_options() const { return impl_->options; }
bool ClientSession::session_present() const { return impl_->session_present; }
std::optional<std::string> ClientSession::assigned_client_id() const { return impl_->assigned_client_id; }
std::uint16_t ClientSession::keep_alive() const { return impl_->keep_alive; }
std::uint16_t ClientSession::broker_receive_maximum() const { return impl_->broker_receive_maximum; }
std::uint16_t ClientSession::broker_topic_alias_maximum() const { return impl_->broker_topic_alias_maximum; }
std::uint32_t ClientSession::broker_maximum_packet_size() const { return impl_->broker_maximum_packet_size; }
std::size_t ClientSession::outbound_in_flight() const { return impl_->outbound_in_flight; }
std::size_t ClientSession::outbound_queued() const { return impl_->outbound_count - impl_->outbound_in_flight; }
std::size_t ClientSession::inbound_in_flight() const { return impl_->inbound_in_flight; }
bool ClientSession::packet_id_in_use(std::uint16_t id) const { return impl_->id_in_use(id); }
std::uint64_t ClientSession::bytes_received() const { return impl_->bytes_in; }
std::uint64_t ClientSession::violations() const { return impl_->violation_count; }
SessionConfig& ClientSession::config() { return impl_->config; }
Misbehaviour& ClientSession::misbehaviour() { return impl_->misbehave; }

}  // namespace mqtth::client
