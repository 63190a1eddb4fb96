/*
 * loop.h -- the batched processing loop of DESIGN.md, as pure logic.
 *
 * The edges (polling Kafka, talking to Redis, producing) sit behind a port
 * (baton_loop_port_t below): batond implements it over Kafka and Redis
 * (batond.c, store.c), the unit tests in memory (tests/unit/loop_env.c).
 * This module owns the decisions and the order of the steps: one call of
 * baton_loop_run_batch() runs, per batch,
 *
 *   port.prepare()            edge work due this turn (timer slices)
 *   port.poll()               a batch of input messages, waiting at most
 *                             until the next armed timer is due
 *   baton_loop_input()        each polled message: skip it if its offset
 *                             was applied already, decode it (undecodable or
 *                             invalid -> DLQ), forward it when it sits in the
 *                             wrong partition, else queue it
 *   baton_loop_due_timers()   queue the timers that are due
 *   baton_loop_missing()      snapshots the cache lacks -> port.load_snapshots
 *   baton_loop_provide()      ... hands them back (NULL = no such run)
 *   port.dedupe_seen()        which commands with a dedupe key (dedupe_id,
 *                             else request_id) were applied already
 *   baton_loop_missing_def()  definition versions not loaded -> port.load_def
 *                             (not found: baton_loop_def_unavailable, DLQ)
 *   baton_loop_apply()        the engine applies every queued input, filling
 *                             one write set per partition
 *   port.write()              the write sets (baton_loop_wsets), one atomic
 *                             fenced write per partition (store.c)
 *   port.produce()            the outbox messages of the written partitions;
 *                             fenced partitions are dropped instead
 *   baton_loop_batch_done()   committed: offsets advance, new timers armed,
 *                             closed runs leave the cache; not committed:
 *                             the partitions' caches are dropped and the
 *                             caller re-reads their state and seeks back
 *   port.release()            the polled messages may be freed
 *   port.commit()             offsets to Kafka too, for consumer lag
 *
 * Dedupe (exactly-once effect of a command sent more than once): a
 * command's dedupe key is "d:<dedupe_id>", else "r:<request_id>", else it
 * has none.  A command whose key the store remembers for its workflow, or
 * that an earlier input of the same batch applied, is a duplicate: it
 * changes nothing but the run's duplicate count and history
 * (CommandDuplicate) and the loop's stats.  An applied command's key is
 * written with the batch (wset.h baton_wset_dedupe) for its window:
 * dedupe_window_ms, or conf.dedupe_window_ms.  A command rejected to the
 * DLQ is not remembered (replaying it from the DLQ must work).  A command
 * forwarded from a wrong partition without a key gets dedupe_id
 * "baton:fwd/<partition>/<offset>" (its place in the wrong partition), so
 * a forward re-sent from the outbox after a crash is applied once.
 *
 * The step functions stay public so tests can drive single steps; the
 * fencing token is no business of the loop: the port's write attaches it.
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
    int32_t partition_cnt;    /* of the commands and results topics */
    int64_t payload_max;      /* bytes of a JSON payload */
    int64_t cache_max;        /* snapshots kept in memory */
    int64_t dedupe_window_ms; /* a command's dedupe key is remembered this
                                 long unless it says; <= 0: 24 h */
    int64_t envelope_max;     /* bytes of a polled message, checked before it
                              is parsed; <= 0: no limit */
    int64_t string_max;       /* bytes of every string field that is not a
                              JSON payload (reason, signal name, error,
                              cause, worker, ...); <= 0: no limit */
    int64_t dlq_copy_max;     /* a DLQ copy keeps at most this many bytes of
                              the value (a stub); <= 0: all of it */
    int32_t apply_retries;    /* an input whose apply fails for a non-input
                              reason (out of memory, ...) this many batches
                              in a row quarantines its run; <= 0: never */
} baton_loop_conf_t;

typedef struct baton_loop_stats {
    int64_t inputs, applied, skipped, dlq, forwarded, timers_fired;
    int64_t duplicates; /* commands not applied: their dedupe key was */
    int64_t batches, cache_hits, cache_misses;
    int64_t timers_armed_max; /* most timers held in memory at once */
    int64_t quarantined;      /* runs quarantined after repeated failures */
} baton_loop_stats_t;

