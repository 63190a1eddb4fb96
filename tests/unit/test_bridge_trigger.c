/*
 * test_bridge_trigger.c -- baton-bridge's trigger files (bridge/trigger.c):
 * a valid trigger with its defaults, and every refusal with its file,
 * field and reason.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "trigger.h"

static char errstr[1024];

static baton_err_t parse(const char *text, baton_trigger_t **t) {
    return baton_trigger_parse("orders", "triggers/orders.json", text,
                               "baton.bridge", t, errstr, sizeof errstr);
}

static void test_valid(void) {
    baton_trigger_t *t = NULL;
    CHECK(parse("{\"topics\":\"shop.orders\",\"action\":{\"type\":\"start\","
                "\"workflow_type\":\"saga\",\"id.$\":\"$.key\"}}",
                &t) == BATON_OK,
          "minimal trigger: %s", errstr);
    CHECK(t && t->ntopics == 1 && !strcmp(t->topics[0], "shop.orders"),
          "minimal trigger: topics is not [shop.orders]");
    CHECK(t && !strcmp(t->group, "baton.bridge.orders"),
          "minimal trigger: group %s, want baton.bridge.orders",
          t ? t->group : "(no trigger)");
    CHECK(t && t->format == BATON_TRIGGER_FORMAT_JSON && !t->filter &&
              !t->unmatched_dlq && t->id_reuse == NULL,
          "minimal trigger: defaults of format, filter, unmatched, id_reuse");
    /* the input defaults to the event's value */
    CHECK(t && !strcmp(json_string_value(json_object_get(t->tmpl, "input.$")),
                       "$.value"),
          "minimal trigger: input.$ does not default to $.value");
    baton_trigger_destroy(t);
    CHECK(parse("{\"topics\":[\"a\",\"b\"],\"group\":\"g\",\"format\":"
                "\"cloudevents\",\"unmatched\":\"dlq\",\"max_bytes\":10,"
                "\"filter\":{\"And\":[{\"Variable\":\"$.ce.type\","
                "\"StringEquals\":\"x\"},{\"Variable\":\"$.value.n\","
                "\"NumericGreaterThan\":3}]},\"action\":{\"type\":"
                "\"start_or_signal\",\"workflow_type\":\"w\",\"id_reuse\":"
                "\"never\",\"signal\":\"s\",\"id\":\"const\",\"input\":"
                "{\"a.$\":\"$.value\"},\"payload\":{\"b\":1},\"message_id.$\":"
                "\"$.ce.id\",\"dedupe_window_seconds\":60}}",
                &t) == BATON_OK,
          "full trigger: %s", errstr);
    CHECK(t && t->ntopics == 2 && !strcmp(t->group, "g") && t->unmatched_dlq &&
              t->max_bytes == 10 && t->dedupe_window_ms == 60000 &&
              t->action == BATON_TRIGGER_START_OR_SIGNAL &&
              !strcmp(t->id_reuse, "never"),
          "full trigger: topics, group, unmatched, max_bytes, dedupe window, "
          "action or id_reuse not as written");
    baton_trigger_destroy(t);
}

static const char *const A =
    "\"action\":{\"type\":\"start\",\"workflow_type\":\"w\",\"id.$\":\"$.key\"}";

static void expect(const char *text, const char *needle) {
    baton_trigger_t *t = (baton_trigger_t *)1;
    baton_err_t err = parse(text, &t);
    CHECK(err == BATON_ERR_INVALID && t == NULL,
          "%s\n  not refused as INVALID (error %d, trigger %p)", text, (int)err,
          (void *)t);
    CHECK(strstr(errstr, needle) != NULL, "%s\n  want: %s\n  got:  %s", text,
          needle, errstr);
}

/* format avro: the registry settings and schema files (relative to the
 * trigger's folder). */
static void test_avro(void) {
    baton_trigger_t *t = NULL;
    CHECK(parse("{\"topics\":\"t\",\"format\":\"avro\",\"avro\":{"
                "\"registry_url\":\"http://sr:8081\",\"registry_user\":"
                "\"u\",\"schemas\":[\"o.avsc\",\"/abs/p.avsc\"]},"
                "\"action\":{\"type\":\"start\",\"workflow_type\":\"w\","
                "\"id.$\":\"$.key\"}}",
                &t) == BATON_OK,
          "avro trigger: %s", errstr);
    CHECK(t && t->format == BATON_TRIGGER_FORMAT_AVRO,
          "avro trigger: format is not avro");
    CHECK(t && !strcmp(t->avro_registry_url, "http://sr:8081") &&
              !strcmp(t->avro_registry_user, "u") && !t->avro_password_file,
          "avro trigger: registry url, user or password file not as written");
    CHECK(t && t->navro_schemas == 2 &&
              !strcmp(t->avro_schemas[0], "triggers/o.avsc") &&
              !strcmp(t->avro_schemas[1], "/abs/p.avsc"),
          "avro trigger: schemas not [triggers/o.avsc, /abs/p.avsc] (a "
          "relative one is under the trigger's folder)");
    CHECK(t && !strcmp(baton_trigger_format_name(t->format), "avro"),
          "avro trigger: the format's name is not avro");
    baton_trigger_destroy(t);
}

