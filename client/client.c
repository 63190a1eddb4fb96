/*
 * client.c -- the baton_client handle (client.h): configuration, the
 * settings a caller may change, the error names and the failure helper
 * every file of the library uses.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "client_int.h"
#include "crypt.h"
#include "kafka.h"

const char *baton_client_err2str(baton_client_err_t err) {
    switch (err) {
    case BATON_CLIENT_OK: return "ok";
    case BATON_CLIENT_E_INVALID: return "invalid";
    case BATON_CLIENT_E_NOT_FOUND: return "not_found";
    case BATON_CLIENT_E_CONFLICT: return "conflict";
    case BATON_CLIENT_E_UNAVAILABLE: return "unavailable";
    case BATON_CLIENT_E_INTERNAL: return "internal";
    }
    return "internal";
}

__attribute__((format(printf, 4, 5))) baton_client_err_t
client_fail(char *errstr, size_t errlen, baton_client_err_t err,
            const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (errstr && errlen) vsnprintf(errstr, errlen, fmt, ap);
    va_end(ap);
    return err;
}

baton_client_t *baton_client_new(const baton_conf_t *conf, int timeout_ms,
                                 char *errstr, size_t errlen) {
    baton_client_t *c = baton_calloc(1, sizeof *c);
    if (!c) {
        client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL, "out of memory");
        return NULL;
    }
    c->conf = conf;
    c->timeout_ms = timeout_ms;
    c->partition_cnt = -1;
    c->wf_partition = -1;
    pthread_mutex_init(&c->klog_lock, NULL);
    baton_topic(conf, "commands", c->topic, sizeof c->topic);
    {
        char err[512];
        if (baton_crypt_new_conf(conf, &c->crypt, err, sizeof err)) {
            client_fail(errstr, errlen, BATON_CLIENT_E_INVALID, "%s", err);
            baton_client_destroy(c);
            return NULL;
        }
    }
    return c;
}

void baton_client_destroy(baton_client_t *c) {
    if (!c) return;
    if (c->redis) redisFree(c->redis);
    pthread_mutex_destroy(&c->klog_lock);
    baton_crypt_destroy(c->crypt);
    baton_free(c);
}

void baton_client_set_json_envelope(baton_client_t *c, int on) {
    c->json_envelope = on;
}

void baton_client_set_partition_count(baton_client_t *c, int32_t n) {
    c->partition_cnt = n;
    c->partition_cnt_tried = 1;
}

const char *baton_client_commands_topic(const baton_client_t *c) {
    return c->topic;
}

const baton_conf_t *baton_client_conf(const baton_client_t *c) {
    return c->conf;
}

int32_t baton_client_wf_partition(const baton_client_t *c) {
    return c->wf_partition;
}
