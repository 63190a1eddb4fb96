/*
 * net.h -- what the network workers (baton-worker-llm, -http, -mcp) share:
 * one HTTP call on libcurl (net_call.c), the classification of HTTP and
 * transport failures with the retry hint a server gives (net_error.c), and
 * an incremental Server-Sent Events parser (sse.c).
 *
 * Error classification (the table of docs/agents.md):
 *
 *   kind                 when                               retryable
 *   BATON_NET_TIMEOUT    408, transport time-out             yes
 *   BATON_NET_CONFLICT   409                                 yes
 *   BATON_NET_RATE_LIMITED 429                               yes (hint)
 *   BATON_NET_SERVER     5xx (500..599, Anthropic's 529)     yes (hint)
 *   BATON_NET_CONNECTION refused, reset, DNS, broken transfer yes
 *   BATON_NET_UNAUTHORIZED 401, 403                          no
 *   BATON_NET_CLIENT     any other 4xx                       no
 *
 * A worker names the error "<Prefix>.<suffix>" (LLM.RateLimited,
 * HTTP.ServerError, ...) and may override the kind from the body (an LLM
 * 429 with insufficient_quota is final).
 *
 * Thread: every function may run on any thread; nothing is shared.
 */
#ifndef BATON_NET_H
#define BATON_NET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- sse.c: Server-Sent Events (the WHATWG event-stream format) -------- */

/* Called once per dispatched event: event is the "event:" field ("message"
 * when none), data the "data:" lines joined with '\n' (NUL-terminated,
 * datalen bytes).  Return non-zero to stop the parser (feed returns it). */
typedef int (*baton_sse_event_fn)(const char *event, const char *data,
                                  size_t datalen, void *opaque);

typedef struct baton_sse baton_sse_t;

/* A parser that calls fn with opaque for each event.  NULL on OOM. */
baton_sse_t *baton_sse_new(baton_sse_event_fn fn, void *opaque);
void baton_sse_destroy(baton_sse_t *p); /* NULL is a no-op */

/* Feeds len bytes (any split: a line or a UTF-8 sequence may span calls;
 * "\n", "\r\n" and "\r" end lines; ':' lines are comments).  Returns 0, the
 * callback's non-zero, or -1 when out of memory or a line grows past
 * 16 MiB. */
int baton_sse_feed(baton_sse_t *p, const char *buf, size_t len);

/* Dispatches an event still pending at the end of the stream (a server
 * that closed without the final blank line).  Returns as feed does. */
int baton_sse_finish(baton_sse_t *p);

/* ---- net_error.c: classification -------------------------------------- */

typedef enum baton_net_kind {
    BATON_NET_OK = 0,
    BATON_NET_TIMEOUT,
    BATON_NET_CONFLICT,
    BATON_NET_RATE_LIMITED,
    BATON_NET_SERVER,
    BATON_NET_CONNECTION,
    BATON_NET_UNAUTHORIZED,
    BATON_NET_CLIENT,
} baton_net_kind_t;

/* The kind of an HTTP status (BATON_NET_OK for 1xx-3xx). */
baton_net_kind_t baton_net_kind_of_status(long status);
/* 1 when a retry may succeed. */
int baton_net_kind_retryable(baton_net_kind_t k);
/* The error-name suffix: "Timeout", "Conflict", "RateLimited",
 * "ServerError", "ConnectionError", "Unauthorized", "BadRequest" ("" for
 * OK).  Static. */
const char *baton_net_kind_name(baton_net_kind_t k);

/* The retry hint of a response, in ms (0 = none): the largest of
 * retry-after-ms (ms), retry-after (seconds, or an HTTP date, against
 * now_ms), and every x-ratelimit-reset-* header (a duration as OpenAI
 * sends it: "20ms", "1.5s", "6m0s", "1h2m3s", or bare seconds).  headers
 * is an object of lower-cased names to values (baton_net_call's).  Values
 * that do not parse are ignored; the hint is capped at one day. */
int64_t baton_net_retry_hint_ms(const json_t *headers, int64_t now_ms);

/* A duration "1h2m3.5s" / "20ms" / "7" (seconds) in ms, or -1. */
int64_t baton_net_parse_duration_ms(const char *s);

