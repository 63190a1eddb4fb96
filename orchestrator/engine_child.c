/*
 * engine_child.c -- child runs (engine_int.h): a Task on
 * baton:workflow:<name>, and the branches of a Parallel state and the
 * iterations of a Map state.
 *
 * Each child is a workflow of its own, started with a START command on
 * baton.commands (so it lives in the partition its id hashes to, possibly
 * on another batond), and its end comes back to the parent as a Result on
 * baton.results whose task_id names the parent's pending step:
 *
 *   child workflow        id "<parent>:<seq>"       task_id "<parent>/<seq>/1"
 *   item i of a fan-out   id "<parent>:<seq>:<i>"   task_id "<parent>/<seq>/<i+1>"
 *
 * A child also carries its path from the top-level run (command and
 * snapshot field run_path: the parent's path, '/', the part of its id
 * after "<parent>:"), which its tasks report as their lineage.
 *
 * Both travel through the outbox, so a child is started and reported
 * exactly once in effect (a re-sent START of an existing id changes
 * nothing; a re-sent report is stale).  Branch children run the parent's
 * definition version, on the sub-state-machine named by `branch`; a Map
 * with MaxConcurrency starts the next item as one finishes.  A failing
 * branch or item fails the state (unless a Map tolerates it) and the
 * others are cancelled.
 */
#include "engine_int.h"

#include "budget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHILD_ID_MAX 256 /* the wire limit of a workflow id */

static void child_id(const baton_snapshot_t *s, int64_t index, char *buf,
                     size_t len) {
    const char *dot = s->pend_nonce[0] ? "." : "";
    if (s->pend == BATON_PEND_CHILD)
        snprintf(buf, len, "%s:%lld%s%s", s->id, (long long)s->pend_seq, dot,
                 s->pend_nonce);
    else
        snprintf(buf, len, "%s:%lld:%lld%s%s", s->id, (long long)s->pend_seq,
                 (long long)index, dot, s->pend_nonce);
}

static baton_err_t send_command(baton_engine_t *e, baton_wset_t *ws,
                                const baton_command_t *c) {
    char err[256], *buf = NULL;
    size_t len;
    baton_err_t rc =
        baton_codec_encode_command(e->codec, c, 0, &buf, &len, err, sizeof err);
    if (rc) return rc;
    return baton_wset_msg(ws, e->topic_commands, -1, c->workflow_id, 0, buf,
                          len);
}

/* Produces the START of child `index` (branch NULL: a child workflow of
 * type s->pend_type on its current version). */
static baton_err_t start_child(baton_engine_t *e, baton_snapshot_t *s,
                               baton_wset_t *ws, int64_t index,
                               const char *branch, json_t *input, int64_t now) {
    baton_command_t c = {0};
    char id[CHILD_ID_MAX + 64], ptid[CHILD_ID_MAX + 64];
    char path[2 * CHILD_ID_MAX + 64];
    char *payload = json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *left = baton_budget_remaining(s->budget, s->usage);
    char *budget = left ? json_dumps(left, JSON_COMPACT) : NULL;
    baton_err_t rc;

    json_decref(left);
    if (!payload || (s->budget && !budget)) {
        free(payload);
        free(budget);
        return BATON_ERR_NOMEM;
    }
    child_id(s, index, id, sizeof id);
    /* the child's step below this run: its id after "<s->id>:" */
    snprintf(path, sizeof path, "%s%s%s", s->run_path ? s->run_path : "",
             s->run_path ? "/" : "", id + strlen(s->id) + 1);
    baton_engine_task_id(s, s->pend_seq, index + 1, ptid, sizeof ptid);
    c.kind = BATON_CMD_START;
    c.workflow_id = id;
    c.workflow_type = branch ? s->type : s->pend_type;
    c.definition_version = branch ? s->ver : NULL;
    c.branch = (char *)branch;
    c.payload = payload;
    c.parent_id = s->id;
    c.parent_task_id = ptid;
    c.run_path = path;
    c.budget = budget; /* what this run has left */
    c.sent_at_ms = now;
    rc = send_command(e, ws, &c);
    if (!rc) rc = baton_engine_trace_msg(s, ws, 1); /* under this step */
    free(payload);
    free(budget);
    return rc;
}

