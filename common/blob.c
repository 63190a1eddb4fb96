/*
 * blob.c -- the claim check's reference format (blob.h): encoding large
 * JSON values as references to content-addressed blobs (large arrays
 * split into chunks, large objects into parts), escaping user values that
 * look like references, and resolving references through a fetch
 * callback.  Pure: the store is an edge's (blob_store.c).
 */
#include "blob.h"

#include <assert.h>
#include <openssl/evp.h>
#include <string.h>

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)
/* Deepest nesting walked (JSON values are capped at 1000 levels by
 * json_limits.h; references nest blobs inside blobs). */
#define BLOB_DEPTH_MAX 4096
/* Most rounds of fetches in one resolution (blobs nested in blobs). */
#define BLOB_ROUNDS_MAX 64

void baton_blob_sha256_hex(const void *data, size_t len,
                           char out[BATON_BLOB_HEX_LEN + 1]) {
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[BATON_BLOB_HEX_LEN] = '\0';
}

static int is_hex64(const char *s) {
    size_t i;
    for (i = 0; i < BATON_BLOB_HEX_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[i] == '\0';
}

/* baton_blob_ref_parse, also reading a chunk's "items" (0: none). */
static int ref_parse(const json_t *v, char hex[BATON_BLOB_HEX_LEN + 1],
                     size_t *size, size_t *items) {
    json_t *r, *sz, *it;
    const char *s;
    size_t keys = 2;

    if (items) *items = 0;
    if (!json_is_object(v) || !(r = json_object_get(v, BATON_BLOB_REF_KEY)))
        return 0;
    sz = json_object_get(v, "size");
    if ((it = json_object_get(v, "items"))) {
        if (!json_is_integer(it) || json_integer_value(it) < 1) return -1;
        keys = 3;
    }
    if (json_object_size(v) != keys || !json_is_string(r) ||
        !json_is_integer(sz) || json_integer_value(sz) < 0)
        return -1;
    s = json_string_value(r);
    if (strncmp(s, "sha256:", 7) || !is_hex64(s + 7)) return -1;
    if (hex) memcpy(hex, s + 7, BATON_BLOB_HEX_LEN + 1);
    if (size) *size = (size_t)json_integer_value(sz);
    if (items && it) *items = (size_t)json_integer_value(it);
    return 1;
}

int baton_blob_ref_parse(const json_t *v, char hex[BATON_BLOB_HEX_LEN + 1],
                         size_t *size) {
    return ref_parse(v, hex, size, NULL);
}

json_t *baton_blob_ref_new(const char *hex, size_t size) {
    char r[7 + BATON_BLOB_HEX_LEN + 1];
    snprintf(r, sizeof r, "sha256:%s", hex);
    return json_pack("{s:s, s:I}", BATON_BLOB_REF_KEY, r, "size",
                     (json_int_t)size);
}

int baton_blob_text_marked(const char *text, size_t len) {
    return text && memmem(text, len, BATON_BLOB_MARK,
                          sizeof BATON_BLOB_MARK - 1) != NULL;
}

/* ---- text lengths ---------------------------------------------------- */

/* Bytes of s (n bytes) as a JSON string in compact text, as jansson's dump
 * writes it: the quotes, \" \\ \b \f \n \r \t in two bytes, any other byte
 * below 0x20 as \u00XX in six, every other byte (UTF-8 included) as is. */
static size_t str_text_len(const char *s, size_t n) {
    size_t len = n + 2;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b == '"' || b == '\\')
            len += 1;
        else if (b < 0x20)
            len +=
                (b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t')
                    ? 1
                    : 5;
    }
    return len;
}

static size_t int_text_len(json_int_t i) {
    unsigned long long u =
        i < 0 ? 0ULL - (unsigned long long)i : (unsigned long long)i;
    size_t len = i < 0 ? 2 : 1;
    while (u >= 10) {
        u /= 10;
        len++;
    }
    return len;
}

/* Counts the bytes of a dump. */
static int dump_count_cb(const char *buf, size_t size, void *data) {
    (void)buf;
    *(size_t *)data += size;
    return 0;
}

size_t baton_blob_text_len(const json_t *v) {
    size_t len = 2, n = 0;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return str_text_len(json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return int_text_len(json_integer_value(v));
    case JSON_TRUE:
    case JSON_NULL: return 4;
    case JSON_FALSE: return 5;
    case JSON_REAL: /* jansson's own formatting: counted, not copied */
        json_dump_callback(v, dump_count_cb, &n, DUMP_FLAGS);
        return n;
    case JSON_ARRAY:
        for (n = 0; n < json_array_size(v); n++)
            len += baton_blob_text_len(json_array_get(v, n)) + (n > 0);
        return len;
    case JSON_OBJECT: {
        const char *k;
        size_t kl;
        json_t *c;
        json_object_keylen_foreach((json_t *)v, k, kl, c) {
            len += str_text_len(k, kl) + 1 + baton_blob_text_len(c) + (n++ > 0);
        }
        return len;
    }
    }
    return 0;
}

