#include "mqtth/process/Suppressions.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace mqtth::process {
namespace {

struct Type {
  std::string_view name;
  std::string_view kind;
  std::string_view runtime;
};

constexpr std::string_view kUbsan = "UndefinedBehaviorSanitizer";

// The sanitizers' own suppression types (compiler-rt's *_suppressions.cpp) and what they
// suppress here. UBSan's check names as `-fsanitize=` spells them.
constexpr std::array<Type, 46> kTypes{{
    {"AddressSanitizer", "AddressSanitizer", ""},
    {"LeakSanitizer", "LeakSanitizer", ""},
    {"UndefinedBehaviorSanitizer", kUbsan, ""},
    {"ThreadSanitizer", "ThreadSanitizer", ""},
    {"MemorySanitizer", "MemorySanitizer", ""},
    {"assertion", "assertion", ""},
    {"*", "*", ""},
    {"leak", "LeakSanitizer", "lsan"},
    {"interceptor_name", "AddressSanitizer", "asan"},
    {"interceptor_via_fun", "AddressSanitizer", "asan"},
    {"interceptor_via_lib", "AddressSanitizer", "asan"},
    {"odr_violation", "AddressSanitizer", "asan"},
    {"race", "ThreadSanitizer", "tsan"},
    {"race_top", "ThreadSanitizer", "tsan"},
    {"thread", "ThreadSanitizer", "tsan"},
    {"mutex", "ThreadSanitizer", "tsan"},
    {"signal", "ThreadSanitizer", "tsan"},
    {"deadlock", "ThreadSanitizer", "tsan"},
    {"called_from_lib", "ThreadSanitizer", "tsan"},
    {"alignment", kUbsan, "ubsan"},
    {"bool", kUbsan, "ubsan"},
    {"bounds", kUbsan, "ubsan"},
    {"builtin", kUbsan, "ubsan"},
    {"enum", kUbsan, "ubsan"},
    {"float-cast-overflow", kUbsan, "ubsan"},
    {"float-divide-by-zero", kUbsan, "ubsan"},
    {"function", kUbsan, "ubsan"},
    {"implicit-unsigned-integer-truncation", kUbsan, "ubsan"},
    {"implicit-signed-integer-truncation", kUbsan, "ubsan"},
    {"implicit-integer-sign-change", kUbsan, "ubsan"},
    {"integer-divide-by-zero", kUbsan, "ubsan"},
    {"invalid-builtin-use", kUbsan, "ubsan"},
    {"nonnull-attribute", kUbsan, "ubsan"},
    {"null", kUbsan, "ubsan"},
    {"nullability-arg", kUbsan, "ubsan"},
    {"nullability-assign", kUbsan, "ubsan"},
    {"nullability-return", kUbsan, "ubsan"},
    {"object-size", kUbsan, "ubsan"},
    {"pointer-overflow", kUbsan, "ubsan"},
    {"return", kUbsan, "ubsan"},
    {"returns-nonnull-attribute", kUbsan, "ubsan"},
    {"shift", kUbsan, "ubsan"},
    {"signed-integer-overflow", kUbsan, "ubsan"},
    {"unreachable", kUbsan, "ubsan"},
    {"unsigned-integer-overflow", kUbsan, "ubsan"},
    {"vla-bound", kUbsan, "ubsan"},
}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// `*`-glob matched at the start of `text` and, when `to_end`, through its end.
bool glob_at(std::string_view pattern, std::string_view text, bool to_end) {
  if (pattern.empty()) return !to_end || text.empty();
  if (pattern.front() == '*') {
    for (std::size_t skip = 0; skip <= text.size(); ++skip)
      if (glob_at(pattern.substr(1), text.substr(skip), to_end)) return true;
    return false;
  }
  return !text.empty() && text.front() == pattern.front() && glob_at(pattern.substr(1), text.substr(1), to_end);
}

}  // namespace

bool suppression_pattern_matches(std::string_view pattern, std::string_view text) {
  const bool anchored_start = !pattern.empty() && pattern.front() == '^';
  if (anchored_start) pattern.remove_prefix(1);
  const bool anchored_end = !pattern.empty() && pattern.back() == '$';
  if (anchored_end) pattern.remove_suffix(1);
  if (anchored_start) return glob_at(pattern, text, anchored_end);
  for (std::size_t at = 0; at <= text.size(); ++at)
    if (glob_at(pattern, text.substr(at), anchored_end)) return true;
  return false;
}

std::optional<Suppressions> Suppressions::load(const std::string& file, std::string& error) {
  std::ifstream in(file);
  if (!in) {
    error = file + ": cannot read";
    return std::nullopt;
  }
  Suppressions out;
  std::string raw;
  for (int number = 1; std::getline(in, raw); ++number) {
    auto line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    const auto where = file + ":" + std::to_string(number) + ": ";
    if (colon == std::string_view::npos) {
      error = where + "expected TYPE:PATTERN, got '" + std::string(line) + "'";
      return std::nullopt;
    }
    const auto type = trim(line.substr(0, colon));
    const auto pattern = trim(line.substr(colon + 1));
    const auto* t = std::find_if(kTypes.begin(), kTypes.end(), [&](const Type& k) { return k.name == type; });
    if (t == kTypes.end()) {
      error = where + "unknown suppression type '" + std::string(type) + "' (docs/netfuzz.md \"Suppressions\")";
      return std::nullopt;
    }
    if (pattern.empty()) {
      error = where + "empty pattern";
      return std::nullopt;
    }
    out.entries_.push_back({std::string(t->kind), std::string(t->runtime), std::string(pattern), std::string(line)});
  }
  return out;
}

std::optional<std::string> Suppressions::match(const SanitizerReport& report) const {
  // What the report says happened: its signature without the kind and the frames.
  const std::string_view what = std::string_view(report.signature).substr(report.kind.size() + 1);
  for (const auto& e : entries_) {
    if (e.kind != "*" && e.kind != report.kind) continue;
    if (suppression_pattern_matches(e.pattern, report.headline)) return e.text;
    if (suppression_pattern_matches(e.pattern, what.substr(0, what.find('|')))) return e.text;
    for (const auto& frame : report.frames)
      if (suppression_pattern_matches(e.pattern, frame)) return e.text;
  }
  return std::nullopt;
}

std::vector<std::string> Suppressions::runtime_environment(const std::string& dir, std::string& error) const {
  std::map<std::string, std::string> files;  // runtime -> its entries
  for (const auto& e : entries_)
    if (!e.runtime.empty()) files[e.runtime] += e.text + "\n";
  std::vector<std::string> env;
  if (files.empty()) return env;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  for (const auto& [runtime, text] : files) {
    const auto path = std::filesystem::absolute(std::filesystem::path(dir) / (runtime + ".supp")).string();
    std::ofstream(path) << text;
    if (!std::filesystem::exists(path)) {
      error = "cannot write " + path;
      return {};
    }
    std::string name = runtime == "asan" ? "ASAN_OPTIONS" : runtime == "lsan" ? "LSAN_OPTIONS"
                       : runtime == "ubsan" ? "UBSAN_OPTIONS" : "TSAN_OPTIONS";
    const char* inherited = std::getenv(name.c_str());
    std::string value = inherited && *inherited ? std::string(inherited) + ":" : std::string();
    env.push_back(name + "=" + value + "suppressions=" + path);
  }
  return env;
}

}  // namespace mqtth::process
