// JSON report (docs/architecture.md "JSON report"; every key is documented in docs/reports.md).
#include <algorithm>
#include <cmath>

#include "mqtth/report/Report.hpp"
#include "mqtth/report/Verdicts.hpp"

namespace mqtth::report {
namespace {

// Durations are written as integers (milliseconds, rounded: docs/reports.md); packet times
// keep three decimals.
std::int64_t whole_ms(double ms) { return static_cast<std::int64_t>(std::llround(ms)); }
double micro_rounded(double ms) { return std::round(ms * 1000.0) / 1000.0; }

Json packet_json(const PacketRecord& p) {
  Json j;
  j["client"] = p.client;
  j["direction"] = to_string(p.direction);
  j["time_ms"] = micro_rounded(p.time_ms);
  j["type"] = p.type;
  if (!p.decoded.is_null()) j["decoded"] = p.decoded;
  if (!p.hex.empty()) j["hex"] = p.hex;
  return j;
}

Json packets_json(const std::vector<PacketRecord>& packets) {
  Json a = Json::array();
  for (const PacketRecord& p : packets) a.push_back(packet_json(p));
  return a;
}

Json foreign_json(const ledger::ForeignCounts& f) {
  return Json{{"subscriber", f.subscriber},
              {"unparsable", f.unparsable},
              {"other_run", f.other_run},
              {"unknown", f.unknown}};
}

}  // namespace

std::string dump_json(const Json& j, int indent) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Json to_json(const ledger::StreamResult& r) {
  Json j;
  // The keys of docs/architecture.md "JSON report" first, in its order.
  j["publisher"] = r.publisher;
  j["subscriber"] = r.subscriber;
  j["topic"] = r.topic;
  j["qos"] = r.qos;
  j["guarantee"] = ledger::to_string(r.guarantee);
  j["sent"] = r.sent;
  j["delivered"] = r.delivered;
  j["lost"] = r.lost;
  j["duplicated"] = r.duplicated;
  j["reordered"] = r.reordered;
  j["verdict"] = ledger::to_string(r.verdict);
  // Extras.
  j["reason"] = r.reason;
  j["ordered"] = r.ordered;
  j["publish_qos"] = r.publish_qos;
  j["granted_qos"] = r.granted_qos;
  j["attempted"] = r.attempted;
  j["duplicated_excused"] = r.duplicated_excused;
  j["late_redelivered"] = r.late_redelivered;
  j["qos_mismatch"] = r.qos_mismatch;
  j["unexpected"] = r.unexpected;
  j["waived"] = r.waived;
  // The verdict's statement (docs/reports.md "Verdicts"), and what follows from a deviation
  // reported elsewhere (its statement in `cause`).
  j["statement"] = r.statement;
  j["see_also"] = r.see_also;
  j["cause"] = r.cause;
  j["lost_consequence"] = r.lost_consequence;
  j["duplicated_consequence"] = r.duplicated_consequence;
  return j;
}

namespace {

Json broker_failure_json(const BrokerFailure& b) {
  return Json{{"kind", b.kind}, {"exit", b.exit}, {"sanitizer", b.sanitizer}, {"report", b.report},
              {"output_tail", b.output_tail}};
}

}  // namespace

Json to_json(const ScenarioResult& s) {
  Json j;
  j["name"] = s.name;
  j["file"] = s.file;
  j["protocol"] = s.protocol;
  j["status"] = to_string(s.status);
  j["duration_ms"] = whole_ms(s.duration_ms);
  j["spec"] = s.spec;
  if (s.status == Status::skipped || !s.skip_reason.empty()) j["skip_reason"] = s.skip_reason;
  if (s.failure) {
    const Failure& f = *s.failure;
    Json fj;
    fj["step"] = f.step;
    fj["line"] = f.line;
    fj["message"] = f.message;
    if (!f.expected.empty()) fj["expected"] = f.expected;
    if (!f.actual.empty()) fj["actual"] = f.actual;
    fj["statement"] = f.statement;
    if (!f.no_statement.empty()) fj["no_statement"] = f.no_statement;
    if (!f.see_also.empty()) fj["see_also"] = f.see_also;
    if (!f.consequences.empty()) {
      Json list = Json::array();
      for (const Consequence& c : f.consequences)
        list.push_back(Json{{"step", c.step}, {"line", c.line}, {"message", c.message}, {"statement", c.statement}});
      fj["consequences"] = std::move(list);
    }
    if (f.broker) fj["broker"] = broker_failure_json(*f.broker);
    fj["last_packets"] = packets_json(f.last_packets);
    j["failure"] = std::move(fj);
  }
  if (s.known_deviation)
    j["known_deviation"] = Json{{"statement", s.known_deviation->statement},
                                {"reason", s.known_deviation->reason},
                                {"profile", s.known_deviation->profile}};
  Json steps = Json::array();
  for (const StepResult& st : s.steps) {
    Json sj;
    sj["index"] = st.index;
    sj["line"] = st.line;
    sj["kind"] = st.kind;
    sj["summary"] = st.summary;
    sj["duration_ms"] = micro_rounded(st.duration_ms);
    sj["status"] = to_string(st.status);
    if (!st.message.empty()) sj["message"] = st.message;
    steps.push_back(std::move(sj));
  }
  j["steps"] = std::move(steps);
  Json deliveries = Json::array();
  for (const ledger::StreamResult& r : s.deliveries) deliveries.push_back(to_json(r));
  j["deliveries"] = std::move(deliveries);
  Json foreign = Json::array();
  for (const ledger::ForeignCounts& f : s.foreign)
    if (f.unparsable || f.other_run || f.unknown) foreign.push_back(foreign_json(f));
  j["foreign"] = std::move(foreign);
  if (!s.exploration.empty()) {
    Json rows = Json::array();
    for (const CutPoint& c : s.exploration) {
      Json row{{"client", c.client}, {"direction", c.direction}, {"packet", c.packet}, {"nth", c.nth},
               {"fired", c.fired}, {"verdict", c.verdict}, {"lost", c.lost}, {"duplicated", c.duplicated},
               {"duration_ms", micro_rounded(c.duration_ms)}, {"message", c.message}};
      if (!c.statement.empty()) row["statement"] = c.statement;
      if (!c.pcap.empty()) row["pcap"] = c.pcap;
      if (!c.packets.empty()) row["packets"] = packets_json(c.packets);
      rows.push_back(std::move(row));
    }
    j["exploration"] = std::move(rows);
  }
  j["packets"] = packets_json(s.packets);
  return j;
}

Json to_json(const RunReport& r) {
  Json j;
  j["summary"] = Json{{"passed", r.summary.passed},
                      {"failed", r.summary.failed},
                      {"skipped", r.summary.skipped},
                      {"errors", r.summary.errors},
                      {"duration_ms", whole_ms(r.summary.duration_ms)},
                      {"known_deviations", std::count_if(r.scenarios.begin(), r.scenarios.end(), [](const ScenarioResult& s) {
                         return s.known_deviation.has_value();
                       })}};
  Json scenarios = Json::array();
  for (const ScenarioResult& s : r.scenarios) scenarios.push_back(to_json(s));
  j["scenarios"] = std::move(scenarios);
  // Coverage and statement verdicts of the versions the run used (docs/reports.md).
  Json cov = Json::object();
  Json verdicts = Json::array();
  for (SpecVersion v : run_versions(r.scenarios)) {
    const Coverage c = coverage(r.scenarios, v, r.mutant_proof ? &*r.mutant_proof : nullptr);
    cov[std::string(to_string(v))] = Json{{"covered", c.covered},
                                          {"total", c.total},
                                          {"percent", std::round(c.percent * 10.0) / 10.0},
                                          {"held", c.held},
                                          {"violated", c.violated},
                                          {"skipped", c.skipped},
                                          {"not_checked", c.not_checked},
                                          {"unknown_ids", c.unknown_ids}};
    if (c.has_proof) {
      cov[std::string(to_string(v))]["proven"] = c.proven;
      cov[std::string(to_string(v))]["cited_not_proven"] = c.cited_not_proven;
    }
    for (const StatementRow& row : c.rows) {
      if (!row.verdict) continue;
      Json sj{{"id", row.statement->id},
              {"version", to_string(v)},
              {"verdict", to_string(*row.verdict)},
              {"scenarios", row.scenarios}};
      if (row.evidence)
        sj["evidence"] = Json{{"scenario", row.evidence->scenario},
                              {"file", row.evidence->file},
                              {"step", row.evidence->step},
                              {"message", row.evidence->message}};
      if (row.known_deviation)
        sj["known_deviation"] = Json{{"reason", row.known_deviation->reason}, {"profile", row.known_deviation->profile}};
      if (!row.reason.empty()) sj["reason"] = row.reason;
      if (row.proven) sj["proven"] = *row.proven;
      verdicts.push_back(std::move(sj));
    }
  }
  j["coverage"] = std::move(cov);
  j["statements"] = std::move(verdicts);
  // run --client: the client-observable statements the client suite cites (docs/clients.md).
  Json client_cov = Json::object();
  for (SpecVersion v : client_run_versions(r.scenarios)) {
    const ClientCoverage c = client_coverage(r.scenarios, v);
    std::vector<std::string> cited, not_cited;
    for (std::size_t i = 0; i < c.rows.size(); ++i) (c.cited_rows[i] ? cited : not_cited).emplace_back(c.rows[i]->id);
    client_cov[std::string(to_string(v))] = Json{{"cited", c.cited},
                                                 {"total", c.total},
                                                 {"percent", std::round(c.percent * 10.0) / 10.0},
                                                 {"statements", cited},
                                                 {"not_cited", not_cited}};
  }
  if (!client_cov.empty()) j["client_coverage"] = std::move(client_cov);
  if (!r.harness_version.empty()) j["harness_version"] = r.harness_version;
  if (!r.broker.empty()) j["broker"] = r.broker;
  if (!r.started_at.empty()) j["started_at"] = r.started_at;
  if (r.seed) j["seed"] = *r.seed;
  if (r.broker_failure) j["broker_failure"] = broker_failure_json(*r.broker_failure);
  if (r.mutant_proof) j["mutants_report"] = r.mutant_proof->source;
  return j;
}

// ---- reading back ---------------------------------------------------------------------
namespace {

struct Reader {
  std::string* error;
  bool ok = true;

