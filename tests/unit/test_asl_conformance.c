/*
 * test_asl_conformance.c -- conformance of the ASL interpreter to the
 * States Language specification (states-language.net, JSONPath mode):
 * every state type, every data-flow field, every intrinsic function of
 * Appendix B and the error rules (Retry, Catch, the predefined error
 * names of Appendix A, validation at load).
 *
 * Expected values are the spec's own examples, worked by hand from its
 * text.  Where an example carries a typo we test what its text says: the
 * SHA-1 of "input data" has 40 hex digits (the spec drops a '4'), base64
 * "RGF0YSB0byBlbmNvZGU=" decodes to "Data to encode" (the spec prints
 * "Decoded data"), the Payload Template example reads $.DayOfWeek from an
 * input that lacks it (we add it).  Digests were checked with coreutils.
 * Standalone program, "N passed, N failed".
 */
#include "test_asl_harness.h"

/* Runs text from StartAt on input; returns the stop kind (s filled). */
static int run_text(int line, const char *text, const char *input,
                    baton_asl_stop_t *s) {
    baton_asl_def_t *def = NULL;
    baton_asl_ctx_t ctx = ctx_make(5);
    char err[512] = "";
    memset(s, 0, sizeof(*s));
    if (baton_asl_def_parse("test", text, &def, err, sizeof(err))) {
        fail_at(line, "refused: %s", err);
        return 0;
    }
    defs[defs_n++] = def;
    if (baton_asl_run(def, baton_asl_def_start_at(def), J(input), &ctx, s, err,
                      sizeof(err))) {
        fail_at(line, "run: %s", err);
        return 0;
    }
    return s->kind;
}

/* The run must succeed with `want` as output. */
#define CHECK_OUTPUT(text, input, want) \
    check_output(__LINE__, text, input, want)
static void check_output(int line, const char *text, const char *input,
                         const char *want) {
    baton_asl_stop_t s;
    int k = run_text(line, text, input, &s);
    if (k && k != BATON_ASL_STOP_SUCCEED)
        fail_at(line, "stopped with kind %d (%s: %s)", k,
                s.error ? s.error : "", s.cause ? s.cause : "");
    else if (k)
        check_json(line, s.output, want);
    baton_asl_stop_clear(&s);
}

/* The run must fail with error `want`. */
#define CHECK_ERROR(text, input, want) check_error(__LINE__, text, input, want)
static void check_error(int line, const char *text, const char *input,
                        const char *want) {
    baton_asl_stop_t s;
    int k = run_text(line, text, input, &s);
    if (k && k != BATON_ASL_STOP_FAIL)
        fail_at(line, "stopped with kind %d, want error %s", k, want);
    else if (k)
        check_str(line, s.error, want);
    baton_asl_stop_clear(&s);
}

/* A one-state machine: {"StartAt":"S","States":{"S": <state>}}. */
static const char *one(const char *state) {
    static char buf[4096];
    snprintf(buf, sizeof(buf), "{\"StartAt\": \"S\", \"States\": {\"S\": %s}}",
             state);
    return buf;
}

/* ---- state types ----------------------------------------------------- */

static void test_pass_state(void) {
    /* spec, "JSONPath Pass State": ProvideTestData */
    CHECK_OUTPUT(one("{\"Type\": \"Pass\", \"Result\": {\"x-datum\": 0.381018,"
                     " \"y-datum\": 622.2269926397355}, \"ResultPath\":"
                     " \"$.coords\", \"End\": true}"),
                 "{\"georefOf\": \"Home\"}",
                 "{\"georefOf\": \"Home\", \"coords\": {\"x-datum\": 0.381018,"
                 " \"y-datum\": 622.2269926397355}}");
    /* "if neither Result nor ResultPath are provided, the Pass State copies
     * its input through to its output" */
    CHECK_OUTPUT(one("{\"Type\": \"Pass\", \"End\": true}"), "[1, {\"a\": 2}]",
                 "[1, {\"a\": 2}]");
    /* Parameters on a Pass state */
    CHECK_OUTPUT(one("{\"Type\": \"Pass\", \"Parameters\": {\"b.$\": \"$.a\"},"
                     " \"ResultPath\": \"$.p\", \"End\": true}"),
                 "{\"a\": 1}", "{\"a\": 1, \"p\": {\"b\": 1}}");
}

static void test_task_state(void) {
    /* spec, "Task State" example: TimeoutSeconds 300, HeartbeatSeconds 60 */
    baton_asl_stop_t s;
    if (run_text(__LINE__,
                 one("{\"Comment\": \"Task State example\", \"Type\": \"Task\","
                     " \"Resource\": \"baton:activity:q/HelloWorld\","
                     " \"TimeoutSeconds\": 300, \"HeartbeatSeconds\": 60,"
                     " \"End\": true}"),
                 "{\"who\": \"AWS\"}", &s) == BATON_ASL_STOP_TASK) {
        CHECK(s.timeout_seconds == 300 && s.heartbeat_seconds == 60,
              "timeouts %d %d", s.timeout_seconds, s.heartbeat_seconds);
        CHECK_STR(s.queue, "q");
        CHECK_STR(s.activity_type, "HelloWorld");
        CHECK_JSON(s.task_input, "{\"who\": \"AWS\"}");
    } else {
        CHECK(0, "kind %d", s.kind);
    }
    baton_asl_stop_clear(&s);
    /* TimeoutSecondsPath / HeartbeatSecondsPath select positive integers */
    if (run_text(__LINE__,
                 one("{\"Type\": \"Task\", \"Resource\": \"baton:activity:x\","
                     " \"TimeoutSecondsPath\": \"$.t\","
                     " \"HeartbeatSecondsPath\": \"$.h\", \"End\": true}"),
                 "{\"t\": 9, \"h\": 3}", &s) == BATON_ASL_STOP_TASK)
        CHECK(s.timeout_seconds == 9 && s.heartbeat_seconds == 3, "paths");
    baton_asl_stop_clear(&s);
    CHECK_ERROR(one("{\"Type\": \"Task\", \"Resource\": \"baton:activity:x\","
                    " \"TimeoutSecondsPath\": \"$.t\", \"End\": true}"),
                "{\"t\": 0}", "States.Runtime");
}

static const char dispatch_event[] =
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
    "\"Public\": {\"Type\": \"Pass\", \"Result\": \"Public\", \"End\": true},"
    "\"ValueInTwenties\": {\"Type\": \"Pass\", \"Result\": \"20s\","
    " \"End\": true},"
    "\"StartAudit\": {\"Type\": \"Pass\", \"Result\": \"audit\", \"End\": true},"
    "\"RecordEvent\": {\"Type\": \"Pass\", \"Result\": \"record\","
    " \"End\": true}}}";

