#!/usr/bin/env bash
# Runs codec_bench (C++, libmqttcodec) and scripts/bench/mqtt-packet/bench.js (node's
# mqtt-packet, the parser of MQTT.js) on the same bytes and prints packets/s side by side
# with the ratio. See docs/benchmarks.md.
#
# usage: scripts/bench/codec-vs-mqtt-packet.sh [BUILD_DIR]   (default: build/default)
#   needs: a build with MQTTH_BENCH=ON (target codec_bench), node, and
#          `npm ci --prefix scripts/bench` (installs mqtt-packet from package-lock.json).
# env: BENCH_MIN_TIME (seconds per C++ benchmark, default 1), NODE_SECONDS (default 2),
#      BENCH_CPU (pin both to this CPU with taskset, default: not pinned).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$repo/build/default}"
bench="$build/codec/bench/codec_bench"
[[ -x "$bench" ]] || { echo "codec_bench not found at $bench (build target codec_bench with MQTTH_BENCH=ON)" >&2; exit 2; }
[[ -d "$repo/scripts/bench/node_modules/mqtt-packet" ]] || { echo "run: npm ci --prefix $repo/scripts/bench" >&2; exit 2; }

pin=()
[[ -n "${BENCH_CPU:-}" ]] && pin=(taskset -c "$BENCH_CPU")
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

filter='BM_DecodeSmallPublish_v311$|BM_DecodeSmallPublish_v5_2props$|BM_DecodePublish64KiB$|BM_MemcpyPublish64KiB$|BM_FramerAndDecode1MiB_1460B_chunks$'
"${pin[@]}" "$bench" --benchmark_filter="$filter" --benchmark_min_time="${BENCH_MIN_TIME:-1}" \
  --benchmark_format=json --benchmark_out="$tmp/codec.json" --benchmark_out_format=json > /dev/null
"${pin[@]}" node "$repo/scripts/bench/mqtt-packet/bench.js" --seconds "${NODE_SECONDS:-2}" > "$tmp/node.jsonl"

python3 - "$tmp/codec.json" "$tmp/node.jsonl" <<'PY'
import json, sys
codec = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
node = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
print(f"{'benchmark':40} {'codec packets/s':>16} {'mqtt-packet p/s':>16} {'ratio':>8}")
for n in node:
    c = codec.get(n["compare_to"])
    if not c:
        continue
    ratio = c["items_per_second"] / n["items_per_second"]
    print(f"{n['compare_to']:40} {c['items_per_second']:16,.0f} {n['items_per_second']:16,.0f} {ratio:7.1f}x")
m = codec.get("BM_MemcpyPublish64KiB")
d = codec.get("BM_DecodePublish64KiB")
if m and d:
    print(f"\n64 KiB PUBLISH: decode {d['bytes_per_second']/1e9:,.1f} GB/s vs memcpy {m['bytes_per_second']/1e9:,.1f} GB/s"
          f" ({d['bytes_per_second']/m['bytes_per_second']:.1f}x memcpy)")
PY
