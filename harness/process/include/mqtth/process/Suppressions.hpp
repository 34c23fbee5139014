// Known sanitizer reports that are not findings (`--suppressions FILE` of `fuzz` and `run`,
// docs/netfuzz.md "Suppressions"). One file serves both sides: the harness drops a report
// that an entry matches, and the entries written in a sanitizer's own suppression syntax
// are also handed to the spawned broker's runtime (ASAN_OPTIONS, LSAN_OPTIONS,
// UBSAN_OPTIONS, TSAN_OPTIONS `suppressions=`), so a suppressed report costs the broker
// nothing at all where its runtime honours them.
#pragma once

#include "mqtth/process/SanitizerReport.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mqtth::process {

class Suppressions {
 public:
  // One entry per line, `TYPE:PATTERN`; `#` starts a comment, blank lines are ignored.
  // TYPE is a report kind of SanitizerReport (AddressSanitizer, LeakSanitizer,
  // UndefinedBehaviorSanitizer, ThreadSanitizer, MemorySanitizer, assertion) or `*` (any
  // kind), or a sanitizer's own suppression type: `leak` (LeakSanitizer), a UBSan check
  // name (`null`, `alignment`, `signed-integer-overflow`, ...; UndefinedBehaviorSanitizer),
  // `interceptor_name`, `interceptor_via_fun`, `interceptor_via_lib`, `odr_violation`
  // (AddressSanitizer), `race`, `thread`, `mutex`, `signal`, `deadlock`, `called_from_lib`
  // (ThreadSanitizer). PATTERN: text a frame's function (or module) or what the report
  // says happened must contain; `*` matches any run of characters, a leading `^` / trailing
  // `$` anchors it (the sanitizers' own pattern syntax).
  // nullopt and `error` ("FILE:LINE: ...") when the file cannot be read or a line is not
  // an entry.
  static std::optional<Suppressions> load(const std::string& file, std::string& error);

  // The entry that suppresses `report`, as written in the file; nullopt: a finding.
  std::optional<std::string> match(const SanitizerReport& report) const;

  // Writes each sanitizer's own entries to DIR/<sanitizer>.supp and returns the environment
  // for the spawned broker: `ASAN_OPTIONS=<inherited>:suppressions=DIR/asan.supp`, ... (only
  // for sanitizers that have entries). "" in `error` on success.
  std::vector<std::string> runtime_environment(const std::string& dir, std::string& error) const;

  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string kind;     // a SanitizerReport kind, or "*"
    std::string runtime;  // "asan", "lsan", "ubsan", "tsan": passed on to that runtime; "" not
    std::string pattern;
    std::string text;     // the line as written
  };
  std::vector<Entry> entries_;
};

// `pattern` (the sanitizers' syntax: `*` any run, `^` / `$` anchors) found in `text`.
bool suppression_pattern_matches(std::string_view pattern, std::string_view text);

}  // namespace mqtth::process
