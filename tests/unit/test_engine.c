/*
 * test_engine.c -- the failure model and child runs of the engine, driven
 * through the loop without Kafka or Redis (loop_env.h): activity timeouts
 * and heartbeats, Retry with per-retrier counts, retry-after hints and
 * non-retryable errors, cancellation and termination, execution and
 * signal-wait time-outs, child workflows, Parallel and Map.
 */
#include <stdlib.h>
#include <string.h>

#include "loop_env.h"

#define Q(...) #__VA_ARGS__

static const char *DEF_HB = Q({
    "StartAt" : "Work",
    "States" : {
        "Work" : {
            "Type" : "Task",
            "Resource" : "baton:activity:default/long",
            "TimeoutSeconds" : 60,
            "HeartbeatSeconds" : 5,
            "Retry" : [ {
                "ErrorEquals" : ["States.HeartbeatTimeout"],
                "IntervalSeconds" : 1,
                "MaxAttempts" : 1
            } ],
            "Catch" : [ {
                "ErrorEquals" : ["States.ALL"],
                "ResultPath" : "$.error",
                "Next" : "Fallback"
            } ],
            "End" : true
        },
        "Fallback" : {"Type" : "Pass", "End" : true}
    }
});

static const char *DEF_RETRIERS = Q({
    "StartAt" : "Call",
    "States" : {
        "Call" : {
            "Type" : "Task",
            "Resource" : "baton:activity:llm/chat",
            "Retry" : [
                {
                    "ErrorEquals" : ["A"],
                    "IntervalSeconds" : 1,
                    "MaxAttempts" : 1
                },
                {
                    "ErrorEquals" : ["B"],
                    "IntervalSeconds" : 1,
                    "MaxAttempts" : 1
                },
                {
                    "ErrorEquals" : ["RateLimited"],
                    "IntervalSeconds" : 1,
                    "MaxAttempts" : 5
                }
            ],
            "Catch" : [ {
                "ErrorEquals" : ["States.ALL"],
                "ResultPath" : "$.error",
                "Next" : "Caught"
            } ],
            "End" : true
        },
        "Caught" : {"Type" : "Pass", "End" : true}
    }
});

static const char *DEF_TIMEOUT = Q({
    "StartAt" : "Work",
    "TimeoutSeconds" : 30,
    "States" : {
        "Work" : {
            "Type" : "Task",
            "Resource" : "baton:activity:default/long",
            "End" : true
        }
    }
});

static const char *DEF_APPROVAL = Q({
    "StartAt" : "Approve",
    "States" : {
        "Approve" : {
            "Type" : "Task",
            "Resource" : "baton:signal:approve",
            "TimeoutSeconds" : 10,
            "ResultPath" : "$.approval",
            "Catch" : [ {
                "ErrorEquals" : ["States.Timeout"],
                "ResultPath" : "$.error",
                "Next" : "TimedOut"
            } ],
            "End" : true
        },
        "TimedOut" : {
            "Type" : "Pass",
            "Result" : "timed out",
            "ResultPath" : "$.outcome",
            "End" : true
        }
    }
});

static const char *DEF_PARENT = Q({
    "StartAt" : "Call",
    "States" : {
        "Call" : {
            "Type" : "Task",
            "Resource" : "baton:workflow:kid",
            "ResultPath" : "$.kid",
            "End" : true
        }
    }
});

static const char *DEF_KID = Q({
    "StartAt" : "Double",
    "States" : {
        "Double" : {
            "Type" : "Pass",
            "Parameters" : {"got.$" : "$.n", "kid" : true},
            "End" : true
        }
    }
});

static const char *DEF_PAR = Q({
    "StartAt" : "Fan",
    "States" : {
        "Fan" : {
            "Type" : "Parallel",
            "Branches" : [
                {
                    "StartAt" : "One",
                    "States" :
                        {"One" : {"Type" : "Pass", "Result" : 1, "End" : true}}
                },
                {
                    "StartAt" : "Two",
                    "States" : {
                        "Two" : {
                            "Type" : "Task",
                            "Resource" : "baton:activity:default/two",
                            "End" : true
                        }
                    }
                }
            ],
            "ResultPath" : "$.fan",
            "Catch" : [ {
                "ErrorEquals" : ["States.ALL"],
                "ResultPath" : "$.error",
                "Next" : "Failed"
            } ],
            "End" : true
        },
        "Failed" : {"Type" : "Pass", "End" : true}
    }
});

