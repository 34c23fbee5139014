// Property-based round trip: a seeded generator of VALID packets of every type and
// version; each survives encode -> decode -> encode unchanged, and the framer yields
// the same packets for random chunkings (1-byte included) as for the whole stream.
#include <gtest/gtest.h>

#include <random>

#include "test_util.hpp"

namespace mqtt::test {
namespace {

class Gen {
 public:
  explicit Gen(std::uint32_t seed) : rng_(seed) {}

  int range(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool coin() { return range(0, 1) == 1; }
  template <class T>
  T pick(std::initializer_list<T> list) {
    return *(list.begin() + range(0, static_cast<int>(list.size()) - 1));
  }

  // Valid UTF-8 without U+0000: ASCII mostly, some 2/3/4-byte sequences.
  std::string utf8(int max_chars, bool allow_empty = true) {
    const int n = range(allow_empty ? 0 : 1, max_chars);
    std::string s;
    for (int i = 0; i < n; ++i) {
      switch (range(0, 9)) {
        case 0: s += "\xC3\xA9"; break;                       // é
        case 1: s += "\xE2\x82\xAC"; break;                   // €
        case 2: s += "\xF0\x9F\x98\x80"; break;               // 😀
        case 3: s += "\xEF\xBB\xBF"; break;                   // BOM, kept as is
        default: s += static_cast<char>(range('a', 'z'));
      }
    }
    return s;
  }
  std::string binary(int max) {
    std::string s(static_cast<std::size_t>(range(0, max)), '\0');
    for (auto& c : s) c = static_cast<char>(range(0, 255));
    return s;
  }
  std::string topic() {
    std::string t = utf8(4, false);
    const int levels = range(0, 3);
    for (int i = 0; i < levels; ++i) t += "/" + utf8(4);
    if (range(0, 9) == 0) t = "$SYS/" + t;
    return t;
  }
  std::string filter(Version v) {
    std::string f;
    const int levels = range(1, 4);
    for (int i = 0; i < levels; ++i) {
      if (i) f += "/";
      const int k = range(0, 5);
      if (k == 0) f += "+";
      else if (k == 1 && i == levels - 1) f += "#";
      else f += utf8(4, false);
    }
    if (v == Version::v5 && range(0, 5) == 0) f = "$share/" + utf8(3, false) + "/" + f;
    return f;
  }

  Properties properties(PacketType type, PropertyContext ctx, Version v, int* payload_format = nullptr) {
    Properties p;
    if (v != Version::v5) return p;
    std::vector<PropertyId> ids;
    for (unsigned id = 1; id < 64; ++id) {
      const auto pid = static_cast<PropertyId>(id);
      if (property_type(static_cast<std::uint8_t>(id)) && property_allowed(pid, type, ctx)) ids.push_back(pid);
    }
    std::shuffle(ids.begin(), ids.end(), rng_);
    const int count = range(0, std::min<int>(5, static_cast<int>(ids.size())));
    bool auth_method = false;
    for (int i = 0; i < count; ++i) add(p, ids[static_cast<std::size_t>(i)], type, payload_format, auth_method);
    if (p.find(PropertyId::authentication_data) && !auth_method) p.add_string(PropertyId::authentication_method, utf8(6, false));
    return p;
  }

  void add(Properties& p, PropertyId id, PacketType type, int* payload_format, bool& auth_method) {
    const int repeat = (id == PropertyId::user_property ||
                        (id == PropertyId::subscription_identifier && type == PacketType::publish))
                           ? range(1, 3)
                           : 1;
    for (int r = 0; r < repeat; ++r) {
      switch (*property_type(static_cast<std::uint8_t>(id))) {
        case PropertyType::byte: {
          const auto value = static_cast<std::uint32_t>(range(0, 1));
          if (id == PropertyId::payload_format_indicator && payload_format) *payload_format = static_cast<int>(value);
          p.add_number(id, value);
          break;
        }
        case PropertyType::two_byte: p.add_number(id, static_cast<std::uint32_t>(range(1, 65535))); break;
        case PropertyType::four_byte:
          p.add_number(id, id == PropertyId::maximum_packet_size ? static_cast<std::uint32_t>(range(1, 1 << 30))
                                                                 : static_cast<std::uint32_t>(range(0, 1 << 30)) * 3u);
          break;
        case PropertyType::varint:
          p.add_number(id, pick<std::uint32_t>({1, 127, 128, 16383, 16384, 2097151, 2097152, 268435455,
                                                static_cast<std::uint32_t>(range(1, 268435455))}));
          break;
        case PropertyType::utf8:
          if (id == PropertyId::authentication_method) auth_method = true;
          p.add_string(id, id == PropertyId::response_topic ? topic() : utf8(8));
          break;
        case PropertyType::binary: p.add_string(id, binary(8)); break;
        case PropertyType::utf8_pair: p.add_user(utf8(5), utf8(5)); break;
      }
    }
  }

  std::uint16_t packet_id() { return static_cast<std::uint16_t>(range(1, 65535)); }
  std::uint8_t reason(PacketType t) {
    for (;;) {
      const auto c = static_cast<std::uint8_t>(range(0, 255));
      if (reason_code_allowed(c, t) && (range(0, 2) == 0 || c == 0)) return c;
    }
  }

  Packet packet(PacketType t, Version v) {
    const bool v5 = v == Version::v5;
    switch (t) {
      case PacketType::connect: {
        Connect c;
        c.protocol_version = v;
        c.protocol_name = v == Version::v3_1 ? "MQIsdp" : "MQTT";
        c.clean_start = coin();
        c.keep_alive = static_cast<std::uint16_t>(range(0, 65535));
        c.properties = properties(t, PropertyContext::packet, v);
        c.client_id = utf8(v == Version::v3_1 ? 5 : 23, v == Version::v3_1);
        if (v == Version::v3_1_1 && c.client_id.empty()) c.clean_start = true;
        if (v == Version::v3_1 && c.client_id.empty()) c.client_id = "c";
        if (coin()) {
          Will w;
          int pf = 0;
          w.properties = properties(t, PropertyContext::will, v, &pf);
          w.topic = topic();
          w.payload = pf == 1 ? utf8(10) : binary(10);
          w.qos = static_cast<std::uint8_t>(range(0, 2));
          w.retain = coin();
          c.will = w;
        }
        if (coin()) c.username = utf8(8);
        if (coin() && (v5 || c.username)) c.password = binary(8);
        return c;
      }
      case PacketType::connack: {
        Connack c;
        c.reason_code = v5 ? reason(t) : static_cast<std::uint8_t>(range(0, 5));
        c.session_present = c.reason_code == 0 && coin();
        c.properties = properties(t, PropertyContext::packet, v);
        return c;
      }
      case PacketType::publish: {
        Publish p;
        p.qos = static_cast<std::uint8_t>(range(0, 2));
        p.dup = p.qos > 0 && coin();
        p.retain = coin();
        p.topic = topic();
        if (p.qos) p.packet_id = packet_id();
        int pf = 0;
        p.properties = properties(t, PropertyContext::packet, v, &pf);
        p.payload = pf == 1 ? utf8(40) : binary(range(0, 5) == 0 ? 300 : 40);
        return p;
      }
      case PacketType::puback: return ack<PacketType::puback>(v);
      case PacketType::pubrec: return ack<PacketType::pubrec>(v);
      case PacketType::pubrel: return ack<PacketType::pubrel>(v);
      case PacketType::pubcomp: return ack<PacketType::pubcomp>(v);
      case PacketType::subscribe: {
        Subscribe s;
        s.packet_id = packet_id();
        s.properties = properties(t, PropertyContext::packet, v);
        const int n = range(1, 4);
        for (int i = 0; i < n; ++i) {
          Subscription sub;
          sub.filter = filter(v);
          sub.options.qos = static_cast<std::uint8_t>(range(0, 2));
          if (v5) {
            sub.options.no_local = !sub.filter.starts_with("$share/") && coin();
            sub.options.retain_as_published = coin();
            sub.options.retain_handling = static_cast<std::uint8_t>(range(0, 2));
          }
          s.subscriptions.push_back(sub);
        }
        return s;
      }
      case PacketType::suback: {
        Suback s;
        s.packet_id = packet_id();
        s.properties = properties(t, PropertyContext::packet, v);
        const int n = range(1, 5);
        for (int i = 0; i < n; ++i) s.reason_codes.push_back(v5 ? reason(t) : pick<std::uint8_t>({0, 1, 2, 0x80}));
        return s;
      }
      case PacketType::unsubscribe: {
        Unsubscribe u;
        u.packet_id = packet_id();
        u.properties = properties(t, PropertyContext::packet, v);
        const int n = range(1, 4);
        for (int i = 0; i < n; ++i) u.filters.push_back(filter(v));
        return u;
      }
      case PacketType::unsuback: {
        Unsuback u;
        u.packet_id = packet_id();
        u.properties = properties(t, PropertyContext::packet, v);
        if (v5) {
          const int n = range(1, 5);
          for (int i = 0; i < n; ++i) u.reason_codes.push_back(reason(t));
        }
        return u;
      }
      case PacketType::pingreq: return Pingreq{};
      case PacketType::pingresp: return Pingresp{};
      case PacketType::disconnect: {
        Disconnect d;
        if (v5) {
          d.reason_code = reason(t);
          d.properties = properties(t, PropertyContext::packet, v);
        }
        return d;
      }
      case PacketType::auth: {
        Auth a;
        a.reason_code = reason(t);
        a.properties = properties(t, PropertyContext::packet, v);
        return a;
      }
    }
    return Pingreq{};
  }

  template <PacketType T>
  Packet ack(Version v) {
    BasicAck<OwnedStorage, T> a;
    a.packet_id = packet_id();
    if (v == Version::v5) {
      a.reason_code = reason(T);
      a.properties = properties(T, PropertyContext::packet, v);
    }
    return a;
  }

  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
};

std::vector<PacketType> types_for(Version v) {
  std::vector<PacketType> out;
  const unsigned last = v == Version::v5 ? 15 : 14;
  for (unsigned t = 1; t <= last; ++t) out.push_back(static_cast<PacketType>(t));
  return out;
}

TEST(RoundTrip, thousands_of_valid_packets_of_every_type_and_version_survive_encode_decode_encode) {
  Gen gen(20261125);
  int checked = 0;
  for (Version v : {Version::v3_1_1, Version::v5}) {
    for (PacketType t : types_for(v)) {
      for (int i = 0; i < 300; ++i) {
        const Packet original = gen.packet(t, v);
        auto bytes = encode_to_string(original, v);
        ASSERT_TRUE(bytes.ok()) << to_string(t);
        auto size = encoded_size(original, v);
        ASSERT_EQ(size.value, bytes.value.size());
        auto decoded = decode(bytes.value, DecodeOptions{v});
        ASSERT_TRUE(decoded.ok()) << to_string(v) << " " << to_string(t) << ": " << to_string(decoded.error.code)
                                  << " at " << decoded.error.offset << " " << decoded.error.message << "\n"
                                  << to_hex(bytes.value);
        ASSERT_EQ(packet_type(decoded.value), t);
        const Packet owned = to_owned(decoded.value);
        ASSERT_TRUE(owned == original) << to_string(v) << " " << to_string(t) << "\n" << to_hex(bytes.value);
        auto again = encode_to_string(decoded.value, v);
        ASSERT_EQ(to_hex(again.value), to_hex(bytes.value));
        auto via_view = encode_to_string(to_view(original), v);
        ASSERT_EQ(to_hex(via_view.value), to_hex(bytes.value));
        ++checked;
      }
    }
  }
  // MQTT 3.1 CONNECT.
  for (int i = 0; i < 300; ++i) {
    const Packet original = gen.packet(PacketType::connect, Version::v3_1);
    auto bytes = encode_to_string(original, Version::v3_1);
    auto decoded = decode(bytes.value, DecodeOptions{Version::v3_1});
    ASSERT_TRUE(decoded.ok()) << decoded.error.message << " " << to_hex(bytes.value);
    ASSERT_TRUE(to_owned(decoded.value) == original);
    ++checked;
  }
  EXPECT_EQ(checked, 300 * (14 + 15 + 1));
}

TEST(RoundTrip, encode_into_a_short_buffer_is_buffer_too_small_and_exact_size_fits) {
  Gen gen(7);
  for (int i = 0; i < 200; ++i) {
    const Packet p = gen.packet(PacketType::publish, Version::v5);
    const std::size_t n = encoded_size(p, Version::v5).value;
    std::vector<std::uint8_t> buf(n);
    EXPECT_EQ(encode(p, Version::v5, MutableBytes(buf.data(), n - 1)).error.code, Errc::buffer_too_small);
    auto r = encode(p, Version::v5, MutableBytes(buf.data(), n));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value, n);
  }
}

TEST(RoundTrip, strings_longer_than_65535_bytes_are_value_too_large) {
  Publish p;
  p.topic = std::string(65536, 'a');
  EXPECT_EQ(encoded_size(Packet{p}, Version::v3_1_1).error.code, Errc::value_too_large);
  p.topic = std::string(65535, 'a');
  EXPECT_TRUE(encoded_size(Packet{p}, Version::v3_1_1).ok());
}

TEST(RoundTrip, encoder_writes_invalid_packets_on_purpose) {
  // The harness must be able to send what a peer ought to reject.
  Publish p;
  p.qos = 3;
  p.topic = "a/#";
  p.packet_id = 0;
  auto bytes = encode_to_string(Packet{p}, Version::v3_1_1);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(to_hex(bytes.value), "3607" "0003612f23" "0000");
  EXPECT_EQ(decode(bytes.value, DecodeOptions{Version::v3_1_1}).error.code, Errc::malformed_packet);
}

TEST(Framer, random_chunkings_yield_the_same_packets_as_the_whole_stream) {
  Gen gen(99);
  for (Version v : {Version::v3_1_1, Version::v5}) {
    std::string stream;
    std::vector<std::string> packets;
    for (int i = 0; i < 400; ++i) {
      const auto types = types_for(v);
      const auto t = types[static_cast<std::size_t>(gen.range(0, static_cast<int>(types.size()) - 1))];
      auto bytes = encode_to_string(gen.packet(t, v), v);
      packets.push_back(bytes.value);
      stream += bytes.value;
    }
    for (int round = 0; round < 8; ++round) {
      Framer framer;
      std::vector<std::string> got;
      std::size_t at = 0;
      while (at < stream.size()) {
        const std::size_t n = round == 0 ? 1 : std::min<std::size_t>(stream.size() - at, static_cast<std::size_t>(gen.range(1, 300)));
        framer.feed(std::string_view(stream).substr(at, n));
        at += n;
        for (;;) {
          auto f = framer.next();
          ASSERT_NE(f.status, FrameInfo::Status::error) << f.error.message;
          if (f.status == FrameInfo::Status::need_more) break;
          got.emplace_back(reinterpret_cast<const char*>(f.packet.data()), f.packet.size());
          ASSERT_TRUE(decode(f.packet, DecodeOptions{v}).ok());
        }
      }
      EXPECT_EQ(got, packets) << "round " << round;
      EXPECT_EQ(framer.stream_offset(), stream.size());
      EXPECT_EQ(framer.buffered(), 0u);
    }
  }
}

}  // namespace
}  // namespace mqtt::test
