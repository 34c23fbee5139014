// Text and small helpers the Execution files share (internal to mqtth_runner): how codes,
// durations and packet types are written in step summaries and failure messages.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <mqtt/codec.hpp>
#include <mqtt/hex.hpp>
#include <mqtth/common/Duration.hpp>

#include "mqtth/report/Report.hpp"
#include "mqtth/runner/Statements.hpp"
#include "mqtth/scenario/Scenario.hpp"

namespace mqtth::runner {

using mqtt::hex_byte;  // "0x81" (mqtt/hex.hpp)

inline std::string ms_text(std::int64_t ms) { return common::format_duration(std::chrono::milliseconds(ms)); }

inline std::string codes_text(const std::vector<std::uint8_t>& codes) {
  std::string s = "[";
  for (std::size_t i = 0; i < codes.size(); ++i) s += (i ? ", " : "") + hex_byte(codes[i]);
  return s + "]";
}

inline std::string type_name(mqtt::PacketType t) { return std::string(mqtt::to_string(t)); }

// The client a step acts on ("" for sleep and any_of; the subscriber of expect_delivery).
inline std::string step_client(const scenario::StepAction& action) {
  return std::visit(
      [](const auto& s) -> std::string {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, scenario::ExpectDeliveryStep>) return s.subscriber;
        else if constexpr (requires { s.client; }) return s.client;
        else return "";
      },
      action);
}

// One line per step for reports: its kind and what it acts on ("publish pub t/a qos1 x3").
inline std::string step_summary(const scenario::Step& step) {
  std::string text = std::string(scenario::step_kind_name(step.kind()));
  std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, scenario::SleepStep>) {
          text += " " + ms_text(s.duration.count());
        } else if constexpr (std::is_same_v<S, scenario::ExpectDeliveryStep>) {
          text += " " + s.publisher + " -> " + s.subscriber + " " +
                  std::string(scenario::guarantee_name(s.guarantee)) + (s.ordered ? " ordered" : "");
        } else if constexpr (std::is_same_v<S, scenario::PublishStep>) {
          text += " " + s.client + " " + s.topic + " qos" + std::to_string(s.qos) +
                  (s.count > 1 ? " x" + std::to_string(s.count) : "") + (s.retain ? " retain" : "");
        } else if constexpr (std::is_same_v<S, scenario::SubscribeStep>) {
          text += " " + s.client;
          for (const auto& sub : s.subscriptions) text += " " + sub.filter + " qos" + std::to_string(sub.qos);
        } else if constexpr (std::is_same_v<S, scenario::ExpectPacketStep>) {
          text += " " + s.client + " " + type_name(s.type);
        } else if constexpr (std::is_same_v<S, scenario::ClientCommandStep>) {
          text += " " + s.command;
        } else if constexpr (std::is_same_v<S, scenario::ExpectClientReceivedStep>) {
          text += " " + s.topic;
        } else if constexpr (std::is_same_v<S, scenario::ExpectClientEventStep>) {
          text += " " + s.event;
        } else if constexpr (std::is_same_v<S, scenario::AnyOfStep>) {
          text += " of " + std::to_string(s.branches.size()) + " alternatives";
        } else if constexpr (requires { s.client; }) {
          text += " " + s.client;
        }
      },
      step.action);
  return text;
}

// A scenario's result before it runs: every step listed, skipped until it runs. What the
// scenario checks is its spec: and its steps' (a step's id held when the scenario passed).
inline report::ScenarioResult planned_result(const scenario::Scenario& scenario) {
  report::ScenarioResult r;
  r.name = scenario.name;
  r.file = scenario.file;
  r.protocol = std::string(mqtt::to_string(scenario.protocol));
  r.server_role = scenario.role == scenario::Role::server;
  r.spec = scenario.spec;
  for (const auto& step : scenario.steps)
    if (!step.spec.empty() && std::find(r.spec.begin(), r.spec.end(), step.spec) == r.spec.end()) r.spec.push_back(step.spec);
  for (std::size_t i = 0; i < scenario.steps.size(); ++i) {
    report::StepResult sr;
    sr.index = static_cast<int>(i + 1);
    sr.line = scenario.steps[i].where.line;
    sr.kind = std::string(scenario::step_kind_name(scenario.steps[i].kind()));
    sr.summary = step_summary(scenario.steps[i]);
    sr.status = report::Status::skipped;
    r.steps.push_back(std::move(sr));
  }
  return r;
}

// Whether a SUBACK's codes are the expected ones, one by one: the same code, or with
// at_most_qos a granted QoS no higher than the given one.
inline bool suback_codes_match(const std::vector<std::uint8_t>& got, const std::vector<scenario::SubackCode>& want) {
  if (got.size() != want.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (want[i].at_most_qos ? got[i] > want[i].value : got[i] != want[i].value) return false;
  return true;
}

// Which check a SUBACK that does not match `want` fails: a code count that is not one per
// filter, or an `at_most_qos` entry answered by a failure code (a refusal the spec allows) or
// by a grant above the QoS allowed there (no code the filter can have), are the SUBACK's own
// checks; any other mismatch is the step's expectation.
inline Check suback_mismatch_check(const std::vector<std::uint8_t>& got, const std::vector<scenario::SubackCode>& want) {
  if (got.size() != want.size()) return Check::suback_count;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!want[i].at_most_qos || got[i] <= want[i].value) continue;
    if (got[i] >= 0x80) return Check::subscription_refused;
  }
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!want[i].at_most_qos && got[i] != want[i].value) return Check::expectation;
  return Check::suback_count;
}

inline std::string suback_codes_text(const std::vector<scenario::SubackCode>& want) {
  std::string s = "[";
  for (std::size_t i = 0; i < want.size(); ++i)
    s += (i ? ", " : "") + (want[i].at_most_qos ? "QoS 0.." + std::to_string(want[i].value) : hex_byte(want[i].value));
  return s + "]";
}

}  // namespace mqtth::runner
