#!/usr/bin/env bash
# Start or stop a PostgreSQL server for tests on 127.0.0.1, from Debian's packages.
# Usage: deploy/local/postgres.sh start|stop|status
# The server refuses to run as root, so it runs as the 'postgres' system user.
# Reuses the server at $DATABASE_URL when the caller sets one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
port="${PG_PORT:-25432}"  # below the ephemeral port range
state="${GOUMAI_PG_STATE:-/tmp/goumai-pg-$port}"   # outside the work tree: the postgres user must own it
data="$state/data"
dbs="goumai_catalogue goumai_budget goumai_registry goumai_contract goumai_assessment goumai_gateway goumai_test"

log() { echo "[postgres] $*" >&2; }

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return; }
  done
}

install_server() {
  bin=$(find_bin)
  if [ -z "$bin" ]; then
    [ "$(id -u)" = 0 ] || { log "PostgreSQL server not installed and not root to install it"; exit 1; }
    log "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
    bin=$(find_bin)
  fi
  [ -n "$bin" ] || { log "no PostgreSQL server binaries found"; exit 1; }
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$state" --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  if [ -n "${DATABASE_URL:-}" ]; then log "using the server at $DATABASE_URL"; return; fi
  install_server
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "already running on 127.0.0.1:$port"; return
  fi
  mkdir -p "$state"
  [ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 || useradd --system --home-dir "$state" --shell /bin/bash postgres; chown postgres "$state"; }
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 \
      || { cat "$state/initdb.log" >&2; exit 1; }
  fi
  # Tests need speed, not durability across a power cut.
  as_pg "$bin/pg_ctl" -D "$data" -l "$state/server.log" -w -t 60 \
    -o "-p $port -k $state -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=256MB" \
    start >&2 9>&-  # the server must not inherit (and hold) this script's lock
  for db in $dbs; do
    as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
      || as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
  done
  log "ready: $("$bin/postgres" --version) at 127.0.0.1:$port"
}

stop() {
  bin=$(find_bin)
  [ -n "$bin" ] && [ -f "$data/PG_VERSION" ] || return 0
  as_pg "$bin/pg_ctl" -D "$data" -m fast stop >&2 2>/dev/null && log "stopped" || true
}

mkdir -p "$state"
exec 9>"$state/.lock"
case "${1:-}" in
  start) flock 9; start ;;
  stop) flock 9; stop ;;
  status) bin=$(find_bin); as_pg "$bin/pg_ctl" -D "$data" status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
