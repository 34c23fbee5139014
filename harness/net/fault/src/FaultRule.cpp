#include "mqtth/fault/FaultRule.hpp"

#include <mqtth/common/Duration.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <variant>

namespace mqtth::fault {
namespace {

constexpr std::array<std::string_view, 9> kKindNames = {"cut",     "delay",     "throttle",  "segment", "corrupt",
                                                        "blackhole", "duplicate", "reorder", "rewrite"};
constexpr std::array<std::string_view, 9> kRewriteOpNames = {
    "clear_session_present", "clear_retain", "clear_dup", "set_dup", "set_code", "drop_user_properties",
    "drop", "keep_open", "delay_close"};
constexpr std::array<std::string_view, 3> kDirectionNames = {"to_broker", "to_client", "both"};

// Keys each kind accepts: the YAML `fault:` keys of that kind (scenarios/README.md) plus
// the CLI-only ones (every, before, set, hold, rst/fin, side). `packet`/`after` are
// synonyms for the packet type, as in the loader.
struct KindKeys {
  std::vector<std::string_view> keys;
};
const std::array<KindKeys, 9>& kind_keys() {
  static const std::array<KindKeys, 9> k = {{
      {{"direction", "after", "before", "packet", "nth", "at", "rst", "fin", "close", "side"}},  // cut
      {{"direction", "packet", "type", "nth", "every", "by", "ms", "jitter", "for"}},            // delay
      {{"direction", "bytes_per_second", "bps", "for"}},                                        // throttle
      {{"direction", "size", "bytes"}},                                                         // segment
      {{"direction", "packet", "type", "nth", "every", "offset", "xor", "set"}},                // corrupt
      {{"direction", "after", "before", "packet", "nth", "at", "for"}},                         // blackhole
      {{"direction", "packet", "type", "nth", "every"}},                                        // duplicate
      {{"direction", "packet", "type", "nth", "every", "window", "hold", "for"}},               // reorder
      {{"direction", "packet", "type", "nth", "every", "op", "set", "by"}},                     // rewrite
  }};
  return k;
}

std::string join(const std::vector<std::string_view>& v) {
  std::string out;
  for (auto s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t max) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty()) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc{} || p != text.data() + text.size() || v > max) return std::nullopt;
  return v;
}

constexpr Ms kMaxDuration = std::chrono::hours(24);


}  // namespace

std::string_view kind_name(Kind k) { return kKindNames.at(static_cast<std::size_t>(k)); }
std::string_view direction_name(Direction d) { return kDirectionNames.at(static_cast<std::size_t>(d)); }
std::string_view rewrite_op_name(RewriteOp op) { return kRewriteOpNames.at(static_cast<std::size_t>(op)); }