static int64_t fanout_done(const baton_snapshot_t *s) {
    return s->pend_outputs ? (int64_t)json_object_size(s->pend_outputs) : 0;
}

/* Starts items until MaxConcurrency is reached or all are started.
 * *bad is set (with errstr) when an item's input cannot be computed. */
static baton_err_t start_more(baton_engine_t *e, const baton_defn_t *d,
                              baton_snapshot_t *s, baton_wset_t *ws,
                              int64_t now, int *bad, char *errstr,
                              size_t errlen) {
    const baton_asl_def_t *m = baton_engine_machine(d, s);
    baton_asl_ctx_t ctx;

    baton_engine_ctx(s, now, s->pend_attempt, &ctx);
    while (s->pend_next < s->pend_n &&
           (s->pend_max_conc <= 0 ||
            s->pend_next - fanout_done(s) < s->pend_max_conc)) {
        char *sub = NULL;
        json_t *input = NULL;
        baton_err_t rc =
            baton_asl_fanout_item(m, s->pos, s->state_input, s->pend_next, &ctx,
                                  &sub, &input, errstr, errlen);
        if (rc == BATON_ERR_INVALID) {
            *bad = 1;
            return BATON_OK;
        }
        if (rc) return rc;
        /* sub is the path from the top of the definition, also when s
         * itself runs a branch: the child resolves it from the top. */
        rc = start_child(e, s, ws, s->pend_next, sub, input, now);
        baton_free(sub);
        json_decref(input);
        if (rc) return rc;
        s->pend_next++;
    }
    return BATON_OK;
}

/* All items are in: the state completes with their outputs in order. */
static baton_err_t fanout_complete(baton_engine_t *e, const baton_defn_t *d,
                                   baton_snapshot_t *s, baton_wset_t *ws,
                                   int64_t now, char *errstr, size_t errlen) {
    json_t *arr = json_array();
    baton_err_t rc;

    if (!arr) return BATON_ERR_NOMEM;
    for (int64_t i = 0; i < s->pend_n; i++) {
        char key[24];
        snprintf(key, sizeof key, "%lld", (long long)i);
        if (json_array_append(arr, json_object_get(s->pend_outputs, key))) {
            json_decref(arr);
            return BATON_ERR_NOMEM;
        }
    }
    rc = baton_engine_step_completed(e, d, s, ws, arr, now, errstr, errlen);
    json_decref(arr);
    return rc;
}

/* An item's input could not be computed (errstr says why): the state
 * fails with States.Runtime and the items already started are cancelled. */
static baton_err_t fail_bad_item(baton_engine_t *e, const baton_defn_t *d,
                                 baton_snapshot_t *s, baton_wset_t *ws,
                                 int64_t now, char *errstr, size_t errlen) {
    char cause[512];
    baton_err_t rc;
    snprintf(cause, sizeof cause, "%s", errstr);
    if ((rc = baton_engine_child_cancel(e, s, ws, 0, cause))) return rc;
    return baton_engine_step_failed(e, d, s, ws, "States.Runtime", cause, 0, 0,
                                    now, errstr, errlen);
}

