// Parser's readers: scalars, mappings, decode-JSON shaped values, clients. Each reports a
// wrong value at its file:line:column (the node's mark) and returns nullopt.
#include "loader/Parser.hpp"

#include <algorithm>

#include "loader/Scalars.hpp"
#include "mqtt/hex.hpp"
#include "mqtth/common/Duration.hpp"
#include "mqtt/json.hpp"

namespace mqtth::scenario {

using detail::join;
using detail::node_kind;

namespace detail {
const char* node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "?";
}

std::string key_names(std::span<const KeySpec> keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

namespace {
std::string property_names() {
  std::string out;
  for (auto id : known_properties()) out += (out.empty() ? "" : ", ") + std::string(mqtt::property_name(id));
  return out;
}
}  // namespace
}  // namespace detail

void Parser::error(const YAML::Mark& m, std::string message) {
  LoadError e{file_, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0, std::move(message)};
  auto key = std::make_tuple(e.line, e.column, e.message);
  if (seen_.insert(key).second) errors.push_back(std::move(e));
}

// ---- scalars -----------------------------------------------------------------------------

std::optional<std::string> Parser::substitute(const YAML::Node& n, const std::string& text, bool seq_ok) {
  if (text.find('{') == std::string::npos) return text;
  std::string out;
  bool ok = true;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '{' && i + 1 < text.size() && detail::is_ident_start(text[i + 1])) {
      std::size_t j = i + 1;
      while (j < text.size() && detail::is_ident_char(text[j])) ++j;
      if (j < text.size() && text[j] == '}') {
        std::string name = text.substr(i + 1, j - i - 1);
        std::optional<std::string> value = lookup(name);
        if (name == "seq") {
          if (!seq_ok) {
            error(n, "{seq} is only available in a publish step's topic and payload");
            ok = false;
          }
          value = "{seq}";
        }
        if (!value) {
          std::string known;
          for (auto& [k, v] : vars_) known += (known.empty() ? "" : ", ") + k;
          if (acting_client_) known += std::string(known.empty() ? "" : ", ") + "client";
          error(n, "unknown variable {" + name + "}" + (known.empty() ? std::string(" (no variables are defined here)") : " (defined here: " + known + ", protocol)"));
          ok = false;
          value = "";
        }
        out += *value;
        i = j + 1;
        continue;
      }
    }
    out += text[i++];
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> Parser::lookup(const std::string& name) {
  for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
    if (it->first == name) return it->second;
  if (name == "protocol") return std::string(mqtt::to_string(version_));
  if (name == "client" && acting_client_) return acting_client_->client_id;
  return std::nullopt;
}

std::optional<std::string> Parser::text(const YAML::Node& n, std::string_view what, bool seq_ok) {
  visit();
  if (!n.IsScalar()) {
    error(n, std::string(what) + " must be a string, got " + node_kind(n));
    return std::nullopt;
  }
  return substitute(n, n.Scalar(), seq_ok);
}

std::optional<std::uint64_t> Parser::number(const YAML::Node& n, std::string_view what, std::uint64_t min,
                                            std::uint64_t max, std::string_view expected) {
  auto s = text(n, what);
  if (!s) return std::nullopt;
  auto v = detail::parse_uint(*s);
  if (!v || *v < min || *v > max) {
    std::string exp = expected.empty() ? "an integer " + std::to_string(min) + ".." + std::to_string(max)
                                       : std::string(expected);
    error(n, std::string(what) + " must be " + exp + ", got '" + *s + "'");
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Parser::boolean(const YAML::Node& n, std::string_view what) {
  auto s = text(n, what);
  if (!s) return std::nullopt;
  if (*s == "true" || *s == "True" || *s == "TRUE") return true;
  if (*s == "false" || *s == "False" || *s == "FALSE") return false;
  error(n, std::string(what) + " must be true or false, got '" + *s + "'");
  return std::nullopt;
}

std::optional<Duration> Parser::duration(const YAML::Node& n, std::string_view what) {
  auto s = text(n, what);
  if (!s) return std::nullopt;
  auto d = common::parse_duration(*s, detail::kMaxDuration);
  if (!d.value) error(n, std::string(what) + ": " + d.error);
  return d.value;
}

std::optional<PacketType> Parser::packet_type(const YAML::Node& n, std::string_view what) {
  auto s = text(n, what);
  if (!s) return std::nullopt;
  if (auto t = detail::parse_packet_type_name(*s)) return t;
  error(n, std::string(what) + " must be a packet type (" + detail::packet_type_names() + "), got '" + *s + "'");
  return std::nullopt;
}

std::optional<std::string> Parser::hex(const YAML::Node& n, std::string_view what) {
  auto s = text(n, what);
  if (!s) return std::nullopt;
  auto bytes = mqtt::parse_hex(*s);
  if (!bytes) {
    error(n, std::string(what) + " must be hex bytes like \"30 02 00 01\" (pairs of hex digits, optional spaces between bytes), got '" + *s + "'");
    return std::nullopt;
  }
  return bytes;
}

std::optional<std::vector<std::uint8_t>> Parser::reason_code_list(const YAML::Node& n, std::string_view what) {
  visit();
  if (!n.IsSequence()) {
    error(n, std::string(what) + " must be a list of reason codes, got " + node_kind(n));
    return std::nullopt;
  }
  std::vector<std::uint8_t> out;
  bool ok = true;
  for (const auto& item : n) {
    auto v = reason_code(item, what);
    if (v) out.push_back(*v);
    else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<SubackCode>> Parser::suback_code_list(const YAML::Node& n, std::string_view what) {
  visit();
  if (!n.IsSequence()) {
    error(n, std::string(what) + " must be a list of reason codes or {at_most_qos: N}, got " + node_kind(n));
    return std::nullopt;
  }
  static constexpr std::string_view kAtMost[] = {"at_most_qos"};
  std::vector<SubackCode> out;
  bool ok = true;
  for (const auto& item : n) {
    visit();
    std::optional<SubackCode> code;
    if (item.IsMap()) {
      if (check_map(item, kAtMost, std::string(what) + " entry")) {
        require(item, "at_most_qos", std::string(what) + " entry", "the highest QoS the broker may grant");
        if (auto x = get(item, "at_most_qos"))
          if (auto q = qos(x, "at_most_qos")) code = SubackCode{*q, true};
      }
    } else if (auto v = reason_code(item, what)) {
      code = SubackCode{*v, false};
    }
    if (code) out.push_back(*code);
    else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<Version> Parser::version_value(const YAML::Node& n, std::string_view what, std::string_view message) {
  auto s = text(n, what);
  if (!s) return std::nullopt;
  if (auto v = mqtt::parse_version(*s)) return v;
  error(n, std::string(message) + ", got '" + *s + "'");
  return std::nullopt;
}

// ---- mappings ----------------------------------------------------------------------------

bool Parser::check_map(const YAML::Node& n, std::span<const KeySpec> allowed, std::string_view context) {
  std::vector<std::string_view> names;
  for (const auto& k : allowed) names.push_back(k.name);
  return check_map(n, names, context);
}

bool Parser::check_map(const YAML::Node& n, std::span<const std::string_view> allowed, std::string_view context) {
  visit();
  if (!n.IsMap()) {
    error(n, std::string(context) + " must be a mapping with keys: " + join(allowed) + "; got " + node_kind(n));
    return false;
  }
  for (const auto& kv : n) {
    visit();
    if (!kv.first.IsScalar()) {
      error(kv.first, std::string(context) + ": keys must be plain names");
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), kv.first.Scalar()) == allowed.end())
      error(kv.first, std::string(context) + ": unknown key '" + kv.first.Scalar() + "'; expected one of: " + join(allowed));
  }
  return true;
}

void Parser::require_keys(const YAML::Node& m, std::span<const KeySpec> keys, std::string_view context) {
  for (const auto& k : keys)
    if (k.required) require(m, k.name, context, k.doc);
}

void Parser::require(const YAML::Node& m, std::string_view key, std::string_view context, std::string_view expected) {
  if (!has(m, key)) error(m, std::string(context) + ": missing key '" + std::string(key) + "' (" + std::string(expected) + ")");
}

YAML::Node Parser::get(const YAML::Node& m, std::string_view key) {
  for (const auto& kv : m)
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  return YAML::Node(YAML::NodeType::Undefined);
}

bool Parser::has(const YAML::Node& m, std::string_view key) {
  for (const auto& kv : m)
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return true;
  return false;
}

// ---- values in the decode-JSON shape -----------------------------------------------------

Json Parser::generic(const YAML::Node& n, bool force_string, int depth) {
  visit();
  if (depth > 16) {
    error(n, "value nested too deeply (more than 16 levels)");
    return nullptr;
  }
  switch (n.Type()) {
    case YAML::NodeType::Scalar: {
      auto s = substitute(n, n.Scalar(), false);
      if (!s) return nullptr;
      if (force_string || n.Tag() == "!") return *s;
      if (*s == "true") return true;
      if (*s == "false") return false;
      if (*s == "null" || *s == "~") return nullptr;
      if (auto v = detail::parse_uint(*s)) return *v;
      return *s;
    }
    case YAML::NodeType::Sequence: {
      Json arr = Json::array();
      for (const auto& item : n) arr.push_back(generic(item, force_string, depth + 1));
      return arr;
    }
    case YAML::NodeType::Map: {
      Json obj = Json::object();
      for (const auto& kv : n) {
        visit();
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
        obj[key] = generic(kv.second, force_string || detail::is_string_valued_key(key), depth + 1);
      }
      return obj;
    }
    default:
      return nullptr;
  }
}

Json Parser::properties(const YAML::Node& n, std::string_view context) {
  visit();
  Json out = Json::object();
  if (n.IsNull()) return out;
  if (!n.IsMap()) {
    error(n, std::string(context) + ": properties must be a mapping of MQTT 5 property names to values");
    return out;
  }
  if (version_ != Version::v5 && n.size() > 0)
    error(n, std::string(context) + ": properties exist only in MQTT 5, but this scenario runs as " + std::string(mqtt::to_string(version_)) + " (mark the step `only: 5` or drop the properties)");
  for (const auto& kv : n) {
    visit();
    if (!kv.first.IsScalar()) {
      error(kv.first, std::string(context) + ": property names must be plain names");
      continue;
    }
    const std::string& name = kv.first.Scalar();
    const auto id = mqtt::parse_property_name(name);
    if (!id) {
      error(kv.first, std::string(context) + ": unknown property '" + name + "'; expected one of: " + detail::property_names());
      continue;
    }
    std::string what = "property " + name;
    const YAML::Node& v = kv.second;
    switch (*mqtt::property_type(static_cast<std::uint8_t>(*id))) {
      case mqtt::PropertyType::byte:
        if (auto x = uint<std::uint8_t>(v, what, 0, 255)) out[name] = *x;
        break;
      case mqtt::PropertyType::two_byte:
        if (auto x = uint<std::uint16_t>(v, what, 0, 65535)) out[name] = *x;
        break;
      case mqtt::PropertyType::four_byte:
        if (auto x = uint<std::uint32_t>(v, what, 0, 4294967295u)) out[name] = *x;
        break;
      case mqtt::PropertyType::varint:
        if (auto x = uint<std::uint32_t>(v, what, 0, mqtt::kMaxRemainingLength)) out[name] = *x;
        break;
      case mqtt::PropertyType::utf8:
        if (auto x = text(v, what)) out[name] = *x;
        break;
      case mqtt::PropertyType::binary:
        if (auto x = hex(v, what)) out[name] = mqtt::to_hex(*x);
        break;
      case mqtt::PropertyType::utf8_pair: {
        visit();
        if (!v.IsSequence()) {
          error(v, what + " must be a list of [key, value] pairs, got " + node_kind(v));
          break;
        }
        Json list = Json::array();
        for (const auto& pair : v) {
          visit();
          if (!pair.IsSequence() || pair.size() != 2) {
            error(pair, what + " entries must be [key, value] pairs of strings");
            continue;
          }
          auto k = text(pair[0], what + " key");
          auto val = text(pair[1], what + " value");
          if (k && val) list.push_back(Json::array({*k, *val}));
        }
        out[name] = list;
        break;
      }
    }
  }
  return out;
}

Json Parser::match_properties(const YAML::Node& n, std::string_view context) {
  visit();
  if (!n.IsMap()) {
    error(n, std::string(context) + ": properties must be a mapping of MQTT 5 property names to values");
    return Json::object();
  }
  if (version_ != Version::v5)
    error(n, std::string(context) + ": properties exist only in MQTT 5, but this scenario runs as " + std::string(mqtt::to_string(version_)) + " (mark the step `only: 5`)");
  for (const auto& kv : n) {
    visit();
    if (!kv.first.IsScalar() || !mqtt::parse_property_name(kv.first.Scalar())) {
      error(kv.first, std::string(context) + ": unknown property '" + (kv.first.IsScalar() ? kv.first.Scalar() : std::string("?")) + "'; expected one of: " + detail::property_names());
    }
  }
  Json j = generic(n, false, 0);
  // Binary and string properties compare as strings; binary ones as lowercase hex.
  for (auto& [k, v] : j.items()) {
    const auto id = mqtt::parse_property_name(k);
    if (id && mqtt::property_type(static_cast<std::uint8_t>(*id)) == mqtt::PropertyType::binary && v.is_string()) {
      if (auto b = mqtt::parse_hex(v.get<std::string>())) v = mqtt::to_hex(*b);
      else error(get(n, k), "property " + k + " must be hex bytes");
    }
  }
  return j;
}

// ---- clients -----------------------------------------------------------------------------

std::optional<std::string> Parser::client_ref(const YAML::Node& n, std::string_view what) {
  auto s = text(n, what);
  if (!s) return std::nullopt;
  if (find_client(*s)) return s;
  std::string names;
  for (const auto& c : clients_) names += (names.empty() ? "" : ", ") + c.name;
  error(n, std::string(what) + ": unknown client '" + *s + "'" + (names.empty() ? std::string(" (no clients are declared under `clients:`)") : "; declared clients: " + names));
  return std::nullopt;
}

const ClientSpec* Parser::find_client(std::string_view name) const {
  for (const auto& c : clients_)
    if (c.name == name) return &c;
  return nullptr;
}

void Parser::require_opened(const YAML::Node& n, const std::string& client, std::string_view step) {
  if (!opened_.count(client))
    error(n, std::string(step) + ": client '" + client + "' is never connected before this step (add a `connect: " + client + "` step before it)");
}

void Parser::set_acting(const std::string& name) { acting_client_ = find_client(name); }

void Parser::only_v5(const YAML::Node& n, std::string_view what) {
  if (version_ != Version::v5)
    error(n, std::string(what) + " exists only in MQTT 5, but this scenario runs as " + std::string(mqtt::to_string(version_)) + " (mark the step `only: 5` or drop it)");
}

// ---- StepInput ---------------------------------------------------------------------------

std::optional<std::string> StepInput::client(std::string_view field) {
  if (!has(field)) return std::nullopt;  // reported by the required-key check
  auto c = p.client_ref(get(field), ctx + " " + std::string(field));
  if (c && field == "client") p.set_acting(*c);
  return c;
}

std::optional<std::string> StepInput::client_or_shorthand() {
  if (scalar_form()) return p.client_ref(value, ctx);
  return client();
}

std::optional<Duration> StepInput::within() {
  if (auto x = get("within")) return p.duration(x, "within");
  return std::nullopt;
}

}  // namespace mqtth::scenario