static void test_choice_state(void) {
    /* spec, "JSONPath Choice Rules": {"type": "Private", "value": 22} goes
     * to ValueInTwenties */
    CHECK_OUTPUT(dispatch_event, "{\"type\": \"Private\", \"value\": 22}",
                 "\"20s\"");
    CHECK_OUTPUT(dispatch_event, "{\"type\": \"Public\"}", "\"Public\"");
    /* IsPresent false (no "value"): And is false; rating > threshold */
    CHECK_OUTPUT(dispatch_event,
                 "{\"type\": \"Private\", \"rating\": 53,"
                 " \"auditThreshold\": 50}",
                 "\"audit\"");
    CHECK_OUTPUT(dispatch_event,
                 "{\"type\": \"Private\", \"value\": 30, \"rating\": 1,"
                 " \"auditThreshold\": 2}",
                 "\"record\"");
    /* a rule whose Variable matches nothing (no "rating"): States.Runtime */
    CHECK_ERROR(dispatch_event, "{\"type\": \"Private\"}", "States.Runtime");
    /* "The interpreter will throw a runtime States.NoChoiceMatched error if
     * a Choice State fails to match a Choice Rule and no Default" */
    CHECK_ERROR(
        "{\"StartAt\": \"C\", \"States\": {\"C\": {\"Type\": \"Choice\","
        " \"Choices\": [{\"Variable\": \"$.a\", \"BooleanEquals\": true,"
        " \"Next\": \"E\"}]}, \"E\": {\"Type\": \"Succeed\"}}}",
        "{\"a\": false}", "States.NoChoiceMatched");
    /* StringMatches: foo*.log matches foo23.log, *.log zebra.log, foo*.*
     * foobar.zebra; \\* is a literal star */
    {
        static const struct {
            const char *pat, *val, *want;
        } m[] = {
            {"foo*.log", "foo23.log", "\"y\""},
            {"*.log", "zebra.log", "\"y\""},
            {"foo*.*", "foobar.zebra", "\"y\""},
            {"foo*.log", "foo23.txt", "\"n\""},
            {"a\\\\*b", "a*b", "\"y\""},
            {"a\\\\*b", "axb", "\"n\""},
            {"a\\\\\\\\b*", "a\\\\bc", "\"y\""},
        };
        char text[1024];
        size_t i;
        for (i = 0; i < BATON_ARRAY_SIZE(m); i++) {
            char in[128];
            snprintf(text, sizeof(text),
                     "{\"StartAt\": \"C\", \"States\": {\"C\": {\"Type\":"
                     " \"Choice\", \"Choices\": [{\"Variable\": \"$.v\","
                     " \"StringMatches\": \"%s\", \"Next\": \"Y\"}],"
                     " \"Default\": \"N\"}, \"Y\": {\"Type\": \"Pass\","
                     " \"Result\": \"y\", \"End\": true}, \"N\": {\"Type\":"
                     " \"Pass\", \"Result\": \"n\", \"End\": true}}}",
                     m[i].pat);
            snprintf(in, sizeof(in), "{\"v\": \"%s\"}", m[i].val);
            check_output(__LINE__ * 100 + (int)i, text, in, m[i].want);
        }
    }
}

/* Every comparison operator and its *Path form, on one value pair. */
static void test_choice_operators(void) {
    static const struct {
        const char *op, *value, *input;
        int want;
    } c[] = {
        {"StringEquals", "\"b\"", "{\"v\": \"b\"}", 1},
        {"StringLessThan", "\"c\"", "{\"v\": \"b\"}", 1},
        {"StringGreaterThan", "\"c\"", "{\"v\": \"b\"}", 0},
        {"StringLessThanEquals", "\"b\"", "{\"v\": \"b\"}", 1},
        {"StringGreaterThanEquals", "\"a\"", "{\"v\": \"b\"}", 1},
        {"StringEqualsPath", "\"$.w\"", "{\"v\": \"b\", \"w\": \"b\"}", 1},
        {"StringLessThanPath", "\"$.w\"", "{\"v\": \"b\", \"w\": \"a\"}", 0},
        {"StringGreaterThanPath", "\"$.w\"", "{\"v\": \"b\", \"w\": \"a\"}", 1},
        {"StringLessThanEqualsPath", "\"$.w\"", "{\"v\": \"b\", \"w\": \"b\"}",
         1},
        {"StringGreaterThanEqualsPath", "\"$.w\"",
         "{\"v\": \"a\", \"w\": \"b\"}", 0},
        {"NumericEquals", "2", "{\"v\": 2.0}", 1},
        {"NumericLessThan", "2", "{\"v\": 1.5}", 1},
        {"NumericGreaterThan", "2", "{\"v\": 2}", 0},
        {"NumericLessThanEquals", "2", "{\"v\": 2}", 1},
        {"NumericGreaterThanEquals", "2", "{\"v\": 3}", 1},
        {"NumericEqualsPath", "\"$.w\"", "{\"v\": 1, \"w\": 1}", 1},
        {"NumericLessThanPath", "\"$.w\"", "{\"v\": 1, \"w\": 2}", 1},
        {"NumericGreaterThanPath", "\"$.w\"", "{\"v\": 1, \"w\": 2}", 0},
        {"NumericLessThanEqualsPath", "\"$.w\"", "{\"v\": 3, \"w\": 2}", 0},
        {"NumericGreaterThanEqualsPath", "\"$.w\"", "{\"v\": 2, \"w\": 2}", 1},
        {"BooleanEquals", "false", "{\"v\": false}", 1},
        {"BooleanEqualsPath", "\"$.w\"", "{\"v\": true, \"w\": false}", 0},
        {"TimestampEquals", "\"2016-03-14T01:59:00Z\"",
         "{\"v\": \"2016-03-14T02:59:00+01:00\"}", 1},
        {"TimestampLessThan", "\"2016-03-14T01:59:00Z\"",
         "{\"v\": \"2016-03-14T01:58:59.5Z\"}", 1},
        {"TimestampGreaterThan", "\"2016-03-14T01:59:00Z\"",
         "{\"v\": \"2016-03-14T01:58:00Z\"}", 0},
        {"TimestampLessThanEquals", "\"2016-03-14T01:59:00Z\"",
         "{\"v\": \"2016-03-14T01:59:00Z\"}", 1},
        {"TimestampGreaterThanEquals", "\"2016-03-14T01:59:00Z\"",
         "{\"v\": \"2017-01-01T00:00:00Z\"}", 1},
        {"TimestampEqualsPath", "\"$.w\"",
         "{\"v\": \"2016-03-14T01:59:00Z\", \"w\": \"2016-03-14T01:59:00Z\"}",
         1},
        {"TimestampLessThanPath", "\"$.w\"",
         "{\"v\": \"2016-03-14T01:59:00Z\", \"w\": \"2015-03-14T01:59:00Z\"}",
         0},
        {"TimestampGreaterThanPath", "\"$.w\"",
         "{\"v\": \"2016-03-14T01:59:00Z\", \"w\": \"2015-03-14T01:59:00Z\"}",
         1},
        {"TimestampLessThanEqualsPath", "\"$.w\"",
         "{\"v\": \"2016-03-14T01:59:00Z\", \"w\": \"2016-03-14T01:59:00Z\"}",
         1},
        {"TimestampGreaterThanEqualsPath", "\"$.w\"",
         "{\"v\": \"2015-03-14T01:59:00Z\", \"w\": \"2016-03-14T01:59:00Z\"}",
         0},
        /* "if the values are not both of the appropriate type ... false" */
        {"NumericEquals", "1", "{\"v\": \"1\"}", 0},
        {"StringEquals", "\"1\"", "{\"v\": 1}", 0},
        {"TimestampEquals", "\"2016-03-14T01:59:00Z\"", "{\"v\": \"now\"}", 0},
        {"IsNull", "true", "{\"v\": null}", 1},
        {"IsNull", "false", "{\"v\": 0}", 1},
        {"IsPresent", "true", "{\"w\": 1}", 0},
        {"IsPresent", "false", "{\"w\": 1}", 1},
        {"IsNumeric", "true", "{\"v\": 1.5}", 1},
        {"IsString", "true", "{\"v\": 1}", 0},
        {"IsBoolean", "true", "{\"v\": false}", 1},
        {"IsTimestamp", "true", "{\"v\": \"2016-03-14T01:59:00Z\"}", 1},
        {"IsTimestamp", "true", "{\"v\": \"2016-03-14 01:59:00\"}", 0},
    };
    char text[1024];
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(c); i++) {
        snprintf(
            text, sizeof(text),
            "{\"StartAt\": \"C\", \"States\": {\"C\": {\"Type\": \"Choice\","
            " \"Choices\": [{\"Variable\": \"$.v\", \"%s\": %s,"
            " \"Next\": \"Y\"}], \"Default\": \"N\"},"
            " \"Y\": {\"Type\": \"Pass\", \"Result\": 1, \"End\": true},"
            " \"N\": {\"Type\": \"Pass\", \"Result\": 0, \"End\": true}}}",
            c[i].op, c[i].value);
        check_output(__LINE__ * 100 + (int)i, text, c[i].input,
                     c[i].want ? "1" : "0");
    }
    /* a Variable that matches nothing is a runtime error (but IsPresent) */
    CHECK_ERROR(
        "{\"StartAt\": \"C\", \"States\": {\"C\": {\"Type\": \"Choice\","
        " \"Choices\": [{\"Variable\": \"$.nope\", \"IsNull\": true,"
        " \"Next\": \"E\"}], \"Default\": \"E\"},"
        " \"E\": {\"Type\": \"Succeed\"}}}",
        "{}", "States.Runtime");
}

