// The entry points: load_string, load_file, find_scenario_files; yaml-cpp's exceptions and
// the node budget end here as LoadErrors.
#include <algorithm>
#include <fstream>

#include "loader/Parser.hpp"

namespace mqtth::scenario {

namespace {
// 1-based line of a '---' document marker that follows content, or 0.
int second_document_line(std::string_view text) {
  bool content = false;
  int line = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    ++line;
    bool marker = l.substr(0, 3) == "---" && (l.size() == 3 || l[3] == ' ' || l[3] == '\t');
    if (marker && content) return line;
    std::size_t first = l.find_first_not_of(" \t");
    if (!marker && first != std::string_view::npos && l[first] != '#' && l[first] != '%') content = true;
    pos = end + 1;
  }
  return 0;
}

std::string too_large(std::uintmax_t size, const LoadOptions& options) {
  return "the file is " + (size > options.max_file_bytes + 1 ? std::to_string(size) : "more than " + std::to_string(options.max_file_bytes)) +
         " bytes; a scenario file may have at most " + std::to_string(options.max_file_bytes) +
         " (large payloads: `payload_size`)";
}
}  // namespace

std::string LoadError::to_string() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_string(std::string_view text, const std::string& file_name, const LoadOptions& options) {
  LoadResult result;
  if (text.size() > options.max_file_bytes) {
    result.errors.push_back({file_name, 0, 0, too_large(text.size(), options)});
    return result;
  }
  Parser parser(file_name, options);
  try {
    // Only the first document is parsed: yaml-cpp 0.7's LoadAll() never returns on some
    // inputs (e.g. a document that starts with ','), found by fuzzing. A second document is
    // detected from its '---' marker instead.
    YAML::Node root = YAML::Load(std::string(text));
    if (root.IsNull()) {
      result.errors.push_back({file_name, 0, 0, "the file holds no scenario (empty, or not a YAML mapping): a scenario needs at least name, protocol and steps"});
      return result;
    }
    if (int line = second_document_line(text); line > 0) {
      YAML::Mark at;
      at.line = line - 1;
      parser.error(at, "one scenario per file: a second YAML document ('---') is not allowed");
    }
    result.scenarios = parser.parse_document(root);
  } catch (const detail::BudgetExceeded&) {
    parser.error(YAML::Mark::null_mark(), "the file expands to more than " + std::to_string(options.max_nodes_visited) + " YAML nodes (aliases or repeats too large)");
  } catch (const YAML::Exception& e) {
    parser.error(e.mark, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    parser.error(YAML::Mark::null_mark(), std::string("cannot load: ") + e.what());
  } catch (...) {
    parser.error(YAML::Mark::null_mark(), "cannot load: unknown error");
  }
  result.errors = std::move(parser.errors);
  if (!result.errors.empty()) result.scenarios.clear();
  return result;
}

LoadResult load_file(const std::filesystem::path& file, const LoadOptions& options) {
  std::error_code ec;
  if (const auto size = std::filesystem::file_size(file, ec); !ec && size > options.max_file_bytes) {
    LoadResult r;
    r.errors.push_back({file.string(), 0, 0, too_large(size, options)});
    return r;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back({file.string(), 0, 0, "cannot open the file"});
    return r;
  }
  // At most one byte past the limit, whatever the file is (a pipe has no size to check).
  std::string text(options.max_file_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return load_string(text, file.string(), options);
}

std::vector<std::filesystem::path> find_scenario_files(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return {path};
  if (!std::filesystem::is_directory(path, ec)) return out;
  for (auto it = std::filesystem::recursive_directory_iterator(path, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().filename() == kMutantsAcceptedFile) continue;
    auto ext = it->path().extension().string();
    if (ext == ".yaml" || ext == ".yml") out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mqtth::scenario
