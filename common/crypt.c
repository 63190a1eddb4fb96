/*
 * crypt.c -- payload encryption (crypt.h): the keyring, key files, and
 * sealing / opening JSON texts with AES-256-GCM (OpenSSL EVP).  The format
 * and the additional authenticated data are drawn in crypt.h.
 */
#include "crypt.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"

typedef struct baton_crypt_key {
    char kid[BATON_CRYPT_KID_MAX + 1];
    unsigned char key[BATON_CRYPT_KEY_LEN];
} baton_crypt_key_t;

struct baton_crypt {
    baton_crypt_key_t keys[BATON_CRYPT_KEYS_MAX];
    size_t nkeys;
    int active;   /* index in keys, -1 = none */
    char *queues; /* "*" or ",q1,q2," (commas around each name) */
};

#define BATON_CRYPT_PREFIX "{\"" BATON_CRYPT_KEY "\":\""
#define BATON_CRYPT_AAD_TAG "baton-enc-v1"

baton_crypt_t *baton_crypt_new(void) {
    baton_crypt_t *kr = baton_calloc(1, sizeof *kr);
    if (!kr) return NULL;
    kr->active = -1;
    return kr;
}

void baton_crypt_destroy(baton_crypt_t *kr) {
    if (!kr) return;
    OPENSSL_cleanse(kr->keys, sizeof kr->keys);
    baton_free(kr->queues);
    baton_free(kr);
}

/* 1 when kid is 1..BATON_CRYPT_KID_MAX of [A-Za-z0-9._-]. */
static int baton_crypt_kid_ok(const char *kid, size_t n) {
    if (!n || n > BATON_CRYPT_KID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)kid[i]) && !strchr("._-", kid[i])) return 0;
    return 1;
}

/* The index of kid (n bytes) in kr, -1 when absent. */
static int baton_crypt_find(const baton_crypt_t *kr, const char *kid,
                            size_t n) {
    for (size_t i = 0; i < kr->nkeys; i++)
        if (strlen(kr->keys[i].kid) == n && !memcmp(kr->keys[i].kid, kid, n))
            return (int)i;
    return -1;
}

baton_err_t baton_crypt_add_key(baton_crypt_t *kr, const char *kid,
                                const unsigned char *key, char *errstr,
                                size_t errlen) {
    if (!baton_crypt_kid_ok(kid, strlen(kid)))
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "crypt: bad key id '%.80s' (1-%d of "
                            "[A-Za-z0-9._-])",
                            kid, BATON_CRYPT_KID_MAX);
    if (baton_crypt_find(kr, kid, strlen(kid)) >= 0)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "crypt: key id '%s' given twice", kid);
    if (kr->nkeys == BATON_CRYPT_KEYS_MAX)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "crypt: more than %d keys", BATON_CRYPT_KEYS_MAX);
    snprintf(kr->keys[kr->nkeys].kid, sizeof kr->keys[0].kid, "%s", kid);
    memcpy(kr->keys[kr->nkeys].key, key, BATON_CRYPT_KEY_LEN);
    kr->nkeys++;
    return BATON_OK;
}

static int baton_crypt_hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The key in a file's bytes: 32 raw, or 64 hex digits; a trailing
 * newline (\n or \r\n) is cut first unless the file is exactly 32 bytes.
 * 0 ok, -1 neither form. */
