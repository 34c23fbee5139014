#include "loader/Scalars.hpp"

#include <array>
#include <charconv>
#include <system_error>
#include <vector>

namespace mqtth::scenario::detail {

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool valid_spec_id(std::string_view s) {
  // MQTT-<n>.<n>.<n>-<n>
  if (s.substr(0, 5) != "MQTT-") return false;
  std::size_t i = 5;
  auto digits = [&](void) {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start && i - start <= 3;
  };
  if (!digits() || i >= s.size() || s[i++] != '.') return false;
  if (!digits() || i >= s.size() || s[i++] != '.') return false;
  if (!digits() || i >= s.size() || s[i++] != '-') return false;
  return digits() && i == s.size();
}

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

bool is_variable_name(std::string_view s) {
  if (s.empty() || !is_ident_start(s[0])) return false;
  for (char c : s)
    if (!is_ident_char(c)) return false;
  return true;
}

namespace {
constexpr auto kFirstPacketType = static_cast<unsigned>(PacketType::connect);
constexpr auto kLastPacketType = static_cast<unsigned>(PacketType::auth);
}  // namespace

std::optional<PacketType> parse_packet_type_name(std::string_view name) {
  std::string upper(name);
  for (auto& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return mqtt::parse_packet_type(upper);
}

const std::string& packet_type_names() {
  static const std::string names = [] {
    std::string out;
    for (unsigned t = kFirstPacketType; t <= kLastPacketType; ++t)
      out += (out.empty() ? "" : ", ") + std::string(mqtt::to_string(static_cast<PacketType>(t)));
    return out;
  }();
  return names;
}

std::span<const mqtt::PropertyId> known_properties() {
  static const std::vector<mqtt::PropertyId> ids = [] {
    std::vector<mqtt::PropertyId> out;
    for (unsigned id = 0; id <= 0xFF; ++id)
      if (mqtt::property_type(static_cast<std::uint8_t>(id))) out.push_back(static_cast<mqtt::PropertyId>(id));
    return out;
  }();
  return ids;
}

bool is_string_valued_key(std::string_view key) {
  static constexpr std::array<std::string_view, 9> kFields = {
      "topic", "client_id", "filter", "filters", "protocol_name", "payload", "payload_hex", "username", "password_hex"};
  for (auto k : kFields)
    if (k == key) return true;
  const auto id = mqtt::parse_property_name(key);
  if (!id) return false;
  const auto type = mqtt::property_type(static_cast<std::uint8_t>(*id));
  return type == mqtt::PropertyType::utf8 || type == mqtt::PropertyType::binary ||
         type == mqtt::PropertyType::utf8_pair;
}

std::string join(std::span<const std::string_view> keys) {
  std::string out;
  for (auto k : keys) {
    if (!out.empty()) out += ", ";
    out += k;
  }
  return out;
}

}  // namespace mqtth::scenario::detail
