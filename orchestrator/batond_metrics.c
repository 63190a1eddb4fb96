/*
 * batond_metrics.c -- batond's metrics and health (batond_metrics.h): the
 * families it registers, reading written history events into them, the
 * gauges refreshed from Redis, readiness.
 *
 * Activity latency needs the scheduling time of the attempt a result
 * ends: an ActivityScheduled event puts "<wf>|<seq>|<attempt>" -> {time,
 * queue, type} in `sched`; the ActivityCompleted, ActivityFailed or
 * ActivityTimedOut of that attempt takes it out and observes the time in
 * between.  In memory only (a new owner of a partition does not know the
 * attempts scheduled before it: those results are not timed), at most
 * SCHED_MAX entries (past it, entries are dropped whole: an attempt whose
 * result never comes must not grow it forever).
 *
 * The retry backlog per queue: a retry waiting out its backoff is an 'r'
 * timer in baton:{pN}:timers ("r|<seq>|<attempt>|<wf>", engine_int.h),
 * and a paused run's snapshot no longer names the queue; so the queue of
 * "<wf>|<seq>" comes from the ActivityScheduled events batond wrote
 * (`queues`), else from the run's history in Redis (the last 200 events),
 * else it counts as queue "unknown".
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batond_metrics.h"
#include "crypt.h"
#include "httpd.h"
#include "kafka_stats.h"
#include "keys.h"
#include "redis.h"
#include "snapshot.h"

#define SCHED_MAX 200000

struct batond_metrics {
    const baton_conf_t *conf;
    baton_metrics_t *m;
    baton_kafka_stats_t *ks;
    baton_httpd_t *httpd;
    redisContext *ping; /* the endpoint thread's own connection */
    _Atomic int owned;
    int64_t refresh_ms, next_refresh_ms;
    json_t *sched;
    json_t *queues; /* "<wf>|<seq>" -> queue of that step (retry backlog) */
    const struct baton_crypt *crypt; /* opens sealed history data */
    baton_metric_t *started, *closed, *completed, *failed, *run_dur, *act_lat,
        *act_total, *batch, *redis_rtt, *outbox, *timers, *overdue,
        *overdue_age, *retries, *parts;
};

static void register_families(batond_metrics_t *bm) {
    baton_metrics_t *m = bm->m;
    const double *lb = baton_metrics_latency_buckets;
    size_t nlb = baton_metrics_latency_nbuckets;
    baton_metrics_build_info(m, "batond");
    bm->started =
        baton_metrics_counter(m, "baton_runs_started_total",
                              "Runs started, by workflow type.", "type");
    bm->closed = baton_metrics_counter(
        m, "baton_runs_closed_total",
        "Runs closed, by workflow type and status (completed, failed, "
        "cancelled, terminated).",
        "type,status");
    bm->completed = baton_metrics_counter(
        m, "baton_runs_completed_total",
        "Runs that completed successfully, by workflow type.", "type");
    bm->failed =
        baton_metrics_counter(m, "baton_runs_failed_total",
                              "Runs that failed, by workflow type.", "type");
    bm->run_dur = baton_metrics_histogram(
        m, "baton_run_duration_seconds",
        "Run end-to-end latency: start to close, by type and status.",
        "type,status", lb, nlb);
    bm->act_lat = baton_metrics_histogram(
        m, "baton_activity_schedule_to_close_seconds",
        "Activity attempt latency as batond sees it: task scheduled to its "
        "result (or timeout) applied, by queue and activity type.",
        "queue,type", lb, nlb);
    bm->act_total = baton_metrics_counter(
        m, "baton_activities_total",
        "Activity attempts ended, by queue, type and outcome (completed, "
        "failed, timed_out).",
        "queue,type,outcome");
    bm->batch = baton_metrics_histogram(
        m, "baton_batch_messages",
        "Kafka messages (commands and results) per batch.", NULL,
        baton_metrics_size_buckets, baton_metrics_size_nbuckets);
    bm->redis_rtt = baton_metrics_histogram(
        m, "baton_redis_roundtrip_seconds",
        "Redis round trips of batond, by operation (write: a batch's fenced "
        "write of all partitions; refresh: the gauges' reads).",
        "op", lb, nlb);
    bm->outbox = baton_metrics_gauge(
        m, "baton_outbox_depth",
        "Outbox entries decided and not yet acknowledged by Kafka, over "
        "the partitions this batond owns.",
        NULL);
    bm->timers = baton_metrics_gauge(
        m, "baton_timers_pending",
        "Timers in Redis (retries, timeouts, waits) of owned partitions.",
        NULL);
    bm->overdue =
        baton_metrics_gauge(m, "baton_timers_overdue",
                            "Timers past their due time, not fired.", NULL);
    bm->overdue_age = baton_metrics_gauge(
        m, "baton_timer_oldest_overdue_seconds",
        "How late the oldest overdue timer is (0: none overdue).", NULL);
    bm->retries = baton_metrics_gauge(
        m, "baton_queue_retries_waiting",
        "Activity retries waiting out their backoff in Redis, by queue: "
        "the backlog Kafka lag does not show (/metrics/backlog).",
        "queue");
    bm->parts = baton_metrics_gauge(m, "baton_partitions_owned",
                                    "Partitions this batond owns.", NULL);
}