ParseResult parse_fault_spec(std::string_view spec) {
  auto fail = [&](std::string message) {
    return ParseResult{std::nullopt, "fault spec '" + std::string(spec) + "': " + message};
  };
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const auto colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  FaultRule rule;
  const auto kind_it = std::find(kKindNames.begin(), kKindNames.end(), parts[0]);
  if (kind_it == kKindNames.end())
    return fail("unknown fault kind '" + std::string(parts[0]) +
                "' (cut, delay, throttle, segment, corrupt, blackhole, duplicate, reorder or rewrite)");
  rule.kind = static_cast<Kind>(kind_it - kKindNames.begin());
  const auto& allowed = kind_keys()[static_cast<std::size_t>(rule.kind)].keys;
  // Continuous kinds act on every matching packet unless nth is given.
  rule.every = rule.kind == Kind::delay || rule.kind == Kind::reorder || rule.kind == Kind::rewrite;
  bool saw_nth = false, saw_every = false, saw_type = false, saw_op = false;

  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    if (part.empty()) return fail("empty part " + std::to_string(i + 1) + " (two ':' in a row?)");
    const auto eq = part.find('=');
    std::string_view key = part.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    if (eq == std::string_view::npos) {
      // Bare words: a direction, or a flag.
      if (auto d = std::find(kDirectionNames.begin(), kDirectionNames.end(), part); d != kDirectionNames.end()) {
        rule.direction = static_cast<Direction>(d - kDirectionNames.begin());
        continue;
      }
    }
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return fail("'" + std::string(part) + "' is not a " + std::string(kind_name(rule.kind)) +
                  " setting (allowed: to_broker, to_client, both, " + join(allowed) + ")");
    const bool is_flag = key == "rst" || key == "fin" || key == "every";
    if (is_flag && eq != std::string_view::npos) return fail("'" + std::string(key) + "' takes no value");
    if (!is_flag && (eq == std::string_view::npos || value.empty()))
      return fail("'" + std::string(key) + "' needs a value (" + std::string(key) + "=...)");
    auto bad = [&](std::string_view what) {
      return fail("'" + std::string(part) + "': " + std::string(what));
    };
    if (key == "direction") {
      auto d = std::find(kDirectionNames.begin(), kDirectionNames.end(), value);
      if (d == kDirectionNames.end()) return bad("direction must be to_broker, to_client or both");
      rule.direction = static_cast<Direction>(d - kDirectionNames.begin());
    } else if (key == "after" || key == "before" || key == "packet" || key == "type") {
      auto t = mqtt::parse_packet_type(value);
      if (!t) return bad("not a packet type (CONNECT ... AUTH)");
      if (saw_type) return bad("the packet type is given twice");
      saw_type = true;
      rule.packet = *t;
      rule.before = key == "before";
    } else if (key == "nth") {
      auto v = parse_uint(value, 1'000'000);
      if (!v || *v == 0) return bad("nth must be 1..1000000");
      rule.nth = static_cast<std::uint32_t>(*v);
      rule.every = false;
      saw_nth = true;
    } else if (key == "every") {
      rule.every = true;
      saw_every = true;
    } else if (key == "at" || key == "by" || key == "jitter" || key == "for" || key == "hold") {
      const auto parsed = common::parse_duration(value, kMaxDuration);
      if (!parsed.value) return bad(parsed.error);
      const Ms d = *parsed.value;
      if (key == "at") rule.at = d;
      else if (key == "by") rule.by = d;
      else if (key == "jitter") rule.jitter = d;
      else if (key == "for") rule.duration = d;
      else rule.hold = d;
    } else if (key == "ms") {
      auto v = parse_uint(value, 86'400'000);
      if (!v) return bad("expected milliseconds");
      rule.by = Ms(*v);
    } else if (key == "bytes_per_second" || key == "bps") {
      auto v = parse_uint(value, 4294967295u);
      if (!v || *v == 0) return bad("expected bytes per second >= 1");
      rule.bytes_per_second = static_cast<std::uint32_t>(*v);
    } else if (key == "size" || key == "bytes") {
      auto v = parse_uint(value, mqtt::kMaxPacketSize);
      if (!v || *v == 0) return bad("expected a segment size >= 1");
      rule.size = static_cast<std::uint32_t>(*v);
    } else if (key == "offset") {
      auto v = parse_uint(value, mqtt::kMaxPacketSize);
      if (!v) return bad("expected a byte offset");
      rule.offset = static_cast<std::uint32_t>(*v);
    } else if (key == "xor") {
      auto v = parse_uint(value, 255);
      if (!v || *v == 0) return bad("xor mask must be 1..255 (0 changes nothing)");
      rule.xor_mask = static_cast<std::uint8_t>(*v);
    } else if (key == "set") {
      auto v = parse_uint(value, 255);
      if (!v) return bad("set value must be 0..255");
      rule.set = static_cast<std::uint8_t>(*v);
    } else if (key == "window") {
      auto v = parse_uint(value, 1000);
      if (!v || *v < 2) return bad("window must be 2..1000");
      rule.window = static_cast<std::uint32_t>(*v);
    } else if (key == "rst" || key == "fin") {
      rule.close = key == "rst" ? Close::rst : Close::fin;
    } else if (key == "close") {
      if (value == "rst") rule.close = Close::rst;
      else if (value == "fin") rule.close = Close::fin;
      else return bad("close must be rst or fin");
    } else if (key == "op") {
      const auto op = std::find(kRewriteOpNames.begin(), kRewriteOpNames.end(), value);
      if (op == kRewriteOpNames.end()) {
        std::vector<std::string_view> names(kRewriteOpNames.begin(), kRewriteOpNames.end());
        return bad("op must be one of " + join(names));
      }
      rule.op = static_cast<RewriteOp>(op - kRewriteOpNames.begin());
      saw_op = true;
    } else if (key == "side") {
      if (value == "client") rule.side = Side::client;
      else if (value == "broker") rule.side = Side::broker;
      else if (value == "both") rule.side = Side::both;
      else return bad("side must be client, broker or both");
    }
  }
  if (saw_nth && saw_every) return fail("nth and every exclude each other");
  if (rule.kind == Kind::throttle && rule.bytes_per_second == 0) return fail("throttle needs bytes_per_second=N");
  if (rule.kind == Kind::segment && rule.size == 0) return fail("segment needs size=N");
  if (rule.kind == Kind::delay && rule.by.count() == 0) return fail("delay needs by=DURATION (e.g. by=200ms)");
  if (rule.kind == Kind::rewrite) {
    if (!saw_op) return fail("rewrite needs op=NAME");
    if (rule.op == RewriteOp::set_code && !rule.set) return fail("op=set_code needs set=CODE");
    if (rule.op == RewriteOp::delay_close && rule.by.count() == 0) return fail("op=delay_close needs by=DURATION");
    if ((rule.op == RewriteOp::keep_open || rule.op == RewriteOp::delay_close) &&
        (saw_type || rule.direction != Direction::to_client))
      return fail("op=" + std::string(rewrite_op_name(rule.op)) +
                  " acts on the broker's close: direction to_client, no packet type");
  }
  if ((rule.kind == Kind::cut || rule.kind == Kind::blackhole) && rule.at && saw_type)
    return fail("give either a packet trigger (after/before) or at=, not both");
  return ParseResult{rule, {}};
}

