/*
 * engine.c -- applying commands, results and timers to workflow snapshots
 * (engine.h).  The ASL interpreter decides where a run goes; this file
 * keeps the snapshot, the pending activity and the history in step with it.
 */
#include "engine.h"

#include <stdio.h>
#include <string.h>

struct baton_engine {
    baton_registry_t *reg;
    baton_codec_t *codec;
    char topic_events[200];
    char topic_prefix[100];
};

baton_engine_t *baton_engine_new(baton_registry_t *reg, baton_codec_t *codec,
                                 const char *topic_prefix) {
    baton_engine_t *e = baton_calloc(1, sizeof *e);
    if (!e) return NULL;
    e->reg = reg;
    e->codec = codec;
    snprintf(e->topic_prefix, sizeof e->topic_prefix, "%s", topic_prefix);
    snprintf(e->topic_events, sizeof e->topic_events, "%s.events",
             topic_prefix);
    return e;
}

void baton_engine_destroy(baton_engine_t *e) { baton_free(e); }

const baton_defn_t *baton_engine_defn(baton_engine_t *e,
                                      const baton_snapshot_t *s) {
    return baton_registry_get(e->reg, s->type, s->ver);
}

/* ---- history ---------------------------------------------------------- */

/* Records event `type` of workflow s: appended to its Redis history and
 * produced to baton.events.  data is stolen (may be NULL). */
static baton_err_t emit_event(baton_engine_t *e, baton_snapshot_t *s,
                              baton_wset_t *ws, const char *type,
                              const char *state, json_t *data, int64_t now,
                              int close) {
    baton_event_t ev = {0};
    json_t *o = json_object();
    char *hist = NULL, *dtext = NULL, *buf = NULL, err[256];
    size_t len;
    baton_err_t rc = BATON_ERR_NOMEM;

    if (!o) goto out;
    ev.workflow_id = s->id;
    ev.seq = ++s->hseq;
    ev.type = (char *)type;
    ev.time_ms = now;
    ev.state = (char *)state;
    if (data && !(dtext = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY)))
        goto out;
    ev.data = dtext;
    json_object_set_new(o, "seq", json_integer(ev.seq));
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "time", json_integer(now));
    if (state) json_object_set_new(o, "state", json_string(state));
    if (data) json_object_set(o, "data", data);
    {
        char *t = json_dumps(o, JSON_COMPACT);
        if (!t) goto out;
        hist = baton_strdup(t);
        free(t);
    }
    if (!hist) goto out;
    if ((rc = baton_wset_hist(ws, s->id, hist, close))) goto out;
    if ((rc = baton_codec_encode_event(e->codec, &ev, 0, &buf, &len, err,
                                       sizeof err)))
        goto out;
    rc = baton_wset_msg(ws, e->topic_events, -1, s->id, 0, buf, len);
out:
    json_decref(o);
    json_decref(data);
    free(dtext);
    return rc;
}

/* ---- closing ---------------------------------------------------------- */

static void set_str(char **dst, const char *v) {
    baton_free(*dst);
    *dst = v ? baton_strdup(v) : NULL;
}

static baton_err_t close_run(baton_engine_t *e, baton_snapshot_t *s,
                             baton_wset_t *ws, baton_wf_status_t st,
                             json_t *output, const char *error,
                             const char *cause, int64_t now) {
    static const char *types[] = {NULL, "WorkflowCompleted", "WorkflowFailed",
                                  "WorkflowCancelled", "WorkflowTerminated"};
    json_t *data;

    if (s->pend == BATON_PEND_RETRY || s->pend == BATON_PEND_WAIT) {
        char member[600];
        snprintf(member, sizeof member, "%c|%lld|%d|%s",
                 s->pend == BATON_PEND_RETRY ? 'r' : 'w',
                 (long long)s->pend_seq, s->pend_attempt, s->id);
        baton_wset_timer_del(ws, member);
    }
    baton_snapshot_clear_pending(s);
    s->status = st;
    s->closed_ms = now;
    set_str(&s->error, error);
    set_str(&s->cause, cause);
    json_decref(s->output);
    s->output = output ? json_incref(output) : NULL;
    json_decref(s->state_input);
    s->state_input = NULL;
    if (st == BATON_WF_SUCCEEDED)
        data = json_pack("{sO}", "output", output ? output : json_null());
    else
        data = json_pack("{ss?ss?}", "error", error, "cause", cause);
    return emit_event(e, s, ws, types[st], s->pos, data, now, 1);
}

