// The in-flight store, which survives connections: packet ids (allocation, misbehaving
// reuse), the pool of outbound QoS 1/2 slots chained by packet id, the inbound state of
// each packet id, and a ring of recent receipts that tells a re-send of a message from a
// new message on the same packet id.
#include "ClientSessionImpl.hpp"

namespace mqtth::client {

using namespace detail;

bool ClientSession::Impl::id_in_use(std::uint16_t id) const {
  if (!slot_of_id.empty() && slot_of_id[id] != kNoSlot) return true;
  return std::any_of(pending_acks.begin(), pending_acks.end(),
                     [id](const PendingAck& p) { return p.packet_id == id; }) ||
         raw_request_uses(id);
}

// Non-zero and not in use [MQTT-2.2.1-3 / MQTT-2.3.1-2], unless a misbehaviour says otherwise.
std::optional<std::uint16_t> ClientSession::Impl::allocate_id() {
  if (misbehave.fixed_packet_id) return last_assigned_id = *misbehave.fixed_packet_id;
  if (misbehave.reuse_in_flight_packet_id && last_assigned_id != 0 && id_in_use(last_assigned_id)) {
    return last_assigned_id;
  }
  if (outbound_count + pending_acks.size() >= 65535) return std::nullopt;
  for (std::uint32_t tries = 0; tries < 65535; ++tries) {
    const std::uint16_t id = next_id;
    next_id = next_id == 65535 ? 1 : static_cast<std::uint16_t>(next_id + 1);
    if (!id_in_use(id)) return last_assigned_id = id;
  }
  return std::nullopt;
}

std::uint32_t ClientSession::Impl::new_slot() {
  if (!free_slots.empty()) {
    const std::uint32_t s = free_slots.back();
    free_slots.pop_back();
    return s;
  }
  slots.emplace_back();
  slots.back().packet = mqtt::Publish{};
  return static_cast<std::uint32_t>(slots.size() - 1);
}

void ClientSession::Impl::link_id(std::uint32_t slot) {
  ensure_id_index();
  const std::uint16_t id = slots[slot].publish().packet_id;
  slots[slot].next_same_id = kNoSlot;
  std::uint32_t* link = &slot_of_id[id];
  while (*link != kNoSlot) link = &slots[*link].next_same_id;
  *link = slot;
}

void ClientSession::Impl::unlink_id(std::uint32_t slot) {
  const std::uint16_t id = slots[slot].publish().packet_id;
  std::uint32_t* link = &slot_of_id[id];
  while (*link != kNoSlot && *link != slot) link = &slots[*link].next_same_id;
  if (*link == slot) *link = slots[slot].next_same_id;
  slots[slot].next_same_id = kNoSlot;
}

void ClientSession::Impl::free_slot(std::uint32_t slot) {
  Outbound& o = slots[slot];
  if (o.stage == Stage::sent || o.stage == Stage::released) --outbound_in_flight;
  unlink_id(slot);
  o.stage = Stage::free;
  o.pubrel_sent = false;
  auto& p = o.publish();
  p.payload = std::string();  // release the payload now; the slot's other strings are reused
  --outbound_count;
  free_slots.push_back(slot);
}

// The oldest outbound slot on this id in the given stages, or kNoSlot.
std::uint32_t ClientSession::Impl::find_slot(std::uint16_t id, Stage a, Stage b) const {
  if (slot_of_id.empty()) return kNoSlot;
  for (std::uint32_t s = slot_of_id[id]; s != kNoSlot; s = slots[s].next_same_id) {
    if (slots[s].stage == a || (b != Stage::free && slots[s].stage == b)) return s;
  }
  return kNoSlot;
}

void ClientSession::Impl::abandon_outbound(std::string_view why, TimeMs now) {
  for (std::uint32_t s = 0; s < slots.size(); ++s) {
    Outbound& o = slots[s];
    if (o.stage == Stage::sent || o.stage == Stage::released) {
      event::PublishAbandoned e;
      e.packet_id = o.publish().packet_id;
      e.message_id = o.message_id;
      e.why = why;
      e.at = now;
      emit(std::move(e));
      free_slot(s);
    }
  }
}

void ClientSession::Impl::clear_inbound() {
  if (!inbound.empty()) std::fill(inbound.begin(), inbound.end(), Inbound::none);
  if (!received_ring.empty()) std::fill(received_ring.begin(), received_ring.end(), RecentReceipt{});
  inbound_in_flight = 0;
  owed_resends.clear();
}

void ClientSession::Impl::set_inbound(std::uint16_t id, Inbound to) {
  ensure_inbound();
  const auto counts = [](Inbound s) { return s == Inbound::qos1_unacked || s == Inbound::qos2_received || s == Inbound::qos2_comp_withheld; };
  const Inbound from = inbound[id];
  if (counts(from) && !counts(to)) --inbound_in_flight;
  if (!counts(from) && counts(to)) ++inbound_in_flight;
  inbound[id] = to;
}

// Recent receipts whose packet id stays tracked (QoS 2; QoS 1 with the PUBACK withheld):
// packet id + content hash in a fixed ring, enough to tell the same message re-sent from a
// new one on the id without per-message allocation. Only the anomalies look it up.
std::uint32_t ClientSession::Impl::content_hash(std::string_view topic, std::string_view payload, std::uint8_t qos) {
  std::uint32_t h = 2166136261u;  // FNV-1a
  const auto mix = [&h](std::string_view s) {
    for (const char c : s) h = (h ^ static_cast<std::uint8_t>(c)) * 16777619u;
  };
  mix(topic);
  h = (h ^ 0xFFu) * 16777619u;
  mix(payload);
  h = (h ^ qos) * 16777619u;
  return h;
}

void ClientSession::Impl::remember_received(std::uint16_t id, std::uint32_t hash) {
  if (received_ring.empty()) received_ring.assign(kReceivedRing, RecentReceipt{});
  received_ring[received_ring_pos] = RecentReceipt{hash, id, true};
  received_ring_pos = (received_ring_pos + 1) % kReceivedRing;
}

std::optional<std::uint32_t> ClientSession::Impl::last_received(std::uint16_t id) const {
  if (received_ring.empty()) return std::nullopt;
  for (std::size_t n = 0; n < kReceivedRing; ++n) {
    const RecentReceipt& r = received_ring[(received_ring_pos + kReceivedRing - 1 - n) % kReceivedRing];
    if (!r.used) return std::nullopt;  // the ring fills in order: nothing older
    if (r.id == id) return r.hash;
  }
  return std::nullopt;
}

}  // namespace mqtth::client
