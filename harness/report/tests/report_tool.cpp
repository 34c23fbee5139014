// Test-only tool: reads a JSON report (or uses the built-in sample with --sample) and
// writes it back as JUnit XML, HTML and/or JSON. Used by the ctest report_junit_xsd and by
// scripts/e2e/test_reports*.py; exit 2 on bad arguments or input, naming what is wrong.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "mqtth/report/Report.hpp"
#include "sample.hpp"

using namespace mqtth::report;

int main(int argc, char** argv) {
  std::string input, junit, html, json;
  bool sample = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::cerr << "mqtth_report_tool: " << arg << " needs a file name\n";
        std::exit(2);
      }
      out = argv[++i];
    };
    if (arg == "--junit") value(junit);
    else if (arg == "--html") value(html);
    else if (arg == "--json") value(json);
    else if (arg == "--sample") sample = true;
    else if (!arg.starts_with("--") && input.empty()) input = arg;
    else {
      std::cerr << "usage: mqtth_report_tool (INPUT.json | --sample) [--junit F] [--html F] [--json F]\n";
      return 2;
    }
  }
  RunReport report;
  if (sample) {
    report = sample::sample_report();
  } else {
    if (input.empty()) {
      std::cerr << "mqtth_report_tool: no input (give a JSON report or --sample)\n";
      return 2;
    }
    std::ifstream in(input, std::ios::binary);
    if (!in) {
      std::cerr << "mqtth_report_tool: cannot open " << input << "\n";
      return 2;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    Json j = Json::parse(buf.str(), nullptr, false);
    if (j.is_discarded()) {
      std::cerr << "mqtth_report_tool: " << input << ": not JSON\n";
      return 2;
    }
    std::string error;
    auto parsed = from_json(j, &error);
    if (!parsed) {
      std::cerr << "mqtth_report_tool: " << input << ": " << error << "\n";
      return 2;
    }
    report = std::move(*parsed);
  }
  int status = 0;
  auto write = [&](const std::string& path, const std::string& content) {
    if (path.empty()) return;
    if (std::string err = write_file(path, content); !err.empty()) {
      std::cerr << "mqtth_report_tool: " << err << "\n";
      status = 2;
    }
  };
  write(junit, to_junit_xml(report));
  write(html, to_html(report));
  write(json, dump_json(to_json(report)) + "\n");
  return status;
}
