#include "mqtth/runner/Profile.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include <yaml-cpp/yaml.h>

#include <mqtt/codec.hpp>

#include "mqtth/runner/Selection.hpp"

namespace mqtth::runner {
namespace {

std::string where(const std::string& file, const YAML::Node& node) {
  const auto mark = node.Mark();
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
}

// What a 5.0 CONNACK can announce (3.2.2.3); a profile states them for 3.1.1 and for
// brokers that do not announce them.
const std::set<std::string>& capability_keys() {
  static const std::set<std::string> keys = {
      "maximum_qos", "retain_available", "wildcard_subscription_available",
      "shared_subscription_available", "subscription_identifier_available",
      "topic_alias_maximum", "receive_maximum", "server_keep_alive", "maximum_packet_size"};
  return keys;
}

// `requires:` features no CONNACK announces: only a profile can say (default_capabilities
// gives their defaults).
const std::vector<std::string>& profile_only_features() {
  static const std::vector<std::string> names = {"wills", "persistent_sessions", "message_expiry",
                                                 "request_response", "enhanced_auth", "mqtt31"};
  return names;
}

std::string feature_keys_text() {
  std::string text;
  for (const auto& k : capability_keys()) text += (text.empty() ? "" : ", ") + k;
  for (const auto& k : profile_only_features()) text += ", " + k;
  return text;
}

std::optional<std::uint64_t> to_number(const std::string& text) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}
std::optional<bool> to_bool(const std::string& text) {
  if (text == "true" || text == "yes" || text == "1" || text == "on") return true;
  if (text == "false" || text == "no" || text == "0" || text == "off") return false;
  return std::nullopt;
}

// Checks one feature value; returns an error ("FILE:L:C: ...") or "".
std::string check_feature(const std::string& file, const std::string& key, const YAML::Node& key_node,
                          const YAML::Node& node) {
  if (!node.IsScalar()) return where(file, node) + "feature `" + key + "` must be a scalar";
  const auto value = node.as<std::string>();
  if (capability_keys().count(key)) {
    const bool numeric = key == "maximum_qos" || key == "topic_alias_maximum" || key == "receive_maximum" ||
                         key == "server_keep_alive" || key == "maximum_packet_size";
    if (numeric) {
      auto n = to_number(value);
      if (!n || (key == "maximum_qos" && *n > 2) || (key != "maximum_packet_size" && *n > 65535) ||
          *n > 268435460)
        return where(file, node) + "feature `" + key + "` needs a number in range, got '" + value + "'";
    } else if (!to_bool(value)) {
      return where(file, node) + "feature `" + key + "` needs true or false, got '" + value + "'";
    }
  } else if (std::find(profile_only_features().begin(), profile_only_features().end(), key) !=
             profile_only_features().end()) {
    if (!to_bool(value)) return where(file, node) + "feature `" + key + "` needs true or false, got '" + value + "'";
  } else {
    // A name nothing reads would silently change nothing: a typo must not pass.
    return where(file, key_node) + "unknown feature `" + key + "` (" + feature_keys_text() + ")";
  }
  return "";
}

}  // namespace

