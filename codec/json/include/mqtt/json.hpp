// mqttcodec_json: MQTT control packets <-> JSON, the format of `mqtt-harness decode` /
// `encode` (docs/decode-json.md) and of the scenario runner's `expect_packet` matching.
//
// One JSON object per packet. Keys are the spec's field names in snake_case, in wire
// order (nlohmann::ordered_json keeps insertion order). The mapping is lossless: for every
// packet the codec accepts, encode_json(to_json(decode(bytes), bytes)) == bytes. The two
// places where the same decoded fields have several valid encodings are recorded with
// extra keys that appear only when the input was not in the codec's canonical form:
//   * `remaining_length`: MQTT 5 PUBACK/PUBREC/PUBREL/PUBCOMP/DISCONNECT/AUTH may carry a
//     reason code 0x00 and/or an empty property length that the short form omits
//     (3.4.2.1, 3.14.2.1, 3.15.2.1);
//   * `property_order`: a property block in which a repeatable property (user_property,
//     subscription_identifier) is interleaved with others.
//
// Not on the wire path: this library allocates freely and is for tools, tests and reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mqtt/codec.hpp"
#include "mqtt/hex.hpp"  // binary values are hex strings in the JSON

namespace mqtt {

using Json = nlohmann::ordered_json;

// What is wrong with a JSON packet description, and where.
struct JsonError {
  std::string path;     // JSON Pointer of the offending value, e.g. "/subscriptions/1/qos"
  std::string message;  // e.g. "must be an integer 0..3"
};

template <class T>
struct JsonResult {
  T value{};
  std::optional<JsonError> error;
  bool ok() const { return !error.has_value(); }
};

// ---------------------------------------------------------------------------------------
// Packet -> JSON.

// The packet's JSON object. `version` chooses the 3.1.1 or 5.0 field set (3.1 is shown as
// 3.1.1); a CONNECT always shows its own protocol_version.
Json to_json(const PacketView& packet, Version version);
Json to_json(const Packet& packet, Version version);
// As above, for a packet decoded from `wire` (the whole packet, fixed header included):
// adds `remaining_length` when `wire` is not what encode() would produce from the fields,
// so that encode_json() can reproduce `wire` exactly.
Json to_json(const PacketView& packet, Version version, Bytes wire);

// Decodes one whole packet and returns its JSON, or the error JSON below.
Json decode_to_json(Bytes wire, const DecodeOptions& options);

// {"error": message, "code": "malformed_packet", "spec": "MQTT-x.x.x-y" or null,
//  "offset": N}. `base_offset` is added to error.offset (the packet's offset in a stream).
Json to_json(const Error& error, std::uint64_t base_offset = 0);
// {"error": message, "path": "/json/pointer"}
Json to_json(const JsonError& error);

// ---------------------------------------------------------------------------------------
// JSON -> packet. Strict: unknown keys, keys that do not exist in `version`, wrong types
// and out-of-range numbers are errors naming the key's path. Values are checked only for
// what the wire format can hold (qos 0..3, packet_id 0..65535, ...), not for protocol
// meaning, so tests can build packets a receiver ought to reject.

// The packet described by `json`. A CONNECT is built for its own `protocol_version`.
JsonResult<Packet> packet_from_json(const Json& json, Version version);
// The exact bytes described by `json` (honours `remaining_length` and `property_order`).
JsonResult<std::string> encode_json(const Json& json, Version version);

// The version a CONNECT's JSON announces (nullopt: not a CONNECT or no valid
// protocol_version). Streams use it for the packets after the CONNECT.
std::optional<Version> connect_version(const Json& json);

}  // namespace mqtt
