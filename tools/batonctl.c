/*
 * batonctl.c -- the operator CLI: start, signal, cancel and terminate
 * workflows, look at them (describe, result, history, list) and at the
 * backlog of every consumer group (lag); offline, check definition files
 * (validate) and draw them (graph).
 *
 * Where it fits: commands are produced to <topic.prefix>.commands exactly as
 * any Kafka client would (key = workflow id, partition = murmur2(id) like
 * Kafka's Java client, Avro or JSON envelope of common/codec.h), so batonctl
 * needs no private channel to batond.  Reads go straight to batond's Redis
 * keys (layout in orchestrator/store.h, snapshot fields in
 * orchestrator/snapshot.h); the JSON is read here with jansson.  The only
 * orchestrator code linked is the workflow-language library (asl.h): the
 * same parser as batond for validate, and its Mermaid flowchart for graph
 * and describe --graph.  Lag reads committed offsets of the groups
 * `batond.group` and baton.worker.<queue> without joining them.
 *
 * Every read command builds its answer as one JSON value and then renders it
 * as JSON (-o json, one line) or as text (aligned "key: value" lines or a
 * table); data goes to stdout, diagnostics to stderr.
 *
 * Exit status: 0 success, 1 any failure (including "not found" and a
 * workflow that did not succeed), 2 usage errors (unknown option, missing
 * or malformed argument, invalid JSON in --input/--payload): nothing was
 * sent when 2 is returned.
 *
 * Settings: flags (-b, -r, -X) override the BATON_* environment, which
 * overrides the config file (-c FILE, $BATON_CONFIG, else the dev stack's
 * build/dev/stack.conf); see common/config.h.
 *
 * Thread: single-threaded, except librdkafka's own threads (the delivery
 * report callback runs from rd_kafka_flush on the main thread).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "asl.h"
#include "baton_common.h"
#include "codec.h"
#include "config.h"
#include "kafka.h"
#include "redis.h"

enum { CTL_EXIT_OK = 0, CTL_EXIT_FAIL = 1, CTL_EXIT_USAGE = 2 };

#define CTL_PROG "batonctl"
#define CTL_MAX_PARTITIONS 1024  /* the scan fallback looks at p0..p1023 */
#define CTL_SCAN_CHUNK 128       /* EXISTS per pipelined round trip */
#define CTL_POLL_US 10000        /* result polls the snapshot every 10 ms */
#define CTL_META_TIMEOUT_MS 2000 /* optional metadata look-up (describe) */
#define CTL_ID_MAX 256           /* codec.h: workflow ids are 1..256 bytes */

/* Options a command accepts besides the global ones. */
enum {
    CTL_O_ID = 1 << 0,
    CTL_O_INPUT = 1 << 1,
    CTL_O_JSON = 1 << 2,
    CTL_O_PAYLOAD = 1 << 3,
    CTL_O_REASON = 1 << 4,
    CTL_O_WAIT = 1 << 5,
    CTL_O_STATUS = 1 << 6,
    CTL_O_GRAPH = 1 << 7,
    CTL_O_HIGHLIGHT = 1 << 8,
};

typedef struct ctl ctl_t;
typedef int (*ctl_cmd_fn_t)(ctl_t *ctl);

typedef struct ctl_cmd {
    const char *name;
    const char *synopsis; /* after the name, for --help */
    int npos;             /* positional arguments after the name; -1: one
                             or more (o.args) */
    unsigned opts;        /* CTL_O_* accepted */
    ctl_cmd_fn_t fn;
    const char *help;
    int offline; /* needs no configuration, Kafka or Redis */
} ctl_cmd_t;

/* A -X key=value or a flag that maps to a config key, applied in order. */
typedef struct ctl_set {
    const char *key;
    const char *value;
    char *owned; /* -X: the "key" copy split at '=' */
} ctl_set_t;

typedef struct ctl_opts {
    const ctl_cmd_t *cmd;
    const char *pos[4];
    int npos;
    char **args; /* npos -1: all the positional arguments */
    int nargs;
    int graph;             /* describe --graph */
    const char *highlight; /* graph --highlight STATE */
    unsigned given; /* CTL_O_* seen on the command line */
    const char *config_path;
    int json_out;      /* -o json */
    int json_envelope; /* --json: send the JSON envelope */
    int timeout_ms;    /* -t: Kafka delivery / metadata / Redis connect */
    const char *id, *input, *payload, *reason, *status;
    double wait_s;
    ctl_set_t sets[64];
    int nsets;
    int help;
} ctl_opts_t;

struct ctl {
    ctl_opts_t o;
    baton_conf_t *conf;
    redisContext *redis;
    int32_t partition_cnt; /* from Kafka metadata; -1 unknown */
    int partition_cnt_tried;
    int32_t wf_partition; /* where the workflow was found; -1 unknown */
    char topic[256];      /* <prefix>.commands */
};

/* Rendering of one value in text mode. */
typedef enum {
    CTL_FMT_PLAIN,   /* strings as they are, other values as compact JSON */
    CTL_FMT_TIME,    /* ms since the epoch -> ISO 8601 UTC */
    CTL_FMT_PENDING, /* {"kind":k, a:1, b:2} -> "k a=1 b=2" */
} ctl_fmt_t;

typedef struct ctl_field {
    const char *key;
    const char *label;
    ctl_fmt_t fmt;
} ctl_field_t;

static int ctl_cmd_start(ctl_t *ctl);
static int ctl_cmd_signal(ctl_t *ctl);
static int ctl_cmd_cancel(ctl_t *ctl);
static int ctl_cmd_terminate(ctl_t *ctl);
static int ctl_cmd_describe(ctl_t *ctl);
static int ctl_cmd_result(ctl_t *ctl);
static int ctl_cmd_history(ctl_t *ctl);
static int ctl_cmd_list(ctl_t *ctl);
static int ctl_cmd_lag(ctl_t *ctl);
static int ctl_cmd_validate(ctl_t *ctl);
static int ctl_cmd_graph(ctl_t *ctl);

static const ctl_cmd_t ctl_cmds[] = {
    {"start", "TYPE [--id ID] [--input JSON] [--json]", 1,
     CTL_O_ID | CTL_O_INPUT | CTL_O_JSON, ctl_cmd_start,
     "start a workflow of definition TYPE; prints its id", 0},
    {"signal", "ID NAME [--payload JSON] [--json]", 2,
     CTL_O_PAYLOAD | CTL_O_JSON, ctl_cmd_signal,
     "send signal NAME to a workflow", 0},
    {"cancel", "ID [--reason TEXT] [--json]", 1, CTL_O_REASON | CTL_O_JSON,
     ctl_cmd_cancel, "ask a workflow to cancel (Catch can handle it)", 0},
    {"terminate", "ID [--reason TEXT] [--json]", 1,
     CTL_O_REASON | CTL_O_JSON, ctl_cmd_terminate,
     "stop a workflow at once", 0},
    {"describe", "ID [--graph]", 1, CTL_O_GRAPH, ctl_cmd_describe,
     "status, position, state and what a workflow waits for (--graph: its "
     "definition as a Mermaid flowchart, current state marked)", 0},
    {"result", "ID [--wait SECONDS]", 1, CTL_O_WAIT, ctl_cmd_result,
     "print a workflow's output once it closed (waiting up to SECONDS)", 0},
    {"history", "ID", 1, 0, ctl_cmd_history,
     "print a workflow's history events", 0},
    {"list", "[--status STATUS]", 0, CTL_O_STATUS, ctl_cmd_list,
     "list workflows (RUNNING SUCCEEDED FAILED CANCELLED TERMINATED)", 0},
    {"lag", "", 0, 0, ctl_cmd_lag,
     "consumer lag of batond and of every task queue's workers", 0},
    {"validate", "FILE...", -1, 0, ctl_cmd_validate,
     "check definition files offline with batond's parser", 1},
    {"graph", "FILE [--highlight STATE]", 1, CTL_O_HIGHLIGHT, ctl_cmd_graph,
     "print a definition as a Mermaid flowchart", 1},
};

static const char *const ctl_statuses[] = {"RUNNING", "SUCCEEDED", "FAILED",
                                           "CANCELLED", "TERMINATED"};

/* ---- diagnostics -------------------------------------------------------- */

