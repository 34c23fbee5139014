// UTF-8 strings (3.1.1 1.5.3, 5.0 1.5.4), Variable Byte Integers (5.0 1.5.5, 3.1.1 2.2.3),
// topic names and filters (4.7), shared subscriptions (5.0 4.8.2).
#include "internal.hpp"

namespace mqtt {
namespace detail {

int utf8_check(const std::uint8_t* s, std::size_t n, std::size_t* bad, bool allow_nul) {
  std::size_t i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= n) {
      const std::uint64_t v = load64(s + i);
      if ((v & kHighs) | (allow_nul ? 0 : has_zero_byte(v))) break;
      i += 8;
    }
    if (i >= n) break;
    const std::uint8_t c = s[i];
    if (c < 0x80) {
      if (c == 0 && !allow_nul) {
        *bad = i;
        return 2;
      }
      ++i;
      continue;
    }
    // Multi-byte sequence: well-formed per RFC 3629 / Unicode table 3-7 (no overlongs, no
    // surrogates D800-DFFF, nothing above U+10FFFF).
    std::size_t len;
    std::uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      *bad = i;
      return 1;
    }
    if (n - i < len) {
      *bad = i;
      return 1;
    }
    if (s[i + 1] < lo || s[i + 1] > hi) {
      *bad = i;
      return 1;
    }
    for (std::size_t k = 2; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        *bad = i;
        return 1;
      }
    }
    i += len;
  }
  return 0;
}

}  // namespace detail

using detail::make_error;
using detail::sid;

Error validate_utf8(std::string_view s, Version v) {
  std::size_t bad = 0;
  const int rule = detail::utf8_check(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), &bad);
  if (rule == 1)
    return make_error(Errc::malformed_packet, bad, sid(v, "MQTT-1.5.3-1", "MQTT-1.5.4-1"),
                      "ill-formed UTF-8 or a surrogate code point in a UTF-8 string");
  if (rule == 2)
    return make_error(Errc::malformed_packet, bad, sid(v, "MQTT-1.5.3-2", "MQTT-1.5.4-2"),
                      "UTF-8 string contains U+0000");
  return {};
}

Error validate_topic_name(std::string_view s, Version v) {
  if (s.empty()) return make_error(Errc::topic_name_invalid, 0, "MQTT-4.7.3-1", "topic name is empty");
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+' || c == '#')
      return make_error(Errc::topic_name_invalid, i, sid(v, "MQTT-4.7.1-1", "MQTT-4.7.0-1"),
                        "wildcard character in a topic name");
    if (c == '\0') return make_error(Errc::topic_name_invalid, i, "MQTT-4.7.3-2", "topic name contains U+0000");
  }
  if (Error e = validate_utf8(s, v)) {
    e.code = Errc::topic_name_invalid;
    return e;
  }
  return {};
}

namespace {
// Checks the wildcard placement of a plain (not shared) filter starting at `base` in the
// original string.
Error check_filter_levels(std::string_view f, std::size_t base, Version v) {
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '#') {
      if ((i > 0 && f[i - 1] != '/') || i + 1 != f.size())
        return make_error(Errc::topic_filter_invalid, base + i, sid(v, "MQTT-4.7.1-2", "MQTT-4.7.1-1"),
                          "'#' must be the last character and alone in its level");
    } else if (c == '+') {
      if ((i > 0 && f[i - 1] != '/') || (i + 1 < f.size() && f[i + 1] != '/'))
        return make_error(Errc::topic_filter_invalid, base + i, sid(v, "MQTT-4.7.1-3", "MQTT-4.7.1-2"),
                          "'+' must occupy a whole level");
    } else if (c == '\0') {
      return make_error(Errc::topic_filter_invalid, base + i, "MQTT-4.7.3-2", "topic filter contains U+0000");
    }
  }
  return {};
}
}  // namespace

Error validate_topic_filter(std::string_view s, Version v) {
  if (s.empty()) return make_error(Errc::topic_filter_invalid, 0, "MQTT-4.7.3-1", "topic filter is empty");
  if (Error e = validate_utf8(s, v)) {
    e.code = Errc::topic_filter_invalid;
    return e;
  }
  return detail::topic_filter_rules(s, v);
}

