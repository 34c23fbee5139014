// Case generation: a valid session opening built as codec packets, then structure-aware
// field mutations, sequence mutations and byte-level mutations, all driven by Rng.
#include "mqtth/netfuzz/NetFuzz.hpp"

#include "Mutations.hpp"
#include "Oracles.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

namespace mqtth::netfuzz {

std::uint64_t Rng::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

namespace {

using mqtt::PropertyId;
using mqtt::Version;

// Topic names / filters including the 4.7 edge cases (wildcards in names, '#' not last,
// '$' topics, shared subscriptions, empty levels) and 1.5.4 UTF-8 edge cases.
constexpr std::array<std::string_view, 22> kTopics = {
    "a", "a/b", "fz/t", "fz/+", "fz/#", "#", "+", "+/+", "a/#/b", "a+", "a/b#", "$SYS/x",
    "$share/g/fz/t", "$share//t", "$share/g", "//", "", std::string_view("a\0b", 3),
    "\xED\xA0\x80",        // UTF-16 surrogate U+D800 encoded in UTF-8 [MQTT-1.5.4-1]
    "\xC0\xAF",            // overlong '/'
    "\xEF\xBF\xBF",        // U+FFFF non-character (allowed, SHOULD NOT)
    "fz/\xF0\x9F\x98\x80"  // 4-byte sequence
};

}  // namespace

std::string pick_topic(Rng& rng, bool valid_only) {
  if (valid_only) {
    static constexpr std::array<std::string_view, 4> kValid = {"a", "a/b", "fz/t", "fz/x/y"};
    return std::string(kValid[rng.below(kValid.size())]);
  }
  return std::string(kTopics[rng.below(kTopics.size())]);
}

std::string random_bytes(Rng& rng, std::size_t max) {
  std::string out(rng.below(static_cast<std::uint32_t>(max) + 1), '\0');
  for (auto& c : out) c = static_cast<char>(rng.below(256));
  return out;
}

// A property valid or not for the packet it lands in: any id the codec knows (so it can
// encode it), with boundary values.
mqtt::Property random_property(Rng& rng) {
  static constexpr std::array<std::uint8_t, 27> kIds = {
      0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19,
      0x1A, 0x1C, 0x1F, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A};
  static constexpr std::array<std::uint32_t, 8> kNumbers = {0, 1, 2, 255, 256, 65535, 268435455, 0xFFFFFFFF};
  mqtt::Property p;
  p.id = static_cast<PropertyId>(kIds[rng.below(kIds.size())]);
  const auto type = mqtt::property_type(static_cast<std::uint8_t>(p.id));
  p.number = kNumbers[rng.below(kNumbers.size())];
  if (type == mqtt::PropertyType::byte) p.number &= 0xFF;
  if (type == mqtt::PropertyType::two_byte) p.number &= 0xFFFF;
  if (type == mqtt::PropertyType::varint) p.number = std::min<std::uint32_t>(p.number, 268435455);
  p.key = pick_topic(rng, false);
  p.value = rng.chance(50) ? pick_topic(rng, false) : random_bytes(rng, 8);
  return p;
}

namespace {

mqtt::Properties maybe_properties(Rng& rng, Version v, std::vector<std::string>& notes, const char* where) {
  mqtt::Properties props;
  if (v != Version::v5) return props;
  if (rng.chance(30)) {
    props.add_user("k", "v");
  }
  if (rng.chance(15)) {
    const auto n = 1 + rng.below(3);
    for (std::uint32_t i = 0; i < n; ++i) props.push_back(random_property(rng));
    notes.push_back(std::string("random properties in ") + where);
  }
  return props;
}

std::uint16_t packet_id(Rng& rng, std::vector<std::string>& notes) {
  if (rng.chance(5)) {
    notes.push_back("packet id 0");
    return 0;
  }
  return static_cast<std::uint16_t>(1 + rng.below(rng.chance(80) ? 8 : 65535));
}

mqtt::Connect make_connect(Rng& rng, Version v, std::uint64_t index, std::vector<std::string>& notes) {
  mqtt::Connect c;
  c.protocol_name = "MQTT";
  c.protocol_version = v;
  c.clean_start = !rng.chance(10);
  c.keep_alive = static_cast<std::uint16_t>(rng.chance(80) ? 60 : rng.below(65536));
  c.client_id = "nf" + std::to_string(index % 1000);
  if (rng.chance(5)) {
    c.client_id = pick_topic(rng, false);
    notes.push_back("CONNECT client id edge case");
  }
  if (v == Version::v5 && rng.chance(20)) {
    c.properties.add_number(PropertyId::session_expiry_interval, rng.below(10));
    if (rng.chance(50)) c.properties.add_number(PropertyId::receive_maximum, rng.below(4));
    if (rng.chance(30)) c.properties.add_number(PropertyId::topic_alias_maximum, rng.below(4));
    if (rng.chance(30)) c.properties.add_number(PropertyId::maximum_packet_size, rng.below(64));
  }
  if (rng.chance(10)) {
    mqtt::Will w;
    w.topic = pick_topic(rng, !rng.chance(30));
    w.payload = random_bytes(rng, 8);
    w.qos = static_cast<std::uint8_t>(rng.below(rng.chance(90) ? 3 : 4));
    w.retain = rng.chance(20);
    c.will = w;
  }
  if (rng.chance(10)) c.username = "u";
  if (rng.chance(10)) c.password = random_bytes(rng, 4);
  return c;
}

mqtt::Packet make_body_packet(Rng& rng, Version v, std::vector<std::string>& notes) {
  const bool valid = rng.chance(70);
  switch (rng.below(10)) {
    case 0:
    case 1: {
      mqtt::Subscribe s;
      s.packet_id = packet_id(rng, notes);
      s.properties = maybe_properties(rng, v, notes, "SUBSCRIBE");
      if (v == Version::v5 && rng.chance(10)) s.properties.add_number(PropertyId::subscription_identifier, rng.below(3));
      const auto n = rng.chance(10) ? 0u : 1 + rng.below(3);
      for (std::uint32_t i = 0; i < n; ++i) {
        mqtt::Subscription sub;
        sub.filter = pick_topic(rng, valid);
        sub.options.qos = static_cast<std::uint8_t>(rng.below(valid ? 3 : 4));
        if (v == Version::v5) {
          sub.options.no_local = rng.chance(20);
          sub.options.retain_as_published = rng.chance(20);
          sub.options.retain_handling = static_cast<std::uint8_t>(rng.below(valid ? 3 : 4));
        }
        s.subscriptions.push_back(std::move(sub));
      }
      return s;
    }
    case 2:
    case 3:
    case 4: {
      mqtt::Publish p;
      p.qos = static_cast<std::uint8_t>(rng.below(valid ? 3 : 4));
      p.retain = rng.chance(10);
      p.dup = rng.chance(5);
      p.topic = pick_topic(rng, valid);
      p.packet_id = p.qos ? packet_id(rng, notes) : 0;
      p.properties = maybe_properties(rng, v, notes, "PUBLISH");
      if (v == Version::v5 && rng.chance(10)) p.properties.add_number(PropertyId::topic_alias, rng.below(4));
      p.payload = random_bytes(rng, 16);
      return p;
    }
    case 5: {
      const auto id = packet_id(rng, notes);
      switch (rng.below(4)) {
        case 0: return mqtt::Puback{id, 0, {}};
        case 1: return mqtt::Pubrec{id, 0, {}};
        case 2: return mqtt::Pubrel{id, 0, {}};
        default: return mqtt::Pubcomp{id, 0, {}};
      }
    }
    case 6: {
      mqtt::Unsubscribe u;
      u.packet_id = packet_id(rng, notes);
      u.properties = maybe_properties(rng, v, notes, "UNSUBSCRIBE");
      u.filters.push_back(pick_topic(rng, valid));
      return u;
    }
    case 7: return mqtt::Pingreq{};
    case 8:
      if (v == Version::v5 && rng.chance(30)) {
        mqtt::Auth a;
        a.reason_code = static_cast<std::uint8_t>(rng.chance(50) ? 0x18 : rng.below(256));
        return a;
      }
      return mqtt::Pingreq{};
    default: {
      if (rng.chance(70)) return mqtt::Pingreq{};
      mqtt::Disconnect d;
      d.reason_code = static_cast<std::uint8_t>(rng.chance(50) ? 0 : rng.below(256));
      return d;
    }
  }
}

// Replaces the Remaining Length varint of `packet` (2.2.3) with another encoding.
void mutate_remaining_length(Rng& rng, std::string& packet, std::vector<std::string>& notes) {
  std::size_t len_bytes = 0;
  while (1 + len_bytes < packet.size() && len_bytes < 4) {
    const bool more = static_cast<std::uint8_t>(packet[1 + len_bytes]) & 0x80;
    ++len_bytes;
    if (!more) break;
  }
  const std::size_t body = packet.size() - 1 - len_bytes;
  std::string varint;
  switch (rng.below(4)) {
    case 0: {  // off by a little
      const std::int64_t delta = static_cast<std::int64_t>(rng.below(5)) - 2;
      std::uint8_t buf[4];
      const auto n = mqtt::encode_varint(static_cast<std::uint32_t>(std::max<std::int64_t>(0, static_cast<std::int64_t>(body) + delta)), buf);
      varint.assign(reinterpret_cast<char*>(buf), n);
      notes.push_back("remaining length off by " + std::to_string(delta));
      break;
    }
    case 1:  // non-minimal encoding
      varint = {static_cast<char>((body & 0x7F) | 0x80), static_cast<char>(body >> 7)};
      notes.push_back("remaining length non-minimal");
      break;
    case 2:  // five bytes [MQTT-1.5.5-1]
      varint = std::string("\xFF\xFF\xFF\xFF\x7F", 5);
      notes.push_back("remaining length 5-byte varint");
      break;
    default:  // huge announced size
      varint = std::string("\xFF\xFF\xFF\x7F", 4);
      notes.push_back("remaining length 268435455");
      break;
  }
  packet.replace(1, len_bytes, varint);
}

}  // namespace

void mutate_bytes(Rng& rng, std::string& packet, std::vector<std::string>& notes) {
  if (packet.empty()) return;
  switch (rng.below(6)) {
    case 0: {  // flags nibble of the fixed header (2.1.3)
      packet[0] = static_cast<char>((packet[0] & 0xF0) | rng.below(16));
      notes.push_back("fixed header flags");
      break;
    }
    case 1: {
      const auto at = rng.below(static_cast<std::uint32_t>(packet.size()));
      packet[at] = static_cast<char>(packet[at] ^ (1u << rng.below(8)));
      notes.push_back("bit flip at " + std::to_string(at));
      break;
    }
    case 2: {
      const auto at = rng.below(static_cast<std::uint32_t>(packet.size()));
      packet[at] = static_cast<char>(rng.chance(50) ? 0xFF : 0x00);
      notes.push_back("byte set at " + std::to_string(at));
      break;
    }
    case 3: {
      packet.resize(rng.below(static_cast<std::uint32_t>(packet.size())));
      notes.push_back("truncated to " + std::to_string(packet.size()));
      break;
    }
    case 4: {
      const auto at = rng.below(static_cast<std::uint32_t>(packet.size()) + 1);
      packet.insert(at, random_bytes(rng, 4));
      notes.push_back("bytes inserted at " + std::to_string(at));
      break;
    }
    default: mutate_remaining_length(rng, packet, notes); break;
  }
}

Case generate_case(std::uint64_t seed, std::uint64_t index, Version version, bool stateful) {
  if (stateful) return generate_stateful_case(seed, index, version);
  Rng rng(seed * 0x100000001B3ULL ^ (index + 1) * 0x9E3779B97F4A7C15ULL);
  Case out;
  std::vector<mqtt::Packet> packets;
  packets.push_back(make_connect(rng, version, index, out.mutations));
  const auto body = 1 + rng.below(5);
  for (std::uint32_t i = 0; i < body; ++i) packets.push_back(make_body_packet(rng, version, out.mutations));
  for (const auto& p : packets) {
    auto enc = mqtt::encode_to_string(p, version);
    if (enc.ok()) out.packets.push_back(std::move(enc.value));
  }
  // Sequence mutations: missing, repeated, out of order.
  if (out.packets.size() > 1 && rng.chance(15)) {
    const auto at = rng.below(static_cast<std::uint32_t>(out.packets.size()));
    out.packets.erase(out.packets.begin() + at);
    out.mutations.push_back("packet " + std::to_string(at) + " dropped");
  }
  if (!out.packets.empty() && rng.chance(10)) {
    const auto at = rng.below(static_cast<std::uint32_t>(out.packets.size()));
    out.packets.insert(out.packets.begin() + at, out.packets[at]);
    out.mutations.push_back("packet " + std::to_string(at) + " repeated");
  }
  if (out.packets.size() > 1 && rng.chance(10)) {
    const auto a = rng.below(static_cast<std::uint32_t>(out.packets.size()));
    const auto b = rng.below(static_cast<std::uint32_t>(out.packets.size()));
    std::swap(out.packets[a], out.packets[b]);
    out.mutations.push_back("packets " + std::to_string(a) + " and " + std::to_string(b) + " swapped");
  }
  // Byte-level mutations of one or two packets.
  if (!out.packets.empty() && rng.chance(35)) {
    const auto n = 1 + rng.below(2);
    for (std::uint32_t i = 0; i < n; ++i) {
      auto& p = out.packets[rng.below(static_cast<std::uint32_t>(out.packets.size()))];
      mutate_bytes(rng, p, out.mutations);
    }
  }
  // Sentinel: a valid session answers it with PINGRESP once everything before is processed.
  out.packets.push_back(std::string("\xC0\x00", 2));
  return out;
}

namespace {

mqtt::Connect probe_connect(Version version, const std::string& client_id) {
  mqtt::Connect c;
  c.protocol_name = "MQTT";
  c.protocol_version = version;
  c.client_id = client_id;
  return c;
}

}  // namespace

std::string probe_bytes(Version version, const std::string& client_id) {
  return mqtt::encode_to_string(mqtt::Packet(probe_connect(version, client_id)), version).value +
         std::string("\xC0\x00", 2);
}

std::string persistent_probe_connect(Version version, const std::string& client_id) {
  auto c = probe_connect(version, client_id);
  c.keep_alive = 0;
  return mqtt::encode_to_string(mqtt::Packet(c), version).value;
}

}  // namespace mqtth::netfuzz
