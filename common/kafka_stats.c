/*
 * kafka_stats.c -- librdkafka's statistics JSON into metrics
 * (kafka_stats.h).  Field names as librdkafka's STATISTICS.md documents
 * them (2.0.2): top-level counters, brokers.<name>.rtt (microseconds),
 * topics.<t>.partitions.<p>, cgrp.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "kafka_stats.h"

struct baton_kafka_stats {
    baton_metric_t *txmsgs, *rxmsgs, *txbytes, *rxbytes, *qmsgs, *qbytes,
        *replyq, *rtt_avg, *rtt_p99, *inflight, *berrs, *lag, *fetchq,
        *assigned, *rebalances;
};

baton_kafka_stats_t *baton_kafka_stats_new(baton_metrics_t *m) {
    baton_kafka_stats_t *ks = baton_calloc(1, sizeof *ks);
    const char *cb = "client,broker", *ctp = "client,topic,partition";
    if (!ks) return NULL;
    ks->txmsgs = baton_metrics_counter(m, "baton_kafka_messages_sent_total",
                                       "Messages a Kafka client sent to "
                                       "brokers (librdkafka txmsgs).",
                                       "client");
    ks->rxmsgs = baton_metrics_counter(
        m, "baton_kafka_messages_received_total",
        "Messages a Kafka client received from brokers (rxmsgs).", "client");
    ks->txbytes =
        baton_metrics_counter(m, "baton_kafka_sent_bytes_total",
                              "Message bytes sent (txmsg_bytes).", "client");
    ks->rxbytes = baton_metrics_counter(m, "baton_kafka_received_bytes_total",
                                        "Message bytes received (rxmsg_bytes).",
                                        "client");
    ks->qmsgs = baton_metrics_gauge(
        m, "baton_kafka_queue_messages",
        "Messages waiting in the client's producer queues (msg_cnt).",
        "client");
    ks->qbytes =
        baton_metrics_gauge(m, "baton_kafka_queue_bytes",
                            "Bytes of those messages (msg_size).", "client");
    ks->replyq = baton_metrics_gauge(
        m, "baton_kafka_reply_queue_ops",
        "Callbacks and events waiting to be polled (replyq).", "client");
    ks->rtt_avg = baton_metrics_gauge(
        m, "baton_kafka_broker_rtt_avg_seconds",
        "Kafka request round-trip time to a broker, average over the last "
        "statistics interval.",
        cb);
    ks->rtt_p99 = baton_metrics_gauge(
        m, "baton_kafka_broker_rtt_p99_seconds",
        "Kafka request round-trip time to a broker, 99th percentile over "
        "the last statistics interval.",
        cb);
    ks->inflight = baton_metrics_gauge(
        m, "baton_kafka_broker_requests_in_flight",
        "Requests sent to a broker and waiting for the answer (waitresp_cnt).",
        cb);
    ks->berrs = baton_metrics_counter(
        m, "baton_kafka_broker_errors_total",
        "Transmission and receive errors with a broker (txerrs + rxerrs).", cb);
    ks->lag = baton_metrics_gauge(
        m, "baton_kafka_consumer_lag",
        "Messages of an assigned partition not consumed yet, as the "
        "consumer sees it (consumer_lag; absent while unknown).",
        ctp);
    ks->fetchq = baton_metrics_gauge(
        m, "baton_kafka_fetch_queue_messages",
        "Messages fetched and waiting to be polled (fetchq_cnt).", ctp);
    ks->assigned = baton_metrics_gauge(
        m, "baton_kafka_assigned_partitions",
        "Partitions assigned to the consumer (cgrp.assignment_size).",
        "client");
    ks->rebalances = baton_metrics_counter(
        m, "baton_kafka_rebalances_total",
        "Consumer group rebalances (cgrp.rebalance_cnt).", "client");
    if (!ks->txmsgs || !ks->rxmsgs || !ks->txbytes || !ks->rxbytes ||
        !ks->qmsgs || !ks->qbytes || !ks->replyq || !ks->rtt_avg ||
        !ks->rtt_p99 || !ks->inflight || !ks->berrs || !ks->lag ||
        !ks->fetchq || !ks->assigned || !ks->rebalances) {
        baton_free(ks);
        return NULL;
    }
    return ks;
}

void baton_kafka_stats_destroy(baton_kafka_stats_t *ks) {
    baton_free(ks);
}

static double num(json_t *o, const char *k) {
    return json_number_value(json_object_get(o, k));
}

static void update_brokers(baton_kafka_stats_t *ks, const char *client,
                           json_t *brokers) {
    const char *name;
    json_t *b;
    baton_metric_clear_where(ks->rtt_avg, "client", client);
    baton_metric_clear_where(ks->rtt_p99, "client", client);
    baton_metric_clear_where(ks->inflight, "client", client);
    json_object_foreach(brokers, name, b) {
        json_t *rtt = json_object_get(b, "rtt");
        const char *const *lv = BATON_LV(client, name);
        if (num(b, "nodeid") < 0) continue; /* bootstrap, coordinator alias */
        baton_metric_set(ks->rtt_avg, lv, num(rtt, "avg") / 1e6);
        baton_metric_set(ks->rtt_p99, lv, num(rtt, "p99") / 1e6);
        baton_metric_set(ks->inflight, lv, num(b, "waitresp_cnt"));
        baton_metric_set(ks->berrs, lv, num(b, "txerrs") + num(b, "rxerrs"));
    }
}

