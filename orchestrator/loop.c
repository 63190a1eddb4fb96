/*
 * loop.c -- the batched processing loop (loop.h): partitions, the snapshot
 * cache, armed timers and the queue of a batch's inputs.
 *
 * Per owned partition: a hash map workflow id -> snapshot (the cache; a
 * NULL snapshot means "loaded: no such run" for the current batch), a
 * min-heap of armed timers, the next offsets stored in Redis and the write
 * set of the batch being built.
 */
#include "loop.h"

#include "blob.h"
#include "dlq.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* ---- the snapshot cache: chained hash map ----------------------------- */

typedef struct centry {
    struct centry *next;
    char *id;
    baton_snapshot_t *snap; /* NULL: loaded, no such run (unless bad) */
    char *bad; /* the stored snapshot is unreadable: why (quarantined) */
} centry_t;

typedef struct cache {
    centry_t **buckets;
    size_t nbuckets, cnt;
} cache_t;

static size_t hash_str(const char *s) {
    size_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static centry_t *cache_find(const cache_t *c, const char *id) {
    if (!c->nbuckets) return NULL;
    for (centry_t *e = c->buckets[hash_str(id) % c->nbuckets]; e; e = e->next)
        if (!strcmp(e->id, id)) return e;
    return NULL;
}

static int cache_resize(cache_t *c, size_t n) {
    centry_t **b = baton_calloc(n, sizeof(*b));
    if (!b) return -1;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (centry_t *e = c->buckets[i], *next; e; e = next) {
            size_t h = hash_str(e->id) % n;
            next = e->next;
            e->next = b[h];
            b[h] = e;
        }
    baton_free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
    return 0;
}

static centry_t *cache_add(cache_t *c, const char *id) {
    centry_t *e;
    size_t h;
    if (c->cnt >= c->nbuckets &&
        cache_resize(c, c->nbuckets ? c->nbuckets * 2 : 1024))
        return NULL;
    if (!(e = baton_calloc(1, sizeof *e))) return NULL;
    if (!(e->id = baton_strdup(id))) {
        baton_free(e);
        return NULL;
    }
    h = hash_str(id) % c->nbuckets;
    e->next = c->buckets[h];
    c->buckets[h] = e;
    c->cnt++;
    return e;
}

static void centry_free(centry_t *e) {
    baton_snapshot_destroy(e->snap);
    baton_free(e->bad);
    baton_free(e->id);
    baton_free(e);
}

/* Removes the entries for which drop(e) says so. */
static void cache_sweep(cache_t *c, int (*drop)(const centry_t *, void *),
                        void *opaque) {
    for (size_t i = 0; i < c->nbuckets; i++) {
        centry_t **pp = &c->buckets[i];
        while (*pp) {
            centry_t *e = *pp;
            if (drop(e, opaque)) {
                *pp = e->next;
                centry_free(e);
                c->cnt--;
            } else {
                pp = &e->next;
            }
        }
    }
}

static int drop_all(const centry_t *e, void *o) {
    (void)e;
    (void)o;
    return 1;
}

static void cache_free(cache_t *c) {
    cache_sweep(c, drop_all, NULL);
    baton_free(c->buckets);
    memset(c, 0, sizeof *c);
}

/* ---- armed timers: binary min-heap by due time ------------------------- */

typedef struct timer {
    int64_t due;
    char *member;
} timer_t_;

typedef struct theap {
    timer_t_ *t;
    size_t n, cap;
} theap_t;

static int theap_push(theap_t *h, const char *member, int64_t due) {
    size_t i;
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 64;
        timer_t_ *nt = baton_realloc(h->t, ncap * sizeof(*nt));
        if (!nt) return -1;
        h->t = nt;
        h->cap = ncap;
    }
    if (!(h->t[h->n].member = baton_strdup(member))) return -1;
    h->t[h->n].due = due;
    for (i = h->n++; i > 0 && h->t[(i - 1) / 2].due > h->t[i].due;
         i = (i - 1) / 2) {
        timer_t_ tmp = h->t[i];
        h->t[i] = h->t[(i - 1) / 2];
        h->t[(i - 1) / 2] = tmp;
    }
    return 0;
}

/* Pops the earliest timer; the caller owns its member. */
static timer_t_ theap_pop(theap_t *h) {
    timer_t_ top = h->t[0];
    size_t i = 0;
    h->t[0] = h->t[--h->n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->t[l].due < h->t[m].due) m = l;
        if (r < h->n && h->t[r].due < h->t[m].due) m = r;
        if (m == i) break;
        timer_t_ tmp = h->t[i];
        h->t[i] = h->t[m];
        h->t[m] = tmp;
        i = m;
    }
    return top;
}

static void theap_free(theap_t *h) {
    for (size_t i = 0; i < h->n; i++) baton_free(h->t[i].member);
    baton_free(h->t);
    memset(h, 0, sizeof *h);
}

/* ---- partitions and queued inputs -------------------------------------- */

typedef struct part {
    int32_t id;
    int64_t next_offset[BATON_SRC_TOPICS];
    cache_t cache;
    theap_t timers;
    int64_t timers_upto; /* every timer due by then is in `timers` */
    baton_wset_t ws;
    /* outbox entries the producer refused for good, for the next write:
     * id = the entry to delete; topic NULL or the DLQ stub to add */
    baton_outbox_msg_t *refused;
    size_t nrefused, caprefused;
} part_t;

typedef struct qinput {
    baton_src_t src;
    int32_t p;
    int64_t offset;
    const void *raw;
    size_t rawlen;
    int json;
    baton_command_t cmd;
    baton_result_t res;
    char *timer;
    const char *wf_id;
    char *dd; /* command: dedupe key ("d:<dedupe_id>" / "r:<request_id>") */
    int dup;  /* the store remembers dd: a duplicate */
    int done; /* already handled (DLQ) */
} qinput_t;

struct baton_loop {
    baton_loop_conf_t conf;
    /* the trace headers of the message baton_loop_input is queueing
     * (borrowed; NULL when none, and between inputs) */
    const char *in_tp, *in_ts;
    char topics[BATON_SRC_TOPICS][200];
    char topic_dlq[200];
    baton_engine_t *engine;
    baton_codec_t *codec;
    part_t **parts; /* [partition_cnt], NULL = not owned */
    baton_wset_t **wsets;
    int *fenced; /* [partition_cnt]: the port's write says which sets */
    size_t nwsets;
    qinput_t *q;
    size_t nq, capq;
    /* missing snapshots */
    int32_t *miss_p;
    const char **miss_id;
    size_t nmiss, capmiss;
    baton_loop_stats_t stats;
    /* The input whose apply failed last for a non-input reason, and how
     * many batches in a row it failed: at conf.apply_retries its run is
     * quarantined instead of applied (loop.h). */
    struct {
        int32_t p;
        baton_src_t src;
        int64_t offset;
        char *timer;
        int count;
        char why[512];
    } fail;
    cache_t applied_dd; /* "<p>|<len>:<id><dd>" of the batch's commands */
    int64_t armed;      /* timers in the heaps of all partitions */
};

