// JSON, HTML (inline SVG, no network) and text renderings of a BenchResult.
#include <mqtth/bench/Bench.hpp>
#include <mqtth/common/HostPort.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace mqtth::bench {
namespace {

const double kPercentiles[] = {50, 90, 99, 99.9};

std::string version_name(mqtt::Version v) {
  return v == mqtt::Version::v5 ? "5" : v == mqtt::Version::v3_1_1 ? "3.1.1" : "3.1";
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A polyline chart: x in [0, xmax], each series a list of (x, y).
std::string svg_lines(const std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>>& series,
                      const std::string& xlabel, const std::string& ylabel, bool log_x = false) {
  const double W = 720, H = 300, L = 70, R = 20, T = 20, B = 45;
  double xmax = 0, ymax = 0, xmin = log_x ? 1e300 : 0;
  for (const auto& s : series)
    for (const auto& [x, y] : s.second) {
      xmax = std::max(xmax, x);
      ymax = std::max(ymax, y);
      if (log_x) xmin = std::min(xmin, x);
    }
  if (xmax <= xmin) xmax = xmin + 1;
  if (ymax <= 0) ymax = 1;
  auto X = [&](double x) {
    const double f = log_x ? (std::log10(x) - std::log10(xmin)) / (std::log10(xmax) - std::log10(xmin) + 1e-12)
                           : (x - xmin) / (xmax - xmin);
    return L + f * (W - L - R);
  };
  auto Y = [&](double y) { return H - B - y / ymax * (H - T - B); };
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  std::ostringstream o;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "'>"
    << "<rect x='" << L << "' y='" << T << "' width='" << W - L - R << "' height='" << H - T - B
    << "' fill='none' stroke='#888'/>";
  for (int i = 0; i <= 4; ++i) {
    const double y = ymax * i / 4;
    o << "<text x='" << L - 5 << "' y='" << Y(y) + 4 << "' font-size='11' text-anchor='end'>"
      << fmt(y >= 100 ? "%.0f" : "%.3g", y) << "</text>";
  }
  for (int i = 0; i <= 4; ++i) {
    const double x = log_x ? std::pow(10, std::log10(xmin) + (std::log10(xmax) - std::log10(xmin)) * i / 4)
                           : xmin + (xmax - xmin) * i / 4;
    o << "<text x='" << X(x) << "' y='" << H - B + 15 << "' font-size='11' text-anchor='middle'>"
      << fmt("%.3g", x) << "</text>";
  }
  o << "<text x='" << (L + W - R) / 2 << "' y='" << H - 8 << "' font-size='12' text-anchor='middle'>"
    << escape(xlabel) << "</text>";
  o << "<text x='14' y='" << (T + H - B) / 2 << "' font-size='12' text-anchor='middle' transform='rotate(-90 14 "
    << (T + H - B) / 2 << ")'>" << escape(ylabel) << "</text>";
  int ci = 0;
  for (const auto& [name, pts] : series) {
    const char* color = colors[ci % 4];
    o << "<polyline fill='none' stroke='" << color << "' stroke-width='1.5' points='";
    for (const auto& [x, y] : pts) o << X(x) << "," << Y(y) << " ";
    o << "'/><text x='" << L + 10 + 160 * ci << "' y='" << T + 14 << "' font-size='12' fill='" << color << "'>"
      << escape(name) << "</text>";
    ++ci;
  }
  o << "</svg>";
  return o.str();
}

}  // namespace

nlohmann::ordered_json to_json(const BenchResult& r) {
  using json = nlohmann::ordered_json;
  const auto& o = r.options;
  json j;
  j["tool"] = "mqtt-harness bench";
  j["run_id"] = r.run_id;
  j["passed"] = r.passed();
  j["broker"] = {{"label", o.broker_label}, {"address", common::format_host_port(o.host, o.port)}};
  j["load"] = {{"mode", o.rate > 0 ? "open" : "closed"},
               {"publishers", o.publishers},
               {"subscribers", o.subscribers},
               {"topics", o.topics > 0 ? o.topics : std::max(1, o.publishers)},
               {"qos", o.qos},
               {"payload_bytes", o.payload},
               {"rate", o.rate},
               {"messages", o.messages},
               {"duration_s", o.duration_s},
               {"window", o.window},
               {"protocol", version_name(o.version)}};
  j["messages"] = {{"sent", r.sent},
                   {"accepted", r.accepted},
                   {"expected", r.expected},
                   {"received", r.received}};
  j["throughput"] = {{"send_seconds", r.send_seconds},
                     {"receive_seconds", r.receive_seconds},
                     {"sent_per_s", r.sent_per_s()},
                     {"received_per_s", r.received_per_s()}};
  json lat = {{"unit", "ns"}, {"count", r.latency.count()}, {"min", r.latency.min()}, {"mean", r.latency.mean()}};
  lat["p50"] = r.latency.percentile(50);
  lat["p90"] = r.latency.percentile(90);
  lat["p99"] = r.latency.percentile(99);
  lat["p99_9"] = r.latency.percentile(99.9);
  lat["max"] = r.latency.max();
  j["latency"] = lat;
  if (o.rate > 0) {
    const auto& l = r.sender_lateness;
    j["sender"] = {{"wakeup", r.sender_precise ? "timerfd" : "qtimer-ms"},
                   {"spin_s", r.sender_spin_s},
                   {"lateness", {{"unit", "ns"}, {"count", l.count()}, {"p50", l.percentile(50)},
                                 {"p99", l.percentile(99)}, {"p99_9", l.percentile(99.9)}, {"max", l.max()}}}};
  } else {
    j["sender"] = nullptr;
  }
  j["cpu"] = {{"harness_user_s", r.cpu_user_s},
              {"harness_system_s", r.cpu_system_s},
              {"broker_s", r.broker_cpu_s ? json(*r.broker_cpu_s) : json(nullptr)}};
  json iv = json::array();
  for (const auto& s : r.intervals)
    iv.push_back({{"t_s", s.t_s}, {"sent", s.sent}, {"received", s.received},
                  {"p50_ns", s.p50_ns}, {"p99_ns", s.p99_ns}, {"max_ns", s.max_ns}});
  j["intervals"] = iv;
  json streams = json::array();
  for (const auto& s : r.streams)
    streams.push_back({{"publisher", s.publisher}, {"subscriber", s.subscriber}, {"topic", s.topic},
                       {"qos", s.qos}, {"guarantee", std::string(ledger::to_string(s.guarantee))},
                       {"sent", s.sent}, {"delivered", s.delivered}, {"lost", s.lost},
                       {"duplicated", s.duplicated}, {"reordered", s.reordered},
                       {"verdict", std::string(ledger::to_string(s.verdict))}, {"reason", s.reason}});
  j["deliveries"] = streams;
  json foreign = json::array();
  for (const auto& f : r.foreign)
    foreign.push_back({{"subscriber", f.subscriber}, {"unparsable", f.unparsable},
                       {"other_run", f.other_run}, {"unknown", f.unknown}});
  j["foreign"] = foreign;
  j["violations"] = r.violations;
  j["errors"] = r.errors;
  return j;
}

std::string summary_text(const BenchResult& r) {
  std::ostringstream o;
  o << "sent " << r.sent << " (" << fmt("%.0f", r.sent_per_s()) << " msg/s), received " << r.received
    << " of " << r.expected << " expected (" << fmt("%.0f", r.received_per_s()) << " msg/s)\n";
  const auto ms = [](std::uint64_t ns) { return fmt("%.3f", double(ns) / 1e6); };
  o << "latency ms: p50 " << ms(r.latency.percentile(50)) << "  p90 " << ms(r.latency.percentile(90))
    << "  p99 " << ms(r.latency.percentile(99)) << "  p99.9 " << ms(r.latency.percentile(99.9)) << "  max "
    << ms(r.latency.max()) << "\n";
  if (r.options.rate > 0 && r.sender_lateness.count() > 0) {
    const auto& l = r.sender_lateness;
    o << "sender late us: p50 " << fmt("%.1f", double(l.percentile(50)) / 1e3) << "  p99 "
      << fmt("%.1f", double(l.percentile(99)) / 1e3) << "  max " << fmt("%.1f", double(l.max()) / 1e3)
      << (r.sender_precise ? " (timerfd" : " (whole-ms QTimer") << ", spun " << fmt("%.3f", r.sender_spin_s)
      << " s)\n";
  }
  o << "cpu s: harness user " << fmt("%.2f", r.cpu_user_s) << " system " << fmt("%.2f", r.cpu_system_s);
  if (r.broker_cpu_s) o << ", broker " << fmt("%.2f", *r.broker_cpu_s);
  o << "\n";
  std::size_t violated = 0;
  for (const auto& s : r.streams)
    if (s.verdict == ledger::Verdict::violated) {
      ++violated;
      o << "VIOLATED " << s.publisher << " -> " << s.subscriber << " " << s.topic << " QoS " << int(s.qos)
        << ": sent " << s.sent << " delivered " << s.delivered << " lost " << s.lost << " duplicated "
        << s.duplicated << " (" << s.reason << ")\n";
    }
  o << "ledger: " << r.streams.size() - violated << " of " << r.streams.size() << " streams held\n";
  for (const auto& e : r.errors) o << "error: " << e << "\n";
  o << (r.passed() ? "PASS" : "FAIL") << "\n";
  return o.str();
}

std::string to_html(const BenchResult& r) {
  std::ostringstream o;
  const auto j = to_json(r);
  o << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>mqtt-harness bench</title>"
       "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}.bad{color:#c00}</style></head><body>";
  o << "<h1>mqtt-harness bench: " << (r.passed() ? "PASS" : "<span class='bad'>FAIL</span>") << "</h1>";
  o << "<p>Broker " << escape(r.options.broker_label) << " (" << escape(j["broker"]["address"].get<std::string>())
    << "); load " << escape(j["load"].dump()) << "</p>";
  o << "<pre>" << escape(summary_text(r)) << "</pre>";
  std::vector<std::pair<double, double>> sent, recv, p99;
  double prev = 0;
  for (const auto& s : r.intervals) {
    const double dt = std::max(1e-3, s.t_s - prev);
    sent.emplace_back(s.t_s, double(s.sent) / dt);
    recv.emplace_back(s.t_s, double(s.received) / dt);
    p99.emplace_back(s.t_s, double(s.p99_ns) / 1e6);
    prev = s.t_s;
  }
  o << "<h2>Throughput over time</h2>" << svg_lines({{"sent/s", sent}, {"received/s", recv}}, "seconds", "messages/s");
  o << "<h2>p99 latency per second</h2>" << svg_lines({{"p99 ms", p99}}, "seconds", "ms");
  // Latency distribution: percentile spectrum, x = 1/(1-q) on a log axis (HdrHistogram style).
  std::vector<std::pair<double, double>> spectrum;
  for (double q : {0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.999, 100.0}) {
    const double x = 1.0 / (1.0 - std::min(q, 99.999) / 100.0);
    spectrum.emplace_back(x, double(r.latency.percentile(q)) / 1e6);
  }
  o << "<h2>Latency distribution</h2>"
    << svg_lines({{"latency ms", spectrum}}, "1/(1-percentile): 2=p50, 10=p90, 100=p99, 1000=p99.9", "ms", true);
  o << "<h2>Ledger verdicts</h2><table><tr><th>publisher</th><th>subscriber</th><th>topic</th><th>QoS</th>"
       "<th>sent</th><th>delivered</th><th>lost</th><th>duplicated</th><th>reordered</th><th>verdict</th></tr>";
  for (const auto& s : r.streams)
    o << "<tr><td>" << escape(s.publisher) << "</td><td>" << escape(s.subscriber) << "</td><td>" << escape(s.topic)
      << "</td><td>" << int(s.qos) << "</td><td>" << s.sent << "</td><td>" << s.delivered << "</td><td>" << s.lost
      << "</td><td>" << s.duplicated << "</td><td>" << s.reordered << "</td><td"
      << (s.verdict == ledger::Verdict::held ? ">held" : " class='bad'>violated") << "</td></tr>";
  o << "</table><h2>JSON</h2><pre>" << escape(j.dump(2)) << "</pre></body></html>\n";
  return o.str();
}

}  // namespace mqtth::bench
