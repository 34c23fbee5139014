#include <gtest/gtest.h>

#include "mqtth/ledger/Ledger.hpp"

using namespace mqtth::ledger;

TEST(Identity, prefix_round_trips) {
  const MessageId id{7, 2, 3, 1234567890123ULL};
  const std::string payload = make_payload(id, "hello");
  EXPECT_EQ(payload, "mqtth:7:2:3:1234567890123;hello");
  auto parsed = parse_payload(std::string_view(payload));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, id);
  EXPECT_EQ(parsed->user_payload, "hello");
}
