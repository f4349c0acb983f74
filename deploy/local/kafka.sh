#!/usr/bin/env bash
# Start or stop a single-node Apache Kafka broker (KRaft) for tests, from its jars on Maven Central.
# Usage: deploy/local/kafka.sh start|stop|reset|status|version  (stop+start keeps the data; reset wipes it)
# Reuses a broker already listening at $KAFKA_BOOTSTRAP when that is set by the caller.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
state="${GOUMAI_LOCAL_STATE:-$root/var/local}/kafka"
lib="${GOUMAI_CACHE:-$root/.cache}/kafka-lib"
# Below the ephemeral range (32768-60999), so a client socket cannot hold the port while the broker restarts.
port="${KAFKA_PORT:-29092}"
cport=$((port + 1))
pidfile="$state/kafka.pid"
mkdir -p "$state"

log() { echo "[kafka] $*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

resolve_jars() {
  if [ -f "$lib/.complete" ]; then return; fi
  command -v mvn >/dev/null || { log "mvn not found: install Maven (apt-get install maven)"; exit 1; }
  command -v java >/dev/null || { log "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)"; exit 1; }
  log "resolving the broker's jars from Maven Central into $lib"
  rm -rf "$lib"; mkdir -p "$lib"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$lib" >&2
  touch "$lib/.complete"
}

version() { ls "$lib" | sed -n 's/^kafka_2\.13-\(.*\)\.jar$/\1/p'; }

start() {
  if [ -n "${KAFKA_BOOTSTRAP:-}" ] && [ "${KAFKA_BOOTSTRAP}" != "127.0.0.1:$port" ]; then
    log "using the broker at $KAFKA_BOOTSTRAP"; return
  fi
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && listening "$port"; then
    log "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"; return
  fi
  if listening "$port"; then
    log "127.0.0.1:$port is taken by another process (not this broker): $(ss -ltnp 2>/dev/null | grep ":$port " | head -1)"
    exit 1
  fi
  resolve_jars
  local data="$state/data"
  # A restart keeps the log (the fault tests stop and start the broker mid-flow); `reset` wipes it.
  sed -e "s#@DATA@#$data#" -e "s#@PORT@#$port#g" -e "s#@CPORT@#$cport#g" \
      "$here/kafka/server.properties.in" > "$state/server.properties"
  if [ ! -f "$data/meta.properties" ]; then
    rm -rf "$data"; mkdir -p "$data"
    java -cp "$lib/*" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
        kafka.tools.StorageTool format -t "$(cat /proc/sys/kernel/random/uuid | tr -d - | head -c 22)" \
        -c "$state/server.properties" >"$state/format.log" 2>&1 \
        || { log "format failed:"; cat "$state/format.log" >&2; exit 1; }
  fi
  log "starting Apache Kafka $(version) on 127.0.0.1:$port"
  # setsid: the broker outlives the process group that started it (a test that restarts it, a shell).
  setsid nohup java -Xms256m -Xmx1g -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Xshare:auto \
      -Djava.awt.headless=true -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
      -Dkafka.logs.dir="$state" -cp "$lib/*" kafka.Kafka "$state/server.properties" \
      >"$state/server.log" 2>&1 </dev/null 9>&- &  # 9>&-: the broker must not hold this script's lock
  echo $! > "$pidfile"
  for _ in $(seq 1 240); do
    if grep -q "Kafka Server started" "$state/server.log" 2>/dev/null && listening "$port"; then
      log "ready: Apache Kafka $(version) at 127.0.0.1:$port"; return
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { log "broker exited:"; tail -30 "$state/server.log" >&2; exit 1; }
    sleep 0.5
  done
  log "broker did not become ready in 120 s"; tail -30 "$state/server.log" >&2; exit 1
}

stop() {
  if [ -f "$pidfile" ]; then
    local pid; pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"; log "stopped"
  fi
}

# One start or stop at a time: two starts racing on one data directory leave a stale pidfile.
exec 9>"$state/.lock"
case "${1:-}" in
  start) flock 9; start ;;
  stop) flock 9; stop ;;
  reset) flock 9; stop; rm -rf "$state/data"; log "data wiped" ;;
  status) if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "running"; else echo "stopped"; exit 1; fi ;;
  version) resolve_jars; version ;;
  *) echo "usage: $0 start|stop|reset|status|version" >&2; exit 2 ;;
esac
