/*
 * worker_produce.c -- producing the answers of jobs: encoding a job's
 * result (on the pool thread that ran it), producing results and dead
 * letters with retries on a full queue or transient errors, delivery
 * reports (a job is ACKED only once Kafka acknowledged its answer, which
 * lets its offset be committed: worker_partitions.c), and answers that can
 * never be delivered.
 */
#include <stdio.h>
#include <string.h>

#include "worker_int.h"

static int produce_err_permanent(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
           err == RD_KAFKA_RESP_ERR_INVALID_RECORD;
}

/* The job's answer could never be delivered (too large, partition that
 * does not exist).  A result is replaced once by a small FAILED result;
 * otherwise the job counts as done so the partition moves on.  Thread:
 * run. */
static void job_undeliverable(baton_worker_t *w, job_t *j,
                              rd_kafka_resp_err_t err) {
    baton_result_t r = {0};
    char e[256], cause[512];

    BATON_ERROR(SUBSYS,
                "%s of task at %s [%d] offset %lld cannot be "
                "delivered: %s",
                j->to_dlq ? "dead letter" : "result", w->task_topic,
                (int)j->partition, (long long)j->offset, rd_kafka_err2str(err));
    if (!j->to_dlq && err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
        !(j->error && !strcmp(j->error, "Baton.ResultUndeliverable"))) {
        char *ename = baton_strdup("Baton.ResultUndeliverable");
        snprintf(cause, sizeof cause,
                 "the activity's result could not be "
                 "delivered: %s",
                 rd_kafka_err2str(err));
        r.task_id = j->task.task_id;
        r.workflow_id = j->task.workflow_id;
        r.kind = BATON_RESULT_FAILED;
        r.error = "Baton.ResultUndeliverable";
        r.cause = cause;
        r.worker = w->id;
        r.finished_at_ms = baton_now_ms();
        baton_free(j->out_buf);
        j->out_buf = NULL;
        baton_free(j->error);
        j->error = ename;
        j->kind = BATON_RESULT_FAILED;
        if (ename &&
            !baton_codec_encode_result(w->codec, &r, j->json, &j->out_buf,
                                       &j->out_len, e, sizeof e)) {
            baton_worker_list_push(&w->retry, j);
            return;
        }
        j->out_buf = NULL;
    }
    /* Give up on this one: count it as done. */
    w->out_pending--;
    j->state = JOB_ACKED;
    if (j->part)
        baton_worker_ring_advance(j->part);
    else
        baton_worker_job_free(j);
}

/* Produces j's message (result or dead letter).  On a full queue or a
 * transient error the job waits on the retry list.  Thread: run. */
