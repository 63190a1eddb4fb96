/*
 * worker_rebalance.c -- rebalance handling: on revocation the worker
 * drops fetched-ahead jobs of the revoked partitions, waits (bounded) for
 * the running ones and their acknowledgements, commits and releases the
 * partitions; on assignment it resumes past a commit the group refused
 * during the rebalance.  Runs inside the consumer poll on the run thread.
 */
#include <string.h>

#include "worker_int.h"

/* Waits (serving the producer and the pool, never the consumer) until no
 * job of the partitions in l is running or unacknowledged, or until
 * revoke_wait_ms; then cancels what still runs.  Thread: run (inside the
 * rebalance callback). */
static void wait_partitions(baton_worker_t *w,
                            const rd_kafka_topic_partition_list_t *l) {
    int64_t deadline = baton_mono_us() + (int64_t)w->revoke_wait_ms * 1000;
    int busy = 0, logged = 0;
    for (;;) {
        busy = 0;
        for (int i = 0; i < l->cnt; i++) {
            part_t *p = baton_worker_part_assigned(w, l->elems[i].partition);
            if (p) busy += baton_worker_part_busy(p);
        }
        if (!busy || w->fatal || baton_mono_us() > deadline) break;
        if (!logged++)
            BATON_INFO(SUBSYS,
                       "rebalance: finishing %d task(s) of revoked "
                       "partitions first",
                       busy);
        rd_kafka_poll(w->producer, 0);
        baton_worker_serve_done(w);
        baton_worker_produce_retries(w);
        baton_worker_dispatch(w);
        baton_worker_wait_wakeup(w, 10);
    }
    if (!busy) return;
    BATON_WARN(SUBSYS,
               "rebalance: %d task(s) of revoked partitions still "
               "running after %d ms: cancelling them, they run again "
               "at the next owner",
               busy, w->revoke_wait_ms);
    for (int i = 0; i < l->cnt; i++) {
        part_t *p = baton_worker_part_assigned(w, l->elems[i].partition);
        for (size_t k = 0; p && k < p->cnt; k++)
            atomic_fetch_or(&baton_worker_ring_at(p, k)->cancel,
                            BATON_CANCEL_WORKER);
    }
}

/* Sets the start offset of newly assigned partitions that this worker gave
 * up last with more done than the group's committed offset says: a commit
 * during a rebalance can be refused (librdkafka's mock cluster refuses
 * every OffsetCommit while the group is joining or syncing), and starting
 * from the committed offset would run those tasks again.  Starting at the
 * larger of the two never skips a task: every offset below ours has its
 * result acknowledged.  Also records, for every assigned partition,
 * whether the group has a committed offset (part_t.group_offset).
 * Thread: run (inside the rebalance callback). */
static void resume_offsets(baton_worker_t *w, rd_kafka_t *rk,
                           rd_kafka_topic_partition_list_t *l) {
    rd_kafka_topic_partition_list_t *q = NULL;
    rd_kafka_resp_err_t err;
    for (int i = 0; i < l->cnt; i++) {
        part_t *p = baton_worker_part_assigned(w, l->elems[i].partition);
        if (!p) continue;
        if (!q) q = rd_kafka_topic_partition_list_new(l->cnt);
        rd_kafka_topic_partition_list_add(q, l->elems[i].topic, p->id);
    }
    if (!q) return;
    if ((err = rd_kafka_committed(rk, q, 5000)))
        BATON_WARN(SUBSYS, "reading committed offsets: %s",
                   rd_kafka_err2str(err));
    /* (not q->cnt = 0 on error: the list's destroy frees cnt elements) */
    for (int i = 0; !err && i < q->cnt; i++) {
        part_t *p = baton_worker_part_assigned(w, q->elems[i].partition);
        if (!p || q->elems[i].err) continue;
        /* Whether the group has an offset: the log start is committed
         * only when it has none (part_log_start). */
        p->group_offset = q->elems[i].offset >= 0;
        if (p->resume < 0 || q->elems[i].offset >= p->resume) continue;
        for (int k = 0; k < l->cnt; k++)
            if (l->elems[k].partition == p->id) l->elems[k].offset = p->resume;
        p->next_offset = p->resume; /* committed by the next commit */
        BATON_INFO(SUBSYS,
                   "%s [%d]: resuming at offset %lld, past the "
                   "committed %lld (its commit was refused during "
                   "the rebalance)",
                   w->task_topic, (int)p->id, (long long)p->resume,
                   (long long)q->elems[i].offset);
    }
    for (int i = 0; i < l->cnt; i++) {
        part_t *p = baton_worker_part_assigned(w, l->elems[i].partition);
        if (p) p->resume = -1;
    }
    rd_kafka_topic_partition_list_destroy(q);
}

