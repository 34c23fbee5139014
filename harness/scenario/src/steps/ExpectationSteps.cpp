// Expectation steps: expect_packet, expect_no_packet, expect_delivery, expect_suback, and
// sleep (waiting without expecting anything).
#include "loader/Scalars.hpp"
#include "mqtt/json.hpp"
#include "steps/StepFamilies.hpp"

namespace mqtth::scenario::steps {

namespace {

using T = PacketType;
constexpr std::uint16_t bits(std::initializer_list<PacketType> types) {
  std::uint16_t out = 0;
  for (auto t : types) out = static_cast<std::uint16_t>(out | packet_type_bit(t));
  return out;
}
constexpr std::uint16_t kAcks = bits({T::puback, T::pubrec, T::pubrel, T::pubcomp});
constexpr std::uint16_t kWithProperties = bits({T::connect, T::connack, T::publish, T::puback, T::pubrec, T::pubrel,
                                                T::pubcomp, T::subscribe, T::suback, T::unsubscribe, T::unsuback,
                                                T::disconnect, T::auth});

// expect_packet: client, type, within, then the decode-JSON fields (docs/decode-json.md)
// that may be matched, each with the packet types that have it, plus `payload` (text,
// compared as its hex) for PUBLISH. Listed in an order that keeps every type's fields in
// wire order.
constexpr std::string_view kMatchDoc = "matched against the decode JSON";
constexpr KeySpec kExpectPacketKeys[] = {
    kClientKey,
    {"type", ValueType::packet_type, true, {}, "the packet type, e.g. PUBLISH"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait"},
    {"protocol_name", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::connect})},
    {"protocol_version", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::connect})},
    {"clean_start", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::connect})},
    {"keep_alive", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::connect})},
    {"client_id", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::connect})},
    {"will", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::connect})},
    {"username", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::connect})},
    {"password_hex", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::connect})},
    {"session_present", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::connack})},
    {"dup", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::publish})},
    {"qos", ValueType::match_value, false, {}, "0..3, or `effective`: the lower of the message's publish QoS and the QoS granted to the client",
     nullptr, bits({T::publish})},
    {"retain", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::publish})},
    {"topic", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::publish})},
    {"packet_id", ValueType::match_value, false, {}, kMatchDoc, nullptr,
     static_cast<std::uint16_t>(bits({T::publish, T::subscribe, T::suback, T::unsubscribe, T::unsuback}) | kAcks)},
    {"payload_hex", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::publish})},
    {"payload", ValueType::match_value, false, {}, "the payload as text, compared as its hex", nullptr, bits({T::publish})},
    {"reason_code", ValueType::match_value, false, {}, kMatchDoc, nullptr,
     static_cast<std::uint16_t>(bits({T::connack, T::disconnect, T::auth}) | kAcks)},
    {"subscriptions", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::subscribe})},
    {"reason_codes", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::suback, T::unsuback})},
    {"filters", ValueType::match_value, false, {}, kMatchDoc, nullptr, bits({T::unsubscribe})},
    {"properties", ValueType::match_value, false, {}, kMatchDoc, nullptr, kWithProperties},
};

