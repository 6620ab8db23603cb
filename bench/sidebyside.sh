#!/usr/bin/env bash
# sidebyside.sh: server CPU per git operation for Gatehouse and for stock
# `git http-backend` under nginx + fcgiwrap (HTTP Basic auth in nginx), the
# same repository served by both, in one run: ls-remote (v0, v2), no-op
# fetch (v0, v2), full clone --bare (repeated, and cold: Gatehouse's pack
# cache emptied first), 32 parallel clones (cold and warm), and the peak
# memory of Gatehouse under BIG parallel clones.
#
# Server CPU is the machine's busy CPU during a round (/proc/stat) minus
# the clients' own CPU (the children this script waited for), so that it
# counts what a server makes the machine do however its processes are
# arranged (fcgiwrap's children, for one, are not all reaped into its
# counters). Run it on a quiet machine. Clients run with pack.threads=1:
# the interrupts of a multi-threaded index-pack are charged to no process
# and would otherwise count as server time.
# Plain HTTP on 127.0.0.1 for both, so that TLS hides neither.
#
# Usage: bench/sidebyside.sh
# Environment:
#   GATEHOUSE_BIN=…      binary to measure (default: built from this tree)
#   ROUNDS=200 CLONES=20 operations per figure (ref operations cost about a
#                        10 ms clock tick each: fewer rounds are noise)
#   BIG=200              parallel clones for the memory figure (0: none)
#   HISTORY=DIR          bare repository to serve (default: bench/mkhistory)
#   WORK=/tmp/gatehouse-sidebyside  scratch directory (emptied first)
#   CGI_PORT=3080 FCGI_CHILDREN=4
#   SERVE_ARGS=…         extra flags for gatehouse serve
# Needs: go, git, nginx, fcgiwrap, openssl, curl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-200}; CLONES=${CLONES:-20}; BIG=${BIG:-200}
WORK=${WORK:-/tmp/gatehouse-sidebyside}
CGI_PORT=${CGI_PORT:-3080}; FCGI_CHILDREN=${FCGI_CHILDREN:-4}
for c in git nginx fcgiwrap openssl curl; do command -v $c >/dev/null || { echo "needs $c" >&2; exit 2; }; done
rm -rf "$WORK"; mkdir -p "$WORK"
gh=${GATEHOUSE_BIN:-}
if [ -z "$gh" ]; then (cd "$root" && go build -o "$WORK/gatehouse" ./cmd/gatehouse); gh=$WORK/gatehouse; fi
HISTORY=${HISTORY:-/tmp/gatehouse-history.git}
[ -d "$HISTORY" ] || (cd "$root" && go run ./bench/mkhistory "$HISTORY")
export GATEHOUSE_DATA=$WORK/data GIT_TERMINAL_PROMPT=0
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -f "fcgiwrap -c .* -s unix:$WORK/" 2>/dev/null || true # its children outlive it
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Gatehouse.
$gh admin user create --username bench --email bench@example.com >/dev/null 2>&1
$gh admin repo create bench/bench-private --private >/dev/null 2>&1
TOKEN=$($gh admin token create --user bench --note bench --scopes repo 2>/dev/null)
# shellcheck disable=SC2086
$gh serve --listen 127.0.0.1:0 --log-level warn ${SERVE_ARGS:-} 2>"$WORK/serve.log" &
gpid=$!; pids+=("$gpid")
for _ in $(seq 100); do grep -q 'listening on' "$WORK/serve.log" && break; sleep 0.1; done
BASE=$(grep -o 'listening on http://[0-9.:]*' "$WORK/serve.log" | awk '{print $3}')
[ -n "$BASE" ] || { cat "$WORK/serve.log"; exit 1; }
GURL=${BASE/http:\/\//http://bench:$TOKEN@}/bench/bench-private.git
git -C "$HISTORY" push -q --mirror "$GURL"
SERVED=$GATEHOUSE_DATA/repositories/1.git
for _ in $(seq 600); do ls "$SERVED"/objects/pack/*.bitmap >/dev/null 2>&1 && break; sleep 0.1; done
sleep 2

# git http-backend: the repository as Gatehouse keeps it (repacked, with
# bitmaps), so that both serve the same packs.
C=$WORK/cgi; mkdir -p "$C/repos" "$C/tmp"
cp -a "$SERVED" "$C/repos/bench.git"
git -C "$C/repos/bench.git" config --unset-all core.hooksPath 2>/dev/null || true
printf 'bench:%s\n' "$(openssl passwd -apr1 bench)" > "$C/htpasswd"
user_line=""; [ "$(id -u)" = 0 ] && user_line="user root root;"
cat > "$C/nginx.conf" <<EOF
$user_line
worker_processes 2;
daemon off;
error_log $C/error.log warn;
pid $C/nginx.run.pid;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $C/tmp/body; fastcgi_temp_path $C/tmp/fastcgi;
  proxy_temp_path $C/tmp/proxy; uwsgi_temp_path $C/tmp/uwsgi; scgi_temp_path $C/tmp/scgi;
  server {
    listen 127.0.0.1:$CGI_PORT;
    client_max_body_size 0;
    location / {
      auth_basic "git"; auth_basic_user_file $C/htpasswd;
      fastcgi_pass unix:$C/fcgiwrap.sock; fastcgi_read_timeout 600s;
      fastcgi_param SCRIPT_FILENAME $(git --exec-path)/git-http-backend;
      fastcgi_param GIT_PROJECT_ROOT $C/repos; fastcgi_param GIT_HTTP_EXPORT_ALL "";
      fastcgi_param GIT_PROTOCOL \$http_git_protocol; fastcgi_param PATH_INFO \$uri;
      fastcgi_param REMOTE_USER \$remote_user; fastcgi_param REMOTE_ADDR \$remote_addr;
      fastcgi_param REQUEST_METHOD \$request_method; fastcgi_param QUERY_STRING \$query_string;
      fastcgi_param CONTENT_TYPE \$content_type; fastcgi_param CONTENT_LENGTH \$content_length;
      fastcgi_param SERVER_PROTOCOL \$server_protocol; fastcgi_param GATEWAY_INTERFACE CGI/1.1;
    }
  }
}
EOF
fcgiwrap -c "$FCGI_CHILDREN" -s "unix:$C/fcgiwrap.sock" >"$C/fcgiwrap.log" 2>&1 &
fpid=$!; pids+=("$fpid")
for _ in $(seq 50); do [ -S "$C/fcgiwrap.sock" ] && break; sleep 0.1; done
nginx -p "$C" -c "$C/nginx.conf" -e "$C/error.log" >"$C/nginx.log" 2>&1 &
npid=$!; pids+=("$npid")
CURL=http://bench:bench@127.0.0.1:$CGI_PORT/bench.git
for _ in $(seq 50); do curl -sf -o /dev/null "$CURL/info/refs?service=git-upload-pack" && break; sleep 0.1; done
git -c credential.helper= ls-remote "$CURL" >/dev/null || { cat "$C/error.log"; exit 1; }

hz=$(getconf CLK_TCK)
# tree_ticks ROOT…: CPU ticks of each root and its living descendants,
# their reaped children included.
# busy: the machine's busy CPU ticks so far; mine: the CPU ticks of the
# children this shell has waited for (the clients).
busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
mine() { sed 's/^.*) //' /proc/$$/stat | awk '{print $14 + $15}'; }
# own PID: the CPU ticks of process PID and of the children it reaped.
own() { sed 's/^.*) //' /proc/"$1"/stat | awk '{print $12 + $13 + $14 + $15}'; }
g="git -c credential.helper= -c pack.threads=1"
declare -A result
measure() { # SERVER NAME N COMMAND…
  local srv=$1 name=$2 n=$3; shift 3
  local b0 b1 c0 c1 o0 o1 i
  b0=$(busy); c0=$(mine); o0=$(own "$gpid")
  for i in $(seq "$n"); do "$@" >/dev/null 2>&1 || true; done
  b1=$(busy); c1=$(mine); o1=$(own "$gpid")
  result[$srv,$name]=$(awk -v b="$((b1 - b0))" -v c="$((c1 - c0))" -v n="$n" -v hz="$hz" 'BEGIN {printf "%.1f", (b - c) * 1000 / hz / n}')
  # Gatehouse's own process and the git processes it reaped.
  [ "$srv" = gatehouse ] && result[own,$name]=$(awk -v o="$((o1 - o0))" -v n="$n" -v hz="$hz" 'BEGIN {printf "%.1f", o * 1000 / hz / n}')
  return 0
}
empty_cache() { [ "$srv" = gatehouse ] && rm -f "$GATEHOUSE_DATA"/cache/packs/* || true; }
names=("ls-remote v0" "ls-remote v2" "no-op fetch v0" "no-op fetch v2" "clone --bare (cold)" "clone --bare (repeated)" "32 parallel, cold (total)" "32 parallel, warm (total)")
for srv in gatehouse cgi; do
  if [ $srv = gatehouse ]; then URL=$GURL; else URL=$CURL; fi
  rm -rf "$WORK/fetcher.git"; $g clone -q --bare "$URL" "$WORK/fetcher.git"
  measure $srv "ls-remote v0" "$ROUNDS" $g -c protocol.version=0 ls-remote "$URL"
  measure $srv "ls-remote v2" "$ROUNDS" $g -c protocol.version=2 ls-remote "$URL"
  measure $srv "no-op fetch v0" "$ROUNDS" $g -C "$WORK/fetcher.git" -c protocol.version=0 fetch -q "$URL" '+refs/*:refs/*'
  measure $srv "no-op fetch v2" "$ROUNDS" $g -C "$WORK/fetcher.git" -c protocol.version=2 fetch -q "$URL" '+refs/*:refs/*'
  clone() { rm -rf "$WORK/dst"; $g clone -q --bare "$URL" "$WORK/dst"; }
  cold() { empty_cache; clone; }
  measure $srv "clone --bare (cold)" "$CLONES" cold
  clone # warm
  measure $srv "clone --bare (repeated)" "$CLONES" clone
  par() { # N: waits for its own clones only: the servers are children too
    local i js=()
    for i in $(seq "$1"); do ($g clone -q --bare "$URL" "$WORK/par$i" >/dev/null 2>&1 && touch "$WORK/ok$i") & js+=($!); done
    wait "${js[@]}" || true
  }
  parcold() { empty_cache; par 32; }
  measure $srv "32 parallel, cold (total)" 1 parcold
  result[$srv,cold]=$(ls "$WORK"/ok* 2>/dev/null | wc -l); rm -rf "$WORK"/par* "$WORK"/ok*
  measure $srv "32 parallel, warm (total)" 1 par 32
  result[$srv,warm]=$(ls "$WORK"/ok* 2>/dev/null | wc -l); rm -rf "$WORK"/par* "$WORK"/ok*
done
if [ "$BIG" -gt 0 ]; then
  # Peak memory under BIG clones at once, the cache emptied first. The
  # clients' own memory is theirs: VmHWM is the server's alone.
  srv=gatehouse URL=$GURL
  rss0=$(awk '/VmRSS/{print $2}' /proc/$gpid/status)
  echo 5 > /proc/$gpid/clear_refs 2>/dev/null || true # peak := now
  empty_cache; par "$BIG"
  result[big]=$(ls "$WORK"/ok* 2>/dev/null | wc -l); rm -rf "$WORK"/par* "$WORK"/ok*
  result[bigrss]="$((rss0 / 1024)) MiB before, peak $(awk '/VmHWM/{print int($2 / 1024)}' /proc/$gpid/status) MiB"
fi
echo "history: $(git -C "$HISTORY" rev-list --count --all) commits, $(du -sh "$SERVED/objects/pack" | cut -f1) of packs; $(nproc) CPUs; $(git --version)"
printf '%-28s %12s %12s %8s %14s\n' "server CPU, ms" gatehouse http-backend ratio "gatehouse own"
for n in "${names[@]}"; do
  a=${result[gatehouse,$n]}; b=${result[cgi,$n]}
  printf '%-28s %12s %12s %8s %14s\n' "$n" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {if (a > 0) printf "%.1fx", b / a; else print "-"}')" "${result[own,$n]}"
done
echo "32 parallel clones served: cold gatehouse ${result[gatehouse,cold]}/32, http-backend ${result[cgi,cold]}/32; warm gatehouse ${result[gatehouse,warm]}/32, http-backend ${result[cgi,warm]}/32"
awk -v p="${result[gatehouse,32 parallel, cold (total)]}" -v c="${result[gatehouse,clone --bare (cold)]}" 'BEGIN {if (c > 0) printf "gatehouse: 32 parallel cold clones = %.2fx one cold clone\n", p / c}'
[ "$BIG" -gt 0 ] && echo "gatehouse under $BIG parallel clones: ${result[big]}/$BIG served; RSS ${result[bigrss]}"
echo "gatehouse peak RSS over the whole run $(awk '/VmHWM/{print $2, $3}' /proc/$gpid/status)"
