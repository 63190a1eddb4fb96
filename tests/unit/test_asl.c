/*
 * test_asl.c -- unit and conformance tests of the ASL interpreter
 * (orchestrator/asl: asl.h and its internal modules).
 *
 * Expected values come from the States Language specification's own
 * examples (states-language.net: Paths, Payload Template, Input and Output
 * Processing, Choice, Retry/Catch, Appendix B intrinsic functions), worked
 * by hand, and from the AWS documentation of the intrinsic functions where
 * the spec has none.  Two spec examples carry typos that we do not copy:
 * the SHA-1 of "input data" is 40 hex digits (the spec drops a '4'), and
 * base64 "RGF0YSB0byBlbmNvZGU=" decodes to "Data to encode".
 *
 * Also: every validation message, determinism of States.UUID and
 * States.MathRandom, the example workflows of config/workflows.
 * Standalone program: prints one line per failed test and, last,
 * "N passed, N failed"; exits non-zero on any failure.  Runs clean under
 * ASan/LSan (every test releases what it creates).
 */
#include "hash.h"
#include "test_asl_harness.h"

/* ---- paths ----------------------------------------------------------- */

static json_t *sel(const char *path, json_t *doc) {
    json_t *out = NULL;
    if (baton_asl_path_select(path, doc, NULL, &out, NULL, 0) != BATON_OK)
        return NULL;
    return keep(out);
}

static void test_path_reference_examples(void) {
    /* spec, "Reference Paths" */
    json_t *doc = J("{\"foo\": 123, \"bar\": [\"a\", \"b\", \"c\"],"
                    " \"car\": {\"cdr\": true}}");
    json_t *b = NULL;
    CHECK_JSON(sel("$.foo", doc), "123");
    CHECK_JSON(sel("$.bar", doc), "[\"a\", \"b\", \"c\"]");
    CHECK_JSON(sel("$.car.cdr", doc), "true");
    CHECK_JSON(sel("$", doc), "{\"foo\": 123, \"bar\": [\"a\", \"b\", \"c\"],"
                              " \"car\": {\"cdr\": true}}");
    CHECK(baton_asl_path_get("$.bar", doc, NULL, &b, NULL, 0) == BATON_OK &&
              b == json_object_get(doc, "bar"),
          "path_get borrows the node");
    CHECK(baton_asl_path_select("$.nope", doc, NULL, &b, NULL, 0) ==
              BATON_ERR_NOTFOUND,
          "missing field is NOTFOUND");
}

static void test_path_syntax(void) {
    json_t *doc = J("{\"store\": {\"book\": 1}, \"store.book\": 2,"
                    " \"a b\": {\"c\": [10, 20, {\"x\": 30}]},"
                    " \"foo@bar\": {\"baz[[\": {\"?pretty\": 4}},"
                    " \"ledgers\": [[1, 2], [3, {\"foo\": 5}]]}");
    /* the spec's examples of acceptable syntax */
    CHECK_JSON(sel("$.store.book", doc), "1");
    CHECK_JSON(sel("$.store\\.book", doc), "2");
    CHECK_JSON(sel("$['store']['book']", doc), "1");
    CHECK_JSON(sel("$.foo\\@bar.baz\\[\\[.\\?pretty", doc), "4");
    CHECK_JSON(sel("$.ledgers[1][1].foo", doc), "5");
    CHECK_JSON(sel("$['a b'].c[2].x", doc), "30");
    CHECK_JSON(sel("$[\"a b\"].c[0]", doc), "10");
    CHECK_JSON(sel("$.['a b'].c[1]", doc), "20"); /* AWS's $.abc.['def ghi'] */
    CHECK_JSON(sel("$.ledgers[-1][0]", doc), "3");
    CHECK_JSON(sel("$[1]", J("[5, 6]")), "6");
    CHECK_JSON(sel("$[1].x", J("[5, {\"x\": 7}]")), "7");
}

static void test_path_multiple_values(void) {
    /* spec: "$.a[0,1]" yields 1 and 2, gathered into [1, 2]; AWS: $.a[0:2] */
    json_t *a = J("{\"a\": [1, 2, 3, 4]}");
    json_t *vals = J("{\"vals\": [0, 10, 20, 30, 40, 50]}");
    CHECK_JSON(sel("$.a[0,1]", a), "[1, 2]");
    CHECK_JSON(sel("$.a[0:2]", a), "[1, 2]");
    CHECK_JSON(sel("$.a[*]", a), "[1, 2, 3, 4]");
    CHECK_JSON(sel("$.a[::2]", a), "[1, 3]");
    /* issue 11: a stride near INT64_MAX must not overflow (UBSan) */
    CHECK_JSON(sel("$[9::9223372036854775799]",
                   J("[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]")),
               "[9]");
    CHECK_JSON(sel("$.vals[-3:]", vals), "[30, 40, 50]");
    CHECK_JSON(sel("$.*", J("{\"x\": 1, \"y\": 2}")), "[1, 2]");
    CHECK_JSON(sel("$[*].n", J("[{\"n\": 1}, {\"m\": 2}, {\"n\": 3}]")),
               "[1, 3]");
    CHECK_JSON(sel("$['x','y']", J("{\"x\": 1, \"y\": 2, \"z\": 3}")),
               "[1, 2]");
}

static void test_path_bad(void) {
    static const char *const bad[] = {
        "",      "foo",       "$..",    "$..a", "$.a..b", "$.",       "$[",
        "$['a'", "$[?(@.x)]", "$.a[x]", "$a",   "$.a\\",  "$[1:2:0]", "$['a]"};
    char why[256];
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(bad); i++)
        CHECK(baton_asl_path_check(bad[i], 0, why, sizeof(why)) ==
                  BATON_ERR_INVALID,
              "'%s' accepted", bad[i]);
    CHECK(baton_asl_path_check("$..", 0, why, sizeof(why)) &&
              strstr(why, "deep scan"),
          "deep scan message: %s", why);
    CHECK(baton_asl_path_check("$.a[*]", BATON_ASL_PATH_REFERENCE, why,
                               sizeof(why)) == BATON_ERR_INVALID,
          "wildcard in a reference path");
    CHECK(baton_asl_path_check("$.a[-1]", BATON_ASL_PATH_REFERENCE, why,
                               sizeof(why)) == BATON_ERR_INVALID,
          "negative index in a reference path");
    CHECK(baton_asl_path_check("$$.Execution.Id", BATON_ASL_PATH_NO_CONTEXT,
                               why, sizeof(why)) == BATON_ERR_INVALID,
          "$$ where the context is not allowed");
    CHECK(baton_asl_path_check("$.a.b[0]['c d']", BATON_ASL_PATH_REFERENCE, why,
                               sizeof(why)) == BATON_OK,
          "reference path refused: %s", why);
}

/* Applies path_set on a copy of `doc`; returns the result or NULL. */
static json_t *set(const char *doc, const char *path, const char *value) {
    json_t *d = json_deep_copy(J(doc));
    if (baton_asl_path_set(&d, path, J(value), NULL, 0) != BATON_OK) {
        json_decref(d);
        return NULL;
    }
    return keep(d);
}

static void test_path_set(void) {
    /* spec, "Input and Output Processing": ResultPath examples */
    CHECK_JSON(
        set("{\"master\": {\"detail\": [1, 2, 3]}}", "$.master.detail", "6"),
        "{\"master\": {\"detail\": 6}}");
    CHECK_JSON(
        set("{\"master\": {\"detail\": [1, 2, 3]}}", "$.master.result.sum",
            "6"),
        "{\"master\": {\"detail\": [1, 2, 3], \"result\": {\"sum\": 6}}}");
    CHECK_JSON(set("{\"a\": 1}", "$.b.greeting", "\"Hi!\""),
               "{\"a\": 1, \"b\": {\"greeting\": \"Hi!\"}}");
    CHECK_JSON(set("{\"a\": 1}", "$", "[1]"), "[1]");
    CHECK_JSON(set("{\"a\": [1, 2]}", "$.a[1]", "\"x\""),
               "{\"a\": [1, \"x\"]}");
    CHECK_JSON(set("{\"a b\": {}}", "$['a b'].c", "1"),
               "{\"a b\": {\"c\": 1}}");
    /* spec "Runtime Errors": input "foo", ResultPath "$.x" cannot apply */
    CHECK(!set("\"foo\"", "$.x", "1"), "set into a string");
    CHECK(!set("{\"a\": 5}", "$.a.b", "1"), "set into a number");
    CHECK(!set("{\"a\": [1]}", "$.a[3]", "1"), "index past the end");
    CHECK(!set("{}", "$$.x", "1"), "set into the context");
}

/* ---- data flow ------------------------------------------------------- */

static void test_spec_pass_result(void) {
    /* spec, Pass State: "No-op" injects fixed data at $.coords */
    baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"No-op\", \"States\": {\"No-op\": {\"Type\": \"Pass\","
        " \"Result\": {\"x-datum\": 0.381018, \"y-datum\": 622.2269926397355},"
        " \"ResultPath\": \"$.coords\", \"Next\": \"End\"},"
        " \"End\": {\"Type\": \"Succeed\"}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    if (!def) return;
    CHECK(run(def, NULL, J("{\"georefOf\": \"Home\"}"), &ctx, &s) == BATON_OK,
          "run");
    CHECK(s.kind == BATON_ASL_STOP_SUCCEED, "kind %d", s.kind);
    CHECK_STR(s.state, "End");
    CHECK_JSON(s.output, "{\"georefOf\": \"Home\", \"coords\": {\"x-datum\":"
                         " 0.381018, \"y-datum\": 622.2269926397355}}");
    baton_asl_stop_clear(&s);
}

