// `mqtt-harness proxy`: the MQTT-aware fault proxy (harness/net/fault FaultProxy) as a
// standalone process, between any client and any broker.
//
//   mqtt-harness proxy --listen HOST:PORT --upstream HOST:PORT [--fault SPEC]... [--pcap DIR]
//
// Prints exactly one line `listening on HOST:PORT` to stdout once it accepts (flushed);
// everything else goes to stderr. SIGINT/SIGTERM stop it cleanly with exit 0. Bad
// arguments: message naming the argument, exit 2. Cannot listen: exit 1.
#include "args.hpp"
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
using mqtth::cli::ArgReader;
using mqtth::cli::install_stop_signals;
using mqtth::cli::parse_shell_address;
using mqtth::cli::print_listening;
using mqtth::cli::StopOnSignal;

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
    "                        durations (by=, at=, for=, jitter=, hold=): 200ms, 1.5s, 2m, 1h;\n"
    "                        no unit means seconds\n"
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

int run_proxy(int argc, char** argv) {
  std::string listen_text = "127.0.0.1:0";
  std::optional<std::string> upstream_text;
  std::optional<std::string> pcap_dir;
  std::vector<mqtth::fault::FaultRule> rules;
  bool verbose = false;

  ArgReader args(argc, argv, "proxy", kUsage);
  while (auto arg = args.next()) {
    if (*arg == "--help" || *arg == "-h") return args.help();
    if (*arg == "--verbose" || *arg == "-v") {
      verbose = true;
    } else if (*arg == "--listen" || *arg == "--upstream" || *arg == "--fault" || *arg == "--pcap") {
      auto v = args.value();
      if (!v) return 2;
      if (*arg == "--listen") {
        listen_text = *v;
      } else if (*arg == "--upstream") {
        upstream_text = std::string(*v);
      } else if (*arg == "--pcap") {
        pcap_dir = std::string(*v);
      } else {
        auto parsed = mqtth::fault::parse_fault_spec(std::string(*v));
        if (!parsed.rule) return args.bad("--fault: " + parsed.error);
        rules.push_back(*parsed.rule);
      }
    } else {
      return args.bad("unknown argument '" + std::string(*arg) + "'");
    }
  }
  std::string error;
  const auto listen = parse_shell_address(listen_text, mqtth::common::PortZero::allowed, error);
  if (!listen) return args.bad("--listen: " + error);
  if (!upstream_text) return args.bad("--upstream HOST:PORT is required (the broker)");
  const auto upstream = parse_shell_address(*upstream_text, mqtth::common::PortZero::refused, error);
  if (!upstream) return args.bad("--upstream: " + error);
  if (listen->transport != mqtth::common::Transport::mqtt || upstream->transport != mqtth::common::Transport::mqtt)
    return args.bad("the fault proxy speaks plain TCP only (mqtt://); TLS through it is not built yet (docs/tls.md)");
  if (pcap_dir && pcap_dir->empty()) return args.bad("--pcap needs a directory");

  if (verbose) QLoggingCategory::setFilterRules(QStringLiteral("mqtth.proxy.debug=true"));
  if (!install_stop_signals()) {
    std::fprintf(stderr, "mqtt-harness proxy: cannot install signal handlers: %s\n", std::strerror(errno));
    return 1;
  }
  int qt_argc = 1;
  QCoreApplication app(qt_argc, argv);
  StopOnSignal stop;

  mqtth::fault::FaultProxy proxy(upstream->host, upstream->port, &app);
  if (pcap_dir) proxy.setPcapDirectory(QString::fromStdString(*pcap_dir));
  for (const auto& rule : rules) proxy.addFault(rule);
  if (!proxy.listen(listen->host, listen->port)) {
    std::fprintf(stderr, "mqtt-harness proxy: cannot listen on %s: %s\n", listen_text.c_str(),
                 proxy.errorString().toLocal8Bit().constData());
    return 1;
  }
  print_listening(proxy.address(), proxy.port());

  app.exec();
  proxy.close();  // aborts open connections; their pcap files are closed
  QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
  return 0;
}

const bool registered = mqtth::cli::register_command(
    {"proxy", "MQTT-aware fault-injection TCP proxy (cut, delay, corrupt ... packets)", &run_proxy});

}  // namespace
