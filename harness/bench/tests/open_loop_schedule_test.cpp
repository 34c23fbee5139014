// OpenLoopSchedule against a fake clock: which sends are due when, with which intended
// time and publisher, and how many in a run (docs/bench.md, "Open loop").
#include <mqtth/bench/OpenLoopSchedule.hpp>

#include <gtest/gtest.h>

#include <vector>

using mqtth::bench::OpenLoopSchedule;

namespace {

constexpr std::uint64_t kStart = 5'000'000'000;  // an arbitrary steady-clock origin, ns
constexpr std::uint64_t kMs = 1'000'000;

std::vector<OpenLoopSchedule::Send> pop_all_due(OpenLoopSchedule& s, std::uint64_t now) {
  std::vector<OpenLoopSchedule::Send> out;
  while (auto send = s.pop_due(now)) out.push_back(*send);
  return out;
}

}  // namespace

TEST(OpenLoopSchedule, AtOneThousandPerSecondSendsAreOneMillisecondApart) {
  OpenLoopSchedule s(kStart, 1000, 1, 1.0);
  for (std::uint64_t j = 0; j < 5; ++j) EXPECT_EQ(s.intended_ns(j), kStart + j * kMs) << j;
  EXPECT_EQ(s.intended_ns(999), kStart + 999 * kMs);
}

