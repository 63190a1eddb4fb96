/*
 * main.c -- baton-bridge: turns events on users' own Kafka topics into
 * Baton commands (DESIGN.md "baton-bridge", docs/bridge.md).
 *
 *   baton-bridge [--config FILE] [--triggers DIR] [--set KEY=VALUE]...
 *                [--check]
 *
 * Loads configuration like every Baton binary (config.h: file, BATON_*
 * environment, flags; the bridge.* keys), loads and validates every
 * trigger of bridge.triggers.dir (trigger.h; --check stops there, exit 0
 * when all are valid, format avro schema files included), then runs the Kafka loop (loop.h) until SIGTERM or
 * SIGINT: it then finishes what is in flight, commits, and exits 0.  Exit
 * 1 on a configuration, trigger or Kafka error, or when a command was
 * refused for good (its source offset stays uncommitted); 2 on usage
 * errors.  Stateless: run more of them to share the source partitions.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bridge_metrics.h"
#include "config.h"
#include "loop.h"
#include "notify.h"
#include "schema_registry.h"
#include "trigger.h"

#define PROG "baton-bridge"
#define DRAIN_TIMEOUT_MS 30000

static volatile sig_atomic_t bridge_stop;

static void bridge_on_signal(int sig) {
    (void)sig;
    bridge_stop = 1;
}

static void bridge_usage(FILE *out) {
    fprintf(out,
            "Usage: %s [--config FILE] [--triggers DIR] [--set KEY=VALUE]... "
            "[--check]\n"
            "Turns events on your own Kafka topics into Baton commands, one "
            "trigger\nfile per rule (docs/bridge.md).  --check validates the "
            "triggers and exits.\n\nConfiguration keys:\n",
            PROG);
    baton_conf_print_keys(out);
}

/* Loads the configuration; returns -1 to go on, else the exit code. */
static int bridge_args(baton_conf_t *conf, int argc, char **argv, int *check) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"triggers", required_argument, NULL, 't'},
        {"set", required_argument, NULL, 's'},
        {"check", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *config = NULL;
    char err[1024];
    int c;
    while ((c = getopt_long(argc, argv, "c:t:s:kh", opts, NULL)) != -1) {
        if (c == 'c') config = optarg;
        if (c == 'h' || c == '?') {
            bridge_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
        return 2;
    }
    if (baton_conf_load_default(conf, config, err, sizeof err)) {
        BATON_ERROR("main", "%s", err);
        return 1;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:t:s:kh", opts, NULL)) != -1) {
        baton_err_t rc = BATON_OK;
        char *eq;
        if (c == 't')
            rc = baton_conf_set(conf, "bridge.triggers.dir", optarg, err,
                                sizeof err);
        else if (c == 'k')
            *check = 1;
        else if (c == 's') {
            if (!(eq = strchr(optarg, '='))) {
                BATON_ERROR("main", "--set wants KEY=VALUE, got '%s'", optarg);
                return 2;
            }
            *eq = '\0';
            rc = baton_conf_set(conf, optarg, eq + 1, err, sizeof err);
            *eq = '=';
        }
        if (rc) {
            BATON_ERROR("main", "%s", err);
            return 1;
        }
    }
    if (baton_log_configure(baton_conf_get(conf, "log.level"),
                            baton_conf_get(conf, "log.debug"))) {
        BATON_ERROR("main", "bad log.level '%s'",
                    baton_conf_get(conf, "log.level"));
        return 1;
    }
    return -1;
}

static int bridge_run(baton_conf_t *conf, baton_trigger_t **trig, size_t n) {
    baton_bridge_t *b = NULL;
    baton_notify_t *nt;
    baton_bridge_metrics_t *bm = NULL;
    char err[1024];
    int64_t cmds, unmatched, dlq;
    int rc = 0;
    if (baton_bridge_metrics_new(conf, &bm, err, sizeof err) ||
        baton_bridge_new(conf, trig, n, baton_bridge_metrics_kafka(bm), &b, err,
                         sizeof err)) {
        BATON_ERROR("main", "%s", err);
        baton_bridge_destroy(b);
        baton_bridge_metrics_destroy(bm);
        return 1;
    }
    BATON_INFO("main", "running %zu trigger(s)", n);
    nt = baton_notify_new(); /* systemd: ready, watchdog, stopping */
    baton_notify_ready(nt, "running");
    while (!bridge_stop) {
        if (baton_bridge_run_once(b)) {
            rc = 1;
            break;
        }
        baton_bridge_metrics_tick(bm, b);
        baton_notify_watchdog(nt);
    }
    baton_notify_stopping(nt);
    baton_notify_destroy(nt);
    BATON_INFO("main", "stopping: finishing what is in flight");
    if (baton_bridge_drain(b, DRAIN_TIMEOUT_MS)) rc = 1;
    baton_bridge_stats(b, &cmds, &unmatched, &dlq);
    BATON_INFO("main",
               "stopped: %lld command(s), %lld unmatched, %lld to the DLQ",
               (long long)cmds, (long long)unmatched, (long long)dlq);
    baton_bridge_destroy(b);
    baton_bridge_metrics_destroy(bm);
    return rc;
}

/* --check of a format avro trigger: its schema files parse.  0 or 1. */
static int bridge_check_schemas(const baton_trigger_t *t) {
    baton_sreg_conf_t sc = {.cache_max = 1};
    baton_sreg_t *r = NULL;
    char err[1024];
    int rc = 0;
    if (!t->navro_schemas) return 0;
    if (baton_sreg_new(&sc, &r, err, sizeof err)) rc = 1;
    for (size_t k = 0; !rc && k < t->navro_schemas; k++)
        if (baton_sreg_add_file(r, t->avro_schemas[k], err, sizeof err)) rc = 1;
    if (rc) BATON_ERROR("main", "%s: %s", t->file, err);
    baton_sreg_destroy(r);
    return rc;
}

int main(int argc, char **argv) {
    baton_conf_t *conf = baton_conf_new();
    baton_trigger_t **trig = NULL;
    size_t n = 0;
    char err[1024];
    int rc, check = 0;

    baton_log_set_program(PROG);
    if (!conf) return 1;
    if ((rc = bridge_args(conf, argc, argv, &check)) >= 0) {
        baton_conf_destroy(conf);
        return rc;
    }
    if (baton_trigger_load_dir(baton_conf_get(conf, "bridge.triggers.dir"),
                               baton_conf_get(conf, "bridge.group.prefix"),
                               &trig, &n, err, sizeof err)) {
        BATON_ERROR("main", "%s", err);
        baton_conf_destroy(conf);
        return 1;
    }
    if (check) {
        rc = 0;
        for (size_t i = 0; i < n; i++) {
            if (bridge_check_schemas(trig[i])) {
                rc = 1;
                continue;
            }
            printf("%s: ok (trigger %s, group %s)\n", trig[i]->file,
                   trig[i]->name, trig[i]->group);
        }
    } else {
        signal(SIGTERM, bridge_on_signal);
        signal(SIGINT, bridge_on_signal);
        signal(SIGPIPE, SIG_IGN);
        rc = bridge_run(conf, trig, n);
    }
    baton_trigger_list_destroy(trig, n);
    baton_conf_destroy(conf);
    return rc;
}
