"""End-to-end tests of `mqtt-harness fuzz --stateful` (docs/netfuzz.md "Stateful cases").

The planted bug of harness/netfuzz/tests/stateful_broker_stub.py needs three connections
in order (a subscriber with a QoS 2 subscription, a QoS 2 PUBLISH routed to it, a
takeover of its client id before it sends PUBREC); the one-connection cases cannot reach
it. Every broker runs on 127.0.0.1 and a free port, every run is bounded by
`--max-cases` or `--duration`, and every process is stopped by the `procs` fixture.
"""
import re
import subprocess

import pytest

from conftest import REPO, free_port, wait_for_port, run_scenarios
from test_netfuzz import crash_or_hang_findings, run_fuzz

STUB = REPO / "harness/netfuzz/tests/stateful_broker_stub.py"
# Seed 1 reaches the planted crash at case 64 with -j 1 (a subscriber, a publisher, a takeover).
SEED, MAX_CASES = "1", "130"


def fuzz_stub(harness, out, *stub_args, stateful=True):
    port = free_port()
    return run_fuzz(harness, ["--broker", f"127.0.0.1:{port}", "--duration", "50s", "--seed", SEED,
                              "--max-cases", MAX_CASES, "-j", "1", "--out", out, "--protocol", "5",
                              *(["--stateful"] if stateful else []),
                              "--spawn", "--", "/usr/bin/python3", STUB, port, *stub_args], timeout=120)


def test_stateful_fuzzing_finds_the_takeover_crash_and_its_multi_client_reproducer_crashes_the_stub_again(
        harness, procs, tmp_path):
    out = tmp_path / "out"
    proc, summary = fuzz_stub(harness, out)
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    assert summary["stateful"] is True
    findings, crashes = crash_or_hang_findings(out)
    assert len(crashes) == 1, crashes
    # The stub also keeps connections open after malformed SUBSCRIBEs: each such finding's
    # reproducer expects the close after the packet that broke the rule, on its connection,
    # so its replay fails on the stub (a stateful reproducer that replayed green proved nothing).
    kept_open = [f for f in findings if f["kind"] == "spec_accepted_malformed"]
    assert kept_open, findings
    for f in kept_open:
        assert f["replay"]["failed"] == f["replay"]["runs"] == 1, f
        assert re.search(r"expect_disconnect: \{client: raw_c\d, within: 2s\}", (out / f["scenario"]).read_text()), f
    crash = crashes[0]
    assert crash["kind"] == "crash" and "SIGABRT" in crash["detail"]
    # The fuzzer's own replay of the reproducer, on a fresh stub, crashed it again.
    assert crash["replay"]["loads"] is True, crash["replay"]
    assert crash["replay"]["failed"] == crash["replay"]["runs"] == 1, crash["replay"]

    # The reproducer is a multi-client scenario: the minimised case keeps the takeover,
    # two CONNECTs with one client id on two clients, and closes the links it opened.
    text = (out / crash["scenario"]).read_text()
    connects = re.findall(r'send_raw: \{client: (raw_c\d), hex: "10 ([0-9a-f ]+)"\}', text)
    by_client = {}
    for client, hex_body in connects:
        by_client.setdefault(bytes.fromhex(hex_body)[-8:], set()).add(client)
    assert any(len(clients) >= 2 for clients in by_client.values()), text
    assert "half_close: true" in text

    # Replayed by the runner against a fresh stub (not spawned by it): the stub aborts.
    port = free_port()
    stub = procs.start(["/usr/bin/python3", STUB, port])
    wait_for_port(port)
    replay = subprocess.run([str(harness), "run", "--broker", f"127.0.0.1:{port}", "--prefix", "none",
                             str(out / crash["scenario"])], capture_output=True, timeout=60)
    stub.wait(timeout=10)
    assert stub.returncode == -6, (stub.returncode, replay.stdout.decode()[-2000:], replay.stderr.decode()[-2000:])
    assert replay.returncode == 1, replay.stderr.decode()[-2000:]


@pytest.mark.parametrize("variant", ["fixed stub, stateful cases", "planted bug, one-connection cases"])
def test_the_same_run_finds_no_crash_without_the_bug_or_without_stateful_cases(harness, tmp_path, variant):
    stub_args, stateful = (["--fixed"], True) if variant.startswith("fixed") else ([], False)
    proc, summary = fuzz_stub(harness, tmp_path / "out", *stub_args, stateful=stateful)
    _, crashes = crash_or_hang_findings(tmp_path / "out")
    assert crashes == [], crashes
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert summary["cases"] == int(MAX_CASES) and summary["broker_starts"] == 1


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_stateful_fuzzing_of_the_embedded_broker_finds_nothing(harness, tmp_path, protocol):
    port = free_port()
    out = tmp_path / "out"
    proc, summary = run_fuzz(harness, ["--broker", f"127.0.0.1:{port}", "--duration", "10s", "--seed", SEED,
                                       "-j", "2", "--out", out, "--protocol", protocol, "--stateful",
                                       "--spawn", "--", harness, "broker", "--listen", f"127.0.0.1:{port}"],
                             timeout=120)
    findings, _ = crash_or_hang_findings(out)
    assert findings == [], findings
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert summary["cases"] > 200 and summary["probe_false_alarms"] == 0
    # The cases answered their own sentinel (the turns and closes went through).
    assert summary["sentinel_answered"] > summary["cases"] // 2, summary


def test_half_close_lets_the_broker_read_everything_then_fires_the_will(harness, embedded_broker, tmp_path):
    """disconnect {half_close: true}: FIN after the last byte. The broker reads the
    CONNECT with its will and the PINGREQ (answered), then sees end-of-stream without
    DISCONNECT, closes, and publishes the will (MQTT-3.1.2-8); the step ends at that close."""
    host, port = embedded_broker
    connect_with_will = "10 1a 00 04 4d 51 54 54 04 06 00 3c 00 02 68 63 00 05 68 63 2f 77 6c 00 03 62 79 65"
    scenario = tmp_path / "half-close.yaml"
    scenario.write_text(f"""name: half close
protocol: 3.1.1
clients:
  sub: {{}}
  raw: {{}}
steps:
  - connect: sub
  - subscribe: {{client: sub, filter: hc/wl, qos: 0}}
  - send_raw: {{client: raw, hex: "{connect_with_will} c0 00"}}
  - disconnect: {{client: raw, half_close: true}}
  - expect_packet: {{client: raw, type: PINGRESP, within: 1s}}
  - expect_packet: {{client: sub, type: PUBLISH, topic: hc/wl, payload: bye, within: 2s}}
""")
    proc = run_scenarios(harness, "--broker", f"{host}:{port}", "--prefix", "none", scenario)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
