#!/usr/bin/env bash
# Start a real single-node Apache Kafka broker (KRaft, broker+controller in one
# JVM) for tests, from Kafka's jars on Maven Central (see pom.xml, README.md).
#
#   deploy/kafka/start.sh            # -> last stdout line: KAFKA_BROKERS=127.0.0.1:19092
#   export "$(deploy/kafka/start.sh)"
#
# Progress and diagnostics go to stderr; stdout carries only the
# KAFKA_BROKERS=... line, so the output can be eval'ed/exported.
#
# Env:
#   KAFKA_PORT              PLAINTEXT port (default 19092)
#   KAFKA_CONTROLLER_PORT   KRaft controller port (default KAFKA_PORT+1)
#   KAFKA_DATA_DIR          data dir: config, log.dirs, logs, pid (default deploy/kafka/data)
#   KAFKA_CLUSTER_ID        cluster id used when formatting (default: fixed test id)
#   KAFKA_HEAP_OPTS         default "-Xmx512m -Xms256m"
#   KAFKA_START_TIMEOUT     seconds to wait for "Kafka Server started" (default 90)
#   KAFKA_READY_TIMEOUT_MS  budget of the kafkajs admin round trip (default 30000)
#   KAFKA_WARMUP            1 (default) primes group + transaction coordinators; 0 skips
#   KAFKA_EXTRA_PROPS       extra server.properties lines appended verbatim (newline separated)
# A SASL_SSL listener besides PLAINTEXT (off unless KAFKA_SASL_SSL_PORT is set):
#   KAFKA_SASL_SSL_PORT         its port on 127.0.0.1; SCRAM-SHA-256 and SCRAM-SHA-512 over TLS
#   KAFKA_SSL_KEYSTORE          the broker's key and certificate: a PEM file holding the private key
#                               (PKCS#8) and the certificate chain; or a PKCS12/JKS file, see the type
#   KAFKA_SSL_KEYSTORE_TYPE     PEM (default), PKCS12 or JKS
#   KAFKA_SSL_KEYSTORE_PASSWORD the keystore's password (PKCS12/JKS), or the PEM key's if it is encrypted
#   KAFKA_SCRAM_USERS           name:password[,name:password...]: SCRAM users (both mechanisms), created
#                               when the storage is formatted (first start of a data dir only)
# The controller and inter-broker listeners stay PLAINTEXT.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${KAFKA_PORT:-19092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
DATA_DIR="${KAFKA_DATA_DIR:-$HERE/data}"
# Any base64url-encoded 16-byte UUID works; fixed so restarts and re-formats agree.
CLUSTER_ID="${KAFKA_CLUSTER_ID:-bWVudGlvbmZsb3ctdGVzdA}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
WARMUP="${KAFKA_WARMUP:-1}"
SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-}"
KEYSTORE="${KAFKA_SSL_KEYSTORE:-}"
KEYSTORE_TYPE="${KAFKA_SSL_KEYSTORE_TYPE:-PEM}"
LIBS="$HERE/target/libs"
LIBS_MARKER="$HERE/target/libs.ok"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

