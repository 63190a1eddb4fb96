/*
 * worker_int.h -- what the worker SDK's files share (not a public
 * interface: the API is baton_worker.h).
 *
 * The SDK is split by concern:
 *
 *   worker.c             the worker object: config, Kafka clients, the run
 *                        loop, stop and destroy;
 *   worker_activity.c    the job a handler sees (baton_activity_t): job
 *                        lists, accessors, complete/fail, cancellation;
 *   worker_pool.c        the thread pool: dispatching jobs, running
 *                        handlers, taking finished jobs back;
 *   worker_produce.c     producing results and dead letters, delivery
 *                        reports, encoding a job's result;
 *   worker_consume.c     turning a consumed message into a job (decoding,
 *                        dead-lettering what cannot be decoded);
 *   worker_partitions.c  per-partition offset tracking, commits, pausing;
 *   worker_rebalance.c   the rebalance callback (finish, commit, resume);
 *   worker_heartbeat.c   the heartbeat throttle;
 *   worker_trace.c       the span of each execution (docs/tracing.md);
 *   cancels.c            the cancellation-notice listener (cancels.h);
 *   worker_metrics.c     metrics and health (worker.metrics.listen).
 *
 * the thread pool, and per-partition offset tracking.
 *
 * Threads and who owns what:
 *
 *   the run thread   (the application thread inside baton_worker_run)
 *       polls the consumer (messages, rebalances, commit results) and the
 *       producer (delivery reports, errors); owns every job and partition
 *       record; produces results and DLQ messages; commits.
 *   pool threads     (worker.concurrency of them) run handlers, encode the
 *       result with their own codec, produce heartbeats (producev is
 *       thread-safe), and hand the job back on the done list.
 *
 * A job moves through: BACKLOG (fetched, waiting for a pool thread) ->
 * RUNNING (owned by a pool thread) -> DONE (result encoded, back on the run
 * thread) -> PRODUCED (waiting for its delivery report) -> ACKED.  A job
 * that is not to be answered (dropped from the backlog at stop or
 * revocation, or cancelled by the worker and not reported) ends ABANDONED:
 * its offset is never committed, so the task runs again elsewhere.
 *
 * Offset tracking, per assigned partition: a ring of the jobs received, in
 * offset order (Kafka delivers a partition in order).  Acknowledged jobs
 * are popped from the head; the offset to commit is the head's offset (the
 * lowest not acknowledged) or, when the ring is empty, one past the last
 * offset received.  So a commit never passes a task whose result Kafka has
 * not acknowledged.
 *
 *   ring:  [ 17 PRODUCED | 18 ACKED | 19 RUNNING | 20 BACKLOG ]
 *   commit offset 17; when 17 is acked, 17 and 18 pop: commit 19.
 *
 * Wakeups: the run thread sleeps in poll() on a pipe that librdkafka writes
 * to when the consumer or producer queue gets something
 * (rd_kafka_queue_io_event_enable), that pool threads write to when a job
 * is done, that the cancellation listener writes to after a new notice,
 * and that baton_worker_stop writes to; plus a 100 ms backstop.
 *
 * Cancellation (wire protocol version 2): the listener thread (cancels.c)
 * keeps the task ids of recent notices; the run thread flags the jobs they
 * name (job->cancel |= BATON_CANCEL_ORCHESTRATOR) when the set changes and
 * when it dispatches a job, and a flagged job that has not started is
 * answered "Baton.Cancelled" without running its handler.  The worker's
 * own reasons (second stop, revocation timeout) set BATON_CANCEL_WORKER.
 *
 * Heartbeats: sent from the handler's thread when the task's last one is
 * at least an interval (heartbeat_seconds / 3) old; otherwise the details
 * wait in the job (under hb_mu) and the run thread sends the latest once
 */
#ifndef BATON_WORKER_INT_H
#define BATON_WORKER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "blob.h"
#include "baton_worker.h"
#include "cancels.h"
#include "codec.h"
#include "httpd.h"
#include "kafka.h"
#include "kafka_stats.h"
#include "metrics.h"
#include "otlp.h"

struct redisContext;

#define SUBSYS "worker"
#define LOOP_WAIT_MS 100          /* backstop of the run loop's sleep */
#define COMMIT_INTERVAL_US 100000 /* async commits at most this often */
#define HEARTBEAT_DEFAULT_INTERVAL_US 1000000 /* heartbeat_seconds 0 */
#define HEARTBEAT_MIN_INTERVAL_US 100000      /* never more than 10/s */
#define HARD_STOP_GRACE_US 5000000 /* second stop: wait this for acks */
#define FLUSH_TIMEOUT_MS 10000

