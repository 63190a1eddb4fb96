/*
 * httpd.h -- the operations endpoint of a Baton process: Prometheus
 * metrics, liveness, readiness and the KEDA backlog, served over HTTP by
 * libmicrohttpd on its own thread (an edge: the registry it serves,
 * common/metrics.h, is pure).
 *
 *   GET /metrics                 the registry in the text format 0.0.4
 *   GET /healthz                 liveness: 200 "ok" while the process's
 *                                main loop called baton_httpd_beat within
 *                                live_timeout_ms, else 503 with the age
 *   GET /readyz                  readiness: 200 "ready" when the ready
 *                                callback says so (or there is none), else
 *                                503 "not ready: <why>"
 *   GET /metrics/backlog?queue=Q KEDA metrics-api scaler:
 *                                {"queue":"Q","backlog":N} (404 when the
 *                                process has no backlog callback, 400
 *                                without queue)
 *
 * Anything else is 404, a method other than GET or HEAD 405.  Which
 * address: <process>.metrics.listen = host:port (config.c; empty = no
 * endpoint), e.g. 127.0.0.1:9464 or [::1]:9464 or 0.0.0.0:9464.
 * docs/operations.md tells what each process reports.
 *
 * Threads: the callbacks run on the endpoint's one thread (never two at
 * once), so what they touch must be safe to read from it (atomics, the
 * registry, their own connections).  baton_httpd_beat may run on any
 * thread.
 */
#ifndef BATON_HTTPD_H
#define BATON_HTTPD_H

#include "baton_common.h"
#include "metrics.h"

typedef struct baton_httpd baton_httpd_t;

/* 1 when ready; 0 with the reason in why. */
typedef int (*baton_httpd_ready_fn)(void *ctx, char *why, size_t whylen);
/* The backlog of queue (>= 0). */
typedef int64_t (*baton_httpd_backlog_fn)(void *ctx, const char *queue);

typedef struct baton_httpd_conf {
    const char *listen;       /* host:port (copied) */
    baton_metrics_t *metrics; /* borrowed: must outlive the endpoint */
    int64_t live_timeout_ms;  /* <= 0: 60000 */
    baton_httpd_ready_fn ready;
    void *ready_ctx;
    baton_httpd_backlog_fn backlog; /* NULL: no /metrics/backlog */
    void *backlog_ctx;
} baton_httpd_conf_t;

/* Starts serving.  Returns NULL with errstr ("metrics listen '...': ...")
 * when the address does not parse or cannot be bound. */
baton_httpd_t *baton_httpd_start(const baton_httpd_conf_t *conf, char *errstr,
                                 size_t errlen);

/* The main loop ran now (any thread; NULL is a no-op). */
void baton_httpd_beat(baton_httpd_t *h);

/* Stops serving and frees h (NULL is a no-op). */
void baton_httpd_stop(baton_httpd_t *h);

/* Splits "host:port" / "[v6]:port" into host (NUL-terminated) and port;
 * 0, or -1 when it does not parse. */
int baton_httpd_parse_listen(const char *listen, char *host, size_t hostlen,
                             int *port);

#endif /* BATON_HTTPD_H */
