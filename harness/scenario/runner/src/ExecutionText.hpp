// Text and small helpers the Execution files share (internal to mqtth_runner): how codes,
// durations and packet types are written in step summaries and failure messages.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <mqtt/codec.hpp>

#include "mqtth/scenario/Scenario.hpp"

namespace mqtth::runner {

inline std::string hex_byte(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", v & 0xFFu);
  return buf;
}

inline std::string ms_text(std::int64_t ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

inline std::string codes_text(const std::vector<std::uint8_t>& codes) {
  std::string s = "[";
  for (std::size_t i = 0; i < codes.size(); ++i) s += (i ? ", " : "") + hex_byte(codes[i]);
  return s + "]";
}

inline std::string type_name(mqtt::PacketType t) { return std::string(mqtt::to_string(t)); }

// The client a step acts on ("" for sleep; the subscriber of expect_delivery).
inline std::string step_client(const scenario::StepAction& action) {
  return std::visit(
      [](const auto& s) -> std::string {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, scenario::SleepStep>) return "";
        else if constexpr (std::is_same_v<S, scenario::ExpectDeliveryStep>) return s.subscriber;
        else return s.client;
      },
      action);
}

}  // namespace mqtth::runner
