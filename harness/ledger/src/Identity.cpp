// Message identity encoding: "mqtth:<run>:<publisher>:<stream>:<seq>;" payload prefix and
// the "<run>:<publisher>:<stream>:<seq>" mqtth-id user property value.
#include "mqtth/ledger/Ledger.hpp"

#include <charconv>
#include <limits>

namespace mqtth::ledger {
namespace {

// Appends the decimal form of v at out[pos]; the caller guarantees room (<= 20 digits).
std::size_t put_number(char* out, std::size_t pos, std::uint64_t v) noexcept {
  auto r = std::to_chars(out + pos, out + pos + 20, v);
  return static_cast<std::size_t>(r.ptr - out);
}

std::size_t put_fields(char* out, std::size_t pos, const MessageId& id) noexcept {
  pos = put_number(out, pos, id.run);
  out[pos++] = ':';
  pos = put_number(out, pos, id.publisher);
  out[pos++] = ':';
  pos = put_number(out, pos, id.stream);
  out[pos++] = ':';
  return put_number(out, pos, id.seq);
}

// Reads one unsigned decimal number ending at `stop`, starting at text[pos]. Rejects empty
// numbers, leading zeros (so every identity has exactly one spelling) and overflow of T.
template <typename T>
bool read_number(std::string_view text, std::size_t& pos, char stop, T& value) noexcept {
  const std::size_t begin = pos;
  std::uint64_t v = 0;
  while (pos < text.size() && text[pos] != stop) {
    const char c = text[pos];
    if (c < '0' || c > '9') return false;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<T>::max() - digit) / 10) return false;
    v = v * 10 + digit;
    ++pos;
  }
  const std::size_t len = pos - begin;
  if (len == 0 || pos >= text.size()) return false;  // empty, or no terminator
  if (len > 1 && text[begin] == '0') return false;
  value = static_cast<T>(v);
  ++pos;  // skip the terminator
  return true;
}

// Parses "<run>:<publisher>:<stream>:<seq><last>" from text[pos]; pos ends after `last`.
bool read_fields(std::string_view text, std::size_t& pos, char last, MessageId& id) noexcept {
  return read_number(text, pos, ':', id.run) && read_number(text, pos, ':', id.publisher) &&
         read_number(text, pos, ':', id.stream) && read_number(text, pos, last, id.seq);
}

}  // namespace

std::size_t encode_prefix(const MessageId& id, std::span<char, kMaxPrefixSize> out) noexcept {
  char* p = out.data();
  kPayloadMagic.copy(p, kPayloadMagic.size());
  std::size_t pos = put_fields(p, kPayloadMagic.size(), id);
  p[pos++] = ';';
  return pos;
}

std::string make_payload(const MessageId& id, std::string_view user_payload) {
  char buf[kMaxPrefixSize];
  const std::size_t n = encode_prefix(id, std::span<char, kMaxPrefixSize>(buf, kMaxPrefixSize));
  std::string out;
  out.reserve(n + user_payload.size());
  out.append(buf, n);
  out.append(user_payload);
  return out;
}

std::size_t encode_property_value(const MessageId& id,
                                  std::span<char, kMaxPropertyValueSize> out) noexcept {
  return put_fields(out.data(), 0, id);
}

std::string make_property_value(const MessageId& id) {
  char buf[kMaxPropertyValueSize];
  const std::size_t n =
      encode_property_value(id, std::span<char, kMaxPropertyValueSize>(buf, kMaxPropertyValueSize));
  return std::string(buf, n);
}

std::optional<ParsedPayload> parse_payload(std::string_view payload) noexcept {
  if (!payload.starts_with(kPayloadMagic)) return std::nullopt;
  std::size_t pos = kPayloadMagic.size();
  ParsedPayload parsed;
  if (!read_fields(payload, pos, ';', parsed.id)) return std::nullopt;
  parsed.user_payload = payload.substr(pos);
  return parsed;
}

std::optional<ParsedPayload> parse_payload(std::span<const std::uint8_t> payload) noexcept {
  return parse_payload(
      std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
}

std::optional<MessageId> parse_property_value(std::string_view value) noexcept {
  // Parse with a virtual terminator: append nothing, but accept end-of-text for seq.
  if (value.empty() || value.size() > kMaxPropertyValueSize) return std::nullopt;
  char buf[kMaxPropertyValueSize + 1];
  value.copy(buf, value.size());
  buf[value.size()] = ';';
  std::string_view text(buf, value.size() + 1);
  std::size_t pos = 0;
  MessageId id;
  if (!read_fields(text, pos, ';', id) || pos != text.size()) return std::nullopt;
  return id;
}

std::string_view to_string(Guarantee g) {
  switch (g) {
    case Guarantee::at_most_once: return "at_most_once";
    case Guarantee::at_least_once: return "at_least_once";
    case Guarantee::exactly_once: return "exactly_once";
  }
  return "at_most_once";
}

std::optional<Guarantee> parse_guarantee(std::string_view s) {
  if (s == "at_most_once") return Guarantee::at_most_once;
  if (s == "at_least_once") return Guarantee::at_least_once;
  if (s == "exactly_once") return Guarantee::exactly_once;
  return std::nullopt;
}

Guarantee guarantee_for_qos(std::uint8_t qos) noexcept {
  if (qos == 0) return Guarantee::at_most_once;
  if (qos == 1) return Guarantee::at_least_once;
  return Guarantee::exactly_once;
}

std::string_view to_string(Verdict v) { return v == Verdict::held ? "held" : "violated"; }

}  // namespace mqtth::ledger
