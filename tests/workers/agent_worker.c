/*
 * agent_worker.c -- baton-agent-worker: the activities of the agent-pattern
 * examples (config/workflows/{research,plan-and-execute,approval-gate,
 * tool-loop,router,billing,technical,escalation,batch-analysis}.asl.json)
 * with a deterministic, scripted stand-in for the LLM, so that the
 * integration tests 0020-0026 can assert exact outputs.  Built on the
 * worker SDK (activities/sdk/baton_worker.h) and the test harness
 * (harness.h).
 *
 *   baton-agent-worker [--config FILE] [--queue Q] [--concurrency N]
 *                      [--exec-log FILE] [--sleep TYPE=MS]...
 *                      [--artifact-dir DIR] [--notify-log FILE]
 *
 * One process consumes one queue (the examples use llm, tools and docs);
 * every process registers every activity below.
 *
 * The scripted "LLM" (queue llm):
 *   llm.plan       {"goal", "max_tasks": N (default 3, at most 50)} ->
 *                  {"goal", "tasks": [{"id": "task-1", "title":
 *                  "Step 1 of <goal>"}, ...]}
 *   llm.synthesize {"topic"|"goal", "sources": [{title, url}...] and/or
 *                  "results": [{"output"}...]} -> {"text", "citations":
 *                  [urls], "inputs": n}; text is "<subject>: synthesized
 *                  from n inputs: <title or output>; <...>."
 *   llm.chat       {"messages": [...]} (OpenAI-style history) -> one
 *                  assistant message.  The first user message may carry
 *                  "#turns=N" (tool-call rounds before answering, default
 *                  2) and "#calls=M" (parallel calls per round, default 2,
 *                  at most 20).  While fewer than N assistant messages with
 *                  tool calls are in the history it answers {"role":
 *                  "assistant", "content": "", "tool_calls": [{"id":
 *                  "call-<round>-<j>", "name": "calc"|"lookup" (alternating),
 *                  "arguments": {...}}]}; then {"role": "assistant",
 *                  "content": "Answer to '<question>' after R tool rounds:
 *                  <content of every tool message, joined by ', '>",
 *                  "tool_calls": []}
 *   llm.classify   {"text"} -> {"route": "billing"|"technical"|"other",
 *                  "keyword": the word that decided (or null)}
 *   llm.reply      {"team", "request", "context"} -> {"team", "reply":
 *                  "[<team>] Re: <request> -- <context summary>"}
 *
 * Tools (queue tools):
 *   web.search     {"query", "max_results" (default 3)} -> {"query",
 *                  "sources": [{"title", "url", "snippet"}]}
 *   task.run       {"goal", "task": {"id", "title"}} -> {"task", "output":
 *                  "done: <title>"}
 *   tool.call      {"id", "name", "arguments"} -> {"role": "tool",
 *                  "tool_call_id": id, "name", "content"}: calc {"a","b"}
 *                  gives "<a>*<b>=<a*b>", lookup {"key"} gives "<key>:ok"
 *   billing.lookup {"request"} -> {"invoice": "INV-1042", "amount": 42,
 *                  "duplicate_charge": true}
 *   crm.lookup     always fails: error "CRM.Unavailable" (the flaky tool of
 *                  the escalation pattern)
 *   notify.human   {"channel", "message", ...} -> {"notified": channel,
 *                  "ticket": "ESC-<workflow id>"}; with --notify-log each
 *                  notification appends "<ticket> <channel> <message>"
 *   artifact.store {"name", "content"} -> {"uri", "bytes"}; with
 *                  --artifact-dir the content is written to DIR/<name>
 *                  (idempotent: a retry rewrites the same file)
 *
 * Documents (queue docs):
 *   doc.list       {"count": N (at most 100000)} -> {"documents":
 *                  ["doc-00001", ... ]}
 *   doc.summarize  {"doc": id, "index": i} -> {"doc", "index", "summary":
 *                  "summary of <doc>"}
 *
 * --sleep TYPE=MS makes activity TYPE take MS milliseconds (cancellable,
 * checked every 20 ms: a cancelled activity returns without a result).
 *
 * --exec-log FILE: every execution appends "<task_id> <pid> <start_ms>
 * <end_ms> <activity_type>" with one write() to FILE opened O_APPEND (the
 * four columns of baton-test-worker, then the type), so several workers
 * share one file and the tests count executions per type.
 *
 * Exit status: 0 after SIGTERM/SIGINT and a clean drain, 1 on errors, 2 on
 * usage errors.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define PROG "baton-agent-worker"
#define MAX_SLEEPS 16

typedef struct options {
    const char *config, *queue, *concurrency, *exec_log;
    const char *artifact_dir, *notify_log;
} options_t;

typedef struct activity {
    const char *type;
    void (*fn)(baton_activity_t *act, json_t *in);
    int64_t sleep_ms; /* --sleep */
} activity_t;

