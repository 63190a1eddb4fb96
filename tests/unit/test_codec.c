/*
 * test_codec.c -- unit tests of the wire codec (common/codec.c).
 *
 * Round trips of every envelope in Avro binary and JSON, the lenient JSON
 * input forms, validation (missing fields, bad payload JSON, task ids),
 * hostile input (random bytes, every truncation, mutated valid messages,
 * hand-made Avro with lying lengths), protocol version 1 messages (written
 * by avro-c with the version-1 schema) decoding under version 2, and
 * out-of-memory at every allocation (Baton's own, then jansson's too; see
 * test_oom_jansson).
 * Meant to run under ASan/LSan: "never crash, never leak" is checked by the
 * sanitizers, the return codes by the checks here.
 *
 * Exit status 0 when every check passed; the last line says how many did.
 */
#include "cloudevents.h"
#include "codec.h"

#include <avro.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char *baton_schema_command;
extern const char *baton_schema_task;
extern const char *baton_schema_result;
extern const char *baton_schema_event;

static int passed, failed;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (cond) {                                                         \
            passed++;                                                       \
        } else {                                                            \
            failed++;                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                   \
    } while (0)

/* CHECK with the codec's error text in the failure line. */
#define CHECK_ERR(cond, errstr)                                        \
    do {                                                               \
        if (cond) {                                                    \
            passed++;                                                  \
        } else {                                                       \
            failed++;                                                  \
            fprintf(stderr, "FAIL %s:%d: %s (errstr: %s)\n", __FILE__, \
                    __LINE__, #cond, errstr);                          \
        }                                                              \
    } while (0)

static baton_codec_t *codec;
static char errstr[512];

/* ---- fixtures and comparison ------------------------------------------- */

static int str_eq(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static baton_command_t sample_command(void) {
    baton_command_t c = {0};
    c.kind = BATON_CMD_START;
    c.workflow_id = "order/17 \xc3\xa9t\xc3\xa9"; /* '/', UTF-8 */
    c.workflow_type = "order";
    c.payload = "{\"items\":[1,2,3],\"note\":\"caf\\u00e9 \\\"q\\\"\"}";
    c.request_id = "req-1";
    c.sent_at_ms = INT64_C(1700000000123);
    /* version 2: a child run of a pinned version, one branch of it */
    c.parent_id = "parent/9";
    c.parent_task_id = "parent/9/4/1";
    c.definition_version = "3";
    c.branch = "Fan/1";
    /* version 3: made by baton-bridge from a source event */
    c.id_reuse = "allow_after_close";
    c.dedupe_id = "orders/orders.created/3/1234";
    c.dedupe_window_ms = 86400000;
    c.source_trigger = "orders";
    c.source_topic = "orders.created";
    c.source_partition = 3;
    c.source_offset = 1234;
    return c;
}

static baton_task_t sample_task(void) {
    baton_task_t t = {0};
    t.task_id = "order/17/42/3";
    t.idempotency_key = "order/17/42";
    t.workflow_id = "order/17";
    t.activity_seq = 42;
    t.attempt = 3;
    t.activity_type = "llm.chat";
    t.queue = "llm";
    t.input = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    t.result_partition = 5;
    t.scheduled_at_ms = INT64_MAX;
    t.timeout_seconds = INT32_MAX;
    t.heartbeat_seconds = 30;
    t.heartbeat_details = "{\"page\":7}";
    t.root_workflow_id = "order";
    t.parent_workflow_id = "order:3";
    t.run_path = "3/1:0";
    return t;
}

static baton_result_t sample_result(void) {
    baton_result_t r = {0};
    r.task_id = "order/17/42/3";
    r.workflow_id = "order/17";
    r.kind = BATON_RESULT_FAILED;
    r.error = "States.Timeout";
    r.cause = "upstream took too long";
    r.retry_after_ms = 1500;
    r.worker = "host-a:4242";
    r.finished_at_ms = INT64_MIN;
    r.non_retryable = 1;
    return r;
}

static baton_event_t sample_event(void) {
    baton_event_t e = {0};
    e.workflow_id = "order/17";
    e.seq = 9;
    e.type = "ActivityScheduled";
    e.time_ms = 1700000000999;
    e.state = "Charge";
    e.data = "[true,null,1.5]";
    return e;
}

static int command_eq(const baton_command_t *a, const baton_command_t *b) {
    return a->kind == b->kind && str_eq(a->workflow_id, b->workflow_id) &&
           str_eq(a->workflow_type, b->workflow_type) &&
           str_eq(a->name, b->name) && str_eq(a->payload, b->payload) &&
           str_eq(a->reason, b->reason) &&
           str_eq(a->request_id, b->request_id) &&
           a->sent_at_ms == b->sent_at_ms &&
           str_eq(a->parent_id, b->parent_id) &&
           str_eq(a->parent_task_id, b->parent_task_id) &&
           str_eq(a->definition_version, b->definition_version) &&
           str_eq(a->branch, b->branch) && str_eq(a->task_id, b->task_id) &&
           a->start_if_absent == b->start_if_absent &&
           str_eq(a->start_input, b->start_input) &&
           str_eq(a->id_reuse, b->id_reuse) &&
           str_eq(a->dedupe_id, b->dedupe_id) &&
           a->dedupe_window_ms == b->dedupe_window_ms &&
           a->signal_hold_ms == b->signal_hold_ms &&
           str_eq(a->source_trigger, b->source_trigger) &&
           str_eq(a->source_topic, b->source_topic) &&
           a->source_partition == b->source_partition &&
           a->source_offset == b->source_offset;
}

static int task_eq(const baton_task_t *a, const baton_task_t *b) {
    return str_eq(a->task_id, b->task_id) &&
           str_eq(a->idempotency_key, b->idempotency_key) &&
           str_eq(a->workflow_id, b->workflow_id) &&
           a->activity_seq == b->activity_seq && a->attempt == b->attempt &&
           str_eq(a->activity_type, b->activity_type) &&
           str_eq(a->queue, b->queue) && str_eq(a->input, b->input) &&
           a->result_partition == b->result_partition &&
           a->scheduled_at_ms == b->scheduled_at_ms &&
           a->timeout_seconds == b->timeout_seconds &&
           a->heartbeat_seconds == b->heartbeat_seconds &&
           str_eq(a->heartbeat_details, b->heartbeat_details) &&
           str_eq(a->root_workflow_id, b->root_workflow_id) &&
           str_eq(a->parent_workflow_id, b->parent_workflow_id) &&
           str_eq(a->run_path, b->run_path);
}

static int result_eq(const baton_result_t *a, const baton_result_t *b) {
    return str_eq(a->task_id, b->task_id) &&
           str_eq(a->workflow_id, b->workflow_id) && a->kind == b->kind &&
           str_eq(a->output, b->output) && str_eq(a->error, b->error) &&
           str_eq(a->cause, b->cause) &&
           a->retry_after_ms == b->retry_after_ms &&
           str_eq(a->worker, b->worker) &&
           a->finished_at_ms == b->finished_at_ms &&
           a->non_retryable == b->non_retryable;
}

static int event_eq(const baton_event_t *a, const baton_event_t *b) {
    return str_eq(a->workflow_id, b->workflow_id) && a->seq == b->seq &&
           str_eq(a->type, b->type) && a->time_ms == b->time_ms &&
           str_eq(a->state, b->state) && str_eq(a->data, b->data);
}

/* ---- round trips ------------------------------------------------------- */

/* Encodes, decodes and compares one envelope; the macro keeps the four
 * types apart without void-pointer games. */
#define ROUND_TRIP(type, in, json)                                     \
    do {                                                               \
        char *buf_ = NULL;                                             \
        size_t len_ = 0;                                               \
        baton_##type##_t out_;                                         \
        baton_err_t e1_ = baton_codec_encode_##type(                   \
            codec, (in), (json), &buf_, &len_, errstr, sizeof errstr); \
        CHECK_ERR(e1_ == BATON_OK && buf_ && len_ > 0, errstr);        \
        baton_err_t e2_ = baton_codec_decode_##type(                   \
            codec, buf_, len_, (json), &out_, errstr, sizeof errstr);  \
        CHECK_ERR(e2_ == BATON_OK, errstr);                            \
        CHECK(e2_ != BATON_OK || type##_eq((in), &out_));              \
        baton_##type##_clear(&out_);                                   \
        baton_free(buf_);                                              \
    } while (0)

static void test_round_trip(void) {
    for (int json = 0; json <= 1; json++) {
        baton_command_t c = sample_command();
        baton_task_t t = sample_task();
        baton_result_t r = sample_result();
        baton_event_t e = sample_event();

        ROUND_TRIP(command, &c, json);
        ROUND_TRIP(task, &t, json);
        ROUND_TRIP(result, &r, json);
        ROUND_TRIP(event, &e, json);

        /* every kind, and every nullable field null */
        c.kind = BATON_CMD_SIGNAL;
        c.workflow_type = NULL;
        c.name = "approve";
        ROUND_TRIP(command, &c, json);
        c = (baton_command_t){.kind = BATON_CMD_CANCEL, .workflow_id = "w"};
        ROUND_TRIP(command, &c, json);
        c.task_id = "w/3/2"; /* a cancel notice for workers */
        ROUND_TRIP(command, &c, json);
        c.task_id = NULL;
        c.kind = BATON_CMD_TERMINATE;
        c.reason = "";
        ROUND_TRIP(command, &c, json);

        t.heartbeat_details = NULL;
        t.activity_seq = 0;
        t.task_id = "order/17/0/3";
        t.idempotency_key = "order/17/0";
        t.input = "null";
        ROUND_TRIP(task, &t, json);

        r.non_retryable = 0;
        ROUND_TRIP(result, &r, json);
        r = (baton_result_t){.task_id = "x/1/1",
                             .workflow_id = "x",
                             .kind = BATON_RESULT_COMPLETED,
                             .output = "\"done\""};
        ROUND_TRIP(result, &r, json);
        r.kind = BATON_RESULT_HEARTBEAT;
        r.output = NULL;
        ROUND_TRIP(result, &r, json);

        e.state = NULL;
        e.data = NULL;
        ROUND_TRIP(event, &e, json);
    }
}

/* The reused Avro values must not carry one message's optional fields into
 * the next (avro-c's reset keeps a union's branch). */
static void test_value_reuse(void) {
    baton_command_t full = sample_command(), bare = {0}, out;
    char *b1, *b2;
    size_t l1, l2;

    bare.kind = BATON_CMD_CANCEL;
    bare.workflow_id = "w";
    CHECK(baton_codec_encode_command(codec, &full, 0, &b1, &l1, errstr,
                                     sizeof errstr) == BATON_OK);
    CHECK(baton_codec_encode_command(codec, &bare, 0, &b2, &l2, errstr,
                                     sizeof errstr) == BATON_OK);
    /* enum, "w" (2), five nulls, long 0, five nulls (version 2), then
     * version 3: false, three nulls, two longs 0, two nulls, int 0, long 0,
     * version 4: one null, version 5: one null */
    CHECK(l2 == 26);
    CHECK(baton_codec_decode_command(codec, b1, l1, 0, &out, errstr,
                                     sizeof errstr) == BATON_OK);
    baton_command_clear(&out);
    CHECK(baton_codec_decode_command(codec, b2, l2, 0, &out, errstr,
                                     sizeof errstr) == BATON_OK);
    CHECK(command_eq(&out, &bare));
    CHECK(out.payload == NULL && out.workflow_type == NULL);
    CHECK(out.parent_id == NULL && out.branch == NULL);
    baton_command_clear(&out);
    baton_free(b1);
    baton_free(b2);
}

/* ---- JSON input forms -------------------------------------------------- */

static baton_err_t dec_cmd_json(const char *text, baton_command_t *out) {
    return baton_codec_decode_command(codec, text, strlen(text), 1, out, errstr,
                                      sizeof errstr);
}

static void test_json_plain(void) {
    baton_command_t c;
    baton_task_t t;
    baton_result_t r;
    const char *task_json =
        "{\"task_id\":\"w/1/1\",\"idempotency_key\":\"w/1\","
        "\"workflow_id\":\"w\",\"activity_seq\":1,\"attempt\":1,"
        "\"activity_type\":\"http\",\"queue\":\"http\","
        "\"input\":{\"url\":\"http://x\",\"n\":[1, 2]},"
        "\"result_partition\":0,\"extra_field\":true}";
    const char *res_json =
        "{\"task_id\":\"w/1/1\",\"workflow_id\":\"w\",\"kind\":\"COMPLETED\","
        "\"output\":{\"ok\":true},\"error\":null}";

    /* payload as a JSON value, nullable fields absent */
    CHECK_ERR(dec_cmd_json("{\"kind\":\"START\",\"workflow_id\":\"order-17\","
                           "\"workflow_type\":\"order\","
                           "\"payload\":{\"a\": [1, 2], \"b\": \"x\"}}",
                           &c) == BATON_OK,
              errstr);
    CHECK(str_eq(c.payload, "{\"a\":[1,2],\"b\":\"x\"}"));
    CHECK(c.name == NULL && c.reason == NULL && c.request_id == NULL);
    CHECK(c.sent_at_ms == 0);
    baton_command_clear(&c);

    /* nullable fields as null, kind in lower case, payload as text */
    CHECK_ERR(dec_cmd_json("{\"kind\":\"signal\",\"workflow_id\":\"w\","
                           "\"name\":\"go\",\"payload\":\"[1, 2]\","
                           "\"reason\":null,\"request_id\":null,"
                           "\"sent_at_ms\":5}",
                           &c) == BATON_OK,
              errstr);
    CHECK(c.kind == BATON_CMD_SIGNAL && str_eq(c.payload, "[1, 2]"));
    CHECK(c.reason == NULL && c.sent_at_ms == 5);
    baton_command_clear(&c);

    /* scalar payloads */
    CHECK(dec_cmd_json("{\"kind\":\"SIGNAL\",\"workflow_id\":\"w\","
                       "\"name\":\"n\",\"payload\":42}",
                       &c) == BATON_OK);
    CHECK(str_eq(c.payload, "42"));
    baton_command_clear(&c);
    CHECK(dec_cmd_json("{\"kind\":\"SIGNAL\",\"workflow_id\":\"w\","
                       "\"name\":\"n\",\"payload\":\"\\\"text\\\"\"}",
                       &c) == BATON_OK);
    CHECK(str_eq(c.payload, "\"text\""));
    baton_command_clear(&c);

    CHECK_ERR(baton_codec_decode_task(codec, task_json, strlen(task_json), 1,
                                      &t, errstr, sizeof errstr) == BATON_OK,
              errstr);
    CHECK(str_eq(t.input, "{\"url\":\"http://x\",\"n\":[1,2]}"));
    CHECK(t.heartbeat_details == NULL && t.timeout_seconds == 0);
    baton_task_clear(&t);

    CHECK_ERR(baton_codec_decode_result(codec, res_json, strlen(res_json), 1,
                                        &r, errstr, sizeof errstr) == BATON_OK,
              errstr);
    CHECK(r.kind == BATON_RESULT_COMPLETED);
    CHECK(str_eq(r.output, "{\"ok\":true}"));
    CHECK(r.error == NULL);
    baton_result_clear(&r);

    /* issue 11: a retry hint near INT64_MAX is cut to a year at decode */
    {
        const char *hint = "{\"task_id\":\"w/1/1\",\"workflow_id\":\"w\","
                           "\"kind\":\"FAILED\",\"error\":\"E\","
                           "\"retry_after_ms\":9223372036854775807}";
        CHECK_ERR(baton_codec_decode_result(codec, hint, strlen(hint), 1, &r,
                                            errstr, sizeof errstr) == BATON_OK,
                  errstr);
        CHECK(r.retry_after_ms == BATON_RETRY_AFTER_MAX_MS);
        baton_result_clear(&r);
    }
}

/* The JSON encoding is one object with every field, payloads as strings. */
static void test_json_output(void) {
    baton_command_t c = sample_command();
    char *buf;
    size_t len;
    json_t *root;

    c.payload = "{\"a\":1}";
    CHECK(baton_codec_encode_command(codec, &c, 1, &buf, &len, errstr,
                                     sizeof errstr) == BATON_OK);
    CHECK(strlen(buf) == len);
    root = json_loadb(buf, len, 0, NULL);
    CHECK(json_is_object(root));
    CHECK(str_eq(json_string_value(json_object_get(root, "kind")), "START"));
    CHECK(str_eq(json_string_value(json_object_get(root, "payload")),
                 "{\"a\":1}"));
    CHECK(json_is_null(json_object_get(root, "reason")));
    CHECK(json_integer_value(json_object_get(root, "sent_at_ms")) ==
          c.sent_at_ms);
    json_decref(root);
    baton_free(buf);
}

/* ---- validation -------------------------------------------------------- */

/* Decodes JSON text as a command, expects INVALID with `needle` in the
 * error text. */
static void expect_cmd_invalid(const char *text, const char *needle) {
    baton_command_t c;
    baton_err_t err = dec_cmd_json(text, &c);
    CHECK_ERR(err == BATON_ERR_INVALID, text);
    CHECK_ERR(strstr(errstr, needle) != NULL, errstr);
    baton_command_clear(&c);
}

static void test_json_invalid(void) {
    char big[400];

    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_type\":\"o\"}",
                       "missing required field 'workflow_id'");
    expect_cmd_invalid("{\"workflow_id\":\"w\",\"workflow_type\":\"o\"}",
                       "missing required field 'kind'");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":null,"
                       "\"workflow_type\":\"o\"}",
                       "'workflow_id'");
    expect_cmd_invalid("{\"kind\":\"BOOT\",\"workflow_id\":\"w\"}", "'kind'");
    expect_cmd_invalid("{\"kind\":0,\"workflow_id\":\"w\"}", "'kind'");
    expect_cmd_invalid("{\"kind\":\"CANCEL\",\"workflow_id\":7}",
                       "'workflow_id' must be a string");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"w\","
                       "\"workflow_type\":\"o\",\"payload\":\"{oops\"}",
                       "command: field 'payload' is not valid JSON");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"w\","
                       "\"workflow_type\":\"o\",\"payload\":\"\"}",
                       "field 'payload' is not valid JSON");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"w\"}",
                       "START requires a non-empty field 'workflow_type'");
    expect_cmd_invalid("{\"kind\":\"SIGNAL\",\"workflow_id\":\"w\"}",
                       "SIGNAL requires a non-empty field 'name'");
    expect_cmd_invalid("{\"kind\":\"CANCEL\",\"workflow_id\":\"\"}",
                       "'workflow_id' must be 1 to 256 bytes");
    expect_cmd_invalid("{\"kind\":\"CANCEL\",\"workflow_id\":\"a\\u0000b\"}",
                       "NUL byte");
    expect_cmd_invalid("{\"kind\":\"CANCEL\",\"workflow_id\":\"w\","
                       "\"sent_at_ms\":1.5}",
                       "'sent_at_ms' must be an integer");
    expect_cmd_invalid("{\"kind\":\"CANCEL\",\"workflow_id\":\"w\","
                       "\"kind\":\"CANCEL\"}",
                       "not valid JSON");
    expect_cmd_invalid("[\"CANCEL\",\"w\"]", "must be an object");
    expect_cmd_invalid("{\"kind\":\"CANCEL\",\"workflow_id\":\"w\"} x",
                       "not valid JSON");
    expect_cmd_invalid("", "not valid JSON");

    memset(big, 'a', 257);
    snprintf(big + 257, sizeof big - 257, "\"}");
    {
        char text[512];
        snprintf(text, sizeof text, "{\"kind\":\"CANCEL\",\"workflow_id\":\"%s",
                 big);
        expect_cmd_invalid(text, "not 257");
        /* 256 bytes is fine */
        snprintf(text, sizeof text,
                 "{\"kind\":\"CANCEL\",\"workflow_id\":\"%.256s\"}", big);
        baton_command_t c;
        CHECK_ERR(dec_cmd_json(text, &c) == BATON_OK, errstr);
        baton_command_clear(&c);
    }
}

