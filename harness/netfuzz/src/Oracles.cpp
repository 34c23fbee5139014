// The live fuzzer's oracles (Oracles.hpp).
#include "Oracles.hpp"

#include <algorithm>

namespace mqtth::netfuzz {
namespace {

std::string type_name_of(std::uint8_t first_byte) {
  const auto t = first_byte >> 4;
  if (t == 0 || t > 15) return "RESERVED";
  return std::string(mqtt::to_string(static_cast<mqtt::PacketType>(t)));
}

}  // namespace

std::string packet_type_name(std::string_view packet) {
  return packet.empty() ? "EMPTY" : type_name_of(static_cast<std::uint8_t>(packet[0]));
}
std::string packet_type_name(mqtt::Bytes packet) { return packet.empty() ? "EMPTY" : type_name_of(packet[0]); }

std::vector<StreamFrame> frame_stream(const std::vector<std::string>& packets, mqtt::Version version) {
  std::vector<StreamFrame> out;
  mqtt::Framer framer;
  std::string stream;
  for (const auto& p : packets) { framer.feed(p); stream += p; }
  std::size_t at = 0;
  for (;;) {
    auto f = framer.next();
    if (f.status == mqtt::FrameInfo::Status::need_more) break;
    const auto name = packet_type_name(std::string_view(stream).substr(std::min(at, stream.size())));
    if (f.status == mqtt::FrameInfo::Status::error) { out.push_back({std::nullopt, f.error, name, at, 0}); break; }
    StreamFrame sf;
    sf.offset = at;
    sf.size = f.packet.size();
    at += f.packet.size();
    auto d = mqtt::decode(f.packet, {version});
    sf.type_name = name;
    if (d.ok()) sf.type = mqtt::packet_type(d.value); else sf.error = d.error;
    out.push_back(sf);
    if (!d.ok()) break;
  }
  return out;
}

std::optional<std::string> lenient_on_receipt(mqtt::Version version, const std::string& type, const mqtt::Error& e) {
  const auto spec = e.spec;
  const auto msg = e.message;
  if (e.code == mqtt::Errc::payload_format_invalid) return "payload vs Payload Format Indicator (receiver MAY check, 3.3.2.3.2)";
  if (type == "PUBLISH" && msg == "property value must be 0 or 1") return "Payload Format Indicator value other than 0/1 (no receiver rule)";
  if (type == "PUBLISH" && msg.find("subscription_identifier") != std::string_view::npos) return "Subscription Identifier in a Client PUBLISH (MQTT-3.3.4-6, sender obligation)";
  // Both versions: 3.1.1 has no statement on the minimal encoding at all, and its
  // MQTT-3.3.1-2 is the same sender rule as 5.0's (DUP is not a reserved flag in either).
  if (spec == "MQTT-1.5.5-1") return "non-minimal Variable Byte Integer (MQTT-1.5.5-1, sender obligation)";
  if (spec == "MQTT-3.3.1-2") return "DUP 1 on a QoS 0 PUBLISH (MQTT-3.3.1-2, sender obligation)";
  if (version != mqtt::Version::v5) return std::nullopt;
  if (spec == "MQTT-3.3.2-13" || spec == "MQTT-3.3.2-14") return "Response Topic content (MQTT-3.3.2-14, sender obligation)";
  if (spec == "MQTT-3.4.2-1" || spec == "MQTT-3.5.2-1" || spec == "MQTT-3.6.2-1" || spec == "MQTT-3.7.2-1")
    return "undefined reason code in a PUBACK/PUBREC/PUBREL/PUBCOMP (sender obligation)";
  if (spec == "MQTT-4.8.2-1" || spec == "MQTT-4.8.2-2") return "Shared Subscription filter syntax (MQTT-4.8.2-1/-2, client obligation; no receiver rule)";
  return std::nullopt;
}

bool forwarded_unaltered(const std::string& type, const mqtt::Error& e) {
  if (type != "PUBLISH") return false;
  return e.code == mqtt::Errc::payload_format_invalid || e.message == "property value must be 0 or 1" ||
         e.spec == "MQTT-3.3.2-13" || e.spec == "MQTT-3.3.2-14";
}

bool is_crash_kind(const std::string& kind) { return kind == "crash" || kind == "sanitizer" || kind == "hang"; }

bool ends_with_pingresp(const std::string& bytes) {
  return bytes.size() >= 2 && bytes.compare(bytes.size() - 2, 2, std::string("\xD0\x00", 2)) == 0;
}

}  // namespace mqtth::netfuzz
