// SUBSCRIBE and UNSUBSCRIBE, and the SUBACK / UNSUBACK that answer them (packet id and
// reason code count checked; an answer to a raw request is matched to it, and an answer
// to a request the broker had to refuse is reported as such).
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
  const bool id_zero = *id == 0;  // a misbehaviour: the broker must close, not answer
  s.pending_acks.push_back(PendingAck{*id, count, true, id_zero, id_zero ? s.sid("MQTT-2.2.1-3", "MQTT-2.3.1-1") : ""});
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
  const bool id_zero = *id == 0;  // a misbehaviour: the broker must close, not answer
  s.pending_acks.push_back(PendingAck{*id, count, false, id_zero, id_zero ? s.sid("MQTT-2.2.1-3", "MQTT-2.3.1-1") : ""});
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

std::optional<PendingAck> ClientSession::Impl::answered_request(std::uint16_t id, bool subscribe, std::uint64_t start,
                                                                TimeMs now) {
  const auto answer = subscribe ? mqtt::PacketType::suback : mqtt::PacketType::unsuback;
  auto request = take_pending(id, subscribe);
  if (!request) {
    if (const auto raw = take_raw_answered(answer, id)) {
      request = PendingAck{id, raw->count, subscribe, raw->refusable, raw->broke};
    }
  }
  if (!request) {
    report(subscribe ? Finding::suback_unknown_id : Finding::unsuback_unknown_id,
           std::string(mqtt::to_string(answer)) + " for packet id " + std::to_string(id) + " that has no " +
               (subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE") + " waiting",
           answer, start, now);
  } else if (request->refusable) {
    answered_refusable(answer, id, subscribe ? mqtt::PacketType::subscribe : mqtt::PacketType::unsubscribe,
                       request->broke, start, now);
  }
  return request;
}

void ClientSession::Impl::on_packet(const mqtt::SubackView& p, std::uint64_t start, TimeMs now) {
  before_connack_check(mqtt::PacketType::suback, start, now);
  const auto request = answered_request(p.packet_id, true, start, now);
  if (request && !request->refusable && request->count != p.reason_codes.size()) {
    report(Finding::suback_count,
           "SUBACK has " + std::to_string(p.reason_codes.size()) + " reason codes for " +
               std::to_string(request->count) + " subscriptions",
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
  const auto request = answered_request(p.packet_id, false, start, now);
  if (v5() && request && !request->refusable && request->count != p.reason_codes.size()) {
    report(Finding::unsuback_count,
           "UNSUBACK has " + std::to_string(p.reason_codes.size()) + " reason codes for " +
               std::to_string(request->count) + " filters",
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
