/*
 * cloudevents.c -- history events as CloudEvents attributes
 * (cloudevents.h).
 */
#include "cloudevents.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The lifecycle events of the contract (docs/events.md). */
static const struct {
    const char *history, *ce;
} ce_types[] = {
    {"WorkflowStarted", "dev.baton.workflow.started"},
    {"ActivityCompleted", "dev.baton.workflow.step.completed"},
    {"ChildCompleted", "dev.baton.workflow.step.completed"},
    {"SignalWaitStarted", "dev.baton.workflow.waiting"},
    {"WorkflowCompleted", "dev.baton.workflow.completed"},
    {"WorkflowFailed", "dev.baton.workflow.failed"},
    {"WorkflowCancelled", "dev.baton.workflow.cancelled"},
    {"WorkflowTerminated", "dev.baton.workflow.terminated"},
};

const char *baton_ce_type(char *buf, size_t len, const char *type) {
    for (size_t i = 0; i < sizeof ce_types / sizeof ce_types[0]; i++)
        if (!strcmp(type, ce_types[i].history)) {
            snprintf(buf, len, "%s", ce_types[i].ce);
            return buf;
        }
    snprintf(buf, len, "dev.baton.history.%s", type);
    return buf;
}

const char *baton_ce_time(char *buf, size_t len, int64_t ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ms % 1000));
    return buf;
}

void baton_ce_attrs(const baton_event_t *ev, const char *topic_prefix,
                    baton_ce_attrs_t *out) {
    baton_ce_type(out->type, sizeof out->type, ev->type ? ev->type : "");
    snprintf(out->source, sizeof out->source, "/baton/%s", topic_prefix);
    snprintf(out->id, sizeof out->id, "%s/%lld", ev->workflow_id,
             (long long)ev->seq);
    baton_ce_time(out->time, sizeof out->time, ev->time_ms);
    out->subject = ev->workflow_id;
}
