/*
 * batond.c -- the orchestrator process: the Kafka and Redis edges around the
 * pure processing loop (loop.c).
 *
 *   main()            parse flags, load config and definitions, connect,
 *                     subscribe, run the loop until SIGTERM, drain, exit
 *   batond_rebalance  on assignment: take each partition's fencing token
 *                     (kept here, in epochs[]), read its offsets, outbox
 *                     and timers from Redis, re-send the outbox, seek;
 *                     on revocation: flush the producer, drop the partition
 *   batond_port_*     the loop's port (loop.h) over Kafka and Redis: poll,
 *                     load snapshots and definitions, write one atomic
 *                     fenced script per partition (store.c, with the
 *                     token), produce, commit offsets to Kafka (for lag
 *                     only: the offsets that count are in Redis)
 *   batond_batch      one turn: baton_loop_run_batch over that port, and
 *                     a re-read of Redis state when the batch was abandoned
 *                     (batond_resync: take again, seek back to the stored
 *                     offsets; only the rebalance callback assigns);
 *                     first, when the producer hit a fatal error, a new
 *                     producer replaces it and every owned partition's
 *                     outbox is re-sent (batond_reset_producer)
 *
 * One thread does everything; librdkafka's own threads do the network I/O.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "blob_store.h"
#include "cloudevents.h"
#include "codec.h"
#include "crypt.h"
#include "config.h"
#include "batond_metrics.h"
#include "engine.h"
#include "kafka.h"
#include "kafka_trace.h"
#include "keys.h"
#include "loop.h"
#include "notify.h"
#include "otlp.h"
#include "redis.h"
#include "registry.h"
#include "store.h"
#include "takeover.h"

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

/* The trace headers of one polled message (kafka_trace.h). */
typedef struct batond_trace_hdr {
    char tp[BATON_TRACEPARENT_LEN + 1];
    char ts[BATON_TRACESTATE_MAX + 1];
} batond_trace_hdr_t;

typedef struct batond {
    baton_conf_t *conf;
    int fatal;          /* the consumer hit a fatal Kafka error: exit 1 */
    int producer_reset; /* the producer hit one: replace it (next batch) */
    const char *ns;     /* Redis key namespace (keys.h), owned by conf */
    baton_registry_t *reg;
    baton_codec_t *codec;
    baton_crypt_t *crypt; /* payload keys (crypt.*), or NULL */
    baton_engine_t *engine;
    baton_loop_t *loop;
    rd_kafka_t *consumer, *producer;
    redisContext *redis;
    char topics[2][200];
    const char *topic_ptrs[2];
    int32_t partition_cnt;
    int64_t batch_max, history_max, ttl_s;
    struct {
        baton_store_blobs_t store; /* blob.* (store.h) */
        size_t resolve_max;
    } blobs;
    int64_t horizon_ms;    /* timers kept in memory (batond.timers.*) */
    int64_t next_slice_ms; /* when to read the next slice of timers */
    int64_t *epochs;       /* [partition_cnt]: fencing tokens taken */
    /* Owned partitions to seek to their stored offsets once their fetcher
     * has started (batond_resync); their messages are not applied until
     * then.  NULL: none. */
    rd_kafka_topic_partition_list_t *seek_pending;
    rd_kafka_message_t **msgs;
    baton_loop_msg_t *lmsgs; /* the same, as the loop's port hands them */
    batond_trace_hdr_t *trace_hdrs; /* their trace headers, NUL-terminated */
    baton_otlp_t *otlp;             /* span exporter, NULL: tracing off */
    int64_t *polled_us;
    size_t nmsgs;
    int64_t last_commit_us;
    baton_loop_port_t port;
    lat_hist_t step_lat;
    batond_metrics_t *metrics; /* NULL: batond.metrics.listen empty */
    const char *stats_file;
    char events_topic[256]; /* its messages get CloudEvents headers */
    /* TEST HOOK (batond_test_stop_*): BATON_TEST_STOP */
    char test_stop[512];
    const char *test_stop_wf, *test_stop_text;
    int test_stop_after;
    char test_ignore_ack[256]; /* TEST HOOK: BATON_TEST_IGNORE_ACK */
    /* TEST HOOK: BATON_TEST_PRODUCER_FATAL_AFTER (0 = off) */
    int64_t test_fatal_after, test_produced;
} batond_t;

/* librdkafka's error callback of both clients.  A fatal error leaves the
 * client unusable.  On the producer (e.g. the idempotent producer's
 * "sequence desynchronization" after a leader change in librdkafka 2.0.2,
 * fixed upstream in 2.3.0) it only sets producer_reset: the next batch
 * replaces the producer and re-sends the outbox (batond_reset_producer).
 * On the consumer batond stops and exits 1 so its supervisor restarts it;
 * what it decided is in Redis and its outbox is re-sent by the next owner.
 * A producer already replaced is ignored.  Other errors librdkafka logs and
 * retries itself.  Thread: the polling (main) thread. */