baton_loop_t *baton_loop_new(const baton_loop_conf_t *conf,
                             baton_engine_t *engine, baton_codec_t *codec) {
    baton_loop_t *l = baton_calloc(1, sizeof *l);
    if (!l) return NULL;
    l->conf = *conf;
    l->engine = engine;
    l->codec = codec;
    snprintf(l->topics[BATON_SRC_COMMANDS], sizeof l->topics[0], "%s.commands",
             conf->topic_prefix);
    snprintf(l->topics[BATON_SRC_RESULTS], sizeof l->topics[0], "%s.results",
             conf->topic_prefix);
    snprintf(l->topic_dlq, sizeof l->topic_dlq, "%s.dlq", conf->topic_prefix);
    l->parts = baton_calloc((size_t)conf->partition_cnt, sizeof(part_t *));
    l->wsets =
        baton_calloc((size_t)conf->partition_cnt, sizeof(baton_wset_t *));
    l->fenced = baton_calloc((size_t)conf->partition_cnt + 1, sizeof(int));
    if (!l->parts || !l->wsets || !l->fenced) {
        baton_loop_destroy(l);
        return NULL;
    }
    return l;
}

static void qinput_clear(qinput_t *q) {
    baton_command_clear(&q->cmd);
    baton_result_clear(&q->res);
    baton_free(q->timer);
    baton_free(q->dd);
}

/* Counts timers armed (delta > 0) or gone (< 0); keeps the peak. */
static void note_armed(baton_loop_t *l, int64_t delta) {
    l->armed += delta;
    if (l->armed > l->stats.timers_armed_max)
        l->stats.timers_armed_max = l->armed;
}

void baton_loop_partition_drop(baton_loop_t *l, int32_t p) {
    part_t *pt;
    if (p < 0 || p >= l->conf.partition_cnt || !(pt = l->parts[p])) return;
    cache_free(&pt->cache);
    note_armed(l, -(int64_t)pt->timers.n);
    theap_free(&pt->timers);
    baton_wset_reset(&pt->ws);
    for (size_t i = 0; i < pt->nrefused; i++)
        baton_outbox_msg_clear(&pt->refused[i]);
    baton_free(pt->refused);
    baton_free(pt);
    l->parts[p] = NULL;
}

void baton_loop_destroy(baton_loop_t *l) {
    if (!l) return;
    for (size_t i = 0; i < l->nq; i++) qinput_clear(&l->q[i]);
    for (int32_t p = 0; l->parts && p < l->conf.partition_cnt; p++)
        baton_loop_partition_drop(l, p);
    baton_free(l->parts);
    baton_free(l->wsets);
    baton_free(l->fenced);
    baton_free(l->q);
    baton_free(l->miss_p);
    baton_free(l->miss_id);
    cache_free(&l->applied_dd);
    baton_free(l->fail.timer);
    baton_free(l);
}

baton_err_t baton_loop_partition_add(baton_loop_t *l, int32_t p,
                                     const int64_t next_offset[2]) {
    part_t *pt;
    if (p < 0 || p >= l->conf.partition_cnt) return BATON_ERR_INVALID;
    baton_loop_partition_drop(l, p);
    if (!(pt = baton_calloc(1, sizeof *pt))) return BATON_ERR_NOMEM;
    pt->id = p;
    for (int i = 0; i < BATON_SRC_TOPICS; i++)
        pt->next_offset[i] = next_offset[i];
    pt->timers_upto = INT64_MAX;
    baton_wset_init(&pt->ws, p);
    l->parts[p] = pt;
    return BATON_OK;
}

baton_err_t baton_loop_timer_arm(baton_loop_t *l, int32_t p, const char *member,
                                 int64_t due_ms) {
    if (!baton_loop_owns(l, p)) return BATON_ERR_INVALID;
    if (theap_push(&l->parts[p]->timers, member, due_ms))
        return BATON_ERR_NOMEM;
    note_armed(l, 1);
    return BATON_OK;
}

void baton_loop_set_timers_upto(baton_loop_t *l, int32_t p, int64_t upto) {
    if (baton_loop_owns(l, p)) l->parts[p]->timers_upto = upto;
}

int64_t baton_loop_timers_upto(const baton_loop_t *l, int32_t p) {
    return baton_loop_owns(l, p) ? l->parts[p]->timers_upto : INT64_MAX;
}

int baton_loop_owns(const baton_loop_t *l, int32_t p) {
    return p >= 0 && p < l->conf.partition_cnt && l->parts[p];
}

int64_t baton_loop_next_offset(const baton_loop_t *l, int32_t p,
                               baton_src_t src) {
    return baton_loop_owns(l, p) && src < BATON_SRC_TOPICS
               ? l->parts[p]->next_offset[src]
               : -1;
}

void baton_loop_batch_begin(baton_loop_t *l) {
    for (size_t i = 0; i < l->nq; i++) qinput_clear(&l->q[i]);
    l->nq = 0;
    if (l->applied_dd.cnt) cache_sweep(&l->applied_dd, drop_all, NULL);
}

/* ---- inputs ------------------------------------------------------------ */

static qinput_t *queue_new(baton_loop_t *l) {
    qinput_t *q;
    if (l->nq == l->capq) {
        size_t ncap = l->capq ? l->capq * 2 : 256;
        qinput_t *nq = baton_realloc(l->q, ncap * sizeof(*nq));
        if (!nq) return NULL;
        l->q = nq;
        l->capq = ncap;
    }
    q = &l->q[l->nq++];
    memset(q, 0, sizeof *q);
    return q;
}

/* Sends the raw message to the DLQ with reason (through the outbox). */
static baton_err_t to_dlq(baton_loop_t *l, part_t *pt, baton_src_t src,
                          int64_t offset, const void *raw, size_t len, int json,
                          const char *key, const char *reason) {
    /* A stub (the reason, a prefix of the value) when the value is larger
     * than dlq_copy_max: a DLQ copy must always fit in a message. */
    size_t keep = l->conf.dlq_copy_max > 0 && len > (size_t)l->conf.dlq_copy_max
                      ? (size_t)l->conf.dlq_copy_max
                      : len;
    char *copy = baton_malloc(keep + 1), why[1024];
    baton_err_t rc;
    if (!copy) return BATON_ERR_NOMEM;
    memcpy(copy, raw, keep);
    baton_dlq_reason(why, sizeof why, l->topics[src], pt->id, offset, reason,
                     keep, len); /* the format: common/dlq.h */
    len = keep;
    BATON_WARN("loop", "to DLQ: %s", why);
    if ((rc = baton_wset_msg(&pt->ws, l->topic_dlq, -1, key, json, copy, len)))
        return rc;
    if (!(pt->ws.out[pt->ws.nout - 1].error = baton_strdup(why)))
        return BATON_ERR_NOMEM;
    l->stats.dlq++;
    return BATON_OK;
}

