// Robustness: seeded random sessions (the libFuzzer targets explore further).
#include "random_sessions.hpp"

TEST(BrokerRobustness, seeded_random_sessions_keep_invariants_and_emit_valid_packets) {
  for (std::uint32_t seed = 1; seed <= 60; ++seed) {
    BrokerEngine engine(small_limits());
    RandomEvents events(seed);
    for (int step = 0; step < 400; ++step) {
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