static void update_partitions(baton_kafka_stats_t *ks, const char *client,
                              json_t *topics) {
    const char *tname, *pname;
    json_t *t, *p;
    baton_metric_clear_where(ks->lag, "client", client);
    baton_metric_clear_where(ks->fetchq, "client", client);
    json_object_foreach(topics, tname, t) {
        json_object_foreach(json_object_get(t, "partitions"), pname, p) {
            const char *const *lv = BATON_LV(client, tname, pname);
            double lag = num(p, "consumer_lag");
            const char *fs =
                json_string_value(json_object_get(p, "fetch_state"));
            if (num(p, "partition") < 0) continue; /* the UA partition */
            if (!fs || strcmp(fs, "active"))
                continue; /* not fetched by this client */
            if (lag >= 0) baton_metric_set(ks->lag, lv, lag);
            baton_metric_set(ks->fetchq, lv, num(p, "fetchq_cnt"));
        }
    }
}

baton_err_t baton_kafka_stats_update(baton_kafka_stats_t *ks, const char *json,
                                     size_t len, char *errstr, size_t errlen) {
    json_error_t jerr;
    json_t *o, *cgrp;
    const char *client, *type;
    if (!ks) return BATON_OK;
    if (!(o = json_loadb(json, len, 0, &jerr)) || !json_is_object(o)) {
        json_decref(o);
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "librdkafka statistics: %s", jerr.text);
    }
    client = json_string_value(json_object_get(o, "name"));
    type = json_string_value(json_object_get(o, "type"));
    if (!client) client = "";
    {
        const char *const *lv = BATON_LV(client);
        baton_metric_set(ks->txmsgs, lv, num(o, "txmsgs"));
        baton_metric_set(ks->rxmsgs, lv, num(o, "rxmsgs"));
        baton_metric_set(ks->txbytes, lv, num(o, "txmsg_bytes"));
        baton_metric_set(ks->rxbytes, lv, num(o, "rxmsg_bytes"));
        baton_metric_set(ks->replyq, lv, num(o, "replyq"));
        if (type && !strcmp(type, "producer")) {
            baton_metric_set(ks->qmsgs, lv, num(o, "msg_cnt"));
            baton_metric_set(ks->qbytes, lv, num(o, "msg_size"));
        }
        if ((cgrp = json_object_get(o, "cgrp"))) {
            baton_metric_set(ks->assigned, lv, num(cgrp, "assignment_size"));
            baton_metric_set(ks->rebalances, lv, num(cgrp, "rebalance_cnt"));
        }
    }
    update_brokers(ks, client, json_object_get(o, "brokers"));
    update_partitions(ks, client, json_object_get(o, "topics"));
    json_decref(o);
    return BATON_OK;
}
