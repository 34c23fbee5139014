"""End-to-end tests of what makes `mqtt-harness run` trustworthy on any broker
(docs/runner.md): broker-safe names (`--prefix`) and a broker that rewrites topics, the
probe before the run (a peer that is no MQTT broker, an MQTT version the broker refuses),
a typical Keep Alive, a CONNECT refused where the scenario did not ask for a refusal,
known deviations matched by the failure's own statement, and bad input that ends the run
with exit status 2.

The peers are Python: a socket server per failure kind, and a relay in front of the
embedded broker (`mqtt-harness broker`) that answers or rewrites what a broker with that
behaviour would. Expected values come from the scenario text, the spec and the relay's own
parsing (mqtt_wire.py), never from the runner's output.
"""
import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import mqtt_wire as w
from conftest import REPO, RUN_TIMEOUT, run_scenarios as run, run_summary as summary

PLAIN = """\
name: {name}
spec: [MQTT-3.3.1-9]
protocols: [{protocols}]
timeout: 5s
clients:
  sub: {{}}
  pub-1: {{}}
steps:
  - connect: sub
  - subscribe: {{client: sub, filter: "t/#", qos: 1}}
  - connect: pub-1
  - publish: {{client: pub-1, topic: t/a, qos: 1, payload: hello}}
  - expect_packet: {{client: sub, type: PUBLISH, topic: t/a, payload: hello, within: 2s}}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def plain(tmp_path, name="A message reaches its subscriber", protocols="3.1.1, 5", file="plain.yaml"):
    return write(tmp_path / file, PLAIN.format(name=name, protocols=protocols))


# --------------------------------------------------------------------------------------
# Peers: fake servers and a relay in front of a real broker


class Server:
    """A loopback TCP server; `handle(conn)` runs in a thread per connection. Stopped (and
    its connections closed) by stop()."""

    def __init__(self, handle):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handle = handle
        self.conns = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            self.handle(conn)
        except OSError:
            pass

    def stop(self):
        self.stopped = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


@pytest.fixture
def servers():
    started = []
    yield lambda handle: started.append(Server(handle)) or started[-1]
    for s in started:
        s.stop()


def read_frame(sock, buffer=b""):
    """One whole MQTT packet (bytes) from `sock`, and the bytes after it; (None, b"") at
    close."""
    while True:
        if len(buffer) >= 2:
            try:
                length, i = w.read_varint(buffer, 1)
            except IndexError:
                length, i = None, 0
            if length is not None and len(buffer) >= i + length:
                return buffer[:i + length], buffer[i + length:]
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk


def connect_fields(frame):
    """(protocol level, client id) of a CONNECT."""
    _, i = w.read_varint(frame, 1)
    name_len = int.from_bytes(frame[i:i + 2], "big")
    i += 2 + name_len
    level = frame[i]
    i += 4  # level, flags, keep alive
    if level == 5:
        props, i = w.read_varint(frame, i)
        i += props
    id_len = int.from_bytes(frame[i:i + 2], "big")
    return level, frame[i + 2:i + 2 + id_len].decode()


def rewrite_publish_topic(frame, rewrite):
    """The PUBLISH `frame` with rewrite() applied to its topic (of the same length)."""
    _, i = w.read_varint(frame, 1)
    n = int.from_bytes(frame[i:i + 2], "big")
    topic = rewrite(frame[i + 2:i + 2 + n])
    assert len(topic) == n
    return frame[:i + 2] + topic + frame[i + 2 + n:]


def relay(upstream_port, on_connect=None, to_client=None, seen=None):
    """A handler relaying each connection to the broker at `upstream_port`.
    on_connect(level, client_id) may return bytes to answer the CONNECT with instead (the
    connection is then closed; b"" closes without a word). to_client(frame) may rewrite
    every packet the broker sends. `seen` collects the CONNECTs' (level, client id)."""

    def handle(conn):
        first, rest = read_frame(conn)
        if first is None:
            return
        level, client_id = connect_fields(first)
        if seen is not None:
            seen.append((level, client_id))
        answer = on_connect(level, client_id) if on_connect else None
        if answer is not None:
            conn.sendall(answer)
            conn.close()
            return
        up = socket.create_connection(("127.0.0.1", upstream_port))
        up.sendall(first + rest)

        def downstream():
            buffer = b""
            try:
                while True:
                    frame, buffer = read_frame(up, buffer)
                    if frame is None:
                        break
                    conn.sendall(to_client(frame) if to_client else frame)
            except OSError:
                pass
            conn.close()

        threading.Thread(target=downstream, daemon=True).start()
        try:
            while chunk := conn.recv(65536):
                up.sendall(chunk)
        except OSError:
            pass
        up.close()

    return handle


