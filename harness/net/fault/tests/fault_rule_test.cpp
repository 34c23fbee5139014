// Qt-free fault logic: SPEC parsing (errors name the offending part), nth/every matching,
// segmenting, corrupting, token-bucket pacing.
#include "mqtth/fault/FaultRule.hpp"

#include <gtest/gtest.h>

using namespace mqtth::fault;
using mqtt::PacketType;

namespace {
FaultRule parse_ok(std::string_view spec) {
  auto r = parse_fault_spec(spec);
  EXPECT_TRUE(r.rule.has_value()) << spec << ": " << r.error;
  return r.rule.value_or(FaultRule{});
}
std::string parse_error(std::string_view spec) {
  auto r = parse_fault_spec(spec);
  EXPECT_FALSE(r.rule.has_value()) << spec;
  return r.error;
}
}  // namespace

TEST(FaultSpec, cut_after_third_pubrec_to_broker_with_rst) {
  const auto r = parse_ok("cut:to_broker:after=PUBREC:nth=3:rst");
  EXPECT_EQ(r.kind, Kind::cut);
  EXPECT_EQ(r.direction, Direction::to_broker);
  EXPECT_EQ(r.packet, PacketType::pubrec);
  EXPECT_EQ(r.nth, 3u);
  EXPECT_FALSE(r.before);
  EXPECT_EQ(r.close, Close::rst);
  EXPECT_EQ(r.side, Side::both);
}

TEST(FaultSpec, cut_before_with_fin_on_client_side_only) {
  const auto r = parse_ok("cut:before=PUBLISH:fin:side=client");
  EXPECT_EQ(r.direction, Direction::both);
  EXPECT_TRUE(r.before);
  EXPECT_EQ(r.close, Close::fin);
  EXPECT_EQ(r.side, Side::client);
}

TEST(FaultSpec, every_example_of_the_cli_parses) {
  EXPECT_EQ(parse_ok("delay:to_client:type=PUBLISH:ms=200").by, Ms(200));
  EXPECT_EQ(parse_ok("delay:to_client:packet=PUBLISH:by=1.5s").by, Ms(1500));
  EXPECT_TRUE(parse_ok("delay:by=10ms").every);
  EXPECT_FALSE(parse_ok("delay:by=10ms:nth=2").every);
  EXPECT_EQ(parse_ok("throttle:both:bps=1000").bytes_per_second, 1000u);
  EXPECT_EQ(parse_ok("throttle:bytes_per_second=5:for=2s").duration, Ms(2000));
  EXPECT_EQ(parse_ok("segment:to_broker:bytes=1").size, 1u);
  const auto c = parse_ok("corrupt:to_broker:type=PUBLISH:nth=1:offset=0:xor=0xff");
  EXPECT_EQ(c.offset, 0u);
  EXPECT_EQ(c.xor_mask, 0xFF);
  EXPECT_EQ(parse_ok("corrupt:offset=3:set=0x80").set, std::uint8_t(0x80));
  const auto b = parse_ok("blackhole:to_client:after=CONNACK");
  EXPECT_EQ(b.packet, PacketType::connack);
  EXPECT_EQ(parse_ok("blackhole:at=2s:for=1s").at, Ms(2000));
  EXPECT_EQ(parse_ok("blackhole:at=2:for=1h").duration, Ms(3'600'000));  // the one duration grammar: no unit = s, h
  EXPECT_EQ(parse_ok("blackhole:at=2:for=1h").at, Ms(2000));
  EXPECT_FALSE(parse_ok("duplicate:to_broker:type=PUBLISH").every);
  EXPECT_TRUE(parse_ok("duplicate:to_broker:type=PUBLISH:every").every);
  const auto o = parse_ok("reorder:to_broker:type=PUBLISH:window=3:hold=200ms");
  EXPECT_EQ(o.window, 3u);
  EXPECT_EQ(o.hold, Ms(200));
}