std::optional<StepAction> parse_expect_packet(StepInput& in) {
  Parser& p = in.p;
  if (!in.value.IsMap()) {
    p.error(in.value, "expect_packet must be a mapping with client, type, within and decode-JSON fields to match");
    return std::nullopt;
  }
  ExpectPacketStep e;
  auto c = in.client();
  std::optional<PacketType> type;
  if (auto x = in.get("type")) type = p.packet_type(x, "type");
  e.within = in.within();
  if (type) {
    e.type = *type;
    std::vector<std::string_view> allowed;
    for (const auto& k : kExpectPacketKeys)
      if (k.packet_types == 0 || (k.packet_types & packet_type_bit(*type))) allowed.push_back(k.name);
    for (const auto& k : common_step_keys()) allowed.push_back(k.name);
    p.check_map(in.value, allowed, "expect_packet " + std::string(mqtt::to_string(*type)));
    for (const auto& kv : in.value) {
      p.visit();
      if (!kv.first.IsScalar()) continue;
      const std::string& k = kv.first.Scalar();
      if (k == "client" || k == "type" || k == "within" || is_common_step_key(k)) continue;
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) continue;
      if (k == "properties") {
        e.match["properties"] = p.match_properties(kv.second, in.ctx);
      } else if (k == "payload") {
        if (auto t = p.text(kv.second, "payload")) e.match["payload_hex"] = mqtt::to_hex(*t);
      } else if (k == "payload_hex" || k == "password_hex") {
        if (auto t = p.hex(kv.second, k)) e.match[k] = mqtt::to_hex(*t);
      } else if (k == "qos") {
        if (kv.second.IsScalar() && kv.second.Scalar() == "effective") e.qos_effective = true;
        else if (auto q = p.uint<std::uint8_t>(kv.second, "qos", 0, 3, "0..3 or effective")) e.match[k] = *q;
      } else {
        e.match[k] = p.generic(kv.second, detail::is_string_valued_key(k), 0);
      }
    }
    if (in.has("payload") && in.has("payload_hex")) p.error(in.value, "expect_packet: give either 'payload' or 'payload_hex', not both");
  }
  if (!c || !type) return std::nullopt;
  e.client = *c;
  p.require_opened(in.key, e.client, in.ctx);
  return e;
}

// ---- expect_no_packet --------------------------------------------------------------------

constexpr KeySpec kExpectNoPacketKeys[] = {
    kClientKey,
    {"type", ValueType::packet_type, false, "any the broker sends on its own", "the packet type that must not come"},
    {"for", ValueType::duration, true, {}, "how long to watch, e.g. 500ms"},
};

std::optional<StepAction> parse_expect_no_packet(StepInput& in) {
  Parser& p = in.p;
  ExpectNoPacketStep e;
  auto c = in.client();
  if (auto x = in.get("type")) e.type = p.packet_type(x, "type");
  if (auto x = in.get("for")) {
    if (auto d = p.duration(x, "for")) e.duration = *d;
  }
  if (!c) return std::nullopt;
  e.client = *c;
  p.require_opened(in.key, e.client, in.ctx);
  return e;
}

// ---- expect_delivery ---------------------------------------------------------------------

