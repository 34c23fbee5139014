#include "mqtth/process/Bystander.hpp"

#include "mqtth/process/BlockingSocket.hpp"

#include <algorithm>
#include <chrono>

namespace mqtth::process {
namespace {

using Clock = std::chrono::steady_clock;

std::string encode(const mqtt::Packet& p, mqtt::Version v) { return mqtt::encode_to_string(p, v).value; }

}  // namespace

Bystander::Bystander(const TcpAddress& broker, mqtt::Version version, std::string client_id, int stall_ms,
                     int give_up_ms)
    : broker_(broker), version_(version), client_id_(std::move(client_id)), topic_("nf-bystander/" + client_id_),
      stall_ms_(stall_ms), give_up_ms_(give_up_ms) {}

void Bystander::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  in_.clear();
  delivered_.clear();
}

bool Bystander::connect() {
  disconnect();
  fd_ = connect_probe(broker_, give_up_ms_);
  if (fd_ < 0) return false;
  mqtt::Connect c;
  c.protocol_name = "MQTT";
  c.protocol_version = version_;
  c.client_id = client_id_;
  c.keep_alive = 0;  // never dropped while the fuzzer pauses it
  mqtt::Subscribe s;
  s.packet_id = 1;
  mqtt::Subscription sub;
  sub.filter = topic_;
  sub.options.qos = 1;
  s.subscriptions.push_back(sub);
  send_all(fd_, encode(mqtt::Packet(c), version_) + encode(mqtt::Packet(s), version_), give_up_ms_);
  // CONNACK then SUBACK.
  bool connack = false, suback = false;
  const auto deadline = Clock::now() + std::chrono::milliseconds(give_up_ms_);
  for (bool ended = false; !(connack && suback) && !ended && Clock::now() < deadline;) {
    for (const auto& packet : read_packets(give_up_ms_, ended)) {
      const auto t = static_cast<std::uint8_t>(packet[0]) >> 4;
      if (t == 2) connack = packet.size() >= 4 && packet[3] == 0;  // accepted (3.1.1 return code, 5.0 reason code)
      if (t == 9) suback = true;
    }
  }
  if (!(connack && suback)) {
    disconnect();
    return false;
  }
  return true;
}

std::vector<std::string> Bystander::read_packets(int wait_ms, bool& ended) {
  auto r = receive(fd_, wait_ms, [](const std::string&) { return true; });
  in_ += r.bytes;
  ended = r.closed || r.timed_out;
  std::vector<std::string> packets;
  mqtt::Framer framer;
  framer.feed(in_);
  std::size_t used = 0;
  for (;;) {
    auto f = framer.next();
    if (f.status != mqtt::FrameInfo::Status::complete || f.packet.empty()) break;
    packets.emplace_back(reinterpret_cast<const char*>(f.packet.data()), f.packet.size());
    used += f.packet.size();
  }
  in_.erase(0, used);
  return packets;
}

std::optional<BystanderEvent> Bystander::cycle() {
  if (fd_ < 0 && !connect()) return std::nullopt;
  const auto seq = next_seq_++;
  const auto id = next_id_;
  next_id_ = static_cast<std::uint16_t>(next_id_ == 65535 ? 1 : next_id_ + 1);
  mqtt::Publish p;
  p.qos = 1;
  p.topic = topic_;
  p.packet_id = id;
  p.payload = std::to_string(seq);
  const auto t0 = Clock::now();
  send_all(fd_, encode(mqtt::Packet(p), version_) + std::string("\xC0\x00", 2), give_up_ms_);
  bool puback = false, delivered = false, pingresp = false;
  std::optional<BystanderEvent> duplicate;
  auto deadline = t0 + std::chrono::milliseconds(give_up_ms_);
  bool answered = false;
  while (!(puback && pingresp && delivered) && Clock::now() < deadline) {
    // PUBACK and PINGRESP in: the broker has processed the PUBLISH, and routed it unless it
    // queues deliveries; the delivery gets `stall_ms` more, not the whole give-up time.
    if (puback && pingresp && !answered) {
      answered = true;
      deadline = std::min(deadline, Clock::now() + std::chrono::milliseconds(stall_ms_));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    bool ended = false;
    for (const auto& packet : read_packets(static_cast<int>(std::max<long long>(1, left)), ended)) {
      auto d = mqtt::decode(packet, {version_});
      if (!d.ok()) continue;
      if (const auto* ack = std::get_if<mqtt::PubackView>(&d.value); ack && ack->packet_id == id) puback = true;
      if (std::holds_alternative<mqtt::PingrespView>(d.value)) pingresp = true;
      if (const auto* pub = std::get_if<mqtt::PublishView>(&d.value)) {
        if (pub->qos > 0) {
          mqtt::Puback a;
          a.packet_id = pub->packet_id;
          send_all(fd_, encode(mqtt::Packet(a), version_), give_up_ms_);
        }
        const std::string payload(reinterpret_cast<const char*>(pub->payload.data()), pub->payload.size());
        std::uint32_t got = 0;
        try { got = static_cast<std::uint32_t>(std::stoul(payload)); } catch (...) { continue; }
        // QoS 1 (4.3.2, at least once): a re-delivery is allowed only as a resend with
        // DUP after a reconnect; on one unbroken connection a second copy is a duplicate.
        if (!delivered_.insert(got).second && !duplicate)
          duplicate = BystanderEvent{"qos1_duplicate", "QoS 1 message " + std::to_string(got) +
                                                           " delivered twice on one connection"};
        if (got == seq) delivered = true;
        delivered_once_ = true;
      }
    }
    if (ended) break;
  }
  last_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  ++cycles_;
  if (duplicate) return duplicate;
  if (puback && pingresp && !delivered && !delivered_once_) delivery_checked_ = false;
  if (puback && pingresp && !delivered && delivery_checked_) {
    const auto event = BystanderEvent{"qos1_lost", "QoS 1 message " + std::to_string(seq) + " acknowledged (PUBACK) but not delivered to its subscriber within " +
                                                       std::to_string(stall_ms_) + " ms of the PINGRESP that followed it (QoS 1 is at least once, 4.3.2)"};
    disconnect();
    return event;
  }
  if (!(puback && pingresp && delivered)) {
    disconnect();  // no answer: the liveness oracle's business
    return std::nullopt;
  }
  if (last_ms_ > stall_ms_)
    return BystanderEvent{"stall", "the bystander's PUBLISH + PINGREQ round trip took " + std::to_string(static_cast<long>(last_ms_)) +
                                       " ms (threshold " + std::to_string(stall_ms_) + " ms)"};
  return std::nullopt;
}

}  // namespace mqtth::process
