#include "mqtth/common/HostPort.hpp"

namespace mqtth::common {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_name_char(char c) { return is_alnum(c) || c == '.' || c == '-' || c == '_'; }
// Inside brackets: hex digits and ':' (and '.' for an embedded IPv4, '%' and a zone name).
bool is_ipv6_char(char c) { return is_alnum(c) || c == ':' || c == '.' || c == '%'; }

}  // namespace

std::string format_host_port(std::string_view host, std::uint16_t port) {
  const bool ipv6 = host.find(':') != std::string_view::npos;
  return (ipv6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

ParsedHostPort parse_host_port(std::string_view text, PortZero zero) {
  auto fail = [&](const std::string& why) {
    return ParsedHostPort{std::nullopt, "'" + std::string(text) + "' is not HOST:PORT: " + why};
  };
  std::string_view host, port;
  if (text.find("://") != std::string_view::npos) return fail("a URL; give HOST:PORT without the scheme");
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail("'[' without ']'");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("']' must be followed by ':PORT'");
    port = text.substr(close + 2);
    if (host.empty()) return fail("the host is empty");
    if (host.find(':') == std::string_view::npos) return fail("brackets are for IPv6 addresses, e.g. [::1]:1883");
    for (char c : host)
      if (!is_ipv6_char(c)) return fail("'" + std::string(1, c) + "' cannot be part of an IPv6 address");
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("no ':PORT' (e.g. 127.0.0.1:1883)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return fail("an IPv6 address needs brackets, e.g. [::1]:1883");
    if (host.empty()) return fail("the host is empty");
    for (char c : host)
      if (!is_name_char(c)) return fail("'" + std::string(1, c) + "' cannot be part of a host name or address");
  }
  const unsigned min_port = zero == PortZero::allowed ? 0 : 1;
  const std::string range = std::to_string(min_port) + "..65535";
  if (port.empty()) return fail("the port is empty (" + range + ")");
  unsigned long value = 0;
  for (char c : port) {
    if (!is_digit(c)) return fail("the port '" + std::string(port) + "' is not a number (" + range + ")");
    value = value * 10 + static_cast<unsigned long>(c - '0');
    if (value > 65535) return fail("the port " + std::string(port) + " is not in " + range);
  }
  if (value < min_port) return fail("the port 0 is not allowed here (" + range + ")");
  return ParsedHostPort{HostPort{std::string(host), static_cast<std::uint16_t>(value)}, {}};
}

}  // namespace mqtth::common
