/*
 * loop.c -- the Kafka loop of baton-bridge (loop.h): consumers per
 * trigger, the producer, acknowledgement windows per source partition
 * (ackwin.h), backpressure, the DLQ and the commits.
 */
#include "loop.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ackwin.h"
#include "codec.h"
#include "crypt.h"
#include "event.h"
#include "kafka.h"
#include "kafka_trace.h"
#include "mapping.h"
#include "schema_registry.h"

#define SUBSYS "bridge"
#define LOOP_MAX_HEADERS 64
#define LOOP_POLL_BATCH 500
#define LOOP_REVOKE_FLUSH_MS 60000

/* One assigned (or once assigned) source partition of one trigger.  Never
 * freed before the bridge: delivery reports may point at it. */
typedef struct part {
    size_t trig;
    char *topic;
    int32_t partition;
    baton_ackwin_t *win; /* NULL while not assigned */
    int64_t committed;   /* last commit offset sent, -1 none */
    struct part *next;
} part_t;

/* What a produced record acknowledges (the message's opaque). */
typedef struct inflight {
    part_t *part;
    int64_t offset;
} inflight_t;

typedef struct trig_ctx {
    baton_bridge_t *b;
    size_t idx;
    rd_kafka_t *consumer;
    baton_sreg_t *sreg; /* format avro: the trigger's schemas */
    int assigned_once;  /* had its first assignment (readiness) */
} trig_ctx_t;

struct baton_bridge {
    const baton_conf_t *conf;
    baton_trigger_t *const *triggers;
    size_t n;
    trig_ctx_t *tc;
    rd_kafka_t *producer;
    baton_codec_t *codec;
    baton_crypt_t *crypt; /* payload keys (crypt.*): commands sealed */
    char cmd_topic[256], dlq_topic[256];
    part_t *parts;
    int64_t inflight, inflight_max, message_max, payload_max;
    int64_t commit_interval_us, last_commit_us;
    int paused, fatal;
    int64_t n_commands, n_unmatched, n_dlq;
    baton_kafka_stats_t *ks; /* borrowed; NULL: no statistics */
};

/* librdkafka's statistics of the producer (opaque: the bridge) and of a
 * trigger's consumer (opaque: its trig_ctx), re-exported. */
static void stats_put(baton_kafka_stats_t *ks, const char *json, size_t len) {
    char err[256];
    if (baton_kafka_stats_update(ks, json, len, err, sizeof err))
        BATON_DEBUG("kafka", "%s", err);
}

static int stats_producer(rd_kafka_t *rk, char *json, size_t len,
                          void *opaque) {
    (void)rk;
    stats_put(((baton_bridge_t *)opaque)->ks, json, len);
    return 0;
}

static int stats_consumer(rd_kafka_t *rk, char *json, size_t len,
                          void *opaque) {
    (void)rk;
    stats_put(((trig_ctx_t *)opaque)->b->ks, json, len);
    return 0;
}

/* ---- partitions ---------------------------------------------------------- */

static part_t *part_find(baton_bridge_t *b, size_t trig, const char *topic,
                         int32_t partition) {
    for (part_t *p = b->parts; p; p = p->next)
        if (p->trig == trig && p->partition == partition &&
            !strcmp(p->topic, topic))
            return p;
    return NULL;
}

/* The partition's record, created when new.  NULL when out of memory. */
static part_t *part_get(baton_bridge_t *b, size_t trig, const char *topic,
                        int32_t partition) {
    part_t *p = part_find(b, trig, topic, partition);
    if (p) return p;
    if (!(p = baton_calloc(1, sizeof *p))) return NULL;
    if (!(p->topic = baton_strdup(topic))) {
        baton_free(p);
        return NULL;
    }
    p->trig = trig;
    p->partition = partition;
    p->committed = -1;
    p->next = b->parts;
    b->parts = p;
    return p;
}

/* ---- commits --------------------------------------------------------------- */

