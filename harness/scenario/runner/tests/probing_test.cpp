#include <gtest/gtest.h>

#include "mqtth/runner/Probing.hpp"

using namespace mqtth::runner;
using Kind = ProbeAnswer::Kind;
using mqtt::Version;

namespace {

std::string hex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size();) {
    if (h[i] == ' ') {
      ++i;
      continue;
    }
    out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

ProbeAnswer answer(Kind kind, std::string seen = "seen") {
  ProbeAnswer a;
  a.kind = kind;
  a.seen = std::move(seen);
  return a;
}

}  // namespace

TEST(Probing, the_probe_connect_is_a_typical_one) {
  for (auto v : {Version::v3_1_1, Version::v5}) {
    const auto bytes = probe_connect_bytes(v, "mh1a2b3cprobex");
    auto decoded = mqtt::decode(bytes, mqtt::DecodeOptions{v});
    ASSERT_TRUE(decoded.ok()) << decoded.error.message;
    const auto& c = std::get<mqtt::ConnectView>(decoded.value);
    EXPECT_EQ(c.protocol_version, v);
    EXPECT_TRUE(c.clean_start);
    EXPECT_EQ(c.keep_alive, 60);
    EXPECT_EQ(c.client_id, "mh1a2b3cprobex");
    EXPECT_FALSE(c.will);
    EXPECT_FALSE(c.username);
  }
}

TEST(Probing, accepted_connacks_in_each_version) {
  auto a = judge_probe_answer(Version::v3_1_1, hex("20 02 00 00"), false);
  EXPECT_EQ(a.kind, Kind::accepted);
  a = judge_probe_answer(Version::v5, hex("20 05 00 00 02 24 01"), false);  // Maximum QoS 1
  EXPECT_EQ(a.kind, Kind::accepted);
  ASSERT_TRUE(a.connack);
  EXPECT_TRUE(a.connack->properties.find(mqtt::PropertyId::maximum_qos));
  // Bytes after the CONNACK (a broker that sends more at once) do not matter.
  EXPECT_EQ(judge_probe_answer(Version::v3_1_1, hex("20 02 00 00 d0 00"), true).kind, Kind::accepted);
}

TEST(Probing, a_3_1_1_only_broker_refuses_mqtt_5_in_its_own_format) {
  // aedes 1.2: a 5.0 CONNECT gets a 3.1.1 CONNACK 0x01 (5.0 3.1.2.2 allows the old format).
  auto a = judge_probe_answer(Version::v5, hex("20 02 00 01"), true);
  EXPECT_EQ(a.kind, Kind::version_refused);
  EXPECT_NE(a.seen.find("20 02 00 01"), std::string::npos) << a.seen;
  EXPECT_NE(a.seen.find("3.1.1 format"), std::string::npos) << a.seen;
  EXPECT_NE(a.seen.find("unacceptable_protocol_version"), std::string::npos) << a.seen;
  // Even "accepted" in the 3.1.1 format is no 5.0 session.
  EXPECT_EQ(judge_probe_answer(Version::v5, hex("20 02 00 00"), false).kind, Kind::version_refused);
  // The 5.0 way: 0x84 Unsupported Protocol Version.
  a = judge_probe_answer(Version::v5, hex("20 03 00 84 00"), true);
  EXPECT_EQ(a.kind, Kind::version_refused);
  EXPECT_NE(a.seen.find("0x84 (unsupported_protocol_version)"), std::string::npos) << a.seen;
  // A 5.0-only broker refusing 3.1.1.
  EXPECT_EQ(judge_probe_answer(Version::v3_1_1, hex("20 02 00 01"), true).kind, Kind::version_refused);
}

TEST(Probing, other_refusals_are_refusals_of_the_typical_connect) {
  auto a = judge_probe_answer(Version::v3_1_1, hex("20 02 00 05"), true);
  EXPECT_EQ(a.kind, Kind::refused);
  EXPECT_NE(a.seen.find("0x05 (not_authorized)"), std::string::npos) << a.seen;
  EXPECT_EQ(judge_probe_answer(Version::v5, hex("20 03 00 87 00"), true).kind, Kind::refused);
}