/* ---- advancing a run -------------------------------------------------- */

static void make_ctx(const baton_snapshot_t *s, int64_t now, int32_t attempt,
                     baton_asl_ctx_t *ctx) {
    memset(ctx, 0, sizeof *ctx);
    ctx->workflow_id = s->id;
    ctx->workflow_type = s->type;
    ctx->start_time_ms = s->started_ms;
    ctx->execution_input = s->input;
    ctx->now_ms = now;
    ctx->retry_count = attempt > 0 ? attempt - 1 : 0;
    ctx->seed = (uint64_t)baton_murmur2(s->id, strlen(s->id)) << 32 ^
                (uint64_t)(s->hseq * 1000003 + attempt);
}

/* Produces the task of the pending activity (attempt s->pend_attempt). */
static baton_err_t send_task(baton_engine_t *e, baton_snapshot_t *s,
                             baton_wset_t *ws, const baton_asl_stop_t *stop,
                             int64_t now) {
    baton_task_t t = {0};
    char task_id[600], ikey[600], topic[300], err[256], *buf = NULL;
    size_t len;
    baton_err_t rc;
    json_t *data;

    snprintf(task_id, sizeof task_id, "%s/%lld/%d", s->id,
             (long long)s->pend_seq, s->pend_attempt);
    snprintf(ikey, sizeof ikey, "%s/%lld", s->id, (long long)s->pend_seq);
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
    if (!t.input) return BATON_ERR_NOMEM;
    rc = baton_codec_encode_task(e->codec, &t, 0, &buf, &len, err, sizeof err);
    if (!rc) rc = baton_wset_msg(ws, topic, -1, s->id, 0, buf, len);
    data = json_pack("{sIsisssssO}", "seq", (json_int_t)s->pend_seq,
                     "attempt", s->pend_attempt, "queue", stop->queue, "type",
                     stop->activity_type, "input", stop->task_input);
    free(t.input);
    if (rc) {
        json_decref(data);
        return rc;
    }
    return emit_event(e, s, ws, "ActivityScheduled", stop->state, data, now,
                      0);
}

static baton_err_t run_from(baton_engine_t *e, const baton_defn_t *d,
                            baton_snapshot_t *s, baton_wset_t *ws,
                            const char *state, json_t *input, int64_t now,
                            char *errstr, size_t errlen);

/* A Task state got its result (an activity's output or a signal's
 * payload): continue the run after it. */
static baton_err_t after_task(baton_engine_t *e, const baton_defn_t *d,
                              baton_snapshot_t *s, baton_wset_t *ws,
                              baton_asl_next_t *next, int64_t now,
                              char *errstr, size_t errlen) {
    baton_err_t rc = BATON_OK;
    switch (next->kind) {
    case BATON_ASL_NEXT_STATE:
        rc = run_from(e, d, s, ws, next->next_state, next->output, now,
                      errstr, errlen);
        break;
    case BATON_ASL_NEXT_END:
        rc = close_run(e, s, ws, BATON_WF_SUCCEEDED, next->output, NULL,
                       NULL, now);
        break;
    case BATON_ASL_NEXT_FAIL:
        rc = close_run(e, s, ws, BATON_WF_FAILED, NULL, next->error,
                       next->cause, now);
        break;
    case BATON_ASL_NEXT_RETRY: /* only task failures retry */
        rc = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                          "state '%s': retry decided for a completed task",
                          s->pos ? s->pos : "?");
        break;
    }
    return rc;
}

/* Takes the oldest buffered signal called name, or NULL (new ref). */
static json_t *take_signal(baton_snapshot_t *s, const char *name) {
    json_t *list = s->signals ? json_object_get(s->signals, name) : NULL;
    json_t *payload;
    if (!list || !json_array_size(list)) return NULL;
    payload = json_incref(json_array_get(list, 0));
    json_array_remove(list, 0);
    if (!json_array_size(list)) json_object_del(s->signals, name);
    return payload;
}

