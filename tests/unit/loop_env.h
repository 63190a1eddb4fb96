/*
 * loop_env.h -- an in-memory batond for the unit tests of the loop and
 * engine: a registry, the engine and the loop over NPART partitions, and
 * the loop's port (loop.h baton_loop_port_t) implemented over arrays:
 * Kafka's input topics are an inbox, Redis is the snapshot texts last
 * written (loaded back on a cache miss), the producer is a list.
 *
 * env_run() runs one batch through baton_loop_run_batch -- the sequence
 * batond runs in production -- at the env's clock (baton_now_ms() +
 * skew_ms), sums what the batch produced, and keeps the commands and
 * results it produced so env_pump() can feed them back in, as Kafka would
 * deliver them.  fenced_mask makes the fake store answer "fenced" for the
 * partitions whose bit is set, as Redis does once another instance took
 * the partition over.
 */
#ifndef BATON_TEST_LOOP_ENV_H
#define BATON_TEST_LOOP_ENV_H

#include <stdio.h>

#include "codec.h"
#include "engine.h"
#include "loop.h"
#include "registry.h"

extern int env_passed, env_failed;
#define CHECK(cond, ...)                                         \
    do {                                                         \
        if (cond)                                                \
            env_passed++;                                        \
        else {                                                   \
            env_failed++;                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                        \
            fprintf(stderr, "\n");                               \
        }                                                        \
    } while (0)

#define NPART 4
#define ENV_MAX_OUT 512

typedef struct env_def {
    const char *name;
    const char *text;
} env_def_t;

typedef struct env_msg {
    char topic[64];
    char traceparent[BATON_TRACEPARENT_LEN + 1]; /* "" when none */
    char *value;                                 /* baton_malloc'd copy */
    size_t len;
} env_msg_t;

typedef struct env {
    baton_registry_t *reg;
    baton_codec_t *codec;
    baton_engine_t *engine;
    baton_loop_t *loop;
    int64_t offset[2][NPART];
    int64_t skew_ms;      /* the env's clock runs this far ahead */
    long oom_after;       /* >= 0: in each batch, from the poll to the write,
                        allocations fail after this many
                        (baton_alloc_fail_after); the env's own never */
    unsigned fenced_mask; /* bit p: the store refuses p's writes (fenced) */
    int abandon;        /* the store fails this batch's write (env_run(e, 0)) */
    size_t refuse_over; /* > 0: the producer refuses for good (as Kafka's
                           MSG_SIZE_TOO_LARGE) every value larger than it,
                           reported by baton_loop_outbox_refused */
    int refused;        /* messages it refused, since env_init */
    char last_refused[256]; /* outbox id of the last one */
    int redeliver;          /* an abandoned batch's inputs are polled again, as
                        batond's seek back does (default: dropped) */
    int64_t commits;        /* committed batches (the port's commit calls) */
    baton_loop_port_t port;
    /* fed inputs, handed to the loop by the port's poll */
    baton_loop_msg_t inbox[ENV_MAX_OUT];
    char inbox_tp[ENV_MAX_OUT][BATON_TRACEPARENT_LEN + 1]; /* their
                                                              traceparents */
    int ninbox;
    /* tracing: every span the written batches recorded, as {"trace", "id",
     * "parent", "name", "start", "end"} (ms), and the last task's header */
    json_t *spans;
    char last_task_traceparent[BATON_TRACEPARENT_LEN + 1];
    /* what the last batch decided, summed over partitions */
    int tasks, events, dlq, forwards, closes, cancels;
    int tasks_total; /* tasks produced since env_init, never reset */
    char last_task[256];
    int last_task_json;    /* it went out as JSON (content-type header) */
    char *last_task_value; /* its bytes as sent (baton_malloc'd) */
    size_t last_task_len;
    char last_task_lineage[600]; /* "<root>|<parent or ->|<run_path>" */
    char last_cancel[256];       /* task_id of the last cancel notice */
    int last_cancel_json;        /* it went out as JSON */
    char last_outbox_del[256];   /* last outbox entry the batch removes */
    /* produced commands and results, for env_pump */
    env_msg_t out[ENV_MAX_OUT];
    int nout;
    /* encoded inputs the loop borrows until the batch is done */
    char *held[ENV_MAX_OUT];
    int nheld;
    /* the last snapshot text written of each run (closed runs leave the
     * loop's cache), and the decoded copies handed out by env_snap */
    json_t *written;
    json_t *dedupe;      /* the fake Redis' dedupe keys: key -> until (ms) */
    json_t *hist;        /* every history event written, JSON texts */
    char last_dlq[512];  /* reason of the last DLQ message */
    size_t last_dlq_len; /* and the length of its value */
    baton_snapshot_t **decoded;
    size_t ndecoded;
} env_t;

/* batond.payload.max of the envs env_init makes (default 1000). */
extern int64_t env_payload_max;
void env_init(env_t *e, const env_def_t *defs);
void env_free(env_t *e);
int64_t env_now(const env_t *e);
/* Runs one batch (baton_loop_run_batch): the fed inputs, the due timers;
 * commit = 0 makes the store's write fail, so the batch is abandoned. */
void env_run(env_t *e, int commit);
/* The same without checking: returns the batch's error (the batch is then
 * abandoned, as batond does), BATON_OK for an abandon commit = 0 asked. */
baton_err_t env_try_run(env_t *e, int commit, char *err, size_t errlen);
/* Feeds the kept commands and results back in (not run yet). */
int env_refeed(env_t *e);
/* Feeds the kept commands and results back in and runs, until none is
 * left (at most `rounds` times).  Returns how many were fed. */
int env_pump(env_t *e, int rounds);
/* Moves the clock ahead and queues the timers due by then at once (ahead
 * of inputs fed afterwards); returns how many.  env_run queues any others
 * due at its clock itself, as batond does. */
size_t env_advance(env_t *e, int64_t ms);
/* Feeds an encoded input into the inbox at the next offset of (src, p);
 * buf is borrowed until the next env_run. */
void env_feed(env_t *e, baton_src_t src, int32_t p, const char *buf, size_t len,
              int json);
void env_cmd(env_t *e, baton_cmd_kind_t kind, const char *id, const char *type,
             const char *name, const char *payload);
void env_result(env_t *e, const baton_result_t *r);
/* Feeds any command (encoded, Avro) to its workflow's partition. */
void env_command(env_t *e, const baton_command_t *c);
/* How many history events written so far contain `needle`. */
int env_hist_count(const env_t *e, const char *needle);
/* A COMPLETED / FAILED ("Boom") / HEARTBEAT result. */
void env_simple_result(env_t *e, const char *task_id, const char *wf,
                       baton_result_kind_t kind, const char *out);
/* The run as cached, or as last written (NULL: never written). */
const baton_snapshot_t *env_snap(env_t *e, const char *id);

#endif /* BATON_TEST_LOOP_ENV_H */
