"""End-to-end: `mqtt-harness broker --config` with each `behaviour:` alternative (the
choices the spec leaves to a server, docs/broker.md "Behaviour choices"), the ACL's deny
lists and `limits.max_keep_alive`, seen on the wire by raw-socket clients built with the
independent mqtt_wire builder.

"Nothing more arrives" is never a sleep: the client sends PINGREQ, and since the broker
writes a connection's packets in order, whatever it sent before answering comes before
the PINGRESP."""

import pytest

import mqtt_wire as wire
from broker_support import clients, embedded_only, start_broker  # noqa: F401 (fixtures)

pytestmark = embedded_only

TOPIC_NAME_INVALID, NOT_AUTHORIZED, UNSPECIFIED_ERROR, NO_MATCHING_SUBSCRIBERS = 0x90, 0x87, 0x80, 0x10


@pytest.fixture
def broker_with(start_broker, tmp_path):
    """broker_with(yaml_text) -> (host, port) of a broker started with that config."""

    def start(text):
        conf = tmp_path / "broker.yaml"
        conf.write_text(text)
        host, port, _ = start_broker("--config", conf)
        return host, port

    return start


@pytest.fixture
def connect(request):
    """connect(address, client_id, version, **connect_kwargs) -> raw client after a
    successful CONNACK; closed at teardown."""
    made = []

    def make(address, client_id, version=wire.V5, **kwargs):
        c = wire.Client(*address)
        made.append(c)
        c.send(wire.connect(client_id, version, **kwargs))
        present, rc = wire.connack_reason(c.expect(wire.CONNACK))
        assert rc == 0, f"{client_id}: CONNACK {rc:#x}"
        return c

    yield make
    for c in made:
        c.close()


def suback_codes(p: wire.Packet, version: int) -> list[int]:
    body = p.body[2:]
    if version == wire.V5:
        length, i = wire.read_varint(body, 0)
        body = body[i + length:]
    return list(body)


def ack_code(p: wire.Packet) -> int:
    """Reason code of a PUBACK/PUBREC/PUBCOMP: 0x00 when left out (3.1.1, or 5.0 short form)."""
    return p.body[2] if len(p.body) > 2 else 0


def until_pingresp(c: wire.Client) -> list[wire.Packet]:
    """Everything the broker sent this client before it answers a PINGREQ sent now."""
    c.send(wire.pingreq())
    seen = []
    while True:
        p = c.read_packet()
        if p.type == wire.PINGRESP:
            return seen
        seen.append(p)


def publishes(packets, version) -> list[dict]:
    return [wire.parse_publish(p, version) for p in packets if p.type == wire.PUBLISH]


def subscribed(address, connect, client_id, filters, version=wire.V5, **kwargs):
    c = connect(address, client_id, version, **kwargs)
    c.send(wire.subscribe(1, filters, version))
    codes = suback_codes(c.expect(wire.SUBACK), version)
    assert all(code < 0x80 for code in codes), codes
    return c


# --- behaviour.qos2_forward_on: 4.3.3 Method B (publish) or Method A (pubrel) -----------

@pytest.mark.parametrize("forward_on", ["publish", "pubrel"])
def test_qos2_message_is_forwarded_on_publish_or_on_pubrel(broker_with, connect, forward_on):
    address = broker_with(f"behaviour:\n  qos2_forward_on: {forward_on}\n")
    sub = subscribed(address, connect, "sub", [("q", 2)])
    pub = connect(address, "pub")
    pub.send(wire.publish("q", b"m", qos=2, packet_id=1, version=wire.V5))
    assert ack_code(pub.expect(wire.PUBREC)) == 0  # never 0x10 here: there is a subscriber
    before_pubrel = publishes(until_pingresp(sub), wire.V5)
    pub.send(wire.ack(wire.PUBREL, 1))
    assert ack_code(pub.expect(wire.PUBCOMP)) == 0
    after_pubrel = publishes(until_pingresp(sub), wire.V5)
    if forward_on == "publish":
        assert [m["payload"] for m in before_pubrel] == [b"m"] and after_pubrel == []
    else:
        assert before_pubrel == [] and [m["payload"] for m in after_pubrel] == [b"m"]


