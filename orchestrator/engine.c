/*
 * engine.c -- applying commands, results and timers to workflow snapshots
 * (engine.h).  The ASL interpreter decides where a run goes; this file
 * keeps the snapshot and the history in step with it, and hands what the
 * run waits for to engine_task.c (activities) and engine_child.c (child
 * runs, Parallel, Map).  engine_int.h has the map of the three files.
 */
#include "engine_int.h"
#include "json_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

baton_engine_t *baton_engine_new(baton_registry_t *reg, baton_codec_t *codec,
                                 const char *topic_prefix) {
    baton_engine_t *e = baton_calloc(1, sizeof *e);
    if (!e) return NULL;
    e->reg = reg;
    e->codec = codec;
    snprintf(e->topic_prefix, sizeof e->topic_prefix, "%s", topic_prefix);
    snprintf(e->topic_events, sizeof e->topic_events, "%s.events",
             topic_prefix);
    snprintf(e->topic_commands, sizeof e->topic_commands, "%s.commands",
             topic_prefix);
    snprintf(e->topic_results, sizeof e->topic_results, "%s.results",
             topic_prefix);
    snprintf(e->topic_cancels, sizeof e->topic_cancels, "%s.cancels",
             topic_prefix);
    snprintf(e->topic_dlq, sizeof e->topic_dlq, "%s.dlq", topic_prefix);
    e->signal_hold_ms = 3600000;
    return e;
}

void baton_engine_set_signal_hold(baton_engine_t *e, int64_t ms) {
    if (ms > 0) e->signal_hold_ms = ms;
}

void baton_engine_destroy(baton_engine_t *e) {
    if (!e) return;
    baton_free(e->json_queues);
    baton_free(e->v3_queues);
    baton_free(e->budget_types);
    json_decref(e->prices);
    baton_free(e);
}

void baton_engine_set_events(baton_engine_t *e, baton_engine_events_t which) {
    e->events = which;
}

baton_err_t baton_engine_events_parse(const char *s, baton_engine_events_t *out,
                                      char *errstr, size_t errlen) {
    static const char *const names[] = {"all", "lifecycle", "none"};
    for (size_t i = 0; s && i < BATON_ARRAY_SIZE(names); i++)
        if (!strcmp(s, names[i])) {
            *out = (baton_engine_events_t)i;
            return BATON_OK;
        }
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "batond.events.publish: '%s' is not one of all, "
                        "lifecycle, none",
                        s ? s : "");
}

int baton_engine_events_publish(baton_engine_events_t which, const char *type) {
    /* The history types docs/events.md maps to dev.baton.workflow.*. */
    static const char *const lifecycle[] = {
        "WorkflowStarted",   "ActivityCompleted", "ChildCompleted",
        "SignalWaitStarted", "WorkflowCompleted", "WorkflowFailed",
        "WorkflowCancelled", "WorkflowTerminated"};
    if (which == BATON_EVENTS_ALL) return 1;
    if (which == BATON_EVENTS_NONE) return 0;
    for (size_t i = 0; i < BATON_ARRAY_SIZE(lifecycle); i++)
        if (!strcmp(type, lifecycle[i])) return 1;
    return 0;
}

/* Parses list (a comma-separated list of queue names, spaces allowed
 * around them, "*" for every queue, NULL or "" for none) into *out: ",q1,q2,",
 * "*", or NULL for none (the old *out is freed).  key names the setting in
 * errstr.  BATON_ERR_INVALID when an entry is not a queue name
 * (baton_codec_queue_ok) or two words stand where one name goes. */
static baton_err_t queue_list_parse(const char *key, const char *list,
                                    char **out, char *errstr, size_t errlen) {
    size_t n = list ? strlen(list) : 0, o = 0;
    char *norm = baton_malloc(n + 3), name[BATON_QUEUE_NAME_MAX + 2];
    const char *p = list;

    if (!norm)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    norm[o++] = ',';
    while (p && *p) {
        size_t len;
        while (*p == ' ' || *p == '\t') p++;
        len = strcspn(p, ", \t");
        if (len == 1 && *p == '*') {
            snprintf(norm, n + 3, "*");
            o = 1;
            break;
        }
        if (len > BATON_QUEUE_NAME_MAX) len = BATON_QUEUE_NAME_MAX + 1;
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        if (len && !baton_codec_queue_ok(name)) {
            baton_free(norm);
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "%s: '%s' is not a "
                                "queue name (1..%d of [A-Za-z0-9._-])",
                                key, name, BATON_QUEUE_NAME_MAX);
        }
        if (len) {
            memcpy(norm + o, name, len);
            o += len;
            norm[o++] = ',';
        }
        p += len;
        while (*p == ' ' || *p == '\t') p++;
        if (*p && *p != ',') { /* "a b": two words where one name goes */
            baton_free(norm);
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "%s: '%s' is followed "
                                "by '%c' (a comma-separated list of queue "
                                "names)",
                                key, name, *p);
        }
        if (*p == ',') p++;
    }
    norm[o] = '\0';
    baton_free(*out);
    *out = strcmp(norm, ",") ? norm : NULL; /* "*" or a list */
    if (!*out) baton_free(norm);
    return BATON_OK;
}

/* 1 when queue q is on list (as queue_list_parse leaves it). */
static int queue_listed(const char *list, const char *q) {
    const char *hit;
    size_t n;
    if (!list) return 0;
    if (!strcmp(list, "*")) return 1;
    n = strlen(q);
    for (hit = strstr(list, q); hit; hit = strstr(hit + 1, q))
        if (hit[-1] == ',' && hit[n] == ',') return 1;
    return 0;
}

/* The first queue on both lists ("*" when one of them is "*"), "" when
 * none: a queue cannot get JSON and version-3 Avro at once. */
static void queue_lists_overlap(const char *a, const char *b, char *out,
                                size_t outlen) {
    const char *p;
    out[0] = '\0';
    if (!a || !b) return;
    if (!strcmp(a, "*") || !strcmp(b, "*")) {
        snprintf(out, outlen, "*");
        return;
    }
    for (p = a + 1; *p; p += strcspn(p, ",") + 1) {
        char name[BATON_QUEUE_NAME_MAX + 1];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(p, ","), p);
        if (queue_listed(b, name)) {
            snprintf(out, outlen, "%s", name);
            return;
        }
    }
}

baton_err_t baton_engine_set_json_queues(baton_engine_t *e, const char *list,
                                         char *errstr, size_t errlen) {
    return queue_list_parse("batond.tasks.json.queues", list, &e->json_queues,
                            errstr, errlen);
}

baton_err_t baton_engine_set_v3_queues(baton_engine_t *e, const char *list,
                                       char *errstr, size_t errlen) {
    char *v3 = NULL, both[BATON_QUEUE_NAME_MAX + 1];
    baton_err_t rc = queue_list_parse("batond.tasks.avro.v3.queues", list, &v3,
                                      errstr, errlen);
    if (rc) return rc;
    queue_lists_overlap(v3, e->json_queues, both, sizeof both);
    if (both[0]) {
        baton_free(v3);
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "batond.tasks.avro.v3.queues: queue '%s' is also "
                            "in batond.tasks.json.queues (a queue's tasks go "
                            "out in one encoding)",
                            both);
    }
    baton_free(e->v3_queues);
    e->v3_queues = v3;
    return BATON_OK;
}