/* Prints "batonctl: <message>" on stderr; returns CTL_EXIT_FAIL. */
__attribute__((format(printf, 1, 2))) static int ctl_fail(const char *fmt,
                                                          ...) {
    va_list ap;
    fprintf(stderr, CTL_PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CTL_EXIT_FAIL;
}

/* Same, plus a pointer to --help; returns CTL_EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) static int ctl_usage_error(
    const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, CTL_PROG ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '" CTL_PROG " --help' for more information.\n");
    return CTL_EXIT_USAGE;
}

/* ---- usage -------------------------------------------------------------- */

static void ctl_usage(FILE *fp) {
    fprintf(fp,
            "Usage: " CTL_PROG " [OPTIONS] COMMAND [ARGS]\n"
            "\n"
            "Operator CLI of Baton, durable execution on Kafka and Redis.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < BATON_ARRAY_SIZE(ctl_cmds); i++)
        fprintf(fp, "  %-9s%s%s\n  %-9s   %s\n", ctl_cmds[i].name,
                *ctl_cmds[i].synopsis ? " " : "", ctl_cmds[i].synopsis, "",
                ctl_cmds[i].help);
    fprintf(fp,
            "\n"
            "Options:\n"
            "  -b, --brokers HOSTS    Kafka bootstrap servers "
            "(kafka.bootstrap.servers)\n"
            "  -r, --redis URL        Redis URL (redis.url)\n"
            "  -c, --config FILE      configuration file (key = value "
            "lines)\n"
            "  -X KEY=VALUE           set any configuration key, e.g. "
            "-X topic.prefix=dev\n"
            "  -o, --output FORMAT    text (default) or json\n"
            "  -t, --timeout SECONDS  Kafka delivery and Redis connect "
            "time-out (default 10)\n"
            "  -h, --help             this help\n"
            "\n"
            "Settings: flags override BATON_KAFKA_BROKERS, BATON_REDIS_URL,\n"
            "BATON_TOPIC_PREFIX, BATON_LOG_LEVEL, which override the config\n"
            "file (-c, $BATON_CONFIG, else the dev stack's "
            "build/dev/stack.conf).\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage error.\n"
            "\n"
            "Configuration keys:\n");
    fflush(fp);
    baton_conf_print_keys(fp);
}

/* ---- argument parsing --------------------------------------------------- */

static const ctl_cmd_t *ctl_cmd_find(const char *name) {
    for (size_t i = 0; i < BATON_ARRAY_SIZE(ctl_cmds); i++)
        if (!strcmp(ctl_cmds[i].name, name)) return &ctl_cmds[i];
    return NULL;
}

/* Long option names by CTL_O_* bit, for "does not apply" messages. */
static const char *ctl_opt_name(unsigned bit) {
    switch (bit) {
    case CTL_O_ID: return "--id";
    case CTL_O_INPUT: return "--input";
    case CTL_O_JSON: return "--json";
    case CTL_O_PAYLOAD: return "--payload";
    case CTL_O_REASON: return "--reason";
    case CTL_O_WAIT: return "--wait";
    case CTL_O_STATUS: return "--status";
    case CTL_O_GRAPH: return "--graph";
    case CTL_O_HIGHLIGHT: return "--highlight";
    }
    return "?";
}

/* Records a config setting from a flag; -X values are split at '='. */
static int ctl_add_set(ctl_opts_t *o, const char *key, const char *value,
                       const char *x_arg) {
    ctl_set_t *s;
    if (o->nsets == (int)BATON_ARRAY_SIZE(o->sets))
        return ctl_usage_error("too many -X/-b/-r options");
    s = &o->sets[o->nsets];
    if (x_arg) {
        char *eq;
        if (!(s->owned = baton_strdup(x_arg)))
            return ctl_fail("out of memory");
        if (!(eq = strchr(s->owned, '=')) || eq == s->owned) {
            baton_free(s->owned);
            s->owned = NULL;
            return ctl_usage_error("-X wants KEY=VALUE, not '%s'", x_arg);
        }
        *eq = '\0';
        key = s->owned;
        value = eq + 1;
    }
    s->key = key;
    s->value = value;
    o->nsets++;
    return CTL_EXIT_OK;
}

/* Parses a non-negative number of seconds (fractions allowed). */
static int ctl_parse_seconds(const char *opt, const char *s, double *out) {
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 86400.0 * 365)
        return ctl_usage_error("%s wants a number of seconds, not '%s'", opt,
                               s);
    *out = v;
    return CTL_EXIT_OK;
}

/* Handles one option returned by getopt_long; returns an exit code. */
static int ctl_parse_opt(ctl_opts_t *o, int c, const char *arg) {
    double secs;
    switch (c) {
    case 'b': return ctl_add_set(o, "kafka.bootstrap.servers", arg, NULL);
    case 'r': return ctl_add_set(o, "redis.url", arg, NULL);
    case 'X': return ctl_add_set(o, NULL, NULL, arg);
    case 'c': o->config_path = arg; return CTL_EXIT_OK;
    case 'h': o->help = 1; return CTL_EXIT_OK;
    case 'o':
        if (!strcmp(arg, "json")) o->json_out = 1;
        else if (!strcmp(arg, "text")) o->json_out = 0;
        else return ctl_usage_error("-o wants text or json, not '%s'", arg);
        return CTL_EXIT_OK;
    case 't':
        if (ctl_parse_seconds("--timeout", arg, &secs)) return CTL_EXIT_USAGE;
        o->timeout_ms = secs < 0.001 ? 1 : (int)(secs * 1000);
        return CTL_EXIT_OK;
    case 'I': o->given |= CTL_O_ID; o->id = arg; return CTL_EXIT_OK;
    case 'i': o->given |= CTL_O_INPUT; o->input = arg; return CTL_EXIT_OK;
    case 'j': o->given |= CTL_O_JSON; o->json_envelope = 1; return CTL_EXIT_OK;
    case 'p': o->given |= CTL_O_PAYLOAD; o->payload = arg; return CTL_EXIT_OK;
    case 'R': o->given |= CTL_O_REASON; o->reason = arg; return CTL_EXIT_OK;
    case 's': o->given |= CTL_O_STATUS; o->status = arg; return CTL_EXIT_OK;
    case 'g': o->given |= CTL_O_GRAPH; o->graph = 1; return CTL_EXIT_OK;
    case 'H':
        o->given |= CTL_O_HIGHLIGHT;
        o->highlight = arg;
        return CTL_EXIT_OK;
    case 'w':
        o->given |= CTL_O_WAIT;
        return ctl_parse_seconds("--wait", arg, &o->wait_s);
    }
    /* getopt_long already printed what was wrong. */
    return ctl_usage_error("bad command line");
}

/* Checks the command, its positional arguments and its options. */
static int ctl_check_cmd(ctl_opts_t *o, int argc, char **argv, int first) {
    unsigned stray;
    if (first >= argc) return ctl_usage_error("no command given");
    if (!(o->cmd = ctl_cmd_find(argv[first])))
        return ctl_usage_error("unknown command '%s'", argv[first]);
    o->npos = argc - first - 1;
    if (o->cmd->npos < 0 ? o->npos < 1 : o->npos != o->cmd->npos)
        return ctl_usage_error("usage: " CTL_PROG " %s %s", o->cmd->name,
                               o->cmd->synopsis);
    o->args = argv + first + 1;
    o->nargs = o->npos;
    for (int i = 0; i < o->npos && i < 4; i++) o->pos[i] = argv[first + 1 + i];
    if ((stray = o->given & ~o->cmd->opts))
        return ctl_usage_error("%s does not apply to '%s'",
                               ctl_opt_name(stray & -stray), o->cmd->name);
    return CTL_EXIT_OK;
}

/* Fills o from argv.  Options may come before or after the command (GNU
 * getopt permutes); "--" ends them.  Returns an exit code. */
static int ctl_parse_args(ctl_opts_t *o, int argc, char **argv) {
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"redis", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"output", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"id", required_argument, NULL, 'I'},
        {"input", required_argument, NULL, 'i'},
        {"json", no_argument, NULL, 'j'},
        {"payload", required_argument, NULL, 'p'},
        {"reason", required_argument, NULL, 'R'},
        {"status", required_argument, NULL, 's'},
        {"wait", required_argument, NULL, 'w'},
        {"graph", no_argument, NULL, 'g'},
        {"highlight", required_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;

    o->timeout_ms = 10000;
    while ((c = getopt_long(argc, argv, "b:r:c:o:t:X:h", longopts, NULL)) !=
           -1)
        if ((rc = ctl_parse_opt(o, c, optarg))) return rc;
    if (o->help) return CTL_EXIT_OK;
    return ctl_check_cmd(o, argc, argv, optind);
}

/* Frees what parsing allocated. */
static void ctl_opts_clear(ctl_opts_t *o) {
    for (int i = 0; i < o->nsets; i++) baton_free(o->sets[i].owned);
    o->nsets = 0;
}

/* ---- configuration ------------------------------------------------------ */

/* Loads file + environment, then the flags; returns an exit code. */
static int ctl_configure(ctl_t *ctl) {
    char errstr[512];
    if (!(ctl->conf = baton_conf_new())) return ctl_fail("out of memory");
    if (baton_conf_load_default(ctl->conf, ctl->o.config_path, errstr,
                                sizeof errstr))
        return ctl_fail("%s", errstr);
    for (int i = 0; i < ctl->o.nsets; i++)
        if (baton_conf_set(ctl->conf, ctl->o.sets[i].key,
                           ctl->o.sets[i].value, errstr, sizeof errstr))
            return ctl_usage_error("%s", errstr);
    if (baton_log_configure(baton_conf_get(ctl->conf, "log.level"),
                            baton_conf_get(ctl->conf, "log.debug")))
        return ctl_usage_error("log.level must be error, warn, info or debug");
    baton_topic(ctl->conf, "commands", ctl->topic, sizeof ctl->topic);
    ctl->partition_cnt = -1;
    ctl->wf_partition = -1;
    return CTL_EXIT_OK;
}

static void ctl_cleanup(ctl_t *ctl) {
    if (ctl->redis) redisFree(ctl->redis);
    baton_conf_destroy(ctl->conf);
    ctl_opts_clear(&ctl->o);
}

/* ---- output ------------------------------------------------------------- */

/* "2024-05-01T12:00:00.123Z" into buf; "-" for 0. */
static const char *ctl_fmt_time(int64_t ms, char *buf, size_t len) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char day[32];
    if (ms <= 0 || !gmtime_r(&t, &tm)) {
        snprintf(buf, len, "-");
        return buf;
    }
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", day, (int)(ms % 1000));
    return buf;
}

