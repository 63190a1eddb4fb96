/*
 * api_metrics.c -- baton-api's /metrics: the requests it answered by
 * route, method and status, their durations, and baton_build_info, in the
 * Prometheus text format of common/metrics.h (docs/operations.md).  The
 * route label is the route's pattern (/v1/runs/{id}/result), never the
 * path itself, so run ids do not make new series.
 *
 * Thread: any (the registry has its own lock); the families are made once
 * in api_metrics_new, before the daemon starts.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "baton_common.h"
#include "metrics.h"

struct api_metrics {
    baton_metrics_t *reg;
    baton_metric_t *requests, *duration;
};

api_metrics_t *api_metrics_new(void) {
    api_metrics_t *m = baton_calloc(1, sizeof *m);
    if (!m || !(m->reg = baton_metrics_new())) goto fail;
    baton_metrics_build_info(m->reg, API_PROG);
    m->requests = baton_metrics_counter(
        m->reg, "baton_api_requests_total",
        "HTTP requests answered, by route pattern, method and status code",
        "route,method,code");
    m->duration = baton_metrics_histogram(
        m->reg, "baton_api_request_duration_seconds",
        "Time to answer an HTTP request (a long-polled result included)",
        "route", baton_metrics_latency_buckets, baton_metrics_latency_nbuckets);
    if (m->requests && m->duration) return m;
fail:
    api_metrics_destroy(m);
    return NULL;
}

void api_metrics_destroy(api_metrics_t *m) {
    if (!m) return;
    baton_metrics_destroy(m->reg);
    baton_free(m);
}

/* The route label of a request: its /v1/ pattern, one of the fixed paths,
 * or "other" (unknown paths must not make new series). */
static const char *api_route_label(const char *method, const char *url) {
    static const char *const fixed[] = {"/healthz", "/readyz", "/metrics"};
    const char *p = api_route_pattern(method, url);
    if (p) return p;
    for (size_t i = 0; i < BATON_ARRAY_SIZE(fixed); i++)
        if (!strcmp(url, fixed[i])) return fixed[i];
    return "other";
}

void api_metrics_request(api_metrics_t *m, const char *url, const char *method,
                         int status, double seconds) {
    char code[16];
    const char *route = api_route_label(method, url);
    if (!m) return;
    snprintf(code, sizeof code, "%d", status);
    baton_metric_add(
        m->requests,
        BATON_LV(route, strcmp(method, "POST") ? "GET" : "POST", code), 1);
    baton_metric_observe(m->duration, BATON_LV(route), seconds);
}

enum MHD_Result api_metrics_serve(api_metrics_t *m,
                                  struct MHD_Connection *con) {
    size_t len = 0;
    char *text = m ? baton_metrics_render(m->reg, &len) : NULL;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    if (!text) return MHD_NO;
    resp = MHD_create_response_from_buffer_with_free_callback(len, text,
                                                              baton_free);
    if (!resp) {
        baton_free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            BATON_METRICS_CONTENT_TYPE);
    ret = MHD_queue_response(con, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}
