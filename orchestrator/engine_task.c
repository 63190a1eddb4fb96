/*
 * engine_task.c -- a run's pending activity (engine_int.h): scheduling an
 * attempt, its result, heartbeats, timeouts and cancel notices.
 *
 * An attempt is a task message on baton.tasks.<queue>.  Its clocks, all
 * kept in the snapshot and enforced by one 't' timer at the nearest
 * deadline (docs/failure-model.md says what each means to users):
 *
 *   start-to-close   TimeoutSeconds, from the attempt's scheduling
 *   heartbeat        HeartbeatSeconds, from the scheduling, then from each
 *                    heartbeat of the attempt
 *   schedule-to-start  no heartbeat nor result within N s of scheduling
 *   schedule-to-close  the whole activity, all attempts, from the first
 *                    scheduling; not retried
 *
 * A timeout raises States.Timeout (States.HeartbeatTimeout for the
 * heartbeat) into Retry/Catch like any failure, and workers are told to
 * stop the attempt through baton.cancels; its late result is stale.
 *
 * A task's outbox entry is "T<task_id>"; the write that ends the attempt
 * (its result, a timeout, the run's end) removes it, so a batond that dies
 * before the delivery report's own removal is written does not re-send,
 * after its successor takes over, a task whose result is already in.
 */
#include "engine_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void task_ids(const baton_snapshot_t *s, char *task_id, size_t tlen,
                     char *ikey, size_t klen) {
    baton_engine_task_id(s, s->pend_seq, s->pend_attempt, task_id, tlen);
    if (ikey) snprintf(ikey, klen, "%s/%lld", s->id, (long long)s->pend_seq);
}

/* ---- deadlines -------------------------------------------------------- */

typedef struct deadline {
    int64_t due;       /* INT64_MAX: none */
    const char *error; /* what it raises */
    const char *what;  /* which clock, for history and the cause */
    int32_t seconds;
    int final; /* not retried */
} deadline_t;

static void consider(deadline_t *dl, int32_t seconds, int64_t from,
                     const char *error, const char *what, int final) {
    int64_t due;
    if (seconds <= 0) return;
    due = baton_time_add(from, (int64_t)seconds * 1000);
    if (due < dl->due) {
        dl->due = due;
        dl->error = error;
        dl->what = what;
        dl->seconds = seconds;
        dl->final = final;
    }
}

/* The nearest deadline of the pending step. */
static deadline_t nearest_deadline(const baton_snapshot_t *s) {
    deadline_t dl = {INT64_MAX, NULL, NULL, 0, 0};
    if (s->pend != BATON_PEND_TASK && s->pend != BATON_PEND_RETRY) {
        consider(&dl, s->pend_timeout_s, s->pend_start_ms, "States.Timeout",
                 s->pend == BATON_PEND_SIGNAL ? "signal-wait" : "child-run", 0);
        return dl;
    }
    consider(&dl, s->pend_s2c_s, s->pend_first_ms, "States.Timeout",
             "schedule-to-close", 1);
    if (s->pend == BATON_PEND_RETRY) return dl; /* nothing else runs */
    consider(&dl, s->pend_timeout_s, s->pend_start_ms, "States.Timeout",
             "start-to-close", 0);
    consider(&dl, s->pend_hb_s,
             s->pend_hb_ms ? s->pend_hb_ms : s->pend_start_ms,
             "States.HeartbeatTimeout", "heartbeat", 0);
    if (!s->pend_hb_ms)
        consider(&dl, s->pend_s2s_s, s->pend_start_ms, "States.Timeout",
                 "schedule-to-start", 0);
    return dl;
}

baton_err_t baton_engine_arm_deadline(baton_snapshot_t *s, baton_wset_t *ws,
                                      int64_t due_ms) {
    char member[600];
    baton_engine_timer_member(member, sizeof member, 't', s->pend_seq,
                              s->pend == BATON_PEND_TASK ? s->pend_attempt : 0,
                              s->id);
    return baton_wset_timer_add(ws, member, due_ms);
}

baton_err_t baton_engine_arm_retry_budget(baton_snapshot_t *s,
                                          baton_wset_t *ws) {
    deadline_t dl;
    assert(s->pend == BATON_PEND_RETRY);
    dl = nearest_deadline(s);
    return dl.due == INT64_MAX || dl.due > s->pend_due_ms
               ? BATON_OK
               : baton_engine_arm_deadline(s, ws, dl.due);
}