static void batond_on_kafka_error(rd_kafka_t *rk, int err, const char *reason,
                                  void *opaque) {
    batond_t *b = opaque;
    char buf[512];
    rd_kafka_resp_err_t ferr;
    if (err != RD_KAFKA_RESP_ERR__FATAL) {
        BATON_DEBUG("kafka", "%s: %s: %s", rd_kafka_name(rk),
                    rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
        return;
    }
    ferr = rd_kafka_fatal_error(rk, buf, sizeof buf);
    if (rk == b->producer) {
        BATON_ERROR("kafka",
                    "%s: fatal Kafka error %s: %s; replacing the producer "
                    "before the next batch",
                    rd_kafka_name(rk), rd_kafka_err2name(ferr), buf);
        b->producer_reset = 1;
        return;
    }
    if (rk != b->consumer) { /* a producer already replaced */
        BATON_DEBUG("kafka", "%s (replaced): fatal Kafka error %s: %s",
                    rd_kafka_name(rk), rd_kafka_err2name(ferr), buf);
        return;
    }
    BATON_ERROR("kafka",
                "%s: fatal Kafka error %s: %s; stopping (exit 1) so a "
                "supervisor restarts batond",
                rd_kafka_name(rk), rd_kafka_err2name(ferr), buf);
    b->fatal = 1;
    batond_stop = 1;
}

/* librdkafka's statistics of both clients, re-exported (loop thread). */
static int batond_on_stats(rd_kafka_t *rk, char *json, size_t len,
                           void *opaque) {
    (void)rk;
    return batond_metrics_kafka_stats(((batond_t *)opaque)->metrics, json, len);
}

/* The partitions batond owns now, for readiness. */
static void batond_note_owned(batond_t *b) {
    int owned = 0;
    for (int32_t p = 0; p < b->partition_cnt; p++)
        owned += baton_loop_owns(b->loop, p);
    batond_metrics_partitions(b->metrics, owned);
}

/* Opaque of a produced outbox message: where to report its delivery. */
typedef struct outref {
    int32_t partition;
    char id[];
} outref_t;

/* ---- producing ---------------------------------------------------------- */

/* A history event on <prefix>.events becomes a CloudEvent in binary mode
 * too (common/cloudevents.h): the ce_* headers, from the event itself, so
 * a re-send carries the same ones. */
static void batond_ce_headers(batond_t *b, rd_kafka_headers_t *hdrs, int json,
                              const void *value, size_t len) {
    baton_event_t ev;
    baton_ce_attrs_t ce;
    char err[256];
    if (baton_codec_decode_event(b->codec, value, len, json, &ev, err,
                                 sizeof err)) {
        baton_event_clear(&ev);
        return; /* cannot happen: batond encoded it */
    }
    baton_ce_attrs(&ev, baton_conf_get(b->conf, "topic.prefix"), &ce);
    rd_kafka_header_add(hdrs, "ce_specversion", -1, BATON_CE_SPECVERSION, -1);
    rd_kafka_header_add(hdrs, "ce_type", -1, ce.type, -1);
    rd_kafka_header_add(hdrs, "ce_source", -1, ce.source, -1);
    rd_kafka_header_add(hdrs, "ce_id", -1, ce.id, -1);
    rd_kafka_header_add(hdrs, "ce_subject", -1, ce.subject, -1);
    rd_kafka_header_add(hdrs, "ce_time", -1, ce.time, -1);
    rd_kafka_header_add(hdrs, "ce_dataschema", -1, BATON_CE_DATASCHEMA, -1);
    baton_event_clear(&ev);
}

/* The producer refused an outbox message for good (err is permanent): the
 * loop deletes the entry and DLQs a stub of it with the next write. */
static void batond_refused(batond_t *b, int32_t src_part, const char *id,
                           const char *topic, const char *key, int json,
                           const char *error, const void *value, size_t len,
                           rd_kafka_resp_err_t err) {
    baton_outbox_msg_t m = {0};
    m.id = (char *)id; /* borrowed: the loop copies */
    m.topic = (char *)topic;
    m.key = (char *)key;
    m.error = (char *)error;
    m.json = json;
    m.partition = -1;
    m.value = (char *)value;
    m.value_len = len;
    if (baton_loop_outbox_refused(b->loop, src_part, &m, rd_kafka_err2str(err)))
        BATON_ERROR("kafka",
                    "producing %s to %s: %s (kept in the outbox: "
                    "out of memory)",
                    id, topic, rd_kafka_err2str(err));
}

static void batond_produce(batond_t *b, int32_t src_part, const char *topic,
                           int32_t partition, const char *key, int json,
                           const char *error, const void *value, size_t len,
                           const char *id, const char *tp, const char *ts) {
    size_t idlen = strlen(id);
    outref_t *ref = baton_malloc(sizeof *ref + idlen + 1);
    rd_kafka_headers_t *hdrs = baton_kafka_headers_new(json);
    rd_kafka_resp_err_t err;

    if (!ref) return; /* stays in the outbox: re-sent on next assignment */
    ref->partition = src_part;
    memcpy(ref->id, id, idlen + 1);
    if (error) rd_kafka_header_add(hdrs, "baton-error", -1, error, -1);
    baton_kafka_trace_add(hdrs, tp, ts);
    if (!strcmp(topic, b->events_topic)) {
        batond_ce_headers(b, hdrs, json, value, len);
        /* CloudEvents' distributed-tracing extension, binary mode */
        if (tp && *tp) rd_kafka_header_add(hdrs, "ce_traceparent", -1, tp, -1);
        if (tp && *tp && ts && *ts)
            rd_kafka_header_add(hdrs, "ce_tracestate", -1, ts, -1);
    }
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
    if (!err && b->test_fatal_after && /* TEST HOOK */
        ++b->test_produced == b->test_fatal_after) {
        BATON_WARN("main",
                   "TEST HOOK: fatal error on the producer after %lld "
                   "messages",
                   (long long)b->test_produced);
        rd_kafka_test_fatal_error(
            b->producer, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
            "BATON_TEST_PRODUCER_FATAL_AFTER");
    }
    if (err) {
        rd_kafka_headers_destroy(hdrs);
        baton_free(ref);
        if (baton_kafka_err_permanent(err)) {
            batond_refused(b, src_part, id, topic, key, json, error, value, len,
                           err);
            return;
        }
        BATON_ERROR("kafka", "producing %s to %s: %s (kept in the outbox)", id,
                    topic, rd_kafka_err2str(err));
    }
}

/* Delivery report (producer poll, loop thread): acknowledged outbox
 * entries are deleted with the next batch; failed ones are produced again,
 * unless the error is permanent: then a DLQ stub replaces them
 * (baton_loop_outbox_refused). */
static void batond_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                               void *opaque) {
    batond_t *b = opaque;
    outref_t *ref = m->_private;
    (void)rk;
    if (!ref) return;
    if (!m->err) {
        if (b->test_ignore_ack[0] && /* TEST HOOK: a late delivery report */
            !strncmp(ref->id, b->test_ignore_ack, strlen(b->test_ignore_ack))) {
            baton_free(ref);
            return;
        }
        baton_loop_outbox_done(b->loop, ref->partition, ref->id);
        baton_free(ref);
        return;
    }
    if (!baton_kafka_err_permanent(m->err))
        BATON_WARN("kafka", "delivery of %s to %s failed: %s; producing again",
                   ref->id, rd_kafka_topic_name(m->rkt),
                   rd_kafka_err2str(m->err));
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
        batond_trace_hdr_t th;
        baton_kafka_trace_get(m, th.tp, th.ts, NULL);
        snprintf(key, sizeof key, "%.*s", (int)m->key_len,
                 (const char *)m->key);
        if (baton_kafka_err_permanent(m->err))
            batond_refused(b, ref->partition, ref->id,
                           rd_kafka_topic_name(m->rkt), m->key ? key : NULL,
                           json, errbuf[0] ? errbuf : NULL, m->payload, m->len,
                           m->err);
        else
            batond_produce(b, ref->partition, rd_kafka_topic_name(m->rkt),
                           m->partition, m->key ? key : NULL, json,
                           errbuf[0] ? errbuf : NULL, m->payload, m->len,
                           ref->id, th.tp, th.ts);
        baton_free(ref);
    }
}

