/*
 * cmd_inspect.c -- the commands that look at workflows in Redis: describe
 * (status, position, state, what it waits for; --graph its definition as a
 * Mermaid flowchart), result (waits for a closed run), history (the events)
 * and list (a SCAN of every snapshot, optionally by status).
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
#include "batonctl.h"
#include "keys.h"

static const char *const ctl_statuses[] = {
    "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TERMINATED", "QUARANTINED"};

/* ---- describe ----------------------------------------------------------- */

/* What the run waits for, from the p* fields: {"kind":"task","seq",
 * "attempt","queue","type"}, {"kind":"signal","name"}, {"kind":"retry",
 * "seq","attempt","due"}, {"kind":"wait","due"}, or null.  New reference. */
static json_t *ctl_pending_json(const json_t *snap) {
    static const struct {
        const char *kind, *src, *dst;
    } map[] = {
        {"task", "pseq", "seq"},      {"task", "patt", "attempt"},
        {"task", "pq", "queue"},      {"task", "pat", "type"},
        {"signal", "psig", "name"},   {"retry", "pseq", "seq"},
        {"retry", "patt", "attempt"}, {"retry", "pdue", "due"},
        {"wait", "pdue", "due"},
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

/* Sets obj[dst] = snap[src] (null when absent); 0 ok, -1 out of memory. */
static int ctl_copy_field(json_t *obj, const char *dst, const json_t *snap,
                          const char *src) {
    json_t *v = src ? json_object_get(snap, src) : NULL;
    return json_object_set(obj, dst, v ? v : json_null());
}

/* The describe answer built from a snapshot (new reference, NULL when out
 * of memory).  "state" is the output once the run succeeded, else the
 * current state's input. */
static json_t *ctl_describe_json(const json_t *snap, int32_t partition) {
    static const char *const fields[][2] = {
        {"id", "id"},      {"type", "type"},    {"version", "ver"},
        {"status", "st"},  {"position", "pos"}, {"state", NULL},
        {"pending", NULL}, {"error", "err"},    {"cause", "cause"},
        {"started", "t0"}, {"closed", "t1"},    {"quarantine", "q"},
    };
    json_t *o = json_object(), *state = json_object_get(snap, "out"), *pend;
    int bad = !o;

    if (!state) state = json_object_get(snap, "si"); /* out: SUCCEEDED */
    for (size_t i = 0; !bad && i < BATON_ARRAY_SIZE(fields); i++)
        bad = ctl_copy_field(o, fields[i][0], snap, fields[i][1]);
    if (!bad)
        bad = json_object_set_new(o, "status",
                                  json_string(ctl_snap_status(snap)));
    if (!bad && state) bad = json_object_set(o, "state", state);
    if (!bad)
        bad = !(pend = ctl_pending_json(snap)) ||
              json_object_set_new(o, "pending", pend);
    if (!bad)
        bad = json_object_set_new(o, "partition", json_integer(partition));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Adds d["graph"]: the run's definition (its text from Redis,
 * baton:defs:<type>:<version>, as orchestrator/store.h lays it out) as a
 * Mermaid flowchart with the current state marked.  Returns an exit code
 * (the failure printed). */
static int ctl_describe_graph(ctl_t *ctl, const json_t *snap, json_t *d) {
    const char *type = ctl_snap_str(snap, "type", NULL);
    const char *ver = ctl_snap_str(snap, "ver", NULL);
    char errstr[1024], *mermaid = NULL;
    baton_asl_def_t *def = NULL;
    redisReply *r;
    int rc = BATON_CLI_EXIT_OK;
    if (!type || !ver)
        return ctl_fail("the snapshot names no definition (type, ver)");
    if (!(r = ctl_redis_cmd(ctl, "reading the definition",
                            "GET baton:defs:%s:%s", type, ver)))
        return BATON_CLI_EXIT_FAIL;
    if (r->type != REDIS_REPLY_STRING)
        rc = ctl_fail("definition %s version %s is not in Redis "
                      "(baton:defs:%s:%s)",
                      type, ver, type, ver);
    else if (baton_asl_def_parse(type, r->str, &def, errstr, sizeof errstr))
        rc = ctl_fail("definition %s version %s: %s", type, ver, errstr);
    else if (baton_asl_graph_mermaid(def, ctl_snap_str(snap, "pos", NULL),
                                     &mermaid) ||
             json_object_set_new(d, "graph", json_string(mermaid)))
        rc = ctl_fail("out of memory");
    freeReplyObject(r);
    baton_free(mermaid);
    baton_asl_def_destroy(def);
    return rc;
}

int ctl_cmd_describe(ctl_t *ctl) {
    static const ctl_field_t fields[] = {
        {"id", "id", CTL_FMT_PLAIN},
        {"type", "type", CTL_FMT_PLAIN},
        {"version", "version", CTL_FMT_PLAIN},
        {"status", "status", CTL_FMT_PLAIN},
        {"position", "position", CTL_FMT_PLAIN},
        {"state", "state", CTL_FMT_PLAIN},
        {"pending", "pending", CTL_FMT_PENDING},
        {"error", "error", CTL_FMT_PLAIN},
        {"cause", "cause", CTL_FMT_PLAIN},
        {"started", "started", CTL_FMT_TIME},
        {"closed", "closed", CTL_FMT_TIME},
        {"quarantine", "quarantine", CTL_FMT_PLAIN},
        {"partition", "partition", CTL_FMT_PLAIN},
    };
    const char *id = ctl->o.pos[0];
    json_t *snap, *d;
    int rc, found = ctl_snapshot_get(ctl, id, 1, &snap);

    if (found < 0) return BATON_CLI_EXIT_FAIL;
    if (!found) return ctl_fail("workflow '%s' not found", id);
    d = ctl_describe_json(snap, ctl->wf_partition);
    if (d && ctl->o.graph && (rc = ctl_describe_graph(ctl, snap, d))) {
        json_decref(snap);
        json_decref(d);
        return rc;
    }
    json_decref(snap);
    if (!d) return ctl_fail("out of memory");
    rc = ctl->o.json_out
             ? ctl_print_json(d)
             : ctl_print_fields(d, fields, BATON_ARRAY_SIZE(fields));
    if (rc == BATON_CLI_EXIT_OK && !ctl->o.json_out && ctl->o.graph)
        printf("\n%s", json_string_value(json_object_get(d, "graph")));
    json_decref(d);
    return rc;
}

/* ---- result ------------------------------------------------------------- */

/* Prints the output of a closed run (exit 0) or why it did not succeed
 * (stderr, exit 1). */
static int ctl_result_print(ctl_t *ctl, const char *id, const json_t *snap) {
    const char *st = ctl_snap_status(snap);
    json_t *out = json_object_get(snap, "out");
    char verb[32];
    size_t i;

    if (!strcmp(st, "SUCCEEDED")) {
        size_t flags =
            JSON_ENCODE_ANY | (ctl->o.json_out ? JSON_COMPACT : JSON_INDENT(2));
        if (json_dumpf(out ? out : json_null(), stdout, flags) ||
            fputc('\n', stdout) == EOF)
            return ctl_fail("writing to stdout failed");
        return BATON_CLI_EXIT_OK;
    }
    /* "FAILED" -> "failed", "CANCELLED" -> "cancelled" ... */
    for (i = 0; i < sizeof verb - 1 && st[i]; i++)
        verb[i] = (char)tolower((unsigned char)st[i]);
    verb[i] = '\0';
    return ctl_fail("workflow %s %s: %s: %s", id, verb,
                    ctl_snap_str(snap, "err", "-"),
                    ctl_snap_str(snap, "cause", "-"));
}

/* Whether poll number n may scan all partitions: always when Kafka gave no
 * partition count, else once a second (the first poll always may). */
static int ctl_result_may_scan(ctl_t *ctl, long n) {
    return n == 0 || (ctl->partition_cnt <= 0 ? n % 10 == 0 : n % 100 == 0);
}

int ctl_cmd_result(ctl_t *ctl) {
    const char *id = ctl->o.pos[0];
    int64_t deadline = baton_mono_us() + (int64_t)(ctl->o.wait_s * 1e6);
    json_t *snap = NULL;
    int rc;

    for (long n = 0;; n++) {
        int found =
            ctl_snapshot_get(ctl, id, ctl_result_may_scan(ctl, n), &snap);
        if (found < 0) return BATON_CLI_EXIT_FAIL;
        /* HELD: only signals waiting for a run to start (batond holds
         * them): no result yet either. */
        if (found && strcmp(ctl_snap_status(snap), "RUNNING") &&
            strcmp(ctl_snap_status(snap), "HELD"))
            break;
        if (baton_mono_us() >= deadline) {
            if (!found)
                return ctl_fail("timed out after %g s, workflow '%s' not "
                                "found",
                                ctl->o.wait_s, id);
            rc = ctl_fail("timed out after %g s, workflow %s is RUNNING at "
                          "state %s",
                          ctl->o.wait_s, id, ctl_snap_str(snap, "pos", "-"));
            json_decref(snap);
            return rc;
        }
        json_decref(snap);
        snap = NULL;
        usleep(CTL_POLL_US);
    }
    rc = ctl_result_print(ctl, id, snap);
    json_decref(snap);
    return rc;
}

/* ---- history ------------------------------------------------------------ */

/* Parses the LRANGE reply into a JSON array (new reference) of the event
 * objects; an element that is not JSON is reported and skipped. */
static json_t *ctl_history_json(const redisReply *r, const char *key) {
    json_t *events = json_array();
    for (size_t i = 0; events && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        json_error_t jerr;
        json_t *ev = e->type == REDIS_REPLY_STRING
                         ? json_loadb(e->str, e->len, 0, &jerr)
                         : NULL;
        if (!ev) {
            fprintf(stderr,
                    CTL_PROG ": warning: %s[%zu] is not a JSON "
                             "event, skipped\n",
                    key, i);
            continue;
        }
        if (json_array_append_new(events, ev)) {
            json_decref(events);
            return NULL;
        }
    }
    return events;
}

int ctl_cmd_history(ctl_t *ctl) {
    static const ctl_field_t cols[] = {
        {"seq", "SEQ", CTL_FMT_PLAIN},   {"time", "TIME", CTL_FMT_TIME},
        {"type", "TYPE", CTL_FMT_PLAIN}, {"state", "STATE", CTL_FMT_PLAIN},
        {"data", "DATA", CTL_FMT_PLAIN},
    };
    const char *id = ctl->o.pos[0];
    char key[CTL_ID_MAX + 64];
    redisReply *r;
    json_t *events;
    int rc, found = ctl_locate(ctl, id, 1);

    if (found < 0) return BATON_CLI_EXIT_FAIL;
    if (!found) return ctl_fail("workflow '%s' not found", id);
    baton_keys_hist(key, sizeof key, baton_conf_key_prefix(ctl->conf),
                    ctl->wf_partition, id);
    if (!(r = ctl_redis_cmd(ctl, "reading the history", "LRANGE %s 0 -1", key)))
        return BATON_CLI_EXIT_FAIL;
    events =
        r->type == REDIS_REPLY_ARRAY ? ctl_history_json(r, key) : json_array();
    freeReplyObject(r);
    if (!events) return ctl_fail("out of memory");
    {
        char err[512];
        if (ctl_resolve(ctl, &events, err, sizeof err)) {
            json_decref(events);
            return ctl_fail("history of '%s': %s", id, err);
        }
    }
    rc = ctl->o.json_out
             ? ctl_print_json(events)
             : ctl_print_table(events, cols, BATON_ARRAY_SIZE(cols));
    json_decref(events);
    return rc;
}

/* ---- list --------------------------------------------------------------- */

/* snap[key] or JSON null (borrowed either way). */
static json_t *ctl_field_or_null(const json_t *snap, const char *key) {
    json_t *v = json_object_get(snap, key);
    return v ? v : json_null();
}

/* 1 when element i of a SCAN page is a snapshot key (those are GET). */
static int ctl_page_key(const ctl_t *ctl, const redisReply *keys, size_t i) {
    return keys->element[i]->type == REDIS_REPLY_STRING &&
           baton_keys_parse_wf(keys->element[i]->str,
                               baton_conf_key_prefix(ctl->conf), NULL, NULL);
}

/* Parses the reply to GET key: a snapshot object, or NULL when the key is
 * gone since SCAN or (reported) does not hold a JSON object. */
static json_t *ctl_page_snapshot(const ctl_t *ctl, const redisReply *r,
                                 const char *key) {
    json_t *snap;
    json_error_t jerr;
    const char *id;
    if (r->type != REDIS_REPLY_STRING) return NULL;
    snap = json_loadb(r->str, r->len, JSON_ALLOW_NUL, &jerr);
    if (!json_is_object(snap)) { /* batond quarantines it: shown so */
        json_decref(snap);
        if (!baton_keys_parse_wf(key, baton_conf_key_prefix(ctl->conf), NULL,
                                 &id))
            return NULL;
        return ctl_snap_unreadable(id, jerr.text);
    }
    return snap;
}

/* Appends {"id","type","status","position"} of each snapshot named in keys
 * (one SCAN page) whose status is status (all when NULL): the GETs are
 * pipelined.  Returns an exit code. */
static int ctl_list_page(ctl_t *ctl, const redisReply *keys, const char *status,
                         json_t *rows) {
    int rc = BATON_CLI_EXIT_OK;
    for (size_t i = 0; i < keys->elements; i++)
        if (ctl_page_key(ctl, keys, i) &&
            redisAppendCommand(ctl->redis, "GET %s", keys->element[i]->str) !=
                REDIS_OK)
            return ctl_fail("out of memory"); /* NEVER: unusable after */
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *r;
        json_t *snap, *row;
        if (!ctl_page_key(ctl, keys, i)) continue;
        if (!(r = ctl_redis_next(ctl, "reading snapshots")))
            return BATON_CLI_EXIT_FAIL; /* the connection is unusable */
        snap = ctl_page_snapshot(ctl, r, keys->element[i]->str);
        freeReplyObject(r);
        if (!snap || (status && strcmp(ctl_snap_status(snap), status))) {
            json_decref(snap);
            continue;
        }
        row = json_pack("{ss ss ss sO}", "id", ctl_snap_str(snap, "id", "?"),
                        "type", ctl_snap_str(snap, "type", "?"), "status",
                        ctl_snap_status(snap), "position",
                        ctl_field_or_null(snap, "pos"));
        json_decref(snap);
        if (rc == BATON_CLI_EXIT_OK &&
            (!row || json_array_append_new(rows, row)))
            rc = ctl_fail("out of memory"); /* keep reading the replies */
    }
    return rc;
}

static int ctl_cmp_rows_by_id(const void *a, const void *b) {
    const json_t *const *x = a, *const *y = b;
    return strcmp(json_string_value(json_object_get(*x, "id")),
                  json_string_value(json_object_get(*y, "id")));
}

/* Sorts an array of objects by "id" in place.  0 ok, -1 out of memory. */
static int ctl_sort_rows(json_t *rows) {
    size_t n = json_array_size(rows);
    json_t **v = baton_calloc(n ? n : 1, sizeof(json_t *));
    int bad = !v;
    for (size_t i = 0; !bad && i < n; i++)
        v[i] = json_incref(json_array_get(rows, i));
    if (bad) return -1;
    qsort(v, n, sizeof *v, ctl_cmp_rows_by_id);
    json_array_clear(rows);
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(rows, v[i])) bad = -1;
    baton_free(v);
    return bad ? -1 : 0;
}

