"""What a failure reports (docs/reports.md "Which statement a failure names", "Root cause
first", "Statement verdicts and coverage"), against brokers that break rules on purpose
(fake_brokers.py): the lax broker, which answers everything and forwards, keeps and closes
nothing, and a relay that breaks one rule in front of the embedded broker.

The statement lists are read here from docs/spec/*.tsv, not from the harness.
"""
import csv
import html.parser
import json
import re
from pathlib import Path

import pytest

from conftest import REPO, run_scenarios, run_summary
import fake_brokers

SCENARIOS = REPO / "scenarios"
ID = re.compile(r"^MQTT-\d+\.\d+\.\d+-\d+$")

# Failures that are no spec violation name no statement, with one of these reasons
# (docs/reports.md, the checks without a statement).
NO_VIOLATION_REASONS = (
    "the harness's own timeout",
    "the broker could not be reached",
    "the scenario cannot run as written",
    "the broker did not accept the connection",
    "the broker refused a subscription",
)


def statements(version: str) -> dict[str, str]:
    """id -> class, from docs/spec."""
    name = "mqtt-3.1.1.tsv" if version == "3.1.1" else "mqtt-5.0.tsv"
    with open(REPO / "docs/spec" / name, newline="") as f:
        return {row["id"]: row["class"] for row in csv.DictReader(f, delimiter="\t")}


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def scenario_of(report: dict, file_part: str, protocol: str) -> dict:
    for s in report["scenarios"]:
        if file_part in s["file"] and s["protocol"] == protocol:
            return s
    raise AssertionError(f"no {file_part} [{protocol}] in the report")


@pytest.fixture
def lax():
    with fake_brokers.LaxBroker() as broker:
        yield broker


# --------------------------------------------------------------------------------------
# One primary statement per failure


def test_every_failure_against_a_lax_broker_names_one_statement_of_its_version(harness, lax, tmp_path):
    report_file = tmp_path / "r.json"
    proc = run_scenarios(harness, SCENARIOS / "malformed", SCENARIOS / "connect", SCENARIOS / "session",
                         SCENARIOS / "publish", "--broker", f"127.0.0.1:{lax.port}", "-j", "2", "-q",
                         "--json", report_file, timeout=300)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(report_file.read_text())
    failed = [s for s in report["scenarios"] if s["status"] == "failed"]
    # The lax broker breaks a rule in almost every one of them (it closes nothing, forwards
    # nothing, keeps no session).
    assert len(failed) >= 50, run_summary(proc)
    lists = {v: statements(v) for v in ("3.1.1", "5")}
    named, problems = 0, []
    for s in failed:
        f = s["failure"]
        where = (s["file"].split("scenarios/")[-1], s["protocol"])
        if f["statement"]:
            assert ID.match(f["statement"]), f["statement"]
            if f["statement"] not in lists[s["protocol"]]:
                problems.append(f"{where}: {f['statement']} is not a statement of MQTT {s['protocol']}")
            named += 1
        elif not f.get("no_statement", "").startswith(NO_VIOLATION_REASONS):
            problems.append(f"{where}: no statement ({f.get('no_statement')}): {f['message'][:160]}")
    assert not problems, "\n".join(problems)
    assert named >= len(failed) - 2
    # A 5.0 CONNECT of protocol level 6 that the broker accepts, answering the SUBSCRIBE after
    # it in 3.1.1 format: the close it owed is what it broke, not an unreadable packet.
    failure = scenario_of(report, "connect/unsupported_protocol_level_5.yaml", "5")["failure"]
    assert failure["statement"] == "MQTT-3.1.2-2", failure
    assert "the broker did not close the connection" in failure["message"], failure
    # A malformed packet the broker does not close on names the close rule of its version.
    assert scenario_of(report, "malformed/publish_qos3.yaml", "3.1.1")["failure"]["statement"] == "MQTT-4.8.0-1"
    assert scenario_of(report, "malformed/publish_qos3.yaml", "5")["failure"]["statement"] == "MQTT-4.13.1-1"
    # A malformed SUBSCRIBE written raw that the broker answers instead of closing: the
    # SUBACK is no answer to nothing (MQTT-3.8.4-2); the failure is the missing close, which
    # 3.1.1 MQTT-1.5.3-2 itself demands (the step's spec:), and 5.0 MQTT-4.13.1-1.
    for protocol, statement in (("3.1.1", "MQTT-1.5.3-2"), ("5", "MQTT-4.13.1-1")):
        failure = scenario_of(report, "malformed/subscribe_filter_with_null_character.yaml", protocol)["failure"]
        assert (failure["statement"], failure["step"]) == (statement, 3), failure
        assert "the broker did not close the connection" in failure["message"], failure
    # A step's own spec: wins over the scenario's list.
    assert scenario_of(report, "connect/reserved_flag_set.yaml", "3.1.1")["failure"]["statement"] == "MQTT-3.1.2-3"
    # connect expect: {session_present: true} that comes back false.
    assert scenario_of(report, "session/new_persistent_session_not_present.yaml", "5")["failure"]["statement"] == \
        "MQTT-3.2.2-3"


