// send_packet: decode-JSON fields encoded by the codec into the bytes of a send_raw step.
// The expected bytes are laid out by hand from the specification (the figures named, or
// the fixed header and field layouts of chapters 2 and 3), not produced by the codec.
// Errors are in bad/send_packet.yaml.
#include <gtest/gtest.h>

#include "mqtth/scenario/Loader.hpp"

using namespace mqtth::scenario;

namespace {

std::vector<std::uint8_t> hex(std::string_view text) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < text.size();) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(std::stoul(std::string(text.substr(i, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

// The bytes of the one step `step` loads into (in the 5.0 run unless `protocol` says).
std::vector<std::uint8_t> bytes_of(const std::string& step, std::string_view protocol = "5",
                                   std::string_view clients = "{c: {}}") {
  const std::string text = "name: t\nprotocol: " + std::string(protocol) + "\nvars: {base: t}\nclients: " +
                           std::string(clients) + "\nsteps:\n  - " + step + "\n";
  auto r = load_string(text, "send_packet.yaml");
  std::string errors;
  for (const auto& e : r.errors) errors += e.to_string() + "\n";
  EXPECT_TRUE(r.ok()) << errors;
  if (!r.ok()) return {};
  const auto& raw = std::get<SendRawStep>(r.scenarios.at(0).steps.at(0).action);
  EXPECT_EQ(raw.client, "c");
  return raw.bytes;
}

}  // namespace

TEST(SendPacket, connect_with_will_user_and_password_is_the_spec_example_MQTT_3_1_1_figure_3_6) {
  // Flags 0xCE: user name, password, will QoS 1, will flag, clean session (3.1.2.3).
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: CONNECT, keep_alive: 10, client_id: c1, "
                     "will: {topic: w, payload_hex: \"6d\", qos: 1}, username: u, password_hex: \"70\"}}",
                     "3.1.1"),
            hex("10 1a 00 04 4d 51 54 54 04 ce 00 0a 00 02 63 31 00 01 77 00 01 6d 00 01 75 00 01 70"));
}

TEST(SendPacket, publish_and_subscribe_are_the_spec_examples_MQTT_3_1_1_figures_3_11_and_3_22) {
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: PUBLISH, qos: 1, topic: a/b, packet_id: 10, payload: p}}", "3.1.1"),
            hex("32 08 00 03 61 2f 62 00 0a 70"));
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: SUBSCRIBE, packet_id: 10, "
                     "subscriptions: [{filter: a/b, qos: 1}, {filter: c/d, qos: 2}]}}",
                     "3.1.1"),
            hex("82 0e 00 0a 00 03 61 2f 62 01 00 03 63 2f 64 02"));
}

TEST(SendPacket, a_qos2_publish_with_dup_in_5_0_has_an_empty_property_block) {
  // 0x3C: PUBLISH, DUP 1, QoS 2 (3.3.1); topic "t", packet id 10, property length 0 (3.3.2.3), "first".
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: PUBLISH, qos: 2, dup: true, topic: t, packet_id: 10, payload: first}}"),
            hex("3c 0b 00 01 74 00 0a 00 66 69 72 73 74"));
}

TEST(SendPacket, the_clients_version_decides_the_layout) {
  const std::string step = "send_packet: {client: c, packet: {type: PUBLISH, topic: t, payload: x}}";
  EXPECT_EQ(bytes_of(step), hex("30 05 00 01 74 00 78"));
  EXPECT_EQ(bytes_of(step, "5", "{c: {protocol: 3.1.1}}"), hex("30 04 00 01 74 78"));
  EXPECT_EQ(bytes_of(step, "3.1.1"), hex("30 04 00 01 74 78"));
}

TEST(SendPacket, packets_are_written_together_and_a_connect_sets_the_version_of_those_after_it) {
  // A 3.1.1 CONNECT (level 4, clean session) in a 5.0 scenario, then a PUBLISH in 3.1.1 layout.
  EXPECT_EQ(bytes_of("send_packet: {client: c, packets: [{type: CONNECT, protocol_version: 4, client_id: c1}, "
                     "{type: PUBLISH, topic: t, payload: x}]}"),
            hex("10 0e 00 04 4d 51 54 54 04 02 00 00 00 02 63 31  30 04 00 01 74 78"));
}

TEST(SendPacket, flags_replace_the_fixed_header_flags) {
  // PUBREL's flags must be 0010 [MQTT-3.6.1-1]; written as 0000.
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: PUBREL, packet_id: 1}, flags: 0}"), hex("60 02 00 01"));
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: DISCONNECT}, flags: 1}"), hex("e1 00"));
}

TEST(SendPacket, remaining_length_is_written_instead_of_the_length_and_the_body_stays) {
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: PINGREQ}, remaining_length: 5}"), hex("c0 05"));
  // 321 = 2 * 128 + 65: a two-byte Variable Byte Integer c1 02 (1.5.5).
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: PINGREQ}, remaining_length: 321}"), hex("c0 c1 02"));
}

TEST(SendPacket, trailing_bytes_are_inside_the_packet_and_counted) {
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: PINGREQ}, trailing: \"00\"}"), hex("c0 01 00"));
  // With remaining_length too, the length says what the override says.
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: PUBACK, packet_id: 1}, trailing: \"ff\", remaining_length: 2}", "3.1.1"),
            hex("40 02 00 01 ff"));
}

TEST(SendPacket, qos_3_and_packet_id_0_are_sendable_because_the_codec_checks_only_what_the_wire_can_hold) {
  // QoS bits 11 [MQTT-3.3.1-4]: 0x36.
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: PUBLISH, qos: 3, topic: t, packet_id: 1, payload: x}}", "3.1.1"),
            hex("36 06 00 01 74 00 01 78"));
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: SUBSCRIBE, packet_id: 0, subscriptions: [{filter: t, qos: 1}]}}", "3.1.1"),
            hex("82 06 00 00 00 01 74 01"));
}

TEST(SendPacket, values_are_read_like_every_scenario_value) {
  // Packet types in any case; templates substituted; a number under a text field is text.
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: pingreq}}"), hex("c0 00"));
  EXPECT_EQ(bytes_of("send_packet: {client: c, packet: {type: PUBLISH, topic: \"{base}/{client}\", payload: 5}}", "3.1.1"),
            hex("30 06 00 03 74 2f 63 35"));
}

TEST(SendPacket, loads_into_the_same_step_as_send_raw_with_the_same_bytes) {
  auto a = load_string("name: t\nprotocol: 5\nclients: {c: {}}\nsteps:\n"
                       "  - send_packet: {client: c, packet: {type: PUBLISH, qos: 1, topic: t, packet_id: 7, payload: hi}}\n",
                       "a.yaml");
  auto b = load_string("name: t\nprotocol: 5\nclients: {c: {}}\nsteps:\n"
                       "  - send_raw: {client: c, hex: \"32 08 00 01 74 00 07 00 68 69\"}\n",
                       "a.yaml");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.scenarios, b.scenarios);
}
