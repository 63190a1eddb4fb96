/*
 * kafka.c -- librdkafka configuration, topic names and headers (kafka.h).
 */
#include "kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "redact.h"

typedef struct kconf_ctx {
    rd_kafka_conf_t *kconf;
    char *errstr;
    size_t errlen;
    const char *prefix;
} kconf_ctx_t;

static int kconf_apply(const char *key, const char *value, void *opaque) {
    kconf_ctx_t *c = opaque;
    char err[256];
    /* kafka.consumer.X / kafka.producer.X are applied in their own pass. */
    if (!strncmp(key, "consumer.", 9) || !strncmp(key, "producer.", 9))
        return 0;
    if (rd_kafka_conf_set(c->kconf, key, value, err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
        /* librdkafka may quote the value: never a secret in an error. */
        if (baton_redact_is_secret_key(key)) baton_redact_in(err, value);
        baton_seterr(c->errstr, c->errlen, BATON_ERR_CONFIG, "%s%s: %s",
                     c->prefix, key, err);
        return -1;
    }
    return 0;
}

static int kconf_set_all(rd_kafka_conf_t *kconf, const char *const *kv,
                         char *errstr, size_t errlen) {
    char err[256];
    for (; *kv; kv += 2)
        if (rd_kafka_conf_set(kconf, kv[0], kv[1], err, sizeof err) !=
            RD_KAFKA_CONF_OK) {
            baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "%s: %s", kv[0],
                         err);
            return -1;
        }
    return 0;
}

rd_kafka_conf_t *baton_kafka_conf_new(const baton_conf_t *conf,
                                      baton_kafka_role_t role,
                                      const char *group_id, char *errstr,
                                      size_t errlen) {
    static const char *const producer_defaults[] = {
        "enable.idempotence", "true", "linger.ms", "0", "message.timeout.ms",
        "300000",
        /* murmur2 of the key, as Kafka's Java client: a workflow's
         * messages land where any standard client would put them. */
        "partitioner", "murmur2_random", NULL};
    static const char *const consumer_defaults[] = {
        "enable.auto.commit",
        "false",
        "enable.auto.offset.store",
        "false",
        "auto.offset.reset",
        "earliest",
        "fetch.wait.max.ms",
        "100",
        "partition.assignment.strategy",
        "range",
        NULL};
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    kconf_ctx_t ctx = {kconf, errstr, errlen, "kafka."};
    const char *bs = baton_conf_get(conf, "kafka.bootstrap.servers");

    if (!bs) {
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                     "no Kafka brokers configured: set "
                     "kafka.bootstrap.servers, BATON_KAFKA_BROKERS, or "
                     "start the dev stack (make dev)");
        goto fail;
    }
    if (kconf_set_all(kconf,
                      role == BATON_KAFKA_PRODUCER ? producer_defaults
                                                   : consumer_defaults,
                      errstr, errlen))
        goto fail;
    if (role == BATON_KAFKA_CONSUMER && group_id) {
        const char *kv[] = {"group.id", group_id, NULL};
        if (kconf_set_all(kconf, kv, errstr, errlen)) goto fail;
    }
    if (baton_conf_foreach(conf, "kafka.", kconf_apply, &ctx)) goto fail;
    ctx.prefix =
        role == BATON_KAFKA_PRODUCER ? "kafka.producer." : "kafka.consumer.";
    if (baton_conf_foreach(conf, ctx.prefix, kconf_apply, &ctx)) goto fail;
    return kconf;
fail:
    rd_kafka_conf_destroy(kconf);
    return NULL;
}

void baton_kafka_conf_stats(rd_kafka_conf_t *kconf, const baton_conf_t *conf,
                            baton_kafka_stats_cb_t cb) {
    char errstr[256];
    if (!baton_conf_get(conf, "kafka.statistics.interval.ms") &&
        !baton_conf_get(conf, "kafka.consumer.statistics.interval.ms") &&
        !baton_conf_get(conf, "kafka.producer.statistics.interval.ms"))
        rd_kafka_conf_set(kconf, "statistics.interval.ms", "5000", errstr,
                          sizeof errstr);
    rd_kafka_conf_set_stats_cb(kconf, cb);
}

rd_kafka_t *baton_kafka_new(rd_kafka_conf_t *kconf, baton_kafka_role_t role,
                            char *errstr, size_t errlen) {
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(
        role == BATON_KAFKA_PRODUCER ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER,
        kconf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(kconf);
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                     "creating Kafka client: %s", err);
        return NULL;
    }
    if (role == BATON_KAFKA_CONSUMER) rd_kafka_poll_set_consumer(rk);
    return rk;
}