static int baton_crypt_key_parse(const unsigned char *b, size_t n,
                                 unsigned char key[BATON_CRYPT_KEY_LEN]) {
    if (n == BATON_CRYPT_KEY_LEN) {
        memcpy(key, b, n);
        return 0;
    }
    while (n && (b[n - 1] == '\n' || b[n - 1] == '\r')) n--;
    if (n != 2 * BATON_CRYPT_KEY_LEN) return -1;
    for (size_t i = 0; i < BATON_CRYPT_KEY_LEN; i++) {
        int hi = baton_crypt_hexval(b[2 * i]),
            lo = baton_crypt_hexval(b[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

baton_err_t baton_crypt_load_key_file(baton_crypt_t *kr, const char *kid,
                                      const char *path, char *errstr,
                                      size_t errlen) {
    char err[256];
    size_t n = 0;
    unsigned char key[BATON_CRYPT_KEY_LEN];
    char *b = baton_read_file(path, &n, err, sizeof err);
    baton_err_t rc;
    if (!b)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "crypt: key '%s': %s", kid, err);
    rc = baton_crypt_key_parse((unsigned char *)b, n, key)
             ? baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "crypt: key '%s' in %s: not 32 bytes nor 64 hex "
                            "digits (%zu bytes)",
                            kid, path, n)
             : baton_crypt_add_key(kr, kid, key, errstr, errlen);
    OPENSSL_cleanse(b, n);
    OPENSSL_cleanse(key, sizeof key);
    baton_free(b);
    return rc;
}

baton_err_t baton_crypt_load_dir(baton_crypt_t *kr, const char *dir,
                                 char *errstr, size_t errlen) {
    DIR *d = opendir(dir);
    struct dirent *de;
    baton_err_t rc = BATON_OK;
    if (!d)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "crypt: cannot open crypt.keys.dir %s: %s", dir,
                            strerror(errno));
    while (!rc && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        char kid[BATON_CRYPT_KID_MAX + 1], path[4096];
        struct stat sb;
        if (n <= 4 || strcmp(de->d_name + n - 4, ".key")) continue;
        if (n - 4 > BATON_CRYPT_KID_MAX) {
            rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                              "crypt: key file name too long in %s", dir);
            break;
        }
        memcpy(kid, de->d_name, n - 4);
        kid[n - 4] = '\0';
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (!stat(path, &sb) && (sb.st_mode & 077))
            BATON_WARN("crypt",
                       "key file %s is readable by others than its owner "
                       "(mode %03o): chmod 0400 it",
                       path, (unsigned)(sb.st_mode & 0777));
        rc = baton_crypt_load_key_file(kr, kid, path, errstr, errlen);
    }
    closedir(d);
    return rc;
}

baton_err_t baton_crypt_set_active(baton_crypt_t *kr, const char *kid,
                                   char *errstr, size_t errlen) {
    int i = baton_crypt_find(kr, kid, strlen(kid));
    if (i < 0)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "crypt: active key '%.80s' is not among the %zu "
                            "keys loaded",
                            kid, kr->nkeys);
    kr->active = i;
    return BATON_OK;
}

const char *baton_crypt_active(const baton_crypt_t *kr) {
    return kr && kr->active >= 0 ? kr->keys[kr->active].kid : NULL;
}

size_t baton_crypt_count(const baton_crypt_t *kr) {
    return kr ? kr->nkeys : 0;
}

baton_err_t baton_crypt_set_queues(baton_crypt_t *kr, const char *list,
                                   char *errstr, size_t errlen) {
    size_t n = strlen(list);
    char *q = baton_malloc(n + 3), *w = q;
    if (!q)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "crypt: out of memory");
    *w++ = ',';
    for (const char *p = list; *p; p++)
        if (!isspace((unsigned char)*p)) *w++ = *p;
    *w++ = ',';
    *w = '\0';
    baton_free(kr->queues);
    kr->queues = q;
    if (!strcmp(q, ",*,") || !strcmp(q, ",,")) { /* all (empty = all) */
        baton_free(kr->queues);
        kr->queues = NULL;
    }
    return BATON_OK;
}

int baton_crypt_queue_on(const baton_crypt_t *kr, const char *q) {
    const char *p;
    size_t n;
    if (!kr || kr->active < 0) return 0;
    if (!kr->queues) return 1;
    if (!q) return 0;
    n = strlen(q);
    for (p = strstr(kr->queues, q); p; p = strstr(p + 1, q))
        if (p[-1] == ',' && p[n] == ',') return 1;
    return 0;
}

