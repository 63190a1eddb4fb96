/*
 * test_engine_budget.c -- budgets of model calls (orchestrator/budget.h,
 * engine_budget.c), driven through the loop without Kafka or Redis
 * (loop_env.h): the limits from the definition and from START, the check
 * before each call (Baton.BudgetExceeded, caught, no task sent), the
 * tokens left passed as max_tokens_cap, cost from the price table, and
 * child runs (Map items) spending their root's budget.
 */
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "loop_env.h"

#define Q(...) #__VA_ARGS__

/* A tool loop: call the model while its reply says "more". */
static const char *DEF_LOOP = Q({
    "StartAt" : "Call",
    "Budget" : {"MaxCalls" : 2},
    "States" : {
        "Call" : {
            "Type" : "Task",
            "Resource" : "baton:activity:llm/llm.chat",
            "ResultPath" : "$.reply",
            "Catch" : [ {
                "ErrorEquals" : ["Baton.BudgetExceeded"],
                "ResultPath" : "$.error",
                "Next" : "Over"
            } ],
            "Next" : "More"
        },
        "More" : {
            "Type" : "Choice",
            "Choices" : [ {
                "Variable" : "$.reply.more",
                "BooleanEquals" : true,
                "Next" : "Call"
            } ],
            "Default" : "Done"
        },
        "Done" : {"Type" : "Succeed"},
        "Over" : {"Type" : "Pass", "End" : true}
    }
});

/* The same loop without a Budget of its own, and a tool that is no model
 * call. */
static const char *DEF_FREE = Q({
    "StartAt" : "Tool",
    "States" : {
        "Tool" : {
            "Type" : "Task",
            "Resource" : "baton:activity:http/http.request",
            "ResultPath" : "$.tool",
            "Next" : "Call"
        },
        "Call" : {
            "Type" : "Task",
            "Resource" : "baton:activity:llm/llm.chat",
            "ResultPath" : "$.reply",
            "Catch" : [ {
                "ErrorEquals" : ["States.ALL"],
                "ResultPath" : "$.error",
                "Next" : "Over"
            } ],
            "Next" : "More"
        },
        "More" : {
            "Type" : "Choice",
            "Choices" : [ {
                "Variable" : "$.reply.more",
                "BooleanEquals" : true,
                "Next" : "Call"
            } ],
            "Default" : "Done"
        },
        "Done" : {"Type" : "Succeed"},
        "Over" : {"Type" : "Pass", "End" : true}
    }
});

/* One model call per item, one item at a time. */
static const char *DEF_MAP = Q({
    "StartAt" : "Each",
    "Budget" : {"MaxCalls" : 1},
    "States" : {
        "Each" : {
            "Type" : "Map",
            "ItemsPath" : "$.items",
            "MaxConcurrency" : 1,
            "ItemProcessor" : {
                "StartAt" : "Ask",
                "States" : {
                    "Ask" : {
                        "Type" : "Task",
                        "Resource" : "baton:activity:llm/llm.chat",
                        "End" : true
                    }
                }
            },
            "ResultPath" : "$.answers",
            "Catch" : [ {
                "ErrorEquals" : ["States.ALL"],
                "ResultPath" : "$.error",
                "Next" : "Over"
            } ],
            "End" : true
        },
        "Over" : {"Type" : "Pass", "End" : true}
    }
});

#define REPLY_MORE                                                          \
    "{\"role\":\"assistant\",\"more\":true,\"model\":\"gpt-4o-mini-2024\"," \
    "\"usage\":{\"input_tokens\":30,\"output_tokens\":40,"                  \
    "\"cached_tokens\":10,\"reasoning_tokens\":5}}"

static void init(env_t *e) {
    env_def_t defs[] = {
        {"loop", DEF_LOOP}, {"free", DEF_FREE}, {"map", DEF_MAP}, {NULL, NULL}};
    env_init(e, defs);
}

