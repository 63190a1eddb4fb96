/*
 * cancels.h -- the worker SDK's listener for cancellation notices (internal
 * to libbaton_worker; see baton_worker.h for what workers see).
 *
 * batond produces a Command of kind CANCEL with task_id = the activity
 * attempt to stop, key = workflow_id, to topic <topic.prefix>.cancels when it
 * gives up on an attempt (workflow cancelled or terminated, attempt timed
 * out).  Every worker instance must see every notice, whatever partitions of
 * the task topic it owns, so the listener does not join a consumer group:
 * it assigns itself all partitions of the cancels topic (never joining
 * its nominal group <topic.prefix>.worker.cancels, never committing), starting at their end when the topic exists as it
 * starts and at their beginning when the topic appears later (it was
 * created after the listener started, so all of it is news).  It re-reads
 * the topic's metadata every second while the topic is missing and every
 * 30 s after, to pick up added partitions.
 *
 * The task ids of the notices are kept in a bounded set (the last
 * BATON_CANCELS_REMEMBERED ids, oldest evicted first), so that a task
 * whose notice arrives before the task itself is fetched or started is
 * never run.  A worker (re)started after a notice was produced does not
 * know it: such a task runs, and its result is ignored by batond as stale.
 *
 * Threads: the listener runs its own thread (Kafka metadata calls block);
 * baton_cancels_contains and baton_cancels_generation may be called from
 * any thread.
 */
#ifndef BATON_CANCELS_H
#define BATON_CANCELS_H

#include <stdint.h>

#include "baton_common.h"
#include "config.h"

#define BATON_CANCELS_REMEMBERED 4096

typedef struct baton_cancels baton_cancels_t;

/* Builds the listener's Kafka consumer for <topic.prefix>.cancels from conf
 * (read during the call only).  wake(opaque) is called on the listener's
 * thread after each new notice.  Returns the listener (not started), or
 * NULL with the reason in errstr.  Thread: any. */
baton_cancels_t *baton_cancels_new(const baton_conf_t *conf,
                                   void (*wake)(void *opaque), void *opaque,
                                   char *errstr, size_t errlen);

/* Starts the listener's thread.  BATON_OK or BATON_ERR_IO with errstr. */
baton_err_t baton_cancels_start(baton_cancels_t *c, char *errstr,
                                size_t errlen);

/* 1 when a notice named task_id (among the last BATON_CANCELS_REMEMBERED),
 * else 0.  Thread: any. */
int baton_cancels_contains(baton_cancels_t *c, const char *task_id);

/* A counter that grows with every new notice: a caller that saw it change
 * re-checks its tasks with baton_cancels_contains.  Thread: any. */
uint64_t baton_cancels_generation(const baton_cancels_t *c);

/* Stops and joins the thread, closes the consumer, frees everything.
 * NULL is a no-op.  Thread: the one that created it. */
void baton_cancels_destroy(baton_cancels_t *c);

#endif /* BATON_CANCELS_H */
