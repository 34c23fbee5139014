// Ledger rules, each with hand-computed expectations (docs/reports.md "The QoS ledger").
#include <gtest/gtest.h>

#include "mqtth/ledger/Ledger.hpp"

using namespace mqtth::ledger;

namespace {

DeliveryInfo at(std::uint8_t qos, bool dup = false) { return DeliveryInfo{qos, dup, false}; }

// A publisher "pub" publishing to t/a at `qos`, a subscriber "sub" on "t/#" granted `granted`.
struct Fixture {
  Ledger ledger{42};
  ClientId pub = ledger.client("pub");
  ClientId sub = ledger.client("sub");
  StreamId stream;
  std::vector<MessageId> ids;

  Fixture(std::uint8_t qos, std::uint8_t granted) {
    ledger.subscribe(sub, "t/#", granted);
    stream = ledger.stream(pub, "t/a", qos);
  }
  // Publishes n messages, all accepted by the broker.
  void publish(int n, bool accept = true) {
    for (int i = 0; i < n; ++i) {
      ids.push_back(ledger.attempt(stream));
      if (accept) ledger.accepted(ids.back());
    }
  }
  void deliver(std::size_t index, DeliveryInfo info) {
    ledger.delivered(sub, make_payload(ids.at(index), "x"), info);
  }
  StreamResult only(const Expectation& e = {}) {
    auto rows = ledger.results(e);
    EXPECT_EQ(rows.size(), 1u);
    return rows.empty() ? StreamResult{} : rows.front();
  }
};

}  // namespace

TEST(LedgerQos0, loss_is_legal_at_most_once) {
  Fixture f(0, 0);
  f.publish(5);
  f.deliver(0, at(0));
  f.deliver(2, at(0));
  f.deliver(4, at(0));
  auto r = f.only();
  EXPECT_EQ(r.publisher, "pub");
  EXPECT_EQ(r.subscriber, "sub");
  EXPECT_EQ(r.topic, "t/a");
  EXPECT_EQ(r.qos, 0);
  EXPECT_EQ(r.guarantee, Guarantee::at_most_once);
  EXPECT_EQ(r.sent, 5u);
  EXPECT_EQ(r.delivered, 3u);
  EXPECT_EQ(r.lost, 2u);
  EXPECT_EQ(r.duplicated, 0u);
  EXPECT_EQ(r.reordered, 0u);
  EXPECT_EQ(r.verdict, Verdict::held);
  EXPECT_TRUE(r.reason.empty());
}

TEST(LedgerQos0, duplicate_violates_at_most_once) {
  Fixture f(0, 2);  // effective QoS = min(0, 2) = 0
  f.publish(3);
  f.deliver(0, at(0));
  f.deliver(1, at(0));
  f.deliver(1, at(0));
  f.deliver(2, at(0));
  auto r = f.only();
  EXPECT_EQ(r.qos, 0);
  EXPECT_EQ(r.delivered, 3u);
  EXPECT_EQ(r.duplicated, 1u);
  EXPECT_EQ(r.verdict, Verdict::violated);
  EXPECT_NE(r.reason.find("duplicate"), std::string::npos);
}

TEST(LedgerQos0, duplicate_of_a_qos1_publish_the_publisher_resent_is_excused) {
  // Published at QoS 1, granted 0: delivered at QoS 0. The publisher re-sent message 1
  // (MQTT-4.4.0-1), so the broker may legally have forwarded it twice.
  Fixture f(1, 0);
  f.publish(2);
  f.ledger.resent(f.stream, 1);
  f.deliver(0, at(0));
  f.deliver(1, at(0));
  f.deliver(1, at(0));
  auto r = f.only();
  EXPECT_EQ(r.qos, 0);
  EXPECT_EQ(r.duplicated, 1u);
  EXPECT_EQ(r.duplicated_excused, 1u);
  EXPECT_EQ(r.verdict, Verdict::held);
}

TEST(LedgerQos1, loss_violates_at_least_once) {
  Fixture f(1, 1);
  f.publish(4);
  f.deliver(0, at(1));
  f.deliver(1, at(1));
  f.deliver(3, at(1));
  auto r = f.only();
  EXPECT_EQ(r.guarantee, Guarantee::at_least_once);
  EXPECT_EQ(r.sent, 4u);
  EXPECT_EQ(r.delivered, 3u);
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.verdict, Verdict::violated);
}

