/*
 * test_snapshot.c -- the two encodings batond keeps in Redis: workflow
 * snapshots (snapshot.h) and outbox records (outbox.h), round trips and
 * refusal of corrupt data, without Redis.
 */
#include <stdio.h>
#include <string.h>

#include "snapshot.h"
#include "outbox.h"

#include "check.h"

static void test_snapshot_round_trip(void) {
    baton_snapshot_t *s = baton_snapshot_new(), *d;
    char err[256], *text;
    size_t len;
    s->id = baton_strdup("order-17");
    s->type = baton_strdup("steps3");
    s->ver = baton_strdup("0123456789abcdef");
    s->status = BATON_WF_RUNNING;
    s->pos = baton_strdup("Step2");
    s->input = json_pack("{si}", "x", 1);
    s->state_input = json_pack("{s{si}}", "results", "s1", 7);
    s->started_ms = 1700000000000;
    s->aseq = 2;
    s->pend = BATON_PEND_TASK;
    s->pend_seq = 2;
    s->pend_attempt = 3;
    s->pend_queue = baton_strdup("default");
    s->pend_type = baton_strdup("noop");
    s->signals = json_pack("{s[s]}", "approve", "early");
    s->hseq = 5;
    s->stale = 1;
    text = baton_snapshot_encode(s, &len);
    CHECK(text && len < 400, "a running snapshot encodes small");
    d = baton_snapshot_decode(text, len, err, sizeof err);
    CHECK(d != NULL, err);
    if (d) {
        CHECK(!strcmp(d->id, "order-17") && !strcmp(d->pos, "Step2"),
              "ids and position survive");
        CHECK(d->pend == BATON_PEND_TASK && d->pend_seq == 2 &&
                  d->pend_attempt == 3 && !strcmp(d->pend_type, "noop"),
              "the pending activity survives");
        CHECK(json_equal(d->state_input, s->state_input) &&
                  json_equal(d->signals, s->signals),
              "state and buffered signals survive");
        CHECK(d->hseq == 5 && d->stale == 1 && d->aseq == 2,
              "counters survive");
        CHECK(d->type && !strcmp(d->type, "steps3") && d->ver &&
                  !strcmp(d->ver, "0123456789abcdef"),
              "type and definition version survive");
        CHECK(d->status == BATON_WF_RUNNING, "status survives");
        CHECK(json_equal(d->input, s->input), "the run's input survives");
        CHECK(d->started_ms == 1700000000000 && d->pend_queue &&
                  !strcmp(d->pend_queue, "default"),
              "start time and queue survive");
    }
    baton_snapshot_destroy(d);
    baton_free(text);
    baton_snapshot_destroy(s);
}

/* Every status survives a round trip (RUNNING is the zero value: a decoder
 * that dropped the field would pass the test above). */
static void test_snapshot_statuses(void) {
    static const baton_wf_status_t all[] = {
        BATON_WF_RUNNING, BATON_WF_SUCCEEDED, BATON_WF_FAILED,
        BATON_WF_CANCELLED, BATON_WF_TERMINATED};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        baton_snapshot_t *s = baton_snapshot_new(), *d;
        char err[256], *text;
        size_t len;
        s->id = baton_strdup("st-1");
        s->type = baton_strdup("t");
        s->ver = baton_strdup("v1");
        s->status = all[i];
        s->pos = baton_strdup("A");
        s->input = json_pack("{si}", "i", (int)i);
        text = baton_snapshot_encode(s, &len);
        d = text ? baton_snapshot_decode(text, len, err, sizeof err) : NULL;
        CHECK(d && d->status == all[i] && json_equal(d->input, s->input) &&
                  !strcmp(d->ver, "v1"),
              "status, input and version survive for every status");
        baton_snapshot_destroy(d);
        baton_free(text);
        baton_snapshot_destroy(s);
    }
}

/* A fan-out's nonce and item count live side by side (a key clash once
 * made every such snapshot unreadable). */
static void test_snapshot_nonce(void) {
    baton_snapshot_t *s = baton_snapshot_new(), *d;
    char err[256], *text;
    size_t len;
    s->id = baton_strdup("p-1");
    s->type = baton_strdup("t");
    s->ver = baton_strdup("v");
    s->status = BATON_WF_RUNNING;
    s->pend = BATON_PEND_FANOUT;
    s->pend_seq = 2;
    s->pend_n = 5;
    s->pend_outputs = json_object();
    s->hbytes = 1234;
    snprintf(s->pend_nonce, sizeof s->pend_nonce, "0a1b2c");
    text = baton_snapshot_encode(s, &len);
    d = baton_snapshot_decode(text, len, err, sizeof err);
    CHECK(d != NULL, err);
    if (d)
        CHECK(!strcmp(d->pend_nonce, "0a1b2c") && d->pend_n == 5 &&
                  d->hbytes == 1234,
              "nonce, item count and history bytes survive");
    baton_snapshot_destroy(d);
    baton_free(text);
    baton_snapshot_destroy(s);
}

/* A Wait: pos is the Wait state, pnt the state after it; a snapshot from
 * before pnt (pos held the next state, none when the Wait ended the run)
 * still decodes to a run that goes on at that state. */
