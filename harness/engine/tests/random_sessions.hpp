// Seeded random sessions for the robustness and clone tests: valid, mutated and cut
// packets of both versions, opens, closes and time jumps.
#pragma once

#include "broker_test_util.hpp"

#include <random>

namespace mqtth::engine::test {

class RandomClient {
 public:
  explicit RandomClient(std::uint32_t seed) : rng_(seed) {}
  std::uint32_t next(std::uint32_t bound) { return bound ? static_cast<std::uint32_t>(rng_() % bound) : 0; }

  std::string topic() {
    static const char* topics[] = {"a", "a/b", "a/b/c", "$SYS/x", "t/1", "t/2", "x/y/z"};
    return topics[next(7)];
  }
  std::string filter() {
    static const char* filters[] = {"#", "a/#", "+/b", "a/+/c", "$SYS/#", "t/+", "$share/g/t/#", "$share/h/#", "x/y/z"};
    return filters[next(9)];
  }
  // A valid-looking packet for `version`, sometimes with bytes flipped or cut.
  std::string packet(Version version, std::uint16_t& packet_id) {
    mqtt::Packet p;
    switch (next(12)) {
      case 0: {
        auto c = make_connect(version, next(3) ? "r" + std::to_string(next(5)) : "", next(2) == 0, static_cast<std::uint16_t>(next(3)));
        if (next(3) == 0) c.will = mqtt::Will{topic(), "w", static_cast<std::uint8_t>(next(3)), next(2) == 0, {}};
        if (version == Version::v5 && next(2)) c.properties.add_number(PropertyId::session_expiry_interval, next(100));
        if (version == Version::v5 && next(3) == 0) c.properties.add_number(PropertyId::receive_maximum, 1 + next(3));
        if (version == Version::v5 && next(4) == 0) c.properties.add_number(PropertyId::maximum_packet_size, 20 + next(60));
        p = c;
        break;
      }
      case 1: case 2: case 3: {
        auto qos = static_cast<std::uint8_t>(next(3));
        auto pub = make_publish(topic(), std::string(next(40), 'p'), qos, qos ? ++packet_id : 0, next(4) == 0);
        if (version == Version::v5 && next(3) == 0) pub.properties.add_number(PropertyId::message_expiry_interval, next(5));
        if (version == Version::v5 && next(4) == 0) pub.properties.add_number(PropertyId::topic_alias, 1 + next(12));
        if (version == Version::v5 && next(5) == 0) pub.properties.add_user("k", "v");
        p = pub;
        break;
      }
      case 4: {
        auto s = make_subscribe(++packet_id, filter(), static_cast<std::uint8_t>(next(3)), static_cast<std::uint8_t>(next(3)));
        if (version == Version::v5) s.subscriptions[0].options.no_local = next(4) == 0;
        if (version == Version::v5 && next(3) == 0) s.properties.add_number(PropertyId::subscription_identifier, 1 + next(9));
        p = s;
        break;
      }
      case 5: {
        mqtt::Unsubscribe u;
        u.packet_id = ++packet_id;
        u.filters = {filter()};
        p = u;
        break;
      }
      case 6: p = mqtt::Puback{static_cast<std::uint16_t>(1 + next(8)), 0, {}}; break;
      case 7: p = mqtt::Pubrec{static_cast<std::uint16_t>(1 + next(8)), static_cast<std::uint8_t>(next(2) ? 0 : 0x80), {}}; break;
      case 8: p = mqtt::Pubrel{static_cast<std::uint16_t>(1 + next(8)), 0, {}}; break;
      case 9: p = mqtt::Pubcomp{static_cast<std::uint16_t>(1 + next(8)), 0, {}}; break;
      case 10: p = mqtt::Pingreq{}; break;
      default: p = mqtt::Disconnect{static_cast<std::uint8_t>(next(2) ? 0 : 4), {}}; break;
    }
    auto encoded = mqtt::encode_to_string(p, version);
    std::string bytes = encoded.ok() ? encoded.value : std::string();
    if (!bytes.empty() && next(10) == 0) bytes[next(static_cast<std::uint32_t>(bytes.size()))] ^= static_cast<char>(1 + next(255));
    if (!bytes.empty() && next(15) == 0) bytes.resize(next(static_cast<std::uint32_t>(bytes.size())));
    return bytes;
  }

 private:
  std::mt19937 rng_;
};

// Every output frames and decodes as a packet of 3.1.1 or 5.0 (which one the engine
// chose depends on the CONNECT it saw, possibly a mutated one).
inline void expect_valid_output(const std::string& bytes) {
  std::string_view rest = bytes;
  while (!rest.empty()) {
    auto frame = mqtt::peek_frame(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size()));
    ASSERT_EQ(frame.status, mqtt::FrameInfo::Status::complete);
    auto packet = rest.substr(0, frame.size);
    mqtt::DecodeOptions v5, v311;
    v311.version = Version::v3_1_1;
    bool ok = mqtt::decode(packet, v5).ok() || mqtt::decode(packet, v311).ok();
    ASSERT_TRUE(ok) << "engine output does not decode";
    rest.remove_prefix(frame.size);
  }
}

