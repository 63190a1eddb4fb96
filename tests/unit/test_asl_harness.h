/*
 * test_asl_harness.h -- the small test harness shared by the ASL test
 * programs (tests/unit/test_asl_*.c): CHECK macros, a pool of JSON values
 * and definitions released after each test, LOAD/REFUSE of definitions,
 * run(), and CHECK_EXPR for intrinsic functions evaluated in a payload
 * template.  Header-only (each test program is one translation unit);
 * used by test_asl.c, test_asl_conformance.c, test_asl_ext.c.
 */
#ifndef BATON_TEST_ASL_HARNESS_H
#define BATON_TEST_ASL_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl.h"
#include "dataflow.h"
#include "intrinsic.h"
#include "path.h"

/* ---- harness --------------------------------------------------------- */

static __attribute__((unused)) int n_passed, n_failed, cur_failed;
static __attribute__((unused)) const char *cur_test;

static __attribute__((unused)) void fail_at(int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "FAIL %s (line %d): ", cur_test, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cur_failed = 1;
}

#define CHECK(cond, ...)                             \
    do {                                             \
        if (!(cond)) fail_at(__LINE__, __VA_ARGS__); \
    } while (0)

/* JSON values made by a test, released after it. */
static __attribute__((unused)) json_t *pool[512];
static __attribute__((unused)) size_t pool_n;
static __attribute__((unused)) baton_asl_def_t *defs[64];
static __attribute__((unused)) size_t defs_n;

static __attribute__((unused)) void pool_release(void) {
    while (pool_n) json_decref(pool[--pool_n]);
    while (defs_n) baton_asl_def_destroy(defs[--defs_n]);
}

#define RUN(fn)         \
    do {                \
        cur_test = #fn; \
        cur_failed = 0; \
        fn();           \
        pool_release(); \
        if (cur_failed) \
            n_failed++; \
        else            \
            n_passed++; \
    } while (0)

/* Parses JSON text (any value); kept in the pool. */
static __attribute__((unused)) json_t *J(const char *text) {
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v) {
        fprintf(stderr, "test bug: bad JSON %s: %s\n", text, e.text);
        exit(2);
    }
    pool[pool_n++] = v;
    return v;
}

/* Keeps a value made elsewhere (stolen) in the pool; returns it. */
static __attribute__((unused)) json_t *keep(json_t *v) {
    if (v) pool[pool_n++] = v;
    return v;
}

/* Compares v with the JSON text `want`, reporting both on a mismatch. */
#define CHECK_JSON(v, want) check_json(__LINE__, (v), (want))
static __attribute__((unused)) void check_json(int line, json_t *v,
                                               const char *want) {
    json_t *w = J(want);
    if (!v || !json_equal(v, w)) {
        char *got = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        fail_at(line, "got %s, want %s", got ? got : "NULL", want);
        free(got);
    }
}

#define CHECK_STR(got, want) check_str(__LINE__, (got), (want))
static __attribute__((unused)) void check_str(int line, const char *got,
                                              const char *want) {
    if (!got || strcmp(got, want))
        fail_at(line, "got \"%s\", want \"%s\"", got ? got : "(null)", want);
}

/* Context of the tests: fixed times and seed. */
static __attribute__((unused)) baton_asl_ctx_t ctx_make(uint64_t seed) {
    baton_asl_ctx_t c;
    memset(&c, 0, sizeof(c));
    c.workflow_id = "wf-1";
    c.workflow_type = "demo";
    c.start_time_ms = 1700000000000LL;
    c.now_ms = 1700000001000LL; /* 2023-11-14T22:13:21Z */
    c.retry_count = 0;
    c.seed = seed;
    return c;
}

/* Parses a definition that must be valid; NULL (and a failure) if not. */
#define LOAD(text) load(__LINE__, (text))
static __attribute__((unused)) baton_asl_def_t *load(int line,
                                                     const char *text) {
    char err[512] = "";
    baton_asl_def_t *def = NULL;
    if (baton_asl_def_parse("test", text, &def, err, sizeof(err)) != BATON_OK) {
        fail_at(line, "definition refused: %s", err);
        return NULL;
    }
    defs[defs_n++] = def;
    return def;
}

/* Parses a definition that must be refused with a message containing
 * `want`. */
#define REFUSE(text, want) refuse(__LINE__, (text), (want))
static __attribute__((unused)) void refuse(int line, const char *text,
                                           const char *want) {
    char err[512] = "";
    baton_asl_def_t *def = NULL;
    baton_err_t rc = baton_asl_def_parse("test", text, &def, err, sizeof(err));
    if (rc == BATON_OK) {
        baton_asl_def_destroy(def);
        fail_at(line, "accepted, want error containing \"%s\"", want);
        return;
    }
    if (rc != BATON_ERR_INVALID || !strstr(err, want))
        fail_at(line, "error \"%s\" (rc %d), want it to contain \"%s\"", err,
                rc, want);
}

/* Runs from `state` (NULL: StartAt) and returns the stop in *s (caller
 * clears it). */
static __attribute__((unused)) baton_err_t run(const baton_asl_def_t *def,
                                               const char *state, json_t *input,
                                               const baton_asl_ctx_t *ctx,
                                               baton_asl_stop_t *s) {
    char err[256];
    return baton_asl_run(def, state ? state : baton_asl_def_start_at(def),
                         input, ctx, s, err, sizeof(err));
}

/* Evaluates a one-field template {"v.$": expr} against input: returns the
 * value (pooled) or NULL with the fault. */
static __attribute__((unused)) json_t *eval_expr(const char *expr,
                                                 json_t *input, uint64_t seed,
                                                 baton_asl_fault_t *fault) {
    baton_asl_ctx_t ctx = ctx_make(seed);
    baton_asl_env_t env;
    json_t *tmpl = json_pack("{s:s}", "v.$", expr), *out = NULL, *v = NULL;
    baton_asl_env_init(&env, &ctx);
    baton_asl_env_enter(&env, "S", 0);
    if (baton_asl_apply_template(&env, "Parameters", tmpl, input, &out,
                                 fault) == BATON_OK)
        v = json_incref(json_object_get(out, "v"));
    json_decref(out);
    json_decref(tmpl);
    baton_asl_env_clear(&env);
    return keep(v);
}

#define CHECK_EXPR(expr, input, want)                                   \
    do {                                                                \
        baton_asl_fault_t f_;                                           \
        json_t *v_;                                                     \
        memset(&f_, 0, sizeof(f_));                                     \
        v_ = eval_expr((expr), J(input), 7, &f_);                       \
        if (!v_)                                                        \
            fail_at(__LINE__, "%s: %s %s", (expr), f_.error, f_.cause); \
        else                                                            \
            check_json(__LINE__, v_, (want));                           \
        CHECK(baton_asl_intrinsic_check((expr), NULL, 0) == BATON_OK,   \
              "%s: refused by the validator", (expr));                  \
    } while (0)

#define CHECK_EXPR_FAILS(expr, input, want_err)                            \
    do {                                                                   \
        baton_asl_fault_t f_;                                              \
        json_t *v_;                                                        \
        memset(&f_, 0, sizeof(f_));                                        \
        v_ = eval_expr((expr), J(input), 7, &f_);                          \
        CHECK(!v_, "%s: should fail", (expr));                             \
        CHECK(!strcmp(f_.error, (want_err)), "%s: error %s (%s), want %s", \
              (expr), f_.error, f_.cause, (want_err));                     \
    } while (0)

/* Prints the totals and returns the exit status of a test program. */
static __attribute__((unused)) int harness_report(void) {
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}

#endif /* BATON_TEST_ASL_HARNESS_H */
