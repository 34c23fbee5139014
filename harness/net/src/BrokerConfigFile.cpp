#include "mqtth/net/BrokerConfigFile.hpp"

#include <mqtt/codec.hpp>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

namespace mqtth::net {
namespace {

using engine::BrokerConfig;

// Thrown only inside this file, turned into a ConfigError at the API boundary: config
// loading is not the wire path, and unwinding keeps the many small checks readable.
struct Failure {
  int line;
  std::string key;
  std::string message;
};

int line_of(const YAML::Node& node) {
  const auto mark = node.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

std::string join(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    default: return "an undefined value";
  }
}

// A plain (unquoted) scalar: quoted "100" is a string in YAML, and we are strict about it.
bool is_plain_scalar(const YAML::Node& node) {
  return node.IsScalar() && node.Tag() != "!";
}

std::uint64_t unsigned_in(const YAML::Node& node, const std::string& key, std::uint64_t min,
                          std::uint64_t max) {
  const auto fail = [&] {
    return Failure{line_of(node), key,
                   "expected an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                       ", got " + describe(node)};
  };
  if (!is_plain_scalar(node)) throw fail();
  const std::string& text = node.Scalar();
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value < min || value > max) throw fail();
  return value;
}

template <class T>
T unsigned_field(const YAML::Node& node, const std::string& key, std::uint64_t min = 0,
                 std::uint64_t max = std::numeric_limits<T>::max()) {
  return static_cast<T>(unsigned_in(node, key, min, max));
}

bool bool_field(const YAML::Node& node, const std::string& key) {
  if (is_plain_scalar(node)) {
    if (node.Scalar() == "true") return true;
    if (node.Scalar() == "false") return false;
  }
  throw Failure{line_of(node), key, "expected true or false, got " + describe(node)};
}

std::string string_field(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) throw Failure{line_of(node), key, "expected a string, got " + describe(node)};
  return node.Scalar();
}

std::vector<std::string> string_list(const YAML::Node& node, const std::string& key) {
  std::vector<std::string> out;
  if (node.IsScalar()) {  // a single filter may be written without brackets
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence())
    throw Failure{line_of(node), key, "expected a list of strings, got " + describe(node)};
  for (const auto& item : node) out.push_back(string_field(item, key + "[]"));
  return out;
}

// A list of topic filters, each checked as MQTT 5.0 would check it in a SUBSCRIBE.
std::vector<std::string> filter_list(const YAML::Node& node, const std::string& key) {
  std::vector<std::string> filters = string_list(node, key);
  for (const auto& filter : filters)
    if (const auto error = mqtt::validate_topic_filter(filter, mqtt::Version::v5))
      throw Failure{line_of(node), key, "'" + filter + "' is not a topic filter: " + std::string(error.message)};
  return filters;
}

// One of a fixed set of names, each standing for a value of E.
template <class E>
E choice_field(const YAML::Node& node, const std::string& key,
               std::initializer_list<std::pair<std::string_view, E>> choices) {
  if (is_plain_scalar(node))
    for (const auto& [name, value] : choices)
      if (node.Scalar() == name) return value;
  std::string names;
  for (const auto& [name, value] : choices) names += (names.empty() ? "" : " or ") + std::string(name);
  throw Failure{line_of(node), key, "expected " + names + ", got " + describe(node)};
}

// Walks a mapping, calling `handle(key, value, dotted_key)` per entry; rejects duplicates
// and lets `handle` return false for an unknown key.
void for_each_key(const YAML::Node& map, const std::string& parent,
                  const std::function<bool(const std::string&, const YAML::Node&, const std::string&)>& handle) {
  if (!map.IsMap())
    throw Failure{line_of(map), parent, "expected a mapping (key: value lines), got " + describe(map)};
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const YAML::Node& key_node = entry.first;
    const std::string key = key_node.IsScalar() ? key_node.Scalar() : std::string("?");
    const std::string dotted = join(parent, key);
    if (!seen.insert(key).second) throw Failure{line_of(key_node), dotted, "duplicate key"};
    if (!handle(key, entry.second, dotted))
      throw Failure{line_of(key_node), dotted, "unknown key"};
  }
}

