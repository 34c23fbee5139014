// SUBSCRIBE and UNSUBSCRIBE, and the SUBACK / UNSUBACK that answer them (packet id and
// reason code count checked).
#include "ClientSessionImpl.hpp"

namespace mqtth::client {

using namespace detail;

CommandResult ClientSession::subscribe(SubscribeRequest request, TimeMs now) {
  Impl& s = *impl_;
  CommandResult r;
  if (!s.has_connection()) return r.error = CommandError::not_connected, r;
  const auto id = s.allocate_id();
  if (!id) return r.error = CommandError::no_packet_id_free, r;
  mqtt::Subscribe sub;
  sub.packet_id = *id;
  if (s.v5()) {
    if (request.subscription_identifier) {
      sub.properties.add_number(mqtt::PropertyId::subscription_identifier, *request.subscription_identifier);
    }
    for (const auto& p : request.properties) sub.properties.push_back(p);
  }
  const auto count = static_cast<std::uint32_t>(request.subscriptions.size());
  sub.subscriptions = std::move(request.subscriptions);
  if (!s.write(mqtt::Packet(std::move(sub)), now)) return r.error = CommandError::encode_failed, r;
  s.pending_acks.push_back(PendingAck{*id, count, true});
  r.packet_id = *id;
  return r;
}

CommandResult ClientSession::unsubscribe(UnsubscribeRequest request, TimeMs now) {
  Impl& s = *impl_;
  CommandResult r;
  if (!s.has_connection()) return r.error = CommandError::not_connected, r;
  const auto id = s.allocate_id();
  if (!id) return r.error = CommandError::no_packet_id_free, r;
  mqtt::Unsubscribe unsub;
  unsub.packet_id = *id;
  if (s.v5()) unsub.properties = std::move(request.properties);
  const auto count = static_cast<std::uint32_t>(request.filters.size());
  unsub.filters = std::move(request.filters);
  if (!s.write(mqtt::Packet(std::move(unsub)), now)) return r.error = CommandError::encode_failed, r;
  s.pending_acks.push_back(PendingAck{*id, count, false});
  r.packet_id = *id;
  return r;
}

std::optional<PendingAck> ClientSession::Impl::take_pending(std::uint16_t id, bool subscribe) {
  for (auto it = pending_acks.begin(); it != pending_acks.end(); ++it) {
    if (it->packet_id == id && it->subscribe == subscribe) {
      PendingAck p = *it;
      pending_acks.erase(it);
      return p;
    }
  }
  return std::nullopt;
}

void ClientSession::Impl::on_packet(const mqtt::SubackView& p, std::uint64_t start, TimeMs now) {
  before_connack_check(mqtt::PacketType::suback, start, now);
  const auto pending = take_pending(p.packet_id, true);
  if (!pending) {
    violation("MQTT-3.8.4-2", "SUBACK for packet id " + std::to_string(p.packet_id) + " that has no SUBSCRIBE waiting",
              mqtt::PacketType::suback, start, now);
  } else if (pending->count != p.reason_codes.size()) {
    violation(sid("MQTT-3.8.4-6", "MQTT-3.8.4-5"),
              "SUBACK has " + std::to_string(p.reason_codes.size()) + " reason codes for " +
                  std::to_string(pending->count) + " subscriptions",
              mqtt::PacketType::suback, start, now);
  }
  event::SubackReceived e;
  e.packet_id = p.packet_id;
  e.reason_codes = p.reason_codes;
  e.properties = own_properties(p.properties);
  e.at = now;
  emit(std::move(e));
}

void ClientSession::Impl::on_packet(const mqtt::UnsubackView& p, std::uint64_t start, TimeMs now) {
  before_connack_check(mqtt::PacketType::unsuback, start, now);
  const auto pending = take_pending(p.packet_id, false);
  if (!pending) {
    violation(sid("MQTT-2.2.1-6", "MQTT-2.3.1-7"),
              "UNSUBACK for packet id " + std::to_string(p.packet_id) + " that has no UNSUBSCRIBE waiting",
              mqtt::PacketType::unsuback, start, now);
  } else if (v5() && pending->count != p.reason_codes.size()) {
    violation("MQTT-3.11.3-2",
              "UNSUBACK has " + std::to_string(p.reason_codes.size()) + " reason codes for " +
                  std::to_string(pending->count) + " filters",
              mqtt::PacketType::unsuback, start, now);
  }
  event::UnsubackReceived e;
  e.packet_id = p.packet_id;
  e.reason_codes = p.reason_codes;
  e.properties = own_properties(p.properties);
  e.at = now;
  emit(std::move(e));
}

}  // namespace mqtth::client
