/*
 * engine_trace.c -- the engine's part of distributed tracing: which trace
 * a run belongs to, which span ids its run and its steps have, and the
 * ended spans it records in the write set (docs/tracing.md).
 *
 * The core only decides ids and parents; batond exports the spans of a
 * batch once its write committed (otlp.c, an edge).  Every id is derived
 * from what the snapshot holds (trace.h baton_trace_derive_id), so a span
 * begun by one batond and ended by the next owner after a crash keeps the
 * id that its children (tasks, child runs) already carry as parent:
 *
 *   span                     derived from                     parent
 *   run <type>               run|<id>|<t0>                    the START's
 *                                                             traceparent
 *   activity <type>          task|<id>|<t0>|<seq>|<att>|<nonce>  run
 *   retry backoff            retry|<id>|<t0>|<seq>|<att>      run
 *   wait <state>             wait|<id>|<t0>|<seq>             run
 *   await signal <name>      await|<id>|<t0>|<start>|<name>   run
 *   map|parallel|child <s>   step|<id>|<t0>|<seq>|<nonce>     run
 *   signal <name>            signal|<id>|<t0>|<history seq>   run
 *
 * A task carries traceparent = its activity span, a child run's START its
 * parent's map/parallel/child span, every other message the run span.
 *
 * Thread: batond's loop thread.
 */
#include "engine_int.h"

#include <stdio.h>
#include <string.h>

/* The run's trace id into buf: the stored one, or for a snapshot written
 * before tracing one derived from its id and start time.  Returns buf. */
static const char *trace_id(const baton_snapshot_t *s,
                            char buf[BATON_TRACE_ID_HEX + 1]) {
    char what[400];
    if (s->trace_id[0]) {
        memmove(buf, s->trace_id, BATON_TRACE_ID_HEX + 1);
        return buf;
    }
    snprintf(what, sizeof what, "%s|%lld", s->id, (long long)s->started_ms);
    baton_trace_derive_trace_id(buf, what);
    return buf;
}

static void derive(const baton_snapshot_t *s, const char *what,
                   char out[BATON_SPAN_ID_HEX + 1]) {
    char tid[BATON_TRACE_ID_HEX + 1];
    baton_trace_derive_id(out, trace_id(s, tid), what);
}

baton_err_t baton_engine_trace_start(baton_engine_t *e, baton_snapshot_t *s,
                                     const baton_command_t *cmd) {
    baton_trace_ctx_t c;
    unsigned char r[16];
    if (cmd->traceparent &&
        !baton_trace_parse(cmd->traceparent, strlen(cmd->traceparent), &c)) {
        memcpy(s->trace_id, c.trace_id, sizeof s->trace_id);
        memcpy(s->trace_parent, c.span_id, sizeof s->trace_parent);
        s->trace_flags = (int32_t)c.flags;
        if (cmd->tracestate && *cmd->tracestate &&
            strlen(cmd->tracestate) <= BATON_TRACESTATE_MAX &&
            !(s->tracestate = baton_strdup(cmd->tracestate)))
            return BATON_ERR_NOMEM;
        return BATON_OK;
    }
    /* A new trace: random when batond has a random source, else derived
     * (unit tests predict it). */
    s->trace_parent[0] = '\0';
    s->trace_flags = 1;
    if (e->random && !e->random(e->random_ctx, r, sizeof r)) {
        baton_trace_hex(r, sizeof r, s->trace_id);
        if (baton_trace_id_ok(s->trace_id, BATON_TRACE_ID_HEX)) return BATON_OK;
    }
    s->trace_id[0] = '\0';
    trace_id(s, s->trace_id); /* derived */
    return BATON_OK;
}

void baton_engine_trace_run_span(const baton_snapshot_t *s,
                                 char out[BATON_SPAN_ID_HEX + 1]) {
    char what[400];
    snprintf(what, sizeof what, "run|%s|%lld", s->id, (long long)s->started_ms);
    derive(s, what, out);
}

