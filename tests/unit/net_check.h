/*
 * net_check.h -- what the network workers' unit tests (test_llm_*.c,
 * test_http_*.c, test_mcp_*.c) share: a CHECK counter and string/JSON
 * comparisons that print what they got.
 */
#ifndef BATON_TESTS_NET_CHECK_H
#define BATON_TESTS_NET_CHECK_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond, what)                                                  \
    do {                                                                   \
        if (cond)                                                          \
            passed++;                                                      \
        else {                                                             \
            failed++;                                                      \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what); \
        }                                                                  \
    } while (0)

/* got equals want (NULL-safe); prints both otherwise. */
#define CHECK_STR(got, want, what)                                            \
    do {                                                                      \
        const char *g_ = (got), *w_ = (want);                                 \
        int ok_ = g_ && w_ ? !strcmp(g_, w_) : g_ == w_;                      \
        if (!ok_)                                                             \
            fprintf(stderr, "  got  '%s'\n  want '%s'\n", g_ ? g_ : "(null)", \
                    w_ ? w_ : "(null)");                                      \
        CHECK(ok_, what);                                                     \
    } while (0)

/* The JSON value v equals the JSON text want (compared as values). */
#define CHECK_JSON(v, want, what)                                             \
    do {                                                                      \
        json_t *w_ = json_loads((want), JSON_DECODE_ANY, NULL);               \
        int ok_ = w_ && (v) && json_equal((v), w_);                           \
        if (!ok_) {                                                           \
            char *g_ = (v) ? json_dumps((v), JSON_COMPACT | JSON_ENCODE_ANY | \
                                                 JSON_SORT_KEYS)              \
                           : NULL;                                            \
            fprintf(stderr, "  got  %s\n  want %s\n", g_ ? g_ : "(null)",     \
                    (want));                                                  \
            free(g_);                                                         \
        }                                                                     \
        json_decref(w_);                                                      \
        CHECK(ok_, what);                                                     \
    } while (0)

static inline int check_report(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