static const char *DEF_MAP = Q({
    "StartAt" : "Each",
    "States" : {
        "Each" : {
            "Type" : "Map",
            "ItemsPath" : "$.items",
            "MaxConcurrency" : 2,
            "ToleratedFailureCount" : 1,
            "ItemProcessor" : {
                "StartAt" : "Work",
                "States" : {
                    "Work" : {
                        "Type" : "Task",
                        "Resource" : "baton:activity:default/item",
                        "End" : true
                    }
                }
            },
            "ResultPath" : "$.results",
            "End" : true
        }
    }
});

static const char *DEF_SCHED = Q({
    "StartAt" : "Work",
    "States" : {
        "Work" : {
            "Type" : "Task",
            "Resource" :
                "baton:activity:gpu/render?scheduleToStartSeconds=2&scheduleToCloseSeconds=10",
            "Retry" : [ {
                "ErrorEquals" : ["States.Timeout"],
                "IntervalSeconds" : 1,
                "MaxAttempts" : 5
            } ],
            "Catch" : [ {
                "ErrorEquals" : ["States.ALL"],
                "ResultPath" : "$.error",
                "Next" : "Late"
            } ],
            "End" : true
        },
        "Late" : {"Type" : "Pass", "End" : true}
    }
});

/* A Fail state without Cause, and one with. */
static const char *DEF_FAILS = Q({
    "StartAt" : "Which",
    "States" : {
        "Which" : {
            "Type" : "Choice",
            "Choices" : [ {
                "Variable" : "$.with",
                "BooleanEquals" : true,
                "Next" : "WithCause"
            } ],
            "Default" : "NoCause"
        },
        "NoCause" : {"Type" : "Fail", "Error" : "Order.Rejected"},
        "WithCause" : {
            "Type" : "Fail",
            "Error" : "Order.Rejected",
            "Cause" : "out of stock"
        }
    }
});

/* A Map whose iterations each run a Parallel: branch paths nest. */
static const char *DEF_NESTED = Q({
    "StartAt" : "Each",
    "States" : {
        "Each" : {
            "Type" : "Map",
            "ItemsPath" : "$.items",
            "ItemProcessor" : {
                "StartAt" : "Both",
                "States" : {
                    "Both" : {
                        "Type" : "Parallel",
                        "Branches" : [
                            {
                                "StartAt" : "Same",
                                "States" :
                                    {"Same" : {"Type" : "Pass", "End" : true}}
                            },
                            {
                                "StartAt" : "Tag",
                                "States" : {
                                    "Tag" : {
                                        "Type" : "Pass",
                                        "Result" : "tag",
                                        "End" : true
                                    }
                                }
                            }
                        ],
                        "End" : true
                    }
                }
            },
            "End" : true
        }
    }
});

/* A 2 s budget over all attempts, a 1 s start-to-close and a 2 s pause
 * between attempts: the budget ends during the first pause. */
static const char *DEF_BUDGET = Q({
    "StartAt" : "Work",
    "States" : {
        "Work" : {
            "Type" : "Task",
            "Resource" : "baton:activity:default/work?scheduleToCloseSeconds=2",
            "TimeoutSeconds" : 1,
            "Retry" : [
                {
                    "ErrorEquals" : ["Capped"],
                    "MaxDelaySeconds" : 5,
                    "MaxAttempts" : 3
                },
                {
                    "ErrorEquals" : ["States.ALL"],
                    "IntervalSeconds" : 2,
                    "MaxAttempts" : 3
                }
            ],
            "Catch" : [ {
                "ErrorEquals" : ["States.ALL"],
                "ResultPath" : "$.error",
                "Next" : "Late"
            } ],
            "End" : true
        },
        "Late" : {"Type" : "Pass", "End" : true}
    }
});

static const char *DEF_NAP = Q({
    "StartAt" : "Nap",
    "States" : {
        "Nap" : {"Type" : "Wait", "Seconds" : 5, "Next" : "After"},
        "After" : {"Type" : "Pass", "Result" : "done", "End" : true}
    }
});

static const char *DEF_NAP_END = Q({
    "StartAt" : "Nap",
    "States" : {"Nap" : {"Type" : "Wait", "Seconds" : 5, "End" : true}}
});

