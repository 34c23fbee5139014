// Resources: memory per idle connection, one shared copy of a fanned-out payload.
#include <malloc.h>

#include "broker_test_util.hpp"

TEST(BrokerResources, one_thousand_idle_connections_take_under_10_KiB_each) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "allocator statistics are not meaningful under AddressSanitizer";
#else
  Net net;
  std::vector<ConnectionId> ids;
  auto before = mallinfo2().uordblks;
  for (int i = 0; i < 1000; ++i) {
    auto id = net.engine.open(net.now);
    net.engine.receive(id, encoded(make_connect(Version::v5, "idle-" + std::to_string(i)), Version::v5), net.now);
    ids.push_back(id);
  }
  net.engine.take_output();
  auto after = mallinfo2().uordblks;
  EXPECT_EQ(net.engine.connection_count(), 1000u);
  double per_connection = static_cast<double>(after - before) / 1000.0;
  EXPECT_LT(per_connection, 10 * 1024.0) << per_connection << " bytes per idle connection";
  RecordProperty("bytes_per_idle_connection", static_cast<int>(per_connection));
#endif
}

TEST(BrokerResources, one_message_to_many_subscribers_shares_one_payload_copy) {
  Net net;
  std::vector<ConnectionId> subs;
  for (int i = 0; i < 50; ++i) {
    subs.push_back(net.connect(Version::v5, "s" + std::to_string(i), false,
                               props({{PropertyId::session_expiry_interval, 60}})));
    net.subscribe(subs.back(), "fan", 1);
  }
  for (auto id : subs) net.lose(id);
  auto pub = net.connect(Version::v5, "pub");
  auto bytes = encoded(make_publish("fan", std::string(100'000, 'p'), 1, 1), Version::v5);
#if !defined(__SANITIZE_ADDRESS__)
  auto before = mallinfo2().uordblks;
#endif
  net.engine.receive(pub, bytes, net.now);
#if !defined(__SANITIZE_ADDRESS__)
  auto after = mallinfo2().uordblks;
  // 50 queued deliveries of a 100 kB payload: the framer's buffer and one shared copy,
  // far less than 50 copies.
  EXPECT_LT(after - before, 3 * 100'000u);
#endif
  net.collect();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(net.engine.session("s" + std::to_string(i))->queued, 1u);
}
