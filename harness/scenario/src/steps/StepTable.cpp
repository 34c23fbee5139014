// The step table: every step kind's descriptor in documentation order, and the lookups by
// YAML name and by model kind.
#include <array>
#include <variant>

#include "steps/StepFamilies.hpp"

namespace mqtth::scenario {

namespace {
constexpr std::size_t kStepKinds = static_cast<std::size_t>(StepKind::expect_client_event) + 1;
static_assert(std::variant_size_v<StepAction> == kStepKinds, "StepAction has one alternative per StepKind, in order");

const auto& table() {
  static const auto descriptors = std::to_array<const StepDescriptor*>({
      &steps::connect_step(),        &steps::reconnect_step(),        &steps::disconnect_step(),
      &steps::subscribe_step(),      &steps::unsubscribe_step(),      &steps::publish_step(),
      &steps::send_raw_step(),       &steps::send_packet_step(),      &steps::expect_packet_step(),
      &steps::expect_no_packet_step(), &steps::expect_delivery_step(), &steps::expect_disconnect_step(),
      &steps::expect_connack_step(), &steps::expect_suback_step(),    &steps::any_of_step(),
      &steps::sleep_step(),          &steps::fault_step(),            &steps::misbehave_step(),
      &steps::accept_connection_step(), &steps::client_command_step(), &steps::expect_client_received_step(),
      &steps::send_ack_step(),          &steps::expect_client_event_step(),
  });
  return descriptors;
}

// Per StepKind, the first descriptor that loads into it (send_raw before send_packet).
const std::array<const StepDescriptor*, kStepKinds>& by_kind() {
  static const auto kinds = [] {
    std::array<const StepDescriptor*, kStepKinds> out{};
    for (const auto* d : table()) {
      auto& slot = out[static_cast<std::size_t>(d->kind)];
      if (!slot) slot = d;
    }
    return out;
  }();
  return kinds;
}
}  // namespace

std::span<const StepDescriptor* const> step_descriptors() { return table(); }

const StepDescriptor* find_step_descriptor(std::string_view name) {
  for (const auto* d : table())
    if (d->name == name) return d;
  return nullptr;
}

// Every StepKind has a descriptor: scenario_loader_tests checks it for each value.
const StepDescriptor& step_descriptor(StepKind kind) { return *by_kind().at(static_cast<std::size_t>(kind)); }

std::string_view step_kind_name(StepKind kind) { return step_descriptor(kind).name; }

std::span<const MappingSpec* const> mapping_specs() {
  static const auto specs = [] {
    std::vector<const MappingSpec*> out = {&scenario_keys(),           &client_keys(),         &will_keys(),
                                           &connack_expect_keys(),     &subscription_keys(),   &reason_codes_expect_keys(),
                                           &suback_codes_expect_keys(), &any_of_branch_keys(), &repeat_keys(),
                                           &explore_keys()};
    for (const auto* f : steps::fault_param_keys()) out.push_back(f);
    return out;
  }();
  return specs;
}

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::text: return "text";
    case ValueType::integer: return "integer";
    case ValueType::boolean: return "boolean";
    case ValueType::duration: return "duration";
    case ValueType::qos: return "QoS";
    case ValueType::reason_code: return "reason code";
    case ValueType::reason_codes: return "list of reason codes";
    case ValueType::suback_codes: return "list of reason codes or {at_most_qos: N}";
    case ValueType::hex: return "hex";
    case ValueType::client: return "client";
    case ValueType::client_list: return "list of clients";
    case ValueType::packet_type: return "packet type";
    case ValueType::packet_types: return "packet type(s)";
    case ValueType::version: return "version";
    case ValueType::version_list: return "list of versions";
    case ValueType::properties: return "properties";
    case ValueType::match_properties: return "properties to match";
    case ValueType::match_value: return "decode-JSON value";
    case ValueType::mapping: return "mapping";
    case ValueType::filters: return "list of filters";
    case ValueType::text_list: return "list of text";
    case ValueType::guarantee: return "guarantee";
    case ValueType::direction: return "direction";
    case ValueType::fault_connections: return "current, next or all";
    case ValueType::variable_name: return "variable name";
    case ValueType::explore_mode: return "cut_points";
    case ValueType::role: return "client or server";
    case ValueType::explore: return "exploration";
    case ValueType::spec_ids: return "statement ids";
    case ValueType::spec_id: return "statement id";
    case ValueType::features: return "list of features";
    case ValueType::vars: return "variables";
    case ValueType::clients: return "clients";
    case ValueType::steps: return "list of steps";
    case ValueType::branches: return "list of alternatives";
    case ValueType::packet: return "packet (decode JSON)";
    case ValueType::packet_list: return "list of packets";
  }
  return "?";
}

}  // namespace mqtth::scenario
