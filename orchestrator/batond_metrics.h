/*
 * batond_metrics.h -- what batond measures, and its operations endpoint
 * (common/httpd.h) when batond.metrics.listen is set.
 *
 * batond.c calls in from its loop thread at a few points, each a no-op
 * when the endpoint is off (bm NULL):
 *
 *   after each batch write   batond_metrics_written: the history events
 *                            written (runs started / closed by type and
 *                            status, run durations, activity
 *                            schedule-to-close latency by queue and type
 *                            -- from ActivityScheduled to the result that
 *                            ended the attempt, as batond saw them), the
 *                            batch size, the Redis write round trip
 *   each turn                batond_metrics_tick: liveness beat, and every
 *                            metrics.refresh.ms the gauges read from
 *                            Redis: outbox depth, timers pending and
 *                            overdue, age of the oldest overdue timer,
 *                            retries waiting per queue (the KEDA backlog)
 *   on (re)assignment        batond_metrics_partitions: readiness
 *   librdkafka statistics    batond_metrics_kafka_stats (kafka_stats.h)
 *
 * Readiness (/readyz): partitions assigned, and Redis answering a PING on
 * the endpoint's own connection (so a Redis outage shows even while the
 * loop thread is blocked reconnecting).  Names and meanings of every
 * metric: docs/operations.md "Metrics".
 *
 * Threads: every call but the endpoint's own callbacks on the loop thread.
 */
#ifndef BATOND_METRICS_H
#define BATOND_METRICS_H

#include <hiredis/hiredis.h>

#include "config.h"
#include "loop.h"
#include "wset.h"

typedef struct batond_metrics batond_metrics_t;

/* *out = NULL when batond.metrics.listen is empty; else the started
 * endpoint.  Errors (address, bind) fill errstr. */
baton_err_t batond_metrics_new(const baton_conf_t *conf, batond_metrics_t **out,
                               char *errstr, size_t errlen);
void batond_metrics_destroy(batond_metrics_t *bm); /* NULL: no-op */
/* The payload keys (common/crypt.h, borrowed, may be NULL) to read the
 * sealed data of history events with (the retry gauge's queue). */
struct baton_crypt;
void batond_metrics_set_crypt(batond_metrics_t *bm,
                              const struct baton_crypt *kr);

/* ws[0..n) were written (those with fenced[i] set were refused), in a
 * batch of msgs Kafka messages, the write taking write_s seconds. */
void batond_metrics_written(batond_metrics_t *bm, baton_wset_t *const *ws,
                            const int *fenced, size_t n, size_t msgs,
                            double write_s);

/* A Redis round trip of op ("write", "load", "refresh") took seconds. */
void batond_metrics_redis(batond_metrics_t *bm, const char *op, double seconds);

/* The number of partitions batond owns now. */
void batond_metrics_partitions(batond_metrics_t *bm, int owned);

/* Liveness beat; every metrics.refresh.ms also reads the Redis gauges of
 * the partitions loop owns (redis may be NULL: skipped). */
void batond_metrics_tick(batond_metrics_t *bm, redisContext *redis,
                         const char *ns, const baton_loop_t *loop,
                         int32_t partition_cnt);

/* One librdkafka statistics document (the stats callback; returns 0 so
 * librdkafka frees json). */
int batond_metrics_kafka_stats(batond_metrics_t *bm, char *json, size_t len);

#endif /* BATOND_METRICS_H */
