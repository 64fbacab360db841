#!/usr/bin/env bash
# Checks that the audit prints byte-identical reports whatever the thread
# count: `bench/same-output.sh DIR [J1 J2 ...]` (default 1 and nproc).
# The JSON report (less its `elapsed_ms`) is compared: every other format
# renders the same sorted report.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1; shift
if [ $# -ge 2 ]; then counts=("$@"); else counts=(1 "$(nproc)"); fi
bin=target/release/cargo-mesh-audit
[ -x "$bin" ] || cargo build --release --locked -q
out=$(mktemp -d)
for j in "${counts[@]}"; do
  "$bin" -j "$j" --format json --fail-on never "$dir" | grep -v '"elapsed_ms"' > "$out/json-$j"
done
first=${counts[0]}
status=0
for j in "${counts[@]:1}"; do
  for f in json; do
    if cmp -s "$out/$f-$first" "$out/$f-$j"; then
      echo "same $f output with -j$first and -j$j ($(wc -c < "$out/$f-$j") bytes)"
    else
      echo "DIFFERENT $f output with -j$first and -j$j:"; diff "$out/$f-$first" "$out/$f-$j" | head -20
      status=1
    fi
  done
done
rm -rf "$out"
exit $status
