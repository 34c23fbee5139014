// Internal helpers shared by the codec's translation units. Not installed, not public.
#pragma once

#include <cstdint>
#include <array>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "mqtt/codec.hpp"

namespace mqtt::detail {

inline Error make_error(Errc code, std::size_t offset, std::string_view spec, std::string_view message) {
  return Error{code, static_cast<std::uint32_t>(offset), spec, message};
}

inline bool is_v5(Version v) { return v == Version::v5; }

// Spec ids differ between the two standards; pick by version (3.1 uses the 3.1.1 ids).
inline std::string_view sid(Version v, std::string_view v311, std::string_view v5) {
  return v == Version::v5 ? v5 : v311;
}

// Property metadata (2.2.2.2, table 2-4).
struct PropertyInfo {
  bool known = false;
  PropertyType type = PropertyType::byte;
  std::string_view name;
  std::uint32_t packets = 0;  // bit (1 << PacketType) where allowed
  bool will = false;          // allowed in the CONNECT Will Properties
};
extern const PropertyInfo kPropertyTable[256];
inline const PropertyInfo& property_info(std::uint8_t id) { return kPropertyTable[id]; }

// UTF-8 check of an MQTT string body. Returns the offset (within s) of the first bad
// byte in *bad and which rule: 1 = ill-formed/surrogate, 2 = U+0000. 0 when valid.
// allow_nul: payload data (5.0 3.3.2.3.2) only needs to be well-formed.
int utf8_check(const std::uint8_t* s, std::size_t n, std::size_t* bad, bool allow_nul = false);

// True when the 8 bytes hold only ASCII, no NUL and none of the given extra bytes.
inline std::uint64_t load64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
inline std::uint64_t has_zero_byte(std::uint64_t v) { return (v - kOnes) & ~v & kHighs; }
inline std::uint64_t has_byte(std::uint64_t v, std::uint8_t b) { return has_zero_byte(v ^ (kOnes * b)); }

// Fast path: plain ASCII, no NUL, and (when topic) no '+' or '#'. False means "look closer".
// Never reads outside [s, s + n): longer strings are read in whole blocks plus one block
// overlapping the tail, shorter ones as two overlapping halves.
[[gnu::always_inline]] inline bool plain_ascii(const std::uint8_t* s, std::size_t n, bool no_wildcards) {
  // Per word: any byte >= 0x80, or equal to 0x00 (or '+' / '#'). For bytes below 0x80,
  // b + 0x7F sets bit 7 exactly when b != 0 and cannot carry into the next byte; a word
  // with a byte >= 0x80 is rejected by the first term whatever the carries did.
  constexpr std::uint64_t k7F = 0x7F7F7F7F7F7F7F7FULL;
  auto bad = [no_wildcards](std::uint64_t v) {
    std::uint64_t nonzero = v + k7F;
    if (no_wildcards) nonzero &= ((v ^ (kOnes * '+')) + k7F) & ((v ^ (kOnes * '#')) + k7F);
    return (v & kHighs) | ((nonzero & kHighs) ^ kHighs);
  };
#if defined(__SSE2__)
  // SSE2 is part of x86-64: 16 bytes per step. Findings of all blocks are OR-ed and
  // tested once (no branch per block); a caller that gets false looks for the offset.
  if (n >= 8) {
    auto hits = [no_wildcards](__m128i v) {  // bit 7 of a byte set: >= 0x80, NUL, or a wildcard
      __m128i hit = _mm_or_si128(v, _mm_cmpeq_epi8(v, _mm_setzero_si128()));
      if (no_wildcards)
        hit = _mm_or_si128(hit, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('+')), _mm_cmpeq_epi8(v, _mm_set1_epi8('#'))));
      return hit;
    };
    auto load = [](const std::uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); };
    __m128i acc;
    if (n < 16) {  // two overlapping 8-byte halves
      acc = hits(_mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s)),
                                    _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + n - 8))));
    } else {  // whole blocks, the last one overlapping the one before
      acc = hits(load(s + n - 16));
      for (std::size_t i = 0; i + 16 < n; i += 16) acc = _mm_or_si128(acc, hits(load(s + i)));
    }
    return _mm_movemask_epi8(acc) == 0;
  }
#else
  if (n >= 8) {
    // Whole words, then one overlapping word for the tail: no byte loop.
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
      if (bad(load64(s + i))) return false;
    return i == n || !bad(load64(s + n - 8));
  }
#endif
  if (n >= 4) {  // two overlapping 4-byte halves in one word
    std::uint32_t lo, hi;
    std::memcpy(&lo, s, 4);
    std::memcpy(&hi, s + n - 4, 4);
    return !bad(lo | (std::uint64_t{hi} << 32));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t c = s[i];
    if (c == 0 || c >= 0x80) return false;
    if (no_wildcards && (c == '+' || c == '#')) return false;
  }
  return true;
}

// validate_topic_filter() without the UTF-8 check (decode has done it already).
Error topic_filter_rules(std::string_view s, Version v);

// Serialises one owned property; returns bytes written (out may be null: size only), or
// SIZE_MAX when the property cannot be encoded (unknown id / string > 65535).
std::size_t encode_property(const Property& p, std::uint8_t* out);

}  // namespace mqtt::detail
