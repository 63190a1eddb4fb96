/*
 * takeover.h -- taking a set of partitions over from the store, as batond
 * does on a Kafka assignment, as pure logic behind a small port.
 *
 * Taking a partition reads its state and bumps its fencing epoch in Redis
 * (store.c baton_store_load_partition).  When the store fails part way
 * through a set, batond reconnects and tries again; a Redis that restarted
 * meanwhile may have lost the epochs bumped before the failure (no
 * persistence, or an fsync that had not happened), and a partition holding
 * an epoch the store no longer has is refused as fenced at its next write
 * -- and sits unserved until the next rebalance.  So after any reconnect
 * every partition of the set is taken again, not only the ones left.
 *
 * batond.c implements the port over Redis; tests/unit/test_takeover.c over
 * a fake store that can fail and forget at chosen moments.
 *
 * Thread: batond's loop thread (the rebalance callback).
 */
#ifndef BATON_TAKEOVER_H
#define BATON_TAKEOVER_H

#include "baton_common.h"

typedef struct baton_takeover_port {
    void *ctx;
    /* Reads partition p's state and takes its epoch; an error (filled in
     * errstr) means the store failed: the caller reconnects. */
    baton_err_t (*take)(void *ctx, int32_t p, char *errstr, size_t errlen);
    /* Reconnects to the store after a failed take (waiting as it sees
     * fit); 0 when connected, -1 when the process is stopping. */
    int (*reconnect)(void *ctx);
} baton_takeover_port_t;

/* Takes parts[0..n) over.  Returns 0 once every one of them was taken
 * after the last reconnect, -1 when reconnect gave up (stopping). */
int baton_takeover_run(const baton_takeover_port_t *port, const int32_t *parts,
                       size_t n);

#endif /* BATON_TAKEOVER_H */
