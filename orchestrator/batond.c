/*
 * batond.c -- the orchestrator process: the Kafka and Redis edges around the
 * pure processing loop (loop.c).
 *
 *   main()            parse flags, load config and definitions, connect,
 *                     subscribe, run the loop until SIGTERM, drain, exit
 *   batond_rebalance  on assignment: read each partition's offsets, outbox
 *                     and timers from Redis, re-send the outbox, seek;
 *                     on revocation: flush the producer, drop the partition
 *   batond_batch      one turn of the loop: poll a batch, load what the
 *                     cache lacks, apply, write one atomic fenced script per
 *                     partition, produce the outbox, commit offsets to Kafka
 *                     (for lag only: the offsets that count are in Redis)
 *
 * One thread does everything; librdkafka's own threads do the network I/O.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "engine.h"
#include "kafka.h"
#include "loop.h"
#include "redis.h"
#include "registry.h"
#include "store.h"

static volatile sig_atomic_t batond_stop;

static void batond_on_signal(int sig) {
    (void)sig;
    batond_stop = 1;
}

/* Step latency: from an input polled to the outputs it caused handed to
 * the producer, in microseconds, log-linear buckets. */
#define LAT_BUCKETS 512
typedef struct lat_hist {
    int64_t cnt[LAT_BUCKETS];
    int64_t n;
} lat_hist_t;

static int lat_bucket(int64_t us) {
    int b = 0;
    if (us < 64) return (int)us;
    while (us >= 128) {
        us >>= 1;
        b++;
    }
    return 64 + b * 64 + (int)(us - 64);
}

static int64_t lat_value(int b) {
    if (b < 64) return b;
    return (int64_t)(64 + (b - 64) % 64) << ((b - 64) / 64);
}

static void lat_add(lat_hist_t *h, int64_t us) {
    int b = lat_bucket(us < 0 ? 0 : us);
    h->cnt[b < LAT_BUCKETS ? b : LAT_BUCKETS - 1]++;
    h->n++;
}

static int64_t lat_pct(const lat_hist_t *h, double pct) {
    int64_t want = (int64_t)(h->n * pct / 100.0), seen = 0;
    for (int b = 0; b < LAT_BUCKETS; b++)
        if ((seen += h->cnt[b]) > want) return lat_value(b);
    return 0;
}

typedef struct batond {
    baton_conf_t *conf;
    baton_registry_t *reg;
    baton_codec_t *codec;
    baton_engine_t *engine;
    baton_loop_t *loop;
    rd_kafka_t *consumer, *producer;
    redisContext *redis;
    char topics[2][200];
    const char *topic_ptrs[2];
    int32_t partition_cnt;
    int64_t batch_max, history_max, ttl_s;
    int64_t horizon_ms;      /* timers kept in memory (batond.timers.*) */
    int64_t next_slice_ms;   /* when to read the next slice of timers */
    rd_kafka_message_t **msgs;
    int64_t *polled_us;
    size_t nmsgs;
    int64_t last_commit_us;
    int need_resync;
    lat_hist_t step_lat;
    const char *stats_file;
} batond_t;

/* Opaque of a produced outbox message: where to report its delivery. */
typedef struct outref {
    int32_t partition;
    char id[];
} outref_t;

/* ---- producing ---------------------------------------------------------- */

static void batond_produce(batond_t *b, int32_t src_part, const char *topic,
                           int32_t partition, const char *key, int json,
                           const char *error, const void *value, size_t len,
                           const char *id) {
    size_t idlen = strlen(id);
    outref_t *ref = baton_malloc(sizeof *ref + idlen + 1);
    rd_kafka_headers_t *hdrs = baton_kafka_headers_new(json);
    rd_kafka_resp_err_t err;

    if (!ref) return; /* stays in the outbox: re-sent on next assignment */
    ref->partition = src_part;
    memcpy(ref->id, id, idlen + 1);
    if (error) rd_kafka_header_add(hdrs, "baton-error", -1, error, -1);
    for (;;) {
        err = rd_kafka_producev(
            b->producer, RD_KAFKA_V_TOPIC(topic),
            RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA
                                               : partition),
            RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
            RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_OPAQUE(ref), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        rd_kafka_poll(b->producer, 10);
    }
    if (err) {
        BATON_ERROR("kafka", "producing %s to %s: %s (kept in the outbox)", id,
                    topic, rd_kafka_err2str(err));
        rd_kafka_headers_destroy(hdrs);
        baton_free(ref);
    }
}

