/*
 * client_live.c -- the live model output of a run's streaming steps: the
 * Redis streams baton-worker-llm writes (keys and entries: common/keys.h;
 * activities/llm/llm_stream.c).  Two ways to read them:
 *
 *   baton_client_live_entries  the raw entries of one stream (a step's or
 *                              the run's index) after a stream id, with an
 *                              optional blocking wait (batonctl watch)
 *   baton_client_live          what is new in every step since a cursor,
 *                              folded per step (GET /v1/runs/{id}/live)
 *
 * The cursor of baton_client_live is opaque to its callers: the index's
 * last id read, then per step ",<seq>:<attempt>:<last id read>".
 *
 * Thread: as client.h (one thread per handle).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "client_int.h"
#include "keys.h"

#define CLIENT_LIVE_COUNT 1000 /* entries per stream and call */
#define CLIENT_LIVE_ID_MAX 48  /* "<ms>-<n>" */
#define CLIENT_LIVE_SEQ_MAX 24

/* One step as the cursor remembers it. */
typedef struct client_live_step {
    char seq[CLIENT_LIVE_SEQ_MAX];
    char last[CLIENT_LIVE_ID_MAX]; /* last entry id read */
    long attempt;                  /* 0: not seen yet */
} client_live_step_t;

typedef struct client_live_cur {
    char index[CLIENT_LIVE_ID_MAX];
    client_live_step_t *steps;
    size_t n, cap;
} client_live_cur_t;

/* ---- one stream's entries ----------------------------------------------- */

/* A JSON string of s[0..n) with any byte that is not valid UTF-8 made
 * '?' (a model's text is UTF-8; a stray byte must not lose the entry). */
static json_t *client_live_str(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    char *copy;
    if (j || !(copy = baton_malloc(n + 1))) return j;
    for (size_t i = 0; i < n; i++)
        copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    j = json_stringn(copy, n);
    baton_free(copy);
    return j;
}

/* An XREAD entry [id, [k, v, ...]] as {"id", k: v, ...}. */
static json_t *client_live_entry(const redisReply *e) {
    const redisReply *kv;
    json_t *o;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    kv = e->element[1];
    if (!(o = json_pack("{ss}", "id", e->element[0]->str))) return NULL;
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING)
            json_object_set_new(o, kv->element[i]->str,
                                client_live_str(kv->element[i + 1]->str,
                                                kv->element[i + 1]->len));
    return o;
}

/* The entries of an XREAD reply on one stream (nil: none) into entries. */
static baton_client_err_t client_live_reply(const redisReply *r,
                                            json_t *entries, char *errstr,
                                            size_t errlen) {
    const redisReply *list;
    if (r->type == REDIS_REPLY_NIL) return BATON_CLIENT_OK;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
        r->element[0]->type != REDIS_REPLY_ARRAY ||
        r->element[0]->elements != 2 ||
        r->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
        return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                           "XREAD answered an unexpected reply");
    list = r->element[0]->element[1];
    for (size_t i = 0; i < list->elements; i++) {
        json_t *e = client_live_entry(list->element[i]);
        if (!e || json_array_append_new(entries, e))
            return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                               "unexpected XREAD entry (or out of memory)");
    }
    return BATON_CLIENT_OK;
}

/* 1 when s is a stream id "<digits>-<digits>" or "<digits>". */
static int client_live_id_ok(const char *s) {
    size_t i = 0, n = strlen(s);
    if (!n || n >= CLIENT_LIVE_ID_MAX) return 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == 0) return 0;
    if (i == n) return 1;
    if (s[i++] != '-' || i == n) return 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    return i == n;
}

/* The key of step seq's stream of run id, or of its index (seq NULL). */
static const char *client_live_key(const baton_client_t *c, char *buf,
                                   size_t len, const char *id,
                                   const char *seq) {
    const char *ns = baton_conf_key_prefix(c->conf);
    return seq ? baton_keys_stream(buf, len, ns, id, seq)
               : baton_keys_stream_index(buf, len, ns, id);
}