TEST(LedgerQos1, duplicates_are_legal_but_counted) {
  Fixture f(1, 1);
  f.publish(3);
  for (std::size_t i : {0, 1, 1, 2, 2, 2}) f.deliver(i, at(1, i != 0));
  auto r = f.only();
  EXPECT_EQ(r.delivered, 3u);
  EXPECT_EQ(r.duplicated, 3u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.reordered, 0u);
  EXPECT_EQ(r.verdict, Verdict::held);
}

TEST(LedgerQos1, redelivery_after_later_messages_is_a_duplicate_not_a_reorder) {
  // Section 4.6 example: published 1,2,3,4, received 1,2,3,2,3,4 (DUP on the re-sends).
  Fixture f(1, 1);
  f.publish(4);
  f.deliver(0, at(1));
  f.deliver(1, at(1));
  f.deliver(2, at(1));
  f.deliver(1, at(1, true));
  f.deliver(2, at(1, true));
  f.deliver(3, at(1));
  auto r = f.only({.guarantee = Guarantee::at_least_once, .ordered = true});
  EXPECT_EQ(r.delivered, 4u);
  EXPECT_EQ(r.duplicated, 2u);
  EXPECT_EQ(r.reordered, 0u);
  EXPECT_EQ(r.verdict, Verdict::held);
}

TEST(LedgerQos1, late_first_copy_with_dup_is_a_legal_retransmission) {
  // Message 1's first transmission never arrived; the broker retransmits it (DUP=1,
  // MQTT-3.3.1-3) after 2 arrived.
  Fixture f(1, 1);
  f.publish(3);
  f.deliver(0, at(1));
  f.deliver(2, at(1));
  f.deliver(1, at(1, true));
  auto r = f.only({.guarantee = std::nullopt, .ordered = true});
  EXPECT_EQ(r.delivered, 3u);
  EXPECT_EQ(r.reordered, 0u);
  EXPECT_EQ(r.late_redelivered, 1u);
  EXPECT_EQ(r.verdict, Verdict::held);
}

TEST(LedgerOrder, late_first_copy_without_dup_is_reordered_MQTT_4_6_0_6) {
  Fixture f(1, 1);
  f.publish(4);
  // Received 0, 2, 1, 3: message 1 is a first copy (DUP=0) after 2 -> one reorder.
  for (std::size_t i : {0, 2, 1, 3}) f.deliver(i, at(1));
  auto counted = f.only();
  EXPECT_EQ(counted.reordered, 1u);
  EXPECT_EQ(counted.verdict, Verdict::held) << "order not required: counted only";
  auto required = f.only({.guarantee = std::nullopt, .ordered = true});
  EXPECT_EQ(required.reordered, 1u);
  EXPECT_TRUE(required.ordered);
  EXPECT_EQ(required.verdict, Verdict::violated);
  EXPECT_NE(required.reason.find("MQTT-4.6.0-6"), std::string::npos);
}

TEST(LedgerOrder, reverse_order_counts_every_message_after_the_first) {
  Fixture f(0, 0);
  f.publish(5);
  for (std::size_t i : {4, 3, 2, 1, 0}) f.deliver(i, at(0));
  // 4 sets the high-water mark; 3, 2, 1, 0 each arrive below it.
  EXPECT_EQ(f.only().reordered, 4u);
}

TEST(LedgerOrder, gap_from_loss_is_not_a_reorder) {
  Fixture f(0, 0);
  f.publish(4);
  for (std::size_t i : {0, 2, 3}) f.deliver(i, at(0));
  auto r = f.only({.guarantee = std::nullopt, .ordered = true});
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.reordered, 0u);
  EXPECT_EQ(r.verdict, Verdict::held);
}

TEST(LedgerQos2, exactly_once_holds_when_each_message_arrives_once) {
  Fixture f(2, 2);
  f.publish(100);
  for (std::size_t i = 0; i < 100; ++i) f.deliver(i, at(2));
  auto r = f.only({.guarantee = Guarantee::exactly_once, .ordered = true});
  EXPECT_EQ(r.qos, 2);
  EXPECT_EQ(r.guarantee, Guarantee::exactly_once);
  EXPECT_EQ(r.sent, 100u);
  EXPECT_EQ(r.delivered, 100u);
  EXPECT_EQ(r.verdict, Verdict::held);
}

