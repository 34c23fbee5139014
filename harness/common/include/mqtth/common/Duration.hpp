// Durations, the one grammar of every flag and file that takes one (scenario files,
// `--fault` SPECs, `run`, `fuzz`, `bench`; docs/architecture.md "Vocabulary"):
//
//   DIGITS [ "." DIGITS ] [ UNIT ]      UNIT: ms | s | m | min | h      no UNIT: seconds
//
// e.g. 250ms, 1.5s, 10, 2m, 2min, 1h. At most 9 decimals; the value is rounded to whole
// milliseconds (0.4ms is 0). No sign, no spaces, no exponent.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace mqtth::common {

using Milliseconds = std::chrono::milliseconds;

// For --help texts and messages: what a duration looks like.
inline constexpr std::string_view kDurationExamples = "250ms, 1.5s, 10s, 2m, 1h; no unit means seconds";

struct ParsedDuration {
  std::optional<Milliseconds> value;
  // When there is no value, what is wrong, quoting the text: "'5x' is not a duration:
  // unknown unit 'x' (ms, s, m, min or h; no unit means seconds)", "'25h' is more than 24h".
  std::string error;
};

// `max`: the longest value the caller accepts (a longer one is an error naming it).
ParsedDuration parse_duration(std::string_view text, Milliseconds max = std::chrono::hours(24));

// The shortest text parse_duration reads back as `d`: "250ms", "10s", "2m", "1h" (the largest unit that
// divides it; "0s" for zero).
std::string format_duration(Milliseconds d);

}  // namespace mqtth::common
