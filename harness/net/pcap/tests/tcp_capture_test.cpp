// TcpReassembler and read_tcp_segments: streams put back together from segments that come
// out of order, twice, cut short or not at all; captures of each link type built here frame
// by frame (RFC 791 / 8200 / 793 headers written by hand, not by PcapWriter).
#include "mqtth/pcap/TcpCapture.hpp"

#include <pcap/pcap.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using mqtth::pcap::CaptureStats;
using mqtth::pcap::read_tcp_segments;
using mqtth::pcap::TcpReassembler;
using mqtth::pcap::TcpSegment;

namespace {

TcpSegment segment(std::uint32_t seq, std::string payload, bool syn = false) {
  TcpSegment s;
  s.seq = seq;
  s.syn = syn;
  s.payload.assign(payload.begin(), payload.end());
  return s;
}

struct Stream {
  std::string bytes;
  std::vector<std::uint64_t> offsets;
  TcpReassembler tcp{[this](std::uint64_t offset, const std::uint8_t* data, std::size_t size) {
    offsets.push_back(offset);
    bytes.append(reinterpret_cast<const char*>(data), size);
  }};
};

TEST(TcpReassembler, delivers_in_sequence_order_from_the_byte_after_the_syn) {
  Stream s;
  s.tcp.add(segment(1000, "", true));
  s.tcp.add(segment(1001, "abc"));
  s.tcp.add(segment(1007, "ghi"));  // ahead of a hole
  EXPECT_EQ(s.bytes, "abc");
  s.tcp.add(segment(1004, "def"));  // fills it
  s.tcp.finish();
  EXPECT_EQ(s.bytes, "abcdefghi");
  EXPECT_EQ(s.offsets, (std::vector<std::uint64_t>{0, 3, 6}));
  EXPECT_FALSE(s.tcp.hole());
  EXPECT_TRUE(s.tcp.saw_syn());
}

TEST(TcpReassembler, retransmitted_and_overlapping_bytes_are_delivered_once) {
  Stream s;
  s.tcp.add(segment(1, "", true));
  s.tcp.add(segment(2, "hello"));
  s.tcp.add(segment(2, "hello"));     // a retransmission
  s.tcp.add(segment(5, "lo world"));  // repacketised: overlaps 3 delivered bytes
  s.tcp.finish();
  EXPECT_EQ(s.bytes, "hello world");
}

TEST(TcpReassembler, a_hole_never_filled_is_reported_with_its_offset_and_nothing_after_it_is_delivered) {
  Stream s;
  s.tcp.add(segment(100, "", true));
  s.tcp.add(segment(101, "0123"));
  s.tcp.add(segment(111, "after"));  // bytes 4..9 were never captured
  s.tcp.finish();
  EXPECT_EQ(s.bytes, "0123");
  ASSERT_TRUE(s.tcp.hole());
  EXPECT_EQ(s.tcp.hole()->offset, 4u);
  EXPECT_EQ(s.tcp.hole()->size, 6u);
}

TEST(TcpReassembler, bytes_the_snap_length_cut_off_are_a_hole_even_at_the_end) {
  Stream s;
  TcpSegment cut = segment(1, "ab");
  cut.cut_off = 30;
  s.tcp.add(cut);
  s.tcp.finish();
  EXPECT_EQ(s.bytes, "ab");
  ASSERT_TRUE(s.tcp.hole());
  EXPECT_EQ(s.tcp.hole()->offset, 2u);
  EXPECT_EQ(s.tcp.hole()->size, 30u);
}

TEST(TcpReassembler, sequence_numbers_wrap_around_2_to_the_32) {
  Stream s;
  s.tcp.add(segment(0xFFFFFFFEu, "", true));
  s.tcp.add(segment(0xFFFFFFFFu, "ab"));
  s.tcp.add(segment(0x00000001u, "cd"));
  s.tcp.finish();
  EXPECT_EQ(s.bytes, "abcd");
  EXPECT_FALSE(s.tcp.hole());
}

TEST(TcpReassembler, without_a_syn_the_stream_starts_at_the_first_segment_seen) {
  Stream s;
  s.tcp.add(segment(5000, "xy"));
  s.tcp.add(segment(5002, "z"));
  s.tcp.finish();
  EXPECT_EQ(s.bytes, "xyz");
  EXPECT_FALSE(s.tcp.saw_syn());
}

// ----------------------------------------------------------------------------------------
// Captures of each link type

using Bytes = std::vector<std::uint8_t>;

void put16(Bytes& b, std::uint16_t v) {
  b.push_back(std::uint8_t(v >> 8));
  b.push_back(std::uint8_t(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, std::uint16_t(v >> 16));
  put16(b, std::uint16_t(v));
}

Bytes tcp_header(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint8_t flags) {
  Bytes t;
  put16(t, sport);
  put16(t, dport);
  put32(t, seq);
  put32(t, 0);            // ack
  t.push_back(5 << 4);    // data offset: 20 bytes
  t.push_back(flags);
  put16(t, 65535);        // window
  put32(t, 0);            // checksum, urgent pointer (not checked by the reader)
  return t;
}

Bytes ipv4(const Bytes& tcp, const std::string& payload, std::uint16_t fragment_field = 0) {
  Bytes ip;
  ip.push_back(0x45);
  ip.push_back(0);
  put16(ip, std::uint16_t(20 + tcp.size() + payload.size()));
  put16(ip, 1);
  put16(ip, fragment_field);
  ip.push_back(64);
  ip.push_back(6);
  put16(ip, 0);
  for (std::uint8_t a : {127, 0, 0, 1}) ip.push_back(a);
  for (std::uint8_t a : {127, 0, 0, 2}) ip.push_back(a);
  ip.insert(ip.end(), tcp.begin(), tcp.end());
  ip.insert(ip.end(), payload.begin(), payload.end());
  return ip;
}

// IPv6 with a hop-by-hop options header before TCP.
Bytes ipv6_with_hop_by_hop(const Bytes& tcp, const std::string& payload) {
  Bytes ip{0x60, 0, 0, 0};
  put16(ip, std::uint16_t(8 + tcp.size() + payload.size()));
  ip.push_back(0);   // next header: hop-by-hop
  ip.push_back(64);
  for (int i = 0; i < 15; ++i) ip.push_back(0);
  ip.push_back(1);   // ::1
  for (int i = 0; i < 15; ++i) ip.push_back(0);
  ip.push_back(2);   // ::2
  Bytes hop{6, 0, 1, 4, 0, 0, 0, 0};  // next: TCP, length 0 (8 bytes), PadN
  ip.insert(ip.end(), hop.begin(), hop.end());
  ip.insert(ip.end(), tcp.begin(), tcp.end());
  ip.insert(ip.end(), payload.begin(), payload.end());
  return ip;
}

struct Written {
  int linktype;
  std::vector<Bytes> frames;
  unsigned snaplen = 65535;
};

std::string write_capture(const std::string& name, const Written& w) {
  const std::string path = std::string(MQTTH_BINARY_DIR) + "/" + name + ".pcap";
  pcap_t* dead = pcap_open_dead(w.linktype, int(w.snaplen));
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  EXPECT_NE(d, nullptr) << pcap_geterr(dead);
  long usec = 0;
  for (const auto& f : w.frames) {
    pcap_pkthdr h{};
    h.ts.tv_sec = 1700000000;
    h.ts.tv_usec = usec += 10;
    h.len = bpf_u_int32(f.size());
    h.caplen = std::min<bpf_u_int32>(h.len, w.snaplen);
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
  return path;
}

std::vector<TcpSegment> read_back(const std::string& path, CaptureStats* stats = nullptr) {
  std::vector<TcpSegment> out;
  std::string error;
  EXPECT_TRUE(read_tcp_segments(path, [&](const TcpSegment& s) { out.push_back(s); }, stats, &error)) << error;
  return out;
}

Bytes with_prefix(Bytes prefix, const Bytes& ip) {
  prefix.insert(prefix.end(), ip.begin(), ip.end());
  return prefix;
}

const std::string kConnect = std::string("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00", 14);

TEST(ReadTcpSegments, ethernet_with_a_vlan_tag_gives_addresses_ports_flags_and_payload) {
  Bytes eth{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00};
  const auto path = write_capture("vlan", {DLT_EN10MB, {with_prefix(eth, ipv4(tcp_header(40000, 1883, 77, 0x18), kConnect))}});
  const auto segs = read_back(path);
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].from.text(), "127.0.0.1:40000");
  EXPECT_EQ(segs[0].to.text(), "127.0.0.2:1883");
  EXPECT_EQ(segs[0].seq, 77u);
  EXPECT_TRUE(segs[0].ack);
  EXPECT_FALSE(segs[0].syn);
  EXPECT_EQ(std::string(segs[0].payload.begin(), segs[0].payload.end()), kConnect);
  EXPECT_EQ(segs[0].frame, 1u);
}

TEST(ReadTcpSegments, ethernet_padding_after_a_short_ip_packet_is_not_payload) {
  Bytes eth{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00};
  Bytes frame = with_prefix(eth, ipv4(tcp_header(40000, 1883, 1, 0x10), "\xc0"));  // PINGREQ's first byte
  frame.resize(60, 0);  // the minimum Ethernet frame
  const auto segs = read_back(write_capture("padded", {DLT_EN10MB, {frame}}));
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].payload.size(), 1u);
}

