/*
 * store.c -- batond's Redis edge (store.h): the partition load on
 * assignment and the batch write, over the keys of common/keys.h.
 *
 * The batch write is the heart of exactly-once: for each partition one
 * atomic script (FENCE_SCRIPT below; atomic as MULTI/EXEC) that first
 * checks the partition's fencing token and then runs
 *     SET wf:<id> <snapshot>            (each workflow touched)
 *     RPUSH hist:<id> <event>...        (+ LTRIM to the cap, EXPIRE on close)
 *     HSET outbox <id> <record>...      (messages decided)
 *     HDEL outbox <id>...               (messages Kafka acknowledged)
 *     ZADD / ZREM timers ...
 *     SET dd:<id>:<dd> 1 PX <window>    (commands applied, for dedupe)
 *     HSET offsets <topic> <next>...    (inputs applied)
 * so state, outputs and "inputs applied" change together or not at all.
 *
 * Fencing: taking a partition over INCRs baton:{pN}:epoch; the value is
 * this instance's token.  A write whose token is no longer the current one
 * (a newer owner took the partition) changes nothing and is answered
 * FENCED, so an instance that lost its partitions mid-batch can never write
 * over the new owner's state.
 * All partitions' transactions go out in one pipeline: one round trip.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypt.h"
#include "keys.h"
#include "registry.h"
#include "wset.h"

/* ---- partition load ----------------------------------------------------- */

void baton_part_state_clear(baton_part_state_t *st) {
    for (size_t i = 0; i < st->noutbox; i++)
        baton_outbox_msg_clear(&st->outbox[i]);
    for (size_t i = 0; i < st->ntimers; i++) baton_free(st->timer_members[i]);
    baton_free(st->outbox);
    baton_free(st->timer_members);
    baton_free(st->timer_due);
    memset(st, 0, sizeof *st);
}

static baton_err_t reply_err(redisContext *c, redisReply *r, char *errstr,
                             size_t errlen, const char *what) {
    baton_err_t rc =
        baton_seterr(errstr, errlen, BATON_ERR_REDIS, "%s: %s", what,
                     r ? (r->str ? r->str : "unexpected reply") : c->errstr);
    if (r) freeReplyObject(r);
    return rc;
}

static baton_err_t load_offsets(redisContext *c, const char *ns, int32_t p,
                                const char *const topics[2],
                                baton_part_state_t *out, char *errstr,
                                size_t errlen) {
    char key[BATON_KEYS_LEN];
    redisReply *r = redisCommand(c, "HMGET %s %s %s",
                                 baton_keys_offsets(key, sizeof key, ns, p),
                                 topics[0], topics[1]);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return reply_err(c, r, errstr, errlen, "reading offsets");
    for (int i = 0; i < 2; i++) {
        int64_t v = -1;
        if (r->element[i]->type == REDIS_REPLY_STRING)
            baton_parse_i64(r->element[i]->str, &v);
        out->next_offset[i] = v;
    }
    freeReplyObject(r);
    return BATON_OK;
}

static baton_err_t load_outbox(redisContext *c, const char *ns, int32_t p,
                               baton_part_state_t *out, char *errstr,
                               size_t errlen) {
    char key[BATON_KEYS_LEN];
    redisReply *r = redisCommand(c, "HGETALL %s",
                                 baton_keys_outbox(key, sizeof key, ns, p));
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return reply_err(c, r, errstr, errlen, "reading outbox");
    out->outbox = baton_calloc(r->elements / 2 + 1, sizeof(baton_outbox_msg_t));
    if (!out->outbox) return reply_err(c, r, errstr, errlen, "out of memory");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        baton_outbox_msg_t *m = &out->outbox[out->noutbox];
        if (baton_outbox_decode(r->element[i + 1]->str, r->element[i + 1]->len,
                                m)) {
            BATON_ERROR("redis",
                        "partition %d: outbox entry %s is corrupt; "
                        "left in place",
                        p, r->element[i]->str);
            continue;
        }
        m->id = baton_strdup(r->element[i]->str);
        out->noutbox++;
    }
    freeReplyObject(r);
    return BATON_OK;
}

/* Appends the (member, score) pairs of a WITHSCORES reply whose score
 * is below `below` (INT64_MAX: all) to out's timers. */
