"""End-to-end: session and flow-control rules a client observes on the wire -- resends on
session resume, Receive Maximum, takeover, will delay, client ids, 5.0 subscription
options. Raw sockets (mqtt_wire.py) where the client must misbehave (not acking, closing
abruptly); paho where an ordinary client will do."""
import time

import pytest
from paho.mqtt.subscribeoptions import SubscribeOptions

import mqtt_wire as wire
from broker_support import TARGET, broker, clients, engine_lacks  # noqa: F401 (fixtures)

VERSIONS = [wire.V311, wire.V5]
PAHO = {wire.V311: "3.1.1", wire.V5: "5"}
END = b"END"


def persistent_connect(broker_addr, version, client_id, **kwargs):
    """Raw clean-start-0 connection (5.0: Session Expiry 300 s); returns (client, session_present)."""
    raw = wire.Client(*broker_addr)
    props = wire.prop_u32(wire.SESSION_EXPIRY, 300) if version == wire.V5 else b""
    raw.send(wire.connect(client_id, version, clean=False, props=props + kwargs.pop("props", b""), **kwargs))
    present, code = wire.connack_reason(raw.expect(wire.CONNACK))
    assert code == 0
    return raw, present


@pytest.mark.parametrize("version", VERSIONS)
def test_unacknowledged_qos1_is_resent_with_dup_and_same_id_on_resume_MQTT_4_4_0_1(broker, clients, version):
    """3.1.1 and 5.0 MQTT-4.4.0-1: on resume the Server re-sends unacknowledged PUBLISH
    packets with their original Packet Identifier, DUP 1 (3.3.1.1)."""
    sub, _ = persistent_connect(broker, version, "resend1")
    sub.send(wire.subscribe(1, [("resend/t", 1)], version))
    sub.expect(wire.SUBACK)
    pub = clients(broker, version=PAHO[version])
    pub.connect()
    pub.publish("resend/t", b"one", qos=1)
    first = wire.parse_publish(sub.expect(wire.PUBLISH), version)
    assert (first["payload"], first["qos"], first["dup"]) == (b"one", 1, False)
    sub.close()  # no PUBACK
    again, present = persistent_connect(broker, version, "resend1")
    try:
        assert present
        resent = wire.parse_publish(again.expect(wire.PUBLISH), version)
        assert (resent["payload"], resent["packet_id"], resent["dup"]) == (b"one", first["packet_id"], True)
        again.send(wire.ack(wire.PUBACK, resent["packet_id"]))
    finally:
        again.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_pubrel_not_completed_is_resent_on_resume_MQTT_4_4_0_1(broker, clients, version):
    """A QoS 2 delivery cut after PUBREC/PUBREL: on resume the Server re-sends the PUBREL
    (not the PUBLISH: MQTT-4.3.3-6 in 5.0)."""
    sub, _ = persistent_connect(broker, version, "resend2")
    sub.send(wire.subscribe(1, [("resend/q2", 2)], version))
    sub.expect(wire.SUBACK)
    pub = clients(broker, version=PAHO[version])
    pub.connect()
    pub.publish("resend/q2", b"two", qos=2)
    delivery = wire.parse_publish(sub.expect(wire.PUBLISH), version)
    sub.send(wire.ack(wire.PUBREC, delivery["packet_id"]))
    rel = sub.expect(wire.PUBREL)
    assert rel.flags == 0x2 and rel.body[:2] == delivery["packet_id"].to_bytes(2, "big")
    sub.close()  # no PUBCOMP
    again, present = persistent_connect(broker, version, "resend2")
    try:
        assert present
        p = again.read_packet()
        assert p.type == wire.PUBREL, f"expected the PUBREL again, got {p!r}"
        assert p.body[:2] == delivery["packet_id"].to_bytes(2, "big")
        again.send(wire.ack(wire.PUBCOMP, delivery["packet_id"]))
    finally:
        again.close()


def test_server_keeps_within_the_clients_receive_maximum_MQTT_3_3_4_9(broker, clients):
    sub, _ = persistent_connect(broker, wire.V5, "recvmax", props=wire.prop_u16(wire.RECEIVE_MAXIMUM, 2))
    try:
        sub.send(wire.subscribe(1, [("rm/t", 1)], wire.V5))
        sub.expect(wire.SUBACK)
        pub = clients(broker, version="5")
        pub.connect()
        pub.publish_many("rm/t", [b"a", b"b", b"c", b"d"], qos=1)
        first = [wire.parse_publish(sub.expect(wire.PUBLISH), wire.V5) for _ in range(2)]
        with pytest.raises(TimeoutError):  # a third would exceed Receive Maximum 2
            sub.read_packet(timeout=1.0)
        sub.send(wire.ack(wire.PUBACK, first[0]["packet_id"]))
        third = wire.parse_publish(sub.expect(wire.PUBLISH), wire.V5)
        assert [p["payload"] for p in first + [third]] == [b"a", b"b", b"c"]
    finally:
        sub.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_second_connection_with_same_client_id_takes_over_MQTT_3_1_4_3(broker, version):
    """The Server closes the existing connection (5.0 first sends DISCONNECT 0x8E Session
    taken over, 3.1.4); the new one works."""
    old = wire.Client(*broker)
    old.send(wire.connect("same-id", version))
    old.expect(wire.CONNACK)
    new = wire.Client(*broker)
    try:
        new.send(wire.connect("same-id", version))
        assert wire.connack_reason(new.expect(wire.CONNACK))[1] == 0
        seen = old.wait_closed(timeout=10)
        if version == wire.V5:
            assert [(p.type, p.body[:1]) for p in seen] in ([(wire.DISCONNECT, b"\x8e")], []), seen
        else:
            assert seen == []
        new.send(wire.pingreq())
        new.expect(wire.PINGRESP)
    finally:
        old.close()
        new.close()


