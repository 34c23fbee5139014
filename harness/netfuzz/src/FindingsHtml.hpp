// The HTML section of a fuzz run's final summary (findings.html), rendered from the same
// JSON as findings.json so the two never disagree.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace mqtth::netfuzz {

using json = nlohmann::ordered_json;

// One self-contained page (inline CSS, no script, no network): counts, cases/s, broker
// up/down, one row per finding signature (kind, statement id and text, count, detail,
// minimised packets) linking its scenario file (relative: the page sits next to them).
std::string findings_html(const json& summary);

}  // namespace mqtth::netfuzz
