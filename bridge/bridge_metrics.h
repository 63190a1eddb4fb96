/*
 * bridge_metrics.h -- baton-bridge's metrics and health endpoint
 * (common/httpd.h) when bridge.metrics.listen is set.
 *
 * main.c calls baton_bridge_metrics_tick after every turn of the loop
 * (loop.h): the liveness beat, the bridge's counters copied into the
 * registry, readiness (baton_bridge_not_ready) kept for the endpoint's
 * thread.  librdkafka's statistics of the bridge's clients arrive through
 * the kafka_stats.h object handed to baton_bridge_new.
 *
 * Threads: new, tick and destroy on the main thread.
 */
#ifndef BATON_BRIDGE_METRICS_H
#define BATON_BRIDGE_METRICS_H

#include "config.h"
#include "kafka_stats.h"
#include "loop.h"

typedef struct baton_bridge_metrics baton_bridge_metrics_t;

/* *out = NULL when bridge.metrics.listen is empty, else the started
 * endpoint; errors (address, bind) fill errstr. */
baton_err_t baton_bridge_metrics_new(const baton_conf_t *conf,
                                     baton_bridge_metrics_t **out, char *errstr,
                                     size_t errlen);
void baton_bridge_metrics_destroy(baton_bridge_metrics_t *bm); /* NULL ok */

/* Where librdkafka's statistics go (for baton_bridge_new); NULL when bm
 * is NULL. */
baton_kafka_stats_t *baton_bridge_metrics_kafka(baton_bridge_metrics_t *bm);

/* After a turn of b (bm NULL: nothing). */
void baton_bridge_metrics_tick(baton_bridge_metrics_t *bm,
                               const baton_bridge_t *b);

#endif /* BATON_BRIDGE_METRICS_H */
