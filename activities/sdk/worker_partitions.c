/*
 * worker_partitions.c -- per-partition offset tracking: each assigned
 * partition keeps a ring of its jobs in offset order; acknowledged jobs
 * leave at the head, and the offset to commit is the head's (worker_int.h
 * draws the ring).  Also the commits themselves, their async results, and
 * pausing every partition while the local backlog is full.
 */
#include <assert.h>
#include <string.h>

#include "worker_int.h"

/* The record of partition id, created on first use.  NULL on OOM. */
part_t *baton_worker_part_get(baton_worker_t *w, int32_t id) {
    assert(id >= 0);
    if (id >= w->parts_cap) {
        int32_t ncap = w->parts_cap ? w->parts_cap : 16;
        part_t **n;
        while (ncap <= id) ncap *= 2;
        if (!(n = baton_realloc(w->parts, (size_t)ncap * sizeof *n)))
            return NULL;
        memset(n + w->parts_cap, 0, (size_t)(ncap - w->parts_cap) * sizeof *n);
        w->parts = n;
        w->parts_cap = ncap;
    }
    if (!w->parts[id]) {
        part_t *p = baton_calloc(1, sizeof *p);
        if (!p) return NULL;
        p->id = id;
        p->next_offset = p->committed = p->resume = -1;
        p->group_offset = -1;
        w->parts[id] = p;
    }
    return w->parts[id];
}

part_t *baton_worker_part_assigned(baton_worker_t *w, int32_t id) {
    if (id < 0 || id >= w->parts_cap || !w->parts[id] ||
        !w->parts[id]->assigned)
        return NULL;
    return w->parts[id];
}

job_t *baton_worker_ring_at(const part_t *p, size_t i) {
    return p->ring[(p->head + i) % p->cap];
}

/* Appends a job (the next offset of the partition).  -1 on OOM. */
int baton_worker_ring_push(part_t *p, job_t *j) {
    if (p->cnt == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        job_t **n = baton_malloc(ncap * sizeof *n);
        if (!n) return -1;
        for (size_t i = 0; i < p->cnt; i++) n[i] = baton_worker_ring_at(p, i);
        baton_free(p->ring);
        p->ring = n;
        p->head = 0;
        p->cap = ncap;
    }
    p->ring[(p->head + p->cnt) % p->cap] = j;
    p->cnt++;
    return 0;
}

/* Pops acknowledged jobs off the head (freeing them). */
void baton_worker_ring_advance(part_t *p) {
    while (p->cnt && baton_worker_ring_at(p, 0)->state == JOB_ACKED) {
        baton_worker_job_free(baton_worker_ring_at(p, 0));
        p->head = (p->head + 1) % p->cap;
        p->cnt--;
    }
}

/* The offset to commit: the lowest not acknowledged, or -1 for none. */
int64_t baton_worker_part_commit_offset(const part_t *p) {
    return p->cnt ? baton_worker_ring_at(p, 0)->offset : p->next_offset;
}

/* Jobs of p that still need the run thread's attention before the
 * partition can be given up: running, or with a result not yet acked. */
int baton_worker_part_busy(const part_t *p) {
    int n = 0;
    for (size_t i = 0; i < p->cnt; i++) {
        job_state_t s = baton_worker_ring_at(p, i)->state;
        n += s == JOB_RUNNING || s == JOB_DONE || s == JOB_PRODUCED;
    }
    return n;
}

/* Forgets p's jobs: acked and abandoned ones are freed, jobs still running
 * or producing become orphans (freed when done), backlog ones are
 * abandoned.  Thread: run. */
void baton_worker_part_release(baton_worker_t *w, part_t *p) {
    /* Unlink p's backlog jobs first. */
    job_list_t keep = {0};
    job_t *j;
    while ((j = baton_worker_list_pop(&w->backlog))) {
        if (j->part == p)
            j->state = JOB_ABANDONED;
        else
            baton_worker_list_push(&keep, j);
    }
    w->backlog = keep;
    for (size_t i = 0; i < p->cnt; i++) {
        j = baton_worker_ring_at(p, i);
        if (j->state == JOB_ACKED || j->state == JOB_ABANDONED)
            baton_worker_job_free(j);
        else
            j->part = NULL;
    }
    p->cnt = p->head = 0;
    p->next_offset = p->committed = -1;
    p->group_offset = -1;
    p->assigned = 0;
}

