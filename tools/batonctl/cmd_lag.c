/*
 * cmd_lag.c -- the lag command: committed offsets of batond's group
 * (batond.group), of every task queue's workers (baton.worker.<queue>) and
 * of every baton-bridge trigger (its group over its source topics, from the
 * trigger files of bridge.triggers.dir) against each partition's end
 * offset, read without joining the groups.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "batonctl.h"
#include "kafka.h"
#include "trigger.h"

#include <sys/stat.h>

/* ---- lag ---------------------------------------------------------------- */

/* The metadata entry of topic, or NULL. */
static const rd_kafka_metadata_topic_t *
ctl_md_topic(const struct rd_kafka_metadata *md, const char *topic) {
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err)
            return &md->topics[i];
    return NULL;
}

/* Appends one row {"group","topic","partition","committed","end","lag"}
 * per partition of topics to rows and adds the lag to *total.  committed is
 * null when the group never committed there (the lag then counts from the
 * oldest message kept).  Reads committed offsets with a consumer of group
 * that never subscribes, so the group's members see no rebalance.  Returns
 * an exit code. */
static int ctl_lag_group(ctl_t *ctl, rd_kafka_t *meta,
                         const struct rd_kafka_metadata *md, const char *group,
                         const char *const *topics, size_t ntopics,
                         json_t *rows, int64_t *total) {
    char errstr[512];
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(16);
    rd_kafka_t *rk = NULL;
    rd_kafka_resp_err_t err;
    int rc = BATON_CLI_EXIT_OK;

    for (size_t t = 0; rc == BATON_CLI_EXIT_OK && t < ntopics; t++) {
        const rd_kafka_metadata_topic_t *mt = ctl_md_topic(md, topics[t]);
        if (!mt)
            rc = ctl_fail("topic %s not found in the cluster (wrong "
                          "topic.prefix?)",
                          topics[t]);
        for (int p = 0; mt && p < mt->partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t],
                                              mt->partitions[p].id);
    }
    if (rc == BATON_CLI_EXIT_OK &&
        !(rk = ctl_consumer_new(ctl, group, errstr, sizeof errstr)))
        rc = ctl_fail("%s", errstr);
    if (rc == BATON_CLI_EXIT_OK &&
        (err = rd_kafka_committed(rk, parts, ctl->o.timeout_ms)))
        rc =
            ctl_kafka_fail(err, "reading committed offsets of group %s", group);
    for (int i = 0; rc == BATON_CLI_EXIT_OK && i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t lo, hi, lag;
        json_t *row;
        if ((err = rd_kafka_query_watermark_offsets(meta, tp->topic,
                                                    tp->partition, &lo, &hi,
                                                    ctl->o.timeout_ms))) {
            rc = ctl_kafka_fail(err, "reading the end offset of %s [%d]",
                                tp->topic, (int)tp->partition);
            break;
        }
        lag = (tp->offset >= 0 ? hi - tp->offset : hi - lo);
        if (lag < 0) lag = 0;
        *total += lag;
        row =
            json_pack("{ss ss si so sI sI}", "group", group, "topic", tp->topic,
                      "partition", (int)tp->partition, "committed",
                      tp->offset >= 0 ? json_integer(tp->offset) : json_null(),
                      "end", (json_int_t)hi, "lag", (json_int_t)lag);
        if (!row || json_array_append_new(rows, row))
            rc = ctl_fail("out of memory");
    }
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

static int ctl_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lag of every worker group: baton.worker.<queue> over each topic
 * <prefix>.tasks.<queue> of the metadata, in queue order. */
static int ctl_lag_workers(ctl_t *ctl, rd_kafka_t *meta,
                           const struct rd_kafka_metadata *md, json_t *rows,
                           int64_t *total) {
    char prefix[256];
    size_t plen, n = 0;
    const char **topics =
        baton_calloc((size_t)md->topic_cnt + 1, sizeof(char *));
    int rc = BATON_CLI_EXIT_OK;

    if (!topics) return ctl_fail("out of memory");
    plen = strlen(baton_topic(ctl->conf, "tasks.", prefix, sizeof prefix));
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strncmp(md->topics[i].topic, prefix, plen) &&
            md->topics[i].topic[plen] && !md->topics[i].err)
            topics[n++] = md->topics[i].topic;
    qsort(topics, n, sizeof *topics, ctl_cmp_str);
    for (size_t i = 0; rc == BATON_CLI_EXIT_OK && i < n; i++) {
        char group[512];
        snprintf(group, sizeof group, "baton.worker.%s", topics[i] + plen);
        rc = ctl_lag_group(ctl, meta, md, group, &topics[i], 1, rows, total);
    }
    baton_free(topics);
    return rc;
}