static void test_wait_state(void) {
    baton_asl_stop_t s;
    static const struct {
        const char *field, *input;
        int64_t until;
    } w[] = {
        {"\"Seconds\": 10", "{}", 1700000001000LL + 10000},
        /* 2016-03-14T01:59:00Z = 1457920740 s since the epoch */
        {"\"Timestamp\": \"2016-03-14T01:59:00Z\"", "{}", 1457920740000LL},
        {"\"SecondsPath\": \"$.s\"", "{\"s\": 5}", 1700000001000LL + 5000},
        {"\"TimestampPath\": \"$.expirydate\"",
         "{\"expirydate\": \"2016-03-14T01:59:00Z\"}", 1457920740000LL},
    };
    char text[512];
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(w); i++) {
        snprintf(text, sizeof(text),
                 "{\"Type\": \"Wait\", %s, \"Next\": \"N\"}", w[i].field);
        snprintf(text, sizeof(text),
                 "{\"StartAt\": \"W\", \"States\": {\"W\": {\"Type\": \"Wait\","
                 " %s, \"Next\": \"N\"}, \"N\": {\"Type\": \"Succeed\"}}}",
                 w[i].field);
        if (run_text(__LINE__, text, w[i].input, &s) == BATON_ASL_STOP_WAIT) {
            CHECK(s.wait_until_ms == w[i].until, "%s: until %lld, want %lld",
                  w[i].field, (long long)s.wait_until_ms,
                  (long long)w[i].until);
            CHECK_STR(s.next_state, "N");
            check_json(__LINE__, s.output, w[i].input);
        } else {
            CHECK(0, "%s: kind %d", w[i].field, s.kind);
        }
        baton_asl_stop_clear(&s);
    }
    CHECK_ERROR(one("{\"Type\": \"Wait\", \"SecondsPath\": \"$.s\","
                    " \"End\": true}"),
                "{\"s\": -1}", "States.Runtime");
}

static void test_succeed_fail_states(void) {
    CHECK_OUTPUT(one("{\"Type\": \"Succeed\", \"InputPath\": \"$.a\","
                     " \"OutputPath\": \"$.b\"}"),
                 "{\"a\": {\"b\": 2}}", "2");
    /* spec, "Fail State" example */
    {
        baton_asl_stop_t s;
        if (run_text(__LINE__,
                     one("{\"Type\": \"Fail\", \"Error\": \"ErrorA\","
                         " \"Cause\": \"Kaiju attack\"}"),
                     "{}", &s) == BATON_ASL_STOP_FAIL) {
            CHECK_STR(s.error, "ErrorA");
            CHECK_STR(s.cause, "Kaiju attack");
        }
        baton_asl_stop_clear(&s);
        /* spec, "JSONPath Fail State": ErrorPath / CausePath */
        if (run_text(
                __LINE__,
                one("{\"Type\": \"Fail\", \"Comment\": \"my error comment\","
                    " \"ErrorPath\": \"$.Error\", \"CausePath\":"
                    " \"States.Format('because {}', $.Cause)\"}"),
                "{\"Error\": \"E1\", \"Cause\": \"C1\"}",
                &s) == BATON_ASL_STOP_FAIL) {
            CHECK_STR(s.error, "E1");
            CHECK_STR(s.cause, "because C1");
        }
        baton_asl_stop_clear(&s);
    }
    CHECK_ERROR(one("{\"Type\": \"Fail\", \"ErrorPath\": \"$.e\"}"),
                "{\"e\": 5}", "States.Runtime");
}

