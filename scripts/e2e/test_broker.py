"""End-to-end: `mqtt-harness broker` against independent clients (paho-mqtt 1.6, MQTT 3.1.1
and 5.0, plus raw sockets from mqtt_wire.py for what paho cannot do: silence, abrupt
close, malformed bytes).

Each test gets a fresh broker on a free loopback port (fixture `broker`). No test waits
for 'long enough': data is followed by a marker message on the same topic, and topics are
ordered (MQTT-4.6.0-6), so the marker's arrival bounds the wait. Every wait has a timeout.
MQTTH_E2E_TARGET=mosquitto runs the same tests against mosquitto to check the tests.
"""
import socket
import time

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import mqtt_wire as wire
from broker_support import TARGET, broker, clients, engine_lacks  # noqa: F401 (fixtures)

VERSIONS = ["3.1.1", "5"]
WIRE_VERSION = {"3.1.1": wire.V311, "5": wire.V5}
END = b"END"


def payloads(n, prefix="m"):
    return [f"{prefix}{i}".encode() for i in range(n)]


def connect_raw(broker_addr, version, client_id, **kwargs) -> wire.Client:
    raw = wire.Client(*broker_addr)
    raw.send(wire.connect(client_id, WIRE_VERSION[version], **kwargs))
    session_present, code = wire.connack_reason(raw.expect(wire.CONNACK))
    assert code == 0, f"CONNACK refused with {code:#x}"
    return raw


# --- QoS guarantees -----------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_delivery_has_no_loss_or_duplicates_the_qos_forbids_and_keeps_order(broker, clients, version, qos):
    """QoS 0 at most once (4.3.1), QoS 1 at least once (4.3.2), QoS 2 exactly once (4.3.3),
    forwarded in the publisher's order (MQTT-4.6.0-6), at the subscription's QoS."""
    sub = clients(broker, version=version)
    sub.connect()
    assert sub.subscribe("qos/t", qos) == qos
    pub = clients(broker, version=version)
    pub.connect()
    sent = payloads(300)
    pub.publish_many("qos/t", sent + [END], qos)
    got = sub.until_marker(END, timeout=30)
    received = [m.payload for m in got]
    assert all(m.qos == qos for m in got)
    if qos == 0:
        assert len(received) == len(set(received)), "QoS 0 delivered a message twice"
        assert set(received) <= set(sent)
    elif qos == 1:
        assert set(received) == set(sent), f"QoS 1 lost {sorted(set(sent) - set(received))[:5]}"
    else:
        assert len(received) == len(set(received)), "QoS 2 delivered a message twice"
        assert set(received) == set(sent), f"QoS 2 lost {sorted(set(sent) - set(received))[:5]}"
    first_seen = list(dict.fromkeys(received))
    assert first_seen == [p for p in sent if p in set(received)], "messages out of order (MQTT-4.6.0-6)"


@pytest.mark.parametrize("version", VERSIONS)
def test_delivery_qos_is_the_lower_of_publish_and_subscription_qos(broker, clients, version):
    """Forwarded QoS = min(published QoS, granted QoS) (3.8.4 / 3.3.4)."""
    sub = clients(broker, version=version)
    sub.connect()
    sub.subscribe("down/t", 1)
    pub = clients(broker, version=version)
    pub.connect()
    pub.publish("down/t", b"two", qos=2)
    pub.publish("down/t", b"zero", qos=0)
    pub.publish("down/t", END, qos=1)
    got = {m.payload: m.qos for m in sub.until_marker(END)}
    assert got == {b"two": 1, b"zero": 0}


# --- retained -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_retained_message_goes_to_a_later_subscriber_with_retain_set(broker, clients, version):
    """3.1.1 MQTT-3.3.1-5/-6/-8 and 5.0 MQTT-3.3.1-5/-9: stored and sent on subscribe with
    RETAIN 1; live forwards carry RETAIN 0 (3.1.1 MQTT-3.3.1-9, 5.0 MQTT-3.3.1-12)."""
    pub = clients(broker, version=version)
    pub.connect()
    pub.publish("ret/a", b"kept", qos=1, retain=True)
    sub = clients(broker, version=version)
    sub.connect()
    sub.subscribe("ret/#", 1)
    (first,) = sub.wait_messages(1)
    assert (first.topic, first.payload, first.retain) == ("ret/a", b"kept", True)
    pub.publish("ret/a", b"live", qos=1, retain=True)
    pub.publish("ret/a", END, qos=1)
    (live,) = sub.until_marker(END)
    assert (live.payload, live.retain) == (b"live", False)


