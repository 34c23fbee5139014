// Hex, the one formatter and parser of bytes as text for the whole project: decode JSON
// (`payload_hex`, binary properties), scenario files (`send_raw: {hex: ...}`), traces,
// reports, fuzz findings, `mqtt-harness decode --hex` (docs/architecture.md "Vocabulary").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mqtt {

// Two lowercase hex digits per byte, `separator` between bytes: to_hex("\x30\x02") is
// "3002", to_hex("\x30\x02", " ") is "30 02".
std::string to_hex(std::string_view bytes, std::string_view separator = {});

// Pairs of hex digits in either case. Whitespace, ':' or '_' may stand between bytes
// ("30 02", "30:02", "3002"), never inside one ("3 002"). nullopt for anything else: an odd
// number of digits, a non-hex character, a "0x" prefix.
std::optional<std::string> parse_hex(std::string_view text);

// A reason code or flags byte as messages show it: "0x81".
std::string hex_byte(std::uint8_t value);

}  // namespace mqtt
