// Broker profiles: what the broker under test can do, and where it knowingly deviates.
//
// Capabilities come from two places (docs/runner.md "Broker profiles"):
//  1. a probe connection at the start of a run, per protocol version: an MQTT 5 CONNACK
//     announces maximum_qos, retain_available, wildcard_subscription_available,
//     shared_subscription_available, subscription_identifier_available,
//     topic_alias_maximum, receive_maximum, server_keep_alive, maximum_packet_size
//     (3.2.2.3); an absent property means the spec's default;
//  2. `--profile FILE` (YAML) for what CONNACK cannot say: every 3.1.1 feature, the
//     features only a profile can state (wills, persistent_sessions, message_expiry,
//     request_response, enhanced_auth, mqtt31), the versions the broker speaks, ACL-denied
//     topics and known deviations. Any other key is an error.
// For a property the 5.0 CONNACK carries, the announced value wins over the profile.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mqtth::runner {

struct Capabilities {
  std::uint8_t maximum_qos = 2;
  bool retain_available = true;
  bool wildcard_subscription_available = true;
  bool shared_subscription_available = true;
  bool subscription_identifier_available = true;
  std::uint16_t topic_alias_maximum = 0;   // 0: the broker accepts no topic aliases
  std::uint16_t receive_maximum = 65535;
  std::optional<std::uint16_t> server_keep_alive;
  std::optional<std::uint32_t> maximum_packet_size;  // nullopt: no limit announced
  // The features only a profile states (see above), by their `requires:` names.
  std::map<std::string, bool> extra;
};

struct KnownDeviation {
  std::string scenario;   // scenario name, file path or glob (Selection.hpp pattern_matches)
  std::string statement;  // "MQTT-3.3.1-4" or "*": which failure it covers
  std::string reason;
  int line = 0;           // in the profile file
};

struct Profile {
  std::string name;        // "mosquitto-2.0"
  std::string file;        // path it was read from ("" = built in)
  // Per protocol ("3.1.1", "5"): the features as the profile states them. Keys present
  // in the YAML only; the rest come from the probe or the defaults.
  std::map<std::string, std::map<std::string, std::string>> features;
  // `protocols: [3.1.1]`: the MQTT versions the broker speaks ("3.1.1", "5"), declared
  // instead of probed. Unset: each version the run uses is probed.
  std::optional<std::vector<std::string>> protocols;
  std::vector<std::string> acl_denied_topics;
  std::vector<KnownDeviation> known_deviations;
};

struct ProfileResult {
  Profile profile;
  std::optional<std::string> error;  // "FILE:LINE:COL: message"
  bool ok() const { return !error.has_value(); }
};
ProfileResult load_profile(const std::string& path);

// Applies the profile's statements for `protocol` onto `caps` (used before the probe's
// announced values are applied; for 3.1.1 nothing is announced). The profile-only
// features go to `extra`.
void apply_profile(const Profile& profile, const std::string& protocol, Capabilities& caps);

// What a broker is assumed to offer before the probe and the profile speak: the spec's
// defaults for `protocol` ("3.1.1" or "5").
Capabilities default_capabilities(const std::string& protocol);

// The scenario's `requires:` entries (scenario::feature_name() names) the broker cannot
// satisfy, each with the reason ("shared_subscriptions (broker has
// shared_subscription_available=false)"). Empty: the scenario runs.
//   announced in a 5.0 CONNACK: qos1, qos2, retain, wildcard_subscriptions,
//     shared_subscriptions, subscription_identifiers, topic_aliases
//   from the profile only (`features:`): wills, persistent_sessions, message_expiry,
//     request_response, enhanced_auth, mqtt31 (defaults: default_capabilities()).
std::vector<std::string> unmet_requirements(const std::vector<std::string>& requires_,
                                            const Capabilities& caps, bool embedded_broker);

// The first known deviation covering a failure of `scenario_name`/`file` that cites
// `statements` (the failure's primary statement, or none; empty list: only "*" deviations match).
const KnownDeviation* find_known_deviation(const Profile& profile, const std::string& scenario_name,
                                           const std::string& file,
                                           const std::vector<std::string>& statements);

// The known deviations whose `scenario` pattern matches none of `scenarios` (name, file):
// stale or mistyped entries, which would otherwise silently excuse nothing.
std::vector<const KnownDeviation*> deviations_matching_nothing(
    const Profile& profile, const std::vector<std::pair<std::string, std::string>>& scenarios);

}  // namespace mqtth::runner
