/*
 * kafka.h -- the thin Kafka edge shared by batond, workers and tools.
 *
 * Builds librdkafka configurations from a baton_conf_t: Baton's defaults
 * first, then every `kafka.*` key, then `kafka.consumer.*` or
 * `kafka.producer.*`, so any librdkafka property can be set from a config
 * file and librdkafka's own error names a bad one.  Also names the topics
 * (all under `topic.prefix`) and reads the headers Baton uses.
 *
 * Latency defaults, chosen on purpose (see README "Latency settings"):
 * producers linger.ms=0 (a message leaves as soon as it is produced; under
 * load librdkafka still batches while requests are in flight) and are
 * idempotent; consumers fetch.wait.max.ms=100 (a real broker answers a
 * fetch as soon as data arrives, so this only bounds idle polling).  The
 * dev stack lowers fetch.wait.max.ms to 1 because the embedded broker holds
 * an empty fetch for the whole wait.
 */
#ifndef BATON_KAFKA_H
#define BATON_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "config.h"

typedef enum { BATON_KAFKA_PRODUCER, BATON_KAFKA_CONSUMER } baton_kafka_role_t;

/* A new librdkafka conf for role; group_id only for consumers (may be NULL).
 * Returns NULL and fills errstr ("kafka.foo: No such configuration
 * property") on a bad property.  The caller owns the conf until it hands it
 * to baton_kafka_new or rd_kafka_new. */
rd_kafka_conf_t *baton_kafka_conf_new(const baton_conf_t *conf,
                                      baton_kafka_role_t role,
                                      const char *group_id, char *errstr,
                                      size_t errlen);

/* librdkafka's statistics callback (rd_kafka_conf_set_stats_cb). */
typedef int (*baton_kafka_stats_cb_t)(rd_kafka_t *rk, char *json,
                                      size_t json_len, void *opaque);

/* Turns librdkafka's statistics on for kconf: cb (which re-exports them,
 * common/kafka_stats.h, and returns 0) every statistics.interval.ms, 5000
 * unless kafka.statistics.interval.ms (or the role's) is configured. */
void baton_kafka_conf_stats(rd_kafka_conf_t *kconf, const baton_conf_t *conf,
                            baton_kafka_stats_cb_t cb);

/* rd_kafka_new over kconf (consumed, even on failure).  For consumers also
 * redirects the main queue to the consumer queue (rd_kafka_poll_set_consumer). */
rd_kafka_t *baton_kafka_new(rd_kafka_conf_t *kconf, baton_kafka_role_t role,
                            char *errstr, size_t errlen);

/* "<topic.prefix>.<suffix>" into buf; returns buf. */
const char *baton_topic(const baton_conf_t *conf, const char *suffix, char *buf,
                        size_t len);

/* Partition count of topic from the cluster metadata, or -1 with errstr. */
int32_t baton_kafka_partition_count(rd_kafka_t *rk, const char *topic,
                                    int timeout_ms, char *errstr,
                                    size_t errlen);

/* 1 when producing the same message again cannot succeed (too large, a
 * topic or partition that does not exist or refuses it, not authorised,
 * an invalid record ...): its delivery report or producev error is final.
 * 0 for the transient ones (timeouts, leader changes, transport) and OK. */
int baton_kafka_err_permanent(rd_kafka_resp_err_t err);

/* The broker's max.message.bytes of topic (Admin API DescribeConfigs on
 * any client handle rk, waiting at most timeout_ms), or -1 with errstr. */
int64_t baton_kafka_topic_max_message_bytes(rd_kafka_t *rk, const char *topic,
                                            int timeout_ms, char *errstr,
                                            size_t errlen);

/* 1 when the message has header content-type: application/json. */
int baton_kafka_msg_is_json(const rd_kafka_message_t *m);

/* A new header list with content-type set (json or Avro), for producev. */
rd_kafka_headers_t *baton_kafka_headers_new(int json);

#endif /* BATON_KAFKA_H */
