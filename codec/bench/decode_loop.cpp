// codec_decode_loop: decodes the benchmark's small PUBLISH (small_publish.hpp) a given
// number of times and nothing else, for instruction counts that do not depend on the
// machine's load (docs/benchmarks.md):
//
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='mqtt::decode*'
//            codec_decode_loop v5 100000
//
// then "Collected" / 100000 = instructions per decode.
//
// Exits 1 if a decode fails, so a count is never taken of the error path by mistake.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mqtt/codec.hpp"
#include "small_publish.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || (std::string_view(argv[1]) != "v311" && std::string_view(argv[1]) != "v5")) {
    std::fprintf(stderr, "usage: codec_decode_loop v311|v5 [count, default 100000]\n");
    return 2;
  }
  const mqtt::Version version = std::string_view(argv[1]) == "v5" ? mqtt::Version::v5 : mqtt::Version::v3_1_1;
  const long count = argc > 2 ? std::atol(argv[2]) : 100000;
  const std::string packet = codec_bench::small_publish(1, version);
  mqtt::DecodeOptions options;
  options.version = version;
  long ok = 0;
  for (long i = 0; i < count; ++i) ok += mqtt::decode(packet, options).ok() ? 1 : 0;
  std::printf("%ld of %ld decoded\n", ok, count);
  return ok == count ? 0 : 1;
}