int baton_engine_queue_json(const baton_engine_t *e, const char *q) {
    return queue_listed(e->json_queues, q);
}

int baton_engine_queue_v3(const baton_engine_t *e, const char *q) {
    return !queue_listed(e->json_queues, q) && queue_listed(e->v3_queues, q);
}

void baton_engine_set_limits(baton_engine_t *e,
                             const baton_engine_limits_t *limits) {
    e->limits = *limits;
}

void baton_engine_set_blobs(baton_engine_t *e,
                            const struct baton_blob_opts *o) {
    e->blob = *o;
}

void baton_engine_set_random(baton_engine_t *e, baton_engine_random_fn fn,
                             void *ctx) {
    e->random = fn;
    e->random_ctx = ctx;
}

baton_err_t baton_engine_new_nonce(baton_engine_t *e, baton_snapshot_t *s) {
    unsigned char r[BATON_ENGINE_NONCE_BYTES];
    static const char hex[] = "0123456789abcdef";
    s->pend_nonce[0] = '\0';
    if (!e->random) return BATON_OK;
    if (e->random(e->random_ctx, r, sizeof r)) return BATON_ERR_IO;
    for (size_t i = 0; i < sizeof r; i++) {
        s->pend_nonce[2 * i] = hex[r[i] >> 4];
        s->pend_nonce[2 * i + 1] = hex[r[i] & 15];
    }
    s->pend_nonce[2 * sizeof r] = '\0';
    return BATON_OK;
}

void baton_engine_task_id(const baton_snapshot_t *s, int64_t seq,
                          int64_t attempt, char *buf, size_t len) {
    snprintf(buf, len, "%s/%lld/%lld%s%s", s->id, (long long)seq,
             (long long)attempt, s->pend_nonce[0] ? "." : "", s->pend_nonce);
}

/* Bytes of v as compact JSON. */
static size_t json_bytes(const json_t *v) {
    return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Adds the count and bytes of the payloads in one list of kept signals. */
static void count_signals(const json_t *list, int entries, size_t *n,
                          size_t *bytes) {
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        (*n)++;
        *bytes += json_bytes(entries ? json_object_get(v, "p") : v);
    }
}

baton_err_t baton_engine_signal_room(const baton_engine_t *e,
                                     const json_t *kept, int by_name,
                                     const char *wf_id, size_t payload_len,
                                     char *errstr, size_t errlen) {
    size_t n = 0, bytes = 0;
    const char *name;
    json_t *list;
    if (e->limits.signals_max <= 0 && e->limits.signals_bytes_max <= 0)
        return BATON_OK;
    if (by_name) {
        json_object_foreach((json_t *)kept, name, list)
            count_signals(list, 0, &n, &bytes);
    } else if (kept) {
        count_signals(kept, 1, &n, &bytes);
    }
    if (e->limits.signals_max > 0 && (int64_t)n + 1 > e->limits.signals_max)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "workflow '%s' keeps %zu signals not yet "
                            "received: batond.limits.signals.max (%lld)",
                            wf_id, n, (long long)e->limits.signals_max);
    if (e->limits.signals_bytes_max > 0 &&
        (int64_t)(bytes + payload_len) > e->limits.signals_bytes_max)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "workflow '%s' keeps %zu bytes of signals not "
                            "yet received, %zu more would exceed "
                            "batond.limits.signals.bytes.max (%lld)",
                            wf_id, bytes, payload_len,
                            (long long)e->limits.signals_bytes_max);
    return BATON_OK;
}

/* Whether the run's Redis history still takes the data of an event of
 * len bytes: past history_bytes_max its events keep seq, type, time and
 * state only ("cut": true); batond.history.max bounds their count. */
static int history_takes_data(const baton_engine_t *e, baton_snapshot_t *s,
                              size_t len) {
    if (e->limits.history_bytes_max > 0 &&
        s->hbytes + (int64_t)len > e->limits.history_bytes_max)
        return 0;
    s->hbytes += (int64_t)len;
    return 1;
}

const baton_defn_t *baton_engine_defn(baton_engine_t *e,
                                      const baton_snapshot_t *s) {
    return baton_registry_get(e->reg, s->type, s->ver);
}

int baton_engine_knows(baton_engine_t *e, const char *name, const char *ver) {
    return baton_registry_get(e->reg, name, ver) != NULL;
}

const baton_asl_def_t *baton_engine_machine(const baton_defn_t *d,
                                            const baton_snapshot_t *s) {
    return s->branch ? baton_asl_def_sub(d->def, s->branch) : d->def;
}

void baton_engine_set_str(char **dst, const char *v) {
    baton_free(*dst);
    *dst = v ? baton_strdup(v) : NULL;
}

void baton_engine_timer_member(char *buf, size_t len, char kind, int64_t seq,
                               int32_t attempt, const char *wf_id) {
    snprintf(buf, len, "%c|%lld|%d|%s", kind, (long long)seq, attempt, wf_id);
}

void baton_engine_ctx(const baton_snapshot_t *s, int64_t now, int32_t attempt,
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

json_t *baton_engine_result_output(const baton_result_t *r, char *errstr,
                                   size_t errlen) {
    json_error_t jerr;
    json_t *out =
        json_loads(r->output ? r->output : "null", JSON_DECODE_ANY, &jerr);
    if (!out)
        baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                     "result %s: output is not JSON: %s", r->task_id,
                     jerr.text);
    return out;
}

/* ---- history ---------------------------------------------------------- */

baton_err_t baton_engine_emit(baton_engine_t *e, baton_snapshot_t *s,
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
    if (dtext) {
        /* The claim check: large data goes to the history and the events
         * topic as references (the same blobs as the snapshot's). */
        char *ref = NULL;
        json_t *dref;
        if ((rc = baton_engine_blobs_encode(e, s, ws, dtext, &ref, err,
                                            sizeof err))) {
            BATON_ERROR("engine", "%s: claim check of a %s event: %s", s->id,
                        type, err);
            goto out;
        }
        rc = BATON_ERR_NOMEM;
        if (ref) {
            free(dtext);
            dtext = strdup(ref);
            dref = json_loads(ref, JSON_DECODE_ANY, NULL);
            baton_free(ref);
            if (!dtext || !dref) {
                json_decref(dref);
                goto out;
            }
            json_decref(data);
            data = dref;
        }
    }
    ev.data = dtext;
    json_object_set_new(o, "seq", json_integer(ev.seq));
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "time", json_integer(now));
    if (state) json_object_set_new(o, "state", json_string(state));
    if (data) json_object_set(o, "data", data);
    {
        char *t = json_dumps(o, JSON_COMPACT);
        if (t && data && !history_takes_data(e, s, strlen(t))) {
            free(t); /* past the run's history bytes: the data is cut */
            json_object_del(o, "data");
            json_object_set_new(o, "cut", json_true());
            t = json_dumps(o, JSON_COMPACT);
        }
        if (!t) goto out;
        hist = baton_strdup(t);
        free(t);
    }
    if (!hist) goto out;
    if ((rc = baton_wset_hist(ws, s->id, hist, close))) goto out;
    if (!baton_engine_events_publish(e->events, type)) goto out; /* kept */
    if ((rc = baton_codec_encode_event(e->codec, &ev, 0, &buf, &len, err,
                                       sizeof err)))
        goto out;
    if (!(rc = baton_wset_msg(ws, e->topic_events, -1, s->id, 0, buf, len)))
        rc = baton_engine_trace_msg(s, ws, 0);
