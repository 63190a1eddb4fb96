/*
 * test_takeover.c -- taking a set of partitions over (orchestrator/
 * takeover.h) against a fake store that dies part way through the set and
 * comes back having lost the epochs bumped before (a Redis restarted
 * without persistence): every partition must end up holding the epoch the
 * store has, or its next write would be refused as fenced and it would sit
 * unserved until the next rebalance.
 */
#include <stdio.h>
#include <string.h>

#include "takeover.h"

#include "check.h"

#define NP 8

/* The fake store: its epochs, the ones this instance took, and when it
 * dies (the take of partition die_at fails once; on reconnect it has
 * forgotten every epoch when forget is set). */
typedef struct fake {
    long store_epoch[NP];
    long mine[NP];
    int takes[NP];
    int die_at, died, forget, reconnects, give_up;
} fake_t;

static baton_err_t fake_take(void *ctx, int32_t p, char *errstr,
                             size_t errlen) {
    fake_t *f = ctx;
    if (p == f->die_at && !f->died) {
        f->died = 1;
        return baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                            "connection reset by peer");
    }
    f->takes[p]++;
    f->mine[p] = ++f->store_epoch[p]; /* INCR baton:{pN}:epoch */
    return BATON_OK;
}

static int fake_reconnect(void *ctx) {
    fake_t *f = ctx;
    f->reconnects++;
    if (f->give_up) return -1;
    if (f->forget) memset(f->store_epoch, 0, sizeof f->store_epoch);
    return 0;
}

/* 1 when a write of p would pass the fence (store.c: epoch == ours). */
static int writable(const fake_t *f, int32_t p) {
    return f->mine[p] && f->mine[p] == f->store_epoch[p];
}

static void test_clean_takeover(void) {
    fake_t f = {.die_at = -1};
    baton_takeover_port_t port = {&f, fake_take, fake_reconnect};
    int32_t parts[] = {0, 1, 2, 3};
    CHECK(baton_takeover_run(&port, parts, 4) == 0, "clean takeover");
    for (int p = 0; p < 4; p++) {
        CHECK(f.takes[p] == 1, "partition %d taken once, not %d", p,
              f.takes[p]);
        CHECK(writable(&f, p), "partition %d writable", p);
    }
    CHECK(f.reconnects == 0, "no reconnect");
}

/* Redis dies while partition 5 is taken (2, 3 and 4 taken before) and
 * comes back empty: 2, 3 and 4 must be taken again. */
static void test_restart_mid_set_forgets_epochs(void) {
    fake_t f = {.die_at = 5, .forget = 1};
    baton_takeover_port_t port = {&f, fake_take, fake_reconnect};
    int32_t parts[] = {2, 3, 4, 5, 6};
    CHECK(baton_takeover_run(&port, parts, 5) == 0, "takeover done");
    CHECK(f.reconnects == 1, "one reconnect, not %d", f.reconnects);
    for (int i = 0; i < 5; i++)
        CHECK(writable(&f, parts[i]),
              "partition %d holds epoch %ld, the store has %ld: its writes "
              "would be fenced",
              parts[i], f.mine[parts[i]], f.store_epoch[parts[i]]);
}

/* The same failure without data loss: taking again is harmless (the
 * epoch only grows; the partitions are still ours). */
static void test_restart_mid_set_keeps_epochs(void) {
    fake_t f = {.die_at = 1, .forget = 0};
    baton_takeover_port_t port = {&f, fake_take, fake_reconnect};
    int32_t parts[] = {0, 1, 2};
    CHECK(baton_takeover_run(&port, parts, 3) == 0, "takeover done");
    for (int i = 0; i < 3; i++)
        CHECK(writable(&f, parts[i]), "partition %d writable", parts[i]);
}

static void test_stopping(void) {
    fake_t f = {.die_at = 1, .give_up = 1};
    baton_takeover_port_t port = {&f, fake_take, fake_reconnect};
    int32_t parts[] = {0, 1, 2};
    CHECK(baton_takeover_run(&port, parts, 3) == -1, "gives up when stopping");
    CHECK(f.takes[2] == 0, "nothing taken after giving up");
}

int main(void) {
    test_clean_takeover();
    test_restart_mid_set_forgets_epochs();
    test_restart_mid_set_keeps_epochs();
    test_stopping();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