/* Delivery report (producer poll, loop thread): acknowledged outbox
 * entries are deleted with the next batch; failed ones are produced again. */
static void batond_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                               void *opaque) {
    batond_t *b = opaque;
    outref_t *ref = m->_private;
    (void)rk;
    if (!ref) return;
    if (!m->err) {
        baton_loop_outbox_done(b->loop, ref->partition, ref->id);
        baton_free(ref);
        return;
    }
    BATON_WARN("kafka", "delivery of %s to %s failed: %s; producing again",
               ref->id, rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    {
        rd_kafka_headers_t *hdrs = NULL;
        const void *ct = NULL, *err = NULL;
        size_t ctlen = 0, errlen = 0;
        char errbuf[1024] = "";
        int json = 0;
        if (!rd_kafka_message_headers(m, &hdrs)) {
            if (!rd_kafka_header_get_last(hdrs, "content-type", &ct, &ctlen))
                json = ctlen == strlen(BATON_CONTENT_TYPE_JSON);
            if (!rd_kafka_header_get_last(hdrs, "baton-error", &err, &errlen))
                snprintf(errbuf, sizeof errbuf, "%.*s", (int)errlen,
                         (const char *)err);
        }
        char key[1024];
        snprintf(key, sizeof key, "%.*s", (int)m->key_len,
                 (const char *)m->key);
        batond_produce(b, ref->partition, rd_kafka_topic_name(m->rkt),
                       m->partition, m->key ? key : NULL, json,
                       errbuf[0] ? errbuf : NULL, m->payload, m->len, ref->id);
        baton_free(ref);
    }
}

/* ---- partitions ------------------------------------------------------- */

/* Takes partition p over from Redis: offsets, timers, outbox re-sent. */
static baton_err_t batond_take_partition(batond_t *b, int32_t p,
                                         int64_t next[2], char *errstr,
                                         size_t errlen) {
    baton_part_state_t st;
    baton_err_t rc = baton_store_load_partition(
        b->redis, p, b->topic_ptrs, baton_now_ms() + b->horizon_ms, &st,
        errstr, errlen);
    if (rc) return rc;
    next[0] = st.next_offset[0];
    next[1] = st.next_offset[1];
    if ((rc = baton_loop_partition_add(b->loop, p, st.next_offset))) {
        baton_part_state_clear(&st);
        return baton_seterr(errstr, errlen, rc, "partition %d: %s", p,
                            baton_err2str(rc));
    }
    baton_loop_set_epoch(b->loop, p, st.epoch);
    baton_loop_set_timers_upto(b->loop, p, st.timers_upto);
    for (size_t i = 0; i < st.ntimers; i++)
        baton_loop_timer_arm(b->loop, p, st.timer_members[i], st.timer_due[i]);
    for (size_t i = 0; i < st.noutbox; i++) {
        baton_outmsg_t *m = &st.outbox[i];
        batond_produce(b, p, m->topic, m->partition, m->key, m->json,
                       m->error, m->value, m->value_len, m->id);
    }
    BATON_INFO("loop",
               "took partition %d (epoch %lld): next offsets commands=%lld "
               "results=%lld, %zu timers, %zu outbox messages re-sent",
               p, (long long)st.epoch, (long long)next[0], (long long)next[1],
               st.ntimers,
               st.noutbox);
    baton_part_state_clear(&st);
    return BATON_OK;
}

/* Moves the timer horizon of every owned partition forward: the timers
 * that came near are read from Redis and armed.  Runs every quarter
 * horizon, or at once while a slice came back cut by its cap. */
static baton_err_t batond_timer_slices(batond_t *b, char *errstr,
                                       size_t errlen) {
    int64_t now = baton_now_ms(), upto = now + b->horizon_ms;
    int cut = 0;
    if (now < b->next_slice_ms) return BATON_OK;
    for (int32_t p = 0; p < b->partition_cnt; p++) {
        baton_part_state_t st;
        int64_t from = baton_loop_timers_upto(b->loop, p);
        baton_err_t rc;
        if (!baton_loop_owns(b->loop, p) || from >= upto) continue;
        memset(&st, 0, sizeof st);
        rc = baton_store_load_timers(b->redis, p, from, upto, &st, errstr,
                                     errlen);
        if (!rc) {
            for (size_t i = 0; i < st.ntimers; i++)
                baton_loop_timer_arm(b->loop, p, st.timer_members[i],
                                     st.timer_due[i]);
            baton_loop_set_timers_upto(b->loop, p, st.timers_upto);
            cut |= st.timers_upto < upto;
        }
        baton_part_state_clear(&st);
        if (rc) return rc;
    }
    b->next_slice_ms = cut ? now : now + b->horizon_ms / 4;
    return BATON_OK;
}

/* Warns loudly when a stored offset fell off the log (retention). */
static void batond_check_gone(batond_t *b, const char *topic, int32_t p,
                              int64_t next) {
    int64_t lo = 0, hi = 0;
    if (next < 0 ||
        rd_kafka_query_watermark_offsets(b->consumer, topic, p, &lo, &hi,
                                         5000))
        return;
    if (next < lo)
        BATON_ERROR("loop",
                    "%s[%d]: next input offset %lld is gone (log starts at "
                    "%lld): %lld inputs were deleted by retention before "
                    "batond applied them",
                    topic, p, (long long)next, (long long)lo,
                    (long long)(lo - next));
}

/* Assigns `parts` with the offsets stored in Redis, retrying Redis until it
 * answers (the partitions cannot be served without their state). */
static void batond_assign(batond_t *b, rd_kafka_topic_partition_list_t *parts) {
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int src = !strcmp(tp->topic, b->topics[0]) ? 0 : 1;
        char err[512];
        int64_t next[2];
        if (baton_loop_owns(b->loop, tp->partition)) {
            next[src] = baton_loop_next_offset(b->loop, tp->partition,
                                               (baton_src_t)src);
        } else {
            while (!b->redis || batond_take_partition(b, tp->partition,
                                                      next, err, sizeof err)) {
                if (b->redis) {
                    BATON_ERROR("redis", "taking partition %d: %s; retrying",
                                tp->partition, err);
                    redisFree(b->redis);
                }
                if (batond_stop) return;
                sleep(1);
                b->redis = baton_redis_connect(
                    baton_conf_get(b->conf, "redis.url"), 2000, err,
                    sizeof err);
                if (!b->redis) BATON_ERROR("redis", "%s", err);
            }
        }
        tp->offset = next[src] >= 0 ? next[src] : RD_KAFKA_OFFSET_BEGINNING;
        batond_check_gone(b, tp->topic, tp->partition, next[src]);
    }
    rd_kafka_assign(b->consumer, parts);
}

