/*
 * test_task_wire.c -- what a task looks like on the wire, as batond sends
 * it (loop_env.h: the loop and engine without Kafka or Redis):
 *
 *  - its encoding per queue (batond.tasks.json.queues): JSON with the
 *    content-type header for the listed queues, Avro for the others;
 *  - its lineage: the top-level run, the parent run and the path from the
 *    top, for a top-level run, Map items and a child workflow inside them
 *    (ids containing ':' included);
 *  - its schema version per queue (batond.tasks.avro.v3.queues): version-3
 *    Avro records, which a version-3 reader consumes exactly, for the
 *    listed queues' tasks of top-level and child runs alike.
 */
#include <avro.h>
#include <jansson.h>
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

extern const char *baton_schema_task;

/* Reads buf[0..len) as a worker built before task schema version 4 does:
 * avro-c with the task schema's first 13 fields (schemas/task.avsc up to
 * heartbeat_details).  Returns the bytes the record took (-1 when it does
 * not read) and its task_id in id. */
static long v3_read(const char *buf, size_t len, char *id, size_t idlen) {
    json_t *root = json_loads(baton_schema_task, 0, NULL);
    json_t *fields = json_object_get(root, "fields");
    avro_schema_t sch = NULL;
    avro_value_iface_t *cls = NULL;
    avro_value_t rec, f;
    avro_reader_t rd = NULL;
    const char *s = NULL;
    size_t slen = 0, size = 0;
    long took = -1;
    char *text;

    id[0] = '\0';
    while (json_array_size(fields) > 13)
        json_array_remove(fields, json_array_size(fields) - 1);
    text = json_dumps(root, JSON_COMPACT);
    if (text && !avro_schema_from_json_length(text, strlen(text), &sch))
        cls = avro_generic_class_from_schema(sch);
    if (cls && !avro_generic_value_new(cls, &rec)) {
        rd = avro_reader_memory(buf, (int64_t)len);
        if (!avro_value_read(rd, &rec) && !avro_value_sizeof(&rec, &size)) {
            took = (long)size;
            if (!avro_value_get_by_name(&rec, "task_id", &f, NULL) &&
                !avro_value_get_string(&f, &s, &slen))
                snprintf(id, idlen, "%s", s);
        }
        avro_reader_free(rd);
        avro_value_decref(&rec);
    }
    avro_value_iface_decref(cls);
    avro_schema_decref(sch);
    free(text);
    json_decref(root);
    return took;
}

static void test_v3_queues_setting(void) {
    env_t e;
    char err[256] = "";
    init(&e);
    CHECK(baton_engine_set_v3_queues(e.engine, "old, bad:q", err, sizeof err) ==
                  BATON_ERR_INVALID &&
              strstr(err, "batond.tasks.avro.v3.queues: 'bad:q' is not"),
          "a v3 list entry that is no queue name is refused, named (%s)", err);
    CHECK(baton_engine_set_json_queues(e.engine, "py, node", err, sizeof err) ==
              BATON_OK,
          "%s", err);
    CHECK(baton_engine_set_v3_queues(e.engine, "old, node", err, sizeof err) ==
                  BATON_ERR_INVALID &&
              strstr(err, "queue 'node' is also in batond.tasks.json.queues"),
          "a queue on both lists is refused, named (%s)", err);
    CHECK(baton_engine_set_v3_queues(e.engine, "*", err, sizeof err) ==
                  BATON_ERR_INVALID &&
              strstr(err, "'*' is also in"),
          "v3 for every queue while some are JSON is refused (%s)", err);
    CHECK(baton_engine_set_v3_queues(e.engine, "old, py2", err, sizeof err) ==
              BATON_OK,
          "disjoint lists are accepted (%s)", err);
    CHECK(baton_engine_set_json_queues(e.engine, "*", err, sizeof err) ==
              BATON_OK,
          "%s", err);
    CHECK(baton_engine_set_v3_queues(e.engine, "old", err, sizeof err) ==
              BATON_ERR_INVALID,
          "JSON for every queue and a v3 list is refused (%s)", err);
    env_free(&e);
}

static void test_v3_queues(void) {
    env_t e;
    char err[256], id[256];
    long took;
    init(&e);
    CHECK(baton_engine_set_v3_queues(e.engine, "p, py ,py2", err, sizeof err) ==
              BATON_OK,
          "list accepted (%s)", err);
    /* a top-level run's task on a listed queue: version 3 */
    env_cmd(&e, BATON_CMD_START, "v-1", "py", NULL, "{}");
    env_run(&e, 1);
    CHECK(e.tasks == 1 && !e.last_task_json && e.last_task_value,
          "one Avro task");
    took = v3_read(e.last_task_value, e.last_task_len, id, sizeof id);
    CHECK(took == (long)e.last_task_len && !strcmp(id, "v-1/1/1"),
          "a version-3 reader consumes the task exactly (%ld of %zu bytes, "
          "task %s)",
          took, e.last_task_len, id);
    CHECK(!strcmp(e.last_task_lineage, "?|-|?"),
          "Baton's decoder reads it with the lineage null (%s)",
          e.last_task_lineage);
    /* the next task is on queue avro-q, not listed: version 4 */
    env_simple_result(&e, "v-1/1/1", "v-1", BATON_RESULT_COMPLETED, "1");
    env_run(&e, 1);
    CHECK(e.tasks == 1 && !strcmp(e.last_task, "v-1/2/1") &&
              !strcmp(e.last_task_lineage, "v-1|-|"),
          "another queue's task carries the lineage (%s, %s)", e.last_task,
          e.last_task_lineage);
    took = v3_read(e.last_task_value, e.last_task_len, id, sizeof id);
    CHECK(took > 0 && took + 3 <= (long)e.last_task_len,
          "a version-3 reader leaves its lineage unread (%ld of %zu bytes)",
          took, e.last_task_len);
    /* a child run's task on a listed queue: version 3 too, the lineage
     * dropped (an old worker cannot read it) */
    env_cmd(&e, BATON_CMD_START, "fan:v", "fan", NULL, "{\"items\":[7]}");
    env_run(&e, 1);
    env_pump(&e, 6);
    CHECK(!strcmp(e.last_task, "fan:v:1:0:1/1/1"), "the leaf's task (%s)",
          e.last_task);
    took = v3_read(e.last_task_value, e.last_task_len, id, sizeof id);
    CHECK(took == (long)e.last_task_len && !strcmp(id, "fan:v:1:0:1/1/1") &&
              !strcmp(e.last_task_lineage, "?|-|?"),
          "a child run's task on the queue is version 3 as well (%ld of %zu "
          "bytes, lineage %s)",
          took, e.last_task_len, e.last_task_lineage);
    /* off again: version 4 */
    CHECK(baton_engine_set_v3_queues(e.engine, "", err, sizeof err) == BATON_OK,
          "%s", err);
    env_cmd(&e, BATON_CMD_START, "v-2", "py", NULL, "{}");
    env_run(&e, 1);
    CHECK(!strcmp(e.last_task_lineage, "v-2|-|"),
          "an empty list: version 4, the default (%s)", e.last_task_lineage);
    env_free(&e);
}

int main(void) {
    baton_log_configure("error", NULL);
    test_json_queues_setting();
    test_encoding_per_queue();
    test_lineage();
    test_v3_queues_setting();
    test_v3_queues();
    printf("%d passed, %d failed\n", env_passed, env_failed);
    return env_failed ? 1 : 0;
}
