// The MQTT normative statement lists (docs/spec/mqtt-3.1.1.tsv, docs/spec/mqtt-5.0.tsv),
// compiled into the binary at build time (library mqtth_spec: no dependencies, so the
// scenario loader validates statement ids with it too).
//
// The same id names different statements in 3.1.1 and 5.0, so everything is per version.
// What a run did with each statement (held, violated, ...) and spec coverage: Verdicts.hpp.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace mqtth::report {

enum class SpecVersion : unsigned char { v3_1_1, v5 };
std::string_view to_string(SpecVersion);                    // "3.1.1", "5"
// Accepts a scenario protocol: "3.1.1" -> v3_1_1, "5" / "5.0" -> v5; anything else nullopt.
std::optional<SpecVersion> spec_version_for_protocol(std::string_view protocol);

struct Statement {
  std::string_view id;       // "MQTT-3.3.1-4"
  std::string_view section;  // "3.3.1"
  std::string_view actor;    // server | client | both | receiver
  std::string_view cls;      // broker-observable | client-obligation | not-testable
  std::string_view summary;  // the project's own short wording
  bool broker_observable() const { return cls == "broker-observable"; }
  // What a harness playing the server can see a client under test meet or break: every
  // testable statement binding the client, either side or the receiver (docs/clients.md).
  bool client_observable() const { return cls != "not-testable" && actor != "server"; }
};

std::span<const Statement> statements(SpecVersion);
const Statement* find_statement(SpecVersion, std::string_view id);

}  // namespace mqtth::report
