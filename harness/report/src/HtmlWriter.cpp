// Self-contained HTML report: one file, inline CSS and JS, no external resources, so it
// can be archived as a CI artefact and opened anywhere. Every embedded string is escaped.
#include <algorithm>
#include <cstdio>

#include "mqtth/report/Report.hpp"
#include "mqtth/report/Verdicts.hpp"

namespace mqtth::report {
namespace {

// A load scenario can trace millions of packets; the page stays usable by showing the
// first ones and saying how many were left out (the JSON report has them all).
constexpr std::size_t kMaxPacketRows = 2000;

std::string h(std::string_view s) { return escape_html(s); }

std::string fmt_ms(double ms) {
  char buf[32];
  if (ms >= 1000) std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000.0);
  else std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  return buf;
}

std::string fmt_percent(double p) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", p);
  return buf;
}

constexpr std::string_view kStyle = R"css(
:root{--ok:#1a7f37;--bad:#cf222e;--skip:#9a6700;--err:#8250df;--mut:#57606a;--line:#d0d7de;--bg2:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 12px} h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:8px 0 16px}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 16px;min-width:110px;background:var(--bg2)}
.card b{display:block;font-size:24px}
.card.passed b{color:var(--ok)} .card.failed b{color:var(--bad)} .card.skipped b{color:var(--skip)} .card.error b{color:var(--err)}
.meta{color:var(--mut);margin:4px 0}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
th{background:var(--bg2)} td.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-all;margin:0}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff;min-width:58px;text-align:center}
.badge.passed,.badge.held{background:var(--ok)} .badge.failed,.badge.violated{background:var(--bad)}
.badge.skipped{background:var(--skip)} .badge.error{background:var(--err)} .badge.not_checked{background:var(--mut)}
td{overflow-wrap:anywhere} .failure b,.failure code,.failure div{overflow-wrap:anywhere;word-break:break-word}
.failure .statement{font-weight:600;margin-top:4px} .consequences{margin:4px 0 0 0;padding-left:20px}
tr.st-violated td{background:#ffebe9} tr.st-skipped td{background:#fff8c5} tr.st-not_checked td{color:var(--mut)}
.stcount{color:var(--mut);margin-left:8px} .badge,td.id,td.ptype{white-space:nowrap}
tr.violated td{background:#ffebe9} tr.held td.verdict{color:var(--ok);font-weight:600}
tr.step-failed td,tr.step-error td{background:#ffebe9} tr.step-skipped td{color:var(--mut)}
details.scenario{border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:0 10px}
details.scenario>summary{cursor:pointer;padding:6px 0;list-style:revert}
details.scenario[open]>summary{border-bottom:1px solid var(--line);margin-bottom:6px}
.srow{display:inline-flex;flex-wrap:wrap;align-items:baseline;gap:2px 8px;width:calc(100% - 1.6em);vertical-align:top}
.sname{font-weight:600} .proto{color:var(--mut)} .dur{margin-left:auto;color:var(--mut);white-space:nowrap}
.failure{border-left:4px solid var(--bad);background:#ffebe9;padding:6px 10px;margin:6px 0}
.failure.error{border-color:var(--err);background:#fbefff}
.skipreason{border-left:4px solid var(--skip);background:#fff8c5;padding:6px 10px;margin:6px 0}
.bar{height:10px;background:#eee;border-radius:5px;overflow:hidden;width:240px;display:inline-block;vertical-align:middle;margin:0 8px}
.bar i{display:block;height:100%;background:var(--ok)}
tr.uncovered td{color:var(--mut)} tr.covered td.id{font-weight:600}
tr.uncovered.observable td.id{color:var(--bad)} tr.not-counted td{font-style:italic}
.dir-to_broker{color:#0550ae} .dir-from_broker{color:#953800}
.toolbar{margin:8px 0} .toolbar button{margin-right:6px;padding:3px 10px;border:1px solid var(--line);border-radius:6px;background:var(--bg2);cursor:pointer}
.toolbar button.on{background:#ddf4ff;border-color:#54aeff}
.note{color:var(--mut);font-style:italic}
)css";

// Filtering by status and expanding/collapsing; works without network and degrades to
// plain <details> without JS.
constexpr std::string_view kScript = R"js(
(function(){
  function all(sel){return Array.prototype.slice.call(document.querySelectorAll(sel));}
  all('.toolbar button[data-filter]').forEach(function(b){
    b.addEventListener('click',function(){
      all('.toolbar button[data-filter]').forEach(function(x){x.classList.remove('on');});
      b.classList.add('on');
      var f=b.getAttribute('data-filter');
      all('details.scenario').forEach(function(d){
        d.style.display=(f==='all'||d.getAttribute('data-status')===f)?'':'none';
      });
    });
  });
  all('details.trace').forEach(function(t){
    var buttons=Array.prototype.slice.call(t.querySelectorAll('button[data-client-filter]'));
    buttons.forEach(function(b){
      b.addEventListener('click',function(){
        buttons.forEach(function(x){x.classList.remove('on');});
        b.classList.add('on');
        var c=b.getAttribute('data-client-filter');
        Array.prototype.slice.call(t.querySelectorAll('tr[data-client]')).forEach(function(r){
          r.style.display=(c===''||r.getAttribute('data-client')===c)?'':'none';
        });
      });
    });
  });
  // Statement table: filter by verdict and by version together.
  var st={verdict:'all',version:'all'};
  function applyStatements(){
    var shown=0;
    all('tr[data-verdict]').forEach(function(r){
      var ok=(st.verdict==='all'||r.getAttribute('data-verdict')===st.verdict)&&
             (st.version==='all'||r.getAttribute('data-version')===st.version);
      r.style.display=ok?'':'none';
      if(ok) shown++;
    });
    var n=document.getElementById('st-shown');
    if(n) n.textContent=shown+' shown';
  }
  ['verdict','version'].forEach(function(dim){
    var buttons=all('button[data-st-'+dim+']');
    buttons.forEach(function(b){
      b.addEventListener('click',function(){
        buttons.forEach(function(x){x.classList.remove('on');});
        b.classList.add('on');
        st[dim]=b.getAttribute('data-st-'+dim);
        applyStatements();
      });
    });
  });
  var ex=document.getElementById('expand-all'), co=document.getElementById('collapse-all');
  if(ex) ex.addEventListener('click',function(){all('details.scenario').forEach(function(d){d.open=true;});});
  if(co) co.addEventListener('click',function(){all('details.scenario').forEach(function(d){d.open=false;});});
})();
)js";

void packet_rows(std::string& out, const std::vector<PacketRecord>& packets) {
  out += "<table><thead><tr><th>time</th><th>client</th><th>dir</th><th>type</th><th>packet</th></tr></thead><tbody>\n";
  const std::size_t shown = std::min(packets.size(), kMaxPacketRows);
  for (std::size_t i = 0; i < shown; ++i) {
    const PacketRecord& p = packets[i];
    const std::string dir(to_string(p.direction));
    out += "<tr data-client=\"" + h(p.client) + "\"><td class=\"num\">" + h(fmt_ms(p.time_ms)) + "</td><td>" +
           h(p.client) + "</td><td class=\"dir-" +
           dir + "\">" + (p.direction == Direction::to_broker ? "&rarr; broker" : "&larr; broker") + "</td><td class=\"ptype\">" +
           h(p.type) + "</td><td><pre>";
    if (!p.decoded.is_null()) out += h(p.decoded.dump(-1, ' ', false, Json::error_handler_t::replace));
    if (!p.hex.empty()) out += std::string(p.decoded.is_null() ? "" : "\n") + "<span class=\"note\">hex</span> " + h(p.hex);
    out += "</pre></td></tr>\n";
  }
  out += "</tbody></table>\n";
  if (packets.size() > shown)
    out += "<p class=\"note\">" + std::to_string(packets.size() - shown) +
           " more packets not shown (the JSON report has the full trace).</p>\n";
}

void delivery_table(std::string& out, const ScenarioResult& s) {
  out += "<h3>Deliveries</h3>\n<table><thead><tr><th>publisher</th><th>subscriber</th><th>topic</th>"
         "<th>qos</th><th>guarantee</th><th>ordered</th><th>sent</th><th>delivered</th><th>lost</th>"
         "<th>duplicated</th><th>reordered</th><th>verdict</th><th>reason</th></tr></thead><tbody>\n";
  for (const ledger::StreamResult& d : s.deliveries) {
    const std::string verdict(ledger::to_string(d.verdict));
    out += "<tr class=\"" + verdict + "\"><td>" + h(d.publisher) + "</td><td>" + h(d.subscriber) + "</td><td><code>" +
           h(d.topic) + "</code></td><td class=\"num\">" + std::to_string(d.qos) + "</td><td>" +
           std::string(ledger::to_string(d.guarantee)) + "</td><td>" + (d.ordered ? "yes" : "no") +
           "</td><td class=\"num\">" + std::to_string(d.sent) + "</td><td class=\"num\">" +
           std::to_string(d.delivered) + "</td><td class=\"num\">" + std::to_string(d.lost) +
           "</td><td class=\"num\">" + std::to_string(d.duplicated) + "</td><td class=\"num\">" +
           std::to_string(d.reordered) + "</td><td class=\"verdict\"><span class=\"badge " + verdict + "\">" +
           verdict + "</span></td><td>" + h(d.reason) + "</td></tr>\n";
  }
  out += "</tbody></table>\n";
  bool any_foreign = false;
  for (const ledger::ForeignCounts& f : s.foreign) any_foreign |= (f.unparsable || f.other_run || f.unknown) != 0;
  if (any_foreign) {
    out += "<table><thead><tr><th>subscriber</th><th>foreign: unparsable</th><th>other run</th><th>unknown</th>"
           "</tr></thead><tbody>\n";
    for (const ledger::ForeignCounts& f : s.foreign)
      out += "<tr><td>" + h(f.subscriber) + "</td><td class=\"num\">" + std::to_string(f.unparsable) +
             "</td><td class=\"num\">" + std::to_string(f.other_run) + "</td><td class=\"num\">" +
             std::to_string(f.unknown) + "</td></tr>\n";
    out += "</tbody></table>\n";
  }
}

// Fault-point exploration: one row per cut run (verdict coloured like deliveries).
void exploration_table(std::string& out, const ScenarioResult& s) {
  out += "<h3>Fault-point exploration (" + std::to_string(s.exploration.size()) +
         " cut points)</h3>\n<table><thead><tr><th>client</th><th>direction</th><th>cut after</th>"
         "<th>#</th><th>cut fired</th><th>lost</th><th>duplicated</th><th>time</th><th>verdict</th><th>why</th>"
         "</tr></thead><tbody>\n";
  for (const CutPoint& c : s.exploration) {
    const std::string cls = c.verdict == "held" ? "held" : "violated";
    out += "<tr class=\"" + cls + "\"><td>" + h(c.client) + "</td><td>" + h(c.direction) + "</td><td><code>" +
           h(c.packet) + "</code></td><td class=\"num\">" + std::to_string(c.nth) + "</td><td>" +
           (c.fired ? "yes" : "no") + "</td><td class=\"num\">" + std::to_string(c.lost) + "</td><td class=\"num\">" +
           std::to_string(c.duplicated) + "</td><td class=\"num\">" + h(fmt_ms(c.duration_ms)) +
           "</td><td class=\"verdict\"><span class=\"badge " + cls + "\">" + h(c.verdict) + "</span></td><td>" +
           h(c.message) + (c.statement.empty() ? std::string() : " <code>" + h(c.statement) + "</code>");
    for (const std::string& file : c.pcap) out += "<div class=\"note\">pcap: <code>" + h(file) + "</code></div>";
    if (!c.packets.empty()) {
      out += "<details class=\"trace\"><summary>Packet trace of this cut run (" + std::to_string(c.packets.size()) +
             " packets)</summary>\n";
      packet_rows(out, c.packets);
      out += "</details>";
    }
    out += "</td></tr>\n";
  }
  out += "</tbody></table>\n";
}

// The row id of a statement in the statement table, so a failure can link to it.
std::string statement_anchor(std::string_view version, std::string_view id) {
  return "st-" + std::string(version) + "-" + std::string(id);
}

// "statement MQTT-x.y.z-n (version): summary", or why there is none.
std::string statement_line(const Failure& f, const std::string& protocol) {
  std::string out = "<div class=\"statement\">statement ";
  if (f.statement.empty()) return out + "&mdash; none: " + h(f.no_statement.empty() ? "none given" : f.no_statement) + "</div>";
  const auto version = spec_version_for_protocol(protocol);
  const Statement* st = version ? find_statement(*version, f.statement) : nullptr;
  out += "<a href=\"#" + h(statement_anchor(to_string(version.value_or(SpecVersion::v5)), f.statement)) + "\"><code>" +
         h(f.statement) + "</code></a>";
  if (st) out += " (MQTT " + std::string(to_string(*version)) + "): " + h(st->summary);
  for (std::size_t i = 0; i < f.see_also.size(); ++i)
    out += std::string(i ? ", " : "; see also ") + "<code>" + h(f.see_also[i]) + "</code>";
  return out + "</div>";
}

// The spawned broker's crash, sanitizer report, leak or stall: what happened, how it
// exited, the report, and its last output lines.
void broker_failure_block(std::string& out, const BrokerFailure& b) {
  out += "<div class=\"meta\">broker " + h(b.kind) + (b.exit.empty() ? std::string() : " (" + h(b.exit) + ")") +
         (b.sanitizer.empty() ? std::string() : ", " + h(b.sanitizer) + " report") + "</div>";
  if (!b.report.empty()) out += "<pre class=\"broker-report\">" + h(b.report) + "</pre>";
  if (!b.output_tail.empty())
    out += "<details><summary>last lines of the broker's output</summary><pre>" + h(b.output_tail) + "</pre></details>";
}

void scenario_section(std::string& out, const ScenarioResult& s, std::size_t index) {
  const std::string status(to_string(s.status));
  const bool open = s.status == Status::failed || s.status == Status::error;
  out += "<details class=\"scenario\" id=\"scenario-" + std::to_string(index) + "\" data-status=\"" + status + "\"" +
         (open ? " open" : "") + ">\n<summary><span class=\"srow\"><span class=\"badge " + status + "\">" + status +
         "</span> <span class=\"sname\">" + h(s.name) + "</span><span class=\"proto\">MQTT " + h(s.protocol) +
         "</span><span class=\"proto\">" + h(s.file) + "</span><span class=\"dur\">" + h(fmt_ms(s.duration_ms)) +
         "</span></span></summary>\n";
  if (!s.spec.empty()) {
    out += "<p class=\"meta\">checks ";
    for (std::size_t i = 0; i < s.spec.size(); ++i) out += (i ? ", " : "") + std::string("<code>") + h(s.spec[i]) + "</code>";
    out += "</p>\n";
  }
  if (s.status == Status::skipped) out += "<div class=\"skipreason\">skipped: " + h(s.skip_reason) + "</div>\n";
  if (s.failure) {
    const Failure& f = *s.failure;
    std::string message = f.message;
    if (s.known_deviation)
      message = "KNOWN DEVIATION " + s.known_deviation->statement + " (" + s.known_deviation->reason + "): " + message;
    out += std::string("<div class=\"failure") + (s.status == Status::error ? " error" : "") + "\"><b>" +
           h(message) + "</b>";
    if (f.step || f.line)
      out += "<div class=\"meta\">" + (f.step ? "step " + std::to_string(f.step) + ", " : std::string()) + h(s.file) +
             ":" + std::to_string(f.line) + "</div>";
    if (s.status == Status::failed) out += statement_line(f, s.protocol);
    if (f.broker) broker_failure_block(out, *f.broker);
    if (!f.expected.empty()) out += "<div>expected: <code>" + h(f.expected) + "</code></div>";
    if (!f.actual.empty()) out += "<div>actual: <code>" + h(f.actual) + "</code></div>";
    if (!f.consequences.empty()) {
      out += "<div class=\"meta\">Consequences (after the first deviation, not failures of their own):</div>"
             "<ol class=\"consequences\">";
      for (const Consequence& c : f.consequences)
        out += "<li>" + (c.step ? "step " + std::to_string(c.step) + ": " : std::string()) + h(c.message) +
               (c.statement.empty() ? std::string() : " <code>" + h(c.statement) + "</code>") + "</li>";
      out += "</ol>";
    }
    out += "</div>\n";
    if (!f.last_packets.empty()) {
      out += "<h3>Last packets before the failure</h3>\n";
      packet_rows(out, f.last_packets);
    }
  }
  if (!s.steps.empty()) {
    out += "<h3>Steps</h3>\n<table><thead><tr><th>#</th><th>line</th><th>step</th><th>summary</th><th>time</th>"
           "<th>status</th></tr></thead><tbody>\n";
    for (const StepResult& st : s.steps) {
      const std::string sst(to_string(st.status));
      out += "<tr class=\"step-" + sst + "\"><td class=\"num\">" + std::to_string(st.index) + "</td><td class=\"num\">" +
             std::to_string(st.line) + "</td><td><code>" + h(st.kind) + "</code></td><td>" + h(st.summary);
      if (!st.message.empty()) out += "<div class=\"note\">" + h(st.message) + "</div>";
      out += "</td><td class=\"num\">" + h(fmt_ms(st.duration_ms)) + "</td><td><span class=\"badge " + sst + "\">" +
             sst + "</span></td></tr>\n";
    }
    out += "</tbody></table>\n";
  }
  if (!s.deliveries.empty() || !s.foreign.empty()) delivery_table(out, s);
  if (!s.exploration.empty()) exploration_table(out, s);
  if (!s.packets.empty()) {
    out += "<details class=\"trace\"><summary>Packet trace (" + std::to_string(s.packets.size()) + " packets)</summary>\n";
    std::vector<std::string> clients;
    for (const PacketRecord& p : s.packets)
      if (std::find(clients.begin(), clients.end(), p.client) == clients.end()) clients.push_back(p.client);
    if (clients.size() > 1) {
      out += "<div class=\"toolbar\">client: <button class=\"on\" data-client-filter=\"\">all</button>";
      for (const std::string& c : clients) out += "<button data-client-filter=\"" + h(c) + "\">" + h(c) + "</button>";
      out += "</div>\n";
    }
    packet_rows(out, s.packets);
    out += "</details>\n";
  }
  out += "</details>\n";
}

// Statements of the run's versions with no verdict (client obligations, not testable)
// and the scenarios citing them: listed, never counted.
void other_statements(std::string& out, const Coverage& c) {
  const std::string v(to_string(c.version));
  std::size_t n = 0;
  for (const StatementRow& row : c.rows) n += !row.verdict;
  out += "<details class=\"coverage\" id=\"other-" + v + "\"><summary>MQTT " + v + ": " + std::to_string(n) +
         " statements that are not broker-observable (client obligations, not testable)</summary>\n"
         "<table><thead><tr><th>id</th><th>section</th><th>actor</th><th>class</th><th>statement</th><th>cited by</th>"
         "</tr></thead><tbody>\n";
  for (const StatementRow& row : c.rows) {
    if (row.verdict) continue;
    const Statement& st = *row.statement;
    out += "<tr class=\"not-counted\"><td class=\"id\"><code>" + h(st.id) + "</code></td><td>" + h(st.section) +
           "</td><td>" + h(st.actor) + "</td><td>" + h(st.cls) + "</td><td>" + h(st.summary) + "</td><td>";
    for (std::size_t i = 0; i < row.scenarios.size(); ++i) out += (i ? "<br>" : "") + h(row.scenarios[i]);
    out += "</td></tr>\n";
  }
  out += "</tbody></table>\n</details>\n";
}

// One table of every broker-observable statement of the run's versions with its verdict,
// filtered by verdict and version with the toolbar (plain JS; without JS every row shows).
void statement_table(std::string& out, const std::vector<Coverage>& versions) {
  out += "<div class=\"toolbar\" id=\"statement-filter\">verdict: ";
  for (const char* v : {"all", "violated", "held", "skipped", "not_checked"})
    out += std::string("<button data-st-verdict=\"") + v + "\"" + (std::string_view(v) == "all" ? " class=\"on\"" : "") +
           ">" + (std::string_view(v) == "not_checked" ? "not checked" : v) + "</button>";
  if (versions.size() > 1) {
    out += " version: <button data-st-version=\"all\" class=\"on\">all</button>";
    for (const Coverage& c : versions)
      out += "<button data-st-version=\"" + std::string(to_string(c.version)) + "\">" + std::string(to_string(c.version)) +
             "</button>";
  }
  out += "<span class=\"stcount\" id=\"st-shown\"></span></div>\n";
  out += "<table class=\"statements\"><thead><tr><th>version</th><th>id</th><th>section</th><th>verdict</th>"
         "<th>statement</th><th>scenarios, evidence</th></tr></thead><tbody>\n";
  for (const Coverage& c : versions) {
    const std::string v(to_string(c.version));
    for (const StatementRow& row : c.rows) {
      if (!row.verdict) continue;
      const std::string verdict(to_string(*row.verdict));
      const Statement& st = *row.statement;
      out += "<tr class=\"st-" + verdict + "\" id=\"" + h(statement_anchor(v, st.id)) + "\" data-verdict=\"" + verdict +
             "\" data-version=\"" + v + "\"><td>" + v + "</td><td class=\"id\"><code>" + h(st.id) + "</code></td><td>" +
             h(st.section) + "</td><td><span class=\"badge " + verdict + "\">" +
             (*row.verdict == StatementVerdict::not_checked ? std::string("not checked") : verdict) + "</span>" +
             (row.known_deviation ? "<div class=\"note\">known deviation</div>" : "") + "</td><td>" + h(st.summary) +
             "</td><td>";
      if (row.evidence)
        out += "<div><b>" + h(row.evidence->scenario) + "</b>: " + h(row.evidence->message) + "</div>";
      if (row.known_deviation)
        out += "<div class=\"note\">known deviation of profile " + h(row.known_deviation->profile) + ": " +
               h(row.known_deviation->reason) + "</div>";
      if (!row.reason.empty()) out += "<div class=\"note\">skipped: " + h(row.reason) + "</div>";
      if (row.proven) out += *row.proven ? "<div class=\"note\">proven: a mutant of it was killed</div>"
                                         : "<div class=\"note\">cited, not proven: no mutant of it was killed</div>";
      for (std::size_t i = 0; i < row.scenarios.size(); ++i) out += (i || row.evidence ? "<br>" : "") + h(row.scenarios[i]);
      out += "</td></tr>\n";
    }
  }
  out += "</tbody></table>\n";
}

}  // namespace

std::string_view html_style() { return kStyle; }

std::string to_html(const RunReport& r, std::string_view title) {
  std::string out;
  out.reserve(64 * 1024);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         // No external resources at all; inline script and style only.
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n<title>" +
         h(title) + "</title>\n<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  out += "<h1>" + h(title) + "</h1>\n";
  out += "<div class=\"cards\">";
  const std::pair<const char*, int> cards[] = {{"passed", r.summary.passed},
                                               {"failed", r.summary.failed},
                                               {"skipped", r.summary.skipped},
                                               {"error", r.summary.errors}};
  for (const auto& [name, count] : cards)
    out += std::string("<div class=\"card ") + name + "\"><b>" + std::to_string(count) + "</b>" +
           (std::string_view(name) == "error" ? "errors" : name) + "</div>";
  out += "<div class=\"card\"><b>" + h(fmt_ms(r.summary.duration_ms)) + "</b>duration</div></div>\n";
  std::string meta;
  if (!r.broker.empty()) meta += "broker " + h(r.broker) + " &middot; ";
  if (!r.started_at.empty()) meta += "started " + h(r.started_at) + " &middot; ";
  if (r.seed) meta += "seed " + std::to_string(*r.seed) + " &middot; ";
  if (!r.harness_version.empty()) meta += "mqtt-harness " + h(r.harness_version) + " &middot; ";
  if (!meta.empty()) out += "<p class=\"meta\">" + meta.substr(0, meta.size() - 10) + "</p>\n";

  if (r.broker_failure) {
    out += "<div class=\"failure\"><b>The spawned broker failed outside any scenario (when the run stopped it)</b>";
    broker_failure_block(out, *r.broker_failure);
    out += "</div>\n";
  }

  std::vector<Coverage> versions;
  const MutantProof* proof = r.mutant_proof ? &*r.mutant_proof : nullptr;
  for (SpecVersion v : run_versions(r.scenarios)) versions.push_back(coverage(r.scenarios, v, proof));
  out += "<h2>Spec coverage</h2>\n<table class=\"covsum\"><thead><tr><th>version</th><th>broker-observable "
         "statements checked (held + violated)</th><th>coverage</th><th>held</th><th>violated</th><th>skipped</th>"
         "<th>not checked</th>";
  if (proof) out += "<th>proven (a mutant killed)</th><th>cited, not proven</th>";
  out += "</tr></thead><tbody>\n";
  for (const Coverage& c : versions) {
    char width[16];
    std::snprintf(width, sizeof width, "%.1f", c.percent);
    out += "<tr><td>MQTT " + std::string(to_string(c.version)) + "</td><td class=\"num\">" + std::to_string(c.covered) +
           " / " + std::to_string(c.total) + "</td><td><span class=\"bar\"><i style=\"width:" + width + "%\"></i></span>" +
           fmt_percent(c.percent) + "</td><td class=\"num\">" + std::to_string(c.held) + "</td><td class=\"num\">" +
           std::to_string(c.violated) + "</td><td class=\"num\">" + std::to_string(c.skipped) +
           "</td><td class=\"num\">" + std::to_string(c.not_checked) + "</td>";
    if (c.has_proof)
      out += "<td class=\"num\">" + std::to_string(c.proven) + " / " + std::to_string(c.covered) +
             "</td><td class=\"num\">" + std::to_string(c.cited_not_proven) + "</td>";
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
  if (proof)
    out += "<p class=\"meta\">Proven: a held or violated statement whose mutant the embedded broker's mutants run "
           "killed (" + h(proof->source) + ", docs/mutants.md). Cited, not proven: no mutant of it was killed, so a "
           "green run does not show the scenarios would notice a broker breaking it.</p>\n";

  // run --client: the client-observable statements the client suite cites (docs/clients.md).
  const auto client_versions = client_run_versions(r.scenarios);
  if (!client_versions.empty()) {
    out += "<h2>Client-side statements</h2>\n<table class=\"covsum\"><thead><tr><th>version</th><th>client-observable "
           "statements the role: server scenarios cite</th><th>share</th><th>not cited</th></tr></thead><tbody>\n";
    for (SpecVersion v : client_versions) {
      const ClientCoverage c = client_coverage(r.scenarios, v);
      std::string not_cited;
      for (std::size_t i = 0; i < c.rows.size(); ++i)
        if (!c.cited_rows[i]) not_cited += (not_cited.empty() ? "" : " ") + h(std::string(c.rows[i]->id));
      out += "<tr><td>MQTT " + std::string(to_string(v)) + "</td><td class=\"num\">" + std::to_string(c.cited) + " / " +
             std::to_string(c.total) + "</td><td>" + fmt_percent(c.percent) + "</td><td>" + not_cited + "</td></tr>\n";
    }
    out += "</tbody></table>\n";
  }

  out += "<h2>Scenarios</h2>\n<div class=\"toolbar\"><button data-filter=\"all\" class=\"on\">all</button>"
         "<button data-filter=\"failed\">failed</button><button data-filter=\"error\">error</button>"
         "<button data-filter=\"skipped\">skipped</button><button data-filter=\"passed\">passed</button>"
         "<button id=\"expand-all\">expand all</button><button id=\"collapse-all\">collapse all</button></div>\n";
  if (r.scenarios.empty()) out += "<p class=\"note\">No scenarios ran.</p>\n";
  for (std::size_t i = 0; i < r.scenarios.size(); ++i) scenario_section(out, r.scenarios[i], i);

  out += "<h2>Statements</h2>\n<p class=\"meta\">Every broker-observable statement of the versions this run used, "
         "with its verdict: <b>held</b> (a scenario citing it passed), <b>violated</b> (a failure names it as its "
         "primary statement), <b>skipped</b> (every scenario citing it was skipped), <b>not checked</b>. Coverage "
         "counts held and violated. The same id means different statements in 3.1.1 and 5.0.</p>\n";
  if (versions.empty()) out += "<p class=\"note\">No scenario ran, so no statement has a verdict.</p>\n";
  else statement_table(out, versions);
  for (const Coverage& c : versions) other_statements(out, c);
  out += "<script>" + std::string(kScript) + "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace mqtth::report
