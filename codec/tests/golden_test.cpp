// Golden vectors (codec/tests/vectors/*.txt): real client/broker bytes and spec examples.
// Each is decoded field by field, re-encoded byte for byte, decoded against a guard page,
// cut at every length, and framed at every split point.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "test_util.hpp"

namespace mqtt::test {
namespace {

std::vector<Vector> all_vectors() {
  std::vector<Vector> out;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(MQTTH_CODEC_VECTORS_DIR))
    if (e.path().extension() == ".txt") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto v = load_vectors(f.string());
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

class Golden : public ::testing::TestWithParam<Vector> {};

TEST_P(Golden, decodes_field_by_field) {
  const Vector& v = GetParam();
  SCOPED_TRACE(v.source);
  auto r = decode(v.bytes, DecodeOptions{v.version});
  ASSERT_TRUE(r.ok()) << to_string(r.error.code) << " at " << r.error.offset << ": " << r.error.message;
  EXPECT_EQ(describe(r.value, v.version), v.fields);
}

TEST_P(Golden, reencodes_byte_for_byte_from_view_and_owned) {
  const Vector& v = GetParam();
  if (!v.roundtrip) GTEST_SKIP() << "vector marked roundtrip: no";
  auto r = decode(v.bytes, DecodeOptions{v.version});
  ASSERT_TRUE(r.ok());
  auto size = encoded_size(r.value, v.version);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size.value, v.bytes.size());
  auto again = encode_to_string(r.value, v.version);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(to_hex(again.value), to_hex(v.bytes));
  const Packet owned = to_owned(r.value);
  auto from_owned = encode_to_string(owned, v.version);
  ASSERT_TRUE(from_owned.ok());
  EXPECT_EQ(to_hex(from_owned.value), to_hex(v.bytes));
  // to_view of the owned copy describes the same packet.
  EXPECT_EQ(describe(to_view(owned), v.version), v.fields);
}

TEST_P(Golden, decodes_against_a_guard_page) {
  const Vector& v = GetParam();
  GuardedBuffer g(v.bytes);
  auto r = decode(g.bytes(), DecodeOptions{v.version});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(describe(r.value, v.version), v.fields);
}

TEST_P(Golden, every_truncation_is_malformed_never_a_crash) {
  const Vector& v = GetParam();
  for (std::size_t n = 0; n < v.bytes.size(); ++n) {
    GuardedBuffer g(std::string_view(v.bytes).substr(0, n));
    auto r = decode(g.bytes(), DecodeOptions{v.version});
    EXPECT_EQ(r.error.code, Errc::malformed_packet) << "cut at " << n;
    EXPECT_LE(r.error.offset, n) << "cut at " << n;
    // The framer sees an incomplete packet, never an error.
    const FrameInfo f = peek_frame(g.bytes());
    EXPECT_EQ(f.status, FrameInfo::Status::need_more) << "cut at " << n;
  }
}

TEST_P(Golden, framer_yields_the_packet_at_every_split_point) {
  const Vector& v = GetParam();
  for (std::size_t split = 0; split <= v.bytes.size(); ++split) {
    Framer framer;
    framer.feed(std::string_view(v.bytes).substr(0, split));
    auto first = framer.next();
    if (split < v.bytes.size()) {
      ASSERT_EQ(first.status, FrameInfo::Status::need_more) << "split " << split;
      framer.feed(std::string_view(v.bytes).substr(split));
      first = framer.next();
    }
    ASSERT_EQ(first.status, FrameInfo::Status::complete) << "split " << split;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(first.packet.data()), first.packet.size()), v.bytes);
    EXPECT_EQ(framer.next().status, FrameInfo::Status::need_more);
    EXPECT_EQ(framer.stream_offset(), v.bytes.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, Golden, ::testing::ValuesIn(all_vectors()),
                         [](const ::testing::TestParamInfo<Vector>& p) { return p.param.name; });

TEST(GoldenFiles, hold_vectors_for_both_versions_and_every_packet_type) {
  bool v311[16] = {}, v5[16] = {};
  for (const auto& v : all_vectors()) {
    auto r = decode(v.bytes, DecodeOptions{v.version});
    ASSERT_TRUE(r.ok()) << v.name;
    const auto t = static_cast<unsigned>(packet_type(r.value));
    (v.version == Version::v5 ? v5 : v311)[t] = true;
  }
  for (unsigned t = 1; t <= 14; ++t) EXPECT_TRUE(v311[t]) << "no 3.1.1 vector for " << to_string(static_cast<PacketType>(t));
  for (unsigned t = 1; t <= 15; ++t) EXPECT_TRUE(v5[t]) << "no 5.0 vector for " << to_string(static_cast<PacketType>(t));
}

}  // namespace
}  // namespace mqtt::test

namespace mqtt::test {
namespace {

// Mutated vectors: never a crash or an over-read (guard page), errors point inside the
// input, and whatever decodes re-encodes to bytes that decode to the same fields.
TEST(Mutations, random_byte_mutations_of_every_vector_are_handled) {
  std::mt19937 rng(4242);
  int decoded_ok = 0, rejected = 0;
  for (const auto& v : all_vectors()) {
    for (int i = 0; i < 200; ++i) {
      std::string m = v.bytes;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const std::size_t at = rng() % m.size();
        switch (rng() % 3) {
          case 0: m[at] = static_cast<char>(rng()); break;
          case 1: m[at] = static_cast<char>(m[at] ^ (1 << (rng() % 8))); break;
          default: m.erase(at, 1 + rng() % 3); break;
        }
        if (m.empty()) m = v.bytes.substr(0, 1);
      }
      for (Version version : {Version::v3_1_1, Version::v5}) {
        GuardedBuffer g(m);
        auto r = decode(g.bytes(), DecodeOptions{version});
        if (!r.ok()) {
          ++rejected;
          EXPECT_LE(r.error.offset, m.size());
          EXPECT_FALSE(r.error.message.empty());
          continue;
        }
        ++decoded_ok;
        // CONNECT carries its own version.
        const Version used = packet_type(r.value) == PacketType::connect
                                 ? std::get<ConnectView>(r.value).protocol_version
                                 : version;
        auto again = encode_to_string(r.value, used);
        ASSERT_TRUE(again.ok());
        auto r2 = decode(again.value, DecodeOptions{version});
        ASSERT_TRUE(r2.ok()) << to_hex(m) << " -> " << to_hex(again.value) << ": " << r2.error.message;
        EXPECT_EQ(describe(r2.value, used), describe(r.value, used)) << to_hex(m);
      }
    }
  }
  EXPECT_GT(decoded_ok, 0);
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace mqtt::test
