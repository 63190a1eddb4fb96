/*
 * worker.c -- the worker object of the activity worker SDK (baton_worker.h):
 * settings from the config, the two Kafka clients and their callbacks,
 * handler registration, the run loop that drives every other part, stop
 * and destroy.  How the parts fit (threads, job states, offsets, wakeups):
 * worker_int.h.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypt.h"
#include "notify.h"
#include "worker_int.h"

/* Async-signal-safe: one write(); a full pipe already means "awake". */
void baton_worker_wake(baton_worker_t *w) {
    char c = 1;
    int saved = errno;
    if (write(w->wake[1], &c, 1) < 0) { /* EAGAIN: already pending */
    }
    errno = saved;
}

/* Sleeps until a wakeup or timeout_ms; drains the pipe. */
void baton_worker_wait_wakeup(baton_worker_t *w, int timeout_ms) {
    struct pollfd pfd = {w->wake[0], POLLIN, 0};
    char buf[256];
    if (poll(&pfd, 1, timeout_ms) > 0)
        while (read(w->wake[0], buf, sizeof buf) > 0) {
        }
}

void baton_worker_set_fatal(baton_worker_t *w, baton_err_t err, const char *fmt,
                            ...) __attribute__((format(printf, 3, 4)));
void baton_worker_set_fatal(baton_worker_t *w, baton_err_t err, const char *fmt,
                            ...) {
    va_list ap;
    if (w->fatal) return; /* keep the first error */
    w->fatal = err;
    va_start(ap, fmt);
    vsnprintf(w->errstr, sizeof w->errstr, fmt, ap);
    va_end(ap);
    BATON_ERROR(SUBSYS, "fatal: %s", w->errstr);
}

