// JSON report: keys and values as docs/architecture.md "JSON report" and docs/reports.md
// specify, and reading back.
#include <gtest/gtest.h>

#include "mqtth/report/Report.hpp"
#include "sample.hpp"

using namespace mqtth::report;
using mqtth::report::sample::sample_report;

TEST(ReportModel, recount_counts_each_status) {
  RunReport r;
  for (Status s : {Status::passed, Status::passed, Status::failed, Status::skipped, Status::error}) {
    ScenarioResult sc;
    sc.status = s;
    r.scenarios.push_back(sc);
  }
  recount(r);
  EXPECT_EQ(r.summary.passed, 2);
  EXPECT_EQ(r.summary.failed, 1);
  EXPECT_EQ(r.summary.skipped, 1);
  EXPECT_EQ(r.summary.errors, 1);
}

TEST(JsonReport, summary_has_design_keys_and_values) {
  const Json j = to_json(sample_report());
  const Json& s = j.at("summary");
  EXPECT_EQ(s.at("passed"), 1);
  EXPECT_EQ(s.at("failed"), 1);
  EXPECT_EQ(s.at("skipped"), 1);
  EXPECT_EQ(s.at("errors"), 1);
  EXPECT_EQ(s.at("duration_ms"), 1234);  // whole milliseconds, rounded
  EXPECT_EQ(j.at("scenarios").size(), 4u);
  EXPECT_EQ(j.at("broker"), "embedded");
  EXPECT_EQ(j.at("seed"), 7);
}

TEST(JsonReport, scenario_keys_and_values) {
  const Json j = to_json(sample_report());
  const Json& passed = j.at("scenarios").at(0);
  EXPECT_EQ(passed.at("name"), "QoS 1 at least once");
  EXPECT_EQ(passed.at("file"), "scenarios/qos/qos1.yaml");
  EXPECT_EQ(passed.at("protocol"), "3.1.1");
  EXPECT_EQ(passed.at("status"), "passed");
  EXPECT_EQ(passed.at("duration_ms"), 13);
  EXPECT_EQ(passed.at("spec"), Json::array({"MQTT-4.3.2-1", "MQTT-4.6.0-6"}));
  EXPECT_FALSE(passed.contains("failure"));
  EXPECT_EQ(passed.at("steps").at(1).at("kind"), "subscribe");
  EXPECT_EQ(passed.at("steps").at(1).at("line"), 6);
  EXPECT_EQ(passed.at("packets").at(0).at("direction"), "to_broker");
  EXPECT_EQ(passed.at("packets").at(0).at("decoded").at("client_id"), "sub-1");

  const Json& failed = j.at("scenarios").at(1);
  EXPECT_EQ(failed.at("status"), "failed");
  EXPECT_EQ(failed.at("protocol"), "5");
  EXPECT_EQ(failed.at("failure").at("step"), 3);
  EXPECT_EQ(failed.at("failure").at("line"), 17);
  EXPECT_EQ(failed.at("failure").at("message"), "expect_delivery: 2 lost <exactly_once> & \"violated\"");
  EXPECT_EQ(failed.at("failure").at("expected"), "lost == 0");
  EXPECT_EQ(failed.at("failure").at("last_packets").at(0).at("type"), "PUBREC");
  EXPECT_EQ(failed.at("foreign").at(0).at("unparsable"), 2);

  const Json& skipped = j.at("scenarios").at(2);
  EXPECT_EQ(skipped.at("status"), "skipped");
  EXPECT_EQ(skipped.at("skip_reason"), "broker does not support <shared> subscriptions");
  EXPECT_EQ(j.at("scenarios").at(3).at("status"), "error");
}

TEST(JsonReport, delivery_row_has_design_keys_in_order) {
  const Json d = to_json(sample_report()).at("scenarios").at(1).at("deliveries").at(0);
  const std::vector<std::string> design = {"publisher", "subscriber", "topic", "qos", "guarantee", "sent",
                                           "delivered", "lost", "duplicated", "reordered", "verdict"};
  std::vector<std::string> keys;
  for (auto it = d.begin(); it != d.end(); ++it) keys.push_back(it.key());
  ASSERT_GE(keys.size(), design.size());
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + static_cast<long>(design.size())), design);
  EXPECT_EQ(d.at("publisher"), "pub");
  EXPECT_EQ(d.at("topic"), sample::kNastyTopic);
  EXPECT_EQ(d.at("qos"), 2);
  EXPECT_EQ(d.at("guarantee"), "exactly_once");
  EXPECT_EQ(d.at("sent"), 100);
  EXPECT_EQ(d.at("delivered"), 98);
  EXPECT_EQ(d.at("lost"), 2);
  EXPECT_EQ(d.at("duplicated"), 0);
  EXPECT_EQ(d.at("reordered"), 1);
  EXPECT_EQ(d.at("verdict"), "violated");
}

