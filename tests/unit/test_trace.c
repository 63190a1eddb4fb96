/*
 * test_trace.c -- distributed tracing without Kafka (docs/tracing.md):
 * traceparent parsing, derived ids, the OTLP JSON encoding, the trace part
 * of outbox records and snapshots (old ones without it load), and the
 * engine's spans through the loop (loop_env.h): one trace from the start
 * command's traceparent, the right parents, the task's header naming the
 * activity span, ids that do not change when a snapshot is reloaded.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "loop_env.h"
#include "otlp.h"
#include "outbox.h"
#include "trace.h"

#define Q(...) #__VA_ARGS__
#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT "00f067aa0ba902b7"
#define TP "00-" TRACE "-" PARENT "-01"

static void test_traceparent(void) {
    baton_trace_ctx_t c;
    char buf[64];
    CHECK(!baton_trace_parse(TP, strlen(TP), &c) &&
              !strcmp(c.trace_id, TRACE) && !strcmp(c.span_id, PARENT) &&
              c.flags == 1,
          "a valid traceparent parses");
    baton_trace_format(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, TP), "and formats back (%s)", buf);
    const char *bad[] = {
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* upper */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero */
        "00-" TRACE "-0000000000000000-01",                        /* zero */
        "ff-" TRACE "-" PARENT "-01",                              /* ff */
        "00-" TRACE "-" PARENT "-01-extra", /* 00 has no more fields */
        "00-" TRACE "-" PARENT,             /* short */
        "00_" TRACE "-" PARENT "-01",       /* separator */
        "00-" TRACE "-" PARENT "-0g",       /* flags */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(baton_trace_parse(bad[i], strlen(bad[i]), &c), "refused: %s",
              bad[i]);
    const char *future = "01-" TRACE "-" PARENT "-01-whatever";
    CHECK(!baton_trace_parse(future, strlen(future), &c),
          "a later version with more fields is read");
}

static void test_derived_ids(void) {
    char a[17], b[17], c[17], t1[33], t2[33];
    baton_trace_derive_id(a, TRACE, "run|x|1");
    baton_trace_derive_id(b, TRACE, "run|x|1");
    baton_trace_derive_id(c, TRACE, "run|x|2");
    CHECK(!strcmp(a, b) && strcmp(a, c) && strlen(a) == 16 &&
              baton_trace_id_ok(a, 16),
          "span ids are derived, stable and distinct (%s %s)", a, c);
    baton_trace_derive_id(c, "0af7651916cd43dd8448eb211c80319c", "run|x|1");
    CHECK(strcmp(a, c), "another trace, other ids");
    baton_trace_derive_trace_id(t1, "x|1");
    baton_trace_derive_trace_id(t2, "x|2");
    CHECK(strlen(t1) == 32 && baton_trace_id_ok(t1, 32) && strcmp(t1, t2),
          "derived trace ids");
}