ProfileResult load_profile(const std::string& path) {
  ProfileResult result;
  result.profile.file = path;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    result.error = path + ": cannot read profile file";
    return result;
  } catch (const YAML::Exception& e) {
    result.error = path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                   ": " + e.msg;
    return result;
  }
  try {
    if (!root.IsMap()) {
      result.error = path + ":1:1: a profile is a mapping (name, features, known_deviations)";
      return result;
    }
    for (const auto& kv : root) {
      const auto key = kv.first.as<std::string>();
      const YAML::Node& value = kv.second;
      if (key == "name" || key == "broker" || key == "description") {
        if (!value.IsScalar()) {
          result.error = where(path, value) + "`" + key + "` must be a string";
          return result;
        }
        if (key == "name") result.profile.name = value.as<std::string>();
      } else if (key == "features") {
        // Either features: {key: value} for every version, or features: {"3.1.1": {...}, "5": {...}}.
        if (!value.IsMap()) {
          result.error = where(path, value) + "`features` must be a mapping";
          return result;
        }
        // Version-specific blocks win over plain keys, whatever their order in the file.
        std::map<std::string, std::map<std::string, std::string>> specific, common;
        for (const auto& fkv : value) {
          const auto fkey = fkv.first.as<std::string>();
          if (fkey == "3.1.1" || fkey == "5") {
            if (!fkv.second.IsMap()) {
              result.error = where(path, fkv.second) + "`features: " + fkey + ":` must be a mapping";
              return result;
            }
            for (const auto& vkv : fkv.second) {
              const auto vkey = vkv.first.as<std::string>();
              auto err = check_feature(path, vkey, vkv.first, vkv.second);
              if (!err.empty()) {
                result.error = err;
                return result;
              }
              specific[fkey][vkey] = vkv.second.as<std::string>();
            }
          } else {
            auto err = check_feature(path, fkey, fkv.first, fkv.second);
            if (!err.empty()) {
              result.error = err;
              return result;
            }
            for (const char* v : {"3.1.1", "5"}) common[v][fkey] = fkv.second.as<std::string>();
          }
        }
        for (const char* v : {"3.1.1", "5"}) {
          auto& out = result.profile.features[v];
          for (const auto& [k, val] : common[v]) out[k] = val;
          for (const auto& [k, val] : specific[v]) out[k] = val;
        }
      } else if (key == "protocols") {
        // The versions the broker speaks, declared instead of probed (docs/runner.md).
        if (!value.IsSequence() || value.size() == 0) {
          result.error = where(path, value) + "`protocols` must be a list of MQTT versions: [3.1.1], [5] or [3.1.1, 5]";
          return result;
        }
        std::vector<std::string> versions;
        for (const auto& v : value) {
          const auto text = v.IsScalar() ? v.as<std::string>() : std::string();
          const auto version = mqtt::parse_version(text);
          if (!version || *version == mqtt::Version::v3_1) {
            result.error = where(path, v) + "`protocols`: expected 3.1.1 or 5, got '" + text +
                           "' (MQTT 3.1 is the feature `mqtt31`)";
            return result;
          }
          versions.emplace_back(mqtt::to_string(*version));
        }
        result.profile.protocols = std::move(versions);
      } else if (key == "acl_denied_topics") {
        if (!value.IsSequence()) {
          result.error = where(path, value) + "`acl_denied_topics` must be a list of topics";
          return result;
        }
        for (const auto& t : value) result.profile.acl_denied_topics.push_back(t.as<std::string>());
      } else if (key == "known_deviations") {
        if (!value.IsSequence() && !value.IsNull()) {
          result.error = where(path, value) + "`known_deviations` must be a list of {scenario, statement, reason}";
          return result;
        }
        if (value.IsNull()) continue;
        for (const auto& d : value) {
          if (!d.IsMap()) {
            result.error = where(path, d) + "a known deviation is {scenario: GLOB, statement: MQTT-x.x.x-y, reason: TEXT}";
            return result;
          }
          KnownDeviation dev;
          dev.line = d.Mark().line + 1;
          for (const auto& dkv : d) {
            const auto dkey = dkv.first.as<std::string>();
            if (!dkv.second.IsScalar()) {
              result.error = where(path, dkv.second) + "`" + dkey + "` must be a string";
              return result;
            }
            if (dkey == "scenario") dev.scenario = dkv.second.as<std::string>();
            else if (dkey == "statement") dev.statement = dkv.second.as<std::string>();
            else if (dkey == "reason") dev.reason = dkv.second.as<std::string>();
            else {
              result.error = where(path, dkv.first) + "unknown key `" + dkey + "` in a known deviation (scenario, statement, reason)";
              return result;
            }
          }
          if (dev.scenario.empty() || dev.statement.empty() || dev.reason.empty()) {
            result.error = where(path, d) + "a known deviation needs `scenario`, `statement` and `reason`";
            return result;
          }
          result.profile.known_deviations.push_back(std::move(dev));
        }
      } else {
        result.error = where(path, kv.first) + "unknown key `" + key +
                       "` (name, broker, description, protocols, features, acl_denied_topics, known_deviations)";
        return result;
      }
    }
  } catch (const YAML::Exception& e) {
    result.error = path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                   ": " + e.msg;
  }
  return result;
}

