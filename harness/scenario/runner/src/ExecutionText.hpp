// Text and small helpers the Execution files share (internal to mqtth_runner): how codes,
// durations and packet types are written in step summaries and failure messages.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <mqtt/codec.hpp>
#include <mqtt/hex.hpp>
#include <mqtth/common/Duration.hpp>

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
