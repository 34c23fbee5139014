// report merge: shards of one suite combine into the unsharded report; anything else is refused.
#include <gtest/gtest.h>

#include "mqtth/report/Merge.hpp"
#include "sample.hpp"

using namespace mqtth::report;

namespace {

ScenarioResult scenario(const std::string& name, Status status) {
  ScenarioResult s;
  s.name = name;
  s.file = "scenarios/" + name + ".yaml";
  s.protocol = "5";
  s.status = status;
  s.spec = {"MQTT-3.1.0-1"};
  return s;
}

// Unit u of a 5-unit suite goes to shard (u mod N) + 1, as `run --shard` slices.
ShardInput shard(unsigned k, unsigned n, const std::vector<std::size_t>& units, const std::string& suite = "s1") {
  RunReport r;
  r.harness_version = "0.1.0";
  r.broker = "embedded";
  r.seed = 7;
  r.summary.duration_ms = 100.0 * k;
  for (std::size_t u : units)
    r.scenarios.push_back(scenario("u" + std::to_string(u), u == 3 ? Status::failed : Status::passed));
  recount(r);
  Json j = to_json(r);
  ShardInfo info{k, n, 5, suite, units, 0};
  j["shard"] = to_json(info);
  j["findings"] = Json::array({Json{{"statement", "MQTT-4.7.3-4"}, {"message", "m"}, {"scenarios", 1}}});
  j["warnings"] = Json::array({"same warning"});
  return {"shard" + std::to_string(k) + ".json", j};
}

}  // namespace

TEST(ReportMerge, shards_give_the_unsharded_order_counts_and_coverage) {
  std::string error;
  // Given out of order: the merge orders by the suite's unit numbers.
  auto merged = merge_shard_reports({shard(2, 2, {1, 3}), shard(1, 2, {0, 2, 4})}, &error);
  ASSERT_TRUE(merged) << error;
  const Json& j = merged->json;
  ASSERT_EQ(j.at("scenarios").size(), 5u);
  for (std::size_t u = 0; u < 5; ++u) EXPECT_EQ(j["scenarios"][u]["name"], "u" + std::to_string(u));
  EXPECT_EQ(j["summary"]["passed"], 4);
  EXPECT_EQ(j["summary"]["failed"], 1);
  EXPECT_EQ(j["summary"]["duration_ms"], 200);  // the slowest shard, not the sum
  EXPECT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["scenarios"], 2);  // counted over both shards
  EXPECT_EQ(j["warnings"].size(), 1u);
  EXPECT_EQ(j["merged_from"]["shards"], 2);
  EXPECT_FALSE(j.contains("shard"));
  EXPECT_EQ(merged_exit_status(j), 1);
  // One coverage table computed over all scenarios: the same as an unsharded report's.
  RunReport whole;
  for (std::size_t u = 0; u < 5; ++u) whole.scenarios.push_back(scenario("u" + std::to_string(u), u == 3 ? Status::failed : Status::passed));
  EXPECT_EQ(j["coverage"], to_json(whole)["coverage"]);
  EXPECT_EQ(j["statements"], to_json(whole)["statements"]);
}

TEST(ReportMerge, a_missing_shard_is_named) {
  std::string error;
  EXPECT_FALSE(merge_shard_reports({shard(1, 3, {0, 3}), shard(3, 3, {2})}, &error));
  EXPECT_NE(error.find("missing shard(s) 2/3"), std::string::npos) << error;
}

TEST(ReportMerge, a_duplicate_shard_is_named) {
  std::string error;
  EXPECT_FALSE(merge_shard_reports({shard(1, 2, {0, 2, 4}), shard(1, 2, {0, 2, 4}), shard(2, 2, {1, 3})}, &error));
  EXPECT_NE(error.find("shard 1/2 is given twice"), std::string::npos) << error;
}

TEST(ReportMerge, shards_of_another_suite_or_count_are_refused) {
  std::string error;
  EXPECT_FALSE(merge_shard_reports({shard(1, 2, {0, 2, 4}), shard(2, 2, {1, 3}, "other")}, &error));
  EXPECT_NE(error.find("suite other"), std::string::npos) << error;
  EXPECT_FALSE(merge_shard_reports({shard(1, 2, {0, 2, 4}), shard(2, 3, {1, 4})}, &error));
  EXPECT_NE(error.find("3 shards"), std::string::npos) << error;
}

TEST(ReportMerge, an_unsharded_report_is_refused) {
  std::string error;
  ShardInput plain{"plain.json", to_json(mqtth::report::sample::sample_report())};
  EXPECT_FALSE(merge_shard_reports({plain}, &error));
  EXPECT_NE(error.find("plain.json: not the JSON report of a `run --shard K/N`"), std::string::npos) << error;
}

TEST(ReportMerge, suite_fingerprint_depends_on_every_unit_and_its_boundaries) {
  EXPECT_EQ(suite_fingerprint({"a", "bc"}), suite_fingerprint({"a", "bc"}));
  EXPECT_NE(suite_fingerprint({"a", "bc"}), suite_fingerprint({"ab", "c"}));
  EXPECT_NE(suite_fingerprint({"a", "bc"}), suite_fingerprint({"a"}));
  EXPECT_EQ(suite_fingerprint({"a"}).size(), 16u);
}
