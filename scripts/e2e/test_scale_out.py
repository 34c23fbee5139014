"""Scale-out (docs/scale-out.md): shards of the suite, the live fuzzer and the bench run as
separate processes and their outputs merge into one report."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, RUN_TIMEOUT, run_scenarios

# The bundled suite without its slow folders (keepalive and faults wait out real timers),
# so that the test stays well inside its time budget; the client folder adds skipped units.
SUITE = [REPO / "scenarios" / d for d in
         ("connect", "client", "publish", "qos", "retain", "session", "subscribe", "unsubscribe", "v5", "will",
          "malformed")]


def merge_reports(harness, *args):
    return subprocess.run([str(harness), "report", "merge", *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def identity(report):
    """What must not change when the suite is sharded: each scenario's id and verdict."""
    return [(s["file"], s["name"], s["protocol"], s["status"], s.get("skip_reason", "")) for s in report["scenarios"]]


@pytest.fixture(scope="module")
def suite_shards(tmp_path_factory):
    """The suite once unsharded and as 3 shards run side by side, each against its own
    embedded broker; returns (unsharded report, [shard report files])."""
    from conftest import harness_binary
    harness = harness_binary()
    tmp = tmp_path_factory.mktemp("shards")
    whole = tmp / "whole.json"
    proc = run_scenarios(harness, *SUITE, "--seed", "1", "-j", "2", "-q", "--json", whole,
                         "--html", tmp / "whole.html", "--junit", tmp / "whole.xml")
    assert proc.returncode == 0, proc.stderr
    shards = [tmp / f"shard{k}.json" for k in (1, 2, 3)]
    running = [subprocess.Popen([str(harness), "run", *map(str, SUITE), "--seed", "1", "-j", "2", "-q",
                                 "--shard", f"{k}/3", "--json", str(shards[k - 1])],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for k in (1, 2, 3)]
    try:
        for p in running:
            _, err = p.communicate(timeout=RUN_TIMEOUT)
            assert p.returncode == 0, err
    finally:
        for p in running:
            if p.poll() is None:
                p.kill()
                p.wait()
    report = json.loads(whole.read_text())
    report["html"] = (tmp / "whole.html").read_text()
    report["junit"] = (tmp / "whole.xml").read_text()
    return report, shards


def test_report_merge_of_3_shards_equals_the_unsharded_run(harness, tmp_path, suite_shards):
    whole, shards = suite_shards
    # Given in any order.
    proc = merge_reports(harness, shards[2], shards[0], shards[1], "--out", tmp_path / "merged")
    assert proc.returncode == 0, proc.stderr
    merged = json.loads((tmp_path / "merged" / "report.json").read_text())
    assert identity(merged) == identity(whole)
    assert all(json.loads(s.read_text())["scenarios"] for s in shards)  # every shard ran something
    assert merged["summary"] | {"duration_ms": 0} == whole["summary"] | {"duration_ms": 0}
    assert merged["coverage"] == whole["coverage"]  # one coverage table, the same counts
    assert [(s["id"], s["version"], s["verdict"], s["scenarios"]) for s in merged["statements"]] == \
           [(s["id"], s["version"], s["verdict"], s["scenarios"]) for s in whole["statements"]]
    assert merged["merged_from"]["shards"] == 3
    junit = (tmp_path / "merged" / "report.xml").read_text()
    testcase = re.compile(r'<testcase name="([^"]*)" classname="([^"]*)"')
    assert testcase.findall(junit) == testcase.findall(whole["junit"])
    html = (tmp_path / "merged" / "report.html").read_text()
    # One coverage table: as many coverage sections as the unsharded page has.
    assert html.count("Spec coverage") == whole["html"].count("Spec coverage") >= 1


def test_report_merge_names_a_missing_shard(harness, tmp_path, suite_shards):
    _, shards = suite_shards
    proc = merge_reports(harness, shards[0], shards[2], "--out", tmp_path / "m")
    assert proc.returncode == 2
    assert "missing shard(s) 2/3" in proc.stderr
    assert not (tmp_path / "m" / "report.json").exists()


def test_report_merge_refuses_a_shard_of_another_suite(harness, tmp_path, suite_shards):
    _, shards = suite_shards
    other = tmp_path / "other.json"
    proc = run_scenarios(harness, REPO / "scenarios" / "connect", "--shard", "2/3", "-q", "--json", other)
    assert proc.returncode == 0, proc.stderr
    proc = merge_reports(harness, shards[0], other, shards[2], "--out", tmp_path / "m")
    assert proc.returncode == 2
    assert f"{other} is shard 2/3 of suite" in proc.stderr, proc.stderr


def test_report_merge_refuses_an_unsharded_report(harness, tmp_path, suite_shards):
    whole = tmp_path / "whole.json"
    proc = run_scenarios(harness, REPO / "scenarios" / "connect", "-q", "--json", whole)
    assert proc.returncode == 0, proc.stderr
    proc = merge_reports(harness, whole, "--out", tmp_path / "m")
    assert proc.returncode == 2
    assert "not the JSON report of a `run --shard K/N`" in proc.stderr


STUB = REPO / "harness/netfuzz/tests/crashing_broker_stub.py"


def test_3_fuzz_shards_against_the_planted_crash_merge_into_one_finding(harness, tmp_path):
    from conftest import free_port
    outs = [tmp_path / f"shard{k}" for k in (1, 2, 3)]
    running = []
    try:
        for k in (1, 2, 3):
            # Each shard starts its own stub (the stub aborts on a planted SUBSCRIBE and is
            # restarted by its own fuzzer); seed 1 reaches the crash in every shard's first
            # 40 cases (global cases 9, 31 and 35).
            port = free_port()
            running.append(subprocess.Popen(
                [str(harness), "fuzz", "--broker", f"127.0.0.1:{port}", "--duration", "60s", "--seed", "1",
                 "--max-cases", "40", "-j", "1", "--shard", f"{k}/3", "--out", str(outs[k - 1]), "--protocol", "5",
                 "--quiet", "--spawn", "--", "/usr/bin/python3", str(STUB), str(port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        for p in running:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 1, err[-2000:]  # each shard found the crash
    finally:
        for p in running:
            if p.poll() is None:
                p.kill()
                p.wait()
    shard_findings = [json.loads((o / "findings.json").read_text()) for o in outs]
    crash_cases = []
    for k, summary in enumerate(shard_findings):
        assert summary["shard"] == {"index": k + 1, "count": 3}
        [crash] = [f for f in summary["findings"] if f["class"] == "crash"]
        # Shard k's worker is global worker k-1 of 3: it runs the cases k-1, k+2, ... only.
        assert crash["case_index"] % 3 == k and crash["worker"] == k
        crash_cases.append(crash["case_index"])
    assert len(set(crash_cases)) == 3  # three different cases, one bug

    merged = tmp_path / "merged"
    proc = subprocess.run([str(harness), "fuzz", "merge", *map(str, outs), "--out", str(merged)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr  # a crash finding remains
    summary = json.loads((merged / "findings.json").read_text())
    crashes = [f for f in summary["findings"] if f["class"] == "crash"]
    assert len(crashes) == 1, crashes
    crash = crashes[0]
    assert crash["signature"] == "crash|SUBSCRIBE|signal SIGABRT"
    assert [s["case_index"] for s in crash["seen_in"]] == crash_cases
    assert crash["count"] == sum(f["count"] for s in shard_findings for f in s["findings"] if f["class"] == "crash")
    assert (merged / crash["scenario"]).read_text() == (outs[0] / crash["seen_in"][0]["scenario"]).read_text()
    assert summary["cases"] == 120 and summary["crash_findings"] == 1 and summary["warnings"] == []
    # Spec findings too are one per signature.
    signatures = [f["signature"] for f in summary["findings"]]
    assert len(signatures) == len(set(signatures))
    assert set(signatures) == {f["signature"] for s in shard_findings for f in s["findings"]}
    assert f'href="{crash["scenario"]}"' in (merged / "findings.html").read_text()

    # Two of the three shards: merged, but the missing one is said.
    proc = subprocess.run([str(harness), "fuzz", "merge", str(outs[0]), str(outs[2]), "--out", str(tmp_path / "m2")],
                          capture_output=True, text=True, timeout=60)
    assert "missing shard(s) 2/3" in proc.stderr
    assert json.loads((tmp_path / "m2" / "findings.json").read_text())["warnings"] == \
        ["seed 1: missing shard(s) 2/3: their cases are not in this merge"]
