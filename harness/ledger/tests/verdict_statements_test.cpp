// The statement a ledger verdict names (docs/reports.md "Verdicts"): with the run's version
// known, exactly one id, of that version (docs/spec/*.tsv), in the reason and in
// `statement`; the row's other problems in `see_also`; consequences of a deviation reported
// where it happened (a PUBLISH re-sent after PUBREL, a lost session) named by that
// deviation, never by a rule of their own.
#include <gtest/gtest.h>

#include <mqtt/codec.hpp>
#include <mqtth/report/Spec.hpp>

#include <regex>
#include <string>

#include "mqtth/ledger/Ledger.hpp"

using namespace mqtth::ledger;

namespace {

const std::regex kStatementId(R"(MQTT-\d+(\.\d+)+-\d+)");

std::size_t ids_in(const std::string& text) {
  return static_cast<std::size_t>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), kStatementId), std::sregex_iterator()));
}

mqtth::report::SpecVersion spec_version(mqtt::Version v) {
  return v == mqtt::Version::v5 ? mqtth::report::SpecVersion::v5 : mqtth::report::SpecVersion::v3_1_1;
}

// "pub" publishes to t/a at `qos`; "sub" holds t/# granted `granted`.
struct Scene {
  Scene(mqtt::Version version, std::uint8_t qos, std::uint8_t granted) : ledger(7, version) {
    ledger.subscribe(sub, "t/#", granted);
    stream = ledger.stream(pub, "t/a", qos);
  }
  Scene(std::uint8_t qos, std::uint8_t granted) : ledger(7) {  // no version given
    ledger.subscribe(sub, "t/#", granted);
    stream = ledger.stream(pub, "t/a", qos);
  }
  Ledger ledger;
  ClientId pub = ledger.client("pub");
  ClientId sub = ledger.client("sub");
  StreamId stream = 0;
  std::vector<MessageId> ids;

  void publish(int n) {
    for (int i = 0; i < n; ++i) {
      ids.push_back(ledger.attempt(stream));
      ledger.accepted(ids.back());
    }
  }
  void deliver(std::size_t index, std::uint8_t qos, bool dup = false, std::string_view consequence = {}) {
    ledger.delivered(sub, make_payload(ids.at(index), "x"), DeliveryInfo{qos, dup, false, consequence});
  }
  StreamResult row(Expectation e = {}) {
    const auto rows = ledger.results(e);
    EXPECT_EQ(rows.size(), 1u);
    return rows.empty() ? StreamResult{} : rows.front();
  }
};

Expectation ordered() {
  Expectation e;
  e.ordered = true;
  return e;
}

// The verdict names one statement, valid for the version, in the text and the field.
void expect_one_statement(const StreamResult& r, mqtt::Version version, std::string_view expected) {
  EXPECT_EQ(r.verdict, Verdict::violated);
  EXPECT_EQ(r.statement, expected);
  EXPECT_EQ(ids_in(r.reason), 1u) << r.reason;
  EXPECT_NE(r.reason.find(std::string(expected)), std::string::npos) << r.reason;
  EXPECT_NE(mqtth::report::find_statement(spec_version(version), r.statement), nullptr) << r.statement;
  for (const auto& id : r.see_also) {
    EXPECT_NE(id, r.statement);
    EXPECT_NE(mqtth::report::find_statement(spec_version(version), id), nullptr) << id;
  }
}

}  // namespace

TEST(LedgerVerdictStatements, every_problem_names_one_statement_of_the_runs_version) {
  for (const auto v : {mqtt::Version::v3_1_1, mqtt::Version::v5}) {
    const bool v5 = v == mqtt::Version::v5;
    SCOPED_TRACE(v5 ? "5.0" : "3.1.1");
    {  // lost at least once: the broker took the message and it never reached a matching session
      Scene r(v, 1, 1);
      r.publish(2);
      r.deliver(0, 1);
      expect_one_statement(r.row(), v, "MQTT-4.5.0-1");
    }
    {  // lost exactly once
      Scene r(v, 2, 2);
      r.publish(1);
      expect_one_statement(r.row(), v, "MQTT-4.5.0-1");
    }
    {  // a duplicate exactly once: the receiver of the publisher's PUBLISH must not duplicate
      Scene r(v, 2, 2);
      r.publish(1);
      r.deliver(0, 2);
      r.deliver(0, 2, true);
      expect_one_statement(r.row(), v, v5 ? "MQTT-4.3.3-10" : "MQTT-4.3.3-2");
    }
    {  // reordered, order required
      Scene r(v, 1, 1);
      r.publish(2);
      r.deliver(1, 1);
      r.deliver(0, 1);
      expect_one_statement(r.row(ordered()), v, v5 ? "MQTT-4.6.0-5" : "MQTT-4.6.0-6");
    }
    {  // delivered at a QoS other than min(publish, granted)
      Scene r(v, 1, 1);
      r.publish(1);
      r.deliver(0, 0);
      expect_one_statement(r.row(), v, v5 ? "MQTT-3.8.4-8" : "MQTT-3.8.4-6");
    }
  }
}

