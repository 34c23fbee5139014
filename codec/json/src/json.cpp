// MQTT packets <-> JSON. The mapping is documented in docs/decode-json.md; keep the two in
// step.
#include "mqtt/json.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <type_traits>
#include <utility>
#include <vector>

namespace mqtt {
namespace {

constexpr std::uint32_t kMaxVarint = 268'435'455;  // 1.5.5 / 2.2.3

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

bool is_v5(Version v) { return v == Version::v5; }

// user_property and subscription_identifier may appear more than once (3.3.2.3.7,
// 3.3.2.3.8); every other property at most once (2.2.2.2), so it maps to one value.
bool repeatable(PropertyId id) {
  return id == PropertyId::user_property || id == PropertyId::subscription_identifier;
}

// ---------------------------------------------------------------------------------------
// Packet -> JSON

struct PropertiesJson {
  Json object = Json::object();
  Json order;  // null unless the wire order cannot be read back from `object`
};

PropertiesJson properties_to_json(const PropertiesView& properties) {
  PropertiesJson out;
  std::vector<std::string_view> wire_order;
  for (const PropertyView& p : properties) {
    const std::string name(property_name(p.id));
    wire_order.push_back(property_name(p.id));
    const auto type = property_type(static_cast<std::uint8_t>(p.id));
    Json value;
    switch (type.value_or(PropertyType::four_byte)) {
      case PropertyType::utf8_pair: value = Json::array({std::string(p.key), std::string(p.value)}); break;
      case PropertyType::binary: value = to_hex(p.value); break;
      case PropertyType::utf8: value = std::string(p.value); break;
      default: value = p.number; break;
    }
    if (repeatable(p.id)) {
      if (!out.object.contains(name)) out.object[name] = Json::array();
      out.object[name].push_back(std::move(value));
    } else {
      out.object[name] = std::move(value);
    }
  }
  // Reading the object back emits each key's properties together, at the key's first
  // position; if that is not the wire order, say what the wire order was.
  std::vector<std::string_view> grouped;
  for (const auto& [key, value] : out.object.items()) {
    const auto id = *parse_property_name(key);
    const std::size_t n = repeatable(id) ? value.size() : 1;
    for (std::size_t i = 0; i < n; ++i) grouped.push_back(property_name(id));
  }
  if (grouped != wire_order) {
    out.order = Json::array();
    for (auto name : wire_order) out.order.push_back(std::string(name));
  }
  return out;
}

void put_properties(Json& j, const PropertiesView& properties) {
  auto p = properties_to_json(properties);
  j["properties"] = std::move(p.object);
  if (!p.order.is_null()) j["property_order"] = std::move(p.order);
}

void put_reason(Json& j, std::uint8_t code, PacketType type, Version version) {
  j["reason_code"] = code;
  const auto name = reason_code_name(code, type, version);
  if (!name.empty()) j["reason"] = std::string(name);
}

Json reasons_json(const std::vector<std::uint8_t>& codes, PacketType type, Version version) {
  Json names = Json::array();
  for (auto c : codes) {
    const auto name = reason_code_name(c, type, version);
    names.push_back(name.empty() ? Json(nullptr) : Json(std::string(name)));
  }
  return names;
}

Json connect_json(const ConnectView& c) {
  const bool v5 = is_v5(c.protocol_version);
  Json j;
  j["type"] = "CONNECT";
  j["protocol_name"] = std::string(c.protocol_name);
  j["protocol_version"] = static_cast<int>(c.protocol_version);
  j["clean_start"] = c.clean_start;
  j["keep_alive"] = c.keep_alive;
  if (v5) put_properties(j, c.properties);
  j["client_id"] = std::string(c.client_id);
  if (c.will) {
    Json w;
    w["topic"] = std::string(c.will->topic);
    w["payload_hex"] = to_hex(c.will->payload);
    w["qos"] = c.will->qos;
    w["retain"] = c.will->retain;
    if (v5) put_properties(w, c.will->properties);
    j["will"] = std::move(w);
  }
  if (c.username) j["username"] = std::string(*c.username);
  if (c.password) j["password_hex"] = to_hex(*c.password);
  return j;
}

Json packet_json(const PacketView& packet, Version version) {
  const bool v5 = is_v5(version);
  Json j;
  j["type"] = std::string(to_string(packet_type(packet)));
  std::visit(
      Overloaded{
          [&](const ConnectView& c) { j = connect_json(c); },
          [&](const ConnackView& c) {
            j["session_present"] = c.session_present;
            put_reason(j, c.reason_code, PacketType::connack, version);
            if (v5) put_properties(j, c.properties);
          },
          [&](const PublishView& p) {
            j["dup"] = p.dup;
            j["qos"] = p.qos;
            j["retain"] = p.retain;
            j["topic"] = std::string(p.topic);
            if (p.qos > 0) j["packet_id"] = p.packet_id;
            if (v5) put_properties(j, p.properties);
            j["payload_hex"] = to_hex(p.payload);
          },
          [&](const SubscribeView& s) {
            j["packet_id"] = s.packet_id;
            if (v5) put_properties(j, s.properties);
            Json subs = Json::array();
            for (const auto& sub : s.subscriptions) {
              Json one;
              one["filter"] = std::string(sub.filter);
              one["qos"] = sub.options.qos;
              if (v5) {
                one["no_local"] = sub.options.no_local;
                one["retain_as_published"] = sub.options.retain_as_published;
                one["retain_handling"] = sub.options.retain_handling;
              }
              subs.push_back(std::move(one));
            }
            j["subscriptions"] = std::move(subs);
          },
          [&](const UnsubscribeView& u) {
            j["packet_id"] = u.packet_id;
            if (v5) put_properties(j, u.properties);
            Json filters = Json::array();
            for (auto f : u.filters) filters.push_back(std::string(f));
            j["filters"] = std::move(filters);
          },
          [&]<class T>(const T& p) {
            constexpr PacketType type = T::type;
            if constexpr (type == PacketType::puback || type == PacketType::pubrec ||
                          type == PacketType::pubrel || type == PacketType::pubcomp) {
              j["packet_id"] = p.packet_id;
              if (v5) {
                put_reason(j, p.reason_code, type, version);
                put_properties(j, p.properties);
              }
            } else if constexpr (type == PacketType::suback || type == PacketType::unsuback) {
              j["packet_id"] = p.packet_id;
              if (v5) put_properties(j, p.properties);
              if (v5 || type == PacketType::suback) {
                Json codes = Json::array();
                for (auto c : p.reason_codes) codes.push_back(c);
                j["reason_codes"] = std::move(codes);
                j["reasons"] = reasons_json(p.reason_codes, type, version);
              }
            } else if constexpr (type == PacketType::disconnect || type == PacketType::auth) {
              if (v5 || type == PacketType::auth) {
                put_reason(j, p.reason_code, type, Version::v5);
                put_properties(j, p.properties);
              }
            }
            // PINGREQ, PINGRESP: the type is all there is.
            (void)p;
          }},
      packet);
  return j;
}

Version encoding_version(const PacketView& packet, Version version) {
  if (const auto* c = std::get_if<ConnectView>(&packet)) return c->protocol_version;
  return version;
}

// ---------------------------------------------------------------------------------------
// JSON -> packet

std::string pointer_escape(std::string_view key) {
  std::string out;
  for (char ch : key) {
    if (ch == '~') out += "~0";
    else if (ch == '/') out += "~1";
    else out += ch;
  }
  return out;
}

std::string type_name(const Json& j) { return j.type_name(); }

bool integer_value(const Json& v, std::uint64_t max, std::uint32_t& out) {
  if (!v.is_number_integer()) return false;
  if (!v.is_number_unsigned() && v.get<std::int64_t>() < 0) return false;
  if (v.get<std::uint64_t>() > max) return false;
  out = static_cast<std::uint32_t>(v.get<std::uint64_t>());
  return true;
}

// Keys that exist only in MQTT 5; named in the error when they appear in a 3.1.1 packet.
bool v5_only_key(std::string_view key) {
  static constexpr std::array keys{
      std::string_view("properties"), std::string_view("property_order"),
      std::string_view("reason_code"), std::string_view("reason"),
      std::string_view("reason_codes"), std::string_view("reasons"),
      std::string_view("no_local"), std::string_view("retain_as_published"),
      std::string_view("retain_handling"), std::string_view("remaining_length")};
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Reads one JSON object, remembering which keys were used so leftovers are reported.
class ObjectReader {
 public:
  ObjectReader(const Json& j, std::string path, std::optional<JsonError>& error, Version version)
      : j_(j), path_(std::move(path)), error_(error), version_(version) {
    if (!j_.is_object()) fail(path_, "must be an object, not " + type_name(j_));
  }

  bool ok() const { return !error_; }
  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const { return path_ + "/" + pointer_escape(key); }
  Version version() const { return version_; }

  bool fail(const std::string& path, std::string message) {
    if (!error_) error_ = JsonError{path, std::move(message)};
    return false;
  }

  const Json* get(std::string_view key) {
    if (!ok() || !j_.is_object()) return nullptr;
    auto it = j_.find(std::string(key));
    if (it == j_.end()) return nullptr;
    used_.emplace_back(key);
    return &*it;
  }
  bool has(std::string_view key) const { return j_.is_object() && j_.contains(std::string(key)); }

  bool require(std::string_view key) {
    if (!ok()) return false;
    if (!has(key)) return fail(path_of(key), "missing required key '" + std::string(key) + "'");
    return true;
  }

  template <class T>
  bool integer(std::string_view key, T& out, std::uint64_t max) {
    const Json* v = get(key);
    if (!v) return ok();
    std::uint32_t value = 0;
    if (!integer_value(*v, max, value)) return fail(path_of(key), "must be an integer 0.." + std::to_string(max));
    out = static_cast<T>(value);
    return true;
  }
  bool boolean(std::string_view key, bool& out) {
    const Json* v = get(key);
    if (!v) return ok();
    if (!v->is_boolean()) return fail(path_of(key), "must be true or false, not " + type_name(*v));
    out = v->get<bool>();
    return true;
  }
  bool string(std::string_view key, std::string& out) {
    const Json* v = get(key);
    if (!v) return ok();
    if (!v->is_string()) return fail(path_of(key), "must be a string, not " + type_name(*v));
    out = v->get<std::string>();
    return true;
  }
  bool hex(std::string_view key, std::string& out) {
    const Json* v = get(key);
    if (!v) return ok();
    if (!v->is_string()) return fail(path_of(key), "must be a hex string, not " + type_name(*v));
    auto bytes = parse_hex(v->get_ref<const std::string&>());
    if (!bytes) return fail(path_of(key), "is not hex (pairs of 0-9a-f, spaces allowed)");
    out = std::move(*bytes);
    return true;
  }

  // Every key of the object must have been read.
  bool finish() {
    if (!ok()) return false;
    for (const auto& [key, value] : j_.items()) {
      if (std::find(used_.begin(), used_.end(), key) != used_.end()) continue;
      if (!is_v5(version_) && v5_only_key(key))
        return fail(path_of(key), "'" + key + "' does not exist in MQTT 3.1.1");
      return fail(path_of(key), "unknown key '" + key + "'");
    }
    return true;
  }

 private:
  const Json& j_;
  std::string path_;
  std::optional<JsonError>& error_;
  Version version_;
  std::vector<std::string> used_;
};

std::uint64_t max_of(PropertyType type) {
  switch (type) {
    case PropertyType::byte: return 0xFF;
    case PropertyType::two_byte: return 0xFFFF;
    case PropertyType::four_byte: return 0xFFFF'FFFF;
    case PropertyType::varint: return kMaxVarint;
    default: return 0;
  }
}

// `properties` (and `property_order`) of the object read by `r`.
bool read_properties(ObjectReader& r, Properties& out) {
  const Json* props = r.get("properties");
  const Json* order = r.get("property_order");
  if (!r.ok()) return false;
  if (!props) {
    if (order) return r.fail(r.path_of("property_order"), "given without 'properties'");
    return true;
  }
  const std::string base = r.path_of("properties");
  if (!props->is_object()) return r.fail(base, "must be an object keyed by property name, not " + type_name(*props));

  // Per name, the properties in the order they are listed.
  std::vector<std::pair<std::string, std::vector<Property>>> by_name;
  for (const auto& [key, value] : props->items()) {
    const std::string path = base + "/" + pointer_escape(key);
    const auto id = parse_property_name(key);
    if (!id) return r.fail(path, "unknown property '" + key + "'");
    const auto type = property_type(static_cast<std::uint8_t>(*id));
    std::vector<Property> list;
    auto one = [&](const Json& v, const std::string& at) -> bool {
      Property p;
      p.id = *id;
      switch (*type) {
        case PropertyType::utf8_pair:
          if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_string())
            return r.fail(at, "must be a [key, value] pair of strings");
          p.key = v[0].get<std::string>();
          p.value = v[1].get<std::string>();
          break;
        case PropertyType::utf8:
          if (!v.is_string()) return r.fail(at, "must be a string, not " + type_name(v));
          p.value = v.get<std::string>();
          break;
        case PropertyType::binary: {
          if (!v.is_string()) return r.fail(at, "must be a hex string, not " + type_name(v));
          auto bytes = parse_hex(v.get_ref<const std::string&>());
          if (!bytes) return r.fail(at, "is not hex (pairs of 0-9a-f, spaces allowed)");
          p.value = std::move(*bytes);
          break;
        }
        default:
          if (!integer_value(v, max_of(*type), p.number))
            return r.fail(at, "must be an integer 0.." + std::to_string(max_of(*type)));
      }
      list.push_back(std::move(p));
      return true;
    };
    // A repeatable property is a list; a single value is accepted for convenience
    // (a single user property is recognised as a pair of strings).
    const bool single = !value.is_array() ||
                        (*id == PropertyId::user_property && !value.empty() && value[0].is_string());
    if (repeatable(*id) && !single) {
      for (std::size_t i = 0; i < value.size(); ++i)
        if (!one(value[i], path + "/" + std::to_string(i))) return false;
    } else if (!one(value, path)) {
      return false;
    }
    by_name.emplace_back(key, std::move(list));
  }

  if (!order) {
    for (auto& [name, list] : by_name)
      for (auto& p : list) out.push_back(std::move(p));
    return true;
  }
  const std::string order_path = r.path_of("property_order");
  if (!order->is_array()) return r.fail(order_path, "must be a list of property names");
  std::vector<std::size_t> taken(by_name.size(), 0);
  for (std::size_t i = 0; i < order->size(); ++i) {
    const Json& name = (*order)[i];
    const std::string at = order_path + "/" + std::to_string(i);
    if (!name.is_string()) return r.fail(at, "must be a property name");
    auto it = std::find_if(by_name.begin(), by_name.end(),
                           [&](const auto& e) { return e.first == name.get_ref<const std::string&>(); });
    if (it == by_name.end()) return r.fail(at, "names no property in 'properties'");
    const auto k = static_cast<std::size_t>(it - by_name.begin());
    if (taken[k] >= it->second.size())
      return r.fail(at, "lists '" + it->first + "' more often than 'properties' holds it");
    out.push_back(std::move(it->second[taken[k]++]));
  }
  for (std::size_t k = 0; k < by_name.size(); ++k)
    if (taken[k] != by_name[k].second.size())
      return r.fail(order_path, "does not list every property: '" + by_name[k].first + "' is missing");
  return true;
}

// `reason_code` (and the informative `reason` name, which may also stand alone).
bool read_reason(ObjectReader& r, std::uint8_t& code, PacketType type) {
  const bool has_code = r.has("reason_code");
  if (!r.integer("reason_code", code, 0xFF)) return false;
  std::string name;
  if (!r.string("reason", name)) return false;
  if (!r.has("reason")) return true;
  // Informative: must agree with reason_code, or names the code when it is absent.
  for (unsigned c = 0; c <= 0xFF; ++c) {
    if (reason_code_name(static_cast<std::uint8_t>(c), type, r.version()) != name) continue;
    if (!has_code) {
      code = static_cast<std::uint8_t>(c);
      return true;
    }
    if (c == code) return true;
  }
  if (has_code)
    return r.fail(r.path_of("reason"), "'" + name + "' does not match reason_code " + std::to_string(code));
  return r.fail(r.path_of("reason"), "'" + name + "' is not a reason code of " + std::string(to_string(type)));
}

bool read_packet_id(ObjectReader& r, std::uint16_t& id) {
  return r.require("packet_id") && r.integer("packet_id", id, 0xFFFF);
}

bool read_will(ObjectReader& parent, const Json& j, Will& will, Version version) {
  std::optional<JsonError> error;
  ObjectReader r(j, parent.path_of("will"), error, version);
  r.require("topic") && r.string("topic", will.topic) && r.hex("payload_hex", will.payload) &&
      r.integer("qos", will.qos, 3) && r.boolean("retain", will.retain);
  if (is_v5(version) && r.ok()) read_properties(r, will.properties);
  r.finish();
  if (error) return parent.fail(error->path, error->message);
  return true;
}

std::optional<Version> version_from_json(const Json& v) {
  std::uint32_t n = 0;
  if (integer_value(v, 0xFF, n)) return static_cast<Version>(n);
  if (v.is_string()) return parse_version(v.get_ref<const std::string&>());
  return std::nullopt;
}

bool read_connect(ObjectReader& r, Connect& c) {
  // The CONNECT's own version decides its layout; `r` was opened with it.
  c.protocol_version = r.version();
  c.protocol_name = c.protocol_version == Version::v3_1 ? "MQIsdp" : "MQTT";
  r.get("protocol_version");  // read by the caller
  if (!(r.string("protocol_name", c.protocol_name) && r.boolean("clean_start", c.clean_start) &&
        r.integer("keep_alive", c.keep_alive, 0xFFFF)))
    return false;
  if (is_v5(c.protocol_version) && !read_properties(r, c.properties)) return false;
  if (!r.string("client_id", c.client_id)) return false;
  if (const Json* w = r.get("will")) {
    c.will.emplace();
    if (!read_will(r, *w, *c.will, c.protocol_version)) return false;
  }
  if (r.has("username")) {
    c.username.emplace();
    if (!r.string("username", *c.username)) return false;
  }
  if (r.has("password_hex")) {
    c.password.emplace();
    if (!r.hex("password_hex", *c.password)) return false;
  }
  return true;
}

bool read_publish(ObjectReader& r, Publish& p) {
  if (!(r.boolean("dup", p.dup) && r.integer("qos", p.qos, 3) && r.boolean("retain", p.retain) &&
        r.string("topic", p.topic)))
    return false;
  if (p.qos > 0) {
    if (!read_packet_id(r, p.packet_id)) return false;
  } else if (r.has("packet_id")) {
    return r.fail(r.path_of("packet_id"), "a QoS 0 PUBLISH has no packet identifier (3.3.2.2)");
  }
  if (is_v5(r.version()) && !read_properties(r, p.properties)) return false;
  if (r.has("payload_hex") && r.has("payload"))
    return r.fail(r.path_of("payload"), "give either 'payload' (text) or 'payload_hex', not both");
  return r.hex("payload_hex", p.payload) && r.string("payload", p.payload);
}

bool read_subscribe(ObjectReader& r, Subscribe& s) {
  if (!read_packet_id(r, s.packet_id)) return false;
  if (is_v5(r.version()) && !read_properties(r, s.properties)) return false;
  if (!r.require("subscriptions")) return false;
  const Json& list = *r.get("subscriptions");
  const std::string path = r.path_of("subscriptions");
  if (!list.is_array()) return r.fail(path, "must be a list of {filter, qos, ...} objects");
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::optional<JsonError> error;
    ObjectReader sr(list[i], path + "/" + std::to_string(i), error, r.version());
    Subscription sub;
    sr.require("filter") && sr.string("filter", sub.filter) && sr.integer("qos", sub.options.qos, 3);
    if (is_v5(r.version()))
      sr.boolean("no_local", sub.options.no_local) &&
          sr.boolean("retain_as_published", sub.options.retain_as_published) &&
          sr.integer("retain_handling", sub.options.retain_handling, 3);
    sr.finish();
    if (error) return r.fail(error->path, error->message);
    s.subscriptions.push_back(std::move(sub));
  }
  return true;
}

bool read_unsubscribe(ObjectReader& r, Unsubscribe& u) {
  if (!read_packet_id(r, u.packet_id)) return false;
  if (is_v5(r.version()) && !read_properties(r, u.properties)) return false;
  if (!r.require("filters")) return false;
  const Json& list = *r.get("filters");
  const std::string path = r.path_of("filters");
  if (!list.is_array()) return r.fail(path, "must be a list of topic filters");
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) return r.fail(path + "/" + std::to_string(i), "must be a string");
    u.filters.push_back(list[i].get<std::string>());
  }
  return true;
}

