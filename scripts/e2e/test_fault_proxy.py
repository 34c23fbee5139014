"""End-to-end tests of `mqtt-harness proxy` (harness/net/fault FaultProxy, docs/faults.md).

Each fault kind is observed on the wire between raw-socket MQTT clients and the embedded
broker: a client talks to the broker through the proxy, and where useful an observer
connects to the broker directly. Timing asserts are lower bounds only (a delayed packet
cannot arrive before its delay), never speed limits. Every wait has a timeout; the
`procs` fixture stops the broker and proxy even on failure.
"""
import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import read_listening_line

TIMEOUT = 10.0

# --- a minimal independent MQTT encoder/decoder (MQTT 5 unless stated) ----------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + varint(len(body)) + body


def connect(client_id: str, keep_alive: int = 0, version: int = 5, will=None) -> bytes:
    flags = 0x02
    payload = utf8(client_id)
    props = b"\x00" if version == 5 else b""
    if will:
        topic, message = will
        flags |= 0x04
        payload += (b"\x00" if version == 5 else b"") + utf8(topic) + struct.pack("!H", len(message)) + message
    return packet(0x10, utf8("MQTT") + bytes([version, flags]) + struct.pack("!H", keep_alive) + props + payload)


def publish(topic: str, payload: bytes, qos: int = 0, packet_id: int = 0, version: int = 5) -> bytes:
    body = utf8(topic) + (struct.pack("!H", packet_id) if qos else b"") + (b"\x00" if version == 5 else b"")
    return packet(0x30 | (qos << 1), body + payload)


def subscribe(packet_id: int, topic_filter: str, qos: int = 0) -> bytes:
    return packet(0x82, struct.pack("!H", packet_id) + b"\x00" + utf8(topic_filter) + bytes([qos]))


def pubrel(packet_id: int) -> bytes:
    return packet(0x62, struct.pack("!H", packet_id))


PINGREQ = b"\xc0\x00"
CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, PINGRESP, DISCONNECT = 2, 3, 4, 5, 6, 7, 9, 13, 14