static void test_spec_task_io(void) {
    /* spec, "Input/Output Processing Examples": InputPath $.numbers,
     * ResultPath $.sum, the task returns 7 */
    baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"Add\", \"States\": {\"Add\": {\"Type\": \"Task\","
        " \"Resource\": \"baton:activity:math/add\", \"InputPath\":"
        " \"$.numbers\", \"ResultPath\": \"$.sum\", \"TimeoutSeconds\": 30,"
        " \"HeartbeatSeconds\": 10, \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    char err[256];
    json_t *in = J("{\"title\": \"Numbers to add\", \"numbers\": {\"val1\": 3,"
                   " \"val2\": 4}}");
    if (!def) return;
    CHECK(run(def, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_TASK, "kind %d", s.kind);
    CHECK_STR(s.state, "Add");
    CHECK_STR(s.queue, "math");
    CHECK_STR(s.activity_type, "add");
    CHECK(s.timeout_seconds == 30 && s.heartbeat_seconds == 10, "timeouts");
    CHECK_JSON(s.task_input, "{\"val1\": 3, \"val2\": 4}");
    CHECK(s.state_input && json_equal(s.state_input, in), "state_input");
    CHECK(baton_asl_task_complete(def, "Add", s.state_input, J("7"), &ctx, &n,
                                  err, sizeof(err)) == BATON_OK,
          "complete: %s", err);
    CHECK(n.kind == BATON_ASL_NEXT_END, "next kind %d", n.kind);
    CHECK_JSON(n.output, "{\"title\": \"Numbers to add\", \"numbers\":"
                         " {\"val1\": 3, \"val2\": 4}, \"sum\": 7}");
    baton_asl_next_clear(&n);
    baton_asl_stop_clear(&s);
}

static void test_spec_payload_template(void) {
    /* spec, "Payload Template", with its context object {"DayOfWeek":...} */
    json_t *tmpl = J("{\"flagged\": true, \"parts\": {\"first.$\":"
                     " \"$.vals[0]\", \"last3.$\": \"$.vals[-3:]\"},"
                     " \"weekday.$\": \"$$.DayOfWeek\", \"formattedOutput.$\":"
                     " \"States.Format('Today is {}', $$.DayOfWeek)\"}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_env_t env;
    baton_asl_fault_t f;
    json_t *out = NULL;
    char why[256];
    CHECK(baton_asl_template_check(tmpl, "Parameters", why, sizeof(why)) ==
              BATON_OK,
          "template refused: %s", why);
    baton_asl_env_init(&env, &ctx);
    baton_asl_env_enter(&env, "X", 0);
    env.context = json_pack("{s:s}", "DayOfWeek", "TUESDAY");
    CHECK(baton_asl_apply_template(&env, "Parameters", tmpl,
                                   J("{\"flagged\": 7, \"vals\": [0, 10, 20,"
                                     " 30, 40, 50]}"),
                                   &out, &f) == BATON_OK,
          "apply: %s", f.cause);
    CHECK_JSON(keep(out), "{\"flagged\": true, \"parts\": {\"first\": 0,"
                          " \"last3\": [30, 40, 50]}, \"weekday\": \"TUESDAY\","
                          " \"formattedOutput\": \"Today is TUESDAY\"}");
    baton_asl_env_clear(&env);
}

static void test_template_nested_arrays(void) {
    baton_asl_fault_t f;
    json_t *v = eval_expr("$.a", J("{\"a\": {\"b\": 1}}"), 1, &f);
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_env_t env;
    json_t *out = NULL;
    CHECK_JSON(v, "{\"b\": 1}");
    baton_asl_env_init(&env, &ctx);
    baton_asl_env_enter(&env, "S", 0);
    CHECK(baton_asl_apply_template(&env, "Parameters",
                                   J("{\"list\": [{\"x.$\": \"$.a\"}, 2,"
                                     " [{\"y.$\": \"$.b\"}]], \"k\": \"$.a\"}"),
                                   J("{\"a\": 1, \"b\": 2}"), &out,
                                   &f) == BATON_OK,
          "apply: %s", f.cause);
    CHECK_JSON(keep(out), "{\"list\": [{\"x\": 1}, 2, [{\"y\": 2}]],"
                          " \"k\": \"$.a\"}");
    baton_asl_env_clear(&env);
}

static void test_context_object(void) {
    baton_asl_def_t *def =
        LOAD("{\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Pass\","
             " \"Parameters\": {\"id.$\": \"$$.Execution.Id\", \"name.$\":"
             " \"$$.Execution.Name\", \"input.$\": \"$$.Execution.Input.q\","
             " \"start.$\": \"$$.Execution.StartTime\", \"entered.$\":"
             " \"$$.State.EnteredTime\", \"state.$\": \"$$.State.Name\","
             " \"retries.$\": \"$$.State.RetryCount\", \"sm.$\":"
             " \"$$.StateMachine.Name\"}, \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    if (!def) return;
    ctx.execution_input = J("{\"q\": \"hello\"}");
    ctx.retry_count = 2;
    CHECK(run(def, NULL, J("{}"), &ctx, &s) == BATON_OK, "run");
    CHECK_JSON(s.output,
               "{\"id\": \"wf-1\", \"name\": \"wf-1\", \"input\":"
               " \"hello\", \"start\": \"2023-11-14T22:13:20.000Z\","
               " \"entered\": \"2023-11-14T22:13:21.000Z\", \"state\":"
               " \"P\", \"retries\": 2, \"sm\": \"demo\"}");
    baton_asl_stop_clear(&s);
}

static void test_null_paths(void) {
    /* spec: InputPath null -> {}; ResultPath null -> the input is kept;
     * OutputPath null -> {} */
    baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"A\", \"States\": {"
        "\"A\": {\"Type\": \"Pass\", \"InputPath\": null, \"ResultPath\":"
        " \"$.seen\", \"Next\": \"B\"},"
        "\"B\": {\"Type\": \"Pass\", \"Result\": 42, \"ResultPath\": null,"
        " \"Next\": \"C\"},"
        "\"C\": {\"Type\": \"Pass\", \"OutputPath\": null, \"Next\": \"D\"},"
        "\"D\": {\"Type\": \"Pass\", \"Result\": {\"r\": 1}, \"OutputPath\":"
        " \"$.r\", \"End\": true}}}");
    baton_asl_def_t *def2 =
        LOAD("{\"StartAt\": \"A\", \"States\": {"
             "\"A\": {\"Type\": \"Pass\", \"InputPath\": null, \"ResultPath\":"
             " \"$.seen\", \"Next\": \"B\"},"
             "\"B\": {\"Type\": \"Pass\", \"Result\": 42, \"ResultPath\": null,"
             " \"End\": true}}}");
    baton_asl_def_t *def3 = LOAD(
        "{\"StartAt\": \"C\", \"States\": {"
        "\"C\": {\"Type\": \"Pass\", \"OutputPath\": null, \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    if (!def || !def2 || !def3) return;
    CHECK(run(def2, NULL, J("{\"x\": 1}"), &ctx, &s) == BATON_OK, "run");
    CHECK_JSON(s.output, "{\"x\": 1, \"seen\": {}}");
    baton_asl_stop_clear(&s);
    CHECK(run(def3, NULL, J("{\"x\": 1}"), &ctx, &s) == BATON_OK, "run");
    CHECK_JSON(s.output, "{}");
    baton_asl_stop_clear(&s);
    CHECK(run(def, NULL, J("{\"x\": 1}"), &ctx, &s) == BATON_OK, "run");
    CHECK_JSON(s.output, "1");
    baton_asl_stop_clear(&s);
}

static void test_result_selector(void) {
    /* AWS example: ResultSelector picks from the raw result, then
     * ResultPath places it */
    baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"T\", \"States\": {\"T\": {\"Type\": \"Task\","
        " \"Resource\": \"baton:activity:emr\", \"ResultSelector\":"
        " {\"ClusterId.$\": \"$.output.ClusterId\", \"ResourceType.$\":"
        " \"$.resourceType\", \"Const\": 1}, \"ResultPath\": \"$.EMROutput\","
        " \"OutputPath\": \"$.EMROutput\", \"Next\": \"Done\"},"
        " \"Done\": {\"Type\": \"Succeed\"}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_next_t n;
    char err[256];
    if (!def) return;
    CHECK(baton_asl_task_complete(
              def, "T", J("{\"in\": 1}"),
              J("{\"resourceType\": \"elasticmapreduce\", \"resource\":"
                " \"createCluster.sync\", \"output\": {\"SdkHttpMetadata\":"
                " {}, \"ClusterId\": \"AKIAIOSFODNN7EXAMPLE\"}}"),
              &ctx, &n, err, sizeof(err)) == BATON_OK,
          "complete: %s", err);
    CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
    CHECK_STR(n.next_state, "Done");
    CHECK_JSON(n.output,
               "{\"ClusterId\": \"AKIAIOSFODNN7EXAMPLE\","
               " \"ResourceType\": \"elasticmapreduce\", \"Const\": 1}");
    baton_asl_next_clear(&n);
}

static void test_dataflow_errors_and_catch(void) {
    /* a Parameters path that matches nothing: States.ParameterPathFailure
     * (spec, "Payload Template"), through the Task's Catch (ResultPath puts
     * the error output beside the input) */
    baton_asl_def_t *def =
        LOAD("{\"StartAt\": \"T\", \"States\": {"
             "\"T\": {\"Type\": \"Task\", \"Resource\": \"baton:activity:x\","
             " \"Parameters\": {\"v.$\": \"$.missing\"}, \"Catch\": [{"
             " \"ErrorEquals\": [\"States.ParameterPathFailure\"],"
             " \"ResultPath\": \"$.err\","
             " \"Next\": \"Recover\"}], \"End\": true},"
             "\"Recover\": {\"Type\": \"Pass\", \"End\": true}}}");
    baton_asl_def_t *nocatch =
        LOAD("{\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Pass\","
             " \"InputPath\": \"$.nope\", \"End\": true}}}");
    baton_asl_def_t *rp =
        LOAD("{\"StartAt\": \"T\", \"States\": {\"T\": {\"Type\": \"Task\","
             " \"Resource\": \"baton:activity:x\", \"ResultPath\": \"$.r\","
             " \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    char err[256];
    if (!def || !nocatch || !rp) return;
    CHECK(run(def, NULL, J("{\"a\": 1}"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_SUCCEED, "caught, kind %d", s.kind);
    CHECK_STR(s.state, "Recover");
    CHECK(json_is_object(json_object_get(s.output, "err")) &&
              !strcmp(json_string_value(json_object_get(
                          json_object_get(s.output, "err"), "Error")),
                      "States.ParameterPathFailure") &&
              json_integer_value(json_object_get(s.output, "a")) == 1,
          "error output at $.err");
    baton_asl_stop_clear(&s);
    CHECK(run(nocatch, NULL, J("{\"a\": 1}"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FAIL, "kind %d", s.kind);
    CHECK_STR(s.state, "P");
    CHECK_STR(s.error, "States.Runtime");
    CHECK(s.cause && strstr(s.cause, "$.nope"), "cause: %s", s.cause);
    baton_asl_stop_clear(&s);
    /* spec "Runtime Errors": input "foo", ResultPath $.x cannot apply */
    CHECK(baton_asl_task_complete(rp, "T", J("\"foo\""), J("1"), &ctx, &n, err,
                                  sizeof(err)) == BATON_OK,
          "complete: %s", err);
    CHECK(n.kind == BATON_ASL_NEXT_FAIL, "kind %d", n.kind);
    CHECK_STR(n.error, "States.ResultPathMatchFailure");
    baton_asl_next_clear(&n);
}

/* ---- intrinsic functions --------------------------------------------- */

static void test_intrinsics_spec_examples(void) {
    /* spec Appendix B (and the greeting example of "Intrinsic Functions") */
    CHECK_EXPR("States.Format('Your name is {}, we are in the year {}',"
               " $.name, 2020)",
               "{\"name\": \"Foo\", \"zebra\": \"stripe\"}",
               "\"Your name is Foo, we are in the year 2020\"");
    CHECK_EXPR("States.Format('Welcome to {} {}\\'s playlist.', $.firstName,"
               " $.lastName)",
               "{\"firstName\": \"Jane\", \"lastName\": \"Doe\"}",
               "\"Welcome to Jane Doe's playlist.\"");
    CHECK_EXPR("States.StringToJson($.someString)",
               "{\"someString\": \"{\\\"number\\\": 20}\", \"zebra\":"
               " \"stripe\"}",
               "{\"number\": 20}");
    CHECK_EXPR("States.JsonToString($.someJson)",
               "{\"someJson\": {\"name\": \"Foo\", \"year\": 2020}, \"zebra\":"
               " \"stripe\"}",
               "\"{\\\"name\\\":\\\"Foo\\\",\\\"year\\\":2020}\"");
    CHECK_EXPR("States.Array('Foo', 2020, $.someJson, null)",
               "{\"someJson\": {\"random\": \"abcdefg\"}, \"zebra\":"
               " \"stripe\"}",
               "[\"Foo\", 2020, {\"random\": \"abcdefg\"}, null]");
    CHECK_EXPR("States.ArrayPartition($.inputArray,4)",
               "{\"inputArray\": [1,2,3,4,5,6,7,8,9]}",
               "[[1,2,3,4], [5,6,7,8], [9]]");
    CHECK_EXPR("States.ArrayContains($.inputArray, $.lookingFor)",
               "{\"inputArray\": [1,2,3,4,5,6,7,8,9], \"lookingFor\": 5}",
               "true");
    CHECK_EXPR("States.ArrayRange(1, 9, 2)", "{}", "[1,3,5,7,9]");
    CHECK_EXPR("States.ArrayGetItem($.inputArray, $.index)",
               "{\"inputArray\": [1,2,3,4,5,6,7,8,9], \"index\": 5}", "6");
    CHECK_EXPR("States.ArrayLength($.inputArray)",
               "{\"inputArray\": [1,2,3,4,5,6,7,8,9]}", "9");
    CHECK_EXPR("States.ArrayUnique($.inputArray)",
               "{\"inputArray\": [1,2,3,3,3,3,3,3,4]}", "[1,2,3,4]");
    CHECK_EXPR("States.Base64Encode($.input)",
               "{\"input\": \"Data to encode\"}", "\"RGF0YSB0byBlbmNvZGU=\"");
    CHECK_EXPR("States.Base64Decode($.base64)",
               "{\"base64\": \"RGF0YSB0byBlbmNvZGU=\"}", "\"Data to encode\"");
    CHECK_EXPR("States.Hash($.Data, $.Algorithm)",
               "{\"Data\": \"input data\", \"Algorithm\": \"SHA-1\"}",
               "\"aaff4a450a104cd177d28d18d74485e8cae074b7\"");
    CHECK_EXPR("States.JsonMerge($.json1, $.json2, false)",
               "{\"json1\": {\"a\": {\"a1\": 1, \"a2\": 2}, \"b\": 2},"
               " \"json2\": {\"a\": {\"a3\": 1, \"a4\": 2}, \"c\": 3}}",
               "{\"a\": {\"a3\": 1, \"a4\": 2}, \"b\": 2, \"c\": 3}");
    CHECK_EXPR("States.MathAdd($.value1, $.step)",
               "{\"value1\": 111, \"step\": -1}", "110");
    CHECK_EXPR("States.StringSplit($.inputString, $.splitter)",
               "{\"inputString\": \"1,2,3,4,5\", \"splitter\": \",\"}",
               "[\"1\",\"2\",\"3\",\"4\",\"5\"]");
    CHECK_EXPR("States.StringSplit($.inputString, $.splitter)",
               "{\"inputString\": \"This.is+a,test=string\", \"splitter\":"
               " \".+,=\"}",
               "[\"This\",\"is\",\"a\",\"test\",\"string\"]");
    CHECK_EXPR("States.Format($.template, $.name)",
               "{\"name\": \"Arnav\", \"template\": \"Hello, my name is {}.\"}",
               "\"Hello, my name is Arnav.\"");
}

static void test_intrinsics_more(void) {
    CHECK_EXPR("States.Format('\\{\\} {} \\\\ {}', 'x', true)", "{}",
               "\"{} x \\\\ true\"");
    CHECK_EXPR("States.Format('{} {} {}', 1.5, null, -3)", "{}",
               "\"1.5 null -3\"");
    CHECK_EXPR("States.Format('no placeholders')", "{}", "\"no placeholders\"");
    CHECK_EXPR("States.Hash('input data', 'MD5')", "{}",
               "\"812f45842bc6d66ee14572ce20db8e86\"");
    CHECK_EXPR(
        "States.Hash('input data', 'SHA-256')", "{}",
        "\"b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3\"");
    CHECK_EXPR("States.ArrayRange(5, 1, -2)", "{}", "[5, 3, 1]");
    CHECK_EXPR("States.ArrayRange(1, 5, -1)", "{}", "[]");
    CHECK_EXPR("States.ArrayGetItem(States.Array(1, 2), 1.0)", "{}", "2");
    CHECK_EXPR("States.StringSplit('a,,b,', ',')", "{}", "[\"a\", \"b\"]");
    CHECK_EXPR("States.StringSplit('é|ü', '|')", "{}", "[\"é\", \"ü\"]");
    CHECK_EXPR("States.JsonMerge($.a, $.b, true)",
               "{\"a\": {\"x\": {\"p\": 1}, \"y\": 1}, \"b\": {\"x\":"
               " {\"q\": 2}}}",
               "{\"x\": {\"p\": 1, \"q\": 2}, \"y\": 1}");
    CHECK_EXPR("States.Array()", "{}", "[]");
    CHECK_EXPR("States.ArrayContains($.a, $.b)",
               "{\"a\": [{\"k\": [1]}], \"b\": {\"k\": [1]}}", "true");
    CHECK_EXPR("States.Base64Decode('YQ')", "{}", "\"a\"");
    CHECK_EXPR("States.StringToJson('[1, \"x\"]')", "{}", "[1, \"x\"]");
    CHECK_EXPR(
        "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit("
        "States.ArrayGetItem(States.StringSplit($.Arn, '/'), 2), '.'),"
        " 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
        "States.StringSplit($.Arn, '/'), 2), '.'), 1))",
        "{\"Arn\": \"arn:aws:imagebuilder:us-east-1:1:image-recipe/r/"
        "1.0.2\"}",
        "\"1.0\"");
    CHECK_EXPR("States.Format('{}', $$.StateMachine.Name)", "{}", "\"demo\"");
    CHECK_EXPR("States.Array($['a b'], $.c[0])", "{\"a b\": 1, \"c\": [2]}",
               "[1, 2]");
}

static void test_intrinsics_failures(void) {
    const char *in = "{\"arr\": [1, 2], \"s\": \"x\"}";
    CHECK_EXPR_FAILS("States.ArrayGetItem($.arr, 2)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.ArrayLength($.s)", in, "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.Hash('x', 'CRC32')", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.MathRandom(5, 5)", in, "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.MathAdd(9223372036854775807, 1)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.ArrayGetItem($.arr, 1.2)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.StringToJson('{oops')", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.Format($.s, 1)", in, "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.Format('{}', $.arr)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.ArrayRange(1, 5000, 1)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.ArrayPartition($.arr, 0)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.Base64Decode('!!')", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.JsonMerge($.arr, $.arr, false)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.Array($.missing)", in,
                     "States.ParameterPathFailure");
}

static void test_intrinsics_syntax(void) {
    static const struct {
        const char *expr, *msg;
    } bad[] = {
        {"States.Nope()", "unknown intrinsic function 'States.Nope'"},
        {"States.Format('{} {}', 1)", "2 '{}' placeholders but 1 value"},
        {"States.ArrayLength()", "States.ArrayLength takes 1 argument, got 0"},
        {"States.UUID(1)", "takes 0 arguments"},
        {"States.Format('a\\b')", "open escape"},
        {"States.Format('abc", "unterminated string"},
        {"States.Array(1 2)", "expected ',' or ')'"},
        {"States.Array(1)x", "unexpected text after the call"},
        {"States.Array($..a)", "bad path '$..a'"},
        {"States.Array", "expected '('"},
        {"hello", "unknown intrinsic function 'hello'"},
        {"States.Array(States.Array(States.Array(States.Array(States.Array("
         "States.Array(States.Array(States.Array(States.Array(States.Array("
         "States.Array())))))))))))",
         "more than 10 nested"},
    };
    char why[512];
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(bad); i++) {
        why[0] = '\0';
        CHECK(baton_asl_intrinsic_check(bad[i].expr, why, sizeof(why)) ==
                      BATON_ERR_INVALID &&
                  strstr(why, bad[i].msg),
              "%s: got \"%s\", want \"%s\"", bad[i].expr, why, bad[i].msg);
    }
}

static int is_uuid_v4(const char *s) {
    static const char hex[] = "0123456789abcdef";
    int i;
    if (!s || strlen(s) != 36) return 0;
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return 0;
        } else if (!strchr(hex, s[i]) || !s[i]) {
            return 0;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static void test_determinism(void) {
    baton_asl_fault_t f;
    json_t *in = J("{\"start\": 1, \"end\": 999}");
    json_t *u1 = eval_expr("States.UUID()", in, 42, &f);
    json_t *u2 = eval_expr("States.UUID()", in, 42, &f);
    json_t *u3 = eval_expr("States.UUID()", in, 43, &f);
    json_t *two =
        eval_expr("States.Array(States.UUID(), States.UUID())", in, 42, &f);
    json_t *r1 = eval_expr("States.MathRandom($.start, $.end)", in, 42, &f);
    json_t *r2 = eval_expr("States.MathRandom($.start, $.end)", in, 42, &f);
    json_t *s1 = eval_expr("States.MathRandom(1, 1000000, 99)", in, 1, &f);
    json_t *s2 = eval_expr("States.MathRandom(1, 1000000, 99)", in, 2, &f);
    json_t *s3 = eval_expr("States.MathRandom(1, 1000000, 98)", in, 1, &f);
    int i, differ = 0;
    CHECK(is_uuid_v4(json_string_value(u1)), "not a v4 UUID: %s",
          json_string_value(u1));
    CHECK(json_equal(u1, u2), "same seed, same UUID");
    CHECK(!json_equal(u1, u3), "another seed, another UUID");
    CHECK(!json_equal(json_array_get(two, 0), json_array_get(two, 1)),
          "two UUIDs in one evaluation differ");
    CHECK(json_is_integer(r1) && json_equal(r1, r2), "same seed, same number");
    CHECK(json_integer_value(r1) >= 1 && json_integer_value(r1) < 999,
          "range: %lld", (long long)json_integer_value(r1));
    CHECK(json_equal(s1, s2), "an explicit seed wins over ctx->seed");
    CHECK(!json_equal(s1, s3), "explicit seeds differ");
    for (i = 0; i < 200; i++) {
        json_t *v = eval_expr("States.MathRandom(10, 13)", in, (uint64_t)i, &f);
        json_int_t x = json_integer_value(v);
        CHECK(x >= 10 && x < 13, "out of range: %lld", (long long)x);
        if (x != 10) differ = 1;
    }
    CHECK(differ, "MathRandom never varies with the seed");
}

static void test_uuid_in_run_is_per_state(void) {
    /* two states draw different UUIDs; rerunning draws the same ones */
    baton_asl_def_t *def = LOAD("{\"StartAt\": \"A\", \"States\": {"
                                "\"A\": {\"Type\": \"Pass\", \"Parameters\": "
                                "{\"u.$\": \"States.UUID()\"},"
                                " \"ResultPath\": \"$.a\", \"Next\": \"B\"},"
                                "\"B\": {\"Type\": \"Pass\", \"Parameters\": "
                                "{\"u.$\": \"States.UUID()\"},"
                                " \"ResultPath\": \"$.b\", \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(5);
    baton_asl_stop_t s1, s2;
    if (!def) return;
    CHECK(run(def, NULL, J("{}"), &ctx, &s1) == BATON_OK, "run 1");
    CHECK(run(def, NULL, J("{}"), &ctx, &s2) == BATON_OK, "run 2");
    CHECK(json_equal(s1.output, s2.output), "runs differ");
    CHECK(!json_equal(json_object_get(s1.output, "a"),
                      json_object_get(s1.output, "b")),
          "two states drew the same UUID");
    baton_asl_stop_clear(&s1);
    baton_asl_stop_clear(&s2);
}

/* ---- Choice ---------------------------------------------------------- */

/* A Choice state `rules` (JSON of the Choices array) with states Yes/No:
 * returns the name of the state reached, or the error name. */
static char choice_result[128];
static const char *choose(const char *rules, const char *input) {
    char text[4096];
    baton_asl_def_t *def;
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    snprintf(
        text, sizeof(text),
        "{\"StartAt\": \"C\", \"States\": {\"C\": {\"Type\": \"Choice\","
        " \"Choices\": %s, \"Default\": \"No\"},"
        " \"Yes\": {\"Type\": \"Succeed\"}, \"No\": {\"Type\": \"Succeed\"}}}",
        rules);
    def = LOAD(text);
    if (!def) return "(refused)";
    if (run(def, NULL, J(input), &ctx, &s) != BATON_OK) return "(error)";
    snprintf(choice_result, sizeof(choice_result), "%s",
             s.kind == BATON_ASL_STOP_FAIL ? s.error : s.state);
    baton_asl_stop_clear(&s);
    return choice_result;
}

/* One data-test rule going to Yes. */
static const char *test1(const char *var, const char *op, const char *value,
                         const char *input) {
    char rules[1024];
    snprintf(rules, sizeof(rules),
             "[{\"Variable\": \"%s\", \"%s\": %s, \"Next\": \"Yes\"}]", var, op,
             value);
    return choose(rules, input);
}

#define CHECK_CHOICE(var, op, value, input, want) \
    check_str(__LINE__, test1((var), (op), (value), (input)), (want))

static void test_spec_choice_example(void) {
    /* spec, Choice State: "DispatchEvent" */
    baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"DispatchEvent\", \"States\": {"
        "\"DispatchEvent\": {\"Type\": \"Choice\", \"Choices\": ["
        " {\"Not\": {\"Variable\": \"$.type\", \"StringEquals\": \"Private\"},"
        "  \"Next\": \"Public\"},"
        " {\"And\": [{\"Variable\": \"$.value\", \"IsPresent\": true},"
        "  {\"Variable\": \"$.value\", \"IsNumeric\": true},"
        "  {\"Variable\": \"$.value\", \"NumericGreaterThanEquals\": 20},"
        "  {\"Variable\": \"$.value\", \"NumericLessThan\": 30}],"
        "  \"Next\": \"ValueInTwenties\"},"
        " {\"Variable\": \"$.rating\", \"NumericGreaterThanPath\":"
        "  \"$.auditThreshold\", \"Next\": \"StartAudit\"}],"
        " \"Default\": \"RecordEvent\"},"
        "\"Public\": {\"Type\": \"Succeed\"},"
        "\"ValueInTwenties\": {\"Type\": \"Succeed\"},"
        "\"StartAudit\": {\"Type\": \"Succeed\"},"
        "\"RecordEvent\": {\"Type\": \"Succeed\"}}}");
    static const struct {
        const char *input, *want;
    } cases[] = {
        {"{\"type\": \"Private\", \"value\": 22}", "ValueInTwenties"},
        {"{\"type\": \"Public\", \"value\": 22}", "Public"},
        {"{\"type\": \"Private\", \"value\": 35, \"rating\": 5,"
         " \"auditThreshold\": 3}",
         "StartAudit"},
        {"{\"type\": \"Private\", \"rating\": 1, \"auditThreshold\": 3}",
         "RecordEvent"},
        {"{\"type\": \"Private\", \"value\": \"22\", \"rating\": 1,"
         " \"auditThreshold\": 3}",
         "RecordEvent"},
    };
    baton_asl_ctx_t ctx = ctx_make(1);
    size_t i;
    if (!def) return;
    for (i = 0; i < BATON_ARRAY_SIZE(cases); i++) {
        baton_asl_stop_t s;
        CHECK(run(def, NULL, J(cases[i].input), &ctx, &s) == BATON_OK, "run");
        CHECK(s.kind == BATON_ASL_STOP_SUCCEED && s.state &&
                  !strcmp(s.state, cases[i].want),
              "%s: got %s, want %s", cases[i].input,
              s.state ? s.state : s.error, cases[i].want);
        baton_asl_stop_clear(&s);
    }
}

static void test_choice_operators(void) {
    const char *in = "{\"s\": \"abc\", \"n\": 5, \"r\": 2.5, \"b\": true,"
                     " \"t\": \"2016-03-14T01:59:00Z\", \"z\": null,"
                     " \"s2\": \"abd\", \"n2\": 5.0,"
                     " \"t2\": \"2016-03-14T03:59:00+02:00\"}";
    CHECK_CHOICE("$.s", "StringEquals", "\"abc\"", in, "Yes");
    CHECK_CHOICE("$.s", "StringEquals", "\"abd\"", in, "No");
    CHECK_CHOICE("$.s", "StringLessThan", "\"abd\"", in, "Yes");
    CHECK_CHOICE("$.s", "StringGreaterThan", "\"ab\"", in, "Yes");
    CHECK_CHOICE("$.s", "StringLessThanEquals", "\"abc\"", in, "Yes");
    CHECK_CHOICE("$.s", "StringGreaterThanEquals", "\"abd\"", in, "No");
    CHECK_CHOICE("$.s", "StringLessThanPath", "\"$.s2\"", in, "Yes");
    CHECK_CHOICE("$.s", "StringEqualsPath", "\"$.s2\"", in, "No");
    CHECK_CHOICE("$.n", "NumericEquals", "5", in, "Yes");
    CHECK_CHOICE("$.n", "NumericEquals", "5.0", in, "Yes");
    CHECK_CHOICE("$.n", "NumericEqualsPath", "\"$.n2\"", in, "Yes");
    CHECK_CHOICE("$.r", "NumericLessThan", "3", in, "Yes");
    CHECK_CHOICE("$.r", "NumericGreaterThan", "2.5", in, "No");
    CHECK_CHOICE("$.r", "NumericGreaterThanEquals", "2.5", in, "Yes");
    CHECK_CHOICE("$.n", "NumericLessThanEquals", "4", in, "No");
    CHECK_CHOICE("$.n", "NumericLessThanPath", "\"$.r\"", in, "No");
    CHECK_CHOICE("$.b", "BooleanEquals", "true", in, "Yes");
    CHECK_CHOICE("$.b", "BooleanEquals", "false", in, "No");
    CHECK_CHOICE("$.b", "BooleanEqualsPath", "\"$.b\"", in, "Yes");
    CHECK_CHOICE("$.t", "TimestampEquals", "\"2016-03-14T01:59:00Z\"", in,
                 "Yes");
    CHECK_CHOICE("$.t", "TimestampEqualsPath", "\"$.t2\"", in, "Yes");
    CHECK_CHOICE("$.t", "TimestampLessThan", "\"2016-03-14T01:59:00.001Z\"", in,
                 "Yes");
    CHECK_CHOICE("$.t", "TimestampGreaterThan", "\"2016-03-14T01:58:59Z\"", in,
                 "Yes");
    CHECK_CHOICE("$.t", "TimestampLessThanEquals", "\"2016-03-14T01:59:00Z\"",
                 in, "Yes");
    CHECK_CHOICE("$.t", "TimestampGreaterThanEquals",
                 "\"2017-01-01T00:00:00Z\"", in, "No");
    CHECK_CHOICE("$.t", "StringEquals", "\"2016-03-14T01:59:00Z\"", in, "Yes");
    /* wrong types compare false, not an error */
    CHECK_CHOICE("$.n", "StringEquals", "\"5\"", in, "No");
    CHECK_CHOICE("$.s", "NumericEquals", "5", in, "No");
    CHECK_CHOICE("$.s", "TimestampEquals", "\"2016-03-14T01:59:00Z\"", in,
                 "No");
    CHECK_CHOICE("$.z", "BooleanEquals", "false", in, "No");
}

static void test_choice_type_tests(void) {
    const char *in = "{\"z\": null, \"n\": 1.5, \"s\": \"x\", \"b\": false,"
                     " \"t\": \"2024-02-29T12:00:00.5-05:30\","
                     " \"bad\": \"2023-02-29T12:00:00Z\"}";
    CHECK_CHOICE("$.z", "IsNull", "true", in, "Yes");
    CHECK_CHOICE("$.n", "IsNull", "true", in, "No");
    CHECK_CHOICE("$.n", "IsNull", "false", in, "Yes");
    CHECK_CHOICE("$.z", "IsPresent", "true", in, "Yes");
    CHECK_CHOICE("$.nope", "IsPresent", "true", in, "No");
    CHECK_CHOICE("$.nope", "IsPresent", "false", in, "Yes");
    CHECK_CHOICE("$.n", "IsNumeric", "true", in, "Yes");
    CHECK_CHOICE("$.s", "IsNumeric", "true", in, "No");
    CHECK_CHOICE("$.s", "IsString", "true", in, "Yes");
    CHECK_CHOICE("$.b", "IsBoolean", "true", in, "Yes");
    CHECK_CHOICE("$.t", "IsTimestamp", "true", in, "Yes");
    CHECK_CHOICE("$.bad", "IsTimestamp", "true", in, "No");
    CHECK_CHOICE("$.s", "IsTimestamp", "false", in, "Yes");
    /* a missing Variable is a runtime error, except for IsPresent */
    CHECK_CHOICE("$.nope", "StringEquals", "\"x\"", in, "States.Runtime");
    CHECK_CHOICE("$.nope", "IsNull", "true", in, "States.Runtime");
    CHECK_CHOICE("$.s", "StringEqualsPath", "\"$.nope\"", in, "States.Runtime");
}

static void test_choice_string_matches(void) {
    /* spec: foo*.log matches foo23.log, *.log matches zebra.log, foo*.*
     * matches foobar.zebra; \\* is a literal star, \\\\ a backslash */
    CHECK_CHOICE("$.f", "StringMatches", "\"foo*.log\"",
                 "{\"f\": \"foo23.log\"}", "Yes");
    CHECK_CHOICE("$.f", "StringMatches", "\"*.log\"", "{\"f\": \"zebra.log\"}",
                 "Yes");
    CHECK_CHOICE("$.f", "StringMatches", "\"foo*.*\"",
                 "{\"f\": \"foobar.zebra\"}", "Yes");
    CHECK_CHOICE("$.f", "StringMatches", "\"foo*.log\"", "{\"f\": \"foo.txt\"}",
                 "No");
    CHECK_CHOICE("$.f", "StringMatches", "\"a\\\\*b\"", "{\"f\": \"a*b\"}",
                 "Yes");
    CHECK_CHOICE("$.f", "StringMatches", "\"a\\\\*b\"", "{\"f\": \"axb\"}",
                 "No");
    CHECK_CHOICE("$.f", "StringMatches", "\"a\\\\\\\\b\"",
                 "{\"f\": \"a\\\\b\"}", "Yes");
    CHECK_CHOICE("$.f", "StringMatches", "\"*\"", "{\"f\": \"\"}", "Yes");
    CHECK_CHOICE("$.f", "StringMatches", "\"*a*b*\"", "{\"f\": \"xxaxxbxx\"}",
                 "Yes");
    CHECK_CHOICE("$.f", "StringMatches", "\"*a*b\"", "{\"f\": \"xxaxxbxx\"}",
                 "No");
    CHECK_CHOICE("$.f", "StringMatches", "\"x\"", "{\"f\": 1}", "No");
}

static void test_choice_boolean_and_default(void) {
    const char *in = "{\"a\": 1, \"b\": 2}";
    CHECK_STR(choose("[{\"Or\": [{\"Variable\": \"$.a\", \"NumericEquals\": 9},"
                     " {\"Variable\": \"$.b\", \"NumericEquals\": 2}],"
                     " \"Next\": \"Yes\"}]",
                     in),
              "Yes");
    CHECK_STR(
        choose("[{\"And\": [{\"Variable\": \"$.a\", \"NumericEquals\": 1},"
               " {\"Not\": {\"Variable\": \"$.b\", \"NumericEquals\": 2}}],"
               " \"Next\": \"Yes\"}]",
               in),
        "No");
    /* Or stops at the first true rule: the missing path is never read */
    CHECK_STR(choose("[{\"Or\": [{\"Variable\": \"$.a\", \"NumericEquals\": 1},"
                     " {\"Variable\": \"$.nope\", \"NumericEquals\": 2}],"
                     " \"Next\": \"Yes\"}]",
                     in),
              "Yes");
    CHECK_STR(choose("[{\"Variable\": \"$$.State.Name\", \"StringEquals\":"
                     " \"C\", \"Next\": \"Yes\"}]",
                     in),
              "Yes");
}

static void test_choice_no_match(void) {
    baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"C\", \"States\": {\"C\": {\"Type\": \"Choice\","
        " \"InputPath\": \"$.in\", \"OutputPath\": \"$.x\", \"Choices\": [{"
        "\"Variable\": \"$.x\", \"NumericEquals\": 1, \"Next\": \"Y\"}]},"
        " \"Y\": {\"Type\": \"Succeed\"}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    if (!def) return;
    CHECK(run(def, NULL, J("{\"in\": {\"x\": 2}}"), &ctx, &s) == BATON_OK,
          "run");
    CHECK(s.kind == BATON_ASL_STOP_FAIL, "kind %d", s.kind);
    CHECK_STR(s.error, "States.NoChoiceMatched");
    CHECK_STR(s.state, "C");
    baton_asl_stop_clear(&s);
    CHECK(run(def, NULL, J("{\"in\": {\"x\": 1}}"), &ctx, &s) == BATON_OK,
          "run");
    CHECK(s.kind == BATON_ASL_STOP_SUCCEED, "kind %d", s.kind);
    CHECK_JSON(s.output, "1"); /* InputPath then OutputPath */
    baton_asl_stop_clear(&s);
}

/* ---- Retry and Catch ------------------------------------------------- */

static baton_asl_def_t *retry_def(const char *retry, const char *catch) {
    static const char *const targets[] = {"Z", "RecoveryState", "EndMachine"};
    char text[4096], extra[256] = "", quoted[64];
    size_t i;
    /* the catchers' targets, so that every state is reachable */
    for (i = 0; i < BATON_ARRAY_SIZE(targets); i++) {
        snprintf(quoted, sizeof(quoted), "\"%s\"", targets[i]);
        if (!strstr(catch, quoted)) continue;
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
                 ", %s: {\"Type\": \"Succeed\"}", quoted);
    }
    snprintf(
        text, sizeof(text),
        "{\"StartAt\": \"X\", \"States\": {\"X\": {\"Type\": \"Task\","
        " \"Resource\": \"baton:activity:x\", \"Retry\": %s, \"Catch\": %s,"
        " \"Next\": \"Y\"}, \"Y\": {\"Type\": \"Succeed\"}%s}}",
        retry, catch, extra);
    return LOAD(text);
}

/* task_fail(attempt) and return the kind; *delay gets the delay. */
static baton_asl_next_kind_t fail_once(const baton_asl_def_t *def,
                                       const char *error, int32_t attempt,
                                       int64_t hint, uint64_t seed,
                                       int64_t *delay,
                                       baton_asl_next_t *keep_n) {
    baton_asl_ctx_t ctx = ctx_make(seed);
    baton_asl_next_t n;
    char err[256];
    baton_asl_next_kind_t k;
    if (keep_n) memset(keep_n, 0, sizeof(*keep_n));
    if (baton_asl_task_fail(def, "X", J("{\"in\": 1}"), error, "because",
                            attempt, hint, &ctx, &n, err,
                            sizeof(err)) != BATON_OK)
        return 0;
    k = n.kind;
    if (delay) *delay = n.delay_ms;
    if (keep_n)
        *keep_n = n;
    else
        baton_asl_next_clear(&n);
    return k;
}

static void test_spec_retry_examples(void) {
    /* spec: 2 retries after waits of 3 and 6 seconds; with
     * MaxDelaySeconds 4, the second after 4 */
    baton_asl_def_t *a = retry_def(
        "[{\"ErrorEquals\": [\"States.Timeout\"], \"IntervalSeconds\": 3,"
        " \"MaxAttempts\": 2, \"BackoffRate\": 2.0}]",
        "[]");
    baton_asl_def_t *b = retry_def(
        "[{\"ErrorEquals\": [\"States.Timeout\"], \"IntervalSeconds\": 3,"
        " \"MaxAttempts\": 2, \"BackoffRate\": 2.0, \"MaxDelaySeconds\": 4}]",
        "[]");
    /* spec: retry any error except States.Timeout, default parameters */
    baton_asl_def_t *c = retry_def(
        "[{\"ErrorEquals\": [\"States.Timeout\"], \"MaxAttempts\": 0},"
        " {\"ErrorEquals\": [\"States.ALL\"]}]",
        "[]");
    baton_asl_next_t n;
    int64_t d = -1;
    if (!a || !b || !c) return;
    CHECK(fail_once(a, "States.Timeout", 1, 0, 1, &d, NULL) ==
                  BATON_ASL_NEXT_RETRY &&
              d == 3000,
          "first retry after 3 s, got %lld", (long long)d);
    CHECK(fail_once(a, "States.Timeout", 2, 0, 1, &d, NULL) ==
                  BATON_ASL_NEXT_RETRY &&
              d == 6000,
          "second retry after 6 s, got %lld", (long long)d);
    CHECK(fail_once(a, "States.Timeout", 3, 0, 1, &d, &n) ==
              BATON_ASL_NEXT_FAIL,
          "no third retry");
    CHECK_STR(n.error, "States.Timeout");
    CHECK_STR(n.cause, "because");
    baton_asl_next_clear(&n);
    CHECK(fail_once(a, "Other", 1, 0, 1, &d, NULL) == BATON_ASL_NEXT_FAIL,
          "unmatched error is not retried");
    CHECK(fail_once(b, "States.Timeout", 2, 0, 1, &d, NULL) ==
                  BATON_ASL_NEXT_RETRY &&
              d == 4000,
          "capped at 4 s, got %lld", (long long)d);
    CHECK(fail_once(c, "States.Timeout", 1, 0, 1, &d, NULL) ==
              BATON_ASL_NEXT_FAIL,
          "States.Timeout never retried");
    CHECK(fail_once(c, "Boom", 1, 0, 1, &d, NULL) == BATON_ASL_NEXT_RETRY &&
              d == 1000,
          "default interval 1 s, got %lld", (long long)d);
    CHECK(fail_once(c, "Boom", 3, 0, 1, &d, NULL) == BATON_ASL_NEXT_RETRY &&
              d == 4000,
          "default backoff 2.0, got %lld", (long long)d);
    CHECK(fail_once(c, "Boom", 4, 0, 1, &d, NULL) == BATON_ASL_NEXT_FAIL,
          "default MaxAttempts 3");
    CHECK(fail_once(c, "Boom", 1, 30000, 1, &d, NULL) == BATON_ASL_NEXT_RETRY &&
              d == 30000,
          "a longer retry_after hint wins, got %lld", (long long)d);
}

static void test_spec_complex_retry(void) {
    /* spec, "Complex retry scenarios": ErrorA, ErrorB, ErrorC, ErrorB wait
     * 1, 2 and 5 seconds, then the Catch sends the run to Z */
    baton_asl_def_t *def = retry_def(
        "[{\"ErrorEquals\": [\"ErrorA\", \"ErrorB\"], \"IntervalSeconds\": 1,"
        " \"BackoffRate\": 2, \"MaxAttempts\": 2},"
        " {\"ErrorEquals\": [\"ErrorC\"], \"IntervalSeconds\": 5}]",
        "[{\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"Z\"}]");
    static const char *const errors[] = {"ErrorA", "ErrorB", "ErrorC",
                                         "ErrorB"};
    static const int64_t waits[] = {1000, 2000, 5000};
    baton_asl_ctx_t ctx = ctx_make(1);
    int32_t counts[2] = {0, 0};
    char err[256];
    int i;
    if (!def) return;
    for (i = 0; i < 4; i++) {
        baton_asl_next_t n;
        CHECK(baton_asl_task_fail_per_retrier(def, "X", J("{}"), errors[i], "c",
                                              counts, 2, 0, &ctx, &n, err,
                                              sizeof(err)) == BATON_OK,
              "task_fail: %s", err);
        if (i < 3) {
            CHECK(n.kind == BATON_ASL_NEXT_RETRY && n.delay_ms == waits[i],
                  "%s: kind %d delay %lld", errors[i], n.kind,
                  (long long)n.delay_ms);
            if (n.retrier >= 0 && n.retrier < 2) counts[n.retrier]++;
        } else {
            CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
            CHECK_STR(n.next_state, "Z");
            CHECK_JSON(n.output, "{\"Error\": \"ErrorB\", \"Cause\": \"c\"}");
        }
        baton_asl_next_clear(&n);
    }
}

static void test_spec_catch_example(void) {
    /* spec, "Error output": java.lang.Exception -> RecoveryState with the
     * error output at $.error-info; anything else -> EndMachine with the
     * error output alone */
    baton_asl_def_t *def = retry_def(
        "[]",
        "[{\"ErrorEquals\": [\"java.lang.Exception\"], \"ResultPath\":"
        " \"$.error-info\", \"Next\": \"RecoveryState\"},"
        " {\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"EndMachine\"}]");
    baton_asl_next_t n;
    if (!def) return;
    CHECK(fail_once(def, "java.lang.Exception", 1, 0, 1, NULL, &n) ==
              BATON_ASL_NEXT_STATE,
          "caught");
    CHECK_STR(n.next_state, "RecoveryState");
    CHECK_JSON(n.output, "{\"in\": 1, \"error-info\": {\"Error\":"
                         " \"java.lang.Exception\", \"Cause\": \"because\"}}");
    baton_asl_next_clear(&n);
    CHECK(fail_once(def, "Other", 1, 0, 1, NULL, &n) == BATON_ASL_NEXT_STATE,
          "caught by States.ALL");
    CHECK_STR(n.next_state, "EndMachine");
    CHECK_JSON(n.output, "{\"Error\": \"Other\", \"Cause\": \"because\"}");
    baton_asl_next_clear(&n);
}

static void test_error_name_matching(void) {
    baton_asl_def_t *def = retry_def(
        "[{\"ErrorEquals\": [\"States.TaskFailed\"], \"MaxAttempts\": 1}]",
        "[{\"ErrorEquals\": [\"States.Timeout\"], \"Next\": \"Z\"}]");
    baton_asl_next_t n;
    if (!def) return;
    CHECK(fail_once(def, "MyError", 1, 0, 1, NULL, NULL) ==
              BATON_ASL_NEXT_RETRY,
          "TaskFailed matches any error");
    CHECK(fail_once(def, "States.Timeout", 1, 0, 1, NULL, &n) ==
              BATON_ASL_NEXT_STATE,
          "TaskFailed does not match States.Timeout");
    baton_asl_next_clear(&n);
    CHECK(fail_once(def, "States.HeartbeatTimeout", 1, 0, 1, NULL, &n) ==
              BATON_ASL_NEXT_STATE,
          "States.Timeout catches a heartbeat timeout");
    baton_asl_next_clear(&n);
    CHECK(fail_once(def, "MyError", 2, 0, 1, NULL, NULL) == BATON_ASL_NEXT_FAIL,
          "retries exhausted, no catcher");
}

static void test_jitter(void) {
    baton_asl_def_t *def = retry_def(
        "[{\"ErrorEquals\": [\"States.ALL\"], \"IntervalSeconds\": 10,"
        " \"MaxAttempts\": 5, \"JitterStrategy\": \"FULL\"}]",
        "[]");
    int64_t d1 = -1, d2 = -2, d3;
    int seed, varied = 0;
    if (!def) return;
    fail_once(def, "E", 2, 0, 77, &d1, NULL);
    fail_once(def, "E", 2, 0, 77, &d2, NULL);
    CHECK(d1 == d2, "same seed, same jitter: %lld %lld", (long long)d1,
          (long long)d2);
    for (seed = 0; seed < 50; seed++) {
        fail_once(def, "E", 2, 0, (uint64_t)seed, &d3, NULL);
        CHECK(d3 >= 0 && d3 <= 20000, "jitter out of [0, 20 s]: %lld",
              (long long)d3);
        if (d3 != d1) varied = 1;
    }
    CHECK(varied, "jitter never varies");
}

static void test_catch_in_complete(void) {
    /* a ResultSelector failure after the task goes through Catch */
    baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"T\", \"States\": {\"T\": {\"Type\": \"Task\","
        " \"Resource\": \"baton:signal:approval\", \"ResultSelector\":"
        " {\"x.$\": \"States.ArrayLength($.notarray)\"}, \"Catch\": [{"
        " \"ErrorEquals\": [\"States.IntrinsicFailure\"], \"Next\": \"F\"}],"
        " \"End\": true}, \"F\": {\"Type\": \"Fail\", \"Error\": \"Bad\"}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_next_t n;
    char err[256];
    if (!def) return;
    CHECK(baton_asl_task_complete(def, "T", J("{}"), J("{\"notarray\": 1}"),
                                  &ctx, &n, err, sizeof(err)) == BATON_OK,
          "complete: %s", err);
    CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
    CHECK_STR(n.next_state, "F");
    CHECK(n.output &&
              !strcmp(json_string_value(json_object_get(n.output, "Error")),
                      "States.IntrinsicFailure"),
          "error output");
    baton_asl_next_clear(&n);
    CHECK(baton_asl_task_complete(def, "F", J("{}"), J("{}"), &ctx, &n, err,
                                  sizeof(err)) == BATON_ERR_INVALID,
          "complete on a non-Task");
    CHECK(baton_asl_task_complete(def, "Nope", J("{}"), J("{}"), &ctx, &n, err,
                                  sizeof(err)) == BATON_ERR_NOTFOUND,
          "complete on an unknown state");
}

/* ---- Task, Wait, Fail, loops ----------------------------------------- */

static void test_task_resources(void) {
    baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"A\", \"States\": {"
        "\"A\": {\"Type\": \"Task\", \"Resource\": \"baton:activity:search\","
        " \"Parameters\": {\"q.$\": \"$.topic\", \"n\": 3},"
        " \"TimeoutSecondsPath\": \"$.limits.t\", \"Next\": \"B\"},"
        "\"B\": {\"Type\": \"Task\", \"Resource\": \"baton:signal:approve\","
        " \"TimeoutSeconds\": 3600, \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    char err[256];
    if (!def) return;
    CHECK(run(def, NULL, J("{\"topic\": \"kafka\", \"limits\": {\"t\": 90}}"),
              &ctx, &s) == BATON_OK,
          "run");
    CHECK(s.kind == BATON_ASL_STOP_TASK, "kind %d", s.kind);
    CHECK_STR(s.queue, "default");
    CHECK_STR(s.activity_type, "search");
    CHECK(s.timeout_seconds == 90, "TimeoutSecondsPath: %d", s.timeout_seconds);
    CHECK_JSON(s.task_input, "{\"q\": \"kafka\", \"n\": 3}");
    CHECK(baton_asl_task_complete(def, "A", s.state_input, J("[1]"), &ctx, &n,
                                  err, sizeof(err)) == BATON_OK,
          "complete");
    CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind");
    CHECK_STR(n.next_state, "B");
    baton_asl_stop_clear(&s);
    CHECK(run(def, n.next_state, n.output, &ctx, &s) == BATON_OK, "run B");
    CHECK(s.kind == BATON_ASL_STOP_SIGNAL, "kind %d", s.kind);
    CHECK_STR(s.signal_name, "approve");
    CHECK(s.timeout_seconds == 3600, "timeout");
    CHECK_JSON(s.state_input, "[1]");
    baton_asl_stop_clear(&s);
    baton_asl_next_clear(&n);
    /* a TimeoutSecondsPath that selects nothing is a runtime error */
    CHECK(run(def, NULL, J("{\"topic\": \"k\"}"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FAIL && s.error &&
              !strcmp(s.error, "States.Runtime"),
          "kind %d", s.kind);
    baton_asl_stop_clear(&s);
}

static void test_wait(void) {
    baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"W1\", \"States\": {"
        "\"W1\": {\"Type\": \"Wait\", \"Seconds\": 10, \"Next\": \"W2\"},"
        "\"W2\": {\"Type\": \"Wait\", \"Timestamp\": \"2016-03-14T01:59:00Z\","
        " \"Next\": \"W3\"},"
        "\"W3\": {\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"Next\": "
        "\"W4\"},"
        "\"W4\": {\"Type\": \"Wait\", \"TimestampPath\": \"$.expirydate\","
        " \"OutputPath\": \"$.s\", \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    json_t *in =
        J("{\"s\": 5, \"expirydate\": \"2016-03-14T01:59:00.250+02:00\"}");
    if (!def) return;
    CHECK(run(def, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_WAIT, "kind %d", s.kind);
    CHECK(s.wait_until_ms == ctx.now_ms + 10000, "until %lld",
          (long long)s.wait_until_ms);
    CHECK_STR(s.next_state, "W2");
    CHECK_JSON(s.output, "{\"s\": 5, \"expirydate\":"
                         " \"2016-03-14T01:59:00.250+02:00\"}");
    baton_asl_stop_clear(&s);
    CHECK(run(def, "W2", in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.wait_until_ms == 1457920740000LL, "until %lld",
          (long long)s.wait_until_ms);
    baton_asl_stop_clear(&s);
    CHECK(run(def, "W3", in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.wait_until_ms == ctx.now_ms + 5000, "until %lld",
          (long long)s.wait_until_ms);
    baton_asl_stop_clear(&s);
    CHECK(run(def, "W4", in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.wait_until_ms == 1457913540250LL, "until %lld",
          (long long)s.wait_until_ms);
    CHECK(s.next_state == NULL, "End: no next state");
    CHECK_JSON(s.output, "5");
    baton_asl_stop_clear(&s);
    CHECK(run(def, "W3", J("{\"s\": -1}"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FAIL, "negative SecondsPath fails");
    baton_asl_stop_clear(&s);
}

static void test_fail_state(void) {
    /* spec, Fail State: "Kaiju attack", then ErrorPath / CausePath */
    baton_asl_def_t *def;
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    def = LOAD("{\"StartAt\": \"F\", \"States\": {\"F\": {\"Type\": \"Fail\","
               " \"Error\": \"ErrorA\", \"Cause\": \"Kaiju attack\"}}}");
    if (!def) return;
    CHECK(run(def, NULL, J("{}"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FAIL, "kind %d", s.kind);
    CHECK_STR(s.error, "ErrorA");
    CHECK_STR(s.cause, "Kaiju attack");
    CHECK_STR(s.state, "F");
    baton_asl_stop_clear(&s);
    def = LOAD("{\"StartAt\": \"G\", \"States\": {\"G\": {\"Type\": \"Fail\","
               " \"ErrorPath\": \"$.Error\", \"CausePath\":"
               " \"States.Format('code {}', $.code)\"}}}");
    if (!def) return;
    CHECK(run(def, NULL, J("{\"Error\": \"E1\", \"code\": 7}"), &ctx, &s) ==
              BATON_OK,
          "run");
    CHECK_STR(s.error, "E1");
    CHECK_STR(s.cause, "code 7");
    baton_asl_stop_clear(&s);
    def =
        LOAD("{\"StartAt\": \"H\", \"States\": {\"H\": {\"Type\": \"Fail\"}}}");
    if (!def) return;
    CHECK(run(def, NULL, J("{}"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FAIL && s.error && !s.error[0] &&
              s.cause == NULL,
          "no Error/Cause: error \"\", cause NULL (none, null on the wire)");
    baton_asl_stop_clear(&s);
}

static void test_loop_guard(void) {
    baton_asl_def_t *def =
        LOAD("{\"StartAt\": \"Inc\", \"States\": {"
             "\"Inc\": {\"Type\": \"Pass\", \"Parameters\": {\"n.$\":"
             " \"States.MathAdd($.n, 1)\"}, \"Next\": \"Check\"},"
             "\"Check\": {\"Type\": \"Choice\", \"Choices\": [{\"Variable\": "
             "\"$.n\","
             " \"NumericLessThan\": 100000, \"Next\": \"Inc\"}], \"Default\":"
             " \"Done\"}, \"Done\": {\"Type\": \"Succeed\"}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    if (!def) return;
    CHECK(run(def, NULL, J("{\"n\": 0}"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FAIL, "kind %d", s.kind);
    CHECK_STR(s.error, "States.Runtime");
    CHECK(s.cause && strstr(s.cause, "too many transitions without a task"),
          "cause %s", s.cause);
    baton_asl_stop_clear(&s);
    /* a bounded loop finishes */
    CHECK(run(def, NULL, J("{\"n\": 99990}"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_SUCCEED, "kind %d", s.kind);
    CHECK_JSON(s.output, "{\"n\": 100000}");
    baton_asl_stop_clear(&s);
}

static void test_misuse(void) {
    baton_asl_def_t *def = LOAD(
        "{\"Comment\": \"c\", \"Version\": \"1.0\", \"TimeoutSeconds\": 60,"
        " \"QueryLanguage\": \"JSONPath\", \"StartAt\": \"S\", \"States\":"
        " {\"S\": {\"Type\": \"Succeed\", \"Comment\": \"done\"}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    char err[256];
    if (!def) return;
    CHECK_STR(baton_asl_def_name(def), "test");
    CHECK_STR(baton_asl_def_start_at(def), "S");
    CHECK(baton_asl_def_timeout_seconds(def) == 60, "timeout");
    CHECK(baton_asl_run(def, "Nope", J("{}"), &ctx, &s, err, sizeof(err)) ==
              BATON_ERR_NOTFOUND,
          "unknown state");
    CHECK(strstr(err, "Nope") != NULL, "message: %s", err);
    baton_asl_stop_clear(&s);
    baton_asl_def_destroy(NULL);
    baton_asl_stop_clear(NULL);
    baton_asl_next_clear(NULL);
}

/* ---- validation ------------------------------------------------------ */

/* A machine with one state `body` named X (plus a Succeed state "End"). */
static void refuse_state(int line, const char *body, const char *want) {
    char text[4096];
    snprintf(text, sizeof(text),
             "{\"StartAt\": \"X\", \"States\": {\"X\": %s,"
             " \"End\": {\"Type\": \"Succeed\"}}}",
             body);
    refuse(line, text, want);
}
#define REFUSE_STATE(body, want) refuse_state(__LINE__, (body), (want))

static void test_validation_messages(void) {
    REFUSE("{\"StartAt\": \"Fetch\", \"States\": {\"Fetch\": {\"Type\":"
           " \"Pass\", \"Next\": \"Nope\"}}}",
           "test: state 'Fetch': Next 'Nope' is not a state");
    REFUSE_STATE("{\"Type\": \"Pass\", \"Foo\": 1, \"Next\": \"End\"}",
                 "state 'X': unknown field 'Foo'");
    REFUSE("{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Succeed\"},"
           " \"Y\": {\"Type\": \"Succeed\"}}}",
           "state 'Y' is unreachable from StartAt");
    REFUSE("{\"StartAt\": \"Z\", \"States\": {\"Z\": {\"Type\": \"Pass\","
           " \"InputPath\": \"$..\", \"End\": true}}}",
           "state 'Z': bad path '$..'");
    REFUSE_STATE("{\"Type\": \"Pass\"}", "state 'X': missing Next or End");
    REFUSE_STATE("{\"Type\": \"Pass\", \"Next\": \"End\", \"End\": true}",
                 "state 'X': has both Next and End");
    REFUSE_STATE("{\"Type\": \"Bogus\"}", "state 'X': unknown Type 'Bogus'");
    REFUSE_STATE("{\"Next\": \"End\"}", "state 'X': missing Type");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\":"
                 " \"arn:aws:lambda:us-east-1:1:function:F\", \"End\": true}",
                 "state 'X': unknown Resource 'arn:aws:lambda:us-east-1:1:"
                 "function:F'");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:q/\","
                 " \"End\": true}",
                 "unknown Resource 'baton:activity:q/'");
    /* issue 12: a queue is a Kafka topic name: ':' passed here and broke
     * at run time (START to the DLQ, the run RUNNING for ever) */
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\":"
                 " \"baton:activity:a:b/x\", \"End\": true}",
                 "state 'X': queue 'a:b' in Resource 'baton:activity:a:b/x'");
    REFUSE_STATE("{\"Type\": \"Task\", \"End\": true}",
                 "state 'X': missing Resource");
    REFUSE_STATE("{\"Type\": \"Parallel\", \"Branches\": [], \"End\": true}",
                 "state 'X': Branches must be a non-empty array");
    REFUSE_STATE("{\"Type\": \"Map\", \"End\": true}",
                 "state 'X': a Map state needs an ItemProcessor");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"Result\": 1, \"End\": true}",
                 "state 'X': field 'Result' is not allowed in a Task state");
    REFUSE_STATE("{\"Type\": \"Succeed\", \"Next\": \"End\"}",
                 "field 'Next' is not allowed in a Succeed state");
    REFUSE_STATE("{\"Type\": \"Pass\", \"ResultPath\": \"$$.x\", \"End\":"
                 " true}",
                 "state 'X': bad path '$$.x' in ResultPath");
    REFUSE_STATE("{\"Type\": \"Pass\", \"ResultPath\": \"$.a[*]\", \"End\":"
                 " true}",
                 "bad path '$.a[*]' in ResultPath");
    REFUSE_STATE("{\"Type\": \"Pass\", \"Parameters\": {\"a\": 1, \"a.$\":"
                 " \"$.b\"}, \"End\": true}",
                 "Parameters has both 'a' and 'a.$'");
    REFUSE_STATE("{\"Type\": \"Pass\", \"Parameters\": {\"a.$\": 3}, \"End\":"
                 " true}",
                 "Parameters field 'a.$' must be a string");
    REFUSE_STATE("{\"Type\": \"Pass\", \"Parameters\": {\"in\": {\"a.$\":"
                 " \"$.b[\"}}, \"End\": true}",
                 "bad path '$.b[' in Parameters field 'a.$'");
    REFUSE_STATE("{\"Type\": \"Pass\", \"Parameters\": {\"a.$\":"
                 " \"States.Nope(1)\"}, \"End\": true}",
                 "bad intrinsic function in Parameters field 'a.$': unknown "
                 "intrinsic function 'States.Nope'");
    REFUSE_STATE("{\"Type\": \"Pass\", \"Parameters\": [1], \"End\": true}",
                 "Parameters must be an object");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"Retry\": [{\"ErrorEquals\": [\"States.ALL\"]},"
                 " {\"ErrorEquals\": [\"E\"]}], \"End\": true}",
                 "state 'X': Retry[0]: States.ALL must be in the last retrier");
    REFUSE_STATE(
        "{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
        " \"Catch\": [{\"ErrorEquals\": [\"States.ALL\", \"E\"],"
        " \"Next\": \"End\"}], \"End\": true}",
        "state 'X': Catch[0]: States.ALL must be alone in ErrorEquals");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"Retry\": [{\"ErrorEquals\": []}], \"End\": true}",
                 "Retry[0]: ErrorEquals must be a non-empty array");
    REFUSE_STATE(
        "{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
        " \"Retry\": [{\"ErrorEquals\": [\"E\"], \"BackoffRate\": 0.5}],"
        " \"End\": true}",
        "Retry[0]: BackoffRate must be a number >= 1.0");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"Retry\": [{\"ErrorEquals\": [\"E\"], \"Foo\": 1}],"
                 " \"End\": true}",
                 "Retry[0]: unknown field 'Foo'");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"Retry\": [{\"ErrorEquals\": [\"E\"], \"IntervalSeconds\":"
                 " 0}], \"End\": true}",
                 "IntervalSeconds must be a positive integer");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"Retry\": [{\"ErrorEquals\": [\"E\"], \"JitterStrategy\":"
                 " \"SOME\"}], \"End\": true}",
                 "Retry[0]: JitterStrategy must be FULL or NONE");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"Catch\": [{\"ErrorEquals\": [\"E\"], \"Next\": \"Nope\"}],"
                 " \"End\": true}",
                 "state 'X': Catch[0].Next 'Nope' is not a state");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"Catch\": [{\"ErrorEquals\": [\"E\"]}], \"End\": true}",
                 "state 'X': Catch[0]: missing Next");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"TimeoutSeconds\": 10, \"HeartbeatSeconds\": 10, \"End\":"
                 " true}",
                 "HeartbeatSeconds must be smaller than TimeoutSeconds");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"TimeoutSeconds\": 0, \"End\": true}",
                 "TimeoutSeconds must be a positive integer");
    REFUSE_STATE("{\"Type\": \"Task\", \"Resource\": \"baton:activity:a\","
                 " \"TimeoutSeconds\": 5, \"TimeoutSecondsPath\": \"$.t\","
                 " \"End\": true}",
                 "cannot have both TimeoutSeconds and TimeoutSecondsPath");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": []}",
                 "state 'X': Choices must be a non-empty array");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                 " \"StringEquals\": \"x\"}]}",
                 "state 'X': Choices[0]: missing Next");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                 " \"StringEqualz\": \"x\", \"Next\": \"End\"}]}",
                 "state 'X': Choices[0]: unknown field 'StringEqualz'");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                 " \"StringEquals\": 1, \"Next\": \"End\"}]}",
                 "Choices[0]: StringEquals must be a string");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                 " \"StringEquals\": \"x\", \"NumericEquals\": 1, \"Next\":"
                 " \"End\"}]}",
                 "Choices[0]: more than one comparison operator");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": [{\"And\": [{"
                 "\"Variable\": \"$.a\", \"IsNull\": true, \"Next\": \"End\"}],"
                 " \"Next\": \"End\"}]}",
                 "Choices[0].And[0]: Next is only allowed in a top-level rule");
    REFUSE_STATE(
        "{\"Type\": \"Choice\", \"Choices\": [{\"Not\": {"
        "\"Variable\": \"$.a\", \"TimestampEquals\": \"yesterday\"},"
        " \"Next\": \"End\"}]}",
        "Choices[0].Not: TimestampEquals must be an RFC 3339 timestamp");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                 " \"StringMatches\": \"a\\\\b\", \"Next\": \"End\"}]}",
                 "Choices[0]: open escape in StringMatches");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                 " \"IsNull\": true, \"Next\": \"Nope\"}]}",
                 "state 'X': Choices[0].Next 'Nope' is not a state");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                 " \"IsNull\": true, \"Next\": \"End\"}], \"Default\": \"N\"}",
                 "state 'X': Default 'N' is not a state");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"a\","
                 " \"IsNull\": true, \"Next\": \"End\"}]}",
                 "Choices[0]: bad path 'a' in Variable");
    REFUSE_STATE("{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
                 " \"IsNull\": true, \"Next\": \"End\"}], \"End\": true}",
                 "field 'End' is not allowed in a Choice state");
    REFUSE_STATE("{\"Type\": \"Wait\", \"Seconds\": 1, \"Timestamp\":"
                 " \"2016-03-14T01:59:00Z\", \"Next\": \"End\"}",
                 "state 'X': a Wait state needs exactly one of Seconds");
    REFUSE_STATE("{\"Type\": \"Wait\", \"Timestamp\": \"2016-03-14 01:59:00\","
                 " \"Next\": \"End\"}",
                 "Timestamp must be an RFC 3339 timestamp");
    REFUSE_STATE("{\"Type\": \"Wait\", \"Seconds\": -1, \"Next\": \"End\"}",
                 "Seconds must be a non-negative integer");
    REFUSE_STATE("{\"Type\": \"Fail\", \"Error\": \"E\", \"ErrorPath\":"
                 " \"$.e\"}",
                 "state 'X': cannot have both Error and ErrorPath");
    REFUSE_STATE("{\"Type\": \"Fail\", \"Cause\": 5}",
                 "state 'X': Cause must be a string");
    REFUSE_STATE("{\"Type\": \"Pass\", \"Comment\": 5, \"End\": true}",
                 "state 'X': Comment must be a string");
    REFUSE_STATE("{\"Type\": \"Pass\", \"End\": \"yes\"}",
                 "state 'X': End must be a boolean");
    REFUSE("{\"StartAt\": \"Nope\", \"States\": {\"A\": {\"Type\":"
           " \"Succeed\"}}}",
           "test: StartAt 'Nope' is not a state");
    REFUSE("{\"States\": {\"A\": {\"Type\": \"Succeed\"}}}", "missing StartAt");
    REFUSE("{\"StartAt\": \"A\", \"States\": {}}",
           "States must be a non-empty object");
    REFUSE("{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Succeed\"}},"
           " \"Bogus\": 1}",
           "test: unknown field 'Bogus'");
    REFUSE("{\"StartAt\": \"A\", \"QueryLanguage\": \"JSONata\", \"States\":"
           " {\"A\": {\"Type\": \"Succeed\"}}}",
           "QueryLanguage must be \"JSONPath\"");
    REFUSE("{\"StartAt\": \"A\", \"TimeoutSeconds\": -5, \"States\": {\"A\":"
           " {\"Type\": \"Succeed\"}}}",
           "TimeoutSeconds must be a positive integer");
    REFUSE("{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Succeed\"},"
           " \"A\": {\"Type\": \"Succeed\"}}}",
           "not valid JSON: line 1");
    REFUSE("{\"StartAt\": ", "test: not valid JSON");
    REFUSE("[1]", "a definition must be a JSON object");
    REFUSE("{\"StartAt\": \"A\", \"States\": {\"A\": 5}}",
           "state 'A': must be an object");
    REFUSE("{\"StartAt\": \"A234567890123456789012345678901234567890123456789"
           "01234567890123456789012345678901\", \"States\": {\"A2345678901234"
           "5678901234567890123456789012345678901234567890123456789012345678"
           "901\": {\"Type\": \"Succeed\"}}}",
           "the name is longer than 80 characters");
}

static void test_validation_accepts(void) {
    /* every state type with every optional field it may have */
    baton_asl_def_t *def = LOAD(
        "{\"Comment\": \"all fields\", \"StartAt\": \"T\", \"States\": {"
        "\"T\": {\"Type\": \"Task\", \"Comment\": \"c\", \"Resource\":"
        " \"baton:activity:q.1/type-2\", \"InputPath\": \"$.a\", "
        "\"OutputPath\":"
        " \"$\", \"Parameters\": {\"x.$\": \"$.y\", \"z.$\": \"States.UUID()\","
        " \"c.$\": \"$$.Execution.Input\"}, \"ResultSelector\": {\"r.$\": "
        "\"$\"},"
        " \"ResultPath\": \"$.out\", \"Retry\": [{\"ErrorEquals\": [\"E\"],"
        " \"IntervalSeconds\": 2, \"MaxAttempts\": 0, \"BackoffRate\": 1,"
        " \"MaxDelaySeconds\": 9, \"JitterStrategy\": \"NONE\", \"Comment\":"
        " \"r\"}], \"Catch\": [{\"ErrorEquals\": [\"States.ALL\"], \"Next\":"
        " \"F\", \"ResultPath\": null, \"Comment\": \"k\"}], "
        "\"TimeoutSeconds\":"
        " 60, \"HeartbeatSecondsPath\": \"$.hb\", \"Next\": \"P\"},"
        "\"P\": {\"Type\": \"Pass\", \"Result\": [1], \"ResultPath\": "
        "\"$.r[0]\","
        " \"Next\": \"C\"},"
        "\"C\": {\"Type\": \"Choice\", \"InputPath\": null, \"OutputPath\":"
        " null, \"Choices\": [{\"Comment\": \"rule\", \"Variable\": \"$.v\","
        " \"IsPresent\": true, \"Next\": \"W\"}], \"Default\": \"S\"},"
        "\"W\": {\"Type\": \"Wait\", \"SecondsPath\": \"$.s\", \"End\": true},"
        "\"S\": {\"Type\": \"Succeed\", \"InputPath\": \"$\", \"OutputPath\":"
        " \"$\"},"
        "\"F\": {\"Type\": \"Fail\", \"ErrorPath\": \"$.e\", \"CausePath\":"
        " \"States.JsonToString($)\"}}}");
    CHECK(def != NULL, "refused");
}

/* ---- the example workflows ------------------------------------------- */

/* Reads config/workflows/<name>.asl.json, found from this file's path. */
static char *read_workflow(const char *name) {
    char path[1024], err[256];
    const char *here = __FILE__, *cut = strstr(here, "tests/unit/test_asl.c");
    int root = cut ? (int)(cut - here) : 0;
    snprintf(path, sizeof(path), "%.*sconfig/workflows/%s.asl.json", root, here,
             name);
    return baton_read_file(path, NULL, err, sizeof(err));
}

static void test_workflow_research_lite(void) {
    char *text = read_workflow("research-lite"), err[512];
    baton_asl_def_t *def = NULL;
    baton_asl_ctx_t ctx = ctx_make(3);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    CHECK(text != NULL, "config/workflows/research-lite.asl.json not found");
    if (!text) return;
    CHECK(baton_asl_def_parse("research-lite", text, &def, err, sizeof(err)) ==
              BATON_OK,
          "refused: %s", err);
    baton_free(text);
    if (!def) return;
    defs[defs_n++] = def;
    CHECK(run(def, NULL, J("{\"topic\": \"durable execution\"}"), &ctx, &s) ==
              BATON_OK,
          "run");
    CHECK(s.kind == BATON_ASL_STOP_TASK, "kind %d", s.kind);
    CHECK_STR(s.queue, "default");
    CHECK_STR(s.activity_type, "search");
    CHECK_JSON(s.task_input, "{\"query\": \"durable execution\"}");
    /* what the example worker's search returns */
    CHECK(baton_asl_task_complete(def, s.state, s.state_input,
                                  J("{\"query\": \"durable execution\","
                                    " \"sources\": [{\"title\": \"a\"},"
                                    " {\"title\": \"b\"}]}"),
                                  &ctx, &n, err, sizeof(err)) == BATON_OK,
          "complete: %s", err);
    baton_asl_stop_clear(&s);
    CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
    CHECK(run(def, n.next_state, n.output, &ctx, &s) == BATON_OK, "run");
    baton_asl_next_clear(&n);
    CHECK(s.kind == BATON_ASL_STOP_TASK, "kind %d", s.kind);
    CHECK_STR(s.activity_type, "summarize");
    CHECK_JSON(s.task_input, "{\"query\": \"durable execution\", \"sources\":"
                             " [{\"title\": \"a\"}, {\"title\": \"b\"}]}");
    CHECK(baton_asl_task_complete(def, s.state, s.state_input,
                                  J("{\"summary\": \"it works\","
                                    " \"source_count\": 2}"),
                                  &ctx, &n, err, sizeof(err)) == BATON_OK,
          "complete: %s", err);
    baton_asl_stop_clear(&s);
    CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
    CHECK(run(def, n.next_state, n.output, &ctx, &s) == BATON_OK, "run");
    baton_asl_next_clear(&n);
    CHECK(s.kind == BATON_ASL_STOP_SUCCEED, "kind %d (%s)", s.kind,
          s.cause ? s.cause : "");
    CHECK_JSON(json_object_get(s.output, "report"),
               "\"Research report on durable execution: it works\"");
    baton_asl_stop_clear(&s);
}

static void test_workflow_steps3(void) {
    char *text = read_workflow("steps3"), err[512];
    baton_asl_def_t *def = NULL;
    baton_asl_ctx_t ctx = ctx_make(3);
    json_t *input = J("{\"job\": 1}");
    const char *state;
    int tasks = 0;
    CHECK(text != NULL, "config/workflows/steps3.asl.json not found");
    if (!text) return;
    CHECK(baton_asl_def_parse("steps3", text, &def, err, sizeof(err)) ==
              BATON_OK,
          "refused: %s", err);
    baton_free(text);
    if (!def) return;
    defs[defs_n++] = def;
    state = baton_asl_def_start_at(def);
    for (;;) {
        baton_asl_stop_t s;
        baton_asl_next_t n;
        char result[32];
        CHECK(run(def, state, input, &ctx, &s) == BATON_OK, "run");
        if (s.kind != BATON_ASL_STOP_TASK) {
            CHECK(s.kind == BATON_ASL_STOP_SUCCEED, "kind %d", s.kind);
            CHECK_JSON(json_object_get(s.output, "results"),
                       "{\"s1\": {\"step\": 1}, \"s2\": {\"step\": 2},"
                       " \"s3\": {\"step\": 3}}");
            CHECK(json_integer_value(json_object_get(s.output, "job")) == 1,
                  "input kept");
            baton_asl_stop_clear(&s);
            break;
        }
        tasks++;
        CHECK_STR(s.activity_type, "noop");
        CHECK_STR(s.queue, "default");
        snprintf(result, sizeof(result), "{\"step\": %d}", tasks);
        CHECK(baton_asl_task_complete(def, s.state, s.state_input, J(result),
                                      &ctx, &n, err, sizeof(err)) == BATON_OK,
              "complete");
        baton_asl_stop_clear(&s);
        if (n.kind == BATON_ASL_NEXT_END) {
            input = keep(json_incref(n.output));
            baton_asl_next_clear(&n);
            break;
        }
        input = keep(json_incref(n.output));
        state = json_string_value(keep(json_string(n.next_state)));
        baton_asl_next_clear(&n);
        if (tasks > 3) break;
    }
    CHECK(tasks == 3, "ran %d tasks", tasks);
}

/* ---- timestamps and digests ------------------------------------------ */

static void test_timestamps(void) {
    static const char *const bad[] = {
        "2016-03-14t01:59:00Z",  "2016-03-14T01:59:00z",
        "2016-03-14T01:59:00",   "2016-13-14T01:59:00Z",
        "2016-02-30T01:59:00Z",  "2016-03-14T24:00:00Z",
        "2016-03-14T01:59:00.Z", "2016-03-14T01:59:00+0200",
        "16-03-14T01:59:00Z",    "2016-03-14T01:59:00Zx"};
    int64_t sec;
    int32_t ns;
    char buf[40];
    size_t i;
    CHECK(baton_asl_timestamp_parse("2016-03-14T01:59:00Z", &sec, &ns) == 0 &&
              sec == 1457920740 && ns == 0,
          "basic");
    CHECK(baton_asl_timestamp_parse("2016-03-14T03:59:00.123456789+02:00", &sec,
                                    &ns) == 0 &&
              sec == 1457920740 && ns == 123456789,
          "offset and fraction");
    CHECK(baton_asl_timestamp_parse("1969-12-31T23:59:59Z", &sec, &ns) == 0 &&
              sec == -1,
          "before the epoch");
    CHECK(baton_asl_timestamp_parse("2000-02-29T00:00:00Z", &sec, &ns) == 0,
          "leap day");
    for (i = 0; i < BATON_ARRAY_SIZE(bad); i++)
        CHECK(baton_asl_timestamp_parse(bad[i], &sec, &ns) != 0, "accepted %s",
              bad[i]);
    CHECK_STR(baton_asl_timestamp_format(1457920740250LL, buf, sizeof(buf)),
              "2016-03-14T01:59:00.250Z");
    CHECK_STR(baton_asl_timestamp_format(-1, buf, sizeof(buf)),
              "1969-12-31T23:59:59.999Z");
}

static void test_digests(void) {
    /* FIPS 180 / RFC 1321 test vectors */
    static const struct {
        const char *alg, *data, *hex;
    } v[] = {
        {"MD5", "", "d41d8cd98f00b204e9800998ecf8427e"},
        {"MD5", "abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"SHA-1", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"SHA-256", "abc",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"SHA-256", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"SHA-384", "abc",
         "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
         "8086072ba1e7cc2358baeca134c825a7"},
        {"SHA-512", "abc",
         "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
         "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
    };
    uint8_t d[BATON_ASL_HASH_MAX];
    char hex[2 * BATON_ASL_HASH_MAX + 1];
    size_t i, j, n;
    for (i = 0; i < BATON_ARRAY_SIZE(v); i++) {
        n = baton_asl_hash(v[i].alg, v[i].data, strlen(v[i].data), d);
        for (j = 0; j < n; j++) snprintf(hex + 2 * j, 3, "%02x", d[j]);
        hex[2 * n] = '\0';
        CHECK_STR(hex, v[i].hex);
    }
    CHECK(baton_asl_hash("SHA-3", "x", 1, d) == 0, "unknown algorithm");
}

int main(void) {
    RUN(test_path_reference_examples);
    RUN(test_path_syntax);
    RUN(test_path_multiple_values);
    RUN(test_path_bad);
    RUN(test_path_set);
    RUN(test_spec_pass_result);
    RUN(test_spec_task_io);
    RUN(test_spec_payload_template);
    RUN(test_template_nested_arrays);
    RUN(test_context_object);
    RUN(test_null_paths);
    RUN(test_result_selector);
    RUN(test_dataflow_errors_and_catch);
    RUN(test_intrinsics_spec_examples);
    RUN(test_intrinsics_more);
    RUN(test_intrinsics_failures);
    RUN(test_intrinsics_syntax);
    RUN(test_determinism);
    RUN(test_uuid_in_run_is_per_state);
    RUN(test_spec_choice_example);
    RUN(test_choice_operators);
    RUN(test_choice_type_tests);
    RUN(test_choice_string_matches);
    RUN(test_choice_boolean_and_default);
    RUN(test_choice_no_match);
    RUN(test_spec_retry_examples);
    RUN(test_spec_complex_retry);
    RUN(test_spec_catch_example);
    RUN(test_error_name_matching);
    RUN(test_jitter);
    RUN(test_catch_in_complete);
    RUN(test_task_resources);
    RUN(test_wait);
    RUN(test_fail_state);
    RUN(test_loop_guard);
    RUN(test_misuse);
    RUN(test_validation_messages);
    RUN(test_validation_accepts);
    RUN(test_workflow_research_lite);
    RUN(test_workflow_steps3);
    RUN(test_timestamps);
    RUN(test_digests);
    return harness_report();
}