baton_client_err_t baton_client_live_entries(baton_client_t *c, const char *id,
                                             const char *seq, const char *after,
                                             int block_ms, int count,
                                             json_t **entries, char *errstr,
                                             size_t errlen) {
    char key[BATON_KEYS_LEN];
    redisReply *r;
    baton_client_err_t rc;

    *entries = NULL;
    if ((rc = baton_client_check_id(id, errstr, errlen))) return rc;
    if (!client_live_id_ok(after))
        return client_fail(errstr, errlen, BATON_CLIENT_E_INVALID,
                           "'%.60s' is not a stream entry id", after);
    if (!client_live_key(c, key, sizeof key, id, seq))
        return client_fail(errstr, errlen, BATON_CLIENT_E_INVALID,
                           "stream key of '%s' too long", id);
    if (count <= 0) count = CLIENT_LIVE_COUNT;
    r = block_ms > 0
            ? baton_client_redis_cmd(c, errstr, errlen,
                                     "reading the live output",
                                     "XREAD COUNT %d BLOCK %d STREAMS %s %s",
                                     count, block_ms, key, after)
            : baton_client_redis_cmd(
                  c, errstr, errlen, "reading the live output",
                  "XREAD COUNT %d STREAMS %s %s", count, key, after);
    if (!r) return BATON_CLIENT_E_UNAVAILABLE;
    if (!(*entries = json_array())) {
        freeReplyObject(r);
        return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                           "out of memory");
    }
    rc = client_live_reply(r, *entries, errstr, errlen);
    freeReplyObject(r);
    if (rc) {
        json_decref(*entries);
        *entries = NULL;
    }
    return rc;
}

/* ---- the cursor --------------------------------------------------------- */

static void client_live_cur_free(client_live_cur_t *cur) {
    baton_free(cur->steps);
    cur->steps = NULL;
    cur->n = cur->cap = 0;
}

/* The step seq of cur, added (from "0-0") when absent; NULL when out of
 * memory. */
static client_live_step_t *client_live_cur_step(client_live_cur_t *cur,
                                                const char *seq) {
    client_live_step_t *s;
    for (size_t i = 0; i < cur->n; i++)
        if (!strcmp(cur->steps[i].seq, seq)) return &cur->steps[i];
    if (cur->n == cur->cap) {
        size_t cap = cur->cap ? cur->cap * 2 : 8;
        if (!(s = baton_realloc(cur->steps, cap * sizeof *s))) return NULL;
        cur->steps = s;
        cur->cap = cap;
    }
    s = &cur->steps[cur->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->seq, sizeof s->seq, "%s", seq);
    snprintf(s->last, sizeof s->last, "0-0");
    return s;
}

/* 1 when seq is 1..20 digits. */
static int client_live_seq_ok(const char *seq) {
    size_t n = strlen(seq);
    if (!n || n >= CLIENT_LIVE_SEQ_MAX) return 0;
    return strspn(seq, "0123456789") == n;
}

/* One ",<seq>:<attempt>:<last>" item (without its comma). */
static int client_live_cur_item(client_live_cur_t *cur, char *item) {
    char *a = strchr(item, ':'), *l = a ? strchr(a + 1, ':') : NULL, *end;
    client_live_step_t *s;
    long att;
    if (!l) return -1;
    *a++ = '\0';
    *l++ = '\0';
    att = strtol(a, &end, 10);
    if (!client_live_seq_ok(item) || !*a || *end || att < 0 ||
        !client_live_id_ok(l) || !(s = client_live_cur_step(cur, item)))
        return -1;
    s->attempt = att;
    snprintf(s->last, sizeof s->last, "%s", l);
    return 0;
}

/* Parses text (NULL or "": from the start) into cur. */
static baton_client_err_t client_live_cur_parse(client_live_cur_t *cur,
                                                const char *text, char *errstr,
                                                size_t errlen) {
    char *copy, *item, *save = NULL;
    int bad = 0;
    snprintf(cur->index, sizeof cur->index, "0-0");
    if (!text || !*text) return BATON_CLIENT_OK;
    if (!(copy = baton_strdup(text)))
        return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                           "out of memory");
    item = strtok_r(copy, ",", &save);
    if (!item || !client_live_id_ok(item))
        bad = 1;
    else
        snprintf(cur->index, sizeof cur->index, "%s", item);
    while (!bad && (item = strtok_r(NULL, ",", &save)))
        bad = client_live_cur_item(cur, item) != 0;
    baton_free(copy);
    if (bad)
        return client_fail(errstr, errlen, BATON_CLIENT_E_INVALID,
                           "'%.80s' is not a cursor this call returned", text);
    return BATON_CLIENT_OK;
}

/* cur as text (new reference). */
static json_t *client_live_cur_json(const client_live_cur_t *cur) {
    size_t cap = CLIENT_LIVE_ID_MAX +
                 cur->n * (CLIENT_LIVE_SEQ_MAX + CLIENT_LIVE_ID_MAX + 24);
    char *buf = baton_malloc(cap);
    size_t off;
    json_t *j;
    if (!buf) return NULL;
    off = (size_t)snprintf(buf, cap, "%s", cur->index);
    for (size_t i = 0; i < cur->n; i++)
        off += (size_t)snprintf(buf + off, cap - off, ",%s:%ld:%s",
                                cur->steps[i].seq, cur->steps[i].attempt,
                                cur->steps[i].last);
    j = json_string(buf);
    baton_free(buf);
    return j;
}

