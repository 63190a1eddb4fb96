/*
 * client_dlq.c -- the records of <topic.prefix>.dlq (batond's and
 * baton-bridge's, format in common/dlq.h) and their replay to their source
 * topic.  Reads with a consumer that never joins a group: every partition
 * assigned (rd_kafka_assign, no subscribe) from its low watermark up to the
 * high watermark read at the start, so a listing ends and no group ever
 * sees a member.  librdkafka's consumer wants a group.id even to assign:
 * CLIENT_DLQ_GROUP, never joined and never committed to.
 *
 * Replay sends the record's value and key with its headers minus the DLQ's
 * own (baton-error, baton-trigger, baton-source-*): batond's content-type,
 * or the bridge source record's original headers.  A record whose value
 * was cut to a prefix is refused.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baton_common.h"
#include "client_int.h"
#include "dlq.h"
#include "kafka.h"

#define CLIENT_DLQ_PREFIX_MAX 120 /* value bytes shown as "value_prefix" */
#define CLIENT_DLQ_WAIT_STEP_US 200000
#define CLIENT_DLQ_GROUP "batonctl.dlq" /* group.id only: never joined */

/* One partition of the DLQ: where reading starts and stops. */
typedef struct dlq_part {
    int32_t id;
    int64_t lo, hi;
} dlq_part_t;

/* One pass over the DLQ. */
typedef struct dlq_read {
    baton_client_t *c;
    rd_kafka_t *rk;
    char topic[256];
    dlq_part_t *parts; /* CLIENT_MAX_PARTITIONS */
    int nparts;
    char *errstr;
    size_t errlen;
} dlq_read_t;

typedef baton_client_err_t (*dlq_record_fn_t)(dlq_read_t *r,
                                              const rd_kafka_message_t *m,
                                              void *arg);

/* ---- reading ------------------------------------------------------------ */

/* Fills r->parts with the DLQ's partitions and their watermarks. */
static baton_client_err_t dlq_watermarks(dlq_read_t *r) {
    rd_kafka_resp_err_t err;
    int32_t n = baton_kafka_partition_count(r->rk, r->topic, r->c->timeout_ms,
                                            r->errstr, r->errlen);
    if (n <= 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", r->errstr);
        return client_fail(r->errstr, r->errlen, BATON_CLIENT_E_NOT_FOUND,
                           "%s (no DLQ topic %s yet, or wrong topic.prefix?)",
                           why, r->topic);
    }
    if (n > CLIENT_MAX_PARTITIONS) n = CLIENT_MAX_PARTITIONS;
    for (int32_t p = 0; p < n; p++) {
        r->parts[p].id = p;
        if ((err = rd_kafka_query_watermark_offsets(
                 r->rk, r->topic, p, &r->parts[p].lo, &r->parts[p].hi,
                 r->c->timeout_ms)))
            return client_kafka_fail(r->c, r->errstr, r->errlen, err,
                                     "reading the watermarks of %s [%d]",
                                     r->topic, (int)p);
    }
    r->nparts = (int)n;
    return BATON_CLIENT_OK;
}

static int64_t dlq_count(const dlq_part_t *parts, int n) {
    int64_t c = 0;
    for (int i = 0; i < n; i++) c += parts[i].hi - parts[i].lo;
    return c;
}

/* Assigns each partition of parts with lo < hi at lo and hands every
 * record below hi to fn, in arrival order, until all are read; fn's
 * non-zero answer stops (BATON_CLIENT_OK with *stop for a normal stop). */
