// Minimisation steps: structure-aware (drop a decoded part, re-encode) and byte-level
// (docs/netfuzz.md "Findings").
#include "mqtth/netfuzz/NetFuzz.hpp"

#include <algorithm>
#include <variant>

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

namespace {

mqtt::Properties without_property(const mqtt::Properties& props, std::size_t skip) {
  mqtt::Properties out;
  std::size_t i = 0;
  for (const auto& p : props)
    if (i++ != skip) out.push_back(p);
  return out;
}

// Calls add(variant) for each copy of `packet` with one part removed, parts last to first.
template <class Add>
void for_each_removal(const mqtt::Packet& packet, Add&& add) {
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, mqtt::Connect>) {
          if (p.password) { T t = p; t.password.reset(); add(mqtt::Packet(t)); }
          if (p.username) { T t = p; t.username.reset(); t.password.reset(); add(mqtt::Packet(t)); }
          if (p.will) {
            { T t = p; t.will.reset(); add(mqtt::Packet(t)); }
            if (!p.will->payload.empty()) { T t = p; t.will->payload.clear(); add(mqtt::Packet(t)); }
            for (std::size_t i = p.will->properties.size(); i-- > 0;) {
              T t = p;
              t.will->properties = without_property(p.will->properties, i);
              add(mqtt::Packet(t));
            }
          }
        }
        if constexpr (std::is_same_v<T, mqtt::Publish>)
          if (!p.payload.empty()) { T t = p; t.payload.clear(); add(mqtt::Packet(t)); }
        if constexpr (std::is_same_v<T, mqtt::Subscribe>)
          for (std::size_t i = p.subscriptions.size(); p.subscriptions.size() > 1 && i-- > 0;) {
            T t = p;
            t.subscriptions.erase(t.subscriptions.begin() + static_cast<std::ptrdiff_t>(i));
            add(mqtt::Packet(t));
          }
        if constexpr (std::is_same_v<T, mqtt::Unsubscribe>)
          for (std::size_t i = p.filters.size(); p.filters.size() > 1 && i-- > 0;) {
            T t = p;
            t.filters.erase(t.filters.begin() + static_cast<std::ptrdiff_t>(i));
            add(mqtt::Packet(t));
          }
        if constexpr (requires { p.properties; })
          for (std::size_t i = p.properties.size(); i-- > 0;) {
            T t = p;
            t.properties = without_property(p.properties, i);
            add(mqtt::Packet(t));
          }
      },
      packet);
}

}  // namespace

std::vector<std::string> structural_removals(std::string_view packet, mqtt::Version version) {
  // A packet that breaks a rule of meaning (a finding's packet, often) is whole too.
  const auto decoded = mqtt::decode(packet, {.version = version});
  if (!mqtt::parsed_completely(decoded.error)) return {};
  std::vector<std::string> out;
  for_each_removal(mqtt::to_owned(decoded.value), [&](const mqtt::Packet& candidate) {
    // A CONNECT is laid out in the version it declares (the codec reads and writes it so).
    auto encoded = mqtt::encode_to_string(candidate, version);
    if (encoded.ok() && encoded.value.size() < packet.size()) out.push_back(std::move(encoded.value));
  });
  return out;
}

}  // namespace mqtth::netfuzz
