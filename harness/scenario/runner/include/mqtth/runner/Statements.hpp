// Which statement a failure names (docs/reports.md "Which statement a failure names").
//
// Every failure of a scenario names exactly one primary statement of the scenario's
// version, or none with the reason. A broker violation the client session or the codec
// found carries its own. Otherwise the failing check decides, in this order:
//   1. checks that are no spec violation (the harness could not reach the broker, the
//      scenario cannot run as written, the harness's own timeout, a refusal the spec
//      allows): no statement, with the reason;
//   2. the failing step's `spec:`;
//   3. the check's own default statement (this table), e.g. a SUBSCRIBE without SUBACK
//      -> MQTT-3.8.4-1;
//   4. the scenario's `spec:` when it holds exactly one id for the version;
//   5. none: "no statement" -- steps_without_statement() finds those steps beforehand.
// Pure (no Qt): unit-tested and used by the suite lint.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mqtth/scenario/Scenario.hpp"

namespace mqtth::runner {

enum class Check : std::uint8_t {
  // No spec violation: never a statement.
  unreachable,            // no TCP connection to the broker
  scenario_problem,       // the scenario cannot run as written (not connected, does not fit its timeout)
  harness,                // the harness's own problem (a packet it cannot build or send)
  harness_timeout,        // the harness's deadline passed with no check waiting on the broker
  connect_not_accepted,   // a CONNECT the scenario expected to succeed was refused, closed or not answered
  subscription_refused,   // a SUBACK failure code where the scenario expected a grant
  // A default statement, unless the step's `spec:` names one.
  session_present_clean,     // Clean Start 1: Session Present must be 0
  session_present_resumed,   // a stored session resumed: Session Present must be 1
  session_present_new,       // Clean Start 0 without a stored session: Session Present must be 0
  suback_missing,            // a SUBSCRIBE without SUBACK
  suback_count,              // not one SUBACK code per filter
  unsuback_missing,          // an UNSUBSCRIBE without UNSUBACK
  ack_missing,               // a QoS 1/2 PUBLISH the broker did not acknowledge
  close_after_violation,     // the broker did not close after a packet the scenario wrote raw
  // The step's `spec:`, else the scenario's one id.
  expectation,               // any other check of an expect step (a packet, a code, a delivery count ...)
};

struct CheckInfo {
  Check check;
  std::string_view name;           // as in docs/reports.md's table
  bool spec_violation;             // false: rule 1 (no statement)
  std::string_view statement_311;  // default statement (rule 3), "" = none
  std::string_view statement_5;
  std::string_view see_also_311;   // "" = none
  std::string_view see_also_5;
  std::string_view no_statement;   // rule 1: why there is none
};
std::span<const CheckInfo> checks();
const CheckInfo& check_info(Check);

// What a failure names: one statement, or none with the reason.
struct Citation {
  std::string statement;
  std::vector<std::string> see_also;
  std::string no_statement;
};

// The citation of a failing `check` of `step` (nullptr: not tied to a step) in `scenario`.
Citation cite(Check check, const scenario::Scenario& scenario, const scenario::Step* step);
// A finding that carries its own statement (a broker violation, a ledger verdict): `id` when
// it is a statement of the scenario's version (see_also: those that are), else nullopt and
// the caller says why there is none or falls back to cite().
std::optional<Citation> cite_finding(std::string_view id, std::vector<std::string> see_also,
                                     const scenario::Scenario& scenario);

// The steps of `scenario` one of whose checks would fail naming no statement (rules 2-4 give
// nothing): "file:line: kind (check)". The suite lint expects none.
std::vector<std::string> steps_without_statement(const scenario::Scenario& scenario);

}  // namespace mqtth::runner
