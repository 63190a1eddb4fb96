/*
 * http_worker.c -- baton-worker-http: HTTP calls as durable activities,
 * for agents that call APIs and webhooks.
 *
 *   baton-worker-http [--config FILE] [--queue Q (default http)]
 *                     [--concurrency N]
 *
 * Activity http.request: the task of http_task.c in; out {"status",
 * "headers" (lower-cased names), "body" (parsed when it is JSON, else the
 * text), "tag"}.  Every call carries "Idempotency-Key: <workflow_id>/<seq>"
 * (the task's idempotency key: the same for every attempt of the step), so
 * an API that honours the header applies the call once even when a crash
 * makes the activity run again.  A traced task's call also carries its
 * execution span as "traceparent", so the called service's spans join the
 * run's trace.  Only hosts in http.allow_hosts are
 * called; redirects are not followed.  A status >= 400 fails the activity
 * with the LLM worker's classification (net.h): HTTP.RateLimited,
 * HTTP.ServerError, HTTP.Timeout, HTTP.Conflict, HTTP.ConnectionError
 * retryable with the server's retry hint; HTTP.BadRequest,
 * HTTP.Unauthorized, HTTP.HostNotAllowed, HTTP.ResponseTooLarge,
 * HTTP.BadTask final.  Secret values are redacted from results and
 * errors.  Heartbeats (when HeartbeatSeconds is set) while the call runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "http.h"
#include "net.h"

#define PROG "baton-worker-http"

typedef struct http_worker {
    char *allow, *secrets;
    int64_t timeout_ms, max_body;
} http_worker_t;

static const char *env_secret(const char *name, void *opaque) {
    (void)opaque;
    return getenv(name);
}

static int on_tick(void *opaque) {
    baton_activity_t *act = opaque;
    if (baton_activity_cancelled(act)) return 1;
    if (baton_activity_heartbeat_seconds(act) > 0)
        baton_activity_heartbeat(act, NULL);
    return 0;
}

/* text with every secret of t replaced; a new string or NULL. */
static char *redact_all(const http_task_t *t, const char *text) {
    char *s = baton_strdup(text);
    for (size_t i = 0; s && i < t->nsecrets; i++) {
        char *r = baton_net_redact(s, t->secret_values[i]);
        baton_free(s);
        s = r;
    }
    return s;
}

static void fail_final(baton_activity_t *act, const http_task_t *t,
                       const char *name, const char *cause, int retryable,
                       int64_t hint) {
    char *c = t ? redact_all(t, cause) : baton_strdup(cause);
    baton_activity_fail_flags(act, name, c ? c : "(redacted)", hint,
                              retryable ? 0 : BATON_FAIL_NON_RETRYABLE);
    BATON_INFO("http", "task %s failed: %s%s: %s", baton_activity_task_id(act),
               name, retryable ? "" : " (final)", c ? c : "");
    baton_free(c);
}

static json_t *body_value(const baton_net_resp_t *r) {
    json_t *v;
    if (!r->body) return json_string("");
    if ((v = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL))) return v;
    v = json_stringn(r->body, r->body_len);
    return v ? v : json_string("(the body is not UTF-8 text)");
}

/* The span of the call (docs/tracing.md): a tool execution in
 * OpenTelemetry's GenAI terms, with the HTTP client attributes (never the
 * URL's query or the headers, which may hold secrets). */
static void trace_call(baton_activity_t *act, const http_task_t *t,
                       const char *host) {
    char name[300];
    if (!baton_activity_traced(act)) return;
    snprintf(name, sizeof name, "execute_tool %s", baton_activity_type(act));
    baton_activity_span_set_name(act, name);
    baton_activity_span_set_str(act, "gen_ai.operation.name", "execute_tool");
    baton_activity_span_set_str(act, "gen_ai.tool.name",
                                baton_activity_type(act));
    baton_activity_span_set_str(act, "gen_ai.tool.type", "extension");
    baton_activity_span_set_str(act, "http.request.method", t->method);
    baton_activity_span_set_str(act, "server.address", host);
}

