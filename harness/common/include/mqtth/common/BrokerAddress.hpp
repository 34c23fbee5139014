// BROKER-URL, the one grammar of every broker address option (`run --broker`,
// `fuzz --broker`, `bench --broker`, `broker --listen`, `proxy --listen/--upstream`;
// docs/architecture.md "Vocabulary", docs/tls.md):
//
//   [SCHEME "://"] HOST ":" PORT     SCHEME: mqtt (plain TCP, the default) or mqtts (TLS);
//                                    HOST ":" PORT: the HOST:PORT grammar (HostPort.hpp)
//
// `host:port` and `mqtt://host:port` are the same address. ws:// and wss:// are named in
// the error as not built yet (docs/tls.md "Not done").
#pragma once

#include <mqtth/common/HostPort.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace mqtth::common {

enum class Transport : unsigned char { mqtt, mqtts };
std::string_view to_string(Transport);  // "mqtt" "mqtts"

struct BrokerAddress {
  Transport transport = Transport::mqtt;
  HostPort endpoint;
  bool operator==(const BrokerAddress&) const = default;
};

struct ParsedBrokerAddress {
  std::optional<BrokerAddress> value;
  // When there is no value, what is wrong, quoting the text.
  std::string error;
};

ParsedBrokerAddress parse_broker_address(std::string_view text, PortZero zero = PortZero::refused);

// "mqtts://127.0.0.1:8883", "mqtt://[::1]:1883": always with the scheme, so a report says
// which transport was used.
std::string format_broker_address(const BrokerAddress& address);

}  // namespace mqtth::common