/* ---- the endpoint's callbacks (its thread) ------------------------------ */

static int bm_ready(void *ctx, char *why, size_t whylen) {
    batond_metrics_t *bm = ctx;
    char err[512];
    redisReply *r;
    if (atomic_load(&bm->owned) <= 0) {
        snprintf(why, whylen, "no partitions assigned");
        return 0;
    }
    if (!bm->ping && !(bm->ping = baton_redis_connect_conf(bm->conf, 1000, err,
                                                           sizeof err))) {
        snprintf(why, whylen, "Redis: %s", err);
        return 0;
    }
    r = redisCommand(bm->ping, "PING");
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(why, whylen, "Redis: %s",
                 r                     ? r->str
                 : bm->ping->errstr[0] ? bm->ping->errstr
                                       : "no answer");
        if (r) freeReplyObject(r);
        redisFree(bm->ping);
        bm->ping = NULL;
        return 0;
    }
    freeReplyObject(r);
    return 1;
}

static int64_t bm_backlog(void *ctx, const char *queue) {
    batond_metrics_t *bm = ctx;
    return (int64_t)baton_metric_get(bm->retries, BATON_LV(queue));
}

/* ---- life ---------------------------------------------------------------- */

void batond_metrics_set_crypt(batond_metrics_t *bm,
                              const struct baton_crypt *kr) {
    if (bm) bm->crypt = kr;
}

baton_err_t batond_metrics_new(const baton_conf_t *conf, batond_metrics_t **out,
                               char *errstr, size_t errlen) {
    const char *listen = baton_conf_get(conf, "batond.metrics.listen");
    batond_metrics_t *bm;
    baton_httpd_conf_t hc = {0};
    *out = NULL;
    if (!listen || !*listen) return BATON_OK;
    if (!(bm = baton_calloc(1, sizeof *bm)) || !(bm->m = baton_metrics_new()) ||
        !(bm->sched = json_object()) || !(bm->queues = json_object())) {
        batond_metrics_destroy(bm);
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    }
    bm->conf = conf;
    bm->refresh_ms = baton_conf_get_int(conf, "metrics.refresh.ms");
    register_families(bm);
    if (!(bm->ks = baton_kafka_stats_new(bm->m)) || !bm->started ||
        !bm->parts) {
        batond_metrics_destroy(bm);
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    }
    hc.listen = listen;
    hc.metrics = bm->m;
    hc.live_timeout_ms =
        baton_conf_get_int(conf, "metrics.live.timeout.s") * 1000;
    hc.ready = bm_ready;
    hc.ready_ctx = bm;
    hc.backlog = bm_backlog;
    hc.backlog_ctx = bm;
    if (!(bm->httpd = baton_httpd_start(&hc, errstr, errlen))) {
        batond_metrics_destroy(bm);
        return BATON_ERR_CONFIG;
    }
    *out = bm;
    return BATON_OK;
}

void batond_metrics_destroy(batond_metrics_t *bm) {
    if (!bm) return;
    baton_httpd_stop(bm->httpd); /* first: its thread uses the rest */
    if (bm->ping) redisFree(bm->ping);
    baton_kafka_stats_destroy(bm->ks);
    baton_metrics_destroy(bm->m);
    json_decref(bm->sched);
    json_decref(bm->queues);
    baton_free(bm);
}

/* ---- written events ------------------------------------------------------ */

/* Remembers the queue of step seq of wf (bounded like sched). */
static void remember_queue(batond_metrics_t *bm, const char *wf, long long seq,
                           const char *queue) {
    char key[1024];
    if (json_object_size(bm->queues) >= SCHED_MAX)
        json_object_clear(bm->queues);
    snprintf(key, sizeof key, "%s|%lld", wf, seq);
    json_object_set_new(bm->queues, key, json_string(queue));
}

