/*
 * baton_common.c -- errors, allocation wrapper, clock, murmur2, logging and
 * small parsing helpers shared by every Baton binary (see baton_common.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "baton_common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- errors ----------------------------------------------------------- */

const char *baton_err2str(baton_err_t err) {
    switch (err) {
    case BATON_OK: return "ok";
    case BATON_ERR_INVALID: return "invalid input";
    case BATON_ERR_NOMEM: return "out of memory";
    case BATON_ERR_IO: return "I/O error";
    case BATON_ERR_KAFKA: return "Kafka error";
    case BATON_ERR_REDIS: return "Redis error";
    case BATON_ERR_CONFIG: return "configuration error";
    case BATON_ERR_NOTFOUND: return "not found";
    case BATON_ERR_FENCED: return "partition no longer owned";
    case BATON_ERR_TOOBIG: return "payload too large";
    }
    return "unknown error";
}

baton_err_t baton_seterr(char *errstr, size_t errlen, baton_err_t err,
                         const char *fmt, ...) {
    if (errstr && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errlen, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* ---- allocation ------------------------------------------------------- */

/* Countdown to the injected failure; < 0 = no injection.  Only tests set it. */
static long alloc_fail_countdown = -1;

static int alloc_should_fail(void) {
    if (alloc_fail_countdown < 0) return 0;
    if (alloc_fail_countdown == 0) return 1;
    alloc_fail_countdown--;
    return 0;
}

void baton_alloc_fail_after(long n) {
    alloc_fail_countdown = n;
}

void *baton_malloc(size_t size) {
    if (alloc_should_fail()) return NULL;
    return malloc(size ? size : 1);
}

void *baton_calloc(size_t n, size_t size) {
    if (alloc_should_fail()) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *baton_realloc(void *p, size_t size) {
    if (alloc_should_fail()) return NULL;
    return realloc(p, size ? size : 1);
}

int baton_buf_append(baton_buf_t *b, const char *data, size_t size) {
    if (b->n + size + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->n + size + 1) cap *= 2;
        if (!(p = baton_realloc(b->p, cap))) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, size);
    b->n += size;
    b->p[b->n] = '\0';
    return 0;
}

char *baton_strndup(const char *s, size_t n) {
    char *d;
    if (!s) return NULL;
    d = baton_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *baton_strdup(const char *s) {
    return s ? baton_strndup(s, strlen(s)) : NULL;
}

void baton_free(void *p) {
    free(p);
}

/* ---- clock ------------------------------------------------------------ */

int64_t baton_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t baton_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- partitioning ----------------------------------------------------- */

/* murmur2 exactly as org.apache.kafka.common.utils.Utils.murmur2. */
uint32_t baton_murmur2(const void *key, size_t len) {
    const uint32_t seed = 0x9747b28c, m = 0x5bd1e995;
    const int r = 24;
    const unsigned char *data = key;
    uint32_t h = seed ^ (uint32_t)len;
    size_t len4 = len / 4;

    for (size_t i = 0; i < len4; i++) {
        size_t i4 = i * 4;
        uint32_t k = (uint32_t)data[i4] | ((uint32_t)data[i4 + 1] << 8) |
                     ((uint32_t)data[i4 + 2] << 16) |
                     ((uint32_t)data[i4 + 3] << 24);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len % 4) {
    case 3: h ^= (uint32_t)data[(len & ~3u) + 2] << 16; /* fall through */
    case 2: h ^= (uint32_t)data[(len & ~3u) + 1] << 8;  /* fall through */
    case 1: h ^= (uint32_t)data[len & ~3u]; h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

int32_t baton_partition_for(const char *workflow_id, int32_t partition_cnt) {
    if (partition_cnt <= 0) return 0;
    return (int32_t)((baton_murmur2(workflow_id, strlen(workflow_id)) &
                      0x7fffffff) %
                     (uint32_t)partition_cnt);
}

/* ---- logging ---------------------------------------------------------- */

static baton_log_level_t log_level = BATON_LOG_INFO;
static char log_debug_ctx[256];
static const char *log_program = "baton";

baton_err_t baton_log_configure(const char *level, const char *debug_ctx) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (level && *level) {
        size_t i;
        for (i = 0; i < BATON_ARRAY_SIZE(names); i++)
            if (!strcmp(level, names[i])) break;
        if (i == BATON_ARRAY_SIZE(names)) return BATON_ERR_CONFIG;
        log_level = (baton_log_level_t)i;
    }
    if (debug_ctx) {
        snprintf(log_debug_ctx, sizeof log_debug_ctx, "%s", debug_ctx);
        if (*debug_ctx) log_level = BATON_LOG_DEBUG;
    }
    return BATON_OK;
}

void baton_log_set_program(const char *name) {
    log_program = name;
}

/* Debug lines need their subsystem named in log.debug (or "all"), unless
 * no context list was given at all. */
int baton_log_enabled(baton_log_level_t lvl, const char *subsys) {
    const char *p;
    size_t n;
    if (lvl > log_level) return 0;
    if (lvl < BATON_LOG_DEBUG || !log_debug_ctx[0]) return 1;
    if (strstr(log_debug_ctx, "all")) return 1;
    n = strlen(subsys);
    for (p = log_debug_ctx; (p = strstr(p, subsys)); p += n)
        if ((p == log_debug_ctx || p[-1] == ',') && (p[n] == ',' || !p[n]))
            return 1;
    return 0;
}

void baton_log_write(baton_log_level_t lvl, const char *subsys, const char *fmt,
                     ...) {
    static const char *tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    int n;
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(
        line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s [%s] ",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec, ts.tv_nsec / 1000000, log_program, tags[lvl], subsys);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

/* ---- small helpers ---------------------------------------------------- */

int baton_parse_i64(const char *s, int64_t *out) {
    char *end;
    long long v;
    if (!s || !*s) return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

char *baton_read_file(const char *path, size_t *len_out, char *errstr,
                      size_t errlen) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, len = 0;

    if (!f) {
        baton_seterr(errstr, errlen, BATON_ERR_IO, "%s: %s", path,
                     strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t n;
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nbuf = baton_realloc(buf, ncap);
            if (!nbuf) {
                baton_free(buf);
                fclose(f);
                baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                             "%s: out of memory", path);
                return NULL;
            }
            buf = nbuf;
            cap = ncap;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) break;
    }
    if (ferror(f)) {
        baton_seterr(errstr, errlen, BATON_ERR_IO, "%s: read error", path);
        baton_free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[len] = '\0';
    if (len_out) *len_out = len;
    return buf;
}
