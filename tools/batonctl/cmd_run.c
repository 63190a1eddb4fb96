/*
 * cmd_run.c -- the commands that change a workflow: start, signal, cancel
 * and terminate.  Each checks its arguments (a usage error sends nothing),
 * and sends the command with baton_client (client/client.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>

#include "asl.h"
#include "baton_common.h"
#include "batonctl.h"

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
    return BATON_CLI_EXIT_OK;
}

/* Usage error unless id is a valid workflow id (client.h). */
static int ctl_check_id(const char *id) {
    char errstr[512];
    if (baton_client_check_id(id, errstr, sizeof errstr))
        return ctl_usage_error("%s", errstr);
    return BATON_CLI_EXIT_OK;
}

/* 0 when text is NULL or a valid budget (asl.h baton_asl_budget_check),
 * else -1 after a usage error naming what is wrong. */
static int ctl_check_budget(const char *text) {
    char why[256];
    json_error_t jerr;
    json_t *b;
    int bad;
    if (!text) return 0;
    if (!(b = json_loads(text, 0, &jerr))) {
        ctl_usage_error("--budget is not JSON: %s", jerr.text);
        return -1;
    }
    bad = baton_asl_budget_check(b, why, sizeof why) != BATON_OK;
    json_decref(b);
    if (bad) ctl_usage_error("--budget: %s", why);
    return bad ? -1 : 0;
}

/* Prints what was sent, or the failure. */
static int ctl_sent(ctl_t *ctl, baton_client_err_t rc, json_t *sent,
                    const char *errstr) {
    if (rc) return ctl_client_fail(errstr);
    return ctl_print_sent(ctl, sent);
}

int ctl_cmd_start(ctl_t *ctl) {
    baton_client_start_t st = {.type = ctl->o.pos[0], .id = ctl->o.id};
    char errstr[1024];
    json_t *sent;
    baton_client_err_t rc;

    st.input = ctl->o.input ? ctl->o.input : "{}";
    if (!*st.type) return ctl_usage_error("start: empty workflow type");
    if (ctl_check_json("--input", st.input) || (st.id && ctl_check_id(st.id)) ||
        ctl_check_budget(ctl->o.budget))
        return BATON_CLI_EXIT_USAGE;
    st.budget = ctl->o.budget;
    rc = baton_client_start(ctl->client, &st, &sent, errstr, sizeof errstr);
    return ctl_sent(ctl, rc, sent, errstr);
}

int ctl_cmd_signal(ctl_t *ctl) {
    const char *payload = ctl->o.payload; /* NULL: a signal without one */
    char errstr[1024];
    json_t *sent;
    baton_client_err_t rc;

    if (ctl_check_id(ctl->o.pos[0]) ||
        (payload && ctl_check_json("--payload", payload)))
        return BATON_CLI_EXIT_USAGE;
    if (!*ctl->o.pos[1]) return ctl_usage_error("signal: empty signal name");
    rc = baton_client_signal(ctl->client, ctl->o.pos[0], ctl->o.pos[1], payload,
                             &sent, errstr, sizeof errstr);
    return ctl_sent(ctl, rc, sent, errstr);
}

/* cancel and terminate: the same command but for its kind. */
static int ctl_send_stop(ctl_t *ctl, baton_cmd_kind_t kind,
                         const char *dflt_reason) {
    char errstr[1024];
    json_t *sent;
    baton_client_err_t rc;
    if (ctl_check_id(ctl->o.pos[0])) return BATON_CLI_EXIT_USAGE;
    rc = baton_client_stop(ctl->client, kind, ctl->o.pos[0],
                           ctl->o.reason ? ctl->o.reason : dflt_reason, &sent,
                           errstr, sizeof errstr);
    return ctl_sent(ctl, rc, sent, errstr);
}

int ctl_cmd_cancel(ctl_t *ctl) {
    return ctl_send_stop(ctl, BATON_CMD_CANCEL, "cancelled with batonctl");
}

int ctl_cmd_terminate(ctl_t *ctl) {
    return ctl_send_stop(ctl, BATON_CMD_TERMINATE, "terminated with batonctl");
}