/* A command without a dedupe key, forwarded: re-encoded with dedupe_id
 * "baton:fwd/<partition>/<offset>" (where it sat), so that a forward
 * re-sent from the outbox is applied once.  NULL: keep the raw bytes. */
static char *forward_stamped(baton_loop_t *l, qinput_t *q, size_t *len) {
    char id[64], err[256], *buf = NULL;
    baton_command_t c = q->cmd; /* shallow: only dedupe_id differs */
    if (q->src != BATON_SRC_COMMANDS || q->cmd.dedupe_id || q->cmd.request_id)
        return NULL;
    snprintf(id, sizeof id, "baton:fwd/%d/%lld", q->p, (long long)q->offset);
    c.dedupe_id = id;
    if (baton_codec_encode_command(l->codec, &c, q->json, &buf, len, err,
                                   sizeof err))
        return NULL; /* decoded, so it encodes; else forward it as it is */
    return buf;
}

/* Forwards an input that sits in the wrong partition to the right one. */
static baton_err_t forward(baton_loop_t *l, part_t *pt, qinput_t *q,
                           int32_t right, const void *raw, size_t len, int json,
                           const char *key) {
    baton_src_t src = q->src;
    baton_err_t rc;
    char *copy = forward_stamped(l, q, &len);
    if (!copy && (copy = baton_malloc(len + 1))) memcpy(copy, raw, len);
    if (!copy) return BATON_ERR_NOMEM;
    BATON_DEBUG("loop", "forwarding %s input for %s from partition %d to %d",
                l->topics[src], key, pt->id, right);
    l->stats.forwarded++;
    if ((rc = baton_wset_msg(&pt->ws, l->topics[src], right, key, json, copy,
                             len)))
        return rc;
    return baton_wset_trace_last(&pt->ws, l->in_tp, l->in_ts); /* kept */
}

/* The string fields that are not JSON payloads, each at most
 * conf.string_max bytes: BATON_OK or INVALID naming the field. */
static baton_err_t strings_fit(const baton_loop_t *l, const qinput_t *q,
                               char *err, size_t errlen) {
    const char *names[8], *vals[8];
    size_t n = 0;
    if (l->conf.string_max <= 0) return BATON_OK;
#define STR_FIELD(nm, v) (names[n] = (nm), vals[n++] = (v))
    if (q->src == BATON_SRC_COMMANDS) {
        STR_FIELD("workflow_type", q->cmd.workflow_type);
        STR_FIELD("name", q->cmd.name);
        STR_FIELD("reason", q->cmd.reason);
        STR_FIELD("request_id", q->cmd.request_id);
        STR_FIELD("source_trigger", q->cmd.source_trigger);
        STR_FIELD("source_topic", q->cmd.source_topic);
    } else {
        STR_FIELD("error", q->res.error);
        STR_FIELD("cause", q->res.cause);
        STR_FIELD("worker", q->res.worker);
    }
#undef STR_FIELD
    for (size_t i = 0; i < n; i++)
        if (vals[i] && (int64_t)strlen(vals[i]) > l->conf.string_max)
            return baton_seterr(err, errlen, BATON_ERR_TOOBIG,
                                "field '%s' of %zu bytes exceeds "
                                "batond.limits.string.max (%lld)",
                                names[i], strlen(vals[i]),
                                (long long)l->conf.string_max);
    return BATON_OK;
}

static int payload_too_big(const baton_loop_t *l, const char *s) {
    return s && l->conf.payload_max > 0 &&
           (int64_t)strlen(s) > l->conf.payload_max;
}

baton_err_t baton_loop_input(baton_loop_t *l, baton_src_t src, int32_t p,
                             int64_t offset, const void *value, size_t len,
                             int json) {
    part_t *pt;
    qinput_t *q;
    char err[512];
    baton_err_t rc;
    int32_t right;

    if (!baton_loop_owns(l, p) || src >= BATON_SRC_TOPICS)
        return BATON_OK; /* revoked meanwhile: the new owner applies it */
    pt = l->parts[p];
    l->stats.inputs++;
    if (offset < pt->next_offset[src]) {
        l->stats.skipped++;
        return BATON_OK; /* applied before a crash or rebalance */
    }
    pt->ws.next_offset[src] = offset + 1;
    baton_wset_begin(&pt->ws, src == BATON_SRC_COMMANDS ? 'c' : 'r', offset,
                     NULL);
    if (!(q = queue_new(l))) return BATON_ERR_NOMEM;
    q->src = src;
    q->p = p;
    q->offset = offset;
    q->raw = value;
    q->rawlen = len;
    q->json = json;
    if (l->conf.envelope_max > 0 && (int64_t)len > l->conf.envelope_max) {
        /* Refused before parsing: nothing of it is trusted, not even its
         * workflow id (the DLQ copy has no key). */
        snprintf(err, sizeof err,
                 "envelope of %zu bytes exceeds "
                 "batond.limits.envelope.max (%lld)",
                 len, (long long)l->conf.envelope_max);
        q->done = 1;
        return to_dlq(l, pt, src, offset, value, len, json, NULL, err);
    }
    if (src == BATON_SRC_COMMANDS) {
        rc = baton_codec_decode_command(l->codec, value, len, json, &q->cmd,
                                        err, sizeof err);
        q->wf_id = q->cmd.workflow_id;
        if (!rc && payload_too_big(l, q->cmd.payload))
            rc = baton_seterr(err, sizeof err, BATON_ERR_TOOBIG,
                              "payload of %zu bytes exceeds "
                              "batond.payload.max (%lld)",
                              strlen(q->cmd.payload),
                              (long long)l->conf.payload_max);
    } else {
        rc = baton_codec_decode_result(l->codec, value, len, json, &q->res, err,
                                       sizeof err);
        q->wf_id = q->res.workflow_id;
        if (!rc && payload_too_big(l, q->res.output))
            rc = baton_seterr(err, sizeof err, BATON_ERR_TOOBIG,
                              "output of %zu bytes exceeds "
                              "batond.payload.max (%lld)",
                              strlen(q->res.output),
                              (long long)l->conf.payload_max);
    }
    if (!rc) rc = strings_fit(l, q, err, sizeof err);
    if (rc == BATON_ERR_NOMEM) return rc;
    if (rc) {
        q->done = 1;
        return to_dlq(l, pt, src, offset, value, len, json, q->wf_id, err);
    }
    right = baton_partition_for(q->wf_id, l->conf.partition_cnt);
    if (right != p) {
        q->done = 1;
        return forward(l, pt, q, right, value, len, json, q->wf_id);
    }
    if (src == BATON_SRC_COMMANDS && l->in_tp &&
        (!(q->cmd.traceparent = baton_strdup(l->in_tp)) ||
         (l->in_ts && !(q->cmd.tracestate = baton_strdup(l->in_ts)))))
        return BATON_ERR_NOMEM;
    if (src == BATON_SRC_COMMANDS && (q->cmd.dedupe_id || q->cmd.request_id)) {
        const char *v = q->cmd.dedupe_id ? q->cmd.dedupe_id : q->cmd.request_id;
        size_t n = strlen(v) + 3;
        if (!(q->dd = baton_malloc(n))) return BATON_ERR_NOMEM;
        snprintf(q->dd, n, "%c:%s", q->cmd.dedupe_id ? 'd' : 'r', v);
    }
    return BATON_OK;
}

