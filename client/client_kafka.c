/*
 * client_kafka.c -- baton_client's Kafka side: producing one command to
 * <topic.prefix>.commands (key = workflow id, partition = murmur2(id) as
 * Kafka's Java client and batond) or any record, waiting for its delivery
 * report; consumer handles that never subscribe (metadata, watermarks,
 * committed offsets); and the first error librdkafka logged, appended to
 * the client's own message.
 *
 * Thread: the caller's, except client_kafka_log (librdkafka's threads).
 * A producer lives for one call, so a handle holds no Kafka state.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "client_int.h"
#include "kafka.h"

/* Outcome of the one message a call produces. */
typedef struct client_delivery {
    int done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
} client_delivery_t;

/* Delivery report callback: runs on the calling thread, from
 * rd_kafka_flush. */
static void client_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                               void *opaque) {
    client_delivery_t *d = m->_private;
    (void)rk;
    (void)opaque;
    if (!d) return;
    d->done = 1;
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
}

/* librdkafka's log callback (any thread): keeps the first error (the root
 * cause, "Connection refused", behind a final "Message timed out") in the
 * client (the handle's opaque), and logs every line as debug "kafka". */
static void client_kafka_log(const rd_kafka_t *rk, int level, const char *fac,
                             const char *buf) {
    baton_client_t *c = rd_kafka_opaque(rk);
    if (c && level <= 3) { /* syslog LOG_ERR and worse */
        pthread_mutex_lock(&c->klog_lock);
        if (!c->klog_first[0])
            snprintf(c->klog_first, sizeof c->klog_first, "%s", buf);
        pthread_mutex_unlock(&c->klog_lock);
    }
    BATON_DEBUG("kafka", "librdkafka %s: %s", fac, buf);
}

__attribute__((format(printf, 5, 6))) baton_client_err_t
client_kafka_fail(baton_client_t *c, char *errstr, size_t errlen,
                  rd_kafka_resp_err_t err, const char *fmt, ...) {
    char what[1024], cause[600] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->klog_lock);
    if (c->klog_first[0])
        snprintf(cause, sizeof cause, " (first Kafka error: %s)",
                 c->klog_first);
    pthread_mutex_unlock(&c->klog_lock);
    return client_fail(errstr, errlen, BATON_CLIENT_E_UNAVAILABLE, "%s: %s%s",
                       what, rd_kafka_err2str(err), cause);
}

/* A producer: partitioner murmur2_random (murmur2 of the key, as Kafka's
 * Java client and batond), message time-out = the client's.  NULL with
 * errstr on failure; the caller owns the handle. */
static rd_kafka_t *client_producer_new(baton_client_t *c, char *errstr,
                                       size_t errlen) {
    char tmo[32], err[256];
    rd_kafka_conf_t *kconf = baton_kafka_conf_new(c->conf, BATON_KAFKA_PRODUCER,
                                                  NULL, errstr, errlen);
    if (!kconf) return NULL;
    snprintf(tmo, sizeof tmo, "%d", c->timeout_ms);
    if (rd_kafka_conf_set(kconf, "partitioner", "murmur2_random", err,
                          sizeof err) ||
        rd_kafka_conf_set(kconf, "message.timeout.ms", tmo, err, sizeof err)) {
        rd_kafka_conf_destroy(kconf);
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "%s", err);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(kconf, client_on_delivery);
    rd_kafka_conf_set_log_cb(kconf, client_kafka_log);
    rd_kafka_conf_set_opaque(kconf, c);
    return baton_kafka_new(kconf, BATON_KAFKA_PRODUCER, errstr, errlen);
}

rd_kafka_t *client_consumer_new(baton_client_t *c, const char *group,
                                char *errstr, size_t errlen) {
    rd_kafka_conf_t *kconf = baton_kafka_conf_new(c->conf, BATON_KAFKA_CONSUMER,
                                                  group, errstr, errlen);
    if (!kconf) return NULL;
    rd_kafka_conf_set_log_cb(kconf, client_kafka_log);
    rd_kafka_conf_set_opaque(kconf, c);
    return baton_kafka_new(kconf, BATON_KAFKA_CONSUMER, errstr, errlen);
}

int32_t baton_client_partition_count(baton_client_t *c) {
    char errstr[512];
    rd_kafka_t *rk;
    int tmo = c->timeout_ms < CLIENT_META_TIMEOUT_MS ? c->timeout_ms
                                                     : CLIENT_META_TIMEOUT_MS;

    if (c->partition_cnt_tried) return c->partition_cnt;
    c->partition_cnt_tried = 1;
    if (!baton_conf_get(c->conf, "kafka.bootstrap.servers")) {
        BATON_DEBUG("client", "no Kafka configured: finding partitions by "
                              "scan");
        return -1;
    }
    if (!(rk = client_consumer_new(c, NULL, errstr, sizeof errstr))) {
        BATON_DEBUG("client", "%s: finding partitions by scan", errstr);
        return -1;
    }
    c->partition_cnt =
        baton_kafka_partition_count(rk, c->topic, tmo, errstr, sizeof errstr);
    if (c->partition_cnt <= 0)
        BATON_DEBUG("client", "%s: finding partitions by scan", errstr);
    rd_kafka_destroy(rk);
    return c->partition_cnt;
}

baton_client_err_t baton_client_kafka_ping(baton_client_t *c, char *errstr,
                                           size_t errlen) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    rd_kafka_t *rk = client_consumer_new(c, NULL, errstr, errlen);
    if (!rk) return BATON_CLIENT_E_UNAVAILABLE;
    err = rd_kafka_metadata(rk, 0, NULL, &md, c->timeout_ms);
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    if (err)
        return client_kafka_fail(
            c, errstr, errlen, err, "reading the metadata of Kafka at %s",
            baton_conf_get(c->conf, "kafka.bootstrap.servers"));
    return BATON_CLIENT_OK;
}

