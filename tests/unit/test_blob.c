/*
 * test_blob.c -- the claim check's reference format (common/blob.h):
 * large values become references and resolve back to the same JSON, a
 * conversation becomes one blob per message, user values that look like
 * references are escaped, a large object is split into parts that keep
 * its key order and their hashes as it grows, and bad references, parts
 * or blobs are refused.
 * The store is an in-memory map (no Redis).
 */
#include <stdint.h>
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

/* v's compact text in its own key order (json_equal ignores order). */
static int same_text(json_t *a, json_t *b) {
    char *x = json_dumps(a, JSON_COMPACT), *y = json_dumps(b, JSON_COMPACT);
    int same = x && y && !strcmp(x, y);
    free(x);
    free(y);
    return same;
}

/* encode, dump, parse, resolve: the same text back, keys in order;
 * returns the encoded value. */
static json_t *round_trip(json_t *v, const baton_blob_opts_t *o, mem_t *m,
                          const char *what) {
    char err[256];
    baton_err_t rc;
    json_t *e = baton_blob_encode(v, o, mem_put, m, err, sizeof err), *r;
    char *t = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_t *back = t ? json_loads(t, 0, NULL) : NULL;
    r = back ? baton_blob_resolve(back, 0, mem_fetch, m, &rc, err, sizeof err)
             : NULL;
    CHECK(r && same_text(r, v), what);
    json_decref(r);
    json_decref(back);
    free(t);
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

/* Encodes v (under opts o) and checks its text stays within the threshold
 * and how many blobs were stored. */
static void check_small_children(json_t *v, baton_blob_opts_t o, int puts,
                                 const char *what) {
    mem_t m = {json_object(), 0, 0};
    json_t *e = round_trip(v, &o, &m, what);
    char *t = e ? json_dumps(e, JSON_COMPACT) : NULL;
    CHECK(t && strlen(t) <= o.threshold && m.puts == puts,
          "%s: %d blob(s), the encoded text under the threshold (%zu bytes, "
          "%d blobs)",
          what, puts, t ? strlen(t) : 0, m.puts);
    free(t);
    json_decref(e);
    json_decref(m.map);
}

/* Values over the threshold whose children are each under element_min
 * (no child becomes a reference): a container too short to split becomes
 * one reference as a whole; an object of many members is split into parts
 * of 32.  Either way what a message carries stays under the threshold. */
static void test_small_children_over_threshold(void) {
    baton_blob_opts_t o = {1024, 256};
    json_t *obj = json_object(), *arr = json_array();
    char key[16];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%03d", i);
        json_object_set_new(obj, key, json_string("0123456789"));
    }
    for (int i = 0; i < 20; i++) /* 20 x ~100 bytes, fewer than a chunk */
        json_array_append_new(
            arr, json_string("0123456789012345678901234567890123456789"
                             "0123456789012345678901234567890123456789"
                             "01234567890123456789"));
    check_small_children(obj, o, 6, "200 small members (6 parts of 32)");
    check_small_children(arr, o, 1, "20 small elements (one reference)");
    json_decref(obj);
    json_decref(arr);
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

/* baton_blob_text_len is exactly json_dumps's length (encoding decides
 * what becomes a blob by it): every byte in a string and a key, UTF-8,
 * integers at their limits, reals, nesting. */
static void test_text_len(void) {
    json_t *vals = json_array();
    int bad = 0;
    for (int b = 0; b < 256; b++) {
        char s[4] = {'a', (char)b, 'z', 0};
        json_t *o = json_object();
        json_array_append_new(vals, json_stringn_nocheck(s, 3));
        if (b >= 0x80) { /* not UTF-8: jansson writes no such key */
            json_decref(o);
            continue;
        }
        json_object_setn_new_nocheck(o, s, 3, json_integer(b));
        json_array_append_new(vals, o);
    }
    json_array_append_new(vals, json_string("h\u00e9 \xf0\x9f\x98\x80 /"));
    json_array_append_new(vals, json_integer(INT64_MIN));
    json_array_append_new(vals, json_integer(INT64_MAX));
    json_array_append_new(vals, json_integer(-7));
    json_array_append_new(vals, json_integer(0));
    json_array_append_new(vals, json_real(0.1));
    json_array_append_new(vals, json_real(-1e300));
    json_array_append_new(vals, json_real(3.0));
    json_array_append_new(vals, json_pack("[n,b,b,[],{},{s:[{}]}]", 1, 0, "k"));
    json_array_append_new(vals, json_deep_copy(vals)); /* the whole too */
    for (size_t i = 0; i < json_array_size(vals); i++) {
        json_t *v = json_array_get(vals, i);
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (t && strlen(t) != baton_blob_text_len(v)) {
            bad++;
            fprintf(stderr, "text_len %zu, dump %zu: %s\n",
                    baton_blob_text_len(v), strlen(t), t);
        }
        free(t);
    }
    CHECK(!bad, "text length without a dump: exactly the dump's");
    json_decref(vals);
}

/* baton_blob_dumps (the store's way: from the value) gives what
 * baton_blob_encode_text gives from the value's text, blobs included;
 * a small value is its plain text. */
static void test_dumps_same_as_text(void) {
    baton_blob_opts_t o = {4096, 256};
    mem_t a = {json_object(), 0, 0}, b = {json_object(), 0, 0};
    json_t *msgs = json_array(), *v;
    char *t, *x = NULL, *y = NULL, err[256], *big = big_string(300, 'm');
    size_t xl = 0, yl = 0;
    for (int i = 0; i < 70; i++)
        json_array_append_new(msgs, json_pack("{s:i, s:s}", "turn", i, "text",
                                              i % 3 ? "short" : big));
    v = json_pack("{s:o, s:{s:s}}", "messages", msgs, "odd", BATON_BLOB_LIT_KEY,
                  "x");
    t = json_dumps(v, JSON_COMPACT);
    CHECK(baton_blob_dumps(v, &o, mem_put, &a, &x, &xl, err, sizeof err) ==
                  BATON_OK &&
              baton_blob_encode_text(t, strlen(t), &o, mem_put, &b, &y, &yl,
                                     err, sizeof err) == BATON_OK,
          "both encode");
    CHECK(x && y && xl == yl && !strcmp(x, y) && json_equal(a.map, b.map) &&
              a.puts == b.puts && a.puts > 2,
          "same text, same blobs");
    baton_free(x);
    baton_free(y);
    free(t);
    json_decref(v);
    v = json_pack("{s:[i,s]}", "a", 1, "b");
    CHECK(baton_blob_dumps(v, &o, mem_put, &a, &x, &xl, err, sizeof err) ==
                  BATON_OK &&
              x && !strcmp(x, "{\"a\":[1,\"b\"]}") && xl == strlen(x),
          "a small value: its plain text");
    baton_free(x);
    json_decref(v);
    baton_free(big);
    json_decref(a.map);
    json_decref(b.map);
}

/* An object of n small members "k<i>" (one of them, k5, large). */
static json_t *many_members(int n, const char *large) {
    json_t *o = json_object();
    for (int i = 0; i < n; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        json_object_set_new(o, k,
                            i == 5 ? json_string(large)
                                   : json_pack("{s:i, s:s}", "index", i,
                                               "summary", "a small result"));
    }
    return o;
}

/* A large object of small members (a Map's results) is split: each full
 * chunk of 32 members is a part, 32 parts fold into one, the rest stays
 * inline; members added at the end reuse every part written. */
static void test_object_parts(void) {
    baton_blob_opts_t o = {4096, 1024};
    mem_t m = {json_object(), 0, 0};
    char *large = big_string(2000, 'L');
    json_t *v = many_members(1100, large), *e, *parts, *e2;
    size_t before;
    char k[16];

    e = round_trip(v, &o, &m, "1100 members: order kept");
    parts = json_object_get(e, BATON_BLOB_PARTS_KEY);
    CHECK(!strcmp(json_object_iter_key(json_object_iter(e)),
                  BATON_BLOB_PARTS_KEY),
          "the parts come first");
    CHECK(json_array_size(parts) == 3 && json_object_size(e) == 1 + 12,
          "1100 members: 3 parts (1024 + 2 x 32) and 12 inline");
    CHECK(json_integer_value(
              json_object_get(json_array_get(parts, 0), "items")) == 1024 &&
              json_integer_value(
                  json_object_get(json_array_get(parts, 2), "items")) == 32,
          "a part says how many members it stands for");
    CHECK(json_object_size(m.map) == 1 + 34 + 1,
          "blobs: the large member, 34 chunks, 1 fold");
    before = json_object_size(m.map);
    for (int i = 1100; i < 1120; i++) {
        snprintf(k, sizeof k, "k%d", i);
        json_object_set_new(v, k, json_integer(i));
    }
    e2 = round_trip(v, &o, &m, "1120 members: order kept");
    CHECK(json_object_size(m.map) == before + 1,
          "20 members more: one more chunk, every part reused");
    CHECK(json_array_size(json_object_get(e2, BATON_BLOB_PARTS_KEY)) == 4 &&
              json_equal(
                  json_array_get(parts, 0),
                  json_array_get(json_object_get(e2, BATON_BLOB_PARTS_KEY), 0)),
          "the same parts, one more at the end");
    json_decref(e2);
    json_decref(e);
    json_decref(v);
    baton_free(large);
    json_decref(m.map);
}

/* A user's object holding "$baton_parts" is escaped, small or large
 * (a large one is not split: one blob). */
static void test_parts_escaped(void) {
    baton_blob_opts_t o = {4096, 1024};
    mem_t m = {json_object(), 0, 0};
    json_t *v = json_pack("{s:[i,i], s:i}", BATON_BLOB_PARTS_KEY, 1, 2, "a", 3);
    json_t *e = round_trip(v, &o, &m, "a look-alike parts round trip");
    CHECK(json_object_size(e) == 1 && json_object_get(e, BATON_BLOB_LIT_KEY),
          "a look-alike parts is wrapped in $baton_lit");
    json_decref(e);
    json_decref(v);
    v = many_members(200, "x");
    json_object_set_new(v, BATON_BLOB_PARTS_KEY, json_string("mine"));
    e = round_trip(v, &o, &m, "a large object with a user's parts key");
    CHECK(baton_blob_ref_parse(e, NULL, NULL) == 1,
          "not split: a reference to one blob");
    json_decref(e);
    json_decref(v);
    json_decref(m.map);
}

/* A chunk reference to blob text (stored in m) standing for items. */
static json_t *put_part(mem_t *m, const char *text, int items) {
    char hex[BATON_BLOB_HEX_LEN + 1];
    json_t *r;
    baton_blob_sha256_hex(text, strlen(text), hex);
    json_object_set_new(m->map, hex, json_string(text));
    r = baton_blob_ref_new(hex, strlen(text));
    json_object_set_new(r, "items", json_integer(items));
    return r;
}

/* Resolving v (taken) is refused as invalid with an error holding what. */
static void parts_refused(mem_t *m, json_t *v, const char *what) {
    char err[256] = "";
    baton_err_t rc = BATON_OK;
    json_t *r = baton_blob_resolve(v, 0, mem_fetch, m, &rc, err, sizeof err);
    CHECK(!r && rc == BATON_ERR_INVALID && strstr(err, what), what);
    if (r || rc != BATON_ERR_INVALID || !strstr(err, what))
        fprintf(stderr, "  got: %s\n", err);
    json_decref(r);
    json_decref(v);
}

static void test_parts_refused(void) {
    mem_t m = {json_object(), 0, 0};
    json_t *ok = put_part(&m, "{\"a\":1}", 1);
    char err[256];
    baton_err_t rc;
    json_t *v, *r, *want = json_pack("{s:i, s:i}", "a", 1, "b", 2);

    parts_refused(&m,
                  json_pack("{s:s, s:i}", BATON_BLOB_PARTS_KEY, "x", "b", 2),
                  "malformed parts");
    parts_refused(
        &m,
        json_pack("{s:[{s:s, s:i}]}", BATON_BLOB_PARTS_KEY, BATON_BLOB_REF_KEY,
                  json_string_value(json_object_get(ok, BATON_BLOB_REF_KEY)),
                  "size", 7),
        "malformed parts");
    parts_refused(
        &m,
        json_pack("{s:[o]}", BATON_BLOB_PARTS_KEY, put_part(&m, "[1,2]", 2)),
        "not an object of its \"items\"");
    parts_refused(&m,
                  json_pack("{s:[o]}", BATON_BLOB_PARTS_KEY,
                            put_part(&m, "{\"a\":1}", 2)),
                  "not an object of its \"items\"");
    parts_refused(&m,
                  json_pack("{s:[O], s:i}", BATON_BLOB_PARTS_KEY, ok, "a", 2),
                  "in a part and inline");
    parts_refused(&m, json_pack("{s:[O,O]}", BATON_BLOB_PARTS_KEY, ok, ok),
                  "in two parts");
    v = json_pack("{s:[O], s:i}", BATON_BLOB_PARTS_KEY, ok, "b", 2);
    r = baton_blob_resolve(v, 0, mem_fetch, &m, &rc, err, sizeof err);
    CHECK(r && same_text(r, want),
          "a well-formed part: its members, then the inline ones");
    json_decref(r);
    json_decref(v);
    json_decref(want);
    json_decref(ok);
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
    test_text_len();
    test_dumps_same_as_text();
    test_object_parts();
    test_parts_escaped();
    test_parts_refused();
    printf("test_blob: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
