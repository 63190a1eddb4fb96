/*
 * cmd_doctor.c -- the doctor command: checks that a deployment is set up
 * the way Baton needs it and says what is wrong, one line per finding
 * (docs/batonctl.md "doctor", docs/deploy.md):
 *
 *   kafka   the topics <prefix>.commands, .results, .events, .dlq exist,
 *           and .tasks.<queue> of every QUEUE named on the command line;
 *           commands and results are co-partitioned (the same partition
 *           count: docs/wire-protocol.md); no Redis state for a partition
 *           beyond that count (the count was lowered under live runs);
 *           replication below 3 (warning)
 *   redis   reachable; appendonly yes with appendfsync everysec or always
 *           (docs/failure-model.md: what an acknowledged write survives);
 *           maxmemory-policy noeviction (an evicted snapshot is a lost run)
 *   groups  batond's group (batond.group) has members, no more than the
 *           partitions (warning), and its lag; each task queue's worker
 *           group (baton.worker.<queue>) has members (warning)
 *
 * Each finding is "ok", "warn" or "FAIL"; exit 1 when any FAIL, else 0.
 * -o json prints [{"check","status","message"}].
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "batonctl.h"
#include "kafka.h"
#include "keys.h"

/* Lag of batond's group above which doctor warns. */
#define DOCTOR_LAG_WARN 10000

typedef struct doctor {
    ctl_t *ctl;
    json_t *findings; /* array of {"check","status","message"} */
    int failed;       /* FAIL findings */
    int oom;
    rd_kafka_t *rk; /* metadata handle, NULL when Kafka is unreachable */
    const struct rd_kafka_metadata *md;
    int32_t commands_cnt; /* partitions of <prefix>.commands, -1 unknown */
} doctor_t;

/* Records one finding: status "ok", "warn" or "FAIL". */
static void doctor_add(doctor_t *d, const char *check, const char *status,
                       const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    json_t *f;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!strcmp(status, "FAIL")) d->failed++;
    f = json_pack("{ss ss ss}", "check", check, "status", status, "message",
                  msg);
    if (!f || json_array_append_new(d->findings, f)) d->oom = 1;
}

/* The metadata entry of topic, or NULL when it does not exist. */
static const rd_kafka_metadata_topic_t *doctor_topic(const doctor_t *d,
                                                     const char *topic) {
    for (int i = 0; d->md && i < d->md->topic_cnt; i++)
        if (!strcmp(d->md->topics[i].topic, topic) && !d->md->topics[i].err)
            return &d->md->topics[i];
    return NULL;
}

/* ---- kafka: topics ------------------------------------------------------ */

/* Checks that <prefix>.<suffix> exists; returns its partition count or -1.
 * Warns when its first partition has fewer than 3 replicas. */
static int32_t doctor_check_topic(doctor_t *d, const char *suffix) {
    char topic[512];
    const rd_kafka_metadata_topic_t *t;
    baton_topic(d->ctl->conf, suffix, topic, sizeof topic);
    if (!(t = doctor_topic(d, topic))) {
        doctor_add(d, "kafka", "FAIL",
                   "topic %s is missing (create it: docs/deploy.md "
                   "\"Topics\")",
                   topic);
        return -1;
    }
    doctor_add(d, "kafka", "ok", "topic %s: %d partition(s)", topic,
               t->partition_cnt);
    if (t->partition_cnt > 0 && t->partitions[0].replica_cnt < 3)
        doctor_add(d, "kafka", "warn",
                   "topic %s has %d replica(s): a broker loss can lose "
                   "acknowledged messages (production: 3, "
                   "min.insync.replicas 2)",
                   topic, t->partitions[0].replica_cnt);
    return t->partition_cnt;
}

