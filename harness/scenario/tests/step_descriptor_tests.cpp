// The step descriptors (mqtth/scenario/Format.hpp) drive the loader: for every step kind
// and every key, the checks below are generated from the descriptor and run through
// load_string: its example loads into its kind; an unknown key, each missing required key
// and each wrongly typed value is an error at the right line:column. So a descriptor that
// lists a key the parser does not read as that type, or a parser that forgets a required
// key, fails here.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <set>

#include "mqtth/scenario/Format.hpp"
#include "mqtth/scenario/Loader.hpp"

using namespace mqtth::scenario;

namespace {

// Clients sub and pub connected, raw opened by a send_raw: what every example assumes.
// The step under test is on line 8.
constexpr std::string_view kFixture = R"(name: descriptor check
protocol: 5
clients: {sub: {}, pub: {}, raw: {}}
steps:
  - connect: sub
  - connect: pub
  - send_raw: {client: raw, hex: "c0 00"}
)";
constexpr int kStepLine = 8;

// `n` as one line of YAML flow text that reads back as the same values (yaml-cpp's own
// emitter leaves `msg-{seq}` unquoted in flow style, which does not read back).
std::string flow(const YAML::Node& n) {
  if (n.IsMap()) {
    std::string out;
    for (const auto& kv : n) out += (out.empty() ? "" : ", ") + flow(kv.first) + ": " + flow(kv.second);
    return "{" + out + "}";
  }
  if (n.IsSequence()) {
    std::string out;
    for (const auto& item : n) out += (out.empty() ? "" : ", ") + flow(item);
    return "[" + out + "]";
  }
  const std::string& s = n.Scalar();
  const bool quote = n.Tag() == "!" || s.empty() || s.find_first_of(",{}[]:#&*!|>'\"%@`") != std::string::npos;
  if (!quote) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

// `  - kind: {k: v, ...}` with the 1-based columns of the mapping, each key and each value.
struct StepLine {
  std::string text;
  int map_column = 0;
  std::map<std::string, std::pair<int, int>> columns;  // key -> (key column, value column)
};
StepLine step_line(std::string_view kind, const std::vector<std::pair<std::string, std::string>>& entries) {
  StepLine s;
  s.text = "  - " + std::string(kind) + ": ";
  s.map_column = static_cast<int>(s.text.size()) + 1;
  s.text += "{";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i) s.text += ", ";
    const int key_column = static_cast<int>(s.text.size()) + 1;
    s.text += entries[i].first + ": ";
    s.columns[entries[i].first] = {key_column, static_cast<int>(s.text.size()) + 1};
    s.text += entries[i].second;
  }
  s.text += "}\n";
  return s;
}

// The example's keys and values, in order, as YAML flow text.
std::vector<std::pair<std::string, std::string>> example_entries(const StepDescriptor& d) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : YAML::Load(std::string(d.example))) out.emplace_back(kv.first.Scalar(), flow(kv.second));
  return out;
}

LoadResult load_step(const std::string& line) {
  return load_string(std::string(kFixture) + line, "check.yaml");
}

std::string errors_text(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

bool has_error_at(const LoadResult& r, int line, int column, std::string_view text = {}) {
  return std::any_of(r.errors.begin(), r.errors.end(), [&](const LoadError& e) {
    return e.line == line && e.column == column && e.message.find(text) != std::string::npos;
  });
}

// A value of the wrong type for each checkable type (nullopt: any value is accepted).
std::optional<std::string> wrong_value(ValueType type) {
  switch (type) {
    case ValueType::text: return "[not, a, string]";
    case ValueType::integer: return "twelve";
    case ValueType::boolean: return "maybe";
    case ValueType::duration: return "10 parsecs";  // a bare number is seconds (mqtth/common/Duration.hpp)
    case ValueType::qos: return "3";
    case ValueType::reason_code: return "256";
    case ValueType::reason_codes:
    case ValueType::suback_codes: return "5";
    case ValueType::fault_connections: return "sometimes";
    case ValueType::branches: return "5";
    case ValueType::hex: return "zz";
    case ValueType::client: return "nobody";
    case ValueType::packet_type:
    case ValueType::packet_types: return "NOPE";
    case ValueType::properties:
    case ValueType::match_properties:
    case ValueType::mapping:
    case ValueType::filters:
    case ValueType::text_list:
    case ValueType::packet:
    case ValueType::packet_list: return "5";
    case ValueType::guarantee: return "sometimes";
    case ValueType::match_value: return std::nullopt;
    default: ADD_FAILURE() << "no wrong value for " << value_type_name(type); return std::nullopt;
  }
}

std::string descriptor_name(const ::testing::TestParamInfo<const StepDescriptor*>& info) {
  return std::string(info.param->name);
}

std::vector<const StepDescriptor*> descriptors_where(bool (*keep)(const StepDescriptor&)) {
  std::vector<const StepDescriptor*> out;
  for (const auto* d : step_descriptors())
    if (keep(*d)) out.push_back(d);
  return out;
}

class StepDescriptorCheck : public ::testing::TestWithParam<const StepDescriptor*> {};
class MappingStepCheck : public ::testing::TestWithParam<const StepDescriptor*> {};     // steps with a mapping form
class ClientShortFormCheck : public ::testing::TestWithParam<const StepDescriptor*> {};  // `kind: CLIENT`

}  // namespace

