/*
 * notify.h -- telling systemd how a daemon is doing (sd_notify(3)): ready,
 * alive (the watchdog), stopping.  An edge module (links libsystemd), used
 * by batond, baton-bridge and the worker SDK's run loop; the units in
 * deploy/systemd/ are Type=notify with WatchdogSec.
 *
 * Every call is a no-op when the process was not started by systemd (no
 * NOTIFY_SOCKET), so the binaries behave the same everywhere else.  The
 * watchdog interval comes from WATCHDOG_USEC (sd_watchdog_enabled); a
 * process pets it from its main loop, at most every half interval.
 *
 * Thread: a handle belongs to the thread that runs the main loop.
 */
#ifndef BATON_NOTIFY_H
#define BATON_NOTIFY_H

#include <stdint.h>

typedef struct baton_notify baton_notify_t;

/* A handle reading the environment once; NULL only when out of memory
 * (callers may pass NULL to every call below: then nothing is sent). */
baton_notify_t *baton_notify_new(void);
void baton_notify_destroy(baton_notify_t *n); /* NULL is a no-op */

/* READY=1 with a STATUS= line (status may be NULL); once per handle. */
void baton_notify_ready(baton_notify_t *n, const char *status);

/* WATCHDOG=1 when the watchdog is on and half its interval has passed
 * since the last one; cheap enough to call on every loop turn. */
void baton_notify_watchdog(baton_notify_t *n);

/* STOPPING=1; once per handle. */
void baton_notify_stopping(baton_notify_t *n);

/* The watchdog interval in microseconds, 0 when off (for tests, logs). */
uint64_t baton_notify_watchdog_usec(const baton_notify_t *n);

#endif /* BATON_NOTIFY_H */
