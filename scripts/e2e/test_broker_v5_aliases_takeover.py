"""End-to-end: outbound topic aliases (5.0 3.3.2.3.4) and the old connection's will on a
session takeover (3.1.4), against `mqtt-harness broker`.

paho-mqtt 1.6 does not resolve topic aliases it receives (an aliased PUBLISH reaches
on_message with an empty topic), so the subscribers that must see aliases are raw sockets
(mqtt_wire.py) that resolve them as 3.3.2.3.4 says; publishers are paho clients."""
import struct

import pytest

import mqtt_wire as wire
from broker_support import TARGET, broker, clients, embedded_only, start_broker  # noqa: F401 (fixtures)

TOPIC_ALIAS_MAXIMUM, TOPIC_ALIAS = 0x22, 0x23
END = b"END"


def publish_properties(p: wire.Packet) -> tuple[str, dict, bytes]:
    """(topic, {property id: value} for the byte/u16/u32/varint ones, payload) of a 5.0 PUBLISH."""
    qos = (p.flags >> 1) & 3
    n = struct.unpack("!H", p.body[:2])[0]
    topic = p.body[2:2 + n].decode()
    i = 2 + n + (2 if qos else 0)
    length, i = wire.read_varint(p.body, i)
    end = i + length
    props = {}
    while i < end:
        pid = p.body[i]
        i += 1
        if pid in (0x01,):  # payload format indicator: byte
            props[pid] = p.body[i]
            i += 1
        elif pid in (0x23,):  # topic alias: two byte integer
            props[pid] = struct.unpack("!H", p.body[i:i + 2])[0]
            i += 2
        elif pid in (0x02,):  # message expiry: four byte integer
            props[pid] = struct.unpack("!I", p.body[i:i + 4])[0]
            i += 4
        elif pid in (0x0B,):  # subscription identifier: variable byte integer
            props[pid], i = wire.read_varint(p.body, i)
        elif pid in (0x03, 0x08, 0x09):  # strings / binary: skip
            i += 2 + struct.unpack("!H", p.body[i:i + 2])[0]
        elif pid == 0x26:  # user property: skip both strings
            for _ in range(2):
                i += 2 + struct.unpack("!H", p.body[i:i + 2])[0]
        else:
            raise AssertionError(f"unexpected property 0x{pid:02x} in a PUBLISH from the broker")
    return topic, props, p.body[end:]


def raw_v5_subscriber(broker_addr, client_id, topic_filter, connect_props=b""):
    raw = wire.Client(*broker_addr)
    raw.send(wire.connect(client_id, wire.V5, props=connect_props))
    assert wire.connack_reason(raw.expect(wire.CONNACK))[1] == 0
    raw.send(wire.subscribe(1, [(topic_filter, 0)], wire.V5))
    raw.expect(wire.SUBACK)
    return raw


@embedded_only
def test_v5_broker_sends_topic_then_alias_only_within_the_client_maximum_MQTT_3_3_2_11(broker, clients):
    """The subscriber allows 2 aliases. Each PUBLISH it gets must resolve (3.3.2.3.4: a
    topic with an alias sets the mapping, an empty topic uses it) to the topic the
    publisher used; aliases stay in 1..2 [MQTT-3.3.2-11, MQTT-3.3.2-8]; a repeated topic
    arrives as the alias alone at least once."""
    sub = raw_v5_subscriber(broker, "alias-sub", "al/#", wire.prop_u16(TOPIC_ALIAS_MAXIMUM, 2))
    try:
        pub = clients(broker, version="5")
        pub.connect()
        sent = ["al/a", "al/a", "al/b", "al/a", "al/c", "al/a", "al/b", "al/b"]
        for i, topic in enumerate(sent):
            pub.publish(topic, str(i).encode(), qos=1)
        mapping, resolved, aliases, alias_only = {}, [], set(), 0
        for i in range(len(sent)):
            topic, props, payload = publish_properties(sub.expect(wire.PUBLISH))
            assert payload == str(i).encode()
            assert TOPIC_ALIAS in props, f"PUBLISH {i} carries no alias although the client allows 2"
            alias = props[TOPIC_ALIAS]
            aliases.add(alias)
            if topic:
                mapping[alias] = topic
            else:
                alias_only += 1
                assert alias in mapping, f"alias {alias} used before it was defined"
            resolved.append(mapping[alias])
        assert resolved == sent
        assert aliases <= {1, 2}
        assert alias_only >= 1
    finally:
        sub.close()


def test_v5_no_topic_alias_to_a_client_that_allows_none_MQTT_3_1_2_27(broker, clients):
    """No Topic Alias Maximum in CONNECT (so 0): every PUBLISH has its topic and no alias."""
    sub = raw_v5_subscriber(broker, "no-alias-sub", "na/t")
    try:
        pub = clients(broker, version="5")
        pub.connect()
        for payload in (b"1", b"2", b"3"):
            pub.publish("na/t", payload, qos=1)
        for payload in (b"1", b"2", b"3"):
            topic, props, got = publish_properties(sub.expect(wire.PUBLISH))
            assert (topic, got) == ("na/t", payload)
            assert TOPIC_ALIAS not in props
    finally:
        sub.close()


# --- the will of a connection that is taken over ---------------------------------------

