// Byte-level minimisation steps (docs/netfuzz.md "Findings").
#include "NetFuzz.hpp"

#include <algorithm>

namespace mqtth::netfuzz {

ByteRemoval remove_bytes(std::string_view packet, std::size_t at, std::size_t count) {
  ByteRemoval out;
  if (at > packet.size()) at = packet.size();
  count = std::min(count, packet.size() - at);
  out.raw = std::string(packet.substr(0, at)) + std::string(packet.substr(at + count));
  if (packet.size() < 2 || count == 0) return out;
  // The fixed header: one byte, then the Remaining Length (2.2.3). Only a length the codec
  // reads as a valid Variable Byte Integer is re-encoded; a non-minimal or 5-byte one was
  // put there by a mutation and is left to the raw variant.
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(packet.data());
  const auto rl = mqtt::decode_varint(mqtt::Bytes(bytes + 1, packet.size() - 1));
  if (rl.error || rl.consumed == 0) return out;
  const std::size_t header = 1 + rl.consumed;
  if (at < header || rl.value < count) return out;  // the cut touches the fixed header itself
  // Lower the announced length by what was removed: a well-framed packet stays well-framed,
  // and a length that was off by k on purpose stays off by k.
  std::uint8_t varint[4];
  const auto n = mqtt::encode_varint(static_cast<std::uint32_t>(rl.value - count), varint);
  std::string refitted;
  refitted.reserve(out.raw.size());
  refitted += packet[0];
  refitted.append(reinterpret_cast<const char*>(varint), n);
  refitted.append(out.raw, header, std::string::npos);
  out.refitted = std::move(refitted);
  return out;
}

}  // namespace mqtth::netfuzz
