/*
 * otlp.h -- the span exporter: OTLP/HTTP with the JSON encoding, over
 * libcurl, from a background thread (an edge: the pure core only records
 * spans, trace.h; docs/tracing.md).
 *
 * baton_otlp_add() never blocks and never fails the caller: a span goes
 * into a bounded queue, or is dropped and counted when the queue is full.
 * The thread sends batches (at most 512 spans, at least every 500 ms) as
 * one POST to <endpoint>/v1/traces (an endpoint already ending in
 * /v1/traces is used as is); a collector that is down or slow costs
 * dropped spans, never workflow progress.
 *
 * Thread: baton_otlp_add and baton_otlp_stats from any thread; new and
 * destroy from the owner's.
 */
#ifndef BATON_OTLP_H
#define BATON_OTLP_H

#include "config.h"
#include "trace.h"

typedef struct baton_otlp baton_otlp_t;

typedef struct baton_otlp_stats {
    int64_t queued;  /* spans accepted */
    int64_t sent;    /* spans the collector acknowledged (2xx) */
    int64_t dropped; /* spans dropped: queue full, or their batch failed */
    int64_t failed;  /* POSTs that failed */
} baton_otlp_stats_t;

/* An exporter to endpoint (copied) for service (copied), keeping at most
 * queue_max spans; NULL with errstr when it cannot start. */
baton_otlp_t *baton_otlp_new(const char *endpoint, const char *service,
                             size_t queue_max, char *errstr, size_t errlen);
/* The exporter conf asks for (tracing.otlp.endpoint, tracing.queue.max,
 * tracing.service.name, else default_service): NULL without an endpoint
 * (tracing off, *errstr "") or with errstr when it cannot start. */
baton_otlp_t *baton_otlp_from_conf(const baton_conf_t *conf,
                                   const char *default_service, char *errstr,
                                   size_t errlen);
/* Queues sp (stolen: *sp is zeroed), or drops it when full.  x NULL: the
 * span is only freed (tracing off). */
void baton_otlp_add(baton_otlp_t *x, baton_span_t *sp);
void baton_otlp_stats(baton_otlp_t *x, baton_otlp_stats_t *out);
/* Sends what is queued (waiting at most about 2 s), stops the thread,
 * frees everything.  NULL is a no-op. */
void baton_otlp_destroy(baton_otlp_t *x);

#endif /* BATON_OTLP_H */