/* Decodes JSON text as a task or result, expects INVALID naming needle. */
static void expect_task_invalid(const char *text, const char *needle) {
    baton_task_t t;
    CHECK_ERR(baton_codec_decode_task(codec, text, strlen(text), 1, &t, errstr,
                                      sizeof errstr) == BATON_ERR_INVALID,
              text);
    CHECK_ERR(strstr(errstr, needle) != NULL, errstr);
    baton_task_clear(&t);
}

static void expect_result_invalid(const char *text, const char *needle) {
    baton_result_t r;
    CHECK_ERR(baton_codec_decode_result(codec, text, strlen(text), 1, &r,
                                        errstr,
                                        sizeof errstr) == BATON_ERR_INVALID,
              text);
    CHECK_ERR(strstr(errstr, needle) != NULL, errstr);
    baton_result_clear(&r);
}

static void test_cross_field(void) {
#define TASK_JSON(id, key, attempt, queue)                                \
    "{\"task_id\":\"" id "\",\"idempotency_key\":\"" key "\","            \
    "\"workflow_id\":\"w/x\",\"activity_seq\":4,\"attempt\":" attempt "," \
    "\"activity_type\":\"t\",\"queue\":\"" queue "\",\"input\":{},"       \
    "\"result_partition\":1}"
    baton_task_t t;
    const char *ok = TASK_JSON("w/x/4/2", "w/x/4", "2", "q.1_-");
    CHECK_ERR(baton_codec_decode_task(codec, ok, strlen(ok), 1, &t, errstr,
                                      sizeof errstr) == BATON_OK,
              errstr);
    baton_task_clear(&t);
    expect_task_invalid(TASK_JSON("w/x/4/3", "w/x/4", "2", "q"),
                        "'task_id' does not match");
    expect_task_invalid(TASK_JSON("w/y/4/2", "w/x/4", "2", "q"),
                        "'task_id' does not match");
    expect_task_invalid(TASK_JSON("w/x/4", "w/x/4", "2", "q"),
                        "'task_id' is not");
    expect_task_invalid(TASK_JSON("4/2", "w/x/4", "2", "q"),
                        "'task_id' is not");
    expect_task_invalid(TASK_JSON("w/x/4/2", "w/x/5", "2", "q"),
                        "'idempotency_key'");
    expect_task_invalid(TASK_JSON("w/x/4/2", "w/x/4", "2", "a b"), "'queue'");
    expect_task_invalid(TASK_JSON("w/x/4/2", "w/x/4", "4294967298", "q"),
                        "'attempt' must be an integer in int range");
    expect_task_invalid("{\"task_id\":\"w/1/1\"}", "missing required field");
#undef TASK_JSON

    expect_result_invalid("{\"task_id\":\"v/1/1\",\"workflow_id\":\"w\","
                          "\"kind\":\"COMPLETED\"}",
                          "does not belong");
    expect_result_invalid("{\"task_id\":\"w/1/1\",\"workflow_id\":\"w\","
                          "\"kind\":\"FAILED\",\"cause\":\"x\"}",
                          "FAILED requires a non-empty field 'error'");
    expect_result_invalid("{\"task_id\":\"w/1/1\",\"workflow_id\":\"w\","
                          "\"kind\":\"COMPLETED\",\"output\":\"nope\"}",
                          "result: field 'output' is not valid JSON");
    {
        baton_event_t e;
        const char *bad = "{\"workflow_id\":\"w\",\"seq\":0,\"type\":\"T\","
                          "\"time_ms\":1}";
        CHECK(baton_codec_decode_event(codec, bad, strlen(bad), 1, &e, errstr,
                                       sizeof errstr) == BATON_ERR_INVALID);
        CHECK_ERR(strstr(errstr, "'seq'") != NULL, errstr);
        baton_event_clear(&e);
    }
}