/* Warns, with the figures, when the producer's message.max.bytes exceeds
 * a topic's max.message.bytes on the broker (a message in between is
 * accepted by the producer, then refused by the broker and DLQ'd as a
 * stub), or when a DLQ stub (batond.limits.dlq.copy.max plus headers)
 * might not fit the DLQ topic.  Only warns: a broker that does not answer
 * DescribeConfigs (or denies it) is logged and batond goes on. */
static void batond_check_sizes(batond_t *b) {
    char pmax[32] = "", dlq[256], events[256], err[512];
    size_t plen = sizeof pmax;
    int64_t producer_max, copy_max;
    const char *topics[4];
    if (rd_kafka_conf_get(rd_kafka_conf(b->producer), "message.max.bytes", pmax,
                          &plen) != RD_KAFKA_CONF_OK)
        return;
    producer_max = strtoll(pmax, NULL, 10);
    copy_max = baton_conf_get_int(b->conf, "batond.limits.dlq.copy.max");
    topics[0] = b->topics[0];
    topics[1] = b->topics[1];
    topics[2] = baton_topic(b->conf, "events", events, sizeof events);
    topics[3] = baton_topic(b->conf, "dlq", dlq, sizeof dlq);
    for (size_t i = 0; i < BATON_ARRAY_SIZE(topics); i++) {
        int64_t broker_max = baton_kafka_topic_max_message_bytes(
            b->producer, topics[i], 1500, err, sizeof err);
        if (broker_max < 0) {
            BATON_WARN("kafka", "cannot check message sizes: %s", err);
            return;
        }
        if (producer_max > broker_max)
            BATON_WARN("kafka",
                       "producer message.max.bytes %lld exceeds "
                       "max.message.bytes %lld of topic %s: a "
                       "message in between is refused by the "
                       "broker and dead-lettered as a stub",
                       (long long)producer_max, (long long)broker_max,
                       topics[i]);
        if (i == 3 &&
            copy_max + 4096 >
                (producer_max < broker_max ? producer_max : broker_max))
            BATON_WARN("kafka",
                       "batond.limits.dlq.copy.max %lld (+4096 "
                       "for headers) may not fit topic %s "
                       "(max.message.bytes %lld, producer "
                       "message.max.bytes %lld)",
                       (long long)copy_max, topics[i], (long long)broker_max,
                       (long long)producer_max);
    }
}

/* The engine's random source (engine.h baton_engine_random_fn): the
 * nonces of task and child ids, from OpenSSL's CSPRNG. */
static int batond_random(void *ctx, unsigned char *buf, size_t len) {
    (void)ctx;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* ---- partitions ------------------------------------------------------- */

/* Takes partition p over from Redis: offsets, timers, outbox re-sent. */
static baton_err_t batond_take_partition(batond_t *b, int32_t p,
                                         int64_t next[2], char *errstr,
                                         size_t errlen) {
    baton_part_state_t st;
    baton_err_t rc = baton_store_load_partition(
        b->redis, b->ns, p, b->topic_ptrs, baton_now_ms() + b->horizon_ms, &st,
        errstr, errlen);
    if (rc) return rc;
    next[0] = st.next_offset[0];
    next[1] = st.next_offset[1];
    if ((rc = baton_loop_partition_add(b->loop, p, st.next_offset))) {
        baton_part_state_clear(&st);
        return baton_seterr(errstr, errlen, rc, "partition %d: %s", p,
                            baton_err2str(rc));
    }
    b->epochs[p] = st.epoch;
    baton_loop_set_timers_upto(b->loop, p, st.timers_upto);
    for (size_t i = 0; i < st.ntimers; i++)
        baton_loop_timer_arm(b->loop, p, st.timer_members[i], st.timer_due[i]);
    for (size_t i = 0; i < st.noutbox; i++) {
        baton_outbox_msg_t *m = &st.outbox[i];
        batond_produce(b, p, m->topic, m->partition, m->key, m->json, m->error,
                       m->value, m->value_len, m->id, m->traceparent,
                       m->tracestate);
    }
    BATON_INFO("loop",
               "took partition %d (epoch %lld): next offsets commands=%lld "
               "results=%lld, %zu timers, %zu outbox messages re-sent",
               p, (long long)st.epoch, (long long)next[0], (long long)next[1],
               st.ntimers, st.noutbox);
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
        rc = baton_store_load_timers(b->redis, b->ns, p, from, upto, &st,
                                     errstr, errlen);
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
        rd_kafka_query_watermark_offsets(b->consumer, topic, p, &lo, &hi, 5000))
        return;
    if (next < lo)
        BATON_ERROR("loop",
                    "%s[%d]: next input offset %lld is gone (log starts at "
                    "%lld): %lld inputs were deleted by retention before "
                    "batond applied them",
                    topic, p, (long long)next, (long long)lo,
                    (long long)(lo - next));
}

/* The takeover port (takeover.h) over Redis. */
static baton_err_t batond_takeover_take(void *ctx, int32_t p, char *errstr,
                                        size_t errlen) {
    batond_t *b = ctx;
    int64_t next[2];
    if (!b->redis)
        return baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                            "not connected to Redis");
    return batond_take_partition(b, p, next, errstr, errlen);
}

static int batond_takeover_reconnect(void *ctx) {
    batond_t *b = ctx;
    char err[512];
    if (b->redis) redisFree(b->redis);
    b->redis = NULL;
    while (!b->redis) {
        if (batond_stop) return -1;
        batond_metrics_tick(b->metrics, NULL, b->ns, b->loop, 0); /* alive */
        sleep(1);
        b->redis = baton_redis_connect_conf(b->conf, 2000, err, sizeof err);
        if (!b->redis) BATON_ERROR("redis", "%s", err);
    }
    return 0;
}

/* Takes every partition of `parts` (fencing token, offsets, outbox and
 * timers from Redis, retrying Redis until it answers: the partitions cannot
 * be served without their state) and sets each element's offset to the
 * next input stored for it.  After a reconnect every partition of the set
 * is taken again (takeover.h: a restarted Redis may have lost the epochs
 * taken before).  Returns -1 when batond is stopping. */
static int batond_take_set(batond_t *b,
                           rd_kafka_topic_partition_list_t *parts) {
    baton_takeover_port_t port = {b, batond_takeover_take,
                                  batond_takeover_reconnect};
    int32_t *take = baton_calloc((size_t)parts->cnt + 1, sizeof *take);
    size_t n = 0;
    if (!take) {
        BATON_ERROR("loop", "assigning partitions: out of memory");
        return -1;
    }
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        int seen = baton_loop_owns(b->loop, p);
        for (size_t j = 0; j < n && !seen; j++) seen = take[j] == p;
        if (!seen) take[n++] = p;
    }
    if ((!b->redis && batond_takeover_reconnect(b)) ||
        baton_takeover_run(&port, take, n)) {
        baton_free(take);
        return -1; /* stopping */
    }
    baton_free(take);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int src = !strcmp(tp->topic, b->topics[0]) ? 0 : 1;
        int64_t next =
            baton_loop_next_offset(b->loop, tp->partition, (baton_src_t)src);
        tp->offset = next >= 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
        batond_check_gone(b, tp->topic, tp->partition, next);
    }
    return 0;
}