static void test_parallel_and_map_states(void) {
    /* spec, Parallel "LookupCustomerInfo" and Map "Validate-All": the stop
     * names the fan-out; the detail is in test_asl_ext.c */
    baton_asl_stop_t s;
    if (run_text(
            __LINE__,
            "{\"StartAt\": \"LookupCustomerInfo\", \"States\": {"
            "\"LookupCustomerInfo\": {\"Type\": \"Parallel\", \"Branches\": ["
            " {\"StartAt\": \"LookupAddress\", \"States\": {\"LookupAddress\":"
            "  {\"Type\": \"Task\", \"Resource\": \"baton:activity:AddressFinder\","
            "   \"End\": true}}},"
            " {\"StartAt\": \"LookupPhone\", \"States\": {\"LookupPhone\":"
            "  {\"Type\": \"Task\", \"Resource\": \"baton:activity:PhoneFinder\","
            "   \"End\": true}}}], \"Next\": \"NextState\"},"
            "\"NextState\": {\"Type\": \"Succeed\"}}}",
            "{\"id\": 1}", &s) == BATON_ASL_STOP_FANOUT)
        CHECK(!s.is_map && s.n_items == 2, "parallel of 2");
    else
        CHECK(0, "kind %d", s.kind);
    baton_asl_stop_clear(&s);
    if (run_text(
            __LINE__,
            one("{\"Type\": \"Map\", \"InputPath\": \"$.detail\","
                " \"ItemsPath\": \"$.shipped\", \"MaxConcurrency\": 1,"
                " \"ItemProcessor\": {\"StartAt\": \"Validate\", \"States\":"
                " {\"Validate\": {\"Type\": \"Task\", \"Resource\":"
                " \"baton:activity:ship-val\", \"End\": true}}},"
                " \"ResultPath\": \"$.detail.shipped\", \"End\": true}"),
            "{\"detail\": {\"shipped\": [1, 2, 3]}}",
            &s) == BATON_ASL_STOP_FANOUT)
        CHECK(s.is_map && s.n_items == 3 && s.max_concurrency == 1, "map of 3");
    else
        CHECK(0, "kind %d", s.kind);
    baton_asl_stop_clear(&s);
}

/* ---- data flow ------------------------------------------------------- */

static void test_payload_template(void) {
    /* spec, "Payload Template" */
    CHECK_OUTPUT(
        one("{\"Type\": \"Pass\", \"Parameters\": {\"flagged\": true,"
            " \"parts\": {\"first.$\": \"$.vals[0]\","
            "  \"last3.$\": \"$.vals[-3:]\"},"
            " \"weekday.$\": \"$.DayOfWeek\","
            " \"formattedOutput.$\": \"States.Format('Today is {}',"
            " $.DayOfWeek)\"}, \"End\": true}"),
        "{\"flagged\": 7, \"vals\": [0, 10, 20, 30, 40, 50],"
        " \"DayOfWeek\": \"TUESDAY\"}",
        "{\"flagged\": true, \"parts\": {\"first\": 0, \"last3\":"
        " [30, 40, 50]}, \"weekday\": \"TUESDAY\", \"formattedOutput\":"
        " \"Today is TUESDAY\"}");
    /* the context object: "$$" strips one "$" and applies to it */
    CHECK_OUTPUT(
        one("{\"Type\": \"Pass\", \"Parameters\": {"
            " \"id.$\": \"$$.Execution.Id\", \"st.$\": \"$$.State.Name\","
            " \"sm.$\": \"$$.StateMachine.Name\","
            " \"in.$\": \"$$.Execution.Input\"}, \"End\": true}"),
        "{\"a\": 1}",
        "{\"id\": \"wf-1\", \"st\": \"S\", \"sm\": \"demo\","
        " \"in\": {}}");
    /* "If the path is legal but cannot be applied successfully ...
     * States.ParameterPathFailure" */
    CHECK_ERROR(one("{\"Type\": \"Pass\", \"Parameters\": {\"x.$\": \"$.no\"},"
                    " \"End\": true}"),
                "{}", "States.ParameterPathFailure");
    /* "If the Intrinsic Function fails ... States.IntrinsicFailure" */
    CHECK_ERROR(one("{\"Type\": \"Pass\", \"Parameters\": {\"x.$\":"
                    " \"States.ArrayLength($.s)\"}, \"End\": true}"),
                "{\"s\": \"str\"}", "States.IntrinsicFailure");
}

