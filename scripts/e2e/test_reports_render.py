"""Renders a generated HTML report in headless Chromium and checks the page really draws.

The report must be one self-contained file (no network), so Chromium is started with every
background-network feature off and a throw-away profile. The screenshot is decoded with a
small pure-Python PNG reader (no Pillow on the test machines) and must show many distinct
colours (text, badges, tables), not a blank page. A --dump-dom pass checks that hostile
scenario names stayed text: the page has exactly one <script> element, ours.

Skips only when Chromium is not installed (scripts/setup.sh installs it).
"""
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def report_tool() -> Path:
    path = Path(os.environ.get("MQTTH_REPORT_TOOL", REPO / "build/default/harness/report/mqtth_report_tool"))
    if not path.exists():
        pytest.fail(f"mqtth_report_tool not found at {path}; build target mqtth_report_tool or set MQTTH_REPORT_TOOL")
    return path


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    pytest.skip("chromium is not installed (scripts/setup.sh installs it)")


def decode_png(data: bytes):
    """Returns (width, height, channels, rows) for 8-bit RGB/RGBA non-interlaced PNGs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    assert width, "no IHDR"
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if ftype == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = prev[i]
                c = prev[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def run_chromium(args, tmp_path, timeout=90):
    profile = tmp_path / "chromium-profile"
    cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, start_new_session=True)


@pytest.fixture
def sample_html(tmp_path) -> Path:
    html = tmp_path / "report.html"
    subprocess.run([report_tool(), "--sample", "--html", html], check=True, timeout=60)
    return html


def test_html_report_renders_non_blank_screenshot(sample_html, tmp_path):
    shot = tmp_path / "shot.png"
    proc = run_chromium([f"--screenshot={shot}", "--window-size=1280,2000", sample_html.as_uri()], tmp_path)
    assert shot.exists(), f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr.decode()[-2000:]}"
    width, height, channels, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    colours, non_white_rows = set(), 0
    for y in range(0, height, 4):
        row = rows[y]
        pixels = {row[x:x + 3] for x in range(0, width * channels, channels * 2)}
        colours |= pixels
        if pixels - {b"\xff\xff\xff"}:
            non_white_rows += 1
    # A blank or error page has a handful of colours; the report has text in several
    # colours, coloured badges and table borders.
    assert len(colours) > 50, f"only {len(colours)} distinct colours: page looks blank"
    assert non_white_rows > 50, f"only {non_white_rows} sampled rows are not plain white"
    # The status colours are there: badge red (#cf222e) and green (#1a7f37).
    assert b"\xcf\x22\x2e" in colours and b"\x1a\x7f\x37" in colours


def test_html_report_dom_keeps_hostile_names_as_text_and_script_runs_clean(sample_html, tmp_path):
    # --enable-logging=stderr makes Chromium print console messages, including uncaught
    # script errors ("Uncaught SyntaxError ..."), to stderr.
    proc = run_chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", sample_html.as_uri()], tmp_path)
    dom = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    assert "</html>" in dom, f"no DOM dumped (exit {proc.returncode}): {err[-2000:]}"
    assert dom.count("<script") == 1, "a scenario name was parsed as markup"
    assert "alert(1)&lt;/script&gt;" in dom
    assert "Uncaught" not in err, err


def test_long_json_and_hex_wrap_inside_the_window(tmp_path):
    # Packets whose hex and decoded JSON run to thousands of characters without a space, and
    # a failure message and topic as long: the page must not grow wider than its window
    # (docs/reports.md: long JSON and hex wrap inside their cells).
    sample = tmp_path / "sample.json"
    subprocess.run([report_tool(), "--sample", "--json", sample], check=True, timeout=60)
    report = json.loads(sample.read_text())
    long_hex, long_text = "ab" * 3000, "x" * 3000
    packets = 0
    for s in report["scenarios"]:
        failure = s.get("failure") or {}
        for p in s.get("packets", []) + failure.get("last_packets", []):
            p["hex"] = long_hex
            p["decoded"] = {"type": "PUBLISH", "topic": long_text}
            packets += 1
        for d in s.get("deliveries", []):
            d["topic"] = long_text
        if failure:
            failure["message"] += " " + long_text
    assert packets >= 2
    long_json = tmp_path / "long.json"
    long_json.write_text(json.dumps(report))
    page = tmp_path / "long.html"
    subprocess.run([report_tool(), long_json, "--html", page], check=True, timeout=60)
    # The report in a 1280 px frame (the report with ordinary strings fits in it; at 800 px
    # its 12-column delivery table alone does not); every <details> opened, so collapsed
    # traces count too.
    probe = tmp_path / "probe.html"
    probe.write_text(f"""<!doctype html><html><body style="margin:0">
<iframe id="r" src="{page.name}" style="width:1280px;height:800px;border:0"></iframe>
<script>
document.getElementById("r").onload = () => {{
  const doc = document.getElementById("r").contentDocument;
  doc.querySelectorAll("details").forEach(d => d.open = true);
  const root = doc.documentElement;
  document.body.setAttribute("data-widths", root.scrollWidth + " " + root.clientWidth);
}};
</script></body></html>""")
    proc = run_chromium(["--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                        tmp_path)
    dom = proc.stdout.decode("utf-8", "replace")
    m = re.search(r'data-widths="(\d+) (\d+)"', dom)
    assert m, f"the probe measured nothing (exit {proc.returncode}): {proc.stderr.decode()[-2000:]}"
    scroll_width, window_width = map(int, m.groups())
    assert window_width <= 1280
    assert scroll_width <= window_width, f"the page is {scroll_width} px wide in a {window_width} px window"
