/*
 * blob_store.h -- the claim check's Redis edge: reading and writing the
 * blobs of common/blob.h at baton:{pN}:blob:<hex> (common/keys.h).  The
 * worker SDK stores large results and resolves tasks here; batond
 * resolves results and snapshots here (its batch script in
 * orchestrator/store.c writes and adopts its own blobs atomically);
 * batonctl resolves what it shows.  With a keyring (loc->crypt) a blob's
 * text is sealed on put and opened on fetch.
 *
 * Thread: a redisContext is used by one thread at a time (the caller's).
 */
#ifndef BATON_BLOB_STORE_H
#define BATON_BLOB_STORE_H

#include <hiredis/hiredis.h>

#include "baton_common.h"
#include "blob.h"

/* Where a payload's blobs live: the partition of the run it belongs to. */
/* With crypt set (common/crypt.h, borrowed), a blob is stored sealed
 * (place "blob", owner its hex) when the keyring has an active key, and
 * every sealed blob fetched is opened: Redis never holds a blob's
 * plaintext; its name stays the SHA-256 of the plaintext. */
struct baton_crypt;
typedef struct baton_blob_loc {
    redisContext *c;
    const char *ns;
    int32_t partition;
    const struct baton_crypt *crypt; /* or NULL: blobs in clear */
} baton_blob_loc_t;

/* baton_blob_fetch_fn over Redis: ctx is a baton_blob_loc_t; one pipelined
 * GET per blob. */
baton_err_t baton_blob_store_fetch(void *ctx, size_t n,
                                   const char *const *hexes, char **texts,
                                   size_t *lens, char *errstr, size_t errlen);

/* Stores one blob: SET NX with a TTL of ttl_s (0 = none); a blob already
 * there keeps its text and gets its TTL raised to ttl_s (EXPIRE GT: a blob
 * without TTL, held by a live run, stays so). */
baton_err_t baton_blob_store_put(const baton_blob_loc_t *loc, const char *hex,
                                 const char *text, size_t len, int64_t ttl_s,
                                 char *errstr, size_t errlen);

/* Resolves a JSON text (baton_blob_resolve_text) against loc: *out NULL
 * when there was nothing to resolve. */
baton_err_t baton_blob_store_resolve_text(const baton_blob_loc_t *loc,
                                          const char *text, size_t len,
                                          size_t max_bytes, char **out,
                                          size_t *outlen, char *errstr,
                                          size_t errlen);

/* Encodes a JSON text with opts (baton_blob_encode_text), storing each blob
 * made with baton_blob_store_put(ttl_s): *out NULL when the text needs no
 * change. */
baton_err_t baton_blob_store_encode_text(const baton_blob_loc_t *loc,
                                         const baton_blob_opts_t *opts,
                                         int64_t ttl_s, const char *text,
                                         size_t len, char **out, size_t *outlen,
                                         char *errstr, size_t errlen);

#endif /* BATON_BLOB_STORE_H */
