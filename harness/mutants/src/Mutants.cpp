#include "mqtth/mutants/Mutants.hpp"

#include <yaml-cpp/yaml.h>

#include "mqtth/report/Spec.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace mqtth::mutants {

namespace {

std::string_view protocol_name(mqtt::Version v) { return v == mqtt::Version::v5 ? "5" : "3.1.1"; }

void collect_step_statements(const std::vector<scenario::Step>& steps, std::set<std::string>* out) {
  for (const auto& step : steps) {
    if (!step.spec.empty()) out->insert(step.spec);
    if (const auto* any = std::get_if<scenario::AnyOfStep>(&step.action))
      for (const auto& branch : any->branches) collect_step_statements(branch.steps, out);
  }
}

}  // namespace

std::string Mutant::protocol() const { return std::string(protocol_name(version)); }

std::string Mutant::id() const { return std::string(statement()) + " [" + protocol() + "]"; }

engine::BrokerConfig Mutant::broker_config() const {
  engine::BrokerConfig config;
  if (row) config.deviate.enable(*row, version);
  return config;
}

std::vector<std::string> Mutant::fault_specs() const {
  std::vector<std::string> out;
  if (!wire) return out;
  std::istringstream words{std::string(wire->faults)};
  for (std::string w; words >> w;) out.push_back(w);
  return out;
}

std::string table_markdown() {
  std::string out = "| statement | versions | area | deviation | what the broker does instead |\n|---|---|---|---|---|\n";
  for (const auto& row : engine::deviation_table()) {
    const char* versions = row.versions == engine::kBothVersions ? "3.1.1, 5" : row.versions == engine::kV5 ? "5" : "3.1.1";
    out += "| " + std::string(row.statement) + " | " + versions + " | " + std::string(row.area) + " | `" +
           std::string(row.name) + "` | " + std::string(row.instead) + " |\n";
  }
  return out;
}

std::vector<Mutant> all_mutants() {
  std::vector<Mutant> out;
  for (const auto& row : engine::deviation_table())
    for (auto v : {mqtt::Version::v3_1_1, mqtt::Version::v5})
      if (engine::applies_to(row, v)) out.push_back(Mutant{&row, nullptr, v});
  return out;
}

std::vector<Mutant> all_wire_mutants() {
  std::vector<Mutant> out;
  for (const auto& row : wire_table())
    for (auto v : {mqtt::Version::v3_1_1, mqtt::Version::v5})
      if ((row.versions & (v == mqtt::Version::v5 ? engine::kV5 : engine::kV311)) != 0)
        out.push_back(Mutant{nullptr, &row, v});
  return out;
}

const std::vector<engine::Deviation>& smoke_deviations() {
  using D = engine::Deviation;
  static const std::vector<D> list = {
      D::session_present_lost,          D::resend_without_dup,     D::qos2_repeat_forwarded,
      D::retained_not_sent_on_subscribe, D::wildcards_match_dollar_topics, D::suback_codes_reversed,
      D::unsubscribe_keeps_subscription, D::will_not_published,    D::qos3_publish_ignored,
      D::subscription_ids_not_sent,     D::puback_not_sent,        D::refused_connack_session_present};
  return list;
}

std::vector<Mutant> smoke_mutants() {
  std::vector<Mutant> out;
  const auto& wanted = smoke_deviations();
  for (const auto& m : all_mutants())
    if (std::find(wanted.begin(), wanted.end(), m.row->deviation) != wanted.end()) out.push_back(m);
  return out;
}

namespace {
std::vector<Mutant> select_from(std::vector<Mutant> all, const std::vector<std::string>& ids,
                                std::vector<std::string>* unknown) {
  if (ids.empty()) return all;
  std::vector<Mutant> out;
  for (const auto& id : ids) {
    bool found = false;
    for (const auto& m : all)
      if (m.statement() == id) {
        found = true;
        if (std::none_of(out.begin(), out.end(), [&](const Mutant& o) {
              return o.row == m.row && o.wire == m.wire && o.version == m.version;
            }))
          out.push_back(m);
      }
    if (!found && unknown) unknown->push_back(id);
  }
  return out;
}
}  // namespace

