/*
 * test_worker.c -- baton-test-worker: the worker the integration tests,
 * the chaos suite and the benchmark run, built on the SDK (baton_worker.h)
 * and the test harness (harness.h).  Its activities fail, hang, heartbeat
 * and rate-limit on demand; the worker a user would copy is
 * activities/examples/example_worker.c.
 *
 *   baton-test-worker [--config FILE] [--queue Q] [--concurrency N]
 *                     [--exec-log FILE] [--start-log FILE] [--name NAME]
 *
 * Activities (input and output are JSON):
 *
 *   noop       output = the input ({} when the input is null)
 *   echo       output = the input
 *   sleep      {"ms": N}: sleeps N ms, checking for cancellation every
 *              20 ms and heartbeating when the task asks for heartbeats;
 *              output {"slept_ms": N}.  Cancelled, it stops early and
 *              returns without a result (the SDK then answers
 *              "Baton.Cancelled" for a cancellation notice, or leaves the
 *              task for redelivery when the worker itself gave it up)
 *   hang       {"ms": N}: the same without ever heartbeating (to trip
 *              heartbeat and start-to-close timeouts); output {"hung_ms": N}
 *   heartbeat  {"ms": N, "every_ms": E, "details": {...}}: runs N ms,
 *              heartbeating every E ms (default 100) with details
 *              {"progress": n} (n = 1, 2 ...; merged into "details" when
 *              given); stops early, without a result, when cancelled.
 *              Output {"heartbeats": n, "heartbeat_details": <the
 *              heartbeat_details this attempt started with, or null>,
 *              "attempt": k}
 *   fail       {"times": N, "error": "X", "retry_after_ms": R}: fails with
 *              error X (default "Example.Failure") on attempts <= N, then
 *              completes with {"attempt": k}
 *   ratelimit  {"times": N, "retry_after_ms": R}: fails attempts <= N with
 *              error "RateLimited" and retry_after_ms R (default 1000),
 *              then completes with {"attempt": k}
 *   fatal      {"error": "X"}: fails with error X (default "Example.Fatal")
 *              marked non-retryable (Result.non_retryable = true)
 *   search     {"query": "..."}: {"query": ..., "sources": [3 canned
 *              sources about the query]}, deterministic
 *   summarize  {"query": "...", "sources": [...]}: {"summary": "..."},
 *              deterministic
 *   blob.make  {"bytes": N, "seed": "s"}: {"data": N characters (the seed
 *              repeated), "bytes": N, "sha256": of data} -- a large result
 *              for the claim check (tests/integration/0105)
 *   blob.check {"data": "..."} (any other fields ignored): {"bytes": length
 *              of data, "sha256": of data, "plain": true when the handler saw
 *              no reference} -- proves a large task input arrives resolved
 *   conv.turn  {"messages": [...], "turn": n, "bytes": B, "tag": T}: one
 *              tool message {"role": "tool", "turn": n, "content": B
 *              characters unique to the turn and the tag} (bench/agent-growth.sh), failing when the
 *              history it got is not n messages long
 *
 * --exec-log FILE: every execution (whatever its outcome) appends one line
 * "<task_id> <pid> <start_ms> <end_ms>" with one write() to FILE opened
 * O_APPEND, so several workers can share the file and tests count
 * executions.  An execution killed midway writes nothing, nor does a task
 * the SDK did not run because it was cancelled before it started.  (Four
 * columns exactly: tests/integration/0002 splits lines into four.  Whether
 * an execution was cancelled shows in its result, "Baton.Cancelled", and
 * in the worker's log.)
 *
 * --start-log FILE: every execution appends "<task_id> <pid> <start_ms>
 * <name> <partition> <offset>" when it starts (before the handler runs),
 * so a test knows which worker (--name, default "-") had a task when it
 * killed that worker, which tasks were running at any moment (started, no
 * exec-log line yet), and where each task sits in its queue topic (the
 * chaos checker's commit point).
 *
 * Exit status: 0 after SIGTERM/SIGINT and a clean drain, 1 on errors, 2 on
 * usage errors.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blob.h"
#include "harness.h"

#define PROG "baton-test-worker"

typedef struct options {
    const char *config, *queue, *concurrency, *exec_log, *start_log, *name;
} options_t;

/* One registered activity: the handler and, through it, the exec log. */
typedef struct example {
    const char *type;
    void (*fn)(baton_activity_t *act);
} example_t;

static int exec_log_fd = -1, start_log_fd = -1;
static const char *worker_name; /* --name, for the start log */

/* ---- helpers ------------------------------------------------------------- */

