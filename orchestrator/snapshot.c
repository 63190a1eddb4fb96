/*
 * snapshot.c -- encoding and decoding of workflow snapshots (snapshot.h).
 *
 * The field table lives in snapshot.h; this file is its only reader and
 * writer.  Decoding is strict about types so a corrupted snapshot is named,
 * not half-loaded.
 */
#include "snapshot.h"

#include <string.h>

#include "json_limits.h"

/* Whatever was accepted must load back (json_limits.h). */
_Static_assert(BATON_JSON_DEPTH_MAX + BATON_SNAPSHOT_NESTING <
                   JSON_PARSER_MAX_DEPTH,
               "the snapshot loader admits less than decode accepts");

static const char *status_names[] = {"RUNNING",   "SUCCEEDED",  "FAILED",
                                     "CANCELLED", "TERMINATED", "HELD"};

int baton_wf_status_closed(baton_wf_status_t st) {
    return st != BATON_WF_RUNNING && st != BATON_WF_HELD;
}
static const char *pend_names[] = {NULL,   "task",  "signal", "retry",
                                   "wait", "child", "fanout"};

const char *baton_wf_status_name(baton_wf_status_t st) {
    return (size_t)st < BATON_ARRAY_SIZE(status_names) ? status_names[st]
                                                       : "UNKNOWN";
}

int baton_wf_status_parse(const char *name, baton_wf_status_t *out) {
    for (size_t i = 0; i < BATON_ARRAY_SIZE(status_names); i++)
        if (!strcmp(name, status_names[i])) {
            *out = (baton_wf_status_t)i;
            return 0;
        }
    return -1;
}

baton_snapshot_t *baton_snapshot_new(void) {
    return baton_calloc(1, sizeof(baton_snapshot_t));
}

void baton_snapshot_clear_pending(baton_snapshot_t *s) {
    s->pend = BATON_PEND_NONE;
    s->pend_seq = 0;
    s->pend_attempt = 0;
    s->pend_due_ms = 0;
    baton_free(s->pend_queue);
    baton_free(s->pend_type);
    baton_free(s->pend_signal);
    baton_free(s->pend_then);
    s->pend_queue = s->pend_type = s->pend_signal = s->pend_then = NULL;
    s->pend_start_ms = s->pend_first_ms = s->pend_hb_ms = 0;
    json_decref(s->pend_hb_details);
    json_decref(s->pend_retries);
    json_decref(s->pend_outputs);
    s->pend_hb_details = s->pend_retries = s->pend_outputs = NULL;
    s->pend_timeout_s = s->pend_hb_s = s->pend_s2s_s = s->pend_s2c_s = 0;
    s->pend_n = s->pend_next = s->pend_failed = 0;
    s->pend_max_conc = s->pend_is_map = 0;
    s->pend_tol_count = 0;
    s->pend_tol_pct = 0;
}

void baton_snapshot_destroy(baton_snapshot_t *s) {
    if (!s) return;
    baton_snapshot_clear_pending(s);
    baton_free(s->id);
    baton_free(s->type);
    baton_free(s->ver);
    baton_free(s->pos);
    baton_free(s->error);
    baton_free(s->cause);
    baton_free(s->parent_id);
    baton_free(s->parent_task_id);
    baton_free(s->branch);
    baton_free(s->run_path);
    baton_free(s->quarantine);
    baton_free(s->tracestate);
    json_decref(s->input);
    json_decref(s->state_input);
    json_decref(s->output);
    json_decref(s->signals);
    json_decref(s->held);
    json_decref(s->budget);
    json_decref(s->usage);
    json_decref(s->blob_seen);
    baton_free(s);
}

/* Adds key=value when value is non-NULL; json_object_set_new steals. */
static int set_str(json_t *o, const char *k, const char *v) {
    return v ? json_object_set_new(o, k, json_string(v)) : 0;
}
static int set_int(json_t *o, const char *k, int64_t v) {
    return v ? json_object_set_new(o, k, json_integer(v)) : 0;
}
static int set_json(json_t *o, const char *k, json_t *v) {
    return v ? json_object_set(o, k, v) : 0;
}

/* The trace context: fields written only when known, so snapshots of runs
 * without one (and those written before tracing) look as they did. */
