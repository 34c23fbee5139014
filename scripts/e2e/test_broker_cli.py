"""End-to-end: the `mqtt-harness broker` command line -- the listening line, signals, exit
codes, --config errors naming FILE:LINE, and what config keys change on the wire."""
import signal
import socket
import subprocess

import pytest
from paho.mqtt.packettypes import PacketTypes  # noqa: F401  (kept for property names)

import mqtt_wire as wire
from broker_support import clients, embedded_only, engine_lacks, start_broker  # noqa: F401 (fixtures)
from conftest import read_listening_line

pytestmark = embedded_only


def run(harness, *args, timeout=20):
    return subprocess.run([str(harness), "broker", *args], capture_output=True, timeout=timeout, text=True)


def test_help_describes_the_options_and_exits_0(harness):
    r = run(harness, "--help")
    assert r.returncode == 0
    for option in ("--listen", "--config", "--misbehave"):
        assert option in r.stdout


@pytest.mark.parametrize("args, complaint", [
    (["--listen", "nonsense"], "--listen"),
    (["--listen", "127.0.0.1:70000"], "--listen"),
    (["--listen", "999.1.1.1:0"], "--listen"),
    (["--listen"], "needs a value"),
    (["--frobnicate"], "--frobnicate"),
    (["--misbehave", "drop-everything"], "--misbehave"),
    (["--misbehave-every", "0"], "--misbehave-every"),
])
def test_bad_arguments_exit_2_with_a_message(harness, args, complaint):
    r = run(harness, "--listen", "127.0.0.1:0", *args)
    assert r.returncode == 2, r
    assert complaint in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM])
def test_prints_one_listening_line_and_stops_cleanly_on_signal(harness, procs, signo):
    proc = procs.start([harness, "broker", "--listen", "127.0.0.1:0"])
    host, port = read_listening_line(proc)
    assert host == "127.0.0.1" and port > 0
    with socket.create_connection((host, port), timeout=5):
        pass  # it accepts
    proc.send_signal(signo)
    assert proc.wait(timeout=10) == 0
    assert proc.stdout.read() == b""  # exactly one line in all


def test_localhost_is_accepted_as_listen_host(harness, procs):
    proc = procs.start([harness, "broker", "--listen", "localhost:0"])
    host, port = read_listening_line(proc)
    assert host == "127.0.0.1"


def test_port_in_use_exits_1(harness, procs):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        r = run(harness, "--listen", f"127.0.0.1:{busy.getsockname()[1]}")
    assert r.returncode == 1
    assert "cannot listen" in r.stderr


# --- config file --------------------------------------------------------------------------

@pytest.mark.parametrize("text, line, key", [
    ("limits:\n  max_connections: 5\n  max_conections: 6\n", 3, "limits.max_conections"),
    ("allow_anonymous: yes please\n", 1, "allow_anonymous"),
    ("# comment\nlimits:\n  max_inflight: -3\n", 3, "limits.max_inflight"),
    ("acl:\n  - username: a\n    publsh: [x]\n", 3, "acl[0].publsh"),
])
def test_bad_config_exits_2_naming_file_line_and_key(harness, tmp_path, text, line, key):
    conf = tmp_path / "broker.yaml"
    conf.write_text(text)
    r = run(harness, "--listen", "127.0.0.1:0", "--config", str(conf))
    assert r.returncode == 2, r
    assert f"{conf}:{line}: {key}:" in r.stderr
    assert r.stdout == ""


def test_missing_config_file_exits_2(harness, tmp_path):
    r = run(harness, "--listen", "127.0.0.1:0", "--config", str(tmp_path / "absent.yaml"))
    assert r.returncode == 2
    assert "absent.yaml" in r.stderr


def test_example_config_in_docs_starts(start_broker):
    from conftest import REPO
    start_broker("--config", REPO / "docs/examples/broker.yaml")


def connack_of(host, port, version, client_id, **kwargs):
    raw = wire.Client(host, port)
    try:
        raw.send(wire.connect(client_id, version, **kwargs))
        return raw, wire.connack_reason(raw.expect(wire.CONNACK))
    except BaseException:
        raw.close()
        raise


