/*
 * cmd_watch.c -- batonctl watch: the live output of a run's model calls,
 * read from the Redis streams baton-worker-llm writes (key layout and
 * entries: common/keys.h) with baton_client_live_entries
 * (client/client_live.c).
 *
 *   batonctl watch ID                 every streamed step of the run, one
 *                                     after the other, until the run closes
 *   batonctl watch ID --step SEQ      one step (activity_seq SEQ) until its
 *                                     reply is complete
 *            [--from STREAM_ID]       ... resuming after that entry (a
 *                                     client that reconnects)
 *            [--wait SECONDS]         give up (exit 1) after SECONDS
 *
 * Text output: the reply text on stdout as it arrives, notices (a step
 * begins, an attempt failed, a retry restarts the reply) on stderr.  -o
 * json: one JSON object per entry and line, {"step", "id", "text"} or
 * {"step", "id", "event", "attempt"|"error"}; "id" is what --from takes.
 * Exit 0 when the step is done or the run closed, 1 on errors and when
 * --wait ran out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baton_common.h"
#include "batonctl.h"

#define WATCH_BLOCK_MS 300
#define WATCH_FIND_S 10 /* a run just started may not be in Redis yet */

typedef struct watch {
    ctl_t *ctl;
    const char *id;
    int64_t deadline_us; /* 0 = none */
    int printed;         /* text of the current attempt was printed */
    char started[32];    /* the step whose start entry was seen last */
} watch_t;

enum { STEP_MORE = 0, STEP_DONE = 1, STEP_ERROR = 2 };

static const char *field(const json_t *e, const char *name) {
    return json_string_value(json_object_get(e, name));
}

/* Prints one step-stream entry ({"id", fields...}:
 * baton_client_live_entries); returns STEP_*. */
static int watch_entry(watch_t *w, const char *seq, const json_t *e) {
    const char *id = field(e, "id"), *text = field(e, "text"),
               *ev = field(e, "event");
    if (w->ctl->o.json_out) {
        json_t *o = json_pack("{s:s,s:s}", "step", seq, "id", id);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)e, k, v) {
            if (o && strcmp(k, "id")) json_object_set(o, k, v);
        }
        if (o) {
            char *s = json_dumps(o, JSON_COMPACT);
            if (s) printf("%s\n", s);
            free(s);
        }
        json_decref(o);
        fflush(stdout);
    } else if (text) {
        fputs(text, stdout);
        fflush(stdout);
        w->printed = 1;
    } else if (ev && !strcmp(ev, "start")) {
        /* A second start: a retry, or the same attempt run again by
         * another worker after a crash (attempt unchanged). */
        const char *att = field(e, "attempt");
        int again = !strcmp(w->started, seq);
        if (w->printed) putchar('\n');
        w->printed = 0;
        snprintf(w->started, sizeof w->started, "%s", seq);
        fprintf(stderr, "[%s step %s, attempt %s%s]\n", w->id, seq,
                att ? att : "?", again ? ": the reply starts over" : "");
    } else if (ev && !strcmp(ev, "error")) {
        if (w->printed) putchar('\n');
        w->printed = 0;
        fprintf(stderr, "[%s step %s: the attempt failed: %s]\n", w->id, seq,
                field(e, "error") ? field(e, "error") : "?");
    } else if (ev && !strcmp(ev, "done") && w->printed) {
        putchar('\n');
        fflush(stdout);
        w->printed = 0;
    }
    if (ev && !strcmp(ev, "done")) return STEP_DONE;
    if (ev && !strcmp(ev, "error")) return STEP_ERROR;
    return STEP_MORE;
}

/* The entries of step seq's stream (NULL: the run's index) after last
 * (updated), waiting up to WATCH_BLOCK_MS: baton_client_live_entries.
 * *out is NULL (none) or an array with entries (to free).  -1 on errors
 * (printed). */
static int watch_xread(watch_t *w, const char *seq, char *last, size_t len,
                       json_t **out) {
    char errstr[1024];
    json_t *entries;
    baton_client_err_t rc = baton_client_live_entries(
        w->ctl->client, w->id, seq, last, WATCH_BLOCK_MS, 200, &entries, errstr,
        sizeof errstr);
    *out = NULL;
    if (rc) {
        ctl_fail("%s", errstr);
        return -1;
    }
    if (!json_array_size(entries)) {
        json_decref(entries);
        return 0;
    }
    snprintf(
        last, len, "%s",
        field(json_array_get(entries, json_array_size(entries) - 1), "id"));
    *out = entries;
    return 0;
}