static void batond_flush_deletes(batond_t *b);

/* Drops the partitions a newer owner fenced us out of: their batch was not
 * written and must not be produced; Kafka's rebalance will follow. */
static void batond_drop_fenced(batond_t *b, baton_wset_t *const *ws,
                               size_t n) {
    int32_t fenced[1024];
    size_t nf = 0;
    for (size_t i = 0; i < n && nf < BATON_ARRAY_SIZE(fenced); i++)
        if (ws[i]->fenced) fenced[nf++] = ws[i]->partition;
    for (size_t i = 0; i < nf; i++) {
        BATON_ERROR("loop", "partition %d belongs to another instance now: "
                            "dropped without writing",
                    fenced[i]);
        baton_loop_partition_drop(b->loop, fenced[i]);
    }
}

static void batond_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *parts,
                             void *opaque) {
    batond_t *b = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        BATON_INFO("kafka", "assigned %d topic partitions", parts->cnt);
        batond_assign(b, parts);
        return;
    }
    BATON_INFO("kafka", "revoked %d topic partitions", parts->cnt);
    /* Finish: everything decided is in the outbox; let Kafka acknowledge
     * it so the next owner re-sends as little as possible. */
    rd_kafka_flush(b->producer, 10000);
    batond_flush_deletes(b);
    for (int i = 0; i < parts->cnt; i++)
        baton_loop_partition_drop(b->loop, parts->elems[i].partition);
    rd_kafka_assign(rk, NULL);
}

/* ---- one batch ---------------------------------------------------------- */

static int batond_src_of(batond_t *b, const rd_kafka_message_t *m) {
    const char *t = rd_kafka_topic_name(m->rkt);
    return !strcmp(t, b->topics[0]) ? BATON_SRC_COMMANDS : BATON_SRC_RESULTS;
}

