/*
 * bridge_metrics.c -- baton-bridge's metrics and health (bridge_metrics.h).
 * The readiness reason is a pointer to one of loop.c's constant strings
 * (or NULL), swapped atomically, so the endpoint's thread reads it safely.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "bridge_metrics.h"
#include "httpd.h"

struct baton_bridge_metrics {
    baton_metrics_t *m;
    baton_kafka_stats_t *ks;
    baton_httpd_t *httpd;
    _Atomic(const char *) not_ready;
    baton_metric_t *commands, *unmatched, *dlq, *inflight;
};

static int bm_ready(void *ctx, char *why, size_t whylen) {
    baton_bridge_metrics_t *bm = ctx;
    const char *r = atomic_load(&bm->not_ready);
    if (!r) return 1;
    snprintf(why, whylen, "%s", r);
    return 0;
}

baton_err_t baton_bridge_metrics_new(const baton_conf_t *conf,
                                     baton_bridge_metrics_t **out, char *errstr,
                                     size_t errlen) {
    const char *listen = baton_conf_get(conf, "bridge.metrics.listen");
    baton_bridge_metrics_t *bm;
    baton_httpd_conf_t hc = {0};
    *out = NULL;
    if (!listen || !*listen) return BATON_OK;
    if (!(bm = baton_calloc(1, sizeof *bm)) || !(bm->m = baton_metrics_new()))
        goto oom;
    atomic_store(&bm->not_ready, "starting");
    baton_metrics_build_info(bm->m, "baton-bridge");
    bm->commands = baton_metrics_counter(
        bm->m, "baton_bridge_commands_total",
        "Commands (START, SIGNAL) produced from source events.", NULL);
    bm->unmatched =
        baton_metrics_counter(bm->m, "baton_bridge_unmatched_total",
                              "Source events no trigger rule matched.", NULL);
    bm->dlq = baton_metrics_counter(
        bm->m, "baton_bridge_dlq_total",
        "Source events sent to the DLQ (undecodable, mapping failed, too "
        "large, or unmatched with \"unmatched\": \"dlq\").",
        NULL);
    bm->inflight = baton_metrics_gauge(
        bm->m, "baton_bridge_inflight",
        "Commands produced and not yet acknowledged by Kafka.", NULL);
    if (!(bm->ks = baton_kafka_stats_new(bm->m)) || !bm->commands ||
        !bm->unmatched || !bm->dlq || !bm->inflight)
        goto oom;
    hc.listen = listen;
    hc.metrics = bm->m;
    hc.live_timeout_ms =
        baton_conf_get_int(conf, "metrics.live.timeout.s") * 1000;
    hc.ready = bm_ready;
    hc.ready_ctx = bm;
    if (!(bm->httpd = baton_httpd_start(&hc, errstr, errlen))) {
        baton_bridge_metrics_destroy(bm);
        return BATON_ERR_CONFIG;
    }
    *out = bm;
    return BATON_OK;
oom:
    baton_bridge_metrics_destroy(bm);
    return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
}

void baton_bridge_metrics_destroy(baton_bridge_metrics_t *bm) {
    if (!bm) return;
    baton_httpd_stop(bm->httpd);
    baton_kafka_stats_destroy(bm->ks);
    baton_metrics_destroy(bm->m);
    baton_free(bm);
}

baton_kafka_stats_t *baton_bridge_metrics_kafka(baton_bridge_metrics_t *bm) {
    return bm ? bm->ks : NULL;
}

void baton_bridge_metrics_tick(baton_bridge_metrics_t *bm,
                               const baton_bridge_t *b) {
    int64_t cmds, unmatched, dlq;
    if (!bm) return;
    baton_httpd_beat(bm->httpd);
    baton_bridge_stats(b, &cmds, &unmatched, &dlq);
    baton_metric_set(bm->commands, NULL, (double)cmds);
    baton_metric_set(bm->unmatched, NULL, (double)unmatched);
    baton_metric_set(bm->dlq, NULL, (double)dlq);
    baton_metric_set(bm->inflight, NULL, (double)baton_bridge_inflight(b));
    atomic_store(&bm->not_ready, baton_bridge_not_ready(b));
}