/* The run stopped at a state that waits: record what it waits for. */
static baton_err_t on_stop(baton_engine_t *e, const baton_defn_t *d,
                           baton_snapshot_t *s, baton_wset_t *ws,
                           baton_asl_stop_t *stop, int64_t now, char *errstr,
                           size_t errlen) {
    baton_snapshot_clear_pending(s);
    set_str(&s->pos, stop->state);
    json_decref(s->state_input);
    s->state_input = stop->state_input ? json_incref(stop->state_input) : NULL;

    switch (stop->kind) {
    case BATON_ASL_STOP_TASK:
        s->pend = BATON_PEND_TASK;
        s->pend_seq = ++s->aseq;
        s->pend_attempt = 1;
        s->pend_queue = baton_strdup(stop->queue);
        s->pend_type = baton_strdup(stop->activity_type);
        return send_task(e, s, ws, stop, now);
    case BATON_ASL_STOP_SIGNAL: {
        json_t *payload = take_signal(s, stop->signal_name);
        baton_asl_ctx_t ctx;
        baton_asl_next_t next = {0};
        baton_err_t rc;
        if (!payload) {
            s->pend = BATON_PEND_SIGNAL;
            s->pend_signal = baton_strdup(stop->signal_name);
            return emit_event(e, s, ws, "SignalWaitStarted", stop->state,
                              json_pack("{ss}", "name", stop->signal_name),
                              now, 0);
        }
        make_ctx(s, now, 0, &ctx);
        rc = baton_asl_task_complete(d->def, stop->state, stop->state_input,
                                     payload, &ctx, &next, errstr, errlen);
        json_decref(payload);
        if (!rc) rc = after_task(e, d, s, ws, &next, now, errstr, errlen);
        baton_asl_next_clear(&next);
        return rc;
    }
    case BATON_ASL_STOP_WAIT: {
        char member[600];
        s->pend = BATON_PEND_WAIT;
        s->pend_due_ms = stop->wait_until_ms;
        s->pend_seq = ++s->aseq;
        set_str(&s->pos, stop->next_state);
        json_decref(s->state_input);
        s->state_input = stop->output ? json_incref(stop->output) : NULL;
        snprintf(member, sizeof member, "w|%lld|0|%s", (long long)s->pend_seq,
                 s->id);
        baton_wset_timer_add(ws, member, stop->wait_until_ms);
        return emit_event(e, s, ws, "WaitStarted", stop->state,
                          json_pack("{sI}", "until",
                                    (json_int_t)stop->wait_until_ms),
                          now, 0);
    }
    case BATON_ASL_STOP_SUCCEED:
        return close_run(e, s, ws, BATON_WF_SUCCEEDED, stop->output, NULL,
                         NULL, now);
    case BATON_ASL_STOP_FAIL:
        return close_run(e, s, ws, BATON_WF_FAILED, NULL, stop->error,
                         stop->cause, now);
    }
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "interpreter stopped with unknown kind %d",
                        (int)stop->kind);
}

static baton_err_t run_from(baton_engine_t *e, const baton_defn_t *d,
                            baton_snapshot_t *s, baton_wset_t *ws,
                            const char *state, json_t *input, int64_t now,
                            char *errstr, size_t errlen) {
    baton_asl_ctx_t ctx;
    baton_asl_stop_t stop = {0};
    baton_err_t rc;

    make_ctx(s, now, 0, &ctx);
    rc = baton_asl_run(d->def, state, input, &ctx, &stop, errstr, errlen);
    if (!rc) rc = on_stop(e, d, s, ws, &stop, now, errstr, errlen);
    baton_asl_stop_clear(&stop);
    return rc;
}

/* ---- commands --------------------------------------------------------- */

static baton_err_t cmd_start(baton_engine_t *e, baton_snapshot_t **snap,
                             const baton_command_t *cmd, int64_t now,
                             baton_wset_t *ws, char *errstr, size_t errlen) {
    const baton_defn_t *d;
    baton_snapshot_t *s;
    json_t *input;
    json_error_t jerr;
    baton_err_t rc;

    if (*snap) return BATON_OK; /* duplicate start: the run exists */
    if (!cmd->workflow_type)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "START of '%s' names no workflow_type",
                            cmd->workflow_id);
    if (!(d = baton_registry_current(e->reg, cmd->workflow_type)))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "START of '%s': unknown workflow type '%s'",
                            cmd->workflow_id, cmd->workflow_type);
    input = cmd->payload ? json_loads(cmd->payload, JSON_DECODE_ANY, &jerr)
                         : json_object();
    if (!input)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "START of '%s': input is not JSON: %s",
                            cmd->workflow_id, jerr.text);
    if (!(s = baton_snapshot_new())) {
        json_decref(input);
        return BATON_ERR_NOMEM;
    }
    s->id = baton_strdup(cmd->workflow_id);
    s->type = baton_strdup(d->name);
    s->ver = baton_strdup(d->ver);
    s->status = BATON_WF_RUNNING;
    s->input = input;
    s->started_ms = now;
    *snap = s;
    if ((rc = baton_wset_snapshot(ws, s))) return rc;
    rc = emit_event(e, s, ws, "WorkflowStarted", NULL,
                    json_pack("{sssssO}", "type", d->name, "version", d->ver,
                              "input", input),
                    now, 0);
    if (rc) return rc;
    return run_from(e, d, s, ws, baton_asl_def_start_at(d->def), input, now,
                    errstr, errlen);
}

