#include "mqtth/process/SanitizerReport.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace mqtth::process {
namespace {

constexpr std::size_t kExcerptLines = 40;
constexpr std::size_t kExcerptBytes = 4096;

struct Header {
  std::string_view needle;
  std::string_view kind;
};

// Substrings that begin a report. `==PID==ERROR: <Sanitizer>:` is how the sanitizer
// runtimes of gcc and clang start every error report; UBSan's recoverable checks print
// `FILE:LINE:COL: runtime error: ...` (or `(module+0x..): runtime error:` without debug
// information) instead.
constexpr std::array<Header, 9> kHeaders{{
    {"ERROR: AddressSanitizer:", "AddressSanitizer"},
    {"ERROR: HWAddressSanitizer:", "AddressSanitizer"},
    {"ERROR: LeakSanitizer:", "LeakSanitizer"},
    {"ERROR: UndefinedBehaviorSanitizer:", "UndefinedBehaviorSanitizer"},
    {": runtime error: ", "UndefinedBehaviorSanitizer"},
    {"WARNING: ThreadSanitizer:", "ThreadSanitizer"},
    {"WARNING: MemorySanitizer:", "MemorySanitizer"},
    {"ASSERT: \"", "assertion"},          // Qt's Q_ASSERT
    {"ASSERT failure in ", "assertion"},  // Qt's Q_ASSERT_X
}};

std::size_t line_start(std::string_view text, std::size_t at) {
  const auto nl = text.rfind('\n', at == 0 ? 0 : at - 1);
  return at == 0 || nl == std::string_view::npos ? 0 : nl + 1;
}

std::string_view line_at(std::string_view text, std::size_t start) {
  const auto end = text.find('\n', start);
  auto line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// glibc: "prog: file.c:12: func: Assertion `x' failed."; BSD, musl and MSVC:
// "Assertion failed: x (file.c: func: 12)". The position of the line that holds one.
std::size_t find_assertion(std::string_view text) {
  std::size_t best = std::string_view::npos;
  for (std::size_t at = text.find("Assertion `"); at != std::string_view::npos; at = text.find("Assertion `", at + 1)) {
    const auto line = line_at(text, line_start(text, at));
    if (line.find("' failed") != std::string_view::npos) {
      best = at;
      break;
    }
  }
  const auto bsd = text.find("Assertion failed: ");
  return std::min(best, bsd);
}

// "==12345==ERROR: ..." -> "ERROR: ...".
std::string_view without_pid(std::string_view line) {
  if (line.size() > 4 && line.substr(0, 2) == "==") {
    const auto end = line.find("==", 2);
    if (end != std::string_view::npos &&
        std::all_of(line.begin() + 2, line.begin() + static_cast<std::ptrdiff_t>(end),
                    [](unsigned char c) { return std::isdigit(c); }))
      return line.substr(end + 2);
  }
  return line;
}

bool is_frame(std::string_view line) {
  const auto first = line.find_first_not_of(' ');
  return first != std::string_view::npos && first > 0 && line[first] == '#';
}

}  // namespace

std::optional<SanitizerReport> find_sanitizer_report(std::string_view output) {
  std::size_t at = std::string_view::npos;
  std::string_view kind;
  for (const auto& h : kHeaders) {
    const auto found = output.find(h.needle);
    if (found < at) {
      at = found;
      kind = h.kind;
    }
  }
  if (const auto assertion = find_assertion(output); assertion < at) {
    at = assertion;
    kind = "assertion";
  }
  if (at == std::string_view::npos) return std::nullopt;
  SanitizerReport r;
  r.kind = std::string(kind);
  r.offset = line_start(output, at);
  r.headline = std::string(without_pid(line_at(output, r.offset)));
  // The header, then up to the end of the first stack trace.
  std::size_t pos = r.offset;
  bool in_stack = false;
  for (std::size_t n = 0; n < kExcerptLines && pos < output.size(); ++n) {
    const auto line = line_at(output, pos);
    if (in_stack && !is_frame(line)) break;
    if (is_frame(line)) in_stack = true;
    if (r.excerpt.size() + line.size() + 1 > kExcerptBytes) break;
    r.excerpt.append(line).push_back('\n');
    const auto nl = output.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  // "SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s)." sums up the whole report.
  if (const auto summary = output.find("SUMMARY: ", pos); summary != std::string_view::npos) {
    const auto line = line_at(output, line_start(output, summary));
    if (line.find("Sanitizer") != std::string_view::npos) r.excerpt.append("...\n").append(line).push_back('\n');
  }
  return r;
}

std::string last_lines(std::string_view text, std::size_t n) {
  if (n == 0) return {};
  std::size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  std::size_t start = end;
  for (std::size_t lines = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++lines == n) break;
  }
  return std::string(text.substr(start));
}

}  // namespace mqtth::process
