#!/bin/bash -eu
# OSS-Fuzz build: the same targets as the local `fuzz` preset, with the engine and the
# sanitizer flags OSS-Fuzz chooses ($CXXFLAGS, $LIB_FUZZING_ENGINE).
cmake -S "$SRC/mqtt-harness" -B build -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_CXX_FLAGS="$CXXFLAGS" -DMQTTH_FUZZ=ON -DMQTTH_SANITIZE=OFF \
  -DMQTTH_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
  -DMQTTH_QT=OFF -DMQTTH_TESTS=OFF -DMQTTH_BENCH=OFF
cmake --build build -j "$(nproc)"
for exe in build/fuzz/fuzz_*; do
  name=$(basename "$exe"); target=${name#fuzz_}
  cp "$exe" "$OUT/$name"
  cp "$SRC/mqtt-harness/fuzz/dict/mqtt.dict" "$OUT/$name.dict"
  # Per-target libFuzzer flags, already in ClusterFuzz's <fuzzer>.options layout.
  if [ -f "$SRC/mqtt-harness/fuzz/options/$target.options" ]; then
    cp "$SRC/mqtt-harness/fuzz/options/$target.options" "$OUT/$name.options"
  fi
  if [ -d "$SRC/mqtt-harness/fuzz/corpus/$target" ]; then
    (cd "$SRC/mqtt-harness/fuzz/corpus/$target" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
  fi
done
