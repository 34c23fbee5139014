#!/usr/bin/env bash
# What libFuzzer itself lets a target reach on this machine: executions per CPU-second of
# synthetic targets that do nothing but N compare-and-branch blocks per execution (N = 0 is
# an empty LLVMFuzzerTestOneInput), built with the flags of our fuzz builds, side by side on
# one core with our decode targets and the number of coverage edges one of their inputs
# hits. Every hit edge and every instrumented comparison costs libFuzzer work per execution
# (counter scan, one feature callback per hit counter, the trace-cmp hook), so exec/s falls
# with the edges a target hits, whatever the target computes. docs/fuzzing.md "What
# libFuzzer allows here" quotes a run; issue 3's exec/s goals are read against it.
#
# Developer script, not run by CI (it takes minutes and measures the machine).
#
# usage: scripts/bench/libfuzzer-ceiling.sh [RUNS]
#   RUNS: executions per run (default 3000000), with a fixed -seed, so every round of one
#         binary does the same work and only the machine's noise differs.
# env:
#   BLOCKS    synthetic block counts (default "0 10 25 50 100 200")
#   OURS      our targets to measure beside them (default "decode_v311 decode_v5"; their
#             flags from fuzz/options/ via scripts/fuzz-options.sh, their committed corpus)
#   NOSAN_DIR our no-sanitizer fuzz binaries (default build/fuzz-nosan/fuzz)
#   ASAN_DIR  our ASan fuzz binaries (default build/fuzz-asan/fuzz)
#   CPU       core every run is pinned to (default 1)
#   ROUNDS    runs per binary; the median is reported (default 3)
#   SAMPLE    corpus inputs whose edges are counted per target (default 25)
#   WORK_DIR  scratch dir (default /tmp/libfuzzer-ceiling)
# Build ours first: cmake --preset fuzz-nosan && cmake --build build/fuzz-nosan, same for fuzz-asan.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-3000000}"
case "$runs" in ''|*[!0-9]*|0) echo "$0: RUNS must be a positive whole number, got '$runs'" >&2; exit 2 ;; esac
blocks="${BLOCKS:-0 10 25 50 100 200}"
ours="${OURS:-decode_v311 decode_v5}"
nosan_dir="${NOSAN_DIR:-$repo/build/fuzz-nosan/fuzz}"
asan_dir="${ASAN_DIR:-$repo/build/fuzz-asan/fuzz}"
cpu="${CPU:-1}"
rounds="${ROUNDS:-3}"
sample="${SAMPLE:-25}"
work="${WORK_DIR:-/tmp/libfuzzer-ceiling}"
for n in $blocks $rounds $sample $cpu; do
  case "$n" in ''|*[!0-9]*) echo "$0: BLOCKS, ROUNDS, SAMPLE and CPU take whole numbers, got '$n'" >&2; exit 2 ;; esac
done
command -v clang++-14 >/dev/null || { echo "$0: clang++-14 not found (scripts/setup.sh installs it)" >&2; exit 2; }
for t in $ours; do
  for b in "$nosan_dir/fuzz_$t" "$asan_dir/fuzz_$t"; do
    [ -x "$b" ] || { echo "$0: $b not found: build the fuzz-nosan and fuzz-asan presets first" >&2; exit 2; }
  done
  [ -d "$repo/fuzz/corpus/$t" ] || { echo "$0: no corpus fuzz/corpus/$t for target $t" >&2; exit 2; }
done
mkdir -p "$work/bin"

# The blocks are written out one by one (no loop for the compiler to fold): each is an
# instrumented 1-byte comparison with a constant and two edges, one of which runs.
synthetic_source() {
  local n=$1 i
  echo '#include <cstddef>'
  echo '#include <cstdint>'
  echo 'volatile unsigned sink;'
  echo 'extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t s) {'
  echo '  if (s == 0) return 0;'
  echo '  unsigned a = 0;'
  for ((i = 0; i < n; i++)); do
    echo "  if (d[$i % s] == $(((i * 37 + 11) & 255))) a += $((i + 1))u; else a ^= $((i * 7 + 3))u;"
  done
  echo '  sink = a;'
  echo '  return 0;'
  echo '}'
}

