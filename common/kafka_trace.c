/*
 * kafka_trace.c -- trace headers on Kafka messages (kafka_trace.h).
 */
#include "kafka_trace.h"

#include <string.h>

/* The last header called name into buf (cap bytes with the NUL); 0 when
 * found and fitting. */
static int header_copy(rd_kafka_headers_t *h, const char *name, char *buf,
                       size_t cap) {
    const void *v = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (rd_kafka_header_get_last(h, name, &v, &n) || !v || n >= cap) return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    return 0;
}

int baton_kafka_trace_get(const rd_kafka_message_t *m,
                          char tp[BATON_TRACEPARENT_LEN + 1],
                          char ts[BATON_TRACESTATE_MAX + 1],
                          baton_trace_ctx_t *ctx) {
    rd_kafka_headers_t *h = NULL;
    baton_trace_ctx_t c;
    tp[0] = ts[0] = '\0';
    if (rd_kafka_message_headers(m, &h) || !h) return 0;
    if (header_copy(h, "traceparent", tp, BATON_TRACEPARENT_LEN + 1) ||
        baton_trace_parse(tp, strlen(tp), &c)) {
        tp[0] = '\0';
        return 0;
    }
    header_copy(h, "tracestate", ts, BATON_TRACESTATE_MAX + 1);
    if (ctx) *ctx = c;
    return 1;
}

void baton_kafka_trace_add(rd_kafka_headers_t *hdrs, const char *tp,
                           const char *ts) {
    if (tp && *tp) rd_kafka_header_add(hdrs, "traceparent", -1, tp, -1);
    if (ts && *ts) rd_kafka_header_add(hdrs, "tracestate", -1, ts, -1);
}
