"""End-to-end tests of client-library testing (docs/clients.md): `mqtt-harness run
--client -- CMD` runs the `role: server` suite scenarios/client/ against each adapter in
scripts/clients/, and against a deliberately broken client whose faults the matching
scenario must catch with their statements.

Expected outcomes come from the scenario files and the spec (which scenario checks which
statement), and from the profiles' known deviations (each confirmed here to fail without
its profile), never from the runner's own output.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from conftest import run_scenarios as run

SUITE = REPO / "scenarios/client"
CLIENTS = REPO / "scripts/clients"
PYTHON = "/usr/bin/python3"
TIMEOUT = 85  # each run bounded well under the 90 s budget of a test


def outcomes(json_file: Path) -> dict:
    """name -> (status, statement of the failure or None, known deviation or None)."""
    report = json.loads(json_file.read_text())
    out = {}
    for s in report["scenarios"]:
        failure = s.get("failure") or {}
        out[s["name"]] = (s["status"], failure.get("statement"), s.get("known_deviation"))
    return out


def suite_names(protocol=None) -> set:
    """Every run of the suite as named in reports ("<name> [<version>]" for a matrix)."""
    names = set()
    for f in sorted(SUITE.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        versions = doc.get("protocols")
        if versions is None:
            if protocol is None or str(doc["protocol"]) == protocol:
                names.add(doc["name"])
            continue
        for v in versions:
            if protocol is None or str(v) == protocol:
                names.add(f'{doc["name"]} [{v}]')
    return names


def suite_citations(protocol: str) -> set:
    """The statement ids the suite's scenarios of `protocol` cite: their `spec:` (a list, or
    one list per version) and their steps' `spec:`."""
    cited = set()
    for f in sorted(SUITE.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        versions = [str(v) for v in doc.get("protocols", [doc.get("protocol")])]
        if protocol not in versions:
            continue
        spec = doc.get("spec") or []
        cited.update(spec.get(protocol, []) if isinstance(spec, dict) else spec)
        cited.update(step[kind]["spec"] for step in doc["steps"] for kind in step
                     if isinstance(step[kind], dict) and "spec" in step[kind])
    return cited


def client_observable(protocol: str) -> list:
    """docs/spec's testable statements a client is bound by (actor client, both, receiver)."""
    tsv = REPO / f"docs/spec/mqtt-{'3.1.1' if protocol == '3.1.1' else '5.0'}.tsv"
    rows = [line.split("\t") for line in tsv.read_text().splitlines()[1:] if line]
    return [r[0] for r in rows if r[2] != "server" and r[3] != "not-testable"]


def profile_deviations(profile: Path) -> set:
    """(scenario name, statement) per known deviation; a trailing * (every version) dropped."""
    return {(d["scenario"].rstrip("*"), d["statement"]) for d in yaml.safe_load(profile.read_text())["known_deviations"]}


def build_adapter(tmp_path_factory, source: str, *libs: str) -> Path:
    cc = shutil.which("cc")
    assert cc, "a C compiler is needed to build the C adapters (scripts/setup.sh installs build-essential)"
    out = tmp_path_factory.mktemp("adapter") / Path(source).stem
    subprocess.run([cc, "-O1", "-Wall", "-Werror", "-o", str(out), str(CLIENTS / source), *libs], check=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def mosquitto_adapter(tmp_path_factory) -> Path:
    return build_adapter(tmp_path_factory, "mosquitto_client.c", "-lmosquitto", "-lpthread")


@pytest.fixture(scope="module")
def paho_c_adapter(tmp_path_factory) -> Path:
    return build_adapter(tmp_path_factory, "paho_c_client.c", "-lpaho-mqtt3as")


def check_adapter(harness, tmp_path, profile: Path, command: list, with_profile: bool):
    """The whole suite against one adapter: without its profile exactly the profile's known
    deviations fail, each naming its statement; with the profile the deviating scenarios
    are known deviations and the run exits 0. Two tests, so that each stays well within
    its time budget."""
    expected_failures = profile_deviations(profile)
    if not with_profile:
        bare = tmp_path / "bare.json"
        proc = run(harness, SUITE, "-j", "2", "--json", bare, "--client", "--", *command, timeout=TIMEOUT)
        got = outcomes(bare)
        assert set(got) == suite_names(), proc.stderr
        failed = {(name.split(" [")[0], stmt) for name, (status, stmt, _) in got.items() if status != "passed"}
        assert failed == expected_failures, proc.stderr
        assert proc.returncode == 1
        return
    profiled = tmp_path / "profiled.json"
    names = sorted({name + "*" for name, _ in expected_failures})
    filters = [arg for name in names for arg in ("--filter", name)]
    proc = run(harness, SUITE, *filters, "-j", "2", "--profile", profile, "--json", profiled, "--client", "--", *command,
               timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    got = outcomes(profiled)
    assert {(name.split(" [")[0], known["statement"]) for name, (_, _, known) in got.items() if known} == expected_failures
    for name, (status, stmt, known) in got.items():
        assert status == "failed" and known and known["statement"] == stmt, name


WITH_PROFILE = pytest.mark.parametrize("with_profile", [False, True], ids=["bare", "profiled"])


@WITH_PROFILE
def test_paho_mqtt_python_passes_its_profile_filtered_client_suite(harness, tmp_path, with_profile):
    check_adapter(harness, tmp_path, REPO / "profiles/clients/paho-mqtt-python.yaml",
                  [PYTHON, CLIENTS / "paho_python.py", "{host}", "{port}"], with_profile)


@WITH_PROFILE
def test_libmosquitto_passes_its_profile_filtered_client_suite(harness, tmp_path, mosquitto_adapter, with_profile):
    check_adapter(harness, tmp_path, REPO / "profiles/clients/libmosquitto.yaml",
                  [mosquitto_adapter, "{host}", "{port}"], with_profile)


@WITH_PROFILE
def test_paho_c_passes_its_profile_filtered_client_suite(harness, tmp_path, paho_c_adapter, with_profile):
    check_adapter(harness, tmp_path, REPO / "profiles/clients/paho-c.yaml", [paho_c_adapter, "{host}", "{port}"],
                  with_profile)


@WITH_PROFILE
def test_mqttjs_passes_its_profile_filtered_client_suite(harness, tmp_path, with_profile):
    node, adapter = shutil.which("node"), CLIENTS / "mqttjs/adapter.mjs"
    assert node and (CLIENTS / "mqttjs/node_modules/mqtt/package.json").exists(), \
        "node and MQTT.js are needed (scripts/setup.sh runs `npm ci` in scripts/clients/mqttjs)"
    check_adapter(harness, tmp_path, REPO / "profiles/clients/mqttjs.yaml", [node, adapter, "{host}", "{port}"],
                  with_profile)


BROKEN = [PYTHON, CLIENTS / "broken_client.py", "{host}", "{port}"]


@pytest.mark.parametrize("flag, scenario, statement", [
    (None, None, None),
    ("--no-dup", "after a reconnect the client re-sends its unacknowledged QoS 1 PUBLISH with DUP 1 and the same packet id",
     "MQTT-3.3.1-1"),
    ("--publish-instead-of-pubrel", ("the client publishes at QoS 0, 1 and 2 with packet ids, and answers PUBREC with PUBREL",
                                     "after a reconnect the client re-sends PUBREL, not the PUBLISH, for a QoS 2 message the "
                                     "harness had PUBREC'd"), "MQTT-4.3.3-1"),
])
def test_a_broken_client_is_caught_by_the_matching_scenario(harness, tmp_path, flag, scenario, statement):
    """The stub speaks 3.1.1 only. Without a flag it passes the suite, so each flag's fault
    is the only reason its scenarios fail; each failure names the statement the fault breaks."""
    report = tmp_path / "broken.json"
    proc = run(harness, SUITE, "--protocol", "3.1.1", "-j", "2", "--json", report, "--client", "--", *BROKEN,
               *([flag] if flag else []), timeout=TIMEOUT)
    got = outcomes(report)
    assert set(got) == suite_names("3.1.1"), proc.stderr
    failed = {name: stmt for name, (status, stmt, _) in got.items() if status != "passed"}
    if flag is None:
        assert failed == {}, proc.stderr
        assert proc.returncode == 0
        # A clean run: the client-side coverage is what the suite cites, over docs/spec's
        # client-observable statements.
        observable = client_observable("3.1.1")
        cited = [i for i in observable if i in suite_citations("3.1.1")]
        coverage = json.loads(report.read_text())["client_coverage"]
        assert set(coverage) == {"3.1.1"}
        assert coverage["3.1.1"]["total"] == len(observable)
        assert coverage["3.1.1"]["statements"] == cited, coverage
        assert f"client-side statements cited (MQTT 3.1.1): {len(cited)} of {len(observable)}" in proc.stderr
    else:
        scenarios = scenario if isinstance(scenario, tuple) else (scenario,)
        assert failed == {f"{name} [3.1.1]": statement for name in scenarios}, proc.stderr
        assert proc.returncode == 1


def test_an_adapter_that_exits_during_the_scenario_fails_it_with_the_reason(harness, tmp_path):
    """An adapter exits only at the end of its stdin (docs/clients.md): one that exits with
    status 0 when its link is cut fails the scenario at once, saying so, rather than the
    reconnect step timing out. Without the flag the same scenario passes (the parametrised
    test above), so the exit is the only reason."""
    report = tmp_path / "exit.json"
    proc = run(harness, SUITE / "resend_dup_qos1.yaml", "--protocol", "3.1.1", "--json", report, "--client", "--",
               *BROKEN, "--exit-on-close", timeout=TIMEOUT)
    assert proc.returncode == 1, proc.stderr
    (scenario,) = json.loads(report.read_text())["scenarios"]
    failure = scenario["failure"]
    assert scenario["status"] == "failed" and not failure.get("statement"), failure
    assert "the client under test ended during the scenario (exit 0)" in failure["message"], failure
    # The link was cut by the harness's abrupt disconnect; the failure is at the next step.
    steps = yaml.safe_load((SUITE / "resend_dup_qos1.yaml").read_text())["steps"]
    assert "accept_connection" in steps[failure["step"] - 1], failure


def test_role_server_scenarios_need_a_client_and_client_runs_skip_broker_scenarios(harness, tmp_path):
    proc = run(harness, SUITE / "connect.yaml", timeout=TIMEOUT)
    assert proc.returncode == 0 and "0 passed, 0 failed, 2 skipped, 0 errors" in proc.stderr, proc.stderr
    broker_scenario = next((REPO / "scenarios").glob("connect/*.yaml"))
    proc = run(harness, broker_scenario, "--client", "--", *BROKEN, timeout=TIMEOUT)
    assert proc.returncode == 0 and " passed, 0 failed, " in proc.stderr and "0 passed" in proc.stderr, proc.stderr


def test_a_client_that_is_not_there_is_an_error_not_a_pass(harness, tmp_path):
    proc = run(harness, SUITE / "connect.yaml", "--protocol", "3.1.1", "--client", "--", str(tmp_path / "no-such-client"),
               "{host}", "{port}", timeout=TIMEOUT)
    assert proc.returncode == 2, proc.stderr
