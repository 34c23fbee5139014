"""The scenario suite against three third-party brokers: Debian's mosquitto 2.0, aedes from
npm and RabbitMQ 3.10's MQTT plugin (docs/brokers.md), each with its profile in profiles/.

Two kinds of test:
* the whole suite with the broker's profile: every failure is one of the profile's known
  deviations, or one of the runs listed in PENDING_HARNESS_FIXES below (failures the
  triage found to be the harness's, waiting for a harness fix). The set must match exactly,
  so a harness fix that lands turns the test red until its entry is removed here;
* each known deviation of each profile, run WITHOUT the profile: the scenario still fails,
  and the failure cites the deviation's statement (the runner's own rule: an id in the
  failure message or in the scenario's `spec:` list, docs/runner.md "Known deviations").

RabbitMQ needs ~15 s to start and its tests take ~2 minutes in all; they run by default
and are left out with MQTTH_E2E_RABBITMQ=0.
"""
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
STATEMENT_RE = re.compile(r"MQTT-\d+(?:\.\d+)+-\d+")


class Broker:
    def __init__(self, name, fixture, profile, protocol=None):
        self.name = name
        self.fixture = fixture    # the fixture that starts it and yields (host, port)
        self.profile = PROFILES / profile
        # aedes and RabbitMQ speak MQTT 3.1/3.1.1 only; the runner has no way yet to skip
        # the 5.0 half by itself (docs/brokers.md "MQTT 5 on a 3.1.1-only broker").
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
PREFIX_DOT = ("the per-run prefix `mhXXXXXX.N` has a `.`, which RabbitMQ maps to `/` in every "
              "topic it forwards: the forwarded topic does not match", True)
PENDING_HARNESS_FIXES = {
    "mosquitto": {},
    "aedes": {
        "scenarios/faults/explore_qos2_subscriber_persistent.yaml [3.1.1]":
            ("the failure cites MQTT-2.3.1-4 and the receiver's MQTT-4.3.3-2, not the broken MQTT-3.3.1-1 "
             "(re-send with DUP 0) and MQTT-4.3.3-1 (PUBLISH re-sent after PUBREL)", True),
        "scenarios/faults/cut_after_pubrec_then_reconnect.yaml [3.1.1]":
            ("the re-send with DUP 0 on resume is cited as MQTT-2.3.1-4, not the broken MQTT-3.3.1-1 / "
             "MQTT-4.3.3-1", True),
        "scenarios/unsubscribe/unsubscribe_finishes_inflight.yaml [3.1.1]":
            ("a CONNACK Session Present mismatch cites no statement (MQTT-3.2.2-2)", True),
    },
    "rabbitmq": {
        f"scenarios/{f}.yaml [3.1.1]": PREFIX_DOT for f in [
            "connect/accepted_clean_start", "connect/session_takeover", "publish/qos0_delivery",
            "publish/qos1_acknowledged", "qos/qos1_packet_id_reuse_is_new_message",
            "retain/empty_payload_clears_retained", "retain/live_forward_has_retain_0",
            "retain/non_retained_leaves_retained", "retain/qos0_retained_replaces_previous",
            "session/unacked_qos1_resent_with_dup", "subscribe/topics_not_normalised",
            "subscribe/wildcard_matching", "subscribe/wildcards_do_not_match_dollar_topics",
            "unsubscribe/unsubscribe_finishes_inflight", "unsubscribe/unsubscribe_needs_exact_filter",
            "unsubscribe/unsubscribe_stops_delivery", "will/will_published_on_abrupt_close",
            "will/will_retained"] if f != "retain/non_retained_leaves_retained"
    } | {
        "scenarios/retain/non_retained_leaves_retained.yaml [3.1.1]":
            ("the `.` prefix first; then its deviation (MQTT-3.3.1-6) cannot match: the failure "
             "cites no statement", True),
    },
}

# Known deviations whose failure does not cite the deviation's statement today (the
# harness names another statement, or none): the deviation test is an expected failure
# until the harness cites it (docs/brokers.md names the fix).
CITATION_PENDING = {
    ("aedes", "*/faults/explore_qos2_subscriber_persistent.yaml", "MQTT-3.3.1-1"):
        "cites MQTT-2.3.1-4 for a PUBLISH re-sent with DUP 0",
    ("aedes", "*/faults/explore_qos2_subscriber_persistent.yaml", "MQTT-4.3.3-1"):
        "cites the receiver's MQTT-4.3.3-2 for a PUBLISH the broker re-sent after PUBREL",
    ("aedes", "*/faults/cut_after_pubrec_then_reconnect.yaml", "MQTT-4.3.3-1"):
        "cites MQTT-2.3.1-4 for a PUBLISH the broker re-sent after PUBREC/PUBREL",
    ("aedes", "*/unsubscribe/unsubscribe_finishes_inflight.yaml", "MQTT-3.2.2-2"):
        "a CONNACK Session Present mismatch cites no statement",
    ("rabbitmq", "*/retain/non_retained_leaves_retained.yaml", "MQTT-3.3.1-6"):
        "a missing retained PUBLISH cites no statement (and the `.` prefix fails the run first)",
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
    """The ids a failure cites, by the runner's rule for known deviations."""
    message = (scenario.get("failure") or {}).get("message", "")
    return set(STATEMENT_RE.findall(message)) | set(scenario.get("spec") or [])


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
                            f"{host}:{port}", "--profile", broker.profile, *broker.protocol_args())
    print(f"{name}: whole suite in {time.monotonic() - started:.1f} s: {report['summary']}")
    assert report["summary"]["errors"] == 0, proc.stderr[-4000:]
    unexplained = {run_key(sc): sc for sc in report["scenarios"]
                   if sc["status"] == "failed" and "known_deviation" not in sc}
    pending = PENDING_HARNESS_FIXES.get(name, {})
    must_fail = {k for k, (_, always) in pending.items() if always}
    detail = "\n".join(f"{k}: {(sc.get('failure') or {}).get('message', '')[:300]}"
                       for k, sc in sorted(unexplained.items()) if k not in pending)
    assert set(unexplained) - set(pending) == set(), f"failures neither known nor pending:\n{detail}"
    assert must_fail - set(unexplained) == set(), (
        "pending harness fixes that no longer fail (the fix landed? remove them from "
        f"PENDING_HARNESS_FIXES): {sorted(must_fail - set(unexplained))}")
    assert proc.returncode == (1 if unexplained else 0), proc.stderr[-2000:]


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
        assert statement in cited_statements(sc), (
            f"{run_key(sc)} fails without citing {statement}: {sc['failure']['message'][:600]}")
