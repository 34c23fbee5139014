// What the session reports about a broker, and the statement it cites: the findings table
// checked against the statement lists (docs/spec/*.tsv) and docs/client.md, every finding
// kind driven with broker bytes, and the triage cases (docs/brokers.md) with the exact
// bytes the brokers sent.
#include <mqtth/client/ClientSession.hpp>
#include <mqtth/client/Findings.hpp>
#include <mqtth/report/Spec.hpp>

#include "session_harness.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace mqtth::client;
using namespace mqtth::client::testing;

namespace {

using mqtth::report::SpecVersion;

const std::regex kStatementId(R"(MQTT-\d+(\.\d+)+-\d+)");

bool one_statement_id(std::string_view id) { return std::regex_match(std::string(id), kStatementId); }

std::size_t ids_in(std::string_view text) {
  const std::string s(text);
  return static_cast<std::size_t>(std::distance(std::sregex_iterator(s.begin(), s.end(), kStatementId), std::sregex_iterator()));
}

SpecVersion spec_version(mqtt::Version v) { return v == mqtt::Version::v5 ? SpecVersion::v5 : SpecVersion::v3_1_1; }

}  // namespace

// ---------------------------------------------------------------------------------------
// The table

TEST(ClientFindingsTable, every_statement_is_one_broker_observable_id_of_its_version) {
  std::set<std::string_view> names;
  for (const FindingInfo& f : findings()) {
    SCOPED_TRACE(std::string(f.name));
    EXPECT_TRUE(names.insert(f.name).second) << "duplicate name";
    EXPECT_EQ(&info(f.kind), &f);
    if (f.from_codec) {
      EXPECT_TRUE(f.statement_311.empty() && f.statement_5.empty()) << "codec findings carry the codec's statement";
      continue;
    }
    bool applies_somewhere = false;
    for (const auto version : {mqtt::Version::v3_1_1, mqtt::Version::v5}) {
      const bool v5 = version == mqtt::Version::v5;
      const std::string_view primary = v5 ? f.statement_5 : f.statement_311;
      const std::string_view also = v5 ? f.see_also_5 : f.see_also_311;
      const std::string_view section = v5 ? f.section_5 : f.section_311;
      SCOPED_TRACE(v5 ? "5.0" : "3.1.1");
      EXPECT_EQ(statement(f.kind, version), primary);
      EXPECT_EQ(see_also(f.kind, version), also);
      if (primary.empty()) {
        EXPECT_TRUE(also.empty()) << "see also without a primary statement";
        applies_somewhere |= !section.empty();
        continue;
      }
      applies_somewhere = true;
      EXPECT_TRUE(section.empty()) << "a statement and a section";
      ASSERT_TRUE(one_statement_id(primary)) << primary;
      const auto* s = mqtth::report::find_statement(spec_version(version), primary);
      ASSERT_NE(s, nullptr) << primary << " is not a statement of this version";
      // The broker broke it, so it is one the broker can be seen to break.
      EXPECT_EQ(s->cls, "broker-observable") << primary;
      if (!also.empty()) {
        EXPECT_TRUE(one_statement_id(also)) << also;
        EXPECT_NE(mqtth::report::find_statement(spec_version(version), also), nullptr) << also;
        EXPECT_NE(also, primary);
      }
    }
    EXPECT_TRUE(applies_somewhere) << "a finding in neither version";
  }
}