/* Thread: run (inside rd_kafka_consumer_poll / close). */
void baton_worker_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t *l,
                               void *opaque) {
    baton_worker_t *w = opaque;
    int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t aerr = 0;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < l->cnt; i++) {
            part_t *p = baton_worker_part_get(w, l->elems[i].partition);
            if (!p) {
                baton_worker_set_fatal(w, BATON_ERR_NOMEM,
                                       "out of memory on assignment");
                break;
            }
            if (p->assigned)
                baton_worker_part_release(w, p); /* eager re-assignment */
            p->assigned = 1;
        }
        resume_offsets(w, rk, l);
        if (coop)
            error = rd_kafka_incremental_assign(rk, l);
        else
            aerr = rd_kafka_assign(rk, l);
        /* New partitions start paused when the worker is; and a
         * partition's pause flag may outlive its previous assignment. */
        if (w->paused)
            rd_kafka_pause_partitions(rk, l);
        else
            rd_kafka_resume_partitions(rk, l);
        atomic_store(&w->m_assigned, 1); /* readiness */
        BATON_INFO(SUBSYS, "assigned %d partition(s) of %s%s", l->cnt,
                   w->task_topic, w->paused ? " (paused)" : "");
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        int lost = rd_kafka_assignment_lost(rk);
        BATON_INFO(SUBSYS, "%s %d partition(s) of %s",
                   lost ? "lost" : "revoked", l->cnt, w->task_topic);
        /* Fetched-ahead tasks of these partitions are not started. */
        {
            job_list_t keep = {0};
            job_t *j;
            while ((j = baton_worker_list_pop(&w->backlog))) {
                int revoked = 0;
                for (int i = 0; i < l->cnt && !revoked; i++)
                    revoked = j->partition == l->elems[i].partition;
                if (revoked)
                    j->state = JOB_ABANDONED;
                else
                    baton_worker_list_push(&keep, j);
            }
            w->backlog = keep;
        }
        if (!lost) {
            wait_partitions(w, l);
            /* Commit what is done, for these partitions only (remembered
             * below in case the commit is refused: see resume_offsets). */
            for (int i = 0; i < l->cnt; i++) {
                part_t *p =
                    baton_worker_part_assigned(w, l->elems[i].partition);
                l->elems[i].offset = p ? baton_worker_part_commit_offset(p)
                                       : RD_KAFKA_OFFSET_INVALID;
            }
            {
                rd_kafka_topic_partition_list_t *c =
                    rd_kafka_topic_partition_list_new(l->cnt);
                for (int i = 0; i < l->cnt; i++)
                    if (l->elems[i].offset >= 0)
                        rd_kafka_topic_partition_list_add(c, l->elems[i].topic,
                                                          l->elems[i].partition)
                            ->offset = l->elems[i].offset;
                if (c->cnt) {
                    rd_kafka_resp_err_t cerr = rd_kafka_commit(rk, c, 0);
                    if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET)
                        BATON_WARN(SUBSYS, "commit on revocation: %s",
                                   rd_kafka_err2str(cerr));
                }
                rd_kafka_topic_partition_list_destroy(c);
            }
        }
        for (int i = 0; i < l->cnt; i++) {
            part_t *p = baton_worker_part_assigned(w, l->elems[i].partition);
            if (!p) continue;
            p->resume = baton_worker_part_commit_offset(p);
            baton_worker_part_release(w, p);
        }
        if (coop)
            error = rd_kafka_incremental_unassign(rk, l);
        else
            aerr = rd_kafka_assign(rk, NULL);
    } else {
        BATON_WARN(SUBSYS, "rebalance error: %s", rd_kafka_err2str(err));
        for (int32_t i = 0; i < w->parts_cap; i++)
            if (w->parts[i] && w->parts[i]->assigned)
                baton_worker_part_release(w, w->parts[i]);
        aerr = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        BATON_WARN(SUBSYS, "incremental (un)assign: %s",
                   rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (aerr) {
        BATON_WARN(SUBSYS, "assign: %s", rd_kafka_err2str(aerr));
    }
}
