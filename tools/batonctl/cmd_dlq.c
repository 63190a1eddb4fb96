/*
 * cmd_dlq.c -- the dlq command: list the records of <topic.prefix>.dlq
 * (batond's and baton-bridge's, format in common/dlq.h) and replay one to
 * its source topic.  Reads with a consumer that never joins a group: every
 * partition assigned (rd_kafka_assign, no subscribe) from its low watermark
 * up to the high watermark read at the start, so batonctl dlq ends and no
 * group ever sees a member.  librdkafka's consumer wants a group.id even to
 * assign: DLQ_GROUP, never joined and never committed to.
 *
 *   batonctl dlq [--wait SECONDS]        one record per block (text) or per
 *                                        line (-o json, value in base64)
 *   batonctl dlq replay P:O [--to TOPIC] re-produce record O of partition P
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
#include <time.h>
#include <unistd.h>

#include "baton_common.h"
#include "batonctl.h"
#include "dlq.h"
#include "kafka.h"

#define DLQ_PREFIX_MAX 120 /* value bytes shown in text */
#define DLQ_WAIT_STEP_US 200000
#define DLQ_GROUP "batonctl.dlq" /* group.id only: never joined */

/* One partition of the DLQ: where reading starts and stops. */
typedef struct dlq_part {
    int32_t id;
    int64_t lo, hi;
} dlq_part_t;

/* ---- reading ------------------------------------------------------------ */

/* Fills parts (*nparts, at most cap) with the DLQ's partitions and their
 * watermarks.  Returns an exit code. */
static int dlq_watermarks(ctl_t *ctl, rd_kafka_t *rk, const char *topic,
                          dlq_part_t *parts, int cap, int *nparts) {
    char errstr[512];
    rd_kafka_resp_err_t err;
    int32_t n = baton_kafka_partition_count(rk, topic, ctl->o.timeout_ms,
                                            errstr, sizeof errstr);
    if (n <= 0)
        return ctl_fail("%s (no DLQ topic %s yet, or wrong topic.prefix?)",
                        errstr, topic);
    if (n > cap) n = cap;
    for (int32_t p = 0; p < n; p++) {
        parts[p].id = p;
        if ((err = rd_kafka_query_watermark_offsets(
                 rk, topic, p, &parts[p].lo, &parts[p].hi, ctl->o.timeout_ms)))
            return ctl_kafka_fail(err, "reading the watermarks of %s [%d]",
                                  topic, (int)p);
    }
    *nparts = (int)n;
    return BATON_CLI_EXIT_OK;
}

static int64_t dlq_count(const dlq_part_t *parts, int n) {
    int64_t c = 0;
    for (int i = 0; i < n; i++) c += parts[i].hi - parts[i].lo;
    return c;
}

typedef int (*dlq_record_fn_t)(ctl_t *ctl, const rd_kafka_message_t *m,
                               void *arg);

/* Assigns each partition of parts with lo < hi at lo and hands every
 * record below hi to fn, in arrival order, until all are read; fn's
 * non-zero exit code stops.  Returns an exit code. */
static int dlq_read(ctl_t *ctl, rd_kafka_t *rk, const char *topic,
                    const dlq_part_t *parts, int n, dlq_record_fn_t fn,
                    void *arg) {
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(n);
    int64_t *next = baton_calloc((size_t)n + 1, sizeof *next);
    int left = 0, rc = BATON_CLI_EXIT_OK;
    rd_kafka_resp_err_t err;

    if (!next) rc = ctl_fail("out of memory");
    for (int i = 0; rc == BATON_CLI_EXIT_OK && i < n; i++) {
        next[i] = parts[i].lo;
        if (parts[i].lo >= parts[i].hi) continue;
        rd_kafka_topic_partition_list_add(tl, topic, parts[i].id)->offset =
            parts[i].lo;
        left++;
    }
    if (rc == BATON_CLI_EXIT_OK && left && (err = rd_kafka_assign(rk, tl)))
        rc = ctl_kafka_fail(err, "assigning the partitions of %s", topic);
    while (rc == BATON_CLI_EXIT_OK && left > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, ctl->o.timeout_ms);
        int i;
        if (!m) {
            rc = ctl_fail("no record from %s within %d ms (%d partitions "
                          "not read to their end)",
                          topic, ctl->o.timeout_ms, left);
            break;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                rc = ctl_kafka_fail(m->err, "reading %s", topic);
            rd_kafka_message_destroy(m);
            continue;
        }
        for (i = 0; i < n && parts[i].id != m->partition; i++) {
        }
        if (i < n && m->offset < parts[i].hi) {
            rc = fn(ctl, m, arg);
            next[i] = m->offset + 1;
            if (next[i] >= parts[i].hi) left--;
        }
        rd_kafka_message_destroy(m);
    }
    if (left == 0 || rc != BATON_CLI_EXIT_OK) rd_kafka_assign(rk, NULL);
    baton_free(next);
    rd_kafka_topic_partition_list_destroy(tl);
    return rc;
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
        bad =
            bad || dlq_set_str(o, "value_prefix",
                               dlq_escape(m->payload, m->len, DLQ_PREFIX_MAX));
    baton_free(error);
    if (bad) json_decref(o);
    return bad ? NULL : o;
}

