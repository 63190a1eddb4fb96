/*
 * test_blob.c -- the claim check's reference format (common/blob.h):
 * large values become references and resolve back to the same JSON, a
 * conversation becomes one blob per message, user values that look like
 * references are escaped, and bad references or blobs are refused.
 * The store is an in-memory map (no Redis).
 */
#include <stdio.h>
#include <string.h>

#include "blob.h"

#include "check.h"

/* The in-memory store: hex -> text, and how many puts it saw. */
typedef struct mem {
    json_t *map;
    int puts;
    int fetches;
} mem_t;

static int mem_put(void *ctx, const char *hex, const char *text, size_t len) {
    mem_t *m = ctx;
    m->puts++;
    json_object_set_new(m->map, hex, json_stringn(text, len));
    return 0;
}

static baton_err_t mem_fetch(void *ctx, size_t n, const char *const *hexes,
                             char **texts, size_t *lens, char *errstr,
                             size_t errlen) {
    mem_t *m = ctx;
    (void)errstr;
    (void)errlen;
    m->fetches++;
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_object_get(m->map, hexes[i]);
        texts[i] =
            t ? baton_strndup(json_string_value(t), json_string_length(t))
              : NULL;
        lens[i] = t ? json_string_length(t) : 0;
    }
    return BATON_OK;
}

static char *big_string(size_t n, char c) {
    char *s = baton_malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* encode then resolve gives back v; returns the encoded value. */
static json_t *round_trip(json_t *v, const baton_blob_opts_t *o, mem_t *m,
                          const char *what) {
    char err[256];
    baton_err_t rc;
    json_t *e = baton_blob_encode(v, o, mem_put, m, err, sizeof err);
    json_t *r =
        e ? baton_blob_resolve(e, 0, mem_fetch, m, &rc, err, sizeof err) : NULL;
    CHECK(e && r && json_equal(r, v), what);
    json_decref(r);
    return e;
}

static void test_small_values_unchanged(void) {
    baton_blob_opts_t o = {1024, 256};
    mem_t m = {json_object(), 0, 0};
    json_t *v = json_pack("{s:s, s:[i,i], s:n}", "a", "b", "c", 1, 2, "d");
    json_t *e = round_trip(v, &o, &m, "small round trip");
    CHECK(json_equal(e, v) && m.puts == 0, "small value: no blob");
    json_decref(e);
    json_decref(v);
    json_decref(m.map);
}

static void test_large_string_is_ref(void) {
    baton_blob_opts_t o = {1024, 256};
    mem_t m = {json_object(), 0, 0};
    char *s = big_string(10 * 1024 * 1024, 'x');
    char hex[BATON_BLOB_HEX_LEN + 1];
    size_t size = 0;
    json_t *v = json_pack("{s:s, s:i}", "body", s, "status", 200);
    json_t *e = round_trip(v, &o, &m, "10 MB round trip");
    CHECK(m.puts == 1, "one blob");
    CHECK(baton_blob_ref_parse(json_object_get(e, "body"), hex, &size) == 1 &&
              size == 10 * 1024 * 1024 + 2,
          "body is a reference of the string's JSON size");
    CHECK(json_integer_value(json_object_get(e, "status")) == 200,
          "small sibling kept inline");
    {
        char *t = json_dumps(e, JSON_COMPACT);
        CHECK(t && strlen(t) < 200, "encoded text stays small");
        free(t);
    }
    /* the same value encodes to the same reference */
    {
        char err[128];
        json_t *e2 = baton_blob_encode(v, &o, mem_put, &m, err, sizeof err);
        CHECK(e2 && json_equal(e, e2), "encoding is deterministic");
        json_decref(e2);
    }
    baton_free(s);
    json_decref(e);
    json_decref(v);
    json_decref(m.map);
}

/* A value over the threshold whose children are each under element_min
 * (no child becomes a reference): the value as a whole becomes one, so
 * what a message carries stays under the threshold. */
static void test_small_children_over_threshold(void) {
    baton_blob_opts_t o = {1024, 256};
    mem_t m = {json_object(), 0, 0};
    json_t *v = json_object(), *e;
    char key[16], *t;
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%03d", i);
        json_object_set_new(v, key, json_string("0123456789"));
    }
    e = round_trip(v, &o, &m, "200 small members round trip");
    t = e ? json_dumps(e, JSON_COMPACT) : NULL;
    CHECK(t && strlen(t) <= o.threshold && m.puts == 1,
          "one blob, the encoded text under the threshold (%zu bytes)",
          t ? strlen(t) : 0);
    free(t);
    json_decref(e);
    json_decref(v);
    json_decref(m.map);
}

