#!/usr/bin/python3
"""A deliberately broken MQTT 3.1.1 client behind the adapter protocol (docs/clients.md),
for the harness's own tests: the client suite must catch each of its faults.

usage: /usr/bin/python3 broken_client.py HOST PORT [--no-dup] [--publish-instead-of-pubrel]
                                                   [--exit-on-close]

Without a flag it is a small correct QoS 0/1/2 client (clean=0 sessions re-send their
unacknowledged PUBLISHes with DUP after a reconnect, PUBREL answers PUBREC), so that each
flag's fault is the only difference:
  --no-dup                     re-sends unacknowledged PUBLISHes with DUP 0 [MQTT-3.3.1-1]
  --publish-instead-of-pubrel  answers PUBREC with the PUBLISH again [MQTT-4.3.3-1]
  --exit-on-close              exits (status 0) when its connection is lost instead of
                               reconnecting: an adapter must not exit while its stdin is open
"""
import os
import select
import socket
import struct
import sys
import threading
import time

NO_DUP = "--no-dup" in sys.argv
PUBLISH_NOT_PUBREL = "--publish-instead-of-pubrel" in sys.argv
EXIT_ON_CLOSE = "--exit-on-close" in sys.argv


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def varint(n):
    out = b""
    while True:
        byte, n = n % 128, n // 128
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def utf8(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


class Client:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.sock = None
        self.lock = threading.Lock()
        self.next_id = 1
        self.unacked = {}  # packet id -> (qos, topic, payload); the session's in-flight PUBLISHes
        self.released = set()  # packet ids of QoS 2 PUBLISHes PUBREC'd: PUBREL owed until PUBCOMP
        self.options = {}
        self.connected = False

    def connect(self, options):
        self.options = options
        threading.Thread(target=self.run, daemon=True).start()

    def send(self, data):
        with self.lock:
            if self.sock:
                try:
                    self.sock.sendall(data)
                except OSError:
                    pass

    def publish_bytes(self, qos, topic, payload, pid, dup):
        first = 0x30 | (qos << 1) | (0x08 if dup else 0)
        return packet(first, utf8(topic) + (struct.pack("!H", pid) if qos else b"") + payload.encode())

    def publish(self, topic, qos, payload):
        pid = 0
        if qos:
            pid = self.next_id
            self.next_id = self.next_id % 65535 + 1
            self.unacked[pid] = (qos, topic, payload)
        if self.connected:  # otherwise QoS 1/2 go out after the next CONNACK, QoS 0 is dropped
            self.send(self.publish_bytes(qos, topic, payload, pid, False))

    def subscribe(self, topic_filter, qos):
        pid = self.next_id
        self.next_id = self.next_id % 65535 + 1
        self.send(packet(0x82, struct.pack("!H", pid) + utf8(topic_filter) + bytes([qos])))

    def run(self):
        clean = self.options.get("clean", "1") == "1"
        keepalive = int(self.options.get("keepalive", "60"))
        client_id = self.options.get("client_id", "mqtth-broken")
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=5)
            except OSError:
                time.sleep(1)
                continue
            sock.settimeout(None)
            with self.lock:
                self.sock = sock
            flags = 0x02 if clean else 0
            self.send(packet(0x10, utf8("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + utf8(client_id)))
            self.read(sock, keepalive)
            with self.lock:
                self.sock = None
            self.connected = False
            say("closed")
            if EXIT_ON_CLOSE:
                os._exit(0)  # from the network thread: the whole process, status 0
            time.sleep(1)

    def read(self, sock, keepalive):
        buf = b""
        last_sent = time.monotonic()
        while True:
            wait = max(0.1, keepalive - (time.monotonic() - last_sent)) if keepalive else None
            ready, _, _ = select.select([sock], [], [], wait)
            if not ready:
                self.send(packet(0xC0, b""))
                last_sent = time.monotonic()
                continue
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                sock.close()
                return
            buf += chunk
            while len(buf) >= 2:
                length, mult, i = 0, 1, 1
                while i < len(buf) and buf[i] & 0x80:
                    length += (buf[i] & 0x7F) * mult
                    mult *= 128
                    i += 1
                if i >= len(buf):
                    break
                length += buf[i] * mult
                if len(buf) < i + 1 + length:
                    break
                first, body = buf[0], buf[i + 1:i + 1 + length]
                buf = buf[i + 1 + length:]
                if not self.handle(first, body):
                    sock.close()
                    return

    def handle(self, first, body):
        kind = first >> 4
        if kind == 2:  # CONNACK
            if body[1] != 0:
                say("refused %d" % body[1])
                return True
            # The session's state is settled before the application hears "connected" (it
            # may publish at once, from the other thread).
            if not (body[0] & 1):
                self.unacked.clear()
                self.released.clear()
            for pid, (qos, topic, payload) in sorted(self.unacked.items()):
                if pid in self.released and not PUBLISH_NOT_PUBREL:
                    self.send(packet(0x62, struct.pack("!H", pid)))  # [MQTT-4.4.0-1]
                else:
                    self.send(self.publish_bytes(qos, topic, payload, pid, not NO_DUP))
            self.connected = True
            say("connected %d" % (body[0] & 1))
        elif kind == 3:  # PUBLISH
            qos = (first >> 1) & 3
            if qos == 3:  # malformed [MQTT-3.3.1-4]: close
                return False
            n = struct.unpack("!H", body[:2])[0]
            topic = body[2:2 + n].decode()
            rest = body[2 + n:]
            pid = 0
            if qos:
                pid = struct.unpack("!H", rest[:2])[0]
                rest = rest[2:]
            say("received %s %d %s" % (topic, qos, rest.decode("utf-8", "replace")))
            if qos == 1:
                self.send(packet(0x40, struct.pack("!H", pid)))
            elif qos == 2:
                self.send(packet(0x50, struct.pack("!H", pid)))
        elif kind == 4:  # PUBACK
            self.unacked.pop(struct.unpack("!H", body[:2])[0], None)
        elif kind == 5:  # PUBREC
            pid = struct.unpack("!H", body[:2])[0]
            if PUBLISH_NOT_PUBREL and pid in self.unacked:
                qos, topic, payload = self.unacked[pid]
                self.send(self.publish_bytes(qos, topic, payload, pid, True))
            else:
                self.released.add(pid)
                self.send(packet(0x62, struct.pack("!H", pid)))
        elif kind == 6:  # PUBREL
            self.send(packet(0x70, body[:2]))
        elif kind == 7:  # PUBCOMP
            pid = struct.unpack("!H", body[:2])[0]
            self.unacked.pop(pid, None)
            self.released.discard(pid)
        elif kind in (9, 13):  # SUBACK, PINGRESP
            pass
        else:  # anything else from a server is a protocol violation: close
            return False
        return True


def main():
    client = Client(sys.argv[1], int(sys.argv[2]))
    for raw in sys.stdin:
        words = raw.rstrip("\r\n").split(" ")
        if words[0] == "connect":
            client.connect(dict(w.split("=", 1) for w in words[1:] if "=" in w))
        elif words[0] == "publish":
            client.publish(words[1], int(words[2]), " ".join(words[3:]))
        elif words[0] == "subscribe":
            client.subscribe(words[1], int(words[2]))
        elif words[0] == "disconnect":
            client.send(packet(0xE0, b""))
        else:
            say("error unsupported command " + words[0])


if __name__ == "__main__":
    main()