/* (Re)arms the 't' timer at the nearest deadline, if any. */
static baton_err_t arm_nearest(baton_snapshot_t *s, baton_wset_t *ws) {
    deadline_t dl = nearest_deadline(s);
    return dl.due == INT64_MAX ? BATON_OK
                               : baton_engine_arm_deadline(s, ws, dl.due);
}

baton_err_t baton_engine_deadline(baton_engine_t *e, const baton_defn_t *d,
                                  baton_snapshot_t *s, baton_wset_t *ws,
                                  int64_t now, char *errstr, size_t errlen) {
    deadline_t dl = nearest_deadline(s);
    char cause[256];
    baton_err_t rc;

    if (dl.due == INT64_MAX) return BATON_OK;
    if (now < dl.due) /* a heartbeat moved it: wait on */
        return baton_engine_arm_deadline(s, ws, dl.due);
    snprintf(cause, sizeof cause, "%s timeout: %d s", dl.what, dl.seconds);
    if (s->pend == BATON_PEND_RETRY) { /* the budget ran out in a pause */
        rc = baton_engine_emit(
            e, s, ws, "ActivityTimedOut", s->pos,
            json_pack("{sIsissss}", "seq", (json_int_t)s->pend_seq, "attempt",
                      s->pend_attempt, "timeout", dl.what, "error", dl.error),
            now, 0);
    } else if (s->pend == BATON_PEND_TASK) {
        rc = baton_engine_emit(
            e, s, ws, "ActivityTimedOut", s->pos,
            json_pack("{sIsissss}", "seq", (json_int_t)s->pend_seq, "attempt",
                      s->pend_attempt, "timeout", dl.what, "error", dl.error),
            now, 0);
        if (!rc) rc = baton_engine_task_cancel(e, s, ws, cause);
    } else {
        rc = baton_engine_emit(
            e, s, ws,
            s->pend == BATON_PEND_SIGNAL ? "SignalWaitTimedOut"
                                         : "ChildTimedOut",
            s->pos,
            json_pack("{sssi}", "error", dl.error, "seconds", dl.seconds), now,
            0);
        if (!rc && s->pend == BATON_PEND_CHILD)
            rc = baton_engine_child_cancel(e, s, ws, 0, cause);
    }
    if (rc) return rc;
    return baton_engine_step_failed(e, d, s, ws, dl.error, cause, 0, dl.final,
                                    now, errstr, errlen);
}

/* ---- scheduling ------------------------------------------------------- */

/* The run's lineage in a task (codec.h baton_task_t): the root is the
 * run's id minus ":" + its path with '/' read as ':' (engine_child.c).
 * root must hold strlen(s->id) + 1 bytes. */
static void task_lineage(const baton_snapshot_t *s, baton_task_t *t,
                         char *root) {
    size_t n = strlen(s->id), pl = s->run_path ? strlen(s->run_path) : 0;
    memcpy(root, s->id, n + 1);
    if (pl && pl + 1 < n) root[n - pl - 1] = '\0';
    t->root_workflow_id = root;
    t->parent_workflow_id = s->parent_id;
    t->run_path = s->run_path ? s->run_path : "";
}

