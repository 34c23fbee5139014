// `mqtt-harness report merge`: one report from the JSON reports of `run --shard K/N`
// (docs/scale-out.md "Merging the suite's shards").
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "mqtth/report/Merge.hpp"
#include "mqtth/report/Report.hpp"

namespace {

using mqtth::cli::ArgReader;
namespace report = mqtth::report;

constexpr const char* kUsage =
    "usage: mqtt-harness report merge JSON... [--out DIR]\n"
    "\n"
    "Combines the JSON reports of the N shards of one `run --shard K/N` suite into one report\n"
    "with one spec-coverage table, as if the suite had run unsharded (docs/scale-out.md).\n"
    "\n"
    "  JSON...     the shards' `run --json` reports, every shard 1/N..N/N exactly once\n"
    "  --out DIR   where to write report.json, report.xml (JUnit) and report.html\n"
    "              (default merged-report)\n"
    "\n"
    "Exit status: 0 all passed, 1 a scenario failed (or a run finding or broker failure that no\n"
    "profile excuses), 2 a scenario error, bad arguments, or inputs that are not the complete\n"
    "shards of one run (a missing or duplicate shard, a shard of another suite, shard count or\n"
    "harness version), each named.\n";

int merge_command(int argc, char** argv) {
  ArgReader args(argc, argv, "report merge", kUsage);
  std::vector<std::string> files;
  std::string out = "merged-report";
  while (auto arg = args.next()) {
    if (*arg == "--help" || *arg == "-h") return args.help();
    if (*arg == "--out") {
      auto v = args.value();
      if (!v) return 2;
      out = std::string(*v);
    } else if (arg->starts_with("-")) {
      return args.bad("unknown option " + std::string(*arg));
    } else {
      files.emplace_back(*arg);
    }
  }
  if (files.empty()) return args.bad("no JSON report given");
  std::vector<report::ShardInput> inputs;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "mqtt-harness report merge: %s: cannot be read\n", f.c_str());
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    report::Json j = report::Json::parse(text.str(), nullptr, false);
    if (j.is_discarded()) {
      std::fprintf(stderr, "mqtt-harness report merge: %s: not JSON\n", f.c_str());
      return 2;
    }
    inputs.push_back({f, std::move(j)});
  }
  std::string error;
  auto merged = report::merge_shard_reports(inputs, &error);
  if (!merged) {
    std::fprintf(stderr, "mqtt-harness report merge: %s\n", error.c_str());
    return 2;
  }
  int write_errors = 0;
  auto write = [&](const std::string& name, const std::string& content) {
    auto err = report::write_file(out + "/" + name, content);
    if (!err.empty()) {
      std::fprintf(stderr, "mqtt-harness report merge: %s\n", err.c_str());
      ++write_errors;
    }
  };
  write("report.json", report::dump_json(merged->json) + "\n");
  write("report.xml", report::to_junit_xml(merged->report));
  write("report.html", report::to_html(merged->report));
  if (write_errors) return 2;
  const auto& s = merged->report.summary;
  std::fprintf(stderr, "merged %zu shard(s): %d passed, %d failed, %d skipped, %d errors -> %s/report.{json,xml,html}\n",
               files.size(), s.passed, s.failed, s.skipped, s.errors, out.c_str());
  for (const auto& w : merged->json["warnings"]) std::fprintf(stderr, "warning: %s\n", w.get<std::string>().c_str());
  return report::merged_exit_status(merged->json);
}

int report_command(int argc, char** argv) {
  const std::string_view sub = argc >= 2 ? std::string_view(argv[1]) : std::string_view();
  if (sub == "merge") return merge_command(argc - 1, argv + 1);
  if (sub == "--help" || sub == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "mqtt-harness report: %s\n%s",
               sub.empty() ? "which subcommand? (merge)" : ("unknown subcommand '" + std::string(sub) + "'").c_str(), kUsage);
  return 2;
}

const bool registered = mqtth::cli::register_command(
    {"report", "report merge: one report from the JSON reports of `run --shard K/N`", &report_command});

}  // namespace