typedef enum {
    JOB_BACKLOG,
    JOB_RUNNING,
    JOB_DONE,
    JOB_PRODUCED,
    JOB_ACKED,
    JOB_ABANDONED,
} job_state_t;

typedef struct handler {
    char *type;
    baton_activity_fn fn;
    void *opaque;
} handler_t;

typedef struct part part_t;

/* A job: one task message and, once run, its answer.  The handler sees it
 * as baton_activity_t. */
struct baton_activity {
    baton_worker_t *w;
    part_t *part; /* NULL once the partition is revoked (orphan) */
    int32_t partition;
    int64_t offset;
    job_state_t state;
    int json;                 /* the task came as JSON: answer in JSON */
    baton_task_t task;        /* decoded task (zeroed for DLQ jobs) */
    const handler_t *handler; /* NULL: unknown activity type */
    int64_t deadline_ms;      /* 0 = none */
    atomic_int cancel;        /* BATON_CANCEL_WORKER / _ORCHESTRATOR bits,
                              set by the run thread */

    /* set by the handler (pool thread) */
    baton_codec_t *codec; /* the pool thread's, while running */
    int reported;
    baton_result_kind_t kind;
    char *output, *error, *cause;
    int64_t retry_after_ms;
    int non_retryable;
    int64_t started_us;

    /* heartbeats: throttled, the latest held back is sent by the run
     * thread once the interval has passed (see baton_activity_heartbeat);
     * under w->hb_mu */
    int64_t last_hb_us; /* when the last one was produced; 0 = never */
    int hb_pending;     /* hb_details waits to be sent */
    char *hb_details;   /* JSON text, or NULL for none */
    int hb_closed;      /* the handler returned: send nothing more */

    /* the message to produce: a result, or the task itself to the DLQ */
    int to_dlq;
    char *out_buf;
    size_t out_len;
    char *out_key;
    size_t out_key_len;
    rd_kafka_headers_t *out_headers; /* copied on each produce */

    /* tracing: the execution's span (child of the task's traceparent),
     * NULL when the task carried none (worker_trace.c) */
    baton_span_t *span;
    unsigned trace_flags;
    char *tracestate;

    struct baton_activity *next; /* backlog, pool queue, done and retry lists */
};
typedef struct baton_activity job_t;

typedef struct job_list {
    job_t *head, *tail;
    int cnt;
} job_list_t;

/* One assigned partition of the task topic. */
struct part {
    int32_t id;
    int assigned;
    job_t **ring; /* jobs by offset, oldest first */
    size_t head, cnt, cap;
    int64_t next_offset; /* one past the last offset received; -1 none */
    int64_t committed;   /* last offset sent in a commit; -1 none */
    int64_t resume;      /* commit offset when last revoked; -1 none */
    int group_offset;    /* at assignment the group had a committed offset
                            for it: 1 yes, 0 none, -1 unknown */
};

struct baton_worker {
    /* settings */
    char *queue, *task_topic, *results_topic, *dlq_topic, *group, *id;
    int concurrency;
    int prefetch; /* tasks fetched ahead while all threads are busy */
    int revoke_wait_ms;

    /* Kafka */
    rd_kafka_t *consumer, *producer;
    rd_kafka_queue_t *consumer_q, *producer_q;
    rd_kafka_conf_t *producer_conf; /* a copy, for a replacement producer */
    int producer_fatal;  /* the producer hit a fatal error: replace it */
    int producer_resets; /* replacements so far */
    /* TEST HOOK: BATON_TEST_WORKER_PRODUCER_FATAL_AFTER (0 = off) */
    int64_t test_fatal_after, test_produced;
    baton_codec_t *codec; /* the run thread's (decoding) */
    baton_otlp_t *otlp;   /* span exporter, NULL: tracing off */
    int trace_content;    /* tracing.genai.content */

    /* handlers */
    handler_t *handlers;
    int handler_cnt;

    /* run-thread state */
    int started;
    int stopping; /* draining */
    int cancelled_all;
    int64_t hard_stop_us; /* 0, or when a second stop stops waiting */
    part_t **parts;       /* by partition id */
    int32_t parts_cap;
    job_list_t backlog; /* BACKLOG jobs, offset order per partition */
    job_list_t retry;   /* DONE jobs the producer could not take yet */
    int running;        /* jobs given to the pool, not yet back */
    int out_pending;    /* jobs DONE or PRODUCED */
    int paused;
    int64_t last_commit_us;
    baton_err_t fatal;
    char errstr[512];