/* ---- dlq (list) --------------------------------------------------------- */

/* Prints one record: a "key: value" block (blank line between records) or
 * one JSON line. */
static int dlq_print_record(ctl_t *ctl, const rd_kafka_message_t *m,
                            void *arg) {
    static const ctl_field_t fields[] = {
        {"partition", "partition", CTL_FMT_PLAIN},
        {"offset", "offset", CTL_FMT_PLAIN},
        {"timestamp", "time", CTL_FMT_TIME},
        {"source_topic", "source topic", CTL_FMT_PLAIN},
        {"source_partition", "source partition", CTL_FMT_PLAIN},
        {"source_offset", "source offset", CTL_FMT_PLAIN},
        {"trigger", "trigger", CTL_FMT_PLAIN},
        {"key", "key", CTL_FMT_PLAIN},
        {"reason", "reason", CTL_FMT_PLAIN},
        {"value_size", "value size", CTL_FMT_PLAIN},
        {"value_prefix", "value", CTL_FMT_PLAIN},
    };
    ctl_field_t shown[BATON_ARRAY_SIZE(fields)];
    size_t ns = 0;
    int *n = arg, rc;
    json_t *o = dlq_record_json(m, ctl->o.json_out);
    if (!o) return ctl_fail("out of memory");
    if (ctl->o.json_out)
        rc = ctl_print_json(o);
    else {
        /* The trigger line only for bridge records. */
        for (size_t i = 0; i < BATON_ARRAY_SIZE(fields); i++)
            if (strcmp(fields[i].key, "trigger") ||
                !json_is_null(json_object_get(o, "trigger")))
                shown[ns++] = fields[i];
        if ((*n)++) printf("\n");
        rc = ctl_print_fields(o, shown, ns);
    }
    json_decref(o);
    return rc;
}

/* Polls the watermarks until the DLQ holds a record or --wait ran out. */
static int dlq_wait_first(ctl_t *ctl, rd_kafka_t *rk, const char *topic,
                          dlq_part_t *parts, int *n) {
    double waited = 0;
    int rc = dlq_watermarks(ctl, rk, topic, parts, CTL_MAX_PARTITIONS, n);
    while (rc == BATON_CLI_EXIT_OK && !dlq_count(parts, *n) &&
           waited < ctl->o.wait_s) {
        usleep(DLQ_WAIT_STEP_US);
        waited += DLQ_WAIT_STEP_US / 1e6;
        rc = dlq_watermarks(ctl, rk, topic, parts, CTL_MAX_PARTITIONS, n);
    }
    return rc;
}

static int dlq_list(ctl_t *ctl, rd_kafka_t *rk, const char *topic) {
    dlq_part_t *parts = baton_calloc(CTL_MAX_PARTITIONS, sizeof *parts);
    int n = 0, printed = 0, rc;
    if (!parts) return ctl_fail("out of memory");
    rc = dlq_wait_first(ctl, rk, topic, parts, &n);
    if (rc == BATON_CLI_EXIT_OK)
        rc = dlq_read(ctl, rk, topic, parts, n, dlq_print_record, &printed);
    baton_free(parts);
    return rc;
}

/* ---- dlq replay --------------------------------------------------------- */

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

/* Replays the record m (the one asked for): refuses a cut one, finds the
 * destination, produces, prints where it went. */