TEST(LedgerQos2, duplicate_violates_exactly_once_even_with_dup) {
  Fixture f(2, 2);
  f.publish(2);
  f.deliver(0, at(2));
  f.deliver(0, at(2, true));
  f.deliver(1, at(2));
  auto r = f.only();
  EXPECT_EQ(r.duplicated, 1u);
  EXPECT_EQ(r.verdict, Verdict::violated);
}

TEST(LedgerQos2, loss_violates_exactly_once) {
  Fixture f(2, 2);
  f.publish(3);
  f.deliver(0, at(2));
  f.deliver(1, at(2));
  auto r = f.only();
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.verdict, Verdict::violated);
}

TEST(LedgerEffectiveQos, qos2_published_granted_1_is_judged_at_least_once_MQTT_3_8_4_6) {
  Fixture f(2, 1);
  f.publish(2);
  f.deliver(0, at(1));
  f.deliver(0, at(1, true));
  f.deliver(1, at(1));
  auto r = f.only();
  EXPECT_EQ(r.publish_qos, 2);
  EXPECT_EQ(r.granted_qos, 1);
  EXPECT_EQ(r.qos, 1);
  EXPECT_EQ(r.guarantee, Guarantee::at_least_once);
  EXPECT_EQ(r.duplicated, 1u);
  EXPECT_EQ(r.verdict, Verdict::held);
}

TEST(LedgerEffectiveQos, expected_guarantee_stronger_than_granted_is_a_mismatch) {
  Fixture f(2, 1);
  f.publish(1);
  f.deliver(0, at(1));
  auto r = f.only({.guarantee = Guarantee::exactly_once});
  EXPECT_EQ(r.guarantee, Guarantee::exactly_once);
  EXPECT_EQ(r.verdict, Verdict::violated);
  EXPECT_NE(r.reason.find("guarantee mismatch"), std::string::npos);
}

TEST(LedgerEffectiveQos, delivery_at_wrong_qos_is_a_violation_MQTT_3_8_4_6) {
  Fixture f(2, 1);  // must arrive at QoS 1
  f.publish(2);
  f.deliver(0, at(1));
  f.deliver(1, at(2));
  auto r = f.only();
  EXPECT_EQ(r.qos_mismatch, 1u);
  EXPECT_EQ(r.verdict, Verdict::violated);
}

TEST(LedgerEffectiveQos, overlapping_subscriptions_take_the_highest_grant_MQTT_3_3_5_1) {
  Ledger ledger;
  ClientId pub = ledger.client("pub"), sub = ledger.client("sub");
  ledger.subscribe(sub, "t/#", 0);
  ledger.subscribe(sub, "t/+", 2);
  StreamId s = ledger.stream(pub, "t/a", 2);
  ledger.accepted(ledger.attempt(s));
  auto rows = ledger.results();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].granted_qos, 2);
  EXPECT_EQ(rows[0].qos, 2);
}

TEST(LedgerEffectiveQos, effective_qos_is_the_lower_of_publish_and_highest_grant_now) {
  Ledger ledger{7};
  ClientId pub = ledger.client("pub"), sub = ledger.client("sub"), other = ledger.client("other");
  const MessageId q2 = ledger.attempt(ledger.stream(pub, "t/a", 2));
  const MessageId q0 = ledger.attempt(ledger.stream(pub, "t/a", 0));
  EXPECT_EQ(ledger.effective_qos(sub, q2), std::nullopt);  // not subscribed
  ledger.subscribe(sub, "t/#", 0);
  EXPECT_EQ(ledger.effective_qos(sub, q2), 0);
  ledger.subscribe(sub, "t/a", 1);  // overlapping: the highest grant counts (MQTT-3.3.5-1)
  EXPECT_EQ(ledger.effective_qos(sub, q2), 1);
  EXPECT_EQ(ledger.effective_qos(sub, q0), 0);  // never above the publish QoS (MQTT-3.8.4-6)
  ledger.subscribe(sub, "t/a", 2);  // replaced (MQTT-3.8.4-3): the grant of now counts
  EXPECT_EQ(ledger.effective_qos(sub, q2), 2);
  ledger.unsubscribe(sub, "t/a");
  EXPECT_EQ(ledger.effective_qos(sub, q2), 0);
  ledger.subscribe(other, "$share/g/t/+", 1);  // a shared subscription counts by its filter
  EXPECT_EQ(ledger.effective_qos(other, q2), 1);
  EXPECT_EQ(ledger.effective_qos(other, MessageId{8, pub, q2.stream, 0}), std::nullopt);  // another run
}