    /* the pool */
    pthread_t *threads;
    baton_codec_t **codecs;
    int thread_cnt;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_list_t queue_in; /* to run */
    job_list_t done;     /* run, back to the run thread */
    int pool_exit;

    /* stop and wakeups */
    atomic_int stop_cnt;
    int wake[2];

    /* cancellation notices (cancels.c) */
    baton_cancels_t *cancels;
    uint64_t cancels_seen; /* generation last applied to the jobs */

    /* heartbeats held back by the throttle */
    pthread_mutex_t hb_mu;
    atomic_int hb_pending_cnt;

    /* metrics and health (worker_metrics.c): NULL when off */
    baton_metrics_t *metrics;
    baton_kafka_stats_t *kstats;
    baton_httpd_t *httpd;
    baton_metric_t *m_s2s, *m_exec, *m_tasks, *m_running, *m_backlog;
    atomic_int m_assigned;  /* the consumer had its first assignment */
    atomic_int m_not_ready; /* 0 ready, 1 unassigned, 2 stopping/failed */
    /* the claim check (worker_blobs.c) */
    pthread_mutex_t blob_mu;
    int blob_mu_init;
    struct redisContext *blob_redis;
    char *redis_url, *redis_user, *redis_password, *blob_ns;
    baton_blob_opts_t blob_opts;
    struct baton_crypt *crypt; /* payload keys (crypt.*), or NULL */
    size_t blob_resolve_max;
    int64_t blob_ttl_s;
};

/* ---- worker_blobs.c ------------------------------------------------------
 */

/* Reads the blob.* and redis.* settings (no connection yet). */
baton_err_t baton_worker_blobs_init(baton_worker_t *w, const baton_conf_t *conf,
                                    char *errstr, size_t errlen);
void baton_worker_blobs_destroy(baton_worker_t *w);
/* Replaces j's input by its resolved text; -1 when that failed and j was
 * failed (reported) instead.  Thread: pool. */
int baton_worker_blobs_resolve_input(baton_worker_t *w, job_t *j);
/* Stores a completed output over blob.threshold as blobs and replaces it
 * by its references; on a Redis error j is failed instead.  Thread: pool. */
void baton_worker_blobs_store_output(baton_worker_t *w, job_t *j);

/* ---- worker.c ------------------------------------------------------------
 */

/* Wakes the run loop.  Async-signal-safe.  Thread: any. */
void baton_worker_wake(baton_worker_t *w);
/* Sleeps until a wakeup or timeout_ms; drains the pipe.  Thread: run. */
void baton_worker_wait_wakeup(baton_worker_t *w, int timeout_ms);
/* Records the first fatal error (later ones are only logged by the caller):
 * baton_worker_run then stops.  Thread: run. */
void baton_worker_set_fatal(baton_worker_t *w, baton_err_t err, const char *fmt,
                            ...) __attribute__((format(printf, 3, 4)));

/* How long a revocation waits for running activities (ms): half of the
 * smaller of max.poll.interval.ms and session.timeout.ms (<= 0: unknown;
 * 150 s when both are).  Pure. */
int baton_worker_revoke_wait_ms(int64_t max_poll_ms, int64_t session_ms);

/* ---- worker_metrics.c ----------------------------------------------------
 */

/* Starts the endpoint when worker.metrics.listen is set (before the Kafka
 * clients, whose statistics go to w->kstats).  Thread: the caller of new. */
baton_err_t baton_worker_metrics_start(baton_worker_t *w,
                                       const baton_conf_t *conf, char *errstr,
                                       size_t errlen);
void baton_worker_metrics_stop(baton_worker_t *w); /* the endpoint */
void baton_worker_metrics_free(baton_worker_t *w); /* the registry */
/* librdkafka's stats callback (opaque: w). */
int baton_worker_stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque);
/* A job starts / ended (pool thread). */
void baton_worker_metrics_job_start(baton_worker_t *w, const job_t *j);
void baton_worker_metrics_job_end(baton_worker_t *w, const job_t *j);
/* Each run-loop turn: liveness, gauges, readiness (run thread). */
void baton_worker_metrics_tick(baton_worker_t *w);

/* ---- worker_activity.c ---------------------------------------------------
 */

