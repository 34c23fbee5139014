"""End-to-end tests of `mqtt-harness run` (docs/runner.md): exit codes, progress output,
reports, selection (--filter/--shard/-j/--protocol), profiles (requires -> skipped, known
deviations), --broker against `mqtt-harness broker` and mosquitto, and the QoS ledger
catching a deliberately broken broker.

Every scenario here is written into tmp_path by the test itself; expected values come from
the scenario text (what was published, which line a step is on) and the spec, not from
the runner's own output.
"""
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import RUN_TIMEOUT, read_listening_line
from conftest import run_scenarios as run, run_summary as summary




def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


PASSING = """\
name: QoS 1 messages reach the subscriber
spec: [MQTT-4.3.2-1]
protocol: {protocol}
timeout: 10s
clients:
  sub: {{}}
  pub: {{}}
steps:
  - connect: sub
  - subscribe: {{client: sub, filter: "t/#", qos: 1}}
  - connect: pub
  - publish: {{client: pub, topic: t/a, qos: 1, count: 5, payload: "hello {{seq}}"}}
  - expect_delivery: {{subscriber: sub, publisher: pub, guarantee: at_least_once, ordered: true, count: 5, within: 5s}}
  - publish: {{client: pub, topic: t/b, qos: 0, payload: "plain"}}
  - expect_packet: {{client: sub, type: PUBLISH, topic: t/b, payload: "plain", within: 5s}}
"""

# Line 12 (1-based) is the expect_packet step that cannot pass: nothing is published on t/zzz.
FAILING = """\
name: A message nobody publishes is expected
spec: [MQTT-3.3.4-1]
protocol: 5
timeout: 5s
clients:
  sub: {}
  pub: {}
steps:
  - connect: sub
  - subscribe: {client: sub, filter: "t/#", qos: 0}
  - connect: pub
  - expect_packet: {client: sub, type: PUBLISH, topic: t/zzz, within: 300ms}
"""
FAILING_LINE = 12
FAILING_STEP = 4

# Line 7 has a key the format does not know.
BAD = """\
name: broken file
protocol: 5
clients:
  a: {}
steps:
  - connect: a
  - publish: {client: a, topic: t, colour: blue}
"""


def named(name: str, protocol: str = "5") -> str:
    return PASSING.format(protocol=protocol).replace("QoS 1 messages reach the subscriber", name, 1)


# --------------------------------------------------------------------------------------
# Exit status and messages


def test_passing_scenario_exits_0_with_summary(harness, tmp_path):
    f = write(tmp_path / "ok.yaml", PASSING.format(protocol=5))
    proc = run(harness, f)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc) == (1, 0, 0, 0)
    assert "passed" in proc.stderr.splitlines()[1]  # one progress line per scenario


def test_passing_scenario_also_passes_on_3_1_1(harness, tmp_path):
    f = write(tmp_path / "ok.yaml", PASSING.format(protocol="3.1.1"))
    proc = run(harness, f)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc) == (1, 0, 0, 0)


def test_failing_scenario_exits_1_naming_step_and_file_line(harness, tmp_path):
    f = write(tmp_path / "fail.yaml", FAILING)
    proc = run(harness, f, "--json", tmp_path / "r.json")
    assert proc.returncode == 1, proc.stderr
    assert summary(proc) == (0, 1, 0, 0)
    assert f"step {FAILING_STEP}" in proc.stderr
    assert f"{f}:{FAILING_LINE}" in proc.stderr
    assert "t/zzz" in proc.stderr  # what was expected
    # The one statement the failure names: the scenario's only spec: id.
    assert "statement: MQTT-3.3.4-1" in proc.stderr
    # The last packets of both clients, in time order, each line naming its client.
    assert "last packets (all clients, in time order):" in proc.stderr
    times = [float(m.group(1)) for m in re.finditer(r"^\s+(\d+\.\d+) ms (?:sub|pub) (?:->|<-) ", proc.stderr, re.M)]
    assert len(times) >= 4 and times == sorted(times), proc.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    failure = rep["scenarios"][0]["failure"]
    assert failure["step"] == FAILING_STEP
    assert failure["line"] == FAILING_LINE
    assert "t/zzz" in failure["message"]
    assert failure["statement"] == "MQTT-3.3.4-1"
    assert {p["client"] for p in failure["last_packets"]} == {"sub", "pub"}
    assert [p["time_ms"] for p in failure["last_packets"]] == sorted(p["time_ms"] for p in failure["last_packets"])