TEST(LedgerObligation, only_accepted_messages_can_be_lost) {
  Fixture f(1, 1);
  f.publish(2, /*accept=*/true);
  f.publish(2, /*accept=*/false);  // no PUBACK: the broker never took responsibility
  f.deliver(0, at(1));
  f.deliver(2, at(1));             // unacknowledged but delivered: still counted as delivered
  auto r = f.only();
  EXPECT_EQ(r.attempted, 4u);
  EXPECT_EQ(r.sent, 2u);
  EXPECT_EQ(r.delivered, 2u);
  EXPECT_EQ(r.lost, 1u);           // message 1; message 3 was never accepted
  EXPECT_EQ(r.verdict, Verdict::violated);
}

TEST(LedgerObligation, accepted_twice_or_unknown_is_ignored) {
  Fixture f(1, 1);
  f.publish(1, false);
  EXPECT_TRUE(f.ledger.accepted(f.ids[0]));
  EXPECT_FALSE(f.ledger.accepted(f.ids[0]));
  EXPECT_FALSE(f.ledger.accepted(f.stream, 99));
  EXPECT_FALSE(f.ledger.accepted(StreamId{7}, 0));
  MessageId other_run = f.ids[0];
  other_run.run = 1;
  EXPECT_FALSE(f.ledger.accepted(other_run));
}

TEST(LedgerObligation, messages_before_subscribe_are_unexpected_not_lost) {
  Ledger ledger;
  ClientId pub = ledger.client("pub"), sub = ledger.client("sub");
  StreamId s = ledger.stream(pub, "t/a", 1);
  MessageId early = ledger.attempt(s);
  ledger.accepted(early);
  ledger.subscribe(sub, "t/a", 1);
  MessageId late = ledger.attempt(s);
  ledger.accepted(late);
  ledger.delivered(sub, make_payload(early, ""), DeliveryInfo{1, false, true});  // retained
  ledger.delivered(sub, make_payload(late, ""), DeliveryInfo{1, false, false});
  auto rows = ledger.results();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempted, 1u);
  EXPECT_EQ(rows[0].sent, 1u);
  EXPECT_EQ(rows[0].delivered, 2u);
  EXPECT_EQ(rows[0].unexpected, 1u);
  EXPECT_EQ(rows[0].lost, 0u);
  EXPECT_EQ(rows[0].verdict, Verdict::held);
}

TEST(LedgerObligation, unsubscribed_subscriber_is_not_obligated) {
  Ledger ledger;
  ClientId pub = ledger.client("pub"), sub = ledger.client("sub");
  ledger.subscribe(sub, "t/a", 1);
  StreamId s = ledger.stream(pub, "t/a", 1);
  ledger.accepted(ledger.attempt(s));
  ledger.unsubscribe(sub, "t/a");
  ledger.accepted(ledger.attempt(s));
  auto rows = ledger.results();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sent, 1u);
  EXPECT_EQ(rows[0].lost, 1u);
}

TEST(LedgerObligation, offline_persistent_subscriber_is_still_owed_its_messages) {
  // The ledger does not know about connections: a subscription survives until end_session,
  // so messages published while the subscriber is offline are owed, and arriving later
  // (after it resumes) satisfies them.
  Fixture f(1, 1);
  f.publish(2);
  f.deliver(0, at(1));
  f.deliver(1, at(1));
  f.publish(3);  // subscriber offline now
  EXPECT_EQ(f.only().lost, 3u) << "not yet delivered";
  for (std::size_t i : {2, 3, 4}) f.deliver(i, at(1));
  auto r = f.only({.guarantee = Guarantee::at_least_once, .ordered = true});
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.verdict, Verdict::held);
}