std::vector<Mutant> select_mutants(const std::vector<std::string>& ids, std::vector<std::string>* unknown) {
  return select_from(all_mutants(), ids, unknown);
}
std::vector<Mutant> select_wire_mutants(const std::vector<std::string>& ids, std::vector<std::string>* unknown) {
  return select_from(all_wire_mutants(), ids, unknown);
}

bool runs_under(const scenario::Scenario& s, mqtt::Version version) {
  // A role: server scenario plays the broker itself: no broker mutant can reach it.
  if (s.role == scenario::Role::server) return false;
  const bool v5 = s.protocol == mqtt::Version::v5;
  return v5 == (version == mqtt::Version::v5);
}

std::set<std::string> cited_statements(const scenario::Scenario& s) {
  std::set<std::string> out(s.spec.begin(), s.spec.end());
  collect_step_statements(s.steps, &out);
  return out;
}

bool cites(const scenario::Scenario& s, std::string_view statement) {
  return cited_statements(s).count(std::string(statement)) > 0;
}

CitedWithoutMutant cited_without_mutant(const std::vector<scenario::Scenario>& scenarios, mqtt::Version version) {
  const auto spec_version = version == mqtt::Version::v5 ? report::SpecVersion::v5 : report::SpecVersion::v3_1_1;
  std::set<std::string> cited;
  for (const auto& s : scenarios)
    if (runs_under(s, version))
      for (const auto& id : cited_statements(s))
        if (const auto* st = report::find_statement(spec_version, id); st && st->broker_observable()) cited.insert(id);
  CitedWithoutMutant out;
  out.version = version;
  out.cited.assign(cited.begin(), cited.end());
  const auto wire = all_wire_mutants();
  for (const auto& id : out.cited) {
    const auto rows = engine::deviations_for(id);
    const bool switch_breaks_it =
        std::any_of(rows.begin(), rows.end(), [&](const engine::DeviationInfo* row) { return engine::applies_to(*row, version); });
    // A wire mutant counts too: `mutants --wire` runs it in front of the embedded broker.
    const bool wire_breaks_it =
        std::any_of(wire.begin(), wire.end(), [&](const Mutant& m) { return m.statement() == id && m.version == version; });
    if (!switch_breaks_it && !wire_breaks_it) out.missing.push_back(id);
  }
  return out;
}

const std::vector<std::string_view>& smoke_files() {
  // One per QoS flow and a plain CONNECT: ordinary traffic, fast (under 1 s each).
  static const std::vector<std::string_view> files = {
      "connect/accepted_clean_start.yaml", "publish/qos0_delivery.yaml", "publish/qos1_acknowledged.yaml",
      "publish/qos2_handshake.yaml"};
  return files;
}

bool is_smoke(const scenario::Scenario& s) {
  std::string file = s.file;
  std::replace(file.begin(), file.end(), '\\', '/');
  for (auto suffix : smoke_files())
    if (file.size() >= suffix.size() && file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        (file.size() == suffix.size() || file[file.size() - suffix.size() - 1] == '/'))
      return true;
  return false;
}

bool Accepted::matches(const Mutant& m) const {
  return m.statement() == statement && (!protocol || *protocol == m.protocol());
}

const Accepted* AcceptedList::find(const Mutant& m) const {
  for (const auto& e : entries)
    if (e.matches(m)) return &e;
  return nullptr;
}

