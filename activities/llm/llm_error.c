/*
 * llm_error.c -- what a failed model call means: the activity error name,
 * whether a retry may help, and the provider's retry hint.  The status
 * table is net.h's (shared with the HTTP and MCP workers); this file adds
 * what only model APIs say in their error bodies: insufficient_quota
 * (OpenAI answers 429 for an account out of credit: retrying cannot help)
 * and content-policy refusals.  Pure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "llm.h"

void llm_error_set(llm_error_t *e, const char *name, int retryable,
                   const char *fmt, ...) {
    va_list ap;
    snprintf(e->name, sizeof e->name, "%s", name);
    e->retryable = retryable;
    va_start(ap, fmt);
    vsnprintf(e->cause, sizeof e->cause, fmt, ap);
    va_end(ap);
}

static const char *str_of(const json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* The error object of a body: OpenAI {"error": {...}}, Anthropic
 * {"type": "error", "error": {...}}; NULL when none. */
static json_t *body_error(json_t *doc) {
    json_t *err = json_object_get(doc, "error");
    return json_is_object(err) ? err : NULL;
}

static int is_quota(const json_t *err) {
    return !strcmp(str_of(err, "code"), "insufficient_quota") ||
           !strcmp(str_of(err, "type"), "insufficient_quota");
}

static int is_content_filter(const json_t *err) {
    const char *c = str_of(err, "code"), *t = str_of(err, "type");
    return !strcmp(c, "content_filter") ||
           !strcmp(c, "content_policy_violation") ||
           !strcmp(t, "content_filter") ||
           !strcmp(t, "content_policy_violation");
}

void llm_error_from_http(long status, const json_t *headers, const char *body,
                         int64_t now_ms, llm_error_t *e) {
    json_t *doc = body ? json_loads(body, 0, NULL) : NULL,
           *err = body_error(doc);
    baton_net_kind_t k = baton_net_kind_of_status(status);
    const char *msg = err ? str_of(err, "message") : "";
    char name[64];

    if (k == BATON_NET_OK) { /* a 2xx/3xx that is not a reply */
        llm_error_set(e, "LLM.MalformedResponse", 1,
                      "status %ld: the body is not a model reply", status);
    } else if (err && is_quota(err)) {
        llm_error_set(e, "LLM.InsufficientQuota", 0,
                      "status %ld insufficient_quota: %.300s", status, msg);
    } else if (err && is_content_filter(err)) {
        llm_error_set(e, "LLM.ContentFilter", 0, "status %ld %s: %.300s",
                      status, str_of(err, "code"), msg);
    } else {
        snprintf(name, sizeof name, "LLM.%s", baton_net_kind_name(k));
        llm_error_set(e, name, baton_net_kind_retryable(k),
                      "status %ld%s%s: %.300s", status, err ? " " : "",
                      err ? (*str_of(err, "type") ? str_of(err, "type")
                                                  : str_of(err, "code"))
                          : "",
                      err ? msg : (body ? body : ""));
    }
    e->retry_after_ms =
        e->retryable ? baton_net_retry_hint_ms(headers, now_ms) : 0;
    json_decref(doc);
}

void llm_error_from_transport(baton_net_rc_t rc, const char *msg,
                              llm_error_t *e) {
    switch (rc) {
    case BATON_NET_FAILED_TIMEOUT:
        llm_error_set(e, "LLM.Timeout", 1, "%s", msg);
        break;
    case BATON_NET_FAILED_CONNECT:
        llm_error_set(e, "LLM.ConnectionError", 1, "%s", msg);
        break;
    case BATON_NET_TOO_LARGE:
        llm_error_set(e, "LLM.MalformedResponse", 0, "%s", msg);
        break;
    default: llm_error_set(e, "LLM.ConnectionError", 1, "%s", msg); break;
    }
    e->retry_after_ms = 0;
}

void llm_error_from_body_error(const json_t *err, llm_error_t *e) {
    const char *t = str_of(err, "type"), *msg = str_of(err, "message");
    if (is_quota(err))
        llm_error_set(e, "LLM.InsufficientQuota", 0, "%.300s", msg);
    else if (is_content_filter(err))
        llm_error_set(e, "LLM.ContentFilter", 0, "%.300s", msg);
    else if (!strcmp(t, "rate_limit_error") ||
             !strcmp(t, "rate_limit_exceeded"))
        llm_error_set(e, "LLM.RateLimited", 1, "%s: %.300s", t, msg);
    else if (!strcmp(t, "overloaded_error") || !strcmp(t, "api_error") ||
             !strcmp(t, "server_error") || !strcmp(t, "timeout_error"))
        llm_error_set(e, "LLM.ServerError", 1, "%s: %.300s", t, msg);
    else
        llm_error_set(e, "LLM.BadRequest", 0, "%s: %.300s",
                      *t ? t : str_of(err, "code"), msg);
    e->retry_after_ms = 0;
}
