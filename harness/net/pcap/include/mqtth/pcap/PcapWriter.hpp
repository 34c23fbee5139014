// PcapWriter: writes one MQTT-over-TCP conversation to a pcap file through libpcap's dump
// API, with synthesised Ethernet/IPv4/TCP headers around the bytes each side sent.
//
// The broker side uses TCP port 1883 (whatever the real port was) so Wireshark/tshark
// decode the payload as MQTT with no options. Sequence and acknowledgement numbers advance
// per direction, IPv4 and TCP checksums are computed, and the file starts with a
// three-way handshake and ends with FIN/ACKs so TCP reassembly sees a whole stream.
// Timestamps are the caller's (real time of the write).
//
// Qt-free. Used by the FaultProxy (--pcap DIR) and meant for the runner's --pcap DIR:
// one writer per client connection, write(direction, time, bytes) for every chunk sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace mqtth::pcap {

enum class Direction : std::uint8_t { to_broker, to_client };

struct Endpoints {
  std::uint32_t client_ip = 0x0A000001;  // 10.0.0.1 (host order)
  std::uint16_t client_port = 49152;     // give each connection its own port
  std::uint32_t broker_ip = 0x0A000002;  // 10.0.0.2
  std::uint16_t broker_port = 1883;      // the MQTT dissector's default port
};

class PcapWriter {
 public:
  using Clock = std::chrono::system_clock;

  // Creates/truncates `path` and writes the handshake at `start`. nullptr and *error set
  // when libpcap cannot open the file.
  static std::unique_ptr<PcapWriter> open(const std::string& path, const Endpoints& endpoints,
                                          Clock::time_point start, std::string* error);
  ~PcapWriter();  // close(Clock::now()) if not closed yet
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Bytes one side sent, as one TCP segment (split at 65495 bytes, the IPv4 limit).
  void write(Direction direction, Clock::time_point when, std::span<const std::uint8_t> bytes);
  // Writes the FIN exchange and closes the file. Idempotent.
  void close(Clock::time_point when);
  std::uint64_t frames_written() const { return frames_; }

 private:
  PcapWriter() = default;
  void frame(Direction direction, Clock::time_point when, std::uint8_t flags,
             std::span<const std::uint8_t> payload);

  void* pcap_ = nullptr;    // pcap_t*
  void* dumper_ = nullptr;  // pcap_dumper_t*
  Endpoints ends_{};
  std::uint32_t seq_[2] = {1000, 5000};  // next sequence number sent by client / broker
  std::uint64_t frames_ = 0;
};

}  // namespace mqtth::pcap