/* Encoders refuse what decoders would refuse, and leave *buf NULL. */
static void test_encode_invalid(void) {
    baton_command_t c = sample_command();
    baton_task_t t = sample_task();
    baton_result_t r = sample_result();
    char *buf = (char *)1;
    size_t len = 1;
    char big[300];

    for (int json = 0; json <= 1; json++) {
        c = sample_command();
        c.workflow_id = NULL;
        CHECK(baton_codec_encode_command(codec, &c, json, &buf, &len, errstr,
                                         sizeof errstr) == BATON_ERR_INVALID);
        CHECK(buf == NULL && len == 0);
        CHECK_ERR(strstr(errstr, "'workflow_id'") != NULL, errstr);
        c = sample_command();
        c.kind = (baton_cmd_kind_t)9;
        CHECK(baton_codec_encode_command(codec, &c, json, &buf, &len, errstr,
                                         sizeof errstr) == BATON_ERR_INVALID);
        memset(big, 'x', 257);
        big[257] = '\0';
        c = sample_command();
        c.workflow_id = big;
        CHECK(baton_codec_encode_command(codec, &c, json, &buf, &len, errstr,
                                         sizeof errstr) == BATON_ERR_INVALID);
        c = sample_command();
        c.request_id = "\xff\xfe";
        CHECK(baton_codec_encode_command(codec, &c, json, &buf, &len, errstr,
                                         sizeof errstr) == BATON_ERR_INVALID);
        CHECK_ERR(strstr(errstr, "'request_id' is not valid UTF-8"), errstr);
        t = sample_task();
        t.attempt = 4;
        CHECK(baton_codec_encode_task(codec, &t, json, &buf, &len, errstr,
                                      sizeof errstr) == BATON_ERR_INVALID);
        t = sample_task();
        t.input = NULL;
        CHECK(baton_codec_encode_task(codec, &t, json, &buf, &len, errstr,
                                      sizeof errstr) == BATON_ERR_INVALID);
        r = sample_result();
        r.error = NULL;
        CHECK(baton_codec_encode_result(codec, &r, json, &buf, &len, errstr,
                                        sizeof errstr) == BATON_ERR_INVALID);
    }
}

/* ---- task ids and kind names ------------------------------------------- */

static void test_task_id(void) {
    size_t wl = 0;
    int64_t seq = 0;
    int32_t att = 0;
    char id[400];
    static const char *bad[] = {
        "",
        "w",
        "w/1",
        "/1/1",
        "w//1",
        "w/1/",
        "w/1/0",
        "w/01/1",
        "w/1/01",
        "w/-1/1",
        "w/1/-1",
        "w/+1/1",
        "w/1/ 1",
        "w/1/1 ",
        "w/1/2147483648",
        "w/9223372036854775808/1",
        "w/1x/1",
        "//1/1x",
        /* nonces: 1..32 lower-case hex digits after the attempt */
        "w/1/1.",
        "w/1/1.AB",
        "w/1/1.x1",
        "w/1/.ab",
        "w/1/1.ab.cd",
        "w/1/1.000000000000000000000000000000000",
    };

    CHECK(baton_task_id_parse("wf/7/2", &wl, &seq, &att) == 0);
    CHECK(wl == 2 && seq == 7 && att == 2);
    CHECK(baton_task_id_parse("a/b/c/12/3", &wl, &seq, &att) == 0);
    CHECK(wl == 5 && seq == 12 && att == 3);
    CHECK(baton_task_id_parse("//0/1", &wl, &seq, &att) == 0);
    CHECK(wl == 1 && seq == 0 && att == 1);
    CHECK(baton_task_id_parse("w/9223372036854775807/2147483647", &wl, &seq,
                              &att) == 0);
    CHECK(seq == INT64_MAX && att == INT32_MAX);
    CHECK(baton_task_id_parse("w/1/1", NULL, NULL, NULL) == 0);
    CHECK(baton_task_id_parse("a.b/4/2.0f9e", &wl, &seq, &att) == 0);
    CHECK(wl == 3 && seq == 4 && att == 2);
    CHECK(!strcmp(baton_task_id_nonce("a.b/4/2.0f9e"), "0f9e"));
    CHECK(!strcmp(baton_task_id_nonce("a.b/4/2"), ""));
    CHECK(baton_task_id_parse(NULL, &wl, &seq, &att) == -1);
    for (size_t i = 0; i < BATON_ARRAY_SIZE(bad); i++) {
        int rc = baton_task_id_parse(bad[i], &wl, &seq, &att);
        CHECK_ERR(rc == -1, bad[i]);
    }
    memset(id, 'a', 256);
    snprintf(id + 256, sizeof id - 256, "/1/1");
    CHECK(baton_task_id_parse(id, &wl, &seq, &att) == 0 && wl == 256);
    memset(id, 'a', 257);
    snprintf(id + 257, sizeof id - 257, "/1/1");
    CHECK(baton_task_id_parse(id, &wl, &seq, &att) == -1);
}

static void test_kind_names(void) {
    baton_cmd_kind_t k;
    CHECK(str_eq(baton_cmd_kind_name(BATON_CMD_START), "START"));
    CHECK(str_eq(baton_cmd_kind_name(BATON_CMD_TERMINATE), "TERMINATE"));
    CHECK(str_eq(baton_cmd_kind_name((baton_cmd_kind_t)77), "UNKNOWN"));
    CHECK(str_eq(baton_result_kind_name(BATON_RESULT_HEARTBEAT), "HEARTBEAT"));
    CHECK(str_eq(baton_result_kind_name((baton_result_kind_t)-1), "UNKNOWN"));
    CHECK(baton_cmd_kind_parse("SIGNAL", &k) == 0 && k == BATON_CMD_SIGNAL);
    CHECK(baton_cmd_kind_parse("cancel", &k) == 0 && k == BATON_CMD_CANCEL);
    CHECK(baton_cmd_kind_parse("STARTX", &k) == -1);
    CHECK(baton_cmd_kind_parse("", &k) == -1);
    CHECK(baton_cmd_kind_parse(NULL, &k) == -1);
}

/* ---- hostile binary input ---------------------------------------------- */

