// ClientSession throughput: the per-message cost of the client protocol machine alone
// (no sockets), with tracing off as the load benchmark runs it.
#include <mqtth/client/ClientSession.hpp>

#include <benchmark/benchmark.h>

#include <string>

using namespace mqtth::client;

namespace {

ClientSession connected_session(mqtt::Version v, bool trace) {
  SessionConfig config;
  config.trace_packets = trace;
  ClientSession s(config);
  ConnectOptions o;
  o.version = v;
  o.client_id = "bench";
  o.keep_alive = 0;
  s.connect(o, 0);
  s.receive(v == mqtt::Version::v5 ? std::string("\x20\x03\x00\x00\x00", 5) : std::string("\x20\x02\x00\x00", 4), 0);
  s.take_output();
  s.take_events();
  return s;
}

// Outbound QoS 1: publish, then the broker's PUBACK.
void BM_OutboundQos1(benchmark::State& state) {
  ClientSession s = connected_session(mqtt::Version::v5, state.range(0) != 0);
  std::string out;
  std::vector<Event> events;
  const std::string payload(64, 'x');
  char ack[4] = {0x40, 0x02, 0, 0};
  for (auto _ : state) {
    PublishRequest r;
    r.topic = "bench/topic/a";
    r.payload = payload;
    r.qos = 1;
    const auto res = s.publish(std::move(r), 0);
    ack[2] = static_cast<char>(res.packet_id >> 8);
    ack[3] = static_cast<char>(res.packet_id & 0xFF);
    s.receive(std::string_view(ack, 4), 0);
    s.take_output(out);
    s.take_events(events);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OutboundQos1)->Arg(0)->Arg(1)->ArgName("trace");

// Inbound QoS 1: a batch of 100 PUBLISH packets in one read, delivered and PUBACKed.
void BM_InboundQos1Batch(benchmark::State& state) {
  ClientSession s = connected_session(mqtt::Version::v3_1_1, state.range(0) != 0);
  std::string batch;
  const std::string payload(64, 'x');
  for (int i = 1; i <= 100; ++i) {
    const std::string topic = "bench/topic/a";
    const std::size_t remaining = 2 + topic.size() + 2 + payload.size();
    batch.push_back(0x32);
    batch.push_back(static_cast<char>(remaining));
    batch.push_back(0);
    batch.push_back(static_cast<char>(topic.size()));
    batch += topic;
    batch.push_back(static_cast<char>(i >> 8));
    batch.push_back(static_cast<char>(i & 0xFF));
    batch += payload;
  }
  std::string out;
  std::vector<Event> events;
  for (auto _ : state) {
    s.receive(batch, 0);
    s.take_output(out);
    s.take_events(events);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_InboundQos1Batch)->Arg(0)->Arg(1)->ArgName("trace");

}  // namespace
