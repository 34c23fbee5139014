"""Every legal alternative passes, and the scenarios stay sharp (issue 16; the audit is
docs/scenario-audit.md).

* The whole suite against the embedded broker configured for each choice the spec leaves
  a server (docs/broker-server.md `behaviour:`, and a Server Keep Alive of its own): no run
  fails; a run is skipped only where the choice leaves its statements unchecked, with the
  reason saying so.
* For each scenario the audit changed, a broker behaviour that breaks its statement still
  fails it: the embedded broker's `--misbehave` modes, or the scenario with a `fault:` step
  added that makes the client see the forbidden behaviour (a PUBLISH at another QoS than
  granted, a DISCONNECT with another reason code, a CONNACK with Session Present 1, ...).
* A `fault:` belongs to the connection it was armed on: a cut that has not fired does not
  follow the client to its next connection (`connections: all` makes it).
"""
import json
from pathlib import Path

import pytest
import yaml

from conftest import REPO, read_listening_line, run_scenarios

SUITE = REPO / "scenarios"
SUITE_TIMEOUT = 300
LOWER_GRANT = "the broker granted QoS"
GRANT_CHECKS = ["qos/delivery_qos_is_minimum_of_publish_and_granted.yaml", "qos/overlapping_subscriptions_highest_qos.yaml",
                "subscribe/suback_per_filter_in_order.yaml"]


def start_broker(harness, procs, tmp_path, config=None, *args):
    """`mqtt-harness broker` with `config` (a dict written as its YAML config file) -> port."""
    cmd = [harness, "broker", "--listen", "127.0.0.1:0", *args]
    if config:
        path = tmp_path / "broker.yaml"
        path.write_text(yaml.safe_dump(config))
        cmd += ["--config", path]
    with open(tmp_path / "broker.log", "wb") as log:  # a pipe nobody reads would block it
        proc = procs.start(cmd, stderr=log)
    return read_listening_line(proc)[1]


def run_json(harness, tmp_path, port, *paths, args=()):
    out = tmp_path / "r.json"
    # -j 4: the scenarios mostly wait on the broker's timers, so four at a time halve a
    # whole-suite run on two cores (13 of them here) without crowding the broker.
    proc = run_scenarios(harness, *paths, "-j", "4", "-q", "--broker", f"127.0.0.1:{port}", "--json", out, *args,
                         timeout=SUITE_TIMEOUT)
    assert out.exists(), proc.stderr[-3000:]
    return proc, json.loads(out.read_text())


def key(sc):
    return f"{Path(sc['file']).resolve().relative_to(SUITE)} [{sc['protocol']}]"


# mode -> (broker config, {run key: reason substring} of the runs that must be skipped, or
# a substring every skip reason must contain; runs that must pass, not be skipped)
MODES = {
    "qos2_method_a": ({"behaviour": {"qos2_forward_on": "pubrel"}}, {}, [
        "qos/qos2_duplicate_before_pubrel_delivered_once.yaml [3.1.1]",
        "qos/qos2_duplicate_before_pubrel_delivered_once.yaml [5]"]),
    "grant_at_most_1": ({"behaviour": {"grant_qos_at_most": 1}}, LOWER_GRANT,
                        [f"{f} [{v}]" for f in GRANT_CHECKS for v in ("3.1.1", "5")]),
    "grant_at_most_0": ({"behaviour": {"grant_qos_at_most": 0}}, LOWER_GRANT,
                        [f"{f} [{v}]" for f in GRANT_CHECKS for v in ("3.1.1", "5")]),
    "copy_per_subscription": ({"behaviour": {"overlapping_subscriptions": "copy_per_subscription"}}, {}, [
        "qos/overlapping_subscriptions_highest_qos.yaml [3.1.1]", "qos/overlapping_subscriptions_highest_qos.yaml [5]"]),
    "dollar_topics_refused": ({"behaviour": {"dollar_topic_publish": "refuse", "v311_refused_publish": "disconnect"}}, {
        "subscribe/wildcards_do_not_match_dollar_topics.yaml [3.1.1]": "topic starting with $",
        "subscribe/wildcards_do_not_match_dollar_topics.yaml [5]": "topic starting with $"}, []),
    # The other 3.1.1 answer to a refused PUBLISH (MQTT-3.3.5-2): acknowledged and dropped.
    "dollar_topics_refused_acknowledged": ({"behaviour": {"dollar_topic_publish": "refuse"}}, {
        "subscribe/wildcards_do_not_match_dollar_topics.yaml [3.1.1]": "topic starting with $",
        "subscribe/wildcards_do_not_match_dollar_topics.yaml [5]": "topic starting with $"}, []),
    "no_disconnect_before_close": ({"behaviour": {"disconnect_before_close": False}}, {
        "v5/server_disconnect_without_session_expiry.yaml [5]": "without a DISCONNECT"}, [
        "connect/session_takeover.yaml [5]", "faults/corrupt_publish_qos_bits_draws_malformed_answer.yaml [5]"]),
    "unspecified_refusal_codes": ({"behaviour": {"specific_refusal_codes": False}}, {}, []),
    "no_0x10_code": ({"behaviour": {"no_matching_subscribers_code": False}}, {}, []),
    "no_reason_strings": ({"behaviour": {"reason_strings": False}}, {}, []),
    "queue_qos0_offline": ({"behaviour": {"queue_qos0_offline": True}}, {}, []),
    "server_keep_alive_60": ({"limits": {"server_keep_alive": 60}}, {
        "keepalive/timeout_closes_silent_client.yaml [5]": "Server Keep Alive",
        "keepalive/timeout_not_later_than_one_and_a_half_keep_alive.yaml [5]": "Server Keep Alive",
        "faults/blackhole_link_ends_by_keep_alive.yaml [5]": "Server Keep Alive"}, []),
    "lenient_clients": ({"behaviour": {"strict_clients": False}}, {}, []),
    "all_at_once": ({"behaviour": {"qos2_forward_on": "pubrel", "grant_qos_at_most": 1,
                                   "overlapping_subscriptions": "copy_per_subscription", "dollar_topic_publish": "refuse",
                                   "v311_refused_publish": "disconnect", "disconnect_before_close": False,
                                   "specific_refusal_codes": False, "no_matching_subscribers_code": False,
                                   "reason_strings": False, "queue_qos0_offline": True,
                                   "strict_clients": False}}, None,
                    [f"{f} [{v}]" for f in GRANT_CHECKS for v in ("3.1.1", "5")]),
}


