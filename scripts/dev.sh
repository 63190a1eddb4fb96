#!/usr/bin/env bash
# make dev / make dev-stop: the embedded dev stack (Kafka mock cluster +
# private redis-server) in the background.  Connection settings land in
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
  nohup "$BIN/baton-devstack" --dir $DIR --partitions "${PARTITIONS:-8}" \
      --queues "${QUEUES:-default}" >$DIR/devstack.log 2>&1 &
  for _ in $(seq 1 200); do
    [ -f $DIR/stack.conf ] && break
    kill -0 $! 2>/dev/null || { cat $DIR/devstack.log; exit 1; }
    sleep 0.05
  done
  [ -f $DIR/stack.conf ] || { echo "dev stack did not start"; cat $DIR/devstack.log; exit 1; }
  echo "dev stack running (pid $!); settings in $DIR/stack.conf:"
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
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
