/*
 * client_send.c -- the commands that change a workflow: start, signal,
 * cancel and terminate.  Each checks its arguments (an invalid one sends
 * nothing), builds a command envelope (common/codec.h) and sends it
 * (client_kafka.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "baton_common.h"
#include "client_int.h"

baton_client_err_t baton_client_check_id(const char *id, char *errstr,
                                         size_t errlen) {
    size_t n = strlen(id);
    if (n == 0 || n > BATON_CLIENT_ID_MAX)
        return client_fail(errstr, errlen, BATON_CLIENT_E_INVALID,
                           "a workflow id has 1 to %d bytes, '%.40s%s' has "
                           "%zu",
                           BATON_CLIENT_ID_MAX, id, n > 40 ? "..." : "", n);
    return BATON_CLIENT_OK;
}

/* "<type>-<16 random hex digits>" into buf; returns buf. */
static const char *client_gen_id(const char *type, char *buf, size_t len) {
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

baton_client_err_t baton_client_start(baton_client_t *c,
                                      const baton_client_start_t *s,
                                      json_t **sent, char *errstr,
                                      size_t errlen) {
    char idbuf[BATON_CLIENT_ID_MAX + 32];
    const char *id;
    baton_command_t cmd = {0};
    baton_client_err_t rc;

    *sent = NULL;
    if (!s->type || !*s->type)
        return client_fail(errstr, errlen, BATON_CLIENT_E_INVALID,
                           "start: empty workflow type");
    id = s->id ? s->id : client_gen_id(s->type, idbuf, sizeof idbuf);
    if ((rc = baton_client_check_id(id, errstr, errlen))) return rc;
    cmd.kind = BATON_CMD_START;
    cmd.workflow_id = (char *)id;
    cmd.workflow_type = (char *)s->type;
    cmd.payload = (char *)(s->input ? s->input : "{}");
    cmd.definition_version = (char *)s->version;
    cmd.id_reuse = (char *)s->id_reuse;
    cmd.dedupe_id = (char *)s->dedupe_id;
    cmd.budget = (char *)s->budget;
    cmd.sent_at_ms = baton_now_ms();
    return client_send_command(c, &cmd, sent, errstr, errlen);
}

baton_client_err_t baton_client_signal(baton_client_t *c, const char *id,
                                       const char *name, const char *payload,
                                       json_t **sent, char *errstr,
                                       size_t errlen) {
    baton_command_t cmd = {0};
    baton_client_err_t rc;

    *sent = NULL;
    if ((rc = baton_client_check_id(id, errstr, errlen))) return rc;
    if (!name || !*name)
        return client_fail(errstr, errlen, BATON_CLIENT_E_INVALID,
                           "signal: empty signal name");
    cmd.kind = BATON_CMD_SIGNAL;
    cmd.workflow_id = (char *)id;
    cmd.name = (char *)name;
    cmd.payload = (char *)payload; /* NULL: a signal without one */
    cmd.sent_at_ms = baton_now_ms();
    return client_send_command(c, &cmd, sent, errstr, errlen);
}

baton_client_err_t baton_client_stop(baton_client_t *c, baton_cmd_kind_t kind,
                                     const char *id, const char *reason,
                                     json_t **sent, char *errstr,
                                     size_t errlen) {
    baton_command_t cmd = {0};
    baton_client_err_t rc;

    *sent = NULL;
    if ((rc = baton_client_check_id(id, errstr, errlen))) return rc;
    cmd.kind = kind;
    cmd.workflow_id = (char *)id;
    cmd.reason = (char *)reason;
    cmd.sent_at_ms = baton_now_ms();
    return client_send_command(c, &cmd, sent, errstr, errlen);
}
