"""Shared fixtures for the end-to-end tests.

Every process a test starts is registered with `procs` and killed at teardown, even when
the test fails; every wait has a timeout; everything listens on 127.0.0.1 and a free port.
"""
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
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


def build_c(source: Path, out_dir: Path, *flags: str) -> Path:
    """A test-only C broker (leaky_broker.c) built with gcc (or cc) and `flags`."""
    exe = out_dir / source.stem
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.fail(f"no C compiler (gcc) to build {source.name}")
    subprocess.run([cc, *flags, "-g", "-O0", "-o", exe, source], check=True, timeout=120)
    return exe


# The ports free_port() hands out lie below Linux's ephemeral range (32768-60999 by
# default), in a slice of their own for each pytest-xdist worker. A port from bind(0) can
# be handed to a concurrent test of the other worker (or be the source port of someone's
# outgoing connection) between free_port() and the broker's own bind; then a test talks to
# another test's broker. Seen in CI: a fuzz reproducer's replay, started again on its port
# while another worker's broker held it, ran against that broker and passed.
_PORTS_LOW, _PORTS_HIGH = 10000, 32768


def _port_slice() -> tuple[int, int]:
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    index = int(worker) % workers if worker.isdigit() else 0
    size = (_PORTS_HIGH - _PORTS_LOW) // workers
    return _PORTS_LOW + index * size, size


_SLICE_START, _SLICE_SIZE = _port_slice()
# A random start, so that two pytest sessions on one machine rarely walk the same ports.
_next_port_offset = secrets.randbelow(_SLICE_SIZE)


def free_port() -> int:
    """A port of this worker's slice that nothing holds now (bound without SO_REUSEADDR, so
    a port with connections in TIME_WAIT is skipped); each call moves on, so a test never
    gets a port an earlier test of this worker used until the slice wraps around."""
    global _next_port_offset
    for _ in range(_SLICE_SIZE):
        port = _SLICE_START + _next_port_offset
        _next_port_offset = (_next_port_offset + 1) % _SLICE_SIZE
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in 127.0.0.1:{_SLICE_START}-{_SLICE_START + _SLICE_SIZE - 1}")


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


def start_mosquitto(procs: Processes, workdir: Path) -> tuple[str, int]:
    """Debian's mosquitto on a free loopback port, its config and log in `workdir`."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.fail("mosquitto is not installed (scripts/setup.sh installs it)")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    # Its log goes to a file: a pipe nobody reads fills up after a few hundred
    # connections and then blocks mosquitto (fault-point exploration makes that many).
    with open(workdir / "mosquitto.log", "wb") as log:
        procs.start([exe, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port)
    return "127.0.0.1", port


@pytest.fixture
def mosquitto(procs, tmp_path):
    """Starts Debian's mosquitto on a free loopback port; yields (host, port)."""
    return start_mosquitto(procs, tmp_path)


AEDES_DIR = REPO / "scripts/brokers/aedes"


def start_aedes(procs: Processes, workdir: Path) -> tuple[str, int]:
    """aedes (npm, pinned in scripts/brokers/aedes/package-lock.json) on a free loopback
    port, started by scripts/brokers/aedes/server.mjs with node."""
    node = shutil.which("node")
    if node is None or not (AEDES_DIR / "node_modules/aedes/package.json").exists():
        pytest.fail("node or aedes is not installed (scripts/setup.sh runs `npm ci` in scripts/brokers/aedes)")
    with open(workdir / "aedes.log", "wb") as log:
        proc = procs.start([node, AEDES_DIR / "server.mjs", "0"], stderr=log)
    return read_listening_line(proc)


RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
RABBITMQ_START_TIMEOUT = 90  # seconds; a start takes ~13 s on the 2-core build machine
RABBITMQ_STOP_TIMEOUT = 30


class RabbitMQNode:
    """A foreground RabbitMQ node of the test's own, with the MQTT plugin on a free loopback
    port: every port it opens (MQTT, AMQP, Erlang distribution, its own epmd) is a free
    loopback port, every file it writes is in a temporary folder, and stop() leaves no
    process behind. As root the node runs as the `rabbitmq` user (as Debian's wrapper
    /usr/sbin/rabbitmq-server would make it), so the folder and the Erlang cookie in it are
    that user's; as another user it runs as that user."""

    def __init__(self, procs: Processes):
        if not RABBITMQ_SERVER.exists():
            pytest.fail("rabbitmq-server is not installed (scripts/setup.sh installs it)")
        self.base = Path(tempfile.mkdtemp(prefix="mqtth-rabbitmq-"))
        self.mqtt_port, amqp_port, dist_port, self.epmd_port = (free_port() for _ in range(4))
        name = f"mqtth{os.getpid()}x{secrets.token_hex(3)}"
        (self.base / "mnesia").mkdir()
        (self.base / "log").mkdir()
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{amqp_port}\n"
            f"mqtt.listeners.tcp.default = 127.0.0.1:{self.mqtt_port}\n"
            # Anonymous MQTT clients log in as guest, which may connect from loopback only
            # unless loopback_users is emptied.
            "mqtt.allow_anonymous = true\n"
            "mqtt.default_user = guest\n"
            "mqtt.default_pass = guest\n"
            "loopback_users = none\n")
        (self.base / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        cookie = self.base / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "HOME": str(self.base),  # where Erlang finds the cookie
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": f"{name}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(amqp_port),
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            # Distribution listens on every interface unless told otherwise.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        self.user = None
        if os.geteuid() == 0:
            self.user = "rabbitmq"
            pw = pwd.getpwnam(self.user)
            for path in [self.base, *self.base.rglob("*")]:
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self.procs = procs
        self.proc = None

    def start(self) -> tuple[str, int]:
        kwargs = {"user": self.user, "group": self.user, "extra_groups": []} if self.user else {}
        with open(self.base / "server.log", "wb") as log:
            self.proc = self.procs.start([RABBITMQ_SERVER], env=self.env, cwd=self.base, stdout=log,
                                         stderr=subprocess.STDOUT, **kwargs)
        deadline = time.monotonic() + RABBITMQ_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.mqtt_port), timeout=0.5):
                    return "127.0.0.1", self.mqtt_port
            except OSError:
                time.sleep(0.2)
        tail = (self.base / "server.log").read_text(errors="replace")[-3000:]
        raise TimeoutError(f"RabbitMQ's MQTT listener 127.0.0.1:{self.mqtt_port} did not open within "
                           f"{RABBITMQ_START_TIMEOUT}s (server exit status {self.proc.poll()}):\n{tail}")

    def stop(self):
        """SIGTERM to the node's process group (RabbitMQ shuts down cleanly on it), SIGKILL
        after RABBITMQ_STOP_TIMEOUT; then the epmd this node started on its own port (epmd
        daemonises into a session of its own, out of the node's process group)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=RABBITMQ_STOP_TIMEOUT)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        subprocess.run(["epmd", "-kill"], env={**self.env, "ERL_EPMD_PORT": str(self.epmd_port)},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def module_procs():
    """`procs` for processes shared by the tests of one module (a broker slow to start)."""
    p = Processes()
    yield p
    p.stop_all()


@pytest.fixture(scope="module")
def rabbitmq(module_procs):
    """A RabbitMQ node with the MQTT plugin, one per test module; yields (host, port)."""
    node = RabbitMQNode(module_procs)
    try:
        yield node.start()
    finally:
        node.stop()
