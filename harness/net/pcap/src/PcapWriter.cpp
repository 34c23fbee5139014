#include "mqtth/pcap/PcapWriter.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <vector>

namespace mqtth::pcap {
namespace {

constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10;
constexpr std::size_t kEth = 14, kIp = 20, kTcp = 20;
constexpr std::size_t kMaxPayload = 65535 - kIp - kTcp;

void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = std::uint8_t(v >> 8);
  p[1] = std::uint8_t(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xFFFF);
}

// RFC 1071 one's-complement sum.
std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) acc += (std::uint32_t(p[i]) << 8) | p[i + 1];
  if (n & 1) acc += std::uint32_t(p[n - 1]) << 8;
  return acc;
}
std::uint16_t fold(std::uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xFFFF) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc);
}

}  // namespace

std::unique_ptr<PcapWriter> PcapWriter::open(const std::string& path, const Endpoints& endpoints,
                                             Clock::time_point start, std::string* error) {
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  if (!p) {
    if (error) *error = "pcap_open_dead failed";
    return nullptr;
  }
  pcap_dumper_t* d = pcap_dump_open(p, path.c_str());
  if (!d) {
    if (error) *error = std::string("cannot write ") + path + ": " + pcap_geterr(p);
    pcap_close(p);
    return nullptr;
  }
  std::unique_ptr<PcapWriter> w(new PcapWriter());
  w->pcap_ = p;
  w->dumper_ = d;
  w->ends_ = endpoints;
  // Handshake: SYN, SYN/ACK, ACK, each consuming one sequence number for SYN.
  w->frame(Direction::to_broker, start, kSyn, {});
  ++w->seq_[0];
  w->frame(Direction::to_client, start, kSyn | kAck, {});
  ++w->seq_[1];
  w->frame(Direction::to_broker, start, kAck, {});
  return w;
}

PcapWriter::~PcapWriter() { close(Clock::now()); }

void PcapWriter::write(Direction direction, Clock::time_point when, std::span<const std::uint8_t> bytes) {
  if (!dumper_) return;
  while (!bytes.empty()) {
    const auto n = std::min(bytes.size(), kMaxPayload);
    frame(direction, when, kPsh | kAck, bytes.first(n));
    seq_[direction == Direction::to_broker ? 0 : 1] += static_cast<std::uint32_t>(n);
    bytes = bytes.subspan(n);
  }
}

void PcapWriter::close(Clock::time_point when) {
  if (!dumper_) return;
  frame(Direction::to_broker, when, kFin | kAck, {});
  ++seq_[0];
  frame(Direction::to_client, when, kFin | kAck, {});
  ++seq_[1];
  frame(Direction::to_broker, when, kAck, {});
  pcap_dump_close(static_cast<pcap_dumper_t*>(dumper_));
  pcap_close(static_cast<pcap_t*>(pcap_));
  dumper_ = nullptr;
  pcap_ = nullptr;
}

void PcapWriter::frame(Direction direction, Clock::time_point when, std::uint8_t flags,
                       std::span<const std::uint8_t> payload) {
  const bool up = direction == Direction::to_broker;
  const std::uint32_t src_ip = up ? ends_.client_ip : ends_.broker_ip;
  const std::uint32_t dst_ip = up ? ends_.broker_ip : ends_.client_ip;
  const std::uint16_t src_port = up ? ends_.client_port : ends_.broker_port;
  const std::uint16_t dst_port = up ? ends_.broker_port : ends_.client_port;
  const std::uint32_t seq = seq_[up ? 0 : 1];
  const std::uint32_t ack = (flags & kAck) ? seq_[up ? 1 : 0] : 0;

  std::vector<std::uint8_t> f(kEth + kIp + kTcp + payload.size(), 0);
  std::uint8_t* eth = f.data();
  // Locally administered MACs: 02:00:00:00:00:01 client, :02 broker.
  eth[0] = 0x02; eth[5] = up ? 2 : 1;
  eth[6] = 0x02; eth[11] = up ? 1 : 2;
  put16(eth + 12, 0x0800);
  std::uint8_t* ip = eth + kEth;
  ip[0] = 0x45;
  put16(ip + 2, std::uint32_t(kIp + kTcp + payload.size()));
  put16(ip + 4, std::uint32_t(frames_ & 0xFFFF));
  put16(ip + 6, 0x4000);  // don't fragment
  ip[8] = 64;
  ip[9] = 6;  // TCP
  put32(ip + 12, src_ip);
  put32(ip + 16, dst_ip);
  put16(ip + 10, fold(sum16(ip, kIp)));
  std::uint8_t* tcp = ip + kIp;
  put16(tcp, src_port);
  put16(tcp + 2, dst_port);
  put32(tcp + 4, seq);
  put32(tcp + 8, ack);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  put16(tcp + 14, 65535);
  std::copy(payload.begin(), payload.end(), tcp + kTcp);
  // TCP checksum over the pseudo header (RFC 793 3.1) and the segment.
  std::uint8_t pseudo[12] = {};
  put32(pseudo, src_ip);
  put32(pseudo + 4, dst_ip);
  pseudo[9] = 6;
  put16(pseudo + 10, std::uint32_t(kTcp + payload.size()));
  put16(tcp + 16, fold(sum16(tcp, kTcp + payload.size(), sum16(pseudo, sizeof pseudo))));

  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
  pcap_pkthdr h{};
  h.ts.tv_sec = static_cast<time_t>(us / 1'000'000);
  h.ts.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
  h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
  pcap_dump(static_cast<u_char*>(dumper_), &h, f.data());
  ++frames_;
}

}  // namespace mqtth::pcap
