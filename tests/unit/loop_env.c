/*
 * loop_env.c -- the in-memory batond of the loop and engine unit tests
 * (loop_env.h): the loop's port over arrays.
 */
#include "loop_env.h"

#include <string.h>

#include "keys.h"

int env_passed, env_failed;

static void env_port_init(env_t *e);

int64_t env_payload_max = 1000;

void env_init(env_t *e, const env_def_t *defs) {
    char err[512];
    baton_loop_conf_t lc = {.topic_prefix = "baton",
                            .partition_cnt = NPART,
                            .payload_max = env_payload_max,
                            .cache_max = 1000,
                            .envelope_max = 1 << 20,
                            .string_max = 4096,
                            .dlq_copy_max = 1024,
                            .apply_retries = 3};
    int64_t none[2] = {-1, -1};
    memset(e, 0, sizeof *e);
    e->reg = baton_registry_new();
    for (const env_def_t *d = defs; d && d->name; d++)
        CHECK(!baton_registry_add(e->reg, d->name, d->text, 1, NULL, err,
                                  sizeof err),
              "%s: %s", d->name, err);
    e->codec = baton_codec_new(err, sizeof err);
    e->engine = baton_engine_new(e->reg, e->codec, "baton");
    e->loop = baton_loop_new(&lc, e->engine, e->codec);
    for (int p = 0; p < NPART; p++) baton_loop_partition_add(e->loop, p, none);
    e->written = json_object();
    e->dedupe = json_object();
    e->hist = json_array();
    e->spans = json_array();
    e->oom_after = -1;
    env_port_init(e);
    baton_loop_batch_begin(e->loop);
}

static void drop_out(env_t *e) {
    for (int i = 0; i < e->nout; i++) baton_free(e->out[i].value);
    e->nout = 0;
}

void env_free(env_t *e) {
    drop_out(e);
    baton_free(e->last_task_value);
    for (int i = 0; i < e->nheld; i++) baton_free(e->held[i]);
    for (size_t i = 0; i < e->ndecoded; i++)
        baton_snapshot_destroy(e->decoded[i]);
    baton_free(e->decoded);
    json_decref(e->written);
    json_decref(e->dedupe);
    json_decref(e->hist);
    json_decref(e->spans);
    baton_loop_destroy(e->loop);
    baton_engine_destroy(e->engine);
    baton_codec_destroy(e->codec);
    baton_registry_destroy(e->reg);
}

int64_t env_now(const env_t *e) {
    return baton_now_ms() + e->skew_ms;
}

static void keep_out(env_t *e, const baton_outbox_msg_t *m) {
    env_msg_t *k;
    if (e->nout >= ENV_MAX_OUT) {
        CHECK(0, "more than %d messages to pump", ENV_MAX_OUT);
        return;
    }
    k = &e->out[e->nout++];
    snprintf(k->topic, sizeof k->topic, "%s", m->topic);
    snprintf(k->traceparent, sizeof k->traceparent, "%s",
             m->traceparent ? m->traceparent : "");
    k->value = baton_strndup(m->value, m->value_len);
    k->len = m->value_len;
}

static void note_task(env_t *e, const baton_outbox_msg_t *m) {
    baton_task_t t;
    char err[256];
    e->tasks++;
    e->tasks_total++;
    e->last_task_json = m->json;
    baton_free(e->last_task_value);
    e->last_task_value = baton_strndup(m->value, m->value_len);
    e->last_task_len = e->last_task_value ? m->value_len : 0;
    snprintf(e->last_task_traceparent, sizeof e->last_task_traceparent, "%s",
             m->traceparent ? m->traceparent : "");
    /* decoded as a worker does: by the message's content-type */
    if (!baton_codec_decode_task(e->codec, m->value, m->value_len, m->json, &t,
                                 err, sizeof err)) {
        snprintf(e->last_task, sizeof e->last_task, "%s", t.task_id);
        snprintf(e->last_task_lineage, sizeof e->last_task_lineage, "%s|%s|%s",
                 t.root_workflow_id ? t.root_workflow_id : "?",
                 t.parent_workflow_id ? t.parent_workflow_id : "-",
                 t.run_path ? t.run_path : "?");
    } else
        CHECK(0, "a task batond sent does not decode: %s", err);
    baton_task_clear(&t);
}

static void note_cancel(env_t *e, const baton_outbox_msg_t *m) {
    baton_command_t c;
    char err[256];
    e->cancels++;
    e->last_cancel_json = m->json;
    if (!baton_codec_decode_command(e->codec, m->value, m->value_len, m->json,
                                    &c, err, sizeof err))
        snprintf(e->last_cancel, sizeof e->last_cancel, "%s",
                 c.task_id ? c.task_id : "");
    baton_command_clear(&c);
}

