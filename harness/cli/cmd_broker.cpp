// `mqtt-harness broker`: runs the embedded reference broker (harness/net BrokerServer).
//
//   mqtt-harness broker --listen 127.0.0.1:1883 [--config FILE] [--misbehave MODE]
//
// Prints exactly one line `listening on HOST:PORT` to stdout once it accepts (the
// contract scripts and tests rely on, docs/architecture.md "Contracts"); everything else
// goes to stderr.
// SIGINT/SIGTERM stop it cleanly with exit 0. Bad arguments or config: message, exit 2.
#include "args.hpp"
#include "commands.hpp"
#include "process_support.hpp"

#include "mqtth/net/BrokerConfigFile.hpp"
#include "mqtth/net/BrokerServer.hpp"

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
using mqtth::cli::ArgReader;
using mqtth::cli::install_stop_signals;
using mqtth::cli::parse_shell_address;
using mqtth::cli::print_listening;
using mqtth::cli::StopOnSignal;

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

int run_broker(int argc, char** argv) {
  std::string listen_text = "127.0.0.1:1883";
  std::optional<std::string> config_path;
  std::optional<std::string> misbehave_text;
  std::optional<std::string> misbehave_every_text;
  bool verbose = false;

  ArgReader args(argc, argv, "broker", kUsage);
  while (auto arg = args.next()) {
    if (*arg == "--help" || *arg == "-h") return args.help();
    if (*arg == "--verbose" || *arg == "-v") {
      verbose = true;
    } else if (*arg == "--listen" || *arg == "--config" || *arg == "--misbehave" || *arg == "--misbehave-every") {
      auto v = args.value();
      if (!v) return 2;
      if (*arg == "--listen") listen_text = *v;
      else if (*arg == "--config") config_path = std::string(*v);
      else if (*arg == "--misbehave") misbehave_text = std::string(*v);
      else misbehave_every_text = std::string(*v);
    } else {
      return args.bad("unknown argument '" + std::string(*arg) + "'");
    }
  }

  std::string error;
  const auto listen = parse_shell_address(listen_text, mqtth::common::PortZero::allowed, error);
  if (!listen) return args.bad("--listen: " + error);

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
      return args.bad("--misbehave: expected drop-qos1, dup-qos2, reorder, drop-qos0 or none, got '" +
                         *misbehave_text + "'");
    config.misbehave = *mode;
  }
  if (misbehave_every_text) {
    const auto& t = *misbehave_every_text;
    if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos || std::stoul(t) == 0)
      return args.bad("--misbehave-every: expected an integer >= 1, got '" + t + "'");
    config.misbehave_every = static_cast<std::uint32_t>(std::stoul(t));
  }

  if (verbose) QLoggingCategory::setFilterRules(QStringLiteral("mqtth.broker.debug=true"));
  if (!install_stop_signals()) {
    std::fprintf(stderr, "mqtt-harness broker: cannot install signal handlers: %s\n", std::strerror(errno));
    return 1;
  }

  int qt_argc = 1;
  QCoreApplication app(qt_argc, argv);
  StopOnSignal stop;

  mqtth::net::BrokerServer server(std::move(config));
  if (!server.listen(listen->host, listen->port)) {
    std::fprintf(stderr, "mqtt-harness broker: cannot listen on %s: %s\n", listen_text.c_str(),
                 server.errorString().toLocal8Bit().constData());
    return 1;
  }
  print_listening(server.address(), server.port());

  app.exec();
  server.close();
  if (verbose) std::fprintf(stderr, "mqtt-harness broker: stopped by signal %d\n", stop.signal());
  return 0;
}

const bool registered = mqtth::cli::register_command(
    {"broker", "run the embedded reference MQTT broker", &run_broker});

}  // namespace