/* Lag of every bridge trigger of bridge.triggers.dir (none when the folder
 * does not exist): the trigger's group over those of its source topics
 * that exist in the cluster (a topic nobody produced to yet has no lag).
 * Trigger files that do not load are reported on stderr and skipped: lag
 * is for watching, `batonctl validate` is for checking. */
static int ctl_lag_triggers(ctl_t *ctl, rd_kafka_t *meta,
                            const struct rd_kafka_metadata *md, json_t *rows,
                            int64_t *total) {
    const char *dir = baton_conf_get(ctl->conf, "bridge.triggers.dir");
    baton_trigger_t **trig = NULL;
    size_t n = 0;
    char errstr[512];
    struct stat st;
    int rc = BATON_CLI_EXIT_OK;

    if (!dir || stat(dir, &st) || !S_ISDIR(st.st_mode)) return rc;
    if (baton_trigger_load_dir(dir,
                               baton_conf_get(ctl->conf, "bridge.group.prefix"),
                               &trig, &n, errstr, sizeof errstr)) {
        fprintf(stderr, "batonctl: lag of the bridge triggers skipped: %s\n",
                errstr);
        return rc;
    }
    for (size_t i = 0; rc == BATON_CLI_EXIT_OK && i < n; i++) {
        const char *topics[64];
        size_t nt = 0;
        for (size_t t = 0; t < trig[i]->ntopics && nt < 64; t++)
            if (ctl_md_topic(md, trig[i]->topics[t]))
                topics[nt++] = trig[i]->topics[t];
        if (nt)
            rc = ctl_lag_group(ctl, meta, md, trig[i]->group, topics, nt, rows,
                               total);
    }
    baton_trigger_list_destroy(trig, n);
    return rc;
}

/* Prints the rows as a table and the totals per group and overall. */
static int ctl_lag_print_text(const json_t *rows, int64_t total) {
    static const ctl_field_t cols[] = {
        {"group", "GROUP", CTL_FMT_PLAIN},
        {"topic", "TOPIC", CTL_FMT_PLAIN},
        {"partition", "PARTITION", CTL_FMT_PLAIN},
        {"committed", "COMMITTED", CTL_FMT_PLAIN},
        {"end", "END", CTL_FMT_PLAIN},
        {"lag", "LAG", CTL_FMT_PLAIN},
    };
    int rc = ctl_print_table(rows, cols, BATON_ARRAY_SIZE(cols));
    if (rc == BATON_CLI_EXIT_OK) printf("total lag: %" PRId64 "\n", total);
    return rc;
}

int ctl_cmd_lag(ctl_t *ctl) {
    char errstr[512], results[256];
    const char *batond_topics[] = {
        ctl->topic, baton_topic(ctl->conf, "results", results, sizeof results)};
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_t *meta = ctl_consumer_new(ctl, NULL, errstr, sizeof errstr);
    rd_kafka_resp_err_t err;
    json_t *rows = json_array(), *out;
    int64_t total = 0;
    int rc = BATON_CLI_EXIT_OK;

    if (!meta)
        rc = ctl_fail("%s", errstr);
    else if (!rows)
        rc = ctl_fail("out of memory");
    else if ((err = rd_kafka_metadata(meta, 1, NULL, &md, ctl->o.timeout_ms)))
        rc = ctl_kafka_fail(
            err, "reading the metadata of Kafka at %s",
            baton_conf_get(ctl->conf, "kafka.bootstrap.servers"));
    if (rc == BATON_CLI_EXIT_OK)
        rc = ctl_lag_group(ctl, meta, md,
                           baton_conf_get(ctl->conf, "batond.group"),
                           batond_topics, 2, rows, &total);
    if (rc == BATON_CLI_EXIT_OK)
        rc = ctl_lag_workers(ctl, meta, md, rows, &total);
    if (rc == BATON_CLI_EXIT_OK)
        rc = ctl_lag_triggers(ctl, meta, md, rows, &total);
    if (rc == BATON_CLI_EXIT_OK && !ctl->o.json_out)
        rc = ctl_lag_print_text(rows, total);
    else if (rc == BATON_CLI_EXIT_OK) {
        out = json_pack("{sO sI}", "partitions", rows, "total",
                        (json_int_t)total);
        rc = out ? ctl_print_json(out) : ctl_fail("out of memory");
        json_decref(out);
    }
    json_decref(rows);
    if (md) rd_kafka_metadata_destroy(md);
    if (meta) rd_kafka_destroy(meta);
    return rc;
}
