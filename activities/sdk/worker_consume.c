/*
 * worker_consume.c -- consuming: one message of the task topic becomes a
 * job in its partition's ring and, once decoded, a BACKLOG job for the
 * pool; a message that cannot be decoded goes to the dead-letter topic
 * with the reason (baton_worker.h).
 */
#include <stdio.h>
#include <string.h>

#include "worker_int.h"

/* Sends an undecodable message to the DLQ with the reason.  Thread: run. */
static void job_dead_letter(baton_worker_t *w, job_t *j,
                            const rd_kafka_message_t *m, const char *why) {
    rd_kafka_headers_t *orig = NULL;
    char num[32];

    BATON_WARN(SUBSYS, "task at %s [%d] offset %lld to %s: %s", w->task_topic,
               (int)m->partition, (long long)m->offset, w->dlq_topic, why);
    j->to_dlq = 1;
    if (m->len && !(j->out_buf = baton_malloc(m->len))) goto oom;
    if (m->len) memcpy(j->out_buf, m->payload, m->len);
    j->out_len = m->len;
    if (m->key_len && !(j->out_key = baton_malloc(m->key_len))) goto oom;
    if (m->key_len) memcpy(j->out_key, m->key, m->key_len);
    j->out_key_len = m->key_len;
    j->out_headers = !rd_kafka_message_headers(m, &orig)
                         ? rd_kafka_headers_copy(orig)
                         : rd_kafka_headers_new(4);
    rd_kafka_header_add(j->out_headers, "baton-error", -1, why, -1);
    rd_kafka_header_add(j->out_headers, "baton-source-topic", -1, w->task_topic,
                        -1);
    snprintf(num, sizeof num, "%d", (int)m->partition);
    rd_kafka_header_add(j->out_headers, "baton-source-partition", -1, num, -1);
    snprintf(num, sizeof num, "%lld", (long long)m->offset);
    rd_kafka_header_add(j->out_headers, "baton-source-offset", -1, num, -1);
    w->out_pending++;
    baton_worker_job_produce(w, j);
    return;
oom:
    /* Left unanswered: uncommitted, it is retried after a restart. */
    BATON_ERROR(SUBSYS, "out of memory copying a dead letter");
    j->state = JOB_ABANDONED;
}

int baton_worker_job_decode(baton_worker_t *w, job_t *j, const void *payload,
                            size_t len, char *why, size_t whylen) {
    char e[512];
    if (!payload || !len) {
        snprintf(why, whylen, "empty message: expected an activity task");
        return -1;
    }
    if (baton_codec_decode_task(w->codec, payload, len, j->json, &j->task, e,
                                sizeof e)) {
        snprintf(why, whylen, "undecodable %s task: %s",
                 j->json ? "JSON" : "Avro", e);
        baton_task_clear(&j->task);
        memset(&j->task, 0, sizeof j->task);
        return -1;
    }
    if (j->task.result_partition < 0) {
        snprintf(why, whylen, "negative result_partition");
        baton_task_clear(&j->task);
        memset(&j->task, 0, sizeof j->task);
        return -1;
    }
    j->handler = baton_worker_handler_find(w, j->task.activity_type);
    if (j->task.timeout_seconds > 0)
        j->deadline_ms = (j->task.scheduled_at_ms > 0 ? j->task.scheduled_at_ms
                                                      : baton_now_ms()) +
                         (int64_t)j->task.timeout_seconds * 1000;
    return 0;
}

/* One message from the consumer.  Thread: run. */
void baton_worker_handle_message(baton_worker_t *w, rd_kafka_message_t *m) {
    part_t *p;
    job_t *j;
    char why[600];

    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
        if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
            BATON_ERROR(SUBSYS,
                        "%s [%d]: committed offset no longer in the "
                        "log, tasks were LOST (retention): %s",
                        w->task_topic, (int)m->partition,
                        rd_kafka_message_errstr(m));
        else
            BATON_WARN(SUBSYS, "consumer: %s", rd_kafka_message_errstr(m));
        return;
    }
    /* Stopping, or a message of a partition given up meanwhile: not
     * tracked, so never committed; its next owner reads it. */
    if (w->stopping || w->fatal ||
        !(p = baton_worker_part_assigned(w, m->partition)))
        return;
    if (p->next_offset >= 0 && m->offset < p->next_offset) return; /* dup */
    if (!(j = baton_calloc(1, sizeof *j)) || baton_worker_ring_push(p, j)) {
        baton_free(j);
        baton_worker_set_fatal(w, BATON_ERR_NOMEM,
                               "out of memory tracking a task");
        return;
    }
    p->next_offset = m->offset + 1;
    j->w = w;
    j->part = p;
    j->partition = m->partition;
    j->offset = m->offset;
    j->json = baton_kafka_msg_is_json(m);
    atomic_init(&j->cancel, 0);

    if (baton_worker_job_decode(w, j, m->payload, m->len, why, sizeof why)) {
        job_dead_letter(w, j, m, why);
        return;
    }
    baton_worker_trace_begin(w, j, m);
    j->state = JOB_BACKLOG;
    baton_worker_list_push(&w->backlog, j);
}
