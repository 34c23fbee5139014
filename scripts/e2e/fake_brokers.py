"""Brokers that break rules on purpose, for the tests of what a failure reports.

- LaxBroker: answers every request the way a careless broker might (CONNACK success with
  Session Present 0 for everything, SUBACK granting what was asked, PUBACK / PUBREC /
  PUBCOMP, PINGRESP) but forwards nothing, keeps no session, and never closes a connection
  whatever it receives. Many scenarios fail against it, each for a rule it breaks.
- Relay: a byte-for-byte TCP relay in front of a real broker that breaks one rule: it clears
  CONNACK's Session Present bit (so a session the broker keeps looks lost); sends a stray
  SUBACK (a packet id nobody asked for) right after the first CONNACK of a connection, or
  after each PINGRESP; sends a QoS 2 PUBLISH again right after its PUBREL; or drops every
  PUBLISH with DUP 1 (so a resumed session's re-sends never arrive).

Both listen on 127.0.0.1 on a free port, serve each connection on its own thread, and stop
everything they started in stop(). Packets are framed by an independent reader
(mqtt_wire), not the project's codec.
"""
from __future__ import annotations

import select
import socket
import struct
import threading

import mqtt_wire as w


def take_frames(buf: bytearray) -> list[bytes]:
    """Whole packets at the front of `buf` (removed from it). A Remaining Length that runs past
    four bytes is not MQTT: those bytes are dropped, as a careless broker would."""
    out = []
    while len(buf) >= 2:
        value, shift, i = 0, 0, 1
        while True:
            if i >= len(buf):
                return out  # the fixed header is not complete yet
            if i > 4:
                del buf[:]
                return out
            byte = buf[i]
            value |= (byte & 0x7F) << shift
            shift += 7
            i += 1
            if not byte & 0x80:
                break
        if len(buf) < i + value:
            return out
        out.append(bytes(buf[:i + value]))
        del buf[:i + value]
    return out


def body_of(frame: bytes) -> bytes:
    _, i = w.read_varint(frame, 1)
    return frame[i:]


