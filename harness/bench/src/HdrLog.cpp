// HdrHistogram V2 encoding and interval logs (HdrLog.hpp).
#include <mqtth/bench/HdrLog.hpp>

#include <QByteArray>

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

namespace mqtth::bench {
namespace {

constexpr std::uint32_t kV2Cookie = 0x1c849303 | 0x10;            // HdrHistogram's V2 encoding, TLZE bit
constexpr std::uint32_t kV2CompressedCookie = 0x1c849304 | 0x10;
constexpr std::size_t kHeaderBytes = 40;
constexpr std::int32_t kSignificantDigits = 2;
constexpr std::int64_t kLowestDiscernible = 1;
constexpr std::int64_t kHourNs = 3'600'000'000'000;

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
std::uint64_t get_be(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
  return v;
}

// ZigZag, then LEB128 of at most 9 bytes (the 9th carries 8 bits): HdrHistogram's ZigZagEncoding.
void put_zigzag(std::string& out, std::int64_t value) {
  std::uint64_t v = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  for (int i = 0; i < 8; ++i) {
    if (v < 0x80) {
      out.push_back(static_cast<char>(v));
      return;
    }
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
bool get_zigzag(std::string_view in, std::size_t& at, std::int64_t& value) {
  std::uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    if (at >= in.size()) return false;
    const auto byte = static_cast<unsigned char>(in[at++]);
    if (i == 8) {
      v |= static_cast<std::uint64_t>(byte) << 56;
      break;
    }
    v |= static_cast<std::uint64_t>(byte & 0x7F) << (7 * i);
    if (!(byte & 0x80)) break;
  }
  value = static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
  return true;
}

}  // namespace

std::string encode_v2(const Histogram& h) {
  std::string payload;
  const std::size_t limit = h.count() ? Histogram::index_of(h.max()) + 1 : 0;
  const auto& counts = h.counts();
  for (std::size_t i = 0; i < limit;) {
    const std::uint64_t count = counts[i++];
    if (count != 0) {
      put_zigzag(payload, static_cast<std::int64_t>(count));
      continue;
    }
    std::int64_t zeros = 1;
    while (i < limit && counts[i] == 0) ++zeros, ++i;
    put_zigzag(payload, zeros > 1 ? -zeros : 0);
  }
  std::string out;
  put_be(out, kV2Cookie, 4);
  put_be(out, payload.size(), 4);
  put_be(out, 0, 4);  // normalizing index offset
  put_be(out, kSignificantDigits, 4);
  put_be(out, kLowestDiscernible, 8);
  put_be(out, static_cast<std::uint64_t>(std::max<std::int64_t>(kHourNs, static_cast<std::int64_t>(h.max()) * 2)), 8);
  double ratio = 1.0;
  std::uint64_t bits;
  std::memcpy(&bits, &ratio, sizeof bits);
  put_be(out, bits, 8);
  return out + payload;
}

std::string encode_compressed_base64(const Histogram& h) {
  const std::string raw = encode_v2(h);
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string deflated(size, '\0');
  compress2(reinterpret_cast<Bytef*>(deflated.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
            static_cast<uLong>(raw.size()), Z_DEFAULT_COMPRESSION);
  deflated.resize(size);
  std::string out;
  put_be(out, kV2CompressedCookie, 4);
  put_be(out, deflated.size(), 4);
  out += deflated;
  return QByteArray::fromRawData(out.data(), static_cast<qsizetype>(out.size())).toBase64().toStdString();
}

std::optional<Histogram> decode_compressed_base64(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Histogram> {
    if (error) *error = why;
    return std::nullopt;
  };
  const auto decoded = QByteArray::fromBase64Encoding(QByteArray(text.data(), static_cast<qsizetype>(text.size())),
                                                      QByteArray::AbortOnBase64DecodingErrors);
  if (!decoded) return fail("not base64");
  const std::string bytes = decoded.decoded.toStdString();
  if (bytes.size() < 8 || get_be(bytes, 0, 4) != kV2CompressedCookie)
    return fail("not a compressed V2 HdrHistogram (cookie 0x1c849314)");
  const std::size_t length = get_be(bytes, 4, 4);
  if (bytes.size() < 8 + length) return fail("compressed histogram cut short");
  std::string raw(1 << 16, '\0');
  for (;;) {  // the inflated size is not in the encoding: grow until it fits
    uLongf size = static_cast<uLongf>(raw.size());
    const int rc = uncompress(reinterpret_cast<Bytef*>(raw.data()), &size,
                              reinterpret_cast<const Bytef*>(bytes.data() + 8), static_cast<uLong>(length));
    if (rc == Z_OK) {
      raw.resize(size);
      break;
    }
    if (rc != Z_BUF_ERROR || raw.size() > (1u << 26)) return fail("the compressed histogram does not inflate");
    raw.resize(raw.size() * 4);
  }
  if (raw.size() < kHeaderBytes || get_be(raw, 0, 4) != kV2Cookie) return fail("not a V2 HdrHistogram encoding");
  const std::size_t payload = get_be(raw, 4, 4);
  // Bytes 8-11, the normalizing index offset, are not applied: this encoder writes 0 and
  // hdr-histogram-js writes 1 over counts that are not shifted.
  if (static_cast<std::int64_t>(get_be(raw, 12, 4)) != kSignificantDigits || static_cast<std::int64_t>(get_be(raw, 16, 8)) != kLowestDiscernible)
    return fail("only histograms with 2 significant digits and lowest discernible value 1 (the bench's) are read");
  if (raw.size() < kHeaderBytes + payload) return fail("histogram payload cut short");
  std::vector<std::uint64_t> counts;
  const std::string_view body(raw.data() + kHeaderBytes, payload);
  for (std::size_t at = 0; at < body.size();) {
    std::int64_t v = 0;
    if (!get_zigzag(body, at, v)) return fail("histogram payload cut inside a count");
    if (v < 0) counts.insert(counts.end(), static_cast<std::size_t>(-v), 0);
    else counts.push_back(static_cast<std::uint64_t>(v));
    if (counts.size() > Histogram::kBucketCount) return fail("more counts than buckets");
  }
  Histogram h;
  for (std::size_t i = 0; i < counts.size(); ++i) h.record(Histogram::highest_equivalent(i), counts[i]);
  return h;
}

std::string write_interval_log(const IntervalLog& log) {
  std::string out = "#[Histogram log format version 1.3]\n";
  char line[160];
  const std::time_t whole = static_cast<std::time_t>(log.start_time_s);
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char iso[32];
  std::strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::snprintf(line, sizeof line, "#[StartTime: %.3f (seconds since epoch), %s]\n", log.start_time_s, iso);
  out += line;
  for (const auto& c : log.comments) out += "#" + c + "\n";
  out += "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";
  for (const auto& iv : log.intervals) {
    // The max with 6 decimals: exact nanoseconds, so a reader restores it (restore_max).
    std::snprintf(line, sizeof line, "%.3f,%.3f,%.6f,", iv.start_s, iv.length_s, static_cast<double>(iv.histogram.max()) / 1e6);
    out += line + encode_compressed_base64(iv.histogram) + "\n";
  }
  return out;
}

std::optional<IntervalLog> read_interval_log(std::string_view text, std::string* error) {
  IntervalLog log;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  bool versioned = false;
  auto fail = [&](const std::string& why) -> std::optional<IntervalLog> {
    if (error) *error = "line " + std::to_string(number) + ": " + why;
    return std::nullopt;
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line.starts_with("#[Histogram log format version")) {
      versioned = true;
    } else if (line.starts_with("#[StartTime: ")) {
      log.start_time_s = std::strtod(line.c_str() + 13, nullptr);
    } else if (line.starts_with("#")) {
      log.comments.push_back(line.substr(1));
    } else if (line.starts_with("\"StartTimestamp\"")) {
      continue;
    } else {
      if (!versioned) return fail("no \"#[Histogram log format version ...]\" line before the first interval: not an HdrHistogram interval log");
      std::string_view rest = line;
      if (rest.starts_with("Tag=")) rest.remove_prefix(std::min(rest.size(), rest.find(',') + 1));
      const auto c1 = rest.find(','), c2 = rest.find(',', c1 + 1), c3 = rest.find(',', c2 + 1);
      if (c3 == std::string_view::npos) return fail("not an interval line (start,length,max,histogram)");
      LogInterval iv;
      iv.start_s = std::strtod(std::string(rest.substr(0, c1)).c_str(), nullptr);
      iv.length_s = std::strtod(std::string(rest.substr(c1 + 1, c2 - c1 - 1)).c_str(), nullptr);
      std::string why;
      auto h = decode_compressed_base64(rest.substr(c3 + 1), &why);
      if (!h) return fail(why);
      iv.histogram = std::move(*h);
      const double max_ms = std::strtod(std::string(rest.substr(c2 + 1, c3 - c2 - 1)).c_str(), nullptr);
      iv.histogram.restore_max(static_cast<std::uint64_t>(std::llround(max_ms * 1e6)));
      log.intervals.push_back(std::move(iv));
    }
  }
  if (!versioned) {
    number = 1;
    return fail("no \"#[Histogram log format version ...]\" line: not an HdrHistogram interval log");
  }
  return log;
}

}  // namespace mqtth::bench
