// Robustness: seeded random sessions (the libFuzzer targets explore further).
#include "random_sessions.hpp"

TEST(BrokerRobustness, seeded_random_sessions_keep_invariants_and_emit_valid_packets) {
  for (std::uint32_t seed = 1; seed <= 60; ++seed) {
    BrokerEngine engine(small_limits());
    RandomClient rnd(seed);
    std::uint64_t now = 0;
    std::vector<std::pair<ConnectionId, Version>> open;
    std::uint16_t packet_id = 0;
    for (int step = 0; step < 400; ++step) {
      auto action = rnd.next(20);
      if (action == 0 || open.empty()) {
        open.emplace_back(engine.open(now), rnd.next(2) ? Version::v5 : Version::v3_1_1);
      } else if (action == 1) {
        auto i = rnd.next(static_cast<std::uint32_t>(open.size()));
        engine.closed(open[i].first, now);
        open.erase(open.begin() + i);
      } else if (action == 2) {
        now += rnd.next(20'000);
        engine.advance(now);
      } else {
        auto& [id, version] = open[rnd.next(static_cast<std::uint32_t>(open.size()))];
        std::string bytes = rnd.packet(version, packet_id);
        // Deliver in two chunks to exercise the framer.
        auto cut = rnd.next(static_cast<std::uint32_t>(bytes.size() + 1));
        engine.receive(id, std::string_view(bytes).substr(0, cut), now);
        engine.receive(id, std::string_view(bytes).substr(cut), now);
      }
      for (auto& out : engine.take_output()) {
        expect_valid_output(out.bytes);
        if (out.close)
          open.erase(std::remove_if(open.begin(), open.end(), [&](auto& c) { return c.first == out.connection; }), open.end());
      }
      auto broken = engine.check_invariants();
      ASSERT_FALSE(broken.has_value()) << "seed " << seed << " step " << step << ": " << *broken;
    }
  }
}