/* A hand-made Avro writer, to build messages the encoder never would. */
typedef struct {
    unsigned char b[1024];
    size_t n;
} avro_buf_t;

static void put_long(avro_buf_t *a, int64_t v) {
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (z & ~(uint64_t)0x7f) {
        a->b[a->n++] = (unsigned char)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    a->b[a->n++] = (unsigned char)z;
}

static void put_str(avro_buf_t *a, const char *s, size_t n) {
    put_long(a, (int64_t)n);
    memcpy(a->b + a->n, s, n);
    a->n += n;
}

/* A version-1 command (it ends after sent_at_ms) with the given kind,
 * workflow id bytes and payload text. */
static avro_buf_t raw_command(int64_t kind, const char *wf, size_t wflen,
                              const char *payload) {
    avro_buf_t a = {.n = 0};
    put_long(&a, kind);
    put_str(&a, wf, wflen);
    put_long(&a, 0); /* workflow_type */
    put_long(&a, 0); /* name */
    if (payload) {
        put_long(&a, 1);
        put_str(&a, payload, strlen(payload));
    } else {
        put_long(&a, 0);
    }
    put_long(&a, 0); /* reason */
    put_long(&a, 0); /* request_id */
    put_long(&a, 0); /* sent_at_ms */
    return a;
}

static baton_err_t dec_cmd_raw(const avro_buf_t *a) {
    baton_command_t c;
    baton_err_t err = baton_codec_decode_command(codec, a->b, a->n, 0, &c,
                                                 errstr, sizeof errstr);
    baton_command_clear(&c);
    return err;
}

static void expect_raw_invalid(const avro_buf_t *a, const char *needle) {
    CHECK_ERR(dec_cmd_raw(a) == BATON_ERR_INVALID, needle);
    CHECK_ERR(strstr(errstr, needle) != NULL, errstr);
}

static void test_avro_hostile(void) {
    avro_buf_t a = raw_command(2, "w", 1, "{}");
    CHECK_ERR(dec_cmd_raw(&a) == BATON_OK, errstr);

    for (int i = 0; i < 5; i++) put_long(&a, 0); /* the version-2 nulls */
    CHECK_ERR(dec_cmd_raw(&a) == BATON_OK, errstr);
    for (int i = 0; i < 10; i++) put_long(&a, 0); /* version-3 defaults */
    CHECK_ERR(dec_cmd_raw(&a) == BATON_OK, errstr);
    put_long(&a, 0); /* the version-4 null */
    CHECK_ERR(dec_cmd_raw(&a) == BATON_OK, errstr);
    put_long(&a, 0); /* the version-5 null */
    CHECK_ERR(dec_cmd_raw(&a) == BATON_OK, errstr);
    a.b[a.n++] = 0;
    expect_raw_invalid(&a, "1 trailing bytes");
    a = raw_command(4, "w", 1, NULL);
    expect_raw_invalid(&a, "field 'kind' has no symbol 4");
    a = raw_command(-1, "w", 1, NULL);
    expect_raw_invalid(&a, "field 'kind' has no symbol -1");
    a = raw_command(2, "w", 1, "{oops");
    expect_raw_invalid(&a, "command: field 'payload' is not valid JSON");
    a = raw_command(2, "a\0b", 3, NULL);
    expect_raw_invalid(&a, "'workflow_id' contains a NUL byte");
    a = raw_command(2, "\xc0\xaf", 2, NULL); /* overlong '/' */
    expect_raw_invalid(&a, "'workflow_id' is not valid UTF-8");
    a = raw_command(2, "\xed\xa0\x80", 3, NULL); /* surrogate */
    expect_raw_invalid(&a, "not valid UTF-8");
    a = raw_command(2, "", 0, NULL);
    expect_raw_invalid(&a, "must be 1 to 256 bytes");

    /* a string length far beyond the message: avro-c would allocate it */
    a.n = 0;
    put_long(&a, 2);
    put_long(&a, INT64_C(1) << 40);
    a.b[a.n++] = 'w';
    expect_raw_invalid(&a, "'workflow_id': string length 1099511627776");
    a.n = 0;
    put_long(&a, 2);
    put_long(&a, -5);
    expect_raw_invalid(&a, "string length -5");
    /* union branch 2 */
    a.n = 0;
    put_long(&a, 2);
    put_str(&a, "w", 1);
    put_long(&a, 2);
    expect_raw_invalid(&a, "'workflow_type': union branch 2");
    /* an 11-byte varint */
    a.n = 0;
    memset(a.b, 0xff, 11);
    a.n = 11;
    expect_raw_invalid(&a, "malformed varint");
    /* 10-byte varint whose last byte overflows 64 bits */
    memset(a.b, 0x80, 9);
    a.b[9] = 0x02;
    a.n = 10;
    expect_raw_invalid(&a, "malformed varint");
    a.n = 0;
    expect_raw_invalid(&a, "truncated in field 'kind'");
    CHECK(baton_codec_decode_command(codec, NULL, 0, 0, &(baton_command_t){0},
                                     errstr,
                                     sizeof errstr) == BATON_ERR_INVALID);
}

/* Every proper prefix of a valid message is refused, in both encodings,
 * except Avro prefixes that end at a field boundary at or after the last
 * version-1 field (min_ok: that length; SIZE_MAX when the envelope did not
 * change): those are earlier versions' records.  Exactly `boundaries` of
 * them must decode, to a record equal to the input with the missing
 * fields at their defaults (checked by test_version1). */
#define TRUNCATIONS(type, in, min_ok, boundaries)                             \
    do {                                                                      \
        for (int json_ = 0; json_ <= 1; json_++) {                            \
            char *buf_;                                                       \
            size_t len_;                                                      \
            int bad_ = 0, older_ = 0;                                         \
            CHECK(baton_codec_encode_##type(codec, (in), json_, &buf_, &len_, \
                                            errstr,                           \
                                            sizeof errstr) == BATON_OK);      \
            for (size_t n_ = 0; n_ < len_; n_++) {                            \
                baton_##type##_t o_;                                          \
                char *cp_ = malloc(n_ ? n_ : 1); /* exact size for ASan */    \
                memcpy(cp_, buf_, n_);                                        \
                baton_err_t e_ = baton_codec_decode_##type(                   \
                    codec, cp_, n_, json_, &o_, errstr, sizeof errstr);       \
                if (e_ == BATON_OK && !json_ && n_ >= (min_ok))               \
                    older_++;                                                 \
                else if (e_ != BATON_ERR_INVALID)                             \
                    bad_++;                                                   \
                baton_##type##_clear(&o_);                                    \
                free(cp_);                                                    \
            }                                                                 \
            CHECK_ERR(bad_ == 0, #type " truncation");                        \
            CHECK_ERR(older_ == (json_ ? 0 : (boundaries)),                   \
                      #type " earlier-version prefixes");                     \
            baton_free(buf_);                                                 \
        }                                                                     \
    } while (0)

/* Length of the version-1 part of c's Avro encoding: the encoding with
 * the version-2 to version-5 fields at their defaults, less one byte per
 * such field (5 + 10 + 1 + 1). */
static size_t command_v1_len(const baton_command_t *c) {
    baton_command_t v1 = *c;
    char *buf;
    size_t len = 0;
    v1.parent_id = v1.parent_task_id = v1.definition_version = v1.branch =
        v1.task_id = NULL;
    v1.start_if_absent = 0;
    v1.start_input = v1.id_reuse = v1.dedupe_id = NULL;
    v1.dedupe_window_ms = v1.signal_hold_ms = v1.source_offset = 0;
    v1.source_trigger = v1.source_topic = NULL;
    v1.source_partition = 0;
    v1.budget = NULL;
    CHECK(baton_codec_encode_command(codec, &v1, 0, &buf, &len, errstr,
                                     sizeof errstr) == BATON_OK);
    baton_free(buf);
    return len - 17;
}

/* The same for a task: the three version-4 lineage nulls. */
static size_t task_v1_len(const baton_task_t *t) {
    baton_task_t v1 = *t;
    char *buf;
    size_t len = 0;
    v1.root_workflow_id = v1.parent_workflow_id = v1.run_path = NULL;
    CHECK(baton_codec_encode_task(codec, &v1, 0, &buf, &len, errstr,
                                  sizeof errstr) == BATON_OK);
    baton_free(buf);
    return len - 3;
}

static size_t result_v1_len(const baton_result_t *r) {
    baton_result_t v1 = *r;
    char *buf;
    size_t len = 0;
    v1.non_retryable = 0;
    v1.usage = NULL;
    CHECK(baton_codec_encode_result(codec, &v1, 0, &buf, &len, errstr,
                                    sizeof errstr) == BATON_OK);
    baton_free(buf);
    return len - 2;
}

static void test_truncation(void) {
    baton_command_t c = sample_command();
    baton_task_t t = sample_task();
    baton_result_t r = sample_result();
    baton_event_t e = sample_event();
    /* sample_command has 4 of the 5 version-2 fields and the version-3
     * ones of a bridge START.  Prefixes ending after the v1 fields, after
     * parent_task_id, definition_version, branch, task_id, and after each
     * later field but the last (budget, version 5) decode; the one ending after
     * parent_id alone is refused by validation (parent_id needs
     * parent_task_id). */
    TRUNCATIONS(command, &c, command_v1_len(&c), 16);
    /* a task ending after heartbeat_details (versions 1-3), after
     * root_workflow_id or after parent_workflow_id decodes */
    TRUNCATIONS(task, &t, task_v1_len(&t), 3);
    TRUNCATIONS(result, &r, result_v1_len(&r), 2);
    TRUNCATIONS(event, &e, SIZE_MAX, 0);
}

/* ---- protocol version 1 ------------------------------------------------- */

/* The compiled-in schema text with only its first nfields fields: the
 * version-1 schema.  NULL on failure. */
static avro_schema_t v1_schema(const char *text, size_t nfields) {
    json_t *root = json_loads(text, 0, NULL);
    json_t *fields = json_object_get(root, "fields");
    avro_schema_t sch = NULL;
    char *v1;
    while (json_array_size(fields) > nfields)
        json_array_remove(fields, json_array_size(fields) - 1);
    v1 = json_dumps(root, JSON_COMPACT);
    if (v1 && avro_schema_from_json_length(v1, strlen(v1), &sch)) sch = NULL;
    free(v1);
    json_decref(root);
    return sch;
}

/* Sets field name of record rec: a string, null (s NULL) for a union, or a
 * long. */
static int v1_set(avro_value_t *rec, const char *name, const char *s, int64_t l,
                  int is_long) {
    avro_value_t f, br;
    if (avro_value_get_by_name(rec, name, &f, NULL)) return -1;
    if (is_long) return avro_value_set_long(&f, l);
    if (avro_value_get_type(&f) == AVRO_UNION) {
        if (avro_value_set_branch(&f, s ? 1 : 0, &br)) return -1;
        return s ? avro_value_set_string(&br, s) : avro_value_set_null(&br);
    }
    return avro_value_set_string(&f, s);
}

/* Writes rec with avro-c into a malloc'd buffer. */
static unsigned char *v1_write(avro_value_t *rec, size_t *len) {
    unsigned char *buf;
    avro_writer_t wr;
    if (avro_value_sizeof(rec, len)) return NULL;
    buf = malloc(*len ? *len : 1);
    wr = avro_writer_memory((char *)buf, (int64_t)*len);
    if (avro_value_write(wr, rec)) {
        free(buf);
        buf = NULL;
    }
    avro_writer_free(wr);
    return buf;
}

/* A command written by a version-1 writer (avro-c with the old schema). */
static unsigned char *v1_command(const baton_command_t *c, size_t *len) {
    avro_schema_t sch = v1_schema(baton_schema_command, 8);
    avro_value_iface_t *cls = sch ? avro_generic_class_from_schema(sch) : NULL;
    avro_value_t rec, kind;
    unsigned char *buf = NULL;
    if (cls && !avro_generic_value_new(cls, &rec)) {
        if (!avro_value_get_by_name(&rec, "kind", &kind, NULL) &&
            !avro_value_set_enum(&kind, (int)c->kind) &&
            !v1_set(&rec, "workflow_id", c->workflow_id, 0, 0) &&
            !v1_set(&rec, "workflow_type", c->workflow_type, 0, 0) &&
            !v1_set(&rec, "name", c->name, 0, 0) &&
            !v1_set(&rec, "payload", c->payload, 0, 0) &&
            !v1_set(&rec, "reason", c->reason, 0, 0) &&
            !v1_set(&rec, "request_id", c->request_id, 0, 0) &&
            !v1_set(&rec, "sent_at_ms", NULL, c->sent_at_ms, 1))
            buf = v1_write(&rec, len);
        avro_value_decref(&rec);
    }
    if (cls) avro_value_iface_decref(cls);
    if (sch) avro_schema_decref(sch);
    return buf;
}

static unsigned char *v1_result(const baton_result_t *r, size_t *len) {
    avro_schema_t sch = v1_schema(baton_schema_result, 9);
    avro_value_iface_t *cls = sch ? avro_generic_class_from_schema(sch) : NULL;
    avro_value_t rec, kind;
    unsigned char *buf = NULL;
    if (cls && !avro_generic_value_new(cls, &rec)) {
        if (!avro_value_get_by_name(&rec, "kind", &kind, NULL) &&
            !avro_value_set_enum(&kind, (int)r->kind) &&
            !v1_set(&rec, "task_id", r->task_id, 0, 0) &&
            !v1_set(&rec, "workflow_id", r->workflow_id, 0, 0) &&
            !v1_set(&rec, "output", r->output, 0, 0) &&
            !v1_set(&rec, "error", r->error, 0, 0) &&
            !v1_set(&rec, "cause", r->cause, 0, 0) &&
            !v1_set(&rec, "retry_after_ms", NULL, r->retry_after_ms, 1) &&
            !v1_set(&rec, "worker", r->worker, 0, 0) &&
            !v1_set(&rec, "finished_at_ms", NULL, r->finished_at_ms, 1))
            buf = v1_write(&rec, len);
        avro_value_decref(&rec);
    }
    if (cls) avro_value_iface_decref(cls);
    if (sch) avro_schema_decref(sch);
    return buf;
}

/* A worker that reads tasks with the version-3 schema (a generic Avro
 * reader: fastavro's schemaless_reader, Java's GenericDatumReader, here
 * avro-c's) still reads every field it knows from a version-4 task and
 * leaves the lineage unread; and a version-3 task (no lineage) decodes
 * with the lineage NULL. */
static void test_task_lineage_versions(void) {
    baton_task_t t = sample_task(), out;
    avro_schema_t sch = v1_schema(baton_schema_task, 13);
    avro_value_iface_t *cls = sch ? avro_generic_class_from_schema(sch) : NULL;
    avro_value_t rec, f;
    avro_reader_t rd;
    const char *s = NULL;
    size_t slen = 0, len = 0;
    int32_t part = -1;
    char *buf = NULL;

    CHECK(baton_codec_encode_task(codec, &t, 0, &buf, &len, errstr,
                                  sizeof errstr) == BATON_OK);
    CHECK(cls && !avro_generic_value_new(cls, &rec));
    rd = avro_reader_memory(buf, (int64_t)len);
    CHECK_ERR(!avro_value_read(rd, &rec), avro_strerror());
    CHECK(!avro_value_get_by_name(&rec, "task_id", &f, NULL) &&
          !avro_value_get_string(&f, &s, &slen) && !strcmp(s, t.task_id));
    CHECK(!avro_value_get_by_name(&rec, "result_partition", &f, NULL) &&
          !avro_value_get_int(&f, &part) && part == t.result_partition);
    CHECK(!avro_value_get_by_name(&rec, "heartbeat_details", &f, NULL));
    avro_reader_free(rd);
    avro_value_decref(&rec);
    avro_value_iface_decref(cls);
    avro_schema_decref(sch);
    /* the JSON form: the same three fields by name, round trip */
    baton_free(buf);
    CHECK(baton_codec_encode_task(codec, &t, 1, &buf, &len, errstr,
                                  sizeof errstr) == BATON_OK);
    CHECK(buf && strstr(buf, "\"root_workflow_id\":\"order\"") &&
          strstr(buf, "\"parent_workflow_id\":\"order:3\"") &&
          strstr(buf, "\"run_path\":\"3/1:0\""));
    CHECK_ERR(baton_codec_decode_task(codec, buf, len, 1, &out, errstr,
                                      sizeof errstr) == BATON_OK,
              errstr);
    CHECK(task_eq(&t, &out));
    baton_task_clear(&out);
    baton_free(buf);
    /* a version-3 writer: the lineage decodes as NULL */
    t.root_workflow_id = t.parent_workflow_id = t.run_path = NULL;
    CHECK(baton_codec_encode_task(codec, &t, 0, &buf, &len, errstr,
                                  sizeof errstr) == BATON_OK);
    CHECK_ERR(baton_codec_decode_task(codec, buf, len - 3, 0, &out, errstr,
                                      sizeof errstr) == BATON_OK,
              errstr);
    CHECK(task_eq(&t, &out) && !out.root_workflow_id && !out.run_path);
    baton_task_clear(&out);
    baton_free(buf);
}

/* baton_codec_encode_task_v3: what a pre-version-4 reader that refuses
 * trailing bytes (Baton's C SDK before version 4) accepts: a version-3
 * reader (avro-c, the 13-field schema) consumes the whole record
 * (avro_value_sizeof = its length), every version-3 field intact; Baton's
 * own decoder reads it with the lineage NULL.  A version-4 record of the
 * same task is longer than the version-3 schema reads (the old refusal). */
static void test_task_encode_v3(void) {
    baton_task_t t = sample_task(), out;
    avro_schema_t sch = v1_schema(baton_schema_task, 13);
    avro_value_iface_t *cls = sch ? avro_generic_class_from_schema(sch) : NULL;
    avro_value_t rec, f;
    avro_reader_t rd;
    const char *s = NULL;
    size_t slen = 0, len = 0, len4 = 0, size = 0;
    char *buf = NULL, *buf4 = NULL;

    CHECK(baton_codec_encode_task(codec, &t, 0, &buf4, &len4, errstr,
                                  sizeof errstr) == BATON_OK);
    CHECK_ERR(baton_codec_encode_task_v3(codec, &t, &buf, &len, errstr,
                                         sizeof errstr) == BATON_OK,
              errstr);
    CHECK(buf && buf4 && len < len4 && !memcmp(buf, buf4, len));
    CHECK(cls && !avro_generic_value_new(cls, &rec));
    rd = avro_reader_memory(buf, (int64_t)len);
    CHECK_ERR(!avro_value_read(rd, &rec), avro_strerror());
    CHECK(!avro_value_sizeof(&rec, &size) && size == len);
    CHECK(!avro_value_get_by_name(&rec, "task_id", &f, NULL) &&
          !avro_value_get_string(&f, &s, &slen) && !strcmp(s, t.task_id));
    avro_reader_free(rd);
    /* the version-4 record: bytes left over after the version-3 fields */
    rd = avro_reader_memory(buf4, (int64_t)len4);
    CHECK_ERR(!avro_value_read(rd, &rec), avro_strerror());
    CHECK(!avro_value_sizeof(&rec, &size) && size < len4);
    avro_reader_free(rd);
    avro_value_decref(&rec);
    avro_value_iface_decref(cls);
    avro_schema_decref(sch);
    CHECK_ERR(baton_codec_decode_task(codec, buf, len, 0, &out, errstr,
                                      sizeof errstr) == BATON_OK,
              errstr);
    CHECK(!out.root_workflow_id && !out.parent_workflow_id && !out.run_path &&
          !strcmp(out.task_id, t.task_id) && !strcmp(out.input, t.input) &&
          out.heartbeat_seconds == t.heartbeat_seconds);
    baton_task_clear(&out);
    baton_free(buf);
    baton_free(buf4);
}

/* The byte-level example of docs/wire-protocol.md ("The same task in both
 * encodings") is what the codec writes: the doc cannot rot. */
static void test_doc_example(void) {
    baton_task_t t = {0};
    char doc[200000], *buf = NULL, *p, *end, hexbuf[512];
    size_t n, len = 0, nb = 0;
    FILE *f = fopen("docs/wire-protocol.md", "r");
    CHECK(f != NULL);
    if (!f) return;
    n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = '\0';
    fclose(f);
    t.task_id = "order-17/2/1";
    t.idempotency_key = "order-17/2";
    t.workflow_id = "order-17";
    t.activity_seq = 2;
    t.attempt = 1;
    t.activity_type = "text.normalize";
    t.queue = "py";
    t.input = "{\"text\":\"Hi\"}";
    t.result_partition = 3;
    t.timeout_seconds = 120;
    t.heartbeat_seconds = 30;
    t.root_workflow_id = "order-17";
    t.run_path = "";
    /* the JSON line */
    CHECK(baton_codec_encode_task(codec, &t, 1, &buf, &len, errstr,
                                  sizeof errstr) == BATON_OK);
    CHECK_ERR(buf && len < 1000 && strstr(doc, buf), "the doc's JSON task");
    baton_free(buf);
    /* the hex dump: the leading hex pairs of each line of the block */
    CHECK(baton_codec_encode_task(codec, &t, 0, &buf, &len, errstr,
                                  sizeof errstr) == BATON_OK);
    p = strstr(doc, "Avro binary (no header), 86 bytes");
    p = p ? strstr(p, "```") : NULL; /* the fence and its info string */
    p = p ? strchr(p, '\n') : NULL;
    end = p ? strstr(p + 1, "```") : NULL;
    CHECK(p && end && len == 86);
    for (p = p ? p + 1 : NULL; p && p < end && nb < sizeof hexbuf;) {
        unsigned v;
        if (p[0] == ' ' && p[1] == ' ') { /* the comment: to the line end */
            p = strchr(p, '\n');
            if (!p) break;
        } else if (*p == ' ' || *p == '\n') {
            p++;
        } else if (sscanf(p, "%2x", &v) == 1) {
            hexbuf[nb++] = (char)v;
            p += 2;
        } else
            break;
    }
    CHECK_ERR(buf && nb == len && !memcmp(hexbuf, buf, len),
              "the doc's Avro bytes");
    baton_free(buf);
}

/* Version-1 messages decode with the version-2 fields at their defaults;
 * a message cut inside a version-2 field is still truncated. */
static void test_version1(void) {
    baton_command_t c = sample_command(), out;
    baton_result_t r = sample_result(), rout;
    unsigned char *buf, ext[1200];
    size_t len = 0;

    c.parent_id = c.parent_task_id = c.definition_version = c.branch = NULL;
    c.id_reuse = c.dedupe_id = c.source_trigger = c.source_topic = NULL;
    c.dedupe_window_ms = c.source_offset = 0;
    c.source_partition = 0;
    r.non_retryable = 0;

    buf = v1_command(&c, &len);
    CHECK(buf != NULL && len == command_v1_len(&c));
    CHECK_ERR(buf &&
                  baton_codec_decode_command(codec, buf, len, 0, &out, errstr,
                                             sizeof errstr) == BATON_OK,
              errstr);
    CHECK(buf && command_eq(&c, &out) && out.task_id == NULL);
    baton_command_clear(&out);
    if (buf) {
        /* cut inside the version-1 fields: truncated */
        CHECK(baton_codec_decode_command(codec, buf, len - 1, 0, &out, errstr,
                                         sizeof errstr) == BATON_ERR_INVALID);
        CHECK_ERR(strstr(errstr, "truncated in field 'sent_at_ms'"), errstr);
        baton_command_clear(&out);
        /* a version-2 prefix: parent_id given, parent_task_id cut off in
         * its union branch, then in its string */
        memcpy(ext, buf, len);
        ext[len] = 2; /* branch 1 */
        ext[len + 1] = 2 * 2;
        memcpy(ext + len + 2, "pa", 2);
        ext[len + 4] = 2;
        CHECK(baton_codec_decode_command(codec, ext, len + 5, 0, &out, errstr,
                                         sizeof errstr) == BATON_ERR_INVALID);
        CHECK_ERR(strstr(errstr, "truncated in field 'parent_task_id'"),
                  errstr);
        baton_command_clear(&out);
        ext[len + 5] = 2 * 6; /* 6 bytes claimed, 2 there */
        memcpy(ext + len + 6, "pa", 2);
        CHECK(baton_codec_decode_command(codec, ext, len + 8, 0, &out, errstr,
                                         sizeof errstr) == BATON_ERR_INVALID);
        CHECK_ERR(strstr(errstr, "'parent_task_id': string length 6"), errstr);
        baton_command_clear(&out);
        /* ... and with parent_id alone at a boundary: decoded, then
         * refused by validation (a child run names both) */
        CHECK(baton_codec_decode_command(codec, ext, len + 4, 0, &out, errstr,
                                         sizeof errstr) == BATON_ERR_INVALID);
        CHECK_ERR(strstr(errstr, "go together"), errstr);
        baton_command_clear(&out);
    }
    free(buf);

    for (int k = 0; k < 3; k++) {
        r.kind = (baton_result_kind_t)k;
        r.error = k == BATON_RESULT_FAILED ? "E" : NULL;
        buf = v1_result(&r, &len);
        CHECK(buf != NULL && len == result_v1_len(&r));
        CHECK_ERR(buf && baton_codec_decode_result(codec, buf, len, 0, &rout,
                                                   errstr,
                                                   sizeof errstr) == BATON_OK,
                  errstr);
        CHECK(buf && result_eq(&r, &rout) && rout.non_retryable == 0);
        baton_result_clear(&rout);
        if (buf) { /* a boolean byte other than 0 or 1 */
            memcpy(ext, buf, len);
            ext[len] = 1;
            CHECK(baton_codec_decode_result(codec, ext, len + 1, 0, &rout,
                                            errstr,
                                            sizeof errstr) == BATON_OK &&
                  rout.non_retryable == 1);
            baton_result_clear(&rout);
            ext[len] = 2;
            CHECK(baton_codec_decode_result(codec, ext, len + 1, 0, &rout,
                                            errstr, sizeof errstr) ==
                  BATON_ERR_INVALID);
            CHECK_ERR(strstr(errstr, "'non_retryable': boolean byte 2"),
                      errstr);
            baton_result_clear(&rout);
        }
        free(buf);
    }
}

/* The version-2 fields in JSON, and their validation. */
static void test_version2_json(void) {
    baton_command_t c;
    baton_result_t r;
    char *buf;
    size_t len;
    json_t *root;
    const char *res_nr = "{\"task_id\":\"w/1/1\",\"workflow_id\":\"w\","
                         "\"kind\":\"FAILED\",\"error\":\"Fatal\","
                         "\"non_retryable\":true}";

    CHECK_ERR(baton_codec_decode_result(codec, res_nr, strlen(res_nr), 1, &r,
                                        errstr, sizeof errstr) == BATON_OK,
              errstr);
    CHECK(r.non_retryable == 1);
    CHECK(baton_codec_encode_result(codec, &r, 1, &buf, &len, errstr,
                                    sizeof errstr) == BATON_OK);
    root = json_loadb(buf, len, 0, NULL);
    CHECK(json_is_true(json_object_get(root, "non_retryable")));
    json_decref(root);
    baton_free(buf);
    r.non_retryable = 0;
    CHECK(baton_codec_encode_result(codec, &r, 1, &buf, &len, errstr,
                                    sizeof errstr) == BATON_OK);
    root = json_loadb(buf, len, 0, NULL);
    CHECK(json_is_false(json_object_get(root, "non_retryable")));
    json_decref(root);
    baton_free(buf);
    r.non_retryable = 2; /* an encoder refuses what is not 0 or 1 */
    CHECK(baton_codec_encode_result(codec, &r, 0, &buf, &len, errstr,
                                    sizeof errstr) == BATON_ERR_INVALID);
    baton_result_clear(&r);
    expect_result_invalid("{\"task_id\":\"w/1/1\",\"workflow_id\":\"w\","
                          "\"kind\":\"FAILED\",\"error\":\"F\","
                          "\"non_retryable\":1}",
                          "'non_retryable' must be true or false");

    CHECK_ERR(dec_cmd_json("{\"kind\":\"START\",\"workflow_id\":\"c\","
                           "\"workflow_type\":\"t\",\"parent_id\":\"p\","
                           "\"parent_task_id\":\"p/2/1\","
                           "\"definition_version\":\"7\",\"branch\":\"B/0\"}",
                           &c) == BATON_OK,
              errstr);
    CHECK(str_eq(c.parent_id, "p") && str_eq(c.parent_task_id, "p/2/1") &&
          str_eq(c.definition_version, "7") && str_eq(c.branch, "B/0"));
    baton_command_clear(&c);
    CHECK_ERR(dec_cmd_json("{\"kind\":\"CANCEL\",\"workflow_id\":\"a/b\","
                           "\"task_id\":\"a/b/3/12\",\"reason\":\"x\"}",
                           &c) == BATON_OK,
              errstr);
    CHECK(str_eq(c.task_id, "a/b/3/12"));
    baton_command_clear(&c);

    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"c\","
                       "\"workflow_type\":\"t\",\"parent_id\":\"p\"}",
                       "'parent_id' and 'parent_task_id' go together");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"c\","
                       "\"workflow_type\":\"t\",\"parent_task_id\":\"p/1/1\"}",
                       "go together");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"c\","
                       "\"workflow_type\":\"t\",\"parent_id\":\"p\","
                       "\"parent_task_id\":\"q/1/1\"}",
                       "'parent_task_id' does not belong to field "
                       "'parent_id'");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"c\","
                       "\"workflow_type\":\"t\",\"parent_id\":\"p\","
                       "\"parent_task_id\":\"p/1\"}",
                       "'parent_task_id' is not <workflow_id>");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"c\","
                       "\"workflow_type\":\"t\",\"parent_id\":\"\","
                       "\"parent_task_id\":\"/1/1\"}",
                       "'parent_id' must be 1 to 256 bytes");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"c\","
                       "\"workflow_type\":\"t\",\"branch\":\"\"}",
                       "'branch' is empty");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"c\","
                       "\"workflow_type\":\"t\",\"definition_version\":\"\"}",
                       "'definition_version' is empty");
    expect_cmd_invalid("{\"kind\":\"START\",\"workflow_id\":\"c\","
                       "\"workflow_type\":\"t\",\"branch\":7}",
                       "'branch' must be a string");
    expect_cmd_invalid("{\"kind\":\"CANCEL\",\"workflow_id\":\"w\","
                       "\"task_id\":\"w/1/0\"}",
                       "'task_id' is not <workflow_id>");
    expect_cmd_invalid("{\"kind\":\"CANCEL\",\"workflow_id\":\"w\","
                       "\"task_id\":\"v/1/1\"}",
                       "'task_id' does not belong to field 'workflow_id'");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng(void) { /* xorshift64*, deterministic across runs */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Decodes buf[0..len) as every envelope in both encodings; each must be
 * refused or, when accepted, re-encode.  Returns how many were accepted. */
static int decode_all(const unsigned char *buf, size_t len) {
    int accepted = 0;
    for (int json = 0; json <= 1; json++) {
        baton_command_t c;
        baton_task_t t;
        baton_result_t r;
        baton_event_t e;
        char *out;
        size_t olen;
        baton_err_t err;

        err = baton_codec_decode_command(codec, buf, len, json, &c, errstr,
                                         sizeof errstr);
        CHECK_ERR(err == BATON_OK || err == BATON_ERR_INVALID, errstr);
        if (err == BATON_OK) {
            accepted++;
            CHECK(baton_codec_encode_command(codec, &c, !json, &out, &olen,
                                             errstr,
                                             sizeof errstr) == BATON_OK);
            baton_free(out);
        }
        baton_command_clear(&c);
        err = baton_codec_decode_task(codec, buf, len, json, &t, errstr,
                                      sizeof errstr);
        CHECK_ERR(err == BATON_OK || err == BATON_ERR_INVALID, errstr);
        if (err == BATON_OK) {
            accepted++;
            CHECK(baton_codec_encode_task(codec, &t, !json, &out, &olen, errstr,
                                          sizeof errstr) == BATON_OK);
            baton_free(out);
        }
        baton_task_clear(&t);
        err = baton_codec_decode_result(codec, buf, len, json, &r, errstr,
                                        sizeof errstr);
        CHECK_ERR(err == BATON_OK || err == BATON_ERR_INVALID, errstr);
        if (err == BATON_OK) {
            accepted++;
            CHECK(baton_codec_encode_result(codec, &r, !json, &out, &olen,
                                            errstr, sizeof errstr) == BATON_OK);
            baton_free(out);
        }
        baton_result_clear(&r);
        err = baton_codec_decode_event(codec, buf, len, json, &e, errstr,
                                       sizeof errstr);
        CHECK_ERR(err == BATON_OK || err == BATON_ERR_INVALID, errstr);
        if (err == BATON_OK) {
            accepted++;
            CHECK(baton_codec_encode_event(codec, &e, !json, &out, &olen,
                                           errstr, sizeof errstr) == BATON_OK);
            baton_free(out);
        }
        baton_event_clear(&e);
    }
    return accepted;
}

/* Random buffers: none should pass (a valid record by chance is possible
 * in principle, so acceptance is counted, not forbidden, and must be rare). */
static void test_garbage(void) {
    int accepted = 0, runs = 3000;
    for (int i = 0; i < runs; i++) {
        size_t len = rng() % 96;
        unsigned char *buf = malloc(len ? len : 1);
        for (size_t j = 0; j < len; j++) buf[j] = (unsigned char)rng();
        /* a third of the runs use small bytes, which look like varints */
        if (i % 3 == 0)
            for (size_t j = 0; j < len; j++) buf[j] &= 0x0f;
        accepted += decode_all(buf, len);
        free(buf);
    }
    CHECK_ERR(accepted < runs / 100, "too many random buffers accepted");
}

/* Valid messages with a few random bytes changed: refused or re-encodable. */
static void test_mutations(void) {
    baton_command_t c = sample_command();
    baton_task_t t = sample_task();
    char *bufs[4];
    size_t lens[4];

    CHECK(baton_codec_encode_command(codec, &c, 0, &bufs[0], &lens[0], errstr,
                                     sizeof errstr) == BATON_OK);
    CHECK(baton_codec_encode_task(codec, &t, 0, &bufs[1], &lens[1], errstr,
                                  sizeof errstr) == BATON_OK);
    CHECK(baton_codec_encode_command(codec, &c, 1, &bufs[2], &lens[2], errstr,
                                     sizeof errstr) == BATON_OK);
    CHECK(baton_codec_encode_task(codec, &t, 1, &bufs[3], &lens[3], errstr,
                                  sizeof errstr) == BATON_OK);
    for (int i = 0; i < 2000; i++) {
        int k = i % 4;
        unsigned char *m = malloc(lens[k]);
        memcpy(m, bufs[k], lens[k]);
        for (int f = 1 + (int)(rng() % 3); f > 0; f--)
            m[rng() % lens[k]] = (unsigned char)rng();
        decode_all(m, lens[k]);
        free(m);
    }
    for (int k = 0; k < 4; k++) baton_free(bufs[k]);
}

/* ---- out of memory ----------------------------------------------------- */

/* Fails the n-th allocation for n = 0, 1, 2 ... until the call succeeds:
 * every step must give OK or NOMEM (ASan/LSan watch for crashes and
 * leaks), and the encoder's output must not depend on the failures. */
#define OOM_LOOP(type, in, json)                                               \
    do {                                                                       \
        char *enc_;                                                            \
        size_t enc_len_;                                                       \
        int wrong_ = 0, ok_ = 0;                                               \
        CHECK(baton_codec_encode_##type(codec, (in), (json), &enc_, &enc_len_, \
                                        errstr, sizeof errstr) == BATON_OK);   \
        for (long n_ = 0; n_ < 1000 && !ok_; n_++) {                           \
            baton_##type##_t o_;                                               \
            baton_err_t e_;                                                    \
            baton_alloc_fail_after(n_);                                        \
            e_ = baton_codec_decode_##type(codec, enc_, enc_len_, (json), &o_, \
                                           errstr, sizeof errstr);             \
            baton_alloc_fail_after(-1);                                        \
            if (e_ == BATON_OK)                                                \
                ok_ = 1;                                                       \
            else if (e_ != BATON_ERR_NOMEM) {                                  \
                wrong_++;                                                      \
                fprintf(stderr, "decode " #type " json=%d n=%ld: %s\n",        \
                        (json), n_, errstr);                                   \
            }                                                                  \
            baton_##type##_clear(&o_);                                         \
        }                                                                      \
        CHECK_ERR(ok_ &&wrong_ == 0, "decode " #type " under OOM");            \
        ok_ = wrong_ = 0;                                                      \
        for (long n_ = 0; n_ < 1000 && !ok_; n_++) {                           \
            char *b_ = (char *)1;                                              \
            size_t l_ = 1;                                                     \
            baton_err_t e_;                                                    \
            baton_alloc_fail_after(n_);                                        \
            e_ = baton_codec_encode_##type(codec, (in), (json), &b_, &l_,      \
                                           errstr, sizeof errstr);             \
            baton_alloc_fail_after(-1);                                        \
            if (e_ == BATON_OK) {                                              \
                ok_ = 1;                                                       \
                CHECK(l_ == enc_len_ && memcmp(b_, enc_, l_) == 0);            \
                baton_free(b_);                                                \
            } else if (e_ != BATON_ERR_NOMEM || b_ != NULL) {                  \
                wrong_++;                                                      \
            }                                                                  \
        }                                                                      \
        CHECK_ERR(ok_ &&wrong_ == 0, "encode " #type " under OOM");            \
        baton_free(enc_);                                                      \
    } while (0)

