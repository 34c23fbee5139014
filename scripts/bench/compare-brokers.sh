#!/usr/bin/env bash
# Same loads against the embedded broker (`mqtt-harness broker`, a child of the bench) and
# Debian's mosquitto, side by side in one run; plus the libmosquitto reference client
# doing the 1 -> 1 load against mosquitto next to `mqtt-harness bench` (is the harness the
# bottleneck?). Writes reports/out/bench/compare.md and compare.json. docs/bench.md.
#
#   scripts/bench/compare-brokers.sh [MESSAGES]      (default 20000 per load)
# Env: MQTT_HARNESS (binary; default build/default/harness/cli/mqtt-harness),
#      BENCH_RATES (open-loop rates for the p99 comparison, default "1000 10000"),
#      BENCH_RATE_DURATION (seconds per open-loop run, default 5).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
HARNESS="${MQTT_HARNESS:-$REPO/build/default/harness/cli/mqtt-harness}"
MESSAGES="${1:-20000}"
RATES="${BENCH_RATES:-1000 10000}"
RATE_DURATION="${BENCH_RATE_DURATION:-5}"
OUT="$REPO/reports/out/bench"
PY=/usr/bin/python3
[ -x "$HARNESS" ] || { echo "mqtt-harness not found at $HARNESS (set MQTT_HARNESS)" >&2; exit 2; }
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { echo "mosquitto not installed" >&2; exit 2; }
mkdir -p "$OUT/runs"
WORK="$(mktemp -d)"
MOSQ_PID=""
cleanup() {
  if [ -n "$MOSQ_PID" ]; then kill "$MOSQ_PID" 2>/dev/null || true; wait "$MOSQ_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# libmosquitto reference client, built here (not by CMake).
cc -O2 -o "$WORK/mosq_bench" "$REPO/scripts/bench/libmosquitto-client/mosq_bench.c" -lmosquitto -lpthread

# mosquitto on a free loopback port.
PORT="$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$PORT" > "$WORK/mosquitto.conf"
"$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$WORK/mosquitto.conf" 2>"$WORK/mosquitto.log" &
MOSQ_PID=$!
for _ in $(seq 100); do
  $PY -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break
  sleep 0.1
done
MOSQ_VERSION="$(mosquitto -h 2>/dev/null | head -1 || true)"

run() {  # name broker-args... -- bench-args...
  local name="$1"; shift
  echo "== $name" >&2
  "$HARNESS" bench --quiet "$@" --json "$OUT/runs/$name.json" >"$OUT/runs/$name.txt" 2>&1 || echo "   (exit $?)" >&2
}

for qos in 0 1 2; do
  for shape in "1 1" "4 4"; do
    set -- $shape
    tag="q${qos}-${1}to${2}"
    run "embedded-$tag" --publishers "$1" --subscribers "$2" --qos "$qos" --payload 64 --messages "$MESSAGES"
    run "mosquitto-$tag" --broker "127.0.0.1:$PORT" --publishers "$1" --subscribers "$2" --qos "$qos" --payload 64 --messages "$MESSAGES"
  done
  echo "== libmosquitto-q$qos-1to1" >&2
  timeout 120 "$WORK/mosq_bench" 127.0.0.1 "$PORT" "$qos" "$MESSAGES" 64 100 >"$OUT/runs/libmosquitto-q${qos}-1to1.json" || true
  for rate in $RATES; do
    run "embedded-q${qos}-rate${rate}" --qos "$qos" --payload 64 --rate "$rate" --duration "$RATE_DURATION"
    run "mosquitto-q${qos}-rate${rate}" --broker "127.0.0.1:$PORT" --qos "$qos" --payload 64 --rate "$rate" --duration "$RATE_DURATION"
  done
done

LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
$PY - "$OUT" "$MESSAGES" "$RATES" "$LOAD" "$MOSQ_VERSION" <<'PYEOF'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1]); messages = sys.argv[2]; rates = sys.argv[3].split(); load = sys.argv[4]
runs = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json") if p.stat().st_size}
def get(name):
    return runs.get(name)