static void test_errors(void) {
    char buf[1024];
#define WITH(top) \
    (snprintf(buf, sizeof buf, "{\"topics\":\"t\",%s,%s}", top, A), buf)
#define ACT(act) \
    (snprintf(buf, sizeof buf, "{\"topics\":\"t\",\"action\":{%s}}", act), buf)
    expect("{oops", "triggers/orders.json: not valid JSON");
    expect("[]", "triggers/orders.json: a trigger must be a JSON object");
    expect("{\"action\":{}}", "triggers/orders.json: field 'topics': required");
    expect("{\"topics\":[],\"action\":{}}",
           "field 'topics': must be a topic name or a non-empty list");
    expect("{\"topics\":[\"ok\",\"b@d\"],\"action\":{}}",
           "field 'topics[1]': not a Kafka topic name");
    expect("{\"topics\":[\"a\",\"a\"],\"action\":{}}",
           "field 'topics[1]': topic 'a' listed twice");
    expect(WITH("\"bogus\":1"), "field 'bogus': unknown field");
    expect(WITH("\"comment\":1"), "field 'comment': must be a string");
    expect(WITH("\"group\":\"\""), "field 'group': must be a non-empty string");
    expect(WITH("\"format\":\"xml\""),
           "field 'format': must be json, cloudevents or avro");
    expect(WITH("\"avro\":{}"), "field 'avro': only with format avro");
    expect(WITH("\"format\":\"avro\",\"avro\":{\"url\":1}"),
           "field 'avro.url': unknown field");
    expect(WITH("\"format\":\"avro\",\"avro\":{\"registry_url\":"
                "\"ftp://x\"}"),
           "field 'avro.registry_url': must be an http:// or https:// URL");
    expect(WITH("\"format\":\"avro\",\"avro\":{\"schemas\":[\"\"]}"),
           "field 'avro.schemas[0]': must be a file path");
    expect(WITH("\"filter\":{\"Variable\":\"$.a\"}"), "field filter:");
    expect(WITH("\"filter\":{\"Variable\":\"$.a\",\"StringEquals\":\"x\","
                "\"Next\":\"n\"}"),
           "Next is only allowed in a top-level rule");
    expect(WITH("\"filter\":{\"Variable\":\"$..a\",\"IsPresent\":true}"),
           "field filter");
    expect(WITH("\"unmatched\":\"drop\""),
           "field 'unmatched': must be one of skip, dlq");
    expect(WITH("\"max_bytes\":0"), "field 'max_bytes': must be a whole "
                                    "number >= 1");
    expect("{\"topics\":\"t\"}", "field 'action': required");
    expect("{\"topics\":\"t\",\"action\":[]}",
           "field 'action': must be an object");
    expect(ACT("\"kind\":1"), "field 'action.kind': unknown field");
    expect(ACT("\"message_id\":\"x\""),
           "field 'action.message_id': a message id is taken from the event");
    expect(ACT("\"id\":\"x\""), "field 'action.type': required");
    expect(ACT("\"type\":\"stop\""),
           "field 'action.type': must be one of start, signal, "
           "start_or_signal");
    expect(ACT("\"type\":\"start\",\"id\":\"x\""),
           "field 'action.workflow_type': required for action type 'start'");
    expect(ACT("\"type\":\"signal\",\"signal\":\"s\",\"workflow_type\":\"w\","
               "\"id\":\"x\""),
           "field 'action.workflow_type': only for action types start and "
           "start_or_signal");
    expect(ACT("\"type\":\"start\",\"workflow_type\":\"\",\"id\":\"x\""),
           "field 'action.workflow_type': must be a non-empty string");
    expect(ACT("\"type\":\"signal\",\"signal\":\"s\",\"id_reuse\":\"never\","
               "\"id\":\"x\""),
           "field 'action.id_reuse': only for action types start and "
           "start_or_signal");
    expect(ACT("\"type\":\"start\",\"workflow_type\":\"w\",\"id_reuse\":"
               "\"always\",\"id\":\"x\""),
           "field 'action.id_reuse': must be one of refuse_while_running, "
           "allow_after_close, never");
    expect(ACT("\"type\":\"signal\",\"id\":\"x\""),
           "field 'action.signal': required for action type 'signal'");
    expect(ACT("\"type\":\"start_or_signal\",\"workflow_type\":\"w\","
               "\"id\":\"x\""),
           "field 'action.signal': required for action type "
           "'start_or_signal'");
    expect(ACT("\"type\":\"start\",\"workflow_type\":\"w\",\"signal\":\"s\","
               "\"id\":\"x\""),
           "field 'action.signal': only for action types signal and "
           "start_or_signal");
    expect(ACT("\"type\":\"start\",\"workflow_type\":\"w\""),
           "field 'action.id.$': required: the workflow id");
    expect(ACT("\"type\":\"start\",\"workflow_type\":\"w\",\"id\":\"x\","
               "\"id.$\":\"$.key\""),
           "field 'action.id.$': give either 'id' or 'id.$', not both");
    expect(ACT("\"type\":\"start\",\"workflow_type\":\"w\",\"id.$\":"
               "\"$..key\""),
           "field 'action.id.$': bad path '$..key'");
    expect(ACT("\"type\":\"start\",\"workflow_type\":\"w\",\"id.$\":"
               "\"States.Nope($.key)\""),
           "field 'action.id.$': bad intrinsic function");
    expect(ACT("\"type\":\"start\",\"workflow_type\":\"w\",\"id\":\"x\","
               "\"input\":{\"a.$\":7}"),
           "field 'action.input': action.input field 'a.$' must be a string");
    expect(ACT("\"type\":\"start\",\"workflow_type\":\"w\",\"id\":\"x\","
               "\"payload.$\":\"$.value\""),
           "field 'action.payload.$': only for action types signal and "
           "start_or_signal");
    expect(ACT("\"type\":\"signal\",\"signal\":\"s\",\"id\":\"x\","
               "\"input.$\":\"$.value\""),
           "field 'action.input.$': only for action types start and "
           "start_or_signal");
    expect(ACT("\"type\":\"signal\",\"signal\":\"s\",\"id\":\"x\","
               "\"dedupe_window_seconds\":5"),
           "field 'action.dedupe_window_seconds': only with "
           "\"message_id.$\"");
    expect(ACT("\"type\":\"signal\",\"signal\":\"s\",\"id\":\"x\","
               "\"message_id.$\":\"$.key\",\"dedupe_window_seconds\":0"),
           "field 'action.dedupe_window_seconds': must be a whole number "
           "from 1 to 31536000");
    expect(ACT("\"type\":\"start\",\"workflow_type\":\"w\",\"id\":\"x\","
               "\"signal_hold_seconds\":5"),
           "field 'action.signal_hold_seconds': only for action type signal");
    expect(ACT("\"type\":\"signal\",\"signal\":\"s\",\"id\":\"x\","
               "\"signal_hold_seconds\":-1"),
           "field 'action.signal_hold_seconds': must be a whole number");
#undef WITH
#undef ACT
}

