/*
 * worker_metrics.c -- a worker's metrics and health endpoint
 * (common/httpd.h), on when worker.metrics.listen is set: what every
 * worker on the SDK (the example, llm, http, mcp) reports.
 *
 *   baton_activity_schedule_to_start_seconds{queue,type}
 *       the task's scheduled_at_ms (batond's clock) to its handler starting
 *   baton_activity_execution_seconds{queue,type,outcome}
 *       handler start to its answer (completed, failed, none)
 *   baton_worker_tasks_total{queue,type,outcome}
 *   baton_worker_running / baton_worker_backlog{queue}
 *   librdkafka's statistics of the task consumer and the producer
 *
 * Readiness: the consumer had its first assignment from the group, and
 * the worker is neither stopping nor failed.  Threads: job_start/job_end
 * on pool threads, tick on the run thread, the endpoint on its own.
 */
#include <ctype.h>
#include <stdio.h>

#include "httpd.h"
#include "worker_int.h"

static int wm_ready(void *ctx, char *why, size_t whylen) {
    baton_worker_t *w = ctx;
    if (atomic_load(&w->m_not_ready) == 0) return 1;
    snprintf(why, whylen, "%s",
             atomic_load(&w->m_not_ready) == 1
                 ? "waiting for the first partition assignment"
                 : "stopping");
    return 0;
}

baton_err_t baton_worker_metrics_start(baton_worker_t *w,
                                       const baton_conf_t *conf, char *errstr,
                                       size_t errlen) {
    const char *listen = baton_conf_get(conf, "worker.metrics.listen");
    baton_metrics_t *m;
    baton_httpd_conf_t hc = {0};
    const double *lb = baton_metrics_latency_buckets;
    size_t nlb = baton_metrics_latency_nbuckets;
    atomic_init(&w->m_not_ready, 1);
    if (!listen || !*listen) return BATON_OK;
    if (!(m = w->metrics = baton_metrics_new()))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    baton_metrics_build_info(m, "baton-worker");
    w->m_s2s = baton_metrics_histogram(
        m, "baton_activity_schedule_to_start_seconds",
        "Activity attempts: scheduled by batond to started by this worker, "
        "by queue and activity type.",
        "queue,type", lb, nlb);
    w->m_exec = baton_metrics_histogram(
        m, "baton_activity_execution_seconds",
        "Activity attempts: handler start to its answer, by queue, type "
        "and outcome (completed, failed, none).",
        "queue,type,outcome", lb, nlb);
    w->m_tasks = baton_metrics_counter(
        m, "baton_worker_tasks_total",
        "Activity attempts run by this worker, by queue, type and outcome.",
        "queue,type,outcome");
    w->m_running = baton_metrics_gauge(m, "baton_worker_running",
                                       "Activities running now.", "queue");
    w->m_backlog = baton_metrics_gauge(
        m, "baton_worker_backlog",
        "Tasks fetched and waiting for a free thread.", "queue");
    if (!(w->kstats = baton_kafka_stats_new(m)) || !w->m_s2s || !w->m_exec ||
        !w->m_tasks || !w->m_running || !w->m_backlog)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    hc.listen = listen;
    hc.metrics = m;
    hc.live_timeout_ms =
        baton_conf_get_int(conf, "metrics.live.timeout.s") * 1000;
    hc.ready = wm_ready;
    hc.ready_ctx = w;
    if (!(w->httpd = baton_httpd_start(&hc, errstr, errlen)))
        return BATON_ERR_CONFIG;
    return BATON_OK;
}

void baton_worker_metrics_stop(baton_worker_t *w) {
    baton_httpd_stop(w->httpd); /* first: its thread reads the rest */
    w->httpd = NULL;
}

void baton_worker_metrics_free(baton_worker_t *w) {
    baton_kafka_stats_destroy(w->kstats);
    baton_metrics_destroy(w->metrics);
    w->kstats = NULL;
    w->metrics = NULL;
}

int baton_worker_stats_cb(rd_kafka_t *rk, char *json, size_t len,
                          void *opaque) {
    baton_worker_t *w = opaque;
    char err[256];
    (void)rk;
    if (baton_kafka_stats_update(w->kstats, json, len, err, sizeof err))
        BATON_DEBUG(SUBSYS, "%s", err);
    return 0;
}

void baton_worker_metrics_job_start(baton_worker_t *w, const job_t *j) {
    int64_t ms;
    if (!w->metrics || !j->task.scheduled_at_ms) return;
    ms = baton_now_ms() - j->task.scheduled_at_ms;
    baton_metric_observe(
        w->m_s2s,
        BATON_LV(w->queue, j->task.activity_type ? j->task.activity_type : ""),
        ms < 0 ? 0 : ms / 1000.0);
}

void baton_worker_metrics_job_end(baton_worker_t *w, const job_t *j) {
    char outcome[32] = "none";
    const char *type = j->task.activity_type ? j->task.activity_type : "";
    if (!w->metrics) return;
    if (j->reported) {
        const char *k = baton_result_kind_name(j->kind);
        size_t i;
        for (i = 0; k[i] && i + 1 < sizeof outcome; i++)
            outcome[i] = (char)tolower((unsigned char)k[i]);
        outcome[i] = '\0';
    }
    baton_metric_observe(w->m_exec, BATON_LV(w->queue, type, outcome),
                         (baton_mono_us() - j->started_us) / 1e6);
    baton_metric_add(w->m_tasks, BATON_LV(w->queue, type, outcome), 1);
}

void baton_worker_metrics_tick(baton_worker_t *w) {
    if (!w->metrics) return;
    baton_httpd_beat(w->httpd);
    baton_metric_set(w->m_running, BATON_LV(w->queue), w->running);
    baton_metric_set(w->m_backlog, BATON_LV(w->queue), w->backlog.cnt);
    atomic_store(&w->m_not_ready, w->stopping || w->fatal       ? 2
                                  : atomic_load(&w->m_assigned) ? 0
                                                                : 1);
}