static int take_timers(redisReply *r, int64_t below, baton_part_state_t *out) {
    size_t n = r->elements / 2, base = out->ntimers;
    char **m = baton_realloc(out->timer_members, (base + n + 1) * sizeof *m);
    int64_t *d;
    if (!m) return -1;
    out->timer_members = m;
    if (!(d = baton_realloc(out->timer_due, (base + n + 1) * sizeof *d)))
        return -1;
    out->timer_due = d;
    for (size_t i = 0; i < n; i++) {
        int64_t due = strtoll(r->element[2 * i + 1]->str, NULL, 10);
        if (due >= below) break;
        if (!(m[out->ntimers] = baton_strdup(r->element[2 * i]->str)))
            return -1;
        d[out->ntimers++] = due;
    }
    return 0;
}

baton_err_t baton_store_load_timers(redisContext *c, const char *ns, int32_t p,
                                    int64_t after_ms, int64_t upto_ms,
                                    baton_part_state_t *out, char *errstr,
                                    size_t errlen) {
    char key[BATON_KEYS_LEN], from[32], to[32];
    redisReply *r;
    int64_t cut = INT64_MAX;

    for (size_t i = 0; i < out->ntimers; i++) baton_free(out->timer_members[i]);
    out->ntimers = 0;
    baton_keys_timers(key, sizeof key, ns, p);
    if (after_ms == INT64_MIN)
        snprintf(from, sizeof from, "-inf");
    else
        snprintf(from, sizeof from, "(%lld", (long long)after_ms);
    snprintf(to, sizeof to, "%lld", (long long)upto_ms);
    r = redisCommand(c, "ZRANGEBYSCORE %s %s %s WITHSCORES LIMIT 0 %d", key,
                     from, to, BATON_STORE_TIMERS_MAX + 1);
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return reply_err(c, r, errstr, errlen, "reading timers");
    if (r->elements / 2 > BATON_STORE_TIMERS_MAX) /* cut before the last */
        cut = strtoll(r->element[r->elements - 1]->str, NULL, 10);
    if (take_timers(r, cut, out))
        return reply_err(c, r, errstr, errlen, "out of memory");
    freeReplyObject(r);
    out->timers_upto = cut == INT64_MAX ? upto_ms : cut - 1;
    if (cut == INT64_MAX || out->ntimers) return BATON_OK;
    /* More than the cap share one due time: take that millisecond whole. */
    r = redisCommand(c, "ZRANGEBYSCORE %s %lld %lld WITHSCORES", key,
                     (long long)cut, (long long)cut);
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return reply_err(c, r, errstr, errlen, "reading timers");
    if (take_timers(r, INT64_MAX, out))
        return reply_err(c, r, errstr, errlen, "out of memory");
    freeReplyObject(r);
    out->timers_upto = cut;
    return BATON_OK;
}

/* Takes the fencing token: from now on only this owner's writes apply. */
static baton_err_t take_epoch(redisContext *c, const char *ns, int32_t p,
                              baton_part_state_t *out, char *errstr,
                              size_t errlen) {
    char key[BATON_KEYS_LEN];
    redisReply *r =
        redisCommand(c, "INCR %s", baton_keys_epoch(key, sizeof key, ns, p));
    if (!r || r->type != REDIS_REPLY_INTEGER)
        return reply_err(c, r, errstr, errlen, "taking the partition epoch");
    out->epoch = r->integer;
    freeReplyObject(r);
    return BATON_OK;
}

baton_err_t baton_store_load_partition(redisContext *c, const char *ns,
                                       int32_t p, const char *const topics[2],
                                       int64_t timers_upto,
                                       baton_part_state_t *out, char *errstr,
                                       size_t errlen) {
    baton_err_t rc;
    memset(out, 0, sizeof *out);
    if ((rc = take_epoch(c, ns, p, out, errstr, errlen)) ||
        (rc = load_offsets(c, ns, p, topics, out, errstr, errlen)) ||
        (rc = load_outbox(c, ns, p, out, errstr, errlen)) ||
        (rc = baton_store_load_timers(c, ns, p, INT64_MIN, timers_upto, out,
                                      errstr, errlen)))
        baton_part_state_clear(out);
    return rc;
}

baton_err_t baton_store_load_outbox(redisContext *c, const char *ns, int32_t p,
                                    baton_part_state_t *out, char *errstr,
                                    size_t errlen) {
    baton_err_t rc;
    memset(out, 0, sizeof *out);
    if ((rc = load_outbox(c, ns, p, out, errstr, errlen)))
        baton_part_state_clear(out);
    return rc;
}

