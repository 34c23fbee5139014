// Message steps through the client session: subscribe, unsubscribe, publish.
#include "steps/StepFamilies.hpp"

namespace mqtth::scenario::steps {

namespace {

constexpr KeySpec kSubscriptionKeys[] = {
    {"filter", ValueType::text, true, {}, "the topic filter"},
    {"qos", ValueType::qos, false, "the step's `qos`", "the maximum QoS requested"},
    {"no_local", ValueType::boolean, false, "the step's", "No Local (5.0)"},
    {"retain_as_published", ValueType::boolean, false, "the step's", "Retain As Published (5.0)"},
    {"retain_handling", ValueType::integer, false, "the step's", "Retain Handling 0, 1 or 2 (5.0)"},
};
constexpr MappingSpec kSubscription{"subscription", "one topic filter with its own subscription options", kSubscriptionKeys};

constexpr KeySpec kReasonCodesExpectKeys[] = {
    {"reason_codes", ValueType::reason_codes, true, {}, "one reason code per filter"},
};
constexpr MappingSpec kReasonCodesExpect{"reason_codes_expect", "the acknowledgement's reason codes, one per filter", kReasonCodesExpectKeys};
constexpr KeySpec kSubackCodesExpectKeys[] = {
    {"reason_codes", ValueType::suback_codes, true, {}, "one reason code per filter, or {at_most_qos: N}"},
};
constexpr MappingSpec kSubackCodesExpect{
    "suback_codes_expect",
    "the SUBACK's reason codes, one per filter: a code, or {at_most_qos: N} for any granted QoS up to N", kSubackCodesExpectKeys};
constexpr std::string_view kFilterChoice[] = {"filter", "filters"};

// `expect: {reason_codes: [...]}` of subscribe (SubackCode) and unsubscribe (codes): one
// code per filter.
template <class Code>
std::optional<std::vector<Code>> parse_reason_codes_expect(StepInput& in, std::span<const KeySpec> keys, std::string_view ack,
                                                           std::size_t filters) {
  Parser& p = in.p;
  const YAML::Node x = in.get("expect");
  const std::string context = in.ctx + " expect";
  if (!p.check_map(x, keys, context)) return std::nullopt;
  if (in.d.kind == StepKind::unsubscribe) p.only_v5(x, "UNSUBACK reason codes");
  p.require(x, "reason_codes", context, "one " + std::string(ack) + " reason code per filter");
  const YAML::Node r = Parser::get(x, "reason_codes");
  if (!r) return std::nullopt;
  std::optional<std::vector<Code>> codes;
  if constexpr (std::is_same_v<Code, SubackCode>) codes = p.suback_code_list(r, "reason_codes");
  else codes = p.reason_code_list(r, "reason_codes");
  if (codes && codes->size() != filters && filters > 0)
    p.error(r, context + " reason_codes: " + std::to_string(codes->size()) + " codes for " + std::to_string(filters) +
                   " filters (the " + std::string(ack) + " has one per filter)");
  return codes;
}

// ---- subscribe ---------------------------------------------------------------------------

constexpr KeySpec kSubscribeKeys[] = {
    kClientKey,
    {"filter", ValueType::text, false, {}, "one topic filter"},
    {"filters", ValueType::filters, false, {}, "several: each a filter or {filter, qos, no_local, ...}"},
    {"qos", ValueType::qos, false, "0", "the maximum QoS requested"},
    {"no_local", ValueType::boolean, false, "false", "No Local (5.0)"},
    {"retain_as_published", ValueType::boolean, false, "false", "Retain As Published (5.0)"},
    {"retain_handling", ValueType::integer, false, "0", "Retain Handling 0, 1 or 2 (5.0)"},
    {"subscription_identifier", ValueType::integer, false, {}, "Subscription Identifier 1..268435455 (5.0)"},
    {"properties", ValueType::properties, false, {}, "other SUBSCRIBE properties (5.0)"},
    {"packet_id", ValueType::integer, false, "the session's choice", "the Packet Identifier"},
    {"expect", ValueType::mapping, false, "each code the requested QoS (a lower grant skips the run)",
     "the SUBACK's reason codes", &kSubackCodesExpect},
    {"wait", ValueType::boolean, false, "true", "false: do not wait for the SUBACK"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait for the SUBACK"},
};

std::optional<StepAction> parse_subscribe(StepInput& in) {
  Parser& p = in.p;
  SubscribeStep s;
  auto c = in.client();
  if (!c) return std::nullopt;
  s.client = *c;
  SubscriptionSpec defaults;
  if (auto x = in.get("qos")) {
    if (auto q = p.qos(x, "qos")) defaults.qos = *q;
  }
  // The 5.0 options are errors in a 3.1.1 run only when they ask for something.
  auto v5_flag = [&](const YAML::Node& x, std::string_view name, bool& field) {
    if (!x) return;
    if (auto b = p.boolean(x, name)) {
      field = *b;
      if (*b) p.only_v5(x, name);
    }
  };
  auto retain_handling = [&](const YAML::Node& x, std::uint8_t& field) {
    if (!x) return;
    if (auto r = p.uint<std::uint8_t>(x, "retain_handling", 0, 2, "0, 1 or 2")) {
      field = *r;
      if (*r) p.only_v5(x, "retain_handling");
    }
  };
  v5_flag(in.get("no_local"), "no_local", defaults.no_local);
  v5_flag(in.get("retain_as_published"), "retain_as_published", defaults.retain_as_published);
  retain_handling(in.get("retain_handling"), defaults.retain_handling);
  if (in.has("filter") == in.has("filters")) {
    p.error(in.value, "subscribe: give exactly one of 'filter' (one topic filter) or 'filters' (a list)");
  } else if (auto x = in.get("filter")) {
    SubscriptionSpec sub = defaults;
    if (auto t = p.text(x, "filter")) {
      sub.filter = *t;
      s.subscriptions.push_back(sub);
    }
  } else {
    YAML::Node list = in.get("filters");
    p.visit();
    if (!list.IsSequence() || list.size() == 0) {
      p.error(list, std::string("subscribe filters must be a non-empty list of topic filters, got ") + detail::node_kind(list));
    } else {
      for (const auto& item : list) {
        p.visit();
        SubscriptionSpec sub = defaults;
        if (item.IsMap()) {
          if (!p.check_map(item, kSubscriptionKeys, "subscribe filters entry")) continue;
          p.require_keys(item, kSubscriptionKeys, "subscribe filters entry");
          if (auto f = Parser::get(item, "filter")) {
            if (auto t = p.text(f, "filter")) sub.filter = *t;
          }
          if (auto q = Parser::get(item, "qos")) {
            if (auto v = p.qos(q, "qos")) sub.qos = *v;
          }
          v5_flag(Parser::get(item, "no_local"), "no_local", sub.no_local);
          v5_flag(Parser::get(item, "retain_as_published"), "retain_as_published", sub.retain_as_published);
          retain_handling(Parser::get(item, "retain_handling"), sub.retain_handling);
        } else if (auto t = p.text(item, "filters entry")) {
          sub.filter = *t;
        } else {
          continue;
        }
        s.subscriptions.push_back(sub);
      }
    }
  }
  if (auto x = in.get("subscription_identifier")) {
    p.only_v5(x, "subscription_identifier");
    s.subscription_identifier = p.uint<std::uint32_t>(x, "subscription_identifier", 1, mqtt::kMaxRemainingLength);
  }
  if (auto x = in.get("properties")) s.properties = p.properties(x, in.ctx);
  if (auto x = in.get("packet_id")) s.packet_id = p.uint<std::uint16_t>(x, "packet_id", 0, 65535);
  if (in.has("expect"))
    s.expect_reason_codes = parse_reason_codes_expect<SubackCode>(in, kSubackCodesExpectKeys, "SUBACK", s.subscriptions.size());
  if (auto x = in.get("wait")) {
    if (auto b = p.boolean(x, "wait")) s.wait = *b;
  }
  s.within = in.within();
  p.require_opened(in.key, s.client, in.ctx);
  return s;
}

// ---- unsubscribe -------------------------------------------------------------------------

constexpr KeySpec kUnsubscribeKeys[] = {
    kClientKey,
    {"filter", ValueType::text, false, {}, "one topic filter"},
    {"filters", ValueType::text_list, false, {}, "several topic filters"},
    {"properties", ValueType::properties, false, {}, "UNSUBSCRIBE properties (5.0)"},
    {"packet_id", ValueType::integer, false, "the session's choice", "the Packet Identifier"},
    {"expect", ValueType::mapping, false, {}, "the UNSUBACK's reason codes (5.0)", &kReasonCodesExpect},
    {"wait", ValueType::boolean, false, "true", "false: do not wait for the UNSUBACK"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait for the UNSUBACK"},
};

std::optional<StepAction> parse_unsubscribe(StepInput& in) {
  Parser& p = in.p;
  UnsubscribeStep u;
  auto c = in.client();
  if (!c) return std::nullopt;
  u.client = *c;
  if (in.has("filter") == in.has("filters")) {
    p.error(in.value, "unsubscribe: give exactly one of 'filter' (one topic filter) or 'filters' (a list)");
  } else if (auto x = in.get("filter")) {
    if (auto t = p.text(x, "filter")) u.filters.push_back(*t);
  } else {
    YAML::Node list = in.get("filters");
    p.visit();
    if (!list.IsSequence() || list.size() == 0) {
      p.error(list, std::string("unsubscribe filters must be a non-empty list of topic filters, got ") + detail::node_kind(list));
    } else {
      for (const auto& item : list)
        if (auto t = p.text(item, "filters entry")) u.filters.push_back(*t);
    }
  }
  if (auto x = in.get("properties")) u.properties = p.properties(x, in.ctx);
  if (auto x = in.get("packet_id")) u.packet_id = p.uint<std::uint16_t>(x, "packet_id", 0, 65535);
  if (in.has("expect"))
    u.expect_reason_codes = parse_reason_codes_expect<std::uint8_t>(in, kReasonCodesExpectKeys, "UNSUBACK", u.filters.size());
  if (auto x = in.get("wait")) {
    if (auto b = p.boolean(x, "wait")) u.wait = *b;
  }
  u.within = in.within();
  p.require_opened(in.key, u.client, in.ctx);
  return u;
}

// ---- publish -----------------------------------------------------------------------------

constexpr KeySpec kPublishKeys[] = {
    kClientKey,
    {"topic", ValueType::text, true, {}, "the topic name; \"\" with a topic_alias property"},
    {"qos", ValueType::qos, false, "0", "QoS"},
    {"retain", ValueType::boolean, false, "false", "RETAIN"},
    {"payload", ValueType::text, false, "empty", "the message as text; may contain {seq}"},
    {"payload_hex", ValueType::hex, false, {}, "the message as hex"},
    {"payload_size", ValueType::integer, false, {}, "the message as this many bytes of 'x' (0..1048576)"},
    {"count", ValueType::integer, false, "1", "how many messages (1..100000); {seq} is each one's number"},
    {"properties", ValueType::properties, false, {}, "PUBLISH properties (5.0)"},
    {"dup", ValueType::boolean, false, "false", "DUP (QoS > 0 only)"},
    {"packet_id", ValueType::integer, false, "the session's choice", "the Packet Identifier of every message (QoS > 0 only)"},
    {"wait", ValueType::boolean, false, "true", "QoS > 0: wait for PUBACK / PUBCOMP before the next step"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait for the handshakes"},
};

std::optional<StepAction> parse_publish(StepInput& in) {
  Parser& p = in.p;
  PublishStep m;
  auto c = in.client();
  if (!c) return std::nullopt;
  m.client = *c;
  if (auto x = in.get("topic")) {
    if (auto t = p.text(x, "topic", true)) m.topic = *t;
  }
  if (auto x = in.get("qos")) {
    if (auto q = p.qos(x, "qos")) m.qos = *q;
  }
  if (auto x = in.get("retain")) {
    if (auto b = p.boolean(x, "retain")) m.retain = *b;
  }
  int payload_sources = in.has("payload") + in.has("payload_hex") + in.has("payload_size");
  if (payload_sources > 1) p.error(in.value, "publish: give at most one of 'payload', 'payload_hex' and 'payload_size'");
  if (auto x = in.get("payload")) {
    if (auto t = p.text(x, "payload", true)) m.payload = *t;
  }
  if (auto x = in.get("payload_hex")) {
    if (auto t = p.hex(x, "payload_hex")) {
      m.payload = *t;
      m.payload_is_template = false;
    }
  }
  if (auto x = in.get("payload_size")) {
    if (auto sz = p.uint<std::uint32_t>(x, "payload_size", 0, 1u << 20, "a byte count 0..1048576")) {
      m.payload.assign(*sz, 'x');
      m.payload_is_template = false;
    }
  }
  if (auto x = in.get("count")) {
    if (auto k = p.uint<std::uint32_t>(x, "count", 1, 100000)) m.count = *k;
  }
  if (auto x = in.get("properties")) m.properties = p.properties(x, in.ctx);
  if (auto x = in.get("dup")) {
    if (auto b = p.boolean(x, "dup")) {
      m.dup = *b;
      if (*b && m.qos == 0) p.error(x, "publish: dup must be false for a QoS 0 message [MQTT-3.3.1-2] (use send_packet to send a broken packet)");
    }
  }
  if (auto x = in.get("packet_id")) {
    m.packet_id = p.uint<std::uint16_t>(x, "packet_id", 0, 65535);
    if (m.qos == 0) p.error(x, "publish: a QoS 0 PUBLISH has no packet_id (use send_raw to send a broken packet)");
  }
  if (auto x = in.get("wait")) {
    if (auto b = p.boolean(x, "wait")) m.wait = *b;
  }
  m.within = in.within();
  p.require_opened(in.key, m.client, in.ctx);
  return m;
}

constexpr StepDescriptor kSubscribe{
    "subscribe", StepKind::subscribe,
    "Sends SUBSCRIBE and waits for the SUBACK: each code the requested QoS (a lower one, which the broker may grant, "
    "ends the run as skipped) unless `expect` says otherwise",
    {"step_subscribe", "", kSubscribeKeys, kFilterChoice}, StepShorthand::none, false,
    "{client: sub, filters: [\"a/+\", {filter: b, qos: 2, no_local: true}], qos: 1, subscription_identifier: 7, expect: {reason_codes: [1, {at_most_qos: 2}]}, within: 2s}",
    parse_subscribe};
constexpr StepDescriptor kUnsubscribe{
    "unsubscribe", StepKind::unsubscribe, "Sends UNSUBSCRIBE and waits for the UNSUBACK",
    {"step_unsubscribe", "", kUnsubscribeKeys, kFilterChoice}, StepShorthand::none, false,
    "{client: sub, filters: [a, b], packet_id: 9, expect: {reason_codes: [0, 0x11]}}", parse_unsubscribe};
constexpr StepDescriptor kPublish{
    "publish", StepKind::publish,
    "Publishes `count` messages through the client session; each is recorded in the QoS ledger for expect_delivery",
    {"step_publish", "", kPublishKeys}, StepShorthand::none, false,
    "{client: pub, topic: \"t/a\", qos: 2, payload: \"msg-{seq}\", count: 100, properties: {message_expiry_interval: 30}}",
    parse_publish};

}  // namespace

const StepDescriptor& subscribe_step() { return kSubscribe; }
const StepDescriptor& unsubscribe_step() { return kUnsubscribe; }
const StepDescriptor& publish_step() { return kPublish; }

}  // namespace mqtth::scenario::steps

namespace mqtth::scenario {
const MappingSpec& subscription_keys() { return steps::kSubscription; }
const MappingSpec& reason_codes_expect_keys() { return steps::kReasonCodesExpect; }
const MappingSpec& suback_codes_expect_keys() { return steps::kSubackCodesExpect; }
}  // namespace mqtth::scenario