# --------------------------------------------------------------------------------------
# Fail fast: the probe


def silent(conn):
    time.sleep(20)


def accept_and_close(conn):
    conn.close()


def http_server(conn):
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    conn.close()


@pytest.mark.parametrize("peer,seen", [
    (None, "Connection refused"),
    (http_server, 'answered the MQTT 3.1.1 CONNECT with text "HTTP/1.1 400 Bad Request"'),
    (accept_and_close, "accepted the TCP connection and closed it without a CONNACK"),
    (silent, "accepted the TCP connection but sent nothing within 5 s"),
], ids=["nothing-listening", "http-server", "accept-and-close", "accept-and-silence"])
def test_no_mqtt_broker_at_the_address_exits_2_within_10_s(harness, tmp_path, servers, peer, seen):
    if peer is None:
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    else:
        port = servers(peer).port
    f = plain(tmp_path)
    started = time.monotonic()
    proc = run(harness, f, "--broker", f"127.0.0.1:{port}", "--json", tmp_path / "r.json", timeout=30)
    took = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    assert took < 10, f"took {took:.1f} s"
    lines = [l for l in proc.stderr.splitlines() if l.startswith("mqtt-harness run: no MQTT broker")]
    assert len(lines) == 1, proc.stderr
    assert f"127.0.0.1:{port}" in lines[0] and seen in lines[0], lines[0]
    assert not re.search(r"^(passed|failed|skipped|error) ", proc.stderr, re.M), "no scenario may start"