TEST(LedgerVerdictStatements, several_problems_name_one_primary_and_the_others_as_see_also) {
  Scene r(mqtt::Version::v5, 2, 2);
  r.publish(3);
  r.deliver(2, 2);
  r.deliver(1, 1);     // reordered, and at the wrong QoS
  r.deliver(1, 2, true);  // a duplicate
  const auto row = r.row(ordered());
  expect_one_statement(row, mqtt::Version::v5, "MQTT-4.5.0-1");  // message 0 is lost: first in precedence
  EXPECT_EQ(row.see_also, (std::vector<std::string>{"MQTT-4.3.3-10", "MQTT-4.6.0-5", "MQTT-3.8.4-8"}));
  EXPECT_NE(row.reason.find("reordered"), std::string::npos);
  EXPECT_NE(row.reason.find("duplicate"), std::string::npos);
}

// Section 4.3.1 has no numbered statement against a second copy at QoS 0, and a guarantee
// the scenario expected but the broker legally did not grant breaks none: no id, rather
// than a wrong one.
TEST(LedgerVerdictStatements, a_qos0_duplicate_and_a_guarantee_mismatch_name_no_statement) {
  Scene dup(mqtt::Version::v3_1_1, 0, 0);
  dup.publish(1);
  dup.deliver(0, 0);
  dup.deliver(0, 0);
  const auto d = dup.row();
  EXPECT_EQ(d.verdict, Verdict::violated);
  EXPECT_EQ(d.statement, "");
  EXPECT_EQ(ids_in(d.reason), 0u) << d.reason;
  EXPECT_NE(d.reason.find("section 4.3.1"), std::string::npos);

  Scene grant(mqtt::Version::v3_1_1, 2, 1);
  grant.publish(1);
  grant.deliver(0, 1);
  const auto g = grant.row(Expectation{Guarantee::exactly_once, false});
  EXPECT_EQ(g.verdict, Verdict::violated);
  EXPECT_EQ(g.statement, "");
  EXPECT_EQ(ids_in(g.reason), 0u) << g.reason;
}

// Without the version (a caller that does not pass it) the reason names each problem's
// statement in both versions, as before.
TEST(LedgerVerdictStatements, without_a_version_both_versions_ids_are_named) {
  Scene r(2, 2);
  r.publish(1);
  r.deliver(0, 2);
  r.deliver(0, 2, true);
  const auto row = r.row();
  EXPECT_EQ(row.verdict, Verdict::violated);
  EXPECT_EQ(row.statement, "");
  EXPECT_NE(row.reason.find("3.1.1 MQTT-4.3.3-2 / 5.0 MQTT-4.3.3-10"), std::string::npos) << row.reason;
}

// ---------------------------------------------------------------------------------------
// Consequences

// aedes re-sends a QoS 2 PUBLISH after its PUBREL (the client session reports 3.1.1
// MQTT-4.3.3-1 / 5.0 MQTT-4.3.3-6 and marks the copy). The duplicate the subscriber then
// holds is that deviation's, not the receiver's MQTT-4.3.3-2 / -10.
TEST(LedgerConsequences, duplicate_of_a_publish_resent_after_pubrel_names_the_senders_statement) {
  for (const auto v : {mqtt::Version::v3_1_1, mqtt::Version::v5}) {
    const bool v5 = v == mqtt::Version::v5;
    SCOPED_TRACE(v5 ? "5.0" : "3.1.1");
    const std::string_view cause = v5 ? "MQTT-4.3.3-6" : "MQTT-4.3.3-1";
    Scene r(v, 2, 2);
    r.publish(2);
    r.deliver(0, 2);
    r.deliver(1, 2);
    r.deliver(1, 2, false, cause);
    const auto row = r.row();
    EXPECT_EQ(row.duplicated, 1u);
    EXPECT_EQ(row.duplicated_consequence, 1u);
    EXPECT_EQ(row.cause, cause);
    expect_one_statement(row, v, cause);
    EXPECT_TRUE(row.see_also.empty()) << "no duplicate of its own";
    EXPECT_EQ(row.reason.find(v5 ? "MQTT-4.3.3-10" : "MQTT-4.3.3-2"), std::string::npos);
  }
}