# --------------------------------------------------------------------------------------
# Root cause first

# The subscriber's session persists; it reconnects without stating Session Present, so the
# runner itself knows the broker should hold the session.
LOST_SESSION = """\
name: A persistent subscriber gets what was published while it was away
spec: [MQTT-3.1.2-5, MQTT-4.5.0-1]
protocols: [3.1.1, 5]
timeout: 5s
clients:
  sub: {client_id: rc-sub, clean_start: false, session_expiry: 60}
  pub: {}
steps:
  - connect: sub
  - subscribe: {client: sub, filter: "rc/#", qos: 1}
  - disconnect: sub
  - connect: pub
  - publish: {client: pub, topic: "rc/a", qos: 1, payload: kept}
  - connect: sub
  - expect_packet: {client: sub, type: PUBLISH, topic: "rc/a", payload: kept, within: 1s, spec: MQTT-4.5.0-1}
"""
CONNECT_LINE = 14  # the second `connect: sub`
EXPECT_LINE = 15


@pytest.mark.parametrize("protocol,statement", [("3.1.1", "MQTT-3.2.2-2"), ("5", "MQTT-3.2.2-3")])
def test_a_lost_session_is_the_failure_and_the_missing_message_its_consequence(
        harness, lax, tmp_path, protocol, statement):
    f = write(tmp_path / "lost.yaml", LOST_SESSION)
    proc = run_scenarios(harness, f, "--protocol", protocol, "--broker", f"127.0.0.1:{lax.port}",
                         "--json", tmp_path / "r.json", "--html", tmp_path / "r.html")
    assert proc.returncode == 1, proc.stderr
    s = json.loads((tmp_path / "r.json").read_text())["scenarios"][0]
    failure = s["failure"]
    # The first deviation: Session Present 0 at the reconnect (step 6), not the PUBLISH that
    # then never came (step 7).
    assert (failure["step"], failure["line"]) == (6, CONNECT_LINE)
    assert failure["statement"] == statement
    assert "Session Present 0" in failure["message"]
    assert [(c["step"], c["line"], c["statement"]) for c in failure["consequences"]] == [(7, EXPECT_LINE, "MQTT-4.5.0-1")]
    assert "no matching PUBLISH" in failure["consequences"][0]["message"]
    assert s["steps"][5]["status"] == "passed" and s["steps"][5]["message"].startswith("deviation: ")
    assert s["steps"][6]["status"] == "failed"
    assert f"statement: {statement}" in proc.stderr
    assert "consequences (after the first deviation, not failures of their own):" in proc.stderr
    page = (tmp_path / "r.html").read_text()
    assert "Consequences (after the first deviation" in page
    assert f'<a href="#st-{protocol}-{statement}"><code>{statement}</code></a>' in page


def test_a_deviation_nothing_else_follows_from_is_still_the_failure(harness, procs, embedded_broker, tmp_path):
    # The relay clears Session Present; the embedded broker behind it keeps the session and
    # delivers, so every step passes: the scenario fails on the deviation alone.
    host, port = embedded_broker
    with fake_brokers.Relay((host, port), clear_session_present=True) as relay:
        f = write(tmp_path / "lost.yaml", LOST_SESSION)
        proc = run_scenarios(harness, f, "--protocol", "5", "--broker", f"127.0.0.1:{relay.port}",
                             "--json", tmp_path / "r.json")
    assert proc.returncode == 1, proc.stderr
    s = json.loads((tmp_path / "r.json").read_text())["scenarios"][0]
    assert [st["status"] for st in s["steps"]] == ["passed"] * 7
    assert s["failure"]["statement"] == "MQTT-3.2.2-3"
    assert s["failure"]["step"] == 6
    assert "consequences" not in s["failure"]


