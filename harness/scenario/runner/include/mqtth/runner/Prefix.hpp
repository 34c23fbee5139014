// Per-run name prefixing for runs against a shared broker (`--broker`).
//
// Several runs (CI jobs, -j workers, people) may use one broker at once; scenarios are
// written with plain names ("sub", "t/a"). With --broker the runner rewrites them so runs
// never see each other's sessions, retained messages or deliveries:
//   client id   "sub-1"           -> "<p>-sub-1"
//   topic name  "t/a"             -> "<p>/t/a"
//   filter      "t/#", "#", "+/x" -> "<p>/t/#", "<p>/#", "<p>/+/x"
//   shared      "$share/g/t/#"    -> "$share/g/<p>/t/#"  (the prefix goes after the group:
//                                    4.8.2, the filter part is what is matched)
//   "$"-topics  "$SYS/broker/..." -> unchanged (server topics; a client cannot create them,
//                                    and a leading wildcard never matches them, 4.7.2)
//   empty client id               -> unchanged (the broker assigns one, 3.1.3.3)
// The embedded broker is fresh per scenario, so no prefix is used there (Prefix{} is the
// identity).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mqtth::runner {

class Prefix {
 public:
  Prefix() = default;  // identity
  explicit Prefix(std::string prefix) : prefix_(std::move(prefix)) {}

  bool active() const { return !prefix_.empty(); }
  const std::string& text() const { return prefix_; }

  std::string client_id(std::string_view id) const;
  std::string topic(std::string_view topic) const;
  std::string filter(std::string_view filter) const;
  // Inverse of topic(): "<p>/t/a" -> "t/a"; other topics unchanged.
  std::string strip_topic(std::string_view topic) const;
  std::string strip_client_id(std::string_view id) const;

 private:
  std::string prefix_;
};

// A short prefix, unique per run with high probability: "mh" + 6 hex digits from `seed`
// mixed with the process id and clock. The runner appends ".<scenario index>" so that
// scenarios of one run (also with -j) never share client ids, sessions or retained
// messages either. Short because 3.1.1 servers need only accept client ids of up to 23
// bytes (MQTT-3.1.3-5).
std::string make_run_prefix(unsigned long long seed);
// "<run prefix>.<index>": the prefix of one scenario of the run.
std::string scenario_prefix(const std::string& run_prefix, std::size_t index);

}  // namespace mqtth::runner