static void test_oom(void) {
    baton_command_t c = sample_command();
    baton_task_t t = sample_task();
    baton_result_t r = sample_result();
    baton_event_t e = sample_event();
    const char *lenient = "{\"kind\":\"start\",\"workflow_id\":\"w\","
                          "\"workflow_type\":\"t\",\"payload\":{\"a\":[1,"
                          "{\"b\":null}],\"c\":1.5}}";
    int ok = 0, wrong = 0;

    for (int json = 0; json <= 1; json++) {
        OOM_LOOP(command, &c, json);
        OOM_LOOP(task, &t, json);
        OOM_LOOP(result, &r, json);
        OOM_LOOP(event, &e, json);
    }
    /* the JSON-value payload path serializes with baton_malloc too */
    for (long n = 0; n < 1000 && !ok; n++) {
        baton_command_t o;
        baton_err_t err;
        baton_alloc_fail_after(n);
        err = dec_cmd_json(lenient, &o);
        baton_alloc_fail_after(-1);
        if (err == BATON_OK)
            ok = 1;
        else if (err != BATON_ERR_NOMEM)
            wrong++;
        baton_command_clear(&o);
    }
    CHECK_ERR(ok && wrong == 0, "lenient JSON under OOM");

    /* construction */
    ok = 0;
    for (long n = 0; n < 10000 && !ok; n++) {
        baton_codec_t *k;
        baton_alloc_fail_after(n);
        k = baton_codec_new(errstr, sizeof errstr);
        baton_alloc_fail_after(-1);
        if (k) ok = 1;
        baton_codec_destroy(k);
    }
    CHECK(ok);
}