def test_bad_file_exits_2_with_file_line_col(harness, tmp_path):
    f = write(tmp_path / "bad.yaml", BAD)
    proc = run(harness, f)
    assert proc.returncode == 2, proc.stderr
    assert re.search(rf"{re.escape(str(f))}:7:\d+: .*colour", proc.stderr), proc.stderr


def test_bad_file_among_good_ones_still_runs_the_rest_and_exits_2(harness, tmp_path):
    write(tmp_path / "s" / "a_ok.yaml", PASSING.format(protocol=5))
    write(tmp_path / "s" / "b_bad.yaml", BAD)
    proc = run(harness, tmp_path / "s", "--json", tmp_path / "r.json")
    assert proc.returncode == 2
    rep = json.loads((tmp_path / "r.json").read_text())
    statuses = sorted(s["status"] for s in rep["scenarios"])
    assert statuses == ["error", "passed"]


@pytest.mark.parametrize("args", [
    ["--broker", "nohostport"], ["--protocol", "4"], ["-j", "0"], ["--shard", "3/2"], ["--bogus"],
])
def test_bad_arguments_exit_2(harness, tmp_path, args):
    f = write(tmp_path / "ok.yaml", PASSING.format(protocol=5))
    proc = run(harness, f, *args)
    assert proc.returncode == 2
    assert proc.stderr.strip(), "an argument error must say what is wrong"


def test_missing_path_exits_2(harness, tmp_path):
    proc = run(harness, tmp_path / "nope")
    assert proc.returncode == 2
    assert "nope" in proc.stderr


def test_pcap_writes_one_file_per_client_connection(harness, tmp_path):
    # Details (names, tshark read-back) are in test_faults_run.py.
    f = write(tmp_path / "ok.yaml", PASSING.format(protocol=5))
    proc = run(harness, f, "--pcap", tmp_path / "pcap")
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "pcap").glob("*.pcap"))) == 2  # sub and pub, one connection each
    help_text = run(harness, "--help").stdout
    assert "--pcap DIR" in help_text and "NOT IMPLEMENTED" not in help_text


# --------------------------------------------------------------------------------------
# Reports


def test_json_report_has_the_design_keys(harness, tmp_path):
    f = write(tmp_path / "ok.yaml", PASSING.format(protocol=5))
    out = tmp_path / "r.json"
    proc = run(harness, f, "--json", out)
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(out.read_text())
    assert set(rep["summary"]) >= {"passed", "failed", "skipped", "errors", "duration_ms"}
    assert rep["summary"]["passed"] == 1
    sc = rep["scenarios"][0]
    assert set(sc) >= {"name", "file", "protocol", "status", "duration_ms", "spec", "deliveries"}
    assert sc["name"] == "QoS 1 messages reach the subscriber"
    assert sc["protocol"] == "5"
    assert sc["status"] == "passed"
    assert sc["spec"] == ["MQTT-4.3.2-1"]
    rows = sc["deliveries"]
    assert len(rows) == 1
    row = rows[0]
    assert set(row) >= {"publisher", "subscriber", "topic", "qos", "guarantee", "sent", "delivered",
                        "lost", "duplicated", "reordered", "verdict"}
    assert (row["publisher"], row["subscriber"], row["topic"], row["qos"]) == ("pub", "sub", "t/a", 1)
    assert (row["sent"], row["delivered"], row["lost"], row["duplicated"]) == (5, 5, 0, 0)
    assert row["guarantee"] == "at_least_once" and row["verdict"] == "held"