size_t baton_loop_due_timers(baton_loop_t *l, int64_t now_ms) {
    size_t n = 0;
    for (int32_t p = 0; p < l->conf.partition_cnt; p++) {
        part_t *pt = l->parts[p];
        while (pt && pt->timers.n && pt->timers.t[0].due <= now_ms) {
            timer_t_ t = theap_pop(&pt->timers);
            note_armed(l, -1);
            qinput_t *q = queue_new(l);
            char kind;
            int64_t seq;
            int32_t att;
            const char *wf;
            if (!q ||
                baton_timer_member_parse(t.member, &kind, &seq, &att, &wf)) {
                if (q) l->nq--;
                BATON_ERROR("loop", "partition %d: dropping bad timer '%s'", p,
                            t.member);
                baton_free(t.member);
                continue;
            }
            q->src = BATON_SRC_TIMERS;
            q->p = p;
            q->offset = -1;
            q->timer = t.member;
            q->wf_id = wf;
            n++;
        }
    }
    l->stats.timers_fired += (int64_t)n;
    return n;
}

int64_t baton_loop_next_timer(const baton_loop_t *l) {
    int64_t next = INT64_MAX;
    for (int32_t p = 0; p < l->conf.partition_cnt; p++)
        if (l->parts[p] && l->parts[p]->timers.n &&
            l->parts[p]->timers.t[0].due < next)
            next = l->parts[p]->timers.t[0].due;
    return next;
}

/* ---- loading ------------------------------------------------------------ */

size_t baton_loop_missing(baton_loop_t *l, const int32_t **parts,
                          const char *const **ids) {
    l->nmiss = 0;
    for (size_t i = 0; i < l->nq; i++) {
        qinput_t *q = &l->q[i];
        centry_t *e;
        if (q->done) continue;
        e = cache_find(&l->parts[q->p]->cache, q->wf_id);
        if (e) {
            l->stats.cache_hits++;
            continue;
        }
        /* Placeholder so the same id is requested once. */
        if (!(e = cache_add(&l->parts[q->p]->cache, q->wf_id))) continue;
        if (l->nmiss == l->capmiss) {
            size_t ncap = l->capmiss ? l->capmiss * 2 : 256;
            int32_t *np = baton_realloc(l->miss_p, ncap * sizeof(*np));
            const char **ni;
            if (!np) break;
            l->miss_p = np;
            if (!(ni = baton_realloc(l->miss_id, ncap * sizeof(*ni)))) break;
            l->miss_id = ni;
            l->capmiss = ncap;
        }
        l->miss_p[l->nmiss] = q->p;
        l->miss_id[l->nmiss++] = e->id;
        l->stats.cache_misses++;
    }
    *parts = l->miss_p;
    *ids = l->miss_id;
    return l->nmiss;
}

baton_err_t baton_loop_provide(baton_loop_t *l, int32_t p, const char *id,
                               const char *text, size_t len) {
    centry_t *e;
    char err[256];
    if (!baton_loop_owns(l, p) || !(e = cache_find(&l->parts[p]->cache, id)))
        return BATON_ERR_INVALID;
    if (!text) return BATON_OK;
    if (!(e->snap = baton_snapshot_decode(text, len, err, sizeof err))) {
        size_t n = strlen(err) + 64;
        BATON_ERROR("loop",
                    "partition %d: snapshot of '%s' is corrupt: %s; "
                    "the run is quarantined",
                    p, id, err);
        /* Not "no such run": nothing may overwrite it (loop.h). */
        if ((e->bad = baton_malloc(n)))
            snprintf(e->bad, n, "snapshot unreadable: %s", err);
        return e->bad ? BATON_ERR_INVALID : BATON_ERR_NOMEM;
    }
    return BATON_OK;
}

/* A START pinned to a definition version the registry lacks. */
static int pinned_start_missing(const baton_loop_t *l, const qinput_t *q) {
    return q->src == BATON_SRC_COMMANDS && q->cmd.kind == BATON_CMD_START &&
           q->cmd.workflow_type && q->cmd.definition_version &&
           !baton_engine_knows(l->engine, q->cmd.workflow_type,
                               q->cmd.definition_version);
}

int baton_loop_missing_def(baton_loop_t *l, const char **name,
                           const char **ver) {
    for (size_t i = 0; i < l->nq; i++) {
        centry_t *e;
        if (l->q[i].done) continue;
        e = cache_find(&l->parts[l->q[i].p]->cache, l->q[i].wf_id);
        if (e && e->snap && e->snap->status != BATON_WF_HELD &&
            !e->snap->quarantine && !baton_engine_defn(l->engine, e->snap)) {
            *name = e->snap->type;
            *ver = e->snap->ver;
            return 1;
        }
        if (pinned_start_missing(l, &l->q[i])) { /* a branch's child run */
            *name = l->q[i].cmd.workflow_type;
            *ver = l->q[i].cmd.definition_version;
            return 1;
        }
    }
    return 0;
}

void baton_loop_def_unavailable(baton_loop_t *l, const char *name,
                                const char *ver) {
    char why[512];
    snprintf(why, sizeof why, "definition %s version %s is not available", name,
             ver);
    for (size_t i = 0; i < l->nq; i++) {
        qinput_t *q = &l->q[i];
        centry_t *e;
        if (q->done) continue;
        e = cache_find(&l->parts[q->p]->cache, q->wf_id);
        if ((!e || !e->snap || strcmp(e->snap->type, name) ||
             strcmp(e->snap->ver, ver)) &&
            !(pinned_start_missing(l, q) &&
              !strcmp(q->cmd.workflow_type, name) &&
              !strcmp(q->cmd.definition_version, ver)))
            continue;
        q->done = 1;
        if (q->src != BATON_SRC_TIMERS) {
            baton_wset_begin(&l->parts[q->p]->ws,
                             q->src == BATON_SRC_COMMANDS ? 'c' : 'r',
                             q->offset, NULL);
            to_dlq(l, l->parts[q->p], q->src, q->offset, q->raw, q->rawlen,
                   q->json, q->wf_id, why);
        }
    }
}

