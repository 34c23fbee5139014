// HdrHistogram interval logs: the encoding against a vector written by another HdrHistogram
// implementation, and logs read back.
#include <gtest/gtest.h>

#include <mqtth/bench/HdrLog.hpp>

using namespace mqtth::bench;

namespace {

// Written by hdr-histogram-js 3.0.1 (HdrHistogram's JavaScript port, npm):
//   build({lowestDiscernibleValue: 1, highestTrackableValue: 3600000000000,
//          numberOfSignificantValueDigits: 2}),
//   recordValueWithCount 1 x1, 100 x3, 255 x1, 256 x2, 1000 x5, 123456 x1, 1000000 x2,
//   encodeIntoCompressedBase64.
constexpr const char* kKnownVector =
    "HISTFAAAADd4nJNpmSzMwMAgxMDAwMjAwMDEAAGMDAzMbgY7FjDA+UyHGdk2MzGxfGTmes3L1MzGAgCnswc7";
// Its counts payload (after the 40-byte header), inflated from the vector above.
constexpr unsigned char kKnownPayload[] = {0x00, 0x02, 0xc3, 0x01, 0x06, 0xb3, 0x02, 0x02, 0x04,
                                           0xf1, 0x03, 0x0a, 0xeb, 0x0d, 0x02, 0x83, 0x06, 0x04};

Histogram known_samples() {
  Histogram h;
  for (auto [v, n] : {std::pair<std::uint64_t, std::uint64_t>{1, 1}, {100, 3}, {255, 1}, {256, 2}, {1000, 5},
                      {123456, 1}, {1000000, 2}})
    h.record(v, n);
  return h;
}

}  // namespace

TEST(HdrLog, encodes_the_counts_as_hdrhistogram_does) {
  const std::string raw = encode_v2(known_samples());
  ASSERT_GE(raw.size(), 40u);
  EXPECT_EQ(raw.substr(0, 4), std::string("\x1c\x84\x93\x13", 4));  // V2 cookie
  EXPECT_EQ(raw.substr(4, 4), std::string("\x00\x00\x00\x12", 4));  // payload: 18 bytes
  EXPECT_EQ(raw.substr(12, 4), std::string("\x00\x00\x00\x02", 4));  // 2 significant digits
  EXPECT_EQ(raw.substr(16, 8), std::string("\x00\x00\x00\x00\x00\x00\x00\x01", 8));  // lowest discernible 1
  EXPECT_EQ(raw.substr(32, 8), std::string("\x3f\xf0\x00\x00\x00\x00\x00\x00", 8));  // ratio 1.0
  EXPECT_EQ(raw.substr(40), std::string(reinterpret_cast<const char*>(kKnownPayload), sizeof kKnownPayload));
}

TEST(HdrLog, decodes_the_known_vector_into_the_same_buckets) {
  std::string error;
  auto h = decode_compressed_base64(kKnownVector, &error);
  ASSERT_TRUE(h) << error;
  EXPECT_EQ(h->counts(), known_samples().counts());
  EXPECT_EQ(h->count(), 15u);
  for (double q : {0.0, 50.0, 90.0, 99.0, 100.0})
    EXPECT_EQ(Histogram::index_of(h->percentile(q)), Histogram::index_of(known_samples().percentile(q))) << q;
}

TEST(HdrLog, round_trips_its_own_encoding_and_logs) {
  Histogram h;
  for (std::uint64_t v = 1; v < 5'000'000'000ull; v = v * 3 + 7) h.record(v, v % 5 + 1);
  IntervalLog log;
  log.start_time_s = 1765000000.25;
  log.comments = {"mqtth worker 2/4"};
  log.intervals.push_back({0.0, 3.5, h});
  log.intervals.push_back({3.5, 1.0, Histogram{}});
  const std::string text = write_interval_log(log);
  EXPECT_TRUE(text.starts_with("#[Histogram log format version 1.3]\n#[StartTime: 1765000000.250 (seconds since epoch), "));
  EXPECT_NE(text.find("\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n0.000,3.500,"),
            std::string::npos);
  std::string error;
  auto back = read_interval_log(text, &error);
  ASSERT_TRUE(back) << error;
  EXPECT_DOUBLE_EQ(back->start_time_s, 1765000000.25);
  EXPECT_EQ(back->comments, log.comments);
  ASSERT_EQ(back->intervals.size(), 2u);
  EXPECT_EQ(back->intervals[0].histogram.counts(), h.counts());
  EXPECT_DOUBLE_EQ(back->intervals[0].length_s, 3.5);
  EXPECT_EQ(back->intervals[1].histogram.count(), 0u);
}

TEST(HdrLog, refuses_what_is_not_a_log_or_histogram) {
  std::string error;
  EXPECT_FALSE(read_interval_log("0.0,1.0,2.0,HISTFAAA\n", &error));
  EXPECT_NE(error.find("not an HdrHistogram interval log"), std::string::npos) << error;
  EXPECT_FALSE(decode_compressed_base64("bm90IGEgaGlzdG9ncmFt", &error));
  EXPECT_NE(error.find("cookie"), std::string::npos) << error;
}