// The publisher re-sent a QoS 2 message (DUP 1, on resume) and the broker, having lost the
// publisher's session, took it for a new one and forwarded it again. The broker's deviation
// is the lost session (the caller reports it: 3.1.1 MQTT-3.2.2-2); the second copy is its
// consequence, not a duplicate charged to MQTT-4.3.3-2.
TEST(LedgerConsequences, duplicate_of_a_message_resent_to_a_broker_that_lost_the_session_is_its_consequence) {
  Scene lost(mqtt::Version::v3_1_1, 2, 2);
  lost.publish(1);
  lost.deliver(0, 2);
  lost.ledger.resent(lost.stream, 0);
  lost.ledger.session_lost(lost.pub, "MQTT-3.2.2-2");
  lost.deliver(0, 2);
  const auto row = lost.row();
  EXPECT_EQ(row.duplicated, 1u);
  EXPECT_EQ(row.duplicated_consequence, 1u);
  expect_one_statement(row, mqtt::Version::v3_1_1, "MQTT-3.2.2-2");

  // The same re-send to a broker that kept the session: deduplicating it was the broker's
  // job as QoS 2 receiver (3.1.1 MQTT-4.3.3-2).
  Scene kept(mqtt::Version::v3_1_1, 2, 2);
  kept.publish(1);
  kept.deliver(0, 2);
  kept.ledger.resent(kept.stream, 0);
  kept.deliver(0, 2);
  const auto k = kept.row();
  EXPECT_EQ(k.duplicated_consequence, 0u);
  expect_one_statement(k, mqtt::Version::v3_1_1, "MQTT-4.3.3-2");
}

// A message published after the loss is not covered: its duplicate is the broker's own.
TEST(LedgerConsequences, a_lost_session_covers_only_messages_published_before_it) {
  Scene r(mqtt::Version::v5, 2, 2);
  r.publish(1);
  r.ledger.session_lost(r.pub, "MQTT-3.2.2-3");
  r.publish(1);
  r.ledger.resent(r.stream, 1);
  r.deliver(0, 2);
  r.deliver(1, 2);
  r.deliver(1, 2, true);
  const auto row = r.row();
  EXPECT_EQ(row.duplicated_consequence, 0u);
  expect_one_statement(row, mqtt::Version::v5, "MQTT-4.3.3-10");
}

// A subscriber whose session the broker lost: what it was owed is lost as the loss's
// consequence (not waived, as a session the client ended would be), its subscriptions end.
TEST(LedgerConsequences, messages_owed_to_a_lost_session_are_lost_as_its_consequence) {
  Scene r(mqtt::Version::v3_1_1, 1, 1);
  r.publish(3);
  r.deliver(0, 1);
  r.ledger.session_lost(r.sub, "MQTT-3.2.2-2");
  r.publish(1);  // no longer subscribed: not owed
  const auto row = r.row();
  EXPECT_EQ(row.sent, 3u);
  EXPECT_EQ(row.lost, 2u);
  EXPECT_EQ(row.lost_consequence, 2u);
  EXPECT_EQ(row.waived, 0u);
  expect_one_statement(row, mqtt::Version::v3_1_1, "MQTT-3.2.2-2");
}

// QoS 1 allows duplicates: a consequence duplicate there breaks nothing.
TEST(LedgerConsequences, a_consequence_duplicate_at_least_once_still_holds) {
  Scene r(mqtt::Version::v3_1_1, 1, 1);
  r.publish(1);
  r.deliver(0, 1);
  r.deliver(0, 1, false, "MQTT-3.3.1-1");
  EXPECT_EQ(r.row().verdict, Verdict::held);
}
