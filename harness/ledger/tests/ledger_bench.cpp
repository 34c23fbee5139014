// Ledger throughput: the load benchmark records 100k+ messages/s, so attempt + accepted +
// delivered must stay O(1) and allocation-free per message (amortised vector growth only).
#include <benchmark/benchmark.h>

#include "mqtth/ledger/Ledger.hpp"

using namespace mqtth::ledger;

static void BM_record_publish_and_delivery(benchmark::State& state) {
  const auto subscribers = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    Ledger ledger(1);
    ClientId pub = ledger.client("pub");
    std::vector<ClientId> subs;
    for (int i = 0; i < subscribers; ++i) {
      subs.push_back(ledger.client("sub" + std::to_string(i)));
      ledger.subscribe(subs.back(), "t/#", 1);
    }
    StreamId stream = ledger.stream(pub, "t/a", 1);
    char buf[kMaxPrefixSize];
    state.ResumeTiming();
    for (int n = 0; n < 10000; ++n) {
      const MessageId id = ledger.attempt(stream);
      ledger.accepted(id);
      const std::size_t len = encode_prefix(id, std::span<char, kMaxPrefixSize>(buf, kMaxPrefixSize));
      for (ClientId sub : subs) ledger.delivered(sub, std::string_view(buf, len), DeliveryInfo{1, false, false});
    }
    benchmark::DoNotOptimize(ledger.total_deliveries());
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_record_publish_and_delivery)->Arg(1)->Arg(10);
