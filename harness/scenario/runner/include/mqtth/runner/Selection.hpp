// Which scenarios a run executes: file discovery, --filter globs and --shard slices.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mqtth/runner/Options.hpp"
#include "mqtth/scenario/Loader.hpp"

namespace mqtth::runner {

// Shell-style glob: `*` any run of characters (including '/'), `?` one character,
// `[abc]`, `[a-z]`, `[!a-z]` one character of / not of a set. Case-sensitive.
bool glob_match(std::string_view pattern, std::string_view text);

// A scenario file found from the command line's PATHs.
struct FoundFile {
  std::string path;  // as given / as found under a folder
};
struct CollectResult {
  std::vector<FoundFile> files;     // sorted by path, no duplicates
  std::vector<std::string> errors;  // "PATH: no such file or folder"
};
using scenario::kMutantsAcceptedFile;
// Files are taken as given; folders are searched recursively for `*.yaml` (and `*.yml`),
// skipping hidden entries (names starting with '.') and kMutantsAcceptedFile.
CollectResult collect_scenario_files(const std::vector<std::string>& paths);

// How --filter and a profile's `known_deviations` name scenarios: `pattern` matches when it
// is the scenario's name or file path exactly (so a pasted name such as "... [3.1.1]" is
// taken literally), or else as a glob on the name or the path; a trailing protocol suffix
// " [3.1]", " [3.1.1]" or " [5]" of a glob is literal too ("QoS 2* [5]": the [5] of a
// protocols matrix, not the set {5}).
bool pattern_matches(std::string_view pattern, std::string_view name, std::string_view file);

// True when `filters` is empty or any of them matches (pattern_matches).
bool selected_by_filters(const std::vector<std::string>& filters, std::string_view name,
                         std::string_view file);

// Deterministic slicing: the i-th unit (0-based, in the caller's sorted order) belongs to
// shard (i mod N) + 1. Every unit lands in exactly one shard.
bool in_shard(const Shard& shard, std::size_t index);

}  // namespace mqtth::runner