// docs/client.md shows the table with the reason for each choice; the ids there are these.
TEST(ClientFindingsTable, docs_client_md_table_lists_every_finding_with_the_same_statements) {
  std::ifstream in(std::string(MQTTH_DOCS_DIR) + "/client.md");
  ASSERT_TRUE(in) << "docs/client.md";
  // Row: | `name` | what | 3.1.1 | 5.0 | why |; a statement cell is "MQTT-x (see also MQTT-y)",
  // "none (section)", "—" (no such finding in that version) or "the codec's".
  struct Cell {
    std::string statement, see_also, section;
    bool absent = false, codec = false;
  };
  const auto parse_cell = [](std::string c) {
    Cell out;
    const auto trim = [](std::string t) {
      t.erase(0, t.find_first_not_of(' '));
      t.erase(t.find_last_not_of(' ') + 1);
      return t;
    };
    c = trim(c);
    std::smatch m;
    if (c == "—") {
      out.absent = true;
    } else if (c == "the codec's") {
      out.codec = true;
    } else if (std::regex_match(c, m, std::regex(R"(none \(([0-9.]+)\))"))) {
      out.section = m[1];
    } else if (std::regex_match(c, m, std::regex(R"((MQTT-[0-9.\-]+)(?: \(see also (MQTT-[0-9.\-]+)\))?)"))) {
      out.statement = m[1];
      out.see_also = m[2];
    } else {
      ADD_FAILURE() << "unreadable statement cell: " << c;
    }
    return out;
  };
  std::set<std::string> seen;
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, std::regex(R"(\| `([a-z0-9_]+)` \|[^|]*\|([^|]*)\|([^|]*)\|.*)"))) continue;
    const std::string name = m[1];
    SCOPED_TRACE(name);
    const FindingInfo* f = nullptr;
    for (const auto& candidate : findings()) {
      if (candidate.name == name) f = &candidate;
    }
    ASSERT_NE(f, nullptr) << "docs/client.md names a finding the session does not have";
    EXPECT_TRUE(seen.insert(name).second) << "listed twice";
    const Cell c311 = parse_cell(m[2]);
    const Cell c5 = parse_cell(m[3]);
    EXPECT_EQ(c311.codec, f->from_codec);
    EXPECT_EQ(c5.codec, f->from_codec);
    if (f->from_codec) continue;
    EXPECT_EQ(c311.statement, f->statement_311);
    EXPECT_EQ(c311.see_also, f->see_also_311);
    EXPECT_EQ(c311.section, f->section_311);
    EXPECT_EQ(c311.absent, f->statement_311.empty() && f->section_311.empty());
    EXPECT_EQ(c5.statement, f->statement_5);
    EXPECT_EQ(c5.see_also, f->see_also_5);
    EXPECT_EQ(c5.section, f->section_5);
    EXPECT_EQ(c5.absent, f->statement_5.empty() && f->section_5.empty());
  }
  EXPECT_EQ(seen.size(), findings().size()) << "every finding has a row in docs/client.md";
}

// ---------------------------------------------------------------------------------------
// Every finding, driven with broker bytes: the event names its kind, cites the table's
// statement for the connection's version, and its message cites none.

