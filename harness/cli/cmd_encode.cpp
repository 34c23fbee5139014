// `mqtt-harness encode`: JSON lines (the `decode` format) -> MQTT bytes as hex.
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "codec_io.hpp"
#include "commands.hpp"
#include "mqtt/json.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: mqtt-harness encode [--protocol 3.1.1|5] [--binary] (--json JSON | --file F | -)\n"
    "\n"
    "Encodes packets given as JSON, one object per line (the format `mqtt-harness decode`\n"
    "prints, docs/decode-json.md), and prints each packet's bytes as one line of hex, so\n"
    "`mqtt-harness decode ... | mqtt-harness encode -` reproduces the input bytes.\n"
    "\n"
    "  --json JSON           encode this one JSON object\n"
    "  --file F              read JSON lines from file F\n"
    "  -                     read JSON lines from standard input\n"
    "  --protocol 3.1.1|5    encode every packet for this version. Without it, packets are\n"
    "                        encoded as 5 until a CONNECT is seen, then as the CONNECT's version\n"
    "  --binary              write the raw bytes instead of hex lines\n"
    "\n"
    "Blank lines are skipped. Exit status: 0 all encoded; 1 a line is not a valid packet\n"
    "description (the message names the line and the JSON path); 2 bad arguments or\n"
    "unreadable input.\n";

int run_encode(int argc, char** argv) {
  using namespace mqtth::cli::codec_io;
  std::optional<mqtt::Version> protocol;
  bool binary = false;
  InputSource source;
  ArgReader args(argc, argv, "encode", kUsage);
  while (auto arg = args.next()) {
    if (*arg == "--help" || *arg == "-h") return args.help();
    if (*arg == "--protocol") {
      auto v = args.value();
      if (!v) return 2;
      protocol = mqtt::parse_version(*v);
      if (!protocol) return args.bad("--protocol must be 3.1, 3.1.1 or 5, not '" + std::string(*v) + "'");
    } else if (*arg == "--binary") {
      binary = true;
    } else if (*arg == "--json" || *arg == "--file" || *arg == "-") {
      if (source.kind != InputSource::none) return args.bad("give exactly one of --json, --file, -");
      if (*arg == "-") {
        source.kind = InputSource::stdin_raw;
      } else {
        auto v = args.value();
        if (!v) return 2;
        source.kind = *arg == "--json" ? InputSource::literal : InputSource::file;
        source.value = std::string(*v);
      }
    } else {
      return args.bad("unknown argument '" + std::string(*arg) + "'");
    }
  }
  if (source.kind == InputSource::none) return args.bad("give the input: --json JSON, --file F or -");

  std::string error;
  auto input = read_input(source, error);
  if (!input) return args.bad(error);
  const std::string where = source.kind == InputSource::file      ? source.value
                            : source.kind == InputSource::literal ? std::string("--json")
                                                                  : std::string("<stdin>");

  mqtt::Version version = protocol.value_or(mqtt::Version::v5);
  std::istringstream lines(*input);
  std::string line;
  for (std::size_t number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto fail = [&](const std::string& message) {
      std::fprintf(stderr, "mqtt-harness encode: %s:%zu: %s\n", where.c_str(), number, message.c_str());
      return 1;
    };
    auto json = mqtt::Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return fail("not valid JSON");
    if (json.is_object() && json.contains("error") && !json.contains("type"))
      return fail("this is a decode error report, not a packet");
    auto bytes = mqtt::encode_json(json, version);
    if (!bytes.ok()) return fail((bytes.error->path.empty() ? "" : bytes.error->path + ": ") + bytes.error->message);
    if (binary) {
      std::fwrite(bytes.value.data(), 1, bytes.value.size(), stdout);
    } else {
      const std::string hex = mqtt::to_hex(bytes.value) + "\n";
      std::fwrite(hex.data(), 1, hex.size(), stdout);
    }
    if (auto v = mqtt::connect_version(json); v && !protocol) version = *v;
  }
  std::fflush(stdout);
  return 0;
}

const bool registered = mqtth::cli::register_command(
    {"encode", "encode JSON packet descriptions (decode's format) to MQTT bytes", run_encode});

}  // namespace