/* ---- folding a step's new entries --------------------------------------- */

/* Folds entries of step s into {"seq","attempt","text","done","error",
 * "restarted"} (new reference); s->last and s->attempt advance. */
static json_t *client_live_fold(client_live_step_t *s, const json_t *entries) {
    json_t *e, *text = json_string("");
    const char *err = NULL;
    int done = 0, restarted = !strcmp(s->last, "0-0");
    size_t i;
    json_array_foreach(entries, i, e) {
        const char *ev = json_string_value(json_object_get(e, "event"));
        const json_t *t = json_object_get(e, "text");
        snprintf(s->last, sizeof s->last, "%s",
                 json_string_value(json_object_get(e, "id")));
        if (ev && !strcmp(ev, "start")) { /* a new attempt: text anew */
            const char *a = json_string_value(json_object_get(e, "attempt"));
            s->attempt = a ? strtol(a, NULL, 10) : s->attempt;
            json_string_set(text, "");
            done = 0;
            err = NULL;
            restarted = 1;
        } else if (t) {
            json_t *joined =
                json_sprintf("%s%s", json_string_value(text),
                             json_string_value(t)); /* UTF-8 both */
            if (joined) {
                json_decref(text);
                text = joined;
            }
        } else if (ev && !strcmp(ev, "done"))
            done = 1;
        else if (ev && !strcmp(ev, "error"))
            err = json_string_value(json_object_get(e, "error"));
    }
    return json_pack("{ss sI so sb so sb}", "seq", s->seq, "attempt",
                     (json_int_t)s->attempt, "text", text, "done", done,
                     "error", err ? json_string(err) : json_null(), "restarted",
                     restarted);
}

/* Reads the index after cur->index: new steps join cur. */
static baton_client_err_t client_live_index(baton_client_t *c, const char *id,
                                            client_live_cur_t *cur,
                                            char *errstr, size_t errlen) {
    json_t *entries, *e;
    size_t i;
    baton_client_err_t rc = baton_client_live_entries(
        c, id, NULL, cur->index, 0, 0, &entries, errstr, errlen);
    if (rc) return rc;
    json_array_foreach(entries, i, e) {
        const char *seq = json_string_value(json_object_get(e, "seq"));
        snprintf(cur->index, sizeof cur->index, "%s",
                 json_string_value(json_object_get(e, "id")));
        if (seq && client_live_seq_ok(seq) && !client_live_cur_step(cur, seq)) {
            json_decref(entries);
            return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                               "out of memory");
        }
    }
    json_decref(entries);
    return BATON_CLIENT_OK;
}

/* Appends to steps what is new in each step of cur. */
static baton_client_err_t client_live_steps(baton_client_t *c, const char *id,
                                            client_live_cur_t *cur,
                                            json_t *steps, char *errstr,
                                            size_t errlen) {
    for (size_t i = 0; i < cur->n; i++) {
        json_t *entries, *folded;
        baton_client_err_t rc = baton_client_live_entries(
            c, id, cur->steps[i].seq, cur->steps[i].last, 0, 0, &entries,
            errstr, errlen);
        if (rc) return rc;
        folded = json_array_size(entries)
                     ? client_live_fold(&cur->steps[i], entries)
                     : NULL;
        json_decref(entries);
        if (folded && json_array_append_new(steps, folded))
            return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                               "out of memory");
    }
    return BATON_CLIENT_OK;
}

baton_client_err_t baton_client_live(baton_client_t *c, const char *id,
                                     const char *cursor, json_t **out,
                                     char *errstr, size_t errlen) {
    client_live_cur_t cur = {0};
    json_t *snap = NULL, *steps = NULL;
    baton_client_err_t rc;

    *out = NULL;
    if ((rc = baton_client_check_id(id, errstr, errlen)) ||
        (rc = client_live_cur_parse(&cur, cursor, errstr, errlen)) ||
        (rc = baton_client_snapshot(c, id, 1, &snap, errstr, errlen)))
        goto done;
    if (!(steps = json_array())) {
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                         "out of memory");
        goto done;
    }
    if ((rc = client_live_index(c, id, &cur, errstr, errlen)) ||
        (rc = client_live_steps(c, id, &cur, steps, errstr, errlen)))
        goto done;
    *out = json_pack("{ss sO so}", "id", id, "steps", steps, "cursor",
                     client_live_cur_json(&cur));
    if (!*out ||
        json_object_set_new(*out, "status",
                            json_string(baton_client_snap_status(snap))))
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                         "out of memory");
done:
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    json_decref(steps);
    json_decref(snap);
    client_live_cur_free(&cur);
    return rc;
}
