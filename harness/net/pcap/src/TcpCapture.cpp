#include "mqtth/pcap/TcpCapture.hpp"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <algorithm>
#include <cstring>

namespace mqtth::pcap {

namespace {

std::uint16_t be16(const std::uint8_t* p) { return std::uint16_t(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}

constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86DD, kEtherVlan = 0x8100, kEtherQinQ = 0x88A8;
constexpr std::uint8_t kProtoTcp = 6;

// What a frame is, once the link layer is off: an IP packet, or the reason to skip it.
struct Network {
  const std::uint8_t* ip = nullptr;
  std::size_t size = 0;
  const char* skip = nullptr;  // set: not an IP packet this reader parses
};

Network strip_ethernet(const std::uint8_t* p, std::size_t n) {
  if (n < 14) return {nullptr, 0, "Ethernet frame shorter than its header"};
  std::size_t at = 12;
  std::uint16_t type = be16(p + at);
  while ((type == kEtherVlan || type == kEtherQinQ) && n >= at + 6) {  // 802.1Q / 802.1ad tags
    at += 4;
    type = be16(p + at);
  }
  at += 2;
  if (type != kEtherIpv4 && type != kEtherIpv6) return {nullptr, 0, "not IP"};
  return {p + at, n - at, nullptr};
}

Network strip_link(int link, const std::uint8_t* p, std::size_t n) {
  switch (link) {
    case DLT_EN10MB:
      return strip_ethernet(p, n);
    case DLT_LINUX_SLL:  // cooked v1: 16-byte header, protocol in the last two bytes
      if (n < 16) return {nullptr, 0, "Linux cooked frame shorter than its header"};
      if (be16(p + 14) != kEtherIpv4 && be16(p + 14) != kEtherIpv6) return {nullptr, 0, "not IP"};
      return {p + 16, n - 16, nullptr};
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:  // cooked v2: 20-byte header, protocol first
      if (n < 20) return {nullptr, 0, "Linux cooked v2 frame shorter than its header"};
      if (be16(p) != kEtherIpv4 && be16(p) != kEtherIpv6) return {nullptr, 0, "not IP"};
      return {p + 20, n - 20, nullptr};
#endif
    case DLT_NULL:
    case DLT_LOOP:  // a 4-byte address family (host order for NULL, network order for LOOP)
      if (n < 4) return {nullptr, 0, "loopback frame shorter than its header"};
      return {p + 4, n - 4, nullptr};  // the IP version nibble tells the family apart
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
    case DLT_IPV6:
#endif
      return {p, n, nullptr};
    default:
      return {nullptr, 0, "a link type this reader does not parse"};
  }
}

// IP to TCP: fills the endpoints and returns the TCP header, or the reason to skip.
const char* strip_ip(const Network& net, TcpSegment& seg, const std::uint8_t** tcp, std::size_t* tcp_size) {
  const std::uint8_t* p = net.ip;
  const std::size_t n = net.size;
  if (n < 1) return "empty IP packet";
  const int version = p[0] >> 4;
  if (version == 4) {
    if (n < 20) return "IPv4 packet shorter than its header";
    const std::size_t header = std::size_t(p[0] & 0x0F) * 4;
    const std::size_t total = be16(p + 2);
    if (header < 20 || n < header) return "IPv4 header length out of range";
    if (p[9] != kProtoTcp) return "not TCP";
    if ((be16(p + 6) & 0x3FFF) != 0) return "IP fragments are not reassembled";
    seg.from = {}, seg.to = {};
    std::memcpy(seg.from.address.data(), p + 12, 4);
    std::memcpy(seg.to.address.data(), p + 16, 4);
    // Ethernet pads short frames: the IP total length says where the packet ends.
    const std::size_t end = total >= header && total <= n ? total : n;
    *tcp = p + header;
    *tcp_size = end - header;
    return nullptr;
  }
  if (version == 6) {
    if (n < 40) return "IPv6 packet shorter than its header";
    std::uint8_t next = p[6];
    const std::size_t payload = be16(p + 4);
    std::size_t end = payload ? std::min(n, 40 + payload) : n;
    std::size_t at = 40;
    // Hop-by-hop, routing and destination options come before TCP; a fragment header does not
    // (fragments are not reassembled).
    while (next == 0 || next == 43 || next == 60) {
      if (end < at + 8) return "IPv6 extension header cut off";
      next = p[at];
      at += (std::size_t(p[at + 1]) + 1) * 8;
    }
    if (next == 44) return "IP fragments are not reassembled";
    if (next != kProtoTcp) return "not TCP";
    if (end < at) return "IPv6 extension header cut off";
    seg.from = {}, seg.to = {};
    seg.from.ipv6 = seg.to.ipv6 = true;
    std::memcpy(seg.from.address.data(), p + 8, 16);
    std::memcpy(seg.to.address.data(), p + 24, 16);
    *tcp = p + at;
    *tcp_size = end - at;
    return nullptr;
  }
  return "not IPv4 or IPv6";
}

}  // namespace

std::string TcpEndpoint::text() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, address.data(), buf, sizeof buf);
  return ipv6 ? "[" + std::string(buf) + "]:" + std::to_string(port) : std::string(buf) + ":" + std::to_string(port);
}

