// What a broker process prints when it dies of (or survives) a bug: the report headers of
// AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer (`runtime error:`),
// ThreadSanitizer, MemorySanitizer, and assertion failures (glibc's, BSD/musl's, Qt's).
// The one matcher for them: the live fuzzer's sanitizer oracle and `run --spawn` both use
// it (docs/netfuzz.md "Oracles", docs/runner.md "The runner owns the broker").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mqtth::process {

struct SanitizerReport {
  // "AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "ThreadSanitizer",
  // "MemorySanitizer" or "assertion".
  std::string kind;
  std::size_t offset = 0;  // where its header line starts in the text searched
  // The header line without the `==PID==` prefix: "ERROR: AddressSanitizer:
  // heap-use-after-free on address ...", "src/x.c:12:5: runtime error: ...".
  std::string headline;
  // The header, the lines after it up to the end of its first stack trace (at most 40
  // lines, 4 KiB), and the sanitizer's SUMMARY line when one follows.
  std::string excerpt;
};

// The first report in `output` (by position), or nullopt. Only a whole header counts: a
// broker that logs a topic named "runtime error" is no UBSan report.
std::optional<SanitizerReport> find_sanitizer_report(std::string_view output);

// The last `n` lines of `text` (the broker's last words, kept with a crash).
std::string last_lines(std::string_view text, std::size_t n);

}  // namespace mqtth::process
