// The oracles of the live fuzzer (docs/netfuzz.md "Oracles"): how the broker frames what a
// case sends, which codec rejections are the broker's business (triage), and what one run
// of a case looked like. Private to harness/netfuzz.
#pragma once

#include <mqtt/codec.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqtth::netfuzz {

// The type name of a packet from its first byte ("PUBLISH"; "RESERVED" for type 0, "EMPTY" for no bytes),
// also for bytes that do not decode.
std::string packet_type_name(std::string_view packet);
std::string packet_type_name(mqtt::Bytes packet);

// Packets as the broker frames the byte stream we send (a wrong Remaining Length shifts
// every later packet boundary, so framing our own packets one by one would mislead).
struct StreamFrame {
  std::optional<mqtt::PacketType> type;  // when the frame decodes
  mqtt::Error error{};                   // the first rule it breaks, per the codec
  std::string type_name;                 // from its first byte, also when it does not decode
  std::size_t offset = 0;                // where it starts in the stream
  std::size_t size = 0;                  // its length (0: it cannot be framed)
};
std::vector<StreamFrame> frame_stream(const std::vector<std::string>& packets, mqtt::Version version);

// Triage of the spec oracle (docs/netfuzz.md, "Spec findings against mosquitto"): codec
// rejections whose breach the spec does not make the receiving Server's business. They
// are obligations of the sender only, or the receiver MAY check, so a Server that carries
// on conforms; and a Server must forward some of them unaltered. Counted, not reported:
// the reason, or nullopt for a real finding.
std::optional<std::string> lenient_on_receipt(mqtt::Version version, const std::string& type, const mqtt::Error& e);

// Content of a PUBLISH the Server must pass on unaltered (MQTT-3.3.2-4 Payload Format
// Indicator, MQTT-3.3.2-15 Response Topic): bad bytes there came from the publisher.
bool forwarded_unaltered(const std::string& type, const mqtt::Error& e);

// What one run of a case looked like.
// No packet of a case (a packet index that is not one).
inline constexpr std::size_t kNoPacket = static_cast<std::size_t>(-1);

struct Outcome {
  std::string kind;    // "" (nothing found), crash, sanitizer, hang, spec_invalid_bytes, spec_accepted_malformed
  std::string detail;  // exit signal / codec error / rule
  std::string spec;
  std::string packet;  // spec kinds: type of the offending packet (ours or the broker's)
  std::string rule;    // spec kinds: spec id, else codec error code and message (no offsets)
  std::string lenient; // set instead of kind: a triaged non-finding (counted only)
  bool previous_case = false;  // a liveness failure that points at the worker's previous case
  // The broker's evidence (crash and sanitizer kinds, docs/netfuzz.md "Findings"): the
  // report's signature (process::SanitizerReport: kind, what happened, top frames) that
  // groups it, the report text with its first stack, how the process ended, and its last
  // output lines.
  std::string signature;
  std::string report;
  std::string exit;
  std::string output_tail;
  bool recoverable = false;  // a UBSan `runtime error:` the broker survived
  // spec_accepted_malformed in a stateful case: the index in the case of the packet after
  // which the broker owed a close (kNoPacket: not known), for the reproducer's expect_disconnect.
  std::size_t close_owed_after = kNoPacket;
};

// A sanitizer report that a `--suppressions` entry matches, from a broker that then exited:
// it is restarted, nothing is reported.
inline constexpr const char* kSuppressedExit = "suppressed_exit";

// crash, sanitizer and hang: the broker's process or liveness, confirmed by replay.
bool is_crash_kind(const std::string& kind);

// The broker's answer ends with a PINGRESP: it processed everything before our PINGREQ.
bool ends_with_pingresp(const std::string& bytes);

// The CONNECT of a worker's persistent probe connection (the liveness oracle's fast form):
// clean, keep alive 0 so the broker never drops it while the worker is paused.
std::string persistent_probe_connect(mqtt::Version version, const std::string& client_id);

}  // namespace mqtth::netfuzz