TEST(FaultSpec, errors_name_the_offending_part) {
  EXPECT_NE(parse_error("explode:to_broker").find("unknown fault kind 'explode'"), std::string::npos);
  EXPECT_NE(parse_error("cut:to_broker:after=PUBREK").find("'after=PUBREK': not a packet type"), std::string::npos);
  EXPECT_NE(parse_error("cut:sideways").find("'sideways' is not a cut setting"), std::string::npos);
  EXPECT_NE(parse_error("delay:by=200x").find("'by=200x': '200x' is not a duration: unknown unit 'x'"), std::string::npos);
  EXPECT_NE(parse_error("cut:at=25h").find("'at=25h': '25h' is more than 24h"), std::string::npos);
  EXPECT_NE(parse_error("delay:to_client").find("delay needs by="), std::string::npos);
  EXPECT_NE(parse_error("throttle:both").find("throttle needs bytes_per_second"), std::string::npos);
  EXPECT_NE(parse_error("segment:size=0").find("'size=0'"), std::string::npos);
  EXPECT_NE(parse_error("corrupt:xor=0").find("'xor=0'"), std::string::npos);
  EXPECT_NE(parse_error("corrupt:offset=1:ms=3").find("'ms=3' is not a corrupt setting"), std::string::npos);
  EXPECT_NE(parse_error("cut:nth=0").find("'nth=0'"), std::string::npos);
  EXPECT_NE(parse_error("cut::rst").find("empty part 2"), std::string::npos);
  EXPECT_NE(parse_error("cut:rst=1").find("'rst' takes no value"), std::string::npos);
  EXPECT_NE(parse_error("duplicate:nth=2:every").find("nth and every"), std::string::npos);
  EXPECT_NE(parse_error("cut:after=PUBREC:at=1s").find("not both"), std::string::npos);
}

TEST(FaultSpec, canonical_spec_round_trips) {
  for (auto spec : {"cut:to_broker:after=PUBREC:nth=3:rst", "cut:before=PUBLISH:fin:side=broker",
                    "delay:to_client:type=PUBLISH:ms=200:jitter=5ms:for=1s", "throttle:both:bps=1000",
                    "segment:to_broker:bytes=1", "corrupt:to_broker:type=PUBLISH:nth=2:offset=5:xor=0x0f",
                    "corrupt:set=7", "blackhole:to_client:after=CONNACK:for=3s", "blackhole:at=1s",
                    "duplicate:to_broker:type=PUBLISH:every", "reorder:to_broker:type=PUBLISH:window=4",
                    "rewrite:to_client:packet=SUBACK:op=set_code:set=0x03", "rewrite:to_client:op=keep_open",
                    "rewrite:to_client:op=delay_close:by=4s", "rewrite:to_client:packet=PUBACK:op=drop:nth=2"}) {
    const auto rule = parse_ok(spec);
    const auto again = parse_fault_spec(to_spec(rule));
    ASSERT_TRUE(again.rule) << to_spec(rule) << ": " << again.error;
    EXPECT_EQ(*again.rule, rule) << spec << " -> " << to_spec(rule);
  }
}

TEST(RuleMatcher, fires_once_on_the_nth_packet_of_the_type_only) {
  const auto rule = parse_ok("cut:after=PUBREC:nth=3");
  RuleMatcher m(rule);
  const PacketType seq[] = {PacketType::pubrec, PacketType::publish, PacketType::pubrec,
                            PacketType::pubcomp, PacketType::pubrec, PacketType::pubrec};
  std::vector<bool> fired;
  for (auto t : seq) fired.push_back(m.fires(t));
  EXPECT_EQ(fired, (std::vector<bool>{false, false, false, false, true, false}));
  EXPECT_TRUE(m.exhausted());
}

TEST(RuleMatcher, every_fires_on_each_matching_packet_and_any_type_matches_without_filter) {
  RuleMatcher every(parse_ok("duplicate:type=PUBLISH:every"));
  EXPECT_TRUE(every.fires(PacketType::publish));
  EXPECT_FALSE(every.fires(PacketType::puback));
  EXPECT_TRUE(every.fires(PacketType::publish));
  RuleMatcher any(parse_ok("corrupt:nth=2"));
  EXPECT_FALSE(any.fires(PacketType::connect));
  EXPECT_TRUE(any.fires(PacketType::pingreq));
}

TEST(PacketBytes, type_comes_from_the_high_nibble_of_byte_one) {
  const std::uint8_t pubrec[] = {0x50, 0x02, 0x00, 0x01};
  EXPECT_EQ(packet_type_of(pubrec), PacketType::pubrec);
  const std::uint8_t reserved[] = {0x00, 0x00};
  EXPECT_EQ(packet_type_of(reserved), std::nullopt);
  EXPECT_EQ(packet_type_of({}), std::nullopt);
}

