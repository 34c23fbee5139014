// Robustness: seeded random sessions (the libFuzzer targets explore further).
#include "random_sessions.hpp"

TEST(BrokerRobustness, seeded_random_sessions_keep_invariants_and_emit_valid_packets) {
  expect_random_sessions_keep_invariants(small_limits(), 60, 400);
}
