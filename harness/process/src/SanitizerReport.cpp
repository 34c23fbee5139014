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

// Frames that say where the runtime or the C library was, not where the bug is.
bool runtime_frame(std::string_view function) {
  static constexpr std::string_view kPrefixes[] = {"__interceptor_", "__asan", "__lsan", "__ubsan", "__sanitizer",
                                                   "__tsan", "__msan", "__GI_", "__libc_", "__pthread_kill", "___interceptor_"};
  static constexpr std::string_view kNames[] = {"malloc", "calloc", "realloc", "free", "strdup", "strndup",
                                                "reallocarray", "posix_memalign", "aligned_alloc", "memalign",
                                                "raise", "abort", "gsignal", "pthread_kill", "__assert_fail",
                                                "__assert_fail_base"};
  for (const auto p : kPrefixes)
    if (function.substr(0, p.size()) == p) return true;
  for (const auto n : kNames)
    if (function == n) return true;
  return function.substr(0, 9) == "operator " && (function.find("new") != std::string_view::npos ||
                                                  function.find("delete") != std::string_view::npos);
}

// "    #1 0x56 in handle__unsubscribe src/handle_unsubscribe.c:88" -> "handle__unsubscribe";
// "    #2 0x7f (/lib/libc.so.6+0x2a)" -> "libc.so.6"; "" for a runtime frame.
std::string frame_name(std::string_view line) {
  auto rest = line.substr(line.find('#'));
  const auto space = rest.find(' ');
  if (space == std::string_view::npos) return {};
  rest.remove_prefix(space + 1);                                        // "#1 "
  if (const auto addr_end = rest.find(' '); addr_end != std::string_view::npos) rest.remove_prefix(addr_end + 1);  // "0x56 "
  else return {};
  if (rest.substr(0, 3) == "in ") {
    rest.remove_prefix(3);
    // The location after the last space: a path, "(module+0x...)" or "file.c:12".
    if (const auto last = rest.rfind(' '); last != std::string_view::npos) {
      const auto loc = rest.substr(last + 1);
      const bool is_location = loc.find('/') != std::string_view::npos || loc.front() == '(' ||
                               (loc.find(':') != std::string_view::npos && std::isdigit(static_cast<unsigned char>(loc.back())));
      if (is_location) rest = rest.substr(0, last);
    }
    return runtime_frame(rest) ? std::string() : std::string(rest);
  }
  // No symbol: "(/path/module+0x1234)" -> the module's file name, never the offset.
  if (rest.front() == '(') rest.remove_prefix(1);
  rest = rest.substr(0, rest.find_first_of("+)"));
  if (const auto slash = rest.rfind('/'); slash != std::string_view::npos) rest.remove_prefix(slash + 1);
  return std::string(rest);
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Addresses and values blanked: "0x602000000010" -> "0x?", a stand-alone number -> "N".
// Numbers inside words or after ':' (a file's line and column) stay.
std::string blank_numbers(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const bool starts_token = i == 0 || !(word_char(text[i - 1]) || text[i - 1] == ':' || text[i - 1] == '.');
    if (starts_token && text.substr(i, 2) == "0x") {
      std::size_t j = i + 2;
      while (j < text.size() && std::isxdigit(static_cast<unsigned char>(text[j]))) ++j;
      out += "0x?";
      i = j;
      continue;
    }
    if (starts_token && (std::isdigit(static_cast<unsigned char>(text[i])) ||
                         (text[i] == '-' && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))))) {
      std::size_t j = i + 1;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      if (j == text.size() || !word_char(text[j])) {
        out += "N";
        i = j;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

// What the headline says happened, without where in memory.
std::string what_happened(const SanitizerReport& r) {
  const std::string_view h = r.headline;
  // "src/x.c:12:5: runtime error: ...": the location keeps its line and column; a
  // location without debug information, "(/usr/sbin/broker+0x1234)", loses its offset.
  if (h.find(": runtime error: ") != std::string_view::npos) return blank_numbers(h);
  if (const auto at = h.find("Sanitizer: "); at != std::string_view::npos) {
    auto what = h.substr(at + 11);
    for (const std::string_view cut : {" on address", " on unknown address", " at pc", " (pc", " address "}) {
      if (const auto c = what.find(cut); c != std::string_view::npos) what = what.substr(0, c);
    }
    return blank_numbers(what);
  }
  return blank_numbers(h);
}

struct Found {
  SanitizerReport report;
  std::size_t end = 0;  // just after the text it took
};

std::optional<Found> find_from(std::string_view output, std::size_t from) {
  const auto text = output.substr(from);
  std::size_t at = std::string_view::npos;
  std::string_view kind;
  for (const auto& h : kHeaders) {
    const auto found = text.find(h.needle);
    if (found < at) {
      at = found;
      kind = h.kind;
    }
  }
  if (const auto assertion = find_assertion(text); assertion < at) {
    at = assertion;
    kind = "assertion";
  }
  if (at == std::string_view::npos) return std::nullopt;
  at += from;
  Found found;
  SanitizerReport& r = found.report;
  r.kind = std::string(kind);
  r.offset = std::max(line_start(output, at), from);
  r.headline = std::string(without_pid(line_at(output, r.offset)));
  r.recoverable = r.headline.find(": runtime error: ") != std::string::npos;
  // The header, then up to the end of the first stack trace.
  std::size_t pos = r.offset;
  bool in_stack = false;
  for (std::size_t n = 0; n < kExcerptLines && pos < output.size(); ++n) {
    const auto line = line_at(output, pos);
    // A recoverable report without a stack ends with its line; the next one is not its.
    if (n > 0 && r.recoverable && !in_stack && !is_frame(line)) break;
    if (in_stack && !is_frame(line)) break;
    if (is_frame(line)) {
      in_stack = true;
      if (auto name = frame_name(line); !name.empty()) r.frames.push_back(std::move(name));
    }
    if (r.excerpt.size() + line.size() + 1 > kExcerptBytes) break;
    r.excerpt.append(line).push_back('\n');
    const auto nl = output.find('\n', pos);
    if (nl == std::string_view::npos) {
      pos = output.size();
      break;
    }
    pos = nl + 1;
  }
  found.end = std::max(pos, r.offset + 1);
  // "SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s)." sums up the whole report.
  if (!r.recoverable)
    if (const auto summary = output.find("SUMMARY: ", pos); summary != std::string_view::npos) {
      const auto line = line_at(output, line_start(output, summary));
      if (line.find("Sanitizer") != std::string_view::npos) {
        r.excerpt.append("...\n").append(line).push_back('\n');
        found.end = std::max(found.end, summary + line.size());
      }
    }
  r.signature = r.kind + "|" + what_happened(r);
  for (std::size_t i = 0; i < r.frames.size() && i < kSignatureFrames; ++i) r.signature += "|" + r.frames[i];
  return found;
}

}  // namespace

std::optional<SanitizerReport> find_sanitizer_report(std::string_view output) {
  auto f = find_from(output, 0);
  if (!f) return std::nullopt;
  return std::move(f->report);
}

std::vector<SanitizerReport> find_sanitizer_reports(std::string_view output) {
  std::vector<SanitizerReport> out;
  for (std::size_t from = 0; from < output.size();) {
    auto f = find_from(output, from);
    if (!f) break;
    from = f->end;
    out.push_back(std::move(f->report));
  }
  return out;
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
