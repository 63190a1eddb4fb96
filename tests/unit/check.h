/*
 * check.h -- the assertion every unit test counts with: CHECK(cond, fmt,
 * ...) counts a pass, or counts a failure and prints "FAIL file:line:" and
 * the printf-style message on stderr.  The test's main() reports `passed`
 * and `failed` and exits non-zero when failed > 0.  One copy per test
 * program (static): include it from the .c file, not from a shared .h.
 */
#ifndef BATON_TEST_CHECK_H
#define BATON_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond, ...)                                         \
    do {                                                         \
        if (cond)                                                \
            passed++;                                            \
        else {                                                   \
            failed++;                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                        \
            fprintf(stderr, "\n");                               \
        }                                                        \
    } while (0)

#endif
