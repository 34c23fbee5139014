// `mqtt-harness decode`: MQTT bytes, or the MQTT connections of a capture, -> one JSON
// object per packet (docs/decode-json.md).
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "codec_io.hpp"
#include "commands.hpp"
#include "mqtt/json.hpp"
#include "mqtth/pcap/TcpCapture.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: mqtt-harness decode [--protocol 3.1.1|5] [--max-packet-size N]\n"
    "                           (--hex HEX | --file F | - | --pcap CAPTURE [--port N])\n"
    "\n"
    "Decodes a stream of MQTT control packets and prints one JSON object per packet, one per\n"
    "line (the format is described in docs/decode-json.md).\n"
    "\n"
    "  --hex HEX             the bytes as hex; spaces are allowed (\"30 05 00 01 74 68 69\").\n"
    "                        `--hex -` reads the hex text from standard input\n"
    "  --file F              read the raw bytes from file F\n"
    "  -                     read the raw bytes from standard input\n"
    "  --pcap CAPTURE        decode every MQTT connection of a pcap or pcapng capture (TCP\n"
    "                        reassembled per direction); each line also names the connection\n"
    "                        (\"stream\", numbered like Wireshark's tcp.stream), the sender\n"
    "                        (\"from\": client|server), the frame and its time\n"
    "  --port N              with --pcap: the broker's TCP port. Without it a connection is\n"
    "                        decoded when its client's first packet is a CONNECT\n"
    "  --protocol 3.1.1|5    decode every packet as this version. Without it, packets are\n"
    "                        decoded as 5 until a CONNECT is seen, then as the CONNECT's version\n"
    "                        (in a capture: both directions of the CONNECT's connection)\n"
    "  --max-packet-size N   reject packets larger than N bytes (default: the protocol maximum)\n"
    "\n"
    "Exit status: 0 every packet decoded; 1 the input is malformed or truncated (the last line\n"
    "is {\"error\": ..., \"code\": ..., \"spec\": \"MQTT-x.x.x-y\", \"offset\": N}, offset counted from\n"
    "the first byte of the stream; with --pcap: of that connection's direction, and a direction\n"
    "stops at its first error or at bytes the capture misses); 2 bad arguments or unreadable\n"
    "input.\n";

// One direction of MQTT bytes: frames, decodes and prints each packet; the first malformed
// packet ends it (nothing after it can be framed with certainty).
class StreamDecoder {
 public:
  using Emit = std::function<void(mqtt::Json)>;
  StreamDecoder(std::uint32_t max_packet_size, Emit emit) : framer_(max_packet_size), max_(max_packet_size), emit_(std::move(emit)) {}

  // Decodes what `bytes` completes, as `version` (a CONNECT among them sets `version`
  // unless it is pinned). false once the stream is malformed.
  bool feed(mqtt::Bytes bytes, mqtt::Version& version, bool version_pinned) {
    if (failed_) return false;
    framer_.feed(bytes);
    for (;;) {
      const auto frame = framer_.next();
      if (frame.status == mqtt::FrameInfo::Status::error) {
        emit_(mqtt::to_json(frame.error));  // already counted from the stream start
        return !(failed_ = true);
      }
      if (frame.status == mqtt::FrameInfo::Status::need_more) return true;
      mqtt::DecodeOptions options;
      options.version = version;
      options.maximum_packet_size = max_;
      const auto decoded = mqtt::decode(frame.packet, options);
      if (!decoded.ok()) {
        emit_(mqtt::to_json(decoded.error, packet_start_));
        return !(failed_ = true);
      }
      emit_(mqtt::to_json(decoded.value, version, frame.packet));
      ++packets_;
      if (const auto* connect = std::get_if<mqtt::ConnectView>(&decoded.value); connect && !version_pinned)
        version = connect->protocol_version;
      packet_start_ += frame.packet.size();
    }
  }
  // The input is over; false (and a line saying where) when it ends inside a packet.
  bool finish(std::uint64_t end_offset, const char* code) {
    if (failed_ || framer_.buffered() == 0) return !failed_;
    mqtt::Json truncated;
    truncated["error"] = "truncated: the stream ends inside the packet that starts at offset " + std::to_string(packet_start_);
    truncated["code"] = code;
    truncated["spec"] = nullptr;
    truncated["offset"] = end_offset;  // the first byte that is missing
    emit_(truncated);
    return !(failed_ = true);
  }
  // A hole in the bytes: nothing after it is decoded.
  void stop(mqtt::Json why) {
    if (failed_) return;
    failed_ = true;
    emit_(std::move(why));
  }
  bool failed() const { return failed_; }
  std::uint64_t packets() const { return packets_; }

