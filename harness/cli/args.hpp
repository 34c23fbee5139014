// The one argv walker of every sub-command that parses its own options.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqtth::cli {

// Walks argv (argv[0] is the sub-command); accepts `--opt value` and `--opt=value`.
class ArgReader {
 public:
  ArgReader(int argc, char** argv, std::string_view command, std::string_view usage)
      : argc_(argc), argv_(argv), command_(command), usage_(usage) {}

  std::optional<std::string_view> next() {
    pending_.reset();
    if (index_ >= argc_) return std::nullopt;
    std::string_view arg = argv_[index_++];
    if (arg.size() > 2 && arg.substr(0, 2) == "--") {
      if (auto eq = arg.find('='); eq != std::string_view::npos) {
        pending_ = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    current_ = arg;
    return arg;
  }
  // The value of the option just read; prints the error itself when it is missing.
  std::optional<std::string_view> value() {
    if (pending_) return pending_;
    if (index_ >= argc_) {
      bad(std::string(current_) + " needs a value");
      return std::nullopt;
    }
    return std::string_view(argv_[index_++]);
  }
  // Every argument after the one just read, consumed (the command line `--spawn` runs).
  std::vector<std::string_view> rest() {
    std::vector<std::string_view> out;
    while (index_ < argc_) out.emplace_back(argv_[index_++]);
    return out;
  }
  int bad(const std::string& message) const {
    std::fprintf(stderr, "mqtt-harness %.*s: %s\n(`mqtt-harness %.*s --help` shows the usage)\n",
                 int(command_.size()), command_.data(), message.c_str(), int(command_.size()), command_.data());
    return 2;
  }
  int help() const {
    std::fwrite(usage_.data(), 1, usage_.size(), stdout);
    return 0;
  }

 private:
  int argc_;
  char** argv_;
  int index_ = 1;
  std::string_view command_, usage_, current_;
  std::optional<std::string_view> pending_;
};

}  // namespace mqtth::cli
