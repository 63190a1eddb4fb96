/*
 * keys.c -- formatting and matching the Redis key names of keys.h (the
 * layout table is there).
 */
#include "keys.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every key but the definitions': "<ns>:{p<N>}:..." */
#define KEYS_PART "%s:{p%d}"

int baton_keys_ns_valid(const char *ns) {
    size_t n = ns ? strlen(ns) : 0;
    if (n < 1 || n > BATON_KEYS_NS_MAX) return 0;
    for (; *ns; ns++)
        if (!isalnum((unsigned char)*ns) && !strchr("._-", *ns)) return 0;
    return 1;
}

static const char *keys_fmt(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *keys_fmt(char *buf, size_t len, const char *fmt, ...) {
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= len ? NULL : buf;
}

const char *baton_keys_wf(char *buf, size_t len, const char *ns, int32_t p,
                          const char *id) {
    return keys_fmt(buf, len, KEYS_PART ":wf:%s", ns, (int)p, id);
}

const char *baton_keys_hist(char *buf, size_t len, const char *ns, int32_t p,
                            const char *id) {
    return keys_fmt(buf, len, KEYS_PART ":hist:%s", ns, (int)p, id);
}

const char *baton_keys_offsets(char *buf, size_t len, const char *ns,
                               int32_t p) {
    return keys_fmt(buf, len, KEYS_PART ":offsets", ns, (int)p);
}

const char *baton_keys_outbox(char *buf, size_t len, const char *ns,
                              int32_t p) {
    return keys_fmt(buf, len, KEYS_PART ":outbox", ns, (int)p);
}

const char *baton_keys_timers(char *buf, size_t len, const char *ns,
                              int32_t p) {
    return keys_fmt(buf, len, KEYS_PART ":timers", ns, (int)p);
}

const char *baton_keys_epoch(char *buf, size_t len, const char *ns, int32_t p) {
    return keys_fmt(buf, len, KEYS_PART ":epoch", ns, (int)p);
}

const char *baton_keys_dedupe(char *buf, size_t len, const char *ns, int32_t p,
                              const char *id, const char *dd) {
    return keys_fmt(buf, len, KEYS_PART ":dd:%zu:%s:%s", ns, (int)p, strlen(id),
                    id, dd);
}

const char *baton_keys_def(char *buf, size_t len, const char *ns,
                           const char *name, const char *ver) {
    return keys_fmt(buf, len, "%s:defs:%s:%s", ns, name, ver);
}

/* "baton:{p*}:<what>:<escaped prefix>*" into buf. */
static const char *keys_pattern(char *buf, size_t len, const char *ns,
                                const char *what, const char *id_prefix) {
    size_t n;
    if (!keys_fmt(buf, len, "%s:{p*}:%s:", ns, what)) return NULL;
    n = strlen(buf);
    for (const char *s = id_prefix ? id_prefix : ""; *s; s++) {
        int special = strchr("*?[]\\", *s) != NULL;
        if (n + (size_t)special + 1 >= len) return NULL;
        if (special) buf[n++] = '\\';
        buf[n++] = *s;
    }
    if (n + 2 > len) return NULL;
    buf[n++] = '*';
    buf[n] = '\0';
    return buf;
}

const char *baton_keys_wf_pattern(char *buf, size_t len, const char *ns,
                                  const char *id_prefix) {
    return keys_pattern(buf, len, ns, "wf", id_prefix);
}

const char *baton_keys_hist_pattern(char *buf, size_t len, const char *ns,
                                    const char *id_prefix) {
    return keys_pattern(buf, len, ns, "hist", id_prefix);
}

int baton_keys_parse_wf(const char *key, const char *ns, int32_t *p,
                        const char **id) {
    size_t nl = strlen(ns);
    const char *s = key + nl + 3, *digits = s;
    long part;
    if (strncmp(key, ns, nl) || strncmp(key + nl, ":{p", 3) ||
        !isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s)) s++;
    if (s - digits > 9 || strncmp(s, "}:wf:", 5) || !s[5]) return 0;
    part = strtol(digits, NULL, 10);
    if (p) *p = (int32_t)part;
    if (id) *id = s + 5;
    return 1;
}

const char *baton_keys_ratelimit(char *buf, size_t len, const char *ns,
                                 const char *scope, const char *which) {
    return keys_fmt(buf, len, "%s:rl:{%s}:%s", ns, scope, which);
}

const char *baton_keys_stream(char *buf, size_t len, const char *ns,
                              const char *workflow_id, const char *seq) {
    return keys_fmt(buf, len, "%s:stream:{%s}:%s", ns, workflow_id, seq);
}

const char *baton_keys_stream_index(char *buf, size_t len, const char *ns,
                                    const char *workflow_id) {
    return keys_fmt(buf, len, "%s:stream:{%s}", ns, workflow_id);
}

const char *baton_keys_blob(char *buf, size_t len, const char *ns, int32_t p,
                            const char *hex) {
    return keys_fmt(buf, len, KEYS_PART ":blob:%s", ns, (int)p, hex);
}

const char *baton_keys_blob_refs(char *buf, size_t len, const char *ns,
                                 int32_t p) {
    return keys_fmt(buf, len, KEYS_PART ":blobrc", ns, (int)p);
}

const char *baton_keys_blob_set(char *buf, size_t len, const char *ns,
                                int32_t p, const char *id) {
    return keys_fmt(buf, len, KEYS_PART ":blobs:%s", ns, (int)p, id);
}
