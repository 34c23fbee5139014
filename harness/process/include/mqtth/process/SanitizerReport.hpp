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
#include <vector>

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
  // The frames of its first stack (as far as the excerpt goes), innermost first, without
  // addresses or pcs: the function where the symbolizer named one ("sub__remove"), else
  // the module's file name ("broker"); allocator, interceptor and abort frames (malloc,
  // free, __interceptor_*, raise, abort) skipped.
  std::vector<std::string> frames;
  // What groups reports of one bug (docs/netfuzz.md "Findings"): the kind, what the report
  // says happened (ASan's "heap-use-after-free", UBSan's "FILE:LINE:COL: runtime error:"
  // text with its numbers blanked, an assertion's text) and the first kSignatureFrames of
  // `frames`, joined by '|'. Never an address, a
  // pc or a process id, so the same bug gives the same signature on every run.
  std::string signature;
  // UBSan's `runtime error:` without a halt: the process carries on after printing it
  // (unless it was built with -fno-sanitize-recover, which then exits: a crash too).
  bool recoverable = false;
};

constexpr std::size_t kSignatureFrames = 3;

// The first report in `output` (by position), or nullopt. Only a whole header counts: a
// broker that logs a topic named "runtime error" is no UBSan report.
std::optional<SanitizerReport> find_sanitizer_report(std::string_view output);
// Every report in `output`, in order (a broker that carries on after recoverable UBSan
// reports prints many between two looks).
std::vector<SanitizerReport> find_sanitizer_reports(std::string_view output);

// The last `n` lines of `text` (the broker's last words, kept with a crash).
std::string last_lines(std::string_view text, std::size_t n);

}  // namespace mqtth::process
