// Which statement a failure names: the checks table and the rules of Statements.hpp. The
// table is docs/reports.md's ("Which statement a failure names"); runner_tests keeps the
// two equal and every id a broker-observable statement of its version.
#include "mqtth/runner/Statements.hpp"

#include <algorithm>
#include <array>

#include "ExecutionText.hpp"
#include "mqtth/report/Spec.hpp"

namespace mqtth::runner {

namespace {

constexpr std::array kChecks = {
    CheckInfo{Check::unreachable, "unreachable", false, {}, {}, {}, {},
              "the broker could not be reached (no TCP connection)"},
    CheckInfo{Check::scenario_problem, "scenario_problem", false, {}, {}, {}, {},
              "the scenario cannot run as written"},
    CheckInfo{Check::harness, "harness", false, {}, {}, {}, {}, "the harness could not build or send a packet"},
    CheckInfo{Check::harness_timeout, "harness_timeout", false, {}, {}, {}, {},
              "the harness's own timeout, no check was waiting on the broker"},
    CheckInfo{Check::connect_not_accepted, "connect_not_accepted", false, {}, {}, {}, {},
              "the broker did not accept the connection, which the spec allows (a refusal in CONNACK, or a close): "
              "the scenario could not run"},
    CheckInfo{Check::subscription_refused, "subscription_refused", false, {}, {}, {}, {},
              "the broker refused a subscription, which the spec allows: the scenario could not run"},
    CheckInfo{Check::session_present_clean, "session_present_clean", true, "MQTT-3.2.2-1", "MQTT-3.2.2-2", {}, {}, {}},
    CheckInfo{Check::session_present_resumed, "session_present_resumed", true, "MQTT-3.2.2-2", "MQTT-3.2.2-3", {}, {},
              {}},
    CheckInfo{Check::session_present_new, "session_present_new", true, "MQTT-3.2.2-3", "MQTT-3.2.2-3", {}, {}, {}},
    CheckInfo{Check::suback_missing, "suback_missing", true, "MQTT-3.8.4-1", "MQTT-3.8.4-1", {}, {}, {}},
    CheckInfo{Check::suback_count, "suback_count", true, "MQTT-3.8.4-5", "MQTT-3.8.4-6", {}, {}, {}},
    CheckInfo{Check::unsuback_missing, "unsuback_missing", true, "MQTT-3.10.4-4", "MQTT-3.10.4-4", {}, {}, {}},
    CheckInfo{Check::ack_missing, "ack_missing", true, "MQTT-3.3.4-1", "MQTT-3.3.4-1", {}, {}, {}},
    CheckInfo{Check::close_after_violation, "close_after_violation", true, "MQTT-4.8.0-1", "MQTT-4.13.1-1", {}, {}, {}},
    CheckInfo{Check::expectation, "expectation", true, {}, {}, {}, {}, {}},
};
static_assert(kChecks.size() == static_cast<std::size_t>(Check::expectation) + 1, "one row per Check, in order");

constexpr std::string_view kNoneFound =
    "no statement: the step has no spec:, its check no default, and the scenario's spec: does not hold exactly one id";

bool is_v5(const scenario::Scenario& s) { return s.protocol == mqtt::Version::v5; }

report::SpecVersion spec_version(const scenario::Scenario& s) {
  return is_v5(s) ? report::SpecVersion::v5 : report::SpecVersion::v3_1_1;
}

}  // namespace

std::span<const CheckInfo> checks() { return kChecks; }

const CheckInfo& check_info(Check c) { return kChecks[static_cast<std::size_t>(c)]; }

Citation cite(Check check, const scenario::Scenario& scenario, const scenario::Step* step) {
  const CheckInfo& info = check_info(check);
  if (!info.spec_violation) return {{}, {}, std::string(info.no_statement)};
  if (step && !step->spec.empty()) return {step->spec, {}, {}};
  const std::string_view id = is_v5(scenario) ? info.statement_5 : info.statement_311;
  if (!id.empty()) {
    Citation c{std::string(id), {}, {}};
    const std::string_view also = is_v5(scenario) ? info.see_also_5 : info.see_also_311;
    if (!also.empty()) c.see_also.emplace_back(also);
    return c;
  }
  if (scenario.spec.size() == 1) return {scenario.spec.front(), {}, {}};
  return {{}, {}, std::string(kNoneFound)};
}

std::optional<Citation> cite_finding(std::string_view id, std::vector<std::string> see_also,
                                     const scenario::Scenario& scenario) {
  if (id.empty() || !report::find_statement(spec_version(scenario), id)) return std::nullopt;
  std::erase_if(see_also, [&](const std::string& s) { return !report::find_statement(spec_version(scenario), s); });
  return Citation{std::string(id), std::move(see_also), {}};
}

std::vector<std::string> steps_without_statement(const scenario::Scenario& scenario) {
  using scenario::StepKind;
  std::vector<std::string> out;
  std::vector<std::string> wrote_raw;  // clients a send_raw step wrote on so far
  for (const auto& step : scenario.steps) {
    const std::string client = step_client(step.action);
    // Does one of the step's checks fall back to rules 2 and 4 (Check::expectation)?
    bool falls_back = false;
    switch (step.kind()) {
      case StepKind::expect_packet:
      case StepKind::expect_no_packet:
      case StepKind::expect_suback:
      case StepKind::expect_connack:
      case StepKind::expect_delivery:  // a delivery count, no message in the ledger
      case StepKind::any_of:           // no alternative held
        falls_back = true;
        break;
      case StepKind::expect_disconnect:
        falls_back = std::find(wrote_raw.begin(), wrote_raw.end(), client) == wrote_raw.end();
        break;
      case StepKind::connect:
      case StepKind::reconnect: {
        const auto& expect = step.kind() == StepKind::connect ? std::get<scenario::ConnectStep>(step.action).expect
                                                                : std::get<scenario::ReconnectStep>(step.action).expect;
        falls_back = expect && (expect->reason_code || !expect->properties.empty());
        break;
      }
      case StepKind::subscribe:
      {
        // Only an exact code can fail as the step's expectation (suback_mismatch_check).
        const auto& want = std::get<scenario::SubscribeStep>(step.action).expect_reason_codes;
        falls_back = want && std::any_of(want->begin(), want->end(), [](const auto& w) { return !w.at_most_qos; });
      }
        break;
      case StepKind::unsubscribe:
        falls_back = std::get<scenario::UnsubscribeStep>(step.action).expect_reason_codes.has_value();
        break;
      case StepKind::send_raw:
        wrote_raw.push_back(client);
        break;
      default: break;
    }
    if (falls_back && cite(Check::expectation, scenario, &step).statement.empty())
      out.push_back(scenario.file + ":" + std::to_string(step.where.line) + ": " +
                    std::string(scenario::step_kind_name(step.kind())) + " [" + scenario.name + "]");
  }
  return out;
}

}  // namespace mqtth::runner
