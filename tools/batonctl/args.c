/*
 * args.c -- batonctl's command line: the table of commands (name, synopsis,
 * positional arguments, options it accepts, the function that runs it),
 * --help, and the parsing of argv into ctl_opts_t.  Options may come before
 * or after the command; an option a command does not take is a usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "batonctl.h"

static const ctl_cmd_t ctl_cmds[] = {
    {"start", "TYPE [--id ID] [--input JSON] [--budget JSON] [--json]", 1,
     CTL_O_ID | CTL_O_INPUT | CTL_O_BUDGET | CTL_O_JSON, ctl_cmd_start,
     "start a workflow of definition TYPE; prints its id (--budget: "
     "{\"MaxTokens\", \"MaxCalls\", \"MaxCost\"} for its model calls)",
     0},
    {"signal", "ID NAME [--payload JSON] [--json]", 2,
     CTL_O_PAYLOAD | CTL_O_JSON, ctl_cmd_signal,
     "send signal NAME to a workflow", 0},
    {"cancel", "ID [--reason TEXT] [--json]", 1, CTL_O_REASON | CTL_O_JSON,
     ctl_cmd_cancel, "ask a workflow to cancel (Catch can handle it)", 0},
    {"terminate", "ID [--reason TEXT] [--json]", 1, CTL_O_REASON | CTL_O_JSON,
     ctl_cmd_terminate, "stop a workflow at once", 0},
    {"describe", "ID [--graph]", 1, CTL_O_GRAPH, ctl_cmd_describe,
     "status, position, state and what a workflow waits for (--graph: its "
     "definition as a Mermaid flowchart, current state marked)",
     0},
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
    {"watch", "ID [--step SEQ] [--from STREAM_ID] [--wait SECONDS]", 1,
     CTL_O_STEP | CTL_O_FROM | CTL_O_WAIT, ctl_cmd_watch,
     "follow the live output of a run's model calls (or of step SEQ, "
     "resuming after STREAM_ID); ends when the run (the step) is done",
     0},
    {"dlq", "[--wait SECONDS] | dlq replay PARTITION:OFFSET [--to TOPIC]", -2,
     CTL_O_WAIT | CTL_O_TO, ctl_cmd_dlq,
     "list the dead-letter records (--wait: up to SECONDS for a first "
     "one), or re-produce one to its source topic (or TOPIC)",
     0},
    {"graph", "FILE [--highlight STATE]", 1, CTL_O_HIGHLIGHT, ctl_cmd_graph,
     "print a definition as a Mermaid flowchart", 1},
    {"doctor", "[QUEUE...]", -2, 0, ctl_cmd_doctor,
     "check the deployment: topics, co-partitioning, Redis persistence, "
     "consumer groups (and the task topics of QUEUEs); exit 1 on a problem",
     0},
    {"worker-check", "QUEUE [--definition]", 1, CTL_O_DEFINITION,
     ctl_cmd_worker_check,
     "conformance check of the workers of QUEUE: success, retry hint, "
     "non-retryable error, heartbeats, duplicate delivery, cancel, each a run "
     "of baton.conformance.QUEUE; exit 1 on a failed case (--definition: "
     "print that workflow for batond's workflows folder)",
     0},
};

/* ---- usage -------------------------------------------------------------- */

void ctl_usage(FILE *fp) {
    fprintf(fp, "Usage: " CTL_PROG " [OPTIONS] COMMAND [ARGS]\n"
                "\n"
                "Operator CLI of Baton, durable execution on Kafka and Redis.\n"
                "\n"
                "Commands:\n");
    for (size_t i = 0; i < BATON_ARRAY_SIZE(ctl_cmds); i++)
        fprintf(fp, "  %-13s%s%s\n  %-13s   %s\n", ctl_cmds[i].name,
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
    case CTL_O_STEP: return "--step";
    case CTL_O_FROM: return "--from";
    case CTL_O_TO: return "--to";
    case CTL_O_BUDGET: return "--budget";
    case CTL_O_DEFINITION: return "--definition";
    }
    return "?";
}