TEST(Probing, peers_that_are_no_mqtt_broker) {
  // An HTTP server answers the CONNECT with a status line.
  auto a = judge_probe_answer(Version::v3_1_1, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", true);
  EXPECT_EQ(a.kind, Kind::not_mqtt);
  EXPECT_NE(a.seen.find("\"HTTP/1.1 400 Bad Request\""), std::string::npos) << a.seen;
  // Binary that is no CONNACK (a TLS alert).
  a = judge_probe_answer(Version::v5, hex("15 03 03 00 02 02 50"), true);
  EXPECT_EQ(a.kind, Kind::not_mqtt);
  EXPECT_NE(a.seen.find("15 03 03 00 02 02 50"), std::string::npos) << a.seen;
  // A CONNACK type byte with a body that is no CONNACK.
  EXPECT_EQ(judge_probe_answer(Version::v3_1_1, hex("20 05 01 02 03 04 05"), true).kind, Kind::not_mqtt);
  EXPECT_EQ(judge_probe_answer(Version::v3_1_1, hex("20 02 00"), true).kind, Kind::not_mqtt);
  // Closed without a byte; connected and nothing.
  EXPECT_EQ(judge_probe_answer(Version::v3_1_1, "", true).kind, Kind::closed);
  EXPECT_EQ(judge_probe_answer(Version::v3_1_1, "", false).kind, Kind::silent);
}

TEST(Probing, a_peer_that_is_no_broker_ends_the_run) {
  const std::vector<std::string> both = {"3.1.1", "5"};
  auto d = decide_probes("127.0.0.1:1883", {{"3.1.1", answer(Kind::unreachable, "no TCP connection: Connection refused")}},
                         both, std::nullopt, "p");
  ASSERT_TRUE(d.fatal);
  EXPECT_NE(d.fatal->find("127.0.0.1:1883"), std::string::npos);
  EXPECT_NE(d.fatal->find("Connection refused"), std::string::npos);
  d = decide_probes("h:1", {{"3.1.1", answer(Kind::silent, "nothing within 5 s")}}, both, std::nullopt, "p");
  ASSERT_TRUE(d.fatal);
  EXPECT_NE(d.fatal->find("accepted the TCP connection but sent nothing within 5 s after the MQTT 3.1.1 CONNECT"),
            std::string::npos) << *d.fatal;
  d = decide_probes("h:1", {{"3.1.1", answer(Kind::not_mqtt, "text \"HTTP/1.1 400\", which is no CONNACK")}}, both,
                    std::nullopt, "p");
  ASSERT_TRUE(d.fatal);
  EXPECT_NE(d.fatal->find("answered the MQTT 3.1.1 CONNECT with text \"HTTP/1.1 400\""), std::string::npos) << *d.fatal;
  d = decide_probes("h:1", {{"3.1.1", answer(Kind::closed)}, {"5", answer(Kind::closed)}}, both, std::nullopt, "p");
  ASSERT_TRUE(d.fatal);
  EXPECT_NE(d.fatal->find("closed it without a CONNACK to the MQTT 3.1.1 and MQTT 5 CONNECT"), std::string::npos) << *d.fatal;
  d = decide_probes("h:1", {{"3.1.1", answer(Kind::accepted)}, {"5", answer(Kind::refused, "CONNACK 20 03 00 87 00")}},
                    both, std::nullopt, "p");
  ASSERT_TRUE(d.fatal);
  EXPECT_NE(d.fatal->find("refuses the harness's MQTT 5 CONNECT"), std::string::npos) << *d.fatal;
}

TEST(Probing, a_refused_version_is_skipped_with_one_reason) {
  const std::vector<std::string> both = {"3.1.1", "5"};
  auto d = decide_probes("h:1", {{"3.1.1", answer(Kind::accepted)}, {"5", answer(Kind::version_refused, "CONNACK 20 02 00 01 (...)")}},
                         both, std::nullopt, "aedes");
  EXPECT_FALSE(d.fatal);
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_EQ(d.skipped["5"], "broker refuses MQTT 5: CONNACK 20 02 00 01 (...)");
  // RabbitMQ 3.10 closes a 5.0 CONNECT.
  d = decide_probes("h:1", {{"3.1.1", answer(Kind::accepted)}, {"5", answer(Kind::closed)}}, both, std::nullopt, "p");
  EXPECT_FALSE(d.fatal);
  EXPECT_NE(d.skipped["5"].find("closed the connection after the CONNECT without a CONNACK"), std::string::npos);
}

TEST(Probing, the_profile_declares_versions) {
  const std::vector<std::string> both = {"3.1.1", "5"};
  // protocols: [3.1.1]: MQTT 5 is not probed, its scenarios are skipped.
  auto d = decide_probes("h:1", {{"3.1.1", answer(Kind::accepted)}}, both, std::vector<std::string>{"3.1.1"}, "rabbitmq");
  EXPECT_FALSE(d.fatal);
  EXPECT_NE(d.skipped["5"].find("profile rabbitmq says the broker speaks only MQTT 3.1.1"), std::string::npos) << d.skipped["5"];
  // A version the profile declares runs even when the probe is refused (and fails there).
  d = decide_probes("h:1", {{"3.1.1", answer(Kind::accepted)}, {"5", answer(Kind::version_refused, "CONNACK x")}}, both,
                    std::vector<std::string>{"3.1.1", "5"}, "p");
  EXPECT_FALSE(d.fatal);
  EXPECT_TRUE(d.skipped.empty());
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("profile p says the broker speaks MQTT 5"), std::string::npos) << d.warnings[0];
}