def tput(r): return r["throughput"]["received_per_s"] if r else None
def p99(r): return r["latency"]["p99"] / 1e6 if r else None
def held(r): return r is not None and r.get("passed", False)
def ratio(a, b): return a / b if a and b else None
def f(v, d=0): return "n/a" if v is None else f"{v:,.{d}f}"
rows, md = [], []
md.append(f"# Embedded broker vs mosquitto\n\n{messages} messages per closed-loop load (window 100), 64-byte payload, MQTT 5, "
          f"loopback. Load average at the end: {load} (2 cores, shared): figures are indicative; compare the ratios, "
          f"measured side by side in one run. mosquitto: {sys.argv[5]}\n")
md.append("| load | embedded msg/s | mosquitto msg/s | ratio msg/s | embedded p99 ms | mosquitto p99 ms | ratio p99 | ledger |")
md.append("|---|---:|---:|---:|---:|---:|---:|---|")
for qos in "012":
    for shape in ("1to1", "4to4"):
        e, m = get(f"embedded-q{qos}-{shape}"), get(f"mosquitto-q{qos}-{shape}")
        row = dict(load=f"QoS {qos} {shape.replace('to', ' -> ')}", embedded_msgs_per_s=tput(e), mosquitto_msgs_per_s=tput(m),
                   ratio_msgs_per_s=ratio(tput(e), tput(m)), embedded_p99_ms=p99(e), mosquitto_p99_ms=p99(m),
                   ratio_p99=ratio(p99(e), p99(m)), embedded_held=held(e), mosquitto_held=held(m))
        rows.append(row)
        md.append(f"| {row['load']} | {f(row['embedded_msgs_per_s'])} | {f(row['mosquitto_msgs_per_s'])} | {f(row['ratio_msgs_per_s'], 2)} | "
                  f"{f(row['embedded_p99_ms'], 3)} | {f(row['mosquitto_p99_ms'], 3)} | {f(row['ratio_p99'], 2)} | "
                  f"{'held' if row['embedded_held'] else 'FAIL'} / {'held' if row['mosquitto_held'] else 'FAIL'} |")
md.append("\n## p99 at fixed rates (open loop, 1 -> 1, latency from the intended send time)\n")
md.append("| load | embedded p99 ms | mosquitto p99 ms | ratio p99 | ledger |")
md.append("|---|---:|---:|---:|---|")
for qos in "012":
    for rate in rates:
        e, m = get(f"embedded-q{qos}-rate{rate}"), get(f"mosquitto-q{qos}-rate{rate}")
        row = dict(load=f"QoS {qos} at {rate}/s", embedded_p99_ms=p99(e), mosquitto_p99_ms=p99(m),
                   ratio_p99=ratio(p99(e), p99(m)), embedded_held=held(e), mosquitto_held=held(m))
        rows.append(row)
        md.append(f"| {row['load']} | {f(row['embedded_p99_ms'], 3)} | {f(row['mosquitto_p99_ms'], 3)} | {f(row['ratio_p99'], 2)} | "
                  f"{'held' if row['embedded_held'] else 'FAIL'} / {'held' if row['mosquitto_held'] else 'FAIL'} |")
md.append("\n## Is the harness the bottleneck? 1 -> 1 against mosquitto, same load\n")
md.append("| QoS | mqtt-harness bench msg/s | libmosquitto client msg/s | ratio harness/libmosquitto | harness p99 ms | libmosquitto p99 ms |")
md.append("|---|---:|---:|---:|---:|---:|")
for qos in "012":
    h = get(f"mosquitto-q{qos}-1to1"); l = get(f"libmosquitto-q{qos}-1to1")
    lt = l["received_per_s"] if l else None; lp = l["latency"]["p99"] / 1e6 if l else None
    row = dict(load=f"harness vs libmosquitto QoS {qos}", harness_msgs_per_s=tput(h), libmosquitto_msgs_per_s=lt,
               ratio=ratio(tput(h), lt), harness_p99_ms=p99(h), libmosquitto_p99_ms=lp)
    rows.append(row)
    md.append(f"| {qos} | {f(tput(h))} | {f(lt)} | {f(row['ratio'], 2)} | {f(p99(h), 3)} | {f(lp, 3)} |")
(out / "compare.md").write_text("\n".join(md) + "\n")
(out / "compare.json").write_text(json.dumps({"messages": int(messages), "load_average": load, "rows": rows}, indent=2) + "\n")
print("\n".join(md))
PYEOF
