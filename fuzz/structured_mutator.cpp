// Structure-aware mutation for the decode targets (target decode_v5_structured: decode.cpp
// plus this file). Byte-level mutation rarely keeps a packet's lengths consistent, so most
// mutants die in the first length check. This mutator decodes the input, changes decoded
// fields (packet ids, QoS/flags, topics and filters, UTF-8 edge cases, property ids and
// values, reason codes, protocol version) and re-encodes -- the encoder writes consistent
// lengths, so the mutant reaches the semantic checks -- and sometimes then nudges a length
// or flag byte. Inputs that do not decode, and one call in four, get libFuzzer's own byte
// mutations (LLVMFuzzerMutate). Replay needs none of this: the replay driver never calls
// the mutator, and LLVMFuzzerMutate is weak so the replay build links without libFuzzer.
#include "fuzz_common.hpp"

#include <array>
#include <cstring>
#include <random>

extern "C" __attribute__((weak)) std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size,
                                                               std::size_t max_size);

namespace {
using Rng = std::minstd_rand;

const std::array<std::uint32_t, 10> kNumbers = {0, 1, 2, 3, 0x7F, 0x80, 0xFFFF, 0x10000,
                                                268'435'455, 0xFFFFFFFF};
// UTF-8 and topic edge cases (1.5.4, 4.7): NUL, overlong, surrogate, non-character, BOM,
// wildcards in the wrong place, shared subscription forms, the empty string.
const std::array<std::string_view, 16> kStrings = {
    "", "a", std::string_view("\0", 1), "\xC0\x80", "\xED\xA0\x80", "\xEF\xBF\xBF",
    "\xEF\xBB\xBF" "a", "\xF4\x90\x80\x80", "#", "+", "a/#/b", "a+/b", "$share/g/a",
    "$share//a", "$SYS/x", "\x7F"};

std::uint32_t pick_number(Rng& rng) {
  return rng() % 2 ? kNumbers[rng() % kNumbers.size()] : static_cast<std::uint32_t>(rng());
}
std::string pick_string(Rng& rng) { return std::string(kStrings[rng() % kStrings.size()]); }

void mutate_properties(mqtt::Properties& props, Rng& rng) {
  std::vector<mqtt::Property> list(props.begin(), props.end());
  switch (rng() % 4) {
    case 0: {  // a new property, any id (unknown and misplaced ids included)
      mqtt::Property p;
      p.id = static_cast<mqtt::PropertyId>(rng() % 0x2C);
      p.number = pick_number(rng);
      p.key = pick_string(rng);
      p.value = pick_string(rng);
      list.push_back(std::move(p));
      break;
    }
    case 1:
      if (!list.empty()) list.erase(list.begin() + static_cast<long>(rng() % list.size()));
      break;
    case 2:  // duplicates are protocol errors for most ids (2.2.2.2)
      if (!list.empty()) list.push_back(list[rng() % list.size()]);
      break;
    default:
      if (!list.empty()) {
        auto& p = list[rng() % list.size()];
        p.number = pick_number(rng);
        p.value = pick_string(rng);
      }
  }
  props = mqtt::Properties();
  for (auto& p : list) props.push_back(std::move(p));
}

void mutate_packet(mqtt::Packet& packet, Rng& rng) {
  std::visit(
      [&](auto& p) {
        using T = std::decay_t<decltype(p)>;
        const unsigned what = rng() % 8;
        if constexpr (requires { p.properties; })
          if (what == 0) return mutate_properties(p.properties, rng);
        if constexpr (requires { p.packet_id; })
          if (what == 1) { p.packet_id = static_cast<std::uint16_t>(rng() % 3 ? pick_number(rng) : 0); return; }
        if constexpr (requires { p.reason_code; })
          if (what == 2) { p.reason_code = static_cast<std::uint8_t>(rng()); return; }
        if constexpr (std::is_same_v<T, mqtt::Publish>) {
          switch (rng() % 4) {
            case 0: p.qos = static_cast<std::uint8_t>(rng() % 4); break;
            case 1: p.dup = !p.dup; p.retain = rng() % 2; break;
            case 2: p.topic = pick_string(rng); break;
            default: p.payload = pick_string(rng);
          }
        } else if constexpr (std::is_same_v<T, mqtt::Subscribe>) {
          if (p.subscriptions.empty() || rng() % 4 == 0) p.subscriptions.emplace_back();
          auto& s = p.subscriptions[rng() % p.subscriptions.size()];
          if (rng() % 2) s.filter = pick_string(rng);
          else s.options = {.qos = static_cast<std::uint8_t>(rng() % 4), .no_local = rng() % 2 == 0,
                            .retain_as_published = rng() % 2 == 0,
                            .retain_handling = static_cast<std::uint8_t>(rng() % 4)};
        } else if constexpr (std::is_same_v<T, mqtt::Unsubscribe>) {
          if (p.filters.empty() || rng() % 4 == 0) p.filters.emplace_back();
          p.filters[rng() % p.filters.size()] = pick_string(rng);
        } else if constexpr (std::is_same_v<T, mqtt::Connect>) {
          switch (rng() % 5) {
            case 0: p.client_id = pick_string(rng); break;
            case 1: p.keep_alive = static_cast<std::uint16_t>(pick_number(rng)); break;
            case 2: p.clean_start = !p.clean_start; break;
            case 3:
              if (!p.will) p.will.emplace();
              p.will->qos = static_cast<std::uint8_t>(rng() % 4);
              p.will->topic = pick_string(rng);
              mutate_properties(p.will->properties, rng);
              break;
            default:
              if (p.username) p.username.reset(); else p.password = pick_string(rng);
          }
        } else if constexpr (requires { p.reason_codes; }) {
          p.reason_codes.push_back(static_cast<std::uint8_t>(rng()));
        }
      },
      packet);
}
}  // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  Rng rng(seed);
  auto bytes_mutation = [&] { return LLVMFuzzerMutate ? LLVMFuzzerMutate(data, size, max_size) : size; };
  if (rng() % 4 == 0) return bytes_mutation();
  const auto decoded = mqtt::decode(mqtt::Bytes(data, size), {.version = mqtt::Version::v5});
  if (!decoded.ok()) return bytes_mutation();
  mqtt::Packet packet = mqtt::to_owned(decoded.value);
  const auto* connect = std::get_if<mqtt::Connect>(&packet);
  const auto version = connect ? connect->protocol_version : mqtt::Version::v5;
  const int rounds = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < rounds; ++i) mutate_packet(packet, rng);
  const auto encoded = mqtt::encode_to_string(packet, version);
  if (!encoded.ok() || encoded.value.size() > max_size || encoded.value.empty()) return bytes_mutation();
  std::memcpy(data, encoded.value.data(), encoded.value.size());
  std::size_t out = encoded.value.size();
  // Now and then a consistent packet made slightly inconsistent: reserved flag bits, or
  // a remaining length one off (2.1.3, 2.2.3).
  if (rng() % 8 == 0) data[0] ^= static_cast<std::uint8_t>(1u << (rng() % 4));
  if (rng() % 8 == 0 && out > 1) data[1] = static_cast<std::uint8_t>(data[1] + (rng() % 2 ? 1 : -1));
  return out;
}