static baton_client_err_t dlq_scan(dlq_read_t *r, const dlq_part_t *parts,
                                   int n, dlq_record_fn_t fn, void *arg) {
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(n);
    int64_t *next = baton_calloc((size_t)n + 1, sizeof *next);
    int left = 0;
    baton_client_err_t rc = BATON_CLIENT_OK;
    rd_kafka_resp_err_t err;

    if (!next)
        rc = client_fail(r->errstr, r->errlen, BATON_CLIENT_E_INTERNAL,
                         "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        next[i] = parts[i].lo;
        if (parts[i].lo >= parts[i].hi) continue;
        rd_kafka_topic_partition_list_add(tl, r->topic, parts[i].id)->offset =
            parts[i].lo;
        left++;
    }
    if (!rc && left && (err = rd_kafka_assign(r->rk, tl)))
        rc = client_kafka_fail(r->c, r->errstr, r->errlen, err,
                               "assigning the partitions of %s", r->topic);
    while (!rc && left > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, r->c->timeout_ms);
        int i;
        if (!m) {
            rc = client_fail(r->errstr, r->errlen, BATON_CLIENT_E_UNAVAILABLE,
                             "no record from %s within %d ms (%d partitions "
                             "not read to their end)",
                             r->topic, r->c->timeout_ms, left);
            break;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                rc = client_kafka_fail(r->c, r->errstr, r->errlen, m->err,
                                       "reading %s", r->topic);
            rd_kafka_message_destroy(m);
            continue;
        }
        for (i = 0; i < n && parts[i].id != m->partition; i++) {
        }
        if (i < n && m->offset < parts[i].hi) {
            rc = fn(r, m, arg);
            next[i] = m->offset + 1;
            if (next[i] >= parts[i].hi) left--;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(r->rk, NULL);
    baton_free(next);
    rd_kafka_topic_partition_list_destroy(tl);
    return rc;
}

/* Opens r: the consumer, the topic, the partition table. */
static baton_client_err_t dlq_open(dlq_read_t *r, baton_client_t *c,
                                   char *errstr, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->c = c;
    r->errstr = errstr;
    r->errlen = errlen;
    baton_topic(c->conf, "dlq", r->topic, sizeof r->topic);
    if (!(r->parts = baton_calloc(CLIENT_MAX_PARTITIONS, sizeof *r->parts)))
        return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                           "out of memory");
    if (!(r->rk = client_consumer_new(c, CLIENT_DLQ_GROUP, errstr, errlen)))
        return BATON_CLIENT_E_INVALID;
    return BATON_CLIENT_OK;
}

static void dlq_close(dlq_read_t *r) {
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    baton_free(r->parts);
}

/* ---- one record as JSON ------------------------------------------------- */

/* Header name of m as a new NUL-terminated string, or NULL when absent. */
static char *dlq_header(const rd_kafka_message_t *m, const char *name) {
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    char *s;
    if (rd_kafka_message_headers(m, &h) ||
        rd_kafka_header_get_last(h, name, &v, &len) || !v)
        return NULL;
    if (!(s = baton_malloc(len + 1))) return NULL;
    memcpy(s, v, len);
    s[len] = '\0';
    return s;
}

/* bytes as printable ASCII: \n \r \t \\ and \xHH for the rest, at most
 * max input bytes ("..." after when cut).  New string, or NULL (OOM). */
static char *dlq_escape(const unsigned char *b, size_t len, size_t max) {
    size_t n = len < max ? len : max;
    char *s = baton_malloc(n * 4 + 4), *o = s;
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = b[i];
        if (c == '\\')
            o += snprintf(o, 3, "\\\\");
        else if (c == '\n')
            o += snprintf(o, 3, "\\n");
        else if (c == '\r')
            o += snprintf(o, 3, "\\r");
        else if (c == '\t')
            o += snprintf(o, 3, "\\t");
        else if (c < 0x20 || c > 0x7e)
            o += snprintf(o, 5, "\\x%02x", c);
        else
            *o++ = (char)c;
    }
    if (n < len) o += snprintf(o, 4, "...");
    *o = '\0';
    return s;
}

/* len bytes as base64 (RFC 4648, padded).  New string, or NULL (OOM). */
static char *dlq_base64(const unsigned char *b, size_t len) {
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *s = baton_malloc((len + 2) / 3 * 4 + 1), *o = s;
    if (!s) return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16;
        if (i + 1 < len) v |= (uint32_t)b[i + 1] << 8;
        if (i + 2 < len) v |= b[i + 2];
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? tab[v & 63] : '=';
    }
    *o = '\0';
    return s;
}

/* Sets key to a new string (NULL value: JSON null).  Returns 0 or -1. */
static int dlq_set_str(json_t *o, const char *key, char *stolen) {
    int rc =
        json_object_set_new(o, key, stolen ? json_string(stolen) : json_null());
    baton_free(stolen);
    return rc;
}

/* Where the record came from: the bridge's headers, else batond's
 * baton-error text.  Sets source_topic, source_partition, source_offset
 * (null when unknown).  Returns 0 or -1 (OOM). */
static int dlq_set_source(json_t *o, const rd_kafka_message_t *m,
                          const char *error) {
    char *topic = dlq_header(m, BATON_DLQ_H_SOURCE_TOPIC);
    char *ps = dlq_header(m, BATON_DLQ_H_SOURCE_PARTITION);
    char *os = dlq_header(m, BATON_DLQ_H_SOURCE_OFFSET);
    char parsed[256];
    int32_t p = -1;
    int64_t off = -1;
    int rc;

    if (topic) {
        int64_t v;
        if (ps && !baton_parse_i64(ps, &v) && v >= 0 && v <= INT32_MAX)
            p = (int32_t)v;
        if (os && !baton_parse_i64(os, &v) && v >= 0) off = v;
    } else if (error && !baton_dlq_source_parse(error, parsed, sizeof parsed,
                                                &p, &off)) {
        topic = baton_strdup(parsed);
    }
    rc = dlq_set_str(o, "source_topic", topic) ||
         json_object_set_new(o, "source_partition",
                             p >= 0 ? json_integer(p) : json_null()) ||
         json_object_set_new(o, "source_offset",
                             off >= 0 ? json_integer(off) : json_null());
    baton_free(ps);
    baton_free(os);
    return rc ? -1 : 0;
}

