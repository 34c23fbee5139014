// The wire mutant table (docs/mutants.md "Wire-level mutants"): fault-proxy rules that make
// any broker behind the proxy break one statement, so a third-party broker can be
// mutated too. Each row states the statement it breaks; `faults` are `proxy --fault`
// SPECs (docs/faults.md), checked by mutants_tests to parse.
#include "mqtth/mutants/Mutants.hpp"


namespace mqtth::mutants {

namespace {
using engine::kBothVersions;
using engine::kV311;
using engine::kV5;

constexpr WireMutantInfo kWireTable[] = {
    {"MQTT-3.2.2-2", kV311, "session_present_cleared", "CONNACK",
     "CONNACK has Session Present 0 when a stored session is resumed",
     "rewrite:to_client:packet=CONNACK:op=clear_session_present"},
    {"MQTT-3.2.2-3", kV5, "session_present_cleared", "CONNACK",
     "CONNACK has Session Present 0 when a stored session is resumed",
     "rewrite:to_client:packet=CONNACK:op=clear_session_present"},
    {"MQTT-3.2.0-2", kV5, "connack_twice", "CONNACK", "every CONNACK is sent twice",
     "duplicate:to_client:packet=CONNACK:every"},
    {"MQTT-3.9.3-2", kBothVersions, "suback_undefined_code", "subscriptions",
     "the first code of every SUBACK is 0x03, a code the version does not define",
     "rewrite:to_client:packet=SUBACK:op=set_code:set=0x03"},
    {"MQTT-3.8.4-1", kBothVersions, "suback_dropped", "subscriptions", "SUBSCRIBE gets no SUBACK",
     "rewrite:to_client:packet=SUBACK:op=drop"},
    {"MQTT-3.10.4-4", kV311, "unsuback_dropped", "subscriptions", "UNSUBSCRIBE gets no UNSUBACK",
     "rewrite:to_client:packet=UNSUBACK:op=drop"},
    {"MQTT-3.10.4-5", kV5, "unsuback_dropped", "subscriptions", "UNSUBSCRIBE gets no UNSUBACK",
     "rewrite:to_client:packet=UNSUBACK:op=drop"},
    {"MQTT-3.3.1-8", kV311, "retain_cleared", "retained",
     "every PUBLISH to a client has RETAIN 0, a retained message sent on subscribe too",
     "rewrite:to_client:packet=PUBLISH:op=clear_retain"},
    {"MQTT-3.3.1-13", kV5, "retain_cleared", "retained",
     "every PUBLISH to a client has RETAIN 0, under Retain As Published 1 too",
     "rewrite:to_client:packet=PUBLISH:op=clear_retain"},
    {"MQTT-3.3.1-1", kBothVersions, "dup_cleared", "QoS 1/2", "every PUBLISH to a client has DUP 0, a re-sent one too",
     "rewrite:to_client:packet=PUBLISH:op=clear_dup"},
    {"MQTT-4.3.2-2", kV311, "puback_dropped", "QoS 1/2", "a QoS 1 PUBLISH gets no PUBACK",
     "rewrite:to_client:packet=PUBACK:op=drop"},
    {"MQTT-4.3.2-4", kV5, "puback_dropped", "QoS 1/2", "a QoS 1 PUBLISH gets no PUBACK",
     "rewrite:to_client:packet=PUBACK:op=drop"},
    {"MQTT-4.3.3-2", kV311, "pubcomp_dropped", "QoS 1/2", "PUBREL gets no PUBCOMP",
     "rewrite:to_client:packet=PUBCOMP:op=drop"},
    {"MQTT-4.3.3-11", kV5, "pubcomp_dropped", "QoS 1/2", "PUBREL gets no PUBCOMP",
     "rewrite:to_client:packet=PUBCOMP:op=drop"},
    {"MQTT-3.12.4-1", kBothVersions, "pingresp_dropped", "keep alive", "PINGREQ gets no PINGRESP",
     "rewrite:to_client:packet=PINGRESP:op=drop"},
    {"MQTT-3.3.2-17", kV5, "user_properties_dropped", "5.0 properties",
     "a forwarded PUBLISH loses its User Properties", "rewrite:to_client:packet=PUBLISH:op=drop_user_properties"},
    {"MQTT-4.8.0-1", kV311, "close_swallowed", "malformed packets",
     "when the broker closes the connection the client's stays open (a malformed packet seems ignored)",
     "rewrite:to_client:op=keep_open"},
    {"MQTT-4.13.1-1", kV5, "close_swallowed", "malformed packets",
     "when the broker closes the connection the client's stays open (a malformed packet seems ignored)",
     "rewrite:to_client:op=keep_open"},
    {"MQTT-3.1.2-24", kV311, "close_delayed", "keep alive",
     "every close reaches the client 4 s late: a silent client is closed after more than 1.5 x Keep Alive",
     "rewrite:to_client:op=delay_close:by=4s"},
    {"MQTT-3.1.2-22", kV5, "close_delayed", "keep alive",
     "every close reaches the client 4 s late: a silent client is closed after more than 1.5 x Keep Alive",
     "rewrite:to_client:op=delay_close:by=4s"},
    // The same rules break more statements: a row each, so every one of them is proven on its own
    // scenarios (the close rules all through keep_open).
    {"MQTT-3.3.1-2", kBothVersions, "dup_set", "QoS 1/2", "every PUBLISH to a client has DUP 1, QoS 0 ones too",
     "rewrite:to_client:packet=PUBLISH:op=set_dup"},
    {"MQTT-4.3.1-1", kBothVersions, "dup_set", "QoS 1/2", "every PUBLISH to a client has DUP 1, QoS 0 ones too",
     "rewrite:to_client:packet=PUBLISH:op=set_dup"},
    {"MQTT-3.3.1-3", kBothVersions, "dup_set", "QoS 1/2",
     "every PUBLISH to a client has DUP 1, not only the broker's own re-sends", "rewrite:to_client:packet=PUBLISH:op=set_dup"},
    {"MQTT-4.3.2-1", kV311, "dup_set", "QoS 1/2", "a first QoS 1 delivery has DUP 1",
     "rewrite:to_client:packet=PUBLISH:op=set_dup"},
    {"MQTT-4.3.2-2", kV5, "dup_set", "QoS 1/2", "a first QoS 1 delivery has DUP 1",
     "rewrite:to_client:packet=PUBLISH:op=set_dup"},
    {"MQTT-4.3.3-1", kV311, "dup_set", "QoS 1/2", "a first QoS 2 delivery has DUP 1",
     "rewrite:to_client:packet=PUBLISH:op=set_dup"},
    {"MQTT-4.3.3-2", kV5, "dup_set", "QoS 1/2", "a first QoS 2 delivery has DUP 1",
     "rewrite:to_client:packet=PUBLISH:op=set_dup"},
    {"MQTT-3.8.4-4", kV311, "suback_twice", "subscriptions", "every SUBACK is sent twice",
     "duplicate:to_client:packet=SUBACK:every"},
    {"MQTT-3.8.4-5", kV5, "suback_twice", "subscriptions", "every SUBACK is sent twice",
     "duplicate:to_client:packet=SUBACK:every"},
    {"MQTT-3.10.4-6", kBothVersions, "unsuback_twice", "subscriptions", "every UNSUBACK is sent twice",
     "duplicate:to_client:packet=UNSUBACK:every"},
    {"MQTT-4.3.3-4", kV5, "pubrel_dropped", "QoS 1/2", "a delivery's PUBREC gets no PUBREL from the broker",
     "rewrite:to_client:packet=PUBREL:op=drop"},
    {"MQTT-3.4.2-1", kV5, "ack_undefined_code", "5.0 reason codes", "every PUBACK has reason code 0x01, which PUBACK does not define",
     "rewrite:to_client:packet=PUBACK:op=set_code:set=0x01"},
    {"MQTT-3.5.2-1", kV5, "ack_undefined_code", "5.0 reason codes", "every PUBREC has reason code 0x01, which PUBREC does not define",
     "rewrite:to_client:packet=PUBREC:op=set_code:set=0x01"},
    {"MQTT-3.7.2-1", kV5, "ack_undefined_code", "5.0 reason codes",
     "every PUBCOMP has reason code 0x01, which PUBCOMP does not define", "rewrite:to_client:packet=PUBCOMP:op=set_code:set=0x01"},
    {"MQTT-3.11.3-2", kV5, "ack_undefined_code", "5.0 reason codes",
     "the first code of every UNSUBACK is 0x01, which UNSUBACK does not define",
     "rewrite:to_client:packet=UNSUBACK:op=set_code:set=0x01"},
    {"MQTT-3.8.4-7", kV5, "suback_undefined_code", "subscriptions",
     "the first code of every SUBACK is 0x03: neither a granted QoS nor a failure",
     "rewrite:to_client:packet=SUBACK:op=set_code:set=0x03"},
    {"MQTT-3.2.2-8", kV5, "ack_undefined_code", "5.0 reason codes",
     "every CONNACK has reason code 0x01, which CONNACK does not define", "rewrite:to_client:packet=CONNACK:op=set_code:set=0x01"},
    {"MQTT-3.14.2-1", kV5, "ack_undefined_code", "5.0 reason codes",
     "every DISCONNECT from the broker has reason code 0x01, which DISCONNECT does not define",
     "rewrite:to_client:packet=DISCONNECT:op=set_code:set=0x01"},
    {"MQTT-3.2.2-1", kV5, "connack_reserved_flag", "CONNACK", "every CONNACK has Connect Acknowledge Flags bit 1 set",
     "corrupt:to_client:packet=CONNACK:offset=2:xor=0x02:every"},
    {"MQTT-3.14.4-2", kV5, "close_swallowed", "malformed packets",
     "when the broker closes the connection the client's stays open (after the broker's DISCONNECT too)",
     "rewrite:to_client:op=keep_open"},
    {"MQTT-3.1.4-1", kBothVersions, "close_swallowed", "CONNECT",
     "when the broker closes the connection the client's stays open (after an invalid CONNECT too)",
     "rewrite:to_client:op=keep_open"},
    {"MQTT-3.1.4-2", kV311, "close_swallowed", "CONNECT",
     "when the broker closes the connection the client's stays open (a session taken over too)",
     "rewrite:to_client:op=keep_open"},
    {"MQTT-3.1.4-3", kV5, "close_swallowed", "CONNECT",
     "when the broker closes the connection the client's stays open (a session taken over too)",
     "rewrite:to_client:op=keep_open"},
    {"MQTT-2.2.2-2", kV311, "close_swallowed", "malformed packets",
     "when the broker closes the connection the client's stays open (bad fixed-header flags too)",
     "rewrite:to_client:op=keep_open"},
    {"MQTT-3.1.2-3", kBothVersions, "close_swallowed", "CONNECT",
     "when the broker closes the connection the client's stays open (a CONNECT reserved flag set too)",
     "rewrite:to_client:op=keep_open"},
    {"MQTT-3.2.2-6", kV311, "close_swallowed", "CONNECT",
     "when the broker closes the connection the client's stays open (a CONNECT it cannot answer too)",
     "rewrite:to_client:op=keep_open"},
};
}  // namespace

std::span<const WireMutantInfo> wire_table() { return kWireTable; }

std::string wire_table_markdown() {
  std::string out =
      "| statement | versions | area | wire mutant | what the broker seems to do instead | proxy rules |\n"
      "|---|---|---|---|---|---|\n";
  for (const auto& row : wire_table()) {
    const char* versions = row.versions == kBothVersions ? "3.1.1, 5" : row.versions == kV5 ? "5" : "3.1.1";
    out += "| " + std::string(row.statement) + " | " + versions + " | " + std::string(row.area) + " | `" +
           std::string(row.name) + "` | " + std::string(row.instead) + " | `" + std::string(row.faults) + "` |\n";
  }
  return out;
}

}  // namespace mqtth::mutants