  void fail(const std::string& path, std::string_view what) {
    if (ok && error) *error = path + ": " + std::string(what);
    ok = false;
  }
  const Json* member(const Json& obj, const std::string& path, const char* key, bool required) {
    if (!obj.is_object()) {
      fail(path, "not an object");
      return nullptr;
    }
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) fail(path + "." + key, "missing");
      return nullptr;
    }
    return &*it;
  }
  template <typename T>
  void get(const Json& obj, const std::string& path, const char* key, T& out, bool required = true) {
    const Json* v = member(obj, path, key, required);
    if (!v) return;
    if constexpr (std::is_same_v<T, std::string>) {
      if (!v->is_string()) return fail(path + "." + key, "not a string");
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!v->is_boolean()) return fail(path + "." + key, "not a boolean");
    } else {
      if (!v->is_number()) return fail(path + "." + key, "not a number");
      if constexpr (std::is_unsigned_v<T>) {
        if (v->is_number_integer() && v->get<std::int64_t>() < 0) return fail(path + "." + key, "negative");
      }
    }
    out = v->get<T>();
  }
  template <typename E, typename Parse>
  void get_enum(const Json& obj, const std::string& path, const char* key, E& out, Parse parse,
                bool required = true) {
    std::string text;
    bool had = ok;
    get(obj, path, key, text, required);
    if (!ok || !had || text.empty()) return;
    auto parsed = parse(text);
    if (!parsed) return fail(path + "." + key, "unknown value \"" + text + "\"");
    out = *parsed;
  }
  const Json* array(const Json& obj, const std::string& path, const char* key, bool required) {
    const Json* v = member(obj, path, key, required);
    if (v && !v->is_array()) {
      fail(path + "." + key, "not an array");
      return nullptr;
    }
    return v;
  }

  void strings(const Json& obj, const std::string& path, const char* key, std::vector<std::string>& out) {
    const Json* a = array(obj, path, key, false);
    if (!a) return;
    for (std::size_t k = 0; k < a->size(); ++k) {
      if (!(*a)[k].is_string()) {
        fail(path + "." + key + "[" + std::to_string(k) + "]", "not a string");
        return;
      }
      out.push_back((*a)[k].get<std::string>());
    }
  }

  void packets(const Json& obj, const std::string& path, const char* key, std::vector<PacketRecord>& out) {
    const Json* a = array(obj, path, key, false);
    if (!a) return;
    for (std::size_t i = 0; i < a->size() && ok; ++i) {
      const Json& pj = (*a)[i];
      const std::string p = path + "." + key + "[" + std::to_string(i) + "]";
      PacketRecord rec;
      get(pj, p, "client", rec.client);
      get_enum(pj, p, "direction", rec.direction, [](std::string_view s) { return parse_direction(s); });
      get(pj, p, "time_ms", rec.time_ms, false);
      get(pj, p, "type", rec.type);
      if (const Json* d = member(pj, p, "decoded", false)) rec.decoded = *d;
      get(pj, p, "hex", rec.hex, false);
      out.push_back(std::move(rec));
    }
  }
};

