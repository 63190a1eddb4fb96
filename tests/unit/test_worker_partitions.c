/*
 * test_worker_partitions.c -- the worker SDK's offset tracking and its
 * concurrency bookkeeping without Kafka (worker_partitions.c, worker_pool.c,
 * worker.c's revocation wait): the per-partition ring, the commit offset
 * that never passes an unacknowledged task, releasing a revoked partition,
 * dispatching at most worker.concurrency jobs, taking finished jobs back,
 * and when the partitions pause.
 */
#include "worker_fixture.h"

static void test_ring_and_commit_offset(void) {
    baton_worker_t *w = fixture_worker(4);
    part_t *p = baton_worker_part_get(w, 3);
    job_t *j17, *j18, *j19;

    CHECK(p && p->id == 3 && p->next_offset == -1 && p->committed == -1 &&
              p->resume == -1,
          "a new partition record knows no offsets");
    CHECK(baton_worker_part_get(w, 3) == p, "the same record on next use");
    CHECK(baton_worker_part_assigned(w, 3) == NULL,
          "not assigned until the rebalance says so");
    CHECK(baton_worker_part_commit_offset(p) == -1, "nothing to commit");

    j17 = fixture_job(w, 3, 17, JOB_PRODUCED);
    j18 = fixture_job(w, 3, 18, JOB_PRODUCED);
    j19 = fixture_job(w, 3, 19, JOB_RUNNING);
    CHECK(j17 && j18 && j19 && baton_worker_part_assigned(w, 3) == p,
          "three jobs tracked");
    CHECK(baton_worker_part_commit_offset(p) == 17,
          "commit offset: the lowest unacknowledged");
    CHECK(baton_worker_part_busy(p) == 3, "produced and running are busy");

    j18->state = JOB_ACKED;
    baton_worker_ring_advance(p);
    CHECK(baton_worker_part_commit_offset(p) == 17 && p->cnt == 3,
          "an ack after an unacked job moves nothing");
    j17->state = JOB_ACKED;
    baton_worker_ring_advance(p);
    CHECK(p->cnt == 1 && baton_worker_part_commit_offset(p) == 19,
          "acking 17 pops 17 and 18: commit 19");
    j19->state = JOB_ACKED;
    baton_worker_ring_advance(p);
    CHECK(p->cnt == 0 && baton_worker_part_commit_offset(p) == 20,
          "empty ring: one past the last offset received");
    baton_worker_destroy(w);
}

static void test_ring_grows_when_wrapped(void) {
    baton_worker_t *w = fixture_worker(4);
    part_t *p;
    int ok = 1;
    for (int64_t o = 0; o < 10; o++) fixture_job(w, 0, o, JOB_ACKED);
    p = baton_worker_part_get(w, 0);
    /* Ack 0..4 except keep 5.. so the head moves: the ring wraps. */
    for (size_t i = 5; i < p->cnt; i++)
        baton_worker_ring_at(p, i)->state = JOB_BACKLOG;
    baton_worker_ring_advance(p);
    for (int64_t o = 10; o < 40; o++) fixture_job(w, 0, o, JOB_BACKLOG);
    CHECK(p->cnt == 35 && p->cap >= 35, "grown past the first 16 slots");
    for (size_t i = 0; i < p->cnt; i++)
        ok &= baton_worker_ring_at(p, i)->offset == (int64_t)(5 + i);
    CHECK(ok, "offset order survives wrapping and growing");
    CHECK(baton_worker_part_get(w, 40) && w->parts_cap > 40,
          "partition ids past the table grow it");
    baton_worker_destroy(w);
}

