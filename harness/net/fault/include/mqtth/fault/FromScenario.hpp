// Maps a scenario `fault:` step (mqtth::scenario::FaultStep, parsed by the loader) onto a
// FaultRule for FaultProxy::addFault(). Header-only so that only code that already links
// mqtth_scenario (the runner) pulls in the scenario model.
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

namespace mqtth::fault {

inline FaultRule rule_from_step(const mqtth::scenario::FaultStep& step) {
  FaultRule r;
  r.kind = static_cast<Kind>(static_cast<std::uint8_t>(step.kind));  // same order (Scenario.hpp)
  r.direction = static_cast<Direction>(static_cast<std::uint8_t>(step.direction));
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
