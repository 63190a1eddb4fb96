/*
 * api.h -- what the files of baton-api share: the process settings
 * (api_t), one HTTP request being answered (api_req_t), the answer
 * helpers, and the route groups.
 *
 * The files (api/):
 *   main.c     main(): configuration, the HTTP daemon, the signal wait
 *   http.c     libmicrohttpd's handler: body (capped), bearer token,
 *              dispatch, JSON answers and errors
 *   routes.c   the /v1/ routes on baton_client (client/client.h)
 *   health.c   /healthz and /readyz
 *   console.c  the web console's static files (api.console.dir)
 *   api_metrics.c  /metrics: requests by route, durations, build info
 * The HTTP contract: api/openapi.yaml and docs/api.md.
 *
 * Thread: libmicrohttpd runs one thread per connection
 * (MHD_USE_THREAD_PER_CONNECTION): every handler runs on its connection's
 * thread and makes its own baton_client (one Redis connection), so a
 * long-polled result blocks only its own connection.  api_t is read-only
 * once the daemon started.
 */
#ifndef BATON_API_H
#define BATON_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "client.h"
#include "config.h"

#define API_PROG "baton-api"
#define API_RESULT_WAIT_MAX_S 60
#define API_LIST_LIMIT_DEFAULT 100
#define API_LIST_LIMIT_MAX 1000
#define API_HISTORY_LIMIT_DEFAULT 100
#define API_HISTORY_LIMIT_MAX 1000
#define API_DLQ_LIMIT_DEFAULT 100

typedef struct api_metrics api_metrics_t;

/* The process: configuration and what every request reads. */
typedef struct api {
    api_metrics_t *metrics; /* /metrics (api_metrics.c) */
    baton_conf_t *conf;
    const char *token;       /* NULL: no authentication */
    const char *console_dir; /* the console's files */
    size_t body_max;         /* batond.payload.max */
    int timeout_ms;          /* Kafka and Redis calls */
    int32_t partitions;      /* of <prefix>.commands; -1 unknown */
} api_t;

/* One request. */
typedef struct api_req {
    const api_t *api;
    struct MHD_Connection *con;
    const char *method, *url;
    char *body; /* NUL-terminated, NULL when none */
    size_t body_len;
    int too_large;  /* the body passed body_max: discarded */
    int status;     /* the answer */
    json_t *answer; /* its JSON body */
    int64_t t0_us;  /* when its headers arrived (baton_mono_us) */
} api_req_t;

/* Sets the answer: status and body (stolen). */
void api_answer(api_req_t *r, int status, json_t *body);
/* Sets an error answer {"error":{"code","message"}}. */
__attribute__((format(printf, 4, 5))) void
api_error(api_req_t *r, int status, const char *code, const char *fmt, ...);
/* The error answer for a baton_client failure. */
void api_client_error(api_req_t *r, baton_client_err_t err, const char *errstr);
/* A query argument, NULL when absent. */
const char *api_query(const api_req_t *r, const char *name);

/* routes.c: answers a /v1/ request (r->url starts with "/v1/"). */
void api_routes_v1(api_req_t *r);
/* The pattern of the /v1/ route method and url match ("/v1/runs/{id}"),
 * NULL when none does. */
const char *api_route_pattern(const char *method, const char *url);
/* health.c: /healthz and /readyz. */
void api_healthz(api_req_t *r);
void api_readyz(api_req_t *r);
/* console.c: queues the file answer for / and /ui/...; MHD_NO on a
 * failure to queue. */
enum MHD_Result api_console(const api_t *api, struct MHD_Connection *con,
                            const char *url);

/* api_metrics.c: the registry; one answered request (labelled by its
 * route's pattern, api_route_pattern); the /metrics answer. */
api_metrics_t *api_metrics_new(void);
void api_metrics_destroy(api_metrics_t *m); /* NULL is a no-op */
void api_metrics_request(api_metrics_t *m, const char *url, const char *method,
                         int status, double seconds);
enum MHD_Result api_metrics_serve(api_metrics_t *m, struct MHD_Connection *con);

/* http.c: the handler and its completion callback (MHD_OPTION_NOTIFY_
 * COMPLETED). */
enum MHD_Result api_http_handler(void *cls, struct MHD_Connection *con,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls);
void api_http_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                        enum MHD_RequestTerminationCode toe);

#endif
