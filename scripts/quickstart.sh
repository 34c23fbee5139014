#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds mqtt-harness and runs the bundled scenario
# suite against the embedded broker, writing reports/out/index.html (and JUnit/JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset default >/dev/null
# Only what it runs: the mqtt-harness executable (scripts/test.sh builds and runs the tests).
cmake --build --preset default -j "$(nproc)" --target mqtt-harness
mkdir -p reports/out
exec build/default/harness/cli/mqtt-harness run scenarios/ -j "$(nproc)" \
  --html reports/out/index.html --junit reports/out/junit.xml --json reports/out/report.json
