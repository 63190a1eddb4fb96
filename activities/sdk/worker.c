/*
 * worker.c -- the activity worker SDK (baton_worker.h): the Kafka loop,
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
 * the interval has passed (flush_heartbeats), until the handler returns.
 */
#include "baton_worker.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cancels.h"
#include "codec.h"
#include "kafka.h"

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
    int json;              /* the task came as JSON: answer in JSON */
    baton_task_t task;     /* decoded task (zeroed for DLQ jobs) */
    const handler_t *handler; /* NULL: unknown activity type */
    int64_t deadline_ms;   /* 0 = none */
    atomic_int cancel;     /* BATON_CANCEL_WORKER / _ORCHESTRATOR bits,
                              set by the run thread */

    /* set by the handler (pool thread) */
    baton_codec_t *codec;  /* the pool thread's, while running */
    int reported;
    baton_result_kind_t kind;
    char *output, *error, *cause;
    int64_t retry_after_ms;
    int non_retryable;
    int64_t started_us;

    /* heartbeats: throttled, the latest held back is sent by the run
     * thread once the interval has passed (see baton_activity_heartbeat);
     * under w->hb_mu */
    int64_t last_hb_us;    /* when the last one was produced; 0 = never */
    int hb_pending;        /* hb_details waits to be sent */
    char *hb_details;      /* JSON text, or NULL for none */
    int hb_closed;         /* the handler returned: send nothing more */

    /* the message to produce: a result, or the task itself to the DLQ */
    int to_dlq;
    char *out_buf;
    size_t out_len;
    char *out_key;
    size_t out_key_len;
    rd_kafka_headers_t *out_headers; /* copied on each produce */

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
};

struct baton_worker {
    /* settings */
    char *queue, *task_topic, *results_topic, *dlq_topic, *group, *id;
    int concurrency;
    int prefetch;      /* tasks fetched ahead while all threads are busy */
    int revoke_wait_ms;

    /* Kafka */
    rd_kafka_t *consumer, *producer;
    rd_kafka_queue_t *consumer_q, *producer_q;
    baton_codec_t *codec; /* the run thread's (decoding) */

    /* handlers */
    handler_t *handlers;
    int handler_cnt;

    /* run-thread state */
    int started;
    int stopping;         /* draining */
    int cancelled_all;
    int64_t hard_stop_us; /* 0, or when a second stop stops waiting */
    part_t **parts;       /* by partition id */
    int32_t parts_cap;
    job_list_t backlog;   /* BACKLOG jobs, offset order per partition */
    job_list_t retry;     /* DONE jobs the producer could not take yet */
    int running;          /* jobs given to the pool, not yet back */
    int out_pending;      /* jobs DONE or PRODUCED */
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
};

/* ---- small helpers ------------------------------------------------------ */

static void list_push(job_list_t *l, job_t *j) {
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->cnt++;
}

static job_t *list_pop(job_list_t *l) {
    job_t *j = l->head;
    if (!j) return NULL;
    l->head = j->next;
    if (!l->head) l->tail = NULL;
    l->cnt--;
    j->next = NULL;
    return j;
}

/* Async-signal-safe: one write(); a full pipe already means "awake". */
static void wake(baton_worker_t *w) {
    char c = 1;
    int saved = errno;
    if (write(w->wake[1], &c, 1) < 0) { /* EAGAIN: already pending */
    }
    errno = saved;
}

/* Sleeps until a wakeup or timeout_ms; drains the pipe. */
static void wait_wakeup(baton_worker_t *w, int timeout_ms) {
    struct pollfd pfd = {w->wake[0], POLLIN, 0};
    char buf[256];
    if (poll(&pfd, 1, timeout_ms) > 0)
        while (read(w->wake[0], buf, sizeof buf) > 0) {
        }
}

static int json_valid(const char *s) {
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
    if (!j) return 0;
    json_decref(j);
    return 1;
}

static void set_fatal(baton_worker_t *w, baton_err_t err, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));
static void set_fatal(baton_worker_t *w, baton_err_t err, const char *fmt,
                      ...) {
    va_list ap;
    if (w->fatal) return; /* keep the first error */
    w->fatal = err;
    va_start(ap, fmt);
    vsnprintf(w->errstr, sizeof w->errstr, fmt, ap);
    va_end(ap);
    BATON_ERROR(SUBSYS, "fatal: %s", w->errstr);
}

static void job_free(job_t *j) {
    if (!j) return;
    baton_task_clear(&j->task);
    baton_free(j->output);
    baton_free(j->error);
    baton_free(j->cause);
    baton_free(j->hb_details);
    baton_free(j->out_buf);
    baton_free(j->out_key);
    if (j->out_headers) rd_kafka_headers_destroy(j->out_headers);
    baton_free(j);
}

static const handler_t *handler_find(const baton_worker_t *w,
                                     const char *type) {
    for (int i = 0; i < w->handler_cnt; i++)
        if (!strcmp(w->handlers[i].type, type)) return &w->handlers[i];
    return NULL;
}

/* ---- partitions --------------------------------------------------------- */

/* The record of partition id, created on first use.  NULL on OOM. */
static part_t *part_get(baton_worker_t *w, int32_t id) {
    assert(id >= 0);
    if (id >= w->parts_cap) {
        int32_t ncap = w->parts_cap ? w->parts_cap : 16;
        part_t **n;
        while (ncap <= id) ncap *= 2;
        if (!(n = baton_realloc(w->parts, (size_t)ncap * sizeof *n)))
            return NULL;
        memset(n + w->parts_cap, 0,
               (size_t)(ncap - w->parts_cap) * sizeof *n);
        w->parts = n;
        w->parts_cap = ncap;
    }
    if (!w->parts[id]) {
        part_t *p = baton_calloc(1, sizeof *p);
        if (!p) return NULL;
        p->id = id;
        p->next_offset = p->committed = p->resume = -1;
        w->parts[id] = p;
    }
    return w->parts[id];
}

static part_t *part_assigned(baton_worker_t *w, int32_t id) {
    if (id < 0 || id >= w->parts_cap || !w->parts[id] ||
        !w->parts[id]->assigned)
        return NULL;
    return w->parts[id];
}

static job_t *ring_at(const part_t *p, size_t i) {
    return p->ring[(p->head + i) % p->cap];
}

/* Appends a job (the next offset of the partition).  -1 on OOM. */
static int ring_push(part_t *p, job_t *j) {
    if (p->cnt == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        job_t **n = baton_malloc(ncap * sizeof *n);
        if (!n) return -1;
        for (size_t i = 0; i < p->cnt; i++) n[i] = ring_at(p, i);
        baton_free(p->ring);
        p->ring = n;
        p->head = 0;
        p->cap = ncap;
    }
    p->ring[(p->head + p->cnt) % p->cap] = j;
    p->cnt++;
    return 0;
}

/* Pops acknowledged jobs off the head (freeing them). */
static void ring_advance(part_t *p) {
    while (p->cnt && ring_at(p, 0)->state == JOB_ACKED) {
        job_free(ring_at(p, 0));
        p->head = (p->head + 1) % p->cap;
        p->cnt--;
    }
}

/* The offset to commit: the lowest not acknowledged, or -1 for none. */
static int64_t part_commit_offset(const part_t *p) {
    return p->cnt ? ring_at(p, 0)->offset : p->next_offset;
}

/* Jobs of p that still need the run thread's attention before the
 * partition can be given up: running, or with a result not yet acked. */
static int part_busy(const part_t *p) {
    int n = 0;
    for (size_t i = 0; i < p->cnt; i++) {
        job_state_t s = ring_at(p, i)->state;
        n += s == JOB_RUNNING || s == JOB_DONE || s == JOB_PRODUCED;
    }
    return n;
}

/* Forgets p's jobs: acked and abandoned ones are freed, jobs still running
 * or producing become orphans (freed when done), backlog ones are
 * abandoned.  Thread: run. */