TEST(OpenLoopSchedule, AtTenThousandPerSecondSendsAreOneHundredMicrosecondsApart) {
  OpenLoopSchedule s(kStart, 10000, 1, 1.0);
  EXPECT_EQ(s.intended_ns(1), kStart + 100'000);
  EXPECT_EQ(s.intended_ns(7), kStart + 700'000);
}

TEST(OpenLoopSchedule, NothingIsDueBeforeItsIntendedTime) {
  OpenLoopSchedule s(kStart, 1000, 1, 1.0);
  EXPECT_FALSE(s.pop_due(kStart - 1).has_value());
  ASSERT_TRUE(s.pop_due(kStart).has_value());           // send 0 at the start itself
  EXPECT_FALSE(s.pop_due(kStart + kMs - 1).has_value());  // send 1 is 1 ns away
  EXPECT_EQ(s.popped(), 1u);
  const auto next = s.pop_due(kStart + kMs);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->index, 1u);
  EXPECT_EQ(next->intended_ns, kStart + kMs);
}

TEST(OpenLoopSchedule, NextDueIsTheIntendedTimeOfTheNextSendSoTheCallerCanSleepUntilIt) {
  OpenLoopSchedule s(kStart, 1000, 1, 1.0);
  EXPECT_EQ(s.next_due_ns(), kStart);
  s.pop_due(kStart);
  EXPECT_EQ(s.next_due_ns(), kStart + kMs);
  // Asking early does not move it.
  s.pop_due(kStart + 10);
  EXPECT_EQ(s.next_due_ns(), kStart + kMs);
}

TEST(OpenLoopSchedule, ALateWakeupReleasesTheBacklogStampedWithTheIntendedTimesNotTheWakeupTime) {
  // The no-coordinated-omission property: a 3.5 ms stall yields sends 0..3 with their own
  // times, so their latency includes the stall.
  OpenLoopSchedule s(kStart, 1000, 1, 1.0);
  const auto due = pop_all_due(s, kStart + 3 * kMs + kMs / 2);
  ASSERT_EQ(due.size(), 4u);
  for (std::uint64_t j = 0; j < 4; ++j) {
    EXPECT_EQ(due[j].index, j);
    EXPECT_EQ(due[j].intended_ns, kStart + j * kMs);
  }
  EXPECT_EQ(s.next_due_ns(), kStart + 4 * kMs);
}

TEST(OpenLoopSchedule, PublishersTakeTurnsSoEachSendsAtRateOverPublishersStaggered) {
  OpenLoopSchedule s(kStart, 4000, 4, 1.0);  // 1,000/s per publisher
  const auto due = pop_all_due(s, kStart + 2 * kMs - 1);
  ASSERT_EQ(due.size(), 8u);
  for (std::size_t j = 0; j < due.size(); ++j) {
    EXPECT_EQ(due[j].publisher, int(j % 4)) << j;
    EXPECT_EQ(due[j].intended_ns, kStart + j * 250'000) << j;
  }
  // Publisher 1's consecutive sends are 1 ms apart.
  EXPECT_EQ(due[5].intended_ns - due[1].intended_ns, kMs);
}

TEST(OpenLoopSchedule, TotalIsRateTimesDurationWhateverTheClockDid) {
  EXPECT_EQ(OpenLoopSchedule(kStart, 1000, 1, 3.0).total(), 3000u);
  EXPECT_EQ(OpenLoopSchedule(kStart, 10000, 4, 3.0).total(), 30000u);
  EXPECT_EQ(OpenLoopSchedule(kStart, 500, 1, 2.0).total(), 1000u);
  // 0.3 x 10 is 3.0000000000000004 in doubles: still 3 sends (at 0, 3.33 and 6.67 s).
  EXPECT_EQ(OpenLoopSchedule(kStart, 0.3, 1, 10.0).total(), 3u);
  // A fractional product rounds up: sends at 0, 0.4, 0.8 s fit in 1 s at 2.5/s.
  EXPECT_EQ(OpenLoopSchedule(kStart, 2.5, 1, 1.0).total(), 3u);

  OpenLoopSchedule s(kStart, 1000, 2, 0.01);
  const auto all = pop_all_due(s, kStart + 3'600 * 1000 * kMs);  // an hour late
  EXPECT_EQ(all.size(), 10u);
  EXPECT_TRUE(s.finished());
  EXPECT_FALSE(s.next_due_ns().has_value());
  EXPECT_FALSE(s.pop_due(UINT64_MAX).has_value());
}

TEST(OpenLoopSchedule, LongRunsDoNotDriftBecauseEveryTimeIsComputedFromTheStart) {
  // 3 msg/s: 1/3 s is not a whole number of ns; summing intervals would drift by ~1 ns per send.
  OpenLoopSchedule s(kStart, 3, 1, 1e6);
  EXPECT_EQ(s.intended_ns(3'000'000), kStart + 1'000'000ull * 1'000'000'000ull);
  EXPECT_EQ(s.intended_ns(1), kStart + 333'333'333);
  EXPECT_EQ(s.intended_ns(2), kStart + 666'666'667);
}

TEST(OpenLoopSchedule, AZeroOrNegativeRateSchedulesNothing) {
  OpenLoopSchedule s(kStart, 0, 1, 10.0);
  EXPECT_EQ(s.total(), 0u);
  EXPECT_TRUE(s.finished());
  EXPECT_FALSE(s.pop_due(UINT64_MAX).has_value());
}

using mqtth::bench::WakeupLead;

TEST(WakeupLead, BeforeAnyWakeupTheTimerIsArmedAtTheIntendedTime) {
  WakeupLead lead;
  EXPECT_EQ(lead.lead_ns(), 0u);
  EXPECT_EQ(lead.arm_at(kStart), kStart);
}

TEST(WakeupLead, ArmsEarlierByTheSmallestRecentWakeupDelay) {
  WakeupLead lead;
  lead.observe(kStart, kStart + 45'000);
  lead.observe(kStart + kMs, kStart + kMs + 38'000);
  lead.observe(kStart + 2 * kMs, kStart + 2 * kMs + 52'000);
  EXPECT_EQ(lead.lead_ns(), 38'000u);
  EXPECT_EQ(lead.arm_at(kStart + 3 * kMs), kStart + 3 * kMs - 38'000);
}

TEST(WakeupLead, ForgetsADelayOlderThanTheWindow) {
  WakeupLead lead;
  lead.observe(kStart, kStart + 10'000);  // one unusually quick wakeup
  for (std::size_t i = 1; i < WakeupLead::kWindow; ++i) lead.observe(kStart, kStart + 40'000);
  EXPECT_EQ(lead.lead_ns(), 10'000u);     // still in the window
  lead.observe(kStart, kStart + 40'000);  // pushes it out
  EXPECT_EQ(lead.lead_ns(), 40'000u);
}

TEST(WakeupLead, LeadIsCappedSoASpinNeverCostsMoreThanTheCap) {
  WakeupLead lead;
  for (std::size_t i = 0; i < WakeupLead::kWindow; ++i) lead.observe(kStart, kStart + 5 * kMs);  // a stalled loop
  EXPECT_EQ(lead.lead_ns(), WakeupLead::kMaxLeadNs);
}

TEST(WakeupLead, AWakeupBeforeTheArmedTimeCountsAsNoDelay) {
  WakeupLead lead;
  lead.observe(kStart, kStart + 30'000);
  lead.observe(kStart + kMs, kStart + kMs - 5);  // woken early by another event
  EXPECT_EQ(lead.lead_ns(), 0u);
  EXPECT_EQ(lead.arm_at(100), 100u);
}

TEST(WakeupLead, ArmingNeverUnderflowsBeforeTheClockOrigin) {
  WakeupLead lead;
  lead.observe(0, 50'000);
  EXPECT_EQ(lead.arm_at(20'000), 0u);
}

using mqtth::bench::PeriodicTimerPlan;

TEST(PeriodicTimerPlan, TheExpiryThatWokeTheSenderIsBasePlusPeriodsFired) {
  PeriodicTimerPlan t;
  t.armed(kStart, kMs);
  t.expired(1);
  EXPECT_EQ(t.last_expiry_ns(), kStart);
  EXPECT_EQ(t.next_expiry_ns(), kStart + kMs);
  t.expired(3);  // a stalled loop: the kernel counted three expirations in one read
  EXPECT_EQ(t.last_expiry_ns(), kStart + 3 * kMs);
  EXPECT_EQ(t.next_expiry_ns(), kStart + 4 * kMs);
}

TEST(PeriodicTimerPlan, KeepsTheTimerWhileTheNextExpiryIsWithinToleranceOfTheWantedTime) {
  PeriodicTimerPlan t;
  t.armed(kStart, kMs);
  t.expired(1);
  EXPECT_TRUE(t.keeps(kStart + kMs));
  EXPECT_TRUE(t.keeps(kStart + kMs + PeriodicTimerPlan::kToleranceNs));
  EXPECT_TRUE(t.keeps(kStart + kMs - PeriodicTimerPlan::kToleranceNs));
  EXPECT_FALSE(t.keeps(kStart + kMs + PeriodicTimerPlan::kToleranceNs + 1));
  EXPECT_FALSE(t.keeps(kStart + 2 * kMs));  // a backlog skipped a send: re-arm
}

TEST(PeriodicTimerPlan, AOneShotTimerThatFiredOrADisarmedTimerKeepsNothing) {
  PeriodicTimerPlan once;
  once.armed(kStart, 0);
  EXPECT_TRUE(once.keeps(kStart));
  once.expired(1);
  EXPECT_FALSE(once.next_expiry_ns().has_value());
  EXPECT_FALSE(once.keeps(kStart));

  PeriodicTimerPlan off;
  EXPECT_FALSE(off.keeps(kStart));
  off.armed(kStart, kMs);
  off.disarmed();
  EXPECT_FALSE(off.keeps(kStart));
}

TEST(PeriodicTimerPlan, AScheduleAtAWholeNanosecondPeriodNeverNeedsARearm) {
  // 10,000/s: sends every 100,000 ns exactly, the timer's period; with a constant lead the
  // wanted wakeups are the expiries, so the timer is armed once for the whole run.
  OpenLoopSchedule s(kStart, 10000, 1, 1.0);
  const std::uint64_t lead = 40'000;
  PeriodicTimerPlan t;
  t.armed(s.intended_ns(0) - lead, 100'000);
  for (std::uint64_t j = 0; j < s.total(); ++j) {
    t.expired(1);
    ASSERT_TRUE(s.pop_due(t.last_expiry_ns() + lead).has_value()) << j;
    if (const auto next = s.next_due_ns()) {
      ASSERT_TRUE(t.keeps(*next - lead)) << j;
    }
  }
  EXPECT_TRUE(s.finished());
}