/* Counts a decode that succeeded, or fails the check for an encode that
 * gave anything but OK or NOMEM. */
#define JANSSON_OOM_STEP(type, in)                                        \
    do {                                                                  \
        baton_##type##_t o_;                                              \
        char *b_;                                                         \
        size_t l_;                                                        \
        baton_err_t e_;                                                   \
        baton_alloc_fail_after(n);                                        \
        e_ = baton_codec_encode_##type(codec, (in), 1, &b_, &l_, errstr,  \
                                       sizeof errstr);                    \
        baton_alloc_fail_after(-1);                                       \
        CHECK_ERR(e_ == BATON_OK || e_ == BATON_ERR_NOMEM, errstr);       \
        if (e_ == BATON_OK) {                                             \
            baton_alloc_fail_after(n);                                    \
            e_ = baton_codec_decode_##type(codec, b_, l_, 1, &o_, errstr, \
                                           sizeof errstr);                \
            baton_alloc_fail_after(-1);                                   \
            ok += e_ == BATON_OK;                                         \
            baton_##type##_clear(&o_);                                    \
            baton_free(b_);                                               \
        }                                                                 \
    } while (0)

/* The same with jansson allocating through baton_malloc, so its failures
 * come on cue as well.  Encoding must still give OK or NOMEM.  Decoding
 * may also give INVALID: jansson 2.14 reports some allocation failures in
 * its lexer as syntax errors (see baton_codec_json_oom).  What this proves
 * is that no jansson failure path crashes or leaks in the codec. */
