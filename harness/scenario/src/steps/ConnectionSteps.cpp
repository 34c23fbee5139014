// Connection steps: connect, reconnect, disconnect, expect_connack, expect_disconnect.
#include "steps/StepFamilies.hpp"

namespace mqtth::scenario::steps {

namespace {

constexpr KeySpec kConnackExpectKeys[] = {
    {"reason_code", ValueType::reason_code, false, {}, "the CONNACK's reason code (3.1.1: its return code)"},
    {"session_present", ValueType::boolean, false, {}, "the CONNACK's Session Present flag"},
    {"properties", ValueType::match_properties, false, {}, "a subset match on the CONNACK's properties (5.0)"},
};
constexpr MappingSpec kConnackExpect{"connack_expect", "what a CONNACK must say; unset keys are not checked", kConnackExpectKeys};

std::optional<ConnackExpectation> parse_connack_expect(Parser& p, const YAML::Node& n, std::string_view context) {
  if (!p.check_map(n, kConnackExpectKeys, context)) return std::nullopt;
  ConnackExpectation e;
  if (auto x = Parser::get(n, "reason_code")) e.reason_code = p.reason_code(x, "reason_code");
  if (auto x = Parser::get(n, "session_present")) e.session_present = p.boolean(x, "session_present");
  if (auto x = Parser::get(n, "properties")) e.properties = p.match_properties(x, context);
  return e;
}

// ---- connect, reconnect ------------------------------------------------------------------

constexpr KeySpec kConnectOverrideKeys[] = {
    {"clean_start", ValueType::boolean, false, "the client's", "Clean Start for this connect"},
    {"session_expiry", ValueType::integer, false, "the client's", "Session Expiry Interval for this connect (5.0)"},
    {"keep_alive", ValueType::integer, false, "the client's", "Keep Alive for this connect"},
    {"expect", ValueType::mapping, false, "a successful CONNACK", "what the CONNACK must say", &kConnackExpect},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait for the CONNACK"},
};
constexpr KeySpec kConnectOwnKeys[] = {kClientKey};
constexpr KeySpec kReconnectOwnKeys[] = {kClientKey, {"after", ValueType::duration, false, "0ms", "how long to stay disconnected"}};
constexpr auto kConnectKeys = concat(kConnectOwnKeys, kConnectOverrideKeys);
constexpr auto kReconnectKeys = concat(kReconnectOwnKeys, kConnectOverrideKeys);

std::optional<StepAction> parse_connect_like(StepInput& in) {
  const bool reconnect = in.d.kind == StepKind::reconnect;
  auto client = in.client_or_shorthand();
  if (!client) return std::nullopt;
  Parser& p = in.p;
  ConnectOverrides o;
  std::optional<ConnackExpectation> expect;
  std::optional<Duration> within;
  Duration after{0};
  if (!in.scalar_form()) {
    if (auto x = in.get("clean_start")) o.clean_start = p.boolean(x, "clean_start");
    if (auto x = in.get("session_expiry")) {
      o.session_expiry = p.uint<std::uint32_t>(x, "session_expiry", 0, 4294967295u);
      p.only_v5(x, "session_expiry");
    }
    if (auto x = in.get("keep_alive")) o.keep_alive = p.uint<std::uint16_t>(x, "keep_alive", 0, 65535);
    if (auto x = in.get("expect")) expect = parse_connack_expect(p, x, in.ctx + " expect");
    within = in.within();
    if (auto x = in.get("after")) {
      if (auto d = p.duration(x, "after")) after = *d;
    }
  }
  if (reconnect) p.require_opened(in.key, *client, in.ctx);
  p.mark_opened(*client);
  if (!reconnect) return ConnectStep{*client, o, expect, within};
  return ReconnectStep{*client, after, o, expect, within};
}

// ---- disconnect --------------------------------------------------------------------------

constexpr KeySpec kDisconnectKeys[] = {
    kClientKey,
    {"abrupt", ValueType::boolean, false, "false", "close TCP without DISCONNECT (the will fires)"},
    {"half_close", ValueType::boolean, false, "false", "a send_raw link: shut its sending side only (TCP FIN, no DISCONNECT), read what the broker still sends and wait up to 2 s for its close, as `mqtt-harness fuzz` ends a connection"},
    {"reason_code", ValueType::reason_code, false, "0x00", "the DISCONNECT's reason code (5.0)"},
    {"properties", ValueType::properties, false, {}, "the DISCONNECT's properties (5.0)"},
};

std::optional<StepAction> parse_disconnect(StepInput& in) {
  Parser& p = in.p;
  DisconnectStep d;
  auto c = in.client_or_shorthand();
  if (!c) return std::nullopt;
  d.client = *c;
  if (!in.scalar_form()) {
    if (auto x = in.get("abrupt")) {
      if (auto b = p.boolean(x, "abrupt")) d.abrupt = *b;
    }
    if (auto x = in.get("reason_code")) {
      p.only_v5(x, "disconnect reason_code");
      d.reason_code = p.reason_code(x, "reason_code");
    }
    if (auto x = in.get("properties")) d.properties = p.properties(x, in.ctx);
    if (auto x = in.get("half_close")) {
      if (auto b = p.boolean(x, "half_close")) d.half_close = *b;
    }
    if (d.abrupt && d.half_close) p.error(in.value, "disconnect: give abrupt or half_close, not both");
    if ((d.abrupt || d.half_close) && (d.reason_code || !d.properties.empty()))
      p.error(in.value, std::string("disconnect: ") + (d.abrupt ? "an abrupt" : "a half-closing") +
                            " disconnect sends no DISCONNECT, so it cannot carry reason_code or properties");
  }
  p.require_opened(in.key, d.client, in.ctx);
  return d;
}

// ---- expect_connack, expect_disconnect ---------------------------------------------------

constexpr KeySpec kExpectConnackKeys[] = {
    kClientKey,
    {"reason_code", ValueType::reason_code, false, {}, "the CONNACK's reason code (3.1.1: its return code)"},
    {"session_present", ValueType::boolean, false, {}, "the CONNACK's Session Present flag"},
    {"properties", ValueType::match_properties, false, {}, "a subset match on the CONNACK's properties (5.0)"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait"},
};

std::optional<StepAction> parse_expect_connack(StepInput& in) {
  Parser& p = in.p;
  ExpectConnackStep e;
  auto c = in.client();
  if (auto x = in.get("reason_code")) e.expect.reason_code = p.reason_code(x, "reason_code");
  if (auto x = in.get("session_present")) e.expect.session_present = p.boolean(x, "session_present");
  if (auto x = in.get("properties")) e.expect.properties = p.match_properties(x, in.ctx);
  e.within = in.within();
  if (!c) return std::nullopt;
  e.client = *c;
  p.require_opened(in.key, e.client, in.ctx);
  return e;
}

constexpr KeySpec kExpectDisconnectKeys[] = {
    kClientKey,
    {"reason_code", ValueType::reason_code, false, {}, "5.0: the reason code of the DISCONNECT that must come first"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait"},
};

std::optional<StepAction> parse_expect_disconnect(StepInput& in) {
  Parser& p = in.p;
  ExpectDisconnectStep e;
  auto c = in.client_or_shorthand();
  if (!in.scalar_form()) {
    if (auto x = in.get("reason_code")) e.reason_code = p.reason_code(x, "reason_code");
    e.within = in.within();
  }
  if (!c) return std::nullopt;
  e.client = *c;
  p.require_opened(in.key, e.client, in.ctx);
  return e;
}

}  // namespace

constexpr StepDescriptor kConnect{
    "connect", StepKind::connect,
    "Opens TCP, sends CONNECT from the client's declaration, waits for the CONNACK (a success unless `expect` says otherwise)",
    {"step_connect", "", kConnectKeys}, StepShorthand::client, false,
    "{client: sub, clean_start: false, session_expiry: 30, keep_alive: 5, expect: {session_present: false}, within: 2s}",
    parse_connect_like};
constexpr StepDescriptor kReconnect{
    "reconnect", StepKind::reconnect,
    "Drops the connection (no DISCONNECT) if open, waits `after`, connects again; the session re-sends what is in flight",
    {"step_reconnect", "", kReconnectKeys}, StepShorthand::client, false,
    "{client: sub, after: 100ms, expect: {session_present: true}}", parse_connect_like};
constexpr StepDescriptor kDisconnect{
    "disconnect", StepKind::disconnect, "Sends DISCONNECT and closes, or (`abrupt`) closes TCP without DISCONNECT, or (`half_close`, a send_raw link) shuts its sending side and waits for the broker's close",
    {"step_disconnect", "", kDisconnectKeys}, StepShorthand::client, false,
    "{client: pub, reason_code: 0x04, properties: {session_expiry_interval: 0}}", parse_disconnect};
constexpr StepDescriptor kExpectConnack{
    "expect_connack", StepKind::expect_connack, "Waits for a CONNACK not consumed yet (typically after a raw CONNECT)",
    {"step_expect_connack", "", kExpectConnackKeys}, StepShorthand::none, false,
    "{client: raw, reason_code: 0x02, session_present: false, within: 2s}", parse_expect_connack};
constexpr StepDescriptor kExpectDisconnect{
    "expect_disconnect", StepKind::expect_disconnect,
    "The broker closes the client's connection; in 5.0 with `reason_code`, a DISCONNECT with that code comes first",
    {"step_expect_disconnect", "", kExpectDisconnectKeys}, StepShorthand::client, false,
    "{client: pub, reason_code: 0x81, within: 1s}", parse_expect_disconnect};

const StepDescriptor& connect_step() { return kConnect; }
const StepDescriptor& reconnect_step() { return kReconnect; }
const StepDescriptor& disconnect_step() { return kDisconnect; }
const StepDescriptor& expect_connack_step() { return kExpectConnack; }
const StepDescriptor& expect_disconnect_step() { return kExpectDisconnect; }

}  // namespace mqtth::scenario::steps

namespace mqtth::scenario {
const MappingSpec& connack_expect_keys() { return steps::kConnackExpect; }
}  // namespace mqtth::scenario
