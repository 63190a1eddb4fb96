/*
 * loop.h -- the Kafka loop of baton-bridge: one consumer group per
 * trigger on its source topics, one idempotent producer for every command
 * and DLQ record, commits of acknowledged source offsets, backpressure.
 *
 *   poll a record of trigger T  -> event (event.h) -> map (mapping.h)
 *       matched                 -> command to <prefix>.commands, key =
 *                                  workflow id (one producer: one key's
 *                                  commands keep their source order)
 *       unmatched               -> counted, acknowledged at once (or to
 *                                  the DLQ when T says "unmatched": "dlq")
 *       undecodable, template failure, oversized
 *                               -> <prefix>.dlq with headers baton-error,
 *                                  baton-trigger, baton-source-topic,
 *                                  baton-source-partition,
 *                                  baton-source-offset (and the record's
 *                                  own key, value and headers)
 *   delivery report             -> acknowledges the source offset in its
 *                                  partition's window (ackwin.h)
 *   every bridge.commit.interval.ms: commit each window's commit offset
 *
 * Backpressure: at bridge.inflight.max records in flight every assigned
 * source partition is paused; they resume below half of it.  A command
 * that Kafka refuses for good (after message.timeout.ms) stops the bridge
 * with an error, its source offset uncommitted: the next bridge re-reads
 * it.  On revocation the producer is flushed and the revoked partitions'
 * offsets committed before they go.  One thread; librdkafka's own
 * threads do the I/O.
 */
#ifndef BATON_BRIDGE_LOOP_H
#define BATON_BRIDGE_LOOP_H

#include "config.h"
#include "kafka_stats.h"
#include "trigger.h"

typedef struct baton_bridge baton_bridge_t;

/* Connects: the producer and one consumer per trigger, subscribed.  The
 * triggers are borrowed (they must outlive the bridge), and so is ks:
 * librdkafka's statistics of every client go there (NULL: off). */
baton_err_t baton_bridge_new(const baton_conf_t *conf,
                             baton_trigger_t *const *triggers, size_t n,
                             baton_kafka_stats_t *ks, baton_bridge_t **out,
                             char *errstr, size_t errlen);

/* One turn: polls every consumer, maps and produces, serves delivery
 * reports, pauses or resumes, commits when due.  Returns 0, or -1 when a
 * command was refused for good (the bridge must stop: see above). */
int baton_bridge_run_once(baton_bridge_t *b);

/* SIGTERM: waits for every in-flight record (up to timeout_ms), commits
 * synchronously, closes the consumers.  Returns 0, or -1 when something
 * stayed unacknowledged (its offset is then not committed). */
int baton_bridge_drain(baton_bridge_t *b, int timeout_ms);

/* Counters for the final log line. */
void baton_bridge_stats(const baton_bridge_t *b, int64_t *commands,
                        int64_t *unmatched, int64_t *dlq);

/* Records produced and not yet acknowledged. */
int64_t baton_bridge_inflight(const baton_bridge_t *b);

/* NULL when ready (every trigger's consumer has had its first assignment
 * and the sources are not paused by backpressure), else why not. */
const char *baton_bridge_not_ready(const baton_bridge_t *b);

void baton_bridge_destroy(baton_bridge_t *b); /* NULL is a no-op */

#endif /* BATON_BRIDGE_LOOP_H */
