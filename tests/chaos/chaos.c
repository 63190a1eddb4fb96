/*
 * chaos.c -- baton-chaos: the load and the checker of the fault-injection
 * suite (chaos.sh drives the processes and the faults; README.md
 * is the guide).
 *
 *   baton-chaos load  --dir DIR [--rate R] [--duration S] [--seed N]
 *                     [--id-prefix P] [--type NAME] [--signal-delay-ms MS]
 *                     [-c FILE]
 *   baton-chaos check --dir DIR [--id-prefix P] [--batonctl PATH]
 *                     [--sample N] [--kinds K1,K2..] [--session-ms MS]
 *                     [--rebalance-ms MS] [--commit-ms MS] [--aof-ms MS]
 *                     [--json] [-c FILE]
 *
 * load: starts R workflows a second for S seconds (definition --type,
 * default chaos-mix, ids <P>-<seq>), each with a seeded random input
 * {"token", "ms" 50..800, "times" 0..2, "wait" 1..2}, and sends each the
 * signal "go" with payload {"token"} 0..--signal-delay-ms after its start
 * (so some signals arrive before the wait and are buffered, some after).
 * Commands are Avro envelopes on <prefix>.commands keyed by workflow id,
 * produced by an idempotent producer with a 10 min message time-out, so
 * broker faults delay them but do not lose or duplicate them; each carries
 * a dedupe id (<id>/START, <id>/SIGNAL), so when the producer fails for
 * good (librdkafka < 2.3 after a leader change) a new one re-sends what was
 * not acknowledged and batond applies it once.  Every command is recorded
 * in DIR/load.log when produced:
 *
 *   start <id> <token> <ms> <times> <wait> <time_ms>
 *   signal <id> <token> <time_ms>
 *   undelivered <id> <START|SIGNAL> <reason>     (delivery failed for good)
 *   resent <id> <START|SIGNAL>                   (after a fatal producer error)
 *
 * check: reads DIR/load.log, DIR/exec.log (the workers' --exec-log: one
 * line "<task_id> <pid> <start_ms> <end_ms>" per execution), DIR/start.log
 * when there is one (the workers' --start-log: "<task_id> <pid> <start_ms>
 * <name> <partition> <offset>" per execution started), DIR/faults.log
 * (chaos.sh: "<time_ms> <kind> <detail>" per fault) and, from Redis, each
 * workflow's snapshot baton:{pN}:wf:<id> and history baton:{pN}:hist:<id>.
 * The invariants (tests/chaos/README.md explains each):
 *
 *   complete     status SUCCEEDED, exactly one closing event, which is
 *                WorkflowCompleted
 *   history      event seqs 1..n without gap or repeat
 *   once         per activity step and attempt at most one
 *                ActivityScheduled, at most one outcome (Completed or
 *                Failed), and exactly one ActivityCompleted per step
 *   signal       exactly one SignalReceived "go", carrying the token sent
 *   timers       one WaitStarted and one WaitEnded, not before its "until";
 *                each ActivityRetryScheduled followed by exactly one
 *                ActivityScheduled of that attempt, not before its "due"
 *   results      the output holds every result: work.slept_ms = ms,
 *                flaky.attempt = times + 1, signal.token = echo.token =
 *                token
 *   executions   every execution in the exec log belongs to an attempt the
 *                history scheduled; a task executed more than once is a
 *                re-run, excused only by a fault that succeeded and could
 *                cause it while the attempt was open (see "what may run a
 *                task again" below: the worker that ran it killed, the
 *                owner batond killed, ...), counted by cause
 *   faults       every fault chaos.sh logged succeeded ("inject-error"
 *                lines are violations) and every kind in --kinds occurred
 *   handover     every partition a killed batond owned is taken again
 *                (the times are reported)
 *   batonctl     (--batonctl) for --sample workflows, `batonctl -o json
 *                describe` says SUCCEEDED and `history` has as many events
 *                as Redis
 *
 * It prints a table (faults by kind, workflows, signals, executions,
 * duplicates and how many a fault justified, violations) and the first
 * violations, or one JSON object with --json.  Exit status: 0 when every
 * started workflow completed and no invariant is violated, 1 otherwise, 2
 * for usage errors.
 *
 * Thread: single-threaded (plus librdkafka's threads in load).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "baton_common.h"
#include "cli.h"
#include "codec.h"
#include "config.h"
#include "kafka.h"
#include "keys.h"
#include "redis.h"

#define PROG "baton-chaos"
#define SUBSYS "chaos"
#define ID_MAX 128
#define TOKEN_MAX 64
#define MAX_FAULT_KINDS 32
#define MAX_VIOLATIONS_SHOWN 20

typedef struct opts {
    const char *cmd, *dir, *config, *type, *batonctl, *kinds;
    char prefix[64];
    double rate;
    int64_t duration_s, seed, signal_delay_ms, sample, session_ms;
    int64_t rebalance_ms, commit_ms, aof_ms;
    int json;
} opts_t;

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

/* ---- seeded random numbers (splitmix64) -------------------------------- */

static uint64_t rng_state;
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* Uniform in [lo, hi]. */
static int64_t rng_range(int64_t lo, int64_t hi) {
    return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

/* ======================================================================== */
/* load                                                                     */
/* ======================================================================== */

/* One workflow of the load: its START and its signal, each 0 not sent, 1
 * produced (not acknowledged yet), 2 acknowledged. */
typedef struct load_sig {
    char id[ID_MAX];
    char token[TOKEN_MAX];
    char input[256];
    int64_t due_ms;
    int sent;
    int start_st, sig_st;
} load_sig_t;

typedef struct load {
    const opts_t *o;
    baton_conf_t *conf;
    baton_codec_t *codec;
    rd_kafka_t *producer;
    char topic[256];
    FILE *log;
    load_sig_t *sigs;
    size_t nsigs, cap;
    int64_t produced, delivered, undelivered, recoveries;
    int recovering; /* a fatal error: delivery failures are re-sent */
} load_t;

/* Delivery reports carry the workflow's index and the kind: index * 2 +
 * (1 for START), plus 1 (never NULL). */
static void *load_ref(size_t i, int start) {
    return (void *)(uintptr_t)(i * 2 + (start ? 1 : 0) + 1);
}

/* Delivery report: an acknowledged command is marked so; one Kafka refused
 * for good is logged, so the checker does not expect its workflow (or its
 * signal) -- unless the producer hit a fatal error, whose failures
 * load_recover re-sends. */
static void load_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                             void *opaque) {
    load_t *l = opaque;
    uintptr_t ref = (uintptr_t)m->_private - 1;
    size_t i = ref / 2;
    int start = (int)(ref & 1);
    char fe[256];
    if (!m->_private || i >= l->nsigs) return;
    if (!m->err) {
        l->delivered++;
        *(start ? &l->sigs[i].start_st : &l->sigs[i].sig_st) = 2;
        return;
    }
    if (l->recovering || rd_kafka_fatal_error(rk, fe, sizeof fe)) return;
    l->undelivered++;
    fprintf(l->log, "undelivered %.*s %s %s\n", (int)m->key_len,
            (const char *)m->key, start ? "START" : "SIGNAL",
            rd_kafka_err2name(m->err));
    BATON_ERROR(SUBSYS, "command to %.*s not delivered: %s", (int)m->key_len,
                (const char *)m->key, rd_kafka_err2str(m->err));
}

/* Produces one command of workflow i (dedupe id "<id>/START" or
 * "<id>/SIGNAL": a command re-sent after a fatal producer error is applied
 * once).  Returns 0, -1, or 1 when the producer hit a fatal error. */
