// A hand-built report shared by the report tests: every status, a failure with packets,
// deliveries with both verdicts, and strings full of characters that need escaping.
#pragma once

#include "mqtth/report/Report.hpp"

namespace mqtth::report::sample {

// How many times `needle` occurs in `hay`.
inline std::size_t count(const std::string& hay, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) ++n;
  return n;
}

inline constexpr const char* kNastyName = "QoS <2> & \"exactly\" 'once' </script><script>alert(1)</script>";
inline constexpr const char* kNastyTopic = "t/<a>&b\"c'";

inline RunReport sample_report() {
  RunReport r;
  r.summary.duration_ms = 1234.4;
  r.broker = "embedded";
  r.started_at = "2026-11-25T19:00:00Z";
  r.seed = 7;

  ScenarioResult passed;
  passed.name = "QoS 1 at least once";
  passed.file = "scenarios/qos/qos1.yaml";
  passed.protocol = "3.1.1";
  passed.status = Status::passed;
  passed.duration_ms = 12.6;
  passed.spec = {"MQTT-4.3.2-1", "MQTT-4.6.0-6"};
  passed.steps = {{1, 5, "connect", "connect sub", 1.25, Status::passed, ""},
                  {2, 6, "subscribe", "sub t/# qos 1", 0.5, Status::passed, ""}};
  ledger::StreamResult ok;
  ok.publisher = "pub";
  ok.subscriber = "sub";
  ok.topic = "t/a";
  ok.qos = 1;
  ok.publish_qos = 1;
  ok.granted_qos = 1;
  ok.guarantee = ledger::Guarantee::at_least_once;
  ok.sent = 100;
  ok.delivered = 100;
  ok.duplicated = 3;
  ok.attempted = 100;
  passed.deliveries.push_back(ok);
  passed.packets.push_back(PacketRecord{"sub", Direction::to_broker, 0.125, "CONNECT",
                                        Json{{"type", "CONNECT"}, {"client_id", "sub-1"}}, "100c00044d515454"});
  r.scenarios.push_back(passed);

  ScenarioResult failed;
  failed.name = kNastyName;
  failed.file = "scenarios/qos/qos2 & <cut>.yaml";
  failed.protocol = "5";
  failed.status = Status::failed;
  failed.duration_ms = 2000.2;
  failed.spec = {"MQTT-4.3.3-1"};
  Failure f;
  f.step = 3;
  f.line = 17;
  f.message = "expect_delivery: 2 lost <exactly_once> & \"violated\"";
  f.expected = "lost == 0";
  f.actual = "lost == 2";
  f.statement = "MQTT-4.3.3-10";
  f.see_also = {"MQTT-4.6.0-5"};
  f.consequences.push_back(Consequence{4, 18, "no <matching> PUBLISH within 1s", "MQTT-3.3.1-4"});
  f.last_packets.push_back(PacketRecord{"pub", Direction::from_broker, 1999.0, "PUBREC",
                                        Json{{"type", "PUBREC"}, {"packet_id", 7}}, "50020007"});
  failed.failure = f;
  failed.steps = {{1, 10, "connect", "connect pub", 1.0, Status::passed, ""},
                  {2, 12, "publish", std::string("publish ") + kNastyTopic, 10.0, Status::passed, ""},
                  {3, 17, "expect_delivery", "sub from pub", 1900.0, Status::failed, "2 lost"},
                  {4, 18, "disconnect", "disconnect pub", 0.0, Status::skipped, ""}};
  ledger::StreamResult bad = ok;
  bad.topic = kNastyTopic;
  bad.qos = 2;
  bad.publish_qos = 2;
  bad.granted_qos = 2;
  bad.guarantee = ledger::Guarantee::exactly_once;
  bad.ordered = true;
  bad.delivered = 98;
  bad.lost = 2;
  bad.duplicated = 0;
  bad.reordered = 1;
  bad.verdict = ledger::Verdict::violated;
  bad.reason = "2 lost, the consequence of a deviation reported where it happened [MQTT-3.2.2-3]; 1 reordered";
  bad.statement = "MQTT-3.2.2-3";
  bad.see_also = {"MQTT-4.6.0-5"};
  bad.cause = "MQTT-3.2.2-3";
  bad.lost_consequence = 2;
  failed.deliveries.push_back(bad);
  failed.foreign.push_back(ledger::ForeignCounts{"sub", 2, 1, 0});
  r.scenarios.push_back(failed);

  ScenarioResult skipped;
  skipped.name = "shared subscriptions";
  skipped.file = "scenarios/v5/shared.yaml";
  skipped.protocol = "5";
  skipped.status = Status::skipped;
  skipped.skip_reason = "broker does not support <shared> subscriptions";
  skipped.spec = {"MQTT-4.8.2-1"};
  r.scenarios.push_back(skipped);

  ScenarioResult error;
  error.name = "broken scenario";
  error.file = "scenarios/qos/qos1.yaml";
  error.protocol = "5";
  error.status = Status::error;
  Failure e;
  e.line = 4;
  e.message = "scenarios/qos/qos1.yaml:4: unknown key 'clinets'";
  e.no_statement = "scenario error";
  error.failure = e;
  r.scenarios.push_back(error);

  recount(r);
  return r;
}

}  // namespace mqtth::report::sample