/* ---- applying ------------------------------------------------------------ */

/* The batch-local identity of a command's dedupe key: "<p>|<len>:<id><dd>"
 * (baton_malloc'd). */
static char *dd_ident(const qinput_t *q) {
    size_t n = strlen(q->wf_id) + strlen(q->dd) + 40;
    char *k = baton_malloc(n);
    if (k)
        snprintf(k, n, "%d|%zu:%s%s", q->p, strlen(q->wf_id), q->wf_id, q->dd);
    return k;
}

static void note_failure(baton_loop_t *l, const qinput_t *q, const char *err);

/* A command with a dedupe key: a duplicate when the store remembers the
 * key or an earlier input of the batch applied it; else applied, and the
 * key remembered with the batch unless the command went to the DLQ. */
static baton_err_t apply_deduped(baton_loop_t *l, qinput_t *q, centry_t *e,
                                 int64_t now, char *errstr, size_t errlen) {
    part_t *pt = l->parts[q->p];
    char err[512] = "", *ident = dd_ident(q);
    int64_t window = q->cmd.dedupe_window_ms > 0    ? q->cmd.dedupe_window_ms
                     : l->conf.dedupe_window_ms > 0 ? l->conf.dedupe_window_ms
                                                    : 86400000;
    baton_err_t rc;

    if (!ident) return BATON_ERR_NOMEM;
    if (q->dup || cache_find(&l->applied_dd, ident)) {
        baton_free(ident);
        l->stats.duplicates++;
        BATON_DEBUG("loop", "duplicate %s for %s (%s) ignored",
                    baton_cmd_kind_name(q->cmd.kind), q->wf_id, q->dd);
        rc = baton_engine_duplicate(l->engine, e->snap, &q->cmd, now, &pt->ws);
        if (rc)
            return baton_seterr(errstr, errlen, rc,
                                "recording a duplicate command of '%s'",
                                q->wf_id);
        return BATON_OK;
    }
    rc = baton_engine_command(l->engine, &e->snap, &q->cmd, now, &pt->ws, err,
                              sizeof err);
    if (rc == BATON_ERR_INVALID) {
        baton_free(ident);
        return to_dlq(l, pt, q->src, q->offset, q->raw, q->rawlen, q->json,
                      q->wf_id, err);
    }
    if (!rc && !cache_add(&l->applied_dd, ident)) rc = BATON_ERR_NOMEM;
    baton_free(ident);
    if (!rc) rc = baton_wset_dedupe(&pt->ws, q->wf_id, q->dd, window);
    if (rc) {
        baton_seterr(errstr, errlen, rc,
                     "applying input of '%s' "
                     "(partition %d): %s",
                     q->wf_id, q->p,
                     rc == BATON_ERR_NOMEM ? "out of memory" : err);
        note_failure(l, q, errstr);
        return rc;
    }
    l->stats.applied++;
    return BATON_OK;
}

/* Why e's run is quarantined, or NULL. */
static const char *quarantined(const centry_t *e) {
    if (e->bad) return e->bad;
    return e->snap ? e->snap->quarantine : NULL;
}

/* An input of a quarantined run: a command or result goes to the DLQ with
 * the reason, a timer is deleted; nothing else changes. */
static baton_err_t refuse_quarantined(baton_loop_t *l, qinput_t *q,
                                      const char *why) {
    part_t *pt = l->parts[q->p];
    char reason[768];
    if (q->src == BATON_SRC_TIMERS) {
        baton_wset_begin(&pt->ws, 't', 0, q->timer);
        return baton_wset_timer_del(&pt->ws, q->timer);
    }
    baton_wset_begin(&pt->ws, q->src == BATON_SRC_COMMANDS ? 'c' : 'r',
                     q->offset, NULL);
    snprintf(reason, sizeof reason, "workflow '%s' is quarantined: %s",
             q->wf_id, why);
    return to_dlq(l, pt, q->src, q->offset, q->raw, q->rawlen, q->json,
                  q->wf_id, reason);
}

/* 1 when q is the input that failed last time. */
static int is_failed_input(const baton_loop_t *l, const qinput_t *q) {
    if (!l->fail.count || l->fail.p != q->p || l->fail.src != q->src) return 0;
    return q->src == BATON_SRC_TIMERS ? !strcmp(l->fail.timer, q->timer)
                                      : l->fail.offset == q->offset;
}

/* q's apply failed for a non-input reason (err): counted, so that the
 * batch retried after the abandon quarantines it once it failed
 * conf.apply_retries times in a row. */
static void note_failure(baton_loop_t *l, const qinput_t *q, const char *err) {
    if (!is_failed_input(l, q)) {
        baton_free(l->fail.timer);
        l->fail.timer = NULL;
        l->fail.count = 0;
        l->fail.p = q->p;
        l->fail.src = q->src;
        l->fail.offset = q->offset;
        if (q->timer && !(l->fail.timer = baton_strdup(q->timer))) return;
    }
    l->fail.count++;
    snprintf(l->fail.why, sizeof l->fail.why, "%s", err);
}

/* The input failed conf.apply_retries times: its run (when there is
 * one) is quarantined, written with the reason, and the input goes to the
 * DLQ; the partition goes on. */
static baton_err_t quarantine(baton_loop_t *l, qinput_t *q, centry_t *e) {
    part_t *pt = l->parts[q->p];
    char why[768];
    baton_err_t rc;
    snprintf(why, sizeof why, "applying an input failed %d times: %s",
             l->fail.count, l->fail.why);
    BATON_ERROR("loop", "partition %d: workflow '%s' quarantined: %s", q->p,
                q->wf_id, why);
    l->fail.count = 0;
    l->stats.quarantined++;
    if (e->snap && !e->snap->quarantine) {
        if (!(e->snap->quarantine = baton_strdup(why))) return BATON_ERR_NOMEM;
        if ((rc = baton_wset_snapshot(&pt->ws, e->snap))) return rc;
    }
    return refuse_quarantined(l, q, why);
}