def test_a_non_fatal_violation_while_waiting_for_something_else_is_the_root_cause(
        harness, procs, embedded_broker, tmp_path):
    # A stray SUBACK right after CONNACK: the client session reports it (MQTT-3.8.4-2) and
    # reads on; the scenario runs to its end and fails on it.
    host, port = embedded_broker
    with fake_brokers.Relay((host, port), stray_suback=True) as relay:
        proc = run_scenarios(harness, SCENARIOS / "publish/qos1_acknowledged.yaml", "--protocol", "3.1.1",
                             "--broker", f"127.0.0.1:{relay.port}", "--json", tmp_path / "r.json")
    assert proc.returncode == 1, proc.stderr
    s = json.loads((tmp_path / "r.json").read_text())["scenarios"][0]
    assert s["failure"]["statement"] == "MQTT-3.8.4-2"
    assert "SUBACK for packet id 30583" in s["failure"]["message"]
    # Where it first happened (the first connect); the second client's copy is a consequence.
    assert s["failure"]["step"] == 1
    assert [(c["step"], c["statement"]) for c in s["failure"]["consequences"]] == [(3, "MQTT-3.8.4-2")]
    assert s["failure"]["consequences"][0]["message"].startswith("connect pub: broker violation")
    assert all(st["status"] == "passed" for st in s["steps"])


# --------------------------------------------------------------------------------------
# The ledger counts what follows from a deviation as its consequence

def delivery_row(scenario: dict) -> dict:
    [row] = scenario["deliveries"]
    return row


def passes_direct_fails_behind_relay(harness, broker, tmp_path, scenario: Path, protocol: str, **relay_rule) -> dict:
    """Runs `scenario` on the embedded broker (it must pass: no false failure), then behind a
    fake_brokers.Relay that breaks `relay_rule` (it must fail); the failed run's report entry."""
    host, port = broker
    proc = run_scenarios(harness, scenario, "--protocol", protocol, "--broker", f"{host}:{port}")
    assert proc.returncode == 0, proc.stderr
    with fake_brokers.Relay((host, port), **relay_rule) as relay:
        proc = run_scenarios(harness, scenario, "--protocol", protocol, "--broker", f"127.0.0.1:{relay.port}",
                             "--json", tmp_path / "r.json")
    assert proc.returncode == 1, proc.stderr
    return json.loads((tmp_path / "r.json").read_text())["scenarios"][0]


# LOST_SESSION, checked by the ledger: the message published while the subscriber was away
# is owed to its session.
OWED_WHILE_AWAY = LOST_SESSION.replace(
    "  - expect_packet: {client: sub, type: PUBLISH, topic: \"rc/a\", payload: kept, within: 1s, spec: MQTT-4.5.0-1}\n",
    "  - expect_delivery: {publisher: pub, subscriber: sub, guarantee: at_least_once, within: 1s}\n")


@pytest.mark.parametrize("protocol,statement", [("3.1.1", "MQTT-3.2.2-2"), ("5", "MQTT-3.2.2-3")])
def test_a_message_owed_to_a_lost_session_is_lost_as_its_consequence(harness, lax, tmp_path, protocol, statement):
    # The lax broker forwards nothing and answers Session Present 0: the owed message is
    # lost with the session, so the delivery row names Session Present, not MQTT-4.5.0-1.
    assert OWED_WHILE_AWAY != LOST_SESSION
    f = write(tmp_path / "owed.yaml", OWED_WHILE_AWAY)
    proc = run_scenarios(harness, f, "--protocol", protocol, "--broker", f"127.0.0.1:{lax.port}",
                         "--json", tmp_path / "r.json")
    assert proc.returncode == 1, proc.stderr
    s = json.loads((tmp_path / "r.json").read_text())["scenarios"][0]
    assert (s["failure"]["step"], s["failure"]["statement"]) == (6, statement)
    assert [(c["step"], c["statement"]) for c in s["failure"]["consequences"]] == [(7, statement)]
    row = delivery_row(s)
    assert (row["sent"], row["lost"], row["lost_consequence"], row["duplicated_consequence"]) == (1, 1, 1, 0), row
    assert (row["verdict"], row["statement"], row["cause"], row["see_also"]) == ("violated", statement, statement, [])
    assert row["reason"] == f"1 lost, the consequence of a deviation reported where it happened [{statement}]"