out:
    json_decref(o);
    json_decref(data);
    free(dtext);
    return rc;
}

/* ---- the pending step ------------------------------------------------- */

baton_err_t baton_engine_release(baton_engine_t *e, baton_snapshot_t *s,
                                 baton_wset_t *ws, int cancel_work,
                                 const char *reason, int64_t now) {
    char member[600];
    baton_err_t rc = baton_engine_trace_step_end(s, ws, now);

    if (rc) return rc;
    switch (s->pend) {
    case BATON_PEND_RETRY:
        baton_engine_timer_member(member, sizeof member, 'r', s->pend_seq,
                                  s->pend_attempt, s->id);
        rc = baton_wset_timer_del(ws, member);
        break;
    case BATON_PEND_WAIT:
        baton_engine_timer_member(member, sizeof member, 'w', s->pend_seq, 0,
                                  s->id);
        rc = baton_wset_timer_del(ws, member);
        break;
    case BATON_PEND_TASK:
        rc = baton_engine_task_forget(s, ws);
        if (!rc && cancel_work == BATON_WORK_CANCEL)
            rc = baton_engine_task_cancel(e, s, ws, reason);
        break;
    case BATON_PEND_CHILD:
    case BATON_PEND_FANOUT:
        if (cancel_work != BATON_WORK_KEEP)
            rc = baton_engine_child_cancel(
                e, s, ws, cancel_work == BATON_WORK_TERMINATE, reason);
        break;
    case BATON_PEND_SIGNAL:
    case BATON_PEND_NONE: break;
    }
    if (!rc && s->pend != BATON_PEND_RETRY && s->pend != BATON_PEND_WAIT &&
        s->pend != BATON_PEND_NONE) {
        baton_engine_timer_member(
            member, sizeof member, 't', s->pend_seq,
            s->pend == BATON_PEND_TASK ? s->pend_attempt : 0, s->id);
        rc = baton_wset_timer_del(ws, member);
    }
    baton_snapshot_clear_pending(s);
    return rc;
}

/* ---- closing ---------------------------------------------------------- */

baton_err_t baton_engine_close(baton_engine_t *e, baton_snapshot_t *s,
                               baton_wset_t *ws, baton_wf_status_t st,
                               json_t *output, const char *error,
                               const char *cause, int cancel_work,
                               int64_t now) {
    static const char *types[] = {NULL, "WorkflowCompleted", "WorkflowFailed",
                                  "WorkflowCancelled", "WorkflowTerminated"};
    json_t *data;
    baton_err_t rc;

    char why[128], refused[200];

    if (st == BATON_WF_SUCCEEDED &&
        baton_json_check(output, BATON_JSON_DEPTH_MAX, why, sizeof why)) {
        snprintf(refused, sizeof refused, "the output is refused: %s", why);
        st = BATON_WF_FAILED; /* json_limits.h: it could not load back */
        output = NULL;
        error = "States.Runtime";
        cause = refused;
    }
    if ((rc = baton_engine_release(e, s, ws, cancel_work, error, now)))
        return rc;
    if (s->deadline_ms) {
        char member[600];
        baton_engine_timer_member(member, sizeof member, 'x', 0, 0, s->id);
        if ((rc = baton_wset_timer_del(ws, member))) return rc;
        s->deadline_ms = 0;
    }
    s->status = st;
    s->closed_ms = now;
    baton_engine_set_str(&s->error, error);
    baton_engine_set_str(&s->cause, cause);
    json_decref(s->output);
    s->output = output ? json_incref(output) : NULL;
    json_decref(s->state_input);
    s->state_input = NULL;
    if (st == BATON_WF_SUCCEEDED)
        data = json_pack("{sO}", "output", output ? output : json_null());
    else
        data = json_pack("{ss?ss?}", "error", error, "cause", cause);
    if ((rc = baton_engine_emit(e, s, ws, types[st], s->pos, data, now, 1)) ||
        (rc = baton_engine_trace_run_end(s, ws, now)))
        return rc;
    return s->parent_id ? baton_engine_child_report(e, s, ws) : BATON_OK;
}

/* ---- advancing a run -------------------------------------------------- */

/* Continues after the pending step got its result (next from
 * baton_asl_task_complete / _task_fail, never NEXT_RETRY). */
static baton_err_t after_step(baton_engine_t *e, const baton_defn_t *d,
                              baton_snapshot_t *s, baton_wset_t *ws,
                              baton_asl_next_t *next, int64_t now, char *errstr,
                              size_t errlen) {
    switch (next->kind) {
    case BATON_ASL_NEXT_STATE:
        return baton_engine_run_from(e, d, s, ws, next->next_state,
                                     next->output, now, errstr, errlen);
    case BATON_ASL_NEXT_END:
        return baton_engine_close(e, s, ws, BATON_WF_SUCCEEDED, next->output,
                                  NULL, NULL, BATON_WORK_KEEP, now);
    case BATON_ASL_NEXT_FAIL:
        return baton_engine_close(e, s, ws, BATON_WF_FAILED, NULL, next->error,
                                  next->cause, BATON_WORK_KEEP, now);
    case BATON_ASL_NEXT_RETRY: break;
    }
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "state '%s': retry decided for a completed step",
                        s->pos ? s->pos : "?");
}

/* Retry counts of the pending step as a C array (n entries). */
static int32_t *retry_counts(const baton_snapshot_t *s, size_t *n) {
    size_t cnt = s->pend_retries ? json_array_size(s->pend_retries) : 0;
    int32_t *c = baton_calloc(cnt + 1, sizeof *c);
    if (!c) return NULL;
    for (size_t i = 0; i < cnt; i++)
        c[i] = (int32_t)json_integer_value(json_array_get(s->pend_retries, i));
    *n = cnt;
    return c;
}

/* The array of retry counts after retrier `idx` granted one more. */
static json_t *retry_counts_bump(const baton_snapshot_t *s, int32_t idx) {
    json_t *a =
        s->pend_retries ? json_deep_copy(s->pend_retries) : json_array();
    if (!a || idx < 0) return a;
    while (json_array_size(a) <= (size_t)idx)
        json_array_append_new(a, json_integer(0));
    json_array_set_new(
        a, (size_t)idx,
        json_integer(json_integer_value(json_array_get(a, (size_t)idx)) + 1));
    return a;
}

