/*
 * worker_trace.c -- tracing in the worker SDK (docs/tracing.md): each
 * execution of a task is one span, a child of the span batond opened for
 * the attempt (the task's traceparent header); the result carries a
 * traceparent naming the execution span.  Handlers add attributes with
 * baton_activity_span_set_str/_int (the LLM, HTTP and MCP workers set
 * OpenTelemetry's gen_ai.* names).  Spans go to the worker's exporter
 * (otlp.h) when tracing.otlp.endpoint is set; without an endpoint the
 * result still carries the trace headers.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kafka_trace.h"
#include "worker_int.h"

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void baton_worker_trace_begin(baton_worker_t *w, job_t *j,
                              const rd_kafka_message_t *m) {
    char tp[BATON_TRACEPARENT_LEN + 1], ts[BATON_TRACESTATE_MAX + 1];
    char what[800];
    baton_trace_ctx_t c;
    baton_span_t *sp;
    if (!baton_kafka_trace_get(m, tp, ts, &c)) return;
    if (!(sp = baton_calloc(1, sizeof *sp))) return; /* untraced */
    memcpy(sp->trace_id, c.trace_id, sizeof sp->trace_id);
    memcpy(sp->parent_id, c.span_id, sizeof sp->parent_id);
    /* Unique per execution: a task run twice (redelivery) is two spans. */
    snprintf(what, sizeof what, "exec|%s|%s|%lld|%lld", c.span_id, w->id,
             (long long)m->offset, (long long)now_ns());
    baton_trace_derive_id(sp->span_id, sp->trace_id, what);
    sp->kind = BATON_SPAN_CONSUMER;
    j->span = sp;
    j->trace_flags = c.flags;
    j->tracestate = ts[0] ? baton_strdup(ts) : NULL;
}

void baton_worker_trace_started(job_t *j) {
    if (j->span) j->span->start_ns = now_ns();
}

void baton_worker_trace_end(baton_worker_t *w, job_t *j) {
    baton_span_t *sp = j->span;
    baton_trace_ctx_t c;
    char tp[BATON_TRACEPARENT_LEN + 1];
    if (!sp) return;
    sp->end_ns = now_ns();
    if (!sp->start_ns) sp->start_ns = sp->end_ns;
    if (!sp->name[0]) /* the handler may have named it */
        snprintf(sp->name, sizeof sp->name, "execute %s",
                 j->task.activity_type ? j->task.activity_type : "");
    if (j->kind == BATON_RESULT_FAILED) {
        sp->error = 1;
        snprintf(sp->status_msg, sizeof sp->status_msg, "%s%s%s",
                 j->error ? j->error : "failed", j->cause ? ": " : "",
                 j->cause ? j->cause : "");
    }
    baton_span_attr_str(sp, "baton.task.id", j->task.task_id);
    baton_span_attr_str(sp, "baton.workflow.id", j->task.workflow_id);
    baton_span_attr_str(sp, "baton.activity.type", j->task.activity_type);
    baton_span_attr_str(sp, "baton.task.queue", w->queue);
    baton_span_attr_str(sp, "baton.worker.id", w->id);
    baton_span_attr_int(sp, "baton.activity.attempt", j->task.attempt);
    baton_span_attr_str(sp, "baton.result", baton_result_kind_name(j->kind));
    if (j->kind == BATON_RESULT_FAILED)
        baton_span_attr_str(sp, "error.type", j->error);
    if (j->out_headers) {
        memcpy(c.trace_id, sp->trace_id, sizeof c.trace_id);
        memcpy(c.span_id, sp->span_id, sizeof c.span_id);
        c.flags = j->trace_flags;
        baton_trace_format(&c, tp, sizeof tp);
        baton_kafka_trace_add(j->out_headers, tp, j->tracestate);
    }
    baton_otlp_add(w->otlp, sp); /* takes its contents; NULL: freed */
}

void baton_worker_trace_free(job_t *j) {
    if (j->span) baton_span_clear(j->span);
    baton_free(j->span);
    baton_free(j->tracestate);
    j->span = NULL;
    j->tracestate = NULL;
}

/* ---- the handler's API (baton_worker.h) -------------------------------- */

baton_err_t baton_activity_span_set_str(baton_activity_t *act, const char *key,
                                        const char *value) {
    if (!act->span || !key || !value) return BATON_OK;
    return baton_span_attr_str(act->span, key, value);
}

baton_err_t baton_activity_span_set_int(baton_activity_t *act, const char *key,
                                        int64_t value) {
    if (!act->span || !key) return BATON_OK;
    return baton_span_attr_int(act->span, key, value);
}

void baton_activity_span_set_name(baton_activity_t *act, const char *name) {
    if (act->span && name)
        snprintf(act->span->name, sizeof act->span->name, "%s", name);
}

int baton_activity_traced(const baton_activity_t *act) {
    return act->span != NULL;
}

int baton_activity_trace_content(const baton_activity_t *act) {
    return act->span && act->w->trace_content;
}

const char *baton_activity_traceparent(const baton_activity_t *act, char *buf,
                                       size_t len) {
    baton_trace_ctx_t c;
    if (!act->span || len < BATON_TRACEPARENT_LEN + 1) return NULL;
    memcpy(c.trace_id, act->span->trace_id, sizeof c.trace_id);
    memcpy(c.span_id, act->span->span_id, sizeof c.span_id);
    c.flags = act->trace_flags;
    baton_trace_format(&c, buf, len);
    return buf;
}