bool read_tcp_segments(const std::string& path, const std::function<void(const TcpSegment&)>& on_segment,
                       CaptureStats* stats, std::string* error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_open_offline(path.c_str(), errbuf);
  if (!handle) {
    *error = errbuf;
    return false;
  }
  const int link = pcap_datalink(handle);
  CaptureStats local;
  CaptureStats& s = stats ? *stats : local;
  pcap_pkthdr* header = nullptr;
  const std::uint8_t* data = nullptr;
  int rc = 0;
  while ((rc = pcap_next_ex(handle, &header, &data)) == 1) {
    ++s.frames;
    auto skip = [&](const char* why) {
      ++s.skipped;
      if (s.skipped_reason.empty()) s.skipped_reason = std::string(why) + " (frame " + std::to_string(s.frames) + ")";
    };
    const Network net = strip_link(link, data, header->caplen);
    if (net.skip) {
      if (std::strcmp(net.skip, "not IP") != 0) skip(net.skip);
      continue;
    }
    TcpSegment seg;
    const std::uint8_t* tcp = nullptr;
    std::size_t tcp_size = 0;
    if (const char* why = strip_ip(net, seg, &tcp, &tcp_size)) {
      if (std::strcmp(why, "not TCP") != 0) skip(why);
      continue;
    }
    if (tcp_size < 20 || std::size_t(tcp[12] >> 4) * 4 < 20 || tcp_size < std::size_t(tcp[12] >> 4) * 4) {
      skip("TCP header cut off");
      continue;
    }
    const std::size_t tcp_header = std::size_t(tcp[12] >> 4) * 4;
    seg.frame = s.frames;
    seg.time = double(header->ts.tv_sec) + double(header->ts.tv_usec) / 1e6;
    seg.from.port = be16(tcp);
    seg.to.port = be16(tcp + 2);
    seg.seq = be32(tcp + 4);
    const std::uint8_t flags = tcp[13];
    seg.fin = flags & 0x01;
    seg.syn = flags & 0x02;
    seg.rst = flags & 0x04;
    seg.ack = flags & 0x10;
    seg.payload.assign(tcp + tcp_header, tcp + tcp_size);
    // What the frame was on the wire minus what was captured: the snap length's cut.
    if (header->len > header->caplen) seg.cut_off = header->len - header->caplen;
    ++s.tcp_segments;
    on_segment(seg);
  }
  if (rc == PCAP_ERROR) {
    *error = std::string("reading ") + path + ": " + pcap_geterr(handle);
    pcap_close(handle);
    return false;
  }
  pcap_close(handle);
  return true;
}

void TcpReassembler::add(const TcpSegment& seg) {
  if (seg.syn) {
    if (!started_ || !syn_) {
      started_ = syn_ = true;
      base_ = seg.seq + 1;
      next_ = 0;
      waiting_.clear();
    }
    if (seg.payload.empty()) return;
  }
  if (seg.payload.empty() && !seg.cut_off) return;  // a pure ACK, FIN or RST
  if (!started_) {
    started_ = true;
    base_ = seg.seq;
  }
  // The 32-bit sequence number, as the 64-bit stream offset nearest to what is expected.
  const std::uint32_t relative = seg.seq + (seg.syn ? 1u : 0u) - base_;
  std::uint64_t offset = (next_ & ~std::uint64_t(0xFFFFFFFF)) | relative;
  if (offset > next_ + 0x80000000ull && offset >= 0x100000000ull) offset -= 0x100000000ull;
  else if (offset + 0x80000000ull < next_) offset += 0x100000000ull;
  // Bytes the snap length cut off are a hole unless a retransmission brings them.
  if (seg.cut_off) claimed_end_ = std::max(claimed_end_, offset + seg.payload.size() + seg.cut_off);
  std::vector<std::uint8_t> bytes = seg.payload;
  if (offset < next_) {  // a retransmission, or a segment overlapping what was delivered
    const std::uint64_t seen = next_ - offset;
    if (seen >= bytes.size()) return;
    bytes.erase(bytes.begin(), bytes.begin() + std::ptrdiff_t(seen));
    offset = next_;
  }
  if (bytes.empty()) return;
  auto& slot = waiting_[offset];
  if (bytes.size() > slot.size()) slot = std::move(bytes);
  flush();
}

void TcpReassembler::flush() {
  while (!waiting_.empty() && !hole_) {
    auto it = waiting_.begin();
    if (it->first > next_) return;  // a hole, for now
    const std::uint64_t skip = next_ - it->first;
    if (skip < it->second.size()) {
      deliver_(next_, it->second.data() + skip, it->second.size() - skip);
      next_ = it->first + it->second.size();
    }
    waiting_.erase(it);
  }
}

void TcpReassembler::finish() {
  flush();
  if (!hole_ && !waiting_.empty()) hole_ = Hole{next_, waiting_.begin()->first - next_};
  if (!hole_ && claimed_end_ > next_) hole_ = Hole{next_, claimed_end_ - next_};
}

}  // namespace mqtth::pcap