/* Waits for the delivery report of the one message produced on rk into
 * *d; what names it.  Returns 0 or E_UNAVAILABLE (errstr). */
static baton_client_err_t client_await(baton_client_t *c, rd_kafka_t *rk,
                                       const char *what, const char *topic,
                                       client_delivery_t *d, char *errstr,
                                       size_t errlen) {
    const char *brokers = baton_conf_get(c->conf, "kafka.bootstrap.servers");
    rd_kafka_flush(rk, c->timeout_ms + 1000);
    if (!d->done) {
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(rk, 0);
        return client_kafka_fail(c, errstr, errlen,
                                 RD_KAFKA_RESP_ERR__TIMED_OUT,
                                 "%s not acknowledged by Kafka at %s within "
                                 "%d ms, it may or may not have been written",
                                 what, brokers, c->timeout_ms);
    }
    if (d->err)
        return client_kafka_fail(c, errstr, errlen, d->err,
                                 "producing %s to %s at %s", what, topic,
                                 brokers);
    return BATON_CLIENT_OK;
}

/* Produces value to <prefix>.commands keyed by the workflow id and waits
 * for its delivery report into *d. */
static baton_client_err_t client_produce(baton_client_t *c, rd_kafka_t *rk,
                                         const baton_command_t *cmd,
                                         const char *value, size_t len,
                                         client_delivery_t *d, char *errstr,
                                         size_t errlen) {
    char what[BATON_CLIENT_ID_MAX + 64];
    rd_kafka_headers_t *hdrs = baton_kafka_headers_new(c->json_envelope);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(c->topic),
        RD_KAFKA_V_KEY(cmd->workflow_id, strlen(cmd->workflow_id)),
        RD_KAFKA_V_VALUE((void *)value, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);

    snprintf(what, sizeof what, "%s of '%s'", baton_cmd_kind_name(cmd->kind),
             cmd->workflow_id);
    if (err) {
        rd_kafka_headers_destroy(hdrs); /* not taken over on failure */
        return client_kafka_fail(c, errstr, errlen, err, "producing %s to %s",
                                 what, c->topic);
    }
    if (client_await(c, rk, what, c->topic, d, errstr, errlen))
        return BATON_CLIENT_E_UNAVAILABLE;
    BATON_DEBUG("client", "%s written to %s [%d] at offset %" PRId64, what,
                c->topic, (int)d->partition, d->offset);
    return BATON_CLIENT_OK;
}

baton_client_err_t client_send_command(baton_client_t *c,
                                       const baton_command_t *cmd,
                                       json_t **sent, char *errstr,
                                       size_t errlen) {
    char err[512];
    char *buf = NULL;
    size_t len = 0;
    baton_codec_t *codec = baton_codec_new(err, sizeof err);
    rd_kafka_t *rk = NULL;
    client_delivery_t d = {0, RD_KAFKA_RESP_ERR_NO_ERROR, -1, -1};
    baton_client_err_t rc = BATON_CLIENT_E_INTERNAL;

    *sent = NULL;
    if (!codec)
        return client_fail(errstr, errlen, rc,
                           "loading the envelope schemas: %s", err);
    baton_codec_set_crypt(codec, c->crypt); /* START input, signal payload */
    if (baton_codec_encode_command(codec, cmd, c->json_envelope, &buf, &len,
                                   err, sizeof err))
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_INVALID,
                         "encoding %s of '%s': %s",
                         baton_cmd_kind_name(cmd->kind), cmd->workflow_id, err);
    else if (!(rk = client_producer_new(c, errstr, errlen)))
        rc = BATON_CLIENT_E_INVALID; /* a configuration error */
    else if (!(rc = client_produce(c, rk, cmd, buf, len, &d, errstr, errlen)) &&
             !(*sent =
                   json_pack("{ss ss ss si sI}", "id", cmd->workflow_id,
                             "command", baton_cmd_kind_name(cmd->kind), "topic",
                             c->topic, "partition", (int)d.partition, "offset",
                             (json_int_t)d.offset)))
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                         "out of memory");
    if (rk) rd_kafka_destroy(rk);
    baton_free(buf);
    baton_codec_destroy(codec);
    return rc;
}

baton_client_err_t
client_produce_record(baton_client_t *c, const char *what, const char *topic,
                      int32_t partition, const void *key, size_t keylen,
                      const void *value, size_t len, rd_kafka_headers_t *hdrs,
                      int32_t *out_partition, int64_t *out_offset, char *errstr,
                      size_t errlen) {
    client_delivery_t d = {0, RD_KAFKA_RESP_ERR_NO_ERROR, -1, -1};
    rd_kafka_t *rk = client_producer_new(c, errstr, errlen);
    rd_kafka_resp_err_t err;
    baton_client_err_t rc;

    if (!rk) {
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        return BATON_CLIENT_E_INVALID;
    }
    err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY((void *)key, keylen),
        RD_KAFKA_V_VALUE((void *)value, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
    if (err) {
        if (hdrs) rd_kafka_headers_destroy(hdrs); /* not taken on failure */
        rc = client_kafka_fail(c, errstr, errlen, err, "producing %s to %s",
                               what, topic);
    } else
        rc = client_await(c, rk, what, topic, &d, errstr, errlen);
    if (rc == BATON_CLIENT_OK) {
        *out_partition = d.partition;
        *out_offset = d.offset;
    }
    rd_kafka_destroy(rk);
    return rc;
}

rd_kafka_t *baton_client_consumer(baton_client_t *c, const char *group,
                                  char *errstr, size_t errlen) {
    return client_consumer_new(c, group, errstr, errlen);
}