static baton_err_t send_task(baton_engine_t *e, baton_snapshot_t *s,
                             baton_wset_t *ws, const baton_asl_stop_t *stop,
                             int64_t now) {
    baton_task_t t = {0};
    char task_id[600], ikey[600], topic[300], err[256], *buf = NULL;
    char root[300];
    char *details = NULL;
    size_t len;
    int json;
    baton_err_t rc;

    task_ids(s, task_id, sizeof task_id, ikey, sizeof ikey);
    snprintf(topic, sizeof topic, "%s.tasks.%s", e->topic_prefix, stop->queue);
    t.task_id = task_id;
    t.idempotency_key = ikey;
    t.workflow_id = s->id;
    t.activity_seq = s->pend_seq;
    t.attempt = s->pend_attempt;
    t.activity_type = stop->activity_type;
    t.queue = stop->queue;
    t.input = json_dumps(stop->task_input, JSON_COMPACT | JSON_ENCODE_ANY);
    t.result_partition = ws->partition;
    t.scheduled_at_ms = now;
    t.timeout_seconds = stop->timeout_seconds;
    t.heartbeat_seconds = stop->heartbeat_seconds;
    task_lineage(s, &t, root);
    if (s->pend_hb_details &&
        !(details =
              json_dumps(s->pend_hb_details, JSON_COMPACT | JSON_ENCODE_ANY))) {
        free(t.input);
        return BATON_ERR_NOMEM;
    }
    t.heartbeat_details = details;
    if (!t.input) {
        free(details);
        return BATON_ERR_NOMEM;
    }
    {
        char *ref = NULL, berr[512];
        if ((rc = baton_engine_blobs_encode(e, s, ws, t.input, &ref, berr,
                                            sizeof berr))) {
            BATON_ERROR("engine", "task %s: claim check of its input: %s",
                        task_id, berr);
            free(t.input);
            free(details);
            return rc;
        }
        if (ref) {
            free(t.input);
            t.input = strdup(ref);
            baton_free(ref);
            if (!t.input) {
                free(details);
                return BATON_ERR_NOMEM;
            }
        }
    }
    json = baton_engine_queue_json(e, stop->queue);
    if (baton_engine_queue_v3(e, stop->queue)) /* old workers: no lineage */
        rc = baton_codec_encode_task_v3(e->codec, &t, &buf, &len, err,
                                        sizeof err);
    else
        rc = baton_codec_encode_task(e->codec, &t, json, &buf, &len, err,
                                     sizeof err);
    if (!rc) {
        char out_id[610];
        snprintf(out_id, sizeof out_id, "T%s", task_id);
        rc = baton_wset_msg_as(ws, out_id, topic, -1, s->id, json, buf, len);
        if (!rc) rc = baton_engine_trace_msg(s, ws, 1);
    }
    free(t.input);
    free(details);
    return rc;
}

baton_err_t baton_engine_task_begin(baton_engine_t *e, baton_snapshot_t *s,
                                    baton_wset_t *ws,
                                    const baton_asl_stop_t *stop, int64_t seq,
                                    int32_t attempt, int64_t now) {
    baton_err_t rc;

    s->pend = BATON_PEND_TASK;
    s->pend_seq = seq;
    s->pend_attempt = attempt;
    s->pend_start_ms = now;
    if (!s->pend_first_ms) s->pend_first_ms = now;
    s->pend_hb_ms = 0;
    s->pend_timeout_s = stop->timeout_seconds;
    s->pend_hb_s = stop->heartbeat_seconds;
    s->pend_s2s_s = stop->schedule_to_start_seconds;
    s->pend_s2c_s = stop->schedule_to_close_seconds;
    s->pend_queue = baton_strdup(stop->queue);
    s->pend_type = baton_strdup(stop->activity_type);
    if (!s->pend_queue || !s->pend_type) return BATON_ERR_NOMEM;
    if ((rc = baton_engine_new_nonce(e, s))) return rc;
    if ((rc = send_task(e, s, ws, stop, now)) || (rc = arm_nearest(s, ws)))
        return rc;
    return baton_engine_emit(e, s, ws, "ActivityScheduled", stop->state,
                             json_pack("{sIsisssssO}", "seq", (json_int_t)seq,
                                       "attempt", attempt, "queue", stop->queue,
                                       "type", stop->activity_type, "input",
                                       stop->task_input),
                             now, 0);
}

baton_err_t baton_engine_task_forget(baton_snapshot_t *s, baton_wset_t *ws) {
    char task_id[600], out_id[610];
    if (s->pend != BATON_PEND_TASK) return BATON_OK;
    task_ids(s, task_id, sizeof task_id, NULL, 0);
    snprintf(out_id, sizeof out_id, "T%s", task_id);
    return baton_wset_outbox_done(ws, out_id);
}

baton_err_t baton_engine_task_cancel(baton_engine_t *e, baton_snapshot_t *s,
                                     baton_wset_t *ws, const char *reason) {
    baton_command_t c = {0};
    char task_id[600], err[256], *buf = NULL;
    size_t len;
    /* in the encoding of the queue's tasks: its workers can read it */
    int json = s->pend_queue && baton_engine_queue_json(e, s->pend_queue);
    baton_err_t rc;

    if (s->pend != BATON_PEND_TASK) return BATON_OK;
    task_ids(s, task_id, sizeof task_id, NULL, 0);
    c.kind = BATON_CMD_CANCEL;
    c.workflow_id = s->id;
    c.task_id = task_id;
    c.reason = (char *)reason;
    rc = baton_codec_encode_command(e->codec, &c, json, &buf, &len, err,
                                    sizeof err);
    if (rc) return rc;
    return baton_wset_msg(ws, e->topic_cancels, -1, s->id, json, buf, len);
}

/* ---- results ---------------------------------------------------------- */

