/*
 * bench.c -- baton-bench: the load generator behind `make bench` and the
 * integration tests.  It drives workflows through a running Baton (batond
 * + workers on Kafka + Redis) exactly as a client would and reports
 * throughput, latency and two correctness counters in a form a script can
 * check (--json: one JSON object on stdout).  bench/ holds it with the
 * scripts that run it on the dev stack: bench.sh (`make bench`) and
 * bench-timers.sh (`make bench-timers`).
 *
 *   baton-bench [--workflows N] [--type NAME] [--concurrency C]
 *               [--input JSON] [--id-prefix STR] [--timeout SECONDS]
 *               [--stall SECONDS]
 *               [--steps K] [--json] [--hops] [--memory-probe M]
 *               [--signal-type NAME] [-c FILE] [-b BROKERS] [-r REDIS_URL]
 *               [-X key=value]
 *
 * Phases, in this order, all under one overall deadline (--timeout):
 *
 *  0. Setup.  A consumer of <prefix>.events is assigned (no group
 *     membership: rd_kafka_assign, group.id only because librdkafka wants
 *     one for assign) every partition at its high watermark, queried
 *     explicitly before anything is produced, so it sees every event of the
 *     bench's workflows and nothing older.  It reads <prefix>.dlq the same
 *     way: a DLQ message keyed by a workflow of the bench that has no event
 *     yet is its START rejected by batond (unknown definition, bad input),
 *     and that workflow fails at once ("rejected", reason logged) instead
 *     of timing out.  auto.offset.reset=error: if the
 *     bench falls so far behind that the broker dropped events (the dev
 *     stack keeps ~5 MiB per partition), that is reported as events_lost
 *     and fails the run instead of being skipped.
 *
 *  1. --hops: the Kafka hop latency, produce -> consume of a 100-byte
 *     message on the scratch topic <prefix>.bench.hop (partition 0), one in
 *     flight at a time: 5 warm-up round trips, then 200 measured, each
 *     after a random 0-2 ms pause (back-to-back round trips lock onto the
 *     consumer's fetch cycle: p50 then flips between runs from 0.2 to
 *     1.4 ms on the embedded broker, which polls every 1 ms).  The
 *     topic is not one the dev stack creates: it is looked up through the
 *     producer's metadata request, which asks the broker to auto-create it
 *     (the embedded mock does, with 4 partitions; a real broker does when
 *     auto.create.topics.enable is on), and failing that created with the
 *     Admin API (1 partition).  Sets hop_ms_p50/p99.
 *
 *  2. The run: START commands (Avro envelope, key = workflow id, topic
 *     <prefix>.commands, ids <id-prefix>-<i>) for N workflows of --type,
 *     at most C in flight: a new one starts when one closes.  A workflow
 *     closes with its first WorkflowCompleted / WorkflowFailed /
 *     WorkflowCancelled / WorkflowTerminated event; its end-to-end latency
 *     runs from just before its START is produced to when that event is
 *     consumed.  Events are identified by (workflow_id, seq): a pair seen
 *     twice is a re-sent duplicate (allowed, duplicate_events); two closing
 *     events with different seq for one workflow are a violation
 *     (double_completions, must stay 0).
 *
 *  3. --memory-probe M: Redis INFO used_memory before and after starting M
 *     workflows of --signal-type (a definition that waits for a signal at
 *     once) and seeing all M snapshots baton:{pN}:wf:<id> (N = murmur2
 *     partition of the id over <prefix>.commands) say "pk":"signal"; delta/M
 *     is memory_per_waiting_workflow_bytes.  MEMORY USAGE (SAMPLES 0) of up
 *     to 100 of their wf and hist keys gives snapshot_bytes_avg and
 *     history_bytes_avg.  Then each gets a CANCEL and the bench waits for
 *     them to close (at least 5 s even when the deadline has passed, so the
 *     probe does not leave waiting workflows behind).
 *
 * Output (text: aligned "name value" lines; --json: one object, same names;
 * a value that could not be measured is null / "-"):
 *
 *   workflows            N asked for
 *   completed            closed with WorkflowCompleted
 *   failed               closed otherwise (or START not delivered)
 *   timed_out            not closed by the deadline
 *   stalled              1 when --stall S ended the run: no workflow closed
 *                        for S seconds while some were in flight (a hung
 *                        engine fails in S seconds, not at the deadline)
 *   duration_s           first START produced -> last close (or deadline)
 *   workflows_per_s      completed / duration_s
 *   steps_per_s          completed * K / duration_s
 *   e2e_ms_p50, _p99     end-to-end latency of the completed workflows
 *                        (nearest-rank percentiles)
 *   cpu_s                CPU seconds (user + system, all threads) this
 *                        load generator spent in the run (phase 2)
 *   duplicate_events     (workflow_id, seq) pairs seen more than once
 *   double_completions   distinct closing events beyond the first
 *   --hops:   hop_ms_p50, hop_ms_p99, hops_per_workflow (2K + 2: the START,
 *             K tasks, K results, the closing event) and
 *             baton_overhead_ms_p50 = e2e_ms_p50 - hops_per_workflow *
 *             hop_ms_p50: the time Baton itself adds per workflow
 *   --memory-probe: memory_probe_workflows, memory_probe_waiting,
 *             memory_used_before_bytes, memory_used_after_bytes,
 *             memory_per_waiting_workflow_bytes, snapshot_bytes_avg,
 *             history_bytes_avg, memory_probe_closed
 *   always:   type, concurrency, steps, id_prefix, rejected (STARTs of
 *             the run and the probe that batond sent to the DLQ),
 *             produce_errors, events_lost, undecodable_events
 *
 * Exit status: 0 when every workflow completed, double_completions is 0, no
 * event was lost and the requested hop / memory measurements succeeded; 1
 * otherwise (also after SIGINT/SIGTERM, which stop the run early and still
 * report); 2 for usage errors.
 *
 * Thread: single-threaded (plus librdkafka's own threads); delivery
 * reports run from rd_kafka_poll/rd_kafka_flush on the main thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <assert.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

#define BENCH_PROG "baton-bench"
#define SUBSYS "bench"

#define BENCH_ID_MAX 256           /* codec.h: ids are 1..256 bytes */
#define BENCH_META_TIMEOUT_MS 5000 /* metadata and watermark look-ups */
#define BENCH_POLL_MS 10           /* consumer poll when idle */
#define BENCH_DRAIN_MAX 1000       /* messages handled per loop turn */
#define BENCH_HOP_ROUNDS 200
#define BENCH_HOP_WARMUP 5
#define BENCH_HOP_MSG_LEN 100
#define BENCH_HOP_GAP_MAX_US 2000 /* random pause before each round */
#define BENCH_HOP_ROUND_TIMEOUT_US (5 * 1000000LL)
#define BENCH_TOPIC_WAIT_US (10 * 1000000LL) /* hop topic to appear */
#define BENCH_PROBE_SAMPLE 100       /* keys measured with MEMORY USAGE */
#define BENCH_PROBE_CHUNK 256        /* GETs per pipelined round trip */
#define BENCH_PROBE_POLL_US 50000    /* between snapshot scans */
#define BENCH_PROBE_SETTLE_US 200000 /* let the outbox drain before INFO */
#define BENCH_CANCEL_GRACE_US (5 * 1000000LL)
#define BENCH_FLUSH_MS 10000
#define BENCH_SEEN_MAX_SEQ (1 << 20) /* seqs tracked for duplicates */
#define BENCH_MAX_FIELDS 48
#define BENCH_MAX_WORKFLOWS 100000000 /* each; the map indexes in 32 bits */

/* ---- options ------------------------------------------------------------ */