TEST(Probing, nothing_to_run_when_every_version_used_is_refused) {
  auto d = decide_probes("h:1", {{"5", answer(Kind::version_refused, "CONNACK 20 02 00 01")}}, {"5"}, std::nullopt, "p");
  ASSERT_TRUE(d.fatal);
  EXPECT_NE(d.fatal->find("broker refuses MQTT 5: CONNACK 20 02 00 01"), std::string::npos) << *d.fatal;
  EXPECT_TRUE(d.skipped.empty());
  d = decide_probes("h:1", {}, {"5"}, std::vector<std::string>{"3.1.1"}, "p");
  ASSERT_TRUE(d.fatal);
  EXPECT_NE(d.fatal->find("only MQTT 3.1.1"), std::string::npos) << *d.fatal;
}

TEST(Probing, a_refused_portable_client_id_breaks_MQTT_3_1_3_5) {
  auto v = judge_connect_refusal(Version::v3_1_1, 0x02, "mh1a2b3c17xsub");
  EXPECT_EQ(v.status, mqtth::report::Status::failed);
  EXPECT_EQ(v.statement, "MQTT-3.1.3-5");
  v = judge_connect_refusal(Version::v5, 0x85, "AbcdefghijklmnopQRSTU09");
  EXPECT_EQ(v.status, mqtth::report::Status::failed);
  // Outside the portable set (a '-', 24 bytes, empty) a server may refuse.
  for (const char* id : {"sub-1", "abcdefghijklmnopqrstuvwx", ""}) {
    v = judge_connect_refusal(Version::v5, 0x85, id);
    EXPECT_EQ(v.status, mqtth::report::Status::skipped) << id;
    EXPECT_EQ(v.statement, "MQTT-3.1.3-5") << id;
  }
}

TEST(Probing, legal_refusals_skip_and_transient_ones_are_errors) {
  using S = mqtth::report::Status;
  EXPECT_EQ(judge_connect_refusal(Version::v3_1_1, 0x05, "x").status, S::skipped);  // not authorized
  EXPECT_EQ(judge_connect_refusal(Version::v3_1_1, 0x04, "x").status, S::skipped);  // bad user name or password
  EXPECT_EQ(judge_connect_refusal(Version::v5, 0x87, "x").status, S::skipped);
  auto v = judge_connect_refusal(Version::v5, 0x9B, "x");
  EXPECT_EQ(v.status, S::skipped);
  EXPECT_EQ(v.statement, "MQTT-3.2.2-12");  // will QoS not supported
  EXPECT_EQ(judge_connect_refusal(Version::v5, 0x9A, "x").statement, "MQTT-3.2.2-13");
  EXPECT_EQ(judge_connect_refusal(Version::v3_1_1, 0x03, "x").status, S::error);  // server unavailable
  for (int code : {0x88, 0x89, 0x97, 0x9F, 0x80, 0x81, 0x82, 0x83})
    EXPECT_EQ(judge_connect_refusal(Version::v5, static_cast<std::uint8_t>(code), "x").status, S::error) << code;
  EXPECT_EQ(judge_connect_refusal(Version::v3_1_1, 0x07, "x").status, S::error);  // undefined in 3.1.1
}

TEST(Probing, connack_codes_are_named_per_version) {
  EXPECT_EQ(connack_code_text(Version::v3_1_1, 0x05), "0x05 (not_authorized)");
  EXPECT_EQ(connack_code_text(Version::v5, 0x9F), "0x9F (connection_rate_exceeded)");
  EXPECT_EQ(connack_code_text(Version::v3_1_1, 0x07), "0x07 (undefined)");
}