namespace {

struct Case {
  Finding expected;
  mqtt::Version version;
  std::function<void(Harness&)> drive;
};

std::vector<Case> cases() {
  using V = mqtt::Version;
  const auto qos2_in = [](Harness& h) { h.feed(hex("34 07 00 01 74 00 09 68 69")); };  // QoS 2 "t" "hi" id 9
  return {
      {Finding::framing_error, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.feed(hex("30 ff ff ff ff 7f"));  // a fifth remaining-length byte
       }},
      {Finding::invalid_packet, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.feed(hex("36 07 00 01 74 00 01 68 69"));  // QoS 3
       }},
      {Finding::packet_too_large, V::v5, [](Harness& h) {
         ConnectOptions o = h.options();
         o.maximum_packet_size = 16;
         h.connect(o);
         h.feed(h.connack());
         h.feed(hex("30 20"));
       }},
      {Finding::client_only_packet, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.feed(hex("82 06 00 01 00 01 74 00"));  // SUBSCRIBE
       }},
      {Finding::client_only_packet, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.feed(hex("e0 00"));  // DISCONNECT: a client's packet in 3.1.1
       }},
      {Finding::client_only_packet, V::v5, [](Harness& h) {
         h.connected();
         h.feed(hex("c0 00"));  // PINGREQ
       }},
      {Finding::packet_before_connack, V::v3_1_1, [](Harness& h) {
         h.connect(h.options());
         h.feed(hex("30 05 00 01 74 68 69"));
       }},
      {Finding::second_connack, V::v5, [](Harness& h) {
         h.connected();
         h.feed(h.connack());
       }},
      {Finding::second_connack, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.feed(h.connack());
       }},
      {Finding::connack_to_second_connect, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.session.send_raw(hex("10 0e 00 04 4d 51 54 54 04 02 00 00 00 02 78 32"), h.now);
         h.feed(hex("20 02 00 00"));
       }},
      {Finding::session_present_on_clean_start, V::v3_1_1, [](Harness& h) {
         h.connect(h.options(true));
         h.feed(hex("20 02 01 00"));
       }},
      {Finding::disconnect_before_connack, V::v5, [](Harness& h) {
         h.connect(h.options());
         h.feed(hex("e0 00"));
       }},
      {Finding::auth_without_method, V::v5, [](Harness& h) {
         h.connected();
         h.feed(hex("f0 00"));
       }},
      {Finding::topic_alias_not_allowed, V::v5, [](Harness& h) {
         h.connected();
         h.feed(hex("30 09 00 01 74 03 23 00 01 68 69"));
       }},
      {Finding::topic_alias_above_maximum, V::v5, [](Harness& h) {
         ConnectOptions o = h.options();
         o.topic_alias_maximum = 1;
         h.connect(o);
         h.feed(h.connack());
         h.feed(hex("30 09 00 01 74 03 23 00 02 68 69"));
       }},
      {Finding::topic_alias_unmapped, V::v5, [](Harness& h) {
         ConnectOptions o = h.options();
         o.topic_alias_maximum = 5;
         h.connect(o);
         h.feed(h.connack());
         h.feed(hex("30 08 00 00 03 23 00 03 68 69"));
       }},
      {Finding::receive_maximum_exceeded, V::v5, [](Harness& h) {
         ConnectOptions o = h.options();
         o.receive_maximum = 1;
         h.connect(o);
         h.feed(h.connack());
         h.feed(hex("34 08 00 01 74 00 01 00 61 61 34 08 00 01 74 00 02 00 62 62"));
       }},
      {Finding::packet_id_in_use, V::v3_1_1, [=](Harness& h) {
         h.connected();
         qos2_in(h);
         h.feed(hex("34 07 00 01 74 00 09 6a 6a"));  // another payload, DUP 0, id 9 awaiting PUBREL
       }},
      {Finding::redelivery_without_dup, V::v3_1_1, [=](Harness& h) {
         h.connected();
         qos2_in(h);
         qos2_in(h);
       }},
      {Finding::publish_after_pubrel, V::v3_1_1, [=](Harness& h) {
         h.connected();
         qos2_in(h);
         h.feed(hex("62 02 00 09"));
         qos2_in(h);
       }},
      {Finding::resend_missing, V::v3_1_1, [](Harness& h) {
         h.connected(false);
         h.session.misbehaviour().withhold_puback = 1;
         h.feed(hex("32 07 00 01 74 00 01 68 69"));
         h.session.transport_closed(h.now);
         h.connect(h.options(false));
         h.feed(h.connack(true));
         EXPECT_EQ(h.session.report_resends_missing(h.now), 1u);
       }},
      {Finding::pubrel_unknown_id, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.feed(hex("62 02 00 05"));
       }},
      {Finding::ack_unknown_id, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.feed(hex("40 02 00 2a"));
       }},
      {Finding::ack_wrong_for_qos, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.publish("t", "x", 1);
         h.feed(hex("50 02 00 01"));  // PUBREC to a QoS 1 PUBLISH
       }},
      {Finding::pubcomp_without_pubrel, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.feed(hex("70 02 00 05"));
       }},
      {Finding::suback_unknown_id, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.feed(hex("90 03 00 07 01"));
       }},
      {Finding::suback_count, V::v3_1_1, [](Harness& h) {
         h.connected();
         SubscribeRequest sub;
         sub.subscriptions.push_back(mqtt::Subscription{"a", {1}});
         sub.subscriptions.push_back(mqtt::Subscription{"b", {2}});
         h.session.subscribe(sub, h.now);
         h.feed(hex("90 03 00 01 01"));
       }},
      {Finding::unsuback_unknown_id, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.feed(hex("b0 02 00 07"));
       }},
      {Finding::unsuback_count, V::v5, [](Harness& h) {
         h.connected();
         UnsubscribeRequest u;
         u.filters = {"a", "b"};
         h.session.unsubscribe(u, h.now);
         h.feed(hex("b0 04 00 01 00 00"));
       }},
      {Finding::answered_protocol_violation, V::v3_1_1, [](Harness& h) {
         h.connected();
         h.session.send_raw(hex("82 06 00 00 00 01 74 01"), h.now);
         h.feed(hex("90 03 00 00 01"));
       }},
      {Finding::pingresp_missing, V::v3_1_1, [](Harness& h) {
         ConnectOptions o = h.options();
         o.keep_alive = 1;
         h.connect(o);
         h.feed(h.connack());
         h.session.advance(1'000);
         h.session.advance(2'000);
       }},
  };
}

}  // namespace

TEST(ClientFindings, every_finding_kind_is_reported_with_its_statement_and_a_message_citing_none) {
  std::set<Finding> reached;
  for (const Case& c : cases()) {
    SCOPED_TRACE(std::string(to_string(c.expected)) + (c.version == mqtt::Version::v5 ? " 5.0" : " 3.1.1"));
    Harness h(c.version);
    c.drive(h);
    const auto v = h.violations();
    ASSERT_FALSE(v.empty()) << "no violation";
    EXPECT_EQ(v.size(), 1u) << "one act, one finding";
    EXPECT_EQ(v[0].finding, c.expected);
    EXPECT_EQ(ids_in(v[0].message), 0u) << v[0].message;
    if (!info(c.expected).from_codec) {
      EXPECT_EQ(v[0].spec, statement(c.expected, c.version));
      const auto also = see_also(c.expected, c.version);
      if (!also.empty()) {
        ASSERT_FALSE(v[0].see_also.empty());
        EXPECT_EQ(v[0].see_also[0], also);
      } else if (c.expected != Finding::answered_protocol_violation) {  // that one adds the rule the request broke
        EXPECT_TRUE(v[0].see_also.empty());
      }
      for (const auto id : v[0].see_also) {
        EXPECT_TRUE(one_statement_id(id)) << id;
        EXPECT_NE(mqtth::report::find_statement(spec_version(c.version), id), nullptr) << id;
        EXPECT_NE(id, v[0].spec);
      }
    }
    // A codec finding carries the codec's statement (whose ids the codec's tests own).
    if (!v[0].spec.empty()) {
      EXPECT_TRUE(one_statement_id(v[0].spec)) << v[0].spec;
    }
    reached.insert(v[0].finding);
  }
  for (const FindingInfo& f : findings()) EXPECT_TRUE(reached.count(f.kind)) << "not driven: " << f.name;
}