AcceptedList parse_accepted(std::string_view yaml, const std::string& file) {
  AcceptedList out;
  auto fail = [&](const YAML::Node& node, const std::string& what) {
    const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    out.entries.clear();
    out.error = file + ":" + std::to_string(line) + ": " + what;
    return out;
  };
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    out.error = file + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg;
    return out;
  }
  if (root.IsNull()) return out;
  if (!root.IsMap()) return fail(root, "expected a mapping with the key `accepted`");
  for (const auto& top : root) {
    if (top.first.Scalar() != "accepted") return fail(top.first, "unknown key '" + top.first.Scalar() + "'; expected accepted");
    const YAML::Node& list = top.second;
    if (list.IsNull()) continue;
    if (!list.IsSequence()) return fail(list, "accepted: expected a list of {statement, protocol, reason}");
    for (const auto& item : list) {
      if (!item.IsMap()) return fail(item, "accepted[]: expected {statement, protocol, reason}");
      Accepted a;
      a.line = item.Mark().line + 1;
      for (const auto& kv : item) {
        const std::string key = kv.first.Scalar();
        if (!kv.second.IsScalar()) return fail(kv.second, "accepted[]." + key + ": expected a string");
        if (key == "statement") a.statement = kv.second.Scalar();
        else if (key == "protocol") a.protocol = kv.second.Scalar();
        else if (key == "reason") a.reason = kv.second.Scalar();
        else return fail(kv.first, "accepted[]: unknown key '" + key + "'; expected statement, protocol, reason");
      }
      if (a.protocol == "5.0") a.protocol = "5";
      if (a.protocol && *a.protocol != "3.1.1" && *a.protocol != "5")
        return fail(item, "accepted[].protocol: expected 3.1.1 or 5, got '" + *a.protocol + "'");
      if (a.reason.empty()) return fail(item, "accepted[]: every accepted survivor needs a reason");
      const auto rows = engine::deviations_for(a.statement);
      const auto wire = all_wire_mutants();
      const bool known = std::any_of(rows.begin(), rows.end(), [&](const engine::DeviationInfo* row) {
        return !a.protocol || engine::applies_to(*row, *a.protocol == "5" ? mqtt::Version::v5 : mqtt::Version::v3_1_1);
      }) || std::any_of(wire.begin(), wire.end(), [&](const Mutant& m) {
        return m.statement() == a.statement && (!a.protocol || *a.protocol == m.protocol());
      });
      if (!known)
        return fail(item, "accepted[]: no mutant breaks '" + a.statement + "'" +
                              (a.protocol ? " under " + *a.protocol : std::string()) + " (docs/mutants.md lists them)");
      out.entries.push_back(std::move(a));
    }
  }
  return out;
}

AcceptedList load_accepted(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    AcceptedList out;
    out.error = path + ": cannot read the accepted survivors file";
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_accepted(text.str(), path);
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::killed: return "killed";
    case Verdict::survived: return "survived";
    case Verdict::accepted: return "accepted";
    case Verdict::not_applicable: return "not applicable";
    case Verdict::error: return "error";
  }
  return "?";
}

Verdict decide(const MutantResult& r, const AcceptedList& accepted) {
  if (r.scenarios.empty()) return Verdict::not_applicable;
  if (!r.kills.empty()) return Verdict::killed;
  if (!r.errors.empty()) return Verdict::error;
  return accepted.find(r.mutant) ? Verdict::accepted : Verdict::survived;
}

double Score::percent() const {
  const int applicable = killed + survived + accepted;
  return applicable == 0 ? 0.0 : 100.0 * killed / applicable;
}

Score score(const std::vector<MutantResult>& results, std::optional<mqtt::Version> version) {
  Score s;
  for (const auto& r : results) {
    if (version && r.mutant.version != *version) continue;
    switch (r.verdict) {
      case Verdict::killed: ++s.killed; break;
      case Verdict::survived: ++s.survived; break;
      case Verdict::accepted: ++s.accepted; break;
      case Verdict::not_applicable: ++s.not_applicable; break;
      case Verdict::error: ++s.errors; break;
    }
  }
  return s;
}

int exit_status(const std::vector<MutantResult>& results) {
  const Score s = score(results);
  if (s.errors > 0) return 2;
  return s.survived > 0 ? 1 : 0;
}

namespace {

report::Json score_json(const Score& s) {
  return {{"killed", s.killed}, {"survived", s.survived}, {"accepted", s.accepted},
          {"not_applicable", s.not_applicable}, {"errors", s.errors}, {"score_percent", s.percent()}};
}

}  // namespace

report::Json to_json(const std::vector<MutantResult>& results, double duration_ms) {
  report::Json j;
  j["summary"] = score_json(score(results));
  j["summary"]["duration_ms"] = duration_ms;
  j["by_protocol"] = {{"3.1.1", score_json(score(results, mqtt::Version::v3_1_1))},
                      {"5", score_json(score(results, mqtt::Version::v5))}};
  report::Json list = report::Json::array();
  for (const auto& r : results) {
    report::Json kills = report::Json::array();
    for (const auto& k : r.kills)
      kills.push_back({{"scenario", k.scenario}, {"file", k.file}, {"statement", k.statement}, {"smoke", k.smoke}});
    report::Json item = {{"id", r.mutant.id()},
                         {"statement", r.mutant.statement()},
                         {"protocol", r.mutant.protocol()},
                         {"deviation", r.mutant.name()},
                         {"area", r.mutant.area()},
                         {"instead", r.mutant.instead()},
                         {"verdict", to_string(r.verdict)},
                         {"scenarios", r.scenarios},
                         {"kills", kills},
                         {"errors", r.errors},
                         {"duration_ms", r.duration_ms}};
    if (r.verdict == Verdict::accepted) item["accepted_reason"] = r.accepted_reason;
    list.push_back(std::move(item));
  }
  j["mutants"] = std::move(list);
  return j;
}

