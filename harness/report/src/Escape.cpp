// Escaping for XML and HTML output. Everything a scenario or a broker controls (names,
// topics, payloads, messages) passes through here before it lands in a report.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "mqtth/report/Report.hpp"

namespace mqtth::report {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at s[i] (1..4), or 0 if ill-formed
// (overlong forms, surrogates, > U+10FFFF, truncation: RFC 3629 table).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) { n = 3; lo = 0xA0; }
  else if (c == 0xED) { n = 3; hi = 0x9F; }
  else if (c >= 0xE1 && c <= 0xEF) n = 3;
  else if (c == 0xF0) { n = 4; lo = 0x90; }
  else if (c == 0xF4) { n = 4; hi = 0x8F; }
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else return 0;
  if (i + n > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  // U+FFFE and U+FFFF are not XML characters either.
  if (n == 3 && c == 0xEF && b(1) == 0xBF && (b(2) == 0xBE || b(2) == 0xBF)) return 0;
  return n;
}

std::string escape(std::string_view in, std::string_view apostrophe) {
  std::string out;
  out.reserve(in.size() + in.size() / 8);
  for (std::size_t i = 0; i < in.size();) {
    const char c = in[i];
    switch (c) {
      case '&': out += "&amp;"; ++i; continue;
      case '<': out += "&lt;"; ++i; continue;
      case '>': out += "&gt;"; ++i; continue;
      case '"': out += "&quot;"; ++i; continue;
      case '\'': out += apostrophe; ++i; continue;
      case '\t': case '\n': case '\r': out += c; ++i; continue;
      default: break;
    }
    const auto uc = static_cast<unsigned char>(c);
    if (uc < 0x20 || uc == 0x7F) {  // XML 1.0 cannot carry C0 controls; DEL is legal but useless
      out += kReplacement;
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence(in, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(in.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace

std::string escape_xml(std::string_view s) { return escape(s, "&apos;"); }
std::string escape_html(std::string_view s) { return escape(s, "&#39;"); }

std::string write_file(const std::string& path, std::string_view content) {
  std::error_code ec;
  const std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return "cannot create directory " + p.parent_path().string() + ": " + ec.message();
  }
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out) return "cannot open " + path + " for writing: " + std::strerror(errno);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) return "cannot write " + path + ": " + std::strerror(errno);
  return {};
}

}  // namespace mqtth::report
