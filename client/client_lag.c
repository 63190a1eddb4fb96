/*
 * client_lag.c -- the backlog of every consumer group Baton runs: batond's
 * group (batond.group) over <prefix>.commands and .results, each worker
 * group baton.worker.<queue> over <prefix>.tasks.<queue>, each bridge
 * trigger's group over its source topics.  Committed offsets are read with
 * a consumer of the group that never subscribes, so no member sees a
 * rebalance.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "baton_common.h"
#include "client_int.h"
#include "kafka.h"
#include "trigger.h"

/* The metadata entry of topic, or NULL. */
static const rd_kafka_metadata_topic_t *
client_md_topic(const struct rd_kafka_metadata *md, const char *topic) {
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err)
            return &md->topics[i];
    return NULL;
}

/* What one lag computation carries. */
typedef struct client_lag {
    baton_client_t *c;
    rd_kafka_t *meta;
    const struct rd_kafka_metadata *md;
    json_t *rows;
    int64_t total;
    char *errstr;
    size_t errlen;
} client_lag_t;

/* Appends one row {"group","topic","partition","committed","end","lag"}
 * per partition of topics and adds the lag to the total.  committed is
 * null when the group never committed there (the lag then counts from the
 * oldest message kept). */
static baton_client_err_t client_lag_group(client_lag_t *l, const char *group,
                                           const char *const *topics,
                                           size_t ntopics) {
    baton_client_t *c = l->c;
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(16);
    rd_kafka_t *rk = NULL;
    rd_kafka_resp_err_t err;
    baton_client_err_t rc = BATON_CLIENT_OK;

    for (size_t t = 0; !rc && t < ntopics; t++) {
        const rd_kafka_metadata_topic_t *mt = client_md_topic(l->md, topics[t]);
        if (!mt)
            rc = client_fail(l->errstr, l->errlen, BATON_CLIENT_E_NOT_FOUND,
                             "topic %s not found in the cluster (wrong "
                             "topic.prefix?)",
                             topics[t]);
        for (int p = 0; mt && p < mt->partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t],
                                              mt->partitions[p].id);
    }
    if (!rc && !(rk = client_consumer_new(c, group, l->errstr, l->errlen)))
        rc = BATON_CLIENT_E_INVALID;
    if (!rc && (err = rd_kafka_committed(rk, parts, c->timeout_ms)))
        rc = client_kafka_fail(c, l->errstr, l->errlen, err,
                               "reading committed offsets of group %s", group);
    for (int i = 0; !rc && i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t lo, hi, lag;
        json_t *row;
        if ((err = rd_kafka_query_watermark_offsets(
                 l->meta, tp->topic, tp->partition, &lo, &hi, c->timeout_ms))) {
            rc = client_kafka_fail(c, l->errstr, l->errlen, err,
                                   "reading the end offset of %s [%d]",
                                   tp->topic, (int)tp->partition);
            break;
        }
        lag = (tp->offset >= 0 ? hi - tp->offset : hi - lo);
        if (lag < 0) lag = 0;
        l->total += lag;
        row =
            json_pack("{ss ss si so sI sI}", "group", group, "topic", tp->topic,
                      "partition", (int)tp->partition, "committed",
                      tp->offset >= 0 ? json_integer(tp->offset) : json_null(),
                      "end", (json_int_t)hi, "lag", (json_int_t)lag);
        if (!row || json_array_append_new(l->rows, row))
            rc = client_fail(l->errstr, l->errlen, BATON_CLIENT_E_INTERNAL,
                             "out of memory");
    }
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

static int client_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lag of every worker group: baton.worker.<queue> over each topic
 * <prefix>.tasks.<queue> of the metadata, in queue order. */
