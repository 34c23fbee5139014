#include "mqtth/common/Duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace mqtth::common {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t ms;
};
// Smallest first; format_duration walks it backwards, so of m and min it writes m.
constexpr std::array<Unit, 5> kUnits{{{"ms", 1}, {"s", 1000}, {"min", 60'000}, {"m", 60'000}, {"h", 3'600'000}}};
constexpr std::size_t kMaxDecimals = 9;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace

std::string format_duration(Milliseconds d) {
  const auto ms = d.count();
  if (ms == 0) return "0s";
  for (auto u = kUnits.rbegin(); u != kUnits.rend(); ++u)
    if (ms % u->ms == 0) return std::to_string(ms / u->ms) + std::string(u->name);
  return std::to_string(ms) + "ms";  // not reached: every count divides by 1 ms
}

ParsedDuration parse_duration(std::string_view text, Milliseconds max) {
  auto fail = [&](std::string why) { return ParsedDuration{std::nullopt, quoted(text) + " is not a duration: " + why}; };
  auto too_long = [&] {
    return ParsedDuration{std::nullopt, quoted(text) + " is more than " + format_duration(max)};
  };
  if (text.empty()) return fail("it is empty (e.g. " + std::string(kDurationExamples) + ")");
  if (!is_digit(text.front()))
    return fail("it must start with a number (e.g. " + std::string(kDurationExamples) + ")");

  // Whole part, stopping at the first value above any possible maximum (no overflow).
  constexpr std::int64_t kCap = std::numeric_limits<std::int64_t>::max() / 3'600'000 / 10;
  std::size_t i = 0;
  std::int64_t whole = 0;
  bool huge = false;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    if (whole > kCap) huge = true;
    else whole = whole * 10 + (text[i] - '0');
  }
  // Fraction as numerator / 10^decimals.
  std::int64_t numerator = 0, denominator = 1;
  if (i < text.size() && text[i] == '.') {
    const std::size_t first = ++i;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      if (i - first >= kMaxDecimals) return fail("more than " + std::to_string(kMaxDecimals) + " decimals");
      numerator = numerator * 10 + (text[i] - '0');
      denominator *= 10;
    }
    if (i == first) return fail("a decimal point needs digits after it");
  }
  const std::string_view unit_text = text.substr(i);
  std::int64_t unit = 1000;  // no unit: seconds
  if (!unit_text.empty()) {
    unit = 0;
    for (const auto& u : kUnits)
      if (u.name == unit_text) unit = u.ms;
    if (unit == 0) return fail("unknown unit " + quoted(unit_text) + " (ms, s, m, min or h; no unit means seconds)");
  }
  if (huge || whole > max.count() / unit) return too_long();
  // numerator < 10^9 and unit <= 3.6e6: the products fit; round half up to whole ms.
  const std::int64_t whole_ms = whole * unit;
  const std::int64_t fraction_ms = (numerator * unit * 2 + denominator) / (2 * denominator);
  if (fraction_ms > max.count() - whole_ms) return too_long();
  return ParsedDuration{Milliseconds(whole_ms + fraction_ms), {}};
}

}  // namespace mqtth::common
