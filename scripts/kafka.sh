#!/usr/bin/env bash
# kafka.sh -- Apache Kafka 3.9.1 (KRaft, no ZooKeeper) for the dev stack and
# the integration tests (BROKER=apache).  The jars come from
# scripts/kafka/pom.xml through Maven (cached in ~/.m2), copied into
# build/kafka/libs; every node's config, data and log live under
# STACK_DIR/kafka/node-N and it is stopped by the pid recorded there.
#
#   kafka.sh fetch                   copy the jars into build/kafka/libs
#                                    (nothing to do when already there)
#   kafka.sh start DIR [NODES]       format and start NODES (1 or 3) combined
#                                    broker+controller nodes in the
#                                    background, wait until every node is
#                                    up; prints the bootstrap servers, which
#                                    also land in DIR/kafka/bootstrap
#   kafka.sh stop DIR                SIGTERM every node (SIGKILL after 30 s)
#   kafka.sh kill9 DIR N             kill -9 node N
#   kafka.sh restart DIR N           start node N again on its ports and data
#   kafka.sh prepare DIR [NODES]     format only (ports, configs, storage)
#   kafka.sh run DIR N               run node N in the foreground (exec)
#   kafka.sh spawn DIR N             run node N in the background
#   kafka.sh wait DIR [N]            wait until node N (default: all) is up
#   kafka.sh tool CLASS [ARGS...]    run a Kafka tool class, e.g.
#                                    org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
#   kafka.sh consumer-groups ARGS... kafka-consumer-groups.sh
#   kafka.sh requests DIR [N]        node N's (default 1) request counts
#                                    since it started, one "Api count" line
#                                    per request type (JMX, org.apache.kafka.
#                                    tools.JmxTool); needs KAFKA_JMX=1 at
#                                    prepare and run time
#
# Shapes: 1 node (replication 1) or 3 nodes (replication 3,
# min.insync.replicas=2).  Each node is a JVM with a 512 MiB heap.  Test
# settings: group.initial.rebalance.delay.ms=0 (the first member of a group
# gets its assignment at once), group.min.session.timeout.ms=500 (tests use
# session timeouts below the broker's default minimum of 6 s), a small
# __consumer_offsets (8 partitions).  Topic auto-creation stays on with 4
# partitions, like the embedded broker: baton-devstack creates every topic
# it knows up front, and a task queue it was not told about is created by
# its first task.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KAFKA_VERSION=3.9.1
LIBS=${KAFKA_LIBS:-$ROOT/build/kafka/libs}
JAVA=${JAVA:-java}
# 512 MiB heap per node; G1 with one GC thread each (2-core machine).
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx512m -Xms512m}
KAFKA_JVM_OPTS=${KAFKA_JVM_OPTS:--XX:MaxMetaspaceSize=192m -XX:+UseG1GC \
-XX:MaxGCPauseMillis=20 -XX:ParallelGCThreads=1 -XX:ConcGCThreads=1 \
-XX:CICompilerCount=2 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}
START_TIMEOUT_S=${KAFKA_START_TIMEOUT_S:-90}
# Class data sharing: the classes a broker loads while starting, archived
# once by fetch (a throwaway node started and stopped); halves the CPU a
# node needs to start (measured: 3.9 s instead of 7.3 s).  A JVM that cannot
# use the archive (other JDK) ignores it.
CDS_ARCHIVE=${KAFKA_CDS_ARCHIVE:-$LIBS/../kafka-cds.jsa}

die() { echo "kafka.sh: $*" >&2; exit 1; }

fetch() {
  if [ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] &&
     [ -f "$LIBS/kafka-tools-$KAFKA_VERSION.jar" ] &&
     [ "$LIBS/.stamp" -nt "$ROOT/scripts/kafka/pom.xml" ]; then
    [ -n "${KAFKA_CDS_DUMP:-}" ] || cds_archive
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (scripts/install-deps.sh installs maven)"
  echo "kafka.sh: fetching Apache Kafka $KAFKA_VERSION jars into $LIBS (Maven, cached in ~/.m2)" >&2
  rm -rf "$LIBS"
  mkdir -p "$LIBS"
  if ! mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIBS" >"$LIBS.mvn.log" 2>&1; then
    cat "$LIBS.mvn.log" >&2
    die "mvn dependency:copy-dependencies failed"
  fi
  touch "$LIBS/.stamp"
  cds_archive
}

