// Keep-alive: PINGREQ when nothing was sent for Keep Alive seconds [MQTT-3.1.2-23], a
// PINGRESP that does not come within the timeout [MQTT-3.12.4-1].
#include "ClientSessionImpl.hpp"

namespace mqtth::client {

using namespace detail;

// 0: no limit (keep-alive off and no explicit timeout).
TimeMs ClientSession::Impl::pingresp_timeout() const {
  return config.pingresp_timeout_ms > 0 ? config.pingresp_timeout_ms : TimeMs(keep_alive) * 1000;
}

std::optional<TimeMs> ClientSession::Impl::next_deadline() const {
  if (state != SessionState::connected) return std::nullopt;
  std::optional<TimeMs> d;
  if (keep_alive > 0 && !misbehave.suppress_pingreq && !ping_sent_at) d = last_sent + TimeMs(keep_alive) * 1000;
  if (ping_sent_at && pingresp_timeout() > 0) {
    const TimeMs t = *ping_sent_at + pingresp_timeout();
    d = d ? std::min(*d, t) : t;
  }
  return d;
}

void ClientSession::Impl::send_pingreq(TimeMs now) {
  write(mqtt::Packet(mqtt::Pingreq{}), now);
  if (!ping_sent_at) ping_sent_at = now;
}

void ClientSession::Impl::advance(TimeMs now) {
  if (state != SessionState::connected) return;
  if (ping_sent_at && pingresp_timeout() > 0 && now >= *ping_sent_at + pingresp_timeout()) {
    report(Finding::pingresp_missing, "no PINGRESP within " + std::to_string(pingresp_timeout()) + " ms of PINGREQ",
           mqtt::PacketType::pingresp, bytes_in, now, true);
    input_dead = true;
    request_close("keep-alive timeout: no PINGRESP");
    return;
  }
  // [MQTT-3.1.2-23]: a packet at least every Keep Alive seconds; PINGREQ when idle.
  if (keep_alive > 0 && !misbehave.suppress_pingreq && !ping_sent_at &&
      now >= last_sent + TimeMs(keep_alive) * 1000) {
    send_pingreq(now);
  }
}

void ClientSession::ping(TimeMs now) {
  if (!impl_->has_connection()) return;
  impl_->send_pingreq(now);
}

void ClientSession::Impl::on_packet(const mqtt::PingrespView&, std::uint64_t start, TimeMs now) {
  before_connack_check(mqtt::PacketType::pingresp, start, now);
  ping_sent_at.reset();
}

}  // namespace mqtth::client
