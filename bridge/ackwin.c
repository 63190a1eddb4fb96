/*
 * ackwin.c -- the acknowledgement window of one source partition
 * (ackwin.h): a ring buffer of (offset, acked) in offset order; acked
 * entries are popped from the head, an ack finds its entry by binary
 * search.
 */
#include "ackwin.h"

#include <string.h>

typedef struct {
    int64_t offset;
    int acked;
} ackwin_slot_t;

struct baton_ackwin {
    ackwin_slot_t *ring;
    size_t cap, head, cnt; /* cnt entries from head (mod cap) */
    size_t unacked;
    int64_t last; /* last offset pushed, -1 none */
};

baton_ackwin_t *baton_ackwin_new(void) {
    baton_ackwin_t *w = baton_calloc(1, sizeof *w);
    if (w) w->last = -1;
    return w;
}

void baton_ackwin_destroy(baton_ackwin_t *w) {
    if (!w) return;
    baton_free(w->ring);
    baton_free(w);
}

static ackwin_slot_t *slot(const baton_ackwin_t *w, size_t i) {
    return &w->ring[(w->head + i) % w->cap];
}

static baton_err_t grow(baton_ackwin_t *w) {
    size_t ncap = w->cap ? w->cap * 2 : 64;
    ackwin_slot_t *n = baton_malloc(ncap * sizeof *n);
    if (!n) return BATON_ERR_NOMEM;
    for (size_t i = 0; i < w->cnt; i++) n[i] = *slot(w, i);
    baton_free(w->ring);
    w->ring = n;
    w->cap = ncap;
    w->head = 0;
    return BATON_OK;
}

baton_err_t baton_ackwin_push(baton_ackwin_t *w, int64_t offset) {
    if (offset <= w->last) return BATON_ERR_INVALID;
    if (w->cnt == w->cap && grow(w)) return BATON_ERR_NOMEM;
    *slot(w, w->cnt) = (ackwin_slot_t){offset, 0};
    w->cnt++;
    w->unacked++;
    w->last = offset;
    return BATON_OK;
}

int baton_ackwin_ack(baton_ackwin_t *w, int64_t offset) {
    size_t lo = 0, hi = w->cnt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slot(w, mid)->offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == w->cnt || slot(w, lo)->offset != offset || slot(w, lo)->acked)
        return -1;
    slot(w, lo)->acked = 1;
    w->unacked--;
    while (w->cnt && slot(w, 0)->acked) {
        w->head = (w->head + 1) % w->cap;
        w->cnt--;
    }
    return 0;
}

int64_t baton_ackwin_commit_offset(const baton_ackwin_t *w) {
    if (w->cnt) return slot(w, 0)->offset;
    return w->last < 0 ? -1 : w->last + 1;
}

size_t baton_ackwin_pending(const baton_ackwin_t *w) {
    return w->unacked;
}
