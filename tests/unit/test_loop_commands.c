/*
 * test_loop_commands.c -- the command contract of schema version 3
 * (docs/bridge.md, loop.h "Dedupe", engine.h rules) through the in-memory
 * batond of loop_env.c, which runs the real batch sequence: dedupe by
 * dedupe_id and request_id (within a batch, across batches, across an
 * abandoned and re-applied batch, the window, DLQ'd commands not
 * remembered), forwards stamped so a re-sent forward applies once, the
 * three id_reuse policies, start_if_absent both ways, held signals
 * delivered at start and expired to the DLQ, and the source coordinates
 * copied into the history.
 */
#include <stdio.h>
#include <string.h>

#include "loop_env.h"

static const char *DEF_STEPS =
    "{\"StartAt\":\"A\",\"States\":{"
    "\"A\":{\"Type\":\"Task\",\"Resource\":\"baton:activity:default/noop\","
    "\"ResultPath\":\"$.a\",\"End\":true}}}";

static const char *DEF_SIGNAL =
    "{\"StartAt\":\"A\",\"States\":{"
    "\"A\":{\"Type\":\"Task\",\"Resource\":\"baton:activity:default/noop\","
    "\"ResultPath\":null,\"Next\":\"W\"},"
    "\"W\":{\"Type\":\"Task\",\"Resource\":\"baton:signal:go\","
    "\"ResultPath\":\"$.sig\",\"Next\":\"W2\"},"
    "\"W2\":{\"Type\":\"Task\",\"Resource\":\"baton:signal:go\","
    "\"ResultPath\":\"$.sig2\",\"End\":true}}}";

static void env_init_std(env_t *e) {
    env_def_t defs[] = {{"steps", DEF_STEPS}, {"sig", DEF_SIGNAL}, {0, 0}};
    env_init(e, defs);
    baton_loop_batch_begin(e->loop);
}

static void signal_dd(env_t *e, const char *id, const char *dd,
                      const char *req) {
    baton_command_t c = {0};
    c.kind = BATON_CMD_SIGNAL;
    c.workflow_id = (char *)id;
    c.name = "go";
    c.payload = "{\"n\":1}";
    c.dedupe_id = (char *)dd;
    c.request_id = (char *)req;
    env_command(e, &c);
}

/* Starts `id` on "sig" and completes its activity: it waits for "go". */
static void start_waiting(env_t *e, const char *id) {
    char task[128];
    env_cmd(e, BATON_CMD_START, id, "sig", NULL, "{}");
    env_run(e, 1);
    snprintf(task, sizeof task, "%s/1/1", id);
    env_simple_result(e, task, id, BATON_RESULT_COMPLETED, "{}");
    env_run(e, 1);
}

static void test_dedupe(void) {
    env_t e;
    env_init_std(&e);
    start_waiting(&e, "d1");
    CHECK(env_snap(&e, "d1")->pend == BATON_PEND_SIGNAL, "d1 waits");

    /* The same dedupe id twice in one batch: applied once. */
    signal_dd(&e, "d1", "src/t/0/7", NULL);
    signal_dd(&e, "d1", "src/t/0/7", NULL);
    env_run(&e, 1);
    CHECK(env_hist_count(&e, "\"SignalReceived\"") == 1,
          "one of two copies in a batch is delivered (%d)",
          env_hist_count(&e, "\"SignalReceived\""));
    CHECK(baton_loop_stats(e.loop)->duplicates == 1, "one duplicate counted");
    CHECK(env_snap(&e, "d1")->dup == 1, "the run counts it");
    CHECK(env_hist_count(&e, "\"CommandDuplicate\"") == 1,
          "the duplicate is in the history");

    /* Again in a later batch: the store remembers it. */
    signal_dd(&e, "d1", "src/t/0/7", NULL);
    env_run(&e, 1);
    CHECK(env_hist_count(&e, "\"SignalReceived\"") == 1 &&
              env_snap(&e, "d1")->status == BATON_WF_RUNNING,
          "a redelivery in a later batch changes nothing but the count");
    CHECK(baton_loop_stats(e.loop)->duplicates == 2, "two duplicates");

    /* A batch abandoned (its write failed) and applied again: once. */
    signal_dd(&e, "d1", "src/t/0/8", NULL);
    env_run(&e, 0);
    signal_dd(&e, "d1", "src/t/0/8", NULL);
    env_run(&e, 1);
    CHECK(env_snap(&e, "d1")->status == BATON_WF_SUCCEEDED,
          "the re-applied signal completes the second wait");
    CHECK(env_hist_count(&e, "\"SignalReceived\"") == 2,
          "delivered once after the abandoned batch (%d)",
          env_hist_count(&e, "\"SignalReceived\""));
    env_free(&e);
}