static int load_send(load_t *l, baton_cmd_kind_t kind, size_t i,
                     const char *payload) {
    baton_command_t cmd = {0};
    const char *id = l->sigs[i].id;
    char *buf = NULL, err[512], dedupe[ID_MAX + 16];
    size_t len;
    rd_kafka_resp_err_t kerr;

    cmd.kind = kind;
    cmd.workflow_id = (char *)id;
    cmd.workflow_type = kind == BATON_CMD_START ? (char *)l->o->type : NULL;
    cmd.name = kind == BATON_CMD_SIGNAL ? "go" : NULL;
    cmd.payload = (char *)payload;
    cmd.sent_at_ms = baton_now_ms();
    snprintf(dedupe, sizeof dedupe, "%s/%s", id, baton_cmd_kind_name(kind));
    cmd.dedupe_id = dedupe;
    if (baton_codec_encode_command(l->codec, &cmd, 0, &buf, &len, err,
                                   sizeof err)) {
        BATON_ERROR(SUBSYS, "encoding %s of %s: %s", baton_cmd_kind_name(kind),
                    id, err);
        return -1;
    }
    for (;;) {
        kerr = rd_kafka_producev(
            l->producer, RD_KAFKA_V_TOPIC(l->topic),
            RD_KAFKA_V_KEY(id, strlen(id)), RD_KAFKA_V_VALUE(buf, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(load_ref(i, kind == BATON_CMD_START)),
            RD_KAFKA_V_END);
        if (kerr != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        rd_kafka_poll(l->producer, 50);
    }
    baton_free(buf);
    if (kerr == RD_KAFKA_RESP_ERR__FATAL) return 1;
    if (kerr) {
        BATON_ERROR(SUBSYS, "producing %s of %s: %s", baton_cmd_kind_name(kind),
                    id, rd_kafka_err2str(kerr));
        return -1;
    }
    *(kind == BATON_CMD_START ? &l->sigs[i].start_st : &l->sigs[i].sig_st) = 1;
    l->produced++;
    return 0;
}

static int load_producer_new(load_t *l, char *err, size_t errlen);

/* The idempotent producer of librdkafka < 2.3 can fail for good after a
 * partition leader change ("out of order sequence number ... sequence
 * desynchronization", librdkafka #4438): then every command not yet
 * acknowledged is produced again by a new producer (new producer id);
 * their dedupe ids make batond apply each once.  Returns 0 or -1. */
static int load_recover(load_t *l) {
    char err[512], why[512] = "";
    int64_t again = 0;
    rd_kafka_fatal_error(l->producer, why, sizeof why);
    BATON_WARN(SUBSYS,
               "producer fatal error (%s): re-sending every command "
               "not acknowledged with a new producer",
               why);
    l->recovering = 1;
    rd_kafka_purge(l->producer,
                   RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(l->producer, 100);
    rd_kafka_destroy(l->producer);
    l->producer = NULL;
    l->recovering = 0;
    if (load_producer_new(l, err, sizeof err)) {
        BATON_ERROR(SUBSYS, "new producer: %s", err);
        return -1;
    }
    l->recoveries++;
    for (size_t i = 0; i < l->nsigs; i++) {
        load_sig_t *s = &l->sigs[i];
        char payload[128];
        snprintf(payload, sizeof payload, "{\"token\":\"%s\"}", s->token);
        if (s->start_st == 1) {
            if (load_send(l, BATON_CMD_START, i, s->input)) return -1;
            fprintf(l->log, "resent %s START\n", s->id);
            again++;
        }
        if (s->sig_st == 1) {
            if (load_send(l, BATON_CMD_SIGNAL, i, payload)) return -1;
            fprintf(l->log, "resent %s SIGNAL\n", s->id);
            again++;
        }
    }
    BATON_WARN(SUBSYS, "%" PRId64 " commands re-sent", again);
    return 0;
}

/* load_send, recovering from a fatal producer error once per call. */
static int load_send_ok(load_t *l, baton_cmd_kind_t kind, size_t i,
                        const char *payload) {
    int rc = load_send(l, kind, i, payload);
    if (rc == 1) {
        if (load_recover(l)) return -1;
        rc = load_send(l, kind, i, payload);
    }
    return rc ? -1 : 0;
}

/* Starts workflow number i with a random input and schedules its signal. */
static int load_start_one(load_t *l, int64_t i) {
    load_sig_t *s;
    char input[256];
    int64_t ms = rng_range(50, 800), times = rng_range(0, 2),
            wait = rng_range(1, 2), now = baton_now_ms();

    if (l->nsigs == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        load_sig_t *n = baton_realloc(l->sigs, cap * sizeof *n);
        if (!n) return -1;
        l->sigs = n;
        l->cap = cap;
    }
    s = &l->sigs[l->nsigs];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s-%06" PRId64, l->o->prefix, i);
    snprintf(s->token, sizeof s->token, "%" PRId64 "-%" PRId64 "-%08" PRIx64,
             l->o->seed, i, (uint64_t)(rng_next() & 0xffffffffU));
    s->due_ms = now + rng_range(0, l->o->signal_delay_ms);
    snprintf(input, sizeof input,
             "{\"token\":\"%s\",\"ms\":%" PRId64 ",\"times\":%" PRId64
             ",\"wait\":%" PRId64 "}",
             s->token, ms, times, wait);
    snprintf(s->input, sizeof s->input, "%s", input);
    l->nsigs++; /* before the send: its delivery report looks it up */
    if (load_send_ok(l, BATON_CMD_START, l->nsigs - 1, input)) return -1;
    fprintf(l->log,
            "start %s %s %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
            s->id, s->token, ms, times, wait, now);
    return 0;
}

/* Sends every signal that is due (all of them when force). */
static int load_send_due(load_t *l, int force) {
    int64_t now = baton_now_ms();
    for (size_t i = 0; i < l->nsigs; i++) {
        load_sig_t *s = &l->sigs[i];
        char payload[128];
        if (s->sent || (!force && s->due_ms > now)) continue;
        snprintf(payload, sizeof payload, "{\"token\":\"%s\"}", s->token);
        if (load_send_ok(l, BATON_CMD_SIGNAL, i, payload)) return -1;
        fprintf(l->log, "signal %s %s %" PRId64 "\n", s->id, s->token,
                baton_now_ms());
        s->sent = 1;
    }
    return 0;
}

static int load_producer_new(load_t *l, char *err, size_t errlen) {
    rd_kafka_conf_t *kc;
    if (!(kc = baton_kafka_conf_new(l->conf, BATON_KAFKA_PRODUCER, NULL, err,
                                    errlen)))
        return -1;
    /* Ride out broker faults: librdkafka retries (idempotently) for up to
     * 10 minutes before giving a message up. */
    if (rd_kafka_conf_set(kc, "message.timeout.ms", "600000", err, errlen)) {
        rd_kafka_conf_destroy(kc);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(kc, load_on_delivery);
    rd_kafka_conf_set_opaque(kc, l);
    if (!(l->producer = baton_kafka_new(kc, BATON_KAFKA_PRODUCER, err, errlen)))
        return -1;
    return 0;
}

static int load_setup(load_t *l, char *err, size_t errlen) {
    char path[512];

    if (!(l->codec = baton_codec_new(err, errlen))) return -1;
    baton_topic(l->conf, "commands", l->topic, sizeof l->topic);
    if (load_producer_new(l, err, errlen)) return -1;
    snprintf(path, sizeof path, "%s/load.log", l->o->dir);
    if (!(l->log = fopen(path, "a"))) {
        snprintf(err, errlen, "opening %.400s: %m", path);
        return -1;
    }
    setvbuf(l->log, NULL, _IOLBF, 0);
    return 0;
}

/* Serves delivery reports; recovers from a fatal producer error.  0 or -1. */
static int load_poll(load_t *l, int ms) {
    char fe[256];
    rd_kafka_poll(l->producer, ms);
    if (rd_kafka_fatal_error(l->producer, fe, sizeof fe))
        return load_recover(l);
    return 0;
}

static int cmd_load(const opts_t *o, baton_conf_t *conf) {
    load_t l = {.o = o, .conf = conf};
    char err[1024];
    int64_t t0 = baton_mono_us(), i = 0, flush_left;
    int rc = BATON_CLI_EXIT_FAIL;

    if (load_setup(&l, err, sizeof err)) {
        baton_cli_fail(PROG, "load: %s", err);
        goto out;
    }
    BATON_INFO(SUBSYS,
               "starting %.1f %s workflows/s for %" PRId64 " s, seed %" PRId64,
               o->rate, o->type, o->duration_s, o->seed);
    while (!stop_flag) {
        int64_t elapsed_us = baton_mono_us() - t0;
        int64_t want = (int64_t)((double)elapsed_us / 1e6 * o->rate) + 1;
        if (elapsed_us >= o->duration_s * 1000000LL) break;
        while (i < want && !stop_flag)
            if (load_start_one(&l, i++)) goto out;
        if (load_send_due(&l, 0)) goto out;
        if (load_poll(&l, 20)) goto out;
    }
    /* The last signals fall due within signal_delay_ms. */
    while (!stop_flag && l.nsigs &&
           baton_now_ms() <= l.sigs[l.nsigs - 1].due_ms) {
        if (load_send_due(&l, 0)) goto out;
        if (load_poll(&l, 20)) goto out;
    }
    if (load_send_due(&l, 1)) goto out;
    for (flush_left = 600; flush_left > 0 && rd_kafka_outq_len(l.producer);
         flush_left--) {
        rd_kafka_flush(l.producer, 1000);
        if (load_poll(&l, 0)) goto out;
    }
    BATON_INFO(SUBSYS,
               "%" PRId64 " workflows started, %" PRId64
               " commands produced, %" PRId64 " delivered, %" PRId64
               " undelivered, %" PRId64 " producer fatal errors "
               "recovered",
               i, l.produced, l.delivered, l.undelivered, l.recoveries);
    rc = l.undelivered || rd_kafka_outq_len(l.producer) ? BATON_CLI_EXIT_FAIL
                                                        : BATON_CLI_EXIT_OK;
out:
    if (l.producer) rd_kafka_destroy(l.producer);
    if (l.log) fclose(l.log);
    baton_codec_destroy(l.codec);
    baton_free(l.sigs);
    return rc;
}

/* ======================================================================== */
/* check                                                                    */
/* ======================================================================== */

typedef struct wf {
    char id[ID_MAX];
    char token[TOKEN_MAX];
    int64_t ms, times, wait, start_ms;
    int signals_sent;
    int undelivered;
    int partition; /* -1: no snapshot found */
    int completed;
} wf_t;

typedef struct exec_rec {
    char task_id[ID_MAX + 32];
    int pid;
    int64_t start_ms, end_ms; /* end_ms -1: never finished (start.log) */
    int partition;            /* of the task message; -1: unknown */
    int64_t offset;
} exec_rec_t;

typedef struct fault {
    int64_t t_ms, end_ms; /* the kill or first action; back up, cleared */
    char kind[32];
    int proc;          /* batond-N / worker-N / Kafka node N, or -1 */
    int pid;           /* the process killed, or 0 */
    int64_t fenced_ms; /* broker-kill: kill -> controller fenced it */
} fault_t;

/* A partition taken or every partition given up by a batond (its log). */
typedef struct own_ev {
    int64_t t_ms;
    int batond;
    int partition; /* -1: "revoked" (eager assignment: all of them) */
    int resent;    /* outbox messages re-sent when taking it */
} own_ev_t;

#define MAX_CAUSES 24

typedef struct check {
    const opts_t *o;
    const char *ns; /* Redis key namespace (keys.h), borrowed from conf */
    wf_t *wfs;
    size_t nwfs, wcap;
    exec_rec_t *execs;
    size_t nexecs, ecap;
    exec_rec_t *starts; /* start.log, sorted by exec_key_cmp; end_ms from
                           the exec log (-1: the execution never ended) */
    size_t nstarts, scap;
    fault_t *faults;
    size_t nfaults, fcap;
    redisContext *redis;
    json_t *violations; /* array of strings */
    int64_t nviolations;
    /* figures */
    int64_t completed, incomplete, signals_sent, signals_delivered;
    int64_t tasks_executed, executions, duplicates, justified;
    char causes[MAX_CAUSES][48];
    int64_t cause_cnt[MAX_CAUSES];
    int ncauses;
    own_ev_t *owns;
    size_t nowns, ocap;
    int64_t handover_ms[256]; /* per batond-kill: kill -> all taken again */
    int64_t sess_ms[1024];    /* a consumer's group session timed out */
    char sess_who[1024][32];  /* in which log (worker-N, batond-N) */
    int nsess;
    int nhandovers;
    int64_t untaken; /* partitions of a killed batond not taken again */
    char kinds[MAX_FAULT_KINDS][32];
    int64_t kind_cnt[MAX_FAULT_KINDS];
    int nkinds;
    json_t *scheduled; /* task ids the histories scheduled:
                          {id: [scheduled_ms, closed_ms, partition]} */
    int64_t batonctl_checked;
} check_t;

/* Records a violation (printf-style). */
static void violation(check_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void violation(check_t *c, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->nviolations++;
    json_array_append_new(c->violations, json_string(buf));
}

/* Grows *arr (of elem-sized items) to hold one more; NULL on OOM. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t elem) {
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        void *p = baton_realloc(*arr, nc * elem);
        if (!p) return NULL;
        *arr = p;
        *cap = nc;
    }
    return (char *)*arr + (*n)++ * elem;
}

static int wf_cmp(const void *a, const void *b) {
    return strcmp(((const wf_t *)a)->id, ((const wf_t *)b)->id);
}

static wf_t *wf_find(check_t *c, const char *id) {
    wf_t key;
    snprintf(key.id, sizeof key.id, "%s", id);
    return bsearch(&key, c->wfs, c->nwfs, sizeof *c->wfs, wf_cmp);
}

static FILE *open_in(const opts_t *o, const char *name, int must) {
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", o->dir, name);
    if (!(f = fopen(path, "r")) && must)
        fprintf(stderr, PROG ": check: opening %s: %m\n", path);
    return f;
}

/* DIR/load.log: the workflows started and the signals sent. */
static int read_load_log(check_t *c) {
    FILE *f = open_in(c->o, "load.log", 1);
    char line[1024], id[ID_MAX], token[TOKEN_MAX], what[16];
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        wf_t *w;
        if (sscanf(line, "start %127s %63s", id, token) == 2) {
            if (!(w = grow((void **)&c->wfs, &c->nwfs, &c->wcap, sizeof *w)))
                break;
            memset(w, 0, sizeof *w);
            if (sscanf(line,
                       "start %127s %63s %" SCNd64 " %" SCNd64 " %" SCNd64
                       " %" SCNd64,
                       w->id, w->token, &w->ms, &w->times, &w->wait,
                       &w->start_ms) != 6)
                c->nwfs--;
            w->partition = -1;
        }
    }
    qsort(c->wfs, c->nwfs, sizeof *c->wfs, wf_cmp);
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        wf_t *w;
        if (sscanf(line, "signal %127s %63s", id, token) == 2 &&
            (w = wf_find(c, id))) {
            w->signals_sent++;
            c->signals_sent++;
        } else if (sscanf(line, "undelivered %127s %15s", id, what) == 2 &&
                   (w = wf_find(c, id))) {
            w->undelivered = 1;
        }
    }
    fclose(f);
    return 0;
}

/* Whether task_id belongs to this run (<prefix>-...); when it does, its
 * nonce is cut off: "<wf>/<seq>/<attempt>.<nonce>" -> "<wf>/<seq>/<attempt>"
 * (the history names the attempt without it; every send of one attempt
 * shares it). */
static int own_task(const check_t *c, char *task_id) {
    size_t plen = strlen(c->o->prefix);
    char *slash, *dot;
    if (strncmp(task_id, c->o->prefix, plen) || task_id[plen] != '-') return 0;
    if ((slash = strrchr(task_id, '/')) && (dot = strchr(slash, '.')))
        *dot = '\0';
    return 1;
}

/* One execution: its task, worker pid and start. */
static int exec_key_cmp(const void *a, const void *b) {
    const exec_rec_t *x = a, *y = b;
    int r = strcmp(x->task_id, y->task_id);
    if (r) return r;
    if (x->pid != y->pid) return x->pid < y->pid ? -1 : 1;
    return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

/* DIR/start.log (optional): where each execution's task message sat, and
 * which executions never ended. */
static int read_start_log(check_t *c) {
    FILE *f = open_in(c->o, "start.log", 0);
    char line[1024], name[64];
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        exec_rec_t r = {.end_ms = -1}, *e;
        if (sscanf(line, "%159s %d %" SCNd64 " %63s %d %" SCNd64, r.task_id,
                   &r.pid, &r.start_ms, name, &r.partition, &r.offset) != 6 ||
            !own_task(c, r.task_id))
            continue;
        if (!(e = grow((void **)&c->starts, &c->nstarts, &c->scap, sizeof *e)))
            break;
        *e = r;
    }
    fclose(f);
    qsort(c->starts, c->nstarts, sizeof *c->starts, exec_key_cmp);
    return 0;
}

/* DIR/exec.log: every execution of a task of this run; with a start log,
 * each gets its message's place and its start its end. */
static int read_exec_log(check_t *c) {
    FILE *f = open_in(c->o, "exec.log", 0);
    char line[1024];
    if (!f) return 0; /* no activity ran at all: the checks will say so */
    while (fgets(line, sizeof line, f)) {
        exec_rec_t r = {.partition = -1, .offset = -1}, *e, *s;
        if (sscanf(line, "%159s %d %" SCNd64 " %" SCNd64, r.task_id, &r.pid,
                   &r.start_ms, &r.end_ms) != 4 ||
            !own_task(c, r.task_id))
            continue;
        if ((s = bsearch(&r, c->starts, c->nstarts, sizeof *s, exec_key_cmp))) {
            s->end_ms = r.end_ms;
            r.partition = s->partition;
            r.offset = s->offset;
        }
        if (!(e = grow((void **)&c->execs, &c->nexecs, &c->ecap, sizeof *e)))
            break;
        *e = r;
    }
    fclose(f);
    return 0;
}

/* The starts the exec log has no end for (their worker died). */
static int64_t starts_unfinished(const check_t *c) {
    int64_t n = 0;
    for (size_t i = 0; i < c->nstarts; i++) n += c->starts[i].end_ms < 0;
    return n;
}

/* Counts a fault of kind (the table's rows). */
static int kind_index(check_t *c, const char *kind) {
    for (int i = 0; i < c->nkinds; i++)
        if (!strcmp(c->kinds[i], kind)) return i;
    if (c->nkinds == MAX_FAULT_KINDS) return MAX_FAULT_KINDS - 1;
    snprintf(c->kinds[c->nkinds], sizeof c->kinds[0], "%s", kind);
    return c->nkinds++;
}

/* The process a fault's detail names: "batond-N pid P", "worker-N pid P",
 * "node N pid P fenced-ms F". */
static void fault_detail(fault_t *ft, const char *detail) {
    char what[16];
    long long fenced;
    ft->proc = -1;
    if (sscanf(detail, "%15[a-z]-%d pid %d", what, &ft->proc, &ft->pid) == 3 ||
        sscanf(detail, "node %d pid %d", &ft->proc, &ft->pid) == 2) {
        const char *fm = strstr(detail, "fenced-ms ");
        if (fm && sscanf(fm, "fenced-ms %lld", &fenced) == 1)
            ft->fenced_ms = fenced;
    } else {
        ft->proc = -1;
        ft->pid = 0;
    }
}

/* DIR/faults.log: "<start_ms> <end_ms> <kind> <detail...>", one line per
 * fault that succeeded; "inject-error" lines are faults that could not be
 * injected, each a violation. */
static int read_faults_log(check_t *c) {
    FILE *f = open_in(c->o, "faults.log", 1);
    char line[8192];
    int off;
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        fault_t *ft;
        line[strcspn(line, "\n")] = 0;
        if (!(ft =
                  grow((void **)&c->faults, &c->nfaults, &c->fcap, sizeof *ft)))
            break;
        memset(ft, 0, sizeof *ft);
        if (sscanf(line, "%" SCNd64 " %" SCNd64 " %31s %n", &ft->t_ms,
                   &ft->end_ms, ft->kind, &off) != 3) {
            violation(c, "faults.log: unreadable line '%.200s'", line);
            c->nfaults--;
            continue;
        }
        if (!strcmp(ft->kind, "inject-error")) {
            violation(c, "a fault could not be injected: %.300s", line + off);
            c->nfaults--;
            continue;
        }
        fault_detail(ft, line + off);
        c->kind_cnt[kind_index(c, ft->kind)]++;
    }
    fclose(f);
    return 0;
}

/* --kinds: every kind named must have occurred at least once. */
static void check_kinds(check_t *c) {
    char list[512], *save = NULL;
    if (!c->o->kinds) return;
    snprintf(list, sizeof list, "%s", c->o->kinds);
    for (char *k = strtok_r(list, ",", &save); k;
         k = strtok_r(NULL, ",", &save)) {
        int i, seen = 0;
        for (i = 0; i < c->nkinds; i++)
            if (!strcmp(c->kinds[i], k) && c->kind_cnt[i]) seen = 1;
        if (!seen) violation(c, "fault kind %s never occurred in this run", k);
    }
}

/* "2026-11-22T10:11:12.345Z ..." -> ms since the epoch, or -1. */
static int64_t log_time_ms(const char *line) {
    struct tm tm;
    int ms;
    memset(&tm, 0, sizeof tm);
    if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* Session time-outs in DIR/<name>-N.log ("Consumer group session timed
 * out"): a member that lost its group without a fault (a stall). */
static void read_session_losses(check_t *c, const char *name) {
    for (int n = 0; n < 64; n++) {
        char file[32], line[2048];
        FILE *f;
        snprintf(file, sizeof file, "%s-%d.log", name, n);
        if (!(f = open_in(c->o, file, 0))) break;
        while (fgets(line, sizeof line, f) && c->nsess < 1024) {
            double raw;
            int64_t t;
            if (!strstr(line, "session timed out")) continue;
            /* ours: "<ISO time> ..."; librdkafka's own: "%4|<s.ms>|..." */
            t = sscanf(line, "%%%*d|%lf|", &raw) == 1 ? (int64_t)(raw * 1000)
                                                      : log_time_ms(line);
            c->sess_ms[c->nsess] = t;
            snprintf(c->sess_who[c->nsess++], sizeof c->sess_who[0], "%s",
                     file);
        }
        fclose(f);
    }
}

/* DIR/batond-N.log: when each batond took a partition (and re-sent how
 * many outbox messages) or gave all of them up. */
static void read_batond_logs(check_t *c) {
    for (int b = 0; b < 64; b++) {
        char name[32], line[2048];
        FILE *f;
        snprintf(name, sizeof name, "batond-%d.log", b);
        if (!(f = open_in(c->o, name, 0))) break;
        while (fgets(line, sizeof line, f)) {
            const char *took = strstr(line, "took partition "),
                       *rev = strstr(line, "] revoked ");
            const char *re = strstr(line, " timers, ");
            own_ev_t *e;
            int part = -1, resent = 0;
            if (!took && !rev) continue;
            if (took && sscanf(took, "took partition %d", &part) != 1) continue;
            if (took && re) sscanf(re, " timers, %d outbox", &resent);
            if (!(e = grow((void **)&c->owns, &c->nowns, &c->ocap, sizeof *e)))
                break;
            *e = (own_ev_t){log_time_ms(line), b, took ? part : -1, resent};
        }
        fclose(f);
    }
}

/* ---- Redis ---------------------------------------------------------------- */

/* Fills each workflow's partition from the snapshot keys (SCAN). */
static int find_partitions(check_t *c) {
    char cursor[32] = "0", pattern[128];
    char prefix[ID_MAX + 2];
    snprintf(prefix, sizeof prefix, "%s-", c->o->prefix);
    if (!baton_keys_wf_pattern(pattern, sizeof pattern, c->ns, prefix)) {
        fprintf(stderr, PROG ": check: prefix '%s' too long\n", c->o->prefix);
        return -1;
    }
    do {
        redisReply *r = redisCommand(c->redis, "SCAN %s MATCH %s COUNT 1000",
                                     cursor, pattern);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            fprintf(stderr, PROG ": check: SCAN: %s\n",
                    r ? r->str : c->redis->errstr);
            if (r) freeReplyObject(r);
            return -1;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *key = r->element[1]->element[i]->str;
            int32_t part;
            const char *id;
            wf_t *w;
            if (baton_keys_parse_wf(key, c->ns, &part, &id) &&
                (w = wf_find(c, id)))
                w->partition = part;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0"));
    return 0;
}

/* GET or LRANGE of key; the reply (NULL on error, said on stderr). */
static redisReply *redis_read(check_t *c, const char *cmd, const char *key) {
    redisReply *r = !strcmp(cmd, "GET")
                        ? redisCommand(c->redis, "GET %s", key)
                        : redisCommand(c->redis, "LRANGE %s 0 -1", key);
    if (!r)
        fprintf(stderr, PROG ": check: %s %s: %s\n", cmd, key,
                c->redis->errstr);
    return r;
}

/* ---- one workflow's history ----------------------------------------------- */

/* What one history says, event by event. */
typedef struct hist_sum {
    int closes, completed_events, starts, signals, wait_started, wait_ended;
    int64_t wait_until, wait_ended_at;
    int signal_bad;            /* SignalReceived without the token sent */
    char bad_token[TOKEN_MAX]; /* the last wrong one */
} hist_sum_t;

#define MAX_STEPS 16
#define MAX_ATTEMPTS 16

typedef struct step_sum {
    int scheduled[MAX_ATTEMPTS];
    int64_t scheduled_at[MAX_ATTEMPTS];
    int outcomes[MAX_ATTEMPTS];
    int64_t closed_at[MAX_ATTEMPTS]; /* the outcome's time */
    int retries[MAX_ATTEMPTS];       /* ActivityRetryScheduled for attempt k */
    int64_t due[MAX_ATTEMPTS];
    int completed;
} step_sum_t;

static int64_t jint(json_t *o, const char *k) {
    return json_integer_value(json_object_get(o, k));
}

/* Folds one event into the sums; checks seq continuity. */
static void fold_event(check_t *c, const wf_t *w, json_t *ev, int64_t want_seq,
                       hist_sum_t *h, step_sum_t *steps) {
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *data = json_object_get(ev, "data");
    int64_t seq = jint(data, "seq"), att = jint(data, "attempt");
    int in_range =
        seq >= 1 && seq < MAX_STEPS && att >= 1 && att < MAX_ATTEMPTS;
    step_sum_t *s = in_range ? &steps[seq] : NULL;

    if (jint(ev, "seq") != want_seq)
        violation(c,
                  "%s: history event %" PRId64 " has seq %" PRId64
                  " (events repeated or lost)",
                  w->id, want_seq, jint(ev, "seq"));
    if (!type) return;
    if (!strncmp(type, "Workflow", 8) && strcmp(type, "WorkflowStarted")) {
        h->closes++;
        h->completed_events += !strcmp(type, "WorkflowCompleted");
    } else if (!strcmp(type, "WorkflowStarted")) {
        h->starts++;
    } else if (!strcmp(type, "SignalReceived")) {
        const char *tok = json_string_value(
            json_object_get(json_object_get(data, "payload"), "token"));
        h->signals++;
        if (!tok || strcmp(tok, w->token)) {
            h->signal_bad++;
            snprintf(h->bad_token, sizeof h->bad_token, "%s",
                     tok ? tok : "missing");
        }
    } else if (!strcmp(type, "WaitStarted")) {
        h->wait_started++;
        h->wait_until = jint(data, "until");
    } else if (!strcmp(type, "WaitEnded")) {
        h->wait_ended++;
        h->wait_ended_at = jint(ev, "time");
    } else if (!strncmp(type, "Activity", 8) && !s) {
        violation(
            c, "%s: %s with step %" PRId64 " attempt %" PRId64 " out of range",
            w->id, type, seq, att);
    } else if (!strcmp(type, "ActivityScheduled")) {
        s->scheduled[att]++;
        s->scheduled_at[att] = jint(ev, "time");
    } else if (!strcmp(type, "ActivityCompleted")) {
        s->outcomes[att]++;
        s->completed++;
        s->closed_at[att] = jint(ev, "time");
    } else if (!strcmp(type, "ActivityFailed")) {
        s->outcomes[att]++;
        s->closed_at[att] = jint(ev, "time");
    } else if (!strcmp(type, "ActivityRetryScheduled")) {
        s->retries[att]++;
        s->due[att] = jint(data, "due");
    }
}

/* The per-step invariants: scheduled once, one outcome, one completion,
 * every retry timer fired once and not early.  Records the scheduled task
 * ids for the execution check. */
static void check_steps(check_t *c, const wf_t *w, step_sum_t *steps) {
    for (int q = 1; q < MAX_STEPS; q++) {
        step_sum_t *s = &steps[q];
        int any = 0;
        for (int a = 1; a < MAX_ATTEMPTS; a++) {
            char tid[ID_MAX + 32];
            if (!s->scheduled[a] && !s->retries[a] && !s->outcomes[a]) continue;
            any = 1;
            if (s->scheduled[a] > 1 || s->outcomes[a] > 1 || s->retries[a] > 1)
                violation(c,
                          "%s: step %d attempt %d applied more than once "
                          "(scheduled %d, outcomes %d, retries %d)",
                          w->id, q, a, s->scheduled[a], s->outcomes[a],
                          s->retries[a]);
            if (s->retries[a] && s->scheduled[a] != 1)
                violation(c,
                          "%s: retry timer of step %d attempt %d fired %d "
                          "times",
                          w->id, q, a, s->scheduled[a]);
            else if (s->retries[a] && s->scheduled_at[a] < s->due[a])
                violation(c,
                          "%s: retry of step %d attempt %d ran %" PRId64
                          " ms before its due time",
                          w->id, q, a, s->due[a] - s->scheduled_at[a]);
            snprintf(tid, sizeof tid, "%s/%d/%d", w->id, q, a);
            if (s->scheduled[a])
                json_object_set_new(
                    c->scheduled, tid,
                    json_pack("[IIi]", (json_int_t)s->scheduled_at[a],
                              (json_int_t)(s->outcomes[a] ? s->closed_at[a]
                                                          : INT64_MAX),
                              w->partition));
        }
        if (any && s->completed != 1)
            violation(c, "%s: step %d completed %d times", w->id, q,
                      s->completed);
    }
}

/* Output fields against the input the load chose. */
static void check_output(check_t *c, const wf_t *w, json_t *out) {
    const char *sig = json_string_value(
        json_object_get(json_object_get(out, "signal"), "token"));
    const char *echo = json_string_value(
        json_object_get(json_object_get(out, "echo"), "token"));
    if (jint(json_object_get(out, "work"), "slept_ms") != w->ms)
        violation(c, "%s: result of Work lost (output.work = %s)", w->id,
                  json_object_get(out, "work") ? "wrong" : "missing");
    if (jint(json_object_get(out, "flaky"), "attempt") != w->times + 1)
        violation(c,
                  "%s: Flaky completed at attempt %" PRId64 ", want %" PRId64,
                  w->id, jint(json_object_get(out, "flaky"), "attempt"),
                  w->times + 1);
    if (!sig || strcmp(sig, w->token))
        violation(c, "%s: output.signal.token is %s, want %s", w->id,
                  sig ? sig : "missing", w->token);
    if (!echo || strcmp(echo, w->token))
        violation(c, "%s: output.echo.token is %s, want %s", w->id,
                  echo ? echo : "missing", w->token);
}

/* The workflow-level invariants of one history. */
static void check_history_sums(check_t *c, wf_t *w, const hist_sum_t *h) {
    if (h->starts != 1)
        violation(c, "%s: %d WorkflowStarted events", w->id, h->starts);
    if (h->closes > 1 || h->completed_events > 1)
        violation(c, "%s: closed %d times (%d WorkflowCompleted)", w->id,
                  h->closes, h->completed_events);
    if (w->completed && h->signals != 1)
        violation(c, "%s: signal received %d times, sent %d", w->id, h->signals,
                  w->signals_sent);
    if (h->signal_bad)
        violation(c, "%s: signal payload %s is not the token sent (%s)", w->id,
                  h->bad_token, w->token);
    c->signals_delivered += h->signals;
    if (w->completed && (h->wait_started != 1 || h->wait_ended != 1))
        violation(c, "%s: Wait timer started %d, fired %d times", w->id,
                  h->wait_started, h->wait_ended);
    if (h->wait_ended && h->wait_ended_at < h->wait_until)
        violation(c, "%s: Wait timer fired %" PRId64 " ms early", w->id,
                  h->wait_until - h->wait_ended_at);
}

static void check_history(check_t *c, wf_t *w, redisReply *hist) {
    hist_sum_t h = {0};
    step_sum_t steps[MAX_STEPS];
    memset(steps, 0, sizeof steps);
    for (size_t i = 0; i < hist->elements; i++) {
        json_error_t jerr;
        json_t *ev = json_loads(hist->element[i]->str, 0, &jerr);
        if (!ev) {
            violation(c, "%s: history event %zu is not JSON: %s", w->id, i + 1,
                      jerr.text);
            continue;
        }
        fold_event(c, w, ev, (int64_t)i + 1, &h, steps);
        json_decref(ev);
    }
    check_history_sums(c, w, &h);
    check_steps(c, w, steps);
}

/* Snapshot and history of one workflow. */
static int check_workflow(check_t *c, wf_t *w) {
    char key[256];
    redisReply *snap, *hist;
    json_t *s = NULL;
    const char *st;

    if (w->partition < 0) {
        violation(c, "%s: started (%s) but no snapshot in Redis", w->id,
                  w->undelivered ? "START undelivered" : "START delivered");
        c->incomplete++;
        return 0;
    }
    baton_keys_wf(key, sizeof key, c->ns, w->partition, w->id);
    if (!(snap = redis_read(c, "GET", key))) return -1;
    baton_keys_hist(key, sizeof key, c->ns, w->partition, w->id);
    if (!(hist = redis_read(c, "LRANGE", key))) {
        freeReplyObject(snap);
        return -1;
    }
    if (snap->type == REDIS_REPLY_STRING) s = json_loads(snap->str, 0, NULL);
    st = json_string_value(json_object_get(s, "st"));
    w->completed = st && !strcmp(st, "SUCCEEDED");
    if (w->completed) {
        c->completed++;
        check_output(c, w, json_object_get(s, "out"));
    } else {
        c->incomplete++;
        violation(c, "%s: status %s at state %s (not completed)", w->id,
                  st ? st : "unreadable",
                  json_string_value(json_object_get(s, "pos"))
                      ? json_string_value(json_object_get(s, "pos"))
                      : "-");
    }
    if (hist->type == REDIS_REPLY_ARRAY) check_history(c, w, hist);
    json_decref(s);
    freeReplyObject(snap);
    freeReplyObject(hist);
    return 0;
}

/* ---- executions ----------------------------------------------------------- */

static int exec_cmp(const void *a, const void *b) {
    const exec_rec_t *x = a, *y = b;
    int r = strcmp(x->task_id, y->task_id);
    if (r) return r;
    return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

/* ---- what may run a task again ------------------------------------------
 *
 * A re-execution is excused only by a fault that succeeded, that started
 * before the re-execution, and that could cause it while its attempt was
 * open (the history's ActivityScheduled time to its outcome's time):
 *
 *   worker-kill    the killed pid ran an earlier execution of the task and
 *                  died before its offset was surely committed: between
 *                  its start and --commit-ms after its commit point (below;
 *                  the worker commits every 100 ms; an uncommitted task is
 *                  delivered again)
 *   batond-kill    the killed batond owned the workflow's partition at the
 *                  kill (its log) and the attempt was open then: the next
 *                  owner re-sends the outbox entries not yet acknowledged
 *   takeover       after a batond-kill, redis-restart, broker-kill or
 *                  broker-stop, a batond took the workflow's partition
 *                  re-sending at least one outbox message (its log says
 *                  how many) while the attempt was open, within
 *                  --rebalance-ms of the fault's end
 *   redis-restart  the attempt was open between --aof-ms before the kill
 *                  of redis-server (appendfsync everysec loses at most
 *                  that much) and its restart: batond reloads the
 *                  partitions, outbox included
 *   broker-kill    the attempt was open between the kill and the fencing
 *                  (measured, in the fault's detail) + --rebalance-ms, or
 *                  within --rebalance-ms of the node's restart: a group
 *                  whose coordinator dies loses its members and rejoins,
 *                  and commits made meanwhile are refused
 *   broker-stop    the attempt was open between the SIGSTOP and
 *                  --rebalance-ms after the SIGCONT (the same, shorter)
 *   worker-rebalance  a worker-kill's group changes (the dead member's
 *                  expiry, the restarted one joining): the attempt was open
 *                  within --rebalance-ms of the kill or the restart (a
 *                  survivor's revoked task whose commit was refused)
 *   mock faults    broker-errors, broker-down (reach --rebalance-ms: the
 *                  embedded broker refuses commits while a group rejoins),
 *                  leader, rtt (reach 2 s): the attempt was open between
 *                  the fault and its reach after the fault's end
 *
 * A worker-kill's group change, or a fault that cost a worker its group
 * session (broker-kill, broker-stop, broker-errors, broker-down, with a
 * worker's "session timed out" in its log within the fault's reach), also
 * excuses a re-run whose earlier execution's offset was not yet surely
 * committed at the fault (during it, for the broker faults), even when the
 * attempt had closed: a worker commits a
 * partition only up to its first unacknowledged task, so a finished task's
 * commit point is the acknowledgement of the last task the same worker
 * had to answer before it (with the start log, the worker's --start-log
 * that chaos.sh gives it: the tasks of the same pid in the same
 * partition at lower offsets, "never" behind one that never finished (its
 * worker died running it); without it, every execution of the same pid
 * that began no later, which over-approximates by the worker's other
 * partitions), and it is sure --commit-ms after that.  An
 * answer is acknowledged when it ends, or when its attempt closed if that
 * was later (a result held back by a broker fault).  The partition then
 * moves to another worker, which runs it again (chaos-000074/4/1 in a
 * repeat run: finished at 781486, its partition's earlier task ran to
 * 781927, the coordinator went down at 781824, re-run at 788735;
 * chaos-000003/2/1 in a fresh-clone run: finished at 651789, but the
 * result of chaos-000005/1/1 before it in the same partition, ended at
 * 652265, reached batond only at 661970 after broker 1's outage, so
 * nothing was committed when worker-0's restart moved the partition at
 * 659311).
 *
 * --rebalance-ms defaults to 2 x session.timeout.ms + 2 s (--session-ms):
 * a member is expired after one session, the group rejoins within another.
 */
typedef struct attempt {
    int64_t sched, closed;
    int partition;
} attempt_t;

/* When execution x's answer was acknowledged, as far as the histories
 * tell: when its attempt closed, if that was after x ended (its result
 * applied: Kafka had it), else when x ended (a result the attempt no
 * longer waited for). */
static int64_t exec_acked(const check_t *c, const exec_rec_t *x) {
    json_t *sch = json_object_get(c->scheduled, x->task_id);
    int64_t closed = json_integer_value(json_array_get(sch, 1));
    return sch && closed != INT64_MAX && closed > x->end_ms ? closed
                                                            : x->end_ms;
}

/* commit_sure with the start log: the tasks its worker received before
 * e in e's partition (lower offsets) are the ones its commit waits for;
 * one that never ended (the worker died running it) holds it forever. */
static int64_t commit_sure_exact(const check_t *c, const exec_rec_t *e) {
    int64_t last = exec_acked(c, e);
    for (size_t i = 0; i < c->nstarts; i++) {
        const exec_rec_t *x = &c->starts[i];
        int64_t acked;
        if (x->pid != e->pid || x->partition != e->partition ||
            x->offset >= e->offset)
            continue;
        if (x->end_ms < 0) return INT64_MAX;
        if ((acked = exec_acked(c, x)) > last) last = acked;
    }
    return last + c->o->commit_ms;
}

/* When the offset of execution e was surely committed: --commit-ms after
 * the acknowledgement of the last answer among the tasks its worker had
 * to answer first (a worker commits a partition only up to its first
 * unacknowledged task): with the start log, those of e's partition at
 * lower offsets; without it, every execution the worker started no later
 * than e. */
static int64_t commit_sure(const check_t *c, const exec_rec_t *e) {
    if (e->partition >= 0) return commit_sure_exact(c, e);
    int64_t last = e->end_ms; /* e itself is among c->execs */
    for (size_t i = 0; i < c->nexecs; i++) {
        const exec_rec_t *x = &c->execs[i];
        int64_t acked;
        if (x->pid != e->pid || x->start_ms > e->start_ms) continue;
        if ((acked = exec_acked(c, x)) > last) last = acked;
    }
    return last + c->o->commit_ms;
}

/* Whether some earlier execution's offset was not surely committed at a
 * time in [from, to]: a lost group session then delivers it again. */
static int uncommitted_during(const check_t *c, const exec_rec_t *prev,
                              size_t nprev, int64_t from, int64_t to) {
    for (size_t i = 0; i < nprev; i++)
        if (prev[i].start_ms <= to && commit_sure(c, &prev[i]) >= from)
            return 1;
    return 0;
}

/* Whether a worker's log says it lost its group session in [from, to]. */
static int worker_session_lost(const check_t *c, int64_t from, int64_t to) {
    for (int q = 0; q < c->nsess; q++)
        if (!strncmp(c->sess_who[q], "worker", 6) && c->sess_ms[q] >= from &&
            c->sess_ms[q] <= to)
            return 1;
    return 0;
}

/* Whether the attempt was open at some time in [from, to]. */
static int open_during(const attempt_t *a, int64_t from, int64_t to) {
    return a->sched <= to && a->closed >= from;
}

/* Whether batond b owned partition p at time t: its last "took p" before t
 * is later than its last "revoked" and than its last kill before t. */
static int batond_owned(const check_t *c, int b, int p, int64_t t) {
    int64_t took = -1, lost = -1;
    for (size_t i = 0; i < c->nowns; i++) {
        const own_ev_t *e = &c->owns[i];
        if (e->batond != b || e->t_ms >= t) continue;
        if (e->partition == p && e->t_ms > took) took = e->t_ms;
        if (e->partition < 0 && e->t_ms > lost) lost = e->t_ms;
    }
    for (size_t i = 0; i < c->nfaults; i++) {
        const fault_t *f = &c->faults[i];
        if (!strcmp(f->kind, "batond-kill") && f->proc == b && f->t_ms < t &&
            f->t_ms > lost)
            lost = f->t_ms;
    }
    return took >= 0 && took > lost;
}

/* Whether a batond took partition p re-sending outbox messages at a time
 * in [from, to] while the attempt was open. */
static int takeover_resent(const check_t *c, const attempt_t *a, int64_t from,
                           int64_t to) {
    for (size_t i = 0; i < c->nowns; i++) {
        const own_ev_t *e = &c->owns[i];
        if (e->partition == a->partition && e->resent > 0 && e->t_ms >= from &&
            e->t_ms <= to && open_during(a, e->t_ms, e->t_ms))
            return 1;
    }
    return 0;
}

/* The cause fault f gives for re-execution `again` of a task whose earlier
 * executions are prev[0..nprev), or NULL when f cannot explain it. */
static const char *fault_cause(const check_t *c, const fault_t *f,
                               const attempt_t *a, const exec_rec_t *prev,
                               size_t nprev, const exec_rec_t *again) {
    const char *k = f->kind;
    int64_t rb = c->o->rebalance_ms;
    if (f->t_ms > again->start_ms) return NULL;
    if (!strcmp(k, "worker-kill")) {
        for (size_t i = 0; i < nprev; i++)
            if (prev[i].pid == f->pid && prev[i].start_ms <= f->t_ms &&
                f->t_ms <= commit_sure(c, &prev[i]))
                return "worker-kill (ran it)";
        if (open_during(a, f->t_ms, f->t_ms + rb) ||
            open_during(a, f->end_ms, f->end_ms + rb))
            return "worker-rebalance";
        if (uncommitted_during(c, prev, nprev, f->t_ms, f->t_ms + rb) ||
            uncommitted_during(c, prev, nprev, f->end_ms, f->end_ms + rb))
            return "uncommitted-rebalance";
        return NULL;
    }
    if (!strcmp(k, "batond-kill") && open_during(a, f->t_ms, f->t_ms) &&
        batond_owned(c, f->proc, a->partition, f->t_ms))
        return "batond-kill (owner)";
    if ((!strcmp(k, "batond-kill") || !strcmp(k, "redis-restart") ||
         !strncmp(k, "broker-kill", 11) || !strcmp(k, "broker-stop")) &&
        takeover_resent(c, a, f->t_ms, f->end_ms + rb))
        return "takeover re-send";
    if (!strcmp(k, "redis-restart") &&
        open_during(a, f->t_ms - c->o->aof_ms, f->end_ms))
        return "redis-restart";
    if (!strcmp(k, "broker-kill") &&
        (open_during(a, f->t_ms, f->t_ms + f->fenced_ms + rb) ||
         open_during(a, f->end_ms, f->end_ms + rb)))
        return "broker-kill";
    if (!strcmp(k, "broker-stop") && open_during(a, f->t_ms, f->end_ms + rb))
        return "broker-stop";
    if ((!strcmp(k, "broker-errors") || !strcmp(k, "broker-down")) &&
        open_during(a, f->t_ms, f->end_ms + rb))
        return k;
    if ((!strncmp(k, "broker-kill", 11) || !strcmp(k, "broker-stop") ||
         !strcmp(k, "broker-errors") || !strcmp(k, "broker-down")) &&
        uncommitted_during(c, prev, nprev, f->t_ms, f->end_ms) &&
        worker_session_lost(c, f->t_ms, f->end_ms + rb))
        return "uncommitted-session";
    if ((!strcmp(k, "leader") || !strcmp(k, "rtt")) &&
        open_during(a, f->t_ms, f->end_ms + 2000))
        return k;
    return NULL;
}

/* The most specific cause among every fault, or NULL. */
static const char *rerun_cause(const check_t *c, const attempt_t *a,
                               const exec_rec_t *prev, size_t nprev,
                               const exec_rec_t *again) {
    static const char *rank[] = {"worker-kill (ran it)", "batond-kill (owner)",
                                 "takeover re-send",     "redis-restart",
                                 "broker-kill",          "broker-stop",
                                 "worker-rebalance"};
    const char *best = NULL;
    int best_rank = 99;
    for (size_t i = 0; i < c->nfaults; i++) {
        const char *why = fault_cause(c, &c->faults[i], a, prev, nprev, again);
        int r = 98;
        if (!why) continue;
        for (int k = 0; k < (int)(sizeof rank / sizeof *rank); k++)
            if (!strcmp(rank[k], why)) r = k;
        if (r < best_rank) best = why, best_rank = r;
    }
    return best;
}

static void count_cause(check_t *c, const char *why) {
    int i;
    for (i = 0; i < c->ncauses; i++)
        if (!strcmp(c->causes[i], why)) break;
    if (i == c->ncauses) {
        if (c->ncauses == MAX_CAUSES) return;
        snprintf(c->causes[c->ncauses++], sizeof c->causes[0], "%s", why);
    }
    c->cause_cnt[i]++;
}

/* Per batond-kill: how long until every partition the killed batond owned
 * was taken again (by a survivor or its own restart). */
static void measure_handovers(check_t *c) {
    for (size_t i = 0; i < c->nfaults && c->nhandovers < 256; i++) {
        const fault_t *f = &c->faults[i];
        int64_t worst = -1;
        int owned = 0;
        if (strcmp(f->kind, "batond-kill")) continue;
        for (int p = 0; p < 4096; p++) {
            int64_t first = -1;
            int any = 0;
            for (size_t e = 0; e < c->nowns; e++)
                any |= c->owns[e].partition == p;
            if (!any) break;
            if (!batond_owned(c, f->proc, p, f->t_ms)) continue;
            owned++;
            for (size_t e = 0; e < c->nowns; e++) {
                const own_ev_t *ev = &c->owns[e];
                if (ev->partition == p && ev->t_ms > f->t_ms &&
                    (first < 0 || ev->t_ms < first))
                    first = ev->t_ms;
            }
            if (first < 0) {
                c->untaken++;
                violation(c,
                          "partition %d of the killed batond-%d was never "
                          "taken again",
                          p, f->proc);
                continue;
            }
            if (first - f->t_ms > worst) worst = first - f->t_ms;
        }
        if (owned && worst >= 0) c->handover_ms[c->nhandovers++] = worst;
    }
}

static void check_executions(check_t *c) {
    qsort(c->execs, c->nexecs, sizeof *c->execs, exec_cmp);
    c->executions = (int64_t)c->nexecs;
    for (size_t i = 0; i < c->nexecs;) {
        size_t j = i + 1;
        while (j < c->nexecs &&
               !strcmp(c->execs[j].task_id, c->execs[i].task_id))
            j++;
        json_t *sch = json_object_get(c->scheduled, c->execs[i].task_id);
        attempt_t a = {json_integer_value(json_array_get(sch, 0)),
                       json_integer_value(json_array_get(sch, 1)),
                       (int)json_integer_value(json_array_get(sch, 2))};
        c->tasks_executed++;
        if (!sch)
            violation(c,
                      "task %s ran (pid %d at %" PRId64 ") but its "
                      "workflow never scheduled that attempt",
                      c->execs[i].task_id, c->execs[i].pid,
                      c->execs[i].start_ms);
        for (size_t k = i + 1; k < j && sch; k++) {
            const char *why =
                rerun_cause(c, &a, &c->execs[i], k - i, &c->execs[k]);
            c->duplicates++;
            if (why) {
                c->justified++;
                count_cause(c, why);
            } else {
                char sess[96] = "";
                for (int q = 0; q < c->nsess; q++)
                    if (c->sess_ms[q] >= c->execs[k - 1].start_ms &&
                        c->sess_ms[q] <= c->execs[k].start_ms)
                        snprintf(sess, sizeof sess,
                                 "; %s lost its group session at %" PRId64
                                 " (a stall, no fault)",
                                 c->sess_who[q], c->sess_ms[q]);
                violation(c,
                          "task %s ran again at %" PRId64 " (pid %d; "
                          "earlier run at %" PRId64 " by pid %d; attempt "
                          "open %" PRId64 "..%" PRId64 ", offset surely "
                          "committed by %" PRId64 "): no fault could "
                          "cause it%s",
                          c->execs[k].task_id, c->execs[k].start_ms,
                          c->execs[k].pid, c->execs[k - 1].start_ms,
                          c->execs[k - 1].pid, a.sched, a.closed,
                          commit_sure(c, &c->execs[k - 1]), sess);
            }
        }
        i = j;
    }
}

/* ---- batonctl cross-check ------------------------------------------------- */

/* Runs `batonctl -o json <what> <id>`; its parsed stdout or NULL. */
static json_t *batonctl_json(const check_t *c, const char *what,
                             const char *id) {
    char cmd[1024], *buf = NULL;
    size_t len = 0;
    FILE *p;
    json_t *j;
    snprintf(cmd, sizeof cmd, "'%s' -o json %s '%s' 2>/dev/null",
             c->o->batonctl, what, id);
    if (!(p = popen(cmd, "r"))) return NULL;
    if (getdelim(&buf, &len, '\0', p) < 0) {
        free(buf);
        buf = NULL;
    }
    pclose(p);
    j = buf ? json_loads(buf, 0, NULL) : NULL;
    free(buf);
    return j;
}

static void check_batonctl(check_t *c) {
    size_t step;
    if (!c->o->batonctl || !c->nwfs || c->o->sample <= 0) return;
    step = c->nwfs / (size_t)c->o->sample;
    if (!step) step = 1;
    for (size_t i = 0; i < c->nwfs; i += step) {
        wf_t *w = &c->wfs[i];
        json_t *d, *h;
        const char *st;
        char key[256];
        redisReply *r;
        if (w->partition < 0) continue; /* already a violation */
        d = batonctl_json(c, "describe", w->id);
        h = batonctl_json(c, "history", w->id);
        st = json_string_value(json_object_get(d, "status"));
        baton_keys_hist(key, sizeof key, c->ns, w->partition, w->id);
        r = redisCommand(c->redis, "LLEN %s", key);
        if (!st || (w->completed && strcmp(st, "SUCCEEDED")))
            violation(c, "%s: batonctl describe says %s", w->id,
                      st ? st : "nothing");
        if (!json_is_array(h) || !r || r->type != REDIS_REPLY_INTEGER ||
            (long long)json_array_size(h) != r->integer)
            violation(c, "%s: batonctl history has %zu events, Redis %lld",
                      w->id, json_array_size(h),
                      r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1);
        if (r) freeReplyObject(r);
        json_decref(d);
        json_decref(h);
        c->batonctl_checked++;
    }
}

/* ---- the report ----------------------------------------------------------- */

/* Whether a faults.log kind is the end of a fault (a restart after a kill,
 * a broker back up): those count for justification, not in the table. */
static int kind_is_recovery(const char *kind) {
    size_t n = strlen(kind);
    return (n > 6 && !strcmp(kind + n - 6, "-start")) ||
           (n > 3 && !strcmp(kind + n - 3, "-up"));
}

static void report_text(const check_t *c) {
    size_t nv = json_array_size(c->violations);
    int64_t total = 0;
    for (int i = 0; i < c->nkinds; i++)
        if (!kind_is_recovery(c->kinds[i])) total += c->kind_cnt[i];
    printf("faults injected          %6" PRId64 "\n", total);
    for (int i = 0; i < c->nkinds; i++)
        if (c->kind_cnt[i] && !kind_is_recovery(c->kinds[i]))
            printf("  %-22s %6" PRId64 "\n", c->kinds[i], c->kind_cnt[i]);
    printf("workflows started        %6zu\n", c->nwfs);
    printf("workflows completed      %6" PRId64 "\n", c->completed);
    printf("workflows not completed  %6" PRId64 "\n", c->incomplete);
    printf("signals sent / received  %6" PRId64 " / %" PRId64 "\n",
           c->signals_sent, c->signals_delivered);
    printf("tasks executed           %6" PRId64 " (%" PRId64 " executions)\n",
           c->tasks_executed, c->executions);
    if (c->nstarts)
        printf("starts never finished    %6" PRId64 " (of %zu in start.log)\n",
               starts_unfinished(c), c->nstarts);
    printf("re-runs (duplicate exec.) %5" PRId64 " (caused by a fault while "
           "open: %" PRId64 ")\n",
           c->duplicates, c->justified);
    for (int i = 0; i < c->ncauses; i++)
        printf("  %-22s %6" PRId64 "\n", c->causes[i], c->cause_cnt[i]);
    if (c->nhandovers) {
        int64_t v[256], t;
        int n = c->nhandovers;
        memcpy(v, c->handover_ms, (size_t)n * sizeof *v);
        for (int i = 1; i < n; i++)
            for (int k = i; k > 0 && v[k - 1] > v[k]; k--)
                t = v[k], v[k] = v[k - 1], v[k - 1] = t;
        printf("batond handover (ms)     min %" PRId64 " median %" PRId64
               " max %" PRId64 " (%d kills)\n",
               v[0], v[n / 2], v[n - 1], n);
    }
    for (size_t i = 0; i < c->nfaults; i++)
        if (c->faults[i].fenced_ms > 0)
            printf("  broker-kill: node %d fenced after %" PRId64 " ms\n",
                   c->faults[i].proc, c->faults[i].fenced_ms);
    printf("batonctl cross-checked   %6" PRId64 "\n", c->batonctl_checked);
    printf("violations               %6" PRId64 "\n", c->nviolations);
    for (size_t i = 0; i < nv && i < MAX_VIOLATIONS_SHOWN; i++)
        printf("  VIOLATION %s\n",
               json_string_value(json_array_get(c->violations, i)));
    if (nv > MAX_VIOLATIONS_SHOWN)
        printf("  ... and %zu more\n", nv - MAX_VIOLATIONS_SHOWN);
}

static void report_json(const check_t *c) {
    json_t *o = json_object(), *faults = json_object(), *just = json_object();
    char *text;
    for (int i = 0; i < c->nkinds; i++) {
        if (c->kind_cnt[i] && !kind_is_recovery(c->kinds[i]))
            json_object_set_new(faults, c->kinds[i],
                                json_integer(c->kind_cnt[i]));
    }
    for (int i = 0; i < c->ncauses; i++)
        json_object_set_new(just, c->causes[i], json_integer(c->cause_cnt[i]));
    json_object_set_new(o, "faults", faults);
    json_object_set_new(o, "workflows_started",
                        json_integer((json_int_t)c->nwfs));
    json_object_set_new(o, "workflows_completed", json_integer(c->completed));
    json_object_set_new(o, "workflows_incomplete", json_integer(c->incomplete));
    json_object_set_new(o, "partitions_not_taken_again",
                        json_integer(c->untaken));
    json_object_set_new(o, "signals_sent", json_integer(c->signals_sent));
    json_object_set_new(o, "signals_received",
                        json_integer(c->signals_delivered));
    json_object_set_new(o, "tasks_executed", json_integer(c->tasks_executed));
    json_object_set_new(o, "executions", json_integer(c->executions));
    json_object_set_new(o, "starts", json_integer((json_int_t)c->nstarts));
    json_object_set_new(o, "starts_unfinished",
                        json_integer(starts_unfinished(c)));
    json_object_set_new(o, "duplicate_executions", json_integer(c->duplicates));
    json_object_set_new(o, "duplicates_justified", json_integer(c->justified));
    json_object_set_new(o, "rerun_causes", just);
    json_object_set_new(o, "batonctl_checked",
                        json_integer(c->batonctl_checked));
    json_object_set_new(o, "violations", json_integer(c->nviolations));
    json_object_set(o, "violation_list", c->violations);
    if ((text = json_dumps(o, JSON_COMPACT))) printf("%s\n", text);
    free(text);
    json_decref(o);
}

static int cmd_check(const opts_t *o, baton_conf_t *conf) {
    check_t c = {.o = o};
    char err[512];
    int rc = BATON_CLI_EXIT_FAIL;

    c.violations = json_array();
    c.scheduled = json_object();
    if (!c.violations || !c.scheduled) goto out;
    if (read_load_log(&c) || read_start_log(&c) || read_exec_log(&c) ||
        read_faults_log(&c))
        goto out;
    c.ns = baton_conf_key_prefix(conf);
    if (!(c.redis = baton_redis_connect_conf(conf, 5000, err, sizeof err))) {
        baton_cli_fail(PROG, "check: %s", err);
        goto out;
    }
    if (find_partitions(&c)) goto out;
    for (size_t i = 0; i < c.nwfs; i++)
        if (check_workflow(&c, &c.wfs[i])) goto out;
    read_batond_logs(&c);
    read_session_losses(&c, "worker");
    read_session_losses(&c, "batond");
    check_kinds(&c);
    check_executions(&c);
    measure_handovers(&c);
    check_batonctl(&c);
    if (!c.nwfs) violation(&c, "no workflow was started (load.log empty)");
    if (o->json)
        report_json(&c);
    else
        report_text(&c);
    rc =
        c.nviolations || c.incomplete ? BATON_CLI_EXIT_FAIL : BATON_CLI_EXIT_OK;
out:
    if (c.redis) redisFree(c.redis);
    json_decref(c.violations);
    json_decref(c.scheduled);
    baton_free(c.wfs);
    baton_free(c.execs);
    baton_free(c.starts);
    baton_free(c.faults);
    baton_free(c.owns);
    return rc;
}

/* ======================================================================== */
/* main                                                                     */
/* ======================================================================== */

static void usage(FILE *out) {
    fprintf(out,
            "usage: baton-chaos load  --dir DIR [--rate R] [--duration S] "
            "[--seed N]\n"
            "                         [--id-prefix P] [--type NAME] "
            "[--signal-delay-ms MS] [-c FILE]\n"
            "       baton-chaos check --dir DIR [--id-prefix P] [--batonctl "
            "PATH] [--sample N]\n"
            "                         [--kinds K1,K2..] [--session-ms MS] "
            "[--rebalance-ms MS]\n"
            "                         [--commit-ms MS] [--aof-ms MS] "
            "[--json] [-c FILE]\n"
            "The load and the checker of the fault-injection suite "
            "(tests/chaos/README.md).\n");
}

/* A whole integer option value in [lo, hi]; 0, or -1 (printed). */
static int parse_num(const char *name, const char *s, int64_t lo, int64_t hi,
                     int64_t *out) {
    return baton_cli_parse_int(PROG, name, s, lo, hi, out) ? -1 : 0;
}

static int parse_opts(int argc, char **argv, opts_t *o) {
    static const struct option lo[] = {
        {"dir", required_argument, NULL, 'd'},
        {"rate", required_argument, NULL, 'R'},
        {"duration", required_argument, NULL, 'D'},
        {"seed", required_argument, NULL, 's'},
        {"id-prefix", required_argument, NULL, 'p'},
        {"type", required_argument, NULL, 't'},
        {"signal-delay-ms", required_argument, NULL, 'g'},
        {"batonctl", required_argument, NULL, 'B'},
        {"sample", required_argument, NULL, 'n'},
        {"session-ms", required_argument, NULL, 'S'},
        {"commit-ms", required_argument, NULL, 'C'},
        {"aof-ms", required_argument, NULL, 'A'},
        {"kinds", required_argument, NULL, 'K'},
        {"rebalance-ms", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int ch;
    char *end;
    *o = (opts_t){.type = "chaos-mix",
                  .rate = 4,
                  .duration_s = 60,
                  .seed = 1,
                  .signal_delay_ms = 4000,
                  .sample = 10,
                  .session_ms = 4000,
                  .rebalance_ms = -1,
                  .commit_ms = 2000,
                  .aof_ms = 2000};
    snprintf(o->prefix, sizeof o->prefix, "chaos");
    if (argc < 2 || argv[1][0] == '-') return -1;
    o->cmd = argv[1];
    optind = 2;
    while ((ch = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'd': o->dir = optarg; break;
        case 'R':
            o->rate = strtod(optarg, &end);
            if (*end || o->rate <= 0 || o->rate > 1000) {
                baton_cli_fail(PROG, "--rate must be in (0, 1000]");
                return -1;
            }
            break;
        case 'D':
            if (parse_num("--duration", optarg, 1, 86400, &o->duration_s))
                return -1;
            break;
        case 's':
            if (parse_num("--seed", optarg, 0, INT64_MAX, &o->seed)) return -1;
            break;
        case 'p': snprintf(o->prefix, sizeof o->prefix, "%s", optarg); break;
        case 't': o->type = optarg; break;
        case 'g':
            if (parse_num("--signal-delay-ms", optarg, 0, 3600000,
                          &o->signal_delay_ms))
                return -1;
            break;
        case 'B': o->batonctl = optarg; break;
        case 'n':
            if (parse_num("--sample", optarg, 0, 100000, &o->sample)) return -1;
            break;
        case 'S':
            if (parse_num("--session-ms", optarg, 0, 3600000, &o->session_ms))
                return -1;
            break;
        case 'C':
            if (parse_num("--commit-ms", optarg, 0, 3600000, &o->commit_ms))
                return -1;
            break;
        case 'A':
            if (parse_num("--aof-ms", optarg, 0, 3600000, &o->aof_ms))
                return -1;
            break;
        case 'K': o->kinds = optarg; break;
        case 'r':
            if (parse_num("--rebalance-ms", optarg, 0, 3600000,
                          &o->rebalance_ms))
                return -1;
            break;
        case 'j': o->json = 1; break;
        case 'c': o->config = optarg; break;
        case 'h': usage(stdout); exit(BATON_CLI_EXIT_OK);
        default: return -1;
        }
    }
    if (o->rebalance_ms < 0) o->rebalance_ms = 2 * o->session_ms + 2000;
    if (optind < argc || !o->dir) {
        baton_cli_fail(PROG, "%s",
                       o->dir ? "unexpected argument" : "--dir is required");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    opts_t o;
    baton_conf_t *conf;
    char err[512];
    int rc;

    baton_log_set_program(PROG);
    if (parse_opts(argc, argv, &o) ||
        (strcmp(o.cmd, "load") && strcmp(o.cmd, "check"))) {
        usage(stderr);
        return BATON_CLI_EXIT_USAGE;
    }
    if (!(conf = baton_conf_new()))
        return baton_cli_fail(PROG, "out of memory");
    if (baton_conf_load_default(conf, o.config, err, sizeof err)) {
        baton_conf_destroy(conf);
        return baton_cli_usage_error(PROG, "%s", err);
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    rng_state = (uint64_t)o.seed;
    rc = !strcmp(o.cmd, "load") ? cmd_load(&o, conf) : cmd_check(&o, conf);
    baton_conf_destroy(conf);
    return rc;
}