template <class T>
bool read_suback_like(ObjectReader& r, T& s) {
  if (!read_packet_id(r, s.packet_id)) return false;
  if (is_v5(r.version()) && !read_properties(r, s.properties)) return false;
  const bool has_codes = is_v5(r.version()) || T::type == PacketType::suback;
  if (!has_codes) return true;  // 3.1.1 UNSUBACK: the packet id is all (3.11)
  if (!r.require("reason_codes")) return false;
  const Json& list = *r.get("reason_codes");
  const std::string path = r.path_of("reason_codes");
  if (!list.is_array()) return r.fail(path, "must be a list of integers 0..255");
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::uint32_t code = 0;
    if (!integer_value(list[i], 0xFF, code)) return r.fail(path + "/" + std::to_string(i), "must be an integer 0..255");
    s.reason_codes.push_back(static_cast<std::uint8_t>(code));
  }
  if (const Json* names = r.get("reasons")) {  // informative; must agree
    const std::string npath = r.path_of("reasons");
    if (!names->is_array() || names->size() != s.reason_codes.size())
      return r.fail(npath, "must be a list as long as reason_codes");
    for (std::size_t i = 0; i < names->size(); ++i) {
      const auto expected = reason_code_name(s.reason_codes[i], T::type, r.version());
      const Json& n = (*names)[i];
      const bool agrees = n.is_null() ? expected.empty() : n.is_string() && n.get_ref<const std::string&>() == expected;
      if (!agrees) return r.fail(npath + "/" + std::to_string(i), "does not match reason_codes/" + std::to_string(i));
    }
  }
  return true;
}