/* Both clients.  Thread: run (served by the polls). */
static void error_cb(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque) {
    baton_worker_t *w = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, buf, sizeof buf);
        if (rk == w->producer) { /* replaced by the run loop */
            if (!w->producer_fatal)
                BATON_WARN(SUBSYS,
                           "%s: fatal Kafka error %s: %s; replacing the "
                           "producer",
                           rd_kafka_name(rk), rd_kafka_err2name(ferr), buf);
            w->producer_fatal = 1;
            return;
        }
        baton_worker_set_fatal(w, BATON_ERR_KAFKA,
                               "%s: fatal Kafka error %s: %s",
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

/* ---- the worker ----------------------------------------------------------
 */

/* baton_worker_wake() for the cancellation listener.  Thread: the listener's.
 */
static void wake_opaque(void *w) {
    baton_worker_wake(w);
}

int baton_worker_revoke_wait_ms(int64_t max_poll_ms, int64_t session_ms) {
    int64_t ms = max_poll_ms > 0 ? max_poll_ms / 2 : 150000;
    if (session_ms > 0 && session_ms / 2 < ms) ms = session_ms / 2;
    return (int)ms;
}

static char *topic_dup(const baton_conf_t *conf, const char *suffix) {
    char buf[512];
    return baton_strdup(baton_topic(conf, suffix, buf, sizeof buf));
}

/* BATON_TEST_WORKER_PRODUCER_FATAL_AFTER=<n>, read once at start: after
 * the n-th result produced, rd_kafka_test_fatal_error raises a fatal error
 * on the producer (librdkafka 2.0.2's idempotent producer does so after
 * some leader changes), which the run loop answers by replacing it.
 * Test 0036. */
static void test_hook_fatal(baton_worker_t *w) {
    const char *fa = getenv("BATON_TEST_WORKER_PRODUCER_FATAL_AFTER");
    if (fa && *fa && (w->test_fatal_after = strtoll(fa, NULL, 10)) > 0)
        BATON_WARN(SUBSYS, "TEST HOOK: fatal producer error after %lld results",
                   (long long)w->test_fatal_after);
}

baton_worker_t *baton_worker_new(const baton_conf_t *conf, char *errstr,
                                 size_t errlen) {
    baton_worker_t *w = baton_calloc(1, sizeof *w);
    rd_kafka_conf_t *kc = NULL, *kp = NULL;
    char suffix[300], buf[64], host[200], idbuf[256], err[512];
    size_t sz = sizeof buf;
    int64_t conc = baton_conf_get_int(conf, "worker.concurrency");
    const char *id = baton_conf_get(conf, "worker.id");
    int64_t mpi = 0, sto = 0;

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
    if (baton_worker_blobs_init(w, conf, errstr, errlen)) goto fail;
    if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK)) {
        baton_seterr(errstr, errlen, BATON_ERR_IO, "pipe: %s", strerror(errno));
        goto fail;
    }
    snprintf(suffix, sizeof suffix, "baton-worker-%s", w->queue);
    w->otlp = baton_otlp_from_conf(conf, suffix, err, sizeof err);
    if (!w->otlp && err[0]) {
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "%s", err);
        goto fail;
    }
    w->trace_content = baton_conf_get_int(conf, "tracing.genai.content") == 1;
    if (!(w->codec = baton_codec_new(err, sizeof err))) {
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "codec: %s", err);
        goto fail;
    }
    /* Payload encryption (crypt.*): task inputs opened, outputs sealed. */
    if (baton_crypt_new_conf(conf, &w->crypt, errstr, errlen)) goto fail;
    baton_codec_set_crypt(w->codec, w->crypt);

    if (baton_worker_metrics_start(w, conf, errstr, errlen)) goto fail;

    /* The consumer. */
    if (!(kc = baton_kafka_conf_new(conf, BATON_KAFKA_CONSUMER, w->group,
                                    errstr, errlen)))
        goto fail;
    if (w->kstats) baton_kafka_conf_stats(kc, conf, baton_worker_stats_cb);
    if (!baton_conf_get(conf, "kafka.client.id") &&
        !baton_conf_get(conf, "kafka.consumer.client.id")) {
        snprintf(suffix, sizeof suffix, "baton-worker-%s", w->queue);
        if (rd_kafka_conf_set(kc, "client.id", suffix, err, sizeof err) !=
            RD_KAFKA_CONF_OK) {
            baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                         "consumer client.id '%s': %s", suffix, err);
            goto fail;
        }
    }
    /* How long a revocation waits for running activities: the group
     * waits for this member's rejoin at most max.poll.interval.ms on a
     * real broker, and session.timeout.ms - 1 s on the mock cluster; half
     * of the smaller keeps the member in the group either way. */
    if (rd_kafka_conf_get(kc, "max.poll.interval.ms", buf, &sz) !=
            RD_KAFKA_CONF_OK ||
        baton_parse_i64(buf, &mpi))
        mpi = 0;
    sz = sizeof buf;
    if (rd_kafka_conf_get(kc, "session.timeout.ms", buf, &sz) !=
            RD_KAFKA_CONF_OK ||
        baton_parse_i64(buf, &sto))
        sto = 0;
    w->revoke_wait_ms = baton_worker_revoke_wait_ms(mpi, sto);
    rd_kafka_conf_set_opaque(kc, w);
    rd_kafka_conf_set_rebalance_cb(kc, baton_worker_rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(kc, baton_worker_offset_commit_cb);
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
        if (rd_kafka_conf_set(kp, "client.id", suffix, err, sizeof err) !=
            RD_KAFKA_CONF_OK) {
            baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                         "producer client.id '%s': %s", suffix, err);
            goto fail;
        }
    }
    rd_kafka_conf_set_opaque(kp, w);
    if (w->kstats) baton_kafka_conf_stats(kp, conf, baton_worker_stats_cb);
    rd_kafka_conf_set_dr_msg_cb(kp, baton_worker_dr_msg_cb);
    rd_kafka_conf_set_error_cb(kp, error_cb);
    rd_kafka_conf_set_log_cb(kp, log_cb);
    if (!(w->producer_conf = rd_kafka_conf_dup(kp))) {
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
        goto fail;
    }
    w->producer = baton_kafka_new(kp, BATON_KAFKA_PRODUCER, errstr, errlen);
    kp = NULL;
    if (!w->producer) goto fail;
    test_hook_fatal(w);

    /* Wake the run loop when either client has something to serve. */
    w->consumer_q = rd_kafka_queue_get_consumer(w->consumer);
    w->producer_q = rd_kafka_queue_get_main(w->producer);
    rd_kafka_queue_io_event_enable(w->consumer_q, w->wake[1], "c", 1);
    rd_kafka_queue_io_event_enable(w->producer_q, w->wake[1], "p", 1);

    /* The listener for cancellation notices (started by run). */
    if (!(w->cancels = baton_cancels_new(conf, wake_opaque, w, errstr, errlen)))
        goto fail;
    return w;
fail:
    if (kc) rd_kafka_conf_destroy(kc);
    if (kp) rd_kafka_conf_destroy(kp);
    baton_worker_destroy(w);
    return NULL;
}

