/*
 * test_llm_error.c -- error classification of the network workers: the
 * status table (activities/net/net_error.c), the retry hint from
 * retry-after / retry-after-ms / x-ratelimit-reset-*, what the LLM worker
 * adds from error bodies (llm_error.c: insufficient_quota, content
 * filters, stream error events), transport failures, and redaction.
 */
#include "baton_common.h"
#include "llm.h"
#include "net_check.h"

static json_t *hdrs(const char *json) {
    return json_loads(json, 0, NULL);
}

static void test_kinds(void) {
    static const struct {
        long status;
        baton_net_kind_t kind;
        int retryable;
        const char *name;
    } t[] = {
        {200, BATON_NET_OK, 0, ""},
        {302, BATON_NET_OK, 0, ""},
        {400, BATON_NET_CLIENT, 0, "BadRequest"},
        {401, BATON_NET_UNAUTHORIZED, 0, "Unauthorized"},
        {403, BATON_NET_UNAUTHORIZED, 0, "Unauthorized"},
        {404, BATON_NET_CLIENT, 0, "BadRequest"},
        {408, BATON_NET_TIMEOUT, 1, "Timeout"},
        {409, BATON_NET_CONFLICT, 1, "Conflict"},
        {422, BATON_NET_CLIENT, 0, "BadRequest"},
        {429, BATON_NET_RATE_LIMITED, 1, "RateLimited"},
        {500, BATON_NET_SERVER, 1, "ServerError"},
        {503, BATON_NET_SERVER, 1, "ServerError"},
        {529, BATON_NET_SERVER, 1, "ServerError"},
        {600, BATON_NET_CLIENT, 0, "BadRequest"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char what[64];
        baton_net_kind_t k = baton_net_kind_of_status(t[i].status);
        snprintf(what, sizeof what, "status %ld", t[i].status);
        CHECK(k == t[i].kind, what);
        CHECK(baton_net_kind_retryable(k) == t[i].retryable, what);
        CHECK_STR(baton_net_kind_name(k), t[i].name, what);
    }
    CHECK(baton_net_kind_retryable(BATON_NET_CONNECTION), "connection errors");
}

static void test_hints(void) {
    static const struct {
        const char *headers;
        int64_t want;
    } t[] = {
        {"{}", 0},
        {"{\"retry-after\": \"3\"}", 3000},
        {"{\"retry-after\": \"1.5\"}", 1500},
        {"{\"retry-after-ms\": \"250\"}", 250},
        {"{\"x-ratelimit-reset-requests\": \"6m0s\"}", 360000},
        {"{\"x-ratelimit-reset-tokens\": \"20ms\"}", 20},
        {"{\"x-ratelimit-reset-tokens\": \"1.5s\"}", 1500},
        {"{\"x-ratelimit-reset-requests\": \"1h2m3s\"}", 3723000},
        {"{\"retry-after\": \"2\", \"retry-after-ms\": \"2500\", "
         "\"x-ratelimit-reset-requests\": \"1s\"}",
         2500},
        {"{\"retry-after\": \"soon\", \"retry-after-ms\": \"x\"}", 0},
        {"{\"x-ratelimit-reset-requests\": \"5 parsecs\"}", 0},
        {"{\"retry-after\": \"-3\"}", 0},
        {"{\"retry-after\": \"999999999\"}", 24LL * 3600 * 1000},
        {"{\"x-ratelimit-limit-requests\": \"60\"}", 0},
        {"{\"retry-after\": \"Wed, 21 Oct 2015 07:28:10 GMT\"}", 10000},
        {"{\"retry-after\": \"Wed, 21 Oct 2015 07:27:00 GMT\"}", 0},
    };
    int64_t now = 1445412480000LL; /* 2015-10-21T07:28:00Z */
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        json_t *h = hdrs(t[i].headers);
        int64_t got = baton_net_retry_hint_ms(h, now);
        if (got != t[i].want)
            fprintf(stderr, "  %s: got %lld\n", t[i].headers, (long long)got);
        CHECK(got == t[i].want, t[i].headers);
        json_decref(h);
    }
    CHECK(baton_net_parse_duration_ms("") == -1, "empty duration");
    CHECK(baton_net_parse_duration_ms("7") == 7000, "bare seconds");
}