/* The input parsed (NULL when it is not an object); caller decrefs. */
static json_t *input_object(baton_activity_t *act) {
    json_t *in = json_loads(baton_activity_input(act), JSON_DECODE_ANY, NULL);
    if (in && !json_is_object(in)) {
        json_decref(in);
        return NULL;
    }
    return in;
}

/* Completes with the JSON value (stolen). */
static void complete_new(baton_activity_t *act, json_t *out) {
    harness_complete_new(act, out, "Example.OutOfMemory");
}

/* ---- activities ---------------------------------------------------------- */

static void act_noop(baton_activity_t *act) {
    const char *in = baton_activity_input(act);
    baton_activity_complete(act, strcmp(in, "null") ? in : "{}");
}

static void act_echo(baton_activity_t *act) {
    baton_activity_complete(act, baton_activity_input(act));
}

static void act_sleep(baton_activity_t *act) {
    json_t *in = input_object(act);
    json_int_t ms = in ? json_integer_value(json_object_get(in, "ms")) : 0;
    int64_t start = baton_now_ms(), slept = 0;
    json_decref(in);
    while ((slept = baton_now_ms() - start) < ms) {
        int64_t left = ms - slept;
        struct timespec ts = {0, (long)(left < 20 ? left : 20) * 1000000L};
        if (baton_activity_cancelled(act)) return; /* no result: rerun */
        if (baton_activity_heartbeat_seconds(act) > 0) {
            char details[64];
            snprintf(details, sizeof details, "{\"slept_ms\":%lld}",
                     (long long)slept);
            baton_activity_heartbeat(act, details);
        }
        nanosleep(&ts, NULL);
    }
    complete_new(act, json_pack("{sI}", "slept_ms", (json_int_t)ms));
}

static void act_hang(baton_activity_t *act) {
    json_t *in = input_object(act);
    json_int_t ms = in ? json_integer_value(json_object_get(in, "ms")) : 0;
    json_decref(in);
    if (baton_activity_sleep(act, ms)) return; /* cancelled: no result */
    complete_new(act, json_pack("{sI}", "hung_ms", ms));
}

/* The heartbeat details of step n: {"progress": n} merged into the
 * input's "details" object when there is one.  Caller frees the text. */
static char *progress_details(json_t *in, json_int_t n) {
    json_t *base = in ? json_object_get(in, "details") : NULL;
    json_t *d = json_is_object(base) ? json_deep_copy(base) : json_object();
    char *text = NULL;
    if (d && !json_object_set_new(d, "progress", json_integer(n)))
        text = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return text;
}

static void act_heartbeat(baton_activity_t *act) {
    json_t *in = input_object(act);
    json_int_t ms = in ? json_integer_value(json_object_get(in, "ms")) : 0;
    json_int_t every =
        in ? json_integer_value(json_object_get(in, "every_ms")) : 0;
    const char *prev = baton_activity_heartbeat_details(act);
    json_t *started_with =
        prev ? json_loads(prev, JSON_DECODE_ANY, NULL) : NULL;
    int64_t start = baton_now_ms();
    json_int_t n = 0;

    if (every <= 0) every = 100;
    while (baton_now_ms() - start < ms) {
        int64_t left = ms - (baton_now_ms() - start);
        char *details = progress_details(in, ++n);
        if (details) baton_activity_heartbeat(act, details);
        free(details);
        if (baton_activity_sleep(act, left < every ? left : every)) {
            json_decref(started_with);
            json_decref(in);
            return; /* cancelled: no result */
        }
    }
    complete_new(act,
                 json_pack("{sIsosi}", "heartbeats", n, "heartbeat_details",
                           started_with ? started_with : json_null(), "attempt",
                           (int)baton_activity_attempt(act)));
    json_decref(in);
}

static void act_ratelimit(baton_activity_t *act) {
    json_t *in = input_object(act);
    json_int_t times =
        in ? json_integer_value(json_object_get(in, "times")) : 0;
    json_t *ra = in ? json_object_get(in, "retry_after_ms") : NULL;
    int32_t attempt = baton_activity_attempt(act);
    if (attempt <= times) {
        char cause[128];
        snprintf(cause, sizeof cause, "rate limited on attempt %d of %lld",
                 (int)attempt, (long long)times);
        baton_activity_fail(act, "RateLimited", cause,
                            json_is_integer(ra) ? json_integer_value(ra)
                                                : 1000);
    } else {
        complete_new(act, json_pack("{si}", "attempt", (int)attempt));
    }
    json_decref(in);
}