/* ---- snapshots ---------------------------------------------------------- */

baton_err_t baton_store_get_snapshots(redisContext *c, const char *ns, size_t n,
                                      const int32_t *parts,
                                      const char *const *ids, char **texts,
                                      size_t *lens, char *errstr,
                                      size_t errlen) {
    char key[BATON_KEYS_LEN];
    baton_err_t rc = BATON_OK;
    for (size_t i = 0; i < n; i++) {
        const char *argv[2] = {
            "GET", baton_keys_wf(key, sizeof key, ns, parts[i], ids[i])};
        if (!argv[1]) argv[1] = ""; /* an id too long: no such run */
        redisAppendCommandArgv(c, 2, argv, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        texts[i] = NULL;
        lens[i] = 0;
        if (redisGetReply(c, (void **)&r) != REDIS_OK)
            return reply_err(c, NULL, errstr, errlen, "reading snapshots");
        if (r->type == REDIS_REPLY_STRING) {
            texts[i] = baton_strndup(r->str, r->len);
            lens[i] = r->len;
        } else if (r->type != REDIS_REPLY_NIL && !rc) {
            rc = baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                              "reading snapshot of %s: %s", ids[i],
                              r->str ? r->str : "unexpected reply");
        }
        freeReplyObject(r);
    }
    return rc;
}

/* ---- dedupe ------------------------------------------------------------- */

baton_err_t baton_store_dedupe_seen(redisContext *c, const char *ns, size_t n,
                                    const int32_t *parts,
                                    const char *const *ids,
                                    const char *const *dds, int *seen,
                                    char *errstr, size_t errlen) {
    char key[BATON_KEYS_DEDUPE_LEN];
    baton_err_t rc = BATON_OK;
    for (size_t i = 0; i < n; i++) {
        const char *argv[2] = {
            "EXISTS",
            baton_keys_dedupe(key, sizeof key, ns, parts[i], ids[i], dds[i])};
        if (!argv[1]) argv[1] = ""; /* cannot happen: ids are bounded */
        redisAppendCommandArgv(c, 2, argv, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        seen[i] = 0;
        if (redisGetReply(c, (void **)&r) != REDIS_OK)
            return reply_err(c, NULL, errstr, errlen, "reading dedupe keys");
        if (r->type == REDIS_REPLY_INTEGER)
            seen[i] = r->integer > 0;
        else if (!rc)
            rc = baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                              "reading dedupe key of %s: %s", ids[i],
                              r->str ? r->str : "unexpected reply");
        freeReplyObject(r);
    }
    return rc;
}

/* ---- the batch write ---------------------------------------------------- */

/* Strings that must live until the pipeline is sent. */
typedef struct strpool {
    char **s;
    size_t n, cap;
} strpool_t;

static const char *pool_keep(strpool_t *p, char *s) {
    if (!s) return NULL;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        char **ns = baton_realloc(p->s, ncap * sizeof(*ns));
        if (!ns) {
            baton_free(s);
            return NULL;
        }
        p->s = ns;
        p->cap = ncap;
    }
    return p->s[p->n++] = s;
}

static const char *pool_fmt(strpool_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *pool_fmt(strpool_t *p, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return pool_keep(p, baton_strdup(buf));
}

/* A key name formatted by keys.h, kept in the pool; NULL when it does not
 * fit or memory ran out (the write then fails as a whole). */
static const char *pool_key(strpool_t *pool, const char *key) {
    return key ? pool_keep(pool, baton_strdup(key)) : NULL;
}

static void pool_free(strpool_t *p) {
    for (size_t i = 0; i < p->n; i++) baton_free(p->s[i]);
    baton_free(p->s);
}

/* A growing argv for one variadic command. */
typedef struct argvb {
    const char **argv;
    size_t *lens;
    size_t n, cap;
    size_t cmd_start; /* where the command being built starts */
    int fail;
} argvb_t;

static int argvb_add(argvb_t *a, const char *s, size_t len) {
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 32;
        const char **na = baton_realloc(a->argv, ncap * sizeof(*na));
        size_t *nl;
        if (!na) return -1;
        a->argv = na;
        if (!(nl = baton_realloc(a->lens, ncap * sizeof(*nl)))) return -1;
        a->lens = nl;
        a->cap = ncap;
    }
    a->argv[a->n] = s;
    a->lens[a->n++] = len;
    return 0;
}

