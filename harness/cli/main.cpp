#include "commands.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace mqtth::cli {
namespace {
std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

void print_usage(std::FILE* out) {
  std::fprintf(out, "usage: mqtt-harness <command> [options]\n\ncommands:\n");
  auto commands = registry();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return a.name < b.name; });
  for (const auto& c : commands)
    std::fprintf(out, "  %-10.*s %.*s\n", int(c.name.size()), c.name.data(), int(c.summary.size()),
                 c.summary.data());
  std::fprintf(out, "\n`mqtt-harness <command> --help` describes a command.\n");
}
}  // namespace

bool register_command(const Command& command) {
  registry().push_back(command);
  return true;
}
}  // namespace mqtth::cli

int main(int argc, char** argv) {
  using namespace mqtth::cli;
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  for (const auto& c : registry())
    if (c.name == name) return c.run(argc - 1, argv + 1);
  std::fprintf(stderr, "mqtt-harness: unknown command '%s'\n", argv[1]);
  print_usage(stderr);
  return 2;
}