static void act_fatal(baton_activity_t *act) {
    json_t *in = input_object(act);
    baton_activity_fail_flags(act, harness_str_or(in, "error", "Example.Fatal"),
                              "failing for good on purpose", 0,
                              BATON_FAIL_NON_RETRYABLE);
    json_decref(in);
}

static void act_fail(baton_activity_t *act) {
    json_t *in = input_object(act);
    json_int_t times =
        in ? json_integer_value(json_object_get(in, "times")) : 0;
    int32_t attempt = baton_activity_attempt(act);
    if (attempt <= times) {
        char cause[128];
        snprintf(cause, sizeof cause, "failing attempt %d of %lld on purpose",
                 (int)attempt, (long long)times);
        baton_activity_fail(
            act, harness_str_or(in, "error", "Example.Failure"), cause,
            in ? json_integer_value(json_object_get(in, "retry_after_ms")) : 0);
    } else {
        complete_new(act, json_pack("{si}", "attempt", (int)attempt));
    }
    json_decref(in);
}

static void act_search(baton_activity_t *act) {
    static const char *const kinds[] = {"overview", "tutorial", "pitfalls"};
    json_t *in = input_object(act);
    const char *q = harness_str_or(in, "query", "durable execution");
    json_t *sources = json_array();
    for (size_t i = 0; i < BATON_ARRAY_SIZE(kinds); i++) {
        char title[512], url[512], snippet[768], slug[128];
        size_t n = 0;
        for (const char *p = q; *p && n < sizeof slug - 1; p++)
            slug[n++] = (*p == ' ') ? '-' : *p;
        slug[n] = '\0';
        snprintf(title, sizeof title, "%s: %s", q, kinds[i]);
        snprintf(url, sizeof url, "https://example.org/%s/%s", slug, kinds[i]);
        snprintf(snippet, sizeof snippet,
                 "A %s of %s, with examples and references.", kinds[i], q);
        json_array_append_new(sources,
                              json_pack("{ssssss}", "title", title, "url", url,
                                        "snippet", snippet));
    }
    complete_new(act, json_pack("{ssso}", "query", q, "sources", sources));
    json_decref(in);
}

static void act_summarize(baton_activity_t *act) {
    json_t *in = input_object(act);
    json_t *sources = in ? json_object_get(in, "sources") : NULL;
    const char *q = harness_str_or(in, "query", NULL);
    size_t n = json_is_array(sources) ? json_array_size(sources) : 0;
    char summary[1024];
    if (!q && n) q = harness_str_or(json_array_get(sources, 0), "title", NULL);
    snprintf(summary, sizeof summary,
             "Summary of %zu source%s about %s: the topic is well covered; "
             "start with the overview, follow the tutorial, and mind the "
             "pitfalls.",
             n, n == 1 ? "" : "s", q ? q : "the given text");
    complete_new(
        act, json_pack("{sssi}", "summary", summary, "source_count", (int)n));
    json_decref(in);
}

/* ---- the claim check's activities ------------------------------------- */

static char *repeat_seed(const char *seed, size_t n) {
    size_t sl = seed && *seed ? strlen(seed) : 1;
    char *d = baton_malloc(n + 1);
    if (!d) return NULL;
    for (size_t i = 0; i < n; i++) d[i] = seed && *seed ? seed[i % sl] : 'x';
    d[n] = '\0';
    return d;
}

static void act_blob_make(baton_activity_t *act) {
    json_t *in = input_object(act);
    json_int_t n = in ? json_integer_value(json_object_get(in, "bytes")) : 0;
    const char *seed =
        in ? json_string_value(json_object_get(in, "seed")) : NULL;
    char hex[BATON_BLOB_HEX_LEN + 1], *d;
    if (n < 0 || n > 256 * 1024 * 1024 || !(d = repeat_seed(seed, (size_t)n))) {
        json_decref(in);
        baton_activity_fail(act, "Example.BadInput", "bytes out of range", 0);
        return;
    }
    baton_blob_sha256_hex(d, (size_t)n, hex);
    complete_new(act, json_pack("{s:s, s:I, s:s}", "data", d, "bytes", n,
                                "sha256", hex));
    baton_free(d);
    json_decref(in);
}

static void act_blob_check(baton_activity_t *act) {
    json_t *in = input_object(act);
    const char *d = in ? json_string_value(json_object_get(in, "data")) : NULL;
    size_t n = d ? json_string_length(json_object_get(in, "data")) : 0;
    char hex[BATON_BLOB_HEX_LEN + 1];
    const char *raw = baton_activity_input(act);
    baton_blob_sha256_hex(d ? d : "", n, hex);
    complete_new(act,
                 json_pack("{s:I, s:s, s:b}", "bytes", (json_int_t)n, "sha256",
                           hex, "plain", !strstr(raw, BATON_BLOB_REF_KEY)));
    json_decref(in);
}