/* Forgets the seeks batond_resync left pending. */
static void batond_seek_clear(batond_t *b) {
    if (b->seek_pending) rd_kafka_topic_partition_list_destroy(b->seek_pending);
    b->seek_pending = NULL;
}

/* Assigns `parts` (the rebalance callback's set) at their stored offsets.
 * Only the rebalance callback assigns: an assign outside it that races a
 * revocation makes Debian's librdkafka 2.0.2 stop a partition twice and
 * abort (rdkafka_assignment.c: Assertion `rktp->rktp_started', its issue
 * #5573), so a re-read of Redis seeks instead (batond_seek). */
static void batond_assign(batond_t *b, rd_kafka_topic_partition_list_t *parts) {
    batond_seek_clear(b);
    if (batond_take_set(b, parts)) return;
    rd_kafka_assign(b->consumer, parts);
}

/* Seeks the partitions of `parts` to the offsets batond_take_set put in
 * them; those whose fetcher has not started yet (an assignment still being
 * applied) or that did not answer stay in b->seek_pending, sought again at
 * the next batch.  Returns how many are pending. */
static int batond_seek(batond_t *b, rd_kafka_topic_partition_list_t *parts) {
    rd_kafka_topic_partition_list_t *left;
    rd_kafka_error_t *error =
        rd_kafka_seek_partitions(b->consumer, parts, 5000);
    if (error) {
        BATON_WARN("kafka",
                   "seeking %d partitions to their stored offsets: "
                   "%s; trying again",
                   parts->cnt, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    left = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (!error && !tp->err) continue;
        rd_kafka_topic_partition_list_add(left, tp->topic, tp->partition)
            ->offset = tp->offset;
    }
    batond_seek_clear(b);
    if (!left->cnt) {
        rd_kafka_topic_partition_list_destroy(left);
        return 0;
    }
    b->seek_pending = left;
    return left->cnt;
}

/* Whether m was read before its partition's pending seek (batond_seek). */
static int batond_seek_waits(const batond_t *b, const rd_kafka_message_t *m) {
    if (!b->seek_pending) return 0;
    return rd_kafka_topic_partition_list_find(b->seek_pending,
                                              rd_kafka_topic_name(m->rkt),
                                              m->partition) != NULL;
}

static void batond_flush_deletes(batond_t *b);

static void batond_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *parts,
                             void *opaque) {
    batond_t *b = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        BATON_INFO("kafka", "assigned %d topic partitions", parts->cnt);
        batond_assign(b, parts);
        batond_note_owned(b);
        return;
    }
    BATON_INFO("kafka", "revoked %d topic partitions", parts->cnt);
    /* Finish: everything decided is in the outbox; let Kafka acknowledge
     * it so the next owner re-sends as little as possible. */
    rd_kafka_flush(b->producer, 10000);
    batond_flush_deletes(b);
    for (int i = 0; i < parts->cnt; i++)
        baton_loop_partition_drop(b->loop, parts->elems[i].partition);
    batond_seek_clear(b);
    rd_kafka_assign(rk, NULL);
    batond_note_owned(b);
}

/* ---- the loop's port: one batch over Kafka and Redis ------------------ */

static int batond_src_of(batond_t *b, const rd_kafka_message_t *m) {
    const char *t = rd_kafka_topic_name(m->rkt);
    return !strcmp(t, b->topics[0]) ? BATON_SRC_COMMANDS : BATON_SRC_RESULTS;
}

/* port.prepare: the next slice of timers when it is due. */
static baton_err_t batond_port_prepare(void *ctx, char *errstr, size_t errlen) {
    batond_t *b = ctx;
    char err[512];
    baton_err_t rc = batond_timer_slices(b, err, sizeof err);
    return rc ? baton_seterr(errstr, errlen, rc, "reading timers: %s", err)
              : BATON_OK;
}

/* port.poll: up to batond.batch.max messages, waiting only for the first. */
static size_t batond_port_poll(void *ctx, int timeout_ms,
                               const baton_loop_msg_t **msgs) {
    batond_t *b = ctx;
    b->nmsgs = 0;
    while ((int64_t)b->nmsgs < b->batch_max) {
        rd_kafka_message_t *m =
            rd_kafka_consumer_poll(b->consumer, b->nmsgs ? 0 : timeout_ms);
        baton_loop_msg_t *lm;
        if (!m) break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                BATON_WARN("kafka", "consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (batond_seek_waits(b, m)) {
            /* read from before the stored offset's seek: not applied, not
             * committed; the seek fetches it again */
            rd_kafka_message_destroy(m);
            continue;
        }
        b->polled_us[b->nmsgs] = baton_mono_us();
        lm = &b->lmsgs[b->nmsgs];
        lm->src = (baton_src_t)batond_src_of(b, m);
        lm->partition = m->partition;
        lm->offset = m->offset;
        lm->value = m->payload;
        lm->len = m->len;
        lm->json = baton_kafka_msg_is_json(m);
        baton_kafka_trace_get(m, b->trace_hdrs[b->nmsgs].tp,
                              b->trace_hdrs[b->nmsgs].ts, NULL);
        lm->traceparent =
            b->trace_hdrs[b->nmsgs].tp[0] ? b->trace_hdrs[b->nmsgs].tp : NULL;
        lm->tracestate =
            b->trace_hdrs[b->nmsgs].ts[0] ? b->trace_hdrs[b->nmsgs].ts : NULL;
        b->msgs[b->nmsgs++] = m;
    }
    *msgs = b->lmsgs;
    return b->nmsgs;
}

static int64_t batond_port_now_ms(void *ctx) {
    (void)ctx;
    return baton_now_ms();
}

