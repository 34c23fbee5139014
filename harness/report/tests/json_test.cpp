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

TEST(JsonReport, delivery_row_has_the_verdicts_statement_and_its_consequences) {
  const Json j = to_json(sample_report());
  const Json& scenarios = j.at("scenarios");
  const Json d = scenarios.at(1).at("deliveries").at(0);
  EXPECT_EQ(d.at("statement"), "MQTT-3.2.2-3");
  EXPECT_EQ(d.at("see_also"), Json::array({"MQTT-4.6.0-5"}));
  EXPECT_EQ(d.at("cause"), "MQTT-3.2.2-3");
  EXPECT_EQ(d.at("lost_consequence"), 2);
  EXPECT_EQ(d.at("duplicated_consequence"), 0);
  // A row that held names nothing.
  const Json held = scenarios.at(0).at("deliveries").at(0);
  EXPECT_EQ(held.at("statement"), "");
  EXPECT_EQ(held.at("see_also"), Json::array());
  EXPECT_EQ(held.at("cause"), "");
  // Read back: round_trips_through_from_json.
}

TEST(JsonReport, coverage_per_version) {
  const Json c = to_json(sample_report()).at("coverage");
  // Held: the passed 3.1.1 scenario's 4.3.2-1 and 4.6.0-6 (both broker-observable in 3.1.1).
  // Violated: the failed 5.0 scenario's primary statement 4.3.3-10; the 4.3.3-1 it cites is
  // not checked (it failed first). The skipped and error scenarios count for nothing.
  EXPECT_EQ(c.at("3.1.1").at("covered"), 2);
  EXPECT_EQ(c.at("3.1.1").at("held"), 2);
  EXPECT_EQ(c.at("3.1.1").at("total"), 101);
  EXPECT_EQ(c.at("5").at("covered"), 1);
  EXPECT_EQ(c.at("5").at("violated"), 1);
  EXPECT_EQ(c.at("5").at("total"), 200);
  EXPECT_DOUBLE_EQ(c.at("5").at("percent").get<double>(), 0.5);
}