// ---------------------------------------------------------------------------------------
// The triage (docs/brokers.md): what mosquitto 2.0.11, aedes 1.2.0 and RabbitMQ 3.10.8 sent,
// and the statement each finding must cite. Where the triage's raw evidence elides bytes
// ("..."), the elided topic and payload are stand-ins of the announced lengths; the packet
// type, flags, remaining length and packet id are the brokers'.

// aedes re-sends an unacknowledged QoS 1 PUBLISH on resume with DUP 0 and its first packet id
// (session/unacked_qos1_resent_with_dup: id 29378 = 0x72c2 both times, dup false).
TEST(ClientFindingsTriage, aedes_qos1_resent_on_resume_with_dup_0_is_MQTT_3_3_1_1_not_2_3_1_4) {
  Harness h;
  h.connected(false);
  h.session.misbehaviour().withhold_puback = 1;
  const std::string publish = hex("32 09 00 03 71 2f 31 72 c2 6d 31");  // QoS 1, DUP 0, "q/1", id 0x72c2, "m1"
  h.feed(publish);
  EXPECT_EQ(h.output(), "");  // PUBACK withheld: the flow stays open
  h.session.transport_closed(1);
  h.connect(h.options(false));
  h.feed(hex("20 02 01 00"));
  h.feed(publish);  // the re-send, still DUP 0
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::redelivery_without_dup);
  EXPECT_EQ(v[0].spec, "MQTT-3.3.1-1");
  EXPECT_TRUE(v[0].see_also.empty());
  EXPECT_EQ(to_hex(h.output()), "40 02 72 c2");
  EXPECT_EQ(h.session.report_resends_missing(2), 0u);  // it did re-send
}

// The same for QoS 2 (session/unacked_qos2_publish_resent; raw probe: cut after PUBLISH,
// resume: `34 15 ... 5a b8 ...`, DUP 0, where mosquitto sends `3c ...`).
TEST(ClientFindingsTriage, aedes_qos2_resent_on_resume_with_dup_0_is_MQTT_3_3_1_1_and_not_delivered_twice) {
  for (const auto version : {mqtt::Version::v3_1_1, mqtt::Version::v5}) {
    SCOPED_TRACE(version == mqtt::Version::v5 ? "5.0" : "3.1.1");
    Harness h(version);
    h.connected(false);
    // QoS 2, DUP 0, "q/2", id 0x5ab8, "mqtth:1:0:0:0;" (5.0: with a property length of 0).
    const std::string publish = version == mqtt::Version::v5
        ? hex("34 16 00 03 71 2f 32 5a b8 00 6d 71 74 74 68 3a 31 3a 30 3a 30 3a 30 3b")
        : hex("34 15 00 03 71 2f 32 5a b8 6d 71 74 74 68 3a 31 3a 30 3a 30 3a 30 3b");
    h.feed(publish);
    EXPECT_EQ(to_hex(h.output()), "50 02 5a b8");
    h.session.transport_closed(1);
    h.connect(h.options(false));
    h.feed(h.connack(true));
    h.feed(publish);
    const auto v = h.violations();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].finding, Finding::redelivery_without_dup);
    EXPECT_EQ(v[0].spec, "MQTT-3.3.1-1");
    EXPECT_EQ(to_hex(h.output()), "50 02 5a b8");  // PUBREC again [MQTT-4.3.3-2 / 5.0 -10]
    EXPECT_EQ(h.take<event::MessageDelivered>().size(), 1u);
  }
}

