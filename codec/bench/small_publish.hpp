// The small QoS 1 PUBLISH of the codec benchmarks (docs/benchmarks.md), built byte by
// byte rather than with the codec's encoder: topic "sensors/room1/temp", a 16-byte
// payload, and in the 5.0 variant message_expiry_interval 60 + content_type "text/plain".
// scripts/bench/mqtt-packet/bench.js builds the same bytes for node's mqtt-packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/codec.hpp"

namespace codec_bench {

inline constexpr std::string_view kTopic = "sensors/room1/temp";  // 18 bytes
inline constexpr std::size_t kPayloadSize = 16;

inline void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xFF);
}
inline void put_varint(std::string& out, std::uint32_t v) {
  do {
    auto byte = static_cast<std::uint8_t>(v % 128);
    v /= 128;
    if (v) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (v);
}
inline void put_string(std::string& out, std::string_view s) {
  put16(out, static_cast<std::uint16_t>(s.size()));
  out += s;
}

// QoS 1 PUBLISH (3.3): fixed header 0x32, topic, packet id, [5.0: properties
// message_expiry_interval 60 + content_type "text/plain"], 16-byte payload.
// 40 bytes for 3.1.1, 59 for 5.0.
inline std::string small_publish(std::uint16_t packet_id, mqtt::Version version) {
  std::string body;
  put_string(body, kTopic);
  put16(body, packet_id);
  if (version == mqtt::Version::v5) {
    std::string props;
    props += '\x02';  // message_expiry_interval, four byte integer
    props += std::string("\x00\x00\x00\x3c", 4);
    props += '\x03';  // content_type, UTF-8 string
    put_string(props, "text/plain");
    put_varint(body, static_cast<std::uint32_t>(props.size()));
    body += props;
  }
  for (std::size_t i = 0; i < kPayloadSize; ++i) body += static_cast<char>('a' + i);
  std::string packet(1, '\x32');
  put_varint(packet, static_cast<std::uint32_t>(body.size()));
  return packet + body;
}

}  // namespace codec_bench
