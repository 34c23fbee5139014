// Blocking-with-timeout TCP connects for tools that drive a broker from plain threads
// (the live fuzzer's cases and probes, BrokerProcess's "does it accept yet"). POSIX, no Qt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/socket.h>

namespace mqtth::process {

// HOST:PORT looked up once (a fuzzer connects tens of thousands of times a second).
struct TcpAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_UNSPEC;
};

// An IPv4 or IPv6 address, or a name (the first address it resolves to). "localhost" is
// 127.0.0.1, where `mqtt-harness broker` listens by default. nullopt when it does not resolve.
std::optional<TcpAddress> resolve_tcp(const std::string& host, std::uint16_t port);

// A connected non-blocking socket (SOCK_CLOEXEC), or -1 when the connect fails or takes
// longer than `timeout_ms`. `configure` may set socket options before the connect.
int connect_tcp(const TcpAddress& address, int timeout_ms, void (*configure)(int fd) = nullptr);

// A TCP port on 127.0.0.1 that nothing listens on at the time of the call (bound to port
// 0 and released), for a spawned broker's `{port}`; 0 when none can be had.
std::uint16_t free_loopback_port();

}  // namespace mqtth::process