void load_limits(const YAML::Node& node, BrokerConfig& c) {
  for_each_key(node, "limits", [&](const std::string& k, const YAML::Node& v, const std::string& key) {
    if (k == "max_connections") c.max_connections = unsigned_field<std::uint32_t>(v, key, 1);
    // 2.2.3: a packet is at most 268,435,455 bytes of remaining length plus 5 header bytes;
    // 2 bytes is the smallest packet (PINGREQ).
    else if (k == "maximum_packet_size") c.maximum_packet_size = unsigned_field<std::uint32_t>(v, key, 2, 268'435'460);
    // 3.1.2.11.3 / 3.2.2.3.3: Receive Maximum 0 is a protocol error.
    else if (k == "receive_maximum") c.receive_maximum = unsigned_field<std::uint16_t>(v, key, 1);
    else if (k == "max_inflight") c.max_inflight = unsigned_field<std::uint16_t>(v, key, 1);
    else if (k == "max_queued_messages") c.max_queued_messages = unsigned_field<std::uint32_t>(v, key);
    else if (k == "max_subscriptions_per_client") c.max_subscriptions_per_client = unsigned_field<std::uint32_t>(v, key);
    else if (k == "max_retained_messages") c.max_retained_messages = unsigned_field<std::uint32_t>(v, key);
    else if (k == "topic_alias_maximum") c.max_topic_alias = unsigned_field<std::uint16_t>(v, key);
    // 0 turns outbound aliases off; otherwise the cap on aliases sent per connection.
    else if (k == "outbound_topic_alias_maximum") c.outbound_topic_alias_maximum = unsigned_field<std::uint16_t>(v, key);
    else if (k == "server_keep_alive") {
      if (v.IsNull()) c.server_keep_alive.reset();
      else c.server_keep_alive = unsigned_field<std::uint16_t>(v, key);
    } else if (k == "max_keep_alive") {
      // Announced to 5.0 clients as Server Keep Alive; 0 would mean "no keep alive".
      if (v.IsNull()) c.max_keep_alive.reset();
      else c.max_keep_alive = unsigned_field<std::uint16_t>(v, key, 1);
    } else if (k == "max_session_expiry") c.max_session_expiry = unsigned_field<std::uint32_t>(v, key);
    else if (k == "connect_timeout_ms") c.connect_timeout_ms = unsigned_field<std::uint32_t>(v, key, 1);
    else return false;
    return true;
  });
}

void load_features(const YAML::Node& node, BrokerConfig& c) {
  for_each_key(node, "features", [&](const std::string& k, const YAML::Node& v, const std::string& key) {
    if (k == "retain_available") c.retain_available = bool_field(v, key);
    else if (k == "wildcard_subscription_available") c.wildcard_subscription_available = bool_field(v, key);
    else if (k == "shared_subscription_available") c.shared_subscription_available = bool_field(v, key);
    else if (k == "subscription_identifiers_available") c.subscription_identifiers_available = bool_field(v, key);
    else if (k == "maximum_qos") c.maximum_qos = unsigned_field<std::uint8_t>(v, key, 0, 2);
    else if (k == "response_information_prefix") c.response_information_prefix = string_field(v, key);
    else return false;
    return true;
  });
}

void load_users(const YAML::Node& node, BrokerConfig& c) {
  for_each_key(node, "users", [&](const std::string& k, const YAML::Node& v, const std::string& key) {
    if (k.empty()) throw Failure{line_of(v), key, "a user name may not be empty"};
    c.users[k] = string_field(v, key);
    return true;
  });
}