BrokerFailure read_broker_failure(Reader& rd, const Json& j, const std::string& path) {
  BrokerFailure b;
  rd.get(j, path, "kind", b.kind);
  rd.get(j, path, "exit", b.exit, false);
  rd.get(j, path, "sanitizer", b.sanitizer, false);
  rd.get(j, path, "report", b.report, false);
  rd.get(j, path, "output_tail", b.output_tail, false);
  return b;
}

}  // namespace

std::optional<RunReport> from_json(const Json& j, std::string* error) {
  Reader rd{error};
  RunReport r;
  if (const Json* s = rd.member(j, "", "summary", true)) {
    rd.get(*s, "summary", "passed", r.summary.passed);
    rd.get(*s, "summary", "failed", r.summary.failed);
    rd.get(*s, "summary", "skipped", r.summary.skipped);
    rd.get(*s, "summary", "errors", r.summary.errors);
    rd.get(*s, "summary", "duration_ms", r.summary.duration_ms);
  }
  rd.get(j, "", "harness_version", r.harness_version, false);
  rd.get(j, "", "broker", r.broker, false);
  rd.get(j, "", "started_at", r.started_at, false);
  if (j.is_object() && j.contains("seed")) {
    std::uint64_t seed = 0;
    rd.get(j, "", "seed", seed);
    r.seed = seed;
  }
  if (const Json* bj = rd.member(j, "", "broker_failure", false); bj && !bj->is_null())
    r.broker_failure = read_broker_failure(rd, *bj, "broker_failure");
  const Json* scenarios = rd.array(j, "", "scenarios", true);
  for (std::size_t i = 0; scenarios && i < scenarios->size() && rd.ok; ++i) {
    const Json& sj = (*scenarios)[i];
    const std::string p = "scenarios[" + std::to_string(i) + "]";
    ScenarioResult s;
    rd.get(sj, p, "name", s.name);
    rd.get(sj, p, "file", s.file);
    rd.get(sj, p, "protocol", s.protocol);
    rd.get_enum(sj, p, "status", s.status, [](std::string_view v) { return parse_status(v); });
    rd.get(sj, p, "duration_ms", s.duration_ms, false);
    rd.strings(sj, p, "spec", s.spec);
    rd.get(sj, p, "skip_reason", s.skip_reason, false);
    if (const Json* fj = rd.member(sj, p, "failure", false); fj && !fj->is_null()) {
      Failure f;
      const std::string fp = p + ".failure";
      rd.get(*fj, fp, "step", f.step, false);
      rd.get(*fj, fp, "line", f.line, false);
      rd.get(*fj, fp, "message", f.message);
      rd.get(*fj, fp, "expected", f.expected, false);
      rd.get(*fj, fp, "actual", f.actual, false);
      rd.get(*fj, fp, "statement", f.statement, false);
      rd.get(*fj, fp, "no_statement", f.no_statement, false);
      rd.strings(*fj, fp, "see_also", f.see_also);
      if (const Json* list = rd.array(*fj, fp, "consequences", false)) {
        for (std::size_t k = 0; k < list->size() && rd.ok; ++k) {
          const std::string cp = fp + ".consequences[" + std::to_string(k) + "]";
          Consequence c;
          rd.get((*list)[k], cp, "step", c.step, false);
          rd.get((*list)[k], cp, "line", c.line, false);
          rd.get((*list)[k], cp, "message", c.message);
          rd.get((*list)[k], cp, "statement", c.statement, false);
          f.consequences.push_back(std::move(c));
        }
      }
      if (const Json* bj = rd.member(*fj, fp, "broker", false); bj && !bj->is_null())
        f.broker = read_broker_failure(rd, *bj, fp + ".broker");
      rd.packets(*fj, fp, "last_packets", f.last_packets);
      s.failure = std::move(f);
    }
    if (const Json* kj = rd.member(sj, p, "known_deviation", false); kj && !kj->is_null()) {
      KnownDeviation d;
      const std::string kp = p + ".known_deviation";
      rd.get(*kj, kp, "statement", d.statement, false);
      rd.get(*kj, kp, "reason", d.reason, false);
      rd.get(*kj, kp, "profile", d.profile, false);
      s.known_deviation = std::move(d);
    }
    if (const Json* steps = rd.array(sj, p, "steps", false)) {
      for (std::size_t k = 0; k < steps->size() && rd.ok; ++k) {
        const std::string sp = p + ".steps[" + std::to_string(k) + "]";
        StepResult st;
        rd.get((*steps)[k], sp, "index", st.index);
        rd.get((*steps)[k], sp, "line", st.line, false);
        rd.get((*steps)[k], sp, "kind", st.kind);
        rd.get((*steps)[k], sp, "summary", st.summary, false);
        rd.get((*steps)[k], sp, "duration_ms", st.duration_ms, false);
        rd.get_enum((*steps)[k], sp, "status", st.status, [](std::string_view v) { return parse_status(v); });
        rd.get((*steps)[k], sp, "message", st.message, false);
        s.steps.push_back(std::move(st));
      }
    }
    if (const Json* deliveries = rd.array(sj, p, "deliveries", false)) {
      for (std::size_t k = 0; k < deliveries->size() && rd.ok; ++k) {
        const Json& dj = (*deliveries)[k];
        const std::string dp = p + ".deliveries[" + std::to_string(k) + "]";
        ledger::StreamResult d;
        rd.get(dj, dp, "publisher", d.publisher);
        rd.get(dj, dp, "subscriber", d.subscriber);
        rd.get(dj, dp, "topic", d.topic);
        rd.get(dj, dp, "qos", d.qos);
        rd.get_enum(dj, dp, "guarantee", d.guarantee, [](std::string_view v) { return ledger::parse_guarantee(v); });
        rd.get(dj, dp, "sent", d.sent);
        rd.get(dj, dp, "delivered", d.delivered);
        rd.get(dj, dp, "lost", d.lost);
        rd.get(dj, dp, "duplicated", d.duplicated);
        rd.get(dj, dp, "reordered", d.reordered);
        rd.get_enum(dj, dp, "verdict", d.verdict, [](std::string_view v) -> std::optional<ledger::Verdict> {
          if (v == "held") return ledger::Verdict::held;
          if (v == "violated") return ledger::Verdict::violated;
          return std::nullopt;
        });
        rd.get(dj, dp, "reason", d.reason, false);
        rd.get(dj, dp, "ordered", d.ordered, false);
        d.publish_qos = d.qos;
        d.granted_qos = d.qos;
        rd.get(dj, dp, "publish_qos", d.publish_qos, false);
        rd.get(dj, dp, "granted_qos", d.granted_qos, false);
        rd.get(dj, dp, "attempted", d.attempted, false);
        rd.get(dj, dp, "duplicated_excused", d.duplicated_excused, false);
        rd.get(dj, dp, "late_redelivered", d.late_redelivered, false);
        rd.get(dj, dp, "qos_mismatch", d.qos_mismatch, false);
        rd.get(dj, dp, "unexpected", d.unexpected, false);
        rd.get(dj, dp, "waived", d.waived, false);
        rd.get(dj, dp, "statement", d.statement, false);
        rd.strings(dj, dp, "see_also", d.see_also);
        rd.get(dj, dp, "cause", d.cause, false);
        rd.get(dj, dp, "lost_consequence", d.lost_consequence, false);
        rd.get(dj, dp, "duplicated_consequence", d.duplicated_consequence, false);
        s.deliveries.push_back(std::move(d));
      }
    }
    if (const Json* foreign = rd.array(sj, p, "foreign", false)) {
      for (std::size_t k = 0; k < foreign->size() && rd.ok; ++k) {
        const std::string fp = p + ".foreign[" + std::to_string(k) + "]";
        ledger::ForeignCounts f;
        rd.get((*foreign)[k], fp, "subscriber", f.subscriber);
        rd.get((*foreign)[k], fp, "unparsable", f.unparsable, false);
        rd.get((*foreign)[k], fp, "other_run", f.other_run, false);
        rd.get((*foreign)[k], fp, "unknown", f.unknown, false);
        s.foreign.push_back(std::move(f));
      }
    }
    if (const Json* rows = rd.array(sj, p, "exploration", false)) {
      for (std::size_t k = 0; k < rows->size() && rd.ok; ++k) {
        const std::string cp = p + ".exploration[" + std::to_string(k) + "]";
        const Json& cj = (*rows)[k];
        CutPoint c;
        rd.get(cj, cp, "client", c.client);
        rd.get(cj, cp, "direction", c.direction);
        rd.get(cj, cp, "packet", c.packet);
        rd.get(cj, cp, "nth", c.nth);
        rd.get(cj, cp, "fired", c.fired, false);
        rd.get(cj, cp, "verdict", c.verdict);
        rd.get(cj, cp, "lost", c.lost, false);
        rd.get(cj, cp, "duplicated", c.duplicated, false);
        rd.get(cj, cp, "duration_ms", c.duration_ms, false);
        rd.get(cj, cp, "message", c.message, false);
        rd.get(cj, cp, "statement", c.statement, false);
        rd.strings(cj, cp, "pcap", c.pcap);
        rd.packets(cj, cp, "packets", c.packets);
        s.exploration.push_back(std::move(c));
      }
    }
    rd.packets(sj, p, "packets", s.packets);
    r.scenarios.push_back(std::move(s));
  }
  if (!rd.ok) return std::nullopt;
  return r;
}

}  // namespace mqtth::report
