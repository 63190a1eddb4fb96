#!/usr/bin/env bash
# core_purity.sh -- run by the build before baton_core (orchestrator/
# CMakeLists.txt): fails when a file of the pure core includes Kafka or Redis.
#
#   core_purity.sh STAMP FILE...
#
# An include is refused when its path names hiredis or rdkafka, or when its
# file name is one of the edges' headers: kafka.h, redis.h (common/) or
# store.h (orchestrator/, batond's Redis edge).  Each offending line is
# printed as file:line:text and the build stops; otherwise STAMP is touched,
# so the check reruns only when a core file changes.
set -euo pipefail
stamp=$1
shift
inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]'
name='([^>"]*(hiredis|rdkafka)[^>"]*|([^>"]*/)?(kafka|redis|store)\.h)[>"]'
if grep -HnE "$inc$name" "$@" >&2; then
  echo "core_purity: the core must not include Kafka or Redis (above):" \
       "move that code to an edge (batond.c, store.c, common/kafka.c," \
       "common/redis.c); see orchestrator/CMakeLists.txt" >&2
  rm -f "$stamp"
  exit 1
fi
touch "$stamp"
