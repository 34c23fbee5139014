// HTML report: one self-contained page, everything escaped, all sections present.
#include <gtest/gtest.h>

#include "mqtth/report/Report.hpp"
#include "mqtth/report/Verdicts.hpp"
#include "sample.hpp"

using namespace mqtth::report;

TEST(HtmlReport, escapes_scenario_names_topics_messages) {
  const std::string html = to_html(sample::sample_report());
  // The nasty name holds "</script><script>alert(1)</script>": only our own script tag may exist.
  std::size_t scripts = 0;
  for (std::size_t pos = html.find("<script"); pos != std::string::npos; pos = html.find("<script", pos + 1)) ++scripts;
  EXPECT_EQ(scripts, 1u);
  EXPECT_EQ(html.find("alert(1)</script>"), std::string::npos);
  EXPECT_NE(html.find("QoS &lt;2&gt; &amp; &quot;exactly&quot; &#39;once&#39; &lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("t/&lt;a&gt;&amp;b&quot;c&#39;"), std::string::npos);
  EXPECT_EQ(html.find("t/<a>"), std::string::npos);
  EXPECT_NE(html.find("qos2 &amp; &lt;cut&gt;.yaml"), std::string::npos);
  EXPECT_NE(html.find("broker does not support &lt;shared&gt; subscriptions"), std::string::npos);
}

TEST(HtmlReport, self_contained_without_external_resources) {
  const std::string html = to_html(sample::sample_report());
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
}

TEST(HtmlReport, has_summary_steps_deliveries_trace_and_coverage) {
  const std::string html = to_html(sample::sample_report());
  EXPECT_NE(html.find("<div class=\"card failed\"><b>1</b>failed</div>"), std::string::npos);
  EXPECT_NE(html.find("<h3>Steps</h3>"), std::string::npos);
  EXPECT_NE(html.find("<h3>Deliveries</h3>"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"violated\">"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"badge held\">held</span>"), std::string::npos);
  EXPECT_NE(html.find("Packet trace (1 packets)"), std::string::npos);
  EXPECT_NE(html.find("Last packets before the failure"), std::string::npos);
  // Coverage: held + violated. 3.1.1: the passed scenario's 4.3.2-1 and 4.6.0-6 held (2 of
  // 101, "2.0%"); 5.0: the failed scenario's primary statement 4.3.3-10 violated (1 of 200);
  // its cited 4.3.3-1 was not checked.
  EXPECT_NE(html.find("<tr><td>MQTT 3.1.1</td><td class=\"num\">2 / 101</td>"), std::string::npos);
  EXPECT_NE(html.find("2.0%</td><td class=\"num\">2</td><td class=\"num\">0</td><td class=\"num\">0</td>"
                      "<td class=\"num\">99</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr><td>MQTT 5</td><td class=\"num\">1 / 200</td>"), std::string::npos);
  // One verdict row per broker-observable statement of both versions, the others listed apart.
  std::size_t rows = 0;
  for (std::size_t pos = html.find("<td class=\"id\">"); pos != std::string::npos;
       pos = html.find("<td class=\"id\">", pos + 1))
    ++rows;
  EXPECT_EQ(rows, 141u + 251u);
  std::size_t verdict_rows = 0;
  for (std::size_t pos = html.find(" data-verdict=\""); pos != std::string::npos; pos = html.find(" data-verdict=\"", pos + 1))
    ++verdict_rows;
  EXPECT_EQ(verdict_rows, 101u + 200u);
  // The failure box names its statement, linked to its row, and lists the consequence.
  EXPECT_NE(html.find("statement <a href=\"#st-5-MQTT-4.3.3-10\"><code>MQTT-4.3.3-10</code></a> (MQTT 5): "),
            std::string::npos);
  EXPECT_NE(html.find("id=\"st-5-MQTT-4.3.3-10\""), std::string::npos);
  EXPECT_NE(html.find("<li>step 4: no &lt;matching&gt; PUBLISH within 1s <code>MQTT-3.3.1-4</code></li>"),
            std::string::npos);
  // The failing scenario is open, the passing one collapsed.
  EXPECT_NE(html.find("data-status=\"failed\" open>"), std::string::npos);
  EXPECT_NE(html.find("data-status=\"passed\">"), std::string::npos);
}

TEST(HtmlReport, empty_run_renders) {
  const std::string html = to_html(RunReport{});
  EXPECT_NE(html.find("No scenarios ran."), std::string::npos);
  EXPECT_TRUE(html.ends_with("</html>\n"));
}

TEST(HtmlReport, huge_trace_is_truncated_with_a_note) {
  RunReport r;
  ScenarioResult s;
  s.name = "load";
  for (int i = 0; i < 2500; ++i) s.packets.push_back(PacketRecord{"c", Direction::to_broker, 0, "PINGREQ", nullptr, "c000"});
  r.scenarios.push_back(s);
  const std::string html = to_html(r);
  EXPECT_NE(html.find("500 more packets not shown"), std::string::npos);
}

TEST(Escape, html_escapes_apostrophe_as_numeric_reference) {
  EXPECT_EQ(escape_html("<a href='x'>&</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
}

TEST(HtmlReport, shows_a_spawned_brokers_failure_and_report_escaped) {
  RunReport r = sample::sample_report();
  r.scenarios[1].failure->broker =
      BrokerFailure{"crashed", "signal SIGSEGV", "AddressSanitizer", "ERROR: AddressSanitizer: <SEGV> & more\n", "tail"};
  r.broker_failure = BrokerFailure{"leaked", "exit 23", "LeakSanitizer", "Direct leak of 64 byte(s)\n", ""};
  const std::string html = to_html(r);
  EXPECT_NE(html.find("broker crashed (signal SIGSEGV), AddressSanitizer report"), std::string::npos);
  EXPECT_NE(html.find("ERROR: AddressSanitizer: &lt;SEGV&gt; &amp; more"), std::string::npos);
  EXPECT_NE(html.find("The spawned broker failed outside any scenario"), std::string::npos);
  EXPECT_NE(html.find("Direct leak of 64 byte(s)"), std::string::npos);
  EXPECT_EQ(to_html(sample::sample_report()).find("spawned broker"), std::string::npos);
}