static baton_err_t batond_port_load_snapshots(void *ctx, size_t n,
                                              const int32_t *parts,
                                              const char *const *ids,
                                              char **texts, size_t *lens,
                                              char *errstr, size_t errlen) {
    batond_t *b = ctx;
    baton_err_t rc = baton_store_get_snapshots(b->redis, b->ns, n, parts, ids,
                                               texts, lens, errstr, errlen);
    /* The claim check: a snapshot is stored as ref JSON; the core gets it
     * resolved. */
    for (size_t i = 0; !rc && i < n; i++) {
        baton_blob_loc_t loc = {b->redis, b->ns, parts[i], b->crypt};
        char *out = NULL, err[512];
        size_t outlen = 0;
        if (!texts[i]) continue;
        /* Payload encryption: a sealed snapshot is opened first (a key
         * missing: unreadable, quarantined like a missing blob). */
        if ((rc = baton_crypt_open(b->crypt, "snapshot", ids[i], texts[i],
                                   lens[i], &out, &outlen, err, sizeof err))) {
            BATON_ERROR("redis", "snapshot of %s: %s", ids[i], err);
            rc = BATON_OK;
            continue;
        }
        if (out) {
            baton_free(texts[i]);
            texts[i] = out;
            lens[i] = outlen;
            out = NULL;
        }
        if ((rc = baton_blob_store_resolve_text(
                 &loc, texts[i], lens[i], 0, &out, &outlen, err, sizeof err))) {
            /* a missing blob: the snapshot cannot be read (quarantine) */
            if (rc != BATON_ERR_REDIS && rc != BATON_ERR_NOMEM) {
                BATON_ERROR("redis", "snapshot of %s: %s", ids[i], err);
                rc = BATON_OK;
                continue;
            }
            baton_seterr(errstr, errlen, rc, "snapshot of %s: %s", ids[i], err);
        } else if (out) {
            baton_free(texts[i]);
            texts[i] = out;
            lens[i] = outlen;
        }
    }
    return rc;
}

/* port.resolve: the references in a result's output (claim check). */
static baton_err_t batond_port_resolve(void *ctx, int32_t p, const char *text,
                                       char **out, char *errstr,
                                       size_t errlen) {
    batond_t *b = ctx;
    baton_blob_loc_t loc = {b->redis, b->ns, p, b->crypt};
    size_t outlen = 0;
    return baton_blob_store_resolve_text(&loc, text, strlen(text),
                                         b->blobs.resolve_max, out, &outlen,
                                         errstr, errlen);
}

/* port.dedupe_seen: which commands' dedupe keys Redis remembers. */
static baton_err_t batond_port_dedupe_seen(void *ctx, size_t n,
                                           const int32_t *parts,
                                           const char *const *ids,
                                           const char *const *dds, int *seen,
                                           char *errstr, size_t errlen) {
    batond_t *b = ctx;
    return baton_store_dedupe_seen(b->redis, b->ns, n, parts, ids, dds, seen,
                                   errstr, errlen);
}

/* port.load_def: a version some run pins, from Redis into the registry. */
static baton_err_t batond_port_load_def(void *ctx, const char *name,
                                        const char *ver, char *errstr,
                                        size_t errlen) {
    batond_t *b = ctx;
    char *text =
        baton_store_get_def(b->redis, b->ns, name, ver, errstr, errlen);
    baton_err_t rc;
    if (!text) return BATON_ERR_NOTFOUND;
    rc = baton_registry_add(b->reg, name, text, 0, NULL, errstr, errlen);
    baton_free(text);
    return rc;
}

/* ---- TEST HOOK: stop at a write --------------------------------------- */
/* BATON_TEST_STOP=<when>:<workflow id>[:<text>], read once at start, when
 * = before|after: the first batch write holding a history event of that
 * workflow (whose JSON contains text, when given) is preceded (before) or
 * followed, ahead of producing its outbox (after), by raise(SIGSTOP).  A
 * test then holds a stale instance about to write a decided batch
 * (tests/integration/0010) or kills batond at the exact point after a write
 * (0025b); SIGCONT resumes.  Unset (production): nothing.  Not a
 * configuration key on purpose. */
/* BATON_TEST_IGNORE_ACK=<outbox id prefix>, read once at start: Kafka's
 * delivery reports of those outbox entries are ignored, as if they came
 * late (after the results of the tasks they carry); only the write that
 * ends an attempt can then remove a task's entry (0025b, fix a2bc9f9). */
/* BATON_TEST_PRODUCER_FATAL_AFTER=<n>, read once at start: after the n-th
 * message produced, rd_kafka_test_fatal_error raises a fatal error on the
 * producer (once), as librdkafka 2.0.2's sequence desynchronization does;
 * batond must replace the producer and go on (0035). */
static void batond_test_stop_init(batond_t *b) {
    const char *v = getenv("BATON_TEST_STOP"), *ia, *fa;
    char *c;
    if ((fa = getenv("BATON_TEST_PRODUCER_FATAL_AFTER")) && *fa &&
        (b->test_fatal_after = strtoll(fa, NULL, 10)) > 0)
        BATON_WARN("main",
                   "TEST HOOK: fatal producer error after %lld messages",
                   (long long)b->test_fatal_after);
    if ((ia = getenv("BATON_TEST_IGNORE_ACK")) && *ia) {
        snprintf(b->test_ignore_ack, sizeof b->test_ignore_ack, "%s", ia);
        BATON_WARN("main", "TEST HOOK: ignoring delivery reports of %s*", ia);
    }
    if (!v || !*v) return;
    snprintf(b->test_stop, sizeof b->test_stop, "%s", v);
    if (strncmp(b->test_stop, "before:", 7) &&
        strncmp(b->test_stop, "after:", 6)) {
        BATON_WARN("main",
                   "TEST HOOK: BATON_TEST_STOP=%s ignored (before:|after:)", v);
        b->test_stop[0] = '\0';
        return;
    }
    b->test_stop_after = b->test_stop[0] == 'a';
    b->test_stop_wf = strchr(b->test_stop, ':') + 1;
    if ((c = strchr(b->test_stop_wf, ':'))) {
        *c = '\0';
        b->test_stop_text = c + 1;
    }
    BATON_WARN("main", "TEST HOOK: stopping %s the first write of %s%s%s",
               b->test_stop_after ? "after" : "before", b->test_stop_wf,
               b->test_stop_text ? " with " : "",
               b->test_stop_text ? b->test_stop_text : "");
}

static void batond_test_stop_check(batond_t *b, baton_wset_t *const *ws,
                                   size_t n, int after) {
    if (!b->test_stop[0] || after != b->test_stop_after) return;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ws[i]->nhist; j++)
            if (!strcmp(ws[i]->hist[j].wf_id, b->test_stop_wf) &&
                (!b->test_stop_text ||
                 strstr(ws[i]->hist[j].json, b->test_stop_text))) {
                BATON_WARN("main",
                           "TEST HOOK: stopped %s writing %s "
                           "(partition %d)",
                           after ? "after" : "before", b->test_stop_wf,
                           (int)ws[i]->partition);
                b->test_stop[0] = '\0';
                raise(SIGSTOP);
                BATON_WARN("main", "TEST HOOK: resumed");
                return;
            }
}
/* ---- end of TEST HOOK ---------------------------------------------------- */