TEST(JsonReport, failure_names_one_statement_its_consequences_and_known_deviation) {
  RunReport r = sample_report();
  r.scenarios[1].known_deviation = KnownDeviation{"MQTT-4.3.3-10", "documented", "broker-x"};
  const Json j = to_json(r);
  const Json& f = j.at("scenarios").at(1).at("failure");
  EXPECT_EQ(f.at("statement"), "MQTT-4.3.3-10");
  EXPECT_FALSE(f.contains("no_statement"));
  EXPECT_EQ(f.at("see_also"), Json::array({"MQTT-4.6.0-5"}));
  EXPECT_EQ(f.at("consequences"), Json::array({Json{{"step", 4}, {"line", 18},
                                                    {"message", "no <matching> PUBLISH within 1s"},
                                                    {"statement", "MQTT-3.3.1-4"}}}));
  EXPECT_EQ(j.at("scenarios").at(1).at("known_deviation"),
            (Json{{"statement", "MQTT-4.3.3-10"}, {"reason", "documented"}, {"profile", "broker-x"}}));
  EXPECT_EQ(j.at("summary").at("known_deviations"), 1);
  const Json& e = j.at("scenarios").at(3).at("failure");
  EXPECT_EQ(e.at("statement"), "");
  EXPECT_EQ(e.at("no_statement"), "scenario error");
  std::string error;
  auto back = from_json(Json::parse(j.dump()), &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->scenarios[1].known_deviation->profile, "broker-x");
  EXPECT_EQ(back->scenarios[1].failure->consequences.at(0).line, 18);
  EXPECT_EQ(to_json(*back), j);
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
  CutPoint held{"sub", "to_client", "PUBLISH", 2, true, "held", 0, 0, 12.5, "", "", {}, {}};
  CutPoint bad{"sub", "to_broker", "PUBREC", 1, true, "violated", 1, 0, 40.0, "exactly_once violated",
               "MQTT-4.5.0-1",
               {PacketRecord{"sub", Direction::to_broker, 3.0, "PUBREC", Json{{"type", "PUBREC"}}, "50020001"}},
               {"out/1-v5-x--sub--conn2.pcap"}};
  r.scenarios[0].exploration = {held, bad};
  const Json j = to_json(r);
  const Json& rows = j.at("scenarios").at(0).at("exploration");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].at("direction"), "to_broker");
  EXPECT_EQ(rows[1].at("packet"), "PUBREC");
  EXPECT_EQ(rows[1].at("nth"), 1);
  EXPECT_EQ(rows[1].at("verdict"), "violated");
  EXPECT_EQ(rows[1].at("lost"), 1);
  // A cut run that did not hold keeps its statement, trace and pcap files; one that held none.
  EXPECT_EQ(rows[1].at("statement"), "MQTT-4.5.0-1");
  EXPECT_EQ(rows[1].at("packets").at(0).at("hex"), "50020001");
  EXPECT_EQ(rows[1].at("pcap"), Json::array({"out/1-v5-x--sub--conn2.pcap"}));
  EXPECT_FALSE(rows[0].contains("packets"));
  EXPECT_FALSE(rows[0].contains("statement"));
  std::string error;
  auto back = from_json(j, &error);
  ASSERT_TRUE(back) << error;
  ASSERT_EQ(back->scenarios[0].exploration.size(), 2u);
  EXPECT_EQ(back->scenarios[0].exploration[1].message, "exactly_once violated");
  EXPECT_EQ(back->scenarios[0].exploration[0].nth, 2);
  EXPECT_EQ(back->scenarios[0].exploration[1].packets.size(), 1u);
  EXPECT_EQ(back->scenarios[0].exploration[1].pcap.size(), 1u);
  EXPECT_EQ(to_json(*back), j);
  const std::string html = to_html(r);
  EXPECT_NE(html.find("Fault-point exploration (2 cut points)"), std::string::npos);
  EXPECT_NE(html.find("Packet trace of this cut run (1 packets)"), std::string::npos);
  EXPECT_NE(html.find("pcap: <code>out/1-v5-x--sub--conn2.pcap</code>"), std::string::npos);
  const std::string xml = to_junit_xml(r);
  EXPECT_NE(xml.find("cut sub to_broker after PUBREC #1: violated"), std::string::npos);
  // The scenario's failure text (the passed scenario 0 has none) is not where this row goes;
  // a failed scenario's <failure> text lists each cut run that did not hold with its statement.
  r.scenarios[1].exploration = {held, bad};
  EXPECT_NE(to_junit_xml(r).find("cut sub to_broker after PUBREC #1: violated (lost 1, duplicated 0) [MQTT-4.5.0-1] "
                                 "exactly_once violated"),
            std::string::npos);
}

// `run --spawn`: the broker's crash in a scenario's failure, its leak at the end in the run.
TEST(JsonReport, a_spawned_brokers_failures_are_written_and_read_back) {
  RunReport r = sample_report();
  r.scenarios[1].failure->broker =
      BrokerFailure{"crashed", "signal SIGABRT", "AddressSanitizer", "==1==ERROR: AddressSanitizer: SEGV\n", "last\n"};
  r.broker_failure = BrokerFailure{"leaked", "exit 23", "LeakSanitizer", "==1==ERROR: LeakSanitizer: x\n", ""};
  const Json j = to_json(r);
  EXPECT_EQ(j.at("scenarios").at(1).at("failure").at("broker"),
            (Json{{"kind", "crashed"}, {"exit", "signal SIGABRT"}, {"sanitizer", "AddressSanitizer"},
                  {"report", "==1==ERROR: AddressSanitizer: SEGV\n"}, {"output_tail", "last\n"}}));
  EXPECT_EQ(j.at("broker_failure").at("kind"), "leaked");
  EXPECT_FALSE(j.at("scenarios").at(0).contains("failure") && j.at("scenarios").at(0).at("failure").contains("broker"));
  EXPECT_FALSE(to_json(sample_report()).contains("broker_failure"));
  std::string error;
  auto back = from_json(Json::parse(j.dump()), &error);
  ASSERT_TRUE(back) << error;
  ASSERT_TRUE(back->broker_failure);
  EXPECT_EQ(back->broker_failure->exit, "exit 23");
  EXPECT_EQ(to_json(*back), j);
}
