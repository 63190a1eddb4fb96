/*
 * example_worker.c -- baton-worker-example: an activity worker written the
 * way you would write your own, on the public SDK only (baton_worker.h).
 * `make demo` runs the research-lite and slow-steps workflows on it.
 *
 *   baton-worker-example [--config FILE] [--queue Q] [--concurrency N]
 *
 * Activities (input and output are JSON):
 *
 *   search     {"query": "..."} -> {"query", "sources": [{"title", "url",
 *              "snippet"}]}: the documents of a small built-in catalogue
 *              that share a word with the query (all of them when none
 *              does).  A real worker would call a search API here.
 *   summarize  {"sources": [{"title", "snippet"}...]} -> {"summary",
 *              "source_count"}: the first sentence of each snippet,
 *              joined.
 *   sleep      {"ms": N} -> {"slept_ms": N}: a long-running step.  It
 *              heartbeats its progress when the workflow asks for
 *              heartbeats (HeartbeatSeconds) and, retried, resumes from
 *              the last heartbeat's details; cancelled, it returns
 *              without a result.
 *   baton.conformance  the conformance activity batonctl worker-check
 *              drives (docs/wire-protocol.md#conformance).
 *
 * Writing your own worker: copy this file, keep main() as it is, and
 * replace the handlers.  A handler runs on one of worker.concurrency pool
 * threads; it reads its input with baton_activity_input(), reports exactly
 * once with baton_activity_complete() or baton_activity_fail() (a
 * retry_after_ms hint, or BATON_FAIL_NON_RETRYABLE for errors a retry
 * cannot fix), and, when it runs long, calls baton_activity_heartbeat()
 * and checks baton_activity_cancelled().  Tasks can run more than once
 * (at-least-once delivery): make side effects idempotent, keyed by
 * baton_activity_idempotency_key().  Register each handler under the
 * activity type a workflow names ("baton:activity:<queue>/<type>") and
 * run the worker on that queue.  Configuration comes from --config FILE
 * (or BATON_CONFIG), then the environment (BATON_KAFKA_BROKERS, ...), then
 * the flags; `batond --help` lists the keys, worker.* among them.
 *
 * SIGTERM or SIGINT stops the worker cleanly: running activities finish
 * and their results are delivered before it exits 0; a second signal
 * cancels them.  Exit status 1 on errors, 2 on usage or config errors.
 */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "baton_worker.h"

#define PROG "baton-worker-example"

static baton_worker_t *running_worker; /* for the signal handler */

/* ---- helpers ------------------------------------------------------------- */

/* Completes with out (stolen); out NULL means an allocation failed. */
static void complete_json(baton_activity_t *act, json_t *out) {
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    if (text)
        baton_activity_complete(act, text);
    else
        baton_activity_fail(act, "Example.OutOfMemory", "encoding output", 0);
    free(text);
    json_decref(out);
}

/* The input as a JSON object, or NULL after failing the activity: a bad
 * input will not get better with retries. */
static json_t *input_object(baton_activity_t *act) {
    json_t *in = json_loads(baton_activity_input(act), 0, NULL);
    if (!json_is_object(in)) {
        json_decref(in);
        baton_activity_fail_flags(act, "Example.BadInput",
                                  "the input must be a JSON object", 0,
                                  BATON_FAIL_NON_RETRYABLE);
        return NULL;
    }
    return in;
}

/* One log line per finished execution (the demo counts them). */
static void log_done(const baton_activity_t *act) {
    BATON_INFO("example", "task %s (%s, attempt %d) done",
               baton_activity_task_id(act), baton_activity_type(act),
               (int)baton_activity_attempt(act));
}

/* ---- search -------------------------------------------------------------- */

