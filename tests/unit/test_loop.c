/*
 * test_loop.c -- the processing loop and the engine without Kafka or Redis:
 * inputs go in as encoded messages, decisions come out as write sets.
 * Covers exactly-once skipping of applied offsets, duplicate and stale
 * results, DLQ of undecodable and invalid input, forwarding of inputs in
 * the wrong partition, retries through timers, buffered signals, and
 * the cache drop after an uncommitted batch.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "engine.h"
#include "loop.h"
#include "registry.h"

static int passed, failed;
#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) passed++;                                                  \
        else {                                                               \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
        }                                                                    \
    } while (0)

#define NPART 4

static const char *DEF_STEPS =
    "{\"StartAt\":\"A\",\"States\":{"
    "\"A\":{\"Type\":\"Task\",\"Resource\":\"baton:activity:default/noop\","
    "\"ResultPath\":\"$.a\",\"Next\":\"B\"},"
    "\"B\":{\"Type\":\"Task\",\"Resource\":\"baton:activity:default/noop\","
    "\"ResultPath\":\"$.b\",\"End\":true}}}";

static const char *DEF_RETRY =
    "{\"StartAt\":\"A\",\"States\":{"
    "\"A\":{\"Type\":\"Task\",\"Resource\":\"baton:activity:q2/flaky\","
    "\"Retry\":[{\"ErrorEquals\":[\"States.ALL\"],\"IntervalSeconds\":2,"
    "\"MaxAttempts\":2}],\"End\":true}}}";

static const char *DEF_SIGNAL =
    "{\"StartAt\":\"A\",\"States\":{"
    "\"A\":{\"Type\":\"Task\",\"Resource\":\"baton:activity:default/noop\","
    "\"ResultPath\":null,\"Next\":\"W\"},"
    "\"W\":{\"Type\":\"Task\",\"Resource\":\"baton:signal:go\","
    "\"ResultPath\":\"$.sig\",\"End\":true}}}";

typedef struct env {
    baton_registry_t *reg;
    baton_codec_t *codec;
    baton_engine_t *engine;
    baton_loop_t *loop;
    int64_t offset[2][NPART];
    /* what the last batch decided, summed over partitions */
    int tasks, events, dlq, forwards, closes;
    char last_task[256];
} env_t;

static void env_init(env_t *e) {
    char err[512];
    baton_loop_conf_t lc = {"baton", NPART, 1000, 1000};
    int64_t none[2] = {-1, -1};
    memset(e, 0, sizeof *e);
    e->reg = baton_registry_new();
    CHECK(!baton_registry_add(e->reg, "steps", DEF_STEPS, 1, NULL, err,
                              sizeof err), "steps: %s", err);
    CHECK(!baton_registry_add(e->reg, "retry", DEF_RETRY, 1, NULL, err,
                              sizeof err), "retry: %s", err);
    CHECK(!baton_registry_add(e->reg, "sig", DEF_SIGNAL, 1, NULL, err,
                              sizeof err), "sig: %s", err);
    e->codec = baton_codec_new(err, sizeof err);
    e->engine = baton_engine_new(e->reg, e->codec, "baton");
    e->loop = baton_loop_new(&lc, e->engine, e->codec);
    for (int p = 0; p < NPART; p++) baton_loop_partition_add(e->loop, p, none);
}

static void env_free(env_t *e) {
    baton_loop_destroy(e->loop);
    baton_engine_destroy(e->engine);
    baton_codec_destroy(e->codec);
    baton_registry_destroy(e->reg);
}

/* Loads what the loop lacks (nothing exists in this fake Redis: every run
 * the test needs stays in the cache), applies, inspects, commits. */
static void env_run(env_t *e, int commit) {
    const int32_t *parts;
    const char *const *ids;
    size_t n = baton_loop_missing(e->loop, &parts, &ids), nws;
    baton_wset_t *const *ws;
    char err[512];
    for (size_t i = 0; i < n; i++)
        baton_loop_provide(e->loop, parts[i], ids[i], NULL, 0);
    CHECK(!baton_loop_apply(e->loop, baton_now_ms(), err, sizeof err),
          "apply: %s", err);
    e->tasks = e->events = e->dlq = e->forwards = e->closes = 0;
    ws = baton_loop_wsets(e->loop, &nws);
    for (size_t i = 0; i < nws; i++) {
        for (size_t j = 0; j < ws[i]->nout; j++) {
            baton_outmsg_t *m = &ws[i]->out[j];
            if (!strncmp(m->topic, "baton.tasks.", 12)) {
                baton_task_t t;
                e->tasks++;
                if (!baton_codec_decode_task(e->codec, m->value, m->value_len,
                                             0, &t, err, sizeof err))
                    snprintf(e->last_task, sizeof e->last_task, "%s",
                             t.task_id);
                baton_task_clear(&t);
            } else if (!strcmp(m->topic, "baton.events"))
                e->events++;
            else if (!strcmp(m->topic, "baton.dlq")) {
                e->dlq++;
                CHECK(m->error && *m->error, "DLQ message without reason");
            } else
                e->forwards++;
        }
        for (size_t j = 0; j < ws[i]->nhist; j++)
            e->closes += ws[i]->hist[j].close;
    }
    baton_loop_batch_done(e->loop, commit);
    baton_loop_batch_begin(e->loop);
}

