"""End-to-end tests of fault injection in `mqtt-harness run` (docs/faults.md).

- the fault-point explorations of scenarios/faults/ pass against the embedded broker and
  against Debian's mosquitto (persistent sessions), and the JSON report lists one row per
  cut point, i.e. one per packet of the explored link as counted independently here from
  the scenario (the MQTT flows of 4.3.2 / 4.3.3);
- against `mqtt-harness broker --misbehave drop-qos1 / dup-qos2` the same scenarios fail,
  classified as lost / duplicated;
- `run --pcap DIR` writes one pcap per connection that tshark dissects as MQTT, in the
  order the flow of the scenario dictates;
- the plain `fault:` scenarios (segment, corrupt, blackhole, delay, cut + reconnect) pass.
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import read_listening_line
from conftest import run_scenarios as run, run_summary as summary

FAULTS = Path(__file__).resolve().parents[2] / "scenarios" / "faults"
PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "mosquitto-2.0.yaml"

# Packets of the explored link of each exploration scenario (2 messages, no DISCONNECT),
# from the MQTT flows: QoS 1 PUBLISH/PUBACK (4.3.2), QoS 2 PUBLISH/PUBREC/PUBREL/PUBCOMP
# (4.3.3). Direction is seen from the link: to_broker = sent by the explored client.
SUB_Q1 = {("to_broker", "CONNECT"): 1, ("to_client", "CONNACK"): 1, ("to_broker", "SUBSCRIBE"): 1,
          ("to_client", "SUBACK"): 1, ("to_client", "PUBLISH"): 2, ("to_broker", "PUBACK"): 2}
SUB_Q2 = {("to_broker", "CONNECT"): 1, ("to_client", "CONNACK"): 1, ("to_broker", "SUBSCRIBE"): 1,
          ("to_client", "SUBACK"): 1, ("to_client", "PUBLISH"): 2, ("to_broker", "PUBREC"): 2,
          ("to_client", "PUBREL"): 2, ("to_broker", "PUBCOMP"): 2}
PUB_Q1 = {("to_broker", "CONNECT"): 1, ("to_client", "CONNACK"): 1, ("to_broker", "PUBLISH"): 2,
          ("to_client", "PUBACK"): 2}
PUB_Q2 = {("to_broker", "CONNECT"): 1, ("to_client", "CONNACK"): 1, ("to_broker", "PUBLISH"): 2,
          ("to_client", "PUBREC"): 2, ("to_broker", "PUBREL"): 2, ("to_client", "PUBCOMP"): 2}
EXPECTED_CUTS = {
    "explore_qos1_subscriber_persistent.yaml": ("sub", SUB_Q1),
    "explore_qos2_subscriber_persistent.yaml": ("sub", SUB_Q2),
    "explore_qos1_publisher_persistent.yaml": ("pub", PUB_Q1),
    "explore_qos2_publisher_persistent.yaml": ("pub", PUB_Q2),
    "explore_qos1_subscriber_clean.yaml": ("sub", SUB_Q1),
    "explore_qos2_subscriber_clean.yaml": ("sub", SUB_Q2),
    "explore_qos1_publisher_clean.yaml": ("pub", PUB_Q1),
    "explore_qos2_publisher_clean.yaml": ("pub", PUB_Q2),
}


def check_every_cut_point_listed(report):
    explored = 0
    for sc in report["scenarios"]:
        file = Path(sc["file"]).name
        if file not in EXPECTED_CUTS:
            continue
        explored += 1
        client, expected = EXPECTED_CUTS[file]
        rows = sc.get("exploration", [])
        want = sorted((d, t, n) for (d, t), count in expected.items() for n in range(1, count + 1))
        got = sorted((r["direction"], r["packet"], r["nth"]) for r in rows)
        assert got == want, f"{sc['name']}: cut points {got}"
        for r in rows:
            assert r["client"] == client
            assert r["fired"], f"{sc['name']}: cut {r} never happened"
            assert r["verdict"] == "held", f"{sc['name']}: {r}"
            assert r["lost"] == 0
    return explored


def test_explorations_hold_on_the_embedded_broker(harness, tmp_path):
    out = tmp_path / "r.json"
    html = tmp_path / "r.html"
    junit = tmp_path / "r.xml"
    proc = run(harness, FAULTS, "--filter", "*explore_*", "-j", "2", "--json", out, "--html", html,
               "--junit", junit)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc) == (16, 0, 0, 0)
    report = json.loads(out.read_text())
    assert check_every_cut_point_listed(report) == 16
    # Progress on stderr, one line per cut run.
    assert re.search(r"\[\d+/12\] cut sub to_client after PUBREL #2: held", proc.stderr), proc.stderr[-2000:]
    # The same table in the other formats.
    page = html.read_text()
    assert page.count("Fault-point exploration (12 cut points)") == 4  # the QoS 2 subscriber ones
    assert "cut pub to_broker after PUBREL #2 (not reached)" not in junit.read_text()
    assert "cut pub to_broker after PUBREL #2: held" in junit.read_text()


def test_explorations_hold_on_mosquitto_with_persistent_sessions(harness, tmp_path, mosquitto):
    host, port = mosquitto
    out = tmp_path / "r.json"
    proc = run(harness, FAULTS, "--filter", "*explore_*", "-j", "2", "--broker", f"{host}:{port}",
               "--profile", PROFILE, "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc) == (16, 0, 0, 0)
    assert check_every_cut_point_listed(json.loads(out.read_text())) == 16


def start_misbehaving(harness, procs, mode):
    proc = procs.start([harness, "broker", "--listen", "127.0.0.1:0", "--misbehave", mode,
                        "--misbehave-every", "1"])
    return read_listening_line(proc)


@pytest.mark.parametrize("mode,scenario,field", [
    ("drop-qos1", "explore_qos1_subscriber_persistent.yaml", "lost"),
    ("drop-qos1", "explore_qos1_publisher_persistent.yaml", "lost"),
    ("dup-qos2", "explore_qos2_subscriber_persistent.yaml", "duplicated"),
    ("dup-qos2", "explore_qos2_publisher_clean.yaml", "duplicated"),
])
def test_explorations_fail_on_a_misbehaving_broker_with_the_right_classification(
        harness, procs, tmp_path, mode, scenario, field):
    host, port = start_misbehaving(harness, procs, mode)
    out = tmp_path / "r.json"
    proc = run(harness, FAULTS / scenario, "--protocol", "5", "--broker", f"{host}:{port}", "--json", out)
    assert proc.returncode == 1, proc.stderr
    sc = json.loads(out.read_text())["scenarios"][0]
    assert sc["status"] == "failed"
    rows = [d for d in sc["deliveries"] if d["verdict"] == "violated"]
    assert rows, sc["deliveries"]
    assert rows[0][field] > 0, rows[0]
    other = "duplicated" if field == "lost" else "lost"
    assert rows[0][other] == 0, rows[0]


MSGTYPE = {"CONNECT": 1, "CONNACK": 2, "PUBLISH": 3, "PUBACK": 4, "PUBREC": 5, "PUBREL": 6, "PUBCOMP": 7,
           "SUBSCRIBE": 8, "SUBACK": 9, "PINGREQ": 12, "PINGRESP": 13, "DISCONNECT": 14}

PCAP_SCENARIO = """\
name: pcap of a QoS 2 flow
spec: [MQTT-4.3.3-2]
protocol: 3.1.1
clients:
  sub: {}
  pub: {}
