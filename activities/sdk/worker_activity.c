/*
 * worker_activity.c -- the job as a handler sees it (baton_activity_t):
 * the job lists the run thread and the pool pass jobs on, freeing a job,
 * the accessors a handler reads its task with, and reporting an outcome
 * (complete, fail with retry hint and non-retryable flag), cancellation
 * and an interruptible sleep.  Pure: no Kafka calls (worker_int.h).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "worker_int.h"

void baton_worker_list_push(job_list_t *l, job_t *j) {
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->cnt++;
}

job_t *baton_worker_list_pop(job_list_t *l) {
    job_t *j = l->head;
    if (!j) return NULL;
    l->head = j->next;
    if (!l->head) l->tail = NULL;
    l->cnt--;
    j->next = NULL;
    return j;
}

int baton_worker_json_valid(const char *s) {
    json_error_t e;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
    if (!j) return 0;
    json_decref(j);
    return 1;
}

void baton_worker_job_free(job_t *j) {
    if (!j) return;
    baton_task_clear(&j->task);
    baton_free(j->output);
    baton_free(j->error);
    baton_free(j->cause);
    baton_free(j->hb_details);
    baton_free(j->out_buf);
    baton_free(j->out_key);
    if (j->out_headers) rd_kafka_headers_destroy(j->out_headers);
    baton_worker_trace_free(j);
    baton_free(j);
}

const handler_t *baton_worker_handler_find(const baton_worker_t *w,
                                           const char *type) {
    for (int i = 0; i < w->handler_cnt; i++)
        if (!strcmp(w->handlers[i].type, type)) return &w->handlers[i];
    return NULL;
}

/* ---- inside a handler ----------------------------------------------------
 */

const char *baton_activity_input(const baton_activity_t *a) {
    return a->task.input ? a->task.input : "null";
}
const char *baton_activity_task_id(const baton_activity_t *a) {
    return a->task.task_id;
}
const char *baton_activity_idempotency_key(const baton_activity_t *a) {
    return a->task.idempotency_key;
}
const char *baton_activity_workflow_id(const baton_activity_t *a) {
    return a->task.workflow_id;
}
const char *baton_activity_type(const baton_activity_t *a) {
    return a->task.activity_type;
}
int32_t baton_activity_attempt(const baton_activity_t *a) {
    return a->task.attempt;
}
const char *baton_activity_heartbeat_details(const baton_activity_t *a) {
    return a->task.heartbeat_details;
}
int32_t baton_activity_heartbeat_seconds(const baton_activity_t *a) {
    return a->task.heartbeat_seconds;
}
int64_t baton_activity_deadline_ms(const baton_activity_t *a) {
    return a->deadline_ms;
}
int32_t baton_activity_partition(const baton_activity_t *a) {
    return a->partition;
}
int64_t baton_activity_offset(const baton_activity_t *a) {
    return a->offset;
}

int baton_activity_cancelled(const baton_activity_t *a) {
    int why = atomic_load(&((baton_activity_t *)a)->cancel);
    if (a->deadline_ms && baton_now_ms() >= a->deadline_ms)
        why |= BATON_CANCEL_DEADLINE;
    return why;
}

int baton_activity_sleep(const baton_activity_t *act, int64_t ms) {
    int64_t start = baton_now_ms(), slept;
    while ((slept = baton_now_ms() - start) < ms) {
        int64_t left = ms - slept;
        struct timespec ts = {0, (long)(left < 20 ? left : 20) * 1000000L};
        int why = baton_activity_cancelled(act);
        if (why) return why;
        nanosleep(&ts, NULL);
    }
    return 0;
}

baton_err_t baton_activity_complete(baton_activity_t *a,
                                    const char *output_json) {
    char *out;
    if (a->reported) return BATON_ERR_INVALID;
    if (!output_json) output_json = "null";
    if (!baton_worker_json_valid(output_json)) return BATON_ERR_INVALID;
    if (!(out = baton_strdup(output_json))) return BATON_ERR_NOMEM;
    a->output = out;
    a->kind = BATON_RESULT_COMPLETED;
    a->reported = 1;
    return BATON_OK;
}

baton_err_t baton_activity_fail(baton_activity_t *a, const char *error,
                                const char *cause, int64_t retry_after_ms) {
    return baton_activity_fail_flags(a, error, cause, retry_after_ms, 0);
}

baton_err_t baton_activity_fail_flags(baton_activity_t *a, const char *error,
                                      const char *cause, int64_t retry_after_ms,
                                      int flags) {
    char *e, *c = NULL;
    if (flags & ~BATON_FAIL_NON_RETRYABLE) return BATON_ERR_INVALID;
    if (a->reported) return BATON_ERR_INVALID;
    if (!(e = baton_strdup(error && *error ? error : "States.TaskFailed")) ||
        (cause && !(c = baton_strdup(cause)))) {
        baton_free(e);
        return BATON_ERR_NOMEM;
    }
    a->error = e;
    a->cause = c;
    a->retry_after_ms = retry_after_ms > 0 ? retry_after_ms : 0;
    a->non_retryable = (flags & BATON_FAIL_NON_RETRYABLE) != 0;
    a->kind = BATON_RESULT_FAILED;
    a->reported = 1;
    return BATON_OK;
}
