// Whatever decodes must re-encode, and re-decode to an equal packet; a canonical input
// re-encodes byte for byte. The first input byte picks the protocol version, so one
// corpus serves both.
#include "fuzz_common.hpp"

#include <cstring>

namespace {
// MQTT 5 lets a sender spell an ack, DISCONNECT or AUTH with or without its trailing
// optional fields: the reason code may be left out when it is 0x00 and there are no
// properties, and the Property Length may be left out when there are none (3.4.2.1,
// 3.14.2.1, 3.15.2.1). The encoder writes one canonical spelling, so these packets may
// re-encode shorter or longer than the input; they must still decode to the same packet.
bool has_optional_trailing_fields(mqtt::PacketType type) {
  using T = mqtt::PacketType;
  return type == T::puback || type == T::pubrec || type == T::pubrel || type == T::pubcomp ||
         type == T::disconnect || type == T::auth;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto version = (data[0] & 1) ? mqtt::Version::v5 : mqtt::Version::v3_1_1;
  const mqtt::Bytes input(data + 1, size - 1);
  const auto first = mqtt::decode(input, {.version = version});
  if (!first.ok()) return 0;
  // A CONNECT carries its own version; what follows it is encoded in that version.
  const auto* connect = std::get_if<mqtt::ConnectView>(&first.value);
  const auto wire_version = connect ? connect->protocol_version : version;

  const mqtt::Packet owned = mqtt::to_owned(first.value);
  const auto bytes = mqtt::encode_to_string(owned, wire_version);
  if (!bytes.ok()) mqtth::fuzz::fail("a decoded packet does not re-encode");

  const auto second = mqtt::decode(bytes.value, {.version = wire_version});
  if (!second.ok()) mqtth::fuzz::fail("a re-encoded packet does not decode");
  if (!(mqtt::to_owned(second.value) == owned)) mqtth::fuzz::fail("re-decoded packet differs");

  const bool same_bytes = bytes.value.size() == input.size() &&
                          std::memcmp(bytes.value.data(), input.data(), input.size()) == 0;
  if (!same_bytes) {
    const bool respelled = wire_version == mqtt::Version::v5 &&
                           has_optional_trailing_fields(mqtt::packet_type(first.value));
    if (!respelled) mqtth::fuzz::fail("canonical input did not re-encode byte for byte");
  }
  return 0;
}
