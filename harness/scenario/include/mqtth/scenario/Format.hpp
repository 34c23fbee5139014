// The scenario file format as data: one descriptor per step kind and a key table for every
// other mapping (the scenario, a client, a will, ...). The loader validates and parses
// with these tables; scenarios/schema.json and the step table of scenarios/README.md are
// generated from them (json_schema_text(), readme_sections(); the tool `scenario_format`
// writes both, and the ctest scenario_format_matches_the_descriptors fails when they differ).
//
// Adding a step kind: its model struct in Scenario.hpp (StepKind, StepAction), one
// StepDescriptor beside its parse function in harness/scenario/src/steps/, its entry in
// the step table (src/steps/StepTable.cpp), the runner's handler; then regenerate the two
// files (`cmake --build --preset default --target scenario_format_update`).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mqtth/scenario/Scenario.hpp"

namespace mqtth::scenario {

// What a key's value is. Each type has one JSON Schema (json_schema_text()) and one name in the
// docs (value_type_name()); the loader's readers check the same rules.
enum class ValueType : std::uint8_t {
  text,              // a string (numbers are read as their text)
  integer,           // decimal or 0x hex
  boolean,
  duration,          // 100ms, 10s, 1.5s, 2m, 1h
  qos,               // 0, 1 or 2
  reason_code,       // 0..255
  reason_codes,      // a list of reason codes
  suback_codes,      // a list of SUBACK codes, each a reason code or {at_most_qos: N}
  hex,               // hex bytes, e.g. "30 02 00 01"
  client,            // a client declared under `clients:`
  client_list,
  packet_type,       // CONNECT ... AUTH (any case)
  packet_types,      // one packet type or a list
  version,           // 3.1, 3.1.1, 5
  version_list,
  properties,        // MQTT 5 properties to send (decode-JSON names)
  match_properties,  // MQTT 5 properties to expect (~ = must be absent)
  match_value,       // a decode-JSON field matched as given (expect_packet)
  mapping,           // a nested mapping: KeySpec::mapping
  filters,           // subscribe: topic filters, each a string or a subscription mapping
  text_list,         // a non-empty list of strings
  guarantee,         // at_most_once, at_least_once, exactly_once
  direction,         // to_broker, to_client, both
  fault_connections, // current, next, all
  variable_name,     // letters, digits, _
  explore_mode,      // cut_points
  role,              // client or server (`role:`)
  explore,           // cut_points or the explore mapping
  spec_ids,          // statement ids: a list, or a list per version
  spec_id,           // one statement id, or one per version
  features,          // `requires:` features
  vars,              // name -> value
  clients,           // name -> client mapping
  steps,             // a list of steps
  branches,          // any_of: a list of alternatives, each {steps, skip}
  packet,            // one packet in the decode JSON (docs/decode-json.md)
  packet_list,       // several such packets
};
std::string_view value_type_name(ValueType);  // for docs, e.g. "duration"

struct MappingSpec;

// One key of a mapping.
struct KeySpec {
  std::string_view name;
  ValueType type = ValueType::text;
  bool required = false;
  // Docs only: the value when the key is absent, e.g. "0", "the scenario's `timeout`".
  std::string_view default_value = {};
  // One line. For a required key it is also what the loader's "missing key" error says is
  // expected ("publish: missing key 'topic' (<doc>)").
  std::string_view doc = {};
  const MappingSpec* mapping = nullptr;  // ValueType::mapping: its keys
  // expect_packet's decode-JSON fields: the packet types whose JSON has this field, one bit
  // per PacketType value (packet_type_bit()); 0 for every other key.
  std::uint16_t packet_types = 0;
};
constexpr std::uint16_t packet_type_bit(PacketType t) {
  return static_cast<std::uint16_t>(1u << static_cast<unsigned>(t));
}

// A mapping and its keys. `name` is its $defs name in schema.json ("client", "will",
// "fault_cut", "step_publish", ...).
struct MappingSpec {
  std::string_view name;
  std::string_view doc;
  std::span<const KeySpec> keys;
  // Exactly one of these keys must be present (documented and in the schema; the loader
  // says so in its own words), e.g. protocol / protocols.
  std::span<const std::string_view> exactly_one_of = {};
};

// How a step's value may be written besides a mapping of its keys.
enum class StepShorthand : std::uint8_t {
  none,
  client,   // `connect: sub` = `connect: {client: sub}`
  duration, // the whole value is a duration (`sleep: 2s`); no mapping form
};

struct StepInput;  // the loader's view of one step (src/loader/Parser.hpp)

// One step kind of the YAML format: everything about it except the runner's handler
// (which belongs to `kind`, the model it produces).
struct StepDescriptor {
  std::string_view name;  // the YAML key, e.g. "publish"
  StepKind kind;          // the model it loads into (send_packet loads into send_raw)
  std::string_view doc;   // one line, for the README table and the schema
  MappingSpec keys;       // the keys of its mapping form ($defs "step_<name>")
  StepShorthand shorthand = StepShorthand::none;
  // true: the parse function checks the mapping's keys itself (expect_packet: which keys
  // are allowed depends on `type`); `keys` lists every key any form accepts.
  bool parser_checks_keys = false;
  // A complete step value in YAML flow style, written for clients `sub`, `pub` and `raw`
  // after each has connected; scenario_loader_tests loads every example.
  std::string_view example;
  std::optional<StepAction> (*parse)(StepInput&);
};

// The keys every step kind's mapping takes besides its own (`spec`): the loader accepts them
// on every step, the schema and the README's step table list them once.
std::span<const KeySpec> common_step_keys();
bool is_common_step_key(std::string_view name);

// Every step kind, in documentation order (the order of the README table, the schema and
// the loader's "expected one of" lists). `repeat` is not a step kind: repeat_keys().
std::span<const StepDescriptor* const> step_descriptors();
const StepDescriptor* find_step_descriptor(std::string_view name);
// The descriptor named like `kind` (step_kind_name(kind)): the one whose model `kind` is.
const StepDescriptor& step_descriptor(StepKind kind);

// The mappings that are not steps.
const MappingSpec& scenario_keys();
const MappingSpec& client_keys();
const MappingSpec& will_keys();
const MappingSpec& repeat_keys();
const MappingSpec& explore_keys();
const MappingSpec& connack_expect_keys();
const MappingSpec& subscription_keys();
const MappingSpec& reason_codes_expect_keys();
const MappingSpec& suback_codes_expect_keys();
const MappingSpec& any_of_branch_keys();
// Every mapping the schema has a $def for, nested ones included, steps excluded.
std::span<const MappingSpec* const> mapping_specs();

// Generated artefacts. The JSON Schema (draft 2020-12) of scenario files, as written to
// scenarios/schema.json (text ends with a newline).
std::string json_schema_text();

// The generated parts of scenarios/README.md, each between the lines
// readme_begin_marker(name) and readme_end_marker(name).
struct ReadmeSection {
  std::string_view name;  // "step kinds", "expect_packet fields"
  std::string text;       // whole lines
};
std::vector<ReadmeSection> readme_sections();
std::string readme_begin_marker(std::string_view name);
std::string readme_end_marker(std::string_view name);
// `readme` with every section's lines between its markers replaced by its text; nullopt
// and `problem` set when a section's markers are missing or out of order.
std::optional<std::string> with_readme_sections(std::string_view readme, std::string& problem);

}  // namespace mqtth::scenario
