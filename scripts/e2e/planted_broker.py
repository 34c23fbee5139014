#!/usr/bin/python3
"""Test-only MQTT 3.1.1/5.0 broker with one planted bug per broker oracle, for
scripts/e2e/test_netfuzz_oracles.py (`mqtt-harness fuzz --spawn`, docs/netfuzz.md
"Broker oracles").

    planted_broker.py PORT [--bug none|stall|lose|grow|duplicate]

Routes PUBLISH to subscriptions (exact filters and FILTER/# prefixes, granted QoS at most
1), answers CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, QoS 1/2 PUBLISH and PUBREL. Every
planted bug needs a multi-step path: a connection that SUBSCRIBEs to a filter and later
UNSUBSCRIBEs from it, then:

  stall  the event loop sleeps 1.5 s (every client waits; no client is refused)
  lose   the unsubscribe clears the subscriptions of every connection, so QoS 1 messages
         are acknowledged to their publisher and never delivered (QoS 1, 4.3.2)
  grow   4 MiB is kept in a list that nothing ever frees (RSS grows without bound)
  duplicate  from then on every QoS 1 delivery is sent twice on its connection, the second
         with DUP set: a resend on an unbroken connection (5.0 MQTT-4.4.0-1 allows resends
         on reconnect only)
  none   the healthy broker: zero findings expected

Single-threaded selector loop on 127.0.0.1.
"""
import selectors
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "harness/netfuzz/tests"))
from crashing_broker_stub import take_packet, varint  # noqa: E402  the one packet reader of the stubs
from mqtt_wire import varint as encode_varint  # noqa: E402

BUG = sys.argv[sys.argv.index("--bug") + 1] if "--bug" in sys.argv else "none"
KEPT = []  # the `grow` bug's garbage
DUPLICATING = []  # non-empty once the `duplicate` bug is set off


def string(body, at):
    n = int.from_bytes(body[at:at + 2], "big")
    if at + 2 + n > len(body):
        raise ValueError("string runs past the packet")
    return body[at + 2:at + 2 + n], at + 2 + n


def skip_properties(body, at, v5):
    if not v5:
        return at
    n, at = varint(body, at)
    if n is None or at + n > len(body):
        raise ValueError("properties run past the packet")
    return at + n


def matches(filt, topic):
    if filt == topic:
        return True
    if filt == b"#":
        return not topic.startswith(b"$")
    return filt.endswith(b"/#") and (topic == filt[:-2] or topic.startswith(filt[:-1]))


class Broker:
    def __init__(self):
        self.conns = {}  # sock -> Connection

    def route(self, topic, payload, qos):
        for sock, c in list(self.conns.items()):
            granted = max((q for f, q in c.subs.items() if matches(f, topic)), default=None)
            if granted is None:
                continue
            q = min(qos, granted, 1)
            head = bytes([0x30 | (q << 1)])
            body = len(topic).to_bytes(2, "big") + topic
            if q:
                c.next_id = c.next_id % 65535 + 1
                body += c.next_id.to_bytes(2, "big")
            if c.v5:
                body += b"\x00"
            body += payload
            packet = head + encode_varint(len(body)) + body
            if q and DUPLICATING:
                packet += bytes([head[0] | 0x08]) + encode_varint(len(body)) + body
            try:
                sock.sendall(packet)
            except OSError:
                pass


class Connection:
    def __init__(self, broker):
        self.broker = broker
        self.buf = b""
        self.v5 = None
        self.subs = {}
        self.subscribed_ever = set()
        self.next_id = 0

    def handle(self, sock, data):
        """Returns False to close."""
        self.buf += data
        while (taken := take_packet(self.buf)) is not None:
            header, body, self.buf = taken
            kind = header >> 4
            if self.v5 is None:
                if kind != 1 or len(body) < 7 or body[:6] != b"\x00\x04MQTT" or body[6] not in (4, 5):
                    return False
                self.v5 = body[6] == 5
                sock.sendall(b"\x20\x03\x00\x00\x00" if self.v5 else b"\x20\x02\x00\x00")
            elif kind == 12:
                sock.sendall(b"\xd0\x00")
            elif kind == 14 or kind == 1:
                return False
            elif kind == 8:
                pid = body[:2]
                at = skip_properties(body, 2, self.v5)
                codes = b""
                while at < len(body):
                    filt, at = string(body, at)
                    opts = body[at]
                    at += 1
                    self.subs[filt] = min(opts & 3, 1)
                    self.subscribed_ever.add(filt)
                    codes += bytes([min(opts & 3, 1)])
                rest = (b"\x00" if self.v5 else b"") + codes
                sock.sendall(b"\x90" + encode_varint(2 + len(rest)) + pid + rest)
            elif kind == 10:
                pid = body[:2]
                at = skip_properties(body, 2, self.v5)
                n = 0
                while at < len(body):
                    filt, at = string(body, at)
                    n += 1
                    if filt in self.subscribed_ever:
                        self.planted(filt)
                    self.subs.pop(filt, None)
                rest = (b"\x00" + b"\x00" * n) if self.v5 else b""
                sock.sendall(b"\xb0" + encode_varint(2 + len(rest)) + pid + rest)
            elif kind == 3:
                qos = (header >> 1) & 3
                topic, at = string(body, 0)
                pid = body[at:at + 2] if qos else b""
                at = skip_properties(body, at + len(pid), self.v5)
                if qos == 1:
                    sock.sendall(b"\x40\x02" + pid)
                elif qos == 2:
                    sock.sendall(b"\x50\x02" + pid)
                self.broker.route(topic, body[at:], qos)
            elif kind == 6:
                sock.sendall(b"\x70\x02" + body[:2])
        return True

    def planted(self, filt):
        """The planted bug, after SUBSCRIBE then UNSUBSCRIBE of `filt` on one connection."""
        if BUG == "stall":
            time.sleep(1.5)
        elif BUG == "lose":
            for c in self.broker.conns.values():
                c.subs.clear()
        elif BUG == "duplicate":
            DUPLICATING.append(filt)
        elif BUG == "grow":
            KEPT.append(bytearray(4 << 20))
            KEPT[-1][::4096] = b"x" * len(KEPT[-1][::4096])  # touched: counted in RSS


def main():
    port = int(sys.argv[1])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(128)
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    broker = Broker()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    while True:
        for key, _ in sel.select():
            if key.fileobj is server:
                sock, _ = server.accept()
                broker.conns[sock] = Connection(broker)
                sel.register(sock, selectors.EVENT_READ)
                continue
            sock = key.fileobj
            try:
                data = sock.recv(65536)
                keep = bool(data) and broker.conns[sock].handle(sock, data)
            except (OSError, ValueError, KeyError, IndexError):
                keep = False
            if not keep:
                sel.unregister(sock)
                del broker.conns[sock]
                sock.close()


if __name__ == "__main__":
    main()