static void init(env_t *e) {
    env_def_t defs[] = {{"hb", DEF_HB},
                        {"retriers", DEF_RETRIERS},
                        {"timeout", DEF_TIMEOUT},
                        {"approval", DEF_APPROVAL},
                        {"parent", DEF_PARENT},
                        {"kid", DEF_KID},
                        {"par", DEF_PAR},
                        {"map", DEF_MAP},
                        {"nested", DEF_NESTED},
                        {"sched", DEF_SCHED},
                        {"budget", DEF_BUDGET},
                        {"fails", DEF_FAILS},
                        {"nap", DEF_NAP},
                        {"napend", DEF_NAP_END},
                        {NULL, NULL}};
    env_init(e, defs);
}

static void fail_with(env_t *e, const char *task_id, const char *wf,
                      const char *error, int64_t retry_after, int fatal) {
    baton_result_t r = {0};
    r.task_id = (char *)task_id;
    r.workflow_id = (char *)wf;
    r.kind = BATON_RESULT_FAILED;
    r.error = (char *)error;
    r.retry_after_ms = retry_after;
    r.non_retryable = fatal;
    env_result(e, &r);
}

/* Whether the run's output has .error.Error == error. */
static int caught(env_t *e, const char *id, const char *error) {
    const baton_snapshot_t *s = env_snap(e, id);
    json_t *err;
    if (!s || s->status != BATON_WF_SUCCEEDED || !s->output) return 0;
    err = json_object_get(json_object_get(s->output, "error"), "Error");
    return err && !strcmp(json_string_value(err), error);
}

static void test_heartbeat_timeout_retries_then_catches(void) {
    env_t e;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "hb-1", "hb", NULL, "{}");
    env_run(&e, 1);
    CHECK(e.tasks == 1, "first attempt scheduled");
    /* Heartbeats keep the attempt alive past HeartbeatSeconds. */
    for (int i = 0; i < 3; i++) {
        env_advance(&e, 4000);
        env_simple_result(&e, "hb-1/1/1", "hb-1", BATON_RESULT_HEARTBEAT,
                          "{\"progress\":1}");
        env_run(&e, 1);
        CHECK(e.cancels == 0 && e.tasks == 0,
              "a beating attempt is not timed out (%d)", i);
    }
    CHECK(json_is_object(env_snap(&e, "hb-1")->pend_hb_details),
          "heartbeat details are kept");
    env_advance(&e, 6000); /* no beat for 6 s > 5 s */
    env_run(&e, 1);
    CHECK(e.cancels == 1 && !strcmp(e.last_cancel, "hb-1/1/1"),
          "the timed-out attempt is cancelled at the workers (%s)",
          e.last_cancel);
    CHECK(env_snap(&e, "hb-1")->pend == BATON_PEND_RETRY,
          "States.HeartbeatTimeout goes to Retry");
    env_advance(&e, 1500);
    env_run(&e, 1);
    CHECK(e.tasks == 1 && !strcmp(e.last_task, "hb-1/1/2"),
          "attempt 2 scheduled (%s)", e.last_task);
    /* The late result of attempt 1 is stale. */
    env_simple_result(&e, "hb-1/1/1", "hb-1", BATON_RESULT_COMPLETED, "1");
    env_run(&e, 1);
    CHECK(env_snap(&e, "hb-1")->stale == 1 &&
              env_snap(&e, "hb-1")->status == BATON_WF_RUNNING,
          "late result of a timed-out attempt is ignored");
    /* Attempt 2 beats every 4 s (heartbeat never due): only its 60 s
     * start-to-close can end it, and that raises States.Timeout. */
    for (int i = 0; i < 14; i++) {
        env_advance(&e, 4000);
        env_simple_result(&e, "hb-1/1/2", "hb-1", BATON_RESULT_HEARTBEAT,
                          "{\"progress\":2}");
        env_run(&e, 1);
    }
    CHECK(env_snap(&e, "hb-1")->status == BATON_WF_RUNNING &&
              env_snap(&e, "hb-1")->pend == BATON_PEND_TASK,
          "a beating attempt 2 runs on for 56 s");
    env_advance(&e, 4500); /* 60.5 s since scheduling, 4.5 s since a beat */
    env_run(&e, 1);
    CHECK(caught(&e, "hb-1", "States.Timeout") &&
              !caught(&e, "hb-1", "States.HeartbeatTimeout"),
          "start-to-close raises exactly States.Timeout; Catch takes it");
    env_free(&e);
}

/* The write that applies a result also removes the task from the outbox:
 * a batond killed before the delivery report's removal is written must
 * not have its successor re-send a task whose result is in. */