template <class T>
bool read_ack(ObjectReader& r, T& a) {
  if (!read_packet_id(r, a.packet_id)) return false;
  if (!is_v5(r.version())) return true;
  return read_reason(r, a.reason_code, T::type) && read_properties(r, a.properties);
}

template <class T>
bool read_reason_only(ObjectReader& r, T& d) {
  if (!is_v5(r.version())) return true;  // 3.1.1 DISCONNECT has no variable header
  return read_reason(r, d.reason_code, T::type) && read_properties(r, d.properties);
}

// The version a packet is built and encoded for.
struct Built {
  Packet packet;
  Version version;
};

JsonResult<Built> build(const Json& json, Version version) {
  JsonResult<Built> result;
  std::optional<JsonError> error;
  if (!json.is_object()) {
    result.error = JsonError{"", "a packet must be a JSON object, not " + type_name(json)};
    return result;
  }
  auto type_it = json.find("type");
  if (type_it == json.end()) {
    result.error = JsonError{"/type", "missing required key 'type'"};
    return result;
  }
  if (!type_it->is_string()) {
    result.error = JsonError{"/type", "must be a packet type name (\"CONNECT\" ... \"AUTH\")"};
    return result;
  }
  const auto type = parse_packet_type(type_it->get_ref<const std::string&>());
  if (!type) {
    result.error = JsonError{"/type", "unknown packet type '" + type_it->get<std::string>() + "'"};
    return result;
  }
  if (*type == PacketType::connect) {
    if (auto v = json.find("protocol_version"); v != json.end()) {
      auto parsed = version_from_json(*v);
      if (!parsed) {
        result.error = JsonError{"/protocol_version", "must be a protocol level 0..255 (3, 4, 5) or \"3.1\", \"3.1.1\", \"5\""};
        return result;
      }
      version = *parsed;
    }
  }
  // Layout for an unknown protocol level (sent on purpose to test rejection): 5.0 from 5 up.
  const Version layout = (*type == PacketType::connect && static_cast<int>(version) > 5) ? Version::v5 : version;
  if (*type == PacketType::auth && !is_v5(layout)) {
    result.error = JsonError{"/type", "AUTH does not exist in MQTT 3.1.1"};
    return result;
  }
  ObjectReader r(json, "", error, layout);
  r.get("type");
  Packet packet;
  bool ok = false;
  switch (*type) {
    case PacketType::connect: {
      Connect c;
      ok = read_connect(r, c);
      c.protocol_version = version;
      packet = std::move(c);
      break;
    }
    case PacketType::connack: {
      Connack c;
      ok = r.boolean("session_present", c.session_present) && read_reason(r, c.reason_code, PacketType::connack) &&
           (!is_v5(layout) || read_properties(r, c.properties));
      packet = std::move(c);
      break;
    }
    case PacketType::publish: { Publish p; ok = read_publish(r, p); packet = std::move(p); break; }
    case PacketType::puback: { Puback p; ok = read_ack(r, p); packet = std::move(p); break; }
    case PacketType::pubrec: { Pubrec p; ok = read_ack(r, p); packet = std::move(p); break; }
    case PacketType::pubrel: { Pubrel p; ok = read_ack(r, p); packet = std::move(p); break; }
    case PacketType::pubcomp: { Pubcomp p; ok = read_ack(r, p); packet = std::move(p); break; }
    case PacketType::subscribe: { Subscribe p; ok = read_subscribe(r, p); packet = std::move(p); break; }
    case PacketType::suback: { Suback p; ok = read_suback_like(r, p); packet = std::move(p); break; }
    case PacketType::unsubscribe: { Unsubscribe p; ok = read_unsubscribe(r, p); packet = std::move(p); break; }
    case PacketType::unsuback: { Unsuback p; ok = read_suback_like(r, p); packet = std::move(p); break; }
    case PacketType::pingreq: { packet = Pingreq{}; ok = true; break; }
    case PacketType::pingresp: { packet = Pingresp{}; ok = true; break; }
    case PacketType::disconnect: { Disconnect p; ok = read_reason_only(r, p); packet = std::move(p); break; }
    case PacketType::auth: { Auth p; ok = read_reason_only(r, p); packet = std::move(p); break; }
  }
  (void)ok;
  if (r.ok() && (*type == PacketType::connect)) r.get("protocol_version");
  // remaining_length is applied by encode_json; it must still be well-typed here.
  if (r.ok() && is_v5(layout)) {
    std::uint32_t ignored = 0;
    r.integer("remaining_length", ignored, kMaxVarint);
  }
  r.finish();
  if (error) {
    result.error = std::move(error);
    return result;
  }
  result.value = Built{std::move(packet), layout};
  return result;
}

