/*
 * baton_common.h -- the small things every Baton binary shares.
 *
 * Error codes (one enum, 0 = OK, baton_err2str), the allocation wrapper that
 * lets tests fail the N-th allocation, the clock, murmur2 partitioning as
 * Kafka's Java client does it, and the level-gated log macro with
 * per-subsystem debug contexts.  Nothing here keeps state beyond the log
 * level and the allocation-failure counter, both set from configuration.
 */
#ifndef BATON_COMMON_H
#define BATON_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ----------------------------------------------------------- */

typedef enum baton_err {
    BATON_OK = 0,
    BATON_ERR_INVALID,  /* bad input: undecodable, fails validation */
    BATON_ERR_NOMEM,    /* allocation failed */
    BATON_ERR_IO,       /* file or socket error */
    BATON_ERR_KAFKA,    /* Kafka client error (retriable unless fatal) */
    BATON_ERR_REDIS,    /* Redis error or connection loss (retriable) */
    BATON_ERR_CONFIG,   /* wrong configuration */
    BATON_ERR_NOTFOUND, /* a workflow, definition or key that is not there */
    BATON_ERR_FENCED,   /* this instance no longer owns the partition */
    BATON_ERR_TOOBIG,   /* payload over the configured limit */
} baton_err_t;

/* Returns a static, human-readable name of an error code. */
const char *baton_err2str(baton_err_t err);

/* Formats into errstr (always NUL-terminated) and returns err: lets a
 * function say `return baton_seterr(errstr, len, BATON_ERR_INVALID, ...)`. */
baton_err_t baton_seterr(char *errstr, size_t errlen, baton_err_t err,
                         const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- allocation ------------------------------------------------------- */

/* Every allocation of Baton's own code goes through these.  They return
 * NULL on failure like malloc (never abort), so callers handle it.
 * baton_alloc_fail_after(n) makes the n-th following allocation (and all
 * later ones) fail, for out-of-memory tests; n < 0 turns that off. */
void *baton_malloc(size_t size);
void *baton_calloc(size_t n, size_t size);
void *baton_realloc(void *p, size_t size);
char *baton_strdup(const char *s);
char *baton_strndup(const char *s, size_t n);
void baton_free(void *p);

/* A growing, NUL-terminated byte buffer in baton_malloc memory (p is
 * NULL until the first append; the caller frees it with baton_free). */
typedef struct baton_buf {
    char *p;
    size_t n, cap;
} baton_buf_t;

/* Appends size bytes of data to b.  0 ok, -1 out of memory (b unchanged). */
int baton_buf_append(baton_buf_t *b, const char *data, size_t size);
void baton_alloc_fail_after(long n);

/* ---- clock ------------------------------------------------------------ */

int64_t baton_now_ms(void); /* wall clock, ms since the epoch */
/* t + d in ms, saturated at INT64_MIN / INT64_MAX instead of overflowing:
 * every deadline is computed with it, so no input can wrap a clock. */
static inline int64_t baton_time_add(int64_t t, int64_t d) {
    if (d > 0 && t > INT64_MAX - d) return INT64_MAX;
    if (d < 0 && t < INT64_MIN - d) return INT64_MIN;
    return t + d;
}
int64_t baton_mono_us(void); /* monotonic clock, microseconds */

/* ---- partitioning ----------------------------------------------------- */

/* Kafka's Java default partitioner: murmur2(key) & 0x7fffffff % n. */
uint32_t baton_murmur2(const void *key, size_t len);
int32_t baton_partition_for(const char *workflow_id, int32_t partition_cnt);

/* ---- logging ---------------------------------------------------------- */

typedef enum {
    BATON_LOG_ERROR = 0,
    BATON_LOG_WARN,
    BATON_LOG_INFO,
    BATON_LOG_DEBUG,
} baton_log_level_t;

/* Sets the level ("error", "warn", "info", "debug") and the debug contexts
 * (comma-separated subsystems such as "loop,redis", or "all").  Returns
 * BATON_ERR_CONFIG for an unknown level. */
baton_err_t baton_log_configure(const char *level, const char *debug_ctx);
void baton_log_set_program(const char *name);
int baton_log_enabled(baton_log_level_t lvl, const char *subsys);
void baton_log_write(baton_log_level_t lvl, const char *subsys, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));

/* Diagnostics go to stderr, one line each, prefixed by time, program,
 * level and subsystem.  Debug lines only for enabled subsystems. */
#define baton_log(lvl, subsys, ...)                        \
    do {                                                   \
        if (baton_log_enabled((lvl), (subsys)))            \
            baton_log_write((lvl), (subsys), __VA_ARGS__); \
    } while (0)
#define BATON_ERROR(subsys, ...) baton_log(BATON_LOG_ERROR, subsys, __VA_ARGS__)
#define BATON_WARN(subsys, ...) baton_log(BATON_LOG_WARN, subsys, __VA_ARGS__)
#define BATON_INFO(subsys, ...) baton_log(BATON_LOG_INFO, subsys, __VA_ARGS__)
#define BATON_DEBUG(subsys, ...) baton_log(BATON_LOG_DEBUG, subsys, __VA_ARGS__)

/* ---- small helpers ---------------------------------------------------- */

/* Parses a whole decimal integer; returns 0 and sets *out, or -1. */
int baton_parse_i64(const char *s, int64_t *out);

/* Reads a whole file into a NUL-terminated buffer owned by the caller
 * (baton_free).  Returns NULL and fills errstr on failure. */
char *baton_read_file(const char *path, size_t *len_out, char *errstr,
                      size_t errlen);

#define BATON_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* BATON_COMMON_H */
