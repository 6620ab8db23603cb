#!/usr/bin/env bash
# api.sh: throughput and latency of GET /api/v3/user with wrk, once with a
# valid token and once with an invalid one.
#
# It builds gatehouse, starts it on 127.0.0.1 (plain HTTP: loopback may
# carry credentials) with a fresh data dir, creates a user and a token,
# runs wrk against it and prints req/s and p50/p99 for each case.
#
# Usage: bench/api.sh
# Environment: DURATION=10s THREADS=2 CONNS=32 OUT_DIR=<temp dir>
# Needs: go, wrk (Debian: apt-get install -y wrk), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}; THREADS=${THREADS:-2}; CONNS=${CONNS:-32}
for t in go wrk curl; do command -v "$t" >/dev/null || { echo "api.sh: $t is not installed" >&2; exit 1; }; done

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
OUT_DIR=${OUT_DIR:-$work}
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work/data" "$work/gatehouse"
}
trap cleanup EXIT

go build -o "$work/gatehouse" ./cmd/gatehouse
export GATEHOUSE_DATA="$work/data"
"$work/gatehouse" admin user create --username bench --email bench@example.com >/dev/null 2>&1
token=$("$work/gatehouse" admin token create --user bench --note bench --scopes repo,read:org --expires 7d 2>/dev/null)
# Right prefix and length, wrong checksum: refused before any lookup.
invalid="gtp_000000000000000000000000000000000000"

# Access log lines go to a file: writing them is part of the cost measured.
"$work/gatehouse" serve --listen 127.0.0.1:0 ${SERVE_ARGS:-} 2>"$work/server.log" &
server_pid=$!
base=""
for _ in $(seq 100); do
  base=$(grep -o 'listening on http://[0-9.:]*' "$work/server.log" | head -1 | sed 's/listening on //') || true
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { echo "api.sh: server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
url="$base/api/v3/user"
curl -fsS -H "Authorization: token $token" "$url" >/dev/null

echo "gatehouse $("$work/gatehouse" version | cut -d' ' -f2), $(nproc) cores, wrk -t$THREADS -c$CONNS -d$DURATION --latency $url"
printf '%-14s %10s %9s %9s %8s\n' case req/s p50 p99 non-2xx
run() {
  local name=$1 tok=$2 out="$OUT_DIR/wrk-$1.txt"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Authorization: token $tok" "$url" >"$out"
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1=="50%" {print $2}' "$out")
  p99=$(awk '$1=="99%" {print $2}' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$out")
  printf '%-14s %10s %9s %9s %8s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
run valid-token "$token"
run invalid-token "$invalid"
echo "raw wrk output in $OUT_DIR"