baton_loop_t *baton_loop_new(const baton_loop_conf_t *conf,
                             baton_engine_t *engine, baton_codec_t *codec);
void baton_loop_destroy(baton_loop_t *loop); /* NULL is a no-op */

/* Takes partition p: next_offset[src] as the store holds them (-1 = none). */
baton_err_t baton_loop_partition_add(baton_loop_t *loop, int32_t p,
                                     const int64_t next_offset[2]);
/* Arms a timer of partition p (read from the store on assignment). */
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

/* Queues one polled message (value, len) at offset of source src in
 * partition p; json: the value is a JSON envelope, else Avro.  Returns
 * BATON_OK (also for a skipped, DLQ'd or forwarded message) or
 * BATON_ERR_NOMEM. */
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
baton_err_t baton_loop_apply(baton_loop_t *loop, int64_t now_ms, char *errstr,
                             size_t errlen);

/* The write sets of the owned partitions (some may be empty). */
baton_wset_t *const *baton_loop_wsets(baton_loop_t *loop, size_t *n);

/* Records that Kafka acknowledged outbox entry id of partition p: deleted
 * from the outbox in the next batch. */
baton_err_t baton_loop_outbox_done(baton_loop_t *loop, int32_t p,
                                   const char *id);

/* The producer refused outbox entry m of partition p for good (a
 * permanent error: the message is too large, the topic refuses it, ...;
 * why says which).  The next write deletes the entry and, in the same
 * transaction, puts a DLQ stub of it in the outbox: the headers (the
 * reason says the entry's id and topic and why), at most dlq_copy_max
 * bytes of its value.  A refused DLQ message is deleted with an error
 * logged, never copied again: no outbox entry lives for ever.  m is
 * borrowed (copied).  May run between batches or while a batch's outbox
 * is produced.  BATON_OK or BATON_ERR_NOMEM (the entry then stays: it is
 * re-sent and refused again on the next assignment). */
baton_err_t baton_loop_outbox_refused(baton_loop_t *loop, int32_t p,
                                      const baton_outbox_msg_t *m,
                                      const char *why);

void baton_loop_batch_done(baton_loop_t *loop, int committed);

/* ---- the port: the batch sequence, driven by the loop ------------------ */

/* One polled input message, as a port hands it over.  value is borrowed
 * from the port until its release() is called. */
typedef struct baton_loop_msg {
    baton_src_t src; /* BATON_SRC_COMMANDS or BATON_SRC_RESULTS */
    int32_t partition;
    int64_t offset;
    const void *value;
    size_t len;
    int json; /* content-type: application/json */
    /* headers traceparent and tracestate, NUL-terminated, NULL when
     * absent (borrowed like value): a command's trace context */
    const char *traceparent;
    const char *tracestate;
} baton_loop_msg_t;

/* What the loop needs from the world around it, as callbacks over an
 * opaque ctx (passed first to each).  batond implements it over Kafka and
 * Redis (batond.c), the unit tests in memory (tests/unit/loop_env.c), so
 * both run the very sequence of baton_loop_run_batch.  Every callback runs
 * on the loop thread, inside baton_loop_run_batch or baton_loop_flush.
 * Callbacks that fail fill errstr with what they were doing. */
