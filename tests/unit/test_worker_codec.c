/*
 * test_worker_codec.c -- what the worker SDK does with the wire format,
 * without Kafka: decoding a task message into a job (worker_consume.c:
 * handler, deadline, the reasons a message goes to the DLQ) and encoding
 * a job's answer (worker_produce.c: outcome, retry hint, non-retryable
 * flag, key and headers), in Avro and in JSON.
 */
#include "worker_fixture.h"

static void noop_handler(baton_activity_t *act, void *opaque) {
    (void)act;
    (void)opaque;
}

static baton_task_t sample_task(void) {
    baton_task_t t = {0};
    t.task_id = "wf-7/2/1";
    t.idempotency_key = "wf-7/2";
    t.workflow_id = "wf-7";
    t.activity_seq = 2;
    t.attempt = 1;
    t.activity_type = "greet";
    t.queue = "default";
    t.input = "{\"name\":\"ada\"}";
    t.result_partition = 5;
    t.scheduled_at_ms = 1700000000000;
    t.timeout_seconds = 30;
    return t;
}

/* Encodes t, decodes it into a fresh job of w.  Returns the job (its
 * decode status in *rc, the reason in why). */
static job_t *decode(baton_worker_t *w, const baton_task_t *t, int json,
                     int *rc, char *why, size_t whylen) {
    job_t *j = baton_calloc(1, sizeof *j);
    char *buf = NULL, e[256];
    size_t len = 0;
    atomic_init(&j->cancel, 0);
    j->json = json;
    if (baton_codec_encode_task(w->codec, t, json, &buf, &len, e, sizeof e)) {
        fprintf(stderr, "encoding the sample task: %s\n", e);
        *rc = -2;
        return j;
    }
    *rc = baton_worker_job_decode(w, j, buf, len, why, whylen);
    baton_free(buf);
    return j;
}

static void test_decode(int json) {
    baton_worker_t *w = fixture_worker(2);
    baton_task_t t = sample_task();
    char why[600] = "";
    int rc;
    job_t *j;

    CHECK(baton_worker_register(w, "greet", noop_handler, NULL) == BATON_OK,
          "register greet");
    j = decode(w, &t, json, &rc, why, sizeof why);
    CHECK(rc == 0, why);
    CHECK(!strcmp(j->task.task_id, "wf-7/2/1") &&
              !strcmp(baton_activity_input(j), "{\"name\":\"ada\"}") &&
              j->task.result_partition == 5,
          "the task's fields arrive");
    CHECK(j->handler && !strcmp(j->handler->type, "greet"),
          "the registered handler is found");
    CHECK(j->deadline_ms == 1700000000000 + 30000,
          "deadline = scheduled + timeout");
    baton_worker_job_free(j);

    t.activity_type = "unknown";
    t.timeout_seconds = 0;
    j = decode(w, &t, json, &rc, why, sizeof why);
    CHECK(rc == 0 && !j->handler && j->deadline_ms == 0,
          "an unknown type decodes, without handler nor deadline");
    baton_worker_job_free(j);

    if (json) { /* the encoder refuses it: edit a JSON message by hand */
        char *raw = NULL, *buf, *at, e[256], edited[2048];
        size_t len = 0;
        t = sample_task();
        baton_codec_encode_task(w->codec, &t, 1, &raw, &len, e, sizeof e);
        buf = raw ? baton_strndup(raw, len) : NULL; /* NUL-terminated */
        baton_free(raw);
        at = buf ? strstr(buf, "\"result_partition\":5") : NULL;
        CHECK(at != NULL, "the JSON task names result_partition");
        if (at && len + 2 < sizeof edited) {
            int n = snprintf(edited, sizeof edited,
                             "%.*s\"result_partition\":-1%s", (int)(at - buf),
                             buf, at + strlen("\"result_partition\":5"));
            j = baton_calloc(1, sizeof *j);
            j->json = 1;
            CHECK(baton_worker_job_decode(w, j, edited, (size_t)n, why,
                                          sizeof why) == -1 &&
                      strstr(why, "result_partition") && !j->task.task_id,
                  "a negative result_partition is refused, the task "
                  "cleared");
            baton_worker_job_free(j);
        }
        baton_free(buf);
    }

    j = baton_calloc(1, sizeof *j);
    j->json = json;
    CHECK(baton_worker_job_decode(w, j, "", 0, why, sizeof why) == -1 &&
              !strcmp(why, "empty message: expected an activity task"),
          "an empty message is refused");
    CHECK(baton_worker_job_decode(w, j, "\x01\x02garbage", 9, why,
                                  sizeof why) == -1 &&
              !strncmp(why,
                       json ? "undecodable JSON task: "
                            : "undecodable Avro task: ",
                       23),
          "garbage is refused naming its encoding");
    baton_worker_job_free(j);
    baton_worker_destroy(w);
}

/* Encodes j's answer and decodes it back into r. */
static int answer(baton_worker_t *w, job_t *j, baton_result_t *r) {
    char e[256];
    baton_worker_job_encode_result(w, j, w->codec);
    if (!j->out_buf) return -1;
    return baton_codec_decode_result(w->codec, j->out_buf, j->out_len, j->json,
                                     r, e, sizeof e);
}

static void test_encode(int json) {
    baton_worker_t *w = fixture_worker(2);
    baton_task_t t = sample_task();
    baton_result_t r;
    char why[600];
    int rc;
    job_t *j = decode(w, &t, json, &rc, why, sizeof why);

    baton_activity_complete(j, "{\"hello\":\"ada\"}");
    CHECK(answer(w, j, &r) == 0, "a completed result round-trips");
    CHECK(r.kind == BATON_RESULT_COMPLETED && !strcmp(r.task_id, "wf-7/2/1") &&
              !strcmp(r.workflow_id, "wf-7") &&
              !strcmp(r.worker, "test-worker"),
          "ids and worker identity");
    CHECK(r.output && strstr(r.output, "ada"), "the output");
    CHECK(j->out_key_len == 4 && !memcmp(j->out_key, "wf-7", 4) &&
              j->out_headers != NULL,
          "keyed by workflow id, with headers");
    baton_result_clear(&r);
    baton_worker_job_free(j);

    j = decode(w, &t, json, &rc, why, sizeof why);
    baton_activity_fail_flags(j, "Api.Down", "503", 2500,
                              BATON_FAIL_NON_RETRYABLE);
    CHECK(answer(w, j, &r) == 0, "a failure round-trips");
    CHECK(r.kind == BATON_RESULT_FAILED && !strcmp(r.error, "Api.Down") &&
              !strcmp(r.cause, "503") && r.retry_after_ms == 2500 &&
              r.non_retryable == 1 && !r.output,
          "error, cause, retry hint and non-retryable flag");
    baton_result_clear(&r);
    baton_worker_job_free(j);
    baton_worker_destroy(w);
}

int main(void) {
    test_decode(0);
    test_decode(1);
    test_encode(0);
    test_encode(1);
    return fixture_report();
}