def test_html_and_junit_create_parent_folders(harness, tmp_path):
    f = write(tmp_path / "ok.yaml", PASSING.format(protocol=5))
    html = tmp_path / "reports" / "out" / "index.html"
    junit = tmp_path / "deep" / "er" / "junit.xml"
    proc = run(harness, f, "--html", html, "--junit", junit)
    assert proc.returncode == 0, proc.stderr
    assert "<html" in html.read_text().lower()
    assert "<testsuites" in junit.read_text()


# --------------------------------------------------------------------------------------
# Selection


def make_suite(root: Path, n: int = 5) -> list[str]:
    names = [f"suite scenario {i}" for i in range(n)]
    for i, name in enumerate(names):
        write(root / f"d{i % 2}" / f"s{i}.yaml", named(name))
    return names


def scenario_names(report_path: Path) -> list[str]:
    return [s["name"] for s in json.loads(report_path.read_text())["scenarios"]]


def test_filter_matches_names_and_paths(harness, tmp_path):
    names = make_suite(tmp_path / "suite")
    out = tmp_path / "r.json"
    proc = run(harness, tmp_path / "suite", "--filter", "*scenario 3", "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert scenario_names(out) == [names[3]]
    proc = run(harness, tmp_path / "suite", "--filter", "*/d1/*", "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(scenario_names(out)) == sorted([names[1], names[3]])


def test_shards_partition_the_suite(harness, tmp_path):
    names = make_suite(tmp_path / "suite")
    seen = []
    for k in (1, 2, 3):
        out = tmp_path / f"r{k}.json"
        proc = run(harness, tmp_path / "suite", "--shard", f"{k}/3", "--json", out)
        assert proc.returncode == 0, proc.stderr
        seen.append(scenario_names(out))
    flat = [n for shard in seen for n in shard]
    assert sorted(flat) == sorted(names)  # every scenario once, none twice
    assert all(shard for shard in seen)
    again = tmp_path / "again.json"
    run(harness, tmp_path / "suite", "--shard", "2/3", "--json", again)
    assert scenario_names(again) == seen[1]  # deterministic


def test_parallel_run_gives_the_same_results(harness, tmp_path):
    names = make_suite(tmp_path / "suite", 6)
    write(tmp_path / "suite" / "zz_fail.yaml", FAILING)
    out = tmp_path / "r.json"
    proc = run(harness, tmp_path / "suite", "-j", "3", "--json", out)
    assert proc.returncode == 1, proc.stderr
    assert summary(proc) == (6, 1, 0, 0)
    rep = json.loads(out.read_text())
    by_name = {s["name"]: s["status"] for s in rep["scenarios"]}
    assert all(by_name[n] == "passed" for n in names)
    assert by_name["A message nobody publishes is expected"] == "failed"


def test_protocol_option_restricts_the_matrix(harness, tmp_path):
    text = PASSING.format(protocol=5).replace("protocol: 5", "protocols: [3.1.1, 5]")
    f = write(tmp_path / "m.yaml", text)
    out = tmp_path / "r.json"
    proc = run(harness, f, "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(s["protocol"] for s in json.loads(out.read_text())["scenarios"]) == ["3.1.1", "5"]
    proc = run(harness, f, "--protocol", "3.1.1", "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert [s["protocol"] for s in json.loads(out.read_text())["scenarios"]] == ["3.1.1"]


# --------------------------------------------------------------------------------------
# Profiles


def test_requires_unmet_is_skipped_with_reason(harness, tmp_path):
    text = PASSING.format(protocol=5).replace("timeout: 10s", "timeout: 10s\nrequires: [enhanced_auth]")
    f = write(tmp_path / "auth.yaml", text)
    out = tmp_path / "r.json"
    proc = run(harness, f, "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc) == (0, 0, 1, 0)
    sc = json.loads(out.read_text())["scenarios"][0]
    assert sc["status"] == "skipped"
    assert "enhanced_auth" in json.dumps(sc)


def test_profile_turns_off_a_3_1_1_feature(harness, tmp_path):
    text = PASSING.format(protocol="3.1.1").replace("timeout: 10s", "timeout: 10s\nrequires: [retain]")
    f = write(tmp_path / "retain.yaml", text)
    profile = write(tmp_path / "p.yaml", 'name: no-retain\nfeatures:\n  "3.1.1":\n    retain_available: false\n')
    proc = run(harness, f, "--profile", profile)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc) == (0, 0, 1, 0)
    assert "retain" in proc.stderr
    proc = run(harness, f)  # without the profile 3.1.1 retain is assumed (it is mandatory)
    assert summary(proc) == (1, 0, 0, 0)


def test_bad_profile_exits_2_with_file_line(harness, tmp_path):
    f = write(tmp_path / "ok.yaml", PASSING.format(protocol=5))
    profile = write(tmp_path / "p.yaml", "name: x\nfeatures:\n  maximum_qos: 9\n")
    proc = run(harness, f, "--profile", profile)
    assert proc.returncode == 2
    assert f"{profile}:3:" in proc.stderr


def test_known_deviation_keeps_failed_status_but_not_exit_status(harness, tmp_path):
    # The failure (no PUBLISH on t/zzz) cites no statement: only a "*" entry covers it (an
    # entry for the scenario's spec: MQTT-3.3.4-1 does not, test_run_trust.py).
    f = write(tmp_path / "fail.yaml", FAILING)
    profile = write(tmp_path / "p.yaml", """\
name: lenient
known_deviations:
  - {scenario: "A message nobody*", statement: "*", reason: "documented quirk"}
""")
    out = tmp_path / "r.json"
    proc = run(harness, f, "--profile", profile, "--json", out)
    assert proc.returncode == 0, proc.stderr
    sc = json.loads(out.read_text())["scenarios"][0]
    assert sc["status"] == "failed"
    assert sc["known_deviation"]["reason"] == "documented quirk"
    assert "known deviation" in proc.stderr


# --------------------------------------------------------------------------------------
# External brokers


def test_broker_option_against_harness_broker(harness, tmp_path, embedded_broker):
    host, port = embedded_broker
    f = write(tmp_path / "ok.yaml", PASSING.format(protocol=5))
    out = tmp_path / "r.json"
    proc = run(harness, f, "--broker", f"{host}:{port}", "--json", out)
    assert proc.returncode == 0, proc.stderr
    # The prefix keeps scenario names out of the broker's namespace, but not out of reports.
    assert json.loads(out.read_text())["scenarios"][0]["deliveries"][0]["topic"] == "t/a"


def test_two_runs_on_one_broker_do_not_collide(harness, tmp_path, embedded_broker):
    host, port = embedded_broker
    f = write(tmp_path / "ok.yaml", PASSING.format(protocol=5))
    procs = [subprocess.Popen([str(harness), "run", str(f), "--broker", f"{host}:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=RUN_TIMEOUT)
        assert p.returncode == 0, err


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_broker_option_against_mosquitto(harness, tmp_path, mosquitto, protocol):
    host, port = mosquitto
    f = write(tmp_path / "ok.yaml", PASSING.format(protocol=protocol))
    profile = Path(__file__).resolve().parents[2] / "profiles" / "mosquitto-2.0.yaml"
    proc = run(harness, f, "--broker", f"{host}:{port}", "--profile", profile)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------------------
# The ledger catches a broken broker (mqtt-harness broker --misbehave, test-only modes)

LEDGER = """\
name: ledger check {mode}
protocol: 5
timeout: 15s
clients:
  sub: {{}}
  pub: {{}}
steps:
  - connect: sub
  - subscribe: {{client: sub, filter: "m/#", qos: {qos}}}
  - connect: pub
  - publish: {{client: pub, topic: m/a, qos: {qos}, count: 30}}
  - expect_delivery: {{subscriber: sub, publisher: pub, guarantee: {guarantee}, ordered: {ordered}, within: {within}}}
"""


def start_misbehaving(harness, procs, mode):
    proc = procs.start([harness, "broker", "--listen", "127.0.0.1:0", "--misbehave", mode, "--misbehave-every", "5"])
    return read_listening_line(proc)


@pytest.mark.parametrize("mode,qos,guarantee,ordered,field", [
    ("drop-qos1", 1, "at_least_once", "false", "lost"),
    ("dup-qos2", 2, "exactly_once", "false", "duplicated"),
    ("reorder", 1, "at_least_once", "true", "reordered"),
])
def test_ledger_catches_misbehaving_broker(harness, procs, tmp_path, mode, qos, guarantee, ordered, field):
    host, port = start_misbehaving(harness, procs, mode)
    f = write(tmp_path / "m.yaml", LEDGER.format(mode=mode, qos=qos, guarantee=guarantee, ordered=ordered,
                                                 within="3s"))
    out = tmp_path / "r.json"
    proc = run(harness, f, "--broker", f"{host}:{port}", "--json", out)
    assert proc.returncode == 1, proc.stderr
    sc = json.loads(out.read_text())["scenarios"][0]
    assert sc["status"] == "failed"
    row = sc["deliveries"][0]
    assert row[field] > 0, row
    assert row["verdict"] == "violated"


def test_dropped_qos0_is_not_a_violation(harness, procs, tmp_path):
    host, port = start_misbehaving(harness, procs, "drop-qos0")
    f = write(tmp_path / "m.yaml", LEDGER.format(mode="drop-qos0", qos=0, guarantee="at_most_once",
                                                 ordered="false", within="1s"))
    out = tmp_path / "r.json"
    proc = run(harness, f, "--broker", f"{host}:{port}", "--json", out)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(out.read_text())["scenarios"][0]["deliveries"][0]
    assert row["verdict"] == "held"
    assert row["delivered"] < 30  # the broker did drop some: at most once allows it


# --------------------------------------------------------------------------------------
# Raw mode

# A raw link (send_raw before any connect), then a reconnect: the client itself closed the
# raw link, so expect_disconnect must still wait for the broker (it once took the abort
# for the broker closing and passed).
RAW_THEN_RECONNECT = """\
name: A reconnect after a raw link is not the broker closing
spec: [MQTT-3.1.0-1]
protocol: 3.1.1
timeout: 5s
clients:
  c: {client_id: raw-then-session}
steps:
  - send_raw: {client: c, hex: "10 1c 00 04 4d 51 54 54 04 02 00 00 00 10 72 61 77 2d 74 68 65 6e 2d 73 65 73 73 69 6f 6e"}
  - expect_connack: {client: c, within: 2s}
  - reconnect: {client: c}
  - expect_disconnect: {client: c, within: 300ms}
"""


def test_reconnect_after_a_raw_link_is_not_a_broker_close(harness, tmp_path):
    f = write(tmp_path / "raw.yaml", RAW_THEN_RECONNECT)
    out = tmp_path / "r.json"
    proc = run(harness, f, "--json", out)
    assert proc.returncode == 1, proc.stderr
    sc = json.loads(out.read_text())["scenarios"][0]
    assert [s["status"] for s in sc["steps"]] == ["passed", "passed", "passed", "failed"], sc["steps"]
    assert "the broker did not close the connection" in sc["failure"]["message"]
    # The raw CONNECT is traced as a packet, the session's CONNECT after it too.
    sent = [p["type"] for p in sc["packets"] if p["direction"] == "to_broker"]
    assert sent[:2] == ["CONNECT", "CONNECT"], sent


# --------------------------------------------------------------------------------------
# The shipped suite


SUITE = Path(__file__).resolve().parents[2] / "scenarios"


def test_shipped_suite_passes_on_the_embedded_broker(harness, tmp_path):
    out = tmp_path / "r.json"
    proc = run(harness, SUITE, "-j", "2", "-q", "--json", out, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rep = json.loads(out.read_text())
    assert rep["summary"]["failed"] == 0 and rep["summary"]["errors"] == 0
    assert rep["summary"]["passed"] > 0


# The suite against third-party brokers with their profiles: test_third_party_brokers.py.