/* port.write: one atomic script per partition, under the epochs batond took
 * on assignment. */
/* Hands the spans of the written (not fenced) write sets to the exporter:
 * after the write, so a span is exported once its end is durable (a crash
 * between write and export loses it: tracing is best effort). */
static void batond_export_spans(batond_t *b, baton_wset_t *const *ws, size_t n,
                                const int *fenced) {
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < ws[i]->nspans; k++)
            if (!fenced[i]) baton_otlp_add(b->otlp, &ws[i]->spans[k]);
}

static baton_err_t batond_port_write(void *ctx, baton_wset_t *const *ws,
                                     size_t n, int *fenced, char *errstr,
                                     size_t errlen) {
    batond_t *b = ctx;
    baton_err_t rc;
    int64_t t0 = baton_mono_us();
    batond_test_stop_check(b, ws, n, 0); /* TEST HOOK */
    rc = baton_store_write_ex(b->redis, b->ns, ws, n, b->epochs, b->topic_ptrs,
                              b->history_max, b->ttl_s, &b->blobs.store, fenced,
                              errstr, errlen);
    if (rc == BATON_OK)
        batond_metrics_written(b->metrics, ws, fenced, n, b->nmsgs,
                               (baton_mono_us() - t0) / 1e6);
    if (rc == BATON_OK) batond_test_stop_check(b, ws, n, 1); /* TEST HOOK */
    if (rc == BATON_OK) batond_export_spans(b, ws, n, fenced);
    return rc;
}

static void batond_port_produce(void *ctx, int32_t p,
                                const baton_outbox_msg_t *m) {
    batond_produce(ctx, p, m->topic, m->partition, m->key, m->json, m->error,
                   m->value, m->value_len, m->id, m->traceparent,
                   m->tracestate);
}

/* port.release: step latency of the results applied, then the messages
 * go back to librdkafka. */
static void batond_port_release(void *ctx, int committed) {
    batond_t *b = ctx;
    int64_t produced_us = baton_mono_us();
    for (size_t i = 0; committed && i < b->nmsgs; i++)
        if (batond_src_of(b, b->msgs[i]) == BATON_SRC_RESULTS)
            lat_add(&b->step_lat, produced_us - b->polled_us[i]);
    for (size_t i = 0; i < b->nmsgs; i++) rd_kafka_message_destroy(b->msgs[i]);
    b->nmsgs = 0;
    rd_kafka_poll(b->producer, 0);
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

static void batond_port_commit(void *ctx) {
    batond_commit_kafka(ctx, 0);
}

static void batond_port_init(batond_t *b) {
    b->port.ctx = b;
    b->port.prepare = batond_port_prepare;
    b->port.poll = batond_port_poll;
    b->port.now_ms = batond_port_now_ms;
    b->port.load_snapshots = batond_port_load_snapshots;
    b->port.resolve = batond_port_resolve;
    b->port.load_def = batond_port_load_def;
    b->port.dedupe_seen = batond_port_dedupe_seen;
    b->port.write = batond_port_write;
    b->port.produce = batond_port_produce;
    b->port.release = batond_port_release;
    b->port.commit = batond_port_commit;
}

/* Writes only the acknowledged-outbox deletions (revoking). */
static void batond_flush_deletes(batond_t *b) {
    char err[512];
    rd_kafka_poll(b->producer, 0);
    if (baton_loop_flush(b->loop, &b->port, err, sizeof err))
        BATON_WARN("redis", "deleting acknowledged outbox entries: %s", err);
}

/* Redis failed mid-batch: whether the transaction applied is unknown, so
 * reconnect, drop every cache, re-read each owned partition's state from
 * Redis as on a fresh assignment, and seek back to the stored offsets. */
static void batond_resync(batond_t *b) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    int left = 0;
    char err[512];
    BATON_WARN("loop", "re-reading partition state from Redis");
    redisFree(b->redis);
    while (!(b->redis =
                 baton_redis_connect_conf(b->conf, 2000, err, sizeof err))) {
        BATON_ERROR("redis", "%s; retrying", err);
        if (batond_stop) return;
        batond_metrics_tick(b->metrics, NULL, b->ns, b->loop, 0); /* alive */
        sleep(1);
    }
    for (int32_t p = 0; p < b->partition_cnt; p++)
        baton_loop_partition_drop(b->loop, p);
    if (rd_kafka_assignment(b->consumer, &parts)) return;
    if (!batond_take_set(b, parts) && (left = batond_seek(b, parts)))
        BATON_INFO("kafka",
                   "%d partitions not sought yet (fetcher not started or "
                   "no answer): sought again at the next batch",
                   left);
    rd_kafka_topic_partition_list_destroy(parts);
}

/* The seeks batond_resync could not make yet, tried again. */
static void batond_seek_retry(batond_t *b) {
    rd_kafka_topic_partition_list_t *parts = b->seek_pending;
    b->seek_pending = NULL;
    if (batond_seek(b, parts) == 0)
        BATON_INFO("kafka", "%d partitions sought to their stored offsets",
                   parts->cnt);
    rd_kafka_topic_partition_list_destroy(parts);
}

/* ---- producer reset ----------------------------------------------------- */

/* A new producer, configured as batond's always is: delivery reports to
 * batond_on_delivery, errors to batond_on_kafka_error, opaque b. */
static baton_err_t batond_producer_new(batond_t *b, rd_kafka_t **out,
                                       char *errstr, size_t errlen) {
    rd_kafka_conf_t *kc;
    if (!(kc = baton_kafka_conf_new(b->conf, BATON_KAFKA_PRODUCER, NULL, errstr,
                                    errlen)))
        return BATON_ERR_CONFIG;
    rd_kafka_conf_set_dr_msg_cb(kc, batond_on_delivery);
    rd_kafka_conf_set_error_cb(kc, batond_on_kafka_error);
    if (b->metrics) baton_kafka_conf_stats(kc, b->conf, batond_on_stats);
    rd_kafka_conf_set_opaque(kc, b);
    if (!(*out = baton_kafka_new(kc, BATON_KAFKA_PRODUCER, errstr, errlen)))
        return BATON_ERR_KAFKA;
    return BATON_OK;
}

/* Re-sends, through the (new) producer, the outbox of every partition
 * batond owns, read from Redis; returns how many entries, or -1 with
 * errstr when Redis did not answer. */
