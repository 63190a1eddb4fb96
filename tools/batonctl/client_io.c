/*
 * client_io.c -- batonctl's side of baton_client (client/client.h): the
 * handle made once configured, failures printed as batonctl's diagnostics,
 * what a sent command prints, and the few Redis helpers `watch` uses.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>

#include "baton_common.h"
#include "batonctl.h"

/* Makes ctl->client on ctl->conf with -t; returns an exit code. */
int ctl_client_open(ctl_t *ctl) {
    char errstr[512];
    ctl->client =
        baton_client_new(ctl->conf, ctl->o.timeout_ms, errstr, sizeof errstr);
    if (!ctl->client) return ctl_fail("%s", errstr);
    baton_client_set_json_envelope(ctl->client, ctl->o.json_envelope);
    return BATON_CLI_EXIT_OK;
}

/* Prints "batonctl: <errstr>"; returns BATON_CLI_EXIT_FAIL. */
int ctl_client_fail(const char *errstr) {
    return ctl_fail("%s", errstr);
}

/* Prints what was sent: the id (text) or {"id","command","topic",
 * "partition","offset"} (json).  Takes sent over. */
int ctl_print_sent(ctl_t *ctl, json_t *sent) {
    int rc = BATON_CLI_EXIT_OK;
    if (!ctl->o.json_out)
        printf("%s\n", json_string_value(json_object_get(sent, "id")));
    else
        rc = ctl_print_json(sent);
    json_decref(sent);
    return rc;
}

/* 1 when Redis answers (connecting on first use), else 0 (printed). */
int ctl_redis(ctl_t *ctl) {
    char errstr[512];
    redisReply *r = baton_client_redis_cmd(ctl->client, errstr, sizeof errstr,
                                           "connecting", "PING");
    if (!r) {
        ctl_fail("%s", errstr);
        return 0;
    }
    freeReplyObject(r);
    return 1;
}

/* Runs one command (hiredis format); the reply is owned by the caller;
 * NULL on failure (printed). */
__attribute__((format(printf, 3, 4))) redisReply *
ctl_redis_cmd(ctl_t *ctl, const char *what, const char *fmt, ...) {
    char errstr[1024];
    va_list ap;
    redisReply *r;
    va_start(ap, fmt);
    r = baton_client_redis_vcmd(ctl->client, errstr, sizeof errstr, what, fmt,
                                ap);
    va_end(ap);
    if (!r) ctl_fail("%s", errstr);
    return r;
}

/* The snapshot of id into *out: 1, 0 when there is none, -1 on error
 * (printed). */
int ctl_snapshot_get(ctl_t *ctl, const char *id, int scan, json_t **out) {
    char errstr[1024];
    baton_client_err_t rc = baton_client_snapshot(ctl->client, id, scan, out,
                                                  errstr, sizeof errstr);
    if (rc == BATON_CLIENT_E_NOT_FOUND) return 0;
    if (rc) {
        ctl_fail("%s", errstr);
        return -1;
    }
    return 1;
}

const char *ctl_snap_status(const json_t *snap) {
    return baton_client_snap_status(snap);
}
