// What the runner makes of a broker's answer to a CONNECT: the probe connections made before
// a run (docs/runner.md "Before the run: the probe"), and a scenario client's CONNECT refused
// when the scenario did not ask for a refusal.
//
// Plain C++ over bytes and codes (no Qt), so every case is unit-tested; Runner.cpp does the
// socket part.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mqtt/codec.hpp>

#include "mqtth/report/Report.hpp"

namespace mqtth::runner {

// The probe's CONNECT: the typical one scenario clients send (clean start, Keep Alive 60 s,
// `client_id`), encoded for `version`.
inline constexpr std::uint16_t kTypicalKeepAliveSeconds = 60;
std::string probe_connect_bytes(mqtt::Version version, const std::string& client_id);

// What came back to one probe CONNECT.
struct ProbeAnswer {
  enum class Kind : std::uint8_t {
    accepted,         // CONNACK 0x00 in the format of the version sent
    version_refused,  // 3.1.1 CONNACK 0x01; 5.0 CONNACK 0x84; any 3.1.1-format CONNACK to a 5.0 CONNECT
    refused,          // any other refusal: the broker does not take a typical CONNECT
    closed,           // closed without sending a byte (a refusal of the version, 3.1.1 MQTT-3.2.2-6,
                      // when another version is accepted; no MQTT broker when none is)
    silent,           // connected, nothing came back in time
    not_mqtt,         // bytes that are no CONNACK (an HTTP server, a TLS port, ...)
    unreachable,      // no TCP connection (refused, no route, unresolvable, timed out)
  };
  Kind kind = Kind::silent;
  std::optional<mqtt::Connack> connack;  // accepted, refused, version_refused
  // What came back, to follow "answered the CONNECT with": "CONNACK 20 02 00 01 (3.1.1
  // format: 0x01 (unacceptable_protocol_version))", "text \"HTTP/1.1 400 Bad Request\", which
  // is no CONNACK", "nothing" (silent).
  std::string seen;
};

// Judges the bytes read after the probe CONNECT of `sent`: `closed` says the peer closed
// the connection (else the time ran out). Trailing bytes after a CONNACK are ignored.
ProbeAnswer judge_probe_answer(mqtt::Version sent, std::string_view bytes, bool closed);

// Whether this answer alone shows that no scenario can run (no broker there, or one that
// refuses the typical CONNECT): probing stops, and decide_probes() makes it fatal.
bool rules_out_the_broker(const ProbeAnswer& answer);

// What the run does after probing: `fatal` -> exit 2 with that message; scenarios of a
// version in `skipped` are skipped with its reason.
struct ProbeDecision {
  std::optional<std::string> fatal;
  std::map<std::string, std::string> skipped;  // "5" -> "broker refuses MQTT 5: ..."
  std::vector<std::string> warnings;
};
// `answers`: per version the run uses ("3.1.1", "5"), in probe order; a version missing
// from `answers` was not probed because `declared` (the profile's `protocols:`) leaves it
// out. `address` is "HOST:PORT"; `profile` names the profile in messages.
//  * no TCP connection, silence, bytes that are no CONNACK, or a refusal other than of
//    the version -> fatal (no scenario could run);
//  * a version refused (or closed on) while another is accepted -> its scenarios skipped,
//    unless `declared` lists it: then they run (and fail), with a warning;
//  * every version refused or closed on, or left out by `declared` -> fatal: nothing to run.
ProbeDecision decide_probes(const std::string& address, const std::vector<std::pair<std::string, ProbeAnswer>>& answers,
                            const std::vector<std::string>& versions_used,
                            const std::optional<std::vector<std::string>>& declared, const std::string& profile);

// A scenario client's CONNECT refused with `code` when the scenario expected success:
//  * failed  -- the refusal breaks a rule: an id of 1-23 letters and digits refused
//               (0x02 / 0x85; MQTT-3.1.3-5);
//  * skipped -- a refusal the spec allows of something the scenario needs (its client id
//               outside 0-9a-zA-Z{1,23}, credentials, authorisation, a will the broker
//               cannot take, the version): the scenario cannot run on this broker;
//  * error   -- the broker could not take a connection just then (3.1.1 0x03; 5.0 0x88,
//               0x89, 0x97, 0x9F), or gives no reason the harness can judge (0x80-0x83,
//               undefined codes): no verdict on the broker, the run is not trustworthy.
struct RefusalVerdict {
  report::Status status = report::Status::error;
  std::string statement;  // failed: the rule broken; else the rule the refusal relates to ("" if none)
  std::string reason;     // "client id 'mh1a2b3c17xsub' is 14 letters and digits, which every server must accept"
};
RefusalVerdict judge_connect_refusal(mqtt::Version version, std::uint8_t code, std::string_view client_id);

// "0x87 (not_authorized)": a CONNACK code with its name in `version`.
std::string connack_code_text(mqtt::Version version, std::uint8_t code);

}  // namespace mqtth::runner