/* A conversation over the threshold: each message a blob, the array of
 * references inline; one more message adds exactly one blob. */
static void test_conversation_one_blob_per_message(void) {
    baton_blob_opts_t o = {8192, 512};
    mem_t m = {json_object(), 0, 0};
    json_t *msgs = json_array(), *st, *e;
    char *body = big_string(1000, 'm');
    char err[128];
    for (int i = 0; i < 20; i++) {
        body[0] = (char)('a' + i); /* distinct messages */
        json_array_append_new(
            msgs, json_pack("{s:s, s:s}", "role", "tool", "content", body));
    }
    st = json_pack("{s:O, s:i}", "messages", msgs, "turn", 20);
    e = round_trip(st, &o, &m, "conversation round trip");
    CHECK(json_object_size(m.map) == 20, "20 messages, 20 blobs");
    CHECK(json_is_array(json_object_get(e, "messages")) &&
              baton_blob_ref_parse(
                  json_array_get(json_object_get(e, "messages"), 19), NULL,
                  NULL) == 1,
          "messages array inline, each message a reference");
    json_decref(e);
    body[0] = 'z';
    json_array_append_new(
        msgs, json_pack("{s:s, s:s}", "role", "tool", "content", body));
    json_object_set(st, "messages", msgs);
    e = baton_blob_encode(st, &o, mem_put, &m, err, sizeof err);
    CHECK(e && json_object_size(m.map) == 21,
          "one more message, one more blob");
    json_decref(e);
    baton_free(body);
    json_decref(msgs);
    json_decref(st);
    json_decref(m.map);
}

/* A long conversation: full chunks of BATON_BLOB_CHUNK messages become
 * chunk references spliced back in place; one more message writes one
 * blob, the chunks stay the same. */
static void test_conversation_chunks(void) {
    baton_blob_opts_t o = {2048, 512};
    mem_t m = {json_object(), 0, 0};
    json_t *msgs = json_array(), *e, *arr;
    char *body = big_string(1000, 'm');
    char err[128];
    size_t items = 0, nrefs, before;
    for (int i = 0; i < 100; i++) {
        snprintf(body, 16, "message %03d ", i);
        body[strlen(body)] = 'm';
        json_array_append_new(
            msgs, json_pack("{s:s, s:s}", "role", "tool", "content", body));
    }
    e = round_trip(msgs, &o, &m, "100 messages round trip");
    nrefs = json_array_size(e);
    CHECK(nrefs == 100 / BATON_BLOB_CHUNK + 100 % BATON_BLOB_CHUNK,
          "3 chunks and 4 single messages");
    {
        json_t *c0 = json_array_get(e, 0);
        CHECK(json_integer_value(json_object_get(c0, "items")) ==
                  BATON_BLOB_CHUNK,
              "a chunk reference says how many items it splices");
        (void)items;
    }
    before = json_object_size(m.map);
    CHECK(before == 100 + 3, "100 message blobs and 3 chunk blobs");
    json_decref(e);
    snprintf(body, 16, "message %03d ", 100);
    body[strlen(body)] = 'm';
    json_array_append_new(
        msgs, json_pack("{s:s, s:s}", "role", "tool", "content", body));
    e = round_trip(msgs, &o, &m, "101 messages round trip");
    CHECK(json_object_size(m.map) == before + 1,
          "one more message: one more blob, the chunks reused");
    json_decref(e);
    /* a chunk reference anywhere but in an array is refused */
    arr = json_pack(
        "{s:s, s:i, s:i}", BATON_BLOB_REF_KEY,
        "sha256:"
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "size", 3, "items", 2);
    json_object_set_new(
        m.map,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        json_string("abc"));
    {
        baton_err_t rc;
        json_t *r =
            baton_blob_resolve(arr, 0, mem_fetch, &m, &rc, err, sizeof err);
        CHECK(!r && rc == BATON_ERR_INVALID,
              "chunk reference outside an array refused");
        json_decref(r);
    }
    json_decref(arr);
    baton_free(body);
    json_decref(msgs);
    json_decref(m.map);
}

