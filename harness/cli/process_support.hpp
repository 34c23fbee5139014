// What the long-running sub-commands (broker, proxy) share: HOST:PORT arguments and a
// clean stop on SIGINT/SIGTERM from inside the Qt event loop.
#pragma once

#include <QCoreApplication>
#include <QHostAddress>
#include <QSocketNotifier>

#include <cstdio>

#include <csignal>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>

namespace mqtth::cli {

struct HostPort {
  QHostAddress host;
  quint16 port = 0;
};

// "127.0.0.1:1883", "localhost:0", "[::1]:1883"; nullopt when malformed.
inline std::optional<HostPort> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string port_text(text.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  HostPort out;
  if (host == "localhost") {
    out.host = QHostAddress(QHostAddress::LocalHost);
  } else if (!out.host.setAddress(QString::fromUtf8(host.data(), qsizetype(host.size())))) {
    return std::nullopt;
  }
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const unsigned long port = std::stoul(port_text);
  if (port > 65535) return std::nullopt;
  out.port = static_cast<quint16>(port);
  return out;
}

// Unix signals reach the event loop through a socketpair (the approach of Qt's "Calling
// Qt Functions From Unix Signal Handlers"): the handler only write()s, which is
// async-signal-safe; a QSocketNotifier on stop_signal_fds[1] quits the loop.
inline int stop_signal_fds[2] = {-1, -1};

extern "C" inline void mqtth_on_stop_signal(int signo) {
  const char byte = static_cast<char>(signo);
  [[maybe_unused]] const auto written = ::write(stop_signal_fds[0], &byte, 1);
}

inline bool install_stop_signals() {
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, stop_signal_fds) != 0) return false;
  struct sigaction action {};
  action.sa_handler = mqtth_on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  return ::sigaction(SIGINT, &action, nullptr) == 0 && ::sigaction(SIGTERM, &action, nullptr) == 0;
}

// Quits the running QCoreApplication when SIGINT/SIGTERM arrives (after
// install_stop_signals()); signal() says which one it was.
class StopOnSignal {
 public:
  StopOnSignal() : notifier_(stop_signal_fds[1], QSocketNotifier::Read) {
    QObject::connect(&notifier_, &QSocketNotifier::activated, [this] {
      char byte = 0;
      if (::read(stop_signal_fds[1], &byte, 1) == 1) signal_ = byte;
      QCoreApplication::quit();
    });
  }
  int signal() const { return signal_; }

 private:
  QSocketNotifier notifier_;
  int signal_ = 0;
};

// The one stdout line scripts wait for (DESIGN.md): `listening on HOST:PORT`, flushed.
inline void print_listening(const QHostAddress& bound, quint16 port) {
  const QString host = bound.protocol() == QAbstractSocket::IPv6Protocol ? QStringLiteral("[%1]").arg(bound.toString())
                                                                         : bound.toString();
  std::printf("listening on %s:%u\n", host.toUtf8().constData(), unsigned(port));
  std::fflush(stdout);
}

}  // namespace mqtth::cli
