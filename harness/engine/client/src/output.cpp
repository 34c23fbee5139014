// What the session writes and reports: packets encoded into the output and traced
// (event::PacketSent), raw sends, broker violations, abandoning a connection and asking
// the shell to close it.
#include "ClientSessionImpl.hpp"

namespace mqtth::client {

using namespace detail;

void ClientSession::Impl::violation(std::string_view spec, std::string message, std::optional<mqtt::PacketType> type,
                                    std::uint64_t stream_offset, TimeMs now, bool fatal, mqtt::Errc code,
                                    std::uint32_t offset_in_packet) {
  ++violation_count;
  event::BrokerViolation v;
  v.spec = spec;
  v.message = std::move(message);
  v.packet_type = type;
  v.stream_offset = stream_offset;
  v.offset_in_packet = offset_in_packet;
  v.code = code;
  v.fatal = fatal;
  v.at = now;
  emit(std::move(v));
}

// The broker's bytes are unusable (malformed / protocol error, 4.13): 5.0 tells it why with
// DISCONNECT, then the connection is closed [MQTT-4.13.1-1 binds the Server; the Client side
// is the same rule in 4.13.1 text].
void ClientSession::Impl::abandon_connection(std::uint8_t reason_code, TimeMs now) {
  input_dead = true;
  if (v5() && state != SessionState::closing) {
    mqtt::Disconnect d;
    d.reason_code = reason_code;
    write(mqtt::Packet(std::move(d)), now);
  }
  request_close("broker violation");
}

void ClientSession::Impl::request_close(std::string_view cause) {
  if (!close_requested) {
    close_requested = true;
    closed_by_client = true;
    close_cause = cause;
  }
  state = SessionState::closing;
}

// Appends the encoded packet to the output. False when the codec cannot encode it.
bool ClientSession::Impl::write(const mqtt::Packet& packet, TimeMs now) {
  const mqtt::Version v = std::holds_alternative<mqtt::Connect>(packet) ? version : wire_version();
  const auto size = mqtt::encoded_size(packet, v);
  if (!size.ok()) return false;
  const std::size_t old = out.size();
  out.resize(old + size.value);
  const auto written = mqtt::encode(packet, v,
      mqtt::MutableBytes(reinterpret_cast<std::uint8_t*>(out.data()) + old, size.value));
  if (!written.ok()) {
    out.resize(old);
    return false;
  }
  out.resize(old + written.value);
  note_sent(old, now, &packet);
  return true;
}

void ClientSession::Impl::note_sent(std::size_t from, TimeMs now, const mqtt::Packet* packet) {
  last_sent = now;
  if (config.trace_packets) {
    event::PacketSent e;
    const std::string_view bytes(out.data() + from, out.size() - from);
    e.type = type_of_first_byte(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    if (packet) {
      e.packet = *packet;
    } else if (e.type) {
      mqtt::DecodeOptions decode_options;
      decode_options.version = version;
      if (const auto decoded = mqtt::decode(bytes, decode_options); decoded.ok()) e.packet = mqtt::to_owned(decoded.value);
    }
    e.raw.assign(bytes);
    e.at = now;
    emit(std::move(e));
  }
}

void ClientSession::send_raw(mqtt::Bytes bytes, TimeMs now) {
  Impl& s = *impl_;
  if (!s.has_connection()) return;
  s.note_raw(bytes);
  const std::size_t old = s.out.size();
  s.out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  s.note_sent(old, now, nullptr);
}

void ClientSession::send_raw(std::string_view bytes, TimeMs now) {
  send_raw(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), now);
}

CommandResult ClientSession::send_packet(const mqtt::Packet& packet, TimeMs now) {
  CommandResult r;
  if (!impl_->has_connection()) return r.error = CommandError::not_connected, r;
  if (!impl_->write(packet, now)) r.error = CommandError::encode_failed;
  return r;
}

}  // namespace mqtth::client
