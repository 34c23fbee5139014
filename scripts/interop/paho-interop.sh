#!/usr/bin/env bash
# Runs eclipse/paho.mqtt.testing's classic interoperability suite against the embedded
# broker: interoperability/client_test.py (MQTT 3.1.1, 10 tests) and client_test5.py
# (MQTT 5.0, 27 tests), each against a fresh `mqtt-harness broker` on a free loopback
# port, configured with docs/examples/paho-interop.yaml (its comments say why each
# setting is there). Not run in CI, which cannot fetch the suite; see docs/broker-server.md.
#
# usage: scripts/interop/paho-interop.sh PATH_TO_paho.mqtt.testing [TEST_NAME...]
#   PATH_TO_paho.mqtt.testing  a checkout of github.com/eclipse/paho.mqtt.testing (or its
#                              interoperability/ folder); nothing of it is copied here
#   TEST_NAME                  optional unittest names, e.g. Test.test_server_keep_alive,
#                              run in both files (a name a file lacks fails there)
# Environment: MQTT_HARNESS (default build/default/harness/cli/mqtt-harness), PYTHON
# (default /usr/bin/python3), PAHO_INTEROP_OUT (default reports/out/paho-interop: each
# file's test output and the broker's --verbose log).
# Exit status: 0 every test passed, 1 a test failed, 2 bad usage or the broker did not start.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
suite="$1"
shift
[[ -f "$suite/interoperability/client_test5.py" ]] && suite="$suite/interoperability"
if [[ ! -f "$suite/client_test.py" || ! -f "$suite/client_test5.py" ]]; then
  echo "paho-interop.sh: no client_test.py and client_test5.py under $1" >&2
  exit 2
fi
suite="$(cd "$suite" && pwd)"
harness="${MQTT_HARNESS:-$repo/build/default/harness/cli/mqtt-harness}"
python="${PYTHON:-/usr/bin/python3}"
config="$repo/docs/examples/paho-interop.yaml"
out="${PAHO_INTEROP_OUT:-$repo/reports/out/paho-interop}"
if [[ ! -x "$harness" ]]; then
  echo "paho-interop.sh: $harness is not built (cmake --build --preset default)" >&2
  exit 2
fi
mkdir -p "$out"

broker_pid=""
stop_broker() {
  if [[ -n "$broker_pid" ]]; then
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""
  fi
}
trap stop_broker EXIT

# Starts the broker on a free port; sets broker_pid and port.
start_broker() {
  local name="$1"
  "$harness" broker --listen 127.0.0.1:0 --config "$config" --verbose \
    >"$out/$name.broker.out" 2>"$out/$name.broker.log" &
  broker_pid=$!
  for _ in $(seq 100); do
    if grep -q '^listening on ' "$out/$name.broker.out"; then
      port="$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out/$name.broker.out")"
      return 0
    fi
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "paho-interop.sh: the broker did not start; see $out/$name.broker.log" >&2
  exit 2
}

status=0
for name in client_test client_test5; do
  start_broker "$name"
  echo "== $name against 127.0.0.1:$port"
  # Every test sleeps a few seconds; client_test5 takes about 160 s in all.
  if timeout 900 "$python" "$here/run_paho_suite.py" "$suite" "$name" 127.0.0.1 "$port" "$@" \
      >"$out/$name.out" 2>&1; then
    tail -n 1 "$out/$name.out"
  else
    status=1
    grep -E '^(FAIL|ERROR):' "$out/$name.out" || true
    tail -n 1 "$out/$name.out"
  fi
  stop_broker
done
echo "output and broker logs: $out"
exit "$status"