# Starts a throwaway node with -XX:ArchiveClassesAtExit and stops it: the
# JVM writes the archive as it exits.  Failure only costs start time, so it
# never fails fetch: the start runs in a subshell (its die exits only that)
# and a failure prints why, from the start's own output and the node's log.
cds_archive() {
  local tmp
  [ -f "$CDS_ARCHIVE" ] && return 0
  tmp=$(mktemp -d /tmp/baton-kafka-cds.XXXXXX)
  echo "kafka.sh: archiving the broker's classes (CDS) for faster starts" >&2
  if (KAFKA_CDS_DUMP="$CDS_ARCHIVE.tmp.$$" start "$tmp" 1) >"$tmp/start.log" 2>&1; then
    (stop "$tmp") >>"$tmp/start.log" 2>&1 || true
    [ -s "$CDS_ARCHIVE.tmp.$$" ] && mv "$CDS_ARCHIVE.tmp.$$" "$CDS_ARCHIVE"
  else
    (stop "$tmp") >>"$tmp/start.log" 2>&1 || true
  fi
  if [ ! -f "$CDS_ARCHIVE" ]; then
    echo "kafka.sh: no CDS archive (nodes start slower); the archiving start said:" >&2
    tail -n 20 "$tmp/start.log" "$(node_dir "$tmp" 1)/stdout.log" 2>/dev/null | sed 's/^/  /' >&2 || true
  fi
  rm -rf "$tmp" "$CDS_ARCHIVE.tmp.$$"
  return 0
}

