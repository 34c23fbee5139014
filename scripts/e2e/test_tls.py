"""MQTT over TLS (docs/tls.md): `run --broker mqtts://...` against the embedded broker's
mqtts:// listener and against Debian's mosquitto with a TLS listener, mutual TLS, and the
clear exit-2 errors for certificates the client or the server does not accept.

Certificates are made at test time by scripts/certs.sh (Debian's openssl) in a temporary
folder: no key is ever committed. Everything listens on 127.0.0.1 and free ports.
"""
import json
import os
import pwd
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO, free_port, run_scenarios, run_summary, wait_for_port

SUITE = REPO / "scenarios"
# What runs over mosquitto's TLS listener and in the mutual-TLS checks: the folders whose
# scenarios need no fault proxy and no timing against mosquitto's 6 s keep-alive sweep.
SUBSET = [SUITE / "connect", SUITE / "publish", SUITE / "qos", SUITE / "retain"]
PROXY_SKIP = "fault proxy, which speaks plain TCP only"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("certs")
    subprocess.run(["bash", str(REPO / "scripts/certs.sh"), str(folder)], check=True, capture_output=True,
                   timeout=60)
    return folder


def read_listening_lines(proc, count, timeout=10.0):
    """The first `count` `listening on ...` lines of a broker as (host, port); the host of a
    TLS listener keeps its scheme ("mqtts://127.0.0.1"). Reads the descriptor itself: the
    lines come in one write, which a buffered readline would swallow whole."""
    fd = proc.stdout.fileno()
    text, deadline = b"", time.monotonic() + timeout
    while text.count(b"\n") < count and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 4096) if ready else b""
        if ready and not chunk:
            break
        text += chunk
    lines = [line for line in text.decode().splitlines() if line.startswith("listening on ")]
    assert len(lines) >= count, f"broker printed {text!r} within {timeout}s (stderr in its log)"
    return [(line[len("listening on "):].rsplit(":", 1)[0], int(line.rsplit(":", 1)[1])) for line in lines[:count]]


def start_tls_broker(harness, procs, tmp_path, certs, cert="server", *extra):
    """`mqtt-harness broker` with a plain and an mqtts:// listener; returns the mqtts:// port."""
    with open(tmp_path / f"broker-{cert}.log", "wb") as log:
        proc = procs.start([harness, "broker", "--listen", "127.0.0.1:0", "--listen", "mqtts://127.0.0.1:0",
                            "--cert", certs / f"{cert}.pem", "--key", certs / f"{cert}.key", *extra], stderr=log)
    (plain_host, plain_port), (tls_host, tls_port) = read_listening_lines(proc, 2)
    assert plain_host == "127.0.0.1", "the plain listener keeps the HOST:PORT line"
    assert tls_host == "mqtts://127.0.0.1", "the TLS listener prints its URL"
    return tls_port


def tls_run(harness, port, certs, *args, paths=(SUITE / "connect",), timeout=120):
    return run_scenarios(harness, *paths, "--broker", f"mqtts://127.0.0.1:{port}", "--cafile", certs / "ca.pem",
                         *args, timeout=timeout)


def test_suite_over_mqtts_against_the_embedded_broker(harness, procs, tmp_path, certs):
    port = start_tls_broker(harness, procs, tmp_path, certs)
    report = tmp_path / "report.json"
    proc = tls_run(harness, port, certs, "-j", "4", "-q", "--json", report, paths=(SUITE,), timeout=240)
    assert proc.returncode == 0, proc.stderr
    passed, failed, skipped, errors = run_summary(proc)
    assert (failed, errors) == (0, 0), proc.stderr
    doc = json.loads(report.read_text())
    assert doc["broker"] == f"mqtts://127.0.0.1:{port}", "the report records the transport"
    ran = [s for s in doc["scenarios"] if s["status"] == "passed"]
    assert len(ran) == passed and passed >= 150, f"most of the suite runs over TLS: {passed} passed"
    # Skips over TLS: the scenarios that need the fault proxy, and those skipped over TCP
    # too (role: server scenarios without --client).
    for s in doc["scenarios"]:
        if s["status"] == "skipped":
            assert PROXY_SKIP in s["skip_reason"] or "run --client" in s["skip_reason"], s


