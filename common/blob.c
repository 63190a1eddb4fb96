/*
 * blob.c -- the claim check's reference format (blob.h): encoding large
 * JSON values as references to content-addressed blobs, escaping user
 * values that look like references, and resolving references through a
 * fetch callback.  Pure: the store is an edge's (blob_store.c).
 */
#include "blob.h"

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

/* ---- encoding -------------------------------------------------------- */

typedef struct enc {
    const baton_blob_opts_t *o;
    baton_blob_sink_fn sink;
    void *ctx;
    char *err;
    size_t errlen;
} enc_t;

/* Counts the bytes of a dump, stopping it once past limit. */
typedef struct dump_count {
    size_t n, limit;
} dump_count_t;

static int dump_count_cb(const char *buf, size_t size, void *data) {
    dump_count_t *c = data;
    (void)buf;
    c->n += size;
    return c->n > c->limit ? -1 : 0;
}

/* 1 when v's compact text is longer than limit bytes.  The dump stops
 * past limit, so asking about a large value costs the limit, not the
 * value: enc() asks at every level of a deep state, and a full dump per
 * level made encoding a Map parent's snapshot cost its size times its
 * depth on every batch. */
static int text_over(const json_t *v, size_t limit) {
    dump_count_t c = {0, limit};
    json_dump_callback(v, dump_count_cb, &c, DUMP_FLAGS);
    return c.n > limit;
}

/* 1 when v's compact text is at least n bytes. */
static int text_at_least(const json_t *v, size_t n) {
    return n == 0 || text_over(v, n - 1);
}

/* Hands v's text to the sink; returns the reference (new), NULL on error.
 * v is released (stolen). */
static json_t *make_ref(enc_t *e, json_t *v) {
    char hex[BATON_BLOB_HEX_LEN + 1];
    size_t len;
    char *t = json_dumps(v, DUMP_FLAGS);
    json_t *ref = NULL;

    json_decref(v);
    if (!t) {
        baton_seterr(e->err, e->errlen, BATON_ERR_NOMEM, "encoding a blob");
        return NULL;
    }
    len = strlen(t);
    baton_blob_sha256_hex(t, len, hex);
    if (e->sink(e->ctx, hex, t, len))
        baton_seterr(e->err, e->errlen, BATON_ERR_IO,
                     "storing blob sha256:%s (%zu bytes) refused", hex, len);
    else if (!(ref = baton_blob_ref_new(hex, len)))
        baton_seterr(e->err, e->errlen, BATON_ERR_NOMEM, "encoding a blob");
    free(t);
    return ref;
}

static int shrink_elements(enc_t *e, json_t *n);

/* Replaces the full chunks of array n (elements [jC, (j+1)C), C =
 * BATON_BLOB_CHUNK) by chunk references.  0 ok, -1 error. */
static int chunk_array(enc_t *e, json_t *n) {
    size_t full = json_array_size(n) / BATON_BLOB_CHUNK;
    json_t *out = json_array();
    if (!out) return -1;
    for (size_t j = 0; j < full; j++) {
        json_t *chunk = json_array(), *ref;
        if (!chunk) goto fail;
        for (size_t i = 0; i < BATON_BLOB_CHUNK; i++)
            json_array_append(chunk,
                              json_array_get(n, j * BATON_BLOB_CHUNK + i));
        if (json_array_size(chunk) != BATON_BLOB_CHUNK) {
            json_decref(chunk);
            goto fail;
        }
        if (!(ref = make_ref(e, chunk))) goto fail;
        json_object_set_new(ref, "items", json_integer(BATON_BLOB_CHUNK));
        if (json_array_append_new(out, ref)) goto fail;
    }
    for (size_t i = full * BATON_BLOB_CHUNK; i < json_array_size(n); i++)
        if (json_array_append(out, json_array_get(n, i))) goto fail;
    if (json_array_clear(n) || json_array_extend(n, out)) goto fail;
    json_decref(out);
    return 0;
fail:
    json_decref(out);
    return -1;
}

/* When container n (owned) is over the threshold: turns its children of
 * at least element_min bytes into references, then (an array) its full
 * chunks.  0 ok, -1 error. */
static int shrink_children(enc_t *e, json_t *n) {
    if (!text_over(n, e->o->threshold)) return 0;
    if (json_is_array(n)) {
        if (shrink_elements(e, n)) return -1;
        if (json_array_size(n) >= BATON_BLOB_CHUNK) return chunk_array(e, n);
        return 0;
    }
    return shrink_elements(e, n);
}