/* ---- encoding -------------------------------------------------------- */

typedef struct enc {
    const baton_blob_opts_t *o;
    baton_blob_sink_fn sink;
    void *ctx;
    char *err;
    size_t errlen;
} enc_t;

/* A value encoded: v (a new reference) and the length of its compact
 * text, known without dumping it.  Encoding is one walk: each node's
 * length is its children's added up, so deciding what becomes a blob
 * costs no dump; the only dumps are of the blobs' texts. */
typedef struct encd {
    json_t *v;
    size_t len;
} encd_t;

static int enc_nomem(enc_t *e) {
    baton_seterr(e->err, e->errlen, BATON_ERR_NOMEM, "encoding a value");
    return -1;
}

/* Hands x's text to the sink and makes x the reference to it.  0 ok, -1
 * error (x then holds nothing to release). */
static int make_ref(enc_t *e, encd_t *x) {
    char hex[BATON_BLOB_HEX_LEN + 1];
    char *t = json_dumps(x->v, DUMP_FLAGS);
    size_t len = t ? strlen(t) : 0;
    int rc = -1;

    json_decref(x->v);
    x->v = NULL;
    if (!t) return enc_nomem(e);
    assert(len == x->len); /* baton_blob_text_len is jansson's dump */
    baton_blob_sha256_hex(t, len, hex);
    if (e->sink(e->ctx, hex, t, len))
        baton_seterr(e->err, e->errlen, BATON_ERR_IO,
                     "storing blob sha256:%s (%zu bytes) refused", hex, len);
    else if (!(x->v = baton_blob_ref_new(hex, len)))
        enc_nomem(e);
    else
        rc = 0;
    free(t);
    x->len = x->v ? baton_blob_text_len(x->v) : 0;
    return rc;
}

/* An object member's key: its bytes, and its text's with the colon. */
typedef struct enc_key {
    const char *s;
    size_t len, text_len;
} enc_key_t;

/* Text length of a container of n encoded children (keys: an object's,
 * NULL for an array). */
static size_t kids_len(const encd_t *kids, const enc_key_t *keys, size_t n) {
    size_t len = 2 + (n ? n - 1 : 0);
    for (size_t i = 0; i < n; i++)
        len += kids[i].len + (keys ? keys[i].text_len : 0);
    return len;
}

/* Turns the children of at least element_min bytes (strings, arrays,
 * objects; not references already) into references.  0 ok, -1 error. */
static int shrink_elements(enc_t *e, encd_t *kids, size_t n) {
    for (size_t i = 0; i < n; i++) {
        json_t *c = kids[i].v;
        if (!(json_is_string(c) || json_is_object(c) || json_is_array(c)) ||
            baton_blob_ref_parse(c, NULL, NULL) == 1 ||
            kids[i].len < e->o->element_min)
            continue;
        if (make_ref(e, &kids[i])) return -1;
    }
    return 0;
}

static json_t *build(json_t *v, encd_t *kids, const enc_key_t *keys, size_t n);

/* Gives the chunk reference *out (a reference, made by make_ref) its
 * "items".  0 ok, -1 error. */
static int set_items(enc_t *e, encd_t *out, size_t items) {
    if (json_object_set_new(out->v, "items", json_integer((json_int_t)items))) {
        json_decref(out->v);
        out->v = NULL;
        return enc_nomem(e);
    }
    out->len = baton_blob_text_len(out->v);
    return 0;
}

/* The chunk reference of kids[0, BATON_BLOB_CHUNK) of container v (keys:
 * an object's members, NULL for an array's elements) into *out; the kids
 * are released.  0 ok, -1 error. */
static int make_chunk(enc_t *e, json_t *v, encd_t *kids, const enc_key_t *keys,
                      encd_t *out) {
    out->len = kids_len(kids, keys, BATON_BLOB_CHUNK);
    if (!(out->v = build(v, kids, keys, BATON_BLOB_CHUNK))) return enc_nomem(e);
    if (make_ref(e, out)) return -1;
    return set_items(e, out, BATON_BLOB_CHUNK);
}

/* Replaces each full chunk of kids (elements [jC, (j+1)C), C =
 * BATON_BLOB_CHUNK) by its chunk reference, in place: *n becomes the
 * chunks plus the elements left over.  0 ok, -1 error. */