TEST(ReadTcpSegments, linux_cooked_v1_and_v2_loopback_and_raw_ipv6_are_read) {
  Bytes sll(16, 0);
  sll[14] = 0x08;  // protocol 0x0800
  Bytes sll2(20, 0);
  sll2[0] = 0x08;
  Bytes null_family{2, 0, 0, 0};  // AF_INET, host order (little-endian here)
  const auto tcp = tcp_header(40000, 1883, 5, 0x18);
  EXPECT_EQ(read_back(write_capture("sll", {DLT_LINUX_SLL, {with_prefix(sll, ipv4(tcp, kConnect))}})).size(), 1u);
  EXPECT_EQ(read_back(write_capture("sll2", {DLT_LINUX_SLL2, {with_prefix(sll2, ipv4(tcp, kConnect))}})).size(), 1u);
  EXPECT_EQ(read_back(write_capture("null", {DLT_NULL, {with_prefix(null_family, ipv4(tcp, kConnect))}})).size(), 1u);
  const auto v6 = read_back(write_capture("raw6", {DLT_RAW, {ipv6_with_hop_by_hop(tcp, kConnect)}}));
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_TRUE(v6[0].from.ipv6);
  EXPECT_EQ(v6[0].from.text(), "[::1]:40000");
  EXPECT_EQ(std::string(v6[0].payload.begin(), v6[0].payload.end()), kConnect);
}