baton_err_t baton_worker_register(baton_worker_t *w, const char *activity_type,
                                  baton_activity_fn fn, void *opaque) {
    handler_t *n;
    assert(w && activity_type && fn);
    if (w->started || baton_worker_handler_find(w, activity_type))
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
    baton_worker_wake(w);
}

const char *baton_worker_errstr(const baton_worker_t *w) {
    return w->errstr;
}

const char *baton_worker_id(const baton_worker_t *w) {
    return w->id;
}

/* Reacts to baton_worker_stop calls.  Thread: run. */
static void check_stop(baton_worker_t *w) {
    int n = atomic_load(&w->stop_cnt);
    job_t *j;
    if (n >= 1 && !w->stopping) {
        w->stopping = 1;
        BATON_INFO(SUBSYS,
                   "stopping: draining %d running task(s), dropping "
                   "%d not started (they stay uncommitted)",
                   w->running, w->backlog.cnt);
        while ((j = baton_worker_list_pop(&w->backlog)))
            j->state = JOB_ABANDONED;
    }
    if (n >= 2 && !w->cancelled_all) {
        w->cancelled_all = 1;
        w->hard_stop_us = baton_mono_us() + HARD_STOP_GRACE_US;
        BATON_INFO(SUBSYS,
                   "stop requested again: cancelling %d running "
                   "task(s)",
                   w->running);
        for (int32_t i = 0; i < w->parts_cap; i++) {
            part_t *p = w->parts[i];
            for (size_t k = 0; p && k < p->cnt; k++)
                atomic_fetch_or(&baton_worker_ring_at(p, k)->cancel,
                                BATON_CANCEL_WORKER);
        }
    }
}

/* Cancels every job still queued or running (fatal error or last resort).
 * Orphans keep running until their handlers return.  Thread: run. */
static void cancel_everything(baton_worker_t *w) {
    for (int32_t i = 0; i < w->parts_cap; i++) {
        part_t *p = w->parts[i];
        for (size_t k = 0; p && k < p->cnt; k++)
            atomic_fetch_or(&baton_worker_ring_at(p, k)->cancel,
                            BATON_CANCEL_WORKER);
    }
}