TEST(LedgerObligation, end_session_waives_undelivered_messages) {
  Fixture f(1, 1);
  f.publish(3);
  f.deliver(0, at(1));
  f.ledger.end_session(f.sub);  // clean start: queued messages are discarded with the session
  f.publish(2);                 // no subscription any more: not owed
  auto r = f.only();
  EXPECT_EQ(r.waived, 2u);
  EXPECT_EQ(r.sent, 1u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.verdict, Verdict::held);
}

TEST(LedgerObligation, no_local_excludes_own_publishes_MQTT_3_8_3_3) {
  Ledger ledger;
  ClientId a = ledger.client("a");
  ledger.subscribe(a, "t/#", 1, /*no_local=*/true);
  StreamId s = ledger.stream(a, "t/x", 1);
  ledger.accepted(ledger.attempt(s));
  EXPECT_TRUE(ledger.results().empty());
}

TEST(LedgerObligation, shared_subscription_never_obligates) {
  Ledger ledger;
  ClientId pub = ledger.client("pub"), sub = ledger.client("sub");
  ledger.subscribe(sub, "$share/g/t/#", 1);
  ledger.accepted(ledger.attempt(ledger.stream(pub, "t/a", 1)));
  EXPECT_TRUE(ledger.results().empty());
}

TEST(LedgerForeign, unparsable_other_run_and_unknown_are_counted_per_subscriber) {
  Fixture f(1, 1);
  f.publish(1);
  f.ledger.delivered(f.sub, std::string_view("hello"), at(1));
  f.ledger.delivered(f.sub, std::string_view(""), at(1));
  f.ledger.delivered(f.sub, std::string_view("mqtth:1:0:0:0;"), at(1));   // run 1 != 42
  f.ledger.delivered(f.sub, std::string_view("mqtth:42:0:0:5;"), at(1));  // seq 5 never published
  f.ledger.delivered(f.sub, std::string_view("mqtth:42:1:0:0;"), at(1));  // wrong publisher
  f.ledger.delivered(f.sub, std::string_view("mqtth:42:0:9:0;"), at(1));  // unknown stream
  auto foreign = f.ledger.foreign();
  ASSERT_EQ(foreign.size(), 1u);
  EXPECT_EQ(foreign[0].subscriber, "sub");
  EXPECT_EQ(foreign[0].unparsable, 2u);
  EXPECT_EQ(foreign[0].other_run, 1u);
  EXPECT_EQ(foreign[0].unknown, 3u);
  EXPECT_EQ(f.ledger.total_deliveries(), 6u);
  EXPECT_EQ(f.only().delivered, 0u);
}

TEST(LedgerForeign, binary_payload_is_foreign_not_a_crash) {
  Ledger ledger;
  ClientId sub = ledger.client("sub");
  const std::uint8_t bytes[] = {0x00, 0xff, 'm', 'q', 't', 't', 'h', ':'};
  EXPECT_FALSE(ledger.delivered(sub, std::span<const std::uint8_t>(bytes), at(0)));
  EXPECT_FALSE(ledger.delivered(sub, std::span<const std::uint8_t>(), at(0)));
  ASSERT_EQ(ledger.foreign().size(), 1u);
  EXPECT_EQ(ledger.foreign()[0].unparsable, 2u);
}

TEST(LedgerEmpty, no_streams_no_rows) {
  Ledger ledger;
  EXPECT_TRUE(ledger.results().empty());
  EXPECT_TRUE(ledger.foreign().empty());
  EXPECT_EQ(ledger.total_attempted(), 0u);
}

TEST(LedgerEmpty, stream_without_publishes_has_no_rows_and_subscription_alone_none) {
  Ledger ledger;
  ClientId pub = ledger.client("pub"), sub = ledger.client("sub");
  ledger.subscribe(sub, "#", 2);
  ledger.stream(pub, "t/a", 2);
  EXPECT_TRUE(ledger.results().empty());
}

TEST(LedgerEmpty, obligated_but_nothing_published_accepted_holds) {
  Fixture f(2, 2);
  f.publish(3, false);  // attempted, never acknowledged
  auto r = f.only({.guarantee = Guarantee::exactly_once});
  EXPECT_EQ(r.attempted, 3u);
  EXPECT_EQ(r.sent, 0u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.verdict, Verdict::held);
}

