/*
 * metrics.h -- Prometheus metrics: a registry of counters, gauges and
 * histograms with labels, rendered in the Prometheus text exposition
 * format 0.0.4 (pure: no sockets; common/httpd.h serves it).
 *
 * Debian has no C Prometheus client library, so this is the small part of
 * one Baton needs.  Every process (batond, the bridge, the workers, the
 * API) owns one registry (no global state), registers its metric families
 * at start and updates them from any thread; docs/operations.md "Metrics"
 * lists them.
 *
 *   baton_metrics_t *m = baton_metrics_new();
 *   baton_metric_t *runs = baton_metrics_counter(
 *       m, "baton_runs_started_total", "Runs started.", "type");
 *   baton_metric_add(runs, BATON_LV("order"), 1);
 *   char *text = baton_metrics_render(m, &len);    (baton_free it)
 *
 * Rendered text, families in registration order, series in the order
 * they first appeared:
 *
 *   # HELP baton_runs_started_total Runs started.
 *   # TYPE baton_runs_started_total counter
 *   baton_runs_started_total{type="order"} 1
 *   # TYPE baton_x_seconds histogram
 *   baton_x_seconds_bucket{queue="q",le="0.1"} 3      (cumulative)
 *   baton_x_seconds_bucket{queue="q",le="+Inf"} 4     (= _count)
 *   baton_x_seconds_sum{queue="q"} 1.25
 *   baton_x_seconds_count{queue="q"} 4
 *
 * Label values are escaped (\\, \", \n), HELP text too (\\, \n).  A
 * family keeps at most BATON_METRICS_SERIES_MAX series: updates of further
 * label combinations are dropped (a cardinality guard: labels are queues,
 * workflow types, partitions and brokers, never ids).
 *
 * Threads: every call may run on any thread; one mutex per registry.
 */
#ifndef BATON_METRICS_H
#define BATON_METRICS_H

#include <stddef.h>

#include "baton_common.h"

#define BATON_METRICS_SERIES_MAX 10000
#define BATON_METRICS_LABELS_MAX 8

typedef struct baton_metrics baton_metrics_t;
typedef struct baton_metric baton_metric_t; /* one family, owned by the
                                               registry */

/* Label values in the order of the family's label names, e.g.
 * BATON_LV("queue-a", "llm.chat"); NULL for a family without labels. */
#define BATON_LV(...) ((const char *const[]){__VA_ARGS__})

/* Latency buckets in seconds (0.5 ms .. 10 min) and size buckets (1 ..
 * 10000), for the histograms Baton registers. */
extern const double baton_metrics_latency_buckets[];
extern const size_t baton_metrics_latency_nbuckets;
extern const double baton_metrics_size_buckets[];
extern const size_t baton_metrics_size_nbuckets;

baton_metrics_t *baton_metrics_new(void);
void baton_metrics_destroy(baton_metrics_t *m); /* NULL is a no-op */

/* Register a family.  labels: comma-separated label names ("queue,type"),
 * NULL or "" for none.  Registering a name again with the same type and
 * labels returns the same family; with another type or labels, or a name
 * or label name that is not valid, NULL.  Also NULL on out of memory.
 * The family is owned by m and lives until baton_metrics_destroy. */
baton_metric_t *baton_metrics_counter(baton_metrics_t *m, const char *name,
                                      const char *help, const char *labels);
baton_metric_t *baton_metrics_gauge(baton_metrics_t *m, const char *name,
                                    const char *help, const char *labels);
/* bounds: the upper bounds of the buckets, strictly increasing, copied;
 * the +Inf bucket is implied. */
baton_metric_t *baton_metrics_histogram(baton_metrics_t *m, const char *name,
                                        const char *help, const char *labels,
                                        const double *bounds, size_t nbounds);

/* Counter: adds v (>= 0; a negative v is ignored).  Gauge: adds v. */
void baton_metric_add(baton_metric_t *f, const char *const *lv, double v);
/* Gauge: sets v.  (On a counter: sets v when it is not below the current
 * value, for counters copied from elsewhere, e.g. librdkafka's totals.) */
void baton_metric_set(baton_metric_t *f, const char *const *lv, double v);
/* Histogram: counts v in its bucket, adds it to the sum. */
void baton_metric_observe(baton_metric_t *f, const char *const *lv, double v);
/* Removes every series of the family (a gauge set whose label set changed:
 * partitions revoked, brokers gone).  Counters and histograms keep theirs
 * unless cleared on purpose. */
void baton_metric_clear(baton_metric_t *f);
/* Removes the series whose label `label` has value `value` (one Kafka
 * client's partitions, say); a label the family lacks removes nothing. */
void baton_metric_clear_where(baton_metric_t *f, const char *label,
                              const char *value);
/* The value of a counter or gauge series (a histogram's count), 0 when the
 * series does not exist (tests, the KEDA backlog endpoint). */
double baton_metric_get(baton_metric_t *f, const char *const *lv);

/* Registers and sets baton_build_info{version,program} 1. */
void baton_metrics_build_info(baton_metrics_t *m, const char *program);

/* The text format of every family, NUL-terminated, baton_malloc'd (the
 * caller frees); *len (may be NULL) its length.  NULL on out of memory. */
char *baton_metrics_render(baton_metrics_t *m, size_t *len);

/* The content type of the rendered text. */
#define BATON_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The version reported by baton_build_info. */
#ifndef BATON_VERSION
#define BATON_VERSION "0.1.0"
#endif

#endif /* BATON_METRICS_H */
