// Input helpers shared by `mqtt-harness decode` and `encode`.
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

#include "args.hpp"
#include "mqtt/json.hpp"

namespace mqtth::cli::codec_io {

using mqtth::cli::ArgReader;

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