static baton_err_t cmd_signal(baton_engine_t *e, baton_snapshot_t *s,
                              const baton_command_t *cmd, int64_t now,
                              baton_wset_t *ws, char *errstr, size_t errlen) {
    const baton_defn_t *d = baton_engine_defn(e, s);
    json_t *payload;
    json_error_t jerr;
    baton_err_t rc;

    if (!cmd->name || !*cmd->name)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "SIGNAL to '%s' has no name", s->id);
    payload = cmd->payload ? json_loads(cmd->payload, JSON_DECODE_ANY, &jerr)
                           : json_null();
    if (!payload)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "SIGNAL '%s' to '%s': payload is not JSON: %s",
                            cmd->name, s->id, jerr.text);
    if (s->status != BATON_WF_RUNNING) {
        json_decref(payload);
        s->stale++;
        return baton_wset_snapshot(ws, s);
    }
    if ((rc = baton_wset_snapshot(ws, s)) ||
        (rc = emit_event(e, s, ws, "SignalReceived", s->pos,
                         json_pack("{sssO}", "name", cmd->name, "payload",
                                   payload),
                         now, 0))) {
        json_decref(payload);
        return rc;
    }
    if (s->pend == BATON_PEND_SIGNAL && !strcmp(s->pend_signal, cmd->name)) {
        baton_asl_ctx_t ctx;
        baton_asl_next_t next = {0};
        make_ctx(s, now, 0, &ctx);
        baton_snapshot_clear_pending(s);
        rc = baton_asl_task_complete(d->def, s->pos, s->state_input, payload,
                                     &ctx, &next, errstr, errlen);
        if (!rc) rc = after_task(e, d, s, ws, &next, now, errstr, errlen);
        baton_asl_next_clear(&next);
        json_decref(payload);
        return rc;
    }
    /* Not awaited yet: keep it for the wait that will come. */
    if (!s->signals && !(s->signals = json_object())) {
        json_decref(payload);
        return BATON_ERR_NOMEM;
    }
    if (!json_object_get(s->signals, cmd->name))
        json_object_set_new(s->signals, cmd->name, json_array());
    json_array_append_new(json_object_get(s->signals, cmd->name), payload);
    return BATON_OK;
}

baton_err_t baton_engine_command(baton_engine_t *e, baton_snapshot_t **snap,
                                 const baton_command_t *cmd, int64_t now,
                                 baton_wset_t *ws, char *errstr,
                                 size_t errlen) {
    baton_snapshot_t *s = *snap;

    if (cmd->kind == BATON_CMD_START)
        return cmd_start(e, snap, cmd, now, ws, errstr, errlen);
    if (!s)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "%s for unknown workflow '%s'",
                            baton_cmd_kind_name(cmd->kind), cmd->workflow_id);
    if (!baton_engine_defn(e, s))
        return baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                            "definition %s version %s is not loaded", s->type,
                            s->ver);
    switch (cmd->kind) {
    case BATON_CMD_SIGNAL:
        return cmd_signal(e, s, cmd, now, ws, errstr, errlen);
    case BATON_CMD_CANCEL:
    case BATON_CMD_TERMINATE:
        if (s->status != BATON_WF_RUNNING) return BATON_OK;
        baton_wset_snapshot(ws, s);
        return close_run(e, s, ws,
                         cmd->kind == BATON_CMD_CANCEL ? BATON_WF_CANCELLED
                                                       : BATON_WF_TERMINATED,
                         NULL,
                         cmd->kind == BATON_CMD_CANCEL ? "Baton.Cancelled"
                                                       : "Baton.Terminated",
                         cmd->reason, now);
    case BATON_CMD_START: break;
    }
    return BATON_OK;
}

