// The step list: step items with `only`, `repeat` unrolled, each step kind parsed by its
// descriptor (src/steps/) after the checks every kind shares.
#include <algorithm>

#include "loader/Parser.hpp"
#include "loader/Scalars.hpp"

namespace mqtth::scenario {

using detail::node_kind;

namespace {
constexpr KeySpec kRepeatKeys[] = {
    {"times", ValueType::integer, true, {}, "how many times"},
    {"as", ValueType::variable_name, false, "i", "the variable holding the round's number"},
    {"from", ValueType::integer, false, "1", "the first value"},
    {"steps", ValueType::steps, true, {}, "the steps to repeat"},
};
constexpr MappingSpec kRepeat{"repeat", "runs steps several times; unrolled by the loader", kRepeatKeys};

constexpr std::string_view kStepItemExtraKeys[] = {"only"};  // allowed next to the kind key in a step item

constexpr KeySpec kCommonStepKeys[] = {
    {"spec", ValueType::spec_id, false, {},
     "the statement a failure of this step names (MQTT-x.x.x-y, or one per version: {\"3.1.1\": ..., \"5\": ...}); "
     "without it, the check's own default or the scenario's `spec:` when it holds one id (docs/reports.md)"},
};
}  // namespace

const MappingSpec& repeat_keys() { return kRepeat; }

std::span<const KeySpec> common_step_keys() { return kCommonStepKeys; }

bool is_common_step_key(std::string_view name) {
  return std::any_of(std::begin(kCommonStepKeys), std::end(kCommonStepKeys),
                     [&](const KeySpec& k) { return k.name == name; });
}

namespace {
// Every step kind, then "repeat": what a step item may be.
const std::vector<std::string_view>& item_kinds() {
  static const std::vector<std::string_view> kinds = [] {
    std::vector<std::string_view> v;
    for (const auto* d : step_descriptors()) v.push_back(d->name);
    v.push_back("repeat");
    return v;
  }();
  return kinds;
}
}  // namespace

void Parser::parse_steps(const YAML::Node& list, std::vector<Step>& out, std::vector<std::string>& repeat_path) {
  for (const auto& item : list) {
    visit();
    parse_step_item(item, out, repeat_path);
  }
}

void Parser::parse_step_item(const YAML::Node& item, std::vector<Step>& out, std::vector<std::string>& repeat_path) {
  const auto& kinds = item_kinds();
  if (!item.IsMap()) {
    error(item, std::string("a step must be a mapping with one step kind (") + detail::join(kinds) + "), got " + node_kind(item));
    return;
  }
  // std::optional: assigning to an existing YAML::Node would overwrite the node it refers to.
  std::optional<YAML::Node> kind_key_slot, kind_value_slot;
  std::string kind_name;
  int kind_count = 0;
  for (const auto& kv : item) {
    visit();
    if (!kv.first.IsScalar()) {
      error(kv.first, "step: keys must be plain names");
      continue;
    }
    const std::string& k = kv.first.Scalar();
    if (std::find(kStepItemExtraKeys, std::end(kStepItemExtraKeys), k) != std::end(kStepItemExtraKeys)) continue;
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) {
      error(kv.first, "step: unknown step kind '" + k + "'; expected one of: " + detail::join(kinds) + " (and optionally 'only')");
      ++kind_count;
      continue;
    }
    if (kind_count++ == 0) {
      kind_key_slot.emplace(kv.first);
      kind_value_slot.emplace(kv.second);
      kind_name = k;
    } else {
      error(kv.first, "step: one step kind per list item, but this item also has '" + kind_name + "' (start a new item with '- " + k + ":')");
    }
  }
  if (kind_count == 0) {
    error(item, std::string("step: missing the step kind; expected one of: ") + detail::join(kinds));
    return;
  }
  if (!kind_key_slot) return;
  const YAML::Node& kind_key = *kind_key_slot;
  const YAML::Node& kind_value = *kind_value_slot;
  // `only: 5` / `only: [3.1.1]`: the step runs only in those versions.
  if (auto only = get(item, "only")) {
    visit();
    std::vector<Version> versions;
    auto add = [&](const YAML::Node& n) {
      if (auto v = version_value(n, "only", "only must be a version (3.1, 3.1.1, 5) or a list of them")) versions.push_back(*v);
    };
    if (only.IsSequence()) {
      for (const auto& v : only) add(v);
    } else {
      add(only);
    }
    if (!versions.empty() && std::find(versions.begin(), versions.end(), version_) == versions.end()) return;
  }
  if (kind_name == "repeat") return parse_repeat(kind_key, kind_value, out, repeat_path);
  auto action = parse_step(*find_step_descriptor(kind_name), kind_key, kind_value);
  acting_client_ = nullptr;
  if (!action) return;
  if (++step_count_ > opt_.max_steps) {
    if (!step_budget_reported_) error(kind_key, "more than " + std::to_string(opt_.max_steps) + " steps after repeat expansion");
    step_budget_reported_ = true;
    return;
  }
  Step step;
  step.action = std::move(*action);
  if (kind_value.IsMap()) {
    if (auto spec = get(kind_value, "spec")) step.spec = parse_step_spec(spec);
  }
  step.where = {kind_key.Mark().line + 1, kind_key.Mark().column + 1};
  step.repeat_path = repeat_path;
  out.push_back(std::move(step));
}