@pytest.mark.parametrize("version", VERSIONS)
def test_retained_message_is_replaced_then_cleared_by_empty_payload(broker, clients, version):
    """A new retained message replaces the old (5.0 MQTT-3.3.1-5); an empty retained payload
    clears it and is never stored (3.1.1 MQTT-3.3.1-10/-11, 5.0 MQTT-3.3.1-6/-7)."""
    pub = clients(broker, version=version)
    pub.connect()
    pub.publish("ret/b", b"one", qos=1, retain=True)
    pub.publish("ret/b", b"two", qos=1, retain=True)
    sub = clients(broker, version=version)
    sub.connect()
    sub.subscribe("ret/b", 1)
    pub.publish("ret/b", END, qos=1)
    assert [m.payload for m in sub.until_marker(END)] == [b"two"]

    pub.publish("ret/b", b"", qos=1, retain=True)
    late = clients(broker, version=version)
    late.connect()
    late.subscribe("ret/b", 1)
    pub.publish("ret/b", END, qos=1)
    assert [m.payload for m in late.until_marker(END)] == []


# --- will ---------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_will_is_published_when_the_connection_is_lost(broker, clients, version):
    """Close without DISCONNECT: the Will is published (3.1.1 MQTT-3.1.2-8, 5.0 MQTT-3.1.2-8)."""
    sub = clients(broker, version=version)
    sub.connect()
    sub.subscribe("will/t", 1)
    raw = connect_raw(broker, version, "will-lost", will=("will/t", b"gone", 1, False))
    raw.close()
    (will,) = sub.wait_messages(1, timeout=15)
    assert (will.topic, will.payload, will.qos) == ("will/t", b"gone", 1)


@pytest.mark.parametrize("version", VERSIONS)
def test_will_is_discarded_after_a_clean_disconnect_MQTT_3_14_4_3(broker, clients, version):
    """DISCONNECT (reason 0x00) makes the Server discard the Will (MQTT-3.14.4-3, both)."""
    sub = clients(broker, version=version)
    sub.connect()
    sub.subscribe("will/t", 1)
    raw = connect_raw(broker, version, "will-clean", will=("will/t", b"gone", 1, False))
    raw.send(wire.disconnect(WIRE_VERSION[version]))
    raw.sock.shutdown(socket.SHUT_WR)
    raw.wait_closed(timeout=10)  # the broker has processed the end of this connection
    raw.close()
    pub = clients(broker, version=version)
    pub.connect()
    pub.publish("will/t", END, qos=1)
    assert sub.until_marker(END) == []


# --- sessions -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_persistent_session_gets_messages_queued_while_offline(broker, clients, version):
    """3.1.1 MQTT-3.1.2-4/-5, MQTT-3.2.2-2; 5.0 MQTT-3.1.2-5, MQTT-3.2.2-3: the session and
    its subscription survive the disconnect, QoS 1 messages are queued and delivered on
    resume, CONNACK says Session Present 1."""
    sub = clients(broker, version=version, client_id="persist-sub", clean=False, session_expiry=300)
    assert sub.connect() == (False, 0)
    sub.subscribe("persist/t", 1)
    sub.disconnect()
    pub = clients(broker, version=version)
    pub.connect()
    sent = payloads(20)
    pub.publish_many("persist/t", sent + [END], qos=1)
    again = clients(broker, version=version, client_id="persist-sub", clean=False, session_expiry=300)
    assert again.connect() == (True, 0)
    assert [m.payload for m in again.until_marker(END)] == sent


@pytest.mark.parametrize("version", VERSIONS)
def test_clean_start_discards_the_stored_session(broker, clients, version):
    """3.1.1 MQTT-3.1.2-6 / 5.0 MQTT-3.1.2-4 and MQTT-3.2.2-2: a clean start throws the
    old session (and its subscription) away; Session Present 0."""
    sub = clients(broker, version=version, client_id="clean-sub", clean=False, session_expiry=300)
    sub.connect()
    sub.subscribe("clean/t", 1)
    sub.disconnect()
    pub = clients(broker, version=version)
    pub.connect()
    pub.publish("clean/t", b"queued", qos=1)
    fresh = clients(broker, version=version, client_id="clean-sub", clean=True)
    assert fresh.connect() == (False, 0)
    fresh.subscribe("clean/other", 1)
    pub.publish("clean/other", END, qos=1)
    assert fresh.until_marker(END) == []


