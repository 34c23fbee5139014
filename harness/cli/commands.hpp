// Sub-commands of the `mqtt-harness` executable register themselves here, so each lives
// in its own cmd_*.cpp and main.cpp never changes when one is added.
#pragma once

#include <string_view>

namespace mqtth::cli {

// argv[0] is the sub-command's name; returns the process exit status.
using CommandFn = int (*)(int argc, char** argv);

struct Command {
  std::string_view name;
  std::string_view summary;  // one line for `mqtt-harness --help`
  CommandFn run;
};

// Called from a static initialiser in each cmd_*.cpp; returns true.
bool register_command(const Command& command);

}  // namespace mqtth::cli
