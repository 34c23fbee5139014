// The same bytes fed to the Framer in fuzzer-chosen chunk sizes give exactly the frames
// (and the same terminal error, at the same stream offset) of a whole-buffer feed.
#include "fuzz_common.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <string>
#include <vector>

namespace {
struct Outcome {
  std::vector<std::string> frames;
  mqtt::Errc error = mqtt::Errc::ok;
  std::uint32_t error_offset = 0;
};

void drain(mqtt::Framer& framer, Outcome& out) {
  for (;;) {
    const auto frame = framer.next();
    if (frame.status == mqtt::FrameInfo::Status::complete) {
      out.frames.emplace_back(reinterpret_cast<const char*>(frame.packet.data()), frame.packet.size());
      continue;
    }
    if (frame.status == mqtt::FrameInfo::Status::error) {
      out.error = frame.error.code;
      out.error_offset = frame.error.offset;
    }
    return;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  const auto max_packet = provider.ConsumeIntegralInRange<std::uint32_t>(2, 4096);
  const auto chunk_seed = provider.ConsumeIntegral<std::uint32_t>();
  const std::vector<std::uint8_t> stream = provider.ConsumeRemainingBytes<std::uint8_t>();

  Outcome whole;
  {
    mqtt::Framer framer(max_packet);
    framer.feed(mqtt::Bytes(stream));
    drain(framer, whole);
  }
  Outcome chunked;
  {
    mqtt::Framer framer(max_packet);
    std::uint32_t state = chunk_seed | 1;
    std::size_t at = 0;
    while (at < stream.size() && chunked.error == mqtt::Errc::ok) {
      state = state * 1103515245u + 12345u;  // cheap deterministic chunk sizes 1..64
      const std::size_t n = std::min<std::size_t>(1 + (state >> 16) % 64, stream.size() - at);
      framer.feed(mqtt::Bytes(stream.data() + at, n));
      at += n;
      drain(framer, chunked);
    }
  }
  if (whole.frames != chunked.frames) mqtth::fuzz::fail("chunked feed framed other packets");
  if (whole.error != chunked.error) mqtth::fuzz::fail("chunked feed ended with another error");
  if (whole.error != mqtt::Errc::ok && whole.error_offset != chunked.error_offset)
    mqtth::fuzz::fail("error reported at another stream offset");
  return 0;
}
