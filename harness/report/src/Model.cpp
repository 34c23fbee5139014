// Run-result model helpers: enum names and counting.
#include "mqtth/report/Report.hpp"

namespace mqtth::report {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::passed: return "passed";
    case Status::failed: return "failed";
    case Status::skipped: return "skipped";
    case Status::error: return "error";
  }
  return "error";
}

std::optional<Status> parse_status(std::string_view s) {
  if (s == "passed") return Status::passed;
  if (s == "failed") return Status::failed;
  if (s == "skipped") return Status::skipped;
  if (s == "error") return Status::error;
  return std::nullopt;
}

std::string_view to_string(Direction d) { return d == Direction::to_broker ? "to_broker" : "from_broker"; }

std::optional<Direction> parse_direction(std::string_view s) {
  if (s == "to_broker") return Direction::to_broker;
  if (s == "from_broker") return Direction::from_broker;
  return std::nullopt;
}

void recount(RunReport& report) {
  Summary& s = report.summary;
  s.passed = s.failed = s.skipped = s.errors = 0;
  for (const ScenarioResult& scenario : report.scenarios) {
    switch (scenario.status) {
      case Status::passed: ++s.passed; break;
      case Status::failed: ++s.failed; break;
      case Status::skipped: ++s.skipped; break;
      case Status::error: ++s.errors; break;
    }
  }
}

}  // namespace mqtth::report
