#include "mqtth/scenario/Loader.hpp"

namespace mqtth::scenario {
// Placeholder while the loader is being written.
LoadResult load_string(std::string_view, const std::string& file_name, const LoadOptions&) {
  LoadResult r;
  r.errors.push_back({file_name, 0, 0, "scenario loader not implemented yet"});
  return r;
}
LoadResult load_file(const std::filesystem::path& file, const LoadOptions& options) {
  return load_string("", file.string(), options);
}
std::vector<std::filesystem::path> find_scenario_files(const std::filesystem::path&) { return {}; }
std::string LoadError::to_string() const { return file + ":" + std::to_string(line) + ": " + message; }
}  // namespace mqtth::scenario