typedef struct bench_opts {
    int64_t workflows;   /* N */
    const char *type;    /* definition of the run */
    int64_t concurrency; /* C */
    const char *input;   /* START payload, JSON */
    char id_prefix[128];
    int64_t timeout_s;
    int64_t stall_s; /* 0: no stall check */
    int64_t steps;   /* K, for steps_per_s and hops_per_workflow */
    int json;
    int hops;
    int64_t probe; /* M, 0 = no memory probe */
    const char *signal_type;
    const char *config_path;
    baton_cli_sets_t sets; /* -b, -r, -X in order */
    int help;
} bench_opts_t;

/* ---- per-workflow records and the id -> record map ----------------------- */

typedef enum {
    WF_IDLE = 0, /* not started yet */
    WF_RUNNING,  /* START produced, not closed */
    WF_CLOSED,
} bench_phase_t;

typedef enum {
    CLOSE_NONE = 0,
    CLOSE_COMPLETED,
    CLOSE_FAILED,
    CLOSE_CANCELLED,
    CLOSE_TERMINATED,
    CLOSE_PRODUCE_ERROR, /* START not acknowledged by Kafka */
    CLOSE_REJECTED,      /* START sent to the DLQ by batond */
} bench_close_t;

typedef struct bench_wf {
    char *id;
    size_t id_len;
    int64_t start_us;  /* mono, just before the START was produced */
    int64_t close_us;  /* mono, when the closing event was consumed */
    int64_t close_seq; /* seq of the first closing event, 0 = none yet */
    uint64_t *seen;    /* bit s set: event seq s consumed */
    uint32_t seen_words;
    uint8_t phase;      /* bench_phase_t */
    uint8_t close_kind; /* bench_close_t */
    uint8_t probe;      /* memory-probe workflow, not part of the run */
    uint8_t waiting;    /* probe: snapshot seen with "pk":"signal" */
    uint8_t any_event;  /* at least one event consumed */
} bench_wf_t;

typedef struct bench_field {
    const char *name;
    enum { BF_INT, BF_REAL, BF_NULL, BF_STR } kind;
    int64_t i;
    double d;
    const char *s;
} bench_field_t;

typedef struct bench {
    bench_opts_t o;
    baton_conf_t *conf;
    baton_codec_t *codec;
    rd_kafka_t *producer;
    rd_kafka_t *consumer; /* events, assigned at the high watermarks */
    redisContext *redis;
    char commands_topic[256], events_topic[256], hop_topic[256];
    char dlq_topic[256];
    int32_t command_partitions; /* of <prefix>.commands: snapshot keys */
    int64_t deadline_us;

    bench_wf_t *wfs; /* N run records, then M probe records */
    size_t nwfs;
    uint32_t *table; /* open addressing: index + 1 into wfs, 0 = empty */
    size_t table_mask;

    /* the run */
    int64_t next;     /* next run workflow to start */
    int64_t inflight; /* run workflows started and not closed */
    int64_t closed, completed;
    int64_t run_start_us, run_end_us, last_close_us;
    int stalled;      /* --stall ended the run */
    double run_cpu_s; /* this process's CPU time over the run, -1 unknown */

    /* counters */
    int64_t duplicate_events, double_completions, produce_errors;
    int64_t events_lost, undecodable_events, rejected;

    /* --hops */
    int hops_ok;
    double hop_p50_ms, hop_p99_ms;

    /* --memory-probe */
    int probe_ok;
    int64_t probe_waiting, probe_closed;
    int64_t mem_before, mem_after;
    double snapshot_bytes_avg, history_bytes_avg;
    int snapshot_bytes_n, history_bytes_n;
} bench_t;

static volatile sig_atomic_t bench_stop;

static void bench_on_signal(int sig) {
    (void)sig;
    bench_stop = 1;
}

/* ---- diagnostics ---------------------------------------------------------- */

/* The bench's diagnostics: "baton-bench: <message>" on stderr (cli.h). */
#define bench_fail(...) baton_cli_fail(BENCH_PROG, __VA_ARGS__)
#define bench_usage_error(...) baton_cli_usage_error(BENCH_PROG, __VA_ARGS__)

static void bench_usage(void) {
    fprintf(stderr,
            "Usage: " BENCH_PROG " [options]\n"
            "Drives workflows through a running Baton and reports throughput,\n"
            "latency and correctness counters (see bench/bench.c).\n"
            "\n"
            "  --workflows N        workflows to run (default 2000)\n"
            "  --type NAME          workflow definition (default steps3)\n"
            "  --concurrency C      workflows in flight at once (default 50)\n"
            "  --input JSON         START input (default {})\n"
            "  --id-prefix STR      workflow ids are STR-<i> (default "
            "bench-<pid>-<time>)\n"
            "  --timeout SECONDS    overall deadline (default 120)\n"
            "  --stall SECONDS      fail once no workflow closed for SECONDS\n"
            "                       while some are in flight (default 0: off)\n"
            "  --steps K            activity steps per workflow, for steps/s\n"
            "                       and hops per workflow (default 3)\n"
            "  --json               print one JSON object instead of text\n"
            "  --hops               also measure the Kafka hop latency\n"
            "  --memory-probe M     Redis memory of M workflows waiting for a\n"
            "                       signal\n"
            "  --signal-type NAME   definition of the memory probe (default\n"
            "                       wait-signal)\n"
            "  -c, --config FILE    Baton config file\n"
            "  -b, --brokers LIST   kafka.bootstrap.servers\n"
            "  -r, --redis URL      redis.url\n"
            "  -X key=value         any configuration key (kafka.* too)\n"
            "  -h, --help           this help\n"
            "\n"
            "Exit status: 0 all workflows completed and no violation, 1 "
            "otherwise,\n2 usage error.  Configuration keys:\n");
    baton_conf_print_keys(stderr);
}

/* ---- option parsing --------------------------------------------------------- */

static int bench_parse_int(const char *flag, const char *arg, int64_t min,
                           int64_t *out) {
    return baton_cli_parse_int(BENCH_PROG, flag, arg, min, INT64_MAX, out);
}

enum {
    OPT_WORKFLOWS = 256,
    OPT_TYPE,
    OPT_CONCURRENCY,
    OPT_INPUT,
    OPT_ID_PREFIX,
    OPT_TIMEOUT,
    OPT_STEPS,
    OPT_JSON,
    OPT_HOPS,
    OPT_PROBE,
    OPT_SIGNAL_TYPE,
    OPT_STALL,
};

