// What the long-running sub-commands (broker, proxy) share: the address to listen on, the
// `listening on HOST:PORT` line, and a clean stop on SIGINT/SIGTERM from inside the Qt
// event loop.
#pragma once

#include <mqtth/common/BrokerAddress.hpp>
#include <mqtth/process/BrokerProcess.hpp>

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

// An address option of the Qt shells (broker --listen, proxy --listen / --upstream): the
// one BROKER-URL grammar (mqtth/common/BrokerAddress.hpp) with a HOST that is an IP
// address or "localhost" (127.0.0.1); the shells take addresses, not names to look up.
// nullopt, and `error` says why, otherwise.
struct ShellAddress {
  QHostAddress host;
  quint16 port = 0;
  common::Transport transport = common::Transport::mqtt;
};
inline std::optional<ShellAddress> parse_shell_address(const std::string& text, common::PortZero zero, std::string& error) {
  const auto parsed = common::parse_broker_address(text, zero);
  if (!parsed.value) {
    error = parsed.error;
    return std::nullopt;
  }
  const auto& endpoint = parsed.value->endpoint;
  ShellAddress out{QHostAddress(QHostAddress::LocalHost), endpoint.port, parsed.value->transport};
  if (endpoint.host != "localhost" && !out.host.setAddress(QString::fromStdString(endpoint.host))) {
    error = "the host must be an IP address or 'localhost', got '" + endpoint.host + "'";
    return std::nullopt;
  }
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

// The one stdout line scripts wait for (docs/architecture.md "Contracts"), flushed: for
// plain TCP `listening on HOST:PORT` as ever; for another transport the URL, e.g.
// `listening on mqtts://127.0.0.1:41234` (docs/tls.md).
inline void print_listening(const QHostAddress& bound, quint16 port,
                            common::Transport transport = common::Transport::mqtt) {
  const std::string host = bound.toString().toStdString();
  const std::string line = transport == common::Transport::mqtt
                               ? process::listening_line(host, port)
                               : "listening on " + common::format_broker_address({transport, {host, port}});
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace mqtth::cli