# --- behaviour.grant_qos_at_most: 3.8.4, a lower grant than requested -------------------

@pytest.mark.parametrize("version", [wire.V311, wire.V5])
def test_grant_qos_at_most_grants_less_and_delivers_at_the_granted_qos(broker_with, connect, version):
    address = broker_with("behaviour:\n  grant_qos_at_most: 1\n")
    sub = connect(address, "sub", version)
    sub.send(wire.subscribe(1, [("g", 2)], version))
    assert suback_codes(sub.expect(wire.SUBACK), version) == [1]
    pub = connect(address, "pub", version)
    pub.send(wire.publish("g", b"m", qos=2, packet_id=1, version=version))
    pub.expect(wire.PUBREC)
    [got] = publishes(until_pingresp(sub), version)
    assert got["qos"] == 1  # MQTT-3.8.4-8 (3.1.1: MQTT-3.8.4-6)


# --- behaviour.overlapping_subscriptions: 5.0 3.3.4 / 3.1.1 3.3.5 ------------------------

@pytest.mark.parametrize("version", [wire.V311, wire.V5])
@pytest.mark.parametrize("mode, expected_qos", [("one_copy", [2]), ("copy_per_subscription", [0, 2])])
def test_overlapping_subscriptions_get_one_copy_or_one_per_subscription(broker_with, connect, version, mode,
                                                                        expected_qos):
    address = broker_with(f"behaviour:\n  overlapping_subscriptions: {mode}\n")
    sub = subscribed(address, connect, "sub", [("o/+", 0), ("o/#", 2)], version)
    pub = connect(address, "pub", version)
    pub.send(wire.publish("o/x", b"m", qos=2, packet_id=1, version=version))
    pub.expect(wire.PUBREC)
    got = publishes(until_pingresp(sub), version)
    assert sorted(m["qos"] for m in got) == expected_qos  # one at the highest QoS either way


# --- behaviour.dollar_topic_publish and v311_refused_publish: 4.7.2, 3.1.1 MQTT-3.3.5-2 ---

@pytest.mark.parametrize("version", [wire.V311, wire.V5])
def test_dollar_topic_refuse_drops_a_client_publish_to_a_dollar_topic(broker_with, connect, version):
    address = broker_with("behaviour:\n  dollar_topic_publish: refuse\n")
    sub = subscribed(address, connect, "sub", [("$app/x", 1), ("app/x", 1)])
    pub = connect(address, "pub", version)
    pub.send(wire.publish("$app/x", b"dollar", qos=1, packet_id=1, version=version))
    # 5.0 says why (Topic Name invalid); 3.1.1 can only acknowledge (MQTT-3.3.5-2).
    assert ack_code(pub.expect(wire.PUBACK)) == (TOPIC_NAME_INVALID if version == wire.V5 else 0)
    pub.send(wire.publish("app/x", b"plain", qos=1, packet_id=2, version=version))
    assert ack_code(pub.expect(wire.PUBACK)) == 0
    assert [m["payload"] for m in publishes(until_pingresp(sub), wire.V5)] == [b"plain"]


def test_dollar_topic_publish_is_routed_by_default(broker_with, connect):
    address = broker_with("")
    sub = subscribed(address, connect, "sub", [("$app/x", 1)])
    pub = connect(address, "pub")
    pub.send(wire.publish("$app/x", b"dollar", qos=1, packet_id=1, version=wire.V5))
    assert ack_code(pub.expect(wire.PUBACK)) == 0
    assert [m["payload"] for m in publishes(until_pingresp(sub), wire.V5)] == [b"dollar"]


def test_v311_refused_publish_disconnect_closes_the_connection_and_publishes_the_will(broker_with, connect):
    address = broker_with("behaviour:\n  dollar_topic_publish: refuse\n  v311_refused_publish: disconnect\n")
    watcher = subscribed(address, connect, "watch", [("will", 0)], wire.V311)
    pub = connect(address, "pub", wire.V311, will=("will", b"gone", 0, False))
    pub.send(wire.publish("$app/x", b"dollar", qos=1, packet_id=1))
    assert pub.wait_closed(timeout=10) == []  # no PUBACK: closing is the other answer
    assert [m["payload"] for m in publishes(until_pingresp(watcher), wire.V311)] == [b"gone"]