class Client:
    """Raw MQTT over a socket; packets are (type, flags, body)."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def recv(self, timeout: float = TIMEOUT):
        """Next packet, or None when the peer closed the connection."""
        deadline = time.monotonic() + timeout
        while True:
            got = self._take()
            if got:
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no packet within %.1fs" % timeout)
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data

    def _take(self):
        if len(self.buf) < 2:
            return None
        length, mult, i = 0, 1, 1
        while True:
            if i >= len(self.buf):
                return None
            b = self.buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        if len(self.buf) < i + length:
            return None
        first, body = self.buf[0], self.buf[i:i + length]
        self.buf = self.buf[i + length:]
        return first >> 4, first & 0x0F, body

    def expect(self, ptype: int, timeout: float = TIMEOUT):
        p = self.recv(timeout)
        assert p is not None, f"connection closed while waiting for packet type {ptype}"
        assert p[0] == ptype, f"expected packet type {ptype}, got {p}"
        return p

    def connect(self, client_id: str, **kw):
        self.send(connect(client_id, **kw))
        p = self.expect(CONNACK)
        assert p[2][1] == 0, f"CONNACK reason {p[2][1]:#x}"

    def close(self):
        self.sock.close()


def publish_topic_payload(body: bytes, qos: int, version: int = 5):
    tlen = struct.unpack("!H", body[:2])[0]
    topic = body[2:2 + tlen].decode()
    rest = body[2 + tlen + (2 if qos else 0):]
    if version == 5:
        rest = rest[1 + rest[0]:]  # property length is one byte for these small packets
    return topic, rest


def proxy_starter(harness, procs, broker):
    def start(*specs, pcap=None):
        args = [harness, "proxy", "--listen", "127.0.0.1:0", "--upstream", f"127.0.0.1:{broker[1]}"]
        for spec in specs:
            args += ["--fault", spec]
        if pcap:
            args += ["--pcap", pcap]
        proc = procs.start(args)
        host, port = read_listening_line(proc)
        assert host == "127.0.0.1"
        start.proc = proc
        return port

    return start


@pytest.fixture
def proxy(harness, procs, embedded_broker):
    """Starts `mqtt-harness proxy` in front of the embedded broker: proxy(*specs, pcap=None) -> port."""
    return proxy_starter(harness, procs, embedded_broker)


def direct(embedded_broker, client_id: str) -> Client:
    c = Client(embedded_broker[1])
    c.connect(client_id)
    return c


# --- CLI ------------------------------------------------------------------------------


def test_help_exits_0_and_bad_arguments_exit_2_naming_the_argument(harness):
    assert subprocess.run([harness, "proxy", "--help"], capture_output=True, timeout=10).returncode == 0
    for args, needle in [
        (["--upstream", "127.0.0.1:1883", "--fault", "cut:to_broker:after=PUBREK"], "after=PUBREK"),
        (["--upstream", "127.0.0.1:1883", "--fault", "delay:by=200x"], "'200x' is not a duration"),
        (["--fault", "segment:size=1"], "--upstream"),
        (["--upstream", "nowhere"], "--upstream"),
        (["--upstream", "127.0.0.1:1883", "--bogus"], "--bogus"),
    ]:
        r = subprocess.run([harness, "proxy", *args], capture_output=True, timeout=10)
        assert r.returncode == 2, (args, r.stderr)
        assert needle in r.stderr.decode(), (needle, r.stderr)
        assert r.stdout == b""


# --- passthrough and pcap ---------------------------------------------------------------


def tshark_types(path):
    tshark = shutil.which("tshark")
    if not tshark:
        pytest.fail("tshark is not installed")
    r = subprocess.run([tshark, "-r", str(path), "-Y", "mqtt", "-T", "fields", "-e", "mqtt.msgtype"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # One line per TCP frame; a frame carrying several MQTT packets lists them comma-separated.
    return [int(t) for line in r.stdout.decode().split() for t in line.split(",")]


@pytest.mark.parametrize("segment", [None, "segment:both:size=1"])
def test_pcap_decodes_as_mqtt_in_tshark_in_order(proxy, tmp_path, segment):
    port = proxy(*([segment] if segment else []), pcap=str(tmp_path))
    c = Client(port)
    c.connect("pcap-1")
    c.send(subscribe(1, "pcap/t", 0))
    c.expect(SUBACK)
    c.send(PINGREQ)
    c.expect(PINGRESP)
    c.send(b"\xe0\x00")  # DISCONNECT
    assert c.recv() is None  # the broker closes, the proxy passes the close on
    c.close()
    proxy.proc.terminate()
    assert proxy.proc.wait(timeout=10) == 0
    files = sorted(tmp_path.glob("conn-*.pcap"))
    assert len(files) == 1
    # CONNECT, CONNACK, SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT (MQTT 5 2.1.2)
    assert tshark_types(files[0]) == [1, 2, 8, 9, 12, 13, 14]


# --- one test per fault kind ------------------------------------------------------------


@pytest.mark.parametrize("broker", ["embedded", "mosquitto"])
def test_segment_1_byte_both_ways_still_completes_a_qos2_flow(harness, procs, request, broker):
    upstream = request.getfixturevalue("embedded_broker" if broker == "embedded" else "mosquitto")
    port = proxy_starter(harness, procs, upstream)("segment:both:size=1")
    sub = Client(port)
    sub.connect("seg-sub")
    sub.send(subscribe(1, "seg/t", 2))
    sub.expect(SUBACK)
    pub = Client(port)
    pub.connect("seg-pub")
    pub.send(publish("seg/t", b"hello", qos=2, packet_id=7))
    assert pub.expect(PUBREC)[2][:2] == b"\x00\x07"
    pub.send(pubrel(7))
    assert pub.expect(PUBCOMP)[2][:2] == b"\x00\x07"
    _, flags, body = sub.expect(PUBLISH)
    assert (flags >> 1) & 3 == 2
    assert publish_topic_payload(body, 2) == ("seg/t", b"hello")
    pid = body[8:10]
    sub.send(packet(0x50, pid))  # PUBREC
    assert sub.expect(PUBREL)[2][:2] == pid
    sub.send(packet(0x70, pid))  # PUBCOMP


@pytest.mark.parametrize("version", [5, 4])
def test_corrupted_publish_draws_the_brokers_malformed_answer(proxy, version):
    # 0x30 ^ 0x06 = 0x36: QoS 3, malformed [MQTT-3.3.1-4]
    port = proxy("corrupt:to_broker:packet=PUBLISH:nth=1:offset=0:xor=0x06")
    c = Client(port)
    c.connect("corrupt-1", version=version)
    c.send(publish("c/t", b"x", version=version))
    p = c.recv()
    if version == 5:
        assert p is not None and p[0] == DISCONNECT and p[2][0] == 0x81, p  # Malformed Packet
        assert c.recv() is None
    else:
        assert p is None  # 3.1.1: the broker closes the connection


@pytest.mark.parametrize("close", ["rst", "fin"])
def test_cut_after_pubrec_closes_both_sides_at_that_point(proxy, embedded_broker, close):
    observer = direct(embedded_broker, "cut-observer")
    observer.send(subscribe(1, "will/cut", 0))
    observer.expect(SUBACK)
    port = proxy(f"cut:to_client:after=PUBREC:nth=1:{close}")
    c = Client(port)
    c.connect("cut-1", will=("will/cut", b"gone"))
    c.send(publish("cut/t", b"x", qos=2, packet_id=3))
    assert c.expect(PUBREC)[2][:2] == b"\x00\x03"  # forwarded, then cut
    if close == "rst":
        with pytest.raises(ConnectionResetError):
            while c.recv() is not None:
                pass
    else:
        assert c.recv() is None
    # The broker side was cut too: the broker publishes the will of a lost connection (3.1.2.5).
    _, _, body = observer.expect(PUBLISH)
    assert publish_topic_payload(body, 0) == ("will/cut", b"gone")


def test_delay_holds_a_publish_behind_a_later_pingresp_for_at_least_the_delay(proxy, embedded_broker):
    port = proxy("delay:to_client:packet=PUBLISH:by=2s")
    sub = Client(port)
    sub.connect("delay-sub")
    sub.send(subscribe(1, "d/t", 0))
    sub.expect(SUBACK)
    pub = direct(embedded_broker, "delay-pub")
    sent = time.monotonic()
    pub.send(publish("d/t", b"late", qos=1, packet_id=1))
    pub.expect(PUBACK)
    sub.send(PINGREQ)  # the broker answers after it wrote the PUBLISH to the subscriber
    assert sub.recv()[0] == PINGRESP
    _, _, body = sub.expect(PUBLISH)
    assert time.monotonic() - sent >= 2.0
    assert publish_topic_payload(body, 0) == ("d/t", b"late")


def test_throttle_paces_a_2000_byte_publish_at_1000_bytes_per_second(proxy, embedded_broker):
    port = proxy("throttle:to_client:bytes_per_second=1000")
    sub = Client(port)
    sub.connect("thr-sub")  # CONNACK and SUBACK use up the 100-byte burst at most
    sub.send(subscribe(1, "thr/t", 0))
    sub.expect(SUBACK)
    pub = direct(embedded_broker, "thr-pub")
    payload = bytes(range(256)) * 8
    sent = time.monotonic()
    pub.send(publish("thr/t", payload))
    _, _, body = sub.expect(PUBLISH)
    # >= (2000+ bytes - 100 burst) / 1000 B/s
    assert time.monotonic() - sent >= 1.8
    assert publish_topic_payload(body, 0) == ("thr/t", payload)


def test_blackhole_after_connack_lets_the_brokers_keep_alive_expire(proxy):
    port = proxy("blackhole:both:after=CONNACK")
    c = Client(port)
    start = time.monotonic()
    c.connect("bh-1", keep_alive=1)
    closed = None
    deadline = start + TIMEOUT
    while time.monotonic() < deadline:
        c.send(PINGREQ)  # swallowed: the broker sees no packet
        try:
            p = c.recv(timeout=0.3)
        except TimeoutError:
            continue
        except ConnectionResetError:
            p = None
        assert p is None, f"nothing may come through the blackhole, got {p}"
        closed = time.monotonic()
        break
    assert closed is not None, "the broker did not close the silent connection"
    # 1.5 x Keep Alive [MQTT-3.1.2-22 (5.0) / MQTT-3.1.2-24 (3.1.1)]
    assert closed - start >= 1.5


def test_duplicate_publish_is_seen_twice_by_the_broker(proxy, embedded_broker):
    observer = direct(embedded_broker, "dup-observer")
    observer.send(subscribe(1, "dup/t", 0))
    observer.expect(SUBACK)
    port = proxy("duplicate:to_broker:packet=PUBLISH")
    c = Client(port)
    c.connect("dup-1")
    c.send(publish("dup/t", b"once", qos=1, packet_id=9))
    assert c.expect(PUBACK)[2][:2] == b"\x00\x09"
    assert c.expect(PUBACK)[2][:2] == b"\x00\x09"  # the broker acked the same id twice
    for _ in range(2):  # QoS 1 may deliver a duplicate (4.3.2): both reach the observer
        _, _, body = observer.expect(PUBLISH)
        assert publish_topic_payload(body, 0) == ("dup/t", b"once")


def test_reorder_swaps_two_publishes_at_the_receiver(proxy, embedded_broker):
    observer = direct(embedded_broker, "ro-observer")
    observer.send(subscribe(1, "ro/t", 0))
    observer.expect(SUBACK)
    port = proxy("reorder:to_broker:packet=PUBLISH")
    c = Client(port)
    c.connect("ro-1")
    c.send(publish("ro/t", b"first") + publish("ro/t", b"second"))
    got = [publish_topic_payload(observer.expect(PUBLISH)[2], 0)[1] for _ in range(2)]
    assert got == [b"second", b"first"]
