// Helpers shared by the codec fuzz targets.
#pragma once

#include <mqtt/codec.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

namespace mqtth::fuzz {

// Fails the run with a message; libFuzzer (and the replay driver) record the input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

// Reads every field of a decoded packet, so an out-of-bounds view is touched here (ASan)
// rather than much later; returns a checksum so the reads are not optimised away.
inline std::size_t touch(const mqtt::PacketView& packet) {
  std::size_t sum = 0;
  auto touch_string = [&sum](std::string_view s) {
    for (char c : s) sum += static_cast<unsigned char>(c);
  };
  auto touch_properties = [&](const mqtt::PropertiesView& props) {
    for (const auto& p : props) {
      sum += p.number + static_cast<std::size_t>(p.id);
      touch_string(p.key);
      touch_string(p.value);
    }
  };
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (requires { p.properties; }) touch_properties(p.properties);
        if constexpr (requires { p.topic; }) touch_string(p.topic);
        if constexpr (requires { p.payload; }) touch_string(p.payload);
        if constexpr (std::is_same_v<T, mqtt::ConnectView>) {
          touch_string(p.protocol_name);
          touch_string(p.client_id);
          if (p.will) {
            touch_string(p.will->topic);
            touch_string(p.will->payload);
            touch_properties(p.will->properties);
          }
          if (p.username) touch_string(*p.username);
          if (p.password) touch_string(*p.password);
        }
        if constexpr (std::is_same_v<T, mqtt::SubscribeView>)
          for (const auto& s : p.subscriptions) touch_string(s.filter);
        if constexpr (std::is_same_v<T, mqtt::UnsubscribeView>)
          for (const auto& f : p.filters) touch_string(f);
      },
      packet);
  return sum;
}

// The codec's name tables must agree with what decode() accepted: every property a decoded
// packet carries is known, named, parses back from its name and is allowed where it
// appeared (5.0 2.2.2.2 table 2-4); every 5.0 reason code it carries is defined for its
// packet type and has a name (5.0 2.4); the packet type and version names parse back.
inline void check_names(const mqtt::PacketView& packet, mqtt::Version version) {
  const auto type = mqtt::packet_type(packet);
  if (mqtt::parse_packet_type(mqtt::to_string(type)) != type) fail("packet type name does not parse back");
  if (mqtt::parse_version(mqtt::to_string(version)) != version) fail("version name does not parse back");
  auto check_properties = [type](const mqtt::PropertiesView& props, mqtt::PropertyContext ctx) {
    for (auto it = props.begin(); it != props.end(); it++) {
      const auto name = mqtt::property_name(it->id);
      if (name.empty()) fail("a decoded property has no name");
      if (mqtt::parse_property_name(name) != it->id) fail("property name does not parse back");
      if (!mqtt::property_type(static_cast<std::uint8_t>(it->id))) fail("a decoded property has no type");
      if (!mqtt::property_allowed(it->id, type, ctx)) fail("decoded a property not allowed there");
      if (!props.find(it->id)) fail("PropertiesView::find misses a property it iterates");
    }
  };
  const bool v5 = version == mqtt::Version::v5;
  auto check_reason = [&](std::uint8_t code) {
    const auto name = mqtt::reason_code_name(code, type, version);
    if (v5 && (name.empty() || !mqtt::reason_code_allowed(code, type)))
      fail("decoded a 5.0 reason code not defined for its packet type");
  };
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (requires { p.properties; }) check_properties(p.properties, mqtt::PropertyContext::packet);
        if constexpr (requires { p.reason_code; }) check_reason(p.reason_code);
        if constexpr (requires { p.reason_codes; })
          for (auto code : p.reason_codes) check_reason(code);
        if constexpr (std::is_same_v<T, mqtt::ConnectView>)
          if (p.will) check_properties(p.will->properties, mqtt::PropertyContext::will);
      },
      packet);
}

// Every decode error has a code with a name (the JSON report's `error` field).
inline void check_error_name(const mqtt::Error& error) {
  const auto name = mqtt::to_string(error.code);
  if (name.empty() || name == "unknown") fail("a decode error code has no name");
}

}  // namespace mqtth::fuzz