/* 1 when the run is closed (or gone), 0 while it runs, -1 on errors. */
static int watch_run_closed(watch_t *w) {
    json_t *snap;
    int found = ctl_snapshot_get(w->ctl, w->id, 1, &snap), closed;
    if (found < 0) return -1;
    closed = !found || strcmp(ctl_snap_status(snap), "RUNNING") != 0;
    json_decref(snap);
    return closed;
}

static int watch_timed_out(const watch_t *w) {
    return w->deadline_us && baton_mono_us() > w->deadline_us;
}

/* Follows step seq after last until done (STEP_DONE), an attempt's error
 * (STEP_ERROR, when stop_on_error), the run closed with nothing more
 * (STEP_DONE), or the deadline (-1). */
static int watch_step(watch_t *w, const char *seq, char *last, size_t len,
                      int stop_on_error) {
    for (;;) {
        json_t *entries;
        int st = STEP_MORE;
        if (watch_xread(w, seq, last, len, &entries)) return -1;
        for (size_t i = 0; i < json_array_size(entries); i++) {
            st = watch_entry(w, seq, json_array_get(entries, i));
            if (st == STEP_DONE || (st == STEP_ERROR && stop_on_error)) {
                /* later entries are the next attempt's: read again */
                snprintf(last, len, "%s",
                         field(json_array_get(entries, i), "id"));
                break;
            }
        }
        json_decref(entries);
        if (st == STEP_DONE || (st == STEP_ERROR && stop_on_error)) return st;
        if (!entries) {
            int closed = watch_run_closed(w);
            if (closed < 0) return -1;
            if (closed) return STEP_DONE;
            if (watch_timed_out(w)) {
                ctl_fail("watch %s: --wait ran out", w->id);
                return -1;
            }
        }
    }
}

/* Follows the run's index: each step in turn. */
static int watch_run(watch_t *w) {
    char last[64] = "0-0";
    json_t *steps = json_object(); /* seq -> last id read */
    int rc = 0;
    while (!rc) {
        json_t *entries;
        if (watch_xread(w, NULL, last, sizeof last, &entries)) {
            rc = -1;
            break;
        }
        for (size_t i = 0; !rc && i < json_array_size(entries); i++) {
            const char *seq = field(json_array_get(entries, i), "seq");
            char step_last[64];
            const char *seen;
            if (!seq) continue;
            seen = json_string_value(json_object_get(steps, seq));
            snprintf(step_last, sizeof step_last, "%s", seen ? seen : "0-0");
            if (watch_step(w, seq, step_last, sizeof step_last, 1) < 0) rc = -1;
            json_object_set_new(steps, seq, json_string(step_last));
        }
        json_decref(entries);
        if (!rc && !entries) {
            int closed = watch_run_closed(w);
            if (closed)
                rc = closed < 0 ? -1 : 1;
            else if (watch_timed_out(w)) {
                ctl_fail("watch %s: --wait ran out", w->id);
                rc = -1;
            }
        }
    }
    json_decref(steps);
    return rc < 0 ? BATON_CLI_EXIT_FAIL : BATON_CLI_EXIT_OK;
}

int ctl_cmd_watch(ctl_t *ctl) {
    watch_t w = {.ctl = ctl, .id = ctl->o.pos[0]};
    json_t *snap = NULL;
    int found = 0;
    int64_t find_until = baton_mono_us() + WATCH_FIND_S * 1000000LL;

    if (ctl->o.wait_s > 0)
        w.deadline_us = baton_mono_us() + (int64_t)(ctl->o.wait_s * 1e6);
    if (!ctl_redis(ctl)) return BATON_CLI_EXIT_FAIL;
    while ((found = ctl_snapshot_get(ctl, w.id, 1, &snap)) == 0 &&
           baton_mono_us() < find_until)
        usleep(100000);
    json_decref(snap);
    if (found < 0) return BATON_CLI_EXIT_FAIL;
    if (!found) return ctl_fail("workflow '%s' not found", w.id);
    if (ctl->o.step) {
        char last[64];
        snprintf(last, sizeof last, "%s", ctl->o.from ? ctl->o.from : "0-0");
        return watch_step(&w, ctl->o.step, last, sizeof last, 0) < 0
                   ? BATON_CLI_EXIT_FAIL
                   : BATON_CLI_EXIT_OK;
    }
    if (ctl->o.from)
        return ctl_usage_error("--from needs --step (a stream id is a "
                               "step's)");
    return watch_run(&w);
}