void baton_worker_job_produce(baton_worker_t *w, job_t *j) {
    rd_kafka_headers_t *h =
        j->out_headers ? rd_kafka_headers_copy(j->out_headers) : NULL;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        w->producer,
        RD_KAFKA_V_TOPIC(j->to_dlq ? w->dlq_topic : w->results_topic),
        RD_KAFKA_V_PARTITION(j->to_dlq ? RD_KAFKA_PARTITION_UA
                                       : j->task.result_partition),
        RD_KAFKA_V_KEY(j->out_key, j->out_key_len),
        RD_KAFKA_V_VALUE(j->out_buf, j->out_len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE(j), RD_KAFKA_V_END);
    if (!err) {
        j->state = JOB_PRODUCED;
        if (w->test_fatal_after && /* TEST HOOK */
            ++w->test_produced == w->test_fatal_after) {
            BATON_WARN(SUBSYS,
                       "TEST HOOK: fatal error on the producer after %lld "
                       "results",
                       (long long)w->test_produced);
            rd_kafka_test_fatal_error(
                w->producer, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                "BATON_TEST_WORKER_PRODUCER_FATAL_AFTER");
        }
        return;
    }
    if (h) rd_kafka_headers_destroy(h);
    j->state = JOB_DONE;
    if (produce_err_permanent(err)) {
        job_undeliverable(w, j, err);
        return;
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        BATON_WARN(SUBSYS, "producing to %s: %s (retried)",
                   j->to_dlq ? w->dlq_topic : w->results_topic,
                   rd_kafka_err2str(err));
    baton_worker_list_push(&w->retry, j);
}

void baton_worker_produce_retries(baton_worker_t *w) {
    job_list_t l = w->retry;
    job_t *j;
    memset(&w->retry, 0, sizeof w->retry);
    while ((j = baton_worker_list_pop(&l))) baton_worker_job_produce(w, j);
}

/* Delivery report.  Thread: run (served by rd_kafka_poll(producer)). */
void baton_worker_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m,
                            void *opaque) {
    baton_worker_t *w = opaque;
    job_t *j = m->_private;
    (void)rk;
    if (!j) { /* a heartbeat: fire and forget */
        if (m->err)
            BATON_WARN(SUBSYS, "heartbeat not delivered: %s",
                       rd_kafka_err2str(m->err));
        return;
    }
    if (m->err) {
        j->state = JOB_DONE;
        if (produce_err_permanent(m->err)) {
            job_undeliverable(w, j, m->err);
        } else {
            BATON_WARN(SUBSYS, "%s of task %s not delivered: %s (retried)",
                       j->to_dlq ? "dead letter" : "result",
                       j->task.task_id ? j->task.task_id : "?",
                       rd_kafka_err2str(m->err));
            baton_worker_list_push(&w->retry, j);
        }
        return;
    }
    BATON_DEBUG(SUBSYS, "%s of %s [%d] offset %lld acknowledged",
                j->to_dlq ? "dead letter" : "result", w->task_topic,
                (int)j->partition, (long long)j->offset);
    w->out_pending--;
    j->state = JOB_ACKED;
    if (j->part)
        baton_worker_ring_advance(j->part);
    else
        baton_worker_job_free(j);
}

/* ---- the pool ------------------------------------------------------------
 */

/* Fills j->out_buf, out_key and out_headers with the encoded result; leaves
 * out_buf NULL when even a failure cannot be encoded.  Thread: pool. */
void baton_worker_job_encode_result(baton_worker_t *w, job_t *j,
                                    baton_codec_t *codec) {
    baton_result_t r = {0};
    char e[512];
    r.task_id = j->task.task_id;
    r.workflow_id = j->task.workflow_id;
    r.kind = j->kind;
    r.output = j->kind == BATON_RESULT_COMPLETED ? j->output : NULL;
    r.error = j->error;
    r.cause = j->cause;
    r.retry_after_ms = j->retry_after_ms;
    r.non_retryable = j->kind == BATON_RESULT_FAILED && j->non_retryable;
    r.worker = w->id;
    r.finished_at_ms = baton_now_ms();
    j->out_buf = NULL;
    if (baton_codec_encode_result(codec, &r, j->json, &j->out_buf, &j->out_len,
                                  e, sizeof e)) {
        /* An output the codec refuses (too large, ...) becomes a failure. */
        BATON_WARN(SUBSYS, "encoding the result of task %s: %s",
                   j->task.task_id, e);
        r.kind = BATON_RESULT_FAILED;
        r.output = NULL;
        r.error = "Baton.ResultEncoding";
        r.cause = e;
        r.retry_after_ms = 0;
        r.non_retryable = 0;
        j->kind = BATON_RESULT_FAILED;
        j->out_buf = NULL;
        if (baton_codec_encode_result(codec, &r, j->json, &j->out_buf,
                                      &j->out_len, e, sizeof e)) {
            BATON_ERROR(SUBSYS,
                        "encoding a failure for task %s: %s: the "
                        "task stays uncommitted",
                        j->task.task_id, e);
            j->out_buf = NULL;
            return;
        }
    }
    j->out_key_len = strlen(j->task.workflow_id);
    if (!(j->out_key = baton_strndup(j->task.workflow_id, j->out_key_len)) ||
        !(j->out_headers = baton_kafka_headers_new(j->json))) {
        BATON_ERROR(SUBSYS,
                    "out of memory answering task %s: it stays "
                    "uncommitted",
                    j->task.task_id);
        baton_free(j->out_buf);
        j->out_buf = NULL;
    }
}