/* Ends the command started at cmd_start: the script reads each command as
 * "<argc> <arg>...", so its argument count goes in front of it. */
static void argvb_close(argvb_t *a, strpool_t *pool);

/* Variadic commands are split every ARGS_PER_CMD arguments: Redis' Lua
 * unpack() takes at most ~8000 values. */
#define ARGS_PER_CMD 1000

/* Before adding one more item of a variadic command whose first nhead
 * arguments are its head (e.g. "HSET", key): starts a new command with
 * the same head when the current one is full. */
static void argvb_more(argvb_t *a, strpool_t *pool, size_t nhead) {
    const char *head[4];
    if (a->n - a->cmd_start < ARGS_PER_CMD) return;
    for (size_t k = 0; k < nhead; k++) head[k] = a->argv[a->cmd_start + k];
    argvb_close(a, pool);
    for (size_t k = 0; k < nhead; k++)
        a->fail |= argvb_add(a, head[k], strlen(head[k]));
}

static void argvb_free(argvb_t *a) {
    baton_free(a->argv);
    baton_free(a->lens);
}

static void argvb_close(argvb_t *a, strpool_t *pool) {
    size_t argc = a->n - a->cmd_start;
    const char *count = pool_fmt(pool, "%zu", argc);
    if (!count || argvb_add(a, "", 0)) {
        a->fail = 1;
        return;
    }
    memmove(&a->argv[a->cmd_start + 1], &a->argv[a->cmd_start],
            argc * sizeof(*a->argv));
    memmove(&a->lens[a->cmd_start + 1], &a->lens[a->cmd_start],
            argc * sizeof(*a->lens));
    a->argv[a->cmd_start] = count;
    a->lens[a->cmd_start] = strlen(count);
    a->cmd_start = a->n;
}

/* A NULL string (a key that did not fit, memory out) fails the build. */
static int argvb_add_str(argvb_t *a, const char *s) {
    return s ? argvb_add(a, s, strlen(s)) : -1;
}
#define ADD(a, s) argvb_add_str((a), (s))

/* text (*len bytes) sealed for (place, owner) with blobs->crypt's active
 * key, kept in the pool (*len updated); NULL on error (logged). */
static const char *store_seal(const baton_store_blobs_t *blobs,
                              const char *place, const char *owner,
                              const char *text, size_t *len, strpool_t *pool) {
    char *out = NULL, err[512];
    size_t n = 0;
    if (baton_crypt_seal(blobs->crypt, place, owner, text, *len, &out, &n, err,
                         sizeof err)) {
        BATON_ERROR("redis", "encrypting %s of %s: %s", place, owner, err);
        return NULL;
    }
    *len = n;
    return pool_keep(pool, out);
}

/* A history event (JSON object text) with its "data" sealed (place
 * "history.data", owner wf_id), kept in the pool; the event unchanged when
 * it has no data; NULL on error. */
static const char *store_seal_event(const baton_store_blobs_t *blobs,
                                    const char *wf_id, const char *ev,
                                    strpool_t *pool) {
    json_t *o = json_loads(ev, 0, NULL), *sealed = NULL;
    const char *out = NULL;
    char *d = NULL;
    size_t n;
    if (!o) return NULL;
    if (!json_object_get(o, "data")) {
        json_decref(o);
        return ev;
    }
    if ((d = json_dumps(json_object_get(o, "data"),
                        JSON_COMPACT | JSON_ENCODE_ANY)) &&
        (n = strlen(d),
         out = store_seal(blobs, "history.data", wf_id, d, &n, pool)) &&
        (sealed = json_loads(out, 0, NULL)) &&
        !json_object_set_new(o, "data", sealed)) {
        char *t = json_dumps(o, JSON_COMPACT);
        out = t ? pool_keep(pool, baton_strdup(t)) : NULL;
        free(t);
    } else
        out = NULL;
    free(d);
    json_decref(o);
    return out;
}