def test_mutual_tls_refuses_a_missing_or_untrusted_client_certificate(harness, procs, tmp_path, certs):
    port = start_tls_broker(harness, procs, tmp_path, certs, "server", "--client-ca", certs / "ca.pem")
    missing = tls_run(harness, port, certs)
    assert missing.returncode == 2, missing.stderr
    assert "refused the client certificate, or its absence" in missing.stderr
    assert "passed" not in missing.stderr, "no scenario ran"
    untrusted = tls_run(harness, port, certs, "--cert", certs / "untrusted.pem", "--key", certs / "untrusted.key")
    assert untrusted.returncode == 2, untrusted.stderr
    assert "refused the client certificate" in untrusted.stderr
    accepted = tls_run(harness, port, certs, "--cert", certs / "client.pem", "--key", certs / "client.key")
    assert accepted.returncode == 0, accepted.stderr
    passed, failed, _, _ = run_summary(accepted)
    assert passed > 0 and failed == 0


@pytest.mark.parametrize("cert, message", [
    ("expired", "the server certificate has expired"),
    ("wrongname", "the server certificate does not name this host (name mismatch)"),
    ("untrusted", "the server certificate is signed by an unknown CA"),
])
def test_a_server_certificate_the_client_does_not_accept_is_a_clear_exit_2(harness, procs, tmp_path, certs,
                                                                           cert, message):
    port = start_tls_broker(harness, procs, tmp_path, certs, cert)
    proc = tls_run(harness, port, certs)
    assert proc.returncode == 2, proc.stderr
    assert f"TLS handshake with 127.0.0.1:{port} failed: {message}" in proc.stderr
    assert "passed" not in proc.stderr, "no scenario ran"


def test_tls_server_name_and_insecure(harness, procs, tmp_path, certs):
    wrong_name = start_tls_broker(harness, procs, tmp_path, certs, "wrongname")
    named = tls_run(harness, wrong_name, certs, "--tls-server-name", "broker.invalid")
    assert named.returncode == 0, named.stderr
    expired = start_tls_broker(harness, procs, tmp_path, certs, "expired")
    report = tmp_path / "insecure.json"
    insecure = tls_run(harness, expired, certs, "--insecure", "--json", report)
    assert insecure.returncode == 0, insecure.stderr
    assert "--insecure" in json.loads(report.read_text())["broker"], "the report says the certificate was not checked"