typedef struct baton_loop_port {
    void *ctx;
    /* Before polling (may be NULL): edge work due this turn (batond reads
     * the next slice of timers).  An error abandons the batch. */
    baton_err_t (*prepare)(void *ctx, char *errstr, size_t errlen);
    /* Polls a batch of input messages, waiting at most timeout_ms for the
     * first; *msgs is set to an array of the port's (borrowed until
     * release).  Returns how many. */
    size_t (*poll)(void *ctx, int timeout_ms, const baton_loop_msg_t **msgs);
    /* The clock the batch is applied at, ms since the epoch. */
    int64_t (*now_ms)(void *ctx);
    /* Reads the snapshots of ids[i] in partitions parts[i]: texts[i] and
     * lens[i] set (baton_malloc'd, the loop frees them) or NULL when the
     * run does not exist.  An error abandons the batch. */
    baton_err_t (*load_snapshots)(void *ctx, size_t n, const int32_t *parts,
                                  const char *const *ids, char **texts,
                                  size_t *lens, char *errstr, size_t errlen);
    /* Which commands were applied already (may be NULL: the store
     * remembers none): seen[i] set to 1 when dedupe key dds[i] of
     * workflow ids[i] in partition parts[i] is remembered, else 0.  An
     * error abandons the batch. */
    baton_err_t (*dedupe_seen)(void *ctx, size_t n, const int32_t *parts,
                               const char *const *ids, const char *const *dds,
                               int *seen, char *errstr, size_t errlen);
    /* The claim check (may be NULL: results are taken as they are):
     * resolves the references in the output text of a result of a run of
     * partition p (common/blob.h): *out set to the plain text
     * (baton_malloc'd) or NULL when there was nothing to resolve.
     * BATON_ERR_REDIS abandons the batch; any other error (a blob
     * missing, corrupt, over blob.resolve.max) turns the result into a
     * failure Baton.BlobInvalid with errstr as its cause. */
    baton_err_t (*resolve)(void *ctx, int32_t p, const char *text, char **out,
                           char *errstr, size_t errlen);
    /* Loads definition version name/ver into the engine's registry; an
     * error (logged by the loop) sends the inputs that need it to the DLQ. */
    baton_err_t (*load_def)(void *ctx, const char *name, const char *ver,
                            char *errstr, size_t errlen);
    /* Writes the n write sets, each atomically (store.c).  fenced[i] is set
     * to 1 when partition ws[i] belongs to another instance now (it was not
     * written), else 0.  BATON_OK, BATON_ERR_FENCED (the others were
     * written), or any other error: the batch is abandoned. */
    baton_err_t (*write)(void *ctx, baton_wset_t *const *ws, size_t n,
                         int *fenced, char *errstr, size_t errlen);
    /* Produces one written outbox message of partition p (borrowed during
     * the call); its acknowledgement comes back as baton_loop_outbox_done. */
    void (*produce)(void *ctx, int32_t p, const baton_outbox_msg_t *m);
    /* The batch is over (committed or abandoned): the polled messages may
     * be freed. */
    void (*release)(void *ctx, int committed);
    /* After a committed batch: commit the new offsets to Kafka too (for
     * consumer lag; may be NULL). */
    void (*commit)(void *ctx);
} baton_loop_port_t;

/* The longest a poll waits when no timer is due sooner, ms. */
#define BATON_LOOP_POLL_MAX_MS 100

/* One batch, the sequence of DESIGN.md "The processing loop":
 *   prepare; poll (waiting at most until the next armed timer); each
 *   message through baton_loop_input (skip applied offsets, DLQ, forward);
 *   queue the due timers; load the missing snapshots and definitions;
 *   apply; write every partition's set; produce the outbox of the written
 *   ones and drop the fenced ones; batch_done; release; commit.
 * Inputs and timers queued before the call (tests) are part of the batch.
 * Returns BATON_OK (also when partitions were fenced: they are dropped,
 * the rest is committed), or the error that abandoned the batch (errstr
 * says why; caches dropped, offsets not advanced): the caller re-reads its
 * partitions' state from the store and seeks back. */
baton_err_t baton_loop_run_batch(baton_loop_t *loop,
                                 const baton_loop_port_t *port, char *errstr,
                                 size_t errlen);

/* Writes what is pending outside a batch (the acknowledged outbox entries
 * to delete: on revocation), drops the fenced partitions, and ends the
 * batch committed.  Returns the write's error, BATON_ERR_FENCED included
 * (logged by the caller; deletions not written are simply lost: the next
 * owner re-sends those messages, which is harmless). */
baton_err_t baton_loop_flush(baton_loop_t *loop, const baton_loop_port_t *port,
                             char *errstr, size_t errlen);

const baton_loop_stats_t *baton_loop_stats(const baton_loop_t *loop);
/* Snapshot of a cached run (for tests), or NULL. */
const baton_snapshot_t *baton_loop_cached(const baton_loop_t *loop, int32_t p,
                                          const char *id);

#endif /* BATON_LOOP_H */
