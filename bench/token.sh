#!/usr/bin/env bash
# token.sh: the per-request cost of checking a personal access token —
# cached (seen before: parse, checksum, SHA-256, map read), uncached (plus
# the indexed SQLite lookup of token and user) and rejected (bad checksum,
# no lookup at all).
# Usage: bench/token.sh   (COUNT=5 BENCHTIME=1s)
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'Token|Parse|Hash' -benchmem -count "${COUNT:-5}" -benchtime "${BENCHTIME:-1s}" \
  ./internal/auth/ ./internal/token/
