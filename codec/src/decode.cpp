// Decoding: bytes -> PacketView.
//
// Validation happens in two passes, as mosquitto does: pass 1 is syntax (anything that
// makes the bytes unparseable or breaks an encoding rule: Errc::malformed_packet), pass 2
// is meaning (Errc::protocol_error, topic_name_invalid, ...). Both passes run over the
// bytes once: pass-2 findings are recorded in `deferred` while pass 1 goes on, and are
// reported only when pass 1 found nothing. So a packet with both a malformed field and a
// protocol error always reports the malformed field, whatever their order on the wire.
//
// Every read is preceded by a bounds check against the end of the packet (or of the
// enclosing property block); nothing is read past the input.
#include <algorithm>

#include "internal.hpp"

namespace mqtt {
namespace {
using namespace detail;

constexpr std::string_view kNoId{};

struct PropSummary {
  int payload_format = -1;       // payload_format_indicator value, -1 when absent
  bool topic_alias = false;
  bool auth_method = false;
  std::size_t auth_data_offset = 0;  // 0: absent
};

// An Error that is only written when set: the hot path never pays for zeroing it.
struct ErrorSlot {
  ErrorSlot() {}
  explicit operator bool() const { return set; }
  ErrorSlot& operator=(const Error& e) {
    set = true;
    error = e;
    return *this;
  }
  operator Error() const { return set ? error : Error{}; }
  bool set = false;
  union {
    Error error;
  };
};

struct Reader {
  Reader(const std::uint8_t* b, std::size_t p, std::size_t e, Version ver) : base(b), pos(p), end(e), v(ver) {}
  const std::uint8_t* base;
  std::size_t pos;
  std::size_t end;
  Version v;
  ErrorSlot err;
  ErrorSlot deferred;

  std::size_t left() const { return end - pos; }

  // Pass 1: stop at the first syntax error.
  bool fail(Errc code, std::size_t offset, std::string_view spec, std::string_view message) {
    if (!err) err = make_error(code, offset, spec, message);
    return false;
  }
  // Pass 2: remember the first meaning error, keep parsing.
  void defer(Errc code, std::size_t offset, std::string_view spec, std::string_view message) {
    if (!deferred) deferred = make_error(code, offset, spec, message);
  }

  bool u8(std::uint8_t& out, std::string_view message) {
    if (left() < 1) return fail(Errc::malformed_packet, end, kNoId, message);
    out = base[pos++];
    return true;
  }
  bool u16(std::uint16_t& out, std::string_view message) {
    if (left() < 2) return fail(Errc::malformed_packet, end, kNoId, message);
    out = static_cast<std::uint16_t>((base[pos] << 8) | base[pos + 1]);
    pos += 2;
    return true;
  }
  bool u32(std::uint32_t& out, std::string_view message) {
    if (left() < 4) return fail(Errc::malformed_packet, end, kNoId, message);
    out = (std::uint32_t{base[pos]} << 24) | (std::uint32_t{base[pos + 1]} << 16) |
          (std::uint32_t{base[pos + 2]} << 8) | base[pos + 3];
    pos += 4;
    return true;
  }
  bool varint(std::uint32_t& out, std::string_view message) {
    if (pos < end && base[pos] < 0x80) {  // one byte: the common case
      out = base[pos++];
      return true;
    }
    const auto r = decode_varint(Bytes(base + pos, left()));
    if (r.error) return fail(Errc::malformed_packet, pos + r.error.offset, vbi_spec(), r.error.message);
    if (r.consumed == 0) return fail(Errc::malformed_packet, end, kNoId, message);
    out = r.value;
    pos += r.consumed;
    return true;
  }
  std::string_view vbi_spec() const { return v == Version::v5 ? std::string_view("MQTT-1.5.5-1") : kNoId; }

  // Binary Data / the bytes of a string: two-byte length, then that many bytes.
  bool binary(std::string_view& out, std::string_view message) {
    if (left() < 2) return fail(Errc::malformed_packet, end, kNoId, message);
    const std::size_t n = (std::size_t{base[pos]} << 8) | base[pos + 1];
    if (left() - 2 < n) return fail(Errc::malformed_packet, end, kNoId, message);
    out = std::string_view(reinterpret_cast<const char*>(base + pos + 2), n);
    pos += 2 + n;
    return true;
  }
  // UTF-8 Encoded String (1.5.3 / 1.5.4): well-formed, no U+0000 (pass 1: malformed).
  bool utf8(std::string_view& out, std::string_view message, bool pair = false) {
    if (!binary(out, message)) return false;
    return check_utf8(out, pair);
  }
  bool check_utf8(std::string_view out, bool pair = false) {
    if (plain_ascii(reinterpret_cast<const std::uint8_t*>(out.data()), out.size(), false)) [[likely]]
      return true;
    return check_utf8_slow(out, pair);
  }
  [[gnu::noinline]] bool check_utf8_slow(std::string_view out, bool pair) {
    const auto* s = reinterpret_cast<const std::uint8_t*>(out.data());
    std::size_t bad = 0;
    const int rule = utf8_check(s, out.size(), &bad);
    if (rule == 0) return true;
    const std::size_t at = static_cast<std::size_t>(s - base) + bad;
    if (pair && v == Version::v5)
      return fail(Errc::malformed_packet, at, "MQTT-1.5.7-1",
                  rule == 1 ? std::string_view("ill-formed UTF-8 in a UTF-8 string pair")
                            : std::string_view("U+0000 in a UTF-8 string pair"));
    if (rule == 1)
      return fail(Errc::malformed_packet, at, sid(v, "MQTT-1.5.3-1", "MQTT-1.5.4-1"),
                  "ill-formed UTF-8 or a surrogate code point in a UTF-8 string");
    return fail(Errc::malformed_packet, at, sid(v, "MQTT-1.5.3-2", "MQTT-1.5.4-2"), "UTF-8 string contains U+0000");
  }
  // A required field is missing (the packet ends before it): name the statement that
  // requires it, unless the failure already carries a more precise one.
  bool required(bool ok, std::string_view spec) {
    if (!ok && err.set && err.error.spec.empty() && err.error.code == Errc::malformed_packet) err.error.spec = spec;
    return ok;
  }
  std::size_t offset_of(std::string_view s) const {
    return static_cast<std::size_t>(reinterpret_cast<const std::uint8_t*>(s.data()) - base);
  }

