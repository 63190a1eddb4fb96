/*
 * test_worker_activity.c -- the worker SDK's handler-side logic without
 * Kafka (worker_activity.c, worker_pool.c's default outcome,
 * worker_heartbeat.c's throttle interval): reporting exactly once, retry
 * hints and the non-retryable flag, cancellation and deadlines, what a
 * handler that reports nothing answers, and the job lists.
 */
#include "worker_fixture.h"

/* A fresh job outside any partition; free with baton_worker_job_free. */
static job_t *job_new(void) {
    job_t *j = baton_calloc(1, sizeof *j);
    if (j) atomic_init(&j->cancel, 0);
    return j;
}

static void test_complete(void) {
    job_t *j = job_new();
    CHECK(baton_activity_complete(j, "{\"a\":1}") == BATON_OK,
          "complete with a JSON object");
    CHECK(j->reported && j->kind == BATON_RESULT_COMPLETED &&
              !strcmp(j->output, "{\"a\":1}"),
          "the output is kept as given");
    CHECK(baton_activity_complete(j, "2") == BATON_ERR_INVALID,
          "a second complete is refused");
    CHECK(baton_activity_fail(j, "X", NULL, 0) == BATON_ERR_INVALID,
          "a fail after complete is refused");
    CHECK(!strcmp(j->output, "{\"a\":1}") && !j->error,
          "the first report stands");
    baton_worker_job_free(j);

    j = job_new();
    CHECK(baton_activity_complete(j, "{\"a\":") == BATON_ERR_INVALID &&
              !j->reported,
          "invalid JSON is refused and nothing is reported");
    CHECK(baton_activity_complete(j, NULL) == BATON_OK &&
              !strcmp(j->output, "null"),
          "a NULL output completes with null");
    baton_worker_job_free(j);
}

static void test_fail(void) {
    job_t *j = job_new();
    CHECK(baton_activity_fail(j, NULL, NULL, -5) == BATON_OK,
          "fail without error name");
    CHECK(!strcmp(j->error, "States.TaskFailed") && !j->cause,
          "the default error name is States.TaskFailed");
    CHECK(j->retry_after_ms == 0, "a negative retry hint becomes none");
    CHECK(!j->non_retryable && j->kind == BATON_RESULT_FAILED,
          "plain fail is retryable");
    baton_worker_job_free(j);

    j = job_new();
    baton_activity_fail(j, "", "why", 1500);
    CHECK(!strcmp(j->error, "States.TaskFailed") && !strcmp(j->cause, "why"),
          "an empty error name is the default too; the cause is kept");
    CHECK(j->retry_after_ms == 1500, "the retry hint is kept");
    baton_worker_job_free(j);

    j = job_new();
    CHECK(baton_activity_fail_flags(j, "Bad.Input", "no", 0,
                                    BATON_FAIL_NON_RETRYABLE) == BATON_OK &&
              j->non_retryable && !strcmp(j->error, "Bad.Input"),
          "fail_flags marks the failure non-retryable");
    baton_worker_job_free(j);

    j = job_new();
    CHECK(baton_activity_fail_flags(j, "E", NULL, 0, 1 << 7) ==
                  BATON_ERR_INVALID &&
              !j->reported,
          "unknown flag bits are refused");
    baton_worker_job_free(j);

    j = job_new();
    baton_alloc_fail_after(0);
    CHECK(baton_activity_fail(j, "E", "cause", 0) == BATON_ERR_NOMEM &&
              !j->reported,
          "out of memory copying the error: NOMEM, nothing reported");
    baton_alloc_fail_after(-1);
    baton_worker_job_free(j);
}