static int encode_trace(json_t *o, const baton_snapshot_t *s) {
    int rc = 0;
    if (s->trace_id[0]) rc |= set_str(o, "tid", s->trace_id);
    if (s->trace_parent[0]) rc |= set_str(o, "tps", s->trace_parent);
    rc |= set_int(o, "tfl", s->trace_flags);
    rc |= set_str(o, "tst", s->tracestate);
    return rc;
}

static int encode_pending(json_t *o, const baton_snapshot_t *s) {
    int rc = 0;
    rc |= set_str(o, "pk", pend_names[s->pend]);
    rc |= set_int(o, "pseq", s->pend_seq);
    rc |= set_int(o, "patt", s->pend_attempt);
    rc |= set_str(o, "pq", s->pend_queue);
    rc |= set_str(o, "pat", s->pend_type);
    rc |= set_int(o, "pdue", s->pend_due_ms);
    rc |= set_str(o, "psig", s->pend_signal);
    if (s->pend == BATON_PEND_WAIT) /* always: its presence marks pos right */
        rc |= json_object_set_new(
            o, "pnt", json_string(s->pend_then ? s->pend_then : ""));
    if (s->pend_nonce[0]) rc |= set_str(o, "pno", s->pend_nonce);
    rc |= set_int(o, "pst", s->pend_start_ms);
    rc |= set_int(o, "pst0", s->pend_first_ms);
    rc |= set_int(o, "phb", s->pend_hb_ms);
    rc |= set_json(o, "phd", s->pend_hb_details);
    rc |= set_int(o, "pto", s->pend_timeout_s);
    rc |= set_int(o, "phbs", s->pend_hb_s);
    rc |= set_int(o, "ps2s", s->pend_s2s_s);
    rc |= set_int(o, "ps2c", s->pend_s2c_s);
    rc |= set_json(o, "prc", s->pend_retries);
    if (s->pend == BATON_PEND_FANOUT) {
        rc |= json_object_set_new(o, "pn", json_integer(s->pend_n));
        rc |= set_int(o, "pnx", s->pend_next);
        rc |= set_int(o, "pmc", s->pend_max_conc);
        rc |= set_int(o, "pim", s->pend_is_map);
        rc |= json_object_set_new(o, "ptc", json_integer(s->pend_tol_count));
        rc |= json_object_set_new(o, "ptp", json_real(s->pend_tol_pct));
        rc |= set_int(o, "pfc", s->pend_failed);
    }
    rc |= set_json(o, "pco", s->pend_outputs);
    return rc;
}

json_t *baton_snapshot_to_json(const baton_snapshot_t *s) {
    json_t *o = json_object();
    int rc = 0;

    if (!o) return NULL;
    rc |= json_object_set_new(o, "v", json_integer(1));
    rc |= set_str(o, "id", s->id);
    rc |= set_str(o, "type", s->type);
    rc |= set_str(o, "ver", s->ver);
    rc |= set_str(o, "st", baton_wf_status_name(s->status));
    rc |= set_str(o, "pos", s->pos);
    rc |= set_json(o, "in", s->input);
    rc |= set_json(o, "si", s->state_input);
    rc |= set_json(o, "out", s->output);
    rc |= set_str(o, "err", s->error);
    rc |= set_str(o, "cause", s->cause);
    rc |= set_int(o, "t0", s->started_ms);
    rc |= set_int(o, "t1", s->closed_ms);
    rc |= set_int(o, "aseq", s->aseq);
    if (s->pend) rc |= encode_pending(o, s);
    rc |= encode_trace(o, s);
    rc |= set_str(o, "par", s->parent_id);
    rc |= set_str(o, "ptid", s->parent_task_id);
    rc |= set_str(o, "br", s->branch);
    rc |= set_str(o, "rp", s->run_path);
    rc |= set_int(o, "tx", s->deadline_ms);
    if (s->signals && json_object_size(s->signals))
        rc |= set_json(o, "sig", s->signals);
    if (s->held && json_array_size(s->held)) rc |= set_json(o, "held", s->held);
    rc |= set_int(o, "hseq", s->hseq);
    rc |= set_int(o, "stale", s->stale);
    if (s->dup) rc |= set_int(o, "dup", s->dup);
    if (s->hbytes) rc |= set_int(o, "hb", s->hbytes);
    rc |= set_json(o, "bud", s->budget);
    rc |= set_json(o, "use", s->usage);
    rc |= set_str(o, "q", s->quarantine);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *baton_snapshot_encode(const baton_snapshot_t *s, size_t *len) {
    json_t *o = baton_snapshot_to_json(s);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY) : NULL, *out;

    json_decref(o);
    if (!text) return NULL;
    /* Hand out a baton_malloc'd copy: callers free with baton_free. */
    *len = strlen(text);
    out = baton_strndup(text, *len);
    free(text);
    return out;
}