std::string to_spec(const FaultRule& r) {
  std::string s(kind_name(r.kind));
  s += ':';
  s += direction_name(r.direction);
  auto add = [&](std::string_view k, const std::string& v) {
    s += ':';
    s += k;
    if (!v.empty()) {
      s += '=';
      s += v;
    }
  };
  const bool trigger_kind = r.kind == Kind::cut || r.kind == Kind::blackhole;
  if (r.packet) add(trigger_kind ? (r.before ? "before" : "after") : "packet", std::string(mqtt::to_string(*r.packet)));
  switch (r.kind) {
    case Kind::cut:
    case Kind::blackhole:
      if (!r.at) add("nth", std::to_string(r.nth));
      if (r.at) add("at", common::format_duration(*r.at));
      if (r.kind == Kind::cut) {
        add(r.close == Close::rst ? "rst" : "fin", "");
        add("side", r.side == Side::both ? "both" : r.side == Side::client ? "client" : "broker");
      }
      break;
    case Kind::delay:
      add("by", common::format_duration(r.by));
      if (r.jitter.count()) add("jitter", common::format_duration(r.jitter));
      break;
    case Kind::throttle: add("bytes_per_second", std::to_string(r.bytes_per_second)); break;
    case Kind::segment: add("size", std::to_string(r.size)); break;
    case Kind::corrupt:
      add("offset", std::to_string(r.offset));
      if (r.set) add("set", std::to_string(*r.set));
      else add("xor", std::to_string(r.xor_mask));
      break;
    case Kind::duplicate: break;
    case Kind::rewrite:
      add("op", std::string(rewrite_op_name(r.op)));
      if (r.set) add("set", std::to_string(*r.set));
      if (r.by.count()) add("by", common::format_duration(r.by));
      break;
    case Kind::reorder:
      add("window", std::to_string(r.window));
      add("hold", common::format_duration(r.hold));
      break;
  }
  if (r.kind == Kind::delay || r.kind == Kind::corrupt || r.kind == Kind::duplicate || r.kind == Kind::reorder ||
      r.kind == Kind::rewrite) {
    if (r.every) add("every", "");
    else add("nth", std::to_string(r.nth));
  }
  if (r.duration) add("for", common::format_duration(*r.duration));
  return s;
}

bool RuleMatcher::fires(mqtt::PacketType type) {
  if (exhausted()) return false;
  if (rule_.packet && *rule_.packet != type) return false;
  ++seen_;
  if (rule_.every || seen_ == rule_.nth) {
    fired_ = true;
    return true;
  }
  return false;
}

