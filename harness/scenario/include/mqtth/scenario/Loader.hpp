// Scenario file loader: YAML text -> Scenario model (Scenario.hpp), or errors naming
// file:line:column, the offending key and what was expected.
//
// Never throws and never crashes on any input (it is fuzzed with arbitrary text): YAML
// syntax errors, yaml-cpp exceptions, deep nesting, alias bombs and huge `repeat`s all
// become LoadErrors. All errors of a file are reported, not just the first.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtth/scenario/Scenario.hpp"

namespace mqtth::scenario {

struct LoadError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is about the whole file (e.g. unreadable)
  int column = 0;  // 1-based; 0 if unknown
  std::string message;
  // "file:line:column: message" (or "file: message" without a line).
  std::string to_string() const;
  bool operator==(const LoadError&) const = default;
};

struct LoadOptions {
  // Fault steps are parsed into the model; false rejects them ("fault steps are turned off
  // for this load") for tools that cannot inject faults.
  bool allow_faults = true;
  // Upper bounds that keep a hostile file from exhausting time or memory.
  // Checked before the text is read or parsed: yaml-cpp keeps every node of a document in
  // memory at once, ~70 bytes of RSS per byte of a file of small nodes (50 MB: 3.6 GB).
  // The suite's largest file is under 2 KiB; `payload_size` makes large payloads.
  std::size_t max_file_bytes = 1 << 20;
  std::size_t max_steps = 100000;        // steps after repeat expansion, per scenario
  std::size_t max_nodes_visited = 1000000;  // YAML nodes walked (aliases count each time)
  std::size_t max_repeat_depth = 8;
};

struct LoadResult {
  std::vector<Scenario> scenarios;  // empty when errors is non-empty
  std::vector<LoadError> errors;
  bool ok() const { return errors.empty(); }
};

// Loads one scenario file. `protocols: [a, b]` yields one Scenario per version.
LoadResult load_file(const std::filesystem::path& file, const LoadOptions& options = {});
// Same, from text; `file_name` is used in errors and Scenario::file.
LoadResult load_string(std::string_view text, const std::string& file_name,
                       const LoadOptions& options = {});

// The accepted survivors of `mqtt-harness mutants` (docs/mutants.md) live beside the
// scenarios under this name; a folder search does not take it for a scenario.
inline constexpr std::string_view kMutantsAcceptedFile = "mutants-accepted.yaml";

// `path` itself if it is a file; otherwise every *.yaml / *.yml under it but
// kMutantsAcceptedFile, recursively, sorted by path. Nonexistent path: empty.
std::vector<std::filesystem::path> find_scenario_files(const std::filesystem::path& path);

// The accepted format as data (keys, types, step kinds): Format.hpp.

}  // namespace mqtth::scenario