/* ---- results ---------------------------------------------------------- */

/* Whether r is the result of the attempt the run waits for. */
static int result_is_current(const baton_snapshot_t *s,
                             const baton_result_t *r) {
    size_t idlen;
    int64_t seq;
    int32_t attempt;
    if (!s || s->status != BATON_WF_RUNNING || s->pend != BATON_PEND_TASK)
        return 0;
    if (baton_task_id_parse(r->task_id, &idlen, &seq, &attempt)) return 0;
    return idlen == strlen(s->id) && !memcmp(r->task_id, s->id, idlen) &&
           seq == s->pend_seq && attempt == s->pend_attempt;
}

static baton_err_t result_completed(baton_engine_t *e, const baton_defn_t *d,
                                    baton_snapshot_t *s,
                                    const baton_result_t *r, int64_t now,
                                    baton_wset_t *ws, char *errstr,
                                    size_t errlen) {
    json_error_t jerr;
    json_t *out = json_loads(r->output ? r->output : "null", JSON_DECODE_ANY,
                             &jerr);
    baton_asl_ctx_t ctx;
    baton_asl_next_t next = {0};
    baton_err_t rc;

    if (!out)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "result %s: output is not JSON: %s", r->task_id,
                            jerr.text);
    rc = emit_event(e, s, ws, "ActivityCompleted", s->pos,
                    json_pack("{sIsisO}", "seq", (json_int_t)s->pend_seq,
                              "attempt", s->pend_attempt, "output", out),
                    now, 0);
    make_ctx(s, now, s->pend_attempt, &ctx);
    if (!rc)
        rc = baton_asl_task_complete(d->def, s->pos, s->state_input, out,
                                     &ctx, &next, errstr, errlen);
    json_decref(out);
    if (!rc) {
        baton_snapshot_clear_pending(s);
        rc = after_task(e, d, s, ws, &next, now, errstr, errlen);
    }
    baton_asl_next_clear(&next);
    return rc;
}

static baton_err_t schedule_retry(baton_engine_t *e, baton_snapshot_t *s,
                                  baton_wset_t *ws, int64_t seq,
                                  int32_t attempt, int64_t delay_ms,
                                  int64_t now) {
    char member[600];
    baton_snapshot_clear_pending(s);
    s->pend = BATON_PEND_RETRY;
    s->pend_seq = seq;
    s->pend_attempt = attempt;
    s->pend_due_ms = now + delay_ms;
    snprintf(member, sizeof member, "r|%lld|%d|%s", (long long)seq, attempt,
             s->id);
    baton_wset_timer_add(ws, member, s->pend_due_ms);
    return emit_event(e, s, ws, "ActivityRetryScheduled", s->pos,
                      json_pack("{sIsisI}", "seq", (json_int_t)seq, "attempt",
                                attempt, "due", (json_int_t)s->pend_due_ms),
                      now, 0);
}

static baton_err_t result_failed(baton_engine_t *e, const baton_defn_t *d,
                                 baton_snapshot_t *s, const baton_result_t *r,
                                 int64_t now, baton_wset_t *ws, char *errstr,
                                 size_t errlen) {
    const char *error = r->error && *r->error ? r->error : "States.TaskFailed";
    int64_t seq = s->pend_seq;
    int32_t attempt = s->pend_attempt;
    baton_asl_ctx_t ctx;
    baton_asl_next_t next = {0};
    baton_err_t rc;

    rc = emit_event(e, s, ws, "ActivityFailed", s->pos,
                    json_pack("{sIsisss?}", "seq", (json_int_t)seq, "attempt",
                              attempt, "error", error, "cause", r->cause),
                    now, 0);
    make_ctx(s, now, attempt, &ctx);
    if (!rc)
        rc = baton_asl_task_fail(d->def, s->pos, s->state_input, error,
                                 r->cause, attempt, r->retry_after_ms, &ctx,
                                 &next, errstr, errlen);
    if (!rc && next.kind == BATON_ASL_NEXT_RETRY)
        rc = schedule_retry(e, s, ws, seq, attempt + 1, next.delay_ms, now);
    else if (!rc) {
        baton_snapshot_clear_pending(s);
        rc = after_task(e, d, s, ws, &next, now, errstr, errlen);
    }
    baton_asl_next_clear(&next);
    return rc;
}

