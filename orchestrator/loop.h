/*
 * loop.h -- the batched processing loop of DESIGN.md, as pure logic.
 *
 * batond (batond.c) owns the edges: it polls Kafka, talks to Redis and
 * produces.  This module owns the decisions, per batch:
 *
 *   baton_loop_batch_begin()
 *   baton_loop_input()        each polled message: skip it if its offset
 *                             was applied already, decode it (undecodable or
 *                             invalid -> DLQ), forward it when it sits in the
 *                             wrong partition, else queue it
 *   baton_loop_due_timers()   queue the timers that are due
 *   baton_loop_missing()      snapshots the cache lacks -> batond GETs them
 *   baton_loop_provide()      ... and hands them back (NULL = no such run)
 *   baton_loop_missing_def()  definition versions not loaded -> batond
 *                             loads them from Redis into the registry
 *   baton_loop_apply()        the engine applies every queued input, filling
 *                             one write set per partition
 *   baton_loop_wsets()        -> batond writes them (store.c) in one
 *                             atomic write per partition, then produces the
 *                             outbox messages
 *   baton_loop_batch_done()   committed: offsets advance, new timers armed,
 *                             closed runs leave the cache; not committed:
 *                             the partitions' caches are dropped and batond
 *                             re-reads their state from Redis and seeks back
 *
 * Thread: batond's loop thread.  Message buffers passed to
 * baton_loop_input are borrowed until baton_loop_batch_done.
 */
#ifndef BATON_LOOP_H
#define BATON_LOOP_H

#include "engine.h"
#include "wset.h"

typedef struct baton_loop baton_loop_t;

typedef struct baton_loop_conf {
    const char *topic_prefix;
    int32_t partition_cnt;  /* of the commands and results topics */
    int64_t payload_max;    /* bytes of a JSON payload */
    int64_t cache_max;      /* snapshots kept in memory */
} baton_loop_conf_t;

typedef struct baton_loop_stats {
    int64_t inputs, applied, skipped, dlq, forwarded, timers_fired;
    int64_t batches, cache_hits, cache_misses;
    int64_t timers_armed_max; /* most timers held in memory at once */
} baton_loop_stats_t;

baton_loop_t *baton_loop_new(const baton_loop_conf_t *conf,
                             baton_engine_t *engine, baton_codec_t *codec);
void baton_loop_destroy(baton_loop_t *loop); /* NULL is a no-op */

/* Takes partition p: next_offset[src] from Redis (-1 = none). */
baton_err_t baton_loop_partition_add(baton_loop_t *loop, int32_t p,
                                     const int64_t next_offset[2]);
/* The fencing token under which this instance owns p (store.h). */
void baton_loop_set_epoch(baton_loop_t *loop, int32_t p, int64_t epoch);
/* Arms a timer of partition p (from Redis on assignment). */
baton_err_t baton_loop_timer_arm(baton_loop_t *loop, int32_t p,
                                 const char *member, int64_t due_ms);
/* The horizon of p's armed timers: every timer of p due at or before it
 * is armed in memory; later ones live in Redis only until batond reads
 * the next slice (store.h baton_store_load_timers) and moves it.  New
 * timers beyond it are not armed.  INT64_MAX (the default) arms all. */
void baton_loop_set_timers_upto(baton_loop_t *loop, int32_t p, int64_t upto);
int64_t baton_loop_timers_upto(const baton_loop_t *loop, int32_t p);
void baton_loop_partition_drop(baton_loop_t *loop, int32_t p);
int baton_loop_owns(const baton_loop_t *loop, int32_t p);
int64_t baton_loop_next_offset(const baton_loop_t *loop, int32_t p,
                               baton_src_t src);

void baton_loop_batch_begin(baton_loop_t *loop);

/* Queues one polled message of a source topic.  key may be NULL. */
baton_err_t baton_loop_input(baton_loop_t *loop, baton_src_t src, int32_t p,
                             int64_t offset, const void *value, size_t len,
                             int json);
/* Queues every armed timer due at now_ms; returns how many. */
size_t baton_loop_due_timers(baton_loop_t *loop, int64_t now_ms);
/* Earliest armed timer, or INT64_MAX. */
int64_t baton_loop_next_timer(const baton_loop_t *loop);

/* Snapshots to load: fills borrowed arrays valid until the next call. */
size_t baton_loop_missing(baton_loop_t *loop, const int32_t **parts,
                          const char *const **ids);
/* Hands over a loaded snapshot text (NULL = the run does not exist). */
baton_err_t baton_loop_provide(baton_loop_t *loop, int32_t p, const char *id,
                               const char *text, size_t len);
/* A definition version that a cached run needs and the registry lacks, or
 * 0 when none; name/ver are borrowed. */
int baton_loop_missing_def(baton_loop_t *loop, const char **name,
                           const char **ver);
/* The version could not be found anywhere: its inputs go to the DLQ. */
void baton_loop_def_unavailable(baton_loop_t *loop, const char *name,
                                const char *ver);

/* Applies every queued input.  BATON_OK, or an error after which the batch
 * must be abandoned (baton_loop_batch_done(loop, 0)). */
baton_err_t baton_loop_apply(baton_loop_t *loop, int64_t now_ms,
                             char *errstr, size_t errlen);

/* The write sets of the owned partitions (some may be empty). */
baton_wset_t *const *baton_loop_wsets(baton_loop_t *loop, size_t *n);

/* Records that Kafka acknowledged outbox entry id of partition p: deleted
 * from the outbox in the next batch. */
baton_err_t baton_loop_outbox_done(baton_loop_t *loop, int32_t p,
                                   const char *id);

void baton_loop_batch_done(baton_loop_t *loop, int committed);

const baton_loop_stats_t *baton_loop_stats(const baton_loop_t *loop);
/* Snapshot of a cached run (for tests), or NULL. */
const baton_snapshot_t *baton_loop_cached(const baton_loop_t *loop, int32_t p,
                                          const char *id);

#endif /* BATON_LOOP_H */