static void test_oom_jansson(void) {
    baton_command_t c = sample_command();
    baton_task_t t = sample_task();
    baton_result_t r = sample_result();
    baton_event_t e = sample_event();
    int ok = 0;

    json_set_alloc_funcs(baton_malloc, baton_free);
    for (long n = 0; n < 200; n++) {
        JANSSON_OOM_STEP(command, &c);
        JANSSON_OOM_STEP(task, &t);
        JANSSON_OOM_STEP(result, &r);
        JANSSON_OOM_STEP(event, &e);
    }
    json_set_alloc_funcs(malloc, free);
    CHECK(ok > 0);
}

/* ---- the schema files themselves ---------------------------------------- */

/* Every field documented, namespace io.baton, nullable fields default to
 * null: the schemas are the reference for worker authors. */
static void check_schema_text(const char *name, const char *text) {
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    json_t *fields = json_object_get(root, "fields"), *f;
    size_t i;
    int undocumented = 0, bad_null = 0;

    CHECK_ERR(root != NULL, name);
    CHECK_ERR(str_eq(json_string_value(json_object_get(root, "namespace")),
                     "io.baton"),
              name);
    CHECK_ERR(json_array_size(fields) > 0, name);
    json_array_foreach(fields, i, f) {
        json_t *doc = json_object_get(f, "doc");
        json_t *type = json_object_get(f, "type");
        if (!json_is_string(doc) || json_string_length(doc) == 0)
            undocumented++;
        if (json_is_array(type) &&
            !(json_object_get(f, "default") &&
              json_is_null(json_object_get(f, "default"))))
            bad_null++;
    }
    CHECK_ERR(undocumented == 0, name);
    CHECK_ERR(bad_null == 0, name);
    json_decref(root);
}