/* Commits the acknowledged offsets of trigger trig's partitions (only
 * those in `only` when given).  sync: waits for the broker. */
static void commit_trigger(baton_bridge_t *b, size_t trig,
                           const rd_kafka_topic_partition_list_t *only,
                           int sync) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    rd_kafka_resp_err_t err;
    for (part_t *p = b->parts; p; p = p->next) {
        int64_t off;
        if (p->trig != trig || !p->win) continue;
        if (only &&
            !rd_kafka_topic_partition_list_find(only, p->topic, p->partition))
            continue;
        off = baton_ackwin_commit_offset(p->win);
        if (off < 0 || off == p->committed) continue;
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset =
            off;
        p->committed = off;
    }
    if (l->cnt && (err = rd_kafka_commit(b->tc[trig].consumer, l, !sync))) {
        BATON_WARN(SUBSYS,
                   "trigger %s: committing source offsets: %s "
                   "(retried with the next commit)",
                   b->triggers[trig]->name, rd_kafka_err2str(err));
        for (int i = 0; i < l->cnt; i++) {
            part_t *p =
                part_find(b, trig, l->elems[i].topic, l->elems[i].partition);
            if (p) p->committed = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void commit_all(baton_bridge_t *b, int sync) {
    for (size_t i = 0; i < b->n; i++) commit_trigger(b, i, NULL, sync);
    b->last_commit_us = baton_mono_us();
}

/* ---- producing ------------------------------------------------------------- */

/* The producer's delivery report: acknowledges the source record. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque) {
    baton_bridge_t *b = opaque;
    inflight_t *f = m->_private;
    (void)rk;
    if (!f) return;
    b->inflight--;
    if (m->err) {
        BATON_ERROR(SUBSYS,
                    "trigger %s: the record for %s/%d@%" PRId64
                    " was not acknowledged: %s; stopping with its offset "
                    "uncommitted",
                    b->triggers[f->part->trig]->name, f->part->topic,
                    f->part->partition, f->offset, rd_kafka_err2str(m->err));
        b->fatal = 1;
    } else if (f->part->win) {
        baton_ackwin_ack(f->part->win, f->offset);
    }
    baton_free(f);
}

/* Produces one record whose acknowledgement acknowledges (p, offset).
 * hdrs is consumed.  Retries while librdkafka's queue is full.  Returns 0
 * or -1 (fatal). */
static int produce(baton_bridge_t *b, const char *topic, part_t *p,
                   int64_t offset, const void *key, size_t key_len,
                   const void *value, size_t len, rd_kafka_headers_t *hdrs) {
    inflight_t *f = baton_malloc(sizeof *f);
    rd_kafka_resp_err_t err;
    if (!f) {
        rd_kafka_headers_destroy(hdrs);
        return -1;
    }
    f->part = p;
    f->offset = offset;
    for (;;) {
        err = rd_kafka_producev(
            b->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
            RD_KAFKA_V_OPAQUE(f), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        rd_kafka_poll(b->producer, 10);
    }
    if (err) {
        BATON_ERROR(SUBSYS, "producing to %s: %s", topic,
                    rd_kafka_err2str(err));
        rd_kafka_headers_destroy(hdrs);
        baton_free(f);
        return -1;
    }
    b->inflight++;
    return 0;
}

/* The headers of the command made from source record m: content-type,
 * and the source's trace context (docs/tracing.md): its traceparent and
 * tracestate headers, else the CloudEvents distributed-tracing extension
 * in binary mode (ce_traceparent, ce_tracestate). */
static rd_kafka_headers_t *command_headers(const rd_kafka_message_t *m) {
    rd_kafka_headers_t *h = baton_kafka_headers_new(0), *src = NULL;
    char tp[BATON_TRACEPARENT_LEN + 1], ts[BATON_TRACESTATE_MAX + 1];
    const void *v;
    size_t n;
    if (baton_kafka_trace_get(m, tp, ts, NULL)) {
        baton_kafka_trace_add(h, tp, ts);
        return h;
    }
    if (rd_kafka_message_headers(m, &src)) return h;
    if (!rd_kafka_header_get_last(src, "ce_traceparent", &v, &n) &&
        n == BATON_TRACEPARENT_LEN) {
        baton_trace_ctx_t c;
        memcpy(tp, v, n);
        tp[n] = '\0';
        if (baton_trace_parse(tp, n, &c)) return h;
        ts[0] = '\0';
        if (!rd_kafka_header_get_last(src, "ce_tracestate", &v, &n) &&
            n <= BATON_TRACESTATE_MAX) {
            memcpy(ts, v, n);
            ts[n] = '\0';
        }
        baton_kafka_trace_add(h, tp, ts);
    }
    return h;
}

/* Sends the source record to the DLQ with the reason. */
static int to_dlq(baton_bridge_t *b, part_t *p, const rd_kafka_message_t *m,
                  const char *why) {
    const baton_trigger_t *t = b->triggers[p->trig];
    rd_kafka_headers_t *src = NULL, *h;
    char num[32];
    BATON_WARN(SUBSYS, "trigger %s: %s/%d@%" PRId64 " to the DLQ: %s", t->name,
               p->topic, p->partition, m->offset, why);
    if (!rd_kafka_message_headers(m, &src))
        h = rd_kafka_headers_copy(src);
    else
        h = rd_kafka_headers_new(8);
    rd_kafka_header_add(h, "baton-error", -1, why, -1);
    rd_kafka_header_add(h, "baton-trigger", -1, t->name, -1);
    rd_kafka_header_add(h, "baton-source-topic", -1, p->topic, -1);
    snprintf(num, sizeof num, "%" PRId32, p->partition);
    rd_kafka_header_add(h, "baton-source-partition", -1, num, -1);
    snprintf(num, sizeof num, "%" PRId64, m->offset);
    rd_kafka_header_add(h, "baton-source-offset", -1, num, -1);
    b->n_dlq++;
    return produce(b, b->dlq_topic, p, m->offset, m->key, m->key_len,
                   m->payload, m->len, h);
}

/* ---- one record ------------------------------------------------------------ */

/* Describes m for event.h (headers borrowed from m). */
static void describe(const rd_kafka_message_t *m, const char *topic,
                     baton_bridge_header_t *hv, baton_bridge_msg_t *out) {
    rd_kafka_headers_t *hdrs;
    rd_kafka_timestamp_type_t tst;
    memset(out, 0, sizeof *out);
    out->topic = topic;
    out->partition = m->partition;
    out->offset = m->offset;
    out->timestamp_ms = rd_kafka_message_timestamp(m, &tst);
    if (tst == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) out->timestamp_ms = -1;
    out->key = m->key;
    out->key_len = m->key_len;
    out->value = m->payload;
    out->value_len = m->len;
    out->headers = hv;
    if (rd_kafka_message_headers(m, &hdrs)) return;
    while (out->nheaders < LOOP_MAX_HEADERS &&
           !rd_kafka_header_get_all(
               hdrs, out->nheaders, &hv[out->nheaders].name,
               &hv[out->nheaders].value, &hv[out->nheaders].size))
        out->nheaders++;
}

/* Maps and produces one record of trigger t (its window already holds
 * the offset).  Returns 0 or -1 (fatal). */
static int handle_mapped(baton_bridge_t *b, part_t *p,
                         const rd_kafka_message_t *m) {
    const baton_trigger_t *t = b->triggers[p->trig];
    baton_bridge_header_t hv[LOOP_MAX_HEADERS];
    baton_bridge_msg_t msg;
    baton_command_t cmd;
    json_t *ev = NULL;
    char why[1024], reason[1100], *buf = NULL;
    size_t len;
    int matched = 0, rc;
    baton_err_t err;
    int64_t max = t->max_bytes > 0 ? t->max_bytes : b->message_max;

    if ((int64_t)m->len > max) {
        snprintf(reason, sizeof reason,
                 "oversized: the record value is %zu bytes, more than %" PRId64,
                 m->len, max);
        return to_dlq(b, p, m, reason);
    }
    describe(m, p->topic, hv, &msg);
    if (t->format == BATON_TRIGGER_FORMAT_AVRO)
        err = baton_bridge_event_build_avro(&msg, b->tc[p->trig].sreg, &ev, why,
                                            sizeof why);
    else
        err = baton_bridge_event_build(t->format, &msg, &ev, why, sizeof why);
    if (err) {
        if (err == BATON_ERR_NOMEM) return -1;
        snprintf(reason, sizeof reason, "%s (%s): %s",
                 err == BATON_ERR_IO ? "registry unreachable" : "undecodable",
                 baton_trigger_format_name(t->format), why);
        return to_dlq(b, p, m, reason);
    }
    err = baton_bridge_map(t, ev, b->payload_max, baton_now_ms(), &cmd,
                           &matched, why, sizeof why);
    json_decref(ev);
    if (err == BATON_ERR_NOMEM) return -1;
    if (err) return to_dlq(b, p, m, why);
    if (!matched) {
        b->n_unmatched++;
        if (t->unmatched_dlq)
            return to_dlq(b, p, m,
                          "unmatched: the trigger's filter did not "
                          "match");
        baton_ackwin_ack(p->win, m->offset);
        return 0;
    }
    err = baton_codec_encode_command(b->codec, &cmd, 0, &buf, &len, why,
                                     sizeof why);
    if (err) {
        baton_command_clear(&cmd);
        if (err == BATON_ERR_NOMEM) return -1;
        return to_dlq(b, p, m, why);
    }
    rc = produce(b, b->cmd_topic, p, m->offset, cmd.workflow_id,
                 strlen(cmd.workflow_id), buf, len, command_headers(m));
    BATON_DEBUG(SUBSYS, "trigger %s: %s/%d@%" PRId64 " -> %s %s", t->name,
                p->topic, p->partition, m->offset,
                baton_cmd_kind_name(cmd.kind), cmd.workflow_id);
    if (!rc) b->n_commands++;
    baton_free(buf);
    baton_command_clear(&cmd);
    return rc;
}

static int handle(baton_bridge_t *b, size_t trig, const rd_kafka_message_t *m) {
    const char *topic = rd_kafka_topic_name(m->rkt);
    part_t *p;
    baton_err_t err;
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return 0;
        if (m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
            BATON_ERROR(SUBSYS,
                        "trigger %s: offset out of range on %s/%d: records "
                        "were deleted before the bridge read them",
                        b->triggers[trig]->name, topic ? topic : "?",
                        m->partition);
        else
            BATON_WARN(SUBSYS, "trigger %s: %s", b->triggers[trig]->name,
                       rd_kafka_message_errstr(m));
        return 0;
    }
    p = part_find(b, trig, topic, m->partition);
    if (!p || !p->win) {
        BATON_WARN(SUBSYS, "trigger %s: record of unassigned %s/%d skipped",
                   b->triggers[trig]->name, topic, m->partition);
        return 0;
    }
    if ((err = baton_ackwin_push(p->win, m->offset))) {
        if (err == BATON_ERR_NOMEM) return -1;
        BATON_WARN(SUBSYS,
                   "trigger %s: %s/%d@%" PRId64 " seen already: "
                   "skipped",
                   b->triggers[trig]->name, topic, m->partition, m->offset);
        return 0;
    }
    return handle_mapped(b, p, m);
}

/* ---- backpressure ------------------------------------------------------------- */

static void pause_all(baton_bridge_t *b, int pause) {
    for (size_t i = 0; i < b->n; i++) {
        rd_kafka_topic_partition_list_t *l = NULL;
        if (rd_kafka_assignment(b->tc[i].consumer, &l) || !l) continue;
        if (l->cnt) {
            if (pause)
                rd_kafka_pause_partitions(b->tc[i].consumer, l);
            else
                rd_kafka_resume_partitions(b->tc[i].consumer, l);
        }
        rd_kafka_topic_partition_list_destroy(l);
    }
    b->paused = pause;
    BATON_DEBUG(SUBSYS, "%s source partitions: %" PRId64 " in flight",
                pause ? "paused" : "resumed", b->inflight);
}

static void backpressure(baton_bridge_t *b) {
    if (!b->paused && b->inflight >= b->inflight_max)
        pause_all(b, 1);
    else if (b->paused && b->inflight <= b->inflight_max / 2)
        pause_all(b, 0);
}

/* ---- rebalances -------------------------------------------------------------- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    trig_ctx_t *tc = opaque;
    baton_bridge_t *b = tc->b;
    int i;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (i = 0; i < parts->cnt; i++) {
            part_t *p = part_get(b, tc->idx, parts->elems[i].topic,
                                 parts->elems[i].partition);
            if (!p || (!p->win && !(p->win = baton_ackwin_new()))) {
                BATON_ERROR(SUBSYS, "out of memory on assignment");
                b->fatal = 1;
                continue;
            }
            p->committed = -1;
        }
        BATON_INFO(SUBSYS, "trigger %s: %d source partition(s) assigned",
                   b->triggers[tc->idx]->name, parts->cnt);
        rd_kafka_assign(rk, parts);
        if (b->paused) rd_kafka_pause_partitions(rk, parts);
        tc->assigned_once = 1;
        return;
    }
    /* revoked: everything in flight acknowledged, then committed */
    if (rd_kafka_flush(b->producer, LOOP_REVOKE_FLUSH_MS))
        BATON_WARN(SUBSYS,
                   "trigger %s: records still in flight at "
                   "revocation: their offsets stay uncommitted",
                   b->triggers[tc->idx]->name);
    commit_trigger(b, tc->idx, parts, 1);
    for (i = 0; i < parts->cnt; i++) {
        part_t *p = part_find(b, tc->idx, parts->elems[i].topic,
                              parts->elems[i].partition);
        if (!p) continue;
        baton_ackwin_destroy(p->win);
        p->win = NULL;
    }
    BATON_INFO(SUBSYS, "trigger %s: %d source partition(s) revoked",
               b->triggers[tc->idx]->name, parts->cnt);
    rd_kafka_assign(rk, NULL);
}

/* ---- the bridge ---------------------------------------------------------------- */

/* Format avro: the trigger's registry client (its own registry settings,
 * else the bridge's bridge.avro.* keys) and schema files. */
static baton_err_t setup_avro(baton_bridge_t *b, size_t i, char *errstr,
                              size_t errlen) {
    const baton_trigger_t *t = b->triggers[i];
    baton_sreg_conf_t sc;
    char *pw = NULL, err[512];
    baton_err_t rc;
    if (t->format != BATON_TRIGGER_FORMAT_AVRO) return BATON_OK;
    memset(&sc, 0, sizeof sc);
    sc.url = t->avro_registry_url
                 ? t->avro_registry_url
                 : baton_conf_get(b->conf, "bridge.avro.registry.url");
    sc.user = t->avro_registry_user
                  ? t->avro_registry_user
                  : baton_conf_get(b->conf, "bridge.avro.registry.user");
    sc.password = baton_conf_get(b->conf, "bridge.avro.registry.password");
    if (t->avro_password_file) {
        size_t n;
        if (!(pw = baton_read_file(t->avro_password_file, &n, err, sizeof err)))
            return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                                "trigger %s: avro.registry_password_file: %s",
                                t->name, err);
        while (n && (pw[n - 1] == '\n' || pw[n - 1] == '\r')) pw[--n] = '\0';
        sc.password = pw;
    }
    sc.wait_ms = baton_conf_get_int(b->conf, "bridge.avro.registry.wait.ms");
    sc.cache_max = (size_t)baton_conf_get_int(b->conf, "bridge.avro.cache.max");
    rc = baton_sreg_new(&sc, &b->tc[i].sreg, errstr, errlen);
    if (pw) {
        memset(pw, 0, strlen(pw));
        baton_free(pw);
    }
    for (size_t k = 0; !rc && k < t->navro_schemas; k++)
        if ((rc = baton_sreg_add_file(b->tc[i].sreg, t->avro_schemas[k], err,
                                      sizeof err)))
            baton_seterr(errstr, errlen, rc, "trigger %s: %s", t->name, err);
    return rc;
}

static baton_err_t setup_consumer(baton_bridge_t *b, size_t i, char *errstr,
                                  size_t errlen) {
    const baton_trigger_t *t = b->triggers[i];
    rd_kafka_topic_partition_list_t *subs;
    rd_kafka_conf_t *kc;
    rd_kafka_resp_err_t err;
    b->tc[i].b = b;
    b->tc[i].idx = i;
    if (setup_avro(b, i, errstr, errlen)) return BATON_ERR_CONFIG;
    if (!(kc = baton_kafka_conf_new(b->conf, BATON_KAFKA_CONSUMER, t->group,
                                    errstr, errlen)))
        return BATON_ERR_CONFIG;
    rd_kafka_conf_set_rebalance_cb(kc, on_rebalance);
    rd_kafka_conf_set_opaque(kc, &b->tc[i]);
    if (b->ks) baton_kafka_conf_stats(kc, b->conf, stats_consumer);
    if (!(b->tc[i].consumer =
              baton_kafka_new(kc, BATON_KAFKA_CONSUMER, errstr, errlen)))
        return BATON_ERR_KAFKA;
    subs = rd_kafka_topic_partition_list_new((int)t->ntopics);
    for (size_t k = 0; k < t->ntopics; k++)
        rd_kafka_topic_partition_list_add(subs, t->topics[k],
                                          RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(b->tc[i].consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err)
        return baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                            "trigger %s: subscribing: %s", t->name,
                            rd_kafka_err2str(err));
    BATON_INFO(SUBSYS,
               "trigger %s: group %s, %zu topic(s) from %s, %s, "
               "action %s",
               t->name, t->group, t->ntopics, t->topics[0],
               baton_trigger_format_name(t->format),
               baton_trigger_action_name(t->action));
    return BATON_OK;
}

baton_err_t baton_bridge_new(const baton_conf_t *conf,
                             baton_trigger_t *const *triggers, size_t n,
                             baton_kafka_stats_t *ks, baton_bridge_t **out,
                             char *errstr, size_t errlen) {
    baton_bridge_t *b = baton_calloc(1, sizeof *b);
    rd_kafka_conf_t *kc;
    baton_err_t err;
    *out = NULL;
    if (!b || !(b->tc = baton_calloc(n, sizeof *b->tc))) {
        baton_free(b);
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    }
    b->conf = conf;
    b->triggers = triggers;
    b->n = n;
    b->ks = ks;
    b->inflight_max = baton_conf_get_int(conf, "bridge.inflight.max");
    b->message_max = baton_conf_get_int(conf, "bridge.message.max");
    b->payload_max = baton_conf_get_int(conf, "batond.payload.max");
    b->commit_interval_us =
        baton_conf_get_int(conf, "bridge.commit.interval.ms") * 1000;
    if (b->inflight_max < 1) b->inflight_max = 1;
    baton_topic(conf, "commands", b->cmd_topic, sizeof b->cmd_topic);
    baton_topic(conf, "dlq", b->dlq_topic, sizeof b->dlq_topic);
    *out = b;
    if (!(b->codec = baton_codec_new(errstr, errlen))) return BATON_ERR_INVALID;
    if ((err = baton_crypt_new_conf(conf, &b->crypt, errstr, errlen)))
        return err;
    baton_codec_set_crypt(b->codec, b->crypt);
    if (!(kc = baton_kafka_conf_new(conf, BATON_KAFKA_PRODUCER, NULL, errstr,
                                    errlen)))
        return BATON_ERR_CONFIG;
    rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
    rd_kafka_conf_set_opaque(kc, b);
    if (ks) baton_kafka_conf_stats(kc, conf, stats_producer);
    if (!(b->producer =
              baton_kafka_new(kc, BATON_KAFKA_PRODUCER, errstr, errlen)))
        return BATON_ERR_KAFKA;
    if (baton_kafka_partition_count(b->producer, b->cmd_topic, 10000, errstr,
                                    errlen) < 0)
        return BATON_ERR_KAFKA;
    for (size_t i = 0; i < n; i++)
        if ((err = setup_consumer(b, i, errstr, errlen))) return err;
    b->last_commit_us = baton_mono_us();
    return BATON_OK;
}

int baton_bridge_run_once(baton_bridge_t *b) {
    int got = 0;
    for (size_t i = 0; i < b->n && !b->fatal; i++) {
        for (int k = 0; k < LOOP_POLL_BATCH; k++) {
            rd_kafka_message_t *m =
                rd_kafka_consumer_poll(b->tc[i].consumer, 0);
            int rc;
            if (!m) break;
            got++;
            rc = handle(b, i, m);
            rd_kafka_message_destroy(m);
            if (rc) {
                b->fatal = 1;
                break;
            }
            if (b->inflight >= b->inflight_max) break;
        }
    }
    rd_kafka_poll(b->producer, got ? 0 : 5);
    backpressure(b);
    if (baton_mono_us() - b->last_commit_us >= b->commit_interval_us)
        commit_all(b, 0);
    return b->fatal ? -1 : 0;
}

int baton_bridge_drain(baton_bridge_t *b, int timeout_ms) {
    int left;
    pause_all(b, 1);
    if (rd_kafka_flush(b->producer, timeout_ms))
        BATON_WARN(SUBSYS,
                   "%" PRId64 " record(s) still unacknowledged "
                   "after %d ms: their offsets stay uncommitted",
                   b->inflight, timeout_ms);
    if (!b->fatal) commit_all(b, 1);
    for (size_t i = 0; i < b->n; i++)
        if (b->tc[i].consumer) rd_kafka_consumer_close(b->tc[i].consumer);
    left = b->inflight > 0 || b->fatal;
    return left ? -1 : 0;
}

void baton_bridge_stats(const baton_bridge_t *b, int64_t *commands,
                        int64_t *unmatched, int64_t *dlq) {
    *commands = b->n_commands;
    *unmatched = b->n_unmatched;
    *dlq = b->n_dlq;
}

int64_t baton_bridge_inflight(const baton_bridge_t *b) {
    return b->inflight;
}

const char *baton_bridge_not_ready(const baton_bridge_t *b) {
    for (size_t i = 0; i < b->n; i++)
        if (!b->tc[i].assigned_once)
            return "waiting for the first partition assignment";
    if (b->paused) return "sources paused: bridge.inflight.max in flight";
    if (b->fatal) return "a command was refused for good: stopping";
    return NULL;
}

void baton_bridge_destroy(baton_bridge_t *b) {
    part_t *p, *next;
    if (!b) return;
    if (b->tc)
        for (size_t i = 0; i < b->n; i++)
            if (b->tc[i].consumer) rd_kafka_destroy(b->tc[i].consumer);
    if (b->tc)
        for (size_t i = 0; i < b->n; i++) baton_sreg_destroy(b->tc[i].sreg);
    if (b->producer) {
        rd_kafka_flush(b->producer, 1000);
        rd_kafka_destroy(b->producer);
    }
    for (p = b->parts; p; p = next) {
        next = p->next;
        baton_ackwin_destroy(p->win);
        baton_free(p->topic);
        baton_free(p);
    }
    baton_codec_destroy(b->codec);
    baton_crypt_destroy(b->crypt);
    baton_free(b->tc);
    baton_free(b);
}