/* The span of the pending step and its name; 0 when there is none. */
static int step_span(const baton_snapshot_t *s, char out[BATON_SPAN_ID_HEX + 1],
                     char *name, size_t nlen) {
    char what[600];
    const char *pos = s->pos ? s->pos : "";
    long long t0 = (long long)s->started_ms, seq = (long long)s->pend_seq;
    switch (s->pend) {
    case BATON_PEND_TASK:
        snprintf(what, sizeof what, "task|%s|%lld|%lld|%d|%s", s->id, t0, seq,
                 (int)s->pend_attempt, s->pend_nonce);
        snprintf(name, nlen, "activity %s", s->pend_type ? s->pend_type : "");
        break;
    case BATON_PEND_RETRY:
        snprintf(what, sizeof what, "retry|%s|%lld|%lld|%d", s->id, t0, seq,
                 (int)s->pend_attempt);
        snprintf(name, nlen, "retry backoff %s", pos);
        break;
    case BATON_PEND_WAIT:
        snprintf(what, sizeof what, "wait|%s|%lld|%lld", s->id, t0, seq);
        snprintf(name, nlen, "wait");
        break;
    case BATON_PEND_SIGNAL:
        snprintf(what, sizeof what, "await|%s|%lld|%lld|%s", s->id, t0,
                 (long long)s->pend_start_ms,
                 s->pend_signal ? s->pend_signal : "");
        snprintf(name, nlen, "await signal %s",
                 s->pend_signal ? s->pend_signal : "");
        break;
    case BATON_PEND_CHILD:
    case BATON_PEND_FANOUT:
        snprintf(what, sizeof what, "step|%s|%lld|%lld|%s", s->id, t0, seq,
                 s->pend_nonce);
        snprintf(name, nlen, "%s %s",
                 s->pend == BATON_PEND_CHILD ? "child"
                 : s->pend_is_map            ? "map"
                                             : "parallel",
                 pos);
        break;
    case BATON_PEND_NONE: return 0;
    }
    derive(s, what, out);
    return 1;
}

void baton_engine_trace_header(const baton_snapshot_t *s, int step, char *buf,
                               size_t len) {
    baton_trace_ctx_t c;
    char name[200];
    trace_id(s, c.trace_id);
    if (!step || !step_span(s, c.span_id, name, sizeof name))
        baton_engine_trace_run_span(s, c.span_id);
    c.flags = s->trace_id[0] ? (unsigned)s->trace_flags : 1u;
    baton_trace_format(&c, buf, len);
}

baton_err_t baton_engine_trace_msg(const baton_snapshot_t *s, baton_wset_t *ws,
                                   int step) {
    char tp[BATON_TRACEPARENT_LEN + 1];
    baton_engine_trace_header(s, step, tp, sizeof tp);
    return baton_wset_trace_last(ws, tp, s->tracestate);
}

/* A span of s's trace under parent, from start to end (ms). */
static void span_init(const baton_snapshot_t *s, baton_span_t *sp,
                      const char *parent, const char *name, int64_t start,
                      int64_t end) {
    memset(sp, 0, sizeof *sp);
    trace_id(s, sp->trace_id);
    snprintf(sp->parent_id, sizeof sp->parent_id, "%s", parent);
    snprintf(sp->name, sizeof sp->name, "%s", name);
    sp->kind = BATON_SPAN_INTERNAL;
    sp->start_ns = (start > 0 ? start : end) * 1000000;
    sp->end_ns = end * 1000000;
    if (sp->end_ns < sp->start_ns) sp->end_ns = sp->start_ns;
}

