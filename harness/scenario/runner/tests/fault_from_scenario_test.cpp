// The scenario model's FaultStep maps onto the same rule as the equivalent CLI SPEC, and
// the two sides' kinds and directions are the same values with the same names.
#include "FaultFromScenario.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using namespace mqtth::fault;
namespace sc = mqtth::scenario;

TEST(FromScenario, the_cut_example_equals_the_cli_spec) {
  // fault: {client: sub, cut: {direction: to_broker, after: PUBREC, nth: 3}}
  sc::FaultStep step;
  step.client = "sub";
  step.kind = sc::FaultKind::cut;
  step.direction = sc::Direction::to_broker;
  step.after = mqtt::PacketType::pubrec;
  step.nth = 3;
  EXPECT_EQ(rule_from_step(step), *parse_fault_spec("cut:to_broker:after=PUBREC:nth=3").rule);
}

TEST(FromScenario, every_kind_keeps_its_parameters) {
  sc::FaultStep delay;
  delay.kind = sc::FaultKind::delay;
  delay.delay = Ms(50);
  delay.jitter = Ms(10);
  delay.duration = Ms(2000);
  EXPECT_EQ(rule_from_step(delay), *parse_fault_spec("delay:both:by=50ms:jitter=10ms:for=2s").rule);
  sc::FaultStep corrupt;
  corrupt.kind = sc::FaultKind::corrupt;
  corrupt.after = mqtt::PacketType::publish;
  corrupt.nth = 2;
  corrupt.offset = 5;
  corrupt.xor_mask = 0xFF;
  EXPECT_EQ(rule_from_step(corrupt), *parse_fault_spec("corrupt:packet=PUBLISH:nth=2:offset=5:xor=0xff").rule);
  sc::FaultStep blackhole;
  blackhole.kind = sc::FaultKind::blackhole;
  blackhole.after = mqtt::PacketType::connack;
  blackhole.duration = Ms(3000);
  EXPECT_EQ(rule_from_step(blackhole), *parse_fault_spec("blackhole:after=CONNACK:for=3s").rule);
  sc::FaultStep cut_at;
  cut_at.kind = sc::FaultKind::cut;
  cut_at.delay = Ms(2000);
  EXPECT_EQ(rule_from_step(cut_at), *parse_fault_spec("cut:at=2s").rule);
  sc::FaultStep segment;
  segment.kind = sc::FaultKind::segment;
  segment.size = 1;
  EXPECT_EQ(rule_from_step(segment), *parse_fault_spec("segment:size=1").rule);
  sc::FaultStep throttle;
  throttle.kind = sc::FaultKind::throttle;
  throttle.bytes_per_second = 1000;
  throttle.duration = Ms(5000);
  EXPECT_EQ(rule_from_step(throttle), *parse_fault_spec("throttle:bytes_per_second=1000:for=5s").rule);
  sc::FaultStep reorder;
  reorder.kind = sc::FaultKind::reorder;
  reorder.window = 4;
  reorder.duration = Ms(1000);
  EXPECT_EQ(rule_from_step(reorder), *parse_fault_spec("reorder:window=4:for=1s").rule);
  sc::FaultStep duplicate;
  duplicate.kind = sc::FaultKind::duplicate;
  duplicate.after = mqtt::PacketType::publish;
  EXPECT_EQ(rule_from_step(duplicate), *parse_fault_spec("duplicate:packet=PUBLISH:nth=1").rule);
}

// Every value of the 8-bit enums: the same name on both sides, or no name on either (a kind
// appended to one side only is caught here; the static_asserts catch a reordering).
TEST(FromScenario, kinds_and_directions_have_the_same_names_on_both_sides) {
  auto name_or_none = [](auto name_of) -> std::string {
    try {
      return std::string(name_of());
    } catch (const std::out_of_range&) {
      return "";
    }
  };
  int named = 0;
  for (int i = 0; i < 256; ++i) {
    const auto v = static_cast<std::uint8_t>(i);
    auto kind = name_or_none([&] { return kind_name(static_cast<Kind>(v)); });
    // `rewrite` (the wire mutants' kind, last) is the proxy's alone: no YAML step makes it.
    if (static_cast<Kind>(v) == Kind::rewrite) kind.clear();
    EXPECT_EQ(kind, name_or_none([&] { return sc::fault_kind_name(static_cast<sc::FaultKind>(v)); })) << i;
    const auto direction = name_or_none([&] { return direction_name(static_cast<Direction>(v)); });
    EXPECT_EQ(direction, name_or_none([&] { return sc::direction_name(static_cast<sc::Direction>(v)); })) << i;
    named += !kind.empty() + !direction.empty();
  }
  EXPECT_EQ(named, 8 + 3);
}