  // Topic Name rules (4.7) as pass 2; `s` already passed the UTF-8 check.
  void check_topic_name(std::string_view s, std::string_view wildcard_spec) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
    if (!s.empty() && plain_ascii(p, s.size(), true)) return;
    if (s.empty()) return defer(Errc::topic_name_invalid, offset_of(s) - 2, "MQTT-4.7.3-1", "topic name is empty");
    for (std::size_t i = 0; i < s.size(); ++i)
      if (s[i] == '+' || s[i] == '#')
        return defer(Errc::topic_name_invalid, offset_of(s) + i, wildcard_spec, "wildcard character in a topic name");
  }
  void check_topic_filter(std::string_view s) {
    Error e = topic_filter_rules(s, v);
    if (e) defer(e.code, (s.empty() ? offset_of(s) - 2 : offset_of(s)) + e.offset, e.spec, e.message);
  }

  bool properties(PacketType type, PropertyContext ctx, PropertiesView& out, PropSummary& sum);
  // [MQTT-2.2.2-1]: the property length is present even when there are no properties.
  std::string_view at_end_spec() const { return pos == end ? std::string_view("MQTT-2.2.2-1") : kNoId; }
  void check_payload_format(const PropSummary& sum, std::string_view payload) {
    if (sum.payload_format != 1 || payload.empty()) return;
    std::size_t bad = 0;
    if (utf8_check(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size(), &bad, true))
      defer(Errc::payload_format_invalid, offset_of(payload) + bad, kNoId,
            "payload_format_indicator is 1 but the payload is not well-formed UTF-8");
  }
  void check_reason(std::uint8_t code, PacketType type, std::size_t at, std::string_view spec) {
    if (!reason_code_allowed(code, type))
      defer(Errc::protocol_error, at, spec, "reason code not defined for this packet type");
  }
  bool done() {
    if (pos != end) return fail(Errc::malformed_packet, pos, kNoId, "unexpected bytes after the last field of the packet");
    return true;
  }
};

bool Reader::properties(PacketType type, PropertyContext ctx, PropertiesView& out, PropSummary& sum) {
  const std::size_t length_at = pos;
  std::uint32_t length = 0;
  if (!required(varint(length, "packet ends inside the property length"), at_end_spec())) return false;
  if (length > left())
    return fail(Errc::malformed_packet, length_at, kNoId, "property length exceeds the remaining length");
  const std::size_t start = pos;
  const std::size_t outer_end = end;
  end = pos + length;  // reads below are bounded by the property block
  std::uint64_t seen = 0;
  while (pos < end) {
    const std::size_t at = pos;
    const std::uint8_t id = base[pos++];
    const PropertyInfo& info = property_info(id);
    if (!info.known) return fail(Errc::malformed_packet, at, kNoId, "unknown property identifier");
    std::uint32_t number = 0;
    std::string_view a, b;
    constexpr std::string_view kTrunc = "property value runs past the end of the property block";
    switch (info.type) {
      case PropertyType::byte: {
        std::uint8_t x = 0;
        if (!u8(x, kTrunc)) return false;
        number = x;
        break;
      }
      case PropertyType::two_byte: {
        std::uint16_t x = 0;
        if (!u16(x, kTrunc)) return false;
        number = x;
        break;
      }
      case PropertyType::four_byte:
        if (!u32(number, kTrunc)) return false;
        break;
      case PropertyType::varint:
        if (!varint(number, kTrunc)) return false;
        break;
      case PropertyType::utf8:
        if (!utf8(a, kTrunc)) return false;
        break;
      case PropertyType::binary:
        if (!binary(a, kTrunc)) return false;
        break;
      case PropertyType::utf8_pair:
        if (!utf8(a, kTrunc, true) || !utf8(b, kTrunc, true)) return false;
        break;
    }
    // Pass 2: where it may appear, how often, which values.
    const bool allowed = ctx == PropertyContext::will ? info.will : ((info.packets >> static_cast<unsigned>(type)) & 1u);
    if (!allowed) defer(Errc::protocol_error, at, kNoId, "property not allowed in this packet");
    const auto pid = static_cast<PropertyId>(id);
    const bool repeatable = pid == PropertyId::user_property ||
                            (pid == PropertyId::subscription_identifier && type == PacketType::publish);
    const std::uint64_t mask = std::uint64_t{1} << (id & 63);
    if (!repeatable && (seen & mask)) defer(Errc::protocol_error, at, kNoId, "property included more than once");
    seen |= mask;
    // Only some identifiers have value rules: skip the switch for the rest.
    constexpr std::uint64_t kValueRules =
        (1ull << 0x01) | (1ull << 0x08) | (1ull << 0x0B) | (1ull << 0x15) | (1ull << 0x16) | (1ull << 0x17) |
        (1ull << 0x19) | (1ull << 0x21) | (1ull << 0x23) | (1ull << 0x24) | (1ull << 0x25) | (1ull << 0x27) |
        (1ull << 0x28) | (1ull << 0x29) | (1ull << 0x2A);
    if (!((kValueRules >> id) & 1u)) continue;  // every known id is < 64
    switch (pid) {
      case PropertyId::payload_format_indicator:
        sum.payload_format = static_cast<int>(number);
        [[fallthrough]];
      case PropertyId::request_problem_information:
      case PropertyId::request_response_information:
      case PropertyId::maximum_qos:
      case PropertyId::retain_available:
      case PropertyId::wildcard_subscription_available:
      case PropertyId::subscription_identifier_available:
      case PropertyId::shared_subscription_available:
        if (number > 1) defer(Errc::protocol_error, at + 1, kNoId, "property value must be 0 or 1");
        break;
      case PropertyId::receive_maximum:
      case PropertyId::maximum_packet_size:
        if (number == 0) defer(Errc::protocol_error, at + 1, kNoId, "property value must not be 0");
        break;
      case PropertyId::topic_alias:
        sum.topic_alias = true;
        if (number == 0) defer(Errc::protocol_error, at + 1, "MQTT-3.3.2-8", "topic_alias must not be 0");
        break;
      case PropertyId::subscription_identifier:
        if (number == 0) defer(Errc::protocol_error, at + 1, kNoId, "subscription_identifier must be 1..268435455");
        break;
      case PropertyId::response_topic:
        if (validate_topic_name(a, v))
          defer(Errc::protocol_error, at + 1, "MQTT-3.3.2-14", "response_topic must be a topic name without wildcards");
        break;
      case PropertyId::authentication_method:
        sum.auth_method = true;
        break;
      case PropertyId::authentication_data:
        sum.auth_data_offset = at;
        break;
      default:
        break;
    }
  }
  end = outer_end;
  if (sum.auth_data_offset && !sum.auth_method)
    defer(Errc::protocol_error, sum.auth_data_offset, kNoId, "authentication_data without authentication_method");
  out = PropertiesView(std::string_view(reinterpret_cast<const char*>(base + start), length));
  return true;
}

// Fast path for the property block of a PUBLISH, inlined into its decoder. It accepts
// only blocks that properties() would accept without any finding: a one-byte property
// length, then only payload_format_indicator (0 or 1), message_expiry_interval,
// content_type, response_topic, correlation_data, topic_alias (not 0), each at most
// once, and user_property; every string plain ASCII without U+0000 (response_topic also
// without wildcards and not empty). It records no error and moves nothing on refusal:
// for anything else it returns false and properties() parses the block from its start,
// so every error is still found and reported by the one general parser. What it saves
// is the table lookup, the indirect jump on the property type and the bookkeeping of
// the general loop (about half of the 5.0 small-PUBLISH decode time).
// A two-byte length and that many bytes ending within `stop`; with kText, plain ASCII
// without U+0000 (and with kTopic, without wildcards and not empty). Moves `at` past it.
template <bool kText, bool kTopic>
[[gnu::always_inline]] inline bool fast_string(const std::uint8_t* b, std::size_t& at, std::size_t stop) {
  if (stop - at < 2) return false;
  const std::size_t n = (std::size_t{b[at]} << 8) | b[at + 1];
  if (stop - at - 2 < n) return false;
  if constexpr (kTopic) {
    if (n == 0) return false;
  }
  if constexpr (kText) {
    if (!plain_ascii(b + at + 2, n, kTopic)) return false;
  }
  at += 2 + n;
  return true;
}

// Reads the block at b[pos..end); on success moves pos past it.
[[gnu::always_inline]] inline bool publish_properties_fast(const std::uint8_t* b, std::size_t& pos, std::size_t end,
                                                           std::string_view& out, PropSummary& sum) {
  if (pos >= end) return false;
  const std::size_t length = b[pos];
  if (length >= 0x80 || length > end - pos - 1) return false;
  const std::size_t start = pos + 1;
  const std::size_t stop = start + length;
  std::size_t p = start;
  std::uint64_t seen = 0;  // bit per identifier (all are < 64)
  int payload_format = -1;
  bool topic_alias = false;
  while (p < stop) {
    const std::uint8_t id = b[p++];
    const std::uint64_t bit = std::uint64_t{1} << (id & 63);
    if (id != 0x26) {
      if (seen & bit) return false;
      seen |= bit;
    }
    if (id == 0x02) {  // message_expiry_interval: Four Byte Integer, any value
      if (stop - p < 4) return false;
      p += 4;
    } else if (id == 0x03) {  // content_type: UTF-8 string
      if (!fast_string<true, false>(b, p, stop)) return false;
    } else if (id == 0x01) {  // payload_format_indicator: 0 or 1
      if (stop - p < 1 || b[p] > 1) return false;
      payload_format = b[p];
      p += 1;
    } else if (id == 0x23) {  // topic_alias: Two Byte Integer, not 0
      if (stop - p < 2 || (b[p] | b[p + 1]) == 0) return false;
      topic_alias = true;
      p += 2;
    } else if (id == 0x08) {  // response_topic: a topic name
      if (!fast_string<true, true>(b, p, stop)) return false;
    } else if (id == 0x09) {  // correlation_data: Binary Data
      if (!fast_string<false, false>(b, p, stop)) return false;
    } else if (id == 0x26) {  // user_property: a UTF-8 string pair, may repeat
      if (!fast_string<true, false>(b, p, stop) || !fast_string<true, false>(b, p, stop)) return false;
    } else {
      return false;
    }
  }
  pos = stop;
  out = std::string_view(reinterpret_cast<const char*>(b + start), length);
  sum.payload_format = payload_format;
  sum.topic_alias = topic_alias;
  return true;
}

// Fixed-header flag rules: 3.1.1 2.2.2 (table 2.2), 5.0 2.1.3 (table 2-2).
std::string_view flag_spec(PacketType t, Version v) {
  switch (t) {
    case PacketType::pubrel: return "MQTT-3.6.1-1";
    case PacketType::subscribe: return "MQTT-3.8.1-1";
    case PacketType::unsubscribe: return "MQTT-3.10.1-1";
    case PacketType::disconnect: return "MQTT-3.14.1-1";
    case PacketType::auth: return v == Version::v5 ? std::string_view("MQTT-3.15.1-1") : kNoId;
    default: return sid(v, "MQTT-2.2.2-1", "MQTT-2.1.3-1");
  }
}

// ---------------------------------------------------------------------------------------
bool decode_connect(Reader& r, ConnectView& c) {
  std::string_view name;
  if (!r.binary(name, "packet ends inside the protocol name")) return false;
  std::uint8_t level = 0;
  const std::size_t level_at = r.pos;
  if (!r.u8(level, "packet ends before the protocol level")) return false;
  c.protocol_name = name;
  // The protocol name and level decide how the rest is read, so they are checked first.
  if (name != "MQTT" && name != "MQIsdp")
    return r.fail(Errc::unsupported_protocol_version, 2, "MQTT-3.1.2-1", "protocol name is not \"MQTT\" (or \"MQIsdp\" for 3.1)");
  if (name == "MQTT" && (level == 4 || level == 5)) {
    r.v = static_cast<Version>(level);
  } else if (name == "MQIsdp" && level == 3) {
    r.v = Version::v3_1;
  } else {
    return r.fail(Errc::unsupported_protocol_version, level_at, "MQTT-3.1.2-2",
                  "protocol level not supported for this protocol name");
  }
  c.protocol_version = r.v;
  const Version v = r.v;
  const std::size_t flags_at = r.pos;
  std::uint8_t flags = 0;
  if (!r.u8(flags, "packet ends before the connect flags")) return false;
  if (flags & 0x01) return r.fail(Errc::malformed_packet, flags_at, "MQTT-3.1.2-3", "reserved connect flag (bit 0) is not 0");
  const bool will = flags & 0x04;
  const std::uint8_t will_qos = (flags >> 3) & 0x03;
  const bool will_retain = flags & 0x20;
  const bool password = flags & 0x40;
  const bool username = flags & 0x80;
  c.clean_start = flags & 0x02;
  if (will && will_qos == 3)
    return r.fail(Errc::malformed_packet, flags_at, sid(v, "MQTT-3.1.2-14", "MQTT-3.1.2-12"), "will QoS is 3");
  if (!will && will_qos != 0)
    r.defer(Errc::protocol_error, flags_at, sid(v, "MQTT-3.1.2-13", "MQTT-3.1.2-11"), "will QoS set without the will flag");
  if (!will && will_retain)
    r.defer(Errc::protocol_error, flags_at, sid(v, "MQTT-3.1.2-15", "MQTT-3.1.2-13"), "will retain set without the will flag");
  if (password && !username && v != Version::v5)
    r.defer(Errc::protocol_error, flags_at, "MQTT-3.1.2-22", "password flag set without the user name flag");
  if (!r.u16(c.keep_alive, "packet ends inside keep alive")) return false;
  PropSummary sum;
  if (v == Version::v5 && !r.properties(PacketType::connect, PropertyContext::packet, c.properties, sum)) return false;
  if (!r.required(r.utf8(c.client_id, "packet ends inside the client identifier"), "MQTT-3.1.3-3")) return false;
  if (v == Version::v3_1_1 && c.client_id.empty() && !c.clean_start)
    r.defer(Errc::client_identifier_not_valid, r.offset_of(c.client_id) - 2, "MQTT-3.1.3-8",
            "empty client identifier with clean session 0");
  if (v == Version::v3_1 && (c.client_id.empty() || c.client_id.size() > 23))
    r.defer(Errc::client_identifier_not_valid, r.offset_of(c.client_id) - 2, kNoId,
            "MQTT 3.1 client identifier must be 1 to 23 bytes");
  if (will) {
    auto& w = c.will.emplace();
    w.qos = will_qos;
    w.retain = will_retain;
    PropSummary wsum;
    if (v == Version::v5 && !r.properties(PacketType::connect, PropertyContext::will, w.properties, wsum)) return false;
    if (!r.required(r.utf8(w.topic, "packet ends inside the will topic"), "MQTT-3.1.2-9")) return false;
    {
      Error e = validate_topic_name(w.topic, v);
      if (e) r.defer(e.code, (w.topic.empty() ? r.offset_of(w.topic) - 2 : r.offset_of(w.topic)) + e.offset, e.spec, e.message);
    }
    if (!r.required(r.binary(w.payload, "packet ends inside the will payload"), "MQTT-3.1.2-9")) return false;
    r.check_payload_format(wsum, w.payload);
  }
  if (username) {
    std::string_view u;
    if (!r.required(r.utf8(u, "packet ends inside the user name"), sid(v, "MQTT-3.1.2-19", "MQTT-3.1.2-17"))) return false;
    c.username = u;
  }
  if (password) {
    std::string_view p;
    if (!r.required(r.binary(p, "packet ends inside the password"), sid(v, "MQTT-3.1.2-21", "MQTT-3.1.2-19"))) return false;
    c.password = p;
  }
  return r.done();
}

bool decode_connack(Reader& r, ConnackView& c) {
  std::uint8_t flags = 0;
  const std::size_t flags_at = r.pos;
  if (!r.u8(flags, "packet ends before the acknowledge flags")) return false;
  if (flags & 0xFE)
    return r.fail(Errc::malformed_packet, flags_at, sid(r.v, kNoId, "MQTT-3.2.2-1"), "reserved CONNACK acknowledge flag bits are not 0");
  c.session_present = flags & 1;
  const std::size_t rc_at = r.pos;
  if (!r.u8(c.reason_code, "packet ends before the CONNACK reason code")) return false;
  if (r.v == Version::v5) {
    PropSummary sum;
    if (!r.properties(PacketType::connack, PropertyContext::packet, c.properties, sum)) return false;
    r.check_reason(c.reason_code, PacketType::connack, rc_at, "MQTT-3.2.2-8");
  } else if (c.reason_code > 5) {
    r.defer(Errc::protocol_error, rc_at, kNoId, "CONNACK return code above 5 is reserved");
  }
  if (c.session_present && c.reason_code != 0)
    r.defer(Errc::protocol_error, flags_at, sid(r.v, "MQTT-3.2.2-4", "MQTT-3.2.2-6"),
            "session present set in a CONNACK with a non-zero code");
  return r.done();
}

// PUBLISH fields into plain locals, which the optimiser keeps in registers (a whole
// PublishView stays in memory; see publish_result).
bool decode_publish(Reader& r, std::uint8_t flags, std::string_view& topic, std::uint16_t& packet_id,
                    std::string_view& properties, std::string_view& payload) {
  const bool dup = flags & 0x08;
  const std::uint8_t qos = (flags >> 1) & 0x03;
  if (qos == 3) return r.fail(Errc::malformed_packet, 0, "MQTT-3.3.1-4", "PUBLISH QoS is 3");
  if (dup && qos == 0) return r.fail(Errc::malformed_packet, 0, "MQTT-3.3.1-2", "DUP set on a QoS 0 PUBLISH");
  if (!r.required(r.binary(topic, "packet ends inside the topic name"), "MQTT-3.3.2-1")) return false;
  // One pass covers both the UTF-8 rule and the topic rule for plain ASCII topics.
  if (topic.empty() || !plain_ascii(reinterpret_cast<const std::uint8_t*>(topic.data()), topic.size(), true)) {
    if (!r.check_utf8(topic)) return false;
    // An empty topic is allowed in 5.0 with a topic_alias: decided after the properties.
    if (r.v != Version::v5 || !topic.empty()) r.check_topic_name(topic, "MQTT-3.3.2-2");
  }
  if (qos) {
    const std::size_t at = r.pos;
    if (!r.u16(packet_id, "packet ends inside the packet identifier")) return false;
    if (packet_id == 0)
      r.defer(Errc::protocol_error, at, sid(r.v, "MQTT-2.3.1-1", "MQTT-2.2.1-3"), "packet identifier 0 in a QoS > 0 PUBLISH");
  }
  PropSummary sum;
  if (r.v == Version::v5) {
    if (!publish_properties_fast(r.base, r.pos, r.end, properties, sum)) {
      PropertiesView props;
      if (!r.properties(PacketType::publish, PropertyContext::packet, props, sum)) return false;
      properties = props.raw();
    }
    if (topic.empty() && !sum.topic_alias)
      r.defer(Errc::protocol_error, r.offset_of(topic) - 2, kNoId, "empty topic name without a topic_alias");  // 3.3.2.3.4
  }
  // The payload is the rest of the packet: never read, unless asked to be UTF-8.
  payload = std::string_view(reinterpret_cast<const char*>(r.base + r.pos), r.left());
  r.pos = r.end;
  r.check_payload_format(sum, payload);
  return true;
}

template <PacketType T>
bool decode_ack(Reader& r, BasicAck<ViewStorage, T>& a) {
  const std::size_t at = r.pos;
  if (!r.u16(a.packet_id, "packet ends inside the packet identifier")) return false;
  if (a.packet_id == 0)
    r.defer(Errc::protocol_error, at, sid(r.v, "MQTT-2.3.1-6", "MQTT-2.2.1-5"), "packet identifier 0 in an acknowledgement");
  if (r.v != Version::v5) return r.done();
  if (r.left() == 0) return true;  // 3.4.2.1: reason 0x00, no properties
  const std::size_t rc_at = r.pos;
  r.u8(a.reason_code, "");
  constexpr std::string_view spec = T == PacketType::puback   ? "MQTT-3.4.2-1"
                                    : T == PacketType::pubrec ? "MQTT-3.5.2-1"
                                    : T == PacketType::pubrel ? "MQTT-3.6.2-1"
                                                              : "MQTT-3.7.2-1";
  r.check_reason(a.reason_code, T, rc_at, spec);
  if (r.left() == 0) return true;  // remaining length 3: no property length
  PropSummary sum;
  if (!r.properties(T, PropertyContext::packet, a.properties, sum)) return false;
  return r.done();
}

bool decode_subscribe(Reader& r, SubscribeView& s) {
  const std::size_t at = r.pos;
  if (!r.u16(s.packet_id, "packet ends inside the packet identifier")) return false;
  if (s.packet_id == 0) r.defer(Errc::protocol_error, at, sid(r.v, "MQTT-2.3.1-1", "MQTT-2.2.1-3"), "packet identifier 0 in SUBSCRIBE");
  PropSummary sum;
  if (r.v == Version::v5 && !r.properties(PacketType::subscribe, PropertyContext::packet, s.properties, sum)) return false;
  if (r.left() == 0)
    r.defer(Errc::protocol_error, r.pos, sid(r.v, "MQTT-3.8.3-3", "MQTT-3.8.3-2"), "SUBSCRIBE without any topic filter");
  // Each subscription takes at least 4 bytes; reserve for that many, within reason.
  s.subscriptions.reserve(std::min<std::size_t>(r.left() / 4, 64));
  while (r.left()) {
    auto& sub = s.subscriptions.emplace_back();
    if (!r.utf8(sub.filter, "packet ends inside a topic filter")) return false;
    const std::size_t opt_at = r.pos;
    std::uint8_t o = 0;
    if (!r.u8(o, "packet ends before the subscription options")) return false;
    sub.options.qos = o & 0x03;
    if (r.v == Version::v5) {
      if (o & 0xC0) return r.fail(Errc::malformed_packet, opt_at, "MQTT-3.8.3-5", "reserved subscription option bits are not 0");
      sub.options.no_local = o & 0x04;
      sub.options.retain_as_published = o & 0x08;
      sub.options.retain_handling = (o >> 4) & 0x03;
      if (sub.options.qos == 3) r.defer(Errc::protocol_error, opt_at, kNoId, "subscription maximum QoS is 3");
      if (sub.options.retain_handling == 3) r.defer(Errc::protocol_error, opt_at, kNoId, "retain handling is 3");
    } else {
      if (o & 0xFC) return r.fail(Errc::malformed_packet, opt_at, "MQTT-3.8.3-4", "reserved subscription option bits are not 0");
      if (sub.options.qos == 3) return r.fail(Errc::malformed_packet, opt_at, "MQTT-3.8.3-4", "requested QoS is 3");
    }
    r.check_topic_filter(sub.filter);
    if (r.v == Version::v5 && sub.options.no_local && sub.filter.starts_with("$share/"))
      r.defer(Errc::protocol_error, opt_at, "MQTT-3.8.3-4", "no local set on a shared subscription");
  }
  return true;
}

template <PacketType T>
bool decode_suback_like(Reader& r, BasicSubackLike<ViewStorage, T>& s) {
  const std::size_t at = r.pos;
  if (!r.u16(s.packet_id, "packet ends inside the packet identifier")) return false;
  if (s.packet_id == 0)
    r.defer(Errc::protocol_error, at, sid(r.v, "MQTT-2.3.1-7", "MQTT-2.2.1-6"), "packet identifier 0 in an acknowledgement");
  if (T == PacketType::unsuback && r.v != Version::v5) return r.done();  // 3.1.1 3.11: no payload
  PropSummary sum;
  if (r.v == Version::v5 && !r.properties(T, PropertyContext::packet, s.properties, sum)) return false;
  constexpr bool sub = T == PacketType::suback;
  const std::string_view spec = sub ? "MQTT-3.9.3-2" : (r.v == Version::v5 ? "MQTT-3.11.3-2" : kNoId);
  if (r.left() == 0) r.defer(Errc::protocol_error, r.pos, spec, "acknowledgement without any reason code");
  s.reason_codes.reserve(r.left());
  while (r.left()) {
    const std::uint8_t c = r.base[r.pos];
    if (r.v == Version::v5) {
      r.check_reason(c, T, r.pos, spec);
    } else if (c > 2 && c != 0x80) {
      r.defer(Errc::protocol_error, r.pos, spec, "SUBACK return code other than 0x00, 0x01, 0x02, 0x80");
    }
    s.reason_codes.push_back(c);
    ++r.pos;
  }
  return true;
}

bool decode_unsubscribe(Reader& r, UnsubscribeView& u) {
  const std::size_t at = r.pos;
  if (!r.u16(u.packet_id, "packet ends inside the packet identifier")) return false;
  if (u.packet_id == 0) r.defer(Errc::protocol_error, at, sid(r.v, "MQTT-2.3.1-1", "MQTT-2.2.1-3"), "packet identifier 0 in UNSUBSCRIBE");
  PropSummary sum;
  if (r.v == Version::v5 && !r.properties(PacketType::unsubscribe, PropertyContext::packet, u.properties, sum)) return false;
  if (r.left() == 0) r.defer(Errc::protocol_error, r.pos, "MQTT-3.10.3-2", "UNSUBSCRIBE without any topic filter");
  u.filters.reserve(std::min<std::size_t>(r.left() / 3, 64));
  while (r.left()) {
    std::string_view f;
    if (!r.utf8(f, "packet ends inside a topic filter")) return false;
    r.check_topic_filter(f);
    u.filters.push_back(f);
  }
  return true;
}

template <PacketType T>
bool decode_reason_only(Reader& r, BasicReasonOnly<ViewStorage, T>& d) {
  if (r.left() == 0) return true;  // reason 0x00, no properties
  const std::size_t rc_at = r.pos;
  r.u8(d.reason_code, "");
  r.check_reason(d.reason_code, T, rc_at, T == PacketType::disconnect ? "MQTT-3.14.2-1" : "MQTT-3.15.2-1");
  if (r.left() == 0) return true;
  PropSummary sum;
  if (!r.properties(T, PropertyContext::packet, d.properties, sum)) return false;
  return r.done();
}

}  // namespace

