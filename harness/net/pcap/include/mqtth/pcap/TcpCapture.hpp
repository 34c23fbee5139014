// Reading TCP conversations back out of a capture file (pcap or pcapng, through libpcap):
// the segments of every TCP connection, and each direction's bytes in sequence order.
//
// TcpSegments parses the link layers a capture of MQTT traffic comes with (Ethernet with
// VLAN tags, Linux cooked v1/v2, BSD loopback, raw IP), IPv4 and IPv6 (extension headers
// skipped) and TCP. TcpReassembler turns one direction's segments, in capture order, into
// its byte stream: retransmitted bytes are delivered once, segments that arrive ahead of a
// hole wait for it, and a hole the capture never fills is reported with its stream offset
// instead of gluing the bytes around it together. Qt-free.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mqtth::pcap {

struct TcpEndpoint {
  std::array<std::uint8_t, 16> address{};  // IPv4 in the first 4 bytes
  bool ipv6 = false;
  std::uint16_t port = 0;
  std::string text() const;  // 10.0.0.1:1883, [::1]:1883
  auto operator<=>(const TcpEndpoint&) const = default;
};

struct TcpSegment {
  std::uint64_t frame = 0;  // 1-based frame number in the capture (as Wireshark counts)
  double time = 0;          // seconds since the epoch
  TcpEndpoint from, to;
  std::uint32_t seq = 0;
  bool syn = false, fin = false, rst = false, ack = false;
  std::vector<std::uint8_t> payload;  // the captured part
  std::uint32_t cut_off = 0;          // payload bytes the snap length left out of the capture
};

// Calls `on_segment` for every TCP segment of the capture at `path`, in capture order.
// Frames that are not TCP are skipped; frames this reader cannot parse (IP fragments, an
// unknown link type) are counted in `skipped`. false and *error on an unreadable file.
struct CaptureStats {
  std::uint64_t frames = 0, tcp_segments = 0, skipped = 0;
  std::string skipped_reason;  // the first reason a frame was skipped
};
bool read_tcp_segments(const std::string& path, const std::function<void(const TcpSegment&)>& on_segment,
                       CaptureStats* stats, std::string* error);

// One direction of a TCP connection: segments in, contiguous bytes out.
class TcpReassembler {
 public:
  // Bytes that are next in the stream; `offset` counts from the first byte after the SYN
  // (or, without a SYN, from the first segment seen).
  using Deliver = std::function<void(std::uint64_t offset, const std::uint8_t* data, std::size_t size)>;
  explicit TcpReassembler(Deliver deliver) : deliver_(std::move(deliver)) {}

  void add(const TcpSegment& segment);
  // The first hole: bytes never captured before later bytes that were. nullopt while the
  // stream is whole (bytes waiting behind a hole that a later segment may still fill count
  // as a hole only at finish()).
  struct Hole {
    std::uint64_t offset = 0;  // the first missing byte
    std::uint64_t size = 0;
  };
  std::optional<Hole> hole() const { return hole_; }
  // The capture is over: whatever still waits behind a hole is a hole.
  void finish();
  bool saw_syn() const { return syn_; }
  std::uint64_t delivered() const { return next_; }

 private:
  void flush();
  Deliver deliver_;
  bool started_ = false, syn_ = false;
  std::uint32_t base_ = 0;    // sequence number of stream offset 0
  std::uint64_t next_ = 0;    // the next offset to deliver
  std::uint64_t claimed_end_ = 0;  // where segments the snap length cut short really ended
  std::map<std::uint64_t, std::vector<std::uint8_t>> waiting_;  // offset -> bytes ahead of next_
  std::optional<Hole> hole_;
};

}  // namespace mqtth::pcap
