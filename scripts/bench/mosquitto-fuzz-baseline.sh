#!/usr/bin/env bash
# Builds mosquitto's own libFuzzer broker target (fuzzing/broker/broker_fuzz_read_handle) with
# the flags of our fuzz builds and measures it side by side with our broker_engine_packet
# target on one core: executions per CPU-second, cov/ft, ratio ours/mosquitto. It is the
# baseline for issue 3's "broker-engine target >= 120 k exec/s with ASan (mosquitto's
# read/handle target does ~117 k/s)". See docs/fuzzing.md, "Baseline: mosquitto's own
# broker fuzz target, measured here".
#
# Developer script, NOT run by CI (CI has no network and no mosquitto sources).
# Mosquitto's sources: the release tarball, e.g. from Debian's pool
#   curl -LO http://deb.debian.org/debian/pool/main/m/mosquitto/mosquitto_2.1.2.orig.tar.gz
#   mkdir /tmp/mosq21 && tar -xzf mosquitto_2.1.2.orig.tar.gz -C /tmp/mosq21 --strip-components=1
# (2.1.2 is the version measured; any release with fuzzing/broker/ and the make build works).
# Build dependencies (Debian): apt-get install -y clang-14 make libssl-dev libcjson-dev libargon2-dev
#
# usage: scripts/bench/mosquitto-fuzz-baseline.sh MOSQUITTO_SRC_DIR [SECONDS]
#   SECONDS: length of each side-by-side run (default 20).
# env:
#   WORK_DIR       build and scratch dir (default /tmp/mosquitto-fuzz-baseline). The source
#                  dir is copied there per variant (mosquitto's make build is in-tree only),
#                  so MOSQUITTO_SRC_DIR is never written to.
#   CPU            core to pin every run to with taskset (default 0)
#   ROUNDS         side-by-side rounds (default 2); the order of the two targets alternates
#   EMPTY_SECONDS  length of the from-empty runs that report cov/ft (default 60; 0 skips them)
#   VARIANTS       "asan nosan" (default) or one of them
#   OURS_ASAN      our ASan binary (default build/fuzz-asan/fuzz/fuzz_broker_engine_packet)
#   OURS_NOSAN     our no-sanitizer binary (default build/fuzz-nosan/fuzz/fuzz_broker_engine_packet)
#   OURS_CORPUS    our corpus (default fuzz/corpus/broker_engine_packet)
#   SKIP_BUILD=1   reuse mosquitto's binaries already in WORK_DIR/bin
#   SEED           libFuzzer -seed (default 1; empty: libFuzzer picks one per run)
# Nothing of ours is built: build the fuzz-asan / fuzz-nosan presets first. Our binaries are
# copied to WORK_DIR/bin before measuring, so a rebuild during the run changes nothing.
# Our target gets -dict=fuzz/dict/mqtt.dict (as in our runs); mosquitto's target gets no
# dictionary (upstream ships none for it). Both run with libFuzzer's defaults otherwise, and
# once more with -entropic=0.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
src="${1:?usage: $0 MOSQUITTO_SRC_DIR [SECONDS]}"
secs="${2:-20}"
if [ ! -f "$src/fuzzing/broker/broker_fuzz_read_handle.cpp" ]; then
  echo "$0: $src is not a mosquitto source tree with fuzzing/broker/broker_fuzz_read_handle.cpp (mosquitto >= 2.1; see the top of this script)" >&2
  exit 2
fi
case "$secs" in ''|*[!0-9]*|0) echo "$0: SECONDS must be a positive whole number, got '$secs'" >&2; exit 2 ;; esac
src="$(cd "$src" && pwd)"
work="${WORK_DIR:-/tmp/mosquitto-fuzz-baseline}"
cpu="${CPU:-0}"
rounds="${ROUNDS:-2}"
empty_secs="${EMPTY_SECONDS:-60}"
variants="${VARIANTS:-asan nosan}"
seed="${SEED-1}"
ours_asan="${OURS_ASAN:-$repo/build/fuzz-asan/fuzz/fuzz_broker_engine_packet}"
ours_nosan="${OURS_NOSAN:-$repo/build/fuzz-nosan/fuzz/fuzz_broker_engine_packet}"
ours_corpus="${OURS_CORPUS:-$repo/fuzz/corpus/broker_engine_packet}"
dict="$repo/fuzz/dict/mqtt.dict"

command -v clang-14 >/dev/null || { echo "clang-14 not found" >&2; exit 2; }
for h in /usr/include/cjson/cJSON.h /usr/include/argon2.h /usr/include/openssl/ssl.h; do
  [[ -f $h ]] || { echo "$h missing: apt-get install -y libcjson-dev libargon2-dev libssl-dev" >&2; exit 2; }