static baton_err_t begin_fanout(baton_engine_t *e, const baton_defn_t *d,
                                baton_snapshot_t *s, baton_wset_t *ws,
                                const baton_asl_stop_t *stop, int64_t now,
                                char *errstr, size_t errlen) {
    int bad = 0;
    baton_err_t rc;

    s->pend = BATON_PEND_FANOUT;
    s->pend_seq = ++s->aseq;
    if ((rc = baton_engine_new_nonce(e, s))) return rc;
    s->pend_start_ms = now;
    s->pend_n = stop->n_items;
    s->pend_max_conc = stop->max_concurrency;
    s->pend_is_map = stop->is_map;
    s->pend_tol_count = stop->tolerated_failure_count;
    s->pend_tol_pct = stop->tolerated_failure_percentage;
    if (!(s->pend_outputs = json_object())) return BATON_ERR_NOMEM;
    rc = baton_engine_emit(e, s, ws, "FanoutStarted", stop->state,
                           json_pack("{sssIsi}", "kind",
                                     stop->is_map ? "Map" : "Parallel", "items",
                                     (json_int_t)stop->n_items,
                                     "max_concurrency", stop->max_concurrency),
                           now, 0);
    if (rc) return rc;
    if (s->pend_n == 0)
        return fanout_complete(e, d, s, ws, now, errstr, errlen);
    if ((rc = start_more(e, d, s, ws, now, &bad, errstr, errlen))) return rc;
    return bad ? fail_bad_item(e, d, s, ws, now, errstr, errlen) : BATON_OK;
}

static baton_err_t begin_child(baton_engine_t *e, const baton_defn_t *d,
                               baton_snapshot_t *s, baton_wset_t *ws,
                               const baton_asl_stop_t *stop, int64_t now,
                               char *errstr, size_t errlen) {
    char id[CHILD_ID_MAX + 64];
    baton_err_t rc;

    s->pend = BATON_PEND_CHILD;
    s->pend_seq = ++s->aseq;
    if ((rc = baton_engine_new_nonce(e, s))) return rc;
    s->pend_start_ms = now;
    s->pend_timeout_s = stop->timeout_seconds;
    if (!(s->pend_type = baton_strdup(stop->child_type)))
        return BATON_ERR_NOMEM;
    child_id(s, 0, id, sizeof id);
    if (strlen(id) > CHILD_ID_MAX)
        return baton_engine_step_failed(
            e, d, s, ws, "States.Runtime",
            "the child workflow id would exceed 256 bytes", 0, 1, now, errstr,
            errlen);
    if ((rc = start_child(e, s, ws, 0, NULL, stop->task_input, now))) return rc;
    if (stop->timeout_seconds > 0 &&
        (rc = baton_engine_arm_deadline(
             s, ws, now + (int64_t)stop->timeout_seconds * 1000)))
        return rc;
    return baton_engine_emit(e, s, ws, "ChildStarted", stop->state,
                             json_pack("{sssssO}", "id", id, "type",
                                       stop->child_type, "input",
                                       stop->task_input),
                             now, 0);
}

baton_err_t baton_engine_child_begin(baton_engine_t *e, const baton_defn_t *d,
                                     baton_snapshot_t *s, baton_wset_t *ws,
                                     const baton_asl_stop_t *stop, int64_t now,
                                     char *errstr, size_t errlen) {
    char id[CHILD_ID_MAX + 64];
    if (stop->kind == BATON_ASL_STOP_CHILD)
        return begin_child(e, d, s, ws, stop, now, errstr, errlen);
    if (stop->is_map && e->limits.map_items_max > 0 &&
        stop->n_items > e->limits.map_items_max) {
        char cause[256];
        snprintf(cause, sizeof cause,
                 "Map state '%s' has %lld items: more "
                 "than batond.limits.map.items.max "
                 "(%lld)",
                 stop->state ? stop->state : "?", (long long)stop->n_items,
                 (long long)e->limits.map_items_max);
        s->pend = BATON_PEND_FANOUT;
        s->pend_seq = ++s->aseq;
        return baton_engine_step_failed(e, d, s, ws, BATON_ENGINE_ERR_LIMIT,
                                        cause, 0, 1, now, errstr, errlen);
    }
    /* The longest item id must fit the wire's limit. */
    snprintf(id, sizeof id, "%s:%lld:%lld%s", s->id, (long long)s->aseq + 1,
             (long long)(stop->n_items > 0 ? stop->n_items - 1 : 0),
             e->random ? ".000000000000000000000000" : "");
    if (strlen(id) > CHILD_ID_MAX) {
        s->pend = BATON_PEND_FANOUT;
        s->pend_seq = ++s->aseq;
        return baton_engine_step_failed(
            e, d, s, ws, "States.Runtime",
            "the ids of the branch runs would exceed 256 bytes", 0, 1, now,
            errstr, errlen);
    }
    return begin_fanout(e, d, s, ws, stop, now, errstr, errlen);
}

