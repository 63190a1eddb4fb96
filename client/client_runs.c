/*
 * client_runs.c -- reading workflows from Redis: describe (status,
 * position, state, what the run waits for; its definition as a Mermaid
 * flowchart), result (waits for a closed run), history (the events, paged
 * by seq) and list (a SCAN of every snapshot, optionally filtered).
 * Snapshot fields: orchestrator/snapshot.h; keys: common/keys.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asl.h"
#include "baton_common.h"
#include "client_int.h"
#include "crypt.h"
#include "keys.h"

static const char *const client_statuses[] = {
    "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TERMINATED", "QUARANTINED"};

static baton_client_err_t client_oom(char *errstr, size_t errlen) {
    return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                       "out of memory");
}

/* ---- describe ----------------------------------------------------------- */

/* What the run waits for, from the p* fields: {"kind":"task","seq",
 * "attempt","queue","type"}, {"kind":"signal","name"}, {"kind":"retry",
 * "seq","attempt","due"}, {"kind":"wait","due","next"} (next: the state
 * after the Wait, "" when it ends the run; absent in snapshots written
 * before batond kept it apart, whose position then names that next
 * state), or null.  New reference. */
static json_t *client_pending_json(const json_t *snap) {
    static const struct {
        const char *kind, *src, *dst;
    } map[] = {
        {"task", "pseq", "seq"},      {"task", "patt", "attempt"},
        {"task", "pq", "queue"},      {"task", "pat", "type"},
        {"signal", "psig", "name"},   {"retry", "pseq", "seq"},
        {"retry", "patt", "attempt"}, {"retry", "pdue", "due"},
        {"wait", "pdue", "due"},      {"wait", "pnt", "next"},
    };
    const char *pk = json_string_value(json_object_get(snap, "pk"));
    json_t *p;
    if (!pk) return json_null();
    if (!(p = json_pack("{ss}", "kind", pk))) return NULL;
    for (size_t i = 0; i < BATON_ARRAY_SIZE(map); i++) {
        json_t *v;
        if (strcmp(map[i].kind, pk)) continue;
        if ((v = json_object_get(snap, map[i].src)) &&
            json_object_set(p, map[i].dst, v)) {
            json_decref(p);
            return NULL;
        }
    }
    return p;
}

/* What the run waits for in a few words, for list and describe: "timer"
 * (a Wait state), "signal <name>", "task <queue>", "retry timer", "child",
 * "fanout"; NULL when it waits for nothing.  baton_malloc'd. */
static char *client_waiting_text(const json_t *snap) {
    const char *pk = baton_client_snap_str(snap, "pk", NULL);
    char buf[512];
    if (!pk) return NULL;
    if (!strcmp(pk, "wait"))
        snprintf(buf, sizeof buf, "timer");
    else if (!strcmp(pk, "retry"))
        snprintf(buf, sizeof buf, "retry timer");
    else if (!strcmp(pk, "signal"))
        snprintf(buf, sizeof buf, "signal %s",
                 baton_client_snap_str(snap, "psig", "?"));
    else if (!strcmp(pk, "task"))
        snprintf(buf, sizeof buf, "task %s",
                 baton_client_snap_str(snap, "pq", "?"));
    else
        snprintf(buf, sizeof buf, "%s", pk);
    return baton_strdup(buf);
}

/* Sets obj["waiting"] to client_waiting_text (null when nothing); 0 ok. */
static int client_set_waiting(json_t *obj, const json_t *snap) {
    char *w = client_waiting_text(snap);
    int rc =
        json_object_set_new(obj, "waiting", w ? json_string(w) : json_null());
    baton_free(w);
    return rc;
}

/* Sets obj[dst] = snap[src] (null when absent); 0 ok, -1 out of memory. */
static int client_copy_field(json_t *obj, const char *dst, const json_t *snap,
                             const char *src) {
    json_t *v = src ? json_object_get(snap, src) : NULL;
    return json_object_set(obj, dst, v ? v : json_null());
}

/* The describe answer built from a snapshot (new reference, NULL when out
 * of memory).  "state" is the output once the run succeeded, else the
 * current state's input. */