/* The element references of shrink_children. */
static int shrink_elements(enc_t *e, json_t *n) {
    if (json_is_array(n)) {
        for (size_t i = 0; i < json_array_size(n); i++) {
            json_t *c = json_array_get(n, i), *ref;
            if (json_is_string(c) || json_is_object(c) || json_is_array(c)) {
                if (baton_blob_ref_parse(c, NULL, NULL) == 1 ||
                    !text_at_least(c, e->o->element_min))
                    continue;
                if (!(ref = make_ref(e, json_incref(c)))) return -1;
                json_array_set_new(n, i, ref);
            }
        }
    } else {
        const char *k;
        json_t *c;
        void *tmp;
        json_object_foreach_safe(n, tmp, k, c) {
            json_t *ref;
            if (!(json_is_string(c) || json_is_object(c) || json_is_array(c)) ||
                baton_blob_ref_parse(c, NULL, NULL) == 1 ||
                !text_at_least(c, e->o->element_min))
                continue;
            if (!(ref = make_ref(e, json_incref(c)))) return -1;
            json_object_set_new(n, k, ref);
        }
    }
    return 0;
}

/* 1 when v or a value in it has an object key the format reserves (it
 * must be escaped), or nests deeper than BLOB_DEPTH_MAX (enc says so). */
static int has_reserved(const json_t *v, int depth) {
    const char *k;
    json_t *c;
    if (depth > BLOB_DEPTH_MAX) return 1;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (has_reserved(json_array_get(v, i), depth + 1)) return 1;
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c) {
            if (!strcmp(k, BATON_BLOB_REF_KEY) ||
                !strcmp(k, BATON_BLOB_LIT_KEY) || has_reserved(c, depth + 1))
                return 1;
        }
    }
    return 0;
}

static json_t *enc(enc_t *e, json_t *v, int depth) {
    json_t *n;
    int reserved = 0;

    if (depth > BLOB_DEPTH_MAX) {
        baton_seterr(e->err, e->errlen, BATON_ERR_INVALID,
                     "value nested deeper than %d levels", BLOB_DEPTH_MAX);
        return NULL;
    }
    /* A container within the threshold with nothing to escape stays as it
     * is: nothing in it can become a blob.  Only the large branches are
     * walked, so a large state costs one pass, not one per level. */
    if ((json_is_array(v) || json_is_object(v)) &&
        !text_over(v, e->o->threshold) && !has_reserved(v, depth))
        return json_incref(v);
    if (json_is_string(v)) {
        if (text_over(v, e->o->threshold)) return make_ref(e, json_incref(v));
        return json_incref(v);
    }
    if (json_is_array(v)) {
        if (!(n = json_array())) goto nomem;
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *c = enc(e, json_array_get(v, i), depth + 1);
            if (!c || json_array_append_new(n, c)) {
                json_decref(n);
                return c ? (json_decref(c), NULL) : NULL;
            }
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *c;
        if (!(n = json_object())) goto nomem;
        json_object_foreach(v, k, c) {
            json_t *cc = enc(e, c, depth + 1);
            if (!cc || json_object_set_new(n, k, cc)) {
                json_decref(n);
                return NULL;
            }
            if (!strcmp(k, BATON_BLOB_REF_KEY) ||
                !strcmp(k, BATON_BLOB_LIT_KEY))
                reserved = 1;
        }
    } else {
        return json_incref(v);
    }
    if (shrink_children(e, n)) {
        json_decref(n);
        return NULL;
    }
    if (reserved) {
        json_t *w = json_object();
        if (!w || json_object_set_new(w, BATON_BLOB_LIT_KEY, n)) {
            json_decref(w);
            goto nomem;
        }
        n = w;
    }
    if (text_over(n, e->o->threshold)) return make_ref(e, n);
    return n;
nomem:
    baton_seterr(e->err, e->errlen, BATON_ERR_NOMEM, "encoding a value");
    return NULL;
}

json_t *baton_blob_encode(json_t *v, const baton_blob_opts_t *o,
                          baton_blob_sink_fn sink, void *ctx, char *errstr,
                          size_t errlen) {
    enc_t e = {o, sink, ctx, errstr, errlen};
    return enc(&e, v, 0);
}

baton_err_t baton_blob_encode_text(const char *text, size_t len,
                                   const baton_blob_opts_t *o,
                                   baton_blob_sink_fn sink, void *ctx,
                                   char **out, size_t *outlen, char *errstr,
                                   size_t errlen) {
    json_error_t jerr;
    json_t *v, *r;
    char *t;

    *out = NULL;
    if (len <= o->threshold && !baton_blob_text_marked(text, len))
        return BATON_OK;
    if (!(v = json_loadb(text, len, JSON_DECODE_ANY, &jerr)))
        return baton_seterr(errstr, errlen, BATON_ERR_INVALID, "not JSON: %s",
                            jerr.text);
    r = baton_blob_encode(v, o, sink, ctx, errstr, errlen);
    json_decref(v);
    if (!r) return BATON_ERR_IO;
    t = json_dumps(r, DUMP_FLAGS);
    json_decref(r);
    if (!t)
        return baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                            "encoding a value");
    *outlen = strlen(t);
    *out = baton_strndup(t, *outlen);
    free(t);
    return *out ? BATON_OK
                : baton_seterr(errstr, errlen, BATON_ERR_NOMEM,
                               "encoding a value");
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
    }
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
