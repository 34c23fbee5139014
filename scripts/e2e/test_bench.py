"""End-to-end tests of `mqtt-harness bench` (docs/bench.md): short closed-loop runs against
the embedded broker and mosquitto must end with every ledger verdict held, and a broker
that drops QoS 1 deliveries must make the bench fail with a violated verdict.
No speed assertions: only what the ledger and the counters prove."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import read_listening_line

TIMEOUT = 120
TOP_KEYS = {"tool", "run_id", "passed", "broker", "load", "messages", "throughput", "latency",
            "sender", "cpu", "intervals", "deliveries", "foreign", "violations", "errors"}


def bench(harness, tmp_path, *args):
    out = tmp_path / "bench.json"
    proc = subprocess.run([str(harness), "bench", "--quiet", "--json", str(out), *map(str, args)],
                          capture_output=True, text=True, timeout=TIMEOUT)
    report = json.loads(out.read_text()) if out.exists() else None
    return proc, report


def check_clean_run(proc, report, qos, messages, subscribers_per_message=1):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report is not None
    assert TOP_KEYS <= set(report)
    for key in ("p50", "p90", "p99", "p99_9", "max"):
        assert key in report["latency"]
    assert report["passed"] is True
    assert report["messages"]["sent"] == messages
    assert report["deliveries"], "the ledger judged no stream"
    assert all(d["verdict"] == "held" for d in report["deliveries"]), report["deliveries"]
    if qos > 0:
        assert report["messages"]["received"] == messages * subscribers_per_message
        assert all(d["lost"] == 0 for d in report["deliveries"])
    # Every received message carried a timestamp and was timed.
    assert report["latency"]["count"] == report["messages"]["received"]


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_bench_against_embedded_broker_child_holds_every_verdict(harness, tmp_path, qos):
    proc, report = bench(harness, tmp_path, "--qos", qos, "--messages", 2000)
    check_clean_run(proc, report, qos, 2000)
    assert report["cpu"]["broker_s"] is not None  # the child broker's CPU time was read


@pytest.mark.parametrize("qos", [1, 2])
def test_bench_against_mosquitto_four_to_four_holds_every_verdict(harness, tmp_path, mosquitto, qos):
    host, port = mosquitto
    proc, report = bench(harness, tmp_path, "--broker", f"{host}:{port}", "--qos", qos,
                         "--publishers", 4, "--subscribers", 4, "--messages", 2000)
    check_clean_run(proc, report, qos, 2000)
    assert len(report["deliveries"]) == 4  # topic p -> subscriber p, pairwise


def test_bench_fan_out_counts_every_subscriber_copy(harness, tmp_path, embedded_broker):
    host, port = embedded_broker
    proc, report = bench(harness, tmp_path, "--broker", f"{host}:{port}", "--qos", 1,
                         "--publishers", 1, "--subscribers", 3, "--messages", 1000)
    check_clean_run(proc, report, 1, 1000, subscribers_per_message=3)
    assert report["messages"]["expected"] == 3000


def test_bench_open_loop_rate_sends_on_schedule(harness, tmp_path, embedded_broker):
    host, port = embedded_broker
    proc, report = bench(harness, tmp_path, "--broker", f"{host}:{port}", "--qos", 1,
                         "--rate", 500, "--duration", 2, "--html", tmp_path / "bench.html")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Intended send times k/500 s for k < 1000: exactly 1000 sends, however late the loop ran.
    assert report["messages"]["sent"] == 1000
    assert report["load"]["mode"] == "open"
    # The sender's own lateness is reported for every send, woken by a timerfd on Linux.
    assert report["sender"]["lateness"]["count"] == 1000
    assert report["sender"]["wakeup"] == "timerfd"
    assert report["sender"]["lateness"]["p50"] <= report["sender"]["lateness"]["max"]
    html = (tmp_path / "bench.html").read_text()
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


def test_bench_open_loop_shares_the_rate_evenly_over_publishers(harness, tmp_path, embedded_broker):
    host, port = embedded_broker
    proc, report = bench(harness, tmp_path, "--broker", f"{host}:{port}", "--qos", 0, "--publishers", 4,
                         "--subscribers", 1, "--rate", 400, "--duration", 1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Send j is due at j/400 s and belongs to publisher j mod 4: 400 sends, 100 per publisher.
    assert report["messages"]["sent"] == 400
    assert sorted(d["sent"] for d in report["deliveries"]) == [100, 100, 100, 100]


def test_bench_closed_loop_has_no_sender_lateness(harness, tmp_path, embedded_broker):
    host, port = embedded_broker
    proc, report = bench(harness, tmp_path, "--broker", f"{host}:{port}", "--messages", 200)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["sender"] is None


def test_bench_fails_with_violated_verdict_when_broker_drops_qos1(harness, tmp_path, procs):
    broker = procs.start([harness, "broker", "--listen", "127.0.0.1:0", "--misbehave", "drop-qos1"])
    host, port = read_listening_line(broker)
    proc, report = bench(harness, tmp_path, "--broker", f"{host}:{port}", "--qos", 1,
                         "--messages", 2000, "--drain", 1)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert report["passed"] is False
    violated = [d for d in report["deliveries"] if d["verdict"] == "violated"]
    assert violated and violated[0]["lost"] > 0
    assert "VIOLATED" in proc.stdout


def test_bench_rejects_bad_arguments(harness):
    proc = subprocess.run([str(harness), "bench", "--qos", "3"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "--qos" in proc.stderr


MOSQ_BENCH_SOURCE = Path(__file__).resolve().parents[1] / "bench" / "libmosquitto-client" / "mosq_bench.c"


@pytest.fixture(scope="module")
def mosq_bench(tmp_path_factory):
    """The libmosquitto reference client of scripts/bench/compare-brokers.sh, built like the script does."""
    if shutil.which("cc") is None or not Path("/usr/include/mosquitto.h").exists():
        pytest.skip("cc or libmosquitto-dev not installed")
    binary = tmp_path_factory.mktemp("mosq_bench") / "mosq_bench"
    subprocess.run(["cc", "-O2", "-o", str(binary), str(MOSQ_BENCH_SOURCE), "-lmosquitto", "-lpthread"],
                   check=True, capture_output=True, timeout=120)
    return binary


def test_libmosquitto_reference_client_completes_qos2_against_mosquitto(mosq_bench, mosquitto):
    # Regression: libmosquitto announces Receive Maximum 20 and ends its loop with
    # MOSQ_ERR_PROTOCOL when mosquitto 2.0.11 sends a 21st unacknowledged QoS 2 PUBLISH
    # (the broker frees the slot at PUBREC, not PUBCOMP: MQTT-3.3.4-9); the client then
    # waited forever. A few thousand messages were enough to trigger it.
    host, port = mosquitto
    proc = subprocess.run([str(mosq_bench), host, str(port), "2", "3000", "64", "100"],
                          capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["sent"] == 3000 and report["received"] == 3000
    assert report["loop_error"] == ""
