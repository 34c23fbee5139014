#include "ClientObligations.hpp"

#include <algorithm>

namespace mqtth::runner {

namespace {

using mqtt::PacketType;

// The packet types only a server sends (2.1.2: their direction is Server to Client).
bool server_only(PacketType t) {
  return t == PacketType::connack || t == PacketType::suback || t == PacketType::unsuback || t == PacketType::pingresp;
}

std::string packet_name(PacketType t) { return std::string(mqtt::to_string(t)); }

}  // namespace

void ClientObligations::connection_opened() {
  ++connection_;
  connect_seen_ = false;
  disconnect_seen_ = false;
  refused_ = false;
  keep_alive_ms_.reset();
}

std::vector<ObligationBreach> ClientObligations::client_sent(const mqtt::PacketView& packet, double now_ms) {
  std::vector<ObligationBreach> out;
  const PacketType type = mqtt::packet_type(packet);
  last_client_packet_ms_ = now_ms;
  if (!connect_seen_ && type != PacketType::connect) {
    out.push_back({"MQTT-3.1.0-1", "the client's first packet on a connection is " + packet_name(type) + ", not CONNECT"});
    return out;
  }
  if (disconnect_seen_) {
    out.push_back({id("MQTT-3.14.4-2", "MQTT-3.14.4-1"), "the client sent " + packet_name(type) + " after its DISCONNECT"});
    return out;
  }
  if (refused_ && type != PacketType::disconnect) {
    out.push_back({"", "the client sent " + packet_name(type) + " on a connection whose CONNECT the server refused"});
    return out;
  }
  if (server_only(type)) {
    out.push_back({"", "the client sent " + packet_name(type) + ", a packet only a server sends (2.1.2)"});
    return out;
  }
  if (const auto* c = std::get_if<mqtt::ConnectView>(&packet)) {
    if (connect_seen_) {
      out.push_back({"", "the client sent a second CONNECT on one connection (a protocol violation, 3.1)"});
      return out;
    }
    connect_seen_ = true;
    connect_keep_alive_ = c->keep_alive;
    // A new session on either side: nothing of before is owed any more.
    if (c->clean_start) {
      in_flight_.clear();
      discarded_releases_.clear();
    }
    return out;
  }
  if (type == PacketType::disconnect) {
    disconnect_seen_ = true;
    return out;
  }
  if (const auto* r = std::get_if<mqtt::PubrelView>(&packet)) {
    const auto it = in_flight_.find(r->packet_id);
    if (it != in_flight_.end() && it->second.released) return out;
    const std::string pid = std::to_string(r->packet_id);
    if (discarded_releases_.contains(r->packet_id))
      out.push_back({v5() ? "MQTT-3.2.2-5" : "",
                     "the client sent PUBREL for packet id " + pid +
                         " of its old session after the CONNACK's Session Present 0: it kept its session state"});
    else
      out.push_back({id("MQTT-2.3.1-6", "MQTT-2.2.1-5"),
                     "the client sent PUBREL for packet id " + pid + ", for which the harness sent no PUBREC in this session"});
    return out;
  }
  if (const auto* p = std::get_if<mqtt::PublishView>(&packet)) {
    if (v5() && p->properties.find(mqtt::PropertyId::subscription_identifier))
      out.push_back({"MQTT-3.3.4-6", "the client's PUBLISH carries a Subscription Identifier"});
    if (v5() && p->qos > maximum_qos_)
      out.push_back({"MQTT-3.2.2-11", "the client published at QoS " + std::to_string(p->qos) +
                                          " where the CONNACK's Maximum QoS is " + std::to_string(maximum_qos_)});
    if (v5() && p->retain && !retain_available_)
      out.push_back({"MQTT-3.2.2-14", "the client set RETAIN where the CONNACK said Retain Available 0"});
    if (v5()) {
      if (auto alias = p->properties.find(mqtt::PropertyId::topic_alias); alias && alias->number > topic_alias_maximum_)
        out.push_back({topic_alias_maximum_ == 0 ? "MQTT-3.2.2-18" : "MQTT-3.2.2-17",
                       "the client used Topic Alias " + std::to_string(alias->number) +
                           " where the CONNACK's Topic Alias Maximum is " + std::to_string(topic_alias_maximum_)});
    }
    if (p->qos == 0) return out;
    auto it = in_flight_.find(p->packet_id);
    if (it != in_flight_.end()) {
      const InFlight& f = it->second;
      if (f.released) {
        out.push_back({id("MQTT-4.3.3-1", "MQTT-4.3.3-4"),
                       "after the harness's PUBREC for packet id " + std::to_string(p->packet_id) +
                           " the client sent PUBLISH again, not PUBREL"});
      } else if (f.connection != connection_ && !p->dup && f.topic == p->topic && f.payload == p->payload) {
        out.push_back({"MQTT-3.3.1-1", "the client re-sent its unacknowledged PUBLISH (packet id " +
                                           std::to_string(p->packet_id) + ") on a new connection with DUP 0"});
      } else if (f.connection == connection_ && (f.topic != p->topic || f.payload != p->payload)) {
        out.push_back({id("MQTT-2.3.1-2", "MQTT-2.2.1-3"), "the client used packet id " + std::to_string(p->packet_id) +
                                                               " for a new PUBLISH while its earlier one is unacknowledged"});
      }
      return out;
    }
    in_flight_[p->packet_id] = InFlight{false, connection_, std::string(p->topic), std::string(p->payload)};
    discarded_releases_.erase(p->packet_id);
    if (v5() && in_flight_.size() > receive_maximum_)
      out.push_back({"MQTT-3.3.4-7", "the client has " + std::to_string(in_flight_.size()) +
                                         " QoS 1/2 PUBLISHes unacknowledged where the CONNACK's Receive Maximum is " +
                                         std::to_string(receive_maximum_)});
    return out;
  }
  return out;
}

void ClientObligations::server_sent(const mqtt::PacketView& packet, double now_ms) {
  if (const auto* c = std::get_if<mqtt::ConnackView>(&packet)) {
    if (c->reason_code != 0) {
      refused_ = true;
      return;
    }
    // Session Present 0: the client starts a new session and owes nothing of an old one; it
    // must discard the old state (5.0 MQTT-3.2.2-5), so a PUBREL it owed there is a breach.
    if (!c->session_present) {
      for (const auto& [packet_id, f] : in_flight_)
        if (f.released) discarded_releases_.insert(packet_id);
      in_flight_.clear();
    }
    maximum_qos_ = 2;
    retain_available_ = true;
    receive_maximum_ = 65535;
    topic_alias_maximum_ = 0;
    std::uint16_t keep_alive = connect_keep_alive_;
    if (v5()) {
      using P = mqtt::PropertyId;
      if (auto x = c->properties.find(P::maximum_qos)) maximum_qos_ = static_cast<std::uint8_t>(x->number);
      if (auto x = c->properties.find(P::retain_available)) retain_available_ = x->number != 0;
      if (auto x = c->properties.find(P::receive_maximum)) receive_maximum_ = static_cast<std::uint16_t>(x->number);
      if (auto x = c->properties.find(P::topic_alias_maximum)) topic_alias_maximum_ = static_cast<std::uint16_t>(x->number);
      // The client uses the Server Keep Alive instead of its own [MQTT-3.1.2-21].
      server_keep_alive_ = false;
      if (auto x = c->properties.find(P::server_keep_alive)) {
        keep_alive = static_cast<std::uint16_t>(x->number);
        server_keep_alive_ = true;
      }
    }
    if (keep_alive > 0) keep_alive_ms_ = keep_alive * 1000.0;
    else keep_alive_ms_.reset();
    last_client_packet_ms_ = std::max(last_client_packet_ms_, now_ms);
    return;
  }
  if (const auto* a = std::get_if<mqtt::PubackView>(&packet)) {
    in_flight_.erase(a->packet_id);
  } else if (const auto* r = std::get_if<mqtt::PubrecView>(&packet)) {
    auto it = in_flight_.find(r->packet_id);
    // A PUBREC with a failure code ends the flow (5.0 4.3.3): nothing more is owed.
    if (it != in_flight_.end()) {
      if (r->reason_code >= 0x80) in_flight_.erase(it);
      else it->second.released = true;
    }
  } else if (const auto* p = std::get_if<mqtt::PubcompView>(&packet)) {
    in_flight_.erase(p->packet_id);
  }
}

// The spec asks for a control packet within Keep Alive [MQTT-3.1.2-23 in 3.1.1, -20 in
// 5.0]; a server acts only after one and a half times it [MQTT-3.1.2-24 / -22], and so does
// this judgement: a client's timer granularity is never a failure.
std::optional<double> ClientObligations::keep_alive_due_ms() const {
  if (!keep_alive_ms_ || disconnect_seen_) return std::nullopt;
  return last_client_packet_ms_ + *keep_alive_ms_ * 1.5;
}

std::optional<ObligationBreach> ClientObligations::idle_check(double now_ms) const {
  const auto due = keep_alive_due_ms();
  if (!due || now_ms < *due) return std::nullopt;
  // With a Server Keep Alive in force the breach is not adopting it [MQTT-3.2.2-21].
  return ObligationBreach{server_keep_alive_ ? "MQTT-3.2.2-21" : id("MQTT-3.1.2-23", "MQTT-3.1.2-20"),
                          "the client sent nothing for " + std::to_string(static_cast<long long>(now_ms - last_client_packet_ms_)) +
                              " ms with a " + (server_keep_alive_ ? "Server Keep Alive" : "Keep Alive") + " of " +
                              std::to_string(static_cast<long long>(*keep_alive_ms_ / 1000)) +
                              " s (judged at one and a half times it)"};
}

}  // namespace mqtth::runner