/* One BLOBHOLD (FENCE_SCRIPT) of blob hex held by run wf_id. */
static int queue_blob_hold(const char *ns, int32_t p, const char *wf_id,
                           const char *hex, const char *text, size_t len,
                           const baton_store_blobs_t *blobs, strpool_t *pool,
                           argvb_t *a) {
    char kb[BATON_KEYS_LEN];
    int fail;
    if (blobs && baton_crypt_active(blobs->crypt) &&
        !(text = store_seal(blobs, "blob", hex, text, &len, pool)))
        return -1;
    fail = ADD(a, "BLOBHOLD");
    fail |= ADD(a, pool_key(pool, baton_keys_blob(kb, sizeof kb, ns, p, hex)));
    fail |= ADD(
        a, pool_key(pool, baton_keys_blob_set(kb, sizeof kb, ns, p, wf_id)));
    fail |= ADD(a, pool_key(pool, baton_keys_blob_refs(kb, sizeof kb, ns, p)));
    fail |= ADD(a, pool_keep(pool, baton_strdup(hex)));
    fail |= argvb_add(a, text, len);
    argvb_close(a, pool);
    return fail;
}

typedef struct hold_ctx {
    const char *ns;
    int32_t p;
    baton_snapshot_t *s; /* blob_seen: handed already (may be NULL) */
    const char *wf_id;
    const baton_store_blobs_t *blobs;
    strpool_t *pool;
    argvb_t *a;
} hold_ctx_t;

static int hold_sink(void *ctx, const char *hex, const char *text, size_t len) {
    hold_ctx_t *h = ctx;
    const char *kept;
    if (h->s && h->s->blob_seen && json_object_get(h->s->blob_seen, hex))
        return 0;
    if (!(kept = pool_keep(h->pool, baton_strndup(text, len)))) return -1;
    if (queue_blob_hold(h->ns, h->p, h->wf_id, hex, kept, len, h->blobs,
                        h->pool, h->a))
        return -1;
    if (h->s) {
        if (!h->s->blob_seen && !(h->s->blob_seen = json_object())) return -1;
        if (json_object_set_new(h->s->blob_seen, hex, json_true())) return -1;
    }
    return 0;
}

/* Snapshot s's text (*len bytes, kept in the pool) as stored: ref JSON
 * when blobs is set, encoded straight from the snapshot's JSON (no text
 * parsed back), its new blobs queued as BLOBHOLDs of the run; NULL on
 * error. */
static const char *snapshot_text(const char *ns, int32_t p,
                                 const baton_store_blobs_t *blobs,
                                 baton_snapshot_t *s, size_t *len,
                                 strpool_t *pool, argvb_t *a) {
    hold_ctx_t h = {ns, p, s, s->id, blobs, pool, a};
    char *out = NULL, err[512];
    json_t *o;
    baton_err_t rc;
    if (!blobs) return pool_keep(pool, baton_snapshot_encode(s, len));
    if (!(o = baton_snapshot_to_json(s))) return NULL;
    rc = baton_blob_dumps(o, &blobs->opts, hold_sink, &h, &out, len, err,
                          sizeof err);
    json_decref(o);
    if (rc) {
        BATON_ERROR("redis", "claim check of %s: %s", s->id, err);
        return NULL;
    }
    return pool_keep(pool, out);
}

