/*
 * test_asl_ext.c -- unit tests of the ASL interpreter's contract with the
 * engine for issue 3: Parallel and Map (FANOUT stop, baton_asl_fanout_item,
 * baton_asl_def_sub, results and errors through task_complete/task_fail),
 * child workflows (baton:workflow:), signal waits with TimeoutSeconds and
 * the append extension (baton:append).  The Parallel and Map expectations
 * are the spec's own examples (states-language.net, "Parallel State",
 * "Map State"), worked by hand; the rest follows asl.h and
 * docs/workflows.md.  Standalone program, "N passed, N failed".
 */
#include "test_asl_harness.h"

/* Pools a stop's and a next's owned strings are released by the callers. */

static const baton_asl_def_t *sub_of(const baton_asl_def_t *def,
                                     const char *path) {
    const baton_asl_def_t *d = baton_asl_def_sub(def, path);
    CHECK(d != NULL, "no sub-definition at '%s'", path);
    return d;
}

/* fanout_item: checks the sub-path and returns the input (pooled). */
static json_t *item(int line, const baton_asl_def_t *def, const char *state,
                    json_t *state_input, int64_t i, const char *want_path) {
    baton_asl_ctx_t ctx = ctx_make(3);
    char err[256] = "", *path = NULL;
    json_t *in = NULL;
    if (baton_asl_fanout_item(def, state, state_input, i, &ctx, &path, &in, err,
                              sizeof(err)) != BATON_OK) {
        fail_at(line, "fanout_item %lld: %s", (long long)i, err);
        return NULL;
    }
    check_str(line, path, want_path);
    baton_free(path);
    return keep(in);
}
#define ITEM(def, st, in, i, path) \
    item(__LINE__, (def), (st), (in), (i), (path))

/* ---- Parallel -------------------------------------------------------- */

static const char fun_with_math[] =
    "{\"StartAt\": \"FunWithMath\", \"States\": {"
    "\"FunWithMath\": {\"Type\": \"Parallel\", \"Branches\": ["
    " {\"StartAt\": \"Add\", \"States\": {\"Add\": {\"Type\": \"Task\","
    "   \"Resource\": \"baton:activity:math/add\", \"End\": true}}},"
    " {\"StartAt\": \"Subtract\", \"States\": {\"Subtract\": {\"Type\":"
    "   \"Task\", \"Resource\": \"baton:activity:math/sub\", \"End\": true}}}"
    "], \"Next\": \"NextState\"},"
    "\"NextState\": {\"Type\": \"Succeed\"}}}";

