// Live-broker fuzzer (`mqtt-harness fuzz`): generates MQTT packet sequences from the
// codec's packet model, sends each as one TCP connection to a running broker, and watches
// three oracles: liveness (a PINGREQ on a persistent probe connection after each case, a
// fresh CONNECT + PINGREQ every few hundred cases and before any hang is reported), the
// spawned broker process (exit / sanitizer report on stderr), and spec conformance of the
// bytes the broker sends back. Findings are attributed by replaying recent cases on a
// fresh broker, minimised and saved as `send_raw` scenarios.
//
// Plain POSIX sockets, no Qt: each worker is a blocking sequence of short connections,
// which an event loop would only slow down. `-j N` runs N such workers as threads.
#pragma once

#include <mqtt/codec.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqtth::netfuzz {

// Deterministic PRNG (splitmix64): the same seed gives the same cases on every platform,
// unlike std::uniform_int_distribution whose output is implementation-defined.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  std::uint32_t below(std::uint32_t n) { return n == 0 ? 0 : static_cast<std::uint32_t>(next() % n); }
  bool chance(std::uint32_t percent) { return below(100) < percent; }

 private:
  std::uint64_t state_;
};

// One case: the raw packets sent, in order. `mutations` says what was done to the valid
// session the case started from (for the finding report).
//
// A stateful case (docs/netfuzz.md "Stateful cases") spreads its packets over up to
// kMaxConnections connections: packet i goes on connection `connection[i]`, opened at its
// first packet; an empty packet is that connection's close where the run closed it (a
// half-close, then the broker's close is waited for). An entry on `kClock` is no packet
// but a pause: its bytes are the milliseconds to wait, in decimal (time for expiry and
// will delay to pass). `connection` empty: one connection.
struct Case {
  static constexpr std::uint8_t kMaxConnections = 4;
  static constexpr std::uint8_t kClock = 0xFF;
  std::vector<std::string> packets;
  std::vector<std::string> mutations;
  std::vector<std::uint8_t> connection;

  bool stateful() const { return !connection.empty(); }
  std::uint8_t connection_of(std::size_t i) const { return stateful() ? connection[i] : 0; }
  // The case without packet i (its connection entry goes with it).
  Case without(std::size_t i) const;
  // The case without every packet (and close) of connection `k`.
  Case without_connection(std::uint8_t k) const;
  // The connections it uses, in the order they are first used (the clock is none).
  std::vector<std::uint8_t> connections() const;
  // The pause entry `i` stands for, when connection[i] is kClock (digits only; 0 if none).
  static int pause_ms(const std::string& entry);
};

// Case number `index` of the run with `seed`: a pure function of (seed, index, version),
// so a case can be regenerated from its number. `stateful`: a multi-connection case
// (generate_stateful_case) instead of a one-connection one.
Case generate_case(std::uint64_t seed, std::uint64_t index, mqtt::Version version, bool stateful = false);

// A stateful case: 2-4 connections (a subscriber, a publisher, a takeover of the
// subscriber's client id while it is connected, a reconnect that resumes its session,
// a refused CONNECT carrying every optional part) and a sequence over subscription state
// (plain, wildcard, shared, `$` topics, retained set and cleared), wills with delay and
// expiry, session expiry, now and then a pause (kClock) for those to run out, QoS 1/2 flows left half done, unsubscribe while in flight; any
// packet type (server-to-client ones and reserved types included) sent before CONNECT,
// on a live session, after a takeover and on a resumed session; size extremes (0 and
// 65535 bytes) on length-bearing fields. Where the next entry goes on another connection
// the executor ends the turn with a PINGREQ and waits for its PINGRESP, so the broker sees
// the turns in order. Deterministic in (seed, index, version).
Case generate_stateful_case(std::uint64_t seed, std::uint64_t index, mqtt::Version version);

// The valid opening every probe uses: CONNECT (clean, client id `client_id`) + PINGREQ.
std::string probe_bytes(mqtt::Version version, const std::string& client_id);

// One byte-level minimisation step: `packet` with `count` bytes at `at` removed (`raw`),
// and, when the removed bytes lie after the fixed header, the same with the packet's
// Remaining Length lowered by `count` and re-encoded (2.2.3, the codec's varint encoder):
// the reproducer stays well-framed, and a length that was off by k on purpose stays off
// by k. Minimisation tries `refitted` first and `raw` second, so a finding that needs
// the stale length still shrinks.
struct ByteRemoval {
  std::string raw;
  std::optional<std::string> refitted;
};
ByteRemoval remove_bytes(std::string_view packet, std::size_t at, std::size_t count);