static int chunk_kids(enc_t *e, json_t *v, encd_t *kids, size_t *n) {
    size_t full = *n / BATON_BLOB_CHUNK, rest = *n % BATON_BLOB_CHUNK;
    for (size_t j = 0; j < full; j++) {
        encd_t c = {NULL, 0};
        if (make_chunk(e, v, kids + j * BATON_BLOB_CHUNK, NULL, &c)) return -1;
        kids[j] = c; /* slot j was in chunk j or before: released */
    }
    for (size_t i = 0; i < rest; i++) {
        kids[full + i] = kids[full * BATON_BLOB_CHUNK + i];
        if (full) kids[full * BATON_BLOB_CHUNK + i].v = NULL;
    }
    *n = full + rest;
    return 0;
}

/* A part of C parts (refs[0, C), borrowed): the reference to the blob
 * {"$baton_parts": [those C]}, standing for items members.  NULL on
 * error. */
static json_t *group_parts(enc_t *e, json_t *refs, size_t from, size_t items) {
    encd_t g = {json_object(), 0};
    json_t *a = json_array();
    int fail = !g.v || !a || json_object_set(g.v, BATON_BLOB_PARTS_KEY, a);
    for (size_t i = 0; !fail && i < BATON_BLOB_CHUNK; i++)
        fail = json_array_append(a, json_array_get(refs, from + i));
    json_decref(a);
    if (fail) {
        json_decref(g.v);
        enc_nomem(e);
        return NULL;
    }
    g.len = baton_blob_text_len(g.v);
    if (make_ref(e, &g) || set_items(e, &g, items)) return NULL;
    return g.v;
}

/* One level of fold_parts: each full run of C parts of *parts becomes one
 * part (items members), in a new *parts; the parts left over go in front
 * of tail.  0 ok, -1 error. */
static int fold_level(enc_t *e, json_t **parts, json_t *tail, size_t items) {
    size_t n = json_array_size(*parts), full = n / BATON_BLOB_CHUNK;
    json_t *up = json_array(), *g;
    if (!up) return enc_nomem(e);
    for (size_t j = 0; j < full; j++) {
        if (!(g = group_parts(e, *parts, j * BATON_BLOB_CHUNK, items))) {
            json_decref(up);
            return -1;
        }
        if (json_array_append_new(up, g)) {
            json_decref(up);
            return enc_nomem(e);
        }
    }
    for (size_t i = n; i > full * BATON_BLOB_CHUNK; i--)
        if (json_array_insert(tail, 0, json_array_get(*parts, i - 1))) {
            json_decref(up);
            return enc_nomem(e);
        }
    json_decref(*parts);
    *parts = up;
    return 0;
}

/* The "$baton_parts" list of an object from its full chunks' parts (each
 * a reference to BATON_BLOB_CHUNK members, in order): each full run of C
 * parts at fixed positions becomes one part (a blob {"$baton_parts": [C
 * parts]}, C times the members), and so on up, so the list stays short
 * (about C parts a level) and every part, once written, is reused while
 * the object grows at its end.  Takes parts; NULL on error. */
static json_t *fold_parts(enc_t *e, json_t *parts) {
    json_t *tail = json_array(); /* lower levels' parts left over */
    size_t items = BATON_BLOB_CHUNK * BATON_BLOB_CHUNK;
    int rc = tail ? 0 : enc_nomem(e);
    while (!rc && json_array_size(parts) >= BATON_BLOB_CHUNK) {
        rc = fold_level(e, &parts, tail, items);
        items *= BATON_BLOB_CHUNK;
    }
    if (!rc && json_array_extend(parts, tail)) rc = enc_nomem(e);
    json_decref(tail);
    if (!rc) return parts;
    json_decref(parts);
    return NULL;
}

/* Splits object v's members (kids, keys) in insertion order: each full
 * chunk of BATON_BLOB_CHUNK members becomes a part (a blob of an object of
 * those members), the parts go to kids[0] under "$baton_parts" (folded,
 * fold_parts), the members left over follow it.  *n becomes 1 + those.
 * 0 ok, -1 error. */