static void test_otlp_json(void) {
    baton_span_t sp[2];
    memset(sp, 0, sizeof sp);
    snprintf(sp[0].trace_id, sizeof sp[0].trace_id, "%s", TRACE);
    snprintf(sp[0].span_id, sizeof sp[0].span_id, "%s", "1111111111111111");
    snprintf(sp[0].name, sizeof sp[0].name, "%s", "run x");
    sp[0].kind = BATON_SPAN_SERVER;
    sp[0].start_ns = 1700000000000000000LL;
    sp[0].end_ns = 1700000001000000000LL;
    baton_span_attr_str(&sp[0], "gen_ai.request.model", "m1");
    baton_span_attr_int(&sp[0], "gen_ai.usage.input_tokens", 12);
    sp[1] = sp[0];
    sp[1].attrs = NULL;
    snprintf(sp[1].span_id, sizeof sp[1].span_id, "%s", "2222222222222222");
    snprintf(sp[1].parent_id, sizeof sp[1].parent_id, "%s", "1111111111111111");
    sp[1].error = 1;
    snprintf(sp[1].status_msg, sizeof sp[1].status_msg, "%s",
             "States.TaskFailed");
    json_t *j = baton_span_otlp_json(sp, 2, "batond");
    json_t *rs = json_array_get(json_object_get(j, "resourceSpans"), 0);
    json_t *attr0 = json_array_get(
        json_object_get(json_object_get(rs, "resource"), "attributes"), 0);
    json_t *spans = json_object_get(
        json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans");
    json_t *s0 = json_array_get(spans, 0), *s1 = json_array_get(spans, 1);
    CHECK(j && !strcmp(json_string_value(json_object_get(attr0, "key")),
                       "service.name"),
          "resource carries service.name");
    CHECK(
        json_array_size(spans) == 2 &&
            !strcmp(json_string_value(json_object_get(s0, "traceId")), TRACE) &&
            !strcmp(json_string_value(json_object_get(s0, "startTimeUnixNano")),
                    "1700000000000000000") &&
            !json_object_get(s0, "parentSpanId") &&
            !strcmp(json_string_value(json_object_get(s1, "parentSpanId")),
                    "1111111111111111"),
        "spans: hex ids, times as strings, no parent at the root");
    json_t *a = json_object_get(s0, "attributes");
    int model = 0, tokens = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *kv = json_array_get(a, i);
        const char *k = json_string_value(json_object_get(kv, "key"));
        json_t *v = json_object_get(kv, "value");
        model |=
            !strcmp(k, "gen_ai.request.model") &&
            !strcmp(json_string_value(json_object_get(v, "stringValue")), "m1");
        tokens |=
            !strcmp(k, "gen_ai.usage.input_tokens") &&
            !strcmp(json_string_value(json_object_get(v, "intValue")), "12");
    }
    CHECK(model && tokens, "attributes: stringValue, intValue as a string");
    CHECK(json_integer_value(
              json_object_get(json_object_get(s1, "status"), "code")) == 2,
          "an error span has status code 2");
    json_decref(j);
    baton_span_clear(&sp[0]);
}

static void test_outbox_trace(void) {
    baton_outbox_msg_t m = {0}, d;
    char *rec;
    size_t len;
    m.topic = "baton.tasks.default";
    m.key = "w-1";
    m.partition = -1;
    m.json = 1;
    m.value = "{\"x\":1}";
    m.value_len = strlen(m.value);
    m.traceparent = TP;
    m.tracestate = "vendor=a b";
    rec = baton_outbox_encode(&m, &len);
    CHECK(rec && !baton_outbox_decode(rec, len, &d), "a traced record decodes");
    CHECK(d.traceparent && !strcmp(d.traceparent, TP) && d.tracestate &&
              !strcmp(d.tracestate, "vendor=a b") && d.json &&
              d.value_len == m.value_len &&
              !memcmp(d.value, m.value, d.value_len),
          "trace headers and value survive");
    baton_outbox_msg_clear(&d);
    baton_free(rec);
    m.traceparent = NULL;
    m.tracestate = NULL;
    rec = baton_outbox_encode(&m, &len);
    CHECK(rec && memmem(rec, len, ":j:", 3), "an untraced record is as before");
    CHECK(!baton_outbox_decode(rec, len, &d) && !d.traceparent && d.json,
          "and decodes without trace");
    baton_outbox_msg_clear(&d);
    baton_free(rec);
    const char *cut = "5:topic 0: 0: -1:A:55:00-abc";
    CHECK(baton_outbox_decode(cut, strlen(cut), &d),
          "a cut trace part is corrupt");
}

static void test_snapshot_trace(void) {
    const char *old = "{\"v\":1,\"id\":\"w\",\"type\":\"t\",\"ver\":\"1\","
                      "\"st\":\"RUNNING\",\"t0\":5}";
    char err[256], *text;
    size_t len;
    baton_snapshot_t *s =
        baton_snapshot_decode(old, strlen(old), err, sizeof err);
    CHECK(s && !s->trace_id[0] && !s->trace_parent[0] && !s->tracestate,
          "a snapshot from before tracing loads (%s)", s ? "" : err);
    if (!s) return;
    char h1[64], h2[64];
    baton_engine_trace_header(s, 0, h1, sizeof h1);
    baton_engine_trace_header(s, 0, h2, sizeof h2);
    CHECK(!strcmp(h1, h2) && strlen(h1) == 55, "its trace is derived: %s", h1);
    snprintf(s->trace_id, sizeof s->trace_id, "%s", TRACE);
    snprintf(s->trace_parent, sizeof s->trace_parent, "%s", PARENT);
    s->trace_flags = 1;
    s->tracestate = baton_strdup("k=v");
    text = baton_snapshot_encode(s, &len);
    baton_snapshot_t *d = baton_snapshot_decode(text, len, err, sizeof err);
    CHECK(d && !strcmp(d->trace_id, TRACE) &&
              !strcmp(d->trace_parent, PARENT) && d->trace_flags == 1 &&
              !strcmp(d->tracestate, "k=v"),
          "the trace context round-trips");
    baton_snapshot_destroy(d);
    baton_free(text);
    const char *bad = "{\"v\":1,\"id\":\"w\",\"type\":\"t\",\"ver\":\"1\","
                      "\"st\":\"RUNNING\",\"tid\":\"xyz\"}";
    d = baton_snapshot_decode(bad, strlen(bad), err, sizeof err);
    CHECK(!d && strstr(err, "tid"), "a malformed trace id is refused: %s", err);
    baton_snapshot_destroy(s);
}

