/*
 * test_bridge_mapping.c -- baton-bridge's pure core over one event: the
 * event object and CloudEvents decoding (bridge/event.c), filter and
 * templates to a command (bridge/mapping.c), and the acknowledgement
 * window that decides the committed offset (bridge/ackwin.c).
 */
#include <stdio.h>
#include <string.h>

#include "ackwin.h"
#include "event.h"
#include "mapping.h"

static int passed, failed;
#define CHECK(c)                                                             \
    do {                                                                     \
        if (c)                                                               \
            passed++;                                                        \
        else {                                                               \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, #c, \
                    errstr);                                                 \
        }                                                                    \
    } while (0)

static char errstr[1024];

static baton_bridge_msg_t msg(const char *value, const baton_bridge_header_t *h,
                              size_t nh) {
    baton_bridge_msg_t m = {0};
    m.topic = "shop.orders";
    m.partition = 3;
    m.offset = 41;
    m.timestamp_ms = 1700000000000;
    m.key = "k1";
    m.key_len = 2;
    m.value = value;
    m.value_len = value ? strlen(value) : 0;
    m.headers = h;
    m.nheaders = nh;
    return m;
}

static const char *sget(json_t *o, const char *path) {
    char buf[128], *save = NULL, *tok;
    snprintf(buf, sizeof buf, "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && o;
         tok = strtok_r(NULL, ".", &save))
        o = json_object_get(o, tok);
    return json_string_value(o);
}

static void test_event_json(void) {
    baton_bridge_header_t h[] = {{"trace", "t-1", 3}, {"bin", "\xff", 1}};
    baton_bridge_msg_t m = msg("{\"orderId\":\"A1\"}", h, 2);
    json_t *ev = NULL;
    CHECK(baton_bridge_event_build(BATON_TRIGGER_FORMAT_JSON, &m, &ev, errstr,
                                   sizeof errstr) == BATON_OK);
    CHECK(!strcmp(sget(ev, "value.orderId"), "A1"));
    CHECK(!strcmp(sget(ev, "key"), "k1") &&
          !strcmp(sget(ev, "topic"), "shop.orders"));
    CHECK(json_integer_value(json_object_get(ev, "partition")) == 3 &&
          json_integer_value(json_object_get(ev, "offset")) == 41 &&
          json_integer_value(json_object_get(ev, "timestamp")) ==
              1700000000000);
    CHECK(!strcmp(sget(ev, "headers.trace"), "t-1"));
    CHECK(!json_object_get(json_object_get(ev, "headers"), "bin"));
    json_decref(ev);
    m = msg("{oops", NULL, 0);
    CHECK(baton_bridge_event_build(BATON_TRIGGER_FORMAT_JSON, &m, &ev, errstr,
                                   sizeof errstr) == BATON_ERR_INVALID);
    CHECK(strstr(errstr, "value is not JSON") != NULL);
    m = msg(NULL, NULL, 0); /* a tombstone */
    CHECK(baton_bridge_event_build(BATON_TRIGGER_FORMAT_JSON, &m, &ev, errstr,
                                   sizeof errstr) == BATON_OK);
    CHECK(json_is_null(json_object_get(ev, "value")));
    json_decref(ev);
}