/* Backoff over: the step starts again when the 'r' timer fires. */
static baton_err_t schedule_retry(baton_engine_t *e, baton_snapshot_t *s,
                                  baton_wset_t *ws, const baton_asl_next_t *nx,
                                  int64_t now) {
    int64_t seq = s->pend_seq, first = s->pend_first_ms;
    int32_t attempt = s->pend_attempt > 0 ? s->pend_attempt + 1 : 2;
    int32_t s2c = s->pend_s2c_s; /* the budget counts during the pause */
    json_t *counts = retry_counts_bump(s, nx->retrier);
    json_t *details =
        s->pend_hb_details ? json_incref(s->pend_hb_details) : NULL;
    char member[600];
    baton_err_t rc = baton_engine_release(e, s, ws, BATON_WORK_KEEP, NULL, now);

    s->pend = BATON_PEND_RETRY;
    s->pend_seq = seq;
    s->pend_attempt = attempt;
    s->pend_first_ms = first;
    s->pend_due_ms = baton_time_add(now, nx->delay_ms);
    s->pend_start_ms = now;
    s->pend_s2c_s = s2c;
    s->pend_retries = counts;
    s->pend_hb_details = details;
    if (rc) return rc;
    if (!counts) return BATON_ERR_NOMEM;
    baton_engine_timer_member(member, sizeof member, 'r', seq, attempt, s->id);
    if ((rc = baton_wset_timer_add(ws, member, s->pend_due_ms))) return rc;
    /* A schedule-to-close budget that ends before the next attempt fails
     * the step when it ends, not when the attempt would start. */
    if ((rc = baton_engine_arm_retry_budget(s, ws))) return rc;
    return baton_engine_emit(e, s, ws, "RetryScheduled", s->pos,
                             json_pack("{sIsisIsI}", "seq", (json_int_t)seq,
                                       "attempt", attempt, "due",
                                       (json_int_t)s->pend_due_ms, "delay",
                                       (json_int_t)nx->delay_ms),
                             now, 0);
}

baton_err_t baton_engine_step_failed(baton_engine_t *e, const baton_defn_t *d,
                                     baton_snapshot_t *s, baton_wset_t *ws,
                                     const char *error, const char *cause,
                                     int64_t retry_after_ms, int no_retry,
                                     int64_t now, char *errstr, size_t errlen) {
    enum { EXHAUSTED = 256 }; /* "every retrier used up": no Retry */
    const baton_asl_def_t *m = baton_engine_machine(d, s);
    baton_asl_ctx_t ctx;
    baton_asl_next_t next = {0};
    size_t n = 0;
    int32_t *counts = NULL, exhausted[EXHAUSTED];
    json_t *si = s->state_input ? json_incref(s->state_input) : NULL;
    baton_err_t rc;

    if (no_retry) {
        for (size_t i = 0; i < EXHAUSTED; i++) exhausted[i] = INT32_MAX;
    } else if (!(counts = retry_counts(s, &n))) {
        json_decref(si);
        return BATON_ERR_NOMEM;
    }
    baton_engine_ctx(s, now, s->pend_attempt, &ctx);
    rc = baton_asl_task_fail_per_retrier(
        m, s->pos, si, error, cause, no_retry ? exhausted : counts,
        no_retry ? EXHAUSTED : n, retry_after_ms, &ctx, &next, errstr, errlen);
    baton_free(counts);
    json_decref(si);
    if (!rc && next.kind == BATON_ASL_NEXT_RETRY)
        rc = schedule_retry(e, s, ws, &next, now);
    else if (!rc &&
             !(rc = baton_engine_release(e, s, ws, BATON_WORK_KEEP, NULL, now)))
        rc = after_step(e, d, s, ws, &next, now, errstr, errlen);
    baton_asl_next_clear(&next);
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

baton_err_t baton_engine_step_completed(baton_engine_t *e,
                                        const baton_defn_t *d,
                                        baton_snapshot_t *s, baton_wset_t *ws,
                                        json_t *result, int64_t now,
                                        char *errstr, size_t errlen) {
    baton_asl_ctx_t ctx;
    baton_asl_next_t next = {0};
    json_t *si = s->state_input ? json_incref(s->state_input) : NULL;
    baton_err_t rc;

    baton_engine_ctx(s, now, s->pend_attempt, &ctx);
    rc = baton_engine_release(e, s, ws, BATON_WORK_KEEP, NULL, now);
    if (!rc)
        rc = baton_asl_task_complete(baton_engine_machine(d, s), s->pos, si,
                                     result, &ctx, &next, errstr, errlen);
    json_decref(si);
    if (!rc) rc = after_step(e, d, s, ws, &next, now, errstr, errlen);
    baton_asl_next_clear(&next);
    return rc;
}

static baton_err_t wait_signal(baton_engine_t *e, const baton_defn_t *d,
                               baton_snapshot_t *s, baton_wset_t *ws,
                               const baton_asl_stop_t *stop, int64_t now,
                               char *errstr, size_t errlen) {
    json_t *payload = take_signal(s, stop->signal_name);
    baton_err_t rc;

    s->pend = BATON_PEND_SIGNAL;
    s->pend_start_ms = now;          /* the span's start (engine_trace.c) */
    if (stop->timeout_seconds > 0) { /* only a timed wait needs a clock */
        s->pend_seq = ++s->aseq;
        s->pend_timeout_s = stop->timeout_seconds;
    }
    s->pend_signal = baton_strdup(stop->signal_name);
    if (!s->pend_signal) {
        json_decref(payload);
        return BATON_ERR_NOMEM;
    }
    if (payload) { /* it came before the wait: hand it over now */
        rc = baton_engine_step_completed(e, d, s, ws, payload, now, errstr,
                                         errlen);
        json_decref(payload);
        return rc;
    }
    if (stop->timeout_seconds > 0 &&
        (rc = baton_engine_arm_deadline(
             s, ws, now + (int64_t)stop->timeout_seconds * 1000)))
        return rc;
    return baton_engine_emit(e, s, ws, "SignalWaitStarted", stop->state,
                             stop->timeout_seconds > 0
                                 ? json_pack("{sssi}", "name",
                                             stop->signal_name, "timeout",
                                             stop->timeout_seconds)
                                 : json_pack("{ss}", "name", stop->signal_name),
                             now, 0);
}

static baton_err_t start_wait(baton_engine_t *e, baton_snapshot_t *s,
                              baton_wset_t *ws, const baton_asl_stop_t *stop,
                              int64_t now) {
    char member[600];
    baton_err_t rc;
    s->pend = BATON_PEND_WAIT;
    s->pend_due_ms = stop->wait_until_ms;
    s->pend_start_ms = now;
    s->pend_seq = ++s->aseq;
    /* pos stays at the Wait state (on_stop set it): that is where the run
     * is; where it goes next is kept apart */
    s->pend_then = baton_strdup(stop->next_state ? stop->next_state : "");
    if (!s->pend_then) return BATON_ERR_NOMEM;
    json_decref(s->state_input);
    s->state_input = stop->output ? json_incref(stop->output) : NULL;
    baton_engine_timer_member(member, sizeof member, 'w', s->pend_seq, 0,
                              s->id);
    if ((rc = baton_wset_timer_add(ws, member, stop->wait_until_ms))) return rc;
    return baton_engine_emit(
        e, s, ws, "WaitStarted", stop->state,
        json_pack("{sI}", "until", (json_int_t)stop->wait_until_ms), now, 0);
}

/* The run stopped at a state that waits: record what it waits for. */
static baton_err_t on_stop(baton_engine_t *e, const baton_defn_t *d,
                           baton_snapshot_t *s, baton_wset_t *ws,
                           baton_asl_stop_t *stop, int64_t now, char *errstr,
                           size_t errlen) {
    baton_snapshot_clear_pending(s);
    baton_engine_set_str(&s->pos, stop->state);
    json_decref(s->state_input);
    s->state_input = stop->state_input ? json_incref(stop->state_input) : NULL;

    switch (stop->kind) {
    case BATON_ASL_STOP_TASK: {
        int refused;
        baton_err_t rc = baton_engine_budget_gate(e, d, s, ws, stop, now,
                                                  &refused, errstr, errlen);
        if (rc || refused) return rc;
        return baton_engine_task_begin(e, s, ws, stop, ++s->aseq, 1, now);
    }
    case BATON_ASL_STOP_SIGNAL:
        return wait_signal(e, d, s, ws, stop, now, errstr, errlen);
    case BATON_ASL_STOP_WAIT: return start_wait(e, s, ws, stop, now);
    case BATON_ASL_STOP_CHILD:
    case BATON_ASL_STOP_FANOUT:
        return baton_engine_child_begin(e, d, s, ws, stop, now, errstr, errlen);
    case BATON_ASL_STOP_SUCCEED:
        return baton_engine_close(e, s, ws, BATON_WF_SUCCEEDED, stop->output,
                                  NULL, NULL, BATON_WORK_KEEP, now);
    case BATON_ASL_STOP_FAIL:
        return baton_engine_close(e, s, ws, BATON_WF_FAILED, NULL, stop->error,
                                  stop->cause, BATON_WORK_KEEP, now);
    }
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "interpreter stopped with unknown kind %d",
                        (int)stop->kind);
}

