#!/usr/bin/python3
"""Writes scenarios/schema.json, the JSON Schema (draft 2020-12) of scenario files.

The schema is for editors (yaml-language-server) and CI; the loader is the authority and
its errors are more precise. scenario_loader_tests checks that every mapping here has
exactly the keys the loader accepts (mqtth::scenario::accepted_keys()).

Usage: /usr/bin/python3 harness/scenario/tools/gen_schema.py > scenarios/schema.json
"""
import json
import sys

def ref(name):
    return {"$ref": f"#/$defs/{name}"}

def obj(props, required=(), description=None):
    o = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        o["required"] = list(required)
    if description:
        o["description"] = description
    return o

TEMPLATE = {"type": "string", "pattern": r"\{[A-Za-z_][A-Za-z0-9_]*\}",
            "description": "a {variable} template, substituted before the value is checked"}
text = ref("text")
integer = ref("integer")
boolean = ref("boolean")
duration = ref("duration")
qos = ref("qos")
reason_code = ref("reason_code")
client = ref("client_name")
packet_type = ref("packet_type")
generic = {"description": "any value, matched as a subset of the decode JSON"}

defs = {
    "text": {"type": ["string", "number"]},
    "integer": {"anyOf": [{"type": "integer", "minimum": 0},
                          {"type": "string", "pattern": r"^(0[xX][0-9a-fA-F]+|[0-9]+)$"}, TEMPLATE]},
    "boolean": {"anyOf": [{"type": "boolean"}, TEMPLATE]},
    "duration": {"anyOf": [{"type": "string", "pattern": r"^[0-9]{1,9}(\.[0-9]{1,6})?(ms|s|m|min|h)$"}, TEMPLATE],
                 "description": "a duration: 100ms, 10s, 1.5s, 2m, 1h"},
    "qos": {"anyOf": [{"enum": [0, 1, 2]}, TEMPLATE]},
    "reason_code": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 255},
                              {"type": "string", "pattern": r"^0[xX][0-9a-fA-F]{1,2}$"}, TEMPLATE]},
    "reason_codes": {"type": "array", "items": reason_code},
    "version": {"enum": ["3.1", "3.1.1", "5", "5.0", 3.1, 5, 5.0]},
    "hex": {"type": "string", "description": "hex bytes, e.g. \"30 02 00 01\""},
    "client_name": {"type": "string", "description": "a client declared under `clients:`"},
    "packet_type": {"type": "string", "pattern":
                    "^(?i:CONNECT|CONNACK|PUBLISH|PUBACK|PUBREC|PUBREL|PUBCOMP|SUBSCRIBE|SUBACK|UNSUBSCRIBE|UNSUBACK|PINGREQ|PINGRESP|DISCONNECT|AUTH)$"},
    "spec_id": {"type": "string", "pattern": r"^MQTT-[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}-[0-9]{1,3}$"},
    "feature": {"enum": ["qos1", "qos2", "retain", "wildcard_subscriptions", "shared_subscriptions",
                         "subscription_identifiers", "topic_aliases", "wills", "persistent_sessions",
                         "message_expiry", "request_response", "enhanced_auth", "mqtt31"]},
}

BYTE, TWO, FOUR, VARINT, UTF8, BINARY, PAIR = "byte", "two", "four", "varint", "utf8", "binary", "pair"
PROPERTIES = [
    ("payload_format_indicator", BYTE), ("message_expiry_interval", FOUR), ("content_type", UTF8),
    ("response_topic", UTF8), ("correlation_data", BINARY), ("subscription_identifier", VARINT),
    ("session_expiry_interval", FOUR), ("assigned_client_identifier", UTF8), ("server_keep_alive", TWO),
    ("authentication_method", UTF8), ("authentication_data", BINARY), ("request_problem_information", BYTE),
    ("will_delay_interval", FOUR), ("request_response_information", BYTE), ("response_information", UTF8),
    ("server_reference", UTF8), ("reason_string", UTF8), ("receive_maximum", TWO),
    ("topic_alias_maximum", TWO), ("topic_alias", TWO), ("maximum_qos", BYTE), ("retain_available", BYTE),
    ("user_property", PAIR), ("maximum_packet_size", FOUR), ("wildcard_subscription_available", BYTE),
    ("subscription_identifier_available", BYTE), ("shared_subscription_available", BYTE),
]
def prop_schema(kind):
    if kind in (UTF8,):
        return text
    if kind == BINARY:
        return ref("hex")
    if kind == PAIR:
        return {"type": "array", "items": {"type": "array", "items": text, "minItems": 2, "maxItems": 2}}
    if kind == VARINT:
        return {"anyOf": [integer, {"type": "array", "items": integer}]}
    return integer
