// Arbitrary bytes into the decoder of one protocol version (MQTTH_FUZZ_VERSION, set by
// fuzz/CMakeLists.txt: targets decode_v311 and decode_v5): any crash, leak, UB or read past the input is a bug.
// A packet that decodes must also have an exact encoded size and encode into it.
#include "fuzz_common.hpp"

#include <vector>

static constexpr mqtt::Version kVersion = mqtt::Version::MQTTH_FUZZ_VERSION;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const mqtt::Bytes input(data, size);
  const auto decoded = mqtt::decode(input, {.version = kVersion});
  if (!decoded.ok()) {
    if (decoded.error.offset > size) mqtth::fuzz::fail("error offset past the input");
    return 0;
  }
  volatile std::size_t sink = mqtth::fuzz::touch(decoded.value);
  (void)sink;
  const auto size_needed = mqtt::encoded_size(decoded.value, kVersion);
  if (!size_needed.ok()) mqtth::fuzz::fail("a decoded packet has no encoded size");
  std::vector<std::uint8_t> out(size_needed.value);
  const auto written = mqtt::encode(decoded.value, kVersion, out);
  if (!written.ok() || written.value != size_needed.value) mqtth::fuzz::fail("encode wrote other than encoded_size");
  return 0;
}