baton_err_t baton_crypt_new_conf(const baton_conf_t *conf, baton_crypt_t **out,
                                 char *errstr, size_t errlen) {
    const char *dir = baton_conf_get(conf, "crypt.keys.dir");
    const char *active = baton_conf_get(conf, "crypt.active.key");
    const char *queues = baton_conf_get(conf, "crypt.queues");
    baton_crypt_t *kr;
    baton_err_t rc;
    *out = NULL;
    if (!dir || !*dir) return BATON_OK;
    if (!(kr = baton_crypt_new()))
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "crypt: out of memory");
    if (!(rc = baton_crypt_load_dir(kr, dir, errstr, errlen)) && !kr->nkeys)
        rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                          "crypt: no key file (<key id>.key) in "
                          "crypt.keys.dir %s",
                          dir);
    if (!rc && active && *active)
        rc = baton_crypt_set_active(kr, active, errstr, errlen);
    else if (!rc && kr->nkeys == 1)
        kr->active = 0; /* one key: it is the active one */
    else if (!rc)
        rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                          "crypt: %zu keys in %s and no crypt.active.key",
                          kr->nkeys, dir);
    if (!rc && queues) rc = baton_crypt_set_queues(kr, queues, errstr, errlen);
    if (rc) {
        baton_crypt_destroy(kr);
        return rc;
    }
    *out = kr;
    return BATON_OK;
}

/* ---- the sealed form ------------------------------------------------- */

/* The value of the sealed form's one key ("v1:<kid>:<b64>"), borrowed
 * from the parsed object, or NULL when text is not sealed JSON. */
static const char *baton_crypt_body(const char *text, size_t len,
                                    json_t **obj) {
    const char *p = text, *end = text + len;
    json_t *v;
    *obj = NULL;
    while (p < end && isspace((unsigned char)*p)) p++;
    if (p == end || *p != '{') return NULL;
    for (p++; p < end && isspace((unsigned char)*p); p++) {
    }
    if ((size_t)(end - p) < sizeof BATON_CRYPT_KEY + 1 ||
        memcmp(p, "\"" BATON_CRYPT_KEY "\"", sizeof BATON_CRYPT_KEY + 1))
        return NULL;
    if (!(v = json_loadb(text, len, 0, NULL))) return NULL;
    if (!json_is_object(v) || json_object_size(v) != 1 ||
        !json_is_string(json_object_get(v, BATON_CRYPT_KEY))) {
        json_decref(v);
        return NULL;
    }
    *obj = v;
    return json_string_value(json_object_get(v, BATON_CRYPT_KEY));
}

int baton_crypt_is_sealed(const char *text, size_t len,
                          char kid[BATON_CRYPT_KID_MAX + 1]) {
    json_t *o;
    const char *b = baton_crypt_body(text, len, &o), *c;
    int ok = 0;
    if (!b) return 0;
    if (!strncmp(b, BATON_CRYPT_VERSION ":", 3) && (c = strchr(b + 3, ':')) &&
        baton_crypt_kid_ok(b + 3, (size_t)(c - b - 3))) {
        ok = 1;
        if (kid) {
            memcpy(kid, b + 3, (size_t)(c - b - 3));
            kid[c - b - 3] = '\0';
        }
    }
    json_decref(o);
    return ok;
}

/* The AAD of (place, owner) into a new buffer; NULL when out of memory. */
static unsigned char *baton_crypt_aad(const char *place, const char *owner,
                                      size_t *n) {
    size_t a = sizeof BATON_CRYPT_AAD_TAG, b = strlen(place) + 1,
           c = strlen(owner);
    unsigned char *p = baton_malloc(a + b + c + 1);
    if (!p) return NULL;
    memcpy(p, BATON_CRYPT_AAD_TAG, a);
    memcpy(p + a, place, b);
    memcpy(p + a + b, owner, c);
    *n = a + b + c;
    return p;
}

/* One AES-256-GCM pass: enc 1 seals in into out (same length) and writes
 * tag; enc 0 opens and checks tag.  0 ok, -1 failure (authentication). */
