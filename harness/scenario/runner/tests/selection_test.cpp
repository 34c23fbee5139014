#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mqtth/runner/Selection.hpp"

using namespace mqtth::runner;

TEST(Glob, star_question_and_sets) {
  EXPECT_TRUE(glob_match("QoS*", "QoS 2 is exactly once"));
  EXPECT_TRUE(glob_match("*exactly*", "QoS 2 is exactly once"));
  EXPECT_FALSE(glob_match("*exactly", "QoS 2 is exactly once"));
  EXPECT_TRUE(glob_match("QoS ? is*", "QoS 1 is at least once"));
  EXPECT_TRUE(glob_match("QoS [12]*", "QoS 2"));
  EXPECT_FALSE(glob_match("QoS [!12]*", "QoS 2"));
  EXPECT_TRUE(glob_match("QoS [0-1]", "QoS 0"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("?", ""));
  EXPECT_TRUE(glob_match("scenarios/*/retain*.yaml", "scenarios/retain/retain_basic.yaml"));
  EXPECT_TRUE(glob_match("a[b", "a[b"));  // unterminated set is literal
}

TEST(Glob, many_stars_do_not_explode) {
  const std::string text(200, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*b", text));
}

TEST(Selection, filters_match_name_or_file) {
  EXPECT_TRUE(selected_by_filters({}, "n", "f"));
  EXPECT_TRUE(selected_by_filters({"qos*"}, "other", "qos/x.yaml"));
  EXPECT_TRUE(selected_by_filters({"zzz", "Ret*"}, "Retain", "x.yaml"));
  EXPECT_FALSE(selected_by_filters({"zzz"}, "Retain", "x.yaml"));
}

TEST(Selection, exact_names_and_protocol_suffixes_are_literal) {
  // A name pasted from a report, with its protocols-matrix suffix.
  EXPECT_TRUE(pattern_matches("QoS 2 [x] is exactly once [3.1.1]", "QoS 2 [x] is exactly once [3.1.1]", "q.yaml"));
  EXPECT_FALSE(pattern_matches("QoS 2 [x] is exactly once [3.1.1]", "QoS 2 [x] is exactly once [5]", "q.yaml"));
  EXPECT_TRUE(pattern_matches("QoS 2* [5]", "QoS 2 is exactly once [5]", "q.yaml"));
  EXPECT_FALSE(pattern_matches("QoS 2* [5]", "QoS 2 is exactly once [3.1.1]", "q.yaml"));
  EXPECT_FALSE(pattern_matches("QoS 2* [5]", "QoS 2 is exactly once 5", "q.yaml"));
  // Globs as before, on the name or the path; the old escape still works.
  EXPECT_TRUE(pattern_matches("*/qos/*.yaml", "x", "scenarios/qos/q.yaml"));
  EXPECT_TRUE(pattern_matches("QoS 2* [[]5]", "QoS 2 is exactly once [5]", "q.yaml"));
  EXPECT_TRUE(pattern_matches("scenarios/qos/q.yaml", "x", "scenarios/qos/q.yaml"));
  EXPECT_TRUE(selected_by_filters({"nope", "QoS 2 is exactly once [5]"}, "QoS 2 is exactly once [5]", "q.yaml"));
}

TEST(Selection, shards_partition_every_index_exactly_once) {
  for (unsigned n = 1; n <= 5; ++n) {
    for (std::size_t i = 0; i < 23; ++i) {
      int hits = 0;
      for (unsigned k = 1; k <= n; ++k) hits += in_shard(Shard{k, n}, i) ? 1 : 0;
      EXPECT_EQ(hits, 1) << i << " of " << n;
    }
  }
}

TEST(Selection, folders_are_searched_recursively_for_yaml_sorted) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("runner_sel_" + std::to_string(::getpid()));
  fs::create_directories(root / "b" / "c");
  fs::create_directories(root / ".hidden");
  for (auto p : {root / "b" / "c" / "z.yaml", root / "a.yaml", root / "b" / "x.yml", root / "note.txt",
                 root / ".hidden" / "h.yaml", root / std::string(kMutantsAcceptedFile)})
    std::ofstream(p) << "x";
  auto r = collect_scenario_files({root.string(), (root / "missing").string()});
  ASSERT_EQ(r.files.size(), 3u);
  EXPECT_EQ(r.files[0].path, (root / "a.yaml").string());
  EXPECT_EQ(r.files[1].path, (root / "b" / "c" / "z.yaml").string());
  EXPECT_EQ(r.files[2].path, (root / "b" / "x.yml").string());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("missing: no such file"), std::string::npos);
  fs::remove_all(root);
}