TEST(StepDescriptors, every_step_kind_has_the_descriptor_named_like_it) {
  for (std::size_t k = 0; k <= static_cast<std::size_t>(StepKind::expect_client_event); ++k) {
    const auto kind = static_cast<StepKind>(k);
    EXPECT_EQ(step_descriptor(kind).kind, kind) << step_kind_name(kind);
    EXPECT_EQ(find_step_descriptor(step_kind_name(kind)), &step_descriptor(kind));
  }
  std::set<std::string_view> names, defs;
  for (const auto* d : step_descriptors()) {
    EXPECT_TRUE(names.insert(d->name).second) << d->name;
    EXPECT_EQ(d->keys.name, "step_" + std::string(d->name));
    EXPECT_FALSE(d->doc.empty()) << d->name;
    std::set<std::string_view> keys;
    for (const auto& k : d->keys.keys) {
      EXPECT_TRUE(keys.insert(k.name).second) << d->name << " lists " << k.name << " twice";
      if (k.required) {
        EXPECT_FALSE(k.doc.empty()) << d->name << "." << k.name << ": a required key's doc is its error text";
      }
      EXPECT_EQ(k.type == ValueType::mapping, k.mapping != nullptr) << d->name << "." << k.name;
    }
    for (auto choice : d->keys.exactly_one_of) EXPECT_TRUE(keys.count(choice)) << d->name << ": " << choice;
  }
  EXPECT_EQ(names.count("send_packet"), 1u);
  EXPECT_EQ(find_step_descriptor("send_packet")->kind, StepKind::send_raw);  // the runner sends its bytes as send_raw's
  for (const auto* m : mapping_specs()) EXPECT_TRUE(defs.insert(m->name).second) << m->name;
}

TEST(StepDescriptors, fault_kinds_are_the_fault_kind_names_in_order) {
  const auto& fault = *find_step_descriptor("fault");
  ASSERT_EQ(fault.keys.exactly_one_of.size(), 8u);
  for (std::size_t k = 0; k < 8; ++k) {
    const auto name = fault_kind_name(static_cast<FaultKind>(k));
    EXPECT_EQ(fault.keys.exactly_one_of[k], name);
    EXPECT_EQ(fault.keys.keys[k + 1].name, name);
    ASSERT_NE(fault.keys.keys[k + 1].mapping, nullptr);
    EXPECT_EQ(fault.keys.keys[k + 1].mapping->name, "fault_" + std::string(name));
  }
}

TEST_P(StepDescriptorCheck, its_example_loads_into_its_kind) {
  const StepDescriptor& d = *GetParam();
  auto r = load_step("  - " + std::string(d.name) + ": " + std::string(d.example) + "\n");
  ASSERT_TRUE(r.ok()) << errors_text(r);
  ASSERT_EQ(r.scenarios.size(), 1u);
  const Step& step = r.scenarios[0].steps.back();
  EXPECT_EQ(step.kind(), d.kind);
  EXPECT_EQ(step.where.line, kStepLine);
}

TEST_P(MappingStepCheck, an_unknown_key_is_named_at_its_position) {
  const StepDescriptor& d = *GetParam();
  auto entries = example_entries(d);
  entries.emplace_back("bogus_key", "1");
  const auto line = step_line(d.name, entries);
  auto r = load_step(line.text);
  const int column = line.columns.at("bogus_key").first;
  EXPECT_TRUE(has_error_at(r, kStepLine, column, "unknown key 'bogus_key'; expected one of: ")) << errors_text(r);
  if (!d.parser_checks_keys) {
    std::string names;
    for (const auto& k : d.keys.keys) names += (names.empty() ? "" : ", ") + std::string(k.name);
    EXPECT_TRUE(has_error_at(r, kStepLine, column, std::string(d.name) + ": unknown key 'bogus_key'; expected one of: " + names))
        << errors_text(r);
  }
}

TEST_P(MappingStepCheck, each_missing_required_key_is_named_at_the_step) {
  const StepDescriptor& d = *GetParam();
  const auto entries = example_entries(d);
  for (const auto& k : d.keys.keys) {
    if (!k.required) continue;
    auto without = entries;
    auto it = std::find_if(without.begin(), without.end(), [&](const auto& e) { return e.first == k.name; });
    ASSERT_NE(it, without.end()) << d.name << "'s example lacks its required key " << k.name;
    without.erase(it);
    const auto line = step_line(d.name, without);
    auto r = load_step(line.text);
    const std::string message = std::string(d.name) + ": missing key '" + std::string(k.name) + "' (" + std::string(k.doc) + ")";
    EXPECT_TRUE(has_error_at(r, kStepLine, line.map_column, message)) << message << "\n" << errors_text(r);
  }
}