static void act_conv_turn(baton_activity_t *act) {
    json_t *in = input_object(act);
    json_int_t turn = in ? json_integer_value(json_object_get(in, "turn")) : 0;
    json_int_t bytes =
        in ? json_integer_value(json_object_get(in, "bytes")) : 0;
    size_t have = in ? json_array_size(json_object_get(in, "messages")) : 0;
    char seed[128], *d;
    if ((json_int_t)have != turn || bytes < 0 || bytes > 16 * 1024 * 1024) {
        char cause[128];
        snprintf(cause, sizeof cause, "turn %lld got %zu messages",
                 (long long)turn, have);
        json_decref(in);
        baton_activity_fail(act, "Example.BadInput", cause, 0);
        return;
    }
    snprintf(seed, sizeof seed, "%s turn %lld of the conversation; ",
             in && json_is_string(json_object_get(in, "tag"))
                 ? json_string_value(json_object_get(in, "tag"))
                 : "",
             (long long)turn);
    if (!(d = repeat_seed(seed, (size_t)bytes))) {
        json_decref(in);
        baton_activity_fail(act, "Example.OutOfMemory", "out of memory", 0);
        return;
    }
    complete_new(act, json_pack("{s:s, s:I, s:s}", "role", "tool", "turn", turn,
                                "content", d));
    baton_free(d);
    json_decref(in);
}

static const example_t examples[] = {
    {"blob.make", act_blob_make}, {"blob.check", act_blob_check},
    {"conv.turn", act_conv_turn}, {"noop", act_noop},
    {"echo", act_echo},           {"sleep", act_sleep},
    {"hang", act_hang},           {"heartbeat", act_heartbeat},
    {"fail", act_fail},           {"ratelimit", act_ratelimit},
    {"fatal", act_fatal},         {"search", act_search},
    {"summarize", act_summarize},
};

/* Every activity runs through here: the handler, then the exec log line.
 * Thread: the SDK's pool threads. */
static void run_logged(baton_activity_t *act, void *opaque) {
    const example_t *ex = opaque;
    int64_t start = baton_now_ms();
    harness_start_log(start_log_fd, act, start, worker_name);
    ex->fn(act);
    harness_exec_log(exec_log_fd, act, start, NULL);
}

/* ---- main's steps -------------------------------------------------------- */

static void usage(FILE *out) {
    fprintf(out, "usage: " PROG " [--config FILE] [--queue Q] "
                 "[--concurrency N] [--exec-log FILE]\n"
                 "       [--start-log FILE] [--name NAME]\n"
                 "Runs the test activities: noop echo sleep hang "
                 "heartbeat fail ratelimit fatal search summarize\n"
                 "blob.make blob.check conv.turn.\n");
}

static int parse_flags(int argc, char **argv, options_t *o) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"queue", required_argument, NULL, 'q'},
        {"concurrency", required_argument, NULL, 'n'},
        {"exec-log", required_argument, NULL, 'e'},
        {"start-log", required_argument, NULL, 's'},
        {"name", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof *o);
    while ((c = getopt_long(argc, argv, "c:q:n:e:s:N:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'q': o->queue = optarg; break;
        case 'n': o->concurrency = optarg; break;
        case 'e': o->exec_log = optarg; break;
        case 's': o->start_log = optarg; break;
        case 'N': o->name = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    return 0;
}

static int register_handlers(baton_worker_t *w) {
    for (size_t i = 0; i < BATON_ARRAY_SIZE(examples); i++)
        if (baton_worker_register(w, examples[i].type, run_logged,
                                  (void *)&examples[i]))
            return -1;
    return 0;
}

int main(int argc, char **argv) {
    options_t opt;
    int rc;

    baton_log_set_program(PROG);
    if ((rc = parse_flags(argc, argv, &opt))) return rc;
    if (harness_open_log(PROG, opt.exec_log, &exec_log_fd) ||
        harness_open_log(PROG, opt.start_log, &start_log_fd))
        return 1;
    worker_name = opt.name;
    rc = harness_run(PROG, opt.config, opt.queue, opt.concurrency,
                     register_handlers);
    if (exec_log_fd >= 0) close(exec_log_fd);
    if (start_log_fd >= 0) close(start_log_fd);
    return rc;
}
