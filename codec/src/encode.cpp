// Encoding: packet -> bytes, in two steps (size, then bytes) so callers encode straight
// into their own buffer. One emitter per packet type, run first with a counting sink
// and then with a writing sink, so the size and the bytes can never disagree.
//
// Only what makes bytes impossible is checked (lengths); protocol meaning is not, so the
// harness can send packets a peer ought to reject (QoS 3, packet id 0, bad flags...).
#include <limits>
#include <type_traits>

#include "internal.hpp"

namespace mqtt {
namespace {
using namespace detail;

struct Counter {
  std::size_t n = 0;
  void u8(std::uint8_t) { n += 1; }
  void u16(std::size_t) { n += 2; }
  void var(std::uint32_t v) { n += varint_size(v); }
  void raw(const void*, std::size_t k) { n += k; }
  void prop(const Property& p) { n += encode_property(p, nullptr); }
};

struct Writer {
  std::uint8_t* o;
  void u8(std::uint8_t b) { *o++ = b; }
  void u16(std::size_t v) {
    o[0] = static_cast<std::uint8_t>(v >> 8);
    o[1] = static_cast<std::uint8_t>(v);
    o += 2;
  }
  void var(std::uint32_t v) { o += encode_varint(v, o); }
  void raw(const void* p, std::size_t k) {
    if (k) std::memcpy(o, p, k);
    o += k;
  }
  void prop(const Property& p) { o += encode_property(p, o); }
};

Error too_large(std::string_view message) { return make_error(Errc::value_too_large, 0, {}, message); }

template <class Sink, class S>
Error put_str(Sink& s, const S& str) {
  if (str.size() > 0xFFFF) return too_large("string or binary data longer than 65535 bytes");
  s.u16(str.size());
  s.raw(str.data(), str.size());
  return {};
}

template <class Sink>
Error put_props(Sink& s, const PropertiesView& p) {
  if (p.raw().size() > kMaxRemainingLength) return too_large("property block too long");
  s.var(static_cast<std::uint32_t>(p.raw().size()));
  s.raw(p.raw().data(), p.raw().size());
  return {};
}

template <class Sink>
Error put_props(Sink& s, const Properties& p) {
  std::size_t n = 0;
  for (const auto& q : p) {
    const std::size_t k = encode_property(q, nullptr);
    if (k == std::numeric_limits<std::size_t>::max())
      return too_large("property cannot be encoded (unknown id, or value too long)");
    n += k;
  }
  if (n > kMaxRemainingLength) return too_large("property block too long");
  s.var(static_cast<std::uint32_t>(n));
  if constexpr (std::is_same_v<Sink, Counter>) {
    s.n += n;  // already measured above
  } else {
    for (const auto& q : p) s.prop(q);
  }
  return {};
}

template <class PL>
bool props_empty(const PL& p) { return p.empty(); }

#define MQTTH_TRY(expr) \
  do {                  \
    Error e_ = (expr);  \
    if (e_) return e_;  \
  } while (0)

// Each emitter writes the body (everything after the remaining length) and reports the
// fixed-header flags.
template <class Sink, class St>
Error body(Sink& s, const BasicConnect<St>& c, Version, std::uint8_t& flags) {
  flags = 0;
  // CONNECT carries its own version: the layout follows connect.protocol_version, like decode.
  const bool v5 = c.protocol_version == Version::v5;
  std::string_view name = c.protocol_name;
  if (name.empty()) name = c.protocol_version == Version::v3_1 ? "MQIsdp" : "MQTT";
  MQTTH_TRY(put_str(s, name));
  s.u8(static_cast<std::uint8_t>(c.protocol_version));
  std::uint8_t f = 0;
  if (c.username) f |= 0x80;
  if (c.password) f |= 0x40;
  if (c.will) {
    f |= 0x04;
    f |= static_cast<std::uint8_t>((c.will->qos & 3) << 3);
    if (c.will->retain) f |= 0x20;
  }
  if (c.clean_start) f |= 0x02;
  s.u8(f);
  s.u16(c.keep_alive);
  if (v5) MQTTH_TRY(put_props(s, c.properties));
  MQTTH_TRY(put_str(s, c.client_id));
  if (c.will) {
    if (v5) MQTTH_TRY(put_props(s, c.will->properties));
    MQTTH_TRY(put_str(s, c.will->topic));
    MQTTH_TRY(put_str(s, c.will->payload));
  }
  if (c.username) MQTTH_TRY(put_str(s, *c.username));
  if (c.password) MQTTH_TRY(put_str(s, *c.password));
  return {};
}

template <class Sink, class St>
Error body(Sink& s, const BasicConnack<St>& c, Version v, std::uint8_t& flags) {
  flags = 0;
  s.u8(c.session_present ? 1 : 0);
  s.u8(c.reason_code);
  if (v == Version::v5) MQTTH_TRY(put_props(s, c.properties));
  return {};
}

template <class Sink, class St>
Error body(Sink& s, const BasicPublish<St>& p, Version v, std::uint8_t& flags) {
  flags = static_cast<std::uint8_t>((p.dup ? 0x08 : 0) | ((p.qos & 3) << 1) | (p.retain ? 1 : 0));
  MQTTH_TRY(put_str(s, p.topic));
  if (p.qos) s.u16(p.packet_id);
  if (v == Version::v5) MQTTH_TRY(put_props(s, p.properties));
  s.raw(p.payload.data(), p.payload.size());
  return {};
}

template <class Sink, class St, PacketType T>
Error body(Sink& s, const BasicAck<St, T>& a, Version v, std::uint8_t& flags) {
  flags = T == PacketType::pubrel ? 2 : 0;
  s.u16(a.packet_id);
  if (v != Version::v5) return {};
  // 3.4.2.1 etc.: reason code and property length may be left out; use the shortest form.
  if (a.reason_code == 0 && props_empty(a.properties)) return {};
  s.u8(a.reason_code);
  if (props_empty(a.properties)) return {};
  return put_props(s, a.properties);
}

template <class Sink, class St>
Error body(Sink& s, const BasicSubscribe<St>& p, Version v, std::uint8_t& flags) {
  flags = 2;
  s.u16(p.packet_id);
  if (v == Version::v5) MQTTH_TRY(put_props(s, p.properties));
  for (const auto& sub : p.subscriptions) {
    MQTTH_TRY(put_str(s, sub.filter));
    std::uint8_t o = sub.options.qos & 3;
    if (v == Version::v5) {
      if (sub.options.no_local) o |= 0x04;
      if (sub.options.retain_as_published) o |= 0x08;
      o = static_cast<std::uint8_t>(o | ((sub.options.retain_handling & 3) << 4));
    }
    s.u8(o);
  }
  return {};
}

template <class Sink, class St, PacketType T>
Error body(Sink& s, const BasicSubackLike<St, T>& p, Version v, std::uint8_t& flags) {
  flags = 0;
  s.u16(p.packet_id);
  if (T == PacketType::unsuback && v != Version::v5) return {};  // 3.1.1: no payload
  if (v == Version::v5) MQTTH_TRY(put_props(s, p.properties));
  s.raw(p.reason_codes.data(), p.reason_codes.size());
  return {};
}

template <class Sink, class St>
Error body(Sink& s, const BasicUnsubscribe<St>& p, Version v, std::uint8_t& flags) {
  flags = 2;
  s.u16(p.packet_id);
  if (v == Version::v5) MQTTH_TRY(put_props(s, p.properties));
  for (const auto& f : p.filters) MQTTH_TRY(put_str(s, f));
  return {};
}

template <class Sink, class St, PacketType T>
Error body(Sink&, const BasicEmpty<St, T>&, Version, std::uint8_t& flags) {
  flags = 0;
  return {};
}

template <class Sink, class St, PacketType T>
Error body(Sink& s, const BasicReasonOnly<St, T>& p, Version v, std::uint8_t& flags) {
  flags = 0;
  if (v != Version::v5) return {};
  if (p.reason_code == 0 && props_empty(p.properties)) return {};
  s.u8(p.reason_code);
  // DISCONNECT may stop after the reason code (3.14.2.2.1); AUTH always has a property length.
  if (T == PacketType::disconnect && props_empty(p.properties)) return {};
  return put_props(s, p.properties);
}

template <class St>
Result<std::size_t> size_of(const BasicPacket<St>& packet, Version v, std::size_t* body_size, std::uint8_t* first) {
  Result<std::size_t> r;
  Counter c;
  std::uint8_t flags = 0;
  PacketType type{};
  r.error = std::visit(
      [&](const auto& p) {
        type = p.type;
        return body(c, p, v, flags);
      },
      packet);
  if (r.error) return r;
  if (c.n > kMaxRemainingLength) {
    r.error = too_large("remaining length above 268435455");
    return r;
  }
  *body_size = c.n;
  *first = static_cast<std::uint8_t>((static_cast<unsigned>(type) << 4) | flags);
  r.value = 1 + varint_size(static_cast<std::uint32_t>(c.n)) + c.n;
  return r;
}

template <class St>
Result<std::size_t> encode_impl(const BasicPacket<St>& packet, Version v, MutableBytes out) {
  std::size_t body_size = 0;
  std::uint8_t first = 0;
  auto r = size_of(packet, v, &body_size, &first);
  if (!r.ok()) return r;
  if (out.size() < r.value) {
    r.error = make_error(Errc::buffer_too_small, 0, {}, "output buffer smaller than encoded_size()");
    r.value = 0;
    return r;
  }
  Writer w{out.data()};
  w.u8(first);
  w.var(static_cast<std::uint32_t>(body_size));
  std::uint8_t flags = 0;
  std::visit([&](const auto& p) { return body(w, p, v, flags); }, packet);
  return r;
}

template <class St>
Result<std::string> to_string_impl(const BasicPacket<St>& packet, Version v) {
  Result<std::string> out;
  std::size_t body_size = 0;
  std::uint8_t first = 0;
  auto r = size_of(packet, v, &body_size, &first);
  if (!r.ok()) {
    out.error = r.error;
    return out;
  }
  out.value.resize(r.value);
  auto e = encode_impl(packet, v, MutableBytes(reinterpret_cast<std::uint8_t*>(out.value.data()), out.value.size()));
  if (!e.ok()) {
    out.value.clear();
    out.error = e.error;
  }
  return out;
}
}  // namespace

Result<std::size_t> encoded_size(const Packet& p, Version v) {
  std::size_t b = 0;
  std::uint8_t f = 0;
  return size_of(p, v, &b, &f);
}
Result<std::size_t> encoded_size(const PacketView& p, Version v) {
  std::size_t b = 0;
  std::uint8_t f = 0;
  return size_of(p, v, &b, &f);
}
Result<std::size_t> encode(const Packet& p, Version v, MutableBytes out) { return encode_impl(p, v, out); }
Result<std::size_t> encode(const PacketView& p, Version v, MutableBytes out) { return encode_impl(p, v, out); }
Result<std::string> encode_to_string(const Packet& p, Version v) { return to_string_impl(p, v); }
Result<std::string> encode_to_string(const PacketView& p, Version v) { return to_string_impl(p, v); }

}  // namespace mqtt