/* ---- results ---------------------------------------------------------- */

static json_t *error_object(const baton_result_t *r) {
    return json_pack("{ssss?}", "Error",
                     r->error && *r->error ? r->error : "States.TaskFailed",
                     "Cause", r->cause);
}

/* Whether this many failures break the Map's tolerance (a state without
 * a tolerance tolerates none). */
static int exceeds_tolerance(const baton_snapshot_t *s) {
    int count_set = s->pend_tol_count >= 0, pct_set = s->pend_tol_pct >= 0;
    if (!s->pend_is_map || (!count_set && !pct_set)) return s->pend_failed > 0;
    if (count_set && s->pend_failed > s->pend_tol_count) return 1;
    if (pct_set &&
        (double)s->pend_failed * 100.0 > s->pend_tol_pct * (double)s->pend_n)
        return 1;
    return 0;
}

static baton_err_t fanout_result(baton_engine_t *e, const baton_defn_t *d,
                                 baton_snapshot_t *s, baton_wset_t *ws,
                                 const baton_result_t *r, json_t *out,
                                 int64_t index, int64_t now, char *errstr,
                                 size_t errlen) {
    char key[24];
    int bad = 0;
    baton_err_t rc;

    snprintf(key, sizeof key, "%lld", (long long)index);
    if (r->kind == BATON_RESULT_FAILED) {
        s->pend_failed++;
        if (exceeds_tolerance(s)) {
            int tolerance = s->pend_is_map &&
                            (s->pend_tol_count >= 0 || s->pend_tol_pct >= 0);
            const char *error =
                tolerance
                    ? "States.ExceedToleratedFailureThreshold"
                    : (r->error && *r->error ? r->error : "States.TaskFailed");
            if ((rc = baton_engine_child_cancel(e, s, ws, 0, error))) return rc;
            return baton_engine_step_failed(e, d, s, ws, error, r->cause, 0, 0,
                                            now, errstr, errlen);
        }
        out = error_object(r);
    } else {
        json_incref(out);
    }
    if (!out || json_object_set_new(s->pend_outputs, key, out))
        return BATON_ERR_NOMEM;
    if (fanout_done(s) == s->pend_n)
        return fanout_complete(e, d, s, ws, now, errstr, errlen);
    if ((rc = start_more(e, d, s, ws, now, &bad, errstr, errlen))) return rc;
    return bad ? fail_bad_item(e, d, s, ws, now, errstr, errlen) : BATON_OK;
}

static baton_err_t child_done(baton_engine_t *e, const baton_defn_t *d,
                              baton_snapshot_t *s, baton_wset_t *ws,
                              const baton_result_t *r, json_t *out, int64_t now,
                              char *errstr, size_t errlen) {
    if (r->kind == BATON_RESULT_FAILED)
        return baton_engine_step_failed(
            e, d, s, ws, r->error && *r->error ? r->error : "States.TaskFailed",
            r->cause, 0, 0, now, errstr, errlen);
    return baton_engine_step_completed(e, d, s, ws, out, now, errstr, errlen);
}