// aedes, persistent QoS 2 subscriber cut after its two PUBRECs
// (faults/explore_qos2_subscriber_persistent; raw probe 3 of 3): on resume PUBREL for the
// second id `62 02 42 75`, then that id's PUBLISH again with DUP 0 `34 13 ... 42 75 74 77 6f`,
// and nothing for the first id. The sender broke "no PUBLISH after PUBREL" (3.1.1
// MQTT-4.3.3-1 / 5.0 MQTT-4.3.3-6), the first deviation; the second delivery it causes is its
// consequence, not the receiver's MQTT-4.3.3-2 / -10. The first id's flow was never resumed
// [MQTT-4.4.0-1]: the session's to see, since that message was delivered at its PUBLISH.
TEST(ClientFindingsTriage, aedes_publish_after_pubrel_on_resume_is_the_senders_MQTT_4_3_3_1_and_the_id_not_resumed_4_4_0_1) {
  for (const auto version : {mqtt::Version::v3_1_1, mqtt::Version::v5}) {
    const bool v5 = version == mqtt::Version::v5;
    SCOPED_TRACE(v5 ? "5.0" : "3.1.1");
    Harness h(version);
    h.connected(false);
    // QoS 2, DUP 0, "faults/q2/pe", ids 0x4274 "one" and 0x4275 "two" (5.0: property length 0).
    const std::string first = v5 ? hex("34 14 00 0c 66 61 75 6c 74 73 2f 71 32 2f 70 65 42 74 00 6f 6e 65")
                                 : hex("34 13 00 0c 66 61 75 6c 74 73 2f 71 32 2f 70 65 42 74 6f 6e 65");
    const std::string second = v5 ? hex("34 14 00 0c 66 61 75 6c 74 73 2f 71 32 2f 70 65 42 75 00 74 77 6f")
                                  : hex("34 13 00 0c 66 61 75 6c 74 73 2f 71 32 2f 70 65 42 75 74 77 6f");
    h.feed(first + second);
    EXPECT_EQ(to_hex(h.output()), "50 02 42 74 50 02 42 75");
    h.session.transport_closed(1);  // the cut
    h.connect(h.options(false));
    h.feed(h.connack(true));
    h.feed(hex("62 02 42 75"));
    EXPECT_EQ(to_hex(h.output()), "70 02 42 75");
    h.feed(second);
    const auto v = h.violations();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].finding, Finding::publish_after_pubrel);
    EXPECT_EQ(v[0].spec, v5 ? "MQTT-4.3.3-6" : "MQTT-4.3.3-1");
    const auto delivered = h.take<event::MessageDelivered>();
    ASSERT_EQ(delivered.size(), 3u);  // one, two, and two again: the spec makes it a new message
    EXPECT_TRUE(delivered[0].consequence_of.empty());
    EXPECT_TRUE(delivered[1].consequence_of.empty());
    EXPECT_EQ(delivered[2].payload, "two");
    EXPECT_EQ(delivered[2].consequence_of, v[0].spec);
    EXPECT_EQ(h.session.report_resends_missing(2), 1u);
    const auto all = h.violations();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[1].finding, Finding::resend_missing);
    EXPECT_EQ(all[1].spec, "MQTT-4.4.0-1");
    EXPECT_NE(all[1].message.find("packet id 17012"), std::string::npos) << all[1].message;  // 0x4274
    EXPECT_EQ(h.session.report_resends_missing(3), 0u);  // reported once
    for (const auto& e : all) EXPECT_NE(e.spec, v5 ? "MQTT-4.3.3-10" : "MQTT-4.3.3-2");
  }
}

