// HdrHistogram interval logs (docs/scale-out.md "Bench workers"): what `bench --hdr-log`
// writes and `bench merge` reads, in the format of HdrHistogram's HistogramLogWriter
// ("#[Histogram log format version 1.3]", one line per interval:
// start,length,max,base64 of the compressed V2 encoding), so HdrHistogram's own tools
// (HistogramLogProcessor, HistogramLogAnalyzer, hdr-plot) read it.
//
// Histogram's buckets are HdrHistogram's counts array for lowestDiscernibleValue 1 and
// numberOfSignificantValueDigits 2 (256 exact values, then 128 sub-buckets per power of
// two), index for index, so encoding is the counts array as it is.
#pragma once

#include <mqtth/bench/Histogram.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqtth::bench {

// The V2 encoding, uncompressed: cookie 0x1c849313, payload length, normalizing index
// offset 0, significant digits 2, lowest discernible value 1, highest trackable value,
// conversion ratio 1.0 (all big-endian), then the counts up to the max's bucket as ZigZag
// LEB128 varints, a run of k > 1 zero counts as -k.
std::string encode_v2(const Histogram& histogram);
// The compressed V2 encoding (cookie 0x1c849314, length, zlib deflate of encode_v2) in
// base64: the histogram field of a log line ("HISTF...").
std::string encode_compressed_base64(const Histogram& histogram);
// Reads what encode_compressed_base64 (or another HdrHistogram with lowest discernible
// value 1 and 2 significant digits) wrote. A bucket's count is recorded at its highest
// equivalent value (what HdrHistogram reports for a percentile): counts and percentiles are
// exact, min, max and mean the buckets' (read_interval_log restores the exact max).
std::optional<Histogram> decode_compressed_base64(std::string_view text, std::string* error);

struct LogInterval {
  double start_s = 0;   // since the log's StartTime
  double length_s = 0;
  Histogram histogram;
};

struct IntervalLog {
  double start_time_s = 0;  // #[StartTime: ...] (seconds since the epoch); 0 when absent
  std::vector<std::string> comments;  // other "#..." lines, without the '#'
  std::vector<LogInterval> intervals;
};

// The whole log: version line, StartTime, `comments` (each "#" + text), legend, one line
// per interval. Max column: the interval's max in milliseconds (values are ns; HdrHistogram's
// HistogramLogWriter default unit ratio 1,000,000) with 6 decimals, so it stays exact.
std::string write_interval_log(const IntervalLog& log);
std::optional<IntervalLog> read_interval_log(std::string_view text, std::string* error);

}  // namespace mqtth::bench