static int chunk_members(enc_t *e, json_t *v, encd_t *kids, enc_key_t *keys,
                         size_t *n) {
    size_t full = *n / BATON_BLOB_CHUNK, rest = *n % BATON_BLOB_CHUNK;
    json_t *parts = json_array();
    if (!parts) return enc_nomem(e);
    for (size_t j = 0; j < full; j++) {
        encd_t c = {NULL, 0};
        size_t at = j * BATON_BLOB_CHUNK;
        if (make_chunk(e, v, kids + at, keys + at, &c) ||
            json_array_append_new(parts, c.v)) {
            json_decref(parts);
            return c.v ? enc_nomem(e) : -1;
        }
    }
    if (!(parts = fold_parts(e, parts))) return -1;
    kids[0].v = parts; /* slot 0 was in chunk 0: released */
    kids[0].len = baton_blob_text_len(parts);
    keys[0].s = BATON_BLOB_PARTS_KEY;
    keys[0].len = strlen(BATON_BLOB_PARTS_KEY);
    keys[0].text_len = str_text_len(keys[0].s, keys[0].len) + 1;
    for (size_t i = 0; i < rest; i++) {
        kids[1 + i] = kids[full * BATON_BLOB_CHUNK + i];
        keys[1 + i] = keys[full * BATON_BLOB_CHUNK + i];
        kids[full * BATON_BLOB_CHUNK + i].v = NULL;
    }
    *n = 1 + rest;
    return 0;
}

static int enc(enc_t *e, json_t *v, int depth, encd_t *out);

/* Encodes the children of container v into kids, in v's order (an
 * object's keys into keys).  *changed: some child is not v's own;
 * *reserved: v has a reserved key.  0 ok, -1 error. */
static int enc_kids(enc_t *e, json_t *v, int depth, encd_t *kids,
                    enc_key_t *keys, int *changed, int *reserved) {
    size_t i = 0;
    if (json_is_array(v)) {
        for (i = 0; i < json_array_size(v); i++) {
            if (enc(e, json_array_get(v, i), depth + 1, &kids[i])) return -1;
            *changed |= kids[i].v != json_array_get(v, i);
        }
        return 0;
    }
    {
        const char *k;
        size_t kl;
        json_t *c;
        json_object_keylen_foreach(v, k, kl, c) {
            keys[i].s = k;
            keys[i].len = kl;
            keys[i].text_len = str_text_len(k, kl) + 1;
            if (!strcmp(k, BATON_BLOB_REF_KEY) ||
                !strcmp(k, BATON_BLOB_LIT_KEY) ||
                !strcmp(k, BATON_BLOB_PARTS_KEY))
                *reserved = 1;
            if (enc(e, c, depth + 1, &kids[i])) return -1;
            *changed |= kids[i].v != c;
            i++;
        }
    }
    return 0;
}

/* Container v of the same kind as v holding the n kids (stolen: their
 * slots emptied); NULL when memory ran out. */
static json_t *build(json_t *v, encd_t *kids, const enc_key_t *keys, size_t n) {
    json_t *out = json_is_array(v) ? json_array() : json_object();
    int fail = !out;
    for (size_t i = 0; i < n; i++) {
        if (!fail)
            fail = json_is_array(v)
                       ? json_array_append_new(out, kids[i].v)
                       : json_object_setn_new(out, keys[i].s, keys[i].len,
                                              kids[i].v);
        else
            json_decref(kids[i].v);
        kids[i].v = NULL;
    }
    if (fail) json_decref(out);
    return fail ? NULL : out;
}

/* Wraps out's object in the escape {"$baton_lit": ...}.  0 ok, -1. */
static int escape(enc_t *e, encd_t *out) {
    json_t *w = json_object();
    if (!w)
        json_decref(out->v); /* json_object_set_new takes it, even failing */
    if (!w || json_object_set_new(w, BATON_BLOB_LIT_KEY, out->v)) {
        json_decref(w);
        out->v = NULL;
        return enc_nomem(e);
    }
    out->v = w;
    out->len += str_text_len(BATON_BLOB_LIT_KEY, strlen(BATON_BLOB_LIT_KEY)) +
                3; /* {:} */
    return 0;
}

/* Container v with its n children encoded into kids: v itself when
 * nothing in it changes (within the threshold, nothing escaped), else a
 * new container with its large children, then (an array) its full
 * chunks, made references when it is over the threshold, escaped when it
 * has a reserved key, made a reference itself when still over it. */
static int enc_finish(enc_t *e, json_t *v, encd_t *kids, enc_key_t *keys,
                      size_t n, int changed, int reserved, encd_t *out) {
    size_t len = kids_len(kids, keys, n);
    if (!changed && !reserved && len <= e->o->threshold) {
        out->v = json_incref(v);
        out->len = len;
        return 0;
    }
    if (len > e->o->threshold) {
        if (shrink_elements(e, kids, n)) return -1;
        if (json_is_array(v) && n >= BATON_BLOB_CHUNK &&
            chunk_kids(e, v, kids, &n))
            return -1;
        if (json_is_object(v) && !reserved && n >= BATON_BLOB_CHUNK &&
            chunk_members(e, v, kids, keys, &n))
            return -1;
    }
    out->len = kids_len(kids, keys, n);
    if (!(out->v = build(v, kids, keys, n))) return enc_nomem(e);
    if (reserved && escape(e, out)) return -1;
    if (out->len > e->o->threshold) return make_ref(e, out);
    return 0;
}

