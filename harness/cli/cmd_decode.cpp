// `mqtt-harness decode`: MQTT bytes -> one JSON object per packet (docs/decode-json.md).
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "codec_io.hpp"
#include "commands.hpp"
#include "mqtt/json.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: mqtt-harness decode [--protocol 3.1.1|5] [--max-packet-size N] (--hex HEX | --file F | -)\n"
    "\n"
    "Decodes a stream of MQTT control packets and prints one JSON object per packet, one per\n"
    "line (the format is described in docs/decode-json.md).\n"
    "\n"
    "  --hex HEX             the bytes as hex; spaces are allowed (\"30 05 00 01 74 68 69\").\n"
    "                        `--hex -` reads the hex text from standard input\n"
    "  --file F              read the raw bytes from file F\n"
    "  -                     read the raw bytes from standard input\n"
    "  --protocol 3.1.1|5    decode every packet as this version. Without it, packets are\n"
    "                        decoded as 5 until a CONNECT is seen, then as the CONNECT's version\n"
    "  --max-packet-size N   reject packets larger than N bytes (default: the protocol maximum)\n"
    "\n"
    "Exit status: 0 every packet decoded; 1 the input is malformed or truncated (the last line\n"
    "is {\"error\": ..., \"code\": ..., \"spec\": \"MQTT-x.x.x-y\", \"offset\": N}, offset counted from\n"
    "the first byte of the stream); 2 bad arguments or unreadable input.\n";

int run_decode(int argc, char** argv) {
  using namespace mqtth::cli::codec_io;
  std::optional<mqtt::Version> protocol;
  std::uint32_t max_packet_size = mqtt::kMaxPacketSize;
  InputSource source;
  ArgReader args(argc, argv, "decode", kUsage);
  while (auto arg = args.next()) {
    if (*arg == "--help" || *arg == "-h") return args.help();
    if (*arg == "--protocol") {
      auto v = args.value();
      if (!v) return 2;
      protocol = mqtt::parse_version(*v);
      if (!protocol) return args.bad("--protocol must be 3.1, 3.1.1 or 5, not '" + std::string(*v) + "'");
    } else if (*arg == "--max-packet-size") {
      auto v = args.value();
      if (!v) return 2;
      auto n = parse_unsigned(*v);
      if (!n || *n < 2 || *n > mqtt::kMaxPacketSize)
        return args.bad("--max-packet-size must be a number 2.." + std::to_string(mqtt::kMaxPacketSize));
      max_packet_size = static_cast<std::uint32_t>(*n);
    } else if (*arg == "--hex" || *arg == "--file" || *arg == "-") {
      if (source.kind != InputSource::none) return args.bad("give exactly one of --hex, --file, -");
      if (*arg == "-") {
        source.kind = InputSource::stdin_raw;
      } else {
        auto v = args.value();
        if (!v) return 2;
        source.kind = *arg == "--hex" ? InputSource::hex : InputSource::file;
        source.value = std::string(*v);
        if (source.kind == InputSource::hex && *v == "-") source.kind = InputSource::stdin_hex;
      }
    } else {
      return args.bad("unknown argument '" + std::string(*arg) + "'");
    }
  }
  if (source.kind == InputSource::none) return args.bad("give the input: --hex HEX, --file F or -");

  std::string error;
  auto input = read_input(source, error);
  if (!input) return args.bad(error);

  mqtt::Framer framer(max_packet_size);
  framer.feed(*input);
  mqtt::Version version = protocol.value_or(mqtt::Version::v5);
  std::uint64_t packet_start = 0;
  for (;;) {
    const auto frame = framer.next();
    if (frame.status == mqtt::FrameInfo::Status::error) {
      print_json_line(mqtt::to_json(frame.error));  // already counted from the stream start
      return 1;
    }
    if (frame.status == mqtt::FrameInfo::Status::need_more) {
      if (framer.buffered() == 0) return 0;
      mqtt::Json truncated;
      truncated["error"] = "truncated: the stream ends inside the packet that starts at offset " +
                           std::to_string(packet_start);
      truncated["code"] = "malformed_packet";
      truncated["spec"] = nullptr;
      truncated["offset"] = input->size();  // the first byte that is missing
      print_json_line(truncated);
      return 1;
    }
    mqtt::DecodeOptions options;
    options.version = version;
    options.maximum_packet_size = max_packet_size;
    const auto decoded = mqtt::decode(frame.packet, options);
    if (!decoded.ok()) {
      print_json_line(mqtt::to_json(decoded.error, packet_start));
      return 1;
    }
    print_json_line(mqtt::to_json(decoded.value, version, frame.packet));
    if (const auto* connect = std::get_if<mqtt::ConnectView>(&decoded.value); connect && !protocol)
      version = connect->protocol_version;
    packet_start += frame.packet.size();
  }
}

const bool registered = mqtth::cli::register_command(
    {"decode", "decode MQTT packets (hex, file or stdin) to JSON lines", run_decode});

}  // namespace
