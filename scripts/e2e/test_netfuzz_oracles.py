"""End-to-end tests of the live fuzzer's broker oracles (docs/netfuzz.md "Broker oracles"):
the bystander (a client publishing QoS 1 to its own subscription and pinging while the
cases run) catches a stall, a lost and a duplicated QoS 1 message, the RSS oracle catches unbounded
growth, each planted in planted_broker.py behind a multi-step path (a connection that
subscribes and later unsubscribes); healthy brokers (the stub without its bug, the
embedded broker, mosquitto) get no finding from the same run.

Every broker runs on 127.0.0.1 and a free port; every run is bounded by --max-cases.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import free_port

PLANTED = Path(__file__).resolve().parent / "planted_broker.py"
# One run's settings for every broker: a 1 s stall threshold, 8 MiB of RSS growth per
# 100 cases.
ORACLES = ["--stall-threshold", "1s", "--rss-window", "100", "--rss-growth-limit", "8"]


def fuzz(harness, out, port, spawn, cases=400):
    proc = subprocess.run([str(harness), "fuzz", "--broker", f"127.0.0.1:{port}", "--protocol", "5", "--seed", "1",
                           "--max-cases", str(cases), "--replays", "0", "--quiet", "--out", str(out), *ORACLES,
                           "--spawn", "--", *map(str, spawn)], capture_output=True, timeout=90)
    lines = proc.stdout.decode().strip().splitlines()
    assert lines, proc.stderr.decode()[-2000:]
    findings = json.loads((out / "findings.json").read_text())["findings"]
    return proc, json.loads(lines[-1]), [f for f in findings if f["class"] != "spec"]


@pytest.mark.parametrize("bug,kind", [("stall", "stall"), ("lose", "qos1_lost"), ("grow", "rss_growth"),
                                      ("duplicate", "qos1_duplicate")])
def test_each_planted_bug_is_caught_by_its_oracle(harness, tmp_path, bug, kind):
    port = free_port()
    proc, summary, found = fuzz(harness, tmp_path, port, [sys.executable, PLANTED, "{port}", "--bug", bug])
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    assert [f["kind"] for f in found] == [kind], found
    f = found[0]
    assert f["class"] == "broker"
    if kind == "rss_growth":
        assert "RSS grew from" in f["detail"] and summary["rss_kib"]["last"] > summary["rss_kib"]["first"] + 8 * 1024
    else:
        # Named with the cases that ran since the bystander's last good cycle, as a scenario.
        assert f["cases_running"] and f["scenario"]
        assert f["detail"] in (tmp_path / f["scenario"]).read_text()
        assert summary["bystander"]["cycles"] > 0
    if kind == "stall":
        assert "round trip took" in f["detail"]
    assert summary["broker_starts"] == 1  # no restart, no replay: the broker never died


def test_no_finding_on_the_healthy_stub(harness, tmp_path):
    proc, summary, found = fuzz(harness, tmp_path, free_port(), [sys.executable, PLANTED, "{port}", "--bug", "none"])
    assert found == [] and proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert summary["bystander"]["cycles"] > 0 and summary["rss_kib"]["last"] > 0


def test_no_finding_on_the_embedded_broker(harness, tmp_path):
    proc, summary, found = fuzz(harness, tmp_path, free_port(), [harness, "broker", "--listen", "127.0.0.1:{port}"],
                                cases=2000)
    assert found == [] and proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert summary["bystander"]["cycles"] > 0 and summary["rss_kib"]["last"] > 0


def test_no_finding_on_mosquitto(harness, tmp_path):
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.fail("mosquitto is not installed (scripts/setup.sh installs it)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n")
    proc, summary, found = fuzz(harness, tmp_path / "out", port, [exe, "-c", conf], cases=2000)
    assert found == [] and proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert summary["bystander"]["cycles"] > 0 and summary["rss_kib"]["last"] > 0