@pytest.mark.parametrize("args, message", [
    (["--broker", "ws://127.0.0.1:8080/mqtt"], "not supported yet"),
    (["--broker", "http://127.0.0.1:80"], "unknown scheme 'http://'"),
    (["--broker", "127.0.0.1:1883", "--cafile", "ca.pem"], "--cafile is a TLS option: it needs --broker mqtts://"),
    (["--broker", "mqtts://127.0.0.1:1883", "--cert", "c.pem"], "--cert and --key go together"),
    (["--broker", "mqtts://127.0.0.1:1883", "--cafile", "/nonexistent/ca.pem"], "--cafile /nonexistent/ca.pem"),
    (["--broker", "127.0.0.1:1883", "--insecure"], "--insecure is a TLS option"),
])
def test_bad_tls_arguments_of_run_exit_2(harness, args, message):
    proc = run_scenarios(harness, SUITE / "connect", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--listen", "mqtts://127.0.0.1:0"], "needs --cert and --key"),
    (["--listen", "127.0.0.1:0", "--cert", "x.pem"], "for an mqtts:// listener"),
    (["--listen", "mqtts://127.0.0.1:0", "--listen", "mqtts://127.0.0.1:0"], "one mqtts:// listener at most"),
    (["--listen", "wss://127.0.0.1:0"], "not supported yet"),
])
def test_bad_listeners_of_broker_exit_2(harness, args, message):
    proc = subprocess.run([str(harness), "broker", *args], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


@pytest.fixture
def mosquitto_certs(certs):
    """The CA, server certificate and key where mosquitto can read them: started as root it
    drops to the `mosquitto` user before it loads them, and pytest's folders are root's
    alone. A folder of its own in /tmp, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="mqtth-mosquitto-certs-"))
    os.chmod(folder, 0o755)
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("mosquitto")
        except KeyError:
            pass
    for name in ("ca.pem", "server.pem", "server.key"):
        shutil.copy(certs / name, folder / name)
        if owner:
            os.chown(folder / name, owner.pw_uid, owner.pw_gid)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def start_mosquitto_tls(procs, workdir, certs, require_certificate=False):
    """Debian's mosquitto with one TLS listener on a free loopback port; `certs` holds
    ca.pem, server.pem and server.key (mosquitto_certs)."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.fail("mosquitto is not installed (scripts/setup.sh installs it)")
    port = free_port()
    conf = workdir / "mosquitto-tls.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"cafile {certs / 'ca.pem'}\ncertfile {certs / 'server.pem'}\nkeyfile {certs / 'server.key'}\n"
        f"require_certificate {'true' if require_certificate else 'false'}\n")
    with open(workdir / "mosquitto-tls.log", "wb") as log:
        procs.start([exe, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port)
    return port


def test_subset_over_mqtts_against_mosquitto_with_its_profile(harness, procs, tmp_path, certs, mosquitto_certs):
    port = start_mosquitto_tls(procs, tmp_path, mosquitto_certs)
    report = tmp_path / "mosquitto.json"
    proc = tls_run(harness, port, certs, "-j", "2", "-q", "--profile", REPO / "profiles/mosquitto-2.0.yaml",
                   "--json", report, paths=SUBSET, timeout=240)
    assert proc.returncode == 0, proc.stderr
    passed, failed, _, errors = run_summary(proc)
    assert errors == 0 and passed >= 50, proc.stderr
    doc = json.loads(report.read_text())
    assert doc["broker"] == f"mqtts://127.0.0.1:{port}"
    # Every failure is one of the profile's known deviations (exit 0 says so too).
    assert all(s.get("known_deviation") for s in doc["scenarios"] if s["status"] == "failed")


def test_mosquitto_requiring_client_certificates(harness, procs, tmp_path, certs, mosquitto_certs):
    port = start_mosquitto_tls(procs, tmp_path, mosquitto_certs, require_certificate=True)
    missing = tls_run(harness, port, certs)
    assert missing.returncode == 2, missing.stderr
    assert "client certificate" in missing.stderr
    accepted = tls_run(harness, port, certs, "--cert", certs / "client.pem", "--key", certs / "client.key",
                       "--profile", REPO / "profiles/mosquitto-2.0.yaml")
    assert accepted.returncode == 0, accepted.stderr


def test_bench_over_mqtts(harness, procs, tmp_path, certs):
    port = start_tls_broker(harness, procs, tmp_path, certs)
    report = tmp_path / "bench.json"
    bench = [str(harness), "bench", "--broker", f"mqtts://127.0.0.1:{port}", "--messages", "2000", "--qos", "1"]
    proc = subprocess.run([*bench, "--cafile", str(certs / "ca.pem"), "--json", str(report)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(report.read_text())
    assert doc["passed"] and doc["broker"]["label"] == f"mqtts://127.0.0.1:{port}"
    # Without the CA: no connection, exit 2, the reason named.
    refused = subprocess.run(bench, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "the server certificate is signed by an unknown CA" in refused.stdout + refused.stderr


def test_fuzz_and_proxy_refuse_mqtts_clearly(harness):
    fuzz = subprocess.run([str(harness), "fuzz", "--broker", "mqtts://127.0.0.1:8883", "--duration", "1s"],
                          capture_output=True, text=True, timeout=30)
    assert fuzz.returncode == 2 and "mqtts:// is not built yet" in fuzz.stderr, fuzz.stderr
    proxy = subprocess.run([str(harness), "proxy", "--listen", "127.0.0.1:0", "--upstream", "mqtts://127.0.0.1:8883"],
                           capture_output=True, text=True, timeout=30)
    assert proxy.returncode == 2 and "plain TCP only" in proxy.stderr, proxy.stderr


def test_spawn_a_tls_broker(harness, tmp_path, certs):
    """run --spawn starts the broker and probes it over TLS after each scenario."""
    port = free_port()
    proc = tls_run(harness, port, certs, "--spawn", "--", harness, "broker", "--listen", f"mqtts://127.0.0.1:{port}",
                   "--cert", certs / "server.pem", "--key", certs / "server.key")
    assert proc.returncode == 0, proc.stderr
    passed, failed, _, errors = run_summary(proc)
    assert passed > 0 and (failed, errors) == (0, 0)
    assert "the spawned broker was started 1 time(s)" in proc.stderr