/* enc() of an array or object. */
static int enc_container(enc_t *e, json_t *v, int depth, encd_t *out) {
    size_t n = json_is_array(v) ? json_array_size(v) : json_object_size(v);
    encd_t *kids = baton_calloc(n ? n : 1, sizeof *kids);
    enc_key_t *keys =
        json_is_object(v) ? baton_calloc(n ? n : 1, sizeof *keys) : NULL;
    int changed = 0, reserved = 0, rc = -1;

    if (!kids || (json_is_object(v) && !keys))
        enc_nomem(e);
    else if (!enc_kids(e, v, depth, kids, keys, &changed, &reserved))
        rc = enc_finish(e, v, kids, keys, n, changed, reserved, out);
    for (size_t i = 0; kids && i < n; i++) json_decref(kids[i].v);
    baton_free(kids);
    baton_free(keys);
    return rc;
}

/* Encodes v (borrowed) into *out.  0 ok, -1 error (errstr set). */
static int enc(enc_t *e, json_t *v, int depth, encd_t *out) {
    out->v = NULL;
    if (depth > BLOB_DEPTH_MAX) {
        baton_seterr(e->err, e->errlen, BATON_ERR_INVALID,
                     "value nested deeper than %d levels", BLOB_DEPTH_MAX);
        return -1;
    }
    if (json_is_array(v) || json_is_object(v))
        return enc_container(e, v, depth, out);
    out->v = json_incref(v);
    out->len = baton_blob_text_len(v);
    if (json_is_string(v) && out->len > e->o->threshold)
        return make_ref(e, out);
    return 0;
}

json_t *baton_blob_encode(json_t *v, const baton_blob_opts_t *o,
                          baton_blob_sink_fn sink, void *ctx, char *errstr,
                          size_t errlen) {
    enc_t e = {o, sink, ctx, errstr, errlen};
    encd_t out;
    return enc(&e, v, 0, &out) ? NULL : out.v;
}

/* A dump into a baton_malloc'd buffer that stops once past limit bytes. */
typedef struct dump_buf {
    baton_buf_t b;
    size_t limit;
    int over;
} dump_buf_t;

static int dump_buf_cb(const char *buf, size_t size, void *data) {
    dump_buf_t *d = data;
    if (d->b.n + size > d->limit) {
        d->over = 1;
        return -1;
    }
    return baton_buf_append(&d->b, buf, size);
}

/* v's compact text into *out (baton_malloc'd, *outlen its length) when it
 * is at most limit bytes; *out NULL when longer.  Errors: a value jansson
 * cannot dump, out of memory. */
static baton_err_t dump_upto(const json_t *v, size_t limit, char **out,
                             size_t *outlen, char *errstr, size_t errlen) {
    dump_buf_t b = {{NULL, 0, 0}, limit, 0};
    *out = NULL;
    if (json_dump_callback(v, dump_buf_cb, &b, DUMP_FLAGS) && !b.over) {
        baton_free(b.b.p);
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "encoding a value");
    }
    if (b.over) {
        baton_free(b.b.p);
        return BATON_OK;
    }
    *out = b.b.p ? b.b.p : baton_strndup("", 0);
    *outlen = b.b.n;
    return *out ? BATON_OK
                : baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                               "encoding a value");
}

/* Encodes v and dumps the result: baton_blob_encode then one dump. */
static baton_err_t encode_dump(json_t *v, const baton_blob_opts_t *o,
                               baton_blob_sink_fn sink, void *ctx, char **out,
                               size_t *outlen, char *errstr, size_t errlen) {
    enc_t e = {o, sink, ctx, errstr, errlen};
    encd_t r;
    baton_err_t rc;
    if (enc(&e, v, 0, &r)) return BATON_ERR_IO;
    rc = dump_upto(r.v, (size_t)-1, out, outlen, errstr, errlen);
    json_decref(r.v);
    assert(rc || *outlen == r.len);
    return rc;
}

baton_err_t baton_blob_dumps(json_t *v, const baton_blob_opts_t *o,
                             baton_blob_sink_fn sink, void *ctx, char **out,
                             size_t *outlen, char *errstr, size_t errlen) {
    baton_err_t rc = dump_upto(v, o->threshold, out, outlen, errstr, errlen);
    if (rc) return rc;
    if (*out && !baton_blob_text_marked(*out, *outlen)) return BATON_OK;
    baton_free(*out);
    *out = NULL;
    return encode_dump(v, o, sink, ctx, out, outlen, errstr, errlen);
}