TEST_P(StepDescriptorCheck, a_wrongly_typed_value_is_an_error_at_the_value) {
  const StepDescriptor& d = *GetParam();
  if (d.shorthand == StepShorthand::duration) {
    auto r = load_step("  - " + std::string(d.name) + ": soon\n");
    EXPECT_TRUE(has_error_at(r, kStepLine, 5 + static_cast<int>(d.name.size()) + 2, "'soon' is not a duration")) << errors_text(r);
    return;
  }
  int checked = 0;
  for (const auto& k : d.keys.keys) {
    const auto wrong = wrong_value(k.type);
    if (!wrong) continue;
    auto entries = example_entries(d);
    // The other keys of an exactly-one-of group go, so this one is read.
    const bool in_group = std::count(d.keys.exactly_one_of.begin(), d.keys.exactly_one_of.end(), k.name) > 0;
    std::erase_if(entries, [&](const auto& e) {
      return e.first == k.name || (in_group && std::count(d.keys.exactly_one_of.begin(), d.keys.exactly_one_of.end(), e.first));
    });
    entries.emplace_back(std::string(k.name), *wrong);
    const auto line = step_line(d.name, entries);
    auto r = load_step(line.text);
    EXPECT_TRUE(has_error_at(r, kStepLine, line.columns.at(std::string(k.name)).second))
        << d.name << "." << k.name << " (" << value_type_name(k.type) << ") = " << *wrong << "\n" << line.text << errors_text(r);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST_P(ClientShortFormCheck, the_short_form_names_a_declared_client) {
  const StepDescriptor& d = *GetParam();
  auto ok = load_step("  - " + std::string(d.name) + ": sub\n");
  EXPECT_TRUE(ok.ok()) << errors_text(ok);
  auto r = load_step("  - " + std::string(d.name) + ": nobody\n");
  EXPECT_TRUE(has_error_at(r, kStepLine, 5 + static_cast<int>(d.name.size()) + 2, "unknown client 'nobody'")) << errors_text(r);
}

INSTANTIATE_TEST_SUITE_P(Steps, StepDescriptorCheck, ::testing::ValuesIn(step_descriptors().begin(), step_descriptors().end()),
                         descriptor_name);
INSTANTIATE_TEST_SUITE_P(Steps, MappingStepCheck,
                         ::testing::ValuesIn(descriptors_where([](const StepDescriptor& d) { return d.shorthand != StepShorthand::duration; })),
                         descriptor_name);
INSTANTIATE_TEST_SUITE_P(Steps, ClientShortFormCheck,
                         ::testing::ValuesIn(descriptors_where([](const StepDescriptor& d) { return d.shorthand == StepShorthand::client; })),
                         descriptor_name);

TEST(ScenarioFormat, the_generated_readme_sections_replace_only_their_markers_content) {
  std::string readme = "intro\n";
  for (const auto& s : readme_sections())
    readme += readme_begin_marker(s.name) + "\nstale text\n" + readme_end_marker(s.name) + "\nbetween\n";
  std::string problem;
  auto updated = with_readme_sections(readme, problem);
  ASSERT_TRUE(updated) << problem;
  EXPECT_EQ(updated->find("stale text"), std::string::npos);
  EXPECT_TRUE(updated->starts_with("intro\n"));
  for (const auto& s : readme_sections()) EXPECT_NE(updated->find(s.text), std::string::npos) << s.name;
  EXPECT_EQ(with_readme_sections(*updated, problem), updated);  // idempotent
  EXPECT_FALSE(with_readme_sections("no markers\n", problem));
  EXPECT_NE(problem.find("must enclose the section"), std::string::npos);
}

TEST(ScenarioFormat, the_schema_names_every_step_kind_and_property_of_the_codec) {
  const auto schema = Json::parse(json_schema_text());
  std::set<std::string> kinds;
  for (const auto& alt : schema.at("$defs").at("step").at("oneOf"))
    for (const auto& [k, v] : alt.at("properties").items())
      if (k != "only") kinds.insert(k);
  std::set<std::string> want{"repeat"};
  for (const auto* d : step_descriptors()) want.insert(std::string(d->name));
  EXPECT_EQ(kinds, want);
  // The property table is the codec's: spot-check names and the binary one's hex schema.
  const auto& props = schema.at("$defs").at("properties").at("properties");
  EXPECT_EQ(props.size(), 27u);  // MQTT 5.0 2.2.2.2, table 2-4
  EXPECT_EQ(props.at("correlation_data").at("$ref"), "#/$defs/hex");
  EXPECT_EQ(props.at("topic_alias").at("$ref"), "#/$defs/integer");
}
