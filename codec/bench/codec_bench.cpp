// codec_bench: decode/encode throughput of libmqttcodec, with the physical baselines
// (memcpy of the same bytes, a bare fixed-header walk) in the same binary so the ratios
// mean something on any machine. Figures and how to read them: docs/benchmarks.md.
//
// Every benchmark reports items_per_second (packets/s) and bytes_per_second. The small
// PUBLISH streams are built byte by byte (small_publish.hpp, not with the codec's
// encoder) and are the same bytes scripts/bench/mqtt-packet/bench.js parses.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "mqtt/codec.hpp"
#include "small_publish.hpp"

namespace {

using mqtt::Bytes;
using mqtt::Version;

using codec_bench::kTopic;
using codec_bench::small_publish;
constexpr std::size_t kSmallPackets = 1024;  // packets per small-PUBLISH stream

struct Stream {
  std::string bytes;
  std::vector<Bytes> packets;  // views into `bytes`
};

Stream make_stream(const std::vector<std::string>& packets) {
  Stream s;
  std::vector<std::size_t> sizes;
  for (const auto& p : packets) {
    s.bytes += p;
    sizes.push_back(p.size());
  }
  std::size_t at = 0;
  for (auto n : sizes) {
    s.packets.emplace_back(reinterpret_cast<const std::uint8_t*>(s.bytes.data() + at), n);
    at += n;
  }
  return s;
}

Stream small_stream(Version version, std::size_t count = kSmallPackets) {
  std::vector<std::string> packets;
  for (std::size_t i = 0; i < count; ++i)
    packets.push_back(small_publish(static_cast<std::uint16_t>(i % 65535 + 1), version));
  return make_stream(packets);
}

std::string encode_or_die(const mqtt::Packet& packet, Version version) {
  auto r = mqtt::encode_to_string(packet, version);
  if (!r.ok()) {
    std::fprintf(stderr, "codec_bench: cannot encode a benchmark packet: %.*s\n", int(r.error.message.size()),
                 r.error.message.data());
    std::abort();
  }
  return r.value;
}

mqtt::Publish big_publish() {
  mqtt::Publish p;
  p.qos = 1;
  p.packet_id = 7;
  p.topic = std::string(kTopic);
  p.payload.assign(64 * 1024, 'x');
  return p;
}

// CONNECT with twelve MQTT 5 properties (3.1.2.11).
mqtt::Connect big_connect() {
  mqtt::Connect c;
  c.protocol_version = Version::v5;
  c.protocol_name = "MQTT";
  c.clean_start = true;
  c.keep_alive = 60;
  c.client_id = "bench-client-0001";
  using mqtt::PropertyId;
  c.properties.add_number(PropertyId::session_expiry_interval, 3600)
      .add_number(PropertyId::receive_maximum, 100)
      .add_number(PropertyId::maximum_packet_size, 1 << 20)
      .add_number(PropertyId::topic_alias_maximum, 10)
      .add_number(PropertyId::request_response_information, 1)
      .add_number(PropertyId::request_problem_information, 1)
      .add_user("site", "lab-1")
      .add_user("rack", "r42")
      .add_user("build", "2026.11")
      .add_user("role", "sensor-gateway")
      .add_string(PropertyId::authentication_method, "SCRAM-SHA-256")
      .add_string(PropertyId::authentication_data, std::string(32, '\x5a'));
  c.username = "bench";
  c.password = "secret";
  return c;
}

mqtt::Subscribe big_subscribe() {
  mqtt::Subscribe s;
  s.packet_id = 9;
  s.properties.add_number(mqtt::PropertyId::subscription_identifier, 42);
  for (int i = 0; i < 20; ++i) {
    mqtt::Subscription sub;
    sub.filter = "sensors/room" + std::to_string(i) + "/+";
    sub.options.qos = 1;
    s.subscriptions.push_back(sub);
  }
  return s;
}

void report(benchmark::State& state, std::size_t packets_per_iteration, std::size_t bytes_per_iteration) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * packets_per_iteration));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes_per_iteration));
}