/* Fills o from argv.  Returns 0, or an exit code (2 for usage errors). */
static int bench_parse_args(bench_opts_t *o, int argc, char **argv) {
    static const struct option longopts[] = {
        {"workflows", required_argument, NULL, OPT_WORKFLOWS},
        {"type", required_argument, NULL, OPT_TYPE},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"input", required_argument, NULL, OPT_INPUT},
        {"id-prefix", required_argument, NULL, OPT_ID_PREFIX},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"stall", required_argument, NULL, OPT_STALL},
        {"steps", required_argument, NULL, OPT_STEPS},
        {"json", no_argument, NULL, OPT_JSON},
        {"hops", no_argument, NULL, OPT_HOPS},
        {"memory-probe", required_argument, NULL, OPT_PROBE},
        {"signal-type", required_argument, NULL, OPT_SIGNAL_TYPE},
        {"config", required_argument, NULL, 'c'},
        {"brokers", required_argument, NULL, 'b'},
        {"redis", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc = 0;
    const char *prefix = NULL;

    o->workflows = 2000;
    o->type = "steps3";
    o->concurrency = 50;
    o->input = "{}";
    o->timeout_s = 120;
    o->steps = 3;
    o->signal_type = "wait-signal";

    while (!rc &&
           (c = getopt_long(argc, argv, "c:b:r:X:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_WORKFLOWS:
            rc = bench_parse_int("--workflows", optarg, 0, &o->workflows);
            break;
        case OPT_TYPE: o->type = optarg; break;
        case OPT_CONCURRENCY:
            rc = bench_parse_int("--concurrency", optarg, 1, &o->concurrency);
            break;
        case OPT_INPUT: o->input = optarg; break;
        case OPT_ID_PREFIX: prefix = optarg; break;
        case OPT_TIMEOUT:
            rc = bench_parse_int("--timeout", optarg, 1, &o->timeout_s);
            break;
        case OPT_STALL:
            rc = bench_parse_int("--stall", optarg, 0, &o->stall_s);
            break;
        case OPT_STEPS:
            rc = bench_parse_int("--steps", optarg, 0, &o->steps);
            break;
        case OPT_JSON: o->json = 1; break;
        case OPT_HOPS: o->hops = 1; break;
        case OPT_PROBE:
            rc = bench_parse_int("--memory-probe", optarg, 0, &o->probe);
            break;
        case OPT_SIGNAL_TYPE: o->signal_type = optarg; break;
        case 'c': o->config_path = optarg; break;
        case 'b':
            rc = baton_cli_sets_add(BENCH_PROG, &o->sets,
                                    "kafka.bootstrap.servers", optarg);
            break;
        case 'r':
            rc = baton_cli_sets_add(BENCH_PROG, &o->sets, "redis.url", optarg);
            break;
        case 'X':
            rc = baton_cli_sets_add_x(BENCH_PROG, &o->sets, optarg);
            break;
        case 'h': o->help = 1; break;
        default: return bench_usage_error("bad command line");
        }
    }
    if (rc || o->help) return rc;
    if (optind < argc)
        return bench_usage_error("unexpected argument '%s'", argv[optind]);
    if (o->workflows > BENCH_MAX_WORKFLOWS || o->probe > BENCH_MAX_WORKFLOWS)
        return bench_usage_error("--workflows and --memory-probe must be at "
                                 "most %d",
                                 BENCH_MAX_WORKFLOWS);
    if (!*o->type || !*o->signal_type)
        return bench_usage_error("--type and --signal-type must not be empty");
    {
        json_error_t jerr;
        json_t *j = json_loads(o->input, JSON_DECODE_ANY, &jerr);
        if (!j)
            return bench_usage_error("--input is not valid JSON: %s",
                                     jerr.text);
        json_decref(j);
    }
    if (prefix) {
        if (!*prefix || strlen(prefix) >= sizeof o->id_prefix)
            return bench_usage_error("--id-prefix must be 1..%zu bytes",
                                     sizeof o->id_prefix - 1);
        snprintf(o->id_prefix, sizeof o->id_prefix, "%s", prefix);
    } else {
        snprintf(o->id_prefix, sizeof o->id_prefix, "bench-%ld-%lld",
                 (long)getpid(), (long long)time(NULL));
    }
    return 0;
}

/* ---- the id -> record map --------------------------------------------------- */

static bench_wf_t *bench_wf_find(const bench_t *b, const char *id, size_t len) {
    size_t i = baton_murmur2(id, len) & b->table_mask;
    for (;; i = (i + 1) & b->table_mask) {
        uint32_t slot = b->table[i];
        bench_wf_t *w;
        if (!slot) return NULL;
        w = &b->wfs[slot - 1];
        if (w->id_len == len && !memcmp(w->id, id, len)) return w;
    }
}

/* Creates the N run records (<prefix>-<i>) and M probe records
 * (<prefix>-mem-<i>) and indexes them.  Returns 0 or -1 (out of memory). */
static int bench_wfs_init(bench_t *b) {
    size_t n = (size_t)b->o.workflows + (size_t)b->o.probe, cap = 16;
    char id[BENCH_ID_MAX + 1];

    while (cap < 2 * n) cap <<= 1;
    if (!(b->wfs = baton_calloc(n ? n : 1, sizeof *b->wfs)) ||
        !(b->table = baton_calloc(cap, sizeof *b->table)))
        return -1;
    b->table_mask = cap - 1;
    for (size_t k = 0; k < n; k++) {
        bench_wf_t *w = &b->wfs[k];
        size_t i;
        int probe = k >= (size_t)b->o.workflows;
        int len = probe ? snprintf(id, sizeof id, "%s-mem-%zu", b->o.id_prefix,
                                   k - (size_t)b->o.workflows)
                        : snprintf(id, sizeof id, "%s-%zu", b->o.id_prefix, k);
        if (!(w->id = baton_strndup(id, (size_t)len))) return -1;
        w->id_len = (size_t)len;
        w->probe = (uint8_t)probe;
        b->nwfs = k + 1;
        i = baton_murmur2(w->id, w->id_len) & b->table_mask;
        while (b->table[i]) i = (i + 1) & b->table_mask;
        b->table[i] = (uint32_t)(k + 1);
    }
    return 0;
}

static void bench_wfs_free(bench_t *b) {
    for (size_t k = 0; k < b->nwfs; k++) {
        baton_free(b->wfs[k].id);
        baton_free(b->wfs[k].seen);
    }
    baton_free(b->wfs);
    baton_free(b->table);
}

/* Marks seq seen for w.  Returns 1 when it was seen before (a duplicate),
 * 0 otherwise (also when seq is out of the tracked range). */
static int bench_wf_seen(bench_wf_t *w, int64_t seq) {
    uint32_t word, need;
    uint64_t bit;
    if (seq < 0 || seq >= BENCH_SEEN_MAX_SEQ) return 0;
    word = (uint32_t)(seq / 64);
    bit = (uint64_t)1 << (seq % 64);
    if (word >= w->seen_words) {
        uint64_t *n;
        need = word + 1 > 2 * w->seen_words ? word + 1 : 2 * w->seen_words;
        if (!(n = baton_realloc(w->seen, need * sizeof *n))) return 0;
        memset(n + w->seen_words, 0, (need - w->seen_words) * sizeof *n);
        w->seen = n;
        w->seen_words = need;
    }
    if (w->seen[word] & bit) return 1;
    w->seen[word] |= bit;
    return 0;
}

/* Closes w without a closing event (START not delivered or rejected). */
static void bench_wf_close_early(bench_t *b, bench_wf_t *w,
                                 bench_close_t kind) {
    w->phase = WF_CLOSED;
    w->close_kind = (uint8_t)kind;
    w->close_us = baton_mono_us();
    if (w->probe) {
        b->probe_closed++;
    } else {
        b->inflight--;
        b->closed++;
    }
}

/* ---- Kafka ------------------------------------------------------------------ */

/* Delivery report (main thread, from rd_kafka_poll/flush).  A START that
 * Kafka did not take closes its workflow as failed, freeing its slot; a
 * closing event arriving later still overrides that. */
static void bench_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                              void *opaque) {
    bench_t *b = opaque;
    bench_wf_t *w = m->_private;
    (void)rk;
    if (!m->err) return;
    b->produce_errors++;
    BATON_ERROR(SUBSYS, "producing to %s: %s", rd_kafka_topic_name(m->rkt),
                rd_kafka_err2str(m->err));
    if (w && w->phase == WF_RUNNING)
        bench_wf_close_early(b, w, CLOSE_PRODUCE_ERROR);
}

/* Produces value to topic (copied), retrying while the local queue is full
 * until the deadline.  partition -1 = by key.  Returns 0 or -1. */
static int bench_produce(bench_t *b, const char *topic, int32_t partition,
                         const char *key, const void *value, size_t len,
                         int avro, void *opaque) {
    for (;;) {
        rd_kafka_headers_t *h = avro ? baton_kafka_headers_new(0) : NULL;
        rd_kafka_resp_err_t err = rd_kafka_producev(
            b->producer, RD_KAFKA_V_TOPIC(topic),
            RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA
                                               : partition),
            RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
            RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (!err) return 0;
        if (h) rd_kafka_headers_destroy(h);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !bench_stop &&
            baton_mono_us() < b->deadline_us) {
            rd_kafka_poll(b->producer, 10);
            continue;
        }
        BATON_ERROR(SUBSYS, "producing to %s: %s", topic,
                    rd_kafka_err2str(err));
        b->produce_errors++;
        return -1;
    }
}

