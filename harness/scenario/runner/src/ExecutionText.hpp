// Text and small helpers the Execution files share (internal to mqtth_runner): how codes,
// durations and packet types are written in step summaries and failure messages.
#pragma once

#include <cctype>
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

inline std::string suback_codes_text(const std::vector<scenario::SubackCode>& want) {
  std::string s = "[";
  for (std::size_t i = 0; i < want.size(); ++i)
    s += (i ? ", " : "") + (want[i].at_most_qos ? "QoS 0.." + std::to_string(want[i].value) : hex_byte(want[i].value));
  return s + "]";
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
