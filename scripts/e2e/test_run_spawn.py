"""End-to-end tests of `mqtt-harness run --spawn` (docs/runner.md "The runner owns the
broker"): the runner starts the broker on a free 127.0.0.1 port, and a crash, a sanitizer
or assertion report, a LeakSanitizer report at its stop or a stall fails the scenario that
was running (or the run, for the final stop), after which the broker is restarted and the
run goes on.

The faulty broker is faulty_broker.py (fake_brokers.LaxBroker in a process of its own),
which sets off one planted fault when a PUBLISH names its topic and prints what a
sanitizer-built broker prints. Scenarios are written here with `--prefix none`, so the
topic the broker sees is the one written. leaky_broker.c, built here with AddressSanitizer,
has a real leak and a real use-after-free, so real sanitizer reports are seen too. Healthy brokers (the embedded broker as a
process, mosquitto) must pass the suite with --spawn.
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, build_c, free_port, run_scenarios as run, run_summary as summary

FAULTY = Path(__file__).resolve().parent / "faulty_broker.py"
LEAKY_C = Path(__file__).resolve().parent / "leaky_broker.c"
STUB = REPO / "harness/netfuzz/tests/crashing_broker_stub.py"

SCENARIO = """\
name: {name}
protocol: 3.1.1
timeout: 3s
clients:
  c: {{client_id: {name}}}
steps:
  - connect: c
  - publish: {{client: c, topic: "{topic}", qos: 1, payload: x}}
  - disconnect: c
"""


def scenarios(tmp_path, *topics):
    """One scenario file per topic, s1.yaml ... sN.yaml (run in that order), each publishing
    once to its topic; the scenario is named after its file."""
    folder = tmp_path / "s"
    folder.mkdir()
    for n, topic in enumerate(topics, 1):
        (folder / f"s{n}.yaml").write_text(SCENARIO.format(name=f"s{n}", topic=topic))
    return folder


def run_spawned(harness, tmp_path, folder, broker_args, *extra, timeout=120):
    out = tmp_path / "r.json"
    proc = run(harness, folder, "--prefix", "none", "--json", out, "--html", tmp_path / "r.html", *extra,
               "--spawn", "--", sys.executable, FAULTY, "{port}", *broker_args, timeout=timeout)
    report = json.loads(out.read_text()) if out.exists() else None
    return proc, report


def by_name(report):
    return {s["name"]: s for s in report["scenarios"]}


def test_a_crash_fails_the_scenario_that_caused_it_and_later_scenarios_still_run(harness, tmp_path):
    folder = scenarios(tmp_path, "t/ok", "t/boom", "t/ok")
    proc, report = run_spawned(harness, tmp_path, folder, ["--crash-on", "t/boom"])
    assert proc.returncode == 1, proc.stderr
    assert summary(proc) == (2, 1, 0, 0)
    s = by_name(report)
    assert s["s1"]["status"] == "passed" and s["s3"]["status"] == "passed"
    assert s["s2"]["status"] == "failed"
    failure = s["s2"]["failure"]
    broker = failure["broker"]
    assert broker["kind"] == "crashed"
    assert broker["exit"] == "signal SIGABRT"
    assert broker["sanitizer"] == "AddressSanitizer"
    assert broker["report"].startswith("==")
    assert "ERROR: AddressSanitizer: heap-use-after-free" in broker["report"]
    assert "#1 0x400200 in handle_publish faulty_broker.c:88" in broker["report"]
    assert "SUMMARY: AddressSanitizer: heap-use-after-free" in broker["report"]
    # The broker's failure is the one cause; what the scenario saw (no PUBACK) comes under it.
    assert failure["statement"] == ""
    assert "crashed (signal SIGABRT)" in failure["message"]
    assert failure["consequences"], failure
    # Restarted once after the crash.
    assert report["spawn"]["starts"] == 2
    assert report["spawn"]["restart"] == "on-crash"
    assert "broker_failure" not in report
    html = (tmp_path / "r.html").read_text()
    assert "heap-use-after-free" in html and "broker crashed (signal SIGABRT)" in html
    assert "statement: no statement" in proc.stderr  # the console block names no statement


def test_a_crash_after_the_last_step_fails_the_scenario(harness, tmp_path):
    """A reproducer whose broker dies when its connection closes (after every expectation
    held) must not pass: `run` exits 1."""
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "finding-1-crash.yaml").write_text("""\
name: "netfuzz finding 1 (crash)"
protocol: 3.1.1
clients:
  raw: {}
  probe: {}