static json_t *client_describe_json(const json_t *snap, int32_t partition) {
    static const char *const fields[][2] = {
        {"id", "id"},      {"type", "type"},    {"version", "ver"},
        {"status", "st"},  {"position", "pos"}, {"state", NULL},
        {"pending", NULL}, {"error", "err"},    {"cause", "cause"},
        {"started", "t0"}, {"closed", "t1"},    {"quarantine", "q"},
        {"budget", "bud"}, {"usage", "use"},
    };
    json_t *o = json_object(), *state = json_object_get(snap, "out"), *pend;
    int bad = !o;

    if (!state) state = json_object_get(snap, "si"); /* out: SUCCEEDED */
    for (size_t i = 0; !bad && i < BATON_ARRAY_SIZE(fields); i++)
        bad = client_copy_field(o, fields[i][0], snap, fields[i][1]);
    if (!bad)
        bad = json_object_set_new(o, "status",
                                  json_string(baton_client_snap_status(snap)));
    if (!bad && state) bad = json_object_set(o, "state", state);
    if (!bad)
        bad = !(pend = client_pending_json(snap)) ||
              json_object_set_new(o, "pending", pend);
    if (!bad) bad = client_set_waiting(o, snap);
    if (!bad)
        bad = json_object_set_new(o, "partition", json_integer(partition));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

baton_client_err_t baton_client_describe(baton_client_t *c, const char *id,
                                         json_t **out, char *errstr,
                                         size_t errlen) {
    json_t *snap;
    baton_client_err_t rc =
        baton_client_snapshot(c, id, 1, &snap, errstr, errlen);
    *out = NULL;
    if (rc) return rc;
    *out = client_describe_json(snap, c->wf_partition);
    json_decref(snap);
    return *out ? BATON_CLIENT_OK : client_oom(errstr, errlen);
}

baton_client_err_t baton_client_describe_graph(baton_client_t *c, json_t *d,
                                               char *errstr, size_t errlen) {
    const char *type = json_string_value(json_object_get(d, "type"));
    const char *ver = json_string_value(json_object_get(d, "version"));
    const char *pos = json_string_value(json_object_get(d, "position"));
    char err[1024], *mermaid = NULL;
    baton_asl_def_t *def = NULL;
    redisReply *r;
    baton_client_err_t rc = BATON_CLIENT_OK;
    if (!type || !ver)
        return client_fail(errstr, errlen, BATON_CLIENT_E_NOT_FOUND,
                           "the snapshot names no definition (type, ver)");
    if (!(r = baton_client_redis_cmd(c, errstr, errlen,
                                     "reading the definition",
                                     "GET baton:defs:%s:%s", type, ver)))
        return BATON_CLIENT_E_UNAVAILABLE;
    if (r->type != REDIS_REPLY_STRING)
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_NOT_FOUND,
                         "definition %s version %s is not in Redis "
                         "(baton:defs:%s:%s)",
                         type, ver, type, ver);
    else if (baton_asl_def_parse(type, r->str, &def, err, sizeof err))
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                         "definition %s version %s: %s", type, ver, err);
    else if (baton_asl_graph_mermaid(def, pos, &mermaid) ||
             json_object_set_new(d, "graph", json_string(mermaid)))
        rc = client_oom(errstr, errlen);
    freeReplyObject(r);
    baton_free(mermaid);
    baton_asl_def_destroy(def);
    return rc;
}

/* ---- result ------------------------------------------------------------- */

/* Whether poll number n may scan all partitions: always when Kafka gave no
 * partition count, else once a second (the first poll always may). */
static int client_result_may_scan(baton_client_t *c, long n) {
    return n == 0 || (c->partition_cnt <= 0 ? n % 10 == 0 : n % 100 == 0);
}

/* 1 while a snapshot is open: RUNNING, or HELD (only signals waiting for
 * a run to start, which batond holds: no result yet either). */
static int client_snap_open(const json_t *snap) {
    const char *st = baton_client_snap_status(snap);
    return !strcmp(st, "RUNNING") || !strcmp(st, "HELD");
}

/* {"id","status","output","error","cause","position"} of a snapshot. */
static json_t *client_result_json(const char *id, const json_t *snap) {
    json_t *o = json_pack("{ss ss}", "id", id, "status",
                          baton_client_snap_status(snap));
    int bad = !o;
    bad = bad || client_copy_field(o, "output", snap, "out");
    bad = bad || client_copy_field(o, "error", snap, "err");
    bad = bad || client_copy_field(o, "cause", snap, "cause");
    bad = bad || client_copy_field(o, "position", snap, "pos");
    if (bad) json_decref(o);
    return bad ? NULL : o;
}

