"""Shared fixtures for the end-to-end tests.

Every process a test starts is registered with `procs` and killed at teardown, even when
the test fails; every wait has a timeout; everything listens on 127.0.0.1 and a free port.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def harness_binary() -> Path:
    path = Path(os.environ.get("MQTT_HARNESS", REPO / "build/default/harness/cli/mqtt-harness"))
    if not path.exists():
        pytest.fail(f"mqtt-harness binary not found at {path}; build it or set MQTT_HARNESS")
    return path


@pytest.fixture(scope="session")
def harness() -> Path:
    return harness_binary()


def built_with_asan(path: Path) -> bool:
    """Whether the binary carries AddressSanitizer's runtime (g++ links it as libasan.so,
    clang statically): both leave the `__asan_init` symbol name in the file."""
    needle, tail = b"__asan_init", b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 23):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle):]
    return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


RUN_TIMEOUT = 120  # seconds; a hung `mqtt-harness run` fails the test instead of hanging it
SUMMARY_RE = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped, (\d+) errors$", re.M)


def run_scenarios(harness, *args, timeout=RUN_TIMEOUT):
    """`mqtt-harness run ARGS...`, output captured as text."""
    return subprocess.run([str(harness), "run", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def run_summary(proc):
    """(passed, failed, skipped, errors) from the summary line of a `run`."""
    m = SUMMARY_RE.search(proc.stderr)
    assert m, f"no summary line in stderr:\n{proc.stderr}"
    return tuple(int(x) for x in m.groups())


class Processes:
    """Starts processes and guarantees they are stopped."""

    def __init__(self):
        self._procs = []

    def start(self, args, **kwargs) -> subprocess.Popen:
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen([str(a) for a in args], start_new_session=True, **kwargs)
        self._procs.append(proc)
        return proc

    def stop_all(self):
        for proc in self._procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


@pytest.fixture
def procs():
    p = Processes()
    yield p
    p.stop_all()


def read_listening_line(proc: subprocess.Popen, timeout: float = 10.0) -> tuple[str, int]:
    """Reads the single `listening on HOST:PORT` line that `mqtt-harness broker` prints."""
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        line = proc.stdout.readline().decode().strip()
        if line.startswith("listening on "):
            host, port = line[len("listening on "):].rsplit(":", 1)
            return host, int(port)
        if proc.poll() is not None:
            break
    err = proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else ""
    raise TimeoutError(f"broker did not announce 'listening on' within {timeout}s: {err}")


@pytest.fixture
def embedded_broker(harness, procs, tmp_path):
    """Starts `mqtt-harness broker --listen 127.0.0.1:0`; yields (host, port)."""
    # stderr to a file: a pipe nobody reads blocks a broker that logs under heavy traffic.
    with open(tmp_path / "embedded-broker.log", "wb") as log:
        proc = procs.start([harness, "broker", "--listen", "127.0.0.1:0"], stderr=log)
        yield read_listening_line(proc)


@pytest.fixture
def mosquitto(procs, tmp_path):
    """Starts Debian's mosquitto on a free loopback port; yields (host, port)."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.fail("mosquitto is not installed (scripts/setup.sh installs it)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    # Its log goes to a file: a pipe nobody reads fills up after a few hundred
    # connections and then blocks mosquitto (fault-point exploration makes that many).
    log = open(tmp_path / "mosquitto.log", "wb")
    procs.start([exe, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    wait_for_port(port)
    return "127.0.0.1", port