// users_file: one `name:password` per line; blank lines and lines starting with '#' are
// skipped. Errors name the users file and its line.
std::optional<ConfigError> load_users_file(const std::string& path, BrokerConfig& c) {
  std::ifstream in(path);
  if (!in) return ConfigError{path, 0, "", "cannot read users file"};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon == 0)
      return ConfigError{path, number, "", "expected 'name:password'"};
    const std::string name = line.substr(0, colon);
    if (c.users.count(name)) return ConfigError{path, number, "", "user '" + name + "' given twice"};
    c.users[name] = line.substr(colon + 1);
  }
  return std::nullopt;
}

void load_acl(const YAML::Node& node, BrokerConfig& c) {
  if (!node.IsSequence())
    throw Failure{line_of(node), "acl", "expected a list of rules, got " + describe(node)};
  std::size_t index = 0;
  for (const auto& item : node) {
    const std::string parent = "acl[" + std::to_string(index++) + "]";
    engine::AclRule rule;
    for_each_key(item, parent, [&](const std::string& k, const YAML::Node& v, const std::string& key) {
      if (k == "client_id") rule.client_id = string_field(v, key);
      else if (k == "username") rule.username = string_field(v, key);
      else if (k == "publish") rule.publish = filter_list(v, key);
      else if (k == "subscribe") rule.subscribe = filter_list(v, key);
      else if (k == "deny") {
        for_each_key(v, key, [&](const std::string& dk, const YAML::Node& dv, const std::string& dkey) {
          if (dk == "publish") rule.deny_publish = filter_list(dv, dkey);
          else if (dk == "subscribe") rule.deny_subscribe = filter_list(dv, dkey);
          else return false;
          return true;
        });
      } else return false;
      return true;
    });
    c.acl.push_back(std::move(rule));
  }
}

void load_behaviour(const YAML::Node& node, BrokerConfig& c) {
  using namespace engine;
  BrokerBehaviour& b = c.behaviour;
  for_each_key(node, "behaviour", [&](const std::string& k, const YAML::Node& v, const std::string& key) {
    if (k == "qos2_forward_on")
      b.qos2_forward_on = choice_field<Qos2ForwardOn>(v, key, {{"publish", Qos2ForwardOn::publish},
                                                               {"pubrel", Qos2ForwardOn::pubrel}});
    else if (k == "grant_qos_at_most") b.grant_qos_at_most = unsigned_field<std::uint8_t>(v, key, 0, 2);
    else if (k == "overlapping_subscriptions")
      b.overlapping_subscriptions = choice_field<OverlappingDelivery>(
          v, key, {{"one_copy", OverlappingDelivery::one_copy},
                   {"copy_per_subscription", OverlappingDelivery::copy_per_subscription}});
    else if (k == "dollar_topic_publish")
      b.dollar_topic_publish = choice_field<DollarTopicPublish>(v, key, {{"route", DollarTopicPublish::route},
                                                                         {"refuse", DollarTopicPublish::refuse}});
    else if (k == "v311_refused_publish")
      b.v311_refused_publish = choice_field<V311RefusedPublish>(
          v, key, {{"acknowledge", V311RefusedPublish::acknowledge}, {"disconnect", V311RefusedPublish::disconnect}});
    else if (k == "specific_refusal_codes") b.specific_refusal_codes = bool_field(v, key);
    else if (k == "no_matching_subscribers_code") b.no_matching_subscribers_code = bool_field(v, key);
    else if (k == "reason_strings") b.reason_strings = bool_field(v, key);
    else if (k == "disconnect_before_close") b.disconnect_before_close = bool_field(v, key);
    else if (k == "queue_qos0_offline") b.queue_qos0_offline = bool_field(v, key);
    else if (k == "strict_clients") b.strict_clients = bool_field(v, key);
    else return false;
    return true;
  });
}

