"""End-to-end tests of the live fuzzer's sanitizer handling (docs/netfuzz.md "Sanitizer
reports" and "Suppressions"): a recoverable UndefinedBehaviorSanitizer report is one
finding with its evidence (report with its first stack, the broker's last output lines) in
findings.json, findings.html and the reproducer's comments; once its signature is known it
costs no restart; `--suppressions` drops it, in the harness's own format and in the
sanitizers' own, which reaches the broker's runtime.

The broker is scripts/e2e/leaky_broker.c built here with -fsanitize=address,undefined: a
PUBLISH to a topic under "fz/" (the fuzzer's own topics) overflows a signed int, a real
UBSan report the broker survives. Every run is bounded by --max-cases on 127.0.0.1.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import build_c, free_port, run_scenarios

LEAKY_C = Path(__file__).resolve().parent / "leaky_broker.c"
OVERFLOW = "runtime error: signed integer overflow"


@pytest.fixture(scope="module")
def ubsan_broker(tmp_path_factory):
    return build_c(LEAKY_C, tmp_path_factory.mktemp("ubsan"), "-fsanitize=address,undefined")


def fuzz(harness, broker, out, *extra, cases=300):
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1")
    proc = subprocess.run([str(harness), "fuzz", "--broker", f"127.0.0.1:{free_port()}", "--protocol", "3.1.1",
                           "--seed", "1", "--max-cases", str(cases), "--replays", "0", "--quiet", "--out", str(out),
                           *map(str, extra), "--spawn", "--", str(broker), "{port}"],
                          capture_output=True, timeout=60, env=env)
    lines = proc.stdout.decode().strip().splitlines()
    summary = json.loads(lines[-1]) if lines else None
    return proc, summary


def crash_class(out):
    return [f for f in json.loads((out / "findings.json").read_text())["findings"] if f["class"] == "crash"]


def test_a_recoverable_report_is_one_finding_that_keeps_the_evidence(harness, ubsan_broker, tmp_path):
    proc, summary = fuzz(harness, ubsan_broker, tmp_path / "out")
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    found = crash_class(tmp_path / "out")
    # One bug, one group: the overflowing values differ from case to case, the signature does not.
    assert len(found) == 1, [f["signature"] for f in found]
    f = found[0]
    assert f["kind"] == "sanitizer" and f["recoverable"] is True
    sig = f["report_signature"]
    assert sig.startswith("UndefinedBehaviorSanitizer|") and "signed integer overflow: N + N" in sig
    assert sig.endswith("|on_publish|handle|main"), sig
    assert "0x" not in sig
    assert OVERFLOW in f["report"] and " in on_publish " in f["report"]
    assert "listening on 127.0.0.1:" in f["output_tail"]
    reproducer = (tmp_path / "out" / f["scenario"]).read_text()
    assert "# What the broker showed:" in reproducer
    assert any(line.startswith("#   ") and OVERFLOW in line for line in reproducer.splitlines()), reproducer
    html = (tmp_path / "out" / "findings.html").read_text()
    assert "broker evidence" in html and OVERFLOW in html
    # The reproducer fails a `run --spawn` against a fresh broker.
    env_run = run_scenarios(harness, tmp_path / "out" / f["scenario"], "--prefix", "none",
                            "--spawn", "--", ubsan_broker, "{port}")
    assert env_run.returncode == 1, env_run.stderr


def test_own_format_suppressions_count_the_report_and_nothing_restarts(harness, ubsan_broker, tmp_path):
    supp = tmp_path / "known.supp"
    supp.write_text("# reported upstream\nUndefinedBehaviorSanitizer: on_publish\n")
    proc, summary = fuzz(harness, ubsan_broker, tmp_path / "out", "--suppressions", supp)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert crash_class(tmp_path / "out") == []
    assert summary["suppressed"].get("UndefinedBehaviorSanitizer: on_publish", 0) >= 1, summary
    assert summary["broker_starts"] == 1


def test_sanitizer_suppression_file_reaches_the_brokers_runtime(harness, ubsan_broker, tmp_path):
    supp = tmp_path / "ubsan.supp"
    supp.write_text("signed-integer-overflow:on_publish\n")
    proc, summary = fuzz(harness, ubsan_broker, tmp_path / "out", "--suppressions", supp)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert crash_class(tmp_path / "out") == []
    # The runtime itself stayed quiet (the harness would have counted the entry otherwise).
    assert summary["suppressed"] == {}, summary
    assert summary["broker_starts"] == 1
    assert (tmp_path / "out" / "suppressions" / "ubsan.supp").read_text() == "signed-integer-overflow:on_publish\n"


def test_an_unreadable_or_bad_suppressions_file_is_a_usage_error(harness, ubsan_broker, tmp_path):
    bad = tmp_path / "bad.supp"
    bad.write_text("leak:fine\nnot an entry\n")
    proc, _ = fuzz(harness, ubsan_broker, tmp_path / "out", "--suppressions", bad, cases=5)
    assert proc.returncode == 2
    assert "bad.supp:2: expected TYPE:PATTERN" in proc.stderr.decode()
