// The MQTT normative statement lists (docs/spec/mqtt-3.1.1.tsv, docs/spec/mqtt-5.0.tsv),
// compiled into the binary at build time, and spec coverage of a run.
//
// The same id names different statements in 3.1.1 and 5.0, so everything is per version.
// Coverage denominator: the broker-observable statements (101 for 3.1.1, 200 for 5.0).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mqtth::report {

struct ScenarioResult;

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
};

std::span<const Statement> statements(SpecVersion);
const Statement* find_statement(SpecVersion, std::string_view id);

struct StatementCoverage {
  const Statement* statement = nullptr;
  std::vector<std::string> scenarios;  // "name (file)" of the scenarios that check it
};

struct Coverage {
  SpecVersion version = SpecVersion::v3_1_1;
  std::size_t covered = 0;   // broker-observable statements checked by >= 1 scenario
  std::size_t total = 0;     // broker-observable statements (101 / 200)
  double percent = 0;        // 100 * covered / total
  std::vector<StatementCoverage> rows;       // every statement of the version, file order
  std::vector<std::string> unknown_ids;      // ids cited by scenarios but not in the list
};

// A scenario counts for the version of its `protocol` and only if it ran (status passed
// or failed); skipped and error scenarios check nothing.
Coverage coverage(std::span<const ScenarioResult> scenarios, SpecVersion version);

}  // namespace mqtth::report
