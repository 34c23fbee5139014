"""The scenario suite against three third-party brokers: Debian's mosquitto 2.0, aedes from
npm and RabbitMQ 3.10's MQTT plugin (docs/brokers.md), each with its profile in profiles/.

Two kinds of test:
* the whole suite with the broker's profile: every failure is one of the profile's known
  deviations, or one of the runs listed in PENDING_HARNESS_FIXES below (failures the
  triage found to be the harness's, waiting for a harness fix). The set must match exactly,
  so a harness fix that lands turns the test red until its entry is removed here;
* each known deviation of each profile, run WITHOUT the profile: the scenario still fails,
  and the failure's primary statement is the deviation's (the runner's own rule,
  docs/runner.md "Known deviations"); a failure that names no statement (a harness
  problem) counts as AWAITING_STATEMENT when its scenario's `spec:` holds the statement of a
  profile entry for it;
* the probe against the 3.1.1-only brokers (their MQTT 5 half skipped with one reason),
  and RabbitMQ's topic rewriting shown as one run-level finding.

RabbitMQ needs ~15 s to start and its tests take ~2 minutes in all; they run by default
and are left out with MQTTH_E2E_RABBITMQ=0.
"""
import fnmatch
import json
import os
import re
import socket
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_scenarios, start_aedes, start_mosquitto

SUITE = REPO / "scenarios"
PROFILES = REPO / "profiles"
SUITE_TIMEOUT = 300  # seconds for one whole-suite run (each takes 20-50 s here)


class Broker:
    def __init__(self, name, fixture, profile, protocol=None):
        self.name = name
        self.fixture = fixture    # the fixture that starts it and yields (host, port)
        self.profile = PROFILES / profile
        # aedes and RabbitMQ speak MQTT 3.1/3.1.1 only: their profiles say `protocols:
        # [3.1.1]`, and without a profile the probe skips the 5.0 half. The deviation tests
        # select the 3.1.1 half, where each deviation was found.
        self.protocol = protocol

    def protocol_args(self):
        return ["--protocol", self.protocol] if self.protocol else []


BROKERS = {
    "mosquitto": Broker("mosquitto", "mosquitto_broker", "mosquitto-2.0.yaml"),
    "aedes": Broker("aedes", "aedes_broker", "aedes-1.2.yaml", protocol="3.1.1"),
    "rabbitmq": Broker("rabbitmq", "rabbitmq", "rabbitmq-3.10.yaml", protocol="3.1.1"),
}

RABBITMQ_ENABLED = os.environ.get("MQTTH_E2E_RABBITMQ", "1") != "0"


def broker_params():
    for name in BROKERS:
        marks = []
        if name == "rabbitmq" and not RABBITMQ_ENABLED:
            marks.append(pytest.mark.skip(reason="MQTTH_E2E_RABBITMQ=0"))
        yield pytest.param(name, marks=marks, id=name)


# Runs that fail today because of the harness, not the broker (docs/brokers.md, triage
# tables, class "harness"). Key: scenario file relative to the repository + " [protocol]".
# Value: (why, always) -- `always` False for a run that may also pass (timing).
PENDING_HARNESS_FIXES = {
    "mosquitto": {},
    "aedes": {
        "scenarios/faults/cut_after_pubrec_then_reconnect.yaml [3.1.1]":
            ("the re-send with DUP 0 on resume is cited as MQTT-2.3.1-4, not the broken MQTT-3.3.1-1 / "
             "MQTT-4.3.3-1", True),
        "scenarios/unsubscribe/unsubscribe_finishes_inflight.yaml [3.1.1]":
            ("a CONNACK Session Present mismatch cites no statement (MQTT-3.2.2-2)", True),
    },
    "rabbitmq": {
        "scenarios/malformed/subscribe_packet_id_zero.yaml [3.1.1]":
            ("cites MQTT-2.3.1-7, which the broker met, not MQTT-4.8.0-1 (H6; its entry matched only "
             "through the scenario's spec: list before H12)", True),
        "scenarios/retain/non_retained_leaves_retained.yaml [3.1.1]":
            ("its deviation (MQTT-3.3.1-6) cannot match: the failure (no matching PUBLISH) cites no "
             "statement", True),
    },
}

# Known deviations whose failure does not cite the deviation's statement today (the
# harness names another statement, or none): the deviation test is an expected failure
# until the harness cites it (docs/brokers.md names the fix).
CITATION_PENDING = {
    ("aedes", "*/faults/explore_qos2_subscriber_persistent.yaml", "MQTT-4.3.3-1"):
        "the cut runs after PUBREC #2, PUBREL and PUBCOMP #1 cite MQTT-4.3.3-1, but the scenario's "
        "failure message names only the first failing cut run's statement (MQTT-3.3.1-1)",
    ("aedes", "*/faults/cut_after_pubrec_then_reconnect.yaml", "MQTT-4.3.3-1"):
        "when the cut fires, the first deviation is the PUBLISH re-sent with DUP 0 on an id still "
        "awaiting PUBREL (cited MQTT-3.3.1-1); otherwise the loss the re-armed cut invents "
        "(MQTT-4.5.0-1) fails the run first",
    ("aedes", "*/unsubscribe/unsubscribe_finishes_inflight.yaml", "MQTT-3.2.2-2"):
        "a CONNACK Session Present mismatch cites no statement",
    ("rabbitmq", "*/retain/non_retained_leaves_retained.yaml", "MQTT-3.3.1-6"):
        "a missing retained PUBLISH cites no statement",
}