static void part_release(baton_worker_t *w, part_t *p) {
    /* Unlink p's backlog jobs first. */
    job_list_t keep = {0};
    job_t *j;
    while ((j = list_pop(&w->backlog))) {
        if (j->part == p)
            j->state = JOB_ABANDONED;
        else
            list_push(&keep, j);
    }
    w->backlog = keep;
    for (size_t i = 0; i < p->cnt; i++) {
        j = ring_at(p, i);
        if (j->state == JOB_ACKED || j->state == JOB_ABANDONED)
            job_free(j);
        else
            j->part = NULL;
    }
    p->cnt = p->head = 0;
    p->next_offset = p->committed = -1;
    p->assigned = 0;
}

/* The log start offset of p as librdkafka last saw it (fetch responses
 * carry it), or -1: what a partition that has delivered no task yet
 * commits, so that the group has an offset on every partition and lag
 * never reads "unknown" (KEDA scales a never-committed group to its
 * maximum).  No task is skipped: the consumer has received none. */
static int64_t part_log_start(baton_worker_t *w, const part_t *p) {
    int64_t lo, hi;
    if (p->cnt || rd_kafka_get_watermark_offsets(w->consumer, w->task_topic,
                                                 p->id, &lo, &hi) ||
        lo < 0)
        return -1;
    return lo;
}

/* A topic-partition list of the assigned partitions (all, or those whose
 * commit offset moved when for_commit).  NULL when empty. */
static rd_kafka_topic_partition_list_t *assigned_list(baton_worker_t *w,
                                                      int for_commit) {
    rd_kafka_topic_partition_list_t *l = NULL;
    for (int32_t i = 0; i < w->parts_cap; i++) {
        part_t *p = w->parts[i];
        int64_t off;
        if (!p || !p->assigned) continue;
        off = part_commit_offset(p);
        if (for_commit && off < 0) off = part_log_start(w, p);
        if (for_commit && (off < 0 || off == p->committed)) continue;
        if (!l) l = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_partition_list_add(l, w->task_topic, p->id)->offset =
            off;
    }
    return l;
}

/* Commits every assigned partition whose commit offset moved.  Sync when
 * sync (rebalance, stop), else async and at most every 100 ms.
 * Thread: run. */