void decode_all(benchmark::State& state, const Stream& stream, Version version) {
  mqtt::DecodeOptions options;
  options.version = version;
  for (auto _ : state) {
    for (const auto& packet : stream.packets) {
      auto result = mqtt::decode(packet, options);
      benchmark::DoNotOptimize(result);
      if (!result.ok()) {
        state.SkipWithError("decode failed");
        return;
      }
    }
  }
  report(state, stream.packets.size(), stream.bytes.size());
}

void encode_all(benchmark::State& state, const std::vector<mqtt::Packet>& packets, Version version,
                std::size_t total_bytes) {
  std::vector<std::uint8_t> out(total_bytes);
  for (auto _ : state) {
    std::size_t at = 0;
    for (const auto& packet : packets) {
      auto n = mqtt::encode(packet, version, mqtt::MutableBytes(out.data() + at, out.size() - at));
      if (!n.ok()) {
        state.SkipWithError("encode failed");
        return;
      }
      at += n.value;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  report(state, packets.size(), total_bytes);
}

void memcpy_bytes(benchmark::State& state, const std::string& bytes, std::size_t packets) {
  std::vector<char> out(bytes.size());
  for (auto _ : state) {
    std::memcpy(out.data(), bytes.data(), bytes.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  report(state, packets, bytes.size());
}

// The least any framing can do: read the type byte and the Remaining Length (2.2.3), skip
// the body. Returns the packet count so the walk cannot be optimised away.
std::size_t header_walk(const std::uint8_t* p, std::size_t size) {
  std::size_t at = 0, count = 0;
  while (at < size) {
    std::uint32_t length = 0, multiplier = 1;
    std::size_t i = at + 1;
    for (int k = 0; k < 4 && i < size; ++k, ++i) {
      length += (p[i] & 0x7Fu) * multiplier;
      multiplier <<= 7;
      if (!(p[i] & 0x80)) {
        ++i;
        break;
      }
    }
    at = i + length;
    ++count;
  }
  return count;
}

void walk_bytes(benchmark::State& state, const std::string& bytes) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  std::size_t packets = 0;
  for (auto _ : state) {
    packets = header_walk(p, bytes.size());
    benchmark::DoNotOptimize(packets);
  }
  report(state, packets, bytes.size());
}

std::vector<mqtt::Packet> owned(const Stream& stream, Version version) {
  std::vector<mqtt::Packet> out;
  mqtt::DecodeOptions options;
  options.version = version;
  for (const auto& p : stream.packets) out.push_back(mqtt::to_owned(mqtt::decode(p, options).value));
  return out;
}

// --- small QoS 1 PUBLISH --------------------------------------------------------------

void BM_DecodeSmallPublish_v311(benchmark::State& state) {
  static const Stream s = small_stream(Version::v3_1_1);
  decode_all(state, s, Version::v3_1_1);
}
void BM_DecodeSmallPublish_v5_2props(benchmark::State& state) {
  static const Stream s = small_stream(Version::v5);
  decode_all(state, s, Version::v5);
}
void BM_EncodeSmallPublish_v311(benchmark::State& state) {
  static const Stream s = small_stream(Version::v3_1_1);
  static const auto packets = owned(s, Version::v3_1_1);
  encode_all(state, packets, Version::v3_1_1, s.bytes.size());
}
void BM_EncodeSmallPublish_v5_2props(benchmark::State& state) {
  static const Stream s = small_stream(Version::v5);
  static const auto packets = owned(s, Version::v5);
  encode_all(state, packets, Version::v5, s.bytes.size());
}
void BM_MemcpySmallPublishStream_v311(benchmark::State& state) {
  static const Stream s = small_stream(Version::v3_1_1);
  memcpy_bytes(state, s.bytes, s.packets.size());
}
void BM_HeaderWalkSmallPublishStream_v311(benchmark::State& state) {
  static const Stream s = small_stream(Version::v3_1_1);
  walk_bytes(state, s.bytes);
}

// --- 64 KiB PUBLISH -----------------------------------------------------------------------

const Stream& big_publish_stream() {
  static const Stream s = make_stream({encode_or_die(big_publish(), Version::v5)});
  return s;
}
void BM_DecodePublish64KiB(benchmark::State& state) { decode_all(state, big_publish_stream(), Version::v5); }
void BM_EncodePublish64KiB(benchmark::State& state) {
  static const std::vector<mqtt::Packet> packets{big_publish()};
  encode_all(state, packets, Version::v5, big_publish_stream().bytes.size());
}
void BM_MemcpyPublish64KiB(benchmark::State& state) { memcpy_bytes(state, big_publish_stream().bytes, 1); }

// --- CONNECT with 12 properties, SUBSCRIBE with 20 filters ---------------------------------

void BM_DecodeConnect_v5_12props(benchmark::State& state) {
  static const Stream s = make_stream({encode_or_die(big_connect(), Version::v5)});
  decode_all(state, s, Version::v5);
}
void BM_EncodeConnect_v5_12props(benchmark::State& state) {
  static const std::vector<mqtt::Packet> packets{big_connect()};
  encode_all(state, packets, Version::v5, encode_or_die(big_connect(), Version::v5).size());
}
void BM_DecodeSubscribe_v5_20filters(benchmark::State& state) {
  static const Stream s = make_stream({encode_or_die(big_subscribe(), Version::v5)});
  decode_all(state, s, Version::v5);
}
void BM_EncodeSubscribe_v5_20filters(benchmark::State& state) {
  static const std::vector<mqtt::Packet> packets{big_subscribe()};
  encode_all(state, packets, Version::v5, encode_or_die(big_subscribe(), Version::v5).size());
}

// --- Framer over a 1 MiB stream in 1460-byte (one TCP segment) chunks ---------------------

constexpr std::size_t kChunk = 1460;

const Stream& mib_stream() {
  static const Stream s = small_stream(Version::v3_1_1, (1 << 20) / small_publish(1, Version::v3_1_1).size() + 1);
  return s;
}

template <bool kDecode>
void framer_run(benchmark::State& state) {
  const Stream& s = mib_stream();
  const auto* data = reinterpret_cast<const std::uint8_t*>(s.bytes.data());
  mqtt::DecodeOptions options;
  options.version = Version::v3_1_1;
  for (auto _ : state) {
    mqtt::Framer framer;
    std::size_t packets = 0;
    for (std::size_t at = 0; at < s.bytes.size(); at += kChunk) {
      framer.feed(Bytes(data + at, std::min(kChunk, s.bytes.size() - at)));
      for (;;) {
        auto frame = framer.next();
        if (frame.status != mqtt::FrameInfo::Status::complete) break;
        if constexpr (kDecode) {
          auto result = mqtt::decode(frame.packet, options);
          benchmark::DoNotOptimize(result);
        }
        benchmark::DoNotOptimize(frame);
        ++packets;
      }
    }
    if (packets != s.packets.size()) {
      state.SkipWithError("framer lost packets");
      return;
    }
  }
  report(state, s.packets.size(), s.bytes.size());
}
void BM_Framer1MiB_1460B_chunks(benchmark::State& state) { framer_run<false>(state); }
void BM_FramerAndDecode1MiB_1460B_chunks(benchmark::State& state) { framer_run<true>(state); }
void BM_Memcpy1MiB(benchmark::State& state) { memcpy_bytes(state, mib_stream().bytes, mib_stream().packets.size()); }
void BM_HeaderWalk1MiB(benchmark::State& state) { walk_bytes(state, mib_stream().bytes); }

}  // namespace

BENCHMARK(BM_DecodeSmallPublish_v311);
BENCHMARK(BM_DecodeSmallPublish_v5_2props);
BENCHMARK(BM_EncodeSmallPublish_v311);
BENCHMARK(BM_EncodeSmallPublish_v5_2props);
BENCHMARK(BM_MemcpySmallPublishStream_v311);
BENCHMARK(BM_HeaderWalkSmallPublishStream_v311);
BENCHMARK(BM_DecodePublish64KiB);
BENCHMARK(BM_EncodePublish64KiB);
BENCHMARK(BM_MemcpyPublish64KiB);
BENCHMARK(BM_DecodeConnect_v5_12props);
BENCHMARK(BM_EncodeConnect_v5_12props);
BENCHMARK(BM_DecodeSubscribe_v5_20filters);
BENCHMARK(BM_EncodeSubscribe_v5_20filters);
BENCHMARK(BM_Framer1MiB_1460B_chunks);
BENCHMARK(BM_FramerAndDecode1MiB_1460B_chunks);
BENCHMARK(BM_Memcpy1MiB);
BENCHMARK(BM_HeaderWalk1MiB);

BENCHMARK_MAIN();
