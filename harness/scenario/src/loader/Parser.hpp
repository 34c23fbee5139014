// The loader's parse state and its YAML readers (private to mqtth_scenario).
//
// Parser walks one scenario document: document-level keys (Document.cpp), the typed
// readers every key goes through (Parser.cpp: each reports a wrong value at its
// file:line:column and returns nullopt), and the step kinds, each parsed by the function
// of its StepDescriptor (src/steps/) through a StepInput.
//
// Robustness (the loader is fuzzed with arbitrary text): every yaml-cpp call that can
// throw runs inside load_string()'s try block; the walk counts visited nodes against a
// budget (YAML aliases can make a small file a huge tree); repeat expansion is bounded by
// max_steps and max_repeat_depth; recursion depth of the generic YAML->JSON conversion is
// bounded.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "mqtth/scenario/Format.hpp"
#include "mqtth/scenario/Loader.hpp"

namespace mqtth::scenario {

namespace detail {
struct BudgetExceeded {};
const char* node_kind(const YAML::Node& n);
std::string key_names(std::span<const KeySpec> keys);
}  // namespace detail

class Parser {
 public:
  Parser(std::string file, const LoadOptions& options) : file_(std::move(file)), opt_(options) {}

  std::vector<LoadError> errors;

  void error(const YAML::Mark& m, std::string message);
  void error(const YAML::Node& n, std::string message) { error(n.Mark(), std::move(message)); }

  std::vector<Scenario> parse_document(const YAML::Node& root);

  const LoadOptions& options() const { return opt_; }
  Version version() const { return version_; }

  void visit() {
    if (++visited_ > opt_.max_nodes_visited) throw detail::BudgetExceeded{};
  }

  // ---- scalars (Parser.cpp) --------------------------------------------------------------
  // Each reports what is wrong at the node and returns nullopt.

  // The scalar with {name} templates substituted. `seq_ok`: leave {seq} for the runner.
  std::optional<std::string> text(const YAML::Node& n, std::string_view what, bool seq_ok = false);
  std::optional<std::uint64_t> number(const YAML::Node& n, std::string_view what, std::uint64_t min,
                                      std::uint64_t max, std::string_view expected = {});
  template <class T>
  std::optional<T> uint(const YAML::Node& n, std::string_view what, std::uint64_t min, std::uint64_t max,
                        std::string_view expected = {}) {
    auto v = number(n, what, min, max, expected);
    if (!v) return std::nullopt;
    return static_cast<T>(*v);
  }
  std::optional<std::uint8_t> qos(const YAML::Node& n, std::string_view what) {
    return uint<std::uint8_t>(n, what, 0, 2, "0, 1 or 2");
  }
  std::optional<std::uint8_t> reason_code(const YAML::Node& n, std::string_view what) {
    return uint<std::uint8_t>(n, what, 0, 255, "a reason code 0..255 (e.g. 0x81)");
  }
  std::optional<bool> boolean(const YAML::Node& n, std::string_view what);
  std::optional<Duration> duration(const YAML::Node& n, std::string_view what);
  std::optional<PacketType> packet_type(const YAML::Node& n, std::string_view what);
  std::optional<std::string> hex(const YAML::Node& n, std::string_view what);
  std::optional<std::vector<std::uint8_t>> reason_code_list(const YAML::Node& n, std::string_view what);
  // SUBACK codes: each a reason code or {at_most_qos: N} (any granted QoS 0..N).
  std::optional<std::vector<SubackCode>> suback_code_list(const YAML::Node& n, std::string_view what);
  std::optional<Version> version_value(const YAML::Node& n, std::string_view what, std::string_view message);
  // One of an enum's names (`name(value)` for each of `values`): "WHAT must be a, b or c".
  template <class E>
  std::optional<E> named(const YAML::Node& n, std::string_view what, std::initializer_list<E> values,
                         std::string_view (*name)(E)) {
    auto t = text(n, what);
    if (!t) return std::nullopt;
    std::string names;
    std::size_t i = 0;
    for (E v : values) {
      if (*t == name(v)) return v;
      if (i > 0) names += i + 1 == values.size() ? " or " : ", ";
      names += name(v);
      ++i;
    }
    error(n, std::string(what) + " must be " + names + ", got '" + *t + "'");
    return std::nullopt;
  }

  // ---- mappings --------------------------------------------------------------------------

  // Checks `n` is a mapping with only `allowed` keys. Returns false if not a mapping.
  bool check_map(const YAML::Node& n, std::span<const KeySpec> allowed, std::string_view context);
  bool check_map(const YAML::Node& n, std::span<const std::string_view> allowed, std::string_view context);
  // Reports each required key of `keys` that `m` lacks: "<context>: missing key 'k' (<doc>)".
  void require_keys(const YAML::Node& m, std::span<const KeySpec> keys, std::string_view context);
  void require(const YAML::Node& m, std::string_view key, std::string_view context, std::string_view expected);