TEST(JsonReport, coverage_per_version) {
  const Json c = to_json(sample_report()).at("coverage");
  // Ran: 3.1.1 scenario citing 4.3.2-1 and 4.6.0-6 (both broker-observable in 3.1.1);
  // 5.0 failed scenario citing 4.3.3-1. The skipped and error scenarios count for nothing.
  EXPECT_EQ(c.at("3.1.1").at("covered"), 2);
  EXPECT_EQ(c.at("3.1.1").at("total"), 101);
  EXPECT_EQ(c.at("5").at("covered"), 1);
  EXPECT_EQ(c.at("5").at("total"), 200);
  EXPECT_DOUBLE_EQ(c.at("5").at("percent").get<double>(), 0.5);
}

TEST(JsonReport, round_trips_through_from_json) {
  const RunReport original = sample_report();
  const Json j = to_json(original);
  std::string error;
  auto back = from_json(Json::parse(j.dump()), &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(to_json(*back), j);
}

TEST(JsonReport, from_json_names_the_bad_key) {
  Json j = to_json(sample_report());
  j["scenarios"][2]["status"] = "green";
  std::string error;
  EXPECT_FALSE(from_json(j, &error));
  EXPECT_EQ(error, "scenarios[2].status: unknown value \"green\"");

  Json k = to_json(sample_report());
  k["scenarios"][1]["deliveries"][0].erase("lost");
  EXPECT_FALSE(from_json(k, &error));
  EXPECT_EQ(error, "scenarios[1].deliveries[0].lost: missing");

  EXPECT_FALSE(from_json(Json::array(), &error));
  EXPECT_FALSE(from_json(Json{{"summary", 1}}, &error));
}

TEST(JsonReport, invalid_utf8_in_strings_does_not_throw_on_dump) {
  RunReport r;
  ScenarioResult s;
  s.name = std::string("bad \xff\xfe utf8");
  r.scenarios.push_back(s);
  const Json j = to_json(r);
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error) << "plain dump() throws on invalid UTF-8";
  std::string text;
  EXPECT_NO_THROW(text = dump_json(j));
  EXPECT_NE(text.find("bad \xEF\xBF\xBD"), std::string::npos);
}

TEST(JsonReport, from_json_ignores_extra_keys) {
  Json j = to_json(sample::sample_report());
  j["summary"]["known_deviations"] = 3;
  j["scenarios"][0]["known_deviation"] = Json{{"reason", "x"}};
  j["tool"] = "ci";
  std::string error;
  auto back = from_json(j, &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->scenarios.size(), 4u);
  EXPECT_EQ(back->summary.passed, 1);
}

// Fault-point exploration table (docs/reports.md "exploration[] row").
TEST(JsonReport, exploration_rows_are_written_only_when_present_and_read_back) {
  RunReport r = sample_report();
  EXPECT_FALSE(to_json(r).at("scenarios").at(0).contains("exploration"));
  CutPoint held{"sub", "to_client", "PUBLISH", 2, true, "held", 0, 0, 12.5, ""};
  CutPoint bad{"sub", "to_broker", "PUBREC", 1, true, "violated", 1, 0, 40.0, "exactly_once violated"};
  r.scenarios[0].exploration = {held, bad};
  const Json j = to_json(r);
  const Json& rows = j.at("scenarios").at(0).at("exploration");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].at("direction"), "to_broker");
  EXPECT_EQ(rows[1].at("packet"), "PUBREC");
  EXPECT_EQ(rows[1].at("nth"), 1);
  EXPECT_EQ(rows[1].at("verdict"), "violated");
  EXPECT_EQ(rows[1].at("lost"), 1);
  std::string error;
  auto back = from_json(j, &error);
  ASSERT_TRUE(back) << error;
  ASSERT_EQ(back->scenarios[0].exploration.size(), 2u);
  EXPECT_EQ(back->scenarios[0].exploration[1].message, "exactly_once violated");
  EXPECT_EQ(back->scenarios[0].exploration[0].nth, 2);
  const std::string html = to_html(r);
  EXPECT_NE(html.find("Fault-point exploration (2 cut points)"), std::string::npos);
  const std::string xml = to_junit_xml(r);
  EXPECT_NE(xml.find("cut sub to_broker after PUBREC #1: violated"), std::string::npos);
}
