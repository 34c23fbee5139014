#!/usr/bin/python3
"""Test-only MQTT broker stub with a planted crash, for scripts/e2e/test_netfuzz.py.

    crashing_broker_stub.py PORT [--hang]

Answers CONNECT with a success CONNACK, PINGREQ with PINGRESP, SUBSCRIBE with SUBACK and
QoS 1/2 PUBLISH with PUBACK/PUBREC. The planted bug: an MQTT 5 SUBSCRIBE, after a successful
CONNECT, whose properties contain a User Property (id 0x26) calls os.abort() (SIGABRT), or
with --hang stops serving every connection (its single event loop sleeps for an hour).
Anything it cannot parse closes the connection. Listens on 127.0.0.1 only.
"""
import os
import selectors
import socket
import sys
import time

HANG = "--hang" in sys.argv[2:]

# MQTT 5 property id -> value kind (2.2.2.2), to walk a property block.
BYTE, TWO, FOUR, VARINT, UTF8, BINARY, PAIR = range(7)
PROPERTY_KIND = {
    0x01: BYTE, 0x02: FOUR, 0x03: UTF8, 0x08: UTF8, 0x09: BINARY, 0x0B: VARINT, 0x11: FOUR,
    0x12: UTF8, 0x13: TWO, 0x15: UTF8, 0x16: BINARY, 0x17: BYTE, 0x18: FOUR, 0x19: BYTE,
    0x1A: UTF8, 0x1C: UTF8, 0x1F: UTF8, 0x21: TWO, 0x22: TWO, 0x23: TWO, 0x24: BYTE,
    0x25: BYTE, 0x26: PAIR, 0x27: FOUR, 0x28: BYTE, 0x29: BYTE, 0x2A: BYTE,
}


def varint(buf, at):
    value, shift = 0, 0
    for i in range(4):
        if at + i >= len(buf):
            return None, at
        b = buf[at + i]
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, at + i + 1
        shift += 7
    raise ValueError("varint longer than 4 bytes")


def take_packet(buf):
    """The first whole packet of `buf` as (first byte, body, the bytes after it); None while
    it is incomplete. ValueError: a remaining length longer than 4 bytes."""
    if len(buf) < 2:
        return None
    length, body_at = varint(buf, 1)
    if length is None or len(buf) < body_at + length:
        return None
    return buf[0], buf[body_at:body_at + length], buf[body_at + length:]


def property_ids(block):
    ids, at = [], 0
    while at < len(block):
        pid, at = varint(block, at)
        kind = PROPERTY_KIND[pid]  # KeyError: unknown property -> malformed
        if kind in (BYTE, TWO, FOUR):
            at += {BYTE: 1, TWO: 2, FOUR: 4}[kind]
        elif kind == VARINT:
            _, at = varint(block, at)
        else:
            for _ in range(2 if kind == PAIR else 1):
                n = int.from_bytes(block[at:at + 2], "big")
                at += 2 + n
        if at > len(block):
            raise ValueError("property runs past the block")
        ids.append(pid)
    return ids


class Connection:
    def __init__(self):
        self.buf = b""
        self.version = None  # protocol level of a successful CONNECT

    def handle(self, sock, data):
        """Returns False to close."""
        self.buf += data
        while (taken := take_packet(self.buf)) is not None:
            header, body, self.buf = taken
            kind = header >> 4
            if self.version is None:
                if kind != 1 or len(body) < 7 or body[:6] != b"\x00\x04MQTT":
                    return False
                self.version = body[6]
                sock.sendall(b"\x20\x03\x00\x00\x00" if self.version == 5 else b"\x20\x02\x00\x00")
            elif kind == 12:
                sock.sendall(b"\xd0\x00")
            elif kind == 8 and header == 0x82 and len(body) >= 2:
                if self.version == 5:
                    plen, at = varint(body, 2)
                    if plen is None:
                        return False
                    if 0x26 in property_ids(body[at:at + plen]):
                        if HANG:
                            time.sleep(3600)  # the planted hang
                        os.abort()  # the planted crash
                sock.sendall(b"\x90\x03" + body[:2] + b"\x00" if self.version != 5 else b"\x90\x04" + body[:2] + b"\x00\x00")
            elif kind == 3:
                qos = (header >> 1) & 3
                if qos in (1, 2):
                    tlen = int.from_bytes(body[:2], "big")
                    pid = body[2 + tlen:4 + tlen]
                    sock.sendall((b"\x40\x02" if qos == 1 else b"\x50\x02") + pid)
            elif kind == 14:
                return False
        return True


def main():
    port = int(sys.argv[1])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(128)
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    conns = {}
    while True:
        for key, _ in sel.select():
            if key.fileobj is server:
                sock, _ = server.accept()
                conns[sock] = Connection()
                sel.register(sock, selectors.EVENT_READ)
                continue
            sock = key.fileobj
            try:
                data = sock.recv(65536)
                keep = bool(data) and conns[sock].handle(sock, data)
            except (OSError, ValueError, KeyError, IndexError):
                keep = False
            if not keep:
                sel.unregister(sock)
                del conns[sock]
                sock.close()


if __name__ == "__main__":
    main()
