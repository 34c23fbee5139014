"""A small, independent MQTT packet builder and reader for the end-to-end tests.

Deliberately separate from the project's codec (as mosquitto's test/mosq_test.py is from
mosquitto): tests that build their bytes with the code under test cannot catch its
mistakes. It can also build invalid packets on purpose.
"""
from __future__ import annotations

import select
import socket
import struct
import time

V311 = 4
V5 = 5

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = range(8, 16)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n % 128
        n //= 128
        if n:
            byte |= 0x80
        out.append(byte)
        if not n:
            return bytes(out)


def read_varint(buf: bytes, i: int) -> tuple[int, int]:
    """(value, index after it) of the Variable Byte Integer at buf[i]."""
    value, shift = 0, 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def utf8(s) -> bytes:
    b = s.encode() if isinstance(s, str) else bytes(s)
    return struct.pack("!H", len(b)) + b


def packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + varint(len(body)) + body


def properties(props: bytes = b"") -> bytes:
    return varint(len(props)) + props


def connect(client_id: str, version: int = V311, keep_alive: int = 60, clean: bool = True,
            will: tuple | None = None, props: bytes = b"", username: str | None = None,
            password: bytes | None = None, will_props: bytes = b"") -> bytes:
    """will: (topic, payload, qos, retain); props / will_props: encoded 5.0 properties."""
    flags = 0x02 if clean else 0
    if will:
        flags |= 0x04 | (will[2] << 3) | (0x20 if will[3] else 0)
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    body = utf8("MQTT") + bytes([version, flags]) + struct.pack("!H", keep_alive)
    if version == V5:
        body += properties(props)
    body += utf8(client_id)
    if will:
        if version == V5:
            body += properties(will_props)
        body += utf8(will[0]) + utf8(will[1])
    if username is not None:
        body += utf8(username)
    if password is not None:
        body += utf8(password)
    return packet(0x10, body)


def publish(topic: str, payload: bytes, qos: int = 0, packet_id: int = 0, retain: bool = False,
            version: int = V311, dup: bool = False) -> bytes:
    first = 0x30 | (qos << 1) | (0x01 if retain else 0) | (0x08 if dup else 0)
    body = utf8(topic)
    if qos:
        body += struct.pack("!H", packet_id)
    if version == V5:
        body += properties()
    return packet(first, body + payload)


def prop_u16(prop_id: int, value: int) -> bytes:
    return bytes([prop_id]) + struct.pack("!H", value)


def prop_u32(prop_id: int, value: int) -> bytes:
    return bytes([prop_id]) + struct.pack("!I", value)


RECEIVE_MAXIMUM, SESSION_EXPIRY, WILL_DELAY = 0x21, 0x11, 0x18


def parse_publish(p: Packet, version: int) -> dict:
    """topic, packet_id (QoS > 0), dup, qos, retain, payload of a PUBLISH (5.0 properties skipped)."""
    qos = (p.flags >> 1) & 3
    n = struct.unpack("!H", p.body[:2])[0]
    topic = p.body[2:2 + n].decode()
    i = 2 + n
    packet_id = 0
    if qos:
        packet_id = struct.unpack("!H", p.body[i:i + 2])[0]
        i += 2
    if version == V5:
        length, i = read_varint(p.body, i)
        i += length
    return {"topic": topic, "packet_id": packet_id, "dup": bool(p.flags & 8), "qos": qos,
            "retain": bool(p.flags & 1), "payload": p.body[i:]}


def subscribe(packet_id: int, filters: list[tuple[str, int]], version: int = V311) -> bytes:
    body = struct.pack("!H", packet_id)
    if version == V5:
        body += properties()
    for topic_filter, qos in filters:
        body += utf8(topic_filter) + bytes([qos])
    return packet(0x82, body)


def ack(kind: int, packet_id: int) -> bytes:
    return packet((kind << 4) | (0x02 if kind == PUBREL else 0), struct.pack("!H", packet_id))


def disconnect(version: int = V311, reason: int = 0) -> bytes:
    if version == V5 and reason:
        return packet(0xE0, bytes([reason]) + properties())
    return packet(0xE0, b"")


def pingreq() -> bytes:
    return b"\xc0\x00"


class Packet:
    def __init__(self, first: int, body: bytes):
        self.first = first
        self.type = first >> 4
        self.flags = first & 0x0F
        self.body = body

    def __repr__(self):
        return f"Packet(type={self.type}, flags={self.flags:#x}, body={self.body.hex()})"


class Closed(Exception):
    """The peer closed the connection."""


class Client:
    """A raw TCP MQTT client: sends given bytes, reads whole packets with timeouts."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self, deadline: float):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no packet from the broker in time")
        ready, _, _ = select.select([self.sock], [], [], remaining)
        if not ready:
            raise TimeoutError("no packet from the broker in time")
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed()
        self.buffer += chunk

    def read_packet(self, timeout: float = 10.0) -> Packet:
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buffer) >= 2:
                length, multiplier, i = 0, 1, 1
                complete_header = False
                while i < len(self.buffer) and i <= 4:
                    byte = self.buffer[i]
                    length += (byte & 0x7F) * multiplier
                    multiplier *= 128
                    i += 1
                    if not byte & 0x80:
                        complete_header = True
                        break
                if complete_header and len(self.buffer) >= i + length:
                    first, body = self.buffer[0], self.buffer[i:i + length]
                    self.buffer = self.buffer[i + length:]
                    return Packet(first, body)
            self._fill(deadline)

    def expect(self, kind: int, timeout: float = 10.0) -> Packet:
        p = self.read_packet(timeout)
        assert p.type == kind, f"expected packet type {kind}, got {p!r}"
        return p

    def wait_closed(self, timeout: float) -> list[Packet]:
        """Reads until the broker closes the connection; returns what it sent before.
        Raises TimeoutError if it is still open after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            try:
                seen.append(self.read_packet(max(0.0, deadline - time.monotonic())))
            except Closed:
                return seen

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def connack_reason(p: Packet) -> tuple[bool, int]:
    """(session_present, reason/return code) of a CONNACK."""
    return bool(p.body[0] & 0x01), p.body[1]