static void on_scheduled(batond_metrics_t *bm, const char *wf, json_t *ev) {
    json_t *d = json_object_get(ev, "data");
    char key[1024];
    if (json_object_size(bm->sched) >= SCHED_MAX) json_object_clear(bm->sched);
    snprintf(key, sizeof key, "%s|%lld|%lld", wf,
             (long long)json_integer_value(json_object_get(d, "seq")),
             (long long)json_integer_value(json_object_get(d, "attempt")));
    if (json_string_value(json_object_get(d, "queue")))
        remember_queue(bm, wf,
                       (long long)json_integer_value(json_object_get(d, "seq")),
                       json_string_value(json_object_get(d, "queue")));
    json_object_set_new(
        bm->sched, key,
        json_pack("[Iss]", json_integer_value(json_object_get(ev, "time")),
                  json_string_value(json_object_get(d, "queue"))
                      ? json_string_value(json_object_get(d, "queue"))
                      : "",
                  json_string_value(json_object_get(d, "type"))
                      ? json_string_value(json_object_get(d, "type"))
                      : ""));
}

static void on_attempt_end(batond_metrics_t *bm, const char *wf, json_t *ev,
                           const char *outcome) {
    json_t *d = json_object_get(ev, "data"), *s;
    char key[1024];
    snprintf(key, sizeof key, "%s|%lld|%lld", wf,
             (long long)json_integer_value(json_object_get(d, "seq")),
             (long long)json_integer_value(json_object_get(d, "attempt")));
    if (!(s = json_object_get(bm->sched, key))) return;
    {
        const char *const *lv =
            BATON_LV(json_string_value(json_array_get(s, 1)),
                     json_string_value(json_array_get(s, 2)), outcome);
        int64_t ms = json_integer_value(json_object_get(ev, "time")) -
                     json_integer_value(json_array_get(s, 0));
        baton_metric_observe(bm->act_lat, lv, ms < 0 ? 0 : ms / 1000.0);
        baton_metric_add(bm->act_total, lv, 1);
    }
    json_object_del(bm->sched, key);
    if (!strcmp(outcome, "completed")) { /* that step never retries */
        snprintf(key, sizeof key, "%s|%lld", wf,
                 (long long)json_integer_value(json_object_get(d, "seq")));
        json_object_del(bm->queues, key);
    }
}

static void on_closed(batond_metrics_t *bm, const baton_snapshot_t *s,
                      const char *evtype, json_t *ev) {
    const char *status = evtype + strlen("Workflow"); /* Completed ... */
    char st[32];
    const char *type = s && s->type ? s->type : "";
    size_t i;
    for (i = 0; status[i] && i + 1 < sizeof st; i++)
        st[i] = (char)(status[i] >= 'A' && status[i] <= 'Z' ? status[i] + 32
                                                            : status[i]);
    st[i] = '\0';
    baton_metric_add(bm->closed, BATON_LV(type, st), 1);
    if (!strcmp(st, "completed"))
        baton_metric_add(bm->completed, BATON_LV(type), 1);
    else if (!strcmp(st, "failed"))
        baton_metric_add(bm->failed, BATON_LV(type), 1);
    if (s && s->started_ms > 0) {
        int64_t ms =
            json_integer_value(json_object_get(ev, "time")) - s->started_ms;
        baton_metric_observe(bm->run_dur, BATON_LV(type, st),
                             ms < 0 ? 0 : ms / 1000.0);
    }
}

/* The snapshot of wf in ws (written with the batch), or NULL. */
static const baton_snapshot_t *ws_snapshot(const baton_wset_t *ws,
                                           const char *wf) {
    for (size_t i = 0; i < ws->nsnaps; i++)
        if (!strcmp(ws->snaps[i]->id, wf)) return ws->snaps[i];
    return NULL;
}

