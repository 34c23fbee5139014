// Statement lists, compiled in from docs/spec/*.tsv by cmake/embed_spec.cmake.
#include "mqtth/report/Spec.hpp"

#include <mqtt/codec.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace mqtth::report {
namespace detail {
extern const std::string_view kSpecTsv311;
extern const std::string_view kSpecTsv50;
}  // namespace detail

namespace {

struct Table {
  std::vector<Statement> rows;
  std::unordered_map<std::string_view, std::size_t> by_id;
};

// The TSV is our own build input, so a malformed row is a build defect: fail loudly
// (report_tests checks both files parse with the expected counts).
Table parse(std::string_view tsv) {
  Table t;
  bool header = true;
  while (!tsv.empty()) {
    const std::size_t eol = std::min(tsv.find('\n'), tsv.size());
    std::string_view line = tsv.substr(0, eol);
    tsv.remove_prefix(std::min(eol + 1, tsv.size()));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (header) {
      header = false;
      continue;
    }
    std::string_view cols[5];
    for (int c = 0; c < 4; ++c) {
      const std::size_t tab = line.find('\t');
      if (tab == std::string_view::npos) throw std::logic_error("spec TSV: row with fewer than 5 columns");
      cols[c] = line.substr(0, tab);
      line.remove_prefix(tab + 1);
    }
    cols[4] = line;
    t.by_id.emplace(cols[0], t.rows.size());
    t.rows.push_back(Statement{cols[0], cols[1], cols[2], cols[3], cols[4]});
  }
  return t;
}

const Table& table(SpecVersion v) {
  static const Table t311 = parse(detail::kSpecTsv311);
  static const Table t50 = parse(detail::kSpecTsv50);
  return v == SpecVersion::v3_1_1 ? t311 : t50;
}

}  // namespace

std::string_view to_string(SpecVersion v) { return v == SpecVersion::v3_1_1 ? "3.1.1" : "5"; }

std::optional<SpecVersion> spec_version_for_protocol(std::string_view protocol) {
  const auto version = mqtt::parse_version(protocol);
  if (version == mqtt::Version::v3_1_1) return SpecVersion::v3_1_1;
  if (version == mqtt::Version::v5) return SpecVersion::v5;
  return std::nullopt;  // not a version, or 3.1, which has no numbered statements
}

std::span<const Statement> statements(SpecVersion v) { return table(v).rows; }

const Statement* find_statement(SpecVersion v, std::string_view id) {
  const Table& t = table(v);
  auto it = t.by_id.find(id);
  return it == t.by_id.end() ? nullptr : &t.rows[it->second];
}

}  // namespace mqtth::report
