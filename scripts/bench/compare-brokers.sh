#!/usr/bin/env bash
# Same loads against the embedded broker (`mqtt-harness broker`) and Debian's mosquitto,
# side by side in one run, plus the libmosquitto reference client doing the 1 -> 1 load
# against mosquitto next to `mqtt-harness bench` (is the harness the bottleneck?).
# Writes reports/out/bench/compare.md and compare.json, every run's output in runs/.
# docs/bench.md explains the sections.
#
#   scripts/bench/compare-brokers.sh [MESSAGES]      (default 20000 per closed-loop load)
# Env: MQTT_HARNESS (binary; default build/default/harness/cli/mqtt-harness),
#      BENCH_RATES (open-loop rates for the p99 comparison, default "1000 10000"),
#      BENCH_RATE_DURATION (seconds per open-loop run, default 3),
#      BENCH_RATE_REPEAT (embedded/mosquitto pairs per rate and QoS, median p99 taken; default 3),
#      BENCH_REPEAT (harness/libmosquitto pairs per QoS, median taken; default 3),
#      BENCH_CLOSED_REPEAT (embedded/mosquitto pairs per closed-loop load in sections 1-2,
#                           medians taken; default 3),
#      BENCH_MOSQ_NODELAY (1: mosquitto with set_tcp_nodelay true, like the embedded broker;
#                          default 0: Debian's defaults, Nagle on),
#      BENCH_PIN (1: brokers on CPU 1, load generators on CPU 0 when there are >= 2 CPUs;
#                 0: no pinning; default 1),
#      BENCH_RT (1: during section 4 the brokers and the load generator run SCHED_FIFO
#                priority 1 (chrt), so that a loaded machine's run queue does not decide the
#                p99; needs root or CAP_SYS_NICE, falls back to normal scheduling; 0: never;
#                default auto: 1 when the 1-min load average at the start of section 4 is
#                at least the number of CPUs, else 0 -- on an idle machine RT buys nothing
#                and at 10,000 msg/s the harness can hit the kernel's RT throttling),
#      BENCH_SECTIONS (which of the 4 sections to run, default "1 2 3 4"; e.g. "4" for the
#                      fixed-rate p99 comparison alone),
#      BENCH_KEEP_AWAKE (1: during section 4 one SCHED_IDLE busy loop per CPU keeps the
#                        virtual CPUs from halting between messages, so a VM's wake-up
#                        latency (1-2 ms at p99 here) does not decide the p99; the loops
#                        run only when nothing else wants the CPU; default 0).
# With the defaults the whole script takes about 3-4 minutes on an idle 2-core machine;
# every run is bounded by `timeout`, so a stuck run costs at most its bound.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
HARNESS="${MQTT_HARNESS:-$REPO/build/default/harness/cli/mqtt-harness}"
MESSAGES="${1:-20000}"
RATES="${BENCH_RATES:-1000 10000}"
RATE_DURATION="${BENCH_RATE_DURATION:-3}"
RATE_REPEAT="${BENCH_RATE_REPEAT:-3}"
MOSQ_NODELAY="${BENCH_MOSQ_NODELAY:-0}"
REPEAT="${BENCH_REPEAT:-3}"
CLOSED_REPEAT="${BENCH_CLOSED_REPEAT:-3}"
PIN="${BENCH_PIN:-1}"
RT="${BENCH_RT:-auto}"
SECTIONS=" ${BENCH_SECTIONS:-1 2 3 4} "
section() { [[ "$SECTIONS" == *" $1 "* ]]; }
OUT="$REPO/reports/out/bench"
PY=/usr/bin/python3
[ -x "$HARNESS" ] || { echo "mqtt-harness not found at $HARNESS (set MQTT_HARNESS)" >&2; exit 2; }
MOSQUITTO="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
[ -x "$MOSQUITTO" ] || { echo "mosquitto not installed" >&2; exit 2; }
rm -rf "$OUT/runs"
mkdir -p "$OUT/runs"
WORK="$(mktemp -d)"
MOSQ_PID="" EMB_PID="" AWAKE_PIDS=""
cleanup() {
  for pid in $MOSQ_PID $EMB_PID $AWAKE_PIDS; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
T0=$(date +%s)
log() { printf '[%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }

# Brokers on one CPU, load generators on the other: both brokers get the same treatment,
# and neither competes with its own client for a core.
BROKER_PIN=() CLIENT_PIN=() PINNING="none"
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  BROKER_PIN=(taskset -c 1) CLIENT_PIN=(taskset -c 0) PINNING="brokers on CPU 1, load generators on CPU 0"
fi

# libmosquitto reference client, built here (not by CMake).
cc -O2 -o "$WORK/mosq_bench" "$REPO/scripts/bench/libmosquitto-client/mosq_bench.c" -lmosquitto -lpthread

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    $PY -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on 127.0.0.1:$1" >&2; exit 2
}

# Debian's mosquitto with its defaults (max_inflight_messages 20, Nagle on), loopback only.
MOSQ_PORT="$(free_port)"
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MOSQ_PORT" > "$WORK/mosquitto.conf"
MOSQ_CONFIG="Debian defaults: max_inflight_messages 20, Nagle on"
if [ "$MOSQ_NODELAY" = 1 ]; then echo 'set_tcp_nodelay true' >> "$WORK/mosquitto.conf"; MOSQ_CONFIG="set_tcp_nodelay true"; fi
"${BROKER_PIN[@]}" "$MOSQUITTO" -c "$WORK/mosquitto.conf" 2>"$WORK/mosquitto.log" &
MOSQ_PID=$!
wait_port "$MOSQ_PORT"
# The embedded broker, a long-running process exactly like mosquitto.
"${BROKER_PIN[@]}" "$HARNESS" broker --listen 127.0.0.1:0 >"$WORK/embedded.out" 2>"$WORK/embedded.log" &
EMB_PID=$!
for _ in $(seq 100); do grep -q 'listening on' "$WORK/embedded.out" 2>/dev/null && break; sleep 0.1; done
EMB_PORT="$(sed -n 's/.*listening on .*:\([0-9]*\).*/\1/p' "$WORK/embedded.out" | head -1)"
[ -n "$EMB_PORT" ] || { echo "embedded broker did not start: $(cat "$WORK/embedded.log")" >&2; exit 2; }
MOSQ_VERSION="$("$MOSQUITTO" -h 2>/dev/null | head -1 || true)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
log "mosquitto on :$MOSQ_PORT, embedded broker on :$EMB_PORT; pinning: $PINNING; load $LOAD_BEFORE"

# Real-time priority for the fixed-rate section only (it is light: at most 10,000 msg/s):
# on a machine whose run queue is 3-10 deep, a woken broker or sender otherwise waits
# milliseconds for a CPU and the p99 measures the queue, not the broker. Both brokers get
# the same treatment; SCHED_FIFO 1 is the lowest RT priority, and the kernel's RT
# throttling still leaves other tasks 5% of each CPU.
CLIENT_RT=() SCHEDULING="normal (SCHED_OTHER)"
rt_on() {
  local want="$RT"
  if [ "$want" = auto ]; then
    want="$(awk -v n="$(nproc)" '{ print ($1 >= n) ? 1 : 0 }' /proc/loadavg)"
    SCHEDULING="normal (SCHED_OTHER; BENCH_RT=auto and load average $(cut -d' ' -f1 /proc/loadavg) < $(nproc) CPUs)"
  fi
  [ "$want" = 1 ] && command -v chrt >/dev/null || return 0
  if chrt -a -f -p 1 "$MOSQ_PID" >/dev/null 2>&1 && chrt -a -f -p 1 "$EMB_PID" >/dev/null 2>&1; then
    CLIENT_RT=(chrt -f 1) SCHEDULING="SCHED_FIFO 1 (chrt) for both brokers and the load generator (BENCH_RT=$RT, load average $(cut -d' ' -f1 /proc/loadavg))"
  else
    rt_off; log "BENCH_RT: chrt not permitted, normal scheduling"
  fi
}
keep_awake_on() {
  [ "${BENCH_KEEP_AWAKE:-0}" = 1 ] || return 0
  local cpu
  for cpu in $(seq 0 $(( $(nproc) - 1 ))); do
    taskset -c "$cpu" chrt -i 0 sh -c 'while :; do :; done' &
    AWAKE_PIDS="$AWAKE_PIDS $!"
  done
  SCHEDULING="$SCHEDULING; one SCHED_IDLE busy loop per CPU (BENCH_KEEP_AWAKE=1)"
}
keep_awake_off() {
  local pid
  for pid in $AWAKE_PIDS; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  AWAKE_PIDS=""
}
rt_off() {
  chrt -a -o -p 0 "$MOSQ_PID" >/dev/null 2>&1 || true
  chrt -a -o -p 0 "$EMB_PID" >/dev/null 2>&1 || true
  CLIENT_RT=()
}

declare -A PORT_OF=([embedded]="$EMB_PORT" [mosquitto]="$MOSQ_PORT")
declare -A PID_OF=([embedded]="$EMB_PID" [mosquitto]="$MOSQ_PID")
broker_cpu_ticks() {  # utime + stime of a broker, in clock ticks (fields 14, 15 of /proc/PID/stat)
  sed 's/^.*) //' "/proc/${PID_OF[$1]}/stat" | awk '{ print $12 + $13 }'
}
FAILED_RUNS=0
summary() {  # one progress line from a bench's text output
  sed -n -e 's/^sent .*received \([0-9]*\) of \([0-9]*\) expected (\([0-9]*\) msg\/s).*/recv \1\/\2, \3 msg\/s/p' \
         -e 's/^latency ms:.*p99 \([0-9.]*\).*/p99 \1 ms/p' -e 's/^\(PASS\|FAIL\)$/\1/p' "$1" | paste -sd' '
}
bench() {  # name broker bound-seconds bench-args...
  local name="$1" broker="$2" bound="$3"; shift 3
  local rc=0 cpu_before
  cut -d' ' -f1 /proc/loadavg >"$OUT/runs/$name.load"  # 1-min load average next to every figure
  cpu_before="$(broker_cpu_ticks "$broker")"
  timeout "$bound" "${CLIENT_RT[@]}" "${CLIENT_PIN[@]}" "$HARNESS" bench --quiet --broker "127.0.0.1:${PORT_OF[$broker]}" "$@" \
    --json "$OUT/runs/$name.json" >"$OUT/runs/$name.txt" 2>&1 || rc=$?
  # The broker's own CPU time during the run (user+system, all threads): a cost per message
  # that does not depend on how much CPU the rest of the machine left it.
  echo "$(( $(broker_cpu_ticks "$broker") - cpu_before )) $(getconf CLK_TCK)" >"$OUT/runs/$name.brokercpu"
  [ "$rc" = 0 ] || FAILED_RUNS=$((FAILED_RUNS + 1))
  log "$name: $(summary "$OUT/runs/$name.txt")$([ "$rc" = 0 ] || echo " (exit $rc)")"
}
libmosquitto() {  # name qos payload
  local rc=0
  cut -d' ' -f1 /proc/loadavg >"$OUT/runs/$1.load"
  timeout 120 "${CLIENT_PIN[@]}" "$WORK/mosq_bench" 127.0.0.1 "$MOSQ_PORT" "$2" "$MESSAGES" "$3" 100 \
    >"$OUT/runs/$1.json" 2>"$OUT/runs/$1.txt" || rc=$?
  [ "$rc" = 0 ] || FAILED_RUNS=$((FAILED_RUNS + 1))
  log "$1: $(grep -o '"received_per_s": [0-9.]*' "$OUT/runs/$1.json" 2>/dev/null || true)$([ "$rc" = 0 ] || echo " (exit $rc)")"
}
pair() {  # tag bound bench-args...: embedded and mosquitto back to back, order alternating
  local tag="$1" bound="$2"; shift 2
  PAIR_N=$(( ${PAIR_N:-0} + 1 ))
  if [ $((PAIR_N % 2)) = 1 ]; then
    bench "embedded-$tag" embedded "$bound" "$@"; bench "mosquitto-$tag" mosquitto "$bound" "$@"
  else
    bench "mosquitto-$tag" mosquitto "$bound" "$@"; bench "embedded-$tag" embedded "$bound" "$@"
  fi
}

section 1 && log "1/4 closed loop, 64-byte payload, 1 -> 1 and 4 -> 4, $MESSAGES messages each, $CLOSED_REPEAT pairs each"
section 1 && for rep in $(seq "$CLOSED_REPEAT"); do
  for qos in 0 1 2; do
    for shape in "1 1" "4 4"; do
      set -- $shape
      pair "q${qos}-${1}to${2}-r$rep" 180 --publishers "$1" --subscribers "$2" --qos "$qos" --payload 64 --messages "$MESSAGES"
    done
  done
done
section 2 && log "2/4 targets: closed loop 1 -> 1, 16-byte payload, $CLOSED_REPEAT pairs each"
section 2 && for rep in $(seq "$CLOSED_REPEAT"); do
  for qos in 0 1 2; do
    pair "q${qos}-1to1-p16-r$rep" 180 --qos "$qos" --payload 16 --messages "$MESSAGES"
  done
done
section 3 && log "3/4 harness vs libmosquitto against mosquitto, 1 -> 1, 64-byte payload, window 100, $REPEAT pairs each"
section 3 && for qos in 0 1 2; do
  for rep in $(seq "$REPEAT"); do
    if [ $((rep % 2)) = 1 ]; then
      bench "harness-q${qos}-r$rep" mosquitto 180 --qos "$qos" --payload 64 --messages "$MESSAGES" --window 100
      libmosquitto "libmosquitto-q${qos}-r$rep" "$qos" 64
    else
      libmosquitto "libmosquitto-q${qos}-r$rep" "$qos" 64
      bench "harness-q${qos}-r$rep" mosquitto 180 --qos "$qos" --payload 64 --messages "$MESSAGES" --window 100
    fi
  done
done
section 4 && rt_on
section 4 && keep_awake_on
# Open loop, `mqtt-harness bench` runs its subscribers on a thread of their own: let the
# load generator use every CPU (its receiver shares the brokers' CPU, the same for both).
if section 4 && [ ${#CLIENT_PIN[@]} -gt 0 ]; then
  CLIENT_PIN=() PINNING="$PINNING (section 4: load generator on any CPU, its receiver thread next to the broker)"
fi
section 4 && log "4/4 open loop 1 -> 1, 64-byte payload, ${RATE_DURATION} s at each of: $RATES msg/s, $RATE_REPEAT pairs each; scheduling: $SCHEDULING"
section 4 && for rep in $(seq "$RATE_REPEAT"); do
  for qos in 0 1 2; do
    for rate in $RATES; do
      pair "q${qos}-rate${rate}-r$rep" $((RATE_DURATION + 60)) --qos "$qos" --payload 64 --rate "$rate" --duration "$RATE_DURATION"
    done
  done
done
section 4 && keep_awake_off
section 4 && rt_off

LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
ELAPSED=$(( $(date +%s) - T0 ))
MACHINE="$(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-unknown OS}"), $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1))"
$PY - "$OUT" "$MESSAGES" "$RATES" "$RATE_DURATION" "$REPEAT" "$LOAD_BEFORE" "$LOAD_AFTER" "$MOSQ_VERSION, config: $MOSQ_CONFIG" \
      "$PINNING" "$MACHINE" "$ELAPSED" "$FAILED_RUNS" "$RATE_REPEAT" "$SECTIONS" "$SCHEDULING" "$CLOSED_REPEAT" <<'PYEOF'