steps:
  - connect: sub
  - subscribe: {client: sub, filter: "cap/#", qos: 2}
  - connect: pub
  - publish: {client: pub, topic: "cap/a", qos: 2}
  - expect_delivery: {subscriber: sub, publisher: pub, guarantee: exactly_once, count: 1, within: 3s}
  - disconnect: pub
  - disconnect: sub
"""


def tshark_types(path):
    proc = subprocess.run(["tshark", "-r", str(path), "-Y", "mqtt", "-T", "fields", "-e", "mqtt.msgtype"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    # One line per frame; a frame carrying several MQTT packets lists them comma-separated.
    return [int(t) for line in proc.stdout.split() for t in line.split(",") if t]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_run_pcap_writes_one_file_per_connection_that_tshark_reads_in_order(harness, tmp_path):
    scenario = tmp_path / "cap.yaml"
    scenario.write_text(PCAP_SCENARIO)
    caps = tmp_path / "caps"
    proc = run(harness, scenario, "--pcap", caps)
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.name for p in caps.iterdir())
    assert files == ["1-v3.1.1-pcap_of_a_QoS_2_flow--pub--conn1.pcap",
                     "1-v3.1.1-pcap_of_a_QoS_2_flow--sub--conn1.pcap"], files
    t = MSGTYPE
    # Publisher: CONNECT, CONNACK, then the sender side of 4.3.3, then DISCONNECT.
    assert tshark_types(caps / files[0]) == [t["CONNECT"], t["CONNACK"], t["PUBLISH"], t["PUBREC"], t["PUBREL"],
                                             t["PUBCOMP"], t["DISCONNECT"]]
    # Subscriber: the receiver side.
    assert tshark_types(caps / files[1]) == [t["CONNECT"], t["CONNACK"], t["SUBSCRIBE"], t["SUBACK"], t["PUBLISH"],
                                             t["PUBREC"], t["PUBREL"], t["PUBCOMP"], t["DISCONNECT"]]


def test_plain_fault_scenarios_pass_on_the_embedded_broker(harness, tmp_path):
    out = tmp_path / "r.json"
    names = ["segment_1byte_qos2_still_exactly_once.yaml", "corrupt_publish_qos_bits_draws_malformed_answer.yaml",
             "blackhole_link_ends_by_keep_alive.yaml", "delay_to_subscriber_keeps_order.yaml",
             "cut_after_pubrec_then_reconnect.yaml"]
    proc = run(harness, *[FAULTS / n for n in names], "-j", "2", "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc) == (10, 0, 0, 0)
    report = json.loads(out.read_text())
    by_file = {}
    for sc in report["scenarios"]:
        by_file.setdefault(Path(sc["file"]).name, []).append(sc)
    # The corrupted PUBLISH (QoS bits 3, MQTT-3.3.1-4): 5.0 answers DISCONNECT 0x81.
    v5 = [s for s in by_file["corrupt_publish_qos_bits_draws_malformed_answer.yaml"] if s["protocol"] == "5"][0]
    assert any(p["type"] == "DISCONNECT" and p["direction"] == "from_broker" and p["decoded"]["reason_code"] == 0x81
               for p in v5["packets"]), v5["packets"]
    # The cut after the 3rd PUBREC: the subscriber connected twice, and all 10 arrived once.
    for sc in by_file["cut_after_pubrec_then_reconnect.yaml"]:
        connects = [p for p in sc["packets"] if p["client"] == "sub" and p["type"] == "CONNECT"]
        assert len(connects) == 2
        row = sc["deliveries"][0]
        assert (row["delivered"], row["lost"], row["duplicated"]) == (10, 0, 0), row