// Small limits, so random events reach every "full" branch (the robustness and clone tests).
inline BrokerConfig small_limits() {
  BrokerConfig config;
  config.max_connections = 4;
  config.max_sessions = 6;
  config.max_inflight = 3;
  config.max_queued_messages = 5;
  config.max_subscriptions_per_client = 3;
  config.max_retained_messages = 3;
  config.receive_maximum = 3;
  config.max_topic_alias = 4;
  config.maximum_packet_size = 200;
  config.track_deliveries = true;
  return config;
}

// Random events, each applied alike to every engine given (all in the same state).
class RandomEvents {
 public:
  explicit RandomEvents(std::uint32_t seed) : rnd_(seed) {}
  void reseed(std::uint32_t seed) { rnd_ = RandomClient(seed); }

  // One event: a connection opened or lost, time passing, or a packet of an open
  // connection delivered in two chunks (to exercise the framer).
  void apply(std::initializer_list<BrokerEngine*> engines) {
    auto action = rnd_.next(20);
    if (action == 0 || open_.empty()) {
      auto version = rnd_.next(2) ? Version::v5 : Version::v3_1_1;
      ConnectionId id = 0;
      for (auto* e : engines) id = e->open(now_);
      open_.emplace_back(id, version);
    } else if (action == 1) {
      auto i = rnd_.next(static_cast<std::uint32_t>(open_.size()));
      for (auto* e : engines) e->closed(open_[i].first, now_);
      open_.erase(open_.begin() + i);
    } else if (action == 2) {
      now_ += rnd_.next(20'000);
      for (auto* e : engines) e->advance(now_);
    } else {
      auto& [id, version] = open_[rnd_.next(static_cast<std::uint32_t>(open_.size()))];
      std::string bytes = rnd_.packet(version, packet_id_);
      auto cut = rnd_.next(static_cast<std::uint32_t>(bytes.size() + 1));
      for (auto* e : engines) {
        e->receive(id, std::string_view(bytes).substr(0, cut), now_);
        e->receive(id, std::string_view(bytes).substr(cut), now_);
      }
    }
  }

  // The engines closed this connection: later events leave it alone.
  void forget(ConnectionId id) {
    open_.erase(std::remove_if(open_.begin(), open_.end(), [&](auto& c) { return c.first == id; }), open_.end());
  }

  // apply(), then per engine its output and a summary of its sessions.
  std::vector<std::string> step(std::initializer_list<BrokerEngine*> engines) {
    apply(engines);
    std::vector<std::string> seen;
    bool first = true;
    for (auto* e : engines) {
      std::string s;
      for (auto& out : e->take_output()) {
        s += std::to_string(out.connection) + (out.close ? " close " : " ") + out.bytes + "\n";
        if (first && out.close) forget(out.connection);
      }
      for (const auto& info : e->sessions())
        s += info.client_id + " " + std::to_string(info.connected) + " " + std::to_string(info.subscriptions) + " " +
             std::to_string(info.inflight_out) + " " + std::to_string(info.queued) + " " +
             std::to_string(info.inbound_qos2_pending) + " " + std::to_string(info.will_pending) + "\n";
      s += "retained " + std::to_string(e->retained_count()) + " deadline " +
           std::to_string(e->next_deadline().value_or(0)) + "\n";
      auto broken = e->check_invariants();
      if (broken) s += "BROKEN " + *broken;
      seen.push_back(std::move(s));
      first = false;
    }
    return seen;
  }

 private:
  RandomClient rnd_;
  std::uint64_t now_ = 0;
  std::uint16_t packet_id_ = 0;
  std::vector<std::pair<ConnectionId, Version>> open_;
};

// Runs `seeds` seeded random sessions of `steps` events each against an engine with
// `config`: every output decodes and every invariant holds after every event.
inline void expect_random_sessions_keep_invariants(const BrokerConfig& config, std::uint32_t seeds, int steps) {
  for (std::uint32_t seed = 1; seed <= seeds; ++seed) {
    BrokerEngine engine(config);
    RandomEvents events(seed);
    for (int step = 0; step < steps; ++step) {
      events.apply({&engine});
      for (auto& out : engine.take_output()) {
        expect_valid_output(out.bytes);
        if (out.close) events.forget(out.connection);
      }
      auto broken = engine.check_invariants();
      ASSERT_FALSE(broken.has_value()) << "seed " << seed << " step " << step << ": " << *broken;
    }
  }
}

}  // namespace mqtth::engine::test
