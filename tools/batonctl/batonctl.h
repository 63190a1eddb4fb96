/*
 * batonctl.h -- what the files of batonctl share: the parsed command line,
 * the state of one invocation (ctl_t), the command table entry, the output
 * helpers, and the Kafka and Redis access every command group uses.
 *
 * The files (tools/batonctl/):
 *   main.c            main(): parse, configure, dispatch, clean up, exit
 *   args.c            the command table, --help, argument parsing
 *   output.c          text (aligned fields, tables) and JSON rendering
 *   client_io.c       the baton_client handle (client/client.h): sending,
 *                     reading; its failures printed
 *   cmd_run.c         start, signal, cancel, terminate
 *   cmd_inspect.c     describe, result, history, list
 *   cmd_lag.c         lag
 *   cmd_definition.c  validate, graph (offline)
 *   cmd_watch.c       watch (live model output, common/keys.h)
 *   cmd_dlq.c         dlq, dlq replay (the DLQ records, common/dlq.h)
 *   cmd_worker_check.c  worker-check (client/client_conformance.c)
 * The behaviour is documented in docs/batonctl.md; the exit codes and
 * diagnostics are common/cli.h's.
 *
 * Every command that talks to Kafka or Redis calls baton_client
 * (client/client.h), which returns JSON values; batonctl renders them.
 *
 * Thread: single-threaded, except librdkafka's own threads (baton_client).
 */
#ifndef BATON_BATONCTL_H
#define BATON_BATONCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "cli.h"
#include "client.h"
#include "codec.h"
#include "config.h"

#define CTL_PROG "batonctl"
#define CTL_ID_MAX BATON_CLIENT_ID_MAX /* workflow ids: 1..256 bytes */

/* batonctl's diagnostics: "batonctl: <message>" on stderr (cli.h). */
#define ctl_fail(...) baton_cli_fail(CTL_PROG, __VA_ARGS__)
#define ctl_usage_error(...) baton_cli_usage_error(CTL_PROG, __VA_ARGS__)

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
    CTL_O_STEP = 1 << 9,
    CTL_O_FROM = 1 << 10,
    CTL_O_TO = 1 << 11,
    CTL_O_BUDGET = 1 << 12,
    CTL_O_DEFINITION = 1 << 13,
};

typedef struct ctl ctl_t;
typedef int (*ctl_cmd_fn_t)(ctl_t *ctl);

typedef struct ctl_cmd {
    const char *name;
    const char *synopsis; /* after the name, for --help */
    int npos;             /* positional arguments after the name; -1: one
                             or more (o.args); -2: any number (o.args) */
    unsigned opts;        /* CTL_O_* accepted */
    ctl_cmd_fn_t fn;
    const char *help;
    int offline; /* needs no configuration, Kafka or Redis */
} ctl_cmd_t;

typedef struct ctl_opts {
    const ctl_cmd_t *cmd;
    const char *pos[4];
    int npos;
    char **args; /* npos -1: all the positional arguments */
    int nargs;
    int graph;               /* describe --graph */
    const char *highlight;   /* graph --highlight STATE */
    const char *step, *from; /* watch --step SEQ --from STREAM_ID */
    const char *to;          /* dlq replay --to TOPIC */
    const char *budget;      /* start --budget JSON */
    int definition;          /* worker-check --definition */
    unsigned given;          /* CTL_O_* seen on the command line */
    const char *config_path;
    int json_out;      /* -o json */
    int json_envelope; /* --json: send the JSON envelope */
    int timeout_ms;    /* -t: Kafka delivery / metadata / Redis connect */
    const char *id, *input, *payload, *reason, *status;
    double wait_s;
    baton_cli_sets_t sets; /* -b, -r, -X in command-line order */
    int help;
} ctl_opts_t;

struct ctl {
    ctl_opts_t o;
    baton_conf_t *conf;
    baton_client_t *client; /* on conf, made once configured */
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

/* ---- args.c: the command line -------------------------------------------- */

void ctl_usage(FILE *fp);
int ctl_parse_args(ctl_opts_t *o, int argc, char **argv);
void ctl_opts_clear(ctl_opts_t *o);

/* ---- the commands (cmd_*.c); each returns an exit code ------------------- */

int ctl_cmd_start(ctl_t *ctl);
int ctl_cmd_signal(ctl_t *ctl);
int ctl_cmd_cancel(ctl_t *ctl);
int ctl_cmd_terminate(ctl_t *ctl);
int ctl_cmd_describe(ctl_t *ctl);
int ctl_cmd_result(ctl_t *ctl);
int ctl_cmd_history(ctl_t *ctl);
int ctl_cmd_list(ctl_t *ctl);
int ctl_cmd_lag(ctl_t *ctl);
int ctl_cmd_validate(ctl_t *ctl);
int ctl_cmd_graph(ctl_t *ctl);
int ctl_cmd_watch(ctl_t *ctl);
int ctl_cmd_dlq(ctl_t *ctl);
int ctl_cmd_doctor(ctl_t *ctl);
int ctl_cmd_worker_check(ctl_t *ctl);

/* ---- output.c ------------------------------------------------------------ */

int ctl_print_json(const json_t *v);
int ctl_print_fields(const json_t *obj, const ctl_field_t *f, size_t nf);
int ctl_print_table(const json_t *rows, const ctl_field_t *f, size_t nf);

/* ---- client_io.c --------------------------------------------------------- */

int ctl_client_open(ctl_t *ctl);
int ctl_client_fail(const char *errstr);
int ctl_print_sent(ctl_t *ctl, json_t *sent);
int ctl_redis(ctl_t *ctl);
__attribute__((format(printf, 3, 4))) redisReply *
ctl_redis_cmd(ctl_t *ctl, const char *what, const char *fmt, ...);
int ctl_snapshot_get(ctl_t *ctl, const char *id, int scan, json_t **out);
const char *ctl_snap_status(const json_t *snap);

#endif
