#include <gtest/gtest.h>

#include "mqtth/report/Report.hpp"

using namespace mqtth::report;

TEST(ReportModel, recount_counts_each_status) {
  RunReport r;
  for (Status s : {Status::passed, Status::passed, Status::failed, Status::skipped, Status::error}) {
    ScenarioResult sc;
    sc.status = s;
    r.scenarios.push_back(sc);
  }
  recount(r);
  EXPECT_EQ(r.summary.passed, 2);
  EXPECT_EQ(r.summary.failed, 1);
  EXPECT_EQ(r.summary.skipped, 1);
  EXPECT_EQ(r.summary.errors, 1);
}
