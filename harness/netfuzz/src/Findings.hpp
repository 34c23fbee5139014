// What a fuzz run leaves behind (docs/netfuzz.md "Findings"): one reproducer scenario per
// finding, and findings.html, rendered from the same JSON as findings.json so the two never
// disagree. Private to harness/netfuzz.
#pragma once

#include "Oracles.hpp"
#include "mqtth/netfuzz/NetFuzz.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace mqtth::netfuzz {

using json = nlohmann::ordered_json;

// A finding's reproducer: earlier cases (connections) that must run first, then the case.
struct Finding {
  std::vector<Case> before;
  Case last;
  // A stateful spec_accepted_malformed: the packet of `last` after which the broker owed a
  // close (Outcome::close_owed_after); the reproducer expects that close.
  std::size_t close_owed_after = kNoPacket;
};

// Writes `dir`/finding-N-KIND.yaml, a `send_raw` scenario that `mqtt-harness run` replays
// (each earlier case on its own client, then the case, then a liveness probe), and returns
// its file name. It loads in the scenario loader whatever the cases hold. `evidence` (the
// broker's report, exit and last output lines; may be empty) goes into its comments.
std::string write_reproducer(const std::string& dir, std::size_t n, const std::string& kind,
                             const std::string& signature, mqtt::Version version, const Finding& finding,
                             const std::string& evidence = {});

// One self-contained page (inline CSS, no script, no network): counts, cases/s, broker
// up/down, one row per finding signature (kind, statement id and text, count, detail,
// minimised packets) linking its scenario file (relative: the page sits next to them).
std::string findings_html(const json& summary);

}  // namespace mqtth::netfuzz
