// findings.html: the final summary of a fuzz run as one self-contained page (no network,
// no script), next to findings.json and the scenario files it links. Escaping, the CSS and
// the statement texts come from the report layer (harness/report), so it looks like the
// runner's report and embeds broker-controlled strings just as safely.
#include "Findings.hpp"

#include <mqtth/report/Report.hpp>
#include <mqtth/report/Spec.hpp>

#include <cstdio>

namespace mqtth::netfuzz {
namespace {

using report::escape_html;

std::string h(const json& value) {
  return escape_html(value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string fixed(double value, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string card(const std::string& cls, const std::string& value, const std::string& label) {
  return "<div class=\"card " + cls + "\"><b>" + escape_html(value) + "</b>" + escape_html(label) + "</div>";
}

// The statement text for a spec id, from the version the run fuzzed (ids name different
// statements in 3.1.1 and 5.0).
std::string statement_cell(const std::string& spec, const std::string& protocol) {
  if (spec.empty()) return "<span class=\"note\">no statement id (codec rule)</span>";
  std::string out = "<code>" + escape_html(spec) + "</code>";
  if (const auto version = report::spec_version_for_protocol(protocol))
    if (const auto* st = report::find_statement(*version, spec))
      out += "<div class=\"note\">" + escape_html(st->summary) + " (" + escape_html(st->section) + ")</div>";
  return out;
}

}  // namespace

std::string findings_html(const json& summary) {
  const auto num = [&](const char* key) { return summary.value(key, json(0)); };
  const std::string protocol = summary.value("protocol", "");
  const auto crashes = num("crash_findings").get<std::uint64_t>();
  const bool up = summary.value("broker_up", true);
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
         "<title>mqtt-harness fuzz: findings</title>\n<style>" +
         std::string(report::html_style()) + "</style>\n</head>\n<body>\n<h1>mqtt-harness fuzz: findings</h1>\n";
  out += "<div class=\"cards\">" + card("", std::to_string(num("cases").get<std::uint64_t>()), "cases") +
         card("", fixed(num("cases_per_s").get<double>(), 0), "cases/s") +
         card(crashes ? "failed" : "passed", std::to_string(crashes), "crash/hang findings") +
         card(num("spec_findings").get<std::uint64_t>() ? "skipped" : "passed",
              std::to_string(num("spec_findings").get<std::uint64_t>()), "spec findings") +
         card(up ? "passed" : "failed", up ? "up" : "down", "broker at the end") + "</div>\n";
  out += "<p class=\"meta\">broker " + h(summary.value("broker", json(""))) + " &middot; MQTT " + escape_html(protocol) +
         " &middot; seed " + h(num("seed")) + " &middot; " + h(num("jobs")) + " workers &middot; " +
         fixed(num("elapsed_s").get<double>(), 1) + " s &middot; broker starts " + h(num("broker_starts")) +
         " &middot; minimisation runs " + h(num("minimisation_runs")) + " &middot; probe false alarms " +
         h(num("probe_false_alarms")) + " &middot; case timeouts " + h(num("case_timeouts")) + "</p>\n";

  const json findings = summary.value("findings", json::array());
  out += "<h2>Findings</h2>\n";
  if (findings.empty()) {
    out += "<p class=\"note\">No findings.</p>\n";
  } else {
    out += "<p class=\"meta\">One row per signature (repeats only raise the count). Reproduce one with "
           "<code>mqtt-harness run --broker HOST:PORT FILE</code>: the run fails while the bug is there.</p>\n"
           "<table><thead><tr><th>#</th><th>class</th><th>kind</th><th>packet</th><th>statement</th>"
           "<th>count</th><th>case</th><th>detail</th><th>reproducer</th></tr></thead><tbody>\n";
    for (const auto& f : findings) {
      const bool crash = f.value("class", "") == "crash";
      const std::string cls = crash ? "failed" : "skipped";
      out += "<tr><td class=\"num\">" + h(f.value("id", json(0))) + "</td><td><span class=\"badge " + cls + "\">" +
             h(f.value("class", json(""))) + "</span></td><td><code>" + h(f.value("kind", json(""))) +
             "</code></td><td><code>" + h(f.value("last_packet", json(""))) + "</code></td><td>" +
             statement_cell(f.value("spec", ""), protocol) + "</td><td class=\"num\">" + h(f.value("count", json(0))) +
             "</td><td class=\"num\">" + h(f.value("case_index", json(0))) + " <span class=\"note\">worker " +
             h(f.value("worker", json(0))) + "</span></td><td>" + h(f.value("detail", json("")));
      if (f.value("reproduced", true) == false) out += "<div class=\"note\">not reproduced on a fresh broker</div>";
      if (f.contains("replay")) {
        const auto& r = f["replay"];
        if (!r.value("loads", true))
          out += "<div class=\"note\">the reproducer does not load: " + h(r.value("error", json(""))) + "</div>";
        else
          out += "<div class=\"note\">reproducer replays " + h(r.value("failed", json(0))) + " of " +
                 h(r.value("runs", json(0))) + " on a fresh broker" +
                 (r.value("error", std::string()).empty() ? std::string() : "; " + h(r.value("error", json("")))) +
                 "</div>";
      }
      // The broker's evidence: its report with the first stack, how it ended, its last words.
      if (f.contains("report") || f.contains("exit") || f.contains("output_tail")) {
        out += "<details><summary>broker evidence";
        if (f.contains("exit")) out += " (" + h(f["exit"]) + ")";
        out += "</summary><pre>";
        if (f.contains("report")) out += h(f["report"]);
        if (f.contains("output_tail")) out += "\nlast output lines:\n" + h(f["output_tail"]);
        out += "</pre></details>";
      }
      if (f.value("cases_before", 0) > 0)
        out += "<div class=\"note\">needs " + h(f["cases_before"]) + " earlier case(s) (clients before_N)</div>";
      if (f.contains("packets_hex") && !f["packets_hex"].empty()) {
        out += "<details><summary>minimised case (" + std::to_string(f["packets_hex"].size()) +
               " packets)</summary><pre>";
        for (const auto& p : f["packets_hex"]) out += h(p) + "\n";
        out += "</pre></details>";
      }
      const std::string file = f.value("scenario", "");
      out += "</td><td>" + (file.empty() ? std::string() : "<a href=\"" + escape_html(file) + "\">" + escape_html(file) + "</a>") +
             "</td></tr>\n";
    }
    out += "</tbody></table>\n";
  }

  const json lenient = summary.value("lenient", json::object());
  if (!lenient.empty()) {
    out += "<h2>Lenient (triaged, not findings)</h2>\n<p class=\"meta\">Codec rejections the spec does not make the "
           "receiving Server's business (docs/netfuzz.md); cases per reason.</p>\n"
           "<table><thead><tr><th>reason</th><th>cases</th></tr></thead><tbody>\n";
    for (const auto& [reason, count] : lenient.items())
      out += "<tr><td>" + escape_html(reason) + "</td><td class=\"num\">" + h(count) + "</td></tr>\n";
    out += "</tbody></table>\n";
  }
  out += "<p class=\"note\">All figures are also in <a href=\"findings.json\">findings.json</a>.</p>\n</body>\n</html>\n";
  return out;
}

}  // namespace mqtth::netfuzz
