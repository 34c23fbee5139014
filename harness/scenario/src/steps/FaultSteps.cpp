// Steps that break things on purpose: fault (the client's link, docs/faults.md) and
// misbehave (the client session's own rule-breaking knobs).
#include "steps/StepFamilies.hpp"

namespace mqtth::scenario::steps {

namespace {

// ---- fault -------------------------------------------------------------------------------

constexpr KeySpec kDirection{"direction", ValueType::direction, false, "both", "which way: to_broker, to_client or both"};
constexpr KeySpec kAfter{"after", ValueType::packet_type, false, {}, "trigger: after the nth packet of this type"};
constexpr KeySpec kPacket{"packet", ValueType::packet_type, false, "any", "the packet type it applies to"};
constexpr KeySpec kNth{"nth", ValueType::integer, false, "1", "which packet of that type, counted from the step"};
constexpr KeySpec kAt{"at", ValueType::duration, false, {}, "trigger: this long after the step"};
constexpr KeySpec kFor{"for", ValueType::duration, false, "the rest of the scenario", "how long the fault lasts"};

constexpr KeySpec kCutKeys[] = {kDirection, kAfter, kNth, kAt};
constexpr KeySpec kDelayKeys[] = {kDirection,
                                  {"by", ValueType::duration, true, {}, "the added latency"},
                                  {"jitter", ValueType::duration, false, "0ms", "random extra latency up to this"},
                                  kFor};
constexpr KeySpec kThrottleKeys[] = {kDirection, {"bytes_per_second", ValueType::integer, true, {}, "the link rate"}, kFor};
constexpr KeySpec kSegmentKeys[] = {kDirection, {"size", ValueType::integer, true, {}, "bytes per write"}};
constexpr KeySpec kCorruptKeys[] = {kDirection, kPacket, kNth,
                                    {"offset", ValueType::integer, false, {}, "the byte offset in the packet"},
                                    {"xor", ValueType::integer, false, {}, "the XOR mask, 1..255"}};
constexpr KeySpec kBlackholeKeys[] = {kDirection, kAfter, kNth, kAt, kFor};
constexpr KeySpec kDuplicateKeys[] = {kDirection, kPacket, kNth};
constexpr KeySpec kReorderKeys[] = {kDirection, {"window", ValueType::integer, false, {}, "packets held and shuffled, 2..1000"}, kFor};

// In FaultKind order.
constexpr MappingSpec kFaultParams[] = {
    {"fault_cut", "closes both sides with RST", kCutKeys},
    {"fault_delay", "adds latency", kDelayKeys},
    {"fault_throttle", "limits the link rate", kThrottleKeys},
    {"fault_segment", "splits writes", kSegmentKeys},
    {"fault_corrupt", "flips bits of a packet", kCorruptKeys},
    {"fault_blackhole", "swallows everything", kBlackholeKeys},
    {"fault_duplicate", "sends a packet twice", kDuplicateKeys},
    {"fault_reorder", "shuffles packets", kReorderKeys},
};
constexpr const MappingSpec* kFaultParamList[] = {&kFaultParams[0], &kFaultParams[1], &kFaultParams[2], &kFaultParams[3],
                                                  &kFaultParams[4], &kFaultParams[5], &kFaultParams[6], &kFaultParams[7]};
constexpr std::size_t kFaultKinds = std::size(kFaultParams);

constexpr KeySpec kFaultKeys[] = {
    kClientKey,
    {"cut", ValueType::mapping, false, {}, "cut the link (RST)", &kFaultParams[0]},
    {"delay", ValueType::mapping, false, {}, "add latency", &kFaultParams[1]},
    {"throttle", ValueType::mapping, false, {}, "limit the rate", &kFaultParams[2]},
    {"segment", ValueType::mapping, false, {}, "split writes", &kFaultParams[3]},
    {"corrupt", ValueType::mapping, false, {}, "flip bits", &kFaultParams[4]},
    {"blackhole", ValueType::mapping, false, {}, "swallow everything", &kFaultParams[5]},
    {"duplicate", ValueType::mapping, false, {}, "send a packet twice", &kFaultParams[6]},
    {"reorder", ValueType::mapping, false, {}, "shuffle packets", &kFaultParams[7]},
    {"connections", ValueType::fault_connections, false, "current",
     "the connection it is armed on (none open: the next), only the `next` one, or `all` from now on"},
};

constexpr std::string_view kFaultKindChoice[] = {"cut", "delay", "throttle", "segment", "corrupt", "blackhole", "duplicate", "reorder"};

std::optional<StepAction> parse_fault(StepInput& in) {
  Parser& p = in.p;
  FaultStep f;
  auto c = in.client();
  int kinds = 0;
  bool parsed = false;
  for (std::size_t k = 0; k < kFaultKinds; ++k) {
    auto kind_name = fault_kind_name(static_cast<FaultKind>(k));
    YAML::Node params = in.get(kind_name);
    if (!params) continue;
    if (kinds++ > 0) {
      p.error(params, "fault: one fault kind per step (cut, delay, throttle, segment, corrupt, blackhole, duplicate or reorder)");
      continue;
    }
    f.kind = static_cast<FaultKind>(k);
    std::string fctx = "fault " + std::string(kind_name);
    if (params.IsNull()) {
      parsed = true;
      continue;
    }
    if (!p.check_map(params, kFaultParams[k].keys, fctx)) continue;
    parsed = true;
    p.require_keys(params, kFaultParams[k].keys, fctx);
    auto get = [&](std::string_view key) { return Parser::get(params, key); };
    if (auto x = get("direction")) {
      if (auto d = p.named(x, "direction", {Direction::to_broker, Direction::to_client, Direction::both}, direction_name))
        f.direction = *d;
    }
    if (auto x = get("after")) f.after = p.packet_type(x, "after");
    if (auto x = get("packet")) f.after = p.packet_type(x, "packet");
    if (auto x = get("nth")) {
      if (auto v = p.uint<std::uint32_t>(x, "nth", 1, 1000000)) f.nth = *v;
    }
    if (auto x = get("at")) f.delay = p.duration(x, "at");
    if (auto x = get("by")) f.delay = p.duration(x, "by");
    if (auto x = get("jitter")) f.jitter = p.duration(x, "jitter");
    if (auto x = get("for")) f.duration = p.duration(x, "for");
    if (auto x = get("bytes_per_second")) f.bytes_per_second = p.uint<std::uint32_t>(x, "bytes_per_second", 1, 4294967295u);
    if (auto x = get("size")) f.size = p.uint<std::uint32_t>(x, "size", 1, 268435460);
    if (auto x = get("offset")) f.offset = p.uint<std::uint32_t>(x, "offset", 0, 268435460);
    if (auto x = get("xor")) f.xor_mask = p.uint<std::uint8_t>(x, "xor", 1, 255);
    if (auto x = get("window")) f.window = p.uint<std::uint32_t>(x, "window", 2, 1000);
  }
  if (auto x = in.get("connections")) {
    if (auto scope = p.named(x, "connections", {FaultConnections::current, FaultConnections::next, FaultConnections::all},
                         fault_connections_name))
      f.connections = *scope;
  }
  if (kinds == 0) p.error(in.value, "fault: missing the fault kind: one of cut, delay, throttle, segment, corrupt, blackhole, duplicate, reorder");
  if (!c) return std::nullopt;
  f.client = *c;
  if (kinds > 0 && parsed && !p.options().allow_faults)
    p.error(in.key, "fault steps are turned off for this load (LoadOptions::allow_faults)");
  if (!parsed) return std::nullopt;
  return f;
}

// ---- misbehave ---------------------------------------------------------------------------

constexpr KeySpec kMisbehaveKeys[] = {
    kClientKey,
    {"withhold", ValueType::packet_types, false, {}, "acks not to send: PUBACK, PUBREC, PUBREL, PUBCOMP"},
    {"skip_pubrel", ValueType::boolean, false, {}, "after PUBREC, send no PUBREL"},
    {"count", ValueType::integer, false, "every one", "withhold / skip_pubrel apply to the next `count` only"},
    {"reuse_packet_id", ValueType::boolean, false, {}, "new packets take a packet id still in flight"},
    {"auto_ack", ValueType::boolean, false, {}, "false: no acks at all for received PUBLISH"},
    {"fixed_packet_id", ValueType::integer, false, {}, "every new packet uses this id (0 allowed)"},
    {"suppress_pingreq", ValueType::boolean, false, {}, "keep-alive PINGREQs are not sent"},
    {"ignore_receive_maximum", ValueType::boolean, false, {}, "send QoS > 0 beyond the broker's Receive Maximum"},
};

std::optional<StepAction> parse_misbehave(StepInput& in) {
  Parser& p = in.p;
  MisbehaveStep m;
  auto c = in.client();
  if (auto x = in.get("withhold")) {
    auto add = [&](const YAML::Node& t) {
      auto type = p.packet_type(t, "withhold");
      if (!type) return;
      if (*type != PacketType::puback && *type != PacketType::pubrec && *type != PacketType::pubrel && *type != PacketType::pubcomp)
        p.error(t, "withhold: only acks can be withheld: PUBACK, PUBREC, PUBREL or PUBCOMP");
      else
        m.withhold.push_back(*type);
    };
    p.visit();
    if (x.IsSequence()) {
      for (const auto& t : x) add(t);
    } else {
      add(x);
    }
  }
  if (auto x = in.get("skip_pubrel")) m.skip_pubrel = p.boolean(x, "skip_pubrel");
  if (auto x = in.get("reuse_packet_id")) m.reuse_packet_id = p.boolean(x, "reuse_packet_id");
  if (auto x = in.get("auto_ack")) m.auto_ack = p.boolean(x, "auto_ack");
  if (auto x = in.get("count")) m.count = p.uint<std::uint32_t>(x, "count", 1, 1000000);
  if (auto x = in.get("fixed_packet_id")) m.fixed_packet_id = p.uint<std::uint16_t>(x, "fixed_packet_id", 0, 65535);
  if (auto x = in.get("suppress_pingreq")) m.suppress_pingreq = p.boolean(x, "suppress_pingreq");
  if (auto x = in.get("ignore_receive_maximum")) m.ignore_receive_maximum = p.boolean(x, "ignore_receive_maximum");
  if (!c) return std::nullopt;
  m.client = *c;
  return m;
}

constexpr StepDescriptor kFault{
    "fault", StepKind::fault,
    "Fault injection on the client's link through its FaultProxy, from this step on, on the connection it is armed on "
    "unless `connections` says otherwise; exactly one kind per step",
    {"step_fault", "", kFaultKeys, kFaultKindChoice}, StepShorthand::none, false,
    "{client: sub, cut: {direction: to_broker, after: PUBREC, nth: 3}, connections: current}", parse_fault};
constexpr StepDescriptor kMisbehave{
    "misbehave", StepKind::misbehave, "Makes the client session break rules on purpose; settings stay until changed",
    {"step_misbehave", "", kMisbehaveKeys}, StepShorthand::none, false,
    "{client: sub, withhold: [PUBACK, PUBREC, PUBCOMP], count: 3}", parse_misbehave};

}  // namespace

const StepDescriptor& fault_step() { return kFault; }
const StepDescriptor& misbehave_step() { return kMisbehave; }
std::span<const MappingSpec* const> fault_param_keys() { return kFaultParamList; }

}  // namespace mqtth::scenario::steps
