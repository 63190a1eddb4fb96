/*
 * hash.h -- the message digests of the States.Hash intrinsic function
 * (MD5, SHA-1, SHA-256, SHA-384, SHA-512), one-shot over a buffer.
 *
 * Part of the ASL interpreter (intrinsic.c), computed by OpenSSL's
 * libcrypto (hash.c).  These are checksums for payload data, not a security
 * boundary.  Pure functions, any thread.
 */
#ifndef BATON_ASL_HASH_H
#define BATON_ASL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define BATON_ASL_HASH_MAX 64 /* bytes of the longest digest (SHA-512) */

void baton_asl_md5(const void *data, size_t len, uint8_t out[16]);
void baton_asl_sha1(const void *data, size_t len, uint8_t out[20]);
void baton_asl_sha256(const void *data, size_t len, uint8_t out[32]);
void baton_asl_sha384(const void *data, size_t len, uint8_t out[48]);
void baton_asl_sha512(const void *data, size_t len, uint8_t out[64]);

/* Digests `data` with the algorithm named as States.Hash names it ("MD5",
 * "SHA-1", "SHA-256", "SHA-384", "SHA-512") into `out` and returns the
 * digest length, or 0 for an unknown algorithm. */
size_t baton_asl_hash(const char *algorithm, const void *data, size_t len,
                      uint8_t out[BATON_ASL_HASH_MAX]);

#endif /* BATON_ASL_HASH_H */
