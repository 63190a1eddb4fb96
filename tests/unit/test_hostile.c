/*
 * test_hostile.c -- inputs written by an attacker (or by bad luck) must not
 * lose a run or wedge a partition (issue 11), through the in-memory batond
 * of loop_env.h:
 *  - whatever is accepted can be written in a snapshot and read back: a
 *    sweep of nesting depths and NUL bytes through START, SIGNAL (buffered
 *    and held) and results (json_limits.h);
 *  - a snapshot that cannot be read (corruption from outside) quarantines
 *    its run: every input goes to the DLQ with the reason and no START can
 *    overwrite it;
 *  - an input whose apply keeps failing for a non-input reason (out of
 *    memory) is retried a bounded number of batches, then its run is
 *    quarantined and the partition goes on;
 *  - an outbox entry the producer refuses for good (too large) is deleted
 *    and replaced by a DLQ stub in the next write, never re-sent for ever;
 *  - a run's buffered and held signals, Map width, state data and history
 *    bytes are bounded (baton_engine_limits_t).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_limits.h"
#include "loop_env.h"

/* A task whose result nests 3 levels deeper (ResultPath), then a signal. */
static const char *DEF_DEEP =
    "{\"StartAt\":\"A\",\"States\":{"
    "\"A\":{\"Type\":\"Task\",\"Resource\":\"baton:activity:default/noop\","
    "\"ResultPath\":\"$.a.b.c\",\"Next\":\"W\"},"
    "\"W\":{\"Type\":\"Task\",\"Resource\":\"baton:signal:go\","
    "\"ResultPath\":\"$.sig\",\"End\":true}}}";

/* Decodes base64 from the input into the state, then waits for a task. */
static const char *DEF_B64 =
    "{\"StartAt\":\"P\",\"States\":{"
    "\"P\":{\"Type\":\"Pass\",\"Parameters\":{"
    "\"x.$\":\"States.Base64Decode($.b64)\"},\"Next\":\"A\"},"
    "\"A\":{\"Type\":\"Task\",\"Resource\":\"baton:activity:default/noop\","
    "\"End\":true}}}";

/* A Map whose too-wide items are caught. */
static const char *DEF_MAP =
    "{\"StartAt\":\"M\",\"States\":{"
    "\"M\":{\"Type\":\"Map\",\"ItemsPath\":\"$.items\","
    "\"ItemProcessor\":{\"StartAt\":\"P\",\"States\":{"
    "\"P\":{\"Type\":\"Pass\",\"End\":true}}},"
    "\"Catch\":[{\"ErrorEquals\":[\"States.DataLimitExceeded\"],"
    "\"ResultPath\":\"$.err\",\"Next\":\"C\"}],\"End\":true},"
    "\"C\":{\"Type\":\"Succeed\"}}}";

/* A parent waiting for a child workflow of type "steps". */
static const char *DEF_PARENT =
    "{\"StartAt\":\"K\",\"States\":{"
    "\"K\":{\"Type\":\"Task\",\"Resource\":\"baton:workflow:steps\","
    "\"End\":true}}}";

static const char *DEF_STEPS =
    "{\"StartAt\":\"A\",\"States\":{"
    "\"A\":{\"Type\":\"Task\",\"Resource\":\"baton:activity:default/noop\","
    "\"ResultPath\":\"$.a\",\"Next\":\"W\"},"
    "\"W\":{\"Type\":\"Task\",\"Resource\":\"baton:signal:go\","
    "\"End\":true}}}";

static void env_init_hostile(env_t *e) {
    env_def_t defs[] = {{"deep", DEF_DEEP},     {"b64", DEF_B64},
                        {"steps", DEF_STEPS},   {"map", DEF_MAP},
                        {"parent", DEF_PARENT}, {NULL, NULL}};
    env_init(e, defs);
}

/* A JSON value nesting `depth` levels: [[...[1]...]] (malloc'd). */
static char *nested(int depth) {
    char *s = malloc((size_t)depth * 2 + 2), *p = s;
    for (int i = 1; i < depth; i++) *p++ = '[';
    *p++ = '1';
    for (int i = 1; i < depth; i++) *p++ = ']';
    *p = '\0';
    return s;
}