def documented_behaviour_switches():
    """The `behaviour:` keys of docs/broker-server.md's table, each with its alternatives."""
    text = (REPO / "docs/broker-server.md").read_text()
    table = text.split("### `behaviour:`", 1)[1].split("\n#", 1)[0]
    switches = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[0] != "`key`":
            switches[cells[0].strip("`")] = [a.strip(" `") for a in cells[2].split(",")]
    return switches


def test_every_documented_behaviour_alternative_has_a_suite_mode():
    switches = documented_behaviour_switches()
    assert len(switches) >= 10, switches
    chosen = {(k, str(v).lower()) for config, _, _ in MODES.values() for k, v in config.get("behaviour", {}).items()}
    for key, alternatives in switches.items():
        for alternative in alternatives:
            assert (key, alternative) in chosen, f"no MODES entry runs the suite with behaviour {key}: {alternative}"


@pytest.mark.parametrize("mode", MODES)
def test_the_suite_passes_against_each_legal_alternative(mode, harness, procs, tmp_path):
    config, skips, must_pass = MODES[mode]
    port = start_broker(harness, procs, tmp_path, config)
    proc, report = run_json(harness, tmp_path, port, SUITE)
    runs = {key(sc): sc for sc in report["scenarios"]}
    failed = {k: (sc.get("failure") or {}).get("message", "")[:300] for k, sc in runs.items() if sc["status"] != "passed"
              and sc["status"] != "skipped"}
    assert not failed, f"{mode}: runs that fail or err against a legal alternative:\n" + "\n".join(
        f"{k}: {m}" for k, m in sorted(failed.items()))
    assert proc.returncode == 0, proc.stderr[-2000:]
    skipped = {k: sc.get("skip_reason", "") for k, sc in runs.items() if sc["status"] == "skipped"}
    # The client suite (role: server) needs a client under test: a broker run skips it, saying so.
    client_runs = {k for k in skipped if k.startswith("client/")}
    assert all(skipped[k].startswith("role: server") for k in client_runs), {k: skipped[k] for k in client_runs}
    skipped = {k: why for k, why in skipped.items() if k not in client_runs}
    if isinstance(skips, dict):
        assert set(skipped) == set(skips), f"{mode}: skipped {sorted(skipped)}, expected {sorted(skips)}"
        for k, why in skips.items():
            assert why in skipped[k], f"{k}: {skipped[k]}"
    elif isinstance(skips, str):
        assert all(skips in why for why in skipped.values()), skipped
    for k in must_pass:
        assert runs[k]["status"] == "passed", f"{k}: {runs[k]['status']} {runs[k].get('skip_reason', '')}"


# ---------------------------------------------------------------------------------------
# Mutants: the forbidden behaviour still fails each scenario the audit changed.

def mutant(tmp_path, scenario, insert_after, fault_steps, name="mutant.yaml"):
    """The scenario with `fault_steps` added after its step number `insert_after` (1-based)."""
    doc = yaml.safe_load((SUITE / scenario).read_text())
    doc["steps"][insert_after:insert_after] = fault_steps
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return path