TEST(ReadTcpSegments, ip_fragments_are_skipped_with_the_reason_and_the_frame) {
  CaptureStats stats;
  const auto path = write_capture("fragment", {DLT_RAW, {ipv4(tcp_header(1, 2, 3, 0x18), "x", 0x2000 /* more fragments */)}});
  EXPECT_TRUE(read_back(path, &stats).empty());
  EXPECT_EQ(stats.skipped, 1u);
  EXPECT_EQ(stats.skipped_reason, "IP fragments are not reassembled (frame 1)");
}

TEST(ReadTcpSegments, the_snap_length_cut_is_counted_per_segment) {
  Written w{DLT_RAW, {ipv4(tcp_header(40000, 1883, 5, 0x18), std::string(100, 'x'))}, 60};
  const auto segs = read_back(write_capture("snap", w));
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].payload.size(), 20u);  // 60 - 20 (IPv4) - 20 (TCP)
  EXPECT_EQ(segs[0].cut_off, 80u);
}

TEST(ReadTcpSegments, an_unreadable_file_is_an_error_naming_it) {
  std::string error;
  EXPECT_FALSE(read_tcp_segments("/nonexistent/capture.pcap", [](const TcpSegment&) {}, nullptr, &error));
  EXPECT_NE(error.find("/nonexistent/capture.pcap"), std::string::npos) << error;
}

}  // namespace