def takeover(broker_addr, version, first_clean, second_clean, will_topic, client_id):
    """First connection with a will, then a second one with the same client id. Returns the
    two raw clients."""
    keep = wire.prop_u32(wire.SESSION_EXPIRY, 300) if version == wire.V5 else b""
    first = wire.Client(*broker_addr)
    first.send(wire.connect(client_id, version, clean=first_clean, will=(will_topic, b"will", 0, False),
                            props=b"" if first_clean else keep))
    assert wire.connack_reason(first.expect(wire.CONNACK))[1] == 0
    second = wire.Client(*broker_addr)
    second.send(wire.connect(client_id, version, clean=second_clean, props=b"" if second_clean else keep))
    assert wire.connack_reason(second.expect(wire.CONNACK))[1] == 0
    first.wait_closed(timeout=10)
    return first, second


def watch(broker_addr, clients, topic, version):
    watcher = clients(broker_addr, version="5" if version == wire.V5 else "3.1.1")
    watcher.connect()
    watcher.subscribe(topic, 0)
    return watcher


@pytest.mark.parametrize("version", [wire.V311, wire.V5])
def test_takeover_that_ends_the_session_publishes_the_will_MQTT_3_1_2_8(broker, clients, version):
    """Clean start on the new connection ends the old session: 5.0 publishes the will when
    the session ends [MQTT-3.1.2-8]; 3.1.1 on any close without DISCONNECT (3.1.1:
    MQTT-3.1.2-8). mosquitto 2.0 does the same."""
    topic = f"tw/clean/{version}"
    watcher = watch(broker, clients, topic, version)
    first, second = takeover(broker, version, True, True, topic, f"tw-clean-{version}")
    try:
        pub = clients(broker, version="5")
        pub.connect()
        pub.publish(topic, END, qos=1)
        assert [m.payload for m in watcher.until_marker(END)] == [b"will"]
    finally:
        first.close()
        second.close()


def test_v5_takeover_resuming_the_session_does_not_publish_the_will_MQTT_3_1_3_9(broker, clients):
    """5.0: the new connection to the session is opened before the old one closes, so
    before any Will Delay can pass: no will [MQTT-3.1.3-9]. mosquitto 2.0 agrees."""
    topic = "tw/resume/5"
    watcher = watch(broker, clients, topic, wire.V5)
    first, second = takeover(broker, wire.V5, False, False, topic, "tw-resume-5")
    try:
        pub = clients(broker, version="5")
        pub.connect()
        pub.publish(topic, END, qos=1)
        assert watcher.until_marker(END) == []
    finally:
        first.close()
        second.close()


@embedded_only  # mosquitto 2.0 sends no will here (its 07-will-takeover test expects none)
def test_v311_takeover_of_a_persistent_session_publishes_the_will_MQTT_3_1_2_8_v311(broker, clients):
    """3.1.1 has no will delay: the will MUST be published when the network connection is
    closed unless a DISCONNECT deleted it (3.1.1: MQTT-3.1.2-8), even if the session
    continues on the new connection."""
    topic = "tw/resume/311"
    watcher = watch(broker, clients, topic, wire.V311)
    first, second = takeover(broker, wire.V311, False, False, topic, "tw-resume-311")
    try:
        pub = clients(broker, version="3.1.1")
        pub.connect()
        pub.publish(topic, END, qos=1)
        assert [m.payload for m in watcher.until_marker(END)] == [b"will"]
    finally:
        first.close()
        second.close()
        # Leave no persistent session behind for other tests.
        cleanup = wire.Client(*broker)
        cleanup.send(wire.connect("tw-resume-311", wire.V311, clean=True))
        cleanup.expect(wire.CONNACK)
        cleanup.send(wire.disconnect(wire.V311))
        cleanup.close()


@embedded_only
@pytest.mark.parametrize("configured", [0, 1])
def test_config_outbound_topic_alias_maximum_bounds_the_aliases_sent_MQTT_3_3_2_11(start_broker, tmp_path, clients,
                                                                                    configured):
    """limits.outbound_topic_alias_maximum caps the aliases per connection below the
    client's own maximum (5); 0 turns outbound aliases off."""
    conf = tmp_path / "b.yaml"
    conf.write_text(f"limits:\n  outbound_topic_alias_maximum: {configured}\n")
    host, port, _ = start_broker("--config", conf)
    sub = raw_v5_subscriber((host, port), "cfg-alias-sub", "ca/#", wire.prop_u16(TOPIC_ALIAS_MAXIMUM, 5))
    try:
        pub = clients((host, port), version="5")
        pub.connect()
        sent = ["ca/x", "ca/y", "ca/x", "ca/y"]
        for i, topic in enumerate(sent):
            pub.publish(topic, str(i).encode(), qos=1)
        mapping, resolved, aliases = {}, [], set()
        for _ in sent:
            topic, props, _payload = publish_properties(sub.expect(wire.PUBLISH))
            alias = props.get(TOPIC_ALIAS)
            if alias is None:
                resolved.append(topic)
                continue
            aliases.add(alias)
            if topic:
                mapping[alias] = topic
            resolved.append(mapping[alias])
        assert resolved == sent
        assert aliases == (set() if configured == 0 else {1})
    finally:
        sub.close()
