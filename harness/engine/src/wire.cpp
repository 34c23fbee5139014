// Bytes in and packets out of a connection: framing, decode errors (answered per 4.13:
// 5.0 DISCONNECT or CONNACK with the reason code; 3.1.1 close), dispatch of each packet
// to the handler of its type (the handlers live in the file of their concern), protocol
// violations, PINGREQ and AUTH, and the encoding of every packet the broker sends.
#include "BrokerEngineImpl.hpp"

#include <charconv>

namespace mqtth::engine {

using namespace detail;

namespace {

// The protocol level byte of a CONNECT whose body could not be decoded, if it is there.
std::optional<std::uint8_t> peek_connect_level(mqtt::Bytes packet) {
  if (packet.empty() || (packet[0] >> 4) != 1) return std::nullopt;
  std::size_t i = 1;
  while (i < packet.size() && i < 5 && (packet[i] & 0x80)) ++i;
  ++i;  // past the last remaining-length byte
  if (i + 2 > packet.size()) return std::nullopt;
  std::size_t name_len = (std::size_t{packet[i]} << 8) | packet[i + 1];
  std::size_t level_at = i + 2 + name_len;
  if (level_at >= packet.size()) return std::nullopt;
  return packet[level_at];
}

}  // namespace

void BrokerEngine::Impl::receive(ConnectionId id, mqtt::Bytes data, Clock now) {
  auto it = connections.find(id);
  if (it == connections.end()) return;
  Connection* conn = it->second.get();
  conn->framer.feed(data);
  while (true) {
    auto frame = conn->framer.next();
    if (frame.status == mqtt::FrameInfo::Status::need_more) return;
    if (frame.status == mqtt::FrameInfo::Status::error) {
      on_decode_error(*conn, frame.error, frame.packet, now);
      return;
    }
    conn->last_rx = now;  // any packet resets the keep-alive timer (3.1.2.10)
    if (!on_packet(*conn, frame.packet, now)) return;  // connection closed
    it = connections.find(id);
    if (it == connections.end()) return;
    conn = it->second.get();
  }
}

void BrokerEngine::Impl::on_decode_error(Connection& conn, const mqtt::Error& error, mqtt::Bytes packet,
                                         Clock now) {
  // The description goes out as a 5.0 Reason String or into the log; it is only built
  // when one of them will use it (3.1.1 errors without a logger are the common case).
  auto describe = [&] {  // one allocation: appended in place, no temporaries
    const std::string_view code = mqtt::to_string(error.code);
    char offset[10];  // a uint32_t has at most 10 digits
    const auto end = std::to_chars(offset, offset + sizeof offset, error.offset).ptr;
    std::string why;
    why.reserve(code.size() + 11 + 10 + 2 + error.message.size() + 3 + error.spec.size() + 1);
    why.append(code).append(" at offset ").append(offset, end);
    if (!error.message.empty()) why.append(": ").append(error.message);
    return why;
  };
  std::string why;
  if (logger || (conn.state == Connection::State::awaiting_connect ? peek_connect_level(packet) == 5
                                                                    : is_v5(conn.version)))
    why = describe();
  if (conn.state == Connection::State::awaiting_connect) {
    // Before CONNACK: 5.0 answers with a CONNACK carrying the error (4.13.1), 3.1.1 can
    // only refuse an unacceptable protocol level (3.1.1: MQTT-3.1.2-2) and close.
    auto level = peek_connect_level(packet);
    ++stats.protocol_errors;
    if (error.code == mqtt::Errc::unsupported_protocol_version) {
      refuse_connect(conn, Version::v3_1_1, 0x01, why, now, /*level_unknown=*/true);  // 3.1.1 return code 0x01
      return;
    }
    if (error.code == mqtt::Errc::client_identifier_not_valid && level && *level < 5) {
      refuse_connect(conn, Version::v3_1_1, 0x02, why, now);  // 3.1.1: MQTT-3.1.3-8 / 3.2.2.3
      return;
    }
    if (level && *level == 5) {
      std::uint8_t code = static_cast<std::uint8_t>(error.code);
      if (!mqtt::reason_code_allowed(code, PacketType::connack)) code = reason::malformed_packet;
      if (!error.spec.empty()) why.append(" [").append(error.spec).append("]");
      refuse_connect(conn, Version::v5, code, why, now);
      return;
    }
    if (logger) log(conn.id, "closing before CONNECT: " + why);
    close_connection(conn.id, now, false);
    return;
  }
  std::uint8_t code = static_cast<std::uint8_t>(error.code);
  if (code < 0x80) code = reason::malformed_packet;
  close_for_violation(conn, code, why, error.spec, now);
}

bool BrokerEngine::Impl::on_packet(Connection& conn, mqtt::Bytes bytes, Clock now) {
  mqtt::DecodeOptions options;
  options.version = conn.version == Version::v3_1 ? Version::v3_1_1 : conn.version;
  options.maximum_packet_size = config.maximum_packet_size;
  auto decoded = mqtt::decode(bytes, options);
  if (!decoded.ok() && conn.state == Connection::State::connected && ignores_bad_packet(conn, decoded.error)) {
    log(conn.id, "deviation: bad packet dropped, connection kept");
    return true;
  }
  if (!decoded.ok()) {
    on_decode_error(conn, decoded.error, bytes, now);
    return false;
  }
  const mqtt::PacketView& packet = decoded.value;
  if (conn.state == Connection::State::awaiting_connect) {
    if (auto* connect = std::get_if<mqtt::ConnectView>(&packet)) return on_connect(conn, *connect, now);
    // The first packet must be CONNECT (3.1.1: MQTT-3.1.0-1; 5.0: 3.1).
    ++stats.protocol_errors;
    log(conn.id, "closing: first packet is not CONNECT [MQTT-3.1.0-1]");
    close_connection(conn.id, now, false);
    return false;
  }
  if (!conn.session) {  // cannot happen: a connected connection always has its session
    close_for_violation(conn, reason::unspecified_error, "internal: no session", "", now);
    return false;
  }
  return std::visit([&](const auto& p) { return handle(conn, p, now); }, packet);
}

// Deviation switches that keep a connection open after a packet the codec rejected.
bool BrokerEngine::Impl::ignores_bad_packet(const Connection& conn, const mqtt::Error& error) const {
  const Version v = conn.version;
  if (deviates(Deviation::malformed_ignored, v)) return true;
  const std::string_view spec = error.spec;
  if (spec == "MQTT-3.3.1-4") return deviates(Deviation::qos3_publish_ignored, v);
  if (spec == (is_v5(v) ? "MQTT-3.8.3-5" : "MQTT-3.8.3-4")) return deviates(Deviation::subscribe_reserved_bits_ignored, v);
  if (spec == "MQTT-3.3.2-8") return deviates(Deviation::topic_alias_zero_accepted, v);
  return config.deviate.on(Deviation::bad_packet_kept_open, spec, v);
}

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::PingreqView&, Clock) {
  if (deviates(Deviation::pingresp_not_sent, conn.version)) return true;
  emit(conn, mqtt::PacketView(mqtt::PingrespView{}));  // [MQTT-3.12.4-1]
  return true;
}

