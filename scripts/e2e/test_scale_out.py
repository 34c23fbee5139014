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


# ---- bench workers -----------------------------------------------------------------------

def hlog_counts(path):
    """An HdrHistogram interval log decoded here, independently of the harness: per interval
    (counts by bucket index, max in ns). The V2 encoding: base64 of cookie 0x1c849314, length,
    zlib(cookie 0x1c849313, payload length, offset, digits, lowest, highest, ratio, ZigZag
    LEB128 counts with -k for k zero counts)."""
    import base64
    import struct
    import zlib
    intervals = []
    for line in Path(path).read_text().splitlines():
        if not line or line.startswith("#") or line.startswith('"'):
            continue
        _start, _length, max_ms, encoded = line.split(",")
        raw = base64.b64decode(encoded)
        cookie, length = struct.unpack(">ii", raw[:8])
        assert cookie == 0x1c849314
        inner = zlib.decompress(raw[8:8 + length])
        cookie, payload_len, _offset, digits, lowest, _highest = struct.unpack(">iiiiqq", inner[:32])
        assert (cookie, digits, lowest) == (0x1c849313, 2, 1)
        body, at, counts = inner[40:40 + payload_len], 0, []
        while at < len(body):
            value, shift = 0, 0
            for i in range(9):
                byte = body[at]
                at += 1
                if i == 8:
                    value |= byte << 56
                    break
                value |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            value = (value >> 1) ^ -(value & 1)
            counts.extend([0] * -value if value < 0 else [value])
        intervals.append((counts, round(float(max_ms) * 1e6)))
    return intervals


def highest_equivalent(index):
    if index < 256:
        return index
    shift = (index - 256) // 128 + 1
    return ((128 + (index - 256) % 128) << shift) + (1 << shift) - 1


def percentile_ns(counts, max_ns, q):
    """Nearest rank: the highest value of the bucket holding the ceil(q% x count)-th sample, at most the max."""
    import math
    total = sum(counts)
    rank = min(max(math.ceil(q / 100 * total), 1), total)
    seen = 0
    for i, c in enumerate(counts):
        seen += c
        if seen >= rank:
            return min(highest_equivalent(i), max_ns)


def bench_worker(harness, port, out, *args):
    return subprocess.Popen([str(harness), "bench", "--broker", f"127.0.0.1:{port}", "--quiet",
                             "--hdr-log", str(out), "--json", str(out.with_suffix(".json")), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_all(workers, timeout=90):
    try:
        for w in workers:
            w.communicate(timeout=timeout)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    return [w.returncode for w in workers]


def bench_merge(harness, *args):
    proc = subprocess.run([str(harness), "bench", "merge", *map(str, args)], capture_output=True, text=True, timeout=60)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip() else None)


def test_4_bench_workers_merge_into_exact_percentiles_and_one_ledger(harness, procs, tmp_path):
    import time
    from conftest import read_listening_line
    broker = procs.start([harness, "broker", "--listen", "127.0.0.1:0"])
    _, port = read_listening_line(broker)
    logs = [tmp_path / f"w{k}.hlog" for k in (1, 2, 3, 4)]
    start_at = int(time.time()) + 2  # a common start, as on many hosts
    workers = [bench_worker(harness, port, logs[k - 1], "--qos", 1, "--messages", 2000, "--shard", f"{k}/4",
                            "--start-at", start_at) for k in (1, 2, 3, 4)]
    assert wait_all(workers) == [0, 0, 0, 0]
    proc, merged = bench_merge(harness, *logs, "--hdr-log", tmp_path / "merged.hlog")
    assert proc.returncode == 0, proc.stderr
    assert merged["workers_alive"] == 4 and merged["dead_workers"] == []
    assert [w["shard"] for w in merged["workers"]] == ["1/4", "2/4", "3/4", "4/4"]
    assert merged["sent"] == merged["received"] == 8000
    assert merged["ledger"] == {"streams": 4, "violated": 0, "lost": 0, "duplicated": 0, "reordered": 0,
                                "verdict": "held"}
    assert merged["received_per_s"] > 0
    # Histogram addition: the merged figures are those of all 8,000 samples, computed here
    # from the four logs (never an average of the workers' percentiles).
    decoded = [hlog_counts(log)[0] for log in logs]
    width = max(len(c) for c, _ in decoded)
    total = [sum(c[i] if i < len(c) else 0 for c, _ in decoded) for i in range(width)]
    max_ns = max(m for _, m in decoded)
    assert merged["latency_ms"]["samples"] == sum(total) == 8000
    for key, q in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9)):
        assert merged["latency_ms"][key] == percentile_ns(total, max_ns, q) / 1e6, key
    assert merged["latency_ms"]["max"] == max_ns / 1e6
    [(merged_counts, merged_max)] = hlog_counts(tmp_path / "merged.hlog")
    assert merged_counts == total[:len(merged_counts)] and not any(total[len(merged_counts):])
    assert merged_max == max_ns
    # One worker's log merged alone gives that process's own figures (its --json).
    proc, alone = bench_merge(harness, logs[2])
    own = json.loads(logs[2].with_suffix(".json").read_text())["latency"]
    assert {k: alone["latency_ms"][k] for k in ("p50", "p90", "p99", "p99_9", "max")} == \
           {k: own[k] / 1e6 for k in ("p50", "p90", "p99", "p99_9", "max")}
    # The common start: the workers' start times agree well within the bound.
    assert merged["start_skew_s"] < 1.0 and merged["warnings"] == []