log() { printf '[kafka] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_ms() { date +%s%3N; }
t_start=$(now_ms)

command -v "$JAVA" >/dev/null 2>&1 || die "java not found (need JDK/JRE 11+, 17 tested)"
command -v node >/dev/null 2>&1 || die "node not found (needed for wait-ready.mjs)"

case "$DATA_DIR" in /*) ;; *) DATA_DIR="$PWD/$DATA_DIR" ;; esac

# --- the SASL_SSL listener's settings, checked before anything starts ------------------
LISTENERS="PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT"
ADVERTISED="PLAINTEXT://127.0.0.1:$PORT"
PROTOCOLS="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
SCRAM_ARGS=()
if [ -n "$SASL_SSL_PORT" ]; then
  [[ "$SASL_SSL_PORT" =~ ^[0-9]+$ ]] || die "KAFKA_SASL_SSL_PORT must be a port number, got '$SASL_SSL_PORT'"
  [ -n "$KEYSTORE" ] || die "KAFKA_SASL_SSL_PORT needs KAFKA_SSL_KEYSTORE (a PEM file: private key + certificate chain)"
  case "$KEYSTORE" in /*) ;; *) KEYSTORE="$PWD/$KEYSTORE" ;; esac
  [ -f "$KEYSTORE" ] || die "KAFKA_SSL_KEYSTORE: no such file $KEYSTORE"
  case "$KEYSTORE_TYPE" in PEM | PKCS12 | JKS) ;; *) die "KAFKA_SSL_KEYSTORE_TYPE must be PEM, PKCS12 or JKS, got '$KEYSTORE_TYPE'" ;; esac
  LISTENERS="$LISTENERS,SASL_SSL://127.0.0.1:$SASL_SSL_PORT"
  ADVERTISED="$ADVERTISED,SASL_SSL://127.0.0.1:$SASL_SSL_PORT"
  PROTOCOLS="$PROTOCOLS,SASL_SSL:SASL_SSL"
  IFS=',' read -r -a scram_users <<<"${KAFKA_SCRAM_USERS:-}"
  for user in "${scram_users[@]}"; do
    [[ "$user" =~ ^([A-Za-z0-9._-]+):([A-Za-z0-9._~+=-]+)$ ]] ||
      die "KAFKA_SCRAM_USERS must be name:password[,name:password...] (letters, digits and ._- in names; also ~+= in passwords)"
    name="${BASH_REMATCH[1]}" password="${BASH_REMATCH[2]}"
    SCRAM_ARGS+=(--add-scram "SCRAM-SHA-256=[name=$name,password=$password]" --add-scram "SCRAM-SHA-512=[name=$name,password=$password]")
  done
elif [ -n "$KEYSTORE" ] || [ -n "${KAFKA_SCRAM_USERS:-}" ]; then
  die "KAFKA_SSL_KEYSTORE and KAFKA_SCRAM_USERS apply to the SASL_SSL listener: set KAFKA_SASL_SSL_PORT too"
fi
PID_FILE="$DATA_DIR/kafka.pid"
LOG_DIR="$DATA_DIR/logs"
SERVER_LOG="$LOG_DIR/server.log"
OUT_LOG="$LOG_DIR/kafka.out"
CONFIG="$DATA_DIR/server.properties"
LOG4J="$DATA_DIR/log4j.properties"
LOG4J_TOOL="$DATA_DIR/log4j-tools.properties"

is_our_broker() { # pid -> 0 if it is a live kafka.Kafka JVM
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() {
  local args=()
  [ "$WARMUP" = "1" ] && args+=(--warm)
  KAFKA_BROKERS="127.0.0.1:$PORT" node "$HERE/wait-ready.mjs" "${args[@]}"
}

# --- already running? ---------------------------------------------------------
if [ -f "$PID_FILE" ] && is_our_broker "$(cat "$PID_FILE")"; then
  log "broker already running (pid $(cat "$PID_FILE"), data $DATA_DIR)"
  wait_ready || die "running broker does not answer on 127.0.0.1:$PORT"
  echo "KAFKA_BROKERS=127.0.0.1:$PORT"
  exit 0
fi
rm -f "$PID_FILE"
for p in "$PORT" "$CONTROLLER_PORT" $SASL_SSL_PORT; do
  port_in_use "$p" && die "port $p on 127.0.0.1 is already in use (set KAFKA_PORT / KAFKA_CONTROLLER_PORT / KAFKA_SASL_SSL_PORT)"
done

mkdir -p "$LOG_DIR" "$DATA_DIR/kraft-logs"

# --- jars: resolve with Maven only when missing or when pom.xml changed ---------
pom_sum="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
if [ ! -f "$LIBS_MARKER" ] || [ "$(cat "$LIBS_MARKER")" != "$pom_sum" ] || ! ls "$LIBS"/kafka_2.13-*.jar >/dev/null 2>&1; then
  command -v mvn >/dev/null 2>&1 || die "mvn not found and $LIBS is missing"
  log "resolving Kafka jars with Maven into $LIBS ..."
  t0=$(now_ms)
  rm -rf "$LIBS" "$LIBS_MARKER"
  mkdir -p "$HERE/target"
  mvn_log="$HERE/target/mvn.log"
  # Offline first (works whenever ~/.m2 already holds the artifacts), then online.
  if ! mvn -o -q -B -ntp -f "$HERE/pom.xml" package >"$mvn_log" 2>&1; then
    if ! mvn -q -B -ntp -f "$HERE/pom.xml" package >"$mvn_log" 2>&1; then
      cat "$mvn_log" >&2
      die "mvn failed resolving Kafka jars"
    fi
  fi
  echo "$pom_sum" >"$LIBS_MARKER"
  log "jars resolved in $(( $(now_ms) - t0 )) ms ($(ls "$LIBS" | wc -l) jars)"
fi
CP="$(printf '%s:' "$LIBS"/*.jar)"
CP="${CP%:}"

# --- config -----------------------------------------------------------------------
cat >"$CONFIG" <<EOF
# Generated by deploy/kafka/start.sh -- single-node KRaft broker for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=$LISTENERS
advertised.listeners=$ADVERTISED
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$PROTOCOLS
log.dirs=$DATA_DIR/kraft-logs

# Single node: every replication factor / ISR is 1.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
default.replication.factor=1
# Internal topics with 1 partition: created in well under a second on first use
# (defaults 50 each would make the first group join / transaction slower).
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1

# Tests create their topics explicitly (admin.createTopics); a typo'd topic
# name fails loudly instead of being silently auto-created.
auto.create.topics.enable=false
num.partitions=3
group.initial.rebalance.delay.ms=0
delete.topic.enable=true

# Small footprint.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
log.segment.bytes=67108864
log.cleaner.dedupe.buffer.size=8388608
EOF
if [ -n "$SASL_SSL_PORT" ]; then
  {
    printf '\n# SASL_SSL listener (KAFKA_SASL_SSL_PORT): SCRAM over TLS; no client certificates asked for.\n'
    printf 'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512\n'
    for mech in scram-sha-256 scram-sha-512; do
      printf 'listener.name.sasl_ssl.%s.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;\n' "$mech"
    done
    printf 'listener.name.sasl_ssl.ssl.keystore.type=%s\nlistener.name.sasl_ssl.ssl.keystore.location=%s\n' "$KEYSTORE_TYPE" "$KEYSTORE"
    if [ -n "${KAFKA_SSL_KEYSTORE_PASSWORD:-}" ]; then
      [ "$KEYSTORE_TYPE" = PEM ] || printf 'listener.name.sasl_ssl.ssl.keystore.password=%s\n' "$KAFKA_SSL_KEYSTORE_PASSWORD"
      printf 'listener.name.sasl_ssl.ssl.key.password=%s\n' "$KAFKA_SSL_KEYSTORE_PASSWORD"
    fi
    printf 'listener.name.sasl_ssl.ssl.client.auth=none\n'
  } >>"$CONFIG"
fi
if [ -n "${KAFKA_EXTRA_PROPS:-}" ]; then
  printf '\n# KAFKA_EXTRA_PROPS\n%s\n' "$KAFKA_EXTRA_PROPS" >>"$CONFIG"
fi

cat >"$LOG4J" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$SERVER_LOG
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.org.apache.zookeeper=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF

# Command-line tools (StorageTool) log WARN+ to kafka.out, not to server.log.
cat >"$LOG4J_TOOL" <<EOF
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF

JVM_COMMON=(-Djava.awt.headless=true "-Dlog4j.configuration=file:$LOG4J" "-Dkafka.logs.dir=$LOG_DIR")

# --- format storage (first start only) -------------------------------------------
if [ ! -f "$DATA_DIR/kraft-logs/meta.properties" ]; then
  t0=$(now_ms)
  "$JAVA" -Xmx256m -Djava.awt.headless=true "-Dlog4j.configuration=file:$LOG4J_TOOL" -cp "$CP" kafka.tools.StorageTool format \
    -t "$CLUSTER_ID" -c "$CONFIG" --ignore-formatted ${SCRAM_ARGS[@]+"${SCRAM_ARGS[@]}"} >>"$OUT_LOG" 2>&1 ||
    { tail -n 50 "$OUT_LOG" >&2; die "kafka storage format failed"; }
  log "storage formatted (cluster id $CLUSTER_ID${SCRAM_ARGS[*]:+, $(( ${#SCRAM_ARGS[@]} / 4 )) SCRAM user(s)}) in $(( $(now_ms) - t0 )) ms"
else
  log "storage already formatted, reusing $DATA_DIR/kraft-logs${SCRAM_ARGS[*]:+ (KAFKA_SCRAM_USERS applies only when formatting)}"
fi

# --- start --------------------------------------------------------------------------
# A fresh server.log per start, so the readiness grep sees only this run.
[ -f "$SERVER_LOG" ] && mv -f "$SERVER_LOG" "$SERVER_LOG.prev"
t_jvm=$(now_ms)
# shellcheck disable=SC2086  # HEAP_OPTS is a list of JVM flags
nohup "$JAVA" $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 "${JVM_COMMON[@]}" \
  -cp "$CP" kafka.Kafka "$CONFIG" </dev/null >>"$OUT_LOG" 2>&1 &
pid=$!
echo "$pid" >"$PID_FILE"
log "broker starting (pid $pid, port $PORT, controller $CONTROLLER_PORT${SASL_SSL_PORT:+, SASL_SSL $SASL_SSL_PORT}, data $DATA_DIR)"

fail_start() {
  log "ERROR: $1; last 50 lines of $SERVER_LOG:"
  tail -n 50 "$SERVER_LOG" >&2 2>/dev/null || true
  log "last 20 lines of $OUT_LOG:"
  tail -n 20 "$OUT_LOG" >&2 2>/dev/null || true
  if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; sleep 2; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$PID_FILE"
  exit 1
}

deadline=$(( $(date +%s) + START_TIMEOUT ))
until grep -q 'Kafka Server started' "$SERVER_LOG" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || fail_start "broker process $pid exited during startup"
  [ "$(date +%s)" -ge "$deadline" ] && fail_start "no 'Kafka Server started' within ${START_TIMEOUT}s"
  sleep 0.25
done
log "'Kafka Server started' after $(( $(now_ms) - t_jvm )) ms"

wait_ready || fail_start "kafkajs admin round trip failed"
log "ready in $(( $(now_ms) - t_start )) ms total"
echo "KAFKA_BROKERS=127.0.0.1:$PORT"
