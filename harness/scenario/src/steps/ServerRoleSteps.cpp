// Steps of `role: server` scenarios (docs/clients.md): the harness listens and plays the
// broker for a client under test. accept_connection waits for the client's link; client_command
// and expect_client_received speak the adapter protocol to the client application. The
// packets both ways reuse send_packet/send_raw, expect_packet, expect_no_packet,
// expect_disconnect, disconnect and sleep (server_role_step()).
#include "steps/StepFamilies.hpp"

namespace mqtth::scenario::steps {

namespace {

// ---- accept_connection -------------------------------------------------------------------

constexpr KeySpec kAcceptKeys[] = {
    kClientKey,
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait for the client under test to connect"},
};

std::optional<StepAction> parse_accept(StepInput& in) {
  AcceptConnectionStep a;
  auto c = in.client_or_shorthand();
  if (!in.scalar_form()) a.within = in.within();
  if (!c) return std::nullopt;
  a.client = *c;
  in.p.mark_opened(a.client);
  return a;
}

// ---- client_command ----------------------------------------------------------------------

constexpr KeySpec kClientCommandKeys[] = {
    {"command", ValueType::text, true, {},
     "one line of the adapter protocol: connect [protocol=V] [client_id=ID] [clean=0|1] [keepalive=S], "
     "publish TOPIC QOS PAYLOAD, subscribe FILTER QOS, disconnect"},
};
constexpr std::string_view kCommandVerbs[] = {"connect", "publish", "subscribe", "disconnect"};

std::optional<StepAction> parse_client_command(StepInput& in) {
  Parser& p = in.p;
  auto x = in.get("command");
  if (!x) return std::nullopt;
  auto line = p.text(x, "command");
  if (!line) return std::nullopt;
  const std::string verb = line->substr(0, line->find(' '));
  if (std::find(std::begin(kCommandVerbs), std::end(kCommandVerbs), verb) == std::end(kCommandVerbs)) {
    p.error(x, "client_command: the command must start with connect, publish, subscribe or disconnect, got '" + verb + "'");
    return std::nullopt;
  }
  if (line->find('\n') != std::string::npos) {
    p.error(x, "client_command: the command is one line");
    return std::nullopt;
  }
  return ClientCommandStep{*line};
}

// ---- expect_client_received --------------------------------------------------------------

constexpr KeySpec kExpectReceivedKeys[] = {
    {"topic", ValueType::text, true, {}, "the topic the client application received the message on"},
    {"qos", ValueType::qos, false, "any", "the QoS it received it at"},
    {"payload", ValueType::text, false, "any", "the payload, as text"},
    {"count", ValueType::integer, false, "1", "how many such messages, not counted by an earlier expect_client_received"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait"},
};

std::optional<StepAction> parse_expect_received(StepInput& in) {
  Parser& p = in.p;
  ExpectClientReceivedStep e;
  bool ok = true;
  if (auto x = in.get("topic")) {
    if (auto t = p.text(x, "topic")) e.topic = *t;
    else ok = false;
  } else {
    ok = false;
  }
  if (auto x = in.get("qos")) e.qos = p.qos(x, "qos");
  if (auto x = in.get("payload")) e.payload = p.text(x, "payload");
  if (auto x = in.get("count")) {
    if (auto n = p.uint<std::uint32_t>(x, "count", 1, 100000)) e.count = *n;
  }
  e.within = in.within();
  if (!ok) return std::nullopt;
  return e;
}

// ---- send_ack ----------------------------------------------------------------------------

constexpr KeySpec kSendAckKeys[] = {
    kClientKey,
    {"type", ValueType::packet_type, true, {}, "PUBACK or PUBREC (the last PUBLISH taken), PUBCOMP (the last PUBREL), SUBACK (the last SUBSCRIBE)"},
    {"reason_code", ValueType::reason_code, false, "0 (SUBACK: the QoS asked for)", "the reason code (3.1.1 SUBACK: the return code)"},
};

std::optional<StepAction> parse_send_ack(StepInput& in) {
  Parser& p = in.p;
  SendAckStep a;
  auto c = in.client();
  bool ok = true;
  if (auto x = in.get("type")) {
    auto t = p.packet_type(x, "type");
    if (t && *t != PacketType::puback && *t != PacketType::pubrec && *t != PacketType::pubcomp && *t != PacketType::suback) {
      p.error(x, "send_ack: type must be PUBACK, PUBREC, PUBCOMP or SUBACK");
      ok = false;
    }
    if (t) a.type = *t;
    else ok = false;
  } else {
    ok = false;
  }
  if (auto x = in.get("reason_code")) a.reason_code = p.reason_code(x, "reason_code");
  if (!c || !ok) return std::nullopt;
  a.client = *c;
  p.require_opened(in.key, a.client, in.ctx);
  return a;
}

// ---- expect_client_event -----------------------------------------------------------------

constexpr KeySpec kExpectEventKeys[] = {
    {"event", ValueType::text, true, {}, "the first word of an adapter output line: connected, refused, closed, error"},
    {"within", ValueType::duration, false, kWithinDefault, "how long to wait"},
};

std::optional<StepAction> parse_expect_event(StepInput& in) {
  Parser& p = in.p;
  ExpectClientEventStep e;
  auto x = in.get("event");
  if (!x) return std::nullopt;
  auto t = p.text(x, "event");
  if (!t) return std::nullopt;
  if (t->empty() || t->find(' ') != std::string::npos) {
    p.error(x, "expect_client_event: the event is one word, e.g. connected");
    return std::nullopt;
  }
  e.event = *t;
  e.within = in.within();
  return e;
}

constexpr StepDescriptor kAccept{
    "accept_connection", StepKind::accept_connection,
    "role: server: waits for the client under test to open a connection to the harness (its first, or its next)",
    {"step_accept_connection", "", kAcceptKeys}, StepShorthand::client, false, "{client: raw, within: 5s}", parse_accept};
constexpr StepDescriptor kClientCommand{
    "client_command", StepKind::client_command,
    "role: server: writes one line of the adapter protocol to the client under test (docs/clients.md)",
    {"step_client_command", "", kClientCommandKeys}, StepShorthand::none, false, "{command: \"publish t/a 1 hello\"}",
    parse_client_command};
constexpr StepDescriptor kExpectReceived{
    "expect_client_received", StepKind::expect_client_received,
    "role: server: waits until the client application has received messages, as its adapter reports them",
    {"step_expect_client_received", "", kExpectReceivedKeys}, StepShorthand::none, false,
    "{topic: t/a, qos: 1, payload: hello, count: 1, within: 2s}", parse_expect_received};

constexpr StepDescriptor kSendAck{
    "send_ack", StepKind::send_ack,
    "role: server: acknowledges the client's last PUBLISH, PUBREL or SUBSCRIBE with its packet id",
    {"step_send_ack", "", kSendAckKeys}, StepShorthand::none, false, "{client: raw, type: PUBACK}", parse_send_ack};

constexpr StepDescriptor kExpectEvent{
    "expect_client_event", StepKind::expect_client_event,
    "role: server: waits until the client under test's adapter reports an event (connected, refused, closed ...)",
    {"step_expect_client_event", "", kExpectEventKeys}, StepShorthand::none, false, "{event: connected, within: 2s}",
    parse_expect_event};

}  // namespace

const StepDescriptor& expect_client_event_step() { return kExpectEvent; }
const StepDescriptor& send_ack_step() { return kSendAck; }
const StepDescriptor& accept_connection_step() { return kAccept; }
const StepDescriptor& client_command_step() { return kClientCommand; }
const StepDescriptor& expect_client_received_step() { return kExpectReceived; }

bool server_role_step(StepKind kind) {
  switch (kind) {
    case StepKind::accept_connection:
    case StepKind::client_command:
    case StepKind::expect_client_received:
    case StepKind::send_ack:
    case StepKind::expect_client_event:
    case StepKind::send_raw:  // send_raw and send_packet
    case StepKind::expect_packet:
    case StepKind::expect_no_packet:
    case StepKind::expect_disconnect:
    case StepKind::disconnect:
    case StepKind::sleep:
      return true;
    default:
      return false;
  }
}

}  // namespace mqtth::scenario::steps