static baton_err_t span_common(const baton_snapshot_t *s, baton_span_t *sp,
                               baton_wset_t *ws) {
    if (baton_span_attr_str(sp, "baton.workflow.id", s->id) ||
        baton_span_attr_str(sp, "baton.workflow.type", s->type) ||
        (s->pos && baton_span_attr_str(sp, "baton.state", s->pos))) {
        baton_span_clear(sp);
        return BATON_ERR_NOMEM;
    }
    return baton_wset_span(ws, sp);
}

baton_err_t baton_engine_trace_step_end(const baton_snapshot_t *s,
                                        baton_wset_t *ws, int64_t now) {
    baton_span_t sp;
    char run[BATON_SPAN_ID_HEX + 1], id[BATON_SPAN_ID_HEX + 1], name[200];
    char task_id[700];
    if (!step_span(s, id, name, sizeof name)) return BATON_OK;
    baton_engine_trace_run_span(s, run);
    span_init(s, &sp, run, name, s->pend_start_ms, now);
    memcpy(sp.span_id, id, sizeof sp.span_id);
    if (s->pend == BATON_PEND_TASK) {
        sp.kind = BATON_SPAN_PRODUCER;
        baton_engine_task_id(s, s->pend_seq, s->pend_attempt, task_id,
                             sizeof task_id);
        if (baton_span_attr_str(&sp, "baton.activity.type", s->pend_type) ||
            baton_span_attr_str(&sp, "baton.task.queue", s->pend_queue) ||
            baton_span_attr_str(&sp, "baton.task.id", task_id) ||
            baton_span_attr_int(&sp, "baton.activity.attempt",
                                s->pend_attempt)) {
            baton_span_clear(&sp);
            return BATON_ERR_NOMEM;
        }
    } else if (s->pend == BATON_PEND_FANOUT &&
               baton_span_attr_int(&sp, "baton.fanout.items", s->pend_n)) {
        baton_span_clear(&sp);
        return BATON_ERR_NOMEM;
    }
    return span_common(s, &sp, ws);
}

baton_err_t baton_engine_trace_run_end(const baton_snapshot_t *s,
                                       baton_wset_t *ws, int64_t now) {
    baton_span_t sp;
    char name[200];
    snprintf(name, sizeof name, "run %s", s->type ? s->type : "");
    span_init(s, &sp, s->trace_parent, name, s->started_ms, now);
    baton_engine_trace_run_span(s, sp.span_id);
    sp.kind = s->parent_id ? BATON_SPAN_INTERNAL : BATON_SPAN_SERVER;
    if (s->status != BATON_WF_SUCCEEDED) {
        sp.error = 1;
        snprintf(sp.status_msg, sizeof sp.status_msg, "%s%s%s",
                 s->error ? s->error : baton_wf_status_name(s->status),
                 s->cause ? ": " : "", s->cause ? s->cause : "");
    }
    if (baton_span_attr_str(&sp, "baton.workflow.status",
                            baton_wf_status_name(s->status)) ||
        (s->parent_id &&
         baton_span_attr_str(&sp, "baton.workflow.parent_id", s->parent_id))) {
        baton_span_clear(&sp);
        return BATON_ERR_NOMEM;
    }
    return span_common(s, &sp, ws);
}

baton_err_t baton_engine_trace_signal(const baton_snapshot_t *s,
                                      baton_wset_t *ws, const char *name,
                                      int64_t now) {
    baton_span_t sp;
    char run[BATON_SPAN_ID_HEX + 1], what[600], sname[200];
    baton_engine_trace_run_span(s, run);
    snprintf(sname, sizeof sname, "signal %s", name);
    span_init(s, &sp, run, sname, now, now);
    sp.kind = BATON_SPAN_CONSUMER;
    snprintf(what, sizeof what, "signal|%s|%lld|%lld", s->id,
             (long long)s->started_ms, (long long)s->hseq);
    derive(s, what, sp.span_id);
    if (baton_span_attr_str(&sp, "baton.signal.name", name)) {
        baton_span_clear(&sp);
        return BATON_ERR_NOMEM;
    }
    return span_common(s, &sp, ws);
}
