// What is generated from the format's tables (Format.hpp): scenarios/schema.json and the
// generated sections of scenarios/README.md.
#include "mqtth/scenario/Format.hpp"

#include <algorithm>

#include "loader/Scalars.hpp"

namespace mqtth::scenario {

namespace {

Json ref(std::string_view def) { return Json{{"$ref", "#/$defs/" + std::string(def)}}; }

// Matches a {variable} anywhere: such values are checked after substitution.
Json template_string() {
  return Json{{"type", "string"},
              {"pattern", "\\{[A-Za-z_][A-Za-z0-9_]*\\}"},
              {"description", "a {variable} template, substituted before the value is checked"}};
}

Json enum_of(std::initializer_list<std::string_view> names) {
  Json e = Json::array();
  for (auto n : names) e.push_back(std::string(n));
  return Json{{"enum", e}};
}

Json array_of(Json items, std::size_t min_items = 0) {
  Json a{{"type", "array"}, {"items", std::move(items)}};
  if (min_items) a["minItems"] = min_items;
  return a;
}

Json spec_list() { return Json{{"type", "array"}, {"items", ref("spec_id")}, {"uniqueItems", true}}; }

Json schema_of(ValueType type, const MappingSpec* mapping) {
  switch (type) {
    case ValueType::text: return ref("text");
    case ValueType::integer: return ref("integer");
    case ValueType::boolean: return ref("boolean");
    case ValueType::duration: return ref("duration");
    case ValueType::qos: return ref("qos");
    case ValueType::reason_code: return ref("reason_code");
    case ValueType::reason_codes: return ref("reason_codes");
    case ValueType::suback_codes: return ref("suback_codes");
    case ValueType::hex: return ref("hex");
    case ValueType::client: return ref("client_name");
    case ValueType::client_list: return array_of(ref("client_name"));
    case ValueType::packet_type: return ref("packet_type");
    case ValueType::packet_types: return Json{{"anyOf", {ref("packet_type"), array_of(ref("packet_type"))}}};
    case ValueType::version: return ref("version");
    case ValueType::version_list: {
      Json a = array_of(ref("version"), 1);
      a["uniqueItems"] = true;
      return a;
    }
    case ValueType::properties: return ref("properties");
    case ValueType::match_properties: return ref("match_properties");
    case ValueType::match_value: return Json::object();
    case ValueType::mapping: return ref(mapping ? mapping->name : "");
    case ValueType::filters:
      return array_of(Json{{"anyOf", {ref("text"), ref(subscription_keys().name)}}}, 1);
    case ValueType::text_list: return array_of(ref("text"), 1);
    case ValueType::guarantee:
      return enum_of({guarantee_name(Guarantee::at_most_once), guarantee_name(Guarantee::at_least_once),
                      guarantee_name(Guarantee::exactly_once)});
    case ValueType::direction:
      return enum_of({direction_name(Direction::to_broker), direction_name(Direction::to_client),
                      direction_name(Direction::both)});
    case ValueType::fault_connections:
      return enum_of({fault_connections_name(FaultConnections::current), fault_connections_name(FaultConnections::next),
                      fault_connections_name(FaultConnections::all)});
    case ValueType::variable_name: return Json{{"type", "string"}};
    case ValueType::explore_mode: return enum_of({"cut_points"});
    case ValueType::role: return enum_of({role_name(Role::client), role_name(Role::server)});
    case ValueType::explore: return Json{{"anyOf", {enum_of({"cut_points"}), ref(explore_keys().name)}}};
    case ValueType::spec_ids:
      return Json{{"anyOf",
                   {spec_list(), Json{{"type", "object"},
                                      {"propertyNames", enum_of({"3.1", "3.1.1", "5", "5.0"})},
                                      {"additionalProperties", spec_list()}}}}};
    case ValueType::spec_id:
      return Json{{"anyOf",
                   {ref("spec_id"), Json{{"type", "object"},
                                         {"propertyNames", enum_of({"3.1", "3.1.1", "5", "5.0"})},
                                         {"additionalProperties", ref("spec_id")}}}}};
    case ValueType::features: return array_of(ref("feature"));
    case ValueType::vars:
      return Json{{"type", "object"},
                  {"propertyNames", {{"pattern", "^[A-Za-z_][A-Za-z0-9_]*$"}}},
                  {"additionalProperties", {{"type", {"string", "number", "boolean"}}}}};
    case ValueType::clients:
      return Json{{"type", "object"}, {"additionalProperties", {{"anyOf", {Json{{"type", "null"}}, ref(client_keys().name)}}}}};
    case ValueType::steps: return array_of(ref("step"), 1);
    case ValueType::branches: return array_of(ref(any_of_branch_keys().name), 2);
    case ValueType::packet: return ref("packet");
    case ValueType::packet_list: return array_of(ref("packet"), 1);
  }
  return Json::object();
}

std::string key_description(const KeySpec& k) {
  std::string d(k.doc);
  if (!k.default_value.empty()) d += (d.empty() ? "default: " : " (default: ") + std::string(k.default_value) + (d.empty() ? "" : ")");
  return d;
}

// `extra`: keys the mapping takes besides its own (a step's common_step_keys()).
Json object_schema(const MappingSpec& m, std::string_view description, std::span<const KeySpec> extra = {}) {
  Json props = Json::object();
  Json required = Json::array();
  for (auto keys : {m.keys, extra}) {
    for (const auto& k : keys) {
      Json s = schema_of(k.type, k.mapping);
      if (auto d = key_description(k); !d.empty()) s["description"] = d;
      props[std::string(k.name)] = std::move(s);
      if (k.required) required.push_back(std::string(k.name));
    }
  }
  Json o{{"type", "object"}, {"properties", std::move(props)}, {"additionalProperties", false}};
  if (!required.empty()) o["required"] = std::move(required);
  if (!description.empty()) o["description"] = std::string(description);
  if (!m.exactly_one_of.empty()) {
    Json choices = Json::array();
    for (auto k : m.exactly_one_of) choices.push_back(Json{{"required", {std::string(k)}}});
    o["oneOf"] = std::move(choices);
  }
  return o;
}

// A property's value as a scenario writes it (decode-JSON shape).
Json property_schema(mqtt::PropertyType type) {
  switch (type) {
    case mqtt::PropertyType::utf8: return ref("text");
    case mqtt::PropertyType::binary: return ref("hex");
    case mqtt::PropertyType::utf8_pair: {
      Json pair = array_of(ref("text"));
      pair["minItems"] = 2;
      pair["maxItems"] = 2;
      return array_of(pair);
    }
    case mqtt::PropertyType::varint: return Json{{"anyOf", {ref("integer"), array_of(ref("integer"))}}};
    default: return ref("integer");
  }
}

Json scalar_defs() {
  Json defs = Json::object();
  defs["text"] = Json{{"type", {"string", "number"}}};
  defs["integer"] = Json{{"anyOf",
                          {Json{{"type", "integer"}, {"minimum", 0}},
                           Json{{"type", "string"}, {"pattern", "^(0[xX][0-9a-fA-F]+|[0-9]+)$"}}, template_string()}}};
  defs["boolean"] = Json{{"anyOf", {Json{{"type", "boolean"}}, template_string()}}};
  defs["duration"] = Json{{"anyOf", {Json{{"type", "string"}, {"pattern", "^[0-9]+(\\.[0-9]{1,9})?(ms|s|m|min|h)?$"}},
                                      Json{{"type", "number"}, {"minimum", 0}}, template_string()}},
                          {"description", "a duration: 100ms, 1.5s, 2m, 1h; no unit means seconds (at most 24h)"}};
  defs["qos"] = Json{{"anyOf", {Json{{"enum", {0, 1, 2}}}, template_string()}}};
  defs["reason_code"] = Json{{"anyOf",
                              {Json{{"type", "integer"}, {"minimum", 0}, {"maximum", 255}},
                               Json{{"type", "string"}, {"pattern", "^0[xX][0-9a-fA-F]{1,2}$"}}, template_string()}}};
  defs["reason_codes"] = array_of(ref("reason_code"));
  defs["suback_codes"] = array_of(Json{{"anyOf",
                                        {ref("reason_code"),
                                         Json{{"type", "object"},
                                              {"properties", {{"at_most_qos", ref("qos")}}},
                                              {"required", {"at_most_qos"}},
                                              {"additionalProperties", false},
                                              {"description", "any granted QoS from 0 to this one"}}}}});
  defs["version"] = Json{{"enum", {"3.1", "3.1.1", "5", "5.0", 3.1, 5, 5.0}}};
  defs["hex"] = Json{{"type", "string"}, {"description", "hex bytes, e.g. \"30 02 00 01\""}};
  defs["client_name"] = Json{{"type", "string"}, {"description", "a client declared under `clients:`"}};
  std::string names = detail::packet_type_names();
  for (auto pos = names.find(", "); pos != std::string::npos; pos = names.find(", ")) names.replace(pos, 2, "|");
  defs["packet_type"] = Json{{"type", "string"}, {"pattern", "^(?i:" + names + ")$"}};
  defs["spec_id"] = Json{{"type", "string"}, {"pattern", "^MQTT-[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}-[0-9]{1,3}$"}};
  Json features = Json::array();
  for (auto f : feature_names()) features.push_back(std::string(f));
  defs["feature"] = Json{{"enum", features}};

  Json props = Json::object(), match = Json::object();
  for (auto id : detail::known_properties()) {
    const std::string name(mqtt::property_name(id));
    const Json s = property_schema(*mqtt::property_type(static_cast<std::uint8_t>(id)));
    props[name] = s;
    match[name] = Json{{"anyOf", {s, Json{{"type", "null"}}}}};
  }
  defs["properties"] = Json{{"type", "object"}, {"properties", props}, {"additionalProperties", false},
                            {"description", "MQTT 5 properties by their decode-JSON names"}};
  defs["match_properties"] = Json{{"type", "object"}, {"properties", match}, {"additionalProperties", false},
                                  {"description", "MQTT 5 properties to expect; ~ (null) means the property must be absent"}};
  defs["packet"] = Json{{"type", "object"},
                        {"properties", {{"type", ref("packet_type")}}},
                        {"required", {"type"}},
                        {"description", "one packet's fields in the decode JSON (docs/decode-json.md); the codec checks them"}};
  return defs;
}

}  // namespace

std::string json_schema_text() {
  Json defs = scalar_defs();
  for (const auto* m : mapping_specs()) defs[std::string(m->name)] = object_schema(*m, m->doc);
  Json alternatives = Json::array();
  const Json only{{"anyOf", {ref("version"), array_of(ref("version"))}},
                  {"description", "run this step only in these protocol versions"}};
  auto alternative = [&](std::string_view kind, Json value) {
    alternatives.push_back(Json{{"type", "object"},
                                {"properties", {{std::string(kind), std::move(value)}, {"only", only}}},
                                {"required", {std::string(kind)}},
                                {"additionalProperties", false}});
  };
  for (const auto* d : step_descriptors()) {
    if (d->shorthand == StepShorthand::duration) {
      alternative(d->name, ref("duration"));
      continue;
    }
    defs[std::string(d->keys.name)] = object_schema(d->keys, d->doc, common_step_keys());
    if (d->shorthand == StepShorthand::client)
      alternative(d->name, Json{{"anyOf", {ref("client_name"), ref(d->keys.name)}}});
    else
      alternative(d->name, ref(d->keys.name));
  }
  alternative("repeat", ref(repeat_keys().name));
  defs["step"] = Json{{"oneOf", alternatives}};

  Json schema{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
              {"$id", "https://mqtt-harness.invalid/scenarios/schema.json"},
              {"title", "mqtt-harness scenario file"},
              {"description",
               "See scenarios/README.md. Generated from the loader's tables (harness/scenario, mqtth/scenario/Format.hpp) "
               "by scenario_format; the loader is the authority."},
              {"$ref", "#/$defs/" + std::string(scenario_keys().name)},
              {"$defs", defs}};
  return schema.dump(1) + "\n";
}

// ---------------------------------------------------------------------------------------
// README sections

namespace {

std::string code(std::string_view s) { return "`" + std::string(s) + "`"; }

// One key in the step table: `name` type (default), required ones bold.
std::string key_cell(const KeySpec& k) {
  std::string out = k.required ? "**" + code(k.name) + "**" : code(k.name);
  if (k.type == ValueType::mapping && k.mapping) {
    std::string nested;
    for (const auto& n : k.mapping->keys) nested += (nested.empty() ? "" : ", ") + code(n.name);
    out += " {" + nested + "}";
  } else {
    out += " " + std::string(value_type_name(k.type));
  }
  if (!k.default_value.empty()) out += " = " + std::string(k.default_value);
  return out;
}

std::string step_kinds_section() {
  std::string out =
      "| step | what it does | keys: **required**, type = default |\n"
      "|---|---|---|\n";
  for (const auto* d : step_descriptors()) {
    std::string keys;
    if (d->shorthand == StepShorthand::duration) keys = "the value is a duration";
    for (const auto& k : d->keys.keys) {
      if (k.packet_types) continue;  // expect_packet's fields: next table
      keys += (keys.empty() ? "" : ", ") + key_cell(k);
    }
    if (d->parser_checks_keys) keys += ", and the packet type's decode-JSON fields (see expect_packet)";
    if (!d->keys.exactly_one_of.empty()) {
      std::string choice;
      for (auto c : d->keys.exactly_one_of) choice += (choice.empty() ? "" : " or ") + code(c);
      keys += "; exactly one of " + choice;
    }
    std::string what(d->doc);
    if (d->shorthand == StepShorthand::client) what += ". Short form: " + code(std::string(d->name) + ": CLIENT");
    out += "| [" + code(d->name) + "](#" + std::string(d->name) + ") | " + what + " | " + keys + " |\n";
  }
  out += "\nEvery step's mapping also takes ";
  for (std::size_t i = 0; i < common_step_keys().size(); ++i) {
    const KeySpec& k = common_step_keys()[i];
    out += (i ? ", " : "") + key_cell(k) + ": " + std::string(k.doc);
  }
  out += ".\n";
  out += "\nOne example of each (every one is loaded by `scenario_loader_tests`):\n\n```yaml\n";
  for (const auto* d : step_descriptors()) out += "  - " + std::string(d->name) + ": " + std::string(d->example) + "\n";
  out += "```\n";
  return out;
}

// expect_packet's fields per packet type; types with the same fields share a row.
std::string expect_packet_fields_section() {
  std::vector<const KeySpec*> keys;
  for (const auto& k : step_descriptor(StepKind::expect_packet).keys.keys)
    if (k.packet_types) keys.push_back(&k);
  // Fields whose doc is not the common one carry it in the table.
  const std::string_view common = keys.front()->doc;
  std::vector<std::pair<std::string, std::string>> rows;  // types, fields
  for (unsigned t = static_cast<unsigned>(PacketType::connect); t <= static_cast<unsigned>(PacketType::auth); ++t) {
    const auto type = static_cast<PacketType>(t);
    std::string fields;
    for (const auto* k : keys) {
      if (!(k->packet_types & packet_type_bit(type))) continue;
      fields += (fields.empty() ? "" : ", ") + code(k->name);
      if (k->doc != common) fields += " (" + std::string(k->doc) + ")";
    }
    if (fields.empty()) fields = "—";
    auto row = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.second == fields; });
    if (row == rows.end()) rows.emplace_back(std::string(mqtt::to_string(type)), fields);
    else row->first += ", " + std::string(mqtt::to_string(type));
  }
  std::string out = "| type | fields |\n|---|---|\n";
  for (const auto& [types, fields] : rows) out += "| " + types + " | " + fields + " |\n";
  return out;
}

}  // namespace

std::vector<ReadmeSection> readme_sections() {
  return {{"step kinds", step_kinds_section()}, {"expect_packet fields", expect_packet_fields_section()}};
}

std::string readme_begin_marker(std::string_view name) {
  return "<!-- BEGIN generated: " + std::string(name) +
         " (from the step descriptors by scenario_format; edit those, not this) -->";
}
std::string readme_end_marker(std::string_view name) { return "<!-- END generated: " + std::string(name) + " -->"; }

std::optional<std::string> with_readme_sections(std::string_view readme, std::string& problem) {
  std::string out(readme);
  for (const auto& section : readme_sections()) {
    const std::string begin = readme_begin_marker(section.name) + "\n", end = readme_end_marker(section.name);
    const auto b = out.find(begin);
    const auto e = b == std::string::npos ? std::string::npos : out.find(end, b);
    if (b == std::string::npos || e == std::string::npos) {
      problem = "the lines '" + begin.substr(0, begin.size() - 1) + "' and '" + end + "' must enclose the section";
      return std::nullopt;
    }
    out.replace(b + begin.size(), e - b - begin.size(), section.text);
  }
  return out;
}

}  // namespace mqtth::scenario