def test_max_connections_closes_the_connection_over_the_limit(start_broker, tmp_path):
    conf = tmp_path / "b.yaml"
    conf.write_text("limits:\n  max_connections: 2\n")
    host, port, _ = start_broker("--config", conf)
    a, (_, rc_a) = connack_of(host, port, wire.V311, "a")
    b, (_, rc_b) = connack_of(host, port, wire.V311, "b")
    third = wire.Client(host, port)
    try:
        assert rc_a == rc_b == 0
        third.send(wire.connect("c", wire.V311))
        seen = third.wait_closed(timeout=10)
        assert all(p.type == wire.CONNACK and p.body[1] != 0 for p in seen), seen
        a.send(wire.pingreq())
        a.expect(wire.PINGRESP)
    finally:
        for c in (a, b, third):
            c.close()


@pytest.mark.parametrize("version, anonymous, bad_password", [
    (wire.V311, 0x05, 0x04),  # 3.1.1 3.2.2.3: 5 not authorized, 4 bad user name or password
    (wire.V5, 0x87, 0x86),    # 5.0 3.2.2.2: 0x87 Not authorized, 0x86 Bad User Name or Password
])
def test_users_and_allow_anonymous_false_decide_who_may_connect(start_broker, tmp_path, version, anonymous,
                                                                 bad_password):
    (tmp_path / "users.txt").write_text("bob:builder\n")
    conf = tmp_path / "b.yaml"
    conf.write_text("allow_anonymous: false\nusers:\n  alice: wonder\nusers_file: users.txt\n")
    host, port, _ = start_broker("--config", conf)
    cases = [
        (dict(), anonymous),
        (dict(username="alice", password=b"wrong"), bad_password),
        (dict(username="alice", password=b"wonder"), 0),
        (dict(username="bob", password=b"builder"), 0),
    ]
    for i, (creds, expected) in enumerate(cases):
        raw, (present, rc) = connack_of(host, port, version, f"user{i}", **creds)
        raw.close()
        assert rc == expected, (creds, rc)
        assert not present


def test_acl_stops_publishes_and_subscriptions_outside_the_rules(start_broker, tmp_path, clients):
    conf = tmp_path / "b.yaml"
    conf.write_text('acl:\n  - publish: ["open/#"]\n    subscribe: ["open/#"]\n')
    host, port, _ = start_broker("--config", conf)
    sub = clients((host, port), version="5")
    sub.connect()
    assert sub.subscribe("open/#", 1) == 1
    assert sub.subscribe("closed/#", 1) == 0x87  # 5.0 SUBACK Not authorized
    pub = clients((host, port), version="5")
    pub.connect()
    pub.publish("closed/x", b"forbidden", qos=1)
    pub.publish("open/x", b"END", qos=1)
    assert sub.until_marker(b"END") == []


def test_v5_connack_announces_configured_limits_and_features(start_broker, tmp_path, clients):
    """3.2.2.3: Receive Maximum, Maximum Packet Size, Topic Alias Maximum, Server Keep
    Alive, Maximum QoS and Retain Available come from the config."""
    conf = tmp_path / "b.yaml"
    conf.write_text("limits:\n  receive_maximum: 7\n  maximum_packet_size: 4096\n  topic_alias_maximum: 3\n"
                    "  server_keep_alive: 20\nfeatures:\n  maximum_qos: 1\n  retain_available: false\n")
    host, port, _ = start_broker("--config", conf)
    c = clients((host, port), version="5")
    assert c.connect()[1] == 0
    p = c.connack_properties
    assert p.ReceiveMaximum == 7
    assert p.MaximumPacketSize == 4096
    assert p.TopicAliasMaximum == 3
    assert p.ServerKeepAlive == 20
    assert p.MaximumQoS == 1
    assert p.RetainAvailable == 0


@pytest.mark.parametrize("version", [wire.V311, wire.V5])
def test_packet_above_maximum_packet_size_is_refused(start_broker, tmp_path, clients, version):
    """5.0: DISCONNECT 0x95 Packet too large (3.2.2.3.6); 3.1.1 has no limit signalling, so
    the broker closes."""
    conf = tmp_path / "b.yaml"
    conf.write_text("limits:\n  maximum_packet_size: 256\n")
    host, port, _ = start_broker("--config", conf)
    raw, (_, rc) = connack_of(host, port, version, "big")
    try:
        assert rc == 0
        raw.send(wire.publish("big/t", b"x" * 400, version=version))
        seen = raw.wait_closed(timeout=10)
    finally:
        raw.close()
    if version == wire.V5:
        assert [(p.type, p.body[:1]) for p in seen] == [(wire.DISCONNECT, b"\x95")]
    else:
        assert seen == []
