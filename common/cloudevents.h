/*
 * cloudevents.h -- Baton's history events as CloudEvents 1.0 in Kafka
 * binary mode: the attributes that go in `ce_*` headers of each message on
 * <prefix>.events (docs/events.md is the reference for consumers).
 *
 * The message value stays the history event envelope (schemas/event.avsc,
 * Avro unless content-type says JSON), so every existing reader keeps
 * working; the headers make each message a CloudEvent too:
 *
 *   header          value
 *   ce_specversion  "1.0"
 *   ce_type         dev.baton.workflow.<x> for the lifecycle events (table
 *                   in baton_ce_type below), dev.baton.history.<Type> for
 *                   the other history events
 *   ce_source       "/baton/<topic prefix>"
 *   ce_id           "<workflow id>/<seq>": stable, so a re-sent event is
 *                   recognisable (the same pair as the envelope's)
 *   ce_subject      the workflow id
 *   ce_time         the event time, RFC 3339 UTC with milliseconds
 *   ce_dataschema   "urn:baton:schema:event:1" (the envelope's schema)
 *   content-type    set by the producer as for every Baton message
 *
 * Pure formatting, no Kafka: the producer (batond.c) attaches the headers.
 * Thread: any; no state.
 */
#ifndef BATON_CLOUDEVENTS_H
#define BATON_CLOUDEVENTS_H

#include "codec.h"

#define BATON_CE_SPECVERSION "1.0"
#define BATON_CE_DATASCHEMA "urn:baton:schema:event:1"

typedef struct baton_ce_attrs {
    char type[160];
    char source[160];
    char id[300];
    char time[40];
    const char *subject; /* borrowed from the event */
} baton_ce_attrs_t;

/* The ce_type of history event type `type` ("WorkflowCompleted" ->
 * "dev.baton.workflow.completed"), into buf; returns buf. */
const char *baton_ce_type(char *buf, size_t len, const char *type);
/* RFC 3339 UTC with milliseconds ("2024-05-01T12:00:00.123Z"). */
const char *baton_ce_time(char *buf, size_t len, int64_t ms);
/* Every attribute of event ev produced under topic_prefix. */
void baton_ce_attrs(const baton_event_t *ev, const char *topic_prefix,
                    baton_ce_attrs_t *out);

#endif /* BATON_CLOUDEVENTS_H */