static void test_snapshot_wait_position(void) {
    static const char *const old_next =
        "{\"v\":1,\"id\":\"w1\",\"type\":\"t\",\"ver\":\"v\","
        "\"st\":\"RUNNING\",\"pos\":\"After\",\"pk\":\"wait\","
        "\"pseq\":1,\"pdue\":5}";
    static const char *const old_end =
        "{\"v\":1,\"id\":\"w2\",\"type\":\"t\",\"ver\":\"v\","
        "\"st\":\"RUNNING\",\"pk\":\"wait\",\"pseq\":1,\"pdue\":5}";
    baton_snapshot_t *s = baton_snapshot_new(), *d;
    char err[256], *text;
    size_t len;
    s->id = baton_strdup("w0");
    s->type = baton_strdup("t");
    s->ver = baton_strdup("v");
    s->pos = baton_strdup("Nap");
    s->pend = BATON_PEND_WAIT;
    s->pend_seq = 1;
    s->pend_due_ms = 5;
    s->pend_then = baton_strdup("After");
    text = baton_snapshot_encode(s, &len);
    d = text ? baton_snapshot_decode(text, len, err, sizeof err) : NULL;
    CHECK(d && !strcmp(d->pos, "Nap") && d->pend_then &&
              !strcmp(d->pend_then, "After"),
          "a Wait keeps its own state as position, the next one apart");
    baton_snapshot_destroy(d);
    baton_free(text);
    baton_free(s->pend_then);
    s->pend_then = baton_strdup("");
    text = baton_snapshot_encode(s, &len);
    d = text ? baton_snapshot_decode(text, len, err, sizeof err) : NULL;
    CHECK(d && d->pend_then && !d->pend_then[0],
          "a Wait that ends the run round-trips as next \"\"");
    baton_snapshot_destroy(d);
    baton_free(text);
    baton_snapshot_destroy(s);
    d = baton_snapshot_decode(old_next, strlen(old_next), err, sizeof err);
    CHECK(d && d->pend_then && !strcmp(d->pend_then, "After") &&
              !strcmp(d->pos, "After"),
          "an old Wait snapshot goes on at the state its pos named");
    baton_snapshot_destroy(d);
    d = baton_snapshot_decode(old_end, strlen(old_end), err, sizeof err);
    CHECK(d && d->pend_then && !d->pend_then[0],
          "an old Wait snapshot without pos ends the run");
    baton_snapshot_destroy(d);
}

static void test_snapshot_corrupt(void) {
    static const char *bad[] = {
        "",
        "[]",
        "{\"v\":1}",
        "{\"v\":2,\"id\":\"a\",\"type\":\"t\","
        "\"ver\":\"v\",\"st\":\"RUNNING\"}",
        "{\"v\":1,\"id\":\"a\",\"type\":\"t\",\"ver\":\"v\",\"st\":\"NOPE\"}",
        "{\"v\":1,\"id\":\"a\",\"type\":\"t\",\"ver\":\"v\",\"st\":\"RUNNING\","
        "\"pseq\":\"x\",\"pk\":\"task\"}",
        "{\"v\":1,\"id\":5,\"type\":\"t\",\"ver\":\"v\",\"st\":\"RUNNING\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        baton_snapshot_t *d =
            baton_snapshot_decode(bad[i], strlen(bad[i]), err, sizeof err);
        CHECK(d == NULL && err[0],
              "a corrupt snapshot is refused with a reason");
        baton_snapshot_destroy(d);
    }
}

static void test_outbox_record(void) {
    baton_outbox_msg_t m = {0}, d;
    char value[] = "bin\0ary\nvalue with spaces 12:3 ";
    char *rec;
    size_t len;
    m.topic = "baton.tasks.default";
    m.partition = 5;
    m.key = "id with spaces:and:colons";
    m.error = "reason: x";
    m.json = 1;
    m.value = value;
    m.value_len = sizeof value - 1;
    rec = baton_outbox_encode(&m, &len);
    CHECK(rec != NULL, "record encodes");
    CHECK(baton_outbox_decode(rec, len, &d) == 0, "record decodes");
    CHECK(!strcmp(d.topic, m.topic) && !strcmp(d.key, m.key) &&
              !strcmp(d.error, m.error) && d.partition == 5 && d.json == 1,
          "record fields survive");
    CHECK(d.value_len == m.value_len && !memcmp(d.value, value, d.value_len),
          "binary value survives");
    baton_outbox_msg_clear(&d);
    for (size_t cut = 0; cut < len; cut++) {
        baton_outbox_msg_t t;
        int rc = baton_outbox_decode(rec, cut, &t);
        if (rc == 0) {
            /* Only a shorter value can still parse: never more bytes. */
            CHECK(t.value_len < m.value_len, "truncation is never read past");
            baton_outbox_msg_clear(&t);
        }
    }
    baton_free(rec);
    m.key = NULL;
    m.error = NULL;
    rec = baton_outbox_encode(&m, &len);
    CHECK(baton_outbox_decode(rec, len, &d) == 0 && !d.key && !d.error,
          "absent key and error stay absent");
    baton_outbox_msg_clear(&d);
    baton_free(rec);
}

int main(void) {
    test_snapshot_round_trip();
    test_snapshot_statuses();
    test_snapshot_nonce();
    test_snapshot_wait_position();
    test_snapshot_corrupt();
    test_outbox_record();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