static void commit_offsets(baton_worker_t *w, int sync) {
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;
    int64_t now = baton_mono_us();

    if (!sync && now - w->last_commit_us < COMMIT_INTERVAL_US) return;
    if (!(l = assigned_list(w, 1))) return;
    w->last_commit_us = now;
    for (int i = 0; i < l->cnt; i++)
        w->parts[l->elems[i].partition]->committed = l->elems[i].offset;
    err = rd_kafka_commit(w->consumer, l, !sync);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        BATON_WARN(SUBSYS, "committing offsets of %s: %s (retried)",
                   w->task_topic, rd_kafka_err2str(err));
        for (int i = 0; i < l->cnt; i++) {
            part_t *p = part_assigned(w, l->elems[i].partition);
            if (p) p->committed = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* ---- producing ----------------------------------------------------------- */

static int produce_err_permanent(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
           err == RD_KAFKA_RESP_ERR_INVALID_RECORD;
}

/* The job's answer could never be delivered (too large, partition that
 * does not exist).  A result is replaced once by a small FAILED result;
 * otherwise the job counts as done so the partition moves on.  Thread:
 * run. */
static void job_undeliverable(baton_worker_t *w, job_t *j,
                              rd_kafka_resp_err_t err) {
    baton_result_t r = {0};
    char e[256], cause[512];

    BATON_ERROR(SUBSYS, "%s of task at %s [%d] offset %lld cannot be "
                        "delivered: %s",
                j->to_dlq ? "dead letter" : "result", w->task_topic,
                (int)j->partition, (long long)j->offset,
                rd_kafka_err2str(err));
    if (!j->to_dlq && err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
        !(j->error && !strcmp(j->error, "Baton.ResultUndeliverable"))) {
        char *ename = baton_strdup("Baton.ResultUndeliverable");
        snprintf(cause, sizeof cause, "the activity's result could not be "
                                      "delivered: %s",
                 rd_kafka_err2str(err));
        r.task_id = j->task.task_id;
        r.workflow_id = j->task.workflow_id;
        r.kind = BATON_RESULT_FAILED;
        r.error = "Baton.ResultUndeliverable";
        r.cause = cause;
        r.worker = w->id;
        r.finished_at_ms = baton_now_ms();
        baton_free(j->out_buf);
        j->out_buf = NULL;
        baton_free(j->error);
        j->error = ename;
        j->kind = BATON_RESULT_FAILED;
        if (ename && !baton_codec_encode_result(w->codec, &r, j->json,
                                                &j->out_buf, &j->out_len, e,
                                                sizeof e)) {
            list_push(&w->retry, j);
            return;
        }
        j->out_buf = NULL;
    }
    /* Give up on this one: count it as done. */
    w->out_pending--;
    j->state = JOB_ACKED;
    if (j->part)
        ring_advance(j->part);
    else
        job_free(j);
}

/* Produces j's message (result or dead letter).  On a full queue or a
 * transient error the job waits on the retry list.  Thread: run. */
static void job_produce(baton_worker_t *w, job_t *j) {
    rd_kafka_headers_t *h =
        j->out_headers ? rd_kafka_headers_copy(j->out_headers) : NULL;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        w->producer,
        RD_KAFKA_V_TOPIC(j->to_dlq ? w->dlq_topic : w->results_topic),
        RD_KAFKA_V_PARTITION(j->to_dlq ? RD_KAFKA_PARTITION_UA
                                       : j->task.result_partition),
        RD_KAFKA_V_KEY(j->out_key, j->out_key_len),
        RD_KAFKA_V_VALUE(j->out_buf, j->out_len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE(j), RD_KAFKA_V_END);
    if (!err) {
        j->state = JOB_PRODUCED;
        return;
    }
    if (h) rd_kafka_headers_destroy(h);
    j->state = JOB_DONE;
    if (produce_err_permanent(err)) {
        job_undeliverable(w, j, err);
        return;
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        BATON_WARN(SUBSYS, "producing to %s: %s (retried)",
                   j->to_dlq ? w->dlq_topic : w->results_topic,
                   rd_kafka_err2str(err));
    list_push(&w->retry, j);
}

static void produce_retries(baton_worker_t *w) {
    job_list_t l = w->retry;
    job_t *j;
    memset(&w->retry, 0, sizeof w->retry);
    while ((j = list_pop(&l))) job_produce(w, j);
}

/* Delivery report.  Thread: run (served by rd_kafka_poll(producer)). */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                      void *opaque) {
    baton_worker_t *w = opaque;
    job_t *j = m->_private;
    (void)rk;
    if (!j) { /* a heartbeat: fire and forget */
        if (m->err)
            BATON_WARN(SUBSYS, "heartbeat not delivered: %s",
                       rd_kafka_err2str(m->err));
        return;
    }
    if (m->err) {
        j->state = JOB_DONE;
        if (produce_err_permanent(m->err)) {
            job_undeliverable(w, j, m->err);
        } else {
            BATON_WARN(SUBSYS, "%s of task %s not delivered: %s (retried)",
                       j->to_dlq ? "dead letter" : "result",
                       j->task.task_id ? j->task.task_id : "?",
                       rd_kafka_err2str(m->err));
            list_push(&w->retry, j);
        }
        return;
    }
    BATON_DEBUG(SUBSYS, "%s of %s [%d] offset %lld acknowledged",
                j->to_dlq ? "dead letter" : "result", w->task_topic,
                (int)j->partition, (long long)j->offset);
    w->out_pending--;
    j->state = JOB_ACKED;
    if (j->part)
        ring_advance(j->part);
    else
        job_free(j);
}

/* ---- the pool ------------------------------------------------------------ */

/* Fills j->out_buf, out_key and out_headers with the encoded result; leaves
 * out_buf NULL when even a failure cannot be encoded.  Thread: pool. */
static void job_encode_result(baton_worker_t *w, job_t *j,
                              baton_codec_t *codec) {
    baton_result_t r = {0};
    char e[512];
    r.task_id = j->task.task_id;
    r.workflow_id = j->task.workflow_id;
    r.kind = j->kind;
    r.output = j->kind == BATON_RESULT_COMPLETED ? j->output : NULL;
    r.error = j->error;
    r.cause = j->cause;
    r.retry_after_ms = j->retry_after_ms;
    r.non_retryable = j->kind == BATON_RESULT_FAILED && j->non_retryable;
    r.worker = w->id;
    r.finished_at_ms = baton_now_ms();
    j->out_buf = NULL;
    if (baton_codec_encode_result(codec, &r, j->json, &j->out_buf,
                                  &j->out_len, e, sizeof e)) {
        /* An output the codec refuses (too large, ...) becomes a failure. */
        BATON_WARN(SUBSYS, "encoding the result of task %s: %s",
                   j->task.task_id, e);
        r.kind = BATON_RESULT_FAILED;
        r.output = NULL;
        r.error = "Baton.ResultEncoding";
        r.cause = e;
        r.retry_after_ms = 0;
        r.non_retryable = 0;
        j->kind = BATON_RESULT_FAILED;
        j->out_buf = NULL;
        if (baton_codec_encode_result(codec, &r, j->json, &j->out_buf,
                                      &j->out_len, e, sizeof e)) {
            BATON_ERROR(SUBSYS, "encoding a failure for task %s: %s: the "
                                "task stays uncommitted",
                        j->task.task_id, e);
            j->out_buf = NULL;
            return;
        }
    }
    j->out_key_len = strlen(j->task.workflow_id);
    if (!(j->out_key = baton_strndup(j->task.workflow_id, j->out_key_len)) ||
        !(j->out_headers = baton_kafka_headers_new(j->json))) {
        BATON_ERROR(SUBSYS, "out of memory answering task %s: it stays "
                            "uncommitted",
                    j->task.task_id);
        baton_free(j->out_buf);
        j->out_buf = NULL;
    }
}

/* Stops the job's heartbeats once its handler returned: a held-back one
 * is dropped (the result follows).  Thread: pool. */
static void job_close_heartbeats(baton_worker_t *w, job_t *j) {
    pthread_mutex_lock(&w->hb_mu);
    j->hb_closed = 1;
    if (j->hb_pending) atomic_fetch_sub(&w->hb_pending_cnt, 1);
    j->hb_pending = 0;
    baton_free(j->hb_details);
    j->hb_details = NULL;
    pthread_mutex_unlock(&w->hb_mu);
}

/* What the handler did not report itself: a cancelled attempt answers
 * FAILED "Baton.Cancelled" (batond ignores it as stale: it gave the attempt
 * up before sending the notice; the result lets the task's offset be
 * committed), a task the worker itself gave up is left for redelivery
 * (returns 0: nothing to send), anything else is "Baton.NoResult".
 * Returns 1 when there is a result to send.  Thread: pool. */
static int job_default_outcome(job_t *j) {
    int why = atomic_load(&j->cancel);
    if (why & BATON_CANCEL_ORCHESTRATOR) {
        baton_activity_fail(j, "Baton.Cancelled",
                            "the orchestrator cancelled this attempt "
                            "(notice on the cancels topic)",
                            0);
        return 1;
    }
    if (why & BATON_CANCEL_WORKER) {
        BATON_INFO(SUBSYS, "task %s cancelled by the worker without a "
                           "result: left for redelivery",
                   j->task.task_id);
        return 0;
    }
    baton_activity_fail(j, "Baton.NoResult",
                        baton_activity_cancelled(j)
                            ? "the handler returned without reporting after "
                              "the activity's deadline passed"
                            : "the handler returned without reporting a "
                              "result",
                        0);
    return 1;
}

/* Runs one job on a pool thread: the handler (unless a cancellation
 * notice came first), then the answer. */
static void job_run(baton_worker_t *w, job_t *j, baton_codec_t *codec) {
    int64_t t0 = baton_mono_us();
    j->codec = codec;
    j->started_us = t0;
    BATON_DEBUG(SUBSYS, "task %s (%s, attempt %d) started",
                j->task.task_id, j->task.activity_type, (int)j->task.attempt);
    if (atomic_load(&j->cancel) & BATON_CANCEL_ORCHESTRATOR) {
        BATON_INFO(SUBSYS, "task %s cancelled before it started: not run",
                   j->task.task_id);
    } else if (j->handler) {
        j->handler->fn(j, j->handler->opaque);
    } else {
        char cause[512];
        snprintf(cause, sizeof cause,
                 "no handler for activity type '%s' on worker %s (queue %s)",
                 j->task.activity_type, w->id, w->queue);
        baton_activity_fail(j, "Baton.UnknownActivityType", cause, 0);
    }
    job_close_heartbeats(w, j);
    if (!j->reported && !job_default_outcome(j)) {
        j->codec = NULL;
        return; /* out_buf NULL: nothing to send */
    }
    job_encode_result(w, j, codec);
    j->codec = NULL;
    BATON_DEBUG(SUBSYS, "task %s %s in %.1f ms", j->task.task_id,
                baton_result_kind_name(j->kind),
                (double)(baton_mono_us() - t0) / 1000.0);
}

typedef struct pool_arg {
    baton_worker_t *w;
    baton_codec_t *codec;
} pool_arg_t;

static void *pool_main(void *arg) {
    baton_worker_t *w = ((pool_arg_t *)arg)->w;
    baton_codec_t *codec = ((pool_arg_t *)arg)->codec;
    baton_free(arg);
    for (;;) {
        job_t *j;
        pthread_mutex_lock(&w->mu);
        while (!w->queue_in.head && !w->pool_exit)
            pthread_cond_wait(&w->cv, &w->mu);
        j = list_pop(&w->queue_in);
        pthread_mutex_unlock(&w->mu);
        if (!j) return NULL; /* pool_exit and nothing queued */
        job_run(w, j, codec);
        pthread_mutex_lock(&w->mu);
        list_push(&w->done, j);
        pthread_mutex_unlock(&w->mu);
        wake(w);
    }
}

/* Hands backlog jobs to the pool while below worker.concurrency.
 * Thread: run. */
static void dispatch(baton_worker_t *w) {
    job_t *j;
    if (w->stopping || w->fatal) return;
    while (w->running < w->concurrency && (j = list_pop(&w->backlog))) {
        if (baton_cancels_contains(w->cancels, j->task.task_id))
            atomic_fetch_or(&j->cancel, BATON_CANCEL_ORCHESTRATOR);
        j->state = JOB_RUNNING;
        w->running++;
        pthread_mutex_lock(&w->mu);
        list_push(&w->queue_in, j);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

/* Takes back the jobs the pool finished and produces their answers.
 * Thread: run. */
static void serve_done(baton_worker_t *w) {
    job_list_t l;
    job_t *j;
    pthread_mutex_lock(&w->mu);
    l = w->done;
    memset(&w->done, 0, sizeof w->done);
    pthread_mutex_unlock(&w->mu);
    while ((j = list_pop(&l))) {
        w->running--;
        if (!j->out_buf) { /* nothing to send: stays uncommitted */
            j->state = JOB_ABANDONED;
            if (!j->part) job_free(j);
            continue;
        }
        w->out_pending++;
        job_produce(w, j);
    }
}

/* After new cancellation notices: flags the running and fetched tasks
 * they name (a fetched one is then answered without running; dispatch
 * checks the notices again for tasks fetched later).  Thread: run. */
static void apply_cancels(baton_worker_t *w) {
    uint64_t gen = baton_cancels_generation(w->cancels);
    if (gen == w->cancels_seen) return;
    w->cancels_seen = gen;
    for (int32_t i = 0; i < w->parts_cap; i++) {
        part_t *p = w->parts[i];
        for (size_t k = 0; p && k < p->cnt; k++) {
            job_t *j = ring_at(p, k);
            if ((j->state != JOB_RUNNING && j->state != JOB_BACKLOG) ||
                !j->task.task_id ||
                (atomic_load(&j->cancel) & BATON_CANCEL_ORCHESTRATOR) ||
                !baton_cancels_contains(w->cancels, j->task.task_id))
                continue;
            atomic_fetch_or(&j->cancel, BATON_CANCEL_ORCHESTRATOR);
            BATON_INFO(SUBSYS, "task %s cancelled by the orchestrator%s",
                       j->task.task_id,
                       j->state == JOB_RUNNING ? ": its handler is told"
                                               : " before it started");
        }
    }
}

static baton_err_t heartbeat_send(baton_worker_t *w, job_t *j,
                                  baton_codec_t *codec, const char *details);
static int64_t heartbeat_interval_us(const job_t *j);

/* Sends the heartbeats the throttle held back, once their interval has
 * passed (the latest details of each running task).  Thread: run. */
static void flush_heartbeats(baton_worker_t *w) {
    int64_t now;
    if (!atomic_load(&w->hb_pending_cnt)) return;
    now = baton_mono_us();
    for (int32_t i = 0; i < w->parts_cap; i++) {
        part_t *p = w->parts[i];
        for (size_t k = 0; p && k < p->cnt; k++) {
            job_t *j = ring_at(p, k);
            char *details = NULL;
            int due;
            if (j->state != JOB_RUNNING) continue;
            pthread_mutex_lock(&w->hb_mu);
            due = j->hb_pending && !j->hb_closed &&
                  now - j->last_hb_us >= heartbeat_interval_us(j);
            if (due) {
                details = j->hb_details;
                j->hb_details = NULL;
                j->hb_pending = 0;
                j->last_hb_us = now;
                atomic_fetch_sub(&w->hb_pending_cnt, 1);
            }
            pthread_mutex_unlock(&w->hb_mu);
            if (due) heartbeat_send(w, j, w->codec, details);
            baton_free(details);
        }
    }
}

/* ---- pausing ------------------------------------------------------------- */

/* Pauses every assigned partition when the backlog is full or the worker
 * drains; resumes when the backlog is down to half.  Thread: run. */
static void update_pause(baton_worker_t *w) {
    int want;
    rd_kafka_topic_partition_list_t *l;
    if (w->stopping || w->fatal)
        want = 1;
    else if (!w->paused)
        want = w->backlog.cnt >= w->prefetch;
    else
        want = w->backlog.cnt > w->prefetch / 2;
    if (want == w->paused) return;
    w->paused = want;
    if (!(l = assigned_list(w, 0))) return;
    if (want)
        rd_kafka_pause_partitions(w->consumer, l);
    else
        rd_kafka_resume_partitions(w->consumer, l);
    BATON_DEBUG(SUBSYS, "%s %d partition(s) (%d running, %d fetched ahead)",
                want ? "paused" : "resumed", l->cnt, w->running,
                w->backlog.cnt);
    rd_kafka_topic_partition_list_destroy(l);
}

/* ---- consuming ----------------------------------------------------------- */

/* Sends an undecodable message to the DLQ with the reason.  Thread: run. */
static void job_dead_letter(baton_worker_t *w, job_t *j,
                            const rd_kafka_message_t *m, const char *why) {
    rd_kafka_headers_t *orig = NULL;
    char num[32];

    BATON_WARN(SUBSYS, "task at %s [%d] offset %lld to %s: %s", w->task_topic,
               (int)m->partition, (long long)m->offset, w->dlq_topic, why);
    j->to_dlq = 1;
    if (m->len && !(j->out_buf = baton_malloc(m->len))) goto oom;
    if (m->len) memcpy(j->out_buf, m->payload, m->len);
    j->out_len = m->len;
    if (m->key_len && !(j->out_key = baton_malloc(m->key_len))) goto oom;
    if (m->key_len) memcpy(j->out_key, m->key, m->key_len);
    j->out_key_len = m->key_len;
    j->out_headers = !rd_kafka_message_headers(m, &orig)
                         ? rd_kafka_headers_copy(orig)
                         : rd_kafka_headers_new(4);
    rd_kafka_header_add(j->out_headers, "baton-error", -1, why, -1);
    rd_kafka_header_add(j->out_headers, "baton-source-topic", -1,
                        w->task_topic, -1);
    snprintf(num, sizeof num, "%d", (int)m->partition);
    rd_kafka_header_add(j->out_headers, "baton-source-partition", -1, num, -1);
    snprintf(num, sizeof num, "%lld", (long long)m->offset);
    rd_kafka_header_add(j->out_headers, "baton-source-offset", -1, num, -1);
    w->out_pending++;
    job_produce(w, j);
    return;
oom:
    /* Left unanswered: uncommitted, it is retried after a restart. */
    BATON_ERROR(SUBSYS, "out of memory copying a dead letter");
    j->state = JOB_ABANDONED;
}

/* One message from the consumer.  Thread: run. */
static void handle_message(baton_worker_t *w, rd_kafka_message_t *m) {
    part_t *p;
    job_t *j;
    char e[512];

    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
        if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
            BATON_ERROR(SUBSYS, "%s [%d]: committed offset no longer in the "
                                "log, tasks were LOST (retention): %s",
                        w->task_topic, (int)m->partition,
                        rd_kafka_message_errstr(m));
        else
            BATON_WARN(SUBSYS, "consumer: %s", rd_kafka_message_errstr(m));
        return;
    }
    /* Stopping, or a message of a partition given up meanwhile: not
     * tracked, so never committed; its next owner reads it. */
    if (w->stopping || w->fatal || !(p = part_assigned(w, m->partition)))
        return;
    if (p->next_offset >= 0 && m->offset < p->next_offset) return; /* dup */
    if (!(j = baton_calloc(1, sizeof *j)) || ring_push(p, j)) {
        baton_free(j);
        set_fatal(w, BATON_ERR_NOMEM, "out of memory tracking a task");
        return;
    }
    p->next_offset = m->offset + 1;
    j->w = w;
    j->part = p;
    j->partition = m->partition;
    j->offset = m->offset;
    j->json = baton_kafka_msg_is_json(m);
    atomic_init(&j->cancel, 0);

    if (!m->payload || !m->len) {
        job_dead_letter(w, j, m, "empty message: expected an activity task");
        return;
    }
    if (baton_codec_decode_task(w->codec, m->payload, m->len, j->json,
                                &j->task, e, sizeof e)) {
        char why[600];
        snprintf(why, sizeof why, "undecodable %s task: %s",
                 j->json ? "JSON" : "Avro", e);
        baton_task_clear(&j->task);
        memset(&j->task, 0, sizeof j->task);
        job_dead_letter(w, j, m, why);
        return;
    }
    if (j->task.result_partition < 0) {
        baton_task_clear(&j->task);
        memset(&j->task, 0, sizeof j->task);
        job_dead_letter(w, j, m, "negative result_partition");
        return;
    }
    j->handler = handler_find(w, j->task.activity_type);
    if (j->task.timeout_seconds > 0)
        j->deadline_ms = (j->task.scheduled_at_ms > 0 ? j->task.scheduled_at_ms
                                                      : baton_now_ms()) +
                         (int64_t)j->task.timeout_seconds * 1000;
    j->state = JOB_BACKLOG;
    list_push(&w->backlog, j);
}

/* ---- rebalancing --------------------------------------------------------- */

/* Waits (serving the producer and the pool, never the consumer) until no
 * job of the partitions in l is running or unacknowledged, or until
 * revoke_wait_ms; then cancels what still runs.  Thread: run (inside the
 * rebalance callback). */
static void wait_partitions(baton_worker_t *w,
                            const rd_kafka_topic_partition_list_t *l) {
    int64_t deadline = baton_mono_us() + (int64_t)w->revoke_wait_ms * 1000;
    int busy = 0, logged = 0;
    for (;;) {
        busy = 0;
        for (int i = 0; i < l->cnt; i++) {
            part_t *p = part_assigned(w, l->elems[i].partition);
            if (p) busy += part_busy(p);
        }
        if (!busy || w->fatal || baton_mono_us() > deadline) break;
        if (!logged++)
            BATON_INFO(SUBSYS, "rebalance: finishing %d task(s) of revoked "
                               "partitions first",
                       busy);
        rd_kafka_poll(w->producer, 0);
        serve_done(w);
        produce_retries(w);
        dispatch(w);
        wait_wakeup(w, 10);
    }
    if (!busy) return;
    BATON_WARN(SUBSYS, "rebalance: %d task(s) of revoked partitions still "
                       "running after %d ms: cancelling them, they run again "
                       "at the next owner",
               busy, w->revoke_wait_ms);
    for (int i = 0; i < l->cnt; i++) {
        part_t *p = part_assigned(w, l->elems[i].partition);
        for (size_t k = 0; p && k < p->cnt; k++)
            atomic_fetch_or(&ring_at(p, k)->cancel, BATON_CANCEL_WORKER);
    }
}

/* Sets the start offset of newly assigned partitions that this worker gave
 * up last with more done than the group's committed offset says: a commit
 * during a rebalance can be refused (librdkafka's mock cluster refuses
 * every OffsetCommit while the group is joining or syncing), and starting
 * from the committed offset would run those tasks again.  Starting at the
 * larger of the two never skips a task: every offset below ours has its
 * result acknowledged.  Thread: run (inside the rebalance callback). */
static void resume_offsets(baton_worker_t *w, rd_kafka_t *rk,
                           rd_kafka_topic_partition_list_t *l) {
    rd_kafka_topic_partition_list_t *q = NULL;
    rd_kafka_resp_err_t err;
    for (int i = 0; i < l->cnt; i++) {
        part_t *p = part_assigned(w, l->elems[i].partition);
        if (!p || p->resume < 0) continue;
        if (!q) q = rd_kafka_topic_partition_list_new(l->cnt);
        rd_kafka_topic_partition_list_add(q, l->elems[i].topic, p->id);
    }
    if (!q) return;
    if ((err = rd_kafka_committed(rk, q, 5000))) {
        BATON_WARN(SUBSYS, "reading committed offsets: %s",
                   rd_kafka_err2str(err));
        q->cnt = 0;
    }
    for (int i = 0; i < q->cnt; i++) {
        part_t *p = part_assigned(w, q->elems[i].partition);
        if (!p || q->elems[i].err || q->elems[i].offset >= p->resume)
            continue;
        for (int k = 0; k < l->cnt; k++)
            if (l->elems[k].partition == p->id)
                l->elems[k].offset = p->resume;
        p->next_offset = p->resume; /* committed by the next commit */
        BATON_INFO(SUBSYS, "%s [%d]: resuming at offset %lld, past the "
                           "committed %lld (its commit was refused during "
                           "the rebalance)",
                   w->task_topic, (int)p->id, (long long)p->resume,
                   (long long)q->elems[i].offset);
    }
    for (int i = 0; i < l->cnt; i++) {
        part_t *p = part_assigned(w, l->elems[i].partition);
        if (p) p->resume = -1;
    }
    rd_kafka_topic_partition_list_destroy(q);
}

/* Thread: run (inside rd_kafka_consumer_poll / close). */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *l, void *opaque) {
    baton_worker_t *w = opaque;
    int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t aerr = 0;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < l->cnt; i++) {
            part_t *p = part_get(w, l->elems[i].partition);
            if (!p) {
                set_fatal(w, BATON_ERR_NOMEM, "out of memory on assignment");
                break;
            }
            if (p->assigned) part_release(w, p); /* eager re-assignment */
            p->assigned = 1;
        }
        resume_offsets(w, rk, l);
        if (coop)
            error = rd_kafka_incremental_assign(rk, l);
        else
            aerr = rd_kafka_assign(rk, l);
        /* New partitions start paused when the worker is; and a
         * partition's pause flag may outlive its previous assignment. */
        if (w->paused)
            rd_kafka_pause_partitions(rk, l);
        else
            rd_kafka_resume_partitions(rk, l);
        BATON_INFO(SUBSYS, "assigned %d partition(s) of %s%s", l->cnt,
                   w->task_topic, w->paused ? " (paused)" : "");
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        int lost = rd_kafka_assignment_lost(rk);
        BATON_INFO(SUBSYS, "%s %d partition(s) of %s",
                   lost ? "lost" : "revoked", l->cnt, w->task_topic);
        /* Fetched-ahead tasks of these partitions are not started. */
        {
            job_list_t keep = {0};
            job_t *j;
            while ((j = list_pop(&w->backlog))) {
                int revoked = 0;
                for (int i = 0; i < l->cnt && !revoked; i++)
                    revoked = j->partition == l->elems[i].partition;
                if (revoked)
                    j->state = JOB_ABANDONED;
                else
                    list_push(&keep, j);
            }
            w->backlog = keep;
        }
        if (!lost) {
            wait_partitions(w, l);
            /* Commit what is done, for these partitions only (remembered
             * below in case the commit is refused: see resume_offsets). */
            for (int i = 0; i < l->cnt; i++) {
                part_t *p = part_assigned(w, l->elems[i].partition);
                l->elems[i].offset =
                    p ? part_commit_offset(p) : RD_KAFKA_OFFSET_INVALID;
            }
            {
                rd_kafka_topic_partition_list_t *c =
                    rd_kafka_topic_partition_list_new(l->cnt);
                for (int i = 0; i < l->cnt; i++)
                    if (l->elems[i].offset >= 0)
                        rd_kafka_topic_partition_list_add(
                            c, l->elems[i].topic, l->elems[i].partition)
                            ->offset = l->elems[i].offset;
                if (c->cnt) {
                    rd_kafka_resp_err_t cerr = rd_kafka_commit(rk, c, 0);
                    if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET)
                        BATON_WARN(SUBSYS, "commit on revocation: %s",
                                   rd_kafka_err2str(cerr));
                }
                rd_kafka_topic_partition_list_destroy(c);
            }
        }
        for (int i = 0; i < l->cnt; i++) {
            part_t *p = part_assigned(w, l->elems[i].partition);
            if (!p) continue;
            p->resume = part_commit_offset(p);
            part_release(w, p);
        }
        if (coop)
            error = rd_kafka_incremental_unassign(rk, l);
        else
            aerr = rd_kafka_assign(rk, NULL);
    } else {
        BATON_WARN(SUBSYS, "rebalance error: %s", rd_kafka_err2str(err));
        for (int32_t i = 0; i < w->parts_cap; i++)
            if (w->parts[i] && w->parts[i]->assigned)
                part_release(w, w->parts[i]);
        aerr = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        BATON_WARN(SUBSYS, "incremental (un)assign: %s",
                   rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (aerr) {
        BATON_WARN(SUBSYS, "assign: %s", rd_kafka_err2str(aerr));
    }
}

/* Thread: run (async commit results). */
static void offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *l,
                             void *opaque) {
    baton_worker_t *w = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    for (int i = 0; l && i < l->cnt; i++) {
        if (!err && !l->elems[i].err) continue;
        BATON_DEBUG(SUBSYS, "commit of %s [%d] failed: %s (retried)",
                    l->elems[i].topic, (int)l->elems[i].partition,
                    rd_kafka_err2str(err ? err : l->elems[i].err));
        if (!strcmp(l->elems[i].topic, w->task_topic)) {
            part_t *p = part_assigned(w, l->elems[i].partition);
            if (p && p->committed == l->elems[i].offset) p->committed = -1;
        }
    }
}