/* 1 (cause set) when the data a run reached breaks the rule of
 * json_limits.h: it could not be written in a snapshot and read back, so
 * the run fails with States.Runtime here, where it was produced. */
static int data_refused(const baton_asl_stop_t *stop, char *cause, size_t len) {
    char why[128];
    if (!baton_json_check(stop->state_input, BATON_JSON_DEPTH_MAX, why,
                          sizeof why) &&
        !baton_json_check(stop->output, BATON_JSON_DEPTH_MAX, why, sizeof why))
        return 0;
    snprintf(cause, len, "state '%s': the data is refused: %s",
             stop->state ? stop->state : "?", why);
    return 1;
}

/* 1 (cause set) when the data a state produced is larger than
 * batond.limits.state.max: it would bloat every write of the snapshot. */
static int data_too_large(const baton_engine_t *e, const baton_asl_stop_t *stop,
                          char *cause, size_t len) {
    int64_t max = e->limits.state_max;
    size_t n;
    if (max <= 0) return 0;
    n = stop->state_input ? json_bytes(stop->state_input) : 0;
    if (stop->output && json_bytes(stop->output) > n)
        n = json_bytes(stop->output);
    if ((int64_t)n <= max) return 0;
    snprintf(cause, len,
             "state '%s': its data of %zu bytes exceeds "
             "batond.limits.state.max (%lld)",
             stop->state ? stop->state : "?", n, (long long)max);
    return 1;
}

baton_err_t baton_engine_run_from(baton_engine_t *e, const baton_defn_t *d,
                                  baton_snapshot_t *s, baton_wset_t *ws,
                                  const char *state, json_t *input, int64_t now,
                                  char *errstr, size_t errlen) {
    baton_asl_ctx_t ctx;
    baton_asl_stop_t stop = {0};
    baton_err_t rc;

    char cause[200];

    baton_engine_ctx(s, now, 0, &ctx);
    rc = baton_asl_run(baton_engine_machine(d, s), state, input, &ctx, &stop,
                       errstr, errlen);
    if (!rc && data_refused(&stop, cause, sizeof cause))
        rc = baton_engine_close(e, s, ws, BATON_WF_FAILED, NULL,
                                "States.Runtime", cause, BATON_WORK_KEEP, now);
    else if (!rc && data_too_large(e, &stop, cause, sizeof cause))
        rc = baton_engine_close(e, s, ws, BATON_WF_FAILED, NULL,
                                BATON_ENGINE_ERR_LIMIT, cause, BATON_WORK_KEEP,
                                now);
    else if (!rc)
        rc = on_stop(e, d, s, ws, &stop, now, errstr, errlen);
    baton_asl_stop_clear(&stop);
    return rc;
}

/* ---- commands --------------------------------------------------------- */

/* The definition a START runs: a pinned version, or the current one. */
static baton_err_t start_defn(baton_engine_t *e, const baton_command_t *cmd,
                              const baton_defn_t **out, char *errstr,
                              size_t errlen) {
    if (!cmd->workflow_type)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "START of '%s' names no workflow_type",
                            cmd->workflow_id);
    *out = cmd->definition_version
               ? baton_registry_get(e->reg, cmd->workflow_type,
                                    cmd->definition_version)
               : baton_registry_current(e->reg, cmd->workflow_type);
    if (*out) return BATON_OK;
    if (cmd->definition_version)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "START of '%s': workflow type '%s' has no "
                            "version %s",
                            cmd->workflow_id, cmd->workflow_type,
                            cmd->definition_version);
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "START of '%s': unknown workflow type '%s'",
                        cmd->workflow_id, cmd->workflow_type);
}

static baton_snapshot_t *start_snapshot(const baton_command_t *cmd,
                                        const baton_defn_t *d, json_t *input,
                                        int64_t now) {
    baton_snapshot_t *s = baton_snapshot_new();
    if (!s) return NULL;
    s->id = baton_strdup(cmd->workflow_id);
    s->type = baton_strdup(d->name);
    s->ver = baton_strdup(d->ver);
    s->status = BATON_WF_RUNNING;
    s->input = json_incref(input);
    s->started_ms = now;
    s->parent_id = cmd->parent_id ? baton_strdup(cmd->parent_id) : NULL;
    s->parent_task_id =
        cmd->parent_task_id ? baton_strdup(cmd->parent_task_id) : NULL;
    s->branch = cmd->branch ? baton_strdup(cmd->branch) : NULL;
    s->run_path = cmd->run_path ? baton_strdup(cmd->run_path) : NULL;
    if (!s->id || !s->type || !s->ver || (cmd->run_path && !s->run_path) ||
        (cmd->parent_id && !s->parent_id) ||
        (cmd->parent_task_id && !s->parent_task_id) ||
        (cmd->branch && !s->branch)) {
        baton_snapshot_destroy(s);
        return NULL;
    }
    return s;
}

/* Arms the run's execution deadline (the machine's TimeoutSeconds). */
static baton_err_t arm_execution_deadline(baton_snapshot_t *s, baton_wset_t *ws,
                                          const baton_asl_def_t *m,
                                          int64_t now) {
    char member[600];
    int32_t t = baton_asl_def_timeout_seconds(m);
    if (t <= 0) return BATON_OK;
    s->deadline_ms = now + (int64_t)t * 1000;
    baton_engine_timer_member(member, sizeof member, 'x', 0, 0, s->id);
    return baton_wset_timer_add(ws, member, s->deadline_ms);
}

/* Whether a START under `policy` may begin a new run where *s is (NULL:
 * no run; HELD: signals wait for one). */
