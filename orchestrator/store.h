/*
 * store.h -- batond's Redis edge: reading a partition's state on
 * assignment and the one-transaction fenced batch write.
 *
 * The key layout (every key name, what it holds, the output ids) is
 * defined in common/keys.h; this module only reads and writes those keys.
 *
 * Thread: everything here runs on batond's loop thread.
 */
#ifndef BATON_STORE_H
#define BATON_STORE_H

#include <hiredis/hiredis.h>

#include "baton_common.h"
#include "blob.h"
#include "outbox.h"

/* ---- batond's Redis operations (all on the loop thread) ------------- */

/* Every function takes the deployment's key namespace ns (common/keys.h:
 * redis.key.prefix, default topic.prefix), borrowed for the call. */

struct baton_wset;
struct baton_registry;

/* What a partition's new owner takes and reads on assignment. */
typedef struct baton_part_state {
    int64_t epoch;          /* fencing token taken (INCR baton:{pN}:epoch) */
    int64_t next_offset[2]; /* commands, results; -1 = none stored */
    baton_outbox_msg_t *outbox; /* to re-send */
    size_t noutbox;
    char **timer_members; /* the timers due up to timers_upto */
    int64_t *timer_due;
    size_t ntimers;
    int64_t timers_upto; /* every timer due at or before it is loaded */
} baton_part_state_t;

/* Takes partition p over: the epoch, offsets, outbox, and the timers due
 * up to timers_upto (at most BATON_STORE_TIMERS_MAX of them: timers_upto
 * in *out may come back lower). */
baton_err_t baton_store_load_partition(redisContext *c, const char *ns,
                                       int32_t p, const char *const topics[2],
                                       int64_t timers_upto,
                                       baton_part_state_t *out, char *errstr,
                                       size_t errlen);
void baton_part_state_clear(baton_part_state_t *st);

/* Reads only partition p's outbox into out->outbox (out is cleared
 * first): no epoch taken, nothing else read.  batond re-sends it after
 * replacing a producer that hit a fatal error. */
baton_err_t baton_store_load_outbox(redisContext *c, const char *ns, int32_t p,
                                    baton_part_state_t *out, char *errstr,
                                    size_t errlen);

/* batond keeps in memory only the timers due within its horizon; this
 * reads the next slice: timers due in (after_ms, upto_ms], at most
 * BATON_STORE_TIMERS_MAX, earliest first, into out->timer_* (cleared
 * first).  out->timers_upto is set to where the slice really ends: upto_ms,
 * or lower when the cap cut it (never cutting a due time in two, so the
 * next slice from there misses nothing). */
#define BATON_STORE_TIMERS_MAX 10000
baton_err_t baton_store_load_timers(redisContext *c, const char *ns, int32_t p,
                                    int64_t after_ms, int64_t upto_ms,
                                    baton_part_state_t *out, char *errstr,
                                    size_t errlen);

/* GETs the snapshots of ids[i] in partitions parts[i], pipelined.
 * texts[i]/lens[i] are set (baton_malloc'd) or NULL when absent. */
baton_err_t baton_store_get_snapshots(redisContext *c, const char *ns, size_t n,
                                      const int32_t *parts,
                                      const char *const *ids, char **texts,
                                      size_t *lens, char *errstr,
                                      size_t errlen);

/* Which commands were applied already: seen[i] = 1 when the dedupe key
 * dds[i] of workflow ids[i] in partition parts[i] is remembered
 * (common/keys.h baton_keys_dedupe), pipelined. */
baton_err_t baton_store_dedupe_seen(redisContext *c, const char *ns, size_t n,
                                    const int32_t *parts,
                                    const char *const *ids,
                                    const char *const *dds, int *seen,
                                    char *errstr, size_t errlen);

/* Writes the write sets: one atomic fenced script per partition, all
 * pipelined.  epochs[p] is the fencing token this instance took for
 * partition p (baton_part_state_t.epoch) for every ws[i]->partition: the
 * token stays in batond's edge state and is attached here, never carried
 * by the write set.  fenced[i] is set to 1 when ws[i]'s token is stale (a
 * newer owner took the partition): that set is not written, and the call
 * returns BATON_ERR_FENCED (the others are written); else fenced[i] = 0. */
baton_err_t baton_store_write(redisContext *c, const char *ns,
                              struct baton_wset *const *ws, size_t n,
                              const int64_t *epochs,
                              const char *const topics[2], int64_t history_max,
                              int64_t ttl_s, int *fenced, char *errstr,
                              size_t errlen);

/* The claim check in the batch write (common/blob.h): snapshots over
 * opts.threshold are stored as ref JSON (history events come encoded by
 * the engine: engine.c baton_engine_emit), their blobs (and the write
 * sets' own, wset.h baton_wset_blob) written in the same script: each blob SET NX and held by its run (the run's set
 * baton:{pN}:blobs:<id>, the count baton:{pN}:blobrc, the blob made
 * persistent); every write of a closed run releases what it held: a blob
 * whose count drops to 0 expires retention_s later. */
typedef struct baton_store_blobs {
    baton_blob_opts_t opts; /* threshold SIZE_MAX: only escaping */
    int64_t retention_s;
    /* Payload encryption (common/crypt.h, borrowed; NULL: none): with an
     * active key, each snapshot is stored sealed whole (place "snapshot",
     * owner the run's id), each history event's "data" sealed (place
     * "history.data") and each blob sealed (place "blob", owner its hex). */
    const struct baton_crypt *crypt;
} baton_store_blobs_t;

/* baton_store_write with the claim check (blobs NULL: none). */
baton_err_t baton_store_write_ex(redisContext *c, const char *ns,
                                 struct baton_wset *const *ws, size_t n,
                                 const int64_t *epochs,
                                 const char *const topics[2],
                                 int64_t history_max, int64_t ttl_s,
                                 const baton_store_blobs_t *blobs, int *fenced,
                                 char *errstr, size_t errlen);

/* Stores the text of every registry version (SET NX). */
baton_err_t baton_store_put_defs(redisContext *c, const char *ns,
                                 const struct baton_registry *reg, char *errstr,
                                 size_t errlen);
/* Loads one version's text (baton_malloc'd), NULL when absent or error. */
char *baton_store_get_def(redisContext *c, const char *ns, const char *name,
                          const char *ver, char *errstr, size_t errlen);

#endif /* BATON_STORE_H */