/* Compact JSON text of v (any type), baton_malloc'd; NULL when out of
 * memory. */
static char *ctl_json_text(const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *copy = s ? baton_strdup(s) : NULL;
    free(s);
    return copy;
}

static char *ctl_fmt_value(const json_t *v, ctl_fmt_t fmt);

/* "task seq=3 attempt=1 ..." from a pending object (a "due" rendered as a
 * time); baton_malloc'd, NULL when out of memory. */
static char *ctl_fmt_pending(const json_t *p) {
    const char *k;
    json_t *v;
    const char *kind = json_string_value(json_object_get(p, "kind"));
    char *out = baton_strdup(kind ? kind : "?");
    size_t len = out ? strlen(out) : 0;

    json_object_foreach((json_t *)p, k, v) {
        char *vs, *n;
        size_t add;
        if (!out || !strcmp(k, "kind")) continue;
        vs = ctl_fmt_value(v, strcmp(k, "due") ? CTL_FMT_PLAIN
                                               : CTL_FMT_TIME);
        add = strlen(k) + (vs ? strlen(vs) : 0) + 2;
        if (vs && (n = baton_realloc(out, len + add + 1))) {
            out = n;
            len += (size_t)snprintf(out + len, add + 1, " %s=%s", k, vs);
        } else {
            baton_free(out);
            out = NULL;
        }
        baton_free(vs);
    }
    return out;
}

/* Text form of one value; baton_malloc'd, NULL when out of memory. */
static char *ctl_fmt_value(const json_t *v, ctl_fmt_t fmt) {
    char buf[64];
    if (!v || json_is_null(v)) return baton_strdup("-");
    if (fmt == CTL_FMT_TIME && json_is_integer(v))
        return baton_strdup(
            ctl_fmt_time(json_integer_value(v), buf, sizeof buf));
    if (fmt == CTL_FMT_PENDING && json_is_object(v)) return ctl_fmt_pending(v);
    if (json_is_string(v)) return baton_strdup(json_string_value(v));
    return ctl_json_text(v);
}

/* Prints v on stdout as one line of compact JSON.  Returns an exit code. */
static int ctl_print_json(const json_t *v) {
    if (json_dumpf(v, stdout, JSON_COMPACT | JSON_ENCODE_ANY) ||
        fputc('\n', stdout) == EOF)
        return ctl_fail("writing to stdout failed");
    return CTL_EXIT_OK;
}

/* Prints the fields of obj as aligned "label: value" lines. */
static int ctl_print_fields(const json_t *obj, const ctl_field_t *f,
                            size_t nf) {
    int w = 0;
    for (size_t i = 0; i < nf; i++)
        if ((int)strlen(f[i].label) > w) w = (int)strlen(f[i].label);
    for (size_t i = 0; i < nf; i++) {
        char *s = ctl_fmt_value(json_object_get(obj, f[i].key), f[i].fmt);
        if (!s) return ctl_fail("out of memory");
        printf("%s:%*s %s\n", f[i].label, w - (int)strlen(f[i].label), "", s);
        baton_free(s);
    }
    return CTL_EXIT_OK;
}

/* Prints an array of objects as a table: a header, then one row each, the
 * columns padded to their widest cell (the last one is not padded). */
static int ctl_print_table(const json_t *rows, const ctl_field_t *f,
                           size_t nf) {
    size_t nrows = json_array_size(rows), ncells = (nrows + 1) * nf;
    char **cells = baton_calloc(ncells, sizeof(char *));
    int w[16] = {0}, oom = 0;

    if (!cells || nf > BATON_ARRAY_SIZE(w)) { /* NEVER: nf is a constant */
        baton_free(cells);
        return ctl_fail("out of memory");
    }
    for (size_t c = 0; c < nf; c++) cells[c] = baton_strdup(f[c].label);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < nf; c++)
            cells[(r + 1) * nf + c] = ctl_fmt_value(
                json_object_get(json_array_get(rows, r), f[c].key), f[c].fmt);
    for (size_t i = 0; i < ncells; i++) {
        if (!cells[i]) oom = 1;
        else if ((int)strlen(cells[i]) > w[i % nf])
            w[i % nf] = (int)strlen(cells[i]);
    }
    for (size_t i = 0; !oom && i < ncells; i++) {
        if (i % nf == nf - 1) printf("%s\n", cells[i]);
        else printf("%-*s  ", w[i % nf], cells[i]);
    }
    for (size_t i = 0; i < ncells; i++) baton_free(cells[i]);
    baton_free(cells);
    return oom ? ctl_fail("out of memory") : CTL_EXIT_OK;
}

/* ---- Kafka -------------------------------------------------------------- */

/* Outcome of the one message batonctl produces. */
typedef struct ctl_delivery {
    int done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
} ctl_delivery_t;

/* Delivery report callback: runs on the main thread, from rd_kafka_flush. */
static void ctl_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                            void *opaque) {
    ctl_delivery_t *d = m->_private;
    (void)rk;
    (void)opaque;
    if (!d) return;
    d->done = 1;
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
}

/* The first error librdkafka logged (its log callback runs on librdkafka's
 * threads, hence the lock): the root cause ("Connection refused") behind a
 * final "Message timed out", appended to batonctl's own message. */
static pthread_mutex_t ctl_klog_lock = PTHREAD_MUTEX_INITIALIZER;
static char ctl_klog_first[512];

/* librdkafka's log callback (any thread): every line becomes a debug line
 * of context "kafka" (-X log.level=debug -X log.debug=kafka shows them). */
static void ctl_kafka_log(const rd_kafka_t *rk, int level, const char *fac,
                          const char *buf) {
    (void)rk;
    if (level <= 3) { /* syslog LOG_ERR and worse */
        pthread_mutex_lock(&ctl_klog_lock);
        if (!ctl_klog_first[0])
            snprintf(ctl_klog_first, sizeof ctl_klog_first, "%s", buf);
        pthread_mutex_unlock(&ctl_klog_lock);
    }
    BATON_DEBUG("kafka", "librdkafka %s: %s", fac, buf);
}

/* " (first Kafka error: ...)" or "" into buf; returns buf. */
static const char *ctl_kafka_cause(char *buf, size_t len) {
    pthread_mutex_lock(&ctl_klog_lock);
    if (ctl_klog_first[0])
        snprintf(buf, len, " (first Kafka error: %s)", ctl_klog_first);
    else
        snprintf(buf, len, "%s", "");
    pthread_mutex_unlock(&ctl_klog_lock);
    return buf;
}

/* Prints "batonctl: <what>: <Kafka error> (first Kafka error: ...)";
 * returns CTL_EXIT_FAIL. */
