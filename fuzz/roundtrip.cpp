// Whatever decodes must re-encode, and re-decode to an equal packet; a canonical input
// re-encodes byte for byte. The first input byte picks the protocol version, so one
// corpus serves both. Also the encoder's other entry points and the codec's helper API,
// which must agree with each other and with the decoder (check_names: name tables):
//  - the decoded view and its owned copy encode to the same bytes, exactly encoded_size()
//    of them; one byte less of output space is buffer_too_small, not an overrun;
//  - an owned property list rebuilt with the builder API (add_number/add_string/add_user)
//    equals to_owned()'s copy, and find() returns what iteration saw;
//  - the public validators agree with each other on arbitrary bytes (a valid topic name
//    is valid UTF-8 and, unless it starts a shared subscription, a valid topic filter;
//    a valid filter is valid UTF-8) and with the decoder (decoded topics and filters
//    pass them).
#include "fuzz_common.hpp"

#include <cstring>
#include <vector>

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

// The builder API's spelling of a decoded property list.
mqtt::Properties rebuild(const mqtt::PropertiesView& view) {
  mqtt::Properties out;
  for (const auto& p : view) {
    switch (*mqtt::property_type(static_cast<std::uint8_t>(p.id))) {
      case mqtt::PropertyType::utf8_pair: out.add_user(std::string(p.key), std::string(p.value)); break;
      case mqtt::PropertyType::utf8:
      case mqtt::PropertyType::binary: out.add_string(p.id, std::string(p.value)); break;
      default: out.add_number(p.id, p.number); break;
    }
  }
  return out;
}

void check_properties(const mqtt::PropertiesView& view, const mqtt::Properties& owned) {
  if (!(rebuild(view) == owned)) mqtth::fuzz::fail("builder API and to_owned() disagree on properties");
  std::size_t count = 0;
  for (const auto& p : view) {
    ++count;
    const auto found = owned.find(p.id);
    if (!found || found->id != p.id) mqtth::fuzz::fail("Properties::find misses a property");
  }
  if (count != owned.size()) mqtth::fuzz::fail("owned property count differs from the view's");
}

void check_validators(std::string_view s, mqtt::Version v) {
  const bool utf8_ok = !mqtt::validate_utf8(s, v);
  const bool name_ok = !mqtt::validate_topic_name(s, v);
  const bool filter_ok = !mqtt::validate_topic_filter(s, v);
  if (name_ok && !utf8_ok) mqtth::fuzz::fail("a valid topic name is not valid UTF-8");
  if (filter_ok && !utf8_ok) mqtth::fuzz::fail("a valid topic filter is not valid UTF-8");
  if (name_ok && !filter_ok && !(v == mqtt::Version::v5 && s.starts_with("$share/")))
    mqtth::fuzz::fail("a valid topic name is not a valid topic filter");
}

void check_decoded_topics(const mqtt::PacketView& packet, mqtt::Version v) {
  if (const auto* p = std::get_if<mqtt::PublishView>(&packet)) {
    if (!p->topic.empty() && mqtt::validate_topic_name(p->topic, v)) mqtth::fuzz::fail("decoded a topic name validate_topic_name rejects");
  } else if (const auto* sub = std::get_if<mqtt::SubscribeView>(&packet)) {
    for (const auto& one : sub->subscriptions)
      if (mqtt::validate_topic_filter(one.filter, v)) mqtth::fuzz::fail("decoded a filter validate_topic_filter rejects");
  } else if (const auto* unsub = std::get_if<mqtt::UnsubscribeView>(&packet)) {
    for (const auto& f : unsub->filters)
      if (mqtt::validate_topic_filter(f, v)) mqtth::fuzz::fail("decoded a filter validate_topic_filter rejects");
  }
}

