/*
 * avro_json.h -- Avro binary to JSON for baton-bridge's avro format
 * (event_avro.c): the value a trigger's filter and templates see, and the
 * schema fingerprint (CRC-64-AVRO of the Parsing Canonical Form) that
 * Avro single-object encoding names its schema by.
 *
 * The schema is parsed by avro-c (avro_schema_from_json_length: it checks
 * the schema and resolves names); the bytes are read by a bounded walk of
 * that schema here rather than by avro_value_read, which allocates a
 * claimed string or bytes length before checking the buffer holds it
 * (see common/codec_avro.c).  Every length, count, branch and enum index
 * is checked against the bytes left, and the value must end exactly at the
 * end of the buffer.
 *
 *   Avro type        JSON
 *   null, boolean    null, true/false
 *   int, long        integer
 *   float, double    real (NaN and infinities: the strings "NaN",
 *                    "Infinity", "-Infinity")
 *   string           string (must be UTF-8)
 *   bytes, fixed     base64 string (RFC 4648, padded)
 *   enum             the symbol, a string
 *   array            array
 *   map              object
 *   record           object, fields in schema order
 *   union            the branch's value itself (not Avro JSON's
 *                    {"type": value} wrapper): null, or the value
 *
 * Logical types come out as their underlying type (avro-c 1.11 does not
 * keep logicalType): timestamp-millis / -micros as the long, date as the
 * int (days since the epoch), time-* as the int or long, uuid as the
 * string, decimal as the base64 of its two's-complement bytes.
 *
 * Pure; any thread.
 */
#ifndef BATON_BRIDGE_AVRO_JSON_H
#define BATON_BRIDGE_AVRO_JSON_H

#include <avro.h>
#include <jansson.h>
#include <stdint.h>

#include "baton_common.h"

/* Decodes one Avro binary value of schema (borrowed) from buf[0..len).
 * BATON_OK with *out (a new reference); BATON_ERR_INVALID with errstr
 * ("field 'amount': truncated long at byte 7", "3 trailing bytes");
 * BATON_ERR_NOMEM. */
baton_err_t baton_avro_json_decode(avro_schema_t schema, const void *buf,
                                   size_t len, json_t **out, char *errstr,
                                   size_t errlen);

/* The Parsing Canonical Form of schema (Avro specification, "Schema
 * Resolution / Parsing Canonical Form"): a baton_malloc'd string the
 * caller frees, or NULL when out of memory. */
char *baton_avro_json_canonical(avro_schema_t schema);

/* CRC-64-AVRO of n bytes (the 64-bit Rabin fingerprint of the
 * specification; empty input gives 0xc15d213aa4d7a795). */
uint64_t baton_avro_json_crc64(const void *p, size_t n);

#endif /* BATON_BRIDGE_AVRO_JSON_H */