/* Every snapshot written so far loads back. */
static void check_all_load(env_t *e, const char *when, int depth) {
    const char *id;
    json_t *v;
    json_object_foreach(e->written, id, v) {
        char err[256];
        const char *t = json_string_value(v);
        baton_snapshot_t *s =
            baton_snapshot_decode(t, strlen(t), err, sizeof err);
        CHECK(s != NULL,
              "%s at depth %d: the snapshot of %s does not load back: %s", when,
              depth, id, err);
        baton_snapshot_destroy(s);
    }
}

static void sweep_depth(int depth) {
    env_t e;
    char *v = nested(depth), *in, task[300];
    size_t n = strlen(v) + 64;
    in = malloc(n);
    env_init_hostile(&e);
    /* START: the input wraps the value one level deeper */
    snprintf(in, n, "{\"v\":%s}", v);
    env_cmd(&e, BATON_CMD_START, "deep-1", "deep", NULL, in);
    env_run(&e, 1);
    check_all_load(&e, "START", depth);
    snprintf(task, sizeof task, "%s", e.last_task);
    /* SIGNAL before the run waits for it: buffered in the snapshot */
    env_cmd(&e, BATON_CMD_SIGNAL, "deep-1", NULL, "go", v);
    env_run(&e, 1);
    check_all_load(&e, "buffered SIGNAL", depth);
    /* a SIGNAL for a run not started: held in a HELD snapshot */
    env_cmd(&e, BATON_CMD_SIGNAL, "deep-held", NULL, "go", v);
    env_run(&e, 1);
    check_all_load(&e, "held SIGNAL", depth);
    /* the task's result, nested 3 levels deeper by its ResultPath */
    if (task[0]) {
        env_simple_result(&e, task, "deep-1", BATON_RESULT_COMPLETED, v);
        env_run(&e, 1);
        check_all_load(&e, "result", depth);
        env_simple_result(&e, task, "deep-1", BATON_RESULT_HEARTBEAT, v);
        env_run(&e, 1);
        check_all_load(&e, "heartbeat", depth);
    }
    env_pump(&e, 3);
    check_all_load(&e, "end", depth);
    env_free(&e);
    free(in);
    free(v);
}

static void test_depth_sweep(void) {
    static const int depths[] = {1,    2,    100,  990,  995,  996,
                                 997,  998,  999,  1000, 1001, 1500,
                                 2000, 2040, 2045, 2046, 2047, 2048};
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++)
        sweep_depth(depths[i]);
}

/* Decode refuses what is too deep, with a reason, and a value just
 * under the limit is accepted. */
static void test_decode_limit(void) {
    env_t e;
    char *ok = nested(BATON_JSON_DEPTH_MAX - 1), *deep = nested(1500), in[64];
    char *buf;
    size_t n = strlen(deep) + 16;
    env_init_hostile(&e);
    buf = malloc(n);
    snprintf(buf, n, "{\"v\":%s}", deep);
    env_cmd(&e, BATON_CMD_START, "too-deep", "deep", NULL, buf);
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "nested deeper than"),
          "a too deep START input goes to the DLQ with why (%d, %s)", e.dlq,
          e.last_dlq);
    free(buf);
    n = strlen(ok) + 16;
    buf = malloc(n);
    snprintf(buf, n, "{\"v\":%s}", ok);
    env_cmd(&e, BATON_CMD_START, "deep-ok", "deep", NULL, buf);
    env_run(&e, 1);
    CHECK(e.dlq == 0 && e.tasks == 1,
          "a START just under the limit runs (%d dlq: %s, %d tasks)", e.dlq,
          e.last_dlq, e.tasks);
    (void)in;
    free(buf);
    free(ok);
    free(deep);
    env_free(&e);
}

/* A NUL byte: refused in payloads at decode, and States.Base64Decode
 * making one fails the run with a States error instead of writing a
 * snapshot that cannot be read. */
