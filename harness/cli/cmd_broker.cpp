// `mqtt-harness broker`: runs the embedded reference broker (harness/net BrokerServer).
//
//   mqtt-harness broker --listen 127.0.0.1:1883 [--config FILE] [--misbehave MODE]
//
// Prints exactly one line `listening on HOST:PORT` to stdout once it accepts (the
// contract scripts and tests rely on, DESIGN.md); everything else goes to stderr.
// SIGINT/SIGTERM stop it cleanly with exit 0. Bad arguments or config: message, exit 2.
#include "commands.hpp"
#include "process_support.hpp"

#include "BrokerConfigFile.hpp"
#include "BrokerServer.hpp"

#include <QCoreApplication>
#include <QHostAddress>
#include <QLoggingCategory>
#include <QSocketNotifier>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>
#include <unistd.h>

namespace {
using mqtth::cli::install_stop_signals;
using mqtth::cli::parse_host_port;
using mqtth::cli::stop_signal_fds;

constexpr const char* kUsage =
    "usage: mqtt-harness broker [--listen HOST:PORT] [--config FILE] [--misbehave MODE]\n"
    "                           [--misbehave-every N] [--verbose]\n"
    "\n"
    "Runs the embedded reference MQTT broker (3.1, 3.1.1, 5.0) until SIGINT/SIGTERM.\n"
    "\n"
    "  --listen HOST:PORT   address to accept on (default 127.0.0.1:1883); port 0 takes a\n"
    "                       free port. HOST is an IP address or 'localhost'; IPv6 as [::1]:PORT.\n"
    "                       Once accepting, prints one line 'listening on HOST:PORT' to stdout.\n"
    "  --config FILE        YAML config: limits, users, ACL, features (docs/broker-server.md)\n"
    "  --misbehave MODE     test-only broken behaviour, overrides the config file:\n"
    "                       drop-qos1, dup-qos2, reorder, drop-qos0 (or none)\n"
    "  --misbehave-every N  the N-th candidate delivery is affected (default 10)\n"
    "  --verbose            log every connection and protocol event to stderr\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 stopped by a signal, 1 could not listen, 2 bad arguments or config.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "mqtt-harness broker: %s\n(see mqtt-harness broker --help)\n", message.c_str());
  return 2;
}

int run_broker(int argc, char** argv) {
  std::string listen_text = "127.0.0.1:1883";
  std::optional<std::string> config_path;
  std::optional<std::string> misbehave_text;
  std::optional<std::string> misbehave_every_text;
  bool verbose = false;

  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::optional<std::string> inline_value;
    if (arg.substr(0, 2) == "--") {
      if (const auto eq = arg.find('='); eq != std::string_view::npos) {
        inline_value = std::string(arg.substr(eq + 1));
        arg = arg.substr(0, eq);
      }
    }
    const auto value = [&]() -> std::optional<std::string> {
      if (inline_value) return inline_value;
      if (i + 1 < argc) return std::string(argv[++i]);
      return std::nullopt;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--verbose" || arg == "-v") {
      verbose = true;
    } else if (arg == "--listen" || arg == "--config" || arg == "--misbehave" || arg == "--misbehave-every") {
      auto v = value();
      if (!v) return usage_error(std::string(arg) + " needs a value");
      if (arg == "--listen") listen_text = *v;
      else if (arg == "--config") config_path = *v;
      else if (arg == "--misbehave") misbehave_text = *v;
      else misbehave_every_text = *v;
    } else {
      return usage_error("unknown argument '" + std::string(argv[i]) + "'");
    }
  }

  const auto address = parse_host_port(listen_text);
  if (!address) return usage_error("--listen: expected HOST:PORT (e.g. 127.0.0.1:1883), got '" + listen_text + "'");

  mqtth::engine::BrokerConfig config;
  if (config_path) {
    auto loaded = mqtth::net::load_broker_config_file(*config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "mqtt-harness broker: %s\n", loaded.error->to_string().c_str());
      return 2;
    }
    config = std::move(loaded.config);
  }
  if (misbehave_text) {
    const auto mode = mqtth::net::parse_misbehave_mode(*misbehave_text);
    if (!mode)
      return usage_error("--misbehave: expected drop-qos1, dup-qos2, reorder, drop-qos0 or none, got '" +
                         *misbehave_text + "'");
    config.misbehave = *mode;
  }
  if (misbehave_every_text) {
    const auto& t = *misbehave_every_text;
    if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos || std::stoul(t) == 0)
      return usage_error("--misbehave-every: expected an integer >= 1, got '" + t + "'");
    config.misbehave_every = static_cast<std::uint32_t>(std::stoul(t));
  }

  if (verbose) QLoggingCategory::setFilterRules(QStringLiteral("mqtth.broker.debug=true"));
  if (!install_stop_signals()) {
    std::fprintf(stderr, "mqtt-harness broker: cannot install signal handlers: %s\n", std::strerror(errno));
    return 1;
  }

  int qt_argc = 1;
  QCoreApplication app(qt_argc, argv);
  QSocketNotifier stop_notifier(stop_signal_fds[1], QSocketNotifier::Read);
  int stop_signal = 0;
  QObject::connect(&stop_notifier, &QSocketNotifier::activated, &app, [&] {
    char byte = 0;
    if (::read(stop_signal_fds[1], &byte, 1) == 1) stop_signal = byte;
    QCoreApplication::quit();
  });

  mqtth::net::BrokerServer server(std::move(config));
  if (!server.listen(address->host, address->port)) {
    std::fprintf(stderr, "mqtt-harness broker: cannot listen on %s: %s\n", listen_text.c_str(),
                 server.errorString().toLocal8Bit().constData());
    return 1;
  }
  const QHostAddress bound = server.address();
  const QString host = bound.protocol() == QAbstractSocket::IPv6Protocol
                           ? QStringLiteral("[%1]").arg(bound.toString())
                           : bound.toString();
  std::printf("listening on %s:%u\n", host.toUtf8().constData(), unsigned(server.port()));
  std::fflush(stdout);

  app.exec();
  server.close();
  if (verbose) std::fprintf(stderr, "mqtt-harness broker: stopped by signal %d\n", stop_signal);
  return 0;
}

const bool registered = mqtth::cli::register_command(
    {"broker", "run the embedded reference MQTT broker", &run_broker});

}  // namespace