// testing.deviate: statement ids of engine::deviation_table(); each turns on every row
// with that id (one per version the id names it in).
void load_deviations(const YAML::Node& node, const std::string& key, BrokerConfig& c) {
  std::vector<YAML::Node> items;  // one id may be written without brackets
  if (node.IsScalar()) items.push_back(node);
  else if (node.IsSequence()) for (const auto& item : node) items.push_back(item);
  else throw Failure{line_of(node), key, "expected a list of statement ids, got " + describe(node)};
  for (const auto& item : items) {
    const std::string id = string_field(item, key + "[]");
    const auto rows = engine::deviations_for(id);
    if (rows.empty())
      throw Failure{line_of(item), key,
                    "no deviation switch breaks '" + id + "' (docs/mutants.md lists the statements that have one)"};
    for (const auto* row : rows) c.deviate.enable(*row);
  }
}

void load_testing(const YAML::Node& node, BrokerConfig& c) {
  for_each_key(node, "testing", [&](const std::string& k, const YAML::Node& v, const std::string& key) {
    if (k == "misbehave") {
      const auto text = string_field(v, key);
      const auto mode = parse_misbehave_mode(text);
      if (!mode)
        throw Failure{line_of(v), key,
                      "expected none, drop-qos1, dup-qos2, reorder or drop-qos0, got '" + text + "'"};
      c.misbehave = *mode;
    } else if (k == "misbehave_every") c.misbehave_every = unsigned_field<std::uint32_t>(v, key, 1);
    else if (k == "track_deliveries") c.track_deliveries = bool_field(v, key);
    else if (k == "deviate") load_deviations(v, key, c);
    else return false;
    return true;
  });
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

std::optional<engine::Misbehave> parse_misbehave_mode(std::string_view text) {
  std::string normal(text);
  for (auto& ch : normal)
    if (ch == '-') ch = '_';
  using engine::Misbehave;
  if (normal == "none") return Misbehave::none;
  if (normal == "drop_qos1") return Misbehave::drop_qos1;
  if (normal == "dup_qos2") return Misbehave::dup_qos2;
  if (normal == "reorder") return Misbehave::reorder;
  if (normal == "drop_qos0") return Misbehave::drop_qos0;
  return std::nullopt;
}

BrokerConfigResult parse_broker_config(std::string_view yaml, const std::string& file,
                                       const std::string& base_dir) {
  BrokerConfigResult result;
  BrokerConfig& c = result.config;
  std::optional<std::pair<std::string, int>> users_file;  // path, line of the key
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (root.IsNull()) return result;  // an empty file means all defaults
    for_each_key(root, "", [&](const std::string& k, const YAML::Node& v, const std::string& key) {
      if (k == "limits") load_limits(v, c);
      else if (k == "allow_anonymous") c.allow_anonymous = bool_field(v, key);
      else if (k == "users") load_users(v, c);
      else if (k == "users_file") users_file = {string_field(v, key), line_of(v)};
      else if (k == "acl") load_acl(v, c);
      else if (k == "features") load_features(v, c);
      else if (k == "behaviour") load_behaviour(v, c);
      else if (k == "testing") load_testing(v, c);
      else return false;
      return true;
    });
  } catch (const Failure& f) {
    result.error = ConfigError{file, f.line, f.key, f.message};
    return result;
  } catch (const YAML::Exception& e) {
    result.error = ConfigError{file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "",
                               "not valid YAML: " + e.msg};
    return result;
  }
  if (users_file) {
    std::filesystem::path path(users_file->first);
    if (path.is_relative()) path = std::filesystem::path(base_dir) / path;
    if (auto error = load_users_file(path.string(), c)) {
      result.error = error;
      return result;
    }
  }
  return result;
}

BrokerConfigResult load_broker_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    BrokerConfigResult result;
    result.error = ConfigError{path, 0, "", "cannot read config file"};
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const auto base = std::filesystem::path(path).parent_path();
  return parse_broker_config(text.str(), path, base.empty() ? "." : base.string());
}

}  // namespace mqtth::net
