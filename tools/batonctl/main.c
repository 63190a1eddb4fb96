/*
 * main.c -- batonctl, the operator CLI: start, signal, cancel and terminate
 * workflows, look at them (describe, result, history, list) and at the
 * backlog of every consumer group (lag), list and replay dead-lettered
 * inputs (dlq); offline, check definition files (validate) and draw them
 * (graph).
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
 * The files of this folder are listed in batonctl.h; this one holds
 * main(): parse the command line, configure, dispatch to the command,
 * clean up, return the exit code.
 *
 * Thread: single-threaded, except librdkafka's own threads (the delivery
 * report callback runs from rd_kafka_flush on the main thread).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "batonctl.h"

/* ---- configuration ------------------------------------------------------ */

/* Loads file + environment, then the flags (cli.h); returns an exit
 * code. */
static int ctl_configure(ctl_t *ctl) {
    int rc = baton_cli_conf_load(CTL_PROG, ctl->o.config_path, &ctl->o.sets,
                                 &ctl->conf);
    if (rc) return rc;
    return ctl_client_open(ctl);
}

static void ctl_cleanup(ctl_t *ctl) {
    baton_client_destroy(ctl->client);
    baton_conf_destroy(ctl->conf);
    ctl_opts_clear(&ctl->o);
}

/* Runs the parsed command: --help, or the command after loading the
 * configuration (offline commands need none).  Returns an exit code. */
static int ctl_dispatch(ctl_t *ctl) {
    int rc;
    if (ctl->o.help) {
        ctl_usage(stdout);
        return BATON_CLI_EXIT_OK;
    }
    if (!ctl->o.cmd->offline && (rc = ctl_configure(ctl))) return rc;
    return ctl->o.cmd->fn(ctl);
}

/* rc, or a failure when stdout could not be written to the end. */
static int ctl_exit_code(int rc) {
    if (fflush(stdout) == EOF && rc == BATON_CLI_EXIT_OK)
        return ctl_fail("writing to stdout: %s", strerror(errno));
    return rc;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv) {
    ctl_t ctl;
    int rc;

    memset(&ctl, 0, sizeof ctl);
    baton_log_set_program(CTL_PROG);
    rc = ctl_parse_args(&ctl.o, argc, argv);
    if (rc == BATON_CLI_EXIT_OK) rc = ctl_dispatch(&ctl);
    ctl_cleanup(&ctl);
    return ctl_exit_code(rc);
}
