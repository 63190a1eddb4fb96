/*
 * wset.h -- the write set of one partition for one batch.
 *
 * The engine records here everything that applying a batch of inputs
 * decided: snapshots to write, history events to append, messages for the
 * outbox, timers to add and remove, and the next offsets.  The loop hands
 * the sets to its port (loop.h): in batond, store.c turns each into one
 * atomic write fenced by the partition's token, which batond keeps and
 * attaches there (no token travels in a write set); then the outbox
 * messages are produced.
 * Pure data: no Kafka, no Redis -- and the build checks it: before
 * baton_core is built, orchestrator/core_purity.sh fails on any include of
 * hiredis, librdkafka, kafka.h, redis.h or store.h in this file or the rest
 * of the core.
 *
 * A snapshot in HELD status with no held signal left is deleted rather than
 * written (engine_held.c: its last held signal expired).
 *
 * Output ids: before applying an input the loop calls baton_wset_begin()
 * with the input's source and offset; every message added then gets the id
 * "<src><offset>.<k>" (common/keys.h), so ids are unique and deterministic.
 *
 * Thread: batond's loop thread.
 */
#ifndef BATON_WSET_H
#define BATON_WSET_H

#include "baton_common.h"
#include "snapshot.h"
#include "outbox.h"
#include "trace.h"

typedef enum {
    BATON_SRC_COMMANDS = 0,
    BATON_SRC_RESULTS = 1,
    BATON_SRC_TIMERS = 2,
} baton_src_t;
#define BATON_SRC_TOPICS 2 /* sources with Kafka offsets */

typedef struct baton_hist_add {
    char *wf_id;
    char *json;
    int close; /* 1: the workflow closed: set TTLs on its keys */
    int open;  /* 1: a new run of a closed id started: its history
                  (kept with a TTL since the close) must not expire */
} baton_hist_add_t;

/* "Command dd was applied to workflow wf_id": remembered window_ms
 * (common/keys.h baton_keys_dedupe). */
typedef struct baton_dedupe_add {
    char *wf_id;
    char *dd;
    int64_t window_ms;
} baton_dedupe_add_t;

/* A claim-check blob run wf_id holds (common/blob.h): store.c stores it
 * (SET NX) and records that the run holds it (baton:{pN}:blobrc). */
typedef struct baton_blob_put {
    char *wf_id;
    char hex[65];
    char *text;
    size_t len;
} baton_blob_put_t;

typedef struct baton_timer_op {
    char *member;
    int64_t due_ms; /* add only */
} baton_timer_op_t;

typedef struct baton_wset {
    int32_t partition;
    baton_snapshot_t **snaps; /* borrowed from the cache, written whole */
    size_t nsnaps, capsnaps;
    baton_hist_add_t *hist;
    size_t nhist, caphist;
    baton_outbox_msg_t *out;
    size_t nout, capout;
    char **out_del; /* outbox ids acknowledged by Kafka */
    size_t nout_del, capout_del;
    baton_timer_op_t *tadd;
    size_t ntadd, captadd;
    char **tdel;
    size_t ntdel, captdel;
    baton_dedupe_add_t *dd;
    size_t ndd, capdd;
    baton_span_t *spans; /* ended spans: exported once the batch is
                            written (best effort, docs/tracing.md) */
    size_t nspans, capspans;
    baton_blob_put_t *blobs; /* claim-check blobs of this batch */
    size_t nblobs, capblobs;
    int64_t next_offset[BATON_SRC_TOPICS]; /* -1 = unchanged */
    /* id of the input being applied */
    char cur_src;
    char cur_ref[160];
    int cur_k;
} baton_wset_t;

void baton_wset_init(baton_wset_t *ws, int32_t partition);
/* Frees everything the set owns (not the snapshots) and re-inits it. */
void baton_wset_reset(baton_wset_t *ws);
int baton_wset_empty(const baton_wset_t *ws);

/* The input about to be applied: src 'c','r' with its offset, or 't' with
 * the timer member as ref. */
void baton_wset_begin(baton_wset_t *ws, char src, int64_t offset,
                      const char *ref);

/* Records that s must be written (once per batch however often called). */
baton_err_t baton_wset_snapshot(baton_wset_t *ws, baton_snapshot_t *s);
/* Appends a history event (json stolen: baton_malloc'd text). */
baton_err_t baton_wset_hist(baton_wset_t *ws, const char *wf_id, char *json,
                            int close);
/* Adds a message to the outbox; topic, key copied; value stolen. */
baton_err_t baton_wset_msg(baton_wset_t *ws, const char *topic,
                           int32_t partition, const char *key, int json,
                           char *value, size_t value_len);
/* The same under a given output id (unique and deterministic, like the
 * default ones): an activity task is "T<task_id>", so that the write that
 * ends the attempt can remove it from the outbox (engine_task.c). */
baton_err_t baton_wset_msg_as(baton_wset_t *ws, const char *id,
                              const char *topic, int32_t partition,
                              const char *key, int json, char *value,
                              size_t value_len);
/* Sets the trace headers (traceparent, tracestate; copied, either may be
 * NULL) of the message added last; BATON_OK when there is none. */
baton_err_t baton_wset_trace_last(baton_wset_t *ws, const char *traceparent,
                                  const char *tracestate);
/* Records an ended span (its attrs stolen, *sp zeroed). */
baton_err_t baton_wset_span(baton_wset_t *ws, baton_span_t *sp);
/* Records blob hex (text copied) held by run wf_id. */
baton_err_t baton_wset_blob(baton_wset_t *ws, const char *wf_id,
                            const char *hex, const char *text, size_t len);
baton_err_t baton_wset_outbox_done(baton_wset_t *ws, const char *id);
baton_err_t baton_wset_timer_add(baton_wset_t *ws, const char *member,
                                 int64_t due_ms);
baton_err_t baton_wset_timer_del(baton_wset_t *ws, const char *member);
/* Records that the command with dedupe key dd was applied to wf_id, to be
 * remembered window_ms (strings copied). */
baton_err_t baton_wset_dedupe(baton_wset_t *ws, const char *wf_id,
                              const char *dd, int64_t window_ms);

#endif /* BATON_WSET_H */