// Structure-aware minimisation steps, tried before the byte steps: for a packet the codec
// parses completely in `version` (one it accepts, or one that only breaks a rule of
// meaning, mqtt::parsed_completely), the packet without one of its parts, re-encoded by
// the codec (so it stays well-framed and every length in it stays right): one property of the packet or of
// its will, one subscription or UNSUBSCRIBE filter (when there are several), the PUBLISH
// payload, the will (or only its payload or its properties), the user name with the password,
// or the password alone. Parts go last to first, each candidate strictly shorter than the
// packet; a candidate the codec refuses to encode is left out. Empty for a packet whose
// parsing stopped (malformed): the byte steps shrink those.
std::vector<std::string> structural_removals(std::string_view packet, mqtt::Version version);

// What replaying one written reproducer showed (docs/netfuzz.md "Reproducers that
// reproduce").
struct ReplayResult {
  bool loads = true;   // the runner accepts the file
  std::string error;   // why it does not load, or why a replay could not run (then it stops)
  int runs = 0;        // times it ran, each against a freshly started broker
  int failed = 0;      // runs that failed (exit status 1): the bug showed
};

struct FuzzOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::vector<std::string> spawn;  // broker command line; empty: the broker runs on its own
  double duration_s = 60;
  std::uint64_t seed = 1;
  mqtt::Version version = mqtt::Version::v5;
  std::string out_dir = "netfuzz-out";
  // A case half-closes its connection after the last byte, so a broker that read it all
  // closes; this only bounds a broker that keeps half-closed connections open.
  int case_timeout_ms = 500;
  int probe_timeout_ms = 2000; // liveness probe: no PINGRESP (CONNACK) within this = hang
  std::uint64_t max_cases = 0; // 0: until duration
  int jobs = 1;                // workers, each with its own case and probe connections
  // `--shard K/N` (docs/scale-out.md): this process is shard K of N processes fuzzing with
  // the same seed. Its worker w is global worker (K-1)*jobs + w of N*jobs, and runs the case
  // indices that global worker would: the N shards' cases are disjoint and together those
  // of one N*jobs-worker run. Its probe and bystander client ids carry the shard too.
  unsigned shard_index = 1;
  unsigned shard_count = 1;
  int fresh_probe_every = 256; // cases between fresh-connection probes (per worker)
  bool stateful = false;       // multi-connection cases (generate_stateful_case)
  bool progress = true;
  // With `spawn`: replays each reproducer `replays` times against a fresh broker before the
  // findings are written. Set by the CLI, whose runner needs Qt; unset: no replay.
  std::function<ReplayResult(const std::string& scenario_file, int times)> replay;
  int replays = 1;
  // With `spawn`: a suppressions file (process::Suppressions, docs/netfuzz.md
  // "Suppressions"); the reports it matches are counted, not reported. "": none.
  std::string suppressions_file;
  // Broker oracles (docs/netfuzz.md "Broker oracles"). The bystander: a client that
  // publishes QoS 1 to its own subscription and pings every `bystander_interval_ms`; a
  // round trip over `stall_threshold_ms` is a `stall` finding, a message acknowledged but
  // not delivered (or delivered twice) a `qos1_lost` (`qos1_duplicate`) finding. 0: no bystander.
  int stall_threshold_ms = 2000;
  int bystander_interval_ms = 100;
  // With `spawn`: the broker's RSS growing by more than `rss_growth_limit_kib` over a
  // window of `rss_window` cases (one broker incarnation) is an `rss_growth` finding. 0: off.
  std::uint64_t rss_growth_limit_kib = 64 * 1024;
  std::uint64_t rss_window = 2000;
};

// Runs the fuzz loop, minimises and writes findings. Returns the exit status:
// 0 no crash/hang finding (spec findings and suppressed reports alone: 0), 1 crash/hang
// findings, 2 setup error (also an unreadable suppressions file).
int run_fuzz(const FuzzOptions& options);

// `mqtt-harness fuzz merge DIRS... --out DIR` (docs/scale-out.md "Merging fuzz shards"):
// reads each DIR/findings.json, keeps one finding per signature (the first shard's, with
// its reproducer copied into `out_dir`, renumbered; `count` summed; `seen_in` naming every
// shard that found it), adds up the counters and writes `out_dir`/findings.json and
// findings.html. Missing or repeated shards of one --shard run are warnings in the merged
// summary. Returns 1 when a crash finding remains, 0 when none, 2 on unreadable input
// (`error` says which) or inputs of different protocols.
int merge_findings(const std::vector<std::string>& dirs, const std::string& out_dir, std::string* error,
                   std::vector<std::string>* warnings = nullptr);

}  // namespace mqtth::netfuzz