/* Packs the commands of one partition's write set into the script args. */
static int queue_wset(const char *ns, const baton_wset_t *ws,
                      const char *const topics[2], int64_t history_max,
                      int64_t ttl_s, const baton_store_blobs_t *blobs,
                      strpool_t *pool, argvb_t *a) {
    int32_t p = ws->partition;
    char kb[BATON_KEYS_LEN];
    int fail = 0;

    for (size_t i = 0; i < ws->nblobs; i++)
        fail |= queue_blob_hold(ns, p, ws->blobs[i].wf_id, ws->blobs[i].hex,
                                ws->blobs[i].text, ws->blobs[i].len, blobs,
                                pool, a);

    for (size_t i = 0; i < ws->nsnaps; i++) {
        size_t len;
        const char *text;
        if (ws->snaps[i]->status == BATON_WF_HELD &&
            !json_array_size(ws->snaps[i]->held)) { /* nothing held now */
            fail |= ADD(a, "DEL");
            fail |= ADD(a, pool_key(pool, baton_keys_wf(kb, sizeof kb, ns, p,
                                                        ws->snaps[i]->id)));
            argvb_close(a, pool);
            continue;
        }
        text = snapshot_text(ns, p, blobs, ws->snaps[i], &len, pool, a);
        if (text && blobs && baton_crypt_active(blobs->crypt))
            text = store_seal(blobs, "snapshot", ws->snaps[i]->id, text, &len,
                              pool);
        if (!text) return -1;
        fail |= ADD(a, "SET");
        fail |= ADD(a, pool_key(pool, baton_keys_wf(kb, sizeof kb, ns, p,
                                                    ws->snaps[i]->id)));
        fail |= argvb_add(a, text, len);
        if (baton_wf_status_closed(ws->snaps[i]->status) && ttl_s > 0) {
            fail |= ADD(a, "EX");
            fail |= ADD(a, pool_fmt(pool, "%lld", (long long)ttl_s));
        }
        argvb_close(a, pool);
    }
    /* History: one RPUSH per workflow run of consecutive events. */
    for (size_t i = 0; i < ws->nhist;) {
        size_t j = i;
        const char *key = pool_key(
            pool, baton_keys_hist(kb, sizeof kb, ns, p, ws->hist[i].wf_id));
        int close = 0; /* the last of close (1) and re-open (-1) wins */
        fail |= ADD(a, "RPUSH");
        fail |= ADD(a, key);
        for (; j < ws->nhist && !strcmp(ws->hist[j].wf_id, ws->hist[i].wf_id);
             j++) {
            const char *ev = ws->hist[j].json;
            argvb_more(a, pool, 2);
            if (blobs && baton_crypt_active(blobs->crypt) &&
                !(ev = store_seal_event(blobs, ws->hist[j].wf_id, ev, pool)))
                return -1;
            fail |= ADD(a, ev);
            if (ws->hist[j].close)
                close = 1;
            else if (ws->hist[j].open)
                close = -1;
        }
        argvb_close(a, pool);
        if (history_max > 0) {
            fail |= ADD(a, "LTRIM");
            fail |= ADD(a, key);
            fail |= ADD(a, pool_fmt(pool, "%lld", -(long long)history_max));
            fail |= ADD(a, "-1");
            argvb_close(a, pool);
        }
        if (close < 0) {
            fail |= ADD(a, "PERSIST");
            fail |= ADD(a, key);
            argvb_close(a, pool);
        }
        if (close > 0 && ttl_s > 0) {
            fail |= ADD(a, "EXPIRE");
            fail |= ADD(a, key);
            fail |= ADD(a, pool_fmt(pool, "%lld", (long long)ttl_s));
            argvb_close(a, pool);
        }
        i = j;
    }
    /* A closed run releases the blobs it held (every write of it: a run
     * closed earlier holds those its late writes just held). */
    for (size_t i = 0; blobs && i < ws->nsnaps; i++) {
        char pre[BATON_KEYS_LEN];
        if (!baton_wf_status_closed(ws->snaps[i]->status)) continue;
        fail |= ADD(a, "BLOBFREE");
        fail |= ADD(a, pool_key(pool, baton_keys_blob_set(kb, sizeof kb, ns, p,
                                                          ws->snaps[i]->id)));
        fail |=
            ADD(a, pool_key(pool, baton_keys_blob_refs(kb, sizeof kb, ns, p)));
        fail |=
            ADD(a, pool_key(pool, baton_keys_blob(pre, sizeof pre, ns, p, "")));
        fail |= ADD(a, pool_fmt(pool, "%lld", (long long)blobs->retention_s));
        argvb_close(a, pool);
    }
    if (ws->nout) {
        fail |= ADD(a, "HSET");
        fail |= ADD(a, pool_key(pool, baton_keys_outbox(kb, sizeof kb, ns, p)));
        for (size_t i = 0; i < ws->nout; i++) {
            size_t len;
            const char *rec =
                pool_keep(pool, baton_outbox_encode(&ws->out[i], &len));
            if (!rec) return -1;
            argvb_more(a, pool, 2);
            fail |= ADD(a, ws->out[i].id);
            fail |= argvb_add(a, rec, len);
        }
        argvb_close(a, pool);
    }
    if (ws->nout_del) {
        fail |= ADD(a, "HDEL");
        fail |= ADD(a, pool_key(pool, baton_keys_outbox(kb, sizeof kb, ns, p)));
        for (size_t i = 0; i < ws->nout_del; i++) {
            argvb_more(a, pool, 2);
            fail |= ADD(a, ws->out_del[i]);
        }
        argvb_close(a, pool);
    }
    if (ws->ntadd) {
        fail |= ADD(a, "ZADD");
        fail |= ADD(a, pool_key(pool, baton_keys_timers(kb, sizeof kb, ns, p)));
        for (size_t i = 0; i < ws->ntadd; i++) {
            argvb_more(a, pool, 2);
            fail |=
                ADD(a, pool_fmt(pool, "%lld", (long long)ws->tadd[i].due_ms));
            fail |= ADD(a, ws->tadd[i].member);
        }
        argvb_close(a, pool);
    }
    if (ws->ntdel) {
        fail |= ADD(a, "ZREM");
        fail |= ADD(a, pool_key(pool, baton_keys_timers(kb, sizeof kb, ns, p)));
        for (size_t i = 0; i < ws->ntdel; i++) {
            argvb_more(a, pool, 2);
            fail |= ADD(a, ws->tdel[i]);
        }
        argvb_close(a, pool);
    }
    for (size_t i = 0; i < ws->ndd; i++) {
        char dk[BATON_KEYS_DEDUPE_LEN];
        fail |= ADD(a, "SET");
        fail |= ADD(a, pool_key(pool, baton_keys_dedupe(dk, sizeof dk, ns, p,
                                                        ws->dd[i].wf_id,
                                                        ws->dd[i].dd)));
        fail |= ADD(a, "1");
        fail |= ADD(a, "PX");
        fail |= ADD(a, pool_fmt(pool, "%lld",
                                (long long)(ws->dd[i].window_ms > 0
                                                ? ws->dd[i].window_ms
                                                : 1)));
        argvb_close(a, pool);
    }
    for (int t = 0; t < 2; t++) {
        if (ws->next_offset[t] < 0) continue;
        fail |= ADD(a, "HSET");
        fail |=
            ADD(a, pool_key(pool, baton_keys_offsets(kb, sizeof kb, ns, p)));
        fail |= ADD(a, topics[t]);
        fail |= ADD(a, pool_fmt(pool, "%lld", (long long)ws->next_offset[t]));
        argvb_close(a, pool);
    }
    return fail || a->fail ? -1 : 0;
}

