// Text and small helpers the Execution files share (internal to mqtth_runner): how codes,
// durations and packet types are written in step summaries and failure messages.
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <mqtt/codec.hpp>
#include <mqtt/hex.hpp>
#include <mqtth/common/Duration.hpp>

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

// Statement ids ("MQTT-x.y.z-n") mentioned in a text.
inline std::vector<std::string> spec_ids_in(const std::string& text) {
  std::vector<std::string> ids;
  std::size_t pos = 0;
  while ((pos = text.find("MQTT-", pos)) != std::string::npos) {
    std::size_t end = pos + 5;
    while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.' || text[end] == '-'))
      ++end;
    while (end > pos + 5 && (text[end - 1] == '.' || text[end - 1] == '-')) --end;
    if (end > pos + 5) ids.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return ids;
}

}  // namespace mqtth::runner
