// Blocking POSIX sockets for the live fuzzer's threads and the bystander: case and probe
// connections (with the socket options each needs), writes and reads bounded by poll()
// timeouts.
#pragma once

#include "mqtth/process/TcpConnect.hpp"

#include <cerrno>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mqtth::process {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { if (fd_ >= 0) ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Close with RST, not FIN + TIME_WAIT: tens of thousands of short connections would
// otherwise exhaust the loopback port range.
inline void close_with_reset(int fd) {
  const linger lin{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
}

// Case connections carry one write and a half-close, so Nagle never delays anything (no
// TCP_NODELAY), and only the broker's close matters: SO_RCVLOWAT keeps the kernel from
// waking the worker for each answer segment; end-of-stream wakes it anyway.
inline int connect_case(const TcpAddress& broker, int timeout_ms) {
  return connect_tcp(broker, timeout_ms, [](int fd) {
    const int low_water = 1 << 16;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &low_water, sizeof low_water);
    close_with_reset(fd);
  });
}

// Probe connections exchange a PINGREQ and a PINGRESP at a time: no Nagle delay.
inline int connect_probe(const TcpAddress& broker, int timeout_ms) {
  return connect_tcp(broker, timeout_ms, [](int fd) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close_with_reset(fd);
  });
}

inline void send_all(int fd, std::string_view data, int timeout_ms, int flags = 0) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | flags);
    if (n > 0) { data.remove_prefix(static_cast<std::size_t>(n)); continue; }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, timeout_ms) != 1) return;
      continue;
    }
    return;  // reset / closed: the broker stopped reading, which is an answer too
  }
}

struct Received {
  std::string bytes;
  bool closed = false;
  bool timed_out = false;
};

// Reads until the peer closes, `enough(bytes)` holds, or nothing arrives for `idle_ms`.
template <class Enough>
Received receive(int fd, int idle_ms, Enough enough) {
  Received r;
  char buf[4096];
  bool poll_first = true;
  for (;;) {
    if (poll_first) {
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, idle_ms);
      if (ready == 0) { r.timed_out = true; return r; }
      if (ready < 0 && errno == EINTR) continue;
    }
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    // After data, read on at once: the end of the stream is usually there already (a case
    // socket is woken only at end-of-stream, see connect_case).
    poll_first = n <= 0;
    if (n > 0) {
      r.bytes.append(buf, static_cast<std::size_t>(n));
      if (enough(r.bytes)) return r;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    r.closed = true;
    return r;
  }
}

}  // namespace mqtth::process
