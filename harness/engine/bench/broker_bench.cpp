// engine_broker_bench: Google Benchmark figures for BrokerEngine (docs/broker.md). In
// process, no sockets: what the engine itself costs per message.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "mqtth/engine/BrokerEngine.hpp"

using namespace mqtth::engine;

namespace {

std::string encode(const mqtt::Packet& p) { return mqtt::encode_to_string(p, mqtt::Version::v5).value; }

ConnectionId connect(BrokerEngine& engine, const std::string& client_id) {
  mqtt::Connect c;
  c.protocol_name = "MQTT";
  c.protocol_version = mqtt::Version::v5;
  c.client_id = client_id;
  auto id = engine.open(0);
  engine.receive(id, encode(c), 0);
  return id;
}

// One QoS 0 PUBLISH fanned out to N subscribers of the same filter.
void BM_fan_out_qos0(benchmark::State& state) {
  BrokerConfig config;
  config.max_connections = 10'000;  // subscribers + the publisher
  BrokerEngine engine(config);
  const auto subscribers = static_cast<int>(state.range(0));
  for (int i = 0; i < subscribers; ++i) {
    auto id = connect(engine, "s" + std::to_string(i));
    mqtt::Subscribe s;
    s.packet_id = 1;
    s.subscriptions.push_back(mqtt::Subscription{"bench/#", {0, false, false, 0}});
    engine.receive(id, encode(s), 0);
  }
  auto pub = connect(engine, "pub");
  mqtt::Publish p;
  p.topic = "bench/topic";
  p.payload = std::string(static_cast<std::size_t>(state.range(1)), 'x');
  const std::string bytes = encode(p);
  engine.take_output();
  for (auto _ : state) {
    engine.receive(pub, bytes, 0);
    auto out = engine.take_output();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * subscribers);  // deliveries
}
BENCHMARK(BM_fan_out_qos0)->Args({1, 64})->Args({100, 64})->Args({1000, 64})->Args({100, 4096});

// A full QoS 1 round trip: PUBLISH in, PUBACK out, delivery out, PUBACK in.
void BM_qos1_round_trip(benchmark::State& state) {
  BrokerEngine engine;
  auto sub = connect(engine, "sub");
  mqtt::Subscribe s;
  s.packet_id = 1;
  s.subscriptions.push_back(mqtt::Subscription{"q", {1, false, false, 0}});
  engine.receive(sub, encode(s), 0);
  auto pub = connect(engine, "pub");
  engine.take_output();
  std::uint16_t id = 0;
  for (auto _ : state) {
    id = static_cast<std::uint16_t>(id % 65535 + 1);
    mqtt::Publish p;
    p.topic = "q";
    p.qos = 1;
    p.packet_id = id;
    p.payload = "payload";
    engine.receive(pub, encode(p), 0);
    engine.take_output();
    // The broker numbers its own deliveries 1, 2, ... in the same sequence here.
    mqtt::Puback ack;
    ack.packet_id = id;
    engine.receive(sub, encode(ack), 0);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_qos1_round_trip);


// Routing cost against many distinct filters: one subscriber holds N filters (a third
// exact "dev/<i>/temp", a third "dev/<i>/+", a third "site/<i>/#"); each QoS 0 PUBLISH to
// "dev/<k>/temp" matches exactly two of them (one delivery, 3.3.5 overlapping rule).
// A linear index costs O(N) per PUBLISH, a topic tree O(levels x matching branches).
void BM_route_distinct_filters(benchmark::State& state) {
  const auto filters = static_cast<int>(state.range(0));
  BrokerConfig config;
  config.max_subscriptions_per_client = static_cast<std::uint32_t>(filters);
  BrokerEngine engine(config);
  auto sub = connect(engine, "sub");
  for (int i = 0; i < filters; ++i) {
    mqtt::Subscribe s;
    s.packet_id = 1;
    std::string filter = i % 3 == 0 ? "dev/" + std::to_string(i / 3) + "/temp"
                         : i % 3 == 1 ? "dev/" + std::to_string(i / 3) + "/+"
                                      : "site/" + std::to_string(i / 3) + "/#";
    s.subscriptions.push_back(mqtt::Subscription{filter, {0, false, false, 0}});
    engine.receive(sub, encode(s), 0);
  }
  auto pub = connect(engine, "pub");
  std::vector<std::string> publishes;
  for (int k = 0; k < 64; ++k) {
    mqtt::Publish p;
    p.topic = "dev/" + std::to_string((k * 7919) % (filters / 3 + 1)) + "/temp";
    p.payload = "21.5";
    publishes.push_back(encode(p));
  }
  engine.take_output();
  std::size_t next = 0;
  for (auto _ : state) {
    engine.receive(pub, publishes[next++ % publishes.size()], 0);
    auto out = engine.take_output();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());  // PUBLISHes routed
}
BENCHMARK(BM_route_distinct_filters)->Arg(100)->Arg(1000)->Arg(10'000);

}  // namespace

BENCHMARK_MAIN();
