#!/usr/bin/env bash
# Stop the test broker started by start.sh and (unless KEEP_DATA=1) delete its
# data dir. Safe to call when nothing is running.
#
# Env: KAFKA_DATA_DIR (must match start.sh; default deploy/kafka/data),
#      KEEP_DATA=1 keeps the data dir (topics, offsets) for a later start.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_DIR="${KAFKA_DATA_DIR:-$HERE/data}"
PID_FILE="$DATA_DIR/kafka.pid"
log() { printf '[kafka] %s\n' "$*" >&2; }

is_our_broker() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'
}

if [ -f "$PID_FILE" ]; then
  pid="$(cat "$PID_FILE")"
  if is_our_broker "$pid"; then
    log "stopping broker pid $pid (SIGTERM)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 80); do # up to 20 s
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "broker pid $pid still alive after 20 s, SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    log "broker stopped"
  else
    log "pid file $PID_FILE is stale (no kafka.Kafka process $pid)"
  fi
  rm -f "$PID_FILE"
else
  log "no broker running (no $PID_FILE)"
fi

if [ "${KEEP_DATA:-0}" = "1" ]; then
  log "KEEP_DATA=1: keeping $DATA_DIR"
elif [ -d "$DATA_DIR" ]; then
  rm -rf "$DATA_DIR"
  log "removed $DATA_DIR"
fi