typedef struct dec {
    json_t *o;
    const char *bad; /* first field of the wrong type */
} dec_t;

static char *get_str(dec_t *d, const char *k, int required) {
    json_t *v = json_object_get(d->o, k);
    if (!v) {
        if (required && !d->bad) d->bad = k;
        return NULL;
    }
    if (!json_is_string(v)) {
        if (!d->bad) d->bad = k;
        return NULL;
    }
    return baton_strdup(json_string_value(v));
}

static int64_t get_int(dec_t *d, const char *k) {
    json_t *v = json_object_get(d->o, k);
    if (!v) return 0;
    if (!json_is_integer(v)) {
        if (!d->bad) d->bad = k;
        return 0;
    }
    return json_integer_value(v);
}

static json_t *get_json(dec_t *d, const char *k) {
    json_t *v = json_object_get(d->o, k);
    return v ? json_incref(v) : NULL;
}

/* Like get_json, but the value must be of the given jansson type. */
static json_t *get_typed(dec_t *d, const char *k, json_type type) {
    json_t *v = get_json(d, k);
    if (v && json_typeof(v) != type) {
        if (!d->bad) d->bad = k;
        json_decref(v);
        return NULL;
    }
    return v;
}

static double get_real(dec_t *d, const char *k) {
    json_t *v = json_object_get(d->o, k);
    if (!v) return 0;
    if (!json_is_number(v)) {
        if (!d->bad) d->bad = k;
        return 0;
    }
    return json_number_value(v);
}

/* A Wait's next state: pnt, or, in a snapshot written before pnt existed,
 * pos (which then held the next state; absent when the Wait ended the run).
 * Such an old snapshot keeps that pos: it goes on right, only its position
 * names the state after the Wait until the Wait ends. */
static void decode_wait_then(dec_t *d, baton_snapshot_t *s) {
    json_t *v = json_object_get(d->o, "pnt");
    if (v) {
        s->pend_then = get_str(d, "pnt", 0);
        return;
    }
    v = json_object_get(d->o, "pos");
    s->pend_then = baton_strdup(json_is_string(v) ? json_string_value(v) : "");
}

/* Copies a hex id field of n digits into out ("" when absent; a field of
 * another shape marks the snapshot bad). */
static void get_hex(dec_t *d, const char *k, char *out, size_t n) {
    char *v = get_str(d, k, 0);
    out[0] = '\0';
    if (v && strlen(v) == n && baton_trace_id_ok(v, n))
        memcpy(out, v, n + 1);
    else if (v && !d->bad)
        d->bad = k;
    baton_free(v);
}

static void decode_trace(dec_t *d, baton_snapshot_t *s) {
    get_hex(d, "tid", s->trace_id, BATON_TRACE_ID_HEX);
    get_hex(d, "tps", s->trace_parent, BATON_SPAN_ID_HEX);
    s->trace_flags = (int32_t)get_int(d, "tfl");
    s->tracestate = get_str(d, "tst", 0);
}

