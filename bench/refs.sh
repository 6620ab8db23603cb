#!/usr/bin/env bash
# refs.sh: server CPU per git operation: ls-remote (v0 and v2), no-op
# fetch (v2) and repeated full clone --bare, measured as the server's own
# CPU (its utime+stime plus that of the git processes it ran and reaped,
# from /proc/PID/stat) over ROUNDS operations; and ls-remote wall time
# against file:// with hyperfine. Plain HTTP on 127.0.0.1 (loopback may
# send credentials without TLS), so that TLS does not hide git's cost.
#
# Usage: bench/refs.sh
# Environment:
#   GATEHOUSE_BIN=…      binary to measure (default: built from this tree)
#   ROUNDS=50 CLONES=5   operations per figure
#   HISTORY=DIR          bare repository to serve (default: bench/mkhistory)
#   WORK=/tmp/gatehouse-refs-bench  scratch directory (emptied first)
# Needs: go, git, hyperfine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-50}; CLONES=${CLONES:-5}
WORK=${WORK:-/tmp/gatehouse-refs-bench}
rm -rf "$WORK"; mkdir -p "$WORK"
gh=${GATEHOUSE_BIN:-}
if [ -z "$gh" ]; then (cd "$root" && go build -o "$WORK/gatehouse" ./cmd/gatehouse); gh=$WORK/gatehouse; fi
HISTORY=${HISTORY:-/tmp/gatehouse-history.git}
[ -d "$HISTORY" ] || (cd "$root" && go run ./bench/mkhistory "$HISTORY")
export GATEHOUSE_DATA=$WORK/data GIT_TERMINAL_PROMPT=0
$gh admin user create --username bench --email bench@example.com >/dev/null 2>&1
$gh admin repo create bench/bench-private --private >/dev/null 2>&1
TOKEN=$($gh admin token create --user bench --note bench --scopes repo 2>/dev/null)
$gh serve --listen 127.0.0.1:0 --log-level warn 2>"$WORK/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$WORK/serve.log" && break; sleep 0.1; done
BASE=$(grep -o 'listening on http://[0-9.:]*' "$WORK/serve.log" | awk '{print $3}')
[ -n "$BASE" ] || { cat "$WORK/serve.log"; exit 1; }
URL=${BASE/http:\/\//http://bench:$TOKEN@}/bench/bench-private.git
git -C "$HISTORY" push -q --mirror "$URL"
SERVED=$GATEHOUSE_DATA/repositories/1.git
for _ in $(seq 600); do ls "$SERVED"/objects/pack/*.bitmap >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
g="git -c credential.helper= -c pack.threads=1"
git clone -q --bare "$URL" "$WORK/fetcher.git"
hz=$(getconf CLK_TCK)
ticks() { sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13 + $14 + $15}'; }
measure() { # NAME N COMMAND…
  local name=$1 n=$2; shift 2
  local t0 t1 i
  t0=$(ticks)
  for i in $(seq "$n"); do "$@" >/dev/null 2>&1; done
  t1=$(ticks)
  awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$hz" -v name="$name" \
    'BEGIN {printf "%-26s %8.2f ms server CPU each (%d runs)\n", name, (b - a) * 1000 / hz / n, n}'
}
echo "server $BASE pid $pid; history $(git -C "$HISTORY" rev-list --count HEAD) commits, $(du -sh "$SERVED/objects/pack" | cut -f1) served"
measure "ls-remote v0" "$ROUNDS" $g -c protocol.version=0 ls-remote "$URL"
measure "ls-remote v2" "$ROUNDS" $g -c protocol.version=2 ls-remote "$URL"
measure "no-op fetch v2" "$ROUNDS" $g -C "$WORK/fetcher.git" -c protocol.version=2 fetch -q "$URL" '+refs/*:refs/*'
measure "no-op fetch v0" "$ROUNDS" $g -C "$WORK/fetcher.git" -c protocol.version=0 fetch -q "$URL" '+refs/*:refs/*'
clone() { rm -rf "$WORK/dst"; $g clone -q --bare "$URL" "$WORK/dst"; }
measure "clone --bare (repeated)" "$CLONES" clone
t0=$(ticks)
# Beyond githttp.Limits (8 per client by default) clones are refused;
# the count of those that succeeded is printed with the figure.
for i in $(seq 32); do ($g clone -q --bare "$URL" "$WORK/par$i" >/dev/null 2>&1 && touch "$WORK/ok$i") & done; wait
t1=$(ticks); ok=$(ls "$WORK"/ok* 2>/dev/null | wc -l); rm -rf "$WORK"/par* "$WORK"/ok*
awk -v a="$t0" -v b="$t1" -v hz="$hz" -v ok="$ok" 'BEGIN {printf "%-26s %8.2f ms server CPU in all (%d of 32 served)\n", "32 parallel clones", (b - a) * 1000 / hz, ok}'
hyperfine --style basic -N --runs 40 --warmup 3 --export-csv "$WORK/ls.csv" \
  -n server "$g ls-remote $URL" -n file "git ls-remote file://$SERVED" >/dev/null
awk -F, 'NR==2{s=$4} NR==3{f=$4} END{printf "ls-remote wall: server %.1f ms, file:// %.1f ms, ratio %.2fx\n", s*1000, f*1000, s/f}' "$WORK/ls.csv"
echo "server peak RSS $(awk '/VmHWM/{print $2, $3}' /proc/$pid/status)"