static int baton_crypt_gcm(int enc, const unsigned char *key,
                           const unsigned char *nonce, const unsigned char *aad,
                           size_t aadlen, const unsigned char *in, size_t n,
                           unsigned char *out, unsigned char *tag) {
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int len = 0, ok = 0;
    const int chunk = 1 << 30;
    if (!x) return -1;
    if (EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, BATON_CRYPT_NONCE_LEN,
                            NULL) != 1 ||
        EVP_CipherInit_ex(x, NULL, NULL, key, nonce, enc) != 1 ||
        EVP_CipherUpdate(x, NULL, &len, aad, (int)aadlen) != 1)
        goto out;
    for (size_t off = 0; off < n; off += (size_t)chunk) {
        int step = n - off < (size_t)chunk ? (int)(n - off) : chunk;
        if (EVP_CipherUpdate(x, out + off, &len, in + off, step) != 1) goto out;
    }
    if (!enc && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG,
                                    BATON_CRYPT_TAG_LEN, tag) != 1)
        goto out;
    if (EVP_CipherFinal_ex(x, out + n, &len) != 1) goto out;
    if (enc && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, BATON_CRYPT_TAG_LEN,
                                   tag) != 1)
        goto out;
    ok = 1;
out:
    EVP_CIPHER_CTX_free(x);
    return ok ? 0 : -1;
}

baton_err_t baton_crypt_seal(const baton_crypt_t *kr, const char *place,
                             const char *owner, const char *text, size_t len,
                             char **out, size_t *outlen, char *errstr,
                             size_t errlen) {
    const baton_crypt_key_t *k;
    size_t raw_n = BATON_CRYPT_NONCE_LEN + len + BATON_CRYPT_TAG_LEN,
           aadlen = 0, head, b64_n = 4 * ((raw_n + 2) / 3);
    unsigned char *raw = NULL, *aad = NULL;
    char *s = NULL;
    baton_err_t rc = BATON_ERR_NOMEM;

    *out = NULL;
    *outlen = 0;
    if (!kr || kr->active < 0)
        return baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                            "crypt: sealing %s of %.200s: no active key", place,
                            owner);
    k = &kr->keys[kr->active];
    head = sizeof BATON_CRYPT_PREFIX - 1 + 3 + strlen(k->kid) + 1;
    if (!(raw = baton_malloc(raw_n)) ||
        !(aad = baton_crypt_aad(place, owner, &aadlen)) ||
        !(s = baton_malloc(head + b64_n + 3)))
        goto fail;
    if (RAND_bytes(raw, BATON_CRYPT_NONCE_LEN) != 1) {
        rc = baton_seterr(errstr, errlen, BATON_ERR_IO,
                          "crypt: no random nonce from OpenSSL");
        goto done;
    }
    if (baton_crypt_gcm(
            1, k->key, raw, aad, aadlen, (const unsigned char *)text, len,
            raw + BATON_CRYPT_NONCE_LEN, raw + BATON_CRYPT_NONCE_LEN + len)) {
        rc = baton_seterr(errstr, errlen, BATON_ERR_IO,
                          "crypt: sealing %s of %.200s with key '%s' failed",
                          place, owner, k->kid);
        goto done;
    }
    snprintf(s, head + 1,
             BATON_CRYPT_PREFIX BATON_CRYPT_VERSION ":%s:", k->kid);
    if (EVP_EncodeBlock((unsigned char *)s + head, raw, (int)raw_n) !=
        (int)b64_n)
        goto fail;
    memcpy(s + head + b64_n, "\"}", 3);
    *out = s;
    *outlen = head + b64_n + 2;
    s = NULL;
    rc = BATON_OK;
    goto done;
fail:
    rc = baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                      "crypt: sealing %s of %.200s: out of memory", place,
                      owner);
done:
    baton_free(raw);
    baton_free(aad);
    baton_free(s);
    return rc;
}

/* Decodes standard base64 (len a multiple of 4) into a new buffer: *n the
 * byte count.  NULL when malformed or out of memory. */