static void test_result_removes_task_from_outbox(void) {
    env_t e;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "ob-1", "retriers", NULL, "{}");
    env_run(&e, 1);
    env_simple_result(&e, "ob-1/1/1", "ob-1", BATON_RESULT_COMPLETED, "1");
    env_run(&e, 1);
    CHECK(!strcmp(e.last_outbox_del, "Tob-1/1/1"),
          "the task's outbox entry goes with its result (%s)",
          e.last_outbox_del);
    env_free(&e);
}

static void test_per_retrier_counts(void) {
    env_t e;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "rt-1", "retriers", NULL, "{}");
    env_run(&e, 1);
    fail_with(&e, "rt-1/1/1", "rt-1", "A", 0, 0);
    env_run(&e, 1);
    env_advance(&e, 2000);
    env_run(&e, 1);
    CHECK(!strcmp(e.last_task, "rt-1/1/2"), "A retried (%s)", e.last_task);
    /* B has its own count: retried although this is attempt 2. */
    fail_with(&e, "rt-1/1/2", "rt-1", "B", 0, 0);
    env_run(&e, 1);
    CHECK(env_snap(&e, "rt-1")->pend == BATON_PEND_RETRY,
          "B's retrier still has its attempt");
    env_advance(&e, 2000);
    env_run(&e, 1);
    fail_with(&e, "rt-1/1/3", "rt-1", "A", 0, 0);
    env_run(&e, 1);
    CHECK(caught(&e, "rt-1", "A"), "A's retrier is used up: caught");
    env_free(&e);
}

static void test_retry_after_and_non_retryable(void) {
    env_t e;
    int64_t due;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "ra-1", "retriers", NULL, "{}");
    env_cmd(&e, BATON_CMD_START, "nr-1", "retriers", NULL, "{}");
    env_run(&e, 1);
    fail_with(&e, "ra-1/1/1", "ra-1", "RateLimited", 30000, 0);
    fail_with(&e, "nr-1/1/1", "nr-1", "RateLimited", 0, 1);
    env_run(&e, 1);
    due = env_snap(&e, "ra-1")->pend_due_ms;
    CHECK(env_snap(&e, "ra-1")->pend == BATON_PEND_RETRY &&
              due >= env_now(&e) + 29000,
          "a retry-after hint longer than the backoff wins (%lld)",
          (long long)(due - env_now(&e)));
    CHECK(caught(&e, "nr-1", "RateLimited"),
          "a non-retryable error skips Retry and is caught");
    env_advance(&e, 5000);
    env_run(&e, 1);
    CHECK(e.tasks == 0, "no retry before the hint");
    env_advance(&e, 26000);
    env_run(&e, 1);
    CHECK(e.tasks == 1, "retried after the hint");
    env_free(&e);
}

static void test_cancel_and_terminate(void) {
    env_t e;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "c-1", "hb", NULL, "{}");
    env_cmd(&e, BATON_CMD_START, "t-1", "hb", NULL, "{}");
    env_run(&e, 1);
    env_cmd(&e, BATON_CMD_CANCEL, "c-1", NULL, NULL, NULL);
    env_run(&e, 1);
    CHECK(e.cancels == 1 && env_snap(&e, "c-1")->status == BATON_WF_CANCELLED,
          "cancel closes the run and tells the workers");
    CHECK(!strcmp(e.last_cancel, "c-1/1/1"), "cancel names the attempt (%s)",
          e.last_cancel);
    env_cmd(&e, BATON_CMD_TERMINATE, "t-1", NULL, NULL, NULL);
    env_run(&e, 1);
    CHECK(e.cancels == 0 && e.closes == 1,
          "terminate closes without telling workers");
    /* Their timers, if still armed in memory, change nothing. */
    env_advance(&e, 120000);
    env_run(&e, 1);
    CHECK(e.events == 0 && e.tasks == 0 && e.cancels == 0,
          "no timer of a closed run acts");
    env_free(&e);
}

/* batond.events.publish: the events topic gets all, the lifecycle ones or
 * none; the Redis history keeps every event whatever it says. */