static baton_err_t apply_one(baton_loop_t *l, qinput_t *q, int64_t now,
                             char *errstr, size_t errlen) {
    part_t *pt = l->parts[q->p];
    centry_t *e = cache_find(&pt->cache, q->wf_id);
    char err[512];
    const char *why;
    baton_err_t rc;

    err[0] = '\0'; /* not every engine error path fills it */
    if (!e)
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "partition %d: '%s' was not loaded", q->p,
                            q->wf_id);
    if ((why = quarantined(e))) {
        if ((rc = refuse_quarantined(l, q, why)))
            return baton_seterr(errstr, errlen, rc,
                                "refusing an input of "
                                "quarantined '%s'",
                                q->wf_id);
        return BATON_OK;
    }
    if (is_failed_input(l, q) && l->conf.apply_retries > 0 &&
        l->fail.count >= l->conf.apply_retries) {
        if ((rc = quarantine(l, q, e)))
            return baton_seterr(errstr, errlen, rc, "quarantining '%s'",
                                q->wf_id);
        return BATON_OK;
    }
    if (q->src == BATON_SRC_TIMERS) {
        baton_wset_begin(&pt->ws, 't', 0, q->timer);
        rc = baton_engine_timer(l->engine, e->snap, q->timer, now, &pt->ws, err,
                                sizeof err);
    } else if (q->src == BATON_SRC_COMMANDS) {
        baton_wset_begin(&pt->ws, 'c', q->offset, NULL);
        if (q->dd) return apply_deduped(l, q, e, now, errstr, errlen);
        rc = baton_engine_command(l->engine, &e->snap, &q->cmd, now, &pt->ws,
                                  err, sizeof err);
    } else {
        baton_wset_begin(&pt->ws, 'r', q->offset, NULL);
        rc = baton_engine_result(l->engine, e->snap, &q->res, now, &pt->ws, err,
                                 sizeof err);
    }
    if (rc == BATON_ERR_INVALID && q->src != BATON_SRC_TIMERS)
        return to_dlq(l, pt, q->src, q->offset, q->raw, q->rawlen, q->json,
                      q->wf_id, err);
    if (rc) {
        baton_seterr(errstr, errlen, rc,
                     "applying input of '%s' (partition "
                     "%d): %s",
                     q->wf_id, q->p, err[0] ? err : baton_err2str(rc));
        note_failure(l, q, errstr);
        return rc;
    }
    l->stats.applied++;
    return BATON_OK;
}

baton_err_t baton_loop_apply(baton_loop_t *l, int64_t now_ms, char *errstr,
                             size_t errlen) {
    l->stats.batches++;
    for (size_t i = 0; i < l->nq; i++) {
        baton_err_t rc;
        if (l->q[i].done) continue;
        if ((rc = apply_one(l, &l->q[i], now_ms, errstr, errlen))) return rc;
    }
    return BATON_OK;
}

baton_wset_t *const *baton_loop_wsets(baton_loop_t *l, size_t *n) {
    l->nwsets = 0;
    for (int32_t p = 0; p < l->conf.partition_cnt; p++)
        if (l->parts[p]) l->wsets[l->nwsets++] = &l->parts[p]->ws;
    *n = l->nwsets;
    return l->wsets;
}

baton_err_t baton_loop_outbox_done(baton_loop_t *l, int32_t p, const char *id) {
    if (!baton_loop_owns(l, p)) return BATON_OK;
    return baton_wset_outbox_done(&l->parts[p]->ws, id);
}

/* After a commit: closed runs and "no such run" entries leave the cache;
 * past cache_max, everything goes (a simple, honest bound). */
static int drop_after_commit(const centry_t *e, void *opaque) {
    (void)opaque;
    return !e->snap || e->snap->status != BATON_WF_RUNNING;
}

/* The DLQ stub of refused entry m into r (r->id = m's id): at most
 * dlq_copy_max bytes of the value, the reason naming the entry. */
static baton_err_t refused_stub(const baton_loop_t *l,
                                const baton_outbox_msg_t *m, const char *why,
                                baton_outbox_msg_t *r) {
    size_t keep =
        l->conf.dlq_copy_max > 0 && m->value_len > (size_t)l->conf.dlq_copy_max
            ? (size_t)l->conf.dlq_copy_max
            : m->value_len;
    char reason[1024];
    snprintf(reason, sizeof reason,
             "outbox entry %s to %s refused by the producer for good: %s "
             "(value cut to its first %zu of %zu bytes)%s%s",
             m->id, m->topic, why, keep, m->value_len,
             m->error ? "; its own reason: " : "", m->error ? m->error : "");
    r->topic = baton_strdup(l->topic_dlq);
    r->key = m->key ? baton_strdup(m->key) : NULL;
    r->error = baton_strdup(reason);
    r->json = m->json;
    r->partition = -1;
    r->value = baton_malloc(keep + 1);
    r->value_len = keep;
    if (!r->topic || (m->key && !r->key) || !r->error || !r->value)
        return BATON_ERR_NOMEM;
    memcpy(r->value, m->value, keep);
    r->value[keep] = '\0';
    BATON_WARN("loop", "to DLQ: %s", reason);
    return BATON_OK;
}

baton_err_t baton_loop_outbox_refused(baton_loop_t *l, int32_t p,
                                      const baton_outbox_msg_t *m,
                                      const char *why) {
    part_t *pt;
    baton_outbox_msg_t *r;
    assert(m && m->id && m->topic && why);
    if (!baton_loop_owns(l, p)) return BATON_OK; /* the new owner re-sends */
    pt = l->parts[p];
    if (pt->nrefused == pt->caprefused) {
        size_t ncap = pt->caprefused ? pt->caprefused * 2 : 8;
        baton_outbox_msg_t *nr = baton_realloc(pt->refused, ncap * sizeof *nr);
        if (!nr) return BATON_ERR_NOMEM;
        pt->refused = nr;
        pt->caprefused = ncap;
    }
    r = &pt->refused[pt->nrefused];
    memset(r, 0, sizeof *r);
    if (!(r->id = baton_strdup(m->id))) return BATON_ERR_NOMEM;
    if (!strcmp(m->topic, l->topic_dlq)) {
        /* a DLQ copy refused: deleted, never copied again */
        BATON_ERROR("loop",
                    "outbox entry %s to %s refused by the producer "
                    "for good: %s; deleted (%zu bytes lost; its "
                    "reason: %s)",
                    m->id, m->topic, why, m->value_len,
                    m->error ? m->error : "");
    } else if (refused_stub(l, m, why, r)) {
        baton_outbox_msg_clear(r);
        return BATON_ERR_NOMEM;
    }
    pt->nrefused++;
    return BATON_OK;
}

/* Moves the refused entries of every owned partition into its write set:
 * the entry deleted, its stub (if any) in the outbox under id "x<id>".
 * A write that fails loses them: the entries stay in the stored outbox,
 * are re-sent by the next owner and refused again. */
