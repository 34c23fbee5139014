// The reproducer a finding is written as (Reproducer.cpp) loads in the scenario loader
// for every kind, also for cases minimised to nothing.
#include "Findings.hpp"

#include <mqtth/scenario/Loader.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace {

using mqtth::netfuzz::Case;
using mqtth::netfuzz::Finding;

std::vector<std::string> step_kinds(const mqtth::scenario::Scenario& s) {
  std::vector<std::string> out;
  for (const auto& step : s.steps) out.emplace_back(mqtth::scenario::step_kind_name(step.kind()));
  return out;
}

class Reproducer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mqtth-reproducer-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  mqtth::scenario::LoadResult written(const std::string& kind, const Finding& finding) {
    const auto name = mqtth::netfuzz::write_reproducer(dir_.string(), 1, kind, "sig", mqtt::Version::v5, finding);
    return mqtth::scenario::load_file(dir_ / name);
  }

  std::filesystem::path dir_;
};

const std::string kConnect("\x10\x0d\x00\x04MQTT\x05\x02\x00\x00\x00\x00\x00", 15);
const std::string kPingreq("\xc0\x00", 2);

TEST_F(Reproducer, earlier_cases_then_the_case_then_the_liveness_probe) {
  const auto loaded = written("crash", Finding{{Case{{kConnect}, {}, {}}, Case{{kConnect, kPingreq}, {}, {}}}, Case{{kConnect}, {}, {}}});
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  // Each connection half-closed where the fuzz run closed it: after its case's packets.
  EXPECT_EQ(step_kinds(loaded.scenarios.at(0)),
            (std::vector<std::string>{"send_raw", "disconnect", "send_raw", "send_raw", "disconnect", "send_raw",
                                      "disconnect", "send_raw", "expect_connack", "expect_packet"}));
}

// A stateful case: one client per connection, the wait at the end of a turn, the closes
// where the case made them and at its end.
TEST_F(Reproducer, a_stateful_case_is_a_multi_client_scenario) {
  Case c{{kConnect, kPingreq, kConnect, "", kPingreq}, {}, {0, 0, 1, 0, 1}};
  const auto loaded = written("crash", Finding{{}, c});
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  const auto& s = loaded.scenarios.at(0);
  // The turn of raw_c1 (CONNECT) ends with a PINGREQ of the execution's own.
  EXPECT_EQ(step_kinds(s), (std::vector<std::string>{"send_raw", "send_raw", "any_of", "send_raw", "send_raw", "any_of",
                                                     "disconnect", "send_raw", "disconnect", "send_raw",
                                                     "expect_connack", "expect_packet"}));
  std::vector<std::string> clients;
  for (const auto& client : s.clients) clients.push_back(client.name);
  EXPECT_EQ(clients, (std::vector<std::string>{"raw_c0", "raw_c1", "probe"}));
}

// A pause of the case is a sleep step, not a client.
TEST_F(Reproducer, a_pause_is_a_sleep) {
  Case c{{kConnect, kPingreq, "1200", kConnect}, {}, {0, 0, Case::kClock, 1}};
  const auto loaded = written("crash", Finding{{}, c});
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  EXPECT_EQ(step_kinds(loaded.scenarios.at(0)),
            (std::vector<std::string>{"send_raw", "send_raw", "any_of", "sleep", "send_raw", "disconnect", "disconnect",
                                      "send_raw", "expect_connack", "expect_packet"}));
  EXPECT_EQ(loaded.scenarios.at(0).clients.size(), 3u);
}

TEST_F(Reproducer, a_malformed_case_expects_the_broker_to_close_it) {
  const auto loaded = written("spec_accepted_malformed", Finding{{}, Case{{kConnect, kPingreq}, {}, {}}});
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  EXPECT_EQ(step_kinds(loaded.scenarios.at(0)),
            (std::vector<std::string>{"send_raw", "send_raw", "expect_disconnect", "send_raw", "expect_connack",
                                      "expect_packet"}));
}

// Minimisation can leave a case with no packet: the file must still load (no step for it).
TEST_F(Reproducer, cases_minimised_to_nothing_still_load) {
  for (const std::string kind : {"crash", "hang", "sanitizer", "spec_invalid_bytes", "spec_accepted_malformed"}) {
    const auto loaded = written(kind, Finding{{Case{}}, Case{}});
    ASSERT_TRUE(loaded.ok()) << kind << ": " << loaded.errors.front().to_string();
  }
}

}  // namespace