static void test_dedupe_request_id_and_window(void) {
    env_t e;
    baton_command_t c = {0};
    env_init_std(&e);
    start_waiting(&e, "r1");
    signal_dd(&e, "r1", NULL, "req-1");
    env_run(&e, 1);
    signal_dd(&e, "r1", NULL, "req-1");
    env_run(&e, 1);
    CHECK(env_hist_count(&e, "\"SignalReceived\"") == 1,
          "a client's request id dedupes a resent signal");
    CHECK(env_snap(&e, "r1")->status == BATON_WF_RUNNING &&
              env_snap(&e, "r1")->pend == BATON_PEND_SIGNAL,
          "still at the second wait");

    /* A short window: once it is over the id is applied again. */
    c.kind = BATON_CMD_SIGNAL;
    c.workflow_id = "r1";
    c.name = "go";
    c.payload = "2";
    c.dedupe_id = "w";
    c.dedupe_window_ms = 1000;
    env_command(&e, &c);
    env_run(&e, 1);
    env_advance(&e, 2000);
    env_cmd(&e, BATON_CMD_START, "r2", "sig", NULL, "{}");
    c.workflow_id = "r2";
    env_command(&e, &c);
    env_run(&e, 1);
    env_command(&e, &c);
    env_run(&e, 1);
    CHECK(env_snap(&e, "r2")->signals &&
              json_array_size(
                  json_object_get(env_snap(&e, "r2")->signals, "go")) == 1,
          "the dedupe key is per workflow id, within the window");
    env_advance(&e, 2000);
    env_command(&e, &c);
    env_run(&e, 1);
    CHECK(json_array_size(json_object_get(env_snap(&e, "r2")->signals, "go")) ==
              2,
          "after the window the same id is applied again");

    /* A command rejected to the DLQ is not remembered. */
    c.kind = BATON_CMD_START;
    c.workflow_id = "r3";
    c.workflow_type = "no-such-type";
    c.dedupe_id = "x";
    env_command(&e, &c);
    env_run(&e, 1);
    CHECK(e.dlq == 1, "unknown type to the DLQ");
    env_command(&e, &c);
    env_run(&e, 1);
    CHECK(e.dlq == 1, "and again: a DLQ'd command's id is not remembered");
    env_free(&e);
}

static void test_forward_dedupe(void) {
    env_t e;
    baton_command_t c = {0};
    char *buf, err[256], *copy;
    size_t len;
    int32_t right, wrong;
    env_init_std(&e);
    start_waiting(&e, "f1");
    right = baton_partition_for("f1", NPART);
    wrong = (right + 1) % NPART;
    c.kind = BATON_CMD_SIGNAL;
    c.workflow_id = "f1";
    c.name = "go";
    c.payload = "1";
    baton_codec_encode_command(e.codec, &c, 0, &buf, &len, err, sizeof err);
    env_feed(&e, BATON_SRC_COMMANDS, wrong, buf, len, 0);
    env_run(&e, 1);
    CHECK(e.forwards == 1 && e.nout == 1, "forwarded once");
    /* The outbox re-sends the forward (batond died before its delivery
     * was recorded): two copies reach the right partition. */
    copy = baton_malloc(e.out[0].len);
    memcpy(copy, e.out[0].value, e.out[0].len);
    env_feed(&e, BATON_SRC_COMMANDS, right, copy, e.out[0].len, 0);
    env_refeed(&e);
    env_run(&e, 1);
    CHECK(env_hist_count(&e, "\"SignalReceived\"") == 1,
          "a re-sent forward is applied once (%d)",
          env_hist_count(&e, "\"SignalReceived\""));
    CHECK(env_hist_count(&e, "baton:fwd/") >= 1,
          "the forward carries its stamped dedupe id");
    baton_free(copy);
    baton_free(buf);
    env_free(&e);
}

