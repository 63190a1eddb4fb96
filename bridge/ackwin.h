/*
 * ackwin.h -- the acknowledgement window of one source partition: which
 * offset baton-bridge may commit.
 *
 * Every record polled from the partition is pushed in offset order; it is
 * acknowledged when the command (or DLQ record) made of it has been
 * acknowledged by Kafka, or at once when it made nothing (an unmatched
 * event).  The commit offset is the lowest offset not yet acknowledged,
 * or the offset after the last one pushed when all are: the highest offset
 * below which everything is acknowledged.  So a commit never passes a
 * record whose command may still be lost, and a restarted bridge
 * re-reads exactly the records whose commands were not acknowledged.
 *
 *   push 5 6 7 8, ack 6 and 8  -> commit 5 (5 still in flight)
 *   ack 5                      -> commit 7
 *   ack 7                      -> commit 9
 *
 * A ring buffer of (offset, acked), grown on demand.  Pure; one thread.
 */
#ifndef BATON_BRIDGE_ACKWIN_H
#define BATON_BRIDGE_ACKWIN_H

#include "baton_common.h"

typedef struct baton_ackwin baton_ackwin_t;

baton_ackwin_t *baton_ackwin_new(void);       /* NULL when out of memory */
void baton_ackwin_destroy(baton_ackwin_t *w); /* NULL is a no-op */

/* Records that `offset` was polled (offsets strictly increase; a smaller
 * or equal one -- a re-delivery after a seek -- is refused with
 * BATON_ERR_INVALID).  BATON_ERR_NOMEM when the ring cannot grow. */
baton_err_t baton_ackwin_push(baton_ackwin_t *w, int64_t offset);

/* Marks a pushed offset acknowledged; unknown offsets are ignored
 * (returns -1, else 0). */
int baton_ackwin_ack(baton_ackwin_t *w, int64_t offset);

/* The offset to commit (see above), or -1 when nothing was pushed. */
int64_t baton_ackwin_commit_offset(const baton_ackwin_t *w);

/* Records pushed and not yet acknowledged. */
size_t baton_ackwin_pending(const baton_ackwin_t *w);

#endif /* BATON_BRIDGE_ACKWIN_H */
