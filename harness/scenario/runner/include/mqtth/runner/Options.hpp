// Command line of `mqtt-harness run` (docs/runner.md; exit status: docs/architecture.md "Contracts").
//
// Parsing is plain C++ (no Qt) so it is unit-tested without an event loop. Every bad
// argument is an error naming the option and what is wrong; the caller exits 2.
#pragma once

#include <mqtth/common/BrokerAddress.hpp>
#include <mqtth/common/HostPort.hpp>
#include <mqtth/tls/TlsOptions.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtth/runner/Prefix.hpp"

namespace mqtth::runner {

// Where --broker BROKER-URL points (mqtth/common/BrokerAddress.hpp; IPv6 as [::1]:1883);
// the transport is RunOptions::transport.
using Endpoint = common::HostPort;

struct Shard {
  unsigned index = 1;  // K in K/N, 1-based
  unsigned count = 1;  // N
};

// When `run --spawn` restarts the broker it started (docs/runner.md "The runner owns the
// broker"): after it crashed or stalled, or also around every scenario.
enum class RestartPolicy : std::uint8_t { on_crash, per_scenario };
std::string_view to_string(RestartPolicy);  // "on-crash" "per-scenario"

struct RunOptions {
  std::vector<std::string> paths;          // scenario files or folders
  std::optional<Endpoint> broker;          // --broker BROKER-URL; nullopt: embedded broker
  common::Transport transport = common::Transport::mqtt;  // the scheme of --broker
  tls::ClientOptions tls;                  // --cafile --cert --key --tls-server-name --insecure (mqtts:// only)
  std::optional<std::string> protocol;     // --protocol "3.1.1" | "5"
  unsigned jobs = 1;                       // -j N
  std::optional<std::string> junit_file;   // --junit FILE
  std::optional<std::string> json_file;    // --json FILE
  std::optional<std::string> html_file;    // --html FILE
  std::optional<std::string> mutants_json_file;  // --mutants-json FILE (docs/reports.md)
  std::optional<std::string> pcap_dir;     // --pcap DIR: one pcap per client connection
  std::optional<std::string> explore;      // --explore cut_points: explore every scenario
  std::optional<unsigned> explore_max_runs; // --explore-max-runs N
  std::optional<std::uint64_t> seed;       // --seed N; nullopt: derived from the clock
  std::vector<std::string> filters;        // --filter PATTERN (repeatable: any may match; Selection.hpp)
  std::optional<Shard> shard;              // --shard K/N
  std::optional<std::string> profile_file; // --profile FILE
  // --prefix TEMPLATE|none: names on a shared broker (Prefix.hpp); "none": as written.
  std::string prefix{kDefaultPrefixTemplate};
  // --spawn [--restart ...] -- CMD...: the runner starts the broker with this command
  // (every `{port}` in it becomes the port it listens on); empty: not spawned.
  std::vector<std::string> spawn;
  RestartPolicy restart = RestartPolicy::on_crash;
  // --client -- CMD...: the client under test for `role: server` scenarios (docs/clients.md);
  // `{host}` and `{port}` in it become the harness's listening address.
  std::vector<std::string> client;
  std::optional<std::string> suppressions_file;  // --suppressions FILE (with --spawn)
  std::optional<std::uint64_t> rss_growth_limit_mib;  // --rss-growth-limit MIB|off (0) (with --spawn)
  std::optional<int> stall_threshold_ms;             // --stall-threshold DURATION|off (0) (with --spawn)
  bool help = false;
  bool quiet = false;                      // -q: no per-scenario progress lines
};

struct ParseResult {
  RunOptions options;
  std::optional<std::string> error;  // "--shard: expected K/N with 1 <= K <= N, got '0/2'"
  bool ok() const { return !error.has_value(); }
};

// args excludes the sub-command name ("run").
ParseResult parse_run_args(const std::vector<std::string>& args);

// "K/N" with 1 <= K <= N.
std::optional<Shard> parse_shard(const std::string& text);

// The text of `mqtt-harness run --help`.
const char* run_usage();

}  // namespace mqtth::runner
