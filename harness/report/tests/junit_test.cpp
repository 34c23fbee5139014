// JUnit XML: structure (one testcase per scenario x protocol, grouped by file), counts,
// failure/skipped/error elements and escaping. Schema validation runs as the ctest
// report_junit_xsd (xmllint) and in scripts/e2e/test_reports.py.
#include <gtest/gtest.h>

#include "mqtth/report/Report.hpp"
#include "sample.hpp"

using namespace mqtth::report;
using mqtth::report::sample::count;

TEST(JunitXml, root_counts_and_one_testcase_per_scenario) {
  const std::string xml = to_junit_xml(sample::sample_report());
  // 4 scenario runs and 101 + 200 statements (verdicts_test.cpp); 1 failed scenario and 1
  // violated statement.
  EXPECT_TRUE(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mqtt-harness\" "
                              "tests=\"305\" failures=\"2\" errors=\"1\" time=\"1.234\">"));
  EXPECT_EQ(count(xml, "<testcase "), 305u);
  EXPECT_EQ(count(xml, "</testcase>"), 305u);
  EXPECT_EQ(count(xml, "classname=\"statements / "), 301u);
  // Three files (qos1.yaml holds two scenarios) and a statements suite per version.
  EXPECT_EQ(count(xml, "<testsuite "), 5u);
  EXPECT_NE(xml.find("<testsuite name=\"scenarios/qos/qos1.yaml\" tests=\"2\" failures=\"0\" errors=\"1\" "
                     "skipped=\"0\" time=\"0.013\""),
            std::string::npos)
      << xml;
  EXPECT_TRUE(xml.ends_with("</testsuites>\n"));
}

TEST(JunitXml, classname_is_file_slash_protocol_and_name_is_scenario) {
  const std::string xml = to_junit_xml(sample::sample_report());
  EXPECT_NE(xml.find("<testcase name=\"QoS 1 at least once\" classname=\"scenarios/qos/qos1.yaml / 3.1.1\" "
                     "time=\"0.013\">"),
            std::string::npos);
  EXPECT_NE(xml.find("classname=\"scenarios/v5/shared.yaml / 5\""), std::string::npos);
}

TEST(JunitXml, failure_skipped_and_error_elements) {
  const std::string xml = to_junit_xml(sample::sample_report());
  // The scenario failure and the statement it violated; the statements not held are skipped.
  EXPECT_EQ(count(xml, "<failure "), 2u);
  EXPECT_EQ(count(xml, "<error "), 1u);
  EXPECT_EQ(count(xml, "<skipped "), 1u + (101u - 2u) + (200u - 1u));
  // The type of a scenario failure is its primary statement; the text names it too.
  EXPECT_NE(xml.find("<failure message=\"expect_delivery: 2 lost &lt;exactly_once&gt; &amp; &quot;violated&quot;\" "
                     "type=\"MQTT-4.3.3-10\">"),
            std::string::npos);
  EXPECT_NE(xml.find("statement: MQTT-4.3.3-10 (see also MQTT-4.6.0-5)\n"), std::string::npos);
  EXPECT_NE(xml.find("  step 4: no &lt;matching&gt; PUBLISH within 1s [MQTT-3.3.1-4]\n"), std::string::npos);
  EXPECT_NE(xml.find("<error message=\"scenarios/qos/qos1.yaml:4: unknown key &apos;clinets&apos;\" "
                     "type=\"scenario-error\">"),
            std::string::npos);
  EXPECT_NE(xml.find("<skipped message=\"broker does not support &lt;shared&gt; subscriptions\"/>"),
            std::string::npos);
  EXPECT_NE(xml.find("<error message=\"scenarios/qos/qos1.yaml:4: unknown key &apos;clinets&apos;\""),
            std::string::npos);
  EXPECT_NE(xml.find("<system-out>"), std::string::npos);
}

TEST(JunitXml, nothing_unescaped_leaks_from_names) {
  const std::string xml = to_junit_xml(sample::sample_report());
  EXPECT_EQ(xml.find("<script>"), std::string::npos);
  EXPECT_EQ(xml.find("<2>"), std::string::npos);
  EXPECT_NE(xml.find("name=\"QoS &lt;2&gt; &amp; &quot;exactly&quot; &apos;once&apos; &lt;/script&gt;"),
            std::string::npos);
}

TEST(JunitXml, empty_run_is_a_valid_empty_document) {
  const std::string xml = to_junit_xml(RunReport{});
  EXPECT_EQ(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mqtt-harness\" tests=\"0\" "
                 "failures=\"0\" errors=\"0\" time=\"0.000\">\n</testsuites>\n");
}

TEST(Escape, xml_escapes_markup_and_replaces_what_xml_cannot_carry) {
  EXPECT_EQ(escape_xml("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
  EXPECT_EQ(escape_xml("tab\tnl\ncr\r"), "tab\tnl\ncr\r");
  EXPECT_EQ(escape_xml(std::string("nul\0x", 5)), "nul\xEF\xBF\xBDx");
  EXPECT_EQ(escape_xml("\x01\x1f"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(escape_xml("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(escape_xml("\xff"), "\xEF\xBF\xBD");                  // never valid in UTF-8
  EXPECT_EQ(escape_xml("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(escape_xml("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate U+D800
  EXPECT_EQ(escape_xml("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
  EXPECT_EQ(escape_xml("\xEF\xBF\xBF"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // U+FFFF not an XML char
}

TEST(JunitXml, run_context_goes_into_suite_properties) {
  const std::string xml = to_junit_xml(sample::sample_report());
  EXPECT_EQ(count(xml, "<properties>"), 3u);  // one per scenario file
  EXPECT_NE(xml.find("<property name=\"broker\" value=\"embedded\"/>"), std::string::npos);
  EXPECT_NE(xml.find("<property name=\"seed\" value=\"7\"/>"), std::string::npos);
}