def test_a_refused_mqtt_version_is_skipped_with_one_reason(harness, tmp_path, servers, embedded_broker):
    # A 3.1.1-only broker answering a 5.0 CONNECT the way aedes 1.2 does (`20 02 00 01`).
    _, port = embedded_broker
    peer = servers(relay(port, on_connect=lambda level, _: bytes.fromhex("20020001") if level == 5 else None))
    plain(tmp_path / "s", "one")
    plain(tmp_path / "s", "two", file="two.yaml")
    out = tmp_path / "r.json"
    proc = run(harness, tmp_path / "s", "--broker", f"127.0.0.1:{peer.port}", "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc) == (2, 0, 2, 0)
    rep = json.loads(out.read_text())
    skipped = [s for s in rep["scenarios"] if s["status"] == "skipped"]
    assert {s["protocol"] for s in skipped} == {"5"}
    assert {s["skip_reason"] for s in skipped} == {
        "broker refuses MQTT 5: CONNACK 20 02 00 01 (3.1.1 format: 0x01 (unacceptable_protocol_version))"}
    assert proc.stderr.count("broker refuses MQTT 5") == 1 + 2  # the run's line, one per skipped scenario


def test_a_broker_closing_mqtt_5_connects_skips_mqtt_5(harness, tmp_path, servers, embedded_broker):
    # RabbitMQ 3.10 closes a 5.0 CONNECT without a CONNACK.
    _, port = embedded_broker
    peer = servers(relay(port, on_connect=lambda level, _: b"" if level == 5 else None))
    out = tmp_path / "r.json"
    proc = run(harness, plain(tmp_path), "--broker", f"127.0.0.1:{peer.port}", "--json", out)
    assert proc.returncode == 0, proc.stderr
    sc = {s["protocol"]: s for s in json.loads(out.read_text())["scenarios"]}
    assert sc["3.1.1"]["status"] == "passed"
    assert sc["5"]["status"] == "skipped"
    assert "closed the connection after the CONNECT without a CONNACK" in sc["5"]["skip_reason"]


def test_a_profile_declares_the_versions_and_a_declared_refused_version_runs(harness, tmp_path, servers,
                                                                             embedded_broker):
    _, port = embedded_broker
    seen = []
    peer = servers(relay(port, on_connect=lambda level, _: bytes.fromhex("20020001") if level == 5 else None, seen=seen))
    f = plain(tmp_path)
    only311 = write(tmp_path / "p311.yaml", "name: old-broker\nprotocols: [3.1.1]\n")
    out = tmp_path / "r.json"
    proc = run(harness, f, "--broker", f"127.0.0.1:{peer.port}", "--profile", only311, "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert all(level == 4 for level, _ in seen), f"MQTT 5 was probed: {seen}"
    sc = {s["protocol"]: s for s in json.loads(out.read_text())["scenarios"]}
    assert sc["5"]["status"] == "skipped" and "protocols: [3.1.1]" in sc["5"]["skip_reason"]
    # The profile says the broker speaks 5: the scenario runs, and fails at its CONNECT.
    both = write(tmp_path / "pboth.yaml", "name: says-five\nprotocols: [3.1.1, 5]\n")
    proc = run(harness, f, "--broker", f"127.0.0.1:{peer.port}", "--profile", both, "--json", out)
    assert proc.returncode in (1, 2), proc.stderr
    assert "warning: profile says-five says the broker speaks MQTT 5" in proc.stderr
    sc = {s["protocol"]: s for s in json.loads(out.read_text())["scenarios"]}
    assert sc["5"]["status"] in ("failed", "error") and sc["3.1.1"]["status"] == "passed"


def test_every_version_refused_leaves_nothing_to_run(harness, tmp_path, servers, embedded_broker):
    _, port = embedded_broker
    peer = servers(relay(port, on_connect=lambda level, _: bytes.fromhex("20020001") if level == 5 else None))
    proc = run(harness, plain(tmp_path, protocols="5"), "--broker", f"127.0.0.1:{peer.port}")
    assert proc.returncode == 2, proc.stderr
    assert "nothing to run against" in proc.stderr and "broker refuses MQTT 5: CONNACK 20 02 00 01" in proc.stderr


# --------------------------------------------------------------------------------------
# Names on a shared broker


def test_default_names_are_broker_safe_and_listed_in_the_report(harness, tmp_path, servers, embedded_broker):
    _, port = embedded_broker
    seen = []
    peer = servers(relay(port, seen=seen))
    f = plain(tmp_path)
    long_ids = write(tmp_path / "ids.yaml", """\
name: Long and odd client ids still connect
protocol: 3.1.1
timeout: 5s
clients:
  a: {client_id: AbcdefghijklmnopQRSTU09}
  b: {client_id: "refused-keeper.with.dots"}
steps:
  - connect: a
  - connect: b
""")
    out = tmp_path / "r.json"
    proc = run(harness, f, long_ids, "--broker", f"127.0.0.1:{peer.port}", "--json", out)
    assert proc.returncode == 0, proc.stderr
    ids = [cid for _, cid in seen]
    assert len(ids) == 2 + 6  # a probe per version, two clients in each of three scenario runs
    for cid in ids:
        assert re.fullmatch(r"[a-z0-9]{1,23}", cid), cid
    rep = json.loads(out.read_text())
    listed = {}
    for sc in rep["scenarios"]:
        names = sc["names"]
        assert re.fullmatch(r"mh[0-9a-f]{6}/[0-9]+/", names["topic_prefix"]), names
        listed.update({v: (sc["name"], k) for k, v in names["client_ids"].items()})
        for p in sc["packets"]:
            if p["type"] == "PUBLISH":  # every level of every topic sent: [a-z0-9]
                levels = p["decoded"]["topic"].split("/")
                assert all(re.fullmatch(r"[a-z0-9]+", l) for l in levels), p["decoded"]["topic"]
    # Every client that connected is in the report's mapping, under its scenario name.
    assert set(ids) - set(listed) == {i for i in ids if "probe" in i}
    assert {k for _, k in listed.values()} == {"sub", "pub-1", "a", "b"}
    assert len(set(listed)) == len(listed)


def test_prefix_none_sends_names_as_written(harness, tmp_path, servers, embedded_broker):
    _, port = embedded_broker
    seen = []
    peer = servers(relay(port, seen=seen))
    out = tmp_path / "r.json"
    proc = run(harness, plain(tmp_path, protocols="5"), "--broker", f"127.0.0.1:{peer.port}", "--prefix", "none",
               "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert [cid for _, cid in seen if "probe" not in cid] == ["sub", "pub-1"]
    topics = [p["decoded"]["topic"] for p in json.loads(out.read_text())["scenarios"][0]["packets"]
              if p["type"] == "PUBLISH"]
    assert topics and set(topics) == {"t/a"}


def test_prefix_template_places_the_names(harness, tmp_path, embedded_broker):
    host, port = embedded_broker
    out = tmp_path / "r.json"
    proc = run(harness, plain(tmp_path, protocols="5"), "--broker", f"{host}:{port}", "--prefix", "ci/{run}/{n}",
               "--json", out)
    assert proc.returncode == 0, proc.stderr
    sc = json.loads(out.read_text())["scenarios"][0]
    assert re.fullmatch(r"ci/mh[0-9a-f]{6}/1/", sc["names"]["topic_prefix"]), sc["names"]
    sent = [p["decoded"]["topic"] for p in sc["packets"] if p["type"] == "PUBLISH" and p["direction"] == "to_broker"]
    assert sent == [sc["names"]["topic_prefix"] + "t/a"]
    for bad, why in [("ci/{run}", "{n}"), ("a/+/{n}", "wildcard"), ("$x/{n}", "'$'")]:
        proc = run(harness, plain(tmp_path), "--broker", f"{host}:{port}", "--prefix", bad)
        assert proc.returncode == 2 and why in proc.stderr, proc.stderr


def test_a_broker_rewriting_topics_is_one_run_level_finding_MQTT_4_7_3_4(harness, tmp_path, servers,
                                                                         embedded_broker):
    # RabbitMQ maps MQTT '/' to AMQP '.' and back: a '.' published comes back as '/'.
    _, port = embedded_broker
    peer = servers(relay(port, to_client=lambda f: rewrite_publish_topic(f, lambda t: t.replace(b".", b"/"))
                         if f[0] >> 4 == w.PUBLISH else f))
    for i in range(3):
        plain(tmp_path / "s", f"rewrite {i}", protocols="3.1.1", file=f"s{i}.yaml")
    out = tmp_path / "r.json"
    args = [tmp_path / "s", "--broker", f"127.0.0.1:{peer.port}", "--prefix", "{run}.{n}", "--json", out]
    proc = run(harness, *args)
    assert summary(proc) == (3, 0, 0, 0), proc.stderr  # no topic mismatch in any scenario
    assert proc.returncode == 1, "a finding without a known deviation fails the run"
    rep = json.loads(out.read_text())
    assert len(rep["findings"]) == 1, rep["findings"]
    finding = rep["findings"][0]
    assert finding["statement"] == "MQTT-4.7.3-4"
    assert finding["scenarios"] == 3
    assert "'.' -> '/'" in finding["message"]
    assert re.search(r"'mh[0-9a-f]{6}\.[0-9]+/'.*'mh[0-9a-f]{6}/[0-9]+/'", finding["message"]), finding["message"]
    assert len(re.findall(r"^run finding \[MQTT-4.7.3-4\]", proc.stderr, re.M)) == 1, proc.stderr
    # A profile that knows the broker does this: the run passes, the finding stays visible.
    profile = write(tmp_path / "p.yaml", """\
name: rewriter
known_deviations:
  - {scenario: "*", statement: MQTT-4.7.3-4, reason: "maps '.' to '/'"}
""")
    proc = run(harness, *args, "--profile", profile)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["findings"][0]["known_deviation"]["reason"] == "maps '.' to '/'"
    # Without the rewrite there is no finding.
    proc = run(harness, tmp_path / "s", "--broker", f"127.0.0.1:{port}", "--prefix", "{run}.{n}", "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["findings"] == []


# --------------------------------------------------------------------------------------
# Keep Alive


def connect_keep_alives(sc):
    return {p["client"]: p["decoded"]["keep_alive"] for p in sc["packets"]
            if p["type"] == "CONNECT" and p["direction"] == "to_broker"}


def test_clients_connect_with_keep_alive_60_unless_the_scenario_says(harness, tmp_path):
    f = write(tmp_path / "ka.yaml", """\
name: Keep Alive per client
protocols: [3.1.1, 5]
timeout: 5s
clients:
  typical: {}
  off: {keep_alive: 0}
  fast: {keep_alive: 1}
steps:
  - connect: typical
  - connect: off
  - connect: fast
  - expect_no_packet: {client: fast, for: 2500ms}
""")
    out = tmp_path / "r.json"
    proc = run(harness, f, "--json", out)
    assert proc.returncode == 0, proc.stderr
    for sc in json.loads(out.read_text())["scenarios"]:
        assert connect_keep_alives(sc) == {"typical": 60, "off": 0, "fast": 1}
        # The 1 s client pinged while expect_no_packet waited: PINGRESP is an answer, not
        # an unexpected packet.
        fast = [(p["direction"], p["type"]) for p in sc["packets"] if p["client"] == "fast"]
        assert ("to_broker", "PINGREQ") in fast and ("from_broker", "PINGRESP") in fast, fast
        assert not any(p["type"] == "PINGREQ" for p in sc["packets"] if p["client"] == "typical")


# --------------------------------------------------------------------------------------
# A CONNECT refused where the scenario did not ask for a refusal


def refusing(port, code_311, code_5):
    """Answers every scenario client's CONNECT (not the probe's) with a refusal."""
    def answer(level, client_id):
        if "probe" in client_id:
            return None
        code = code_5 if level == 5 else code_311
        return bytes([0x20, 3 if level == 5 else 2, 0, code]) + (b"\x00" if level == 5 else b"")
    return relay(port, on_connect=answer)


@pytest.mark.parametrize("codes,status,exit_status,text", [
    ((0x05, 0x87), "skipped", 0, {"3.1.1": "0x05 (not_authorized)", "5": "0x87 (not_authorized)"}),
    ((0x02, 0x85), "failed", 1, {"3.1.1": "0x02 (identifier_rejected) [MQTT-3.1.3-5]",
                                 "5": "0x85 (client_identifier_not_valid) [MQTT-3.1.3-5]"}),
    ((0x03, 0x9F), "error", 2, {"3.1.1": "0x03 (server_unavailable)", "5": "0x9F (connection_rate_exceeded)"}),
], ids=["not-authorized", "portable-id-refused", "transient"])
def test_an_unasked_refusal_is_the_one_root_cause(harness, tmp_path, servers, embedded_broker, codes, status,
                                                  exit_status, text):
    _, port = embedded_broker
    peer = servers(refusing(port, *codes))
    out = tmp_path / "r.json"
    proc = run(harness, plain(tmp_path), "--broker", f"127.0.0.1:{peer.port}", "--json", out)
    assert proc.returncode == exit_status, proc.stderr
    for sc in json.loads(out.read_text())["scenarios"]:
        assert sc["status"] == status
        message = sc["skip_reason"] if status == "skipped" else sc["failure"]["message"]
        client_id = sc["names"]["client_ids"]["sub"]
        assert f"broker refused CONNECT of client sub (client id '{client_id}'): CONNACK {text[sc['protocol']]}" in message
        # The scenario stops at its first step: no later step fails for want of a connection.
        assert [s["status"] for s in sc["steps"]][0] == status
        assert all(s["status"] == "skipped" for s in sc["steps"][1:]), sc["steps"]
        assert sum(s["status"] == "failed" for s in sc["steps"]) == (1 if status == "failed" else 0)


# --------------------------------------------------------------------------------------
# Known deviations: the failure's own statement only


def test_a_known_deviation_does_not_match_through_the_scenario_spec_list(harness, tmp_path):
    # The scenario checks MQTT-3.3.1-9 but its failing step names another statement (the
    # step's own spec:): a deviation entry for 3.3.1-9 must not excuse that failure.
    f = write(tmp_path / "f.yaml", PLAIN.format(name="Fails for another cause", protocols="5")
              .replace("topic: t/a, payload: hello, within: 2s", "topic: t/zzz, within: 300ms, spec: MQTT-3.3.2-1"))
    profile = write(tmp_path / "p.yaml", """\
name: strict
known_deviations:
  - {scenario: "Fails for another cause*", statement: MQTT-3.3.1-9, reason: "r"}
""")
    out = tmp_path / "r.json"
    proc = run(harness, f, "--profile", profile, "--json", out)
    assert proc.returncode == 1, proc.stderr
    scenario = json.loads(out.read_text())["scenarios"][0]
    assert scenario["failure"]["statement"] == "MQTT-3.3.2-1"
    assert "known_deviation" not in scenario


# --------------------------------------------------------------------------------------
# Bad input: exit 2 with one clear message


def test_no_scenario_found_exits_2_naming_the_paths(harness, tmp_path):
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty" / "notes.txt", "not a scenario")
    proc = run(harness, tmp_path / "empty")
    assert proc.returncode == 2
    assert f"no scenario file (*.yaml, *.yml) under {tmp_path / 'empty'}" in proc.stderr
    f = plain(tmp_path)
    proc = run(harness, f, "--filter", "no such scenario*")
    assert proc.returncode == 2
    assert "no scenario matching --filter 'no such scenario*' among the 2 found under" in proc.stderr
    proc = run(harness, plain(tmp_path, protocols="3.1.1", file="old.yaml"), "--protocol", "5")
    assert proc.returncode == 2 and "no scenario of MQTT 5" in proc.stderr, proc.stderr


def test_a_pasted_scenario_name_with_its_protocol_suffix_selects_it(harness, tmp_path):
    f = write(tmp_path / "s.yaml", PLAIN.format(name="Odd [x] name", protocols="3.1.1, 5"))
    out = tmp_path / "r.json"
    proc = run(harness, f, "--filter", "Odd [x] name [3.1.1]", "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert [(s["name"], s["status"]) for s in json.loads(out.read_text())["scenarios"]] == [
        ("Odd [x] name [3.1.1]", "passed")]


@pytest.mark.parametrize("text,line,what", [
    ("name: p\nfeatures:\n  wills: true\n  qos2: true\n", 4, "unknown feature `qos2`"),
    ('name: p\nfeatures:\n  "5":\n    retain_avaliable: true\n', 4, "unknown feature `retain_avaliable`"),
    ("name: p\nknown_deviations:\n  - scenario: x\n    statement: MQTT-1.5.3-1\n    reason: r\n    severity: high\n",
     6, "unknown key `severity` in a known deviation"),
    ("name: p\nprotocols: [3.1.1, 6]\n", 2, "`protocols`: expected 3.1.1 or 5, got '6'"),
    ("name: p\nfeaturs:\n  wills: true\n", 2, "unknown key `featurs`"),
], ids=["feature", "feature-per-version", "deviation-entry", "protocols", "top-level"])
def test_an_unknown_profile_key_exits_2_naming_file_and_line(harness, tmp_path, text, line, what):
    profile = write(tmp_path / "p.yaml", text)
    proc = run(harness, plain(tmp_path), "--profile", profile)
    assert proc.returncode == 2
    assert re.search(rf"^{re.escape(str(profile))}:{line}:\d+: .*{re.escape(what)}", proc.stderr, re.M), proc.stderr


def test_a_known_deviation_matching_nothing_is_a_warning(harness, tmp_path):
    profile = write(tmp_path / "p.yaml", """\
name: stale
known_deviations:
  - {scenario: "A message reaches its subscriber [5]", statement: MQTT-3.3.1-9, reason: "matches"}
  - {scenario: "*/gone.yaml", statement: MQTT-3.3.1-9, reason: "a scenario that was removed"}
""")
    out = tmp_path / "r.json"
    proc = run(harness, plain(tmp_path), "--profile", profile, "--json", out)
    assert proc.returncode == 0, proc.stderr
    warning = f"{profile}:4: known deviation `*/gone.yaml` (MQTT-3.3.1-9) matches no scenario"
    assert proc.stderr.count(warning) == 1, proc.stderr
    assert "A message reaches its subscriber [5]`" not in proc.stderr
    assert [x for x in json.loads(out.read_text())["warnings"] if warning in x]


def test_a_50_mb_scenario_file_is_refused_without_reading_it(harness, tmp_path):
    big = tmp_path / "big.yaml"
    head = "name: big\nprotocol: 5\nclients:\n  a: {}\nsteps:\n  - connect: a\n"
    line = '  - publish: {client: a, topic: t/a, payload: "xxxxxxxxxxxxxxxx"}\n'
    with open(big, "w") as out:
        out.write(head)
        out.write(line * ((50 * 1024 * 1024) // len(line)))
    # Its peak RSS from wait4(); a timer ends it should it hang.
    child = subprocess.Popen([str(harness), "run", str(big)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    timer = threading.Timer(RUN_TIMEOUT, child.kill)
    timer.start()
    started = time.monotonic()
    err = child.stderr.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    took = time.monotonic() - started
    timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 2, err
    assert re.search(rf"^{re.escape(str(big))}: the file is {big.stat().st_size} bytes; a scenario file may have at most "
                     r"1048576", err, re.M), err
    assert took < 5, f"took {took:.1f} s"
    assert usage.ru_maxrss < 200 * 1024, f"peak RSS {usage.ru_maxrss} KiB"  # 3.6 GB before the limit