# --- topic matching -----------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_wildcards_match_whole_levels_and_hash_matches_the_parent(broker, clients, version):
    """'+' fills one level, '#' any number including the parent (4.7.1.2, 4.7.1.3)."""
    plus = clients(broker, version=version)
    plus.connect()
    plus.subscribe("wild/+/temp", 1)
    hash_ = clients(broker, version=version)
    hash_.connect()
    hash_.subscribe("wild/#", 1)
    pub = clients(broker, version=version)
    pub.connect()
    for topic in ["wild/a/temp", "wild/a/b/temp", "wild/b/humid", "wild", "wilder/a/temp"]:
        pub.publish(topic, topic.encode(), qos=1)
    pub.publish("wild/z/temp", END, qos=1)
    assert [m.topic for m in plus.until_marker(END)] == ["wild/a/temp"]
    assert [m.topic for m in hash_.until_marker(END)] == ["wild/a/temp", "wild/a/b/temp", "wild/b/humid", "wild"]


@pytest.mark.parametrize("version", VERSIONS)
def test_leading_wildcard_does_not_match_dollar_topics_MQTT_4_7_2_1(broker, clients, version):
    everything = clients(broker, version=version)
    everything.connect()
    everything.subscribe("#", 0)
    pub = clients(broker, version=version)
    pub.connect()
    pub.publish("$dollar/x", b"hidden", qos=1)
    pub.publish("plain", END, qos=1)
    assert [m.topic for m in everything.until_marker(END)] == []


def test_shared_subscription_gives_each_message_to_one_group_member(broker, clients):
    """5.0 4.8.2: a shared subscription's messages are split across the group, each once;
    a non-shared subscriber of the same topic still gets them all."""
    members = [clients(broker, version="5") for _ in range(2)]
    for m in members:
        m.connect()
        assert m.subscribe("$share/grp/shared/t", 1) == 1
    plain = clients(broker, version="5")
    plain.connect()
    plain.subscribe("shared/t", 1)
    pub = clients(broker, version="5")
    pub.connect()
    sent = payloads(40)
    pub.publish_many("shared/t", sent + [END], qos=1)
    assert [m.payload for m in plain.until_marker(END)] == sent
    got = []
    deadline = time.monotonic() + 15
    while len(got) < len(sent) + 1 and time.monotonic() < deadline:
        for m in members:
            while not m.messages.empty():
                got.append(m.messages.get().payload)
        time.sleep(0.02)
    assert sorted(got) == sorted(sent + [END]), "group delivery lost or duplicated messages"


# --- MQTT 5 properties --------------------------------------------------------------------

@pytest.mark.parametrize("qos", [0, 1, 2])
def test_v5_application_properties_reach_the_subscriber_unchanged(broker, clients, qos):
    """User Properties in order (MQTT-3.3.2-17/-18), Content Type (MQTT-3.3.2-20), Response
    Topic (MQTT-3.3.2-15), Correlation Data (MQTT-3.3.2-16), Payload Format Indicator
    (3.3.2.3.2), Message Expiry reduced by the time held, never increased (MQTT-3.3.2-6)."""
    sub = clients(broker, version="5")
    sub.connect()
    sub.subscribe("props/t", qos)
    pub = clients(broker, version="5")
    pub.connect()
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("b", "2"), ("a", "1"), ("b", "3")]
    props.ContentType = "application/json"
    props.ResponseTopic = "props/reply"
    props.CorrelationData = b"\x00\x01corr\xff"
    props.PayloadFormatIndicator = 1
    props.MessageExpiryInterval = 3600
    pub.publish("props/t", b'{"x": 1}', qos=qos, properties=props)
    pub.publish("props/t", END, qos=qos)
    (m,) = sub.until_marker(END)
    got = m.properties
    assert got.UserProperty == [("b", "2"), ("a", "1"), ("b", "3")]
    assert got.ContentType == "application/json"
    assert got.ResponseTopic == "props/reply"
    assert got.CorrelationData == b"\x00\x01corr\xff"
    assert got.PayloadFormatIndicator == 1
    assert 0 < got.MessageExpiryInterval <= 3600


def test_v5_message_expired_while_queued_is_not_delivered_MQTT_3_3_2_5(broker, clients):
    sub = clients(broker, version="5", client_id="expiry-sub", clean=False, session_expiry=300)
    sub.connect()
    sub.subscribe("exp/t", 1)
    sub.disconnect()
    pub = clients(broker, version="5")
    pub.connect()
    short = Properties(PacketTypes.PUBLISH)
    short.MessageExpiryInterval = 1
    pub.publish("exp/t", b"short-lived", qos=1, properties=short)
    pub.publish("exp/t", b"lasting", qos=1)
    time.sleep(2.2)  # the expiry itself is the behaviour under test: 1 s must pass
    pub.publish("exp/t", END, qos=1)
    again = clients(broker, version="5", client_id="expiry-sub", clean=False, session_expiry=300)
    again.connect()
    assert [m.payload for m in again.until_marker(END)] == [b"lasting"]


