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

#include "loop_env.h"

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

static const env_def_t DEFS[] = {
    {"steps", NULL}, {"retry", NULL}, {"sig", NULL}, {NULL, NULL}};

static void env_init_std(env_t *e) {
    env_def_t defs[4];
    memcpy(defs, DEFS, sizeof defs);
    defs[0].text = DEF_STEPS;
    defs[1].text = DEF_RETRY;
    defs[2].text = DEF_SIGNAL;
    env_init(e, defs);
}

#define send_cmd env_cmd
#define send_result env_simple_result
#define snap env_snap
#define feed env_feed

static void test_happy_path_and_duplicates(void) {
    env_t e;
    env_init_std(&e);
    baton_loop_batch_begin(e.loop);
    send_cmd(&e, BATON_CMD_START, "wf-1", "steps", NULL, "{\"x\":1}");
    env_run(&e, 1);
    CHECK(e.tasks == 1, "start schedules one task, got %d", e.tasks);
    CHECK(!strcmp(e.last_task, "wf-1/1/1"), "task id %s", e.last_task);
    CHECK(e.events == 2, "WorkflowStarted + ActivityScheduled, got %d",
          e.events);

    send_cmd(&e, BATON_CMD_START, "wf-1", "steps", NULL, "{}");
    env_run(&e, 1);
    CHECK(e.tasks == 0 && e.events == 1,
          "a START of a running id changes nothing but StartRefused (%d "
          "tasks, %d events)",
          e.tasks, e.events);

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
    CHECK(baton_loop_cached(e.loop, baton_partition_for("wf-1", NPART),
                            "wf-1") == NULL,
          "closed runs leave the cache");
    CHECK(snap(&e, "wf-1")->status == BATON_WF_SUCCEEDED,
          "the closed run was written");
    env_free(&e);
}

static void test_offsets_are_applied_once(void) {
    env_t e;
    int32_t p = baton_partition_for("wf-2", NPART);
    int64_t next[2] = {5, -1};
    env_init_std(&e);
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
    env_init_std(&e);
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
    CHECK(e.dlq == 0 && snap(&e, "ghost") &&
              snap(&e, "ghost")->status == BATON_WF_HELD,
          "a signal to a workflow not started yet is held, not DLQ'd");
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
    env_init_std(&e);
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
    env_init_std(&e);
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
    env_init_std(&e);
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
    env_init_std(&e);
    baton_loop_batch_begin(e.loop);
    send_cmd(&e, BATON_CMD_START, "wf-7", "steps", NULL, "{}");
    env_run(&e, 0);
    CHECK(snap(&e, "wf-7") == NULL, "uncommitted state is forgotten");
    CHECK(baton_loop_next_offset(e.loop, baton_partition_for("wf-7", NPART),
                                 BATON_SRC_COMMANDS) == -1,
          "offsets do not advance without a commit");
    env_free(&e);
}

/* A write the store refuses as fenced (another instance took the partition
 * over): that partition is dropped and its outbox not produced; the other
 * partitions of the batch are written and produced. */
static void test_fenced_partition_is_dropped(void) {
    env_t e;
    char a[16] = "", b[16] = "";
    int32_t pa = -1, pb = -1;
    for (int i = 0; i < 100 && pb < 0; i++) {
        char id[16];
        snprintf(id, sizeof id, "f-%d", i);
        if (pa < 0) {
            pa = baton_partition_for(id, NPART);
            snprintf(a, sizeof a, "%s", id);
        } else if (baton_partition_for(id, NPART) != pa) {
            pb = baton_partition_for(id, NPART);
            snprintf(b, sizeof b, "%s", id);
        }
    }
    env_init_std(&e);
    e.fenced_mask = 1u << pa;
    send_cmd(&e, BATON_CMD_START, a, "steps", NULL, "{}");
    send_cmd(&e, BATON_CMD_START, b, "steps", NULL, "{}");
    env_run(&e, 1);
    CHECK(e.tasks == 1 && !strncmp(e.last_task, b, strlen(b)),
          "only the unfenced partition's task is produced (%d, %s)", e.tasks,
          e.last_task);
    CHECK(!baton_loop_owns(e.loop, pa), "the fenced partition is dropped");
    CHECK(baton_loop_owns(e.loop, pb), "the other partition stays");
    CHECK(snap(&e, a) == NULL, "the fenced run was not written");
    CHECK(snap(&e, b) != NULL, "the other run was written");
    CHECK(baton_loop_next_offset(e.loop, pb, BATON_SRC_COMMANDS) == 1,
          "the written partition's offset advances");
    CHECK(e.commits == 1, "the batch is committed, got %lld",
          (long long)e.commits);
    env_free(&e);
}

/* A run missing from the cache is loaded from the store through the port
 * (after an abandoned batch dropped every cache), then applied. */
static void test_cache_miss_loads_from_store(void) {
    env_t e;
    int64_t misses;
    env_init_std(&e);
    send_cmd(&e, BATON_CMD_START, "wf-8", "steps", NULL, "{}");
    env_run(&e, 1);
    send_cmd(&e, BATON_CMD_SIGNAL, "wf-8", NULL, "nobody-waits", "1");
    env_run(&e, 0); /* abandoned: every partition's cache is dropped */
    CHECK(baton_loop_cached(e.loop, baton_partition_for("wf-8", NPART),
                            "wf-8") == NULL,
          "the abandoned batch emptied the cache");
    misses = baton_loop_stats(e.loop)->cache_misses;
    send_result(&e, "wf-8/1/1", "wf-8", BATON_RESULT_COMPLETED, "{}");
    env_run(&e, 1);
    CHECK(baton_loop_stats(e.loop)->cache_misses == misses + 1,
          "the run was missing from the cache");
    CHECK(e.dlq == 0 && e.tasks == 1 && !strcmp(e.last_task, "wf-8/2/1"),
          "loaded from the store, the result schedules step 2 (dlq %d, %s)",
          e.dlq, e.last_task);
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
        env_init_std(&e);
        c.kind = BATON_CMD_START;
        c.workflow_id = "wf-oom";
        c.workflow_type = "steps";
        c.payload = "{\"a\":[1,2,3]}";
        baton_codec_encode_command(e.codec, &c, 0, &buf, &len, err, sizeof err);
        baton_loop_batch_begin(e.loop);
        baton_alloc_fail_after(n);
        if (!baton_loop_input(e.loop, BATON_SRC_COMMANDS,
                              baton_partition_for("wf-oom", NPART), 0, buf, len,
                              0)) {
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
    test_fenced_partition_is_dropped();
    test_cache_miss_loads_from_store();
    test_out_of_memory_sweep();
    printf("%d passed, %d failed\n", env_passed, env_failed);
    return env_failed ? 1 : 0;
}
