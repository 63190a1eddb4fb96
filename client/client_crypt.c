/*
 * client_crypt.c -- payload encryption on baton_client's reads from Redis
 * (common/crypt.h): a snapshot stored sealed whole and the sealed "data"
 * of history events (orchestrator/store.h baton_store_blobs_t) are opened
 * with the keys of crypt.keys.dir before anything parses them; blobs are
 * opened by the claim check's store (client_resolve passes the keyring),
 * and the commands the client sends are sealed by its codec
 * (client_kafka.c).  Without the key, reads fail with
 * BATON_CLIENT_E_CONFLICT and a message naming the key id.
 */
#include <stdlib.h>
#include <string.h>

#include "baton_common.h"
#include "client_int.h"
#include "crypt.h"

static baton_client_err_t client_crypt_oom(char *errstr, size_t errlen) {
    return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                       "out of memory");
}

baton_client_err_t client_open_snapshot(baton_client_t *c, const char *id,
                                        const char *text, size_t len,
                                        char **plain, char *errstr,
                                        size_t errlen) {
    char err[512];
    size_t n = 0;
    baton_err_t rc = baton_crypt_open(c->crypt, "snapshot", id, text, len,
                                      plain, &n, err, sizeof err);
    if (rc == BATON_ERR_NOMEM) return client_crypt_oom(errstr, errlen);
    if (rc)
        return client_fail(errstr, errlen, BATON_CLIENT_E_CONFLICT,
                           "cannot read workflow '%s': %s", id, err);
    return BATON_CLIENT_OK;
}

/* Opens ev's sealed "data" in place. */
static baton_client_err_t client_open_event(baton_client_t *c, const char *id,
                                            json_t *ev, char *errstr,
                                            size_t errlen) {
    json_t *d = json_object_get(ev, "data"), *v;
    char *t, *plain = NULL, err[512];
    size_t n = 0;
    baton_err_t rc;
    if (!json_is_object(d) || !json_object_get(d, BATON_CRYPT_KEY))
        return BATON_CLIENT_OK;
    if (!(t = json_dumps(d, JSON_COMPACT)))
        return client_crypt_oom(errstr, errlen);
    rc = baton_crypt_open(c->crypt, "history.data", id, t, strlen(t), &plain,
                          &n, err, sizeof err);
    free(t);
    if (rc == BATON_ERR_NOMEM) return client_crypt_oom(errstr, errlen);
    if (rc)
        return client_fail(
            errstr, errlen, BATON_CLIENT_E_CONFLICT,
            "cannot read the history of '%s' (event %lld): %s", id,
            (long long)json_integer_value(json_object_get(ev, "seq")), err);
    if (!plain) return BATON_CLIENT_OK;
    v = json_loadb(plain, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    baton_free(plain);
    if (!v || json_object_set_new(ev, "data", v))
        return client_fail(errstr, errlen, BATON_CLIENT_E_INTERNAL,
                           "history of '%s': decrypted data is not JSON", id);
    return BATON_CLIENT_OK;
}

baton_client_err_t client_open_events(baton_client_t *c, const char *id,
                                      json_t *events, char *errstr,
                                      size_t errlen) {
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        baton_client_err_t rc = client_open_event(c, id, ev, errstr, errlen);
        if (rc) return rc;
    }
    return BATON_CLIENT_OK;
}
