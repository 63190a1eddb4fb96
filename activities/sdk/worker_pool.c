/*
 * worker_pool.c -- the task pool: worker.concurrency threads that run
 * handlers.  The run thread hands BACKLOG jobs over (dispatch) while fewer
 * than worker.concurrency run, and takes DONE jobs back (serve_done) to
 * produce their answers; a job flagged by a cancellation notice before it
 * starts is answered without running.  worker_int.h tells the job states.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "worker_int.h"

/* Stops the job's heartbeats once its handler returned: a held-back one
 * is dropped (the result follows).  Thread: pool. */
void baton_worker_job_close_heartbeats(baton_worker_t *w, job_t *j) {
    pthread_mutex_lock(&w->hb_mu);
    j->hb_closed = 1;
    if (j->hb_pending) atomic_fetch_sub(&w->hb_pending_cnt, 1);
    j->hb_pending = 0;
    baton_free(j->hb_details);
    j->hb_details = NULL;
    pthread_mutex_unlock(&w->hb_mu);
}

/* What the handler did not report itself: a cancelled attempt answers
 * FAILED "Baton.Cancelled" (batond ignores it as stale: it gave the attempt
 * up before sending the notice; the result lets the task's offset be
 * committed), a task the worker itself gave up is left for redelivery
 * (returns 0: nothing to send), anything else is "Baton.NoResult".
 * Returns 1 when there is a result to send.  Thread: pool. */
int baton_worker_job_default_outcome(job_t *j) {
    int why = atomic_load(&j->cancel);
    if (why & BATON_CANCEL_ORCHESTRATOR) {
        baton_activity_fail(j, "Baton.Cancelled",
                            "the orchestrator cancelled this attempt "
                            "(notice on the cancels topic)",
                            0);
        return 1;
    }
    if (why & BATON_CANCEL_WORKER) {
        BATON_INFO(SUBSYS,
                   "task %s cancelled by the worker without a "
                   "result: left for redelivery",
                   j->task.task_id);
        return 0;
    }
    baton_activity_fail(j, "Baton.NoResult",
                        baton_activity_cancelled(j)
                            ? "the handler returned without reporting after "
                              "the activity's deadline passed"
                            : "the handler returned without reporting a "
                              "result",
                        0);
    return 1;
}

/* Runs one job on a pool thread: the handler (unless a cancellation
 * notice came first), then the answer. */
static void job_run(baton_worker_t *w, job_t *j, baton_codec_t *codec) {
    int64_t t0 = baton_mono_us();
    j->codec = codec;
    j->started_us = t0;
    baton_worker_metrics_job_start(w, j);
    baton_worker_trace_started(j);
    BATON_DEBUG(SUBSYS, "task %s (%s, attempt %d) started", j->task.task_id,
                j->task.activity_type, (int)j->task.attempt);
    if (atomic_load(&j->cancel) & BATON_CANCEL_ORCHESTRATOR) {
        BATON_INFO(SUBSYS, "task %s cancelled before it started: not run",
                   j->task.task_id);
    } else if (j->handler) {
        if (!baton_worker_blobs_resolve_input(w, j))
            j->handler->fn(j, j->handler->opaque);
    } else {
        char cause[512];
        snprintf(cause, sizeof cause,
                 "no handler for activity type '%s' on worker %s (queue %s)",
                 j->task.activity_type, w->id, w->queue);
        baton_activity_fail(j, "Baton.UnknownActivityType", cause, 0);
    }
    baton_worker_job_close_heartbeats(w, j);
    if (!j->reported && !baton_worker_job_default_outcome(j)) {
        baton_worker_metrics_job_end(w, j);
        j->codec = NULL;
        return; /* out_buf NULL: nothing to send */
    }
    baton_worker_metrics_job_end(w, j);
    baton_worker_blobs_store_output(w, j);
    baton_worker_job_encode_result(w, j, codec);
    baton_worker_trace_end(w, j);
    j->codec = NULL;
    BATON_DEBUG(SUBSYS, "task %s %s in %.1f ms", j->task.task_id,
                baton_result_kind_name(j->kind),
                (double)(baton_mono_us() - t0) / 1000.0);
}

typedef struct pool_arg {
    baton_worker_t *w;
    baton_codec_t *codec;
} pool_arg_t;

static void *pool_main(void *arg) {
    baton_worker_t *w = ((pool_arg_t *)arg)->w;
    baton_codec_t *codec = ((pool_arg_t *)arg)->codec;
    baton_free(arg);
    for (;;) {
        job_t *j;
        pthread_mutex_lock(&w->mu);
        while (!w->queue_in.head && !w->pool_exit)
            pthread_cond_wait(&w->cv, &w->mu);
        j = baton_worker_list_pop(&w->queue_in);
        pthread_mutex_unlock(&w->mu);
        if (!j) return NULL; /* pool_exit and nothing queued */
        job_run(w, j, codec);
        pthread_mutex_lock(&w->mu);
        baton_worker_list_push(&w->done, j);
        pthread_mutex_unlock(&w->mu);
        baton_worker_wake(w);
    }
}