/* Both clients.  Thread: run (served by the polls). */
static void error_cb(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque) {
    baton_worker_t *w = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, buf, sizeof buf);
        set_fatal(w, BATON_ERR_KAFKA, "%s: fatal Kafka error %s: %s",
                  rd_kafka_name(rk), rd_kafka_err2name(ferr), buf);
        return;
    }
    /* librdkafka logs each of these itself (log_cb below) and retries. */
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        BATON_WARN(SUBSYS, "%s: all brokers down: %s", rd_kafka_name(rk),
                   reason);
    else
        BATON_DEBUG(SUBSYS, "%s: %s: %s", rd_kafka_name(rk),
                    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* librdkafka's own log lines.  Thread: any librdkafka thread. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf) {
    if (level <= 3)
        BATON_ERROR("kafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
    else if (level == 4)
        BATON_WARN("kafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
    else if (level <= 6)
        BATON_INFO("kafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
    else
        BATON_DEBUG("kafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

/* ---- the worker ---------------------------------------------------------- */

/* wake() for the cancellation listener.  Thread: the listener's. */
static void wake_opaque(void *w) { wake(w); }

static char *topic_dup(const baton_conf_t *conf, const char *suffix) {
    char buf[512];
    return baton_strdup(baton_topic(conf, suffix, buf, sizeof buf));
}

baton_worker_t *baton_worker_new(const baton_conf_t *conf, char *errstr,
                                 size_t errlen) {
    baton_worker_t *w = baton_calloc(1, sizeof *w);
    rd_kafka_conf_t *kc = NULL, *kp = NULL;
    char suffix[300], buf[64], host[200], idbuf[256], err[512];
    size_t sz = sizeof buf;
    int64_t conc = baton_conf_get_int(conf, "worker.concurrency");
    const char *id = baton_conf_get(conf, "worker.id");
    int64_t mpi = 0;

    if (!w) {
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->wake[0] = w->wake[1] = -1;
    atomic_init(&w->stop_cnt, 0);
    atomic_init(&w->hb_pending_cnt, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->hb_mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (conc < 1 || conc > 10000) {
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                     "worker.concurrency must be 1..10000, not %lld",
                     (long long)conc);
        goto fail;
    }
    w->concurrency = (int)conc;
    w->prefetch = w->concurrency;
    if (!id || !*id) {
        if (gethostname(host, sizeof host)) snprintf(host, sizeof host, "?");
        host[sizeof host - 1] = '\0';
        snprintf(idbuf, sizeof idbuf, "%s:%d", host, (int)getpid());
        id = idbuf;
    }
    w->id = baton_strdup(id);
    w->queue = baton_strdup(baton_conf_get(conf, "worker.queue"));
    snprintf(suffix, sizeof suffix, "tasks.%s", w->queue ? w->queue : "");
    w->task_topic = topic_dup(conf, suffix);
    w->results_topic = topic_dup(conf, "results");
    w->dlq_topic = topic_dup(conf, "dlq");
    snprintf(suffix, sizeof suffix, "worker.%s", w->queue ? w->queue : "");
    w->group = topic_dup(conf, suffix);
    if (!w->id || !w->queue || !w->task_topic || !w->results_topic ||
        !w->dlq_topic || !w->group) {
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!*w->queue) {
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "worker.queue is empty");
        goto fail;
    }
    if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK)) {
        baton_seterr(errstr, errlen, BATON_ERR_IO, "pipe: %s",
                     strerror(errno));
        goto fail;
    }
    if (!(w->codec = baton_codec_new(err, sizeof err))) {
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "codec: %s", err);
        goto fail;
    }

    /* The consumer. */
    if (!(kc = baton_kafka_conf_new(conf, BATON_KAFKA_CONSUMER, w->group,
                                    errstr, errlen)))
        goto fail;
    if (!baton_conf_get(conf, "kafka.client.id") &&
        !baton_conf_get(conf, "kafka.consumer.client.id")) {
        snprintf(suffix, sizeof suffix, "baton-worker-%s", w->queue);
        rd_kafka_conf_set(kc, "client.id", suffix, err, sizeof err);
    }
    /* How long a revocation waits for running activities: the group
     * waits for this member's rejoin at most max.poll.interval.ms on a
     * real broker, and session.timeout.ms - 1 s on the mock cluster; half
     * of the smaller keeps the member in the group either way. */
    if (rd_kafka_conf_get(kc, "max.poll.interval.ms", buf, &sz) ==
            RD_KAFKA_CONF_OK &&
        !baton_parse_i64(buf, &mpi) && mpi > 0)
        w->revoke_wait_ms = (int)(mpi / 2);
    else
        w->revoke_wait_ms = 150000;
    sz = sizeof buf;
    if (rd_kafka_conf_get(kc, "session.timeout.ms", buf, &sz) ==
            RD_KAFKA_CONF_OK &&
        !baton_parse_i64(buf, &mpi) && mpi > 0 && mpi / 2 < w->revoke_wait_ms)
        w->revoke_wait_ms = (int)(mpi / 2);
    rd_kafka_conf_set_opaque(kc, w);
    rd_kafka_conf_set_rebalance_cb(kc, rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(kc, offset_commit_cb);
    rd_kafka_conf_set_error_cb(kc, error_cb);
    rd_kafka_conf_set_log_cb(kc, log_cb);
    w->consumer = baton_kafka_new(kc, BATON_KAFKA_CONSUMER, errstr, errlen);
    kc = NULL; /* consumed */
    if (!w->consumer) goto fail;

    /* The producer: results, dead letters, heartbeats. */
    if (!(kp = baton_kafka_conf_new(conf, BATON_KAFKA_PRODUCER, NULL, errstr,
                                    errlen)))
        goto fail;
    if (!baton_conf_get(conf, "kafka.client.id") &&
        !baton_conf_get(conf, "kafka.producer.client.id")) {
        snprintf(suffix, sizeof suffix, "baton-worker-%s", w->queue);
        rd_kafka_conf_set(kp, "client.id", suffix, err, sizeof err);
    }
    rd_kafka_conf_set_opaque(kp, w);
    rd_kafka_conf_set_dr_msg_cb(kp, dr_msg_cb);
    rd_kafka_conf_set_error_cb(kp, error_cb);
    rd_kafka_conf_set_log_cb(kp, log_cb);
    w->producer = baton_kafka_new(kp, BATON_KAFKA_PRODUCER, errstr, errlen);
    kp = NULL;
    if (!w->producer) goto fail;

    /* Wake the run loop when either client has something to serve. */
    w->consumer_q = rd_kafka_queue_get_consumer(w->consumer);
    w->producer_q = rd_kafka_queue_get_main(w->producer);
    rd_kafka_queue_io_event_enable(w->consumer_q, w->wake[1], "c", 1);
    rd_kafka_queue_io_event_enable(w->producer_q, w->wake[1], "p", 1);

    /* The listener for cancellation notices (started by run). */
    if (!(w->cancels = baton_cancels_new(conf, wake_opaque, w, errstr,
                                         errlen)))
        goto fail;
    return w;
fail:
    baton_worker_destroy(w);
    return NULL;
}

baton_err_t baton_worker_register(baton_worker_t *w, const char *activity_type,
                                  baton_activity_fn fn, void *opaque) {
    handler_t *n;
    assert(w && activity_type && fn);
    if (w->started || handler_find(w, activity_type))
        return BATON_ERR_INVALID;
    if (!(n = baton_realloc(w->handlers,
                            (size_t)(w->handler_cnt + 1) * sizeof *n)))
        return BATON_ERR_NOMEM;
    w->handlers = n;
    if (!(n[w->handler_cnt].type = baton_strdup(activity_type)))
        return BATON_ERR_NOMEM;
    n[w->handler_cnt].fn = fn;
    n[w->handler_cnt].opaque = opaque;
    w->handler_cnt++;
    return BATON_OK;
}

void baton_worker_stop(baton_worker_t *w) {
    if (!w) return;
    atomic_fetch_add(&w->stop_cnt, 1);
    wake(w);
}

const char *baton_worker_errstr(const baton_worker_t *w) { return w->errstr; }

const char *baton_worker_id(const baton_worker_t *w) { return w->id; }

/* Starts the pool threads, each with its own codec.  Thread: run. */
static baton_err_t pool_start(baton_worker_t *w) {
    char e[512];
    if (!(w->threads = baton_calloc((size_t)w->concurrency,
                                    sizeof *w->threads)) ||
        !(w->codecs = baton_calloc((size_t)w->concurrency, sizeof *w->codecs)))
        return baton_seterr(w->errstr, sizeof w->errstr, BATON_ERR_NOMEM,
                            "out of memory starting the pool");
    for (int i = 0; i < w->concurrency; i++) {
        pool_arg_t *a = baton_malloc(sizeof *a);
        if (!a || !(w->codecs[i] = baton_codec_new(e, sizeof e))) {
            baton_free(a);
            return baton_seterr(w->errstr, sizeof w->errstr,
                                a ? BATON_ERR_CONFIG : BATON_ERR_NOMEM,
                                "starting pool thread %d: %s", i,
                                a ? e : "out of memory");
        }
        a->w = w;
        a->codec = w->codecs[i];
        if (pthread_create(&w->threads[i], NULL, pool_main, a)) {
            baton_free(a);
            return baton_seterr(w->errstr, sizeof w->errstr, BATON_ERR_IO,
                                "starting pool thread %d: %s", i,
                                strerror(errno));
        }
        w->thread_cnt++;
    }
    return BATON_OK;
}

/* Stops and joins the pool threads after their current job.  Thread:
 * run / application. */
static void pool_join(baton_worker_t *w) {
    pthread_mutex_lock(&w->mu);
    w->pool_exit = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->thread_cnt; i++) pthread_join(w->threads[i], NULL);
    w->thread_cnt = 0;
}

/* Reacts to baton_worker_stop calls.  Thread: run. */
static void check_stop(baton_worker_t *w) {
    int n = atomic_load(&w->stop_cnt);
    job_t *j;
    if (n >= 1 && !w->stopping) {
        w->stopping = 1;
        BATON_INFO(SUBSYS, "stopping: draining %d running task(s), dropping "
                           "%d not started (they stay uncommitted)",
                   w->running, w->backlog.cnt);
        while ((j = list_pop(&w->backlog))) j->state = JOB_ABANDONED;
    }
    if (n >= 2 && !w->cancelled_all) {
        w->cancelled_all = 1;
        w->hard_stop_us = baton_mono_us() + HARD_STOP_GRACE_US;
        BATON_INFO(SUBSYS, "stop requested again: cancelling %d running "
                           "task(s)",
                   w->running);
        for (int32_t i = 0; i < w->parts_cap; i++) {
            part_t *p = w->parts[i];
            for (size_t k = 0; p && k < p->cnt; k++)
                atomic_fetch_or(&ring_at(p, k)->cancel, BATON_CANCEL_WORKER);
        }
    }
}

/* Cancels every job still queued or running (fatal error or last resort).
 * Orphans keep running until their handlers return.  Thread: run. */
static void cancel_everything(baton_worker_t *w) {
    for (int32_t i = 0; i < w->parts_cap; i++) {
        part_t *p = w->parts[i];
        for (size_t k = 0; p && k < p->cnt; k++)
            atomic_fetch_or(&ring_at(p, k)->cancel, BATON_CANCEL_WORKER);
    }
}

baton_err_t baton_worker_run(baton_worker_t *w) {
    rd_kafka_topic_partition_list_t *sub;
    rd_kafka_resp_err_t err;
    baton_err_t rc;

    assert(w && !w->started);
    w->started = 1;
    if ((rc = pool_start(w)) ||
        (rc = baton_cancels_start(w->cancels, w->errstr, sizeof w->errstr)))
        goto out;
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, w->task_topic,
                                      RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(w->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) {
        rc = baton_seterr(w->errstr, sizeof w->errstr, BATON_ERR_KAFKA,
                          "subscribing to %s: %s", w->task_topic,
                          rd_kafka_err2str(err));
        goto out;
    }
    BATON_INFO(SUBSYS, "worker %s consuming %s in group %s, %d at once, "
                       "%d handler(s)",
               w->id, w->task_topic, w->group, w->concurrency,
               w->handler_cnt);

    for (;;) {
        rd_kafka_message_t *m;
        rd_kafka_poll(w->producer, 0);
        serve_done(w);
        produce_retries(w);
        check_stop(w);
        apply_cancels(w);
        flush_heartbeats(w);
        dispatch(w);
        while ((m = rd_kafka_consumer_poll(w->consumer, 0))) {
            handle_message(w, m);
            rd_kafka_message_destroy(m);
            dispatch(w);
        }
        update_pause(w);
        if (w->fatal) break;
        commit_offsets(w, 0);
        if (w->stopping && !w->running &&
            (!w->out_pending ||
             (w->hard_stop_us && baton_mono_us() > w->hard_stop_us)))
            break;
        wait_wakeup(w, LOOP_WAIT_MS);
    }

    if (!w->fatal) commit_offsets(w, 1);
    rc = w->fatal;
out:
    if (rc) {
        BATON_ERROR(SUBSYS, "worker stopping on error: %s", w->errstr);
        cancel_everything(w);
    }
    /* Leave the group (the revocation callback commits what is done). */
    if ((err = rd_kafka_consumer_close(w->consumer)))
        BATON_WARN(SUBSYS, "closing the consumer: %s", rd_kafka_err2str(err));
    if (rd_kafka_flush(w->producer, FLUSH_TIMEOUT_MS))
        BATON_WARN(SUBSYS, "%d message(s) not delivered at exit",
                   rd_kafka_outq_len(w->producer));
    pool_join(w);
    if (!rc) BATON_INFO(SUBSYS, "worker %s stopped", w->id);
    return rc;
}

void baton_worker_destroy(baton_worker_t *w) {
    job_t *j;
    if (!w) return;
    baton_cancels_destroy(w->cancels); /* its thread wakes us: first */
    w->cancels = NULL;
    if (w->thread_cnt) pool_join(w);
    if (w->consumer_q) {
        rd_kafka_queue_io_event_enable(w->consumer_q, -1, NULL, 0);
        rd_kafka_queue_destroy(w->consumer_q);
    }
    if (w->producer_q) {
        rd_kafka_queue_io_event_enable(w->producer_q, -1, NULL, 0);
        rd_kafka_queue_destroy(w->producer_q);
    }
    if (w->consumer) rd_kafka_destroy(w->consumer);
    if (w->producer) rd_kafka_destroy(w->producer); /* before freeing jobs:
                                                      * it may still hold
                                                      * their pointers */
    /* Jobs: orphans (no partition) live only on the lists; every other
     * job is owned by its partition's ring.  Lists first, rings after. */
    {
        job_list_t *lists[] = {&w->retry, &w->queue_in, &w->done,
                               &w->backlog};
        for (size_t i = 0; i < BATON_ARRAY_SIZE(lists); i++)
            while ((j = list_pop(lists[i])))
                if (!j->part) job_free(j);
    }
    for (int32_t i = 0; i < w->parts_cap; i++) {
        part_t *p = w->parts[i];
        if (!p) continue;
        for (size_t k = 0; k < p->cnt; k++) job_free(ring_at(p, k));
        baton_free(p->ring);
        baton_free(p);
    }
    baton_free(w->parts);
    for (int i = 0; w->codecs && i < w->concurrency; i++)
        baton_codec_destroy(w->codecs[i]);
    baton_free(w->codecs);
    baton_free(w->threads);
    baton_codec_destroy(w->codec);
    for (int i = 0; i < w->handler_cnt; i++) baton_free(w->handlers[i].type);
    baton_free(w->handlers);
    if (w->wake[0] >= 0) close(w->wake[0]);
    if (w->wake[1] >= 0) close(w->wake[1]);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->hb_mu);
    pthread_cond_destroy(&w->cv);
    baton_free(w->queue);
    baton_free(w->task_topic);
    baton_free(w->results_topic);
    baton_free(w->dlq_topic);
    baton_free(w->group);
    baton_free(w->id);
    baton_free(w);
}

/* ---- inside a handler ---------------------------------------------------- */

const char *baton_activity_input(const baton_activity_t *a) {
    return a->task.input ? a->task.input : "null";
}
const char *baton_activity_task_id(const baton_activity_t *a) {
    return a->task.task_id;
}
const char *baton_activity_idempotency_key(const baton_activity_t *a) {
    return a->task.idempotency_key;
}
const char *baton_activity_workflow_id(const baton_activity_t *a) {
    return a->task.workflow_id;
}
const char *baton_activity_type(const baton_activity_t *a) {
    return a->task.activity_type;
}
int32_t baton_activity_attempt(const baton_activity_t *a) {
    return a->task.attempt;
}
const char *baton_activity_heartbeat_details(const baton_activity_t *a) {
    return a->task.heartbeat_details;
}
int32_t baton_activity_heartbeat_seconds(const baton_activity_t *a) {
    return a->task.heartbeat_seconds;
}
int64_t baton_activity_deadline_ms(const baton_activity_t *a) {
    return a->deadline_ms;
}

int baton_activity_cancelled(const baton_activity_t *a) {
    int why = atomic_load(&((baton_activity_t *)a)->cancel);
    if (a->deadline_ms && baton_now_ms() >= a->deadline_ms)
        why |= BATON_CANCEL_DEADLINE;
    return why;
}

int baton_activity_sleep(const baton_activity_t *act, int64_t ms) {
    int64_t start = baton_now_ms(), slept;
    while ((slept = baton_now_ms() - start) < ms) {
        int64_t left = ms - slept;
        struct timespec ts = {0, (long)(left < 20 ? left : 20) * 1000000L};
        int why = baton_activity_cancelled(act);
        if (why) return why;
        nanosleep(&ts, NULL);
    }
    return 0;
}

baton_conf_t *baton_worker_conf_load(const char *file, const char *queue,
                                     const char *concurrency, char *errstr,
                                     size_t errlen) {
    baton_conf_t *conf = baton_conf_new();
    if (!conf) {
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (baton_conf_load_default(conf, file, errstr, errlen) ||
        (queue &&
         baton_conf_set(conf, "worker.queue", queue, errstr, errlen)) ||
        (concurrency && baton_conf_set(conf, "worker.concurrency",
                                       concurrency, errstr, errlen))) {
        baton_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

baton_err_t baton_activity_complete(baton_activity_t *a,
                                    const char *output_json) {
    char *out;
    if (a->reported) return BATON_ERR_INVALID;
    if (!output_json) output_json = "null";
    if (!json_valid(output_json)) return BATON_ERR_INVALID;
    if (!(out = baton_strdup(output_json))) return BATON_ERR_NOMEM;
    a->output = out;
    a->kind = BATON_RESULT_COMPLETED;
    a->reported = 1;
    return BATON_OK;
}

baton_err_t baton_activity_fail(baton_activity_t *a, const char *error,
                                const char *cause, int64_t retry_after_ms) {
    return baton_activity_fail_flags(a, error, cause, retry_after_ms, 0);
}

baton_err_t baton_activity_fail_flags(baton_activity_t *a, const char *error,
                                      const char *cause,
                                      int64_t retry_after_ms, int flags) {
    char *e, *c = NULL;
    if (flags & ~BATON_FAIL_NON_RETRYABLE) return BATON_ERR_INVALID;
    if (a->reported) return BATON_ERR_INVALID;
    if (!(e = baton_strdup(error && *error ? error : "States.TaskFailed")) ||
        (cause && !(c = baton_strdup(cause)))) {
        baton_free(e);
        return BATON_ERR_NOMEM;
    }
    a->error = e;
    a->cause = c;
    a->retry_after_ms = retry_after_ms > 0 ? retry_after_ms : 0;
    a->non_retryable = (flags & BATON_FAIL_NON_RETRYABLE) != 0;
    a->kind = BATON_RESULT_FAILED;
    a->reported = 1;
    return BATON_OK;
}

/* The throttle's interval for j: a third of its heartbeat_seconds (so
 * that even a heartbeat held back a whole interval arrives well in time),
 * 1 s when the task asks for none, never under 100 ms. */
static int64_t heartbeat_interval_us(const job_t *j) {
    int64_t us = j->task.heartbeat_seconds > 0
                     ? (int64_t)j->task.heartbeat_seconds * 1000000 / 3
                     : HEARTBEAT_DEFAULT_INTERVAL_US;
    return us < HEARTBEAT_MIN_INTERVAL_US ? HEARTBEAT_MIN_INTERVAL_US : us;
}

/* Produces one HEARTBEAT result for j (fire and forget: a lost heartbeat
 * is made up by the next).  details: JSON text or NULL.  Thread: the
 * handler's (its codec) or run (w->codec). */
static baton_err_t heartbeat_send(baton_worker_t *w, job_t *a,
                                  baton_codec_t *codec, const char *details) {
    baton_result_t r = {0};
    rd_kafka_headers_t *h;
    rd_kafka_resp_err_t err;
    char *buf = NULL, e[512];
    size_t len = 0;

    r.task_id = a->task.task_id;
    r.workflow_id = a->task.workflow_id;
    r.kind = BATON_RESULT_HEARTBEAT;
    r.output = (char *)(details ? details : "null");
    r.worker = w->id;
    r.finished_at_ms = baton_now_ms();
    if (baton_codec_encode_result(codec, &r, a->json, &buf, &len, e,
                                  sizeof e)) {
        BATON_WARN(SUBSYS, "encoding a heartbeat of task %s: %s",
                   a->task.task_id, e);
        return BATON_ERR_INVALID;
    }
    h = baton_kafka_headers_new(a->json);
    err = rd_kafka_producev(
        w->producer, RD_KAFKA_V_TOPIC(w->results_topic),
        RD_KAFKA_V_PARTITION(a->task.result_partition),
        RD_KAFKA_V_KEY(a->task.workflow_id, strlen(a->task.workflow_id)),
        RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(NULL), RD_KAFKA_V_END);
    baton_free(buf);
    if (err) {
        rd_kafka_headers_destroy(h);
        BATON_WARN(SUBSYS, "heartbeat of task %s: %s", a->task.task_id,
                   rd_kafka_err2str(err));
        return BATON_ERR_KAFKA;
    }
    return BATON_OK;
}

/* Sends at once when the last heartbeat of this task is at least one
 * interval old; otherwise keeps details as the one to send when the
 * interval has passed (replacing any held back before), which the run
 * thread does (flush_heartbeats).  So at most one heartbeat per interval
 * leaves, and the latest details always do, at most one interval late. */
baton_err_t baton_activity_heartbeat(baton_activity_t *a,
                                     const char *details_json) {
    baton_worker_t *w = a->w;
    int64_t now = baton_mono_us();
    char *copy = NULL;
    int send_now;

    assert(a->codec); /* only inside the handler */
    if (details_json && !json_valid(details_json)) return BATON_ERR_INVALID;
    if (atomic_load(&a->cancel) & BATON_CANCEL_ORCHESTRATOR)
        return BATON_OK; /* the attempt is over for batond */
    pthread_mutex_lock(&w->hb_mu);
    send_now = !a->last_hb_us ||
               now - a->last_hb_us >= heartbeat_interval_us(a);
    if (send_now) {
        a->last_hb_us = now;
        if (a->hb_pending) atomic_fetch_sub(&w->hb_pending_cnt, 1);
        a->hb_pending = 0;
        baton_free(a->hb_details);
        a->hb_details = NULL;
    } else if (details_json && !(copy = baton_strdup(details_json))) {
        pthread_mutex_unlock(&w->hb_mu);
        return BATON_ERR_NOMEM;
    } else {
        if (!a->hb_pending) atomic_fetch_add(&w->hb_pending_cnt, 1);
        a->hb_pending = 1;
        baton_free(a->hb_details);
        a->hb_details = copy;
    }
    pthread_mutex_unlock(&w->hb_mu);
    return send_now ? heartbeat_send(w, a, a->codec, details_json) : BATON_OK;
}