static void test_parallel_spec_example(void) {
    /* spec: given [3, 2] both branches receive [3, 2]; Add gives 5,
     * Subtract 1; the Parallel's output is [5, 1] */
    const baton_asl_def_t *def = LOAD(fun_with_math), *b0, *b1;
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    char err[256];
    json_t *in = J("[3, 2]");
    if (!def) return;
    CHECK(run(def, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FANOUT, "kind %d", s.kind);
    CHECK_STR(s.state, "FunWithMath");
    CHECK(s.is_map == 0 && s.n_items == 2 && s.max_concurrency == 0,
          "is_map %d n_items %lld", s.is_map, (long long)s.n_items);
    CHECK_JSON(s.state_input, "[3, 2]");
    baton_asl_stop_clear(&s);
    CHECK_JSON(ITEM(def, "FunWithMath", in, 0, "FunWithMath/0"), "[3, 2]");
    CHECK_JSON(ITEM(def, "FunWithMath", in, 1, "FunWithMath/1"), "[3, 2]");
    b0 = sub_of(def, "FunWithMath/0");
    b1 = sub_of(def, "FunWithMath/1");
    if (!b0 || !b1) return;
    CHECK_STR(baton_asl_def_start_at(b1), "Subtract");
    CHECK_STR(baton_asl_def_path(b1), "FunWithMath/1");
    CHECK(baton_asl_def_top(b1) == def, "top of a branch");
    /* the branch is a full definition */
    CHECK(run(b0, NULL, in, &ctx, &s) == BATON_OK, "run branch");
    CHECK(s.kind == BATON_ASL_STOP_TASK, "kind %d", s.kind);
    CHECK_STR(s.activity_type, "add");
    CHECK_JSON(s.task_input, "[3, 2]");
    baton_asl_stop_clear(&s);
    CHECK(baton_asl_task_complete(b0, "Add", in, J("5"), &ctx, &n, err,
                                  sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_END, "kind %d", n.kind);
    CHECK_JSON(n.output, "5");
    baton_asl_next_clear(&n);
    /* the engine hands the array of outputs back */
    CHECK(baton_asl_task_complete(def, "FunWithMath", in, J("[5, 1]"), &ctx, &n,
                                  err, sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
    CHECK_STR(n.next_state, "NextState");
    CHECK_JSON(n.output, "[5, 1]");
    baton_asl_next_clear(&n);
}

static void test_parallel_dataflow(void) {
    const baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Parallel\","
        " \"InputPath\": \"$.a\","
        " \"Parameters\": {\"v.$\": \"$.x\", \"id.$\": \"$$.Execution.Id\"},"
        " \"ResultSelector\": {\"first.$\": \"$[0]\", \"all.$\": \"$\"},"
        " \"ResultPath\": \"$.res\", \"OutputPath\": \"$.res\","
        " \"Branches\": [{\"StartAt\": \"A\", \"States\": {\"A\":"
        "  {\"Type\": \"Pass\", \"End\": true}}},"
        "  {\"StartAt\": \"A\", \"States\": {\"A\":"
        "  {\"Type\": \"Pass\", \"Result\": 2, \"End\": true}}}],"
        " \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    char err[256];
    json_t *in = J("{\"a\": {\"x\": 1}, \"keep\": true}");
    if (!def) return;
    CHECK(run(def, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FANOUT && s.n_items == 2, "fanout");
    CHECK_JSON(s.task_input, "{\"v\": 1, \"id\": \"wf-1\"}");
    baton_asl_stop_clear(&s);
    CHECK_JSON(ITEM(def, "P", in, 1, "P/1"), "{\"v\": 1, \"id\": \"wf-1\"}");
    /* state names are scoped to their branch: both are "A" */
    CHECK(run(sub_of(def, "P/1"), NULL, J("{}"), &ctx, &s) == BATON_OK, "b1");
    CHECK(s.kind == BATON_ASL_STOP_SUCCEED, "kind %d", s.kind);
    CHECK_JSON(s.output, "2");
    baton_asl_stop_clear(&s);
    CHECK(baton_asl_task_complete(def, "P", in, J("[10, 20]"), &ctx, &n, err,
                                  sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_END, "kind %d", n.kind);
    CHECK_JSON(n.output, "{\"first\": 10, \"all\": [10, 20]}");
    baton_asl_next_clear(&n);
    /* out of range / not a fan-out state */
    {
        char *p = NULL;
        json_t *v = NULL;
        CHECK(baton_asl_fanout_item(def, "P", in, 2, &ctx, &p, &v, err,
                                    sizeof(err)) == BATON_ERR_NOTFOUND,
              "index 2 of 2 branches");
        CHECK(!p && !v, "nothing returned");
        CHECK(baton_asl_fanout_item(sub_of(def, "P/0"), "A", in, 0, &ctx, &p,
                                    &v, err, sizeof(err)) == BATON_ERR_NOTFOUND,
              "a Pass has no items");
    }
}

static void test_parallel_retry_catch(void) {
    /* a branch's failure is the Parallel's error: Retry, then Catch */
    const baton_asl_def_t *def =
        LOAD("{\"StartAt\": \"P\", \"States\": {\"P\": {\"Type\": \"Parallel\","
             " \"Branches\": [{\"StartAt\": \"F\", \"States\": {\"F\":"
             "  {\"Type\": \"Fail\", \"Error\": \"Boom\"}}}],"
             " \"Retry\": [{\"ErrorEquals\": [\"Boom\"], \"MaxAttempts\": 1,"
             "  \"IntervalSeconds\": 2}],"
             " \"Catch\": [{\"ErrorEquals\": [\"States.ALL\"], \"Next\": \"R\","
             "  \"ResultPath\": \"$.error\"}], \"End\": true},"
             "\"R\": {\"Type\": \"Pass\", \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    char err[256];
    json_t *in = J("{\"k\": 1}");
    if (!def) return;
    CHECK(run(sub_of(def, "P/0"), NULL, in, &ctx, &s) == BATON_OK, "branch");
    CHECK(s.kind == BATON_ASL_STOP_FAIL, "kind %d", s.kind);
    CHECK_STR(s.error, "Boom");
    baton_asl_stop_clear(&s);
    CHECK(baton_asl_task_fail(def, "P", in, "Boom", "c", 1, 0, &ctx, &n, err,
                              sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_RETRY && n.delay_ms == 2000,
          "kind %d delay %lld", n.kind, (long long)n.delay_ms);
    baton_asl_next_clear(&n);
    CHECK(baton_asl_task_fail(def, "P", in, "Boom", "c", 2, 0, &ctx, &n, err,
                              sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
    CHECK_STR(n.next_state, "R");
    CHECK_JSON(n.output, "{\"k\": 1, \"error\": {\"Error\": \"Boom\","
                         " \"Cause\": \"c\"}}");
    baton_asl_next_clear(&n);
}

/* ---- Map ------------------------------------------------------------- */

static const char shipped_input[] =
    "{\"ship-date\": \"2016-03-14T01:59:00Z\", \"detail\": {"
    " \"delivery-partner\": \"UQS\", \"shipped\": ["
    "  {\"prod\": \"R31\", \"dest-code\": 9511, \"quantity\": 1344},"
    "  {\"prod\": \"S39\", \"dest-code\": 9511, \"quantity\": 40},"
    "  {\"prod\": \"R31\", \"dest-code\": 9833, \"quantity\": 12},"
    "  {\"prod\": \"R40\", \"dest-code\": 9860, \"quantity\": 887},"
    "  {\"prod\": \"R40\", \"dest-code\": 9511, \"quantity\": 1220}]}}";

static void test_map_spec_example(void) {
    /* spec, "JSONPath Map State" (the example's "$.Map.Item.Value" is the
     * context object, "$$.Map.Item.Value", as its own text says) */
    const baton_asl_def_t *def =
        LOAD("{\"StartAt\": \"Validate-All\", \"States\": {\"Validate-All\": {"
             " \"Type\": \"Map\", \"InputPath\": \"$.detail\","
             " \"ItemsPath\": \"$.shipped\", \"MaxConcurrency\": 0,"
             " \"ItemSelector\": {\"parcel.$\": \"$$.Map.Item.Value\","
             "  \"courier.$\": \"$.delivery-partner\"},"
             " \"ItemProcessor\": {\"StartAt\": \"Validate\", \"States\": {"
             "  \"Validate\": {\"Type\": \"Task\","
             "   \"Resource\": \"baton:activity:ship-val\", \"End\": true}}},"
             " \"ResultPath\": \"$.detail.shipped\", \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    char err[256];
    json_t *in = J(shipped_input);
    if (!def) return;
    CHECK(run(def, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FANOUT, "kind %d", s.kind);
    CHECK(s.is_map == 1 && s.n_items == 5, "is_map %d n %lld", s.is_map,
          (long long)s.n_items);
    CHECK(s.max_concurrency == 0 && s.tolerated_failure_count == -1 &&
              s.tolerated_failure_percentage == -1,
          "limits");
    baton_asl_stop_clear(&s);
    CHECK_JSON(ITEM(def, "Validate-All", in, 0, "Validate-All"),
               "{\"parcel\": {\"prod\": \"R31\", \"dest-code\": 9511,"
               " \"quantity\": 1344}, \"courier\": \"UQS\"}");
    CHECK_JSON(ITEM(def, "Validate-All", in, 4, "Validate-All"),
               "{\"parcel\": {\"prod\": \"R40\", \"dest-code\": 9511,"
               " \"quantity\": 1220}, \"courier\": \"UQS\"}");
    /* "the output being the same as the input, with the detail.shipped
     * field being overwritten by an array ... of ship-val outputs" */
    CHECK(baton_asl_task_complete(def, "Validate-All", in,
                                  J("[true, true, false, true, true]"), &ctx,
                                  &n, err, sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_END, "kind %d", n.kind);
    CHECK_JSON(n.output, "{\"ship-date\": \"2016-03-14T01:59:00Z\", "
                         "\"detail\": {\"delivery-partner\": \"UQS\", "
                         "\"shipped\": [true, true, false, true, true]}}");
    baton_asl_next_clear(&n);
    /* without ItemSelector each iteration gets the item itself */
    {
        const baton_asl_def_t *plain =
            LOAD("{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
                 " \"InputPath\": \"$.detail\", \"ItemsPath\": \"$.shipped\","
                 " \"ItemProcessor\": {\"StartAt\": \"V\", \"States\": {\"V\":"
                 "  {\"Type\": \"Pass\", \"End\": true}}}, \"End\": true}}}");
        if (plain)
            CHECK_JSON(ITEM(plain, "M", in, 1, "M"),
                       "{\"prod\": \"S39\", \"dest-code\": 9511,"
                       " \"quantity\": 40}");
    }
}

static void test_map_index_limits_legacy(void) {
    /* legacy Iterator + Parameters; $$.Map.Item.Index; limits in the stop */
    const baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
        " \"Parameters\": {\"i.$\": \"$$.Map.Item.Index\","
        "  \"v.$\": \"$$.Map.Item.Value\", \"all.$\": \"States.ArrayLength($.xs)\"},"
        " \"MaxConcurrencyPath\": \"$.conc\", \"ToleratedFailureCount\": 1,"
        " \"ToleratedFailurePercentagePath\": \"$.pct\","
        " \"ItemsPath\": \"$.xs\","
        " \"Iterator\": {\"StartAt\": \"V\", \"States\": {\"V\":"
        "  {\"Type\": \"Pass\", \"End\": true}}}, \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    json_t *in =
        J("{\"xs\": [\"a\", \"b\", \"c\"], \"conc\": 2, \"pct\": 12.5}");
    char err[256];
    if (!def) return;
    CHECK(run(def, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FANOUT && s.n_items == 3, "fanout");
    CHECK(s.max_concurrency == 2, "MaxConcurrencyPath: %d", s.max_concurrency);
    CHECK(s.tolerated_failure_count == 1, "count %lld",
          (long long)s.tolerated_failure_count);
    CHECK(s.tolerated_failure_percentage == 12.5, "pct %g",
          s.tolerated_failure_percentage);
    CHECK_JSON(s.task_input, "[\"a\", \"b\", \"c\"]");
    baton_asl_stop_clear(&s);
    CHECK_JSON(ITEM(def, "M", in, 2, "M"),
               "{\"i\": 2, \"v\": \"c\", \"all\": 3}");
    /* $$.Map exists only in the ItemSelector: the sub-run has none */
    CHECK(baton_asl_run(sub_of(def, "M"), "V", J("1"), &ctx, &s, err,
                        sizeof(err)) == BATON_OK,
          "%s", err);
    baton_asl_stop_clear(&s);
    /* MaxConcurrencyPath selecting a negative number: States.Runtime */
    CHECK(run(def, NULL, J("{\"xs\": [], \"conc\": -1, \"pct\": 1}"), &ctx,
              &s) == BATON_OK,
          "run");
    CHECK(s.kind == BATON_ASL_STOP_FAIL, "kind %d", s.kind);
    CHECK_STR(s.error, "States.Runtime");
    baton_asl_stop_clear(&s);
    /* an empty array: n_items 0 */
    CHECK(run(def, NULL, J("{\"xs\": [], \"conc\": 0, \"pct\": 0}"), &ctx,
              &s) == BATON_OK,
          "run");
    CHECK(s.kind == BATON_ASL_STOP_FANOUT && s.n_items == 0, "empty: %d %lld",
          s.kind, (long long)s.n_items);
    baton_asl_stop_clear(&s);
}

static void test_map_errors(void) {
    const baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
        " \"ItemsPath\": \"$.xs\", \"ItemSelector\": {\"v.$\": \"$$.Map.Item.Value.n\"},"
        " \"ItemProcessor\": {\"StartAt\": \"V\", \"States\": {\"V\":"
        "  {\"Type\": \"Pass\", \"End\": true}}},"
        " \"Catch\": [{\"ErrorEquals\": [\"States.ExceedToleratedFailureThreshold\"],"
        "   \"Next\": \"Tolerance\"},"
        "  {\"ErrorEquals\": [\"States.Runtime\"], \"Next\": \"NotArray\","
        "   \"ResultPath\": \"$.err\"}],"
        " \"End\": true},"
        "\"Tolerance\": {\"Type\": \"Succeed\"},"
        "\"NotArray\": {\"Type\": \"Succeed\"}}}");
    const baton_asl_def_t *bare =
        LOAD("{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
             " \"ItemProcessor\": {\"StartAt\": \"V\", \"States\": {\"V\":"
             "  {\"Type\": \"Pass\", \"End\": true}}}, \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    char err[256];
    json_t *in = J("{\"xs\": {\"not\": \"an array\"}}");
    if (!def || !bare) return;
    /* ItemsPath not an array: States.Runtime, through Catch */
    CHECK(run(def, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_SUCCEED, "kind %d", s.kind);
    CHECK_STR(s.state, "NotArray");
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(s.output, "err"), "Error")),
              "States.Runtime");
    baton_asl_stop_clear(&s);
    /* an ItemSelector path that fails for item 1: ParameterPathFailure,
     * not caught here: the run fails */
    CHECK(run(def, NULL, J("{\"xs\": [{\"n\": 1}, {\"m\": 2}]}"), &ctx, &s) ==
              BATON_OK,
          "run");
    CHECK(s.kind == BATON_ASL_STOP_FAIL, "kind %d", s.kind);
    CHECK_STR(s.error, "States.ParameterPathFailure");
    baton_asl_stop_clear(&s);
    /* no ItemsPath: the raw input must be an array */
    CHECK(run(bare, NULL, J("{\"a\": 1}"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FAIL, "kind %d", s.kind);
    CHECK_STR(s.error, "States.Runtime");
    baton_asl_stop_clear(&s);
    CHECK(run(bare, NULL, J("[1, 2]"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_FANOUT && s.n_items == 2, "raw array");
    baton_asl_stop_clear(&s);
    /* the engine's tolerance verdict goes through Catch */
    CHECK(baton_asl_task_fail(def, "M", J("{\"xs\": []}"),
                              "States.ExceedToleratedFailureThreshold",
                              "3 of 4", 1, 0, &ctx, &n, err,
                              sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
    CHECK_STR(n.next_state, "Tolerance");
    CHECK_JSON(n.output,
               "{\"Error\": \"States.ExceedToleratedFailureThreshold\","
               " \"Cause\": \"3 of 4\"}");
    baton_asl_next_clear(&n);
}

static void test_nested_subpaths(void) {
    /* a Map inside a Parallel branch, a state name with '/' and '%' */
    const baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"a/b%c\", \"States\": {\"a/b%c\": {\"Type\": \"Parallel\","
        " \"Branches\": [{\"StartAt\": \"X\", \"States\": {\"X\":"
        "  {\"Type\": \"Pass\", \"End\": true}}},"
        "  {\"StartAt\": \"Each\", \"States\": {\"Each\": {\"Type\": \"Map\","
        "   \"ItemProcessor\": {\"StartAt\": \"Leaf\", \"States\": {\"Leaf\":"
        "    {\"Type\": \"Task\", \"Resource\": \"baton:activity:leaf\","
        "     \"End\": true}}}, \"End\": true}}}],"
        " \"End\": true}}}");
    const baton_asl_def_t *b1, *leaf;
    if (!def) return;
    b1 = sub_of(def, "a%2Fb%25c/1");
    if (!b1) return;
    CHECK_STR(baton_asl_def_path(b1), "a%2Fb%25c/1");
    /* fanout_item of a nested definition gives the path from the top */
    CHECK_JSON(ITEM(b1, "Each", J("[7]"), 0, "a%2Fb%25c/1/Each"), "7");
    leaf = baton_asl_def_sub(def, "a%2Fb%25c/1/Each");
    CHECK(leaf && leaf == baton_asl_def_sub(b1, "Each"), "relative == full");
    CHECK(leaf && baton_asl_def_top(leaf) == def, "top");
    CHECK(leaf && !strcmp(baton_asl_def_start_at(leaf), "Leaf"), "leaf");
    CHECK(baton_asl_def_sub(def, "") == def &&
              baton_asl_def_sub(def, NULL) == def,
          "empty path");
    CHECK(baton_asl_def_sub(def, "a%2Fb%25c/2") == NULL, "no branch 2");
    CHECK(baton_asl_def_sub(def, "a%2Fb%25c") == NULL, "branch index needed");
    CHECK(baton_asl_def_sub(def, "a/b%c/0") == NULL, "unescaped '/'");
    CHECK(baton_asl_def_sub(def, "Nope") == NULL, "no state");
    CHECK(baton_asl_def_sub(b1, "Each/x") == NULL, "a Pass holds nothing");
}

static void test_fanout_validation(void) {
    static const struct {
        const char *def, *want;
    } cases[] = {
        {"{\"StartAt\": \"F\", \"States\": {\"F\": {\"Type\": \"Parallel\","
         " \"Branches\": [{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\":"
         " \"Pass\", \"End\": true}}}, {\"StartAt\": \"B\", \"States\": {\"B\":"
         " {\"Type\": \"Pass\", \"Next\": \"Nope\"}}}], \"End\": true}}}",
         "test: state 'F': Branches[1]: state 'B': Next 'Nope' is not a state"},
        /* a branch cannot transition out of itself */
        {"{\"StartAt\": \"F\", \"States\": {\"F\": {\"Type\": \"Parallel\","
         " \"Branches\": [{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\":"
         " \"Pass\", \"Next\": \"G\"}}}], \"Next\": \"G\"},"
         " \"G\": {\"Type\": \"Succeed\"}}}",
         "state 'F': Branches[0]: state 'A': Next 'G' is not a state"},
        {"{\"StartAt\": \"F\", \"States\": {\"F\": {\"Type\": \"Parallel\","
         " \"Branches\": [{\"StartAt\": \"A\", \"Version\": \"1\", \"States\":"
         " {\"A\": {\"Type\": \"Pass\", \"End\": true}}}], \"End\": true}}}",
         "state 'F': Branches[0]: unknown field 'Version'"},
        {"{\"StartAt\": \"F\", \"States\": {\"F\": {\"Type\": \"Parallel\","
         " \"Branches\": [{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\":"
         " \"Pass\", \"End\": true}, \"Z\": {\"Type\": \"Succeed\"}}}],"
         " \"End\": true}}}",
         "state 'F': Branches[0]: state 'Z' is unreachable from StartAt"},
        {"{\"StartAt\": \"F\", \"States\": {\"F\": {\"Type\": \"Parallel\","
         " \"Branches\": [{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\":"
         " \"Pass\", \"End\": true}}}]}}}",
         "state 'F': missing Next or End"},
        {"{\"StartAt\": \"F\", \"States\": {\"F\": {\"Type\": \"Parallel\","
         " \"Branches\": [{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\":"
         " \"Pass\", \"End\": true}}}], \"ItemsPath\": \"$\", \"End\": true}}}",
         "state 'F': field 'ItemsPath' is not allowed in a Parallel state"},
        {"{\"StartAt\": \"F\", \"States\": {\"F\": {\"Type\": \"Parallel\","
         " \"Branches\": [{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\":"
         " \"Pass\", \"End\": true}}}], \"Retry\": [{\"ErrorEquals\":"
         " [\"States.ALL\"]}, {\"ErrorEquals\": [\"X\"]}], \"End\": true}}}",
         "state 'F': Retry[0]: States.ALL must be in the last retrier"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"ItemReader\": {\"Resource\": \"arn:aws:states:::s3:getObject\"},"
         " \"ItemProcessor\": {\"StartAt\": \"V\", \"States\": {\"V\":"
         " {\"Type\": \"Pass\", \"End\": true}}}, \"End\": true}}}",
         "state 'M': ItemReader is not supported by Baton (it reads the items "
         "from S3)"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"ResultWriter\": {}, \"ItemProcessor\": {\"StartAt\": \"V\","
         " \"States\": {\"V\": {\"Type\": \"Pass\", \"End\": true}}},"
         " \"End\": true}}}",
         "state 'M': ResultWriter is not supported by Baton"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"Iterator\": {\"StartAt\": \"V\", \"States\": {\"V\": {\"Type\":"
         " \"Pass\", \"End\": true}}}, \"ItemProcessor\": {\"StartAt\": \"V\","
         " \"States\": {\"V\": {\"Type\": \"Pass\", \"End\": true}}},"
         " \"End\": true}}}",
         "state 'M': cannot have both ItemProcessor and Iterator"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"MaxConcurrency\": 2, \"MaxConcurrencyPath\": \"$.c\","
         " \"ItemProcessor\": {\"StartAt\": \"V\", \"States\": {\"V\":"
         " {\"Type\": \"Pass\", \"End\": true}}}, \"End\": true}}}",
         "state 'M': cannot have both MaxConcurrency and MaxConcurrencyPath"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"MaxConcurrency\": -1, \"ItemProcessor\": {\"StartAt\": \"V\","
         " \"States\": {\"V\": {\"Type\": \"Pass\", \"End\": true}}},"
         " \"End\": true}}}",
         "state 'M': MaxConcurrency must be a non-negative integer"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"ToleratedFailurePercentage\": 101, \"ItemProcessor\": {\"StartAt\":"
         " \"V\", \"States\": {\"V\": {\"Type\": \"Pass\", \"End\": true}}},"
         " \"End\": true}}}",
         "state 'M': ToleratedFailurePercentage must be a number between 0 "
         "and 100"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"ItemSelector\": {}, \"Parameters\": {}, \"ItemProcessor\":"
         " {\"StartAt\": \"V\", \"States\": {\"V\": {\"Type\": \"Pass\","
         " \"End\": true}}}, \"End\": true}}}",
         "state 'M': cannot have both ItemSelector and Parameters"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"ItemSelector\": {\"a.$\": \"$..x\"}, \"ItemProcessor\":"
         " {\"StartAt\": \"V\", \"States\": {\"V\": {\"Type\": \"Pass\","
         " \"End\": true}}}, \"End\": true}}}",
         "state 'M': bad path '$..x' in ItemSelector field 'a.$'"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"ItemsPath\": \"$.a[*]\", \"ItemProcessor\": {\"StartAt\": \"V\","
         " \"States\": {\"V\": {\"Type\": \"Pass\", \"End\": true}}},"
         " \"End\": true}}}",
         "state 'M': bad path '$.a[*]' in ItemsPath"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"ItemProcessor\": {\"ProcessorConfig\": {\"Mode\": \"FAST\"},"
         " \"StartAt\": \"V\", \"States\": {\"V\": {\"Type\": \"Pass\","
         " \"End\": true}}}, \"End\": true}}}",
         "state 'M': ItemProcessor: ProcessorConfig.Mode must be INLINE or "
         "DISTRIBUTED"},
        {"{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"ItemProcessor\": {\"StartAt\": \"V\", \"States\": {\"V\":"
         " {\"Type\": \"Bogus\"}}}, \"End\": true}}}",
         "state 'M': ItemProcessor: state 'V': unknown Type 'Bogus'"},
    };
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(cases); i++)
        refuse(__LINE__ * 1000 + (int)i, cases[i].def, cases[i].want);
    /* accepted: ProcessorConfig DISTRIBUTED, Label, all the *Path forms */
    LOAD("{\"StartAt\": \"M\", \"States\": {\"M\": {\"Type\": \"Map\","
         " \"Label\": \"each\", \"ToleratedFailureCountPath\": \"$.c\","
         " \"ToleratedFailurePercentage\": 50, \"ItemProcessor\": {"
         " \"ProcessorConfig\": {\"Mode\": \"DISTRIBUTED\","
         "  \"ExecutionType\": \"STANDARD\"}, \"Comment\": \"x\","
         " \"StartAt\": \"V\", \"States\": {\"V\": {\"Type\": \"Pass\","
         " \"End\": true}}}, \"End\": true}}}");
}

/* ---- child workflows, signals ---------------------------------------- */

static void test_child_workflow(void) {
    const baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"Child\", \"States\": {\"Child\": {\"Type\": \"Task\","
        " \"Resource\": \"baton:workflow:research-lite\","
        " \"Parameters\": {\"topic.$\": \"$.t\"}, \"TimeoutSeconds\": 600,"
        " \"ResultPath\": \"$.child\","
        " \"Catch\": [{\"ErrorEquals\": [\"States.Timeout\"], \"Next\": \"Late\"}],"
        " \"End\": true}, \"Late\": {\"Type\": \"Succeed\"}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    char err[256];
    json_t *in = J("{\"t\": \"otters\"}");
    if (!def) return;
    CHECK(run(def, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_CHILD, "kind %d", s.kind);
    CHECK_STR(s.child_type, "research-lite");
    CHECK_STR(s.state, "Child");
    CHECK_JSON(s.task_input, "{\"topic\": \"otters\"}");
    CHECK_JSON(s.state_input, "{\"t\": \"otters\"}");
    CHECK(s.timeout_seconds == 600, "timeout %d", s.timeout_seconds);
    baton_asl_stop_clear(&s);
    CHECK(baton_asl_task_complete(def, "Child", in, J("{\"summary\": \"ok\"}"),
                                  &ctx, &n, err, sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_END, "kind %d", n.kind);
    CHECK_JSON(n.output,
               "{\"t\": \"otters\", \"child\": {\"summary\": \"ok\"}}");
    baton_asl_next_clear(&n);
    CHECK(baton_asl_task_fail(def, "Child", in, "States.Timeout", "", 1, 0,
                              &ctx, &n, err, sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
    CHECK_STR(n.next_state, "Late");
    baton_asl_next_clear(&n);
    REFUSE("{\"StartAt\": \"C\", \"States\": {\"C\": {\"Type\": \"Task\","
           " \"Resource\": \"baton:workflow:x\", \"HeartbeatSeconds\": 5,"
           " \"End\": true}}}",
           "state 'C': a child workflow (baton:workflow:) sends no heartbeats");
    REFUSE("{\"StartAt\": \"C\", \"States\": {\"C\": {\"Type\": \"Task\","
           " \"Resource\": \"baton:workflow:\", \"End\": true}}}",
           "state 'C': unknown Resource 'baton:workflow:'");
}

static void test_signal_timeout(void) {
    /* the signal wait carries TimeoutSeconds (and TimeoutSecondsPath); the
     * engine raises States.Timeout into task_fail after it */
    const baton_asl_def_t *def = LOAD(
        "{\"StartAt\": \"Approve\", \"States\": {\"Approve\": {\"Type\": \"Task\","
        " \"Resource\": \"baton:signal:approve\", \"TimeoutSeconds\": 86400,"
        " \"ResultPath\": \"$.approval\", \"Catch\": [{\"ErrorEquals\":"
        " [\"States.Timeout\"], \"ResultPath\": \"$.timeout\","
        " \"Next\": \"Expired\"}], \"End\": true},"
        " \"Expired\": {\"Type\": \"Succeed\"}}}");
    const baton_asl_def_t *bypath = LOAD(
        "{\"StartAt\": \"W\", \"States\": {\"W\": {\"Type\": \"Task\","
        " \"Resource\": \"baton:signal:go\", \"TimeoutSecondsPath\": \"$.ttl\","
        " \"End\": true}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_next_t n;
    char err[256];
    json_t *in = J("{\"ttl\": 30}");
    if (!def || !bypath) return;
    CHECK(run(def, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_SIGNAL, "kind %d", s.kind);
    CHECK_STR(s.signal_name, "approve");
    CHECK(s.timeout_seconds == 86400, "timeout %d", s.timeout_seconds);
    baton_asl_stop_clear(&s);
    CHECK(run(bypath, NULL, in, &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_SIGNAL && s.timeout_seconds == 30,
          "TimeoutSecondsPath: %d", s.timeout_seconds);
    baton_asl_stop_clear(&s);
    CHECK(baton_asl_task_fail(def, "Approve", in, "States.Timeout", "24 h", 1,
                              0, &ctx, &n, err, sizeof(err)) == BATON_OK,
          "%s", err);
    CHECK(n.kind == BATON_ASL_NEXT_STATE, "kind %d", n.kind);
    CHECK_STR(n.next_state, "Expired");
    CHECK_JSON(n.output, "{\"ttl\": 30, \"timeout\": {\"Error\":"
                         " \"States.Timeout\", \"Cause\": \"24 h\"}}");
    baton_asl_next_clear(&n);
}

/* ---- append ---------------------------------------------------------- */

/* Runs a one-state append machine (Parameters given) on input. */
static void append_case(int line, const char *params, const char *extra,
                        const char *input, const char *want_kind_or_output) {
    char text[1024];
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    baton_asl_def_t *def = NULL;
    char err[512] = "";
    snprintf(text, sizeof(text),
             "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Task\","
             " \"Resource\": \"baton:append\", \"Parameters\": %s%s,"
             " \"End\": true}}}",
             params, extra);
    if (baton_asl_def_parse("test", text, &def, err, sizeof(err))) {
        fail_at(line, "refused: %s", err);
        return;
    }
    defs[defs_n++] = def;
    if (baton_asl_run(def, "A", J(input), &ctx, &s, err, sizeof(err))) {
        fail_at(line, "run: %s", err);
        return;
    }
    if (s.kind == BATON_ASL_STOP_FAIL)
        check_str(line, s.error, want_kind_or_output);
    else if (s.kind == BATON_ASL_STOP_SUCCEED)
        check_json(line, s.output, want_kind_or_output);
    else
        fail_at(line, "stopped with kind %d", s.kind);
    baton_asl_stop_clear(&s);
}
#define APPEND(p, x, in, want) append_case(__LINE__, (p), (x), (in), (want))

static void test_append(void) {
    APPEND("{\"Path\": \"$.messages\", \"Value.$\": \"$.reply\"}", "",
           "{\"messages\": [\"hi\"], \"reply\": \"hello\"}",
           "{\"messages\": [\"hi\", \"hello\"], \"reply\": \"hello\"}");
    /* a literal element (an object template is evaluated) */
    APPEND(
        "{\"Path\": \"$.log\", \"Value\": {\"role\": \"user\","
        " \"text.$\": \"$.q\"}}",
        "", "{\"q\": \"why?\", \"log\": []}",
        "{\"q\": \"why?\", \"log\": [{\"role\": \"user\", \"text\": \"why?\"}]}");
    /* Values.$: each element; the list is created, parents too */
    APPEND("{\"Path\": \"$.h.msgs\", \"Values.$\": \"$.new\"}", "",
           "{\"new\": [1, 2]}", "{\"new\": [1, 2], \"h\": {\"msgs\": [1, 2]}}");
    APPEND("{\"Path\": \"$.h\", \"Values.$\": \"States.Array(1, 'x')\"}", "",
           "{\"h\": [0]}", "{\"h\": [0, 1, \"x\"]}");
    /* InputPath narrows what Value.$ sees; the list is in the raw input;
     * OutputPath applies after */
    APPEND("{\"Path\": \"$.out\", \"Value.$\": \"$.x\"}",
           ", \"InputPath\": \"$.in\", \"OutputPath\": \"$.out\"",
           "{\"in\": {\"x\": 5}, \"out\": [4]}", "[4, 5]");
    /* errors: not an array, Values.$ not an array, a path that fails */
    APPEND("{\"Path\": \"$.h\", \"Value\": 1}", "", "{\"h\": {}}",
           "States.Runtime");
    APPEND("{\"Path\": \"$.h\", \"Values.$\": \"$.one\"}", "", "{\"one\": 1}",
           "States.Runtime");
    APPEND("{\"Path\": \"$.h.x\", \"Value\": 1}", "", "{\"h\": 3}",
           "States.Runtime");
    APPEND("{\"Path\": \"$.h\", \"Value.$\": \"$.missing\"}", "", "{}",
           "States.ParameterPathFailure");
}

static void test_append_in_a_loop(void) {
    /* a conversation loop: append, count, loop until 3 messages -- no
     * stop in between (appends are inline), one Succeed at the end */
    const baton_asl_def_t *def =
        LOAD("{\"StartAt\": \"Add\", \"States\": {"
             "\"Add\": {\"Type\": \"Task\", \"Resource\": \"baton:append\","
             " \"Parameters\": {\"Path\": \"$.m\", \"Value.$\":"
             "  \"States.ArrayLength($.m)\"}, \"Next\": \"Enough\"},"
             "\"Enough\": {\"Type\": \"Choice\", \"Choices\": [{\"Variable\":"
             " \"$.m[2]\", \"IsPresent\": true, \"Next\": \"Done\"}],"
             " \"Default\": \"Add\"},"
             "\"Done\": {\"Type\": \"Succeed\"}}}");
    baton_asl_ctx_t ctx = ctx_make(1);
    baton_asl_stop_t s;
    if (!def) return;
    CHECK(run(def, NULL, J("{\"m\": []}"), &ctx, &s) == BATON_OK, "run");
    CHECK(s.kind == BATON_ASL_STOP_SUCCEED, "kind %d", s.kind);
    CHECK_JSON(s.output, "{\"m\": [0, 1, 2]}");
    baton_asl_stop_clear(&s);
    /* an append Task is not a state that waits */
    {
        baton_asl_next_t n;
        char err[256];
        CHECK(baton_asl_task_complete(def, "Add", J("{}"), J("1"), &ctx, &n,
                                      err, sizeof(err)) == BATON_ERR_INVALID,
              "task_complete on an append Task");
    }
}

static void test_append_validation(void) {
    static const struct {
        const char *fields, *want;
    } cases[] = {
        {"", "state 'A': baton:append needs Parameters"},
        {", \"Parameters\": {\"Value\": 1}", "Parameters needs \"Path\""},
        {", \"Parameters\": {\"Path\": \"$.l\"}",
         "Parameters needs exactly one of"},
        {", \"Parameters\": {\"Path\": \"$.l\", \"Value\": 1, \"Values.$\":"
         " \"$.x\"}",
         "Parameters needs exactly one of"},
        {", \"Parameters\": {\"Path\": \"$.l[*]\", \"Value\": 1}",
         "baton:append: bad Path '$.l[*]'"},
        {", \"Parameters\": {\"Path\": \"$$.Execution\", \"Value\": 1}",
         "baton:append: bad Path '$$.Execution'"},
        {", \"Parameters\": {\"Path.$\": \"$.p\", \"Value\": 1}",
         "unknown Parameters field 'Path.$'"},
        {", \"Parameters\": {\"Path\": \"$.l\", \"Value\": 1},"
         " \"ResultPath\": \"$.r\"",
         "ResultPath has no meaning on a baton:append Task"},
        {", \"Parameters\": {\"Path\": \"$.l\", \"Value\": 1},"
         " \"Retry\": [{\"ErrorEquals\": [\"States.ALL\"]}]",
         "Retry has no meaning on a baton:append Task"},
    };
    char text[1024];
    size_t i;
    for (i = 0; i < BATON_ARRAY_SIZE(cases); i++) {
        snprintf(text, sizeof(text),
                 "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Task\","
                 " \"Resource\": \"baton:append\"%s, \"End\": true}}}",
                 cases[i].fields);
        refuse(__LINE__ * 1000 + (int)i, text, cases[i].want);
    }
}

int main(void) {
    RUN(test_parallel_spec_example);
    RUN(test_parallel_dataflow);
    RUN(test_parallel_retry_catch);
    RUN(test_map_spec_example);
    RUN(test_map_index_limits_legacy);
    RUN(test_map_errors);
    RUN(test_nested_subpaths);
    RUN(test_fanout_validation);
    RUN(test_child_workflow);
    RUN(test_signal_timeout);
    RUN(test_append);
    RUN(test_append_in_a_loop);
    RUN(test_append_validation);
    return harness_report();
}