/* Encodes and produces a command for w (START of type with payload, or
 * CANCEL).  Returns 0 or -1. */
static int bench_send_command(bench_t *b, bench_wf_t *w, baton_cmd_kind_t kind,
                              const char *type, const char *payload) {
    baton_command_t cmd = {0};
    char err[256], *buf = NULL;
    size_t len = 0;
    int rc;

    cmd.kind = kind;
    cmd.workflow_id = w->id;
    cmd.workflow_type = (char *)type;
    cmd.payload = (char *)payload;
    cmd.reason =
        kind == BATON_CMD_CANCEL ? "baton-bench memory probe done" : NULL;
    cmd.sent_at_ms = baton_now_ms();
    if (baton_codec_encode_command(b->codec, &cmd, 0, &buf, &len, err,
                                   sizeof err)) {
        BATON_ERROR(SUBSYS, "encoding %s of %s: %s", baton_cmd_kind_name(kind),
                    w->id, err);
        return -1;
    }
    rc = bench_produce(b, b->commands_topic, -1, w->id, buf, len, 1,
                       kind == BATON_CMD_START ? w : NULL);
    baton_free(buf);
    return rc;
}

/* Starts w: records its start time just before producing its START.
 * Returns 0, or -1 when the START could not be produced (w then counts as
 * closed with CLOSE_PRODUCE_ERROR). */
static int bench_start(bench_t *b, bench_wf_t *w, const char *type,
                       const char *input) {
    assert(w->phase == WF_IDLE);
    w->phase = WF_RUNNING;
    if (!w->probe) b->inflight++;
    w->start_us = baton_mono_us();
    if (!bench_send_command(b, w, BATON_CMD_START, type, input)) return 0;
    bench_wf_close_early(b, w, CLOSE_PRODUCE_ERROR);
    return -1;
}

static bench_close_t bench_close_kind(const char *type) {
    if (strncmp(type, "Workflow", 8)) return CLOSE_NONE;
    type += 8;
    if (!strcmp(type, "Completed")) return CLOSE_COMPLETED;
    if (!strcmp(type, "Failed")) return CLOSE_FAILED;
    if (!strcmp(type, "Cancelled")) return CLOSE_CANCELLED;
    if (!strcmp(type, "Terminated")) return CLOSE_TERMINATED;
    return CLOSE_NONE;
}

/* A DLQ message keyed by one of our workflows that never produced an event
 * is its START, rejected (unknown definition, invalid input ...): the
 * workflow fails now instead of timing out, and the reason is logged. */
static void bench_on_dlq(bench_t *b, const rd_kafka_message_t *m) {
    bench_wf_t *w;
    rd_kafka_headers_t *hdrs;
    const void *reason = NULL;
    size_t reason_len = 0;

    if (!m->key || !(w = bench_wf_find(b, m->key, m->key_len)) ||
        w->phase != WF_RUNNING || w->any_event)
        return;
    if (!rd_kafka_message_headers(m, &hdrs))
        rd_kafka_header_get_last(hdrs, "baton-error", &reason, &reason_len);
    if (b->rejected++ < 10)
        BATON_ERROR(SUBSYS, "workflow %s rejected by batond (in %s): %.*s%s",
                    w->id, b->dlq_topic, (int)reason_len,
                    reason ? (const char *)reason : "no reason given",
                    b->rejected == 10 ? " (not logging more)" : "");
    bench_wf_close_early(b, w, CLOSE_REJECTED);
}

/* Applies one consumed message of the events or the DLQ topic. */
static void bench_on_message(bench_t *b, const rd_kafka_message_t *m) {
    baton_event_t ev;
    char err[256];
    bench_wf_t *w;
    bench_close_t kind;

    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
            m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
            b->events_lost++;
            BATON_ERROR(SUBSYS,
                        "events consumer: %s [%" PRId32 "]: %s: events were "
                        "dropped by the broker before the bench read them",
                        m->rkt ? rd_kafka_topic_name(m->rkt) : "?",
                        m->partition, rd_kafka_message_errstr(m));
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            BATON_WARN(SUBSYS, "events consumer: %s",
                       rd_kafka_message_errstr(m));
        }
        return;
    }
    if (!strcmp(rd_kafka_topic_name(m->rkt), b->dlq_topic)) {
        bench_on_dlq(b, m);
        return;
    }
    if (baton_codec_decode_event(b->codec, m->payload, m->len,
                                 baton_kafka_msg_is_json(m), &ev, err,
                                 sizeof err)) {
        if (!b->undecodable_events++)
            BATON_WARN(
                SUBSYS,
                "undecodable event at %s [%" PRId32 "] offset %" PRId64 ": %s",
                rd_kafka_topic_name(m->rkt), m->partition, m->offset, err);
        baton_event_clear(&ev);
        return;
    }
    w = bench_wf_find(b, ev.workflow_id, strlen(ev.workflow_id));
    if (!w || w->phase == WF_IDLE) goto done; /* not one of ours */
    w->any_event = 1;
    if (bench_wf_seen(w, ev.seq)) {
        b->duplicate_events++;
        goto done;
    }
    if ((kind = bench_close_kind(ev.type)) == CLOSE_NONE) goto done;
    if (w->close_seq) {
        /* A second, different closing event: a workflow closed twice. */
        if (b->double_completions++ < 10)
            BATON_ERROR(SUBSYS,
                        "workflow %s closed twice: seq %" PRId64 " and %s at "
                        "seq %" PRId64 "%s",
                        w->id, w->close_seq, ev.type, ev.seq,
                        b->double_completions == 10 ? " (not logging more)"
                                                    : "");
        goto done;
    }
    w->close_seq = ev.seq;
    if (w->phase == WF_RUNNING) {
        w->phase = WF_CLOSED;
        w->close_us = baton_mono_us();
        if (w->probe) {
            b->probe_closed++;
        } else {
            b->inflight--;
            b->closed++;
            if (kind == CLOSE_COMPLETED) b->completed++;
            b->last_close_us = w->close_us;
        }
    } else if (!w->probe && kind == CLOSE_COMPLETED) {
        b->completed++; /* closed early, yet the START did get through */
    }
    w->close_kind = (uint8_t)kind;
done:
    baton_event_clear(&ev);
}

/* Polls the events consumer: waits up to timeout_ms for the first message,
 * then handles up to BENCH_DRAIN_MAX that are already there, calling
 * after(b) after each one (NULL: nothing).  Also serves delivery reports. */
static void bench_drain(bench_t *b, int timeout_ms, void (*after)(bench_t *)) {
    rd_kafka_message_t *m;
    int n = 0;
    rd_kafka_poll(b->producer, 0);
    while (n < BENCH_DRAIN_MAX &&
           (m = rd_kafka_consumer_poll(b->consumer, n ? 0 : timeout_ms))) {
        bench_on_message(b, m);
        rd_kafka_message_destroy(m);
        n++;
        if (after) after(b);
    }
}

/* Partition count of an existing topic, or -1 with errstr.  Asks for the
 * metadata of all topics: a request naming the topic would make the broker
 * auto-create it (the embedded mock does so even for consumers), and a
 * mistyped topic.prefix must be an error, not a new empty topic. */