baton_err_t baton_worker_run(baton_worker_t *w) {
    rd_kafka_topic_partition_list_t *sub;
    rd_kafka_resp_err_t err;
    baton_err_t rc;
    baton_notify_t *nt = baton_notify_new(); /* systemd, when under it */

    assert(w && !w->started);
    w->started = 1;
    if ((rc = baton_worker_pool_start(w)) ||
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
    BATON_INFO(SUBSYS,
               "worker %s consuming %s in group %s, %d at once, "
               "%d handler(s)",
               w->id, w->task_topic, w->group, w->concurrency, w->handler_cnt);
    baton_notify_ready(nt, "consuming");

    for (;;) {
        rd_kafka_message_t *m;
        baton_notify_watchdog(nt);
        rd_kafka_poll(w->producer, 0);
        if (w->producer_fatal && baton_worker_producer_reset(w)) break;
        baton_worker_serve_done(w);
        baton_worker_produce_retries(w);
        check_stop(w);
        if (w->stopping) baton_notify_stopping(nt);
        baton_worker_apply_cancels(w);
        baton_worker_flush_heartbeats(w);
        baton_worker_dispatch(w);
        while ((m = rd_kafka_consumer_poll(w->consumer, 0))) {
            baton_worker_handle_message(w, m);
            rd_kafka_message_destroy(m);
            baton_worker_dispatch(w);
        }
        baton_worker_update_pause(w);
        if (w->fatal) break;
        baton_worker_commit_offsets(w, 0);
        baton_worker_metrics_tick(w);
        if (w->stopping && !w->running &&
            (!w->out_pending ||
             (w->hard_stop_us && baton_mono_us() > w->hard_stop_us)))
            break;
        baton_worker_wait_wakeup(w, LOOP_WAIT_MS);
    }

    if (!w->fatal) baton_worker_commit_offsets(w, 1);
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
    baton_worker_pool_join(w);
    baton_notify_stopping(nt);
    baton_notify_destroy(nt);
    if (!rc) BATON_INFO(SUBSYS, "worker %s stopped", w->id);
    return rc;
}

int baton_worker_producer_reset(baton_worker_t *w) {
    rd_kafka_t *old = w->producer, *rk;
    rd_kafka_conf_t *kp = rd_kafka_conf_dup(w->producer_conf);
    char errstr[512];
    int back = w->retry.cnt;

    w->producer_fatal = 0;
    /* The old producer's queued and in-flight messages fail with their
     * delivery reports (served here): non-permanent errors put their jobs
     * on the retry list.  The broker may have written some of them: a
     * result sent twice is a duplicate batond ignores (same task id). */
    rd_kafka_purge(old, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(old, FLUSH_TIMEOUT_MS);
    rd_kafka_poll(old, 0);
    rk = kp ? baton_kafka_new(kp, BATON_KAFKA_PRODUCER, errstr, sizeof errstr)
            : NULL;
    if (!rk) {
        baton_worker_set_fatal(w, BATON_ERR_KAFKA,
                               "replacing the producer after a fatal "
                               "error: %s",
                               kp ? errstr : "out of memory");
        return -1;
    }
    rd_kafka_queue_io_event_enable(w->producer_q, -1, NULL, 0);
    rd_kafka_queue_destroy(w->producer_q);
    rd_kafka_destroy(old);
    w->producer = rk;
    w->producer_q = rd_kafka_queue_get_main(rk);
    rd_kafka_queue_io_event_enable(w->producer_q, w->wake[1], "p", 1);
    w->producer_resets++;
    BATON_WARN(SUBSYS,
               "producer replaced after a fatal error (%d so far): %d "
               "answer(s) to produce again",
               w->producer_resets, w->retry.cnt - back);
    return 0;
}

void baton_worker_destroy(baton_worker_t *w) {
    job_t *j;
    if (!w) return;
    baton_worker_metrics_stop(w);
    baton_cancels_destroy(w->cancels); /* its thread wakes us: first */
    w->cancels = NULL;
    if (w->thread_cnt) baton_worker_pool_join(w);
    if (w->consumer_q) {
        rd_kafka_queue_io_event_enable(w->consumer_q, -1, NULL, 0);
        rd_kafka_queue_destroy(w->consumer_q);
    }
    if (w->producer_q) {
        rd_kafka_queue_io_event_enable(w->producer_q, -1, NULL, 0);
        rd_kafka_queue_destroy(w->producer_q);
    }
    if (w->consumer) rd_kafka_destroy(w->consumer);
    if (w->producer_conf) rd_kafka_conf_destroy(w->producer_conf);
    if (w->producer)
        rd_kafka_destroy(w->producer); /* before freeing jobs:
                                                      * it may still hold
                                                      * their pointers */
    /* Jobs: orphans (no partition) live only on the lists; every other
     * job is owned by its partition's ring.  Lists first, rings after. */
    {
        job_list_t *lists[] = {&w->retry, &w->queue_in, &w->done, &w->backlog};
        for (size_t i = 0; i < BATON_ARRAY_SIZE(lists); i++)
            while ((j = baton_worker_list_pop(lists[i])))
                if (!j->part) baton_worker_job_free(j);
    }
    for (int32_t i = 0; i < w->parts_cap; i++) {
        part_t *p = w->parts[i];
        if (!p) continue;
        for (size_t k = 0; k < p->cnt; k++)
            baton_worker_job_free(baton_worker_ring_at(p, k));
        baton_free(p->ring);
        baton_free(p);
    }
    baton_free(w->parts);
    for (int i = 0; w->codecs && i < w->concurrency; i++)
        baton_codec_destroy(w->codecs[i]);
    baton_free(w->codecs);
    baton_free(w->threads);
    baton_codec_destroy(w->codec);
    baton_crypt_destroy(w->crypt);
    baton_otlp_destroy(w->otlp);
    for (int i = 0; i < w->handler_cnt; i++) baton_free(w->handlers[i].type);
    baton_free(w->handlers);
    if (w->wake[0] >= 0) close(w->wake[0]);
    if (w->wake[1] >= 0) close(w->wake[1]);
    baton_worker_blobs_destroy(w);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->hb_mu);
    pthread_cond_destroy(&w->cv);
    baton_free(w->queue);
    baton_free(w->task_topic);
    baton_free(w->results_topic);
    baton_free(w->dlq_topic);
    baton_free(w->group);
    baton_free(w->id);
    baton_worker_metrics_free(w);
    baton_free(w);
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
        (concurrency && baton_conf_set(conf, "worker.concurrency", concurrency,
                                       errstr, errlen))) {
        baton_conf_destroy(conf);
        return NULL;
    }
    return conf;
}
