/*
 * event.h -- the event object of baton-bridge: what a trigger's filter and
 * templates see of one source record.
 *
 *   { "value":     the record's value: parsed JSON (format json), or the
 *                  CloudEvent's data (format cloudevents); null for an
 *                  empty value (a tombstone),
 *     "key":       the record key as a string (null: none, or not UTF-8),
 *     "headers":   { name: value } (UTF-8 values; the last of a repeated
 *                  name wins; others are left out),
 *     "topic":     "order.created", "partition": 3, "offset": 1234,
 *     "timestamp": ms since the epoch (null when the record has none),
 *     "ce":        format cloudevents only: the event's attributes
 *                  (specversion, id, source, type, subject, time,
 *                  datacontenttype, extensions ...),
 *     "avro":      format avro only: where the writer schema came from
 *                  ({"encoding": "registry" | "header" | "single-object",
 *                    "schema_id": 7, "subject": ..., "fingerprint":
 *                    "hex", "name": the schema's full name}) }
 *
 * CloudEvents 1.0 in both Kafka modes: binary (attributes in `ce_*`
 * headers, the value is the data, its type in `content-type`) and
 * structured (`content-type: application/cloudevents+json`, or a JSON
 * object value with a "specversion": attributes and "data" in the value).
 * specversion, id, source and type are required.  JSON data is parsed;
 * other data (binary mode with a non-JSON content type) is kept as a
 * string when it is UTF-8; data_base64 stays a base64 string.
 *
 * Pure: built from a plain description of the record (no librdkafka type),
 * so the unit tests need no Kafka.  Any thread.
 */
#ifndef BATON_BRIDGE_EVENT_H
#define BATON_BRIDGE_EVENT_H

#include <jansson.h>

#include "baton_common.h"
#include "schema_registry.h"
#include "trigger.h"

typedef struct baton_bridge_header {
    const char *name;
    const void *value; /* may be NULL */
    size_t size;
} baton_bridge_header_t;

/* One source record, borrowed. */
typedef struct baton_bridge_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* -1: none */
    const void *key;      /* NULL: none */
    size_t key_len;
    const void *value; /* NULL: none */
    size_t value_len;
    const baton_bridge_header_t *headers;
    size_t nheaders;
} baton_bridge_msg_t;

/* Builds the event object of m for the format.  BATON_OK with *out (a new
 * reference); BATON_ERR_INVALID when the record cannot be decoded (errstr
 * says why: "value is not JSON: ... at byte 3", "not a CloudEvent: ...");
 * BATON_ERR_NOMEM. */
baton_err_t baton_bridge_event_build(baton_trigger_format_t format,
                                     const baton_bridge_msg_t *m, json_t **out,
                                     char *errstr, size_t errlen);

/* Format avro (event_avro.c): the value decoded with its writer schema,
 * found through reg (borrowed; see docs/bridge.md "Avro"):
 *   header avro-schema-id: N          the value is plain Avro binary of
 *                                     registry id N
 *   header avro-subject: S (and avro-subject-version: V, default latest)
 *                                     plain Avro binary of that subject
 *   else value 0x00 + 4-byte big-endian id + Avro binary
 *                                     (Schema Registry wire format)
 *   else value 0xC3 0x01 + 8-byte little-endian CRC-64-AVRO fingerprint
 *        + Avro binary                (Avro single-object encoding)
 * An empty value is null (a tombstone).  Errors as baton_bridge_event_build,
 * plus BATON_ERR_NOTFOUND (unknown schema), BATON_ERR_IO (registry
 * unreachable after its wait), BATON_ERR_CONFIG (no registry). */
baton_err_t baton_bridge_event_build_avro(const baton_bridge_msg_t *m,
                                          baton_sreg_t *reg, json_t **out,
                                          char *errstr, size_t errlen);

/* The fields every format shares (key, headers, topic, partition, offset,
 * timestamp): *out a new object.  BATON_OK or BATON_ERR_NOMEM. */
baton_err_t baton_bridge_event_base(const baton_bridge_msg_t *m, json_t **out);

/* The last header named name (case-insensitive), or NULL. */
const baton_bridge_header_t *
baton_bridge_event_header(const baton_bridge_msg_t *m, const char *name);

#endif /* BATON_BRIDGE_EVENT_H */