static void test_event_cloudevents(void) {
    baton_bridge_header_t bin[] = {
        {"ce_specversion", "1.0", 3}, {"ce_id", "e1", 2},
        {"ce_source", "/pay", 4},     {"ce_type", "payment.settled", 15},
        {"ce_subject", "77", 2},      {"content-type", "application/json", 16}};
    baton_bridge_header_t text[] = {{"ce_specversion", "1.0", 3},
                                    {"ce_id", "e2", 2},
                                    {"ce_source", "/s", 2},
                                    {"ce_type", "t", 1},
                                    {"content-type", "text/plain", 10}};
    baton_bridge_header_t st[] = {
        {"content-type", "application/cloudevents+json", 28}};
    baton_bridge_msg_t m = msg("{\"paid\":true}", bin, 6);
    json_t *ev = NULL;
    CHECK(baton_bridge_event_build(BATON_TRIGGER_FORMAT_CLOUDEVENTS, &m, &ev,
                                   errstr, sizeof errstr) == BATON_OK);
    CHECK(!strcmp(sget(ev, "ce.type"), "payment.settled") &&
          !strcmp(sget(ev, "ce.subject"), "77") &&
          !strcmp(sget(ev, "ce.datacontenttype"), "application/json"));
    CHECK(json_is_true(json_object_get(json_object_get(ev, "value"), "paid")));
    json_decref(ev);
    m = msg("plain words", text, 5);
    CHECK(baton_bridge_event_build(BATON_TRIGGER_FORMAT_CLOUDEVENTS, &m, &ev,
                                   errstr, sizeof errstr) == BATON_OK);
    CHECK(!strcmp(json_string_value(json_object_get(ev, "value")),
                  "plain words"));
    json_decref(ev);
    m = msg("{\"specversion\":\"1.0\",\"id\":\"e3\",\"source\":\"/o\","
            "\"type\":\"order.created\",\"subject\":\"A1\",\"data\":{\"n\":1}}",
            st, 1);
    CHECK(baton_bridge_event_build(BATON_TRIGGER_FORMAT_CLOUDEVENTS, &m, &ev,
                                   errstr, sizeof errstr) == BATON_OK);
    CHECK(!strcmp(sget(ev, "ce.subject"), "A1") &&
          json_integer_value(
              json_object_get(json_object_get(ev, "value"), "n")) == 1 &&
          !json_object_get(json_object_get(ev, "ce"), "data"));
    json_decref(ev);
    /* structured without the content type: recognised by specversion */
    m = msg("{\"specversion\":\"1.0\",\"id\":\"e4\",\"source\":\"/o\","
            "\"type\":\"x\"}",
            NULL, 0);
    CHECK(baton_bridge_event_build(BATON_TRIGGER_FORMAT_CLOUDEVENTS, &m, &ev,
                                   errstr, sizeof errstr) == BATON_OK);
    CHECK(json_is_null(json_object_get(ev, "value")));
    json_decref(ev);
    m = msg("{\"a\":1}", NULL, 0);
    CHECK(baton_bridge_event_build(BATON_TRIGGER_FORMAT_CLOUDEVENTS, &m, &ev,
                                   errstr, sizeof errstr) == BATON_ERR_INVALID);
    CHECK(strstr(errstr, "not a CloudEvent: no ce_specversion header and no "
                         "specversion attribute") != NULL);
    m = msg("{}", bin, 3); /* no ce_type */
    CHECK(baton_bridge_event_build(BATON_TRIGGER_FORMAT_CLOUDEVENTS, &m, &ev,
                                   errstr, sizeof errstr) == BATON_ERR_INVALID);
    CHECK(strstr(errstr, "(binary mode) lacks the required attribute "
                         "'type'") != NULL);
    m = msg("{\"specversion\":\"0.3\",\"id\":\"e\",\"source\":\"/o\","
            "\"type\":\"x\"}",
            NULL, 0);
    CHECK(baton_bridge_event_build(BATON_TRIGGER_FORMAT_CLOUDEVENTS, &m, &ev,
                                   errstr, sizeof errstr) == BATON_ERR_INVALID);
    CHECK(strstr(errstr, "specversion '0.3' is not 1.0") != NULL);
}

static baton_trigger_t *trig(const char *text) {
    baton_trigger_t *t = NULL;
    if (baton_trigger_parse("orders", "orders.json", text, "baton.bridge", &t,
                            errstr, sizeof errstr))
        fprintf(stderr, "trigger: %s\n", errstr);
    return t;
}

static json_t *event(const char *value) {
    baton_bridge_msg_t m = msg(value, NULL, 0);
    json_t *ev = NULL;
    baton_bridge_event_build(BATON_TRIGGER_FORMAT_JSON, &m, &ev, errstr,
                             sizeof errstr);
    return ev;
}