# --- behaviour.specific_refusal_codes, no_matching_subscribers_code ----------------------

@pytest.mark.parametrize("specific, expected", [("true", NOT_AUTHORIZED), ("false", UNSPECIFIED_ERROR)])
def test_v5_refusal_code_is_specific_or_0x80(broker_with, connect, specific, expected):
    address = broker_with(f"behaviour:\n  specific_refusal_codes: {specific}\n"
                          "acl:\n  - publish: '#'\n    subscribe: '#'\n    deny:\n"
                          "      publish: locked\n      subscribe: locked\n")
    c = connect(address, "c")
    c.send(wire.subscribe(1, [("locked", 1)], wire.V5))
    assert suback_codes(c.expect(wire.SUBACK), wire.V5) == [expected]
    c.send(wire.publish("locked", b"m", qos=1, packet_id=2, version=wire.V5))
    assert ack_code(c.expect(wire.PUBACK)) == expected


@pytest.mark.parametrize("setting, expected", [("true", NO_MATCHING_SUBSCRIBERS), ("false", 0)])
def test_no_matching_subscribers_code_is_0x10_or_0x00(broker_with, connect, setting, expected):
    address = broker_with(f"behaviour:\n  no_matching_subscribers_code: {setting}\n")
    c = connect(address, "c")
    c.send(wire.publish("nobody/listens", b"m", qos=1, packet_id=1, version=wire.V5))
    assert ack_code(c.expect(wire.PUBACK)) == expected


# --- behaviour.reason_strings, disconnect_before_close: 5.0 optional parts of a refusal ---

@pytest.mark.parametrize("setting", ["true", "false"])
def test_reason_strings_on_a_refusing_connack(broker_with, setting):
    address = broker_with(f"allow_anonymous: false\nbehaviour:\n  reason_strings: {setting}\n")
    c = wire.Client(*address)
    try:
        c.send(wire.connect("anonymous", wire.V5))
        connack = c.expect(wire.CONNACK)
    finally:
        c.close()
    assert connack.body[1] == NOT_AUTHORIZED
    property_length, _ = wire.read_varint(connack.body, 2)
    assert (property_length > 0) == (setting == "true")  # the Reason String is the only property


@pytest.mark.parametrize("setting", ["true", "false"])
def test_disconnect_before_close_on_a_protocol_error(broker_with, connect, setting):
    address = broker_with(f"behaviour:\n  disconnect_before_close: {setting}\n")
    c = connect(address, "c")
    c.send(b"\xf0\x00")  # AUTH with no authentication method in use: protocol error
    seen = c.wait_closed(timeout=10)  # closed either way [MQTT-4.13.1-1]
    assert [(p.type, p.body[:1]) for p in seen] == ([(wire.DISCONNECT, b"\x82")] if setting == "true" else [])


# --- behaviour.strict_clients: MQTT-3.3.4-6 binds the client and names no server reaction --

@pytest.mark.parametrize("setting", ["true", "false"])
def test_strict_clients_closes_on_a_client_publish_with_a_subscription_identifier(broker_with, connect, setting):
    address = broker_with(f"behaviour:\n  strict_clients: {setting}\n")
    sub = subscribed(address, connect, "sub", [("s/t", 0)], wire.V5)
    pub = connect(address, "pub")
    sub_id = bytes([0x0B, 0x07])  # Subscription Identifier 7, only a server may send it
    pub.send(wire.packet(0x30, wire.utf8("s/t") + wire.properties(sub_id) + b"x"))
    if setting == "true":
        seen = pub.wait_closed(timeout=10)
        assert [p.type for p in seen] == [wire.DISCONNECT] and seen[0].body[0] == 0x82, seen
        assert b"MQTT-3.3.4-6" in seen[0].body
    else:
        assert [m["payload"] for m in publishes(until_pingresp(sub), wire.V5)] == [b"x"]


# --- behaviour.queue_qos0_offline: session state "optionally" holds QoS 0 -----------------