baton_err_t baton_blob_encode_text(const char *text, size_t len,
                                   const baton_blob_opts_t *o,
                                   baton_blob_sink_fn sink, void *ctx,
                                   char **out, size_t *outlen, char *errstr,
                                   size_t errlen) {
    json_error_t jerr;
    json_t *v;
    baton_err_t rc;

    *out = NULL;
    if (len <= o->threshold && !baton_blob_text_marked(text, len))
        return BATON_OK;
    if (!(v = json_loadb(text, len, JSON_DECODE_ANY, &jerr)))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID, "not JSON: %s",
                            jerr.text);
    rc = encode_dump(v, o, sink, ctx, out, outlen, errstr, errlen);
    json_decref(v);
    return rc;
}

/* ---- resolving ------------------------------------------------------- */

typedef struct res {
    json_t *blobs;    /* hex -> parsed blob (ref JSON) */
    json_t *pending;  /* hex -> size, to fetch next round */
    json_t *resolved; /* hex -> plain value */
    baton_err_t rc;
    char *err;
    size_t errlen;
} res_t;

static int fail(res_t *r, baton_err_t rc, const char *what) {
    r->rc = baton_seterr(r->err, r->errlen, rc, "%s", what);
    return -1;
}

static int malformed_parts(res_t *r) {
    return fail(r, BATON_ERR_INVALID,
                "malformed parts: \"" BATON_BLOB_PARTS_KEY
                "\" must hold an array of chunk references (\"items\")");
}

/* 0 when parts, an object's "$baton_parts", is an array of chunk
 * references (their blobs are collected with the object's members). */
static int parts_check(res_t *r, const json_t *parts) {
    size_t items;
    if (!json_is_array(parts)) return malformed_parts(r);
    for (size_t i = 0; i < json_array_size(parts); i++)
        if (ref_parse(json_array_get(parts, i), NULL, NULL, &items) != 1 ||
            !items)
            return malformed_parts(r);
    return 0;
}

/* Adds the references in v not fetched yet to r->pending. */
static int collect(res_t *r, json_t *v, int depth) {
    char hex[BATON_BLOB_HEX_LEN + 1];
    size_t size;
    int k;

    if (depth > BLOB_DEPTH_MAX)
        return fail(r, BATON_ERR_INVALID, "references nested too deep");
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (collect(r, json_array_get(v, i), depth + 1)) return -1;
        return 0;
    }
    if (!json_is_object(v)) return 0;
    if ((k = baton_blob_ref_parse(v, hex, &size)) < 0)
        return fail(r, BATON_ERR_INVALID,
                    "malformed reference: \"" BATON_BLOB_REF_KEY
                    "\" must be \"sha256:<64 hex>\" next to an integer "
                    "\"size\" and nothing else");
    if (k == 1) {
        if (!json_object_get(r->blobs, hex) &&
            json_object_set_new(r->pending, hex,
                                json_integer((json_int_t)size)))
            return fail(r, BATON_ERR_NOMEM, "resolving references");
        return 0;
    }
    if (json_object_get(v, BATON_BLOB_LIT_KEY)) {
        json_t *in = json_object_get(v, BATON_BLOB_LIT_KEY);
        if (json_object_size(v) != 1 || !json_is_object(in))
            return fail(r, BATON_ERR_INVALID,
                        "malformed escape: \"" BATON_BLOB_LIT_KEY
                        "\" must hold an object and stand alone");
        v = in;
    } else if (json_object_get(v, BATON_BLOB_PARTS_KEY) &&
               parts_check(r, json_object_get(v, BATON_BLOB_PARTS_KEY)))
        return -1;
    {
        const char *key;
        json_t *c;
        json_object_foreach(v, key, c) {
            if (collect(r, c, depth + 1)) return -1;
        }
    }
    return 0;
}