baton_err_t baton_engine_result(baton_engine_t *e, baton_snapshot_t *s,
                                const baton_result_t *r, int64_t now,
                                baton_wset_t *ws, char *errstr,
                                size_t errlen) {
    const baton_defn_t *d;
    baton_err_t rc;

    if (!s) return BATON_OK; /* no such workflow: nothing to change */
    if (r->kind == BATON_RESULT_HEARTBEAT) return BATON_OK;
    if (!result_is_current(s, r)) {
        s->stale++;
        BATON_DEBUG("engine", "stale result %s for %s ignored", r->task_id,
                    s->id);
        return baton_wset_snapshot(ws, s);
    }
    if (!(d = baton_engine_defn(e, s)))
        return baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                            "definition %s version %s is not loaded", s->type,
                            s->ver);
    if ((rc = baton_wset_snapshot(ws, s))) return rc;
    if (r->kind == BATON_RESULT_COMPLETED)
        return result_completed(e, d, s, r, now, ws, errstr, errlen);
    return result_failed(e, d, s, r, now, ws, errstr, errlen);
}

/* ---- timers ----------------------------------------------------------- */

int baton_timer_member_parse(const char *member, char *kind, int64_t *seq,
                             int32_t *attempt, const char **wf_id) {
    char *end;
    long long v;
    if ((member[0] != 'r' && member[0] != 'w') || member[1] != '|') return -1;
    *kind = member[0];
    v = strtoll(member + 2, &end, 10);
    if (*end != '|') return -1;
    *seq = v;
    v = strtoll(end + 1, &end, 10);
    if (*end != '|' || !end[1]) return -1;
    *attempt = (int32_t)v;
    *wf_id = end + 1;
    return 0;
}

baton_err_t baton_engine_timer(baton_engine_t *e, baton_snapshot_t *s,
                               const char *member, int64_t now,
                               baton_wset_t *ws, char *errstr, size_t errlen) {
    const baton_defn_t *d;
    char kind;
    int64_t seq;
    int32_t attempt;
    const char *wf;
    baton_err_t rc;

    if ((rc = baton_wset_timer_del(ws, member))) return rc;
    if (baton_timer_member_parse(member, &kind, &seq, &attempt, &wf) || !s ||
        s->status != BATON_WF_RUNNING || s->pend_seq != seq)
        return BATON_OK; /* stale timer */
    if (!(d = baton_engine_defn(e, s)))
        return baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                            "definition %s version %s is not loaded", s->type,
                            s->ver);
    if (kind == 'r' && s->pend == BATON_PEND_RETRY &&
        s->pend_attempt == attempt) {
        baton_asl_ctx_t ctx;
        baton_asl_stop_t stop = {0};
        make_ctx(s, now, attempt, &ctx);
        baton_wset_snapshot(ws, s);
        /* Re-entering the Task state recomputes its task input. */
        rc = baton_asl_run(d->def, s->pos, s->state_input, &ctx, &stop,
                           errstr, errlen);
        if (!rc && stop.kind == BATON_ASL_STOP_TASK) {
            baton_snapshot_clear_pending(s);
            s->pend = BATON_PEND_TASK;
            s->pend_seq = seq;
            s->pend_attempt = attempt;
            s->pend_queue = baton_strdup(stop.queue);
            s->pend_type = baton_strdup(stop.activity_type);
            rc = send_task(e, s, ws, &stop, now);
        } else if (!rc) {
            rc = on_stop(e, d, s, ws, &stop, now, errstr, errlen);
        }
        baton_asl_stop_clear(&stop);
        return rc;
    }
    if (kind == 'w' && s->pend == BATON_PEND_WAIT) {
        json_t *input = s->state_input ? json_incref(s->state_input)
                                       : json_object();
        char *pos = s->pos ? baton_strdup(s->pos) : NULL;
        baton_wset_snapshot(ws, s);
        baton_snapshot_clear_pending(s);
        emit_event(e, s, ws, "WaitEnded", NULL, NULL, now, 0);
        /* A Wait with End: true leaves no next state: the run succeeds. */
        rc = pos ? run_from(e, d, s, ws, pos, input, now, errstr, errlen)
                 : close_run(e, s, ws, BATON_WF_SUCCEEDED, input, NULL, NULL,
                             now);
        json_decref(input);
        baton_free(pos);
        return rc;
    }
    return BATON_OK;
}
