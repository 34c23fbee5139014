#include <mqtth/bench/Histogram.hpp>

#include <algorithm>
#include <bit>
#include <cmath>

namespace mqtth::bench {

Histogram::Histogram() : counts_(kBucketCount, 0) {}

std::size_t Histogram::index_of(std::uint64_t value) noexcept {
  if (value < kExactLimit) return static_cast<std::size_t>(value);
  const int msb = 63 - std::countl_zero(value);  // >= 8
  const int shift = msb - 7;                       // value >> shift is in [128, 255]
  return kExactLimit + static_cast<std::size_t>(shift - 1) * kSubBuckets +
         static_cast<std::size_t>((value >> shift) - kSubBuckets);
}

std::uint64_t Histogram::lowest_equivalent(std::size_t index) noexcept {
  if (index < kExactLimit) return index;
  const std::size_t above = index - kExactLimit;
  const int shift = static_cast<int>(above / kSubBuckets) + 1;
  const std::uint64_t sub = kSubBuckets + above % kSubBuckets;
  return sub << shift;
}

std::uint64_t Histogram::highest_equivalent(std::size_t index) noexcept {
  if (index < kExactLimit) return index;
  const int shift = static_cast<int>((index - kExactLimit) / kSubBuckets) + 1;
  return lowest_equivalent(index) + ((std::uint64_t{1} << shift) - 1);
}

void Histogram::record(std::uint64_t value, std::uint64_t times) noexcept {
  if (times == 0) return;
  counts_[index_of(value)] += times;
  count_ += times;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value) * static_cast<long double>(times);
}

void Histogram::add(const Histogram& other) noexcept {
  for (std::size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  if (other.count_) {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  sum_ += other.sum_;
}

void Histogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

void Histogram::restore_max(std::uint64_t exact_max) noexcept {
  if (count_ && index_of(exact_max) == index_of(max_)) max_ = exact_max;
}

double Histogram::mean() const noexcept {
  return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

std::uint64_t Histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 100.0);
  // Nearest rank: at least ceil(q% of count) values at or below the answer, and rank >= 1.
  auto rank = static_cast<std::uint64_t>(std::ceil(q / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highest_equivalent(i), min(), max_);
  }
  return max_;
}

}  // namespace mqtth::bench