void check_encoders(const mqtt::PacketView& view, const mqtt::Packet& owned, mqtt::Version v, const std::string& bytes) {
  const auto size = mqtt::encoded_size(view, v);
  if (!size.ok() || size.value != bytes.size() || mqtt::encoded_size(owned, v).value != bytes.size())
    mqtth::fuzz::fail("encoded_size differs from the encoded bytes");
  // A buffer of exactly the size, then one byte short: a fresh allocation each, so ASan
  // sees any write past encoded_size().
  std::vector<std::uint8_t> out(bytes.size());
  const auto written = mqtt::encode(view, v, out);
  if (!written.ok() || written.value != bytes.size() || std::memcmp(out.data(), bytes.data(), bytes.size()) != 0)
    mqtth::fuzz::fail("a view encodes other than its owned copy");
  std::vector<std::uint8_t> short_out(bytes.size() - 1);
  const auto refused = mqtt::encode(owned, v, short_out);
  if (refused.ok() || mqtt::to_string(refused.error.code) != "buffer_too_small")
    mqtth::fuzz::fail("encode into a short buffer is not buffer_too_small");
  const auto as_string = mqtt::encode_to_string(view, v);
  if (!as_string.ok() || as_string.value != bytes) mqtth::fuzz::fail("encode_to_string(view) differs");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto version = (data[0] & 1) ? mqtt::Version::v5 : mqtt::Version::v3_1_1;
  const mqtt::Bytes input(data + 1, size - 1);
  check_validators(std::string_view(reinterpret_cast<const char*>(input.data()), input.size()), version);
  const auto first = mqtt::decode(input, {.version = version});
  if (!first.ok()) {
    mqtth::fuzz::check_error_name(first.error);
    return 0;
  }
  // A CONNECT carries its own version; what follows it is encoded in that version.
  const auto* connect = std::get_if<mqtt::ConnectView>(&first.value);
  const auto wire_version = connect ? connect->protocol_version : version;
  mqtth::fuzz::check_names(first.value, wire_version);

  // The same packet against a Maximum Packet Size one byte below its size is refused from
  // the fixed header alone (5.0 3.1.2.11.4: the receiver's limit).
  const auto over_limit = mqtt::decode(input, {.version = version, .maximum_packet_size = static_cast<std::uint32_t>(input.size() - 1)});
  if (over_limit.ok() || over_limit.error.code != mqtt::Errc::packet_too_large)
    mqtth::fuzz::fail("a packet above maximum_packet_size is not packet_too_large");

  const mqtt::Packet owned = mqtt::to_owned(first.value);
  if (mqtt::packet_type(owned) != mqtt::packet_type(first.value)) mqtth::fuzz::fail("to_owned changed the packet type");
  const auto bytes = mqtt::encode_to_string(owned, wire_version);
  if (!bytes.ok()) mqtth::fuzz::fail("a decoded packet does not re-encode");
  check_encoders(first.value, owned, wire_version, bytes.value);
  check_decoded_topics(first.value, wire_version);
  std::visit(
      [](const auto& view, const auto& copy) {
        using V = std::decay_t<decltype(view)>;
        using O = std::decay_t<decltype(copy)>;
        if constexpr (V::type == O::type && requires { view.properties; }) {
          check_properties(view.properties, copy.properties);
          if constexpr (requires { view.will; })
            if (view.will) check_properties(view.will->properties, copy.will->properties);
        }
      },
      first.value, owned);

  const auto second = mqtt::decode(bytes.value, {.version = wire_version});
  if (!second.ok()) mqtth::fuzz::fail("a re-encoded packet does not decode");
  if (!(mqtt::to_owned(second.value) == owned)) mqtth::fuzz::fail("re-decoded packet differs");

  const bool same_bytes = bytes.value.size() == input.size() &&
                          std::memcmp(bytes.value.data(), input.data(), input.size()) == 0;
  if (!same_bytes) {
    const bool respelled = wire_version == mqtt::Version::v5 &&
                           has_optional_trailing_fields(mqtt::packet_type(first.value));
    if (!respelled) mqtth::fuzz::fail("canonical input did not re-encode byte for byte");
  } else if (!(mqtt::to_view(owned) == first.value)) {
    // Byte-identical encodings: the owned copy's view (property blocks re-encoded by
    // Properties::encoded()) equals the decoded view field by field.
    mqtth::fuzz::fail("to_view(to_owned(view)) differs from a canonical view");
  }
  return 0;
}