static unsigned char *baton_crypt_unbase64(const char *b, size_t len,
                                           size_t *n) {
    unsigned char *raw;
    int got;
    size_t pad = 0;
    if (!len || len % 4) return NULL;
    if (b[len - 1] == '=') pad++;
    if (b[len - 2] == '=') pad++;
    if (!(raw = baton_malloc(len / 4 * 3 + 1))) return NULL;
    got = EVP_DecodeBlock(raw, (const unsigned char *)b, (int)len);
    if (got < 0 || (size_t)got != len / 4 * 3) {
        baton_free(raw);
        return NULL;
    }
    *n = (size_t)got - pad;
    return raw;
}

baton_err_t baton_crypt_open(const baton_crypt_t *kr, const char *place,
                             const char *owner, const char *text, size_t len,
                             char **out, size_t *outlen, char *errstr,
                             size_t errlen) {
    json_t *o;
    const char *body = baton_crypt_body(text, len, &o), *c;
    unsigned char *raw = NULL, *aad = NULL;
    char *plain = NULL;
    size_t raw_n = 0, aadlen = 0, n;
    int ki;
    baton_err_t rc;

    *out = NULL;
    *outlen = 0;
    if (!body) return BATON_OK; /* plaintext */
    if (strncmp(body, BATON_CRYPT_VERSION ":", 3) ||
        !(c = strchr(body + 3, ':')) ||
        !baton_crypt_kid_ok(body + 3, (size_t)(c - body - 3))) {
        rc = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                          "crypt: %s of %.200s: malformed %s value", place,
                          owner, BATON_CRYPT_KEY);
        goto done;
    }
    if (!kr) {
        rc = baton_seterr(errstr, errlen, BATON_ERR_CONFIG,
                          "crypt: %s of %.200s is encrypted with key '%.*s' "
                          "and no keys are configured (crypt.keys.dir)",
                          place, owner, (int)(c - body - 3), body + 3);
        goto done;
    }
    if ((ki = baton_crypt_find(kr, body + 3, (size_t)(c - body - 3))) < 0) {
        rc = baton_seterr(errstr, errlen, BATON_ERR_NOTFOUND,
                          "crypt: %s of %.200s is encrypted with key '%.*s', "
                          "which is not among the keys loaded",
                          place, owner, (int)(c - body - 3), body + 3);
        goto done;
    }
    if (!(raw = baton_crypt_unbase64(c + 1, strlen(c + 1), &raw_n)) ||
        raw_n < BATON_CRYPT_NONCE_LEN + BATON_CRYPT_TAG_LEN) {
        rc = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                          "crypt: %s of %.200s (key '%s'): malformed "
                          "ciphertext",
                          place, owner, kr->keys[ki].kid);
        goto done;
    }
    n = raw_n - BATON_CRYPT_NONCE_LEN - BATON_CRYPT_TAG_LEN;
    rc = BATON_ERR_NOMEM;
    if (!(aad = baton_crypt_aad(place, owner, &aadlen)) ||
        !(plain = baton_malloc(n + 1))) {
        rc = baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                          "crypt: opening %s of %.200s: out of memory", place,
                          owner);
        goto done;
    }
    if (baton_crypt_gcm(0, kr->keys[ki].key, raw, aad, aadlen,
                        raw + BATON_CRYPT_NONCE_LEN, n, (unsigned char *)plain,
                        raw + BATON_CRYPT_NONCE_LEN + n)) {
        rc = baton_seterr(errstr, errlen, BATON_ERR_INVALID,
                          "crypt: %s of %.200s does not authenticate with key "
                          "'%s' (altered, or sealed for another place)",
                          place, owner, kr->keys[ki].kid);
        goto done;
    }
    plain[n] = '\0';
    *out = plain;
    *outlen = n;
    plain = NULL;
    rc = BATON_OK;
done:
    json_decref(o);
    baton_free(raw);
    baton_free(aad);
    baton_free(plain);
    return rc;
}
