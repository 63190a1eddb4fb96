/*
 * client_int.h -- what the files of baton_client (client/) share: the
 * handle's fields, the failure helper and the Kafka and Redis plumbing.
 * Not installed; client.h is the API.
 *
 * Thread: as client.h (one thread per handle), except the Kafka log
 * fields, written from librdkafka's threads under klog_lock.
 */
#ifndef BATON_CLIENT_INT_H
#define BATON_CLIENT_INT_H

#include <pthread.h>

#include <librdkafka/rdkafka.h>

#include "client.h"

#define CLIENT_MAX_PARTITIONS 1024  /* the scan fallback: p0..p1023 */
#define CLIENT_SCAN_CHUNK 128       /* EXISTS per pipelined round trip */
#define CLIENT_POLL_US 10000        /* result polls every 10 ms */
#define CLIENT_META_TIMEOUT_MS 2000 /* optional metadata look-up */

struct baton_client {
    const baton_conf_t *conf;
    int timeout_ms;
    int json_envelope;
    redisContext *redis;   /* opened on first use */
    int32_t partition_cnt; /* from Kafka metadata; -1 unknown */
    int partition_cnt_tried;
    int32_t wf_partition; /* where workflow wf_id was found; -1 */
    char wf_id[BATON_CLIENT_ID_MAX + 1];
    char topic[256]; /* <prefix>.commands */
    pthread_mutex_t klog_lock;
    char klog_first[512];      /* the first error librdkafka logged */
    struct baton_crypt *crypt; /* payload keys (crypt.*), or NULL */
};

/* Formats errstr and returns err. */
__attribute__((format(printf, 4, 5))) baton_client_err_t
client_fail(char *errstr, size_t errlen, baton_client_err_t err,
            const char *fmt, ...);
/* "<what>: <Kafka error> (first Kafka error: ...)"; returns
 * E_UNAVAILABLE. */
__attribute__((format(printf, 5, 6))) baton_client_err_t
client_kafka_fail(baton_client_t *c, char *errstr, size_t errlen,
                  rd_kafka_resp_err_t err, const char *fmt, ...);

/* client_kafka.c */
rd_kafka_t *client_consumer_new(baton_client_t *c, const char *group,
                                char *errstr, size_t errlen);
baton_client_err_t client_send_command(baton_client_t *c,
                                       const baton_command_t *cmd,
                                       json_t **sent, char *errstr,
                                       size_t errlen);
baton_client_err_t
client_produce_record(baton_client_t *c, const char *what, const char *topic,
                      int32_t partition, const void *key, size_t keylen,
                      const void *value, size_t len, rd_kafka_headers_t *hdrs,
                      int32_t *out_partition, int64_t *out_offset, char *errstr,
                      size_t errlen);

/* client_crypt.c: payload encryption on the client's reads */
/* Opens a snapshot's stored text (sealed whole, place "snapshot"): *plain
 * the text to parse (baton_malloc'd) or NULL when it was not sealed.
 * BATON_CLIENT_E_CONFLICT, naming the key id, when it cannot be opened. */
baton_client_err_t client_open_snapshot(baton_client_t *c, const char *id,
                                        const char *text, size_t len,
                                        char **plain, char *errstr,
                                        size_t errlen);
/* Opens the sealed "data" of each history event of run id in events. */
baton_client_err_t client_open_events(baton_client_t *c, const char *id,
                                      json_t *events, char *errstr,
                                      size_t errlen);

/* client_redis.c */
redisContext *client_redis(baton_client_t *c, char *errstr, size_t errlen);
redisReply *client_redis_next(baton_client_t *c, const char *what, char *errstr,
                              size_t errlen);
/* 1 found (c->wf_partition set), 0 not found, -1 error (errstr). */
int client_locate(baton_client_t *c, const char *id, int scan, char *errstr,
                  size_t errlen);
json_t *client_snap_unreadable(const char *id, const char *why);
/* The claim check (common/blob.h): replaces *v (owned) by its value with
 * every reference resolved from the blobs of partition (c->redis must be
 * open); *v untouched on failure (errstr says why). */
baton_client_err_t client_resolve(baton_client_t *c, int32_t partition,
                                  json_t **v, char *errstr, size_t errlen);

#endif