QOS2_ONCE = """\
name: A QoS 2 message is delivered once
spec: [MQTT-4.3.3-2]
protocols: [3.1.1, 5]
timeout: 5s
clients:
  sub: {}
  pub: {}
steps:
  - connect: sub
  - subscribe: {client: sub, filter: "once/#", qos: 2}
  - connect: pub
  - publish: {client: pub, topic: "once/a", qos: 2, payload: once}
  - expect_delivery: {publisher: pub, subscriber: sub, guarantee: exactly_once, within: 2s}
"""


# The client session reports the PUBLISH re-sent after PUBREL (3.1.1 MQTT-4.3.3-1, 5.0
# MQTT-4.3.3-6); the second delivery it makes is not a new exactly-once duplicate (3.1.1
# MQTT-4.3.3-2, 5.0 MQTT-4.3.3-10) but that violation's consequence.
@pytest.mark.parametrize("protocol,statement", [("3.1.1", "MQTT-4.3.3-1"), ("5", "MQTT-4.3.3-6")])
def test_a_duplicate_made_by_a_publish_after_pubrel_is_its_consequence(
        harness, procs, embedded_broker, tmp_path, protocol, statement):
    f = write(tmp_path / "once.yaml", QOS2_ONCE)
    s = passes_direct_fails_behind_relay(harness, embedded_broker, tmp_path, f, protocol, publish_after_pubrel=True)
    assert s["failure"]["statement"] == statement, s["failure"]
    assert "after it had sent PUBREL" in s["failure"]["message"]
    assert [(c["step"], c["statement"]) for c in s["failure"]["consequences"]] == [(5, statement)]
    row = delivery_row(s)
    assert (row["delivered"], row["duplicated"], row["duplicated_consequence"], row["lost_consequence"]) == \
        (1, 1, 1, 0), row
    assert (row["statement"], row["cause"]) == (statement, statement)


# The subscriber withholds one PUBACK, then resumes its session: the broker owes the PUBLISH
# again (MQTT-4.4.0-1). The scenario ends right after the reconnect.
RESUMED = """\
name: A resumed session re-sends an unacknowledged QoS 1 message
spec: [MQTT-4.4.0-1]
protocols: [3.1.1, 5]
timeout: 5s
clients:
  sub: {client_id: resume-sub, clean_start: false, session_expiry: 60}
  pub: {}
steps:
  - connect: sub
  - subscribe: {client: sub, filter: "resume/#", qos: 1}
  - misbehave: {client: sub, withhold: PUBACK, count: 1}
  - connect: pub
  - publish: {client: pub, topic: "resume/a", qos: 1, payload: unacked}
  - expect_packet: {client: sub, type: PUBLISH, topic: "resume/a", within: 2s}
  - reconnect: {client: sub, expect: {session_present: true}}
"""


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_resumed_session_that_never_re_sends_is_mqtt_4_4_0_1(harness, procs, embedded_broker, tmp_path, protocol):
    # The embedded broker re-sends (no false failure at the scenario's end); behind a relay
    # that drops every PUBLISH with DUP 1 the re-send never arrives.
    f = write(tmp_path / "resume.yaml", RESUMED)
    s = passes_direct_fails_behind_relay(harness, embedded_broker, tmp_path, f, protocol, drop_resends=True)
    assert s["failure"]["statement"] == "MQTT-4.4.0-1", s["failure"]
    assert "without re-sending anything for packet id" in s["failure"]["message"]
    assert all(st["status"] == "passed" for st in s["steps"])
    # Judged once the broker had its second after the CONNACK, not before.
    assert s["duration_ms"] >= 1000


def test_a_step_that_waits_for_the_re_send_itself_names_its_own_statement(harness, procs, embedded_broker, tmp_path):
    # The runner's own re-send check never runs while a step waits: this step's statement
    # (here the DUP flag of a re-delivery) is the failure, not the generic MQTT-4.4.0-1.
    f = write(tmp_path / "resume.yaml", RESUMED + "  - expect_packet: {client: sub, type: PUBLISH, topic: \"resume/a\", "
                                                   "dup: true, within: 2s, spec: MQTT-3.3.1-1}\n")
    s = passes_direct_fails_behind_relay(harness, embedded_broker, tmp_path, f, "5", drop_resends=True)
    assert (s["failure"]["step"], s["failure"]["statement"]) == (8, "MQTT-3.3.1-1"), s["failure"]
    assert "consequences" not in s["failure"]


