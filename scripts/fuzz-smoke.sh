#!/usr/bin/env bash
# Short libFuzzer smoke run of every target in a fuzz build (CI: a few seconds each), on a
# scratch copy of the seed corpus so the repository's corpus is not touched.
#   scripts/fuzz-smoke.sh BUILD_DIR [SECONDS_PER_TARGET]
set -euo pipefail
build=${1:?usage: fuzz-smoke.sh BUILD_DIR [SECONDS]}
seconds=${2:-${MQTTH_FUZZ_SMOKE_SECONDS:-10}}
# A fixed seed makes the smoke run a regression check that explores the same inputs every
# time (up to where the time runs out); new ground is the overnight run's job.
seed=${MQTTH_FUZZ_SMOKE_SEED:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)  # absolute: the fuzzers run from the scratch folder
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
shopt -s nullglob
targets=()
for exe in "$build"/fuzz/fuzz_*; do
  # fuzz_replay_<name> are the standalone replay drivers (ctest), not libFuzzer binaries.
  case $(basename "$exe") in fuzz_replay_*) continue ;; esac
  [ -x "$exe" ] && targets+=("$exe")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz-smoke: no fuzz targets in $build/fuzz" >&2
  exit 1
fi
for exe in "${targets[@]}"; do
  name=$(basename "$exe"); name=${name#fuzz_}
  mkdir -p "$scratch/$name"
  corpus=$name
  # <base>_structured targets share <base>'s corpus (fuzz/CMakeLists.txt CORPUS).
  [ -d "$root/fuzz/corpus/$corpus" ] || corpus=${name%_structured}
  [ -d "$root/fuzz/corpus/$corpus" ] && cp -r "$root/fuzz/corpus/$corpus/." "$scratch/$name/"
  # Per-target libFuzzer flags (fuzz/options/<target>.options, as on OSS-Fuzz).
  mapfile -t options < <("$root/scripts/fuzz-options.sh" "$name")
  echo "fuzz-smoke: $name for ${seconds}s ${options[*]}" >&2
  (cd "$scratch" && "$exe" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -dict="$root/fuzz/dict/mqtt.dict" -print_final_stats=1 "${options[@]}" "$scratch/$name" \
      2> "$scratch/$name.log") || { tail -n 60 "$scratch/$name.log" >&2; echo "fuzz-smoke: $name FAILED" >&2; exit 1; }
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec)|cov:" "$scratch/$name.log" | tail -n 3 >&2
done
echo "fuzz-smoke: ${#targets[@]} targets ran ${seconds}s each without a finding" >&2