import datetime, json, pathlib, statistics, sys
(out, messages, rates, rate_duration, repeat, load_before, load_after, mosq_version, pinning,
 machine, elapsed, failed_runs, rate_repeat, sections, scheduling, closed_repeat) = sys.argv[1:]
closed_repeat = int(closed_repeat)
sections = sections.split()
out = pathlib.Path(out); rates = rates.split(); repeat = int(repeat); rate_repeat = int(rate_repeat)
runs = {}
for p in (out / "runs").glob("*.json"):
    try:
        runs[p.stem] = json.loads(p.read_text())
    except (ValueError, OSError):
        pass  # an empty or cut-off file: the run counts as missing (n/a)
def tput(r):
    if not r: return None
    return r["throughput"]["received_per_s"] if "throughput" in r else r.get("received_per_s")
def p99(r):
    return r["latency"]["p99"] / 1e6 if r and r.get("latency", {}).get("p99") else None
def held(r):
    if r is None: return None
    if "passed" in r: return bool(r["passed"])
    return r.get("received") == r.get("sent") and not r.get("loop_error")  # libmosquitto
def ratio(a, b): return a / b if a and b else None
def f(v, d=0): return "n/a" if v is None else f"{v:,.{d}f}"
def verdict(v): return "n/a" if v is None else ("held" if v else "FAIL")
def cpu_us_per_msg(r):
    """CPU time of the load generator per delivered message, in microseconds."""
    if not r: return None
    cpu = r["cpu"]["harness_user_s"] + r["cpu"]["harness_system_s"] if "cpu" in r else r.get("cpu_s")
    got = r["messages"]["received"] if "messages" in r else r.get("received")
    return cpu / got * 1e6 if cpu is not None and got else None
