/*
 * test_crypt.c -- payload encryption (common/crypt.h) and its use by the
 * wire codec (common/codec_crypt.c): a sealed text opens back to the same
 * bytes, tampering, another place or owner and unknown key ids are
 * refused with the key id named, bad key files are refused, rotation keeps
 * old ciphertext readable, plaintext passes unchanged, and an envelope's
 * payload fields travel sealed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "codec.h"
#include "crypt.h"

static char dir[256];

/* Writes n bytes to dir/name. */
static void put_file(const char *name, const void *b, size_t n) {
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f) abort();
    fwrite(b, 1, n, f);
    fclose(f);
}

static void rm_file(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static baton_crypt_t *ring(const char *active) {
    char err[512];
    baton_crypt_t *kr = baton_crypt_new();
    if (baton_crypt_load_dir(kr, dir, err, sizeof err) ||
        (active && baton_crypt_set_active(kr, active, err, sizeof err))) {
        fprintf(stderr, "ring: %s\n", err);
        abort();
    }
    return kr;
}

static void test_round_trip(void) {
    baton_crypt_t *kr = ring("k1");
    const char *t = "{\"secret\":\"MARKER-123\",\"n\":[1,2,3]}";
    char *s = NULL, *p = NULL, *s2 = NULL, err[512],
         kid[BATON_CRYPT_KID_MAX + 1];
    size_t sn, pn, s2n;
    CHECK(!baton_crypt_seal(kr, "task.input", "wf-1", t, strlen(t), &s, &sn,
                            err, sizeof err),
          "seal");
    CHECK(s && !strstr(s, "MARKER"), "no plaintext in the sealed form");
    CHECK(s && !strncmp(s, "{\"$baton_enc\":\"v1:k1:", 21), "marked, key id");
    CHECK(s && baton_crypt_is_sealed(s, sn, kid) && !strcmp(kid, "k1"),
          "is_sealed names the key");
    {
        json_t *j = s ? json_loads(s, 0, NULL) : NULL;
        CHECK(j != NULL, "sealed form is JSON");
        json_decref(j);
    }
    CHECK(!baton_crypt_open(kr, "task.input", "wf-1", s, sn, &p, &pn, err,
                            sizeof err) &&
              p && pn == strlen(t) && !strcmp(p, t),
          "opens to the same bytes");
    CHECK(!baton_crypt_seal(kr, "task.input", "wf-1", t, strlen(t), &s2, &s2n,
                            err, sizeof err) &&
              strcmp(s, s2),
          "a fresh nonce each time");
    baton_free(p);
    p = NULL;
    /* plaintext passes */
    CHECK(!baton_crypt_open(kr, "task.input", "wf-1", t, strlen(t), &p, &pn,
                            err, sizeof err) &&
              !p,
          "plaintext: nothing to open");
    CHECK(!baton_crypt_is_sealed("{\"$baton_enc\":1}", 16, NULL),
          "a number under the key is no seal");
    /* empty text */
    baton_free(s2);
    CHECK(!baton_crypt_seal(kr, "x", "y", "", 0, &s2, &s2n, err, sizeof err) &&
              !baton_crypt_open(kr, "x", "y", s2, s2n, &p, &pn, err,
                                sizeof err) &&
              p && pn == 0,
          "empty text round trip");
    baton_free(p);
    baton_free(s);
    baton_free(s2);
    baton_crypt_destroy(kr);
}

static void test_refused(void) {
    baton_crypt_t *kr = ring("k1"), *other;
    const char *t = "\"MARKER\"";
    char *s = NULL, *p = NULL, err[512];
    size_t sn, pn;
    baton_err_t rc;
    baton_crypt_seal(kr, "result.output", "wf-1", t, strlen(t), &s, &sn, err,
                     sizeof err);
    /* tamper: flip one base64 character in the middle */
    {
        char *c = baton_strdup(s);
        size_t mid = sn - 10;
        c[mid] = c[mid] == 'A' ? 'B' : 'A';
        rc = baton_crypt_open(kr, "result.output", "wf-1", c, sn, &p, &pn, err,
                              sizeof err);
        CHECK(rc == BATON_ERR_INVALID && !p && strstr(err, "k1") &&
                  strstr(err, "authenticate"),
              "tampered ciphertext refused");
        baton_free(c);
    }
    rc = baton_crypt_open(kr, "result.output", "wf-2", s, sn, &p, &pn, err,
                          sizeof err);
    CHECK(rc == BATON_ERR_INVALID && !p, "another owner (run) refused");
    rc = baton_crypt_open(kr, "task.input", "wf-1", s, sn, &p, &pn, err,
                          sizeof err);
    CHECK(rc == BATON_ERR_INVALID && !p, "another place refused");
    rc = baton_crypt_open(NULL, "result.output", "wf-1", s, sn, &p, &pn, err,
                          sizeof err);
    CHECK(rc == BATON_ERR_CONFIG && strstr(err, "'k1'"),
          "no keyring: refused, names the key id");
    /* a keyring without k1 */
    rm_file("k1.key");
    other = ring("k2");
    rc = baton_crypt_open(other, "result.output", "wf-1", s, sn, &p, &pn, err,
                          sizeof err);
    CHECK(rc == BATON_ERR_NOTFOUND && strstr(err, "'k1'"),
          "unknown key id: refused, named");
    /* k2 holds other bytes under the name k1: authentication fails */
    baton_crypt_destroy(other);
    {
        unsigned char wrong[32];
        memset(wrong, 7, sizeof wrong);
        put_file("k1.key", wrong, sizeof wrong);
        other = ring("k1");
        rc = baton_crypt_open(other, "result.output", "wf-1", s, sn, &p, &pn,
                              err, sizeof err);
        CHECK(rc == BATON_ERR_INVALID, "wrong key bytes: refused");
        baton_crypt_destroy(other);
    }
    CHECK(baton_crypt_open(kr, "p", "o", "{\"$baton_enc\":\"v1:k1:!!\"}", 25,
                           &p, &pn, err, sizeof err) == BATON_ERR_INVALID,
          "malformed base64 refused");
    CHECK(baton_crypt_open(kr, "p", "o", "{\"$baton_enc\":\"v9:k1:AAAA\"}", 27,
                           &p, &pn, err, sizeof err) == BATON_ERR_INVALID,
          "unknown version refused");
    baton_free(s);
    baton_crypt_destroy(kr);
}

static void test_key_files(void) {
    char err[512];
    baton_crypt_t *kr = baton_crypt_new();
    const char hex[] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    char path[512];
    put_file("short.bin", "abc", 3);
    snprintf(path, sizeof path, "%s/short.bin", dir);
    CHECK(baton_crypt_load_key_file(kr, "s", path, err, sizeof err) ==
                  BATON_ERR_CONFIG &&
              strstr(err, "'s'") && !strstr(err, "abc"),
          "short key file refused, named, no bytes shown");
    put_file("badhex.bin",
             "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
             64);
    snprintf(path, sizeof path, "%s/badhex.bin", dir);
    CHECK(baton_crypt_load_key_file(kr, "h", path, err, sizeof err) ==
              BATON_ERR_CONFIG,
          "bad hex refused");
    snprintf(path, sizeof path, "%s/missing.key.none", dir);
    CHECK(baton_crypt_load_key_file(kr, "m", path, err, sizeof err) ==
                  BATON_ERR_CONFIG &&
              strstr(err, "'m'"),
          "missing file refused");
    put_file("hex.bin", hex, sizeof hex - 1);
    snprintf(path, sizeof path, "%s/hex.bin", dir);
    CHECK(!baton_crypt_load_key_file(kr, "hx", path, err, sizeof err),
          "64 hex digits and a newline accepted");
    CHECK(baton_crypt_load_key_file(kr, "hx", path, err, sizeof err) ==
              BATON_ERR_CONFIG,
          "duplicate id refused");
    CHECK(baton_crypt_load_key_file(kr, "a/b", path, err, sizeof err) ==
              BATON_ERR_CONFIG,
          "bad key id refused");
    CHECK(baton_crypt_set_active(kr, "nope", err, sizeof err) ==
              BATON_ERR_CONFIG,
          "unknown active key refused");
    baton_crypt_destroy(kr);
    rm_file("short.bin");
    rm_file("badhex.bin");
    rm_file("hex.bin");
}

static void test_rotation_and_queues(void) {
    baton_crypt_t *old, *kr;
    char *s = NULL, *p = NULL, err[512], kid[BATON_CRYPT_KID_MAX + 1];
    size_t sn, pn;
    unsigned char k3[32];
    memset(k3, 3, sizeof k3);
    old = ring("k2");
    baton_crypt_seal(old, "snapshot", "wf", "{}", 2, &s, &sn, err, sizeof err);
    put_file("k3.key", k3, sizeof k3);
    kr = ring("k3");
    CHECK(!strcmp(baton_crypt_active(kr), "k3"), "k3 active");
    CHECK(!baton_crypt_open(kr, "snapshot", "wf", s, sn, &p, &pn, err,
                            sizeof err) &&
              p && !strcmp(p, "{}"),
          "old key's data still opens after rotation");
    baton_free(s);
    baton_crypt_seal(kr, "snapshot", "wf", "{}", 2, &s, &sn, err, sizeof err);
    CHECK(baton_crypt_is_sealed(s, sn, kid) && !strcmp(kid, "k3"),
          "new data under the new key");
    CHECK(baton_crypt_queue_on(kr, "llm"), "all queues by default");
    baton_crypt_set_queues(kr, "llm, c-workers", err, sizeof err);
    CHECK(baton_crypt_queue_on(kr, "llm") &&
              baton_crypt_queue_on(kr, "c-workers") &&
              !baton_crypt_queue_on(kr, "python") &&
              !baton_crypt_queue_on(kr, "ll"),
          "queue list");
    baton_free(s);
    baton_free(p);
    baton_crypt_destroy(old);
    baton_crypt_destroy(kr);
}

static void test_codec(void) {
    char err[512], *buf = NULL;
    size_t len;
    baton_codec_t *c = baton_codec_new(err, sizeof err),
                  *plain = baton_codec_new(err, sizeof err);
    baton_crypt_t *kr = ring("k3");
    baton_task_t t = {0}, got = {0};
    baton_result_t r = {0}, rgot = {0};
    t.task_id = "wf-9/1/1";
    t.idempotency_key = "wf-9/1";
    t.workflow_id = "wf-9";
    t.activity_seq = 1;
    t.attempt = 1;
    t.activity_type = "echo";
    t.queue = "default";
    t.input = "{\"m\":\"MARKER-T\"}";
    baton_codec_set_crypt(c, kr);
    for (int json = 0; json < 2; json++) {
        CHECK(
            !baton_codec_encode_task(c, &t, json, &buf, &len, err, sizeof err),
            "encode sealed task");
        CHECK(!memmem(buf, len, "MARKER", 6), "no plaintext on the wire");
        CHECK(!baton_codec_decode_task(c, buf, len, json, &got, err,
                                       sizeof err) &&
                  !strcmp(got.input, t.input),
              "decodes to the plaintext");
        baton_task_clear(&got);
        CHECK(baton_codec_decode_task(plain, buf, len, json, &got, err,
                                      sizeof err) == BATON_ERR_CONFIG &&
                  strstr(err, "'k3'") && strstr(err, "input"),
              "a reader without keys: clear error naming field and key");
        baton_task_clear(&got);
        baton_free(buf);
    }
    /* a plaintext task reads the same with keys */
    baton_codec_encode_task(plain, &t, 0, &buf, &len, err, sizeof err);
    CHECK(!baton_codec_decode_task(c, buf, len, 0, &got, err, sizeof err) &&
              !strcmp(got.input, t.input),
          "plaintext accepted by a keyed reader");
    baton_task_clear(&got);
    baton_free(buf);
    /* a queue not in crypt.queues travels in clear */
    baton_crypt_set_queues(kr, "other", err, sizeof err);
    baton_codec_encode_task(c, &t, 1, &buf, &len, err, sizeof err);
    CHECK(memmem(buf, len, "MARKER", 6) != NULL, "queue off: clear");
    baton_free(buf);
    /* result: output and cause sealed, bound to the run */
    r.task_id = "wf-9/1/1";
    r.workflow_id = "wf-9";
    r.kind = BATON_RESULT_FAILED;
    r.error = "E";
    r.cause = "MARKER-C";
    CHECK(!baton_codec_encode_result(c, &r, 1, &buf, &len, err, sizeof err) &&
              !memmem(buf, len, "MARKER", 6),
          "result cause sealed");
    CHECK(!baton_codec_decode_result(c, buf, len, 1, &rgot, err, sizeof err) &&
              !strcmp(rgot.cause, "MARKER-C"),
          "result cause opens");
    baton_result_clear(&rgot);
    {
        /* move the sealed cause into a result of another run */
        json_t *o = json_loadb(buf, len, 0, NULL);
        char *moved;
        json_object_set_new(o, "workflow_id", json_string("wf-10"));
        json_object_set_new(o, "task_id", json_string("wf-10/1/1"));
        moved = json_dumps(o, JSON_COMPACT);
        CHECK(baton_codec_decode_result(c, moved, strlen(moved), 1, &rgot, err,
                                        sizeof err) == BATON_ERR_INVALID,
              "a ciphertext moved to another run is refused");
        baton_result_clear(&rgot);
        free(moved);
        json_decref(o);
    }
    baton_free(buf);
    baton_codec_destroy(c);
    baton_codec_destroy(plain);
    baton_crypt_destroy(kr);
}

int main(void) {
    unsigned char k1[32], k2[32];
    snprintf(dir, sizeof dir, "/tmp/test_crypt.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    for (int i = 0; i < 32; i++) {
        k1[i] = (unsigned char)i;
        k2[i] = (unsigned char)(255 - i);
    }
    put_file("k1.key", k1, sizeof k1);
    put_file("k2.key", k2, sizeof k2);
    put_file("README", "not a key", 9);
    test_round_trip();
    test_refused();
    test_key_files();
    test_rotation_and_queues();
    test_codec();
    rm_file("k1.key");
    rm_file("k2.key");
    rm_file("k3.key");
    rm_file("README");
    rmdir(dir);
    printf("test_crypt: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