void Parser::parse_nested_step(const YAML::Node& item, std::vector<Step>& out) {
  std::vector<std::string> repeat_path;
  parse_step_item(item, out, repeat_path);
}

void Parser::parse_repeat(const YAML::Node& key, const YAML::Node& value, std::vector<Step>& out,
                          std::vector<std::string>& repeat_path) {
  if (!check_map(value, kRepeatKeys, "repeat")) return;
  require_keys(value, kRepeatKeys, "repeat");
  std::optional<std::uint32_t> times;
  if (auto x = get(value, "times")) times = uint<std::uint32_t>(x, "repeat times", 0, 100000);
  std::uint32_t from = 1;
  if (auto x = get(value, "from")) {
    if (auto f = uint<std::uint32_t>(x, "repeat from", 0, 1000000000)) from = *f;
  }
  std::string as = "i";
  if (auto x = get(value, "as")) {
    if (auto t = text(x, "repeat as")) {
      if (!detail::is_variable_name(*t)) {
        error(x, "repeat as must be a variable name (letters, digits, _), got '" + *t + "'");
      } else if (*t == "seq" || *t == "client" || *t == "protocol" || lookup(*t)) {
        error(x, "repeat as: variable '" + *t + "' is already defined here; pick another name");
      } else {
        as = *t;
      }
    }
  }
  YAML::Node body = get(value, "steps");
  if (!times || !body) return;
  visit();
  if (!body.IsSequence() || body.size() == 0) {
    error(body, std::string("repeat steps must be a non-empty list of steps, got ") + node_kind(body));
    return;
  }
  if (repeat_depth_ >= opt_.max_repeat_depth) {
    error(key, "repeat nested more than " + std::to_string(opt_.max_repeat_depth) + " levels deep");
    return;
  }
  ++repeat_depth_;
  for (std::uint32_t k = 0; k < *times; ++k) {
    std::string round = std::to_string(static_cast<std::uint64_t>(from) + k);
    vars_.emplace_back(as, round);
    repeat_path.push_back(as + "=" + round);
    std::size_t errors_before = errors.size();
    parse_steps(body, out, repeat_path);
    repeat_path.pop_back();
    vars_.pop_back();
    // One failing iteration shows the problem; do not walk the rest.
    if (errors.size() != errors_before || step_budget_reported_) break;
  }
  --repeat_depth_;
}

// What every step kind shares: the shorthand, the mapping's keys and its required keys are
// checked from the descriptor; the rest is the descriptor's parse function.
std::optional<StepAction> Parser::parse_step(const StepDescriptor& d, const YAML::Node& key, const YAML::Node& n) {
  StepInput in{*this, d, key, n, std::string(d.name)};
  const bool shorthand = d.shorthand == StepShorthand::duration || (d.shorthand == StepShorthand::client && n.IsScalar());
  if (!shorthand) {
    if (d.parser_checks_keys) {
      visit();
      if (!n.IsMap()) return d.parse(in);  // it says what it expects
    } else {
      std::vector<std::string_view> allowed;
      for (const auto& k : d.keys.keys) allowed.push_back(k.name);
      for (const auto& k : common_step_keys()) allowed.push_back(k.name);
      if (!check_map(n, allowed, in.ctx)) return std::nullopt;
    }
    require_keys(n, d.keys.keys, in.ctx);
  }
  return d.parse(in);
}

}  // namespace mqtth::scenario