for n in $blocks; do
  synthetic_source "$n" > "$work/synthetic_$n.cpp"
  # -O2 -g: the RelWithDebInfo flags of the fuzz-nosan / fuzz-asan presets.
  clang++-14 -O2 -g -fsanitize=fuzzer "$work/synthetic_$n.cpp" -o "$work/bin/synthetic_${n}_nosan"
  clang++-14 -O2 -g -fsanitize=fuzzer,address "$work/synthetic_$n.cpp" -o "$work/bin/synthetic_${n}_asan"
done
for t in $ours; do
  cp "$nosan_dir/fuzz_$t" "$work/bin/${t}_nosan"
  cp "$asan_dir/fuzz_$t" "$work/bin/${t}_asan"
done

# One run: executions per CPU-second (user + sys) of BINARY over a fresh copy of CORPUS.
exec_per_cpu_second() {
  local bin=$1 corpus=$2; shift 2
  rm -rf "$work/run" && cp -r "$corpus" "$work/run"
  local TIMEFORMAT='%U %S' cpu_times log="$work/run.log"
  cpu_times=$({ time taskset -c "$cpu" "$bin" -seed=1 -runs="$runs" -print_final_stats=1 "$@" "$work/run" \
                 > "$log" 2>&1; } 2>&1)
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  [ -n "$execs" ] || { echo "$0: $bin did not finish; its log: $log" >&2; exit 1; }
  awk -v e="$execs" -v t="$cpu_times" 'BEGIN { split(t, c, " "); printf "%d\n", e / (c[1] + c[2]) }'
}

median_of_rounds() {
  local i
  for ((i = 0; i < rounds; i++)); do exec_per_cpu_second "$@"; done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# Median edges one corpus input hits: libFuzzer's -print_coverage after running a corpus of
# that input alone (plus the empty input libFuzzer always runs first).
edges_per_input() {
  local bin=$1 corpus=$2 f
  find "$corpus" -type f | sort | awk -v k="$sample" 'NR % 7 == 1 && n < k { print; n++ }' | while read -r f; do
    rm -rf "$work/one" && mkdir "$work/one" && cp "$f" "$work/one/"
    "$bin" -print_coverage=1 -runs=0 "$work/one" 2>&1 |
      awk '/^COVERED_FUNC/ { split($5, e, "/"); s += e[1] } END { print s + 0 }'
  done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

seed_corpus="$repo/fuzz/corpus/decode_v5"
echo "libfuzzer-ceiling: $runs runs per measurement, median of $rounds, CPU $cpu, seed 1" >&2
echo "| target | edges hit per execution | exec per CPU-second, no sanitizer | with ASan |"
echo "|---|---:|---:|---:|"
for n in $blocks; do
  echo "libfuzzer-ceiling: synthetic, $n blocks" >&2
  edges=$(edges_per_input "$work/bin/synthetic_${n}_nosan" "$seed_corpus")
  no=$(median_of_rounds "$work/bin/synthetic_${n}_nosan" "$seed_corpus" -entropic=0)
  as=$(median_of_rounds "$work/bin/synthetic_${n}_asan" "$seed_corpus" -entropic=0)
  echo "| synthetic, $n compare-and-branch blocks (\`-entropic=0\`) | $edges | $no | $as |"
done
for t in $ours; do
  echo "libfuzzer-ceiling: $t" >&2
  mapfile -t options < <("$repo/scripts/fuzz-options.sh" "$t")
  edges=$(edges_per_input "$work/bin/${t}_nosan" "$repo/fuzz/corpus/$t")
  no=$(median_of_rounds "$work/bin/${t}_nosan" "$repo/fuzz/corpus/$t" "${options[@]}")
  as=$(median_of_rounds "$work/bin/${t}_asan" "$repo/fuzz/corpus/$t" "${options[@]}")
  echo "| $t (${options[*]:-default options}), over its corpus | $edges (median of $sample inputs) | $no | $as |"
done
