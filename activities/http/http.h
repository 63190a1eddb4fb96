/*
 * http.h -- the parts of baton-worker-http (activities/http/):
 *
 *   http_task.c    the http.request task format (docs/agents.md) parsed
 *                  and checked: method, URL, headers (secrets by name),
 *                  body, time-out, size cap, tag
 *   http_allow.c   the host allow-list (http.allow_hosts)
 *   http_worker.c  main(), the handler: the call (../net), Idempotency-Key,
 *                  classification of HTTP errors like the LLM worker's
 *
 * Pure except http_worker.c; unit-tested in tests/unit/test_http_task.c.
 * Thread: the handler's; nothing shared but the read-only settings.
 */
#ifndef BATON_HTTP_H
#define BATON_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- http_allow.c ------------------------------------------------------- */

/* 1 when host (lower-case) is allowed by list: comma-separated entries,
 * each an exact host ("api.example.com", "127.0.0.1"), "*.example.com"
 * (any subdomain, not example.com itself) or "*" (every host).  An empty
 * list allows nothing. */
int http_allow_host(const char *list, const char *host);

/* ---- http_task.c -------------------------------------------------------- */

typedef struct http_limits {
    int64_t timeout_ms;  /* http.timeout.ms: default and maximum */
    int64_t max_body;    /* http.max_response_bytes: default, maximum */
    const char *secrets; /* http.secrets: names a task may reference */
} http_limits_t;

/* Looks a secret up by name (getenv in the worker, a table in tests);
 * NULL when unset. */
typedef const char *(*http_secret_fn)(const char *name, void *opaque);

typedef struct http_task {
    char method[16];
    char *url;
    char **headers; /* "Name: value" lines, NULL-terminated */
    size_t nheaders;
    char *body; /* NULL = none */
    size_t body_len;
    int64_t timeout_ms, max_body;
    json_t *tag;          /* returned as is, or NULL */
    char **secret_values; /* the secret values used (to redact), NULL-term. */
    size_t nsecrets;
} http_task_t;

/* Parses input into t (free with http_task_clear).  Headers: {"Name":
 * "value"} or {"Name": {"secret": "ENV_NAME", "prefix": "Bearer "}}; the
 * secret must be listed in limits->secrets and set.  A JSON body (object,
 * array, number, ...) is sent as JSON with Content-Type: application/json
 * unless the task sets one; a string body is sent as it is.  0, or -1
 * with a message in errstr (the task is bad: final). */
int http_task_parse(const char *input, const http_limits_t *limits,
                    http_secret_fn secret, void *opaque, http_task_t *t,
                    char *errstr, size_t errlen);
void http_task_clear(http_task_t *t);

/* "<name>: <value>" for a header the worker adds to every call: the
 * task's idempotency key as Idempotency-Key ("<workflow_id>/<activity_seq>",
 * the same for every attempt) and the execution's span as traceparent (W3C
 * Trace Context), unless the task set that header itself (any case) or
 * value is NULL or empty.  A new string (baton_free), or NULL when none is
 * to be added. */
char *http_default_header(const http_task_t *t, const char *name,
                          const char *value);

#endif /* BATON_HTTP_H */
