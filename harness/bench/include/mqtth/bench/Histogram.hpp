// Histogram: a small log-linear latency histogram in the style of HdrHistogram.
//
// Values are unsigned 64-bit (the benchmark records nanoseconds). Values below 256 are
// counted exactly; above, each power-of-two range [2^k, 2^(k+1)) is split into 128 equal
// sub-buckets, so a recorded value is known to within 1/128 (< 0.8 %) of itself: two
// significant decimal digits, like HdrHistogram with numberOfSignificantValueDigits = 2.
// Recording is O(1) and allocation-free; the whole range of uint64 takes 7,424 counters.
//
// Percentiles use the nearest-rank definition: percentile(q) is the smallest recorded
// value v such that at least ceil(q/100 * count) values are <= v, reported as the highest
// value equivalent to v's bucket (as HdrHistogram does), clamped to the exact max.
//
// Thread-safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mqtth::bench {

class Histogram {
 public:
  Histogram();

  void record(std::uint64_t value) noexcept { record(value, 1); }
  void record(std::uint64_t value, std::uint64_t times) noexcept;
  // Adds every count of `other` (same layout by construction).
  void add(const Histogram& other) noexcept;
  void reset() noexcept;
  // Sets the exact max when it is known from elsewhere (an HdrHistogram interval log's max
  // column) after counts were recorded at bucket values; ignored unless it lies in the
  // bucket of the current max.
  void restore_max(std::uint64_t exact_max) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }  // exact
  std::uint64_t max() const noexcept { return max_; }               // exact
  double mean() const noexcept;                                       // exact (sum / count)
  // q in [0, 100]; 0 when empty.
  std::uint64_t percentile(double q) const noexcept;

  // Bucket layout, exposed for plots and tests.
  static std::size_t index_of(std::uint64_t value) noexcept;
  static std::uint64_t lowest_equivalent(std::size_t index) noexcept;
  static std::uint64_t highest_equivalent(std::size_t index) noexcept;
  static constexpr std::size_t kExactLimit = 256;    // values below are exact
  static constexpr std::size_t kSubBuckets = 128;    // per power of two above
  static constexpr std::size_t kBucketCount = 256 + 56 * 128;
  const std::vector<std::uint64_t>& counts() const noexcept { return counts_; }

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace mqtth::bench