static void note_out(env_t *e, const baton_outbox_msg_t *m) {
    if (!strncmp(m->topic, "baton.tasks.", 12))
        note_task(e, m);
    else if (!strcmp(m->topic, "baton.events"))
        e->events++;
    else if (!strcmp(m->topic, "baton.dlq")) {
        e->dlq++;
        e->last_dlq_len = m->value_len;
        CHECK(m->error && *m->error, "DLQ message without reason");
        if (m->error) snprintf(e->last_dlq, sizeof e->last_dlq, "%s", m->error);
    } else if (!strcmp(m->topic, "baton.cancels"))
        note_cancel(e, m);
    else {
        if (m->partition >= 0) e->forwards++; /* wrong-partition input */
        keep_out(e, m);
    }
}

void env_run(env_t *e, int commit) {
    char err[512];
    baton_err_t rc = env_try_run(e, commit, err, sizeof err);
    CHECK(!rc, "apply: %s", err);
}

/* ---- the port ----------------------------------------------------------- */

static size_t env_port_poll(void *ctx, int timeout_ms,
                            const baton_loop_msg_t **msgs) {
    env_t *e = ctx;
    (void)timeout_ms; /* the inbox is all there is: never waits */
    *msgs = e->inbox;
    if (e->oom_after >= 0) baton_alloc_fail_after(e->oom_after);
    return (size_t)e->ninbox;
}

static int64_t env_port_now_ms(void *ctx) {
    return env_now(ctx);
}

/* The fake Redis: the snapshot last written of each run, NULL for none. */
static baton_err_t env_port_load_snapshots(void *ctx, size_t n,
                                           const int32_t *parts,
                                           const char *const *ids, char **texts,
                                           size_t *lens, char *errstr,
                                           size_t errlen) {
    env_t *e = ctx;
    (void)parts;
    for (size_t i = 0; i < n; i++) {
        const char *t = json_string_value(json_object_get(e->written, ids[i]));
        texts[i] = t ? baton_strdup(t) : NULL;
        lens[i] = t ? strlen(t) : 0;
        if (t && !texts[i])
            return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                                "loading snapshot of %s: out of memory",
                                ids[i]);
    }
    return BATON_OK;
}

/* The fake Redis' dedupe keys: seen while their window lasts. */
static baton_err_t env_port_dedupe_seen(void *ctx, size_t n,
                                        const int32_t *parts,
                                        const char *const *ids,
                                        const char *const *dds, int *seen,
                                        char *errstr, size_t errlen) {
    env_t *e = ctx;
    (void)errstr;
    (void)errlen;
    for (size_t i = 0; i < n; i++) {
        char k[BATON_KEYS_DEDUPE_LEN];
        json_t *until;
        baton_keys_dedupe(k, sizeof k, "baton", parts[i], ids[i], dds[i]);
        until = json_object_get(e->dedupe, k);
        seen[i] = until && json_integer_value(until) > env_now(e);
    }
    return BATON_OK;
}

/* Every definition a test has is in the registry from the start. */
static baton_err_t env_port_load_def(void *ctx, const char *name,
                                     const char *ver, char *errstr,
                                     size_t errlen) {
    (void)ctx;
    return baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                        "definition %s version %s is not in the test's "
                        "registry",
                        name, ver);
}

/* Records one written set: its snapshots become the fake Redis' texts. */
static void env_record_write(env_t *e, const baton_wset_t *ws) {
    for (size_t j = 0; j < ws->nout_del; j++)
        snprintf(e->last_outbox_del, sizeof e->last_outbox_del, "%s",
                 ws->out_del[j]);
    for (size_t j = 0; j < ws->ndd; j++) {
        char k[BATON_KEYS_DEDUPE_LEN];
        baton_keys_dedupe(k, sizeof k, "baton", ws->partition, ws->dd[j].wf_id,
                          ws->dd[j].dd);
        json_object_set_new(e->dedupe, k,
                            json_integer(env_now(e) + ws->dd[j].window_ms));
    }
    for (size_t j = 0; j < ws->nsnaps; j++) {
        size_t len;
        char *t;
        if (ws->snaps[j]->status == BATON_WF_HELD &&
            !json_array_size(ws->snaps[j]->held)) { /* store.c: DEL */
            json_object_del(e->written, ws->snaps[j]->id);
            continue;
        }
        t = baton_snapshot_encode(ws->snaps[j], &len);
        CHECK(t != NULL, "snapshot encodes");
        if (t)
            json_object_set_new(e->written, ws->snaps[j]->id, json_string(t));
        baton_free(t);
    }
    for (size_t j = 0; j < ws->nhist; j++) {
        e->closes += ws->hist[j].close;
        json_array_append_new(e->hist, json_string(ws->hist[j].json));
    }
}

