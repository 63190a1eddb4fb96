/*
 * outbox.h -- the outbox record: one message the engine decided, kept in
 * Redis (baton:{pN}:outbox, common/keys.h) from the batch write that
 * decided it until Kafka acknowledges it, and re-sent by a partition's new
 * owner.  The type lives in the pure core (the write set holds a batch's
 * messages); its encoding is defined here, next to the code that reads it.
 *
 * Record (binary-safe string, lengths in decimal):
 *   <len>:<topic> <len>:<key> <len>:<error> <partition>:<flags>:<value>
 * or, for a message with trace headers (docs/tracing.md),
 *   ... <partition>:<FLAGS>:<len>:<traceparent> <len>:<tracestate> <value>
 * flags: "j" when the value is a JSON envelope, "a" for Avro; upper case
 * ("J", "A") when the trace part follows (records written before tracing
 * have none and decode unchanged); error is the
 * DLQ reason (header baton-error), empty for other messages; an empty key
 * or error decodes as NULL.  The output id is not in the record: it is the
 * field of the outbox hash.
 *
 * Thread: any; no state.
 */
#ifndef BATON_OUTBOX_H
#define BATON_OUTBOX_H

#include "baton_common.h"

/* One message decided by the engine: produced after the batch commits.
 * Every string is owned by the message (baton_outbox_msg_clear frees). */
typedef struct baton_outbox_msg {
    char *id; /* output id (common/keys.h, wset.h) */
    char *topic;
    int32_t partition; /* -1 = by key (murmur2) */
    char *key;         /* or NULL */
    char *error;       /* DLQ reason, or NULL */
    int json;
    char *value;
    size_t value_len;
    char *traceparent; /* header traceparent, or NULL */
    char *tracestate;  /* header tracestate, or NULL */
} baton_outbox_msg_t;

/* Serialises m (id aside) as a record: baton_malloc'd, *len set; NULL when
 * memory ran out. */
char *baton_outbox_encode(const baton_outbox_msg_t *m, size_t *len);
/* Parses a record into m (m->id NULL; every string owned by m); 0 ok, -1
 * when the record is corrupt or memory ran out (m then cleared). */
int baton_outbox_decode(const char *rec, size_t len, baton_outbox_msg_t *m);
/* Frees what m owns and zeroes it. */
void baton_outbox_msg_clear(baton_outbox_msg_t *m);

#endif /* BATON_OUTBOX_H */