__attribute__((format(printf, 2, 3))) static int ctl_kafka_fail(
    rd_kafka_resp_err_t err, const char *fmt, ...) {
    char what[1024], cause[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ctl_fail("%s: %s%s", what, rd_kafka_err2str(err),
                    ctl_kafka_cause(cause, sizeof cause));
}

/* A producer for commands: partitioner murmur2_random (murmur2 of the key,
 * as Kafka's Java client and batond), message time-out = -t.  Returns NULL
 * with errstr on failure; the caller owns the handle. */
static rd_kafka_t *ctl_producer_new(ctl_t *ctl, char *errstr, size_t errlen) {
    char tmo[32], err[256];
    rd_kafka_conf_t *kconf = baton_kafka_conf_new(
        ctl->conf, BATON_KAFKA_PRODUCER, NULL, errstr, errlen);
    if (!kconf) return NULL;
    snprintf(tmo, sizeof tmo, "%d", ctl->o.timeout_ms);
    if (rd_kafka_conf_set(kconf, "partitioner", "murmur2_random", err,
                          sizeof err) ||
        rd_kafka_conf_set(kconf, "message.timeout.ms", tmo, err,
                          sizeof err)) {
        rd_kafka_conf_destroy(kconf);
        baton_seterr(errstr, errlen, BATON_ERR_CONFIG, "%s", err);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(kconf, ctl_on_delivery);
    rd_kafka_conf_set_log_cb(kconf, ctl_kafka_log);
    return baton_kafka_new(kconf, BATON_KAFKA_PRODUCER, errstr, errlen);
}

/* A consumer handle that never subscribes: for metadata and watermarks
 * (group NULL) or committed offsets of a group.  NULL with errstr on
 * failure; the caller owns it. */
static rd_kafka_t *ctl_consumer_new(ctl_t *ctl, const char *group,
                                    char *errstr, size_t errlen) {
    rd_kafka_conf_t *kconf = baton_kafka_conf_new(
        ctl->conf, BATON_KAFKA_CONSUMER, group, errstr, errlen);
    if (!kconf) return NULL;
    rd_kafka_conf_set_log_cb(kconf, ctl_kafka_log);
    return baton_kafka_new(kconf, BATON_KAFKA_CONSUMER, errstr, errlen);
}

/* Partition count of <prefix>.commands, looked up once; -1 when Kafka is
 * not configured or not reachable (callers then scan Redis). */
static int32_t ctl_partition_count(ctl_t *ctl) {
    char errstr[512];
    rd_kafka_t *rk;
    int tmo = ctl->o.timeout_ms < CTL_META_TIMEOUT_MS ? ctl->o.timeout_ms
                                                      : CTL_META_TIMEOUT_MS;

    if (ctl->partition_cnt_tried) return ctl->partition_cnt;
    ctl->partition_cnt_tried = 1;
    if (!baton_conf_get(ctl->conf, "kafka.bootstrap.servers")) {
        BATON_DEBUG("ctl", "no Kafka configured: finding partitions by scan");
        return -1;
    }
    if (!(rk = ctl_consumer_new(ctl, NULL, errstr, sizeof errstr))) {
        BATON_DEBUG("ctl", "%s: finding partitions by scan", errstr);
        return -1;
    }
    ctl->partition_cnt = baton_kafka_partition_count(rk, ctl->topic, tmo,
                                                     errstr, sizeof errstr);
    if (ctl->partition_cnt <= 0)
        BATON_DEBUG("ctl", "%s: finding partitions by scan", errstr);
    rd_kafka_destroy(rk);
    return ctl->partition_cnt;
}

/* Prints what was sent: the id (text) or {"id","command","topic",
 * "partition","offset"} (json). */
static int ctl_print_sent(ctl_t *ctl, const baton_command_t *cmd,
                          const ctl_delivery_t *d) {
    json_t *o;
    int rc;
    if (!ctl->o.json_out) {
        printf("%s\n", cmd->workflow_id);
        return CTL_EXIT_OK;
    }
    o = json_pack("{ss ss ss si sI}", "id", cmd->workflow_id, "command",
                  baton_cmd_kind_name(cmd->kind), "topic", ctl->topic,
                  "partition", (int)d->partition, "offset",
                  (json_int_t)d->offset);
    if (!o) return ctl_fail("out of memory");
    rc = ctl_print_json(o);
    json_decref(o);
    return rc;
}

/* Produces value to <prefix>.commands keyed by the workflow id and waits
 * for its delivery report into *d.  Returns an exit code (error printed). */
static int ctl_produce(ctl_t *ctl, rd_kafka_t *rk, const baton_command_t *cmd,
                       const char *value, size_t len, ctl_delivery_t *d) {
    const char *what = baton_cmd_kind_name(cmd->kind);
    const char *brokers = baton_conf_get(ctl->conf, "kafka.bootstrap.servers");
    rd_kafka_headers_t *hdrs = baton_kafka_headers_new(ctl->o.json_envelope);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(ctl->topic),
        RD_KAFKA_V_KEY(cmd->workflow_id, strlen(cmd->workflow_id)),
        RD_KAFKA_V_VALUE((void *)value, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);

    if (err) {
        rd_kafka_headers_destroy(hdrs); /* not taken over on failure */
        return ctl_kafka_fail(err, "producing %s of '%s' to %s", what,
                              cmd->workflow_id, ctl->topic);
    }
    rd_kafka_flush(rk, ctl->o.timeout_ms + 1000);
    if (!d->done) {
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(rk, 0);
        return ctl_kafka_fail(RD_KAFKA_RESP_ERR__TIMED_OUT,
                              "%s of '%s' not acknowledged by Kafka at %s "
                              "within %d ms, it may or may not have been "
                              "written",
                              what, cmd->workflow_id, brokers,
                              ctl->o.timeout_ms);
    }
    if (d->err)
        return ctl_kafka_fail(d->err, "producing %s of '%s' to %s at %s",
                              what, cmd->workflow_id, ctl->topic, brokers);
    BATON_DEBUG("ctl", "%s of '%s' written to %s [%d] at offset %" PRId64,
                what, cmd->workflow_id, ctl->topic, (int)d->partition,
                d->offset);
    return CTL_EXIT_OK;
}

/* Encodes cmd (Avro, or JSON with --json), produces it and prints what was
 * sent.  Returns an exit code. */
static int ctl_send_command(ctl_t *ctl, const baton_command_t *cmd) {
    char errstr[512];
    char *buf = NULL;
    size_t len = 0;
    baton_codec_t *codec = baton_codec_new(errstr, sizeof errstr);
    rd_kafka_t *rk = NULL;
    ctl_delivery_t d = {0, RD_KAFKA_RESP_ERR_NO_ERROR, -1, -1};
    int rc = CTL_EXIT_FAIL;

    if (!codec) return ctl_fail("loading the envelope schemas: %s", errstr);
    if (baton_codec_encode_command(codec, cmd, ctl->o.json_envelope, &buf,
                                   &len, errstr, sizeof errstr))
        ctl_fail("encoding %s of '%s': %s", baton_cmd_kind_name(cmd->kind),
                 cmd->workflow_id, errstr);
    else if (!(rk = ctl_producer_new(ctl, errstr, sizeof errstr)))
        ctl_fail("%s", errstr);
    else if ((rc = ctl_produce(ctl, rk, cmd, buf, len, &d)) == CTL_EXIT_OK)
        rc = ctl_print_sent(ctl, cmd, &d);
    if (rk) rd_kafka_destroy(rk);
    baton_free(buf);
    baton_codec_destroy(codec);
    return rc;
}

/* ---- Redis -------------------------------------------------------------- */

/* The connection, opened on first use.  NULL when it failed (printed). */
static redisContext *ctl_redis(ctl_t *ctl) {
    char errstr[512];
    if (ctl->redis) return ctl->redis;
    ctl->redis = baton_redis_connect(baton_conf_get(ctl->conf, "redis.url"),
                                     ctl->o.timeout_ms, errstr, sizeof errstr);
    if (!ctl->redis) ctl_fail("%s", errstr);
    return ctl->redis;
}

/* Takes a reply; returns it, or NULL (freed, error printed) when the call
 * failed or Redis answered with an error.  what names the action. */
static redisReply *ctl_redis_check(ctl_t *ctl, redisReply *r,
                                   const char *what) {
    if (!r) {
        ctl_fail("Redis at %s, %s: %s", baton_conf_get(ctl->conf, "redis.url"),
                 what, ctl->redis->errstr[0] ? ctl->redis->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        ctl_fail("Redis, %s: %s", what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Runs one command (hiredis format); the reply is owned by the caller. */
__attribute__((format(printf, 3, 4))) static redisReply *ctl_redis_cmd(
    ctl_t *ctl, const char *what, const char *fmt, ...) {
    redisContext *c = ctl_redis(ctl);
    va_list ap;
    redisReply *r;
    if (!c) return NULL;
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    return ctl_redis_check(ctl, r, what);
}

/* Reads the next pipelined reply; NULL on failure (printed). */
static redisReply *ctl_redis_next(ctl_t *ctl, const char *what) {
    void *r = NULL;
    if (redisGetReply(ctl->redis, &r) != REDIS_OK) r = NULL;
    return ctl_redis_check(ctl, r, what);
}

/* Key names of orchestrator/store.h. */
static const char *ctl_key_wf(char *buf, size_t len, int32_t p,
                              const char *id) {
    snprintf(buf, len, "baton:{p%d}:wf:%s", (int)p, id);
    return buf;
}

static const char *ctl_key_hist(char *buf, size_t len, int32_t p,
                                const char *id) {
    snprintf(buf, len, "baton:{p%d}:hist:%s", (int)p, id);
    return buf;
}

/* EXISTS the snapshot key of id in partitions [from, to), pipelined.
 * Returns the first partition holding it, -1 none, -2 error (printed). */
static int32_t ctl_exists_range(ctl_t *ctl, const char *id, int32_t from,
                                int32_t to) {
    char key[CTL_ID_MAX + 64];
    int32_t found = -1;
    int failed = 0;
    if (!ctl_redis(ctl)) return -2;
    for (int32_t p = from; p < to; p++)
        if (redisAppendCommand(ctl->redis, "EXISTS %s",
                               ctl_key_wf(key, sizeof key, p, id)) !=
            REDIS_OK) {
            ctl_fail("out of memory");
            return -2;
        }
    for (int32_t p = from; p < to; p++) {
        redisReply *r = ctl_redis_next(ctl, "looking for the workflow");
        if (!r) {
            failed = 1; /* the connection is unusable: stop reading */
            break;
        }
        if (found < 0 && r->type == REDIS_REPLY_INTEGER && r->integer == 1)
            found = p;
        freeReplyObject(r);
    }
    return failed ? -2 : found;
}

/* Finds the partition whose keys hold workflow id: murmur2(id) over the
 * partition count of Kafka's metadata first, then (when scan is set) every
 * partition p0..p1023.  Returns 1 (ctl->wf_partition set), 0 not found, -1
 * error (printed). */
static int ctl_locate(ctl_t *ctl, const char *id, int scan) {
    int32_t n, p;
    if (ctl->wf_partition >= 0) return 1;
    if ((n = ctl_partition_count(ctl)) > 0) {
        int32_t guess = baton_partition_for(id, n);
        if ((p = ctl_exists_range(ctl, id, guess, guess + 1)) < -1) return -1;
        if (p >= 0) {
            ctl->wf_partition = p;
            return 1;
        }
    }
    for (int32_t from = 0; scan && from < CTL_MAX_PARTITIONS;
         from += CTL_SCAN_CHUNK) {
        if ((p = ctl_exists_range(ctl, id, from, from + CTL_SCAN_CHUNK)) < -1)
            return -1;
        if (p >= 0) {
            if (n > 0)
                BATON_WARN("ctl", "workflow '%s' found in partition %d, not "
                                  "in %d = murmur2 over %d partitions",
                           id, (int)p, (int)baton_partition_for(id, n), (int)n);
            ctl->wf_partition = p;
            return 1;
        }
    }
    return 0;
}

/* Reads the snapshot of id into *out (a JSON object owned by the caller).
 * Returns 1, 0 when there is none, -1 on error (printed). */
static int ctl_snapshot_get(ctl_t *ctl, const char *id, int scan,
                            json_t **out) {
    char key[CTL_ID_MAX + 64];
    json_error_t jerr;
    redisReply *r;
    int found = ctl_locate(ctl, id, scan);

    *out = NULL;
    if (found <= 0) return found;
    ctl_key_wf(key, sizeof key, ctl->wf_partition, id);
    if (!(r = ctl_redis_cmd(ctl, "reading the snapshot", "GET %s", key)))
        return -1;
    if (r->type != REDIS_REPLY_STRING) { /* expired since EXISTS */
        freeReplyObject(r);
        ctl->wf_partition = -1;
        return 0;
    }
    *out = json_loadb(r->str, r->len, 0, &jerr);
    freeReplyObject(r);
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        ctl_fail("snapshot %s is not a JSON object: %s", key, jerr.text);
        return -1;
    }
    return 1;
}

/* Status of a snapshot ("st"), "UNKNOWN" when missing. */
static const char *ctl_snap_status(const json_t *snap) {
    const char *st = json_string_value(json_object_get(snap, "st"));
    return st ? st : "UNKNOWN";
}

static const char *ctl_snap_str(const json_t *snap, const char *key,
                                const char *dflt) {
    const char *s = json_string_value(json_object_get(snap, key));
    return s ? s : dflt;
}

/* ---- start, signal, cancel, terminate ----------------------------------- */

/* Usage error naming opt when text is not JSON (any JSON value). */
static int ctl_check_json(const char *opt, const char *text) {
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        return ctl_usage_error("%s is not valid JSON: %s (line %d, column "
                               "%d)",
                               opt, jerr.text, jerr.line, jerr.column);
    json_decref(v);
    return CTL_EXIT_OK;
}

/* Usage error unless id is a valid workflow id (codec.h: 1..256 bytes). */
static int ctl_check_id(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n > CTL_ID_MAX)
        return ctl_usage_error("a workflow id has 1 to %d bytes, '%.40s%s' "
                               "has %zu",
                               CTL_ID_MAX, id, n > 40 ? "..." : "", n);
    return CTL_EXIT_OK;
}

/* "<type>-<16 random hex digits>" into buf; returns buf. */
static const char *ctl_gen_id(const char *type, char *buf, size_t len) {
    unsigned char r[8];
    char hex[17];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        uint64_t x = (uint64_t)baton_mono_us() ^ ((uint64_t)getpid() << 40) ^
                     (uint64_t)baton_now_ms();
        memcpy(r, &x, sizeof r);
    }
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    snprintf(buf, len, "%s-%s", type, hex);
    return buf;
}

static int ctl_cmd_start(ctl_t *ctl) {
    const char *type = ctl->o.pos[0];
    const char *input = ctl->o.input ? ctl->o.input : "{}";
    char idbuf[CTL_ID_MAX + 32];
    const char *id =
        ctl->o.id ? ctl->o.id : ctl_gen_id(type, idbuf, sizeof idbuf);
    baton_command_t cmd = {0};

    if (!*type) return ctl_usage_error("start: empty workflow type");
    if (ctl_check_json("--input", input) || ctl_check_id(id))
        return CTL_EXIT_USAGE;
    cmd.kind = BATON_CMD_START;
    cmd.workflow_id = (char *)id;
    cmd.workflow_type = (char *)type;
    cmd.payload = (char *)input;
    cmd.sent_at_ms = baton_now_ms();
    return ctl_send_command(ctl, &cmd);
}

static int ctl_cmd_signal(ctl_t *ctl) {
    const char *payload = ctl->o.payload; /* NULL: a signal without one */
    baton_command_t cmd = {0};

    if (ctl_check_id(ctl->o.pos[0]) ||
        (payload && ctl_check_json("--payload", payload)))
        return CTL_EXIT_USAGE;
    if (!*ctl->o.pos[1]) return ctl_usage_error("signal: empty signal name");
    cmd.kind = BATON_CMD_SIGNAL;
    cmd.workflow_id = (char *)ctl->o.pos[0];
    cmd.name = (char *)ctl->o.pos[1];
    cmd.payload = (char *)payload;
    cmd.sent_at_ms = baton_now_ms();
    return ctl_send_command(ctl, &cmd);
}

/* cancel and terminate: the same command but for its kind. */
static int ctl_send_stop(ctl_t *ctl, baton_cmd_kind_t kind,
                         const char *dflt_reason) {
    baton_command_t cmd = {0};
    if (ctl_check_id(ctl->o.pos[0])) return CTL_EXIT_USAGE;
    cmd.kind = kind;
    cmd.workflow_id = (char *)ctl->o.pos[0];
    cmd.reason = (char *)(ctl->o.reason ? ctl->o.reason : dflt_reason);
    cmd.sent_at_ms = baton_now_ms();
    return ctl_send_command(ctl, &cmd);
}

static int ctl_cmd_cancel(ctl_t *ctl) {
    return ctl_send_stop(ctl, BATON_CMD_CANCEL, "cancelled with batonctl");
}

static int ctl_cmd_terminate(ctl_t *ctl) {
    return ctl_send_stop(ctl, BATON_CMD_TERMINATE, "terminated with batonctl");
}

/* ---- describe ----------------------------------------------------------- */

/* What the run waits for, from the p* fields: {"kind":"task","seq",
 * "attempt","queue","type"}, {"kind":"signal","name"}, {"kind":"retry",
 * "seq","attempt","due"}, {"kind":"wait","due"}, or null.  New reference. */
static json_t *ctl_pending_json(const json_t *snap) {
    static const struct {
        const char *kind, *src, *dst;
    } map[] = {
        {"task", "pseq", "seq"},    {"task", "patt", "attempt"},
        {"task", "pq", "queue"},    {"task", "pat", "type"},
        {"signal", "psig", "name"}, {"retry", "pseq", "seq"},
        {"retry", "patt", "attempt"}, {"retry", "pdue", "due"},
        {"wait", "pdue", "due"},
    };
    const char *pk = json_string_value(json_object_get(snap, "pk"));
    json_t *p;
    if (!pk) return json_null();
    if (!(p = json_pack("{ss}", "kind", pk))) return NULL;
    for (size_t i = 0; i < BATON_ARRAY_SIZE(map); i++) {
        json_t *v;
        if (strcmp(map[i].kind, pk)) continue;
        if ((v = json_object_get(snap, map[i].src)) &&
            json_object_set(p, map[i].dst, v)) {
            json_decref(p);
            return NULL;
        }
    }
    return p;
}

/* Sets obj[dst] = snap[src] (null when absent); 0 ok, -1 out of memory. */
static int ctl_copy_field(json_t *obj, const char *dst, const json_t *snap,
                          const char *src) {
    json_t *v = src ? json_object_get(snap, src) : NULL;
    return json_object_set(obj, dst, v ? v : json_null());
}

/* The describe answer built from a snapshot (new reference, NULL when out
 * of memory).  "state" is the output once the run succeeded, else the
 * current state's input. */
static json_t *ctl_describe_json(const json_t *snap, int32_t partition) {
    static const char *const fields[][2] = {
        {"id", "id"},         {"type", "type"},   {"version", "ver"},
        {"status", "st"},     {"position", "pos"}, {"state", NULL},
        {"pending", NULL},    {"error", "err"},   {"cause", "cause"},
        {"started", "t0"},    {"closed", "t1"},
    };
    json_t *o = json_object(), *state = json_object_get(snap, "out"), *pend;
    int bad = !o;

    if (!state) state = json_object_get(snap, "si"); /* out: SUCCEEDED */
    for (size_t i = 0; !bad && i < BATON_ARRAY_SIZE(fields); i++)
        bad = ctl_copy_field(o, fields[i][0], snap, fields[i][1]);
    if (!bad && state) bad = json_object_set(o, "state", state);
    if (!bad) bad = !(pend = ctl_pending_json(snap)) ||
                    json_object_set_new(o, "pending", pend);
    if (!bad) bad = json_object_set_new(o, "partition",
                                        json_integer(partition));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Adds d["graph"]: the run's definition (its text from Redis,
 * baton:defs:<type>:<version>, as orchestrator/store.h lays it out) as a
 * Mermaid flowchart with the current state marked.  Returns an exit code
 * (the failure printed). */
static int ctl_describe_graph(ctl_t *ctl, const json_t *snap, json_t *d) {
    const char *type = ctl_snap_str(snap, "type", NULL);
    const char *ver = ctl_snap_str(snap, "ver", NULL);
    char errstr[1024], *mermaid = NULL;
    baton_asl_def_t *def = NULL;
    redisReply *r;
    int rc = CTL_EXIT_OK;
    if (!type || !ver)
        return ctl_fail("the snapshot names no definition (type, ver)");
    if (!(r = ctl_redis_cmd(ctl, "reading the definition",
                            "GET baton:defs:%s:%s", type, ver)))
        return CTL_EXIT_FAIL;
    if (r->type != REDIS_REPLY_STRING)
        rc = ctl_fail("definition %s version %s is not in Redis "
                      "(baton:defs:%s:%s)",
                      type, ver, type, ver);
    else if (baton_asl_def_parse(type, r->str, &def, errstr, sizeof errstr))
        rc = ctl_fail("definition %s version %s: %s", type, ver, errstr);
    else if (baton_asl_graph_mermaid(def, ctl_snap_str(snap, "pos", NULL),
                                     &mermaid) ||
             json_object_set_new(d, "graph", json_string(mermaid)))
        rc = ctl_fail("out of memory");
    freeReplyObject(r);
    baton_free(mermaid);
    baton_asl_def_destroy(def);
    return rc;
}

static int ctl_cmd_describe(ctl_t *ctl) {
    static const ctl_field_t fields[] = {
        {"id", "id", CTL_FMT_PLAIN},
        {"type", "type", CTL_FMT_PLAIN},
        {"version", "version", CTL_FMT_PLAIN},
        {"status", "status", CTL_FMT_PLAIN},
        {"position", "position", CTL_FMT_PLAIN},
        {"state", "state", CTL_FMT_PLAIN},
        {"pending", "pending", CTL_FMT_PENDING},
        {"error", "error", CTL_FMT_PLAIN},
        {"cause", "cause", CTL_FMT_PLAIN},
        {"started", "started", CTL_FMT_TIME},
        {"closed", "closed", CTL_FMT_TIME},
        {"partition", "partition", CTL_FMT_PLAIN},
    };
    const char *id = ctl->o.pos[0];
    json_t *snap, *d;
    int rc, found = ctl_snapshot_get(ctl, id, 1, &snap);

    if (found < 0) return CTL_EXIT_FAIL;
    if (!found) return ctl_fail("workflow '%s' not found", id);
    d = ctl_describe_json(snap, ctl->wf_partition);
    if (d && ctl->o.graph && (rc = ctl_describe_graph(ctl, snap, d))) {
        json_decref(snap);
        json_decref(d);
        return rc;
    }
    json_decref(snap);
    if (!d) return ctl_fail("out of memory");
    rc = ctl->o.json_out ? ctl_print_json(d)
                         : ctl_print_fields(d, fields,
                                            BATON_ARRAY_SIZE(fields));
    if (rc == CTL_EXIT_OK && !ctl->o.json_out && ctl->o.graph)
        printf("\n%s", json_string_value(json_object_get(d, "graph")));
    json_decref(d);
    return rc;
}

/* ---- result ------------------------------------------------------------- */

/* Prints the output of a closed run (exit 0) or why it did not succeed
 * (stderr, exit 1). */
static int ctl_result_print(ctl_t *ctl, const char *id, const json_t *snap) {
    const char *st = ctl_snap_status(snap);
    json_t *out = json_object_get(snap, "out");
    char verb[32];
    size_t i;

    if (!strcmp(st, "SUCCEEDED")) {
        size_t flags = JSON_ENCODE_ANY |
                       (ctl->o.json_out ? JSON_COMPACT : JSON_INDENT(2));
        if (json_dumpf(out ? out : json_null(), stdout, flags) ||
            fputc('\n', stdout) == EOF)
            return ctl_fail("writing to stdout failed");
        return CTL_EXIT_OK;
    }
    /* "FAILED" -> "failed", "CANCELLED" -> "cancelled" ... */
    for (i = 0; i < sizeof verb - 1 && st[i]; i++)
        verb[i] = (char)tolower((unsigned char)st[i]);
    verb[i] = '\0';
    return ctl_fail("workflow %s %s: %s: %s", id, verb,
                    ctl_snap_str(snap, "err", "-"),
                    ctl_snap_str(snap, "cause", "-"));
}

/* Whether poll number n may scan all partitions: always when Kafka gave no
 * partition count, else once a second (the first poll always may). */
static int ctl_result_may_scan(ctl_t *ctl, long n) {
    return n == 0 || (ctl->partition_cnt <= 0 ? n % 10 == 0 : n % 100 == 0);
}

static int ctl_cmd_result(ctl_t *ctl) {
    const char *id = ctl->o.pos[0];
    int64_t deadline = baton_mono_us() + (int64_t)(ctl->o.wait_s * 1e6);
    json_t *snap = NULL;
    int rc;

    for (long n = 0;; n++) {
        int found = ctl_snapshot_get(ctl, id, ctl_result_may_scan(ctl, n),
                                     &snap);
        if (found < 0) return CTL_EXIT_FAIL;
        if (found && strcmp(ctl_snap_status(snap), "RUNNING")) break;
        if (baton_mono_us() >= deadline) {
            if (!found)
                return ctl_fail("timed out after %g s, workflow '%s' not "
                                "found", ctl->o.wait_s, id);
            rc = ctl_fail("timed out after %g s, workflow %s is RUNNING at "
                          "state %s",
                          ctl->o.wait_s, id, ctl_snap_str(snap, "pos", "-"));
            json_decref(snap);
            return rc;
        }
        json_decref(snap);
        snap = NULL;
        usleep(CTL_POLL_US);
    }
    rc = ctl_result_print(ctl, id, snap);
    json_decref(snap);
    return rc;
}

/* ---- history ------------------------------------------------------------ */

/* Parses the LRANGE reply into a JSON array (new reference) of the event
 * objects; an element that is not JSON is reported and skipped. */
static json_t *ctl_history_json(const redisReply *r, const char *key) {
    json_t *events = json_array();
    for (size_t i = 0; events && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        json_error_t jerr;
        json_t *ev = e->type == REDIS_REPLY_STRING
                         ? json_loadb(e->str, e->len, 0, &jerr)
                         : NULL;
        if (!ev) {
            fprintf(stderr, CTL_PROG ": warning: %s[%zu] is not a JSON "
                            "event, skipped\n", key, i);
            continue;
        }
        if (json_array_append_new(events, ev)) {
            json_decref(events);
            return NULL;
        }
    }
    return events;
}

static int ctl_cmd_history(ctl_t *ctl) {
    static const ctl_field_t cols[] = {
        {"seq", "SEQ", CTL_FMT_PLAIN},     {"time", "TIME", CTL_FMT_TIME},
        {"type", "TYPE", CTL_FMT_PLAIN},   {"state", "STATE", CTL_FMT_PLAIN},
        {"data", "DATA", CTL_FMT_PLAIN},
    };
    const char *id = ctl->o.pos[0];
    char key[CTL_ID_MAX + 64];
    redisReply *r;
    json_t *events;
    int rc, found = ctl_locate(ctl, id, 1);

    if (found < 0) return CTL_EXIT_FAIL;
    if (!found) return ctl_fail("workflow '%s' not found", id);
    ctl_key_hist(key, sizeof key, ctl->wf_partition, id);
    if (!(r = ctl_redis_cmd(ctl, "reading the history", "LRANGE %s 0 -1",
                            key)))
        return CTL_EXIT_FAIL;
    events = r->type == REDIS_REPLY_ARRAY ? ctl_history_json(r, key)
                                          : json_array();
    freeReplyObject(r);
    if (!events) return ctl_fail("out of memory");
    rc = ctl->o.json_out ? ctl_print_json(events)
                         : ctl_print_table(events, cols,
                                           BATON_ARRAY_SIZE(cols));
    json_decref(events);
    return rc;
}

/* ---- list --------------------------------------------------------------- */

/* snap[key] or JSON null (borrowed either way). */
static json_t *ctl_field_or_null(const json_t *snap, const char *key) {
    json_t *v = json_object_get(snap, key);
    return v ? v : json_null();
}

/* 1 when key is baton:{p<digits>}:wf:<non-empty id>. */
static int ctl_is_wf_key(const char *key) {
    const char *p = key + strlen("baton:{p");
    if (strncmp(key, "baton:{p", strlen("baton:{p")) ||
        !isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p)) p++;
    return !strncmp(p, "}:wf:", 5) && p[5];
}

/* 1 when element i of a SCAN page is a snapshot key (those are GET). */
static int ctl_page_key(const redisReply *keys, size_t i) {
    return keys->element[i]->type == REDIS_REPLY_STRING &&
           ctl_is_wf_key(keys->element[i]->str);
}

/* Parses the reply to GET key: a snapshot object, or NULL when the key is
 * gone since SCAN or (reported) does not hold a JSON object. */
static json_t *ctl_page_snapshot(const redisReply *r, const char *key) {
    json_t *snap;
    if (r->type != REDIS_REPLY_STRING) return NULL;
    snap = json_loadb(r->str, r->len, 0, NULL);
    if (!json_is_object(snap)) {
        fprintf(stderr, CTL_PROG ": warning: %s is not a JSON snapshot, "
                        "skipped\n", key);
        json_decref(snap);
        return NULL;
    }
    return snap;
}

/* Appends {"id","type","status","position"} of each snapshot named in keys
 * (one SCAN page) whose status is status (all when NULL): the GETs are
 * pipelined.  Returns an exit code. */
static int ctl_list_page(ctl_t *ctl, const redisReply *keys,
                         const char *status, json_t *rows) {
    int rc = CTL_EXIT_OK;
    for (size_t i = 0; i < keys->elements; i++)
        if (ctl_page_key(keys, i) &&
            redisAppendCommand(ctl->redis, "GET %s", keys->element[i]->str) !=
                REDIS_OK)
            return ctl_fail("out of memory"); /* NEVER: unusable after */
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *r;
        json_t *snap, *row;
        if (!ctl_page_key(keys, i)) continue;
        if (!(r = ctl_redis_next(ctl, "reading snapshots")))
            return CTL_EXIT_FAIL; /* the connection is unusable */
        snap = ctl_page_snapshot(r, keys->element[i]->str);
        freeReplyObject(r);
        if (!snap || (status && strcmp(ctl_snap_status(snap), status))) {
            json_decref(snap);
            continue;
        }
        row = json_pack("{ss ss ss sO}", "id", ctl_snap_str(snap, "id", "?"),
                        "type", ctl_snap_str(snap, "type", "?"), "status",
                        ctl_snap_status(snap), "position",
                        ctl_field_or_null(snap, "pos"));
        json_decref(snap);
        if (rc == CTL_EXIT_OK && (!row || json_array_append_new(rows, row)))
            rc = ctl_fail("out of memory"); /* keep reading the replies */
    }
    return rc;
}

static int ctl_cmp_rows_by_id(const void *a, const void *b) {
    const json_t *const *x = a, *const *y = b;
    return strcmp(json_string_value(json_object_get(*x, "id")),
                  json_string_value(json_object_get(*y, "id")));
}

/* Sorts an array of objects by "id" in place.  0 ok, -1 out of memory. */
static int ctl_sort_rows(json_t *rows) {
    size_t n = json_array_size(rows);
    json_t **v = baton_calloc(n ? n : 1, sizeof(json_t *));
    int bad = !v;
    for (size_t i = 0; !bad && i < n; i++)
        v[i] = json_incref(json_array_get(rows, i));
    if (bad) return -1;
    qsort(v, n, sizeof *v, ctl_cmp_rows_by_id);
    json_array_clear(rows);
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(rows, v[i])) bad = -1;
    baton_free(v);
    return bad ? -1 : 0;
}

