// Helpers shared by the codec fuzz targets.
#pragma once

#include <mqtt/codec.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
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

}  // namespace mqtth::fuzz
