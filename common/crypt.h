/*
 * crypt.h -- payload encryption: a keyring of AES-256-GCM keys named by key
 * id, and the encrypted form of a JSON text.  Pure (libcrypto's EVP and
 * RAND, plus reading key files; no Kafka, no Redis): the edges call it
 * where a run's data leaves or enters the process -- the wire codec
 * (common/codec_crypt.c: payload fields of every envelope), batond's store
 * (snapshots, history), the claim check's store (common/blob_store.c:
 * blobs), the worker SDK and the client library.  The core works on
 * plaintext.  docs/security.md "Payload encryption" is the reference.
 *
 * The encrypted form ("sealed JSON") of a JSON text T is itself JSON:
 *
 *   {"$baton_enc":"v1:<kid>:<base64(nonce | ciphertext | tag)>"}
 *
 *   kid         the key id: 1..BATON_CRYPT_KID_MAX of [A-Za-z0-9._-]
 *   nonce       12 random bytes (RAND_bytes), new for every seal
 *   ciphertext  AES-256-GCM of T's bytes, as long as T
 *   tag         the 16-byte GCM tag
 *   base64      standard alphabet with padding, no line breaks
 *
 * The additional authenticated data binds a ciphertext to its place:
 *
 *   "baton-enc-v1" NUL <place> NUL <owner>
 *
 * place names the field ("task.input", "result.output", "snapshot",
 * "history.data", "blob" ...) and owner the workflow id (for a blob: its
 * SHA-256 hex), so a ciphertext moved to another field or another run does
 * not decrypt.  A text that is not sealed JSON is plaintext: opening it
 * hands it back unchanged, so turning encryption on keeps old data
 * readable.
 *
 * Keys: 32 bytes each, from files holding the 32 raw bytes or 64 hex
 * digits (a trailing newline allowed); crypt.keys.dir names a folder whose
 * files <kid>.key are the keys.  One key is active (crypt.active.key): it
 * seals; every key opens.  Rotation: add a key file, make it active,
 * restart; what the old key sealed stays readable while its file stays.
 * Key bytes are never logged and are wiped when the keyring is destroyed.
 *
 * Thread: a keyring is read-only once built; any thread may seal and open
 * with it at once.
 */
#ifndef BATON_CRYPT_H
#define BATON_CRYPT_H

#include <stddef.h>

#include "baton_common.h"

#define BATON_CRYPT_KEY "$baton_enc"
#define BATON_CRYPT_VERSION "v1"
#define BATON_CRYPT_KID_MAX 64
#define BATON_CRYPT_KEY_LEN 32
#define BATON_CRYPT_NONCE_LEN 12
#define BATON_CRYPT_TAG_LEN 16
#define BATON_CRYPT_KEYS_MAX 64

typedef struct baton_crypt baton_crypt_t;
struct baton_conf;

/* An empty keyring (no key, nothing active); NULL when memory ran out. */
baton_crypt_t *baton_crypt_new(void);
/* Wipes the keys and frees; NULL is a no-op. */
void baton_crypt_destroy(baton_crypt_t *kr);

/* Adds key kid (32 bytes, copied).  BATON_ERR_CONFIG for a bad id, a
 * duplicate id or a full keyring. */
baton_err_t baton_crypt_add_key(baton_crypt_t *kr, const char *kid,
                                const unsigned char *key, char *errstr,
                                size_t errlen);
/* Adds key kid from a file of 32 raw bytes or 64 hex digits (trailing
 * newline allowed).  Errors name the key id and the path, never bytes. */
baton_err_t baton_crypt_load_key_file(baton_crypt_t *kr, const char *kid,
                                      const char *path, char *errstr,
                                      size_t errlen);
/* Adds every file <kid>.key of dir (other names are ignored). */
baton_err_t baton_crypt_load_dir(baton_crypt_t *kr, const char *dir,
                                 char *errstr, size_t errlen);
/* Makes kid (a key already added) the one that seals. */
baton_err_t baton_crypt_set_active(baton_crypt_t *kr, const char *kid,
                                   char *errstr, size_t errlen);
/* The active key id, or NULL when the keyring only opens. */
const char *baton_crypt_active(const baton_crypt_t *kr);
/* Number of keys held. */
size_t baton_crypt_count(const baton_crypt_t *kr);

/* Which task queues get sealed task inputs: "*" (the default) or a comma
 * list of queue names (workers of other queues, e.g. Python or Node ones,
 * then get plaintext). */
baton_err_t baton_crypt_set_queues(baton_crypt_t *kr, const char *list,
                                   char *errstr, size_t errlen);
/* 1 when tasks of queue q are sealed (kr has an active key and q is in the
 * list); kr NULL: 0. */
int baton_crypt_queue_on(const baton_crypt_t *kr, const char *q);

/* The keyring a process's configuration asks for (crypt.keys.dir,
 * crypt.active.key, crypt.queues): *out NULL and BATON_OK when encryption
 * is not configured (crypt.keys.dir empty).  BATON_ERR_CONFIG when a key
 * file is bad or the active key is not among the keys. */
baton_err_t baton_crypt_new_conf(const struct baton_conf *conf,
                                 baton_crypt_t **out, char *errstr,
                                 size_t errlen);

/* 1 when text (len bytes) is sealed JSON (an object of the one key
 * "$baton_enc"); kid (when not NULL) gets its key id. */
int baton_crypt_is_sealed(const char *text, size_t len,
                          char kid[BATON_CRYPT_KID_MAX + 1]);

/* Seals text with the active key for (place, owner): *out the sealed JSON
 * (baton_malloc'd, NUL ended, *outlen its length).  BATON_ERR_CONFIG when
 * kr has no active key. */
baton_err_t baton_crypt_seal(const baton_crypt_t *kr, const char *place,
                             const char *owner, const char *text, size_t len,
                             char **out, size_t *outlen, char *errstr,
                             size_t errlen);

/* Opens sealed JSON for (place, owner): *out the plaintext (baton_malloc'd,
 * NUL ended), or NULL when text is not sealed (plaintext: nothing to do).
 * Refused: kr NULL (BATON_ERR_CONFIG: "no keys configured"), a key id kr
 * does not hold (BATON_ERR_NOTFOUND, naming it), a malformed form, or a
 * ciphertext that fails authentication (altered, or of another place or
 * owner; BATON_ERR_INVALID). */
baton_err_t baton_crypt_open(const baton_crypt_t *kr, const char *place,
                             const char *owner, const char *text, size_t len,
                             char **out, size_t *outlen, char *errstr,
                             size_t errlen);

#endif /* BATON_CRYPT_H */
