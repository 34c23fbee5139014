#include "mqtth/scenario/Scenario.hpp"

#include <array>

namespace mqtth::scenario {

namespace {
constexpr std::array<std::string_view, 13> kFeatureNames = {
    "qos1", "qos2", "retain", "wildcard_subscriptions", "shared_subscriptions",
    "subscription_identifiers", "topic_aliases", "wills", "persistent_sessions",
    "message_expiry", "request_response", "enhanced_auth", "mqtt31"};
constexpr std::array<std::string_view, 8> kFaultNames = {
    "cut", "delay", "throttle", "segment", "corrupt", "blackhole", "duplicate", "reorder"};
}  // namespace

std::string_view feature_name(Feature f) { return kFeatureNames.at(static_cast<std::size_t>(f)); }

std::optional<Feature> parse_feature(std::string_view name) {
  for (std::size_t i = 0; i < kFeatureNames.size(); ++i)
    if (kFeatureNames[i] == name) return static_cast<Feature>(i);
  return std::nullopt;
}

const std::vector<std::string_view>& feature_names() {
  static const std::vector<std::string_view> names(kFeatureNames.begin(), kFeatureNames.end());
  return names;
}

std::string_view guarantee_name(Guarantee g) {
  switch (g) {
    case Guarantee::at_most_once: return "at_most_once";
    case Guarantee::at_least_once: return "at_least_once";
    case Guarantee::exactly_once: return "exactly_once";
  }
  return "";
}

std::string_view role_name(Role r) { return r == Role::server ? "server" : "client"; }

std::string_view fault_connections_name(FaultConnections c) {
  switch (c) {
    case FaultConnections::current: return "current";
    case FaultConnections::next: return "next";
    case FaultConnections::all: return "all";
  }
  return "";
}

std::string_view fault_kind_name(FaultKind k) { return kFaultNames.at(static_cast<std::size_t>(k)); }

std::string_view direction_name(Direction d) {
  switch (d) {
    case Direction::to_broker: return "to_broker";
    case Direction::to_client: return "to_client";
    case Direction::both: return "both";
  }
  return "";
}

const ClientSpec* Scenario::find_client(std::string_view client_name) const {
  for (const auto& c : clients)
    if (c.name == client_name) return &c;
  return nullptr;
}

std::string expand_seq(std::string_view text, std::uint32_t seq) {
  static constexpr std::string_view kToken = "{seq}";
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (true) {
    auto hit = text.find(kToken, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(std::to_string(seq));
    pos = hit + kToken.size();
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace mqtth::scenario