/* Checks the fencing token (KEYS[1] = baton:{pN}:epoch, ARGV[1] = ours),
 * then runs the commands packed in ARGV[2..] as "<argc> <arg>...".  Two
 * are the claim check's own (store.h baton_store_blobs_t):
 *   BLOBHOLD <blob key> <run's set> <blobrc> <hex> <text>
 *       stores the blob (SET NX), counts the run as holding it once,
 *       makes it persistent;
 *   BLOBFREE <run's set> <blobrc> <blob key prefix> <retention s>
 *       the run closed: each blob it held loses one holder; one with none
 *       left expires after the retention; the run's set is deleted. */
static const char FENCE_SCRIPT[] =
    "local e = redis.call('GET', KEYS[1])\n"
    "if e ~= ARGV[1] then\n"
    "  return redis.error_reply('FENCED partition epoch is ' ..\n"
    "                           tostring(e) .. ', ours ' .. ARGV[1])\n"
    "end\n"
    "local i, n = 2, #ARGV\n"
    "while i <= n do\n"
    "  local c = tonumber(ARGV[i])\n"
    "  local op = ARGV[i + 1]\n"
    "  if op == 'BLOBHOLD' then\n"
    "    local blob, set, rc, hex = ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5]\n"
    "    redis.call('SET', blob, ARGV[i+6], 'NX')\n"
    "    if redis.call('SADD', set, hex) == 1 then\n"
    "      redis.call('HINCRBY', rc, hex, 1)\n"
    "    end\n"
    "    redis.call('PERSIST', blob)\n"
    "  elseif op == 'BLOBFREE' then\n"
    "    local set, rc, prefix, ttl = ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5]\n"
    "    for _, hex in ipairs(redis.call('SMEMBERS', set)) do\n"
    "      if redis.call('HINCRBY', rc, hex, -1) <= 0 then\n"
    "        redis.call('HDEL', rc, hex)\n"
    "        redis.call('EXPIRE', prefix .. hex, ttl)\n"
    "      end\n"
    "    end\n"
    "    redis.call('DEL', set)\n"
    "  else\n"
    "    redis.call(unpack(ARGV, i + 1, i + c))\n"
    "  end\n"
    "  i = i + c + 1\n"
    "end\n"
    "return 1\n";

baton_err_t baton_store_write(redisContext *c, const char *ns,
                              baton_wset_t *const *ws, size_t n,
                              const int64_t *epochs,
                              const char *const topics[2], int64_t history_max,
                              int64_t ttl_s, int *fenced, char *errstr,
                              size_t errlen) {
    return baton_store_write_ex(c, ns, ws, n, epochs, topics, history_max,
                                ttl_s, NULL, fenced, errstr, errlen);
}