static int start_allowed(const baton_snapshot_t *s, const char *policy) {
    if (!s || s->status == BATON_WF_HELD) return 1;
    if (s->status == BATON_WF_RUNNING) return 0;
    if (!strcmp(policy, BATON_ID_REUSE_NEVER)) return 0;
    if (!strcmp(policy, BATON_ID_REUSE_ALLOW_AFTER_CLOSE)) return 1;
    return s->status != BATON_WF_SUCCEEDED; /* refuse_while_running */
}

/* The id-reuse policy of a START (or start_if_absent): a child run's
 * START is batond's own and never starts a second run. */
static const char *start_policy(const baton_command_t *cmd) {
    if (cmd->parent_id) return BATON_ID_REUSE_NEVER;
    return cmd->id_reuse ? cmd->id_reuse : BATON_ID_REUSE_REFUSE_WHILE_RUNNING;
}

/* A START the policy refuses: recorded in the existing run's history. */
static baton_err_t refuse_start(baton_engine_t *e, baton_snapshot_t *s,
                                const baton_command_t *cmd, const char *policy,
                                int64_t now, baton_wset_t *ws) {
    json_t *data =
        json_pack("{sssssss?}", "policy", policy, "status",
                  baton_wf_status_name(s->status), "type", cmd->workflow_type);
    json_t *src = baton_engine_cmd_source(cmd);
    baton_err_t rc;
    if (data && src)
        json_object_set_new(data, "source", src);
    else
        json_decref(src);
    BATON_DEBUG("engine", "START of '%s' refused (%s, run is %s)", s->id,
                policy, baton_wf_status_name(s->status));
    if ((rc = baton_wset_snapshot(ws, s))) {
        json_decref(data);
        return rc;
    }
    return baton_engine_emit(e, s, ws, "StartRefused", s->pos, data, now, 0);
}

baton_err_t baton_engine_start_run(baton_engine_t *e, baton_snapshot_t **snap,
                                   const baton_command_t *cmd,
                                   const char *input_text, int64_t now,
                                   baton_wset_t *ws, char *errstr,
                                   size_t errlen) {
    const baton_defn_t *d;
    const baton_asl_def_t *m;
    baton_snapshot_t *s, *old = *snap;
    json_t *input, *held = NULL, *data;
    json_error_t jerr;
    baton_err_t rc;

    if ((rc = start_defn(e, cmd, &d, errstr, errlen))) return rc;
    input = input_text ? json_loads(input_text, JSON_DECODE_ANY, &jerr)
                       : json_object();
    if (!input)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "START of '%s': input is not JSON: %s",
                            cmd->workflow_id, jerr.text);
    s = start_snapshot(cmd, d, input, now);
    json_decref(input);
    if (!s) return BATON_ERR_NOMEM;
    if ((rc = baton_engine_budget_start(s, d, cmd->budget, errstr, errlen))) {
        baton_snapshot_destroy(s);
        return rc;
    }
    if (old) {
        /* A new run in place of a closed one (or of held signals): the
         * cached object stays (the write set may hold it), its contents
         * change; history and step numbers continue, so (id, seq) and
         * task ids never repeat. */
        baton_snapshot_t tmp = *old;
        if (old->status == BATON_WF_HELD) {
            char member[600];
            baton_engine_timer_member(member, sizeof member, 'h', 0, 0,
                                      old->id);
            if ((rc = baton_wset_timer_del(ws, member))) {
                baton_snapshot_destroy(s);
                return rc;
            }
        }
        s->hseq = old->hseq;
        s->aseq = old->aseq;
        s->stale = old->stale;
        s->dup = old->dup;
        held = old->held;
        tmp.held = NULL;
        *old = *s;
        *s = tmp;
        baton_snapshot_destroy(s);
        s = old;
    } else {
        *snap = s;
    }
    if ((rc = baton_wset_snapshot(ws, s)) ||
        (rc = baton_engine_trace_start(e, s, cmd))) {
        json_decref(held);
        return rc;
    }
    data =
        json_pack("{sssssOss*ss*}", "type", d->name, "version", d->ver, "input",
                  s->input, "parent", s->parent_id, "branch", s->branch);
    if (data) {
        json_t *src = baton_engine_cmd_source(cmd);
        if (src) json_object_set_new(data, "source", src);
    }
    rc = baton_engine_emit(e, s, ws, "WorkflowStarted", NULL, data, now, 0);
    if (!rc && s->hseq > 1) ws->hist[ws->nhist - 1].open = 1;
    if (!rc && held)
        rc = baton_engine_held_deliver(e, s, held, now, ws);
    else
        json_decref(held);
    if (rc) return rc;
    if (!(m = baton_engine_machine(d, s))) /* a branch that does not exist */
        return baton_engine_close(
            e, s, ws, BATON_WF_FAILED, NULL, "States.Runtime",
            "the definition has no such branch", BATON_WORK_KEEP, now);
    if ((rc = arm_execution_deadline(s, ws, m, now))) return rc;
    return baton_engine_run_from(e, d, s, ws, baton_asl_def_start_at(m),
                                 s->input, now, errstr, errlen);
}

/* 1 when id ends like a child run's id: ":<seq>[:<item>].<nonce>". */
static int child_form(const char *id) {
    const char *dot = strrchr(id, '.'), *p;
    size_t n = dot ? strlen(dot + 1) : 0;
    if (n != 2 * BATON_ENGINE_NONCE_BYTES ||
        strspn(dot + 1, "0123456789abcdef") != n)
        return 0;
    for (p = dot; p > id && p[-1] >= '0' && p[-1] <= '9'; p--)
        ;
    return p > id && p < dot && p[-1] == ':';
}

/* With nonces (a random source): a START with parent fields must name the
 * very child id its parent_task_id makes (batond's own child STARTs do),
 * and a START of an id in the child namespace must carry them.  A client
 * thus cannot set parent fields on a run of its own naming, nor squat a
 * child's id.  BATON_ERR_INVALID (DLQ) with the reason. */
static baton_err_t start_namespace(const baton_engine_t *e,
                                   const baton_command_t *cmd, char *errstr,
                                   size_t errlen) {
    char want[600];
    size_t plen;
    int64_t seq;
    int32_t att;
    const char *nonce;
    if (!e->random) return BATON_OK;
    if (!cmd->parent_id) {
        if (!child_form(cmd->workflow_id)) return BATON_OK;
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "START of '%s': the id is in the namespace of "
                            "child runs, which only batond starts",
                            cmd->workflow_id);
    }
    if (!cmd->parent_task_id ||
        baton_task_id_parse(cmd->parent_task_id, &plen, &seq, &att) ||
        !*(nonce = baton_task_id_nonce(cmd->parent_task_id)))
        want[0] = '\0';
    else if (cmd->branch)
        snprintf(want, sizeof want, "%.*s:%lld:%lld.%s", (int)plen,
                 cmd->parent_task_id, (long long)seq, (long long)att - 1,
                 nonce);
    else
        snprintf(want, sizeof want, "%.*s:%lld.%s", (int)plen,
                 cmd->parent_task_id, (long long)seq, nonce);
    if (want[0] && !strcmp(want, cmd->workflow_id)) return BATON_OK;
    return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                        "START of '%s' carries parent fields (parent_id, "
                        "parent_task_id, branch) that batond did not mint",
                        cmd->workflow_id);
}