static baton_client_err_t client_lag_workers(client_lag_t *l) {
    char prefix[256];
    size_t plen, n = 0;
    const char **topics =
        baton_calloc((size_t)l->md->topic_cnt + 1, sizeof(char *));
    baton_client_err_t rc = BATON_CLIENT_OK;

    if (!topics)
        return client_fail(l->errstr, l->errlen, BATON_CLIENT_E_INTERNAL,
                           "out of memory");
    plen = strlen(baton_topic(l->c->conf, "tasks.", prefix, sizeof prefix));
    for (int i = 0; i < l->md->topic_cnt; i++)
        if (!strncmp(l->md->topics[i].topic, prefix, plen) &&
            l->md->topics[i].topic[plen] && !l->md->topics[i].err)
            topics[n++] = l->md->topics[i].topic;
    qsort(topics, n, sizeof *topics, client_cmp_str);
    for (size_t i = 0; !rc && i < n; i++) {
        char group[512];
        snprintf(group, sizeof group, "baton.worker.%s", topics[i] + plen);
        rc = client_lag_group(l, group, &topics[i], 1);
    }
    baton_free(topics);
    return rc;
}

/* Lag of every bridge trigger of bridge.triggers.dir (none when the folder
 * does not exist): the trigger's group over those of its source topics
 * that exist in the cluster (a topic nobody produced to yet has no lag).
 * Trigger files that do not load are logged and skipped: lag is for
 * watching, `batonctl validate` is for checking. */
static baton_client_err_t client_lag_triggers(client_lag_t *l) {
    const baton_conf_t *conf = l->c->conf;
    const char *dir = baton_conf_get(conf, "bridge.triggers.dir");
    baton_trigger_t **trig = NULL;
    size_t n = 0;
    char err[512];
    struct stat st;
    baton_client_err_t rc = BATON_CLIENT_OK;

    if (!dir || stat(dir, &st) || !S_ISDIR(st.st_mode)) return rc;
    if (baton_trigger_load_dir(dir, baton_conf_get(conf, "bridge.group.prefix"),
                               &trig, &n, err, sizeof err)) {
        BATON_WARN("client", "lag of the bridge triggers skipped: %s", err);
        return rc;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        const char *topics[64];
        size_t nt = 0;
        for (size_t t = 0; t < trig[i]->ntopics && nt < 64; t++)
            if (client_md_topic(l->md, trig[i]->topics[t]))
                topics[nt++] = trig[i]->topics[t];
        if (nt) rc = client_lag_group(l, trig[i]->group, topics, nt);
    }
    baton_trigger_list_destroy(trig, n);
    return rc;
}

baton_client_err_t baton_client_lag(baton_client_t *c, json_t **out,
                                    char *errstr, size_t errlen) {
    char results[256];
    const char *batond_topics[] = {
        c->topic, baton_topic(c->conf, "results", results, sizeof results)};
    client_lag_t l = {c, NULL, NULL, json_array(), 0, errstr, errlen};
    rd_kafka_resp_err_t err;
    baton_client_err_t rc = BATON_CLIENT_OK;

    *out = NULL;
    if (!(l.meta = client_consumer_new(c, NULL, errstr, errlen)))
        rc = BATON_CLIENT_E_INVALID;
    else if (!l.rows)
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                         "out of memory");
    else if ((err = rd_kafka_metadata(l.meta, 1, NULL, &l.md, c->timeout_ms)))
        rc = client_kafka_fail(
            c, errstr, errlen, err, "reading the metadata of Kafka at %s",
            baton_conf_get(c->conf, "kafka.bootstrap.servers"));
    if (!rc)
        rc = client_lag_group(&l, baton_conf_get(c->conf, "batond.group"),
                              batond_topics, 2);
    if (!rc) rc = client_lag_workers(&l);
    if (!rc) rc = client_lag_triggers(&l);
    if (!rc && !(*out = json_pack("{sO sI}", "partitions", l.rows, "total",
                                  (json_int_t)l.total)))
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                         "out of memory");
    json_decref(l.rows);
    if (l.md) rd_kafka_metadata_destroy(l.md);
    if (l.meta) rd_kafka_destroy(l.meta);
    return rc;
}