static void test_map(void) {
    baton_trigger_t *t = trig(
        "{\"topics\":\"shop.orders\",\"filter\":{\"And\":[{\"Variable\":"
        "\"$.value.type\",\"StringEquals\":\"order.created\"},{\"Variable\":"
        "\"$.value.amount\",\"NumericGreaterThan\":0}]},\"action\":{\"type\":"
        "\"start\",\"workflow_type\":\"saga\",\"id_reuse\":"
        "\"allow_after_close\",\"id.$\":\"States.Format('order-{}', "
        "$.value.orderId)\",\"input\":{\"order.$\":\"$.value\",\"at.$\":"
        "\"$.offset\",\"n\":1}}}");
    baton_command_t c;
    json_t *ev, *in;
    int matched = -1;

    ev = event("{\"type\":\"order.created\",\"orderId\":\"A1\",\"amount\":5}");
    CHECK(t && baton_bridge_map(t, ev, 1000, 42, &c, &matched, errstr,
                                sizeof errstr) == BATON_OK);
    CHECK(matched == 1 && c.kind == BATON_CMD_START &&
          !strcmp(c.workflow_id, "order-A1") &&
          !strcmp(c.workflow_type, "saga") &&
          !strcmp(c.id_reuse, "allow_after_close") && c.sent_at_ms == 42);
    CHECK(!strcmp(c.dedupe_id, "orders/shop.orders/3/41") &&
          !strcmp(c.source_trigger, "orders") &&
          !strcmp(c.source_topic, "shop.orders") && c.source_partition == 3 &&
          c.source_offset == 41);
    in = json_loads(c.payload, 0, NULL);
    CHECK(in && json_integer_value(json_object_get(in, "at")) == 41 &&
          json_integer_value(json_object_get(in, "n")) == 1 &&
          !strcmp(sget(in, "order.orderId"), "A1"));
    json_decref(in);
    baton_command_clear(&c);
    /* too big for batond */
    CHECK(baton_bridge_map(t, ev, 10, 42, &c, &matched, errstr,
                           sizeof errstr) == BATON_ERR_INVALID);
    CHECK(strstr(errstr, "oversized: input is") != NULL);
    json_decref(ev);
    /* filtered out */
    ev = event("{\"type\":\"order.updated\",\"orderId\":\"A1\",\"amount\":5}");
    CHECK(baton_bridge_map(t, ev, 0, 0, &c, &matched, errstr, sizeof errstr) ==
              BATON_OK &&
          matched == 0);
    json_decref(ev);
    /* the filter's Variable matches nothing: the language's error */
    ev = event("{\"type\":\"order.created\"}");
    CHECK(baton_bridge_map(t, ev, 0, 0, &c, &matched, errstr, sizeof errstr) ==
          BATON_ERR_INVALID);
    CHECK(strstr(errstr, "filter: States.Runtime") != NULL);
    json_decref(ev);
    /* a template path that matches nothing */
    ev = event("{\"type\":\"order.created\",\"amount\":1}");
    CHECK(baton_bridge_map(t, ev, 0, 0, &c, &matched, errstr, sizeof errstr) ==
          BATON_ERR_INVALID);
    CHECK(strstr(errstr, "template: States.") != NULL);
    json_decref(ev);
    /* an id that is not a string */
    baton_trigger_destroy(t);
    t = trig("{\"topics\":\"t\",\"action\":{\"type\":\"start\","
             "\"workflow_type\":\"w\",\"id.$\":\"$.value.n\"}}");
    ev = event("{\"n\":7}");
    CHECK(baton_bridge_map(t, ev, 0, 0, &c, &matched, errstr, sizeof errstr) ==
          BATON_ERR_INVALID);
    CHECK(strstr(errstr, "workflow id must be a string") != NULL);
    json_decref(ev);
    baton_trigger_destroy(t);
}

