#!/usr/bin/env bash
# Peak memory and time as the repository grows: the corpus, and 2 and 4
# hard-linked copies of it side by side (no extra disk), audited at -jJOBS.
#
#   bench/scale.sh [CORPUS_DIR]      RUNS=2 JOBS=2 by default; BIN=path measures
#                                    that binary instead of building this tree
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=$(realpath "${1:-target/bench-corpus}")
runs="${RUNS:-2}"
jobs="${JOBS:-$(nproc)}"
if [ -z "${BIN:-}" ]; then cargo build --release --locked -q; fi
bin=${BIN:-target/release/cargo-mesh-audit}
scale=target/bench-scale
echo "| copies | .rs files | user CPU | wall -j$jobs | peak RSS | findings |"
echo "|---|---|---|---|---|---|"
for n in 1 2 4; do
  dir="$scale/${n}x"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    for i in $(seq "$n"); do cp -al "$corpus" "$dir/copy$i"; done
  fi
  files=$(find "$dir" -name '*.rs' | wc -l)
  log=$(mktemp)
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %M" -a -o "$log" "$bin" -j "$jobs" --format json --fail-on never "$dir" > /tmp/mesh-audit-scale.json
  done
  findings=$(grep -c '"rule"' /tmp/mesh-audit-scale.json || true)
  awk -v n="$n" -v files="$files" -v f="$findings" '
    NF == 3 { w = (w == "" || $1 < w) ? $1 : w; u = (u == "" || $2 < u) ? $2 : u
              lo = (lo == "" || $3 < lo) ? $3 : lo; hi = ($3 > hi) ? $3 : hi }
    END { printf "| %dx | %d | %.1f s | %.1f s | %d-%d MiB | %d |\n", n, files, u, w, lo/1024, hi/1024, f }' "$log"
  rm -f "$log"
done