// The 5.0 acks, DISCONNECT and AUTH may spell "reason code 0x00, no properties" in longer
// forms than the codec's canonical one (3.4.2.1, 3.14.2.1, 3.15.2.1): rebuild those.
std::optional<std::string> long_form(const Packet& packet, std::uint32_t remaining_length, std::uint8_t first_byte,
                                     std::string& why) {
  auto bytes_for = [&](std::optional<std::uint16_t> packet_id, std::uint8_t code, const auto& props,
                       std::uint32_t min_len) -> std::optional<std::string> {
    if (!props.empty()) {
      why = "a non-canonical remaining_length needs empty properties";
      return std::nullopt;
    }
    if (remaining_length < min_len || remaining_length > min_len + 2) {
      why = "must be " + std::to_string(min_len) + ".." + std::to_string(min_len + 2) + " for this packet";
      return std::nullopt;
    }
    if (remaining_length == min_len && code != 0) {
      why = "the reason code can only be omitted when it is 0x00";
      return std::nullopt;
    }
    std::string out(1, static_cast<char>(first_byte));
    out += static_cast<char>(remaining_length);  // < 128: one varint byte
    if (packet_id) {
      out += static_cast<char>(*packet_id >> 8);
      out += static_cast<char>(*packet_id & 0xFF);
    }
    if (remaining_length > min_len) out += static_cast<char>(code);
    if (remaining_length > min_len + 1) out += '\0';  // property length 0
    return out;
  };
  return std::visit(
      [&]<class T>(const T& p) -> std::optional<std::string> {
        constexpr PacketType type = T::type;
        if constexpr (type == PacketType::puback || type == PacketType::pubrec || type == PacketType::pubrel ||
                      type == PacketType::pubcomp)
          return bytes_for(p.packet_id, p.reason_code, p.properties, 2);
        else if constexpr (type == PacketType::disconnect || type == PacketType::auth)
          return bytes_for(std::nullopt, p.reason_code, p.properties, 0);
        why = "only MQTT 5 PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT and AUTH have more than one encoding";
        return std::nullopt;
      },
      packet);
}

}  // namespace