static baton_err_t refused_to_wsets(baton_loop_t *l) {
    for (int32_t p = 0; p < l->conf.partition_cnt; p++) {
        part_t *pt = l->parts[p];
        if (!pt) continue;
        for (size_t i = 0; i < pt->nrefused; i++) {
            baton_outbox_msg_t *r = &pt->refused[i];
            baton_err_t rc = baton_wset_outbox_done(&pt->ws, r->id);
            if (!rc && r->topic) {
                char id[300];
                snprintf(id, sizeof id, "x%s", r->id);
                rc = baton_wset_msg_as(&pt->ws, id, r->topic, -1, r->key,
                                       r->json, r->value, r->value_len);
                r->value = NULL; /* stolen */
                if (!rc) {
                    pt->ws.out[pt->ws.nout - 1].error = r->error;
                    r->error = NULL;
                    l->stats.dlq++;
                }
            }
            if (rc) { /* out of memory: the batch is abandoned anyway */
                for (size_t j = i; j < pt->nrefused; j++)
                    baton_outbox_msg_clear(&pt->refused[j]);
                pt->nrefused = 0;
                return rc;
            }
            baton_outbox_msg_clear(r);
        }
        pt->nrefused = 0;
    }
    return BATON_OK;
}

void baton_loop_batch_done(baton_loop_t *l, int committed) {
    size_t cached = 0;
    for (int32_t p = 0; p < l->conf.partition_cnt; p++) {
        part_t *pt = l->parts[p];
        if (!pt) continue;
        if (committed) {
            for (int i = 0; i < BATON_SRC_TOPICS; i++)
                if (pt->ws.next_offset[i] >= 0)
                    pt->next_offset[i] = pt->ws.next_offset[i];
            /* Timers beyond the horizon stay in Redis only: the next
             * slice read (batond) brings them in. */
            for (size_t i = 0; i < pt->ws.ntadd; i++)
                if (pt->ws.tadd[i].due_ms <= pt->timers_upto &&
                    !theap_push(&pt->timers, pt->ws.tadd[i].member,
                                pt->ws.tadd[i].due_ms))
                    note_armed(l, 1);
            cache_sweep(&pt->cache, drop_after_commit, NULL);
        } else {
            cache_sweep(&pt->cache, drop_all, NULL);
        }
        /* Acknowledged outbox ids not yet written stay for the next try. */
        {
            char **dels = pt->ws.out_del;
            size_t ndel = pt->ws.nout_del;
            pt->ws.out_del = NULL;
            pt->ws.nout_del = pt->ws.capout_del = 0;
            baton_wset_reset(&pt->ws);
            for (size_t i = 0; i < ndel; i++) {
                if (!committed) baton_wset_outbox_done(&pt->ws, dels[i]);
                baton_free(dels[i]);
            }
            baton_free(dels);
        }
        cached += pt->cache.cnt;
    }
    if (l->conf.cache_max > 0 && (int64_t)cached > l->conf.cache_max)
        for (int32_t p = 0; p < l->conf.partition_cnt; p++)
            if (l->parts[p]) cache_sweep(&l->parts[p]->cache, drop_all, NULL);
    baton_loop_batch_begin(l);
}

/* ---- the batch sequence over a port ----------------------------------- */

/* How long a poll may wait: until the next armed timer, at most
 * BATON_LOOP_POLL_MAX_MS. */
static int poll_timeout(const baton_loop_t *l, int64_t now) {
    int64_t next = baton_loop_next_timer(l);
    if (next == INT64_MAX || next - now >= BATON_LOOP_POLL_MAX_MS)
        return BATON_LOOP_POLL_MAX_MS;
    return next <= now ? 0 : (int)(next - now);
}

/* Loads the snapshots the cache lacks through the port. */
static baton_err_t load_snapshots(baton_loop_t *l,
                                  const baton_loop_port_t *port, char *errstr,
                                  size_t errlen) {
    const int32_t *parts;
    const char *const *ids;
    size_t n = baton_loop_missing(l, &parts, &ids);
    char **texts;
    size_t *lens;
    baton_err_t rc;
    if (!n) return BATON_OK;
    texts = baton_calloc(n, sizeof(char *));
    lens = baton_calloc(n, sizeof(size_t));
    if (!texts || !lens)
        rc = baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    else
        rc = port->load_snapshots(port->ctx, n, parts, ids, texts, lens, errstr,
                                  errlen);
    for (size_t i = 0; !rc && i < n; i++)
        baton_loop_provide(l, parts[i], ids[i], texts[i], lens[i]);
    for (size_t i = 0; texts && i < n; i++) baton_free(texts[i]);
    baton_free(texts);
    baton_free(lens);
    return rc;
}

/* The claim check: resolves the references in the batch's results
 * (port.resolve).  A completed result whose references cannot be resolved
 * becomes the failure Baton.BlobInvalid, retryable (the next attempt
 * stores its blobs again); heartbeat details that cannot be are dropped. */
static baton_err_t resolve_results(baton_loop_t *l,
                                   const baton_loop_port_t *port, char *errstr,
                                   size_t errlen) {
    if (!port->resolve) return BATON_OK;
    for (size_t i = 0; i < l->nq; i++) {
        qinput_t *q = &l->q[i];
        char *out = NULL, err[512];
        baton_err_t rc;
        if (q->done || q->src != BATON_SRC_RESULTS || !q->res.output ||
            !baton_blob_text_marked(q->res.output, strlen(q->res.output)))
            continue;
        rc = port->resolve(port->ctx, q->p, q->res.output, &out, err,
                           sizeof err);
        if (rc == BATON_ERR_REDIS || rc == BATON_ERR_NOMEM)
            return baton_seterr(errstr, errlen, rc, "result %s: %s",
                                q->res.task_id, err);
        if (!rc) {
            if (out) {
                baton_free(q->res.output);
                q->res.output = out;
            }
            continue;
        }
        BATON_WARN("loop", "result %s: %s: taken as a failure", q->res.task_id,
                   err);
        if (q->res.kind != BATON_RESULT_COMPLETED) {
            baton_free(q->res.output); /* heartbeat details: dropped */
            q->res.output = NULL;
            continue;
        }
        baton_free(q->res.output);
        baton_free(q->res.error);
        baton_free(q->res.cause);
        q->res.output = NULL;
        q->res.kind = BATON_RESULT_FAILED;
        q->res.error = baton_strdup("Baton.BlobInvalid");
        q->res.cause = baton_strdup(err);
        if (!q->res.error || !q->res.cause)
            return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                                "out of memory");
    }
    return BATON_OK;
}

/* Asks the port which of the batch's commands with a dedupe key were
 * applied already (q->dup). */
