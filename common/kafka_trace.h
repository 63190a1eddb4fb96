/*
 * kafka_trace.h -- the W3C trace headers on Kafka messages: reading
 * traceparent / tracestate from a consumed message and adding them to a
 * header list to produce (docs/tracing.md).  The Kafka side of trace.h,
 * shared by batond, the bridge and the worker SDK.
 *
 * Thread: any; no state.
 */
#ifndef BATON_KAFKA_TRACE_H
#define BATON_KAFKA_TRACE_H

#include <librdkafka/rdkafka.h>

#include "trace.h"

/* Copies the last traceparent and tracestate headers of m, NUL-terminated,
 * into tp and ts ("" when absent or too long); returns 1 when m carries a
 * well-formed traceparent (ctx filled when not NULL), else 0. */
int baton_kafka_trace_get(const rd_kafka_message_t *m,
                          char tp[BATON_TRACEPARENT_LEN + 1],
                          char ts[BATON_TRACESTATE_MAX + 1],
                          baton_trace_ctx_t *ctx);
/* Adds traceparent tp and tracestate ts to hdrs (each only when non-NULL
 * and non-empty). */
void baton_kafka_trace_add(rd_kafka_headers_t *hdrs, const char *tp,
                           const char *ts);

#endif /* BATON_KAFKA_TRACE_H */
