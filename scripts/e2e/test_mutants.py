"""`mqtt-harness mutants` (docs/mutants.md): the embedded broker with one deviation switch
on must make the scenarios citing that statement fail.

* Mutants of a few statements are killed by the suite, each by a failure that names the
  statement the mutant breaks.
* A mutant whose statement no scenario cites is "not applicable".
* A deliberately blunted scenario (a copy with its key expectation removed) lets its mutant
  survive: exit status 1; listed in an accepted-survivors file with a reason: exit 0.
* `testing.deviate` in a broker config: an id without a switch is an error naming the line.
* `--smoke` (the CI subset) kills every one of its mutants; `--list-missing` names the
  cited statements no mutant breaks; the accepted survivors are read from the scenario
  folder's mutants-accepted.yaml, which `run` does not take for a scenario.
* Wire mutants (`--wire`, `--spawn`, `--broker`): the fault proxy's rules in front of the
  spawned embedded broker and of mosquitto (with its profile) are killed.
"""
import json
import subprocess
from pathlib import Path

import yaml

from conftest import REPO

SUITE = REPO / "scenarios"
TIMEOUT = 300


def mutants(harness, *args, cwd=REPO):
    return subprocess.run([str(harness), "mutants", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=cwd)


def report(path):
    return {m["id"]: m for m in json.loads(path.read_text())["mutants"]}


def test_mutants_of_cited_statements_are_killed_naming_the_statement(harness, tmp_path):
    out = tmp_path / "m.json"
    proc = mutants(harness, SUITE, "--only", "MQTT-3.3.1-9", "--only", "MQTT-4.7.2-1", "--only", "MQTT-3.1.2-24",
                   "-j", "2", "--json", out, "--html", tmp_path / "m.html")
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = report(out)
    # MQTT-3.3.1-9 is the live-forward RETAIN rule in 3.1.1, retained-on-subscribe in 5.0;
    # MQTT-3.1.2-24 the keep-alive rule in 3.1.1, Maximum Packet Size in 5.0.
    assert set(got) == {"MQTT-3.3.1-9 [3.1.1]", "MQTT-3.3.1-9 [5]", "MQTT-4.7.2-1 [3.1.1]", "MQTT-4.7.2-1 [5]",
                        "MQTT-3.1.2-24 [3.1.1]", "MQTT-3.1.2-24 [5]"}
    for mid, m in got.items():
        assert m["verdict"] == "killed", (mid, m)
        statement = mid.split()[0]
        assert any(k["statement"] == statement and not k["smoke"] for k in m["kills"]), (mid, m["kills"])
    assert got["MQTT-3.1.2-24 [3.1.1]"]["deviation"] == "keep_alive_doubled"
    assert got["MQTT-3.1.2-24 [5]"]["deviation"] == "maximum_packet_size_ignored"
    summary = json.loads(out.read_text())["summary"]
    assert summary["killed"] == 6 and summary["survived"] == 0 and summary["score_percent"] == 100.0
    assert "MQTT-4.7.2-1" in (tmp_path / "m.html").read_text()
    assert "killed" in proc.stderr and "score 100.0 %" in proc.stderr


def blunted_copy(tmp_path):
    """retain/live_forward_has_retain_0.yaml without its `retain: false` expectation."""
    doc = yaml.safe_load((SUITE / "retain/live_forward_has_retain_0.yaml").read_text())
    expectation = doc["steps"][-1]["expect_packet"]
    assert expectation.pop("retain") is False
    folder = tmp_path / "blunted"
    folder.mkdir()
    (folder / "live_forward.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def test_a_blunted_scenario_lets_its_mutant_survive_and_the_exit_status_says_so(harness, tmp_path):
    folder = blunted_copy(tmp_path)
    out = tmp_path / "m.json"
    proc = mutants(harness, folder, "--only", "MQTT-3.3.1-9", "--json", out, "--accepted", tmp_path / "absent.yaml")
    assert proc.returncode == 2 and "absent.yaml" in proc.stderr, proc.stderr[-2000:]  # a named file must exist

    empty = tmp_path / "none.yaml"
    empty.write_text("accepted: []\n")
    proc = mutants(harness, folder, "--only", "MQTT-3.3.1-9", "--json", out, "--accepted", empty)
    assert proc.returncode == 1, proc.stderr[-3000:]
    got = report(out)
    assert got["MQTT-3.3.1-9 [3.1.1]"]["verdict"] == "survived"
    # In 5.0 the id is the Retain Handling 0 rule, which the copy does not cite.
    assert got["MQTT-3.3.1-9 [5]"]["verdict"] == "not applicable"
    assert got["MQTT-3.3.1-9 [5]"]["scenarios"] == []

    accepted = tmp_path / "accepted.yaml"
    accepted.write_text('accepted:\n  - {statement: MQTT-3.3.1-9, protocol: "3.1.1", reason: the copy is blunted on purpose}\n')
    proc = mutants(harness, folder, "--only", "MQTT-3.3.1-9", "--json", out, "--accepted", accepted)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = report(out)
    assert got["MQTT-3.3.1-9 [3.1.1]"]["verdict"] == "accepted"
    assert got["MQTT-3.3.1-9 [3.1.1]"]["accepted_reason"] == "the copy is blunted on purpose"

    # The original scenario, with its expectation, kills the same mutant.
    proc = mutants(harness, SUITE / "retain/live_forward_has_retain_0.yaml", "--only", "MQTT-3.3.1-9", "--json", out,
                   "--accepted", empty)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report(out)["MQTT-3.3.1-9 [3.1.1]"]["verdict"] == "killed"


def test_smoke_subset_kills_every_one_of_its_mutants(harness, tmp_path):
    out = tmp_path / "m.json"
    proc = mutants(harness, SUITE, "--smoke", "-j", "2", "--json", out)
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = report(out)
    assert len(got) >= 20 and {m["protocol"] for m in got.values()} == {"3.1.1", "5"}
    assert len({m["area"] for m in got.values()}) >= 7  # a deviation from most areas of the suite
    for mid, m in got.items():
        assert m["verdict"] == "killed", (mid, m)
        assert any(not k["smoke"] for k in m["kills"]), (mid, m["kills"])  # a citing scenario, not the smoke set
    # Its time (under 2 minutes here) is a figure of docs/mutants.md, not a check: CI load varies.


def test_list_missing_names_cited_statements_without_a_mutant(harness):
    proc = mutants(harness, SUITE, "--list-missing")
    assert proc.returncode == 0, proc.stderr
    sections = proc.stdout.split("5: ")
    v311, v5 = sections[0], sections[1]
    assert v311.startswith("3.1.1: ") and "cited broker-observable statements have a mutant" in v311
    # MQTT-3.3.2-3 (delivered topic matches the filter) is cited in both versions and has no mutant;
    # MQTT-3.3.1-1 (DUP on a resend) has one in both.
    assert "  MQTT-3.3.2-3 " in v311 and "  MQTT-3.3.2-3 " in v5
    assert "MQTT-3.3.1-1 " not in proc.stdout


def test_accepted_survivors_are_read_beside_the_scenarios_and_never_run(harness, tmp_path):
    folder = blunted_copy(tmp_path)
    (folder / "mutants-accepted.yaml").write_text(
        'accepted:\n  - {statement: MQTT-3.3.1-9, protocol: "3.1.1", reason: the copy is blunted on purpose}\n')
    out = tmp_path / "m.json"
    proc = mutants(harness, folder, "--only", "MQTT-3.3.1-9", "--json", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report(out)["MQTT-3.3.1-9 [3.1.1]"]["verdict"] == "accepted"
    run = subprocess.run([str(harness), "run", str(folder), "--json", str(tmp_path / "r.json")], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert {Path(sc["file"]).name for sc in json.loads((tmp_path / "r.json").read_text())["scenarios"]} == {"live_forward.yaml"}


def test_run_with_a_mutants_report_counts_only_killed_statements_as_proven(harness, tmp_path):
    """The run side of "cited, not proven": the mutants report is made by hand here (the
    mutants side is tested above), naming one killed and one surviving mutant."""
    scenario = SUITE / "retain/live_forward_has_retain_0.yaml"
    cited = {v: set(ids) for v, ids in yaml.safe_load(scenario.read_text())["spec"].items()}
    assert "MQTT-3.3.1-9" in cited["3.1.1"] and "MQTT-3.3.1-12" in cited["5"]
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"mutants": [
        {"statement": "MQTT-3.3.1-9", "protocol": "3.1.1", "verdict": "killed"},
        {"statement": "MQTT-3.3.1-12", "protocol": "5", "verdict": "survived"}]}))
    out = tmp_path / "r.json"
    proc = subprocess.run([str(harness), "run", str(scenario), "--json", str(out), "--html", str(tmp_path / "r.html"),
                           "--mutants-json", str(m)], capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["mutants_report"] == str(m)
    rows = {(s["version"], s["id"]): s for s in r["statements"] if s["verdict"] in ("held", "violated")}
    assert rows[("3.1.1", "MQTT-3.3.1-9")]["proven"] is True
    assert rows[("5", "MQTT-3.3.1-12")]["proven"] is False
    for v in ("3.1.1", "5"):
        cov = r["coverage"][v]
        assert cov["proven"] + cov["cited_not_proven"] == cov["covered"]
        assert cov["proven"] == (1 if v == "3.1.1" else 0)
    assert "cited, not proven" in (tmp_path / "r.html").read_text()

    m.write_text("{}")
    proc = subprocess.run([str(harness), "run", str(scenario), "--mutants-json", str(m)], capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 2 and str(m) in proc.stderr


def test_unknown_ids_and_bad_accepted_files_are_errors(harness, tmp_path):
    proc = mutants(harness, SUITE, "--only", "MQTT-9.9.9-9")
    assert proc.returncode == 2 and "MQTT-9.9.9-9" in proc.stderr
    bad = tmp_path / "accepted.yaml"
    bad.write_text("accepted:\n  - {statement: MQTT-3.3.1-1}\n")
    proc = mutants(harness, SUITE, "--only", "MQTT-3.3.1-1", "--accepted", bad)
    assert proc.returncode == 2 and f"{bad}:2:" in proc.stderr and "reason" in proc.stderr


def test_broker_config_deviate_with_an_unknown_id_names_the_line(harness, tmp_path):
    config = tmp_path / "broker.yaml"
    config.write_text("testing:\n  deviate:\n    - MQTT-3.3.1-1\n    - MQTT-9.9.9-9\n")
    proc = subprocess.run([str(harness), "broker", "--listen", "127.0.0.1:0", "--config", str(config)],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2, proc.stderr
    assert f"{config}:4: testing.deviate:" in proc.stderr and "MQTT-9.9.9-9" in proc.stderr


# Wire mutants (docs/mutants.md "Wire-level mutants"): fault-proxy rules in front of a
# broker. Statements whose citing scenarios are short, so each run stays well under a minute.
WIRE_ONLY = ["--only", "MQTT-3.2.2-2", "--only", "MQTT-3.2.2-3", "--only", "MQTT-3.3.1-1", "--only", "MQTT-3.9.3-2",
             "--only", "MQTT-4.3.2-2", "--only", "MQTT-4.3.2-4"]
WIRE_IDS = {"MQTT-3.2.2-2 [3.1.1]", "MQTT-3.2.2-3 [5]", "MQTT-3.3.1-1 [3.1.1]", "MQTT-3.3.1-1 [5]",
            "MQTT-3.9.3-2 [3.1.1]", "MQTT-3.9.3-2 [5]", "MQTT-4.3.2-2 [3.1.1]", "MQTT-4.3.2-2 [5]",
            "MQTT-4.3.2-4 [5]"}


def assert_wire_mutants_killed(proc, out):
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = report(out)
    assert set(got) == WIRE_IDS, sorted(got)
    for mid, m in got.items():
        assert m["verdict"] == "killed", (mid, m)
        assert any(k["statement"] == mid.split()[0] and not k["smoke"] for k in m["kills"]), (mid, m["kills"])


def test_wire_mutants_in_front_of_the_spawned_embedded_broker_are_killed(harness, tmp_path):
    out = tmp_path / "wire.json"
    proc = mutants(harness, SUITE, *WIRE_ONLY, "-j", "2", "--json", out, "--spawn", "--", harness, "broker",
                   "--listen", "127.0.0.1:{port}")
    assert_wire_mutants_killed(proc, out)
    got = report(out)
    # MQTT-4.3.2-2 is the PUBACK rule in 3.1.1, "a first QoS 1 delivery has DUP 0" in 5.0.
    assert got["MQTT-4.3.2-2 [3.1.1]"]["deviation"] == "puback_dropped"
    assert got["MQTT-4.3.2-2 [5]"]["deviation"] == "dup_set"


def test_wire_mutants_in_front_of_mosquitto_with_its_profile_are_killed(harness, mosquitto, tmp_path):
    host, port = mosquitto
    out = tmp_path / "wire.json"
    proc = mutants(harness, SUITE, *WIRE_ONLY, "-j", "2", "--json", out, "--broker", f"{host}:{port}",
                   "--profile", REPO / "profiles/mosquitto-2.0.yaml")
    assert_wire_mutants_killed(proc, out)


def test_wire_list_and_option_mistakes(harness):
    listed = mutants(harness, "--wire", "--list")
    assert listed.returncode == 0 and "`rewrite:to_client:op=keep_open`" in listed.stdout
    both = mutants(harness, "--broker", "127.0.0.1:1", "--spawn", "--", "true")
    assert both.returncode == 2 and "exclude each other" in both.stderr
    profile = mutants(harness, "--profile", REPO / "profiles/mosquitto-2.0.yaml")
    assert profile.returncode == 2 and "--profile goes with --wire" in profile.stderr
