/*
 * client_defs.c -- a workflow definition's text: a given version from
 * Redis (baton:defs:<type>:<version>, common/keys.h, stored by batond for
 * every version that ever ran), or the current one: the file batond loads
 * from batond.workflows.dir (orchestrator/registry.h), whose version is
 * the hash of its text.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>

#include "baton_common.h"
#include "client_int.h"
#include "keys.h"
#include "registry.h"

/* {"type","version","definition"} from text (JSON); E_INTERNAL when the
 * stored text is not JSON. */
static baton_client_err_t client_def_json(const char *type, const char *ver,
                                          const char *text, json_t **out,
                                          char *errstr, size_t errlen) {
    json_error_t jerr;
    json_t *def = json_loads(text, 0, &jerr);
    if (!def)
        return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                           "definition %s version %s is not JSON: %s", type,
                           ver, jerr.text);
    *out = json_pack("{ss ss so}", "type", type, "version", ver, "definition",
                     def);
    return *out ? BATON_CLIENT_OK
                : client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                              "out of memory");
}

/* The current definition of type: the registry of batond.workflows.dir. */
static baton_client_err_t client_def_current(baton_client_t *c,
                                             const char *type, json_t **out,
                                             char *errstr, size_t errlen) {
    const char *dir = baton_conf_get(c->conf, "batond.workflows.dir");
    baton_registry_t *reg = baton_registry_new();
    const baton_defn_t *d;
    char err[1024];
    baton_client_err_t rc;

    if (!reg)
        return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                           "out of memory");
    if (baton_registry_load_dir(reg, dir, err, sizeof err))
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                         "loading the definitions of %s: %s", dir, err);
    else if (!(d = baton_registry_current(reg, type)))
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_NOT_FOUND,
                         "no definition %s in %s", type, dir);
    else
        rc = client_def_json(type, d->ver, d->text, out, errstr, errlen);
    baton_registry_destroy(reg);
    return rc;
}

baton_client_err_t baton_client_definition(baton_client_t *c, const char *type,
                                           const char *version, json_t **out,
                                           char *errstr, size_t errlen) {
    char key[1024];
    redisReply *r;
    baton_client_err_t rc;

    *out = NULL;
    if (!version) return client_def_current(c, type, out, errstr, errlen);
    if (!baton_keys_def(key, sizeof key, baton_conf_key_prefix(c->conf), type,
                        version))
        return client_fail(errstr, errlen, BATON_CLIENT_E_INVALID,
                           "definition %s version %s: name too long", type,
                           version);
    if (!(r = baton_client_redis_cmd(c, errstr, errlen,
                                     "reading the definition", "GET %s", key)))
        return BATON_CLIENT_E_UNAVAILABLE;
    if (r->type != REDIS_REPLY_STRING)
        rc = client_fail(errstr, errlen, BATON_CLIENT_E_NOT_FOUND,
                         "definition %s version %s is not in Redis", type,
                         version);
    else
        rc = client_def_json(type, version, r->str, out, errstr, errlen);
    freeReplyObject(r);
    return rc;
}
