// The scalar vocabulary of scenario files: numbers, statement ids,
// variable names, and the MQTT names the loader takes from the codec (packet types,
// properties). Pure functions, no YAML.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "mqtth/scenario/Scenario.hpp"

namespace mqtth::scenario::detail {

// Decimal, or hex with 0x / 0X.
std::optional<std::uint64_t> parse_uint(std::string_view);
// Hex and durations have one grammar each in the whole project: mqtt::parse_hex
// (mqtt/hex.hpp) and common::parse_duration (mqtth/common/Duration.hpp), at most this long.
inline constexpr Duration kMaxDuration = std::chrono::hours(24);  // more than any scenario needs
// MQTT-<n>.<n>.<n>-<n>, each number 1-3 digits.
bool valid_spec_id(std::string_view);

bool is_ident_start(char);
bool is_ident_char(char);
bool is_variable_name(std::string_view);  // letters, digits and _, not starting with a digit

// The codec's packet type names (mqtt::to_string(PacketType)), accepted in any case.
std::optional<PacketType> parse_packet_type_name(std::string_view);
const std::string& packet_type_names();  // "CONNECT, CONNACK, ..., AUTH"

// Every MQTT 5 property the codec knows, in identifier order.
std::span<const mqtt::PropertyId> known_properties();
// The decode-JSON keys whose values are always strings, so that `topic: 123` means "123":
// names, hex fields, and the properties of type UTF-8 string, binary or string pair.
bool is_string_valued_key(std::string_view);

std::string join(std::span<const std::string_view>);

}  // namespace mqtth::scenario::detail