static baton_err_t cmd_start(baton_engine_t *e, baton_snapshot_t **snap,
                             const baton_command_t *cmd, int64_t now,
                             baton_wset_t *ws, char *errstr, size_t errlen) {
    const char *policy = start_policy(cmd);
    baton_err_t rc = start_namespace(e, cmd, errstr, errlen);
    if (rc) return rc;
    if (!start_allowed(*snap, policy))
        return refuse_start(e, *snap, cmd, policy, now, ws);
    return baton_engine_start_run(e, snap, cmd, cmd->payload, now, ws, errstr,
                                  errlen);
}

baton_err_t baton_engine_buffer_signal(baton_snapshot_t *s, const char *name,
                                       json_t *payload) {
    json_t *list;
    if (!s->signals && !(s->signals = json_object())) {
        json_decref(payload);
        return BATON_ERR_NOMEM;
    }
    if (!(list = json_object_get(s->signals, name))) {
        list = json_array();
        if (json_object_set_new(s->signals, name, list)) {
            json_decref(payload);
            return BATON_ERR_NOMEM;
        }
    }
    return json_array_append_new(list, payload) ? BATON_ERR_NOMEM : BATON_OK;
}

/* The data of a SignalReceived event (a new reference). */
static json_t *signal_data(const baton_command_t *cmd, json_t *payload) {
    json_t *data = json_pack("{sssO}", "name", cmd->name, "payload", payload);
    json_t *src = baton_engine_cmd_source(cmd);
    if (data && src)
        json_object_set_new(data, "source", src);
    else
        json_decref(src);
    return data;
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
    if (!(s->pend == BATON_PEND_SIGNAL && !strcmp(s->pend_signal, cmd->name)) &&
        (rc = baton_engine_signal_room(e, s->signals, 1, s->id,
                                       json_bytes(payload), errstr, errlen))) {
        json_decref(payload);
        return rc; /* kept nothing yet: to the DLQ */
    }
    if ((rc = baton_wset_snapshot(ws, s)) ||
        (rc = baton_engine_emit(e, s, ws, "SignalReceived", s->pos,
                                signal_data(cmd, payload), now, 0)) ||
        (rc = baton_engine_trace_signal(s, ws, cmd->name, now))) {
        json_decref(payload);
        return rc;
    }
    if (s->pend == BATON_PEND_SIGNAL && !strcmp(s->pend_signal, cmd->name)) {
        rc = baton_engine_step_completed(e, d, s, ws, payload, now, errstr,
                                         errlen);
        json_decref(payload);
        return rc;
    }
    return baton_engine_buffer_signal(s, cmd->name, payload);
}

/* A SIGNAL for an id with no run yet: held for the run to come. */
static baton_err_t hold_signal(baton_engine_t *e, baton_snapshot_t **snap,
                               const baton_command_t *cmd, int64_t now,
                               baton_wset_t *ws, char *errstr, size_t errlen) {
    json_t *payload;
    json_error_t jerr;
    if (!cmd->name || !*cmd->name)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "SIGNAL to '%s' has no name", cmd->workflow_id);
    payload = cmd->payload ? json_loads(cmd->payload, JSON_DECODE_ANY, &jerr)
                           : json_null();
    if (!payload)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "SIGNAL '%s' to '%s': payload is not JSON: %s",
                            cmd->name, cmd->workflow_id, jerr.text);
    {
        baton_err_t rc = baton_engine_signal_room(
            e, *snap ? (*snap)->held : NULL, 0, cmd->workflow_id,
            json_bytes(payload), errstr, errlen);
        if (rc) {
            json_decref(payload);
            return rc;
        }
    }
    return baton_engine_hold_signal(e, snap, cmd, payload, now, ws);
}

baton_err_t baton_engine_duplicate(baton_engine_t *e, baton_snapshot_t *s,
                                   const baton_command_t *cmd, int64_t now,
                                   baton_wset_t *ws) {
    json_t *data, *src;
    baton_err_t rc;
    if (!s || s->status == BATON_WF_HELD) return BATON_OK;
    s->dup++;
    if ((rc = baton_wset_snapshot(ws, s))) return rc;
    data = json_pack("{ss}", "kind", baton_cmd_kind_name(cmd->kind));
    if (data && cmd->name)
        json_object_set_new(data, "name", json_string(cmd->name));
    if (data && (src = baton_engine_cmd_source(cmd)))
        json_object_set_new(data, "source", src);
    return baton_engine_emit(e, s, ws, "CommandDuplicate", s->pos, data, now,
                             0);
}

static baton_err_t cmd_stop(baton_engine_t *e, baton_snapshot_t *s,
                            const baton_command_t *cmd, int64_t now,
                            baton_wset_t *ws) {
    int cancel = cmd->kind == BATON_CMD_CANCEL;
    baton_err_t rc;
    if (s->status != BATON_WF_RUNNING) return BATON_OK;
    if ((rc = baton_wset_snapshot(ws, s))) return rc;
    return baton_engine_close(
        e, s, ws, cancel ? BATON_WF_CANCELLED : BATON_WF_TERMINATED, NULL,
        cancel ? "Baton.Cancelled" : "Baton.Terminated", cmd->reason,
        cancel ? BATON_WORK_CANCEL : BATON_WORK_TERMINATE, now);
}

baton_err_t baton_engine_command(baton_engine_t *e, baton_snapshot_t **snap,
                                 const baton_command_t *cmd, int64_t now,
                                 baton_wset_t *ws, char *errstr,
                                 size_t errlen) {
    baton_snapshot_t *s = *snap;

    if (cmd->kind == BATON_CMD_START)
        return cmd_start(e, snap, cmd, now, ws, errstr, errlen);
    if (cmd->kind == BATON_CMD_SIGNAL && cmd->start_if_absent) {
        if (!cmd->workflow_type)
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "SIGNAL to '%s' with start_if_absent names "
                                "no workflow_type",
                                cmd->workflow_id);
        if (start_allowed(s, start_policy(cmd))) {
            baton_command_t sc = *cmd; /* shallow: the start it asks for */
            sc.kind = BATON_CMD_START;
            return baton_engine_start_run(e, snap, &sc, cmd->start_input, now,
                                          ws, errstr, errlen);
        }
    }
    if (cmd->kind == BATON_CMD_SIGNAL && (!s || s->status == BATON_WF_HELD))
        return hold_signal(e, snap, cmd, now, ws, errstr, errlen);
    if (!s || s->status == BATON_WF_HELD)
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
    case BATON_CMD_TERMINATE: return cmd_stop(e, s, cmd, now, ws);
    case BATON_CMD_START: break;
    }
    return BATON_OK;
}

/* ---- results ---------------------------------------------------------- */

/* Which pending step r answers: 0 none (stale), 1 the activity attempt,
 * 2 a child run (*index set: 0 for a child workflow, the item for a
 * fan-out). */
