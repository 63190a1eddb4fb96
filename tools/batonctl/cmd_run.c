/*
 * cmd_run.c -- the commands that change a workflow: start, signal, cancel
 * and terminate.  Each checks its arguments (a usage error sends nothing),
 * builds a command envelope (common/codec.h) and sends it (kafka_io.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

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

/* Usage error unless id is a valid workflow id (codec.h: 1..256 bytes). */
static int ctl_check_id(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n > CTL_ID_MAX)
        return ctl_usage_error("a workflow id has 1 to %d bytes, '%.40s%s' "
                               "has %zu",
                               CTL_ID_MAX, id, n > 40 ? "..." : "", n);
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

int ctl_cmd_start(ctl_t *ctl) {
    const char *type = ctl->o.pos[0];
    const char *input = ctl->o.input ? ctl->o.input : "{}";
    char idbuf[CTL_ID_MAX + 32];
    const char *id =
        ctl->o.id ? ctl->o.id : ctl_gen_id(type, idbuf, sizeof idbuf);
    baton_command_t cmd = {0};

    if (!*type) return ctl_usage_error("start: empty workflow type");
    if (ctl_check_json("--input", input) || ctl_check_id(id) ||
        ctl_check_budget(ctl->o.budget))
        return BATON_CLI_EXIT_USAGE;
    cmd.budget = (char *)ctl->o.budget;
    cmd.kind = BATON_CMD_START;
    cmd.workflow_id = (char *)id;
    cmd.workflow_type = (char *)type;
    cmd.payload = (char *)input;
    cmd.sent_at_ms = baton_now_ms();
    return ctl_send_command(ctl, &cmd);
}

int ctl_cmd_signal(ctl_t *ctl) {
    const char *payload = ctl->o.payload; /* NULL: a signal without one */
    baton_command_t cmd = {0};

    if (ctl_check_id(ctl->o.pos[0]) ||
        (payload && ctl_check_json("--payload", payload)))
        return BATON_CLI_EXIT_USAGE;
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
    if (ctl_check_id(ctl->o.pos[0])) return BATON_CLI_EXIT_USAGE;
    cmd.kind = kind;
    cmd.workflow_id = (char *)ctl->o.pos[0];
    cmd.reason = (char *)(ctl->o.reason ? ctl->o.reason : dflt_reason);
    cmd.sent_at_ms = baton_now_ms();
    return ctl_send_command(ctl, &cmd);
}

int ctl_cmd_cancel(ctl_t *ctl) {
    return ctl_send_stop(ctl, BATON_CMD_CANCEL, "cancelled with batonctl");
}

int ctl_cmd_terminate(ctl_t *ctl) {
    return ctl_send_stop(ctl, BATON_CMD_TERMINATE, "terminated with batonctl");
}
