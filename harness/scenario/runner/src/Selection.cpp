#include "mqtth/runner/Selection.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

namespace mqtth::runner {

namespace {
// Matches one `[...]` set at pattern[p] against c; sets `next` past the set. Returns
// nullopt-like -1 when the set is unterminated (then '[' is taken literally).
int match_set(std::string_view pattern, std::size_t p, char c, std::size_t& next) {
  std::size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  for (; i < pattern.size(); ++i) {
    if (pattern[i] == ']' && !first) {
      next = i + 1;
      return matched != negate ? 1 : 0;
    }
    first = false;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      if (pattern[i] <= c && c <= pattern[i + 2]) matched = true;
      i += 2;
    } else if (pattern[i] == c) {
      matched = true;
    }
  }
  return -1;
}
}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matcher with single-star backtracking: linear in practice, no recursion.
  std::size_t p = 0, t = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '*') {
        star_p = p++;
        star_t = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pc == '[') {
        std::size_t next = 0;
        const int m = match_set(pattern, p, text[t], next);
        if (m == 1) {
          p = next;
          ++t;
          continue;
        }
        if (m == -1 && text[t] == '[') {
          ++p;
          ++t;
          continue;
        }
      } else if (pc == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

CollectResult collect_scenario_files(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  CollectResult result;
  std::set<std::string> seen;
  auto add = [&](const std::string& path) {
    if (seen.insert(path).second) result.files.push_back({path});
  };
  for (const auto& path : paths) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      result.errors.push_back(path + ": no such file or folder");
      continue;
    }
    if (!fs::is_directory(status)) {
      add(path);
      continue;
    }
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      result.errors.push_back(path + ": cannot read folder: " + ec.message());
      continue;
    }
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) {
        result.errors.push_back(path + ": cannot read folder: " + ec.message());
        break;
      }
      const auto name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      const auto ext = it->path().extension().string();
      if (name == kMutantsAcceptedFile) continue;
      if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(ec)) found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    for (const auto& f : found) add(f);
  }
  std::stable_sort(result.files.begin(), result.files.end(),
                   [](const FoundFile& a, const FoundFile& b) { return a.path < b.path; });
  return result;
}

bool pattern_matches(std::string_view pattern, std::string_view name, std::string_view file) {
  if (pattern == name || pattern == file) return true;
  if (glob_match(pattern, file)) return true;
  for (std::string_view suffix : {" [3.1]", " [3.1.1]", " [5]"}) {
    if (pattern.size() < suffix.size() || pattern.substr(pattern.size() - suffix.size()) != suffix) continue;
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix &&
           glob_match(pattern.substr(0, pattern.size() - suffix.size()), name.substr(0, name.size() - suffix.size()));
  }
  return glob_match(pattern, name);
}

bool selected_by_filters(const std::vector<std::string>& filters, std::string_view name,
                         std::string_view file) {
  if (filters.empty()) return true;
  return std::any_of(filters.begin(), filters.end(),
                     [&](const std::string& pattern) { return pattern_matches(pattern, name, file); });
}

bool in_shard(const Shard& shard, std::size_t index) {
  return shard.count == 0 || index % shard.count == shard.index - 1;
}

}  // namespace mqtth::runner
