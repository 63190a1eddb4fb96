/*
 * cmd_inspect.c -- the commands that look at workflows in Redis: describe
 * (status, position, state, what it waits for; --graph its definition as a
 * Mermaid flowchart), result (waits for a closed run), history (the events)
 * and list (every snapshot, optionally by status).  baton_client builds
 * each answer (client/client_runs.c); this file renders it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "batonctl.h"

/* ---- describe ----------------------------------------------------------- */

int ctl_cmd_describe(ctl_t *ctl) {
    static const ctl_field_t fields[] = {
        {"id", "id", CTL_FMT_PLAIN},
        {"type", "type", CTL_FMT_PLAIN},
        {"version", "version", CTL_FMT_PLAIN},
        {"status", "status", CTL_FMT_PLAIN},
        {"position", "position", CTL_FMT_PLAIN},
        {"waiting", "waiting", CTL_FMT_PLAIN},
        {"state", "state", CTL_FMT_PLAIN},
        {"pending", "pending", CTL_FMT_PENDING},
        {"error", "error", CTL_FMT_PLAIN},
        {"cause", "cause", CTL_FMT_PLAIN},
        {"started", "started", CTL_FMT_TIME},
        {"closed", "closed", CTL_FMT_TIME},
        {"quarantine", "quarantine", CTL_FMT_PLAIN},
        {"budget", "budget", CTL_FMT_PLAIN},
        {"usage", "usage", CTL_FMT_PLAIN},
        {"partition", "partition", CTL_FMT_PLAIN},
    };
    char errstr[1024];
    json_t *d;
    int rc;

    if (baton_client_describe(ctl->client, ctl->o.pos[0], &d, errstr,
                              sizeof errstr) ||
        (ctl->o.graph &&
         baton_client_describe_graph(ctl->client, d, errstr, sizeof errstr))) {
        json_decref(d);
        return ctl_client_fail(errstr);
    }
    rc = ctl->o.json_out
             ? ctl_print_json(d)
             : ctl_print_fields(d, fields, BATON_ARRAY_SIZE(fields));
    if (rc == BATON_CLI_EXIT_OK && !ctl->o.json_out && ctl->o.graph)
        printf("\n%s", json_string_value(json_object_get(d, "graph")));
    json_decref(d);
    return rc;
}

/* ---- result ------------------------------------------------------------- */

/* Prints the output of a closed run (exit 0), why it did not succeed or
 * that it is still open (stderr, exit 1). */
static int ctl_result_print(ctl_t *ctl, const json_t *res) {
    const char *id = json_string_value(json_object_get(res, "id"));
    const char *st = json_string_value(json_object_get(res, "status"));
    const char *err = json_string_value(json_object_get(res, "error"));
    const char *cause = json_string_value(json_object_get(res, "cause"));
    const char *pos = json_string_value(json_object_get(res, "position"));
    char verb[32];
    size_t i;

    if (!strcmp(st, "SUCCEEDED")) {
        size_t flags =
            JSON_ENCODE_ANY | (ctl->o.json_out ? JSON_COMPACT : JSON_INDENT(2));
        if (json_dumpf(json_object_get(res, "output"), stdout, flags) ||
            fputc('\n', stdout) == EOF)
            return ctl_fail("writing to stdout failed");
        return BATON_CLI_EXIT_OK;
    }
    if (!strcmp(st, "RUNNING") || !strcmp(st, "HELD"))
        return ctl_fail("timed out after %g s, workflow %s is RUNNING at "
                        "state %s",
                        ctl->o.wait_s, id, pos ? pos : "-");
    /* "FAILED" -> "failed", "CANCELLED" -> "cancelled" ... */
    for (i = 0; i < sizeof verb - 1 && st[i]; i++)
        verb[i] = (char)tolower((unsigned char)st[i]);
    verb[i] = '\0';
    return ctl_fail("workflow %s %s: %s: %s", id, verb, err ? err : "-",
                    cause ? cause : "-");
}

int ctl_cmd_result(ctl_t *ctl) {
    char errstr[1024];
    json_t *res;
    int rc;
    if (baton_client_result(ctl->client, ctl->o.pos[0], ctl->o.wait_s, &res,
                            errstr, sizeof errstr))
        return ctl_client_fail(errstr);
    rc = ctl_result_print(ctl, res);
    json_decref(res);
    return rc;
}

/* ---- history ------------------------------------------------------------ */

int ctl_cmd_history(ctl_t *ctl) {
    static const ctl_field_t cols[] = {
        {"seq", "SEQ", CTL_FMT_PLAIN},   {"time", "TIME", CTL_FMT_TIME},
        {"type", "TYPE", CTL_FMT_PLAIN}, {"state", "STATE", CTL_FMT_PLAIN},
        {"data", "DATA", CTL_FMT_PLAIN},
    };
    char errstr[1024];
    json_t *events;
    int64_t next;
    int rc;

    if (baton_client_history(ctl->client, ctl->o.pos[0], 0, -1, &events, &next,
                             errstr, sizeof errstr))
        return ctl_client_fail(errstr);
    rc = ctl->o.json_out
             ? ctl_print_json(events)
             : ctl_print_table(events, cols, BATON_ARRAY_SIZE(cols));
    json_decref(events);
    return rc;
}

/* ---- list --------------------------------------------------------------- */

/* batonctl's rows keep the four fields docs/batonctl.md shows: id, type,
 * status, position (the client's rows say more).  0 or -1 (OOM). */
static int ctl_list_narrow(json_t *rows) {
    static const char *const drop[] = {"pending", "started", "closed"};
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        for (size_t k = 0; k < BATON_ARRAY_SIZE(drop); k++)
            if (json_object_get(row, drop[k]) && json_object_del(row, drop[k]))
                return -1;
    }
    return 0;
}

int ctl_cmd_list(ctl_t *ctl) {
    static const ctl_field_t cols[] = {
        {"id", "ID", CTL_FMT_PLAIN},
        {"type", "TYPE", CTL_FMT_PLAIN},
        {"status", "STATUS", CTL_FMT_PLAIN},
        {"position", "POSITION", CTL_FMT_PLAIN},
        {"waiting", "WAITING", CTL_FMT_PLAIN},
    };
    char status[16], errstr[1024];
    json_t *rows;
    int rc;

    if (ctl->o.status &&
        !baton_client_status_parse(ctl->o.status, status, sizeof status))
        return ctl_usage_error("--status wants RUNNING, SUCCEEDED, FAILED, "
                               "CANCELLED, TERMINATED or QUARANTINED, not "
                               "'%s'",
                               ctl->o.status);
    if (baton_client_list(ctl->client, ctl->o.status ? status : NULL, NULL,
                          &rows, errstr, sizeof errstr))
        return ctl_client_fail(errstr);
    if (ctl_list_narrow(rows))
        rc = ctl_fail("out of memory");
    else
        rc = ctl->o.json_out
                 ? ctl_print_json(rows)
                 : ctl_print_table(rows, cols, BATON_ARRAY_SIZE(cols));
    json_decref(rows);
    return rc;
}