// ---------------------------------------------------------------------------------------

Json to_json(const PacketView& packet, Version version) { return packet_json(packet, version); }

Json to_json(const Packet& packet, Version version) { return packet_json(to_view(packet), version); }

Json to_json(const PacketView& packet, Version version, Bytes wire) {
  Json j = packet_json(packet, version);
  const auto size = encoded_size(packet, encoding_version(packet, version));
  if (size.ok() && size.value == wire.size()) return j;
  if (wire.size() < 2) return j;
  const auto rl = decode_varint(wire.subspan(1));
  if (rl.consumed == 0 || rl.error) return j;
  j["remaining_length"] = rl.value;
  return j;
}

Json decode_to_json(Bytes wire, const DecodeOptions& options) {
  const auto decoded = decode(wire, options);
  if (!decoded.ok()) return to_json(decoded.error);
  return to_json(decoded.value, options.version, wire);
}

Json to_json(const Error& error, std::uint64_t base_offset) {
  Json j;
  j["error"] = error.message.empty() ? std::string(to_string(error.code)) : std::string(error.message);
  j["code"] = std::string(to_string(error.code));
  if (error.spec.empty())
    j["spec"] = nullptr;
  else
    j["spec"] = std::string(error.spec);
  j["offset"] = base_offset + error.offset;
  return j;
}