static baton_err_t on_heartbeat(baton_snapshot_t *s, baton_wset_t *ws,
                                const baton_result_t *r, int64_t now) {
    deadline_t before = nearest_deadline(s);
    if (r->output) {
        json_error_t jerr;
        json_t *d = json_loads(r->output, JSON_DECODE_ANY, &jerr);
        if (d) { /* undecodable details are dropped, the beat counts */
            json_decref(s->pend_hb_details);
            s->pend_hb_details = d;
        }
    }
    s->pend_hb_ms = now;
    /* A later deadline: the armed timer fires early and re-arms itself.
     * An earlier one (schedule-to-start no longer applies, ...) never. */
    if (nearest_deadline(s).due < before.due) return arm_nearest(s, ws);
    return BATON_OK;
}

static baton_err_t on_completed(baton_engine_t *e, const baton_defn_t *d,
                                baton_snapshot_t *s, baton_wset_t *ws,
                                const baton_result_t *r, int64_t now,
                                char *errstr, size_t errlen) {
    json_t *out = baton_engine_result_output(r, errstr, errlen);
    baton_err_t rc;

    if (!out) return BATON_ERR_INVALID;
    if ((rc = baton_engine_budget_completed(e, s, out))) {
        json_decref(out);
        return rc;
    }
    rc = baton_engine_emit(
        e, s, ws, "ActivityCompleted", s->pos,
        json_pack("{sIsisOss*}", "seq", (json_int_t)s->pend_seq, "attempt",
                  s->pend_attempt, "output", out, "worker", r->worker),
        now, 0);
    if (!rc)
        rc = baton_engine_step_completed(e, d, s, ws, out, now, errstr, errlen);
    json_decref(out);
    return rc;
}

static baton_err_t on_failed(baton_engine_t *e, const baton_defn_t *d,
                             baton_snapshot_t *s, baton_wset_t *ws,
                             const baton_result_t *r, int64_t now, char *errstr,
                             size_t errlen) {
    const char *error = r->error && *r->error ? r->error : "States.TaskFailed";
    baton_err_t rc;

    rc = baton_engine_emit(
        e, s, ws, "ActivityFailed", s->pos,
        json_pack("{sIsissss*sIsbss*}", "seq", (json_int_t)s->pend_seq,
                  "attempt", s->pend_attempt, "error", error, "cause", r->cause,
                  "retry_after_ms", (json_int_t)r->retry_after_ms,
                  "non_retryable", r->non_retryable != 0, "worker", r->worker),
        now, 0);
    if (rc) return rc;
    return baton_engine_step_failed(e, d, s, ws, error, r->cause,
                                    r->retry_after_ms, r->non_retryable != 0,
                                    now, errstr, errlen);
}

baton_err_t baton_engine_task_result(baton_engine_t *e, const baton_defn_t *d,
                                     baton_snapshot_t *s, baton_wset_t *ws,
                                     const baton_result_t *r, int64_t now,
                                     char *errstr, size_t errlen) {
    switch (r->kind) {
    case BATON_RESULT_HEARTBEAT: return on_heartbeat(s, ws, r, now);
    case BATON_RESULT_COMPLETED:
        return on_completed(e, d, s, ws, r, now, errstr, errlen);
    case BATON_RESULT_FAILED:
        return on_failed(e, d, s, ws, r, now, errstr, errlen);
    }
    return BATON_OK;
}

typedef struct blob_sink_ctx {
    baton_snapshot_t *s;
    baton_wset_t *ws;
} blob_sink_ctx_t;

/* Hands a blob to the write set once per cached snapshot. */
static int blob_sink(void *ctx, const char *hex, const char *text, size_t len) {
    blob_sink_ctx_t *c = ctx;
    if (!c->s->blob_seen && !(c->s->blob_seen = json_object())) return -1;
    if (json_object_get(c->s->blob_seen, hex)) return 0;
    if (baton_wset_blob(c->ws, c->s->id, hex, text, len)) return -1;
    return json_object_set_new(c->s->blob_seen, hex, json_true()) ? -1 : 0;
}

baton_err_t baton_engine_blobs_encode(baton_engine_t *e, baton_snapshot_t *s,
                                      baton_wset_t *ws, const char *text,
                                      char **out, char *errstr, size_t errlen) {
    blob_sink_ctx_t c = {s, ws};
    size_t len;
    *out = NULL;
    if (!e->blob.threshold || !text) return BATON_OK;
    return baton_blob_encode_text(text, strlen(text), &e->blob, blob_sink, &c,
                                  out, &len, errstr, errlen);
}