# A client that wrote raw bytes on its session still reports what the broker breaks later:
# the session knows the answers to the packets it wrote raw (here the PINGRESP).
RAW_PING = """\
name: A PINGREQ written raw is answered
spec: [MQTT-3.12.4-1]
protocols: [3.1.1, 5]
timeout: 5s
clients:
  c: {}
steps:
  - connect: c
  - send_raw: {client: c, hex: "c0 00"}
  - expect_packet: {client: c, type: PINGRESP, within: 2s}
  - sleep: 200ms
"""


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_violation_after_a_raw_write_on_the_session_is_reported(harness, procs, embedded_broker, tmp_path, protocol):
    f = write(tmp_path / "ping.yaml", RAW_PING)
    s = passes_direct_fails_behind_relay(harness, embedded_broker, tmp_path, f, protocol, stray_suback_on_pingresp=True)
    assert s["failure"]["statement"] == "MQTT-3.8.4-2", s["failure"]
    assert "SUBACK for packet id 30583" in s["failure"]["message"]


# --------------------------------------------------------------------------------------
# Known deviations match the primary statement only (triage H12)

def test_known_deviation_matches_the_failures_statement_not_the_scenarios_spec(harness, lax, tmp_path):
    f = write(tmp_path / "lost.yaml", LOST_SESSION)

    def run_with(statement):
        profile = write(tmp_path / f"p-{statement}.yaml", f"""\
name: lax
known_deviations:
  - {{scenario: "A persistent subscriber*", statement: {statement}, reason: loses sessions}}
""")
        return run_scenarios(harness, f, "--protocol", "3.1.1", "--broker", f"127.0.0.1:{lax.port}",
                             "--profile", profile, "--json", tmp_path / "r.json")

    # MQTT-4.5.0-1 is in the scenario's spec: list and its consequence's statement, but the
    # failure is the lost session: not this deviation.
    proc = run_with("MQTT-4.5.0-1")
    assert proc.returncode == 1, proc.stderr
    assert "known_deviation" not in json.loads((tmp_path / "r.json").read_text())["scenarios"][0]
    proc = run_with("MQTT-3.2.2-2")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["scenarios"][0]["known_deviation"] == {"statement": "MQTT-3.2.2-2", "reason": "loses sessions",
                                                         "profile": "lax"}
    row = next(r for r in report["statements"] if r["id"] == "MQTT-3.2.2-2")
    assert row["verdict"] == "violated"
    assert row["known_deviation"] == {"reason": "loses sessions", "profile": "lax"}


# --------------------------------------------------------------------------------------
# Statement verdicts of a real run, and the HTML statement table