FrameInfo peek_frame(Bytes in, std::uint32_t maximum_packet_size) {
  FrameInfo f;
  if (in.empty()) return f;
  if ((in[0] >> 4) == 0) {
    f.status = FrameInfo::Status::error;
    f.error = make_error(Errc::malformed_packet, 0, kNoId, "packet type 0 is reserved");
    return f;
  }
  const auto r = decode_varint(in.subspan(1));
  if (r.error) {
    f.status = FrameInfo::Status::error;
    f.error = r.error;
    f.error.offset += 1;
    return f;
  }
  if (r.consumed == 0) return f;
  const std::uint64_t size = 1 + std::uint64_t{r.consumed} + r.value;
  f.size = static_cast<std::uint32_t>(size);
  if (size > maximum_packet_size) {
    f.status = FrameInfo::Status::error;
    f.error = make_error(Errc::packet_too_large, 1, kNoId, "packet larger than the maximum packet size");
    return f;
  }
  f.status = in.size() >= size ? FrameInfo::Status::complete : FrameInfo::Status::need_more;
  return f;
}

namespace {
Result<PacketView> failure(const Error& e) {
  // Start from the smallest alternative: value-initialising the first one (CONNECT) costs.
  return Result<PacketView>{PacketView(std::in_place_type<PingreqView>), e};
}

// The hot path. Two costs to avoid, both seen in perf annotate of g++ 12 -O2:
// * copying a local PublishView into the variant as a whole: the caller's 16-byte loads
//   of fields just written with 8-byte stores stall (store forwarding); that was a third
//   of the 3.1.1 decode time;
// * aggregate-initialising the Result from mostly constant zeros (e.g. emplacing an empty
//   PublishView, Error{}): g++ then block-clears all 216 bytes of it first.
// So the PUBLISH is decoded into locals (kept in registers) and the result is built once,
// field by field, from runtime values.
Result<PacketView> publish_result(Reader& r, std::uint8_t flags) {
  std::string_view topic, properties, payload;
  std::uint16_t packet_id = 0;
  const bool ok = decode_publish(r, flags, topic, packet_id, properties, payload) && !r.err;
  return Result<PacketView>{
      PacketView(std::in_place_type<PublishView>,
                 PublishView{static_cast<bool>(flags & 0x08), static_cast<std::uint8_t>((flags >> 1) & 0x03),
                             static_cast<bool>(flags & 0x01), topic, packet_id, PropertiesView(properties), payload}),
      ok ? Error(r.deferred) : Error(r.err)};
}
Result<PacketView> other_result(Reader& r, PacketType type);

// Accept-only fast path for a whole PUBLISH, the packet a receiver sees most. Like
// publish_properties_fast it never reports: it accepts only packets the general decoder
// below would accept without any finding (remaining length of one or two bytes, flags
// valid, a non-empty plain-ASCII topic without wildcards, a non-zero packet identifier
// for QoS 1/2, a property block the property fast path accepts, a UTF-8 payload when the
// payload format indicator says so) and returns false for anything else, which the
// general decoder then parses from the first byte and reports. Everything stays in
// registers: no Reader, no error slots, no spills of the general path's state.
struct PublishFields {
  std::string_view topic;
  std::uint16_t packet_id = 0;
  std::string_view properties;
  std::string_view payload;
};
[[gnu::always_inline]] inline bool publish_fast(const std::uint8_t* d, std::size_t size, const DecodeOptions& options,
                                                PublishFields& f) {
  if (size < 2 || (d[0] >> 4) != static_cast<unsigned>(PacketType::publish)) return false;
  const std::uint8_t flags = d[0] & 0x0F;
  const unsigned qos = (flags >> 1) & 0x03;
  if (qos == 3 || ((flags & 0x08) && qos == 0)) return false;
  std::size_t pos;
  std::size_t remaining;
  if (!(d[1] & 0x80)) {
    remaining = d[1];
    pos = 2;
  } else {  // two bytes, minimal (second byte not 0)
    if (size < 3 || d[2] == 0 || (d[2] & 0x80)) return false;
    remaining = (d[1] & 0x7Fu) | (std::size_t{d[2]} << 7);
    pos = 3;
  }
  if (pos + remaining != size || size > options.maximum_packet_size) return false;
  const char* text = reinterpret_cast<const char*>(d);
  if (size - pos < 2) return false;
  const std::size_t topic_size = (std::size_t{d[pos]} << 8) | d[pos + 1];
  pos += 2;
  if (topic_size == 0 || size - pos < topic_size || !plain_ascii(d + pos, topic_size, true)) return false;
  f.topic = std::string_view(text + pos, topic_size);
  pos += topic_size;
  if (qos) {
    if (size - pos < 2) return false;
    f.packet_id = static_cast<std::uint16_t>((d[pos] << 8) | d[pos + 1]);
    if (f.packet_id == 0) return false;
    pos += 2;
  }
  PropSummary sum;
  if (options.version == Version::v5 && !publish_properties_fast(d, pos, size, f.properties, sum)) return false;
  f.payload = std::string_view(text + pos, size - pos);
  if (sum.payload_format == 1 && !f.payload.empty()) {
    std::size_t bad = 0;
    if (utf8_check(d + pos, size - pos, &bad, true)) return false;
  }
  return true;
}

Result<PacketView> decode_general(Bytes in, const DecodeOptions& options);

// Error{} through a call: in an aggregate initialiser a literal Error{} makes the
// initialiser "mostly zeros" to g++, which then clears all 216 bytes of the Result
// before storing the fields (see publish_result). The call is inlined afterwards.
[[gnu::always_inline]] inline Error no_error() { return Error{}; }
}  // namespace