static void start(env_t *e, const char *id, const char *type,
                  const char *budget, const char *input) {
    baton_command_t c = {0};
    c.kind = BATON_CMD_START;
    c.workflow_id = (char *)id;
    c.workflow_type = (char *)type;
    c.payload = (char *)input;
    c.budget = (char *)budget;
    env_command(e, &c);
    env_run(e, 1);
}

static int64_t used(env_t *e, const char *id, const char *field) {
    const baton_snapshot_t *s = env_snap(e, id);
    return s && s->usage
               ? (int64_t)json_integer_value(json_object_get(s->usage, field))
               : -1;
}

static const char *error_of(env_t *e, const char *id) {
    const baton_snapshot_t *s = env_snap(e, id);
    json_t *err = s && s->output ? json_object_get(s->output, "error") : NULL;
    return err ? json_string_value(json_object_get(err, "Error")) : NULL;
}

/* ---- budget.h on its own ------------------------------------------------ */

static void test_budget_functions(void) {
    json_t *a = json_pack("{sisf}", "MaxCalls", 5, "MaxCost", 1.0);
    json_t *b = json_pack("{sisi}", "MaxCalls", 3, "MaxTokens", 100);
    json_t *m = baton_budget_merge(a, b), *u = NULL, *left;
    json_t *prices = json_loads(
        "{\"gpt-4o\": {\"input_per_mtok\": 2.5, \"output_per_mtok\": 10},"
        " \"gpt-4o-mini\": {\"input_per_mtok\": 0.15, \"output_per_mtok\": 0.6,"
        " \"cached_input_per_mtok\": 0.075}, \"*\": {\"input_per_mtok\": 1}}",
        0, NULL);
    json_t *out = json_loads(REPLY_MORE, 0, NULL);
    char cause[256], err[256];
    CHECK(json_integer_value(json_object_get(m, "MaxCalls")) == 3 &&
              json_integer_value(json_object_get(m, "MaxTokens")) == 100 &&
              json_number_value(json_object_get(m, "MaxCost")) == 1.0,
          "merge takes the smaller limit per field");
    CHECK(!baton_budget_merge(NULL, NULL), "no budget merged is none");
    CHECK(baton_budget_prices_check(prices, err, sizeof err) == BATON_OK,
          "a price table: %s", err);
    CHECK(baton_budget_cost(prices, "gpt-4o-mini-2024-07-18", 1000000, 1000000,
                            0) == 0.75,
          "the longest prefix prices a dated model name");
    CHECK(baton_budget_cost(prices, "gpt-4o-2024", 1000000, 0, 0) == 2.5,
          "a shorter prefix prices another");
    CHECK(baton_budget_cost(prices, "gpt-4o-mini", 1000000, 0, 1000000) ==
              0.075,
          "cached input at its own price");
    CHECK(baton_budget_cost(prices, "llama3", 2000000, 0, 0) == 2.0,
          "\"*\" prices the rest");
    CHECK(baton_budget_cost(NULL, "llama3", 2000000, 0, 0) == 0,
          "no table: no cost");
    CHECK(!baton_budget_refuses(m, NULL, cause, sizeof cause),
          "nothing used: room");
    baton_budget_add_call(&u, out, prices);
    baton_budget_add_call(&u, out, prices);
    CHECK(json_integer_value(json_object_get(u, "calls")) == 2 &&
              json_integer_value(json_object_get(u, "input_tokens")) == 60 &&
              json_integer_value(json_object_get(u, "output_tokens")) == 80 &&
              json_integer_value(json_object_get(u, "cached_tokens")) == 20 &&
              json_integer_value(json_object_get(u, "reasoning_tokens")) == 10,
          "usage summed over calls");
    CHECK(baton_budget_refuses(m, u, cause, sizeof cause) &&
              strstr(cause, "MaxTokens is 100"),
          "140 tokens of 100 refuse: %s", cause);
    CHECK(baton_budget_tokens_left(m, u) == 0, "no tokens left");
    left = baton_budget_remaining(m, u);
    CHECK(json_integer_value(json_object_get(left, "MaxCalls")) == 1 &&
              json_integer_value(json_object_get(left, "MaxTokens")) == 0,
          "what is left for a child");
    baton_budget_add_usage(&u, u);
    CHECK(json_integer_value(json_object_get(u, "calls")) == 4,
          "a child's usage adds up");
    json_decref(prices);
    prices = json_loads("{\"m\": {\"in\": 1}}", 0, NULL);
    CHECK(baton_budget_prices_check(prices, err, sizeof err) ==
              BATON_ERR_INVALID,
          "a bad price table is refused");
    json_decref(a);
    json_decref(b);
    json_decref(m);
    json_decref(u);
    json_decref(left);
    json_decref(prices);
    json_decref(out);
}