class StatementRows(html.parser.HTMLParser):
    """(version, verdict, id) of every row of the HTML statement table."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._in_id = [], None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-verdict" in a:
            self._row = [a["data-version"], a["data-verdict"], None]
        elif tag == "td" and a.get("class") == "id" and self._row:
            self._in_id = True

    def handle_data(self, data):
        if self._in_id and self._row and data.strip():
            self._row[2] = data.strip()
            self.rows.append(tuple(self._row))
            self._row, self._in_id = None, False


def test_verdicts_of_a_run_in_json_junit_and_html_agree(harness, lax, tmp_path):
    # 3.1.1 only: against the lax broker a few pass, most fail, some are skipped (profile).
    profile = write(tmp_path / "p.yaml", "name: lax\nfeatures: {retain_available: false}\n")
    proc = run_scenarios(harness, SCENARIOS / "retain", SCENARIOS / "unsubscribe", SCENARIOS / "malformed",
                         "--protocol", "3.1.1", "--broker", f"127.0.0.1:{lax.port}", "--profile", profile,
                         "-j", "2", "-q", "--json", tmp_path / "r.json", "--junit", tmp_path / "r.xml",
                         "--html", tmp_path / "r.html", timeout=300)
    assert proc.returncode == 1, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    observable = {i for i, cls in statements("3.1.1").items() if cls == "broker-observable"}
    rows = {r["id"]: r for r in report["statements"]}
    # A 3.1.1-only run: one row per broker-observable 3.1.1 statement, no 5.0 row.
    assert set(rows) == observable and {r["version"] for r in rows.values()} == {"3.1.1"}
    assert set(report["coverage"]) == {"3.1.1"}
    # Each verdict from the scenarios, worked out here from their statuses and spec lists.
    passed, skipped_only, violated = set(), {}, set()
    cited_unskipped = set()
    for s in report["scenarios"]:
        if s["status"] == "failed" and s["failure"]["statement"]:
            violated.add(s["failure"]["statement"])
            cited_unskipped.add(s["failure"]["statement"])
        for i in s["spec"]:
            if s["status"] == "passed":
                passed.add(i)
            if s["status"] == "skipped":
                skipped_only.setdefault(i, s["skip_reason"])
            else:
                cited_unskipped.add(i)
    for i, r in rows.items():
        want = ("violated" if i in violated else "held" if i in passed
                else "skipped" if i in skipped_only and i not in cited_unskipped else "not_checked")
        assert r["verdict"] == want, (i, r)
    assert {r["verdict"] for r in rows.values()} == {"held", "violated", "skipped", "not_checked"}
    cov = report["coverage"]["3.1.1"]
    assert cov["covered"] == len(violated & observable) + len((passed - violated) & observable)
    assert cov["covered"] == cov["held"] + cov["violated"]
    # HTML: the same rows, each with its verdict and version for the filter buttons.
    parser = StatementRows()
    parser.feed((tmp_path / "r.html").read_text())
    assert sorted(parser.rows) == sorted(("3.1.1", r["verdict"], r["id"]) for r in rows.values())
    page = (tmp_path / "r.html").read_text()
    for verdict in ("violated", "held", "skipped", "not_checked"):
        assert f'data-st-verdict="{verdict}"' in page
    assert "data-st-version" not in page, "one version: no version buttons"
    # JUnit: the statements suite has the same failures.
    xml = (tmp_path / "r.xml").read_text()
    assert f'<testsuite name="statements MQTT 3.1.1" tests="{len(observable)}" failures="{cov["violated"]}"' in xml


# --------------------------------------------------------------------------------------
# Exploration: cut runs that do not hold keep what is needed to debug them


def test_cut_runs_that_do_not_hold_keep_statement_trace_and_pcap(harness, procs, embedded_broker, tmp_path):
    # Behind the relay every reconnect of the persistent subscriber sees Session Present 0:
    # the baseline (one connection) passes, a cut run whose client reconnects after its
    # first CONNACK fails on the lost session; a cut before that CONNACK holds.
    host, port = embedded_broker
    caps = tmp_path / "caps"
    with fake_brokers.Relay((host, port), clear_session_present=True) as relay:
        proc = run_scenarios(harness, SCENARIOS / "faults/explore_qos1_subscriber_persistent.yaml", "--protocol", "5",
                             "--broker", f"127.0.0.1:{relay.port}", "--pcap", caps, "--json", tmp_path / "r.json",
                             "--junit", tmp_path / "r.xml", timeout=300)
    assert proc.returncode == 1, proc.stderr
    s = json.loads((tmp_path / "r.json").read_text())["scenarios"][0]
    rows = s["exploration"]
    held = [r for r in rows if r["verdict"] == "held"]
    bad = [r for r in rows if r["verdict"] != "held"]
    assert held and bad, [(r["packet"], r["nth"], r["verdict"]) for r in rows]
    assert s["failure"]["statement"] == "MQTT-3.2.2-3"
    # Each cut run listed in the failure (up to five) with its own statement, here all the same
    # one: no see-also beside the primary.
    listed = re.findall(r"(?:sub|pub) to_(?:broker|client) after [A-Z]+ #\d+: \w+ \(lost \d+, duplicated \d+\)( \[[^]]+\])?",
                        s["failure"]["message"])
    assert len(listed) == min(5, len(bad)) and set(listed) == {" [MQTT-3.2.2-3]"}, s["failure"]["message"]
    assert "see_also" not in s["failure"]
    xml = (tmp_path / "r.xml").read_text()
    for r in bad:
        assert f"cut {r['client']} {r['direction']} after {r['packet']} #{r['nth']}: {r['verdict']} " \
               f"(lost {r['lost']}, duplicated {r['duplicated']}) [MQTT-3.2.2-3] " in xml
    kept = set()
    for r in bad:
        assert r["statement"] == "MQTT-3.2.2-3", r
        assert {p["client"] for p in r["packets"]} >= {"sub"}, "the cut run's own trace"
        assert r["pcap"], r
        for path in r["pcap"]:
            assert Path(path).is_file() and Path(path).stat().st_size > 24, path  # more than the pcap header
            assert re.search(r"-cut\d+--(sub|pub)--conn\d+\.pcap$", path), path
            kept.add(Path(path).name)
    for r in held:
        assert "packets" not in r and "pcap" not in r, r
    # On disk: the baseline's files and those of the cut runs that did not hold, no others.
    files = {p.name for p in caps.iterdir()}
    cut_files = {name for name in files if "-cut" in name}
    assert cut_files == kept
    assert any("-cut" not in name for name in files), "the baseline's capture"