/* --status value upper-cased into buf; usage error when not a status. */
static int ctl_status_arg(const char *arg, char *buf, size_t len) {
    size_t i;
    for (i = 0; i < len - 1 && arg[i]; i++)
        buf[i] = (char)toupper((unsigned char)arg[i]);
    buf[i] = '\0';
    for (i = 0; i < BATON_ARRAY_SIZE(ctl_statuses); i++)
        if (!strcmp(buf, ctl_statuses[i])) return CTL_EXIT_OK;
    return ctl_usage_error("--status wants RUNNING, SUCCEEDED, FAILED, "
                           "CANCELLED or TERMINATED, not '%s'", arg);
}

static int ctl_cmd_list(ctl_t *ctl) {
    static const ctl_field_t cols[] = {
        {"id", "ID", CTL_FMT_PLAIN},
        {"type", "TYPE", CTL_FMT_PLAIN},
        {"status", "STATUS", CTL_FMT_PLAIN},
        {"position", "POSITION", CTL_FMT_PLAIN},
    };
    char status[16], cursor[32] = "0";
    json_t *rows;
    int rc = CTL_EXIT_OK;

    if (ctl->o.status && ctl_status_arg(ctl->o.status, status, sizeof status))
        return CTL_EXIT_USAGE;
    if (!ctl_redis(ctl)) return CTL_EXIT_FAIL;
    if (!(rows = json_array())) return ctl_fail("out of memory");
    do {
        redisReply *r = ctl_redis_cmd(ctl, "listing workflows",
                                      "SCAN %s MATCH baton:{p*}:wf:* COUNT "
                                      "1000", cursor);
        if (!r) rc = CTL_EXIT_FAIL;
        else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                 r->element[0]->type != REDIS_REPLY_STRING)
            rc = ctl_fail("Redis, listing workflows: unexpected SCAN reply");
        else {
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            rc = ctl_list_page(ctl, r->element[1],
                               ctl->o.status ? status : NULL, rows);
        }
        if (r) freeReplyObject(r);
    } while (rc == CTL_EXIT_OK && strcmp(cursor, "0"));
    if (rc == CTL_EXIT_OK && ctl_sort_rows(rows))
        rc = ctl_fail("out of memory");
    if (rc == CTL_EXIT_OK)
        rc = ctl->o.json_out ? ctl_print_json(rows)
                             : ctl_print_table(rows, cols,
                                               BATON_ARRAY_SIZE(cols));
    json_decref(rows);
    return rc;
}