@pytest.mark.parametrize("queue, expected", [("false", [b"one"]), ("true", [b"zero", b"one"])])
def test_queue_qos0_offline_keeps_qos0_for_an_offline_session(broker_with, connect, queue, expected):
    address = broker_with(f"behaviour:\n  queue_qos0_offline: {queue}\n")
    sub = subscribed(address, connect, "sub", [("q", 1)], wire.V311, clean=False)
    sub.close()
    pub = connect(address, "pub", wire.V311)
    pub.send(wire.publish("q", b"zero"))
    pub.send(wire.publish("q", b"one", qos=1, packet_id=1))
    pub.expect(wire.PUBACK)
    sub = connect(address, "sub", wire.V311, clean=False)
    assert [m["payload"] for m in publishes(until_pingresp(sub), wire.V311)] == expected


# --- acl deny lists ---------------------------------------------------------------------------

@pytest.mark.parametrize("version, refused", [(wire.V311, 0x80), (wire.V5, NOT_AUTHORIZED)])
def test_acl_deny_wins_over_allow_and_filters_overlapping_subscriptions(broker_with, connect, version, refused):
    address = broker_with("acl:\n  - publish: '#'\n    subscribe: '#'\n    deny:\n"
                          "      publish: locked/#\n      subscribe: secret/#\n")
    sub = connect(address, "sub", version)
    sub.send(wire.subscribe(1, [("secret/a", 1), ("#", 1)], version))
    assert suback_codes(sub.expect(wire.SUBACK), version) == [refused, 1]
    pub = connect(address, "pub", version)
    # 5.0: no one may read "secret/a", so no subscriber matched (0x10); "locked/a" is refused.
    expected = {"secret/a": NO_MATCHING_SUBSCRIBERS, "locked/a": refused, "open/a": 0}
    for packet_id, topic in enumerate(expected, start=1):
        pub.send(wire.publish(topic, topic.encode(), qos=1, packet_id=packet_id, version=version))
        code = ack_code(pub.expect(wire.PUBACK))
        assert code == (expected[topic] if version == wire.V5 else 0), topic
    # "#" is granted but never delivers "secret/..."; "locked/a" was never accepted.
    assert [m["payload"] for m in publishes(until_pingresp(sub), version)] == [b"open/a"]


# --- limits.max_keep_alive --------------------------------------------------------------------

def test_max_keep_alive_is_announced_to_v5_clients_and_enforced(broker_with, clients):
    address = broker_with("limits:\n  max_keep_alive: 1\n")
    asks_more = clients(address, version="5", keepalive=120)
    assert asks_more.connect()[1] == 0
    assert asks_more.connack_properties.ServerKeepAlive == 1  # MQTT-3.2.2-21
    asks_less = clients(address, version="5", keepalive=1)
    asks_less.connect()
    assert not hasattr(asks_less.connack_properties, "ServerKeepAlive")  # MQTT-3.2.2-22
    silent = wire.Client(*address)
    try:
        silent.send(wire.connect("silent", wire.V5, keep_alive=0))
        silent.expect(wire.CONNACK)
        # Held to 1 s although it asked for none: closed after 1.5 s, with 0x8D first.
        seen = silent.wait_closed(timeout=10)
    finally:
        silent.close()
    assert [(p.type, p.body[:1]) for p in seen] == [(wire.DISCONNECT, b"\x8d")]


def test_max_keep_alive_leaves_v311_keep_alive_0_accepted(broker_with, connect):
    address = broker_with("limits:\n  max_keep_alive: 1\n")
    c = connect(address, "old", wire.V311, keep_alive=0)
    c.send(wire.pingreq())
    c.expect(wire.PINGRESP)


# --- docs/examples/paho-interop.yaml ----------------------------------------------------------

def test_paho_interop_config_gives_what_the_paho_suite_expects(start_broker, connect, clients):
    """client_test5's test_server_keep_alive and both files' test_subscribe_failure."""
    from conftest import REPO

    host, port, _ = start_broker("--config", REPO / "docs/examples/paho-interop.yaml")
    c = clients((host, port), version="5", keepalive=120)
    c.connect()
    assert c.connack_properties.ServerKeepAlive == 60
    for version in (wire.V311, wire.V5):
        raw = connect((host, port), f"paho-{version}", version)
        raw.send(wire.subscribe(1, [("test/nosubscribe", 2), ("TopicA/+", 2)], version))
        assert suback_codes(raw.expect(wire.SUBACK), version) == [0x80, 2]