TEST(PacketBytes, segments_cover_the_bytes_in_order_with_a_short_tail) {
  EXPECT_EQ(segment_sizes(7, 3), (std::vector<std::size_t>{3, 3, 1}));
  EXPECT_EQ(segment_sizes(3, 1), (std::vector<std::size_t>{1, 1, 1}));
  EXPECT_EQ(segment_sizes(2, 10), (std::vector<std::size_t>{2}));
  EXPECT_TRUE(segment_sizes(0, 4).empty());
}

TEST(PacketBytes, corrupt_xors_or_sets_one_byte_and_refuses_out_of_range) {
  std::vector<std::uint8_t> p = {0x30, 0x03, 0x00, 0x01, 0x74};
  EXPECT_TRUE(corrupt_byte(p, 0, 0xFF, std::nullopt));
  EXPECT_EQ(p[0], 0xCF);
  EXPECT_TRUE(corrupt_byte(p, 4, 0, std::uint8_t(0x23)));
  EXPECT_EQ(p[4], 0x23);
  const auto before = p;
  EXPECT_FALSE(corrupt_byte(p, 5, 0xFF, std::nullopt));
  EXPECT_EQ(p, before);
}

TEST(TokenBucket, paces_bytes_at_the_rate_with_a_tenth_second_burst) {
  TokenBucket b(1000, 0);  // 1000 B/s, burst 100 B
  EXPECT_EQ(b.available(0), 0u);
  EXPECT_EQ(b.wait_ms(0), 1);
  EXPECT_EQ(b.available(50), 50u);
  b.take(50);
  EXPECT_EQ(b.available(50), 0u);
  EXPECT_EQ(b.available(10'000), 100u);  // capped at the burst
  TokenBucket slow(2, 0);                // 2 B/s: one byte per 500 ms
  EXPECT_EQ(slow.wait_ms(0), 500);
  EXPECT_EQ(slow.available(499), 0u);
  EXPECT_EQ(slow.available(500), 1u);
}

// ---- rewrite: the wire mutants' packet and close ops (docs/faults.md, docs/mutants.md) ----

namespace {
std::vector<std::uint8_t> bytes(std::initializer_list<int> list) {
  std::vector<std::uint8_t> out;
  for (int b : list) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}
}  // namespace

TEST(FaultSpec, rewrite_parses_its_op_every_packet_by_default) {
  const auto r = parse_ok("rewrite:to_client:packet=SUBACK:op=set_code:set=0x03");
  EXPECT_EQ(r.kind, Kind::rewrite);
  EXPECT_EQ(r.op, RewriteOp::set_code);
  EXPECT_EQ(r.set, std::uint8_t{3});
  EXPECT_TRUE(r.every);  // a mutant acts on every matching packet unless nth is given
}

TEST(FaultSpec, rewrite_mistakes_say_what_is_missing) {
  EXPECT_NE(parse_error("rewrite:to_client:packet=CONNACK").find("needs op=NAME"), std::string::npos);
  EXPECT_NE(parse_error("rewrite:to_client:op=flip").find("op must be one of"), std::string::npos);
  EXPECT_NE(parse_error("rewrite:to_client:packet=SUBACK:op=set_code").find("needs set=CODE"), std::string::npos);
  EXPECT_NE(parse_error("rewrite:to_client:op=delay_close").find("needs by=DURATION"), std::string::npos);
  EXPECT_NE(parse_error("rewrite:to_broker:op=keep_open").find("direction to_client"), std::string::npos);
  EXPECT_NE(parse_error("rewrite:to_client:packet=CONNACK:op=keep_open").find("no packet type"), std::string::npos);
}

TEST(Rewrite, clear_session_present_in_connack) {
  auto p = bytes({0x20, 0x02, 0x01, 0x00});
  ASSERT_TRUE(rewrite_packet(p, RewriteOp::clear_session_present, {}, mqtt::Version::v3_1_1));
  EXPECT_EQ(p, bytes({0x20, 0x02, 0x00, 0x00}));
  EXPECT_FALSE(rewrite_packet(p, RewriteOp::clear_session_present, {}, mqtt::Version::v3_1_1));  // already 0
}

TEST(Rewrite, clear_retain_and_dup_in_publish) {
  auto retained = bytes({0x31, 0x05, 0x00, 0x01, 't', 'x', 'y'});
  ASSERT_TRUE(rewrite_packet(retained, RewriteOp::clear_retain, {}, mqtt::Version::v3_1_1));
  EXPECT_EQ(retained, bytes({0x30, 0x05, 0x00, 0x01, 't', 'x', 'y'}));
  auto resent = bytes({0x3a, 0x07, 0x00, 0x01, 't', 0x00, 0x05, 'x', 'y'});  // QoS 1, DUP 1, id 5
  ASSERT_TRUE(rewrite_packet(resent, RewriteOp::clear_dup, {}, mqtt::Version::v3_1_1));
  EXPECT_EQ(resent, bytes({0x32, 0x07, 0x00, 0x01, 't', 0x00, 0x05, 'x', 'y'}));
}

TEST(Rewrite, set_dup_sets_the_flag_of_any_publish_qos_0_too) {
  auto p = bytes({0x30, 0x04, 0x00, 0x01, 't', 'x'});
  ASSERT_TRUE(rewrite_packet(p, RewriteOp::set_dup, {}, mqtt::Version::v5));
  EXPECT_EQ(p, bytes({0x38, 0x04, 0x00, 0x01, 't', 'x'}));
  EXPECT_FALSE(rewrite_packet(p, RewriteOp::set_dup, {}, mqtt::Version::v5));  // already 1
  auto ack = bytes({0x40, 0x02, 0x00, 0x07});
  EXPECT_FALSE(rewrite_packet(ack, RewriteOp::set_dup, {}, mqtt::Version::v5));
}

TEST(Rewrite, set_code_replaces_the_first_code_where_the_version_has_one) {
  auto suback = bytes({0x90, 0x03, 0x00, 0x05, 0x01});
  ASSERT_TRUE(rewrite_packet(suback, RewriteOp::set_code, 0x03, mqtt::Version::v3_1_1));
  EXPECT_EQ(suback, bytes({0x90, 0x03, 0x00, 0x05, 0x03}));
  auto suback5 = bytes({0x90, 0x05, 0x00, 0x05, 0x00, 0x01, 0x02});  // no properties, two codes
  ASSERT_TRUE(rewrite_packet(suback5, RewriteOp::set_code, 0x03, mqtt::Version::v5));
  EXPECT_EQ(suback5, bytes({0x90, 0x05, 0x00, 0x05, 0x00, 0x03, 0x02}));
  auto puback5 = bytes({0x40, 0x02, 0x00, 0x07});  // 5.0 short form: reason 0x00 omitted
  ASSERT_TRUE(rewrite_packet(puback5, RewriteOp::set_code, 0x10, mqtt::Version::v5));
  EXPECT_EQ(puback5, bytes({0x40, 0x03, 0x00, 0x07, 0x10}));
  auto puback = bytes({0x40, 0x02, 0x00, 0x07});  // 3.1.1 PUBACK has no reason code
  EXPECT_FALSE(rewrite_packet(puback, RewriteOp::set_code, 0x10, mqtt::Version::v3_1_1));
  EXPECT_EQ(puback, bytes({0x40, 0x02, 0x00, 0x07}));
}

TEST(Rewrite, drop_user_properties_of_a_v5_publish_keeps_the_rest) {
  // Topic "t", properties: User Property ("k", "v"), payload "x".
  auto p = bytes({0x30, 0x0c, 0x00, 0x01, 't', 0x07, 0x26, 0x00, 0x01, 'k', 0x00, 0x01, 'v', 'x'});
  ASSERT_TRUE(rewrite_packet(p, RewriteOp::drop_user_properties, {}, mqtt::Version::v5));
  EXPECT_EQ(p, bytes({0x30, 0x05, 0x00, 0x01, 't', 0x00, 'x'}));
}

TEST(Rewrite, an_undecodable_packet_is_left_alone) {
  auto p = bytes({0x20, 0x02, 0x01});  // CONNACK cut short
  EXPECT_FALSE(rewrite_packet(p, RewriteOp::clear_session_present, {}, mqtt::Version::v3_1_1));
  EXPECT_EQ(p, bytes({0x20, 0x02, 0x01}));
}

TEST(Rewrite, connect_version_reads_the_protocol_level) {
  EXPECT_EQ(connect_version(bytes({0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00})),
            mqtt::Version::v3_1_1);
  EXPECT_EQ(connect_version(bytes({0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x00})),
            mqtt::Version::v5);
  EXPECT_EQ(connect_version(bytes({0x20, 0x02, 0x00, 0x00})), std::nullopt);
}