 private:
  mqtt::Framer framer_;
  std::uint32_t max_;
  Emit emit_;
  std::uint64_t packet_start_ = 0, packets_ = 0;
  bool failed_ = false;
};

// Both directions of one TCP connection of a capture.
struct Conversation {
  int stream = 0;                     // order of first appearance, like tshark's tcp.stream
  mqtth::pcap::TcpEndpoint client, server;
  bool roles_known = false;
  enum class Kind { unknown, mqtt, other } kind = Kind::unknown;
  mqtt::Version version = mqtt::Version::v5;
  std::unique_ptr<StreamDecoder> decoder[2];          // 0: from the client, 1: from the server
  std::unique_ptr<mqtth::pcap::TcpReassembler> tcp[2];
  std::vector<std::uint8_t> before_connect[2];        // bytes held until the first packet says MQTT or not
};

int decode_capture(const std::string& path, std::optional<std::uint16_t> broker_port, std::optional<mqtt::Version> protocol,
                   std::uint32_t max_packet_size) {
  using namespace mqtth::pcap;
  using mqtth::cli::codec_io::print_json_line;
  std::map<std::pair<TcpEndpoint, TcpEndpoint>, std::unique_ptr<Conversation>> conversations;
  int next_stream = 0, mqtt_connections = 0;
  const TcpSegment* current = nullptr;
  bool all_decoded = true;

  auto annotate = [&](Conversation& c, int side, mqtt::Json packet) {
    mqtt::Json line;
    line["stream"] = c.stream;
    line["from"] = side == 0 ? "client" : "server";
    line["client"] = c.client.text();
    line["server"] = c.server.text();
    if (current) {
      line["frame"] = current->frame;
      line["time"] = current->time;
    }
    for (auto& [k, v] : packet.items()) line[k] = v;
    if (line.contains("error")) all_decoded = false;
    print_json_line(line);
  };
  auto make_decoders = [&](Conversation& c) {
    for (int side = 0; side < 2; ++side)
      c.decoder[side] = std::make_unique<StreamDecoder>(max_packet_size, [&, cp = &c, side](mqtt::Json j) { annotate(*cp, side, std::move(j)); });
  };
  auto deliver = [&](Conversation& c, int side, const std::uint8_t* data, std::size_t size) {
    if (c.kind == Conversation::Kind::other) return;
    if (c.kind == Conversation::Kind::unknown) {
      auto& held = c.before_connect[side];
      held.insert(held.end(), data, data + size);
      if (side != 0) return;
      // The client's first packet decides: a CONNECT naming MQTT (3.1.1, 5.0) or MQIsdp (3.1).
      std::size_t at = 1, length_bytes = 0;
      while (at < held.size() && length_bytes < 4 && (held[at] & 0x80)) ++at, ++length_bytes;
      const std::size_t name_at = at + 1;
      if (held.size() < name_at + 8) return;  // not enough of it yet
      auto named = [&](std::string_view name) {
        return held[name_at] == 0 && held[name_at + 1] == name.size() &&
               std::equal(name.begin(), name.end(), held.begin() + std::ptrdiff_t(name_at + 2));
      };
      if (held[0] != 0x10 || !(named("MQTT") || named("MQIsdp"))) {
        c.kind = Conversation::Kind::other;
        return;
      }
      c.kind = Conversation::Kind::mqtt;
      ++mqtt_connections;
      make_decoders(c);
      if (protocol) c.version = *protocol;
      for (int s : {0, 1}) {
        auto bytes = std::move(c.before_connect[s]);
        if (!bytes.empty()) c.decoder[s]->feed(mqtt::Bytes(bytes.data(), bytes.size()), c.version, protocol.has_value());
      }
      return;
    }
    c.decoder[side]->feed(mqtt::Bytes(data, size), c.version, protocol.has_value());
  };

  CaptureStats stats;
  std::string error;
  const bool read = read_tcp_segments(
      path,
      [&](const TcpSegment& seg) {
        current = &seg;
        auto key = std::minmax(seg.from, seg.to);
        auto& slot = conversations[{key.first, key.second}];
        if (!slot) {
          slot = std::make_unique<Conversation>();
          slot->stream = next_stream++;
          for (int side = 0; side < 2; ++side)
            slot->tcp[side] = std::make_unique<TcpReassembler>(
                [&, c = slot.get(), side](std::uint64_t, const std::uint8_t* data, std::size_t size) { deliver(*c, side, data, size); });
          if (broker_port) {
            if (seg.to.port == *broker_port || seg.from.port == *broker_port) {
              slot->server = seg.to.port == *broker_port ? seg.to : seg.from;
              slot->client = seg.to.port == *broker_port ? seg.from : seg.to;
              slot->roles_known = true;
              slot->kind = Conversation::Kind::mqtt;
              ++mqtt_connections;
              if (protocol) slot->version = *protocol;
              make_decoders(*slot);
            } else {
              slot->kind = Conversation::Kind::other;
            }
          }
        }
        Conversation& c = *slot;
        if (c.kind == Conversation::Kind::other) return;
        if (!c.roles_known) {
          // The side that opens (SYN without ACK) or, joined mid-connection, the first to
          // send bytes is the client; the client's first packet then tells MQTT apart.
          if (!(seg.syn && !seg.ack) && seg.payload.empty()) return;
          c.client = seg.from;
          c.server = seg.to;
          c.roles_known = true;
        }
        c.tcp[seg.from == c.client ? 0 : 1]->add(seg);
      },
      &stats, &error);
  current = nullptr;
  if (!read) {
    std::fprintf(stderr, "mqtt-harness decode: %s\n", error.c_str());
    return 2;
  }
  std::uint64_t packets = 0;
  for (auto& [key, c] : conversations) {
    if (c->kind != Conversation::Kind::mqtt) continue;
    for (int side = 0; side < 2; ++side) {
      c->tcp[side]->finish();
      if (auto hole = c->tcp[side]->hole()) {
        mqtt::Json gap;
        gap["error"] = "the capture misses " + std::to_string(hole->size) + " bytes at offset " + std::to_string(hole->offset) +
                       " (segments not captured or cut by the snap length); nothing after them is decoded";
        gap["code"] = "capture_gap";
        gap["spec"] = nullptr;
        gap["offset"] = hole->offset;
        c->decoder[side]->stop(std::move(gap));
      } else {
        c->decoder[side]->finish(c->tcp[side]->delivered(), "truncated");
      }
      packets += c->decoder[side]->packets();
    }
  }
  std::fprintf(stderr, "mqtt-harness decode: %llu frames, %d TCP connections, %d MQTT, %llu packets decoded%s%s\n",
               static_cast<unsigned long long>(stats.frames), next_stream, mqtt_connections,
               static_cast<unsigned long long>(packets), stats.skipped ? "; frames skipped: " : "",
               stats.skipped ? (std::to_string(stats.skipped) + ", first: " + stats.skipped_reason).c_str() : "");
  if (mqtt_connections == 0 && !broker_port)
    std::fprintf(stderr, "mqtt-harness decode: no connection starts with a CONNECT; --port N decodes the broker's port anyway\n");
  return all_decoded ? 0 : 1;
}