done
mkdir -p "$work/bin" "$work/logs"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# --- mosquitto's target, built the way fuzzing/scripts/oss-fuzz-build.sh does (make
# WITH_FUZZING=yes WITH_STATIC_LIBRARIES=yes WITH_DOCS=no WITH_EDITLINE=no WITH_HTTP_API=no),
# restricted to what broker_fuzz_read_handle links: libcommon, src/mosquitto_broker.a and
# fuzzing/broker. CFLAGS as our fuzz builds (RelWithDebInfo -O2 -g), engine -fsanitize=fuzzer.
build_mosquitto() {  # variant
  local v=$1 flags tree
  case $v in
    asan) flags="-O2 -g -fsanitize=address -fsanitize=fuzzer-no-link -fno-omit-frame-pointer" ;;
    nosan) flags="-O2 -g -fsanitize=fuzzer-no-link" ;;
    *) echo "unknown variant $v" >&2; exit 2 ;;
  esac
  tree="$work/$v/src"
  log "building mosquitto broker_fuzz_read_handle ($v) in $tree"
  rm -rf "${work:?}/${v:?}" && mkdir -p "$work/$v/out" && cp -a "$src/." "$tree"
  local mo=(WITH_STATIC_LIBRARIES=yes WITH_DOCS=no WITH_FUZZING=yes WITH_EDITLINE=no WITH_HTTP_API=no)
  (
    export CC=clang-14 CXX=clang++-14 CFLAGS="$flags" CXXFLAGS="$flags" \
      LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT="$work/$v/out"
    cd "$tree/fuzzing" && /usr/bin/python3 ./generate_packet_corpora.py
    cd "$tree"
    nice make -C libcommon "${mo[@]}" -j2 libmosquitto_common.a
    nice make -C src "${mo[@]}" -j2 mosquitto_broker.a
    nice make -C fuzzing/broker "${mo[@]}" broker_fuzz_read_handle
  ) > "$work/logs/build-$v.log" 2>&1 || { echo "build failed, see $work/logs/build-$v.log" >&2; exit 1; }
  cp "$work/$v/out/broker_fuzz_read_handle" "$work/bin/mosq-$v"
  rm -rf "$work/seed" && cp -r "$tree/fuzzing/corpora/broker" "$work/seed"
}

for v in $variants; do
  if [[ "${SKIP_BUILD:-}" == 1 && -x "$work/bin/mosq-$v" && -d "$work/seed" ]]; then continue; fi
  build_mosquitto "$v"
done
for v in $variants; do
  case $v in asan) b=$ours_asan ;; *) b=$ours_nosan ;; esac
  [[ -x "$b" ]] || { echo "$b missing: build it (cmake --preset fuzz-$v ...)" >&2; exit 2; }
  cp "$b" "$work/bin/ours-$v"
done

