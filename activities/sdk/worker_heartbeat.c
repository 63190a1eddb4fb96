/*
 * worker_heartbeat.c -- heartbeats of running activities: produced from
 * the handler's thread at most once per interval (heartbeat_seconds / 3);
 * details given within the interval are held back in the job and the run
 * thread sends the latest once the interval has passed.
 */
#include <assert.h>
#include <string.h>

#include "worker_int.h"

/* The throttle's interval for j: a third of its heartbeat_seconds (so
 * that even a heartbeat held back a whole interval arrives well in time),
 * 1 s when the task asks for none, never under 100 ms. */
int64_t baton_worker_heartbeat_interval_us(const job_t *j) {
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
    if (details_json && !baton_worker_json_valid(details_json))
        return BATON_ERR_INVALID;
    if (atomic_load(&a->cancel) & BATON_CANCEL_ORCHESTRATOR)
        return BATON_OK; /* the attempt is over for batond */
    pthread_mutex_lock(&w->hb_mu);
    send_now = !a->last_hb_us ||
               now - a->last_hb_us >= baton_worker_heartbeat_interval_us(a);
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

/* Sends the heartbeats the throttle held back, once their interval has
 * passed (the latest details of each running task).  Thread: run. */
void baton_worker_flush_heartbeats(baton_worker_t *w) {
    int64_t now;
    if (!atomic_load(&w->hb_pending_cnt)) return;
    now = baton_mono_us();
    for (int32_t i = 0; i < w->parts_cap; i++) {
        part_t *p = w->parts[i];
        for (size_t k = 0; p && k < p->cnt; k++) {
            job_t *j = baton_worker_ring_at(p, k);
            char *details = NULL;
            int due;
            if (j->state != JOB_RUNNING) continue;
            pthread_mutex_lock(&w->hb_mu);
            due = j->hb_pending && !j->hb_closed &&
                  now - j->last_hb_us >= baton_worker_heartbeat_interval_us(j);
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