void baton_worker_list_push(job_list_t *l, job_t *j);
/* The head of l, unlinked; NULL when empty. */
job_t *baton_worker_list_pop(job_list_t *l);
/* 1 when s is one JSON value (any type), else 0. */
int baton_worker_json_valid(const char *s);
/* Frees j and all it owns; NULL is a no-op. */
void baton_worker_job_free(job_t *j);
/* The handler registered for type, or NULL.  Borrowed from w. */
const handler_t *baton_worker_handler_find(const baton_worker_t *w,
                                           const char *type);

/* ---- worker_pool.c -------------------------------------------------------
 */

void baton_worker_job_close_heartbeats(baton_worker_t *w, job_t *j);
int baton_worker_job_default_outcome(job_t *j);
void baton_worker_dispatch(baton_worker_t *w);
void baton_worker_serve_done(baton_worker_t *w);
void baton_worker_apply_cancels(baton_worker_t *w);
baton_err_t baton_worker_pool_start(baton_worker_t *w);
void baton_worker_pool_join(baton_worker_t *w);

/* ---- worker_produce.c ----------------------------------------------------
 */

void baton_worker_job_produce(baton_worker_t *w, job_t *j);
void baton_worker_produce_retries(baton_worker_t *w);
/* Replaces a producer that hit a fatal error (worker.c): the old one's
 * messages come back through their delivery reports onto the retry list
 * and are produced again by the new one.  0 ok, -1 (w->fatal set) when no
 * new producer can be made. */
int baton_worker_producer_reset(baton_worker_t *w);
void baton_worker_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                            void *opaque);
void baton_worker_job_encode_result(baton_worker_t *w, job_t *j,
                                    baton_codec_t *codec);

/* ---- worker_consume.c ----------------------------------------------------
 */

void baton_worker_handle_message(baton_worker_t *w, rd_kafka_message_t *m);
/* Decodes a task message (j->json says which encoding) into j->task, finds
 * its handler (NULL: unknown type) and its deadline.  Returns 0, or -1
 * with why saying what is wrong (j->task zeroed: the message goes to the
 * DLQ).  Pure: w's codec, no Kafka.  Thread: run. */
int baton_worker_job_decode(baton_worker_t *w, job_t *j, const void *payload,
                            size_t len, char *why, size_t whylen);

/* ---- worker_partitions.c -------------------------------------------------
 */

part_t *baton_worker_part_get(baton_worker_t *w, int32_t id);
part_t *baton_worker_part_assigned(baton_worker_t *w, int32_t id);
job_t *baton_worker_ring_at(const part_t *p, size_t i);
int baton_worker_ring_push(part_t *p, job_t *j);
void baton_worker_ring_advance(part_t *p);
int64_t baton_worker_part_commit_offset(const part_t *p);
int baton_worker_part_busy(const part_t *p);
void baton_worker_part_release(baton_worker_t *w, part_t *p);
rd_kafka_topic_partition_list_t *baton_worker_assigned_list(baton_worker_t *w,
                                                            int for_commit);
void baton_worker_commit_offsets(baton_worker_t *w, int sync);
/* Whether the partitions should be paused: always while stopping or
 * after a fatal error; else from prefetch fetched ahead on, until the
 * backlog is down to half (hysteresis).  Pure. */
int baton_worker_pause_wanted(const baton_worker_t *w);
void baton_worker_update_pause(baton_worker_t *w);
void baton_worker_offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t *l,
                                   void *opaque);

/* ---- worker_rebalance.c --------------------------------------------------
 */

void baton_worker_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t *l,
                               void *opaque);

/* ---- worker_heartbeat.c --------------------------------------------------
 */

int64_t baton_worker_heartbeat_interval_us(const job_t *j);
void baton_worker_flush_heartbeats(baton_worker_t *w);

/* ---- worker_trace.c ---------------------------------------------------- */

/* Opens the execution span of job j from message m's traceparent (none:
 * no span).  Thread: run. */
void baton_worker_trace_begin(baton_worker_t *w, job_t *j,
                              const rd_kafka_message_t *m);
/* Starts its clock.  Thread: pool. */
void baton_worker_trace_started(job_t *j);
/* Ends the span with the job's outcome, adds the traceparent naming it to
 * the result's headers and hands the span to the exporter.  Thread:
 * pool. */
void baton_worker_trace_end(baton_worker_t *w, job_t *j);
/* Frees what tracing holds in j. */
void baton_worker_trace_free(job_t *j);

#endif