static const char *DEF = Q({
    "StartAt" : "Prepare",
    "States" : {
        "Prepare" : {
            "Type" : "Task",
            "Resource" : "baton:activity:default/noop",
            "ResultPath" : "$.prep",
            "Next" : "Each"
        },
        "Each" : {
            "Type" : "Map",
            "ItemsPath" : "$.items",
            "ItemProcessor" : {
                "StartAt" : "Work",
                "States" : {
                    "Work" : {
                        "Type" : "Task",
                        "Resource" : "baton:activity:default/echo",
                        "End" : true
                    }
                }
            },
            "End" : true
        }
    }
});

/* The span called name (the first one), or NULL. */
static json_t *span_named(env_t *e, const char *name, size_t skip) {
    size_t i;
    json_t *sp;
    json_array_foreach(e->spans, i, sp) {
        if (strcmp(json_string_value(json_object_get(sp, "name")), name))
            continue;
        if (!skip--) return sp;
    }
    return NULL;
}
#define SPAN_STR(sp, k) json_string_value(json_object_get(sp, k))

static void complete_task(env_t *e, const char *wf) {
    char tid[300];
    const baton_snapshot_t *s = env_snap(e, wf);
    if (!s || s->pend != BATON_PEND_TASK) {
        CHECK(0, "%s has no pending task", wf);
        return;
    }
    baton_engine_task_id(s, s->pend_seq, s->pend_attempt, tid, sizeof tid);
    env_simple_result(e, tid, wf, BATON_RESULT_COMPLETED, "\"ok\"");
}

