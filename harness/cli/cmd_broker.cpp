// `mqtt-harness broker`: runs the embedded reference broker (harness/net BrokerServer).
//
//   mqtt-harness broker --listen 127.0.0.1:1883 [--listen mqtts://127.0.0.1:8883 --cert F
//                       --key F [--client-ca F]] [--config FILE] [--misbehave MODE]
//
// Prints one line `listening on HOST:PORT` (plain TCP) or `listening on mqtts://HOST:PORT`
// (TLS) per listener to stdout once it accepts (the contract scripts and tests rely on,
// docs/architecture.md "Contracts", docs/tls.md); everything else goes to stderr.
// SIGINT/SIGTERM stop it cleanly with exit 0. Bad arguments or config: message, exit 2.
#include "args.hpp"
#include "commands.hpp"
#include "process_support.hpp"

#include "mqtth/net/BrokerConfigFile.hpp"
#include "mqtth/net/BrokerServer.hpp"
#include "mqtth/tls/Tls.hpp"

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
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace {
using mqtth::cli::ArgReader;
using mqtth::cli::install_stop_signals;
using mqtth::cli::parse_shell_address;
using mqtth::cli::print_listening;
using mqtth::cli::StopOnSignal;

constexpr const char* kUsage =
    "usage: mqtt-harness broker [--listen URL]... [--cert FILE --key FILE [--client-ca FILE]]\n"
    "                           [--config FILE] [--misbehave MODE] [--misbehave-every N] [--verbose]\n"
    "\n"
    "Runs the embedded reference MQTT broker (3.1, 3.1.1, 5.0) until SIGINT/SIGTERM.\n"
    "\n"
    "  --listen URL         address to accept on (default 127.0.0.1:1883): HOST:PORT or\n"
    "                       mqtt://HOST:PORT (TCP), mqtts://HOST:PORT (TLS); at most one of\n"
    "                       each, sharing one broker. Port 0 takes a free port. HOST is an IP\n"
    "                       address or 'localhost'; IPv6 as [::1]:PORT. Once accepting, prints\n"
    "                       one line per listener to stdout: 'listening on HOST:PORT' (TCP),\n"
    "                       'listening on mqtts://HOST:PORT' (TLS)\n"
    "  --cert FILE --key FILE\n"
    "                       the mqtts:// listener's PEM certificate (chain) and private key\n"
    "  --client-ca FILE     mqtts://: require a client certificate signed by these PEM CAs\n"
    "  --config FILE        YAML config: limits, users, ACL, features (docs/broker-server.md)\n"
    "  --misbehave MODE     test-only broken behaviour, overrides the config file:\n"
    "                       drop-qos1, dup-qos2, reorder, drop-qos0 (or none)\n"
    "  --misbehave-every N  the N-th candidate delivery is affected (default 10)\n"
    "  --verbose            log every connection and protocol event to stderr\n"
    "  --help               this text\n"
    "\n"
    "Exit status: 0 stopped by a signal, 1 could not listen, 2 bad arguments or config.\n";

int run_broker(int argc, char** argv) {
  std::vector<std::string> listen_texts;
  mqtth::tls::ServerOptions tls_options;
  std::optional<std::string> config_path;
  std::optional<std::string> misbehave_text;
  std::optional<std::string> misbehave_every_text;
  bool verbose = false;

  ArgReader args(argc, argv, "broker", kUsage);
  while (auto arg = args.next()) {
    if (*arg == "--help" || *arg == "-h") return args.help();
    if (*arg == "--verbose" || *arg == "-v") {
      verbose = true;
    } else if (*arg == "--listen" || *arg == "--config" || *arg == "--misbehave" || *arg == "--misbehave-every" ||
               *arg == "--cert" || *arg == "--key" || *arg == "--client-ca") {
      auto v = args.value();
      if (!v) return 2;
      if (*arg == "--listen") listen_texts.emplace_back(*v);
      else if (*arg == "--cert") tls_options.cert_file = std::string(*v);
      else if (*arg == "--key") tls_options.key_file = std::string(*v);
      else if (*arg == "--client-ca") tls_options.client_ca_file = std::string(*v);
      else if (*arg == "--config") config_path = std::string(*v);
      else if (*arg == "--misbehave") misbehave_text = std::string(*v);
      else misbehave_every_text = std::string(*v);
    } else {
      return args.bad("unknown argument '" + std::string(*arg) + "'");
    }
  }

  using mqtth::common::Transport;
  if (listen_texts.empty()) listen_texts.emplace_back("127.0.0.1:1883");
  std::string error;
  std::optional<mqtth::cli::ShellAddress> plain, secure;
  std::string plain_text, secure_text;
  for (const auto& text : listen_texts) {
    const auto listen = parse_shell_address(text, mqtth::common::PortZero::allowed, error);
    if (!listen) return args.bad("--listen: " + error);
    auto& slot = listen->transport == Transport::mqtts ? secure : plain;
    if (slot) return args.bad("--listen: one " + std::string(mqtth::common::to_string(listen->transport)) +
                              ":// listener at most, got a second: '" + text + "'");
    slot = listen;
    (listen->transport == Transport::mqtts ? secure_text : plain_text) = text;
  }
  const bool tls_option = !tls_options.cert_file.empty() || !tls_options.key_file.empty() ||
                          !tls_options.client_ca_file.empty();
  if (tls_option && !secure)
    return args.bad("--cert, --key and --client-ca are for an mqtts:// listener (--listen mqtts://HOST:PORT)");

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

  std::optional<QSslConfiguration> tls_configuration;
  if (secure) {
    tls_configuration = mqtth::tls::make_server_configuration(tls_options, error);
    if (!tls_configuration) return args.bad(error);
  }

  mqtth::net::BrokerServer server(std::move(config));
  if (plain && !server.listen(plain->host, plain->port)) {
    std::fprintf(stderr, "mqtt-harness broker: cannot listen on %s: %s\n", plain_text.c_str(),
                 server.errorString().toLocal8Bit().constData());
    return 1;
  }
  if (secure && !server.listenTls(secure->host, secure->port, *tls_configuration)) {
    std::fprintf(stderr, "mqtt-harness broker: cannot listen on %s: %s\n", secure_text.c_str(),
                 server.tlsErrorString().toLocal8Bit().constData());
    return 1;
  }
  if (plain) print_listening(server.address(), server.port());
  if (secure) print_listening(server.tlsAddress(), server.tlsPort(), Transport::mqtts);

  app.exec();
  server.close();
  if (verbose) std::fprintf(stderr, "mqtt-harness broker: stopped by signal %d\n", stop.signal());
  return 0;
}

const bool registered = mqtth::cli::register_command(
    {"broker", "run the embedded reference MQTT broker", &run_broker});

}  // namespace