namespace detail {
Error topic_filter_rules(std::string_view s, Version v) {
  if (s.empty()) return make_error(Errc::topic_filter_invalid, 0, "MQTT-4.7.3-1", "topic filter is empty");
  if (v == Version::v5 && s.starts_with("$share/")) {
    const std::string_view rest = s.substr(7);
    const std::size_t slash = rest.find('/');
    const std::string_view group = rest.substr(0, slash);
    if (group.empty())
      return make_error(Errc::topic_filter_invalid, 7, "MQTT-4.8.2-1", "shared subscription has an empty ShareName");
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (group[i] == '+' || group[i] == '#')
        return make_error(Errc::topic_filter_invalid, 7 + i, "MQTT-4.8.2-2",
                          "ShareName contains a wildcard character");
    }
    if (slash == std::string_view::npos || slash + 1 >= rest.size())
      return make_error(Errc::topic_filter_invalid, s.size(), "MQTT-4.8.2-2",
                        "shared subscription lacks '/' and a topic filter after the ShareName");
    return check_filter_levels(rest.substr(slash + 1), 7 + slash + 1, v);
  }
  return check_filter_levels(s, 0, v);
}
}  // namespace detail

std::optional<SharedFilter> parse_shared_filter(std::string_view s) {
  if (!s.starts_with("$share/")) return std::nullopt;
  const std::string_view rest = s.substr(7);
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size()) return std::nullopt;
  return SharedFilter{rest.substr(0, slash), rest.substr(slash + 1)};
}

bool topic_matches(std::string_view filter, std::string_view topic) {
  if (auto shared = parse_shared_filter(filter)) filter = shared->filter;
  if (filter.empty() || topic.empty()) return false;
  // [MQTT-4.7.2-1]: a leading wildcard does not match topics that begin with '$'.
  if (topic[0] == '$' && (filter[0] == '+' || filter[0] == '#')) return false;
  std::size_t fi = 0, ti = 0;
  for (;;) {
    const std::size_t fe = filter.find('/', fi);
    const std::string_view flevel = filter.substr(fi, fe == std::string_view::npos ? std::string_view::npos : fe - fi);
    if (flevel == "#") return true;  // this level and everything below, parent included
    const std::size_t te = topic.find('/', ti);
    const std::string_view tlevel = topic.substr(ti, te == std::string_view::npos ? std::string_view::npos : te - ti);
    if (flevel != "+" && flevel != tlevel) return false;
    const bool flast = fe == std::string_view::npos;
    const bool tlast = te == std::string_view::npos;
    if (flast && tlast) return true;
    if (tlast) return filter.substr(fe + 1) == "#";  // "a/#" matches "a"
    if (flast) return false;
    fi = fe + 1;
    ti = te + 1;
  }
}

// ---------------------------------------------------------------------------------------
VarintResult decode_varint(Bytes in) {
  VarintResult r;
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i >= in.size()) return r;  // need more
    const std::uint8_t b = in[i];
    value |= std::uint32_t{b & 0x7Fu} << (7 * i);
    if (!(b & 0x80)) {
      if (i > 0 && b == 0) {
        r.error = make_error(Errc::malformed_packet, i, "MQTT-1.5.5-1",
                             "Variable Byte Integer is not encoded in the minimum number of bytes");
        return r;
      }
      r.value = value;
      r.consumed = static_cast<std::uint8_t>(i + 1);
      return r;
    }
  }
  r.error = make_error(Errc::malformed_packet, 3, "MQTT-1.5.5-1",
                       "Variable Byte Integer longer than four bytes");
  return r;
}

std::size_t varint_size(std::uint32_t v) {
  if (v < 128) return 1;
  if (v < 16384) return 2;
  if (v < 2097152) return 3;
  return 4;
}

std::size_t encode_varint(std::uint32_t v, std::uint8_t* out) {
  std::size_t i = 0;
  do {
    std::uint8_t b = v & 0x7F;
    v >>= 7;
    if (v && i < 3) b |= 0x80;
    out[i++] = b;
  } while (v && i < 4);
  return i;
}

}  // namespace mqtt