/* The record m as {"partition","offset","timestamp","source_topic",
 * "source_partition","source_offset","trigger","key","reason","cut",
 * "content_type","value_size", and "value" (base64, json) or
 * "value_prefix" (escaped text)}.  New reference, or NULL (OOM). */
static json_t *dlq_record_json(const rd_kafka_message_t *m, int json_out) {
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    char *error = dlq_header(m, BATON_DLQ_H_ERROR);
    json_t *o = json_pack("{si sI}", "partition", (int)m->partition, "offset",
                          (json_int_t)m->offset);
    int bad = !o;

    bad = bad || json_object_set_new(o, "timestamp",
                                     ts >= 0 ? json_integer(ts) : json_null());
    bad = bad || dlq_set_source(o, m, error);
    bad = bad || dlq_set_str(o, "trigger", dlq_header(m, BATON_DLQ_H_TRIGGER));
    bad = bad || dlq_set_str(o, "key",
                             m->key ? dlq_escape(m->key, m->key_len, m->key_len)
                                    : NULL);
    bad = bad ||
          json_object_set_new(
              o, "cut",
              json_boolean(error && baton_dlq_is_cut(error, strlen(error))));
    bad = bad || dlq_set_str(o, "reason", error ? baton_strdup(error) : NULL);
    bad = bad || dlq_set_str(o, "content_type",
                             dlq_header(m, BATON_DLQ_H_CONTENT_TYPE));
    bad = bad || json_object_set_new(o, "value_size",
                                     json_integer((json_int_t)m->len));
    if (json_out)
        bad = bad || dlq_set_str(o, "value", dlq_base64(m->payload, m->len));
    else
        bad = bad || dlq_set_str(
                         o, "value_prefix",
                         dlq_escape(m->payload, m->len, CLIENT_DLQ_PREFIX_MAX));
    baton_free(error);
    if (bad) json_decref(o);
    return bad ? NULL : o;
}

/* 1 for a header the DLQ added (not the original record's). */
static int dlq_own_header(const char *name) {
    return !strcmp(name, BATON_DLQ_H_ERROR) ||
           !strcmp(name, BATON_DLQ_H_TRIGGER) ||
           !strcmp(name, BATON_DLQ_H_SOURCE_TOPIC) ||
           !strcmp(name, BATON_DLQ_H_SOURCE_PARTITION) ||
           !strcmp(name, BATON_DLQ_H_SOURCE_OFFSET);
}

/* The headers of m minus the DLQ's own: a new list the caller owns. */
static rd_kafka_headers_t *dlq_original_headers(const rd_kafka_message_t *m) {
    rd_kafka_headers_t *src = NULL, *h = rd_kafka_headers_new(8);
    const char *name;
    const void *v;
    size_t len;
    if (rd_kafka_message_headers(m, &src)) return h;
    for (size_t i = 0; !rd_kafka_header_get_all(src, i, &name, &v, &len); i++)
        if (!dlq_own_header(name))
            rd_kafka_header_add(h, name, -1, v, v ? (ssize_t)len : 0);
    return h;
}

/* ---- listing ------------------------------------------------------------ */

/* What a listing collects. */
typedef struct dlq_list {
    json_t *records;
    int64_t limit;
    int base64;
} dlq_list_t;

static baton_client_err_t dlq_collect(dlq_read_t *r,
                                      const rd_kafka_message_t *m, void *arg) {
    dlq_list_t *l = arg;
    json_t *o;
    if (l->limit >= 0 && (int64_t)json_array_size(l->records) >= l->limit)
        return BATON_CLIENT_OK; /* read on to the end, keep none */
    o = dlq_record_json(m, l->base64);
    if (!o || json_array_append_new(l->records, o))
        return client_fail(r->errstr, r->errlen, BATON_CLIENT_E_INTERNAL,
                           "out of memory");
    return BATON_CLIENT_OK;
}