/* The spans of a written set, kept for the tracing tests. */
static void env_record_spans(env_t *e, const baton_wset_t *ws) {
    for (size_t i = 0; i < ws->nspans; i++) {
        const baton_span_t *sp = &ws->spans[i];
        json_array_append_new(
            e->spans,
            json_pack("{sssssssssIsIsO?}", "trace", sp->trace_id, "id",
                      sp->span_id, "parent", sp->parent_id, "name", sp->name,
                      "start", (json_int_t)(sp->start_ns / 1000000), "end",
                      (json_int_t)(sp->end_ns / 1000000), "attrs", sp->attrs));
    }
}

static baton_err_t env_port_write(void *ctx, baton_wset_t *const *ws, size_t n,
                                  int *fenced, char *errstr, size_t errlen) {
    env_t *e = ctx;
    baton_err_t rc = BATON_OK;
    baton_alloc_fail_after(-1);
    if (e->abandon)
        return baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                            "the test abandons this batch");
    for (size_t i = 0; i < n; i++) {
        fenced[i] = (e->fenced_mask >> ws[i]->partition) & 1;
        if (!fenced[i]) {
            env_record_write(e, ws[i]);
            env_record_spans(e, ws[i]);
        } else if (!baton_wset_empty(ws[i]) && !rc)
            rc = baton_seterr(errstr, errlen, BATON_ERR_FENCED,
                              "partition %d is fenced", ws[i]->partition);
        else if (baton_wset_empty(ws[i]))
            fenced[i] = 0; /* as store.c: an empty set is not sent */
    }
    return rc;
}

static void env_port_produce(void *ctx, int32_t p,
                             const baton_outbox_msg_t *m) {
    env_t *e = ctx;
    if (e->refuse_over && m->value_len > e->refuse_over) {
        e->refused++;
        snprintf(e->last_refused, sizeof e->last_refused, "%s", m->id);
        baton_loop_outbox_refused(e->loop, p, m,
                                  "Broker: Message size too large");
        return;
    }
    note_out(ctx, m);
}

static void env_port_release(void *ctx, int committed) {
    env_t *e = ctx;
    baton_alloc_fail_after(-1);
    if (!committed && e->redeliver) return; /* seek back: polled again */
    e->ninbox = 0;
    for (int i = 0; i < e->nheld; i++) baton_free(e->held[i]);
    e->nheld = 0;
}

static void env_port_commit(void *ctx) {
    ((env_t *)ctx)->commits++;
}

static void env_port_init(env_t *e) {
    e->port.ctx = e;
    e->port.prepare = NULL;
    e->port.poll = env_port_poll;
    e->port.now_ms = env_port_now_ms;
    e->port.load_snapshots = env_port_load_snapshots;
    e->port.load_def = env_port_load_def;
    e->port.dedupe_seen = env_port_dedupe_seen;
    e->port.write = env_port_write;
    e->port.produce = env_port_produce;
    e->port.release = env_port_release;
    e->port.commit = env_port_commit;
}

baton_err_t env_try_run(env_t *e, int commit, char *err, size_t errlen) {
    baton_err_t rc;
    e->tasks = e->events = e->dlq = e->forwards = e->closes = e->cancels = 0;
    e->abandon = !commit;
    rc = baton_loop_run_batch(e->loop, &e->port, err, errlen);
    if (rc == BATON_ERR_REDIS && e->abandon && strstr(err, "the test abandons"))
        rc = BATON_OK;
    e->abandon = 0;
    return rc;
}

static void feed_held(env_t *e, baton_src_t src, int32_t p, char *buf,
                      size_t len);

/* The workflow id of a kept message, for its partition. */
static char *kept_key(env_t *e, const env_msg_t *m, baton_src_t *src) {
    char err[256], *id = NULL;
    if (!strcmp(m->topic, "baton.commands")) {
        baton_command_t c;
        *src = BATON_SRC_COMMANDS;
        if (!baton_codec_decode_command(e->codec, m->value, m->len, 0, &c, err,
                                        sizeof err))
            id = baton_strdup(c.workflow_id);
        baton_command_clear(&c);
    } else {
        baton_result_t r;
        *src = BATON_SRC_RESULTS;
        if (!baton_codec_decode_result(e->codec, m->value, m->len, 0, &r, err,
                                       sizeof err))
            id = baton_strdup(r.workflow_id);
        baton_result_clear(&r);
    }
    return id;
}

