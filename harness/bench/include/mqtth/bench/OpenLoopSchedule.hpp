// Open-loop send schedule (`mqtt-harness bench --rate R --duration S`), sans-I/O.
//
// The run is one global sequence of R x S sends (rounded up): send j is due at
// `start + j / R` seconds and belongs to publisher `j mod P`, so each publisher sends at
// R / P msg/s and the publishers are staggered instead of firing together. The caller owns
// the clock: it asks next_due_ns() when to wake up and pops every send whose intended time
// has come. A send keeps its *intended* time whatever the clock says when it is popped:
// latency measured from that time includes any lateness of the sender or stall of the
// broker, so a stall shows up as latency of every send it delayed (no coordinated
// omission) and the number of sends does not depend on how fast the machine was.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace mqtth::bench {

class OpenLoopSchedule {
 public:
  struct Send {
    std::uint64_t index = 0;        // j, 0-based over all publishers
    int publisher = 0;              // j mod publishers
    std::uint64_t intended_ns = 0;  // start + j / rate
  };

  // rate: messages/s over all publishers (> 0); publishers >= 1; duration_s > 0.
  OpenLoopSchedule(std::uint64_t start_ns, double rate, int publishers, double duration_s);

  // Sends in the whole run: the number of j with j / rate < duration_s.
  std::uint64_t total() const { return total_; }
  std::uint64_t popped() const { return next_; }
  bool finished() const { return next_ >= total_; }

  // Intended time of the next send, nullopt once every send was popped.
  std::optional<std::uint64_t> next_due_ns() const;
  // The next send if its intended time is <= now_ns, else nullopt (and nothing changes).
  std::optional<Send> pop_due(std::uint64_t now_ns);

  std::uint64_t intended_ns(std::uint64_t index) const;

 private:
  std::uint64_t start_ns_;
  double rate_;
  int publishers_;
  std::uint64_t total_;
  std::uint64_t next_ = 0;
};

// How early to ask the OS for a wakeup so the send can leave at its intended time.
//
// A timer wakeup arrives some tens of µs after the time asked for (on this project's VM a
// bare timerfd loop sees 35-50 µs). WakeupLead remembers the delays of the last kWindow
// wakeups and asks min(delay) earlier; the sender then spins the few µs left, if any, up
// to the intended time. Arming by the *smallest* recent delay means that almost every
// wakeup arrives at or after the intended time (no spin at all); the sender is late by
// delay - min(delay), the wakeup jitter, instead of by the whole delay. The lead is capped
// at kMaxLeadNs, so a spin never costs more than that per send.
class WakeupLead {
 public:
  static constexpr std::uint64_t kMaxLeadNs = 200'000;
  static constexpr std::size_t kWindow = 64;

  // 0 before the first observation (then the wakeup is asked for at the intended time).
  std::uint64_t lead_ns() const { return lead_ns_; }
  // When to arm the timer for a send intended at intended_ns.
  std::uint64_t arm_at(std::uint64_t intended_ns) const {
    return intended_ns > lead_ns_ ? intended_ns - lead_ns_ : 0;
  }
  // A wakeup asked for at armed_ns arrived at woke_ns.
  void observe(std::uint64_t armed_ns, std::uint64_t woke_ns);

 private:
  std::array<std::uint64_t, kWindow> delays_{};
  std::size_t observed_ = 0;
  std::uint64_t lead_ns_ = 0;
};

// Bookkeeping for a periodic kernel timer (a timerfd with it_interval) that wakes the
// sender: which expiry woke it, and whether the next expiry is close enough to the wanted
// wakeup time to leave the timer alone. Re-arming costs a timerfd_settime per send, which
// on this project's VM (every timer reprogram is a VM exit) was about a sixth of the
// harness's CPU time at 10,000 msg/s; a periodic timer is re-armed only when the wanted
// times drift from its expiries (rounding of 1/rate, a new WakeupLead, a backlog).
class PeriodicTimerPlan {
 public:
  static constexpr std::uint64_t kToleranceNs = 3'000;

  // The timer was set to expire at first_ns and every period_ns after (period 0: once).
  void armed(std::uint64_t first_ns, std::uint64_t period_ns) {
    base_ns_ = first_ns;
    period_ns_ = period_ns;
    fired_ = 0;
    active_ = true;
  }
  void disarmed() { active_ = false; }
  // The kernel reported `count` expirations (a timerfd read).
  void expired(std::uint64_t count) { fired_ += count; }

  // The latest expiry reported so far (the one that woke the sender).
  std::uint64_t last_expiry_ns() const { return base_ns_ + (fired_ > 0 ? fired_ - 1 : 0) * period_ns_; }
  // When the timer will expire next, if it still will.
  std::optional<std::uint64_t> next_expiry_ns() const {
    if (!active_ || (period_ns_ == 0 && fired_ > 0)) return std::nullopt;
    return base_ns_ + fired_ * period_ns_;
  }
  // True when the next expiry is within kToleranceNs of wanted_ns: no re-arm needed.
  bool keeps(std::uint64_t wanted_ns) const {
    const auto next = next_expiry_ns();
    if (!next) return false;
    return (*next > wanted_ns ? *next - wanted_ns : wanted_ns - *next) <= kToleranceNs;
  }

 private:
  std::uint64_t base_ns_ = 0;
  std::uint64_t period_ns_ = 0;
  std::uint64_t fired_ = 0;
  bool active_ = false;
};

}  // namespace mqtth::bench
