// Bytes from the broker: framing (in any chunking), decoding with the connection's
// version and the client's Maximum Packet Size, tracing (event::PacketReceived), dispatch
// to the handler of each packet type (in the file of its concern), and the packets only a
// client may send.
#include "ClientSessionImpl.hpp"

namespace mqtth::client {

using namespace detail;

void ClientSession::Impl::receive(mqtt::Bytes bytes, TimeMs now) {
  if (state == SessionState::disconnected || input_dead) return;
  bytes_in += bytes.size();
  framer.feed(bytes);
  while (!input_dead) {
    const auto frame = framer.next();
    if (frame.status == mqtt::FrameInfo::Status::need_more) break;
    if (frame.status == mqtt::FrameInfo::Status::error) {
      const bool too_large = frame.error.code == mqtt::Errc::packet_too_large;
      const std::string message = "cannot frame the broker's bytes: " + std::string(frame.error.message);
      if (too_large && v5() && options.maximum_packet_size) {
        report_with_spec(Finding::packet_too_large, statement(Finding::packet_too_large, version), message,
                         std::nullopt, frame.error.offset, now, true, frame.error.code, 0);
      } else {
        report_with_spec(Finding::framing_error, frame.error.spec, message, std::nullopt, frame.error.offset, now,
                         true, frame.error.code, 0);
      }
      // The stream cannot be framed any more: whatever the configuration, stop reading.
      const std::uint8_t reason = too_large ? mqtt::reason::packet_too_large : mqtt::reason::malformed_packet;
      abandon_connection(reason, now);
      break;
    }
    const std::uint64_t start = framer.stream_offset() - frame.packet.size();
    handle_packet(frame.packet, start, now);
  }
}

namespace {

// Where the packet identifier of an acknowledgement starts: after the fixed header.
std::size_t packet_id_offset(mqtt::Bytes raw) {
  std::size_t at = 1;
  while (at < raw.size() && (raw[at] & 0x80) != 0) ++at;
  return at + 1;
}

bool is_acknowledgement(mqtt::PacketType t) {
  switch (t) {
    case mqtt::PacketType::puback:
    case mqtt::PacketType::pubrec:
    case mqtt::PacketType::pubrel:
    case mqtt::PacketType::pubcomp:
    case mqtt::PacketType::suback:
    case mqtt::PacketType::unsuback: return true;
    default: return false;
  }
}

}  // namespace

void ClientSession::Impl::handle_packet(mqtt::Bytes raw, std::uint64_t start, TimeMs now) {
  mqtt::DecodeOptions decode_options;
  decode_options.version = wire_version();
  if (v5() && options.maximum_packet_size) decode_options.maximum_packet_size = *options.maximum_packet_size;
  auto decoded = mqtt::decode(raw, decode_options);
  const auto type = type_of_first_byte(raw.data(), raw.size());
  // The codec refuses an acknowledgement with packet id 0 without context: no request has
  // id 0 [MQTT-2.3.1-1]. When the client sent one on purpose (raw, or a misbehaviour), the
  // answer echoes it, as the broker must [MQTT-2.3.1-6/-7]: take it as that answer if the
  // rest of it is valid (decoded with the id replaced), and judge it as one.
  std::string with_id_one;
  const std::size_t id_at = packet_id_offset(raw);
  const bool echoes_id_zero = !decoded.ok() && decoded.error.code == mqtt::Errc::protocol_error && type &&
                              is_acknowledgement(*type) && decoded.error.offset == id_at && id_at + 1 < raw.size() &&
                              raw[id_at] == 0 && raw[id_at + 1] == 0 && awaits_answer_with_id_zero(*type);
  if (echoes_id_zero) {
    with_id_one.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
    with_id_one[id_at + 1] = 1;
    decoded = mqtt::decode(std::string_view(with_id_one), decode_options);
    if (decoded.ok()) {
      std::visit([](auto& p) {
        if constexpr (requires { p.packet_id; }) p.packet_id = 0;
      }, decoded.value);
    }
  }
  if (!decoded.ok()) {
    const auto& err = decoded.error;
    report_with_spec(Finding::invalid_packet, err.spec,
                     "broker sent an invalid " + std::string(type ? mqtt::to_string(*type) : "packet") + ": " +
                         std::string(err.message),
                     type, start, now, config.close_on_violation, err.code, err.offset);
    if (config.close_on_violation) {
      const auto code = static_cast<std::uint8_t>(err.code);
      abandon_connection(code >= 0x80 ? code : mqtt::reason::malformed_packet, now);
    }
    return;
  }
  if (config.trace_packets) {
    event::PacketReceived e;
    e.packet = mqtt::to_owned(decoded.value);
    e.raw.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
    e.at = now;
    emit(std::move(e));
  }
  std::visit([&](const auto& p) { on_packet(p, start, now); }, decoded.value);
}

// A packet only a client may send came from the broker.
template <class P>
void ClientSession::Impl::client_only_packet(const P&, std::uint64_t start, TimeMs now) {
  report(Finding::client_only_packet,
         "broker sent " + std::string(mqtt::to_string(P::type)) + ", a packet only a client may send", P::type, start,
         now, config.close_on_violation);
  if (config.close_on_violation) abandon_connection(mqtt::reason::protocol_error, now);
}

void ClientSession::Impl::before_connack_check(mqtt::PacketType type, std::uint64_t start, TimeMs now) {
  if (!connack_seen && !(v5() && type == mqtt::PacketType::auth)) {
    report(Finding::packet_before_connack, "broker sent " + std::string(mqtt::to_string(type)) + " before CONNACK",
           type, start, now);
  }
}

void ClientSession::Impl::on_packet(const mqtt::ConnectView& p, std::uint64_t s, TimeMs now) {
  client_only_packet(p, s, now);
}

void ClientSession::Impl::on_packet(const mqtt::SubscribeView& p, std::uint64_t s, TimeMs now) {
  client_only_packet(p, s, now);
}

void ClientSession::Impl::on_packet(const mqtt::UnsubscribeView& p, std::uint64_t s, TimeMs now) {
  client_only_packet(p, s, now);
}

void ClientSession::Impl::on_packet(const mqtt::PingreqView& p, std::uint64_t s, TimeMs now) {
  client_only_packet(p, s, now);
}

}  // namespace mqtth::client