int env_refeed(env_t *e) {
    env_msg_t batch[ENV_MAX_OUT];
    int n = e->nout;
    memcpy(batch, e->out, sizeof(env_msg_t) * (size_t)n);
    e->nout = 0;
    for (int i = 0; i < n; i++) {
        baton_src_t src;
        char *id = kept_key(e, &batch[i], &src);
        CHECK(id != NULL, "kept message on %s decodes", batch[i].topic);
        if (id) {
            feed_held(e, src, baton_partition_for(id, NPART), batch[i].value,
                      batch[i].len);
            if (batch[i].traceparent[0]) { /* the header goes along */
                int k = e->ninbox - 1;
                memcpy(e->inbox_tp[k], batch[i].traceparent,
                       sizeof e->inbox_tp[k]);
                e->inbox[k].traceparent = e->inbox_tp[k];
            }
        } else
            baton_free(batch[i].value);
        baton_free(id);
    }
    return n;
}

int env_pump(env_t *e, int rounds) {
    int fed = 0;
    while (rounds-- > 0 && e->nout) {
        fed += env_refeed(e);
        env_run(e, 1);
    }
    return fed;
}

size_t env_advance(env_t *e, int64_t ms) {
    e->skew_ms += ms;
    return baton_loop_due_timers(e->loop, env_now(e));
}

void env_feed(env_t *e, baton_src_t src, int32_t p, const char *buf, size_t len,
              int json) {
    baton_loop_msg_t *m;
    if (e->ninbox >= ENV_MAX_OUT) {
        CHECK(0, "more than %d inputs in one batch", ENV_MAX_OUT);
        return;
    }
    m = &e->inbox[e->ninbox++];
    m->src = src;
    m->partition = p;
    m->offset = e->offset[src][p]++;
    m->value = buf;
    m->len = len;
    m->json = json;
    m->traceparent = m->tracestate = NULL;
}

/* Feeds a buffer of the env's own: the loop borrows it until the batch is
 * done, then env_run frees it. */
static void feed_held(env_t *e, baton_src_t src, int32_t p, char *buf,
                      size_t len) {
    if (e->nheld >= ENV_MAX_OUT) {
        CHECK(0, "more than %d inputs in one batch", ENV_MAX_OUT);
        baton_free(buf);
        return;
    }
    e->held[e->nheld++] = buf;
    env_feed(e, src, p, buf, len, 0);
}

void env_cmd(env_t *e, baton_cmd_kind_t kind, const char *id, const char *type,
             const char *name, const char *payload) {
    baton_command_t c = {0};
    char *buf, err[256];
    size_t len;
    c.kind = kind;
    c.workflow_id = (char *)id;
    c.workflow_type = (char *)type;
    c.name = (char *)name;
    c.payload = (char *)payload;
    CHECK(!baton_codec_encode_command(e->codec, &c, 0, &buf, &len, err,
                                      sizeof err),
          "encode: %s", err);
    feed_held(e, BATON_SRC_COMMANDS, baton_partition_for(id, NPART), buf, len);
}

void env_command(env_t *e, const baton_command_t *c) {
    char *buf, err[256];
    size_t len;
    CHECK(!baton_codec_encode_command(e->codec, c, 0, &buf, &len, err,
                                      sizeof err),
          "encode: %s", err);
    feed_held(e, BATON_SRC_COMMANDS, baton_partition_for(c->workflow_id, NPART),
              buf, len);
}

int env_hist_count(const env_t *e, const char *needle) {
    size_t i;
    json_t *h;
    int n = 0;
    json_array_foreach(e->hist, i, h) n +=
        strstr(json_string_value(h), needle) != NULL;
    return n;
}

void env_result(env_t *e, const baton_result_t *r) {
    char *buf, err[256];
    size_t len;
    CHECK(
        !baton_codec_encode_result(e->codec, r, 0, &buf, &len, err, sizeof err),
        "encode: %s", err);
    feed_held(e, BATON_SRC_RESULTS, baton_partition_for(r->workflow_id, NPART),
              buf, len);
}

void env_simple_result(env_t *e, const char *task_id, const char *wf,
                       baton_result_kind_t kind, const char *out) {
    baton_result_t r = {0};
    r.task_id = (char *)task_id;
    r.workflow_id = (char *)wf;
    r.kind = kind;
    r.output = (char *)out;
    r.error = kind == BATON_RESULT_FAILED ? "Boom" : NULL;
    env_result(e, &r);
}

const baton_snapshot_t *env_snap(env_t *e, const char *id) {
    const baton_snapshot_t *s =
        baton_loop_cached(e->loop, baton_partition_for(id, NPART), id);
    const char *text = json_string_value(json_object_get(e->written, id));
    baton_snapshot_t *d, **grown;
    char err[256];
    if (s || !text) return s;
    if (!(d = baton_snapshot_decode(text, strlen(text), err, sizeof err))) {
        CHECK(0, "snapshot of %s decodes: %s", id, err);
        return NULL;
    }
    grown = baton_realloc(e->decoded, (e->ndecoded + 1) * sizeof *grown);
    if (!grown) {
        baton_snapshot_destroy(d);
        return NULL;
    }
    e->decoded = grown;
    e->decoded[e->ndecoded++] = d;
    return d;
}