static const struct {
    const char *title, *url, *snippet;
} catalogue[] = {
    {"Durable execution, explained", "https://example.org/durable",
     "Durable execution persists every step of a workflow. A crash resumes "
     "the run where it stopped instead of starting over."},
    {"Agents that survive restarts", "https://example.org/agents",
     "AI agents call tools and models for minutes or hours. Checkpointing "
     "each call keeps a restart from repeating paid work."},
    {"Idempotent activities", "https://example.org/idempotency",
     "Activities may run more than once. An idempotency key lets the "
     "called service recognise a repeat."},
    {"Heartbeats for long tasks", "https://example.org/heartbeats",
     "A long activity reports progress with heartbeats. The orchestrator "
     "notices a silent worker and retries elsewhere."},
};

/* 1 when text contains one of query's words of four letters or more. */
static int shares_word(const char *query, const char *text) {
    char word[64];
    for (const char *p = query; *p;) {
        size_t n = strcspn(p, " ,.;:!?");
        if (n >= 4 && n < sizeof word) {
            memcpy(word, p, n);
            word[n] = '\0';
            for (const char *t = text; *t; t++)
                if (!strncasecmp(t, word, n)) return 1;
        }
        p += n;
        p += strspn(p, " ,.;:!?");
    }
    return 0;
}

static void act_search(baton_activity_t *act, void *opaque) {
    json_t *in = input_object(act), *sources = json_array();
    const char *q;
    (void)opaque;
    if (!in) {
        json_decref(sources);
        return;
    }
    q = json_string_value(json_object_get(in, "query"));
    for (int pass = 0; pass < 2 && !json_array_size(sources); pass++)
        for (size_t i = 0; i < sizeof catalogue / sizeof catalogue[0]; i++)
            if (pass == 1 || (q && shares_word(q, catalogue[i].snippet)))
                json_array_append_new(
                    sources, json_pack("{ssssss}", "title", catalogue[i].title,
                                       "url", catalogue[i].url, "snippet",
                                       catalogue[i].snippet));
    complete_json(act, json_pack("{s:s?,s:o}", "query", q, "sources", sources));
    json_decref(in);
    log_done(act);
}

/* ---- summarize ----------------------------------------------------------- */

static void act_summarize(baton_activity_t *act, void *opaque) {
    json_t *in = input_object(act), *src;
    size_t i, len = 0;
    char summary[2048] = "";
    (void)opaque;
    if (!in) return;
    json_array_foreach(json_object_get(in, "sources"), i, src) {
        const char *s = json_string_value(json_object_get(src, "snippet"));
        size_t n = s ? strcspn(s, ".") : 0; /* the first sentence */
        if (n && len < sizeof summary)
            len += (size_t)snprintf(summary + len, sizeof summary - len,
                                    "%s%.*s.", len ? " " : "", (int)n, s);
    }
    if (!len) snprintf(summary, sizeof summary, "Nothing to summarize.");
    complete_json(
        act, json_pack("{sssi}", "summary", summary, "source_count",
                       (int)json_array_size(json_object_get(in, "sources"))));
    json_decref(in);
    log_done(act);
}

/* ---- sleep: a long step with heartbeats ---------------------------------- */

static void act_sleep(baton_activity_t *act, void *opaque) {
    json_t *in = input_object(act), *last;
    json_int_t ms, done = 0;
    const char *details = baton_activity_heartbeat_details(act);
    (void)opaque;
    if (!in) return;
    ms = json_integer_value(json_object_get(in, "ms"));
    json_decref(in);
    /* A retry resumes where the last attempt's heartbeat said it was. */
    if (details && (last = json_loads(details, 0, NULL))) {
        done = json_integer_value(json_object_get(last, "done_ms"));
        json_decref(last);
    }
    while (done < ms) {
        char progress[64];
        json_int_t step = ms - done < 100 ? ms - done : 100;
        if (baton_activity_sleep(act, step))
            return; /* cancelled: no result, the SDK answers for us */
        done += step;
        if (baton_activity_heartbeat_seconds(act) > 0) { /* asked for */
            snprintf(progress, sizeof progress, "{\"done_ms\":%lld}",
                     (long long)done);
            baton_activity_heartbeat(act, progress); /* SDK throttles */
        }
    }
    complete_json(act, json_pack("{sI}", "slept_ms", ms));
    log_done(act);
}