def load_of(name):
    """1-min load average read just before the run (None when the run did not happen)."""
    try:
        return float((out / "runs" / f"{name}.load").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
def load_range(names):
    loads = [l for l in (load_of(n) for n in names) if l is not None]
    if not loads: return "n/a"
    return f"{min(loads):.1f}" if min(loads) == max(loads) else f"{min(loads):.1f}-{max(loads):.1f}"
def late_p99_us(r):
    """Open loop: p99 of how late the bench's sender got to its sends (µs)."""
    s = r.get("sender") if r else None
    return s["lateness"]["p99"] / 1e3 if s and s.get("lateness", {}).get("count") else None
def broker_us_per_msg(name):
    """Broker CPU time (user+system) during the run per delivered message, µs."""
    r = runs.get(name)
    try:
        ticks, hz = (out / "runs" / f"{name}.brokercpu").read_text().split()
    except (OSError, ValueError):
        return None
    got = r["messages"]["received"] if r else None
    return int(ticks) / int(hz) / got * 1e6 if got else None
def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None

now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
doc = {"date": now, "machine": machine, "mosquitto": mosq_version, "pinning": pinning,
       "load_average_before": load_before, "load_average_after": load_after,
       "messages_per_closed_loop_run": int(messages), "rate_duration_s": float(rate_duration),
       "elapsed_s": int(elapsed), "failed_runs": int(failed_runs), "sections": sections, "fixed_rate_scheduling": scheduling,
       "closed_loop": [], "targets": [], "harness_vs_libmosquitto": [], "fixed_rate": []}
md = [f"# Embedded broker vs mosquitto ({now})\n",
      "Machine: " + machine + f"; load average (1/5/15 min) {load_before} at the start, {load_after} at the end; "
      f"CPU pinning: {pinning}. {mosq_version}. MQTT 5, loopback, every run driven by "
      f"`mqtt-harness bench` unless marked libmosquitto. Both brokers ran for the whole script; the runs of "
      f"a pair ran back to back (order alternating), so compare the ratios. Script time {elapsed} s; "
      f"runs that exited non-zero: {failed_runs}.\n"]

def pair_row(section, label, tag):
    """Medians over the closed_repeat pairs of one load."""
    en = [f"embedded-{tag}-r{i}" for i in range(1, closed_repeat + 1)]
    mn = [f"mosquitto-{tag}-r{i}" for i in range(1, closed_repeat + 1)]
    es, ms = [runs.get(n) for n in en], [runs.get(n) for n in mn]
    et, mt = median([tput(r) for r in es]), median([tput(r) for r in ms])
    e99, m99 = median([p99(r) for r in es]), median([p99(r) for r in ms])
    row = dict(load=label, load_average=load_range(en + mn), embedded_msgs_per_s=et, mosquitto_msgs_per_s=mt,
               ratio_msgs_per_s=ratio(et, mt), embedded_p99_ms=e99, mosquitto_p99_ms=m99,
               ratio_p99=ratio(e99, m99),
               ratio_msgs_per_s_per_pair=[ratio(tput(a), tput(b)) for a, b in zip(es, ms)],
               embedded_runs_msgs_per_s=[tput(r) for r in es], mosquitto_runs_msgs_per_s=[tput(r) for r in ms],
               embedded_held=None if all(r is None for r in es) else all(held(r) for r in es),
               mosquitto_held=None if all(r is None for r in ms) else all(held(r) for r in ms),
               embedded_broker_cpu_us_per_msg=median([broker_us_per_msg(n) for n in en]),
               mosquitto_broker_cpu_us_per_msg=median([broker_us_per_msg(n) for n in mn]))
    doc[section].append(row)
    return row

mark = len(md)
md.append(f"## Throughput, closed loop (window 100), 64-byte payload, {int(messages):,} messages per run, "
          f"median of {closed_repeat} interleaved pairs\n")
md.append("| load | embedded msg/s | mosquitto msg/s | ratio msg/s | embedded p99 ms | mosquitto p99 ms | ratio p99 | "
          "broker CPU µs/msg (emb / mosq) | ratio msg/s per pair | ledger | load avg |")
md.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
def closed_loop_tail(r):
    """The cells every closed-loop row ends with: broker CPU, per-pair ratios, ledger, load."""
    return (f"{f(r['embedded_broker_cpu_us_per_msg'], 1)} / {f(r['mosquitto_broker_cpu_us_per_msg'], 1)} | "
            f"{' '.join(f(x, 2) for x in r['ratio_msgs_per_s_per_pair'])} | "
            f"{verdict(r['embedded_held'])} / {verdict(r['mosquitto_held'])} | {r['load_average']} |")

for qos in "012":
    for shape in ("1to1", "4to4"):
        r = pair_row("closed_loop", f"QoS {qos} {shape.replace('to', ' -> ')}", f"q{qos}-{shape}")
        md.append(f"| {r['load']} | {f(r['embedded_msgs_per_s'])} | {f(r['mosquitto_msgs_per_s'])} | "
                  f"{f(r['ratio_msgs_per_s'], 2)} | {f(r['embedded_p99_ms'], 3)} | {f(r['mosquitto_p99_ms'], 3)} | "
                  f"{f(r['ratio_p99'], 2)} | {closed_loop_tail(r)}")

if "1" not in sections:
    del md[mark:]; doc["closed_loop"] = []
mark = len(md)
md.append(f"\n## Target: embedded msg/s >= mosquitto's at every QoS (1 -> 1, 16-byte payload, median of {closed_repeat} interleaved pairs)\n")
md.append("| QoS | embedded msg/s | mosquitto msg/s | ratio | met | broker CPU µs/msg (emb / mosq) | ratio per pair | ledger | load avg |")
md.append("|---|---:|---:|---:|---|---:|---|---|---:|")
for qos in "012":
    r = pair_row("targets", f"QoS {qos} 1 -> 1 16 B", f"q{qos}-1to1-p16")
    r["met"] = None if r["ratio_msgs_per_s"] is None else r["ratio_msgs_per_s"] >= 1.0
    md.append(f"| {qos} | {f(r['embedded_msgs_per_s'])} | {f(r['mosquitto_msgs_per_s'])} | {f(r['ratio_msgs_per_s'], 2)} | "
              f"{'n/a' if r['met'] is None else ('yes' if r['met'] else 'NO')} | {closed_loop_tail(r)}")

if "2" not in sections:
    del md[mark:]; doc["targets"] = []
mark = len(md)
md.append(f"\n## Target: p99 at fixed rates no worse than mosquitto's (open loop, 1 -> 1, 64 B, {rate_duration} s per run, "
          f"median p99 of {rate_repeat} interleaved pairs; latency from the intended send time; scheduling: {scheduling})\n")
md.append("| load | embedded p99 ms | mosquitto p99 ms | ratio of median p99s | median of per-pair ratios | met | "
          "embedded p50 ms | mosquitto p50 ms | sender late p99 µs | ratio p99 per pair | ledger | load avg |")
md.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|---:|")
def p50(r):
    return r["latency"]["p50"] / 1e6 if r and r.get("latency", {}).get("p50") else None
for qos in "012":
    for rate in rates:
        names = [f"{b}-q{qos}-rate{rate}-r{i}" for i in range(1, rate_repeat + 1) for b in ("embedded", "mosquitto")]
        es = [runs.get(f"embedded-q{qos}-rate{rate}-r{i}") for i in range(1, rate_repeat + 1)]
        ms = [runs.get(f"mosquitto-q{qos}-rate{rate}-r{i}") for i in range(1, rate_repeat + 1)]
        e99, m99 = median([p99(r) for r in es]), median([p99(r) for r in ms])
        pair_ratios = [ratio(p99(a), p99(b)) for a, b in zip(es, ms)]
        r = dict(load=f"QoS {qos} at {int(rate):,}/s", embedded_p99_ms=e99, mosquitto_p99_ms=m99, ratio_p99=ratio(e99, m99),
                 embedded_p50_ms=median([p50(x) for x in es]), mosquitto_p50_ms=median([p50(x) for x in ms]),
                 sender_late_p99_us=median([late_p99_us(x) for x in es + ms]),
                 pair_ratios_p99=pair_ratios, load_average=load_range(names),
                 embedded_runs_p99_ms=[p99(x) for x in es], mosquitto_runs_p99_ms=[p99(x) for x in ms],
                 embedded_held=None if all(x is None for x in es) else all(held(x) for x in es),
                 mosquitto_held=None if all(x is None for x in ms) else all(held(x) for x in ms))
        doc["fixed_rate"].append(r)
        # Two readings of the same pairs: the ratio of the medians, and the median of the
        # ratios of back-to-back runs (which cancels drift in the machine's load). "yes" or
        # "NO" only when both agree; "mixed" says the difference is within the noise.
        r["median_pair_ratio_p99"] = median(pair_ratios)
        both = [x for x in (r["ratio_p99"], r["median_pair_ratio_p99"]) if x is not None]
        r["met"] = None if len(both) < 2 else (True if max(both) <= 1.0 else False if min(both) > 1.0 else "mixed")
        md.append(f"| {r['load']} | {f(r['embedded_p99_ms'], 3)} | {f(r['mosquitto_p99_ms'], 3)} | {f(r['ratio_p99'], 2)} | "
                  f"{f(r['median_pair_ratio_p99'], 2)} | "
                  f"{'n/a' if r['met'] is None else 'mixed' if r['met'] == 'mixed' else ('yes' if r['met'] else 'NO')} | "
                  f"{f(r['embedded_p50_ms'], 3)} | {f(r['mosquitto_p50_ms'], 3)} | {f(r['sender_late_p99_us'], 0)} | "
                  f"{' '.join(f(x, 2) for x in pair_ratios)} | "
                  f"{verdict(r['embedded_held'])} / {verdict(r['mosquitto_held'])} | {r['load_average']} |")

if "4" not in sections:
    del md[mark:]; doc["fixed_rate"] = []
mark = len(md)
md.append(f"\n## Is the harness the bottleneck? Driving mosquitto 1 -> 1, 64 B, window 100: median of {repeat} "
          "interleaved pairs\n")
md.append("| QoS | mqtt-harness bench msg/s | libmosquitto client msg/s | ratio harness/libmosquitto | "
          "harness p99 ms | libmosquitto p99 ms | harness CPU µs/msg | libmosquitto CPU µs/msg | all runs complete | load avg |")
md.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
for qos in "012":
    hs = [runs.get(f"harness-q{qos}-r{i}") for i in range(1, repeat + 1)]
    ls = [runs.get(f"libmosquitto-q{qos}-r{i}") for i in range(1, repeat + 1)]
    h, l = median([tput(r) for r in hs]), median([tput(r) for r in ls])
    row = dict(qos=int(qos), harness_msgs_per_s=h, libmosquitto_msgs_per_s=l, ratio=ratio(h, l),
               harness_runs_msgs_per_s=[tput(r) for r in hs], libmosquitto_runs_msgs_per_s=[tput(r) for r in ls],
               harness_p99_ms=median([p99(r) for r in hs]), libmosquitto_p99_ms=median([p99(r) for r in ls]),
               harness_cpu_us_per_msg=median([cpu_us_per_msg(r) for r in hs]),
               libmosquitto_cpu_us_per_msg=median([cpu_us_per_msg(r) for r in ls]),
               all_complete=all(held(r) for r in hs + ls),
               load_average=load_range([f"harness-q{qos}-r{i}" for i in range(1, repeat + 1)] +
                                       [f"libmosquitto-q{qos}-r{i}" for i in range(1, repeat + 1)]))
    doc["harness_vs_libmosquitto"].append(row)
    md.append(f"| {qos} | {f(h)} | {f(l)} | {f(row['ratio'], 2)} | {f(row['harness_p99_ms'], 3)} | "
              f"{f(row['libmosquitto_p99_ms'], 3)} | {f(row['harness_cpu_us_per_msg'], 1)} | "
              f"{f(row['libmosquitto_cpu_us_per_msg'], 1)} | {'yes' if row['all_complete'] else 'NO'} | {row['load_average']} |")
if "3" not in sections:
    del md[mark:]; doc["harness_vs_libmosquitto"] = []
mark = len(md)
(out / "compare.md").write_text("\n".join(md) + "\n")
(out / "compare.json").write_text(json.dumps(doc, indent=2) + "\n")
print("\n".join(md))
PYEOF
log "done: $OUT/compare.md, $OUT/compare.json"