static int result_target(const baton_snapshot_t *s, const baton_result_t *r,
                         int64_t *index) {
    size_t idlen;
    int64_t seq;
    int32_t att;
    if (!s || s->status != BATON_WF_RUNNING) return 0;
    if (baton_task_id_parse(r->task_id, &idlen, &seq, &att)) return 0;
    if (idlen != strlen(s->id) || memcmp(r->task_id, s->id, idlen) ||
        seq != s->pend_seq ||
        strcmp(baton_task_id_nonce(r->task_id), s->pend_nonce))
        return 0; /* another step, or a guessed (forged) task id */
    if (s->pend == BATON_PEND_TASK) return att == s->pend_attempt ? 1 : 0;
    if (r->kind == BATON_RESULT_HEARTBEAT) return 0;
    if (s->pend == BATON_PEND_CHILD && att == 1) {
        *index = 0;
        return 2;
    }
    if (s->pend == BATON_PEND_FANOUT && att >= 1 && att <= s->pend_next) {
        char key[24];
        snprintf(key, sizeof key, "%d", att - 1);
        if (s->pend_outputs && json_object_get(s->pend_outputs, key)) return 0;
        *index = att - 1;
        return 2;
    }
    return 0;
}

baton_err_t baton_engine_result(baton_engine_t *e, baton_snapshot_t *s,
                                const baton_result_t *r, int64_t now,
                                baton_wset_t *ws, char *errstr, size_t errlen) {
    const baton_defn_t *d;
    int64_t index = 0;
    int target;
    baton_err_t rc;

    if (!s) return BATON_OK; /* no such workflow: nothing to change */
    if (!(target = result_target(s, r, &index))) {
        if (r->kind == BATON_RESULT_HEARTBEAT) return BATON_OK;
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
    if (target == 1)
        return baton_engine_task_result(e, d, s, ws, r, now, errstr, errlen);
    return baton_engine_child_result(e, d, s, ws, r, index, now, errstr,
                                     errlen);
}

/* ---- timers ----------------------------------------------------------- */

int baton_timer_member_parse(const char *member, char *kind, int64_t *seq,
                             int32_t *attempt, const char **wf_id) {
    char *end;
    long long v;
    if (!member[0] || !strchr("rwtxh", member[0]) || member[1] != '|')
        return -1;
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

/* Retry backoff over: the same state runs again (a Task keeps its step
 * number and takes the next attempt; the retry counts carry over). */
static baton_err_t retry_fired(baton_engine_t *e, const baton_defn_t *d,
                               baton_snapshot_t *s, baton_wset_t *ws,
                               int64_t now, char *errstr, size_t errlen) {
    baton_asl_ctx_t ctx;
    baton_asl_stop_t stop = {0};
    int64_t seq = s->pend_seq, first = s->pend_first_ms;
    int32_t attempt = s->pend_attempt;
    json_t *counts = s->pend_retries ? json_incref(s->pend_retries) : NULL;
    json_t *details =
        s->pend_hb_details ? json_incref(s->pend_hb_details) : NULL;
    baton_err_t rc;

    baton_engine_ctx(s, now, attempt, &ctx);
    /* Re-entering the state recomputes its input (the task input, the
     * items of a Map ...). */
    rc = baton_asl_run(baton_engine_machine(d, s), s->pos, s->state_input, &ctx,
                       &stop, errstr, errlen);
    if (!rc) rc = baton_engine_trace_step_end(s, ws, now);
    if (!rc && stop.kind == BATON_ASL_STOP_TASK) {
        int refused;
        rc = baton_engine_budget_gate(e, d, s, ws, &stop, now, &refused, errstr,
                                      errlen);
        if (rc || refused) goto out;
        baton_snapshot_clear_pending(s);
        s->pend_first_ms = first;
        s->pend_hb_details = details;
        details = NULL;
        rc = baton_engine_task_begin(e, s, ws, &stop, seq, attempt, now);
    } else if (!rc) {
        rc = on_stop(e, d, s, ws, &stop, now, errstr, errlen);
    }
out:
    /* A retried step keeps counting its retries. */
    if (!rc && s->status == BATON_WF_RUNNING && s->pend != BATON_PEND_NONE &&
        counts) {
        json_decref(s->pend_retries);
        s->pend_retries = json_incref(counts);
    }
    json_decref(counts);
    json_decref(details);
    baton_asl_stop_clear(&stop);
    return rc;
}

static baton_err_t wait_fired(baton_engine_t *e, const baton_defn_t *d,
                              baton_snapshot_t *s, baton_wset_t *ws,
                              int64_t now, char *errstr, size_t errlen) {
    json_t *input =
        s->state_input ? json_incref(s->state_input) : json_object();
    char *pos =
        s->pend_then && s->pend_then[0] ? baton_strdup(s->pend_then) : NULL;
    baton_err_t rc = baton_engine_trace_step_end(s, ws, now);

    baton_snapshot_clear_pending(s);
    if (!rc) rc = baton_engine_emit(e, s, ws, "WaitEnded", NULL, NULL, now, 0);
    /* A Wait with End: true leaves no next state: the run succeeds. */
    if (!rc)
        rc = pos ? baton_engine_run_from(e, d, s, ws, pos, input, now, errstr,
                                         errlen)
                 : baton_engine_close(e, s, ws, BATON_WF_SUCCEEDED, input, NULL,
                                      NULL, BATON_WORK_KEEP, now);
    json_decref(input);
    baton_free(pos);
    return rc;
}

/* The machine's TimeoutSeconds ran out: the run fails with States.Timeout
 * and whatever it was waiting for is cancelled. */
static baton_err_t execution_deadline(baton_engine_t *e, baton_snapshot_t *s,
                                      baton_wset_t *ws, int64_t now) {
    char cause[128];
    if (!s->deadline_ms || now < s->deadline_ms) return BATON_OK;
    s->deadline_ms = 0; /* the timer is gone already */
    snprintf(cause, sizeof cause,
             "the run exceeded its TimeoutSeconds (started at %lld)",
             (long long)s->started_ms);
    return baton_engine_close(e, s, ws, BATON_WF_FAILED, NULL, "States.Timeout",
                              cause, BATON_WORK_CANCEL, now);
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
    if (baton_timer_member_parse(member, &kind, &seq, &attempt, &wf) || !s)
        return BATON_OK; /* stale timer */
    if (kind == 'h') return baton_engine_held_expire(e, s, now, ws);
    if (s->status != BATON_WF_RUNNING) return BATON_OK; /* stale timer */
    if (kind != 'x' && s->pend_seq != seq) return BATON_OK;
    if (!(d = baton_engine_defn(e, s)))
        return baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                            "definition %s version %s is not loaded", s->type,
                            s->ver);
    if ((rc = baton_wset_snapshot(ws, s))) return rc;
    if (kind == 'x') return execution_deadline(e, s, ws, now);
    if (kind == 'r' && s->pend == BATON_PEND_RETRY &&
        s->pend_attempt == attempt)
        return retry_fired(e, d, s, ws, now, errstr, errlen);
    if (kind == 'w' && s->pend == BATON_PEND_WAIT)
        return wait_fired(e, d, s, ws, now, errstr, errlen);
    if (kind == 't' && (s->pend == BATON_PEND_TASK ? s->pend_attempt == attempt
                                                   : attempt == 0))
        return baton_engine_deadline(e, d, s, ws, now, errstr, errlen);
    return BATON_OK;
}