static void doctor_kafka(doctor_t *d) {
    static const char *const fixed[] = {"events", "dlq"};
    char results[512];
    int32_t rc_cnt;

    d->commands_cnt = doctor_check_topic(d, "commands");
    rc_cnt = doctor_check_topic(d, "results");
    for (size_t i = 0; i < BATON_ARRAY_SIZE(fixed); i++)
        doctor_check_topic(d, fixed[i]);
    baton_topic(d->ctl->conf, "results", results, sizeof results);
    if (d->commands_cnt > 0 && rc_cnt > 0 && d->commands_cnt != rc_cnt)
        doctor_add(d, "kafka", "FAIL",
                   "%s has %d partition(s) but %s has %d: they must be "
                   "co-partitioned (the same count; docs/wire-protocol.md)",
                   results, rc_cnt, baton_client_commands_topic(d->ctl->client),
                   d->commands_cnt);
    else if (d->commands_cnt > 0 && rc_cnt > 0)
        doctor_add(
            d, "kafka", "ok", "%s and %s are co-partitioned (%d partitions)",
            baton_client_commands_topic(d->ctl->client), results, rc_cnt);
    for (int i = 0; i < d->ctl->o.nargs; i++) {
        char suffix[512];
        snprintf(suffix, sizeof suffix, "tasks.%s", d->ctl->o.args[i]);
        doctor_check_topic(d, suffix);
    }
}

/* ---- redis -------------------------------------------------------------- */

/* CONFIG GET name into buf ("" when Redis refuses CONFIG, e.g. a managed
 * service that renames it).  Returns 0, or -1 when the answer was not a
 * value. */
static int doctor_redis_config(redisContext *c, const char *name, char *buf,
                               size_t len) {
    redisReply *r = redisCommand(c, "CONFIG GET %s", name);
    int rc = -1;
    buf[0] = '\0';
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(buf, len, "%s", r->element[1]->str);
        rc = 0;
    }
    if (r) freeReplyObject(r);
    return rc;
}

/* Checks one Redis setting: ok when its value is one of good (a
 * '|'-separated list), else FAIL with why. */
static void doctor_redis_setting(doctor_t *d, redisContext *c, const char *name,
                                 const char *good, const char *why) {
    char v[128], alts[128], *tok, *save = NULL;
    int ok = 0;
    if (doctor_redis_config(c, name, v, sizeof v)) {
        doctor_add(d, "redis", "warn",
                   "cannot read %s (CONFIG GET refused): check it by hand "
                   "(want %s)",
                   name, good);
        return;
    }
    snprintf(alts, sizeof alts, "%s", good);
    for (tok = strtok_r(alts, "|", &save); tok && !ok;
         tok = strtok_r(NULL, "|", &save))
        ok = !strcmp(tok, v);
    if (ok)
        doctor_add(d, "redis", "ok", "%s %s", name, v);
    else
        doctor_add(d, "redis", "FAIL", "%s is %s, want %s: %s", name, v, good,
                   why);
}

/* Partitions with state in Redis at or beyond the partition count: SCAN
 * for <ns>:{pN}:offsets.  Returns the highest such N, or -1. */
static int32_t doctor_redis_beyond(doctor_t *d, redisContext *c) {
    char cursor[32] = "0", pattern[300];
    const char *ns = baton_conf_key_prefix(d->ctl->conf);
    int32_t worst = -1;
    snprintf(pattern, sizeof pattern, "%s:{p*}:offsets", ns);
    do {
        redisReply *r =
            redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r) freeReplyObject(r);
            return worst;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *k = r->element[1]->element[i]->str, *p;
            long n;
            if (!(p = strstr(k, ":{p"))) continue;
            n = strtol(p + 3, NULL, 10);
            if (n >= d->commands_cnt && n > worst) worst = (int32_t)n;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0"));
    return worst;
}