static int64_t batond_resend_outboxes(batond_t *b, char *errstr,
                                      size_t errlen) {
    int64_t n = 0;
    for (int32_t p = 0; p < b->partition_cnt; p++) {
        baton_part_state_t st;
        if (!baton_loop_owns(b->loop, p)) continue;
        if (baton_store_load_outbox(b->redis, b->ns, p, &st, errstr, errlen))
            return -1;
        for (size_t i = 0; i < st.noutbox; i++) {
            baton_outbox_msg_t *m = &st.outbox[i];
            batond_produce(b, p, m->topic, m->partition, m->key, m->json,
                           m->error, m->value, m->value_len, m->id,
                           m->traceparent, m->tracestate);
        }
        n += (int64_t)st.noutbox;
        baton_part_state_clear(&st);
    }
    return n;
}

/* The producer hit a fatal error (batond_on_kafka_error): a new one takes
 * its place; the old one's messages are purged, and their delivery reports
 * (__PURGE_QUEUE, __PURGE_INFLIGHT, __FATAL: not permanent) produce them
 * again through the new one; then every owned outbox is re-sent from Redis,
 * for what the dead producer had dropped.  Duplicates are harmless: results
 * are matched by task id, events carry a stable ce_id.  When no producer
 * can be made, batond stops and exits 1 as before. */
