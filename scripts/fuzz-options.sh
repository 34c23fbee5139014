#!/usr/bin/env bash
# Prints the libFuzzer flags of one target from fuzz/options/<target>.options (the
# OSS-Fuzz `[libfuzzer]` key = value layout), one -key=value per line; nothing if the
# target has no options file.
#   scripts/fuzz-options.sh TARGET
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
file="$root/fuzz/options/${1:?usage: fuzz-options.sh TARGET}.options"
[ -f "$file" ] || exit 0
awk '
  /^[[:space:]]*(#|$)/ { next }
  /^\[/ { section = $0; next }
  section == "[libfuzzer]" && index($0, "=") {
    key = $0; sub(/[[:space:]]*=.*/, "", key); gsub(/^[[:space:]]+/, "", key)
    value = $0; sub(/^[^=]*=[[:space:]]*/, "", value); sub(/[[:space:]]+$/, "", value)
    print "-" key "=" value
  }' "$file"
