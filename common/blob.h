/*
 * blob.h -- the claim check's reference format: large JSON values travel
 * and are stored as references to a blob named by its content hash.  Pure
 * (jansson and libcrypto's SHA-256 only, no Redis): the core, the worker
 * SDK and the tools encode and resolve through it; where the blobs live is
 * the business of an edge (common/blob_store.h: Redis, keys.h
 * baton_keys_blob).  Payload encryption (common/crypt.h) sits next to
 * this layer: the store seals every blob's text on its way in and opens it
 * on its way out, so the hashes here are of the plaintext.
 *
 * Reference-encoded JSON ("ref JSON") is plain JSON in which two object
 * keys are reserved:
 *
 *   {"$baton_ref": "sha256:<64 hex>", "size": N}
 *       a reference: stands for the JSON value whose compact text (itself
 *       ref JSON) has SHA-256 <hex> and N bytes.  Exactly these two keys.
 *   {"$baton_ref": "sha256:<64 hex>", "size": N, "items": K}
 *       a chunk: only as an element of an array, where it stands for the
 *       K elements of the array its blob holds, spliced in place.
 *   {"$baton_parts": [P1, P2, ...], k1: v1, ...}
 *       an object split into parts: each Pi is a chunk reference whose
 *       blob is an object of its "items" members (itself split into parts,
 *       maybe); it stands for the object of P1's members, then P2's ...,
 *       in order, then the members k1: v1 ... that follow the key.  A key
 *       found twice is refused.
 *   {"$baton_lit": V}
 *       escape: stands for the object V as it is.  Encoding wraps every
 *       object that holds a key "$baton_ref", "$baton_lit" or
 *       "$baton_parts" of the user's own, so a user value that looks like
 *       a reference is never taken for one; resolving unwraps it once.
 *
 * Where ref JSON travels (docs/wire-protocol.md "Large payloads"): the
 * input of an activity task, the output of an activity result, the
 * snapshot's and the history's stored text.  Commands (START input,
 * signal payloads) carry plain JSON.
 *
 * Encoding (baton_blob_encode) walks a value bottom-up:
 *   - a string whose text exceeds threshold becomes a reference;
 *   - an array or object whose text (children already encoded) exceeds
 *     threshold first has each child of at least element_min bytes made
 *     a reference (so a long conversation becomes an array of references,
 *     one blob per message, and the next step reuses every blob but the
 *     new one); such an array then has each full chunk of
 *     BATON_BLOB_CHUNK elements at fixed positions ([0, C), [C, 2C) ...)
 *     made a chunk reference, so step N of a conversation carries about
 *     N / C + C references, and a full chunk, once written, is reused by
 *     every later step;
 *   - such an object of at least C members (and no reserved key of the
 *     user's: an escaped object is not split) has its members, in
 *     insertion order, split the same way: each full chunk of C members
 *     becomes a part (a blob of an object of those members), every run of
 *     C parts at fixed positions a part of C * C members (a blob
 *     {"$baton_parts": [C parts]}), and so on up; the object becomes
 *     {"$baton_parts": [parts, largest first], <its last members>}: a
 *     Map's results, growing a few members a batch, store each part once
 *     and carry about C parts a level;
 *   - if it still exceeds threshold, it becomes a reference too.
 * The same value always encodes to the same text and the same blobs.
 * One walk: each node's text length is added up from its children's
 * (baton_blob_text_len's rules), so the only dumps are the blobs' texts
 * and the result's.
 *
 * Thread: any; no state.  Every json_t returned is a new reference.
 */
#ifndef BATON_BLOB_H
#define BATON_BLOB_H

#include <jansson.h>
#include <stddef.h>

#include "baton_common.h"

#define BATON_BLOB_REF_KEY "$baton_ref"
#define BATON_BLOB_LIT_KEY "$baton_lit"
#define BATON_BLOB_PARTS_KEY "$baton_parts"
#define BATON_BLOB_HEX_LEN 64
/* Elements per chunk (part of the format: the same array always chunks
 * the same way, so its full chunks keep their hashes as it grows). */
#define BATON_BLOB_CHUNK 32
/* Text every ref JSON holding a reserved key contains (a fast pre-check). */
#define BATON_BLOB_MARK "$baton_"

typedef struct baton_blob_opts {
    size_t threshold;   /* blob.threshold: larger values become blobs */
    size_t element_min; /* blob.element.min: children of a large container
                           at least this big become blobs */
} baton_blob_opts_t;