static int32_t bench_topic_partitions(rd_kafka_t *rk, const char *topic,
                                      char *errstr, size_t errlen) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err =
        rd_kafka_metadata(rk, 1, NULL, &md, BENCH_META_TIMEOUT_MS);
    int32_t cnt = -1;

    errstr[0] = '\0';
    if (err) {
        baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                     "metadata of the Kafka cluster: %s (is the stack "
                     "running?)",
                     rd_kafka_err2str(err));
        return -1;
    }
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, topic)) {
            if (md->topics[i].err)
                baton_seterr(errstr, errlen, BATON_ERR_KAFKA, "topic %s: %s",
                             topic, rd_kafka_err2str(md->topics[i].err));
            else
                cnt = md->topics[i].partition_cnt;
            break;
        }
    if (cnt < 0 && !*errstr)
        baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                     "topic %s does not exist (is batond's topic.prefix the "
                     "same? is the stack running?)",
                     topic);
    rd_kafka_metadata_destroy(md);
    return cnt;
}

/* Adds every partition of topic (or only only_partition when >= 0) to
 * parts at its high watermark, queried now.  Returns 0, or -1 with errstr
 * (the topic does not exist, or a watermark query failed). */
static int bench_add_at_end(rd_kafka_t *rk,
                            rd_kafka_topic_partition_list_t *parts,
                            const char *topic, int32_t only_partition,
                            char *errstr, size_t errlen) {
    int32_t cnt;
    if ((cnt = bench_topic_partitions(rk, topic, errstr, errlen)) < 0)
        return -1;
    for (int32_t p = 0; p < cnt; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t kerr;
        if (only_partition >= 0 && p != only_partition) continue;
        kerr = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi,
                                                BENCH_META_TIMEOUT_MS);
        if (kerr) {
            baton_seterr(errstr, errlen, BATON_ERR_KAFKA,
                         "high watermark of %s [%" PRId32 "]: %s", topic, p,
                         rd_kafka_err2str(kerr));
            return -1;
        }
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = hi;
    }
    return 0;
}

/* Assigns rk the partitions of topics[0..n) at their high watermarks
 * (only_partition as above).  topics[0] is required; a later one that does
 * not exist is left out with a warning.  Returns 0 or -1 (logged). */
static int bench_assign_at_end(rd_kafka_t *rk, const char *const *topics, int n,
                               int32_t only_partition) {
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(8);
    rd_kafka_resp_err_t kerr;
    char err[512];

    for (int i = 0; i < n; i++) {
        if (!bench_add_at_end(rk, parts, topics[i], only_partition, err,
                              sizeof err))
            continue;
        if (!i) {
            BATON_ERROR(SUBSYS, "%s", err);
            rd_kafka_topic_partition_list_destroy(parts);
            return -1;
        }
        BATON_WARN(SUBSYS, "not watching %s: %s", topics[i], err);
    }
    kerr = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (kerr) {
        BATON_ERROR(SUBSYS, "assigning %s: %s", topics[0],
                    rd_kafka_err2str(kerr));
        return -1;
    }
    return 0;
}

/* A consumer without group membership (group.id only because assign needs
 * one); NULL on failure (logged). */
