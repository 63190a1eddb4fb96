/*
 * http_task.c -- the http.request task format of baton-worker-http
 * (docs/agents.md):
 *
 *   {"method": "POST", "url": "https://api.example.com/v1/items",
 *    "headers": {"Authorization": {"secret": "CRM_TOKEN",
 *                                  "prefix": "Bearer "},
 *                "X-Trace": "abc"},
 *    "body": {...} | "text", "timeout_ms": 5000,
 *    "max_response_bytes": 65536, "tag": any}
 *
 * A secret is named, never given: its value comes from the worker's
 * environment, only for names the operator listed in http.secrets, and it
 * is redacted from the result and from errors.  Pure (the secret look-up
 * is a callback).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "baton_common.h"
#include "http.h"

__attribute__((format(printf, 3, 4))) static int
bad(char *errstr, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* 1 when name is one of the comma-separated names of list. */
static int listed(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list ? list : ""; *p;) {
        size_t k = strcspn(p, ",");
        const char *s = p;
        size_t m = k;
        while (m && *s == ' ') s++, m--;
        while (m && s[m - 1] == ' ') m--;
        if (m == n && !strncmp(s, name, n)) return 1;
        p += k;
        if (*p == ',') p++;
    }
    return 0;
}

static int push(char ***arr, size_t *n, char *s) {
    char **p;
    if (!s) return -1;
    if (!(p = baton_realloc(*arr, (*n + 2) * sizeof *p))) {
        baton_free(s);
        return -1;
    }
    p[(*n)++] = s;
    p[*n] = NULL;
    *arr = p;
    return 0;
}

/* "Name: value" into a new string, or NULL. */
static char *header_line(const char *name, const char *prefix,
                         const char *value) {
    size_t n = strlen(name) + strlen(prefix) + strlen(value) + 3;
    char *s = baton_malloc(n);
    if (s) snprintf(s, n, "%s: %s%s", name, prefix, value);
    return s;
}

static int has_header(const http_task_t *t, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < t->nheaders; i++)
        if (!strncasecmp(t->headers[i], name, n) && t->headers[i][n] == ':')
            return 1;
    return 0;
}

static int parse_headers(const json_t *h, const http_limits_t *lim,
                         http_secret_fn secret, void *opaque, http_task_t *t,
                         char *errstr, size_t errlen) {
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)h, name, v) {
        const char *value = json_string_value(v), *prefix = "";
        if (!*name || strpbrk(name, ": \r\n"))
            return bad(errstr, errlen, "header name '%s' is not valid", name);
        if (json_is_object(v)) {
            const char *sname = json_string_value(json_object_get(v, "secret"));
            prefix = json_string_value(json_object_get(v, "prefix"));
            if (!prefix) prefix = "";
            if (!sname)
                return bad(errstr, errlen,
                           "header %s: {\"secret\": NAME} wanted", name);
            if (!listed(lim->secrets, sname))
                return bad(errstr, errlen,
                           "header %s: secret %s is not one this worker "
                           "may use (http.secrets)",
                           name, sname);
            if (!(value = secret(sname, opaque)))
                return bad(errstr, errlen,
                           "header %s: secret %s is not set in the "
                           "worker's environment",
                           name, sname);
            if (push(&t->secret_values, &t->nsecrets, baton_strdup(value)))
                return bad(errstr, errlen, "out of memory");
        } else if (!value) {
            return bad(errstr, errlen,
                       "header %s: a string or {\"secret\": NAME} wanted",
                       name);
        }
        if (strpbrk(value, "\r\n") || strpbrk(prefix, "\r\n"))
            return bad(errstr, errlen, "header %s: a line break in the value",
                       name);
        if (push(&t->headers, &t->nheaders, header_line(name, prefix, value)))
            return bad(errstr, errlen, "out of memory");
    }
    return 0;
}

/* A positive integer field capped at max (0 = absent: max). */
static int limit_field(const json_t *in, const char *k, int64_t max,
                       int64_t *out, char *errstr, size_t errlen) {
    json_t *v = json_object_get(in, k);
    *out = max;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return bad(errstr, errlen, "\"%s\" must be a positive integer", k);
    if (json_integer_value(v) < max) *out = json_integer_value(v);
    return 0;
}

int http_task_parse(const char *input, const http_limits_t *lim,
                    http_secret_fn secret, void *opaque, http_task_t *t,
                    char *errstr, size_t errlen) {
    json_t *in = json_loads(input, 0, NULL), *h, *body;
    const char *m, *url;
    int rc = -1;

    memset(t, 0, sizeof *t);
    if (!json_is_object(in)) {
        bad(errstr, errlen, "the task must be a JSON object");
        goto out;
    }
    if (!(url = json_string_value(json_object_get(in, "url")))) {
        bad(errstr, errlen, "\"url\" (a string) is required");
        goto out;
    }
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) {
        bad(errstr, errlen, "\"url\" must be http:// or https://");
        goto out;
    }
    t->url = baton_strdup(url);
    body = json_object_get(in, "body");
    m = json_string_value(json_object_get(in, "method"));
    if (!m) m = body && !json_is_null(body) ? "POST" : "GET";
    if (strlen(m) >= sizeof t->method ||
        strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(m) || !*m) {
        bad(errstr, errlen, "\"method\" must be an upper-case HTTP method");
        goto out;
    }
    snprintf(t->method, sizeof t->method, "%s", m);
    h = json_object_get(in, "headers");
    if (h && !json_is_null(h)) {
        if (!json_is_object(h)) {
            bad(errstr, errlen, "\"headers\" must be an object");
            goto out;
        }
        if (parse_headers(h, lim, secret, opaque, t, errstr, errlen)) goto out;
    }
    if (body && !json_is_null(body)) {
        if (json_is_string(body)) {
            t->body = baton_strdup(json_string_value(body));
        } else {
            char *s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
            t->body = s ? baton_strdup(s) : NULL;
            free(s);
            if (!has_header(t, "Content-Type") &&
                push(&t->headers, &t->nheaders,
                     baton_strdup("Content-Type: application/json"))) {
                bad(errstr, errlen, "out of memory");
                goto out;
            }
        }
        if (!t->body) {
            bad(errstr, errlen, "out of memory");
            goto out;
        }
        t->body_len = strlen(t->body);
    }
    if (limit_field(in, "timeout_ms", lim->timeout_ms, &t->timeout_ms, errstr,
                    errlen) ||
        limit_field(in, "max_response_bytes", lim->max_body, &t->max_body,
                    errstr, errlen))
        goto out;
    if (json_object_get(in, "tag"))
        t->tag = json_incref(json_object_get(in, "tag"));
    rc = 0;
out:
    json_decref(in);
    if (rc) http_task_clear(t);
    return rc;
}

void http_task_clear(http_task_t *t) {
    for (size_t i = 0; i < t->nheaders; i++) baton_free(t->headers[i]);
    for (size_t i = 0; i < t->nsecrets; i++) {
        memset(t->secret_values[i], 0, strlen(t->secret_values[i]));
        baton_free(t->secret_values[i]);
    }
    baton_free(t->headers);
    baton_free(t->secret_values);
    baton_free(t->url);
    baton_free(t->body);
    json_decref(t->tag);
    memset(t, 0, sizeof *t);
}

char *http_default_header(const http_task_t *t, const char *name,
                          const char *value) {
    if (!value || !*value || has_header(t, name)) return NULL;
    return header_line(name, "", value);
}
