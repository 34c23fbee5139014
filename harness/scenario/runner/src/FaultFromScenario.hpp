// Maps a scenario `fault:` step (mqtth::scenario::FaultStep, parsed by the loader) onto a
// FaultRule for FaultProxy::addFault(). It lives in the runner, the one layer that knows
// both the scenario model and the fault proxy: harness/net includes nothing from scenario.
//
// Keys: cut {direction, after, nth, at}, delay {direction, by, jitter, for}, throttle
// {direction, bytes_per_second, for}, segment {direction, size}, corrupt {direction,
// packet, nth, offset, xor}, blackhole {direction, after, nth, at, for}, duplicate
// {direction, packet, nth}, reorder {direction, window, for}. The YAML has no `before`,
// `set`, `every`, `side`, `close` or `hold`: those keep the FaultRule defaults (after,
// xor, nth, both sides, RST, 1 s).
#pragma once

#include "mqtth/fault/FaultRule.hpp"
#include "mqtth/scenario/Scenario.hpp"

#include <type_traits>

namespace mqtth::fault {

// The scenario model and the proxy name the same kinds and directions in the same order,
// so a step converts by value. A kind or direction that moves on one side stops the build
// here; one added to one side only fails fault_from_scenario_test, which compares the
// names of all 256 values.
#define MQTTH_SAME_VALUE(fault_enum, scenario_enum, name) \
  static_assert(static_cast<int>(fault_enum::name) == static_cast<int>(mqtth::scenario::scenario_enum::name))
MQTTH_SAME_VALUE(Kind, FaultKind, cut);
MQTTH_SAME_VALUE(Kind, FaultKind, delay);
MQTTH_SAME_VALUE(Kind, FaultKind, throttle);
MQTTH_SAME_VALUE(Kind, FaultKind, segment);
MQTTH_SAME_VALUE(Kind, FaultKind, corrupt);
MQTTH_SAME_VALUE(Kind, FaultKind, blackhole);
MQTTH_SAME_VALUE(Kind, FaultKind, duplicate);
MQTTH_SAME_VALUE(Kind, FaultKind, reorder);
MQTTH_SAME_VALUE(Direction, Direction, to_broker);
MQTTH_SAME_VALUE(Direction, Direction, to_client);
MQTTH_SAME_VALUE(Direction, Direction, both);
#undef MQTTH_SAME_VALUE
static_assert(std::is_same_v<std::underlying_type_t<Kind>, std::underlying_type_t<mqtth::scenario::FaultKind>>);
static_assert(std::is_same_v<std::underlying_type_t<Direction>, std::underlying_type_t<mqtth::scenario::Direction>>);

inline FaultRule rule_from_step(const mqtth::scenario::FaultStep& step) {
  FaultRule r;
  r.kind = static_cast<Kind>(step.kind);
  r.direction = static_cast<Direction>(step.direction);
  r.packet = step.after;
  r.nth = step.nth;
  // delay/reorder act on every packet (the YAML gives them no packet filter).
  r.every = r.kind == Kind::delay || r.kind == Kind::reorder;
  if (step.delay) {
    if (r.kind == Kind::delay) r.by = *step.delay;  // `by`
    else r.at = *step.delay;                        // cut/blackhole `at`
  }
  if (step.jitter) r.jitter = *step.jitter;
  r.duration = step.duration;
  if (step.bytes_per_second) r.bytes_per_second = *step.bytes_per_second;
  if (step.size) r.size = *step.size;
  if (step.offset) r.offset = *step.offset;
  if (step.xor_mask) r.xor_mask = *step.xor_mask;
  if (step.window) r.window = *step.window;
  return r;
}

}  // namespace mqtth::fault
