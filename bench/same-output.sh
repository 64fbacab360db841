#!/usr/bin/env bash
# Checks that the audit prints byte-identical reports whatever the thread
# count: `bench/same-output.sh DIR [J1 J2 ...]` (default 1 and nproc), and
# that the prefilter drops no finding (the same findings with --no-prefilter).
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
# The prefilter only skips files no rule can report in, and crates that
# cannot reach the network are not parsed at all (crates/mesh-audit/src/reach.rs):
# the findings and suppression notes are the same; errors may differ by the
# syntax errors of files that were not parsed (listed).
"$bin" -j "$first" --no-prefilter --format json --fail-on never "$dir" | grep -v '"elapsed_ms"' > "$out/json-all"
if python3 - "$out/json-$first" "$out/json-all" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
same = all(a[k] == b[k] for k in ("findings", "suppression_notes"))
only = sorted({e["file"] for e in b["errors"]} - {e["file"] for e in a["errors"]})
print(("same" if same else "DIFFERENT") + f" findings and suppression notes with and without the prefilter ({len(a['findings'])} findings)")
if only:
    print("errors only without the prefilter (files not parsed):", ", ".join(only))
sys.exit(0 if same and {e["file"] for e in a["errors"]} <= {e["file"] for e in b["errors"]} else 1)
PY
then :; else
  diff "$out/json-$first" "$out/json-all" | head -20
  status=1
fi
rm -rf "$out"
exit $status
