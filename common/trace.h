/*
 * trace.h -- W3C Trace Context and the span record: pure formatting, ids
 * and the OTLP/HTTP JSON encoding, no network (the export is otlp.c, an
 * edge).  docs/tracing.md is the reference.
 *
 * Headers (Kafka message headers on every Baton topic):
 *   traceparent  "00-<trace id: 32 hex>-<parent span id: 16 hex>-<flags>"
 *   tracestate   vendor state, carried unchanged when present
 *
 * Span ids are derived, not drawn: baton_trace_derive_id hashes the trace
 * id and a name that says what the span is (the run's id and start time,
 * a step's sequence number and attempt ...), so whichever batond ends a
 * span -- the one that started it or the next owner of the partition
 * after a crash -- gives it the same id its children already name as
 * parent.
 *
 * Thread: any; no state.
 */
#ifndef BATON_TRACE_H
#define BATON_TRACE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "baton_common.h"

#define BATON_TRACE_ID_HEX 32
#define BATON_SPAN_ID_HEX 16
#define BATON_TRACEPARENT_LEN 55 /* "00-" 32 "-" 16 "-" 2 */
#define BATON_TRACESTATE_MAX 512 /* W3C: 32 members, at most 512 bytes */

/* A parsed traceparent: ids in lower-case hex, NUL-terminated. */
typedef struct baton_trace_ctx {
    char trace_id[BATON_TRACE_ID_HEX + 1];
    char span_id[BATON_SPAN_ID_HEX + 1];
    unsigned flags; /* 0x01 = sampled */
} baton_trace_ctx_t;

/* Parses a traceparent header of len bytes (not NUL-terminated); 0 ok,
 * -1 when malformed (wrong length or version ff, upper-case or non-hex
 * digits, an all-zero id): such a header is ignored, as W3C says. */
int baton_trace_parse(const char *s, size_t len, baton_trace_ctx_t *out);
/* "00-<trace>-<span>-<flags>" into buf (>= BATON_TRACEPARENT_LEN + 1). */
void baton_trace_format(const baton_trace_ctx_t *c, char *buf, size_t len);
/* 1 when hex is n lower-case hex digits, not all zero. */
int baton_trace_id_ok(const char *hex, size_t n);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void baton_trace_hex(const unsigned char *bytes, size_t n, char *out);
/* A span id (16 hex + NUL into out) derived from the trace id and what:
 * the same inputs give the same id, never the all-zero one. */
void baton_trace_derive_id(char out[BATON_SPAN_ID_HEX + 1],
                           const char *trace_id, const char *what);
/* A trace id (32 hex + NUL) derived from what: for runs started without a
 * traceparent where no random source is at hand (unit tests). */
void baton_trace_derive_trace_id(char out[BATON_TRACE_ID_HEX + 1],
                                 const char *what);

typedef enum {
    BATON_SPAN_INTERNAL = 1, /* OTLP SpanKind values */
    BATON_SPAN_SERVER = 2,
    BATON_SPAN_CLIENT = 3,
    BATON_SPAN_PRODUCER = 4,
    BATON_SPAN_CONSUMER = 5,
} baton_span_kind_t;

/* One ended span.  attrs is an owned JSON object of attribute name ->
 * string, integer, real or boolean (NULL when none). */
typedef struct baton_span {
    char trace_id[BATON_TRACE_ID_HEX + 1];
    char span_id[BATON_SPAN_ID_HEX + 1];
    char parent_id[BATON_SPAN_ID_HEX + 1]; /* "" for a root span */
    char name[128];
    baton_span_kind_t kind;
    int64_t start_ns, end_ns;
    int error;            /* 1: status ERROR */
    char status_msg[256]; /* with error */
    json_t *attrs;        /* owned */
} baton_span_t;

/* Frees what sp owns (attrs) and zeroes it. */
void baton_span_clear(baton_span_t *sp);
/* Deep copy of src into dst (attrs copied); BATON_ERR_NOMEM. */
baton_err_t baton_span_copy(baton_span_t *dst, const baton_span_t *src);
/* Sets attribute key (copied) on sp: a string, an integer. */
baton_err_t baton_span_attr_str(baton_span_t *sp, const char *key,
                                const char *val);
baton_err_t baton_span_attr_int(baton_span_t *sp, const char *key, int64_t val);

/* The OTLP/HTTP JSON body (ExportTraceServiceRequest) of n spans of one
 * service: {"resourceSpans":[{"resource":{...service.name...},
 * "scopeSpans":[{"scope":{"name":"baton"},"spans":[...]}]}]}; ids in hex,
 * times as decimal strings, attributes as {key, value:{stringValue |
 * intValue | doubleValue | boolValue}}.  A new reference, NULL when out of
 * memory. */
json_t *baton_span_otlp_json(const baton_span_t *spans, size_t n,
                             const char *service);

#endif /* BATON_TRACE_H */
