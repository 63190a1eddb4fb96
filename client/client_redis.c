/*
 * client_redis.c -- baton_client's Redis side: the connection (opened on
 * first use), commands with their failure described, and finding a
 * workflow: its partition (murmur2 over Kafka's partition count, else a
 * scan of p0..p1023) and its snapshot (key layout of common/keys.h, fields
 * of orchestrator/snapshot.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "client_int.h"
#include "blob_store.h"
#include "keys.h"
#include "redis.h"

/* The connection, opened on first use.  NULL with errstr when it failed. */
redisContext *client_redis(baton_client_t *c, char *errstr, size_t errlen) {
    if (c->redis) return c->redis;
    c->redis = baton_redis_connect_conf(c->conf, c->timeout_ms, errstr, errlen);
    return c->redis;
}

/* Takes a reply; returns it, or NULL (freed, errstr set) when the call
 * failed or Redis answered with an error.  A failed call drops the
 * connection (the next call reconnects).  what names the action. */
static redisReply *client_redis_check(baton_client_t *c, redisReply *r,
                                      const char *what, char *errstr,
                                      size_t errlen) {
    if (!r) {
        char shown[512];
        client_fail(errstr, errlen, BATON_CLIENT_E_UNAVAILABLE,
                    "Redis at %s, %s: %s",
                    baton_redis_url_display(c->conf, shown, sizeof shown), what,
                    c->redis->errstr[0] ? c->redis->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        client_fail(errstr, errlen, BATON_CLIENT_E_UNAVAILABLE, "Redis, %s: %s",
                    what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *baton_client_redis_vcmd(baton_client_t *c, char *errstr,
                                    size_t errlen, const char *what,
                                    const char *fmt, va_list ap) {
    redisContext *rc = client_redis(c, errstr, errlen);
    if (!rc) return NULL;
    return client_redis_check(c, redisvCommand(rc, fmt, ap), what, errstr,
                              errlen);
}

__attribute__((format(printf, 5, 6))) redisReply *
baton_client_redis_cmd(baton_client_t *c, char *errstr, size_t errlen,
                       const char *what, const char *fmt, ...) {
    va_list ap;
    redisReply *r;
    va_start(ap, fmt);
    r = baton_client_redis_vcmd(c, errstr, errlen, what, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *client_redis_next(baton_client_t *c, const char *what, char *errstr,
                              size_t errlen) {
    void *r = NULL;
    if (redisGetReply(c->redis, &r) != REDIS_OK) r = NULL;
    return client_redis_check(c, r, what, errstr, errlen);
}

baton_client_err_t baton_client_redis_ping(baton_client_t *c, char *errstr,
                                           size_t errlen) {
    redisReply *r =
        baton_client_redis_cmd(c, errstr, errlen, "answering PING", "PING");
    if (!r) return BATON_CLIENT_E_UNAVAILABLE;
    freeReplyObject(r);
    return BATON_CLIENT_OK;
}

/* EXISTS the snapshot key of id in partitions [from, to), pipelined.
 * Returns the first partition holding it, -1 none, -2 error (errstr). */
static int32_t client_exists_range(baton_client_t *c, const char *id,
                                   int32_t from, int32_t to, char *errstr,
                                   size_t errlen) {
    char key[BATON_CLIENT_ID_MAX + 64];
    int32_t found = -1;
    int failed = 0;
    if (!client_redis(c, errstr, errlen)) return -2;
    for (int32_t p = from; p < to; p++)
        if (redisAppendCommand(c->redis, "EXISTS %s",
                               baton_keys_wf(key, sizeof key,
                                             baton_conf_key_prefix(c->conf), p,
                                             id)) != REDIS_OK) {
            client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                        "out of memory");
            return -2;
        }
    for (int32_t p = from; p < to; p++) {
        redisReply *r =
            client_redis_next(c, "looking for the workflow", errstr, errlen);
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

/* Records where id was found. */
static int client_found(baton_client_t *c, const char *id, int32_t p) {
    c->wf_partition = p;
    snprintf(c->wf_id, sizeof c->wf_id, "%s", id);
    return 1;
}

int client_locate(baton_client_t *c, const char *id, int scan, char *errstr,
                  size_t errlen) {
    int32_t n, p;
    if (c->wf_partition >= 0 && !strcmp(c->wf_id, id)) return 1;
    c->wf_partition = -1;
    if ((n = baton_client_partition_count(c)) > 0) {
        int32_t guess = baton_partition_for(id, n);
        if ((p = client_exists_range(c, id, guess, guess + 1, errstr, errlen)) <
            -1)
            return -1;
        if (p >= 0) return client_found(c, id, p);
    }
    for (int32_t from = 0; scan && from < CLIENT_MAX_PARTITIONS;
         from += CLIENT_SCAN_CHUNK) {
        if ((p = client_exists_range(c, id, from, from + CLIENT_SCAN_CHUNK,
                                     errstr, errlen)) < -1)
            return -1;
        if (p >= 0) {
            /* Same partition: the snapshot was written between the two
             * looks, nothing to say. */
            if (n > 0 && p != baton_partition_for(id, n))
                BATON_WARN("client",
                           "workflow '%s' found in partition %d, not "
                           "in %d = murmur2 over %d partitions",
                           id, (int)p, (int)baton_partition_for(id, n), (int)n);
            return client_found(c, id, p);
        }
    }
    return 0;
}

baton_client_err_t baton_client_snapshot(baton_client_t *c, const char *id,
                                         int scan, json_t **out, char *errstr,
                                         size_t errlen) {
    char key[BATON_CLIENT_ID_MAX + 64];
    json_error_t jerr;
    redisReply *r;
    int found = client_locate(c, id, scan, errstr, errlen);

    *out = NULL;
    if (found < 0) return BATON_CLIENT_E_UNAVAILABLE;
    if (!found)
        return client_fail(errstr, errlen, BATON_CLIENT_E_NOT_FOUND,
                           "workflow '%s' not found", id);
    baton_keys_wf(key, sizeof key, baton_conf_key_prefix(c->conf),
                  c->wf_partition, id);
    if (!(r = baton_client_redis_cmd(c, errstr, errlen, "reading the snapshot",
                                     "GET %s", key)))
        return BATON_CLIENT_E_UNAVAILABLE;
    if (r->type != REDIS_REPLY_STRING) { /* expired since EXISTS */
        freeReplyObject(r);
        c->wf_partition = -1;
        return client_fail(errstr, errlen, BATON_CLIENT_E_NOT_FOUND,
                           "workflow '%s' not found", id);
    }
    {
        char *plain = NULL;
        baton_client_err_t orc =
            client_open_snapshot(c, id, r->str, r->len, &plain, errstr, errlen);
        if (orc) {
            freeReplyObject(r);
            return orc;
        }
        *out = plain ? json_loads(plain, JSON_ALLOW_NUL, &jerr)
                     : json_loadb(r->str, r->len, JSON_ALLOW_NUL, &jerr);
        baton_free(plain);
    }
    freeReplyObject(r);
    if (*out && json_is_object(*out) &&
        client_resolve(c, c->wf_partition, out, jerr.text, sizeof jerr.text)) {
        json_decref(*out);
        *out = NULL;
    }
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        if (!(*out = client_snap_unreadable(id, jerr.text)))
            return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                               "out of memory");
    }
    return BATON_CLIENT_OK;
}

/* What a snapshot batond cannot read either looks like (the run is
 * quarantined: orchestrator/loop.h): its id, QUARANTINED and why. */
json_t *client_snap_unreadable(const char *id, const char *why) {
    char q[300];
    snprintf(q, sizeof q, "snapshot unreadable: %s", why);
    return json_pack("{ss ss ss}", "id", id, "st", "QUARANTINED", "q", q);
}

const char *baton_client_snap_status(const json_t *snap) {
    const char *st = json_string_value(json_object_get(snap, "st"));
    if (json_object_get(snap, "q")) return "QUARANTINED";
    return st ? st : "UNKNOWN";
}

const char *baton_client_snap_str(const json_t *snap, const char *key,
                                  const char *dflt) {
    const char *s = json_string_value(json_object_get(snap, key));
    return s ? s : dflt;
}

redisContext *baton_client_redis_context(baton_client_t *c, char *errstr,
                                         size_t errlen) {
    return client_redis(c, errstr, errlen);
}

baton_client_err_t client_resolve(baton_client_t *c, int32_t partition,
                                  json_t **v, char *errstr, size_t errlen) {
    baton_blob_loc_t loc = {c->redis, baton_conf_key_prefix(c->conf), partition,
                            c->crypt};
    baton_err_t rc = BATON_OK;
    json_t *r;
    char *t = json_dumps(*v, JSON_COMPACT | JSON_ENCODE_ANY);
    int marked = t && baton_blob_text_marked(t, strlen(t));
    free(t);
    if (!marked) return BATON_CLIENT_OK;
    if (!(r = baton_blob_resolve(*v, 0, baton_blob_store_fetch, &loc, &rc,
                                 errstr, errlen)))
        return rc == BATON_ERR_NOMEM ? BATON_CLIENT_E_INTERNAL
                                     : BATON_CLIENT_E_UNAVAILABLE;
    json_decref(*v);
    *v = r;
    return BATON_CLIENT_OK;
}