/* ---- lag ---------------------------------------------------------------- */

/* The metadata entry of topic, or NULL. */
static const rd_kafka_metadata_topic_t *ctl_md_topic(
    const struct rd_kafka_metadata *md, const char *topic) {
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err)
            return &md->topics[i];
    return NULL;
}

/* Appends one row {"group","topic","partition","committed","end","lag"}
 * per partition of topics to rows and adds the lag to *total.  committed is
 * null when the group never committed there (the lag then counts from the
 * oldest message kept).  Reads committed offsets with a consumer of group
 * that never subscribes, so the group's members see no rebalance.  Returns
 * an exit code. */
static int ctl_lag_group(ctl_t *ctl, rd_kafka_t *meta,
                         const struct rd_kafka_metadata *md, const char *group,
                         const char *const *topics, size_t ntopics,
                         json_t *rows, int64_t *total) {
    char errstr[512];
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(16);
    rd_kafka_t *rk = NULL;
    rd_kafka_resp_err_t err;
    int rc = CTL_EXIT_OK;

    for (size_t t = 0; rc == CTL_EXIT_OK && t < ntopics; t++) {
        const rd_kafka_metadata_topic_t *mt = ctl_md_topic(md, topics[t]);
        if (!mt)
            rc = ctl_fail("topic %s not found in the cluster (wrong "
                          "topic.prefix?)", topics[t]);
        for (int p = 0; mt && p < mt->partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, topics[t],
                                              mt->partitions[p].id);
    }
    if (rc == CTL_EXIT_OK &&
        !(rk = ctl_consumer_new(ctl, group, errstr, sizeof errstr)))
        rc = ctl_fail("%s", errstr);
    if (rc == CTL_EXIT_OK &&
        (err = rd_kafka_committed(rk, parts, ctl->o.timeout_ms)))
        rc = ctl_kafka_fail(err, "reading committed offsets of group %s",
                            group);
    for (int i = 0; rc == CTL_EXIT_OK && i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t lo, hi, lag;
        json_t *row;
        if ((err = rd_kafka_query_watermark_offsets(meta, tp->topic,
                                                    tp->partition, &lo, &hi,
                                                    ctl->o.timeout_ms))) {
            rc = ctl_kafka_fail(err, "reading the end offset of %s [%d]",
                                tp->topic, (int)tp->partition);
            break;
        }
        lag = (tp->offset >= 0 ? hi - tp->offset : hi - lo);
        if (lag < 0) lag = 0;
        *total += lag;
        row = json_pack("{ss ss si so sI sI}", "group", group, "topic",
                        tp->topic, "partition", (int)tp->partition,
                        "committed",
                        tp->offset >= 0 ? json_integer(tp->offset)
                                        : json_null(),
                        "end", (json_int_t)hi, "lag", (json_int_t)lag);
        if (!row || json_array_append_new(rows, row))
            rc = ctl_fail("out of memory");
    }
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

static int ctl_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lag of every worker group: baton.worker.<queue> over each topic
 * <prefix>.tasks.<queue> of the metadata, in queue order. */
static int ctl_lag_workers(ctl_t *ctl, rd_kafka_t *meta,
                           const struct rd_kafka_metadata *md, json_t *rows,
                           int64_t *total) {
    char prefix[256];
    size_t plen, n = 0;
    const char **topics = baton_calloc((size_t)md->topic_cnt + 1,
                                       sizeof(char *));
    int rc = CTL_EXIT_OK;

    if (!topics) return ctl_fail("out of memory");
    plen = strlen(baton_topic(ctl->conf, "tasks.", prefix, sizeof prefix));
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strncmp(md->topics[i].topic, prefix, plen) &&
            md->topics[i].topic[plen] && !md->topics[i].err)
            topics[n++] = md->topics[i].topic;
    qsort(topics, n, sizeof *topics, ctl_cmp_str);
    for (size_t i = 0; rc == CTL_EXIT_OK && i < n; i++) {
        char group[512];
        snprintf(group, sizeof group, "baton.worker.%s", topics[i] + plen);
        rc = ctl_lag_group(ctl, meta, md, group, &topics[i], 1, rows, total);
    }
    baton_free(topics);
    return rc;
}

