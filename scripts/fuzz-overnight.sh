#!/usr/bin/env bash
# Overnight fuzzing of every libFuzzer target, in fork mode, with corpus merging, crash
# minimisation and a coverage report.
#   scripts/fuzz-overnight.sh [--hours N] [--jobs N] [--targets "a b"]
# Writes reports/out/fuzz/<date>/: summary.md and summary.json (per target exec/s, cov,
# ft, corpus size, crashes), crashes/<target>/ (minimised inputs), coverage/index.html.
# The minimised, merged corpus goes back into fuzz/corpus/<target>/ (commit what is new).
# A fixed crash's input belongs in fuzz/regressions/<target>/ (replayed by ctest).
set -euo pipefail
hours=8
jobs=$(nproc)
targets=""
while [ $# -gt 0 ]; do
  case "$1" in
    --hours) hours=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "fuzz-overnight: unknown option $1" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out="reports/out/fuzz/$(date +%Y-%m-%d)"
mkdir -p "$out"
echo "fuzz-overnight: building the fuzz preset" >&2
cmake --preset fuzz >/dev/null
if [ -n "$targets" ]; then
  # Only what will run: a whole ASan build of every target takes long on a busy machine.
  build_targets=()
  for t in $targets; do build_targets+=("fuzz_$t"); done
  cmake --build --preset fuzz -j "$jobs" --target "${build_targets[@]}" >/dev/null
else
  cmake --build --preset fuzz -j "$jobs" >/dev/null
fi
if [ -z "$targets" ]; then
  # fuzz_replay_<name> are ctest replay drivers, not libFuzzer binaries.
  targets=$(cd build/fuzz/fuzz && ls fuzz_* | grep -v '^fuzz_replay_' | sed 's/^fuzz_//' | tr '\n' ' ')
fi
set -- $targets
per_target=$(awk -v h="$hours" -v n="$#" 'BEGIN { s = int(h * 3600 / n); if (s < 10) s = 10; print s }')
echo "fuzz-overnight: $# targets, ${per_target}s each, $jobs jobs" >&2

json="["
for name in "$@"; do
  exe="$root/build/fuzz/fuzz/fuzz_$name"
  work="$out/work/$name"
  crashes="$out/crashes/$name"
  # <base>_structured targets share <base>'s corpus (fuzz/CMakeLists.txt CORPUS).
  corpus_name=$name
  [ -d "fuzz/corpus/$name" ] || [ ! -d "fuzz/corpus/${name%_structured}" ] || corpus_name=${name%_structured}
  mkdir -p "$work/corpus" "$crashes" "fuzz/corpus/$corpus_name"
  cp -r "fuzz/corpus/$corpus_name/." "$work/corpus/" 2>/dev/null || true
  # Per-target libFuzzer flags (fuzz/options/<target>.options, as on OSS-Fuzz).
  mapfile -t options < <("$root/scripts/fuzz-options.sh" "$name")
  echo "fuzz-overnight: $name for ${per_target}s ${options[*]} (progress in $work/fuzz.log)" >&2
  (cd "$work" && "$exe" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
      -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 \
      -dict="$root/fuzz/dict/mqtt.dict" -artifact_prefix="$root/$crashes/" \
      -print_final_stats=1 "${options[@]}" corpus 2> fuzz.log) || true
  # libFuzzer's fork mode prints '#N: cov: C ft: F corp: K exec/s E ...' lines (N: all executions so far).
  last=$(grep -E '^#[0-9]+.*cov:' "$work/fuzz.log" | tail -n 1 || true)
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last"); ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
  # Fork mode's own exec/s is the last job's; the run's figure is all executions / seconds.
  total=$(sed -nE 's/^#([0-9]+):? .*/\1/p' <<<"$last")
  execs=${total:+$((total / per_target))}
  # Merge and minimise the corpus back into the repository.
  mkdir -p "$work/merged"
  "$exe" -merge=1 "$work/merged" "$work/corpus" "fuzz/corpus/$corpus_name" >/dev/null 2>&1 || true
  rm -rf "fuzz/corpus/$corpus_name"; mkdir -p "fuzz/corpus/$corpus_name"; cp -r "$work/merged/." "fuzz/corpus/$corpus_name/"
  # Minimise every crash.
  ncrash=0
  for crash in "$crashes"/crash-* "$crashes"/leak-* "$crashes"/timeout-*; do
    [ -f "$crash" ] || continue
    ncrash=$((ncrash + 1))
    "$exe" -minimize_crash=1 -runs=20000 -exact_artifact_path="$crash.min" "$crash" >/dev/null 2>&1 || true
  done
  corpus_size=$(ls "fuzz/corpus/$corpus_name" | wc -l)
  echo "fuzz-overnight: $name cov=${cov:-?} ft=${ft:-?} exec/s=${execs:-?} corpus=$corpus_size crashes=$ncrash" >&2
  json+="{\"target\":\"$name\",\"seconds\":$per_target,\"cov\":${cov:-0},\"ft\":${ft:-0},\"executions\":${total:-0},\"exec_per_sec\":${execs:-0},\"corpus\":$corpus_size,\"crashes\":$ncrash},"
done
json="${json%,}]"
echo "$json" > "$out/summary.json"
{
  echo "# Fuzz run $(date -u +%FT%TZ), ${hours}h, $jobs jobs"
  echo
  echo "| target | executions | exec/s | cov | ft | corpus | crashes |"
  echo "|---|---|---|---|---|---|---|"
  /usr/bin/python3 -c 'import json,sys
for t in json.load(open(sys.argv[1])):
    print("| {target} | {executions} | {exec_per_sec} | {cov} | {ft} | {corpus} | {crashes} |".format(**t))' "$out/summary.json"
} > "$out/summary.md"
bash scripts/fuzz-coverage.sh "$root/fuzz/corpus" "$out/coverage" >&2 || echo "fuzz-overnight: coverage report failed" >&2
cat "$out/summary.md"
