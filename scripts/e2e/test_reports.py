"""Report formats end to end: JUnit XML validated against harness/report/junit-10.xsd with
xmllint, its structure read back with ElementTree, and the JSON report's keys.

Uses the test-only tool mqtth_report_tool (target in harness/report), which writes the
hand-built sample report or re-writes a JSON report given to it; when the mqtt-harness
binary and its `run` command are available, the reports of a real run are checked too.
"""
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
XSD = REPO / "harness/report/junit-10.xsd"
DESIGN_SUMMARY_KEYS = ["passed", "failed", "skipped", "errors", "duration_ms"]
DESIGN_SCENARIO_KEYS = ["name", "file", "protocol", "status", "duration_ms", "spec", "deliveries"]
DESIGN_DELIVERY_KEYS = ["publisher", "subscriber", "topic", "qos", "guarantee", "sent", "delivered",
                        "lost", "duplicated", "reordered", "verdict"]


def report_tool() -> Path:
    path = Path(os.environ.get("MQTTH_REPORT_TOOL", REPO / "build/default/harness/report/mqtth_report_tool"))
    if not path.exists():
        pytest.fail(f"mqtth_report_tool not found at {path}; build target mqtth_report_tool or set MQTTH_REPORT_TOOL")
    return path


def xmllint() -> str:
    exe = shutil.which("xmllint")
    if not exe:
        pytest.fail("xmllint is not installed (Debian libxml2-utils; scripts/setup.sh installs it)")
    return exe


def validate_junit(path: Path) -> None:
    proc = subprocess.run([xmllint(), "--noout", "--schema", XSD, path], capture_output=True, timeout=60)
    assert proc.returncode == 0, f"{path} does not validate against {XSD}:\n{proc.stderr.decode()}"


def check_json_keys(report: dict) -> None:
    for key in DESIGN_SUMMARY_KEYS:
        assert isinstance(report["summary"][key], int), key
    for scenario in report["scenarios"]:
        for key in DESIGN_SCENARIO_KEYS:
            assert key in scenario, key
        assert scenario["status"] in ("passed", "failed", "skipped", "error")
        assert scenario["protocol"] in ("3.1.1", "5")
        if scenario["status"] in ("failed", "error"):
            assert {"step", "line", "message", "statement", "last_packets"} <= set(scenario["failure"])
            # One primary statement, or none with the reason.
            failure = scenario["failure"]
            assert failure["statement"] or failure["no_statement"]
        for delivery in scenario["deliveries"]:
            assert list(delivery)[:len(DESIGN_DELIVERY_KEYS)] == DESIGN_DELIVERY_KEYS
            assert delivery["verdict"] in ("held", "violated")
            assert delivery["guarantee"] in ("at_most_once", "at_least_once", "exactly_once")


@pytest.fixture
def sample(tmp_path):
    out = {"junit": tmp_path / "junit.xml", "json": tmp_path / "report.json", "html": tmp_path / "report.html"}
    subprocess.run([report_tool(), "--sample", "--junit", out["junit"], "--json", out["json"], "--html", out["html"]],
                   check=True, timeout=60)
    return out


def test_sample_junit_validates_against_xsd(sample):
    validate_junit(sample["junit"])


