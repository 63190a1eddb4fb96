/*
 * kafka_stats.h -- librdkafka's statistics re-exported as Prometheus
 * metrics (pure: parses the JSON librdkafka hands its stats callback,
 * every statistics.interval.ms, into a metrics registry, metrics.h).
 *
 * What is kept (docs/operations.md "Metrics"), labelled with the client's
 * name (rdkafka#producer-1 ...) and, per broker or partition, with those:
 *
 *   baton_kafka_messages_sent_total / _received_total   txmsgs / rxmsgs
 *   baton_kafka_sent_bytes_total / _received_bytes_total
 *   baton_kafka_queue_messages / baton_kafka_queue_bytes  msg_cnt / msg_size
 *   baton_kafka_reply_queue_ops                          replyq
 *   baton_kafka_broker_rtt_avg_seconds / _p99_seconds    brokers[].rtt
 *   baton_kafka_broker_requests_in_flight                waitresp_cnt
 *   baton_kafka_broker_errors_total                      txerrs + rxerrs
 *   baton_kafka_consumer_lag{topic,partition}            consumer_lag >= 0
 *   baton_kafka_fetch_queue_messages{topic,partition}    fetchq_cnt
 *   baton_kafka_assigned_partitions / baton_kafka_rebalances_total  cgrp
 *
 * A client's broker and partition series are replaced whole at each
 * update, so revoked partitions and gone brokers disappear.
 *
 * Threads: any (the registry locks); one update at a time per client.
 */
#ifndef BATON_KAFKA_STATS_H
#define BATON_KAFKA_STATS_H

#include "metrics.h"

typedef struct baton_kafka_stats baton_kafka_stats_t;

/* Registers the families in m (borrowed: must outlive the result).  NULL
 * on out of memory. */
baton_kafka_stats_t *baton_kafka_stats_new(baton_metrics_t *m);
void baton_kafka_stats_destroy(baton_kafka_stats_t *ks); /* NULL: no-op */

/* Reads one statistics document; BATON_ERR_INVALID when it is not JSON
 * (errstr says why).  ks NULL: nothing, BATON_OK. */
baton_err_t baton_kafka_stats_update(baton_kafka_stats_t *ks, const char *json,
                                     size_t len, char *errstr, size_t errlen);

#endif /* BATON_KAFKA_STATS_H */