static void test_nul(void) {
    env_t e;
    const baton_snapshot_t *s;
    env_init_hostile(&e);
    env_cmd(&e, BATON_CMD_START, "nul-1", "b64", NULL,
            "{\"b64\":\"YQBi\"}"); /* "a\0b" */
    env_run(&e, 1);
    check_all_load(&e, "Base64Decode of a NUL", 0);
    s = env_snap(&e, "nul-1");
    CHECK(s && s->status == BATON_WF_FAILED && s->error &&
              strstr(s->error, "States.") && s->cause &&
              strstr(s->cause, "NUL"),
          "the run fails with a States error naming the NUL (%s: %s)",
          s && s->error ? s->error : "-", s && s->cause ? s->cause : "-");
    env_cmd(&e, BATON_CMD_START, "nul-2", "b64", NULL,
            "{\"b64\":\"YWI=\",\"s\":\"a\\u0000b\"}");
    env_run(&e, 1);
    CHECK(e.dlq == 1, "a START input holding \\u0000 goes to the DLQ");
    env_cmd(&e, BATON_CMD_START, "nul-3", "b64", NULL, "{\"b64\":\"YWI=\"}");
    env_run(&e, 1);
    env_cmd(&e, BATON_CMD_SIGNAL, "nul-3", NULL, "go", "\"x\\u0000\"");
    env_run(&e, 1);
    CHECK(e.dlq == 1, "a signal payload holding \\u0000 goes to the DLQ");
    check_all_load(&e, "NUL inputs", 0);
    /* A snapshot that holds a NUL anyway (written by an older batond)
     * still loads. */
    {
        const char *t = "{\"v\":1,\"id\":\"x\",\"type\":\"b64\",\"ver\":\"1\","
                        "\"st\":\"SUCCEEDED\",\"out\":\"a\\u0000b\"}";
        char err[256];
        baton_snapshot_t *d =
            baton_snapshot_decode(t, strlen(t), err, sizeof err);
        CHECK(d != NULL, "a snapshot holding \\u0000 loads: %s", err);
        baton_snapshot_destroy(d);
    }
    env_free(&e);
}

/* Corruption from outside: the run is quarantined, not "no such run". */
static void test_unreadable_snapshot_quarantines(void) {
    env_t e;
    char task[300];
    const char *bad = "{\"v\":1,\"id\":\"q-1\",\"st\":";
    env_init_hostile(&e);
    env_cmd(&e, BATON_CMD_START, "q-1", "steps", NULL, "{}");
    env_run(&e, 1);
    snprintf(task, sizeof task, "%s", e.last_task);
    json_object_set_new(e.written, "q-1", json_string(bad));
    env_run(&e, 0); /* an abandoned batch: the cache is dropped */
    env_cmd(&e, BATON_CMD_SIGNAL, "q-1", NULL, "go", "{}");
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "quarantined") &&
              strstr(e.last_dlq, "snapshot unreadable"),
          "a signal for an unreadable run goes to the DLQ as quarantined "
          "(%d: %s)",
          e.dlq, e.last_dlq);
    env_simple_result(&e, task, "q-1", BATON_RESULT_COMPLETED, "{}");
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "quarantined"),
          "its result goes to the DLQ (%d: %s)", e.dlq, e.last_dlq);
    env_cmd(&e, BATON_CMD_START, "q-1", "steps", NULL, "{\"new\":1}");
    env_run(&e, 1);
    CHECK(e.dlq == 1 && e.tasks == 0 && strstr(e.last_dlq, "quarantined"),
          "a new START of its id is refused, not run (%d dlq, %d tasks)", e.dlq,
          e.tasks);
    CHECK(!strcmp(json_string_value(json_object_get(e.written, "q-1")), bad),
          "nothing overwrote the unreadable snapshot");
    env_free(&e);
}

/* Runs the result batch with allocations failing after n: the error. */
static baton_err_t oom_result_batch(long n, char *err, size_t errlen) {
    env_t e;
    char task[300];
    baton_err_t rc;
    env_init_hostile(&e);
    env_cmd(&e, BATON_CMD_START, "p-1", "steps", NULL, "{}");
    env_run(&e, 1);
    snprintf(task, sizeof task, "%s", e.last_task);
    env_simple_result(&e, task, "p-1", BATON_RESULT_COMPLETED, "{\"r\":1}");
    e.oom_after = n;
    rc = env_try_run(&e, 1, err, errlen);
    env_free(&e);
    return rc;
}