std::string to_html(const std::vector<MutantResult>& results, double duration_ms) {
  using report::escape_html;
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mqtt-harness mutants</title>\n";
  h += "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
       "th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
       "th{cursor:pointer;background:#eee}.killed{background:#dfd}.survived{background:#fdd}"
       ".accepted{background:#ffd}.error{background:#fbb}</style></head><body>\n";
  h += "<h1>Mutants</h1>\n<p>Each mutant is the embedded broker with one deviation switch on, "
       "or a broker behind the fault proxy with one wire mutant's rules (docs/mutants.md). Score = killed / (killed + survived + accepted).</p>\n<table id=\"scores\">"
       "<tr><th>protocol</th><th>killed</th><th>survived</th><th>accepted</th><th>not applicable</th>"
       "<th>errors</th><th>score</th></tr>\n";
  auto score_row = [&](const std::string& name, const Score& s) {
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.1f %%", s.percent());
    h += "<tr><td>" + name + "</td><td>" + std::to_string(s.killed) + "</td><td>" + std::to_string(s.survived) +
         "</td><td>" + std::to_string(s.accepted) + "</td><td>" + std::to_string(s.not_applicable) + "</td><td>" +
         std::to_string(s.errors) + "</td><td>" + pct + "</td></tr>\n";
  };
  score_row("3.1.1", score(results, mqtt::Version::v3_1_1));
  score_row("5", score(results, mqtt::Version::v5));
  score_row("all", score(results));
  char took[64];
  std::snprintf(took, sizeof took, "%.1f s", duration_ms / 1000.0);
  h += std::string("</table>\n<p>Run time: ") + took + ". Click a column heading to sort.</p>\n";
  h += "<table id=\"mutants\"><thead><tr><th>statement</th><th>protocol</th><th>section</th><th>area</th>"
       "<th>what the broker does instead</th><th>verdict</th><th>killed by (statement blamed)</th></tr></thead><tbody>\n";
  for (const auto& r : results) {
    const std::string verdict(to_string(r.verdict));
    std::string section(r.mutant.statement());
    if (section.rfind("MQTT-", 0) == 0) section = section.substr(5, section.rfind('-') - 5);
    std::string by;
    for (const auto& k : r.kills)
      by += escape_html(k.scenario) + " (" + escape_html(k.statement.empty() ? "no statement" : k.statement) + ")" +
            (k.smoke ? " [smoke]" : "") + "<br>";
    if (r.verdict == Verdict::accepted) by += "accepted: " + escape_html(r.accepted_reason);
    for (const auto& e : r.errors) by += "error: " + escape_html(e) + "<br>";
    h += "<tr class=\"" + std::string(r.verdict == Verdict::not_applicable ? "na" : verdict) + "\"><td>" +
         escape_html(r.mutant.statement()) + "</td><td>" + r.mutant.protocol() + "</td><td>" + escape_html(section) +
         "</td><td>" + escape_html(r.mutant.area()) + "</td><td>" + escape_html(r.mutant.instead()) + "</td><td>" +
         verdict + "</td><td>" + by + "</td></tr>\n";
  }
  h += "</tbody></table>\n<script>\n"
       "document.querySelectorAll('#mutants th').forEach(function(th,col){th.addEventListener('click',function(){"
       "var body=document.querySelector('#mutants tbody');var rows=Array.from(body.rows);"
       "var asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';"
       "rows.sort(function(a,b){var x=a.cells[col].textContent,y=b.cells[col].textContent;"
       "return (asc?1:-1)*x.localeCompare(y,undefined,{numeric:true});});"
       "rows.forEach(function(r){body.appendChild(r);});});});\n</script>\n</body></html>\n";
  return h;
}

}  // namespace mqtth::mutants
