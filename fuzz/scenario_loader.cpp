// Arbitrary text into the YAML scenario loader (harness/scenario Loader, load_string):
// the answer is scenarios or a list of errors (never both, never neither), each error
// naming the file and a message; never a crash, hang or exception. Inputs are capped at
// 64 KiB: larger inputs find nothing new and only slow the fuzzer down. Deep nesting
// ("[[[[...", "- - - -") stays within 64 KiB on purpose: the loader must refuse it before
// yaml-cpp's recursive parser overflows the stack.
#include "fuzz_common.hpp"

#include <mqtth/scenario/Loader.hpp>

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  mqtth::scenario::LoadResult result;
  try {
    result = mqtth::scenario::load_string(text, "fuzz.yaml");
  } catch (...) {
    mqtth::fuzz::fail("load_string threw");
  }
  if (result.errors.empty() == false && !result.scenarios.empty()) mqtth::fuzz::fail("both scenarios and errors");
  for (const auto& e : result.errors) {
    if (e.message.empty()) mqtth::fuzz::fail("an error without a message");
    if (e.file != "fuzz.yaml") mqtth::fuzz::fail("an error naming another file");
    if (e.line < 0 || e.column < 0) mqtth::fuzz::fail("negative line or column");
    volatile std::size_t n = e.to_string().size();
    (void)n;
  }
  return 0;
}