bool rewrite_packet(std::vector<std::uint8_t>& packet, RewriteOp op, std::optional<std::uint8_t> code,
                    mqtt::Version version) {
  if (op == RewriteOp::set_dup) {
    // Byte level: the codec would refuse to encode the QoS 0 PUBLISH with DUP 1 it stands for.
    if (packet_type_of(packet) != mqtt::PacketType::publish || (packet[0] & 0x08) != 0) return false;
    packet[0] |= 0x08;
    return true;
  }
  const auto decoded = mqtt::decode(mqtt::Bytes(packet.data(), packet.size()), mqtt::DecodeOptions{version});
  if (!decoded.ok()) return false;
  mqtt::Packet p = mqtt::to_owned(decoded.value);
  const bool v5 = version == mqtt::Version::v5;
  bool changed = false;
  std::visit(
      [&](auto& pk) {
        using P = std::decay_t<decltype(pk)>;
        constexpr auto type = P::type;
        if constexpr (type == mqtt::PacketType::connack) {
          if (op == RewriteOp::clear_session_present && pk.session_present) {
            pk.session_present = false;
            changed = true;
          }
        }
        if constexpr (type == mqtt::PacketType::publish) {
          if (op == RewriteOp::clear_retain && pk.retain) {
            pk.retain = false;
            changed = true;
          }
          if (op == RewriteOp::clear_dup && pk.dup) {
            pk.dup = false;
            changed = true;
          }
          if (op == RewriteOp::drop_user_properties && v5 && pk.properties.find(mqtt::PropertyId::user_property)) {
            pk.properties.erase(mqtt::PropertyId::user_property);
            changed = true;
          }
        }
        if (op != RewriteOp::set_code || !code) return;
        if constexpr (type == mqtt::PacketType::connack || type == mqtt::PacketType::puback ||
                      type == mqtt::PacketType::pubrec || type == mqtt::PacketType::pubrel ||
                      type == mqtt::PacketType::pubcomp || type == mqtt::PacketType::disconnect) {
          // 3.1.1 acks and DISCONNECT carry no reason code; its CONNACK has the return code.
          if (v5 || type == mqtt::PacketType::connack) {
            pk.reason_code = *code;
            changed = true;
          }
        }
        if constexpr (type == mqtt::PacketType::suback || type == mqtt::PacketType::unsuback) {
          if (!pk.reason_codes.empty() && (v5 || type == mqtt::PacketType::suback)) {
            pk.reason_codes.front() = *code;
            changed = true;
          }
        }
      },
      p);
  if (!changed) return false;
  const auto encoded = mqtt::encode_to_string(p, version);
  if (!encoded.ok()) return false;
  packet.assign(encoded.value.begin(), encoded.value.end());
  return true;
}

std::optional<mqtt::Version> connect_version(std::span<const std::uint8_t> packet) {
  const auto decoded = mqtt::decode(mqtt::Bytes(packet.data(), packet.size()), mqtt::DecodeOptions{});
  if (!decoded.ok()) return std::nullopt;
  const auto* connect = std::get_if<mqtt::BasicConnect<mqtt::ViewStorage>>(&decoded.value);
  if (!connect) return std::nullopt;
  // 3.1 (level 3) is served as 3.1.1 throughout the harness.
  return connect->protocol_version == mqtt::Version::v5 ? mqtt::Version::v5 : mqtt::Version::v3_1_1;
}

std::optional<mqtt::PacketType> packet_type_of(std::span<const std::uint8_t> packet) {
  if (packet.empty()) return std::nullopt;
  const int t = packet[0] >> 4;
  if (t < 1 || t > 15) return std::nullopt;
  return static_cast<mqtt::PacketType>(t);
}

std::vector<std::size_t> segment_sizes(std::size_t total, std::size_t size) {
  std::vector<std::size_t> out;
  if (size == 0) size = total ? total : 1;
  for (std::size_t done = 0; done < total; done += size) out.push_back(std::min(size, total - done));
  return out;
}

bool corrupt_byte(std::vector<std::uint8_t>& packet, std::uint32_t offset, std::uint8_t xor_mask,
                  std::optional<std::uint8_t> set) {
  if (offset >= packet.size()) return false;
  if (set) packet[offset] = *set;
  else packet[offset] ^= xor_mask;
  return true;
}

TokenBucket::TokenBucket(std::uint32_t bytes_per_second, std::int64_t now_ms)
    : rate_(bytes_per_second), burst_(std::max(1.0, bytes_per_second / 10.0)), last_ms_(now_ms) {}

void TokenBucket::refill(std::int64_t now_ms) {
  if (now_ms > last_ms_) {
    tokens_ = std::min(burst_, tokens_ + rate_ * double(now_ms - last_ms_) / 1000.0);
    last_ms_ = now_ms;
  }
}

std::size_t TokenBucket::available(std::int64_t now_ms) {
  refill(now_ms);
  return tokens_ >= 1.0 ? static_cast<std::size_t>(std::floor(tokens_)) : 0;
}

std::int64_t TokenBucket::wait_ms(std::int64_t now_ms) {
  refill(now_ms);
  if (tokens_ >= 1.0) return 0;
  return static_cast<std::int64_t>(std::ceil((1.0 - tokens_) * 1000.0 / rate_));
}

}  // namespace mqtth::fault