static void test_names_and_dir(void) {
    char name[64], err[512];
    baton_trigger_t **list = NULL;
    size_t n = 0;
    baton_trigger_name_of("config/triggers/a.trigger.json", name, sizeof name);
    CHECK(!strcmp(name, "a"), "name of a.trigger.json: %s, want a", name);
    baton_trigger_name_of("b.json", name, sizeof name);
    CHECK(!strcmp(name, "b"), "name of b.json: %s, want b", name);
    CHECK(baton_trigger_load_dir("config/triggers", "baton.bridge", &list, &n,
                                 err, sizeof err) == BATON_OK,
          "loading config/triggers: %s", err);
    CHECK(n >= 2, "config/triggers: %zu triggers, want 2 or more", n);
    baton_trigger_list_destroy(list, n);
    CHECK(baton_trigger_load_dir("no/such/dir", "p", &list, &n, err,
                                 sizeof err) == BATON_ERR_CONFIG,
          "a missing folder is not a CONFIG error: %s", err);
    CHECK(strstr(err, "'no/such/dir' cannot be opened") != NULL,
          "missing folder: %s", err);
    CHECK(baton_trigger_load_dir("config/workflows", "p", &list, &n, err,
                                 sizeof err) == BATON_ERR_INVALID,
          "a folder of workflows loaded as triggers: %s", err);
    CHECK(strstr(err, "config/workflows/") != NULL &&
              strstr(err, "unknown field") != NULL,
          "folder of workflows: %s", err);
}

int main(void) {
    test_valid();
    test_avro();
    test_errors();
    test_names_and_dir();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