/* Hands backlog jobs to the pool while below worker.concurrency.
 * Thread: run. */
void baton_worker_dispatch(baton_worker_t *w) {
    job_t *j;
    if (w->stopping || w->fatal) return;
    while (w->running < w->concurrency &&
           (j = baton_worker_list_pop(&w->backlog))) {
        if (baton_cancels_contains(w->cancels, j->task.task_id))
            atomic_fetch_or(&j->cancel, BATON_CANCEL_ORCHESTRATOR);
        j->state = JOB_RUNNING;
        w->running++;
        pthread_mutex_lock(&w->mu);
        baton_worker_list_push(&w->queue_in, j);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

/* Takes back the jobs the pool finished and produces their answers.
 * Thread: run. */
void baton_worker_serve_done(baton_worker_t *w) {
    job_list_t l;
    job_t *j;
    pthread_mutex_lock(&w->mu);
    l = w->done;
    memset(&w->done, 0, sizeof w->done);
    pthread_mutex_unlock(&w->mu);
    while ((j = baton_worker_list_pop(&l))) {
        w->running--;
        if (!j->out_buf) { /* nothing to send: stays uncommitted */
            j->state = JOB_ABANDONED;
            if (!j->part) baton_worker_job_free(j);
            continue;
        }
        w->out_pending++;
        baton_worker_job_produce(w, j);
    }
}

/* After new cancellation notices: flags the running and fetched tasks
 * they name (a fetched one is then answered without running; dispatch
 * checks the notices again for tasks fetched later).  Thread: run. */
void baton_worker_apply_cancels(baton_worker_t *w) {
    uint64_t gen = baton_cancels_generation(w->cancels);
    if (gen == w->cancels_seen) return;
    w->cancels_seen = gen;
    for (int32_t i = 0; i < w->parts_cap; i++) {
        part_t *p = w->parts[i];
        for (size_t k = 0; p && k < p->cnt; k++) {
            job_t *j = baton_worker_ring_at(p, k);
            if ((j->state != JOB_RUNNING && j->state != JOB_BACKLOG) ||
                !j->task.task_id ||
                (atomic_load(&j->cancel) & BATON_CANCEL_ORCHESTRATOR) ||
                !baton_cancels_contains(w->cancels, j->task.task_id))
                continue;
            atomic_fetch_or(&j->cancel, BATON_CANCEL_ORCHESTRATOR);
            BATON_INFO(SUBSYS, "task %s cancelled by the orchestrator%s",
                       j->task.task_id,
                       j->state == JOB_RUNNING ? ": its handler is told"
                                               : " before it started");
        }
    }
}

/* Starts the pool threads, each with its own codec.  Thread: run. */
baton_err_t baton_worker_pool_start(baton_worker_t *w) {
    char e[512];
    if (!(w->threads =
              baton_calloc((size_t)w->concurrency, sizeof *w->threads)) ||
        !(w->codecs = baton_calloc((size_t)w->concurrency, sizeof *w->codecs)))
        return baton_seterr(w->errstr, sizeof w->errstr, BATON_ERR_NOMEM,
                            "out of memory starting the pool");
    for (int i = 0; i < w->concurrency; i++) {
        pool_arg_t *a = baton_malloc(sizeof *a);
        if (!a || !(w->codecs[i] = baton_codec_new(e, sizeof e))) {
            baton_free(a);
            return baton_seterr(w->errstr, sizeof w->errstr,
                                a ? BATON_ERR_CONFIG : BATON_ERR_NOMEM,
                                "starting pool thread %d: %s", i,
                                a ? e : "out of memory");
        }
        baton_codec_set_crypt(w->codecs[i], w->crypt);
        a->w = w;
        a->codec = w->codecs[i];
        if (pthread_create(&w->threads[i], NULL, pool_main, a)) {
            baton_free(a);
            return baton_seterr(w->errstr, sizeof w->errstr, BATON_ERR_IO,
                                "starting pool thread %d: %s", i,
                                strerror(errno));
        }
        w->thread_cnt++;
    }
    return BATON_OK;
}

/* Stops and joins the pool threads after their current job.  Thread:
 * run / application. */
void baton_worker_pool_join(baton_worker_t *w) {
    pthread_mutex_lock(&w->mu);
    w->pool_exit = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->thread_cnt; i++) pthread_join(w->threads[i], NULL);
    w->thread_cnt = 0;
}