/* One round: fetches r->pending, checks and parses each blob. */
static int fetch_round(res_t *r, size_t max_bytes, size_t *total,
                       baton_blob_fetch_fn fetch, void *ctx) {
    size_t n = json_object_size(r->pending), i = 0;
    const char **hexes = baton_calloc(n ? n : 1, sizeof *hexes);
    char **texts = baton_calloc(n ? n : 1, sizeof *texts);
    size_t *lens = baton_calloc(n ? n : 1, sizeof *lens);
    json_t *pend = r->pending, *sz;
    const char *hex;
    int ret = -1;

    r->pending = json_object();
    if (!hexes || !texts || !lens || !r->pending) {
        fail(r, BATON_ERR_NOMEM, "resolving references");
        goto out;
    }
    json_object_foreach(pend, hex, sz) {
        hexes[i++] = hex;
    }
    if ((r->rc = fetch(ctx, n, hexes, texts, lens, r->err, r->errlen)))
        goto out;
    for (i = 0; i < n; i++) {
        char got[BATON_BLOB_HEX_LEN + 1], what[200];
        json_error_t jerr;
        json_t *v;
        if (!texts[i]) {
            snprintf(what, sizeof what, "blob sha256:%s is missing", hexes[i]);
            fail(r, BATON_ERR_NOTFOUND, what);
            goto out;
        }
        baton_blob_sha256_hex(texts[i], lens[i], got);
        if (strcmp(got, hexes[i]) ||
            (json_int_t)lens[i] !=
                json_integer_value(json_object_get(pend, hexes[i]))) {
            snprintf(what, sizeof what,
                     "blob sha256:%s is corrupt (%zu bytes, hash %.12s...)",
                     hexes[i], lens[i], got);
            fail(r, BATON_ERR_INVALID, what);
            goto out;
        }
        *total += lens[i];
        if (max_bytes && *total > max_bytes) {
            snprintf(
                what, sizeof what,
                "references resolve to more than %zu bytes (blob.resolve.max)",
                max_bytes);
            fail(r, BATON_ERR_TOOBIG, what);
            goto out;
        }
        if (!(v = json_loadb(texts[i], lens[i], JSON_DECODE_ANY, &jerr))) {
            snprintf(what, sizeof what, "blob sha256:%s is not JSON: %s",
                     hexes[i], jerr.text);
            fail(r, BATON_ERR_INVALID, what);
            goto out;
        }
        if (json_object_set_new(r->blobs, hexes[i], v)) {
            fail(r, BATON_ERR_NOMEM, "resolving references");
            goto out;
        }
        if (collect(r, v, 0)) goto out;
    }
    ret = 0;
out:
    for (i = 0; texts && i < n; i++) baton_free(texts[i]);
    baton_free(texts);
    baton_free(lens);
    baton_free(hexes);
    json_decref(pend);
    return ret;
}

static json_t *subst(res_t *r, json_t *v, int depth);

static json_t *subst_members(res_t *r, json_t *obj, int depth) {
    json_t *n = json_object(), *c;
    const char *k;
    if (!n) return NULL;
    json_object_foreach(obj, k, c) {
        json_t *cc = subst(r, c, depth + 1);
        if (!cc || json_object_set_new(n, k, cc)) {
            json_decref(n);
            return NULL;
        }
    }
    return n;
}

/* Sets member k of n to c (taken), refusing a key n has already (a key
 * both in a part and inline, or in two parts).  0 ok, -1 error. */
static int set_member(res_t *r, json_t *n, const char *k, json_t *c) {
    if (!c) return -1;
    if (json_object_get(n, k)) {
        json_decref(c);
        return fail(r, BATON_ERR_INVALID,
                    "malformed parts: a key is in two parts, or in a part "
                    "and inline");
    }
    return json_object_set_new(n, k, c) ? -1 : 0;
}

/* Adds to n the members of part ref (a chunk reference whose blob is an
 * object of "items" members, itself parts maybe).  0 ok, -1 error. */
static int subst_part(res_t *r, json_t *n, json_t *ref, int depth) {
    char hex[BATON_BLOB_HEX_LEN + 1];
    size_t items = 0;
    json_t *blob, *p, *c;
    const char *k;
    int rc = 0;

    if (ref_parse(ref, hex, NULL, &items) != 1 || !items)
        return malformed_parts(r);
    blob = json_object_get(r->blobs, hex);
    if (!json_is_object(blob) || json_object_get(blob, BATON_BLOB_REF_KEY) ||
        json_object_get(blob, BATON_BLOB_LIT_KEY))
        p = NULL;
    else if (!(p = subst(r, blob, depth + 1)))
        return -1;
    if (!p || json_object_size(p) != items) {
        json_decref(p);
        return fail(r, BATON_ERR_INVALID,
                    "a part's blob is not an object of its \"items\" "
                    "members");
    }
    json_object_foreach(p, k, c) {
        if ((rc = set_member(r, n, k, json_incref(c)))) break;
    }
    json_decref(p);
    return rc;
}

/* Object v with "$baton_parts": the parts' members first, in order, then
 * v's own (inline) members. */