TEST(LedgerResults, filters_by_publisher_and_subscriber_in_stream_order) {
  Ledger ledger;
  ClientId p1 = ledger.client("p1"), p2 = ledger.client("p2");
  ClientId s1 = ledger.client("s1"), s2 = ledger.client("s2");
  ledger.subscribe(s1, "#", 1);
  ledger.subscribe(s2, "a/#", 1);
  StreamId a = ledger.stream(p1, "a/1", 1);
  StreamId b = ledger.stream(p2, "b/1", 1);
  ledger.accepted(ledger.attempt(b));
  ledger.accepted(ledger.attempt(a));
  auto all = ledger.results();
  ASSERT_EQ(all.size(), 3u);  // (a,s1) (a,s2) (b,s1)
  EXPECT_EQ(all[0].topic, "a/1");
  EXPECT_EQ(all[2].topic, "b/1");
  EXPECT_EQ(ledger.results({}, p1).size(), 2u);
  EXPECT_EQ(ledger.results({}, std::nullopt, s2).size(), 1u);
  EXPECT_EQ(ledger.results({}, p2, s2).size(), 0u);
}

TEST(LedgerResults, streams_are_per_publisher_topic_and_qos) {
  Ledger ledger;
  ClientId p = ledger.client("p");
  EXPECT_EQ(ledger.stream(p, "t", 1), ledger.stream(p, "t", 1));
  EXPECT_NE(ledger.stream(p, "t", 1), ledger.stream(p, "t", 2));
  EXPECT_NE(ledger.stream(p, "t", 1), ledger.stream(ledger.client("q"), "t", 1));
  EXPECT_EQ(ledger.client("p"), p);
  EXPECT_EQ(ledger.client_name(p), "p");
}

TEST(LedgerResults, many_copies_saturate_without_wrapping) {
  Fixture f(1, 1);
  f.publish(1);
  for (int i = 0; i < 300; ++i) f.deliver(0, at(1, i > 0));
  auto r = f.only();
  EXPECT_EQ(r.delivered, 1u);
  EXPECT_EQ(r.duplicated, 299u);
  EXPECT_EQ(r.lost, 0u);
}

TEST(TopicMatch, wildcards_follow_section_4_7) {
  EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1"));
  EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
  EXPECT_TRUE(topic_matches("sport/#", "sport"));
  EXPECT_TRUE(topic_matches("#", "a/b/c"));
  EXPECT_TRUE(topic_matches("sport/+/player1", "sport/tennis/player1"));
  EXPECT_FALSE(topic_matches("sport/+", "sport"));
  EXPECT_TRUE(topic_matches("sport/+", "sport/"));
  EXPECT_TRUE(topic_matches("+/+", "/finance"));
  EXPECT_TRUE(topic_matches("/+", "/finance"));
  EXPECT_FALSE(topic_matches("+", "/finance"));
  EXPECT_FALSE(topic_matches("a/b", "a/b/c"));
  EXPECT_FALSE(topic_matches("a/b/c", "a/b"));
  EXPECT_TRUE(topic_matches("a/b", "a/b"));
}

TEST(TopicMatch, leading_wildcard_skips_dollar_topics_MQTT_4_7_2_1) {
  EXPECT_FALSE(topic_matches("#", "$SYS/x"));
  EXPECT_FALSE(topic_matches("+/monitor/Clients", "$SYS/monitor/Clients"));
  EXPECT_TRUE(topic_matches("$SYS/#", "$SYS/monitor/Clients"));
  EXPECT_TRUE(topic_matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
}

TEST(LedgerMisuse, ids_not_from_this_ledger_throw_instead_of_reading_out_of_range) {
  Ledger ledger;
  const ClientId pub = ledger.client("pub");
  EXPECT_THROW(ledger.subscribe(ClientId{9}, "#", 0), std::out_of_range);
  EXPECT_THROW(ledger.stream(ClientId{9}, "t", 0), std::out_of_range);
  EXPECT_THROW(ledger.attempt(StreamId{3}), std::out_of_range);
  EXPECT_THROW(ledger.delivered(ClientId{9}, std::string_view("x"), DeliveryInfo{}), std::out_of_range);
  EXPECT_THROW((void)ledger.client_name(ClientId{9}), std::out_of_range);
  EXPECT_NO_THROW(ledger.stream(pub, "t", 0));
}