def corrupt(client, direction, packet, offset, xor, nth=1):
    return {"fault": {"client": client, "corrupt": {"direction": direction, "packet": packet, "nth": nth,
                                                    "offset": offset, "xor": xor}}}


# The first byte of a PUBLISH holds its QoS in bits 1-2: XOR 0x06 turns QoS 1 into 2 and
# 2 into 1, a delivery at a QoS other than the one granted (MQTT-3.8.4-6 / 5.0 -8).
QOS_FLIP = dict(packet="PUBLISH", offset=0, xor=0x06)

MUTANTS = {
    # scenario: (broker config or misbehave args, step to insert after, fault steps, protocols, failure text)
    "qos2_forwarded_twice": ("qos/qos2_duplicate_before_pubrel_delivered_once.yaml", None,
                             ["--misbehave", "dup-qos2", "--misbehave-every", "1"], 0, [], None, "while expecting no PUBLISH"),
    "qos2_forwarded_twice_method_a": ("qos/qos2_duplicate_before_pubrel_delivered_once.yaml",
                                      {"behaviour": {"qos2_forward_on": "pubrel"}},
                                      ["--misbehave", "dup-qos2", "--misbehave-every", "1"], 0, [], None,
                                      "while expecting no PUBLISH"),
    "cut_then_duplicates": ("faults/cut_after_pubrec_then_reconnect.yaml", None,
                            ["--misbehave", "dup-qos2", "--misbehave-every", "1"], 0, [], None, "duplicate"),
    "delivery_qos_above_grant": ("qos/delivery_qos_is_minimum_of_publish_and_granted.yaml", None, [], 2,
                                 [corrupt("s1", "to_client", **QOS_FLIP)], None, "effective QoS"),
    "delivery_qos_above_lower_grant": ("qos/delivery_qos_is_minimum_of_publish_and_granted.yaml",
                                       {"behaviour": {"grant_qos_at_most": 1}}, [], 2,
                                       [corrupt("s1", "to_client", **QOS_FLIP)], None, "effective QoS"),
    "overlapping_copy_below_highest": ("qos/overlapping_subscriptions_highest_qos.yaml", None, [], 2,
                                       [corrupt("sub", "to_client", **QOS_FLIP)], None, "effective QoS"),
    "overlapping_copy_above_lower_grant": ("qos/overlapping_subscriptions_highest_qos.yaml",
                                           {"behaviour": {"grant_qos_at_most": 1}}, [], 2,
                                           [corrupt("sub", "to_client", **QOS_FLIP)], None, "effective QoS"),
    "suback_filter_delivery_qos": ("subscribe/suback_per_filter_in_order.yaml", {"behaviour": {"grant_qos_at_most": 1}},
                                   [], 2, [corrupt("c", "to_client", **QOS_FLIP)], None, "effective QoS"),
    "retained_at_wrong_qos": ("retain/retained_message_sent_to_new_subscriber.yaml", None, [], 4,
                              [corrupt("sub", "to_client", **QOS_FLIP)], None, "effective QoS"),
    "resent_retained_at_wrong_qos": ("retain/resubscribe_resends_retained_311.yaml", None, [], 5,
                                     [corrupt("sub", "to_client", **QOS_FLIP)], None, "effective QoS"),
    # DISCONNECT = e0, Remaining Length, reason code at offset 2.
    "takeover_disconnect_wrong_code": ("connect/session_takeover.yaml", None, [], 2,
                                       [corrupt("first", "to_client", "DISCONNECT", 2, 0x01)], "5", "alternatives"),
    "malformed_disconnect_wrong_code": ("faults/corrupt_publish_qos_bits_draws_malformed_answer.yaml", None, [], 2,
                                        [corrupt("pub", "to_client", "DISCONNECT", 2, 0x01)], "5", "alternatives"),
    # CONNACK = 20, Remaining Length, flags (Session Present = bit 0) at offset 2.
    "refusal_with_session_present": ("v5/refused_connect_never_session_present.yaml", None, [], 4,
                                     [corrupt("refused", "to_client", "CONNACK", 2, 0x01)], "5", "alternatives"),
    # The retained QoS 0 PUBLISH loses its RETAIN bit on the way: the broker keeps `first`
    # (payload hex 6669727374), which the later subscriber then gets.
    "retained_qos0_does_not_replace": ("retain/qos0_retained_replaces_previous.yaml", None, [], 2,
                                       [corrupt("pub", "to_broker", "PUBLISH", 0, 0x01)], None, "6669727374"),
    # A PUBLISH sent with RETAIN 0 gains the bit on the way: the broker stores `transient`
    # (7472616e7369656e74) over `retained`, or stores `never` for keep/u (MQTT-3.3.1-12).
    "non_retained_replaces_retained": ("retain/non_retained_leaves_retained.yaml", None, [], 2,
                                       [corrupt("pub", "to_broker", "PUBLISH", 0, 0x01)], None, "7472616e7369656e74"),
    "non_retained_stored": ("retain/non_retained_leaves_retained.yaml", None, [], 3,
                            [corrupt("pub", "to_broker", "PUBLISH", 0, 0x01)], None, "6e65766572"),
    # CONNECT flags at offset 9: bit 5 is Will Retain.
    "will_not_retained": ("will/will_retained.yaml", None, [], 2,
                          [corrupt("dying", "to_broker", "CONNECT", 9, 0x20)], None, "no matching PUBLISH"),
}