/* ---- the engine --------------------------------------------------------- */

/* MaxCalls 2 from the definition: the third call is refused before a task
 * goes out, and a Catch on Baton.BudgetExceeded sees it. */
static void test_calls_budget_from_definition(void) {
    env_t e;
    init(&e);
    start(&e, "l-1", "loop", NULL, "{}");
    CHECK(e.tasks_total == 1, "the first call goes out");
    env_simple_result(&e, "l-1/1/1", "l-1", BATON_RESULT_COMPLETED, REPLY_MORE);
    env_run(&e, 1);
    CHECK(e.tasks_total == 2, "the second call goes out");
    env_simple_result(&e, "l-1/2/1", "l-1", BATON_RESULT_COMPLETED, REPLY_MORE);
    env_run(&e, 1);
    CHECK(e.tasks_total == 2, "no third task (%d)", e.tasks_total);
    CHECK(env_snap(&e, "l-1")->status == BATON_WF_SUCCEEDED &&
              error_of(&e, "l-1") &&
              !strcmp(error_of(&e, "l-1"), "Baton.BudgetExceeded"),
          "the Catch got Baton.BudgetExceeded");
    CHECK(used(&e, "l-1", "calls") == 2 &&
              used(&e, "l-1", "input_tokens") == 60,
          "usage in the snapshot");
    CHECK(env_hist_count(&e, "\"BudgetExceeded\"") == 1,
          "the refusal is in the history");
    env_free(&e);
}

/* A START's budget: MaxTokens 100, the next call is told the tokens left
 * (max_tokens_cap 30), the one after is refused; it is no Retry matter. */
static void test_tokens_budget_from_start(void) {
    env_t e;
    init(&e);
    start(&e, "t-1", "free", "{\"MaxTokens\":100}", "{}");
    env_simple_result(&e, "t-1/1/1", "t-1", BATON_RESULT_COMPLETED, "{}");
    env_run(&e, 1);
    CHECK(env_hist_count(&e, "\"max_tokens_cap\":100") == 1,
          "the first call may use all 100 tokens");
    CHECK(used(&e, "t-1", "calls") == -1, "a tool is no model call");
    env_simple_result(&e, "t-1/2/1", "t-1", BATON_RESULT_COMPLETED, REPLY_MORE);
    env_run(&e, 1);
    CHECK(env_hist_count(&e, "\"max_tokens_cap\":30") == 1,
          "the second gets the 30 tokens left");
    env_simple_result(&e, "t-1/3/1", "t-1", BATON_RESULT_COMPLETED, REPLY_MORE);
    env_run(&e, 1);
    CHECK(e.tasks_total == 3, "no fourth task");
    CHECK(error_of(&e, "t-1") &&
              !strcmp(error_of(&e, "t-1"), "Baton.BudgetExceeded"),
          "140 tokens of 100: refused, caught by States.ALL");
    env_free(&e);
}

/* MaxCost with the price table: 70 tokens of a model at 1e6 per million
 * tokens cost 70 of a MaxCost of 100; the next reaches 140 and the third is
 * refused. */