static void http_request(baton_activity_t *act, void *opaque) {
    const http_worker_t *hw = opaque;
    http_limits_t lim = {hw->timeout_ms, hw->max_body, hw->secrets};
    http_task_t t;
    baton_net_req_t req = {0};
    baton_net_resp_t resp;
    baton_net_rc_t rc;
    char err[512], host[256], tp[64], *idem = NULL, *trace = NULL;
    char *text = NULL, *clean = NULL;
    const char **headers = NULL;
    json_t *out;

    if (http_task_parse(baton_activity_input(act), &lim, env_secret, NULL, &t,
                        err, sizeof err)) {
        fail_final(act, NULL, "HTTP.BadTask", err, 0, 0);
        return;
    }
    if (baton_net_url_host(t.url, host, sizeof host) ||
        !http_allow_host(hw->allow, host)) {
        snprintf(err, sizeof err,
                 "host '%s' is not in this worker's http.allow_hosts", host);
        fail_final(act, &t, "HTTP.HostNotAllowed", err, 0, 0);
        http_task_clear(&t);
        return;
    }
    trace_call(act, &t, host);
    idem = http_default_header(&t, "Idempotency-Key",
                               baton_activity_idempotency_key(act));
    trace = http_default_header(&t, "traceparent",
                                baton_activity_traceparent(act, tp, sizeof tp));
    if (!(headers = baton_calloc(t.nheaders + 3, sizeof *headers))) goto oom;
    for (size_t i = 0; i < t.nheaders; i++) headers[i] = t.headers[i];
    {
        size_t n = t.nheaders;
        if (idem) headers[n++] = idem;
        if (trace) headers[n] = trace;
    }
    req.method = t.method;
    req.url = t.url;
    req.headers = headers;
    req.body = t.body;
    req.body_len = t.body_len;
    req.timeout_ms = (long)t.timeout_ms;
    req.max_body = (size_t)t.max_body;
    req.on_tick = on_tick;
    req.opaque = act;
    rc = baton_net_call(&req, &resp);
    if (rc == BATON_NET_ABORTED && baton_activity_cancelled(act)) {
        baton_net_resp_clear(&resp);
        goto out; /* the SDK answers for a cancelled activity */
    }
    if (rc == BATON_NET_TOO_LARGE) {
        fail_final(act, &t, "HTTP.ResponseTooLarge", resp.error, 0, 0);
    } else if (rc != BATON_NET_DONE) {
        fail_final(act, &t,
                   rc == BATON_NET_FAILED_TIMEOUT ? "HTTP.Timeout"
                                                  : "HTTP.ConnectionError",
                   resp.error, 1, 0);
    } else if (resp.status >= 400) {
        baton_net_kind_t k = baton_net_kind_of_status(resp.status);
        char name[64];
        snprintf(name, sizeof name, "HTTP.%s", baton_net_kind_name(k));
        snprintf(err, sizeof err, "%s %.150s: status %ld: %.300s", t.method,
                 host, resp.status, resp.body ? resp.body : "");
        fail_final(act, &t, name, err, baton_net_kind_retryable(k),
                   baton_net_kind_retryable(k)
                       ? baton_net_retry_hint_ms(resp.headers, baton_now_ms())
                       : 0);
    } else {
        out = json_pack("{s:i,s:O,s:o,s:O?}", "status", (int)resp.status,
                        "headers", resp.headers, "body", body_value(&resp),
                        "tag", t.tag);
        text = out ? json_dumps(out, JSON_COMPACT) : NULL;
        clean = text ? redact_all(&t, text) : NULL;
        json_decref(out);
        if (!clean) {
            baton_net_resp_clear(&resp);
            goto oom;
        }
        baton_activity_span_set_int(act, "http.response.status_code",
                                    resp.status);
        baton_activity_complete(act, clean);
        BATON_INFO("http", "task %s (attempt %d): %s %s -> %ld, %zu bytes",
                   baton_activity_task_id(act),
                   (int)baton_activity_attempt(act), t.method, host,
                   resp.status, resp.body_len);
    }
    baton_net_resp_clear(&resp);
    goto out;
oom:
    baton_activity_fail(act, "HTTP.OutOfMemory", "out of memory", 0);
out:
    free(text);
    baton_free(clean);
    baton_free(headers);
    baton_free(idem);
    baton_free(trace);
    http_task_clear(&t);
}

static void http_cleanup(void *state) {
    http_worker_t *hw = state;
    if (!hw) return;
    baton_free(hw->allow);
    baton_free(hw->secrets);
    baton_free(hw);
}

static int http_setup(baton_worker_t *w, const baton_conf_t *conf,
                      void **state) {
    http_worker_t *hw = baton_calloc(1, sizeof *hw);
    if (!hw) return -1;
    *state = hw;
    hw->allow = baton_strdup(baton_conf_get(conf, "http.allow_hosts"));
    hw->secrets = baton_strdup(baton_conf_get(conf, "http.secrets"));
    hw->timeout_ms = baton_conf_get_int(conf, "http.timeout.ms");
    hw->max_body = baton_conf_get_int(conf, "http.max_response_bytes");
    if (!hw->allow || !hw->secrets) return -1;
    if (!*hw->allow)
        BATON_WARN("http", "http.allow_hosts is empty: every call will be "
                           "refused");
    if (baton_worker_register(w, "http.request", http_request, hw)) {
        fprintf(stderr, PROG ": registering http.request failed\n");
        return -1;
    }
    BATON_INFO("http", "allowed hosts: %s; secrets: %s", hw->allow,
               *hw->secrets ? hw->secrets : "(none)");
    return 0;
}

int main(int argc, char **argv) {
    return baton_net_worker_main(argc, argv, PROG, "http", http_setup,
                                 http_cleanup);
}