static void feed(env_t *e, baton_src_t src, int32_t p, const char *buf,
                 size_t len, int json) {
    int64_t off = e->offset[src][p]++;
    CHECK(!baton_loop_input(e->loop, src, p, off, buf, len, json),
          "input rejected");
}

static void send_cmd(env_t *e, baton_cmd_kind_t kind, const char *id,
                     const char *type, const char *name, const char *payload) {
    baton_command_t c = {0};
    char *buf, err[256];
    size_t len;
    c.kind = kind;
    c.workflow_id = (char *)id;
    c.workflow_type = (char *)type;
    c.name = (char *)name;
    c.payload = (char *)payload;
    CHECK(!baton_codec_encode_command(e->codec, &c, 0, &buf, &len, err,
                                      sizeof err), "encode: %s", err);
    feed(e, BATON_SRC_COMMANDS, baton_partition_for(id, NPART), buf, len, 0);
    /* the loop borrows the buffer until batch_done: keep it alive */
    static char *keep[64];
    static int nkeep;
    baton_free(keep[nkeep % 64]);
    keep[nkeep++ % 64] = buf;
}

static void send_result(env_t *e, const char *task_id, const char *wf,
                        baton_result_kind_t kind, const char *out) {
    baton_result_t r = {0};
    char *buf, err[256];
    size_t len;
    r.task_id = (char *)task_id;
    r.workflow_id = (char *)wf;
    r.kind = kind;
    r.output = (char *)out;
    r.error = kind == BATON_RESULT_FAILED ? "Boom" : NULL;
    CHECK(!baton_codec_encode_result(e->codec, &r, 0, &buf, &len, err,
                                     sizeof err), "encode: %s", err);
    feed(e, BATON_SRC_RESULTS, baton_partition_for(wf, NPART), buf, len, 0);
    static char *keep[64];
    static int nkeep;
    baton_free(keep[nkeep % 64]);
    keep[nkeep++ % 64] = buf;
}

static const baton_snapshot_t *snap(env_t *e, const char *id) {
    return baton_loop_cached(e->loop, baton_partition_for(id, NPART), id);
}

static void test_happy_path_and_duplicates(void) {
    env_t e;
    env_init(&e);
    baton_loop_batch_begin(e.loop);
    send_cmd(&e, BATON_CMD_START, "wf-1", "steps", NULL, "{\"x\":1}");
    env_run(&e, 1);
    CHECK(e.tasks == 1, "start schedules one task, got %d", e.tasks);
    CHECK(!strcmp(e.last_task, "wf-1/1/1"), "task id %s", e.last_task);
    CHECK(e.events == 2, "WorkflowStarted + ActivityScheduled, got %d",
          e.events);

    send_cmd(&e, BATON_CMD_START, "wf-1", "steps", NULL, "{}");
    env_run(&e, 1);
    CHECK(e.tasks == 0 && e.events == 0, "duplicate start changes nothing");

    send_result(&e, "wf-1/1/1", "wf-1", BATON_RESULT_COMPLETED, "{\"r\":1}");
    env_run(&e, 1);
    CHECK(e.tasks == 1 && !strcmp(e.last_task, "wf-1/2/1"),
          "second task after first result (%d, %s)", e.tasks, e.last_task);

    /* The same result again, and one for an attempt that never ran. */
    send_result(&e, "wf-1/1/1", "wf-1", BATON_RESULT_COMPLETED, "{\"r\":9}");
    send_result(&e, "wf-1/2/7", "wf-1", BATON_RESULT_COMPLETED, "{\"r\":9}");
    env_run(&e, 1);
    CHECK(e.tasks == 0 && e.events == 0, "stale results decide nothing");
    CHECK(snap(&e, "wf-1") && snap(&e, "wf-1")->stale == 2,
          "stale results are counted");
    CHECK(snap(&e, "wf-1")->pend_seq == 2, "still waiting on activity 2");

    send_result(&e, "wf-1/2/1", "wf-1", BATON_RESULT_COMPLETED, "{\"r\":2}");
    env_run(&e, 1);
    CHECK(e.closes == 1, "workflow closes once, got %d", e.closes);
    CHECK(snap(&e, "wf-1") == NULL, "closed runs leave the cache");
    env_free(&e);
}

