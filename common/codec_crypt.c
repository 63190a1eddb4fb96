/*
 * codec_crypt.c -- payload encryption at the wire codec (codec.h
 * baton_codec_set_crypt): which fields of an envelope carry a run's data,
 * sealing them on the way out and opening them on the way in.  Every
 * process that speaks the envelopes (batond, the worker SDK, batonctl and
 * baton-api through the client library, baton-bridge) goes through here,
 * so turning a keyring on in one place covers Kafka and the outbox.
 *
 *   envelope  sealed fields (place = "<envelope>.<field>", owner = the
 *             envelope's workflow_id: common/crypt.h)
 *   command   payload (START input, SIGNAL payload), start_input
 *   task      input, heartbeat_details (only queues in crypt.queues)
 *   result    output, cause
 *   event     data
 *
 * Left in clear: ids, names, types, states, errors' names, budget and
 * usage (token counts), the CANCEL reason.
 */
#include <stdio.h>
#include <string.h>

#include "codec_int.h"
#include "crypt.h"

/* 1 when field f of env carries payload. */
static int baton_codec_crypt_field(const baton_codec_env_t *env,
                                   const baton_codec_field_t *f) {
    static const char *const names[] = {
        "command.payload", "command.start_input",
        "task.input",      "task.heartbeat_details",
        "result.output",   "result.cause",
        "event.data"};
    size_t n = strlen(env->what);
    for (size_t i = 0; i < BATON_ARRAY_SIZE(names); i++)
        if (!strncmp(names[i], env->what, n) && names[i][n] == '.' &&
            !strcmp(names[i] + n + 1, f->name))
            return 1;
    return 0;
}

/* "<envelope>.<field>" into buf. */
static const char *baton_codec_crypt_place(const baton_codec_env_t *env,
                                           const baton_codec_field_t *f,
                                           char *buf, size_t len) {
    snprintf(buf, len, "%s.%s", env->what, f->name);
    return buf;
}

/* The envelope's workflow_id (every envelope has one; "" if unset). */
static const char *baton_codec_crypt_owner(const baton_codec_env_t *env,
                                           const void *s) {
    for (size_t i = 0; i < env->nfields; i++)
        if (!strcmp(env->fields[i].name, "workflow_id")) {
            const char *id = baton_codec_str_get(s, &env->fields[i]);
            return id ? id : "";
        }
    return "";
}

/* Whether s (of env) is sealed at all with kr. */
static int baton_codec_crypt_on(const struct baton_crypt *kr,
                                const baton_codec_env_t *env, const void *s) {
    if (!kr || !baton_crypt_active(kr)) return 0;
    if (!strcmp(env->what, "task"))
        return baton_crypt_queue_on(kr, ((const baton_task_t *)s)->queue);
    return 1;
}

baton_err_t baton_codec_seal(const struct baton_crypt *kr,
                             const baton_codec_env_t *env, const void *s,
                             void **copy, char *errstr, size_t errlen) {
    const char *owner;
    char *c;
    *copy = NULL;
    if (!baton_codec_crypt_on(kr, env, s)) return BATON_OK;
    if (!(c = baton_malloc(env->size)))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "%s: out of memory", env->what);
    memcpy(c, s, env->size);
    *copy = c;
    owner = baton_codec_crypt_owner(env, s);
    for (size_t i = 0; i < env->nfields; i++) {
        const baton_codec_field_t *f = &env->fields[i];
        const char *v;
        char place[64], *out = NULL;
        size_t outlen = 0;
        baton_err_t rc;
        if (!baton_codec_crypt_field(env, f)) continue;
        if (!(v = baton_codec_str_get(s, f))) continue;
        if (baton_crypt_is_sealed(v, strlen(v), NULL)) continue; /* already */
        rc = baton_crypt_seal(
            kr, baton_codec_crypt_place(env, f, place, sizeof place), owner, v,
            strlen(v), &out, &outlen, errstr, errlen);
        if (rc) {
            baton_codec_seal_free(env, s, c);
            *copy = NULL;
            return rc;
        }
        *baton_codec_str_at(c, f) = out;
    }
    return BATON_OK;
}

void baton_codec_seal_free(const baton_codec_env_t *env, const void *s,
                           void *copy) {
    if (!copy) return;
    for (size_t i = 0; i < env->nfields; i++) {
        const baton_codec_field_t *f = &env->fields[i];
        if (baton_codec_crypt_field(env, f) &&
            baton_codec_str_get(copy, f) != baton_codec_str_get(s, f))
            baton_free(*baton_codec_str_at(copy, f));
    }
    baton_free(copy);
}

baton_err_t baton_codec_unseal(const struct baton_crypt *kr,
                               const baton_codec_env_t *env, void *out,
                               char *errstr, size_t errlen) {
    const char *owner = baton_codec_crypt_owner(env, out);
    for (size_t i = 0; i < env->nfields; i++) {
        const baton_codec_field_t *f = &env->fields[i];
        char **v, place[64], *plain = NULL, err[512];
        size_t n = 0;
        baton_err_t rc;
        if (!baton_codec_crypt_field(env, f)) continue;
        if (!*(v = baton_codec_str_at(out, f))) continue;
        rc = baton_crypt_open(
            kr, baton_codec_crypt_place(env, f, place, sizeof place), owner, *v,
            strlen(v[0]), &plain, &n, err, sizeof err);
        if (rc)
            return baton_seterr(errstr, errlen, rc, "%s: field '%s': %s",
                                env->what, f->name, err);
        if (!plain) continue;
        baton_free(*v);
        *v = plain;
    }
    return BATON_OK;
}