Json to_json(const JsonError& error) {
  Json j;
  j["error"] = error.message;
  j["path"] = error.path;
  return j;
}

JsonResult<Packet> packet_from_json(const Json& json, Version version) {
  auto built = build(json, version);
  JsonResult<Packet> out;
  out.error = std::move(built.error);
  if (out.ok()) out.value = std::move(built.value.packet);
  return out;
}

JsonResult<std::string> encode_json(const Json& json, Version version) {
  JsonResult<std::string> out;
  auto built = build(json, version);
  if (!built.ok()) {
    out.error = std::move(built.error);
    return out;
  }
  auto bytes = encode_to_string(built.value.packet, built.value.version);
  if (!bytes.ok()) {
    out.error = JsonError{"", "cannot be encoded: " + std::string(bytes.error.message.empty()
                                                                      ? to_string(bytes.error.code)
                                                                      : bytes.error.message)};
    return out;
  }
  out.value = std::move(bytes.value);
  auto rl_it = json.find("remaining_length");
  if (rl_it == json.end()) return out;
  const auto canonical = decode_varint(Bytes(reinterpret_cast<const std::uint8_t*>(out.value.data() + 1),
                                             out.value.size() - 1));
  const auto wanted = rl_it->get<std::uint32_t>();
  if (canonical.consumed != 0 && canonical.value == wanted) return out;
  std::string why;
  auto long_bytes = long_form(built.value.packet, wanted, static_cast<std::uint8_t>(out.value[0]), why);
  if (!long_bytes) {
    out.value.clear();
    out.error = JsonError{"/remaining_length", why};
    return out;
  }
  out.value = std::move(*long_bytes);
  return out;
}

std::optional<Version> connect_version(const Json& json) {
  if (!json.is_object()) return std::nullopt;
  auto type = json.find("type");
  if (type == json.end() || !type->is_string() || *type != "CONNECT") return std::nullopt;
  auto v = json.find("protocol_version");
  if (v == json.end()) return std::nullopt;
  return version_from_json(*v);
}

}  // namespace mqtt
