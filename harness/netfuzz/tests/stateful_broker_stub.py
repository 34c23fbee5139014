#!/usr/bin/python3
"""Test-only MQTT broker stub with a bug reachable only across connections, for
scripts/e2e/test_netfuzz_stateful.py (`mqtt-harness fuzz --stateful`).

    stateful_broker_stub.py PORT [--fixed]

A small MQTT 3.1.1 / 5.0 broker: CONNECT (a second connection with a client id in use
takes it over: the old connection is closed, MQTT-3.1.4-3), SUBSCRIBE (plain filters,
`+`, `#`, `$share/GROUP/` stripped), PUBLISH QoS 0/1/2 routed to the matching
subscriptions at the lower of the two QoS, PUBACK/PUBREC/PUBREL/PUBCOMP both ways,
UNSUBSCRIBE, PINGREQ, DISCONNECT. Anything it cannot parse closes the connection.

The planted bug: when a client id is taken over while a QoS 2 message the broker sent to
the old connection still waits for its PUBREC, the stub "frees" the old session first and
then walks its in-flight list: os.abort() (SIGABRT), as a use-after-free would crash. It
takes a subscriber connection, a publisher connection and a takeover, in that order; no
single connection reaches it. With --fixed the in-flight message is dropped instead.
Listens on 127.0.0.1 only.
"""
import os
import selectors
import socket
import sys

FIXED = "--fixed" in sys.argv[2:]


def varint(buf, at):
    value, shift = 0, 0
    for i in range(4):
        b = buf[at + i]  # IndexError: truncated -> the connection is closed
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, at + i + 1
        shift += 7
    raise ValueError("varint longer than 4 bytes")


def string(buf, at):
    n = int.from_bytes(buf[at:at + 2], "big")
    if at + 2 + n > len(buf):
        raise ValueError("string runs past the packet")
    return buf[at + 2:at + 2 + n], at + 2 + n


def matches(filt, topic):
    if filt.startswith(b"$share/"):
        parts = filt.split(b"/", 2)
        if len(parts) < 3:
            return False
        filt = parts[2]
    f, t = filt.split(b"/"), topic.split(b"/")
    if topic.startswith(b"$") and f[0] in (b"+", b"#"):
        return False  # MQTT-4.7.2-1
    for i, level in enumerate(f):
        if level == b"#":
            return True
        if i >= len(t) or (level != b"+" and level != t[i]):
            return False
    return len(f) == len(t)