static void batond_reset_producer(batond_t *b) {
    char err[1024];
    rd_kafka_t *old = b->producer, *fresh = NULL;
    int64_t n;
    b->producer_reset = 0;
    if (batond_producer_new(b, &fresh, err, sizeof err)) {
        BATON_ERROR("kafka",
                    "cannot replace the producer after its fatal error: %s; "
                    "stopping (exit 1)",
                    err);
        b->fatal = 1;
        batond_stop = 1;
        return;
    }
    b->producer = fresh;
    rd_kafka_purge(old, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (int i = 0; i < 100 && rd_kafka_outq_len(old) > 0; i++)
        rd_kafka_poll(old, 50);
    rd_kafka_poll(old, 0);
    if (rd_kafka_outq_len(old) > 0)
        BATON_WARN("kafka",
                   "old producer still holds %d messages at destroy; "
                   "the outbox re-send covers them",
                   rd_kafka_outq_len(old));
    rd_kafka_destroy(old);
    n = batond_resend_outboxes(b, err, sizeof err);
    if (n < 0) {
        BATON_ERROR("kafka",
                    "producer replaced, but re-sending the outbox failed: "
                    "%s; re-reading Redis state",
                    err);
        batond_resync(b);
        return;
    }
    BATON_INFO("kafka",
               "producer replaced after a fatal error: %lld outbox "
               "entries re-sent",
               (long long)n);
}

/* One turn: the loop runs the batch sequence over batond's port (loop.h);
 * a batch it had to abandon means Redis' state is unknown: re-read it.
 * First, a producer that hit a fatal error is replaced. */
static void batond_batch(batond_t *b) {
    char err[1024];
    if (b->producer_reset) batond_reset_producer(b);
    if (b->seek_pending) batond_seek_retry(b);
    if (baton_loop_run_batch(b->loop, &b->port, err, sizeof err))
        batond_resync(b);
    batond_metrics_tick(b->metrics, b->redis, b->ns, b->loop, b->partition_cnt);
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
    baton_err_t rc;

    if ((rc = batond_producer_new(b, &b->producer, errstr, errlen))) return rc;
    if (!(kc = baton_kafka_conf_new(b->conf, BATON_KAFKA_CONSUMER,
                                    baton_conf_get(b->conf, "batond.group"),
                                    errstr, errlen)))
        return BATON_ERR_CONFIG;
    rd_kafka_conf_set_rebalance_cb(kc, batond_rebalance);
    rd_kafka_conf_set_error_cb(kc, batond_on_kafka_error);
    if (b->metrics) baton_kafka_conf_stats(kc, b->conf, batond_on_stats);
    rd_kafka_conf_set_opaque(kc, b);
    if (!(b->consumer =
              baton_kafka_new(kc, BATON_KAFKA_CONSUMER, errstr, errlen)))
        return BATON_ERR_KAFKA;
    for (int i = 0; i < 2; i++) {
        pc = baton_kafka_partition_count(b->producer, b->topics[i], 10000,
                                         errstr, errlen);
        if (pc < 0) return BATON_ERR_KAFKA;
        if (i == 0)
            b->partition_cnt = pc;
        else if (pc != b->partition_cnt)
            return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                                "%s has %d partitions but %s has %d: they "
                                "must be co-partitioned",
                                b->topics[0], b->partition_cnt, b->topics[1],
                                pc);
    }
    batond_check_sizes(b);
    subs = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(subs, b->topics[0],
                                      RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(subs, b->topics[1],
                                      RD_KAFKA_PARTITION_UA);
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
    char err[1024], shown[512];

    b->batch_max = baton_conf_get_int(b->conf, "batond.batch.max");
    b->history_max = baton_conf_get_int(b->conf, "batond.history.max");
    b->ttl_s = baton_conf_get_int(b->conf, "batond.history.ttl.s");
    {
        /* the claim check; blob.threshold 0: no blobs, escaping only */
        int64_t th = baton_conf_get_int(b->conf, "blob.threshold");
        b->blobs.store.opts.threshold = th > 0 ? (size_t)th : SIZE_MAX;
        b->blobs.store.opts.element_min =
            (size_t)baton_conf_get_int(b->conf, "blob.element.min");
        b->blobs.store.retention_s =
            baton_conf_get_int(b->conf, "blob.retention.s");
        b->blobs.resolve_max =
            (size_t)baton_conf_get_int(b->conf, "blob.resolve.max");
    }
    b->horizon_ms =
        baton_conf_get_int(b->conf, "batond.timers.horizon.s") * 1000;
    if (b->horizon_ms < 1000) b->horizon_ms = 1000;
    baton_topic(b->conf, "commands", b->topics[0], sizeof b->topics[0]);
    baton_topic(b->conf, "results", b->topics[1], sizeof b->topics[1]);
    b->topic_ptrs[0] = b->topics[0];
    b->topic_ptrs[1] = b->topics[1];
    if (b->batch_max < 1)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "batond.batch.max must be at least 1");
    b->ns = baton_conf_key_prefix(b->conf);
    if (!baton_keys_ns_valid(b->ns))
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "Redis key namespace '%s' (redis.key.prefix, "
                            "else topic.prefix) must be 1..%d of "
                            "[A-Za-z0-9._-]",
                            b->ns, BATON_KEYS_NS_MAX);
    if (!(b->reg = baton_registry_new())) return BATON_ERR_NOMEM;
    if ((rc = baton_registry_load_dir(
             b->reg, baton_conf_get(b->conf, "batond.workflows.dir"), err,
             sizeof err)))
        return baton_seterr(errstr, errlen, rc, "loading definitions: %s", err);
    if (!(b->codec = baton_codec_new(errstr, errlen))) return BATON_ERR_INVALID;
    if ((rc = baton_crypt_new_conf(b->conf, &b->crypt, errstr, errlen)))
        return rc;
    baton_codec_set_crypt(b->codec, b->crypt);
    b->blobs.store.crypt = b->crypt;
    if (b->crypt)
        BATON_INFO("batond", "payload encryption on: %zu keys, active '%s'",
                   baton_crypt_count(b->crypt), baton_crypt_active(b->crypt));
    if (!(b->redis = baton_redis_connect_conf(b->conf, 5000, errstr, errlen)))
        return BATON_ERR_REDIS;
    if ((rc = baton_store_put_defs(b->redis, b->ns, b->reg, errstr, errlen)))
        return rc;
    if ((rc = batond_metrics_new(b->conf, &b->metrics, errstr, errlen)))
        return rc;
    batond_metrics_set_crypt(b->metrics, b->crypt);
    if ((rc = batond_setup_kafka(b, errstr, errlen))) return rc;
    if (!(b->epochs = baton_calloc((size_t)b->partition_cnt, sizeof(int64_t))))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    b->engine = baton_engine_new(b->reg, b->codec,
                                 baton_conf_get(b->conf, "topic.prefix"));
    lc.topic_prefix = baton_conf_get(b->conf, "topic.prefix");
    lc.partition_cnt = b->partition_cnt;
    lc.payload_max = baton_conf_get_int(b->conf, "batond.payload.max");
    lc.cache_max = baton_conf_get_int(b->conf, "batond.cache.max");
    lc.envelope_max = baton_conf_get_int(b->conf, "batond.limits.envelope.max");
    lc.string_max = baton_conf_get_int(b->conf, "batond.limits.string.max");
    lc.dlq_copy_max = baton_conf_get_int(b->conf, "batond.limits.dlq.copy.max");
    lc.apply_retries =
        (int32_t)baton_conf_get_int(b->conf, "batond.limits.apply.retries");
    lc.dedupe_window_ms =
        baton_conf_get_int(b->conf, "batond.dedupe.window.ms");
    snprintf(b->events_topic, sizeof b->events_topic, "%s.events",
             lc.topic_prefix);
    if (b->engine) {
        baton_engine_limits_t el = {
            baton_conf_get_int(b->conf, "batond.limits.signals.max"),
            baton_conf_get_int(b->conf, "batond.limits.signals.bytes.max"),
            baton_conf_get_int(b->conf, "batond.limits.map.items.max"),
            baton_conf_get_int(b->conf, "batond.limits.state.max"),
            baton_conf_get_int(b->conf, "batond.limits.history.bytes.max")};
        baton_engine_set_limits(b->engine, &el);
        baton_engine_set_blobs(b->engine, &b->blobs.store.opts);
        baton_engine_set_random(b->engine, batond_random, NULL);
    }
    if (b->engine)
        baton_engine_set_signal_hold(
            b->engine, baton_conf_get_int(b->conf, "batond.signal.hold.ms"));
    if (b->engine) {
        baton_engine_events_t ev;
        if ((rc = baton_engine_events_parse(
                 baton_conf_get(b->conf, "batond.events.publish"), &ev, errstr,
                 errlen)))
            return rc;
        baton_engine_set_events(b->engine, ev);
    }
    if (b->engine &&
        (rc = baton_engine_set_json_queues(
             b->engine, baton_conf_get(b->conf, "batond.tasks.json.queues"),
             errstr, errlen)))
        return rc;
    if (b->engine &&
        (rc = baton_engine_set_v3_queues(
             b->engine, baton_conf_get(b->conf, "batond.tasks.avro.v3.queues"),
             errstr, errlen)))
        return rc;
    if (b->engine &&
        (rc = baton_engine_set_budget(
             b->engine, baton_conf_get(b->conf, "batond.budget.activities"),
             baton_conf_get(b->conf, "llm.prices"), errstr, errlen)))
        return rc;
    b->loop = baton_loop_new(&lc, b->engine, b->codec);
    b->msgs = baton_calloc((size_t)b->batch_max, sizeof(*b->msgs));
    b->lmsgs = baton_calloc((size_t)b->batch_max, sizeof(*b->lmsgs));
    b->polled_us = baton_calloc((size_t)b->batch_max, sizeof(int64_t));
    b->trace_hdrs = baton_calloc((size_t)b->batch_max, sizeof(*b->trace_hdrs));
    batond_port_init(b);
    if (!b->engine || !b->loop || !b->msgs || !b->lmsgs || !b->polled_us ||
        !b->trace_hdrs)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    b->otlp = baton_otlp_from_conf(b->conf, "batond", errstr, errlen);
    if (!b->otlp && errstr[0]) return BATON_ERR_CONFIG;
    BATON_INFO("main",
               "%zu definitions loaded, %d partitions, Redis at %s, "
               "key namespace %s",
               baton_registry_count(b->reg), b->partition_cnt,
               baton_redis_url_display(b->conf, shown, sizeof shown), b->ns);
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
             "\"timers_armed_max\":%lld,\"duplicates\":%lld}",
             (long long)s->inputs, (long long)s->applied, (long long)s->skipped,
             (long long)s->dlq, (long long)s->forwarded,
             (long long)s->timers_fired, (long long)s->batches,
             (long long)lat_pct(&b->step_lat, 50),
             (long long)lat_pct(&b->step_lat, 99), (long long)b->step_lat.n,
             (long long)s->timers_armed_max, (long long)s->duplicates);
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
    baton_crypt_destroy(b->crypt);
    baton_registry_destroy(b->reg);
    if (b->redis) redisFree(b->redis);
    baton_free(b->msgs);
    baton_free(b->lmsgs);
    baton_free(b->polled_us);
    baton_free(b->trace_hdrs);
    baton_otlp_destroy(b->otlp);
    baton_free(b->epochs);
    batond_seek_clear(b);
    batond_metrics_destroy(b->metrics);
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
    baton_notify_t *nt;
    char err[1024];
    int rc;

    memset(&b, 0, sizeof b);
    batond_test_stop_init(&b); /* TEST HOOK */
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
    nt = baton_notify_new(); /* systemd: Redis and the consumer are up */
    baton_notify_ready(nt, "running");
    while (!batond_stop) {
        batond_batch(&b);
        baton_notify_watchdog(nt);
    }
    baton_notify_stopping(nt);
    BATON_INFO("main", "stopping: draining");
    rc = b.fatal;
    batond_teardown(&b);
    baton_notify_destroy(nt);
    return rc ? 1 : 0;
}
