/*
 * hash.c -- the digests of the States.Hash intrinsic (hash.h): MD5, SHA-1,
 * SHA-256, SHA-384 and SHA-512, computed by OpenSSL's libcrypto (EVP API).
 *
 * Why libcrypto: it is already on every machine that runs Baton (librdkafka
 * and libcurl link it), it is tested and maintained far beyond what a
 * hand-written implementation here would be, and it takes this file from
 * ~350 lines of bit twiddling to a table.  Baton keeps hand-written code
 * only for what no library it already uses does.
 *
 * One-shot over a buffer: payloads are small and held in memory.  EVP_Digest
 * allocates its context per call, so the functions are thread-safe; they
 * can fail only on allocation failure inside libcrypto, in which case the
 * digest is all zeros (fixed-size API) and baton_asl_hash returns 0.
 */
#include "hash.h"

#include <openssl/evp.h>
#include <string.h>

typedef struct hash_algo {
    const char *name; /* as States.Hash names it */
    const EVP_MD *(*md)(void);
    size_t len;
} hash_algo_t;

static const hash_algo_t hash_algos[] = {
    {"MD5", EVP_md5, 16},        {"SHA-1", EVP_sha1, 20},
    {"SHA-256", EVP_sha256, 32}, {"SHA-384", EVP_sha384, 48},
    {"SHA-512", EVP_sha512, 64},
};

/* Digests data with md into out (len bytes).  Returns len, or 0 (out
 * zeroed) when libcrypto fails. */
static size_t hash_run(const EVP_MD *md, const void *data, size_t len,
                       uint8_t *out, size_t out_len) {
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, md, NULL) || n != out_len) {
        memset(out, 0, out_len);
        return 0;
    }
    return n;
}

void baton_asl_md5(const void *data, size_t len, uint8_t out[16]) {
    hash_run(EVP_md5(), data, len, out, 16);
}

void baton_asl_sha1(const void *data, size_t len, uint8_t out[20]) {
    hash_run(EVP_sha1(), data, len, out, 20);
}

void baton_asl_sha256(const void *data, size_t len, uint8_t out[32]) {
    hash_run(EVP_sha256(), data, len, out, 32);
}

void baton_asl_sha384(const void *data, size_t len, uint8_t out[48]) {
    hash_run(EVP_sha384(), data, len, out, 48);
}

void baton_asl_sha512(const void *data, size_t len, uint8_t out[64]) {
    hash_run(EVP_sha512(), data, len, out, 64);
}

size_t baton_asl_hash(const char *algorithm, const void *data, size_t len,
                      uint8_t out[BATON_ASL_HASH_MAX]) {
    for (size_t i = 0; i < sizeof hash_algos / sizeof hash_algos[0]; i++)
        if (!strcmp(hash_algos[i].name, algorithm))
            return hash_run(hash_algos[i].md(), data, len, out,
                            hash_algos[i].len);
    return 0;
}
