/*
 * wset.c -- growable arrays behind a partition's batch write set (wset.h).
 */
#include "wset.h"

#include <stdio.h>
#include <string.h>

/* Makes room for one more element in a growable array. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem) {
    void *p;
    size_t ncap;
    if (n < *cap) return 0;
    ncap = *cap ? *cap * 2 : 16;
    if (!(p = baton_realloc(*arr, ncap * elem))) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}
#define GROW(ws, f) \
    grow((void **)&(ws)->f, &(ws)->cap##f, (ws)->n##f, sizeof(*(ws)->f))

void baton_wset_init(baton_wset_t *ws, int32_t partition) {
    memset(ws, 0, sizeof *ws);
    ws->partition = partition;
    for (int i = 0; i < BATON_SRC_TOPICS; i++) ws->next_offset[i] = -1;
}

void baton_wset_reset(baton_wset_t *ws) {
    int32_t p = ws->partition;
    for (size_t i = 0; i < ws->nhist; i++) {
        baton_free(ws->hist[i].wf_id);
        baton_free(ws->hist[i].json);
    }
    for (size_t i = 0; i < ws->nout; i++) baton_outbox_msg_clear(&ws->out[i]);
    for (size_t i = 0; i < ws->nout_del; i++) baton_free(ws->out_del[i]);
    for (size_t i = 0; i < ws->ntadd; i++) baton_free(ws->tadd[i].member);
    for (size_t i = 0; i < ws->ntdel; i++) baton_free(ws->tdel[i]);
    for (size_t i = 0; i < ws->ndd; i++) {
        baton_free(ws->dd[i].wf_id);
        baton_free(ws->dd[i].dd);
    }
    for (size_t i = 0; i < ws->nspans; i++) baton_span_clear(&ws->spans[i]);
    baton_free(ws->spans);
    for (size_t i = 0; i < ws->nblobs; i++) {
        baton_free(ws->blobs[i].wf_id);
        baton_free(ws->blobs[i].text);
    }
    baton_free(ws->blobs);
    baton_free(ws->dd);
    baton_free(ws->snaps);
    baton_free(ws->hist);
    baton_free(ws->out);
    baton_free(ws->out_del);
    baton_free(ws->tadd);
    baton_free(ws->tdel);
    baton_wset_init(ws, p);
}

int baton_wset_empty(const baton_wset_t *ws) {
    for (int i = 0; i < BATON_SRC_TOPICS; i++)
        if (ws->next_offset[i] >= 0) return 0;
    return !ws->nsnaps && !ws->nhist && !ws->nout && !ws->nout_del &&
           !ws->ntadd && !ws->ntdel && !ws->ndd && !ws->nblobs;
}

void baton_wset_begin(baton_wset_t *ws, char src, int64_t offset,
                      const char *ref) {
    ws->cur_src = src;
    if (ref)
        snprintf(ws->cur_ref, sizeof ws->cur_ref, "%s", ref);
    else
        snprintf(ws->cur_ref, sizeof ws->cur_ref, "%lld", (long long)offset);
    ws->cur_k = 0;
}

baton_err_t baton_wset_snapshot(baton_wset_t *ws, baton_snapshot_t *s) {
    for (size_t i = 0; i < ws->nsnaps; i++)
        if (ws->snaps[i] == s) return BATON_OK;
    if (GROW(ws, snaps)) return BATON_ERR_NOMEM;
    ws->snaps[ws->nsnaps++] = s;
    return BATON_OK;
}

baton_err_t baton_wset_hist(baton_wset_t *ws, const char *wf_id, char *json,
                            int close) {
    baton_hist_add_t *h;
    if (GROW(ws, hist)) {
        baton_free(json);
        return BATON_ERR_NOMEM;
    }
    h = &ws->hist[ws->nhist];
    h->json = json;
    h->close = close;
    h->open = 0;
    if (!(h->wf_id = baton_strdup(wf_id))) {
        baton_free(json);
        return BATON_ERR_NOMEM;
    }
    ws->nhist++;
    return BATON_OK;
}

baton_err_t baton_wset_msg(baton_wset_t *ws, const char *topic,
                           int32_t partition, const char *key, int json,
                           char *value, size_t value_len) {
    char id[200];
    snprintf(id, sizeof id, "%c%s.%d", ws->cur_src, ws->cur_ref, ws->cur_k++);
    return baton_wset_msg_as(ws, id, topic, partition, key, json, value,
                             value_len);
}

baton_err_t baton_wset_msg_as(baton_wset_t *ws, const char *id,
                              const char *topic, int32_t partition,
                              const char *key, int json, char *value,
                              size_t value_len) {
    baton_outbox_msg_t *m;
    if (GROW(ws, out)) {
        baton_free(value);
        return BATON_ERR_NOMEM;
    }
    m = &ws->out[ws->nout];
    memset(m, 0, sizeof *m);
    m->id = baton_strdup(id);
    m->topic = baton_strdup(topic);
    m->key = key ? baton_strdup(key) : NULL;
    m->partition = partition;
    m->json = json;
    m->value = value;
    m->value_len = value_len;
    ws->nout++;
    if (!m->id || !m->topic || (key && !m->key)) return BATON_ERR_NOMEM;
    return BATON_OK;
}

baton_err_t baton_wset_trace_last(baton_wset_t *ws, const char *traceparent,
                                  const char *tracestate) {
    baton_outbox_msg_t *m;
    if (!ws->nout) return BATON_OK;
    m = &ws->out[ws->nout - 1];
    baton_free(m->traceparent);
    baton_free(m->tracestate);
    m->traceparent = traceparent ? baton_strdup(traceparent) : NULL;
    m->tracestate = tracestate ? baton_strdup(tracestate) : NULL;
    if ((traceparent && !m->traceparent) || (tracestate && !m->tracestate))
        return BATON_ERR_NOMEM;
    return BATON_OK;
}

baton_err_t baton_wset_span(baton_wset_t *ws, baton_span_t *sp) {
    if (GROW(ws, spans)) {
        baton_span_clear(sp);
        return BATON_ERR_NOMEM;
    }
    ws->spans[ws->nspans++] = *sp;
    memset(sp, 0, sizeof *sp);
    return BATON_OK;
}

baton_err_t baton_wset_outbox_done(baton_wset_t *ws, const char *id) {
    if (GROW(ws, out_del)) return BATON_ERR_NOMEM;
    if (!(ws->out_del[ws->nout_del] = baton_strdup(id))) return BATON_ERR_NOMEM;
    ws->nout_del++;
    return BATON_OK;
}

/* Removes `member` from a list of member strings (order kept). */
static void drop_member(char **list, size_t *n, const char *member) {
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(list[i], member)) {
            baton_free(list[i]);
            memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof *list);
            (*n)--;
            return;
        }
}