static void test_events_publish(void) {
    static const struct {
        baton_engine_events_t which;
        int started, completed; /* events of the START batch, the result's */
    } cases[] = {{BATON_EVENTS_ALL, 2, 2},
                 {BATON_EVENTS_LIFECYCLE, 1, 2},
                 {BATON_EVENTS_NONE, 0, 0}};
    baton_engine_events_t parsed;
    char err[256];
    for (size_t i = 0; i < BATON_ARRAY_SIZE(cases); i++) {
        env_t e;
        init(&e);
        baton_engine_set_events(e.engine, cases[i].which);
        env_cmd(&e, BATON_CMD_START, "ev-1", "hb", NULL, "{}");
        env_run(&e, 1);
        CHECK(e.events == cases[i].started,
              "case %zu: START publishes %d events (%d)", i, cases[i].started,
              e.events);
        CHECK(env_hist_count(&e, "ActivityScheduled") == 1,
              "case %zu: the history keeps ActivityScheduled", i);
        env_simple_result(&e, e.last_task, "ev-1", BATON_RESULT_COMPLETED,
                          "{}");
        env_run(&e, 1);
        CHECK(e.events == cases[i].completed,
              "case %zu: the result publishes %d events (%d)", i,
              cases[i].completed, e.events);
        CHECK(env_snap(&e, "ev-1")->status == BATON_WF_SUCCEEDED,
              "case %zu: the run completes", i);
        env_free(&e);
    }
    CHECK(!baton_engine_events_parse("lifecycle", &parsed, err, sizeof err) &&
              parsed == BATON_EVENTS_LIFECYCLE,
          "parse lifecycle");
    CHECK(baton_engine_events_parse("some", &parsed, err, sizeof err) ==
                  BATON_ERR_INVALID &&
              strstr(err, "batond.events.publish: 'some'"),
          "a wrong value is refused with the key and value (%s)", err);
}

static void test_execution_and_signal_timeouts(void) {
    env_t e;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "x-1", "timeout", NULL, "{}");
    env_cmd(&e, BATON_CMD_START, "ap-1", "approval", NULL, "{}");
    env_cmd(&e, BATON_CMD_START, "ap-2", "approval", NULL, "{}");
    env_run(&e, 1);
    env_cmd(&e, BATON_CMD_SIGNAL, "ap-2", NULL, "approve", "{\"ok\":true}");
    env_run(&e, 1);
    CHECK(env_snap(&e, "ap-2")->status == BATON_WF_SUCCEEDED,
          "a signal in time completes the gate");
    env_advance(&e, 9000);
    env_run(&e, 1);
    CHECK(env_snap(&e, "ap-1")->status == BATON_WF_RUNNING,
          "the gate is not timed out early");
    env_advance(&e, 2000);
    env_run(&e, 1);
    CHECK(caught(&e, "ap-1", "States.Timeout"),
          "the signal wait times out into Catch");
    env_advance(&e, 20000);
    env_run(&e, 1);
    CHECK(env_snap(&e, "x-1")->status == BATON_WF_FAILED &&
              !strcmp(env_snap(&e, "x-1")->error, "States.Timeout"),
          "the run's TimeoutSeconds fails it with States.Timeout");
    CHECK(e.cancels == 1, "and its pending activity is cancelled");
    env_free(&e);
}

static void test_child_workflow(void) {
    env_t e;
    const baton_snapshot_t *s;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "p-1", "parent", NULL, "{\"n\":7}");
    env_run(&e, 1);
    CHECK(env_pump(&e, 5) == 2, "one START of the child, one report");
    s = env_snap(&e, "p-1");
    CHECK(s && s->status == BATON_WF_SUCCEEDED, "the parent completes");
    CHECK(s && json_integer_value(json_object_get(
                   json_object_get(s->output, "kid"), "got")) == 7,
          "with the child's output at its ResultPath");
    CHECK(env_snap(&e, "p-1:1") &&
              !strcmp(env_snap(&e, "p-1:1")->parent_id, "p-1"),
          "the child knows its parent");
    env_free(&e);
}

static void test_parallel(void) {
    env_t e;
    const baton_snapshot_t *s;
    json_t *want;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "par-1", "par", NULL, "{}");
    env_cmd(&e, BATON_CMD_START, "par-2", "par", NULL, "{}");
    env_run(&e, 1);
    env_pump(&e, 5);
    CHECK(env_snap(&e, "par-1")->pend == BATON_PEND_FANOUT,
          "the parent waits for the branch with an activity");
    env_simple_result(&e, "par-1:1:1/1/1", "par-1:1:1", BATON_RESULT_COMPLETED,
                      "2");
    env_simple_result(&e, "par-2:1:1/1/1", "par-2:1:1", BATON_RESULT_FAILED,
                      NULL);
    env_run(&e, 1);
    env_pump(&e, 5);
    s = env_snap(&e, "par-1");
    want = json_pack("[ii]", 1, 2);
    CHECK(s->status == BATON_WF_SUCCEEDED &&
              json_equal(json_object_get(s->output, "fan"), want),
          "branch outputs in branch order");
    json_decref(want);
    CHECK(caught(&e, "par-2", "Boom"), "a failing branch fails the state");
    env_free(&e);
}

