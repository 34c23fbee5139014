// Suppressions: the documented TYPE:PATTERN format, the sanitizers' own files, and the
// environment that hands those on to the spawned broker's runtime.
#include "mqtth/process/Suppressions.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

using mqtth::process::find_sanitizer_report;
using mqtth::process::Suppressions;
using mqtth::process::suppression_pattern_matches;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = (std::filesystem::temp_directory_path() / ("mqtth-supp-" + std::to_string(::getpid()) + "-" + name)).string();
  std::ofstream(path) << text;
  return path;
}

std::optional<Suppressions> load(const std::string& text, std::string& error) {
  return Suppressions::load(write_temp("s.txt", text), error);
}

const char* kUbsanNull = "src/lib.c:10:3: runtime error: null pointer passed as argument 2, which is declared to never be null\n"
                         "    #0 0x1 in packet__read_string src/lib.c:10\n"
                         "    #1 0x2 in handle__connect src/c.c:5\n";
const char* kUaf = "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x60 at pc 0x1 bp 0x2 sp 0x3\n"
                   "    #0 0x1 in sub__remove src/subs.c:120\n";
const char* kLeak = "==1==ERROR: LeakSanitizer: detected memory leaks\n\nDirect leak of 8 byte(s) in 1 object(s) allocated from:\n"
                    "    #0 0x1 in malloc\n    #1 0x2 in config__load src/conf.c:9\n";

}  // namespace

TEST(SuppressionPattern, substring_glob_and_anchors) {
  EXPECT_TRUE(suppression_pattern_matches("read_string", "packet__read_string"));
  EXPECT_TRUE(suppression_pattern_matches("packet__*_string", "packet__read_string"));
  EXPECT_TRUE(suppression_pattern_matches("^packet__", "packet__read_string"));
  EXPECT_FALSE(suppression_pattern_matches("^read", "packet__read_string"));
  EXPECT_TRUE(suppression_pattern_matches("string$", "packet__read_string"));
  EXPECT_FALSE(suppression_pattern_matches("read$", "packet__read_string"));
  EXPECT_FALSE(suppression_pattern_matches("write", "packet__read_string"));
}

TEST(Suppressions, own_kinds_match_frames_or_what_happened) {
  std::string error;
  const auto s = load("# known, reported upstream\nUndefinedBehaviorSanitizer: packet__read_string\n\n"
                      "AddressSanitizer:heap-use-after-free\n", error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->match(*find_sanitizer_report(kUbsanNull)), "UndefinedBehaviorSanitizer: packet__read_string");
  EXPECT_EQ(s->match(*find_sanitizer_report(kUaf)), "AddressSanitizer:heap-use-after-free");
  EXPECT_FALSE(s->match(*find_sanitizer_report(kLeak)));
}

TEST(Suppressions, kind_must_agree) {
  std::string error;
  const auto s = load("LeakSanitizer:sub__remove\n", error);
  ASSERT_TRUE(s) << error;
  EXPECT_FALSE(s->match(*find_sanitizer_report(kUaf)));  // the frame is there, but a use-after-free is no leak
}

TEST(Suppressions, sanitizer_own_file_is_matched_and_handed_on) {
  std::string error;
  const auto s = load("leak:config__load\nnull:packet__read_string\ninterceptor_via_fun:sub__*\n", error);
  ASSERT_TRUE(s) << error;
  EXPECT_TRUE(s->match(*find_sanitizer_report(kLeak)));
  EXPECT_TRUE(s->match(*find_sanitizer_report(kUbsanNull)));
  EXPECT_TRUE(s->match(*find_sanitizer_report(kUaf)));
  // The test's own environment is whatever ran it (an ASan run sets ASAN_OPTIONS): pin
  // each variable, and put the runner's back afterwards.
  std::vector<std::pair<const char*, std::optional<std::string>>> outer;
  for (const char* name : {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"}) {
    const char* value = std::getenv(name);
    outer.emplace_back(name, value ? std::optional<std::string>(value) : std::nullopt);
    ::unsetenv(name);
  }
  ::setenv("UBSAN_OPTIONS", "print_stacktrace=1", 1);
  const auto dir = (std::filesystem::temp_directory_path() / ("mqtth-supp-dir-" + std::to_string(::getpid()))).string();
  const auto env = s->runtime_environment(dir, error);
  for (const auto& [name, value] : outer) {
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ASSERT_EQ(error, "");
  ASSERT_EQ(env.size(), 3u);
  EXPECT_EQ(env[0], "ASAN_OPTIONS=suppressions=" + dir + "/asan.supp");
  EXPECT_EQ(env[1], "LSAN_OPTIONS=suppressions=" + dir + "/lsan.supp");
  EXPECT_EQ(env[2], "UBSAN_OPTIONS=print_stacktrace=1:suppressions=" + dir + "/ubsan.supp");
  std::stringstream ubsan;
  ubsan << std::ifstream(dir + "/ubsan.supp").rdbuf();
  EXPECT_EQ(ubsan.str(), "null:packet__read_string\n");  // only its own entries: a runtime refuses types it does not know
  std::filesystem::remove_all(dir);
}

TEST(Suppressions, own_kinds_are_not_handed_on) {
  std::string error;
  const auto s = load("assertion: db__msg_add\n*: sub__remove\n", error);
  ASSERT_TRUE(s) << error;
  EXPECT_TRUE(s->runtime_environment("/nonexistent/never-created", error).empty());
  EXPECT_TRUE(s->match(*find_sanitizer_report(kUaf)));
}

TEST(Suppressions, bad_lines_name_file_and_line) {
  std::string error;
  EXPECT_FALSE(load("leak:ok\nno colon here\n", error));
  EXPECT_NE(error.find("s.txt:2: expected TYPE:PATTERN"), std::string::npos) << error;
  EXPECT_FALSE(load("nonsense:x\n", error));
  EXPECT_NE(error.find(":1: unknown suppression type 'nonsense'"), std::string::npos) << error;
  EXPECT_FALSE(load("leak:\n", error));
  EXPECT_NE(error.find(":1: empty pattern"), std::string::npos) << error;
  EXPECT_FALSE(Suppressions::load("/nonexistent/supp.txt", error));
  EXPECT_NE(error.find("cannot read"), std::string::npos);
}