static void test_failing_apply_is_contained(void) {
    env_t e;
    char err[512], task[300];
    long deepest = -1;
    int batches = 0;
    const baton_snapshot_t *s;
    /* The last allocation count at which the result's apply (not its
     * decoding or loading) runs out of memory. */
    for (long n = 0; n < 2000; n++) {
        baton_err_t rc = oom_result_batch(n, err, sizeof err);
        if (rc == BATON_ERR_NOMEM && strstr(err, "applying input of 'p-1'"))
            deepest = n;
        if (!rc) break;
    }
    CHECK(deepest >= 0, "found where the apply runs out of memory");
    if (deepest < 0) return;

    env_init_hostile(&e);
    e.redeliver = 1;
    env_cmd(&e, BATON_CMD_START, "p-1", "steps", NULL, "{}");
    env_cmd(&e, BATON_CMD_START, "p-2", "steps", NULL, "{}");
    env_run(&e, 1);
    snprintf(task, sizeof task, "%s/1/1", "p-1");
    env_simple_result(&e, task, "p-1", BATON_RESULT_COMPLETED, "{\"r\":1}");
    e.oom_after = deepest; /* fails the same way in every batch */
    for (batches = 1; batches <= 10; batches++)
        if (!env_try_run(&e, 1, err, sizeof err)) break;
    e.oom_after = -1;
    CHECK(batches <= 10,
          "the partition goes on after a bounded number of "
          "failed batches (still failing after 10: %s)",
          err);
    CHECK(batches == 4, "3 failed batches, then the quarantine (took %d)",
          batches);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "quarantined") &&
              strstr(e.last_dlq, "out of memory"),
          "the input goes to the DLQ with the reason (%d: %s)", e.dlq,
          e.last_dlq);
    s = env_snap(&e, "p-1");
    CHECK(s && s->quarantine && s->status == BATON_WF_RUNNING,
          "the run is written quarantined");
    env_cmd(&e, BATON_CMD_SIGNAL, "p-1", NULL, "go", "{}");
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "quarantined"),
          "its later inputs go to the DLQ (%s)", e.last_dlq);
    env_simple_result(&e, "p-2/1/1", "p-2", BATON_RESULT_COMPLETED, "{}");
    env_run(&e, 1);
    s = env_snap(&e, "p-2");
    CHECK(s && s->pend == BATON_PEND_SIGNAL,
          "another run of the instance goes on");
    env_free(&e);
}

/* Limits checked before and right after parsing, each with its reason;
 * the DLQ copy of an oversized message is a stub. */
static void test_size_limits(void) {
    env_t e;
    size_t n = (1 << 20) + 100;
    char *big = malloc(n + 1), *s;
    env_init_hostile(&e);
    memset(big, 'x', n);
    big[n] = '\0';
    env_feed(&e, BATON_SRC_COMMANDS, 1, big, n, 1);
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "batond.limits.envelope.max"),
          "an oversized envelope goes to the DLQ unparsed (%d: %s)", e.dlq,
          e.last_dlq);
    CHECK(e.last_dlq_len <= 1024, "its DLQ copy is a stub (%zu bytes)",
          e.last_dlq_len);
    s = malloc(8192);
    memset(s, 'r', 8191);
    s[8191] = '\0';
    env_cmd(&e, BATON_CMD_START, "lim-1", "steps", NULL, "{}");
    env_run(&e, 1);
    {
        baton_command_t c = {0};
        c.kind = BATON_CMD_CANCEL;
        c.workflow_id = "lim-1";
        c.reason = s;
        env_command(&e, &c);
    }
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "'reason'") &&
              strstr(e.last_dlq, "batond.limits.string.max"),
          "an 8 KiB reason goes to the DLQ (%d: %s)", e.dlq, e.last_dlq);
    env_cmd(&e, BATON_CMD_SIGNAL, "lim-1", NULL, s, "{}");
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "'name'"),
          "an 8 KiB signal name goes to the DLQ (%s)", e.last_dlq);
    {
        baton_result_t r = {0};
        char task[300];
        snprintf(task, sizeof task, "lim-1/1/1");
        r.task_id = task;
        r.workflow_id = "lim-1";
        r.kind = BATON_RESULT_FAILED;
        r.error = "Boom";
        r.cause = s;
        env_result(&e, &r);
    }
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "'cause'"),
          "an 8 KiB cause goes to the DLQ (%s)", e.last_dlq);
    free(s);
    free(big);
    env_free(&e);
}

/* History events (they carry the input) too large for the producer: the
 * next batch deletes both outbox entries and writes a DLQ stub of each that
 * fits; nothing is re-sent afterwards. */