baton_client_err_t baton_client_result(baton_client_t *c, const char *id,
                                       double wait_s, json_t **out,
                                       char *errstr, size_t errlen) {
    int64_t deadline = baton_mono_us() + (int64_t)(wait_s * 1e6);
    json_t *snap = NULL;
    baton_client_err_t rc;

    *out = NULL;
    for (long n = 0;; n++) {
        rc = baton_client_snapshot(c, id, client_result_may_scan(c, n), &snap,
                                   errstr, errlen);
        if (rc && rc != BATON_CLIENT_E_NOT_FOUND) return rc;
        if (!rc && !client_snap_open(snap)) break;
        if (baton_mono_us() >= deadline) {
            if (rc)
                return client_fail(errstr, errlen, BATON_CLIENT_E_NOT_FOUND,
                                   "timed out after %g s, workflow '%s' not "
                                   "found",
                                   wait_s, id);
            break; /* still open: answered so */
        }
        json_decref(snap);
        snap = NULL;
        usleep(CLIENT_POLL_US);
    }
    *out = client_result_json(id, snap);
    json_decref(snap);
    return *out ? BATON_CLIENT_OK : client_oom(errstr, errlen);
}

/* ---- history ------------------------------------------------------------ */

/* Appends to events the events of the LRANGE reply r with seq >= from, at
 * most limit (< 0: all); *next = the seq of the first one left out, else 0.
 * An element that is not JSON is logged and skipped.  0 or -1 (OOM). */
static int client_history_page(const redisReply *r, const char *key,
                               int64_t from, int64_t limit, json_t *events,
                               int64_t *next) {
    *next = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        json_error_t jerr;
        json_t *ev = e->type == REDIS_REPLY_STRING
                         ? json_loadb(e->str, e->len, 0, &jerr)
                         : NULL;
        json_int_t seq;
        if (!ev) {
            BATON_WARN("client", "%s[%zu] is not a JSON event, skipped", key,
                       i);
            continue;
        }
        seq = json_integer_value(json_object_get(ev, "seq"));
        if (seq < from) {
            json_decref(ev);
            continue;
        }
        if (limit >= 0 && (int64_t)json_array_size(events) >= limit) {
            *next = seq;
            json_decref(ev);
            break;
        }
        if (json_array_append_new(events, ev)) return -1;
    }
    return 0;
}

baton_client_err_t baton_client_history(baton_client_t *c, const char *id,
                                        int64_t from, int64_t limit,
                                        json_t **events, int64_t *next,
                                        char *errstr, size_t errlen) {
    char key[BATON_CLIENT_ID_MAX + 64];
    redisReply *r;
    int found = client_locate(c, id, 1, errstr, errlen);

    *events = NULL;
    *next = 0;
    if (found < 0) return BATON_CLIENT_E_UNAVAILABLE;
    if (!found)
        return client_fail(errstr, errlen, BATON_CLIENT_E_NOT_FOUND,
                           "workflow '%s' not found", id);
    baton_keys_hist(key, sizeof key, baton_conf_key_prefix(c->conf),
                    c->wf_partition, id);
    if (!(r = baton_client_redis_cmd(c, errstr, errlen, "reading the history",
                                     "LRANGE %s 0 -1", key)))
        return BATON_CLIENT_E_UNAVAILABLE;
    if (!(*events = json_array()) ||
        (r->type == REDIS_REPLY_ARRAY &&
         client_history_page(r, key, from, limit, *events, next))) {
        json_decref(*events);
        *events = NULL;
    }
    freeReplyObject(r);
    if (!*events) return client_oom(errstr, errlen);
    {
        baton_client_err_t rc =
            client_open_events(c, id, *events, errstr, errlen);
        if (!rc)
            rc = client_resolve(c, c->wf_partition, events, errstr, errlen);
        if (rc) {
            json_decref(*events);
            *events = NULL;
        }
        return rc;
    }
}

/* ---- list --------------------------------------------------------------- */

int baton_client_status_parse(const char *s, char *buf, size_t len) {
    size_t i;
    for (i = 0; i < len - 1 && s[i]; i++)
        buf[i] = (char)toupper((unsigned char)s[i]);
    buf[i] = '\0';
    for (i = 0; i < BATON_ARRAY_SIZE(client_statuses); i++)
        if (!strcmp(buf, client_statuses[i])) return 1;
    return 0;
}