static rd_kafka_t *bench_consumer_new(bench_t *b, const char *what) {
    char err[512], group[128];
    rd_kafka_conf_t *kconf;
    rd_kafka_t *rk;

    snprintf(group, sizeof group, "baton-bench-%s-%ld", what, (long)getpid());
    if (!(kconf = baton_kafka_conf_new(b->conf, BATON_KAFKA_CONSUMER, group,
                                       err, sizeof err))) {
        BATON_ERROR(SUBSYS, "%s", err);
        return NULL;
    }
    if (rd_kafka_conf_set(kconf, "auto.offset.reset", "error", err,
                          sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(kconf, "client.id", BENCH_PROG, err, sizeof err) !=
            RD_KAFKA_CONF_OK) {
        BATON_ERROR(SUBSYS, "%s", err);
        rd_kafka_conf_destroy(kconf);
        return NULL;
    }
    if (!(rk = baton_kafka_new(kconf, BATON_KAFKA_CONSUMER, err, sizeof err)))
        BATON_ERROR(SUBSYS, "%s", err);
    return rk;
}

static rd_kafka_t *bench_producer_new(bench_t *b) {
    char err[512];
    rd_kafka_conf_t *kconf;
    rd_kafka_t *rk;

    if (!(kconf = baton_kafka_conf_new(b->conf, BATON_KAFKA_PRODUCER, NULL, err,
                                       sizeof err))) {
        BATON_ERROR(SUBSYS, "%s", err);
        return NULL;
    }
    if (rd_kafka_conf_set(kconf, "client.id", BENCH_PROG, err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
        BATON_ERROR(SUBSYS, "%s", err);
        rd_kafka_conf_destroy(kconf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(kconf, b);
    rd_kafka_conf_set_dr_msg_cb(kconf, bench_on_delivery);
    if (!(rk = baton_kafka_new(kconf, BATON_KAFKA_PRODUCER, err, sizeof err)))
        BATON_ERROR(SUBSYS, "%s", err);
    return rk;
}

/* ---- percentiles -------------------------------------------------------------- */

static int bench_cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..1] of n sorted values, in ms. */
static double bench_pct_ms(const int64_t *sorted_us, size_t n, double q) {
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return (double)sorted_us[rank - 1] / 1000.0;
}

/* ---- phase 1: hop latency ------------------------------------------------------- */

/* Makes sure the scratch topic exists: a producer's metadata request asks
 * the broker to auto-create it; if that does not happen, the Admin API
 * creates it.  Returns 0 or -1 (logged). */
static int bench_hop_topic_ensure(bench_t *b) {
    char err[512];
    int64_t until = baton_mono_us() + BENCH_TOPIC_WAIT_US;
    int created = 0;

    for (;;) {
        int32_t cnt = baton_kafka_partition_count(
            b->producer, b->hop_topic, BENCH_META_TIMEOUT_MS, err, sizeof err);
        if (cnt > 0) return 0;
        if (bench_stop || baton_mono_us() >= until ||
            baton_mono_us() >= b->deadline_us) {
            BATON_ERROR(SUBSYS, "scratch topic %s: %s", b->hop_topic, err);
            return -1;
        }
        if (!created && baton_mono_us() + BENCH_TOPIC_WAIT_US / 2 >= until) {
            /* Auto-creation did not happen in half the wait: ask for it. */
            rd_kafka_NewTopic_t *nt =
                rd_kafka_NewTopic_new(b->hop_topic, 1, -1, err, sizeof err);
            rd_kafka_queue_t *q = rd_kafka_queue_new(b->producer);
            rd_kafka_event_t *ev;
            created = 1;
            BATON_INFO(SUBSYS, "creating scratch topic %s", b->hop_topic);
            if (nt) {
                rd_kafka_CreateTopics(b->producer, &nt, 1, NULL, q);
                if ((ev = rd_kafka_queue_poll(q, BENCH_META_TIMEOUT_MS))) {
                    const rd_kafka_CreateTopics_result_t *res =
                        rd_kafka_event_CreateTopics_result(ev);
                    size_t n = 0;
                    const rd_kafka_topic_result_t **tr =
                        res ? rd_kafka_CreateTopics_result_topics(res, &n)
                            : NULL;
                    if (rd_kafka_event_error(ev))
                        BATON_WARN(SUBSYS, "creating %s: %s", b->hop_topic,
                                   rd_kafka_event_error_string(ev));
                    else if (n == 1 && rd_kafka_topic_result_error(tr[0]) &&
                             rd_kafka_topic_result_error(tr[0]) !=
                                 RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                        BATON_WARN(SUBSYS, "creating %s: %s", b->hop_topic,
                                   rd_kafka_topic_result_error_string(tr[0]));
                    rd_kafka_event_destroy(ev);
                } else {
                    BATON_WARN(SUBSYS, "creating %s: no answer in %d ms",
                               b->hop_topic, BENCH_META_TIMEOUT_MS);
                }
                rd_kafka_NewTopic_destroy(nt);
            } else {
                BATON_WARN(SUBSYS, "creating %s: %s", b->hop_topic, err);
            }
            rd_kafka_queue_destroy(q);
        }
        rd_kafka_poll(b->producer, 100);
    }
}

/* Measures BENCH_HOP_ROUNDS produce -> consume round trips of a
 * BENCH_HOP_MSG_LEN-byte message on partition 0 of the scratch topic, one
 * in flight at a time.  Sets hop_p50_ms/hop_p99_ms and hops_ok. */
static int bench_hops(bench_t *b) {
    rd_kafka_t *c = NULL;
    int64_t lat[BENCH_HOP_ROUNDS];
    unsigned seed = (unsigned)getpid() ^ (unsigned)baton_mono_us();
    int rc = -1;

    if (bench_hop_topic_ensure(b) || !(c = bench_consumer_new(b, "hop")) ||
        bench_assign_at_end(c, (const char *const[]){b->hop_topic}, 1, 0))
        goto out;
    for (int i = -BENCH_HOP_WARMUP; i < BENCH_HOP_ROUNDS; i++) {
        char msg[BENCH_HOP_MSG_LEN];
        int64_t t0, t1 = 0, until;
        memset(msg, '.', sizeof msg);
        snprintf(msg, sizeof msg, "baton-bench hop %d %ld ", i, (long)getpid());
        msg[strlen(msg)] = '.'; /* snprintf's NUL back to padding */
        /* A random pause first: sequential round trips otherwise lock onto
         * the consumer's fetch cycle and measure one phase of it. */
        {
            struct timespec ts = {
                0, (long)(rand_r(&seed) % BENCH_HOP_GAP_MAX_US) * 1000L};
            nanosleep(&ts, NULL);
        }
        t0 = baton_mono_us();
        until = t0 + BENCH_HOP_ROUND_TIMEOUT_US;
        if (bench_produce(b, b->hop_topic, 0, NULL, msg, sizeof msg, 0, NULL))
            goto out;
        while (!t1) {
            rd_kafka_message_t *m;
            if (bench_stop || baton_mono_us() >= until ||
                baton_mono_us() >= b->deadline_us) {
                BATON_ERROR(SUBSYS, "hop %d on %s: no round trip in time", i,
                            b->hop_topic);
                goto out;
            }
            rd_kafka_poll(b->producer, 0);
            if (!(m = rd_kafka_consumer_poll(c, 100))) continue;
            if (m->err)
                BATON_WARN(SUBSYS, "hop consumer: %s",
                           rd_kafka_message_errstr(m));
            else if (m->len == sizeof msg &&
                     !memcmp(m->payload, msg, sizeof msg))
                t1 = baton_mono_us();
            rd_kafka_message_destroy(m);
        }
        if (i >= 0) lat[i] = t1 - t0;
    }
    qsort(lat, BENCH_HOP_ROUNDS, sizeof lat[0], bench_cmp_i64);
    b->hop_p50_ms = bench_pct_ms(lat, BENCH_HOP_ROUNDS, 0.50);
    b->hop_p99_ms = bench_pct_ms(lat, BENCH_HOP_ROUNDS, 0.99);
    b->hops_ok = 1;
    rc = 0;
out:
    if (c) {
        rd_kafka_consumer_close(c);
        rd_kafka_destroy(c);
    }
    return rc;
}

/* ---- phase 2: the run ------------------------------------------------------------ */

/* Starts run workflows while fewer than C are in flight. */
static void bench_fill(bench_t *b) {
    while (b->inflight < b->o.concurrency && b->next < b->o.workflows &&
           !bench_stop && baton_mono_us() < b->deadline_us)
        bench_start(b, &b->wfs[b->next++], b->o.type, b->o.input);
}

/* This process's user + system CPU seconds so far (all threads), or -1. */
static double bench_cpu_s(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return -1;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* --stall: true (logged once) when no workflow has closed for stall_s
 * seconds while some are in flight. */
static int bench_stalled(bench_t *b) {
    int64_t since =
        b->last_close_us > b->run_start_us ? b->last_close_us : b->run_start_us;
    if (b->stalled) return 1;
    if (b->o.stall_s <= 0 || b->inflight == 0 ||
        baton_mono_us() - since < b->o.stall_s * 1000000LL)
        return 0;
    BATON_ERROR(SUBSYS,
                "stalled: no workflow closed for %" PRId64 " s with %" PRId64
                " in flight (%" PRId64 " of %" PRId64 " closed)",
                b->o.stall_s, b->inflight, b->closed, b->o.workflows);
    b->stalled = 1;
    return 1;
}

static void bench_run(bench_t *b) {
    double cpu0, cpu1;
    b->run_cpu_s = -1;
    if (!b->o.workflows) return;
    cpu0 = bench_cpu_s();
    BATON_INFO(SUBSYS,
               "running %" PRId64 " workflows of %s, %" PRId64
               " in flight, ids %s-<i>",
               b->o.workflows, b->o.type, b->o.concurrency, b->o.id_prefix);
    b->run_start_us = baton_mono_us();
    bench_fill(b);
    while (b->closed < b->o.workflows && !bench_stop &&
           baton_mono_us() < b->deadline_us && !bench_stalled(b)) {
        bench_drain(b, BENCH_POLL_MS, bench_fill);
        bench_fill(b);
    }
    b->run_end_us =
        b->closed == b->o.workflows ? b->last_close_us : baton_mono_us();
    if (b->run_end_us < b->run_start_us) b->run_end_us = baton_mono_us();
    rd_kafka_flush(b->producer, BENCH_FLUSH_MS);
    rd_kafka_poll(b->producer, 0);
    cpu1 = bench_cpu_s();
    if (cpu0 >= 0 && cpu1 >= 0) b->run_cpu_s = cpu1 - cpu0;
}

/* ---- phase 3: memory probe -------------------------------------------------------- */

/* used_memory from INFO memory, or -1 (logged). */
static int64_t bench_redis_used_memory(bench_t *b) {
    redisReply *r = redisCommand(b->redis, "INFO memory");
    int64_t v = -1;
    if (!r) {
        BATON_ERROR(SUBSYS, "Redis INFO memory: %s", b->redis->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_STRING) {
        const char *p = r->str;
        while (p && strncmp(p, "used_memory:", 12)) {
            p = strchr(p, '\n');
            if (p) p++;
        }
        if (p) v = strtoll(p + 12, NULL, 10);
    }
    if (v < 0)
        BATON_ERROR(SUBSYS, "Redis INFO memory: no used_memory in the reply");
    freeReplyObject(r);
    return v;
}

/* 1 when a snapshot JSON says the run waits for a signal. */
static int bench_snapshot_waits_signal(const char *text, size_t len) {
    json_t *root = json_loadb(text, len, 0, NULL), *pk;
    int yes;
    if (!root) return 0;
    pk = json_object_get(root, "pk");
    yes = json_is_string(pk) && !strcmp(json_string_value(pk), "signal");
    json_decref(root);
    return yes;
}

/* GETs the snapshots of the probe workflows not yet known to wait, in
 * pipelined chunks, and marks those that wait for a signal.  Returns 0, or
 * -1 on a Redis error (logged). */
static int bench_probe_scan(bench_t *b, bench_wf_t *probe, int64_t m,
                            int32_t nparts) {
    char key[BENCH_ID_MAX + 64];
    int64_t i = 0;
    while (i < m) {
        int64_t idx[BENCH_PROBE_CHUNK];
        int n = 0;
        for (; i < m && n < BENCH_PROBE_CHUNK; i++) {
            bench_wf_t *w = &probe[i];
            if (w->waiting || w->phase != WF_RUNNING) continue;
            baton_keys_wf(key, sizeof key, baton_conf_key_prefix(b->conf),
                          baton_partition_for(w->id, nparts), w->id);
            redisAppendCommand(b->redis, "GET %s", key);
            idx[n++] = i;
        }
        for (int k = 0; k < n; k++) {
            redisReply *r = NULL;
            if (redisGetReply(b->redis, (void **)&r) != REDIS_OK || !r) {
                BATON_ERROR(SUBSYS, "Redis GET of a snapshot: %s",
                            b->redis->errstr);
                return -1;
            }
            if (r->type == REDIS_REPLY_STRING &&
                bench_snapshot_waits_signal(r->str, r->len)) {
                probe[idx[k]].waiting = 1;
                b->probe_waiting++;
            }
            freeReplyObject(r);
        }
    }
    return 0;
}

/* MEMORY USAGE <key> SAMPLES 0 of the wf (hist = 0) or hist (hist = 1) keys
 * of up to BENCH_PROBE_SAMPLE waiting probe workflows: mean into *avg, count
 * of keys found into *found.  Returns 0 or -1 (logged). */
static int bench_probe_usage(bench_t *b, bench_wf_t *probe, int64_t m,
                             int32_t nparts, int hist, double *avg,
                             int *found) {
    char key[BENCH_ID_MAX + 64];
    int n = 0;
    int64_t sum = 0;
    *found = 0;
    for (int64_t i = 0; i < m && n < BENCH_PROBE_SAMPLE; i++) {
        if (!probe[i].waiting) continue;
        int32_t p = baton_partition_for(probe[i].id, nparts);
        if (hist)
            baton_keys_hist(key, sizeof key, baton_conf_key_prefix(b->conf), p,
                            probe[i].id);
        else
            baton_keys_wf(key, sizeof key, baton_conf_key_prefix(b->conf), p,
                          probe[i].id);
        redisAppendCommand(b->redis, "MEMORY USAGE %s SAMPLES 0", key);
        n++;
    }
    for (int k = 0; k < n; k++) {
        redisReply *r = NULL;
        if (redisGetReply(b->redis, (void **)&r) != REDIS_OK || !r) {
            BATON_ERROR(SUBSYS, "Redis MEMORY USAGE: %s", b->redis->errstr);
            return -1;
        }
        if (r->type == REDIS_REPLY_INTEGER) {
            sum += r->integer;
            (*found)++;
        } else if (r->type == REDIS_REPLY_ERROR) {
            BATON_WARN(SUBSYS, "Redis MEMORY USAGE: %s", r->str);
        }
        freeReplyObject(r);
    }
    *avg = *found ? (double)sum / *found : 0.0;
    return 0;
}

static void bench_probe(bench_t *b) {
    bench_wf_t *probe = &b->wfs[b->o.workflows];
    int64_t m = b->o.probe, until, started = 0;
    int32_t nparts;
    char err[512];

    if (!m || bench_stop) return;
    BATON_INFO(SUBSYS, "memory probe: %" PRId64 " workflows of %s", m,
               b->o.signal_type);
    if (!(b->redis = baton_redis_connect_conf(b->conf, BENCH_META_TIMEOUT_MS,
                                              err, sizeof err))) {
        BATON_ERROR(SUBSYS, "%s", err);
        return;
    }
    nparts = b->command_partitions;
    if ((b->mem_before = bench_redis_used_memory(b)) < 0) return;

    for (int64_t i = 0; i < m && !bench_stop; i++) {
        bench_start(b, &probe[i], b->o.signal_type, "{}");
        if (i % 256 == 255) bench_drain(b, 0, NULL);
    }
    rd_kafka_flush(b->producer, BENCH_FLUSH_MS);

    /* Wait for every snapshot to wait for its signal. */
    while (b->probe_waiting + b->probe_closed < m && !bench_stop &&
           baton_mono_us() < b->deadline_us) {
        int64_t next_scan = baton_mono_us() + BENCH_PROBE_POLL_US;
        if (bench_probe_scan(b, probe, m, nparts)) break;
        while (baton_mono_us() < next_scan) bench_drain(b, BENCH_POLL_MS, NULL);
    }
    if (b->probe_waiting < m) {
        BATON_ERROR(SUBSYS,
                    "memory probe: %" PRId64 " of %" PRId64
                    " workflows of %s reached the signal wait (%" PRId64
                    " closed before)",
                    b->probe_waiting, m, b->o.signal_type, b->probe_closed);
    } else {
        until = baton_mono_us() + BENCH_PROBE_SETTLE_US;
        while (baton_mono_us() < until) bench_drain(b, BENCH_POLL_MS, NULL);
        if ((b->mem_after = bench_redis_used_memory(b)) >= 0 &&
            !bench_probe_usage(b, probe, m, nparts, 0, &b->snapshot_bytes_avg,
                               &b->snapshot_bytes_n) &&
            !bench_probe_usage(b, probe, m, nparts, 1, &b->history_bytes_avg,
                               &b->history_bytes_n))
            b->probe_ok = 1;
    }

    /* Close them all, so the probe leaves nothing waiting behind. */
    for (int64_t i = 0; i < m; i++) {
        if (probe[i].phase != WF_RUNNING) continue;
        bench_send_command(b, &probe[i], BATON_CMD_CANCEL, NULL, NULL);
        if (i % 256 == 255) bench_drain(b, 0, NULL);
    }
    rd_kafka_flush(b->producer, BENCH_FLUSH_MS);
    until = baton_mono_us() + BENCH_CANCEL_GRACE_US;
    if (until < b->deadline_us) until = b->deadline_us;
    for (int64_t i = 0; i < m; i++) started += probe[i].phase != WF_IDLE;
    while (b->probe_closed < started && !bench_stop && baton_mono_us() < until)
        bench_drain(b, BENCH_POLL_MS, NULL);
    if (b->probe_closed < m)
        BATON_WARN(SUBSYS,
                   "memory probe: %" PRId64 " of %" PRId64
                   " workflows closed after CANCEL",
                   b->probe_closed, m);
}

/* ---- report ------------------------------------------------------------------------ */

static double bench_round3(double v) {
    return round(v * 1000.0) / 1000.0;
}

static void bench_field_int_opt(bench_field_t *f, int *n, const char *name,
                                int64_t v, int valid) {
    f[*n] =
        (bench_field_t){.name = name, .kind = valid ? BF_INT : BF_NULL, .i = v};
    (*n)++;
}

static void bench_field_int(bench_field_t *f, int *n, const char *name,
                            int64_t v) {
    bench_field_int_opt(f, n, name, v, 1);
}

static void bench_field_real(bench_field_t *f, int *n, const char *name,
                             double v, int valid) {
    f[*n] = (bench_field_t){
        .name = name, .kind = valid ? BF_REAL : BF_NULL, .d = bench_round3(v)};
    (*n)++;
}

static void bench_field_str(bench_field_t *f, int *n, const char *name,
                            const char *s) {
    f[*n] = (bench_field_t){.name = name, .kind = BF_STR, .s = s};
    (*n)++;
}

static void bench_json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void bench_print(const bench_field_t *f, int n, int json, FILE *out) {
    if (json) fputc('{', out);
    for (int i = 0; i < n; i++) {
        if (json) {
            if (i) fputc(',', out);
            bench_json_string(out, f[i].name);
            fputc(':', out);
        } else {
            fprintf(out, "%-34s ", f[i].name);
        }
        switch (f[i].kind) {
        case BF_INT: fprintf(out, "%" PRId64, f[i].i); break;
        case BF_REAL: fprintf(out, "%.3f", f[i].d); break;
        case BF_NULL: fputs(json ? "null" : "-", out); break;
        case BF_STR:
            if (json)
                bench_json_string(out, f[i].s);
            else
                fputs(f[i].s, out);
            break;
        }
        if (!json) fputc('\n', out);
    }
    if (json) fputs("}\n", out);
    fflush(out);
}

/* Prints the result and returns the exit status. */
static int bench_report(bench_t *b) {
    bench_field_t f[BENCH_MAX_FIELDS];
    int n = 0, ok;
    int64_t *lat = NULL;
    size_t nlat = 0;
    double dur_s = 0, p50 = 0, p99 = 0;
    int64_t failed = b->closed - b->completed;
    int64_t hops_per_wf = 2 * b->o.steps + 2;

    if (b->completed > 0 &&
        (lat = baton_malloc((size_t)b->completed * sizeof *lat))) {
        for (int64_t i = 0; i < b->o.workflows; i++) {
            const bench_wf_t *w = &b->wfs[i];
            if (w->phase == WF_CLOSED && w->close_kind == CLOSE_COMPLETED &&
                nlat < (size_t)b->completed)
                lat[nlat++] = w->close_us - w->start_us;
        }
        qsort(lat, nlat, sizeof *lat, bench_cmp_i64);
        p50 = bench_pct_ms(lat, nlat, 0.50);
        p99 = bench_pct_ms(lat, nlat, 0.99);
    }
    if (b->run_end_us > b->run_start_us)
        dur_s = (double)(b->run_end_us - b->run_start_us) / 1e6;

    bench_field_int(f, &n, "workflows", b->o.workflows);
    bench_field_int(f, &n, "completed", b->completed);
    bench_field_int(f, &n, "failed", failed);
    bench_field_int(f, &n, "timed_out", b->o.workflows - b->closed);
    bench_field_int(f, &n, "stalled", b->stalled);
    bench_field_real(f, &n, "duration_s", dur_s, 1);
    bench_field_real(f, &n, "workflows_per_s",
                     dur_s > 0 ? (double)b->completed / dur_s : 0, 1);
    bench_field_real(
        f, &n, "steps_per_s",
        dur_s > 0 ? (double)(b->completed * b->o.steps) / dur_s : 0, 1);
    bench_field_real(f, &n, "e2e_ms_p50", p50, nlat > 0);
    bench_field_real(f, &n, "e2e_ms_p99", p99, nlat > 0);
    bench_field_real(f, &n, "cpu_s", b->run_cpu_s, b->run_cpu_s >= 0);
    bench_field_int(f, &n, "duplicate_events", b->duplicate_events);
    bench_field_int(f, &n, "double_completions", b->double_completions);
    if (b->o.hops) {
        bench_field_real(f, &n, "hop_ms_p50", b->hop_p50_ms, b->hops_ok);
        bench_field_real(f, &n, "hop_ms_p99", b->hop_p99_ms, b->hops_ok);
        bench_field_int(f, &n, "hops_per_workflow", hops_per_wf);
        bench_field_real(f, &n, "baton_overhead_ms_p50",
                         p50 - (double)hops_per_wf * b->hop_p50_ms,
                         b->hops_ok && nlat > 0);
    }
    if (b->o.probe) {
        int mem = b->probe_ok;
        bench_field_int(f, &n, "memory_probe_workflows", b->o.probe);
        bench_field_int(f, &n, "memory_probe_waiting", b->probe_waiting);
        bench_field_int_opt(f, &n, "memory_used_before_bytes", b->mem_before,
                            b->mem_before > 0);
        bench_field_int_opt(f, &n, "memory_used_after_bytes", b->mem_after,
                            mem);
        bench_field_real(
            f, &n, "memory_per_waiting_workflow_bytes",
            (double)(b->mem_after - b->mem_before) / (double)b->o.probe, mem);
        bench_field_real(f, &n, "snapshot_bytes_avg", b->snapshot_bytes_avg,
                         mem && b->snapshot_bytes_n > 0);
        bench_field_real(f, &n, "history_bytes_avg", b->history_bytes_avg,
                         mem && b->history_bytes_n > 0);
        bench_field_int(f, &n, "memory_probe_closed", b->probe_closed);
    }
    bench_field_str(f, &n, "type", b->o.type);
    bench_field_int(f, &n, "concurrency", b->o.concurrency);
    bench_field_int(f, &n, "steps", b->o.steps);
    bench_field_str(f, &n, "id_prefix", b->o.id_prefix);
    bench_field_int(f, &n, "rejected", b->rejected);
    bench_field_int(f, &n, "produce_errors", b->produce_errors);
    bench_field_int(f, &n, "events_lost", b->events_lost);
    bench_field_int(f, &n, "undecodable_events", b->undecodable_events);
    bench_print(f, n, b->o.json, stdout);
    baton_free(lat);

    ok = b->completed == b->o.workflows && b->double_completions == 0 &&
         b->events_lost == 0 && !bench_stop && !b->stalled &&
         (!b->o.hops || b->hops_ok) && (!b->o.probe || b->probe_ok);
    return ok ? BATON_CLI_EXIT_OK : BATON_CLI_EXIT_FAIL;
}

/* ---- setup and teardown -------------------------------------------------------------- */

static int bench_setup(bench_t *b) {
    char err[512];

    int rc =
        baton_cli_conf_load(BENCH_PROG, b->o.config_path, &b->o.sets, &b->conf);
    if (rc) return rc;
    baton_topic(b->conf, "commands", b->commands_topic,
                sizeof b->commands_topic);
    baton_topic(b->conf, "events", b->events_topic, sizeof b->events_topic);
    baton_topic(b->conf, "bench.hop", b->hop_topic, sizeof b->hop_topic);
    baton_topic(b->conf, "dlq", b->dlq_topic, sizeof b->dlq_topic);

    if (bench_wfs_init(b)) return bench_fail("out of memory");
    if (!(b->codec = baton_codec_new(err, sizeof err)))
        return bench_fail("%s", err);
    if (!(b->producer = bench_producer_new(b)) ||
        !(b->consumer = bench_consumer_new(b, "events")))
        return BATON_CLI_EXIT_FAIL;
    /* Connect the producer and check the commands topic before the clock
     * starts, so the first workflows do not pay for connection setup. */
    if ((b->command_partitions = bench_topic_partitions(
             b->producer, b->commands_topic, err, sizeof err)) < 1)
        return bench_fail("%s", err);
    if (bench_assign_at_end(
            b->consumer, (const char *const[]){b->events_topic, b->dlq_topic},
            2, -1))
        return BATON_CLI_EXIT_FAIL;
    return 0;
}

static void bench_teardown(bench_t *b) {
    if (b->consumer) {
        rd_kafka_consumer_close(b->consumer);
        rd_kafka_destroy(b->consumer);
    }
    if (b->producer) {
        rd_kafka_flush(b->producer, BENCH_FLUSH_MS);
        rd_kafka_destroy(b->producer);
    }
    if (b->redis) redisFree(b->redis);
    baton_codec_destroy(b->codec);
    bench_wfs_free(b);
    baton_conf_destroy(b->conf);
    baton_cli_sets_clear(&b->o.sets);
}

int main(int argc, char **argv) {
    bench_t b = {0};
    struct sigaction sa = {0};
    int rc;

    baton_log_set_program(BENCH_PROG);
    if ((rc = bench_parse_args(&b.o, argc, argv)) || b.o.help) {
        if (b.o.help) bench_usage();
        baton_cli_sets_clear(&b.o.sets);
        return rc;
    }
    sa.sa_handler = bench_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    b.deadline_us = baton_mono_us() + b.o.timeout_s * 1000000LL;

    if (!(rc = bench_setup(&b))) {
        if (b.o.hops) bench_hops(&b);
        bench_run(&b);
        bench_probe(&b);
        rc = bench_report(&b);
    }
    bench_teardown(&b);
    return rc;
}