static void test_engine_spans(void) {
    env_def_t defs[] = {{"traced", DEF}, {NULL, NULL}};
    env_t e;
    const baton_snapshot_t *s;
    char run[17], tp[64];
    size_t i;
    json_t *sp;
    env_init(&e, defs);
    env_cmd(&e, BATON_CMD_START, "w-1", "traced", NULL, "{\"items\":[1,2]}");
    e.inbox[e.ninbox - 1].traceparent = TP;
    e.inbox[e.ninbox - 1].tracestate = "vendor=x";
    env_run(&e, 1);
    s = env_snap(&e, "w-1");
    CHECK(s && !strcmp(s->trace_id, TRACE) &&
              !strcmp(s->trace_parent, PARENT) && s->tracestate &&
              !strcmp(s->tracestate, "vendor=x"),
          "the run keeps the start's trace context");
    if (!s) return;
    baton_engine_trace_run_span(s, run);
    baton_engine_trace_header(s, 1, tp, sizeof tp);
    CHECK(!strcmp(e.last_task_traceparent, tp) &&
              !strncmp(tp, "00-" TRACE "-", 36) && strncmp(tp + 36, run, 16),
          "the task names the activity span (%s)", e.last_task_traceparent);
    /* Reloaded (a restart, another owner): the same ids. */
    {
        size_t len;
        char *text = baton_snapshot_encode(s, &len);
        char err[256], run2[17], tp2[64];
        baton_snapshot_t *d = baton_snapshot_decode(text, len, err, sizeof err);
        baton_engine_trace_run_span(d, run2);
        baton_engine_trace_header(d, 1, tp2, sizeof tp2);
        CHECK(!strcmp(run, run2) && !strcmp(tp, tp2),
              "a reloaded snapshot gives the same span ids");
        baton_snapshot_destroy(d);
        baton_free(text);
    }
    complete_task(&e, "w-1");
    env_run(&e, 1);
    sp = span_named(&e, "activity noop", 0);
    CHECK(sp && !strncmp(SPAN_STR(sp, "id"), tp + 36, 16) &&
              !strcmp(SPAN_STR(sp, "parent"), run) &&
              !strcmp(SPAN_STR(sp, "trace"), TRACE),
          "the activity span: the task's id, under the run");
    /* The Map's children: their runs under the Map step's span. */
    env_pump(&e, 3);
    for (int k = 0; k < 2; k++) {
        char wf[64];
        const baton_snapshot_t *c;
        snprintf(wf, sizeof wf, "w-1:2:%d", k);
        c = env_snap(&e, wf);
        if (!c) { /* ids carry a nonce when the env draws them */
            CHECK(0, "no child run %s", wf);
            continue;
        }
        CHECK(!strcmp(c->trace_id, TRACE), "child %d in the trace", k);
        complete_task(&e, wf);
    }
    env_run(&e, 1);
    env_pump(&e, 5);
    s = env_snap(&e, "w-1");
    CHECK(s && s->status == BATON_WF_SUCCEEDED, "the run completed");
    json_t *map = span_named(&e, "map Each", 0);
    CHECK(map && !strcmp(SPAN_STR(map, "parent"), run),
          "map step under the run");
    int children = 0, acts = 0;
    json_array_foreach(e.spans, i, sp) {
        CHECK(!strcmp(SPAN_STR(sp, "trace"), TRACE), "span %s in the trace",
              SPAN_STR(sp, "name"));
        if (!strcmp(SPAN_STR(sp, "name"), "run traced") &&
            strcmp(SPAN_STR(sp, "id"), run)) {
            children++;
            CHECK(map && !strcmp(SPAN_STR(sp, "parent"), SPAN_STR(map, "id")),
                  "child run under the map step");
        }
        if (!strcmp(SPAN_STR(sp, "name"), "activity echo")) acts++;
    }
    CHECK(children == 2 && acts == 2, "two child runs, two activities (%d %d)",
          children, acts);
    json_t *root = NULL;
    json_array_foreach(e.spans, i, sp) if (!strcmp(SPAN_STR(sp, "id"), run))
        root = sp;
    CHECK(root && !strcmp(SPAN_STR(root, "parent"), PARENT),
          "the root run's parent is the start command's span");
    CHECK(json_array_size(e.spans) == 7, "7 spans (%zu)",
          json_array_size(e.spans));
    /* A start without traceparent: a trace of its own. */
    env_cmd(&e, BATON_CMD_START, "w-2", "traced", NULL, "{\"items\":[]}");
    env_run(&e, 1);
    s = env_snap(&e, "w-2");
    CHECK(s && strlen(s->trace_id) == 32 && strcmp(s->trace_id, TRACE) &&
              !s->trace_parent[0],
          "a start without traceparent gets a new trace id");
    env_free(&e);
}

/* The exporter never blocks: past its queue spans are dropped and
 * counted; a collector that refuses costs the batch, nothing else. */
static void test_exporter_bounded(void) {
    char err[256];
    baton_otlp_stats_t st;
    /* port 1 on loopback: nothing listens, connecting fails at once */
    baton_otlp_t *x =
        baton_otlp_new("http://127.0.0.1:1/", "t", 2, err, sizeof err);
    CHECK(x != NULL, "exporter starts: %s", err);
    if (!x) return;
    int64_t t0 = baton_mono_us();
    for (int i = 0; i < 5; i++) {
        baton_span_t sp = {0};
        snprintf(sp.trace_id, sizeof sp.trace_id, "%s", TRACE);
        snprintf(sp.span_id, sizeof sp.span_id, "%016x", i + 1);
        baton_span_attr_int(&sp, "i", i);
        baton_otlp_add(x, &sp);
        CHECK(!sp.attrs, "the span is taken (or freed)");
    }
    baton_otlp_stats(x, &st);
    CHECK(st.queued == 2 && st.dropped == 3, "2 queued, 3 dropped (%lld %lld)",
          (long long)st.queued, (long long)st.dropped);
    CHECK(baton_mono_us() - t0 < 100000, "adding never waits");
    baton_otlp_destroy(x); /* one failed POST, then gone: no leak */
    baton_otlp_add(NULL, &(baton_span_t){0}); /* tracing off: a no-op */
}

int main(void) {
    baton_log_configure("error", NULL);
    test_traceparent();
    test_derived_ids();
    test_otlp_json();
    test_outbox_trace();
    test_snapshot_trace();
    test_engine_spans();
    test_exporter_bounded();
    printf("%d passed, %d failed\n", env_passed, env_failed);
    return env_failed ? 1 : 0;
}