/* snap[key] or JSON null (borrowed either way). */
static json_t *client_field_or_null(const json_t *snap, const char *key) {
    json_t *v = json_object_get(snap, key);
    return v ? v : json_null();
}

/* 1 when element i of a SCAN page is a snapshot key (those are GET). */
static int client_page_key(const baton_client_t *c, const redisReply *keys,
                           size_t i) {
    return keys->element[i]->type == REDIS_REPLY_STRING &&
           baton_keys_parse_wf(keys->element[i]->str,
                               baton_conf_key_prefix(c->conf), NULL, NULL);
}

/* Parses the reply to GET key: a snapshot object, or NULL when the key is
 * gone since SCAN or (shown QUARANTINED) does not hold a JSON object. */
static json_t *client_page_snapshot(baton_client_t *c, const redisReply *r,
                                    const char *key) {
    json_t *snap;
    json_error_t jerr;
    const char *id;
    char *plain = NULL, kid[BATON_CRYPT_KID_MAX + 1];
    if (r->type != REDIS_REPLY_STRING) return NULL;
    if (baton_crypt_is_sealed(r->str, r->len, kid) &&
        baton_keys_parse_wf(key, baton_conf_key_prefix(c->conf), NULL, &id)) {
        /* sealed whole: opened with the key, else a row that says so */
        char err[512];
        if (client_open_snapshot(c, id, r->str, r->len, &plain, err,
                                 sizeof err))
            return json_pack("{ss ss}", "id", id, "st", "ENCRYPTED");
    }
    snap = plain ? json_loads(plain, JSON_ALLOW_NUL, &jerr)
                 : json_loadb(r->str, r->len, JSON_ALLOW_NUL, &jerr);
    baton_free(plain);
    if (!json_is_object(snap)) { /* batond quarantines it: shown so */
        json_decref(snap);
        if (!baton_keys_parse_wf(key, baton_conf_key_prefix(c->conf), NULL,
                                 &id))
            return NULL;
        return client_snap_unreadable(id, jerr.text);
    }
    return snap;
}

/* The list row of a snapshot (new reference, NULL when out of memory). */
static json_t *client_list_row(const json_t *snap) {
    json_t *pend = client_pending_json(snap), *row;
    if (!pend) return NULL;
    row = json_pack("{ss ss ss sO so sO sO}", "id",
                    baton_client_snap_str(snap, "id", "?"), "type",
                    baton_client_snap_str(snap, "type", "?"), "status",
                    baton_client_snap_status(snap), "position",
                    client_field_or_null(snap, "pos"), "pending", pend,
                    "started", client_field_or_null(snap, "t0"), "closed",
                    client_field_or_null(snap, "t1"));
    if (row && client_set_waiting(row, snap)) {
        json_decref(row);
        row = NULL;
    }
    return row;
}

/* 1 when snap passes the filters (NULL: any). */
static int client_list_match(const json_t *snap, const char *status,
                             const char *type) {
    return (!status || !strcmp(baton_client_snap_status(snap), status)) &&
           (!type || !strcmp(baton_client_snap_str(snap, "type", ""), type));
}

/* 1 when a page's snapshot was stored as a whole as a claim-check
 * reference, or split into parts (a large snapshot, blob.h): resolved
 * after the page is read (the pipelined replies come first). */
static int client_page_resolvable(const json_t *snap) {
    return json_object_get(snap, "$baton_ref") != NULL ||
           json_object_get(snap, "$baton_parts") != NULL;
}

/* Replaces *snap (owned) by its resolved value when it is a reference
 * (its "$key" says the partition); left as it is when that fails. */
static void client_page_resolve(baton_client_t *c, json_t **snap) {
    const char *key = json_string_value(json_object_get(*snap, "$key"));
    json_t *v;
    int32_t p = -1;
    char err[256];
    if (!key ||
        !baton_keys_parse_wf(key, baton_conf_key_prefix(c->conf), &p, NULL))
        return;
    v = json_deep_copy(*snap);
    if (!v) return;
    json_object_del(v, "$key");
    if (client_resolve(c, p, &v, err, sizeof err) || !json_is_object(v)) {
        json_decref(v);
        return;
    }
    json_decref(*snap);
    *snap = v;
}