/* A user's object with a reserved key is escaped, and comes back as it
 * was; an escape of an escape too. */
static void test_escaping(void) {
    baton_blob_opts_t o = {1 << 20, 1024};
    mem_t m = {json_object(), 0, 0};
    json_t *v = json_pack(
        "{s:{s:s, s:i}, s:{s:{s:i}}, s:[{s:s}]}", "fake", BATON_BLOB_REF_KEY,
        "sha256:"
        "0000000000000000000000000000000000000000000000000000000000000000",
        "size", 3, "lit", BATON_BLOB_LIT_KEY, "x", 1, "arr", BATON_BLOB_REF_KEY,
        "not a hash");
    json_t *e = round_trip(v, &o, &m, "escaped values round trip");
    json_t *f = json_object_get(e, "fake");
    CHECK(json_object_size(f) == 1 && json_object_get(f, BATON_BLOB_LIT_KEY),
          "a look-alike reference is wrapped in $baton_lit");
    CHECK(m.fetches == 0 && m.puts == 0, "no blob made or fetched");
    {
        char *t = NULL;
        size_t tl = 0;
        char err[128];
        CHECK(baton_blob_encode_text("{\"a\":1}", 7, &o, mem_put, &m, &t, &tl,
                                     err, sizeof err) == BATON_OK &&
                  !t,
              "plain small text: nothing to do");
    }
    json_decref(e);
    json_decref(v);
    json_decref(m.map);
}

static void test_refused(void) {
    mem_t m = {json_object(), 0, 0};
    char err[256];
    baton_err_t rc;
    char hex[BATON_BLOB_HEX_LEN + 1];
    json_t *v, *r;
    const char *text = "\"hello\"";

    /* malformed */
    v = json_pack("{s:s, s:i}", BATON_BLOB_REF_KEY, "md5:abc", "size", 1);
    r = baton_blob_resolve(v, 0, mem_fetch, &m, &rc, err, sizeof err);
    CHECK(!r && rc == BATON_ERR_INVALID && strstr(err, "malformed"),
          "malformed reference refused");
    json_decref(v);
    /* missing */
    baton_blob_sha256_hex(text, strlen(text), hex);
    v = baton_blob_ref_new(hex, strlen(text));
    r = baton_blob_resolve(v, 0, mem_fetch, &m, &rc, err, sizeof err);
    CHECK(!r && rc == BATON_ERR_NOTFOUND && strstr(err, "missing"),
          "missing blob refused");
    /* corrupt: stored text does not hash to its name */
    json_object_set_new(m.map, hex, json_string("\"hellO\""));
    r = baton_blob_resolve(v, 0, mem_fetch, &m, &rc, err, sizeof err);
    CHECK(!r && rc == BATON_ERR_INVALID && strstr(err, "corrupt"),
          "corrupt blob refused");
    /* good, but over the resolve limit */
    json_object_set_new(m.map, hex, json_string(text));
    r = baton_blob_resolve(v, 3, mem_fetch, &m, &rc, err, sizeof err);
    CHECK(!r && rc == BATON_ERR_TOOBIG, "over blob.resolve.max refused");
    r = baton_blob_resolve(v, 0, mem_fetch, &m, &rc, err, sizeof err);
    CHECK(r && json_is_string(r) && !strcmp(json_string_value(r), "hello"),
          "resolves when the blob is right");
    json_decref(r);
    json_decref(v);
    /* known SHA-256 */
    baton_blob_sha256_hex("abc", 3, hex);
    CHECK(
        !strcmp(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        "SHA-256 of abc");
    json_decref(m.map);
}

int main(void) {
    test_small_values_unchanged();
    test_large_string_is_ref();
    test_small_children_over_threshold();
    test_conversation_one_blob_per_message();
    test_conversation_chunks();
    test_escaping();
    test_refused();
    printf("test_blob: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