/* Every output kept for the next batch sent twice, as an at-least-once
 * producer may: a child's START and its report to the parent each arrive
 * a second time, and must change nothing. */
static void dup_outputs(env_t *e) {
    int n = e->nout;
    for (int i = 0; i < n && e->nout < ENV_MAX_OUT; i++) {
        env_msg_t *m = &e->out[e->nout++];
        *m = e->out[i];
        m->value = baton_malloc(m->len ? m->len : 1);
        memcpy(m->value, e->out[i].value, m->len);
    }
}

static void test_map_concurrency_and_tolerance(void) {
    env_t e;
    const baton_snapshot_t *s;
    char tid[64], wf[32];
    int running = 0, max_running = 0, done = 0;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "m-1", "map", NULL,
            "{\"items\":[10,20,30,40,50]}");
    env_run(&e, 1);
    /* Complete items as they are scheduled; item 2 fails (tolerated). */
    for (int round = 0; round < 20 && done < 5; round++) {
        dup_outputs(&e); /* each child run still counts once */
        env_pump(&e, 1);
        /* Running items from what was sent: tasks produced so far minus
         * results answered (not the snapshot's own counters). */
        running = e.tasks_total - done;
        if (running > max_running) max_running = running;
        for (int i = 0; i < 5; i++) {
            const baton_snapshot_t *c;
            snprintf(wf, sizeof wf, "m-1:1:%d", i);
            c = env_snap(&e, wf);
            if (!c || c->pend != BATON_PEND_TASK) continue;
            snprintf(tid, sizeof tid, "%s/1/1", wf);
            env_simple_result(&e, tid, wf,
                              i == 2 ? BATON_RESULT_FAILED
                                     : BATON_RESULT_COMPLETED,
                              "\"ok\"");
            done++;
        }
        env_run(&e, 1);
    }
    env_pump(&e, 5);
    s = env_snap(&e, "m-1");
    CHECK(max_running == 2, "MaxConcurrency 2 holds (%d)", max_running);
    CHECK(s->status == BATON_WF_SUCCEEDED, "one failure is tolerated");
    CHECK(json_array_size(json_object_get(s->output, "results")) == 5 &&
              json_is_object(
                  json_array_get(json_object_get(s->output, "results"), 2)),
          "the failed item's slot holds its error");
    env_free(&e);
}

/* A Fail state without Cause has no cause: null in the history (as the
 * run's error reads it), NULL in the snapshot (describe's null), never
 * ""; a Cause given is kept. */
static void test_fail_without_cause(void) {
    env_t e;
    const baton_snapshot_t *s;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "f-1", "fails", NULL, "{\"with\":false}");
    env_cmd(&e, BATON_CMD_START, "f-2", "fails", NULL, "{\"with\":true}");
    env_run(&e, 1);
    s = env_snap(&e, "f-1");
    CHECK(s && s->status == BATON_WF_FAILED && s->error &&
              !strcmp(s->error, "Order.Rejected") && s->cause == NULL,
          "no Cause: the run's cause is NULL (%s)",
          s && s->cause ? s->cause : "(null)");
    CHECK(env_hist_count(&e, "\"error\":\"Order.Rejected\",\"cause\":null") ==
              1,
          "WorkflowFailed says cause null");
    CHECK(env_hist_count(&e, "\"cause\":\"\"") == 0, "never an empty cause");
    s = env_snap(&e, "f-2");
    CHECK(s && s->cause && !strcmp(s->cause, "out of stock"),
          "a Cause given is kept");
    env_free(&e);
}

