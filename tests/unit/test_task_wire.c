/*
 * test_task_wire.c -- what a task looks like on the wire, as batond sends
 * it (loop_env.h: the loop and engine without Kafka or Redis):
 *
 *  - its encoding per queue (batond.tasks.json.queues): JSON with the
 *    content-type header for the listed queues, Avro for the others;
 *  - its lineage: the top-level run, the parent run and the path from the
 *    top, for a top-level run, Map items and a child workflow inside them
 *    (ids containing ':' included).
 */
#include <stdlib.h>
#include <string.h>

#include "loop_env.h"

#define Q(...) #__VA_ARGS__

static const char *DEF_PY = Q({
    "StartAt" : "Work",
    "States" : {
        "Work" : {
            "Type" : "Task",
            "Resource" : "baton:activity:py/echo",
            "Next" : "More"
        },
        "More" : {
            "Type" : "Task",
            "Resource" : "baton:activity:avro-q/x",
            "End" : true
        }
    }
});

/* Map item i runs the child workflow "leaf", whose task is on queue py. */
static const char *DEF_FAN = Q({
    "StartAt" : "Each",
    "States" : {
        "Each" : {
            "Type" : "Map",
            "ItemsPath" : "$.items",
            "ItemProcessor" : {
                "StartAt" : "Call",
                "States" : {
                    "Call" : {
                        "Type" : "Task",
                        "Resource" : "baton:workflow:leaf",
                        "End" : true
                    }
                }
            },
            "End" : true
        }
    }
});

static const char *DEF_LEAF = Q({
    "StartAt" : "Work",
    "States" : {
        "Work" : {
            "Type" : "Task",
            "Resource" : "baton:activity:py/leaf",
            "End" : true
        }
    }
});

static void init(env_t *e) {
    env_def_t defs[] = {
        {"py", DEF_PY}, {"fan", DEF_FAN}, {"leaf", DEF_LEAF}, {NULL, NULL}};
    env_init(e, defs);
}

static void test_json_queues_setting(void) {
    env_t e;
    char err[256] = "";
    init(&e);
    CHECK(baton_engine_set_json_queues(e.engine, "py, bad:q", err,
                                       sizeof err) == BATON_ERR_INVALID &&
              strstr(err, "'bad:q' is not a queue name"),
          "a list entry that is no queue name is refused, named (%s)", err);
    CHECK(baton_engine_set_json_queues(e.engine, "py, a b", err, sizeof err) ==
                  BATON_ERR_INVALID &&
              strstr(err, "'a' is followed by 'b'"),
          "two words in one entry are refused (%s)", err);
    CHECK(baton_engine_set_json_queues(e.engine, " ,, ", err, sizeof err) ==
              BATON_OK,
          "an empty list is none");
    env_free(&e);
}

static void test_encoding_per_queue(void) {
    env_t e;
    char err[256];
    init(&e);
    /* "py" but not "p" nor "py2": whole names only */
    CHECK(baton_engine_set_json_queues(e.engine, "p, py ,py2", err,
                                       sizeof err) == BATON_OK,
          "list accepted (%s)", err);
    env_cmd(&e, BATON_CMD_START, "j-1", "py", NULL, "{}");
    env_run(&e, 1);
    CHECK(e.tasks == 1 && e.last_task_json,
          "a task of a listed queue goes out as JSON");
    env_simple_result(&e, "j-1/1/1", "j-1", BATON_RESULT_COMPLETED, "1");
    env_run(&e, 1);
    CHECK(e.tasks == 1 && !strcmp(e.last_task, "j-1/2/1") && !e.last_task_json,
          "a task of another queue stays Avro (%s)", e.last_task);
    /* a JSON result is accepted as well as an Avro one */
    {
        baton_result_t r = {0};
        char *buf;
        size_t len;
        r.task_id = "j-1/2/1";
        r.workflow_id = "j-1";
        r.kind = BATON_RESULT_COMPLETED;
        r.output = "{\"ok\":true}";
        CHECK(baton_codec_encode_result(e.codec, &r, 1, &buf, &len, err,
                                        sizeof err) == BATON_OK,
              "%s", err);
        env_feed(&e, BATON_SRC_RESULTS, baton_partition_for("j-1", NPART), buf,
                 len, 1);
        /* env_feed borrows buf until the next run: keep it past it */
        env_run(&e, 1);
        baton_free(buf);
    }
    CHECK(env_snap(&e, "j-1") &&
              env_snap(&e, "j-1")->status == BATON_WF_SUCCEEDED,
          "the run completes on a JSON result");
    /* a cancel notice of a JSON queue's task is JSON too */
    env_cmd(&e, BATON_CMD_START, "j-4", "py", NULL, "{}");
    env_run(&e, 1);
    env_cmd(&e, BATON_CMD_CANCEL, "j-4", NULL, NULL, NULL);
    env_run(&e, 1);
    CHECK(e.cancels == 1 && !strcmp(e.last_cancel, "j-4/1/1") &&
              e.last_cancel_json,
          "the cancel notice of a JSON queue's task is JSON (%s)",
          e.last_cancel);
    CHECK(baton_engine_set_json_queues(e.engine, "*", err, sizeof err) ==
              BATON_OK,
          "* accepted");
    env_cmd(&e, BATON_CMD_START, "j-2", "py", NULL, "{}");
    env_run(&e, 1);
    env_simple_result(&e, "j-2/1/1", "j-2", BATON_RESULT_COMPLETED, "1");
    env_run(&e, 1);
    CHECK(!strcmp(e.last_task, "j-2/2/1") && e.last_task_json,
          "* sends every queue's tasks as JSON");
    CHECK(baton_engine_set_json_queues(e.engine, NULL, err, sizeof err) ==
              BATON_OK,
          "NULL accepted");
    env_cmd(&e, BATON_CMD_START, "j-3", "py", NULL, "{}");
    env_run(&e, 1);
    CHECK(!strcmp(e.last_task, "j-3/1/1") && !e.last_task_json,
          "none listed: Avro, the default");
    env_free(&e);
}

static void test_lineage(void) {
    env_t e;
    init(&e);
    env_cmd(&e, BATON_CMD_START, "top:a", "py", NULL, "{}");
    env_run(&e, 1);
    CHECK(!strcmp(e.last_task_lineage, "top:a|-|"),
          "a top-level run is its own root, no parent, path \"\" (%s)",
          e.last_task_lineage);
    /* Map (step 1) item 1 runs child workflow "leaf" (its step 1): the
     * leaf run is fan:x:1:1:1, its task's lineage names all three. */
    env_cmd(&e, BATON_CMD_START, "fan:x", "fan", NULL, "{\"items\":[7]}");
    env_run(&e, 1);
    env_pump(&e, 6);
    CHECK(env_snap(&e, "fan:x:1:0:1") != NULL, "the leaf run exists");
    CHECK(!strcmp(e.last_task, "fan:x:1:0:1/1/1"), "its task (%s)",
          e.last_task);
    CHECK(!strcmp(e.last_task_lineage, "fan:x|fan:x:1:0|1:0/1"),
          "root, parent and path from the top (%s)", e.last_task_lineage);
    CHECK(env_snap(&e, "fan:x:1:0") &&
              !strcmp(env_snap(&e, "fan:x:1:0")->run_path, "1:0"),
          "the item run keeps its path in its snapshot");
    env_free(&e);
}

int main(void) {
    baton_log_configure("error", NULL);
    test_json_queues_setting();
    test_encoding_per_queue();
    test_lineage();
    printf("%d passed, %d failed\n", env_passed, env_failed);
    return env_failed ? 1 : 0;
}