static void test_refused_outbox_entry(void) {
    env_t e;
    char in[1000];
    env_init_hostile(&e); /* a DLQ copy keeps 1024 bytes */
    e.refuse_over = 1025;
    snprintf(in, sizeof in, "{\"pad\":\"%0950d\"}", 7);
    env_cmd(&e, BATON_CMD_START, "big-1", "steps", NULL, in);
    env_run(&e, 1);
    CHECK(e.refused == 2,
          "the two events carrying the input are refused by the producer "
          "(%d refused)",
          e.refused);
    env_run(&e, 1);
    CHECK(e.last_refused[0] && !strcmp(e.last_outbox_del, e.last_refused),
          "the next write deletes the refused entry '%s' (deleted '%s')",
          e.last_refused, e.last_outbox_del);
    CHECK(e.dlq == 2 && strstr(e.last_dlq, "refused by the producer") &&
              strstr(e.last_dlq, "Message size too large") &&
              strstr(e.last_dlq, "of 1059 bytes"),
          "a DLQ stub of each says why (%d: %s)", e.dlq, e.last_dlq);
    CHECK(e.last_dlq_len <= 1025 && e.refused == 2,
          "the stubs fit (%zu bytes, %d refused)", e.last_dlq_len, e.refused);
    env_run(&e, 1);
    CHECK(e.dlq == 0 && e.refused == 2, "nothing is sent again (%d, %d)", e.dlq,
          e.refused);
    env_free(&e);
}

/* Buffered and held signals (count, bytes), Map width, state size and
 * history bytes per run (baton_engine_limits_t). */
static void test_run_limits(void) {
    env_t e;
    char big[600];
    baton_engine_limits_t lim = {3, 200, 3, 400, 600};
    env_init_hostile(&e);
    baton_engine_set_limits(e.engine, &lim);
    env_cmd(&e, BATON_CMD_START, "sig-1", "steps", NULL, "{}");
    env_run(&e, 1);
    for (int i = 0; i < 3; i++) {
        env_cmd(&e, BATON_CMD_SIGNAL, "sig-1", NULL, "later", "{\"n\":1}");
        env_run(&e, 1);
    }
    CHECK(e.dlq == 0, "three signals are buffered (%s)", e.last_dlq);
    env_cmd(&e, BATON_CMD_SIGNAL, "sig-1", NULL, "later", "1");
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "batond.limits.signals.max (3)"),
          "a fourth goes to the DLQ (%d: %s)", e.dlq, e.last_dlq);
    snprintf(big, sizeof big, "\"%0250d\"", 1);
    env_cmd(&e, BATON_CMD_SIGNAL, "sig-2", NULL, "go", big);
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "batond.limits.signals.bytes.max"),
          "a held signal past the bytes goes to the DLQ (%d: %s)", e.dlq,
          e.last_dlq);
    for (int i = 0; i < 4; i++) {
        env_cmd(&e, BATON_CMD_SIGNAL, "sig-3", NULL, "go", "2");
        env_run(&e, 1);
    }
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "signals.max"),
          "a fourth held signal goes to the DLQ (%d: %s)", e.dlq, e.last_dlq);
    /* Map width: caught */
    env_cmd(&e, BATON_CMD_START, "map-1", "map", NULL, "{\"items\":[1,2,3,4]}");
    env_run(&e, 1);
    env_pump(&e, 10);
    {
        const baton_snapshot_t *s = env_snap(&e, "map-1");
        CHECK(s && s->status == BATON_WF_SUCCEEDED &&
                  env_hist_count(&e, "batond.limits.map.items.max") > 0,
              "a Map over 4 items fails with a catchable error (%d)",
              s ? (int)s->status : -1);
    }
    /* state size: the input is the first state's data */
    snprintf(big, sizeof big, "{\"x\":\"%0450d\"}", 1);
    env_cmd(&e, BATON_CMD_START, "state-1", "steps", NULL, big);
    env_run(&e, 1);
    {
        const baton_snapshot_t *s = env_snap(&e, "state-1");
        CHECK(s && s->status == BATON_WF_FAILED && s->error &&
                  !strcmp(s->error, "States.DataLimitExceeded") &&
                  strstr(s->cause, "batond.limits.state.max"),
              "a state's data over the limit fails the run (%s: %s)",
              s && s->error ? s->error : "-", s && s->cause ? s->cause : "-");
    }
    /* history bytes: sig-1's events went past 600 bytes */
    CHECK(env_hist_count(&e, "\"cut\":true") > 0,
          "past the history bytes, events lose their data (%d cut)",
          env_hist_count(&e, "\"cut\":true"));
    env_free(&e);
}