static void test_schedule_to_start_and_close(void) {
    env_t e;
    char err[256];
    baton_asl_def_t *def = NULL;
    init(&e);
    CHECK(
        baton_asl_def_parse("bad",
                            "{\"StartAt\":\"A\",\"States\":{\"A\":{"
                            "\"Type\":\"Task\",\"Resource\":"
                            "\"baton:activity:q/t?retries=3\",\"End\":true}}}",
                            &def, err, sizeof err) == BATON_ERR_INVALID &&
            strstr(err, "retries"),
        "an unknown Resource query key is refused, named (%s)", err);
    env_cmd(&e, BATON_CMD_START, "s-1", "sched", NULL, "{}");
    env_run(&e, 1);
    CHECK(!strcmp(e.last_task, "s-1/1/1"), "scheduled on its queue");
    env_advance(&e, 2500); /* nobody picked it up within 2 s */
    env_run(&e, 1);
    CHECK(e.cancels == 1 && env_snap(&e, "s-1")->pend == BATON_PEND_RETRY,
          "schedule-to-start raises States.Timeout into Retry");
    env_advance(&e, 1500);
    env_run(&e, 1);
    CHECK(!strcmp(e.last_task, "s-1/1/2"), "attempt 2 (%s)", e.last_task);
    env_simple_result(&e, "s-1/1/2", "s-1", BATON_RESULT_HEARTBEAT, NULL);
    env_run(&e, 1);
    env_advance(&e, 3000); /* started: schedule-to-start is over */
    env_run(&e, 1);
    CHECK(env_snap(&e, "s-1")->pend == BATON_PEND_TASK,
          "a started attempt is not timed out by schedule-to-start");
    env_advance(&e, 3500); /* 10.5 s after the first scheduling */
    env_run(&e, 1);
    CHECK(caught(&e, "s-1", "States.Timeout"),
          "schedule-to-close is final: not retried, caught");
    env_free(&e);
}

/* Issue 11: a schedule-to-close budget that runs out while a retry waits
 * fails the step then; the next attempt is never sent. */
static void test_budget_ends_during_retry_pause(void) {
    env_t e;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "bp-1", "budget", NULL, "{}");
    env_run(&e, 1);
    CHECK(!strcmp(e.last_task, "bp-1/1/1"), "attempt 1 sent (%s)", e.last_task);
    env_advance(&e, 1100); /* start-to-close (1 s): retry in 2 s, at 3.1 s */
    env_run(&e, 1);
    CHECK(env_snap(&e, "bp-1")->pend == BATON_PEND_RETRY,
          "the timed-out attempt waits for its retry");
    env_advance(&e, 1000); /* 2.1 s: the 2 s budget is over */
    env_run(&e, 1);
    CHECK(caught(&e, "bp-1", "States.Timeout"),
          "the budget fails the step during the pause, caught as "
          "States.Timeout");
    env_advance(&e, 5000);
    env_run(&e, 1);
    CHECK(e.tasks == 0 && !strcmp(e.last_task, "bp-1/1/1"),
          "no attempt after the budget (last task %s, %d sent)", e.last_task,
          e.tasks);
    env_free(&e);
}

/* Issue 11: a worker's retry hint is capped by MaxDelaySeconds, and one near
 * INT64_MAX neither overflows the clock (UBSan aborts this test if it
 * does) nor parks the run beyond the engine's one-year cap. */
static void test_retry_hint_is_capped(void) {
    env_t e;
    int64_t delay;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "hc-1", "budget", NULL, "{}");
    env_cmd(&e, BATON_CMD_START, "hc-2", "retriers", NULL, "{}");
    env_run(&e, 1);
    fail_with(&e, "hc-1/1/1", "hc-1", "Capped", INT64_MAX, 0);
    fail_with(&e, "hc-2/1/1", "hc-2", "RateLimited", INT64_MAX - 1, 0);
    env_run(&e, 1);
    delay = env_snap(&e, "hc-1")->pend_due_ms - env_now(&e);
    CHECK(env_snap(&e, "hc-1")->pend == BATON_PEND_RETRY && delay > 4900 &&
              delay <= 5000,
          "a hint beyond MaxDelaySeconds waits MaxDelaySeconds (%lld ms)",
          (long long)delay);
    delay = env_snap(&e, "hc-2")->pend_due_ms - env_now(&e);
    CHECK(env_snap(&e, "hc-2")->pend == BATON_PEND_RETRY && delay > 0 &&
              delay <= 366LL * 86400 * 1000,
          "a hint near INT64_MAX is capped at one year (%lld ms)",
          (long long)delay);
    env_free(&e);
}

