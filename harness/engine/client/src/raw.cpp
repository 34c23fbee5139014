// What the session learns from send_raw() bytes. They change no session state, but the
// broker answers them: a PUBACK for a raw PUBLISH, a SUBACK for a raw SUBSCRIBE, a second
// CONNACK for a raw second CONNECT. Without this record such answers would be reported as
// answers to nothing (a SUBACK echoing a raw SUBSCRIBE's packet id 0 as an id mismatch,
// which it is not), and the broker's real fault, answering a packet it had to refuse by
// closing the connection, would go unnamed.
#include "ClientSessionImpl.hpp"

namespace mqtth::client {

using namespace detail;

namespace {

// More than any scenario writes on one connection; the oldest go first.
constexpr std::size_t kMaxRawSent = 256;

// The packet a broker's `answer` answers.
std::optional<mqtt::PacketType> request_of(mqtt::PacketType answer) {
  switch (answer) {
    case mqtt::PacketType::puback:
    case mqtt::PacketType::pubrec: return mqtt::PacketType::publish;
    case mqtt::PacketType::pubrel: return mqtt::PacketType::pubrec;
    case mqtt::PacketType::pubcomp: return mqtt::PacketType::pubrel;
    case mqtt::PacketType::suback: return mqtt::PacketType::subscribe;
    case mqtt::PacketType::unsuback: return mqtt::PacketType::unsubscribe;
    case mqtt::PacketType::connack: return mqtt::PacketType::connect;
    default: return std::nullopt;
  }
}

}  // namespace

// Reads every whole packet in `bytes` that decodes completely (a protocol error still leaves
// a complete packet, mqtt::parsed_completely); malformed bytes teach nothing but are noted
// (wrote_unreadable_raw()).
void ClientSession::Impl::note_raw(mqtt::Bytes bytes) {
  mqtt::DecodeOptions decode_options;
  decode_options.version = wire_version();
  while (!bytes.empty()) {
    const auto frame = mqtt::peek_frame(bytes);
    if (frame.status != mqtt::FrameInfo::Status::complete) {
      raw_unreadable = true;
      return;
    }
    const auto decoded = mqtt::decode(bytes.first(frame.size), decode_options);
    bytes = bytes.subspan(frame.size);
    if (!decoded.ok() && !mqtt::parsed_completely(decoded.error)) {
      raw_unreadable = true;
      continue;
    }
    RawSent r;
    if (!decoded.ok() && decoded.error.code == mqtt::Errc::protocol_error) {
      r.refusable = true;
      r.broke = decoded.error.spec;
    }
    const bool answerable = std::visit(
        [&r](const auto& p) {
          using P = std::decay_t<decltype(p)>;
          r.type = P::type;
          if constexpr (std::is_same_v<P, mqtt::PublishView>) {
            r.packet_id = p.packet_id;
            r.qos = p.qos;
            return p.qos > 0;
          } else if constexpr (std::is_same_v<P, mqtt::PubrecView> || std::is_same_v<P, mqtt::PubrelView>) {
            r.packet_id = p.packet_id;
            return true;
          } else if constexpr (std::is_same_v<P, mqtt::SubscribeView>) {
            r.packet_id = p.packet_id;
            r.count = static_cast<std::uint32_t>(p.subscriptions.size());
            return true;
          } else if constexpr (std::is_same_v<P, mqtt::UnsubscribeView>) {
            r.packet_id = p.packet_id;
            r.count = static_cast<std::uint32_t>(p.filters.size());
            return true;
          } else {
            return std::is_same_v<P, mqtt::ConnectView>;
          }
        },
        decoded.value);
    if (!answerable) continue;
    if (raw_sent.size() >= kMaxRawSent) raw_sent.erase(raw_sent.begin());
    raw_sent.push_back(r);
  }
}

std::optional<RawSent> ClientSession::Impl::take_raw_answered(mqtt::PacketType answer, std::uint16_t packet_id) {
  const auto request = request_of(answer);
  if (!request) return std::nullopt;
  for (auto it = raw_sent.begin(); it != raw_sent.end(); ++it) {
    if (it->type == *request && (it->type == mqtt::PacketType::connect || it->packet_id == packet_id)) {
      RawSent r = *it;
      raw_sent.erase(it);
      return r;
    }
  }
  return std::nullopt;
}

bool ClientSession::wrote_unreadable_raw() const noexcept { return impl_->raw_unreadable; }

bool ClientSession::Impl::raw_request_uses(std::uint16_t packet_id) const {
  return std::any_of(raw_sent.begin(), raw_sent.end(), [packet_id](const RawSent& r) {
    return r.packet_id == packet_id && r.type != mqtt::PacketType::connect && r.type != mqtt::PacketType::pubrec;
  });
}

bool ClientSession::Impl::raw_connect_sent() const {
  return std::any_of(raw_sent.begin(), raw_sent.end(),
                     [](const RawSent& r) { return r.type == mqtt::PacketType::connect; });
}

bool ClientSession::Impl::awaits_answer_with_id_zero(mqtt::PacketType answer) const {
  const auto request = request_of(answer);
  if (!request) return false;
  if (std::any_of(raw_sent.begin(), raw_sent.end(),
                  [&](const RawSent& r) { return r.type == *request && r.packet_id == 0; })) {
    return true;
  }
  switch (answer) {
    case mqtt::PacketType::suback:
    case mqtt::PacketType::unsuback: {
      const bool subscribe = answer == mqtt::PacketType::suback;
      return std::any_of(pending_acks.begin(), pending_acks.end(),
                         [&](const PendingAck& p) { return p.packet_id == 0 && p.subscribe == subscribe; });
    }
    case mqtt::PacketType::puback:
    case mqtt::PacketType::pubrec: return find_slot(0, Stage::sent, Stage::released) != kNoSlot;
    case mqtt::PacketType::pubcomp: return find_slot(0, Stage::released) != kNoSlot;
    default: return false;
  }
}

}  // namespace mqtth::client
