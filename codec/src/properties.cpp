// MQTT 5 properties (2.2.2.2, table 2-4): identifiers, types, where each may appear.
#include <array>
#include <limits>

#include "internal.hpp"

namespace mqtt {
namespace detail {
namespace {
constexpr std::uint32_t bit(PacketType t) { return 1u << static_cast<unsigned>(t); }
constexpr std::uint32_t kPubAcks = bit(PacketType::puback) | bit(PacketType::pubrec) |
                                   bit(PacketType::pubrel) | bit(PacketType::pubcomp);
constexpr std::uint32_t kAllButPing = bit(PacketType::connect) | bit(PacketType::connack) |
                                      bit(PacketType::publish) | kPubAcks | bit(PacketType::subscribe) |
                                      bit(PacketType::suback) | bit(PacketType::unsubscribe) |
                                      bit(PacketType::unsuback) | bit(PacketType::disconnect) |
                                      bit(PacketType::auth);

struct Row {
  std::uint8_t id;
  PropertyType type;
  std::string_view name;
  std::uint32_t packets;
  bool will;
};
using PT = PropertyType;
using P = PacketType;
constexpr Row kRows[] = {
    {0x01, PT::byte, "payload_format_indicator", bit(P::publish), true},
    {0x02, PT::four_byte, "message_expiry_interval", bit(P::publish), true},
    {0x03, PT::utf8, "content_type", bit(P::publish), true},
    {0x08, PT::utf8, "response_topic", bit(P::publish), true},
    {0x09, PT::binary, "correlation_data", bit(P::publish), true},
    {0x0B, PT::varint, "subscription_identifier", bit(P::publish) | bit(P::subscribe), false},
    {0x11, PT::four_byte, "session_expiry_interval", bit(P::connect) | bit(P::connack) | bit(P::disconnect), false},
    {0x12, PT::utf8, "assigned_client_identifier", bit(P::connack), false},
    {0x13, PT::two_byte, "server_keep_alive", bit(P::connack), false},
    {0x15, PT::utf8, "authentication_method", bit(P::connect) | bit(P::connack) | bit(P::auth), false},
    {0x16, PT::binary, "authentication_data", bit(P::connect) | bit(P::connack) | bit(P::auth), false},
    {0x17, PT::byte, "request_problem_information", bit(P::connect), false},
    {0x18, PT::four_byte, "will_delay_interval", 0, true},
    {0x19, PT::byte, "request_response_information", bit(P::connect), false},
    {0x1A, PT::utf8, "response_information", bit(P::connack), false},
    {0x1C, PT::utf8, "server_reference", bit(P::connack) | bit(P::disconnect), false},
    {0x1F, PT::utf8, "reason_string",
     bit(P::connack) | kPubAcks | bit(P::suback) | bit(P::unsuback) | bit(P::disconnect) | bit(P::auth), false},
    {0x21, PT::two_byte, "receive_maximum", bit(P::connect) | bit(P::connack), false},
    {0x22, PT::two_byte, "topic_alias_maximum", bit(P::connect) | bit(P::connack), false},
    {0x23, PT::two_byte, "topic_alias", bit(P::publish), false},
    {0x24, PT::byte, "maximum_qos", bit(P::connack), false},
    {0x25, PT::byte, "retain_available", bit(P::connack), false},
    {0x26, PT::utf8_pair, "user_property", kAllButPing, true},
    {0x27, PT::four_byte, "maximum_packet_size", bit(P::connect) | bit(P::connack), false},
    {0x28, PT::byte, "wildcard_subscription_available", bit(P::connack), false},
    {0x29, PT::byte, "subscription_identifier_available", bit(P::connack), false},
    {0x2A, PT::byte, "shared_subscription_available", bit(P::connack), false},
};


std::uint8_t* put16(std::uint8_t* o, std::size_t v) {
  o[0] = static_cast<std::uint8_t>(v >> 8);
  o[1] = static_cast<std::uint8_t>(v);
  return o + 2;
}

constexpr std::array<PropertyInfo, 256> build_table() {
  std::array<PropertyInfo, 256> t{};
  for (const auto& r : kRows) t[r.id] = PropertyInfo{true, r.type, r.name, r.packets, r.will};
  return t;
}
constexpr std::array<PropertyInfo, 256> kBuilt = build_table();
}  // namespace

// A plain array so that decode can index it inline; filled at compile time.
const PropertyInfo kPropertyTable[256] = {
#define MQTTH_ROW(i) kBuilt[i]
#define MQTTH_ROW8(i) MQTTH_ROW(i), MQTTH_ROW(i + 1), MQTTH_ROW(i + 2), MQTTH_ROW(i + 3), MQTTH_ROW(i + 4), MQTTH_ROW(i + 5), MQTTH_ROW(i + 6), MQTTH_ROW(i + 7)
#define MQTTH_ROW64(i) MQTTH_ROW8(i), MQTTH_ROW8(i + 8), MQTTH_ROW8(i + 16), MQTTH_ROW8(i + 24), MQTTH_ROW8(i + 32), MQTTH_ROW8(i + 40), MQTTH_ROW8(i + 48), MQTTH_ROW8(i + 56)
    MQTTH_ROW64(0), MQTTH_ROW64(64), MQTTH_ROW64(128), MQTTH_ROW64(192)
#undef MQTTH_ROW64
#undef MQTTH_ROW8
#undef MQTTH_ROW
};

namespace {
template <class S>
std::size_t encode_any_property(const BasicProperty<S>& p, std::uint8_t* out) {
  const auto& info = property_info(static_cast<std::uint8_t>(p.id));
  if (!info.known) return std::numeric_limits<std::size_t>::max();
  std::size_t n = 1;
  switch (info.type) {
    case PT::byte: n += 1; break;
    case PT::two_byte: n += 2; break;
    case PT::four_byte: n += 4; break;
    case PT::varint:
      if (p.number > kMaxRemainingLength) return std::numeric_limits<std::size_t>::max();
      n += varint_size(p.number);
      break;
    case PT::utf8:
    case PT::binary:
      if (p.value.size() > 0xFFFF) return std::numeric_limits<std::size_t>::max();
      n += 2 + p.value.size();
      break;
    case PT::utf8_pair:
      if (p.value.size() > 0xFFFF || p.key.size() > 0xFFFF) return std::numeric_limits<std::size_t>::max();
      n += 4 + p.key.size() + p.value.size();
      break;
  }
  if (!out) return n;
  std::uint8_t* o = out;
  *o++ = static_cast<std::uint8_t>(p.id);
  switch (info.type) {
    case PT::byte: *o++ = static_cast<std::uint8_t>(p.number); break;
    case PT::two_byte: o = put16(o, p.number & 0xFFFF); break;
    case PT::four_byte:
      o[0] = static_cast<std::uint8_t>(p.number >> 24);
      o[1] = static_cast<std::uint8_t>(p.number >> 16);
      o[2] = static_cast<std::uint8_t>(p.number >> 8);
      o[3] = static_cast<std::uint8_t>(p.number);
      o += 4;
      break;
    case PT::varint: o += encode_varint(p.number, o); break;
    case PT::utf8:
    case PT::binary:
      o = put16(o, p.value.size());
      if (!p.value.empty()) std::memcpy(o, p.value.data(), p.value.size());
      o += p.value.size();
      break;
    case PT::utf8_pair:
      o = put16(o, p.key.size());
      if (!p.key.empty()) std::memcpy(o, p.key.data(), p.key.size());
      o += p.key.size();
      o = put16(o, p.value.size());
      if (!p.value.empty()) std::memcpy(o, p.value.data(), p.value.size());
      o += p.value.size();
      break;
  }
  return static_cast<std::size_t>(o - out);
}
}  // namespace

std::size_t encode_property(const Property& p, std::uint8_t* out) { return encode_any_property(p, out); }
}  // namespace detail

bool append_property(std::string& raw, const PropertyView& property) {
  const std::size_t n = detail::encode_any_property(property, nullptr);
  if (n == std::numeric_limits<std::size_t>::max()) return false;
  const std::size_t at = raw.size();
  raw.resize(at + n);
  detail::encode_any_property(property, reinterpret_cast<std::uint8_t*>(raw.data() + at));
  return true;
}

std::optional<PropertyType> property_type(std::uint8_t id) {
  const auto& info = detail::property_info(id);
  if (!info.known) return std::nullopt;
  return info.type;
}

std::string_view property_name(PropertyId id) { return detail::property_info(static_cast<std::uint8_t>(id)).name; }

std::optional<PropertyId> parse_property_name(std::string_view name) {
  if (name.empty()) return std::nullopt;
  for (unsigned i = 0; i < 256; ++i) {
    const auto& info = detail::property_info(static_cast<std::uint8_t>(i));
    if (info.known && info.name == name) return static_cast<PropertyId>(i);
  }
  return std::nullopt;
}

bool property_allowed(PropertyId id, PacketType type, PropertyContext ctx) {
  const auto& info = detail::property_info(static_cast<std::uint8_t>(id));
  if (!info.known) return false;
  if (ctx == PropertyContext::will) return info.will;
  return (info.packets >> static_cast<unsigned>(type)) & 1u;
}

// ---------------------------------------------------------------------------------------
// PropertiesView: the raw block was validated by decode(); still, never read past it.
void PropertiesView::iterator::load() {
  size_ = 0;
  current_ = PropertyView{};
  if (rest_.empty()) return;
  const auto* p = reinterpret_cast<const std::uint8_t*>(rest_.data());
  const std::size_t n = rest_.size();
  auto fail = [&] {
    rest_ = rest_.substr(rest_.size());
    size_ = 0;
    current_ = PropertyView{};
  };
  const auto& info = detail::property_info(p[0]);
  if (!info.known) return fail();
  current_.id = static_cast<PropertyId>(p[0]);
  std::size_t i = 1;
  auto str = [&](std::string_view& out) -> bool {
    if (n - i < 2) return false;
    const std::size_t len = (std::size_t{p[i]} << 8) | p[i + 1];
    i += 2;
    if (n - i < len) return false;
    out = rest_.substr(i, len);
    i += len;
    return true;
  };
  switch (info.type) {
    case PropertyType::byte:
      if (n - i < 1) return fail();
      current_.number = p[i];
      i += 1;
      break;
    case PropertyType::two_byte:
      if (n - i < 2) return fail();
      current_.number = (std::uint32_t{p[i]} << 8) | p[i + 1];
      i += 2;
      break;
    case PropertyType::four_byte:
      if (n - i < 4) return fail();
      current_.number = (std::uint32_t{p[i]} << 24) | (std::uint32_t{p[i + 1]} << 16) |
                        (std::uint32_t{p[i + 2]} << 8) | p[i + 3];
      i += 4;
      break;
    case PropertyType::varint: {
      auto r = decode_varint(Bytes(p + i, n - i));
      if (r.error || r.consumed == 0) return fail();
      current_.number = r.value;
      i += r.consumed;
      break;
    }
    case PropertyType::utf8:
    case PropertyType::binary:
      if (!str(current_.value)) return fail();
      break;
    case PropertyType::utf8_pair:
      if (!str(current_.key) || !str(current_.value)) return fail();
      break;
  }
  size_ = i;
}

std::optional<PropertyView> PropertiesView::find(PropertyId id) const {
  for (const auto& p : *this)
    if (p.id == id) return p;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Properties (owning)
Properties& Properties::add_number(PropertyId id, std::uint32_t value) {
  Property p;
  p.id = id;
  p.number = value;
  list_.push_back(std::move(p));
  return *this;
}

Properties& Properties::add_string(PropertyId id, std::string value) {
  Property p;
  p.id = id;
  p.value = std::move(value);
  list_.push_back(std::move(p));
  return *this;
}

Properties& Properties::add_user(std::string key, std::string value) {
  Property p;
  p.id = PropertyId::user_property;
  p.key = std::move(key);
  p.value = std::move(value);
  list_.push_back(std::move(p));
  return *this;
}

std::optional<Property> Properties::find(PropertyId id) const {
  for (const auto& p : list_)
    if (p.id == id) return p;
  return std::nullopt;
}

void Properties::erase(PropertyId id) {
  std::erase_if(list_, [id](const Property& p) { return p.id == id; });
}

std::string_view Properties::encoded() const {
  encoded_cache_.clear();
  for (const auto& p : list_)  // one that cannot be encoded is skipped
    append_property(encoded_cache_, PropertyView{p.id, p.number, p.key, p.value});
  return encoded_cache_;
}

}  // namespace mqtt