steps:
  - send_raw: {client: probe, hex: "10 0e 00 04 4d 51 54 54 04 02 00 00 00 02 70 31"}  # CONNECT
  - expect_connack: {client: probe, within: 5s}
  - send_raw: {client: raw, hex: "10 0e 00 04 4d 51 54 54 04 02 00 00 00 02 72 31"}  # CONNECT
  - send_raw: {client: raw, hex: "32 0b 00 06 74 2f 6c 61 74 65 00 01 78"}  # PUBLISH t/late QoS 1
  - expect_packet: {client: raw, type: PUBACK, within: 5s}
""")
    proc, report = run_spawned(harness, tmp_path, folder, ["--crash-on-close-after", "t/late"])
    assert proc.returncode == 1, proc.stderr
    [s] = report["scenarios"]
    assert s["status"] == "failed"
    broker = s["failure"]["broker"]
    assert broker["kind"] == "crashed" and broker["exit"] == "signal SIGABRT"
    assert broker["sanitizer"] == "assertion"
    assert "Assertion `session->refs == 0' failed." in broker["report"]
    # Every step held: the crash is the only failure.
    assert all(step["status"] == "passed" for step in s["steps"])
    assert "consequences" not in s["failure"]


def test_a_leak_at_the_end_of_the_run_is_the_runs_failure(harness, tmp_path):
    folder = scenarios(tmp_path, "t/ok", "t/leak", "t/ok")
    proc, report = run_spawned(harness, tmp_path, folder, ["--leak-on", "t/leak"])
    assert proc.returncode == 1, proc.stderr
    assert summary(proc) == (3, 0, 0, 0)
    broker = report["broker_failure"]
    assert broker["kind"] == "leaked"
    assert broker["sanitizer"] == "LeakSanitizer"
    assert broker["exit"] == "exit 23"  # it exited by itself after SIGTERM: no SIGKILL
    assert "Direct leak of 64 byte(s)" in broker["report"]
    assert report["spawn"]["starts"] == 1
    assert "the spawned broker leaked memory (LeakSanitizer) (exit 23) when the run stopped it" in proc.stderr
    assert "Direct leak of 64 byte(s)" in (tmp_path / "r.html").read_text()


def test_per_scenario_restarts_attribute_a_leak_to_its_scenario(harness, tmp_path):
    folder = scenarios(tmp_path, "t/ok", "t/leak", "t/ok")
    proc, report = run_spawned(harness, tmp_path, folder, ["--leak-on", "t/leak"], "--restart", "per-scenario")
    assert proc.returncode == 1, proc.stderr
    assert summary(proc) == (2, 1, 0, 0)
    s = by_name(report)
    assert s["s1"]["status"] == "passed" and s["s3"]["status"] == "passed"
    broker = s["s2"]["failure"]["broker"]
    assert broker["kind"] == "leaked" and broker["sanitizer"] == "LeakSanitizer"
    assert "SUMMARY: AddressSanitizer: 64 byte(s) leaked" in broker["report"]
    assert report["spawn"] == {"command": [sys.executable, str(FAULTY), "{port}", "--leak-on", "t/leak"],
                               "restart": "per-scenario", "starts": 3}
    assert "broker_failure" not in report


def test_a_stall_fails_the_scenario_and_the_broker_is_restarted(harness, tmp_path):
    folder = scenarios(tmp_path, "t/stall", "t/ok")
    proc, report = run_spawned(harness, tmp_path, folder, ["--stall-on", "t/stall"])
    assert proc.returncode == 1, proc.stderr
    s = by_name(report)
    broker = s["s1"]["failure"]["broker"]
    assert broker["kind"] == "stalled"
    assert "no CONNACK" in s["s1"]["failure"]["message"]
    assert s["s2"]["status"] == "passed"
    assert report["spawn"]["starts"] == 2


def test_a_recoverable_sanitizer_report_fails_its_scenario_without_a_restart(harness, tmp_path):
    folder = scenarios(tmp_path, "t/ok", "t/ub", "t/ok")
    proc, report = run_spawned(harness, tmp_path, folder, ["--ubsan-on", "t/ub"])
    assert proc.returncode == 1, proc.stderr
    assert summary(proc) == (2, 1, 0, 0)
    broker = by_name(report)["s2"]["failure"]["broker"]
    assert broker["kind"] == "sanitizer" and broker["exit"] == ""
    assert broker["sanitizer"] == "UndefinedBehaviorSanitizer"
    assert broker["report"].startswith("faulty_broker.c:77:12: runtime error: left shift")
    assert report["spawn"]["starts"] == 1


@pytest.mark.parametrize("restart", ["on-crash", "per-scenario"])
def test_rss_growth_beyond_the_limit_fails_the_scenario_that_grew_it(harness, tmp_path, restart):
    folder = scenarios(tmp_path, "t/ok", "t/grow", "t/ok")
    proc, report = run_spawned(harness, tmp_path, folder, ["--grow-on", "t/grow"], "--rss-growth-limit", "16",
                               "--restart", restart)
    assert proc.returncode == 1, proc.stderr
    assert summary(proc) == (2, 1, 0, 0)
    s = by_name(report)
    broker = s["s2"]["failure"]["broker"]
    assert broker["kind"] == "grew"
    assert re.match(r"RSS grew from \d+ MiB to \d+ MiB \(limit 16 MiB per scenario", broker["report"]), broker["report"]
    assert "grew beyond the RSS limit" in s["s2"]["failure"]["message"]
    # Off: the same growth fails nothing.
    proc, report = run_spawned(harness, tmp_path, folder, ["--grow-on", "t/grow"], "--rss-growth-limit", "off",
                               "--restart", restart)
    assert proc.returncode == 0, proc.stderr


def test_a_suppressed_report_fails_no_scenario_and_is_counted(harness, tmp_path):
    folder = scenarios(tmp_path, "t/ok", "t/ub", "t/ok")
    supp = tmp_path / "known.supp"
    supp.write_text("UndefinedBehaviorSanitizer: left shift of *by 31\n")
    proc, report = run_spawned(harness, tmp_path, folder, ["--ubsan-on", "t/ub"], "--suppressions", supp)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc) == (3, 0, 0, 0)
    assert report["spawn"]["suppressed"] == {"UndefinedBehaviorSanitizer: left shift of *by 31": 1}
    assert "suppressed: 1 broker report(s) matched 'UndefinedBehaviorSanitizer: left shift of *by 31'" in proc.stderr
    # An entry for another report suppresses nothing: the scenario fails as before.
    supp.write_text("UndefinedBehaviorSanitizer: some_other_function\n")
    proc, report = run_spawned(harness, tmp_path, folder, ["--ubsan-on", "t/ub"], "--suppressions", supp)
    assert proc.returncode == 1, proc.stderr
    assert by_name(report)["s2"]["failure"]["broker"]["kind"] == "sanitizer"


def test_a_bad_suppressions_file_stops_the_run_naming_its_line(harness, tmp_path):
    folder = scenarios(tmp_path, "t/ok")
    supp = tmp_path / "bad.supp"
    supp.write_text("leak:x\nnonsense:y\n")
    proc, _ = run_spawned(harness, tmp_path, folder, [], "--suppressions", supp)
    assert proc.returncode == 2, proc.stderr
    assert "bad.supp:2: unknown suppression type 'nonsense'" in proc.stderr


def test_a_fuzz_reproducer_replayed_with_spawn_fails_on_the_broker_crash(harness, tmp_path):
    """The fuzzer finds the stub's planted crash (`{port}` in its --spawn command too) and
    records that its reproducer replays; replayed by `run --spawn` on a fresh stub, the
    reproducer fails on the crash."""
    out = tmp_path / "fuzz"
    port = free_port()
    fuzz = subprocess.run([str(harness), "fuzz", "--broker", f"127.0.0.1:{port}", "--duration", "60s", "--seed", "1",
                           "--max-cases", "60", "--out", str(out), "--protocol", "5", "--quiet",
                           "--spawn", "--", sys.executable, str(STUB), "{port}"], capture_output=True, text=True,
                          timeout=240)
    assert fuzz.returncode == 1, fuzz.stderr[-2000:]
    summary_json = json.loads((out / "findings.json").read_text())
    [crash] = [f for f in summary_json["findings"] if f["class"] == "crash"]
    # The fuzzer replayed it itself (`run --spawn`, per scenario) before writing the findings.
    assert crash["replay"] == {"loads": True, "error": "", "runs": 1, "failed": 1}
    assert summary_json["replayed"] == len(summary_json["findings"])
    assert "reproducer replays 1 of 1 on a fresh broker" in (out / "findings.html").read_text()
    proc = run(harness, out / crash["scenario"], "--json", tmp_path / "r.json",
               "--spawn", "--", sys.executable, STUB, "{port}", timeout=120)
    assert proc.returncode == 1, proc.stderr
    [s] = json.loads((tmp_path / "r.json").read_text())["scenarios"]
    assert s["status"] == "failed"
    assert s["failure"]["broker"]["kind"] == "crashed"
    assert s["failure"]["broker"]["exit"] == "signal SIGABRT"


@pytest.fixture(scope="module")
def leaky_broker(tmp_path_factory):
    """leaky_broker.c built with AddressSanitizer (its LeakSanitizer included)."""
    return build_c(LEAKY_C, tmp_path_factory.mktemp("leaky"), "-fsanitize=address")


def test_real_sanitizer_reports_of_an_asan_build_are_pinned_on_their_scenarios(harness, tmp_path, leaky_broker):
    folder = scenarios(tmp_path, "t/ok", "t/leak", "t/uaf", "t/ok")
    out = tmp_path / "r.json"
    proc = run(harness, folder, "--prefix", "none", "--json", out, "--restart", "per-scenario",
               "--spawn", "--", leaky_broker, "{port}", timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert summary(proc) == (2, 2, 0, 0)
    s = by_name(json.loads(out.read_text()))
    assert s["s1"]["status"] == "passed" and s["s4"]["status"] == "passed"
    leak = s["s2"]["failure"]["broker"]
    assert leak["kind"] == "leaked" and leak["sanitizer"] == "LeakSanitizer"
    assert re.search(r"Direct leak of 7 byte\(s\) in 1 object\(s\) allocated from:\n.*strdup.*\n.* in on_publish .*leaky_broker.c:",
                     leak["report"]), leak["report"]
    assert "SUMMARY: AddressSanitizer: 7 byte(s) leaked in 1 allocation(s)." in leak["report"]
    uaf = s["s3"]["failure"]["broker"]
    assert uaf["kind"] == "crashed" and uaf["sanitizer"] == "AddressSanitizer"
    assert "ERROR: AddressSanitizer: heap-use-after-free" in uaf["report"]
    assert " in on_publish " in uaf["report"]


def test_a_broker_command_that_does_not_start_exits_2_with_its_output(harness, tmp_path):
    folder = scenarios(tmp_path, "t/ok")
    proc = run(harness, folder, "--spawn", "--", sys.executable, "-c",
               "import sys; print('cannot bind {port}'); sys.exit(4)", timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "the spawned broker did not start on 127.0.0.1:" in proc.stderr
    assert "it ended (exit 4)" in proc.stderr
    assert re.search(r"its last output:\ncannot bind \d+\n", proc.stderr), proc.stderr  # {port} replaced


def test_the_suite_passes_on_the_embedded_broker_spawned_per_scenario(harness, tmp_path):
    out = tmp_path / "r.json"
    proc = run(harness, REPO / "scenarios", "-q", "--profile", REPO / "profiles/embedded.yaml", "--json", out,
               "--restart", "per-scenario", "--spawn", "--", harness, "broker", "--listen", "127.0.0.1:{port}",
               timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text())
    ran = [s for s in report["scenarios"] if s["status"] != "skipped"]
    assert len(ran) > 100
    assert report["spawn"]["starts"] == len(ran)
    assert "broker_failure" not in report


def test_the_suite_passes_on_mosquitto_spawned(harness, tmp_path):
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.fail("mosquitto is not installed (scripts/setup.sh installs it)")
    out = tmp_path / "r.json"
    # Its configuration names the port, so a shell writes it for the port the runner picked.
    conf = tmp_path / "mosquitto.conf"
    script = f'printf "listener %s 127.0.0.1\\nallow_anonymous true\\npersistence false\\n" "$1" > {conf} && exec {exe} -c {conf}'
    proc = run(harness, REPO / "scenarios", "-q", "--profile", REPO / "profiles/mosquitto-2.0.yaml", "--json", out,
               "--spawn", "--", "/bin/sh", "-c", script, "sh", "{port}", timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["spawn"]["starts"] == 1
    assert "broker_failure" not in report


# --------------------------------------------------------------------------------------
# The bystander (--stall-threshold): planted_broker.py sets off its bug when a connection
# unsubscribes from a filter it subscribed to, which this scenario does before a quiet
# while in which the bystander's cycles see the effect.
PLANTED = Path(__file__).resolve().parent / "planted_broker.py"
SUBSCRIBE_THEN_UNSUBSCRIBE = """\
name: A subscription taken back, then a quiet while
protocol: 3.1.1
timeout: 10s
clients:
  c: {}