/* Appends the row of each snapshot named in keys (one SCAN page) that
 * passes the filters: the GETs are pipelined. */
static baton_client_err_t
client_list_page(baton_client_t *c, const redisReply *keys, const char *status,
                 const char *type, json_t *rows, char *errstr, size_t errlen) {
    baton_client_err_t rc = BATON_CLIENT_OK;
    for (size_t i = 0; i < keys->elements; i++)
        if (client_page_key(c, keys, i) &&
            redisAppendCommand(c->redis, "GET %s", keys->element[i]->str) !=
                REDIS_OK)
            return client_oom(errstr, errlen); /* NEVER: unusable after */
    json_t *snaps = json_array(); /* the page's snapshots, read first */
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *r;
        json_t *snap;
        if (!client_page_key(c, keys, i)) continue;
        if (!(r = client_redis_next(c, "reading snapshots", errstr, errlen))) {
            json_decref(snaps);
            return BATON_CLIENT_E_UNAVAILABLE; /* the connection is gone */
        }
        snap = client_page_snapshot(c, r, keys->element[i]->str);
        freeReplyObject(r);
        if (snap && client_page_resolvable(snap))
            json_object_set_new(snap, "$key",
                                json_string(keys->element[i]->str));
        if (snap && (!snaps || json_array_append_new(snaps, snap)))
            rc = client_oom(errstr, errlen); /* keep reading the replies */
    }
    for (size_t i = 0; rc == BATON_CLIENT_OK && i < json_array_size(snaps);
         i++) {
        json_t *snap = json_incref(json_array_get(snaps, i)), *row;
        client_page_resolve(c, &snap);
        if (client_list_match(snap, status, type) &&
            (!(row = client_list_row(snap)) ||
             json_array_append_new(rows, row)))
            rc = client_oom(errstr, errlen);
        json_decref(snap);
    }
    json_decref(snaps);
    return rc;
}

static int client_cmp_rows_by_id(const void *a, const void *b) {
    const json_t *const *x = a, *const *y = b;
    return strcmp(json_string_value(json_object_get(*x, "id")),
                  json_string_value(json_object_get(*y, "id")));
}

/* Sorts an array of objects by "id" in place.  0 ok, -1 out of memory. */
static int client_sort_rows(json_t *rows) {
    size_t n = json_array_size(rows);
    json_t **v = baton_calloc(n ? n : 1, sizeof(json_t *));
    int bad = !v;
    for (size_t i = 0; !bad && i < n; i++)
        v[i] = json_incref(json_array_get(rows, i));
    if (bad) return -1;
    qsort(v, n, sizeof *v, client_cmp_rows_by_id);
    json_array_clear(rows);
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(rows, v[i])) bad = -1;
    baton_free(v);
    return bad ? -1 : 0;
}

baton_client_err_t baton_client_list(baton_client_t *c, const char *status,
                                     const char *type, json_t **rows,
                                     char *errstr, size_t errlen) {
    char cursor[32] = "0", pattern[64];
    baton_client_err_t rc = BATON_CLIENT_OK;

    *rows = NULL;
    if (!client_redis(c, errstr, errlen)) return BATON_CLIENT_E_UNAVAILABLE;
    baton_keys_wf_pattern(pattern, sizeof pattern,
                          baton_conf_key_prefix(c->conf), NULL);
    if (!(*rows = json_array())) return client_oom(errstr, errlen);
    do {
        redisReply *r = baton_client_redis_cmd(
            c, errstr, errlen, "listing workflows",
            "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r)
            rc = BATON_CLIENT_E_UNAVAILABLE;
        else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                 r->element[0]->type != REDIS_REPLY_STRING)
            rc = client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                             "Redis, listing workflows: unexpected SCAN "
                             "reply");
        else {
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            rc = client_list_page(c, r->element[1], status, type, *rows, errstr,
                                  errlen);
        }
        if (r) freeReplyObject(r);
    } while (rc == BATON_CLIENT_OK && strcmp(cursor, "0"));
    if (rc == BATON_CLIENT_OK && client_sort_rows(*rows))
        rc = client_oom(errstr, errlen);
    if (rc) {
        json_decref(*rows);
        *rows = NULL;
    }
    return rc;
}