static int exec_log_fd = -1, notify_log_fd = -1;
static const char *artifact_dir;

/* ---- helpers ------------------------------------------------------------- */

/* Completes with the JSON value (stolen). */
static void complete_new(baton_activity_t *act, json_t *out) {
    harness_complete_new(act, out, "Agent.OutOfMemory");
}

static json_int_t int_or(json_t *obj, const char *key, json_int_t def) {
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

/* A growing text buffer (NULL text after an allocation failure). */
typedef struct text {
    char *s;
    size_t len, cap;
    int oom;
} text_t;

static void text_add(text_t *t, const char *fmt, ...) {
    va_list ap;
    int n;
    if (t->oom) return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if (t->s && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->oom = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
        t->s[t->len] = '\0';
    }
}

/* ---- the scripted LLM ------------------------------------------------------ */

static void llm_plan(baton_activity_t *act, json_t *in) {
    const char *goal = harness_str_or(in, "goal", "the goal");
    json_int_t n = int_or(in, "max_tasks", 3);
    json_t *tasks = json_array();
    if (n < 1) n = 1;
    if (n > 50) n = 50;
    for (json_int_t i = 1; i <= n; i++) {
        char id[32], title[512];
        snprintf(id, sizeof id, "task-%lld", (long long)i);
        snprintf(title, sizeof title, "Step %lld of %s", (long long)i, goal);
        json_array_append_new(tasks,
                              json_pack("{ssss}", "id", id, "title", title));
    }
    complete_new(act, json_pack("{ssso}", "goal", goal, "tasks", tasks));
}

/* Appends to t the name of each input (a source's title or a result's
 * output) and to citations each source's url; returns how many. */
static size_t synth_inputs(json_t *list, text_t *t, json_t *citations) {
    size_t i, n = 0;
    json_t *item;
    json_array_foreach(list, i, item) {
        const char *name =
            harness_str_or(item, "title", harness_str_or(item, "output", NULL));
        const char *url = harness_str_or(item, "url", NULL);
        if (!name) continue;
        text_add(t, "%s%s", n ? "; " : "", name);
        if (url) json_array_append_new(citations, json_string(url));
        n++;
    }
    return n;
}

static void llm_synthesize(baton_activity_t *act, json_t *in) {
    const char *subject =
        harness_str_or(in, "topic", harness_str_or(in, "goal", "the task"));
    json_t *citations = json_array();
    text_t body = {0};
    size_t n = synth_inputs(json_object_get(in, "sources"), &body, citations);
    n += synth_inputs(json_object_get(in, "results"), &body, citations);
    text_t t = {0};
    text_add(&t, "%s: synthesized from %zu inputs: %s.", subject, n,
             body.s ? body.s : "");
    if (t.oom || body.oom)
        baton_activity_fail(act, "Agent.OutOfMemory", "synthesizing", 0);
    else
        complete_new(act, json_pack("{sssOsI}", "text", t.s, "citations",
                                    citations, "inputs", (json_int_t)n));
    json_decref(citations);
    free(t.s);
    free(body.s);
}

/* The integer after `key` ("#turns=") in text, or def. */
static long directive(const char *text, const char *key, long def) {
    const char *p = text ? strstr(text, key) : NULL;
    char *end;
    long v;
    if (!p) return def;
    errno = 0;
    v = strtol(p + strlen(key), &end, 10);
    return (errno || end == p + strlen(key)) ? def : v;
}

static const char *first_user(json_t *messages) {
    size_t i;
    json_t *m;
    json_array_foreach(
        messages, i, m) if (!strcmp(harness_str_or(m, "role", ""),
                                    "user")) return harness_str_or(m, "content",
                                                                   "");
    return "";
}

/* Assistant messages with at least one tool call in the history. */
static long tool_rounds(json_t *messages) {
    size_t i;
    json_t *m;
    long n = 0;
    json_array_foreach(
        messages, i,
        m) if (!strcmp(harness_str_or(m, "role", ""), "assistant") &&
               json_array_size(json_object_get(m, "tool_calls")) > 0) n++;
    return n;
}

static json_t *tool_calls(long round, long calls) {
    json_t *arr = json_array();
    for (long j = 1; j <= calls; j++) {
        char id[64], key[64];
        json_t *args;
        snprintf(id, sizeof id, "call-%ld-%ld", round, j);
        snprintf(key, sizeof key, "fact-%ld-%ld", round, j);
        args = (j % 2) ? json_pack("{sIsI}", "a", (json_int_t)round, "b",
                                   (json_int_t)j)
                       : json_pack("{ss}", "key", key);
        json_array_append_new(arr, json_pack("{sssssO}", "id", id, "name",
                                             (j % 2) ? "calc" : "lookup",
                                             "arguments", args));
        json_decref(args);
    }
    return arr;
}

static json_t *final_answer(json_t *messages, const char *question,
                            long rounds) {
    size_t i, n = 0;
    json_t *m, *out;
    text_t t = {0};
    char q[256];
    size_t k = 0;
    /* the question without its directives */
    for (const char *p = question; *p && k < sizeof q - 1; p++) {
        if (*p == '#') break;
        q[k++] = *p;
    }
    while (k && q[k - 1] == ' ') k--;
    q[k] = '\0';
    text_add(&t, "Answer to '%s' after %ld tool rounds:", q, rounds);
    json_array_foreach(messages, i,
                       m) if (!strcmp(harness_str_or(m, "role", ""), "tool"))
        text_add(&t, "%s %s", n++ ? "," : "",
                 harness_str_or(m, "content", "?"));
    out = t.oom ? NULL
                : json_pack("{sssss[]}", "role", "assistant", "content", t.s,
                            "tool_calls");
    free(t.s);
    return out;
}

static void llm_chat(baton_activity_t *act, json_t *in) {
    json_t *messages = json_object_get(in, "messages");
    const char *question = first_user(messages);
    long turns = directive(question, "#turns=", 2);
    long calls = directive(question, "#calls=", 2);
    long rounds = tool_rounds(messages);
    if (!json_is_array(messages)) {
        baton_activity_fail_flags(act, "Agent.BadInput",
                                  "llm.chat needs \"messages\", an array", 0,
                                  BATON_FAIL_NON_RETRYABLE);
        return;
    }
    if (calls < 1) calls = 1;
    if (calls > 20) calls = 20;
    if (rounds < turns)
        complete_new(act,
                     json_pack("{ssssso}", "role", "assistant", "content", "",
                               "tool_calls", tool_calls(rounds + 1, calls)));
    else
        complete_new(act, final_answer(messages, question, rounds));
}

static int contains_word(const char *text, const char *word) {
    char lower[1024];
    size_t i;
    for (i = 0; text[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)tolower((unsigned char)text[i]);
    lower[i] = '\0';
    return strstr(lower, word) != NULL;
}

static void llm_classify(baton_activity_t *act, json_t *in) {
    static const char *const billing[] = {"invoice", "refund", "charge",
                                          "payment", "billing"};
    static const char *const technical[] = {"error", "crash", "bug", "login",
                                            "install"};
    const char *text = harness_str_or(in, "text", "");
    for (size_t i = 0; i < BATON_ARRAY_SIZE(billing); i++)
        if (contains_word(text, billing[i])) {
            complete_new(act, json_pack("{ssss}", "route", "billing", "keyword",
                                        billing[i]));
            return;
        }
    for (size_t i = 0; i < BATON_ARRAY_SIZE(technical); i++)
        if (contains_word(text, technical[i])) {
            complete_new(act, json_pack("{ssss}", "route", "technical",
                                        "keyword", technical[i]));
            return;
        }
    complete_new(act, json_pack("{sssn}", "route", "other", "keyword"));
}

static void llm_reply(baton_activity_t *act, json_t *in) {
    const char *team = harness_str_or(in, "team", "support");
    char *ctx = json_dumps(json_object_get(in, "context"),
                           JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    text_t t = {0};
    text_add(&t, "[%s] Re: %s -- %s", team, harness_str_or(in, "request", ""),
             ctx ? ctx : "no context");
    free(ctx);
    if (t.oom)
        baton_activity_fail(act, "Agent.OutOfMemory", "writing a reply", 0);
    else
        complete_new(act, json_pack("{ssss}", "team", team, "reply", t.s));
    free(t.s);
}

/* ---- tools ----------------------------------------------------------------- */

static void web_search(baton_activity_t *act, json_t *in) {
    static const char *const kinds[] = {"overview", "tutorial", "pitfalls",
                                        "benchmarks", "case study"};
    const char *q = harness_str_or(in, "query", "durable execution");
    json_int_t n = int_or(in, "max_results", 3);
    json_t *sources = json_array();
    char slug[128];
    size_t k = 0;
    for (const char *p = q; *p && k < sizeof slug - 1; p++)
        slug[k++] = isalnum((unsigned char)*p) ? (char)tolower(*p) : '-';
    slug[k] = '\0';
    if (n < 1 || n > (json_int_t)BATON_ARRAY_SIZE(kinds)) n = 3;
    for (json_int_t i = 0; i < n; i++) {
        char title[512], url[512], snippet[768];
        snprintf(title, sizeof title, "%s: %s", q, kinds[i]);
        snprintf(url, sizeof url, "https://example.org/%s/%lld", slug,
                 (long long)i + 1);
        snprintf(snippet, sizeof snippet, "The %s of %s.", kinds[i], q);
        json_array_append_new(sources,
                              json_pack("{ssssss}", "title", title, "url", url,
                                        "snippet", snippet));
    }
    complete_new(act, json_pack("{ssso}", "query", q, "sources", sources));
}

static void task_run(baton_activity_t *act, json_t *in) {
    json_t *task = json_object_get(in, "task");
    char out[600];
    snprintf(out, sizeof out, "done: %s", harness_str_or(task, "title", "?"));
    complete_new(act,
                 json_pack("{ssss}", "task", harness_str_or(task, "id", "?"),
                           "output", out));
}

static void tool_call(baton_activity_t *act, json_t *in) {
    const char *name = harness_str_or(in, "name", "");
    json_t *args = json_object_get(in, "arguments");
    char content[256];
    if (!strcmp(name, "calc")) {
        json_int_t a = int_or(args, "a", 0), b = int_or(args, "b", 0);
        snprintf(content, sizeof content, "%lld*%lld=%lld", (long long)a,
                 (long long)b, (long long)(a * b));
    } else if (!strcmp(name, "lookup")) {
        snprintf(content, sizeof content, "%s:ok",
                 harness_str_or(args, "key", "?"));
    } else {
        char cause[300];
        snprintf(cause, sizeof cause, "no tool named '%s'", name);
        baton_activity_fail_flags(act, "Agent.UnknownTool", cause, 0,
                                  BATON_FAIL_NON_RETRYABLE);
        return;
    }
    complete_new(act, json_pack("{ssssssss}", "role", "tool", "tool_call_id",
                                harness_str_or(in, "id", "?"), "name", name,
                                "content", content));
}

static void billing_lookup(baton_activity_t *act, json_t *in) {
    (void)in;
    complete_new(act, json_pack("{sssisb}", "invoice", "INV-1042", "amount", 42,
                                "duplicate_charge", 1));
}

static void crm_lookup(baton_activity_t *act, json_t *in) {
    char cause[128];
    (void)in;
    snprintf(cause, sizeof cause, "CRM did not answer (attempt %d)",
             (int)baton_activity_attempt(act));
    baton_activity_fail(act, "CRM.Unavailable", cause, 0);
}

static void notify_human(baton_activity_t *act, json_t *in) {
    const char *channel = harness_str_or(in, "channel", "on-call");
    char ticket[300], line[1024];
    int n;
    snprintf(ticket, sizeof ticket, "ESC-%s", baton_activity_workflow_id(act));
    n = snprintf(line, sizeof line, "%s %s %s\n", ticket, channel,
                 harness_str_or(in, "message", ""));
    if (notify_log_fd >= 0 && n > 0 && (size_t)n < sizeof line &&
        write(notify_log_fd, line, (size_t)n) != n) {
        baton_activity_fail(act, "Agent.NotifyFailed", strerror(errno), 0);
        return;
    }
    complete_new(act,
                 json_pack("{ssss}", "notified", channel, "ticket", ticket));
}

/* Writes content to artifact_dir/name (name: [A-Za-z0-9._-], no leading
 * dot).  Returns 0, or -1 with the reason in cause. */
static int write_artifact(const char *name, const char *content, char *path,
                          size_t pathlen, char *cause, size_t causelen) {
    size_t len = strlen(content);
    int fd;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) {
            snprintf(cause, causelen, "bad artifact name '%s'", name);
            return -1;
        }
    if (!*name || *name == '.') {
        snprintf(cause, causelen, "bad artifact name '%s'", name);
        return -1;
    }
    snprintf(path, pathlen, "%s/%s", artifact_dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, content, len) != (ssize_t)len) {
        snprintf(cause, causelen, "writing %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static void artifact_store(baton_activity_t *act, json_t *in) {
    const char *name = harness_str_or(in, "name", "artifact");
    const char *content = harness_str_or(in, "content", "");
    char path[1024], cause[1200], uri[1100];
    if (!artifact_dir) {
        snprintf(uri, sizeof uri, "mem://%s", name);
    } else if (write_artifact(name, content, path, sizeof path, cause,
                              sizeof cause)) {
        baton_activity_fail(act, "Agent.StoreFailed", cause, 0);
        return;
    } else {
        snprintf(uri, sizeof uri, "file://%s", path);
    }
    complete_new(act, json_pack("{sssI}", "uri", uri, "bytes",
                                (json_int_t)strlen(content)));
}

/* ---- documents ------------------------------------------------------------- */

static void doc_list(baton_activity_t *act, json_t *in) {
    json_int_t n = int_or(in, "count", 10);
    json_t *docs = json_array();
    if (n < 0) n = 0;
    if (n > 100000) n = 100000;
    for (json_int_t i = 1; i <= n; i++) {
        char id[32];
        snprintf(id, sizeof id, "doc-%05lld", (long long)i);
        json_array_append_new(docs, json_string(id));
    }
    complete_new(act, json_pack("{so}", "documents", docs));
}

static void doc_summarize(baton_activity_t *act, json_t *in) {
    const char *doc = harness_str_or(in, "doc", "?");
    char summary[128];
    snprintf(summary, sizeof summary, "summary of %s", doc);
    complete_new(act, json_pack("{sssIss}", "doc", doc, "index",
                                int_or(in, "index", -1), "summary", summary));
}

static activity_t activities[] = {
    {"llm.plan", llm_plan, 0},
    {"llm.synthesize", llm_synthesize, 0},
    {"llm.chat", llm_chat, 0},
    {"llm.classify", llm_classify, 0},
    {"llm.reply", llm_reply, 0},
    {"web.search", web_search, 0},
    {"task.run", task_run, 0},
    {"tool.call", tool_call, 0},
    {"billing.lookup", billing_lookup, 0},
    {"crm.lookup", crm_lookup, 0},
    {"notify.human", notify_human, 0},
    {"artifact.store", artifact_store, 0},
    {"doc.list", doc_list, 0},
    {"doc.summarize", doc_summarize, 0},
};

/* Every activity runs through here: the input parsed, the --sleep delay,
 * the handler, then the exec log line.  Thread: the SDK's pool threads. */
static void run_logged(baton_activity_t *act, void *opaque) {
    const activity_t *a = opaque;
    int64_t start = baton_now_ms();
    json_t *in = json_loads(baton_activity_input(act), JSON_DECODE_ANY, NULL);
    if (a->sleep_ms > 0 && baton_activity_sleep(act, a->sleep_ms)) {
        json_decref(in);
        return; /* cancelled: no result */
    }
    a->fn(act, json_is_object(in) ? in : NULL);
    json_decref(in);
    harness_exec_log(exec_log_fd, act, start, a->type);
}

/* ---- main's steps -------------------------------------------------------- */

static void usage(FILE *out) {
    fprintf(out, "usage: baton-agent-worker [--config FILE] [--queue Q] "
                 "[--concurrency N] [--exec-log FILE] [--sleep TYPE=MS]... "
                 "[--artifact-dir DIR] [--notify-log FILE]\n"
                 "Runs the activities of the agent-pattern examples with a "
                 "scripted LLM stand-in.\n");
}

/* --sleep TYPE=MS.  Returns 0, or 2 after printing why. */
static int parse_sleep(const char *arg) {
    const char *eq = strchr(arg, '=');
    int64_t ms;
    if (!eq || baton_parse_i64(eq + 1, &ms) || ms < 0) {
        fprintf(stderr, "baton-agent-worker: --sleep %s: expected TYPE=MS\n",
                arg);
        return 2;
    }
    for (size_t i = 0; i < BATON_ARRAY_SIZE(activities); i++)
        if (strlen(activities[i].type) == (size_t)(eq - arg) &&
            !strncmp(activities[i].type, arg, (size_t)(eq - arg))) {
            activities[i].sleep_ms = ms;
            return 0;
        }
    fprintf(stderr, "baton-agent-worker: --sleep %s: no activity type '%.*s'\n",
            arg, (int)(eq - arg), arg);
    return 2;
}

static int parse_flags(int argc, char **argv, options_t *o) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"queue", required_argument, NULL, 'q'},
        {"concurrency", required_argument, NULL, 'n'},
        {"exec-log", required_argument, NULL, 'e'},
        {"sleep", required_argument, NULL, 's'},
        {"artifact-dir", required_argument, NULL, 'a'},
        {"notify-log", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof *o);
    while ((c = getopt_long(argc, argv, "c:q:n:e:s:a:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'q': o->queue = optarg; break;
        case 'n': o->concurrency = optarg; break;
        case 'e': o->exec_log = optarg; break;
        case 's':
            if (parse_sleep(optarg)) return 2;
            break;
        case 'a': o->artifact_dir = optarg; break;
        case 'l': o->notify_log = optarg; break;
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
    for (size_t i = 0; i < BATON_ARRAY_SIZE(activities); i++)
        if (baton_worker_register(w, activities[i].type, run_logged,
                                  &activities[i]))
            return -1;
    return 0;
}

static void close_logs(void) {
    if (exec_log_fd >= 0) close(exec_log_fd);
    if (notify_log_fd >= 0) close(notify_log_fd);
}

int main(int argc, char **argv) {
    options_t opt;
    int rc;

    baton_log_set_program(PROG);
    if ((rc = parse_flags(argc, argv, &opt))) return rc;
    artifact_dir = opt.artifact_dir;
    if (harness_open_log(PROG, opt.exec_log, &exec_log_fd) ||
        harness_open_log(PROG, opt.notify_log, &notify_log_fd)) {
        close_logs();
        return 1;
    }
    rc = harness_run(PROG, opt.config, opt.queue, opt.concurrency,
                     register_handlers);
    close_logs();
    return rc;
}