# --- one run: prints "execs cpu_s wall_s cov ft counters": corpus copied to tmpfs, pinned,
# executions / (user + sys) from /usr/bin/time.
run_one() {  # bin corpus|- seconds flags...
  local bin=$1 corpus=$2 t=$3; shift 3
  local d out n u s e cf cnt
  d=$(mktemp -d /dev/shm/mosqbase.XXXX)
  [[ "$corpus" != - ]] && cp "$corpus"/* "$d"/ 2>/dev/null || true
  out=$( { /usr/bin/time -f "TIME %U %S %e" taskset -c "$cpu" "$bin" -max_total_time="$t" \
           -print_final_stats=1 ${seed:+-seed=$seed} "$@" "$d"; } 2>&1 ) || true
  rm -rf "$d"
  n=$(grep -o "number_of_executed_units: [0-9]*" <<<"$out" | awk '{print $2}')
  read -r u s e < <(grep "^TIME" <<<"$out" | awk '{print $2, $3, $4}')
  cf=$(grep "DONE" <<<"$out" | tail -1 | grep -oE "cov: [0-9]+ ft: [0-9]+" | awk '{print $2, $4}')
  cnt=$(grep -oE "\(([0-9]+) inline 8-bit counters\)" <<<"$out" | head -1 | grep -oE "[0-9]+")
  echo "${n:-0} ${u:-0} ${s:-0} ${e:-0} ${cf:-0 0} ${cnt:-0}"
}

results="$work/results.tsv"
printf "kind\tround\tvariant\tflags\tfrom\ttarget\texecs\tcpu_s\twall_s\tcov\tft\tcounters\tload1\n" > "$results"
measure() {  # kind round variant flagsname from target
  local kind=$1 r=$2 v=$3 fl=$4 from=$5 tg=$6 t corpus args=() load
  t=$secs; [[ $kind == empty60 ]] && t=$empty_secs
  [[ $fl == entropic0 ]] && args+=(-entropic=0)
  if [[ $tg == ours ]]; then
    args+=("-dict=$dict"); corpus=$ours_corpus
  else
    corpus=$work/seed
  fi
  [[ $from == empty ]] && corpus=-
  load=$(awk '{print $1}' /proc/loadavg)
  read -r n u s e c f k < <(run_one "$work/bin/$tg-$v" "$corpus" "$t" "${args[@]}")
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\n" "$kind" "$r" "$v" "$fl" "$from" "$tg" \
    "$n" "$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')" "$e" "$c" "$f" "$k" "$load" >> "$results"
  log "$kind r$r $v $fl $from $tg: $n execs in $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') cpu-s, cov $c ft $f (load $load)"
}

started=$(date -u '+%Y-%m-%d %H:%M UTC')
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then order="mosq ours"; else order="ours mosq"; fi
  for v in $variants; do for fl in default entropic0; do for from in corpus empty; do
    for tg in $order; do measure side "$r" "$v" "$fl" "$from" "$tg"; done
  done; done; done
done
if ((empty_secs > 0)); then
  for v in $variants; do for fl in default entropic0; do for tg in mosq ours; do
    measure empty60 1 "$v" "$fl" empty "$tg"
  done; done; done
fi

/usr/bin/python3 - "$results" "$started" "$secs" "$empty_secs" "$cpu" <<'PY'
import csv, os, platform, statistics, subprocess, sys
path, started, secs, empty_secs, cpu = sys.argv[1:]
rows = list(csv.DictReader(open(path), delimiter="\t"))
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"mosquitto broker_fuzz_read_handle vs our fuzz_broker_engine_packet, started {started}")
print(f"machine: {model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
      f"runs pinned to CPU {cpu}; load (1-min) during the runs "
      f"{min(float(r['load1']) for r in rows):.2f}-{max(float(r['load1']) for r in rows):.2f}")
counters = {}
for r in rows:
    counters[(r["variant"], r["target"])] = r["counters"]
print("inline 8-bit counters: " + ", ".join(f"{t} {v}: {c}" for (v, t), c in sorted(counters.items())))
def rate(r):
    cpu_s = float(r["cpu_s"])
    return int(r["execs"]) / cpu_s / 1000 if cpu_s > 0 else 0.0
print(f"\nside by side, {secs} s per run; exec per CPU-second (k), median of rounds [min-max]; cov/ft at the end of the last round")
hdr = f"{'build':6} {'flags':10} {'from':7} | {'mosquitto k/cpu-s':>22} {'cov/ft':>11} | {'ours k/cpu-s':>22} {'cov/ft':>11} | {'ours/mosq':>9} | load"
print(hdr); print("-" * len(hdr))
side = [r for r in rows if r["kind"] == "side"]
keys = []
for r in side:
    k = (r["variant"], r["flags"], r["from"])
    if k not in keys: keys.append(k)
for k in keys:
    cell = {}
    for tg in ("mosq", "ours"):
        rs = [r for r in side if (r["variant"], r["flags"], r["from"]) == k and r["target"] == tg]
        rates = [rate(r) for r in rs]
        last = max(rs, key=lambda r: int(r["round"]))
        cell[tg] = (statistics.median(rates), min(rates), max(rates), f"{last['cov']}/{last['ft']}")
    loads = [float(r["load1"]) for r in side if (r["variant"], r["flags"], r["from"]) == k]
    m, o = cell["mosq"], cell["ours"]
    print(f"{k[0]:6} {k[1]:10} {k[2]:7} | {m[0]:7.1f} [{m[1]:5.1f}-{m[2]:5.1f}] {m[3]:>11} | "
          f"{o[0]:7.1f} [{o[1]:5.1f}-{o[2]:5.1f}] {o[3]:>11} | {o[0] / m[0] if m[0] else 0:8.2f}x | "
          f"{min(loads):.1f}-{max(loads):.1f}")
e = [r for r in rows if r["kind"] == "empty60"]
if e:
    print(f"\nfrom an empty corpus, {empty_secs} s each: exec per CPU-second (k), cov/ft reached")
    for r in e:
        print(f"{r['variant']:6} {r['flags']:10} {r['target']:5} {rate(r):7.1f} k  cov {r['cov']:>5} ft {r['ft']:>6}  load {r['load1']}")
print(f"\nraw figures: {path}")
PY