static void test_input_output_processing(void) {
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_next_t n;
    baton_asl_stop_t s;
    char err[256];
    const baton_asl_def_t *def =
        LOAD("{\"StartAt\": \"Add\", \"States\": {\"Add\": {\"Type\": \"Task\","
             " \"Resource\": \"baton:activity:lambda/add\","
             " \"InputPath\": \"$.numbers\", \"ResultPath\": \"$.sum\","
             " \"End\": true}}}");
    json_t *in = J("{\"title\": \"Numbers to add\", \"numbers\": {\"val1\": 3,"
                   " \"val2\": 4}}");
    if (!def) return;
    /* spec, "Input/Output Processing Examples" */
    CHECK(run(def, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK_JSON(s.task_input, "{\"val1\": 3, \"val2\": 4}");
    baton_asl_stop_clear(&s);
    CHECK(baton_asl_task_complete(def, "Add", in, J("7"), &ctx, &n, err,
                                  sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK_JSON(n.output, "{\"title\": \"Numbers to add\", \"numbers\":"
                         " {\"val1\": 3, \"val2\": 4}, \"sum\": 7}");
    baton_asl_next_clear(&n);
    /* "$.b.greeting": intervening fields constructed */
    CHECK_OUTPUT(one("{\"Type\": \"Pass\", \"Result\": \"Hi!\", \"ResultPath\":"
                     " \"$.b.greeting\", \"End\": true}"),
                 "{\"a\": 1}", "{\"a\": 1, \"b\": {\"greeting\": \"Hi!\"}}");
    /* "$.master.detail" overwritten; "$.master.result.sum" combined */
    CHECK_OUTPUT(one("{\"Type\": \"Pass\", \"Result\": 6, \"ResultPath\":"
                     " \"$.master.detail\", \"End\": true}"),
                 "{\"master\": {\"detail\": [1, 2, 3]}}",
                 "{\"master\": {\"detail\": 6}}");
    CHECK_OUTPUT(
        one("{\"Type\": \"Pass\", \"Result\": 6, \"ResultPath\":"
            " \"$.master.result.sum\", \"End\": true}"),
        "{\"master\": {\"detail\": [1, 2, 3]}}",
        "{\"master\": {\"detail\": [1, 2, 3], \"result\": {\"sum\": 6}}}");
    /* $.a[0,1] yields two values, gathered into an array */
    CHECK_OUTPUT(one("{\"Type\": \"Pass\", \"InputPath\": \"$.a[0,1]\","
                     " \"End\": true}"),
                 "{\"a\": [1, 2, 3]}", "[1, 2]");
    CHECK_OUTPUT(one("{\"Type\": \"Pass\", \"OutputPath\": \"$.a[0,1]\","
                     " \"End\": true}"),
                 "{\"a\": [1, 2, 3]}", "[1, 2]");
    /* null InputPath: {}; null ResultPath: the raw input; null OutputPath */
    CHECK_OUTPUT(
        one("{\"Type\": \"Pass\", \"InputPath\": null, \"End\": true}"),
        "{\"a\": 1}", "{}");
    CHECK_OUTPUT(one("{\"Type\": \"Pass\", \"Result\": 5, \"ResultPath\": null,"
                     " \"End\": true}"),
                 "{\"a\": 1}", "{\"a\": 1}");
    CHECK_OUTPUT(
        one("{\"Type\": \"Pass\", \"OutputPath\": null, \"End\": true}"),
        "{\"a\": 1}", "{}");
    /* ResultSelector reshapes the result before ResultPath */
    {
        const baton_asl_def_t *rs =
            LOAD(one("{\"Type\": \"Task\", \"Resource\": \"baton:activity:x\","
                     " \"ResultSelector\": {\"z.$\": \"$.y.z\", \"c\": \"k\"},"
                     " \"ResultPath\": \"$.r\", \"OutputPath\": \"$.r\","
                     " \"End\": true}"));
        if (rs && baton_asl_task_complete(
                      rs, "S", J("{}"), J("{\"x\": 1, \"y\": {\"z\": 2}}"),
                      &ctx, &n, err, sizeof(err)) == BATON_OK)
            CHECK_JSON(n.output, "{\"z\": 2, \"c\": \"k\"}");
        baton_asl_next_clear(&n);
    }
    /* spec, "JSONPath Runtime Errors": input "foo", ResultPath "$.x" */
    CHECK_ERROR(one("{\"Type\": \"Pass\", \"ResultPath\": \"$.x\","
                    " \"End\": true}"),
                "\"foo\"", "States.ResultPathMatchFailure");
    CHECK_ERROR(one("{\"Type\": \"Pass\", \"InputPath\": \"$.x\","
                    " \"End\": true}"),
                "{}", "States.Runtime");
}

/* ---- intrinsic functions (Appendix B) -------------------------------- */

static void test_intrinsics_appendix_b(void) {
    CHECK_EXPR("States.Format('Your name is {}, we are in the year {}', "
               "$.name, 2020)",
               "{\"name\": \"Foo\", \"zebra\": \"stripe\"}",
               "\"Your name is Foo, we are in the year 2020\"");
    CHECK_EXPR("States.Format('Welcome to {} {}\\'s playlist.', $.firstName, "
               "$.lastName)",
               "{\"firstName\": \"John\", \"lastName\": \"Doe\"}",
               "\"Welcome to John Doe's playlist.\"");
    CHECK_EXPR("States.Format('\\{\\} {} \\\\', true)", "{}",
               "\"{} true \\\\\"");
    CHECK_EXPR("States.StringToJson($.someString)",
               "{\"someString\": \"{\\\"number\\\": 20}\", \"zebra\": \"s\"}",
               "{\"number\": 20}");
    CHECK_EXPR("States.JsonToString($.someJson)",
               "{\"someJson\": {\"name\": \"Foo\", \"year\": 2020}}",
               "\"{\\\"name\\\":\\\"Foo\\\",\\\"year\\\":2020}\"");
    CHECK_EXPR("States.Array('Foo', 2020, $.someJson, null)",
               "{\"someJson\": {\"random\": \"abcdefg\"}, \"zebra\": \"s\"}",
               "[\"Foo\", 2020, {\"random\": \"abcdefg\"}, null]");
    CHECK_EXPR("States.ArrayPartition($.inputArray,4)",
               "{\"inputArray\": [1,2,3,4,5,6,7,8,9]}",
               "[[1,2,3,4], [5,6,7,8], [9]]");
    CHECK_EXPR("States.ArrayContains($.inputArray, $.lookingFor)",
               "{\"inputArray\": [1,2,3,4,5,6,7,8,9], \"lookingFor\": 5}",
               "true");
    CHECK_EXPR("States.ArrayContains($.a, $.o)",
               "{\"a\": [{\"k\": 1}], \"o\": {\"k\": 2}}", "false");
    CHECK_EXPR("States.ArrayRange(1, 9, 2)", "{}", "[1, 3, 5, 7, 9]");
    CHECK_EXPR("States.ArrayGetItem($.inputArray, $.index)",
               "{\"inputArray\": [1,2,3,4,5,6,7,8,9], \"index\": 5}", "6");
    CHECK_EXPR("States.ArrayLength($.inputArray)",
               "{\"inputArray\": [1,2,3,4,5,6,7,8,9]}", "9");
    CHECK_EXPR("States.ArrayUnique($.inputArray)",
               "{\"inputArray\": [1,2,3,3,3,3,3,3,4]}", "[1, 2, 3, 4]");
    CHECK_EXPR("States.Base64Encode($.input)",
               "{\"input\": \"Data to encode\"}", "\"RGF0YSB0byBlbmNvZGU=\"");
    CHECK_EXPR("States.Base64Decode($.base64)",
               "{\"base64\": \"RGF0YSB0byBlbmNvZGU=\"}", "\"Data to encode\"");
    CHECK_EXPR("States.Hash($.Data, $.Algorithm)",
               "{\"Data\": \"input data\", \"Algorithm\": \"SHA-1\"}",
               "\"aaff4a450a104cd177d28d18d74485e8cae074b7\"");
    CHECK_EXPR("States.Hash('input data', 'MD5')", "{}",
               "\"812f45842bc6d66ee14572ce20db8e86\"");
    CHECK_EXPR(
        "States.Hash('input data', 'SHA-256')", "{}",
        "\"b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3\"");
    CHECK_EXPR(
        "States.Hash('input data', 'SHA-384')", "{}",
        "\"d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c75651"
        "1b87525bdc835ebb27e1fb9e9374a15562\"");
    CHECK_EXPR(
        "States.Hash('input data', 'SHA-512')", "{}",
        "\"6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4"
        "ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aa"
        "c4\"");
    CHECK_EXPR("States.JsonMerge($.json1, $.json2, false)",
               "{\"json1\": {\"a\": {\"a1\": 1, \"a2\": 2}, \"b\": 2},"
               " \"json2\": {\"a\": {\"a3\": 1, \"a4\": 2}, \"c\": 3}}",
               "{\"a\": {\"a3\": 1, \"a4\": 2}, \"b\": 2, \"c\": 3}");
    /* the spec defines deep mode too: "true to do a deep merge" */
    CHECK_EXPR("States.JsonMerge($.json1, $.json2, true)",
               "{\"json1\": {\"a\": {\"a1\": 1, \"a2\": 2}, \"b\": 2},"
               " \"json2\": {\"a\": {\"a3\": 1, \"a4\": 2}, \"c\": 3}}",
               "{\"a\": {\"a1\": 1, \"a2\": 2, \"a3\": 1, \"a4\": 2}, \"b\": 2,"
               " \"c\": 3}");
    CHECK_EXPR("States.MathAdd($.value1, $.step)",
               "{\"value1\": 111, \"step\": -1}", "110");
    CHECK_EXPR("States.StringSplit($.inputString, $.splitter)",
               "{\"inputString\": \"1,2,3,4,5\", \"splitter\": \",\"}",
               "[\"1\", \"2\", \"3\", \"4\", \"5\"]");
}

static void test_intrinsics_random(void) {
    baton_asl_fault_t f;
    json_t *in = J("{\"start\": 1, \"end\": 999}");
    json_t *r1, *r2, *r3, *u1, *u2, *u3;
    memset(&f, 0, sizeof(f));
    /* "a random number between the specified start and end number" */
    r1 = eval_expr("States.MathRandom($.start, $.end)", in, 11, &f);
    r2 = eval_expr("States.MathRandom($.start, $.end)", in, 11, &f);
    CHECK(json_is_integer(r1) && json_integer_value(r1) >= 1 &&
              json_integer_value(r1) < 999,
          "in range");
    /* determinism: the same ctx seed gives the same value */
    CHECK(json_equal(r1, r2), "same seed, same value");
    /* "Each use of this function with the same seed value will produce the
     * same result" */
    r2 = eval_expr("States.MathRandom(1, 1000000, 42)", in, 1, &f);
    r3 = eval_expr("States.MathRandom(1, 1000000, 42)", in, 2, &f);
    CHECK(r2 && json_equal(r2, r3), "seed argument");
    /* UUID: version 4, deterministic for a seed, different for another */
    u1 = eval_expr("States.UUID()", in, 11, &f);
    u2 = eval_expr("States.UUID()", in, 11, &f);
    u3 = eval_expr("States.UUID()", in, 12, &f);
    CHECK(u1 && json_equal(u1, u2) && !json_equal(u1, u3), "UUID determinism");
    if (json_is_string(u1)) {
        const char *u = json_string_value(u1);
        CHECK(strlen(u) == 36 && u[8] == '-' && u[13] == '-' && u[14] == '4' &&
                  u[18] == '-' && strchr("89ab", u[19]) && u[23] == '-',
              "v4 format: %s", u);
    }
}

static void test_intrinsics_errors(void) {
    const char *in = "{\"arr\": [1, 2], \"s\": \"x\"}";
    /* input validation of Appendix B: States.IntrinsicFailure */
    CHECK_EXPR_FAILS("States.ArrayPartition($.arr, 0)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.ArrayPartition($.s, 1)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.ArrayRange(1, 9, 0)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.ArrayRange(1, 1001, 1)", in,
                     "States.IntrinsicFailure"); /* 1000 ok, 1001 not */
    CHECK_EXPR_FAILS("States.ArrayRange(1, 2.5, 1)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.ArrayGetItem($.arr, 2)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.MathAdd(1.5, 1)", in, "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.MathRandom(1.5, 9)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.StringToJson($.arr)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.Format('{}', $.arr)", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR_FAILS("States.Hash($.s, 'SHA-3')", in,
                     "States.IntrinsicFailure");
    CHECK_EXPR("States.ArrayLength(States.ArrayRange(1, 1000, 1))", "{}",
               "1000");
    {
        /* "a data string of up to 10,000 characters" */
        static char big[10100];
        char in2[10200];
        memset(big, 'a', 10001);
        big[10001] = '\0';
        snprintf(in2, sizeof(in2), "{\"s\": \"%s\"}", big);
        CHECK_EXPR_FAILS("States.Base64Encode($.s)", in2,
                         "States.IntrinsicFailure");
        CHECK_EXPR_FAILS("States.Hash($.s, 'MD5')", in2,
                         "States.IntrinsicFailure");
        big[10000] = '\0';
        snprintf(in2, sizeof(in2), "{\"s\": \"%s\"}", big);
        CHECK_EXPR("States.ArrayLength(States.Array(States.Hash($.s, 'MD5')))",
                   in2, "1");
    }
}

/* ---- errors: Retry, Catch -------------------------------------------- */

static void test_retry_rules(void) {
    const baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"X\", \"States\": {\"X\": {\"Type\": \"Task\","
        " \"Resource\": \"baton:activity:x\", \"Retry\": ["
        " {\"ErrorEquals\": [\"States.Timeout\"], \"IntervalSeconds\": 3,"
        "  \"MaxAttempts\": 2, \"BackoffRate\": 2.0},"
        " {\"ErrorEquals\": [\"Capped\"], \"IntervalSeconds\": 3,"
        "  \"MaxAttempts\": 2, \"BackoffRate\": 2.0, \"MaxDelaySeconds\": 4},"
        " {\"ErrorEquals\": [\"Never\"], \"MaxAttempts\": 0},"
        " {\"ErrorEquals\": [\"States.ALL\"]}], \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_next_t n;
    char err[256];
    static const struct {
        const char *error;
        int attempt;
        int kind;
        int64_t delay;
    } c[] = {
        /* "2 retry attempts after waits of 3 and 6 seconds" */
        {"States.Timeout", 1, BATON_ASL_NEXT_RETRY, 3000},
        {"States.Timeout", 2, BATON_ASL_NEXT_RETRY, 6000},
        {"States.Timeout", 3, BATON_ASL_NEXT_FAIL, 0},
        /* "with a maximum limit of 4 seconds ... after 4 seconds" */
        {"Capped", 2, BATON_ASL_NEXT_RETRY, 4000},
        /* MaxAttempts 0: never retried (States.ALL after it is not used) */
        {"Never", 1, BATON_ASL_NEXT_FAIL, 0},
        /* defaults: IntervalSeconds 1, MaxAttempts 3, BackoffRate 2.0 */
        {"Other", 1, BATON_ASL_NEXT_RETRY, 1000},
        {"Other", 3, BATON_ASL_NEXT_RETRY, 4000},
        {"Other", 4, BATON_ASL_NEXT_FAIL, 0},
        /* States.ALL "matches any Error Name" */
        {"States.Runtime", 1, BATON_ASL_NEXT_RETRY, 1000},
    };
    size_t i;
    if (!def) return;
    for (i = 0; i < BATON_ARRAY_SIZE(c); i++) {
        CHECK(baton_asl_task_fail(def, "X", J("{}"), c[i].error, "",
                                  c[i].attempt, 0, &ctx, &n, err,
                                  sizeof(err)) == BATON_OK,
              "%s", err);
        CHECK((int)n.kind == c[i].kind && n.delay_ms == c[i].delay,
              "%s attempt %d: kind %d delay %lld", c[i].error, c[i].attempt,
              n.kind, (long long)n.delay_ms);
        baton_asl_next_clear(&n);
    }
}

static void test_complex_retry_scenario(void) {
    /* spec, "Complex retry scenarios": ErrorA, ErrorB, ErrorC, ErrorB ->
     * waits of 1, 2 and 5 seconds, then the Catch to Z */
    const baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"X\", \"States\": {\"X\": {\"Type\": \"Task\","
        " \"Resource\": \"baton:activity:x\", \"Next\": \"Y\", \"Retry\": ["
        " {\"ErrorEquals\": [\"ErrorA\", \"ErrorB\"], \"IntervalSeconds\": 1,"
        "  \"BackoffRate\": 2, \"MaxAttempts\": 2},"
        " {\"ErrorEquals\": [\"ErrorC\"], \"IntervalSeconds\": 5}],"
        " \"Catch\": [{\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"Z\"}]},"
        " \"Y\": {\"Type\": \"Succeed\"}, \"Z\": {\"Type\": \"Succeed\"}}}");
    static const char *const errors[] = {"ErrorA", "ErrorB", "ErrorC",
                                         "ErrorB"};
    static const int64_t delays[] = {1000, 2000, 5000};
    baton_asl_ctx_t ctx = ctx_make(1);
    int32_t counts[2] = {0, 0};
    baton_asl_next_t n;
    char err[256];
    size_t i;
    if (!def) return;
    for (i = 0; i < 4; i++) {
        CHECK(baton_asl_task_fail_per_retrier(def, "X", J("{}"), errors[i], "",
                                              counts, 2, 0, &ctx, &n, err,
                                              sizeof(err)) == BATON_OK,
              "%s", err);
        if (i < 3) {
            CHECK(n.kind == BATON_ASL_NEXT_RETRY && n.delay_ms == delays[i],
                  "%s: kind %d delay %lld", errors[i], n.kind,
                  (long long)n.delay_ms);
            if (n.retrier >= 0) counts[n.retrier]++;
        } else {
            CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
            CHECK_STR(n.next_state, "Z");
            CHECK_JSON(n.output, "{\"Error\": \"ErrorB\", \"Cause\": \"\"}");
        }
        baton_asl_next_clear(&n);
    }
}

static void test_catch_rules(void) {
    /* spec, "JSONPath Catchers" */
    const baton_asl_def_t *def =
        LOAD("{\"StartAt\": \"T\", \"States\": {\"T\": {\"Type\": \"Task\","
             " \"Resource\": \"baton:activity:x\", \"Catch\": ["
             " {\"ErrorEquals\": [\"java.lang.Exception\"], \"ResultPath\":"
             "  \"$.error-info\", \"Next\": \"RecoveryState\"},"
             " {\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"EndMachine\"}],"
             " \"End\": true},"
             "\"RecoveryState\": {\"Type\": \"Succeed\"},"
             "\"EndMachine\": {\"Type\": \"Succeed\"}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_next_t n;
    char err[256];
    json_t *in = J("{\"k\": 1}");
    if (!def) return;
    CHECK(baton_asl_task_fail(def, "T", in, "java.lang.Exception", "npe", 1, 0,
                              &ctx, &n, err, sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK_STR(n.next_state, "RecoveryState");
    CHECK_JSON(n.output, "{\"k\": 1, \"error-info\": {\"Error\":"
                         " \"java.lang.Exception\", \"Cause\": \"npe\"}}");
    baton_asl_next_clear(&n);
    CHECK(baton_asl_task_fail(def, "T", in, "States.TaskFailed", "boom", 1, 0,
                              &ctx, &n, err, sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK_STR(n.next_state, "EndMachine");
    CHECK_JSON(n.output,
               "{\"Error\": \"States.TaskFailed\", \"Cause\": \"boom\"}");
    baton_asl_next_clear(&n);
    /* a catcher whose ResultPath cannot apply: ResultPathMatchFailure */
    CHECK(baton_asl_task_fail(def, "T", J("\"foo\""), "java.lang.Exception", "",
                              1, 0, &ctx, &n, err, sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_FAIL, "kind %d", n.kind);
    CHECK_STR(n.error, "States.ResultPathMatchFailure");
    baton_asl_next_clear(&n);
    /* a runtime error in a Task's own data flow goes to its Catch */
    CHECK_OUTPUT("{\"StartAt\": \"T\", \"States\": {\"T\": {\"Type\": \"Task\","
                 " \"Resource\": \"baton:activity:x\", \"InputPath\": \"$.no\","
                 " \"Catch\": [{\"ErrorEquals\": [\"States.ALL\"],"
                 " \"ResultPath\": null, \"Next\": \"R\"}], \"End\": true},"
                 " \"R\": {\"Type\": \"Succeed\"}}}",
                 "{\"k\": 2}", "{\"k\": 2}");
}

/* ---- validation ------------------------------------------------------ */

static void test_validation(void) {
    static const struct {
        const char *state, *want;
    } c[] = {
        {"{\"Type\": \"Sleep\", \"End\": true}",
         "state 'S': unknown Type 'Sleep'"},
        {"{\"Type\": \"Pass\", \"Colour\": 1, \"End\": true}",
         "state 'S': unknown field 'Colour'"},
        {"{\"Type\": \"Pass\"}", "state 'S': missing Next or End"},
        {"{\"Type\": \"Pass\", \"Next\": \"Nope\"}",
         "state 'S': Next 'Nope' is not a state"},
        {"{\"Type\": \"Pass\", \"InputPath\": \"$..a\", \"End\": true}",
         "state 'S': bad path '$..a' in InputPath"},
        {"{\"Type\": \"Pass\", \"ResultPath\": \"$$.a\", \"End\": true}",
         "state 'S': bad path '$$.a' in ResultPath"},
        {"{\"Type\": \"Pass\", \"ResultPath\": \"$.a[*]\", \"End\": true}",
         "state 'S': bad path '$.a[*]' in ResultPath"},
        {"{\"Type\": \"Pass\", \"Parameters\": {\"a.$\": \"States.Nope()\"},"
         " \"End\": true}",
         "state 'S': bad intrinsic function in Parameters field 'a.$'"},
        {"{\"Type\": \"Pass\", \"Parameters\": {\"a.$\":"
         " \"States.Format('{} {}', 1)\"}, \"End\": true}",
         "States.Format has 2 '{}' placeholders but 1 value"},
        {"{\"Type\": \"Pass\", \"Parameters\": {\"a.$\":"
         " \"States.JsonToString('x')\"}, \"End\": true}",
         "States.JsonToString takes a Path"},
        {"{\"Type\": \"Pass\", \"Parameters\": {\"a.$\":"
         " \"States.Format('\\\\x')\"}, \"End\": true}",
         "open escape"},
        {"{\"Type\": \"Pass\", \"Parameters\": {\"a\": 1, \"a.$\": \"$\"},"
         " \"End\": true}",
         "Parameters has both 'a' and 'a.$'"},
        {"{\"Type\": \"Pass\", \"ResultSelector\": {}, \"End\": true}",
         "state 'S': field 'ResultSelector' is not allowed in a Pass state"},
        {"{\"Type\": \"Task\", \"Resource\": \"baton:activity:x\", \"Retry\":"
         " [{\"ErrorEquals\": [\"States.ALL\", \"X\"]}], \"End\": true}",
         "Retry[0]: States.ALL must be alone in ErrorEquals"},
        {"{\"Type\": \"Task\", \"Resource\": \"baton:activity:x\", \"Retry\":"
         " [{\"ErrorEquals\": [\"States.ALL\"]}, {\"ErrorEquals\": [\"X\"]}],"
         " \"End\": true}",
         "Retry[0]: States.ALL must be in the last retrier"},
        {"{\"Type\": \"Task\", \"Resource\": \"baton:activity:x\", \"Catch\":"
         " [{\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"S\"},"
         " {\"ErrorEquals\": [\"X\"], \"Next\": \"S\"}], \"End\": true}",
         "Catch[0]: States.ALL must be in the last catcher"},
        {"{\"Type\": \"Task\", \"Resource\": \"baton:activity:x\", \"Retry\":"
         " [{\"ErrorEquals\": [\"X\"], \"BackoffRate\": 0.5}], \"End\": true}",
         "BackoffRate must be a number >= 1.0"},
        {"{\"Type\": \"Task\", \"Resource\": \"baton:activity:x\", \"Retry\":"
         " [{\"ErrorEquals\": []}], \"End\": true}",
         "Retry[0]: ErrorEquals must be a non-empty array"},
        {"{\"Type\": \"Task\", \"Resource\": \"baton:activity:x\","
         " \"TimeoutSeconds\": 10, \"HeartbeatSeconds\": 10, \"End\": true}",
         "HeartbeatSeconds must be smaller than TimeoutSeconds"},
        {"{\"Type\": \"Task\", \"Resource\": \"baton:activity:x\","
         " \"TimeoutSeconds\": 0, \"End\": true}",
         "TimeoutSeconds must be a positive integer"},
        {"{\"Type\": \"Task\", \"Resource\": \"arn:aws:lambda:x\", \"End\": true}",
         "unknown Resource 'arn:aws:lambda:x'"},
        {"{\"Type\": \"Choice\", \"Choices\": []}",
         "Choices must be a non-empty array of rules"},
        {"{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
         " \"IsNull\": true, \"Next\": \"S\"}], \"End\": true}",
         "field 'End' is not allowed in a Choice state"},
        {"{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
         " \"Next\": \"S\"}]}",
         "Choices[0]: no comparison operator"},
        {"{\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.a\","
         " \"StringMatches\": \"a\\\\b\", \"Next\": \"S\"}]}",
         "open escape in StringMatches"},
        {"{\"Type\": \"Choice\", \"Choices\": [{\"Not\": {\"Variable\": \"$.a\","
         " \"IsNull\": true, \"Next\": \"S\"}, \"Next\": \"S\"}]}",
         "Next is only allowed in a top-level rule"},
        {"{\"Type\": \"Wait\", \"Seconds\": 1, \"Timestamp\":"
         " \"2016-03-14T01:59:00Z\", \"End\": true}",
         "exactly one of Seconds, Timestamp, SecondsPath or TimestampPath"},
        {"{\"Type\": \"Wait\", \"Timestamp\": \"2016-03-14t01:59:00z\","
         " \"End\": true}",
         "Timestamp must be an RFC 3339 timestamp"},
        {"{\"Type\": \"Fail\", \"Error\": \"E\", \"ErrorPath\": \"$.e\"}",
         "cannot have both Error and ErrorPath"},
        {"{\"Type\": \"Succeed\", \"Next\": \"S\"}",
         "field 'Next' is not allowed in a Succeed state"},
    };
    char text[2048];
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(c); i++) {
        snprintf(text, sizeof(text),
                 "{\"StartAt\": \"S\", \"States\": {\"S\": %s}}", c[i].state);
        refuse(__LINE__ * 100 + (int)i, text, c[i].want);
    }
    REFUSE("{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Succeed\"},"
           " \"B\": {\"Type\": \"Succeed\"}}}",
           "test: state 'B' is unreachable from StartAt");
    REFUSE("{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Succeed\"}},"
           " \"Extra\": 1}",
           "test: unknown field 'Extra'");
    REFUSE(
        "{\"StartAt\": \"Nope\", \"States\": {\"A\": {\"Type\": \"Succeed\"}}}",
        "test: StartAt 'Nope' is not a state");
    REFUSE("{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Succeed\"},"
           " \"A\": {\"Type\": \"Succeed\"}}}",
           "test: not valid JSON");
    REFUSE("{\"StartAt\": \"A\", \"QueryLanguage\": \"JSONata\", \"States\":"
           " {\"A\": {\"Type\": \"Succeed\"}}}",
           "QueryLanguage must be \"JSONPath\"");
}

int main(void) {
    RUN(test_pass_state);
    RUN(test_task_state);
    RUN(test_choice_state);
    RUN(test_choice_operators);
    RUN(test_wait_state);
    RUN(test_succeed_fail_states);
    RUN(test_parallel_and_map_states);
    RUN(test_payload_template);
    RUN(test_input_output_processing);
    RUN(test_intrinsics_appendix_b);
    RUN(test_intrinsics_random);
    RUN(test_intrinsics_errors);
    RUN(test_retry_rules);
    RUN(test_complex_retry_scenario);
    RUN(test_catch_rules);
    RUN(test_validation);
    return harness_report();
}