void apply_profile(const Profile& profile, const std::string& protocol, Capabilities& caps) {
  auto it = profile.features.find(protocol);
  if (it == profile.features.end()) return;
  for (const auto& [key, value] : it->second) {
    const auto n = to_number(value).value_or(0);
    const auto b = to_bool(value).value_or(false);
    if (key == "maximum_qos") caps.maximum_qos = static_cast<std::uint8_t>(n);
    else if (key == "retain_available") caps.retain_available = b;
    else if (key == "wildcard_subscription_available") caps.wildcard_subscription_available = b;
    else if (key == "shared_subscription_available") caps.shared_subscription_available = b;
    else if (key == "subscription_identifier_available") caps.subscription_identifier_available = b;
    else if (key == "topic_alias_maximum") caps.topic_alias_maximum = static_cast<std::uint16_t>(n);
    else if (key == "receive_maximum") caps.receive_maximum = static_cast<std::uint16_t>(n);
    else if (key == "server_keep_alive") caps.server_keep_alive = static_cast<std::uint16_t>(n);
    else if (key == "maximum_packet_size") caps.maximum_packet_size = static_cast<std::uint32_t>(n);
    else caps.extra[key] = b;
  }
}

Capabilities default_capabilities(const std::string& protocol) {
  Capabilities caps;
  const bool v5 = protocol == "5";
  // Mandatory in both versions: wills, persistent sessions. 5.0-only concepts default to
  // false for 3.1.1 unless a profile says the broker offers them there too.
  caps.extra = {{"wills", true},           {"persistent_sessions", true},
                {"message_expiry", v5},    {"request_response", v5},
                {"enhanced_auth", false},  {"mqtt31", false}};  // every one of profile_only_features()
  if (!v5) {
    caps.shared_subscription_available = false;
    caps.subscription_identifier_available = false;
  }
  return caps;
}

std::vector<std::string> unmet_requirements(const std::vector<std::string>& requires_,
                                            const Capabilities& caps, bool embedded_broker) {
  std::vector<std::string> unmet;
  for (const auto& r : requires_) {
    auto need = [&](bool ok, const std::string& what) {
      if (!ok) unmet.push_back(r + " (broker has " + what + ")");
    };
    const std::string qos = "maximum_qos=" + std::to_string(caps.maximum_qos);
    if (r == "qos1") need(caps.maximum_qos >= 1, qos);
    else if (r == "qos2") need(caps.maximum_qos >= 2, qos);
    else if (r == "retain") need(caps.retain_available, "retain_available=false");
    else if (r == "wildcard_subscriptions") need(caps.wildcard_subscription_available, "wildcard_subscription_available=false");
    else if (r == "shared_subscriptions") need(caps.shared_subscription_available, "shared_subscription_available=false");
    else if (r == "subscription_identifiers") need(caps.subscription_identifier_available, "subscription_identifier_available=false");
    else if (r == "topic_aliases") need(caps.topic_alias_maximum > 0, "topic_alias_maximum=0");
    else if (r == "embedded") {
      if (!embedded_broker) unmet.push_back(r + " (needs the embedded broker: run without --broker)");
    } else {
      auto it = caps.extra.find(r);
      if (it == caps.extra.end()) unmet.push_back(r + " (not declared by the broker profile)");
      else if (!it->second) unmet.push_back(r + " (broker profile: " + r + ": false)");
    }
  }
  return unmet;
}

const KnownDeviation* find_known_deviation(const Profile& profile, const std::string& scenario_name,
                                           const std::string& file,
                                           const std::vector<std::string>& statements) {
  for (const auto& dev : profile.known_deviations) {
    if (!pattern_matches(dev.scenario, scenario_name, file)) continue;
    if (dev.statement == "*") return &dev;
    if (std::find(statements.begin(), statements.end(), dev.statement) != statements.end()) return &dev;
  }
  return nullptr;
}

std::vector<const KnownDeviation*> deviations_matching_nothing(
    const Profile& profile, const std::vector<std::pair<std::string, std::string>>& scenarios) {
  std::vector<const KnownDeviation*> unmatched;
  for (const auto& dev : profile.known_deviations)
    if (std::none_of(scenarios.begin(), scenarios.end(),
                     [&](const auto& s) { return pattern_matches(dev.scenario, s.first, s.second); }))
      unmatched.push_back(&dev);
  return unmatched;
}

}  // namespace mqtth::runner