bool BrokerEngine::Impl::handle(Connection& conn, const mqtt::AuthView&, Clock now) {
  // No authentication method was accepted on this connection (CONNECT with one is
  // refused with 0x8C), so any AUTH is a protocol error (4.12).
  close_for_violation(conn, reason::protocol_error, "AUTH without an authentication method", "MQTT-4.12.0-6", now);
  return false;
}

// Closes a connection because of what the client did. 5.0: DISCONNECT with the reason
// code first, but only after a successful CONNACK [MQTT-3.14.0-1]; 3.1.1: just close
// (3.1.1: MQTT-4.8.0-1).
void BrokerEngine::Impl::close_for_violation(Connection& conn, std::uint8_t code, std::string_view why,
                                             std::string_view spec, Clock now) {
  ++stats.protocol_errors;
  const bool disconnect = is_v5(conn.version) && conn.state == Connection::State::connected;
  std::string text;
  if (disconnect || logger) {  // the Reason String, or the log line; otherwise not built
    text.reserve(why.size() + spec.size() + 3);
    text.append(why);
    if (!spec.empty()) text.append(" [").append(spec).append("]");
  }
  if (logger) log(conn.id, "closing: " + text);
  if (disconnect) {
    if (!mqtt::reason_code_allowed(code, PacketType::disconnect)) code = reason::unspecified_error;
    send_disconnect(conn, code, text);
  }
  close_connection(conn.id, now, true);
}

// Every DISCONNECT the broker sends precedes a close it makes. 4.13.1 says it SHOULD be
// sent, not MUST, so behaviour.disconnect_before_close can leave it out.
void BrokerEngine::Impl::send_disconnect(Connection& conn, std::uint8_t code, std::string_view text) {
  if (!config.behaviour.disconnect_before_close) return;
  mqtt::DisconnectView d;
  d.reason_code = code;
  if (deviates(Deviation::disconnect_with_session_expiry, conn.version)) {  // breaks [MQTT-3.14.2-2]
    std::string& raw = scratch_packet_properties;
    raw.clear();
    mqtt::append_property(raw, {.id = PropertyId::session_expiry_interval, .number = 0});
    d.properties = mqtt::PropertiesView(raw);
    emit(conn, mqtt::PacketView(d));
    return;
  }
  emit_with_reason_string(conn, d, text);
}

bool BrokerEngine::Impl::emit(Connection& conn, const mqtt::PacketView& packet) {
  Version v = conn.version == Version::v3_1 ? Version::v3_1_1 : conn.version;
  auto size = mqtt::encoded_size(packet, v);
  if (!size.ok()) {
    log(conn.id, "internal: packet could not be encoded, not sent");
    return false;
  }
  if (is_v5(conn.version) && size.value > conn.client_maximum_packet_size &&
      !deviates(Deviation::maximum_packet_size_ignored, conn.version))
    return false;
  std::string& bytes = output_for(conn.id);
  std::size_t start = bytes.size();
  bytes.resize(start + size.value);
  auto written = mqtt::encode(packet, v,
                              mqtt::MutableBytes(reinterpret_cast<std::uint8_t*>(bytes.data()) + start, size.value));
  if (!written.ok()) {
    bytes.resize(start);
    return false;
  }
  return true;
}

}  // namespace mqtth::engine