static void test_schemas(void) {
    check_schema_text("command.avsc", baton_schema_command);
    check_schema_text("task.avsc", baton_schema_task);
    check_schema_text("result.avsc", baton_schema_result);
    check_schema_text("event.avsc", baton_schema_event);
    baton_codec_destroy(NULL); /* no-op */
}

/* ---- protocol version 3: the bridge's fields ----------------------------- */

/* start_or_signal (a SIGNAL with start_if_absent) round-trips in both
 * encodings; the version-3 checks refuse what batond could not apply. */
static void test_version3(void) {
    baton_command_t c = {0}, out;
    char *buf;
    size_t len;
    static const char *const bad[][2] = {
        {"{\"kind\":\"START\",\"workflow_id\":\"w\",\"workflow_type\":\"t\","
         "\"id_reuse\":\"sometimes\"}",
         "field 'id_reuse' must be refuse_while_running, allow_after_close "
         "or never, not 'sometimes'"},
        {"{\"kind\":\"START\",\"workflow_id\":\"w\",\"workflow_type\":\"t\","
         "\"start_if_absent\":true}",
         "'start_if_absent' is only allowed on a SIGNAL"},
        {"{\"kind\":\"SIGNAL\",\"workflow_id\":\"w\",\"name\":\"n\","
         "\"start_if_absent\":true}",
         "start_if_absent requires a non-empty field 'workflow_type'"},
        {"{\"kind\":\"SIGNAL\",\"workflow_id\":\"w\",\"name\":\"n\","
         "\"dedupe_id\":\"\"}",
         "field 'dedupe_id' must be 1 to 1024 bytes, not 0"},
        {"{\"kind\":\"SIGNAL\",\"workflow_id\":\"w\",\"name\":\"n\","
         "\"signal_hold_ms\":-1}",
         "field 'signal_hold_ms' must be >= 0"},
        {"{\"kind\":\"SIGNAL\",\"workflow_id\":\"w\",\"name\":\"n\","
         "\"source_offset\":-2}",
         "field 'source_offset' must be >= 0"},
        {"{\"kind\":\"SIGNAL\",\"workflow_id\":\"w\",\"name\":\"n\","
         "\"start_input\":\"{oops\"}",
         "field 'start_input' is not valid JSON"},
    };
    char longid[BATON_DEDUPE_ID_MAX + 2];

    c.kind = BATON_CMD_SIGNAL;
    c.workflow_id = "ticket-7";
    c.name = "ticket.updated";
    c.payload = "{\"status\":\"open\"}";
    c.start_if_absent = 1;
    c.workflow_type = "ticket";
    c.start_input = "{\"id\":7}";
    c.id_reuse = "never";
    c.dedupe_id = "tickets/msg/evt-99";
    c.signal_hold_ms = 60000;
    c.source_trigger = "tickets";
    c.source_topic = "ticket.events";
    c.source_partition = INT32_MAX;
    c.source_offset = INT64_MAX;
    for (int json = 0; json <= 1; json++) {
        CHECK_ERR(baton_codec_encode_command(codec, &c, json, &buf, &len,
                                             errstr, sizeof errstr) == BATON_OK,
                  errstr);
        CHECK_ERR(baton_codec_decode_command(codec, buf, len, json, &out,
                                             errstr, sizeof errstr) == BATON_OK,
                  errstr);
        CHECK(command_eq(&c, &out));
        baton_command_clear(&out);
        baton_free(buf);
    }
    for (size_t i = 0; i < BATON_ARRAY_SIZE(bad); i++) {
        CHECK_ERR(dec_cmd_json(bad[i][0], &out) == BATON_ERR_INVALID,
                  bad[i][0]);
        CHECK_ERR(strstr(errstr, bad[i][1]) != NULL, errstr);
        baton_command_clear(&out);
    }
    /* the encoder refuses too: Baton never produces what it would refuse */
    c.id_reuse = "sometimes";
    CHECK(baton_codec_encode_command(codec, &c, 0, &buf, &len, errstr,
                                     sizeof errstr) == BATON_ERR_INVALID);
    c.id_reuse = NULL;
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    c.dedupe_id = longid;
    CHECK(baton_codec_encode_command(codec, &c, 1, &buf, &len, errstr,
                                     sizeof errstr) == BATON_ERR_INVALID);
    CHECK(strstr(errstr, "not 1025") != NULL);
    /* a version-2 JSON command (no version-3 field) decodes to defaults */
    CHECK_ERR(dec_cmd_json("{\"kind\":\"START\",\"workflow_id\":\"w\","
                           "\"workflow_type\":\"t\"}",
                           &out) == BATON_OK,
              errstr);
    CHECK(!out.start_if_absent && !out.id_reuse && !out.dedupe_id &&
          out.source_partition == 0 && out.source_offset == 0 &&
          out.signal_hold_ms == 0);
    baton_command_clear(&out);
}

/* History events as CloudEvents attributes (common/cloudevents.h). */
static void test_cloudevents(void) {
    baton_event_t ev = {0};
    baton_ce_attrs_t ce;
    char buf[160];
    ev.workflow_id = "order-A1";
    ev.seq = 7;
    ev.type = "WorkflowCompleted";
    ev.time_ms = 1700000000123LL;
    baton_ce_attrs(&ev, "baton", &ce);
    CHECK(!strcmp(ce.type, "dev.baton.workflow.completed"));
    CHECK(!strcmp(ce.id, "order-A1/7"));
    CHECK(!strcmp(ce.subject, "order-A1"));
    CHECK(!strcmp(ce.source, "/baton/baton"));
    CHECK(!strcmp(ce.time, "2023-11-14T22:13:20.123Z"));
    CHECK(!strcmp(baton_ce_type(buf, sizeof buf, "WorkflowStarted"),
                  "dev.baton.workflow.started"));
    CHECK(!strcmp(baton_ce_type(buf, sizeof buf, "SignalWaitStarted"),
                  "dev.baton.workflow.waiting"));
    CHECK(!strcmp(baton_ce_type(buf, sizeof buf, "ActivityCompleted"),
                  "dev.baton.workflow.step.completed"));
    CHECK(!strcmp(baton_ce_type(buf, sizeof buf, "WorkflowFailed"),
                  "dev.baton.workflow.failed"));
    CHECK(!strcmp(baton_ce_type(buf, sizeof buf, "WorkflowCancelled"),
                  "dev.baton.workflow.cancelled"));
    CHECK(!strcmp(baton_ce_type(buf, sizeof buf, "ActivityScheduled"),
                  "dev.baton.history.ActivityScheduled"));
}

int main(void) {
    test_cloudevents();
    codec = baton_codec_new(errstr, sizeof errstr);
    if (!codec) {
        fprintf(stderr, "baton_codec_new: %s\n", errstr);
        return 1;
    }
    test_round_trip();
    test_value_reuse();
    test_json_plain();
    test_json_output();
    test_json_invalid();
    test_cross_field();
    test_encode_invalid();
    test_task_id();
    test_kind_names();
    test_avro_hostile();
    test_task_lineage_versions();
    test_task_encode_v3();
    test_doc_example();
    test_truncation();
    test_version1();
    test_version2_json();
    test_version3();
    test_garbage();
    test_mutations();
    test_oom();
    test_oom_jansson();
    test_schemas();
    baton_codec_destroy(codec);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