/* ---- baton.conformance: what batonctl worker-check asks ------------------ */

/* The conformance activity (docs/wire-protocol.md#conformance): the input's
 * "case" asks for one behaviour: succeed (echo), fail_retryable (attempt 1
 * fails with the retry hint), fail_final (non-retryable), heartbeat and
 * cancel_wait (run "ms" while heartbeating; a cancel ends it). */
static void act_conformance(baton_activity_t *act, void *opaque) {
    json_t *in = input_object(act);
    const char *c;
    json_int_t ms, done = 0;
    int32_t attempt = baton_activity_attempt(act);
    (void)opaque;
    if (!in) return;
    c = json_string_value(json_object_get(in, "case"));
    ms = json_integer_value(json_object_get(in, "ms"));
    if (c && !strcmp(c, "fail_retryable") && attempt == 1)
        baton_activity_fail(
            act, "Conformance.Retryable", "asked to fail once",
            json_integer_value(json_object_get(in, "retry_after_ms")));
    else if (c && !strcmp(c, "fail_final"))
        baton_activity_fail_flags(act, "Conformance.Final", "asked to fail", 0,
                                  BATON_FAIL_NON_RETRYABLE);
    else {
        for (; done < ms; done += 100) {
            if (baton_activity_sleep(act, ms - done < 100 ? ms - done : 100)) {
                json_decref(in);
                return; /* cancelled: the SDK answers Baton.Cancelled */
            }
            baton_activity_heartbeat(act, NULL); /* SDK throttles */
        }
        complete_json(act, json_pack("{sOsisI}", "echo",
                                     json_object_get(in, "echo")
                                         ? json_object_get(in, "echo")
                                         : json_null(),
                                     "attempt", (int)attempt, "slept_ms", ms));
    }
    json_decref(in);
    log_done(act);
}

/* ---- main ---------------------------------------------------------------- */

static void on_signal(int sig) {
    (void)sig;
    baton_worker_stop(running_worker); /* async-signal-safe */
}

/* --config, --queue, --concurrency into the three pointers.  0, or 2
 * after printing the usage. */
static int parse_flags(int argc, char **argv, const char **config,
                       const char **queue, const char **concurrency) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"queue", required_argument, NULL, 'q'},
        {"concurrency", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:q:n:", opts, NULL)) != -1) {
        if (c == 'c')
            *config = optarg;
        else if (c == 'q')
            *queue = optarg;
        else if (c == 'n')
            *concurrency = optarg;
        else
            break;
    }
    if (c != -1 || optind < argc) {
        fprintf(stderr, "usage: " PROG " [--config FILE] [--queue Q] "
                        "[--concurrency N]\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *config = NULL, *queue = NULL, *concurrency = NULL;
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    baton_conf_t *conf;
    baton_worker_t *w;
    char err[512];
    int rc;

    if (parse_flags(argc, argv, &config, &queue, &concurrency)) return 2;
    if (!(conf = baton_worker_conf_load(config, queue, concurrency, err,
                                        sizeof err))) {
        fprintf(stderr, PROG ": %s\n", err);
        return 2;
    }
    w = baton_worker_new(conf, err, sizeof err);
    baton_conf_destroy(conf); /* the worker keeps what it needs */
    if (!w) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    if (baton_worker_register(w, "search", act_search, NULL) ||
        baton_worker_register(w, "summarize", act_summarize, NULL) ||
        baton_worker_register(w, "sleep", act_sleep, NULL) ||
        baton_worker_register(w, "baton.conformance", act_conformance, NULL)) {
        fprintf(stderr, PROG ": registering the activities failed\n");
        baton_worker_destroy(w);
        return 1;
    }
    running_worker = w;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    rc = baton_worker_run(w) ? 1 : 0; /* returns after stop and drain */
    if (rc) fprintf(stderr, PROG ": %s\n", baton_worker_errstr(w));
    running_worker = NULL;
    baton_worker_destroy(w);
    return rc;
}
