/*
 * kafka_io.c -- batonctl's Kafka side: producing one command to
 * <topic.prefix>.commands (key = workflow id, partition = murmur2(id) as
 * Kafka's Java client and batond) and waiting for its delivery report,
 * consumer handles that never subscribe (metadata, watermarks, committed
 * offsets for lag), and the first error librdkafka logged, appended to
 * batonctl's own message.
 *
 * Thread: the main thread, except ctl_kafka_log (librdkafka's threads).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "batonctl.h"
#include "kafka.h"

/* ---- Kafka -------------------------------------------------------------- */

/* Outcome of the one message batonctl produces. */
typedef struct ctl_delivery {
    int done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
} ctl_delivery_t;

/* Delivery report callback: runs on the main thread, from rd_kafka_flush. */
static void ctl_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                            void *opaque) {
    ctl_delivery_t *d = m->_private;
    (void)rk;
    (void)opaque;
    if (!d) return;
    d->done = 1;
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
}

/* The first error librdkafka logged (its log callback runs on librdkafka's
 * threads, hence the lock): the root cause ("Connection refused") behind a
 * final "Message timed out", appended to batonctl's own message. */
static pthread_mutex_t ctl_klog_lock = PTHREAD_MUTEX_INITIALIZER;
static char ctl_klog_first[512];

/* librdkafka's log callback (any thread): every line becomes a debug line
 * of context "kafka" (-X log.level=debug -X log.debug=kafka shows them). */
static void ctl_kafka_log(const rd_kafka_t *rk, int level, const char *fac,
                          const char *buf) {
    (void)rk;
    if (level <= 3) { /* syslog LOG_ERR and worse */
        pthread_mutex_lock(&ctl_klog_lock);
        if (!ctl_klog_first[0])
            snprintf(ctl_klog_first, sizeof ctl_klog_first, "%s", buf);
        pthread_mutex_unlock(&ctl_klog_lock);
    }
    BATON_DEBUG("kafka", "librdkafka %s: %s", fac, buf);
}

/* " (first Kafka error: ...)" or "" into buf; returns buf. */
static const char *ctl_kafka_cause(char *buf, size_t len) {
    pthread_mutex_lock(&ctl_klog_lock);
    if (ctl_klog_first[0])
        snprintf(buf, len, " (first Kafka error: %s)", ctl_klog_first);
    else
        snprintf(buf, len, "%s", "");
    pthread_mutex_unlock(&ctl_klog_lock);
    return buf;
}

/* Prints "batonctl: <what>: <Kafka error> (first Kafka error: ...)";
 * returns BATON_CLI_EXIT_FAIL. */
