// The document level of a scenario file: the top-level keys, vars, spec, requires,
// explore, clients and their wills. The steps: StepList.cpp.
#include <algorithm>

#include "loader/Parser.hpp"
#include "loader/Scalars.hpp"
#include "mqtth/report/Spec.hpp"
#include "steps/StepFamilies.hpp"

namespace mqtth::scenario {

using detail::key_names;
using detail::node_kind;

// ---------------------------------------------------------------------------------------
// The keys of the mappings parsed here.

namespace {
constexpr std::string_view kProtocolChoice[] = {"protocol", "protocols"};
constexpr KeySpec kScenarioKeys[] = {
    {"name", ValueType::text, true, {}, "a sentence saying what the scenario checks"},
    {"description", ValueType::text, false, {}, "free text"},
    {"spec", ValueType::spec_ids, false, {}, "statement ids MQTT-x.x.x-y this scenario checks: a list, or {\"3.1.1\": [...], \"5\": [...]}"},
    {"protocol", ValueType::version, false, {}, "the protocol version: 3.1.1, 5 (or 5.0), 3.1"},
    {"protocols", ValueType::version_list, false, {}, "a list of versions: the scenario runs once per version"},
    {"timeout", ValueType::duration, false, "10s", "the whole scenario's limit; also the default `within` of every wait"},
    {"requires", ValueType::features, false, {}, "broker features the scenario needs; a runner skips it when the broker lacks one"},
    {"vars", ValueType::vars, false, {}, "variables for {name} templates"},
    {"clients", ValueType::clients, false, {}, "client name -> settings"},
    {"steps", ValueType::steps, true, {}, "the list of steps"},
    {"explore", ValueType::explore, false, {}, "cut_points, or {mode: cut_points, clients: [names], max_runs: N}: fault-point exploration"},
    {"role", ValueType::role, false, "client", "server: the harness plays the broker for a client under test (`run --client`, docs/clients.md)"},
};
constexpr MappingSpec kScenario{"scenario", "a scenario file", kScenarioKeys, kProtocolChoice};

constexpr KeySpec kExploreKeys[] = {
    {"mode", ValueType::explore_mode, true, {}, "cut_points"},
    {"clients", ValueType::client_list, false, "every client", "the clients whose links are cut"},
    {"max_runs", ValueType::integer, false, "the runner's (60)", "bound on cut runs, 1..10000"},
};
constexpr MappingSpec kExplore{"explore", "fault-point exploration (docs/faults.md): cut each explored client's link after every packet", kExploreKeys};

constexpr KeySpec kWillKeys[] = {
    {"topic", ValueType::text, true, {}, "the will topic"},
    {"payload", ValueType::text, false, "empty", "the will message as text"},
    {"payload_hex", ValueType::hex, false, {}, "the will message as hex (instead of payload)"},
    {"qos", ValueType::qos, false, "0", "Will QoS"},
    {"retain", ValueType::boolean, false, "false", "Will Retain"},
    {"properties", ValueType::properties, false, {}, "will properties (5.0)"},
    {"delay", ValueType::integer, false, {}, "Will Delay Interval in seconds (5.0)"},
};
constexpr MappingSpec kWill{"will", "the client's will message", kWillKeys};

constexpr KeySpec kClientKeys[] = {
    {"client_id", ValueType::text, false, "the client's name", "the Client Identifier; \"\" sends an empty one"},
    {"clean_start", ValueType::boolean, false, "true", "Clean Start (Clean Session in 3.1.1)"},
    {"session_expiry", ValueType::integer, false, "not sent (0)", "Session Expiry Interval in seconds (5.0)"},
    {"keep_alive", ValueType::integer, false, "60", "Keep Alive in seconds (0: off)"},
    {"username", ValueType::text, false, {}, "User Name"},
    {"password", ValueType::text, false, {}, "Password"},
    {"will", ValueType::mapping, false, {}, "the will message", &kWill},
    {"properties", ValueType::properties, false, {}, "other CONNECT properties (5.0)"},
    {"receive_maximum", ValueType::integer, false, {}, "Receive Maximum (5.0)"},
    {"topic_alias_maximum", ValueType::integer, false, {}, "Topic Alias Maximum (5.0)"},
    {"maximum_packet_size", ValueType::integer, false, {}, "Maximum Packet Size (5.0)"},
    {"protocol", ValueType::version, false, "the scenario's", "this client speaks another version than the scenario"},
};
constexpr MappingSpec kClient{"client", "a client's settings", kClientKeys};

}  // namespace

const MappingSpec& scenario_keys() { return kScenario; }
const MappingSpec& client_keys() { return kClient; }
const MappingSpec& will_keys() { return kWill; }
const MappingSpec& explore_keys() { return kExplore; }

// ---------------------------------------------------------------------------------------

std::vector<Scenario> Parser::parse_document(const YAML::Node& root) {
  visit();
  if (!root.IsMap()) {
    error(root, std::string("a scenario file must be a mapping with keys: ") + key_names(kScenarioKeys) + "; got " + node_kind(root));
    return {};
  }
  check_map(root, kScenarioKeys, "scenario");
  std::vector<Version> versions;
  bool matrix = false;
  YAML::Node p = get(root, "protocol"), ps = get(root, "protocols");
  if (p && ps) {
    error(ps, "use either 'protocol' or 'protocols', not both");
  } else if (p) {
    if (auto v = version_value(p, "protocol", "protocol must be 3.1, 3.1.1 or 5")) versions.push_back(*v);
  } else if (ps) {
    matrix = true;
    visit();
    if (!ps.IsSequence() || ps.size() == 0) {
      error(ps, std::string("protocols must be a non-empty list of versions (3.1, 3.1.1, 5), got ") + node_kind(ps));
    } else {
      for (const auto& item : ps) {
        auto s = text(item, "protocols");
        if (!s) continue;
        auto v = mqtt::parse_version(*s);
        if (!v) error(item, "protocols: each version must be 3.1, 3.1.1 or 5, got '" + *s + "'");
        else if (std::find(versions.begin(), versions.end(), *v) != versions.end()) error(item, "protocols: version " + *s + " is listed twice");
        else versions.push_back(*v);
      }
    }
  } else {
    error(root, "scenario: missing key 'protocol' (3.1.1 or 5) or 'protocols' (e.g. [3.1.1, 5]); the checked statements differ per version");
  }
  if (versions.empty()) {
    // Still check the rest of the file (as MQTT 5) so every error is reported at once.
    parse_version(root, Version::v5, false);
    return {};
  }
  std::vector<Scenario> out;
  for (Version v : versions)
    if (auto s = parse_version(root, v, matrix)) out.push_back(std::move(*s));
  return out;
}

std::optional<Scenario> Parser::parse_version(const YAML::Node& root, Version v, bool matrix) {
  version_ = v;
  vars_.clear();
  clients_.clear();
  opened_.clear();
  acting_client_ = nullptr;
  step_count_ = 0;
  repeat_depth_ = 0;
  Scenario s;
  s.file = file_;
  s.protocol = v;
  s.from_matrix = matrix;

  // vars first: every other value may use them.
  if (auto n = get(root, "vars")) parse_vars(n);

  require_keys(root, kScenarioKeys, "scenario");
  if (auto n = get(root, "name")) {
    s.where = {n.Mark().line + 1, n.Mark().column + 1};
    if (auto t = text(n, "name")) {
      if (t->empty()) error(n, "name must not be empty");
      s.name = *t;
    }
  }
  if (matrix) s.name += " [" + std::string(mqtt::to_string(v)) + "]";

  if (auto n = get(root, "description")) {
    if (auto t = text(n, "description")) s.description = *t;
  }
  if (auto n = get(root, "spec")) parse_spec(n, v, s);
  if (auto n = get(root, "timeout")) {
    if (auto d = duration(n, "timeout")) {
      if (d->count() == 0) error(n, "timeout must be longer than 0");
      else s.timeout = *d;
    }
  }
  if (auto n = get(root, "requires")) parse_requires(n, s);
  if (auto n = get(root, "role")) {
    if (auto r = named(n, "role", {Role::client, Role::server}, role_name)) s.role = *r;
  }
  if (auto n = get(root, "clients")) parse_clients(n);
  s.clients = clients_;
  if (auto n = get(root, "explore")) parse_explore(n, s);

  if (auto n = get(root, "steps")) {
    visit();
    if (!n.IsSequence() || n.size() == 0) {
      error(n, std::string("steps must be a non-empty list of steps, got ") + node_kind(n));
    } else {
      std::vector<std::string> path;
      parse_steps(n, s.steps, path);
    }
    if (s.role == Role::server) check_server_role(n, s);
  }
  if (!errors.empty()) return std::nullopt;
  return s;
}

// A server-role scenario scripts one client under test: one declared client (the name of its
// link), no settings for it (the client under test chooses its CONNECT), and only the steps
// that act on the harness's side of a link.
void Parser::check_server_role(const YAML::Node& steps, const Scenario& s) {
  auto at = [](SourceLocation where) {
    YAML::Mark m;
    m.line = where.line - 1;
    m.column = where.column - 1;
    return m;
  };
  if (clients_.size() != 1)
    error(steps, "role: server scripts one client under test: declare exactly one client (the name of its link), got " +
                     std::to_string(clients_.size()));
  for (const auto& c : clients_) {
    ClientSpec plain;
    plain.name = plain.client_id = c.name;
    plain.where = c.where;
    if (!(c == plain))
      error(at(c.where), "role: server: client '" + c.name + "' takes no settings (the client under test chooses its CONNECT)");
  }
  if (s.explore) error(steps, "role: server: explore is not supported yet (docs/clients.md \"Not done yet\")");
  for (const auto& step : s.steps)
    if (!steps::server_role_step(step.kind()))
      error(at(step.where), std::string(step_kind_name(step.kind())) +
                                ": not a step of role: server (it drives a client of the harness; docs/clients.md lists the steps)");
}

void Parser::parse_vars(const YAML::Node& n) {
  visit();
  if (!n.IsMap()) {
    error(n, std::string("vars must be a mapping of names to values, got ") + node_kind(n));
    return;
  }
  for (const auto& kv : n) {
    visit();
    if (!kv.first.IsScalar() || !detail::is_variable_name(kv.first.Scalar())) {
      error(kv.first, "vars: a variable name must be letters, digits and _ (not starting with a digit)");
      continue;
    }
    const std::string& name = kv.first.Scalar();
    if (name == "seq" || name == "client" || name == "protocol") {
      error(kv.first, "vars: '" + name + "' is a built-in variable and cannot be redefined");
      continue;
    }
    auto value = text(kv.second, "vars: " + name);
    if (value) vars_.emplace_back(name, *value);
  }
}

std::optional<std::string> Parser::statement_id(const YAML::Node& n, Version v, std::string_view what) {
  auto id = text(n, what);
  if (!id) return std::nullopt;
  if (!detail::valid_spec_id(*id)) {
    error(n, std::string(what) + ": '" + *id + "' is not a statement id of the form MQTT-x.x.x-y (e.g. MQTT-3.3.1-4)");
    return std::nullopt;
  }
  // 3.1 scenarios cite 3.1.1's statements; the same id names different statements in 3.1.1
  // and 5.0, so an id is checked against its own version's list.
  const auto spec_version = v == Version::v5 ? report::SpecVersion::v5 : report::SpecVersion::v3_1_1;
  if (!report::find_statement(spec_version, *id)) {
    const std::string name(report::to_string(spec_version));
    error(n, std::string(what) + ": '" + *id + "' is not a statement of MQTT " + name + " (docs/spec/mqtt-" +
                 (spec_version == report::SpecVersion::v5 ? "5.0" : "3.1.1") + ".tsv)");
    return std::nullopt;
  }
  return id;
}

std::string Parser::parse_step_spec(const YAML::Node& n) {
  visit();
  if (n.IsScalar()) return statement_id(n, version_, "spec").value_or("");
  if (!n.IsMap()) {
    error(n, std::string("spec must be a statement id (MQTT-3.3.1-4) or one per version ({\"3.1.1\": ..., \"5\": ...}), got ") +
                 node_kind(n));
    return "";
  }
  std::string chosen;
  for (const auto& kv : n) {
    visit();
    auto key = kv.first.IsScalar() ? mqtt::parse_version(kv.first.Scalar()) : std::nullopt;
    if (!key) {
      error(kv.first, "spec: per-version keys must be 3.1, 3.1.1 or 5, got '" +
                          (kv.first.IsScalar() ? kv.first.Scalar() : std::string("?")) + "'");
      continue;
    }
    // Every version's id is checked, also those of the versions not being parsed.
    auto id = statement_id(kv.second, *key, "spec");
    if (id && *key == version_) chosen = *id;
  }
  return chosen;
}

void Parser::parse_spec(const YAML::Node& n, Version v, Scenario& s) {
  visit();
  auto read_list = [&](const YAML::Node& list) {
    visit();
    if (!list.IsSequence()) {
      error(list, std::string("spec must be a list of statement ids like [MQTT-3.3.1-4], got ") + node_kind(list));
      return;
    }
    for (const auto& item : list) {
      auto id = statement_id(item, v, "spec");
      if (!id) continue;
      if (std::find(s.spec.begin(), s.spec.end(), *id) != s.spec.end()) error(item, "spec: '" + *id + "' is listed twice");
      else s.spec.push_back(*id);
    }
  };
  if (!n.IsMap()) return read_list(n);
  // Per-version lists: {"3.1.1": [...], "5": [...]}.
  for (const auto& kv : n) {
    visit();
    auto key = kv.first.IsScalar() ? mqtt::parse_version(kv.first.Scalar()) : std::nullopt;
    if (!key) {
      error(kv.first, "spec: per-version keys must be 3.1, 3.1.1 or 5, got '" + (kv.first.IsScalar() ? kv.first.Scalar() : std::string("?")) + "'");
      continue;
    }
    if (*key == v) read_list(kv.second);
  }
}

void Parser::parse_requires(const YAML::Node& n, Scenario& s) {
  visit();
  if (!n.IsSequence()) {
    error(n, std::string("requires must be a list of features (") + detail::join(feature_names()) + "), got " + node_kind(n));
    return;
  }
  for (const auto& item : n) {
    auto t = text(item, "requires");
    if (!t) continue;
    auto f = parse_feature(*t);
    if (!f) error(item, "requires: unknown feature '" + *t + "'; expected one of: " + detail::join(feature_names()));
    else if (std::find(s.requires_features.begin(), s.requires_features.end(), *f) == s.requires_features.end()) s.requires_features.push_back(*f);
  }
}

void Parser::parse_clients(const YAML::Node& n) {
  visit();
  if (!n.IsMap()) {
    error(n, std::string("clients must be a mapping of client names to settings, got ") + node_kind(n));
    return;
  }
  for (const auto& kv : n) {
    visit();
    if (!kv.first.IsScalar() || kv.first.Scalar().empty()) {
      error(kv.first, "clients: a client name must be a non-empty string");
      continue;
    }
    if (auto c = parse_client(kv.first.Scalar(), kv.first, kv.second)) clients_.push_back(std::move(*c));
  }
}

// explore: cut_points | {mode: cut_points, clients: [name...], max_runs: N}
void Parser::parse_explore(const YAML::Node& n, Scenario& s) {
  visit();
  Exploration e;
  bool ok = true;
  auto mode_ok = [&](const YAML::Node& m) {
    auto t = text(m, "explore");
    if (!t) return false;
    if (*t != "cut_points") {
      error(m, "explore: unknown mode '" + *t + "'; expected cut_points");
      return false;
    }
    return true;
  };
  if (n.IsScalar()) {
    ok = mode_ok(n);
  } else if (n.IsMap()) {
    ok = check_map(n, kExploreKeys, "explore");
    if (auto m = get(n, "mode")) {
      ok = mode_ok(m) && ok;
    } else {
      require_keys(n, kExploreKeys, "explore");
      ok = false;
    }
    if (auto cs = get(n, "clients")) {
      visit();
      if (!cs.IsSequence()) {
        error(cs, std::string("explore: clients must be a list of client names, got ") + node_kind(cs));
        ok = false;
      } else {
        for (const auto& item : cs) {
          auto name = text(item, "explore: clients");
          if (!name) continue;
          if (!s.find_client(*name)) {
            error(item, "explore: client '" + *name + "' is not declared under `clients:`");
            ok = false;
          } else {
            e.clients.push_back(*name);
          }
        }
      }
    }
    if (auto m = get(n, "max_runs")) {
      if (auto runs = uint<std::uint32_t>(m, "max_runs", 1, 10000)) e.max_runs = *runs;
      else ok = false;
    }
  } else {
    error(n, std::string("explore must be cut_points or a mapping {mode: cut_points, clients: [...], max_runs: N}, got ") +
                 node_kind(n));
    ok = false;
  }
  if (ok) s.explore = std::move(e);
}

std::optional<ClientSpec> Parser::parse_client(const std::string& name, const YAML::Node& key, const YAML::Node& n) {
  ClientSpec c;
  c.name = name;
  c.client_id = name;
  c.where = {key.Mark().line + 1, key.Mark().column + 1};
  for (const auto& other : clients_)
    if (other.name == name) error(key, "clients: client '" + name + "' is declared twice");
  if (n.IsNull()) return c;
  if (!check_map(n, kClientKeys, "client '" + name + "'")) return c;
  acting_client_ = nullptr;
  if (auto x = get(n, "client_id")) {
    if (auto t = text(x, "client_id")) c.client_id = *t;
  }
  if (auto x = get(n, "clean_start")) {
    if (auto b = boolean(x, "clean_start")) c.clean_start = *b;
  }
  if (auto x = get(n, "keep_alive")) {
    if (auto k = uint<std::uint16_t>(x, "keep_alive", 0, 65535, "seconds 0..65535")) c.keep_alive = *k;
  }
  if (auto x = get(n, "username")) c.username = text(x, "username");
  if (auto x = get(n, "password")) c.password = text(x, "password");
  if (auto x = get(n, "will")) c.will = parse_will(x);
  if (auto x = get(n, "protocol")) c.protocol = version_value(x, "protocol", "protocol must be 3.1, 3.1.1 or 5");
  // MQTT 5 only settings are parsed always (so their errors show) but kept only for a 5.0
  // client: one declaration serves a protocols matrix.
  Version saved = version_;
  version_ = Version::v5;
  std::optional<std::uint32_t> session_expiry;
  Json props = Json::object();
  std::optional<std::uint16_t> receive_maximum, topic_alias_maximum;
  std::optional<std::uint32_t> maximum_packet_size;
  if (auto x = get(n, "session_expiry")) session_expiry = uint<std::uint32_t>(x, "session_expiry", 0, 4294967295u, "seconds 0..4294967295");
  if (auto x = get(n, "properties")) props = properties(x, "client '" + name + "'");
  if (auto x = get(n, "receive_maximum")) receive_maximum = uint<std::uint16_t>(x, "receive_maximum", 1, 65535);
  if (auto x = get(n, "topic_alias_maximum")) topic_alias_maximum = uint<std::uint16_t>(x, "topic_alias_maximum", 0, 65535);
  if (auto x = get(n, "maximum_packet_size")) maximum_packet_size = uint<std::uint32_t>(x, "maximum_packet_size", 1, 268435460);
  version_ = saved;
  Version effective = c.protocol.value_or(version_);
  if (effective == Version::v5) {
    c.session_expiry = session_expiry;
    c.properties = props;
    c.receive_maximum = receive_maximum;
    c.topic_alias_maximum = topic_alias_maximum;
    c.maximum_packet_size = maximum_packet_size;
  } else if (c.will) {
    c.will->delay.reset();
    c.will->properties = Json::object();
  }
  return c;
}

std::optional<WillSpec> Parser::parse_will(const YAML::Node& n) {
  if (!check_map(n, kWillKeys, "will")) return std::nullopt;
  WillSpec w;
  require_keys(n, kWillKeys, "will");
  if (auto x = get(n, "topic")) {
    if (auto t = text(x, "will topic")) w.topic = *t;
  }
  if (has(n, "payload") && has(n, "payload_hex")) error(get(n, "payload_hex"), "will: use either 'payload' or 'payload_hex', not both");
  if (auto x = get(n, "payload")) {
    if (auto t = text(x, "will payload")) w.payload = *t;
  }
  if (auto x = get(n, "payload_hex")) {
    if (auto t = hex(x, "will payload_hex")) w.payload = *t;
  }
  if (auto x = get(n, "qos")) {
    if (auto q = qos(x, "will qos")) w.qos = *q;
  }
  if (auto x = get(n, "retain")) {
    if (auto b = boolean(x, "will retain")) w.retain = *b;
  }
  Version saved = version_;
  version_ = Version::v5;
  if (auto x = get(n, "delay")) w.delay = uint<std::uint32_t>(x, "will delay", 0, 4294967295u, "seconds 0..4294967295");
  if (auto x = get(n, "properties")) w.properties = properties(x, "will");
  version_ = saved;
  return w;
}

}  // namespace mqtth::scenario