static void test_map_signal_kinds(void) {
    baton_trigger_t *t =
        trig("{\"topics\":\"t\",\"action\":{\"type\":\"start_or_signal\","
             "\"workflow_type\":\"ticket\",\"signal\":\"updated\",\"id.$\":"
             "\"States.Format('ticket-{}', $.key)\",\"message_id.$\":"
             "\"$.value.eventId\",\"dedupe_window_seconds\":30}}");
    baton_command_t c;
    json_t *ev = event("{\"eventId\":\"ev-9\",\"status\":\"open\"}");
    int matched = 0;
    CHECK(t && baton_bridge_map(t, ev, 0, 0, &c, &matched, errstr,
                                sizeof errstr) == BATON_OK);
    CHECK(matched && c.kind == BATON_CMD_SIGNAL && c.start_if_absent == 1 &&
          !strcmp(c.workflow_id, "ticket-k1") && !strcmp(c.name, "updated") &&
          !strcmp(c.workflow_type, "ticket"));
    CHECK(!strcmp(c.dedupe_id, "orders/msg/ev-9") &&
          c.dedupe_window_ms == 30000);
    /* payload and start input both default to the value */
    CHECK(c.payload && c.start_input && !strcmp(c.payload, c.start_input) &&
          strstr(c.payload, "\"status\":\"open\"") != NULL);
    baton_command_clear(&c);
    json_decref(ev);
    baton_trigger_destroy(t);

    t = trig("{\"topics\":\"t\",\"action\":{\"type\":\"signal\",\"signal\":"
             "\"approve\",\"id\":\"gate\",\"payload\":{\"u.$\":"
             "\"States.UUID()\"},\"signal_hold_seconds\":60}}");
    ev = event("{}");
    CHECK(t && baton_bridge_map(t, ev, 0, 0, &c, &matched, errstr,
                                sizeof errstr) == BATON_OK);
    CHECK(matched && c.kind == BATON_CMD_SIGNAL && !c.start_if_absent &&
          !strcmp(c.workflow_id, "gate") && c.signal_hold_ms == 60000 &&
          !c.workflow_type && !c.start_input);
    {
        /* a redelivery of the same record maps to the same command */
        baton_command_t c2;
        CHECK(baton_bridge_map(t, ev, 0, 0, &c2, &matched, errstr,
                               sizeof errstr) == BATON_OK);
        CHECK(!strcmp(c.payload, c2.payload) && strstr(c.payload, "\"u\":"));
        baton_command_clear(&c2);
    }
    baton_command_clear(&c);
    json_decref(ev);
    baton_trigger_destroy(t);
}

static void test_ackwin(void) {
    baton_ackwin_t *w = baton_ackwin_new();
    CHECK(baton_ackwin_commit_offset(w) == -1);
    for (int64_t o = 5; o <= 8; o++) CHECK(baton_ackwin_push(w, o) == 0);
    CHECK(baton_ackwin_push(w, 8) == BATON_ERR_INVALID);
    CHECK(baton_ackwin_ack(w, 6) == 0 && baton_ackwin_ack(w, 8) == 0);
    CHECK(baton_ackwin_commit_offset(w) == 5 && baton_ackwin_pending(w) == 2);
    CHECK(baton_ackwin_ack(w, 6) == -1 && baton_ackwin_ack(w, 99) == -1);
    CHECK(baton_ackwin_ack(w, 5) == 0 && baton_ackwin_commit_offset(w) == 7);
    CHECK(baton_ackwin_ack(w, 7) == 0 && baton_ackwin_commit_offset(w) == 9);
    CHECK(baton_ackwin_pending(w) == 0);
    /* past the ring's first size, with gaps (compacted topics) */
    for (int64_t o = 100; o < 1100; o += 2) baton_ackwin_push(w, o);
    for (int64_t o = 1098; o > 100; o -= 2) baton_ackwin_ack(w, o);
    CHECK(baton_ackwin_commit_offset(w) == 100);
    CHECK(baton_ackwin_ack(w, 100) == 0 &&
          baton_ackwin_commit_offset(w) == 1099);
    baton_ackwin_destroy(w);
    baton_ackwin_destroy(NULL);
}

int main(void) {
    test_event_json();
    test_event_cloudevents();
    test_map();
    test_map_signal_kinds();
    test_ackwin();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
