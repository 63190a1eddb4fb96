/*
 * notify.c -- sd_notify(3) for batond, the bridge and the workers: READY=1,
 * WATCHDOG=1 at half the unit's WatchdogSec, STOPPING=1 (notify.h).
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "baton_common.h"

struct baton_notify {
    int on;              /* NOTIFY_SOCKET is set */
    uint64_t wd_usec;    /* WatchdogSec in us, 0 = off */
    int64_t wd_last_us;  /* monotonic time of the last WATCHDOG=1 */
    int ready, stopping; /* sent already */
};

baton_notify_t *baton_notify_new(void) {
    baton_notify_t *n = baton_calloc(1, sizeof *n);
    const char *sock = getenv("NOTIFY_SOCKET");
    uint64_t usec = 0;
    if (!n) return NULL;
    n->on = sock && *sock;
    /* > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is us) */
    if (n->on && sd_watchdog_enabled(0, &usec) > 0) n->wd_usec = usec;
    return n;
}

void baton_notify_destroy(baton_notify_t *n) {
    baton_free(n);
}

/* Sends one state line; a failure is logged once and otherwise ignored
 * (systemd then acts on the missing message: a timeout or a restart). */
static void notify_send(const char *state) {
    int rc = sd_notify(0, state);
    if (rc < 0) BATON_WARN("notify", "sd_notify(%s) failed: %d", state, rc);
}

void baton_notify_ready(baton_notify_t *n, const char *status) {
    char line[512];
    if (!n || !n->on || n->ready) return;
    n->ready = 1;
    snprintf(line, sizeof line, "READY=1\nSTATUS=%s",
             status ? status : "ready");
    notify_send(line);
    n->wd_last_us = baton_mono_us();
    if (n->wd_usec) notify_send("WATCHDOG=1");
}

void baton_notify_watchdog(baton_notify_t *n) {
    int64_t now;
    if (!n || !n->on || !n->wd_usec || n->stopping) return;
    now = baton_mono_us();
    if (n->wd_last_us && now - n->wd_last_us < (int64_t)(n->wd_usec / 2))
        return;
    n->wd_last_us = now;
    notify_send("WATCHDOG=1");
}

void baton_notify_stopping(baton_notify_t *n) {
    if (!n || !n->on || n->stopping) return;
    n->stopping = 1;
    notify_send("STOPPING=1\nSTATUS=stopping: draining");
}

uint64_t baton_notify_watchdog_usec(const baton_notify_t *n) {
    return n ? n->wd_usec : 0;
}
