// Argument and input helpers shared by `mqtt-harness decode` and `encode`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "mqtt/json.hpp"

namespace mqtth::cli::codec_io {

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

struct InputSource {
  enum Kind { none, hex, stdin_hex, file, stdin_raw, literal } kind = none;
  std::string value;
};

// The input bytes (hex already converted); nullopt and `error` set when unusable.
inline std::optional<std::string> read_input(const InputSource& source, std::string& error) {
  std::string text;
  switch (source.kind) {
    case InputSource::none: error = "no input"; return std::nullopt;
    case InputSource::literal: return source.value;
    case InputSource::hex: text = source.value; break;
    case InputSource::file: {
      std::ifstream in(source.value, std::ios::binary);
      if (!in) {
        error = "cannot read '" + source.value + "'";
        return std::nullopt;
      }
      return std::string(std::istreambuf_iterator<char>(in), {});
    }
    case InputSource::stdin_hex:
    case InputSource::stdin_raw: {
      std::ostringstream all;
      all << std::cin.rdbuf();
      text = all.str();
      if (source.kind == InputSource::stdin_raw) return text;
      break;
    }
  }
  auto bytes = mqtt::parse_hex(text);
  if (!bytes) {
    error = "the hex input is not pairs of hex digits (0-9, a-f; spaces allowed)";
    return std::nullopt;
  }
  return bytes;
}

inline std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + std::uint64_t(c - '0');
  }
  return n;
}

// One JSON object per line. Strings from decoded packets were UTF-8 validated by the codec;
// `replace` only keeps a bug elsewhere from turning into an exception here.
inline void print_json_line(const mqtt::Json& j) {
  std::string line = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

}  // namespace mqtth::cli::codec_io