static json_t *subst_parts(res_t *r, json_t *v, int depth) {
    json_t *parts = json_object_get(v, BATON_BLOB_PARTS_KEY), *n, *c;
    const char *k;
    if (!json_is_array(parts)) {
        malformed_parts(r);
        return NULL;
    }
    if (!(n = json_object())) return NULL;
    for (size_t i = 0; i < json_array_size(parts); i++)
        if (subst_part(r, n, json_array_get(parts, i), depth)) {
            json_decref(n);
            return NULL;
        }
    json_object_foreach(v, k, c) {
        if (strcmp(k, BATON_BLOB_PARTS_KEY) &&
            set_member(r, n, k, subst(r, c, depth + 1))) {
            json_decref(n);
            return NULL;
        }
    }
    return n;
}

static json_t *subst(res_t *r, json_t *v, int depth) {
    char hex[BATON_BLOB_HEX_LEN + 1];
    size_t items0 = 0;
    json_t *n;

    if (depth > BLOB_DEPTH_MAX) return NULL;
    if (json_is_array(v)) {
        if (!(n = json_array())) return NULL;
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *el = json_array_get(v, i), *c;
            size_t items = 0;
            int chunk = ref_parse(el, hex, NULL, &items) == 1 && items > 0;
            if (chunk) el = json_object_get(r->blobs, hex); /* splice it */
            if (chunk && (!json_is_array(el) || json_array_size(el) != items)) {
                fail(r, BATON_ERR_INVALID,
                     "a chunk reference's blob is not an array of its "
                     "\"items\"");
                json_decref(n);
                return NULL;
            }
            if (!(c = subst(r, el, depth + 1)) ||
                (chunk ? json_array_extend(n, c) : json_array_append(n, c))) {
                json_decref(c);
                json_decref(n);
                return NULL;
            }
            json_decref(c);
        }
        return n;
    }
    if (!json_is_object(v)) return json_incref(v);
    if (ref_parse(v, hex, NULL, &items0) == 1) {
        if (items0) {
            fail(r, BATON_ERR_INVALID,
                 "a chunk reference (\"items\") outside an array");
            return NULL;
        }
        if ((n = json_object_get(r->resolved, hex))) return json_incref(n);
        n = subst(r, json_object_get(r->blobs, hex), depth + 1);
        if (n && json_object_set(r->resolved, hex, n)) {
            json_decref(n);
            return NULL;
        }
        return n;
    }
    if (json_object_get(v, BATON_BLOB_LIT_KEY))
        return subst_members(r, json_object_get(v, BATON_BLOB_LIT_KEY), depth);
    if (json_object_get(v, BATON_BLOB_PARTS_KEY))
        return subst_parts(r, v, depth);
    return subst_members(r, v, depth);
}

json_t *baton_blob_resolve(json_t *v, size_t max_bytes,
                           baton_blob_fetch_fn fetch, void *ctx,
                           baton_err_t *rc, char *errstr, size_t errlen) {
    res_t r = {json_object(), json_object(), json_object(),
               BATON_OK,      errstr,        errlen};
    size_t total = 0;
    json_t *out = NULL;
    int rounds = 0;

    if (!r.blobs || !r.pending || !r.resolved) {
        fail(&r, BATON_ERR_NOMEM, "resolving references");
        goto done;
    }
    if (collect(&r, v, 0)) goto done;
    while (json_object_size(r.pending)) {
        if (++rounds > BLOB_ROUNDS_MAX) {
            fail(&r, BATON_ERR_INVALID, "blobs nested too deep");
            goto done;
        }
        if (fetch_round(&r, max_bytes, &total, fetch, ctx)) goto done;
    }
    if (!(out = subst(&r, v, 0)) && !r.rc)
        fail(&r, BATON_ERR_NOMEM, "resolving references");
done:
    if (rc) *rc = r.rc;
    json_decref(r.blobs);
    json_decref(r.pending);
    json_decref(r.resolved);
    return out;
}

baton_err_t baton_blob_resolve_text(const char *text, size_t len,
                                    size_t max_bytes, baton_blob_fetch_fn fetch,
                                    void *ctx, char **out, size_t *outlen,
                                    char *errstr, size_t errlen) {
    json_error_t jerr;
    baton_err_t rc = BATON_OK;
    json_t *v, *p;
    char *t;

    *out = NULL;
    if (!baton_blob_text_marked(text, len)) return BATON_OK;
    if (!(v = json_loadb(text, len, JSON_DECODE_ANY, &jerr)))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID, "not JSON: %s",
                            jerr.text);
    p = baton_blob_resolve(v, max_bytes, fetch, ctx, &rc, errstr, errlen);
    json_decref(v);
    if (!p) return rc ? rc : BATON_ERR_NOMEM;
    t = json_dumps(p, DUMP_FLAGS);
    json_decref(p);
    if (!t)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "resolving references");
    *outlen = strlen(t);
    *out = baton_strndup(t, *outlen);
    free(t);
    return *out ? BATON_OK
                : baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                               "resolving references");
}