/* A predictable random source for the test: 0x5a, 0x5b, ... */
static int test_random(void *ctx, unsigned char *buf, size_t len) {
    unsigned *next = ctx;
    for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)(*next)++;
    return 0;
}

/* Task and child ids carry a random nonce: a guessed task id is stale, a
 * START of a child's predictable id cannot squat the child. */
static void test_unforgeable_ids(void) {
    env_t e;
    unsigned next = 0x5a;
    const baton_snapshot_t *s;
    const char *dot;
    char real[256];
    env_init_hostile(&e);
    baton_engine_set_random(e.engine, test_random, &next);
    env_cmd(&e, BATON_CMD_START, "ids-1", "steps", NULL, "{}");
    env_run(&e, 1);
    snprintf(real, sizeof real, "%s", e.last_task);
    dot = strrchr(real, '.');
    CHECK(!strncmp(real, "ids-1/1/1.", 10) && dot && strlen(dot + 1) == 24,
          "the task id carries a nonce (%s)", real);
    /* forged: the predictable id, and the right form with a wrong nonce */
    env_simple_result(&e, "ids-1/1/1", "ids-1", BATON_RESULT_COMPLETED, "1");
    env_run(&e, 1);
    env_simple_result(&e, "ids-1/1/1.000000000000000000000000", "ids-1",
                      BATON_RESULT_COMPLETED, "2");
    env_run(&e, 1);
    s = env_snap(&e, "ids-1");
    CHECK(s && s->pend == BATON_PEND_TASK && s->stale == 2,
          "forged results are ignored as stale (pend %d, stale %lld)",
          s ? (int)s->pend : -1, s ? (long long)s->stale : -1);
    env_simple_result(&e, real, "ids-1", BATON_RESULT_COMPLETED, "3");
    env_run(&e, 1);
    s = env_snap(&e, "ids-1");
    CHECK(s && s->pend == BATON_PEND_SIGNAL,
          "the real result is taken (pend %d)", s ? (int)s->pend : -1);
    /* a squatter STARTs the child's predictable id before the parent */
    env_cmd(&e, BATON_CMD_START, "par-1:1", "steps", NULL, "{\"sq\":1}");
    env_run(&e, 1);
    env_cmd(&e, BATON_CMD_START, "par-1", "parent", NULL, "{}");
    env_run(&e, 1);
    env_pump(&e, 5);
    s = env_snap(&e, "par-1");
    CHECK(s && s->pend == BATON_PEND_CHILD && s->pend_nonce[0],
          "the parent waits for its own child (pend %d)",
          s ? (int)s->pend : -1);
    {
        char child[300];
        snprintf(child, sizeof child, "par-1:1.%s", s ? s->pend_nonce : "");
        s = env_snap(&e, child);
        CHECK(s && s->parent_id && !strcmp(s->parent_id, "par-1"),
              "the child %s runs under its parent", child);
        /* a client START in the child namespace, or with parent fields */
        env_cmd(&e, BATON_CMD_START, "x:1.0123456789abcdef01234567", "steps",
                NULL, "{}");
        env_run(&e, 1);
        CHECK(e.dlq == 1 && strstr(e.last_dlq, "namespace of child runs"),
              "a START of a child-form id goes to the DLQ (%d: %s)", e.dlq,
              e.last_dlq);
        {
            baton_command_t c = {0};
            c.kind = BATON_CMD_START;
            c.workflow_id = "mine-1";
            c.workflow_type = "steps";
            c.payload = "{}";
            c.parent_id = "par-1";
            c.parent_task_id = "par-1/1/1";
            env_command(&e, &c);
        }
        env_run(&e, 1);
        CHECK(e.dlq == 1 && strstr(e.last_dlq, "did not mint"),
              "a START with forged parent fields goes to the DLQ (%d: %s)",
              e.dlq, e.last_dlq);
    }
    env_free(&e);
}

int main(void) {
    baton_log_configure("error", NULL);
    env_payload_max = 1 << 20; /* depth, not size, is tested here */
    test_depth_sweep();
    test_decode_limit();
    test_nul();
    test_unreadable_snapshot_quarantines();
    test_failing_apply_is_contained();
    test_size_limits();
    test_refused_outbox_entry();
    test_run_limits();
    test_unforgeable_ids();
    printf("%d passed, %d failed\n", env_passed, env_failed);
    return env_failed ? 1 : 0;
}