def test_xsd_rejects_a_broken_document(sample, tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text(sample["junit"].read_text().replace('tests="305"', 'tests="four"', 1))
    proc = subprocess.run([xmllint(), "--noout", "--schema", XSD, broken], capture_output=True, timeout=60)
    assert proc.returncode != 0


def test_sample_junit_structure(sample):
    root = ET.parse(sample["junit"]).getroot()
    assert root.tag == "testsuites"
    # 4 scenario runs and one testcase per broker-observable statement of 3.1.1 (101) and
    # 5.0 (200); failures: the failed scenario and the statement it violated.
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("305", "2", "1")
    statement_suites = [s for s in root.findall("testsuite") if s.get("name").startswith("statements MQTT ")]
    assert [s.get("name") for s in statement_suites] == ["statements MQTT 3.1.1", "statements MQTT 5"]
    assert [len(s.findall("testcase")) for s in statement_suites] == [101, 200]
    violated = [c for c in statement_suites[1].findall("testcase") if c.find("failure") is not None]
    assert [c.find("failure").get("type") for c in violated] == ["MQTT-4.3.3-10"]
    cases = [c for s in root.findall("testsuite") if s not in statement_suites for c in s.findall("testcase")]
    assert len(cases) == 4
    by_name = {c.get("name"): c for c in cases}
    nasty = "QoS <2> & \"exactly\" 'once' </script><script>alert(1)</script>"
    assert nasty in by_name, "escaped name must read back exactly"
    assert by_name[nasty].get("classname") == "scenarios/qos/qos2 & <cut>.yaml / 5"
    failure = by_name[nasty].find("failure")
    assert failure.get("message") == 'expect_delivery: 2 lost <exactly_once> & "violated"'
    assert failure.get("type") == "MQTT-4.3.3-10"
    assert by_name["shared subscriptions"].find("skipped").get("message") == \
        "broker does not support <shared> subscriptions"
    assert by_name["broken scenario"].find("error") is not None
    assert by_name["QoS 1 at least once"].find("failure") is None
    # testsuite per file: qos1.yaml holds two scenarios.
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert suites["scenarios/qos/qos1.yaml"].get("tests") == "2"


def test_sample_json_has_design_keys_and_round_trips(sample, tmp_path):
    report = json.loads(sample["json"].read_text())
    check_json_keys(report)
    assert report["summary"] == {"passed": 1, "failed": 1, "skipped": 1, "errors": 1, "duration_ms": 1234,
                                 "known_deviations": 0}
    # Statement verdicts: 3.1.1's 4.3.2-1 and 4.6.0-6 held (the passed scenario cites them);
    # 5.0's 4.3.3-10 violated (the failure's statement); everything else not checked.
    rows = {(r["version"], r["id"]): r for r in report["statements"]}
    assert len(rows) == 101 + 200
    assert rows[("3.1.1", "MQTT-4.3.2-1")]["verdict"] == "held"
    assert rows[("5", "MQTT-4.3.3-10")]["verdict"] == "violated"
    assert rows[("5", "MQTT-4.3.3-10")]["evidence"]["step"] == 3
    assert rows[("5", "MQTT-4.3.3-1")]["verdict"] == "not_checked"
    assert sum(r["verdict"] != "not_checked" for r in rows.values()) == 3
    assert report["coverage"]["5"]["covered"] == 1
    again = tmp_path / "again.json"
    subprocess.run([report_tool(), sample["json"], "--json", again], check=True, timeout=60)
    assert json.loads(again.read_text()) == report


def test_bad_json_report_is_rejected_naming_the_key(tmp_path, sample):
    report = json.loads(sample["json"].read_text())
    report["scenarios"][1]["deliveries"][0]["verdict"] = "maybe"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(report))
    proc = subprocess.run([report_tool(), bad, "--junit", tmp_path / "x.xml"], capture_output=True, timeout=60)
    assert proc.returncode == 2
    assert "scenarios[1].deliveries[0].verdict" in proc.stderr.decode()


def harness_with_run():
    path = Path(os.environ.get("MQTT_HARNESS", REPO / "build/default/harness/cli/mqtt-harness"))
    if not path.exists():
        return None
    proc = subprocess.run([path, "--help"], capture_output=True, timeout=30)
    return path if b"run" in proc.stdout + proc.stderr else None


def test_real_run_reports_validate(tmp_path):
    harness = harness_with_run()
    scenarios = REPO / "scenarios"
    if harness is None or not any(scenarios.rglob("*.yaml")):
        pytest.skip("mqtt-harness with `run` or the scenario suite is not built yet")
    first = sorted(scenarios.rglob("*.yaml"))[0]
    junit, js, html = tmp_path / "j.xml", tmp_path / "r.json", tmp_path / "r.html"
    proc = subprocess.run([harness, "run", first, "--junit", junit, "--json", js, "--html", html],
                          capture_output=True, timeout=300, start_new_session=True)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    validate_junit(junit)
    check_json_keys(json.loads(js.read_text()))
    assert html.read_text().startswith("<!DOCTYPE html>")