defs["properties"] = obj({name: prop_schema(kind) for name, kind in PROPERTIES},
                         description="MQTT 5 properties by their decode-JSON names")
defs["match_properties"] = obj({name: {"anyOf": [prop_schema(kind), {"type": "null"}]} for name, kind in PROPERTIES},
                               description="MQTT 5 properties to expect; ~ (null) means the property must be absent")

defs["will"] = obj({"topic": text, "payload": text, "payload_hex": ref("hex"), "qos": qos, "retain": boolean,
                    "properties": ref("properties"), "delay": integer}, required=["topic"])
defs["client"] = obj({"client_id": text, "clean_start": boolean, "session_expiry": integer,
                      "keep_alive": integer, "username": text, "password": text, "will": ref("will"),
                      "properties": ref("properties"), "receive_maximum": integer,
                      "topic_alias_maximum": integer, "maximum_packet_size": integer,
                      "protocol": ref("version")})
defs["connack_expect"] = obj({"reason_code": reason_code, "session_present": boolean,
                              "properties": ref("match_properties")})
defs["subscription"] = obj({"filter": text, "qos": qos, "no_local": boolean, "retain_as_published": boolean,
                            "retain_handling": integer}, required=["filter"])
defs["reason_codes_expect"] = obj({"reason_codes": ref("reason_codes")}, required=["reason_codes"])
defs["repeat"] = obj({"times": integer, "as": {"type": "string"}, "from": integer,
                      "steps": {"type": "array", "items": ref("step"), "minItems": 1}},
                     required=["times", "steps"])

connect_common = {"client": client, "clean_start": boolean, "session_expiry": integer, "keep_alive": integer,
                  "expect": ref("connack_expect"), "within": duration}
steps = {}
steps["connect"] = obj(dict(connect_common), required=["client"])
steps["reconnect"] = obj({**connect_common, "after": duration}, required=["client"])
steps["disconnect"] = obj({"client": client, "abrupt": boolean, "reason_code": reason_code,
                           "properties": ref("properties")}, required=["client"])
filters = {"type": "array", "minItems": 1, "items": {"anyOf": [text, ref("subscription")]}}
steps["subscribe"] = obj({"client": client, "filter": text, "filters": filters, "qos": qos, "no_local": boolean,
                          "retain_as_published": boolean, "retain_handling": integer,
                          "subscription_identifier": integer, "properties": ref("properties"),
                          "packet_id": integer, "expect": ref("reason_codes_expect"), "wait": boolean,
                          "within": duration}, required=["client"])
steps["unsubscribe"] = obj({"client": client, "filter": text, "filters": {"type": "array", "items": text, "minItems": 1},
                            "properties": ref("properties"), "packet_id": integer,
                            "expect": ref("reason_codes_expect"), "wait": boolean, "within": duration},
                           required=["client"])
steps["publish"] = obj({"client": client, "topic": text, "qos": qos, "retain": boolean, "payload": text,
                        "payload_hex": ref("hex"), "payload_size": integer, "count": integer,
                        "properties": ref("properties"), "dup": boolean, "packet_id": integer, "wait": boolean,
                        "within": duration}, required=["client", "topic"])
steps["send_raw"] = obj({"client": client, "hex": ref("hex")}, required=["client", "hex"])
match_keys = ["dup", "qos", "retain", "topic", "packet_id", "payload_hex", "payload", "properties",
              "protocol_name", "protocol_version", "clean_start", "keep_alive", "client_id", "will", "username",
              "password_hex", "session_present", "reason_code", "subscriptions", "reason_codes", "filters"]
ep = {"client": client, "type": packet_type, "within": duration}
for k in match_keys:
    ep[k] = generic
steps["expect_packet"] = obj(ep, required=["client", "type"])
steps["expect_no_packet"] = obj({"client": client, "type": packet_type, "for": duration}, required=["client", "for"])
steps["expect_delivery"] = obj({"subscriber": client, "publisher": client, "topic": text,
                                "guarantee": {"enum": ["at_most_once", "at_least_once", "exactly_once"]},
                                "ordered": boolean, "count": integer, "within": duration},
                               required=["subscriber", "publisher", "guarantee"])