class Connection:
    def __init__(self, broker, sock):
        self.broker, self.sock = broker, sock
        self.buf = b""
        self.version = None
        self.client_id = None
        self.subscriptions = {}     # filter -> QoS
        self.awaiting_pubrec = set()  # packet ids of QoS 2 messages sent to this client
        self.next_id = 1

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def deliver(self, topic, qos, payload):
        head = bytes([0x30 | qos << 1])
        body = len(topic).to_bytes(2, "big") + topic
        if qos:
            pid = self.next_id
            self.next_id = self.next_id % 65535 + 1
            body += pid.to_bytes(2, "big")
            if qos == 2:
                self.awaiting_pubrec.add(pid)
        if self.version == 5:
            body += b"\x00"
        body += payload
        out, n = b"", len(body)
        while True:
            b, n = n & 0x7F, n >> 7
            out += bytes([b | (0x80 if n else 0)])
            if not n:
                break
        self.send(head + out + body)

    def handle(self, data):
        """Returns False to close."""
        self.buf += data
        while len(self.buf) >= 2:
            try:
                length, body_at = varint(self.buf, 1)
            except IndexError:
                return True
            if len(self.buf) < body_at + length:
                return True
            header, body = self.buf[0], self.buf[body_at:body_at + length]
            self.buf = self.buf[body_at + length:]
            if not self.packet(header, body):
                return False
        return True

    def packet(self, header, body):
        kind = header >> 4
        if self.version is None:
            if kind != 1 or body[:6] != b"\x00\x04MQTT" or body[6] not in (4, 5):
                return False
            self.version = body[6]
            at = 10
            if self.version == 5:
                plen, at = varint(body, at)
                at += plen
            client_id, _ = string(body, at)
            self.client_id = client_id
            self.broker.connected(self)
            self.send(b"\x20\x03\x00\x00\x00" if self.version == 5 else b"\x20\x02\x00\x00")
            return True
        if kind == 12:
            self.send(b"\xd0\x00")
        elif kind == 8 and header == 0x82:
            pid, at = body[:2], 2
            if self.version == 5:
                plen, at = varint(body, at)
                at += plen
            codes = b""
            while at < len(body):
                filt, at = string(body, at)
                qos = body[at] & 3
                at += 1
                self.subscriptions[filt] = min(qos, 2)
                codes += bytes([min(qos, 2)])
            if not codes:
                return False
            props = b"\x00" if self.version == 5 else b""
            self.send(bytes([0x90, 2 + len(props) + len(codes)]) + pid + props + codes)
        elif kind == 10 and header == 0xA2:
            pid, at = body[:2], 2
            if self.version == 5:
                plen, at = varint(body, at)
                at += plen
            n = 0
            while at < len(body):
                filt, at = string(body, at)
                self.subscriptions.pop(filt, None)
                n += 1
            if self.version == 5:
                self.send(bytes([0xB0, 3 + n]) + pid + b"\x00" + b"\x00" * n)
            else:
                self.send(b"\xb0\x02" + pid)
        elif kind == 3:
            qos = (header >> 1) & 3
            if qos == 3:
                return False
            topic, at = string(body, 0)
            pid = b""
            if qos:
                pid, at = body[at:at + 2], at + 2
            if self.version == 5:
                plen, at = varint(body, at)
                at += plen
            if topic:
                self.broker.route(topic, qos, body[at:])
            if qos == 1:
                self.send(b"\x40\x02" + pid)
            elif qos == 2:
                self.send(b"\x50\x02" + pid)
        elif kind == 5:  # PUBREC from the subscriber: its QoS 2 delivery moves on
            self.awaiting_pubrec.discard(int.from_bytes(body[:2], "big"))
            self.send(b"\x62\x02" + body[:2])
        elif kind == 6:
            self.send(b"\x70\x02" + body[:2])
        elif kind in (4, 7):
            pass
        elif kind == 14:
            return False
        else:
            return False  # CONNECT again, server-to-client types, reserved: protocol error
        return True


class Broker:
    def __init__(self):
        self.by_client_id = {}
        self.conns = {}
        self.sel = selectors.DefaultSelector()

    def connected(self, conn):
        old = self.by_client_id.get(conn.client_id)
        self.by_client_id[conn.client_id] = conn
        if old is None or old is conn:
            return
        # Takeover (MQTT-3.1.4-3): the old connection is closed.
        if old.awaiting_pubrec and not FIXED:
            os.abort()  # the planted bug: the old session's in-flight QoS 2 list, "freed"
        self.close(old.sock)

    def route(self, topic, qos, payload):
        for conn in list(self.conns.values()):
            granted = [q for f, q in conn.subscriptions.items() if matches(f, topic)]
            if granted:
                conn.deliver(topic, min(qos, max(granted)), payload)

    def close(self, sock):
        conn = self.conns.pop(sock, None)
        if conn is None:
            return
        if self.by_client_id.get(conn.client_id) is conn:
            del self.by_client_id[conn.client_id]
        self.sel.unregister(sock)
        sock.close()

    def serve(self, port):
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(128)
        self.sel.register(server, selectors.EVENT_READ)
        print(f"listening on 127.0.0.1:{port}", flush=True)
        while True:
            for key, _ in self.sel.select():
                if key.fileobj is server:
                    sock, _ = server.accept()
                    self.conns[sock] = Connection(self, sock)
                    self.sel.register(sock, selectors.EVENT_READ)
                    continue
                sock = key.fileobj
                conn = self.conns.get(sock)
                if conn is None:
                    continue
                try:
                    data = sock.recv(65536)
                    keep = bool(data) and conn.handle(data)
                except (OSError, ValueError, IndexError):
                    keep = False
                if not keep:
                    self.close(sock)


if __name__ == "__main__":
    Broker().serve(int(sys.argv[1]))
