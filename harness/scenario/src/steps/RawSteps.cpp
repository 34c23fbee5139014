// Raw steps: bytes written as they are, past the client session. send_raw takes hex;
// send_packet takes packets in the decode JSON (docs/decode-json.md), encoded here by the
// codec, with optional overrides that break the packet on purpose. Both load into a
// SendRawStep, so the runner treats them alike (connection rules, --broker prefixing).
#include "loader/Scalars.hpp"
#include "mqtt/json.hpp"
#include "steps/StepFamilies.hpp"

namespace mqtth::scenario::steps {

namespace {

// ---- send_raw ----------------------------------------------------------------------------

constexpr KeySpec kSendRawKeys[] = {
    kClientKey,
    {"hex", ValueType::hex, true, {}, "the bytes to send, as hex"},
};

std::optional<StepAction> parse_send_raw(StepInput& in) {
  Parser& p = in.p;
  SendRawStep r;
  auto c = in.client();
  if (auto x = in.get("hex")) {
    if (auto b = p.hex(x, "hex")) {
      r.bytes.assign(b->begin(), b->end());
      if (b->empty()) p.error(x, "send_raw: hex must contain at least one byte");
    }
  }
  if (!c) return std::nullopt;
  r.client = *c;
  p.mark_opened(r.client);
  return r;
}

// ---- send_packet -------------------------------------------------------------------------

constexpr KeySpec kSendPacketKeys[] = {
    kClientKey,
    {"packet", ValueType::packet, false, {}, "the packet's fields in the decode JSON, e.g. {type: PUBLISH, qos: 1, packet_id: 7, topic: t, payload: hi}"},
    {"packets", ValueType::packet_list, false, {}, "several packets, written in one write (no overrides)"},
    {"flags", ValueType::integer, false, "the packet's own", "override: the fixed header flags (the low 4 bits of the first byte), 0..15"},
    {"remaining_length", ValueType::integer, false, "the body's length", "override: the Remaining Length written (the body is unchanged)"},
    {"trailing", ValueType::hex, false, {}, "override: bytes appended to the body, counted in the Remaining Length"},
};
constexpr std::string_view kPacketChoice[] = {"packet", "packets"};

// The YAML node a JSON Pointer of the codec's error (relative to `packet`) names, or the
// deepest one that exists; `key` is the mapping key of the last step taken, if any.
struct Located {
  YAML::Node node;
  std::optional<YAML::Node> key;
};
Located locate(const YAML::Node& packet, std::string_view pointer) {
  Located at{packet, std::nullopt};
  while (!pointer.empty() && pointer.front() == '/') {
    pointer.remove_prefix(1);
    const auto end = pointer.find('/');
    std::string token(pointer.substr(0, end));
    pointer = end == std::string_view::npos ? std::string_view{} : pointer.substr(end);
    for (auto pos = token.find("~1"); pos != std::string::npos; pos = token.find("~1", pos + 1)) token.replace(pos, 2, "/");
    for (auto pos = token.find("~0"); pos != std::string::npos; pos = token.find("~0", pos + 1)) token.replace(pos, 2, "~");
    std::optional<Located> next;
    if (at.node.IsMap()) {
      for (const auto& kv : at.node)
        if (kv.first.IsScalar() && kv.first.Scalar() == token) next = Located{kv.second, kv.first};
    } else if (at.node.IsSequence()) {
      const auto index = detail::parse_uint(token);
      if (index && *index < at.node.size()) next = Located{at.node[static_cast<std::size_t>(*index)], std::nullopt};
    }
    if (!next) break;
    at = *next;
  }
  return at;
}

// `what` encoded for `version`; nullopt (and the codec's error at the field it names) when
// the fields are not a packet description.
std::optional<std::string> encode_packet(Parser& p, const YAML::Node& n, const std::string& what, Version& version) {
  p.visit();
  if (!n.IsMap()) {
    p.error(n, what + " must be a mapping of the packet's decode-JSON fields (docs/decode-json.md), got " + detail::node_kind(n));
    return std::nullopt;
  }
  const std::size_t errors_before = p.errors.size();
  Json json = p.generic(n, false, 0);
  if (p.errors.size() != errors_before) return std::nullopt;
  // Packet types are accepted in any case here as everywhere in scenario files.
  if (auto t = json.find("type"); t != json.end() && t->is_string())
    if (auto type = detail::parse_packet_type_name(t->get<std::string>())) *t = std::string(mqtt::to_string(*type));
  auto bytes = mqtt::encode_json(json, version);
  if (!bytes.ok()) {
    const auto& e = *bytes.error;
    const Located at = locate(n, e.path);
    const bool about_the_key = e.message.starts_with("unknown key") || e.message.find("does not exist in") != std::string::npos;
    const std::string field = e.path.empty() ? std::string() : " " + e.path.substr(1);
    p.error(about_the_key && at.key ? *at.key : at.node, what + field + ": " + e.message);
    return std::nullopt;
  }
  // The packets after a CONNECT in the same write are read by the broker in its version.
  if (auto v = mqtt::connect_version(json)) version = *v;
  return std::move(bytes.value);
}

// The overrides of one packet: `flags`, `remaining_length`, `trailing`.
struct Overrides {
  std::optional<std::uint8_t> flags;
  std::optional<std::uint32_t> remaining_length;
  std::optional<std::string> trailing;
  bool any() const { return flags || remaining_length || trailing; }
};

// The packet with its overrides: [first byte with `flags`][`remaining_length`, or the
// length of body + trailing, as a Variable Byte Integer][body][trailing].
std::optional<std::string> apply(Parser& p, const YAML::Node& step, const std::string& packet, const Overrides& o) {
  const auto header = mqtt::decode_varint(mqtt::Bytes(reinterpret_cast<const std::uint8_t*>(packet.data() + 1), packet.size() - 1));
  std::string body = packet.substr(1 + header.consumed);
  if (o.trailing) body += *o.trailing;
  if (!o.remaining_length && body.size() > mqtt::kMaxRemainingLength) {
    p.error(step, "send_packet: with `trailing` the packet is longer than a Remaining Length can say (268435455 bytes)");
    return std::nullopt;
  }
  const auto length = o.remaining_length.value_or(static_cast<std::uint32_t>(body.size()));
  std::string out(1, o.flags ? static_cast<char>((packet[0] & 0xF0) | *o.flags) : packet[0]);
  std::uint8_t varint[4];
  out.append(reinterpret_cast<const char*>(varint), mqtt::encode_varint(length, varint));
  return out + body;
}

std::optional<StepAction> parse_send_packet(StepInput& in) {
  Parser& p = in.p;
  auto c = in.client();
  Overrides o;
  if (auto x = in.get("flags")) o.flags = p.uint<std::uint8_t>(x, "flags", 0, 15, "the fixed header flags 0..15");
  if (auto x = in.get("remaining_length")) o.remaining_length = p.uint<std::uint32_t>(x, "remaining_length", 0, mqtt::kMaxRemainingLength);
  if (auto x = in.get("trailing")) {
    o.trailing = p.hex(x, "trailing");
    if (o.trailing && o.trailing->empty()) p.error(x, "send_packet: trailing must contain at least one byte");
  }
  if (!c) return std::nullopt;
  // As the runner reads what comes back: in the version of the client.
  Version version = p.find_client(*c)->protocol.value_or(p.version());
  std::string bytes;
  bool ok = true;
  if (in.has("packet") == in.has("packets")) {
    p.error(in.value, "send_packet: give exactly one of 'packet' (one packet) or 'packets' (a list written in one write)");
    ok = false;
  } else if (auto x = in.get("packet")) {
    auto packet = encode_packet(p, x, "send_packet packet", version);
    if (packet) packet = apply(p, in.value, *packet, o);
    if (packet) bytes = std::move(*packet);
    else ok = false;
  } else {
    const YAML::Node list = in.get("packets");
    p.visit();
    if (o.any()) {
      p.error(in.value, "send_packet: flags, remaining_length and trailing change one `packet`; with `packets` use send_raw");
      ok = false;
    }
    if (!list.IsSequence() || list.size() == 0) {
      p.error(list, std::string("send_packet packets must be a non-empty list of packets, got ") + detail::node_kind(list));
      ok = false;
    } else {
      for (std::size_t i = 0; i < list.size(); ++i) {
        auto packet = encode_packet(p, list[i], "send_packet packets/" + std::to_string(i), version);
        if (packet) bytes += *packet;
        else ok = false;
      }
    }
  }
  if (!ok) return std::nullopt;
  p.mark_opened(*c);
  return SendRawStep{*c, std::vector<std::uint8_t>(bytes.begin(), bytes.end())};
}

constexpr StepDescriptor kSendRaw{
    "send_raw", StepKind::send_raw,
    "Writes bytes as they are; without a connection it first opens TCP without sending CONNECT",
    {"step_send_raw", "", kSendRawKeys}, StepShorthand::none, false,
    "{client: raw, hex: \"10 0e 00 04 4d 51 54 54 04 02 00 00 00 02 72 31\"}", parse_send_raw};
constexpr StepDescriptor kSendPacket{
    "send_packet", StepKind::send_raw,
    "Like send_raw, with the bytes encoded by the codec from decode-JSON fields in the client's version; overrides break them on purpose",
    {"step_send_packet", "", kSendPacketKeys, kPacketChoice}, StepShorthand::none, false,
    "{client: raw, packet: {type: PUBLISH, qos: 2, dup: true, topic: t, packet_id: 10, payload: first}}", parse_send_packet};

}  // namespace

const StepDescriptor& send_raw_step() { return kSendRaw; }
const StepDescriptor& send_packet_step() { return kSendPacket; }

}  // namespace mqtth::scenario::steps
