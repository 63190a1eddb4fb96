/*
 * devstack_topics.c -- topic creation on an external Kafka cluster for
 * baton-devstack --kafka (devstack_topics.h).  One short-lived producer
 * handle serves the Admin API (CreateTopics) and the metadata requests that
 * wait for the partitions' leaders; it is destroyed before returning.
 */
#include "devstack_topics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "baton_common.h"

#define SUBSYS "devstack"

static rd_kafka_t *admin_new(const char *bootstrap, char *errstr,
                             size_t errlen) {
    rd_kafka_conf_t *kconf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_t *rk;
    if (rd_kafka_conf_set(kconf, "bootstrap.servers", bootstrap, err,
                          sizeof err) ||
        rd_kafka_conf_set(kconf, "client.id", "baton-devstack", err,
                          sizeof err) ||
        rd_kafka_conf_set(kconf, "log_level", "4", err, sizeof err)) {
        rd_kafka_conf_destroy(kconf);
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "%s", err);
        return NULL;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, err, sizeof err))) {
        rd_kafka_conf_destroy(kconf);
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                     "creating the admin client for %s: %s", bootstrap, err);
    }
    return rk;
}

/* Partition count of topic in md, or -1 when absent or in error. */
static int md_partitions(const struct rd_kafka_metadata *md, const char *topic,
                         int *leaderless) {
    for (int i = 0; i < md->topic_cnt; i++) {
        const struct rd_kafka_metadata_topic *t = &md->topics[i];
        if (strcmp(t->topic, topic)) continue;
        if (t->err) return -1;
        for (int p = 0; p < t->partition_cnt; p++)
            if (t->partitions[p].err || t->partitions[p].leader < 0)
                (*leaderless)++;
        return t->partition_cnt;
    }
    return -1;
}

/* Sends one CreateTopics request for every topic.  TOPIC_ALREADY_EXISTS
 * is fine (a dev stack restarted on the same cluster). */
static int create_all(rd_kafka_t *rk, const char *const *topics, int n,
                      int partitions, int replication, int timeout_ms,
                      char *errstr, size_t errlen) {
    rd_kafka_NewTopic_t *nts[64];
    rd_kafka_AdminOptions_t *opts;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_event_t *ev;
    const rd_kafka_topic_result_t **res;
    size_t nres = 0;
    char err[512];
    int rc = -1;

    if (n > (int)BATON_ARRAY_SIZE(nts)) {
        rd_kafka_queue_destroy(q);
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "too many topics (%d)", n),
               -1;
    }
    for (int i = 0; i < n; i++)
        if (!(nts[i] = rd_kafka_NewTopic_new(topics[i], partitions, replication,
                                             err, sizeof err))) {
            baton_seterr(errstr, errlen, BATON_ERR_KAFKA, "topic %s: %s",
                         topics[i], err);
            rd_kafka_NewTopic_destroy_array(nts, (size_t)i);
            rd_kafka_queue_destroy(q);
            return -1;
        }
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, err,
                                                sizeof err);
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err,
                                              sizeof err);
    rd_kafka_CreateTopics(rk, nts, (size_t)n, opts, q);
    ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
    if (!ev) {
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                     "CreateTopics: no answer from %d ms", timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA, "CreateTopics: %s",
                     rd_kafka_event_error_string(ev));
        goto out;
    }
    res = rd_kafka_CreateTopics_result_topics(
        rd_kafka_event_CreateTopics_result(ev), &nres);
    rc = 0;
    for (size_t i = 0; i < nres; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        const char *name = rd_kafka_topic_result_name(res[i]);
        if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            BATON_INFO(SUBSYS, "topic %s exists already: kept", name);
        } else if (e) {
            baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                         "creating topic %s (%d partitions, replication "
                         "%d): %s",
                         name, partitions, replication,
                         rd_kafka_topic_result_error_string(res[i]));
            rc = -1;
            break;
        } else {
            BATON_DEBUG(SUBSYS,
                        "created topic %s (%d partitions, "
                        "replication %d)",
                        name, partitions, replication);
        }
    }
out:
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_NewTopic_destroy_array(nts, (size_t)n);
    rd_kafka_queue_destroy(q);
    return rc;
}

/* 0 when every partition of topic answers ListOffsets (its leader has
 * taken the partition over, not only the metadata naming it). */
static int offsets_answer(rd_kafka_t *rk, const char *topic, int partitions,
                          char *why, size_t len) {
    for (int p = 0; p < partitions; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000);
        if (e) {
            snprintf(why, len, "offsets of %s [%d]: %s", topic, p,
                     rd_kafka_err2str(e));
            return -1;
        }
    }
    return 0;
}

/* Waits until every topic is in the metadata with all partitions led and
 * answering ListOffsets. */
static int wait_leaders(rd_kafka_t *rk, const char *const *topics, int n,
                        int partitions, int64_t deadline_us, char *errstr,
                        size_t errlen) {
    char why[512] = "no metadata yet";
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, 5000);
        int ready = !e;
        if (e) snprintf(why, sizeof why, "metadata: %s", rd_kafka_err2str(e));
        for (int i = 0; ready && i < n; i++) {
            int leaderless = 0, cnt = md_partitions(md, topics[i], &leaderless);
            if (cnt < 0 || leaderless) {
                snprintf(why, sizeof why,
                         cnt < 0 ? "topic %s not in the metadata yet"
                                 : "topic %s has partitions without leader",
                         topics[i]);
                ready = 0;
            } else {
                if (cnt != partitions)
                    BATON_WARN(SUBSYS,
                               "topic %s has %d partitions, not %d "
                               "(it existed already)",
                               topics[i], cnt, partitions);
                if (offsets_answer(rk, topics[i], cnt, why, sizeof why))
                    ready = 0;
            }
        }
        if (md) rd_kafka_metadata_destroy(md);
        if (ready) return 0;
        if (baton_mono_us() > deadline_us)
            return baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                                "topics not ready in time: %s", why),
                   -1;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int devstack_topics_create(const char *bootstrap, const char *const *topics,
                           int ntopics, int partitions, int replication,
                           int timeout_ms, char *errstr, size_t errlen) {
    int64_t deadline = baton_mono_us() + (int64_t)timeout_ms * 1000;
    rd_kafka_t *rk = admin_new(bootstrap, errstr, errlen);
    int rc;
    if (!rk) return -1;
    rc = create_all(rk, topics, ntopics, partitions, replication, timeout_ms,
                    errstr, errlen);
    if (!rc)
        rc = wait_leaders(rk, topics, ntopics, partitions, deadline, errstr,
                          errlen);
    rd_kafka_destroy(rk);
    return rc;
}
