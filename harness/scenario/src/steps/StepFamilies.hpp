// The step descriptors, one per step kind, defined beside their parse functions in one
// file per family; StepTable.cpp puts them in order.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>

#include "loader/Parser.hpp"

namespace mqtth::scenario::steps {

inline constexpr std::string_view kClientDoc = "a client declared under `clients:`";
inline constexpr std::string_view kWithinDefault = "the scenario's `timeout`";
inline constexpr KeySpec kClientKey{"client", ValueType::client, true, {}, kClientDoc};

// The keys of several tables, in order, as one table.
template <std::size_t... N>
constexpr auto concat(const KeySpec (&... parts)[N]) {
  std::array<KeySpec, (N + ...)> out{};
  std::size_t at = 0;
  ((at = static_cast<std::size_t>(std::copy(std::begin(parts), std::end(parts), out.begin() + at) - out.begin())), ...);
  return out;
}

// ConnectionSteps.cpp
const StepDescriptor& connect_step();
const StepDescriptor& reconnect_step();
const StepDescriptor& disconnect_step();
const StepDescriptor& expect_connack_step();
const StepDescriptor& expect_disconnect_step();
// MessageSteps.cpp
const StepDescriptor& subscribe_step();
const StepDescriptor& unsubscribe_step();
const StepDescriptor& publish_step();
// RawSteps.cpp
const StepDescriptor& send_raw_step();
const StepDescriptor& send_packet_step();
// ExpectationSteps.cpp
const StepDescriptor& expect_packet_step();
const StepDescriptor& expect_no_packet_step();
const StepDescriptor& expect_delivery_step();
const StepDescriptor& expect_suback_step();
const StepDescriptor& any_of_step();
const StepDescriptor& sleep_step();
// FaultSteps.cpp
const StepDescriptor& fault_step();
const StepDescriptor& misbehave_step();
std::span<const MappingSpec* const> fault_param_keys();  // fault_cut ... fault_reorder
// ServerRoleSteps.cpp (role: server, docs/clients.md)
const StepDescriptor& accept_connection_step();
const StepDescriptor& client_command_step();
const StepDescriptor& expect_client_received_step();
const StepDescriptor& send_ack_step();
const StepDescriptor& expect_client_event_step();
// Whether a scenario with `role: server` can hold a step of `kind`: the steps that act on
// the harness's own side of a link (the rest drive a client session of the harness).
bool server_role_step(StepKind kind);

}  // namespace mqtth::scenario::steps
