// Statement lists and coverage arithmetic. Expected counts come from docs/spec/README.md
// (141 and 251 statements, of which 101 and 200 are broker-observable).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "mqtth/report/Spec.hpp"

using namespace mqtth::report;

namespace {

std::size_t count_class(SpecVersion v, std::string_view cls) {
  auto s = statements(v);
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [&](const Statement& st) { return st.cls == cls; }));
}

}  // namespace

TEST(SpecData, counts_per_version_and_class) {
  EXPECT_EQ(statements(SpecVersion::v3_1_1).size(), 141u);
  EXPECT_EQ(statements(SpecVersion::v5).size(), 251u);
  EXPECT_EQ(count_class(SpecVersion::v3_1_1, "broker-observable"), 101u);
  EXPECT_EQ(count_class(SpecVersion::v3_1_1, "client-obligation"), 35u);
  EXPECT_EQ(count_class(SpecVersion::v3_1_1, "not-testable"), 5u);
  EXPECT_EQ(count_class(SpecVersion::v5, "broker-observable"), 200u);
  EXPECT_EQ(count_class(SpecVersion::v5, "client-obligation"), 49u);
  EXPECT_EQ(count_class(SpecVersion::v5, "not-testable"), 2u);
}

TEST(SpecData, ids_are_unique_and_every_row_is_complete) {
  for (SpecVersion v : {SpecVersion::v3_1_1, SpecVersion::v5}) {
    std::set<std::string_view> ids;
    for (const Statement& s : statements(v)) {
      EXPECT_TRUE(ids.insert(s.id).second) << s.id;
      EXPECT_TRUE(s.id.starts_with("MQTT-")) << s.id;
      EXPECT_FALSE(s.section.empty()) << s.id;
      EXPECT_TRUE(s.actor == "server" || s.actor == "client" || s.actor == "both" || s.actor == "receiver") << s.id;
      EXPECT_FALSE(s.summary.empty()) << s.id << " has no summary";
      EXPECT_EQ(s.summary.find('\t'), std::string_view::npos);
    }
  }
}

TEST(SpecData, same_id_different_versions) {
  // 3.1.1's 4.6.0-5 is the "Ordered Topic by default" rule (broker-observable), 4.6.0-1 a
  // client re-send rule; 5.0's 4.2.0-1 and 3.1.1's 7.0.0-1 are not testable.
  ASSERT_TRUE(find_statement(SpecVersion::v3_1_1, "MQTT-4.6.0-1"));
  EXPECT_EQ(find_statement(SpecVersion::v3_1_1, "MQTT-4.6.0-1")->cls, "client-obligation");
  EXPECT_EQ(find_statement(SpecVersion::v5, "MQTT-4.2.0-1")->cls, "not-testable");
  EXPECT_EQ(find_statement(SpecVersion::v3_1_1, "MQTT-4.2.0-1"), nullptr);
  EXPECT_EQ(find_statement(SpecVersion::v3_1_1, "MQTT-7.0.0-1")->cls, "not-testable");
  EXPECT_EQ(find_statement(SpecVersion::v5, "MQTT-7.0.0-1"), nullptr);
  EXPECT_EQ(find_statement(SpecVersion::v3_1_1, "MQTT-3.3.1-3")->section, "3.3.1.1");
  EXPECT_EQ(find_statement(SpecVersion::v5, "MQTT-3.3.4-9")->section, "3.3.4");
}

TEST(SpecVersionNames, protocol_strings) {
  EXPECT_EQ(spec_version_for_protocol("3.1.1"), SpecVersion::v3_1_1);
  EXPECT_EQ(spec_version_for_protocol("5"), SpecVersion::v5);
  EXPECT_EQ(spec_version_for_protocol("5.0"), SpecVersion::v5);
  EXPECT_EQ(spec_version_for_protocol("3.1"), std::nullopt);
}