static void doctor_redis(doctor_t *d) {
    char errstr[512];
    redisContext *c =
        baton_client_redis_context(d->ctl->client, errstr, sizeof errstr);
    int32_t beyond;
    if (!c) {
        doctor_add(d, "redis", "FAIL", "Redis is unreachable: %s", errstr);
        return;
    }
    doctor_add(d, "redis", "ok", "reachable");
    doctor_redis_setting(d, c, "appendonly", "yes",
                         "without AOF a Redis restart loses every write since "
                         "the last snapshot (workflow state, timers, offsets)");
    doctor_redis_setting(d, c, "appendfsync", "everysec|always",
                         "'no' leaves the flush to the kernel: a crash of the "
                         "machine loses acknowledged writes");
    doctor_redis_setting(d, c, "maxmemory-policy", "noeviction",
                         "Redis would evict workflow snapshots, timers and "
                         "offsets when full; with noeviction writes fail "
                         "loudly instead");
    if (d->commands_cnt > 0 && (beyond = doctor_redis_beyond(d, c)) >= 0)
        doctor_add(d, "redis", "FAIL",
                   "Redis holds state of partition %d but %s has %d "
                   "partition(s): the partition count was lowered under "
                   "live workflows (they are stranded)",
                   beyond, baton_client_commands_topic(d->ctl->client),
                   d->commands_cnt);
}

/* ---- consumer groups ---------------------------------------------------- */

/* Members of group and its state; -1 when it cannot be described. */
static int doctor_group_members(doctor_t *d, const char *group, char *state,
                                size_t len) {
    const struct rd_kafka_group_list *gl = NULL;
    int n = -1;
    snprintf(state, len, "?");
    if (rd_kafka_list_groups(d->rk, group, &gl, d->ctl->o.timeout_ms))
        return -1;
    if (gl->group_cnt == 1 && !gl->groups[0].err) {
        n = gl->groups[0].member_cnt;
        snprintf(state, len, "%s", gl->groups[0].state);
    } else if (gl->group_cnt == 0) {
        n = 0;
    }
    rd_kafka_group_list_destroy(gl);
    return n;
}

/* Total lag of group over topics (committed against end; a partition
 * never committed counts from its start).  -1 when it cannot be read. */
static int64_t doctor_group_lag(doctor_t *d, const char *group,
                                const char *const *topics, size_t ntopics) {
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(16);
    char errstr[512];
    rd_kafka_t *gk =
        baton_client_consumer(d->ctl->client, group, errstr, sizeof errstr);
    int64_t total = 0;
    for (size_t t = 0; t < ntopics; t++) {
        const rd_kafka_metadata_topic_t *mt = doctor_topic(d, topics[t]);
        for (int p = 0; mt && p < mt->partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t],
                                              mt->partitions[p].id);
    }
    if (!gk || rd_kafka_committed(gk, parts, d->ctl->o.timeout_ms)) total = -1;
    for (int i = 0; total >= 0 && i < parts->cnt; i++) {
        int64_t lo, hi, lag;
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (rd_kafka_query_watermark_offsets(d->rk, tp->topic, tp->partition,
                                             &lo, &hi, d->ctl->o.timeout_ms)) {
            total = -1;
            break;
        }
        lag = tp->offset >= 0 ? hi - tp->offset : hi - lo;
        if (lag > 0) total += lag;
    }
    if (gk) {
        rd_kafka_consumer_close(gk);
        rd_kafka_destroy(gk);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return total;
}

