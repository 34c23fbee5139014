#!/usr/bin/env bash
# Installs every Debian package that building and testing mqtt-harness needs, and the npm
# packages the end-to-end tests use: the broker aedes the scenario suite runs against
# (docs/brokers.md) and the client library MQTT.js the client suite runs against (docs/clients.md).
# Idempotent: when everything is present it changes nothing and needs no network.
# Run as root (CI and the dev machines are root); otherwise it prints what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  cmake ninja-build g++ clang-14 lld-14 llvm-14 libclang-rt-14-dev
  qt6-base-dev libyaml-cpp-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpcap-dev libmosquitto-dev libpaho-mqtt-dev zlib1g-dev
  # real peers and tools for the end-to-end tests
  mosquitto mosquitto-clients python3-paho-mqtt python3-pytest python3-pytest-xdist python3-jsonschema python3-yaml
  tshark libxml2-utils xxd chromium nodejs
  # test certificates for TLS (scripts/certs.sh, docs/tls.md)
  openssl
  # third-party brokers for the end-to-end suite (docs/brokers.md); aedes comes from npm below
  rabbitmq-server
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present" >&2
else
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: not root; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer for it.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi

# The brokers' packages may start system services (mosquitto on 1883, a RabbitMQ node and
# epmd on 4369); the tests start their own on free loopback ports, so stop these and keep
# them from starting at boot. Each step is a no-op when the service is not running.
if [ "$(id -u)" -eq 0 ]; then
  for service in mosquitto rabbitmq-server; do
    if command -v service >/dev/null 2>&1; then service "$service" stop >/dev/null 2>&1 || true; fi
    if command -v systemctl >/dev/null 2>&1; then systemctl disable "$service" >/dev/null 2>&1 || true; fi
  done
  # The system node's epmd runs as the rabbitmq user on the default port; the tests' nodes
  # use their own epmd port, so only this one is stopped.
  if command -v epmd >/dev/null 2>&1 && ERL_EPMD_PORT=4369 epmd -names >/dev/null 2>&1; then
    ERL_EPMD_PORT=4369 epmd -kill >/dev/null 2>&1 || true
  fi
fi

# npm packages pinned by a package-lock.json: `npm ci` in DIR only when the installed copy
# of PACKAGE is missing or another version than the lock file's.
npm_ci_pinned() {
  local dir=$1 package=$2 locked installed
  locked=$(node -p "require('./$dir/package-lock.json').packages['node_modules/$package'].version")
  installed=$(node -p "try { require('./$dir/node_modules/$package/package.json').version } catch { '' }")
  if [ "$installed" != "$locked" ]; then
    echo "setup: npm ci in $dir ($package $locked)" >&2
    npm ci --prefix "$dir" --no-audit --no-fund >&2
  else
    echo "setup: $package $locked present" >&2
  fi
}
# aedes, the third-party broker of the end-to-end suite (docs/brokers.md)
npm_ci_pinned scripts/brokers/aedes aedes
# MQTT.js, a client library under test (docs/clients.md)
npm_ci_pinned scripts/clients/mqttjs mqtt
