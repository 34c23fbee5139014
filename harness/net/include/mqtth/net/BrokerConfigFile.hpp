// The `mqtt-harness broker --config FILE` loader: YAML -> engine::BrokerConfig.
//
// Strict, like the scenario loader: every unknown key, wrong type, out-of-range value or
// duplicate key is an error naming FILE:LINE and the dotted key (e.g.
// "broker.yaml:7: limits.max_inflight: expected an integer in 1..65535, got 'lots'").
// docs/broker-server.md documents every key. No Qt: also usable from the scenario runner.
#pragma once

#include <mqtth/engine/BrokerConfig.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace mqtth::net {

struct ConfigError {
  std::string file;     // as given (for messages)
  int line = 0;         // 1-based; 0 when the error is not tied to a line (e.g. unreadable file)
  std::string key;      // dotted path of the offending key ("limits.max_inflight"), may be empty
  std::string message;  // what is wrong
  // "FILE:LINE: KEY: MESSAGE" (parts that are empty are left out).
  std::string to_string() const;
};

struct BrokerConfigResult {
  engine::BrokerConfig config;
  std::optional<ConfigError> error;  // set: `config` is unusable
  bool ok() const { return !error.has_value(); }
};

// Reads and checks FILE. A `users_file:` inside is resolved relative to FILE's folder.
BrokerConfigResult load_broker_config_file(const std::string& path);

// Checks YAML text; `file` names it in errors, `base_dir` resolves `users_file:`.
BrokerConfigResult parse_broker_config(std::string_view yaml, const std::string& file,
                                       const std::string& base_dir = ".");

// "drop-qos1" / "drop_qos1" ... -> Misbehave; nullopt for anything else.
std::optional<engine::Misbehave> parse_misbehave_mode(std::string_view);

}  // namespace mqtth::net