static void test_release(void) {
    baton_worker_t *w = fixture_worker(4);
    job_t *running, *queued, *other;
    part_t *p;
    fixture_job(w, 1, 5, JOB_ACKED);
    running = fixture_job(w, 1, 6, JOB_RUNNING);
    queued = fixture_job(w, 1, 7, JOB_BACKLOG);
    other = fixture_job(w, 2, 0, JOB_BACKLOG);
    baton_worker_list_push(&w->backlog, queued);
    baton_worker_list_push(&w->backlog, other);
    p = baton_worker_part_get(w, 1);
    baton_worker_part_release(w, p);
    CHECK(!p->assigned && p->cnt == 0 && p->next_offset == -1,
          "the released partition tracks nothing");
    CHECK(w->backlog.cnt == 1 && w->backlog.head == other,
          "its fetched-ahead jobs leave the backlog (abandoned and freed "
          "with the acked ones: ASan checks), others stay");
    (void)queued;
    CHECK(running->part == NULL && running->state == JOB_RUNNING,
          "a running job becomes an orphan");
    baton_worker_job_free(running); /* the pool would, once it is done */
    baton_worker_destroy(w);
}

static void test_dispatch_and_serve_done(void) {
    baton_worker_t *w = fixture_worker(2);
    job_t *j[3];
    for (int i = 0; i < 3; i++) {
        j[i] = fixture_job(w, 0, i, JOB_BACKLOG);
        baton_worker_list_push(&w->backlog, j[i]);
    }
    baton_worker_dispatch(w);
    CHECK(w->running == 2 && w->queue_in.cnt == 2 && w->backlog.cnt == 1,
          "at most worker.concurrency jobs go to the pool");
    CHECK(j[0]->state == JOB_RUNNING && j[1]->state == JOB_RUNNING &&
              j[2]->state == JOB_BACKLOG,
          "in offset order");
    baton_worker_dispatch(w);
    CHECK(w->running == 2, "no more while the pool is full");

    /* The pool hands j[0] back with nothing to send (the worker gave it
     * up): it is abandoned and stays uncommitted. */
    baton_worker_list_pop(&w->queue_in);
    baton_worker_list_push(&w->done, j[0]);
    baton_worker_serve_done(w);
    CHECK(w->running == 1 && j[0]->state == JOB_ABANDONED &&
              w->out_pending == 0,
          "a job with no answer is abandoned, not produced");
    CHECK(baton_worker_part_commit_offset(baton_worker_part_get(w, 0)) == 0,
          "and its offset is not committed");
    baton_worker_dispatch(w);
    CHECK(w->running == 2 && j[2]->state == JOB_RUNNING,
          "the freed slot takes the next job");

    w->stopping = 1;
    baton_worker_list_pop(&w->queue_in);
    baton_worker_list_pop(&w->queue_in);
    j[1]->state = j[2]->state = JOB_ACKED;
    w->running = 0;
    baton_worker_destroy(w);
}

static void test_pause(void) {
    baton_worker_t *w = fixture_worker(4);
    job_t jobs[4];
    for (int i = 0; i < 3; i++) baton_worker_list_push(&w->backlog, &jobs[i]);
    CHECK(!baton_worker_pause_wanted(w), "below prefetch: consume");
    baton_worker_list_push(&w->backlog, &jobs[3]);
    CHECK(baton_worker_pause_wanted(w), "prefetch fetched ahead: pause");
    w->paused = 1;
    baton_worker_list_pop(&w->backlog);
    CHECK(baton_worker_pause_wanted(w), "paused: stays paused above half");
    baton_worker_list_pop(&w->backlog);
    CHECK(!baton_worker_pause_wanted(w), "down to half: resume");
    w->paused = 0;
    w->stopping = 1;
    CHECK(baton_worker_pause_wanted(w), "stopping: pause whatever the backlog");
    memset(&w->backlog, 0, sizeof w->backlog);
    baton_worker_destroy(w);
}

static void test_revoke_wait(void) {
    CHECK(baton_worker_revoke_wait_ms(300000, 45000) == 22500,
          "librdkafka's defaults: half the session timeout");
    CHECK(baton_worker_revoke_wait_ms(300000, 6000) == 3000,
          "the dev stack: 3 s");
    CHECK(baton_worker_revoke_wait_ms(10000, 45000) == 5000,
          "half of a smaller max.poll.interval.ms");
    CHECK(baton_worker_revoke_wait_ms(0, 0) == 150000, "unknown: 150 s");
}

int main(void) {
    test_ring_and_commit_offset();
    test_ring_grows_when_wrapped();
    test_release();
    test_dispatch_and_serve_done();
    test_pause();
    test_revoke_wait();
    return fixture_report();
}
