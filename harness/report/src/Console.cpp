// A failure as text for a terminal (the `run` progress lines, docs/runner.md).
#include <cstdio>

#include "mqtth/report/Report.hpp"

namespace mqtth::report {

namespace {

// At most `width` bytes of `text`, never ending inside a UTF-8 sequence; what was cut is
// said at the end, so a reader knows the line is not the whole packet.
std::string cut(const std::string& text, std::size_t width) {
  if (text.size() <= width) return text;
  std::size_t end = width;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + " ... (" + std::to_string(text.size() - end) + " more bytes)";
}

// Each line of a (possibly multi-line) message, indented.
std::string indented(const std::string& text, std::string_view indent) {
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string::npos ? text.size() : nl;
    out += std::string(indent) + text.substr(start, end - start) + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace

std::string statement_label(const Failure& f) {
  if (!f.statement.empty()) return f.statement;
  return "no statement (" + (f.no_statement.empty() ? std::string("none given") : f.no_statement) + ")";
}

std::string console_failure(const ScenarioResult& s, std::string_view indent, std::size_t width) {
  if (!s.failure) return {};
  const Failure& f = *s.failure;
  std::string out = indented(f.message, indent);
  if (s.status == Status::failed) {
    std::string line = "statement: " + statement_label(f);
    for (std::size_t i = 0; i < f.see_also.size(); ++i) line += (i ? ", " : " (see also ") + f.see_also[i];
    if (!f.see_also.empty()) line += ")";
    out += std::string(indent) + line + "\n";
  }
  if (f.broker && !f.broker->report.empty()) {
    out += std::string(indent) + "broker's report:\n";
    std::string report = f.broker->report;
    if (report.back() == '\n') report.pop_back();
    out += indented(report, std::string(indent) + "  ");
  }
  if (!f.consequences.empty()) {
    out += std::string(indent) + "consequences (after the first deviation, not failures of their own):\n";
    for (const Consequence& c : f.consequences)
      out += std::string(indent) + "  " + (c.step ? "step " + std::to_string(c.step) + ": " : std::string()) +
             cut(c.message, width) + (c.statement.empty() ? "" : " [" + c.statement + "]") + "\n";
  }
  if (!f.last_packets.empty()) {
    out += std::string(indent) + "last packets (all clients, in time order):\n";
    for (const PacketRecord& p : f.last_packets) {
      char at[32];
      std::snprintf(at, sizeof at, "%9.3f ms ", p.time_ms);
      const std::string text = p.decoded.is_null() ? p.type + " " + p.hex
                                                   : p.decoded.dump(-1, ' ', false, Json::error_handler_t::replace);
      out += std::string(indent) + "  " + at + p.client + (p.direction == Direction::to_broker ? " -> " : " <- ") +
             cut(text, width) + "\n";
    }
  }
  return out;
}

}  // namespace mqtth::report
