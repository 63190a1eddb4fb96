/*
 * worker_fixture.h -- what the worker SDK's unit tests (test_worker_*.c)
 * share: the CHECK counter and a bare worker object with no Kafka clients
 * and no threads, on which the SDK's pure parts (worker_int.h) run.
 */
#ifndef BATON_TESTS_WORKER_FIXTURE_H
#define BATON_TESTS_WORKER_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "worker_int.h"

#include "check.h"

/* A worker as baton_worker_new leaves it, minus Kafka, the cancellation
 * listener and the wake pipe: concurrency and prefetch as given, its own
 * codec.  Free with baton_worker_destroy. */
static inline baton_worker_t *fixture_worker(int concurrency) {
    baton_worker_t *w = baton_calloc(1, sizeof *w);
    char err[256];
    if (!w) return NULL;
    w->wake[0] = w->wake[1] = -1;
    atomic_init(&w->stop_cnt, 0);
    atomic_init(&w->hb_pending_cnt, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->hb_mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->concurrency = w->prefetch = concurrency;
    w->id = baton_strdup("test-worker");
    w->queue = baton_strdup("default");
    w->task_topic = baton_strdup("baton.tasks.default");
    w->results_topic = baton_strdup("baton.results");
    w->dlq_topic = baton_strdup("baton.dlq");
    w->group = baton_strdup("baton.worker.default");
    w->codec = baton_codec_new(err, sizeof err);
    return w;
}

/* A job of w at (partition, offset), tracked in its partition's ring, in
 * state s.  NULL on OOM. */
static inline job_t *fixture_job(baton_worker_t *w, int32_t partition,
                                 int64_t offset, job_state_t s) {
    part_t *p = baton_worker_part_get(w, partition);
    job_t *j = baton_calloc(1, sizeof *j);
    if (!p || !j || baton_worker_ring_push(p, j)) {
        baton_free(j);
        return NULL;
    }
    p->assigned = 1;
    p->next_offset = offset + 1;
    j->w = w;
    j->part = p;
    j->partition = partition;
    j->offset = offset;
    j->state = s;
    atomic_init(&j->cancel, 0);
    return j;
}

static inline int fixture_report(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