# Deviations that do not show on every run: the deviation test runs the scenario up to
# this many times and needs one failure.
INTERMITTENT = {
    ("aedes", "*/retain/qos0_retained_replaces_previous.yaml"): 10,
}


@pytest.fixture(scope="module")
def mosquitto_broker(module_procs, tmp_path_factory):
    return start_mosquitto(module_procs, tmp_path_factory.mktemp("mosquitto"))


@pytest.fixture(scope="module")
def aedes_broker(module_procs, tmp_path_factory):
    return start_aedes(module_procs, tmp_path_factory.mktemp("aedes"))


def run_key(scenario):
    return f"{Path(scenario['file']).resolve().relative_to(REPO)} [{scenario['protocol']}]"


def cited_statements(scenario):
    """The statement a known deviation must match: the failure's primary statement only."""
    statement = (scenario.get("failure") or {}).get("statement", "")
    return {statement} if statement else set()


def pattern_matches(pattern, name, file):
    """The runner's rule for naming scenarios (docs/runner.md "Naming scenarios")."""
    if pattern in (name, file) or fnmatch.fnmatchcase(file, pattern):
        return True
    for suffix in (" [3.1]", " [3.1.1]", " [5]"):
        if pattern.endswith(suffix):
            return name.endswith(suffix) and fnmatch.fnmatchcase(name[:-len(suffix)], pattern[:-len(suffix)])
    return fnmatch.fnmatchcase(name, pattern)


def awaiting_statement(scenario, deviations):
    """A failure a profile entry would cover once it cites the entry's statement: it cites
    none, and the scenario's `spec:` (what it checks) holds that statement (H8)."""
    if cited_statements(scenario):
        return False
    return any(pattern_matches(d["scenario"], scenario["name"], scenario["file"]) and
               d["statement"] in (scenario.get("spec") or []) for d in deviations)


def run_json(harness, out, *args, timeout=SUITE_TIMEOUT):
    proc = run_scenarios(harness, *args, "--json", out, timeout=timeout)
    assert out.exists(), proc.stderr[-4000:]
    return proc, json.loads(out.read_text())


@pytest.mark.parametrize("name", broker_params())
def test_suite_with_profile_fails_only_with_known_deviations_or_pending_harness_fixes(
        name, harness, tmp_path, request):
    broker = BROKERS[name]
    host, port = request.getfixturevalue(broker.fixture)
    started = time.monotonic()
    proc, report = run_json(harness, tmp_path / "r.json", SUITE, "-j", "2", "-q", "--broker",
                            f"{host}:{port}", "--profile", broker.profile)
    print(f"{name}: whole suite in {time.monotonic() - started:.1f} s: {report['summary']}")
    assert report["summary"]["errors"] == 0, proc.stderr[-4000:]
    failed = {run_key(sc): sc for sc in report["scenarios"]
              if sc["status"] == "failed" and "known_deviation" not in sc}
    deviations = yaml.safe_load(broker.profile.read_text())["known_deviations"]
    awaiting = {k for k, sc in failed.items() if awaiting_statement(sc, deviations)}
    print(f"{name}: {len(awaiting)} failure(s) await a cited statement: {sorted(awaiting)}")
    unexplained = {k: sc for k, sc in failed.items() if k not in awaiting}
    pending = PENDING_HARNESS_FIXES.get(name, {})
    must_fail = {k for k, (_, always) in pending.items() if always}
    detail = "\n".join(f"{k}: {(sc.get('failure') or {}).get('message', '')[:300]}"
                       for k, sc in sorted(unexplained.items()) if k not in pending)
    assert set(unexplained) - set(pending) == set(), f"failures neither known nor pending:\n{detail}"
    assert must_fail - set(unexplained) == set(), (
        "pending harness fixes that no longer fail (the fix landed? remove them from "
        f"PENDING_HARNESS_FIXES): {sorted(must_fail - set(unexplained))}")
    assert proc.returncode == (1 if failed else 0), proc.stderr[-2000:]


def known_deviations():
    for name, broker in BROKERS.items():
        for dev in yaml.safe_load(broker.profile.read_text())["known_deviations"]:
            marks = []
            if name == "rabbitmq" and not RABBITMQ_ENABLED:
                marks.append(pytest.mark.skip(reason="MQTTH_E2E_RABBITMQ=0"))
            why = CITATION_PENDING.get((name, dev["scenario"], dev["statement"]))
            if why:
                marks.append(pytest.mark.xfail(strict=True, reason=f"harness: {why}"))
            yield pytest.param(name, dev["scenario"], dev["statement"], marks=marks,
                               id=f"{name}:{dev['scenario']}:{dev['statement']}")