static void doctor_batond_group(doctor_t *d) {
    const char *group = baton_conf_get(d->ctl->conf, "batond.group");
    char results[512], state[64];
    const char *topics[2] = {baton_client_commands_topic(d->ctl->client),
                             results};
    int n = doctor_group_members(d, group, state, sizeof state);
    int64_t lag;
    baton_topic(d->ctl->conf, "results", results, sizeof results);
    if (n < 0) {
        doctor_add(d, "groups", "FAIL", "cannot describe consumer group %s",
                   group);
        return;
    }
    if (n == 0) {
        doctor_add(d, "groups", "FAIL",
                   "consumer group %s (batond) has no members (state %s): "
                   "no batond is running",
                   group, state);
        return;
    }
    doctor_add(d, "groups", "ok", "consumer group %s: %d member(s), %s", group,
               n, state);
    if (d->commands_cnt > 0 && n > d->commands_cnt)
        doctor_add(d, "groups", "warn",
                   "%d batond instances for %d partition(s): %d stay idle", n,
                   d->commands_cnt, n - d->commands_cnt);
    if (d->commands_cnt <= 0) return;
    lag = doctor_group_lag(d, group, topics, 2);
    if (lag < 0)
        doctor_add(d, "groups", "warn", "cannot read the lag of group %s",
                   group);
    else
        doctor_add(d, "groups", lag > DOCTOR_LAG_WARN ? "warn" : "ok",
                   "consumer group %s: lag %" PRId64 "%s", group, lag,
                   lag > DOCTOR_LAG_WARN ? " (batond falls behind)" : "");
}

/* Every <prefix>.tasks.<queue> topic: its worker group has members. */
static void doctor_worker_groups(doctor_t *d) {
    char prefix[256], group[512], state[64];
    size_t plen =
        strlen(baton_topic(d->ctl->conf, "tasks.", prefix, sizeof prefix));
    for (int i = 0; d->md && i < d->md->topic_cnt; i++) {
        const char *t = d->md->topics[i].topic;
        int n;
        if (strncmp(t, prefix, plen) || !t[plen] || d->md->topics[i].err)
            continue;
        snprintf(group, sizeof group, "baton.worker.%s", t + plen);
        n = doctor_group_members(d, group, state, sizeof state);
        if (n > 0)
            doctor_add(d, "groups", "ok", "consumer group %s: %d member(s)",
                       group, n);
        else
            doctor_add(d, "groups", "warn",
                       "consumer group %s has no members: nothing runs the "
                       "tasks of queue %s",
                       group, t + plen);
    }
}

/* ---- the command -------------------------------------------------------- */

static int doctor_print(const doctor_t *d, int json_out) {
    size_t i;
    json_t *f;
    if (json_out) return ctl_print_json(d->findings);
    json_array_foreach(d->findings, i, f) {
        printf("%-4s  %-6s %s\n",
               json_string_value(json_object_get(f, "status")),
               json_string_value(json_object_get(f, "check")),
               json_string_value(json_object_get(f, "message")));
    }
    printf("%d problem(s) found\n", d->failed);
    return BATON_CLI_EXIT_OK;
}

int ctl_cmd_doctor(ctl_t *ctl) {
    doctor_t d = {.ctl = ctl, .findings = json_array(), .commands_cnt = -1};
    char errstr[512];
    rd_kafka_resp_err_t err;
    int rc;

    if (!d.findings) return ctl_fail("out of memory");
    if (!(d.rk =
              baton_client_consumer(ctl->client, NULL, errstr, sizeof errstr)))
        doctor_add(&d, "kafka", "FAIL", "%s", errstr);
    else if ((err = rd_kafka_metadata(d.rk, 1, NULL, &d.md, ctl->o.timeout_ms)))
        doctor_add(&d, "kafka", "FAIL", "Kafka at %s is unreachable: %s",
                   baton_conf_get(ctl->conf, "kafka.bootstrap.servers"),
                   rd_kafka_err2str(err));
    if (d.md) doctor_kafka(&d);
    doctor_redis(&d);
    if (d.md) {
        doctor_batond_group(&d);
        doctor_worker_groups(&d);
    }
    rc = d.oom ? ctl_fail("out of memory") : doctor_print(&d, ctl->o.json_out);
    if (rc == BATON_CLI_EXIT_OK && d.failed) rc = BATON_CLI_EXIT_FAIL;
    if (d.md) rd_kafka_metadata_destroy(d.md);
    if (d.rk) rd_kafka_destroy(d.rk);
    json_decref(d.findings);
    return rc;
}