# --- keep-alive ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_silent_client_is_closed_after_one_and_a_half_keep_alive(broker, version):
    """3.1.1 MQTT-3.1.2-24, 5.0 MQTT-3.1.2-22: nothing received for 1.5x Keep Alive -> the
    Server closes. Lower bound: not before the Keep Alive itself (only load can delay, never
    hasten, the close); upper bound generous (a bound, not a speed)."""
    raw = connect_raw(broker, version, "silent", keep_alive=1)
    start = time.monotonic()
    try:
        seen = raw.wait_closed(timeout=15)
    finally:
        raw.close()
    assert time.monotonic() - start >= 1.0
    if version == "5":  # optionally DISCONNECT 0x8D Keep Alive timeout first (4.13.2)
        assert all(p.type == wire.DISCONNECT and p.body[:1] == b"\x8d" for p in seen), seen
    else:
        assert seen == []  # a 3.1.1 server sends no DISCONNECT


@pytest.mark.parametrize("version", VERSIONS)
def test_client_that_pings_within_keep_alive_stays_connected(broker, version):
    """PINGREQ resets the keep-alive clock and is answered with PINGRESP (3.12.4)."""
    raw = connect_raw(broker, version, "pinger", keep_alive=2)
    try:
        for _ in range(7):  # ~3.5 s in all: beyond 1.5x Keep Alive
            raw.send(wire.pingreq())
            raw.expect(wire.PINGRESP, timeout=5)
            time.sleep(0.5)
    finally:
        raw.close()


# --- bad input ----------------------------------------------------------------------------

MALFORMED = {
    # name: (3.1.1 bytes, 5.0 bytes, spec ids)
    "publish_qos3_MQTT_3_3_1_4": ("36050001740001", "3606000174000100"),
    "remaining_length_five_bytes": ("30ffffffff7f", "30ffffffff7f"),
    "subscribe_flags_not_0010_MQTT_3_8_1_1": ("800800010003612f6200", "80090001000003612f6200"),
    "pubrel_flags_not_0010_MQTT_3_6_1_1": ("60020001", "60020001"),
    "disconnect_reserved_flags_MQTT_3_14_1_1": ("e100", "e100"),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_packet_closes_only_that_connection(broker, clients, version, case):
    """5.0: close (MQTT-4.13.1-1) after a DISCONNECT 0x81 Malformed Packet (4.13.1 says
    SHOULD; docs/architecture.md "Conventions" makes it the embedded broker's rule, mosquitto sometimes just
    closes); 3.1.1: close with no packet (MQTT-4.8.0-1). Another client carries on."""
    bystander = clients(broker, version=version)
    bystander.connect()
    bystander.subscribe("alive/t", 1)
    raw = connect_raw(broker, version, f"bad-{case}"[:23])
    raw.send(bytes.fromhex(MALFORMED[case][0 if version == "3.1.1" else 1]))
    try:
        seen = raw.wait_closed(timeout=10)
    finally:
        raw.close()
    if version == "5":
        expected = [[(wire.DISCONNECT, b"\x81")]] + ([[]] if TARGET == "mosquitto" else [])
        assert [(p.type, p.body[:1]) for p in seen] in expected, seen
    else:
        assert seen == []
    bystander.publish("alive/t", b"still here", qos=1)
    (m,) = bystander.wait_messages(1)
    assert m.payload == b"still here"


@pytest.mark.parametrize("version", VERSIONS)
def test_second_connect_is_a_protocol_error_MQTT_3_1_0_2(broker, version):
    raw = connect_raw(broker, version, "twice")
    raw.send(wire.connect("twice", WIRE_VERSION[version]))
    try:
        seen = raw.wait_closed(timeout=10)
    finally:
        raw.close()
    if version == "5":  # DISCONNECT 0x82 Protocol Error first: SHOULD (4.13.1), our rule
        expected = [[(wire.DISCONNECT, b"\x82")]] + ([[]] if TARGET == "mosquitto" else [])
        assert [(p.type, p.body[:1]) for p in seen] in expected, seen
    else:
        assert seen == []
