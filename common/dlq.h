/*
 * dlq.h -- the dead-letter record format (<topic.prefix>.dlq), one owner
 * for its writers (batond's loop, baton-bridge) and its readers (batonctl
 * dlq, tests).  Pure: no Kafka, no Redis.
 *
 * A DLQ record is the input that could not be applied, kept as it came:
 *
 *   value    the original message's bytes, or its first
 *            batond.limits.dlq.copy.max bytes (then the reason says so)
 *   key      batond: the workflow id when known, else none;
 *            baton-bridge: the source record's key
 *   headers  content-type            batond: application/json or the Avro
 *                                    content type of the original
 *            baton-error             the reason (below)
 *            baton-trigger           bridge only: the trigger's name
 *            baton-source-topic      bridge only: where the record was read
 *            baton-source-partition  bridge only, decimal
 *            baton-source-offset     bridge only, decimal
 *            (bridge records also carry the source record's own headers)
 *
 * batond's baton-error text (baton_dlq_reason):
 *
 *   <source topic>[<partition>]@<offset>: <reason>
 *   <source topic>[<partition>]@<offset>: <reason> (value cut to its first
 *       <kept> of <total> bytes)
 *
 * A record whose value was cut cannot be replayed (baton_dlq_is_cut).
 *
 * Thread: any; every function is reentrant.
 */
#ifndef BATON_DLQ_H
#define BATON_DLQ_H

#include <stddef.h>
#include <stdint.h>

#define BATON_DLQ_H_ERROR "baton-error"
#define BATON_DLQ_H_TRIGGER "baton-trigger"
#define BATON_DLQ_H_SOURCE_TOPIC "baton-source-topic"
#define BATON_DLQ_H_SOURCE_PARTITION "baton-source-partition"
#define BATON_DLQ_H_SOURCE_OFFSET "baton-source-offset"
#define BATON_DLQ_H_CONTENT_TYPE "content-type"

/* What the reason says when the value was cut (followed by "<kept> of
 * <total> bytes)"). */
#define BATON_DLQ_CUT_MARK "(value cut to its first "

/* Formats batond's baton-error text for the input at topic[partition]
 * @offset that failed for reason into buf (len bytes, NUL-terminated,
 * truncated to fit as snprintf does); kept < total adds the "value cut"
 * note.  Returns buf.  All strings are borrowed. */
char *baton_dlq_reason(char *buf, size_t len, const char *topic, int partition,
                       int64_t offset, const char *reason, size_t kept,
                       size_t total);

/* Reads the source back from a baton-error text made by baton_dlq_reason:
 * the topic into topic (topiclen bytes, NUL-terminated), *partition and
 * *offset.  Returns 0, or -1 when error does not start with
 * "<topic>[<partition>]@<offset>: " or the topic does not fit (outputs
 * then unspecified). */
int baton_dlq_source_parse(const char *error, char *topic, size_t topiclen,
                           int32_t *partition, int64_t *offset);

/* 1 when the baton-error text (len bytes, not necessarily NUL-terminated)
 * says the value was cut to a prefix, else 0. */
int baton_dlq_is_cut(const char *error, size_t len);

#endif