static void test_nested_fanout(void) {
    env_t e;
    const baton_snapshot_t *s;
    json_t *want;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "n-1", "nested", NULL, "{\"items\":[1,2]}");
    env_run(&e, 1);
    env_pump(&e, 10);
    s = env_snap(&e, "n-1");
    want = json_pack("[[i,s],[i,s]]", 1, "tag", 2, "tag");
    CHECK(s && s->status == BATON_WF_SUCCEEDED && json_equal(s->output, want),
          "Map of Parallel: [[item, tag], ...]");
    json_decref(want);
    CHECK(env_snap(&e, "n-1:1:0:1:1") &&
              env_snap(&e, "n-1:1:0:1:1")->status == BATON_WF_SUCCEEDED,
          "grandchild runs ran");
    env_free(&e);
}

/* Out of memory at every allocation of a Map run through its children,
 * a heartbeat timeout and a cancel: errors come back, nothing crashes or
 * leaks (LSan in the ASan build). */
static void test_out_of_memory_sweep(void) {
    int reached_the_end = 0;
    for (long n = 0; n < 3000 && !reached_the_end; n++) {
        env_t e;
        char err[512];
        baton_err_t rc;
        init(&e);
        e.oom_after = n;
        env_cmd(&e, BATON_CMD_START, "o-1", "map", NULL, "{\"items\":[1,2,3]}");
        env_cmd(&e, BATON_CMD_START, "o-2", "hb", NULL, "{}");
        env_cmd(&e, BATON_CMD_START, "o-3", "par", NULL, "{}");
        rc = env_try_run(&e, 1, err, sizeof err);
        for (int round = 0; !rc && round < 4 && e.nout; round++) {
            env_refeed(&e);
            rc = env_try_run(&e, 1, err, sizeof err);
        }
        if (!rc) {
            env_cmd(&e, BATON_CMD_CANCEL, "o-3", NULL, NULL, NULL);
            e.skew_ms += 6000;
            baton_loop_due_timers(e.loop, env_now(&e));
            rc = env_try_run(&e, 1, err, sizeof err);
        }
        if (!rc) reached_the_end = 1;
        env_free(&e);
    }
    CHECK(reached_the_end, "the sweep reaches a run without failure");
}

/* A run inside a Wait state is at that state (issue 15 item 6: it used to
 * show the state after it), and goes on to the next one when the timer
 * fires. */
static void test_wait_position(void) {
    env_t e;
    const baton_snapshot_t *s;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "nap-1", "nap", NULL, "{}");
    env_cmd(&e, BATON_CMD_START, "nap-2", "napend", NULL, "{}");
    env_run(&e, 1);
    s = env_snap(&e, "nap-1");
    CHECK(s && s->pend == BATON_PEND_WAIT && s->pos && !strcmp(s->pos, "Nap"),
          "a waiting run's position is its Wait state");
    CHECK(s && s->pend_then && !strcmp(s->pend_then, "After"),
          "the state after the Wait is kept apart");
    s = env_snap(&e, "nap-2");
    CHECK(s && s->pos && !strcmp(s->pos, "Nap") && s->pend_then &&
              !s->pend_then[0],
          "a Wait that ends the run is its position too");
    env_advance(&e, 4000);
    env_run(&e, 1);
    CHECK(env_snap(&e, "nap-1")->status == BATON_WF_RUNNING,
          "the Wait does not end early");
    env_advance(&e, 2000);
    env_run(&e, 1);
    s = env_snap(&e, "nap-1");
    CHECK(s->status == BATON_WF_SUCCEEDED && json_is_string(s->output) &&
              !strcmp(json_string_value(s->output), "done"),
          "the timer takes the run to the state after the Wait");
    CHECK(env_snap(&e, "nap-2")->status == BATON_WF_SUCCEEDED,
          "a Wait with End ends the run when it fires");
    env_free(&e);
}

int main(void) {
    baton_log_configure("error", NULL);
    test_heartbeat_timeout_retries_then_catches();
    test_per_retrier_counts();
    test_result_removes_task_from_outbox();
    test_retry_after_and_non_retryable();
    test_cancel_and_terminate();
    test_events_publish();
    test_execution_and_signal_timeouts();
    test_wait_position();
    test_child_workflow();
    test_parallel();
    test_map_concurrency_and_tolerance();
    test_nested_fanout();
    test_schedule_to_start_and_close();
    test_fail_without_cause();
    test_budget_ends_during_retry_pause();
    test_retry_hint_is_capped();
    test_out_of_memory_sweep();
    printf("%d passed, %d failed\n", env_passed, env_failed);
    return env_failed ? 1 : 0;
}
