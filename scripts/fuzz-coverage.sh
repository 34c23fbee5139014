#!/usr/bin/env bash
# Line coverage of codec/ and harness/engine/ under a corpus, as an llvm-cov HTML report.
#   scripts/fuzz-coverage.sh CORPUS_ROOT OUT_DIR
# CORPUS_ROOT holds one folder per target (fuzz/corpus by default). Builds the `coverage`
# preset (clang, instrumented replay drivers), replays each target's corpus, merges the
# profiles and writes OUT_DIR/index.html and OUT_DIR/summary.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$root/fuzz/corpus}
out=${2:-$root/reports/out/fuzz/coverage}
mkdir -p "$out/profiles"
cd "$root"
echo "fuzz-coverage: building the coverage preset" >&2
cmake --preset coverage >/dev/null
# Only the replay drivers (and what they link): the unit tests are not needed here.
replay_targets=$(ninja -C build/coverage -t targets all | sed -nE 's/^(fuzz_replay_[a-z0-9_]+):.*/\1/p' | sort -u)
cmake --build --preset coverage -j "$(nproc)" --target $replay_targets >/dev/null
exes=()
shopt -s nullglob
for exe in build/coverage/fuzz/fuzz_replay_*; do
  name=$(basename "$exe"); name=${name#fuzz_replay_}
  # <base>_structured targets share <base>'s corpus (fuzz/CMakeLists.txt CORPUS).
  corpus_name=$name
  [ -d "$corpus/$name" ] || corpus_name=${name%_structured}
  echo "fuzz-coverage: replaying $name" >&2
  LLVM_PROFILE_FILE="$out/profiles/$name.profraw" "$exe" "$corpus/$corpus_name" "fuzz/regressions/$name" >/dev/null
  exes+=("$exe")
done
objects=("${exes[0]}")
for exe in "${exes[@]:1}"; do objects+=(-object "$exe"); done
llvm-profdata-14 merge -sparse "$out"/profiles/*.profraw -o "$out/merged.profdata"
filters=(-ignore-filename-regex='(fuzz/|tests/|/usr/)')
llvm-cov-14 show "${objects[@]}" -instr-profile="$out/merged.profdata" \
  -format=html -output-dir="$out" "${filters[@]}" "$root/codec" "$root/harness/engine" "$root/harness/scenario" >/dev/null
llvm-cov-14 report "${objects[@]}" -instr-profile="$out/merged.profdata" \
  "${filters[@]}" "$root/codec" "$root/harness/engine" | tee "$out/summary.txt"
# The codec alone (the issue's 95 % line-coverage bar): its TOTAL row.
llvm-cov-14 report "${objects[@]}" -instr-profile="$out/merged.profdata" \
  "${filters[@]}" "$root/codec" > "$out/summary-codec.txt"
echo "fuzz-coverage: codec/ $(tail -n 1 "$out/summary-codec.txt" | awk '{print "regions " $4 ", functions " $7 ", lines " $10}')" >&2
echo "fuzz-coverage: report in $out/index.html" >&2