constexpr KeySpec kExpectDeliveryKeys[] = {
    {"subscriber", ValueType::client, true, {}, kClientDoc},
    {"publisher", ValueType::client, true, {}, kClientDoc},
    {"topic", ValueType::text, false, "every topic", "only the messages published on this topic (a filter is allowed)"},
    {"guarantee", ValueType::guarantee, true, {}, "at_most_once, at_least_once or exactly_once"},
    {"ordered", ValueType::boolean, false, "false", "also per-topic publish order"},
    {"count", ValueType::integer, false, {}, "exactly this many distinct messages must arrive"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait for the ledger to settle"},
};

std::optional<StepAction> parse_expect_delivery(StepInput& in) {
  Parser& p = in.p;
  ExpectDeliveryStep e;
  auto sub = in.client("subscriber");
  auto pub = in.client("publisher");
  if (auto x = in.get("topic")) e.topic = p.text(x, "topic");
  if (auto x = in.get("guarantee")) {
    if (auto g = p.named(x, "guarantee", {Guarantee::at_most_once, Guarantee::at_least_once, Guarantee::exactly_once},
                         guarantee_name))
      e.guarantee = *g;
  }
  if (auto x = in.get("ordered")) {
    if (auto b = p.boolean(x, "ordered")) e.ordered = *b;
  }
  if (auto x = in.get("count")) e.count = p.uint<std::uint32_t>(x, "count", 0, 100000000);
  e.within = in.within();
  if (sub) p.require_opened(in.get("subscriber"), *sub, "expect_delivery subscriber");
  if (pub) p.require_opened(in.get("publisher"), *pub, "expect_delivery publisher");
  if (!sub || !pub) return std::nullopt;
  e.subscriber = *sub;
  e.publisher = *pub;
  return e;
}

// ---- expect_suback -----------------------------------------------------------------------

constexpr KeySpec kExpectSubackKeys[] = {
    kClientKey,
    {"reason_codes", ValueType::suback_codes, true, {}, "the expected SUBACK reason codes (or {at_most_qos: N})"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait"},
};

std::optional<StepAction> parse_expect_suback(StepInput& in) {
  Parser& p = in.p;
  ExpectSubackStep e;
  auto c = in.client();
  if (auto x = in.get("reason_codes")) {
    if (auto r = p.suback_code_list(x, "reason_codes")) e.reason_codes = *r;
  }
  e.within = in.within();
  if (!c) return std::nullopt;
  e.client = *c;
  p.require_opened(in.key, e.client, in.ctx);
  return e;
}

// ---- any_of ------------------------------------------------------------------------------

constexpr KeySpec kAnyOfBranchKeys[] = {
    {"steps", ValueType::steps, true, {}, "the expectation steps of this alternative, in order"},
    {"skip", ValueType::text, false, {}, "when this alternative holds, the run ends as skipped with this reason"},
};
constexpr MappingSpec kAnyOfBranch{
    "any_of_branch", "one alternative: expect_packet, expect_no_packet, expect_disconnect, expect_connack or expect_suback steps",
    kAnyOfBranchKeys};

constexpr KeySpec kAnyOfKeys[] = {
    {"branches", ValueType::branches, true, {}, "two or more alternatives, each {steps, skip}"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait for one of them to hold"},
};

// The steps an alternative may hold: expectations, which look at what arrived without
// sending anything, so every alternative can be weighed against the same packets.
bool branch_step_kind(StepKind k) {
  return k == StepKind::expect_packet || k == StepKind::expect_no_packet || k == StepKind::expect_disconnect ||
         k == StepKind::expect_connack || k == StepKind::expect_suback;
}

bool has_own_within(const Step& step) {
  return std::visit(
      [](const auto& s) {
        if constexpr (requires { s.within; }) return s.within.has_value();
        else return false;
      },
      step.action);
}

std::optional<StepAction> parse_any_of(StepInput& in) {
  Parser& p = in.p;
  AnyOfStep a;
  a.within = in.within();
  const YAML::Node list = in.get("branches");
  if (!list) return std::nullopt;
  p.visit();
  if (!list.IsSequence() || list.size() < 2) {
    p.error(list, std::string("any_of branches must be a list of two or more alternatives, got ") +
                      (list.IsSequence() ? "one" : detail::node_kind(list)));
    return std::nullopt;
  }
  bool ok = true;
  for (const auto& item : list) {
    p.visit();
    if (!p.check_map(item, kAnyOfBranchKeys, "any_of alternative")) {
      ok = false;
      continue;
    }
    p.require_keys(item, kAnyOfBranchKeys, "any_of alternative");
    AnyOfBranch branch;
    branch.where = {item.Mark().line + 1, item.Mark().column + 1};
    if (auto x = Parser::get(item, "skip")) {
      if (auto t = p.text(x, "skip")) branch.skip = *t;
      if (branch.skip.empty()) {
        p.error(x, "any_of skip: give the reason the run is skipped when this alternative holds");
        ok = false;
      }
    }
    const YAML::Node steps = Parser::get(item, "steps");
    if (!steps) {
      ok = false;
      continue;
    }
    p.visit();
    if (!steps.IsSequence() || steps.size() == 0) {
      p.error(steps, std::string("any_of steps must be a non-empty list of steps, got ") +
                         (steps.IsSequence() ? "an empty list" : detail::node_kind(steps)));
      ok = false;
      continue;
    }
    const std::size_t errors_before = p.errors.size();
    for (const auto& st : steps) {
      p.visit();
      const std::size_t before = branch.steps.size();
      p.parse_nested_step(st, branch.steps);
      for (std::size_t i = before; i < branch.steps.size(); ++i) {
        const Step& step = branch.steps[i];
        if (!branch_step_kind(step.kind())) {
          p.error(st, "any_of: an alternative holds expect_packet, expect_no_packet, expect_disconnect, expect_connack "
                      "or expect_suback steps (they only look at what arrives), not " +
                          std::string(step_kind_name(step.kind())));
          ok = false;
        } else if (has_own_within(step)) {
          p.error(st, "any_of: the any_of's `within` is the wait of every alternative; remove this step's `within`");
          ok = false;
        }
      }
    }
    if (branch.steps.empty() && p.errors.size() == errors_before) {
      p.error(steps, "any_of: this alternative has no step in this protocol version (put `only:` on the any_of instead)");
      ok = false;
    }
    a.branches.push_back(std::move(branch));
  }
  if (!ok) return std::nullopt;
  return a;
}

// ---- sleep -------------------------------------------------------------------------------

std::optional<StepAction> parse_sleep(StepInput& in) {
  auto d = in.p.duration(in.value, "sleep");
  if (!d) return std::nullopt;
  return SleepStep{*d};
}

constexpr StepDescriptor kExpectPacket{
    "expect_packet", StepKind::expect_packet,
    "Waits for a packet of `type` whose decode JSON contains every given field; a matched packet is consumed",
    {"step_expect_packet", "", kExpectPacketKeys}, StepShorthand::none, true,
    "{client: sub, type: PUBLISH, topic: \"t/a\", qos: 1, payload: hello, properties: {subscription_identifier: [7]}, within: 2s}",
    parse_expect_packet};
constexpr StepDescriptor kExpectNoPacket{
    "expect_no_packet", StepKind::expect_no_packet,
    "For `for`, the client receives no packet of `type` it has not consumed (without `type`: none the broker sends on its own)",
    {"step_expect_no_packet", "", kExpectNoPacketKeys}, StepShorthand::none, false,
    "{client: sub, type: PUBLISH, for: 500ms}", parse_expect_no_packet};
constexpr StepDescriptor kExpectDelivery{
    "expect_delivery", StepKind::expect_delivery,
    "A QoS ledger verdict on what `subscriber` received of what `publisher` published",
    {"step_expect_delivery", "", kExpectDeliveryKeys}, StepShorthand::none, false,
    "{subscriber: sub, publisher: pub, topic: \"t/#\", guarantee: exactly_once, ordered: true, count: 100, within: 5s}",
    parse_expect_delivery};
constexpr StepDescriptor kExpectSuback{
    "expect_suback", StepKind::expect_suback, "Waits for a SUBACK not consumed yet with these reason codes",
    {"step_expect_suback", "", kExpectSubackKeys}, StepShorthand::none, false,
    "{client: raw, reason_codes: [0, 0x80], within: 2s}", parse_expect_suback};
constexpr StepDescriptor kAnyOf{
    "any_of", StepKind::any_of,
    "Passes when one of its alternatives holds (each a list of expectation steps, matched in order; the first to hold "
    "wins): for where the spec leaves the broker a choice",
    {"step_any_of", "", kAnyOfKeys}, StepShorthand::none, false,
    "{within: 2s, branches: [{steps: [{expect_packet: {client: sub, type: PUBLISH, topic: \"$app/x\"}}]}, "
    "{steps: [{expect_packet: {client: pub, type: PUBACK, reason_code: 0x90}}], skip: \"the broker refuses PUBLISH to $ topics\"}]}",
    parse_any_of};
constexpr StepDescriptor kSleep{
    "sleep", StepKind::sleep, "Waits a fixed time: only for time that is the point of the test (expiry, will delay)",
    {"step_sleep", "", {}}, StepShorthand::duration, false, "2s", parse_sleep};

}  // namespace

const StepDescriptor& expect_packet_step() { return kExpectPacket; }
const StepDescriptor& expect_no_packet_step() { return kExpectNoPacket; }
const StepDescriptor& expect_delivery_step() { return kExpectDelivery; }
const StepDescriptor& expect_suback_step() { return kExpectSuback; }
const StepDescriptor& any_of_step() { return kAnyOf; }
const StepDescriptor& sleep_step() { return kSleep; }

}  // namespace mqtth::scenario::steps

namespace mqtth::scenario {
const MappingSpec& any_of_branch_keys() { return steps::kAnyOfBranch; }
}  // namespace mqtth::scenario
