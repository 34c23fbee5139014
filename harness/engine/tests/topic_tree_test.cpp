// TopicTree (the engine's subscription index) against the codec's mqtt::topic_matches, an
// independent, linear, level-by-level matcher written from 4.7: same answers on
// thousands of seeded random topics and filters, including empty levels, `$` topics and
// removals.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../src/TopicTree.hpp"
#include "mqtt/codec.hpp"

using mqtth::engine::detail::TopicTree;

namespace {

std::vector<int> matched(const TopicTree<int>& tree, std::string_view topic) {
  std::vector<int> out;
  tree.match(topic, [&](int v) { out.push_back(v); });
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int> linear(const std::vector<std::pair<std::string, int>>& filters, std::string_view topic) {
  std::vector<int> out;
  for (const auto& [filter, value] : filters)
    if (mqtt::topic_matches(filter, topic)) out.push_back(value);
  std::sort(out.begin(), out.end());
  return out;
}

// Random levels from a small alphabet so that filters and topics often share levels.
class RandomNames {
 public:
  explicit RandomNames(unsigned seed) : rng_(seed) {}
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string level() {
    static const char* const kLevels[] = {"a", "b", "c", "", "$SYS", "$x", "dev", "a b", "ä"};
    return kLevels[pick(9)];
  }
  std::string topic() {
    std::string t;
    int levels = 1 + pick(5);
    for (int i = 0; i < levels; ++i) {
      if (i) t += '/';
      t += level();
    }
    if (t.empty()) t = "a";  // a topic name has at least one character (4.7.3)
    return t;
  }
  std::string filter() {
    std::string f;
    int levels = 1 + pick(5);
    for (int i = 0; i < levels; ++i) {
      if (i) f += '/';
      int kind = pick(6);
      if (kind == 0) f += '+';
      else if (kind == 1 && i == levels - 1) f += '#';
      else f += level();
    }
    if (f.empty()) f = "+";
    return f;
  }

 private:
  std::mt19937 rng_;
};

}  // namespace

TEST(TopicTree, hash_matches_the_parent_level_and_everything_below_4_7_1_2) {
  TopicTree<int> tree;
  tree.insert("sport/tennis/player1/#", 1);
  EXPECT_EQ(matched(tree, "sport/tennis/player1"), std::vector<int>{1});
  EXPECT_EQ(matched(tree, "sport/tennis/player1/ranking"), std::vector<int>{1});
  EXPECT_EQ(matched(tree, "sport/tennis/player1/score/wimbledon"), std::vector<int>{1});
  EXPECT_TRUE(matched(tree, "sport/tennis/player2").empty());
}

TEST(TopicTree, plus_matches_exactly_one_level_including_an_empty_one_4_7_1_3) {
  TopicTree<int> tree;
  tree.insert("sport/+/player1", 1);
  tree.insert("+/+", 2);
  tree.insert("/+", 3);
  EXPECT_EQ(matched(tree, "sport/tennis/player1"), std::vector<int>{1});
  EXPECT_TRUE(matched(tree, "sport/tennis/x/player1").empty());
  EXPECT_EQ(matched(tree, "/finance"), (std::vector<int>{2, 3}));
  EXPECT_TRUE(matched(tree, "sport").empty());
}

TEST(TopicTree, leading_wildcards_do_not_match_dollar_topics_MQTT_4_7_2_1) {
  TopicTree<int> tree;
  tree.insert("#", 1);
  tree.insert("+/monitor/Clients", 2);
  tree.insert("$SYS/#", 3);
  tree.insert("$SYS/monitor/+", 4);
  EXPECT_EQ(matched(tree, "$SYS/monitor/Clients"), (std::vector<int>{3, 4}));
  EXPECT_EQ(matched(tree, "x/monitor/Clients"), (std::vector<int>{1, 2}));
}

TEST(TopicTree, erase_removes_one_value_and_keeps_the_others) {
  TopicTree<int> tree;
  tree.insert("a/b", 1);
  tree.insert("a/b", 2);
  tree.insert("a/#", 3);
  EXPECT_EQ(tree.size(), 3u);
  EXPECT_TRUE(tree.erase("a/b", 1));
  EXPECT_FALSE(tree.erase("a/b", 1));
  EXPECT_FALSE(tree.erase("a/c", 2));
  EXPECT_EQ(matched(tree, "a/b"), (std::vector<int>{2, 3}));
  EXPECT_TRUE(tree.erase("a/#", 3));
  EXPECT_TRUE(tree.erase("a/b", 2));
  EXPECT_TRUE(tree.empty());
  EXPECT_TRUE(matched(tree, "a/b").empty());
}

// The differential test: 300 seeds x (up to 60 filters, 40 topics, removals) = 12,000
// topic lookups, each compared with the linear matcher.
TEST(TopicTree, matches_like_the_linear_matcher_on_random_topics_and_filters_4_7) {
  std::size_t lookups = 0, non_empty = 0;
  for (unsigned seed = 1; seed <= 300; ++seed) {
    RandomNames names(seed);
    TopicTree<int> tree;
    std::vector<std::pair<std::string, int>> filters;
    int filter_count = 1 + names.pick(60);
    for (int i = 0; i < filter_count; ++i) {
      std::string f = names.filter();
      ASSERT_TRUE(mqtt::validate_topic_filter(f, mqtt::Version::v5).ok()) << f;
      filters.emplace_back(f, i);
      tree.insert(f, i);
    }
    auto check_all = [&](std::string_view phase) {
      for (int j = 0; j < 20; ++j) {
        std::string topic = names.topic();
        auto want = linear(filters, topic);
        ASSERT_EQ(matched(tree, topic), want) << "seed " << seed << " " << phase << " topic '" << topic << "'";
        ++lookups;
        non_empty += !want.empty();
      }
    };
    check_all("after inserts");
    // Remove about half the filters (the tree prunes emptied branches) and compare again.
    for (std::size_t i = 0; i < filters.size();) {
      if (names.pick(2)) {
        ASSERT_TRUE(tree.erase(filters[i].first, filters[i].second));
        filters.erase(filters.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    ASSERT_EQ(tree.size(), filters.size());
    check_all("after removals");
  }
  // The random names must exercise matches, not only misses.
  EXPECT_EQ(lookups, 12000u);
  EXPECT_GT(non_empty, lookups / 5);
}