static void test_offsets_are_applied_once(void) {
    env_t e;
    int32_t p = baton_partition_for("wf-2", NPART);
    int64_t next[2] = {5, -1};
    env_init(&e);
    baton_loop_partition_add(e.loop, p, next);
    baton_loop_batch_begin(e.loop);
    e.offset[BATON_SRC_COMMANDS][p] = 3; /* offsets 3 and 4 were applied */
    send_cmd(&e, BATON_CMD_START, "wf-2", "steps", NULL, "{}");
    send_cmd(&e, BATON_CMD_START, "wf-2", "steps", NULL, "{}");
    env_run(&e, 1);
    CHECK(e.tasks == 0, "inputs below the stored offset are skipped");
    CHECK(baton_loop_stats(e.loop)->skipped == 2, "two skipped");
    send_cmd(&e, BATON_CMD_START, "wf-2", "steps", NULL, "{}");
    env_run(&e, 1);
    CHECK(e.tasks == 1, "offset 5 is applied");
    CHECK(baton_loop_next_offset(e.loop, p, BATON_SRC_COMMANDS) == 6,
          "next offset advances on commit");
    env_free(&e);
}

static void test_bad_input(void) {
    env_t e;
    const char garbage[] = "\x02\xff\xfe not avro";
    const char *json = "{\"kind\":\"START\",\"workflow_id\":\"wf-3\","
                       "\"workflow_type\":\"nope\"}";
    char big[2048];
    env_init(&e);
    baton_loop_batch_begin(e.loop);
    feed(&e, BATON_SRC_COMMANDS, 0, garbage, sizeof garbage - 1, 0);
    feed(&e, BATON_SRC_RESULTS, 1, garbage, sizeof garbage - 1, 1);
    env_run(&e, 1);
    CHECK(e.dlq == 2, "undecodable messages go to the DLQ, got %d", e.dlq);
    feed(&e, BATON_SRC_COMMANDS, baton_partition_for("wf-3", NPART), json,
         strlen(json), 1);
    env_run(&e, 1);
    CHECK(e.dlq == 1, "unknown workflow type goes to the DLQ");
    send_cmd(&e, BATON_CMD_SIGNAL, "ghost", NULL, "go", "1");
    env_run(&e, 1);
    CHECK(e.dlq == 1, "a signal to an unknown workflow goes to the DLQ");
    memset(big, 'x', sizeof big);
    big[0] = '"';
    big[sizeof big - 2] = '"';
    big[sizeof big - 1] = '\0';
    send_cmd(&e, BATON_CMD_START, "wf-big", "steps", NULL, big);
    env_run(&e, 1);
    CHECK(e.dlq == 1 && e.tasks == 0, "oversized payload goes to the DLQ");
    CHECK(baton_loop_next_offset(e.loop, 0, BATON_SRC_COMMANDS) >= 1,
          "the partition keeps flowing past bad input");
    env_free(&e);
}

static void test_forwarding(void) {
    env_t e;
    baton_command_t c = {0};
    char *buf, err[256];
    size_t len;
    int32_t right = baton_partition_for("wf-4", NPART),
            wrong = (right + 1) % NPART;
    env_init(&e);
    baton_loop_batch_begin(e.loop);
    c.kind = BATON_CMD_START;
    c.workflow_id = "wf-4";
    c.workflow_type = "steps";
    baton_codec_encode_command(e.codec, &c, 0, &buf, &len, err, sizeof err);
    feed(&e, BATON_SRC_COMMANDS, wrong, buf, len, 0);
    env_run(&e, 1);
    CHECK(e.forwards == 1 && e.tasks == 0,
          "input in the wrong partition is forwarded, not applied");
    baton_free(buf);
    env_free(&e);
}