Result<PacketView> decode(Bytes in, const DecodeOptions& options) {
  PublishFields f;
  if (publish_fast(in.data(), in.size(), options, f)) [[likely]] {
    const std::uint8_t flags = in[0] & 0x0F;
    // Braces, not C++20 parenthesised aggregate initialisation: clang 14 (fuzz build) lacks it.
    return Result<PacketView>{PacketView(std::in_place_type<PublishView>,
                                         PublishView{static_cast<bool>(flags & 0x08),
                                                     static_cast<std::uint8_t>((flags >> 1) & 0x03),
                                                     static_cast<bool>(flags & 0x01), f.topic, f.packet_id,
                                                     PropertiesView(f.properties), f.payload}),
                              no_error()};
  }
  return decode_general(in, options);
}

namespace {
[[gnu::noinline]] Result<PacketView> decode_general(Bytes in, const DecodeOptions& options) {
  const std::uint8_t* data = in.data();
  const std::size_t size = in.size();
  if (size < 2) return failure(make_error(Errc::malformed_packet, size, kNoId, "packet shorter than a fixed header"));
  const std::uint8_t b0 = data[0];
  const auto type = static_cast<PacketType>(b0 >> 4);
  const std::uint8_t flags = b0 & 0x0F;
  Version v = options.version;
  if (v == Version::v3_1) v = Version::v3_1_1;  // after CONNECT, 3.1 packets are laid out as 3.1.1
  // Remaining length: fast path for the common 1-byte case.
  std::uint32_t remaining;
  std::size_t header;
  if (!(data[1] & 0x80)) {
    remaining = data[1];
    header = 2;
  } else {
    const auto r = decode_varint(in.subspan(1));
    if (r.error) {
      Error e = r.error;
      e.offset += 1;
      if (v != Version::v5) e.spec = kNoId;
      return failure(e);
    }
    if (r.consumed == 0) return failure(make_error(Errc::malformed_packet, size, kNoId, "packet ends inside the remaining length"));
    remaining = r.value;
    header = 1 + r.consumed;
  }
  const std::uint64_t total = header + std::uint64_t{remaining};
  if (total > options.maximum_packet_size)
    return failure(make_error(Errc::packet_too_large, 1, kNoId, "packet larger than the maximum packet size"));
  if (size != total)
    return failure(size < total
                       ? make_error(Errc::malformed_packet, size, kNoId, "fewer bytes than the remaining length announces")
                       : make_error(Errc::malformed_packet, total, kNoId, "bytes after the end announced by the remaining length"));
  Reader r{data, header, size, v};
  if (type == PacketType::publish) return publish_result(r, flags);
  // Fixed-header flags (pass 1).
  const std::uint8_t want = (type == PacketType::pubrel || type == PacketType::subscribe || type == PacketType::unsubscribe) ? 2 : 0;
  if ((b0 >> 4) == 0) return failure(make_error(Errc::malformed_packet, 0, kNoId, "packet type 0 is reserved"));
  if (type == PacketType::auth && v != Version::v5)
    return failure(make_error(Errc::malformed_packet, 0, kNoId, "packet type 15 is reserved before MQTT 5"));
  if (flags != want)
    return failure(make_error(Errc::malformed_packet, 0, flag_spec(type, v), "reserved fixed-header flag bits have the wrong value"));
  return other_result(r, type);
}

Result<PacketView> other_result(Reader& r, PacketType type) {
  const Version v = r.v;
  Result<PacketView> out{PacketView(std::in_place_type<PingreqView>), Error{}};
  bool ok = true;
  switch (type) {
    case PacketType::publish: break;  // handled above
    case PacketType::connect: ok = decode_connect(r, out.value.emplace<ConnectView>()); break;
    case PacketType::connack: ok = decode_connack(r, out.value.emplace<ConnackView>()); break;
    case PacketType::puback: ok = decode_ack(r, out.value.emplace<PubackView>()); break;
    case PacketType::pubrec: ok = decode_ack(r, out.value.emplace<PubrecView>()); break;
    case PacketType::pubrel: ok = decode_ack(r, out.value.emplace<PubrelView>()); break;
    case PacketType::pubcomp: ok = decode_ack(r, out.value.emplace<PubcompView>()); break;
    case PacketType::subscribe: ok = decode_subscribe(r, out.value.emplace<SubscribeView>()); break;
    case PacketType::suback: ok = decode_suback_like(r, out.value.emplace<SubackView>()); break;
    case PacketType::unsubscribe: ok = decode_unsubscribe(r, out.value.emplace<UnsubscribeView>()); break;
    case PacketType::unsuback: ok = decode_suback_like(r, out.value.emplace<UnsubackView>()); break;
    case PacketType::pingreq:
      out.value.emplace<PingreqView>();
      ok = r.done();
      break;
    case PacketType::pingresp:
      out.value.emplace<PingrespView>();
      ok = r.done();
      break;
    case PacketType::disconnect:
      if (v == Version::v5) {
        ok = decode_reason_only(r, out.value.emplace<DisconnectView>());
      } else {
        out.value.emplace<DisconnectView>();
        ok = r.done();
      }
      break;
    case PacketType::auth: ok = decode_reason_only(r, out.value.emplace<AuthView>()); break;
  }
  if (!ok || r.err) {
    out.error = r.err;
    return out;
  }
  if (r.deferred) out.error = r.deferred;
  return out;
}

}  // namespace

}  // namespace mqtt