static void test_cost_budget(void) {
    env_t e;
    char err[256];
    init(&e);
    CHECK(baton_engine_set_budget(e.engine, "llm.chat",
                                  "{\"gpt-4o-mini\": {\"input_per_mtok\": "
                                  "1000000, \"output_per_mtok\": 1000000}}",
                                  err, sizeof err) == BATON_OK,
          "prices: %s", err);
    start(&e, "c-1", "free", "{\"MaxCost\":100}", "{}");
    env_simple_result(&e, "c-1/1/1", "c-1", BATON_RESULT_COMPLETED, "{}");
    env_run(&e, 1);
    env_simple_result(&e, "c-1/2/1", "c-1", BATON_RESULT_COMPLETED, REPLY_MORE);
    env_run(&e, 1);
    CHECK(e.tasks_total == 3, "cost 70 < 100: another call");
    env_simple_result(&e, "c-1/3/1", "c-1", BATON_RESULT_COMPLETED, REPLY_MORE);
    env_run(&e, 1);
    CHECK(e.tasks_total == 3 && error_of(&e, "c-1") &&
              !strcmp(error_of(&e, "c-1"), "Baton.BudgetExceeded"),
          "cost 140 of 100: refused");
    CHECK(json_number_value(
              json_object_get(env_snap(&e, "c-1")->usage, "cost")) == 140.0,
          "the cost in the usage");
    CHECK(baton_engine_set_budget(e.engine, NULL, "[1]", err, sizeof err) ==
              BATON_ERR_INVALID,
          "a bad price table is refused");
    env_free(&e);
}

/* Map items are child runs: the first spends the root's one call, its
 * report adds it to the root, the second starts with nothing left and is
 * refused; the Map fails and the root's Catch sees it. */
static void test_children_spend_the_root_budget(void) {
    env_t e;
    const baton_snapshot_t *s;
    init(&e);
    start(&e, "m-1", "map", NULL, "{\"items\":[1,2]}");
    env_pump(&e, 5);
    CHECK(env_snap(&e, "m-1:1:0") && env_snap(&e, "m-1:1:0")->budget,
          "the item got a budget");
    env_simple_result(&e, "m-1:1:0/1/1", "m-1:1:0", BATON_RESULT_COMPLETED,
                      REPLY_MORE);
    env_run(&e, 1);
    env_pump(&e, 8);
    s = env_snap(&e, "m-1:1:1");
    CHECK(s && s->budget &&
              json_integer_value(json_object_get(s->budget, "MaxCalls")) == 0,
          "the second item starts with no call left");
    CHECK(e.tasks_total == 1, "it sends no task (%d)", e.tasks_total);
    CHECK(used(&e, "m-1", "calls") == 1 &&
              used(&e, "m-1", "output_tokens") == 40,
          "the first item's call counts at the root");
    s = env_snap(&e, "m-1");
    CHECK(s && s->status == BATON_WF_SUCCEEDED && error_of(&e, "m-1") &&
              !strcmp(error_of(&e, "m-1"), "Baton.BudgetExceeded"),
          "the root caught the item's Baton.BudgetExceeded");
    env_free(&e);
}

/* No Budget anywhere: usage is still counted, nothing is refused. */
static void test_no_budget_counts_only(void) {
    env_t e;
    init(&e);
    start(&e, "n-1", "free", NULL, "{}");
    env_simple_result(&e, "n-1/1/1", "n-1", BATON_RESULT_COMPLETED, "{}");
    env_run(&e, 1);
    for (int i = 2; i < 6; i++) {
        char tid[32];
        snprintf(tid, sizeof tid, "n-1/%d/1", i);
        env_simple_result(&e, tid, "n-1", BATON_RESULT_COMPLETED, REPLY_MORE);
        env_run(&e, 1);
    }
    CHECK(e.tasks_total == 6 && used(&e, "n-1", "calls") == 4,
          "calls counted, none refused");
    CHECK(env_hist_count(&e, "max_tokens_cap") == 0,
          "no cap without a token budget");
    env_free(&e);
}

int main(void) {
    baton_log_configure("error", NULL);
    test_budget_functions();
    test_calls_budget_from_definition();
    test_tokens_budget_from_start();
    test_cost_budget();
    test_children_spend_the_root_budget();
    test_no_budget_counts_only();
    printf("%d passed, %d failed\n", env_passed, env_failed);
    return env_failed ? 1 : 0;
}
