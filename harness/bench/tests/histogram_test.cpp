// Histogram against exact nearest-rank percentiles of known data (computed here from the
// sorted values, independently of the bucket code).
#include <mqtth/bench/Histogram.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using mqtth::bench::Histogram;

namespace {

// Nearest-rank percentile (the textbook definition): the value at 1-based rank ceil(q/100*n).
std::uint64_t exact_percentile(std::vector<std::uint64_t> values, double q) {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(q / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  return values[rank - 1];
}

}  // namespace

TEST(Histogram, EmptyReportsZeroEverywhere) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
}

TEST(Histogram, ValuesBelow256AreExact_OneToHundred) {
  Histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  // Nearest rank over 1..100: the q-th percentile is q itself.
  EXPECT_EQ(h.percentile(50), 50u);
  EXPECT_EQ(h.percentile(90), 90u);
  EXPECT_EQ(h.percentile(99), 99u);
  EXPECT_EQ(h.percentile(99.9), 100u);  // ceil(99.9) = rank 100
  EXPECT_EQ(h.percentile(100), 100u);
  EXPECT_EQ(h.percentile(0), 1u);       // rank clamps to 1
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(Histogram, SingleValueIsReportedExactlyThroughMaxClamp) {
  Histogram h;
  h.record(123'456'789);
  EXPECT_EQ(h.percentile(50), 123'456'789u);
  EXPECT_EQ(h.percentile(99.9), 123'456'789u);
}

TEST(Histogram, BucketsTileTheRangeWithoutGapsAndWithinOnePart128) {
  for (std::size_t i = 1; i < Histogram::kBucketCount; ++i) {
    ASSERT_EQ(Histogram::lowest_equivalent(i), Histogram::highest_equivalent(i - 1) + 1) << i;
    const double width = double(Histogram::highest_equivalent(i) - Histogram::lowest_equivalent(i) + 1);
    if (i < Histogram::kExactLimit) ASSERT_EQ(width, 1.0) << i;  // exact below 256
    else ASSERT_LE(width / double(Histogram::lowest_equivalent(i)), 1.0 / 128 + 1e-12) << i;
  }
  EXPECT_EQ(Histogram::highest_equivalent(Histogram::kBucketCount - 1), UINT64_MAX);
  for (std::uint64_t v : std::initializer_list<std::uint64_t>{0, 255, 256, 257, 1000, std::uint64_t{1} << 40, UINT64_MAX}) {
    const auto i = Histogram::index_of(v);
    EXPECT_LE(Histogram::lowest_equivalent(i), v);
    EXPECT_GE(Histogram::highest_equivalent(i), v);
  }
}

TEST(Histogram, PercentilesOfLogNormalLatenciesWithinTwoSignificantDigits) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> latency_ns(std::log(200'000.0), 1.0);  // ~200 us median
  std::vector<std::uint64_t> values;
  Histogram h;
  for (int i = 0; i < 100'000; ++i) {
    const auto v = static_cast<std::uint64_t>(latency_ns(rng));
    values.push_back(v);
    h.record(v);
  }
  for (double q : {50.0, 90.0, 99.0, 99.9, 99.99}) {
    const double exact = double(exact_percentile(values, q));
    const double got = double(h.percentile(q));
    EXPECT_GE(got, exact) << q;  // the highest equivalent value is never below the value
    EXPECT_LE((got - exact) / exact, 1.0 / 128) << q;
  }
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_EQ(h.percentile(100), h.max());
}

TEST(Histogram, AddMergesCountsMinMax) {
  Histogram a, b;
  for (std::uint64_t v = 1; v <= 50; ++v) a.record(v);
  for (std::uint64_t v = 51; v <= 100; ++v) b.record(v);
  a.add(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.percentile(50), 50u);
  EXPECT_EQ(a.max(), 100u);
  a.reset();
  EXPECT_EQ(a.count(), 0u);
}