static void batond_poll_batch(batond_t *b) {
    int64_t now = baton_now_ms(), next_timer = baton_loop_next_timer(b->loop);
    int timeout = 100;
    if (next_timer != INT64_MAX)
        timeout = next_timer <= now ? 0
                                    : (int)(next_timer - now < 100
                                                ? next_timer - now
                                                : 100);
    b->nmsgs = 0;
    while ((int64_t)b->nmsgs < b->batch_max) {
        rd_kafka_message_t *m =
            rd_kafka_consumer_poll(b->consumer, b->nmsgs ? 0 : timeout);
        if (!m) break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                BATON_WARN("kafka", "consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        b->polled_us[b->nmsgs] = baton_mono_us();
        b->msgs[b->nmsgs++] = m;
    }
}

static baton_err_t batond_load(batond_t *b, char *errstr, size_t errlen) {
    const int32_t *parts;
    const char *const *ids;
    size_t n = baton_loop_missing(b->loop, &parts, &ids);
    const char *name, *ver;
    baton_err_t rc = BATON_OK;

    if (n) {
        char **texts = baton_calloc(n, sizeof(char *));
        size_t *lens = baton_calloc(n, sizeof(size_t));
        if (!texts || !lens)
            rc = baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                              "out of memory");
        else
            rc = baton_store_get_snapshots(b->redis, n, parts, ids, texts,
                                           lens, errstr, errlen);
        for (size_t i = 0; !rc && i < n; i++)
            baton_loop_provide(b->loop, parts[i], ids[i], texts[i], lens[i]);
        for (size_t i = 0; texts && i < n; i++) baton_free(texts[i]);
        baton_free(texts);
        baton_free(lens);
        if (rc) return rc;
    }
    while (baton_loop_missing_def(b->loop, &name, &ver)) {
        char err[512];
        char *text = baton_store_get_def(b->redis, name, ver, err, sizeof err);
        if (text && !baton_registry_add(b->reg, name, text, 0, NULL, err,
                                        sizeof err)) {
            BATON_INFO("loop", "loaded definition %s version %s from Redis",
                       name, ver);
        } else {
            BATON_ERROR("loop", "%s", err);
            baton_loop_def_unavailable(b->loop, name, ver);
        }
        baton_free(text);
    }
    return BATON_OK;
}

static void batond_produce_outbox(batond_t *b, baton_wset_t *const *ws,
                                  size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; !ws[i]->fenced && j < ws[i]->nout; j++) {
            baton_outmsg_t *m = &ws[i]->out[j];
            batond_produce(b, ws[i]->partition, m->topic, m->partition,
                           m->key, m->json, m->error, m->value, m->value_len,
                           m->id);
        }
}

/* Commits the Redis-held offsets to Kafka too, at most twice a second: only
 * so that consumer lag shows progress to operators.  An owned partition
 * that has delivered no input yet commits its log start (as librdkafka
 * last saw it in a fetch response), so the group has an offset on every
 * partition and lag never reads "unknown" (KEDA scales a never-committed
 * group to its maximum). */
