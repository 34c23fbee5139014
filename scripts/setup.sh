#!/usr/bin/env bash
# Installs every Debian package that building and testing mqtt-harness needs.
# Idempotent: when everything is present it changes nothing and needs no network.
# Run as root (CI and the dev machines are root); otherwise it prints what is missing.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ clang-14 lld-14 llvm-14 libclang-rt-14-dev
  qt6-base-dev libyaml-cpp-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpcap-dev libmosquitto-dev
  # real peers and tools for the end-to-end tests
  mosquitto mosquitto-clients python3-paho-mqtt python3-pytest python3-jsonschema python3-yaml
  tshark libxml2-utils xxd chromium nodejs
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present" >&2
  exit 0
fi

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
# The mosquitto package may start a system broker on 1883; tests start their own on free ports.
if command -v service >/dev/null 2>&1; then service mosquitto stop >/dev/null 2>&1 || true; fi