def wait_for_close(sock, timeout):
    sock.settimeout(timeout)
    try:
        while sock.recv(64):
            pass
    except OSError:
        pass


def after_next_mosquitto_keepalive_check(port):
    """mosquitto 2.0 checks keep-alive only every 6 s (then closes clients silent for
    longer than keep_alive*3/2 whole seconds). Whether the keep-alive scenario fails thus
    depends on where its CONNECT falls in that cycle: it fails when the CONNECT comes just
    before a check, since the close then waits for the check after it (~6 s). This finds a
    check (a silent Keep Alive 1 s client is closed at it) and returns 5.4 s later."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(bytes.fromhex("10 10 00 04 4d 51 54 54 04 02 00 01 00 04 6b 61 31 73"))
        wait_for_close(s, 9)
        closed_at = time.monotonic()
    time.sleep(max(0.0, closed_at + 5.4 - time.monotonic()))


@pytest.mark.parametrize("name,scenario,statement", known_deviations())
def test_known_deviation_still_fails_without_the_profile(name, scenario, statement, harness, tmp_path,
                                                         request):
    broker = BROKERS[name]
    host, port = request.getfixturevalue(broker.fixture)
    attempts = INTERMITTENT.get((name, scenario), 1)
    for attempt in range(attempts):
        if name == "mosquitto" and "keep-alive" in scenario:
            after_next_mosquitto_keepalive_check(port)
        proc, report = run_json(harness, tmp_path / f"r{attempt}.json", SUITE, "-j", "2",
                                "--filter", scenario, "--broker", f"{host}:{port}",
                                *broker.protocol_args(), timeout=120)
        runs = report["scenarios"]
        assert runs, f"the known deviation's glob {scenario!r} selects no scenario"
        if all(sc["status"] == "failed" for sc in runs):
            break
    assert proc.returncode == 1, proc.stderr[-3000:]
    for sc in runs:
        assert sc["status"] == "failed", f"{run_key(sc)} passed {attempts} time(s): the deviation is gone?"
    for sc in runs:
        if statement not in cited_statements(sc) and awaiting_statement(sc, [{"scenario": scenario,
                                                                              "statement": statement}]):
            pytest.xfail(f"{run_key(sc)} fails, citing no statement yet (H8): {sc['failure']['message'][:300]}")
        assert statement in cited_statements(sc), (
            f"{run_key(sc)} fails without citing {statement}: {sc['failure']['message'][:600]}")


@pytest.mark.parametrize("name,refusal", [
    pytest.param("aedes", "broker refuses MQTT 5: CONNACK 20 02 00 01 (3.1.1 format: 0x01 "
                 "(unacceptable_protocol_version))", id="aedes"),
    pytest.param("rabbitmq", "broker refuses MQTT 5: it closed the connection after the CONNECT without a CONNACK",
                 id="rabbitmq", marks=[] if RABBITMQ_ENABLED else [pytest.mark.skip(reason="MQTTH_E2E_RABBITMQ=0")]),
])
def test_a_3_1_1_only_broker_has_its_mqtt_5_half_skipped_with_one_reason(name, refusal, harness, tmp_path, request):
    # Without a profile and without --protocol: the probe finds out (docs/runner.md).
    host, port = request.getfixturevalue(BROKERS[name].fixture)
    proc, report = run_json(harness, tmp_path / "r.json", SUITE / "publish", "--broker", f"{host}:{port}", timeout=120)
    by_version = {}
    for sc in report["scenarios"]:
        by_version.setdefault(sc["protocol"], []).append(sc)
    assert by_version["5"] and all(sc["status"] == "skipped" and sc["skip_reason"] == refusal
                                   for sc in by_version["5"]), proc.stderr[-3000:]
    assert all(sc["status"] != "skipped" for sc in by_version["3.1.1"])
    assert proc.stderr.count(f"MQTT 5 scenarios are skipped: {refusal}") == 1


@pytest.mark.skipif(not RABBITMQ_ENABLED, reason="MQTTH_E2E_RABBITMQ=0")
def test_rabbitmq_rewriting_a_dotted_prefix_is_one_run_level_finding(harness, tmp_path, rabbitmq):
    # RabbitMQ maps MQTT '/' to AMQP '.' and back: a prefix with '.' comes back with '/'.
    # The default prefix has no '.'; this template has, to show the rewrite once.
    host, port = rabbitmq
    files = [SUITE / "publish/qos0_delivery.yaml", SUITE / "publish/qos1_acknowledged.yaml",
             SUITE / "subscribe/wildcard_matching.yaml"]
    proc, report = run_json(harness, tmp_path / "r.json", *files, "--broker", f"{host}:{port}", "--prefix",
                            "{run}.{n}", timeout=120)
    assert report["summary"]["failed"] == 0 and report["summary"]["passed"] == len(files), proc.stderr[-3000:]
    assert [f["statement"] for f in report["findings"]] == ["MQTT-4.7.3-4"]
    finding = report["findings"][0]
    assert "'.' -> '/'" in finding["message"] and finding["scenarios"] == len(files), finding
    assert proc.returncode == 1
