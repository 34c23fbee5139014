#include "mqtth/common/BrokerAddress.hpp"

namespace mqtth::common {

std::string_view to_string(Transport transport) { return transport == Transport::mqtts ? "mqtts" : "mqtt"; }

ParsedBrokerAddress parse_broker_address(std::string_view text, PortZero zero) {
  BrokerAddress address;
  std::string_view rest = text;
  if (const auto sep = text.find("://"); sep != std::string_view::npos) {
    const std::string_view scheme = text.substr(0, sep);
    if (scheme == "mqtt") {
      address.transport = Transport::mqtt;
    } else if (scheme == "mqtts") {
      address.transport = Transport::mqtts;
    } else if (scheme == "ws" || scheme == "wss") {
      return {std::nullopt, "'" + std::string(text) + "': " + std::string(scheme) +
                                ":// (MQTT over WebSockets) is not supported yet; use mqtt:// or mqtts://"};
    } else {
      return {std::nullopt, "'" + std::string(text) + "': unknown scheme '" + std::string(scheme) +
                                "://' (expected mqtt:// or mqtts://)"};
    }
    rest = text.substr(sep + 3);
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      // A trailing '/' alone is harmless; a path is meaningful only for WebSockets.
      if (slash + 1 != rest.size())
        return {std::nullopt, "'" + std::string(text) + "': a path is only meaningful for ws:// and wss://"};
      rest = rest.substr(0, slash);
    }
  }
  auto parsed = parse_host_port(rest, zero);
  if (!parsed.value) {
    if (rest.size() == text.size()) return {std::nullopt, parsed.error};
    // "'mqtts://::1:8883': '::1:8883' is not HOST:PORT: ..." names what the user typed.
    return {std::nullopt, "'" + std::string(text) + "': " + parsed.error};
  }
  address.endpoint = std::move(*parsed.value);
  return {std::move(address), {}};
}

std::string format_broker_address(const BrokerAddress& address) {
  return std::string(to_string(address.transport)) + "://" +
         format_host_port(address.endpoint.host, address.endpoint.port);
}

}  // namespace mqtth::common