const char *baton_topic(const baton_conf_t *conf, const char *suffix, char *buf,
                        size_t len) {
    snprintf(buf, len, "%s.%s", baton_conf_get(conf, "topic.prefix"), suffix);
    return buf;
}

int32_t baton_kafka_partition_count(rd_kafka_t *rk, const char *topic,
                                    int timeout_ms, char *errstr,
                                    size_t errlen) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;
    int32_t cnt = -1;

    if (!rkt) {
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA, "topic %s: %s", topic,
                     rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (err) {
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                     "metadata of topic %s: %s", topic, rd_kafka_err2str(err));
    } else if (md->topic_cnt != 1 || md->topics[0].err) {
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA, "topic %s: %s", topic,
                     md->topic_cnt ? rd_kafka_err2str(md->topics[0].err)
                                   : "not in metadata");
    } else {
        cnt = md->topics[0].partition_cnt;
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return cnt;
}

int baton_kafka_err_permanent(rd_kafka_resp_err_t err) {
    switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS: return 1;
    default: return 0;
    }
}

/* The value of config entry `name` of the first resource of a
 * DescribeConfigs result event, as an integer, or -1 with errstr. */
static int64_t describe_configs_int(rd_kafka_event_t *ev, const char *name,
                                    char *errstr, size_t errlen) {
    const rd_kafka_DescribeConfigs_result_t *r;
    const rd_kafka_ConfigResource_t **rs;
    const rd_kafka_ConfigEntry_t **es;
    size_t nr = 0, ne = 0;
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errlen, "%s", rd_kafka_event_error_string(ev));
        return -1;
    }
    if (!(r = rd_kafka_event_DescribeConfigs_result(ev)) ||
        !(rs = rd_kafka_DescribeConfigs_result_resources(r, &nr)) || !nr) {
        snprintf(errstr, errlen, "no resource in the answer");
        return -1;
    }
    if (rd_kafka_ConfigResource_error(rs[0])) {
        snprintf(errstr, errlen, "%s",
                 rd_kafka_ConfigResource_error_string(rs[0]));
        return -1;
    }
    es = rd_kafka_ConfigResource_configs(rs[0], &ne);
    for (size_t i = 0; i < ne; i++)
        if (!strcmp(rd_kafka_ConfigEntry_name(es[i]), name) &&
            rd_kafka_ConfigEntry_value(es[i]))
            return strtoll(rd_kafka_ConfigEntry_value(es[i]), NULL, 10);
    snprintf(errstr, errlen, "the broker did not say %s", name);
    return -1;
}

int64_t baton_kafka_topic_max_message_bytes(rd_kafka_t *rk, const char *topic,
                                            int timeout_ms, char *errstr,
                                            size_t errlen) {
    rd_kafka_ConfigResource_t *res =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t *opt =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_event_t *ev;
    int64_t v = -1;
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(opt, timeout_ms, err, sizeof err);
    rd_kafka_DescribeConfigs(rk, &res, 1, opt, q);
    if (!(ev = rd_kafka_queue_poll(q, timeout_ms + 1000)))
        snprintf(errstr, errlen, "describing topic %s: no answer in %d ms",
                 topic, timeout_ms);
    else if ((v = describe_configs_int(ev, "max.message.bytes", err,
                                       sizeof err)) < 0)
        snprintf(errstr, errlen, "describing topic %s: %s", topic, err);
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_ConfigResource_destroy(res);
    return v;
}

int baton_kafka_msg_is_json(const rd_kafka_message_t *m) {
    rd_kafka_headers_t *hdrs;
    const void *val;
    size_t size;
    if (rd_kafka_message_headers(m, &hdrs)) return 0;
    if (rd_kafka_header_get_last(hdrs, "content-type", &val, &size)) return 0;
    return size == strlen(BATON_CONTENT_TYPE_JSON) &&
           !memcmp(val, BATON_CONTENT_TYPE_JSON, size);
}

rd_kafka_headers_t *baton_kafka_headers_new(int json) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    const char *ct = json ? BATON_CONTENT_TYPE_JSON : BATON_CONTENT_TYPE_AVRO;
    rd_kafka_header_add(h, "content-type", -1, ct, -1);
    return h;
}