static void start_policy(env_t *e, const char *id, const char *policy) {
    baton_command_t c = {0};
    c.kind = BATON_CMD_START;
    c.workflow_id = (char *)id;
    c.workflow_type = "steps";
    c.payload = "{\"again\":true}";
    c.id_reuse = (char *)policy;
    env_command(e, &c);
    env_run(e, 1);
}

static void test_id_reuse(void) {
    env_t e;
    env_init_std(&e);
    /* Running: refused under every policy, recorded. */
    env_cmd(&e, BATON_CMD_START, "u1", "steps", NULL, "{}");
    env_run(&e, 1);
    start_policy(&e, "u1", NULL);
    start_policy(&e, "u1", BATON_ID_REUSE_ALLOW_AFTER_CLOSE);
    start_policy(&e, "u1", BATON_ID_REUSE_NEVER);
    CHECK(env_hist_count(&e, "\"StartRefused\"") == 3,
          "three STARTs of a running id refused and recorded (%d)",
          env_hist_count(&e, "\"StartRefused\""));
    CHECK(env_hist_count(&e, "\"WorkflowStarted\"") == 1, "one run");

    /* Succeeded: refuse_while_running and never refuse; allow_after_close
     * starts a new run that continues history and step numbers. */
    env_simple_result(&e, "u1/1/1", "u1", BATON_RESULT_COMPLETED, "1");
    env_run(&e, 1);
    CHECK(env_snap(&e, "u1")->status == BATON_WF_SUCCEEDED, "u1 succeeded");
    start_policy(&e, "u1", NULL);
    start_policy(&e, "u1", BATON_ID_REUSE_NEVER);
    CHECK(env_hist_count(&e, "\"WorkflowStarted\"") == 1 &&
              env_hist_count(&e, "\"StartRefused\"") == 5,
          "a succeeded run is not started again by default or never");
    start_policy(&e, "u1", BATON_ID_REUSE_ALLOW_AFTER_CLOSE);
    CHECK(env_hist_count(&e, "\"WorkflowStarted\"") == 2 &&
              env_snap(&e, "u1")->status == BATON_WF_RUNNING,
          "allow_after_close starts a new run");
    CHECK(e.tasks == 1 && !strcmp(e.last_task, "u1/2/1"),
          "the new run continues the step numbers (%s)", e.last_task);
    CHECK(env_snap(&e, "u1")->hseq > 5, "and the history sequence");
    /* A late result of the old run is stale for the new one. */
    env_simple_result(&e, "u1/1/1", "u1", BATON_RESULT_COMPLETED, "1");
    env_run(&e, 1);
    CHECK(env_snap(&e, "u1")->status == BATON_WF_RUNNING,
          "the old run's result does not complete the new run");

    /* Not succeeded (cancelled): the default policy starts a new run,
     * never refuses it. */
    env_cmd(&e, BATON_CMD_CANCEL, "u1", NULL, NULL, NULL);
    env_run(&e, 1);
    CHECK(env_snap(&e, "u1")->status == BATON_WF_CANCELLED, "cancelled");
    start_policy(&e, "u1", BATON_ID_REUSE_NEVER);
    CHECK(env_snap(&e, "u1")->status == BATON_WF_CANCELLED,
          "never refuses after a cancel");
    start_policy(&e, "u1", NULL);
    CHECK(env_snap(&e, "u1")->status == BATON_WF_RUNNING &&
              env_hist_count(&e, "\"WorkflowStarted\"") == 3,
          "refuse_while_running starts again after a run that failed");
    env_free(&e);
}

static void sig_or_start(env_t *e, const char *id, const char *input) {
    baton_command_t c = {0};
    c.kind = BATON_CMD_SIGNAL;
    c.workflow_id = (char *)id;
    c.name = "go";
    c.payload = "{\"p\":1}";
    c.start_if_absent = 1;
    c.workflow_type = "sig";
    c.start_input = (char *)input;
    env_command(e, &c);
    env_run(e, 1);
}

static void test_start_if_absent(void) {
    env_t e;
    const baton_snapshot_t *s;
    env_init_std(&e);
    sig_or_start(&e, "s1", "{\"from\":\"event\"}");
    s = env_snap(&e, "s1");
    CHECK(s && s->status == BATON_WF_RUNNING &&
              json_is_string(json_object_get(s->input, "from")),
          "no run: started with start_input");
    CHECK(!s->signals && env_hist_count(&e, "\"SignalReceived\"") == 0,
          "the signal is not delivered to the run it started");
    sig_or_start(&e, "s1", "{\"from\":\"again\"}");
    s = env_snap(&e, "s1");
    CHECK(env_hist_count(&e, "\"WorkflowStarted\"") == 1 &&
              env_hist_count(&e, "\"SignalReceived\"") == 1,
          "a run exists: the signal is delivered to it");
    CHECK(s->signals && json_object_get(s->signals, "go"),
          "kept until the run waits");
    env_free(&e);
}