steps:
  - connect: c
  - subscribe: {client: c, filter: "w/t", qos: 1}
  - unsubscribe: {client: c, filters: ["w/t"]}
  - sleep: 2s
"""


@pytest.mark.parametrize("bug,kind", [("stall", "stall"), ("lose", "qos1_lost"), ("duplicate", "qos1_duplicate"),
                                      ("none", None)])
def test_the_bystander_fails_the_scenario_during_which_the_broker_stalls_loses_or_duplicates(
        harness, tmp_path, bug, kind):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "quiet.yaml").write_text(SUBSCRIBE_THEN_UNSUBSCRIBE)
    out = tmp_path / "r.json"
    proc = run(harness, folder, "--prefix", "none", "--json", out, "--stall-threshold", "1s",
               "--spawn", "--", sys.executable, PLANTED, "{port}", "--bug", bug, timeout=90)
    [s] = json.loads(out.read_text())["scenarios"]
    if kind is None:
        assert proc.returncode == 0 and s["status"] == "passed", summary(proc)
        return
    assert proc.returncode == 1, summary(proc)
    assert s["status"] == "failed" and s["failure"]["broker"]["kind"] == kind, s["failure"]
    assert s["failure"]["statement"] == "" and "bystander" in s["failure"]["message"], s["failure"]


def test_stall_threshold_needs_spawn(harness, tmp_path):
    folder = scenarios(tmp_path, "t/ok")
    proc = run(harness, folder, "--stall-threshold", "1s")
    assert proc.returncode == 2 and "--stall-threshold needs --spawn" in proc.stderr, proc.stderr