static baton_err_t dedupe_lookup(baton_loop_t *l, const baton_loop_port_t *port,
                                 char *errstr, size_t errlen) {
    size_t n = 0, k = 0;
    int32_t *parts;
    const char **ids, **dds;
    qinput_t **qs;
    int *seen;
    baton_err_t rc = BATON_OK;
    if (!port->dedupe_seen) return BATON_OK;
    for (size_t i = 0; i < l->nq; i++) n += !l->q[i].done && l->q[i].dd;
    if (!n) return BATON_OK;
    parts = baton_calloc(n, sizeof *parts);
    ids = baton_calloc(n, sizeof *ids);
    dds = baton_calloc(n, sizeof *dds);
    qs = baton_calloc(n, sizeof *qs);
    seen = baton_calloc(n, sizeof *seen);
    if (!parts || !ids || !dds || !qs || !seen)
        rc = baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < l->nq; i++)
        if (!l->q[i].done && l->q[i].dd) {
            parts[k] = l->q[i].p;
            ids[k] = l->q[i].wf_id;
            dds[k] = l->q[i].dd;
            qs[k++] = &l->q[i];
        }
    if (!rc)
        rc = port->dedupe_seen(port->ctx, n, parts, ids, dds, seen, errstr,
                               errlen);
    for (size_t i = 0; !rc && i < n; i++) qs[i]->dup = seen[i];
    baton_free(parts);
    baton_free(ids);
    baton_free(dds);
    baton_free(qs);
    baton_free(seen);
    return rc;
}

/* Loads the definition versions cached runs need; those the port cannot
 * find send their inputs to the DLQ. */
static void load_defs(baton_loop_t *l, const baton_loop_port_t *port) {
    const char *name, *ver;
    while (baton_loop_missing_def(l, &name, &ver)) {
        char err[512] = "";
        baton_err_t rc = port->load_def(port->ctx, name, ver, err, sizeof err);
        if (baton_engine_knows(l->engine, name, ver)) {
            BATON_INFO("loop",
                       "loaded definition %s version %s from the "
                       "store",
                       name, ver);
            continue;
        }
        if (!rc) /* the port said yes but did not add it: no endless loop */
            snprintf(err, sizeof err,
                     "definition %s version %s: loaded, "
                     "yet not in the registry",
                     name, ver);
        BATON_ERROR("loop", "%s", err);
        baton_loop_def_unavailable(l, name, ver);
    }
}

/* Produces the outbox of the written sets and drops the fenced partitions
 * (their batch was not written and must not be produced; the group's
 * rebalance follows). */
static void after_write(baton_loop_t *l, const baton_loop_port_t *port,
                        baton_wset_t *const *ws, size_t n) {
    int32_t gone[1024];
    size_t ngone = 0;
    for (size_t i = 0; i < n; i++) {
        if (l->fenced[i]) {
            if (ngone < BATON_ARRAY_SIZE(gone))
                gone[ngone++] = ws[i]->partition;
            continue;
        }
        for (size_t j = 0; j < ws[i]->nout && port->produce; j++)
            port->produce(port->ctx, ws[i]->partition, &ws[i]->out[j]);
    }
    for (size_t i = 0; i < ngone; i++) {
        BATON_ERROR("loop",
                    "partition %d belongs to another instance now: "
                    "dropped without writing",
                    gone[i]);
        baton_loop_partition_drop(l, gone[i]);
    }
}

/* baton_loop_input of a polled message, its trace headers at hand for the
 * command it carries (and for a forward of it). */
static baton_err_t input_msg(baton_loop_t *l, const baton_loop_msg_t *m) {
    baton_err_t rc;
    l->in_tp = m->traceparent;
    l->in_ts = m->tracestate;
    rc = baton_loop_input(l, m->src, m->partition, m->offset, m->value, m->len,
                          m->json);
    l->in_tp = l->in_ts = NULL;
    return rc;
}

/* Writes the write sets; BATON_OK or BATON_ERR_FENCED mean written (but in
 * the fenced partitions). */
static baton_err_t write_sets(baton_loop_t *l, const baton_loop_port_t *port,
                              baton_wset_t *const **ws, size_t *n, char *errstr,
                              size_t errlen) {
    baton_err_t rc = refused_to_wsets(l);
    if (rc) {
        *ws = NULL;
        *n = 0;
        return baton_seterr(errstr, errlen, rc, "out of memory");
    }
    *ws = baton_loop_wsets(l, n);
    memset(l->fenced, 0, (size_t)l->conf.partition_cnt * sizeof(int));
    return port->write(port->ctx, *ws, *n, l->fenced, errstr, errlen);
}

baton_err_t baton_loop_run_batch(baton_loop_t *l, const baton_loop_port_t *port,
                                 char *errstr, size_t errlen) {
    const baton_loop_msg_t *msgs = NULL;
    baton_wset_t *const *ws;
    size_t nmsgs = 0, ntimers, nws;
    baton_err_t rc = BATON_OK;
    int64_t now;

    if (port->prepare) rc = port->prepare(port->ctx, errstr, errlen);
    if (!rc) {
        nmsgs = port->poll(port->ctx, poll_timeout(l, port->now_ms(port->ctx)),
                           &msgs);
        now = port->now_ms(port->ctx);
        for (size_t i = 0; i < nmsgs && !rc; i++)
            if ((rc = input_msg(l, &msgs[i])))
                baton_seterr(errstr, errlen, rc, "queueing input %s[%d]@%lld",
                             l->topics[msgs[i].src], msgs[i].partition,
                             (long long)msgs[i].offset);
        ntimers = baton_loop_due_timers(l, now);
        if (!rc && (l->nq || ntimers)) {
            rc = load_snapshots(l, port, errstr, errlen);
            if (!rc) rc = resolve_results(l, port, errstr, errlen);
            if (!rc) rc = dedupe_lookup(l, port, errstr, errlen);
            if (!rc) load_defs(l, port);
        }
        if (!rc) rc = baton_loop_apply(l, now, errstr, errlen);
        if (!rc) rc = write_sets(l, port, &ws, &nws, errstr, errlen);
    }
    if (rc && rc != BATON_ERR_FENCED) {
        BATON_ERROR("loop", "batch of %zu inputs not applied: %s", nmsgs,
                    errstr);
        baton_loop_batch_done(l, 0);
        port->release(port->ctx, 0);
        return rc;
    }
    after_write(l, port, ws, nws);
    baton_loop_batch_done(l, 1);
    port->release(port->ctx, 1);
    if (port->commit) port->commit(port->ctx);
    return BATON_OK;
}

baton_err_t baton_loop_flush(baton_loop_t *l, const baton_loop_port_t *port,
                             char *errstr, size_t errlen) {
    baton_wset_t *const *ws;
    size_t n;
    baton_err_t rc = write_sets(l, port, &ws, &n, errstr, errlen);
    if (!rc || rc == BATON_ERR_FENCED) after_write(l, port, ws, n);
    baton_loop_batch_done(l, 1);
    return rc;
}

const baton_loop_stats_t *baton_loop_stats(const baton_loop_t *l) {
    return &l->stats;
}

const baton_snapshot_t *baton_loop_cached(const baton_loop_t *l, int32_t p,
                                          const char *id) {
    centry_t *e;
    if (!baton_loop_owns(l, p) || !(e = cache_find(&l->parts[p]->cache, id)))
        return NULL;
    return e->snap;
}
