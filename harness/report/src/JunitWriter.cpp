// JUnit XML in the shape of the Jenkins junit-10.xsd (harness/report/junit-10.xsd):
// testsuites > testsuite (one per scenario file) > testcase (one per scenario x protocol).
#include <cstdio>
#include <map>

#include "mqtth/report/Report.hpp"
#include "mqtth/report/Verdicts.hpp"

namespace mqtth::report {
namespace {

std::string seconds(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", (ms < 0 ? 0 : ms) / 1000.0);
  return buf;
}

std::string attr(std::string_view name, std::string_view value) {
  std::string out(" ");
  out += name;
  out += "=\"";
  out += escape_xml(value);
  out += '"';
  return out;
}

std::string failure_text(const ScenarioResult& s) {
  std::string text;
  if (!s.failure) return text;
  const Failure& f = *s.failure;
  text += f.message + "\n";
  if (f.step) text += "at step " + std::to_string(f.step) + " (" + s.file + ":" + std::to_string(f.line) + ")\n";
  else if (f.line) text += "at " + s.file + ":" + std::to_string(f.line) + "\n";
  if (s.status == Status::failed) {
    text += "statement: " + statement_label(f);
    for (std::size_t i = 0; i < f.see_also.size(); ++i) text += (i ? ", " : " (see also ") + f.see_also[i];
    text += f.see_also.empty() ? "\n" : ")\n";
  }
  if (!f.expected.empty()) text += "expected: " + f.expected + "\n";
  if (!f.actual.empty()) text += "actual: " + f.actual + "\n";
  if (!f.consequences.empty()) {
    text += "consequences (after the first deviation, not failures of their own):\n";
    for (const Consequence& c : f.consequences)
      text += "  " + (c.step ? "step " + std::to_string(c.step) + ": " : std::string()) + c.message +
              (c.statement.empty() ? "" : " [" + c.statement + "]") + "\n";
  }
  if (!f.last_packets.empty()) {
    text += "last packets (all clients, in time order):\n";
    for (const PacketRecord& p : f.last_packets) {
      char t[32];
      std::snprintf(t, sizeof t, "%10.3f ms ", p.time_ms);
      text += "  " + std::string(t) + p.client + (p.direction == Direction::to_broker ? " -> " : " <- ") + p.type;
      if (!p.decoded.is_null()) text += " " + p.decoded.dump(-1, ' ', false, Json::error_handler_t::replace);
      else if (!p.hex.empty()) text += " " + p.hex;
      text += "\n";
    }
  }
  for (const ledger::StreamResult& d : s.deliveries) {
    if (d.verdict != ledger::Verdict::violated) continue;
    text += "delivery " + d.publisher + " -> " + d.subscriber + " on " + d.topic + ": " + d.reason + "\n";
  }
  for (const CutPoint& c : s.exploration) {
    if (c.verdict == "held") continue;
    text += "cut " + c.client + " " + c.direction + " after " + c.packet + " #" + std::to_string(c.nth) + ": " +
            c.verdict + " (lost " + std::to_string(c.lost) + ", duplicated " + std::to_string(c.duplicated) + ") " +
            (c.statement.empty() ? "" : "[" + c.statement + "] ") + c.message + "\n";
  }
  return text;
}

std::string step_log(const ScenarioResult& s) {
  std::string text;
  for (const StepResult& st : s.steps) {
    char t[48];
    std::snprintf(t, sizeof t, "%3d  line %-4d %-8s %9.3f ms  ", st.index, st.line,
                  std::string(to_string(st.status)).c_str(), st.duration_ms);
    text += t + st.kind;
    if (!st.summary.empty()) text += ": " + st.summary;
    if (!st.message.empty()) text += "  -- " + st.message;
    text += "\n";
  }
  for (const ledger::StreamResult& d : s.deliveries) {
    text += "delivery " + d.publisher + " -> " + d.subscriber + " " + d.topic + " qos " + std::to_string(d.qos) +
            " " + std::string(ledger::to_string(d.guarantee)) + ": sent " + std::to_string(d.sent) +
            " delivered " + std::to_string(d.delivered) + " lost " + std::to_string(d.lost) + " duplicated " +
            std::to_string(d.duplicated) + " reordered " + std::to_string(d.reordered) + " -> " +
            std::string(ledger::to_string(d.verdict)) + "\n";
  }
  for (const CutPoint& c : s.exploration)
    text += "cut " + c.client + " " + c.direction + " after " + c.packet + " #" + std::to_string(c.nth) +
            (c.fired ? "" : " (not reached)") + ": " + c.verdict + " lost " + std::to_string(c.lost) + " duplicated " +
            std::to_string(c.duplicated) + "\n";
  return text;
}

// One testsuite per version, "statements MQTT 3.1.1": one testcase per broker-observable
// statement (docs/reports.md). violated -> <failure> naming the evidence; skipped and
// not_checked -> <skipped> with the reason; held -> passed, citing its scenarios.
std::string statements_suite(const Coverage& c, int id, const std::string& timestamp) {
  const std::string version(to_string(c.version));
  std::string xml = "  <testsuite" + attr("name", "statements MQTT " + version) + attr("tests", std::to_string(c.total)) +
                    attr("failures", std::to_string(c.violated)) + attr("errors", "0") +
                    attr("skipped", std::to_string(c.skipped + c.not_checked)) + attr("time", "0.000") +
                    attr("id", std::to_string(id));
  if (!timestamp.empty()) xml += attr("timestamp", timestamp);
  xml += ">\n";
  for (const StatementRow& row : c.rows) {
    if (!row.verdict) continue;
    xml += "    <testcase" + attr("name", std::string(row.statement->id) + " " + std::string(row.statement->summary)) +
           attr("classname", "statements / " + version) + attr("time", "0.000") + ">\n";
    std::string scenarios;
    for (const std::string& sc : row.scenarios) scenarios += sc + "\n";
    switch (*row.verdict) {
      case StatementVerdict::held: break;
      case StatementVerdict::violated: {
        const Evidence& e = *row.evidence;
        std::string message = e.scenario + ": " + e.message;  // the message names the step
        if (row.known_deviation)
          message = "KNOWN DEVIATION (" + row.known_deviation->reason + "): " + message;
        xml += "      <failure" + attr("message", message) + attr("type", row.statement->id) + ">" +
               escape_xml("violated in " + e.scenario + " (" + e.file + ")\n" + e.message + "\n") + "</failure>\n";
        break;
      }
      case StatementVerdict::skipped:
        xml += "      <skipped" + attr("message", "skipped: " + row.reason) + "/>\n";
        break;
      case StatementVerdict::not_checked:
        xml += "      <skipped" +
               attr("message", row.scenarios.empty() ? std::string("not checked: no scenario of this run cites it")
                                                     : std::string("not checked: the scenarios citing it did not pass")) +
               "/>\n";
        break;
    }
    if (!scenarios.empty()) xml += "      <system-out>" + escape_xml("scenarios:\n" + scenarios) + "</system-out>\n";
    xml += "    </testcase>\n";
  }
  xml += "  </testsuite>\n";
  return xml;
}

}  // namespace

std::string to_junit_xml(const RunReport& report, std::string_view suite_name) {
  // Group by file, keeping first-seen order.
  std::vector<std::string> files;
  std::map<std::string, std::vector<const ScenarioResult*>> by_file;
  for (const ScenarioResult& s : report.scenarios) {
    auto [it, inserted] = by_file.try_emplace(s.file);
    if (inserted) files.push_back(s.file);
    it->second.push_back(&s);
  }

  int tests = 0, failures = 0, errors = 0;
  for (const ScenarioResult& s : report.scenarios) {
    ++tests;
    failures += s.status == Status::failed;
    errors += s.status == Status::error;
  }
  std::vector<Coverage> verdicts;
  for (SpecVersion v : run_versions(report.scenarios)) {
    verdicts.push_back(coverage(report.scenarios, v));
    tests += static_cast<int>(verdicts.back().total);
    failures += static_cast<int>(verdicts.back().violated);
  }

  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites" + attr("name", suite_name) + attr("tests", std::to_string(tests)) +
         attr("failures", std::to_string(failures)) + attr("errors", std::to_string(errors)) +
         attr("time", seconds(report.summary.duration_ms)) + ">\n";
  int suite_id = 0;
  for (const std::string& file : files) {
    const auto& cases = by_file[file];
    int f = 0, e = 0, sk = 0;
    double ms = 0;
    for (const ScenarioResult* s : cases) {
      f += s->status == Status::failed;
      e += s->status == Status::error;
      sk += s->status == Status::skipped;
      ms += s->duration_ms;
    }
    xml += "  <testsuite" + attr("name", file.empty() ? "(no file)" : file) +
           attr("tests", std::to_string(cases.size())) + attr("failures", std::to_string(f)) +
           attr("errors", std::to_string(e)) + attr("skipped", std::to_string(sk)) + attr("time", seconds(ms)) +
           attr("id", std::to_string(suite_id++));
    if (!report.started_at.empty()) xml += attr("timestamp", report.started_at);
    xml += ">\n";
    // Run context, so a CI failure can be replayed (`--seed`, `--broker`).
    std::string props;
    auto prop = [&](std::string_view name, const std::string& value) {
      if (!value.empty()) props += "      <property" + attr("name", name) + attr("value", value) + "/>\n";
    };
    prop("broker", report.broker);
    prop("seed", report.seed ? std::to_string(*report.seed) : std::string());
    prop("harness_version", report.harness_version);
    if (!props.empty()) xml += "    <properties>\n" + props + "    </properties>\n";
    for (const ScenarioResult* s : cases) {
      xml += "    <testcase" + attr("name", s->name) + attr("classname", s->file + " / " + s->protocol) +
             attr("time", seconds(s->duration_ms)) + ">\n";
      switch (s->status) {
        case Status::passed: break;
        case Status::skipped:
          xml += "      <skipped" + attr("message", s->skip_reason) + "/>\n";
          break;
        case Status::failed:
        case Status::error: {
          const char* tag = s->status == Status::failed ? "failure" : "error";
          std::string message = s->failure ? s->failure->message : std::string(to_string(s->status));
          if (s->known_deviation)
            message = "KNOWN DEVIATION " + s->known_deviation->statement + " (" + s->known_deviation->reason + "): " + message;
          // CI systems show the type beside the message: the failure's primary statement.
          std::string type = s->status == Status::error ? "scenario-error" : "no-statement";
          if (s->status == Status::failed && s->failure && !s->failure->statement.empty()) type = s->failure->statement;
          xml += std::string("      <") + tag + attr("message", message) + attr("type", type) + ">" +
                 escape_xml(failure_text(*s)) + "</" + tag + ">\n";
          break;
        }
      }
      std::string out = step_log(*s);
      if (!s->spec.empty()) {
        std::string ids;
        for (const std::string& id : s->spec) ids += (ids.empty() ? "" : " ") + id;
        out = "spec: " + ids + "\n" + out;
      }
      if (!out.empty()) xml += "      <system-out>" + escape_xml(out) + "</system-out>\n";
      xml += "    </testcase>\n";
    }
    xml += "  </testsuite>\n";
  }
  for (const Coverage& c : verdicts) xml += statements_suite(c, suite_id++, report.started_at);
  xml += "</testsuites>\n";
  return xml;
}

}  // namespace mqtth::report
