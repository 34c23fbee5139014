"""End-to-end tests of `mqtt-harness fuzz` (docs/netfuzz.md).

Every broker runs on 127.0.0.1 and a free port, every wait has a timeout, and every
process is stopped by the `procs` fixture even when a test fails.
"""
import json
import subprocess
import time
from pathlib import Path

from conftest import REPO, free_port, read_listening_line, wait_for_port

STUB = REPO / "harness/netfuzz/tests/crashing_broker_stub.py"


def run_fuzz(harness, args, timeout):
    proc = subprocess.run([str(harness), "fuzz", *map(str, args)], capture_output=True, timeout=timeout)
    summary = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return proc, summary


def test_fuzzing_the_embedded_broker_for_10s_finds_no_crash_or_hang(harness, embedded_broker, tmp_path):
    host, port = embedded_broker
    proc, summary = run_fuzz(harness, ["--broker", f"{host}:{port}", "--duration", "10s", "--seed", "7",
                                       "--out", tmp_path], timeout=120)
    findings = json.loads((tmp_path / "findings.json").read_text())
    crashes = [f for f in findings["findings"] if f["class"] == "crash"]
    assert crashes == [], crashes
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert summary["cases"] > 0
    # The progress line is printed once a second.
    assert b"cases/s" in proc.stderr


def test_fuzzer_finds_the_stub_crash_on_subscribe_user_property_and_the_reproducer_crashes_it_again(
        harness, procs, tmp_path):
    port = free_port()
    out = tmp_path / "out"
    proc, summary = run_fuzz(harness, ["--broker", f"127.0.0.1:{port}", "--duration", "60s", "--seed", "1",
                                       "--max-cases", "20000", "--out", out, "--protocol", "5",
                                       "--spawn", "--", "/usr/bin/python3", STUB, port], timeout=240)
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    findings = json.loads((out / "findings.json").read_text())["findings"]
    crashes = [f for f in findings if f["kind"] == "crash"]
    assert crashes, findings
    crash = crashes[0]
    assert "SIGABRT" in crash["detail"]
    assert crash["last_packet"] == "SUBSCRIBE"
    scenario = out / crash["scenario"]
    assert scenario.exists()

    # Replay the minimised reproducer against a fresh stub: the stub must abort again.
    port2 = free_port()
    stub = procs.start(["/usr/bin/python3", STUB, port2])
    wait_for_port(port2)
    replay = subprocess.run([str(harness), "run", "--broker", f"127.0.0.1:{port2}", str(scenario)],
                            capture_output=True, timeout=60)
    stub.wait(timeout=10)
    assert stub.returncode == -6, (stub.returncode, replay.stdout.decode()[-2000:], replay.stderr.decode()[-2000:])
    # The scenario loads (a load error is exit 2) and fails because the liveness probe fails.
    assert replay.returncode == 1, replay.stderr.decode()[-2000:]