/* Handles one option returned by getopt_long; returns an exit code. */
static int ctl_parse_opt(ctl_opts_t *o, int c, const char *arg) {
    double secs;
    switch (c) {
    case 'b':
        return baton_cli_sets_add(CTL_PROG, &o->sets, "kafka.bootstrap.servers",
                                  arg);
    case 'r': return baton_cli_sets_add(CTL_PROG, &o->sets, "redis.url", arg);
    case 'X': return baton_cli_sets_add_x(CTL_PROG, &o->sets, arg);
    case 'c': o->config_path = arg; return BATON_CLI_EXIT_OK;
    case 'h': o->help = 1; return BATON_CLI_EXIT_OK;
    case 'o':
        if (!strcmp(arg, "json"))
            o->json_out = 1;
        else if (!strcmp(arg, "text"))
            o->json_out = 0;
        else
            return ctl_usage_error("-o wants text or json, not '%s'", arg);
        return BATON_CLI_EXIT_OK;
    case 't':
        if (baton_cli_parse_seconds(CTL_PROG, "--timeout", arg, &secs))
            return BATON_CLI_EXIT_USAGE;
        o->timeout_ms = secs < 0.001 ? 1 : (int)(secs * 1000);
        return BATON_CLI_EXIT_OK;
    case 'I':
        o->given |= CTL_O_ID;
        o->id = arg;
        return BATON_CLI_EXIT_OK;
    case 'i':
        o->given |= CTL_O_INPUT;
        o->input = arg;
        return BATON_CLI_EXIT_OK;
    case 'j':
        o->given |= CTL_O_JSON;
        o->json_envelope = 1;
        return BATON_CLI_EXIT_OK;
    case 'p':
        o->given |= CTL_O_PAYLOAD;
        o->payload = arg;
        return BATON_CLI_EXIT_OK;
    case 'R':
        o->given |= CTL_O_REASON;
        o->reason = arg;
        return BATON_CLI_EXIT_OK;
    case 's':
        o->given |= CTL_O_STATUS;
        o->status = arg;
        return BATON_CLI_EXIT_OK;
    case 'g':
        o->given |= CTL_O_GRAPH;
        o->graph = 1;
        return BATON_CLI_EXIT_OK;
    case 'H':
        o->given |= CTL_O_HIGHLIGHT;
        o->highlight = arg;
        return BATON_CLI_EXIT_OK;
    case 'S':
        o->given |= CTL_O_STEP;
        o->step = arg;
        return BATON_CLI_EXIT_OK;
    case 'F':
        o->given |= CTL_O_FROM;
        o->from = arg;
        return BATON_CLI_EXIT_OK;
    case 'T':
        o->given |= CTL_O_TO;
        o->to = arg;
        return BATON_CLI_EXIT_OK;
    case 'B':
        o->given |= CTL_O_BUDGET;
        o->budget = arg;
        return BATON_CLI_EXIT_OK;
    case 'D':
        o->given |= CTL_O_DEFINITION;
        o->definition = 1;
        return BATON_CLI_EXIT_OK;
    case 'w':
        o->given |= CTL_O_WAIT;
        return baton_cli_parse_seconds(CTL_PROG, "--wait", arg, &o->wait_s);
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
    if (o->cmd->npos == -2 ? 0
        : o->cmd->npos < 0 ? o->npos < 1
                           : o->npos != o->cmd->npos)
        return ctl_usage_error("usage: " CTL_PROG " %s %s", o->cmd->name,
                               o->cmd->synopsis);
    o->args = argv + first + 1;
    o->nargs = o->npos;
    for (int i = 0; i < o->npos && i < 4; i++) o->pos[i] = argv[first + 1 + i];
    if ((stray = o->given & ~o->cmd->opts))
        return ctl_usage_error("%s does not apply to '%s'",
                               ctl_opt_name(stray & -stray), o->cmd->name);
    return BATON_CLI_EXIT_OK;
}

/* Fills o from argv.  Options may come before or after the command (GNU
 * getopt permutes); "--" ends them.  Returns an exit code. */
int ctl_parse_args(ctl_opts_t *o, int argc, char **argv) {
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
        {"step", required_argument, NULL, 'S'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"budget", required_argument, NULL, 'B'},
        {"definition", no_argument, NULL, 'D'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;

    o->timeout_ms = 10000;
    while ((c = getopt_long(argc, argv, "b:r:c:o:t:X:h", longopts, NULL)) != -1)
        if ((rc = ctl_parse_opt(o, c, optarg))) return rc;
    if (o->help) return BATON_CLI_EXIT_OK;
    return ctl_check_cmd(o, argc, argv, optind);
}

/* Frees what parsing allocated. */
void ctl_opts_clear(ctl_opts_t *o) {
    baton_cli_sets_clear(&o->sets);
}
