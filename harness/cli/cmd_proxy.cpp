// `mqtt-harness proxy`: the MQTT-aware fault proxy (harness/net/fault FaultProxy) as a
// standalone process, between any client and any broker.
//
//   mqtt-harness proxy --listen HOST:PORT --upstream HOST:PORT [--fault SPEC]... [--pcap DIR]
//
// Prints exactly one line `listening on HOST:PORT` to stdout once it accepts (flushed);
// everything else goes to stderr. SIGINT/SIGTERM stop it cleanly with exit 0. Bad
// arguments: message naming the argument, exit 2. Cannot listen: exit 1.
#include "commands.hpp"
#include "process_support.hpp"

#include "mqtth/fault/FaultProxy.hpp"

#include <QCoreApplication>
#include <QHostAddress>
#include <QLoggingCategory>
#include <QSocketNotifier>

#include <cerrno>
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
using mqtth::cli::install_stop_signals;
using mqtth::cli::parse_host_port;
using mqtth::cli::stop_signal_fds;

constexpr const char* kUsage =
    "usage: mqtt-harness proxy --upstream HOST:PORT [--listen HOST:PORT] [--fault SPEC]...\n"
    "                          [--pcap DIR] [--verbose]\n"
    "\n"
    "MQTT-aware TCP proxy that injects faults between clients and a broker. Each accepted\n"
    "connection gets its own upstream connection; both directions are framed into MQTT\n"
    "packets so faults hit packets (the 3rd PUBREC), not byte counts.\n"
    "\n"
    "  --listen HOST:PORT    address to accept on (default 127.0.0.1:0 = a free port).\n"
    "                        Once accepting, prints one line 'listening on HOST:PORT'.\n"
    "  --upstream HOST:PORT  the broker\n"
    "  --fault SPEC          a fault rule, repeatable (docs/faults.md):\n"
    "                          KIND[:DIRECTION][:KEY=VALUE|FLAG]...\n"
    "                        KIND: cut delay throttle segment corrupt blackhole duplicate reorder\n"
    "                        DIRECTION: to_broker, to_client, both (default)\n"
    "                        e.g. cut:to_broker:after=PUBREC:nth=3:rst\n"
    "                             delay:to_client:packet=PUBLISH:by=200ms\n"
    "                             throttle:both:bytes_per_second=1000   segment:to_broker:size=1\n"
    "                             corrupt:to_broker:packet=PUBLISH:nth=1:offset=0:xor=0xff\n"
    "                             blackhole:to_client:after=CONNACK     duplicate:to_broker:packet=PUBLISH\n"
    "                             reorder:to_broker:packet=PUBLISH\n"
    "                        Without --fault the proxy passes everything through.\n"
    "  --pcap DIR            write DIR/conn-N.pcap per connection (bytes as forwarded;\n"
    "                        synthetic TCP with the broker on port 1883)\n"
    "  --verbose             log connections, packets and faults to stderr\n"
    "  --help                this text\n"
    "\n"
    "Exit status: 0 stopped by a signal, 1 could not listen, 2 bad arguments.\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "mqtt-harness proxy: %s\n(see mqtt-harness proxy --help)\n", message.c_str());
  return 2;
}

int run_proxy(int argc, char** argv) {
  std::string listen_text = "127.0.0.1:0";
  std::optional<std::string> upstream_text;
  std::optional<std::string> pcap_dir;
  std::vector<mqtth::fault::FaultRule> rules;
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
    } else if (arg == "--listen" || arg == "--upstream" || arg == "--fault" || arg == "--pcap") {
      auto v = value();
      if (!v) return usage_error(std::string(arg) + " needs a value");
      if (arg == "--listen") {
        listen_text = *v;
      } else if (arg == "--upstream") {
        upstream_text = *v;
      } else if (arg == "--pcap") {
        pcap_dir = *v;
      } else {
        auto parsed = mqtth::fault::parse_fault_spec(*v);
        if (!parsed.rule) return usage_error("--fault: " + parsed.error);
        rules.push_back(*parsed.rule);
      }
    } else {
      return usage_error("unknown argument '" + std::string(argv[i]) + "'");
    }
  }
  const auto listen = parse_host_port(listen_text);
  if (!listen) return usage_error("--listen: expected HOST:PORT (e.g. 127.0.0.1:0), got '" + listen_text + "'");
  if (!upstream_text) return usage_error("--upstream HOST:PORT is required (the broker)");
  const auto upstream = parse_host_port(*upstream_text);
  if (!upstream || upstream->port == 0)
    return usage_error("--upstream: expected HOST:PORT with a port 1..65535, got '" + *upstream_text + "'");
  if (pcap_dir && pcap_dir->empty()) return usage_error("--pcap needs a directory");

  if (verbose) QLoggingCategory::setFilterRules(QStringLiteral("mqtth.proxy.debug=true"));
  if (!install_stop_signals()) {
    std::fprintf(stderr, "mqtt-harness proxy: cannot install signal handlers: %s\n", std::strerror(errno));
    return 1;
  }
  int qt_argc = 1;
  QCoreApplication app(qt_argc, argv);
  QSocketNotifier stop_notifier(stop_signal_fds[1], QSocketNotifier::Read);
  QObject::connect(&stop_notifier, &QSocketNotifier::activated, &app, [] {
    char byte = 0;
    [[maybe_unused]] const auto n = ::read(stop_signal_fds[1], &byte, 1);
    QCoreApplication::quit();
  });

  mqtth::fault::FaultProxy proxy(upstream->host, upstream->port, &app);
  if (pcap_dir) proxy.setPcapDirectory(QString::fromStdString(*pcap_dir));
  for (const auto& rule : rules) proxy.addFault(rule);
  if (!proxy.listen(listen->host, listen->port)) {
    std::fprintf(stderr, "mqtt-harness proxy: cannot listen on %s: %s\n", listen_text.c_str(),
                 proxy.errorString().toLocal8Bit().constData());
    return 1;
  }
  const QHostAddress bound = proxy.address();
  const QString host = bound.protocol() == QAbstractSocket::IPv6Protocol ? QStringLiteral("[%1]").arg(bound.toString())
                                                                         : bound.toString();
  std::printf("listening on %s:%u\n", host.toUtf8().constData(), unsigned(proxy.port()));
  std::fflush(stdout);

  app.exec();
  proxy.close();  // aborts open connections; their pcap files are closed
  QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
  return 0;
}

const bool registered = mqtth::cli::register_command(
    {"proxy", "MQTT-aware fault-injection TCP proxy (cut, delay, corrupt ... packets)", &run_proxy});

}  // namespace
