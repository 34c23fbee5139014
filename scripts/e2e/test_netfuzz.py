"""End-to-end tests of `mqtt-harness fuzz` (docs/netfuzz.md).

Every broker runs on 127.0.0.1 and a free port, every wait has a timeout, and every
process is stopped by the `procs` fixture even when a test fails. The runs are short
(10 s, or a bounded number of cases): the long runs (60 s against mosquitto, 10 min
against the embedded broker) and their figures are in docs/netfuzz.md.
"""
import json
import re
import subprocess

import pytest

from conftest import REPO, free_port, wait_for_port

STUB = REPO / "harness/netfuzz/tests/crashing_broker_stub.py"
SPEC_ID = re.compile(r"^MQTT-\d+(\.\d+)*-\d+$")


def run_fuzz(harness, args, timeout):
    proc = subprocess.run([str(harness), "fuzz", *map(str, args)], capture_output=True, timeout=timeout)
    lines = proc.stdout.decode().strip().splitlines()
    assert lines, proc.stderr.decode()[-2000:]
    return proc, json.loads(lines[-1])


def crash_or_hang_findings(out_dir):
    findings = json.loads((out_dir / "findings.json").read_text())["findings"]
    return findings, [f for f in findings if f["class"] == "crash"]


def findings_html_rows(out_dir):
    """findings.html as text and its finding rows, each cut at the next row. The page
    must be self-contained: no script, nothing fetched from the network."""
    html = (out_dir / "findings.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "default-src 'none'" in html
    rows = html.split("<tr><td class=\"num\">")[1:]
    return html, rows


def card(html, label):
    m = re.search(r"<b>([^<]*)</b>%s</div>" % re.escape(label), html)
    assert m, label
    return m.group(1)


@pytest.mark.parametrize("jobs", [1, 2])
def test_fuzzing_the_embedded_broker_for_10s_reports_no_crash_or_hang_and_a_case_rate(
        harness, embedded_broker, tmp_path, jobs):
    host, port = embedded_broker
    proc, summary = run_fuzz(harness, ["--broker", f"{host}:{port}", "--duration", "10s", "--seed", "7",
                                       "-j", jobs, "--out", tmp_path], timeout=120)
    findings, crashes = crash_or_hang_findings(tmp_path)
    assert crashes == [], crashes
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert summary["jobs"] == jobs
    assert summary["cases"] > 0 and summary["cases_per_s"] > 0
    # The progress line (once a second) totals all workers.
    assert re.search(rb"netfuzz: \d+ cases, \d+ cases/s, \d+ findings, broker up, %d workers" % jobs, proc.stderr)


def test_fuzzing_mosquitto_for_10s_with_two_workers_reports_no_false_crash_or_hang(harness, mosquitto, tmp_path):
    """mosquitto 2.0.11 does not crash or hang on these inputs, so any crash/hang finding
    is a false alarm of our oracles. Its spec findings must name a statement or a rule."""
    host, port = mosquitto
    out = tmp_path / "out"
    proc, summary = run_fuzz(harness, ["--broker", f"{host}:{port}", "--duration", "10s", "--seed", "3",
                                       "-j", "2", "--out", out], timeout=120)
    findings, crashes = crash_or_hang_findings(out)
    assert crashes == [], crashes
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert summary["cases_per_s"] > 0
    for f in findings:
        assert f["kind"] in ("spec_accepted_malformed", "spec_invalid_bytes"), f
        assert SPEC_ID.match(f["spec"]) or f["detail"], f
        assert (out / f["scenario"]).exists()

    # The HTML summary carries the same counts and one row per finding signature, with
    # its kind, statement id, count and a link to its reproducer.
    html, rows = findings_html_rows(out)
    assert card(html, "cases") == str(summary["cases"])
    assert card(html, "crash/hang findings") == "0"
    assert card(html, "spec findings") == str(len(findings))
    assert card(html, "broker at the end") == "up"
    assert len(rows) == len(findings)
    for f, row in zip(findings, rows):
        assert row.startswith("%d</td>" % f["id"])
        assert "<code>%s</code>" % f["kind"] in row
        if f["spec"]:
            assert "<code>%s</code>" % f["spec"] in row
        assert '<td class="num">%d</td>' % f["count"] in row
        assert 'href="%s"' % f["scenario"] in row


@pytest.mark.parametrize("jobs", [1, 2])
def test_fuzzer_finds_the_stub_crash_on_subscribe_user_property_and_the_reproducer_crashes_it_again(
        harness, procs, tmp_path, jobs):
    port = free_port()
    out = tmp_path / "out"
    # Seed 1 reaches the planted crash at case 9; 60 cases bound the run.
    proc, summary = run_fuzz(harness, ["--broker", f"127.0.0.1:{port}", "--duration", "60s", "--seed", "1",
                                       "--max-cases", "60", "-j", jobs, "--out", out, "--protocol", "5",
                                       "--spawn", "--", "/usr/bin/python3", STUB, port], timeout=240)
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    _, crashes = crash_or_hang_findings(out)
    assert len(crashes) == 1, crashes
    crash = crashes[0]
    assert crash["kind"] == "crash"
    assert "SIGABRT" in crash["detail"]
    assert crash["last_packet"] == "SUBSCRIBE"
    # Attributed to the case that caused it, and to the worker that runs that case index
    # (worker w runs cases w, w+N, ...), whichever worker noticed the broker die.
    assert crash["case_index"] % jobs == crash["worker"]
    assert crash["cases_before"] == 0
    scenario = out / crash["scenario"]
    assert scenario.exists()
    html, rows = findings_html_rows(out)
    assert card(html, "crash/hang findings") == "1"
    assert card(html, "cases") == str(summary["cases"]) == "60"
    [row] = [r for r in rows if 'href="%s"' % crash["scenario"] in r]
    assert '<span class="badge failed">crash</span>' in row
    assert "<code>SUBSCRIBE</code>" in row and "signal SIGABRT" in row
    # The broker was restarted after the crash, so it is up at the end.
    assert card(html, "broker at the end") == "up"

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


def test_fuzzer_finds_the_stub_hang_on_subscribe_user_property_and_attributes_it_to_its_case(harness, tmp_path):
    """The same planted bug as a hang: the stub's single event loop stops. The case that
    triggers it got its CONNACK, so the liveness oracle must not let that CONNACK or a
    later case stand in for the PINGRESP that never comes."""
    port = free_port()
    out = tmp_path / "out"
    proc, summary = run_fuzz(harness, ["--broker", f"127.0.0.1:{port}", "--duration", "60s", "--seed", "1",
                                       "--max-cases", "30", "-j", "1", "--out", out, "--protocol", "5",
                                       "--case-timeout", "300ms", "--probe-timeout", "300ms",
                                       "--spawn", "--", "/usr/bin/python3", STUB, port, "--hang"], timeout=240)
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    _, crashes = crash_or_hang_findings(out)
    assert len(crashes) == 1, crashes
    hang = crashes[0]
    assert hang["kind"] == "hang" and hang.get("reproduced", True), hang
    assert hang["case_index"] == 9 and hang["last_packet"] == "SUBSCRIBE", hang
    assert summary["probe_false_alarms"] == 0


def test_minus_j_out_of_range_is_a_usage_error(harness):
    proc = subprocess.run([str(harness), "fuzz", "--broker", "127.0.0.1:1", "-j", "0"], capture_output=True, timeout=30)
    assert proc.returncode == 2
    assert b"-j must be 1..64" in proc.stderr


def test_fresh_probe_every_out_of_range_or_not_a_number_is_a_usage_error(harness):
    for value, message in (("0", b"--fresh-probe-every must be 1..1000000, got '0'"),
                           ("lots", b"--fresh-probe-every must be a non-negative integer, got 'lots'")):
        # Both spellings of an option with a value: `--opt value` and `--opt=value`.
        for spelling in (["--fresh-probe-every", value], ["--fresh-probe-every=" + value]):
            proc = subprocess.run([str(harness), "fuzz", "--broker", "127.0.0.1:1", *spelling],
                                  capture_output=True, timeout=30)
            assert proc.returncode == 2, (spelling, proc.stderr)
            assert message in proc.stderr, (spelling, proc.stderr)
