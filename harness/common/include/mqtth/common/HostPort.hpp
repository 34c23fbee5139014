// HOST:PORT, the one grammar of the address inside every broker URL (BrokerAddress.hpp:
// `run --broker`, `fuzz --broker`, `bench --broker`, `broker --listen`, `proxy
// --listen/--upstream`) and of the `listening on HOST:PORT` line (docs/architecture.md
// "Vocabulary"):
//
//   HOST ":" PORT      HOST: a name or IPv4 address (letters, digits, '.', '-', '_'),
//                            or an IPv6 address in brackets: [::1]
//                      PORT: decimal 1..65535; 0 too where it means "any free port"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mqtth::common {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 address: "::1"
  std::uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};

// Whether port 0 is accepted: a listening address may ask for any free port, a peer's may not.
enum class PortZero : bool { refused, allowed };

struct ParsedHostPort {
  std::optional<HostPort> value;
  // When there is no value, what is wrong, quoting the text: "'::1:1883' is not HOST:PORT:
  // an IPv6 address needs brackets, e.g. [::1]:1883".
  std::string error;
};

ParsedHostPort parse_host_port(std::string_view text, PortZero zero = PortZero::refused);

// "127.0.0.1:1883", "[::1]:1883": brackets around a host that contains ':' (IPv6), so
// parse_host_port reads it back.
std::string format_host_port(std::string_view host, std::uint16_t port);

}  // namespace mqtth::common
