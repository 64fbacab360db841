#!/usr/bin/env bash
# Checks that the audit prints byte-identical reports whatever the thread
# count: `bench/same-output.sh DIR [J1 J2 ...]` (default 1 and nproc), and
# that the prefilter drops no finding (the same report with --no-prefilter).
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
# The prefilter only skips files no rule can report in.
"$bin" -j "$first" --no-prefilter --format json --fail-on never "$dir" | grep -v '"elapsed_ms"' > "$out/json-all"
if cmp -s "$out/json-$first" "$out/json-all"; then
  echo "same json output with and without the prefilter"
else
  echo "DIFFERENT json output without the prefilter:"; diff "$out/json-$first" "$out/json-all" | head -20
  status=1
fi
rm -rf "$out"
exit $status
