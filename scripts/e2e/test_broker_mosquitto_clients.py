"""End-to-end: Debian's mosquitto_pub / mosquitto_sub (2.0, libmosquitto: an independent
client implementation) against the broker under test, MQTT 3.1.1 and 5.0, QoS 0-2."""
import os
import select
import shutil
import subprocess
import time

import pytest

from broker_support import broker  # noqa: F401 (fixture)

SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
STDBUF = shutil.which("stdbuf") or "/usr/bin/stdbuf"  # line-buffer its -d output through the pipe
VERSION_FLAG = {"3.1.1": "mqttv311", "5": "mqttv5"}


def wait_for_output(proc, text, timeout):
    """Reads `proc`'s stdout (unbuffered, os.read) until `text` appears; returns all read."""
    seen = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while text.encode() not in seen:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(0.0, remaining))
        if remaining <= 0 or not ready:
            raise TimeoutError(f"{text!r} not printed within {timeout}s: {seen!r}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise EOFError(f"exited before printing {text!r}: {seen!r}")
        seen += chunk
    return seen


@pytest.mark.parametrize("version", ["3.1.1", "5"])
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_mosquitto_clients_exchange_messages(broker, procs, version, qos):
    host, port = broker
    count = 10
    # -d prints the protocol exchange, so we can wait for the SUBACK instead of sleeping.
    sub = procs.start([STDBUF, "-oL", SUB, "-h", host, "-p", port, "-V", VERSION_FLAG[version], "-q", qos, "-t", "mq/#",
                       "-v", "-d", "-C", count, "-W", "30"])
    early = wait_for_output(sub, "received SUBACK", timeout=15)
    for i in range(count):
        r = subprocess.run([PUB, "-h", host, "-p", str(port), "-V", VERSION_FLAG[version], "-q", str(qos),
                            "-t", f"mq/{i}", "-m", f"hello {i}"], capture_output=True, timeout=15)
        assert r.returncode == 0, r.stderr
    out, _ = sub.communicate(timeout=30)
    assert sub.returncode == 0
    received = [line for line in (early + out).decode().splitlines() if line.startswith("mq/")]
    assert received == [f"mq/{i} hello {i}" for i in range(count)]


def test_mosquitto_pub_retained_reaches_later_mosquitto_sub(broker):
    host, port = broker
    r = subprocess.run([PUB, "-h", host, "-p", str(port), "-r", "-q", "1", "-t", "mqr/t", "-m", "kept"],
                       capture_output=True, timeout=15)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([SUB, "-h", host, "-p", str(port), "-t", "mqr/#", "-v", "-C", "1", "-W", "15"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0
    assert r.stdout.decode().splitlines() == ["mqr/t kept"]
