#!/usr/bin/env bash
# make dev / make dev-stop: the dev stack in the background.  BROKER=embedded
# (default): baton-devstack hosts the Kafka mock cluster and a private
# redis-server.  BROKER=apache: Apache Kafka (scripts/kafka.sh, KAFKA_NODES=1
# or 3, data in build/dev/kafka, kept across restarts like Redis' data) and
# baton-devstack on it (--kafka).  Connection settings land in
# build/dev/stack.conf, which batond, the workers and batonctl read.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BATON_BIN:-build/bin}
DIR=build/dev
case "${1:-start}" in
start)
  if [ -f $DIR/devstack.pid ] && kill -0 "$(cat $DIR/devstack.pid)" 2>/dev/null; then
    echo "dev stack already running (pid $(cat $DIR/devstack.pid)); settings in $DIR/stack.conf"
    exit 0
  fi
  mkdir -p $DIR
  rm -f $DIR/stack.conf
  broker=${BROKER:-embedded}
  kafka_args=()
  case "$broker" in
  embedded) rm -f $DIR/broker ;;
  apache)
    nodes=${KAFKA_NODES:-1}
    # A previous run's cluster of the same shape is started again with its
    # data (Redis keeps its data too); otherwise a fresh one is formatted.
    if [ "$(cat $DIR/kafka/nodes 2>/dev/null)" != "$nodes" ]; then
      rm -rf $DIR/redis
      scripts/kafka.sh prepare $DIR "$nodes"
    fi
    for n in $(seq 1 "$nodes"); do
      scripts/kafka.sh spawn $DIR "$n"
    done
    echo apache >$DIR/broker
    scripts/kafka.sh wait $DIR
    rf=$nodes; [ "$rf" -gt 3 ] && rf=3
    kafka_args=(--kafka "$(cat $DIR/kafka/bootstrap)" --replication "$rf")
    ;;
  *) echo "BROKER must be apache or embedded" >&2; exit 2 ;;
  esac
  nohup "$BIN/baton-devstack" --dir $DIR --partitions "${PARTITIONS:-8}" \
      --queues "${QUEUES:-default}" "${kafka_args[@]}" >$DIR/devstack.log 2>&1 &
  for _ in $(seq 1 1200); do
    [ -f $DIR/stack.conf ] && break
    kill -0 $! 2>/dev/null || { cat $DIR/devstack.log; exit 1; }
    sleep 0.05
  done
  [ -f $DIR/stack.conf ] || { echo "dev stack did not start"; cat $DIR/devstack.log; exit 1; }
  echo "dev stack running (pid $!, broker $broker); settings in $DIR/stack.conf:"
  grep -v '^#' $DIR/stack.conf | grep -E 'bootstrap|redis.url'
  ;;
stop)
  if [ -f $DIR/devstack.pid ]; then
    pid=$(cat $DIR/devstack.pid)
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f $DIR/devstack.pid
    echo "dev stack stopped"
  else
    echo "no dev stack running"
  fi
  if [ -f $DIR/broker ]; then
    scripts/kafka.sh stop $DIR
    rm -f $DIR/broker
    echo "Apache Kafka stopped (data kept in $DIR/kafka)"
  fi
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