// RabbitMQ 3.10 answers a QoS 2 PUBLISH with PUBACK (raw probe `34 08 00 03 71 2f 32 00 07 78`
// -> `40 02 00 07`). The id is right (MQTT-2.3.1-6 met); the answer is not the one QoS 2 asks
// for [MQTT-3.3.4-1].
TEST(ClientFindingsTriage, rabbitmq_puback_to_qos2_publish_is_MQTT_3_3_4_1_not_2_3_1_6) {
  Harness h;
  h.connected();
  h.session.misbehaviour().fixed_packet_id = 7;
  h.publish("q/2", "x", 2);
  EXPECT_EQ(to_hex(h.output()), "34 08 00 03 71 2f 32 00 07 78");  // the probe's PUBLISH
  h.feed(hex("40 02 00 07"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::ack_wrong_for_qos);
  EXPECT_EQ(v[0].spec, "MQTT-3.3.4-1");
  EXPECT_TRUE(h.take<event::PublishCompleted>().empty());  // still waiting for its PUBREC
}

TEST(ClientFindingsTriage, rabbitmq_puback_to_a_raw_qos2_publish_is_MQTT_3_3_4_1) {
  Harness h;
  h.connected();
  h.session.send_raw(hex("34 08 00 03 71 2f 32 00 07 78"), h.now);
  h.feed(hex("40 02 00 07"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::ack_wrong_for_qos);
  EXPECT_EQ(v[0].spec, "MQTT-3.3.4-1");
}

// aedes and RabbitMQ answer a SUBSCRIBE with packet id 0 (malformed/subscribe_packet_id_zero,
// `82 06 00 00 00 01 74 01`) with `90 03 00 00 01` and keep the connection open. The SUBACK
// echoes the id as MQTT-2.3.1-7 demands; the broker broke closing on the protocol violation
// [MQTT-4.8.0-1]; the SUBSCRIBE broke MQTT-2.3.1-1 on purpose.
TEST(ClientFindingsTriage, suback_echoing_a_raw_subscribe_with_id_0_is_MQTT_4_8_0_1_not_2_3_1_7) {
  Harness h;
  h.connected();
  h.session.send_raw(hex("82 06 00 00 00 01 74 01"), h.now);
  h.output();
  h.feed(hex("90 03 00 00 01"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::answered_protocol_violation);
  EXPECT_EQ(v[0].spec, "MQTT-4.8.0-1");
  ASSERT_EQ(v[0].see_also.size(), 1u);
  EXPECT_EQ(v[0].see_also[0], "MQTT-2.3.1-1");
  EXPECT_TRUE(v[0].fatal);  // the rule demands closing; the client does what the broker did not
  EXPECT_TRUE(h.session.close_requested());
  const auto acks = h.take<event::SubackReceived>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 0);
  EXPECT_EQ(acks[0].reason_codes, std::vector<std::uint8_t>{0x01});
}

TEST(ClientFindingsTriage, suback_echoing_a_raw_subscribe_with_id_0_in_v5_is_MQTT_4_13_1_1) {
  Harness h(mqtt::Version::v5);
  h.connected();
  h.session.send_raw(hex("82 07 00 00 00 00 01 74 01"), h.now);
  h.feed(hex("90 04 00 00 00 01"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-4.13.1-1");
  ASSERT_EQ(v[0].see_also.size(), 1u);
  EXPECT_EQ(v[0].see_also[0], "MQTT-2.2.1-3");
}

// Any raw request the codec calls a protocol error must be refused by closing, whether the
// codec has a statement id for the rule it broke or not (5.0: a subscription's maximum QoS 3).
TEST(ClientFindingsTriage, an_answer_to_a_raw_protocol_error_without_a_statement_id_is_still_MQTT_4_13_1_1) {
  Harness h(mqtt::Version::v5);
  h.connected();
  h.session.send_raw(hex("82 07 00 05 00 00 01 74 03"), h.now);  // SUBSCRIBE id 5, "t", options QoS 3
  h.feed(hex("90 04 00 05 00 80"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::answered_protocol_violation);
  EXPECT_EQ(v[0].spec, "MQTT-4.13.1-1");
}

// Without a request of id 0 the same SUBACK is the codec's: an id nobody used.
TEST(ClientFindingsTriage, suback_with_id_0_that_nothing_asked_for_stays_the_codecs_MQTT_2_3_1_7) {
  Harness h;
  h.connected();
  h.feed(hex("90 03 00 00 01"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::invalid_packet);
  EXPECT_EQ(v[0].spec, "MQTT-2.3.1-7");
}

// The session's own SUBSCRIBE with id 0 (misbehaviour fixed_packet_id 0) is judged the same.
TEST(ClientFindingsTriage, suback_to_the_sessions_own_subscribe_with_id_0_is_MQTT_4_8_0_1) {
  Harness h;
  h.connected();
  h.session.misbehaviour().fixed_packet_id = 0;
  SubscribeRequest sub;
  sub.subscriptions.push_back(mqtt::Subscription{"t", {1}});
  ASSERT_TRUE(h.session.subscribe(sub, h.now).ok());
  EXPECT_EQ(to_hex(h.output()), "82 06 00 00 00 01 74 01");
  h.feed(hex("90 03 00 00 01"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::answered_protocol_violation);
  EXPECT_EQ(v[0].spec, "MQTT-4.8.0-1");
}

// RabbitMQ answers a second CONNECT (connect/second_connect_is_a_protocol_violation) with a
// second `20 02 00 00` and keeps the connection open: the rule it broke binds the server's
// handling of the second CONNECT [MQTT-3.1.0-2]; in 5.0 the CONNACK also breaks MQTT-3.2.0-2.
TEST(ClientFindingsTriage, rabbitmq_connack_to_a_second_connect_is_MQTT_3_1_0_2) {
  Harness h;
  h.connected();
  h.session.send_raw(hex("10 0e 00 04 4d 51 54 54 04 02 00 00 00 02 78 32"), h.now);
  h.feed(hex("20 02 00 00"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::connack_to_second_connect);
  EXPECT_EQ(v[0].spec, "MQTT-3.1.0-2");
  ASSERT_EQ(v[0].see_also.size(), 1u);
  EXPECT_EQ(v[0].see_also[0], "MQTT-4.8.0-1");
  EXPECT_TRUE(v[0].fatal);
}

TEST(ClientFindingsTriage, connack_to_a_second_connect_in_v5_is_MQTT_3_1_0_2_see_also_3_2_0_2) {
  Harness h(mqtt::Version::v5);
  h.connected();
  h.session.send_raw(hex("10 0f 00 04 4d 51 54 54 05 02 00 00 00 00 02 78 32"), h.now);
  h.feed(hex("20 03 00 00 00"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.1.0-2");
  ASSERT_EQ(v[0].see_also.size(), 1u);
  EXPECT_EQ(v[0].see_also[0], "MQTT-3.2.0-2");
}

TEST(ClientFindingsTriage, a_second_connack_nothing_asked_for_is_5_0_MQTT_3_2_0_2_and_no_statement_in_3_1_1) {
  Harness h5(mqtt::Version::v5);
  h5.connected();
  h5.feed(h5.connack());
  ASSERT_EQ(h5.violations().size(), 1u);
  EXPECT_EQ(h5.violations()[0].spec, "MQTT-3.2.0-2");
  Harness h;
  h.connected();
  h.feed(h.connack());
  ASSERT_EQ(h.violations().size(), 1u);
  EXPECT_EQ(h.violations()[0].finding, Finding::second_connack);
  EXPECT_EQ(h.violations()[0].spec, "");
}

// ---------------------------------------------------------------------------------------
// The rest of the QoS flow audit (docs/client.md): the wrong answer, and answers to nothing.

TEST(ClientFindingsFlow, pubcomp_before_pubrec_is_the_wrong_answer_to_a_qos2_publish_MQTT_3_3_4_1) {
  Harness h;
  h.connected();
  h.publish("t", "x", 2);
  h.feed(hex("70 02 00 01"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::ack_wrong_for_qos);
  EXPECT_EQ(v[0].spec, "MQTT-3.3.4-1");
  EXPECT_TRUE(h.take<event::PublishCompleted>().empty());
}

TEST(ClientFindingsFlow, pubcomp_to_a_qos1_publish_is_MQTT_3_3_4_1) {
  Harness h(mqtt::Version::v5);
  h.connected();
  h.publish("t", "x", 1);
  h.feed(hex("70 02 00 01"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].spec, "MQTT-3.3.4-1");
}

TEST(ClientFindingsFlow, pubcomp_the_client_sent_no_pubrel_for_is_the_receivers_MQTT_4_3_3_2_and_5_0_4_3_3_11) {
  for (const auto version : {mqtt::Version::v3_1_1, mqtt::Version::v5}) {
    const bool v5 = version == mqtt::Version::v5;
    SCOPED_TRACE(v5 ? "5.0" : "3.1.1");
    Harness h(version);
    h.connected();
    h.session.misbehaviour().skip_pubrel = 1;
    h.publish("t", "x", 2);
    h.output();
    h.feed(hex("50 02 00 01"));
    EXPECT_TRUE(h.sent().empty());  // PUBREL skipped on purpose
    h.feed(hex("70 02 00 01"));
    const auto v = h.violations();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].finding, Finding::pubcomp_without_pubrel);
    EXPECT_EQ(v[0].spec, v5 ? "MQTT-4.3.3-11" : "MQTT-4.3.3-2");
    EXPECT_TRUE(h.take<event::PublishCompleted>().empty());
    EXPECT_TRUE(h.session.packet_id_in_use(1));
  }
}

TEST(ClientFindingsFlow, pubrel_for_an_id_that_carried_nothing_is_the_senders_MQTT_4_3_3_1_and_5_0_4_3_3_4) {
  for (const auto version : {mqtt::Version::v3_1_1, mqtt::Version::v5}) {
    const bool v5 = version == mqtt::Version::v5;
    SCOPED_TRACE(v5 ? "5.0" : "3.1.1");
    Harness h(version);
    h.connected(true);  // a clean start: the session saw everything the broker sent it
    h.feed(hex("62 02 00 05"));
    const auto v = h.violations();
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].finding, Finding::pubrel_unknown_id);
    EXPECT_EQ(v[0].spec, v5 ? "MQTT-4.3.3-4" : "MQTT-4.3.3-1");
    // Still answered, as 4.3.3 lets a receiver end a flow it does not know (5.0: 0x92).
    const auto sent = h.sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(std::get<mqtt::Pubcomp>(sent[0]).reason_code, v5 ? mqtt::reason::packet_identifier_not_found : 0);
  }
}

TEST(ClientFindingsFlow, pubrel_for_an_unknown_id_of_a_session_resumed_from_before_is_not_judged) {
  Harness h;
  h.connect(h.options(false));
  h.feed(h.connack(true));  // a session begun before this ClientSession existed
  h.feed(hex("62 02 00 05"));
  EXPECT_TRUE(h.violations().empty());
  EXPECT_EQ(to_hex(h.output()), "70 02 00 05");
}

TEST(ClientFindingsFlow, pubrel_re_sent_for_a_released_id_is_legal) {
  Harness h;
  h.connected(false);
  h.feed(hex("34 07 00 01 74 00 09 68 69 62 02 00 09"));
  h.session.transport_closed(1);  // the PUBCOMP may not have arrived
  h.connect(h.options(false));
  h.feed(h.connack(true));
  h.feed(hex("62 02 00 09"));
  EXPECT_TRUE(h.violations().empty());
  EXPECT_EQ(h.session.report_resends_missing(2), 0u);  // a released id owes nothing
}

TEST(ClientFindingsFlow, answers_to_raw_pubrec_and_pubrel_are_not_answers_to_nothing) {
  Harness h;
  h.connected();
  h.session.send_raw(hex("50 02 00 05 62 02 00 06"), h.now);  // PUBREC 5, PUBREL 6, one write
  h.feed(hex("62 02 00 05 70 02 00 06"));                    // PUBREL 5, PUBCOMP 6
  EXPECT_TRUE(h.violations().empty());
  // A second PUBCOMP 6 answers nothing any more.
  h.feed(hex("70 02 00 06"));
  ASSERT_EQ(h.violations().size(), 1u);
  EXPECT_EQ(h.violations()[0].finding, Finding::pubcomp_without_pubrel);
}

TEST(ClientFindingsFlow, raw_bytes_that_are_no_whole_packet_are_noted_until_the_connection_ends) {
  Harness h;
  h.connected(false);
  h.session.send_raw(hex("c0 00"), h.now);  // PINGREQ: readable
  EXPECT_FALSE(h.session.wrote_unreadable_raw());
  h.session.send_raw(hex("82 08 00 01 00 03 61 00 62 01"), h.now);  // SUBSCRIBE, U+0000 in the filter
  EXPECT_TRUE(h.session.wrote_unreadable_raw());
  h.session.transport_closed(1);
  h.connect(h.options(false));
  h.feed(h.connack(false));
  EXPECT_FALSE(h.session.wrote_unreadable_raw());
  h.session.send_raw(hex("82 05 00 02"), h.now);  // the frame's body never comes
  EXPECT_TRUE(h.session.wrote_unreadable_raw());
}

TEST(ClientFindingsFlow, answers_to_raw_packets_are_forgotten_with_the_connection) {
  Harness h;
  h.connected(false);
  h.session.send_raw(hex("62 02 00 06"), h.now);
  h.session.transport_closed(1);
  h.connect(h.options(false));
  h.feed(h.connack(false));
  h.feed(hex("70 02 00 06"));
  ASSERT_EQ(h.violations().size(), 1u);
  EXPECT_EQ(h.violations()[0].finding, Finding::pubcomp_without_pubrel);
}

TEST(ClientFindingsFlow, pubrec_to_a_raw_qos1_publish_is_MQTT_3_3_4_1_and_puback_to_it_is_fine) {
  Harness h;
  h.connected();
  h.session.send_raw(hex("32 07 00 01 74 00 05 68 69 32 07 00 01 74 00 06 68 69"), h.now);
  h.output();
  h.feed(hex("40 02 00 05"));
  EXPECT_TRUE(h.violations().empty());
  h.feed(hex("50 02 00 06"));
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::ack_wrong_for_qos);
  EXPECT_EQ(v[0].spec, "MQTT-3.3.4-1");
  EXPECT_TRUE(h.sent().empty());  // a raw flow is the caller's: no PUBREL, no 0x92
}

TEST(ClientFindingsFlow, a_raw_request_id_is_not_allocated_until_answered) {
  Harness h;
  h.connected();
  h.session.send_raw(hex("82 06 00 01 00 01 74 01"), h.now);  // SUBSCRIBE id 1
  EXPECT_TRUE(h.session.packet_id_in_use(1));
  EXPECT_EQ(h.publish("t", "x", 1).packet_id, 2);
  h.feed(hex("90 03 00 01 01"));
  EXPECT_TRUE(h.violations().empty());
  EXPECT_FALSE(h.session.packet_id_in_use(1));
}

TEST(ClientFindingsFlow, the_same_message_on_a_released_id_is_a_resend_after_pubrel_whatever_its_dup) {
  // After PUBCOMP the id is free; the broker sending the message it just released again,
  // even with DUP 0, is a re-send after PUBREL (aedes), while a different message is new.
  Harness h;
  h.connected();
  h.feed(hex("34 07 00 01 74 00 09 68 69 62 02 00 09"));
  h.feed(hex("34 07 00 01 74 00 09 6a 6a"));  // another message on the free id: legal
  EXPECT_TRUE(h.violations().empty());
  h.feed(hex("62 02 00 09"));
  h.feed(hex("34 07 00 01 74 00 09 6a 6a"));  // that one again, after its PUBREL, DUP 0
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::publish_after_pubrel);
}

TEST(ClientFindingsFlow, a_dup_1_publish_of_another_message_on_an_id_in_flight_is_packet_id_reuse) {
  Harness h;
  h.connected();
  h.feed(hex("34 07 00 01 74 00 09 68 69"));
  h.feed(hex("3c 07 00 01 74 00 09 6a 6a"));  // DUP 1, but not the message id 9 carries
  const auto v = h.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].finding, Finding::packet_id_in_use);
  EXPECT_EQ(v[0].spec, "MQTT-2.3.1-4");
  EXPECT_EQ(h.take<event::MessageDelivered>().size(), 1u);
}