baton_err_t baton_engine_child_result(baton_engine_t *e, const baton_defn_t *d,
                                      baton_snapshot_t *s, baton_wset_t *ws,
                                      const baton_result_t *r, int64_t index,
                                      int64_t now, char *errstr,
                                      size_t errlen) {
    char id[CHILD_ID_MAX + 64];
    json_t *out = baton_engine_result_output(r, errstr, errlen);
    baton_err_t rc;

    if (!out) return BATON_ERR_INVALID;
    if ((rc = baton_engine_budget_child(s, r->usage))) {
        json_decref(out);
        return rc;
    }
    child_id(s, index, id, sizeof id);
    rc = baton_engine_emit(
        e, s, ws,
        r->kind == BATON_RESULT_COMPLETED ? "ChildCompleted" : "ChildFailed",
        s->pos,
        json_pack("{sssIss?ss?}", "id", id, "index", (json_int_t)index, "error",
                  r->error, "cause", r->cause),
        now, 0);
    if (!rc)
        rc = s->pend == BATON_PEND_CHILD
                 ? child_done(e, d, s, ws, r, out, now, errstr, errlen)
                 : fanout_result(e, d, s, ws, r, out, index, now, errstr,
                                 errlen);
    json_decref(out);
    return rc;
}

/* ---- cancelling and reporting ---------------------------------------- */

static baton_err_t stop_child(baton_engine_t *e, baton_snapshot_t *s,
                              baton_wset_t *ws, int64_t index, int terminate,
                              const char *reason) {
    baton_command_t c = {0};
    char id[CHILD_ID_MAX + 64];
    child_id(s, index, id, sizeof id);
    c.kind = terminate ? BATON_CMD_TERMINATE : BATON_CMD_CANCEL;
    c.workflow_id = id;
    c.reason = (char *)(reason ? reason : "the parent stopped waiting");
    return send_command(e, ws, &c);
}

baton_err_t baton_engine_child_cancel(baton_engine_t *e, baton_snapshot_t *s,
                                      baton_wset_t *ws, int terminate,
                                      const char *reason) {
    if (s->pend == BATON_PEND_CHILD)
        return stop_child(e, s, ws, 0, terminate, reason);
    if (s->pend != BATON_PEND_FANOUT) return BATON_OK;
    for (int64_t i = 0; i < s->pend_next; i++) {
        char key[24];
        baton_err_t rc;
        snprintf(key, sizeof key, "%lld", (long long)i);
        if (s->pend_outputs && json_object_get(s->pend_outputs, key)) continue;
        if ((rc = stop_child(e, s, ws, i, terminate, reason))) return rc;
    }
    return BATON_OK;
}

baton_err_t baton_engine_child_report(baton_engine_t *e, baton_snapshot_t *s,
                                      baton_wset_t *ws) {
    baton_result_t r = {0};
    char err[256], *buf = NULL, *out = NULL, *usage = NULL;
    size_t len;
    baton_err_t rc;

    if (!s->parent_id || !s->parent_task_id) return BATON_OK;
    /* the model calls it made count toward its parent's budget */
    if (s->usage && !(usage = json_dumps(s->usage, JSON_COMPACT)))
        return BATON_ERR_NOMEM;
    r.usage = usage;
    r.task_id = s->parent_task_id;
    r.workflow_id = s->parent_id;
    r.worker = s->id;
    r.finished_at_ms = s->closed_ms;
    if (s->status == BATON_WF_SUCCEEDED) {
        r.kind = BATON_RESULT_COMPLETED;
        out = json_dumps(s->output ? s->output : json_null(),
                         JSON_COMPACT | JSON_ENCODE_ANY);
        if (!out) {
            free(usage);
            return BATON_ERR_NOMEM;
        }
        r.output = out;
    } else {
        r.kind = BATON_RESULT_FAILED;
        r.error = s->error;
        r.cause = s->cause;
        r.non_retryable = s->status != BATON_WF_FAILED;
    }
    rc =
        baton_codec_encode_result(e->codec, &r, 0, &buf, &len, err, sizeof err);
    free(out);
    free(usage);
    if (rc) return rc;
    if ((rc = baton_wset_msg(ws, e->topic_results, -1, s->parent_id, 0, buf,
                             len)))
        return rc;
    return baton_engine_trace_msg(s, ws, 0);
}