int run_decode(int argc, char** argv) {
  using namespace mqtth::cli::codec_io;
  std::optional<mqtt::Version> protocol;
  std::uint32_t max_packet_size = mqtt::kMaxPacketSize;
  std::optional<std::string> capture;
  std::optional<std::uint16_t> broker_port;
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
    } else if (*arg == "--port") {
      auto v = args.value();
      if (!v) return 2;
      auto n = parse_unsigned(*v);
      if (!n || *n < 1 || *n > 65535) return args.bad("--port must be a TCP port 1..65535, not '" + std::string(*v) + "'");
      broker_port = static_cast<std::uint16_t>(*n);
    } else if (*arg == "--hex" || *arg == "--file" || *arg == "-" || *arg == "--pcap") {
      if (source.kind != InputSource::none || capture) return args.bad("give exactly one of --hex, --file, -, --pcap");
      if (*arg == "-") {
        source.kind = InputSource::stdin_raw;
      } else {
        auto v = args.value();
        if (!v) return 2;
        if (*arg == "--pcap") {
          capture = std::string(*v);
          continue;
        }
        source.kind = *arg == "--hex" ? InputSource::hex : InputSource::file;
        source.value = std::string(*v);
        if (source.kind == InputSource::hex && *v == "-") source.kind = InputSource::stdin_hex;
      }
    } else {
      return args.bad("unknown argument '" + std::string(*arg) + "'");
    }
  }
  if (broker_port && !capture) return args.bad("--port goes with --pcap");
  if (capture) return decode_capture(*capture, broker_port, protocol, max_packet_size);
  if (source.kind == InputSource::none) return args.bad("give the input: --hex HEX, --file F, - or --pcap CAPTURE");

  std::string error;
  auto input = read_input(source, error);
  if (!input) return args.bad(error);

  mqtt::Version version = protocol.value_or(mqtt::Version::v5);
  StreamDecoder decoder(max_packet_size, [](mqtt::Json j) { print_json_line(j); });
  decoder.feed(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(input->data()), input->size()), version, protocol.has_value());
  return decoder.finish(input->size(), "malformed_packet") ? 0 : 1;
}

const bool registered = mqtth::cli::register_command(
    {"decode", "decode MQTT packets (hex, file, stdin or a pcap capture) to JSON lines", run_decode});

}  // namespace