__attribute__((format(printf, 2, 3))) int
ctl_kafka_fail(rd_kafka_resp_err_t err, const char *fmt, ...) {
    char what[1024], cause[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ctl_fail("%s: %s%s", what, rd_kafka_err2str(err),
                    ctl_kafka_cause(cause, sizeof cause));
}

/* A producer for commands: partitioner murmur2_random (murmur2 of the key,
 * as Kafka's Java client and batond), message time-out = -t.  Returns NULL
 * with errstr on failure; the caller owns the handle. */
static rd_kafka_t *ctl_producer_new(ctl_t *ctl, char *errstr, size_t errlen) {
    char tmo[32], err[256];
    rd_kafka_conf_t *kconf = baton_kafka_conf_new(
        ctl->conf, BATON_KAFKA_PRODUCER, NULL, errstr, errlen);
    if (!kconf) return NULL;
    snprintf(tmo, sizeof tmo, "%d", ctl->o.timeout_ms);
    if (rd_kafka_conf_set(kconf, "partitioner", "murmur2_random", err,
                          sizeof err) ||
        rd_kafka_conf_set(kconf, "message.timeout.ms", tmo, err, sizeof err)) {
        rd_kafka_conf_destroy(kconf);
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "%s", err);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(kconf, ctl_on_delivery);
    rd_kafka_conf_set_log_cb(kconf, ctl_kafka_log);
    return baton_kafka_new(kconf, BATON_KAFKA_PRODUCER, errstr, errlen);
}

/* A consumer handle that never subscribes: for metadata and watermarks
 * (group NULL) or committed offsets of a group.  NULL with errstr on
 * failure; the caller owns it. */
rd_kafka_t *ctl_consumer_new(ctl_t *ctl, const char *group, char *errstr,
                             size_t errlen) {
    rd_kafka_conf_t *kconf = baton_kafka_conf_new(
        ctl->conf, BATON_KAFKA_CONSUMER, group, errstr, errlen);
    if (!kconf) return NULL;
    rd_kafka_conf_set_log_cb(kconf, ctl_kafka_log);
    return baton_kafka_new(kconf, BATON_KAFKA_CONSUMER, errstr, errlen);
}

/* Partition count of <prefix>.commands, looked up once; -1 when Kafka is
 * not configured or not reachable (callers then scan Redis). */
int32_t ctl_partition_count(ctl_t *ctl) {
    char errstr[512];
    rd_kafka_t *rk;
    int tmo = ctl->o.timeout_ms < CTL_META_TIMEOUT_MS ? ctl->o.timeout_ms
                                                      : CTL_META_TIMEOUT_MS;

    if (ctl->partition_cnt_tried) return ctl->partition_cnt;
    ctl->partition_cnt_tried = 1;
    if (!baton_conf_get(ctl->conf, "kafka.bootstrap.servers")) {
        BATON_DEBUG("ctl", "no Kafka configured: finding partitions by scan");
        return -1;
    }
    if (!(rk = ctl_consumer_new(ctl, NULL, errstr, sizeof errstr))) {
        BATON_DEBUG("ctl", "%s: finding partitions by scan", errstr);
        return -1;
    }
    ctl->partition_cnt =
        baton_kafka_partition_count(rk, ctl->topic, tmo, errstr, sizeof errstr);
    if (ctl->partition_cnt <= 0)
        BATON_DEBUG("ctl", "%s: finding partitions by scan", errstr);
    rd_kafka_destroy(rk);
    return ctl->partition_cnt;
}

/* Prints what was sent: the id (text) or {"id","command","topic",
 * "partition","offset"} (json). */
static int ctl_print_sent(ctl_t *ctl, const baton_command_t *cmd,
                          const ctl_delivery_t *d) {
    json_t *o;
    int rc;
    if (!ctl->o.json_out) {
        printf("%s\n", cmd->workflow_id);
        return BATON_CLI_EXIT_OK;
    }
    o = json_pack("{ss ss ss si sI}", "id", cmd->workflow_id, "command",
                  baton_cmd_kind_name(cmd->kind), "topic", ctl->topic,
                  "partition", (int)d->partition, "offset",
                  (json_int_t)d->offset);
    if (!o) return ctl_fail("out of memory");
    rc = ctl_print_json(o);
    json_decref(o);
    return rc;
}

/* Produces value to <prefix>.commands keyed by the workflow id and waits
 * for its delivery report into *d.  Returns an exit code (error printed). */
static int ctl_produce(ctl_t *ctl, rd_kafka_t *rk, const baton_command_t *cmd,
                       const char *value, size_t len, ctl_delivery_t *d) {
    const char *what = baton_cmd_kind_name(cmd->kind);
    const char *brokers = baton_conf_get(ctl->conf, "kafka.bootstrap.servers");
    rd_kafka_headers_t *hdrs = baton_kafka_headers_new(ctl->o.json_envelope);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(ctl->topic),
        RD_KAFKA_V_KEY(cmd->workflow_id, strlen(cmd->workflow_id)),
        RD_KAFKA_V_VALUE((void *)value, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);

    if (err) {
        rd_kafka_headers_destroy(hdrs); /* not taken over on failure */
        return ctl_kafka_fail(err, "producing %s of '%s' to %s", what,
                              cmd->workflow_id, ctl->topic);
    }
    rd_kafka_flush(rk, ctl->o.timeout_ms + 1000);
    if (!d->done) {
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(rk, 0);
        return ctl_kafka_fail(RD_KAFKA_RESP_ERR__TIMED_OUT,
                              "%s of '%s' not acknowledged by Kafka at %s "
                              "within %d ms, it may or may not have been "
                              "written",
                              what, cmd->workflow_id, brokers,
                              ctl->o.timeout_ms);
    }
    if (d->err)
        return ctl_kafka_fail(d->err, "producing %s of '%s' to %s at %s", what,
                              cmd->workflow_id, ctl->topic, brokers);
    BATON_DEBUG("ctl", "%s of '%s' written to %s [%d] at offset %" PRId64, what,
                cmd->workflow_id, ctl->topic, (int)d->partition, d->offset);
    return BATON_CLI_EXIT_OK;
}

/* Encodes cmd (Avro, or JSON with --json), produces it and prints what was
 * sent.  Returns an exit code. */
int ctl_send_command(ctl_t *ctl, const baton_command_t *cmd) {
    char errstr[512];
    char *buf = NULL;
    size_t len = 0;
    baton_codec_t *codec = baton_codec_new(errstr, sizeof errstr);
    rd_kafka_t *rk = NULL;
    ctl_delivery_t d = {0, RD_KAFKA_RESP_ERR_NO_ERROR, -1, -1};
    int rc = BATON_CLI_EXIT_FAIL;

    if (!codec) return ctl_fail("loading the envelope schemas: %s", errstr);
    if (baton_codec_encode_command(codec, cmd, ctl->o.json_envelope, &buf, &len,
                                   errstr, sizeof errstr))
        ctl_fail("encoding %s of '%s': %s", baton_cmd_kind_name(cmd->kind),
                 cmd->workflow_id, errstr);
    else if (!(rk = ctl_producer_new(ctl, errstr, sizeof errstr)))
        ctl_fail("%s", errstr);
    else if ((rc = ctl_produce(ctl, rk, cmd, buf, len, &d)) ==
             BATON_CLI_EXIT_OK)
        rc = ctl_print_sent(ctl, cmd, &d);
    if (rk) rd_kafka_destroy(rk);
    baton_free(buf);
    baton_codec_destroy(codec);
    return rc;
}

/* Produces one record (value, key, hdrs) to topic -- partition, or
 * RD_KAFKA_PARTITION_UA for murmur2 of the key -- with the command
 * producer's settings (idempotent, -t time-out) and waits for its delivery
 * report; *out_partition and *out_offset say where it went.  hdrs (may be
 * NULL) is consumed.  Returns an exit code (error printed, naming what). */
int ctl_produce_record(ctl_t *ctl, const char *what, const char *topic,
                       int32_t partition, const void *key, size_t keylen,
                       const void *value, size_t len, rd_kafka_headers_t *hdrs,
                       int32_t *out_partition, int64_t *out_offset) {
    char errstr[512];
    const char *brokers = baton_conf_get(ctl->conf, "kafka.bootstrap.servers");
    ctl_delivery_t d = {0, RD_KAFKA_RESP_ERR_NO_ERROR, -1, -1};
    rd_kafka_t *rk = ctl_producer_new(ctl, errstr, sizeof errstr);
    rd_kafka_resp_err_t err;
    int rc = BATON_CLI_EXIT_OK;

    if (!rk) {
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        return ctl_fail("%s", errstr);
    }
    err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY((void *)key, keylen),
        RD_KAFKA_V_VALUE((void *)value, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
    if (err) {
        if (hdrs) rd_kafka_headers_destroy(hdrs); /* not taken on failure */
        rc = ctl_kafka_fail(err, "producing %s to %s", what, topic);
    } else {
        rd_kafka_flush(rk, ctl->o.timeout_ms + 1000);
        if (!d.done) {
            rd_kafka_purge(rk,
                           RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_poll(rk, 0);
            rc = ctl_kafka_fail(RD_KAFKA_RESP_ERR__TIMED_OUT,
                                "%s not acknowledged by Kafka at %s within "
                                "%d ms, it may or may not have been written",
                                what, brokers, ctl->o.timeout_ms);
        } else if (d.err)
            rc = ctl_kafka_fail(d.err, "producing %s to %s at %s", what, topic,
                                brokers);
    }
    if (rc == BATON_CLI_EXIT_OK) {
        *out_partition = d.partition;
        *out_offset = d.offset;
    }
    rd_kafka_destroy(rk);
    return rc;
}