steps["expect_disconnect"] = obj({"client": client, "reason_code": reason_code, "within": duration}, required=["client"])
steps["expect_connack"] = obj({"client": client, "reason_code": reason_code, "session_present": boolean,
                               "properties": ref("match_properties"), "within": duration}, required=["client"])
steps["expect_suback"] = obj({"client": client, "reason_codes": ref("reason_codes"), "within": duration},
                             required=["client", "reason_codes"])
direction = {"enum": ["to_broker", "to_client", "both"]}
faults = {
    "cut": {"direction": direction, "after": packet_type, "nth": integer, "at": duration},
    "delay": {"direction": direction, "by": duration, "jitter": duration, "for": duration},
    "throttle": {"direction": direction, "bytes_per_second": integer, "for": duration},
    "segment": {"direction": direction, "size": integer},
    "corrupt": {"direction": direction, "packet": packet_type, "nth": integer, "offset": integer, "xor": integer},
    "blackhole": {"direction": direction, "after": packet_type, "nth": integer, "at": duration, "for": duration},
    "duplicate": {"direction": direction, "packet": packet_type, "nth": integer},
    "reorder": {"direction": direction, "window": integer, "for": duration},
}
for kind, props in faults.items():
    defs[f"fault_{kind}"] = obj(props)
steps["fault"] = obj({"client": client, **{k: ref(f"fault_{k}") for k in faults}}, required=["client"])
steps["misbehave"] = obj({"client": client,
                          "withhold": {"anyOf": [packet_type, {"type": "array", "items": packet_type}]},
                          "skip_pubrel": boolean, "count": integer, "reuse_packet_id": boolean, "auto_ack": boolean,
                          "fixed_packet_id": integer, "suppress_pingreq": boolean, "ignore_receive_maximum": boolean},
                         required=["client"])
for kind, schema in steps.items():
    defs[f"step_{kind}"] = schema

shorthand = {"connect": client, "reconnect": client, "disconnect": client, "expect_disconnect": client}
only = {"anyOf": [ref("version"), {"type": "array", "items": ref("version")}],
        "description": "run this step only in these protocol versions"}
alternatives = []
for kind in list(steps) + ["sleep", "repeat"]:
    if kind == "sleep":
        value = duration
    elif kind == "repeat":
        value = ref("repeat")
    elif kind in shorthand:
        value = {"anyOf": [shorthand[kind], ref(f"step_{kind}")]}
    else:
        value = ref(f"step_{kind}")
    alternatives.append({"type": "object", "properties": {kind: value, "only": only},
                         "required": [kind], "additionalProperties": False})
defs["step"] = {"oneOf": alternatives}

defs["explore"] = obj({
    "mode": {"enum": ["cut_points"]},
    "clients": {"type": "array", "items": client},
    "max_runs": integer,
}, required=["mode"], description="fault-point exploration (docs/faults.md): cut each explored client's link after every packet")

spec_list = {"type": "array", "items": ref("spec_id"), "uniqueItems": True}
defs["scenario"] = obj({
    "name": text,
    "description": text,
    "spec": {"anyOf": [spec_list, {"type": "object", "propertyNames": {"enum": ["3.1", "3.1.1", "5", "5.0"]},
                                   "additionalProperties": spec_list}]},
    "protocol": ref("version"),
    "protocols": {"type": "array", "items": ref("version"), "minItems": 1, "uniqueItems": True},
    "timeout": duration,
    "requires": {"type": "array", "items": ref("feature")},
    "vars": {"type": "object", "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
             "additionalProperties": {"type": ["string", "number", "boolean"]}},
    "clients": {"type": "object", "additionalProperties": {"anyOf": [{"type": "null"}, ref("client")]}},
    "steps": {"type": "array", "items": ref("step"), "minItems": 1},
    "explore": {"anyOf": [{"enum": ["cut_points"]}, ref("explore")]},
}, required=["name", "steps"])
defs["scenario"]["oneOf"] = [{"required": ["protocol"]}, {"required": ["protocols"]}]

schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://mqtt-harness.invalid/scenarios/schema.json",
    "title": "mqtt-harness scenario file",
    "description": "See scenarios/README.md. Generated by harness/scenario/tools/gen_schema.py; the loader is the authority.",
    "$ref": "#/$defs/scenario",
    "$defs": defs,
}
json.dump(schema, sys.stdout, indent=1)
sys.stdout.write("\n")