baton_err_t baton_store_write_ex(redisContext *c, const char *ns,
                                 baton_wset_t *const *ws, size_t n,
                                 const int64_t *epochs,
                                 const char *const topics[2],
                                 int64_t history_max, int64_t ttl_s,
                                 const baton_store_blobs_t *blobs, int *fenced,
                                 char *errstr, size_t errlen) {
    strpool_t pool = {0};
    argvb_t a = {0};
    size_t *sent = baton_calloc(n + 1, sizeof(*sent)); /* indexes into ws */
    size_t nsent = 0;
    baton_err_t rc = BATON_OK;
    char kb[BATON_KEYS_LEN];

    if (!sent)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        fenced[i] = 0;
        if (baton_wset_empty(ws[i])) continue;
        a.n = 0;
        a.fail = 0;
        a.fail |= ADD(&a, "EVAL");
        a.fail |= ADD(&a, FENCE_SCRIPT);
        a.fail |= ADD(&a, "1");
        a.fail |= ADD(&a, pool_key(&pool, baton_keys_epoch(kb, sizeof kb, ns,
                                                           ws[i]->partition)));
        a.fail |= ADD(
            &a, pool_fmt(&pool, "%lld", (long long)epochs[ws[i]->partition]));
        a.cmd_start = a.n;
        if (queue_wset(ns, ws[i], topics, history_max, ttl_s, blobs, &pool,
                       &a) ||
            a.fail) {
            rc = baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                              "partition %d: out of memory building the "
                              "batch write",
                              ws[i]->partition);
            break;
        }
        redisAppendCommandArgv(c, (int)a.n, a.argv, a.lens);
        sent[nsent++] = i;
    }
    for (size_t k = 0; k < nsent; k++) {
        redisReply *r = NULL;
        size_t i = sent[k];
        if (redisGetReply(c, (void **)&r) != REDIS_OK) {
            rc = baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                              "writing batch: %s", c->errstr);
            break;
        }
        if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "FENCED", 6)) {
            fenced[i] = 1;
            BATON_ERROR("redis", "partition %d: %s: another instance owns it",
                        ws[i]->partition, r->str);
            if (!rc)
                rc = baton_seterr(errstr, errlen, BATON_ERR_FENCED,
                                  "partition %d: %s", ws[i]->partition, r->str);
        } else if (r->type == REDIS_REPLY_ERROR &&
                   (!rc || rc == BATON_ERR_FENCED)) {
            rc = baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                              "writing batch of partition %d: %s",
                              ws[i]->partition, r->str);
        }
        freeReplyObject(r);
    }
    baton_free(sent);
    pool_free(&pool);
    argvb_free(&a);
    return rc;
}

/* ---- definitions ------------------------------------------------------ */

baton_err_t baton_store_put_defs(redisContext *c, const char *ns,
                                 const baton_registry_t *reg, char *errstr,
                                 size_t errlen) {
    for (size_t i = 0; i < baton_registry_count(reg); i++) {
        const baton_defn_t *d = baton_registry_at(reg, i);
        char key[BATON_KEYS_LEN];
        redisReply *r;
        if (!baton_keys_def(key, sizeof key, ns, d->name, d->ver))
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "storing definitions: name or version of "
                                "%s is too long",
                                d->name);
        r = redisCommand(c, "SET %s %s NX", key, d->text);
        if (!r || r->type == REDIS_REPLY_ERROR)
            return reply_err(c, r, errstr, errlen, "storing definitions");
        freeReplyObject(r);
    }
    return BATON_OK;
}

char *baton_store_get_def(redisContext *c, const char *ns, const char *name,
                          const char *ver, char *errstr, size_t errlen) {
    char key[BATON_KEYS_LEN];
    redisReply *r;
    char *text = NULL;
    if (!baton_keys_def(key, sizeof key, ns, name, ver)) {
        baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                     "definition %s version %s: name too long", name, ver);
        return NULL;
    }
    r = redisCommand(c, "GET %s", key);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        reply_err(c, r, errstr, errlen, "loading definition");
        return NULL;
    }
    if (r->type == REDIS_REPLY_STRING)
        text = baton_strndup(r->str, r->len);
    else
        baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                     "definition %s version %s is not in Redis", name, ver);
    freeReplyObject(r);
    return text;
}