/* ---- net_call.c: one HTTP call on libcurl ------------------------------ */

/* Called with each piece of the response body as it arrives (streaming)
 * when the status is 1xx or 2xx (an error body is buffered in resp->body
 * instead); return non-zero to abort the transfer (BATON_NET_ABORTED). */
typedef int (*baton_net_body_fn)(const char *buf, size_t len, void *opaque);
/* Called about every 100 ms while the call runs (heartbeats,
 * cancellation); return non-zero to abort it (BATON_NET_ABORTED). */
typedef int (*baton_net_tick_fn)(void *opaque);

typedef struct baton_net_req {
    const char *method; /* "GET", "POST", ... (NULL: POST with a body,
                             else GET) */
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated;
                                   may be NULL */
    const char *body;           /* may be NULL */
    size_t body_len;
    long timeout_ms;           /* whole call; 0 = none */
    long connect_timeout_ms;   /* 0 = 10 s */
    size_t max_body;           /* response bytes kept (0 = 64 MiB); more:
                             the call fails with BATON_NET_TOO_LARGE */
    baton_net_body_fn on_body; /* when set, body pieces go here and not
                                  into resp->body */
    baton_net_tick_fn on_tick;
    void *opaque;
} baton_net_req_t;

typedef enum baton_net_rc {
    BATON_NET_DONE = 0,       /* a response arrived (any status) */
    BATON_NET_FAILED_TIMEOUT, /* time-out (transport) */
    BATON_NET_FAILED_CONNECT, /* could not connect / resolve / broken */
    BATON_NET_TOO_LARGE,      /* the body passed max_body */
    BATON_NET_ABORTED,        /* a callback asked to stop */
    BATON_NET_FAILED_OTHER,   /* bad URL, out of memory, ... */
} baton_net_rc_t;

typedef struct baton_net_resp {
    long status;
    json_t *headers; /* lower-cased name -> value (last one wins) */
    char *body;      /* NUL-terminated (unless on_body), body_len bytes */
    size_t body_len;
    char error[512]; /* what failed, when rc != DONE (no header values) */
} baton_net_resp_t;

/* Runs the call.  resp is filled (free with baton_net_resp_clear) in every
 * case.  Thread: any; one call per thread at a time is fine (no shared
 * handle; curl_global_init must have run, baton_net_global_init). */
baton_net_rc_t baton_net_call(const baton_net_req_t *req,
                              baton_net_resp_t *resp);
void baton_net_resp_clear(baton_net_resp_t *resp);
/* curl_global_init once, from main before threads start.  0 or -1. */
int baton_net_global_init(void);
void baton_net_global_cleanup(void);

/* The host of an http(s) URL, lower-cased, into buf ("" when the URL has
 * none).  Returns 0, or -1 for a URL that is not http:// or https://. */
int baton_net_url_host(const char *url, char *buf, size_t len);

/* Replaces every occurrence of secret (when non-empty) in s by
 * "[redacted]"; returns a new string (baton_free) or NULL on OOM. */
char *baton_net_redact(const char *s, const char *secret);

/* ---- net_main.c: the main() of the network workers --------------------- */

#include "baton_worker.h"

/* Registers the worker's activities (and prepares what they share) on w,
 * with the loaded configuration; 0, or -1 after printing why.  *state is
 * passed to cleanup after run. */
typedef int (*baton_net_setup_fn)(baton_worker_t *w, const baton_conf_t *conf,
                                  void **state);
typedef void (*baton_net_cleanup_fn)(void *state);

/* The whole main() of a worker: flags --config FILE, --queue Q (default:
 * worker.queue unless it is "default", then default_queue),
 * --concurrency N; configuration; curl's global init; setup; SIGTERM /
 * SIGINT stop the worker (a second one cancels running activities); run;
 * cleanup.  Returns the exit status: 0, 1 on errors, 2 on usage or
 * configuration errors. */
int baton_net_worker_main(int argc, char **argv, const char *prog,
                          const char *default_queue, baton_net_setup_fn setup,
                          baton_net_cleanup_fn cleanup);

#endif /* BATON_NET_H */