static void test_http_bodies(void) {
    llm_error_t e;
    json_t *h = hdrs("{\"retry-after\": \"2\"}"), *none = hdrs("{}");
    memset(&e, 0, sizeof e);
    llm_error_from_http(
        429, h,
        "{\"error\": {\"message\": \"You exceeded your quota\", "
        "\"type\": \"insufficient_quota\", \"code\": "
        "\"insufficient_quota\"}}",
        0, &e);
    CHECK_STR(e.name, "LLM.InsufficientQuota", "quota 429");
    CHECK(!e.retryable && e.retry_after_ms == 0, "quota is final, no hint");
    llm_error_from_http(429, h,
                        "{\"error\": {\"message\": \"Rate limit reached\", "
                        "\"type\": \"requests\", \"code\": "
                        "\"rate_limit_exceeded\"}}",
                        0, &e);
    CHECK_STR(e.name, "LLM.RateLimited", "rate limit 429");
    CHECK(e.retryable && e.retry_after_ms == 2000, "retryable with the hint");
    CHECK(strstr(e.cause, "Rate limit reached") != NULL,
          "the provider's message is quoted");
    llm_error_from_http(400, none,
                        "{\"error\": {\"message\": \"flagged\", \"code\": "
                        "\"content_policy_violation\"}}",
                        0, &e);
    CHECK_STR(e.name, "LLM.ContentFilter", "content policy 400");
    CHECK(!e.retryable, "content filter is final");
    llm_error_from_http(400, none,
                        "{\"type\": \"error\", \"error\": {\"type\": "
                        "\"invalid_request_error\", \"message\": \"bad\"}}",
                        0, &e);
    CHECK_STR(e.name, "LLM.BadRequest", "Anthropic 400");
    llm_error_from_http(529, h,
                        "{\"type\": \"error\", \"error\": {\"type\": "
                        "\"overloaded_error\", \"message\": \"Overloaded\"}}",
                        0, &e);
    CHECK_STR(e.name, "LLM.ServerError", "Anthropic 529");
    CHECK(e.retryable && e.retry_after_ms == 2000, "529 retryable, hint");
    llm_error_from_http(401, h, "not json at all", 0, &e);
    CHECK_STR(e.name, "LLM.Unauthorized", "401");
    CHECK(!e.retryable && e.retry_after_ms == 0, "401 final");
    llm_error_from_http(408, none, NULL, 0, &e);
    CHECK_STR(e.name, "LLM.Timeout", "408");
    llm_error_from_http(409, none, "", 0, &e);
    CHECK_STR(e.name, "LLM.Conflict", "409");
    CHECK(e.retryable, "409 retryable");
    llm_error_from_http(200, none, "{oops", 0, &e);
    CHECK_STR(e.name, "LLM.MalformedResponse", "200 that is not a reply");
    CHECK(e.retryable, "malformed replies are retried");
    json_decref(h);
    json_decref(none);
}

static void test_transport_and_bodies(void) {
    llm_error_t e;
    json_t *err;
    llm_error_from_transport(BATON_NET_FAILED_TIMEOUT, "POST x: timed out", &e);
    CHECK_STR(e.name, "LLM.Timeout", "transport time-out");
    CHECK(e.retryable, "time-outs are retryable");
    llm_error_from_transport(BATON_NET_FAILED_CONNECT, "refused", &e);
    CHECK_STR(e.name, "LLM.ConnectionError", "connection refused");
    CHECK(e.retryable, "connection errors are retryable");
    err = json_loads("{\"type\": \"overloaded_error\", \"message\": \"o\"}", 0,
                     NULL);
    llm_error_from_body_error(err, &e);
    CHECK_STR(e.name, "LLM.ServerError", "stream error event: overloaded");
    json_decref(err);
    err = json_loads("{\"type\": \"rate_limit_error\"}", 0, NULL);
    llm_error_from_body_error(err, &e);
    CHECK_STR(e.name, "LLM.RateLimited", "stream error event: rate limit");
    json_decref(err);
    err = json_loads("{\"type\": \"invalid_request_error\"}", 0, NULL);
    llm_error_from_body_error(err, &e);
    CHECK_STR(e.name, "LLM.BadRequest", "stream error event: bad request");
    CHECK(!e.retryable, "final");
    json_decref(err);
}

static void test_redact(void) {
    char *s = baton_net_redact("key sk-123 and sk-123!", "sk-123");
    CHECK_STR(s, "key [redacted] and [redacted]!", "every occurrence");
    baton_free(s);
    s = baton_net_redact("nothing", "");
    CHECK_STR(s, "nothing", "an empty secret changes nothing");
    baton_free(s);
}

int main(void) {
    baton_log_configure("error", "");
    test_kinds();
    test_hints();
    test_http_bodies();
    test_transport_and_bodies();
    test_redact();
    return check_report();
}