static void test_accessors_and_cancel(void) {
    job_t *j = job_new();
    CHECK(!strcmp(baton_activity_input(j), "null"), "no input reads as null");
    j->task.attempt = 3;
    j->task.heartbeat_seconds = 9;
    CHECK(baton_activity_attempt(j) == 3 &&
              baton_activity_heartbeat_seconds(j) == 9,
          "attempt and heartbeat_seconds come from the task");
    CHECK(baton_activity_cancelled(j) == 0, "not cancelled");
    j->deadline_ms = baton_now_ms() + 60000;
    CHECK(baton_activity_cancelled(j) == 0, "a future deadline is not");
    j->deadline_ms = baton_now_ms() - 1;
    CHECK(baton_activity_cancelled(j) == BATON_CANCEL_DEADLINE,
          "a passed deadline cancels");
    j->deadline_ms = 0;
    atomic_fetch_or(&j->cancel, BATON_CANCEL_ORCHESTRATOR);
    CHECK(baton_activity_cancelled(j) == BATON_CANCEL_ORCHESTRATOR,
          "a cancellation notice shows");
    CHECK(baton_activity_sleep(j, 5000) == BATON_CANCEL_ORCHESTRATOR,
          "sleep returns at once when cancelled");
    atomic_store(&j->cancel, 0);
    {
        int64_t t0 = baton_now_ms();
        CHECK(baton_activity_sleep(j, 30) == 0 && baton_now_ms() - t0 >= 30,
              "sleep sleeps when not cancelled");
    }
    baton_worker_job_free(j);
}

static void test_default_outcome(void) {
    job_t *j = job_new();
    j->task.task_id = baton_strdup("wf/1/1");
    atomic_fetch_or(&j->cancel, BATON_CANCEL_ORCHESTRATOR);
    CHECK(baton_worker_job_default_outcome(j) == 1 &&
              !strcmp(j->error, "Baton.Cancelled"),
          "a notice-cancelled attempt answers Baton.Cancelled");
    baton_worker_job_free(j);

    j = job_new();
    j->task.task_id = baton_strdup("wf/1/1");
    atomic_fetch_or(&j->cancel, BATON_CANCEL_WORKER);
    CHECK(baton_worker_job_default_outcome(j) == 0 && !j->reported,
          "a task the worker gave up is left for redelivery");
    baton_worker_job_free(j);

    j = job_new();
    CHECK(baton_worker_job_default_outcome(j) == 1 &&
              !strcmp(j->error, "Baton.NoResult") &&
              strstr(j->cause, "without reporting a result"),
          "a silent handler answers Baton.NoResult");
    baton_worker_job_free(j);

    j = job_new();
    j->deadline_ms = baton_now_ms() - 1;
    baton_worker_job_default_outcome(j);
    CHECK(strstr(j->cause, "deadline passed") != NULL,
          "past its deadline the cause says so");
    baton_worker_job_free(j);
}

static void test_heartbeat_interval(void) {
    job_t j;
    memset(&j, 0, sizeof j);
    CHECK(baton_worker_heartbeat_interval_us(&j) == 1000000,
          "no heartbeat_seconds: one per second");
    j.task.heartbeat_seconds = 30;
    CHECK(baton_worker_heartbeat_interval_us(&j) == 10000000,
          "a third of heartbeat_seconds");
    j.task.heartbeat_seconds = 1;
    CHECK(baton_worker_heartbeat_interval_us(&j) == 333333,
          "1 s: every 333 ms");
}

static void test_lists(void) {
    job_list_t l = {0};
    job_t a, b, c;
    baton_worker_list_push(&l, &a);
    baton_worker_list_push(&l, &b);
    baton_worker_list_push(&l, &c);
    CHECK(l.cnt == 3, "three queued");
    CHECK(baton_worker_list_pop(&l) == &a && baton_worker_list_pop(&l) == &b,
          "first in, first out");
    CHECK(baton_worker_list_pop(&l) == &c && !baton_worker_list_pop(&l) &&
              l.cnt == 0 && !l.head && !l.tail,
          "empty again");
    CHECK(baton_worker_json_valid("[1,2]") && baton_worker_json_valid("3") &&
              !baton_worker_json_valid("{") && !baton_worker_json_valid(""),
          "any JSON value is valid, nothing else");
}

int main(void) {
    test_complete();
    test_fail();
    test_accessors_and_cancel();
    test_default_outcome();
    test_heartbeat_interval();
    test_lists();
    return fixture_report();
}
