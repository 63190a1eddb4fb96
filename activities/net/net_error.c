/*
 * net_error.c -- what a failed HTTP call means for a retry: the kind of a
 * status, whether it is retryable, and the retry hint a server sends in
 * its headers (retry-after, retry-after-ms, x-ratelimit-reset-*).  Pure:
 * the table is in net.h and docs/agents.md.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "baton_common.h"
#include "net.h"

#define HINT_CAP_MS (24LL * 3600 * 1000)

baton_net_kind_t baton_net_kind_of_status(long status) {
    if (status < 400) return BATON_NET_OK;
    if (status == 408) return BATON_NET_TIMEOUT;
    if (status == 409) return BATON_NET_CONFLICT;
    if (status == 429) return BATON_NET_RATE_LIMITED;
    if (status == 401 || status == 403) return BATON_NET_UNAUTHORIZED;
    if (status >= 500 && status <= 599) return BATON_NET_SERVER;
    return BATON_NET_CLIENT;
}

int baton_net_kind_retryable(baton_net_kind_t k) {
    switch (k) {
    case BATON_NET_TIMEOUT:
    case BATON_NET_CONFLICT:
    case BATON_NET_RATE_LIMITED:
    case BATON_NET_SERVER:
    case BATON_NET_CONNECTION: return 1;
    default: return 0;
    }
}

const char *baton_net_kind_name(baton_net_kind_t k) {
    switch (k) {
    case BATON_NET_OK: return "";
    case BATON_NET_TIMEOUT: return "Timeout";
    case BATON_NET_CONFLICT: return "Conflict";
    case BATON_NET_RATE_LIMITED: return "RateLimited";
    case BATON_NET_SERVER: return "ServerError";
    case BATON_NET_CONNECTION: return "ConnectionError";
    case BATON_NET_UNAUTHORIZED: return "Unauthorized";
    case BATON_NET_CLIENT: return "BadRequest";
    }
    return "BadRequest";
}

int64_t baton_net_parse_duration_ms(const char *s) {
    double total = 0;
    int any = 0;
    char *end;
    if (!s) return -1;
    while (*s == ' ') s++;
    if (!*s) return -1;
    while (*s) {
        double v = strtod(s, &end);
        if (end == s || v < 0) return -1;
        s = end;
        any = 1;
        if (!*s || *s == ' ')
            total += v * 1000; /* bare seconds */
        else if (!strncmp(s, "ms", 2))
            total += v, s += 2;
        else if (*s == 's')
            total += v * 1000, s++;
        else if (*s == 'm')
            total += v * 60000, s++;
        else if (*s == 'h')
            total += v * 3600000, s++;
        else
            return -1;
        while (*s == ' ') s++;
    }
    if (!any || total > 1e15) return -1;
    return (int64_t)(total + 0.5);
}

/* Seconds, or an HTTP date (RFC 9110 IMF-fixdate) against now_ms. */
static int64_t retry_after_ms(const char *v, int64_t now_ms) {
    char *end;
    double secs;
    struct tm tm;
    if (!v) return -1;
    secs = strtod(v, &end);
    if (end != v && (*end == '\0' || *end == ' ') && secs >= 0)
        return (int64_t)(secs * 1000 + 0.5);
    memset(&tm, 0, sizeof tm);
    if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
        int64_t at = (int64_t)timegm(&tm) * 1000;
        return at > now_ms ? at - now_ms : 0;
    }
    return -1;
}

int64_t baton_net_retry_hint_ms(const json_t *headers, int64_t now_ms) {
    const char *name;
    json_t *v;
    int64_t best = 0, ms;
    json_object_foreach((json_t *)headers, name, v) {
        const char *s = json_string_value(v);
        if (!s) continue;
        if (!strcmp(name, "retry-after-ms")) {
            char *end;
            double d = strtod(s, &end);
            ms = end != s && d >= 0 ? (int64_t)(d + 0.5) : -1;
        } else if (!strcmp(name, "retry-after")) {
            ms = retry_after_ms(s, now_ms);
        } else if (!strncmp(name, "x-ratelimit-reset-", 18)) {
            ms = baton_net_parse_duration_ms(s);
        } else {
            continue;
        }
        if (ms > best) best = ms;
    }
    return best > HINT_CAP_MS ? HINT_CAP_MS : best;
}

char *baton_net_redact(const char *s, const char *secret) {
    size_t sl, n = 0, out_len;
    const char *p;
    char *out, *o;
    static const char mark[] = "[redacted]";
    if (!s) return NULL;
    if (!secret || !*secret) return baton_strdup(s);
    sl = strlen(secret);
    for (p = s; (p = strstr(p, secret)); p += sl) n++;
    out_len = strlen(s) - n * sl + n * (sizeof mark - 1);
    if (!(out = o = baton_malloc(out_len + 1))) return NULL;
    for (p = s;;) {
        const char *q = strstr(p, secret);
        size_t k = q ? (size_t)(q - p) : strlen(p);
        memcpy(o, p, k);
        o += k;
        if (!q) break;
        memcpy(o, mark, sizeof mark - 1);
        o += sizeof mark - 1;
        p = q + sl;
    }
    *o = '\0';
    return out;
}
