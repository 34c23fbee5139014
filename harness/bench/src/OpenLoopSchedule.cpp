#include <mqtth/bench/OpenLoopSchedule.hpp>

#include <algorithm>
#include <cmath>

namespace mqtth::bench {
namespace {

// j / rate < duration for j = 0 .. n-1, i.e. n = ceil(rate x duration); a product that is
// an integer up to floating-point noise (0.3 x 10 = 3.0000000000000004) counts as one.
std::uint64_t count_sends(double rate, double duration_s) {
  const double product = rate * duration_s;
  if (!(product > 0)) return 0;
  const double nearest = std::round(product);
  if (std::fabs(product - nearest) <= 1e-9 * std::max(1.0, nearest)) return std::uint64_t(nearest);
  return std::uint64_t(std::ceil(product));
}

}  // namespace

OpenLoopSchedule::OpenLoopSchedule(std::uint64_t start_ns, double rate, int publishers, double duration_s)
    : start_ns_(start_ns),
      rate_(rate > 0 ? rate : 1),
      publishers_(std::max(1, publishers)),
      total_(rate > 0 ? count_sends(rate, duration_s) : 0) {}

std::uint64_t OpenLoopSchedule::intended_ns(std::uint64_t index) const {
  // From the start every time (not by adding intervals), so rounding never accumulates.
  return start_ns_ + std::uint64_t(std::llround(double(index) * 1e9 / rate_));
}

std::optional<std::uint64_t> OpenLoopSchedule::next_due_ns() const {
  if (finished()) return std::nullopt;
  return intended_ns(next_);
}

std::optional<OpenLoopSchedule::Send> OpenLoopSchedule::pop_due(std::uint64_t now_ns) {
  if (finished()) return std::nullopt;
  const std::uint64_t due = intended_ns(next_);
  if (due > now_ns) return std::nullopt;
  Send s{next_, int(next_ % std::uint64_t(publishers_)), due};
  ++next_;
  return s;
}

void WakeupLead::observe(std::uint64_t armed_ns, std::uint64_t woke_ns) {
  const std::uint64_t delay = woke_ns > armed_ns ? woke_ns - armed_ns : 0;
  delays_[observed_ % kWindow] = delay;
  ++observed_;
  const std::size_t n = std::min(observed_, kWindow);
  std::uint64_t least = delays_[0];
  for (std::size_t i = 1; i < n; ++i) least = std::min(least, delays_[i]);
  lead_ns_ = std::min(least, kMaxLeadNs);
}

}  // namespace mqtth::bench
