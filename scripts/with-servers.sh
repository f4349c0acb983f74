#!/usr/bin/env bash
# Run a command with the test PostgreSQL and Kafka up (started here unless already pointed to),
# stopping what this script started. Exports GOUMAI_TEST_PG and GOUMAI_TEST_KAFKA.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
in_ci=false; case "${CI:-}" in 1|true|TRUE|yes) in_ci=true ;; esac
started=()
cleanup() {
  for s in "${started[@]}"; do deploy/local/$s.sh stop || true; done
}
trap cleanup EXIT INT TERM

pg_log=$(mktemp); kafka_log=$(mktemp)
# Servers that are already up (another run, a developer's shell) are used and left running.
pg_was_up=false; kafka_was_up=false
deploy/local/postgres.sh status >/dev/null 2>&1 && pg_was_up=true
deploy/local/kafka.sh status >/dev/null 2>&1 && kafka_was_up=true
if [ -z "${DATABASE_URL:-}" ]; then
  deploy/local/postgres.sh start 2>"$pg_log" & pg_pid=$!
fi
if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
  # A broker this run starts begins empty: every run makes its own topics, and a data directory kept across
  # many runs grows to tens of thousands of partitions (the broker then runs out of file descriptors).
  { $kafka_was_up || deploy/local/kafka.sh reset; deploy/local/kafka.sh start; } 2>"$kafka_log" & kafka_pid=$!
fi
pg_ok=true; kafka_ok=true
if [ -n "${pg_pid:-}" ]; then
  wait "$pg_pid" || pg_ok=false; cat "$pg_log" >&2
  $pg_was_up || started+=(postgres)
fi
if [ -n "${kafka_pid:-}" ]; then
  wait "$kafka_pid" || kafka_ok=false; cat "$kafka_log" >&2
  $kafka_was_up || started+=(kafka)
fi

if $pg_ok; then
  export GOUMAI_TEST_PG="${DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:${PG_PORT:-25432}}"
else
  if $in_ci; then echo "FATAL: PostgreSQL could not be started (see above); CI runs nothing without it." >&2; exit 1; fi
  echo "WARNING: PostgreSQL could not be started: the tests that need it are skipped (see the skip reasons)." >&2
fi
if $kafka_ok; then
  export GOUMAI_TEST_KAFKA="${KAFKA_BOOTSTRAP:-127.0.0.1:${KAFKA_PORT:-29092}}"
  if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then echo "Kafka broker: Apache Kafka $(deploy/local/kafka.sh version) at $GOUMAI_TEST_KAFKA"; fi
else
  if $in_ci; then echo "FATAL: Kafka could not be started (see above); CI runs nothing without it." >&2; exit 1; fi
  echo "WARNING: Kafka could not be started: the tests that need it are skipped (see the skip reasons)." >&2
fi
[ -n "${GOUMAI_TEST_PG:-}" ] && echo "PostgreSQL: $GOUMAI_TEST_PG"
"$@"