/* The log start offset of p as librdkafka last saw it (fetch responses
 * carry it), or -1: what a partition that has delivered no task yet
 * commits when the group has no committed offset for it, so that the group
 * has an offset on every partition and lag never reads "unknown" (KEDA
 * scales a never-committed group to its maximum).  No task is skipped: the
 * consumer has received none.  Never when the group already has an offset
 * (or it is unknown): committing the log start would move it back, and the
 * next owner would run every task since the log start again (found by the
 * chaos suite on Apache Kafka: a partition assigned after the load stopped
 * committed 0 over the previous owner's 72). */
static int64_t part_log_start(baton_worker_t *w, const part_t *p) {
    int64_t lo, hi;
    if (p->cnt || p->group_offset != 0 ||
        rd_kafka_get_watermark_offsets(w->consumer, w->task_topic, p->id, &lo,
                                       &hi) ||
        lo < 0)
        return -1;
    return lo;
}

/* A topic-partition list of the assigned partitions (all, or those whose
 * commit offset moved when for_commit).  NULL when empty. */
rd_kafka_topic_partition_list_t *baton_worker_assigned_list(baton_worker_t *w,
                                                            int for_commit) {
    rd_kafka_topic_partition_list_t *l = NULL;
    for (int32_t i = 0; i < w->parts_cap; i++) {
        part_t *p = w->parts[i];
        int64_t off;
        if (!p || !p->assigned) continue;
        off = baton_worker_part_commit_offset(p);
        if (for_commit && off < 0) off = part_log_start(w, p);
        if (for_commit && (off < 0 || off == p->committed)) continue;
        if (!l) l = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_partition_list_add(l, w->task_topic, p->id)->offset =
            off;
    }
    return l;
}

/* Commits every assigned partition whose commit offset moved.  Sync when
 * sync (rebalance, stop), else async and at most every 100 ms.
 * Thread: run. */
void baton_worker_commit_offsets(baton_worker_t *w, int sync) {
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;
    int64_t now = baton_mono_us();

    if (!sync && now - w->last_commit_us < COMMIT_INTERVAL_US) return;
    if (!(l = baton_worker_assigned_list(w, 1))) return;
    w->last_commit_us = now;
    for (int i = 0; i < l->cnt; i++)
        w->parts[l->elems[i].partition]->committed = l->elems[i].offset;
    err = rd_kafka_commit(w->consumer, l, !sync);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        BATON_WARN(SUBSYS, "committing offsets of %s: %s (retried)",
                   w->task_topic, rd_kafka_err2str(err));
        for (int i = 0; i < l->cnt; i++) {
            part_t *p = baton_worker_part_assigned(w, l->elems[i].partition);
            if (p) p->committed = -1;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* ---- pausing -------------------------------------------------------------
 */

int baton_worker_pause_wanted(const baton_worker_t *w) {
    if (w->stopping || w->fatal) return 1;
    if (!w->paused) return w->backlog.cnt >= w->prefetch;
    return w->backlog.cnt > w->prefetch / 2;
}

/* Pauses every assigned partition when the backlog is full or the worker
 * drains; resumes when the backlog is down to half.  Thread: run. */
void baton_worker_update_pause(baton_worker_t *w) {
    int want = baton_worker_pause_wanted(w);
    rd_kafka_topic_partition_list_t *l;
    if (want == w->paused) return;
    w->paused = want;
    if (!(l = baton_worker_assigned_list(w, 0))) return;
    if (want)
        rd_kafka_pause_partitions(w->consumer, l);
    else
        rd_kafka_resume_partitions(w->consumer, l);
    BATON_DEBUG(SUBSYS, "%s %d partition(s) (%d running, %d fetched ahead)",
                want ? "paused" : "resumed", l->cnt, w->running,
                w->backlog.cnt);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Thread: run (async commit results). */
void baton_worker_offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t *l,
                                   void *opaque) {
    baton_worker_t *w = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    for (int i = 0; l && i < l->cnt; i++) {
        if (!err && !l->elems[i].err) continue;
        BATON_DEBUG(SUBSYS, "commit of %s [%d] failed: %s (retried)",
                    l->elems[i].topic, (int)l->elems[i].partition,
                    rd_kafka_err2str(err ? err : l->elems[i].err));
        if (!strcmp(l->elems[i].topic, w->task_topic)) {
            part_t *p = baton_worker_part_assigned(w, l->elems[i].partition);
            if (p && p->committed == l->elems[i].offset) p->committed = -1;
        }
    }
}