static int dlq_replay_record(ctl_t *ctl, const rd_kafka_message_t *m,
                             void *arg) {
    json_t *rec = dlq_record_json(m, 1), *out;
    const char *src =
        rec ? json_string_value(json_object_get(rec, "source_topic")) : NULL;
    const char *dest = ctl->o.to ? ctl->o.to : src;
    int32_t part = RD_KAFKA_PARTITION_UA, got_p = -1;
    int64_t got_o = -1;
    char what[128];
    int rc;

    (void)arg;
    if (!rec) return ctl_fail("out of memory");
    snprintf(what, sizeof what, "DLQ record %d:%" PRId64, (int)m->partition,
             m->offset);
    if (json_is_true(json_object_get(rec, "cut")))
        rc = ctl_fail("%s cannot be replayed: its value was cut to a prefix "
                      "(%s)",
                      what, json_string_value(json_object_get(rec, "reason")));
    else if (!dest)
        rc = ctl_fail("%s names no source topic (no baton-source-topic "
                      "header, baton-error not '<topic>[<p>]@<offset>: ...'):"
                      " give --to TOPIC",
                      what);
    else {
        /* No key: the source partition when replaying to the source. */
        if (!m->key && !ctl->o.to &&
            json_is_integer(json_object_get(rec, "source_partition")))
            part = (int32_t)json_integer_value(
                json_object_get(rec, "source_partition"));
        rc = ctl_produce_record(ctl, what, dest, part, m->key, m->key_len,
                                m->payload, m->len, dlq_original_headers(m),
                                &got_p, &got_o);
    }
    if (rc == BATON_CLI_EXIT_OK && ctl->o.json_out) {
        out = json_pack("{si sI ss si sI}", "dlq_partition", (int)m->partition,
                        "dlq_offset", (json_int_t)m->offset, "topic", dest,
                        "partition", (int)got_p, "offset", (json_int_t)got_o);
        rc = out ? ctl_print_json(out) : ctl_fail("out of memory");
        json_decref(out);
    } else if (rc == BATON_CLI_EXIT_OK)
        printf("replayed %s to %s [%d] at offset %" PRId64 "\n", what, dest,
               (int)got_p, got_o);
    json_decref(rec);
    return rc;
}

/* Parses "P:O" into *p and *o.  Returns 0 or -1. */
static int dlq_parse_position(const char *s, int32_t *p, int64_t *o) {
    const char *colon = strchr(s, ':');
    char ps[32];
    int64_t pv, ov;
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof ps) return -1;
    memcpy(ps, s, (size_t)(colon - s));
    ps[colon - s] = '\0';
    if (baton_parse_i64(ps, &pv) || pv < 0 || pv > INT32_MAX ||
        baton_parse_i64(colon + 1, &ov) || ov < 0)
        return -1;
    *p = (int32_t)pv;
    *o = ov;
    return 0;
}

static int dlq_replay(ctl_t *ctl, rd_kafka_t *rk, const char *topic,
                      const char *pos) {
    dlq_part_t *parts = baton_calloc(CTL_MAX_PARTITIONS, sizeof *parts), one;
    int32_t p;
    int64_t o;
    int n = 0, rc;

    if (!parts) return ctl_fail("out of memory");
    if (dlq_parse_position(pos, &p, &o)) {
        baton_free(parts);
        return ctl_usage_error("dlq replay wants PARTITION:OFFSET, not '%s'",
                               pos);
    }
    rc = dlq_watermarks(ctl, rk, topic, parts, CTL_MAX_PARTITIONS, &n);
    if (rc == BATON_CLI_EXIT_OK && p >= n)
        rc = ctl_fail("%s has no partition %d (it has %d)", topic, (int)p, n);
    else if (rc == BATON_CLI_EXIT_OK && (o < parts[p].lo || o >= parts[p].hi))
        rc = ctl_fail("%s [%d] holds no record at offset %" PRId64
                      " (it holds %" PRId64 "..%" PRId64 ")",
                      topic, (int)p, o, parts[p].lo, parts[p].hi - 1);
    if (rc == BATON_CLI_EXIT_OK) {
        one.id = p;
        one.lo = o;
        one.hi = o + 1;
        rc = dlq_read(ctl, rk, topic, &one, 1, dlq_replay_record, NULL);
    }
    baton_free(parts);
    return rc;
}

/* ---- the command ---------------------------------------------------------- */

int ctl_cmd_dlq(ctl_t *ctl) {
    char errstr[512], topic[256];
    int replay = ctl->o.nargs == 2 && !strcmp(ctl->o.args[0], "replay");
    rd_kafka_t *rk;
    int rc;

    if (ctl->o.nargs && !replay)
        return ctl_usage_error("usage: " CTL_PROG
                               " dlq [--wait SECONDS] | " CTL_PROG
                               " dlq replay PARTITION:OFFSET "
                               "[--to TOPIC]");
    if (replay && (ctl->o.given & CTL_O_WAIT))
        return ctl_usage_error("--wait does not apply to 'dlq replay'");
    if (!replay && (ctl->o.given & CTL_O_TO))
        return ctl_usage_error("--to applies to 'dlq replay' only");
    baton_topic(ctl->conf, "dlq", topic, sizeof topic);
    if (!(rk = ctl_consumer_new(ctl, DLQ_GROUP, errstr, sizeof errstr)))
        return ctl_fail("%s", errstr);
    rc = replay ? dlq_replay(ctl, rk, topic, ctl->o.args[1])
                : dlq_list(ctl, rk, topic);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
