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

#define KEYS_PREFIX "baton:{p"

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

const char *baton_keys_wf(char *buf, size_t len, int32_t p, const char *id) {
    return keys_fmt(buf, len, KEYS_PREFIX "%d}:wf:%s", (int)p, id);
}

const char *baton_keys_hist(char *buf, size_t len, int32_t p,
                            const char *id) {
    return keys_fmt(buf, len, KEYS_PREFIX "%d}:hist:%s", (int)p, id);
}

const char *baton_keys_offsets(char *buf, size_t len, int32_t p) {
    return keys_fmt(buf, len, KEYS_PREFIX "%d}:offsets", (int)p);
}

const char *baton_keys_outbox(char *buf, size_t len, int32_t p) {
    return keys_fmt(buf, len, KEYS_PREFIX "%d}:outbox", (int)p);
}

const char *baton_keys_timers(char *buf, size_t len, int32_t p) {
    return keys_fmt(buf, len, KEYS_PREFIX "%d}:timers", (int)p);
}

const char *baton_keys_epoch(char *buf, size_t len, int32_t p) {
    return keys_fmt(buf, len, KEYS_PREFIX "%d}:epoch", (int)p);
}

const char *baton_keys_dedupe(char *buf, size_t len, int32_t p,
                              const char *id, const char *dd) {
    return keys_fmt(buf, len, KEYS_PREFIX "%d}:dd:%zu:%s:%s", (int)p,
                    strlen(id), id, dd);
}

const char *baton_keys_def(char *buf, size_t len, const char *name,
                           const char *ver) {
    return keys_fmt(buf, len, "baton:defs:%s:%s", name, ver);
}

/* "baton:{p*}:<what>:<escaped prefix>*" into buf. */
static const char *keys_pattern(char *buf, size_t len, const char *what,
                                const char *id_prefix) {
    size_t n;
    if (!keys_fmt(buf, len, KEYS_PREFIX "*}:%s:", what)) return NULL;
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

const char *baton_keys_wf_pattern(char *buf, size_t len,
                                  const char *id_prefix) {
    return keys_pattern(buf, len, "wf", id_prefix);
}

const char *baton_keys_hist_pattern(char *buf, size_t len,
                                    const char *id_prefix) {
    return keys_pattern(buf, len, "hist", id_prefix);
}

int baton_keys_parse_wf(const char *key, int32_t *p, const char **id) {
    const char *s = key + strlen(KEYS_PREFIX), *digits = s;
    long part;
    if (strncmp(key, KEYS_PREFIX, strlen(KEYS_PREFIX)) ||
        !isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s)) s++;
    if (s - digits > 9 || strncmp(s, "}:wf:", 5) || !s[5]) return 0;
    part = strtol(digits, NULL, 10);
    if (p) *p = (int32_t)part;
    if (id) *id = s + 5;
    return 1;
}