def test_will_delay_lets_a_quick_reconnect_cancel_the_will_MQTT_3_1_3_9(broker, clients):
    watcher = clients(broker, version="5")
    watcher.connect()
    watcher.subscribe("wd/t", 1)
    raw, _ = persistent_connect(broker, wire.V5, "will-delay", will=("wd/t", b"late will", 1, False),
                                will_props=wire.prop_u32(wire.WILL_DELAY, 30))
    raw.close()  # abnormal: the will waits 30 s
    again, present = persistent_connect(broker, wire.V5, "will-delay")
    try:
        assert present
        pub = clients(broker, version="5")
        pub.connect()
        pub.publish("wd/t", END, qos=1)
        assert watcher.until_marker(END) == []
    finally:
        again.close()


def test_will_with_delay_is_published_once_the_delay_passes_MQTT_3_1_2_8(broker, clients):
    watcher = clients(broker, version="5")
    watcher.connect()
    watcher.subscribe("wd/t2", 1)
    raw, _ = persistent_connect(broker, wire.V5, "will-delay2", will=("wd/t2", b"delayed", 1, False),
                                will_props=wire.prop_u32(wire.WILL_DELAY, 1))
    raw.close()
    (m,) = watcher.wait_messages(1, timeout=15)
    assert m.payload == b"delayed"


def test_empty_client_id_with_persistent_session_is_rejected_MQTT_3_1_3_8(broker):
    """3.1.1: CONNACK 0x02 Identifier rejected, then close."""
    raw = wire.Client(*broker)
    try:
        raw.send(wire.connect("", wire.V311, clean=False))
        assert wire.connack_reason(raw.expect(wire.CONNACK)) == (False, 0x02)
        raw.wait_closed(timeout=10)
    finally:
        raw.close()


def test_v5_empty_client_id_gets_an_assigned_client_identifier(broker):
    """5.0 3.2.2.3.7: a zero-length ClientID is accepted and CONNACK carries the Assigned
    Client Identifier (property 0x12)."""
    raw = wire.Client(*broker)
    try:
        raw.send(wire.connect("", wire.V5))
        p = raw.expect(wire.CONNACK)
        assert p.body[1] == 0
        assert b"\x12" in p.body[3:], p  # crude: the property id is present in the block
    finally:
        raw.close()


@pytest.mark.parametrize("level", [2, 6])
def test_unsupported_protocol_level_is_refused_then_closed(broker, level):
    """3.1.1 MQTT-3.1.2-2: CONNACK 0x01 unacceptable protocol level; 5.0 3.1.2.2: 0x84
    Unsupported Protocol Version. The Server cannot know which the client speaks, so either."""
    raw = wire.Client(*broker)
    try:
        raw.send(wire.connect("lvl", level))
        seen = raw.wait_closed(timeout=10)
        assert len(seen) <= 1
        if seen:
            assert seen[0].type == wire.CONNACK and seen[0].body[1] in (0x01, 0x84), seen
    finally:
        raw.close()


def test_v5_no_local_subscription_does_not_echo_own_messages_MQTT_3_8_3_3(broker, clients):
    me = clients(broker, version="5")
    me.connect()
    rc, mid = me.client.subscribe("nl/t", options=SubscribeOptions(qos=1, noLocal=True))
    other = clients(broker, version="5")
    other.connect()
    other.subscribe("nl/done", 1)
    me.subscribe("nl/done", 1)
    me.publish("nl/t", b"mine", qos=1)
    other.publish("nl/t", b"theirs", qos=1)
    other.publish("nl/t", END, qos=1)
    assert [m.payload for m in me.until_marker(END)] == [b"theirs"]


def test_v5_retain_handling_2_sends_no_retained_messages_MQTT_3_3_1_11(broker, clients):
    pub = clients(broker, version="5")
    pub.connect()
    pub.publish("rh/t", b"kept", qos=1, retain=True)
    sub = clients(broker, version="5")
    sub.connect()
    sub.client.subscribe("rh/t", options=SubscribeOptions(qos=1, retainHandling=2))
    sub.subscribe("rh/other", 1)  # SUBACKs come in order: the first is done too
    pub.publish("rh/t", END, qos=1)
    assert sub.until_marker(END) == []


def test_v5_retain_as_published_keeps_the_retain_flag_MQTT_3_3_1_13(broker, clients):
    sub = clients(broker, version="5")
    sub.connect()
    sub.client.subscribe("rap/t", options=SubscribeOptions(qos=1, retainAsPublished=True))
    sub.subscribe("rap/other", 1)
    pub = clients(broker, version="5")
    pub.connect()
    pub.publish("rap/t", b"flagged", qos=1, retain=True)
    pub.publish("rap/t", END, qos=1)
    (m,) = sub.until_marker(END)
    assert (m.payload, m.retain) == (b"flagged", True)
