// peek_frame / Framer: limits from the fixed header, sticky errors with stream offsets;
// large PUBLISH payloads are never touched unless payload_format_indicator asks for it.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace mqtt::test {
namespace {

TEST(PeekFrame, reports_size_from_the_fixed_header_only) {
  const std::string h = from_hex("30 c8 01");  // remaining length 200, no body yet
  auto f = peek_frame(bytes(h));
  EXPECT_EQ(f.status, FrameInfo::Status::need_more);
  EXPECT_EQ(f.size, 203u);
  EXPECT_EQ(peek_frame(bytes(from_hex("30"))).status, FrameInfo::Status::need_more);
  EXPECT_EQ(peek_frame(Bytes{}).status, FrameInfo::Status::need_more);
  EXPECT_EQ(peek_frame(bytes(from_hex("c0 00 ff"))).status, FrameInfo::Status::complete);
  EXPECT_EQ(peek_frame(bytes(from_hex("c0 00 ff"))).size, 2u);
}

TEST(PeekFrame, packet_type_0_and_bad_varints_are_malformed) {
  auto a = peek_frame(bytes(from_hex("00 00")));
  EXPECT_EQ(a.status, FrameInfo::Status::error);
  EXPECT_EQ(a.error.code, Errc::malformed_packet);
  auto b = peek_frame(bytes(from_hex("30 80 80 80 80")));
  EXPECT_EQ(b.status, FrameInfo::Status::error);
  EXPECT_EQ(b.error.offset, 4u);
  EXPECT_EQ(b.error.spec, "MQTT-1.5.5-1");
  auto c = peek_frame(bytes(from_hex("30 80 00")));
  EXPECT_EQ(c.status, FrameInfo::Status::error);
  EXPECT_EQ(c.error.spec, "MQTT-1.5.5-1");
}

TEST(PeekFrame, oversize_packet_is_rejected_before_its_body_arrives) {
  auto f = peek_frame(bytes(from_hex("30 ff ff ff 7f")), 1024);
  EXPECT_EQ(f.status, FrameInfo::Status::error);
  EXPECT_EQ(f.error.code, Errc::packet_too_large);
  EXPECT_EQ(f.error.offset, 1u);
}

TEST(Framer, oversize_packet_is_rejected_from_its_fixed_header_and_nothing_more_is_buffered) {
  Framer framer(1024);
  framer.feed(from_hex("c0 00"));  // a PINGREQ first: the error offset counts it
  framer.feed(from_hex("30 ff"));
  EXPECT_EQ(framer.next().status, FrameInfo::Status::complete);
  EXPECT_EQ(framer.next().status, FrameInfo::Status::need_more);
  framer.feed(from_hex("ff 7f"));
  auto f = framer.next();
  ASSERT_EQ(f.status, FrameInfo::Status::error);
  EXPECT_EQ(f.error.code, Errc::packet_too_large);
  EXPECT_EQ(f.error.offset, 3u);  // stream offset: 2 bytes of PINGREQ + 1
  framer.feed(std::string(100000, 'x'));
  EXPECT_LT(framer.buffered(), 100u);
  // Sticky.
  auto again = framer.next();
  EXPECT_EQ(again.status, FrameInfo::Status::error);
  EXPECT_EQ(again.error.offset, 3u);
}

TEST(Framer, oversize_detected_in_feed_even_in_one_big_chunk) {
  Framer framer(100);
  framer.feed(from_hex("30 c8 01") + std::string(200, 'a'));
  EXPECT_EQ(framer.buffered(), 0u);
  EXPECT_EQ(framer.next().error.code, Errc::packet_too_large);
}

TEST(Framer, malformed_length_error_is_sticky_with_stream_offset) {
  Framer framer;
  framer.feed(from_hex("e0 00 d0 00"));
  framer.feed(from_hex("30 80 80 80 80 01"));
  EXPECT_EQ(framer.next().status, FrameInfo::Status::complete);
  EXPECT_EQ(framer.next().status, FrameInfo::Status::complete);
  auto f = framer.next();
  ASSERT_EQ(f.status, FrameInfo::Status::error);
  EXPECT_EQ(f.error.code, Errc::malformed_packet);
  EXPECT_EQ(f.error.offset, 4u + 4u);
  framer.feed(from_hex("c0 00"));
  EXPECT_EQ(framer.next().status, FrameInfo::Status::error);
}

TEST(Framer, set_maximum_packet_size_applies_to_the_next_packet) {
  Framer framer;
  framer.set_maximum_packet_size(3);
  framer.feed(from_hex("c0 00"));
  EXPECT_EQ(framer.next().status, FrameInfo::Status::complete);
  framer.feed(from_hex("30 02 00 00"));
  EXPECT_EQ(framer.next().error.code, Errc::packet_too_large);
}

// A 64 KiB PUBLISH whose payload lies on PROT_NONE pages: decode must not read it.
class UnreadablePayload {
 public:
  UnreadablePayload(const std::string& header, std::size_t payload) {
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t payload_pages = (payload + page_ - 1) / page_;
    size_ = (1 + payload_pages + 1) * page_;
    base_ = static_cast<std::uint8_t*>(mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    std::uint8_t* payload_start = base_ + page_;
    std::memcpy(payload_start - header.size(), header.data(), header.size());
    start_ = payload_start - header.size();
    len_ = header.size() + payload;
    // Payload pages and the page after them: unreadable.
    mprotect(payload_start, size_ - page_, PROT_NONE);
  }
  ~UnreadablePayload() { munmap(base_, size_); }
  Bytes bytes() const { return Bytes(start_, len_); }

 private:
  std::uint8_t* base_ = nullptr;
  std::uint8_t* start_ = nullptr;
  std::size_t page_ = 0, size_ = 0, len_ = 0;
};

std::string publish_header(std::size_t payload, Version v, const std::string& props_raw = {}) {
  std::string body_head = from_hex("00 07") + "big/one" + from_hex("00 2a");
  if (v == Version::v5) body_head += std::string(1, static_cast<char>(props_raw.size())) + props_raw;
  const auto rl = static_cast<std::uint32_t>(body_head.size() + payload);
  std::uint8_t len[4];
  const std::size_t n = encode_varint(rl, len);
  return std::string(1, '\x32') + std::string(reinterpret_cast<const char*>(len), n) + body_head;
}

TEST(LargePublish, payload_of_64KiB_is_not_touched_by_decode) {
  const std::size_t payload = 64 * 1024;
  for (Version v : {Version::v3_1_1, Version::v5}) {
    const std::string header = publish_header(payload, v, v == Version::v5 ? from_hex("01 00 23 00 01") : "");
    UnreadablePayload buf(header, payload);
    auto r = decode(buf.bytes(), DecodeOptions{v});
    ASSERT_TRUE(r.ok()) << r.error.message;
    const auto& p = std::get<PublishView>(r.value);
    EXPECT_EQ(p.topic, "big/one");
    EXPECT_EQ(p.packet_id, 42);
    EXPECT_EQ(p.payload.size(), payload);
    EXPECT_EQ(static_cast<const void*>(p.payload.data()), static_cast<const void*>(buf.bytes().data() + header.size()));
  }
}

TEST(LargePublish, payload_format_indicator_1_validates_the_whole_64KiB_payload) {
  const std::size_t payload = 64 * 1024;
  std::string packet = publish_header(payload, Version::v5, from_hex("01 01"));
  const std::size_t start = packet.size();
  packet += std::string(payload - 1, 'a');
  packet += '\xFF';  // ill-formed in the very last byte
  auto r = decode(packet, DecodeOptions{Version::v5});
  EXPECT_EQ(r.error.code, Errc::payload_format_invalid);
  EXPECT_EQ(r.error.offset, start + payload - 1);
  packet.back() = 'z';
  EXPECT_TRUE(decode(packet, DecodeOptions{Version::v5}).ok());
}

}  // namespace
}  // namespace mqtt::test