def test_bench_merge_reports_a_dead_worker_and_clock_skew(harness, procs, tmp_path):
    from conftest import read_listening_line
    broker = procs.start([harness, "broker", "--listen", "127.0.0.1:0"])
    _, port = read_listening_line(broker)
    logs = [tmp_path / f"w{k}.hlog" for k in (1, 2)]
    workers = [bench_worker(harness, port, logs[k - 1], "--messages", 500, "--shard", f"{k}/3") for k in (1, 2)]
    assert wait_all(workers) == [0, 0]
    # Shard 3/3 never wrote its log; a fourth file is cut before its interval line.
    cut = tmp_path / "cut.hlog"
    cut.write_text("".join(logs[0].read_text().splitlines(keepends=True)[:2]))
    proc, merged = bench_merge(harness, *logs, cut)
    assert proc.returncode == 1
    assert "dead worker: shard 3/3: no log" in proc.stderr
    assert f"dead worker: {cut}: no mqtth-bench record" in proc.stderr
    assert merged["workers_alive"] == 2 and merged["received"] == 1000
    # A worker whose clock is 5 s ahead: the same log with its StartTime moved.
    text = logs[1].read_text()
    start = float(text.split("#[StartTime: ")[1].split(" ")[0])
    skewed = tmp_path / "skewed.hlog"
    skewed.write_text(text.replace(f"#[StartTime: {start:.3f}", f"#[StartTime: {start + 5:.3f}"))
    proc, merged = bench_merge(harness, logs[0], skewed, "--workers", 2)
    assert proc.returncode == 0, proc.stderr
    assert merged["start_skew_s"] > 4
    assert "start times are" in proc.stderr and "apart (bound 1.000 s)" in proc.stderr


def test_the_merged_ledger_catches_a_broker_that_drops_qos1(harness, procs, tmp_path):
    from conftest import read_listening_line
    broker = procs.start([harness, "broker", "--listen", "127.0.0.1:0", "--misbehave", "drop-qos1"])
    _, port = read_listening_line(broker)
    logs = [tmp_path / f"w{k}.hlog" for k in (1, 2)]
    workers = [bench_worker(harness, port, logs[k - 1], "--qos", 1, "--messages", 2000, "--drain", 1,
                            "--shard", f"{k}/2") for k in (1, 2)]
    assert wait_all(workers) == [1, 1]
    proc, merged = bench_merge(harness, *logs)
    assert proc.returncode == 1
    assert merged["ledger"]["verdict"] == "violated" and merged["ledger"]["lost"] > 0
    assert merged["received"] < merged["expected"]
    assert "violated across the workers" in proc.stderr


