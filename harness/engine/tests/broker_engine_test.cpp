#include <gtest/gtest.h>

#include "mqtth/engine/BrokerEngine.hpp"

using namespace mqtth::engine;

TEST(BrokerEngineSkeleton, misbehave_names_round_trip) {
  for (auto m : {Misbehave::none, Misbehave::drop_qos1, Misbehave::dup_qos2, Misbehave::reorder, Misbehave::drop_qos0})
    EXPECT_EQ(parse_misbehave(to_string(m)), m);
}