/* Receives each blob an encoding makes: hex (64 hex digits, NUL ended)
 * and its text (len bytes), both borrowed for the call.  May be called
 * more than once for one hash.  Returns 0, or -1 to stop the encoding. */
typedef int (*baton_blob_sink_fn)(void *ctx, const char *hex, const char *text,
                                  size_t len);

/* Fetches n blobs: texts[i] (baton_malloc'd, the caller frees) and lens[i]
 * for hexes[i], texts[i] NULL when the blob is not there.  An error (the
 * store unreachable) stops the resolution. */
typedef baton_err_t (*baton_blob_fetch_fn)(void *ctx, size_t n,
                                           const char *const *hexes,
                                           char **texts, size_t *lens,
                                           char *errstr, size_t errlen);

/* SHA-256 of data as 64 lower-case hex digits into out. */
void baton_blob_sha256_hex(const void *data, size_t len,
                           char out[BATON_BLOB_HEX_LEN + 1]);

/* 1 when v is a well-formed reference (hex and *size set, either may be
 * NULL), 0 when v is no reference, -1 when v holds "$baton_ref" but is not
 * a well-formed reference. */
int baton_blob_ref_parse(const json_t *v, char hex[BATON_BLOB_HEX_LEN + 1],
                         size_t *size);
/* A new reference object; NULL when memory ran out. */
json_t *baton_blob_ref_new(const char *hex, size_t size);

/* 1 when the text may hold reserved keys (contains "$baton_"): only then
 * must it be resolved. */
int baton_blob_text_marked(const char *text, size_t len);

/* Encodes v (borrowed) as ref JSON: a new value, the blobs handed to sink.
 * NULL on error (errstr says: out of memory, or the sink refused). */
json_t *baton_blob_encode(json_t *v, const baton_blob_opts_t *o,
                          baton_blob_sink_fn sink, void *ctx, char *errstr,
                          size_t errlen);

/* Length of v's compact text (JSON_COMPACT | JSON_ENCODE_ANY) without
 * making it: exactly what json_dumps would write. */
size_t baton_blob_text_len(const json_t *v);

/* Encodes v (borrowed) as ref JSON text: *out (baton_malloc'd, *outlen its
 * length) always set.  A value whose text is within threshold and holds
 * no reserved key costs one dump, as json_dumps; a larger one one walk
 * and the dumps of its blobs and of the result (no parse).  Errors: out
 * of memory, a value jansson cannot dump, the sink refused. */
baton_err_t baton_blob_dumps(json_t *v, const baton_blob_opts_t *o,
                             baton_blob_sink_fn sink, void *ctx, char **out,
                             size_t *outlen, char *errstr, size_t errlen);

/* Encodes a JSON text: *out set to the ref JSON text (baton_malloc'd,
 * *outlen its length), or NULL when the text needs no change (no larger
 * than threshold and holding no reserved key).  Parse errors:
 * BATON_ERR_INVALID. */
baton_err_t baton_blob_encode_text(const char *text, size_t len,
                                   const baton_blob_opts_t *o,
                                   baton_blob_sink_fn sink, void *ctx,
                                   char **out, size_t *outlen, char *errstr,
                                   size_t errlen);

/* Resolves ref JSON v (borrowed): a new plain value with every reference
 * replaced by its blob (fetched in rounds, one call per nesting level, each
 * blob checked against its hash and size) and every escape unwrapped.
 * Refused (NULL, errstr set, *rc set when rc is not NULL): a malformed
 * reference (BATON_ERR_INVALID), a missing or corrupt blob
 * (BATON_ERR_NOTFOUND / BATON_ERR_INVALID), blobs adding up to more than
 * max_bytes (BATON_ERR_TOOBIG; 0 = no limit), a fetch error (its code). */
json_t *baton_blob_resolve(json_t *v, size_t max_bytes,
                           baton_blob_fetch_fn fetch, void *ctx,
                           baton_err_t *rc, char *errstr, size_t errlen);

/* Resolves a JSON text: *out set to the plain text (baton_malloc'd), or
 * NULL when the text holds no reserved key (nothing to do). */
baton_err_t baton_blob_resolve_text(const char *text, size_t len,
                                    size_t max_bytes, baton_blob_fetch_fn fetch,
                                    void *ctx, char **out, size_t *outlen,
                                    char *errstr, size_t errlen);

#endif /* BATON_BLOB_H */
