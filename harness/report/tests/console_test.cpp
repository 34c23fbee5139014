// A failure on the console (console_failure): statement, consequences, last packets in time
// order with their clients, long lines cut without splitting a UTF-8 character.
#include <gtest/gtest.h>

#include "mqtth/report/Report.hpp"
#include "sample.hpp"

using namespace mqtth::report;

TEST(ConsoleFailure, names_the_statement_consequences_and_packets_with_clients) {
  const RunReport r = sample::sample_report();
  const std::string text = console_failure(r.scenarios[1], "  ");
  EXPECT_EQ(text,
            "  expect_delivery: 2 lost <exactly_once> & \"violated\"\n"
            "  statement: MQTT-4.3.3-10 (see also MQTT-4.6.0-5)\n"
            "  consequences (after the first deviation, not failures of their own):\n"
            "    step 4: no <matching> PUBLISH within 1s [MQTT-3.3.1-4]\n"
            "  last packets (all clients, in time order):\n"
            "     1999.000 ms pub <- {\"type\":\"PUBREC\",\"packet_id\":7}\n");
}

TEST(ConsoleFailure, an_error_has_no_statement_line_and_a_failure_without_one_says_why) {
  const RunReport r = sample::sample_report();
  EXPECT_EQ(console_failure(r.scenarios[3], ""), "scenarios/qos/qos1.yaml:4: unknown key 'clinets'\n");
  ScenarioResult s;
  s.status = Status::failed;
  Failure f;
  f.message = "step 2 (sleep 1s): sleep of 1s does not fit\nin the scenario timeout";
  f.no_statement = "scenario error: the steps do not fit in the timeout";
  s.failure = f;
  EXPECT_EQ(console_failure(s, "> "),
            "> step 2 (sleep 1s): sleep of 1s does not fit\n"
            "> in the scenario timeout\n"
            "> statement: no statement (scenario error: the steps do not fit in the timeout)\n");
}

TEST(ConsoleFailure, long_packet_lines_are_cut_on_a_character_boundary_saying_how_much) {
  ScenarioResult s;
  s.status = Status::failed;
  Failure f;
  f.message = "m";
  f.statement = "MQTT-3.3.1-4";
  // 10 ASCII bytes, then two-byte characters: a cut at 15 bytes would fall inside one.
  std::string hex = "0123456789";
  for (int i = 0; i < 20; ++i) hex += "\xC3\xA9";
  f.last_packets.push_back(PacketRecord{"sub", Direction::from_broker, 3.5, "RAW", nullptr, hex});
  f.last_packets.push_back(PacketRecord{"pub", Direction::to_broker, 4.25, "PINGREQ", nullptr, "c000"});
  s.failure = f;
  const std::string text = console_failure(s, "", 20);
  // "RAW " + 10 digits + 3 whole characters = 20 bytes; the rest is 17 characters, 34 bytes.
  EXPECT_NE(text.find("    3.500 ms sub <- RAW 0123456789\xC3\xA9\xC3\xA9\xC3\xA9 ... (34 more bytes)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("    4.250 ms pub -> PINGREQ c000\n"), std::string::npos) << text;
}