static void decode_pending(dec_t *d, baton_snapshot_t *s) {
    char *pk = get_str(d, "pk", 0);
    if (!pk) return;
    for (size_t i = 1; i < BATON_ARRAY_SIZE(pend_names); i++)
        if (!strcmp(pk, pend_names[i])) s->pend = (baton_pend_kind_t)i;
    if (!s->pend && !d->bad) d->bad = "pk";
    baton_free(pk);
    s->pend_seq = get_int(d, "pseq");
    s->pend_attempt = (int32_t)get_int(d, "patt");
    s->pend_queue = get_str(d, "pq", 0);
    s->pend_type = get_str(d, "pat", 0);
    s->pend_due_ms = get_int(d, "pdue");
    s->pend_signal = get_str(d, "psig", 0);
    {
        char *pn = get_str(d, "pno", 0);
        snprintf(s->pend_nonce, sizeof s->pend_nonce, "%s", pn ? pn : "");
        baton_free(pn);
    }
    s->pend_start_ms = get_int(d, "pst");
    s->pend_first_ms = get_int(d, "pst0");
    s->pend_hb_ms = get_int(d, "phb");
    s->pend_hb_details = get_json(d, "phd");
    s->pend_timeout_s = (int32_t)get_int(d, "pto");
    s->pend_hb_s = (int32_t)get_int(d, "phbs");
    s->pend_s2s_s = (int32_t)get_int(d, "ps2s");
    s->pend_s2c_s = (int32_t)get_int(d, "ps2c");
    s->pend_retries = get_typed(d, "prc", JSON_ARRAY);
    s->pend_n = get_int(d, "pn");
    s->pend_next = get_int(d, "pnx");
    s->pend_max_conc = (int32_t)get_int(d, "pmc");
    s->pend_is_map = (int32_t)get_int(d, "pim");
    s->pend_tol_count = get_int(d, "ptc");
    s->pend_tol_pct = get_real(d, "ptp");
    s->pend_failed = get_int(d, "pfc");
    s->pend_outputs = get_typed(d, "pco", JSON_OBJECT);
    if (s->pend == BATON_PEND_WAIT) decode_wait_then(d, s);
}

baton_snapshot_t *baton_snapshot_decode(const char *text, size_t len,
                                        char *errstr, size_t errlen) {
    json_error_t jerr;
    dec_t d = {NULL, NULL};
    baton_snapshot_t *s;
    char *st;

    /* JSON_ALLOW_NUL: a NUL that got in anyway must not make the run
     * unreadable (the engine refuses to produce one: json_limits.h). */
    d.o = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
    if (!d.o || !json_is_object(d.o)) {
        baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                     "snapshot is not a JSON object: %s", jerr.text);
        json_decref(d.o);
        return NULL;
    }
    if (!(s = baton_snapshot_new())) {
        json_decref(d.o);
        baton_seterr(errstr, errlen, BATON_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (get_int(&d, "v") != 1 && !d.bad) d.bad = "v";
    s->id = get_str(&d, "id", 1);
    s->type = get_str(&d, "type", 1);
    s->ver = get_str(&d, "ver", 1);
    st = get_str(&d, "st", 1);
    if (st && baton_wf_status_parse(st, &s->status) && !d.bad) d.bad = "st";
    baton_free(st);
    s->pos = get_str(&d, "pos", 0);
    s->input = get_json(&d, "in");
    s->state_input = get_json(&d, "si");
    s->output = get_json(&d, "out");
    s->error = get_str(&d, "err", 0);
    s->cause = get_str(&d, "cause", 0);
    s->started_ms = get_int(&d, "t0");
    s->closed_ms = get_int(&d, "t1");
    s->aseq = get_int(&d, "aseq");
    decode_pending(&d, s);
    s->parent_id = get_str(&d, "par", 0);
    s->parent_task_id = get_str(&d, "ptid", 0);
    s->branch = get_str(&d, "br", 0);
    s->run_path = get_str(&d, "rp", 0);
    s->deadline_ms = get_int(&d, "tx");
    s->signals = get_json(&d, "sig");
    if (s->signals && !json_is_object(s->signals) && !d.bad) d.bad = "sig";
    s->held = get_json(&d, "held");
    if (s->held && !json_is_array(s->held) && !d.bad) d.bad = "held";
    s->hseq = get_int(&d, "hseq");
    s->stale = get_int(&d, "stale");
    s->hbytes = get_int(&d, "hb");
    s->dup = get_int(&d, "dup");
    s->quarantine = get_str(&d, "q", 0);
    decode_trace(&d, s);
    s->budget = get_typed(&d, "bud", JSON_OBJECT);
    s->usage = get_typed(&d, "use", JSON_OBJECT);
    json_decref(d.o);
    if (d.bad) {
        baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                     "snapshot field '%s' is missing or of the wrong type",
                     d.bad);
        baton_snapshot_destroy(s);
        return NULL;
    }
    return s;
}
