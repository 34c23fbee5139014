// scenario_format: scenarios/schema.json and the generated sections of scenarios/README.md
// from the loader's tables (mqtth/scenario/Format.hpp).
//
//   scenario_format schema                  print the JSON Schema
//   scenario_format write SCHEMA README     rewrite both files
//   scenario_format check SCHEMA README     exit 1, saying what differs, when either file
//                                           is not what `write` would make (a ctest)
// Exit status: 0 done / current, 1 a file is not current, 2 bad arguments or unreadable files.
#include <fstream>
#include <iostream>
#include <sstream>

#include "mqtth/scenario/Format.hpp"

namespace {

using namespace mqtth::scenario;

std::optional<std::string> read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

// The first line where `a` and `b` differ, 1-based.
int first_difference(const std::string& a, const std::string& b) {
  int line = 1;
  for (std::size_t i = 0; i < a.size() && i < b.size() && a[i] == b[i]; ++i)
    if (a[i] == '\n') ++line;
  return line;
}

int usage() {
  std::cerr << "usage: scenario_format schema | (write | check) SCHEMA_JSON README_MD\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "schema") {
    std::cout << json_schema_text();
    return 0;
  }
  if (argc != 4) return usage();
  const std::string command = argv[1], schema_path = argv[2], readme_path = argv[3];
  if (command != "write" && command != "check") return usage();
  const auto schema = read(schema_path);
  const auto readme = read(readme_path);
  if (!readme || (!schema && command == "check")) {
    std::cerr << "scenario_format: cannot read " << (readme ? schema_path : readme_path) << "\n";
    return 2;
  }
  std::string problem;
  const auto new_readme = with_readme_sections(*readme, problem);
  if (!new_readme) {
    std::cerr << "scenario_format: " << readme_path << ": " << problem << "\n";
    return 2;
  }
  const std::string new_schema = json_schema_text();
  if (command == "write") {
    if (!write(schema_path, new_schema) || !write(readme_path, *new_readme)) {
      std::cerr << "scenario_format: cannot write " << schema_path << " or " << readme_path << "\n";
      return 2;
    }
    return 0;
  }
  int status = 0;
  const std::string fix = " is not what the step descriptors make (from line " ;
  const std::string how = "); regenerate: cmake --build --preset default --target scenario_format_update\n";
  if (*schema != new_schema) {
    std::cerr << schema_path << fix << first_difference(*schema, new_schema) << how;
    status = 1;
  }
  if (*readme != *new_readme) {
    std::cerr << readme_path << fix << first_difference(*readme, *new_readme) << how;
    status = 1;
  }
  return status;
}
