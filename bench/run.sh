#!/usr/bin/env bash
# Benchmark: audit a pinned corpus of real third-party crates (tokio, hyper,
# reqwest, tonic, axum, sqlx, ... ~380 crates, ~10,300 .rs files, 130 MB)
# and report wall time, CPU time and peak memory. See BENCHMARKS.md.
#
#   bench/run.sh [CORPUS_DIR]     default: target/bench-corpus (built on first run)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-target/bench-corpus}"
if [ ! -d "$corpus" ]; then
  ../shared/bench-corpus/vendor.sh "$corpus"
fi
cargo build --release --locked -q
bin=target/release/cargo-mesh-audit
files=$(find "$corpus" -name '*.rs' | wc -l)
echo "corpus: $corpus ($files .rs files)"
for threads in 1 0; do
  label=$([ "$threads" = 0 ] && echo "all cores ($(nproc))" || echo "1 thread")
  for run in 1 2 3; do
    /usr/bin/time -f "$label run $run: %e s wall, %U s user, %M KB max RSS" \
      "$bin" -j "$threads" --format json --fail-on never "$corpus" > /tmp/mesh-audit-bench.json
  done
done
echo "findings: $(grep -c '"rule"' /tmp/mesh-audit-bench.json)"