# Two free loopback ports per node, as "broker controller" lines.
free_ports() {
  /usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(2 * int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
ports = [s.getsockname()[1] for s in socks]
for i in range(0, len(ports), 2): print(ports[i], ports[i + 1])
EOF
}

# A KRaft cluster id: 16 random bytes, base64url without padding, not
# starting with '-' (the storage tool would read it as an option; Kafka's
# own Uuid.randomUuid draws again in that case, so do we).
cluster_id() {
  /usr/bin/python3 -c '
import base64, os
while True:
    s = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not s.startswith("-"): break
print(s)'
}

node_dir() { echo "$1/kafka/node-$2"; }

write_node_config() {
  local dir=$1 n=$2 nodes=$3 bport=$4 cport=$5 voters=$6
  local nd rf isr
  nd=$(node_dir "$dir" "$n")
  rf=$([ "$nodes" -ge 3 ] && echo 3 || echo "$nodes")
  isr=$([ "$nodes" -ge 3 ] && echo 2 || echo 1)
  mkdir -p "$nd/data"
  cat >"$nd/server.properties" <<EOF
# Written by scripts/kafka.sh: node $n of a $nodes-node test cluster.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$nd/data
# Replication to fit the shape.
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
unclean.leader.election.enable=false
# Like the embedded broker: unknown topics are created on first produce.
auto.create.topics.enable=true
num.partitions=4
# Test stack: no 3 s wait for a new group; short session timeouts allowed.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=500
# Two cores for everything: few threads.
num.network.threads=2
num.io.threads=2
background.threads=2
num.replica.fetchers=1
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
# Small segments and indexes: many partitions, little data.
log.segment.bytes=67108864
log.index.size.max.bytes=1048576
EOF
  cat >"$nd/log4j.properties" <<EOF
# Written by scripts/kafka.sh: node $n logs to $nd/server.log.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$nd/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.controller=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF
}

prepare() {
  local dir=$1 nodes=${2:-1} id voters="" n=0 bport cport pids=()
  case "$nodes" in 1|3) ;; *) die "NODES must be 1 or 3" ;; esac
  fetch
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  rm -rf "$dir/kafka"
  mkdir -p "$dir/kafka"
  free_ports "$nodes" >"$dir/kafka/ports"
  while read -r bport cport; do
    n=$((n + 1))
    voters+="${voters:+,}$n@127.0.0.1:$cport"
  done <"$dir/kafka/ports"
  id=$(cluster_id)
  n=0
  while read -r bport cport; do
    n=$((n + 1))
    write_node_config "$dir" $n "$nodes" "$bport" "$cport" "$voters"
  done <"$dir/kafka/ports"
  awk '{printf "%s127.0.0.1:%s", (NR>1?",":""), $1} END {print ""}' \
      "$dir/kafka/ports" >"$dir/kafka/bootstrap"
  echo "$nodes" >"$dir/kafka/nodes"
  # KAFKA_JMX=1: one more free port per node for JMX (kafka.sh requests).
  [ -n "${KAFKA_JMX:-}" ] && free_ports "$nodes" | cut -d' ' -f1 >"$dir/kafka/jmx-ports"
  # Format every node's storage (one JVM each, in parallel).
  for n in $(seq 1 "$nodes"); do
    "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 -cp "$LIBS/*" \
        -Dlog4j.configuration="file:$ROOT/scripts/kafka/tools-log4j.properties" \
        kafka.tools.StorageTool format -t "$id" \
        -c "$(node_dir "$dir" $n)/server.properties" \
        >"$(node_dir "$dir" $n)/format.log" 2>&1 &
    pids+=($!)
  done
  for n in $(seq 1 "$nodes"); do
    wait "${pids[$((n - 1))]}" ||
      die "formatting node $n failed: $(cat "$(node_dir "$dir" $n)/format.log")"
  done
}

# Runs node N in the foreground: exec, so the caller's $! is the JVM's pid.
run() {
  local dir=$1 n=$2 nd
  local cds=()
  nd=$(node_dir "$dir" "$n")
  [ -f "$nd/server.properties" ] || die "node $n of $dir is not prepared"
  echo $$ >"$nd/pid"
  if [ -n "${KAFKA_CDS_DUMP:-}" ]; then
    cds=(-XX:ArchiveClassesAtExit="$KAFKA_CDS_DUMP")
  elif [ -f "$CDS_ARCHIVE" ]; then
    cds=(-XX:SharedArchiveFile="$CDS_ARCHIVE" -Xlog:cds=off -Xlog:cds+dynamic=off)
  fi
  local jmx=() jport
  if [ -n "${KAFKA_JMX:-}" ] && jport=$(sed -n "${n}p" "$dir/kafka/jmx-ports" 2>/dev/null) &&
     [ -n "$jport" ]; then
    jmx=(-Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.port="$jport"
         -Dcom.sun.management.jmxremote.rmi.port="$jport"
         -Dcom.sun.management.jmxremote.authenticate=false
         -Dcom.sun.management.jmxremote.ssl=false -Djava.rmi.server.hostname=127.0.0.1)
  fi
  # shellcheck disable=SC2086  # option lists
  exec "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_OPTS "${cds[@]}" "${jmx[@]}" -cp "$LIBS/*" \
      -Dlog4j.configuration="file:$nd/log4j.properties" \
      kafka.Kafka "$nd/server.properties" >>"$nd/stdout.log" 2>&1
}

# 0 when node N logged that it started (this start) and its port answers.
node_up() {
  local dir=$1 n=$2 nd port pid
  nd=$(node_dir "$dir" "$n")
  pid=$(cat "$nd/pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null || return 2
  [ -f "$nd/server.log" ] || return 1
  tail -n +"$(cat "$nd/log-start" 2>/dev/null || echo 1)" "$nd/server.log" |
      grep -q 'Kafka Server started' || return 1
  port=$(sed -n "${n}p" "$dir/kafka/ports" | cut -d' ' -f1)
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# How node N's process ended ("status S" or "killed by signal K"); a node
# not started by this shell (`spawn`) cannot be waited for: status 127.
node_status() {
  local pid st=0
  pid=$(cat "$(node_dir "$1" "$2")/pid" 2>/dev/null) || { echo "an unknown status"; return; }
  wait "$pid" 2>/dev/null || st=$?
  if [ $st -eq 127 ]; then
    echo "status 127 (or not a child of this shell: status unknown)"
  elif [ $st -gt 128 ]; then
    echo "killed by signal $((st - 128))"
  else
    echo "status $st"
  fi
}

# Node N died during start: prints how, with what it wrote.  A JVM that
# died before it wrote a line (not a config Kafka refused: it would say so;
# seen once in 12 suite runs, 0043 of a fresh-clone run, with an empty
# stdout.log and no status kept) is started once more when `retry` is set;
# 1 otherwise.
node_died() {
  local dir=$1 n=$2 retry=$3 nd how
  nd=$(node_dir "$dir" "$n")
  how=$(node_status "$dir" "$n")
  echo "kafka.sh: node $n exited during start ($how)" >&2
  tail -n 30 "$nd/server.log" "$nd/stdout.log" "$nd/run.err" >&2 2>/dev/null || true
  if [ -n "$retry" ] && [ ! -s "$nd/server.log" ] && [ ! -s "$nd/stdout.log" ]; then
    echo "kafka.sh: node $n wrote nothing before it died: starting it once more" >&2
    start_node_bg "$dir" "$n"
    return 0
  fi
  return 1
}

wait_up() {
  local dir=$1 only=${2:-} nodes n i rc retry=1
  nodes=$(cat "$dir/kafka/nodes")
  for i in $(seq 1 $((START_TIMEOUT_S * 20))); do
    rc=0
    for n in $(seq 1 "$nodes"); do
      [ -n "$only" ] && [ "$n" != "$only" ] && continue
      node_up "$dir" "$n" || { rc=$?; break; }
    done
    [ $rc -eq 0 ] && return 0
    if [ $rc -eq 2 ]; then
      node_died "$dir" "$n" "$retry" || die "node $n exited during start (logs above)"
      retry=
    fi
    sleep 0.05
  done
  die "Kafka in $dir not up within $START_TIMEOUT_S s (see $(node_dir "$dir" "${n:-1}")/server.log)"
}

# Remembers where this start's log lines begin (node_up reads from there).
mark_log() {
  local nd
  nd=$(node_dir "$1" "$2")
  local lines=0
  [ -f "$nd/server.log" ] && lines=$(wc -l <"$nd/server.log")
  echo $((lines + 1)) >"$nd/log-start"
}

# Node N in the background; what `run` itself says before it execs the JVM
# (a node not prepared) lands in node-N/run.err.
start_node_bg() {
  local dir=$1 n=$2 nd
  nd=$(node_dir "$dir" "$n")
  mark_log "$dir" "$n"
  nohup "$0" run "$dir" "$n" >/dev/null 2>>"$nd/run.err" &
  echo $! >"$nd/pid"
}

start() {
  local dir=$1 nodes=${2:-1} n
  prepare "$dir" "$nodes"
  dir=$(cd "$dir" && pwd)
  for n in $(seq 1 "$nodes"); do start_node_bg "$dir" "$n"; done
  wait_up "$dir"
  cat "$dir/kafka/bootstrap"
}

stop() {
  local dir=$1 nodes n pid pids=() i
  [ -f "$dir/kafka/nodes" ] || return 0
  nodes=$(cat "$dir/kafka/nodes")
  for n in $(seq 1 "$nodes"); do
    pid=$(cat "$(node_dir "$dir" "$n")/pid" 2>/dev/null) || continue
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for i in $(seq 1 300); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || continue
    echo "kafka.sh: node pid $pid did not stop in 30 s: SIGKILL" >&2
    kill -9 "$pid" 2>/dev/null || true
  done
}

kill9() {
  local pid
  pid=$(cat "$(node_dir "$1" "$2")/pid") || die "no pid for node $2"
  kill -9 "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

tool() {
  local class=$1; shift
  fetch
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$LIBS/*" \
      -Dlog4j.configuration="file:$ROOT/scripts/kafka/tools-log4j.properties" \
      "$class" "$@"
}

# Request counts of node N since it started, from its JMX port: the
# broker's RequestsPerSec meters (Count attribute), one "Api count" line each.
requests() {
  local dir=$1 n=${2:-1} jport
  jport=$(sed -n "${n}p" "$dir/kafka/jmx-ports" 2>/dev/null)
  [ -n "$jport" ] || die "no JMX port for node $n (start with KAFKA_JMX=1)"
  tool org.apache.kafka.tools.JmxTool --one-time true --report-format properties \
      --jmx-url "service:jmx:rmi:///jndi/rmi://127.0.0.1:$jport/jmxrmi" \
      --object-name 'kafka.network:type=RequestMetrics,name=RequestsPerSec,request=*,version=*' \
      --attributes Count 2>/dev/null |
    sed -n 's/.*request=\([A-Za-z]*\),version=[0-9]*:Count=\([0-9]*\).*/\1 \2/p' |
    awk '{c[$1]+=$2} END {for (k in c) print k, c[k]}' | sort
}

cmd=${1:-}; shift || true
case "$cmd" in
fetch) fetch ;;
prepare) prepare "$@" ;;
run) run "$@" ;;
wait) wait_up "$@" ;;
mark) mark_log "$@" ;;
start) start "$@" ;;
stop) stop "$@" ;;
kill9) kill9 "$@" ;;
restart) start_node_bg "$1" "$2"; wait_up "$1" "$2" ;;
spawn) start_node_bg "$@" ;;
tool) tool "$@" ;;
requests) requests "$@" ;;
consumer-groups) tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
*) sed -n '2,30p' "$0" >&2; exit 2 ;;
esac