class _Server:
    def __init__(self, port: int = 0):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._accept_loop, daemon=True)]
        self._threads[0].start()

    def _track(self, s: socket.socket) -> None:
        with self._lock:
            self._sockets.append(s)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._listener], [], [], 0.2)
            if not ready:
                continue
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._track(conn)
            t = threading.Thread(target=self._serve_safely, args=(conn,), daemon=True)
            with self._lock:
                self._threads.append(t)
            t.start()

    def _serve_safely(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except OSError:
            pass
        finally:
            conn.close()
            self.closed(conn)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def closed(self, conn: socket.socket) -> None:
        """Called once a connection is closed (a hook for subclasses)."""

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.close()
                except OSError:
                    pass
            threads = list(self._threads)
        for t in threads:
            t.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class LaxBroker(_Server):
    """Answers everything, forwards nothing, keeps nothing, closes nothing."""

    def published(self, conn: socket.socket, topic: str) -> None:
        """Called for each PUBLISH before it is answered (a hook for subclasses)."""

    def serve(self, conn: socket.socket) -> None:
        buf, version = bytearray(), w.V311
        while not self._stopping.is_set():
            ready, _, _ = select.select([conn], [], [], 0.2)
            if not ready:
                continue
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            for frame in take_frames(buf):
                kind, body = frame[0] >> 4, body_of(frame)
                reply = b""
                try:
                    if kind == w.CONNECT:
                        name_len = struct.unpack("!H", body[:2])[0]
                        version = body[2 + name_len]
                        reply = w.packet(0x20, b"\x00\x00" + (b"\x00" if version == w.V5 else b""))
                    elif kind == w.SUBSCRIBE:
                        reply = self._suback(body, version)
                    elif kind == w.UNSUBSCRIBE:
                        pid = body[:2]
                        filters = self._unsubscribe_count(body, version)
                        reply = w.packet(0xB0, pid + (b"\x00" + b"\x00" * filters if version == w.V5 else b""))
                    elif kind == w.PUBLISH:
                        qos = (frame[0] >> 1) & 3
                        topic_len = struct.unpack("!H", body[:2])[0]
                        self.published(conn, body[2:2 + topic_len].decode("utf-8", "replace"))
                        pid = body[2 + topic_len:4 + topic_len]
                        if qos == 1:
                            reply = w.packet(0x40, pid)
                        elif qos == 2:
                            reply = w.packet(0x50, pid)
                    elif kind == w.PUBREL:
                        reply = w.packet(0x70, body[:2])
                    elif kind == w.PINGREQ:
                        reply = b"\xd0\x00"
                    elif kind == w.DISCONNECT:
                        return
                except (IndexError, struct.error):
                    reply = b""  # a packet it cannot read: ignored, the connection stays
                if reply:
                    conn.sendall(reply)

    @staticmethod
    def _props_end(body: bytes, i: int, version: int) -> int:
        if version != w.V5:
            return i
        length, j = w.read_varint(body, i)
        return j + length

    def _suback(self, body: bytes, version: int) -> bytes:
        pid, i = body[:2], self._props_end(body, 2, version)
        codes = bytearray()
        while i + 2 <= len(body):
            n = struct.unpack("!H", body[i:i + 2])[0]
            i += 2 + n
            if i >= len(body):
                break
            options = body[i]
            i += 1
            codes.append(options & 3 if options & 3 != 3 else 0x80)
        return w.packet(0x90, pid + (b"\x00" if version == w.V5 else b"") + bytes(codes or b"\x00"))

    def _unsubscribe_count(self, body: bytes, version: int) -> int:
        i, n = self._props_end(body, 2, version), 0
        while i + 2 <= len(body):
            i += 2 + struct.unpack("!H", body[i:i + 2])[0]
            n += 1
        return max(n, 1)


class Relay(_Server):
    """A relay to `upstream` that breaks one rule on the broker's side."""

    def __init__(self, upstream: tuple[str, int], clear_session_present: bool = False, stray_suback: bool = False,
                 stray_suback_on_pingresp: bool = False, publish_after_pubrel: bool = False,
                 drop_resends: bool = False):
        self.upstream = upstream
        self.clear_session_present = clear_session_present
        self.stray_suback = stray_suback
        self.stray_suback_on_pingresp = stray_suback_on_pingresp
        self.publish_after_pubrel = publish_after_pubrel
        self.drop_resends = drop_resends
        super().__init__()

    @staticmethod
    def _stray_suback(v5: bool) -> bytes:
        # SUBACK for packet id 0x7777, which no SUBSCRIBE used.
        return w.packet(0x90, b"\x77\x77" + (b"\x00" if v5 else b"") + b"\x00")

    def serve(self, conn: socket.socket) -> None:
        up = socket.create_connection(self.upstream, timeout=5)
        self._track(up)
        try:
            down_buf, first_connack, v5 = bytearray(), True, False
            qos2_publishes: dict[bytes, bytes] = {}  # packet id -> the broker's QoS 2 PUBLISH
            while not self._stopping.is_set():
                ready, _, _ = select.select([conn, up], [], [], 0.2)
                if conn in ready:
                    data = conn.recv(65536)
                    if not data:
                        return
                    up.sendall(data)
                if up in ready:
                    data = up.recv(65536)
                    if not data:
                        return
                    down_buf += data
                    for frame in take_frames(down_buf):
                        out, kind = frame, frame[0] >> 4
                        if kind == w.CONNACK:
                            v5 = len(frame) > 4
                            if self.clear_session_present:
                                _, i = w.read_varint(frame, 1)
                                out = frame[:i] + bytes([frame[i] & 0xFE]) + frame[i + 1:]
                            if self.stray_suback and first_connack:
                                out += self._stray_suback(v5)
                            first_connack = False
                        elif kind == w.PINGRESP and self.stray_suback_on_pingresp:
                            out += self._stray_suback(v5)
                        elif kind == w.PUBLISH and self.drop_resends and frame[0] & 0x08:
                            continue
                        elif kind == w.PUBLISH and self.publish_after_pubrel and (frame[0] >> 1) & 3 == 2:
                            body = body_of(frame)
                            topic_len = struct.unpack("!H", body[:2])[0]
                            qos2_publishes[body[2 + topic_len:4 + topic_len]] = frame
                        elif kind == w.PUBREL and self.publish_after_pubrel:
                            out += qos2_publishes.pop(body_of(frame)[:2], b"")
                        conn.sendall(out)
        finally:
            up.close()
