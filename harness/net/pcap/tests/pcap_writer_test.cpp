// PcapWriter: read the file back with libpcap and check the synthesised headers against
// RFC 791/793 (lengths, checksums that verify to zero, sequence numbers per direction).
#include "mqtth/pcap/PcapWriter.hpp"

#include <pcap/pcap.h>

#include <gtest/gtest.h>

#include <vector>

using mqtth::pcap::Direction;
using mqtth::pcap::PcapWriter;

namespace {
struct Frame {
  std::vector<std::uint8_t> bytes;
  long sec = 0;
};
std::vector<Frame> read_all(const std::string& path, int* linktype) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  EXPECT_NE(p, nullptr) << err;
  std::vector<Frame> out;
  if (!p) return out;
  *linktype = pcap_datalink(p);
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(p, &h, &data) == 1) out.push_back({std::vector<std::uint8_t>(data, data + h->caplen), long(h->ts.tv_sec)});
  pcap_close(p);
  return out;
}
std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t(p[0]) << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
// One's-complement sum: a header with a correct checksum sums to 0xFFFF (RFC 1071).
std::uint32_t sum(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) acc += be16(p + i);
  if (n & 1) acc += std::uint32_t(p[n - 1]) << 8;
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return acc;
}
}  // namespace

TEST(PcapWriter, frames_carry_valid_ipv4_tcp_headers_and_advancing_sequence_numbers) {
  const std::string path = std::string(MQTTH_BINARY_DIR) + "/pcap_writer_test.pcap";
  const auto t0 = PcapWriter::Clock::time_point(std::chrono::seconds(1'700'000'000));
  std::string error;
  mqtth::pcap::Endpoints ends;
  ends.client_port = 50001;
  auto w = PcapWriter::open(path, ends, t0, &error);
  ASSERT_NE(w, nullptr) << error;
  const std::uint8_t pingreq[] = {0xC0, 0x00};
  const std::uint8_t pingresp[] = {0xD0, 0x00};
  w->write(Direction::to_broker, t0 + std::chrono::seconds(1), pingreq);
  w->write(Direction::to_client, t0 + std::chrono::seconds(2), pingresp);
  w->write(Direction::to_broker, t0 + std::chrono::seconds(3), pingreq);
  w->close(t0 + std::chrono::seconds(4));
  EXPECT_EQ(w->frames_written(), 9u);  // 3 handshake + 3 data + 3 close

  int linktype = 0;
  const auto frames = read_all(path, &linktype);
  EXPECT_EQ(linktype, DLT_EN10MB);
  ASSERT_EQ(frames.size(), 9u);
  std::uint32_t data_seq[3] = {};
  for (std::size_t k = 0; k < frames.size(); ++k) {
    const auto& f = frames[k].bytes;
    ASSERT_GE(f.size(), 54u);
    EXPECT_EQ(be16(&f[12]), 0x0800u);
    const std::uint8_t* ip = &f[14];
    EXPECT_EQ(be16(ip + 2), f.size() - 14) << "IPv4 total length, frame " << k;
    EXPECT_EQ(sum(ip, 20), 0xFFFFu) << "IPv4 header checksum, frame " << k;
    const std::uint8_t* tcp = ip + 20;
    const std::size_t tcp_len = f.size() - 34;
    std::uint8_t pseudo[12] = {};
    std::copy(ip + 12, ip + 20, pseudo);
    pseudo[9] = 6;
    pseudo[10] = std::uint8_t(tcp_len >> 8);
    pseudo[11] = std::uint8_t(tcp_len);
    EXPECT_EQ(sum(tcp, tcp_len, sum(pseudo, 12)), 0xFFFFu) << "TCP checksum, frame " << k;
    const bool up = be16(tcp + 2) == 1883;
    EXPECT_EQ(up ? be16(tcp) : be16(tcp + 2), 50001u);
    if (k >= 3 && k < 6) data_seq[k - 3] = be32(tcp + 4);
  }
  EXPECT_EQ(frames[3].sec, 1'700'000'001);
  EXPECT_EQ(frames[4].sec, 1'700'000'002);
  // The second PINGREQ follows the first by its 2 bytes; the client acks the PINGRESP.
  EXPECT_EQ(data_seq[2], data_seq[0] + 2);
  EXPECT_EQ(be32(&frames[5].bytes[34 + 8]), data_seq[1] + 2);
  EXPECT_EQ(frames[3].bytes[54], 0xC0);
  EXPECT_EQ(frames[4].bytes[54], 0xD0);
}

TEST(PcapWriter, open_reports_an_unwritable_path) {
  std::string error;
  auto w = PcapWriter::open("/nonexistent-dir/x.pcap", {}, PcapWriter::Clock::now(), &error);
  EXPECT_EQ(w, nullptr);
  EXPECT_NE(error.find("/nonexistent-dir/x.pcap"), std::string::npos);
}