/* Prints the rows as a table and the totals per group and overall. */
static int ctl_lag_print_text(const json_t *rows, int64_t total) {
    static const ctl_field_t cols[] = {
        {"group", "GROUP", CTL_FMT_PLAIN},
        {"topic", "TOPIC", CTL_FMT_PLAIN},
        {"partition", "PARTITION", CTL_FMT_PLAIN},
        {"committed", "COMMITTED", CTL_FMT_PLAIN},
        {"end", "END", CTL_FMT_PLAIN},
        {"lag", "LAG", CTL_FMT_PLAIN},
    };
    int rc = ctl_print_table(rows, cols, BATON_ARRAY_SIZE(cols));
    if (rc == CTL_EXIT_OK) printf("total lag: %" PRId64 "\n", total);
    return rc;
}

static int ctl_cmd_lag(ctl_t *ctl) {
    char errstr[512], results[256];
    const char *batond_topics[] = {ctl->topic,
                                   baton_topic(ctl->conf, "results", results,
                                               sizeof results)};
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_t *meta = ctl_consumer_new(ctl, NULL, errstr, sizeof errstr);
    rd_kafka_resp_err_t err;
    json_t *rows = json_array(), *out;
    int64_t total = 0;
    int rc = CTL_EXIT_OK;

    if (!meta) rc = ctl_fail("%s", errstr);
    else if (!rows) rc = ctl_fail("out of memory");
    else if ((err = rd_kafka_metadata(meta, 1, NULL, &md, ctl->o.timeout_ms)))
        rc = ctl_kafka_fail(err, "reading the metadata of Kafka at %s",
                            baton_conf_get(ctl->conf,
                                           "kafka.bootstrap.servers"));
    if (rc == CTL_EXIT_OK)
        rc = ctl_lag_group(ctl, meta, md,
                           baton_conf_get(ctl->conf, "batond.group"),
                           batond_topics, 2, rows, &total);
    if (rc == CTL_EXIT_OK) rc = ctl_lag_workers(ctl, meta, md, rows, &total);
    if (rc == CTL_EXIT_OK && !ctl->o.json_out)
        rc = ctl_lag_print_text(rows, total);
    else if (rc == CTL_EXIT_OK) {
        out = json_pack("{sO sI}", "partitions", rows, "total",
                        (json_int_t)total);
        rc = out ? ctl_print_json(out) : ctl_fail("out of memory");
        json_decref(out);
    }
    json_decref(rows);
    if (md) rd_kafka_metadata_destroy(md);
    if (meta) rd_kafka_destroy(meta);
    return rc;
}