/* --status value upper-cased into buf; usage error when not a status. */
static int ctl_status_arg(const char *arg, char *buf, size_t len) {
    size_t i;
    for (i = 0; i < len - 1 && arg[i]; i++)
        buf[i] = (char)toupper((unsigned char)arg[i]);
    buf[i] = '\0';
    for (i = 0; i < BATON_ARRAY_SIZE(ctl_statuses); i++)
        if (!strcmp(buf, ctl_statuses[i])) return BATON_CLI_EXIT_OK;
    return ctl_usage_error("--status wants RUNNING, SUCCEEDED, FAILED, "
                           "CANCELLED, TERMINATED or QUARANTINED, not '%s'",
                           arg);
}

int ctl_cmd_list(ctl_t *ctl) {
    static const ctl_field_t cols[] = {
        {"id", "ID", CTL_FMT_PLAIN},
        {"type", "TYPE", CTL_FMT_PLAIN},
        {"status", "STATUS", CTL_FMT_PLAIN},
        {"position", "POSITION", CTL_FMT_PLAIN},
    };
    char status[16], cursor[32] = "0", pattern[64];
    json_t *rows;
    int rc = BATON_CLI_EXIT_OK;

    if (ctl->o.status && ctl_status_arg(ctl->o.status, status, sizeof status))
        return BATON_CLI_EXIT_USAGE;
    if (!ctl_redis(ctl)) return BATON_CLI_EXIT_FAIL;
    baton_keys_wf_pattern(pattern, sizeof pattern,
                          baton_conf_key_prefix(ctl->conf), NULL);
    if (!(rows = json_array())) return ctl_fail("out of memory");
    do {
        redisReply *r =
            ctl_redis_cmd(ctl, "listing workflows",
                          "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r)
            rc = BATON_CLI_EXIT_FAIL;
        else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                 r->element[0]->type != REDIS_REPLY_STRING)
            rc = ctl_fail("Redis, listing workflows: unexpected SCAN reply");
        else {
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            rc = ctl_list_page(ctl, r->element[1],
                               ctl->o.status ? status : NULL, rows);
        }
        if (r) freeReplyObject(r);
    } while (rc == BATON_CLI_EXIT_OK && strcmp(cursor, "0"));
    if (rc == BATON_CLI_EXIT_OK && ctl_sort_rows(rows))
        rc = ctl_fail("out of memory");
    if (rc == BATON_CLI_EXIT_OK)
        rc = ctl->o.json_out
                 ? ctl_print_json(rows)
                 : ctl_print_table(rows, cols, BATON_ARRAY_SIZE(cols));
    json_decref(rows);
    return rc;
}