static void test_held_signals(void) {
    env_t e;
    baton_command_t c = {0};
    const baton_snapshot_t *s;
    env_init_std(&e);
    /* A signal before its START: held, then delivered when it starts. */
    env_cmd(&e, BATON_CMD_SIGNAL, "h1", NULL, "go", "{\"early\":1}");
    env_run(&e, 1);
    s = env_snap(&e, "h1");
    CHECK(e.dlq == 0 && s && s->status == BATON_WF_HELD &&
              json_array_size(s->held) == 1,
          "held, not DLQ'd");
    CHECK(baton_loop_next_timer(e.loop) != INT64_MAX, "its expiry is armed");
    env_cmd(&e, BATON_CMD_START, "h1", "sig", NULL, "{}");
    env_run(&e, 1);
    s = env_snap(&e, "h1");
    CHECK(s && s->status == BATON_WF_RUNNING && s->hseq >= 2 &&
              env_hist_count(&e, "\"held\":true") == 1,
          "the run starts and records the held signal");
    env_simple_result(&e, "h1/1/1", "h1", BATON_RESULT_COMPLETED, "{}");
    env_run(&e, 1);
    s = env_snap(&e, "h1");
    CHECK(s && s->pend == BATON_PEND_SIGNAL &&
              json_object_get(s->state_input, "sig"),
          "the held signal completed the first wait");
    env_advance(&e, 2 * 3600 * 1000);
    env_run(&e, 1);
    CHECK(e.dlq == 0, "the expiry timer of a started run does nothing");

    /* Never started: to the DLQ after its hold, the HELD state deleted. */
    c.kind = BATON_CMD_SIGNAL;
    c.workflow_id = "h2";
    c.name = "go";
    c.payload = "3";
    c.signal_hold_ms = 1000;
    c.source_trigger = "pay";
    c.source_topic = "shop.payments";
    c.source_offset = 41;
    env_command(&e, &c);
    env_run(&e, 1);
    CHECK(env_snap(&e, "h2") && env_snap(&e, "h2")->status == BATON_WF_HELD,
          "h2 held");
    env_advance(&e, 500);
    env_run(&e, 1);
    CHECK(e.dlq == 0, "not before its hold");
    env_advance(&e, 1000);
    env_run(&e, 1);
    CHECK(e.dlq == 1 && strstr(e.last_dlq, "held"),
          "to the DLQ after its hold (%d: %s)", e.dlq, e.last_dlq);
    CHECK(env_snap(&e, "h2") == NULL, "the held state is deleted");
    env_cmd(&e, BATON_CMD_START, "h2", "sig", NULL, "{}");
    env_run(&e, 1);
    CHECK(env_snap(&e, "h2")->signals == NULL, "a late start gets nothing");
    env_free(&e);
}

static void test_source_in_history(void) {
    env_t e;
    baton_command_t c = {0};
    env_init_std(&e);
    c.kind = BATON_CMD_START;
    c.workflow_id = "o1";
    c.workflow_type = "steps";
    c.source_trigger = "order-created";
    c.source_topic = "shop.orders";
    c.source_partition = 2;
    c.source_offset = 1234;
    c.dedupe_id = "order-created/shop.orders/2/1234";
    env_command(&e, &c);
    env_run(&e, 1);
    CHECK(env_hist_count(&e, "\"trigger\":\"order-created\"") == 1 &&
              env_hist_count(&e, "\"offset\":1234") == 1 &&
              env_hist_count(&e, "\"topic\":\"shop.orders\"") == 1,
          "WorkflowStarted carries the source event's coordinates");
    env_free(&e);
}

int main(void) {
    baton_log_configure("error", NULL);
    test_dedupe();
    test_dedupe_request_id_and_window();
    test_forward_dedupe();
    test_id_reuse();
    test_start_if_absent();
    test_held_signals();
    test_source_in_history();
    printf("%d passed, %d failed\n", env_passed, env_failed);
    return env_failed ? 1 : 0;
}
