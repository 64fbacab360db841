#!/usr/bin/env bash
# Benchmark: the full audit against its floor (a syn parse of every file,
# with and without proc-macro2's span-locations) and against ast-grep with
# the pattern rules of bench/ast-grep, on a pinned corpus of real crates
# (tokio, hyper, reqwest, tonic, axum, sqlx, ... ~380 crates, ~10,300 .rs
# files, 130 MB). Each row is the minimum of RUNS runs (wall and user CPU;
# peak RSS as min-max), all at the same thread count. Then checks that -j1
# and -jN print byte-identical reports. See BENCHMARKS.md.
#
#   bench/run.sh [CORPUS_DIR]   default: target/bench-corpus (vendored on first run)
#   RUNS=6 JOBS=2 AST_GREP=/path/to/ast-grep bench/run.sh ...
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-target/bench-corpus}"
runs="${RUNS:-6}"
jobs="${JOBS:-$(nproc)}"
if [ ! -d "$corpus" ]; then
  ../shared/bench-corpus/vendor.sh "$corpus"
fi
cargo build --release --locked -q
bin=target/release/cargo-mesh-audit
# The floor is its own crate so that span-locations can be left off.
for feat in "" span-locations; do
  CARGO_TARGET_DIR="target/floor${feat:+-$feat}" cargo build --release -q \
    --manifest-path bench/floor/Cargo.toml ${feat:+--features "$feat"}
done
floor=target/floor/release/mesh-audit-floor
floor_spans=target/floor-span-locations/release/mesh-audit-floor
ast_grep="${AST_GREP:-$(command -v ast-grep || true)}"

files=$(find "$corpus" -name '*.rs' | wc -l)
mb=$(find "$corpus" -name '*.rs' -print0 | du -cb --files0-from=- | tail -1 | awk '{printf "%.0f", $1/1e6}')
echo "corpus: $corpus ($files .rs files, $mb MB), $runs runs each, -j$jobs"

# measure LABEL CMD...: min wall, min user, min-max peak RSS over $runs runs.
measure() {
  local label=$1; shift
  local log; log=$(mktemp)
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %M" -a -o "$log" "$@" > /dev/null 2>&1 || true
  done
  awk -v label="$label" '
    NF == 3 { w = (w == "" || $1 < w) ? $1 : w; u = (u == "" || $2 < u) ? $2 : u
              lo = (lo == "" || $3 < lo) ? $3 : lo; hi = ($3 > hi) ? $3 : hi }
    END { printf "| %s | %.1f s | %.1f s | %d-%d MiB |\n", label, u, w, lo/1024, hi/1024 }' "$log"
  rm -f "$log"
}

echo "| | user CPU | wall -j$jobs | peak RSS |"
echo "|---|---|---|---|"
measure "syn parse of every file (the floor)" "$floor" -j "$jobs" "$corpus"
measure "syn parse with span-locations" "$floor_spans" -j "$jobs" "$corpus"
if [ -n "$ast_grep" ]; then
  measure "ast-grep with the rules of bench/ast-grep" \
    "$ast_grep" scan -c bench/ast-grep/sgconfig.yml -j "$jobs" --json=stream "$corpus"
else
  echo "(ast-grep not found: set AST_GREP or npm install @ast-grep/cli)"
fi
measure "cargo mesh-audit" "$bin" -j "$jobs" --format json --fail-on never "$corpus"
"$bin" -j "$jobs" --timings -q --format json --fail-on never "$corpus" 2>&1 >/tmp/mesh-audit-bench.json | sed 's/^/    /'
echo "findings: $(grep -c '"rule"' /tmp/mesh-audit-bench.json)"
bench/same-output.sh "$corpus" 1 "$jobs"
