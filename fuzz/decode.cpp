// Arbitrary bytes into the decoder of one protocol version (MQTTH_FUZZ_VERSION, set by
// fuzz/CMakeLists.txt: targets decode_v311 and decode_v5): any crash, leak, UB or read past the input is a bug.
// Every field of what decoded, or parsed completely before a meaning error, is read.
// Errors name their code. Re-encoding and the name-table checks are the roundtrip
// target's job: left out here, the decode targets spend their executions on the decoder
// alone (docs/fuzzing.md "Figures").
#include "fuzz_common.hpp"

static constexpr mqtt::Version kVersion = mqtt::Version::MQTTH_FUZZ_VERSION;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const mqtt::Bytes input(data, size);
  const auto decoded = mqtt::decode(input, {.version = kVersion});
  if (!decoded.ok()) {
    if (decoded.error.offset > size) mqtth::fuzz::fail("error offset past the input");
    mqtth::fuzz::check_error_name(decoded.error);
    // After a meaning error the value is the whole packet (mqtt::parsed_completely): tools
    // such as the live fuzzer's minimiser read it, so its views must lie in the input too.
    if (!mqtt::parsed_completely(decoded.error)) return 0;
  }
  volatile std::size_t sink = mqtth::fuzz::touch(decoded.value);
  (void)sink;
  return 0;
}