def test_bench_shard_auto_reads_the_job_index(harness, tmp_path):
    import os
    env = dict(os.environ, JOB_COMPLETION_INDEX="2", MQTTH_SHARD_COUNT="5")
    out = tmp_path / "w.hlog"
    proc = subprocess.run([str(harness), "bench", "--in-process", "--messages", "200", "--quiet", "--shard", "auto",
                           "--hdr-log", str(out)], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    _, merged = bench_merge(harness, out)
    assert merged["workers"][0]["shard"] == "3/5"  # the index is 0-based
    env = {k: v for k, v in os.environ.items() if k not in ("JOB_COMPLETION_INDEX", "CI_NODE_INDEX")}
    proc = subprocess.run([str(harness), "bench", "--in-process", "--shard", "auto"], capture_output=True, text=True,
                          timeout=30, env=env)
    assert proc.returncode == 2 and "JOB_COMPLETION_INDEX" in proc.stderr


# ---- manifests (docs/scale-out.md "Kubernetes", "GitHub Actions") ------------------------

def test_kubernetes_indexed_jobs_have_the_fields_the_docs_promise():
    import yaml
    jobs = list(yaml.safe_load_all((REPO / "deploy/kubernetes/scale-out-jobs.yaml").read_text()))
    assert {j["metadata"]["name"] for j in jobs} == {"mqtth-suite", "mqtth-fuzz", "mqtth-bench"}
    for job in jobs:
        assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
        spec = job["spec"]
        assert spec["completionMode"] == "Indexed"
        assert spec["completions"] == spec["parallelism"] >= 2
        assert spec["backoffLimit"] == 0
        pod = spec["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        [container] = pod["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["MQTTH_SHARD_COUNT"] == str(spec["completions"])  # N written three times, one value
        command = " ".join(container["command"] + container["args"])
        role = job["metadata"]["labels"]["mqtth/role"]
        subcommand = {"suite": "run", "fuzz": "fuzz", "bench": "bench"}[role]
        assert f"mqtt-harness {subcommand} " in command
        if role == "bench":
            assert "--shard auto" in command and "--start-at" in command and "--hdr-log" in command
            assert "START_AT" in env
        else:
            assert '--shard "$((JOB_COMPLETION_INDEX + 1))/$MQTTH_SHARD_COUNT"' in command
        assert any(m["mountPath"] == "/results" for m in container["volumeMounts"])
        assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "mqtth-results"
    [merge] = yaml.safe_load_all((REPO / "deploy/kubernetes/merge-job.yaml").read_text())
    command = " ".join(merge["spec"]["template"]["spec"]["containers"][0]["args"])
    for sub in ("report merge /results/suite/", "fuzz merge /results/fuzz/", "bench merge /results/bench/"):
        assert sub in command
    bench = next(j for j in jobs if j["metadata"]["name"] == "mqtth-bench")
    assert f"--workers {bench['spec']['completions']}" in command


def test_github_actions_matrix_has_the_fields_the_docs_promise():
    import yaml
    workflow = yaml.safe_load((REPO / "deploy/github-actions/scale-out.yml").read_text())
    jobs = workflow["jobs"]
    for name, subcommand in (("suite", "run"), ("fuzz", "fuzz"), ("bench", "bench")):
        job = jobs[name]
        shards = job["strategy"]["matrix"]["shard"]
        assert shards == list(range(1, len(shards) + 1))
        assert job["strategy"]["fail-fast"] is False
        assert job["needs"] == "build"
        runs = " ".join(step.get("run", "") for step in job["steps"])
        assert f"bin/mqtt-harness {subcommand} " in runs
        assert f"--shard ${{{{ matrix.shard }}}}/{len(shards)}" in runs
        assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in job["steps"])
    merge = jobs["merge"]
    assert set(merge["needs"]) == {"suite", "fuzz", "bench"} and merge["if"] == "always()"
    runs = " ".join(step.get("run", "") for step in merge["steps"])
    assert "report merge" in runs and "fuzz merge" in runs and "bench merge" in runs
    assert f"--workers {len(jobs['bench']['strategy']['matrix']['shard'])}" in runs


def test_the_docs_name_the_manifests_and_the_one_host_recipe():
    doc = (REPO / "docs/scale-out.md").read_text()
    for path in ("deploy/kubernetes/scale-out-jobs.yaml", "deploy/kubernetes/merge-job.yaml",
                 "deploy/github-actions/scale-out.yml"):
        assert path in doc and (REPO / path).exists()
    assert "xargs -P" in doc and "parallel -j" in doc
