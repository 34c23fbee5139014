#include "mqtt/hex.hpp"

namespace mqtt {
namespace {

constexpr char kLowerDigits[] = "0123456789abcdef";

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_separator(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':' || c == '_'; }

}  // namespace

std::string to_hex(std::string_view bytes, std::string_view separator) {
  std::string out;
  out.reserve(bytes.size() * (2 + separator.size()));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) out += separator;
    const auto b = static_cast<std::uint8_t>(bytes[i]);
    out += kLowerDigits[b >> 4];
    out += kLowerDigits[b & 0x0F];
  }
  return out;
}

std::optional<std::string> parse_hex(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 2);
  int high = -1;  // the first digit of a byte, until its second one
  for (char c : text) {
    if (is_separator(c)) {
      if (high >= 0) return std::nullopt;
      continue;
    }
    const int v = digit_value(c);
    if (v < 0) return std::nullopt;
    if (high < 0) {
      high = v;
    } else {
      out += static_cast<char>(high << 4 | v);
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;
  return out;
}

std::string hex_byte(std::uint8_t value) {
  static constexpr char kUpperDigits[] = "0123456789ABCDEF";
  return {'0', 'x', kUpperDigits[value >> 4], kUpperDigits[value & 0x0F]};
}

}  // namespace mqtt
