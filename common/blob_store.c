/*
 * blob_store.c -- the claim check's blobs in Redis (blob_store.h).
 */
#include "blob_store.h"

#include <string.h>

#include "crypt.h"
#include "keys.h"

baton_err_t baton_blob_store_fetch(void *ctx, size_t n,
                                   const char *const *hexes, char **texts,
                                   size_t *lens, char *errstr, size_t errlen) {
    const baton_blob_loc_t *loc = ctx;
    char key[BATON_KEYS_LEN];
    baton_err_t rc = BATON_OK;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!baton_keys_blob(key, sizeof key, loc->ns, loc->partition,
                             hexes[i]))
            return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                                "blob key too long");
        if (redisAppendCommand(loc->c, "GET %s", key) != REDIS_OK)
            return baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                                "reading blobs: %s", loc->c->errstr);
    }
    for (i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(loc->c, (void **)&r) != REDIS_OK || !r) {
            /* the connection is broken: no later reply can be read */
            return baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                                "reading blob sha256:%s: %s", hexes[i],
                                loc->c->errstr);
        }
        texts[i] = NULL;
        if (r->type == REDIS_REPLY_STRING) {
            char *plain = NULL, err[512];
            size_t pn = 0;
            baton_err_t orc =
                baton_crypt_open(loc->crypt, "blob", hexes[i], r->str, r->len,
                                 &plain, &pn, err, sizeof err);
            if (orc && !rc)
                rc = baton_seterr(errstr, errlen, orc, "blob sha256:%s: %s",
                                  hexes[i], err);
            else if (plain) {
                texts[i] = plain;
                lens[i] = pn;
            } else if (!(texts[i] = baton_malloc(r->len + 1)))
                rc = BATON_ERR_NOMEM;
            else {
                memcpy(texts[i], r->str, r->len);
                texts[i][r->len] = '\0';
                lens[i] = r->len;
            }
        } else if (r->type == REDIS_REPLY_ERROR && !rc) {
            rc = baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                              "reading blob sha256:%s: %s", hexes[i], r->str);
        }
        freeReplyObject(r);
    }
    if (rc == BATON_ERR_NOMEM)
        baton_seterr(errstr, errlen, rc, "reading blobs: out of memory");
    return rc;
}

baton_err_t baton_blob_store_put(const baton_blob_loc_t *loc, const char *hex,
                                 const char *text, size_t len, int64_t ttl_s,
                                 char *errstr, size_t errlen) {
    char key[BATON_KEYS_LEN];
    redisReply *r;
    int set;

    char *sealed = NULL;
    size_t sn = 0;

    if (!baton_keys_blob(key, sizeof key, loc->ns, loc->partition, hex))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                            "blob key too long");
    if (baton_crypt_active(loc->crypt)) {
        baton_err_t rc = baton_crypt_seal(loc->crypt, "blob", hex, text, len,
                                          &sealed, &sn, errstr, errlen);
        if (rc) return rc;
        text = sealed;
        len = sn;
    }
    if (ttl_s > 0)
        r = redisCommand(loc->c, "SET %s %b NX EX %lld", key, text, len,
                         (long long)ttl_s);
    else
        r = redisCommand(loc->c, "SET %s %b NX", key, text, len);
    baton_free(sealed);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        baton_err_t rc = baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                                      "storing blob sha256:%s: %s", hex,
                                      r ? r->str : loc->c->errstr);
        freeReplyObject(r);
        return rc;
    }
    set = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (set || ttl_s <= 0) return BATON_OK;
    r = redisCommand(loc->c, "EXPIRE %s %lld GT", key, (long long)ttl_s);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        baton_err_t rc = baton_seterr(errstr, errlen, BATON_ERR_REDIS,
                                      "keeping blob sha256:%s: %s", hex,
                                      r ? r->str : loc->c->errstr);
        freeReplyObject(r);
        return rc;
    }
    freeReplyObject(r);
    return BATON_OK;
}

baton_err_t baton_blob_store_resolve_text(const baton_blob_loc_t *loc,
                                          const char *text, size_t len,
                                          size_t max_bytes, char **out,
                                          size_t *outlen, char *errstr,
                                          size_t errlen) {
    return baton_blob_resolve_text(text, len, max_bytes, baton_blob_store_fetch,
                                   (void *)loc, out, outlen, errstr, errlen);
}

typedef struct put_ctx {
    const baton_blob_loc_t *loc;
    int64_t ttl_s;
    char *errstr;
    size_t errlen;
} put_ctx_t;

static int put_sink(void *ctx, const char *hex, const char *text, size_t len) {
    put_ctx_t *pc = ctx;
    return baton_blob_store_put(pc->loc, hex, text, len, pc->ttl_s, pc->errstr,
                                pc->errlen)
               ? -1
               : 0;
}

baton_err_t baton_blob_store_encode_text(const baton_blob_loc_t *loc,
                                         const baton_blob_opts_t *opts,
                                         int64_t ttl_s, const char *text,
                                         size_t len, char **out, size_t *outlen,
                                         char *errstr, size_t errlen) {
    char perr[512] = "";
    put_ctx_t pc = {loc, ttl_s, perr, sizeof perr};
    baton_err_t rc = baton_blob_encode_text(text, len, opts, put_sink, &pc, out,
                                            outlen, errstr, errlen);
    if (rc && perr[0])
        return baton_seterr(errstr, errlen, BATON_ERR_REDIS, "%s", perr);
    return rc;
}