  // The value of `key` in mapping `m`, or an undefined node.
  static YAML::Node get(const YAML::Node& m, std::string_view key);
  static bool has(const YAML::Node& m, std::string_view key);

  // ---- values in the decode-JSON shape ---------------------------------------------------

  // Any YAML value as JSON: scalars become true/false/null/numbers where they read as such
  // (strings under a string-valued key or tagged `!` stay strings).
  Json generic(const YAML::Node& n, bool force_string, int depth);
  // A `properties:` block to send. Checks names and value types.
  Json properties(const YAML::Node& n, std::string_view context);
  // A `properties:` block to expect (subset match; ~ = absent).
  Json match_properties(const YAML::Node& n, std::string_view context);

  // ---- clients ---------------------------------------------------------------------------

  // The client named by node `n` (must be declared).
  std::optional<std::string> client_ref(const YAML::Node& n, std::string_view what);
  const ClientSpec* find_client(std::string_view name) const;
  // A client the step acts on through an existing connection.
  void require_opened(const YAML::Node& n, const std::string& client, std::string_view step);
  void mark_opened(const std::string& client) { opened_.insert(client); }
  // `{client}` in the step's values is this client's id.
  void set_acting(const std::string& name);
  void only_v5(const YAML::Node& n, std::string_view what);

  // ---- nested steps (any_of's alternatives) ----------------------------------------------

  // One item of a nested step list, parsed like an item of `steps:` (with `only` and
  // `repeat`): appends what it yields to `out`.
  void parse_nested_step(const YAML::Node& item, std::vector<Step>& out);

 private:
  std::string file_;
  const LoadOptions& opt_;
  std::set<std::tuple<int, int, std::string>> seen_;
  std::size_t visited_ = 0;

  // Per-version parse state.
  Version version_ = Version::v5;
  std::vector<std::pair<std::string, std::string>> vars_;  // innermost last
  const ClientSpec* acting_client_ = nullptr;                // for {client}
  std::vector<ClientSpec> clients_;
  std::set<std::string> opened_;  // clients connected or opened by send_raw so far
  std::size_t step_count_ = 0;
  std::size_t repeat_depth_ = 0;
  bool step_budget_reported_ = false;

  std::optional<std::string> substitute(const YAML::Node& n, const std::string& text, bool seq_ok);
  std::optional<std::string> lookup(const std::string& name);

  // Document.cpp
  std::optional<Scenario> parse_version(const YAML::Node& root, Version v, bool matrix);
  void parse_vars(const YAML::Node& n);
  void parse_spec(const YAML::Node& n, Version v, Scenario& s);
  // A statement id `what` names, checked against the statements of `v` (docs/spec/*.tsv);
  // nullopt after reporting what is wrong.
  std::optional<std::string> statement_id(const YAML::Node& n, Version v, std::string_view what);
  // A step's `spec:` for the version being parsed ("" when it names none for it).
  std::string parse_step_spec(const YAML::Node& n);
  void parse_requires(const YAML::Node& n, Scenario& s);
  void parse_clients(const YAML::Node& n);
  void parse_explore(const YAML::Node& n, Scenario& s);
  void check_server_role(const YAML::Node& steps, const Scenario& s);
  std::optional<ClientSpec> parse_client(const std::string& name, const YAML::Node& key, const YAML::Node& n);
  std::optional<WillSpec> parse_will(const YAML::Node& n);
  void parse_steps(const YAML::Node& list, std::vector<Step>& out, std::vector<std::string>& repeat_path);
  void parse_step_item(const YAML::Node& item, std::vector<Step>& out, std::vector<std::string>& repeat_path);
  void parse_repeat(const YAML::Node& key, const YAML::Node& value, std::vector<Step>& out,
                    std::vector<std::string>& repeat_path);
  std::optional<StepAction> parse_step(const StepDescriptor& d, const YAML::Node& key, const YAML::Node& n);
};

// One step as its descriptor's parse function sees it.
struct StepInput {
  Parser& p;
  const StepDescriptor& d;
  const YAML::Node& key;    // the `- kind:` key (errors about the whole step point here)
  const YAML::Node& value;  // its value: a mapping, or the shorthand scalar
  std::string ctx;          // the step's name in messages, e.g. "publish"

  bool scalar_form() const { return value.IsScalar(); }
  // The value of `field` in the step's mapping (undefined node when absent).
  YAML::Node get(std::string_view field) const { return Parser::get(value, field); }
  bool has(std::string_view field) const { return Parser::has(value, field); }
  // The declared client named by `field` (a missing key is reported by the required-key
  // check); sets the acting client for `{client}` when the field is `client`.
  std::optional<std::string> client(std::string_view field = "client");
  // The client of the shorthand form (`connect: sub`) or of the mapping's `client`.
  std::optional<std::string> client_or_shorthand();
  // `within` if given.
  std::optional<Duration> within();
};

}  // namespace mqtth::scenario
