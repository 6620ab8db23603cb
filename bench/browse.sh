#!/usr/bin/env bash
# browse.sh: p50/p99 of the repository browsing pages (tree, blob, raw,
# commits, commit) on a generated repository of 100,000 files and 50,000
# commits (BenchmarkBrowseLarge in internal/web; generating takes a minute
# or two).
#
# Usage: bench/browse.sh
# Environment: FILES=100000 COMMITS=50000 SAMPLES=30
# Needs: go, git.
set -euo pipefail
cd "$(dirname "$0")/.."
export GATEHOUSE_BENCH_FILES=${FILES:-100000} GATEHOUSE_BENCH_COMMITS=${COMMITS:-50000}
echo "gatehouse browse: $GATEHOUSE_BENCH_FILES files, $GATEHOUSE_BENCH_COMMITS commits, $(nproc) cores, ${SAMPLES:-30} requests a page"
go test ./internal/web -run '^$' -bench BrowseLarge -benchtime "${SAMPLES:-30}x" -timeout 30m |
  awk '/^Benchmark/ { sub(/^BenchmarkBrowseLarge\//, "", $1); sub(/-[0-9]+$/, "", $1); printf "%-20s p50 %8s ms  p99 %8s ms\n", $1, $5, $7 } /generated/ { print }'