baton_client_err_t baton_client_dlq_list(baton_client_t *c, double wait_s,
                                         int64_t limit, int base64,
                                         json_t **records, char *errstr,
                                         size_t errlen) {
    dlq_read_t r;
    dlq_list_t l = {json_array(), limit, base64};
    double waited = 0;
    baton_client_err_t rc = dlq_open(&r, c, errstr, errlen);

    *records = NULL;
    if (!rc && !l.records)
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                         "out of memory");
    if (!rc) rc = dlq_watermarks(&r);
    while (!rc && !dlq_count(r.parts, r.nparts) && waited < wait_s) {
        usleep(CLIENT_DLQ_WAIT_STEP_US);
        waited += CLIENT_DLQ_WAIT_STEP_US / 1e6;
        rc = dlq_watermarks(&r);
    }
    if (!rc && limit != 0)
        rc = dlq_scan(&r, r.parts, r.nparts, dlq_collect, &l);
    dlq_close(&r);
    if (rc)
        json_decref(l.records);
    else
        *records = l.records;
    return rc;
}

/* ---- replay ------------------------------------------------------------- */

/* What a replay was asked and answers. */
typedef struct dlq_replay {
    const char *to;
    json_t *out;
} dlq_replay_t;

/* Replays the record m (the one asked for): refuses a cut one, finds the
 * destination, produces, says where it went. */
static baton_client_err_t
dlq_replay_record(dlq_read_t *r, const rd_kafka_message_t *m, void *arg) {
    dlq_replay_t *rp = arg;
    json_t *rec = dlq_record_json(m, 1);
    const char *src =
        rec ? json_string_value(json_object_get(rec, "source_topic")) : NULL;
    const char *dest = rp->to ? rp->to : src;
    int32_t part = RD_KAFKA_PARTITION_UA, got_p = -1;
    int64_t got_o = -1;
    char what[128];
    baton_client_err_t rc;

    if (!rec)
        return client_fail(r->errstr, r->errlen, BATON_CLIENT_E_INTERNAL,
                           "out of memory");
    snprintf(what, sizeof what, "DLQ record %d:%" PRId64, (int)m->partition,
             m->offset);
    if (json_is_true(json_object_get(rec, "cut")))
        rc = client_fail(r->errstr, r->errlen, BATON_CLIENT_E_CONFLICT,
                         "%s cannot be replayed: its value was cut to a "
                         "prefix (%s)",
                         what,
                         json_string_value(json_object_get(rec, "reason")));
    else if (!dest)
        rc = client_fail(r->errstr, r->errlen, BATON_CLIENT_E_INVALID,
                         "%s names no source topic (no baton-source-topic "
                         "header, baton-error not '<topic>[<p>]@<offset>: "
                         "...'): give --to TOPIC",
                         what);
    else {
        /* No key: the source partition when replaying to the source. */
        if (!m->key && !rp->to &&
            json_is_integer(json_object_get(rec, "source_partition")))
            part = (int32_t)json_integer_value(
                json_object_get(rec, "source_partition"));
        rc = client_produce_record(r->c, what, dest, part, m->key, m->key_len,
                                   m->payload, m->len, dlq_original_headers(m),
                                   &got_p, &got_o, r->errstr, r->errlen);
    }
    if (!rc && !(rp->out = json_pack(
                     "{si sI ss si sI}", "dlq_partition", (int)m->partition,
                     "dlq_offset", (json_int_t)m->offset, "topic", dest,
                     "partition", (int)got_p, "offset", (json_int_t)got_o)))
        rc = client_fail(r->errstr, r->errlen, BATON_CLIENT_E_INTERNAL,
                         "out of memory");
    json_decref(rec);
    return rc;
}

baton_client_err_t baton_client_dlq_replay(baton_client_t *c, int32_t partition,
                                           int64_t offset, const char *to,
                                           json_t **out, char *errstr,
                                           size_t errlen) {
    dlq_read_t r;
    dlq_replay_t rp = {to, NULL};
    dlq_part_t one;
    baton_client_err_t rc = dlq_open(&r, c, errstr, errlen);

    *out = NULL;
    if (!rc) rc = dlq_watermarks(&r);
    if (!rc && partition >= r.nparts)
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_NOT_FOUND,
                         "%s has no partition %d (it has %d)", r.topic,
                         (int)partition, r.nparts);
    else if (!rc && (offset < r.parts[partition].lo ||
                     offset >= r.parts[partition].hi))
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_NOT_FOUND,
                         "%s [%d] holds no record at offset %" PRId64
                         " (it holds %" PRId64 "..%" PRId64 ")",
                         r.topic, (int)partition, offset, r.parts[partition].lo,
                         r.parts[partition].hi - 1);
    if (!rc) {
        one.id = partition;
        one.lo = offset;
        one.hi = offset + 1;
        rc = dlq_scan(&r, &one, 1, dlq_replay_record, &rp);
    }
    dlq_close(&r);
    if (rc)
        json_decref(rp.out);
    else
        *out = rp.out;
    return rc;
}