static void on_event(batond_metrics_t *bm, const baton_wset_t *ws,
                     const baton_hist_add_t *h) {
    const char *t = strstr(h->json, "\"type\":\"");
    json_t *ev, *d;
    const char *type;
    /* Only the events counted are parsed (outputs can be large). */
    if (!t) return;
    t += 8;
    if (strncmp(t, "Workflow", 8) && strncmp(t, "Activity", 8)) return;
    if (!(ev = json_loads(h->json, 0, NULL))) return;
    type = json_string_value(json_object_get(ev, "type"));
    d = json_object_get(ev, "data");
    if (!type) type = "";
    if (!strcmp(type, "WorkflowStarted")) {
        const char *wt = json_string_value(json_object_get(d, "type"));
        baton_metric_add(bm->started, BATON_LV(wt ? wt : ""), 1);
    } else if (h->close && !strncmp(type, "Workflow", 8)) {
        on_closed(bm, ws_snapshot(ws, h->wf_id), type, ev);
    } else if (!strcmp(type, "ActivityScheduled")) {
        on_scheduled(bm, h->wf_id, ev);
    } else if (!strcmp(type, "ActivityCompleted")) {
        on_attempt_end(bm, h->wf_id, ev, "completed");
    } else if (!strcmp(type, "ActivityFailed")) {
        on_attempt_end(bm, h->wf_id, ev, "failed");
    } else if (!strcmp(type, "ActivityTimedOut")) {
        on_attempt_end(bm, h->wf_id, ev, "timed_out");
    }
    json_decref(ev);
}

void batond_metrics_written(batond_metrics_t *bm, baton_wset_t *const *ws,
                            const int *fenced, size_t n, size_t msgs,
                            double write_s) {
    if (!bm) return;
    baton_metric_observe(bm->batch, NULL, (double)msgs);
    baton_metric_observe(bm->redis_rtt, BATON_LV("write"), write_s);
    for (size_t i = 0; i < n; i++)
        if (!fenced[i])
            for (size_t j = 0; j < ws[i]->nhist; j++)
                on_event(bm, ws[i], &ws[i]->hist[j]);
}

void batond_metrics_redis(batond_metrics_t *bm, const char *op,
                          double seconds) {
    if (bm) baton_metric_observe(bm->redis_rtt, BATON_LV(op), seconds);
}

void batond_metrics_partitions(batond_metrics_t *bm, int owned) {
    if (!bm) return;
    atomic_store(&bm->owned, owned);
    baton_metric_set(bm->parts, NULL, owned);
}

int batond_metrics_kafka_stats(batond_metrics_t *bm, char *json, size_t len) {
    char err[256];
    if (bm && baton_kafka_stats_update(bm->ks, json, len, err, sizeof err))
        BATON_DEBUG("kafka", "%s", err);
    return 0;
}

/* ---- gauges from Redis --------------------------------------------------- */

/* The queue of step seq of run wf in partition p: from the ActivityScheduled
 * events this batond wrote (bm->queues), else from the run's history in
 * Redis (a retry scheduled before this batond owned the partition), else
 * "unknown".  Into q. */
static void step_queue(batond_metrics_t *bm, redisContext *r, const char *ns,
                       int32_t p, const char *wf, long long seq, char *q,
                       size_t qlen) {
    char key[BATON_KEYS_LEN];
    const char *known;
    redisReply *rep;
    snprintf(key, sizeof key, "%s|%lld", wf, seq);
    if ((known = json_string_value(json_object_get(bm->queues, key)))) {
        snprintf(q, qlen, "%s", known);
        return;
    }
    snprintf(q, qlen, "unknown");
    rep = redisCommand(r, "LRANGE %s -200 -1",
                       baton_keys_hist(key, sizeof key, ns, p, wf));
    if (!rep) return;
    for (size_t i = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0; i > 0;
         i--) {
        json_t *ev, *d;
        const char *s = rep->element[i - 1]->str;
        if (!s || !strstr(s, "\"type\":\"ActivityScheduled\"")) continue;
        if (!(ev = json_loads(s, 0, NULL))) continue;
        d = json_object_get(ev, "data");
        if (json_is_object(d) && json_object_get(d, BATON_CRYPT_KEY)) {
            char *t = json_dumps(d, JSON_COMPACT), *plain = NULL, err[256];
            size_t n = 0;
            json_t *o = NULL;
            if (t &&
                !baton_crypt_open(bm->crypt, "history.data", wf, t, strlen(t),
                                  &plain, &n, err, sizeof err) &&
                plain)
                o = json_loadb(plain, n, 0, NULL);
            free(t);
            baton_free(plain);
            if (o) json_object_set_new(ev, "data", o);
            d = json_object_get(ev, "data");
        }
        if (json_integer_value(json_object_get(d, "seq")) == seq &&
            json_string_value(json_object_get(d, "queue"))) {
            snprintf(q, qlen, "%s",
                     json_string_value(json_object_get(d, "queue")));
            json_decref(ev);
            break;
        }
        json_decref(ev);
    }
    freeReplyObject(rep);
    if (strcmp(q, "unknown")) remember_queue(bm, wf, seq, q);
}

