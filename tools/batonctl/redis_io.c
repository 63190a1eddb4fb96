/*
 * redis_io.c -- batonctl's Redis side: the connection (opened on first
 * use), commands with their failure printed, and finding a workflow: its
 * partition (murmur2 over Kafka's partition count, else a scan of
 * p0..p1023) and its snapshot (key layout of orchestrator/store.h, fields
 * of orchestrator/snapshot.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "blob_store.h"
#include "baton_common.h"
#include "batonctl.h"
#include "keys.h"
#include "kafka.h"
#include "redis.h"

/* ---- Redis -------------------------------------------------------------- */

/* The connection, opened on first use.  NULL when it failed (printed). */
redisContext *ctl_redis(ctl_t *ctl) {
    char errstr[512];
    if (ctl->redis) return ctl->redis;
    ctl->redis = baton_redis_connect_conf(ctl->conf, ctl->o.timeout_ms, errstr,
                                          sizeof errstr);
    if (!ctl->redis) ctl_fail("%s", errstr);
    return ctl->redis;
}

/* Takes a reply; returns it, or NULL (freed, error printed) when the call
 * failed or Redis answered with an error.  what names the action. */
static redisReply *ctl_redis_check(ctl_t *ctl, redisReply *r,
                                   const char *what) {
    if (!r) {
        char shown[512];
        ctl_fail("Redis at %s, %s: %s",
                 baton_redis_url_display(ctl->conf, shown, sizeof shown), what,
                 ctl->redis->errstr[0] ? ctl->redis->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        ctl_fail("Redis, %s: %s", what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Runs one command (hiredis format); the reply is owned by the caller. */
__attribute__((format(printf, 3, 4))) redisReply *
ctl_redis_cmd(ctl_t *ctl, const char *what, const char *fmt, ...) {
    redisContext *c = ctl_redis(ctl);
    va_list ap;
    redisReply *r;
    if (!c) return NULL;
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    return ctl_redis_check(ctl, r, what);
}

/* Reads the next pipelined reply; NULL on failure (printed). */
redisReply *ctl_redis_next(ctl_t *ctl, const char *what) {
    void *r = NULL;
    if (redisGetReply(ctl->redis, &r) != REDIS_OK) r = NULL;
    return ctl_redis_check(ctl, r, what);
}

/* EXISTS the snapshot key of id in partitions [from, to), pipelined.
 * Returns the first partition holding it, -1 none, -2 error (printed). */
static int32_t ctl_exists_range(ctl_t *ctl, const char *id, int32_t from,
                                int32_t to) {
    char key[CTL_ID_MAX + 64];
    int32_t found = -1;
    int failed = 0;
    if (!ctl_redis(ctl)) return -2;
    for (int32_t p = from; p < to; p++)
        if (redisAppendCommand(ctl->redis, "EXISTS %s",
                               baton_keys_wf(key, sizeof key,
                                             baton_conf_key_prefix(ctl->conf),
                                             p, id)) != REDIS_OK) {
            ctl_fail("out of memory");
            return -2;
        }
    for (int32_t p = from; p < to; p++) {
        redisReply *r = ctl_redis_next(ctl, "looking for the workflow");
        if (!r) {
            failed = 1; /* the connection is unusable: stop reading */
            break;
        }
        if (found < 0 && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
            found = p;
        freeReplyObject(r);
    }
    return failed ? -2 : found;
}

/* Finds the partition whose keys hold workflow id: murmur2(id) over the
 * partition count of Kafka's metadata first, then (when scan is set) every
 * partition p0..p1023.  Returns 1 (ctl->wf_partition set), 0 not found, -1
 * error (printed). */
int ctl_locate(ctl_t *ctl, const char *id, int scan) {
    int32_t n, p;
    if (ctl->wf_partition >= 0) return 1;
    if ((n = ctl_partition_count(ctl)) > 0) {
        int32_t guess = baton_partition_for(id, n);
        if ((p = ctl_exists_range(ctl, id, guess, guess + 1)) < -1) return -1;
        if (p >= 0) {
            ctl->wf_partition = p;
            return 1;
        }
    }
    for (int32_t from = 0; scan && from < CTL_MAX_PARTITIONS;
         from += CTL_SCAN_CHUNK) {
        if ((p = ctl_exists_range(ctl, id, from, from + CTL_SCAN_CHUNK)) < -1)
            return -1;
        if (p >= 0) {
            if (n > 0)
                BATON_WARN("ctl",
                           "workflow '%s' found in partition %d, not "
                           "in %d = murmur2 over %d partitions",
                           id, (int)p, (int)baton_partition_for(id, n), (int)n);
            ctl->wf_partition = p;
            return 1;
        }
    }
    return 0;
}

/* The claim check (common/blob.h): replaces *v (owned) by its value with
 * every reference resolved from the blobs of ctl->wf_partition.  0, or -1
 * with why in errstr (*v untouched). */
int ctl_resolve(ctl_t *ctl, json_t **v, char *errstr, size_t errlen) {
    baton_blob_loc_t loc = {ctl->redis, baton_conf_key_prefix(ctl->conf),
                            ctl->wf_partition};
    baton_err_t rc = BATON_OK;
    json_t *r;
    char *t = json_dumps(*v, JSON_COMPACT | JSON_ENCODE_ANY);
    int marked = t && baton_blob_text_marked(t, strlen(t));
    free(t);
    if (!marked) return 0;
    if (!(r = baton_blob_resolve(*v, 0, baton_blob_store_fetch, &loc, &rc,
                                 errstr, errlen)))
        return -1;
    json_decref(*v);
    *v = r;
    return 0;
}

/* Reads the snapshot of id into *out (a JSON object owned by the caller).
 * Returns 1, 0 when there is none, -1 on error (printed). */
int ctl_snapshot_get(ctl_t *ctl, const char *id, int scan, json_t **out) {
    char key[CTL_ID_MAX + 64];
    json_error_t jerr;
    redisReply *r;
    int found = ctl_locate(ctl, id, scan);

    *out = NULL;
    if (found <= 0) return found;
    baton_keys_wf(key, sizeof key, baton_conf_key_prefix(ctl->conf),
                  ctl->wf_partition, id);
    if (!(r = ctl_redis_cmd(ctl, "reading the snapshot", "GET %s", key)))
        return -1;
    if (r->type != REDIS_REPLY_STRING) { /* expired since EXISTS */
        freeReplyObject(r);
        ctl->wf_partition = -1;
        return 0;
    }
    *out = json_loadb(r->str, r->len, JSON_ALLOW_NUL, &jerr);
    freeReplyObject(r);
    if (*out && json_is_object(*out) &&
        ctl_resolve(ctl, out, jerr.text, sizeof jerr.text)) {
        json_decref(*out);
        *out = NULL;
    }
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = ctl_snap_unreadable(id, jerr.text);
        if (!*out) {
            ctl_fail("out of memory");
            return -1;
        }
    }
    return 1;
}

/* What batonctl shows of a snapshot batond cannot read either (the run is
 * quarantined: orchestrator/loop.h): its id, QUARANTINED and why. */
json_t *ctl_snap_unreadable(const char *id, const char *why) {
    char q[300];
    snprintf(q, sizeof q, "snapshot unreadable: %s", why);
    return json_pack("{ss ss ss}", "id", id, "st", "QUARANTINED", "q", q);
}

/* Status of a snapshot ("st"; QUARANTINED when "q" says why), "UNKNOWN"
 * when missing. */
const char *ctl_snap_status(const json_t *snap) {
    const char *st = json_string_value(json_object_get(snap, "st"));
    if (json_object_get(snap, "q")) return "QUARANTINED";
    return st ? st : "UNKNOWN";
}

const char *ctl_snap_str(const json_t *snap, const char *key,
                         const char *dflt) {
    const char *s = json_string_value(json_object_get(snap, key));
    return s ? s : dflt;
}
