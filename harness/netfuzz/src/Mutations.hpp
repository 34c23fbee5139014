// The generator's building blocks shared by the one-connection cases (Generator.cpp) and
// the stateful multi-connection cases (StatefulGenerator.cpp). Private to harness/netfuzz.
#pragma once

#include "mqtth/netfuzz/NetFuzz.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace mqtth::netfuzz {

// A topic name or filter: one of four valid ones, or (`valid_only` false) one of the 4.7
// and 1.5.4 edge cases (wildcards in names, '#' not last, `$share` forms, U+0000, ...).
std::string pick_topic(Rng& rng, bool valid_only);
// 0..max random bytes.
std::string random_bytes(Rng& rng, std::size_t max);
// A property of any id the codec knows, valid or not where it lands, boundary values.
mqtt::Property random_property(Rng& rng);
// One byte-level mutation of `packet` (flags nibble, bit flip, byte set, truncation,
// insertion, Remaining Length replaced), noted in `notes`.
void mutate_bytes(Rng& rng, std::string& packet, std::vector<std::string>& notes);

}  // namespace mqtth::netfuzz
