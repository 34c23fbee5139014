"""Many raw MQTT clients at once against a broker, and the broker's memory per idle
connection. Used by test_broker_scale.py; also a script:

    /usr/bin/python3 scripts/e2e/broker_scale.py [--clients 1000] [BINARY]

prints the RSS figure for `mqtt-harness broker` (BINARY defaults to $MQTT_HARNESS or
build/default/harness/cli/mqtt-harness).
"""
import os
import resource
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mqtt_wire as wire  # noqa: E402


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc (kB as the kernel counts them = KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


class RawFleet:
    """N raw TCP clients driven together with one selector; every wait is bounded."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.socks: list[socket.socket] = []
        self.buffers: dict[socket.socket, bytes] = {}

    def open(self, n: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for _ in range(n):
            s = socket.create_connection((self.host, self.port), timeout=max(0.1, deadline - time.monotonic()))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.socks.append(s)
            self.buffers[s] = b""

    def send_each(self, make_bytes) -> None:
        for i, s in enumerate(self.socks):
            s.sendall(make_bytes(i))

    def read_one_packet_each(self, timeout: float = 60.0) -> list[wire.Packet]:
        """One whole packet from every client (in client order); TimeoutError otherwise."""
        result: dict[socket.socket, wire.Packet] = {}
        sel = selectors.DefaultSelector()
        for s in self.socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while len(result) < len(self.socks):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"only {len(result)} of {len(self.socks)} clients got a packet in {timeout}s")
                for key, _ in sel.select(timeout=remaining):
                    s = key.fileobj
                    chunk = s.recv(65536)
                    if not chunk:
                        raise wire.Closed(f"broker closed client #{self.socks.index(s)}")
                    self.buffers[s] += chunk
                    packet = self._take_packet(s)
                    if packet is not None:
                        result[s] = packet
                        sel.unregister(s)
        finally:
            sel.close()
            for s in self.socks:
                s.setblocking(True)
        return [result[s] for s in self.socks]

    def _take_packet(self, s):
        buf = self.buffers[s]
        length, multiplier, i = 0, 1, 1
        while i < len(buf) and i <= 4:
            byte = buf[i]
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            i += 1
            if not byte & 0x80:
                if len(buf) >= i + length:
                    self.buffers[s] = buf[i + length:]
                    return wire.Packet(buf[0], buf[i:i + length])
                return None
        return None

    def close(self) -> None:
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        self.socks.clear()


def connect_fleet(host: str, port: int, n: int, version: int = wire.V311, prefix: str = "fleet") -> RawFleet:
    """n clients that are CONNECTed (CONNACK 0 checked), keep-alive off so they stay idle."""
    fleet = RawFleet(host, port)
    try:
        fleet.open(n)
        fleet.send_each(lambda i: wire.connect(f"{prefix}-{i}", version, keep_alive=0))
        for i, p in enumerate(fleet.read_one_packet_each()):
            assert p.type == wire.CONNACK and p.body[1] == 0, f"client {i}: {p!r}"
    except BaseException:
        fleet.close()
        raise
    return fleet


def measure_idle_connection_memory(pid: int, host: str, port: int, clients: int = 1000) -> dict:
    """(RSS with `clients` idle CONNECTed clients - RSS with none) / clients, in bytes.

    A first small fleet connects and leaves before the baseline so one-time allocations
    (engine tables, Qt socket engine set-up) are not charged to the connections."""
    warm = connect_fleet(host, port, 10, prefix="warm")
    warm.close()
    time.sleep(0.5)  # let the broker process the closes before the baseline
    before = rss_kib(pid)
    fleet = connect_fleet(host, port, clients, prefix="idle")
    try:
        after = rss_kib(pid)
    finally:
        fleet.close()
    return {"clients": clients, "rss_before_kib": before, "rss_after_kib": after,
            "bytes_per_connection": (after - before) * 1024 / clients}


def main(argv: list[str]) -> int:
    clients = 1000
    args = list(argv)
    if "--clients" in args:
        i = args.index("--clients")
        clients = int(args[i + 1])
        del args[i:i + 2]
    repo = Path(__file__).resolve().parents[2]
    binary = args[0] if args else os.environ.get("MQTT_HARNESS", str(repo / "build/default/harness/cli/mqtt-harness"))
    raise_fd_limit(clients * 2 + 100)
    proc = subprocess.Popen([binary, "broker", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode().strip()
        host, port = line[len("listening on "):].rsplit(":", 1)
        figure = measure_idle_connection_memory(proc.pid, host, int(port), clients)
        print(f"{figure['clients']} idle connections: RSS {figure['rss_before_kib']} KiB -> "
              f"{figure['rss_after_kib']} KiB = {figure['bytes_per_connection'] / 1024:.2f} KiB per connection")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