/* ---- validate, graph (offline) ------------------------------------------ */

/* Reads a whole file into *text (baton_malloc'd, NUL-terminated).  Returns
 * 0, or -1 with the reason in errstr. */
static int ctl_read_file(const char *path, char **text, char *errstr,
                         size_t errlen) {
    FILE *fp = fopen(path, "rb");
    char *buf = NULL, *nb;
    size_t len = 0, cap = 0, n;
    int failed = 0;
    *text = NULL;
    if (!fp) {
        snprintf(errstr, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    for (;;) {
        if (len + 1 >= cap) {
            cap = cap ? cap * 2 : 8192;
            if (!(nb = baton_realloc(buf, cap))) {
                snprintf(errstr, errlen, "out of memory");
                failed = 1;
                break;
            }
            buf = nb;
        }
        if ((n = fread(buf + len, 1, cap - len - 1, fp)) == 0) break;
        len += n;
    }
    if (!failed && ferror(fp)) {
        snprintf(errstr, errlen, "read error");
        failed = 1;
    }
    fclose(fp);
    if (failed) {
        baton_free(buf);
        return -1;
    }
    buf[len] = '\0';
    *text = buf;
    return 0;
}

/* The definition name batond gives a file: its base name without
 * ".asl.json" or ".json" (orchestrator/registry.c). */
static void ctl_def_name(const char *path, char *buf, size_t len) {
    static const char *const exts[] = {".asl.json", ".json"};
    const char *base = strrchr(path, '/');
    size_t n;
    base = base ? base + 1 : path;
    n = strlen(base);
    for (size_t i = 0; i < BATON_ARRAY_SIZE(exts); i++) {
        size_t e = strlen(exts[i]);
        if (n > e && !strcmp(base + n - e, exts[i])) {
            n -= e;
            break;
        }
    }
    snprintf(buf, len, "%.*s", (int)n, base);
}

/* Reads and parses a definition file.  Returns 0 with *def, or -1 with the
 * problem in errstr. */
static int ctl_load_def(const char *path, baton_asl_def_t **def, char *errstr,
                        size_t errlen) {
    char name[256], *text;
    baton_err_t err;
    *def = NULL;
    if (ctl_read_file(path, &text, errstr, errlen)) return -1;
    ctl_def_name(path, name, sizeof name);
    err = baton_asl_def_parse(name, text, def, errstr, errlen);
    baton_free(text);
    return err ? -1 : 0;
}

static int ctl_cmd_validate(ctl_t *ctl) {
    json_t *rows = json_array();
    int bad = 0, rc;
    if (!rows) return ctl_fail("out of memory");
    for (int i = 0; i < ctl->o.nargs; i++) {
        const char *file = ctl->o.args[i];
        char errstr[1024];
        baton_asl_def_t *def = NULL;
        int ok = ctl_load_def(file, &def, errstr, sizeof errstr) == 0;
        baton_asl_def_destroy(def);
        bad |= !ok;
        if (!ctl->o.json_out)
            printf("%s: %s\n", file, ok ? "ok" : errstr);
        else if (json_array_append_new(
                     rows, ok ? json_pack("{ss sb}", "file", file, "ok", 1)
                              : json_pack("{ss sb ss}", "file", file, "ok", 0,
                                          "error", errstr))) {
            json_decref(rows);
            return ctl_fail("out of memory");
        }
    }
    rc = ctl->o.json_out ? ctl_print_json(rows) : CTL_EXIT_OK;
    json_decref(rows);
    return rc ? rc : bad ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

static int ctl_cmd_graph(ctl_t *ctl) {
    const char *file = ctl->o.pos[0];
    char errstr[1024], *mermaid = NULL;
    baton_asl_def_t *def = NULL;
    json_t *o;
    int rc;
    if (ctl_load_def(file, &def, errstr, sizeof errstr))
        return ctl_fail("%s: %s", file, errstr);
    if (baton_asl_graph_mermaid(def, ctl->o.highlight, &mermaid)) {
        baton_asl_def_destroy(def);
        return ctl_fail("out of memory");
    }
    if (!ctl->o.json_out) {
        fputs(mermaid, stdout);
        rc = CTL_EXIT_OK;
    } else if (!(o = json_pack("{ss ss ss}", "file", file, "definition",
                               baton_asl_def_name(def), "mermaid", mermaid))) {
        rc = ctl_fail("out of memory");
    } else {
        rc = ctl_print_json(o);
        json_decref(o);
    }
    baton_free(mermaid);
    baton_asl_def_destroy(def);
    return rc;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv) {
    ctl_t ctl;
    int rc;

    memset(&ctl, 0, sizeof ctl);
    baton_log_set_program(CTL_PROG);
    rc = ctl_parse_args(&ctl.o, argc, argv);
    if (rc == CTL_EXIT_OK && ctl.o.help)
        ctl_usage(stdout);
    else if (rc == CTL_EXIT_OK &&
             (ctl.o.cmd->offline || (rc = ctl_configure(&ctl)) == CTL_EXIT_OK))
        rc = ctl.o.cmd->fn(&ctl);
    ctl_cleanup(&ctl);
    if (fflush(stdout) == EOF && rc == CTL_EXIT_OK)
        rc = ctl_fail("writing to stdout: %s", strerror(errno));
    return rc;
}