/* Adds the retry timers of partition p to the retries gauge (by queue). */
static int count_retries(batond_metrics_t *bm, redisContext *r, const char *ns,
                         int32_t p) {
    char key[BATON_KEYS_LEN], cursor[32] = "0";
    baton_keys_timers(key, sizeof key, ns, p);
    do {
        redisReply *rep =
            redisCommand(r, "ZSCAN %s %s MATCH r|* COUNT 1000", key, cursor);
        redisReply *items;
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            if (rep) freeReplyObject(rep);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
        items = rep->element[1];
        for (size_t i = 0; i + 1 < items->elements; i += 2) {
            /* r|<seq>|<attempt>|<workflow id> */
            const char *m = items->element[i]->str, *wf = m;
            char q[256];
            for (int bars = 0; bars < 3 && wf; bars++)
                if ((wf = strchr(wf, '|'))) wf++;
            if (!wf) continue;
            step_queue(bm, r, ns, p, wf, strtoll(m + 2, NULL, 10), q, sizeof q);
            baton_metric_add(bm->retries, BATON_LV(q), 1);
        }
        freeReplyObject(rep);
    } while (strcmp(cursor, "0"));
    return 0;
}

/* Outbox depth and timers of the owned partitions; 0, or -1 when Redis
 * did not answer (the gauges keep their last values). */
static int refresh(batond_metrics_t *bm, redisContext *r, const char *ns,
                   const baton_loop_t *loop, int32_t partition_cnt) {
    int64_t now = baton_now_ms(), outbox = 0, timers = 0, overdue = 0;
    int64_t oldest = INT64_MAX;
    char key[BATON_KEYS_LEN], nowbuf[32];
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    for (int32_t p = 0; p < partition_cnt; p++) {
        redisReply *rep[4] = {0};
        int bad = 0;
        if (!baton_loop_owns(loop, p)) continue;
        redisAppendCommand(r, "HLEN %s",
                           baton_keys_outbox(key, sizeof key, ns, p));
        baton_keys_timers(key, sizeof key, ns, p);
        redisAppendCommand(r, "ZCARD %s", key);
        redisAppendCommand(r, "ZCOUNT %s -inf %s", key, nowbuf);
        redisAppendCommand(r, "ZRANGE %s 0 0 WITHSCORES", key);
        for (int i = 0; i < 4; i++)
            if (redisGetReply(r, (void **)&rep[i]) != REDIS_OK || !rep[i])
                bad = 1;
        if (!bad) {
            outbox += rep[0]->integer;
            timers += rep[1]->integer;
            overdue += rep[2]->integer;
            if (rep[3]->type == REDIS_REPLY_ARRAY && rep[3]->elements == 2) {
                int64_t due = 0;
                baton_parse_i64(rep[3]->element[1]->str, &due);
                if (due < oldest) oldest = due;
            }
        }
        for (int i = 0; i < 4; i++)
            if (rep[i]) freeReplyObject(rep[i]);
        if (bad) return -1;
    }
    baton_metric_set(bm->outbox, NULL, (double)outbox);
    baton_metric_set(bm->timers, NULL, (double)timers);
    baton_metric_set(bm->overdue, NULL, (double)overdue);
    baton_metric_set(bm->overdue_age, NULL,
                     oldest < now ? (now - oldest) / 1000.0 : 0);
    baton_metric_clear(bm->retries);
    for (int32_t p = 0; p < partition_cnt; p++)
        if (baton_loop_owns(loop, p) && count_retries(bm, r, ns, p)) return -1;
    return 0;
}

void batond_metrics_tick(batond_metrics_t *bm, redisContext *redis,
                         const char *ns, const baton_loop_t *loop,
                         int32_t partition_cnt) {
    int64_t now, t0;
    if (!bm) return;
    baton_httpd_beat(bm->httpd);
    now = baton_now_ms();
    if (!redis || now < bm->next_refresh_ms) return;
    bm->next_refresh_ms = now + bm->refresh_ms;
    t0 = baton_mono_us();
    if (refresh(bm, redis, ns, loop, partition_cnt))
        BATON_DEBUG("redis", "metrics refresh: %s",
                    redis->errstr[0] ? redis->errstr : "bad reply");
    else
        batond_metrics_redis(bm, "refresh", (baton_mono_us() - t0) / 1e6);
}
