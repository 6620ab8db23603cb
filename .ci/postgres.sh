#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the store contract suite and the
# multi-node end-to-end tests.
#
#   eval "$(bash .ci/postgres.sh start)"   # start; exports GATEHOUSE_TEST_POSTGRES_URL
#   bash .ci/postgres.sh stop              # stop it and remove its files
#   bash .ci/postgres.sh down              # stop the server, keep the cluster
#   bash .ci/postgres.sh up                # start it again, same port and data
#   bash .ci/postgres.sh restart           # down, then up
#
# start installs Debian's postgresql package when the binaries are missing,
# creates a fresh cluster in a new temporary directory owned by the postgres
# user (the server refuses to run as root), listens on 127.0.0.1 on a free
# port with trust authentication, creates the database gatehouse_test and
# prints the export lines on stdout (progress goes to stderr). Every start
# makes a new cluster, so runs never see each other's data; clusters left
# behind by runs that were killed are removed once their server is gone.
# stop, down, up and restart take the directory from GATEHOUSE_PG_DIR (set
# by start) or from their second argument. down and up let a test take the
# database away from running servers and give it back (e2e/faults): down is
# a fast shutdown, which ends every session with admin_shutdown (57P01) as
# an operator's restart does, and up starts the same cluster on the same
# port, so that clients reconnect to the URL they already have.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DB=gatehouse_test

log() { echo "postgres.sh: $*" >&2; }

# as_pg runs a command as the postgres user when we are root, from /, since
# the postgres user may not be allowed into the current directory.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && "$(command -v runuser || echo /usr/sbin/runuser)" -u postgres -- "$@")
  else
    "$@"
  fi
}

install_postgres() {
  [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] && return
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL 15 is not installed in $PGBIN; install Debian's postgresql package"
    exit 1
  fi
  log "installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends postgresql >&2 ||
    { apt-get update >&2 && apt-get install -y --no-install-recommends postgresql >&2; }
  [ -x "$PGBIN/initdb" ] || { log "no initdb in $PGBIN after installing postgresql"; exit 1; }
}

# clean_stale removes clusters of earlier runs whose server no longer runs.
# Directories younger than five minutes are left alone: they may belong to
# another run that is starting right now.
clean_stale() {
  local d pid
  for d in "${TMPDIR:-/tmp}"/gatehouse-pg.*; do
    [ -d "$d" ] && [ -n "$(find "$d" -maxdepth 0 -mmin +5)" ] || continue
    pid=$(head -1 "$d/data/postmaster.pid" 2>/dev/null || true)
    # A killed server may linger as a zombie until it is reaped.
    if [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] && [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ]; then
      continue
    fi
    rm -rf "$d"
  done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  install_postgres
  clean_stale
  local dir port tries
  dir=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-pg.XXXXXX")
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { log "the postgres user is missing (the postgresql package creates it)"; exit 1; }
    chown postgres: "$dir"
  fi
  as_pg "$PGBIN/initdb" --pgdata="$dir/data" --username=postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  # Durability is worth nothing for a throwaway server; speed is.
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  for tries in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    if as_pg "$PGBIN/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait \
      --options="-p $port" start >/dev/null; then
      break
    fi
    port=
    grep -q 'could not bind\|Address already in use' "$dir/server.log" || { cat "$dir/server.log" >&2; exit 1; }
  done
  [ -n "$port" ] || { log "no free port found"; exit 1; }
  echo "$port" >"$dir/port"
  as_pg "$PGBIN/createdb" --host=127.0.0.1 --port="$port" --username=postgres "$DB"
  log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, files in $dir"
  echo "export GATEHOUSE_PG_DIR='$dir'"
  echo "export GATEHOUSE_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:$port/$DB?sslmode=disable'"
}

stop() {
  local dir=${1:-${GATEHOUSE_PG_DIR:-}}
  [ -n "$dir" ] || { log "stop: no directory (GATEHOUSE_PG_DIR is unset)"; exit 1; }
  case $dir in
  "${TMPDIR:-/tmp}"/gatehouse-pg.*) ;;
  *) log "stop: $dir is not a directory this script made"; exit 1 ;;
  esac
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null || true
  fi
  rm -rf "$dir"
  log "stopped and removed $dir"
}

# cluster_dir checks and prints the directory for down, up and restart.
cluster_dir() {
  local dir=${1:-${GATEHOUSE_PG_DIR:-}}
  [ -n "$dir" ] || { log "no directory (GATEHOUSE_PG_DIR is unset)"; exit 1; }
  case $dir in
  "${TMPDIR:-/tmp}"/gatehouse-pg.*) ;;
  *) log "$dir is not a directory this script made"; exit 1 ;;
  esac
  [ -d "$dir/data" ] || { log "no cluster in $dir"; exit 1; }
  echo "$dir"
}

down() {
  local dir
  dir=$(cluster_dir "${1:-}")
  # Clusters started before start wrote the port file: take it from the
  # running server.
  [ -f "$dir/port" ] || sed -n 4p "$dir/data/postmaster.pid" >"$dir/port"
  as_pg "$PGBIN/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null
  log "stopped the server of $dir (files kept; up starts it again)"
}

up() {
  local dir port
  dir=$(cluster_dir "${1:-}")
  port=$(cat "$dir/port")
  # A loaded machine may still be finishing the last shutdown (its port,
  # its shared memory): try a few times before giving up.
  local try
  for try in 1 2 3 4 5; do
    if as_pg "$PGBIN/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait \
      --options="-p $port" start >/dev/null; then
      log "started the server of $dir again on 127.0.0.1:$port"
      return 0
    fi
    sleep 1
  done
  tail -20 "$dir/server.log" >&2
  exit 1
}

case ${1:-start} in
start) start ;;
stop) stop "${2:-}" ;;
down) down "${2:-}" ;;
up) up "${2:-}" ;;
restart) down "${2:-}" && up "${2:-}" ;;
*) echo "usage: $0 [start|stop [DIR]|down [DIR]|up [DIR]|restart [DIR]]" >&2; exit 2 ;;
esac