static void batond_commit_kafka(batond_t *b, int force) {
    rd_kafka_topic_partition_list_t *l;
    int64_t now = baton_mono_us();
    if (!force && now - b->last_commit_us < 500000) return;
    b->last_commit_us = now;
    l = rd_kafka_topic_partition_list_new(2 * b->partition_cnt);
    for (int32_t p = 0; p < b->partition_cnt; p++)
        for (int s = 0; s < 2; s++) {
            int64_t off = baton_loop_next_offset(b->loop, p, (baton_src_t)s);
            int64_t lo, hi;
            if (off < 0 && baton_loop_owns(b->loop, p) &&
                !rd_kafka_get_watermark_offsets(b->consumer, b->topics[s], p,
                                                &lo, &hi) &&
                lo >= 0)
                off = lo;
            if (off >= 0)
                rd_kafka_topic_partition_list_add(l, b->topics[s], p)->offset =
                    off;
        }
    if (l->cnt) rd_kafka_commit(b->consumer, l, !force);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Writes only the acknowledged-outbox deletions (idle or revoking). */
static void batond_flush_deletes(batond_t *b) {
    size_t n;
    baton_wset_t *const *ws;
    char err[512];
    rd_kafka_poll(b->producer, 0);
    ws = baton_loop_wsets(b->loop, &n);
    if (baton_store_write(b->redis, ws, n, b->topic_ptrs, b->history_max,
                          b->ttl_s, err, sizeof err))
        BATON_WARN("redis", "deleting acknowledged outbox entries: %s", err);
    batond_drop_fenced(b, ws, n);
    baton_loop_batch_done(b->loop, 1);
}

/* Redis failed mid-batch: whether the transaction applied is unknown, so
 * reconnect, drop every cache, and re-read each owned partition's state
 * from Redis as on a fresh assignment (seeking back to the stored offsets). */
static void batond_resync(batond_t *b) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    char err[512];
    BATON_WARN("loop", "re-reading partition state from Redis");
    redisFree(b->redis);
    while (!(b->redis = baton_redis_connect(baton_conf_get(b->conf,
                                                           "redis.url"),
                                            2000, err, sizeof err))) {
        BATON_ERROR("redis", "%s; retrying", err);
        if (batond_stop) return;
        sleep(1);
    }
    for (int32_t p = 0; p < b->partition_cnt; p++)
        baton_loop_partition_drop(b->loop, p);
    if (!rd_kafka_assignment(b->consumer, &parts)) {
        batond_assign(b, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
    b->need_resync = 0;
}

static void batond_batch(batond_t *b) {
    char err[1024];
    baton_err_t rc = BATON_OK;
    size_t n, ntimers;
    baton_wset_t *const *ws;
    int64_t now, produced_us;

    baton_loop_batch_begin(b->loop);
    if ((rc = batond_timer_slices(b, err, sizeof err))) {
        BATON_ERROR("loop", "reading timers: %s", err);
        b->need_resync = 1;
        return;
    }
    batond_poll_batch(b);
    now = baton_now_ms();
    for (size_t i = 0; i < b->nmsgs && !rc; i++) {
        rd_kafka_message_t *m = b->msgs[i];
        rc = baton_loop_input(b->loop, (baton_src_t)batond_src_of(b, m),
                              m->partition, m->offset, m->payload, m->len,
                              baton_kafka_msg_is_json(m));
    }
    ntimers = baton_loop_due_timers(b->loop, now);
    if (!rc && (b->nmsgs || ntimers)) rc = batond_load(b, err, sizeof err);
    if (!rc) rc = baton_loop_apply(b->loop, now, err, sizeof err);
    ws = baton_loop_wsets(b->loop, &n);
    if (!rc)
        rc = baton_store_write(b->redis, ws, n, b->topic_ptrs,
                               b->history_max, b->ttl_s, err, sizeof err);
    if (rc && rc != BATON_ERR_FENCED) {
        BATON_ERROR("loop", "batch of %zu inputs not applied: %s", b->nmsgs,
                    err);
        baton_loop_batch_done(b->loop, 0);
        b->need_resync = 1;
    } else {
        /* Written everywhere but in fenced partitions, if any. */
        batond_produce_outbox(b, ws, n);
        batond_drop_fenced(b, ws, n);
        produced_us = baton_mono_us();
        for (size_t i = 0; i < b->nmsgs; i++)
            if (batond_src_of(b, b->msgs[i]) == BATON_SRC_RESULTS)
                lat_add(&b->step_lat, produced_us - b->polled_us[i]);
        baton_loop_batch_done(b->loop, 1);
    }
    for (size_t i = 0; i < b->nmsgs; i++) rd_kafka_message_destroy(b->msgs[i]);
    b->nmsgs = 0;
    rd_kafka_poll(b->producer, 0);
    if (b->need_resync) batond_resync(b);
    else batond_commit_kafka(b, 0);
}

/* ---- setup and teardown ------------------------------------------------- */

static void batond_usage(const char *prog) {
    fprintf(stderr,
            "Usage: %s [--config FILE] [--workflows DIR] [--set KEY=VALUE]...\n"
            "           [--stats-file FILE]\n"
            "The Baton orchestrator: consumes <prefix>.commands and "
            "<prefix>.results,\nkeeps workflow state in Redis and produces "
            "tasks and history events.\n\nConfiguration keys:\n",
            prog);
    baton_conf_print_keys(stderr);
}

static baton_err_t batond_setup_kafka(batond_t *b, char *errstr,
                                      size_t errlen) {
    rd_kafka_conf_t *kc;
    rd_kafka_topic_partition_list_t *subs;
    int32_t pc;
    rd_kafka_resp_err_t err;

    if (!(kc = baton_kafka_conf_new(b->conf, BATON_KAFKA_PRODUCER, NULL,
                                    errstr, errlen)))
        return BATON_ERR_CONFIG;
    rd_kafka_conf_set_dr_msg_cb(kc, batond_on_delivery);
    rd_kafka_conf_set_opaque(kc, b);
    if (!(b->producer = baton_kafka_new(kc, BATON_KAFKA_PRODUCER, errstr,
                                        errlen)))
        return BATON_ERR_KAFKA;
    if (!(kc = baton_kafka_conf_new(b->conf, BATON_KAFKA_CONSUMER,
                                    baton_conf_get(b->conf, "batond.group"),
                                    errstr, errlen)))
        return BATON_ERR_CONFIG;
    rd_kafka_conf_set_rebalance_cb(kc, batond_rebalance);
    rd_kafka_conf_set_opaque(kc, b);
    if (!(b->consumer = baton_kafka_new(kc, BATON_KAFKA_CONSUMER, errstr,
                                        errlen)))
        return BATON_ERR_KAFKA;
    for (int i = 0; i < 2; i++) {
        pc = baton_kafka_partition_count(b->producer, b->topics[i], 10000,
                                         errstr, errlen);
        if (pc < 0) return BATON_ERR_KAFKA;
        if (i == 0) b->partition_cnt = pc;
        else if (pc != b->partition_cnt)
            return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                                "%s has %d partitions but %s has %d: they "
                                "must be co-partitioned",
                                b->topics[0], b->partition_cnt, b->topics[1],
                                pc);
    }
    subs = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(subs, b->topics[0], RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(subs, b->topics[1], RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(b->consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err)
        return baton_seterr(errstr, errlen, BATON_ERR_KAFKA, "subscribe: %s",
                            rd_kafka_err2str(err));
    return BATON_OK;
}

static baton_err_t batond_setup(batond_t *b, char *errstr, size_t errlen) {
    baton_err_t rc;
    baton_loop_conf_t lc;
    char err[1024];

    b->batch_max = baton_conf_get_int(b->conf, "batond.batch.max");
    b->history_max = baton_conf_get_int(b->conf, "batond.history.max");
    b->ttl_s = baton_conf_get_int(b->conf, "batond.history.ttl.s");
    b->horizon_ms = baton_conf_get_int(b->conf, "batond.timers.horizon.s") *
                    1000;
    if (b->horizon_ms < 1000) b->horizon_ms = 1000;
    baton_topic(b->conf, "commands", b->topics[0], sizeof b->topics[0]);
    baton_topic(b->conf, "results", b->topics[1], sizeof b->topics[1]);
    b->topic_ptrs[0] = b->topics[0];
    b->topic_ptrs[1] = b->topics[1];
    if (b->batch_max < 1)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "batond.batch.max must be at least 1");
    if (!(b->reg = baton_registry_new())) return BATON_ERR_NOMEM;
    if ((rc = baton_registry_load_dir(b->reg,
                                      baton_conf_get(b->conf,
                                                     "batond.workflows.dir"),
                                      err, sizeof err)))
        return baton_seterr(errstr, errlen, rc, "loading definitions: %s",
                            err);
    if (!(b->codec = baton_codec_new(errstr, errlen))) return BATON_ERR_INVALID;
    if (!(b->redis = baton_redis_connect(baton_conf_get(b->conf, "redis.url"),
                                         5000, errstr, errlen)))
        return BATON_ERR_REDIS;
    if ((rc = baton_store_put_defs(b->redis, b->reg, errstr, errlen)))
        return rc;
    if ((rc = batond_setup_kafka(b, errstr, errlen))) return rc;
    b->engine = baton_engine_new(b->reg, b->codec,
                                 baton_conf_get(b->conf, "topic.prefix"));
    lc.topic_prefix = baton_conf_get(b->conf, "topic.prefix");
    lc.partition_cnt = b->partition_cnt;
    lc.payload_max = baton_conf_get_int(b->conf, "batond.payload.max");
    lc.cache_max = baton_conf_get_int(b->conf, "batond.cache.max");
    b->loop = baton_loop_new(&lc, b->engine, b->codec);
    b->msgs = baton_calloc((size_t)b->batch_max, sizeof(*b->msgs));
    b->polled_us = baton_calloc((size_t)b->batch_max, sizeof(int64_t));
    if (!b->engine || !b->loop || !b->msgs || !b->polled_us)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    BATON_INFO("main", "%zu definitions loaded, %d partitions, Redis at %s",
               baton_registry_count(b->reg), b->partition_cnt,
               baton_conf_get(b->conf, "redis.url"));
    return BATON_OK;
}

static void batond_write_stats(batond_t *b) {
    const baton_loop_stats_t *s = baton_loop_stats(b->loop);
    FILE *f;
    char line[512];
    snprintf(line, sizeof line,
             "{\"inputs\":%lld,\"applied\":%lld,\"skipped\":%lld,\"dlq\":%lld,"
             "\"forwarded\":%lld,\"timers\":%lld,\"batches\":%lld,"
             "\"step_us_p50\":%lld,\"step_us_p99\":%lld,\"steps\":%lld,"
             "\"timers_armed_max\":%lld}",
             (long long)s->inputs, (long long)s->applied,
             (long long)s->skipped, (long long)s->dlq,
             (long long)s->forwarded, (long long)s->timers_fired,
             (long long)s->batches, (long long)lat_pct(&b->step_lat, 50),
             (long long)lat_pct(&b->step_lat, 99), (long long)b->step_lat.n,
             (long long)s->timers_armed_max);
    BATON_INFO("main", "stats %s", line);
    if (b->stats_file && (f = fopen(b->stats_file, "w"))) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

static void batond_teardown(batond_t *b) {
    if (b->consumer) {
        batond_commit_kafka(b, 1);
        rd_kafka_consumer_close(b->consumer); /* revokes: flushes */
        rd_kafka_destroy(b->consumer);
    }
    if (b->producer) {
        rd_kafka_flush(b->producer, 10000);
        rd_kafka_destroy(b->producer);
    }
    if (b->loop) batond_write_stats(b);
    baton_loop_destroy(b->loop);
    baton_engine_destroy(b->engine);
    baton_codec_destroy(b->codec);
    baton_registry_destroy(b->reg);
    if (b->redis) redisFree(b->redis);
    baton_free(b->msgs);
    baton_free(b->polled_us);
    baton_conf_destroy(b->conf);
}

static int batond_parse_args(batond_t *b, int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"workflows", required_argument, NULL, 'w'},
        {"set", required_argument, NULL, 's'},
        {"stats-file", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *config = NULL;
    char err[1024];
    int c;
    /* First pass: the config file, so flags override it. */
    while ((c = getopt_long(argc, argv, "c:w:s:S:h", opts, NULL)) != -1) {
        if (c == 'c') config = optarg;
        if (c == 'h' || c == '?') {
            batond_usage(argv[0]);
            return c == 'h' ? 0 : 2;
        }
    }
    if (baton_conf_load_default(b->conf, config, err, sizeof err)) {
        BATON_ERROR("main", "%s", err);
        return 1;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:w:s:S:h", opts, NULL)) != -1) {
        char *eq;
        baton_err_t rc = BATON_OK;
        if (c == 'w')
            rc = baton_conf_set(b->conf, "batond.workflows.dir", optarg, err,
                                sizeof err);
        else if (c == 'S')
            b->stats_file = optarg;
        else if (c == 's') {
            if (!(eq = strchr(optarg, '='))) {
                BATON_ERROR("main", "--set wants KEY=VALUE, got '%s'", optarg);
                return 2;
            }
            *eq = '\0';
            rc = baton_conf_set(b->conf, optarg, eq + 1, err, sizeof err);
            *eq = '=';
        }
        if (rc) {
            BATON_ERROR("main", "%s", err);
            return 1;
        }
    }
    if (baton_log_configure(baton_conf_get(b->conf, "log.level"),
                            baton_conf_get(b->conf, "log.debug"))) {
        BATON_ERROR("main", "bad log.level '%s'",
                    baton_conf_get(b->conf, "log.level"));
        return 1;
    }
    return -1;
}

int main(int argc, char **argv) {
    batond_t b;
    char err[1024];
    int rc;

    memset(&b, 0, sizeof b);
    baton_log_set_program("batond");
    if (!(b.conf = baton_conf_new())) return 1;
    if ((rc = batond_parse_args(&b, argc, argv)) >= 0) {
        baton_conf_destroy(b.conf);
        return rc;
    }
    signal(SIGTERM, batond_on_signal);
    signal(SIGINT, batond_on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (batond_setup(&b, err, sizeof err)) {
        BATON_ERROR("main", "%s", err);
        batond_teardown(&b);
        return 1;
    }
    BATON_INFO("main", "running");
    while (!batond_stop) batond_batch(&b);
    BATON_INFO("main", "stopping: draining");
    batond_teardown(&b);
    return 0;
}
