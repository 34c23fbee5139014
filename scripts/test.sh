#!/usr/bin/env bash
# Runs every test: unit tests (default build and ASan+UBSan build), fuzz-corpus replay and
# a short libFuzzer smoke run, and the pytest end-to-end suite. Installs what is missing
# first. Exits non-zero when anything fails. Sized for a 2-core machine (< 40 minutes).
#   MQTTH_SKIP_ASAN=1 / MQTTH_SKIP_FUZZ=1 / MQTTH_SKIP_E2E=1 skip a stage (local use only);
#   MQTTH_E2E_WORKERS=N sets the pytest-xdist workers of the end-to-end stage (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${MQTTH_JOBS:-$(nproc)}
stage() { echo "=== $* ($(date +%T))" >&2; }

stage setup
bash scripts/setup.sh

stage "default build"
cmake --preset default >/dev/null
cmake --build --preset default -j "$jobs"

stage "unit tests (default build)"
ctest --preset default -j "$jobs"

if [ "${MQTTH_SKIP_ASAN:-0}" != 1 ]; then
  stage "ASan+UBSan build"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  stage "unit tests (ASan+UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset asan -j "$jobs"
fi

if [ "${MQTTH_SKIP_FUZZ:-0}" != 1 ]; then
  stage "libFuzzer build (clang)"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$jobs"
  stage "fuzz smoke run"
  bash scripts/fuzz-smoke.sh build/fuzz
fi

if [ "${MQTTH_SKIP_E2E:-0}" != 1 ]; then
  stage "end-to-end tests (pytest)"
  MQTT_HARNESS="$root/build/default/harness/cli/mqtt-harness" \
    /usr/bin/python3 -m pytest -q -rfE -p no:cacheprovider -n "${MQTTH_E2E_WORKERS:-2}" --dist loadfile scripts/e2e
fi
stage "all tests passed"