static void test_retry_through_timer(void) {
    env_t e;
    env_init(&e);
    baton_loop_batch_begin(e.loop);
    send_cmd(&e, BATON_CMD_START, "wf-5", "retry", NULL, "{}");
    env_run(&e, 1);
    send_result(&e, "wf-5/1/1", "wf-5", BATON_RESULT_FAILED, NULL);
    env_run(&e, 1);
    CHECK(e.tasks == 0, "a failed attempt waits for its backoff");
    CHECK(baton_loop_next_timer(e.loop) != INT64_MAX, "retry timer armed");
    CHECK(baton_loop_due_timers(e.loop, baton_now_ms()) == 0,
          "not due before the interval");
    CHECK(baton_loop_due_timers(e.loop, baton_now_ms() + 60000) == 1,
          "due after the interval");
    env_run(&e, 1);
    CHECK(e.tasks == 1 && !strcmp(e.last_task, "wf-5/1/2"),
          "retry is attempt 2 of activity 1 (%s)", e.last_task);
    send_result(&e, "wf-5/1/1", "wf-5", BATON_RESULT_COMPLETED, "1");
    env_run(&e, 1);
    CHECK(e.closes == 0, "a late result of attempt 1 is stale");
    send_result(&e, "wf-5/1/2", "wf-5", BATON_RESULT_COMPLETED, "1");
    env_run(&e, 1);
    CHECK(e.closes == 1, "attempt 2 completes the run");
    env_free(&e);
}

static void test_signal_before_wait(void) {
    env_t e;
    env_init(&e);
    baton_loop_batch_begin(e.loop);
    send_cmd(&e, BATON_CMD_START, "wf-6", "sig", NULL, "{}");
    send_cmd(&e, BATON_CMD_SIGNAL, "wf-6", NULL, "go", "{\"ok\":true}");
    env_run(&e, 1);
    CHECK(snap(&e, "wf-6") && snap(&e, "wf-6")->signals,
          "early signal is kept");
    send_result(&e, "wf-6/1/1", "wf-6", BATON_RESULT_COMPLETED, "{}");
    env_run(&e, 1);
    CHECK(e.closes == 1, "the kept signal completes the wait");
    env_free(&e);
}

static void test_uncommitted_batch_drops_cache(void) {
    env_t e;
    env_init(&e);
    baton_loop_batch_begin(e.loop);
    send_cmd(&e, BATON_CMD_START, "wf-7", "steps", NULL, "{}");
    env_run(&e, 0);
    CHECK(snap(&e, "wf-7") == NULL, "uncommitted state is forgotten");
    CHECK(baton_loop_next_offset(e.loop, baton_partition_for("wf-7", NPART),
                                 BATON_SRC_COMMANDS) == -1,
          "offsets do not advance without a commit");
    env_free(&e);
}

/* Out of memory at every allocation of a start and a result: the loop
 * returns an error or carries on, never crashes, never leaks (LSan). */
static void test_out_of_memory_sweep(void) {
    int crashed_into_success = 0;
    for (long n = 0; n < 400; n++) {
        env_t e;
        char err[512];
        baton_command_t c = {0};
        char *buf = NULL;
        size_t len, nws;
        const int32_t *parts;
        const char *const *ids;
        env_init(&e);
        c.kind = BATON_CMD_START;
        c.workflow_id = "wf-oom";
        c.workflow_type = "steps";
        c.payload = "{\"a\":[1,2,3]}";
        baton_codec_encode_command(e.codec, &c, 0, &buf, &len, err,
                                   sizeof err);
        baton_loop_batch_begin(e.loop);
        baton_alloc_fail_after(n);
        if (!baton_loop_input(e.loop, BATON_SRC_COMMANDS,
                              baton_partition_for("wf-oom", NPART), 0, buf,
                              len, 0)) {
            size_t m = baton_loop_missing(e.loop, &parts, &ids);
            for (size_t i = 0; i < m; i++)
                baton_loop_provide(e.loop, parts[i], ids[i], NULL, 0);
            if (!baton_loop_apply(e.loop, 1000, err, sizeof err)) {
                baton_wset_t *const *ws = baton_loop_wsets(e.loop, &nws);
                for (size_t i = 0; i < nws; i++)
                    for (size_t j = 0; j < ws[i]->nsnaps; j++) {
                        size_t sl;
                        baton_free(baton_snapshot_encode(ws[i]->snaps[j], &sl));
                    }
                crashed_into_success++;
            }
        }
        baton_alloc_fail_after(-1);
        baton_loop_batch_done(e.loop, 0);
        baton_free(buf);
        env_free(&e);
    }
    CHECK(crashed_into_success > 0, "the sweep reaches a full success");
}

int main(void) {
    baton_log_configure("error", NULL);
    test_happy_path_and_duplicates();
    test_offsets_are_applied_once();
    test_bad_input();
    test_forwarding();
    test_retry_through_timer();
    test_signal_before_wait();
    test_uncommitted_batch_drops_cache();
    test_out_of_memory_sweep();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