/* Timer operations of one batch are net: the store applies all adds, then
 * all removals, so the last operation on a member must be the only one. */
baton_err_t baton_wset_timer_add(baton_wset_t *ws, const char *member,
                                 int64_t due_ms) {
    drop_member(ws->tdel, &ws->ntdel, member);
    for (size_t i = 0; i < ws->ntadd; i++)
        if (!strcmp(ws->tadd[i].member, member)) {
            ws->tadd[i].due_ms = due_ms;
            return BATON_OK;
        }
    if (GROW(ws, tadd)) return BATON_ERR_NOMEM;
    if (!(ws->tadd[ws->ntadd].member = baton_strdup(member)))
        return BATON_ERR_NOMEM;
    ws->tadd[ws->ntadd++].due_ms = due_ms;
    return BATON_OK;
}

baton_err_t baton_wset_timer_del(baton_wset_t *ws, const char *member) {
    for (size_t i = 0; i < ws->ntadd; i++)
        if (!strcmp(ws->tadd[i].member, member)) {
            baton_free(ws->tadd[i].member);
            memmove(&ws->tadd[i], &ws->tadd[i + 1],
                    (ws->ntadd - i - 1) * sizeof *ws->tadd);
            ws->ntadd--;
            break;
        }
    if (GROW(ws, tdel)) return BATON_ERR_NOMEM;
    if (!(ws->tdel[ws->ntdel] = baton_strdup(member))) return BATON_ERR_NOMEM;
    ws->ntdel++;
    return BATON_OK;
}

baton_err_t baton_wset_dedupe(baton_wset_t *ws, const char *wf_id,
                              const char *dd, int64_t window_ms) {
    baton_dedupe_add_t *a;
    if (GROW(ws, dd)) return BATON_ERR_NOMEM;
    a = &ws->dd[ws->ndd];
    a->wf_id = baton_strdup(wf_id);
    a->dd = baton_strdup(dd);
    a->window_ms = window_ms;
    if (!a->wf_id || !a->dd) {
        baton_free(a->wf_id);
        baton_free(a->dd);
        return BATON_ERR_NOMEM;
    }
    ws->ndd++;
    return BATON_OK;
}

baton_err_t baton_wset_blob(baton_wset_t *ws, const char *wf_id,
                            const char *hex, const char *text, size_t len) {
    baton_blob_put_t *b;
    if (ws->nblobs == ws->capblobs) {
        size_t ncap = ws->capblobs ? ws->capblobs * 2 : 8;
        baton_blob_put_t *nb = baton_realloc(ws->blobs, ncap * sizeof *nb);
        if (!nb) return BATON_ERR_NOMEM;
        ws->blobs = nb;
        ws->capblobs = ncap;
    }
    b = &ws->blobs[ws->nblobs];
    memset(b, 0, sizeof *b);
    if (!(b->wf_id = baton_strdup(wf_id)) ||
        !(b->text = baton_malloc(len + 1))) {
        baton_free(b->wf_id);
        return BATON_ERR_NOMEM;
    }
    memcpy(b->text, text, len);
    b->text[len] = '\0';
    b->len = len;
    snprintf(b->hex, sizeof b->hex, "%s", hex);
    ws->nblobs++;
    return BATON_OK;
}