@pytest.mark.parametrize("name", MUTANTS)
def test_a_broker_that_breaks_the_statement_still_fails_the_scenario(name, harness, procs, tmp_path):
    scenario, config, broker_args, after, faults, protocol, text = MUTANTS[name]
    port = start_broker(harness, procs, tmp_path, config, *broker_args)
    path = mutant(tmp_path, scenario, after, faults) if faults else SUITE / scenario
    proc, report = run_json(harness, tmp_path, port, path, args=("--protocol", protocol) if protocol else ())
    assert report["scenarios"], proc.stderr[-2000:]
    for sc in report["scenarios"]:
        assert sc["status"] == "failed", f"{name}: {sc['name']} {sc['status']} {sc.get('skip_reason', '')}"
        message = sc["failure"]["message"]
        assert text in message, f"{name}: {message[:800]}"
    assert proc.returncode == 1


def test_the_same_scenarios_pass_without_the_mutation(harness, procs, tmp_path):
    """The mutants above fail because of what they add: the scenarios pass against the
    same broker without it (the misbehaving broker's runs aside)."""
    port = start_broker(harness, procs, tmp_path)
    files = sorted({m[0] for m in MUTANTS.values()})
    proc, report = run_json(harness, tmp_path, port, *[SUITE / f for f in files])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all(sc["status"] == "passed" for sc in report["scenarios"]), [
        (key(sc), sc["status"]) for sc in report["scenarios"] if sc["status"] != "passed"]


# ---------------------------------------------------------------------------------------
# Faults tied to their connection (issue 16, triage H11)

CUT_SCENARIO = """name: cut armed on the first connection, {connections}
protocol: {protocol}
timeout: 8s
clients:
  sub: {{client_id: h11-sub, clean_start: false, session_expiry: 60}}
  pub: {{}}
steps:
  - connect: sub
  - subscribe: {{client: sub, filter: "h11/#", qos: 2}}
  - connect: pub
  # Armed for after the 3rd PUBREC of the subscriber; only 2 messages go to this connection.
  - fault: {{client: sub, cut: {{direction: to_broker, after: PUBREC, nth: 3}}, connections: {connections}}}
  - publish: {{client: pub, topic: "h11/a", qos: 2, count: 2}}
  - expect_delivery: {{subscriber: sub, publisher: pub, guarantee: exactly_once, count: 2, within: 3s}}
  - reconnect: {{client: sub, expect: {{session_present: true}}}}
  # 3 more: the rule's count would restart on this connection and reach 3 here.
  - publish: {{client: pub, topic: "h11/a", qos: 2, count: 3}}
{tail}
"""
# The SUBACK at the end shows the subscriber's link still carries packets after its 3rd
# PUBREC on the connection (the deliveries alone could all have arrived before a cut).
NOT_CUT = """  - expect_delivery: {subscriber: sub, publisher: pub, guarantee: exactly_once, count: 5, within: 3s}
  - subscribe: {client: sub, filter: "h11/alive", qos: 0}"""
CUT_AGAIN = """  - expect_disconnect: {client: sub, within: 3s}
  - reconnect: {client: sub, expect: {session_present: true}}
  - expect_delivery: {subscriber: sub, publisher: pub, guarantee: exactly_once, count: 5, within: 3s}
  - subscribe: {client: sub, filter: "h11/alive", qos: 0}"""


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
@pytest.mark.parametrize("connections,tail", [("current", NOT_CUT), ("all", CUT_AGAIN)])
def test_a_fault_applies_to_the_connection_it_was_armed_on_unless_the_step_says_all(
        connections, tail, protocol, harness, tmp_path):
    path = tmp_path / "h11.yaml"
    path.write_text(CUT_SCENARIO.format(connections=connections, protocol=protocol, tail=tail))
    out = tmp_path / "r.json"
    proc = run_scenarios(harness, path, "--json", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sc = json.loads(out.read_text())["scenarios"][0]
    connects = [p for p in sc["packets"] if p["client"] == "sub" and p["type"] == "CONNECT"]
    assert len(connects) == (2 if connections == "current" else 3), sc["packets"]
